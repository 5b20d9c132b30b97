//! Statements and control flow: blocks, returns, branches, loops, switches and selects,
//! each a control frame, with the lock set flowing through them.

use super::*;

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
        self.scopes.push(Vec::new());
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
                        // queue's worker), not here.
                        Some(e) if e.kind() == "func_literal" => {
                            self.literal_func(e, &[]);
                        }
                        Some(e) => self.expr(e),
                        None => {}
                    }
                }
                let channel = node.child_by_field_name("channel");
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
                    if let Some(value) = node
                        .child_by_field_name("value")
                        .and_then(|v| self.map_place(v))
                    {
                        self.facts.sent.push((place, value));
                    }
                    // A struct literal carrying maps: `out <- Batch{Samples: s.pending}`.
                    if let Some(value) = node
                        .child_by_field_name("value")
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
        let Some(value) = send.child_by_field_name("value") else {
            return;
        };
        let mut sent = vec![value];
        let literal = match value.kind() {
            "unary_expression" => value.child_by_field_name("operand"),
            _ => Some(value),
        };
        if let Some(body) = literal
            .filter(|l| l.kind() == "composite_literal")
            .and_then(|l| l.child_by_field_name("body"))
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
        let text = self.text(value);
        let name = crate::index::semaphores::last_name(value, self.src).unwrap_or(text);
        let mentions = |n: Node<'a>| {
            self.src[n.byte_range()]
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .any(|word| word == name)
        };
        let mut next = send.next_named_sibling();
        while let Some(statement) = next {
            next = statement.next_named_sibling();
            if statement.kind() == "comment" || !mentions(statement) {
                continue;
            }
            if statement.kind() != "assignment_statement" {
                return;
            }
            let (left, right) = (
                Self::list(statement.child_by_field_name("left")),
                Self::list(statement.child_by_field_name("right")),
            );
            let ([target], [made]) = (left.as_slice(), right.as_slice()) else {
                return;
            };
            let new_map = made.kind() == "composite_literal"
                || (made.kind() == "call_expression"
                    && made
                        .child_by_field_name("function")
                        .is_some_and(|f| self.text(f) == "make"));
            if self.text(*target) != text || !new_map {
                return;
            }
            if value.kind() == "identifier" {
                if let Some(b) = self.lookup(text) {
                    self.facts.bindings[b as usize].renewed = true;
                }
            } else if let Some(place) = self.place_of(value) {
                self.facts.renewed.push(place);
            }
            return;
        }
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

    pub(super) fn if_statement(&mut self, node: Node<'a>) {
        self.scopes.push(Vec::new());
        if let Some(init) = node.child_by_field_name("initializer") {
            self.statement(init);
        }
        if let Some(cond) = node.child_by_field_name("condition") {
            self.expr(cond);
        }
        let entry = self.flow.clone();
        let gate = self.gate(node, &entry);
        // `if needLock { mu.Lock() }` (or `if !hasLock`) on a parameter: the caller says
        // whether it holds the lock already, so the code after it holds the lock either way.
        let flag = node
            .child_by_field_name("condition")
            .is_some_and(|c| self.is_flag_parameter(c))
            && node.child_by_field_name("alternative").is_none();
        let held_before = if flag {
            entry.locks.clone()
        } else {
            Vec::new()
        };
        // `if debug { ... }` with `const debug = false` is dead code.
        let dead = node
            .child_by_field_name("condition")
            .is_some_and(|c| self.is_false_constant(c));
        // `if mu.TryLock() { ... }` holds the lock in the branch taken on success.
        let try_lock = node
            .child_by_field_name("condition")
            .and_then(|c| self.try_lock(c));
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
            .child_by_field_name("condition")
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
            if let Some(b) = node.child_by_field_name("consequence").filter(|_| !dead) {
                w.block(b);
            }
        });
        // `if !t.Stop() { <-done }`: the callback either never runs or has signalled.
        let stopped_or_waited: Vec<PlaceId> = if self.stops_timer(node) {
            self.waits_since(first)
        } else {
            Vec::new()
        };
        let otherwise = match node.child_by_field_name("alternative") {
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
        let gate = gate.filter(|_| {
            then.terminated && then.exits && node.child_by_field_name("alternative").is_none()
        });
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
            .child_by_field_name("condition")
            .filter(|c| {
                c.kind() == "unary_expression" && c.child(0).is_some_and(|o| o.kind() == "!")
            })
            .and_then(|c| c.child_by_field_name("operand"))
            .filter(|call| call.kind() == "call_expression")
            .and_then(|call| call.child_by_field_name("function"))
            .and_then(|f| f.child_by_field_name("field"))
            .is_some_and(|m| self.text(m) == "Stop");
        stop_call && node.child_by_field_name("alternative").is_none()
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
                        .child_by_field_name("operator")
                        .is_some_and(|o| self.text(o) == "!") =>
                {
                    positive = !positive;
                    cur.child_by_field_name("operand")?
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
                    if c.child_by_field_name("operator")
                        .is_some_and(|o| self.text(o) == "!") =>
                {
                    c.child_by_field_name("operand")
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
        let cond = node.child_by_field_name("condition")?;
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
                        .child_by_field_name("operator")
                        .is_some_and(|o| self.text(o) == "!") =>
                {
                    success = !success;
                    cur = cur.child_by_field_name("operand")?;
                }
                _ => break,
            }
        }
        if cur.kind() != "call_expression"
            || cur
                .child_by_field_name("arguments")
                .is_some_and(|a| a.named_child_count() > 0)
        {
            return None;
        }
        let function = cur.child_by_field_name("function")?;
        if function.kind() != "selector_expression" {
            return None;
        }
        let mode = match self.text(function.child_by_field_name("field")?) {
            "TryLock" => LockMode::Exclusive,
            "TryRLock" => LockMode::Read,
            _ => return None,
        };
        let place = self.lock_place(function.child_by_field_name("operand")?)?;
        Some((cur, place, mode, success))
    }

    /// Whether `cond` names a package constant declared `false`.
    pub(super) fn is_false_constant(&self, cond: Node<'_>) -> bool {
        cond.kind() == "identifier"
            && self.lookup(self.text(cond)).is_none()
            && self.facts.decls.false_consts.contains(self.text(cond))
    }

    pub(super) fn for_statement(&mut self, node: Node<'a>) {
        self.scopes.push(Vec::new());
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
                if let Some(init) = clause.child_by_field_name("initializer") {
                    self.statement(init);
                }
                loop_parts.extend(clause.child_by_field_name("condition"));
                loop_parts.extend(clause.child_by_field_name("update"));
            }
            Some(("range_clause", clause)) => {
                range_left = Self::list(clause.child_by_field_name("left"));
                range_right = clause.child_by_field_name("right");
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
            w.scopes.push(Vec::new());
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
                    let body = node.child_by_field_name("body");
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
                        let funcs = (i == value_index && received.is_none() && may_be_func)
                            .then(|| w.func_list(right))
                            .flatten();
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
            if let Some(body) = node.child_by_field_name("body") {
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
                        && parent.child_by_field_name("operand") == Some(node);
                    if !selected {
                        return false;
                    }
                    let method = parent
                        .child_by_field_name("field")
                        .map(|f| self.text(f))
                        .unwrap_or_default();
                    let called = parent
                        .parent()
                        .is_some_and(|p| p.kind() == "call_expression");
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

    pub(super) fn switch_statement(&mut self, node: Node<'a>) {
        self.scopes.push(Vec::new());
        if let Some(init) = node.child_by_field_name("initializer") {
            self.statement(init);
        }
        if let Some(value) = node.child_by_field_name("value") {
            self.expr(value);
        }
        let alias = Self::list(node.child_by_field_name("alias"));
        // `switch st := s.(type)`: in a case of one type, `st` has that type, and is the
        // value `s` holds when `s` is of an interface of the package (its fields are the
        // implementers', see `PackageDecls::field_type`).
        let switched = match (node.kind(), node.child_by_field_name("value")) {
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
                w.scopes.push(Vec::new());
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
                if let Some(v) = case.child_by_field_name("value") {
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
        spans.extend(
            case.child_by_field_name("communication")
                .map(|c| c.byte_range()),
        );
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
        // close(stop); <-done`, or `case <-timeout: panic(…)`).
        let mut waited: Option<Vec<PlaceId>> = None;
        for case in cases {
            let first = self.current().events.len();
            flows.push(self.in_frame(CtlKind::Branch, |w| {
                w.scopes.push(Vec::new());
                if let Some(comm) = case.child_by_field_name("communication") {
                    if comm.kind() == "receive_statement" {
                        let left = Self::list(comm.child_by_field_name("left"));
                        let right = comm.child_by_field_name("right");
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
                            if let Some(id) = w.declare(l, ty, None) {
                                w.facts.bindings[id as usize].received_from =
                                    received.and_then(|r| w.received_channel(r));
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
