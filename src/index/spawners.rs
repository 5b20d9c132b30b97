//! The APIs that run a function argument on another goroutine, and library calls whose
//! effect on a map argument is known. Kept as data: built-in rows, plus the spawners a
//! project declares in `mapguard.toml`.

use super::AccessOp;

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

/// Every spawner the analysis knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spawners {
    /// Methods that start goroutines.
    pub methods: Vec<MethodSpawner>,
    /// Package functions that start goroutines.
    pub functions: Vec<FunctionSpawner>,
}

impl Default for Spawners {
    /// The built-in spawners: `wg.Go` and errgroup's `Go`/`TryGo`, `HandleFunc`,
    /// `time.AfterFunc`, `context.AfterFunc`, `http.HandleFunc`.
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
        Spawners {
            methods: vec![
                method("Go", 1, 0, true, false),
                method("TryGo", 1, 0, true, false),
                method("HandleFunc", 2, 1, false, true),
            ],
            functions: vec![
                function("time", "AfterFunc", 1, false),
                function("context", "AfterFunc", 1, false),
                function("net/http", "HandleFunc", 1, true),
            ],
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

impl Spawners {
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
