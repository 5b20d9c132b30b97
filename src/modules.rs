//! The packages of one module seen from each other: a package's import of another package
//! of its module (by the module path in `go.mod`) brings in that package's exported facts
//! ([`crate::index::exports`]), so a race between goroutines started in one package and
//! the maps another package's methods write is seen. Dependencies are loaded, hashed (for
//! the result cache key of their importers) and summarized once per run, whichever worker
//! asks first.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::constraints::BuildContext;
use crate::index::apis::Apis;
use crate::index::exports::{summarize, Imports, PackageExports};
use crate::index::{import_specs, index_package, ParsedFile};
use crate::parse::parse;
use crate::screen::Screen;
use crate::source::SourceFile;

/// A dependency larger than this (its files' bytes) is not summarized: its exports would
/// cost more than most packages' whole analysis (generated tables, compilers' backends),
/// and the packages whose maps others share are small (stores, caches, registries).
const MAX_DEPENDENCY_BYTES: usize = 256 << 10;

/// A Go module: its root directory and its path (`module` in `go.mod`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Module {
    root: PathBuf,
    path: String,
    /// The gRPC version it requires (`google.golang.org/grpc v1.29.1`), major and minor.
    grpc: Option<(u32, u32)>,
}

/// One package of the module that others import.
struct Dependency {
    /// Its directory.
    dir: PathBuf,
    /// Whether it is worth summarizing: its files declare a map type and are not over
    /// [`MAX_DEPENDENCY_BYTES`]. Their texts are read again then, not kept meanwhile.
    summarized: bool,
    /// A hash of its files' paths and contents.
    digest: blake3::Hash,
    /// What it exports, computed when an importer is analyzed.
    exports: OnceLock<Option<Arc<PackageExports>>>,
}

/// The module facts of one run, shared by its workers.
#[derive(Default)]
pub struct ModuleFacts {
    modules: Mutex<HashMap<PathBuf, Option<Arc<Module>>>>,
    dependencies: Mutex<HashMap<PathBuf, Arc<OnceLock<Arc<Dependency>>>>>,
}

/// The packages of its module a package imports, by import path.
#[derive(Default)]
pub struct Imported {
    dependencies: Vec<(String, Arc<Dependency>)>,
    /// The gRPC version the module requires.
    grpc: Option<(u32, u32)>,
    /// Whether the package is test code: under a directory of its module named as test
    /// programs and test support are (`TEST_TREES`).
    pub test_tree: bool,
}

/// Directories of a module whose packages are test code, as `_test.go` files are: test
/// programs (e2e apps, test servers) and test support (mocks, fakes, helpers).
const TEST_TREES: [&str; 9] = [
    "test",
    "tests",
    "e2e",
    "testing",
    "testutil",
    "testutils",
    "mock",
    "mocks",
    "fakes",
];

impl ModuleFacts {
    /// The packages of the module of `dir` that `sources` import, loaded with `build`'s
    /// constraints (a cheap scan for the module path in string literals; the import
    /// declarations decide later which are really imported).
    pub fn imported(
        &self,
        dir: &Path,
        sources: &[Arc<SourceFile>],
        build: &BuildContext,
    ) -> Imported {
        let Some(module) = self.module_of(dir, sources) else {
            return Imported::default();
        };
        let dir = absolute(dir);
        let mut paths: Vec<String> = sources
            .iter()
            .flat_map(|s| import_paths(&s.text, &module.path))
            .collect();
        paths.sort();
        paths.dedup();
        let dependencies = paths
            .into_iter()
            .filter_map(|path| {
                let d = module_dir(&module, &path).filter(|d| *d != dir && d.is_dir())?;
                Some((path, self.dependency(&d, build)))
            })
            .collect();
        let test_tree = dir.strip_prefix(&module.root).is_ok_and(|rel| {
            rel.components()
                .any(|c| TEST_TREES.iter().any(|t| c.as_os_str() == *t))
        });
        Imported {
            dependencies,
            grpc: module.grpc,
            test_tree,
        }
    }

    fn module_of(&self, dir: &Path, sources: &[Arc<SourceFile>]) -> Option<Arc<Module>> {
        let mut modules = self.modules.lock().expect("module map");
        modules
            .entry(dir.to_path_buf())
            .or_insert_with(|| {
                find_module(dir)
                    .or_else(|| gopath_project(dir, sources))
                    .map(Arc::new)
            })
            .clone()
    }

    fn dependency(&self, dir: &Path, build: &BuildContext) -> Arc<Dependency> {
        let slot = self
            .dependencies
            .lock()
            .expect("dependency map")
            .entry(dir.to_path_buf())
            .or_default()
            .clone();
        slot.get_or_init(|| Arc::new(load(dir, build))).clone()
    }
}

impl Imported {
    /// The same module facts without the packages: for a package whose analysis needs no
    /// other package's methods (it starts no goroutine).
    pub fn without_packages(&self) -> Imported {
        Imported {
            dependencies: Vec::new(),
            grpc: self.grpc,
            test_tree: self.test_tree,
        }
    }

    /// What the importers' cache key must cover: every dependency's files, and what the
    /// module says of the package.
    pub fn digests(&self) -> Vec<u8> {
        let grpc = self
            .grpc
            .map(|(major, minor)| format!("grpc {major}.{minor}"));
        self.dependencies
            .iter()
            .flat_map(|(_, d)| d.digest.as_bytes().to_vec())
            .chain(grpc.unwrap_or_default().into_bytes())
            .chain(self.test_tree.then_some(b't'))
            .collect()
    }

    /// The imported methods as the package's files name their types, for the files'
    /// import declarations that name one of the dependencies (parsed with `build`'s
    /// constraints, each file within `timeout`).
    pub fn methods(
        &self,
        files: &[ParsedFile<'_>],
        apis: &Apis,
        build: &BuildContext,
        timeout: Duration,
    ) -> Imports {
        let mut imports = Imports {
            grpc: self.grpc,
            ..Imports::default()
        };
        if self.dependencies.is_empty() {
            return imports;
        }
        for file in files {
            for (alias, path) in import_specs(file.tree.root_node(), &file.source.text) {
                let Some((_, dep)) = self.dependencies.iter().find(|(p, _)| *p == path) else {
                    continue;
                };
                let exports = dep
                    .exports
                    .get_or_init(|| exports_of(dep, apis, build, timeout));
                let Some(exports) = exports else {
                    continue;
                };
                let alias = alias.unwrap_or_else(|| exports.name.clone());
                if alias == "_" || alias == "." {
                    continue;
                }
                for ((ty, method), summaries) in &exports.methods {
                    imports
                        .methods
                        .entry(format!("{alias}.{ty}"))
                        .or_default()
                        .insert(method.clone(), summaries.clone());
                }
                for (func, ty) in &exports.results {
                    imports
                        .results
                        .insert(format!("{alias}.{func}"), format!("{alias}.{ty}"));
                }
                for (func, accesses) in &exports.functions {
                    imports
                        .functions
                        .insert(format!("{alias}.{func}"), accesses.clone());
                }
                for ((ty, method), fields) in &exports.getters {
                    imports
                        .getters
                        .entry(format!("{alias}.{ty}"))
                        .or_default()
                        .insert(method.clone(), fields.clone());
                }
                for ((ty, field), field_ty) in &exports.map_fields {
                    imports
                        .map_fields
                        .entry(format!("{alias}.{ty}"))
                        .or_default()
                        .insert(field.clone(), field_ty.clone());
                }
            }
        }
        imports
    }
}

/// `dir` made absolute; the current directory's packages are listed as the empty path.
fn absolute(dir: &Path) -> PathBuf {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf())
}

/// The nearest `go.mod` at or above `dir`, and the module path it declares.
fn find_module(dir: &Path) -> Option<Module> {
    let dir = absolute(dir);
    dir.ancestors().find_map(|root| {
        let text = std::fs::read_to_string(root.join("go.mod")).ok()?;
        let path = text.lines().find_map(|l| {
            let rest = l.trim().strip_prefix("module")?;
            let path = rest.split("//").next()?.trim().trim_matches('"');
            (!path.is_empty() && rest.starts_with(char::is_whitespace)).then(|| path.to_string())
        })?;
        Some(Module {
            root: root.to_path_buf(),
            path,
            grpc: required_version(&text, "google.golang.org/grpc"),
        })
    })
}

/// Code hosts whose import paths name a repository in their first three elements
/// (`github.com/owner/repo/…`).
const REPOSITORY_HOSTS: [&str; 3] = ["github.com", "gitlab.com", "bitbucket.org"];

/// How many directory levels above a package a GOPATH project's root is looked for.
const GOPATH_DEPTH: usize = 8;

/// A project without `go.mod` (GOPATH-era code imports its own packages by their full
/// path, `github.com/owner/repo/state`): its root and import path, inferred from the
/// imports of the package in `dir`. A candidate is an ancestor `A` of `dir` and a prefix
/// `M` of an import path `M/rel` where `A/rel` is a directory of Go files; the candidate
/// that resolves the most import paths wins, one whose root is named as `M` ends first.
/// On a code host `M` is the repository (three elements), elsewhere at least two.
fn gopath_project(dir: &Path, sources: &[Arc<SourceFile>]) -> Option<Module> {
    let dir = absolute(dir);
    let mut paths: Vec<&str> = sources
        .iter()
        .flat_map(|s| quoted_import_paths(&s.text))
        .collect();
    paths.sort_unstable();
    paths.dedup();
    let mut resolved: HashMap<(PathBuf, String), usize> = HashMap::new();
    for path in paths {
        let elements: Vec<&str> = path.split('/').collect();
        let repository = REPOSITORY_HOSTS.contains(&elements[0]);
        for split in 2..elements.len() {
            if repository && split != 3 {
                continue;
            }
            let (module, rel) = (elements[..split].join("/"), elements[split..].join("/"));
            let root = dir
                .ancestors()
                .take(GOPATH_DEPTH)
                .find(|a| has_go_files(&a.join(&rel)));
            if let Some(root) = root {
                *resolved.entry((root.to_path_buf(), module)).or_default() += 1;
            }
        }
    }
    let named = |root: &Path, module: &str| {
        root.file_name()
            .is_some_and(|n| module.rsplit('/').next() == Some(&*n.to_string_lossy()))
    };
    let ((root, path), _) = resolved.into_iter().max_by_key(|((root, module), count)| {
        (
            *count,
            named(root, module),
            std::cmp::Reverse(module.len()),
            std::cmp::Reverse(root.clone()),
            module.clone(),
        )
    })?;
    Some(Module {
        root,
        path,
        grpc: None,
    })
}

/// The string literals before the first declaration of `text` shaped as import paths
/// outside the standard library: a first element with a dot, and more elements after it.
fn quoted_import_paths(text: &str) -> impl Iterator<Item = &str> {
    let declarations = ["\nfunc ", "\ntype ", "\nvar ", "\nconst "]
        .iter()
        .filter_map(|d| text.find(d))
        .min()
        .unwrap_or(text.len());
    text[..declarations]
        .split('"')
        .skip(1)
        .step_by(2)
        .filter(|s| {
            let mut elements = s.split('/');
            elements
                .next()
                .is_some_and(|host| host.contains('.') && !host.starts_with('.'))
                && s.contains('/')
                && s.split('/').all(|e| !e.is_empty() && e != "." && e != "..")
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "./-_~".contains(c))
        })
}

/// Whether `dir` is a directory holding a `.go` file.
fn has_go_files(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.path().extension().is_some_and(|x| x == "go"))
    })
}

/// The major and minor version `go.mod` text requires of module `path` (in a `require`
/// block or line; a `v0.0.0-…` pseudo-version counts as what it says).
fn required_version(go_mod: &str, path: &str) -> Option<(u32, u32)> {
    go_mod.lines().find_map(|line| {
        let line = line.split("//").next()?.trim();
        let line = line.strip_prefix("require").map_or(line, str::trim_start);
        let mut words = line.split_whitespace();
        if words.next()? != path {
            return None;
        }
        let mut numbers = words.next()?.strip_prefix('v')?.split(['.', '-']);
        Some((numbers.next()?.parse().ok()?, numbers.next()?.parse().ok()?))
    })
}

/// The string literals in `text` that are `module` or a path below it.
fn import_paths<'t>(text: &'t str, module: &'t str) -> impl Iterator<Item = String> + 't {
    text.match_indices('"').filter_map(move |(i, _)| {
        let rest = text[i + 1..].strip_prefix(module)?;
        let end = rest.find('"')?;
        let tail = &rest[..end];
        (tail.is_empty() || tail.starts_with('/')).then(|| format!("{module}{tail}"))
    })
}

/// The directory of import path `path` in `module`, if the path is in it.
fn module_dir(module: &Module, path: &str) -> Option<PathBuf> {
    let rel = path.strip_prefix(&module.path)?;
    let rel = rel.strip_prefix('/').unwrap_or(rel);
    if rel
        .split('/')
        .any(|c| c == ".." || c == "." || c == "testdata" || c == "vendor")
    {
        return None;
    }
    Some(module.root.join(rel))
}

/// A dependency's files: its `.go` files a build takes, tests left out, in path order.
fn files_of(dir: &Path, build: &BuildContext) -> Vec<SourceFile> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|e| e == "go")
                && !p.to_string_lossy().ends_with("_test.go")
                && p.is_file()
        })
        .collect();
    paths.sort();
    paths
        .iter()
        .filter_map(|p| SourceFile::load(p).ok())
        .filter(|s| build.includes(&s.path, &s.text))
        .collect()
}

/// A dependency as its importers' cache keys need it, and whether to summarize it.
fn load(dir: &Path, build: &BuildContext) -> Dependency {
    let files = files_of(dir, build);
    let size: usize = files.iter().map(|f| f.text.len()).sum();
    let mut hasher = blake3::Hasher::new();
    for f in &files {
        hasher.update(f.path.to_string_lossy().as_bytes());
        hasher.update(&(f.text.len() as u64).to_le_bytes());
        hasher.update(f.text.as_bytes());
    }
    Dependency {
        dir: dir.to_path_buf(),
        summarized: size <= MAX_DEPENDENCY_BYTES && files.iter().any(|f| f.text.contains("map[")),
        digest: hasher.finalize(),
        exports: OnceLock::new(),
    }
}

/// Parses and indexes a dependency (its package named by its first file's `package`
/// clause) and summarizes what it exports; nothing for one not worth it (see
/// [`Dependency::summarized`]).
fn exports_of(
    dep: &Dependency,
    apis: &Apis,
    build: &BuildContext,
    timeout: Duration,
) -> Option<Arc<PackageExports>> {
    if !dep.summarized {
        return None;
    }
    let screen = Screen::new(apis);
    let mut sources = files_of(&dep.dir, build);
    let name = screen.scan(&sources.first()?.text).package;
    sources.retain(|f| screen.scan(&f.text).package == name);
    let parsed: Vec<_> = sources
        .iter()
        .filter_map(|s| {
            let deadline = Instant::now() + timeout;
            parse(&s.text, Some(deadline)).ok().map(|p| (s, p.tree))
        })
        .collect();
    let files: Vec<ParsedFile<'_>> = parsed
        .iter()
        .map(|(source, tree)| ParsedFile { source, tree })
        .collect();
    let (facts, _) = index_package(&name, &files, apis, &Imports::default());
    Some(Arc::new(summarize(&facts)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_paths_are_the_module_and_paths_below_it() {
        let text =
            r#"import ("fmt"; "example.com/app/store"; "example.com/app"; "example.com/apps/x")"#;
        let found: Vec<String> = import_paths(text, "example.com/app").collect();
        assert_eq!(found, ["example.com/app/store", "example.com/app"]);
    }

    #[test]
    fn required_versions_are_read_from_require_lines_and_blocks() {
        let go_mod = "module example.com/app\n\ngo 1.21\n\nrequire (\n\tgithub.com/x/y v0.3.0\n\
                      \tgoogle.golang.org/grpc v1.29.1 // indirect\n)\n";
        assert_eq!(
            required_version(go_mod, "google.golang.org/grpc"),
            Some((1, 29))
        );
        let go_mod = "module m\nrequire google.golang.org/grpc v1.64.0\n";
        assert_eq!(
            required_version(go_mod, "google.golang.org/grpc"),
            Some((1, 64))
        );
        let go_mod = "module m\nrequire google.golang.org/grpc/examples v0.0.0\n";
        assert_eq!(required_version(go_mod, "google.golang.org/grpc"), None);
    }

    #[test]
    fn module_paths_map_to_directories_inside_the_module() {
        let module = Module {
            root: PathBuf::from("/src/app"),
            path: "example.com/app".to_string(),
            grpc: None,
        };
        assert_eq!(
            module_dir(&module, "example.com/app/internal/store"),
            Some(PathBuf::from("/src/app/internal/store"))
        );
        assert_eq!(module_dir(&module, "example.com/app/../etc"), None);
    }
}
