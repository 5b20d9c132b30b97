//! The expansion itself: each root's body with the calls it makes inlined and the
//! goroutines it starts as threads of their own, each body's variables a fresh instance.

mod places;

use std::cell::RefCell;
use std::rc::Rc;

use rustc_hash::FxHashMap;

use super::graph::{receiver_mutexes, CallGraph, Relevance};
use super::{
    receiver_type, Action, CallSite, ChainId, Cut, CutKind, Declared, FieldId, LockSetId, Program,
    ProgramEvent, ProgramPlace, ProgramPlaceId, Thread, ThreadId, MAX_CALL_DEPTH,
    MAX_EVENTS_PER_PACKAGE, MAX_EVENTS_PER_ROOT,
};
use crate::index::{
    BindingId, Callee, Control, CtlId, CtlKind, EventKind, FuncId, LockMode, PackageFacts, PlaceId,
    Target,
};

/// How many parameters a field alias is followed through to the variables their arguments
/// hold (`Create(&Config{…})` storing `conf` in `m.conf`, and so on down the constructors).
pub const MAX_ALIAS_HOPS: usize = 4;

/// Where the storage a field alias names was declared, when not with the variable holding
/// the alias: `Some(None)` for a package variable.
type Aliased = Option<Option<Declared>>;

/// The instance of a function body being expanded.
#[derive(Debug, Clone)]
struct Instance {
    func: FuncId,
    id: u32,
    thread: ThreadId,
    /// The body's frames mapped to the thread's frames.
    frames: Rc<RefCell<Frames>>,
    /// The places bound to its parameters, kept where a variable of the body has a field
    /// that is a parameter's storage (`f := global.Clone()` sharing `global.values`).
    params: Option<Rc<FxHashMap<BindingId, ProgramPlaceId>>>,
}

/// A body's frames mapped to its thread's, each grafted when first needed (an event, a
/// call or a declaration in it, or a frame inside it): the frames of the many branches
/// and loops where nothing happens are never copied.
#[derive(Debug)]
struct Frames {
    /// The thread frame the body is inlined in (`None` at the thread's start).
    at: Option<CtlId>,
    /// The thread frame of each of the body's frames, once grafted.
    mapped: Vec<Option<CtlId>>,
}

/// How a body's places map to the program's: its own instance and those of the bodies
/// around it (for captured variables), and the places bound to parameters.
#[derive(Debug, Clone, Default)]
struct Env {
    instances: Vec<Instance>,
    params: FxHashMap<BindingId, ProgramPlaceId>,
    /// The sender's object and the receiving loop's, for a literal sent on a channel field
    /// of functions: places within the first are the second's.
    rebase: Option<(PlaceId, ProgramPlaceId)>,
}

pub(super) struct Builder<'a> {
    facts: &'a PackageFacts,
    /// The callee of each call and spawn event.
    callees: CallGraph,
    relevant: &'a [Relevance],
    /// The fields of each place of the index, interned.
    fields: Vec<Vec<FieldId>>,
    program: Program,
    next_instance: u32,
    /// The functions being expanded, to cut recursion.
    stack: Vec<FuncId>,
    /// Their instances, innermost last: a variable of one of them reached from another body
    /// (the map a receive stands for, sent by the function that spawned the receiver) is
    /// that expansion's variable.
    open: Vec<Instance>,
    /// Each function's instance while it has one only (`None` once it has several).
    sole_instance: FxHashMap<FuncId, Option<Instance>>,
    /// Instances of functions that return a local variable (`Func::returned_locals`), by id.
    returning: FxHashMap<u32, Instance>,
    /// The callee instance of each call expanded, by caller instance and call event, for
    /// the calls of functions that return a local variable.
    call_results: FxHashMap<(u32, usize), u32>,
    /// The environment of each instance of a function returning a literal: the one the
    /// literal runs in wherever the caller calls it (`Callee::Returned`).
    factory_envs: FxHashMap<u32, Env>,
    /// Places of a function's variable reached from a body that is not inside one of its
    /// instances (a map received from a sibling goroutine that made and sent it).
    orphans: Vec<ProgramPlaceId>,
    /// Events emitted for the current root.
    budget: usize,
    /// The root being expanded, and where its cuts start in the program's.
    root: FuncId,
    root_cuts: usize,
    /// Events emitted for the package.
    total: usize,
    /// Each receiver type's one mutex (the field path its methods lock), for the lock a
    /// test's call of a `…Locked` method stands for.
    mutexes: FxHashMap<&'a str, Vec<FieldId>>,
    /// Whether a variable of each function is a shallow copy sharing one of its
    /// parameters' storage (`Instance::params`).
    param_fields: Vec<bool>,
    /// For each parameter (and receiver) of the functions the current root has expanded,
    /// the place every expansion bound it to (`None` once two differ): what a literal the
    /// function stored captured, wherever it is called (a callback in a config struct,
    /// called by a goroutine that only has the object holding it).
    root_params: FxHashMap<BindingId, Option<ProgramPlaceId>>,
    /// Places of the current root rooted at a parameter no expansion had bound yet where
    /// they were reached (a literal an event loop runs before the method sending it is
    /// expanded): bound once the root is done (`Builder::bind_late_params`).
    late_params: Vec<ProgramPlaceId>,
}

impl<'a> Builder<'a> {
    /// A builder for the package, with its call graph and the relevance of its functions.
    pub(super) fn new(
        facts: &'a PackageFacts,
        callees: CallGraph,
        relevant: &'a [Relevance],
    ) -> Self {
        let mut program = Program::default();
        let fields: Vec<Vec<FieldId>> = facts
            .places
            .iter()
            .map(|p| p.fields.iter().map(|f| program.field(f)).collect())
            .collect();
        let mutexes = receiver_mutexes(facts, &fields);
        let mut param_fields = vec![false; facts.funcs.len()];
        for b in &facts.bindings {
            if let Some(f) = b.func {
                let from_param = |&(_, alias): &(String, PlaceId)| {
                    facts.bindings[facts.places[alias as usize].root as usize].param
                };
                param_fields[f as usize] |= b.field_aliases.iter().any(from_param);
            }
        }
        // A loop's own element of a parameter's slice (`range p.workers` in a method).
        for b in &facts.bindings {
            if let (Some(f), Some(element)) = (b.func, b.element_of) {
                let root = facts.places[element as usize].root;
                param_fields[f as usize] |= facts.bindings[root as usize].param;
            }
        }
        Builder {
            facts,
            callees,
            relevant,
            fields,
            program,
            next_instance: 1,
            stack: Vec::new(),
            open: Vec::new(),
            sole_instance: FxHashMap::default(),
            returning: FxHashMap::default(),
            call_results: FxHashMap::default(),
            factory_envs: FxHashMap::default(),
            orphans: Vec::new(),
            budget: 0,
            root: 0,
            root_cuts: 0,
            total: 0,
            mutexes,
            param_fields,
            root_params: FxHashMap::default(),
            late_params: Vec::new(),
        }
    }

    /// Expands each root in turn, while the package's event budget lasts.
    pub(super) fn expand(mut self, roots: &[FuncId]) -> Program {
        for &f in roots {
            if self.total > MAX_EVENTS_PER_PACKAGE {
                self.program.cuts.push(Cut {
                    root: f,
                    at: None,
                    kind: CutKind::PackageBudget,
                });
                continue;
            }
            self.root(f);
        }
        self.adopt_orphans();
        self.program
    }

    fn root(&mut self, func: FuncId) {
        self.budget = 0;
        self.root = func;
        self.root_cuts = self.program.cuts.len();
        self.root_params.clear();
        self.late_params.clear();
        let first_thread = self.program.threads.len();
        let facts = self.facts;
        let f = &facts.funcs[func as usize];
        let thread = self.new_thread(func, None, f.handler.is_some());
        // A root's receiver and parameters point to storage shared with its callers; an HTTP
        // handler's parameters are the request's own (`w`, `r`), new for every call.
        let mut env = Env::default();
        for b in f.receiver.iter().chain(f.params.iter().flatten()) {
            let per_call = f.handler.is_some() && Some(*b) != f.receiver;
            let (instance, declared) = if per_call {
                self.next_instance += 1;
                (self.next_instance - 1, Some(Declared { thread, ctl: 0 }))
            } else {
                (0, None)
            };
            let place = self.intern(
                ProgramPlace {
                    root: *b,
                    instance,
                    fields: Vec::new(),
                },
                declared,
            );
            env.params.insert(*b, place);
        }
        // A `…Locked` root (or one documented as needing the lock) runs as its callers call
        // it: holding the receiver type's one mutex.
        let held: Vec<(ProgramPlaceId, LockMode)> = f
            .receiver
            .filter(|_| f.assumes_lock)
            .and_then(|r| {
                let mutex = self.mutexes.get(receiver_type(facts, r)?)?.clone();
                let mut place = self.program.places[*env.params.get(&r)? as usize].clone();
                place.fields.extend(mutex);
                Some((self.intern(place, None), LockMode::Exclusive))
            })
            .into_iter()
            .collect();
        self.body(thread, func, env, None, &held, None);
        self.bind_late_params(first_thread);
    }

    /// Binds the places of the root's late parameters (see `Builder::late_params`) to what
    /// every expansion of the root bound the parameter to, in the events and lock sets of
    /// the root's threads (from `first_thread` on).
    fn bind_late_params(&mut self, first_thread: usize) {
        let mut remap: FxHashMap<ProgramPlaceId, ProgramPlaceId> = FxHashMap::default();
        for id in std::mem::take(&mut self.late_params) {
            let place = self.program.places[id as usize].clone();
            let Some(&Some(base)) = self.root_params.get(&place.root) else {
                continue;
            };
            let declared = self.program.declared[base as usize];
            let mut bound = self.program.places[base as usize].clone();
            bound.fields.extend_from_slice(&place.fields);
            remap.insert(id, self.intern(bound, declared));
        }
        if remap.is_empty() {
            return;
        }
        let map = |p: &mut ProgramPlaceId| {
            if let Some(&to) = remap.get(p) {
                *p = to;
            }
        };
        let mut sets: FxHashMap<LockSetId, LockSetId> = FxHashMap::default();
        for t in first_thread..self.program.threads.len() {
            for i in 0..self.program.threads[t].events.len() {
                let event = &mut self.program.threads[t].events[i];
                match &mut event.action {
                    Action::Access { place, .. } => map(place),
                    Action::Spawn { signals, .. } => signals.iter_mut().for_each(map),
                    Action::Wait { sync, .. } | Action::Signal { sync } => map(sync),
                }
                let old = event.locks;
                let new = match sets.get(&old) {
                    Some(&new) => new,
                    None => {
                        let mut locks = self.program.lock_sets[old as usize].clone();
                        locks.iter_mut().for_each(|(p, _)| map(p));
                        let new = self.program.lock_sets.insert_full(locks).0 as LockSetId;
                        sets.insert(old, new);
                        new
                    }
                };
                self.program.threads[t].events[i].locks = new;
            }
        }
    }

    fn new_thread(
        &mut self,
        origin: FuncId,
        spawned_by: Option<(ThreadId, usize)>,
        handler: bool,
    ) -> ThreadId {
        self.program.threads.push(Thread {
            origin,
            spawned_by,
            handler,
            recursive: false,
            events: Vec::new(),
            ctl: Control::body(),
        });
        (self.program.threads.len() - 1) as ThreadId
    }

    /// Appends the events of one expansion of `func` to `thread`: at the thread's start
    /// (`at` is `None`) or inlined in frame `at` holding `locks`.
    fn body(
        &mut self,
        thread: ThreadId,
        func: FuncId,
        mut env: Env,
        at: Option<CtlId>,
        locks: &[(ProgramPlaceId, LockMode)],
        chain: Option<ChainId>,
    ) {
        let facts = self.facts;
        let f = &facts.funcs[func as usize];
        let instance = Instance {
            func,
            id: self.next_instance,
            thread,
            frames: Rc::new(RefCell::new(Frames {
                at,
                mapped: vec![None; f.ctl.frames.len()],
            })),
            params: self.param_fields[func as usize].then(|| Rc::new(env.params.clone())),
        };
        for b in f.receiver.iter().chain(f.params.iter().flatten()) {
            if let Some(&bound) = env.params.get(b) {
                self.root_params
                    .entry(*b)
                    .and_modify(|seen| {
                        if *seen != Some(bound) {
                            *seen = None;
                        }
                    })
                    .or_insert(Some(bound));
            }
        }
        env.instances.push(instance.clone());
        if f.returns_literal() {
            self.factory_envs.insert(instance.id, env.clone());
        }
        self.open.push(instance.clone());
        self.sole_instance
            .entry(func)
            .and_modify(|sole| *sole = None)
            .or_insert_with(|| Some(instance.clone()));
        if !f.returned_locals.is_empty() {
            self.returning.insert(instance.id, instance.clone());
        }
        self.next_instance += 1;
        self.stack.push(func);
        let mut order: Vec<usize> = (0..f.events.len()).collect();
        order.sort_by_key(|&i| f.events[i].order);
        for i in order {
            let event = &f.events[i];
            let ctl = self.frame(&instance, event.ctl);
            let mut held: Vec<(ProgramPlaceId, LockMode)> = locks.to_vec();
            for &(p, mode) in &event.locks {
                let p = self.place(p, &env);
                match held.iter_mut().find(|(q, _)| *q == p) {
                    None => held.push((p, mode)),
                    // The body of the callee's `Do` holds the `Once` as a latch again,
                    // whatever an earlier `Do` of the caller's published.
                    Some((_, held_mode))
                        if *held_mode == LockMode::Published && mode == LockMode::Latch =>
                    {
                        *held_mode = mode;
                    }
                    Some(_) => {}
                }
            }
            let action = match &event.kind {
                EventKind::Access { place, op } => {
                    let place = self.place(*place, &env);
                    let own = &self.program.places[place as usize];
                    let element = (own.root, own.instance);
                    if let Some(shadow) = self.element_shadow(place) {
                        let action = Action::Access {
                            place: shadow,
                            op: *op,
                        };
                        // Its own element's locks are the abstract element's too.
                        let locks = held
                            .iter()
                            .map(|&(l, mode)| (self.element_shadow(l).unwrap_or(l), mode))
                            .collect();
                        self.emit(thread, action, (func, i), chain, ctl, locks);
                        if let Some(last) = self.program.threads[thread as usize].events.last_mut()
                        {
                            last.shadow = Some(element);
                        }
                    }
                    Action::Access { place, op: *op }
                }
                EventKind::Wait {
                    sync,
                    single_receive,
                } => {
                    let sync = self.place(*sync, &env);
                    Action::Wait {
                        sync: self.element_shadow(sync).unwrap_or(sync),
                        single_receive: *single_receive,
                    }
                }
                // A loop's own element signals and waits as the abstract element
                // (`for _, c := range cs { c.wg.Wait() }` joins each `c.wg.Done()`).
                EventKind::Signal { sync } => {
                    let sync = self.place(*sync, &env);
                    Action::Signal {
                        sync: self.element_shadow(sync).unwrap_or(sync),
                    }
                }
                EventKind::Lock { .. } | EventKind::Unlock { .. } => continue,
                EventKind::Call { target, .. } => {
                    for callee in self.callees.targets(facts, func, i) {
                        let Some(callee_env) = self.enter(target, callee, &env, true, (func, i))
                        else {
                            continue;
                        };
                        let callee = callee.0;
                        let called = &facts.funcs[callee as usize];
                        if !called.returned_locals.is_empty() || called.returns_literal() {
                            self.call_results
                                .insert((instance.id, i), self.next_instance);
                        }
                        let chain = self.chain((func, i), chain);
                        if let Some(lock) = self.assumed_lock(func, callee, &callee_env, &held) {
                            held.push((lock, LockMode::Exclusive));
                        }
                        self.body(thread, callee, callee_env, Some(ctl), &held, Some(chain));
                    }
                    continue;
                }
                EventKind::Spawn {
                    target,
                    signals,
                    repeated,
                    after_return,
                    ..
                } => {
                    for callee in self.callees.targets(facts, func, i) {
                        self.mark_recursive(thread, callee.0);
                        let Some(callee_env) = self.enter(target, callee, &env, false, (func, i))
                        else {
                            continue;
                        };
                        let callee = callee.0;
                        let signals = signals.map(|s| self.place(s, &env));
                        let index = self.program.threads[thread as usize].events.len();
                        let child = self.new_thread(callee, Some((thread, index)), false);
                        self.emit(
                            thread,
                            Action::Spawn {
                                thread: child,
                                signals,
                                repeated: *repeated,
                                after_return: *after_return,
                            },
                            (func, i),
                            chain,
                            ctl,
                            held.clone(),
                        );
                        let chain = self.chain((func, i), chain);
                        self.body(child, callee, callee_env, None, &[], Some(chain));
                    }
                    continue;
                }
            };
            self.emit(thread, action, (func, i), chain, ctl, held);
        }
        self.stack.pop();
        self.open.pop();
    }

    /// The thread frame of frame `local` of `instance`'s body, grafting it and the frames
    /// around it that are not yet.
    fn frame(&mut self, instance: &Instance, local: CtlId) -> CtlId {
        let body = &self.facts.funcs[instance.func as usize].ctl.frames;
        let mut frames = instance.frames.borrow_mut();
        let mut missing = Vec::new();
        let mut cur = Some(local);
        while let Some(c) = cur {
            if frames.mapped[c as usize].is_some() {
                break;
            }
            missing.push(c);
            cur = body[c as usize].parent;
        }
        let ctl = &mut self.program.threads[instance.thread as usize].ctl;
        for &c in missing.iter().rev() {
            let frame = &body[c as usize];
            let id = match (frame.parent, frames.at) {
                (None, None) => 0,
                (None, Some(at)) => ctl.push(at, CtlKind::Inlined),
                (Some(p), _) => {
                    let parent = frames.mapped[p as usize].expect("grafted above");
                    let id = ctl.push(parent, frame.kind);
                    ctl.frames[id as usize].exits = frame.exits;
                    ctl.frames[id as usize].returns = frame.returns;
                    ctl.frames[id as usize].endless = frame.endless;
                    id
                }
            };
            frames.mapped[c as usize] = Some(id);
        }
        frames.mapped[local as usize].expect("grafted")
    }

    /// The lock a test stands in for when it calls a `…Locked` method (or one documented as
    /// needing its caller to hold the lock) without holding the receiver's mutex: tests
    /// drive such methods directly, on one goroutine, as the lock holder would. In code
    /// outside tests the same call is a breach of the contract and is not excused.
    fn assumed_lock(
        &mut self,
        caller: FuncId,
        callee: FuncId,
        callee_env: &Env,
        held: &[(ProgramPlaceId, LockMode)],
    ) -> Option<ProgramPlaceId> {
        let facts = self.facts;
        let f = &facts.funcs[callee as usize];
        if !facts.funcs[caller as usize].in_test || !f.assumes_lock {
            return None;
        }
        let receiver = f.receiver?;
        let mutex = self.mutexes.get(receiver_type(facts, receiver)?)?.clone();
        let base = *callee_env.params.get(&receiver)?;
        let mut place = self.program.places[base as usize].clone();
        place.fields.extend(mutex);
        let declared = self.program.declared[base as usize];
        let lock = self.intern(place, declared);
        (!held.iter().any(|&(l, _)| l == lock)).then_some(lock)
    }

    /// A spawn of a function that an enclosing goroutine is already running: that
    /// goroutine has concurrent instances of itself.
    fn mark_recursive(&mut self, thread: ThreadId, callee: FuncId) {
        let mut cur = Some(thread);
        while let Some(t) = cur {
            let th = &mut self.program.threads[t as usize];
            if th.origin == callee && th.spawned_by.is_some() {
                th.recursive = true;
                return;
            }
            cur = th.spawned_by.map(|(p, _)| p);
        }
    }

    fn emit(
        &mut self,
        thread: ThreadId,
        action: Action,
        origin: (FuncId, usize),
        chain: Option<ChainId>,
        ctl: CtlId,
        locks: Vec<(ProgramPlaceId, LockMode)>,
    ) {
        self.budget += 1;
        self.total += 1;
        let locks = self.program.lock_sets.insert_full(locks).0 as LockSetId;
        let events = &mut self.program.threads[thread as usize].events;
        events.push(ProgramEvent {
            action,
            origin,
            chain,
            order: events.len(),
            ctl,
            locks,
            shadow: None,
        });
    }

    /// For a place selected from a range loop's own element (`w.stats` of `for _, w :=
    /// range p.workers`, bound to a goroutine's receiver), the same path from the abstract
    /// element (`p.workers[…].stats`) in the loop's instance.
    fn element_shadow(&mut self, place: ProgramPlaceId) -> Option<ProgramPlaceId> {
        let facts = self.facts;
        let p = self.program.places[place as usize].clone();
        let element = facts.bindings[p.root as usize].element_of?;
        let e = &facts.places[element as usize];
        let root = &facts.bindings[e.root as usize];
        let instance = self.open.iter().rev().find(|i| i.id == p.instance)?.clone();
        if root.func != Some(instance.func) {
            return None;
        }
        let (mut shadow, declared) = if root.param {
            let base = *instance.params.as_ref()?.get(&e.root)?;
            (
                self.program.places[base as usize].clone(),
                self.program.declared[base as usize],
            )
        } else {
            let declared = Declared {
                thread: instance.thread,
                ctl: self.frame(&instance, root.ctl),
            };
            let own = ProgramPlace {
                root: e.root,
                instance: p.instance,
                fields: Vec::new(),
            };
            (own, Some(declared))
        };
        shadow
            .fields
            .extend_from_slice(&self.fields[element as usize]);
        shadow.fields.extend_from_slice(&p.fields);
        Some(self.intern(shadow, declared))
    }

    fn chain(&mut self, call: (FuncId, usize), parent: Option<ChainId>) -> ChainId {
        self.program.chains.push(CallSite { call, parent });
        (self.program.chains.len() - 1) as ChainId
    }

    /// The environment the body of `callee`, one the call or spawn `target` (the event
    /// `at`) runs (with the receiver a stored method value is bound to), runs in, unless it
    /// is recursive, (for calls) does nothing the analysis cares about, or past a bound,
    /// which is recorded as a cut.
    fn enter(
        &mut self,
        target: &Target,
        (callee, bound_to): (FuncId, Option<PlaceId>),
        env: &Env,
        is_call: bool,
        at: (FuncId, usize),
    ) -> Option<Env> {
        let facts = self.facts;
        if self.stack.contains(&callee) || (is_call && !self.relevant[callee as usize].touches) {
            return None;
        }
        let bound = if self.stack.len() > MAX_CALL_DEPTH {
            Some(CutKind::Depth)
        } else if self.budget > MAX_EVENTS_PER_ROOT {
            Some(CutKind::RootBudget)
        } else {
            None
        };
        if let Some(kind) = bound {
            let root = self.root;
            if !self.program.cuts[self.root_cuts..]
                .iter()
                .any(|c| c.kind == kind)
            {
                self.program.cuts.push(Cut {
                    root,
                    at: Some(at),
                    kind,
                });
            }
            return None;
        }
        let f = &facts.funcs[callee as usize];
        // A literal sees the variables of the bodies around it; a declared function only its
        // parameters.
        let mut callee_env = match &target.callee {
            Callee::Literal(_) => env.clone(),
            Callee::Returned {
                site: Some(site), ..
            } => self.factory_env(*site, env).unwrap_or_default(),
            _ => Env::default(),
        };
        // A method value stored in a field runs on the object it was bound to.
        let receiver = bound_to.or(target.receiver);
        if let (Some(r), Some(place)) = (f.receiver, receiver) {
            let place = self.place(place, env);
            callee_env.params.insert(r, place);
        }
        // A literal sent on a channel field of functions (`sh.tasks <- func() {…}`) runs on
        // the object whose loop receives it: the sender's variable is the receiver's.
        if let (None, Some(holder), Some(place)) = (f.receiver, bound_to, target.receiver) {
            callee_env.rebase = Some((holder, self.place(place, env)));
        }
        for (param, arg) in f.params.iter().zip(&target.args) {
            if let (Some(p), Some(arg)) = (param, arg) {
                let place = self.place(*arg, env);
                callee_env.params.insert(*p, place);
            }
        }
        Some(callee_env)
    }

    /// The environment of the instance the call `site` made of a function returning a
    /// literal, when that call was expanded in an instance `env` sees.
    fn factory_env(&self, (func, event): (FuncId, usize), env: &Env) -> Option<Env> {
        let caller = env
            .instances
            .iter()
            .rev()
            .find(|i| i.func == func)
            .or_else(|| self.open.iter().rev().find(|i| i.func == func))?;
        let factory = self.call_results.get(&(caller.id, event))?;
        self.factory_envs.get(factory).cloned()
    }
}
