//! The ordering facts of an expanded program, asked per pair of accesses: whether a common
//! lock excludes one from the other, and how two accesses may overlap (instances of one
//! goroutine, siblings, a spawn not yet joined) when nothing orders them.

use std::cell::RefCell;

use rustc_hash::{FxHashMap, FxHashSet};

use crate::index::{is_exported, FuncId, PackageFacts, TypeInfo};

use super::concurrency::{ordered, EventRef, Overlap};
use super::lock_identity::same_mutex;
use super::ordering::{runs_whenever, Ordering};
use super::program::{
    receiver_type, Action, Program, ProgramEvent, ProgramPlaceId, Thread, ThreadId,
};

/// A program with its ordering facts: which of its accesses may run at the same time.
pub struct Graph<'a> {
    pub(super) program: &'a Program,
    facts: &'a PackageFacts,
    pub(super) ordering: Ordering<'a>,
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

    /// Whether every run of each write at `writes` is on a goroutine that afterwards
    /// signals a field of a struct (`defer s.wg.Done()`, `defer close(s.done)`), and every
    /// run of the read at `read` comes after a wait on that field of that type
    /// (`close(s.quit); s.wg.Wait()` in `Stop`): the writers are over when the read runs,
    /// whichever methods started them.
    pub fn read_after_writers_joined(
        &self,
        occurrences: &FxHashMap<Site, Vec<EventRef>>,
        read: Site,
        writes: &[Site],
    ) -> bool {
        let program = self.program;
        let Some(reads) = occurrences.get(&read) else {
            return false;
        };
        if writes.is_empty() || !writes.iter().all(|w| occurrences.contains_key(w)) {
            return false;
        }
        // A field of a struct of the package, by the struct's type and the field's name:
        // the object that waits is the one whose goroutines signal, whatever path reaches
        // it (`m.wg` in its methods, `d.syncMgr.wg` in its owner's `Stop`).
        let field = |place: ProgramPlaceId| {
            let p = &program.places[place as usize];
            let (&last, path) = p.fields.split_last()?;
            let mut ty = receiver_type(self.facts, p.root)?.to_string();
            for &f in path {
                match self.facts.decls.field_type(&ty, program.field_name(f)) {
                    TypeInfo::Named(next) => ty = next,
                    _ => return None,
                }
            }
            Some((ty, last))
        };
        // A root that is an unexported function no code of the package calls runs only as
        // the goroutines that start it.
        let only_started = |t: ThreadId| {
            let func = &self.facts.funcs[self.thread(t).origin as usize];
            self.thread(t).spawned_by.is_none() && !is_exported(&func.name) && func.name != "main"
        };
        let write_runs: Vec<EventRef> = writes
            .iter()
            .flat_map(|w| &occurrences[w])
            .copied()
            .filter(|w| !only_started(w.thread))
            .collect();
        if write_runs.is_empty() {
            return false;
        }

        reads.iter().all(|&r| {
            let body = self.thread(r.thread);
            let at = &body.events[r.event];
            let waited: Vec<_> = body.events[..r.event]
                .iter()
                .filter(|w| runs_whenever(body, w.ctl, at.ctl))
                .filter_map(|w| match w.action {
                    Action::Wait { sync, .. } => field(sync),
                    _ => None,
                })
                .collect();
            !waited.is_empty()
                && write_runs.iter().all(|&w| {
                    self.signals_after(w, &|sync| field(sync).is_some_and(|f| waited.contains(&f)))
                })
        })
    }

    /// Whether `w` runs on a goroutine that, after the last run of its site, signals a
    /// synchronizer `joins` accepts.
    fn signals_after(&self, w: EventRef, joins: &dyn Fn(ProgramPlaceId) -> bool) -> bool {
        let body = self.thread(w.thread);
        if body.spawned_by.is_none() {
            return false;
        }
        let last = self.last_run_of_site(w);
        body.events.iter().any(|s| {
            matches!(s.action, Action::Signal { sync } if joins(sync))
                && s.order > last.order
                && runs_whenever(body, s.ctl, last.ctl)
        })
    }

    /// The last event of `r`'s thread made at `r`'s site (a loop runs it again, and each
    /// run is an event).
    pub(super) fn last_run_of_site(&self, r: EventRef) -> &'a ProgramEvent {
        let body = self.thread(r.thread);
        let site = body.events[r.event].origin;
        body.events
            .iter()
            .filter(|e| e.origin == site)
            .max_by_key(|e| e.order)
            .unwrap_or(&body.events[r.event])
    }

    /// Whether a lock held at both accesses excludes one from the other (two read locks do
    /// not; see `lock_identity` for when two held locks are one mutex). Two instances of one goroutine do not share the mutexes it declares (or copies),
    /// nor one its spawner declares anew in each iteration of the loop that starts it
    /// (`for … { var mu sync.Mutex; go work(&mu) }`): each instance has its own.
    pub(super) fn guarded(&self, a: EventRef, b: EventRef) -> bool {
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

    pub(super) fn event(&self, r: EventRef) -> &'a ProgramEvent {
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

    pub(super) fn overlap(
        &self,
        place: ProgramPlaceId,
        a: EventRef,
        b: EventRef,
    ) -> Option<Overlap> {
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
