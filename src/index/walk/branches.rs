//! Branches: `if` (with lock modes a condition decides, `TryLock`, timers stopped),
//! `switch` and `select`, each case a control frame.

use super::*;
use crate::fields::{Field, FieldExt};

impl<'a> Walker<'a, '_> {
    pub(super) fn if_statement(&mut self, node: Node<'a>) {
        self.scopes.push();
        if let Some(init) = node.field(Field::Initializer) {
            self.statement(init);
        }
        if let Some(cond) = node.field(Field::Condition) {
            self.expr(cond);
        }
        let entry = self.flow.clone();
        let gate = self.gate(node, &entry);
        // `if needLock { mu.Lock() }` (or `if !hasLock`) on a parameter: the caller says
        // whether it holds the lock already, so the code after it holds the lock either way.
        let flag = node
            .field(Field::Condition)
            .is_some_and(|c| self.is_flag_parameter(c))
            && node.field(Field::Alternative).is_none();
        let held_before = if flag {
            entry.locks.clone()
        } else {
            Vec::new()
        };
        // `if debug { ... }` with `const debug = false` is dead code.
        let dead = node
            .field(Field::Condition)
            .is_some_and(|c| self.is_false_constant(c));
        // `if mu.TryLock() { ... }` holds the lock in the branch taken on success.
        let try_lock = node.field(Field::Condition).and_then(|c| self.try_lock(c));
        let acquired = |w: &mut Self, on_success: bool| {
            if let Some((call, place, mode, success)) = try_lock {
                if success == on_success {
                    w.push(EventKind::Lock { place, mode }, call);
                    w.flow.lock(place, mode);
                }
            }
        };
        // `if exclusive { … }` after `if exclusive { mu.Lock() } else { mu.RLock() }`.
        let condition = node
            .field(Field::Condition)
            .and_then(|c| self.condition_flag(c));
        let decide = |w: &mut Self, taken: bool| {
            let Some((flag, positive)) = &condition else {
                return;
            };
            let decided: Vec<(PlaceId, LockMode)> = w
                .flow
                .decided
                .iter()
                .filter(|d| &d.0 == flag && w.flow.locks.iter().any(|&(p, _)| p == d.1))
                .map(|d| (d.1, if taken == *positive { d.2 } else { d.3 }))
                .collect();
            for (place, mode) in decided {
                w.flow.lock(place, mode);
            }
        };
        let first = self.current().events.len();
        let then = self.in_frame(CtlKind::Branch, |w| {
            acquired(w, true);
            decide(w, true);
            if let Some(b) = node.field(Field::Consequence).filter(|_| !dead) {
                w.block(b);
            }
        });
        // `if !t.Stop() { <-done }`: the callback either never runs or has signalled.
        let stopped_or_waited: Vec<PlaceId> = if self.stops_timer(node) {
            self.waits_since(first)
        } else {
            Vec::new()
        };
        let otherwise = match node.field(Field::Alternative) {
            Some(alt) => self.in_frame(CtlKind::Branch, |w| {
                acquired(w, false);
                decide(w, false);
                w.statement(alt);
            }),
            None => {
                let after = std::mem::replace(&mut self.flow, entry);
                acquired(self, false);
                std::mem::replace(&mut self.flow, after)
            }
        };
        let taken = flag.then(|| then.clone());
        let gate = gate
            .filter(|_| then.terminated && then.exits && node.field(Field::Alternative).is_none());
        // Locks both branches hold, in modes the condition decides.
        let decided: Vec<(String, PlaceId, LockMode, LockMode)> = match &condition {
            Some((flag, positive)) if !then.terminated && !otherwise.terminated => then
                .locks
                .iter()
                .filter_map(|&(place, in_then)| {
                    let &(_, in_else) = otherwise.locks.iter().find(|&&(p, _)| p == place)?;
                    let (when_true, when_false) = if *positive {
                        (in_then, in_else)
                    } else {
                        (in_else, in_then)
                    };
                    (in_then != in_else).then(|| (flag.clone(), place, when_true, when_false))
                })
                .collect(),
            _ => Vec::new(),
        };
        self.flow = Flow::join(vec![then, otherwise]);
        for d in decided {
            self.flow.decided.retain(|e| e.1 != d.1);
            self.flow.decided.push(d);
        }
        if let Some((place, lock)) = gate.filter(|_| !self.flow.terminated) {
            self.gates.push((place, lock));
            self.flow.lock(place, LockMode::Latch);
        }
        if let Some(taken) = taken.filter(|t| !t.terminated && !self.flow.terminated) {
            for &(place, mode) in &taken.locks {
                if !held_before.iter().any(|&(p, _)| p == place) {
                    self.flow.lock(place, mode);
                    let decided = taken.decided.iter().filter(|d| d.1 == place);
                    self.flow.decided.extend(decided.cloned());
                }
            }
        }
        for sync in stopped_or_waited {
            let wait = EventKind::Wait {
                sync,
                single_receive: true,
            };
            self.push_at(wait, node, node.end_byte());
        }
        self.scopes.pop();
    }

    /// What the current function's events from index `first` on wait for.
    fn waits_since(&mut self, first: usize) -> Vec<PlaceId> {
        self.current().events[first..]
            .iter()
            .filter_map(|e| match e.kind {
                EventKind::Wait { sync, .. } => Some(sync),
                _ => None,
            })
            .collect()
    }

    /// Whether an `if` is `if !t.Stop() { … }` with no `else`: past it, a timer's callback
    /// either will never run (`Stop` returned true) or has run as far as the branch waited.
    fn stops_timer(&self, node: Node<'a>) -> bool {
        let stop_call = node
            .field(Field::Condition)
            .filter(|c| {
                c.kind() == "unary_expression" && c.child(0).is_some_and(|o| o.kind() == "!")
            })
            .and_then(|c| c.field(Field::Operand))
            .filter(|call| call.kind() == "call_expression")
            .and_then(|call| call.field(Field::Function))
            .and_then(|f| f.field(Field::Field))
            .is_some_and(|m| self.text(m) == "Stop");
        stop_call && node.field(Field::Alternative).is_none()
    }

    /// The variable a condition tests, possibly negated or parenthesized, and whether it
    /// holds when the variable is true: `("exclusive", false)` for `!exclusive`.
    fn condition_flag(&self, cond: Node<'a>) -> Option<(String, bool)> {
        let mut positive = true;
        let mut cur = cond;
        loop {
            cur = match cur.kind() {
                "parenthesized_expression" => cur.named_child(0)?,
                "unary_expression"
                    if cur
                        .field(Field::Operator)
                        .is_some_and(|o| self.text(o) == "!") =>
                {
                    positive = !positive;
                    cur.field(Field::Operand)?
                }
                "identifier" | "selector_expression" => {
                    return Some((self.compact(cur), positive));
                }
                _ => return None,
            };
        }
    }

    /// Whether a condition is a boolean parameter, possibly negated or parenthesized.
    fn is_flag_parameter(&self, cond: Node<'a>) -> bool {
        let mut cur = Some(cond);
        while let Some(c) = cur {
            cur = match c.kind() {
                "parenthesized_expression" => c.named_child(0),
                "unary_expression"
                    if c.field(Field::Operator)
                        .is_some_and(|o| self.text(o) == "!") =>
                {
                    c.field(Field::Operand)
                }
                "identifier" => {
                    return self
                        .lookup(self.text(c))
                        .is_some_and(|b| self.facts.bindings[b as usize].param)
                }
                _ => return false,
            };
        }
        false
    }

    /// For `if f.closed { return }` under a lock (`entry` is the flow before the `if`):
    /// the flag and the innermost lock held, a gate (see `Walker::gates`).
    fn gate(&mut self, node: Node<'a>, entry: &Flow) -> Option<(PlaceId, PlaceId)> {
        let cond = node.field(Field::Condition)?;
        let cond = if cond.kind() == "parenthesized_expression" {
            cond.named_child(0)?
        } else {
            cond
        };
        if cond.kind() != "selector_expression" {
            return None;
        }
        let &(lock, _) = entry.locks.iter().find(|&&(p, _)| {
            !self.gates.iter().any(|&(g, _)| g == p) && !self.latched.contains(&p)
        })?;
        let place = self.place_of(cond)?;
        Some((place, lock))
    }

    /// A condition `mu.TryLock()` or `mu.TryRLock()`, possibly negated: the call, the
    /// mutex, the mode, and whether the lock is held when the condition is true.
    pub(super) fn try_lock(
        &mut self,
        cond: Node<'a>,
    ) -> Option<(Node<'a>, PlaceId, LockMode, bool)> {
        let mut cur = cond;
        let mut success = true;
        loop {
            match cur.kind() {
                "parenthesized_expression" => cur = cur.named_child(0)?,
                "unary_expression"
                    if cur
                        .field(Field::Operator)
                        .is_some_and(|o| self.text(o) == "!") =>
                {
                    success = !success;
                    cur = cur.field(Field::Operand)?;
                }
                _ => break,
            }
        }
        if cur.kind() != "call_expression"
            || cur
                .field(Field::Arguments)
                .is_some_and(|a| a.named_child_count() > 0)
        {
            return None;
        }
        let function = cur.field(Field::Function)?;
        if function.kind() != "selector_expression" {
            return None;
        }
        let mode = match self.text(function.field(Field::Field)?) {
            "TryLock" => LockMode::Exclusive,
            "TryRLock" => LockMode::Read,
            _ => return None,
        };
        let place = self.lock_place(function.field(Field::Operand)?)?;
        Some((cur, place, mode, success))
    }

    /// Whether `cond` names a package constant declared `false`.
    pub(super) fn is_false_constant(&self, cond: Node<'_>) -> bool {
        cond.kind() == "identifier"
            && self.lookup(self.text(cond)).is_none()
            && self.facts.decls.false_consts.contains(self.text(cond))
    }

    pub(super) fn switch_statement(&mut self, node: Node<'a>) {
        self.scopes.push();
        if let Some(init) = node.field(Field::Initializer) {
            self.statement(init);
        }
        if let Some(value) = node.field(Field::Value) {
            self.expr(value);
        }
        let alias = Self::list(node.field(Field::Alias));
        // `switch st := s.(type)`: in a case of one type, `st` has that type, and is the
        // value `s` holds when `s` is of an interface of the package (its fields are the
        // implementers', see `PackageDecls::field_type`).
        let switched = match (node.kind(), node.field(Field::Value)) {
            ("type_switch_statement", Some(v)) if !alias.is_empty() => match self.expr_type(v) {
                TypeInfo::Named(n) if self.facts.decls.interfaces.contains_key(&n) => {
                    self.place_of(v)
                }
                _ => None,
            },
            _ => None,
        };
        let entry = self.flow.clone();
        let mut flows = Vec::new();
        let mut has_default = false;
        let mut cursor = node.walk();
        let cases: Vec<_> = node
            .named_children(&mut cursor)
            .filter(|c| matches!(c.kind(), "expression_case" | "type_case" | "default_case"))
            .collect();
        for case in cases {
            has_default |= case.kind() == "default_case";
            flows.push(self.in_frame(CtlKind::Branch, |w| {
                w.scopes.push();
                let mut c = case.walk();
                let types: Vec<_> = case.children_by_field_name("type", &mut c).collect();
                let one = match (case.kind(), &types[..]) {
                    ("type_case", [ty]) if w.text(*ty) != "nil" => {
                        Some(type_of_type_node(*ty, w.src, &w.facts.decls))
                    }
                    _ => None,
                };
                for &a in &alias {
                    match &one {
                        Some(ty) => w.declare(a, ty.clone(), switched),
                        None => w.declare(a, TypeInfo::Unknown, None),
                    };
                }
                if let Some(v) = case.field(Field::Value) {
                    w.expr(v);
                }
                w.case_body(case);
                w.scopes.pop();
            }));
        }
        if !has_default {
            flows.push(entry);
        }
        self.flow = Flow::join(flows);
        self.scopes.pop();
    }

    pub(super) fn case_body(&mut self, case: Node<'a>) {
        let mut cursor = case.walk();
        let lists: Vec<_> = case
            .named_children(&mut cursor)
            .filter(|c| c.kind() == "statement_list")
            .collect();
        for list in lists {
            self.statements(list);
        }
    }

    /// For a `select` case that returns (its events from `first` on): the channels it
    /// receives from on every path before its first `return`, as its communication or a
    /// statement of its own (not one in a nested branch). `None` when it never returns
    /// (`panic`, `t.Fatal`): it waits for nothing a caller sees.
    fn received_before_return(&mut self, case: Node<'a>, first: usize) -> Option<Vec<PlaceId>> {
        let mut stack = vec![case];
        let mut first_return = None::<usize>;
        while let Some(n) = stack.pop() {
            match n.kind() {
                "func_literal" => continue,
                "return_statement" => {
                    first_return =
                        Some(first_return.map_or(n.start_byte(), |r| r.min(n.start_byte())))
                }
                _ => {}
            }
            let mut cursor = n.walk();
            stack.extend(n.named_children(&mut cursor));
        }
        let first_return = first_return?;
        // The case's own statements before the return, and its communication.
        let mut cursor = case.walk();
        let mut spans: Vec<std::ops::Range<usize>> = case
            .named_children(&mut cursor)
            .filter(|c| c.kind() == "statement_list")
            .flat_map(|list| {
                let mut c = list.walk();
                list.named_children(&mut c).collect::<Vec<_>>()
            })
            .filter(|st| {
                matches!(
                    st.kind(),
                    "expression_statement" | "assignment_statement" | "short_var_declaration"
                ) && st.end_byte() <= first_return
            })
            .map(|st| st.byte_range())
            .collect();
        spans.extend(case.field(Field::Communication).map(|c| c.byte_range()));
        Some(
            self.current().events[first..]
                .iter()
                .filter_map(|e| match e.kind {
                    EventKind::Wait { sync, .. }
                        if spans
                            .iter()
                            .any(|s| s.start <= e.span.start && e.span.end <= s.end) =>
                    {
                        Some(sync)
                    }
                    _ => None,
                })
                .collect(),
        )
    }

    pub(super) fn select_statement(&mut self, node: Node<'a>) {
        let mut flows = Vec::new();
        let mut cursor = node.walk();
        let cases: Vec<_> = node
            .named_children(&mut cursor)
            .filter(|c| matches!(c.kind(), "communication_case" | "default_case"))
            .collect();
        // The channels every case that goes on receives from: whichever case runs, the
        // select has waited on them when it ends (`case <-done:` / `case <-timeout:
        // close(stop); <-done`, or `case <-timeout: panic(…)`). At the end of an endless
        // loop, a case that goes on runs the loop again: only the cases that return leave
        // it (`for { select { case <-tick.C: …; case <-done: return } }`).
        let loop_tail = ends_endless_loop(node);
        let mut waited: Option<Vec<PlaceId>> = None;
        for case in cases {
            let first = self.current().events.len();
            flows.push(self.in_frame(CtlKind::Branch, |w| {
                w.scopes.push();
                if let Some(comm) = case.field(Field::Communication) {
                    if comm.kind() == "receive_statement" {
                        let left = Self::list(comm.field(Field::Left));
                        let right = comm.field(Field::Right);
                        if let Some(right) = right {
                            w.expr(right);
                        }
                        for (i, &l) in left.iter().enumerate() {
                            if l.kind() != "identifier" {
                                continue;
                            }
                            // `case v := <-ch`: `v` receives an element.
                            let received = right.filter(|_| i == 0);
                            let ty = received.map_or(TypeInfo::Unknown, |r| w.expr_type(r));
                            let funcs = received.and_then(|r| w.received_funcs(r));
                            if let Some(id) = w.declare(l, ty, None) {
                                w.facts.bindings[id as usize].received_from =
                                    received.and_then(|r| w.received_channel(r));
                                w.facts.bindings[id as usize].func_value = funcs;
                            }
                        }
                    } else {
                        w.statement(comm);
                    }
                }
                w.case_body(case);
                w.scopes.pop();
            }));
            // A case that never reaches the end (`case <-timeout: panic(…)`) waits for
            // nothing there; one that returns to the caller, for what it surely received
            // before (`case <-ctx.Done(): <-done; return`).
            let syncs = if flows.last().is_some_and(|f: &Flow| f.terminated) {
                match self.received_before_return(case, first) {
                    Some(syncs) => syncs,
                    None => continue,
                }
            } else if loop_tail {
                continue;
            } else {
                self.waits_since(first)
            };
            match &mut waited {
                None => waited = Some(syncs),
                Some(all) => all.retain(|s| syncs.contains(s)),
            }
        }
        if flows.is_empty() {
            return;
        }
        self.flow = Flow::join(flows);
        let mut waited = waited.unwrap_or_default();
        waited.sort_unstable();
        waited.dedup();
        for sync in waited {
            let wait = EventKind::Wait {
                sync,
                single_receive: true,
            };
            self.push_at(wait, node, node.end_byte());
        }
    }
}

/// Whether a `select` is the last statement of an endless loop (`for { … select {…} }`)
/// that nothing leaves but a `return` (no `break` of the loop itself, no `goto`).
fn ends_endless_loop(select: Node<'_>) -> bool {
    let Some(list) = select.parent().filter(|p| p.kind() == "statement_list") else {
        return false;
    };
    let last = {
        let mut cursor = list.walk();
        list.named_children(&mut cursor)
            .filter(|c| c.kind() != "comment")
            .last()
    };
    if last != Some(select) {
        return false;
    }
    let Some(body) = list.parent().filter(|b| b.kind() == "block") else {
        return false;
    };
    let Some(for_statement) = body.parent().filter(|f| f.kind() == "for_statement") else {
        return false;
    };
    if for_statement.named_child_count() != 1 {
        return false;
    }
    // (node, whether a plain `break` there ends a statement nested in the loop's body)
    let mut stack = vec![(body, false)];
    while let Some((n, nested)) = stack.pop() {
        let nested = nested
            || matches!(
                n.kind(),
                "for_statement"
                    | "select_statement"
                    | "expression_switch_statement"
                    | "type_switch_statement"
            );
        match n.kind() {
            "func_literal" => continue,
            "goto_statement" => return false,
            "break_statement" if n.named_child_count() > 0 || !nested => return false,
            _ => {}
        }
        let mut cursor = n.walk();
        stack.extend(n.named_children(&mut cursor).map(|c| (c, nested)));
    }
    true
}
