//! Expressions and calls: map accesses, and calls of the package's functions and methods
//! (lock operations in `lock_ops`, functions handed to calls in `function_args`, other
//! packages' calls in `library_calls`).

use super::*;
use crate::fields::{Field, FieldExt};

/// Methods of loggers that format their arguments as `fmt` does.
const FORMATTING_METHODS: &[&str] = &[
    "Print", "Printf", "Println", "Fatal", "Fatalf", "Fatalln", "Panic", "Panicf", "Panicln",
    "Log", "Logf", "Infof", "Warnf", "Warningf", "Errorf", "Debugf", "Tracef",
];

impl<'a> Walker<'a, '_> {
    pub(super) fn arguments(call: Node<'a>) -> Vec<Node<'a>> {
        let Some(args) = call.field(Field::Arguments) else {
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
            // A finalizer runs once nothing else can reach its object: it races nothing.
            "func_literal" if self.is_finalizer(node) => {}
            "func_literal" => {
                let args = self.literal_args.remove(&node.start_byte());
                self.inline_literal(node, args.as_deref().unwrap_or_default());
            }
            "composite_literal" => {
                if let Some(ty) = node.field(Field::Type) {
                    self.instantiated(ty);
                }
                if let Some(body) = node.field(Field::Body) {
                    self.composite_body(body);
                }
            }
            "unary_expression" => {
                if let Some(operand) = node.field(Field::Operand) {
                    self.expr(operand);
                    let is_receive = node
                        .field(Field::Operator)
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
                            } else if self.is_token(operand) && lock_ops::takes_token(node) {
                                let mode = LockMode::Exclusive;
                                self.push(EventKind::Lock { place, mode }, node);
                                self.flow.lock(place, mode);
                            }
                        }
                    }
                }
            }
            "selector_expression" => {
                if let Some(operand) = node.field(Field::Operand) {
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
            .and_then(|l| l.field(Field::Type))
            .map(|t| self.text(t).to_string())
            .filter(|t| self.facts.decls.structs.contains_key(t));
        for element in elements {
            let value = element
                .field(Field::Value)
                .and_then(|v| v.named_child(0))
                .filter(|v| element.kind() == "keyed_element" && v.kind() == "func_literal");
            match value {
                Some(literal) => {
                    let body = self.literal_func(literal, &[]);
                    let key = element
                        .field(Field::Key)
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
        if let Some(operand) = node.field(Field::Operand) {
            self.access_or_expr(operand, op, node);
        }
        if let Some(index) = node.field(Field::Index) {
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
        let Some(function) = call.field(Field::Function) else {
            return;
        };
        self.service_registration(function, &args);
        self.formatted_stringers(call, function, &args);
        self.serialized_values(call, function, &args);
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
    pub(super) fn selector(
        &self,
        function: Node<'a>,
    ) -> Option<(Node<'a>, &'a str, Option<String>)> {
        let operand = function.field(Field::Operand)?;
        let field = function.field(Field::Field)?;
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
            let receiver = self.place_of(arg);
            self.method_called_by(call, owner, "String", &path, receiver);
        }
    }

    /// A method of the package a library call runs on a value it is handed (`String` for
    /// `fmt`, `MarshalJSON` for `json`), reached through the embedded fields `path` of
    /// `receiver`: a call at the end of `call`.
    pub(super) fn method_called_by(
        &mut self,
        call: Node<'a>,
        owner: String,
        method: &str,
        path: &[String],
        receiver: Option<PlaceId>,
    ) {
        let receiver = receiver.map(|r| path.iter().fold(r, |p, f| self.facts.select(p, f)));
        let target = Target {
            callee: Callee::Method(owner, method.to_string()),
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

    /// Notes the type of the service a `Register…Server(s, impl)` call registers.
    pub(super) fn service_registration(&mut self, function: Node<'a>, args: &[Node<'a>]) {
        let name = match function.kind() {
            "selector_expression" => function.field(Field::Field),
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
                .field(Field::Operand)
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
            self.passed_literal_vars(call, args);
        }
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
        // `g := s.mu.Lock("why")`: a wrapped mutex handing back a guard that unlocks it.
        if let Some(guard) = returned_guard(call, method, self.src) {
            walk_args(self);
            let shared = method == "RLock";
            self.lock_op(call, operand, LockOp::Acquire { shared });
            if let Some(place) = self.lock_place(operand) {
                self.lock_guards.insert(guard.to_string(), place);
            }
            return;
        }
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
            // package declares (`sink.Wait()` doing `<-s.done`, a group's `Wait` that
            // returns at the first failure) is called instead: its body says what it waits
            // for.
            (_, 0) if matches!(method, "Wait" | "Done") || method.ends_with("AndWait") => {
                self.expr(operand);
                if self.declares_method(operand, method) {
                    self.record_call(call, function, args);
                    return;
                }
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
            }
            // `s.startGoRoutine(func() {...})` of a method running its argument on a
            // goroutine; a group the package declares (`g.Go(f)`) runs as its body says.
            _ if !self.facts.decls.spawning.is_empty()
                && self.spawning_name(function).is_some() =>
            {
                let name = self.spawning_name(function).expect("matched above");
                self.expr(operand);
                self.call_spawning(call, function, &name, args, with_args);
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
}

/// The variable a `Lock`/`RLock` call's result is given to (`g` of `g := s.mu.Lock("why")`):
/// the guard whose `Unlock` releases the mutex.
fn returned_guard<'s>(call: Node<'_>, method: &str, src: &'s str) -> Option<&'s str> {
    if !matches!(method, "Lock" | "RLock") {
        return None;
    }
    let values = call.parent().filter(|p| p.kind() == "expression_list")?;
    let statement = values
        .parent()
        .filter(|s| matches!(s.kind(), "short_var_declaration" | "assignment_statement"))?;
    if values.named_child_count() != 1 {
        return None;
    }
    let left = statement.field(Field::Left)?;
    match (left.named_child_count(), left.named_child(0)) {
        (1, Some(name)) if name.kind() == "identifier" => Some(&src[name.byte_range()]),
        _ => None,
    }
}
