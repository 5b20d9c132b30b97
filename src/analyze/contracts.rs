//! Lock contracts across calls: the locks that every caller of an unexported function holds
//! when it calls it (`s.mu.Lock(); s.startLocked()`). Analyzed as a root of its own, such a
//! function runs holding them, as it does in every real call.

use rustc_hash::FxHashMap;

use crate::index::{BindingId, EventKind, FuncId, LockMode, PackageFacts, PlaceId};

use super::program::is_exported;

/// A lock as the callee names it: a variable of the callee (its receiver or a parameter) or a
/// package variable, and the fields selected from it.
pub type EntryLock = (BindingId, Vec<String>, LockMode);

/// Rounds of propagation through callers' own contracts (`Add` locks, calls `a`, which
/// calls `bLocked`): enough for real helper chains, bounded for recursion.
const MAX_ROUNDS: usize = 4;

/// For each function, the locks held at entry by every call of it in the package: empty for
/// exported functions (callers elsewhere may hold nothing), functions never called, and
/// functions also started as goroutines.
pub fn entry_locks(facts: &PackageFacts) -> Vec<Vec<EntryLock>> {
    let mut sites: FxHashMap<FuncId, Vec<(FuncId, usize)>> = FxHashMap::default();
    let mut spawned = vec![false; facts.funcs.len()];
    for (f, func) in facts.funcs.iter().enumerate() {
        for (i, e) in func.events.iter().enumerate() {
            match &e.kind {
                EventKind::Call { target, .. } => {
                    if let Some(callee) = facts.resolve(&target.callee) {
                        sites.entry(callee).or_default().push((f as FuncId, i));
                    }
                }
                EventKind::Spawn { target, .. } => {
                    if let Some(callee) = facts.resolve(&target.callee) {
                        spawned[callee as usize] = true;
                    }
                }
                _ => {}
            }
        }
    }
    let candidates: Vec<FuncId> = (0..facts.funcs.len() as FuncId)
        .filter(|&f| {
            let func = &facts.funcs[f as usize];
            func.declared
                && !is_exported(&func.name)
                && !spawned[f as usize]
                && sites.contains_key(&f)
        })
        .collect();
    let mut contracts: Vec<Vec<EntryLock>> = vec![Vec::new(); facts.funcs.len()];
    for _ in 0..MAX_ROUNDS {
        let mut changed = false;
        for &f in &candidates {
            let contract = common_locks(facts, &contracts, f, &sites[&f]);
            if contract != contracts[f as usize] {
                contracts[f as usize] = contract;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    contracts
}

/// The locks held at all of `callee`'s call sites, named as the callee sees them.
fn common_locks(
    facts: &PackageFacts,
    contracts: &[Vec<EntryLock>],
    callee: FuncId,
    sites: &[(FuncId, usize)],
) -> Vec<EntryLock> {
    let mut common: Option<Vec<EntryLock>> = None;
    for &(caller, i) in sites {
        let mut here = held_at_call(facts, contracts, callee, caller, i);
        if let Some(prev) = common {
            here.retain_mut(|(b, fields, mode)| {
                prev.iter()
                    .find(|(pb, pf, _)| pb == b && pf == fields)
                    .map(|&(_, _, pm)| *mode = (*mode).min(pm))
                    .is_some()
            });
        }
        if here.is_empty() {
            return Vec::new();
        }
        common = Some(here);
    }
    let mut out = common.unwrap_or_default();
    out.sort();
    out
}

/// The locks the caller holds at call `i` (its own and those of its contract), mapped into
/// the callee: through the receiver or an argument bound to a callee parameter, or a package
/// variable.
fn held_at_call(
    facts: &PackageFacts,
    contracts: &[Vec<EntryLock>],
    callee: FuncId,
    caller: FuncId,
    i: usize,
) -> Vec<EntryLock> {
    let caller_func = &facts.funcs[caller as usize];
    let event = &caller_func.events[i];
    let EventKind::Call { target, .. } = &event.kind else {
        return Vec::new();
    };
    let callee_func = &facts.funcs[callee as usize];
    let bound: Vec<(BindingId, PlaceId)> = callee_func
        .receiver
        .zip(target.receiver)
        .into_iter()
        .chain(
            callee_func
                .params
                .iter()
                .zip(&target.args)
                .filter_map(|(p, a)| p.zip(*a)),
        )
        .collect();
    let own = event.locks.iter().map(|&(p, mode)| {
        let place = &facts.places[p as usize];
        (place.root, place.fields.clone(), mode)
    });
    let inherited = contracts[caller as usize].iter().cloned();
    let mut out: Vec<EntryLock> = Vec::new();
    for (root, fields, mode) in own.chain(inherited) {
        let mapped = if facts.bindings[root as usize].func.is_none() {
            Some((root, fields))
        } else {
            bound.iter().find_map(|&(param, arg)| {
                let a = &facts.places[arg as usize];
                (a.root == root && fields.starts_with(&a.fields))
                    .then(|| (param, fields[a.fields.len()..].to_vec()))
            })
        };
        if let Some((b, f)) = mapped {
            if !out.iter().any(|(ob, of, _)| *ob == b && *of == f) {
                out.push((b, f, mode));
            }
        }
    }
    out
}
