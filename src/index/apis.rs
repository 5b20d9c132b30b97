//! The APIs the analysis knows by name: those that run a function argument on another
//! goroutine, methods that lock and unlock their receiver, and library calls whose effect on
//! a map argument is known. Kept as data: built-in rows, plus the spawners and lock methods
//! a project declares in `mapguard.toml`.

use super::AccessOp;

/// A map type of another package known by name (`http.Header`), with its methods that write
/// the map and those that read it.
#[derive(Debug)]
pub struct KnownMap {
    /// The type as written with its package's usual name.
    pub name: &'static str,
    /// Methods that write the map.
    pub writes: &'static [&'static str],
    /// Methods that read it.
    pub reads: &'static [&'static str],
}

/// The standard library's (and gRPC's) map types whose methods read and write the map.
const KNOWN_MAPS: &[KnownMap] = &[
    KnownMap {
        name: "http.Header",
        writes: &["Set", "Add", "Del"],
        reads: &["Get", "Values", "Clone", "Write", "WriteSubset"],
    },
    KnownMap {
        name: "textproto.MIMEHeader",
        writes: &["Set", "Add", "Del"],
        reads: &["Get", "Values"],
    },
    KnownMap {
        name: "url.Values",
        writes: &["Set", "Add", "Del"],
        reads: &["Get", "Has", "Encode"],
    },
    KnownMap {
        name: "metadata.MD",
        writes: &["Set", "Append", "Delete"],
        reads: &["Get", "Len", "Copy"],
    },
    KnownMap {
        name: "template.FuncMap",
        writes: &[],
        reads: &[],
    },
];

/// The known map type named `name` (`http.Header`), if it is one.
pub fn known_map(name: &str) -> Option<&'static KnownMap> {
    KNOWN_MAPS.iter().find(|k| k.name == name)
}

impl KnownMap {
    /// What calling `method` on the map does to it, if the method is known.
    pub fn method_op(&self, method: &str) -> Option<AccessOp> {
        if self.writes.contains(&method) {
            Some(AccessOp::LibraryWrite)
        } else if self.reads.contains(&method) {
            Some(AccessOp::LibraryRead)
        } else {
            None
        }
    }
}

/// A method that runs a function argument on another goroutine, whatever the receiver's
/// type (unknown without a type checker: the name and arity keep it specific).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodSpawner {
    /// The method name.
    pub method: String,
    /// How many arguments the call has.
    pub arity: usize,
    /// Which argument is the function run on another goroutine.
    pub func_arg: usize,
    /// Whether the receiver's `Wait` waits for the goroutine (WaitGroup.Go, errgroup.Go).
    pub receiver_waits: bool,
    /// Whether every call runs the function many times concurrently (HTTP handlers).
    pub repeated: bool,
}

/// A package function that runs a function argument on another goroutine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionSpawner {
    /// The package's import path.
    pub package: String,
    /// The function's name.
    pub function: String,
    /// Which argument is the function run on another goroutine.
    pub func_arg: usize,
    /// Whether every call runs the function many times concurrently.
    pub repeated: bool,
}

/// A project's method pair that locks and unlocks its receiver as `Lock`/`Unlock` do
/// (a keyed lock, a semaphore, a lock type of its own), with any arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockMethod {
    /// The method that acquires, e.g. `Acquire`.
    pub acquire: String,
    /// The method that releases, e.g. `Release`.
    pub release: String,
    /// Whether holders may share it (a read lock: it orders reads only).
    pub shared: bool,
}

/// What a method call does to a lock on its receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockOp {
    /// Takes the lock, exclusively (`Lock`) or shared (`RLock`).
    Acquire {
        /// Whether it is a shared (read) lock.
        shared: bool,
    },
    /// Releases it (`Unlock`, `RUnlock`).
    Release,
}

/// Every API the analysis knows by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Apis {
    /// Methods that start goroutines.
    pub methods: Vec<MethodSpawner>,
    /// Package functions that start goroutines.
    pub functions: Vec<FunctionSpawner>,
    /// The project's lock methods, besides `sync.Mutex` and `sync.RWMutex`.
    pub locks: Vec<LockMethod>,
}

impl Default for Apis {
    /// The built-in spawners: `wg.Go` and errgroup's `Go`/`TryGo`, `HandleFunc`,
    /// `time.AfterFunc`, `context.AfterFunc`, `http.HandleFunc`, and the servers of a
    /// handler value (`http.Handle`, `http.ListenAndServe`, `httptest.NewServer`, ...).
    fn default() -> Self {
        let method = |method: &str, arity, func_arg, receiver_waits, repeated| MethodSpawner {
            method: method.to_string(),
            arity,
            func_arg,
            receiver_waits,
            repeated,
        };
        let function = |package: &str, function: &str, func_arg, repeated| FunctionSpawner {
            package: package.to_string(),
            function: function.to_string(),
            func_arg,
            repeated,
        };
        Apis {
            methods: vec![
                method("Go", 1, 0, true, false),
                method("TryGo", 1, 0, true, false),
                method("HandleFunc", 2, 1, false, true),
            ],
            functions: vec![
                function("time", "AfterFunc", 1, false),
                function("context", "AfterFunc", 1, false),
                function("net/http", "HandleFunc", 1, true),
                // Servers of a value serving HTTP (its `ServeHTTP` runs per request).
                function("net/http", "Handle", 1, true),
                function("net/http", "ListenAndServe", 1, true),
                function("net/http", "ListenAndServeTLS", 3, true),
                function("net/http", "Serve", 1, true),
                function("net/http", "ServeTLS", 1, true),
                function("net/http/httptest", "NewServer", 0, true),
                function("net/http/httptest", "NewTLSServer", 0, true),
                function("net/http/httptest", "NewUnstartedServer", 0, true),
            ],
            locks: Vec::new(),
        }
    }
}

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

impl Apis {
    /// The lock operation a method call performs on its receiver, if any: `Lock`, `RLock`,
    /// `Unlock`, `RUnlock` without arguments, or a configured lock method.
    pub fn lock_op(&self, method: &str, arity: usize) -> Option<LockOp> {
        match (method, arity) {
            ("Lock", 0) => return Some(LockOp::Acquire { shared: false }),
            ("RLock", 0) => return Some(LockOp::Acquire { shared: true }),
            ("Unlock" | "RUnlock", 0) => return Some(LockOp::Release),
            _ => {}
        }
        self.locks.iter().find_map(|l| {
            if l.acquire == method {
                Some(LockOp::Acquire { shared: l.shared })
            } else if l.release == method {
                Some(LockOp::Release)
            } else {
                None
            }
        })
    }

    /// The method spawner matching a call's method name and argument count.
    pub fn method(&self, method: &str, arity: usize) -> Option<&MethodSpawner> {
        self.methods
            .iter()
            .find(|s| s.method == method && s.arity == arity)
    }

    /// Looks up a call of `path.func`.
    pub fn package_call(&self, path: &str, func: &str) -> PackageCall {
        if let Some(s) = self
            .functions
            .iter()
            .find(|s| s.package == path && s.function == func)
        {
            return PackageCall::Spawn {
                func_arg: s.func_arg,
                repeated: s.repeated,
            };
        }
        match (path, func) {
            ("maps", "Copy") => {
                PackageCall::MapArgs(&[AccessOp::LibraryWrite, AccessOp::LibraryRead])
            }
            ("maps", "DeleteFunc" | "Insert") => PackageCall::MapArgs(&[AccessOp::LibraryWrite]),
            ("os", "Exit") | ("runtime", "Goexit") => PackageCall::Exits,
            ("log", f) if f.starts_with("Fatal") || f.starts_with("Panic") => PackageCall::Exits,
            _ => PackageCall::Other,
        }
    }
}
