//! Mapping a log's paths (the build machine's: `/home/runner/work/app/app/x.go`,
//! `/go/src/app/x.go`) onto the local checkout: by `--trim-prefix`, by the path itself when
//! it exists under a root, else by the longest matching suffix of path components.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use crate::source::display_path;

/// The Go files of the checkout, by file name.
pub struct Checkout {
    roots: Vec<PathBuf>,
    by_name: HashMap<String, Vec<String>>,
    trim_prefixes: Vec<String>,
}

impl Checkout {
    /// Indexes the Go files under `roots` (hidden directories and `node_modules` left out).
    pub fn scan(roots: &[PathBuf], trim_prefixes: &[String]) -> Checkout {
        let mut by_name: HashMap<String, Vec<String>> = HashMap::new();
        for root in roots {
            let walk = WalkDir::new(root).sort_by_file_name().into_iter();
            let entries = walk.filter_entry(|e| {
                let name = e.file_name().to_string_lossy();
                e.depth() == 0 || !(name.starts_with('.') || name == "node_modules")
            });
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy();
                if entry.file_type().is_file() && name.ends_with(".go") {
                    let path = display_path(entry.path());
                    by_name.entry(name.into_owned()).or_default().push(path);
                }
            }
        }
        for paths in by_name.values_mut() {
            paths.sort();
            paths.dedup();
        }
        Checkout {
            roots: roots.to_vec(),
            by_name,
            trim_prefixes: trim_prefixes.iter().map(|p| p.replace('\\', "/")).collect(),
        }
    }

    /// The local file (as reports print it) that a frame of `function` at `log_path` ran
    /// from, or `None` for a frame outside the checkout (the standard library, another
    /// module) or one that several local files match equally well.
    pub fn map(&self, log_path: &str, function: &str) -> Option<String> {
        let log_path = log_path.replace('\\', "/");
        let name = log_path.rsplit('/').next()?;
        let candidates = self.by_name.get(name)?;
        for prefix in &self.trim_prefixes {
            if let Some(rest) = log_path.strip_prefix(prefix.as_str()) {
                let rest = rest.trim_start_matches('/');
                return self
                    .roots
                    .iter()
                    .map(|root| display_path(&root.join(rest)))
                    .find(|p| candidates.contains(p));
            }
        }
        if let Some(local) = self.existing(&log_path, candidates) {
            return Some(local);
        }
        if is_outside_module(&log_path, function) {
            return None;
        }
        let log_parts: Vec<&str> = log_path.split('/').rev().collect();
        let mut best: Option<(usize, &String)> = None;
        let mut tied = false;
        for candidate in candidates {
            let score = candidate
                .split('/')
                .rev()
                .zip(&log_parts)
                .take_while(|(a, b)| a == *b)
                .count();
            match best {
                Some((s, _)) if score < s => {}
                Some((s, _)) if score == s => tied = true,
                _ => {
                    best = Some((score, candidate));
                    tied = false;
                }
            }
        }
        let (score, path) = best?;
        (!tied && (score >= 2 || candidates.len() == 1)).then(|| path.clone())
    }

    /// The log's path itself, when this machine produced the log.
    fn existing(&self, log_path: &str, candidates: &[String]) -> Option<String> {
        let real = Path::new(log_path).canonicalize().ok()?;
        candidates
            .iter()
            .find(|c| Path::new(c.as_str()).canonicalize().ok().as_ref() == Some(&real))
            .cloned()
    }
}

/// The first elements of the standard library's package paths (Go 1.27).
const STD_ROOTS: &[&str] = &[
    "archive",
    "arena",
    "bufio",
    "bytes",
    "cmd",
    "cmp",
    "compress",
    "container",
    "context",
    "crypto",
    "database",
    "debug",
    "embed",
    "encoding",
    "errors",
    "expvar",
    "flag",
    "fmt",
    "go",
    "hash",
    "html",
    "image",
    "index",
    "internal",
    "io",
    "iter",
    "log",
    "maps",
    "math",
    "mime",
    "net",
    "os",
    "path",
    "plugin",
    "reflect",
    "regexp",
    "runtime",
    "simd",
    "slices",
    "sort",
    "strconv",
    "strings",
    "structs",
    "sync",
    "syscall",
    "testing",
    "text",
    "time",
    "unicode",
    "unique",
    "unsafe",
    "uuid",
    "vendor",
    "weak",
];

/// Whether a frame is in the module cache or in the standard library (a package of the
/// standard library's trees, laid out as `…/src/PKG/FILE`); a GOPATH layout of the user's
/// own code (`/go/src/app/…`) is not.
fn is_outside_module(log_path: &str, function: &str) -> bool {
    if log_path.contains("/pkg/mod/") {
        return true;
    }
    let package = package_of(function);
    let first = package.split('/').next().unwrap_or_default();
    if !STD_ROOTS.contains(&first) {
        return false;
    }
    let dir = log_path.rsplit_once('/').map_or("", |(dir, _)| dir);
    dir.ends_with(&format!("/src/{package}"))
}

/// The package path of a function as the runtime prints it: `net/http.(*conn).serve` →
/// `net/http`.
fn package_of(function: &str) -> &str {
    let last_slash = function.rfind('/').map_or(0, |i| i + 1);
    function[last_slash..]
        .find('.')
        .map_or(function, |dot| &function[..last_slash + dot])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checkout(files: &[&str], trim: &[&str]) -> Checkout {
        let mut by_name: HashMap<String, Vec<String>> = HashMap::new();
        for f in files {
            let name = f.rsplit('/').next().unwrap().to_string();
            by_name.entry(name).or_default().push(f.to_string());
        }
        Checkout {
            roots: vec![PathBuf::from(".")],
            by_name,
            trim_prefixes: trim.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn paths_of_another_machine_map_by_their_longest_suffix() {
        let c = checkout(&["internal/cache/store.go", "cmd/store.go", "main.go"], &[]);
        assert_eq!(
            c.map(
                "/home/runner/work/app/app/internal/cache/store.go",
                "example.com/app/internal/cache.(*Store).Put"
            )
            .as_deref(),
            Some("internal/cache/store.go")
        );
        assert_eq!(
            c.map("/build/main.go", "main.main").as_deref(),
            Some("main.go")
        );
        assert_eq!(c.map("/build/other/store.go", "main.f"), None, "tied");
    }

    #[test]
    fn the_standard_library_and_the_module_cache_are_not_mapped() {
        let c = checkout(&["sync/map.go", "vendor/x/y.go"], &[]);
        assert_eq!(
            c.map("/usr/local/go/src/sync/map.go", "sync.(*Map).Load"),
            None
        );
        assert_eq!(
            c.map(
                "/root/go/pkg/mod/example.com/x@v1.0.0/y.go",
                "example.com/x.F"
            ),
            None
        );
    }

    #[test]
    fn trim_prefixes_map_exactly() {
        let c = checkout(&["a/main.go", "b/main.go"], &["/src/app"]);
        assert_eq!(
            c.map("/src/app/b/main.go", "main.main").as_deref(),
            Some("b/main.go")
        );
        assert_eq!(package_of("net/http.(*conn).serve"), "net/http");
        assert_eq!(package_of("main.main.func1"), "main");
    }
}
