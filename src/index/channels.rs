//! Maps handed over channels: after every body is walked, a variable that receives from a
//! channel (`m := <-ch`, `for m := range ch`, `case m := <-ch`) is made to stand for the
//! map sent on it (`ch <- m`), wherever the send is. A channel that is a field of a struct
//! declared in the package is one channel wherever it is reached from (`s.ch` in the method
//! that sends, `srv.ch` in the goroutine that receives), as map fields are; a channel
//! parameter is the one its callers pass, and a channel field the one the variable holding
//! the struct set it from (`b := NewBatcher(out)`): a map a method sends on its own field
//! (`b.out <- b.pending`) is that variable's (`b.pending`). Whether the hand-off orders the
//! two sides is the concurrency analysis' business (a send happens before its receive).

use std::collections::{BTreeSet, HashMap};

use super::types::TypeInfo;
use super::{BindingId, EventKind, PackageFacts, Place, PlaceId, Target};

/// Which channel a place names: a field path from a value of a named struct type is the
/// same channel through every variable; any other place is its own channel.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Channel<'a> {
    Field(&'a str, &'a [String]),
    Place(PlaceId),
}

fn channel<'f>(
    facts: &'f PackageFacts,
    bound: &HashMap<BindingId, PlaceId>,
    held: &FieldHolders,
    mut place: PlaceId,
) -> Channel<'f> {
    // A channel parameter is the channel its callers pass (`go produce(batches)`), and a
    // channel field the one every variable holding the struct set it from.
    for _ in 0..MAX_PARAM_HOPS {
        let Place { root, fields } = &facts.places[place as usize];
        match (bound.get(root), held_field(facts, held, place)) {
            (Some(&arg), _) if fields.is_empty() => place = arg,
            (_, Some((_, chan))) => place = chan,
            _ => break,
        }
    }
    let Place { root, fields } = &facts.places[place as usize];
    match &facts.bindings[*root as usize].ty {
        TypeInfo::Named(ty) if !fields.is_empty() => Channel::Field(ty, fields),
        _ => Channel::Place(place),
    }
}

/// For a channel field of a struct type of the package, the one variable holding such a
/// struct that sets it, and the channel it sets it from (`b := NewBatcher(out)` storing
/// its parameter in `out`, `b := &Batcher{out: out}`); absent when several do.
type FieldHolders = HashMap<(String, String), (BindingId, PlaceId)>;

fn field_holders(facts: &PackageFacts) -> FieldHolders {
    let mut found: HashMap<(String, String), Option<(BindingId, PlaceId)>> = HashMap::new();
    for (b, binding) in facts.bindings.iter().enumerate() {
        let TypeInfo::Named(ty) = &binding.ty else {
            continue;
        };
        for (field, chan) in &binding.field_aliases {
            if field.contains('.') || !matches!(facts.place_type(*chan), TypeInfo::Chan(_)) {
                continue;
            }
            let holder = Some((b as BindingId, *chan));
            let slot = found.entry((ty.clone(), field.clone())).or_insert(holder);
            if *slot != holder {
                *slot = None;
            }
        }
    }
    found
        .into_iter()
        .filter_map(|(key, holder)| Some((key, holder?)))
        .collect()
}

/// The holder and channel of a place that selects one channel field of a struct (`b.out`).
fn held_field(
    facts: &PackageFacts,
    held: &FieldHolders,
    place: PlaceId,
) -> Option<(BindingId, PlaceId)> {
    let Place { root, fields } = &facts.places[place as usize];
    let [field] = &fields[..] else {
        return None;
    };
    let TypeInfo::Named(ty) = &facts.bindings[*root as usize].ty else {
        return None;
    };
    held.get(&(ty.clone(), field.clone())).copied()
}

/// A map a method sends on a channel field of its own receiver (`b.out <- b.pending` in
/// `flush`), as the variable holding that struct names it (`b.pending` of `b :=
/// NewBatcher(out)`): the receiving goroutine reaches it through that variable.
fn sent_by_holder(
    facts: &mut PackageFacts,
    held: &FieldHolders,
    chan: PlaceId,
    value: PlaceId,
) -> PlaceId {
    let Some((holder, _)) = held_field(facts, held, chan) else {
        return value;
    };
    let (sender, fields) = (
        facts.places[chan as usize].root,
        facts.places[value as usize].fields.clone(),
    );
    if facts.places[value as usize].root != sender || facts.bindings[holder as usize].func.is_none()
    {
        return value;
    }
    facts.intern_place(Place {
        root: holder,
        fields,
    })
}

/// The sent storage's root `sent` as the receiving variable's function sees it: a
/// receiver of the sending method is the receiving method's own receiver when both are
/// methods of one type (the channel is a field of that type: one object sends to itself,
/// `s.out <- Batch{Samples: s.pending}` in `flush`, `range s.out` in `sendLoop`).
fn same_receiver(facts: &PackageFacts, sent: BindingId, receiving: BindingId) -> BindingId {
    let method_receiver = |b: BindingId| {
        let f = facts.bindings[b as usize].func?;
        facts.funcs[f as usize].receiver
    };
    let (Some(sender), Some(own)) = (
        method_receiver(sent).filter(|&r| r == sent),
        method_receiver(receiving),
    ) else {
        return sent;
    };
    let ty = |b: BindingId| match &facts.bindings[b as usize].ty {
        TypeInfo::Named(t) => Some(t),
        _ => None,
    };
    if ty(sender).is_some() && ty(sender) == ty(own) {
        own
    } else {
        sent
    }
}

/// The variable a receive reads a channel field of (`x` of `range x.out`), when the map
/// sent on that field is a field of the sending method's receiver of the same type
/// (`b.out <- b.pending` in `flush`): the map received is that variable's (`x.pending`).
fn holder_of_sent(
    facts: &PackageFacts,
    bound: &HashMap<BindingId, PlaceId>,
    mut from: PlaceId,
    map: PlaceId,
) -> Option<BindingId> {
    // A channel parameter is what its callers pass (`go s.consume(b.out)`).
    for _ in 0..MAX_PARAM_HOPS {
        let Place { root, fields } = &facts.places[from as usize];
        match bound.get(root) {
            Some(&arg) if fields.is_empty() => from = arg,
            _ => break,
        }
    }
    let Place { root, fields } = &facts.places[from as usize];
    let sender = facts.places[map as usize].root;
    let sending = facts.bindings[sender as usize].func?;
    let ty = |b: BindingId| match &facts.bindings[b as usize].ty {
        TypeInfo::Named(t) => Some(t),
        _ => None,
    };
    (fields.len() == 1
        && facts.funcs[sending as usize].receiver == Some(sender)
        && *root != sender
        && ty(*root).is_some()
        && ty(*root) == ty(sender))
    .then_some(*root)
}

/// Whether a place's variable is declared inside a loop: a new one in every iteration.
fn in_loop(facts: &PackageFacts, place: PlaceId) -> bool {
    let binding = &facts.bindings[facts.places[place as usize].root as usize];
    binding.func.is_some_and(|f| {
        facts.funcs[f as usize]
            .ctl
            .loops_around(binding.ctl)
            .next()
            .is_some()
    })
}

/// How many parameters a channel is followed through to the variable its callers pass.
const MAX_PARAM_HOPS: usize = 4;

/// The channel-typed parameters of the package's functions that every call and `go`
/// statement naming the function binds to the same place.
fn bound_channel_params(facts: &PackageFacts) -> HashMap<BindingId, PlaceId> {
    let mut bound: HashMap<BindingId, Option<PlaceId>> = HashMap::new();
    for event in facts.funcs.iter().flat_map(|f| &f.events) {
        let (EventKind::Call { target, .. } | EventKind::Spawn { target, .. }) = &event.kind else {
            continue;
        };
        let Some(callee) = facts.resolve(&target.callee) else {
            continue;
        };
        let params = &facts.funcs[callee as usize].params;
        for (param, arg) in params.iter().zip(&target.args) {
            let Some(param) = *param else { continue };
            if !matches!(facts.bindings[param as usize].ty, TypeInfo::Chan(_)) {
                continue;
            }
            let slot = bound.entry(param).or_insert(*arg);
            if *slot != *arg {
                *slot = None;
            }
        }
    }
    bound
        .into_iter()
        .filter_map(|(param, arg)| Some((param, arg?)))
        .collect()
}

/// Rewrites the places rooted at a receiving variable to the map its channel carries, when
/// the package sends exactly one map on that channel.
pub fn apply(facts: &mut PackageFacts) {
    if facts.sent.is_empty() && facts.sent_fields.is_empty() {
        return;
    }
    let bound = bound_channel_params(facts);
    let held = field_holders(facts);
    // A map declared inside a loop is a new map in every iteration: the receiver holds many
    // maps, not the one the place names, so it is not followed (`None`).
    let sent: Vec<(PlaceId, Option<PlaceId>)> = facts
        .sent
        .clone()
        .into_iter()
        .map(|(chan, value)| {
            let renewed = in_loop(facts, value) || facts.renewed.contains(&value);
            (
                chan,
                (!renewed).then(|| sent_by_holder(facts, &held, chan, value)),
            )
        })
        .collect();
    // What each channel carries: a map, or `None` for a new map every iteration.
    let mut carried: HashMap<Channel, BTreeSet<Option<PlaceId>>> = HashMap::new();
    for (chan, value) in sent {
        carried
            .entry(channel(facts, &bound, &held, chan))
            .or_default()
            .insert(value);
    }
    let received: Vec<(BindingId, PlaceId, Option<BindingId>)> = facts
        .bindings
        .iter()
        .enumerate()
        .filter_map(|(b, binding)| {
            let from = binding.received_from?;
            let sent = carried.get(&channel(facts, &bound, &held, from))?;
            let &[Some(map)] = &sent.iter().copied().collect::<Vec<_>>()[..] else {
                return None;
            };
            (facts.places[map as usize].root != b as BindingId).then(|| {
                (
                    b as BindingId,
                    map,
                    holder_of_sent(facts, &bound, from, map),
                )
            })
        })
        .collect();
    // What each channel carries in the fields of struct literals, when it carries one
    // literal's fields only.
    let mut literals: HashMap<Channel, Vec<&Vec<(String, PlaceId)>>> = HashMap::new();
    for (chan, fields) in &facts.sent_fields {
        literals
            .entry(channel(facts, &bound, &held, *chan))
            .or_default()
            .push(fields);
    }
    let field_receivers: HashMap<BindingId, Vec<(String, PlaceId)>> = facts
        .bindings
        .iter()
        .enumerate()
        .filter_map(|(b, binding)| {
            let chan = channel(facts, &bound, &held, binding.received_from?);
            let &[fields] = &literals.get(&chan)?[..] else {
                return None;
            };
            let renewed = fields.iter().any(|(_, p)| facts.renewed.contains(p));
            (!carried.contains_key(&chan)
                && !fields.iter().any(|&(_, p)| in_loop(facts, p))
                && !renewed)
                .then(|| (b as BindingId, fields.clone()))
        })
        .collect();
    let receivers: HashMap<BindingId, PlaceId> = received
        .into_iter()
        .map(|(b, map, holder)| match holder {
            Some(root) => {
                let fields = facts.places[map as usize].fields.clone();
                (b, facts.intern_place(Place { root, fields }))
            }
            None => (b, map),
        })
        .collect();
    if receivers.is_empty() && field_receivers.is_empty() {
        return;
    }
    let mut remap: Vec<PlaceId> = (0..facts.places.len() as PlaceId).collect();
    for (id, slot) in remap.iter_mut().enumerate() {
        let place = &facts.places[id];
        if let Some(&map) = receivers.get(&place.root) {
            let mut fields = facts.places[map as usize].fields.clone();
            fields.extend(place.fields.iter().cloned());
            let root = same_receiver(facts, facts.places[map as usize].root, place.root);
            *slot = facts.intern_place(Place { root, fields });
        } else if let Some(aliases) = field_receivers.get(&place.root) {
            // `b.Samples` of a received `Batch{Samples: s.pending}` is `s.pending`.
            let Some(first) = place.fields.first() else {
                continue;
            };
            let Some(&(_, alias)) = aliases.iter().find(|(f, _)| f == first) else {
                continue;
            };
            let mut fields = facts.places[alias as usize].fields.clone();
            fields.extend(place.fields[1..].iter().cloned());
            let root = same_receiver(facts, facts.places[alias as usize].root, place.root);
            *slot = facts.intern_place(Place { root, fields });
        }
    }
    let map = |p: &mut PlaceId| *p = remap[*p as usize];
    let target = |t: &mut Target| {
        t.receiver.iter_mut().for_each(map);
        t.args.iter_mut().flatten().for_each(map);
    };
    for func in &mut facts.funcs {
        for event in &mut func.events {
            match &mut event.kind {
                EventKind::Access { place, .. } => map(place),
                EventKind::Spawn { target: t, .. } | EventKind::Call { target: t, .. } => target(t),
                _ => {}
            }
        }
        func.returns.iter_mut().for_each(|r| map(&mut r.place));
    }
    for binding in &mut facts.bindings {
        binding.alias.iter_mut().for_each(map);
        binding.func_value.iter_mut().for_each(target);
    }
    facts.escapes.iter_mut().for_each(|e| target(&mut e.target));
}
