//! MG007 lock-on-copy: a map accessed while holding the mutex of a struct copy (a value
//! receiver, a struct passed by value, `c := *p`): the copy's mutex is its own, the map is
//! shared, so the lock excludes nobody.

use crate::finding::{Confidence, Finding, Level, Location, Related, Role};
use crate::index::{mutexes, BindingId, EventKind, PackageFacts, TypeInfo};
use crate::source::SourceFile;

/// The rule's id.
pub const ID: &str = "MG007";

/// Reports every map access made holding only locks of struct copies, where the map is
/// not itself part of the copy's own storage.
pub fn check(facts: &PackageFacts, files: &[&SourceFile]) -> Vec<Finding> {
    let mut out = Vec::new();
    for func in &facts.funcs {
        let file = files[func.file as usize];
        for event in &func.events {
            let EventKind::Access { place, op } = event.kind else {
                continue;
            };
            // The copy's lock that is held, if every lock held is a copy's.
            let copies: Vec<(u32, BindingId)> = event
                .locks
                .iter()
                .filter_map(|&(l, _)| {
                    let root = facts.places[l as usize].root;
                    facts.bindings[root as usize].copy_of.map(|c| (l, c))
                })
                .collect();
            let Some(&(lock, copied)) = copies.first() else {
                continue;
            };
            if copies.len() < mutexes(&event.locks).count() {
                continue;
            }
            let copy = &facts.bindings[copied as usize];
            let map = facts.place_text(place);
            // An embedded mutex is locked through the struct itself (`c.Lock()`).
            let lock_text = if facts.places[lock as usize].fields.is_empty() {
                format!("the mutex embedded in `{}`", copy.name)
            } else {
                format!("`{}`", facts.place_text(lock))
            };
            let (what, verb) = if op.is_write() {
                ("write", "written")
            } else {
                ("read", "read")
            };
            let how = if copy.param && func.receiver == Some(copied) {
                "a value receiver"
            } else if copy.param {
                "a parameter passed by value"
            } else {
                "a copy of the struct"
            };
            let mut related = Vec::new();
            if let Some(site) = facts.lock_site(func, lock, event.span.start) {
                related.push(Related {
                    role: Role::LockSite,
                    location: Location::new(file, site),
                    message: format!("locks the copy's own mutex: {lock_text}"),
                });
            }
            let confidence = if op.is_write() {
                Confidence::High
            } else {
                Confidence::Medium
            };
            let declared = Location::new(file, copy.offset..copy.offset + copy.name.len());
            out.push(Finding {
                location: Location::first_line(file, event.span.clone()),
                rule: ID,
                message: format!(
                    "map `{map}` is {verb} holding {lock_text}, but `{}` is {how}: every \
                     call locks a mutex of its own, while the map is shared by every copy, so \
                     the lock excludes no other {what}",
                    copy.name
                ),
                label: format!("{what} guarded by a copied mutex"),
                related,
                notes: vec![
                    format!(
                        "`{}` is declared at line {}; copying a struct copies its mutex but \
                         not its maps",
                        copy.name, declared.start.line
                    ),
                    "go vet's copylocks check reports the copy itself".into(),
                ],
                help: if func.receiver == Some(copied) {
                    format!(
                        "use a pointer receiver (`*{}`) so that every call locks the same mutex",
                        type_name(facts, copied)
                    )
                } else {
                    "pass and keep a pointer to the struct, so that every user locks the same \
                     mutex"
                        .into()
                },
                package: facts.name.clone(),
                function: func.name.clone(),
                map,
                access: what,
                confidence,
                level: Level::of(confidence),
                fingerprint: String::new(),
                suppressed: None,
                confirmed: None,
            });
        }
    }
    out
}

/// The struct type name of a binding, as a receiver type is written.
fn type_name(facts: &PackageFacts, binding: BindingId) -> String {
    match &facts.bindings[binding as usize].ty {
        TypeInfo::Named(name) => name.clone(),
        _ => "T".into(),
    }
}
