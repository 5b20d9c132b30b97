//! Pairing accesses by groups instead of one by one.
//!
//! Whether two accesses of one map race depends on each access only through its thread,
//! whether it writes, the locks it holds, its frame, and which spawns, waits and signals of
//! its thread precede it (its segment). Accesses that agree on all of these form a group,
//! and one check per pair of groups decides for every pair of their members. A goroutine
//! making k writes against a spawner making k reads is one check, not k².
//!
//! The rules report each access once, with the conflicting access that sorts first (by
//! location; a different line before the same line; then by event). So a racing pair of
//! groups yields only the member pairs that can be that choice: each distinct location of
//! one side with, from each file of the other side, its one or two first locations.

use std::collections::BTreeMap;
use std::hash::Hash;

use rustc_hash::FxHashMap;

use crate::index::{CtlId, FileId, LockMode, PackageFacts};

use super::concurrency::EventRef;
use super::program::{Action, Program, ProgramPlaceId, ThreadId};

/// Where an access is in the source: its file and byte span.
type Site = (FileId, usize, usize);

/// Accesses of one map that every race question answers alike.
#[derive(Debug)]
pub struct Group {
    /// Whether the members write.
    pub writes: bool,
    /// A member (the first in program order): the one to ask about.
    pub representative: EventRef,
    /// Each distinct site of the members, with its first member; sorted once complete.
    sites: Vec<(Site, EventRef)>,
}

/// Accesses grouped by a key that decides every race question about them.
pub struct Groups<'a, K> {
    program: &'a Program,
    facts: &'a PackageFacts,
    index: FxHashMap<K, usize>,
    /// The groups, in the order their first members were added.
    pub groups: Vec<Group>,
}

impl<'a, K: Hash + Eq> Groups<'a, K> {
    /// No groups yet.
    pub fn new(program: &'a Program, facts: &'a PackageFacts) -> Self {
        Groups {
            program,
            facts,
            index: FxHashMap::default(),
            groups: Vec::new(),
        }
    }

    /// Adds an access (in program order) to the group of its key; returns the group's index
    /// and whether the access started it.
    pub fn add(&mut self, key: K, writes: bool, r: EventRef) -> (usize, bool) {
        let event = &self.program.threads[r.thread as usize].events[r.event];
        let (func, index) = event.origin;
        let func = &self.facts.funcs[func as usize];
        let span = &func.events[index].span;
        let site = (func.file, span.start, span.end);
        let next = self.groups.len();
        let g = *self.index.entry(key).or_insert(next);
        if g == next {
            self.groups.push(Group {
                writes,
                representative: r,
                sites: Vec::new(),
            });
        }
        self.groups[g].sites.push((site, r));
        (g, g == next)
    }

    /// The groups with their sites sorted, each site with its first member.
    pub fn finish(mut self) -> Vec<Group> {
        for g in &mut self.groups {
            g.sites.sort_unstable();
            g.sites.dedup_by_key(|&mut (site, _)| site);
        }
        self.groups
    }
}

/// The accesses of each map within each root's goroutine tree, grouped.
pub struct Grouping {
    /// Every group.
    pub groups: Vec<Group>,
    /// Each map's groups by root, in the order they were created; groups of different
    /// roots never race.
    pub by_place: BTreeMap<ProgramPlaceId, Vec<(ThreadId, Vec<usize>)>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    place: ProgramPlaceId,
    thread: ThreadId,
    writes: bool,
    segment: u32,
    ctl: CtlId,
    locks: u32,
}

impl Grouping {
    /// Groups every access of the program by thread, write-ness, frame, lock set and
    /// segment; `roots[t]` is thread `t`'s root thread. The expansion builds each root's
    /// tree in one go, so a map's groups of one root are created one after another.
    pub fn new(program: &Program, facts: &PackageFacts, roots: &[ThreadId]) -> Self {
        let mut lock_sets: FxHashMap<&[(ProgramPlaceId, LockMode)], u32> = FxHashMap::default();
        let mut groups = Groups::new(program, facts);
        let mut by_place: BTreeMap<ProgramPlaceId, Vec<(ThreadId, Vec<usize>)>> = BTreeMap::new();
        for (t, thread) in program.threads.iter().enumerate() {
            let t = t as ThreadId;
            let root = roots[t as usize];
            // An access's segment: how many spawns, waits and signals precede it.
            let accesses = thread
                .events
                .iter()
                .enumerate()
                .scan(0u32, |segment, (e, event)| {
                    Some(match event.action {
                        Action::Access { place, op } => Some((*segment, e, event, place, op)),
                        _ => {
                            *segment += 1;
                            None
                        }
                    })
                });
            for (segment, e, event, place, op) in accesses.flatten() {
                let key = Key {
                    place,
                    thread: t,
                    writes: op.is_write(),
                    segment,
                    ctl: event.ctl,
                    locks: intern_locks(&mut lock_sets, &event.locks),
                };
                let r = EventRef {
                    thread: t,
                    event: e,
                };
                let (g, new) = groups.add(key, op.is_write(), r);
                if new {
                    let roots_of_place = by_place.entry(place).or_default();
                    match roots_of_place.last_mut() {
                        Some((q, list)) if *q == root => list.push(g),
                        _ => roots_of_place.push((root, vec![g])),
                    }
                }
            }
        }
        Grouping {
            groups: groups.finish(),
            by_place,
        }
    }
}

/// The id of a lock set, the same for equal sets held in the same order.
fn intern_locks<'a>(
    sets: &mut FxHashMap<&'a [(ProgramPlaceId, LockMode)], u32>,
    locks: &'a [(ProgramPlaceId, LockMode)],
) -> u32 {
    let next = sets.len() as u32;
    *sets.entry(locks).or_insert(next)
}

impl Group {
    /// The member pairs (primary from `self`, conflict from `other`) that can be the one
    /// reported for each of `self`'s sites.
    pub fn candidates(&self, other: &Group) -> Vec<(EventRef, EventRef)> {
        // Per file of the other side: its sites at its first two start offsets.
        let mut firsts: Vec<EventRef> = Vec::new();
        let mut file: Option<FileId> = None;
        let mut starts: Vec<usize> = Vec::new();
        for &(site, r) in &other.sites {
            if file != Some(site.0) {
                file = Some(site.0);
                starts.clear();
            }
            if !starts.contains(&site.1) {
                if starts.len() == 2 {
                    continue;
                }
                starts.push(site.1);
            }
            firsts.push(r);
        }
        let mut out = Vec::with_capacity(self.sites.len() * firsts.len());
        for &(_, primary) in &self.sites {
            for &conflict in &firsts {
                out.push((primary, conflict));
            }
        }
        out
    }
}
