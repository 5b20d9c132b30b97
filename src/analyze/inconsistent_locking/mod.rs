//! MG003 inconsistent-map-locking: a map field guarded by a mutex in some methods and
//! accessed without it in another (the reasoning of RacerD for Java classes).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use crate::finding::{Confidence, Finding, Level, Location, Related, Role};
use crate::index::{
    is_exported, mutexes, place_text, BindingId, EventKind, FuncId, LockMode, PackageFacts,
    PlaceId, TypeInfo, ELEMENT,
};
use crate::source::SourceFile;

mod callers;
mod setup;

use callers::{
    caller_locks, literal_call_locks, literal_owners, stored_literal_call_locks, CallerLocks,
    ReceiverLock,
};
use setup::SetupPhase;

/// The rule's id.
pub const ID: &str = "MG003";

/// A mutex as seen from a method: a field path of the receiver (empty for an embedded
/// mutex locked as `s.Lock()`), or a package variable.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Guard {
    Receiver(Vec<String>),
    Global(BindingId),
}

/// The evidence for an inferred guard, as counted.
#[derive(Debug, Clone, Copy)]
enum Support {
    /// Held at this many of so many accesses (a majority).
    Sites(usize, usize),
    /// Held at every write: this many writes, in so many functions (at least two).
    Writes(usize, usize),
    /// Held somewhere in this many of so many functions touching the field (a majority).
    Functions(usize, usize),
}

/// One access to a struct's map field through a method's receiver.
struct Site {
    func: FuncId,
    event: usize,
    write: bool,
    /// How many fields of the access's place lead to the struct owning the map.
    prefix: usize,
    guards: CallerLocks,
    /// The owner's latches held (`s.closed` set, or checked with an early return, under a
    /// lock).
    latches: HashSet<Guard>,
}

/// The struct value owning an accessed map field, however the access reaches it: through a
/// method's receiver (`s.items`), a parameter, a local or a package variable (`db.chans`),
/// possibly several fields down (`c.acc.keys` is `keys` of the `Account` at `c.acc`).
struct Owner {
    /// The owner's struct type.
    ty: String,
    /// The variable the access starts from.
    root: BindingId,
    /// The fields from that variable to the owner.
    prefix: Vec<String>,
}

impl Owner {
    /// What the callers provide: for a method's receiver, what every caller holds (rebased
    /// onto the owner), everything for a decoding hook's; an object still being built, or
    /// a parameter of an unexported function or of a `…Locked` one (whose callers may hold
    /// its lock), counts as guarded; anything else, nothing. An object is being built only
    /// in the function that makes it (`at`), not in a closure that function hands on: a
    /// callback may run once the object is shared.
    fn callers(&self, facts: &PackageFacts, callers: &[CallerLocks], at: FuncId) -> CallerLocks {
        let binding = &facts.bindings[self.root as usize];
        let Some(func) = binding.func else {
            return CallerLocks::Some(HashSet::new());
        };
        let f = &facts.funcs[func as usize];
        if f.receiver == Some(self.root) && decodes_into_receiver(&f.name) {
            return CallerLocks::All;
        }
        if f.receiver == Some(self.root) {
            return match &callers[func as usize] {
                CallerLocks::All => CallerLocks::All,
                CallerLocks::Some(held) => CallerLocks::Some(
                    held.iter()
                        .filter_map(|g| match g {
                            Guard::Receiver(p) => p
                                .strip_prefix(self.prefix.as_slice())
                                .map(|rest| Guard::Receiver(rest.to_vec())),
                            Guard::Global(_) => Some(g.clone()),
                        })
                        .collect(),
                ),
            };
        }
        let being_built = !binding.param && binding.fresh && binding.alias.is_none() && func == at;
        // A parameter of an unexported function, or of one whose name or doc says its
        // callers hold the lock (`EvictExpiredLocked(group)`: "caller must hold group.Mu").
        let helper_param = binding.param && (!is_exported(&f.name) || f.assumes_lock);
        if being_built || helper_param {
            CallerLocks::All
        } else {
            CallerLocks::Some(HashSet::new())
        }
    }
}

/// Whether a method is a decoding hook (`json.Unmarshaler`, `encoding.TextUnmarshaler`,
/// `gob.GobDecoder`, …): its decoder calls it to fill a value being built, which no other
/// goroutine has yet.
fn decodes_into_receiver(name: &str) -> bool {
    let method = name.rsplit('.').next().unwrap_or(name);
    matches!(
        method,
        "UnmarshalJSON"
            | "UnmarshalText"
            | "UnmarshalBinary"
            | "UnmarshalYAML"
            | "UnmarshalTOML"
            | "UnmarshalXML"
            | "UnmarshalMsgpack"
            | "GobDecode"
    )
}

/// An unguarded read MG003 reports, with the writes of the field that need the guard: the
/// race analysis may show every one of them ordered with the read (phases of one
/// function separated by a join), and then the read needs no lock.
pub struct ReadAgainstWrites {
    /// The read: (function, event).
    pub read: (FuncId, usize),
    /// The writes that are not excused (an object still being built).
    pub writes: Vec<(FuncId, usize)>,
}

/// Reports the accesses to a map field that skip the mutex guarding it elsewhere: the
/// findings, each unguarded read with its writes.
pub fn check(
    facts: &PackageFacts,
    files: &[&SourceFile],
) -> Vec<(Finding, Option<ReadAgainstWrites>)> {
    let confined = confined_to_one_goroutine(facts);
    let literal_calls = literal_call_locks(facts);
    let on_goroutine = unlocked_on_goroutine(facts);
    let owners = literal_owners(facts);
    let setup = SetupPhase::new(facts);
    let callers = caller_locks(facts, &literal_calls, &owners, &setup);
    let stored_calls = stored_literal_call_locks(facts, &owners, &callers);
    let mut fields: BTreeMap<(String, Vec<String>), Vec<Site>> = BTreeMap::new();
    for (f, func) in facts.funcs.iter().enumerate() {
        // Tests set up and inspect objects directly, on one goroutine, by design: their
        // accesses are neither evidence of a locking discipline nor breaches of it.
        if files[func.file as usize]
            .display_path()
            .ends_with("_test.go")
        {
            continue;
        }
        for (e, event) in func.events.iter().enumerate() {
            let EventKind::Access { place, op } = event.kind else {
                continue;
            };
            let Some(owner) = owner_of(facts, place).or_else(|| package_map(facts, place)) else {
                continue;
            };
            let mut held = owner_guards(facts, &owner, &event.locks, false);
            let mut latches = owner_guards(facts, &owner, &event.locks, true);
            if let Some(at_calls) = literal_calls.get(&(f as FuncId)) {
                held.extend(owner_guards(facts, &owner, at_calls, false));
                latches.extend(owner_guards(facts, &owner, at_calls, true));
            }
            if let Some(at_calls) = stored_calls.get(&(f as FuncId)) {
                held.extend(holder_guards(facts, &owner, f as FuncId, at_calls, false));
                latches.extend(holder_guards(facts, &owner, f as FuncId, at_calls, true));
            }
            // What a starting method does to its receiver before its first goroutine is
            // set-up (see `setup`).
            let method = owners.get(&(f as FuncId)).copied().unwrap_or(f as FuncId);
            let setting_up = facts.funcs[method as usize].receiver == Some(owner.root)
                && setup.before_start(facts, method, f as FuncId, e);
            // A package map: what the function's callers hold (a `…Locked` helper's
            // callers hold everything); `init` runs before any goroutine.
            let from_callers = match owner.ty.starts_with(PACKAGE_MAP) {
                true if func.name == "init" => CallerLocks::All,
                true => callers[f].clone(),
                false if setting_up => CallerLocks::All,
                false => owner.callers(facts, &callers, f as FuncId),
            };
            let guards = match from_callers {
                CallerLocks::All => CallerLocks::All,
                CallerLocks::Some(from_callers) => {
                    held.extend(from_callers);
                    CallerLocks::Some(held)
                }
            };
            let path = facts.places[place as usize].fields[owner.prefix.len()..].to_vec();
            fields
                .entry((owner.ty.clone(), path))
                .or_default()
                .push(Site {
                    func: f as FuncId,
                    event: e,
                    write: op.is_write(),
                    prefix: owner.prefix.len(),
                    guards,
                    latches,
                });
        }
    }
    let mut out = Vec::new();
    for ((ty, path), sites) in fields {
        let Some((guard, declared)) = field_guard(facts, &ty, &path, &sites) else {
            continue;
        };
        let holds = |s: &Site| match &s.guards {
            CallerLocks::All => true,
            CallerLocks::Some(g) => g.contains(&guard),
        };
        // An inferred guard needs evidence: it is held at most of the field's accesses, or
        // in most of the functions touching it (one function reading the field six times
        // without it is one vote), or at every write, in at least two functions. Accesses
        // that need no lock (an object still being built, a helper's parameter) are no
        // evidence either way.
        let evidence: Vec<&Site> = sites
            .iter()
            .filter(|s| s.guards != CallerLocks::All)
            .collect();
        let guarded = evidence.iter().filter(|s| holds(s)).count();
        let guarded_writes = evidence.iter().filter(|s| holds(s) && s.write).count();
        let funcs: BTreeSet<FuncId> = evidence.iter().map(|s| s.func).collect();
        let guarded_funcs: BTreeSet<FuncId> = evidence
            .iter()
            .filter(|s| holds(s))
            .map(|s| s.func)
            .collect();
        let writers: BTreeSet<FuncId> = evidence
            .iter()
            .filter(|s| s.write)
            .map(|s| s.func)
            .collect();
        let writes_guarded =
            writers.len() >= 2 && evidence.iter().filter(|s| s.write).all(|s| holds(s));
        let support = if 2 * guarded > evidence.len() {
            Support::Sites(guarded, evidence.len())
        } else if writes_guarded {
            Support::Writes(guarded_writes, writers.len())
        } else if 2 * guarded_funcs.len() > funcs.len() {
            Support::Functions(guarded_funcs.len(), funcs.len())
        } else if declared {
            Support::Sites(guarded, evidence.len())
        } else {
            continue;
        };
        let example = sites
            .iter()
            .find(|s| holds(s) && s.write)
            .or_else(|| sites.iter().find(|s| holds(s)));
        // An unguarded write races with the guarded accesses; an unguarded read only with
        // guarded writes. One report per line: `s.m[k] = append(s.m[k], v)` is one missing
        // lock, reported at its write.
        // An access holding a latch every write holds too is ordered with them: the writers
        // check the flag under the lock and write nothing once it is set.
        let latched = |s: &Site| {
            s.latches.iter().any(|l| {
                sites
                    .iter()
                    .filter(|w| w.write)
                    .all(|w| w.guards == CallerLocks::All || w.latches.contains(l))
            })
        };
        // A read on the one goroutine that makes every write of a receiver's field (a
        // cleaner that alone deletes and reads) cannot meet a write.
        let writer_reads = |s: &Site| {
            !s.write
                && !ty.starts_with(PACKAGE_MAP)
                && confined[s.func as usize].is_some()
                && sites
                    .iter()
                    .filter(|w| w.write)
                    .all(|w| confined[w.func as usize] == confined[s.func as usize])
        };
        // An access sharing a mutex with every access it conflicts with (a read with every
        // write, a write with every other access) is ordered with them whatever the guard:
        // `Update` holding `updateMtx`, which every write holds too, reads safely without
        // `endpointsMtx`.
        let common_lock = |s: &Site| {
            let CallerLocks::Some(held) = &s.guards else {
                return true;
            };
            held.iter().any(|g| {
                sites
                    .iter()
                    .filter(|o| !std::ptr::eq(*o, s) && (s.write || o.write))
                    .all(|o| match &o.guards {
                        CallerLocks::All => true,
                        CallerLocks::Some(h) => h.contains(g),
                    })
            })
        };
        let mut unguarded: Vec<(u32, u32, bool, &Site)> = sites
            .iter()
            .filter(|s| {
                !holds(s)
                    && !latched(s)
                    && !writer_reads(s)
                    && !common_lock(s)
                    && (s.write || guarded_writes > 0 || declared)
            })
            .map(|s| {
                let func = &facts.funcs[s.func as usize];
                let start = func.events[s.event].span.start;
                let line = files[func.file as usize].line_col(start).line;
                (func.file, line, !s.write, s)
            })
            .collect();
        unguarded.sort_by_key(|&(file, line, read, _)| (file, line, read));
        unguarded.dedup_by_key(|&mut (file, line, _, _)| (file, line));
        for (_, _, _, site) in unguarded {
            let confidence = confidence(facts, &on_goroutine, site);
            let read = (!site.write).then(|| ReadAgainstWrites {
                read: (site.func, site.event),
                writes: sites
                    .iter()
                    .filter(|w| w.write && w.guards != CallerLocks::All)
                    .map(|w| (w.func, w.event))
                    .collect(),
            });
            out.push((
                finding(
                    facts, files, &ty, &guard, declared, site, example, support, confidence,
                ),
                read,
            ));
        }
    }
    out
}
/// The guard of a field: declared by checklocks, or the mutex held at the most accesses
/// (ties broken by name); `None` when no access holds any receiver mutex.
fn field_guard(
    facts: &PackageFacts,
    ty: &str,
    path: &[String],
    sites: &[Site],
) -> Option<(Guard, bool)> {
    if let [field, ..] = path {
        if let Some(g) = facts
            .decls
            .structs
            .get(ty)
            .and_then(|s| s.guards.get(field))
        {
            let path = g.split('.').map(str::to_string).collect();
            return Some((Guard::Receiver(path), true));
        }
    }
    // A mutex stored in the map (`m[k].Lock()`) guards its own entry's work, not the map.
    let in_map = |g: &Guard| matches!(g, Guard::Receiver(p) if p.starts_with(path));
    let mut counts: BTreeMap<&Guard, usize> = BTreeMap::new();
    for site in sites {
        if let CallerLocks::Some(g) = &site.guards {
            for guard in g
                .iter()
                .filter(|g| !in_map(g) && !named_for_another_field(facts, ty, path, g))
            {
                *counts.entry(guard).or_default() += 1;
            }
        }
    }
    let best = counts.iter().map(|(_, &c)| c).max()?;
    counts
        .into_iter()
        .find(|&(_, c)| c == best)
        .map(|(g, _)| (g.clone(), false))
}

/// Whether a mutex field is named for another field of its struct (`processingJobsMtx`
/// beside `processingJobs`, guarding `builders`): by the Go convention `fooMu` guards
/// `foo`, so holding it where the map is read is no evidence that it guards the map.
fn named_for_another_field(facts: &PackageFacts, ty: &str, path: &[String], guard: &Guard) -> bool {
    let (Guard::Receiver(lock), [field, ..]) = (guard, path) else {
        return false;
    };
    let [lock] = lock.as_slice() else {
        return false;
    };
    let name = lock.to_ascii_lowercase();
    let Some(stem) = ["rwmutex", "mutex", "mtx", "lock", "lck", "mu"]
        .iter()
        .find_map(|suffix| name.strip_suffix(suffix))
        .map(|stem| stem.trim_end_matches('_'))
        .filter(|stem| stem.len() >= 2)
    else {
        return false;
    };
    let names_field = |f: &str| f.to_ascii_lowercase().starts_with(stem);
    !names_field(field)
        && facts.decls.structs.get(ty).is_some_and(|s| {
            s.fields
                .keys()
                .any(|f| f != lock && f != field && names_field(f))
        })
}

/// How the key of a package map variable starts (`var cache`): not a type name.
const PACKAGE_MAP: &str = "var ";

/// A package-level map variable (`cache`, or an element map `cache[…]`) as the owner of its
/// accesses: its guard is a package-level mutex.
fn package_map(facts: &PackageFacts, place: PlaceId) -> Option<Owner> {
    let p = &facts.places[place as usize];
    let root = &facts.bindings[p.root as usize];
    let is_map = root.func.is_none() && root.ty.is_map() && p.fields.iter().all(|f| f == ELEMENT);
    is_map.then(|| Owner {
        ty: format!("{PACKAGE_MAP}{}", root.name),
        root: p.root,
        prefix: Vec::new(),
    })
}

/// The struct owning the map field an access names, when its type is known.
fn owner_of(facts: &PackageFacts, place: PlaceId) -> Option<Owner> {
    let p = &facts.places[place as usize];
    let TypeInfo::Named(mut ty) = facts.bindings[p.root as usize].ty.clone() else {
        return None;
    };
    let is_struct = |t: &TypeInfo| match t {
        TypeInfo::Named(n) if facts.decls.structs.contains_key(n) => Some(n.clone()),
        _ => None,
    };
    let mut prefix = Vec::new();
    let mut i = 0;
    while i < p.fields.len() {
        let field = &p.fields[i];
        let ty_here = facts.decls.field_type(&ty, field);
        // An element of a map or slice of structs with a field selected after it
        // (`s.remotes[name].urls`): the owner is the element's struct.
        let element = match &ty_here {
            TypeInfo::Map { value, .. } | TypeInfo::Slice(value, _)
                if i + 2 < p.fields.len() && p.fields[i + 1] == ELEMENT =>
            {
                is_struct(value)
            }
            _ => None,
        };
        if let Some(next) = is_struct(&ty_here) {
            prefix.push(field.clone());
            ty = next;
            i += 1;
        } else if let Some(next) = element {
            prefix.push(field.clone());
            prefix.push(ELEMENT.to_string());
            ty = next;
            i += 2;
        } else {
            break;
        }
    }
    (prefix.len() < p.fields.len() && facts.decls.structs.contains_key(&ty)).then_some(Owner {
        ty,
        root: p.root,
        prefix,
    })
}

/// The mutexes (or with `latches`, the latches) of a lock set that belong to the owner
/// (`s.mu`, `c.acc.mu`) or to package variables.
fn owner_guards(
    facts: &PackageFacts,
    owner: &Owner,
    locks: &[(PlaceId, LockMode)],
    latches: bool,
) -> HashSet<Guard> {
    locks
        .iter()
        .filter(|&&(_, mode)| match latches {
            true => mode == LockMode::Latch,
            false => mode.is_mutex(),
        })
        .filter_map(|&(l, _)| {
            let p = &facts.places[l as usize];
            if p.root == owner.root {
                p.fields
                    .strip_prefix(owner.prefix.as_slice())
                    .map(|rest| Guard::Receiver(rest.to_vec()))
            } else if facts.bindings[p.root as usize].func.is_none() {
                Some(Guard::Global(p.root))
            } else {
                None
            }
        })
        .collect()
}

/// The guards a stored callback's calls hold for an owner the callback captured
/// (`stored_literal_call_locks`): the locks on the calling method's receiver, when the owner
/// has that receiver's type or embeds it (`d.subscribed` of an `audioManager` is guarded by
/// `d.base.lock` when its embedded `base` calls the callback holding `b.lock`).
fn holder_guards(
    facts: &PackageFacts,
    owner: &Owner,
    literal: FuncId,
    at_calls: &[ReceiverLock],
    latches: bool,
) -> HashSet<Guard> {
    if facts.bindings[owner.root as usize].func == Some(literal) {
        return HashSet::new();
    }
    at_calls
        .iter()
        .filter(|(.., mode)| match latches {
            true => *mode == LockMode::Latch,
            false => mode.is_mutex(),
        })
        .filter_map(|(ty, path, _)| {
            let mut embedded = match ty == &owner.ty {
                true => Vec::new(),
                false => facts.decls.embedding(&owner.ty, ty)?,
            };
            embedded.extend(path.iter().cloned());
            Some(Guard::Receiver(embedded))
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn finding(
    facts: &PackageFacts,
    files: &[&SourceFile],
    ty: &str,
    guard: &Guard,
    declared: bool,
    site: &Site,
    example: Option<&Site>,
    support: Support,
    confidence: Confidence,
) -> Finding {
    let func = &facts.funcs[site.func as usize];
    let event = &func.events[site.event];
    let EventKind::Access { place, .. } = event.kind else {
        unreachable!("sites are accesses");
    };
    let file = files[func.file as usize];
    let map = facts.place_text(place);
    let p = &facts.places[place as usize];
    let receiver = place_text(
        &facts.bindings[p.root as usize].name,
        &p.fields[..site.prefix],
    );
    let lock = guard_text(facts, &receiver, guard);
    let noun = if site.write { "written" } else { "read" };
    let shared = match ty.strip_prefix(PACKAGE_MAP) {
        Some(var) => format!("package variable `{var}`"),
        None => format!("`{ty}`"),
    };
    let evidence = if declared {
        format!("`{map}` is declared `+checklocks` guarded by {lock}")
    } else {
        match support {
            Support::Sites(guarded, total) => {
                format!("`{map}` is accessed under {lock} at {guarded} of {total} sites")
            }
            Support::Writes(writes, funcs) => format!(
                "every write of `{map}` holds {lock} ({writes} writes in {funcs} functions)"
            ),
            Support::Functions(guarded, total) => format!(
                "`{map}` is accessed under {lock} in {guarded} of the {total} functions that \
                 touch it"
            ),
        }
    };
    let mut related = Vec::new();
    if let Some(ex) = example {
        let f = &facts.funcs[ex.func as usize];
        related.push(Related {
            role: Role::LockSite,
            location: Location::new(files[f.file as usize], f.events[ex.event].span.clone()),
            message: format!(
                "{} under {} here",
                if ex.write { "written" } else { "read" },
                guard_text(facts, &receiver, guard)
            ),
        });
    }
    Finding {
        location: Location::new(file, event.span.clone()),
        rule: ID,
        message: format!(
            "map `{map}` is {noun} here without {lock}, but {evidence}: reporting because \
             the locking shows {shared} is shared between goroutines"
        ),
        label: format!("{noun} without {lock}"),
        related,
        notes: vec![format!(
            "every access must hold {lock} while another goroutine may write `{map}`"
        )],
        help: format!(
            "hold {lock} here as the other accesses do, and declare the guard on the field \
             (`// +checklocks:{}`) so that checklocks can enforce it",
            match guard {
                Guard::Receiver(p) if !p.is_empty() => p.join("."),
                _ => "mu".to_string(),
            }
        ),
        package: facts.name.clone(),
        function: func.name.clone(),
        map,
        access: if site.write { "write" } else { "read" },
        confidence,
        level: Level::of(confidence),
        fingerprint: String::new(),
        suppressed: None,
        confirmed: None,
    }
}

/// Medium, or low where the unguarded access is in a function that locks nothing, that no
/// goroutine reaches without a lock, and that is not an exported function writing the map:
/// such a function may rely on its callers' lock, on being called before the object is
/// shared, or on running on the one goroutine that owns it, contracts made outside it that
/// the sites' count cannot see. A goroutine starts holding no lock, so none of that
/// excuses a function a goroutine reaches without one; and a write from the package's API
/// is one any caller can make at any time.
fn confidence(facts: &PackageFacts, on_goroutine: &HashSet<FuncId>, site: &Site) -> Confidence {
    let func = &facts.funcs[site.func as usize];
    if func.locks_itself
        || on_goroutine.contains(&site.func)
        || (site.write && func.declared && is_exported(&func.name))
    {
        Confidence::Medium
    } else {
        Confidence::Low
    }
}

/// The functions a goroutine of the package runs, or an unexported function or literal
/// that the package never calls itself (`main`, or a callback handed on as a value, which
/// runs wherever its holder likes), or that those reach through calls made while holding
/// no lock.
fn unlocked_on_goroutine(facts: &PackageFacts) -> HashSet<FuncId> {
    let events = || facts.funcs.iter().flat_map(|f| &f.events);
    let called: HashSet<FuncId> = events()
        .filter_map(|e| match &e.kind {
            EventKind::Call { target, .. } => facts.resolve(&target.callee),
            _ => None,
        })
        .collect();
    let mut reached = HashSet::new();
    let mut work: Vec<FuncId> = events()
        .filter_map(|e| match &e.kind {
            EventKind::Spawn { target, .. } => facts.resolve(&target.callee),
            _ => None,
        })
        .chain((0..facts.funcs.len() as FuncId).filter(|f| {
            let func = &facts.funcs[*f as usize];
            !called.contains(f) && (!func.declared || !is_exported(&func.name))
        }))
        .collect();
    while let Some(f) = work.pop() {
        if !reached.insert(f) {
            continue;
        }
        work.extend(
            facts.funcs[f as usize]
                .events
                .iter()
                .filter_map(|e| match &e.kind {
                    EventKind::Call { target, .. } if mutexes(&e.locks).next().is_none() => {
                        facts.resolve(&target.callee)
                    }
                    _ => None,
                }),
        );
    }
    reached
}

/// For each function, the goroutine it runs on when that is always one goroutine started
/// at one site, outside any loop: the goroutine's function. `None` when it may run on
/// several (started in a loop or at several sites, called from outside the package or by
/// code that nothing in the package calls; calls from tests do not count).
fn confined_to_one_goroutine(facts: &PackageFacts) -> Vec<Option<FuncId>> {
    /// Where a function may run: on the goroutines of these spawn targets, or elsewhere.
    #[derive(Clone, Default, PartialEq)]
    struct Runs {
        on: BTreeSet<FuncId>,
        elsewhere: bool,
    }
    let n = facts.funcs.len();
    let mut runs = vec![Runs::default(); n];
    let mut callers = vec![false; n];
    let mut spawn_sites = vec![0usize; n];
    let mut calls: Vec<Vec<FuncId>> = vec![Vec::new(); n];
    // Tests drive objects on their own goroutine, by design: their calls do not count.
    for (f, func) in facts.funcs.iter().enumerate().filter(|(_, f)| !f.in_test) {
        for e in &func.events {
            match &e.kind {
                EventKind::Call { target, .. } => {
                    if let Some(c) = facts.resolve(&target.callee) {
                        callers[c as usize] = true;
                        calls[f].push(c);
                    }
                }
                EventKind::Spawn {
                    target, repeated, ..
                } => {
                    if let Some(t) = facts.resolve(&target.callee) {
                        spawn_sites[t as usize] += 1;
                        let looped = func.ctl.loops_around(e.ctl).next().is_some();
                        if *repeated || looped {
                            spawn_sites[t as usize] += 1;
                        }
                    }
                }
                _ => {}
            }
        }
    }
    for (f, func) in facts.funcs.iter().enumerate() {
        match spawn_sites[f] {
            1 => {
                runs[f].on.insert(f as FuncId);
            }
            0 => {}
            _ => runs[f].elsewhere = true,
        }
        if (spawn_sites[f] == 0 && !callers[f]) || (func.declared && is_exported(&func.name)) {
            runs[f].elsewhere = true;
        }
    }
    let mut work: Vec<usize> = (0..n).collect();
    while let Some(f) = work.pop() {
        for &c in &calls[f] {
            let (from, to) = (runs[f].clone(), &mut runs[c as usize]);
            let before = to.clone();
            to.on.extend(from.on);
            to.elsewhere |= from.elsewhere;
            if *to != before {
                work.push(c as usize);
            }
        }
    }
    runs.into_iter()
        .map(|r| match (r.elsewhere, r.on.len()) {
            (false, 1) => r.on.first().copied(),
            _ => None,
        })
        .collect()
}

/// The mutex in words: `s.mu`, the mutex embedded in `s`, or a package-level mutex.
fn guard_text(facts: &PackageFacts, receiver: &str, guard: &Guard) -> String {
    match guard {
        Guard::Receiver(path) if path.is_empty() => super::context::lock_words(receiver, true),
        Guard::Receiver(path) => {
            super::context::lock_words(&format!("{receiver}.{}", path.join(".")), false)
        }
        Guard::Global(b) => super::context::lock_words(&facts.bindings[*b as usize].name, false),
    }
}
