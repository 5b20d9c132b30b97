//! Applies lock helpers at their call sites, once every body is walked: after `s.lock()`
//! the caller holds `s.mu` until an unlock; inside `s.withLock(func() {...})` the literal's
//! accesses hold it. Program order is followed, except that a change on a path that leaves
//! the function does not reach the code after it; other control flow is not followed.

use super::{
    BindingId, Callee, CtlId, EventKind, LockMode, LockSet, PackageFacts, Place, PlaceId, Target,
};

/// A change to the locks held, made by a call of a lock helper or an unlock.
#[derive(Debug, Clone, Copy)]
enum Change {
    Acquire(PlaceId, LockMode),
    Release(PlaceId),
}

/// Adds the locks that helper calls take to the events they cover.
pub fn apply(facts: &mut PackageFacts) {
    let helpers = facts.funcs.iter().any(|f| {
        let e = &f.lock_effect;
        !e.acquires.is_empty() || !e.releases.is_empty() || !e.runs_params.is_empty()
    });
    if !helpers {
        return;
    }
    spawned_literals(facts);
    for f in 0..facts.funcs.len() {
        let mut order: Vec<usize> = (0..facts.funcs[f].events.len()).collect();
        order.sort_by_key(|&i| facts.funcs[f].events[i].order);
        let control = facts.funcs[f].ctl.clone();
        // Lock changes in program order, each with its frame: a change on a path that
        // leaves the function (`if closed { unlock(); return }`) does not reach what follows.
        let mut changes: Vec<(CtlId, Change)> = Vec::new();
        let active_at = |changes: &[(CtlId, Change)], at: CtlId| -> LockSet {
            let mut active: LockSet = Vec::new();
            if !changes
                .iter()
                .any(|(_, c)| matches!(c, Change::Acquire(..)))
            {
                return active;
            }
            for &(ctl, change) in changes {
                if control.exits_between(ctl, at) {
                    continue;
                }
                match change {
                    Change::Acquire(p, mode) => {
                        active.retain(|&(x, _)| x != p);
                        active.push((p, mode));
                    }
                    Change::Release(p) => active.retain(|&(x, _)| x != p),
                }
            }
            active
        };
        let mut additions: Vec<(usize, LockSet)> = Vec::new();
        let mut covered: Vec<(std::ops::Range<usize>, LockSet)> = Vec::new();
        // Function values passed in variables that a helper runs locked: the call's span,
        // the argument, the locks.
        let mut passed: Vec<(std::ops::Range<usize>, usize, LockSet)> = Vec::new();
        for i in order {
            let kind = facts.funcs[f].events[i].kind.clone();
            let at = facts.funcs[f].events[i].ctl;
            match kind {
                EventKind::Unlock { place } => changes.push((at, Change::Release(place))),
                EventKind::Call {
                    passed: Some(_), ..
                } => additions.push((i, active_at(&changes, at))),
                EventKind::Call {
                    target, literals, ..
                } => {
                    additions.push((i, active_at(&changes, at)));
                    let Some(callee) = facts.resolve(&target.callee) else {
                        continue;
                    };
                    let effect = facts.funcs[callee as usize].lock_effect.clone();
                    for (p, mode) in effect.acquires {
                        if let Some(q) = map_place(facts, callee, &target, p) {
                            changes.push((at, Change::Acquire(q, mode)));
                        }
                    }
                    for p in effect.releases {
                        if let Some(q) = map_place(facts, callee, &target, p) {
                            changes.push((at, Change::Release(q)));
                        }
                    }
                    for run in effect.runs_params {
                        let mut mapped: LockSet = Vec::new();
                        let Some((_, span, params)) =
                            literals.iter().find(|(a, ..)| *a == run.param)
                        else {
                            for &(p, m) in &run.locks {
                                if let Some(q) = map_place(facts, callee, &target, p) {
                                    mapped.push((q, m));
                                }
                            }
                            let span = facts.funcs[f].events[i].span.clone();
                            passed.push((span, run.param, mapped));
                            continue;
                        };
                        for &(p, m) in &run.locks {
                            if let Some(q) = map_place(facts, callee, &target, p) {
                                mapped.push((q, m));
                            }
                            if let Some(q) = passed_place(facts, &run.args, params, p) {
                                mapped.push((q, m));
                            }
                        }
                        covered.push((span.clone(), mapped));
                    }
                }
                _ => additions.push((i, active_at(&changes, at))),
            }
        }
        let events = &mut facts.funcs[f].events;
        for (i, locks) in additions {
            add_locks(&mut events[i].locks, &locks);
        }
        for (span, param, locks) in passed {
            for e in events.iter_mut() {
                if matches!(e.kind, EventKind::Call { passed: Some(p), .. } if p == param)
                    && e.span == span
                {
                    add_locks(&mut e.locks, &locks);
                }
            }
        }
        for (span, locks) in covered {
            for e in events.iter_mut() {
                if span.start <= e.span.start && e.span.end <= span.end {
                    add_locks(&mut e.locks, &locks);
                }
            }
        }
    }
}

/// A literal handed to the function a `go` statement runs is a goroutine of its own, yet
/// runs inside that function: it holds the locks the function holds when it calls it
/// (`go run(st, func(s *store) {…})` with `s.mu.Lock(); fn(s)` in `run`).
fn spawned_literals(facts: &mut PackageFacts) {
    for (literal, target, param) in std::mem::take(&mut facts.spawned_literals) {
        let Some(runner) = facts.resolve(&target.callee) else {
            continue;
        };
        let runs = facts.funcs[runner as usize].lock_effect.runs_params.clone();
        let params = facts.funcs[literal as usize].params.clone();
        let mut mapped: LockSet = Vec::new();
        for run in runs.iter().filter(|r| r.param == param) {
            for &(p, m) in &run.locks {
                if let Some(q) = map_place(facts, runner, &target, p) {
                    mapped.push((q, m));
                }
                if let Some(q) = passed_place(facts, &run.args, &params, p) {
                    mapped.push((q, m));
                }
            }
        }
        if mapped.is_empty() {
            continue;
        }
        for e in &mut facts.funcs[literal as usize].events {
            add_locks(&mut e.locks, &mapped);
        }
    }
}

fn add_locks(set: &mut LockSet, extra: &LockSet) {
    for &(p, mode) in extra {
        match set.iter_mut().find(|(q, _)| *q == p) {
            Some(held) => held.1 = held.1.max(mode),
            None => set.push((p, mode)),
        }
    }
    set.sort();
}

/// A lock of the callee seen from inside the literal it calls: `walk` holding `d.mu`
/// calls `fun(d)`, so the literal `func(x *Dir) {…}` runs holding `x.mu`. `args` are the
/// places the callee passes, `params` the literal's parameters.
fn passed_place(
    facts: &mut PackageFacts,
    args: &[Option<PlaceId>],
    params: &[Option<BindingId>],
    lock: PlaceId,
) -> Option<PlaceId> {
    let l = facts.places[lock as usize].clone();
    let (j, arg) = args.iter().enumerate().find_map(|(j, a)| {
        let a = &facts.places[(*a)? as usize];
        (a.root == l.root && l.fields.starts_with(&a.fields)).then_some((j, a.fields.len()))
    })?;
    let root = (*params.get(j)?)?;
    Some(facts.intern_place(Place {
        root,
        fields: l.fields[arg..].to_vec(),
    }))
}

/// A place of the callee seen from the call: its receiver and parameters become the call's
/// receiver and arguments; package variables stay themselves.
pub(super) fn map_place(
    facts: &mut PackageFacts,
    callee: u32,
    target: &Target,
    place: PlaceId,
) -> Option<PlaceId> {
    let p = facts.places[place as usize].clone();
    let func = &facts.funcs[callee as usize];
    let base = if func.receiver == Some(p.root) {
        target.receiver?
    } else if let Some(i) = func.params.iter().position(|&b| b == Some(p.root)) {
        (*target.args.get(i)?)?
    } else if facts.bindings[p.root as usize].func.is_none()
        || matches!(target.callee, Callee::Literal(_))
    {
        // A package variable, or a variable a literal captured: the same place.
        return Some(place);
    } else {
        return None;
    };
    let mut mapped: Place = facts.places[base as usize].clone();
    mapped.fields.extend(p.fields);
    Some(facts.intern_place(mapped))
}
