//! The set-up phase of a starting method: what `Start` (or `Run`, `Serve`) does to its
//! receiver before it starts the first goroutine (`s.load(); go s.loop()`) runs before
//! anything that method starts, and a server is started before it is handed to its
//! clients, so that work is no evidence of a lock discipline nor a breach of one.

use std::collections::{HashMap, HashSet};

use crate::index::{Callee, EventKind, FuncId, PackageFacts};

/// For each function that starts goroutines, where it starts its first: the program order
/// of its first `go` statement, or of its first call of a function that starts one.
pub(super) struct SetupPhase {
    first_start: HashMap<FuncId, usize>,
}

/// Whether a method's name (`(*Server).Start`) says it starts the object: `Start`, `Run`,
/// `Serve`, or `Start…` (`startWorkers`). Not `Run…` nor `Serve…`: `RunQuery` and
/// `ServeHTTP` serve requests on an object already shared.
fn starts_object(name: &str) -> bool {
    let name = name.rsplit('.').next().unwrap_or(name);
    let rest = name
        .strip_prefix("Start")
        .or_else(|| name.strip_prefix("start"));
    ["run", "serve"]
        .iter()
        .any(|n| name.eq_ignore_ascii_case(n))
        || rest.is_some_and(|r| r.chars().next().is_none_or(|c| c.is_ascii_uppercase()))
}

impl SetupPhase {
    /// Finds where each function of the package that starts goroutines starts its first.
    pub(super) fn new(facts: &PackageFacts) -> Self {
        let callee = |kind: &EventKind| match kind {
            EventKind::Call { target, .. } => match target.callee {
                Callee::Literal(l) => Some(l),
                _ => facts.callees.get(&target.callee).copied(),
            },
            _ => None,
        };
        // The functions that start a goroutine, themselves or through a call, to a fixpoint.
        let mut starting: HashSet<FuncId> = facts
            .funcs
            .iter()
            .enumerate()
            .filter(|(_, f)| {
                f.events
                    .iter()
                    .any(|e| matches!(e.kind, EventKind::Spawn { .. }))
            })
            .map(|(f, _)| f as FuncId)
            .collect();
        loop {
            let before = starting.len();
            for (f, func) in facts.funcs.iter().enumerate() {
                if !starting.contains(&(f as FuncId))
                    && func
                        .events
                        .iter()
                        .any(|e| callee(&e.kind).is_some_and(|c| starting.contains(&c)))
                {
                    starting.insert(f as FuncId);
                }
            }
            if starting.len() == before {
                break;
            }
        }
        // Where each function that starts a goroutine starts its first.
        let first_start = facts
            .funcs
            .iter()
            .enumerate()
            .filter_map(|(f, func)| {
                func.events
                    .iter()
                    .filter(|e| {
                        matches!(e.kind, EventKind::Spawn { .. })
                            || callee(&e.kind).is_some_and(|c| starting.contains(&c))
                    })
                    .map(|e| e.order)
                    .min()
                    .map(|at| (f as FuncId, at))
            })
            .collect();
        SetupPhase { first_start }
    }

    /// Whether event `e` of `func` comes before the starting method `owner` (`Start`,
    /// `Run`, `Serve` with a receiver) starts its first goroutine: `func` is that method, or
    /// a literal in its body it calls (`s.once.Do(func() { … })`) before then, or which is
    /// itself where the first goroutine starts, `e` coming before that.
    pub(super) fn before_start(
        &self,
        facts: &PackageFacts,
        owner: FuncId,
        func: FuncId,
        e: usize,
    ) -> bool {
        let method = &facts.funcs[owner as usize];
        if !(method.declared && method.receiver.is_some() && starts_object(&method.name)) {
            return false;
        }
        let Some(&first) = self.first_start.get(&owner) else {
            return false;
        };
        let order = facts.funcs[func as usize].events[e].order;
        if func == owner {
            return order < first;
        }
        let called = method
            .events
            .iter()
            .filter(|call| match &call.kind {
                EventKind::Call { target, .. } => target.callee == Callee::Literal(func),
                _ => false,
            })
            .map(|call| call.order)
            .max();
        match called {
            Some(at) if at < first => true,
            Some(at) if at == first => self.first_start.get(&func).is_some_and(|&own| order < own),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::starts_object;

    #[test]
    fn names_that_start_an_object() {
        for name in [
            "(*Server).Start",
            "(*Manager).startWorkers",
            "(*Node).Run",
            "Serve",
        ] {
            assert!(starts_object(name), "{name}");
        }
        for name in [
            "(*Handler).ServeHTTP",
            "(*DB).RunQuery",
            "(*Job).Started",
            "(*S).restart",
        ] {
            assert!(!starts_object(name), "{name}");
        }
    }
}
