//! MG004 write-under-read-lock: a shared map written while only `RLock` is held.

use crate::finding::{Confidence, Finding, Level, Location, Related, Role};
use crate::index::{BindingId, EventKind, LockMode, PackageFacts};
use crate::source::SourceFile;

/// The rule's id.
pub const ID: &str = "MG004";

/// Reports every write to a map reached through a receiver, parameter or package variable
/// while a read lock on the same variable (or, for a package variable, a package-level read
/// lock) and no exclusive lock is held.
pub fn check(facts: &PackageFacts, files: &[&SourceFile]) -> Vec<Finding> {
    let mut out = Vec::new();
    for func in &facts.funcs {
        for event in &func.events {
            let EventKind::Access { place, op } = event.kind else {
                continue;
            };
            if !op.is_write() || !facts.is_shared_root(place) {
                continue;
            }
            // Only a read lock that guards this map counts: one on the same variable
            // (`s.mu.RLock()` for `s.items`), or a package-level lock for a package-level
            // map. A read lock on another object says nothing about a map of one's own.
            let map_root = facts.places[place as usize].root;
            let global = |root: BindingId| facts.bindings[root as usize].func.is_none();
            let read_locks: Vec<_> = event
                .locks
                .iter()
                .filter(|(l, mode)| {
                    let lock_root = facts.places[*l as usize].root;
                    *mode == LockMode::Read
                        && (lock_root == map_root || (global(lock_root) && global(map_root)))
                })
                .collect();
            if read_locks.is_empty() || event.locks.iter().any(|(_, m)| *m == LockMode::Exclusive) {
                continue;
            }
            let file = files[func.file as usize];
            let map = facts.place_text(place);
            let lock = facts.place_text(read_locks[0].0);
            let mut related = Vec::new();
            if let Some(at) = facts.lock_site(func, read_locks[0].0, event.span.start) {
                related.push(Related {
                    role: Role::LockSite,
                    location: Location::new(file, at),
                    message: format!("only the read lock `{lock}` is taken here"),
                });
            }
            out.push(Finding {
                location: Location::new(file, event.span.clone()),
                rule: ID,
                message: format!(
                    "map `{map}` is written while only the read lock `{lock}` is held: other \
                     holders of the read lock can write it at the same time"
                ),
                label: format!("write under `{lock}.RLock()`"),
                related,
                notes: vec![format!(
                    "RLock admits any number of goroutines at once; it excludes only `{lock}.Lock()`"
                )],
                help: format!(
                    "take `{lock}.Lock()` (not RLock) around writes to `{map}`"
                ),
                package: facts.name.clone(),
                function: func.name.clone(),
                map,
                access: "write",
                confidence: Confidence::Medium,
        level: Level::Warning,
                fingerprint: String::new(),
                suppressed: None,
                confirmed: None,
            });
        }
    }
    out
}
