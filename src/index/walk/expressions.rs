//! Expressions and calls: map accesses, lock operations, calls of the package's functions,
//! of known APIs and of the module's other packages.

use super::*;

/// Methods of loggers that format their arguments as `fmt` does.
const FORMATTING_METHODS: &[&str] = &[
    "Print", "Printf", "Println", "Fatal", "Fatalf", "Fatalln", "Panic", "Panicf", "Panicln",
    "Log", "Logf", "Infof", "Warnf", "Warningf", "Errorf", "Debugf", "Tracef",
];

impl<'a> Walker<'a, '_> {
    pub(super) fn arguments(call: Node<'a>) -> Vec<Node<'a>> {
        let Some(args) = call.child_by_field_name("arguments") else {
            return Vec::new();
        };
        let mut cursor = args.walk();
        args.named_children(&mut cursor)
            .filter(|n| n.kind() != "comment")
            .map(|n| match n.kind() {
                "variadic_argument" => n.named_child(0).unwrap_or(n),
                _ => n,
            })
            .collect()
    }

    /// Walks an expression evaluated for its value.
    pub(super) fn expr(&mut self, node: Node<'a>) {
        if !self.enter_nesting(node) {
            return;
        }
        match node.kind() {
            "identifier" if self.is_handler_func(node) => {
                self.spawn_function_arg(node, node, SpawnVia::Served, None, true);
            }
            "identifier"
            | "comment"
            | "interpreted_string_literal"
            | "raw_string_literal"
            | "int_literal"
            | "float_literal"
            | "rune_literal"
            | "nil"
            | "true"
            | "false" => {}
            "index_expression" => self.index_access(node, AccessOp::Index),
            "call_expression" => self.call(node, true),
            // A request handler as a value (`http.HandlerFunc(func(w, r) {…})`, a route's
            // handler) is handed to a server here, which runs it per request.
            "func_literal" if self.is_handler_literal(node) => {
                self.spawn_function_arg(node, node, SpawnVia::Served, None, true);
            }
            "func_literal" => {
                let args = self.literal_args.remove(&node.start_byte());
                self.inline_literal(node, args.as_deref().unwrap_or_default());
            }
            "composite_literal" => {
                if let Some(ty) = node.child_by_field_name("type") {
                    self.instantiated(ty);
                }
                if let Some(body) = node.child_by_field_name("body") {
                    self.composite_body(body);
                }
            }
            "unary_expression" => {
                if let Some(operand) = node.child_by_field_name("operand") {
                    self.expr(operand);
                    let is_receive = node
                        .child_by_field_name("operator")
                        .is_some_and(|o| self.text(o) == "<-");
                    if is_receive {
                        if let Some(place) = self.place_of(operand) {
                            self.push(
                                EventKind::Wait {
                                    sync: place,
                                    single_receive: true,
                                },
                                node,
                            );
                            // Leaving a one-slot channel entered as a mutex, or taking a
                            // token.
                            if self.flow.locks.iter().any(|&(p, _)| p == place) {
                                self.push(EventKind::Unlock { place }, node);
                                self.flow.unlock(place);
                            } else if self.is_token(operand) && takes_token(node) {
                                let mode = LockMode::Exclusive;
                                self.push(EventKind::Lock { place, mode }, node);
                                self.flow.lock(place, mode);
                            }
                        }
                    }
                }
            }
            "selector_expression" => {
                if let Some(operand) = node.child_by_field_name("operand") {
                    self.expr(operand);
                }
            }
            _ => {
                let mut cursor = node.walk();
                let children: Vec<_> = node.named_children(&mut cursor).collect();
                for child in children {
                    self.expr(child);
                }
            }
        }
        self.depth -= 1;
    }

    /// The elements of a composite literal. A function literal stored in a field
    /// (`Handler{Filter: func(…) bool {…}}`) runs whenever its holder calls it, maybe on
    /// another goroutine once the object is shared: a function of its own, not code run in
    /// place.
    fn composite_body(&mut self, body: Node<'a>) {
        let mut cursor = body.walk();
        let elements: Vec<_> = body.named_children(&mut cursor).collect();
        // `&Bus{onEvent: func(e Event) {…}}`: the type's field holds that callback.
        let ty = body
            .parent()
            .and_then(|l| l.child_by_field_name("type"))
            .map(|t| self.text(t).to_string())
            .filter(|t| self.facts.decls.structs.contains_key(t));
        for element in elements {
            let value = element
                .child_by_field_name("value")
                .and_then(|v| v.named_child(0))
                .filter(|v| element.kind() == "keyed_element" && v.kind() == "func_literal");
            match value {
                Some(literal) => {
                    let body = self.literal_func(literal, &[]);
                    let key = element
                        .child_by_field_name("key")
                        .and_then(|k| k.named_child(0))
                        .map(|k| self.text(k).to_string());
                    if let (Some(ty), Some(field)) = (&ty, key) {
                        if self.is_field(ty, &field) {
                            self.store_field_func((ty.clone(), field), Callee::Literal(body), None);
                        }
                    }
                }
                None => self.expr(element),
            }
        }
    }

    /// `x[i]` read or written: an access when `x` is a map, otherwise an ordinary expression.
    pub(super) fn index_access(&mut self, node: Node<'a>, op: AccessOp) {
        if let Some(operand) = node.child_by_field_name("operand") {
            self.access_or_expr(operand, op, node);
        }
        if let Some(index) = node.child_by_field_name("index") {
            self.expr(index);
        }
    }

    /// Records `op` on the map `target` denotes, or walks `target` when it is no known map.
    /// An element map (`m[a]` in `m[a][b] = v`) is also a read of the map holding it.
    pub(super) fn access_or_expr(&mut self, target: Node<'a>, op: AccessOp, site: Node<'a>) {
        match self.map_place(target) {
            Some(place) => {
                let via = self.last_via;
                if matches!(target.kind(), "index_expression" | "call_expression") {
                    self.expr(target);
                }
                self.push_access(place, op, target, site, via);
            }
            None => self.expr(target),
        }
    }

    /// A call; `with_args` is false for a deferred call whose arguments were already walked.
    pub(super) fn call(&mut self, call: Node<'a>, with_args: bool) {
        let args = Self::arguments(call);
        let Some(function) = call.child_by_field_name("function") else {
            return;
        };
        self.service_registration(function, &args);
        self.formatted_stringers(call, function, &args);
        self.literals_called_in_place(function, &args);
        let walk_args = |w: &mut Self, skip: usize| {
            if with_args {
                for &a in args.iter().skip(skip) {
                    w.expr(a);
                }
            }
        };
        match function.kind() {
            "identifier" if self.lookup(self.text(function)).is_none() => {
                match self.text(function) {
                    "delete" | "clear" | "len" if !args.is_empty() => {
                        let op = match self.text(function) {
                            "delete" => AccessOp::Delete,
                            "clear" => AccessOp::Clear,
                            _ => AccessOp::Len,
                        };
                        self.access_or_expr(args[0], op, call);
                        walk_args(self, 1);
                    }
                    "close" if !args.is_empty() => {
                        walk_args(self, 0);
                        if let Some(place) = self.place_of(args[0]) {
                            self.push(EventKind::Signal { sync: place }, call);
                        }
                    }
                    // `new(expr)` (Go 1.26) evaluates its argument; a type is not walked.
                    "new" if args.first().is_some_and(|a| !decls::is_type_node(*a)) => {
                        walk_args(self, 0);
                    }
                    "new" => {
                        if let Some(&ty) = args.first() {
                            self.instantiated(ty);
                        }
                    }
                    "make" => walk_args(self, 1),
                    "panic" => {
                        walk_args(self, 0);
                        self.flow.exit();
                    }
                    name if self.facts.decls.spawning.contains_key(name) => {
                        self.call_spawning(call, function, name, &args, with_args);
                    }
                    _ => {
                        walk_args(self, 0);
                        self.record_call(call, function, &args);
                    }
                }
            }
            "selector_expression" => self.selector_call(call, function, &args, with_args),
            "func_literal" => {
                walk_args(self, 0);
                self.inline_literal(function, &args);
            }
            _ => {
                self.expr(function);
                walk_args(self, 0);
                self.record_call(call, function, &args);
            }
        }
    }

    /// The operand and the selected name of a selector `x.f`, and the import path when `x`
    /// names an imported package.
    fn selector(&self, function: Node<'a>) -> Option<(Node<'a>, &'a str, Option<String>)> {
        let operand = function.child_by_field_name("operand")?;
        let field = function.child_by_field_name("field")?;
        let package = (operand.kind() == "identifier" && self.lookup(self.text(operand)).is_none())
            .then(|| self.imports.get(self.text(operand)).cloned())
            .flatten();
        Some((operand, self.text(field), package))
    }

    /// `fmt.Sprintf("%v", s)`, `log.Println(s)`, `logger.Printf(…, s)`: formatting a value
    /// of a type of the package with a `String` method calls that method on it.
    fn formatted_stringers(&mut self, call: Node<'a>, function: Node<'a>, args: &[Node<'a>]) {
        let Some((operand, name, package)) = self.selector(function) else {
            return;
        };
        let formats = match package.as_deref() {
            Some("fmt") => !name.contains("Scan"),
            Some("log") => ["Print", "Fatal", "Panic"]
                .iter()
                .any(|p| name.starts_with(p)),
            Some(_) => false,
            // A logger's method, unless the package declares it.
            None => {
                FORMATTING_METHODS.contains(&name)
                    && match self.expr_type(operand) {
                        TypeInfo::Named(ty) => self.facts.decls.method_owner(&ty, name).is_none(),
                        _ => true,
                    }
            }
        };
        if !formats {
            return;
        }
        for &arg in args {
            let TypeInfo::Named(ty) = self.expr_type(arg) else {
                continue;
            };
            let Some((owner, path)) = self.facts.decls.method_owner(&ty, "String") else {
                continue;
            };
            let receiver = self
                .place_of(arg)
                .map(|r| path.iter().fold(r, |p, f| self.facts.select(p, f)));
            let target = Target {
                callee: Callee::Method(owner, "String".to_string()),
                receiver,
                args: Vec::new(),
            };
            let kind = EventKind::Call {
                target,
                literals: Vec::new(),
                passed: None,
            };
            self.push_at(kind, call, call.end_byte());
        }
    }

    /// Notes the type of the service a `Register…Server(s, impl)` call registers.
    pub(super) fn service_registration(&mut self, function: Node<'a>, args: &[Node<'a>]) {
        let name = match function.kind() {
            "selector_expression" => function.child_by_field_name("field"),
            _ => Some(function),
        };
        if !name.is_some_and(|n| rpc::registers_service(self.text(n), args.len())) {
            return;
        }
        if let TypeInfo::Named(ty) = self.expr_type(args[1]) {
            self.facts.registered_services.insert(ty);
        }
    }

    /// A call of a package function or method that runs function arguments on other
    /// goroutines (`parallel(func() {...}, func() {...})`, `s.startGoRoutine(func() {...})`),
    /// named `name` in `decls.spawning`: each such argument starts a goroutine at the call,
    /// joined when the call returns if the function waits for its goroutines.
    pub(super) fn call_spawning(
        &mut self,
        call: Node<'a>,
        function: Node<'a>,
        name: &str,
        args: &[Node<'a>],
        with_args: bool,
    ) {
        let spawning = self.facts.decls.spawning[name].clone();
        let join = spawning.waits.then(|| self.join_place(name, call));
        // `s.startGoRoutine(f)` running `f` in `go func() { defer s.grWG.Done(); f() }()`.
        let done = spawning.done_field.as_ref().and_then(|path| {
            let operand = function
                .child_by_field_name("operand")
                .filter(|_| function.kind() == "selector_expression")?;
            let base = self.place_of(operand)?;
            let mut place = self.facts.places[base as usize].clone();
            place.fields.extend(path.iter().cloned());
            Some(self.facts.intern_place(place))
        });
        let signals = join.or(done);
        for (i, &arg) in args.iter().enumerate() {
            if spawning.runs(i) {
                let via = SpawnVia::Api(name.to_string());
                if let Some(target) = self.method_expression_target(arg, args, i) {
                    self.spawn(arg, target, via, signals, spawning.repeated);
                    continue;
                }
                self.spawn_function_arg(arg, arg, via, signals, spawning.repeated);
            } else if with_args {
                self.expr(arg);
            }
        }
        self.record_call(call, function, args);
        if let Some(sync) = join {
            let wait = EventKind::Wait {
                sync,
                single_receive: false,
            };
            self.push_at(wait, call, call.end_byte());
        }
    }

    /// A place standing for the goroutines a call starts and waits for before returning.
    pub(super) fn join_place(&mut self, name: &str, call: Node<'a>) -> PlaceId {
        let root = self.facts.bindings.len() as BindingId;
        self.facts.bindings.push(Binding::new(
            format!("{name}()"),
            Some(self.func),
            self.ctl,
            TypeInfo::Unknown,
            self.file,
            call.start_byte(),
        ));
        self.facts.intern_place(Place {
            root,
            fields: Vec::new(),
        })
    }

    /// A call of a function or method of this package: its effects happen at the call's
    /// end, after the arguments are evaluated.
    pub(super) fn record_call(&mut self, call: Node<'a>, function: Node<'a>, args: &[Node<'a>]) {
        self.param_called(function, args);
        if let Some(target) = self.func_target(function, args) {
            let literals = args
                .iter()
                .enumerate()
                .filter(|(_, a)| a.kind() == "func_literal")
                .map(|(i, a)| {
                    let params = self
                        .literal_params
                        .remove(&a.start_byte())
                        .unwrap_or_default();
                    (i, a.byte_range(), params)
                })
                .collect();
            let kind = EventKind::Call {
                target,
                literals,
                passed: None,
            };
            self.push_at(kind, call, call.end_byte());
            self.passed_funcs(call, args);
        } else {
            self.imported_call(call, function);
        }
    }

    /// The function values a call hands its callee in variables (`rec := meter(u)`,
    /// `hook := func(…) {…}`) or as method values (`generate(n, b.Add)`): called where the
    /// call runs, as a literal argument is; not those a registration stores to run later.
    fn passed_funcs(&mut self, call: Node<'a>, args: &[Node<'a>]) {
        let registered = self.registered_params(call);
        let spawned = call
            .child_by_field_name("function")
            .and_then(|f| self.spawning_name(f))
            .map(|name| self.facts.decls.spawning[&name].clone());
        let passed = call
            .child_by_field_name("function")
            .map(|f| self.passed_args(f, args))
            .unwrap_or_default();
        for (i, &arg) in args.iter().enumerate() {
            // Handed to a goroutine the callee starts (`call_spawning`), not run here.
            if registered.contains(&i) || spawned.as_ref().is_some_and(|s| s.runs(i)) {
                continue;
            }
            let passed = passed.get(i).filter(|p| !p.is_empty());
            let mut target = match arg.kind() {
                // `apply(c, WithLabel("a", "b"))`: the function the call returns, called
                // in place by `apply`.
                "call_expression" if passed.is_some() => match self.returned_func(arg, 0) {
                    Some(target) => target,
                    None => continue,
                },
                "identifier" => {
                    let Some(b) = self.lookup(self.text(arg)) else {
                        continue;
                    };
                    match &self.facts.bindings[b as usize].func_value {
                        Some(t)
                            if matches!(t.callee, Callee::Literal(_) | Callee::Returned { .. }) =>
                        {
                            t.clone()
                        }
                        _ => continue,
                    }
                }
                "selector_expression" if self.method_expression(arg).is_some() => {
                    match self.method_expression_target(arg, args, i) {
                        Some(target) if target.receiver.is_some() => target,
                        _ => continue,
                    }
                }
                "selector_expression" => match self.callee_of(arg) {
                    Some((Callee::Method(owner, name), Some(receiver)))
                        if self
                            .facts
                            .decls
                            .methods
                            .get(&owner)
                            .is_some_and(|m| m.contains(&name)) =>
                    {
                        Target {
                            callee: Callee::Method(owner, name),
                            receiver: Some(receiver),
                            args: Vec::new(),
                        }
                    }
                    _ => continue,
                },
                _ => continue,
            };
            if let Some(passed) = passed {
                if target.args.is_empty() && target.receiver.is_none() {
                    target.args = passed.iter().map(|&a| self.place_of(a)).collect();
                }
            }
            let kind = EventKind::Call {
                target,
                literals: Vec::new(),
                passed: Some(i),
            };
            self.push_at(kind, call, call.end_byte());
        }
    }

    /// A call of a function another package of the module declares (`lib.Fill(m, k)`):
    /// the accesses it makes through its parameters happen at the call, to what the
    /// arguments denote. Returns whether the function is one.
    pub(super) fn imported_function(
        &mut self,
        call: Node<'a>,
        name: &str,
        args: &[Node<'a>],
        with_args: bool,
    ) -> bool {
        let Some(accesses) = self.facts.decls.imported.functions.get(name).cloned() else {
            return false;
        };
        if with_args {
            for &a in args {
                self.expr(a);
            }
        }
        for access in accesses {
            let Some(base) = args.get(access.param).and_then(|&a| self.place_of(a)) else {
                continue;
            };
            let place = access
                .fields
                .iter()
                .fold(base, |p, f| self.facts.select(p, f));
            let kind = EventKind::Access {
                place,
                op: access.op,
            };
            self.push_at(kind, call, call.end_byte());
        }
        true
    }

    /// The map a getter of a struct another package of the module declares returns
    /// (`st.Items()` returning `st.items`).
    pub(super) fn imported_getter(&mut self, call: Node<'a>) -> Option<PlaceId> {
        let function = call.child_by_field_name("function")?;
        if function.kind() != "selector_expression" || self.facts.decls.imported.getters.is_empty()
        {
            return None;
        }
        let operand = function.child_by_field_name("operand")?;
        let method = self.text(function.child_by_field_name("field")?);
        let TypeInfo::Named(ty) = self.expr_type(operand) else {
            return None;
        };
        let fields = self
            .facts
            .decls
            .imported
            .getters
            .get(&ty)?
            .get(method)?
            .clone();
        let base = self.place_of(operand)?;
        Some(fields.iter().fold(base, |p, f| self.facts.select(p, f)))
    }

    /// A call of a method another package of the module declares (`st.Add(k)` on a
    /// `*store.Store`): its accesses to the receiver's maps happen at the call, with the
    /// receiver's locks it takes there held besides the caller's.
    pub(super) fn imported_call(&mut self, call: Node<'a>, function: Node<'a>) {
        if self.facts.decls.imported.methods.is_empty() || function.kind() != "selector_expression"
        {
            return;
        }
        let (Some(operand), Some(method)) = (
            function.child_by_field_name("operand"),
            function.child_by_field_name("field"),
        ) else {
            return;
        };
        let TypeInfo::Named(ty) = self.expr_type(operand) else {
            return;
        };
        let Some(summaries) = self
            .facts
            .decls
            .imported
            .methods
            .get(&ty)
            .and_then(|methods| methods.get(self.text(method)))
            .cloned()
        else {
            return;
        };
        let Some(base) = self.place_of(operand) else {
            return;
        };
        let at = |facts: &mut PackageFacts, fields: &[String]| {
            fields.iter().fold(base, |p, f| facts.select(p, f))
        };
        for summary in summaries {
            let place = at(self.facts, &summary.fields);
            let held: Vec<(PlaceId, LockMode)> = summary
                .locks
                .iter()
                .map(|(fields, mode)| (at(self.facts, fields), *mode))
                .collect();
            let access = EventKind::Access {
                place,
                op: summary.op,
            };
            let i = self.push_at(access, call, call.end_byte());
            if let Some(event) = self.current().events.get_mut(i) {
                for lock in held {
                    if !event.locks.contains(&lock) {
                        event.locks.push(lock);
                    }
                }
            }
        }
    }

    /// A call of a function-typed parameter, with the locks held and what it passes:
    /// `withLock(f)` helpers, `walk(fun)` calling `fun(d)` holding `d.mu`, `each(fn)`
    /// calling `fn(c)` for each of its connections.
    pub(super) fn param_called(&mut self, function: Node<'a>, args: &[Node<'a>]) {
        if function.kind() != "identifier" {
            return;
        }
        let Some(b) = self.lookup(self.text(function)) else {
            return;
        };
        let Some(param) = self.current().params.iter().position(|&p| p == Some(b)) else {
            return;
        };
        let locks = self.flow.locks.clone();
        // A variable the function assigns again (`dir = child` walking down a tree) is not
        // one place across calls.
        let args = args
            .iter()
            .map(|&a| match a.kind() {
                "identifier" if assigned_in_function(a, self.src) => None,
                _ => self.place_of(a),
            })
            .collect();
        self.current()
            .lock_effect
            .runs_params
            .push(ParamRun { param, locks, args });
    }

    /// The arguments a call of a registration (`bus.onEvent(h)`, `index::registrations`)
    /// stores in a field of its receiver's type.
    fn registered_params(&mut self, call: Node<'a>) -> Vec<usize> {
        let Some(function) = call
            .child_by_field_name("function")
            .filter(|f| f.kind() == "selector_expression")
        else {
            return Vec::new();
        };
        let (Some(operand), Some(method)) = (
            function.child_by_field_name("operand"),
            function.child_by_field_name("field"),
        ) else {
            return Vec::new();
        };
        let TypeInfo::Named(ty) = self.expr_type(operand) else {
            return Vec::new();
        };
        let key = (ty, self.text(method).to_string());
        self.facts
            .decls
            .registrations
            .get(&key)
            .map_or_else(Vec::new, |stored| stored.iter().map(|&(i, _)| i).collect())
    }

    /// Notes that the body makes a value of `ty` when it is a struct type of the package
    /// (`Func::instantiates`).
    fn instantiated(&mut self, ty: Node<'a>) {
        let name = self.text(ty);
        if self.facts.decls.structs.contains_key(name)
            && !self.current().instantiates.iter().any(|t| t == name)
        {
            let name = name.to_string();
            self.current().instantiates.push(name);
        }
    }

    /// Whether `operand` is of a type of the package that has the method (its own or
    /// promoted from a struct it embeds).
    /// The name in `decls.spawning` of the function or method a call's `function` denotes,
    /// if it runs a function argument on another goroutine.
    fn spawning_name(&mut self, function: Node<'a>) -> Option<String> {
        let name = self.callee_name(function)?;
        self.facts
            .decls
            .spawning
            .contains_key(&name)
            .then_some(name)
    }

    /// The name the pre-passes (`decls.spawning`, `decls.param_calls`) know the function or
    /// method a call's `function` denotes by: `parallel`, or `Server.startGoRoutine` for
    /// `s.startGoRoutine` (found where `s`'s type or a type it embeds declares it).
    fn callee_name(&mut self, function: Node<'a>) -> Option<String> {
        Some(match function.kind() {
            "identifier" if self.lookup(self.text(function)).is_none() => {
                self.text(function).to_string()
            }
            "selector_expression" => {
                let operand = function.child_by_field_name("operand")?;
                let method = self.text(function.child_by_field_name("field")?);
                let TypeInfo::Named(ty) = self.expr_type(operand) else {
                    return None;
                };
                let (owner, _) = self.facts.decls.method_owner(&ty, method)?;
                format!("{owner}.{method}")
            }
            _ => return None,
        })
    }

    /// For a call of a function that calls function parameters in place with some of its
    /// parameters (`decls.param_calls`): the arguments it passes each function argument,
    /// by their indices in the call.
    pub(super) fn passed_args(
        &mut self,
        function: Node<'a>,
        args: &[Node<'a>],
    ) -> Vec<Vec<Node<'a>>> {
        if self.facts.decls.param_calls.is_empty() {
            return Vec::new();
        }
        let Some(calls) = self
            .callee_name(function)
            .and_then(|name| self.facts.decls.param_calls.get(&name))
        else {
            return Vec::new();
        };
        (0..args.len())
            .map(|i| {
                calls.passes(i).map_or_else(Vec::new, |passed| {
                    passed
                        .iter()
                        .map_while(|p| p.and_then(|p| args.get(p).copied()))
                        .collect()
                })
            })
            .collect()
    }

    /// Function literals handed to a parameter the callee calls in place take, as their
    /// parameters, what the callee passes them (`apply(c, func(c *config) {…})`).
    fn literals_called_in_place(&mut self, function: Node<'a>, args: &[Node<'a>]) {
        let passed = self.passed_args(function, args);
        for (arg, passed) in args.iter().zip(passed) {
            if arg.kind() == "func_literal" && !passed.is_empty() {
                self.literal_args.insert(arg.start_byte(), passed);
            }
        }
    }

    fn declares_method(&mut self, operand: Node<'a>, method: &str) -> bool {
        match self.expr_type(operand) {
            TypeInfo::Named(ty) => self.facts.decls.method_owner(&ty, method).is_some(),
            _ => false,
        }
    }

    pub(super) fn selector_call(
        &mut self,
        call: Node<'a>,
        function: Node<'a>,
        args: &[Node<'a>],
        with_args: bool,
    ) {
        let Some((operand, method, package)) = self.selector(function) else {
            return;
        };
        if let Some(path) = package {
            let name = format!("{}.{method}", self.text(operand));
            if !self.imported_function(call, &name, args, with_args) {
                self.package_call(call, &path, method, args, with_args);
            }
            return;
        }
        let walk_args = |w: &mut Self| {
            if with_args {
                for &a in args {
                    w.expr(a);
                }
            }
        };
        let weight_one = |w: &Self| {
            crate::index::semaphores::last_name(operand, w.src)
                .is_some_and(|n| w.facts.decls.one_slot.contains(n))
        };
        let semaphore = match (method, args) {
            // `sem.Acquire(ctx, 1)` and `sem.Release(1)` of a `semaphore.NewWeighted(1)`.
            ("Acquire", [_, n]) if self.text(*n) == "1" && weight_one(self) => {
                Some(LockOp::Acquire { shared: false })
            }
            ("Release", [n]) if self.text(*n) == "1" && weight_one(self) => Some(LockOp::Release),
            _ => None,
        };
        if let Some(op) = self.apis.lock_op(method, args.len()).or(semaphore) {
            walk_args(self);
            self.lock_op(call, operand, op);
            return;
        }
        // `h.Set(k, v)` on an `http.Header`: the method writes the map.
        if let TypeInfo::Map { name: Some(ty), .. } = self.expr_type(operand) {
            if let Some(op) = known_map(&ty).and_then(|k| k.method_op(method)) {
                walk_args(self);
                self.access_or_expr(operand, op, call);
                return;
            }
        }
        match (method, args.len()) {
            // reflect.Value's map methods, on a value of a known map.
            ("SetMapIndex", 2) | ("MapIndex", 1) | ("MapKeys" | "MapRange", 0)
                if self.map_place(operand).is_some() =>
            {
                walk_args(self);
                let op = match method {
                    "SetMapIndex" => AccessOp::Assign,
                    "MapIndex" => AccessOp::Index,
                    _ => AccessOp::Range,
                };
                self.access_or_expr(operand, op, call);
            }
            // `wg.Wait()`, and closers' `SignalAndWait()`, `StopAndWait()`. A method the
            // package declares (`sink.Wait()` doing `<-s.done`) is called as well.
            (_, 0) if matches!(method, "Wait" | "Done") || method.ends_with("AndWait") => {
                self.expr(operand);
                // `go func() { wg.Add(1); defer wg.Done(); … }()`: a `Wait` that runs before
                // the goroutine's `Add` does not wait for it, so its `Done` orders nothing.
                let place = self.place_of(operand).filter(|&p| {
                    method != "Done" || !self.wait_group_adds.contains(&(self.func, p))
                });
                if let Some(place) = place {
                    let kind = if method != "Done" {
                        EventKind::Wait {
                            sync: place,
                            single_receive: false,
                        }
                    } else {
                        EventKind::Signal { sync: place }
                    };
                    self.push(kind, call);
                }
                if self.declares_method(operand, method) {
                    self.record_call(call, function, args);
                }
            }
            (m, n) if self.apis.method(m, n).is_some() => {
                let spawner = self.apis.method(m, n).expect("matched above").clone();
                self.expr(operand);
                if with_args {
                    for (i, &a) in args.iter().enumerate() {
                        if i != spawner.func_arg {
                            self.expr(a);
                        }
                    }
                }
                let group = if spawner.receiver_waits {
                    self.place_of(operand)
                } else {
                    None
                };
                let via = SpawnVia::Api(format!("{}.{m}", self.text(operand)));
                self.spawn_function_arg(call, args[spawner.func_arg], via, group, spawner.repeated);
            }
            // `mux.Handle("/status", s)` of a value serving HTTP: every request runs its
            // `ServeHTTP` on a goroutine of its own.
            ("Handle", 2) if self.handler_value(args[1]).is_some() => {
                self.expr(operand);
                if with_args {
                    self.expr(args[0]);
                }
                let via = SpawnVia::Api(format!("{}.Handle", self.text(operand)));
                self.spawn_function_arg(call, args[1], via, None, true);
            }
            ("Do", 1) if args[0].kind() == "func_literal" => {
                self.expr(operand);
                match self.place_of(operand) {
                    // The body runs once and every `Do` returns after it: its accesses hold
                    // the `Once` as a latch, what follows a `Do` holds it `Published`
                    // (ordered after the body, not with each other).
                    Some(once) => {
                        self.flow.lock(once, LockMode::Latch);
                        self.inline_literal(args[0], &[]);
                        self.flow.lock(once, LockMode::Published);
                    }
                    None => {
                        let outer = std::mem::replace(&mut self.in_once, true);
                        self.inline_literal(args[0], &[]);
                        self.in_once = outer;
                    }
                }
            }
            // `s.startGoRoutine(func() {...})` of a method running its argument on a
            // goroutine.
            _ if !self.facts.decls.spawning.is_empty()
                && self.spawning_name(function).is_some() =>
            {
                let name = self.spawning_name(function).expect("matched above");
                self.expr(operand);
                self.call_spawning(call, function, &name, args, with_args);
            }
            ("Run", 2) if is_parallel_subtest(args[1], self.src) => {
                self.expr(operand);
                if with_args {
                    self.expr(args[0]);
                }
                let via = SpawnVia::Api(format!("{}.Run", self.text(operand)));
                self.spawn_function_arg(call, args[1], via, None, false);
            }
            _ => {
                self.expr(operand);
                if with_args {
                    let registered = self.registered_args(operand, method, args);
                    for (i, &a) in args.iter().enumerate() {
                        if !registered.contains(&i) {
                            self.expr(a);
                        }
                    }
                }
                self.record_call(call, function, args);
                if method == "Add" && args.len() == 1 {
                    if let Some(place) = self.place_of(operand) {
                        self.wait_group_adds.insert((self.func, place));
                    }
                }
                // `t.Fatalf(...)`, `b.FailNow()`, `logger.Fatal(...)`: the path ends here.
                if NEVER_RETURN.contains(&method) {
                    self.flow.exit();
                }
            }
        }
    }

    /// `defer record(); defer mu.Unlock()`: deferred calls run last registered first, so
    /// those registered before this deferred unlock run after it, without the lock.
    fn release_in_earlier_defers(&mut self, place: PlaceId) {
        let (func, Some(mode)) = (self.func, self.defer_mode) else {
            return;
        };
        let earlier: Vec<Range<usize>> = self
            .deferred_calls
            .iter()
            .filter(|(f, m, held, _)| *f == func && *m == mode && held.contains(&place))
            .map(|(_, _, _, events)| events.clone())
            .collect();
        let events = &mut self.current().events;
        for range in earlier {
            for event in &mut events[range] {
                event.locks.retain(|&(p, _)| p != place);
            }
        }
    }

    /// A lock or unlock of the receiver `operand`: updates the lock set and records it.
    pub(super) fn lock_op(&mut self, call: Node<'a>, operand: Node<'a>, op: LockOp) {
        // A deferred unlock runs at return: the lock stays held until then.
        if self.in_deferred_call {
            if op == LockOp::Release {
                if let Some(place) = self.lock_place(operand) {
                    self.deferred_unlocks.push(place);
                    self.release_in_earlier_defers(place);
                }
            }
            return;
        }
        let Some(place) = self.lock_place(operand) else {
            self.expr(operand);
            return;
        };
        // `l.locks[url].Lock()` reads the map `l.locks` to find the mutex.
        self.expr(operand);
        let mode = match op {
            LockOp::Acquire { shared: false } => LockMode::Exclusive,
            LockOp::Acquire { shared: true } => LockMode::Read,
            LockOp::Release => {
                if !self.flow.locks.iter().any(|&(p, _)| p == place) {
                    self.current().lock_effect.releases.push(place);
                }
                self.push(EventKind::Unlock { place }, call);
                self.release(place);
                return;
            }
        };
        let indices = self.indices(operand);
        if indices.is_empty() {
            self.stripes.remove(&place);
        } else {
            self.stripes.insert(place, indices);
        }
        self.push(EventKind::Lock { place, mode }, call);
        self.flow.lock(place, mode);
    }

    /// The mutex a lock call's operand denotes: the place it names, unless it lies inside a
    /// struct copy (`c.mu` of a value receiver `c`), whose mutex is the copy's own.
    pub(super) fn lock_place(&mut self, operand: Node<'a>) -> Option<PlaceId> {
        let place = self
            .copied_lock(operand)
            .or_else(|| self.place_of(operand))?;
        let TypeInfo::Named(ty) = self.facts.place_type(place) else {
            return Some(place);
        };
        let path = self.facts.decls.promoted_mutex(&ty).unwrap_or_default();
        Some(path.iter().fold(place, |p, f| self.facts.select(p, f)))
    }

    /// The copy's own mutex when `operand` selects, through no pointer, a mutex of a
    /// variable holding a struct copy.
    pub(super) fn copied_lock(&mut self, operand: Node<'a>) -> Option<PlaceId> {
        let mut fields = Vec::new();
        let mut cur = operand;
        loop {
            match cur.kind() {
                "identifier" => break,
                "selector_expression" => {
                    fields.push(self.text(cur.child_by_field_name("field")?).to_string());
                    cur = cur.child_by_field_name("operand")?;
                }
                "parenthesized_expression" => cur = cur.named_child(0)?,
                _ => return None,
            }
        }
        fields.reverse();
        let copied = self.lookup(self.text(cur))?;
        let binding = &self.facts.bindings[copied as usize];
        let TypeInfo::Named(ty) = &binding.ty else {
            return None;
        };
        if !binding.by_value || !self.facts.decls.by_value_path(ty, &fields) {
            return None;
        }
        let root = self.copy_storage(copied);
        Some(self.facts.intern_place(Place { root, fields }))
    }

    /// The stand-in for the own storage of the struct copy `copied` holds.
    pub(super) fn copy_storage(&mut self, copied: BindingId) -> BindingId {
        if let Some(&root) = self.copies.get(&copied) {
            return root;
        }
        let mut stand_in = self.facts.bindings[copied as usize].clone();
        stand_in.param = false;
        stand_in.alias = None;
        stand_in.by_value = false;
        stand_in.field_aliases.clear();
        stand_in.copy_of = Some(copied);
        let root = self.facts.bindings.len() as BindingId;
        self.facts.bindings.push(stand_in);
        self.copies.insert(copied, root);
        root
    }

    pub(super) fn package_call(
        &mut self,
        call: Node<'a>,
        path: &str,
        func: &str,
        args: &[Node<'a>],
        with_args: bool,
    ) {
        match self.apis.package_call(path, func) {
            PackageCall::Spawn { func_arg, repeated } => {
                for (i, &a) in args.iter().enumerate() {
                    if i != func_arg && with_args {
                        self.expr(a);
                    }
                }
                if let Some(&f) = args.get(func_arg) {
                    let via = SpawnVia::Api(format!("{}.{func}", short_package(path)));
                    self.spawn_function_arg(call, f, via, None, repeated);
                }
            }
            PackageCall::MapArgs(ops) => {
                for (i, &a) in args.iter().enumerate() {
                    let op = ops.get(i).copied().unwrap_or(AccessOp::LibraryRead);
                    self.map_argument(a, op, with_args);
                }
            }
            PackageCall::Exits => {
                if with_args {
                    for &a in args {
                        self.expr(a);
                    }
                }
                self.flow.exit();
            }
            PackageCall::Other => {
                // A map handed to another package's function is read by it (fmt, json, ...).
                for &a in args {
                    self.map_argument(a, AccessOp::LibraryRead, with_args);
                }
            }
        }
    }

    /// An argument the callee touches with `op` if it is a map; other arguments are walked
    /// unless they were evaluated already (a deferred call).
    pub(super) fn map_argument(&mut self, arg: Node<'a>, op: AccessOp, with_args: bool) {
        match self.map_place(arg) {
            Some(place) => {
                let via = self.last_via;
                if arg.kind() == "call_expression" {
                    self.expr(arg);
                }
                self.push_access(place, op, arg, arg, via);
            }
            None if with_args => {
                self.expr(arg);
                if op == AccessOp::LibraryRead {
                    self.literal_fields_read(arg);
                }
            }
            None => {}
        }
    }

    /// The arguments a call of a registration (`lc.OnStop(func() {…})`, see
    /// `index::registrations`) hands to a field of the receiver's type: each function
    /// literal or package function there is noted as stored in the field
    /// (`PackageFacts::field_funcs`), a literal walked as a body of its own.
    fn registered_args(
        &mut self,
        operand: Node<'a>,
        method: &str,
        args: &[Node<'a>],
    ) -> Vec<usize> {
        let registrations = &self.facts.decls.registrations;
        if !registrations.keys().any(|(_, m)| m == method) {
            return Vec::new();
        }
        let TypeInfo::Named(ty) = self.expr_type(operand) else {
            return Vec::new();
        };
        let Some(stored) = self
            .facts
            .decls
            .registrations
            .get(&(ty.clone(), method.to_string()))
            .cloned()
        else {
            return Vec::new();
        };
        let mut walked = Vec::new();
        for (i, field) in stored {
            let Some(&arg) = args.get(i) else { continue };
            let (callee, receiver) = match arg.kind() {
                "func_literal" => (Callee::Literal(self.literal_func(arg, &[])), None),
                "identifier" if self.lookup(self.text(arg)).is_none() => {
                    (Callee::Func(self.text(arg).to_string()), None)
                }
                // `srv.AddHook(lastSeen(m))`, or a variable holding a literal.
                "call_expression" | "identifier" => match self.callee_of(arg) {
                    Some((callee @ (Callee::Returned { .. } | Callee::Literal(_)), None)) => {
                        self.expr(arg);
                        (callee, None)
                    }
                    _ => continue,
                },
                // A method value (`bus.Subscribe(svc.onEvent)`) runs on its object.
                "selector_expression" => match self.callee_of(arg) {
                    Some((callee @ Callee::Method(..), Some(receiver))) => {
                        self.expr(arg);
                        (callee, Some(receiver))
                    }
                    _ => continue,
                },
                _ => continue,
            };
            self.store_field_func((ty.clone(), field), callee, receiver);
            walked.push(i);
        }
        walked
    }

    /// A struct literal handed to another package's function is read with the maps its
    /// fields hold (`json.Marshal(resp{Meta: a.meta})` reads `a.meta`).
    fn literal_fields_read(&mut self, arg: Node<'a>) {
        let mut literal = arg;
        while matches!(
            literal.kind(),
            "unary_expression" | "parenthesized_expression"
        ) {
            let Some(inner) = literal
                .child_by_field_name("operand")
                .or_else(|| literal.named_child(0))
            else {
                return;
            };
            literal = inner;
        }
        let Some(body) = literal
            .child_by_field_name("body")
            .filter(|_| literal.kind() == "composite_literal")
        else {
            return;
        };
        let mut cursor = body.walk();
        let values: Vec<Node<'a>> = body
            .named_children(&mut cursor)
            .filter(|e| e.kind() == "keyed_element")
            .filter_map(|e| e.child_by_field_name("value")?.named_child(0))
            .collect();
        for value in values {
            if let Some(place) = self.map_place(value) {
                self.push_access(place, AccessOp::LibraryRead, value, value, None);
            }
        }
    }
}

/// Whether a receive from a token channel takes the token for the code after it: a
/// statement of its own (`<-r.token`), not a `select` case (which may hand the token to
/// the goroutine it starts, see `ordering`'s gates) nor a value used otherwise.
fn takes_token(receive: Node<'_>) -> bool {
    receive.parent().is_some_and(|statement| {
        statement.kind() == "expression_statement"
            && statement
                .parent()
                .is_some_and(|p| matches!(p.kind(), "block" | "statement_list"))
    })
}

/// Whether the function around `name` (an identifier) assigns that name with `=` anywhere.
fn assigned_in_function(name: Node<'_>, src: &str) -> bool {
    let text = &src[name.byte_range()];
    let Some(function) = std::iter::successors(name.parent(), |n| n.parent()).find(|n| {
        matches!(
            n.kind(),
            "function_declaration" | "method_declaration" | "func_literal"
        )
    }) else {
        return false;
    };
    super::super::descendants(function).into_iter().any(|n| {
        n.kind() == "assignment_statement"
            && n.child_by_field_name("left").is_some_and(|left| {
                let mut c = left.walk();
                let assigned = left
                    .named_children(&mut c)
                    .any(|l| l.kind() == "identifier" && &src[l.byte_range()] == text);
                assigned
            })
    })
}
