//! Analysis: the rules, run over one package's facts.
//!
//! [`program`] expands the facts into goroutine trees with calls inlined; [`concurrency`]
//! computes, once per package, which pairs of map accesses may run at the same time with no
//! lock or happens-before edge between them; each rule turns the pairs it is about into
//! findings.

pub mod concurrency;
mod concurrent_write;
mod context;
mod cuts;
mod inconsistent_locking;
mod leaves_critical_section;
mod lock_on_copy;
mod mutated_after_load;
mod ordering;
mod pairs;
pub mod program;
mod read_write;
mod write_under_read_lock;

use std::collections::HashSet;

use crate::finding::Finding;
use crate::index::{IndexWarning, PackageFacts};
use crate::source::SourceFile;

/// Runs every rule on one package; `files` are indexed by the facts' file ids. Returns the
/// findings and what bounds of the analysis left out.
pub fn analyze(facts: &PackageFacts, files: &[&SourceFile]) -> (Vec<Finding>, Vec<IndexWarning>) {
    let mut findings = write_under_read_lock::check(facts, files);
    findings.extend(inconsistent_locking::check(facts, files));
    findings.extend(mutated_after_load::check(facts, files));
    // Rules that explain why an access is unguarded; the race rules would report it bare.
    let mut explained = leaves_critical_section::check(facts, files);
    explained.extend(lock_on_copy::check(facts, files));
    let program = program::expand(facts);
    let warnings = cuts::warnings(facts, &program);
    let ctx = context::Context {
        facts,
        files,
        program: &program,
    };
    let file_rank = context::file_ranks(files);
    let mut kept = context::BestConflicts::new(&ctx, &file_rank);
    concurrency::races(&program, facts, &file_rank, &mut |race| kept.offer(race));
    let races = kept.into_races();
    if !races.is_empty() {
        findings.extend(concurrent_write::check(&ctx, &races));
        findings.extend(read_write::check(&ctx, &races));
    }
    // One problem, one report: an access MG006 or MG007 explains is not reported again.
    let sites: HashSet<_> = explained
        .iter()
        .map(|f| (f.location.path.clone(), f.location.start_byte))
        .collect();
    findings.retain(|f| !sites.contains(&(f.location.path.clone(), f.location.start_byte)));
    findings.extend(explained);
    findings.sort();
    (findings, warnings)
}
