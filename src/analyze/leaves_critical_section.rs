//! MG006 map-leaves-critical-section: a function returns a map it took while holding a
//! lock, and its caller uses the map after the lock is gone.

use std::collections::{BTreeSet, HashSet};

use crate::finding::{Confidence, Finding, Level, Location, Related, Role};
use crate::index::{Escape, Event, EventKind, Func, FuncId, PackageFacts, PlaceId, Returned};
use crate::source::SourceFile;

use super::program::receiver_type;
use crate::index::is_exported;

/// The rule's id.
pub const ID: &str = "MG006";

/// Where a place starts, independent of the function naming it: the receiver of a method of
/// some type, or a package variable. Places of two methods of a type compare equal by it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Anchor<'a> {
    Receiver(&'a str),
    Global(u32),
}

/// The package's places as seen across its methods.
struct Methods<'a> {
    facts: &'a PackageFacts,
}

impl<'a> Methods<'a> {
    /// A place as an anchor and fields, when it starts at a receiver or a package variable.
    fn key(&self, place: PlaceId) -> Option<(Anchor<'a>, &'a [String])> {
        let p = &self.facts.places[place as usize];
        let root = &self.facts.bindings[p.root as usize];
        let anchor = match root.func {
            None => Anchor::Global(p.root),
            Some(f) if self.facts.funcs[f as usize].receiver == Some(p.root) => {
                Anchor::Receiver(receiver_type(self.facts, p.root)?)
            }
            Some(_) => return None,
        };
        Some((anchor, &p.fields))
    }

    /// A write made while holding `lock`, anywhere in the package, to the map `value` is or
    /// holds.
    fn guarded_write(&self, value: PlaceId, lock: PlaceId) -> Option<(FuncId, &'a Event)> {
        let ((anchor, fields), lock) = (self.key(value)?, self.key(lock)?);
        self.facts.funcs.iter().enumerate().find_map(|(f, func)| {
            func.events
                .iter()
                .find(|e| match e.kind {
                    EventKind::Access { place, op } => {
                        op.is_write()
                            && self
                                .key(place)
                                .is_some_and(|(a, f)| a == anchor && f.starts_with(fields))
                            && e.locks
                                .iter()
                                .any(|&(l, _)| self.key(l).as_ref() == Some(&lock))
                    }
                    _ => false,
                })
                .map(|e| (f as FuncId, e))
        })
    }
}

/// Whether `held` is the callee's `lock` seen from the call: the same fields from the place
/// bound to the lock's root (the receiver, a parameter) or the same package variable.
fn holds(
    facts: &PackageFacts,
    escape: &Escape,
    callee: FuncId,
    lock: PlaceId,
    held: PlaceId,
) -> bool {
    let lock = &facts.places[lock as usize];
    let func = &facts.funcs[callee as usize];
    let base = if func.receiver == Some(lock.root) {
        escape.target.receiver
    } else if let Some(i) = func.params.iter().position(|&p| p == Some(lock.root)) {
        escape.target.args.get(i).copied().flatten()
    } else if facts.bindings[lock.root as usize].func.is_none() {
        return facts.places[held as usize] == *lock;
    } else {
        None
    };
    let Some(base) = base else { return false };
    let (base, held) = (&facts.places[base as usize], &facts.places[held as usize]);
    held.root == base.root
        && held.fields.len() == base.fields.len() + lock.fields.len()
        && held.fields.starts_with(&base.fields)
        && held.fields.ends_with(&lock.fields)
}

/// Whether `lock` is the mutex of an object on the way to the map at `map` (`jsa.mu` for
/// `jsa.streams`): the object returned keeps its maps under a lock of its own, which the
/// access holds.
fn owner_lock(facts: &PackageFacts, map: PlaceId, lock: PlaceId) -> bool {
    let (map, lock) = (&facts.places[map as usize], &facts.places[lock as usize]);
    let Some((_, owner)) = lock.fields.split_last() else {
        return false;
    };
    map.root == lock.root && map.fields.len() > owner.len() && map.fields.starts_with(owner)
}

/// A map a function hands out from inside a critical section.
struct Leak<'a> {
    getter: FuncId,
    ret: &'a Returned,
    lock: PlaceId,
    /// A write to the map made holding the lock, if the package has one.
    write: Option<(FuncId, &'a Event)>,
}

/// Reports the accesses to a map a call returned from inside a critical section, made
/// without the lock that guarded it there; and exported methods that hand such a map to
/// callers the package does not show.
pub fn check(facts: &PackageFacts, files: &[&SourceFile]) -> Vec<Finding> {
    let methods = Methods { facts };
    let mut out = Vec::new();
    let mut explained = HashSet::new();
    for func in facts.funcs.iter().filter(|f| !f.assumes_lock) {
        for event in &func.events {
            let (EventKind::Access { op, .. }, Some(via)) = (&event.kind, event.via) else {
                continue;
            };
            let escape = &facts.escapes[via as usize];
            let Some(leak) = facts
                .resolve(&escape.target.callee)
                .and_then(|g| leak(facts, &methods, g, escape.index))
            else {
                continue;
            };
            let EventKind::Access { place, .. } = event.kind else {
                continue;
            };
            let still_held = event.locks.iter().any(|&(held, _)| {
                holds(facts, escape, leak.getter, leak.lock, held) || owner_lock(facts, place, held)
            });
            if still_held || (!op.is_write() && leak.write.is_none()) {
                continue;
            }
            explained.insert(leak.getter);
            out.push(caller_finding(
                facts, files, func.file, event, escape, &leak,
            ));
        }
    }
    for (g, getter) in facts.funcs.iter().enumerate() {
        let g = g as FuncId;
        if explained.contains(&g) || !exported_method(getter) {
            continue;
        }
        let indexes: BTreeSet<usize> = getter.returns.iter().map(|r| r.index).collect();
        for index in indexes {
            if let Some(leak) = leak(facts, &methods, g, index).filter(|l| l.write.is_some()) {
                out.push(getter_finding(facts, files, &leak));
            }
        }
    }
    out
}

/// Whether a function is an exported method: callers in other packages may hold its result.
fn exported_method(func: &Func) -> bool {
    func.declared && func.receiver.is_some() && is_exported(&func.name)
}

/// The first `return` of result `index` of `getter` that hands out a shared map taken under
/// a lock, with that lock and the evidence that the lock guards the map's writes.
fn leak<'a>(
    facts: &'a PackageFacts,
    methods: &Methods<'a>,
    getter: FuncId,
    index: usize,
) -> Option<Leak<'a>> {
    let (ret, lock) = facts.funcs[getter as usize]
        .returns
        .iter()
        .filter(|r| r.index == index && facts.is_shared_root(r.place))
        .find_map(|r| {
            r.locks
                .iter()
                .map(|&(l, _)| l)
                .find(|&l| facts.is_shared_root(l))
                .map(|l| (r, l))
        })?;
    Some(Leak {
        getter,
        ret,
        lock,
        write: methods.guarded_write(ret.place, lock),
    })
}

/// "line 12" when `loc` is in the file shown as `here`, else "path.go:12".
fn at(loc: &Location, here: &SourceFile) -> String {
    if loc.path == here.display_path() {
        format!("line {}", loc.start.line)
    } else {
        format!("{}:{}", loc.path, loc.start.line)
    }
}

/// The locked write as related location, and the words for it.
fn write_evidence(
    facts: &PackageFacts,
    files: &[&SourceFile],
    leak: &Leak<'_>,
    here: &SourceFile,
) -> (String, Option<Related>) {
    let lock = facts.place_text(leak.lock);
    let Some((f, w)) = leak.write else {
        return ("every access made under the lock".into(), None);
    };
    let file = files[facts.funcs[f as usize].file as usize];
    let location = Location::first_line(file, w.span.clone());
    let words = format!("the write at {} made under it", at(&location, here));
    let related = Related {
        role: Role::ConflictingAccess,
        location,
        message: format!("write made holding `{lock}`"),
    };
    (words, Some(related))
}

fn caller_finding(
    facts: &PackageFacts,
    files: &[&SourceFile],
    file: u32,
    event: &Event,
    escape: &Escape,
    leak: &Leak<'_>,
) -> Finding {
    let EventKind::Access { place, op } = event.kind else {
        unreachable!("only accesses are reported");
    };
    let src = files[file as usize];
    let getter = &facts.funcs[leak.getter as usize];
    let map = facts.place_text(place);
    let call = first_line(&src.text[escape.call.clone()]);
    let lock = facts.place_text(leak.lock);
    let (what, verb) = if op.is_write() {
        ("write", "written")
    } else {
        ("read", "read")
    };
    let (races, evidence) = write_evidence(facts, files, leak, src);
    let mut related = vec![
        Related {
            role: Role::CallSite,
            location: Location::new(src, escape.call.clone()),
            message: format!("`{call}` returns the map itself, not a copy"),
        },
        Related {
            role: Role::ReturnSite,
            location: Location::new(files[getter.file as usize], leak.ret.span.clone()),
            message: format!("the map leaves the critical section of `{lock}` here"),
        },
    ];
    related.extend(evidence);
    // A test reads what it set up, on its own goroutine: no race shown.
    let confidence = if facts.funcs[escape.func as usize].in_test {
        Confidence::Low
    } else if leak.write.is_some() {
        Confidence::High
    } else {
        Confidence::Medium
    };
    Finding {
        location: Location::first_line(src, event.span.clone()),
        rule: ID,
        message: format!(
            "map `{map}` is {verb} after `{call}` returned it: `{}` took it holding `{lock}`, \
             which is released when it returns, so this {what} is unguarded and races with \
             {races}",
            short_name(getter)
        ),
        label: format!("{what} outside the lock that guards `{map}`"),
        related,
        notes: vec![NOTE.into()],
        help: format!(
            "return a copy made under the lock (`maps.Clone`), or do this {what} inside a \
             method that holds `{lock}`"
        ),
        package: facts.name.clone(),
        function: facts.funcs[escape.func as usize].name.clone(),
        map,
        access: what,
        confidence,
        level: Level::of(confidence),
        fingerprint: String::new(),
        suppressed: None,
        confirmed: None,
    }
}

fn getter_finding(facts: &PackageFacts, files: &[&SourceFile], leak: &Leak<'_>) -> Finding {
    let getter = &facts.funcs[leak.getter as usize];
    let src = files[getter.file as usize];
    let map = facts.place_text(leak.ret.place);
    let lock = facts.place_text(leak.lock);
    let (races, evidence) = write_evidence(facts, files, leak, src);
    // A mock's or fake's getter serves tests, which read what it returns after the calls
    // that wrote it returned: their own ordering, which the analysis cannot see.
    let confidence = if facts.test_tree || getter.in_test {
        Confidence::Low
    } else {
        Confidence::Medium
    };
    let mut related: Vec<Related> = evidence.into_iter().collect();
    if let Some(site) = facts.lock_site(getter, leak.lock, leak.ret.span.start) {
        related.push(Related {
            role: Role::LockSite,
            location: Location::first_line(src, site),
            message: format!(
                "`{lock}` taken here, released when `{}` returns",
                short_name(getter)
            ),
        });
    }
    Finding {
        location: Location::first_line(src, leak.ret.span.clone()),
        rule: ID,
        message: format!(
            "`{}` returns {} from inside the critical section of `{lock}`: its callers read \
             the map after the lock is released, racing with {races}",
            short_name(getter),
            if facts.place_type(leak.ret.place).is_map() {
                format!("the map `{map}` itself")
            } else {
                format!("`{map}`, sharing the maps it holds,")
            }
        ),
        label: format!("the map leaves the critical section of `{lock}`"),
        related,
        notes: vec![
            NOTE.into(),
            "the method is exported: its callers are in other packages, where nothing holds \
             the lock"
                .into(),
        ],
        help: "return a copy made under the lock (`maps.Clone`), or give callers methods that \
               do the work while holding the lock"
            .into(),
        package: facts.name.clone(),
        function: getter.name.clone(),
        map,
        access: "read",
        confidence,
        level: Level::of(confidence),
        fingerprint: String::new(),
        suppressed: None,
        confirmed: None,
    }
}

const NOTE: &str = "a lock guards the map only while it is held; returning the map hands every \
                    caller the same map, outside the lock";

/// The method or function name without its receiver: `All` for `(*Registry).All`.
fn short_name(func: &Func) -> &str {
    func.name.rsplit('.').next().unwrap_or(&func.name)
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}
