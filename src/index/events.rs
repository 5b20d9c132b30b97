//! The events a function body is made of: map accesses, calls and spawns, waits and
//! signals, lock operations; what calls and spawns run (`Callee`, `Target`).

use std::ops::Range;

use super::{BindingId, CtlId, EscapeId, FuncId, PlaceId};

/// How an access touches a map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AccessOp {
    /// `m[k] = v`.
    Assign,
    /// `m[k] op= v`, `m[k]++`, `m[k]--`.
    Update,
    /// `delete(m, k)`.
    Delete,
    /// `clear(m)`.
    Clear,
    /// A map-mutating library call such as `maps.Copy(m, src)`.
    LibraryWrite,
    /// `m[k]` or `v, ok := m[k]`.
    Index,
    /// `for k, v := range m`.
    Range,
    /// `len(m)`.
    Len,
    /// The map passed to a function of another package, which reads it (`fmt.Println(m)`).
    LibraryRead,
}

impl AccessOp {
    /// Whether the operation mutates the map.
    pub fn is_write(self) -> bool {
        matches!(
            self,
            AccessOp::Assign
                | AccessOp::Update
                | AccessOp::Delete
                | AccessOp::Clear
                | AccessOp::LibraryWrite
        )
    }
}

/// The mode in which a lock is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LockMode {
    /// `RLock`: excludes writers only.
    Read,
    /// `Lock`: excludes everyone.
    Exclusive,
    /// Not a mutex: a flag set to `true` under a lock (a latch), or checked under one with
    /// an early return (a gate), held from there on as if it were a lock. It orders the
    /// accesses holding it as `Exclusive` does, and is no mutex for anything else. The
    /// body of a `sync.Once`'s `Do` holds the `Once` so.
    Latch,
    /// Not a mutex: what follows a `sync.Once`'s `Do`, ordered after the body's accesses
    /// (which hold the `Once` as a `Latch`), not with what follows another `Do`.
    Published,
}

impl LockMode {
    /// Whether it is a mutex held (not a latch).
    pub fn is_mutex(self) -> bool {
        !matches!(self, LockMode::Latch | LockMode::Published)
    }

    /// Whether two accesses holding one place, in this mode and in `other`, are ordered:
    /// not under two read locks, nor both after a `Once`'s `Do`.
    pub fn excludes(self, other: LockMode) -> bool {
        let shared = |m: LockMode| matches!(m, LockMode::Read | LockMode::Published);
        !(shared(self) && shared(other))
    }
}

/// The locks held at a program point, sorted by place.
pub type LockSet = Vec<(PlaceId, LockMode)>;

/// The mutexes of a lock set: its locks but the latches.
pub fn mutexes<P: Copy>(locks: &[(P, LockMode)]) -> impl Iterator<Item = (P, LockMode)> + '_ {
    locks.iter().copied().filter(|&(_, mode)| mode.is_mutex())
}

/// A function the package declares, as a call names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Callee {
    /// A package-level function.
    Func(String),
    /// A method, by receiver type name and method name.
    Method(String, String),
    /// A function literal.
    Literal(FuncId),
    /// The function value a call of `from` returns as its result at `index` (`hook, seen :=
    /// lastSeenHook()`; `makeHandler(m)()`), with the call's event (function, index) when
    /// known: the returned literal sees the variables of the instance that call made.
    Returned {
        /// The function called for the value.
        from: Box<Callee>,
        /// Which of its results.
        index: usize,
        /// The call giving the value.
        site: Option<(FuncId, usize)>,
    },
}

/// What a call or spawn runs: the callee with the places bound to its receiver and
/// parameters (`None` where an argument is not a variable or field).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The function called.
    pub callee: Callee,
    /// The place bound to the receiver of a method.
    pub receiver: Option<PlaceId>,
    /// The places bound to the parameters, in order.
    pub args: Vec<Option<PlaceId>>,
}

impl Target {
    /// A function literal, whose parameters were bound where it was walked.
    pub fn literal(func: FuncId) -> Self {
        Target {
            callee: Callee::Literal(func),
            receiver: None,
            args: Vec::new(),
        }
    }
}

/// How a goroutine is started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpawnVia {
    /// A `go` statement.
    GoStatement,
    /// A call to an API that runs its function argument on another goroutine.
    Api(String),
    /// A request handler handed over as a value (`http.HandlerFunc(serve)`, a route's
    /// literal): the server runs it per request from here on.
    Served,
}

/// What happened at a program point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// A map access.
    Access {
        /// The map's storage location.
        place: PlaceId,
        /// What the access does.
        op: AccessOp,
    },
    /// A goroutine is started here running `target`.
    Spawn {
        /// What the goroutine runs.
        target: Target,
        /// The statement or API that starts it.
        via: SpawnVia,
        /// A sync object the API signals when the goroutine ends (`wg.Go`, errgroup's `Go`).
        signals: Option<PlaceId>,
        /// Whether one spawn site runs the body many times at once (an HTTP handler).
        repeated: bool,
        /// Whether the body runs only after the spawning function returns (a parallel
        /// subtest resumes when its parent test function is done).
        after_return: bool,
    },
    /// The current goroutine blocks until `sync` is signalled (`wg.Wait()`, `<-ch`).
    Wait {
        /// The WaitGroup, group or channel waited on.
        sync: PlaceId,
        /// Whether this is a single channel receive (it consumes one signal only).
        single_receive: bool,
    },
    /// The current goroutine signals `sync` (`wg.Done()`, `ch <- v`, `close(ch)`).
    Signal {
        /// The WaitGroup or channel signalled.
        sync: PlaceId,
    },
    /// A lock is taken (`Lock`, `RLock`).
    Lock {
        /// The mutex.
        place: PlaceId,
        /// How it is held.
        mode: LockMode,
    },
    /// A lock is released (`Unlock`, `RUnlock`), not deferred.
    Unlock {
        /// The mutex.
        place: PlaceId,
    },
    /// A call of a function of this package, run on the current goroutine.
    Call {
        /// What is called.
        target: Target,
        /// Function literals among the arguments: argument index, byte range and the
        /// literal's parameters.
        literals: Vec<(usize, Range<usize>, Vec<Option<BindingId>>)>,
        /// For the call of a function value handed to the call at the same span as its
        /// argument at this index (`mirror(t, rec)` of `rec := meter(u)`), which the callee
        /// may call: where a lock helper runs that argument holding a lock, so does this.
        passed: Option<usize>,
    },
}

/// One event of a function body.
#[derive(Debug, Clone)]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// Byte range in the function's file.
    pub span: Range<usize>,
    /// Program order within the function: the byte offset, or past the end for deferred code.
    pub order: usize,
    /// The innermost control frame containing the event.
    pub ctl: CtlId,
    /// Locks held when the event happens.
    pub locks: LockSet,
    /// For an access: the call that returned the map it reaches, if any.
    pub via: Option<EscapeId>,
}

/// A `return` of storage the caller shares (`return s.items`, `return s.stats`), with the
/// locks held when the function took it (at the `return`, or where a local copy was made).
#[derive(Debug, Clone)]
pub struct Returned {
    /// The result's index.
    pub index: usize,
    /// What is returned, in the function's terms: a map, or a value holding maps.
    pub place: PlaceId,
    /// Locks held when the map was taken.
    pub locks: LockSet,
    /// Byte range of the returned expression.
    pub span: Range<usize>,
}

/// A call that hands its caller storage the callee shares: `m := s.Items()`.
#[derive(Debug, Clone)]
pub struct Escape {
    /// The calling function.
    pub func: FuncId,
    /// Byte range of the call.
    pub call: Range<usize>,
    /// What is called, with the receiver and arguments bound.
    pub target: Target,
    /// The result's index.
    pub index: usize,
}
