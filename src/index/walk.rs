//! The body walker: one pass over each function, resolving names through scopes and
//! recording events with lock sets and control frames.

use std::collections::HashMap;

use tree_sitter::Node;

use super::apis::{known_map, Apis, LockOp, PackageCall};
use super::decls::{self, literal_type, var_specs};
use super::rpc;
use super::types::{type_of_type_node, TypeInfo};
use super::{
    AccessOp, Binding, BindingId, Callee, Control, CtlId, CtlKind, Escape, EscapeId, Event,
    EventKind, FileId, Func, FuncId, IndexWarning, Load, LoadSource, LockMode, LockSet,
    PackageFacts, ParsedFile, Place, PlaceId, ReturnRoot, Returned, Serves, SpawnVia, Target,
};

/// Nesting beyond this is not walked (and is reported): it bounds the walker's stack use.
pub const MAX_NESTING: u32 = 1_000;

/// Indexes every function and method body of one file.
pub fn walk_file(
    facts: &mut PackageFacts,
    apis: &Apis,
    globals: &HashMap<String, BindingId>,
    file: FileId,
    parsed: &ParsedFile<'_>,
    warnings: &mut Vec<IndexWarning>,
) {
    let src = parsed.source.text.as_str();
    let root = parsed.tree.root_node();
    let imports = imports(root, src);
    let mut walker = Walker {
        facts,
        globals,
        imports: &imports,
        apis,
        src,
        file,
        scopes: Vec::new(),
        func: 0,
        ctl: 0,
        flow: Flow::default(),
        defer_target: DeferMode::FuncEnd(0),
        defer_mode: None,
        in_deferred_call: false,
        deferred_unlocks: Vec::new(),
        in_once: false,
        inline_literals: 0,
        depth: 0,
        literal_count: 0,
        top_name: String::new(),
        warnings,
        too_deep: false,
        last_via: None,
        escape_ids: HashMap::new(),
        alias_locks: HashMap::new(),
        copies: HashMap::new(),
    };
    let mut cursor = root.walk();
    for decl in root.named_children(&mut cursor) {
        if matches!(decl.kind(), "function_declaration" | "method_declaration") {
            walker.function(decl);
        }
    }
}

/// The import names of a file (alias or last path element) mapped to their paths.
fn imports(root: Node<'_>, src: &str) -> HashMap<String, String> {
    super::import_specs(root, src)
        .into_iter()
        .map(|(name, path)| {
            let name = name.unwrap_or_else(|| path.rsplit('/').next().unwrap_or(&path).to_string());
            (name, path)
        })
        .collect()
}

/// Methods that never return to their caller, whatever the receiver: `testing.TB`'s
/// `Fatal*`, `FailNow` and `Skip*` (they end the goroutine), `log.Logger`'s `Fatal*` and
/// `Panic*`.
const NEVER_RETURN: &[&str] = &[
    "Fatal", "Fatalf", "Fatalln", "FailNow", "Skip", "Skipf", "SkipNow", "Panic", "Panicf",
    "Panicln",
];

/// The dataflow state along one path: locks held, whether the path has left the body, and
/// whether it left the function (`return`, `panic`, `os.Exit`), not just a loop or switch.
#[derive(Debug, Clone, Default)]
struct Flow {
    locks: LockSet,
    terminated: bool,
    exits: bool,
    /// Whether a `defer` was registered on the way here: leaving the function then runs
    /// deferred code, so the exit does not end everything that follows.
    deferred: bool,
}

impl Flow {
    /// The path leaves the function here.
    fn exit(&mut self) {
        self.terminated = true;
        self.exits = true;
    }

    fn lock(&mut self, place: PlaceId, mode: LockMode) {
        match self.locks.binary_search_by_key(&place, |&(p, _)| p) {
            Ok(i) => self.locks[i].1 = mode,
            Err(i) => self.locks.insert(i, (place, mode)),
        }
    }

    fn unlock(&mut self, place: PlaceId) {
        self.locks.retain(|&(p, _)| p != place);
    }

    /// Where paths meet: a lock is held only if held on every path that reaches here.
    fn join(flows: Vec<Flow>) -> Flow {
        let exits = flows.iter().all(|f| f.exits);
        let deferred = flows.iter().any(|f| f.deferred);
        let mut live = flows.into_iter().filter(|f| !f.terminated);
        let Some(mut out) = live.next() else {
            return Flow {
                locks: Vec::new(),
                terminated: true,
                exits,
                deferred,
            };
        };
        out.deferred = deferred;
        for f in live {
            out.locks
                .retain_mut(|(p, mode)| match f.locks.iter().find(|(q, _)| q == p) {
                    Some(&(_, other)) => {
                        *mode = (*mode).min(other);
                        true
                    }
                    None => false,
                });
        }
        out
    }
}

/// Where deferred code runs: at the end of the function, or of an inline function literal.
#[derive(Debug, Clone, Copy)]
enum DeferMode {
    /// Deferred in the body of a `Func`: runs after everything, last deferred first.
    FuncEnd(usize),
    /// Deferred in an inline literal: runs when the literal returns.
    LiteralEnd(usize),
}

struct Walker<'a, 'f> {
    facts: &'f mut PackageFacts,
    globals: &'f HashMap<String, BindingId>,
    imports: &'f HashMap<String, String>,
    apis: &'f Apis,
    src: &'a str,
    file: FileId,
    scopes: Vec<Vec<(&'a str, BindingId)>>,
    func: FuncId,
    ctl: CtlId,
    flow: Flow,
    /// Where a `defer` in the body being walked runs.
    defer_target: DeferMode,
    /// Set while walking a deferred call.
    defer_mode: Option<DeferMode>,
    /// Set while walking the call expression of a `defer` itself (not the body of a
    /// deferred function literal): `defer mu.Unlock()` releases only at return.
    in_deferred_call: bool,
    /// Locks a `defer` of the declared function being walked releases at return.
    deferred_unlocks: Vec<PlaceId>,
    /// Set inside `once.Do(func() {...})`: the body runs once, and every `Do` returns after
    /// it, so its map accesses (and calls) are initialization, not concurrent accesses.
    in_once: bool,
    /// How many function literals walked in place enclose the current node: a `return` in
    /// one leaves the literal, not the function, so no frame is marked as leaving it.
    inline_literals: u32,
    depth: u32,
    literal_count: u32,
    top_name: String,
    warnings: &'f mut Vec<IndexWarning>,
    too_deep: bool,
    /// The getter call the last `place_of` resolved through, if any.
    last_via: Option<EscapeId>,
    /// Escapes recorded in this file, by call offset and result index.
    escape_ids: HashMap<(usize, usize), EscapeId>,
    /// Locks held where a local variable took a reference to a shared map (`m := s.items`).
    alias_locks: HashMap<BindingId, LockSet>,
    /// The stand-ins for the own storage of struct copies, by copied variable.
    copies: HashMap<BindingId, BindingId>,
}

/// What the walker saves when it enters another function body.
struct Saved {
    func: FuncId,
    ctl: CtlId,
    flow: Flow,
    defer_target: DeferMode,
    defer_mode: Option<DeferMode>,
    in_deferred_call: bool,
    in_once: bool,
}

impl<'a> Walker<'a, '_> {
    fn text(&self, node: Node<'_>) -> &'a str {
        &self.src[node.byte_range()]
    }

    fn current(&mut self) -> &mut Func {
        &mut self.facts.funcs[self.func as usize]
    }

    // ----- functions and scopes -----

    fn function(&mut self, decl: Node<'a>) {
        let Some(body) = decl.child_by_field_name("body") else {
            return;
        };
        let name = self.function_name(decl);
        self.top_name = name.clone();
        self.literal_count = 0;
        let func = self.new_func(name, decl, true);
        let key = match decl.kind() {
            "method_declaration" => decls::receiver_type_name(decl, self.src)
                .zip(decl.child_by_field_name("name"))
                .map(|(ty, m)| Callee::Method(ty.to_string(), self.text(m).to_string())),
            _ => decl
                .child_by_field_name("name")
                .map(|n| Callee::Func(self.text(n).to_string())),
        };
        if let Some(key) = key {
            self.facts.callees.entry(key).or_insert(func);
        }
        self.current_func_mut(func).assumes_lock = assumes_lock(decl, self.src);
        let saved = self.enter(func);
        self.scopes.push(Vec::new());
        if let Some(receiver) = decl.child_by_field_name("receiver") {
            let receiver = self.parameters(receiver, &[]).into_iter().next().flatten();
            self.mark_params(receiver.iter());
            self.current().receiver = receiver;
        }
        if let Some(list) = decl.child_by_field_name("parameters") {
            let params = self.parameters(list, &[]);
            self.mark_params(params.iter().flatten());
            let is_handler = (decl.kind() == "method_declaration"
                && decl
                    .child_by_field_name("name")
                    .is_some_and(|n| self.text(n) == "ServeHTTP")
                && params.len() == 2)
                || handler_shaped(list, self.src);
            let current = self.current();
            current.handler = is_handler.then_some(Serves::Http);
            current.params = params;
        }
        if let Some(list) = decl.child_by_field_name("result") {
            if list.kind() == "parameter_list" {
                self.parameters(list, &[]);
            }
        }
        self.block(body);
        if !self.flow.terminated {
            let released_at_return = std::mem::take(&mut self.deferred_unlocks);
            let mut acquires = self.flow.locks.clone();
            acquires.retain(|(p, _)| !released_at_return.contains(p));
            self.current().lock_effect.acquires = acquires;
        }
        self.deferred_unlocks.clear();
        self.scopes.pop();
        self.leave(saved);
    }

    fn current_func_mut(&mut self, func: FuncId) -> &mut Func {
        &mut self.facts.funcs[func as usize]
    }

    fn mark_params<'b>(&mut self, bindings: impl Iterator<Item = &'b BindingId>) {
        for &b in bindings {
            self.facts.bindings[b as usize].param = true;
        }
    }

    /// `f`, or `(*T).m` / `T.m` for methods, as the go tool prints them.
    fn function_name(&self, decl: Node<'_>) -> String {
        let name = decl
            .child_by_field_name("name")
            .map_or("?", |n| self.text(n));
        let Some(receiver) = decl.child_by_field_name("receiver") else {
            return name.to_string();
        };
        let ty = receiver
            .named_child(0)
            .and_then(|p| p.child_by_field_name("type"));
        match ty {
            Some(t) if t.kind() == "pointer_type" => {
                let inner = t.named_child(0).map_or("?", |n| self.type_base_name(n));
                format!("(*{inner}).{name}")
            }
            Some(t) => format!("{}.{name}", self.type_base_name(t)),
            None => name.to_string(),
        }
    }

    fn type_base_name(&self, ty: Node<'_>) -> &'a str {
        match ty.kind() {
            "generic_type" => ty.child_by_field_name("type").map_or("?", |t| self.text(t)),
            _ => self.text(ty),
        }
    }

    fn new_func(&mut self, name: String, node: Node<'_>, declared: bool) -> FuncId {
        let id = self.facts.funcs.len() as FuncId;
        self.facts.funcs.push(Func {
            name,
            file: self.file,
            span: node.byte_range(),
            declared,
            handler: None,
            receiver: None,
            assumes_lock: false,
            in_test: false,
            lock_effect: Default::default(),
            params: Vec::new(),
            events: Vec::new(),
            returns: Vec::new(),
            ctl: Control::body(),
        });
        id
    }

    fn enter(&mut self, func: FuncId) -> Saved {
        let end = self.facts.funcs[func as usize].span.end;
        let saved = Saved {
            func: self.func,
            ctl: self.ctl,
            flow: std::mem::take(&mut self.flow),
            defer_target: self.defer_target,
            defer_mode: self.defer_mode.take(),
            in_deferred_call: std::mem::take(&mut self.in_deferred_call),
            in_once: std::mem::take(&mut self.in_once),
        };
        self.func = func;
        self.ctl = 0;
        self.defer_target = DeferMode::FuncEnd(end);
        saved
    }

    fn leave(&mut self, saved: Saved) {
        self.func = saved.func;
        self.ctl = saved.ctl;
        self.flow = saved.flow;
        self.defer_target = saved.defer_target;
        self.defer_mode = saved.defer_mode;
        self.in_deferred_call = saved.in_deferred_call;
        self.in_once = saved.in_once;
    }

    fn declare(
        &mut self,
        name: Node<'a>,
        ty: TypeInfo,
        alias: Option<PlaceId>,
    ) -> Option<BindingId> {
        let text = self.text(name);
        if text == "_" {
            return None;
        }
        let id = self.facts.bindings.len() as BindingId;
        let mut binding = Binding::new(
            text.to_string(),
            Some(self.func),
            self.ctl,
            ty,
            self.file,
            name.start_byte(),
        );
        binding.alias = alias;
        self.facts.bindings.push(binding);
        self.scopes.last_mut()?.push((text, id));
        Some(id)
    }

    fn lookup(&self, name: &str) -> Option<BindingId> {
        self.scopes
            .iter()
            .rev()
            .flat_map(|s| s.iter().rev())
            .find(|(n, _)| *n == name)
            .map(|&(_, id)| id)
            .or_else(|| self.globals.get(name).copied())
    }

    /// Declares the parameters of a list and returns their bindings in order; `args` are the
    /// call's arguments when the function is a literal invoked right here.
    fn parameters(&mut self, list: Node<'a>, args: &[Node<'a>]) -> Vec<Option<BindingId>> {
        let mut bindings = Vec::new();
        let mut index = 0;
        let mut cursor = list.walk();
        for param in list.named_children(&mut cursor) {
            if !matches!(
                param.kind(),
                "parameter_declaration" | "variadic_parameter_declaration"
            ) {
                continue;
            }
            let ty = param
                .child_by_field_name("type")
                .map_or(TypeInfo::Unknown, |t| {
                    type_of_type_node(t, self.src, &self.facts.decls)
                });
            let mut c = param.walk();
            let names: Vec<_> = param.children_by_field_name("name", &mut c).collect();
            if names.is_empty() {
                bindings.push(None);
                index += 1;
                continue;
            }
            // A struct passed by value: the callee has its own copy of the struct's mutexes.
            let by_value = param
                .child_by_field_name("type")
                .is_some_and(|t| matches!(t.kind(), "type_identifier" | "generic_type"))
                && matches!(&ty, TypeInfo::Named(n) if self.facts.decls.structs.contains_key(n));
            for name in names {
                // A parameter bound to a variable or field refers to the same storage: maps,
                // pointers and the maps inside copied structs are shared with the caller.
                let alias = args.get(index).and_then(|&a| self.place_of(a));
                let id = self.declare(name, ty.clone(), alias);
                if let Some(id) = id {
                    self.facts.bindings[id as usize].by_value = by_value;
                }
                bindings.push(id);
                index += 1;
            }
        }
        bindings
    }

    // ----- events -----

    fn push(&mut self, kind: EventKind, node: Node<'_>) -> usize {
        self.push_at(kind, node, node.start_byte())
    }

    /// Records an event that happens at `order` in program order unless it is deferred.
    fn push_at(&mut self, kind: EventKind, node: Node<'_>, order: usize) -> usize {
        if self.in_once && matches!(kind, EventKind::Access { .. } | EventKind::Call { .. }) {
            return self.current().events.len();
        }
        let order = match self.defer_mode {
            None => order,
            Some(DeferMode::LiteralEnd(end)) => end,
            Some(DeferMode::FuncEnd(end)) => end + (end - node.start_byte().min(end)),
        };
        let event = Event {
            kind,
            span: node.byte_range(),
            order,
            ctl: self.ctl,
            locks: self.flow.locks.clone(),
            via: None,
        };
        let events = &mut self.current().events;
        events.push(event);
        events.len() - 1
    }

    /// Records an access to a map reached through the getter call `via`, if any.
    fn push_access(&mut self, place: PlaceId, op: AccessOp, site: Node<'_>, via: Option<EscapeId>) {
        let i = self.push(EventKind::Access { place, op }, site);
        if let Some(event) = self.current().events.get_mut(i) {
            event.via = via;
        }
    }

    fn new_frame(&mut self, kind: CtlKind) -> CtlId {
        let parent = self.ctl;
        self.current().ctl.push(parent, kind)
    }

    /// Runs `f` in a new control frame of `kind`, starting from a copy of the current flow,
    /// and returns the flow at its end; the current flow is left as it was.
    fn in_frame(&mut self, kind: CtlKind, f: impl FnOnce(&mut Self)) -> Flow {
        let entry = self.flow.clone();
        let outer = self.ctl;
        self.ctl = self.new_frame(kind);
        f(self);
        if self.flow.terminated
            && self.flow.exits
            && !self.flow.deferred
            && self.inline_literals == 0
        {
            let frame = self.ctl;
            self.current().ctl.frames[frame as usize].exits = true;
        }
        self.ctl = outer;
        std::mem::replace(&mut self.flow, entry)
    }

    // ----- places and types -----

    /// The storage location an expression denotes: `m`, `s.items`, `(*p).m`, `m[k]`.
    /// Walks the operand chain with a loop: real code nests deeply.
    fn place_of(&mut self, node: Node<'a>) -> Option<PlaceId> {
        let mut via = None;
        let place = self.resolve_place(node, &mut via);
        self.last_via = via;
        place
    }

    /// `place_of`, noting in `via` the getter call the place was reached through.
    fn resolve_place(&mut self, node: Node<'a>, via: &mut Option<EscapeId>) -> Option<PlaceId> {
        enum Step<'n> {
            Field(&'n str),
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
                    if let Some(Step::Field(field)) = steps.last() {
                        let aliased = binding
                            .field_aliases
                            .iter()
                            .find(|(f, _)| f == field)
                            .map(|&(_, place)| place);
                        if let Some(place) = aliased {
                            steps.pop();
                            break Err(place);
                        }
                    }
                    break Ok(b);
                }
                "selector_expression" => {
                    steps.push(Step::Field(self.text(cur.child_by_field_name("field")?)));
                    cur = cur.child_by_field_name("operand")?;
                }
                "index_expression" => {
                    steps.push(Step::Element);
                    cur = cur.child_by_field_name("operand")?;
                }
                "parenthesized_expression" => cur = cur.named_child(0)?,
                // `reflect.ValueOf(m)` stands for `m`: `SetMapIndex` on it writes `m`.
                "call_expression" => match self.reflected(cur) {
                    Some(arg) => cur = arg,
                    None => {
                        let (place, escape) = self.returned_place(cur, 0)?;
                        *via = Some(escape);
                        break Err(place);
                    }
                },
                "unary_expression" => {
                    let op = cur.child_by_field_name("operator")?;
                    if !matches!(self.text(op), "*" | "&") {
                        return None;
                    }
                    cur = cur.child_by_field_name("operand")?;
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
                Step::Field(f) => self.facts.select(place, f),
                // Every element of a map or slice is one abstract place: `m[k]`, `shards[i]`.
                Step::Element => match self.facts.place_type(place) {
                    TypeInfo::Map { .. } | TypeInfo::Slice(_) => {
                        self.facts.select(place, super::ELEMENT)
                    }
                    _ => return None,
                },
            };
        }
        Some(place)
    }

    /// Result `index` of a call to a package function that returns storage its caller can
    /// name (`s.Items()` returning `s.items`), in the caller's terms, with the escape
    /// recorded for it.
    fn returned_place(&mut self, call: Node<'a>, index: usize) -> Option<(PlaceId, EscapeId)> {
        let function = call.child_by_field_name("function")?;
        let name = match function.kind() {
            "selector_expression" => function.child_by_field_name("field")?,
            _ => function,
        };
        if !self.facts.decls.returns.may_return(self.text(name)) {
            return None;
        }
        let (callee, receiver) = self.callee_of(function)?;
        let path = self.facts.decls.returns.path(&callee, index)?.clone();
        let args = Self::arguments(call);
        let mut place = match &path.root {
            ReturnRoot::Receiver => receiver?,
            ReturnRoot::Param(i) => self.place_of(*args.get(*i)?)?,
            ReturnRoot::Global(name) => {
                let root = *self.globals.get(name)?;
                self.facts.intern_place(Place {
                    root,
                    fields: Vec::new(),
                })
            }
        };
        for field in &path.fields {
            place = self.facts.select(place, field);
        }
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

    /// The fields of a struct literal (`T{F: x}`, `&T{F: x}`) set from shared storage, and
    /// that storage.
    fn literal_fields(&mut self, expr: Node<'a>) -> Vec<(String, PlaceId)> {
        let mut literal = expr;
        if literal.kind() == "unary_expression" {
            match literal.child_by_field_name("operand") {
                Some(operand) => literal = operand,
                None => return Vec::new(),
            }
        }
        let Some(body) = literal
            .child_by_field_name("body")
            .filter(|_| literal.kind() == "composite_literal")
        else {
            return Vec::new();
        };
        let mut cursor = body.walk();
        let elements: Vec<_> = body
            .named_children(&mut cursor)
            .filter(|e| e.kind() == "keyed_element")
            .collect();
        let mut out = Vec::new();
        for element in elements {
            let unwrap = |n: Option<Node<'a>>| n.and_then(|n| n.named_child(0));
            let (Some(key), Some(value)) = (
                unwrap(element.child_by_field_name("key")),
                unwrap(element.child_by_field_name("value")),
            ) else {
                continue;
            };
            if key.kind() != "identifier" {
                continue;
            }
            if let Some(place) = self.place_of(value) {
                out.push((self.text(key).to_string(), place));
            }
        }
        out
    }

    /// The channel a receive expression (`<-ch`) takes from.
    fn received_channel(&mut self, expr: Node<'a>) -> Option<PlaceId> {
        let mut cur = expr;
        while cur.kind() == "parenthesized_expression" {
            cur = cur.named_child(0)?;
        }
        let is_receive = cur.kind() == "unary_expression"
            && cur
                .child_by_field_name("operator")
                .is_some_and(|o| self.text(o) == "<-");
        if !is_receive {
            return None;
        }
        self.place_of(cur.child_by_field_name("operand")?)
    }

    /// The argument of a `reflect.ValueOf(x)` call.
    fn reflected(&self, call: Node<'a>) -> Option<Node<'a>> {
        let function = call.child_by_field_name("function")?;
        let package = function.child_by_field_name("operand")?;
        let is_value_of = function.kind() == "selector_expression"
            && self.text(function.child_by_field_name("field")?) == "ValueOf"
            && self.lookup(self.text(package)).is_none()
            && self
                .imports
                .get(self.text(package))
                .is_some_and(|p| p == "reflect");
        let args = Self::arguments(call);
        (is_value_of && args.len() == 1).then(|| args[0])
    }

    /// The place of an expression that denotes a map (not one retired by `init`).
    fn map_place(&mut self, node: Node<'a>) -> Option<PlaceId> {
        let place = self.place_of(node)?;
        let root = &self.facts.bindings[self.facts.places[place as usize].root as usize];
        if root.func.is_none() && self.facts.decls.retired.contains(&root.name) {
            return None;
        }
        self.facts.place_type(place).is_map().then_some(place)
    }

    /// What is known of an expression's type; loops through parentheses, dereferences
    /// and indexing.
    fn expr_type(&mut self, node: Node<'a>) -> TypeInfo {
        let mut elements = 0;
        let mut cur = node;
        loop {
            let next = match cur.kind() {
                "parenthesized_expression" => cur.named_child(0),
                "unary_expression" => {
                    // `<-ch` has the channel's element type.
                    if cur
                        .child_by_field_name("operator")
                        .is_some_and(|o| self.text(o) == "<-")
                    {
                        elements += 1;
                    }
                    cur.child_by_field_name("operand")
                        .filter(|o| o.kind() != "composite_literal")
                }
                "index_expression" => {
                    elements += 1;
                    cur.child_by_field_name("operand")
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
            "call_expression" => match self.returned_place(cur, 0) {
                Some((place, _)) => self.facts.place_type(place),
                None => literal_type(cur, self.src, &self.facts.decls),
            },
            _ => literal_type(cur, self.src, &self.facts.decls),
        };
        for _ in 0..elements {
            ty = match ty {
                TypeInfo::Map { value, .. } | TypeInfo::Slice(value) | TypeInfo::Chan(value) => {
                    *value
                }
                _ => return TypeInfo::Unknown,
            };
        }
        ty
    }

    // ----- statements -----

    fn enter_nesting(&mut self, node: Node<'_>) -> bool {
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

    fn block(&mut self, block: Node<'a>) {
        self.scopes.push(Vec::new());
        let mut cursor = block.walk();
        for child in block.named_children(&mut cursor) {
            if child.kind() == "statement_list" {
                self.statements(child);
            }
        }
        self.scopes.pop();
    }

    fn statements(&mut self, list: Node<'a>) {
        let mut cursor = list.walk();
        for stmt in list.named_children(&mut cursor) {
            self.statement(stmt);
        }
    }

    fn statement(&mut self, node: Node<'a>) {
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
                    if let Some(e) = node.child_by_field_name(field) {
                        self.expr(e);
                    }
                }
                if let Some(place) = node
                    .child_by_field_name("channel")
                    .and_then(|c| self.place_of(c))
                {
                    self.push(EventKind::Signal { sync: place }, node);
                    // A map sent on a channel: whoever receives from it holds the same map.
                    if let Some(value) = node
                        .child_by_field_name("value")
                        .and_then(|v| self.map_place(v))
                    {
                        self.facts.sent.push((place, value));
                    }
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
                let inner: Vec<_> = node.named_children(&mut cursor).skip(1).collect();
                for s in inner {
                    self.statement(s);
                }
            }
            "return_statement" => {
                if let Some(list) = node.named_child(0) {
                    self.expr(list);
                    self.returned(list);
                }
                self.flow.exit();
            }
            "break_statement" | "continue_statement" | "goto_statement" => {
                self.flow.terminated = true;
            }
            _ => {}
        }
        self.depth -= 1;
    }

    /// Records the shared storage (maps, structs holding maps) a declared function's
    /// `return` hands its caller, with the locks held where it was taken (not for `return`s
    /// of inline function literals).
    fn returned(&mut self, list: Node<'a>) {
        if !matches!(self.defer_target, DeferMode::FuncEnd(_)) {
            return;
        }
        for (index, expr) in Self::list(Some(list)).into_iter().enumerate() {
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

    fn list(node: Option<Node<'a>>) -> Vec<Node<'a>> {
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

    fn short_var_declaration(&mut self, node: Node<'a>) {
        let left = Self::list(node.child_by_field_name("left"));
        let right = Self::list(node.child_by_field_name("right"));
        self.initializers(&left, &right);
        self.declare_from(&left, &right);
    }

    /// Walks initializers, except function literals bound to a name: `declare_from` makes
    /// those bodies of their own, run where the variable is called.
    fn initializers(&mut self, left: &[Node<'a>], right: &[Node<'a>]) {
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
    fn declare_from(&mut self, left: &[Node<'a>], right: &[Node<'a>]) {
        let paired = left.len() == right.len();
        for (i, &name) in left.iter().enumerate() {
            if name.kind() != "identifier" {
                continue;
            }
            let text = self.text(name);
            if self
                .scopes
                .last()
                .is_some_and(|s| s.iter().any(|(n, _)| *n == text))
            {
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
            let received_from = source.and_then(|r| self.received_channel(r));
            let field_aliases = match paired {
                true => self.literal_fields(right[i]),
                false => Vec::new(),
            };
            let mut via = None;
            let (ty, alias, func_value) = if !paired {
                match right {
                    // `m, ok := s.Lookup(k)`: a result the callee shares.
                    [call] if call.kind() == "call_expression" => {
                        match self.returned_place(*call, i) {
                            Some((place, escape)) => {
                                via = Some(escape);
                                (TypeInfo::Unknown, Some(place), None)
                            }
                            None => (TypeInfo::Unknown, None, None),
                        }
                    }
                    // `inner, ok := m[k]` of a nested map: the first name holds the inner map.
                    [index] if i == 0 && index.kind() == "index_expression" => {
                        match self.map_place(*index) {
                            Some(place) => {
                                via = self.last_via;
                                (self.facts.place_type(place), Some(place), None)
                            }
                            None => (TypeInfo::Unknown, None, None),
                        }
                    }
                    _ => (TypeInfo::Unknown, None, None),
                }
            } else if right[i].kind() == "func_literal" {
                let body = self.literal_func(right[i], &[]);
                (TypeInfo::Unknown, None, Some(Target::literal(body)))
            } else {
                let func_value = self.func_target(right[i], &[]);
                let ty = self.expr_type(right[i]);
                let alias = self.place_of(right[i]);
                via = self.last_via;
                (ty, alias, func_value)
            };
            // `c := *p`: a copy of the struct `p` points to.
            let by_value = paired
                && right[i].kind() == "unary_expression"
                && right[i]
                    .child_by_field_name("operator")
                    .is_some_and(|o| self.text(o) == "*")
                && matches!(&ty, TypeInfo::Named(n) if self.facts.decls.structs.contains_key(n));
            let fresh = paired && self.is_fresh_value(right[i]);
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
                binding.func_value = func_value;
                binding.loaded_from = loaded_from;
                binding.returned_by = via;
                binding.received_from = received_from;
                binding.field_aliases = field_aliases;
                if alias.is_some() {
                    self.alias_locks.insert(id, self.flow.locks.clone());
                }
            }
        }
    }

    /// Whether an expression makes a new value: `T{...}`, `&T{...}`, `new(T)`, or a call of
    /// a constructor by the Go convention (`NewT(...)`, `newT(...)`, `pkg.NewT(...)`).
    fn is_fresh_value(&self, expr: Node<'a>) -> bool {
        match expr.kind() {
            "composite_literal" => true,
            "unary_expression" => expr
                .child_by_field_name("operand")
                .is_some_and(|o| o.kind() == "composite_literal"),
            "call_expression" => {
                let name = match expr.child_by_field_name("function") {
                    Some(f) if f.kind() == "identifier" => self.text(f),
                    Some(f) if f.kind() == "selector_expression" => {
                        f.child_by_field_name("field").map_or("", |n| self.text(n))
                    }
                    _ => "",
                };
                name == "new" || name.starts_with("New") || name.starts_with("new")
            }
            _ => false,
        }
    }

    /// The `Load` call an expression's value comes from, if any: `c.Load()`,
    /// `c.Load().(T)`, `*p.Load()`, `m.Load(k)`, `m.LoadOrStore(k, v)`, a gRPC metadata
    /// getter that returns the context's own map, or a variable holding such a value
    /// (whether it is a map is the type's business).
    fn loaded_from(&self, expr: Node<'a>) -> Option<Load> {
        let mut node = expr;
        loop {
            match node.kind() {
                "parenthesized_expression" | "type_assertion_expression" => {
                    node = node.named_child(0)?;
                }
                "unary_expression" if node.child(0).is_some_and(|op| op.kind() == "*") => {
                    node = node.child_by_field_name("operand")?;
                }
                "identifier" => {
                    let binding = self.lookup(self.text(node))?;
                    return self.facts.bindings[binding as usize].loaded_from.clone();
                }
                "call_expression" => {
                    let function = node.child_by_field_name("function")?;
                    let method = function.child_by_field_name("field")?;
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
    fn shared_metadata(&self, function: Node<'a>, getter: &str) -> Option<LoadSource> {
        let package = function.child_by_field_name("operand")?;
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

    fn var_declaration(&mut self, node: Node<'a>) {
        for spec in var_specs(node) {
            let values = Self::list(spec.child_by_field_name("value"));
            let mut cursor = spec.walk();
            let names: Vec<_> = spec.children_by_field_name("name", &mut cursor).collect();
            self.initializers(&names, &values);
            let declared = spec
                .child_by_field_name("type")
                .map(|t| type_of_type_node(t, self.src, &self.facts.decls));
            match declared {
                Some(ty) => {
                    for (i, &name) in names.iter().enumerate() {
                        let alias = values.get(i).and_then(|&v| self.place_of(v));
                        self.declare(name, ty.clone(), alias);
                    }
                }
                None => self.declare_from(&names, &values),
            }
        }
    }

    fn assignment(&mut self, node: Node<'a>) {
        let left = Self::list(node.child_by_field_name("left"));
        let right = Self::list(node.child_by_field_name("right"));
        let op = match node.child_by_field_name("operator").map(|o| self.text(o)) {
            Some("=") => AccessOp::Assign,
            _ => AccessOp::Update,
        };
        // `var crawl func(); crawl = func() {...}`: the variable now holds that function
        // (declared first so that the literal can call itself recursively).
        let mut bodies = Vec::new();
        for (i, &r) in right.iter().enumerate() {
            let named = left
                .get(i)
                .filter(|l| l.kind() == "identifier" && left.len() == right.len());
            match named.and_then(|&l| self.lookup(self.text(l))) {
                Some(b) if op == AccessOp::Assign && r.kind() == "func_literal" => {
                    bodies.push((b, r))
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
        for (i, &l) in left.iter().enumerate() {
            self.lvalue(l, op);
            if op == AccessOp::Assign {
                self.reassigned(l);
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
                }
            }
        }
    }

    /// `m = value`: in the variable's own block (not a branch, where other paths keep what
    /// it held), it now holds what `value` loads, if anything; a copy (`md = md.Copy()`,
    /// `m = maps.Clone(m)`) is its own on any path. In a branch otherwise (`if !ok { md =
    /// metadata.New(nil) }`), the loaded map may still be there after it.
    fn reloaded(&mut self, target: Node<'a>, value: Node<'a>) {
        if target.kind() != "identifier" {
            return;
        }
        let Some(b) = self.lookup(self.text(target)) else {
            return;
        };
        let loaded = self.loaded_from(value);
        let copies = value.kind() == "call_expression"
            && value
                .child_by_field_name("function")
                .and_then(|f| f.child_by_field_name("field"))
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

    /// Whether `field` is a field of the struct type `ty` declared in the package.
    fn is_field(&self, ty: &str, field: &str) -> bool {
        self.facts
            .decls
            .structs
            .get(ty)
            .is_some_and(|s| s.fields.contains_key(field))
    }

    /// `h.f = fn` or `h.f = h.method`: calls of `x.f` on any value of `h`'s type run that
    /// function (a method value only when bound to the holder itself, the callback pattern
    /// `m.OnChange = m.onChange`). A field assigned different functions resolves to none.
    fn field_func_assigned(&mut self, target: Node<'a>, value: Node<'a>) {
        let (Some(operand), Some(field)) = (
            target.child_by_field_name("operand"),
            target.child_by_field_name("field"),
        ) else {
            return;
        };
        if target.kind() != "selector_expression" || value.kind() == "func_literal" {
            return;
        }
        let TypeInfo::Named(ty) = self.expr_type(operand) else {
            return;
        };
        let field = self.text(field).to_string();
        if !self.is_field(&ty, &field) {
            return;
        }
        let Some((callee, receiver)) = self.callee_of(value) else {
            return;
        };
        let stored = match callee {
            Callee::Func(_) if receiver.is_none() => callee,
            Callee::Method(..) if receiver.is_some() && receiver == self.place_of(operand) => {
                callee
            }
            _ => return,
        };
        self.facts
            .field_funcs
            .entry((ty, field))
            .and_modify(|known| {
                if known.as_ref() != Some(&stored) {
                    *known = None;
                }
            })
            .or_insert(Some(stored));
    }

    /// `c.f = v` on a struct copy `c` changes the copy only: from here on `c.f` is `v`'s
    /// storage, or the copy's own (`c.f = make(...)`), no longer the original's.
    fn copy_field_assigned(&mut self, target: Node<'a>, value: Node<'a>) {
        let (Some(operand), Some(field)) = (
            target.child_by_field_name("operand"),
            target.child_by_field_name("field"),
        ) else {
            return;
        };
        if target.kind() != "selector_expression" || operand.kind() != "identifier" {
            return;
        }
        let Some(copied) = self
            .lookup(self.text(operand))
            .filter(|&b| self.facts.bindings[b as usize].by_value)
        else {
            return;
        };
        let field = self.text(field).to_string();
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
    fn reassigned(&mut self, target: Node<'a>) {
        if target.kind() == "identifier" {
            if let Some(b) = self.lookup(self.text(target)) {
                let binding = &mut self.facts.bindings[b as usize];
                binding.field_aliases.clear();
                if binding.alias.take().is_some() {
                    return;
                }
            }
        }
        // `e.Attrs = fresh` ends `e.Attrs` standing for the literal's map.
        if let (Some(operand), Some(field)) = (
            target.child_by_field_name("operand"),
            target.child_by_field_name("field"),
        ) {
            if target.kind() == "selector_expression" && operand.kind() == "identifier" {
                if let Some(b) = self.lookup(self.text(operand)) {
                    let field = self.text(field);
                    let aliases = &mut self.facts.bindings[b as usize].field_aliases;
                    let before = aliases.len();
                    aliases.retain(|(f, _)| f != field);
                    if aliases.len() < before {
                        return;
                    }
                }
            }
        }
        let Some(place) = self.place_of(target) else {
            return;
        };
        let func = Some(self.func);
        for scope in &self.scopes {
            for &(_, b) in scope {
                let binding = &mut self.facts.bindings[b as usize];
                if binding.func == func && binding.alias == Some(place) {
                    binding.alias = None;
                }
            }
        }
    }

    fn lvalue(&mut self, node: Node<'a>, op: AccessOp) {
        match node.kind() {
            "index_expression" => self.index_access(node, op),
            "identifier" => {}
            "parenthesized_expression" => {
                if let Some(inner) = node.named_child(0) {
                    self.lvalue(inner, op);
                }
            }
            "selector_expression" | "unary_expression" => {
                if let Some(operand) = node.child_by_field_name("operand") {
                    self.expr(operand);
                }
            }
            _ => self.expr(node),
        }
    }

    fn if_statement(&mut self, node: Node<'a>) {
        self.scopes.push(Vec::new());
        if let Some(init) = node.child_by_field_name("initializer") {
            self.statement(init);
        }
        if let Some(cond) = node.child_by_field_name("condition") {
            self.expr(cond);
        }
        let entry = self.flow.clone();
        // `if needLock { mu.Lock() }` on a parameter: the caller says whether it holds the
        // lock already, so the code after it holds the lock either way.
        let flag = node
            .child_by_field_name("condition")
            .filter(|c| c.kind() == "identifier")
            .and_then(|c| self.lookup(self.text(c)))
            .is_some_and(|b| self.facts.bindings[b as usize].param)
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
        let then = self.in_frame(CtlKind::Branch, |w| {
            acquired(w, true);
            if let Some(b) = node.child_by_field_name("consequence").filter(|_| !dead) {
                w.block(b);
            }
        });
        let otherwise = match node.child_by_field_name("alternative") {
            Some(alt) => self.in_frame(CtlKind::Branch, |w| {
                acquired(w, false);
                w.statement(alt);
            }),
            None => {
                let after = std::mem::replace(&mut self.flow, entry);
                acquired(self, false);
                std::mem::replace(&mut self.flow, after)
            }
        };
        let taken = flag.then(|| then.clone());
        self.flow = Flow::join(vec![then, otherwise]);
        if let Some(taken) = taken.filter(|t| !t.terminated && !self.flow.terminated) {
            for &(place, mode) in &taken.locks {
                if !held_before.iter().any(|&(p, _)| p == place) {
                    self.flow.lock(place, mode);
                }
            }
        }
        self.scopes.pop();
    }

    /// A condition `mu.TryLock()` or `mu.TryRLock()`, possibly negated: the call, the
    /// mutex, the mode, and whether the lock is held when the condition is true.
    fn try_lock(&mut self, cond: Node<'a>) -> Option<(Node<'a>, PlaceId, LockMode, bool)> {
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
    fn is_false_constant(&self, cond: Node<'_>) -> bool {
        cond.kind() == "identifier"
            && self.lookup(self.text(cond)).is_none()
            && self.facts.decls.false_consts.contains(self.text(cond))
    }

    fn for_statement(&mut self, node: Node<'a>) {
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
        let body_end = self.in_frame(CtlKind::Loop, |w| {
            w.scopes.push(Vec::new());
            if let Some(right) = range_right {
                let (elem, received) = match w.expr_type(right) {
                    TypeInfo::Map { value, .. } | TypeInfo::Slice(value) => (*value, None),
                    TypeInfo::Chan(value) => (*value, w.place_of(right)),
                    _ => (TypeInfo::Unknown, None),
                };
                // The value (second) variable of a range over a map or slice has its element
                // type; the one variable of a range over a channel receives its elements.
                let value_index = if received.is_some() { 0 } else { 1 };
                for (i, &name) in range_left.iter().enumerate() {
                    if name.kind() == "identifier" {
                        let ty = if i == value_index {
                            elem.clone()
                        } else {
                            TypeInfo::Unknown
                        };
                        if let Some(id) = w.declare(name, ty, None) {
                            w.facts.bindings[id as usize].received_from = received;
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
    }

    /// `range x`: reads a map, or waits on a channel until it is closed.
    fn range_over(&mut self, right: Node<'a>) {
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
            _ => self.expr(right),
        }
    }

    fn switch_statement(&mut self, node: Node<'a>) {
        self.scopes.push(Vec::new());
        if let Some(init) = node.child_by_field_name("initializer") {
            self.statement(init);
        }
        if let Some(value) = node.child_by_field_name("value") {
            self.expr(value);
        }
        let alias = Self::list(node.child_by_field_name("alias"));
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
                for &a in &alias {
                    w.declare(a, TypeInfo::Unknown, None);
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

    fn case_body(&mut self, case: Node<'a>) {
        let mut cursor = case.walk();
        let lists: Vec<_> = case
            .named_children(&mut cursor)
            .filter(|c| c.kind() == "statement_list")
            .collect();
        for list in lists {
            self.statements(list);
        }
    }

    fn select_statement(&mut self, node: Node<'a>) {
        let mut flows = Vec::new();
        let mut cursor = node.walk();
        let cases: Vec<_> = node
            .named_children(&mut cursor)
            .filter(|c| matches!(c.kind(), "communication_case" | "default_case"))
            .collect();
        for case in cases {
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
        }
        if flows.is_empty() {
            return;
        }
        self.flow = Flow::join(flows);
    }

    // ----- goroutines and deferred calls -----

    fn go_statement(&mut self, stmt: Node<'a>, call: Node<'a>) {
        if call.kind() != "call_expression" {
            self.expr(call);
            return;
        }
        let args = Self::arguments(call);
        // A function literal handed to the goroutine's function (`go run(name, func() {...})`)
        // runs on that goroutine, not in the spawner: it is a goroutine started here.
        let mut literals = Vec::new();
        for &a in &args {
            if a.kind() == "func_literal" {
                literals.push(self.literal_func(a, &[]));
            } else {
                self.expr(a);
            }
        }
        let Some(function) = call.child_by_field_name("function") else {
            return;
        };
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
        if let Some(operand) = function.child_by_field_name("operand") {
            self.expr(operand);
        }
        if let Some(target) = self.func_target(function, &args) {
            self.spawn(stmt, target, SpawnVia::GoStatement, None, false);
        }
    }

    /// Records a goroutine running `target`. It starts after the call's arguments are
    /// evaluated: at the end of `site`.
    fn spawn(
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
    fn spawn_function_arg(
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
            self.expr(function);
            self.func_target(function, &[])
        };
        if let Some(target) = target {
            self.spawn(site, target, via, signals, repeated);
        }
    }

    /// Walks a function literal as a body of its own (a goroutine, or a function stored in
    /// a variable), with `args` bound to its parameters.
    fn literal_func(&mut self, literal: Node<'a>, args: &[Node<'a>]) -> FuncId {
        self.literal_count += 1;
        let name = format!("{}.func{}", self.top_name, self.literal_count);
        let func = self.new_func(name, literal, false);
        let saved = self.enter(func);
        self.scopes.push(Vec::new());
        if let Some(params) = literal.child_by_field_name("parameters") {
            let params = self.parameters(params, args);
            self.current().params = params;
        }
        let deferred_before = self.deferred_unlocks.len();
        if let Some(body) = literal.child_by_field_name("body") {
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

    /// The package function or method an expression denotes, with the places bound to its
    /// receiver and to `args`.
    fn func_target(&mut self, function: Node<'a>, args: &[Node<'a>]) -> Option<Target> {
        let (callee, receiver) = self.callee_of(function)?;
        let args = args.iter().map(|&a| self.place_of(a)).collect();
        Some(Target {
            callee,
            receiver,
            args,
        })
    }

    fn callee_of(&mut self, function: Node<'a>) -> Option<(Callee, Option<PlaceId>)> {
        let mut function = function;
        while function.kind() == "parenthesized_expression" {
            function = function.named_child(0)?;
        }
        match function.kind() {
            "identifier" => {
                let name = self.text(function);
                match self.lookup(name) {
                    Some(b) => self.facts.bindings[b as usize]
                        .func_value
                        .clone()
                        .map(|t| (t.callee, t.receiver)),
                    None => self
                        .facts
                        .decls
                        .funcs
                        .contains(name)
                        .then(|| (Callee::Func(name.to_string()), None)),
                }
            }
            "selector_expression" => {
                let operand = function.child_by_field_name("operand")?;
                let method = self.text(function.child_by_field_name("field")?);
                let ty = match self.expr_type(operand) {
                    TypeInfo::Named(ty) | TypeInfo::Map { name: Some(ty), .. } => ty,
                    _ => return None,
                };
                // A call through an interface of the package reaches its one implementation;
                // a call of a function-valued field, what the package stores in it.
                let (owner, path) = match self.facts.decls.method_owner(&ty, method) {
                    Some(found) => found,
                    None => match self.facts.decls.sole_implementer(&ty, method) {
                        Some(implementer) => (implementer.to_string(), Vec::new()),
                        None if self.is_field(&ty, method) => (ty, Vec::new()),
                        None => return None,
                    },
                };
                let mut receiver = self.place_of(operand);
                for field in path {
                    receiver = receiver.map(|r| self.facts.select(r, &field));
                }
                Some((Callee::Method(owner, method.to_string()), receiver))
            }
            _ => None,
        }
    }

    /// `defer f(args)`: the arguments are evaluated now, the call runs when the body returns.
    fn defer_statement(&mut self, call: Node<'a>) {
        self.flow.deferred = true;
        let outer_ctl = self.ctl;
        let outer_mode = self.defer_mode;
        if call.kind() == "call_expression" {
            for a in Self::arguments(call) {
                self.expr(a);
            }
        }
        self.defer_mode = Some(outer_mode.unwrap_or(self.defer_target));
        // Deferred code runs however the body returns: it belongs to no loop or branch.
        self.ctl = 0;
        let entry_locks = self.flow.locks.clone();
        self.in_deferred_call = true;
        self.deferred_call(call);
        self.in_deferred_call = false;
        self.flow.locks = entry_locks;
        self.ctl = outer_ctl;
        self.defer_mode = outer_mode;
    }

    fn deferred_call(&mut self, call: Node<'a>) {
        if call.kind() != "call_expression" {
            self.expr(call);
            return;
        }
        match call.child_by_field_name("function") {
            Some(f) if f.kind() == "func_literal" => self.inline_literal(f, &Self::arguments(call)),
            // Arguments were evaluated at the defer statement; only the call itself is late.
            _ => self.call(call, false),
        }
    }

    /// A function literal that runs on the current goroutine (called here, later, or by a
    /// callee): its events belong to the enclosing body, in a branch of their own.
    fn inline_literal(&mut self, literal: Node<'a>, args: &[Node<'a>]) {
        let outer_target = self.defer_target;
        let outer_deferred_call = std::mem::take(&mut self.in_deferred_call);
        self.defer_target = DeferMode::LiteralEnd(literal.end_byte());
        self.inline_literals += 1;
        self.in_frame(CtlKind::Branch, |w| {
            w.scopes.push(Vec::new());
            if let Some(params) = literal.child_by_field_name("parameters") {
                w.parameters(params, args);
            }
            if let Some(body) = literal.child_by_field_name("body") {
                w.block(body);
            }
            w.scopes.pop();
        });
        self.inline_literals -= 1;
        self.defer_target = outer_target;
        self.in_deferred_call = outer_deferred_call;
    }

    // ----- expressions -----

    fn arguments(call: Node<'a>) -> Vec<Node<'a>> {
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
    fn expr(&mut self, node: Node<'a>) {
        if !self.enter_nesting(node) {
            return;
        }
        match node.kind() {
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
            "func_literal" => self.inline_literal(node, &[]),
            "composite_literal" => {
                if let Some(body) = node.child_by_field_name("body") {
                    self.expr(body);
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

    /// `x[i]` read or written: an access when `x` is a map, otherwise an ordinary expression.
    fn index_access(&mut self, node: Node<'a>, op: AccessOp) {
        if let Some(operand) = node.child_by_field_name("operand") {
            self.access_or_expr(operand, op, node);
        }
        if let Some(index) = node.child_by_field_name("index") {
            self.expr(index);
        }
    }

    /// Records `op` on the map `target` denotes, or walks `target` when it is no known map.
    /// An element map (`m[a]` in `m[a][b] = v`) is also a read of the map holding it.
    fn access_or_expr(&mut self, target: Node<'a>, op: AccessOp, site: Node<'a>) {
        match self.map_place(target) {
            Some(place) => {
                let via = self.last_via;
                if matches!(target.kind(), "index_expression" | "call_expression") {
                    self.expr(target);
                }
                self.push_access(place, op, site, via);
            }
            None => self.expr(target),
        }
    }

    /// A call; `with_args` is false for a deferred call whose arguments were already walked.
    fn call(&mut self, call: Node<'a>, with_args: bool) {
        let args = Self::arguments(call);
        let Some(function) = call.child_by_field_name("function") else {
            return;
        };
        self.service_registration(function, &args);
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
                    "make" | "new" => walk_args(self, 1),
                    "panic" => {
                        walk_args(self, 0);
                        self.flow.exit();
                    }
                    name if self.facts.decls.spawning.contains_key(name) => {
                        self.call_spawning(call, function, &args, with_args);
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

    /// Notes the type of the service a `Register…Server(s, impl)` call registers.
    fn service_registration(&mut self, function: Node<'a>, args: &[Node<'a>]) {
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

    /// A call of a package function that runs function arguments on other goroutines
    /// (`parallel(func() {...}, func() {...})`): each such argument starts a goroutine at the
    /// call, joined when the call returns if the function waits for its goroutines.
    fn call_spawning(
        &mut self,
        call: Node<'a>,
        function: Node<'a>,
        args: &[Node<'a>],
        with_args: bool,
    ) {
        let name = self.text(function);
        let spawning = self.facts.decls.spawning[name].clone();
        let join = spawning.waits.then(|| self.join_place(name, call));
        for (i, &arg) in args.iter().enumerate() {
            if spawning.runs(i) {
                let via = SpawnVia::Api(name.to_string());
                self.spawn_function_arg(arg, arg, via, join, spawning.repeated);
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
    fn join_place(&mut self, name: &str, call: Node<'a>) -> PlaceId {
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
    fn record_call(&mut self, call: Node<'a>, function: Node<'a>, args: &[Node<'a>]) {
        self.param_called(function);
        if let Some(target) = self.func_target(function, args) {
            let literals = args
                .iter()
                .enumerate()
                .filter(|(_, a)| a.kind() == "func_literal")
                .map(|(i, a)| (i, a.byte_range()))
                .collect();
            self.push_at(EventKind::Call { target, literals }, call, call.end_byte());
        } else {
            self.imported_call(call, function);
        }
    }

    /// A call of a method another package of the module declares (`st.Add(k)` on a
    /// `*store.Store`): its accesses to the receiver's maps happen at the call, with the
    /// receiver's locks it takes there held besides the caller's.
    fn imported_call(&mut self, call: Node<'a>, function: Node<'a>) {
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

    /// A call of a function-typed parameter while locks are held: `withLock(f)` helpers.
    fn param_called(&mut self, function: Node<'a>) {
        if function.kind() != "identifier" || self.flow.locks.is_empty() {
            return;
        }
        let Some(b) = self.lookup(self.text(function)) else {
            return;
        };
        let locks = self.flow.locks.clone();
        let func = self.current();
        if let Some(index) = func.params.iter().position(|&p| p == Some(b)) {
            func.lock_effect.runs_param_locked.push((index, locks));
        }
    }

    fn selector_call(
        &mut self,
        call: Node<'a>,
        function: Node<'a>,
        args: &[Node<'a>],
        with_args: bool,
    ) {
        let (Some(operand), Some(field)) = (
            function.child_by_field_name("operand"),
            function.child_by_field_name("field"),
        ) else {
            return;
        };
        let method = self.text(field);
        let package = (operand.kind() == "identifier" && self.lookup(self.text(operand)).is_none())
            .then(|| self.imports.get(self.text(operand)))
            .flatten();
        if let Some(path) = package {
            let path = path.clone();
            self.package_call(call, &path, method, args, with_args);
            return;
        }
        let walk_args = |w: &mut Self| {
            if with_args {
                for &a in args {
                    w.expr(a);
                }
            }
        };
        if let Some(op) = self.apis.lock_op(method, args.len()) {
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
            // `wg.Wait()`, and closers' `SignalAndWait()`, `StopAndWait()`.
            (_, 0) if matches!(method, "Wait" | "Done") || method.ends_with("AndWait") => {
                self.expr(operand);
                if let Some(place) = self.place_of(operand) {
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
            ("Do", 1) if args[0].kind() == "func_literal" => {
                self.expr(operand);
                let outer = std::mem::replace(&mut self.in_once, true);
                self.inline_literal(args[0], &[]);
                self.in_once = outer;
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
                walk_args(self);
                self.record_call(call, function, args);
                // `t.Fatalf(...)`, `b.FailNow()`, `logger.Fatal(...)`: the path ends here.
                if NEVER_RETURN.contains(&method) {
                    self.flow.exit();
                }
            }
        }
    }

    /// A lock or unlock of the receiver `operand`: updates the lock set and records it.
    fn lock_op(&mut self, call: Node<'a>, operand: Node<'a>, op: LockOp) {
        // A deferred unlock runs at return: the lock stays held until then.
        if self.in_deferred_call {
            if op == LockOp::Release {
                if let Some(place) = self.lock_place(operand) {
                    self.deferred_unlocks.push(place);
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
                self.flow.unlock(place);
                return;
            }
        };
        self.push(EventKind::Lock { place, mode }, call);
        self.flow.lock(place, mode);
    }

    /// The mutex a lock call's operand denotes: the place it names, unless it lies inside a
    /// struct copy (`c.mu` of a value receiver `c`), whose mutex is the copy's own.
    fn lock_place(&mut self, operand: Node<'a>) -> Option<PlaceId> {
        self.copied_lock(operand).or_else(|| self.place_of(operand))
    }

    /// The copy's own mutex when `operand` selects, through no pointer, a mutex of a
    /// variable holding a struct copy.
    fn copied_lock(&mut self, operand: Node<'a>) -> Option<PlaceId> {
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
    fn copy_storage(&mut self, copied: BindingId) -> BindingId {
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

    fn package_call(
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
}

impl<'a> Walker<'a, '_> {
    /// An argument the callee touches with `op` if it is a map; other arguments are walked
    /// unless they were evaluated already (a deferred call).
    fn map_argument(&mut self, arg: Node<'a>, op: AccessOp, with_args: bool) {
        match self.map_place(arg) {
            Some(place) => {
                let via = self.last_via;
                if arg.kind() == "call_expression" {
                    self.expr(arg);
                }
                self.push_access(place, op, arg, via);
            }
            None if with_args => self.expr(arg),
            None => {}
        }
    }
}

/// Whether `t.Run(name, func(t *testing.T) { t.Parallel(); ... })` runs a parallel subtest:
/// the literal calls `Parallel` on its own parameter.
fn is_parallel_subtest(function: Node<'_>, src: &str) -> bool {
    if function.kind() != "func_literal" {
        return false;
    }
    let param = function
        .child_by_field_name("parameters")
        .and_then(|p| p.named_child(0))
        .and_then(|p| p.child_by_field_name("name"));
    let (Some(param), Some(body)) = (param, function.child_by_field_name("body")) else {
        return false;
    };
    let call = format!("{}.Parallel()", &src[param.byte_range()]);
    src[body.byte_range()].contains(&call)
}

/// The parameter types of a request handler, in the frameworks Go services use: a function
/// or method declared with exactly these parameters exists to serve requests, each on its
/// own goroutine, wherever (even in another package) it is registered.
const HANDLER_SIGNATURES: &[&[&str]] = &[
    &["http.ResponseWriter", "*http.Request"],
    &["*gin.Context"],
    &["echo.Context"],
    &["*fiber.Ctx"],
];

/// gRPC's `metadata.MD`, a map type with known methods.
fn metadata_type() -> TypeInfo {
    TypeInfo::Map {
        value: Box::new(TypeInfo::Unknown),
        name: Some("metadata.MD".to_string()),
    }
}

/// Whether a parameter list is a request handler's (see [`HANDLER_SIGNATURES`]).
fn handler_shaped(list: Node<'_>, src: &str) -> bool {
    let mut types = Vec::new();
    let mut cursor = list.walk();
    for param in list.named_children(&mut cursor) {
        let Some(ty) = param.child_by_field_name("type") else {
            return false;
        };
        let names = param
            .children_by_field_name("name", &mut param.walk())
            .count();
        let ty: String = src[ty.byte_range()].split_whitespace().collect();
        types.extend(std::iter::repeat_n(ty, names.max(1)));
    }
    HANDLER_SIGNATURES
        .iter()
        .any(|sig| sig.iter().eq(types.iter()))
}

/// Whether a function's name or doc comment says its callers hold the lock.
fn assumes_lock(decl: Node<'_>, src: &str) -> bool {
    let name = decl
        .child_by_field_name("name")
        .map_or("", |n| &src[n.byte_range()]);
    if name.ends_with("Locked") || name.ends_with("_locked") {
        return true;
    }
    // The doc comment's words, one space apart, so that a phrase may span lines.
    let mut lines = Vec::new();
    let mut prev = decl.prev_named_sibling();
    while let Some(c) = prev.filter(|c| c.kind() == "comment") {
        lines.push(src[c.byte_range()].to_lowercase());
        prev = c.prev_named_sibling();
    }
    lines.reverse();
    let doc = lines
        .iter()
        .flat_map(|l| {
            l.trim_start_matches("//")
                .trim_start_matches("/*")
                .trim_end_matches("*/")
                .split_whitespace()
        })
        .collect::<Vec<_>>()
        .join(" ");
    const PHRASES: &[&str] = &[
        "must be called with",
        "must be held",
        "should be held",
        "must hold",
        "caller holds",
        "callers hold",
        "caller must hold",
        "lock held",
        "lock is held",
        "mu held",
        "mu is held",
        "+checklocks:",
        "assumes we have",
        "assumes the caller",
        "assumes caller",
        "should be called with",
        "must be locked",
        "requires the lock",
        "callers must serialize",
    ];
    PHRASES.iter().any(|p| doc.contains(p)) || states_lock_contract(&doc)
}

/// Whether a doc comment (lowercase words, one space apart) asks its callers to hold a lock
/// in other words: "hold ref lock before calling", "call when holding the manager lock",
/// "requires that solver.mu is read-locked". A negated "does not hold" is no contract.
fn states_lock_contract(doc: &str) -> bool {
    let words: Vec<&str> = doc
        .split(' ')
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric() && c != '.' && c != '-'))
        .map(|w| w.trim_end_matches('.'))
        .collect();
    let is_lock =
        |w: &str| w.contains("lock") || w.contains("mutex") || w == "mu" || w.ends_with(".mu");
    let negated = |i: usize| {
        i > 0
            && matches!(
                words[i - 1],
                "not" | "never" | "without" | "doesn't" | "don't"
            )
    };
    words.iter().enumerate().any(|(i, &w)| {
        let ahead = || words[i + 1..].iter().take(5);
        match w {
            "hold" | "holding" => !negated(i) && ahead().any(|w| is_lock(w)),
            "requires" | "require" => {
                ahead().any(|w| matches!(*w, "locked" | "read-locked" | "write-locked" | "held"))
            }
            "calling" => {
                i > 0 && words[i - 1] == "before" && {
                    let start = i.saturating_sub(6);
                    words[start..i - 1].iter().any(|w| is_lock(w))
                }
            }
            _ => false,
        }
    })
}

/// The last element of an import path: `net/http` → `http`.
fn short_package(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}
