//! MG002 concurrent-map-read-write: a map read while another goroutine may write it.

use crate::finding::Finding;

use super::concurrency::Race;
use super::context::{access_noun, lock_one_side_help, one_per_primary, Context, Reported, Words};

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
    one_per_primary(ctx, reports)
        .into_iter()
        .map(|r| finding(ctx, r))
        .collect()
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
