//! Declarations: what a variable holds (an alias, a loaded or fresh value, a function);
//! assignments are in `assignments`.

use super::*;
use crate::fields::{Field, FieldExt};

impl<'a> Walker<'a, '_> {
    pub(super) fn short_var_declaration(&mut self, node: Node<'a>) {
        let left = Self::list(node.field(Field::Left));
        let right = Self::list(node.field(Field::Right));
        self.initializers(&left, &right);
        self.declare_from(&left, &right);
    }

    /// Walks initializers, except function literals bound to a name: `declare_from` makes
    /// those bodies of their own, run where the variable is called.
    pub(super) fn initializers(&mut self, left: &[Node<'a>], right: &[Node<'a>]) {
        for (i, &r) in right.iter().enumerate() {
            if !(r.kind() == "func_literal"
                && left.len() == right.len()
                && left[i].kind() == "identifier")
            {
                self.expr(r);
            }
        }
    }

    /// Declares `left` as new variables initialized from `right`; with `:=`, names already
    /// declared in the innermost scope are assigned instead.
    pub(super) fn declare_from(&mut self, left: &[Node<'a>], right: &[Node<'a>]) {
        let paired = left.len() == right.len();
        for (i, &name) in left.iter().enumerate() {
            if name.kind() != "identifier" {
                continue;
            }
            let text = self.text(name);
            if self.scopes.in_innermost(text) {
                continue;
            }
            // `v, ok := sessions.Load(k)`: the first name holds the loaded value.
            let source = if paired {
                Some(right[i])
            } else {
                right
                    .first()
                    .copied()
                    .filter(|_| right.len() == 1 && i == 0)
            };
            let loaded_from = source.and_then(|r| self.loaded_from(r));
            let result_of = source
                .filter(|r| r.kind() == "call_expression")
                .and_then(|call| self.call_event(call))
                .map(|event| (event, if paired { 0 } else { i }));
            let received_from = source.and_then(|r| self.received_channel(r));
            let mut field_aliases = match source {
                Some(value) if paired => self.literal_fields(value),
                _ => Vec::new(),
            };
            // `flags := global.Clone()` of a shallow copy: its fields share `global`'s.
            let shared_fields = match source.filter(|s| s.kind() == "call_expression") {
                Some(call) => self.returned_literal_fields(call),
                None => Vec::new(),
            };
            let shallow_copy = !shared_fields.is_empty();
            field_aliases.extend(shared_fields);
            if let Some(value) = source.and_then(|r| self.context_with_value(r)) {
                field_aliases.push(value);
            }
            let mut via = None;
            let (ty, alias, func_value) = if !paired {
                match right {
                    // `m, ok := s.Lookup(k)`: a result the callee shares.
                    // `ctx, cancel := context.WithCancel(parent)` holds `parent`'s values.
                    [call] if self.derived_context(*call).is_some_and(|(r, _)| r == i) => {
                        let parent = self.derived_context(*call).map(|(_, p)| p);
                        (
                            TypeInfo::Unknown,
                            parent.and_then(|p| self.place_of(p)),
                            None,
                        )
                    }
                    [call] if call.kind() == "call_expression" => {
                        match self.returned_place(*call, i) {
                            Some((place, escape)) => {
                                via = Some(escape);
                                (TypeInfo::Unknown, Some(place), None)
                            }
                            // `m, err := newM(id)`: the result's declared type;
                            // `hook, seen := lastSeenHook()`: the functions it returns.
                            None => match self.result_type(*call, i) {
                                TypeInfo::Unknown => {
                                    (TypeInfo::Unknown, None, self.returned_func(*call, i))
                                }
                                ty => (ty, None, None),
                            },
                        }
                    }
                    // `ms, ok := s.(*memStore)`: the first name holds the value `s` holds.
                    [assertion] if i == 0 && assertion.kind() == "type_assertion_expression" => {
                        let ty = self.expr_type(*assertion);
                        (ty, self.place_of(*assertion), None)
                    }
                    // `inner, ok := m[k]` of a nested map: the first name holds the inner map;
                    // `h, ok := routes[path]` of a table of functions, what it holds;
                    // `h, ok := p.pending[id]`, an element of the map's value type.
                    [index] if i == 0 && index.kind() == "index_expression" => {
                        let funcs = self.func_list(*index);
                        match self.map_place(*index) {
                            Some(place) => {
                                via = self.last_via;
                                (self.facts.place_type(place), Some(place), funcs)
                            }
                            None => (self.expr_type(*index), None, funcs),
                        }
                    }
                    _ => (TypeInfo::Unknown, None, None),
                }
            } else if let Some(funcs) = self.received_funcs(right[i]) {
                // `cmd := <-m.cmds` of a channel of functions: what the package sends there.
                (TypeInfo::Unknown, None, Some(funcs))
            } else if right[i].kind() == "func_literal" {
                let body = self.literal_func(right[i], &[]);
                (TypeInfo::Unknown, None, Some(Target::literal(body)))
            } else {
                // `listeners := append([]F(nil), s.listeners...)`, `hs := b.handlers[topic]`:
                // the registered functions.
                let func_value = match right[i].kind() {
                    "call_expression" | "index_expression" => self.func_list(right[i]),
                    _ => None,
                }
                .or_else(|| self.func_target(right[i], &[]));
                let ty = self.expr_type(right[i]);
                let alias = self.place_of(right[i]);
                via = self.last_via;
                (ty, alias, func_value)
            };
            // `c := *p`, or `c := t` of a struct value `t`: a copy of the struct.
            let is_struct =
                matches!(&ty, TypeInfo::Named(n) if self.facts.decls.structs.contains_key(n));
            let by_value = paired
                && is_struct
                && match right[i].kind() {
                    "unary_expression" => right[i]
                        .field(Field::Operator)
                        .is_some_and(|o| self.text(o) == "*"),
                    "identifier" => self
                        .lookup(self.text(right[i]))
                        .is_some_and(|b| self.facts.bindings[b as usize].struct_value),
                    // `st := c.stats` of a struct-valued field (not a pointer).
                    "selector_expression" => self.struct_valued_field(right[i]),
                    _ => false,
                };
            let struct_value =
                by_value || (paired && is_struct && right[i].kind() == "composite_literal");
            // `req, err := http.NewRequest(…)`: the first result of a constructor is new too.
            let fresh = match (paired, right) {
                (true, _) => self.is_fresh_value(right[i]),
                (false, [call]) => i == 0 && self.is_fresh_value(*call),
                _ => false,
            };
            let ty = match &loaded_from {
                Some(Load {
                    from: LoadSource::Metadata(_),
                    ..
                }) => metadata_type(),
                _ => ty,
            };
            if let Some(id) = self.declare(name, ty, alias) {
                let binding = &mut self.facts.bindings[id as usize];
                binding.fresh = fresh;
                binding.by_value = by_value;
                binding.struct_value = struct_value;
                binding.func_value = func_value;
                binding.loaded_from = loaded_from;
                binding.returned_by = via;
                binding.result_of = result_of;
                binding.received_from = received_from;
                binding.field_aliases = field_aliases;
                binding.shallow_copy = shallow_copy;
                if alias.is_some() {
                    self.alias_locks.insert(id, self.flow.locks.clone());
                    if paired {
                        let indices = self.indices(right[i]);
                        if !indices.is_empty() {
                            self.alias_indices.insert(id, indices);
                        }
                    }
                }
            }
        }
    }

    /// The index of the event of the current function that records `call`, a call of a
    /// package function.
    pub(super) fn call_event(&self, call: Node<'a>) -> Option<usize> {
        let events = &self.facts.funcs[self.func as usize].events;
        // Only the events the call's own walk just pushed are looked at.
        let within = events
            .iter()
            .rev()
            .take_while(|e| e.span.start >= call.start_byte())
            .count();
        (events.len() - within..events.len()).rev().find(|&i| {
            matches!(events[i].kind, EventKind::Call { .. }) && events[i].span == call.byte_range()
        })
    }

    /// The declared type of the (first) result of a call of a method of the package.
    pub(super) fn method_result(&mut self, function: Node<'a>) -> TypeInfo {
        match self.callee_of(function) {
            Some((Callee::Method(ty, method), _)) => self
                .facts
                .decls
                .method_results
                .get(&(ty, method))
                .cloned()
                .unwrap_or_default(),
            _ => TypeInfo::Unknown,
        }
    }

    /// The function a call returns as its result at `index`, when it calls a function of
    /// the package (resolved once every body is walked: `Func::returned_funcs`).
    pub(super) fn returned_func(&mut self, call: Node<'a>, index: usize) -> Option<Target> {
        let (from, _) = self.callee_of(call.field(Field::Function)?)?;
        let site = self.call_event(call).map(|e| (self.func, e));
        Some(Target {
            callee: Callee::Returned {
                from: Box::new(from),
                index,
                site,
            },
            receiver: None,
            args: Vec::new(),
        })
    }

    /// The declared type of result `index` of a call of a package function with several
    /// results.
    pub(super) fn result_type(&self, call: Node<'a>, index: usize) -> TypeInfo {
        let Some(function) = call.field(Field::Function) else {
            return TypeInfo::Unknown;
        };
        if function.kind() != "identifier" || self.lookup(self.text(function)).is_some() {
            return TypeInfo::Unknown;
        }
        self.facts
            .decls
            .func_result_lists
            .get(self.text(function))
            .and_then(|list| list.get(index))
            .cloned()
            .unwrap_or_default()
    }

    /// Whether an expression makes a new value: `T{...}`, `&T{...}`, `new(T)`, or a call of
    /// a constructor by the Go convention (`NewT(...)`, `newT(...)`, `pkg.NewT(...)`) or of
    /// a function of the package returning a new struct literal.
    pub(super) fn is_fresh_value(&mut self, expr: Node<'a>) -> bool {
        match expr.kind() {
            "composite_literal" => true,
            "unary_expression" => expr
                .field(Field::Operand)
                .is_some_and(|o| o.kind() == "composite_literal"),
            "call_expression" => {
                let name = match expr.field(Field::Function) {
                    Some(f) if f.kind() == "identifier" => self.text(f),
                    Some(f) if f.kind() == "selector_expression" => {
                        f.field(Field::Field).map_or("", |n| self.text(n))
                    }
                    _ => "",
                };
                name == "new" || name.starts_with("New") || name.starts_with("new") || {
                    // A function of the package returning a new struct literal (`t.copy(nil)`).
                    let returns = &self.facts.decls.returns;
                    returns.may_return(name)
                        && expr
                            .field(Field::Function)
                            .and_then(|f| self.callee_of(f))
                            .is_some_and(|(callee, _)| {
                                self.facts.decls.returns.returns_fresh(&callee)
                            })
                }
            }
            _ => false,
        }
    }

    /// The `Load` call an expression's value comes from, if any: `c.Load()`,
    /// `c.Load().(T)`, `*p.Load()`, `m.Load(k)`, `m.LoadOrStore(k, v)`, a gRPC metadata
    /// getter that returns the context's own map, or a variable holding such a value
    /// (whether it is a map is the type's business).
    pub(super) fn loaded_from(&self, expr: Node<'a>) -> Option<Load> {
        let mut node = expr;
        loop {
            match node.kind() {
                "parenthesized_expression" | "type_assertion_expression" => {
                    node = node.named_child(0)?;
                }
                "unary_expression" if node.child(0).is_some_and(|op| op.kind() == "*") => {
                    node = node.field(Field::Operand)?;
                }
                "identifier" => {
                    let binding = self.lookup(self.text(node))?;
                    return self.facts.bindings[binding as usize].loaded_from.clone();
                }
                "call_expression" => {
                    let function = node.field(Field::Function)?;
                    let method = function.field(Field::Field)?;
                    if function.kind() != "selector_expression" {
                        return None;
                    }
                    let from = match self.text(method) {
                        "Load" | "LoadOrStore" => LoadSource::Container,
                        getter => self.shared_metadata(function, getter)?,
                    };
                    return Some(Load {
                        span: node.byte_range(),
                        from,
                    });
                }
                _ => return None,
            }
        }
    }

    /// `metadata.FromIncomingContext` and its kin, when the gRPC version returns the
    /// context's own map rather than a copy: `FromContext` (before 1.3) always,
    /// `FromOutgoingContext` before 1.10, `FromIncomingContext` before 1.39 (or when the
    /// module's gRPC version is not known).
    pub(super) fn shared_metadata(&self, function: Node<'a>, getter: &str) -> Option<LoadSource> {
        let package = function.field(Field::Operand)?;
        let is_grpc_metadata = package.kind() == "identifier"
            && self.lookup(self.text(package)).is_none()
            && self
                .imports
                .get(self.text(package))
                .is_some_and(|path| path == "google.golang.org/grpc/metadata");
        let grpc = self.facts.decls.imported.grpc;
        let copies_from = match getter {
            "FromContext" => None,
            "FromOutgoingContext" => Some((1, 10)),
            "FromIncomingContext" => Some((1, 39)),
            _ => return None,
        };
        let shared = match (grpc, copies_from) {
            (Some(version), Some(copies)) => version < copies,
            _ => true,
        };
        (is_grpc_metadata && shared).then_some(LoadSource::Metadata(grpc))
    }

    pub(super) fn var_declaration(&mut self, node: Node<'a>) {
        for spec in var_specs(node) {
            let values = Self::list(spec.field(Field::Value));
            let mut cursor = spec.walk();
            let names: Vec<_> = spec.children_by_field_name("name", &mut cursor).collect();
            self.initializers(&names, &values);
            let declared = spec
                .field(Field::Type)
                .map(|t| type_of_type_node(t, self.src, &self.facts.decls));
            match declared {
                Some(ty) => {
                    // `var t T` of a struct type `T` (not `*T`) holds a struct value.
                    let struct_value = spec
                        .field(Field::Type)
                        .is_some_and(|t| t.kind() == "type_identifier")
                        && matches!(&ty, TypeInfo::Named(n) if self.facts.decls.structs.contains_key(n));
                    for (i, &name) in names.iter().enumerate() {
                        let alias = values.get(i).and_then(|&v| self.place_of(v));
                        // `var s Store = &memStore{}`: an interface holding a value of a
                        // struct type of the package has that type's methods and fields.
                        let ty = match (&ty, values.get(i)) {
                            (TypeInfo::Named(n), Some(&v))
                                if self.facts.decls.interfaces.contains_key(n) =>
                            {
                                match self.expr_type(v) {
                                    held @ TypeInfo::Named(_) => held,
                                    _ => ty.clone(),
                                }
                            }
                            _ => ty.clone(),
                        };
                        // `var w *worker = &worker{st: s}` as `w := &worker{st: s}`.
                        let value = values
                            .get(i)
                            .copied()
                            .filter(|_| names.len() == values.len());
                        let fresh = value.is_some_and(|v| self.is_fresh_value(v));
                        let field_aliases =
                            value.map(|v| self.literal_fields(v)).unwrap_or_default();
                        if let Some(id) = self.declare(name, ty, alias) {
                            let binding = &mut self.facts.bindings[id as usize];
                            binding.struct_value = struct_value;
                            binding.unset = values.is_empty();
                            binding.fresh = fresh;
                            binding.field_aliases = field_aliases;
                        }
                    }
                }
                None => self.declare_from(&names, &values),
            }
        }
    }
}
