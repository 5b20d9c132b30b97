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
mod graph;
mod inconsistent_locking;
mod leaves_critical_section;
mod lock_identity;
mod lock_on_copy;
mod mutated_after_load;
mod ordering;
mod pairs;
pub mod program;
mod read_write;
mod write_under_read_lock;

use std::collections::{HashMap, HashSet};

use rustc_hash::FxHashSet;

use crate::finding::{Finding, Location, Role};
use crate::index::{IndexWarning, PackageFacts};
use crate::source::SourceFile;

/// Runs every rule on one package; `files` are indexed by the facts' file ids. Returns the
/// findings and what bounds of the analysis left out.
pub fn analyze(facts: &PackageFacts, files: &[&SourceFile]) -> (Vec<Finding>, Vec<IndexWarning>) {
    let mut findings = write_under_read_lock::check(facts, files);
    let loaded = mutated_after_load::check(facts, files);
    // Rules that explain why an access is unguarded; the race rules would report it bare.
    let mut explained = leaves_critical_section::check(facts, files);
    explained.extend(lock_on_copy::check(facts, files));
    let program = program::expand(facts);
    let warnings = cuts::warnings(facts, &program);
    let graph = concurrency::Graph::new(&program, facts);
    findings.extend(inferred_guards(facts, files, &graph));
    let ctx = context::Context {
        facts,
        files,
        program: &program,
    };
    let file_rank = context::file_ranks(files);
    let mut kept = context::BestConflicts::new(&ctx, &file_rank);
    concurrency::races(&graph, facts, &file_rank, &mut |race| kept.offer(race));
    let races = kept.into_races();
    if !races.is_empty() {
        findings.extend(concurrent_write::check(&ctx, &races));
        findings.extend(read_write::check(&ctx, &races));
    }
    fold_inferred_guards(&mut findings);
    // A write to a loaded map is one problem: MG005 says why, so the races it is in go.
    let writes: HashSet<_> = loaded.iter().map(site).collect();
    findings.retain(|f| {
        !(f.rule == concurrent_write::ID || f.rule == read_write::ID)
            || !std::iter::once(&f.location)
                .chain(
                    f.related
                        .iter()
                        .filter(|r| r.role == Role::ConflictingAccess)
                        .map(|r| &r.location),
                )
                .any(|l| writes.contains(&site_of(l)))
    });
    findings.extend(loaded);
    // One problem, one report: an access MG006 or MG007 explains is not reported again.
    let sites: HashSet<_> = explained.iter().map(site).collect();
    findings.retain(|f| !sites.contains(&site(f)));
    findings.extend(explained);
    findings.sort();
    (findings, warnings)
}

/// Where a finding is: its file and start byte.
fn site(f: &Finding) -> (String, usize) {
    site_of(&f.location)
}

/// A location's file and start byte.
fn site_of(l: &Location) -> (String, usize) {
    (l.path.clone(), l.start_byte)
}

/// Inconsistent locking (MG003), less the unguarded reads the expanded program shows
/// ordered with every write of the field (`wg.Wait()`, then the read; a `Stop` that waits
/// for the goroutines that make every write).
fn inferred_guards(
    facts: &PackageFacts,
    files: &[&SourceFile],
    graph: &concurrency::Graph,
) -> Vec<Finding> {
    let found = inconsistent_locking::check(facts, files);
    let sites: FxHashSet<_> = found
        .iter()
        .filter_map(|(_, read)| read.as_ref())
        .flat_map(|r| std::iter::once(r.read).chain(r.writes.iter().copied()))
        .collect();
    let occurrences = graph.occurrences(&sites);
    found
        .into_iter()
        .filter(|(_, read)| {
            !read.as_ref().is_some_and(|r| {
                graph.read_ordered_with_writes(&occurrences, r.read, &r.writes)
                    || graph.read_after_writers_joined(&occurrences, r.read, &r.writes)
            })
        })
        .map(|(finding, _)| finding)
        .collect()
}

/// One access, one report: where a race rule reports the access that inconsistent locking
/// (MG003) reports too, the race finding keeps MG003's evidence (the locked access it
/// points to, and a note) and MG003's finding goes.
fn fold_inferred_guards(findings: &mut Vec<Finding>) {
    // The race rules name the map from the goroutine's side (`acc.keys`), MG003 from the
    // function's (`c.acc.keys`): the same access has the same start and last field.
    let site = |f: &Finding| {
        let field = f.map.rsplit('.').next().unwrap_or_default().to_string();
        (f.location.path.clone(), f.location.start_byte, field)
    };
    let mut inferred: HashMap<_, Finding> = HashMap::new();
    let mut rest = Vec::with_capacity(findings.len());
    for f in findings.drain(..) {
        if f.rule == inconsistent_locking::ID {
            inferred.insert(site(&f), f);
        } else {
            rest.push(f);
        }
    }
    for f in &mut rest {
        if f.rule != concurrent_write::ID && f.rule != read_write::ID {
            continue;
        }
        if let Some(guard) = inferred.remove(&site(f)) {
            f.related.extend(guard.related);
            f.notes.push(format!("{} ({})", guard.message, guard.rule));
        }
    }
    rest.extend(inferred.into_values());
    *findings = rest;
}
