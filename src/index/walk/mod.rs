//! The body walker: one pass over each function, resolving names through scopes and
//! recording events with lock sets and control frames.

use crate::fields::{Field, FieldExt};
use std::collections::{HashMap, HashSet};
use std::ops::Range;

use tree_sitter::Node;

use super::apis::{known_map, Apis, LockOp, PackageCall};
use super::decls::{self, literal_type};
use super::globals::var_specs;
use super::types::{type_of_type_node, TypeInfo};
use super::{conds, rpc};
use super::{
    AccessOp, Binding, BindingId, Callee, Control, CtlId, CtlKind, Escape, EscapeId, Event,
    EventKind, FileId, Func, FuncId, IndexWarning, Load, LoadSource, LockMode, LockSet,
    PackageFacts, ParamRun, ParsedFile, Place, PlaceId, ReturnRoot, Returned, Serves, SpawnVia,
    Target,
};

mod assignments;
mod branches;
mod control;
mod declarations;
mod expressions;
mod function_args;
mod library_calls;
mod lock_ops;
mod loops;
mod places;
mod recognize;
mod scope;

pub(super) use recognize::handler_shaped;
mod spawns;

use recognize::{assumes_lock, is_parallel_subtest, metadata_type, short_package};

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
        scopes: scope::Scopes::default(),
        aliased_places: HashSet::new(),
        func: 0,
        ctl: 0,
        flow: Flow::default(),
        defer_target: DeferMode::FuncEnd(0),
        defer_mode: None,
        in_deferred_call: false,
        deferred_unlocks: Vec::new(),
        deferred_calls: Vec::new(),
        wait_group_adds: HashSet::new(),
        dropped_aliases: HashMap::new(),
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
        stripes: HashMap::new(),
        lock_guards: HashMap::new(),
        handed_on: Vec::new(),
        alias_indices: HashMap::new(),
        spawning_args: false,
        copies: HashMap::new(),
        latched: Vec::new(),
        gates: Vec::new(),
        inherited_latches: Vec::new(),
        own_indices: Vec::new(),
        pending_own_indices: Vec::new(),
        return_locks: Vec::new(),
        own_elements: HashMap::new(),
        branch_copy_fields: Vec::new(),
        replaced_field_alias: None,
        gotos: Vec::new(),
        literal_params: HashMap::new(),
        literal_args: HashMap::new(),
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
    /// Locks whose mode a condition decided: after `if exclusive { mu.Lock() } else {
    /// mu.RLock() }`, the lock is held as (condition text, lock, mode when true, mode when
    /// false); a later `if exclusive { … }` holds it in the mode its branch implies.
    decided: Vec<(String, PlaceId, LockMode, LockMode)>,
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
        self.decided.retain(|d| d.1 != place);
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
                decided: Vec::new(),
            };
        };
        out.deferred = deferred;
        for f in live {
            out.decided.retain(|d| f.decided.contains(d));
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    scopes: scope::Scopes<'a>,
    /// Every place a variable of the package has been made to stand for (`Binding::alias`),
    /// so that an assignment to any other place skips looking for copies of it.
    aliased_places: HashSet<PlaceId>,
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
    /// The events each `defer` recorded, by function and where it runs, with the locks held
    /// at the `defer`: a deferred unlock of one of them registered later runs earlier, so
    /// those events no longer hold it.
    deferred_calls: Vec<(FuncId, DeferMode, Vec<PlaceId>, Range<usize>)>,
    /// The places a function calls `Add(n)` on (a `sync.WaitGroup`, or anything else):
    /// its own `Done` of one of them signals no waiter.
    wait_group_adds: HashSet<(FuncId, PlaceId)>,
    /// The storage each variable named before it was assigned anew (`set = make(…)` after
    /// `set, ok := b.topics[t]`): storing it back there names that storage again.
    dropped_aliases: HashMap<BindingId, PlaceId>,
    /// Set inside `x.Do(func() {...})` of a `Once` that is no place (`get().Do(…)`): the body
    /// runs once, and every `Do` returns after it, so its map accesses (and calls) are
    /// initialization, not concurrent accesses. (A `Once` that is a place is held instead:
    /// see `LockMode::Published`.)
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
    /// For a lock selected by an index (`s.locks[shard].Lock()`, `s.shards[i].mu.Lock()`,
    /// `sh.mu.Lock()` of `sh := &s.shards[i]`): the indices of each acquisition still held,
    /// without white space (`gc` may hold `s.locks[i]` and `s.locks[j]` at once).
    stripes: HashMap<PlaceId, Vec<Vec<String>>>,
    /// The variables of the function being walked (and its literals) holding the guard a
    /// lock call returned (`g := s.mu.Lock("why")`), with the mutex their `Unlock` releases.
    lock_guards: HashMap<String, PlaceId>,
    /// The arguments (by start byte) of the `go` statement being walked that are given a new
    /// map right after it (`go flush(s.pending); s.pending = make(…)`): the goroutine's
    /// parameter holds the old map, the spawner's later accesses the new one.
    handed_on: Vec<usize>,
    /// The indices a local variable's storage was selected by (`sh := &s.shards[i]`).
    alias_indices: HashMap<BindingId, Vec<String>>,
    /// Whether the parameters being declared are those of a literal a `go` statement
    /// starts with its arguments.
    spawning_args: bool,
    /// The stand-ins for the own storage of struct copies, by copied variable.
    copies: HashMap<BindingId, BindingId>,
    /// Latches of the function being walked: flags it sets to `true` under a lock
    /// (`f.closed = true`). From there on it holds the flag as if it were a lock, one that
    /// every gated critical section holds too (see `gates`): a writer that checks the flag
    /// under the lock either ran before the latch was set (and its lock orders it first) or
    /// sees the flag and writes nothing.
    latched: Vec<PlaceId>,
    /// Gates of the function being walked: a flag checked under a lock with an early return
    /// (`if f.closed { return }`), and the lock. The code after the check holds the flag
    /// until it releases that lock.
    gates: Vec<(PlaceId, PlaceId)>,
    /// The latches a `go` statement's literal starts with: set before the `go` statement,
    /// they are set for the goroutine too.
    inherited_latches: Vec<PlaceId>,
    /// In a goroutine literal started in a loop: the variables of the innermost loop around
    /// its `go` statement, and the parameters they are passed to. Each instance of the
    /// goroutine holds other values, so the elements they select (`partial[w]`) are the
    /// instance's own.
    own_indices: Vec<BindingId>,
    /// The locks held at each `return` of the declared function being walked.
    return_locks: Vec<LockSet>,
    /// What `own_indices` becomes in the `go` statement's literal about to be walked.
    pending_own_indices: Vec<BindingId>,
    /// The flows at the `goto`s of the body being walked whose label is still ahead, by
    /// label: the labeled statement starts from them as well as from what falls into it.
    gotos: Vec<(&'a str, Flow)>,
    /// The parameters of the function literals walked in place, by the literal's offset,
    /// until the call they are passed to takes them.
    literal_params: HashMap<usize, Vec<Option<BindingId>>>,
    /// For a function literal handed to a parameter its callee calls in place, by the
    /// literal's offset: the call's arguments the callee passes it (`c` of `apply(c,
    /// func(c *config) {…})` when `apply` calls `opt(c)`).
    literal_args: HashMap<usize, Vec<Node<'a>>>,
    /// The stand-ins for the elements a goroutine selects with its own index, by text.
    own_elements: HashMap<(FuncId, String), BindingId>,
    /// Fields of struct copies given storage of their own inside a frame other than the
    /// copy's (`if cfg.Metadata != nil { clone.Metadata = make(…) }`): (frame, copy,
    /// field). The field is the copy's own until that frame ends; after it, other paths
    /// may have left it shared.
    branch_copy_fields: Vec<(CtlId, BindingId, String, Option<PlaceId>)>,
    /// The field alias the last assignment through a copy replaced (copy, field, storage),
    /// restored when a branch that replaced it ends.
    replaced_field_alias: Option<(BindingId, String, PlaceId)>,
}

/// What the walker saves when it enters another function body.
struct Saved<'a> {
    func: FuncId,
    ctl: CtlId,
    flow: Flow,
    defer_target: DeferMode,
    defer_mode: Option<DeferMode>,
    in_deferred_call: bool,
    in_once: bool,
    latched: Vec<PlaceId>,
    gates: Vec<(PlaceId, PlaceId)>,
    own_indices: Vec<BindingId>,
    return_locks: Vec<LockSet>,
    gotos: Vec<(&'a str, Flow)>,
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
        let Some(body) = decl.field(Field::Body) else {
            return;
        };
        let name = self.function_name(decl);
        self.top_name = name.clone();
        self.literal_count = 0;
        self.lock_guards.clear();
        let func = self.new_func(name, decl, true);
        let key = match decl.kind() {
            "method_declaration" => decls::receiver_type_name(decl, self.src)
                .zip(decl.field(Field::Name))
                .map(|(ty, m)| Callee::Method(ty.to_string(), self.text(m).to_string())),
            _ => decl
                .field(Field::Name)
                .map(|n| Callee::Func(self.text(n).to_string())),
        };
        if let Some(key) = key {
            self.facts.callees.entry(key).or_insert(func);
        }
        self.current_func_mut(func).assumes_lock = assumes_lock(decl, self.src);
        let saved = self.enter(func);
        self.scopes.push();
        if let Some(receiver) = decl.field(Field::Receiver) {
            let receiver = self.parameters(receiver, &[]).into_iter().next().flatten();
            self.mark_params(receiver.iter());
            self.current().receiver = receiver;
        }
        if let Some(list) = decl.field(Field::Parameters) {
            let params = self.parameters(list, &[]);
            self.mark_params(params.iter().flatten());
            let is_handler = (decl.kind() == "method_declaration"
                && decl
                    .field(Field::Name)
                    .is_some_and(|n| self.text(n) == "ServeHTTP")
                && params.len() == 2)
                || handler_shaped(list, self.src);
            let current = self.current();
            current.handler = is_handler.then_some(Serves::Http);
            current.params = params;
        }
        if let Some(list) = decl.field(Field::Result) {
            if list.kind() == "parameter_list" {
                self.parameters(list, &[]);
            }
        }
        self.block(body);
        // What every way out holds: the end of the body, and each `return`.
        let mut exits = std::mem::take(&mut self.return_locks);
        if !self.flow.terminated {
            exits.push(self.flow.locks.clone());
        }
        if let Some(mut acquires) = exits.pop() {
            let released_at_return = std::mem::take(&mut self.deferred_unlocks);
            for other in &exits {
                acquires.retain(|(p, _)| other.iter().any(|(q, _)| q == p));
            }
            acquires.retain(|(p, _)| {
                !released_at_return.contains(p)
                    && (self.latched.contains(p) || !self.gates.iter().any(|&(g, _)| g == *p))
            });
            self.current().lock_effect.acquires = acquires;
        }
        self.deferred_unlocks.clear();
        self.deferred_calls.clear();
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
        let name = decl.field(Field::Name).map_or("?", |n| self.text(n));
        let Some(receiver) = decl.field(Field::Receiver) else {
            return name.to_string();
        };
        let ty = receiver.named_child(0).and_then(|p| p.field(Field::Type));
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
            "generic_type" => ty.field(Field::Type).map_or("?", |t| self.text(t)),
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
            locks_itself: false,
            lock_effect: Default::default(),
            made: Vec::new(),
            returned_locals: Vec::new(),
            returned_funcs: Vec::new(),
            instantiates: Vec::new(),
            params: Vec::new(),
            events: Vec::new(),
            returns: Vec::new(),
            ctl: Control::body(),
        });
        id
    }

    fn enter(&mut self, func: FuncId) -> Saved<'a> {
        let end = self.facts.funcs[func as usize].span.end;
        let saved = Saved {
            func: self.func,
            ctl: self.ctl,
            flow: std::mem::take(&mut self.flow),
            defer_target: self.defer_target,
            defer_mode: self.defer_mode.take(),
            in_deferred_call: std::mem::take(&mut self.in_deferred_call),
            in_once: std::mem::take(&mut self.in_once),
            latched: std::mem::take(&mut self.latched),
            gates: std::mem::take(&mut self.gates),
            own_indices: std::mem::take(&mut self.own_indices),
            return_locks: std::mem::take(&mut self.return_locks),
            gotos: std::mem::take(&mut self.gotos),
        };
        self.func = func;
        self.ctl = 0;
        self.defer_target = DeferMode::FuncEnd(end);
        saved
    }

    fn leave(&mut self, saved: Saved<'a>) {
        self.func = saved.func;
        self.ctl = saved.ctl;
        self.flow = saved.flow;
        self.defer_target = saved.defer_target;
        self.defer_mode = saved.defer_mode;
        self.in_deferred_call = saved.in_deferred_call;
        self.in_once = saved.in_once;
        self.latched = saved.latched;
        self.gates = saved.gates;
        self.own_indices = saved.own_indices;
        self.return_locks = saved.return_locks;
        self.gotos = saved.gotos;
    }

    /// Releases a lock, and the gates it kept open.
    fn release(&mut self, place: PlaceId) {
        self.flow.unlock(place);
        for i in 0..self.gates.len() {
            let (gate, lock) = self.gates[i];
            if lock == place && !self.latched.contains(&gate) {
                self.flow.unlock(gate);
            }
        }
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
        self.aliased_places.extend(alias);
        self.facts.bindings.push(binding);
        self.scopes.declare(text, id)?;
        Some(id)
    }

    fn lookup(&self, name: &str) -> Option<BindingId> {
        self.scopes
            .lookup(name)
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
            let ty = param.field(Field::Type).map_or(TypeInfo::Unknown, |t| {
                type_of_type_node(t, self.src, &self.facts.decls)
            });
            // `opts ...Option` is a slice of options.
            let ty = match param.kind() {
                "variadic_parameter_declaration" => TypeInfo::Slice(Box::new(ty), None),
                _ => ty,
            };
            let mut c = param.walk();
            let names: Vec<_> = param.children_by_field_name("name", &mut c).collect();
            if names.is_empty() {
                bindings.push(None);
                index += 1;
                continue;
            }
            // A struct passed by value: the callee has its own copy of the struct's mutexes.
            let by_value = param
                .field(Field::Type)
                .is_some_and(|t| matches!(t.kind(), "type_identifier" | "generic_type"))
                && matches!(&ty, TypeInfo::Named(n) if self.facts.decls.structs.contains_key(n));
            for name in names {
                // A parameter bound to a variable or field refers to the same storage: maps,
                // pointers and the maps inside copied structs are shared with the caller.
                // Not the element a loop variable selects for a goroutine: each iteration
                // starts one with another element.
                let alias = args
                    .get(index)
                    .filter(|&&a| !(self.spawning_args && self.goroutines_own(a)))
                    .and_then(|&a| self.place_of(a));
                let own = self.spawning_args
                    && args
                        .get(index)
                        .filter(|a| a.kind() == "identifier")
                        .and_then(|&a| self.lookup(self.text(a)))
                        .is_some_and(|b| self.own_indices.contains(&b));
                // `go func(h Hook) { h(e) }(h)`: the function the argument holds.
                let func_value = match args.get(index) {
                    Some(&a) if matches!(a.kind(), "identifier" | "selector_expression") => {
                        self.func_target(a, &[])
                    }
                    _ => None,
                };
                let id = self.declare(name, ty.clone(), alias);
                if let Some(id) = id {
                    self.facts.bindings[id as usize].by_value = by_value;
                    self.facts.bindings[id as usize].func_value = func_value;
                    if own {
                        self.own_indices.push(id);
                    }
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
        if self.inline_literals == 0
            && (!self.flow.locks.is_empty()
                || matches!(kind, EventKind::Lock { .. } | EventKind::Unlock { .. }))
        {
            self.current().locks_itself = true;
        }
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

    /// Records an access to the map `map` denotes, reached through the getter call `via`, if
    /// any: after the getter returns (`range agg.Close()` reads what `Close` returns after
    /// the waits in `Close`). A lock stripe (`s.locks[i]`, or the mutex of one element
    /// `s.shards[i].mu`) guards only the maps selected by the same indices (`s.data[i]`,
    /// `s.shards[i].pending`): it is not held for any other map.
    fn push_access(
        &mut self,
        place: PlaceId,
        op: AccessOp,
        map: Node<'a>,
        site: Node<'a>,
        via: Option<EscapeId>,
    ) {
        let kind = EventKind::Access { place, op };
        let i = match via {
            Some(_) => self.push_at(kind, site, site.start_byte().max(map.end_byte())),
            None => self.push(kind, site),
        };
        let indices = self.indices(map);
        let stripes = &self.stripes;
        let facts = &mut *self.facts;
        let places = &facts.places;
        let Some(event) = facts.funcs[self.func as usize].events.get_mut(i) else {
            return;
        };
        event.via = via;
        event.locks.retain(|(lock, _)| {
            let Some(selected) = stripes.get(lock) else {
                return true;
            };
            let lock_fields = &places[*lock as usize].fields;
            let striped = match lock_fields.iter().rposition(|f| f == crate::index::ELEMENT) {
                // `s.locks[i]`: a stripe, whatever map it is held for.
                Some(last) if last + 1 == lock_fields.len() => true,
                // `s.shards[i].mu`: a stripe for the maps of the same element.
                Some(last) => {
                    let map_place = &places[place as usize];
                    map_place.root == places[*lock as usize].root
                        && map_place.fields.len() > last
                        && map_place.fields[..=last] == lock_fields[..=last]
                }
                None => false,
            };
            !striped
                || selected
                    .iter()
                    .any(|held| held.iter().all(|index| indices.contains(index)))
        });
    }

    /// The indices selecting the storage an expression denotes, without white space:
    /// `shard` and `i` for `s.data[shard].buckets[i]`, and `i` for `sh.pending` of
    /// `sh := &s.shards[i]`.
    fn indices(&self, expr: Node<'a>) -> Vec<String> {
        let mut out = Vec::new();
        let mut cur = Some(expr);
        while let Some(node) = cur {
            cur = match node.kind() {
                "index_expression" => {
                    if let Some(index) = node.field(Field::Index) {
                        out.push(self.compact(index));
                    }
                    node.field(Field::Operand)
                }
                "selector_expression" | "unary_expression" => node.field(Field::Operand),
                "parenthesized_expression" => node.named_child(0),
                "identifier" => {
                    let selected = self
                        .lookup(self.text(node))
                        .and_then(|b| self.alias_indices.get(&b));
                    out.extend(selected.into_iter().flatten().cloned());
                    None
                }
                _ => None,
            };
        }
        out
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
        let frame = self.ctl;
        let ended: Vec<(BindingId, String, Option<PlaceId>)> = self
            .branch_copy_fields
            .iter()
            .filter(|(c, ..)| *c == frame)
            .map(|(_, b, f, before)| (*b, f.clone(), *before))
            .collect();
        if !ended.is_empty() {
            self.branch_copy_fields.retain(|(c, ..)| *c != frame);
            // Newest first, so the oldest replaced storage is what remains.
            for (b, field, before) in ended.into_iter().rev() {
                let aliases = &mut self.facts.bindings[b as usize].field_aliases;
                aliases.retain(|(f, _)| *f != field);
                if let Some(place) = before {
                    aliases.push((field, place));
                }
            }
        }
        if self.flow.terminated && self.flow.exits && self.inline_literals == 0 {
            let frame = self.ctl;
            let deferred = self.flow.deferred;
            let frame = &mut self.current().ctl.frames[frame as usize];
            frame.returns = true;
            frame.exits = !deferred;
        }
        self.ctl = outer;
        std::mem::replace(&mut self.flow, entry)
    }
}
