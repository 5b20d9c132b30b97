//! Calls through an interface of the package that several of its types implement
//! (`a.store.Put(…)` of a `SessionStore`): when the package makes values of only one of
//! them (`&memStore{…}`, `new(syncStore)`), the call reaches that one's method. In a
//! program (`package main`) only code that `main`, `init` or a test reaches counts, the
//! rapid type analysis of C++ and Java call graphs: a constructor nothing calls makes
//! nothing. Calls that may reach several are left unresolved: expanding every candidate
//! costs more than it finds.

use std::collections::{HashMap, HashSet};

use super::{Callee, EventKind, FuncId, PackageFacts};

/// Rounds of reachability and dispatch: a call through an interface can reach code that
/// makes another implementer.
const MAX_ROUNDS: usize = 4;

/// Notes the literals the package's functions return as one of its function types
/// (`func WithLabel(k, v string) Option { return func(c *config) {…} }`) as what a call of
/// a value of that type runs (`opt(cfg)`), under the type's name and an empty field in
/// `PackageFacts::field_funcs`: functional options applied by a constructor.
pub fn function_types(facts: &mut PackageFacts) {
    if facts.decls.func_types.is_empty() {
        return;
    }
    let mut stored: Vec<(String, FuncId)> = Vec::new();
    for func in facts
        .funcs
        .iter()
        .filter(|f| f.declared && f.receiver.is_none())
    {
        let Some(super::TypeInfo::Named(ty)) = facts.decls.func_results.get(&func.name) else {
            continue;
        };
        if !facts.decls.func_types.contains(ty) {
            continue;
        }
        for (index, callee) in &func.returned_funcs {
            if let (0, Callee::Literal(l)) = (index, callee) {
                stored.push((ty.clone(), *l));
            }
        }
    }
    for (ty, literal) in stored {
        let known = facts.field_funcs.entry((ty, String::new())).or_default();
        let callee = Callee::Literal(literal);
        if known.len() <= super::MAX_STORED_FUNCS && !known.iter().any(|(c, _)| *c == callee) {
            known.push((callee, None));
        }
    }
}

/// Fills `PackageFacts::dispatch` with the implementers each interface call may reach.
pub fn apply(facts: &mut PackageFacts) {
    if facts.decls.interfaces.is_empty() {
        return;
    }
    for _ in 0..MAX_ROUNDS {
        let live = live_funcs(facts);
        let made: HashSet<&str> = facts
            .funcs
            .iter()
            .zip(&live)
            .filter(|(_, &live)| live)
            .flat_map(|(f, _)| f.instantiates.iter().map(String::as_str))
            .collect();
        let mut dispatch: HashMap<(String, String), Vec<FuncId>> = HashMap::new();
        for (iface, methods) in &facts.decls.interfaces {
            let implementers: Vec<&str> = facts
                .decls
                .implementers(iface)
                .filter(|ty| made.contains(ty))
                .collect();
            for method in methods {
                let mut reached: Vec<FuncId> = implementers
                    .iter()
                    .filter_map(|ty| {
                        let callee = Callee::Method(ty.to_string(), method.clone());
                        facts.callees.get(&callee).copied()
                    })
                    .collect();
                reached.sort_unstable();
                if !reached.is_empty() {
                    dispatch.insert((iface.clone(), method.clone()), reached);
                }
            }
        }
        if dispatch == facts.dispatch {
            return;
        }
        facts.dispatch = dispatch;
    }
}

/// Which functions run: in a program, those `main`, `init` and tests reach through calls,
/// spawns, stored and returned functions; in a library, all (callers outside the package
/// may call any exported function).
fn live_funcs(facts: &PackageFacts) -> Vec<bool> {
    if facts.name != "main" {
        return vec![true; facts.funcs.len()];
    }
    let mut live = vec![false; facts.funcs.len()];
    let mut stack: Vec<FuncId> = facts
        .funcs
        .iter()
        .enumerate()
        .filter(|(_, f)| f.in_test || (f.declared && matches!(f.name.as_str(), "main" | "init")))
        .map(|(i, _)| i as FuncId)
        .collect();
    while let Some(f) = stack.pop() {
        if std::mem::replace(&mut live[f as usize], true) {
            continue;
        }
        let func = &facts.funcs[f as usize];
        for event in &func.events {
            let (EventKind::Call { target, .. } | EventKind::Spawn { target, .. }) = &event.kind
            else {
                continue;
            };
            stack.extend(facts.resolve(&target.callee));
            stack.extend(
                facts
                    .resolve_all(&target.callee)
                    .into_iter()
                    .map(|(c, _)| c),
            );
        }
        for (_, returned) in &func.returned_funcs {
            stack.extend(facts.resolve(returned));
        }
    }
    // What the package stores in function-valued fields runs when the field is called.
    for stored in facts.field_funcs.values().flatten() {
        if let Some(f) = facts.resolve(&stored.0) {
            live[f as usize] = true;
        }
    }
    live
}
