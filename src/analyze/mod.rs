//! Analysis: the rules, run over one package's facts.
//!
//! [`program`] expands the facts into goroutine trees with calls inlined; [`concurrency`]
//! computes, once per package, which pairs of map accesses may run at the same time with no
//! lock or happens-before edge between them; each rule turns the pairs it is about into
//! findings.

pub mod concurrency;
mod concurrent_write;
mod context;
mod inconsistent_locking;
mod mutated_after_load;
pub mod program;
mod read_write;
mod write_under_read_lock;

use crate::finding::Finding;
use crate::index::PackageFacts;
use crate::source::SourceFile;

/// Runs every rule on one package; `files` are indexed by the facts' file ids.
pub fn analyze(facts: &PackageFacts, files: &[&SourceFile]) -> Vec<Finding> {
    let mut findings = write_under_read_lock::check(facts, files);
    findings.extend(inconsistent_locking::check(facts, files));
    findings.extend(mutated_after_load::check(facts, files));
    let program = program::expand(facts);
    let races = concurrency::races(&program, facts);
    if !races.is_empty() {
        let ctx = context::Context {
            facts,
            files,
            program: &program,
        };
        findings.extend(concurrent_write::check(&ctx, &races));
        findings.extend(read_write::check(&ctx, &races));
    }
    findings.sort();
    findings
}
