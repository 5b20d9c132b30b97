//! Which locks held at two accesses may be one mutex. The same place is; so is the same
//! mutex field of two objects of one type (`d.mu` held by the caller, `s.db.mu` taken in
//! the goroutine) when the map itself belongs to an object of that type
//! (`s.db.mu.compact.inProgress`): without alias analysis the two objects cannot be told
//! apart, and the code locking "the DB's mutex" around "the DB's map" is the convention
//! to trust. Locks of other objects' types (each connection's own `c.mu` around a server
//! map) and of struct copies (`backup := t` has a mutex of its own, and so has a shallow
//! clone) stay distinct.

use crate::index::{PackageFacts, TypeInfo};

use super::program::{Program, ProgramPlaceId};

/// The struct type owning a lock and the lock's field under it: `d.mu` of a `*DB` is
/// `("DB", "mu")`; a mutex embedded in `s` (`s.Lock()`) is `("S", "")`.
fn lock_key(
    program: &Program,
    facts: &PackageFacts,
    lock: ProgramPlaceId,
) -> Option<(String, String)> {
    let types = path_types(program, facts, lock);
    let p = &program.places[lock as usize];
    let (owner, field) = match p.fields.split_last() {
        Some((last, _)) => (
            &types[types.len() - 2],
            program.field_name(*last).to_string(),
        ),
        None => (&types[0], String::new()),
    };
    match owner {
        TypeInfo::Named(ty) => Some((ty.clone(), field)),
        _ => None,
    }
}

/// The type at each prefix of a place's path: the root's, then after each field.
fn path_types(program: &Program, facts: &PackageFacts, place: ProgramPlaceId) -> Vec<TypeInfo> {
    let p = &program.places[place as usize];
    let mut ty = facts.bindings[p.root as usize].ty.clone();
    let mut out = vec![ty.clone()];
    for field in &p.fields {
        ty = match &ty {
            TypeInfo::Named(name) => facts.decls.field_type(name, program.field_name(*field)),
            _ => TypeInfo::Unknown,
        };
        out.push(ty.clone());
    }
    out
}

/// Whether locks `a` and `b`, held around accesses to `map`, may be one mutex.
pub fn same_mutex(
    program: &Program,
    facts: &PackageFacts,
    map: ProgramPlaceId,
    a: ProgramPlaceId,
    b: ProgramPlaceId,
) -> bool {
    if a == b {
        return true;
    }
    // A struct copy's mutex is its own (`backup := t`), and so is that of a struct built
    // around another's storage that guards it (`flags := global.Clone()` returning
    // `&Flags{values: f.values}`: `flags.mu` around `global.values`): only itself.
    let map_root = program.places[map as usize].root;
    let copied = |l: ProgramPlaceId| {
        let root_id = program.places[l as usize].root;
        let root = &facts.bindings[root_id as usize];
        root.by_value || root.copy_of.is_some() || (root.shallow_copy && root_id != map_root)
    };
    if copied(a) || copied(b) {
        return false;
    }
    let Some(key) = lock_key(program, facts, a) else {
        return false;
    };
    if lock_key(program, facts, b).as_ref() != Some(&key) {
        return false;
    }
    // The map belongs to an object of the lock's type.
    let owners = path_types(program, facts, map);
    owners[..owners.len() - 1]
        .iter()
        .any(|t| matches!(t, TypeInfo::Named(n) if *n == key.0))
}
