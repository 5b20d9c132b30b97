//! What the callers of each function hold for it: the lock contracts MG003 reads across
//! calls (`…Locked` helpers, literals called under a lock, methods only called locked).

use std::collections::{BTreeMap, HashMap, HashSet};

use super::setup::SetupPhase;
use super::Guard;
use crate::index::{
    is_exported, BindingId, Callee, EventKind, FileId, FuncId, LockMode, PackageFacts, PlaceId,
    TypeInfo,
};

/// What the callers of a method hold for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum CallerLocks {
    /// Every lock (the object is not shared yet, or the method says callers lock).
    All,
    /// These locks, held at every call site.
    Some(HashSet<Guard>),
}
/// The function literals started as goroutines somewhere.
fn spawned_literals(facts: &PackageFacts) -> HashSet<FuncId> {
    facts
        .funcs
        .iter()
        .flat_map(|func| &func.events)
        .filter_map(|event| match &event.kind {
            EventKind::Spawn { target, .. } => match target.callee {
                Callee::Literal(l) => Some(l),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// How deep literals calling literals are followed for the locks they are called with.
const MAX_LITERAL_NESTING: usize = 8;

/// For each function literal held in a variable and only ever called (`valid := func()
/// {...}; mu.RLock(); valid()`), the locks held at every one of its calls. A call made
/// inside another such literal also holds the locks that literal is called with
/// (`snapshotAll := func() { snapshot(id) }`), to a fixpoint. A literal also started as a
/// goroutine is left out.
pub(super) fn literal_call_locks(
    facts: &PackageFacts,
) -> HashMap<FuncId, Vec<(PlaceId, LockMode)>> {
    let spawned = spawned_literals(facts);
    let mut known: HashMap<FuncId, Vec<(PlaceId, LockMode)>> = HashMap::new();
    // Each round lets locks reach one more level of literals calling literals.
    for _ in 0..MAX_LITERAL_NESTING {
        let mut calls: HashMap<FuncId, Vec<(PlaceId, LockMode)>> = HashMap::new();
        for (f, func) in facts.funcs.iter().enumerate() {
            let outer = known.get(&(f as FuncId));
            for event in &func.events {
                let EventKind::Call { target, .. } = &event.kind else {
                    continue;
                };
                let Callee::Literal(l) = target.callee else {
                    continue;
                };
                let mut held = event.locks.clone();
                for &(p, mode) in outer.into_iter().flatten() {
                    if !held.iter().any(|&(q, _)| q == p) {
                        held.push((p, mode));
                    }
                }
                calls
                    .entry(l)
                    .and_modify(|common| common.retain(|(p, _)| held.iter().any(|(q, _)| q == p)))
                    .or_insert(held);
            }
        }
        calls.retain(|l, held| !spawned.contains(l) && !held.is_empty());
        if calls == known {
            break;
        }
        known = calls;
    }
    known
}

/// A lock held on the receiver of the method making a call: the receiver's struct type,
/// the lock's field path from it, and how it is held.
pub(super) type ReceiverLock = (String, Vec<String>, LockMode);

/// For each function literal stored in a function-valued field (`Handler{Resolve: func()
/// {…}}`, `b.onEvict = func(…) {…}`) and only ever called, never started, the locks on the
/// calling method's receiver that every call from the package's code holds (`b.lock.Lock();
/// b.params.onRegress(…)`), including what the method's own callers hold for it. A callback
/// an object keeps runs under the lock its holder takes around the call.
pub(super) fn stored_literal_call_locks(
    facts: &PackageFacts,
    owners: &HashMap<FuncId, FuncId>,
    callers: &[CallerLocks],
) -> HashMap<FuncId, Vec<ReceiverLock>> {
    let stored: HashSet<FuncId> = facts
        .field_funcs
        .values()
        .flatten()
        .filter_map(|(callee, _)| match callee {
            Callee::Literal(l) => Some(*l),
            _ => None,
        })
        .collect();
    let mut started: HashSet<FuncId> = facts.spawned_literals.iter().map(|s| s.0).collect();
    let mut calls: HashMap<FuncId, Vec<ReceiverLock>> = HashMap::new();
    for (f, func) in facts.funcs.iter().enumerate() {
        for event in &func.events {
            let (target, spawn) = match &event.kind {
                EventKind::Call { target, .. } => (target, false),
                EventKind::Spawn { target, .. } => (target, true),
                _ => continue,
            };
            let bodies = facts
                .resolve(&target.callee)
                .into_iter()
                .chain(facts.resolve_all(&target.callee).into_iter().map(|b| b.0))
                .filter(|l| stored.contains(l));
            if spawn {
                started.extend(bodies);
                continue;
            }
            if func.in_test {
                continue;
            }
            let method = owners.get(&(f as FuncId)).copied().unwrap_or(f as FuncId);
            let Some(held) = receiver_locks(facts, method, &event.locks, &callers[method as usize])
            else {
                continue;
            };
            for l in bodies {
                calls
                    .entry(l)
                    .and_modify(|common| common.retain(|lock| held.contains(lock)))
                    .or_insert_with(|| held.clone());
            }
        }
    }
    calls.retain(|l, held| !started.contains(l) && !held.is_empty());
    calls
}

/// The locks on a method's receiver held at a call: those the event holds on the receiver
/// of the method declaring them (a literal's captured receiver too), and those the calling
/// method's callers hold for it; `None` when its callers hold everything (the object is not
/// shared yet), so the call is no evidence.
fn receiver_locks(
    facts: &PackageFacts,
    method: FuncId,
    locks: &[(PlaceId, LockMode)],
    from_callers: &CallerLocks,
) -> Option<Vec<ReceiverLock>> {
    let receiver_type = |binding: Option<BindingId>| {
        let b = &facts.bindings[binding? as usize];
        match &b.ty {
            TypeInfo::Named(ty) => Some(ty.clone()),
            _ => None,
        }
    };
    let mut held: Vec<ReceiverLock> = locks
        .iter()
        .filter_map(|&(l, mode)| {
            let place = &facts.places[l as usize];
            let declaring = facts.bindings[place.root as usize].func?;
            let receiver = facts.funcs[declaring as usize].receiver;
            if receiver != Some(place.root) {
                return None;
            }
            Some((receiver_type(receiver)?, place.fields.clone(), mode))
        })
        .collect();
    match from_callers {
        CallerLocks::All => return None,
        CallerLocks::Some(guards) => {
            let ty = receiver_type(facts.funcs[method as usize].receiver);
            for guard in guards {
                if let (Guard::Receiver(path), Some(ty)) = (guard, &ty) {
                    if !held.iter().any(|(t, p, _)| t == ty && p == path) {
                        held.push((ty.clone(), path.clone(), LockMode::Exclusive));
                    }
                }
            }
        }
    }
    Some(held)
}

/// For every method and package function, the locks all its callers hold for it (for a
/// package function, the package's mutexes): what every call site in the package's code
/// holds, including what the calling function's own callers hold (to a fixpoint). Calls
/// from tests do not count (they drive objects on one goroutine), and a function nobody
/// calls holds nothing. An exported method its own package calls only with a
/// lock held cannot take that lock itself: its callers, outside too, must hold it.
pub(super) fn caller_locks(
    facts: &PackageFacts,
    literal_calls: &HashMap<FuncId, Vec<(PlaceId, LockMode)>>,
    owners: &HashMap<FuncId, FuncId>,
    setup: &SetupPhase,
) -> Vec<CallerLocks> {
    let mut sites: BTreeMap<FuncId, Vec<(FuncId, usize)>> = BTreeMap::new();
    for (f, func) in facts.funcs.iter().enumerate() {
        for (e, event) in func.events.iter().enumerate() {
            if let EventKind::Call { target, .. } = &event.kind {
                if let Callee::Method(..) | Callee::Func(_) = target.callee {
                    if let Some(&callee) = facts.callees.get(&target.callee) {
                        if !func.in_test {
                            sites.entry(callee).or_default().push((f as FuncId, e));
                        }
                    }
                }
            }
        }
    }
    let mut out: Vec<CallerLocks> = facts
        .funcs
        .iter()
        .enumerate()
        .map(|(f, func)| {
            if func.assumes_lock {
                CallerLocks::All
            } else if !func.declared || !sites.contains_key(&(f as FuncId)) {
                CallerLocks::Some(HashSet::new())
            } else {
                CallerLocks::All
            }
        })
        .collect();
    narrow(facts, &sites, literal_calls, owners, setup, &mut out);
    // An exported method no call gave evidence for holds nothing; what it calls narrows.
    let mut unproven = false;
    for &callee in sites.keys() {
        let func = &facts.funcs[callee as usize];
        if is_exported(&func.name) && !func.assumes_lock && out[callee as usize] == CallerLocks::All
        {
            out[callee as usize] = CallerLocks::Some(HashSet::new());
            unproven = true;
        }
    }
    if unproven {
        narrow(facts, &sites, literal_calls, owners, setup, &mut out);
    }
    out
}

/// Narrows `out` from "everything" down to what every call site provides, until stable.
/// Values only shrink, so the result does not depend on the order of the work. An exported
/// method learns a contract only from calls that hold locks, not from calls on an object
/// being built: while it has none, it stays at "everything".
fn narrow(
    facts: &PackageFacts,
    sites: &BTreeMap<FuncId, Vec<(FuncId, usize)>>,
    literal_calls: &HashMap<FuncId, Vec<(PlaceId, LockMode)>>,
    owners: &HashMap<FuncId, FuncId>,
    setup: &SetupPhase,
    out: &mut [CallerLocks],
) {
    loop {
        let mut changed = false;
        for (&callee, calls) in sites {
            let func = &facts.funcs[callee as usize];
            if func.assumes_lock
                || matches!(&out[callee as usize], CallerLocks::Some(s) if s.is_empty())
            {
                continue;
            }
            let exported = is_exported(&func.name);
            let mut acc = CallerLocks::All;
            for &(caller, e) in calls {
                let provided = provided_at(facts, out, literal_calls, owners, setup, caller, e);
                if !(exported && provided == CallerLocks::All) {
                    acc = intersect(acc, provided);
                }
            }
            if acc != out[callee as usize] {
                out[callee as usize] = acc;
                changed = true;
            }
        }
        if !changed {
            return;
        }
    }
}

/// For each function literal that is never started as a goroutine, the declared function
/// whose body holds it: a call the literal makes runs within that function. Declared
/// functions do not nest, so one binary search over them by position finds it.
pub(super) fn literal_owners(facts: &PackageFacts) -> HashMap<FuncId, FuncId> {
    let spawned = spawned_literals(facts);
    let mut declared: Vec<(FileId, usize, usize, FuncId)> = facts
        .funcs
        .iter()
        .enumerate()
        .filter(|(_, f)| f.declared)
        .map(|(id, f)| (f.file, f.span.start, f.span.end, id as FuncId))
        .collect();
    declared.sort_unstable();
    let mut owners = HashMap::new();
    for (l, literal) in facts.funcs.iter().enumerate() {
        if literal.declared || spawned.contains(&(l as FuncId)) {
            continue;
        }
        // The last declared function starting at or before the literal, if it holds it.
        let at = declared.partition_point(|&(file, start, ..)| {
            (file, start) <= (literal.file, literal.span.start)
        });
        if let Some(&(file, _, end, owner)) = at.checked_sub(1).map(|i| &declared[i]) {
            if file == literal.file && literal.span.end <= end {
                owners.insert(l as FuncId, owner);
            }
        }
    }
    owners
}

/// The receiver-relative locks a call site holds for the method it calls.
fn provided_at(
    facts: &PackageFacts,
    out: &[CallerLocks],
    literal_calls: &HashMap<FuncId, Vec<(PlaceId, LockMode)>>,
    owners: &HashMap<FuncId, FuncId>,
    setup: &SetupPhase,
    caller: FuncId,
    e: usize,
) -> CallerLocks {
    let event = &facts.funcs[caller as usize].events[e];
    // A call inside a function literal also holds what every call of the literal holds.
    let at_literal_calls = literal_calls.get(&caller).map_or(&[][..], Vec::as_slice);
    let EventKind::Call { target, .. } = &event.kind else {
        return CallerLocks::Some(HashSet::new());
    };
    let Some(receiver) = target.receiver else {
        if !matches!(target.callee, Callee::Func(_)) {
            return CallerLocks::Some(HashSet::new());
        }
        // A package function: the package's mutexes its caller holds, and those the
        // caller's own callers hold for it.
        let mut held: HashSet<Guard> = event
            .locks
            .iter()
            .chain(at_literal_calls)
            .filter(|&&(l, mode)| {
                mode.is_mutex()
                    && facts.bindings[facts.places[l as usize].root as usize]
                        .func
                        .is_none()
            })
            .map(|&(l, _)| Guard::Global(facts.places[l as usize].root))
            .collect();
        let method = owners.get(&caller).copied().unwrap_or(caller);
        match &out[method as usize] {
            CallerLocks::All => return CallerLocks::All,
            CallerLocks::Some(g) => {
                held.extend(g.iter().filter(|g| matches!(g, Guard::Global(_))).cloned())
            }
        }
        return CallerLocks::Some(held);
    };
    let r = &facts.places[receiver as usize];
    let root = &facts.bindings[r.root as usize];
    // A method called on a local just made (`s := &S{}`, `s := newS()`) by the function
    // that made it: the object is still being built and not shared yet. A function literal
    // that captured the local (a goroutine, a callback) calls it on a shared object.
    if root.func == Some(caller) && !root.param && root.alias.is_none() && root.fresh {
        return CallerLocks::All;
    }
    let mut held: HashSet<Guard> = event
        .locks
        .iter()
        .chain(at_literal_calls)
        .filter(|&&(_, mode)| mode.is_mutex())
        .filter_map(|&(l, _)| {
            let p = &facts.places[l as usize];
            if p.root == r.root && p.fields.starts_with(&r.fields) {
                Some(Guard::Receiver(p.fields[r.fields.len()..].to_vec()))
            } else if facts.bindings[p.root as usize].func.is_none() {
                Some(Guard::Global(p.root))
            } else {
                None
            }
        })
        .collect();
    // A helper calling a helper on its own receiver passes on what its callers hold; so
    // does a literal in its body that runs there (`apply := func() { rm.update() }`).
    let method = owners.get(&caller).copied().unwrap_or(caller);
    if facts.funcs[method as usize].receiver == Some(r.root) && r.fields.is_empty() {
        // Set-up of a starting method, before its first goroutine (see `setup`).
        if setup.before_start(facts, method, caller, e) {
            return CallerLocks::All;
        }
        match &out[method as usize] {
            CallerLocks::All => return CallerLocks::All,
            CallerLocks::Some(g) => held.extend(g.iter().cloned()),
        }
    }
    CallerLocks::Some(held)
}

fn intersect(a: CallerLocks, b: CallerLocks) -> CallerLocks {
    match (a, b) {
        (CallerLocks::All, x) | (x, CallerLocks::All) => x,
        (CallerLocks::Some(x), CallerLocks::Some(y)) => {
            CallerLocks::Some(x.intersection(&y).cloned().collect())
        }
    }
}
