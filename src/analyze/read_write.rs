//! MG002 concurrent-map-read-write: a map read while another goroutine may write it.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use crate::finding::{Confidence, Finding, Location, Related, Role};

use super::concurrency::Race;
use super::context::{access_noun, lock_one_side_help, one_per_primary, Context, Reported, Words};
use super::program::ProgramPlaceId;

/// The rule's id.
pub const ID: &str = "MG002";

/// Reports every read racing with a write, once per read.
pub fn check(ctx: &Context<'_>, races: &[Race]) -> Vec<Finding> {
    let reports = races
        .iter()
        .filter_map(
            |&race| match (ctx.op(race.a).is_write(), ctx.op(race.b).is_write()) {
                (false, true) => Some(Reported {
                    primary: race.a,
                    conflict: race.b,
                    race,
                }),
                (true, false) => Some(Reported {
                    primary: race.b,
                    conflict: race.a,
                    race,
                }),
                _ => None,
            },
        )
        .collect();
    one_per_unguarded_write(ctx, one_per_primary(ctx, reports))
        .into_iter()
        .map(|(r, others)| {
            let mut f = finding(ctx, r);
            let here = ctx.file_of(r.primary);
            f.related.extend(others.iter().map(|o| Related {
                role: Role::ConflictingAccess,
                location: ctx.location(o.primary),
                message: format!(
                    "read by {} holding {}, racing with the same write",
                    ctx.who(o.primary.thread, here),
                    ctx.held_words(o.primary).unwrap_or_default()
                ),
            }));
            f
        })
        .collect()
}

/// One missing lock, one report: reads that hold a lock racing with the same write that
/// holds none (`monitor` and `clearCache` under `drv.mu`, the constructor's write without
/// it) are one finding, at the first read, listing the others. Only reports of the same
/// confidence fold, so that none hides behind a less certain one. Each report comes with
/// the reports folded into it.
fn one_per_unguarded_write(
    ctx: &Context<'_>,
    reports: Vec<Reported>,
) -> Vec<(Reported, Vec<Reported>)> {
    let mut out: Vec<(Reported, Vec<Reported>)> = Vec::with_capacity(reports.len());
    let mut by_write: HashMap<(ProgramPlaceId, Location, Confidence), usize> = HashMap::new();
    for r in reports {
        if !ctx.holds_locks(r.primary) || ctx.holds_locks(r.conflict) {
            out.push((r, Vec::new()));
            continue;
        }
        let key = (
            r.race.place,
            ctx.location(r.conflict),
            ctx.confidence(&r.race),
        );
        match by_write.entry(key) {
            Entry::Occupied(e) => out[*e.get()].1.push(r),
            Entry::Vacant(e) => {
                e.insert(out.len());
                out.push((r, Vec::new()));
            }
        }
    }
    out
}

fn finding(ctx: &Context<'_>, r: Reported) -> Finding {
    let map = ctx.map(r.race.place);
    let here = ctx.file_of(r.primary);
    let by = ctx.who(r.primary.thread, here);
    let writer = ctx.who(r.conflict.thread, here);
    let writer = if r.conflict.thread == r.primary.thread || writer == by {
        format!("another instance of {writer}")
    } else {
        writer
    };
    let words = Words {
        rule: ID,
        message: format!(
            "map `{map}` is read here by {by} while {writer} may write it ({}), with no common \
             lock or wait between them",
            ctx.at(r.conflict, here)
        ),
        label: format!("{} by {by}", access_noun(ctx.op(r.primary))),
        conflict: Some(format!("conflicting write by {writer}")),
        help: lock_one_side_help(ctx, &r, here).unwrap_or_else(|| {
            format!(
                "hold the same lock around this read and every write of `{map}` (a read lock \
                 is enough for the read if it is a sync.RWMutex), or read it only after the \
                 writers are done (sync.WaitGroup.Wait)"
            )
        }),
    };
    ctx.race_finding(&r, words)
}
