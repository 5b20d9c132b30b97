//! MG005 mutated-after-load: a map obtained from `atomic.Value` or `sync.Map` (or the gRPC
//! metadata of a context, from a gRPC that hands out the context's own map) written in
//! place, racing with every goroutine that loaded the same map.

use crate::finding::{Confidence, Finding, Level, Location, Related, Role};
use rustc_hash::FxHashMap;

use crate::index::{mutexes, Binding, EventKind, FuncId, LoadSource, PackageFacts};
use crate::source::SourceFile;

/// The rule's id.
pub const ID: &str = "MG005";

/// Reports every write, made with no lock held, to a map reached from a variable that holds
/// a value loaded from a concurrent container.
pub fn check(facts: &PackageFacts, files: &[&SourceFile]) -> Vec<Finding> {
    // Variables holding a loaded value that is itself a place (`m := v.Load().(map…)` is
    // `v.Load().(map…)`, `next := *p.Load()` is `p`), by function.
    let mut aliased: FxHashMap<FuncId, Vec<&Binding>> = FxHashMap::default();
    for b in &facts.bindings {
        if let (Some(func), Some(_), Some(_)) = (b.func, b.alias, &b.loaded_from) {
            aliased.entry(func).or_default().push(b);
        }
    }
    let mut out = Vec::new();
    for (id, func) in facts.funcs.iter().enumerate() {
        let file = files[func.file as usize];
        for event in &func.events {
            let EventKind::Access { place, op } = event.kind else {
                continue;
            };
            if !op.is_write() || mutexes(&event.locks).next().is_some() {
                continue;
            }
            let root = &facts.bindings[facts.places[place as usize].root as usize];
            // The variable the code names the loaded map by (`perms := v.(map…)`).
            let holder = aliased
                .get(&(id as FuncId))
                .and_then(|holders| {
                    holders
                        .iter()
                        .find(|b| b.alias.is_some_and(|a| facts.place_within(place, a)))
                        .and_then(|b| Some((b.name.clone(), b.loaded_from.as_ref()?)))
                })
                .or_else(|| Some((facts.place_text(place), root.loaded_from.as_ref()?)));
            let Some((map, load)) = holder else {
                continue;
            };
            let load = load.clone();
            let call = file.text[load.span.clone()].to_string();
            let (message, note, help) = match load.from {
                LoadSource::Container => (
                    format!(
                        "map `{map}` is written in place, but it came from `{call}`: every \
                         goroutine that loads it holds this same map, so the write races with \
                         them"
                    ),
                    "the container's Load and Store are atomic; the plain map inside is not"
                        .to_string(),
                    "copy on write: copy the map (`maps.Clone`), change the copy, then `Store` \
                     it; serialize the writers with a mutex",
                ),
                LoadSource::Metadata(grpc) => (
                    format!(
                        "gRPC metadata `{map}` is written in place, but it came from `{call}`: \
                         the context holds this same map, so the write races with every other \
                         goroutine using the context (interceptors, handlers, calls made with \
                         it)"
                    ),
                    match grpc {
                        Some((major, minor)) => format!(
                            "the module requires gRPC v{major}.{minor}, whose getter returns \
                             the context's own map, not a copy (the returned MD \"should not be \
                             modified\")"
                        ),
                        None => "gRPC versions before 1.39 return the context's own map, not a \
                                 copy (the returned MD \"should not be modified\"); the module's \
                                 gRPC version is not known"
                            .to_string(),
                    },
                    "modify a copy (`md = md.Copy()`) and attach it with \
                     `metadata.NewOutgoingContext`, or use `metadata.AppendToOutgoingContext`",
                ),
            };
            out.push(Finding {
                location: Location::new(file, event.span.clone()),
                rule: ID,
                message,
                label: format!("write to the loaded map `{map}`"),
                related: vec![Related {
                    role: Role::LoadSite,
                    location: Location::new(file, load.span),
                    message: "the map is loaded here, shared with every other loader".into(),
                }],
                notes: vec![note],
                help: help.into(),
                package: facts.name.clone(),
                function: func.name.clone(),
                map,
                access: "write",
                confidence: Confidence::Medium,
                level: Level::of(Confidence::Medium),
                fingerprint: String::new(),
                suppressed: None,
                confirmed: None,
            });
        }
    }
    out
}
