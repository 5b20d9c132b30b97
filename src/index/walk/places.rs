//! Places and types: the storage an expression denotes (`m`, `s.items`, `m[k]`), what
//! its variables alias, and what syntax tells of its type.

use crate::fields::{Field, FieldExt};
use std::borrow::Cow;

use super::*;
use crate::index::{ReturnPath, CONTEXT_VALUE, LOADED_VALUE};

impl<'a> Walker<'a, '_> {
    /// The storage location an expression denotes: `m`, `s.items`, `(*p).m`, `m[k]`.
    /// Walks the operand chain with a loop: real code nests deeply.
    pub(super) fn place_of(&mut self, node: Node<'a>) -> Option<PlaceId> {
        let mut via = None;
        let place = self.resolve_place(node, &mut via);
        self.last_via = via;
        place
    }

    /// `place_of`, noting in `via` the getter call the place was reached through.
    pub(super) fn resolve_place(
        &mut self,
        node: Node<'a>,
        via: &mut Option<EscapeId>,
    ) -> Option<PlaceId> {
        enum Step<'n> {
            Field(Cow<'n, str>),
            Element,
        }
        let mut steps = Vec::new();
        let mut cur = node;
        let root = loop {
            match cur.kind() {
                "identifier" => {
                    let b = self.lookup(self.text(cur))?;
                    let binding = &self.facts.bindings[b as usize];
                    *via = binding.returned_by;
                    // `e.Attrs` of `e := Event{Attrs: base}` is `base`.
                    let path = steps.iter().rev().map_while(|s| match s {
                        Step::Field(f) => Some(f.as_ref()),
                        Step::Element => None,
                    });
                    if let Some((place, covered)) = binding.field_alias(path) {
                        steps.truncate(steps.len() - covered);
                        break Err(place);
                    }
                    break Ok(b);
                }
                "selector_expression" => {
                    let field = self.text(cur.field(Field::Field)?);
                    steps.push(Step::Field(Cow::Borrowed(field)));
                    cur = cur.field(Field::Operand)?;
                }
                // `ctx.Value(key).(map[string]int)`: the value a context holds for a key,
                // the same for every holder of that context.
                "type_assertion_expression" => match self.context_value(cur) {
                    Some((context, field)) => {
                        steps.push(Step::Field(Cow::Owned(field)));
                        cur = context;
                    }
                    // `s.(*memStore)` of an interface of the package: the value it holds
                    // (its fields are the implementers', see `PackageDecls::field_type`).
                    None => {
                        let operand = cur.field(Field::Operand)?;
                        match self.expr_type(operand) {
                            TypeInfo::Named(n) if self.facts.decls.interfaces.contains_key(&n) => {
                                cur = operand
                            }
                            _ => return None,
                        }
                    }
                },
                "index_expression" => {
                    if let Some(own) = self.own_element(cur) {
                        break Ok(own);
                    }
                    steps.push(Step::Element);
                    cur = cur.field(Field::Operand)?;
                }
                "parenthesized_expression" => cur = cur.named_child(0)?,
                "call_expression" => {
                    // `append(Batch(nil), b...)` holds `b`'s elements.
                    if let Some(copied) = crate::index::returns::shallow_slice_copy(cur, self.src) {
                        cur = copied;
                        continue;
                    }
                    // `p.Load()` of an `atomic.Pointer[T]` hands out the one `T` it holds.
                    if let Some(pointer) = self.atomic_load(cur) {
                        cur = pointer;
                        continue;
                    }
                    // `load()` of `var load = sync.OnceValue(…)`: the one value it made.
                    if let Some(once) = self.once_value(cur) {
                        break Ok(once);
                    }
                    // `reflect.ValueOf(m)` stands for `m`: `SetMapIndex` on it writes `m`.
                    match self.reflected(cur) {
                        Some(arg) => cur = arg,
                        None if self.derived_context(cur).is_some_and(|(i, _)| i == 0) => {
                            cur = self.derived_context(cur)?.1;
                        }
                        None => match self.returned_place(cur, 0) {
                            Some((place, escape)) => {
                                *via = Some(escape);
                                break Err(place);
                            }
                            None => break Err(self.imported_getter(cur)?),
                        },
                    }
                }
                "unary_expression" => {
                    let op = cur.field(Field::Operator)?;
                    if !matches!(self.text(op), "*" | "&") {
                        return None;
                    }
                    cur = cur.field(Field::Operand)?;
                }
                _ => return None,
            }
        };
        let mut place = match root {
            Err(place) => place,
            Ok(root) => match self.facts.bindings[root as usize].alias {
                Some(alias) => alias,
                None => self.facts.intern_place(Place {
                    root,
                    fields: Vec::new(),
                }),
            },
        };
        for step in steps.into_iter().rev() {
            place = match step {
                Step::Field(f) => self.facts.select(place, &f),
                // Every element of a map or slice is one abstract place: `m[k]`, `shards[i]`.
                Step::Element => match self.facts.place_type(place) {
                    TypeInfo::Map { .. } | TypeInfo::Slice(..) => {
                        self.facts.select(place, crate::index::ELEMENT)
                    }
                    _ => return None,
                },
            };
        }
        Some(place)
    }

    /// For `p.Load()` of an `atomic.Pointer[T]` (typed as its `T`, see `types.rs`): `p`,
    /// whose value every loader shares. Not a `Load` method the type declares itself.
    pub(super) fn atomic_load(&mut self, call: Node<'a>) -> Option<Node<'a>> {
        let function = call.field(Field::Function)?;
        if function.kind() != "selector_expression"
            || self.text(function.field(Field::Field)?) != "Load"
            || !Self::arguments(call).is_empty()
        {
            return None;
        }
        let pointer = function.field(Field::Operand)?;
        if pointer.kind() == "call_expression" {
            return None;
        }
        let name = match self.expr_type(pointer) {
            TypeInfo::Map { name, .. } => name,
            TypeInfo::Named(name) => Some(name),
            _ => return None,
        };
        let own_method = name.is_some_and(|n| {
            self.facts
                .decls
                .methods
                .get(&n)
                .is_some_and(|m| m.contains("Load"))
        });
        (!own_method).then_some(pointer)
    }

    /// For a call of a package variable made by `sync.OnceValue(f)`, the stand-in for the
    /// value `f` returned once for all calls.
    fn once_value(&self, call: Node<'a>) -> Option<BindingId> {
        let function = call.field(Field::Function)?;
        if function.kind() != "identifier" {
            return None;
        }
        let name = self.text(function);
        let b = self.lookup(name)?;
        if self.facts.bindings[b as usize].func.is_some() {
            return None;
        }
        self.globals.get(&format!("{name}()")).copied()
    }

    /// For `partial[w]` in a goroutine whose own index `w` is (see `Walker::own_indices`):
    /// a variable of the goroutine standing for that element, one per instance.
    fn own_element(&mut self, index_expr: Node<'a>) -> Option<BindingId> {
        let index = index_expr.field(Field::Index)?;
        if index.kind() != "identifier"
            || !self
                .lookup(self.text(index))
                .is_some_and(|b| self.own_indices.contains(&b))
        {
            return None;
        }
        let operand = index_expr.field(Field::Operand)?;
        let elem = match self.expr_type(operand) {
            TypeInfo::Map { value, .. } | TypeInfo::Slice(value, _) => *value,
            _ => return None,
        };
        let key = (self.func, self.compact(index_expr));
        if let Some(&b) = self.own_elements.get(&key) {
            return Some(b);
        }
        let b = self.facts.bindings.len() as BindingId;
        self.facts.bindings.push(Binding::new(
            key.1.clone(),
            Some(self.func),
            0,
            elem,
            self.file,
            index_expr.start_byte(),
        ));
        self.own_elements.insert(key, b);
        Some(b)
    }

    /// The context and the pseudo-field (`Value(key)`) of a type assertion on a context
    /// value, `ctx.Value(key).(T)`, or the container and pseudo-field (`Load().(T)`) of one
    /// on an `atomic.Value`'s value; notes `T` as the type of that field.
    pub(super) fn context_value(&mut self, assertion: Node<'a>) -> Option<(Node<'a>, String)> {
        let call = assertion.field(Field::Operand)?;
        let function = call.field(Field::Function)?;
        let args = Self::arguments(call);
        if call.kind() != "call_expression" || function.kind() != "selector_expression" {
            return None;
        }
        let field = match (self.text(function.field(Field::Field)?), &args[..]) {
            ("Value", [key]) => format!("{CONTEXT_VALUE}{})", self.compact(*key)),
            // `v.Load().(T)` of an `atomic.Value`: the one value every loader shares.
            ("Load", []) => format!(
                "{LOADED_VALUE}.({})",
                self.compact(assertion.field(Field::Type)?)
            ),
            _ => return None,
        };
        let ty = type_of_type_node(assertion.field(Field::Type)?, self.src, &self.facts.decls);
        self.facts.context_values.insert(field.clone(), ty);
        Some((function.field(Field::Operand)?, field))
    }

    /// For a call deriving a context that holds its parent's values
    /// (`context.WithCancel(ctx)`, `errgroup.WithContext(ctx)`): which result is the new
    /// context, and the parent.
    pub(super) fn derived_context(&self, call: Node<'a>) -> Option<(usize, Node<'a>)> {
        let function = call.field(Field::Function)?;
        let package = function.field(Field::Operand)?;
        if function.kind() != "selector_expression"
            || package.kind() != "identifier"
            || self.lookup(self.text(package)).is_some()
        {
            return None;
        }
        let path = self.imports.get(self.text(package))?;
        let result = match (path.as_str(), self.text(function.field(Field::Field)?)) {
            (
                "context",
                "WithCancel" | "WithCancelCause" | "WithTimeout" | "WithTimeoutCause"
                | "WithDeadline" | "WithDeadlineCause" | "WithoutCancel",
            ) => 0,
            (p, "WithContext") if p.ends_with("/errgroup") => 1,
            _ => return None,
        };
        Some((result, *Self::arguments(call).first()?))
    }

    /// `context.WithValue(ctx, key, v)`: the pseudo-field of the new context's value and
    /// the storage `v` denotes.
    pub(super) fn context_with_value(&mut self, call: Node<'a>) -> Option<(String, PlaceId)> {
        let function = call.field(Field::Function)?;
        let package = function.field(Field::Operand)?;
        let args = Self::arguments(call);
        if call.kind() != "call_expression"
            || function.kind() != "selector_expression"
            || package.kind() != "identifier"
            || self.lookup(self.text(package)).is_some()
            || self.imports.get(self.text(package)).map(String::as_str) != Some("context")
            || self.text(function.field(Field::Field)?) != "WithValue"
            || args.len() != 3
        {
            return None;
        }
        let field = format!("{CONTEXT_VALUE}{})", self.compact(args[1]));
        Some((field, self.place_of(args[2])?))
    }

    /// An expression's text without white space, to compare keys.
    pub(super) fn compact(&self, node: Node<'a>) -> String {
        self.text(node)
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect()
    }

    /// Result `index` of a call to a package function that returns storage its caller can
    /// name (`s.Items()` returning `s.items`), in the caller's terms, with the escape
    /// recorded for it.
    pub(super) fn returned_place(
        &mut self,
        call: Node<'a>,
        index: usize,
    ) -> Option<(PlaceId, EscapeId)> {
        let function = call.field(Field::Function)?;
        let name = match function.kind() {
            "selector_expression" => function.field(Field::Field)?,
            _ => function,
        };
        if !self.facts.decls.returns.may_return(self.text(name)) {
            return None;
        }
        let (callee, receiver) = self.callee_of(function)?;
        let path = self.facts.decls.returns.path(&callee, index)?.clone();
        let args = Self::arguments(call);
        let place = self.path_place(&path, receiver, &args)?;
        let key = (call.start_byte(), index);
        let escape = match self.escape_ids.get(&key) {
            Some(&id) => id,
            None => {
                let args = args.iter().map(|&a| self.place_of(a)).collect();
                let id = self.facts.escapes.len() as EscapeId;
                self.facts.escapes.push(Escape {
                    func: self.func,
                    call: call.byte_range(),
                    target: Target {
                        callee,
                        receiver,
                        args,
                    },
                    index,
                });
                self.escape_ids.insert(key, id);
                id
            }
        };
        Some((place, escape))
    }

    /// A path a callee returns, in the caller's terms: rooted at the call's receiver, one
    /// of its arguments, or a package variable.
    fn path_place(
        &mut self,
        path: &ReturnPath,
        receiver: Option<PlaceId>,
        args: &[Node<'a>],
    ) -> Option<PlaceId> {
        let mut place = match &path.root {
            ReturnRoot::Receiver => receiver?,
            &ReturnRoot::Param(i) => self.place_of(*args.get(i)?)?,
            ReturnRoot::Global(name) => {
                let root = *self.globals.get(name.as_str())?;
                self.facts.intern_place(Place {
                    root,
                    fields: Vec::new(),
                })
            }
        };
        for field in &path.fields {
            place = self.facts.select(place, field);
        }
        Some(place)
    }

    /// The fields of the new struct a call returns that share the caller's storage: `f :=
    /// global.Clone()` of a `Clone` returning `&Flags{values: f.values}` has
    /// `global.values` as its `values`.
    pub(super) fn returned_literal_fields(&mut self, call: Node<'a>) -> Vec<(String, PlaceId)> {
        let Some(function) = call.field(Field::Function) else {
            return Vec::new();
        };
        let name = match function.kind() {
            "selector_expression" => function.field(Field::Field),
            _ => Some(function),
        };
        if !name.is_some_and(|n| self.facts.decls.returns.may_return(self.text(n))) {
            return Vec::new();
        }
        let Some((callee, receiver)) = self.callee_of(function) else {
            return Vec::new();
        };
        let fields = self.facts.decls.returns.literal_fields(&callee).to_vec();
        let args = Self::arguments(call);
        fields
            .iter()
            .filter_map(|(field, path)| {
                Some((field.clone(), self.path_place(path, receiver, &args)?))
            })
            .collect()
    }

    /// The fields of a struct literal (`T{F: x}`, `&T{F: x}`) set from shared storage, and
    /// that storage.
    pub(super) fn literal_fields(&mut self, expr: Node<'a>) -> Vec<(String, PlaceId)> {
        let fields = crate::index::keyed_fields(expr).unwrap_or_default();
        fields
            .into_iter()
            .flat_map(|(key, value)| {
                let key = self.text(key);
                self.stored_aliases(key, value)
            })
            .collect()
    }

    /// The field aliases a value stored in field `key` gives its holder: `key` names the
    /// value's storage; through a literal made in place (`rec: &recorder{stats: s}`) or a
    /// local holding one (`rec: r`), `rec.stats` names `s`.
    pub(super) fn stored_aliases(&mut self, key: &str, value: Node<'a>) -> Vec<(String, PlaceId)> {
        let nested = match self.place_of(value) {
            Some(place) => {
                let inherited = match value.kind() {
                    "identifier" => self
                        .lookup(self.text(value))
                        .map(|b| self.facts.bindings[b as usize].field_aliases.clone())
                        .unwrap_or_default(),
                    _ => Vec::new(),
                };
                let mut out = vec![(key.to_string(), place)];
                out.extend(
                    inherited
                        .into_iter()
                        .map(|(k, p)| (format!("{key}.{k}"), p)),
                );
                return out;
            }
            None => self.literal_fields(value),
        };
        nested
            .into_iter()
            .map(|(k, p)| (format!("{key}.{k}"), p))
            .collect()
    }

    /// The channel a receive expression (`<-ch`) takes from.
    pub(super) fn received_channel(&mut self, expr: Node<'a>) -> Option<PlaceId> {
        let channel = self.receive_operand(expr)?;
        self.place_of(channel)
    }

    /// The channel a receive expression (`<-ch`, parenthesized or not) receives from.
    fn receive_operand(&self, expr: Node<'a>) -> Option<Node<'a>> {
        let mut cur = expr;
        while cur.kind() == "parenthesized_expression" {
            cur = cur.named_child(0)?;
        }
        let is_receive = cur.kind() == "unary_expression"
            && cur
                .field(Field::Operator)
                .is_some_and(|o| self.text(o) == "<-");
        is_receive.then(|| cur.field(Field::Operand)).flatten()
    }

    /// The functions a receive from a channel field of functions gives (`cmd := <-m.cmds`):
    /// those the package sends on that field (`m.cmds <- func() {…}`), run where the
    /// received value is called (an event loop's goroutine).
    pub(super) fn received_funcs(&mut self, expr: Node<'a>) -> Option<Target> {
        let channel = self.receive_operand(expr)?;
        self.channel_funcs(channel)
    }

    /// The functions sent on a channel field of functions (`m.cmds`), as the field's
    /// stored functions.
    pub(super) fn channel_funcs(&mut self, channel: Node<'a>) -> Option<Target> {
        let TypeInfo::Chan(elem) = self.expr_type(channel) else {
            return None;
        };
        let may_be_func = match *elem {
            TypeInfo::Unknown => true,
            TypeInfo::Named(ref n) => !self.facts.decls.structs.contains_key(n),
            _ => false,
        };
        if !may_be_func || channel.kind() != "selector_expression" {
            return None;
        }
        self.func_list(channel)
    }

    /// The argument of a `reflect.ValueOf(x)` call.
    pub(super) fn reflected(&self, call: Node<'a>) -> Option<Node<'a>> {
        let function = call.field(Field::Function)?;
        let package = function.field(Field::Operand)?;
        let is_value_of = function.kind() == "selector_expression"
            && self.text(function.field(Field::Field)?) == "ValueOf"
            && self.lookup(self.text(package)).is_none()
            && self
                .imports
                .get(self.text(package))
                .is_some_and(|p| p == "reflect");
        let args = Self::arguments(call);
        (is_value_of && args.len() == 1).then(|| args[0])
    }

    /// The place of an expression that denotes a map (not one retired by `init`).
    pub(super) fn map_place(&mut self, node: Node<'a>) -> Option<PlaceId> {
        let place = self.place_of(node)?;
        let root = &self.facts.bindings[self.facts.places[place as usize].root as usize];
        if root.func.is_none() && self.facts.decls.retired.contains(&root.name) {
            return None;
        }
        self.facts.place_type(place).is_map().then_some(place)
    }

    /// What is known of an expression's type; loops through parentheses, dereferences
    /// and indexing.
    pub(super) fn expr_type(&mut self, node: Node<'a>) -> TypeInfo {
        let mut elements = 0;
        let mut cur = node;
        loop {
            let next = match cur.kind() {
                "parenthesized_expression" => cur.named_child(0),
                "unary_expression" => {
                    // `<-ch` has the channel's element type.
                    if cur
                        .field(Field::Operator)
                        .is_some_and(|o| self.text(o) == "<-")
                    {
                        elements += 1;
                    }
                    cur.field(Field::Operand)
                        .filter(|o| o.kind() != "composite_literal")
                }
                "index_expression" => {
                    elements += 1;
                    cur.field(Field::Operand)
                }
                _ => None,
            };
            match next {
                Some(n) => cur = n,
                None => break,
            }
        }
        let mut ty = match cur.kind() {
            "identifier" | "selector_expression" => match self.place_of(cur) {
                Some(place) => self.facts.place_type(place),
                None => TypeInfo::Unknown,
            },
            "call_expression" => match self.atomic_load(cur) {
                Some(pointer) => self.expr_type(pointer),
                None => match self.returned_place(cur, 0) {
                    Some((place, _)) => self.facts.place_type(place),
                    None => match literal_type(cur, self.src, &self.facts.decls) {
                        // `global.Clone()`: the method's declared result.
                        TypeInfo::Unknown => match cur.field(Field::Function) {
                            Some(f) if f.kind() == "selector_expression" => self.method_result(f),
                            _ => TypeInfo::Unknown,
                        },
                        known => known,
                    },
                },
            },
            _ => literal_type(cur, self.src, &self.facts.decls),
        };
        for _ in 0..elements {
            ty = match ty {
                TypeInfo::Map { value, .. } | TypeInfo::Slice(value, _) | TypeInfo::Chan(value) => {
                    *value
                }
                _ => return TypeInfo::Unknown,
            };
        }
        ty
    }
}
