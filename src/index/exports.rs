//! Facts a package exports to the other packages of its module: for each exported method
//! of a struct type it declares, the map fields of the receiver the method reads and
//! writes (through the package's own calls on the receiver too), each with the receiver's
//! locks it holds there. A package calling `st.Add(k)` on a `*store.Store` then sees the
//! write of `st.items` that `Add` makes, under `st.mu` or not, as if it were its own.
//! Also: the maps exported functions touch through their parameters (`lib.Fill(m, k)`
//! writes `m`), the receiver's maps exported methods return (`st.Items()` is `st.items`),
//! and which fields of the package's structs are maps.

use std::collections::HashMap;

use super::returns::ReturnRoot;
use super::types::TypeInfo;
use super::{AccessOp, BindingId, Callee, EventKind, FuncId, LockMode, PackageFacts, PlaceId};

/// Calls on the receiver are followed this deep.
const MAX_DEPTH: usize = 8;
/// A method's summary keeps at most this many accesses.
const MAX_ACCESSES: usize = 64;

/// One access a method makes to a map reached from its receiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The field path from the receiver to the map (`["items"]`).
    pub fields: Vec<String>,
    /// What the access does.
    pub op: AccessOp,
    /// The receiver's locks held at the access, as field paths from the receiver (`["mu"]`;
    /// empty for a mutex embedded in the receiver itself).
    pub locks: Vec<(Vec<String>, LockMode)>,
}

/// One access an exported function makes to a map reached from one of its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamAccess {
    /// Which parameter.
    pub param: usize,
    /// The field path from the parameter to the map (empty: the parameter is the map).
    pub fields: Vec<String>,
    /// What the access does.
    pub op: AccessOp,
}

/// What one package exports: its name and, by (type, method), the method's accesses.
#[derive(Debug, Clone, Default)]
pub struct PackageExports {
    /// The name in its `package` clause, the default name importers use.
    pub name: String,
    /// Exported methods of the package's struct types and the accesses each makes.
    pub methods: HashMap<(String, String), Vec<Summary>>,
    /// Exported functions returning one of its struct types (constructors), and the type.
    pub results: HashMap<String, String>,
    /// Exported functions and the maps they touch through their parameters.
    pub functions: HashMap<String, Vec<ParamAccess>>,
    /// Exported methods returning a map of their receiver, by (type, method): its path.
    pub getters: HashMap<(String, String), Vec<String>>,
    /// The map fields of the package's struct types, by (type, field).
    pub map_fields: HashMap<(String, String), TypeInfo>,
}

/// The facts of the module's other packages, as the importing package writes their names
/// (`store.Store`, `store.New`).
#[derive(Debug, Clone, Default)]
pub struct Imports {
    /// Methods by qualified type, then method name.
    pub methods: HashMap<String, HashMap<String, Vec<Summary>>>,
    /// Constructors by qualified name, and the qualified type they return.
    pub results: HashMap<String, String>,
    /// Functions by qualified name, and the maps they touch through their parameters.
    pub functions: HashMap<String, Vec<ParamAccess>>,
    /// Getters by qualified type, then method name: the receiver's map each returns.
    pub getters: HashMap<String, HashMap<String, Vec<String>>>,
    /// Map fields by qualified type, then field name.
    pub map_fields: HashMap<String, HashMap<String, TypeInfo>>,
    /// The gRPC version the module requires (major, minor): it decides whether
    /// `metadata.FromIncomingContext` hands out the context's own map.
    pub grpc: Option<(u32, u32)>,
}

/// The exports of an indexed package (its files other than tests).
pub fn summarize(facts: &PackageFacts) -> PackageExports {
    let mut methods = HashMap::new();
    let mut memo = HashMap::new();
    for (f, func) in facts.funcs.iter().enumerate() {
        let Some(receiver) = func.receiver else {
            continue;
        };
        if !func.declared || func.in_test || !super::is_exported(&func.name) {
            continue;
        }
        let name = func.name.rsplit('.').next().unwrap_or(&func.name);
        let TypeInfo::Named(ty) = &facts.bindings[receiver as usize].ty else {
            continue;
        };
        let out = summary_of(facts, f as FuncId, &mut Vec::new(), &mut memo);
        if !out.is_empty() {
            methods.insert((ty.clone(), name.to_string()), out);
        }
    }
    let results = facts
        .decls
        .func_results
        .iter()
        .filter(|(f, _)| super::is_exported(f))
        .filter_map(|(f, ty)| match ty {
            TypeInfo::Named(t) if facts.decls.structs.contains_key(t) => {
                Some((f.clone(), t.clone()))
            }
            _ => None,
        })
        .collect();
    PackageExports {
        name: facts.name.clone(),
        methods,
        results,
        functions: functions(facts),
        getters: getters(facts),
        map_fields: map_fields(facts),
    }
}

/// The maps each exported function touches through its parameters, in its own body.
fn functions(facts: &PackageFacts) -> HashMap<String, Vec<ParamAccess>> {
    let mut out = HashMap::new();
    for func in &facts.funcs {
        if !func.declared || func.in_test || func.receiver.is_some() {
            continue;
        }
        if !super::is_exported(&func.name) {
            continue;
        }
        let mut accesses: Vec<ParamAccess> = Vec::new();
        for event in &func.events {
            let EventKind::Access { place, op } = event.kind else {
                continue;
            };
            let p = &facts.places[place as usize];
            let Some(param) = func.params.iter().position(|&b| b == Some(p.root)) else {
                continue;
            };
            let access = ParamAccess {
                param,
                fields: p.fields.clone(),
                op,
            };
            if accesses.len() < MAX_ACCESSES && !accesses.contains(&access) {
                accesses.push(access);
            }
        }
        if !accesses.is_empty() {
            out.insert(func.name.clone(), accesses);
        }
    }
    out
}

/// The exported methods that return a map field of their receiver, and its path.
fn getters(facts: &PackageFacts) -> HashMap<(String, String), Vec<String>> {
    let mut out = HashMap::new();
    for (ty, methods) in &facts.decls.methods {
        for method in methods.iter().filter(|m| super::is_exported(m)) {
            let callee = Callee::Method(ty.clone(), method.clone());
            let Some(path) = facts.decls.returns.path(&callee, 0) else {
                continue;
            };
            if path.root != ReturnRoot::Receiver || path.fields.is_empty() {
                continue;
            }
            out.insert((ty.clone(), method.clone()), path.fields.clone());
        }
    }
    out
}

/// The map-typed fields of the package's struct types; what the maps hold is not kept
/// (its types are named as this package names them).
fn map_fields(facts: &PackageFacts) -> HashMap<(String, String), TypeInfo> {
    let mut out = HashMap::new();
    for (ty, decl) in &facts.decls.structs {
        for field in decl.fields.keys() {
            if let TypeInfo::Map { .. } = facts.decls.field_type(ty, field) {
                out.insert(
                    (ty.clone(), field.clone()),
                    TypeInfo::Map {
                        value: Box::new(TypeInfo::Unknown),
                        name: None,
                    },
                );
            }
        }
    }
    out
}

/// The receiver-rooted accesses of method `f`, and of the methods it calls on (fields of)
/// its receiver, relative to its receiver. Each method is summarized once (`memo`), so a
/// dense graph of calls on the receiver (a parser's `p.next()`) costs its size, not its
/// paths; a call back into a method being summarized (`stack`) adds nothing.
fn summary_of(
    facts: &PackageFacts,
    f: FuncId,
    stack: &mut Vec<FuncId>,
    memo: &mut HashMap<FuncId, Vec<Summary>>,
) -> Vec<Summary> {
    if let Some(known) = memo.get(&f) {
        return known.clone();
    }
    let mut out = Vec::new();
    let func = &facts.funcs[f as usize];
    let Some(receiver) = func.receiver else {
        return out;
    };
    stack.push(f);
    for event in &func.events {
        if out.len() >= MAX_ACCESSES {
            break;
        }
        let locks = relative_locks(facts, receiver, &event.locks);
        match &event.kind {
            EventKind::Access { place, op } => {
                if let Some(fields) = relative(facts, receiver, *place).filter(|f| !f.is_empty()) {
                    push(
                        &mut out,
                        Summary {
                            fields,
                            op: *op,
                            locks,
                        },
                    );
                }
            }
            EventKind::Call { target, .. } => {
                let (Some(callee), Some(base)) = (
                    facts.resolve(&target.callee),
                    target.receiver.and_then(|r| relative(facts, receiver, r)),
                ) else {
                    continue;
                };
                if stack.len() >= MAX_DEPTH || stack.contains(&callee) {
                    continue;
                }
                for s in summary_of(facts, callee, stack, memo) {
                    let rebase = |fields: &[String]| [base.as_slice(), fields].concat();
                    let mut held = locks.clone();
                    held.extend(s.locks.iter().map(|(l, m)| (rebase(l), *m)));
                    push(
                        &mut out,
                        Summary {
                            fields: rebase(&s.fields),
                            op: s.op,
                            locks: held,
                        },
                    );
                }
            }
            _ => {}
        }
    }
    stack.pop();
    memo.insert(f, out.clone());
    out
}

fn push(out: &mut Vec<Summary>, summary: Summary) {
    if out.len() < MAX_ACCESSES && !out.contains(&summary) {
        out.push(summary);
    }
}

/// The field path of `place` from `receiver`, when the place is rooted there.
fn relative(facts: &PackageFacts, receiver: BindingId, place: PlaceId) -> Option<Vec<String>> {
    let p = &facts.places[place as usize];
    (p.root == receiver).then(|| p.fields.clone())
}

fn relative_locks(
    facts: &PackageFacts,
    receiver: BindingId,
    locks: &[(PlaceId, LockMode)],
) -> Vec<(Vec<String>, LockMode)> {
    locks
        .iter()
        .filter_map(|&(l, m)| Some((relative(facts, receiver, l)?, m)))
        .collect()
}
