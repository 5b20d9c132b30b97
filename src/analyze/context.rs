//! Words and locations for findings: who runs an access, where a goroutine starts, which
//! calls lead to it.

use std::collections::hash_map::Entry;

use rustc_hash::FxHashMap;

use crate::finding::{Confidence, Finding, Level, Location, Related, Role};
use crate::index::{
    mutexes, AccessOp, EventKind, FileId, FuncId, PackageFacts, Serves, SpawnVia, ELEMENT,
};
use crate::source::SourceFile;

use super::concurrency::{EventRef, Overlap, Race};
use super::program::{receiver_type, Action, Program, ProgramPlaceId, ThreadId};

/// The most calls on the way to either access of a race reported above `low` confidence:
/// each call a deeper chain passes is one more path the analysis assumes is taken (an
/// error branch, a reference count reaching zero) and one more lock convention it may miss
/// (on ecosystem code, every race reached through four calls or more was a false alarm).
pub const MAX_CONFIDENT_CALLS: usize = 3;

/// What a rule needs to turn races into findings.
pub struct Context<'a> {
    /// The package's facts.
    pub facts: &'a PackageFacts,
    /// Its files, by file id.
    pub files: &'a [&'a SourceFile],
    /// The expanded program the races were found in.
    pub program: &'a Program,
}

impl Context<'_> {
    fn origin(&self, r: EventRef) -> (u32, usize) {
        self.program.threads[r.thread as usize].events[r.event].origin
    }

    fn file_id(&self, r: EventRef) -> FileId {
        self.facts.funcs[self.origin(r).0 as usize].file
    }

    /// The location of an index event; multi-line spans are cut at their first line's end.
    fn origin_location(&self, (func, index): (u32, usize)) -> Location {
        let f = &self.facts.funcs[func as usize];
        Location::first_line(self.files[f.file as usize], f.events[index].span.clone())
    }

    /// The location of an event.
    pub fn location(&self, r: EventRef) -> Location {
        self.origin_location(self.origin(r))
    }

    /// "line 12" when the event is in file `here`, else "path.go:12".
    pub fn at(&self, r: EventRef, here: FileId) -> String {
        let loc = self.location(r);
        if self.file_id(r) == here {
            format!("line {}", loc.start.line)
        } else {
            format!("{}:{}", loc.path, loc.start.line)
        }
    }

    /// The file of the reported access.
    pub fn file_of(&self, r: EventRef) -> FileId {
        self.file_id(r)
    }

    /// Whether any lock is held at an event.
    pub fn holds_locks(&self, r: EventRef) -> bool {
        mutexes(
            self.program
                .locks(&self.program.threads[r.thread as usize].events[r.event]),
        )
        .next()
        .is_some()
    }

    /// The locks held at an event, in words (`s.mu`, the mutex embedded in `s`), or `None`
    /// when it holds none.
    pub fn held_words(&self, r: EventRef) -> Option<String> {
        let event = &self.program.threads[r.thread as usize].events[r.event];
        let words: Vec<String> = mutexes(self.program.locks(event))
            .map(|(place, _)| {
                let p = &self.program.places[place as usize];
                let embedded = p.fields.is_empty()
                    && matches!(
                        self.facts.bindings[p.root as usize].ty,
                        crate::index::TypeInfo::Named(_)
                    );
                lock_words(&self.program.place_text(self.facts, place), embedded)
            })
            .collect();
        (!words.is_empty()).then(|| words.join(" and "))
    }

    /// The access operation of an access event.
    pub fn op(&self, r: EventRef) -> AccessOp {
        match self.program.threads[r.thread as usize].events[r.event].action {
            Action::Access { op, .. } => op,
            _ => unreachable!("an access event"),
        }
    }

    /// A function in words: "`(*S).Get`", or for a literal "the function literal at line
    /// 12".
    pub fn func_label(&self, func: FuncId, here: FileId) -> String {
        let f = &self.facts.funcs[func as usize];
        if f.declared {
            return format!("`{}`", f.name);
        }
        let loc = Location::first_line(self.files[f.file as usize], f.span.clone());
        if f.file == here {
            format!("the function literal at line {}", loc.start.line)
        } else {
            format!("the function literal at {}:{}", loc.path, loc.start.line)
        }
    }

    /// Who runs a thread: "`main`", "the goroutine started at line 12", "the handler
    /// registered at line 30", or "the HTTP handler `(*S).ServeHTTP`".
    pub fn who(&self, thread: ThreadId, here: FileId) -> String {
        let t = &self.program.threads[thread as usize];
        let name = &self.facts.funcs[t.origin as usize].name;
        if t.spawned_by.is_none() && !self.facts.funcs[t.origin as usize].declared {
            // A handler literal: "the HTTP handler at line 46".
            let label = self.func_label(t.origin, here);
            return label.replacen("the function literal", "the HTTP handler", 1);
        }
        let Some((parent, event)) = t.spawned_by else {
            return if t.handler {
                match self.facts.funcs[t.origin as usize].handler {
                    Some(Serves::Rpc) => format!("the gRPC method `{name}`"),
                    Some(Serves::Callers) => format!("`{name}`"),
                    _ => format!("the HTTP handler `{name}`"),
                }
            } else {
                format!("`{name}`")
            };
        };
        let spawn_ref = EventRef {
            thread: parent,
            event,
        };
        let spawn = &self.program.threads[parent as usize].events[event];
        let at = self.at(spawn_ref, here);
        let runs = if self.facts.funcs[t.origin as usize].declared {
            format!(" running `{name}`")
        } else {
            String::new()
        };
        match (
            spawn.action.clone(),
            self.program.spawn_via(self.facts, spawn),
        ) {
            // A package function starting its function argument many times at once.
            (Action::Spawn { repeated: true, .. }, SpawnVia::Api(api))
                if self.facts.decls.spawning.contains_key(api) =>
            {
                format!("the goroutine `{api}` starts at {at}{runs}")
            }
            (Action::Spawn { repeated: true, .. }, _) => {
                format!("the handler{runs} registered at {at}")
            }
            (_, SpawnVia::Api(api)) => format!("the goroutine{runs} `{api}` starts at {at}"),
            _ => format!("the goroutine{runs} started at {at}"),
        }
    }

    /// The name of the function holding an event.
    pub fn function(&self, r: EventRef) -> String {
        self.facts.funcs[self.origin(r).0 as usize].name.clone()
    }

    /// The map as written in the source.
    pub fn map(&self, place: ProgramPlaceId) -> String {
        self.program.place_text(self.facts, place)
    }

    /// "`m` is declared at main.go:10" for the finding's notes.
    pub fn declared_note(&self, place: ProgramPlaceId) -> String {
        let root = self.program.places[place as usize].root;
        let binding = &self.facts.bindings[root as usize];
        let file = self.files[binding.file as usize];
        let at = file.line_col(binding.offset);
        format!(
            "`{}` is declared at {}:{}",
            binding.name,
            file.display_path(),
            at.line
        )
    }

    /// The spawn sites that make the race possible, each labelled with what makes it
    /// concurrent.
    pub fn spawn_labels(&self, race: &Race) -> Vec<Related> {
        let spawns = match race.overlap {
            Overlap::Instances { spawn }
            | Overlap::Spawned { spawn }
            | Overlap::External { spawn, .. } => vec![spawn],
            Overlap::Siblings { first, second } => vec![first, second],
            Overlap::Handler { .. } | Overlap::Handlers { .. } => Vec::new(),
        };
        spawns
            .into_iter()
            .map(|spawn| {
                let event = &self.program.threads[spawn.thread as usize].events[spawn.event];
                let repeated = matches!(event.action, Action::Spawn { repeated: true, .. });
                let started = match self.program.spawn_via(self.facts, event) {
                    SpawnVia::GoStatement => "goroutine started here".to_string(),
                    SpawnVia::Served => "request handler handed to the server here".to_string(),
                    SpawnVia::Api(api) => {
                        format!("`{api}` runs this function on another goroutine")
                    }
                };
                let message = match race.overlap {
                    Overlap::Instances { .. } if repeated => {
                        format!("{started}; it runs once per request, concurrently with itself")
                    }
                    Overlap::Instances { .. } => {
                        format!("{started} in a loop; its instances run concurrently")
                    }
                    _ => started,
                };
                Related {
                    role: Role::SpawnSite,
                    location: self.location(spawn),
                    message,
                }
            })
            .collect()
    }

    /// The calls through which an access is reached from its goroutine's start, outermost
    /// first, as related locations; `whose` names the access ("the access", "the
    /// conflicting access").
    pub fn call_labels(&self, r: EventRef, whose: &str) -> Vec<Related> {
        self.calls_to(r)
            .into_iter()
            .enumerate()
            .map(|(i, call)| Related {
                role: Role::CallSite,
                location: self.origin_location(call),
                message: format!("call {} on the way to {whose}", i + 1),
            })
            .collect()
    }

    /// The calls through which an access is reached from its goroutine's start, outermost
    /// first: (function, event).
    fn calls_to(&self, r: EventRef) -> Vec<(FuncId, usize)> {
        let mut calls = Vec::new();
        let mut chain = self.program.threads[r.thread as usize].events[r.event].chain;
        while let Some(c) = chain {
            let site = self.program.chains[c as usize];
            chain = site.parent;
            let (func, index) = site.call;
            if matches!(
                self.facts.funcs[func as usize].events[index].kind,
                crate::index::EventKind::Call { .. }
            ) {
                calls.push(site.call);
            }
        }
        calls.reverse();
        calls
    }

    /// How many calls lead to event `r` from the start of its goroutine (not those that led
    /// to the `go` statement, nor those out of functions that only forward them).
    fn calls_in_goroutine(&self, r: EventRef) -> usize {
        let mut calls = 0;
        let mut chain = self.program.threads[r.thread as usize].events[r.event].chain;
        while let Some(c) = chain {
            let site = self.program.chains[c as usize];
            chain = site.parent;
            let (func, index) = site.call;
            let events = &self.facts.funcs[func as usize].events;
            match events[index].kind {
                // A function that only forwards the call (`return q.limiter.Get(k)`) adds
                // no step of its own.
                crate::index::EventKind::Call { .. } if events.len() == 1 => {}
                crate::index::EventKind::Call { .. } => calls += 1,
                crate::index::EventKind::Spawn { .. } => break,
                _ => {}
            }
        }
        calls
    }

    /// High when both sides are visible in the package; medium when one side is an entry
    /// point whose callers are not (an HTTP handler, registered or not, an exported
    /// method), both are test code, instances of one goroutine reach the map through an
    /// element of a collection, or the goroutine reaches it only after a receive its
    /// spawner never sends (see [`Context::gated_by_receive`]); low when a test drives it (see
    /// [`Context::test_driven`]), it is a test server's (see [`Context::test_server`]), or
    /// one side is reached through more than [`MAX_CONFIDENT_CALLS`] calls (from the root; for
    /// instances of one goroutine, or a goroutine and one it starts, from its start; the
    /// latter is medium at most when a side is that far from the root).
    pub fn confidence(&self, race: &Race) -> Confidence {
        if self.test_driven(race) || self.test_server(race) {
            return Confidence::Low;
        }
        // Instances of one goroutine share the path to its `go` statement: only their own
        // calls count.
        // So do a goroutine and the one it starts (a timer's callback started by a run
        // loop's handler), though a long way from the root leaves them short of `high`.
        let depth = |r: EventRef| match race.overlap {
            Overlap::Instances { .. } | Overlap::Spawned { .. } => self.calls_in_goroutine(r),
            _ => self.calls_to(r).len(),
        };
        if depth(race.a).max(depth(race.b)) > MAX_CONFIDENT_CALLS {
            return Confidence::Low;
        }
        let far_from_root = matches!(race.overlap, Overlap::Spawned { .. })
            && self.calls_to(race.a).len().max(self.calls_to(race.b).len()) > MAX_CONFIDENT_CALLS;
        // A handler runs when requests come: whether two overlap is up to the clients.
        let serves = |spawn: EventRef| {
            let event = &self.program.threads[spawn.thread as usize].events[spawn.event];
            matches!(event.action, Action::Spawn { repeated: true, .. })
        };
        match race.overlap {
            Overlap::Handler { .. } | Overlap::Handlers { .. } | Overlap::External { .. } => {
                Confidence::Medium
            }
            Overlap::Instances { spawn } if serves(spawn) => Confidence::Medium,
            Overlap::Siblings { first, second } if serves(first) || serves(second) => {
                Confidence::Medium
            }
            // Tests run under the race detector in most projects, and their servers and
            // fakes serve the test's own requests, one at a time more often than not; a
            // goroutine a test starts is paced by the test's channels and fakes, which the
            // analysis follows less well than a program's.
            _ if self.in_test(race.a) && self.in_test(race.b) => Confidence::Medium,
            _ if self.test_started(race) => Confidence::Medium,
            // Instances reaching the map through an element of a collection
            // (`entries[…].m`) may each have an element of their own.
            Overlap::Instances { .. } if self.through_element(race.place) => Confidence::Medium,
            Overlap::Spawned { spawn } if self.gated_by_receive(race, spawn) => Confidence::Medium,
            Overlap::Spawned { .. } if far_from_root => Confidence::Medium,
            Overlap::Instances { .. } | Overlap::Spawned { .. } | Overlap::Siblings { .. } => {
                Confidence::High
            }
        }
    }

    /// Whether a map is a field of an element of a slice or map (`entries[…].Entries`).
    fn through_element(&self, place: ProgramPlaceId) -> bool {
        let fields = &self.program.places[place as usize].fields;
        fields.split_last().is_some_and(|(_, owners)| {
            owners
                .iter()
                .any(|&f| self.program.field_name(f) == ELEMENT)
        })
    }

    /// Whether an access is in a `_test.go` file.
    fn in_test(&self, r: EventRef) -> bool {
        self.facts.funcs[self.origin(r).0 as usize].in_test
    }

    /// Whether an access is test code: in a `_test.go` file or a test program's package.
    fn test_code(&self, r: EventRef) -> bool {
        self.facts.test_tree || self.in_test(r)
    }

    /// Whether a spawn starts a goroutine per request: a handler registration, or a
    /// goroutine started in a loop with no condition (`for { c, _ := ln.Accept(); go
    /// fb.handle(c) }`), whose instances come as clients do.
    fn serves(&self, spawn: EventRef) -> bool {
        let event = &self.program.threads[spawn.thread as usize].events[spawn.event];
        if matches!(event.action, Action::Spawn { repeated: true, .. }) {
            return true;
        }
        let (func, index) = self.origin(spawn);
        let ctl = &self.facts.funcs[func as usize].ctl;
        let at = self.facts.funcs[func as usize].events[index].ctl;
        ctl.innermost_loop_endless(at) == Some(true)
    }

    /// Whether the race is between the requests of a server in test code (a fake, a test
    /// app): two of its requests, or one and the test's code around it, overlap only if
    /// the test's clients do, and the package's tests start no clients side by side (no
    /// goroutine started in a bounded loop, no parallel subtest). A test's clients are
    /// one call at a time far more often than not.
    pub fn test_server(&self, race: &Race) -> bool {
        if !self.test_code(race.a) || !self.test_code(race.b) {
            return false;
        }
        let served = match race.overlap {
            Overlap::Handler { .. } | Overlap::Handlers { .. } => true,
            Overlap::Instances { spawn }
            | Overlap::Spawned { spawn }
            | Overlap::External { spawn, .. } => self.serves(spawn),
            Overlap::Siblings { first, second } => self.serves(first) && self.serves(second),
        };
        served && !self.tests_run_side_by_side()
    }

    /// Whether the package's tests (its `_test.go` files: a test program's clients are
    /// elsewhere) start goroutines that may run side by side: a spawn in a loop that has a
    /// condition or range clause, or a parallel subtest.
    fn tests_run_side_by_side(&self) -> bool {
        self.facts.funcs.iter().any(|f| {
            f.in_test
                && f.events.iter().any(|e| match e.kind {
                    EventKind::Spawn {
                        repeated: false,
                        after_return,
                        ..
                    } => after_return || f.ctl.innermost_loop_endless(e.ctl) == Some(false),
                    _ => false,
                })
        })
    }

    /// Whether the goroutine of the race is one that package code starts and a test
    /// function calls into: the test then stands in for the program, on objects it set up
    /// for one scenario (a mock, a zero configuration, a stopped timer) that decides whether
    /// the goroutine runs at all, which the analysis cannot see. Goroutines a test starts
    /// itself are not test-driven.
    pub fn test_driven(&self, race: &Race) -> bool {
        let test = |func: FuncId| self.facts.funcs[func as usize].in_test;
        spawns(race).any(|spawn| {
            let root = self.program.root_of(spawn.thread);
            test(self.program.threads[root as usize].origin) && !test(self.origin(spawn).0)
        })
    }

    /// Whether the goroutine side of a spawner–goroutine race receives, before its
    /// access, from a channel of a package struct that the spawner never sends on
    /// (`<-c.resolvedChan` in a loop whose senders other components run): it touches the
    /// map only once code the analysis does not order sends, maybe long after the
    /// spawner is done.
    fn gated_by_receive(&self, race: &Race, spawn: EventRef) -> bool {
        let spawner = &self.program.threads[spawn.thread as usize];
        let Action::Spawn { thread: child, .. } = spawner.events[spawn.event].action else {
            return false;
        };
        let in_child = |mut t: ThreadId| loop {
            if t == child {
                return true;
            }
            match self.program.threads[t as usize].spawned_by {
                Some((parent, _)) => t = parent,
                None => return false,
            }
        };
        let sent_by_spawner = |sync: ProgramPlaceId| {
            spawner
                .events
                .iter()
                .any(|e| matches!(e.action, Action::Signal { sync: s } if s == sync))
        };
        [race.a, race.b].into_iter().any(|x| {
            in_child(x.thread)
                && self.program.threads[x.thread as usize].events[..x.event]
                    .iter()
                    .any(|e| match e.action {
                        Action::Wait {
                            sync,
                            single_receive: true,
                        } => {
                            let p = &self.program.places[sync as usize];
                            !p.fields.is_empty()
                                && receiver_type(self.facts, p.root).is_some()
                                && !sent_by_spawner(sync)
                        }
                        _ => false,
                    })
        })
    }

    /// Whether a goroutine of the race is started by test code (a `go` statement in a
    /// `_test.go` file).
    fn test_started(&self, race: &Race) -> bool {
        spawns(race).any(|spawn| self.facts.funcs[self.origin(spawn).0 as usize].in_test)
    }

    /// Why the two accesses are concurrent, in words a reviewer can check.
    pub fn overlap_note(&self, race: &Race, here: FileId) -> String {
        match race.overlap {
            Overlap::Instances { spawn } => format!(
                "the goroutine started at {} runs many times at once, and nothing waits for \
                 one instance before the next starts",
                self.at(spawn, here)
            ),
            Overlap::Handler { thread } => {
                let origin = self.program.threads[thread as usize].origin;
                let name = self.func_label(origin, here);
                match self.facts.funcs[origin as usize].handler {
                    Some(Serves::Rpc) => format!(
                        "{name} is a gRPC method: the server runs every call on its own \
                         goroutine, concurrently with the others"
                    ),
                    Some(Serves::Callers) => format!(
                        "{name} fills a package-level memo cache for the package's exported \
                         API, with no lock: the library's callers may call it from many \
                         goroutines at once"
                    ),
                    _ => format!(
                        "{name} serves HTTP: every request runs it on its own goroutine, \
                         concurrently with the others"
                    ),
                }
            }
            Overlap::Spawned { spawn } => format!(
                "nothing waits for the goroutine started at {} (no WaitGroup.Wait or channel \
                 receive it signals) between it and the other access",
                self.at(spawn, here)
            ),
            Overlap::External { spawn, entry } => {
                let name =
                    &self.facts.funcs[self.program.threads[entry as usize].origin as usize].name;
                let runs = match name.as_str() {
                    "main" => "`main` runs".to_string(),
                    _ => format!("`{name}` is exported: a caller may run it"),
                };
                format!(
                    "{runs} while the goroutine started at {} is running, and no common lock \
                     orders the two",
                    self.at(spawn, here)
                )
            }
            Overlap::Handlers { handler, other } => {
                let func = |t: ThreadId| {
                    &self.facts.funcs[self.program.threads[t as usize].origin as usize]
                };
                let serves = match func(handler).handler {
                    Some(Serves::Rpc) => {
                        "is a gRPC method: the server runs it on a goroutine \
                                          per call"
                    }
                    Some(Serves::Callers) => {
                        "fills a memo cache for the package's exported API: the library's \
                         callers may call it on any goroutine"
                    }
                    _ => {
                        "has a request handler's parameters: the server runs it on a goroutine \
                          per request"
                    }
                };
                let other = self.func_label(self.program.threads[other as usize].origin, here);
                format!(
                    "{} {serves}, at any time, so it may run while {other} does, and no common \
                     lock orders the two",
                    self.func_label(self.program.threads[handler as usize].origin, here),
                )
            }
            Overlap::Siblings { first, second } => {
                let (a, b) = (self.at(first, here), self.at(second, here));
                format!(
                    "the goroutines started at {a} and {b} run at the same time: nothing waits \
                     for the first before the second starts"
                )
            }
        }
    }
}

/// What a race rule says about one reported race; [`Context::race_finding`] adds the rest.
pub struct Words {
    /// The rule id.
    pub rule: &'static str,
    /// The one-line message.
    pub message: String,
    /// The label on the reported access.
    pub label: String,
    /// The conflicting access's label, when it is another access.
    pub conflict: Option<String>,
    /// How to fix it.
    pub help: String,
}

impl Context<'_> {
    /// A finding for a race reported at `r.primary`: the rule's words, plus the locations,
    /// labels and notes every race finding carries.
    pub fn race_finding(&self, r: &Reported, words: Words) -> Finding {
        let here = self.file_of(r.primary);
        let mut related: Vec<Related> = words
            .conflict
            .map(|message| Related {
                role: Role::ConflictingAccess,
                location: self.location(r.conflict),
                message,
            })
            .into_iter()
            .collect();
        related.extend(self.spawn_labels(&r.race));
        related.extend(self.call_labels(r.primary, "the access"));
        // How the other goroutine reaches its access: what a reader checks second.
        if r.conflict != r.primary {
            related.extend(self.call_labels(r.conflict, "the conflicting access"));
        }
        let confidence = self.confidence(&r.race);
        Finding {
            location: self.location(r.primary),
            rule: words.rule,
            message: words.message,
            label: words.label,
            related,
            notes: vec![
                self.overlap_note(&r.race, here),
                self.declared_note(r.race.place),
            ],
            help: words.help,
            package: self.facts.name.clone(),
            function: self.function(r.primary),
            map: self.map(r.race.place),
            access: access_noun(self.op(r.primary)),
            confidence,
            level: Level::of(confidence),
            fingerprint: String::new(),
            suppressed: None,
            confirmed: None,
        }
    }
}

/// A mutex in words: `` `s.mu` ``, or for a mutex embedded in a struct (locked as
/// `s.Lock()`), "the mutex embedded in `s`".
pub fn lock_words(text: &str, embedded: bool) -> String {
    if embedded {
        format!("the mutex embedded in `{text}`")
    } else {
        format!("`{text}`")
    }
}

/// What to do about a race between `primary` and `conflict` when only one of them holds a
/// lock: take the same lock at the other access. `None` when both or neither hold locks.
pub fn lock_one_side_help(ctx: &Context<'_>, r: &Reported, here: FileId) -> Option<String> {
    let at = ctx.at(r.conflict, here);
    match (ctx.held_words(r.primary), ctx.held_words(r.conflict)) {
        (Some(held), None) => Some(format!(
            "this {} holds {held}; the {} at {at} does not: take the same lock there too",
            access_noun(ctx.op(r.primary)),
            access_noun(ctx.op(r.conflict)),
        )),
        (None, Some(held)) => Some(format!(
            "the {} at {at} holds {held}: take the same lock here too{}",
            access_noun(ctx.op(r.conflict)),
            if ctx.op(r.primary).is_write() {
                ""
            } else {
                " (a read lock is enough if it is a sync.RWMutex)"
            }
        )),
        _ => None,
    }
}

/// The noun for an access in labels: "write", "read".
pub fn access_noun(op: AccessOp) -> &'static str {
    if op.is_write() {
        "write"
    } else {
        "read"
    }
}

/// A race as one rule reports it: at `primary`, conflicting with `conflict`.
#[derive(Debug, Clone, Copy)]
pub struct Reported {
    /// Where the finding is reported.
    pub primary: EventRef,
    /// The access it races with.
    pub conflict: EventRef,
    /// The race.
    pub race: Race,
}

/// Where an access is for choosing among reports: its file (ranked by displayed path), and
/// the byte span of its location (cut at the first line's end, as [`Location::first_line`]).
type Site = (u32, usize, usize);

/// What the rules tell pairs apart by: whether each side writes and whether it holds locks.
type PairKind = [bool; 4];

/// The order [`one_per_primary`] chooses conflicts in, for one primary location.
type Choice = (bool, (u32, usize), EventRef, EventRef);

/// A primary location (file rank, start byte) with the kind of pair.
type Slot = ((u32, usize), PairKind);

/// Each file's place in the order of displayed paths, the order reports are chosen in.
pub fn file_ranks(files: &[&SourceFile]) -> Vec<u32> {
    let mut by_path: Vec<usize> = (0..files.len()).collect();
    by_path.sort_by_cached_key(|&f| files[f].display_path());
    let mut file_rank = vec![0; files.len()];
    for (rank, f) in by_path.into_iter().enumerate() {
        file_rank[f] = rank as u32;
    }
    file_rank
}

/// Keeps of the races only those a rule may report. Every rule reports a primary access
/// once, with the conflict [`one_per_primary`] chooses among the pairs its filter keeps; the
/// filters look only at which sides write and hold locks. So for each primary location and
/// each such kind of pair only the best conflict can be reported: a package where n
/// goroutines race pairwise keeps O(n) races, not n².
pub struct BestConflicts<'c, 'a> {
    ctx: &'c Context<'a>,
    file_rank: &'c [u32],
    best: FxHashMap<Slot, (Choice, usize, Race)>,
    offered: usize,
}

impl<'c, 'a> BestConflicts<'c, 'a> {
    /// No races yet; `file_rank` as [`file_ranks`] gives it.
    pub fn new(ctx: &'c Context<'a>, file_rank: &'c [u32]) -> Self {
        BestConflicts {
            ctx,
            file_rank,
            best: FxHashMap::default(),
            offered: 0,
        }
    }

    fn site(&self, r: EventRef) -> Site {
        let (func, index) = self.ctx.origin(r);
        let f = &self.ctx.facts.funcs[func as usize];
        let span = &f.events[index].span;
        let text = &self.ctx.files[f.file as usize].text[span.clone()];
        let end = text.find('\n').map_or(span.end, |i| span.start + i);
        (self.file_rank[f.file as usize], span.start, end)
    }

    /// Considers one race, in the order the analysis found it.
    pub fn offer(&mut self, race: Race) {
        let arrival = self.offered;
        self.offered += 1;
        let (a, b) = (self.site(race.a), self.site(race.b));
        for (primary, conflict, p, c) in [(race.a, race.b, a, b), (race.b, race.a, b, a)] {
            let kind = [
                self.ctx.op(primary).is_write(),
                self.ctx.op(conflict).is_write(),
                self.ctx.holds_locks(primary),
                self.ctx.holds_locks(conflict),
            ];
            let choice = (p == c, (c.0, c.1), primary, conflict);
            let slot = self.best.entry(((p.0, p.1), kind));
            match slot {
                Entry::Occupied(mut e) if choice < e.get().0 => {
                    e.insert((choice, arrival, race));
                }
                Entry::Occupied(_) => {}
                Entry::Vacant(e) => {
                    e.insert((choice, arrival, race));
                }
            }
        }
    }

    /// The races kept, in the order they were offered.
    pub fn into_races(self) -> Vec<Race> {
        let mut kept: Vec<(usize, Race)> = self
            .best
            .into_values()
            .map(|(_, arrival, race)| (arrival, race))
            .collect();
        kept.sort_unstable_by_key(|&(arrival, _)| arrival);
        kept.dedup_by_key(|&mut (arrival, _)| arrival);
        kept.into_iter().map(|(_, race)| race).collect()
    }
}

/// Keeps one report per primary access: the one whose conflict is another access if any,
/// then the earliest conflict, so that output does not depend on pair order.
pub fn one_per_primary(ctx: &Context<'_>, mut reports: Vec<Reported>) -> Vec<Reported> {
    let key = |r: &Reported| {
        let primary = ctx.location(r.primary);
        let conflict = ctx.location(r.conflict);
        (
            primary.path,
            primary.start_byte,
            ctx.location(r.conflict) == ctx.location(r.primary),
            conflict.path,
            conflict.start_byte,
            r.primary,
            r.conflict,
        )
    };
    reports.sort_by_cached_key(key);
    reports.dedup_by_key(|r| {
        let l = ctx.location(r.primary);
        (l.path, l.start_byte)
    });
    reports
}

/// The spawns that start the goroutines of a race (none for handlers).
fn spawns(race: &Race) -> impl Iterator<Item = EventRef> {
    let spawns = match race.overlap {
        Overlap::Spawned { spawn }
        | Overlap::External { spawn, .. }
        | Overlap::Instances { spawn } => [Some(spawn), None],
        Overlap::Siblings { first, second } => [Some(first), Some(second)],
        Overlap::Handler { .. } | Overlap::Handlers { .. } => [None, None],
    };
    spawns.into_iter().flatten()
}
