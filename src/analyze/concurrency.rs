//! Which map accesses may run at the same time, unordered and unguarded.
//!
//! Goroutines form a tree per root of the expanded [`Program`]: each goroutine is spawned
//! by an event of its parent. Two accesses are concurrent when they belong to different
//! goroutines that nothing orders (a spawn orders what precedes it; a wait on a WaitGroup or
//! channel the goroutine signals orders what follows it), or to two instances of one
//! goroutine (started in a loop, or an HTTP handler). They race when at least one writes
//! and no common lock is held at both.

use std::cell::RefCell;
use std::collections::BTreeMap;

use rustc_hash::{FxHashMap, FxHashSet};

use crate::index::{FuncId, LockMode};

use crate::index::PackageFacts;

use super::lock_identity::same_mutex;
use super::ordering::{runs_whenever, Ordering};
use super::pairs::{Group, Grouping, Groups, Nearest, Position};
use super::program::{
    is_entry_name, is_main, receiver_type, Action, FieldId, Program, ProgramEvent, ProgramPlaceId,
    Thread, ThreadId,
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
        let site = ta.events[a.event].origin;
        let Some(ea) = ta
            .events
            .iter()
            .filter(|e| e.origin == site)
            .max_by_key(|e| e.order)
        else {
            return false;
        };
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

fn ordered(x: EventRef, y: EventRef) -> (EventRef, EventRef) {
    if x <= y {
        (x, y)
    } else {
        (y, x)
    }
}

/// A program with its ordering facts: which of its accesses may run at the same time.
pub struct Graph<'a> {
    program: &'a Program,
    facts: &'a PackageFacts,
    ordering: Ordering<'a>,
    /// `same_mutex` by (map, lock, lock): asked for every pair of held locks.
    same_mutexes: RefCell<FxHashMap<(ProgramPlaceId, ProgramPlaceId, ProgramPlaceId), bool>>,
}

/// A site of the index: (function, event).
pub type Site = (FuncId, usize);

impl<'a> Graph<'a> {
    /// Computes the ordering facts of `program`.
    pub fn new(program: &'a Program, facts: &'a PackageFacts) -> Self {
        Graph {
            program,
            facts,
            ordering: Ordering::new(program, facts),
            same_mutexes: RefCell::default(),
        }
    }

    /// Where the program runs the accesses of the index at `sites`.
    pub fn occurrences(&self, sites: &FxHashSet<Site>) -> FxHashMap<Site, Vec<EventRef>> {
        let mut out: FxHashMap<Site, Vec<EventRef>> = FxHashMap::default();
        for (t, thread) in self.program.threads.iter().enumerate() {
            for (e, event) in thread.events.iter().enumerate() {
                if matches!(event.action, Action::Access { .. }) && sites.contains(&event.origin) {
                    out.entry(event.origin).or_default().push(EventRef {
                        thread: t as ThreadId,
                        event: e,
                    });
                }
            }
        }
        out
    }

    /// Whether the program shows the read at site `read` ordered with every write at
    /// `writes` (`occurrences` must hold them all): every run of a write meets the runs of
    /// the read in its tree on the same map, and overlaps none of them (a join or hand-off
    /// orders them). A write to shared storage must moreover run on a goroutine, never on
    /// a root's own thread (which any caller may run at any time), and meet the read. A
    /// write to an object its tree makes (a variable given a value just made: `&T{}`,
    /// `newT()`) may meet no read when every read is of such an object too: the read is
    /// then of other objects. A read or write the program never runs proves nothing.
    pub fn read_ordered_with_writes(
        &self,
        occurrences: &FxHashMap<Site, Vec<EventRef>>,
        read: Site,
        writes: &[Site],
    ) -> bool {
        let program = self.program;
        let Some(reads) = occurrences.get(&read) else {
            return false;
        };
        let place_of = |r: EventRef| self.event(r).action.place();
        let made_by_tree = |r: EventRef| {
            let p = place_of(r);
            program.declared[p as usize].is_some()
                && self.facts.bindings[program.places[p as usize].root as usize].fresh
        };
        if !writes.iter().all(|w| occurrences.contains_key(w)) {
            return false;
        }
        let reads_of_made = reads.iter().all(|&r| made_by_tree(r));
        writes
            .iter()
            .flat_map(|w| occurrences.get(w).into_iter().flatten())
            .all(|&w| {
                let (place, root) = (place_of(w), program.root_of(w.thread));
                let mut met = reads
                    .iter()
                    .filter(|&&r| program.root_of(r.thread) == root && place_of(r) == place)
                    .peekable();
                let meets = met.peek().is_some();
                let ordered = met.all(|&r| {
                    let (a, b) = ordered(r, w);
                    self.guarded(a, b) || self.overlap(place, a, b).is_none()
                });
                let required = if made_by_tree(w) {
                    meets || reads_of_made
                } else {
                    meets && self.thread(w.thread).spawned_by.is_some()
                };
                required && ordered
            })
    }

    /// Whether a lock held at both accesses excludes one from the other (two read locks do
    /// not; see `lock_identity` for when two held locks are one mutex). Two instances of one goroutine do not share the mutexes it declares (or copies),
    /// nor one its spawner declares anew in each iteration of the loop that starts it
    /// (`for … { var mu sync.Mutex; go work(&mu) }`): each instance has its own.
    fn guarded(&self, a: EventRef, b: EventRef) -> bool {
        let own = |p: ProgramPlaceId| a.thread == b.thread && self.per_instance(a.thread, p);
        let map = self.event(a).action.place();
        let held_b = self.program.locks(self.event(b));
        self.program.locks(self.event(a)).iter().any(|&(p, ma)| {
            !own(p)
                && held_b
                    .iter()
                    .any(|&(q, mb)| ma.excludes(mb) && !own(q) && self.same_mutex(map, p, q))
        })
    }

    /// [`same_mutex`], remembered per (map, lock, lock).
    fn same_mutex(&self, map: ProgramPlaceId, a: ProgramPlaceId, b: ProgramPlaceId) -> bool {
        *self
            .same_mutexes
            .borrow_mut()
            .entry((map, a, b))
            .or_insert_with(|| same_mutex(self.program, self.facts, map, a, b))
    }

    /// Whether each instance of goroutine `t` has its own `place`: declared by `t`, or by
    /// the thread that starts `t` inside the innermost loop around the start (instances of
    /// a recursive or repeated start share it), and the variable itself or in an object
    /// the variable made or holds by value.
    fn per_instance(&self, t: ThreadId, place: ProgramPlaceId) -> bool {
        let Some(d) = self.program.declared[place as usize] else {
            return false;
        };
        // A mutex in an object a pointer found elsewhere refers to (`r := tx.root();
        // r.mu.Lock()`) is no instance's own.
        let p = &self.program.places[place as usize];
        let holder = &self.facts.bindings[p.root as usize];
        if !(p.fields.is_empty() || holder.fresh || holder.struct_value || holder.param) {
            return false;
        }
        if d.thread == t {
            return true;
        }
        let Some((parent, index)) = self.thread(t).spawned_by else {
            return false;
        };
        let body = self.thread(parent);
        // Instances a recursive or repeated start makes all get the same mutex.
        let looped = !self.thread(t).recursive
            && matches!(
                body.events[index].action,
                Action::Spawn {
                    repeated: false,
                    ..
                }
            );
        looped
            && d.thread == parent
            && body
                .ctl
                .loops_around(body.events[index].ctl)
                .next()
                .is_some_and(|l| body.ctl.contains(l, d.ctl))
    }

    fn thread(&self, t: ThreadId) -> &'a Thread {
        &self.program.threads[t as usize]
    }

    fn event(&self, r: EventRef) -> &'a ProgramEvent {
        &self.thread(r.thread).events[r.event]
    }

    /// The threads from `t` up to its root, each with the spawn that started it.
    fn ancestry(&self, t: ThreadId) -> Vec<(ThreadId, Option<EventRef>)> {
        let mut out = Vec::new();
        let mut cur = t;
        loop {
            let spawned_by = self.thread(cur).spawned_by;
            out.push((
                cur,
                spawned_by.map(|(thread, event)| EventRef { thread, event }),
            ));
            match spawned_by {
                Some((parent, _)) => cur = parent,
                None => return out,
            }
        }
    }

    fn overlap(&self, place: ProgramPlaceId, a: EventRef, b: EventRef) -> Option<Overlap> {
        // Two accesses of one loop's own elements may be to different objects.
        if self.event(a).shadow.is_some() && self.event(a).shadow == self.event(b).shadow {
            return None;
        }
        if a.thread == b.thread {
            return self.overlapping_instances(a.thread, place);
        }
        // Two goroutines of one function whose starts take turns with a token never overlap,
        // whoever starts them.
        let spawn_of = |t: ThreadId| {
            self.thread(t)
                .spawned_by
                .map(|(thread, event)| EventRef { thread, event })
        };
        if let (Some(sa), Some(sb)) = (spawn_of(a.thread), spawn_of(b.thread)) {
            if self.ordering.gated_together(sa, sb) {
                return None;
            }
        }
        // A goroutine gated on a token never runs while the other side holds the token.
        let holder = |x: EventRef, y: EventRef| {
            spawn_of(y.thread)
                .and_then(|s| self.ordering.gate_token(s))
                .is_some_and(|token| self.ordering.holds_token(x, token))
        };
        if holder(a, b) || holder(b, a) {
            return None;
        }
        let up_a = self.ancestry(a.thread);
        let up_b = self.ancestry(b.thread);
        if up_a.last()?.0 != up_b.last()?.0 {
            return None;
        }
        // The lowest common ancestor, and the spawn on each side leading down from it.
        let lca = up_a
            .iter()
            .position(|(t, _)| up_b.iter().any(|(u, _)| u == t))?;
        let lca_thread = up_a[lca].0;
        if let Some(overlap) = self.overlapping_instances(lca_thread, place) {
            return Some(overlap);
        }
        let down = |up: &[(ThreadId, Option<EventRef>)], access: EventRef| -> EventRef {
            let i = up
                .iter()
                .position(|(t, _)| *t == lca_thread)
                .expect("on the path");
            if i == 0 {
                access
            } else {
                up[i - 1].1.expect("spawned below the common ancestor")
            }
        };
        let side_a = down(&up_a, a);
        let side_b = down(&up_b, b);
        let body = self.thread(lca_thread);
        match (side_a == a, side_b == b) {
            (true, false) => (!self.access_ordered(body, side_b, self.event(a), b, place)
                && !self.ordering.handed_off(lca_thread, self.event(a), b))
            .then_some(Overlap::Spawned { spawn: side_b }),
            (false, true) => (!self.access_ordered(body, side_a, self.event(b), a, place)
                && !self.ordering.handed_off(lca_thread, self.event(b), a))
            .then_some(Overlap::Spawned { spawn: side_a }),
            // Siblings: ordered by their starts and joins, or by a hand-off from one to
            // the other (the producer's access comes before its first send on the channel
            // the consumer received from before its own).
            _ => (!self.spawns_ordered(body, side_a, side_b, a, b)
                && !self.ordering.handed_off(a.thread, self.event(a), b)
                && !self.ordering.handed_off(b.thread, self.event(b), a))
            .then_some(Overlap::Siblings {
                first: side_a,
                second: side_b,
            }),
        }
    }

    /// Whether two instances of thread `t` may run at once, both seeing the same `place`.
    fn overlapping_instances(&self, t: ThreadId, place: ProgramPlaceId) -> Option<Overlap> {
        let declared = self.program.declared[place as usize];
        let mut cur = t;
        loop {
            if declared.is_some_and(|d| d.thread == cur) {
                return None;
            }
            let Some((parent, index)) = self.thread(cur).spawned_by else {
                return self
                    .thread(cur)
                    .handler
                    .then_some(Overlap::Handler { thread: cur });
            };
            let spawn_ref = EventRef {
                thread: parent,
                event: index,
            };
            if self.ordering.gated(spawn_ref) {
                return None;
            }
            if self.thread(cur).recursive {
                return Some(Overlap::Instances { spawn: spawn_ref });
            }
            let body = self.thread(parent);
            let spawn = &body.events[index];
            if matches!(spawn.action, Action::Spawn { repeated: true, .. }) {
                return Some(Overlap::Instances { spawn: spawn_ref });
            }
            for l in body.ctl.loops_around(spawn.ctl) {
                // A map declared inside the loop is a new map in every iteration.
                if declared.is_some_and(|d| d.thread == parent && body.ctl.contains(l, d.ctl)) {
                    continue;
                }
                if !self.ordering.loop_joined(body, spawn_ref, l, None) {
                    return Some(Overlap::Instances { spawn: spawn_ref });
                }
            }
            cur = parent;
        }
    }

    /// Whether event `x` of the spawner, an access to `place`, never overlaps the goroutine
    /// started at `spawn`, whose side of the pair is `y`.
    fn access_ordered(
        &self,
        body: &'a Thread,
        spawn: EventRef,
        x: &ProgramEvent,
        y: EventRef,
        place: ProgramPlaceId,
    ) -> bool {
        let s = &body.events[spawn.event];
        if matches!(
            s.action,
            Action::Spawn {
                after_return: true,
                ..
            }
        ) {
            return true;
        }
        let (earlier, later) = if x.order > s.order { (s, x) } else { (x, s) };
        if body.ctl.exits_between(earlier.ctl, later.ctl) {
            return true;
        }
        if x.order > s.order {
            return self.ordering.joined_between(body, spawn, x, Some(y));
        }
        // An access before the spawn meets an earlier iteration's goroutine, unless the
        // map belongs to an object made anew in each iteration.
        let declared = self.program.declared[place as usize];
        match body
            .ctl
            .loops_around(s.ctl)
            .find(|&l| body.ctl.contains(l, x.ctl))
        {
            None => true,
            Some(l) => {
                declared.is_some_and(|d| d.thread == spawn.thread && body.ctl.contains(l, d.ctl))
                    || self.ordering.loop_joined(body, spawn, l, Some(y))
            }
        }
    }

    /// Whether the goroutines of two spawns in one thread never overlap at their accesses
    /// `ya` and `yb`.
    fn spawns_ordered(
        &self,
        body: &'a Thread,
        a: EventRef,
        b: EventRef,
        ya: EventRef,
        yb: EventRef,
    ) -> bool {
        let (first, second, y_first) = if body.events[a.event].order <= body.events[b.event].order {
            (a, b, ya)
        } else {
            (b, a, yb)
        };
        let (s1, s2) = (&body.events[first.event], &body.events[second.event]);
        // `if c { go a(); return }; go b()`: one run starts only one of them.
        if body.ctl.exits_between(s1.ctl, s2.ctl) {
            return true;
        }
        if !self.ordering.joined_between(body, first, s2, Some(y_first)) {
            return false;
        }
        let y_second = if y_first == ya { yb } else { ya };
        match body
            .ctl
            .loops_around(s1.ctl)
            .find(|&l| body.ctl.contains(l, s2.ctl))
        {
            None => true,
            Some(l) => self.ordering.loop_joined(body, second, l, Some(y_second)),
        }
    }
}
