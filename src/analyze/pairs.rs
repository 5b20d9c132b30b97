//! Pairing accesses by groups instead of one by one.
//!
//! Whether two accesses of one map race depends on each access only through its thread,
//! whether it writes, the locks it holds, its frame, and which spawns, waits and signals of
//! its thread precede it (its segment). Accesses that agree on all of these form a group,
//! and one check per pair of groups decides for every pair of their members. A goroutine
//! making k writes against a spawner making k reads is one check, not k².
//!
//! The rules report each access once, with the conflicting access that sorts first (by
//! location; a different site before the same site; then by event). So a racing pair of
//! groups yields only the member pairs that can be that choice: each distinct location of
//! one side with, from each file of the other side, its one or two first locations. And
//! within one goroutine tree, a group looks for its conflicts among the other groups in the
//! order of their first sites and stops once no later group can hold a conflict the rules
//! would choose ([`Nearest`]): n goroutines racing pairwise take O(n) checks, not n².

use std::collections::BTreeMap;
use std::hash::Hash;

use rustc_hash::FxHashMap;

use crate::index::{CtlId, PackageFacts};

use super::concurrency::EventRef;
use super::program::{Action, Program, ProgramPlaceId, ThreadId};

/// Where an access is in the source: its file's rank (files ordered by displayed path) and
/// its byte span.
type Site = (u32, usize, usize);

/// Where a site starts: the order the rules choose conflicts in.
pub type Position = (u32, usize);

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
    file_rank: &'a [u32],
    index: FxHashMap<K, usize>,
    /// The groups, in the order their first members were added.
    pub groups: Vec<Group>,
}

impl<'a, K: Hash + Eq> Groups<'a, K> {
    /// No groups yet; `file_rank[f]` is file `f`'s place in the order of displayed paths.
    pub fn new(program: &'a Program, facts: &'a PackageFacts, file_rank: &'a [u32]) -> Self {
        Groups {
            program,
            facts,
            file_rank,
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
        let site = (self.file_rank[func.file as usize], span.start, span.end);
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
    /// segment; `roots[t]` is thread `t`'s root thread, `file_rank` as for [`Groups::new`].
    /// The expansion builds each root's tree in one go, so a map's groups of one root are
    /// created one after another.
    pub fn new(
        program: &Program,
        facts: &PackageFacts,
        roots: &[ThreadId],
        file_rank: &[u32],
    ) -> Self {
        let mut groups = Groups::new(program, facts, file_rank);
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
                    locks: event.locks,
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
impl Group {
    /// Where the group's first site starts.
    pub fn first_position(&self) -> Position {
        let (site, _) = self.sites[0];
        (site.0, site.1)
    }

    /// The member pairs (primary from `self`, conflict from `other`) that can be the one
    /// reported for each of `self`'s sites.
    pub fn candidates(&self, other: &Group) -> Vec<(EventRef, EventRef)> {
        // Per file of the other side: its sites at its first two start offsets.
        let mut firsts: Vec<EventRef> = Vec::new();
        let mut file: Option<u32> = None;
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

/// The conflicts one group may be reported with, found among racing groups offered in the
/// order of their first sites. The rules tell conflicts apart by whether they write and hold
/// locks (a class); within a class they choose the earliest position whose site differs from
/// the primary's, so the members at a class's first two positions are all that can be chosen,
/// and for each site only its first member.
#[derive(Default)]
pub struct Nearest {
    /// Per class (write, holds locks): up to two positions.
    classes: [Vec<Found>; 4],
}

/// A position where conflicts were found, with the first member of each site there.
type Found = (Position, Vec<(Site, EventRef)>);

impl Nearest {
    /// The class of a group's accesses as conflicts: whether they write and hold locks.
    pub fn class(group: &Group, holds_locks: bool) -> usize {
        usize::from(group.writes) * 2 + usize::from(holds_locks)
    }

    /// Whether a group of this class starting at `position` can add a conflict.
    pub fn wants(&self, group: &Group, holds_locks: bool, position: Position) -> bool {
        let found = &self.classes[Self::class(group, holds_locks)];
        found.len() < 2 || position <= found[1].0
    }

    /// Whether no group starting at `position` or later can add a conflict to any class in
    /// `present` (the classes the candidates have).
    pub fn settled(&self, present: [bool; 4], position: Position) -> bool {
        (0..4)
            .all(|c| !present[c] || (self.classes[c].len() == 2 && self.classes[c][1].0 < position))
    }

    /// Takes the sites of a racing group (of the given class).
    pub fn add(&mut self, group: &Group, holds_locks: bool) {
        let found = &mut self.classes[Self::class(group, holds_locks)];
        for &(site, r) in &group.sites {
            let position = (site.0, site.1);
            if found.len() == 2 && position > found[1].0 {
                break;
            }
            let i = match found.binary_search_by_key(&position, |(p, _)| *p) {
                Ok(i) => i,
                Err(i) => {
                    found.insert(i, (position, Vec::new()));
                    found.truncate(2);
                    i
                }
            };
            let members = &mut found[i].1;
            match members.iter_mut().find(|(s, _)| *s == site) {
                Some((_, first)) => *first = (*first).min(r),
                None => members.push((site, r)),
            }
        }
    }

    /// The member pairs (primary from `group`, conflict among those found) that can be the
    /// one reported for each of the group's sites.
    pub fn pairs(&self, group: &Group) -> Vec<(EventRef, EventRef)> {
        let conflicts: Vec<EventRef> = self
            .classes
            .iter()
            .flatten()
            .flat_map(|(_, members)| members.iter().map(|&(_, r)| r))
            .collect();
        group
            .sites
            .iter()
            .flat_map(|&(_, primary)| conflicts.iter().map(move |&c| (primary, c)))
            .collect()
    }
}
