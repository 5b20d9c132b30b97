//! Words and locations for findings: who runs an access, where a goroutine starts.

use crate::finding::{Location, Related, Role};
use crate::index::{AccessOp, EventKind, FuncId, PackageFacts, PlaceId, SpawnVia};
use crate::source::SourceFile;

use super::concurrency::{EventRef, Overlap, Race};

/// What a rule needs to turn races into findings.
pub struct Context<'a> {
    /// The package's facts.
    pub facts: &'a PackageFacts,
    /// Its files, by file id.
    pub files: &'a [&'a SourceFile],
}

impl Context<'_> {
    fn file_of(&self, func: FuncId) -> &SourceFile {
        self.files[self.facts.funcs[func as usize].file as usize]
    }

    /// The location of an event; multi-line spans are cut at the end of their first line.
    pub fn location(&self, r: EventRef) -> Location {
        let file = self.file_of(r.func);
        let span = self.facts.funcs[r.func as usize].events[r.event]
            .span
            .clone();
        let line_end = file.text[span.start..span.end]
            .find('\n')
            .map_or(span.end, |i| span.start + i);
        Location::new(file, span.start..line_end.max(span.start))
    }

    /// The 1-based line of an event.
    pub fn line(&self, r: EventRef) -> u32 {
        self.location(r).start.line
    }

    /// The access operation of an access event.
    pub fn op(&self, r: EventRef) -> AccessOp {
        match self.facts.funcs[r.func as usize].events[r.event].kind {
            EventKind::Access { op, .. } => op,
            _ => unreachable!("an access event"),
        }
    }

    /// Who runs code of `func`: "`main`", "the goroutine started at line 12", or "the
    /// handler registered at line 30".
    pub fn who(&self, func: FuncId) -> String {
        let f = &self.facts.funcs[func as usize];
        let Some((parent, event)) = f.spawned_by else {
            return format!("`{}`", f.name);
        };
        let spawn = EventRef {
            func: parent,
            event,
        };
        let line = self.line(spawn);
        match &self.facts.funcs[parent as usize].events[event].kind {
            EventKind::Spawn { repeated: true, .. } => {
                format!("the handler registered at line {line}")
            }
            EventKind::Spawn {
                via: SpawnVia::Api(api),
                ..
            } => format!("the goroutine `{api}` starts at line {line}"),
            _ => format!("the goroutine started at line {line}"),
        }
    }

    /// The name of the function (or goroutine literal) holding an event.
    pub fn function(&self, r: EventRef) -> String {
        self.facts.funcs[r.func as usize].name.clone()
    }

    /// The map as written in the source.
    pub fn map(&self, place: PlaceId) -> String {
        self.facts.place_text(place)
    }

    /// "`m` is declared at main.go:10" for the finding's notes.
    pub fn declared_note(&self, place: PlaceId) -> String {
        let binding = self.facts.root(place);
        let file = self.files[binding.file as usize];
        let at = file.line_col(binding.offset);
        format!(
            "`{}` is declared at {}:{}",
            binding.name,
            file.display_path(),
            at.line
        )
    }

    /// The related locations for the spawn sites that make the race possible, each labelled
    /// with what makes it concurrent.
    pub fn spawn_labels(&self, race: &Race) -> Vec<Related> {
        let spawns = match race.overlap {
            Overlap::Instances { spawn } | Overlap::Spawned { spawn } => vec![spawn],
            Overlap::Siblings { first, second } => vec![first, second],
        };
        spawns
            .into_iter()
            .map(|spawn| {
                let event = &self.facts.funcs[spawn.func as usize].events[spawn.event];
                let (via, repeated) = match &event.kind {
                    EventKind::Spawn { via, repeated, .. } => (via, *repeated),
                    _ => unreachable!("a spawn event"),
                };
                let started = match via {
                    SpawnVia::GoStatement => "goroutine started here".to_string(),
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

    /// Why the two accesses are concurrent, in words a reviewer can check.
    pub fn overlap_note(&self, race: &Race) -> String {
        match race.overlap {
            Overlap::Instances { spawn } => format!(
                "the goroutine started at line {} runs many times at once, and nothing waits \
                 for one instance before the next starts",
                self.line(spawn)
            ),
            Overlap::Spawned { spawn } => format!(
                "nothing waits for the goroutine started at line {} (no WaitGroup.Wait or \
                 channel receive it signals) between it and the other access",
                self.line(spawn)
            ),
            Overlap::Siblings { first, second } => format!(
                "the goroutines started at lines {} and {} run at the same time: nothing waits \
                 for the first before the second starts",
                self.line(first).min(self.line(second)),
                self.line(first).max(self.line(second))
            ),
        }
    }
}

/// The verb for an access in labels: "write", "read".
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

/// Keeps one report per primary access: the one whose conflict is another access if any,
/// then the earliest conflict, so that output does not depend on pair order.
pub fn one_per_primary(ctx: &Context<'_>, mut reports: Vec<Reported>) -> Vec<Reported> {
    let key = |r: &Reported| {
        let conflict = ctx.location(r.conflict);
        (
            r.primary,
            r.conflict == r.primary,
            conflict.path,
            conflict.start_byte,
        )
    };
    reports.sort_by_cached_key(key);
    reports.dedup_by_key(|r| r.primary);
    reports
}
