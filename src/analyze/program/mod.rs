//! The expanded program: for each function that starts goroutines (or serves HTTP), the
//! tree of goroutines it creates, each with its events in program order, and the events of
//! the package functions it calls inlined at the call with their parameters bound to the
//! caller's arguments. This is how a map reaches another goroutine through a struct field,
//! a parameter or a call chain (`go s.serve(conn)` → `s.handle(req)` → `s.stats[p]++`).
//!
//! Every expansion of a function body gives its local variables a fresh instance, so two
//! calls of one helper never share its locals, while parameters and receivers stand for
//! whatever the caller passed.

mod builder;
mod graph;

use indexmap::IndexSet;
use rustc_hash::FxBuildHasher;

use crate::index::{
    AccessOp, BindingId, Control, CtlId, EventKind, FuncId, LockMode, PackageFacts, SpawnVia,
};
use builder::Builder;
pub use builder::MAX_ALIAS_HOPS;

/// Builds the expanded program of a package.
pub fn expand(facts: &PackageFacts) -> Program {
    let callees = graph::call_graph(facts);
    let relevant = graph::relevant_funcs(facts, &callees);
    let candidates = graph::root_candidates(facts, &relevant);
    let roots = graph::roots(facts, &callees, &candidates);
    Builder::new(facts, callees, &relevant).expand(&roots)
}

/// Calls are inlined this deep at most.
pub const MAX_CALL_DEPTH: usize = 8;
/// A root's expansion stops inlining past this many events (huge call trees).
pub const MAX_EVENTS_PER_ROOT: usize = 50_000;
/// A package's expansion analyzes no further roots past this many events.
pub const MAX_EVENTS_PER_PACKAGE: usize = 3_000_000;

/// A bound that cut the expansion: what was left out is reported as a warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CutKind {
    /// A call nested deeper than the depth bound was not followed.
    Depth,
    /// A root's expansion reached its event budget; later calls were not followed.
    RootBudget,
    /// The package's expansion reached its budget; this root was not analyzed.
    PackageBudget,
}

/// Where the expansion was cut.
#[derive(Debug, Clone, Copy)]
pub struct Cut {
    /// The root whose expansion was cut.
    pub root: FuncId,
    /// The call or spawn not followed: (function, event index); `None` for a whole root.
    pub at: Option<(FuncId, usize)>,
    /// Which bound cut it.
    pub kind: CutKind,
}

/// Index of a [`Thread`].
pub type ThreadId = u32;
/// Index of a [`ProgramPlace`].
pub type ProgramPlaceId = u32;
/// Index of a [`CallSite`] in the program's call chains.
pub type ChainId = u32;
/// Index of a lock set in [`Program::lock_sets`].
pub type LockSetId = u32;

/// A field name of the expanded program, interned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FieldId(u32);

/// A storage location of the expanded program: a binding in one instance of its function.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProgramPlace {
    /// The variable the location starts from.
    pub root: BindingId,
    /// Which expansion of the declaring function (0: shared, e.g. package variables and the
    /// parameters of a root).
    pub instance: u32,
    /// Fields selected from it.
    pub fields: Vec<FieldId>,
}

/// Where an instance's variable was declared: the thread and its frame there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Declared {
    /// The thread whose expansion created the variable.
    pub thread: ThreadId,
    /// The frame of the declaration in that thread.
    pub ctl: CtlId,
}

/// What happens at an event of a thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// A map access.
    Access {
        /// The map.
        place: ProgramPlaceId,
        /// What the access does.
        op: AccessOp,
    },
    /// A goroutine starts.
    Spawn {
        /// The goroutine.
        thread: ThreadId,
        /// A sync object signalled when it ends (`wg.Go`).
        signals: Option<ProgramPlaceId>,
        /// Whether one spawn runs the goroutine many times at once (a handler).
        repeated: bool,
        /// Whether the goroutine runs only after the spawner returns (a parallel subtest).
        after_return: bool,
    },
    /// The thread waits on a WaitGroup or channel.
    Wait {
        /// What is waited on.
        sync: ProgramPlaceId,
        /// Whether it is a single channel receive.
        single_receive: bool,
    },
    /// The thread signals a WaitGroup or channel.
    Signal {
        /// What is signalled.
        sync: ProgramPlaceId,
    },
}

/// One event of a thread.
#[derive(Debug, Clone)]
pub struct ProgramEvent {
    /// What happens.
    pub action: Action,
    /// The index event it comes from: (function, event index).
    pub origin: (FuncId, usize),
    /// The calls it was inlined through, innermost last.
    pub chain: Option<ChainId>,
    /// Position in the thread's program order.
    pub order: usize,
    /// The innermost frame around it.
    pub ctl: CtlId,
    /// Locks held: an index into [`Program::lock_sets`].
    pub locks: LockSetId,
    /// When it stands for an access of a loop's own element to the abstract element others
    /// reach it as (`Binding::element_of`): the element variable and the instance of its
    /// loop. Two such accesses through one loop's element touch different elements (or the
    /// same one, which the access of the element itself shows), so they never race; through
    /// two loops (workers started over a slice, a status loop reading every element) they
    /// meet on every element.
    pub shadow: Option<(BindingId, u32)>,
}

/// A call through which events were inlined.
#[derive(Debug, Clone, Copy)]
pub struct CallSite {
    /// The call event: (function, event index).
    pub call: (FuncId, usize),
    /// The call it is itself inside of.
    pub parent: Option<ChainId>,
}

/// A goroutine (or the function a root runs on).
#[derive(Debug, Clone)]
pub struct Thread {
    /// The function whose body the thread starts running.
    pub origin: FuncId,
    /// The spawning thread and event, for goroutines.
    pub spawned_by: Option<(ThreadId, usize)>,
    /// Whether the root runs many times at once (an HTTP handler).
    pub handler: bool,
    /// Whether the goroutine starts more instances of itself (a recursive spawn), which run
    /// concurrently with it.
    pub recursive: bool,
    /// Events in program order.
    pub events: Vec<ProgramEvent>,
    /// Loops and branches, including those of inlined calls.
    pub ctl: Control,
}

/// The expanded program of one package.
#[derive(Debug, Default)]
pub struct Program {
    /// Every thread; each root's tree is contiguous.
    pub threads: Vec<Thread>,
    /// Every place, indexed by [`ProgramPlaceId`].
    pub places: IndexSet<ProgramPlace, FxBuildHasher>,
    /// Field names, indexed by [`FieldId`].
    pub field_names: IndexSet<String, FxBuildHasher>,
    /// The distinct sets of locks held at events, each sorted as it was taken.
    pub lock_sets: IndexSet<Vec<(ProgramPlaceId, LockMode)>, FxBuildHasher>,
    /// Declarations of instance places (`None` for shared ones).
    pub declared: Vec<Option<Declared>>,
    /// Call chains.
    pub chains: Vec<CallSite>,
    /// Where bounds cut the expansion (at most one cut of each kind per root).
    pub cuts: Vec<Cut>,
    /// Variables whose field aliases were not followed through more parameters than
    /// `MAX_ALIAS_HOPS`: their fields were taken as the variable's own storage.
    pub alias_cuts: std::collections::BTreeSet<BindingId>,
}

/// The struct type a receiver binding belongs to.
pub fn receiver_type(facts: &PackageFacts, receiver: BindingId) -> Option<&str> {
    match &facts.bindings[receiver as usize].ty {
        crate::index::TypeInfo::Named(t) => Some(t),
        _ => None,
    }
}

/// Whether other packages may call a function by its name: exported, and not in a program
/// (`package main`), whose callers are all in sight.
pub fn is_entry_name(facts: &PackageFacts, func: &crate::index::Func) -> bool {
    crate::index::is_exported(&func.name) && facts.name != "main"
}

/// Whether `func` is the `main` function of a `main` package.
pub fn is_main(facts: &PackageFacts, func: &crate::index::Func) -> bool {
    facts.name == "main" && func.name == "main" && func.declared
}

impl Action {
    /// The place of an access.
    pub fn place(&self) -> ProgramPlaceId {
        match self {
            Action::Access { place, .. } => *place,
            _ => unreachable!("only accesses have a map place"),
        }
    }
}

impl Program {
    /// The locks held at an event.
    pub fn locks(&self, event: &ProgramEvent) -> &[(ProgramPlaceId, LockMode)] {
        &self.lock_sets[event.locks as usize]
    }

    /// The root thread whose tree holds thread `t`.
    pub fn root_of(&self, mut t: ThreadId) -> ThreadId {
        while let Some((parent, _)) = self.threads[t as usize].spawned_by {
            t = parent;
        }
        t
    }

    /// The name of an interned field.
    pub fn field_name(&self, field: FieldId) -> &str {
        &self.field_names[field.0 as usize]
    }

    /// The place as written in Go: `m`, `s.items`.
    pub fn place_text(&self, facts: &PackageFacts, place: ProgramPlaceId) -> String {
        let p = &self.places[place as usize];
        let fields: Vec<String> = p
            .fields
            .iter()
            .map(|f| self.field_names[f.0 as usize].clone())
            .collect();
        crate::index::place_text(&facts.bindings[p.root as usize].name, &fields)
    }

    fn field(&mut self, name: &str) -> FieldId {
        match self.field_names.get_index_of(name) {
            Some(i) => FieldId(i as u32),
            None => FieldId(self.field_names.insert_full(name.to_string()).0 as u32),
        }
    }

    /// How a spawn event starts its goroutine, from the index.
    pub fn spawn_via<'f>(&self, facts: &'f PackageFacts, event: &ProgramEvent) -> &'f SpawnVia {
        let (func, index) = event.origin;
        match &facts.funcs[func as usize].events[index].kind {
            EventKind::Spawn { via, .. } => via,
            _ => unreachable!("a spawn event comes from a spawn"),
        }
    }
}
