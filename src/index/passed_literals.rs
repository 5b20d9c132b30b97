//! Binds the parameters of function literals to what the function they are handed to
//! passes them, once every body is walked: in `s.each(func(c *conn) { c.subs[k] = v })`,
//! where `each` calls `fn(c)` for each `c` of `s.conns`, the literal's `c` is an element of
//! `s.conns`, seen from the call (`Binding::bound_to`). Only what the caller can name is
//! bound: the callee's receiver, parameters and package variables, and fields and elements
//! below them; not the callee's own locals. Parameters bound while walking (the callee
//! passes its own parameters, `index::param_calls`) keep that binding.

use super::lock_helpers::map_place;
use super::{BindingId, EventKind, PackageFacts, Place, PlaceId};

/// Sets `bound_to` of literal parameters from the calls of their callees.
pub fn apply(facts: &mut PackageFacts) {
    let mut bound: Vec<(BindingId, PlaceId)> = Vec::new();
    for f in 0..facts.funcs.len() {
        for e in 0..facts.funcs[f].events.len() {
            let EventKind::Call {
                target, literals, ..
            } = &facts.funcs[f].events[e].kind
            else {
                continue;
            };
            if literals.is_empty() {
                continue;
            }
            let Some(callee) = facts.resolve(&target.callee) else {
                continue;
            };
            let (target, literals) = (target.clone(), literals.clone());
            let runs = facts.funcs[callee as usize].lock_effect.runs_params.clone();
            for (index, _, params) in &literals {
                let mut called = runs.iter().filter(|r| r.param == *index);
                // Called once, or always with the same places: each argument is one thing.
                let Some(run) = called.next() else { continue };
                if called.any(|other| other.args != run.args) {
                    continue;
                }
                for (param, arg) in params.iter().zip(&run.args) {
                    let (Some(param), Some(arg)) = (param, arg) else {
                        continue;
                    };
                    let binding = &facts.bindings[*param as usize];
                    if binding.alias.is_some() || binding.bound_to.is_some() {
                        continue;
                    }
                    let arg = element_place(facts, *arg);
                    let Some(place) = map_place(facts, callee, &target, arg) else {
                        continue;
                    };
                    let root = facts.places[place as usize].root;
                    if facts.bindings[root as usize].func != Some(callee) {
                        bound.push((*param, place));
                    }
                }
            }
        }
    }
    for (param, place) in bound {
        facts.bindings[param as usize].bound_to.get_or_insert(place);
    }
}

/// A range loop's variable handed on (`for _, c := range s.conns { fn(c) }`) as the
/// abstract element of what it ranges over (`s.conns[…]`).
fn element_place(facts: &mut PackageFacts, place: PlaceId) -> PlaceId {
    let p = facts.places[place as usize].clone();
    let Some(element) = facts.bindings[p.root as usize].element_of else {
        return place;
    };
    let mut at = facts.places[element as usize].clone();
    at.fields.extend(p.fields);
    facts.intern_place(Place {
        root: at.root,
        fields: at.fields,
    })
}
