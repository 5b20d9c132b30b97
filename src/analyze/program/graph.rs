//! The package's call graph, resolved once, and what it tells before any expansion: which
//! functions are worth inlining or analyzing as roots, which are roots, and each receiver
//! type's main mutex.

use rustc_hash::FxHashMap;

use super::{is_entry_name, is_main, receiver_type, FieldId};
use crate::index::{Callee, EventKind, FuncId, PackageFacts, PlaceId};

/// The package's call graph: the callee of each call and spawn event, by function and
/// event index, resolved once.
pub(super) struct CallGraph {
    /// The one callee of each event, if it has one.
    callee: Vec<Vec<Option<FuncId>>>,
    /// By function, its (few) events that call a function-valued field the package stores
    /// several functions in: each of them, with the receiver its method value is bound to.
    fan_out: Vec<Vec<FanOut>>,
}

/// An event's index and the stored functions its call may run.
type FanOut = (usize, Vec<(FuncId, Option<PlaceId>)>);

impl CallGraph {
    /// The bodies event `e` of `f` may run, each with the receiver a method value stored
    /// in a field is bound to (`None`: the call's own).
    pub(super) fn targets(
        &self,
        facts: &PackageFacts,
        f: FuncId,
        e: usize,
    ) -> Vec<(FuncId, Option<PlaceId>)> {
        if let Some((_, all)) = self.fan_out[f as usize].iter().find(|(i, _)| *i == e) {
            return all.clone();
        }
        let Some(callee) = self.callee[f as usize][e] else {
            return Vec::new();
        };
        let bound = match &facts.funcs[f as usize].events[e].kind {
            EventKind::Call { target, .. } | EventKind::Spawn { target, .. } => {
                facts.bound_receiver(&target.callee)
            }
            _ => None,
        };
        vec![(callee, bound)]
    }

    /// Every (event index, callee) of `f`'s calls and spawns.
    pub(super) fn each(&self, f: usize) -> impl Iterator<Item = (usize, FuncId)> + '_ {
        let single = self.callee[f]
            .iter()
            .enumerate()
            .filter_map(|(e, c)| Some((e, (*c)?)));
        let many = self.fan_out[f]
            .iter()
            .flat_map(|(e, all)| all.iter().map(move |&(c, _)| (*e, c)));
        single.chain(many)
    }
}

/// The package's call graph, each call and spawn resolved once.
pub(super) fn call_graph(facts: &PackageFacts) -> CallGraph {
    let mut fan_out = vec![Vec::new(); facts.funcs.len()];
    let callee = facts
        .funcs
        .iter()
        .enumerate()
        .map(|(f, func)| {
            func.events
                .iter()
                .enumerate()
                .map(|(e, event)| match &event.kind {
                    EventKind::Call { target, .. } | EventKind::Spawn { target, .. } => {
                        // Code outside tests does not run what tests store.
                        let mut all = facts.resolve_all(&target.callee);
                        if !func.in_test {
                            all.retain(|&(c, _)| !facts.funcs[c as usize].in_test);
                        }
                        if !all.is_empty() {
                            fan_out[f].push((e, all));
                        }
                        facts.resolve(&target.callee)
                    }
                    _ => None,
                })
                .collect()
        })
        .collect();
    CallGraph { callee, fan_out }
}

/// The candidates analyzed as roots, in function order: those callers outside the package
/// may run (exported functions, handlers) or that nothing in the package calls, then any
/// candidate none of those reaches. An unexported function the package calls is analyzed
/// where it is called, with its callers' locks and ordering, not on its own.
pub(super) fn roots(facts: &PackageFacts, callees: &CallGraph, candidates: &[bool]) -> Vec<FuncId> {
    let mut called = vec![false; facts.funcs.len()];
    for (f, func) in facts.funcs.iter().enumerate() {
        for (e, c) in callees.each(f) {
            if matches!(func.events[e].kind, EventKind::Call { .. }) && c as usize != f {
                called[c as usize] = true;
            }
        }
    }
    let mut roots: Vec<FuncId> = (0..facts.funcs.len())
        .filter(|&f| {
            let func = &facts.funcs[f];
            candidates[f] && (func.handler.is_some() || is_entry_name(facts, func) || !called[f])
        })
        .map(|f| f as FuncId)
        .collect();
    let mut reached = vec![false; facts.funcs.len()];
    let mut stack = roots.clone();
    while let Some(f) = stack.pop() {
        if std::mem::replace(&mut reached[f as usize], true) {
            continue;
        }
        stack.extend(callees.each(f as usize).map(|(_, c)| c));
    }
    roots.extend(
        (0..facts.funcs.len())
            .filter(|&f| candidates[f] && !reached[f])
            .map(|f| f as FuncId),
    );
    roots.sort_unstable();
    roots.dedup();
    // The package's own roots first: should the package's budget run out, it is tests that
    // go unanalyzed.
    roots.sort_by_key(|&f| facts.funcs[f as usize].in_test);
    roots
}

/// For each receiver type, its main mutex: the field of the receiver (`s.mu`) that more of
/// its methods lock than any other.
pub(super) fn receiver_mutexes<'a>(
    facts: &'a PackageFacts,
    fields: &[Vec<FieldId>],
) -> FxHashMap<&'a str, Vec<FieldId>> {
    let mut methods: FxHashMap<&str, FxHashMap<&Vec<FieldId>, usize>> = FxHashMap::default();
    for func in &facts.funcs {
        let Some(r) = func.receiver else { continue };
        let Some(ty) = receiver_type(facts, r) else {
            continue;
        };
        let mut locked: Vec<&Vec<FieldId>> = func
            .events
            .iter()
            .filter_map(|event| match event.kind {
                EventKind::Lock { place, .. } if facts.places[place as usize].root == r => {
                    Some(&fields[place as usize])
                }
                _ => None,
            })
            .filter(|path| !path.is_empty())
            .collect();
        locked.sort_unstable();
        locked.dedup();
        for path in locked {
            *methods.entry(ty).or_default().entry(path).or_default() += 1;
        }
    }
    methods
        .into_iter()
        .filter_map(|(ty, counts)| {
            let most = *counts.values().max()?;
            let mut top = counts.into_iter().filter(|&(_, n)| n == most);
            let (path, _) = top.next()?;
            top.next().is_none().then(|| (ty, path.clone()))
        })
        .collect()
}

/// What a function does, transitively through the calls and spawns it makes.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Relevance {
    /// It accesses maps or synchronizes: worth inlining.
    pub(super) touches: bool,
    /// It starts goroutines: worth analyzing as a root.
    pub(super) spawns: bool,
    /// It is test code and starts goroutines in test code (its own or its test helpers').
    pub(super) test_spawns: bool,
}

pub(super) fn relevant_funcs(facts: &PackageFacts, callees: &CallGraph) -> Vec<Relevance> {
    let mut out: Vec<Relevance> = facts
        .funcs
        .iter()
        .map(|f| {
            let spawns = f
                .events
                .iter()
                .any(|e| matches!(e.kind, EventKind::Spawn { .. }));
            Relevance {
                // A function returning its local (a constructor in a program) or a literal
                // is expanded: its caller's variable, or the literal's captures, are that
                // instance's.
                touches: f
                    .events
                    .iter()
                    .any(|e| !matches!(e.kind, EventKind::Call { .. }))
                    || f.events.iter().any(|e| !e.locks.is_empty())
                    || !f.returned_locals.is_empty()
                    || f.returns_literal(),
                spawns,
                test_spawns: spawns && f.in_test,
            }
        })
        .collect();
    // Propagate up the call graph, each call resolved once.
    let mut callers: Vec<Vec<FuncId>> = vec![Vec::new(); facts.funcs.len()];
    for (f, func) in facts.funcs.iter().enumerate() {
        for (e, callee) in callees.each(f) {
            if matches!(func.events[e].kind, EventKind::Call { .. }) {
                callers[callee as usize].push(f as FuncId);
            }
        }
    }
    let work: Vec<FuncId> = (0..facts.funcs.len() as FuncId).collect();
    propagate(facts, &callers, &mut out, work);
    // A function storing a literal that touches something is expanded too: the literal's
    // captured parameters are what that expansion bound them to, wherever it is called.
    let mut work = Vec::new();
    let stored: std::collections::BTreeSet<FuncId> = facts
        .field_funcs
        .values()
        .flatten()
        .filter_map(|(callee, _)| match callee {
            Callee::Literal(l) if out[*l as usize].touches => Some(*l),
            _ => None,
        })
        .collect();
    for l in stored {
        let literal = &facts.funcs[l as usize];
        for (f, func) in facts.funcs.iter().enumerate() {
            let encloses = func.file == literal.file
                && func.span.start < literal.span.start
                && literal.span.end <= func.span.end;
            if encloses && !out[f].touches {
                out[f].touches = true;
                work.push(f as FuncId);
            }
        }
    }
    propagate(facts, &callers, &mut out, work);
    out
}

/// Carries the flags of each function in `work` up to its callers, and theirs, until
/// nothing changes: each function is revisited only when a callee gains a flag (at most
/// three times).
fn propagate(
    facts: &PackageFacts,
    callers: &[Vec<FuncId>],
    out: &mut [Relevance],
    mut work: Vec<FuncId>,
) {
    while let Some(callee) = work.pop() {
        let c = out[callee as usize];
        for &f in &callers[callee as usize] {
            let in_test = facts.funcs[f as usize].in_test;
            let r = &mut out[f as usize];
            let test_spawns = c.test_spawns && in_test;
            if (c.touches && !r.touches)
                || (c.spawns && !r.spawns)
                || (test_spawns && !r.test_spawns)
            {
                r.touches |= c.touches;
                r.spawns |= c.spawns;
                r.test_spawns |= test_spawns;
                work.push(f);
            }
        }
    }
}

/// Which functions are root candidates: handlers (declared or literal), functions that start goroutines,
/// and the entries callers may run while those goroutines do (exported methods of a type
/// that starts goroutines, and where the package does, its exported functions and `main`).
pub(super) fn root_candidates(facts: &PackageFacts, relevant: &[Relevance]) -> Vec<bool> {
    // Types with a method that starts goroutines: their exported methods are entry points
    // that callers may run while those goroutines do.
    // So are those of a type whose constructor starts goroutines on the object it returns.
    let spawning_types: std::collections::HashSet<&str> = facts
        .funcs
        .iter()
        .enumerate()
        .filter(|&(f, func)| func.declared && relevant[f].spawns)
        .flat_map(|(_, func)| func.receiver.iter().chain(&func.made))
        .filter_map(|&b| receiver_type(facts, b))
        .collect();
    // Package functions are entries too where the package starts goroutines: its exported
    // functions, and `main` (which runs while the goroutines `init` starts do).
    let package_spawns = facts
        .funcs
        .iter()
        .enumerate()
        .any(|(f, func)| !func.in_test && relevant[f].spawns);
    facts
        .funcs
        .iter()
        .enumerate()
        .map(|(f, func)| {
            let entry = match func.receiver {
                Some(r) => {
                    is_entry_name(facts, func)
                        && receiver_type(facts, r).is_some_and(|t| spawning_types.contains(t))
                        && relevant[f].touches
                }
                None => {
                    package_spawns
                        && !func.in_test
                        && relevant[f].touches
                        && (is_entry_name(facts, func) || is_main(facts, func))
                }
            };
            // A test is a root where test code starts goroutines: the goroutines package
            // code starts are analyzed from the package's own roots, not again from each
            // of the tests that call it.
            let spawns = if func.in_test {
                relevant[f].test_spawns
            } else {
                relevant[f].spawns
            };
            // A handler literal is served by whoever it is handed to: a root of its own.
            (func.declared && (spawns || entry)) || func.handler.is_some()
        })
        .collect()
}
