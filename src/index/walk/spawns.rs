//! Goroutines and deferred calls: `go` statements, APIs that run a function on another
//! goroutine, and what a `defer` runs at the function's end.

use super::*;
use crate::fields::{Field, FieldExt};

impl<'a> Walker<'a, '_> {
    pub(super) fn go_statement(&mut self, stmt: Node<'a>, call: Node<'a>) {
        if call.kind() != "call_expression" {
            self.expr(call);
            return;
        }
        let args = Self::arguments(call);
        let Some(function) = call.field(Field::Function) else {
            return;
        };
        self.handed_on = args
            .iter()
            .filter(|&&a| self.renewed_after(stmt, a))
            .map(|a| a.start_byte())
            .collect();
        // A function literal handed to the goroutine's function (`go run(name, func() {...})`)
        // runs on that goroutine, not in the spawner: it is a goroutine started here, with
        // what `run` passes it when it calls it (`go run(st, func(s *store) {...})`).
        let passed = self.passed_args(function, &args);
        let mut literals = Vec::new();
        let mut handed = Vec::new();
        for (i, &a) in args.iter().enumerate() {
            if a.kind() == "func_literal" {
                let bound = passed.get(i).map_or(&[][..], Vec::as_slice);
                let body = self.literal_func(a, bound);
                literals.push(body);
                handed.push((body, i));
            } else {
                self.expr(a);
            }
        }
        let go_literal = function.kind() == "func_literal";
        // A function that signals a WaitGroup parameter as it returns signals it after the
        // literals it was handed: `go run(&wg, func() {...})` with `defer wg.Done()` in `run`.
        let name = self.text(function);
        let signals = (function.kind() == "identifier" && self.lookup(name).is_none())
            .then(|| self.facts.decls.done_params.get(name))
            .flatten()
            .and_then(|&index| args.get(index).copied())
            .and_then(|wg| self.place_of(wg));
        if go_literal {
            // Read as the literal declares its parameters, and cleared then.
            self.spawning_args = true;
            self.inherited_latches = self
                .latched
                .iter()
                .copied()
                .filter(|l| self.flow.locks.iter().any(|&(p, _)| p == *l))
                .collect();
            self.pending_own_indices = self
                .innermost_loop_vars(stmt)
                .into_iter()
                .filter_map(|name| self.lookup(name))
                .collect();
            literals.push(self.literal_func(function, &args));
        }
        for body in literals {
            self.spawn(
                stmt,
                Target::literal(body),
                SpawnVia::GoStatement,
                signals,
                false,
            );
        }
        if go_literal {
            return;
        }
        if let Some(operand) = function.field(Field::Operand) {
            self.expr(operand);
        }
        if let Some(mut target) = self.func_target(function, &args) {
            for (i, &a) in args.iter().enumerate() {
                if self.goroutines_own(a) {
                    target.args[i] = None;
                }
            }
            // `go shards[i].run()`: the receiver is the iteration's own element too.
            if function
                .field(Field::Operand)
                .is_some_and(|operand| self.loop_element(operand))
            {
                target.receiver = None;
            }
            for (body, i) in handed {
                self.facts.spawned_literals.push((body, target.clone(), i));
            }
            self.spawn(stmt, target, SpawnVia::GoStatement, None, false);
        }
    }

    /// Whether a `go` statement's argument is storage the goroutine has for its own: a
    /// loop's own element (`loop_element`), or a map given a new one right after the
    /// statement (`handed_on`).
    pub(super) fn goroutines_own(&self, arg: Node<'a>) -> bool {
        self.loop_element(arg) || self.handed_on.contains(&arg.start_byte())
    }

    /// Whether an argument is the element a loop's own variable selects (`units[i]`,
    /// `&syms[i]` in `for i := …` or `for i := range …`): each iteration's goroutine gets
    /// another element, which one abstract element would make one.
    pub(super) fn loop_element(&self, arg: Node<'a>) -> bool {
        let mut expr = arg;
        while matches!(expr.kind(), "parenthesized_expression" | "unary_expression") {
            let inner = match expr.kind() {
                "unary_expression" => expr.field(Field::Operand),
                _ => expr.named_child(0),
            };
            let Some(inner) = inner else {
                return false;
            };
            expr = inner;
        }
        let Some(index) = expr
            .field(Field::Index)
            .filter(|i| expr.kind() == "index_expression" && i.kind() == "identifier")
        else {
            return false;
        };
        let name = self.text(index);
        let mut cur = expr.parent();
        while let Some(node) = cur {
            match node.kind() {
                "function_declaration" | "method_declaration" | "func_literal" => return false,
                "for_statement" if self.loop_vars(node).contains(&name) => return true,
                _ => {}
            }
            cur = node.parent();
        }
        false
    }

    /// The names the innermost loop around `node` declares in its header, within the
    /// function holding `node`.
    pub(super) fn innermost_loop_vars(&self, node: Node<'a>) -> Vec<&'a str> {
        let mut cur = node.parent();
        while let Some(n) = cur {
            match n.kind() {
                "function_declaration" | "method_declaration" | "func_literal" => break,
                "for_statement" => return self.loop_vars(n),
                _ => {}
            }
            cur = n.parent();
        }
        Vec::new()
    }

    /// The names a `for` statement declares in its header: `i` of `for i := …`, `k, v` of
    /// `for k, v := range …`.
    fn loop_vars(&self, for_statement: Node<'a>) -> Vec<&'a str> {
        let left = for_statement.named_child(0).and_then(|h| match h.kind() {
            "range_clause" => h.field(Field::Left),
            "for_clause" => h
                .field(Field::Initializer)
                .and_then(|i| i.field(Field::Left)),
            _ => None,
        });
        let Some(left) = left else {
            return Vec::new();
        };
        if left.kind() == "identifier" {
            return vec![self.text(left)];
        }
        let mut c = left.walk();
        left.named_children(&mut c)
            .filter(|n| n.kind() == "identifier")
            .map(|n| self.text(n))
            .collect()
    }

    /// Records a goroutine running `target`. It starts after the call's arguments are
    /// evaluated: at the end of `site`.
    pub(super) fn spawn(
        &mut self,
        site: Node<'a>,
        target: Target,
        via: SpawnVia,
        signals: Option<PlaceId>,
        repeated: bool,
    ) {
        let after_return = matches!(&via, SpawnVia::Api(api) if api.ends_with(".Run"));
        self.push_at(
            EventKind::Spawn {
                target,
                via,
                signals,
                repeated,
                after_return,
            },
            site,
            site.end_byte(),
        );
    }

    /// A function value handed to an API that runs it on another goroutine.
    pub(super) fn spawn_function_arg(
        &mut self,
        site: Node<'a>,
        function: Node<'a>,
        via: SpawnVia,
        signals: Option<PlaceId>,
        repeated: bool,
    ) {
        let target = if function.kind() == "func_literal" {
            Some(Target::literal(self.literal_func(function, &[])))
        } else {
            // A function's name is no access (and handing it over is this spawn).
            if function.kind() != "identifier" {
                self.expr(function);
            }
            self.handler_value(function)
                .or_else(|| self.func_target(function, &[]))
        };
        if let Some(target) = target {
            self.spawn(site, target, via, signals, repeated);
        }
    }

    /// A variable of a package type with a `ServeHTTP` method handed to a server
    /// (`httptest.NewServer(s)`, `mux.Handle("/", s)`): that method on the value, which
    /// the server runs for every request. (A value made in place is served by the
    /// method as a handler of its own, see `Func::handler`.)
    pub(super) fn handler_value(&mut self, value: Node<'a>) -> Option<Target> {
        let TypeInfo::Named(ty) = self.expr_type(value) else {
            return None;
        };
        let (owner, path) = self.facts.decls.method_owner(&ty, "ServeHTTP")?;
        let mut receiver = self.place_of(value)?;
        for field in path {
            receiver = self.facts.select(receiver, &field);
        }
        Some(Target {
            callee: Callee::Method(owner, "ServeHTTP".to_string()),
            receiver: Some(receiver),
            args: Vec::new(),
        })
    }

    /// Walks a function literal as a body of its own (a goroutine, or a function stored in
    /// a variable), with `args` bound to its parameters.
    pub(super) fn literal_func(&mut self, literal: Node<'a>, args: &[Node<'a>]) -> FuncId {
        self.literal_count += 1;
        let name = format!("{}.func{}", self.top_name, self.literal_count);
        let func = self.new_func(name, literal, false);
        let own_indices = std::mem::take(&mut self.pending_own_indices);
        let saved = self.enter(func);
        self.own_indices = own_indices;
        for latch in std::mem::take(&mut self.inherited_latches) {
            self.latched.push(latch);
            self.flow.lock(latch, LockMode::Latch);
        }
        self.scopes.push();
        if let Some(list) = literal.field(Field::Parameters) {
            let params = self.parameters(list, args);
            let is_handler = handler_shaped(list, self.src);
            let current = self.current();
            current.params = params;
            current.handler = is_handler.then_some(Serves::Http);
        }
        self.spawning_args = false;
        let deferred_before = self.deferred_unlocks.len();
        if let Some(body) = literal.field(Field::Body) {
            self.block(body);
        }
        // A literal stored in a variable may be a lock helper (`lock := func() { if
        // needLock { mu.Lock() } }`): calling it takes the locks it may leave held, but
        // not those it unlocks, at once or deferred.
        let deferred = self.deferred_unlocks[deferred_before..].to_vec();
        let mut acquires: LockSet = Vec::new();
        for event in &self.current().events {
            match event.kind {
                EventKind::Lock { place, mode } => {
                    acquires.retain(|&(p, _)| p != place);
                    acquires.push((place, mode));
                }
                EventKind::Unlock { place } => acquires.retain(|&(p, _)| p != place),
                _ => {}
            }
        }
        acquires.retain(|(p, _)| !deferred.contains(p));
        self.current().lock_effect.acquires = acquires;
        self.scopes.pop();
        self.leave(saved);
        func
    }

    /// The functions a list of functions holds, as the field keeping them (`l.hooks`, a
    /// variable copied from it, `append([]func(){}, l.hooks...)`, an element of a map of
    /// lists, `b.handlers[topic]`): calling an element runs
    /// what the package registers there (`PackageFacts::field_funcs`).
    pub(super) fn func_list(&mut self, expr: Node<'a>) -> Option<Target> {
        match expr.kind() {
            "identifier" => {
                let b = self.lookup(self.text(expr))?;
                self.facts.bindings[b as usize].func_value.clone()
            }
            "selector_expression" => {
                self.func_field_of(expr)?;
                self.func_target(expr, &[])
            }
            // `b.handlers[topic]` of a map or slice of (lists of) functions; `routes[path]`
            // of a package variable holding a table of functions.
            "index_expression" => {
                let operand = expr.field(Field::Operand)?;
                match operand.kind() {
                    "selector_expression" => self.func_list(operand),
                    "identifier" => {
                        let (ty, table) = self.func_table_of(expr)?;
                        Some(Target {
                            callee: Callee::Method(ty, table),
                            receiver: None,
                            args: Vec::new(),
                        })
                    }
                    _ => None,
                }
            }
            // `for _, h := range b.snapshot()`: a method of a type that registers functions in
            // one field, returning a slice, returns (a copy of) that list.
            "call_expression"
                if expr
                    .field(Field::Function)
                    .is_some_and(|f| f.kind() == "selector_expression") =>
            {
                let function = expr.field(Field::Function)?;
                let operand = function.field(Field::Operand)?;
                let method = self.text(function.field(Field::Field)?).to_string();
                let TypeInfo::Named(ty) = self.expr_type(operand) else {
                    return None;
                };
                let key = (ty.clone(), method);
                if !matches!(
                    self.facts.decls.method_results.get(&key),
                    Some(TypeInfo::Slice(..))
                ) {
                    return None;
                }
                let mut fields = self
                    .facts
                    .decls
                    .registrations
                    .iter()
                    .filter(|((owner, _), _)| *owner == ty)
                    .flat_map(|(_, stored)| {
                        stored
                            .iter()
                            .filter(|r| r.owner.is_none())
                            .map(|r| &r.field)
                    })
                    .collect::<Vec<_>>();
                fields.sort();
                fields.dedup();
                let [field] = fields.as_slice() else {
                    return None;
                };
                Some(Target {
                    callee: Callee::Method(ty.clone(), field.to_string()),
                    receiver: self.place_of(operand),
                    args: Vec::new(),
                })
            }
            "call_expression"
                if expr
                    .field(Field::Function)
                    .is_some_and(|f| self.text(f) == "append") =>
            {
                let args = expr.field(Field::Arguments)?;
                let mut cursor = args.walk();
                let last = args.named_children(&mut cursor).last()?;
                let spread = match last.kind() {
                    "variadic_argument" => last.named_child(0)?,
                    _ => return None,
                };
                self.func_list(spread)
            }
            _ => None,
        }
    }

    /// The package function or method an expression denotes, with the places bound to its
    /// receiver and to `args`.
    pub(super) fn func_target(&mut self, function: Node<'a>, args: &[Node<'a>]) -> Option<Target> {
        // `(*T).m(x, a)` calls `x.m(a)`.
        if let (Some((ty, method)), [receiver, rest @ ..]) = (
            (function.kind() == "selector_expression")
                .then(|| self.method_expression(function))
                .flatten(),
            args,
        ) {
            return Some(Target {
                callee: Callee::Method(ty, method),
                receiver: self.place_of(*receiver),
                args: rest.iter().map(|&a| self.place_of(a)).collect(),
            });
        }
        let (callee, receiver) = self.callee_of(function)?;
        let args = args
            .iter()
            .map(|&a| self.place_of(a).or_else(|| self.made_in_place(a)))
            .collect();
        Some(Target {
            callee,
            receiver,
            args,
        })
    }

    /// A struct literal handed to a call (`Create(&Config{Events: &delegate{serf: s}})`):
    /// a variable of no name standing for the new object, whose fields are the storage the
    /// literal put there. None when it puts none.
    fn made_in_place(&mut self, arg: Node<'a>) -> Option<PlaceId> {
        let field_aliases = self.literal_fields(arg);
        if field_aliases.is_empty() {
            return None;
        }
        let ty = self.expr_type(arg);
        let mut binding = Binding::new(
            self.text(arg)
                .chars()
                .take_while(|&c| c != '{')
                .collect::<String>()
                + "{…}",
            Some(self.func),
            self.ctl,
            ty,
            self.file,
            arg.start_byte(),
        );
        binding.fresh = true;
        binding.field_aliases = field_aliases;
        let root = self.facts.bindings.len() as BindingId;
        self.facts.bindings.push(binding);
        Some(self.facts.intern_place(Place {
            root,
            fields: Vec::new(),
        }))
    }

    pub(super) fn callee_of(&mut self, function: Node<'a>) -> Option<(Callee, Option<PlaceId>)> {
        let mut function = function;
        while function.kind() == "parenthesized_expression" {
            function = function.named_child(0)?;
        }
        match function.kind() {
            "identifier" => {
                let name = self.text(function);
                match self.lookup(name) {
                    // A value of a function type of the package (`opt(cfg)` of an
                    // `Option`) runs one of the literals the package returns as that type.
                    Some(b) => {
                        let binding = &self.facts.bindings[b as usize];
                        match (&binding.func_value, &binding.ty) {
                            (Some(t), _) => Some((t.callee.clone(), t.receiver)),
                            (None, TypeInfo::Named(ty))
                                if self.facts.decls.func_types.contains(ty) =>
                            {
                                Some((Callee::Method(ty.clone(), String::new()), None))
                            }
                            _ => None,
                        }
                    }
                    None => self
                        .facts
                        .decls
                        .funcs
                        .contains(name)
                        .then(|| (Callee::Func(name.to_string()), None)),
                }
            }
            "selector_expression" => {
                if let Some((ty, method)) = self.method_expression(function) {
                    return Some((Callee::Method(ty, method), None));
                }
                let operand = function.field(Field::Operand)?;
                let method = self.text(function.field(Field::Field)?);
                let ty = match self.expr_type(operand) {
                    TypeInfo::Named(ty)
                    | TypeInfo::Map { name: Some(ty), .. }
                    | TypeInfo::Slice(_, Some(ty)) => ty,
                    _ => return None,
                };
                // A call through an interface of the package reaches its one implementation;
                // a call of a function-valued field, what the package stores in it.
                let (owner, path) = match self.facts.decls.method_owner(&ty, method) {
                    Some(found) => found,
                    None => match self.facts.decls.sole_implementer(&ty, method) {
                        Some(implementer) => (implementer.to_string(), Vec::new()),
                        None if self.is_field(&ty, method) => (ty, Vec::new()),
                        // One of several implementers: which, once every body is walked
                        // (`PackageFacts::dispatch`).
                        None if self.facts.decls.interfaces.contains_key(&ty) => (ty, Vec::new()),
                        None => return None,
                    },
                };
                let mut receiver = self.place_of(operand);
                for field in path {
                    receiver = receiver.map(|r| self.facts.select(r, &field));
                }
                Some((Callee::Method(owner, method.to_string()), receiver))
            }
            // `makeHandler(m)`: the function the call returns.
            "call_expression" => {
                let (from, _) = self.callee_of(function.field(Field::Function)?)?;
                let site = self.call_event(function).map(|e| (self.func, e));
                Some((
                    Callee::Returned {
                        from: Box::new(from),
                        index: 0,
                        site,
                    },
                    None,
                ))
            }
            _ => None,
        }
    }

    /// The method a method expression names (`(*Index).forget`, `Index.size`): its receiver
    /// is the first argument of each call of the value.
    pub(super) fn method_expression(&self, function: Node<'a>) -> Option<(String, String)> {
        let mut operand = function.field(Field::Operand)?;
        while operand.kind() == "parenthesized_expression" {
            operand = operand.named_child(0)?;
        }
        if operand.kind() == "unary_expression" && operand.child(0).is_some_and(|o| o.kind() == "*")
        {
            operand = operand.field(Field::Operand)?;
        }
        if operand.kind() != "identifier" {
            return None;
        }
        let ty = self.text(operand);
        let method = self.text(function.field(Field::Field)?);
        let declared = self.lookup(ty).is_none()
            && self
                .facts
                .decls
                .methods
                .get(ty)
                .is_some_and(|m| m.contains(method));
        declared.then(|| (ty.to_string(), method.to_string()))
    }

    /// A method expression handed to a call as argument `index` (`forEach(ix, words,
    /// (*Index).forget)`), run on the receiver [`Self::method_expression_receiver`] finds.
    pub(super) fn method_expression_target(
        &mut self,
        arg: Node<'a>,
        args: &[Node<'a>],
        index: usize,
    ) -> Option<Target> {
        if arg.kind() != "selector_expression" {
            return None;
        }
        let (ty, method) = self.method_expression(arg)?;
        Some(Target {
            receiver: self.method_expression_receiver(&ty, args, index),
            callee: Callee::Method(ty, method),
            args: Vec::new(),
        })
    }

    /// The receiver a method expression handed to a call works on: the call's one other
    /// argument of the method's type (`forEach(ix, words, (*Index).forget)`).
    fn method_expression_receiver(
        &mut self,
        ty: &str,
        args: &[Node<'a>],
        skip: usize,
    ) -> Option<PlaceId> {
        let mut of_type = args
            .iter()
            .enumerate()
            .filter(|&(i, &a)| {
                i != skip && matches!(self.expr_type(a), TypeInfo::Named(t) if t == ty)
            })
            .map(|(_, &a)| a);
        let (Some(arg), None) = (of_type.next(), of_type.next()) else {
            return None;
        };
        self.place_of(arg)
    }

    /// `defer f(args)`: the arguments are evaluated now, the call runs when the body returns.
    pub(super) fn defer_statement(&mut self, call: Node<'a>) {
        self.flow.deferred = true;
        let outer_ctl = self.ctl;
        let outer_mode = self.defer_mode;
        if call.kind() == "call_expression" {
            for a in Self::arguments(call) {
                self.expr(a);
            }
            // `defer s.lock()()`: the call giving the deferred function runs now.
            if let Some(function) = call
                .field(Field::Function)
                .filter(|f| f.kind() == "call_expression")
            {
                self.expr(function);
                return;
            }
        }
        self.defer_mode = Some(outer_mode.unwrap_or(self.defer_target));
        // Deferred code runs however the body returns: it belongs to no loop or branch.
        self.ctl = 0;
        let entry_locks = self.flow.locks.clone();
        let first = self.current().events.len();
        self.in_deferred_call = true;
        self.deferred_call(call);
        self.in_deferred_call = false;
        let events = first..self.current().events.len();
        if let Some(mode) = self.defer_mode {
            let held = entry_locks.iter().map(|&(p, _)| p).collect();
            self.deferred_calls.push((self.func, mode, held, events));
        }
        self.flow.locks = entry_locks;
        self.ctl = outer_ctl;
        self.defer_mode = outer_mode;
    }

    pub(super) fn deferred_call(&mut self, call: Node<'a>) {
        if call.kind() != "call_expression" {
            self.expr(call);
            return;
        }
        match call.field(Field::Function) {
            Some(f) if f.kind() == "func_literal" => self.inline_literal(f, &Self::arguments(call)),
            // Arguments were evaluated at the defer statement; only the call itself is late.
            _ => self.call(call, false),
        }
    }

    /// A function literal that runs on the current goroutine (called here, later, or by a
    /// callee): its events belong to the enclosing body, in a branch of their own.
    pub(super) fn inline_literal(&mut self, literal: Node<'a>, args: &[Node<'a>]) {
        let outer_target = self.defer_target;
        let outer_deferred_call = std::mem::take(&mut self.in_deferred_call);
        self.defer_target = DeferMode::LiteralEnd(literal.end_byte());
        self.inline_literals += 1;
        self.in_frame(CtlKind::Branch, |w| {
            w.scopes.push();
            if let Some(params) = literal.field(Field::Parameters) {
                let bindings = w.parameters(params, args);
                w.literal_params.insert(literal.start_byte(), bindings);
            }
            if let Some(body) = literal.field(Field::Body) {
                w.block(body);
            }
            w.scopes.pop();
        });
        self.inline_literals -= 1;
        self.defer_target = outer_target;
        self.in_deferred_call = outer_deferred_call;
    }
}
