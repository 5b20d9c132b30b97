//! Happens-before facts of the expanded program, computed once per package: which waits of
//! a spawner join each goroutine it starts, and which threads signal each channel. Every
//! question the pairing asks is then a look-up, not a rescan of the threads' events.

use rustc_hash::{FxHashMap, FxHashSet};

use crate::index::{AccessOp, Control, CtlId, CtlKind, PackageFacts};

use super::concurrency::EventRef;
use super::program::{Action, Program, ProgramEvent, ProgramPlaceId, Thread, ThreadId};

/// A wait in a spawner that joins one of its goroutines: its position, frame and what it
/// waits on.
#[derive(Debug, Clone, Copy)]
struct Join {
    order: usize,
    ctl: CtlId,
    sync: ProgramPlaceId,
}

/// A channel signalled by more threads than this is not searched for a relay among them.
const MAX_RELAYS: usize = 16;

/// How many relays deep a hand-off is followed (`groups` to workers to `dups`).
const MAX_RELAY_DEPTH: usize = 2;

/// A wait of a thread on one channel: position, frame, and whether it is one receive
/// rather than a wait for every signaller (`wg.Wait()`).
type WaitOn = (usize, CtlId, bool);

/// The ordering facts of one program.
pub struct Ordering<'a> {
    program: &'a Program,
    facts: &'a PackageFacts,
    /// For each spawn event, the waits of its thread that join the goroutine.
    joins: FxHashMap<EventRef, Vec<Join>>,
    /// For each channel (or other sync place), the threads that signal it.
    senders: FxHashMap<ProgramPlaceId, Vec<ThreadId>>,
    /// For each (thread, channel), the positions of the thread's signals of it, in order.
    sends: FxHashMap<(ThreadId, ProgramPlaceId), Vec<usize>>,
    /// For each thread, its waits (position, frame, channel).
    waits: Vec<Vec<(usize, CtlId, ProgramPlaceId)>>,
    /// For each (thread, channel), the thread's waits on it.
    waits_on: FxHashMap<(ThreadId, ProgramPlaceId), Vec<WaitOn>>,
    /// For each thread, the channels (and other sync places) it signals.
    signals: Vec<Vec<ProgramPlaceId>>,
    /// The sync places some thread waits on for every signaller (`wg.Wait()`), not for one
    /// receive.
    waited_whole: FxHashSet<ProgramPlaceId>,
    /// The spawns whose goroutines never run two at a time (see [`Ordering::gated`]), with
    /// the token channel they take turns on.
    gated: FxHashMap<EventRef, ProgramPlaceId>,
}

impl<'a> Ordering<'a> {
    /// Computes the facts, in time linear in the events plus spawns times waits per thread.
    pub fn new(program: &'a Program, facts: &'a PackageFacts) -> Self {
        let mut senders: FxHashMap<ProgramPlaceId, Vec<ThreadId>> = FxHashMap::default();
        let mut sends: FxHashMap<(ThreadId, ProgramPlaceId), Vec<usize>> = FxHashMap::default();
        let mut waits = Vec::with_capacity(program.threads.len());
        let mut waits_on: FxHashMap<(ThreadId, ProgramPlaceId), Vec<WaitOn>> = FxHashMap::default();
        let mut signals = Vec::with_capacity(program.threads.len());
        let mut waited_whole = FxHashSet::default();
        for (t, thread) in program.threads.iter().enumerate() {
            let t = t as ThreadId;
            let mut own = Vec::new();
            let mut signalled = Vec::new();
            for e in &thread.events {
                match e.action {
                    Action::Signal { sync } => {
                        let list = senders.entry(sync).or_default();
                        if list.last() != Some(&t) {
                            list.push(t);
                        }
                        sends.entry((t, sync)).or_default().push(e.order);
                        if !signalled.contains(&sync) {
                            signalled.push(sync);
                        }
                    }
                    Action::Wait {
                        sync,
                        single_receive,
                    } => {
                        own.push((e.order, e.ctl, sync));
                        if !single_receive {
                            waited_whole.insert(sync);
                        }
                        waits_on.entry((t, sync)).or_default().push((
                            e.order,
                            e.ctl,
                            single_receive,
                        ));
                    }
                    _ => {}
                }
            }
            waits.push(own);
            signals.push(signalled);
        }
        let mut ordering = Ordering {
            program,
            facts,
            joins: FxHashMap::default(),
            senders,
            sends,
            waits,
            waits_on,
            signals,
            waited_whole,
            gated: FxHashMap::default(),
        };
        for (t, thread) in program.threads.iter().enumerate() {
            for (i, e) in thread.events.iter().enumerate() {
                if let Action::Spawn { .. } = e.action {
                    let spawn = EventRef {
                        thread: t as ThreadId,
                        event: i,
                    };
                    let joins = ordering.compute_joins(thread, spawn);
                    ordering.joins.insert(spawn, joins);
                    if let Some(token) = ordering.compute_gated(thread, spawn) {
                        ordering.gated.insert(spawn, token);
                    }
                }
            }
        }
        ordering
    }

    /// The waits in the spawner that wait for the goroutine started by `spawn`: on the
    /// sync object the spawn signals (`wg.Go`), or on one the goroutine signals; a single
    /// receive joins a repeated spawn only when it repeats too. A wait on a channel that a
    /// relay signals counts as well (see [`Ordering::relays`]).
    fn compute_joins(&self, body: &Thread, spawn: EventRef) -> Vec<Join> {
        let spawn_event = &body.events[spawn.event];
        let Action::Spawn {
            thread: child,
            signals,
            ..
        } = spawn_event.action
        else {
            unreachable!("a spawn event");
        };
        let repeated = body.ctl.loops_around(spawn_event.ctl).next().is_some();
        // A spawner waits on few channels many times (`<-quit` in every select): whether a
        // channel relays the goroutine is decided once per channel.
        let mut relayed: FxHashMap<ProgramPlaceId, bool> = FxHashMap::default();
        self.waits[spawn.thread as usize]
            .iter()
            .filter(|&&(order, _, sync)| {
                let signalled = signals == Some(sync) || self.sends.contains_key(&(child, sync));
                if !signalled {
                    return *relayed.entry(sync).or_insert_with(|| {
                        self.senders.get(&sync).is_some_and(|threads| {
                            threads.len() <= MAX_RELAYS
                                && threads.iter().any(|&r| {
                                    r != child && self.relays(r, sync, child, signals, repeated)
                                })
                        })
                    });
                }
                let Action::Wait { single_receive, .. } = body.events[order].action else {
                    unreachable!("a wait event");
                };
                !single_receive || receives_enough(body, spawn_event, order)
            })
            .map(|&(order, ctl, sync)| Join { order, ctl, sync })
            .collect()
    }

    /// Whether thread `relay` signals `sync` only after waiting for goroutine `child`: before
    /// its first signal of `sync`, on every path, it waits on something `child` (or its
    /// spawn, `spawn_signals`) signals,
    /// in a loop when `child` has many instances and the wait is one receive (`for range
    /// jobs { <-done }; finished <- true`; a `wg.Wait()` waits for them all). Whoever waits
    /// on `sync` then waits for `child` too.
    fn relays(
        &self,
        relay: ThreadId,
        sync: ProgramPlaceId,
        child: ThreadId,
        spawn_signals: Option<ProgramPlaceId>,
        repeated: bool,
    ) -> bool {
        let body = &self.program.threads[relay as usize];
        let Some(&first) = self.sends.get(&(relay, sync)).and_then(|s| s.first()) else {
            return false;
        };
        let send_ctl = body.events[first].ctl;
        // What the goroutine signals, and what its spawn signals when it ends (`g.Go`).
        let signals = self.signals[child as usize]
            .iter()
            .chain(spawn_signals.as_ref());
        signals.into_iter().any(|&signal| {
            self.waits_on
                .get(&(relay, signal))
                .into_iter()
                .flatten()
                .take_while(|&&(order, _, _)| order < first)
                .any(|&(_, ctl, single_receive)| {
                    runs_whenever(body, ctl, send_ctl)
                        && (!repeated
                            || !single_receive
                            || body.ctl.loops_around(ctl).next().is_some())
                })
        })
    }

    fn joins(&self, spawn: EventRef) -> &[Join] {
        self.joins.get(&spawn).map_or(&[], Vec::as_slice)
    }

    /// Whether some wait for `spawn`'s goroutine comes after the spawn on every path.
    pub fn joined_after(&self, body: &Thread, spawn: EventRef) -> bool {
        let s = &body.events[spawn.event];
        self.joins(spawn)
            .iter()
            .any(|j| j.order > s.order && runs_whenever(body, j.ctl, s.ctl))
    }

    /// Whether, in every iteration of loop `l`, the goroutine started at `spawn` is waited
    /// for before the next iteration (after its access `y`, when `y` is given).
    pub fn loop_joined(
        &self,
        body: &Thread,
        spawn: EventRef,
        l: CtlId,
        y: Option<EventRef>,
    ) -> bool {
        let s = &body.events[spawn.event];
        self.joins(spawn).iter().any(|j| {
            j.order > s.order
                && body.ctl.contains(l, j.ctl)
                && runs_whenever(body, j.ctl, s.ctl)
                && self.signalled_after(s, j.sync, y)
        })
    }

    /// Whether the goroutine a spawn starts signals `sync` after its access `y` (any access
    /// when `y` is `None` or in another thread): a goroutine that signals its waiter first
    /// (`done <- struct{}{}; m[k] = v`) is not waited for at that access. A send whose value
    /// makes the access (`done <- len(m)`) comes after it.
    fn signalled_after(
        &self,
        spawn: &ProgramEvent,
        sync: ProgramPlaceId,
        y: Option<EventRef>,
    ) -> bool {
        let Action::Spawn {
            thread: child,
            signals,
            ..
        } = spawn.action
        else {
            return true;
        };
        let Some(y) = y.filter(|y| y.thread == child) else {
            return true;
        };
        let Some(&last) = self.sends.get(&(child, sync)).and_then(|s| s.last()) else {
            return true;
        };
        let events = &self.program.threads[child as usize].events;
        let (access, send) = (&events[y.event], &events[last]);
        let body = &self.program.threads[child as usize].ctl;
        // A `Done` in a loop that goes on accessing (`if first { ready.Done() }`) marks a
        // start, not an end: the next iterations access after it.
        let signals_start = self.waited_whole.contains(&sync)
            && body
                .loops_around(send.ctl)
                .any(|l| body.contains(l, access.ctl));
        signals == Some(sync)
            || (last > access.order && !signals_start)
            || ends_loop(body, send.ctl, access.ctl)
            || (send.origin.0 == access.origin.0 && {
                let events = &self.facts.funcs[send.origin.0 as usize].events;
                let (outer, inner) = (&events[send.origin.1].span, &events[access.origin.1].span);
                outer.start <= inner.start && inner.end <= outer.end
            })
    }

    /// Whether no two goroutines started at `spawn` (by any instance of its spawner) ever
    /// run at once: the spawn always follows a receive on a channel that only goroutines
    /// running the same function give back to, besides sends outside any loop of the
    /// function that sends (the token put there once). A one-slot channel used as a mutex over goroutine starts:
    /// `<-stopped; go loop()` with `defer func() { stopped <- struct{}{} }()` in `loop`.
    pub fn gated(&self, spawn: EventRef) -> bool {
        self.gated.contains_key(&spawn)
    }

    /// The token channel a gated spawn takes before it starts its goroutine.
    pub fn gate_token(&self, spawn: EventRef) -> Option<ProgramPlaceId> {
        self.gated.get(&spawn).copied()
    }

    /// Whether access `x` runs holding `token`: its thread took it from the channel before
    /// (on every path) and has neither given it back nor handed it to a goroutine it
    /// started since, so no goroutine gated on it runs.
    pub fn holds_token(&self, x: EventRef, token: ProgramPlaceId) -> bool {
        let body = &self.program.threads[x.thread as usize];
        let e = &body.events[x.event];
        // Given back on the channel, or handed to a goroutine started with it.
        let given_back = |from: usize| {
            let sent = self
                .sends
                .get(&(x.thread, token))
                .is_some_and(|sends| sends.iter().any(|&s| s > from && s < e.order));
            sent || (from + 1..e.order).any(|i| {
                let spawn = EventRef {
                    thread: x.thread,
                    event: i,
                };
                self.gate_token(spawn) == Some(token) && self.gives_back(spawn, token)
            })
        };
        self.waits[x.thread as usize]
            .iter()
            .take_while(|&&(order, _, _)| order < e.order)
            .any(|&(order, ctl, sync)| {
                sync == token && runs_whenever(body, ctl, e.ctl) && !given_back(order)
            })
    }

    /// Whether the goroutine `spawn` starts gives `token` back in its own body (`defer
    /// func() { stopped <- struct{}{} }()` in the loop), not only through a call it makes
    /// (an `init` putting the first token): the spawn hands it the token.
    fn gives_back(&self, spawn: EventRef, token: ProgramPlaceId) -> bool {
        let body = &self.program.threads[spawn.thread as usize];
        let Action::Spawn { thread: child, .. } = body.events[spawn.event].action else {
            return false;
        };
        let child_body = &self.program.threads[child as usize];
        self.sends.get(&(child, token)).is_some_and(|sends| {
            sends.iter().any(|&s| {
                own_frames(child_body, child_body.events[s].ctl)
                    .all(|c| child_body.ctl.frames[c as usize].kind != CtlKind::Inlined)
            })
        })
    }

    /// Whether the goroutines of two gated spawns of one function never run at once: they
    /// take turns with the same tokens.
    pub fn gated_together(&self, a: EventRef, b: EventRef) -> bool {
        let origin =
            |r: EventRef| match self.program.threads[r.thread as usize].events[r.event].action {
                Action::Spawn { thread, .. } => self.program.threads[thread as usize].origin,
                _ => unreachable!("a spawn event"),
            };
        self.gated(a) && self.gated(b) && origin(a) == origin(b)
    }

    fn compute_gated(&self, body: &Thread, spawn: EventRef) -> Option<ProgramPlaceId> {
        let s = &body.events[spawn.event];
        let Action::Spawn { thread: child, .. } = s.action else {
            unreachable!("a spawn event");
        };
        let origin = self.program.threads[child as usize].origin;
        self.joins(spawn)
            .iter()
            .find(|j| {
                j.order < s.order
                    && runs_whenever(body, j.ctl, s.ctl)
                    && self.senders.get(&j.sync).is_some_and(|ts| {
                        ts.iter().all(|&t| {
                            let thread = &self.program.threads[t as usize];
                            thread.origin == origin || self.gives_one_token(thread, t, j.sync)
                        })
                    })
            })
            .map(|j| j.sync)
    }

    /// Whether thread `t`'s sends on `chan` each put one token, outside any loop of the
    /// function that sends (a function filling the channel once, typically behind a
    /// `sync.Once`, may be reached by several calls or from a caller's loop).
    fn gives_one_token(&self, thread: &Thread, t: ThreadId, chan: ProgramPlaceId) -> bool {
        self.sends.get(&(t, chan)).is_some_and(|sends| {
            sends.iter().all(|&send| {
                own_frames(thread, thread.events[send].ctl)
                    .all(|c| thread.ctl.frames[c as usize].kind != CtlKind::Loop)
            })
        })
    }

    /// Whether a wait for `spawn`'s goroutine (after its access `y`, when `y` is given)
    /// always runs after it and before `x`: the wait
    /// runs whenever `x` does, or whenever the spawn does (`if c { go f(); wg.Wait() };
    /// x`: a path that skips the wait skips the spawn too).
    pub fn joined_between(
        &self,
        body: &Thread,
        spawn: EventRef,
        x: &ProgramEvent,
        y: Option<EventRef>,
    ) -> bool {
        let s = &body.events[spawn.event];
        let joins = self.joins(spawn);
        // Joins are in program order: only those strictly between the two events count.
        let from = joins.partition_point(|j| j.order <= s.order);
        let to = joins.partition_point(|j| j.order < x.order);
        joins.get(from..to).unwrap_or(&[]).iter().any(|j| {
            (runs_whenever(body, j.ctl, x.ctl) || runs_whenever(body, j.ctl, s.ctl))
                && self.signalled_after(s, j.sync, y)
        })
    }

    /// Whether event `x` of thread `spawner` (the goroutine's spawner, or a sibling that
    /// produces for it) happens before the goroutine's access `y` through a channel: `y`
    /// follows a receive on a channel signalled only after `x` (see
    /// [`Ordering::signalled_only_after`]).
    pub fn handed_off(&self, spawner: ThreadId, x: &ProgramEvent, y_ref: EventRef) -> bool {
        let child = &self.program.threads[y_ref.thread as usize];
        let y = &child.events[y_ref.event];
        self.waits[y_ref.thread as usize]
            .iter()
            .take_while(|&&(order, _, _)| order < y.order)
            .any(|&(_, ctl, chan)| {
                runs_whenever(child, ctl, y.ctl) && self.signalled_only_after(spawner, x, chan, 0)
            })
    }

    /// Whether every signal of `chan` comes after event `x` of thread `spawner`: the
    /// spawner sends on it (see [`Ordering::first_send_after`]), or a goroutine it starts
    /// after `x` does (see [`Ordering::started_after`]: workers started once the maps are
    /// loaded report back to a loop started before), and any other thread signals it only
    /// after a receive, on every path, from a channel for which the same holds: a worker
    /// relaying what the spawner hands out after `x` (`for g := range groups { dups <- …
    /// }`), up to [`MAX_RELAY_DEPTH`] relays deep.
    fn signalled_only_after(
        &self,
        spawner: ThreadId,
        x: &ProgramEvent,
        chan: ProgramPlaceId,
        depth: usize,
    ) -> bool {
        let Some(threads) = self.senders.get(&chan) else {
            return false;
        };
        let later = |t: ThreadId| self.started_after(spawner, x, chan, t);
        (threads.contains(&spawner) || threads.iter().any(|&t| later(t)))
            && (threads.len() == 1 || (depth < MAX_RELAY_DEPTH && threads.len() <= MAX_RELAYS))
            && threads.iter().all(|&t| {
                if t == spawner {
                    return self.first_send_after(spawner, x, chan);
                }
                if later(t) {
                    return true;
                }
                let body = &self.program.threads[t as usize];
                self.sends[&(t, chan)].iter().all(|&send| {
                    let send_ctl = body.events[send].ctl;
                    self.waits[t as usize]
                        .iter()
                        .take_while(|&&(order, _, _)| order < send)
                        .any(|&(_, ctl, from)| {
                            from != chan
                                && runs_whenever(body, ctl, send_ctl)
                                && self.signalled_only_after(spawner, x, from, depth + 1)
                        })
                })
            })
    }

    /// Whether thread `t` is a goroutine that `spawner` starts (itself or through
    /// goroutines it starts) after its event `x`, outside any loop around `x` unless the
    /// loop renews the map and `chan` (see [`Ordering::per_iteration`]), and outside the
    /// loop a range `x` drives: everything `t` does happens after `x`.
    fn started_after(
        &self,
        spawner: ThreadId,
        x: &ProgramEvent,
        chan: ProgramPlaceId,
        t: ThreadId,
    ) -> bool {
        let threads = &self.program.threads;
        let mut cur = t;
        while let Some((parent, event)) = threads[cur as usize].spawned_by {
            if parent == spawner {
                let body = &threads[spawner as usize];
                let spawn = &body.events[event];
                // A range over a map reads it until the loop ends: a goroutine started in a
                // loop after it may run while it iterates.
                let ranges = matches!(
                    x.action,
                    Action::Access {
                        op: AccessOp::Range,
                        ..
                    }
                );
                return x.order < spawn.order
                    && body.ctl.loops_around(spawn.ctl).all(|l| {
                        if body.ctl.contains(l, x.ctl) {
                            self.per_iteration(spawner, x, chan, l)
                        } else {
                            !(ranges && body.ctl.contains(x.ctl, l))
                        }
                    });
            }
            cur = parent;
        }
        false
    }

    /// Whether the spawner's sends on `chan` come after its event `x`: its first send on a
    /// path to `x` follows it, outside any loop around it, unless that loop makes the
    /// channel and the map afresh in every iteration (`done := make(chan struct{}); go …;
    /// read(m); close(done)`), or sends a new map each time (`out <- batch; batch =
    /// make(…)`): then no receiver meets a map `x` touches later.
    fn first_send_after(&self, spawner: ThreadId, x: &ProgramEvent, chan: ProgramPlaceId) -> bool {
        let body = &self.program.threads[spawner as usize];
        // A send on a path that leaves before `x` (`if err != nil { close(ch); return err
        // }`) never comes before it, deferred calls or not, unless `x` is in one.
        let (f, i) = x.origin;
        let func = &self.facts.funcs[f as usize];
        let deferred = func.events[i].order >= func.span.end;
        let first = self.sends.get(&(spawner, chan)).and_then(|s| {
            s.iter().find(|&&send| {
                let (earlier, later) = (body.events[send].ctl, x.ctl);
                send > x.order
                    || !(body.ctl.exits_between(earlier, later)
                        || (!deferred && body.ctl.returns_between(earlier, later)))
            })
        });
        first.is_some_and(|&send| {
            let send_ctl = body.events[send].ctl;
            x.order < send
                && body.ctl.loops_around(send_ctl).all(|l| {
                    !body.ctl.contains(l, x.ctl) || self.per_iteration(spawner, x, chan, l)
                })
        })
    }

    /// Whether loop `l` of thread `spawner` makes the map `x` touches afresh in every
    /// iteration, with channel `chan`, or renews the map after each send: nothing an
    /// iteration sends meets the map `x` touches in a later one.
    fn per_iteration(
        &self,
        spawner: ThreadId,
        x: &ProgramEvent,
        chan: ProgramPlaceId,
        l: CtlId,
    ) -> bool {
        let body = &self.program.threads[spawner as usize];
        let fresh = |place: ProgramPlaceId| {
            matches!(self.program.declared[place as usize],
                Some(d) if d.thread == spawner && body.ctl.contains(l, d.ctl))
        };
        // A map renewed after each send is a new map in every iteration too.
        let renewed = |place: ProgramPlaceId| {
            self.facts.bindings[self.program.places[place as usize].root as usize].renewed
        };
        match x.action {
            Action::Access { place, .. } => (fresh(place) && fresh(chan)) || renewed(place),
            _ => false,
        }
    }
}

/// The frames from `ctl` up to the body of the function it belongs to: up to and including
/// the first inlined call's frame, or to the thread's body.
fn own_frames(body: &Thread, ctl: CtlId) -> impl Iterator<Item = CtlId> + '_ {
    let frames = &body.ctl.frames;
    std::iter::successors(Some(ctl), |&c| {
        let frame = &frames[c as usize];
        (frame.kind != CtlKind::Inlined)
            .then_some(frame.parent)
            .flatten()
    })
}

/// Whether code in frame `j` runs whenever code in frame `x` does: climbing from `j` to the
/// first frame that contains `x` passes through loops and inlined calls only (they run to
/// completion), never through a branch that may be skipped.
pub(super) fn runs_whenever(body: &Thread, j: CtlId, x: CtlId) -> bool {
    let mut cur = j;
    while !body.ctl.contains(cur, x) {
        let frame = &body.ctl.frames[cur as usize];
        match (frame.kind, frame.parent) {
            (CtlKind::Loop | CtlKind::Inlined, Some(parent)) => cur = parent,
            _ => return false,
        }
    }
    true
}

/// Whether a signal in frame `send` is the last thing the loop around the access in frame
/// `access` does: it sits in a branch that leaves the function, inside a loop around both,
/// and the access is elsewhere in the loop (`for { select { case <-ctx.Done(): wg.Done();
/// return; case v := <-in: m[v] = true } }`), so every iteration that accesses came first.
/// A `return` inside an inlined call only ends the call.
fn ends_loop(ctl: &Control, send: CtlId, access: CtlId) -> bool {
    let mut leaves = false;
    let mut cur = send;
    loop {
        let frame = &ctl.frames[cur as usize];
        match frame.kind {
            CtlKind::Loop if ctl.contains(cur, access) => return leaves,
            CtlKind::Inlined => leaves = false,
            _ if frame.exits && !ctl.contains(cur, access) => leaves = true,
            _ => {}
        }
        match frame.parent {
            Some(parent) => cur = parent,
            None => return false,
        }
    }
}

/// A single receive waits for one goroutine only: it joins a spawn repeated by a loop only
/// when the receive repeats as well.
fn receives_enough(body: &Thread, spawn: &ProgramEvent, receive: usize) -> bool {
    let receive = &body.events[receive];
    let spawn_repeats = body
        .ctl
        .loops_around(spawn.ctl)
        .any(|l| !body.ctl.contains(l, receive.ctl));
    let receive_repeats = body
        .ctl
        .loops_around(receive.ctl)
        .any(|l| !body.ctl.contains(l, spawn.ctl));
    !spawn_repeats || receive_repeats
}
