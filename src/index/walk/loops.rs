//! Loops: `for` statements and `range` clauses, each body a control frame, with the
//! variables a range declares.

use super::*;
use crate::fields::{Field, FieldExt};

impl<'a> Walker<'a, '_> {
    pub(super) fn for_statement(&mut self, node: Node<'a>) {
        self.scopes.push();
        let mut cursor = node.walk();
        let header = node
            .named_children(&mut cursor)
            .find(|c| c.kind() != "block" && c.kind() != "comment");
        let entry = self.flow.clone();
        let mut range_left = Vec::new();
        let mut range_right = None;
        let mut loop_parts = Vec::new();
        match header.map(|h| (h.kind(), h)) {
            Some(("for_clause", clause)) => {
                if let Some(init) = clause.field(Field::Initializer) {
                    self.statement(init);
                }
                loop_parts.extend(clause.field(Field::Condition));
                loop_parts.extend(clause.field(Field::Update));
            }
            Some(("range_clause", clause)) => {
                range_left = Self::list(clause.field(Field::Left));
                range_right = clause.field(Field::Right);
            }
            Some((_, cond)) => loop_parts.push(cond),
            None => {}
        }
        if let Some(right) = range_right {
            self.range_over(right);
        }
        let endless = header.is_none();
        let body_end = self.in_frame(CtlKind::Loop, |w| {
            if endless {
                let frame = w.ctl;
                w.current().ctl.frames[frame as usize].endless = true;
            }
            w.scopes.push();
            if let Some(right) = range_right {
                let (elem, received) = match w.expr_type(right) {
                    TypeInfo::Map { value, .. } | TypeInfo::Slice(value, _) => (*value, None),
                    TypeInfo::Chan(value) => (*value, w.place_of(right)),
                    _ => (TypeInfo::Unknown, None),
                };
                // The value (second) variable of a range over a map or slice has its element
                // type; the one variable of a range over a channel receives its elements.
                let value_index = if received.is_some() { 0 } else { 1 };
                // A struct or map element read in place is the element itself: `for _, st :=
                // range s.streams { n += len(st.consumers) }` reads
                // `s.streams[…].consumers`. Not when the body hands the variable on (a call,
                // a goroutine): each iteration's element is another object, and one abstract
                // element would make them one.
                let value = range_left.get(value_index).copied();
                let in_place = |w: &Self| {
                    let body = node.field(Field::Body);
                    match (value, body) {
                        (Some(v), Some(body)) => w.only_selected_in(body, w.text(v)),
                        _ => false,
                    }
                };
                let abstract_element = match (&elem, received) {
                    (TypeInfo::Named(_) | TypeInfo::Map { .. }, None) => w
                        .place_of(right)
                        .map(|p| w.facts.select(p, crate::index::ELEMENT)),
                    _ => None,
                };
                let (element, element_of) = match abstract_element {
                    Some(e) if in_place(w) => (Some(e), None),
                    other => (None, other),
                };
                for (i, &name) in range_left.iter().enumerate() {
                    if name.kind() == "identifier" {
                        let (ty, alias) = if i == value_index {
                            (elem.clone(), element)
                        } else {
                            (TypeInfo::Unknown, None)
                        };
                        // `for _, h := range l.hooks { h() }` runs the registered hooks.
                        let may_be_func = match &elem {
                            TypeInfo::Unknown => true,
                            TypeInfo::Named(n) => !w.facts.decls.structs.contains_key(n),
                            _ => false,
                        };
                        // `for cmd := range m.cmds { cmd() }` runs what is sent there.
                        let funcs = match received {
                            None => (i == value_index && may_be_func)
                                .then(|| w.func_list(right))
                                .flatten(),
                            Some(_) => (i == value_index).then(|| w.channel_funcs(right)).flatten(),
                        };
                        if let Some(id) = w.declare(name, ty, alias) {
                            let binding = &mut w.facts.bindings[id as usize];
                            binding.received_from = received;
                            binding.func_value = funcs;
                            if i == value_index {
                                binding.element_of = element_of;
                            }
                        }
                    }
                }
            }
            for part in &loop_parts {
                if part.kind().ends_with("statement") || part.kind() == "short_var_declaration" {
                    w.statement(*part);
                } else {
                    w.expr(*part);
                }
            }
            if let Some(body) = node.field(Field::Body) {
                w.block(body);
            }
            w.scopes.pop();
        });
        self.flow = Flow::join(vec![entry, body_end]);
        self.scopes.pop();
        // `for !ready { cond.Wait() }` has waited for the flag when it ends.
        if let Some(flag) = conds::waited_flag(node, self.src).and_then(|f| self.place_of(f)) {
            let wait = EventKind::Wait {
                sync: flag,
                single_receive: false,
            };
            self.push_at(wait, node, node.end_byte());
        }
    }

    /// Whether `body` uses the variable `name` only to select its fields or lock it
    /// (`v.m[k]`, `len(v.m)`, `v.mu.Lock()`), starts no goroutine and makes no closure.
    fn only_selected_in(&self, body: Node<'a>, name: &str) -> bool {
        let mut cursor = body.walk();
        let mut stack = vec![body];
        while let Some(node) = stack.pop() {
            match node.kind() {
                "go_statement" | "func_literal" => return false,
                "identifier" if self.text(node) == name => {
                    let Some(parent) = node.parent() else {
                        return false;
                    };
                    let selected = parent.kind() == "selector_expression"
                        && parent.field(Field::Operand) == Some(node);
                    if !selected {
                        return false;
                    }
                    // The method a selector chain from the variable calls (`v.run()`,
                    // `v.store.run()`), if any.
                    let mut top = parent;
                    while let Some(up) = top.parent().filter(|up| {
                        up.kind() == "selector_expression" && up.field(Field::Operand) == Some(top)
                    }) {
                        top = up;
                    }
                    let method = top
                        .field(Field::Field)
                        .map(|f| self.text(f))
                        .unwrap_or_default();
                    let called = top.parent().is_some_and(|p| {
                        p.kind() == "call_expression" && p.field(Field::Function) == Some(top)
                    });
                    if called && !matches!(method, "Lock" | "Unlock" | "RLock" | "RUnlock") {
                        return false;
                    }
                }
                _ => stack.extend(node.named_children(&mut cursor)),
            }
        }
        true
    }

    /// `range x`: reads a map, or waits on a channel until it is closed.
    pub(super) fn range_over(&mut self, right: Node<'a>) {
        match self.expr_type(right) {
            TypeInfo::Map { .. } => self.access_or_expr(right, AccessOp::Range, right),
            TypeInfo::Chan(_) => {
                self.expr(right);
                if let Some(place) = self.place_of(right) {
                    self.push(
                        EventKind::Wait {
                            sync: place,
                            single_receive: false,
                        },
                        right,
                    );
                }
            }
            _ => {
                self.expr(right);
                // `for k, v := range r.All()` of an iterator the package returns: ranging
                // calls it.
                if let Some((callee @ (Callee::Returned { .. } | Callee::Literal(_)), None)) =
                    self.callee_of(right)
                {
                    let target = Target {
                        callee,
                        receiver: None,
                        args: Vec::new(),
                    };
                    let kind = EventKind::Call {
                        target,
                        literals: Vec::new(),
                        passed: None,
                    };
                    self.push_at(kind, right, right.end_byte());
                }
            }
        }
    }
}
