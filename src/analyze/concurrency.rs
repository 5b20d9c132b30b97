//! Which map accesses may run at the same time, unordered and unguarded.
//!
//! Goroutines form a tree per root of the expanded [`Program`]: each goroutine is spawned
//! by an event of its parent. Two accesses are concurrent when they belong to different
//! goroutines that nothing orders (a spawn orders what precedes it; a wait on a WaitGroup or
//! channel the goroutine signals orders what follows it), or to two instances of one
//! goroutine (started in a loop, or an HTTP handler). They race when at least one writes
//! and no common lock is held at both.

use std::collections::BTreeMap;

use crate::index::{LockMode, PackageFacts};

pub use super::graph::{Graph, Site};
use super::ordering::runs_whenever;
use super::pairs::{Group, Grouping, Groups, Nearest, Position};
use super::program::{
    is_entry_name, is_main, receiver_type, Action, FieldId, Program, ProgramPlaceId, ThreadId,
};

/// An event of a thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventRef {
    /// The thread.
    pub thread: ThreadId,
    /// Index into its events.
    pub event: usize,
}

/// Why two accesses may run at the same time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlap {
    /// Instances of one goroutine overlap: this spawn runs in a loop or starts a handler.
    Instances {
        /// The spawn that repeats.
        spawn: EventRef,
    },
    /// The thread is an HTTP handler: every request runs it, concurrently with itself.
    Handler {
        /// The handler's root thread.
        thread: ThreadId,
    },
    /// One access is in a goroutine spawned here, the other in the spawner after it.
    Spawned {
        /// The spawn leading to the goroutine side.
        spawn: EventRef,
    },
    /// One access is in a goroutine a method of a type starts, the other in an exported
    /// method of the same type, which callers may run while the goroutine does.
    External {
        /// The spawn leading to the goroutine side.
        spawn: EventRef,
        /// The exported method's root thread.
        entry: ThreadId,
    },
    /// The accesses are in two goroutines started by the same thread, nothing between.
    Siblings {
        /// The spawn leading to the first access's goroutine.
        first: EventRef,
        /// The spawn leading to the second access's goroutine.
        second: EventRef,
    },
    /// One access is in a request handler no code of the package registers (it has a
    /// handler's parameters), the other in another handler or a goroutine: requests run the
    /// handler at any time while the server serves.
    Handlers {
        /// The handler's root thread.
        handler: ThreadId,
        /// The root thread of the other side.
        other: ThreadId,
    },
}

/// Two accesses to one map that may happen at the same time, at least one a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Race {
    /// The map.
    pub place: ProgramPlaceId,
    /// One access.
    pub a: EventRef,
    /// The other access (may equal `a` for instances of one goroutine).
    pub b: EventRef,
    /// Why they overlap.
    pub overlap: Overlap,
}

/// Hands to `sink`, in a deterministic order, the racing pairs of accesses in the program
/// that the rules may report: for each access, at least the conflicts they would choose
/// (see `pairs`). `file_rank[f]` is file `f`'s place in the order of
/// displayed paths.
pub fn races(graph: &Graph, facts: &PackageFacts, file_rank: &[u32], sink: &mut impl FnMut(Race)) {
    let program = graph.program;
    let roots: Vec<ThreadId> = (0..program.threads.len() as ThreadId)
        .map(|t| program.root_of(t))
        .collect();
    races_within_roots(graph, facts, &roots, file_rank, sink);
    races_across_entries(graph, facts, &roots, file_rank)
        .into_iter()
        .for_each(sink);
}

/// A struct field reached through a root method's receiver: (type, field path); or a
/// package variable and a field path in it: (`var ` and the variable's binding, path).
type FieldKey = (String, Vec<FieldId>);

/// A lock as seen from outside any one method: a receiver field of a type, or a place
/// of the program (a package variable).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum LockKey {
    Field(FieldKey),
    Place(ProgramPlaceId),
}

/// Pairs accesses to one struct field made by a goroutine a method starts with accesses made
/// by the type's exported methods (and by goroutines other methods start): nothing stops a
/// caller from running them at the same time. So for package variables, between the
/// goroutines exported functions or `init` start and the exported functions and `main`. A request handler method counts as such a
/// goroutine, but is paired only with other handlers and goroutines: exported methods may
/// be the setup that runs before serving starts.
fn races_across_entries(
    graph: &Graph,
    facts: &PackageFacts,
    roots: &[ThreadId],
    file_rank: &[u32],
) -> Vec<Race> {
    let program = graph.program;
    // A place reached through the receiver of the thread's root method, or from a goroutine
    // through the object the root constructor makes and returns, as (type, fields). The
    // constructor's own accesses come before its callers have the object.
    let receiver_key = |t: ThreadId, place: ProgramPlaceId| -> Option<FieldKey> {
        let p = &program.places[place as usize];
        // A package variable is one place for every root.
        if facts.bindings[p.root as usize].func.is_none() {
            return Some((format!("var {}", p.root), p.fields.clone()));
        }
        let origin = &facts.funcs[program.threads[roots[t as usize] as usize].origin as usize];
        let receiver = p.instance == 0 && origin.receiver == Some(p.root);
        let made =
            program.threads[t as usize].spawned_by.is_some() && origin.made.contains(&p.root);
        if !receiver && !made {
            return None;
        }
        Some((receiver_type(facts, p.root)?.to_string(), p.fields.clone()))
    };
    let field_of = |t: ThreadId, place: ProgramPlaceId| {
        receiver_key(t, place).filter(|(ty, fields)| !fields.is_empty() || ty.starts_with("var "))
    };
    // `s.mu` and an embedded mutex locked as `s.Lock()` compare by type and path.
    let lock_keys =
        |t: ThreadId, locks: &[(ProgramPlaceId, LockMode)]| -> Vec<(LockKey, LockMode)> {
            locks
                .iter()
                .map(|&(l, m)| match receiver_key(t, l) {
                    Some(key) => (LockKey::Field(key), m),
                    None => (LockKey::Place(l), m),
                })
                .collect()
        };
    // Goroutines of one function, each started only after taking a token from the same
    // channel of the receiver, take turns whichever method starts them.
    let gate = |t: ThreadId| -> Option<FieldKey> {
        let (parent, event) = program.threads[t as usize].spawned_by?;
        let token = graph.ordering.gate_token(EventRef {
            thread: parent,
            event,
        })?;
        receiver_key(t, token)
    };
    // Methods of a test suite (`TestX`, `SetupTest`, ...) are run one after another by the
    // test framework, each on a suite set up anew: goroutines one starts do not meet another.
    let suite_method = |t: ThreadId| {
        let func = &facts.funcs[program.threads[roots[t as usize] as usize].origin as usize];
        let method = func.name.rsplit('.').next().unwrap_or_default();
        let runs_in_suite = ["Test", "Setup", "TearDown", "Before", "After"]
            .iter()
            .any(|p| method.starts_with(p));
        if !func.in_test || !runs_in_suite {
            return None;
        }
        func.receiver.and_then(|r| receiver_type(facts, r))
    };
    let takes_turns = |a: ThreadId, b: ThreadId| {
        program.threads[a as usize].origin == program.threads[b as usize].origin
            && gate(a).is_some_and(|key| gate(b) == Some(key))
    };
    // Goroutine accesses and entry accesses, by field, grouped by everything the check
    // below asks: root, thread, write-ness and lock keys.
    type AcrossKey = (FieldKey, bool, ThreadId, bool, Vec<(LockKey, LockMode)>);
    let mut groups: Groups<'_, AcrossKey> = Groups::new(program, facts, file_rank);
    let mut background: BTreeMap<FieldKey, Vec<usize>> = BTreeMap::new();
    let mut entries: BTreeMap<FieldKey, Vec<usize>> = BTreeMap::new();
    for (t, thread) in program.threads.iter().enumerate() {
        let t = t as ThreadId;
        let root = &program.threads[roots[t as usize] as usize];
        let root_func = &facts.funcs[root.origin as usize];
        // A goroutine its method waits for before returning is over when the caller gets
        // control back: only goroutines that outlive it count (but `main`'s run while the
        // program serves, joined or not).
        let spawned = thread.spawned_by.is_some();
        let in_background = spawned || root.handler;
        // In a program every caller is in sight: its exported names are no entries, `main`
        // is, and its expansion orders the calls it makes.
        let entry = is_main(facts, root_func) || is_entry_name(facts, root_func);
        let joined = spawned && !outlives_root(graph, t) && !is_main(facts, root_func);
        if joined || (!in_background && !entry) {
            continue;
        }
        for (e, event) in thread.events.iter().enumerate() {
            let Action::Access { place, op } = event.action else {
                continue;
            };
            let Some(key) = field_of(t, place) else {
                continue;
            };
            // A test meets the package's goroutines on package variables as its setup
            // decides; its own goroutines are its tree's business.
            if root_func.in_test && key.0.starts_with("var ") {
                continue;
            }
            let r = EventRef {
                thread: t,
                event: e,
            };
            let group_key = (
                key.clone(),
                in_background,
                t,
                op.is_write(),
                lock_keys(t, program.locks(event)),
            );
            let (g, new) = groups.add(group_key, op.is_write(), r);
            if new {
                let side = if in_background {
                    &mut background
                } else {
                    &mut entries
                };
                side.entry(key).or_default().push(g);
            }
        }
    }
    // The entry access `b` comes after a receive on a channel of the object (`<-p.done`)
    // that goroutine access `a`'s goroutine signals after `a` (`defer close(p.done)`), and
    // after every other time the goroutine makes the access at `a`'s site.
    let finished_before = |a: EventRef, b: EventRef| {
        let (ta, tb) = (
            &program.threads[a.thread as usize],
            &program.threads[b.thread as usize],
        );
        let eb = &tb.events[b.event];
        let ea = graph.last_run_of_site(a);
        tb.events[..b.event].iter().any(|w| {
            let Action::Wait { sync, .. } = w.action else {
                return false;
            };
            let Some(key) = field_of(b.thread, sync) else {
                return false;
            };
            runs_whenever(tb, w.ctl, eb.ctl)
                && ta.events.iter().any(|s| {
                    matches!(s.action, Action::Signal { sync }
                        if field_of(a.thread, sync).as_ref() == Some(&key))
                        && s.order > ea.order
                        && runs_whenever(ta, s.ctl, ea.ctl)
                })
        })
    };
    let locks: Vec<Vec<(LockKey, LockMode)>> = groups
        .groups
        .iter()
        .map(|g| {
            lock_keys(
                g.representative.thread,
                program.locks(graph.event(g.representative)),
            )
        })
        .collect();
    let groups = groups.finish();
    // Each racing pair of groups yields the member pairs the rules may report, in the order
    // of the pairs of accesses they stand for: goroutine access, then entry accesses
    // before other goroutines' accesses.
    let mut out: Vec<(&FieldKey, EventRef, bool, EventRef, Race)> = Vec::new();
    // Each group meets at most a few partner groups (a pair is taken while either side
    // has fewer): every access keeps conflicts to report, and n roots racing on one
    // package variable make O(n) races, not n².
    let mut partners = vec![0usize; locks.len()];
    for (key, goroutine_groups) in &background {
        let others: Vec<(usize, bool)> = entries
            .get(key)
            .into_iter()
            .flatten()
            .map(|&g| (g, false))
            .chain(goroutine_groups.iter().map(|&g| (g, true)))
            .collect();
        // Positions in `others` of the groups still taking partners: a group that takes
        // no more looks only at those.
        let mut open: Vec<usize> = (0..others.len()).collect();
        for &ga in goroutine_groups {
            open.retain(|&i| partners[others[i].0] < MAX_PARTNERS);
            let mut next = 0;
            while next < others.len() {
                if partners[ga] >= MAX_PARTNERS {
                    let from = open.partition_point(|&i| i < next);
                    match open[from..]
                        .iter()
                        .find(|&&i| partners[others[i].0] < MAX_PARTNERS)
                    {
                        Some(&i) => next = i,
                        None => break,
                    }
                }
                let (gb, b_background) = others[next];
                next += 1;
                let (a, b) = (groups[ga].representative, groups[gb].representative);
                if roots[a.thread as usize] == roots[b.thread as usize] {
                    continue; // within one root the ordinary analysis decides
                }
                let a_spawned = program.threads[a.thread as usize].spawned_by.is_some();
                if !a_spawned && !b_background {
                    continue; // a handler, and a method that may run before serving starts
                }
                if !groups[ga].writes && !groups[gb].writes {
                    continue;
                }
                if b_background && takes_turns(a.thread, b.thread) {
                    continue;
                }
                if suite_method(a.thread).is_some_and(|ty| suite_method(b.thread) == Some(ty)) {
                    continue;
                }
                let common = locks[ga]
                    .iter()
                    .any(|(k, ma)| locks[gb].iter().any(|(q, mb)| k == q && ma.excludes(*mb)));
                if common {
                    continue;
                }
                let overlap = if a_spawned {
                    Overlap::External {
                        spawn: spawn_below_root(program, a.thread),
                        entry: roots[b.thread as usize],
                    }
                } else {
                    Overlap::Handlers {
                        handler: roots[a.thread as usize],
                        other: roots[b.thread as usize],
                    }
                };
                let pairs = groups[ga].candidates(&groups[gb]).into_iter().chain(
                    groups[gb]
                        .candidates(&groups[ga])
                        .into_iter()
                        .map(|(p, c)| (c, p)),
                );
                let mut met = false;
                for (a, b) in pairs {
                    if !b_background && finished_before(a, b) {
                        continue;
                    }
                    let race = Race {
                        place: graph.event(a).action.place(),
                        a,
                        b,
                        overlap,
                    };
                    out.push((key, a, b_background, b, race));
                    met = true;
                }
                if met {
                    partners[ga] += 1;
                    partners[gb] += 1;
                }
            }
        }
    }
    out.sort_by(|x, y| (x.0, x.1, x.2, x.3).cmp(&(y.0, y.1, y.2, y.3)));
    out.dedup_by(|x, y| (x.1, x.3) == (y.1, y.3));
    out.into_iter().map(|(.., race)| race).collect()
}

/// How many partner groups a group of accesses meets across roots before it stops taking
/// new ones (see `races_across_entries`).
const MAX_PARTNERS: usize = 4;

/// Whether goroutine `t` may still run when the root method that (indirectly) started it
/// returns: no wait for it follows its spawn on every path.
fn outlives_root(graph: &Graph, t: ThreadId) -> bool {
    let spawn = spawn_below_root(graph.program, t);
    let body = &graph.program.threads[spawn.thread as usize];
    !graph.ordering.joined_after(body, spawn)
}

/// The spawn in the root thread that leads to goroutine `t`.
fn spawn_below_root(program: &Program, mut t: ThreadId) -> EventRef {
    loop {
        let (parent, event) = program.threads[t as usize]
            .spawned_by
            .expect("a goroutine has a spawner");
        if program.threads[parent as usize].spawned_by.is_none() {
            return EventRef {
                thread: parent,
                event,
            };
        }
        t = parent;
    }
}

/// The racing pairs within each root's goroutine tree the rules may report: each group of
/// accesses (see [`pairs`](super::pairs)) checks the other groups in the order of their
/// first sites, one check per pair of groups, until no later group can hold a conflict the
/// rules would choose ([`Nearest`]).
fn races_within_roots(
    graph: &Graph,
    facts: &PackageFacts,
    roots: &[ThreadId],
    file_rank: &[u32],
    sink: &mut impl FnMut(Race),
) {
    let grouping = Grouping::new(graph.program, facts, roots, file_rank);
    let holds_locks = |g: &Group| {
        !graph
            .program
            .locks(graph.event(g.representative))
            .is_empty()
    };
    for (&place, by_root) in &grouping.by_place {
        for (_, ids) in by_root {
            let groups: Vec<&Group> = ids.iter().map(|&g| &grouping.groups[g]).collect();
            if !groups.iter().any(|g| g.writes) {
                continue;
            }
            // Each group with its first position and whether it holds locks, by position.
            let mut by_position: Vec<(Position, &Group, bool)> = groups
                .iter()
                .map(|&g| (g.first_position(), g, holds_locks(g)))
                .collect();
            by_position.sort_by_key(|&(position, _, _)| position);
            let mut present = [[false; 4]; 2];
            for &(_, g, locks) in &by_position {
                let class = Nearest::class(g, locks);
                present[1][class] = true;
                if g.writes {
                    present[0][class] = true;
                }
            }
            for &gi in &groups {
                // A read races only with writes.
                let candidates = present[usize::from(gi.writes)];
                let mut nearest = Nearest::default();
                for &(position, gj, locks) in &by_position {
                    if nearest.settled(candidates, position) {
                        break;
                    }
                    if (!gi.writes && !gj.writes) || !nearest.wants(gj, locks, position) {
                        continue;
                    }
                    let (a, b) = ordered(gi.representative, gj.representative);
                    if graph.guarded(a, b) || graph.overlap(place, a, b).is_none() {
                        continue;
                    }
                    nearest.add(gj, locks);
                }
                for (x, y) in nearest.pairs(gi) {
                    let (a, b) = ordered(x, y);
                    let overlap = graph
                        .overlap(place, a, b)
                        .expect("members of racing groups race");
                    sink(Race {
                        place,
                        a,
                        b,
                        overlap,
                    });
                }
            }
        }
    }
}

pub(super) fn ordered(x: EventRef, y: EventRef) -> (EventRef, EventRef) {
    if x <= y {
        (x, y)
    } else {
        (y, x)
    }
}
