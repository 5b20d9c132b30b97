//! Which map accesses may run at the same time, unordered and unguarded.
//!
//! Goroutines form a tree per declared function: each goroutine body is spawned by an event
//! of its parent. Two accesses are concurrent when they belong to different goroutines that
//! nothing orders (a `go` statement orders what precedes it; a wait on a WaitGroup or channel
//! the goroutine signals orders what follows it), or to two instances of one goroutine
//! (started in a loop, or by a handler registration). They race when at least one writes and
//! no common lock is held at both.

use std::collections::BTreeMap;

use crate::index::{
    AccessOp, CtlId, CtlKind, Event, EventKind, Func, FuncId, LockMode, LockSet, PackageFacts,
    PlaceId,
};

/// An event of a function body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventRef {
    /// The body.
    pub func: FuncId,
    /// Index into its events.
    pub event: usize,
}

/// Why two accesses may run at the same time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlap {
    /// Instances of one goroutine overlap: this spawn runs in a loop or is a handler.
    Instances {
        /// The spawn that repeats.
        spawn: EventRef,
    },
    /// One access is in a goroutine spawned here, the other in the spawner after it.
    Spawned {
        /// The spawn leading to the goroutine side.
        spawn: EventRef,
    },
    /// The accesses are in two goroutines started by the same function, nothing between.
    Siblings {
        /// The spawn leading to the first access's goroutine.
        first: EventRef,
        /// The spawn leading to the second access's goroutine.
        second: EventRef,
    },
}

/// Two accesses to one map that may happen at the same time, at least one a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Race {
    /// The map.
    pub place: PlaceId,
    /// One access.
    pub a: EventRef,
    /// The other access (may equal `a` for instances of one goroutine).
    pub b: EventRef,
    /// Why they overlap.
    pub overlap: Overlap,
}

/// Every racing pair of accesses in the package, in a deterministic order.
pub fn races(facts: &PackageFacts) -> Vec<Race> {
    if facts.funcs.iter().all(|f| f.spawned_by.is_none()) {
        return Vec::new();
    }
    let mut by_place: BTreeMap<PlaceId, Vec<EventRef>> = BTreeMap::new();
    for (f, func) in facts.funcs.iter().enumerate() {
        for (e, event) in func.events.iter().enumerate() {
            if let EventKind::Access { place, .. } = event.kind {
                by_place.entry(place).or_default().push(EventRef {
                    func: f as FuncId,
                    event: e,
                });
            }
        }
    }
    let graph = Graph { facts };
    let mut out = Vec::new();
    for (place, accesses) in by_place {
        if !accesses.iter().any(|&a| graph.op(a).is_write()) {
            continue;
        }
        for (i, &a) in accesses.iter().enumerate() {
            for &b in &accesses[i..] {
                if !graph.op(a).is_write() && !graph.op(b).is_write() {
                    continue;
                }
                if guarded(&graph.event(a).locks, &graph.event(b).locks) {
                    continue;
                }
                if let Some(overlap) = graph.overlap(place, a, b) {
                    out.push(Race {
                        place,
                        a,
                        b,
                        overlap,
                    });
                }
            }
        }
    }
    out
}

/// Whether a lock held at both points excludes one from the other (two read locks do not).
fn guarded(a: &LockSet, b: &LockSet) -> bool {
    a.iter().any(|&(p, ma)| {
        b.iter()
            .any(|&(q, mb)| p == q && !(ma == LockMode::Read && mb == LockMode::Read))
    })
}

struct Graph<'a> {
    facts: &'a PackageFacts,
}

impl<'a> Graph<'a> {
    fn func(&self, f: FuncId) -> &'a Func {
        &self.facts.funcs[f as usize]
    }

    fn event(&self, r: EventRef) -> &'a Event {
        &self.func(r.func).events[r.event]
    }

    fn op(&self, r: EventRef) -> AccessOp {
        match self.event(r).kind {
            EventKind::Access { op, .. } => op,
            _ => unreachable!("only accesses are paired"),
        }
    }

    /// The goroutines from `f` up to its declared function, each with the spawn that
    /// started it (`None` for the declared function).
    fn ancestry(&self, f: FuncId) -> Vec<(FuncId, Option<EventRef>)> {
        let mut out = Vec::new();
        let mut cur = f;
        loop {
            let spawned_by = self.func(cur).spawned_by;
            out.push((
                cur,
                spawned_by.map(|(func, event)| EventRef { func, event }),
            ));
            match spawned_by {
                Some((parent, _)) => cur = parent,
                None => return out,
            }
        }
    }

    fn overlap(&self, place: PlaceId, a: EventRef, b: EventRef) -> Option<Overlap> {
        if a.func == b.func {
            return self
                .overlapping_instances(a.func, place)
                .map(|spawn| Overlap::Instances { spawn });
        }
        let up_a = self.ancestry(a.func);
        let up_b = self.ancestry(b.func);
        if up_a.last()?.0 != up_b.last()?.0 {
            return None;
        }
        // The lowest common ancestor, and the spawn on each side leading down from it.
        let lca = up_a
            .iter()
            .position(|(f, _)| up_b.iter().any(|(g, _)| g == f))?;
        let lca_func = up_a[lca].0;
        if let Some(spawn) = self.overlapping_instances(lca_func, place) {
            return Some(Overlap::Instances { spawn });
        }
        let down = |up: &[(FuncId, Option<EventRef>)], access: EventRef| -> EventRef {
            let i = up
                .iter()
                .position(|(f, _)| *f == lca_func)
                .expect("on the path");
            if i == 0 {
                access
            } else {
                up[i - 1].1.expect("spawned below the common ancestor")
            }
        };
        let side_a = down(&up_a, a);
        let side_b = down(&up_b, b);
        let body = self.func(lca_func);
        match (side_a == a, side_b == b) {
            (true, false) => (!self.access_ordered(body, side_b, self.event(a)))
                .then_some(Overlap::Spawned { spawn: side_b }),
            (false, true) => (!self.access_ordered(body, side_a, self.event(b)))
                .then_some(Overlap::Spawned { spawn: side_a }),
            _ => (!self.spawns_ordered(body, side_a, side_b)).then_some(Overlap::Siblings {
                first: side_a,
                second: side_b,
            }),
        }
    }

    /// Whether two instances of goroutine `f` may run at once, both seeing the same `place`;
    /// returns the spawn that repeats.
    fn overlapping_instances(&self, f: FuncId, place: PlaceId) -> Option<EventRef> {
        let declared_in = self.facts.root(place).func;
        let binding = self.facts.root(place);
        let mut cur = f;
        loop {
            if declared_in == Some(cur) {
                return None;
            }
            let (parent, index) = self.func(cur).spawned_by?;
            let spawn_ref = EventRef {
                func: parent,
                event: index,
            };
            let body = self.func(parent);
            let spawn = &body.events[index];
            if matches!(spawn.kind, EventKind::Spawn { repeated: true, .. }) {
                return Some(spawn_ref);
            }
            for l in body.loops_around(spawn.ctl) {
                // A map declared inside the loop is a new map in every iteration.
                if declared_in == Some(parent) && body.ctl_contains(l, binding.ctl) {
                    continue;
                }
                if !self.loop_joined(body, spawn_ref, l) {
                    return Some(spawn_ref);
                }
            }
            cur = parent;
        }
    }

    /// The waits in the spawner that wait for the goroutine started by `spawn`.
    fn joins(&self, body: &'a Func, spawn: EventRef) -> impl Iterator<Item = &'a Event> + 'a {
        let EventKind::Spawn {
            body: child,
            signals,
            ..
        } = body.events[spawn.event].kind
        else {
            unreachable!("a spawn event");
        };
        let child = self.func(child);
        let spawn_event = &body.events[spawn.event];
        body.events.iter().filter(move |e| match e.kind {
            EventKind::Wait {
                sync,
                single_receive,
            } => {
                let signalled = signals == Some(sync)
                    || child
                        .events
                        .iter()
                        .any(|s| s.kind == EventKind::Signal { sync });
                signalled && (!single_receive || receives_enough(body, spawn_event, e))
            }
            _ => false,
        })
    }

    /// Whether, in every iteration of loop `l`, the goroutine started at `spawn` is waited
    /// for before the next iteration.
    fn loop_joined(&self, body: &'a Func, spawn: EventRef, l: CtlId) -> bool {
        let s = &body.events[spawn.event];
        self.joins(body, spawn).any(|j| {
            j.order > s.order && body.ctl_contains(l, j.ctl) && runs_whenever(body, j.ctl, s.ctl)
        })
    }

    /// Whether a wait for `spawn`'s goroutine always runs after it and before `x`.
    fn joined_between(&self, body: &'a Func, spawn: EventRef, x: &Event) -> bool {
        let s = &body.events[spawn.event];
        self.joins(body, spawn)
            .any(|j| s.order < j.order && j.order < x.order && runs_whenever(body, j.ctl, x.ctl))
    }

    /// Whether event `x` of the spawner never overlaps the goroutine started at `spawn`.
    fn access_ordered(&self, body: &'a Func, spawn: EventRef, x: &Event) -> bool {
        let s = &body.events[spawn.event];
        if x.order > s.order {
            return self.joined_between(body, spawn, x);
        }
        match body
            .loops_around(s.ctl)
            .find(|&l| body.ctl_contains(l, x.ctl))
        {
            None => true,
            Some(l) => self.loop_joined(body, spawn, l),
        }
    }

    /// Whether the goroutines of two spawns in one body never overlap.
    fn spawns_ordered(&self, body: &'a Func, a: EventRef, b: EventRef) -> bool {
        let (first, second) = if body.events[a.event].order <= body.events[b.event].order {
            (a, b)
        } else {
            (b, a)
        };
        let (s1, s2) = (&body.events[first.event], &body.events[second.event]);
        if !self.joined_between(body, first, s2) {
            return false;
        }
        match body
            .loops_around(s1.ctl)
            .find(|&l| body.ctl_contains(l, s2.ctl))
        {
            None => true,
            Some(l) => self.loop_joined(body, second, l),
        }
    }
}

/// Whether code in frame `j` runs whenever code in frame `x` does: climbing from `j` to the
/// first frame that contains `x` passes through loops only (loops run to completion), never
/// through a branch that may be skipped.
fn runs_whenever(body: &Func, j: CtlId, x: CtlId) -> bool {
    let mut cur = j;
    while !body.ctl_contains(cur, x) {
        let frame = &body.ctl[cur as usize];
        match (frame.kind, frame.parent) {
            (CtlKind::Loop, Some(parent)) => cur = parent,
            _ => return false,
        }
    }
    true
}

/// A single receive waits for one goroutine only: it joins a spawn repeated by a loop only
/// when the receive repeats as well.
fn receives_enough(body: &Func, spawn: &Event, receive: &Event) -> bool {
    let spawn_repeats = body
        .loops_around(spawn.ctl)
        .any(|l| !body.ctl_contains(l, receive.ctl));
    let receive_repeats = body
        .loops_around(receive.ctl)
        .any(|l| !body.ctl_contains(l, spawn.ctl));
    !spawn_repeats || receive_repeats
}
