//! Assignments: what `x = v` and `s.f = v` change of what names stand for (copies
//! detached, objects rebound, fields given new storage or functions), and the accesses
//! of their left-hand sides.

use super::*;
use crate::fields::{Field, FieldExt};
use crate::index::MAX_STORED_FUNCS;

impl<'a> Walker<'a, '_> {
    pub(super) fn assignment(&mut self, node: Node<'a>) {
        let left = Self::list(node.field(Field::Left));
        let right = Self::list(node.field(Field::Right));
        let op = match node.field(Field::Operator).map(|o| self.text(o)) {
            Some("=") => AccessOp::Assign,
            _ => AccessOp::Update,
        };
        // `var crawl func(); crawl = func() {...}`: the variable now holds that function
        // (declared first so that the literal can call itself recursively).
        let mut bodies = Vec::new();
        for (i, &r) in right.iter().enumerate() {
            let target = left.get(i).filter(|_| left.len() == right.len());
            let named = target.filter(|l| l.kind() == "identifier");
            match named.and_then(|&l| self.lookup(self.text(l))) {
                Some(b) if op == AccessOp::Assign && r.kind() == "func_literal" => {
                    bodies.push((b, r))
                }
                // `bus.onEvent = func(e Event) {…}`: a callback, run where it is called.
                _ if op == AccessOp::Assign
                    && r.kind() == "func_literal"
                    && target.is_some_and(|&t| self.func_field_of(t).is_some()) =>
                {
                    let key = target.and_then(|&t| self.func_field_of(t));
                    let body = self.literal_func(r, &[]);
                    if let Some(key) = key {
                        self.store_field_func(key, Callee::Literal(body), None);
                    }
                }
                _ => self.expr(r),
            }
        }
        for (b, literal) in bodies {
            let body = self.facts.funcs.len() as FuncId;
            self.facts.bindings[b as usize].func_value = Some(Target::literal(body));
            self.literal_func(literal, &[]);
        }
        let paired = left.len() == right.len();
        // `ready = true` of a flag a condition loop waits on: a signal of it.
        if let ([flag], [value]) = (left.as_slice(), right.as_slice()) {
            if op == AccessOp::Assign
                && value.kind() == "true"
                && crate::index::semaphores::last_name(*flag, self.src)
                    .is_some_and(|name| self.facts.decls.cond_flags.contains(name))
            {
                if let Some(place) = self.place_of(*flag) {
                    self.push(EventKind::Signal { sync: place }, *flag);
                }
            }
        }
        // `f.closed = true` under a lock: a latch (see `Walker::latched`).
        if let ([flag], [value]) = (left.as_slice(), right.as_slice()) {
            if op == AccessOp::Assign
                && value.kind() == "true"
                && flag.kind() == "selector_expression"
                && !self.flow.locks.is_empty()
            {
                if let Some(place) = self.place_of(*flag) {
                    self.latched.push(place);
                    self.flow.lock(place, LockMode::Latch);
                }
            }
        }
        for (i, &l) in left.iter().enumerate() {
            self.lvalue(l, op);
            // A condition that decided a lock's mode may decide otherwise from here on.
            let assigned = self.compact(l);
            self.flow.decided.retain(|d| d.0 != assigned);
            if op == AccessOp::Assign {
                // `ep = ep.WithHost(h)`, `m = s.Items()`: storage the callee returns, as in
                // a declaration (taken before the target lets go of what it held).
                let returned = (paired && l.kind() == "identifier")
                    .then(|| self.returned_place(right[i], 0))
                    .flatten();
                let first = self.first_assignment(l);
                self.reassigned(l);
                if let (Some(b), true) = (first, paired) {
                    let alias = self.place_of(right[i]);
                    self.aliased_places.extend(alias);
                    let binding = &mut self.facts.bindings[b as usize];
                    binding.alias = alias;
                    // `var c Config; c = *cfg`: a copy of the struct, as `c := *cfg` is.
                    binding.by_value = binding.struct_value && alias.is_some();
                }
                let value = if paired {
                    right.get(i)
                } else {
                    right.first().filter(|_| i == 0)
                };
                if let Some(&value) = value {
                    self.reloaded(l, value);
                }
                if paired {
                    self.copy_field_assigned(l, right[i]);
                    self.field_func_assigned(l, right[i]);
                    self.rebound_to_new_object(l, right[i]);
                    self.stored_in_fresh_field(l, right[i]);
                    self.stored_in_field(l, right[i]);
                }
                if let Some((place, escape)) = returned {
                    if let Some(b) = self.lookup(self.text(l)) {
                        self.aliased_places.insert(place);
                        let binding = &mut self.facts.bindings[b as usize];
                        binding.alias = Some(place);
                        binding.returned_by = Some(escape);
                    }
                }
            }
        }
    }

    /// The variable `target` names when this assignment is the first of a variable declared
    /// without a value (`var table map[…]…; …; table = r.routes`); it is set from now on.
    fn first_assignment(&mut self, target: Node<'a>) -> Option<BindingId> {
        if target.kind() != "identifier" {
            return None;
        }
        let b = self.lookup(self.text(target))?;
        std::mem::take(&mut self.facts.bindings[b as usize].unset).then_some(b)
    }

    /// The variable and field a selector `v.f` on a variable names.
    fn variable_field(&self, target: Node<'a>) -> Option<(BindingId, String)> {
        let operand = target.field(Field::Operand)?;
        let field = target.field(Field::Field)?;
        if target.kind() != "selector_expression" || operand.kind() != "identifier" {
            return None;
        }
        let b = self.lookup(self.text(operand))?;
        Some((b, self.text(field).to_string()))
    }

    /// `e.labels = labels` on an object this block just made (`e := &Exporter{}`), as
    /// `&Exporter{labels: labels}` would: from now on `e.labels` is the stored map, also
    /// for the goroutines and callees handed `e`.
    fn stored_in_fresh_field(&mut self, target: Node<'a>, value: Node<'a>) {
        let Some((b, field)) = self.variable_field(target) else {
            return;
        };
        let binding = &self.facts.bindings[b as usize];
        if binding.func != Some(self.func)
            || binding.ctl != self.ctl
            || !binding.fresh
            || binding.param
            || binding.alias.is_some()
        {
            return;
        }
        let holds_maps = match self.expr_type(value) {
            TypeInfo::Map { .. } => true,
            TypeInfo::Named(n) => self.facts.decls.structs.contains_key(&n),
            _ => false,
        };
        if !holds_maps {
            return;
        }
        let stored = self.stored_aliases(&field, value);
        let nested = format!("{field}.");
        let aliases = &mut self.facts.bindings[b as usize].field_aliases;
        aliases.retain(|(f, _)| *f != field && !f.starts_with(&nested));
        aliases.extend(stored);
    }

    /// `f.done = done` of a local channel variable: from now on the variable and the field
    /// name one channel (a closure closing `done` closes `f.done`). Likewise a local map
    /// given a new map and stored back where it was read from (the get-or-create idiom,
    /// `set, ok := b.topics[t]; if !ok { set = make(…); b.topics[t] = set }; set[id] = …`):
    /// it names that storage again.
    fn stored_in_field(&mut self, target: Node<'a>, value: Node<'a>) {
        if !matches!(target.kind(), "selector_expression" | "index_expression")
            || value.kind() != "identifier"
        {
            return;
        }
        let Some(b) = self.lookup(self.text(value)) else {
            return;
        };
        let binding = &self.facts.bindings[b as usize];
        if binding.func != Some(self.func) || binding.param || binding.alias.is_some() {
            return;
        }
        let channel = matches!(binding.ty, TypeInfo::Chan(_));
        let map = matches!(binding.ty, TypeInfo::Map { .. });
        let Some(place) = self.place_of(target) else {
            return;
        };
        let stored_back = map && self.dropped_aliases.get(&b) == Some(&place);
        if channel && target.kind() == "selector_expression" || stored_back {
            self.aliased_places.insert(place);
            self.facts.bindings[b as usize].alias = Some(place);
        }
    }

    /// `cfg = &gatewayCfg{...}` in the variable's own block of the function declaring it:
    /// from here on the name holds a new object, still being built like one just declared
    /// (`cfg := s.remotes[name]; if cfg != nil { return }; cfg = &gatewayCfg{}`), so later
    /// uses resolve to a new binding. Only for struct objects: a map variable reassigned
    /// while a goroutine captured it shares the new map too.
    ///
    /// Another object this function made (`x = y`) keeps it one made here, naming `y`'s
    /// object in this block. Any other value but `nil` (`x = s.shared`, in a branch too)
    /// makes a variable that held an object being built one that may hold a shared object.
    pub(super) fn rebound_to_new_object(&mut self, target: Node<'a>, value: Node<'a>) {
        if target.kind() != "identifier" {
            return;
        }
        let Some(b) = self.lookup(self.text(target)) else {
            return;
        };
        if self.made_here(value) {
            // `cmdsMap = failed` of another object this function made: still one made
            // here, and from here on in this block the one `failed` names.
            let ty = self.expr_type(value);
            let alias = self.place_of(value);
            self.declare(target, ty, alias);
            return;
        }
        if !self.is_fresh_value(value) {
            if value.kind() != "nil" {
                self.facts.bindings[b as usize].fresh = false;
            }
            return;
        }
        let old = &self.facts.bindings[b as usize];
        if old.func != Some(self.func) || old.ctl != self.ctl || old.ty.is_map() {
            return;
        }
        let ty = self.expr_type(value);
        if !matches!(&ty, TypeInfo::Named(n) if self.facts.decls.structs.contains_key(n)) {
            return;
        }
        if let Some(id) = self.declare(target, ty, None) {
            self.facts.bindings[id as usize].fresh = true;
        }
    }

    /// Whether `value` is a variable of this function holding a struct object it made
    /// (`failed := newCmdsMap()`).
    fn made_here(&mut self, value: Node<'a>) -> bool {
        if value.kind() != "identifier" {
            return false;
        }
        let Some(v) = self.lookup(self.text(value)) else {
            return false;
        };
        let v = &self.facts.bindings[v as usize];
        v.func == Some(self.func)
            && v.fresh
            && !v.param
            && v.alias.is_none()
            && matches!(&v.ty, TypeInfo::Named(n) if self.facts.decls.structs.contains_key(n))
    }

    /// `m = value`: in the variable's own block (not a branch, where other paths keep what
    /// it held), it now holds what `value` loads, if anything; a copy (`md = md.Copy()`,
    /// `m = maps.Clone(m)`) is its own on any path. In a branch otherwise (`if !ok { md =
    /// metadata.New(nil) }`), the loaded map may still be there after it.
    pub(super) fn reloaded(&mut self, target: Node<'a>, value: Node<'a>) {
        if target.kind() != "identifier" {
            return;
        }
        let Some(b) = self.lookup(self.text(target)) else {
            return;
        };
        let loaded = self.loaded_from(value);
        let copies = value.kind() == "call_expression"
            && value
                .field(Field::Function)
                .and_then(|f| f.field(Field::Field))
                .is_some_and(|m| matches!(self.text(m), "Copy" | "Clone"));
        let binding = &mut self.facts.bindings[b as usize];
        let own_block = binding.ctl == self.ctl;
        if loaded.is_some() && own_block {
            if binding.ty == TypeInfo::Unknown
                && matches!(
                    loaded,
                    Some(Load {
                        from: LoadSource::Metadata(_),
                        ..
                    })
                )
            {
                binding.ty = metadata_type();
            }
            binding.loaded_from = loaded;
        } else if loaded.is_none() && (own_block || copies) {
            binding.loaded_from = None;
        }
    }

    /// Whether a selector names a field of a package struct that holds a struct value, not
    /// a pointer (`c.stats` of `stats CacheStats`): assigning it copies the struct.
    pub(super) fn struct_valued_field(&mut self, selector: Node<'a>) -> bool {
        let (Some(operand), Some(field)) =
            (selector.field(Field::Operand), selector.field(Field::Field))
        else {
            return false;
        };
        let TypeInfo::Named(owner) = self.expr_type(operand) else {
            return false;
        };
        let field = self.text(field);
        self.facts.decls.structs.get(&owner).is_some_and(|s| {
            matches!(s.fields.get(field), Some(TypeInfo::Named(t)) if self.facts.decls.structs.contains_key(t))
                && !s.pointers.contains(field)
        })
    }

    /// Whether `field` is a field of the struct type `ty` declared in the package.
    pub(super) fn is_field(&self, ty: &str, field: &str) -> bool {
        self.facts
            .decls
            .structs
            .get(ty)
            .is_some_and(|s| s.fields.contains_key(field))
    }

    /// `h.f = fn` or `h.f = h.method`: calls of `x.f` on any value of `h`'s type run that
    /// function (a method value only when bound to the holder itself, the callback pattern
    /// `m.OnChange = m.onChange`; a literal is stored where the assignment walks it).
    pub(super) fn field_func_assigned(&mut self, target: Node<'a>, value: Node<'a>) {
        if value.kind() == "func_literal" {
            return;
        }
        let Some(key) = self.func_field_of(target) else {
            return;
        };
        let Some(operand) = target.field(Field::Operand) else {
            return;
        };
        let Some((callee, receiver)) = self.callee_of(value) else {
            return;
        };
        let holder = self.place_of(operand);
        match callee {
            Callee::Func(_) | Callee::Returned { .. } if receiver.is_none() => {
                self.store_field_func(key, callee, None)
            }
            // The holder's own method runs on the holder; another object's on that object.
            Callee::Method(..) if receiver.is_some() => {
                let bound = receiver.filter(|_| receiver != holder);
                self.store_field_func(key, callee, bound);
            }
            _ => {}
        }
    }

    /// The (struct type, field) a selector `h.f` names, when `h`'s type is a struct of the
    /// package with that field.
    pub(super) fn func_field_of(&mut self, target: Node<'a>) -> Option<(String, String)> {
        if target.kind() == "index_expression" {
            return self.func_table_of(target);
        }
        if target.kind() != "selector_expression" {
            return None;
        }
        let operand = target.field(Field::Operand)?;
        let field = self.text(target.field(Field::Field)?).to_string();
        let TypeInfo::Named(ty) = self.expr_type(operand) else {
            return None;
        };
        self.is_field(&ty, &field).then_some((ty, field))
    }

    /// The key of a package variable holding a table of functions (`routes[path]` of `var
    /// routes = map[string]HandlerFunc{}`), as a field of no type: what the package stores
    /// in an entry (`routes["/login"] = auth.Login`) runs where an entry is called.
    pub(super) fn func_table_of(&mut self, index: Node<'a>) -> Option<(String, String)> {
        let operand = index.field(Field::Operand)?;
        if operand.kind() != "identifier" {
            return None;
        }
        let name = self.text(operand);
        let binding = &self.facts.bindings[self.lookup(name)? as usize];
        let table = match &binding.ty {
            TypeInfo::Map { value, .. } | TypeInfo::Slice(value, _) => {
                matches!(**value, TypeInfo::Unknown)
            }
            _ => false,
        };
        (binding.func.is_none() && table).then(|| (String::new(), name.to_string()))
    }

    /// Notes that the package stores `stored` in a function-valued field; a field given
    /// more than [`MAX_STORED_FUNCS`] different functions resolves to none.
    pub(super) fn store_field_func(
        &mut self,
        key: (String, String),
        callee: Callee,
        receiver: Option<PlaceId>,
    ) {
        let stored = (callee, receiver);
        let known = self.facts.field_funcs.entry(key).or_default();
        // One past the bound marks a field given too many.
        if known.len() <= MAX_STORED_FUNCS && !known.contains(&stored) {
            known.push(stored);
        }
    }

    /// `c.f = v` on a struct copy `c` changes the copy only: from here on `c.f` is `v`'s
    /// storage, or the copy's own (`c.f = make(...)`), no longer the original's; after an
    /// assignment in a branch, only until the branch ends (`Walker::branch_copy_fields`).
    pub(super) fn copy_field_assigned(&mut self, target: Node<'a>, value: Node<'a>) {
        let replaced = self.replaced_field_alias.take();
        let Some((copied, field)) = self
            .variable_field(target)
            .filter(|&(b, _)| self.facts.bindings[b as usize].by_value)
        else {
            return;
        };
        // In a branch (`if e.Meta == nil { e.Meta = make(…) }`), the copy may still share
        // the original's map after it.
        if self.facts.bindings[copied as usize].ctl != self.ctl {
            let before = match replaced {
                Some((b, f, place)) if b == copied && f == field => Some(place),
                _ => None,
            };
            self.branch_copy_fields
                .push((self.ctl, copied, field.clone(), before));
        }
        let place = match self.place_of(value) {
            Some(place) => place,
            None => {
                let root = self.copy_storage(copied);
                self.facts.intern_place(Place {
                    root,
                    fields: vec![field.clone()],
                })
            }
        };
        self.facts.bindings[copied as usize]
            .field_aliases
            .push((field, place));
    }

    /// After `x = v`, copies taken earlier of what `x` held (`m := x`) no longer refer to
    /// `x`: the swap idiom `m := s.items; s.items = nil` detaches `m`. A variable assigned
    /// anew stops being a copy itself.
    pub(super) fn reassigned(&mut self, target: Node<'a>) {
        self.replaced_field_alias = None;
        if target.kind() == "identifier" {
            if let Some(b) = self.lookup(self.text(target)) {
                let binding = &mut self.facts.bindings[b as usize];
                binding.field_aliases.clear();
                if let Some(dropped) = binding.alias.take() {
                    self.dropped_aliases.insert(b, dropped);
                    return;
                }
            }
        }
        // `e.Attrs = fresh` ends `e.Attrs` standing for the literal's map.
        if let (Some(operand), Some(field)) =
            (target.field(Field::Operand), target.field(Field::Field))
        {
            if target.kind() == "selector_expression" && operand.kind() == "identifier" {
                if let Some(b) = self.lookup(self.text(operand)) {
                    let field = self.text(field);
                    let aliases = &mut self.facts.bindings[b as usize].field_aliases;
                    let nested = format!("{field}.");
                    aliases.retain(|(f, _)| !f.starts_with(&nested));
                    if let Some(i) = aliases.iter().position(|(f, _)| f == field) {
                        let (f, place) = aliases.remove(i);
                        aliases.retain(|(f, _)| f != field);
                        self.replaced_field_alias = Some((b, f, place));
                        return;
                    }
                }
            }
        }
        let Some(place) = self.place_of(target) else {
            return;
        };
        if !self.aliased_places.contains(&place) {
            return;
        }
        let func = Some(self.func);
        let in_scope: Vec<BindingId> = self.scopes.bindings().collect();
        for b in in_scope {
            let binding = &mut self.facts.bindings[b as usize];
            if binding.func == func && binding.alias == Some(place) {
                binding.alias = None;
            }
        }
    }

    pub(super) fn lvalue(&mut self, node: Node<'a>, op: AccessOp) {
        match node.kind() {
            "index_expression" => self.index_access(node, op),
            "identifier" => {}
            "parenthesized_expression" => {
                if let Some(inner) = node.named_child(0) {
                    self.lvalue(inner, op);
                }
            }
            "selector_expression" | "unary_expression" => {
                if let Some(operand) = node.field(Field::Operand) {
                    self.expr(operand);
                }
            }
            _ => self.expr(node),
        }
    }
}
