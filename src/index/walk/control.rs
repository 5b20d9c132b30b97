//! Statements and control flow: blocks, statements and returns, with the lock set flowing
//! through them (branches in `branches`, loops in `loops`, each a control frame).

use super::*;
use crate::fields::{Field, FieldExt};

impl<'a> Walker<'a, '_> {
    pub(super) fn enter_nesting(&mut self, node: Node<'_>) -> bool {
        if self.depth >= MAX_NESTING {
            if !self.too_deep {
                self.too_deep = true;
                self.warnings.push(IndexWarning {
                    file: self.file,
                    offset: node.start_byte(),
                    message: format!(
                        "code nested more than {MAX_NESTING} levels deep was not analyzed"
                    ),
                });
            }
            return false;
        }
        self.depth += 1;
        true
    }

    pub(super) fn block(&mut self, block: Node<'a>) {
        self.scopes.push();
        let mut cursor = block.walk();
        for child in block.named_children(&mut cursor) {
            if child.kind() == "statement_list" {
                self.statements(child);
            }
        }
        self.scopes.pop();
    }

    pub(super) fn statements(&mut self, list: Node<'a>) {
        let mut cursor = list.walk();
        for stmt in list.named_children(&mut cursor) {
            self.statement(stmt);
        }
    }

    pub(super) fn statement(&mut self, node: Node<'a>) {
        if !self.enter_nesting(node) {
            return;
        }
        match node.kind() {
            "block" => self.block(node),
            "expression_statement" => {
                if let Some(e) = node.named_child(0) {
                    self.expr(e);
                }
            }
            "short_var_declaration" => self.short_var_declaration(node),
            "var_declaration" => self.var_declaration(node),
            "assignment_statement" => self.assignment(node),
            "inc_statement" | "dec_statement" => {
                if let Some(target) = node.named_child(0) {
                    self.lvalue(target, AccessOp::Update);
                }
            }
            "send_statement" => {
                for field in ["channel", "value"] {
                    match node.child_by_field_name(field) {
                        // A function sent on a channel runs where it is received (a task
                        // queue's worker, an event loop calling what a channel field of
                        // functions brings), not here.
                        Some(e) if e.kind() == "func_literal" => {
                            let body = self.literal_func(e, &[]);
                            let channel = node
                                .field(Field::Channel)
                                .filter(|c| self.channel_funcs(*c).is_some());
                            // The object holding the channel (`sh` of `sh.tasks <- …`):
                            // the receiving loop's own object, where the literal runs.
                            let holder = channel
                                .and_then(|c| c.field(Field::Operand))
                                .and_then(|o| self.place_of(o));
                            if let Some(key) = channel.and_then(|c| self.func_field_of(c)) {
                                self.store_field_func(key, Callee::Literal(body), holder);
                            }
                        }
                        Some(e) => self.expr(e),
                        None => {}
                    }
                }
                let channel = node.field(Field::Channel);
                if let Some((channel, place)) = channel.and_then(|c| Some((c, self.place_of(c)?))) {
                    // The send happens once the value is evaluated (`done <- g.Wait()`).
                    self.push_at(EventKind::Signal { sync: place }, node, node.end_byte());
                    // Giving a token back.
                    if self.is_token(channel) {
                        self.push(EventKind::Unlock { place }, node);
                        self.flow.unlock(place);
                    } else if recognize::enters_semaphore(
                        node,
                        channel,
                        self.src,
                        &self.facts.decls.one_slot,
                    ) {
                        let mode = LockMode::Exclusive;
                        self.push(EventKind::Lock { place, mode }, node);
                        self.flow.lock(place, mode);
                    }
                    // A map sent on a channel: whoever receives from it holds the same map.
                    if let Some(value) = node.field(Field::Value).and_then(|v| self.map_place(v)) {
                        self.facts.sent.push((place, value));
                    }
                    // A struct literal carrying maps: `out <- Batch{Samples: s.pending}`.
                    if let Some(value) = node
                        .field(Field::Value)
                        .filter(|v| matches!(v.kind(), "composite_literal" | "unary_expression"))
                    {
                        let fields = self.literal_fields(value);
                        if !fields.is_empty() {
                            self.facts.sent_fields.push((place, fields));
                        }
                    }
                    self.renewed_after_send(node);
                }
            }
            "go_statement" => {
                if let Some(call) = node.named_child(0) {
                    self.go_statement(node, call);
                }
            }
            "defer_statement" => {
                if let Some(call) = node.named_child(0) {
                    self.defer_statement(call);
                }
            }
            "if_statement" => self.if_statement(node),
            "for_statement" => self.for_statement(node),
            "expression_switch_statement" | "type_switch_statement" => self.switch_statement(node),
            "select_statement" => self.select_statement(node),
            "labeled_statement" => {
                let mut cursor = node.walk();
                let mut children = node.named_children(&mut cursor);
                // Jumped to from `goto`s above as well as entered from the statement before.
                if let Some(label) = children.next().map(|l| self.text(l)) {
                    let mut flows = vec![std::mem::take(&mut self.flow)];
                    self.gotos.retain(|(to, flow)| {
                        let here = *to == label;
                        if here {
                            flows.push(flow.clone());
                        }
                        !here
                    });
                    self.flow = Flow::join(flows);
                }
                let inner: Vec<_> = children.collect();
                for s in inner {
                    self.statement(s);
                }
            }
            "return_statement" => {
                if let Some(list) = node.named_child(0) {
                    self.return_values(list);
                    self.returned(list);
                }
                if matches!(self.defer_target, DeferMode::FuncEnd(_)) {
                    self.return_locks.push(self.flow.locks.clone());
                }
                self.flow.exit();
            }
            "goto_statement" => {
                if let Some(label) = node.named_child(0) {
                    self.gotos.push((self.text(label), self.flow.clone()));
                }
                self.flow.terminated = true;
            }
            "break_statement" | "continue_statement" => {
                self.flow.terminated = true;
            }
            _ => {}
        }
        self.depth -= 1;
    }

    /// `out <- batch; batch = make(…)` (or `out <- Batch{Samples: s.pending}; …;
    /// s.pending = make(…)`): the sent variable or field is given a new map by a later
    /// statement of the same block, and no statement between them mentions it (see
    /// [`crate::index::Binding::renewed`], `PackageFacts::renewed`).
    fn renewed_after_send(&mut self, send: Node<'a>) {
        let Some(value) = send.field(Field::Value) else {
            return;
        };
        let mut sent = vec![value];
        let literal = match value.kind() {
            "unary_expression" => value.field(Field::Operand),
            _ => Some(value),
        };
        if let Some(body) = literal
            .filter(|l| l.kind() == "composite_literal")
            .and_then(|l| l.field(Field::Body))
        {
            let mut cursor = body.walk();
            let elements: Vec<Node<'a>> = body.named_children(&mut cursor).collect();
            for element in elements {
                if let Some(v) = element.named_child(1).and_then(|v| v.named_child(0)) {
                    sent.push(v);
                }
            }
        }
        for value in sent {
            if matches!(value.kind(), "identifier" | "selector_expression") {
                self.renewed_later(send, value);
            }
        }
    }

    /// Marks `value` (sent by `send`) renewed when a later statement of the block gives it a
    /// new map and none between mentions it.
    fn renewed_later(&mut self, send: Node<'a>, value: Node<'a>) {
        if !self.renewed_after(send, value) {
            return;
        }
        if value.kind() == "identifier" {
            if let Some(b) = self.lookup(self.text(value)) {
                self.facts.bindings[b as usize].renewed = true;
            }
        } else if let Some(place) = self.place_of(value) {
            self.facts.renewed.push(place);
        }
    }

    /// Whether a later statement of the block of `statement` gives `value` (a variable or
    /// field) a new map, and none between mentions it: what `value` held before is handed
    /// on (`out <- batch; batch = make(…)`, `go flush(s.pending); s.pending = make(…)`).
    pub(super) fn renewed_after(&self, statement: Node<'a>, value: Node<'a>) -> bool {
        if !matches!(value.kind(), "identifier" | "selector_expression") {
            return false;
        }
        let text = self.text(value);
        let name = crate::index::semaphores::last_name(value, self.src).unwrap_or(text);
        let mentions = |n: Node<'a>| {
            self.src[n.byte_range()]
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .any(|word| word == name)
        };
        let mut next = statement.next_named_sibling();
        while let Some(later) = next {
            next = later.next_named_sibling();
            if later.kind() == "comment" || !mentions(later) {
                continue;
            }
            if later.kind() != "assignment_statement" {
                return false;
            }
            let (left, right) = (
                Self::list(later.field(Field::Left)),
                Self::list(later.field(Field::Right)),
            );
            let ([target], [made]) = (left.as_slice(), right.as_slice()) else {
                return false;
            };
            let new_map = made.kind() == "composite_literal"
                || (made.kind() == "call_expression"
                    && made
                        .field(Field::Function)
                        .is_some_and(|f| self.text(f) == "make"));
            return self.text(*target) == text && new_map;
        }
        false
    }

    /// Whether `expr` names a struct copy whose every map field was given storage of its
    /// own (`st := c.stats; st.Uses = maps.Clone(c.stats.Uses)`): it shares no map.
    fn copy_with_own_maps(&self, expr: Node<'a>) -> bool {
        let Some(b) = (expr.kind() == "identifier")
            .then(|| self.lookup(self.text(expr)))
            .flatten()
        else {
            return false;
        };
        let binding = &self.facts.bindings[b as usize];
        let TypeInfo::Named(ty) = &binding.ty else {
            return false;
        };
        let Some(decl) = self.facts.decls.structs.get(ty) else {
            return false;
        };
        binding.by_value
            && decl
                .fields
                .iter()
                .filter(|(_, t)| t.is_map())
                .all(|(f, _)| {
                    binding
                        .field_aliases
                        .iter()
                        .any(|(own, place)| own == f && !self.facts.is_shared_root(*place))
                })
    }

    /// Whether a channel expression names a token channel ([`crate::index::semaphores`]).
    pub(super) fn is_token(&self, channel: Node<'a>) -> bool {
        crate::index::semaphores::last_name(channel, self.src)
            .is_some_and(|n| self.facts.decls.tokens.contains(n))
    }

    /// Walks the values of a `return`. A function a declared body returns (`return func(id
    /// string) {…}`, a variable holding a literal, a package function) is noted as its
    /// result there (`Func::returned_funcs`): it runs where the caller calls what it got,
    /// maybe on another goroutine.
    fn return_values(&mut self, list: Node<'a>) {
        if !matches!(self.defer_target, DeferMode::FuncEnd(_)) {
            self.expr(list);
            return;
        }
        for (index, expr) in Self::list(Some(list)).into_iter().enumerate() {
            let func = if expr.kind() == "func_literal" {
                Some(Callee::Literal(self.literal_func(expr, &[])))
            } else {
                self.expr(expr);
                self.callee_of(expr)
                    .and_then(|(callee, receiver)| match callee {
                        Callee::Literal(_) | Callee::Func(_) if receiver.is_none() => Some(callee),
                        _ => None,
                    })
            };
            let returned = &mut self.current().returned_funcs;
            if let Some(func) = func.filter(|f| !returned.contains(&(index, f.clone()))) {
                returned.push((index, func));
            }
        }
    }

    /// Records the shared storage (maps, structs holding maps) a declared function's
    /// `return` hands its caller, with the locks held where it was taken (not for `return`s
    /// of inline function literals).
    pub(super) fn returned(&mut self, list: Node<'a>) {
        if !matches!(self.defer_target, DeferMode::FuncEnd(_)) {
            return;
        }
        for (index, expr) in Self::list(Some(list)).into_iter().enumerate() {
            if let Some(b) = (expr.kind() == "identifier")
                .then(|| self.lookup(self.text(expr)))
                .flatten()
            {
                let binding = &self.facts.bindings[b as usize];
                let local = binding.func == Some(self.func) && !binding.param;
                // In a program (`package main`) every caller is in view: the object a
                // constructor returns is the caller's too.
                let map = binding.ty.is_map()
                    || (self.facts.name == "main" && matches!(binding.ty, TypeInfo::Named(_)));
                if local
                    && matches!(binding.ty, TypeInfo::Named(_))
                    && !self.current().made.contains(&b)
                {
                    self.current().made.push(b);
                }
                // A map made here and returned (`return results`), which a goroutine this
                // function started may still fill.
                if local && map && !self.current().returned_locals.contains(&(index, b)) {
                    self.current().returned_locals.push((index, b));
                }
            }
            if self.copy_with_own_maps(expr) {
                continue;
            }
            // A map, or a field holding maps; not the receiver or a parameter itself, whose
            // methods do their own locking.
            let Some(place) = self.place_of(expr).filter(|&p| {
                self.facts.is_shared_root(p)
                    && (self.facts.place_type(p).is_map()
                        || !self.facts.places[p as usize].fields.is_empty())
            }) else {
                continue;
            };
            // `return m` of a local copy: the locks held where `m` took the map.
            let taken = (expr.kind() == "identifier")
                .then(|| self.lookup(self.text(expr)))
                .flatten()
                .and_then(|b| self.alias_locks.get(&b).cloned());
            let locks = taken.unwrap_or_else(|| self.flow.locks.clone());
            self.current().returns.push(Returned {
                index,
                place,
                locks,
                span: expr.byte_range(),
            });
        }
    }

    pub(super) fn list(node: Option<Node<'a>>) -> Vec<Node<'a>> {
        let Some(node) = node else {
            return Vec::new();
        };
        if node.kind() != "expression_list" {
            return vec![node];
        }
        let mut cursor = node.walk();
        node.named_children(&mut cursor)
            .filter(|n| n.kind() != "comment")
            .collect()
    }
}
