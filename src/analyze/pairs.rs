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

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

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
    /// Each distinct site of the members, with its first member; sorted.
    sites: Vec<(Site, EventRef)>,
}

/// The accesses of each map, grouped; each map's groups are sorted by root then by
/// representative, and a map's groups of different roots never race.
pub struct Grouping {
    /// Groups of each map, by root.
    pub by_place: BTreeMap<ProgramPlaceId, Vec<(ThreadId, Vec<Group>)>>,
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
    /// Groups every access of the program; `roots[t]` is thread `t`'s root thread. The
    /// expansion builds each root's tree in one go, so a map's groups of one root are
    /// created one after another.
    pub fn new(program: &Program, facts: &PackageFacts, roots: &[ThreadId]) -> Self {
        let mut lock_sets: HashMap<&[(ProgramPlaceId, LockMode)], u32> = HashMap::new();
        let mut index: HashMap<Key, (ProgramPlaceId, usize, usize)> = HashMap::new();
        let mut by_place: BTreeMap<ProgramPlaceId, Vec<(ThreadId, Vec<Group>)>> = BTreeMap::new();
        for (t, thread) in program.threads.iter().enumerate() {
            let t = t as ThreadId;
            let root = roots[t as usize];
            let mut segment = 0u32;
            for (e, event) in thread.events.iter().enumerate() {
                let Action::Access { place, op } = event.action else {
                    segment += 1;
                    continue;
                };
                let next = lock_sets.len() as u32;
                let locks = *lock_sets.entry(event.locks.as_slice()).or_insert(next);
                let key = Key {
                    place,
                    thread: t,
                    writes: op.is_write(),
                    segment,
                    ctl: event.ctl,
                    locks,
                };
                let r = EventRef {
                    thread: t,
                    event: e,
                };
                let (origin_func, origin_event) = event.origin;
                let func = &facts.funcs[origin_func as usize];
                let span: &Range<usize> = &func.events[origin_event].span;
                let site = (func.file, span.start, span.end);
                let roots_of_place = by_place.entry(place).or_default();
                let &mut (_, r_i, g_i) = index.entry(key).or_insert_with(|| {
                    if roots_of_place.last().is_none_or(|(q, _)| *q != root) {
                        roots_of_place.push((root, Vec::new()));
                    }
                    let r_i = roots_of_place.len() - 1;
                    let groups = &mut roots_of_place[r_i].1;
                    groups.push(Group {
                        writes: op.is_write(),
                        representative: r,
                        sites: Vec::new(),
                    });
                    (place, r_i, groups.len() - 1)
                });
                let group = &mut roots_of_place[r_i].1[g_i];
                group.sites.push((site, r));
            }
        }
        for roots in by_place.values_mut() {
            for (_, groups) in roots {
                for g in groups {
                    // Members were pushed in program order: the first of each site is kept.
                    g.sites.sort_by_key(|&(site, r)| (site, r));
                    g.sites.dedup_by_key(|&mut (site, _)| site);
                }
            }
        }
        Grouping { by_place }
    }
}

impl Group {
    /// The member pairs (primary from `self`, conflict from `other`) that can be the one
    /// reported for each of `self`'s sites.
    pub fn candidates(&self, other: &Group) -> Vec<(EventRef, EventRef)> {
        // Per file of the other side: its sites at its first two start offsets.
        let mut firsts: Vec<(EventRef, Site)> = Vec::new();
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
            firsts.push((r, site));
        }
        let mut out = Vec::new();
        for &(_, primary) in &self.sites {
            for &(conflict, _) in &firsts {
                out.push((primary, conflict));
            }
        }
        out
    }
}
