//! The APIs that run a function argument on another goroutine, and library calls whose
//! effect on a map argument is known. Kept as data: one row per API.

use super::AccessOp;

/// A method that runs its function argument on another goroutine, whatever the receiver's
/// type (the receiver's type is unknown without a type checker; the name and shape are kept
/// specific enough to be safe).
#[derive(Debug)]
pub struct MethodSpawner {
    /// The method name.
    pub method: &'static str,
    /// How many arguments the call has.
    pub arity: usize,
    /// Which argument is the function run on another goroutine.
    pub func_arg: usize,
    /// Whether the receiver's `Wait` waits for the goroutine (WaitGroup.Go, errgroup.Go).
    pub receiver_waits: bool,
    /// Whether every call runs the function many times concurrently (HTTP handlers).
    pub repeated: bool,
}

/// Methods that start goroutines.
pub const METHOD_SPAWNERS: &[MethodSpawner] = &[
    MethodSpawner {
        method: "Go",
        arity: 1,
        func_arg: 0,
        receiver_waits: true,
        repeated: false,
    },
    MethodSpawner {
        method: "TryGo",
        arity: 1,
        func_arg: 0,
        receiver_waits: true,
        repeated: false,
    },
    MethodSpawner {
        method: "HandleFunc",
        arity: 2,
        func_arg: 1,
        receiver_waits: false,
        repeated: true,
    },
];

/// What a call of an imported package's function does, as far as the analysis cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackageCall {
    /// Runs argument `func_arg` on another goroutine (many at once when `repeated`).
    Spawn {
        /// Which argument is the function.
        func_arg: usize,
        /// Whether it runs concurrently with itself.
        repeated: bool,
    },
    /// Touches its map arguments as listed; arguments past the list are read.
    MapArgs(&'static [AccessOp]),
    /// Never returns (`os.Exit`, `log.Fatal`).
    Exits,
    /// Anything else: a map argument is read.
    Other,
}

/// Looks up a call of `path.func`.
pub fn package_call(path: &str, func: &str) -> PackageCall {
    match (path, func) {
        ("time" | "context", "AfterFunc") => PackageCall::Spawn {
            func_arg: 1,
            repeated: false,
        },
        ("net/http", "HandleFunc") => PackageCall::Spawn {
            func_arg: 1,
            repeated: true,
        },
        ("maps", "Copy") => PackageCall::MapArgs(&[AccessOp::LibraryWrite, AccessOp::LibraryRead]),
        ("maps", "DeleteFunc" | "Insert") => PackageCall::MapArgs(&[AccessOp::LibraryWrite]),
        ("os", "Exit") | ("runtime", "Goexit") => PackageCall::Exits,
        ("log", f) if f.starts_with("Fatal") || f.starts_with("Panic") => PackageCall::Exits,
        _ => PackageCall::Other,
    }
}
