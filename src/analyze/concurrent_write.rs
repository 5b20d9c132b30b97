//! MG001 concurrent-map-write: a map written by two goroutines that nothing orders.

use crate::finding::Finding;

use super::concurrency::Race;
use super::context::{lock_one_side_help, one_per_primary, Context, Reported, Words};

/// The rule's id.
pub const ID: &str = "MG001";

/// Reports every write racing with another write, once per write.
pub fn check(ctx: &Context<'_>, races: &[Race]) -> Vec<Finding> {
    // Both writes of a pair are reported, each with the other as its conflict, except a
    // write that holds a lock racing with one that holds none: the fix goes on the
    // unguarded side, which is reported.
    let reports = races
        .iter()
        .filter(|r| ctx.op(r.a).is_write() && ctx.op(r.b).is_write())
        .flat_map(|&race| {
            [(race.a, race.b), (race.b, race.a)].map(|(primary, conflict)| Reported {
                primary,
                conflict,
                race,
            })
        })
        .filter(|r| !ctx.holds_locks(r.primary) || ctx.holds_locks(r.conflict))
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
    // One write racing with itself: instances of one goroutine (not two goroutines that
    // reach the same line through a shared helper).
    let self_race = r.conflict.thread == r.primary.thread
        && ctx.location(r.conflict) == ctx.location(r.primary);
    let (message, conflict) = if self_race {
        // A read lock, or a lock each instance has its own copy of, excludes no other writer.
        let held = if ctx.holds_locks(r.primary) {
            "holding no lock that excludes the other instances"
        } else {
            "with no lock held"
        };
        let message = format!(
            "concurrent writes to map `{map}`: {by} writes it here in many instances at once, \
             {held}"
        );
        (message, None)
    } else {
        let who = ctx.who(r.conflict.thread, here);
        let at = ctx.at(r.conflict, here);
        let other = if r.conflict.thread == r.primary.thread || who == by {
            format!("another instance of {who} ({at})")
        } else {
            format!("{who} ({at})")
        };
        let message = format!(
            "concurrent writes to map `{map}`: written here by {by} and by {other} with no \
             common lock or wait between them"
        );
        (message, Some(format!("conflicting write by {who}")))
    };
    let words = Words {
        rule: ID,
        message,
        label: format!("write by {by}"),
        conflict,
        help: lock_one_side_help(ctx, &r, here).unwrap_or_else(|| {
            format!(
                "guard every access to `{map}` with the same sync.Mutex, wait for the \
                 goroutines (sync.WaitGroup.Wait) before touching it again, or give it to a \
                 single goroutine"
            )
        }),
    };
    ctx.race_finding(&r, words)
}
