//! What the expansion's bounds left out, as warnings: a cut is never silent (calls too
//! deep, event budgets, field aliases followed through too many parameters).

use std::collections::BTreeMap;

use crate::index::{FuncId, IndexWarning, PackageFacts};

use super::program::{
    CutKind, Program, MAX_ALIAS_HOPS, MAX_CALL_DEPTH, MAX_EVENTS_PER_PACKAGE, MAX_EVENTS_PER_ROOT,
};

/// One warning per cut site and bound (naming the roots cut there), and one for all the
/// roots the package bound skipped.
pub fn warnings(facts: &PackageFacts, program: &Program) -> Vec<IndexWarning> {
    let mut out = Vec::new();
    let mut skipped = program
        .cuts
        .iter()
        .filter(|c| c.kind == CutKind::PackageBudget);
    if let Some(first) = skipped.next() {
        let root = &facts.funcs[first.root as usize];
        let more = match skipped.count() {
            0 => String::new(),
            n => format!(" and {n} more"),
        };
        out.push(IndexWarning {
            file: root.file,
            offset: root.span.start,
            message: format!(
                "analysis incomplete: `{}`{more} not analyzed for races, the package's \
                 analysis passed {MAX_EVENTS_PER_PACKAGE} events",
                root.name
            ),
        });
    }
    // One warning per cut site and bound, however many roots were cut there.
    let mut sites: BTreeMap<(FuncId, usize, bool), Vec<FuncId>> = BTreeMap::new();
    for cut in &program.cuts {
        let Some((func, event)) = cut.at else {
            continue;
        };
        let roots = sites
            .entry((func, event, cut.kind == CutKind::Depth))
            .or_default();
        if !roots.contains(&cut.root) {
            roots.push(cut.root);
        }
    }
    for ((func, event, depth), roots) in sites {
        let f = &facts.funcs[func as usize];
        let why = if depth {
            format!("calls nested more than {MAX_CALL_DEPTH} deep are not followed")
        } else {
            format!("calls past the first {MAX_EVENTS_PER_ROOT} events are not followed")
        };
        out.push(IndexWarning {
            file: f.file,
            offset: f.events[event].span.start,
            message: format!(
                "analysis incomplete in {}: {why} (from this call on)",
                names(facts, &roots)
            ),
        });
    }
    for &holder in &program.alias_cuts {
        let binding = &facts.bindings[holder as usize];
        out.push(IndexWarning {
            file: binding.file,
            offset: binding.offset,
            message: format!(
                "analysis incomplete: what the fields of `{name}` hold is followed through \
                 at most {MAX_ALIAS_HOPS} parameters; past that they are taken as `{name}`'s \
                 own storage",
                name = binding.name
            ),
        });
    }
    out
}

/// "`f`" or "`f` and 3 more functions".
fn names(facts: &PackageFacts, roots: &[FuncId]) -> String {
    let first = &facts.funcs[roots[0] as usize].name;
    match roots.len() {
        1 => format!("`{first}`"),
        n => format!("`{first}` and {} more functions", n - 1),
    }
}
