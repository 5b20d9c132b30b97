//! MG004 write-under-read-lock: a shared map written while only `RLock` is held.

use crate::finding::{Confidence, Finding, Level, Location, Related, Role};
use crate::index::{
    mutexes, BindingId, Event, EventKind, Func, FuncId, LockMode, PackageFacts, Target,
};
use crate::source::SourceFile;

/// The rule's id.
pub const ID: &str = "MG004";

/// How deep calls on the receiver are followed to find a helper's writes.
const MAX_HELPER_DEPTH: usize = 4;

/// Reports every write to a map reached through a receiver, parameter or package variable
/// while a read lock on the same variable (or, for a package variable, a package-level read
/// lock) and no exclusive lock is held; also a call, under such a read lock only, of a
/// method of the same variable that writes one of its maps taking no lock itself
/// (`c.mu.RLock(); … c.removeNoLock(k)`).
pub fn check(facts: &PackageFacts, files: &[&SourceFile]) -> Vec<Finding> {
    let mut out = Vec::new();
    for func in &facts.funcs {
        for event in &func.events {
            if let EventKind::Call { target, .. } = &event.kind {
                out.extend(helper_write(facts, files, func, event, target));
                continue;
            }
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

/// A call of a method on `target`'s receiver made under only a read lock of that receiver,
/// when the method (or one it calls on its receiver) writes a receiver map holding no lock:
/// reported at the call, with the write as related location.
fn helper_write(
    facts: &PackageFacts,
    files: &[&SourceFile],
    func: &Func,
    event: &Event,
    target: &Target,
) -> Option<Finding> {
    let receiver = target.receiver?;
    // A method of the locked variable itself (`c.removeNoLock`), not of an object it holds
    // (`acc.sl.Match`), which guards its maps with locks of its own.
    let p = &facts.places[receiver as usize];
    if !p.fields.is_empty() {
        return None;
    }
    let root = p.root;
    if !facts.is_shared_root(receiver) || event.locks.iter().any(|(_, m)| *m == LockMode::Exclusive)
    {
        return None;
    }
    let &(read_lock, _) = event
        .locks
        .iter()
        .find(|(l, mode)| *mode == LockMode::Read && facts.places[*l as usize].root == root)?;
    let callee = facts.resolve(&target.callee)?;
    let (writer, write) = unguarded_write(facts, callee, 0)?;
    let helper = &facts.funcs[callee as usize];
    let writer_func = &facts.funcs[writer as usize];
    let write_event = &writer_func.events[write];
    let EventKind::Access { place, .. } = write_event.kind else {
        return None;
    };
    let file = files[func.file as usize];
    let lock = facts.place_text(read_lock);
    let map = facts.place_text(place);
    let name = helper.name.rsplit('.').next().unwrap_or(&helper.name);
    let mut related = vec![Related {
        role: Role::ConflictingAccess,
        location: Location::new(files[writer_func.file as usize], write_event.span.clone()),
        message: format!("`{map}` written here, with no lock taken"),
    }];
    if let Some(at) = facts.lock_site(func, read_lock, event.span.start) {
        related.push(Related {
            role: Role::LockSite,
            location: Location::new(file, at),
            message: format!("only the read lock `{lock}` is taken here"),
        });
    }
    Some(Finding {
        location: Location::new(file, event.span.clone()),
        rule: ID,
        message: format!(
            "`{name}` writes map `{map}` and is called here while only the read lock `{lock}` \
             is held: other holders of the read lock can run it at the same time"
        ),
        label: format!("call under `{lock}.RLock()` of a method that writes `{map}`"),
        related,
        notes: vec![format!(
            "RLock admits any number of goroutines at once; it excludes only `{lock}.Lock()`"
        )],
        help: format!("take `{lock}.Lock()` (not RLock) before calling `{name}`"),
        package: facts.name.clone(),
        function: func.name.clone(),
        map: map.clone(),
        access: "write",
        confidence: Confidence::Medium,
        level: Level::Warning,
        fingerprint: String::new(),
        suppressed: None,
        confirmed: None,
    })
}

/// The first write of a receiver map that method `f` makes holding no lock at all,
/// directly or in the methods it calls on its receiver (holding none either): the function
/// and the event.
fn unguarded_write(facts: &PackageFacts, f: FuncId, depth: usize) -> Option<(FuncId, usize)> {
    let func = &facts.funcs[f as usize];
    let receiver = func.receiver?;
    for (e, event) in func.events.iter().enumerate() {
        if mutexes(&event.locks).next().is_some() {
            continue;
        }
        match &event.kind {
            EventKind::Access { place, op } if op.is_write() => {
                let p = &facts.places[*place as usize];
                if p.root == receiver && !p.fields.is_empty() {
                    return Some((f, e));
                }
            }
            EventKind::Call { target, .. } if depth < MAX_HELPER_DEPTH => {
                let on_receiver = target
                    .receiver
                    .is_some_and(|r| facts.places[r as usize].root == receiver);
                let callee = facts.resolve(&target.callee).filter(|&c| c != f);
                if let (true, Some(callee)) = (on_receiver, callee) {
                    if let Some(found) = unguarded_write(facts, callee, depth + 1) {
                        return Some(found);
                    }
                }
            }
            _ => {}
        }
    }
    None
}
