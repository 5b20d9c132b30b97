//! Discovery: turns command-line paths and `dir/...` patterns into directories of Go files.
//!
//! Follows the go tool's conventions: a `.go` file names itself, a directory names the
//! package in it, `dir/...` names every package below `dir`; when recursing, `vendor`,
//! `testdata` and directories starting with `.` or `_` are skipped, and so are files
//! starting with `.` or `_`, other modules and what git ignores ([`crate::boundaries`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use walkdir::WalkDir;

use crate::boundaries::Boundaries;

/// The Go files of one directory that a run analyzes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageDir {
    /// The directory, as the user named it (normalized).
    pub dir: PathBuf,
    /// Its Go files, sorted.
    pub files: Vec<PathBuf>,
}

/// What a path on the command line failed to name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoverError {
    /// The argument as given.
    pub arg: String,
    /// What is wrong with it.
    pub reason: String,
}

impl std::fmt::Display for DiscoverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.arg, self.reason)
    }
}

/// A problem met while walking that does not stop the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalkWarning {
    /// The path concerned.
    pub path: PathBuf,
    /// What went wrong.
    pub message: String,
}

/// The directories to analyze, with the warnings met while walking.
#[derive(Debug, Default)]
pub struct Discovery {
    /// Directories with their Go files, sorted by path, each file listed once.
    pub dirs: Vec<PackageDir>,
    /// Files named one by one: their whole package is analyzed (a race spans files), but
    /// findings are reported only in these files (pre-commit passes the changed files).
    /// Empty when every named path reports everything.
    pub focus: BTreeSet<PathBuf>,
    /// Unreadable directories and similar problems.
    pub warnings: Vec<WalkWarning>,
    /// Modules nested below a recursive pattern's root, not entered (name them to).
    pub skipped_modules: Vec<PathBuf>,
}

/// Resolves the command-line paths; no paths means `./...`. With `gitignore`, a recursive
/// pattern inside a git repository leaves out what its ignore files ignore.
pub fn discover(args: &[String], gitignore: bool) -> Result<Discovery, DiscoverError> {
    let default = ["./...".to_string()];
    let args = if args.is_empty() { &default[..] } else { args };
    let mut files: BTreeMap<PathBuf, Vec<PathBuf>> = BTreeMap::new();
    let mut warnings = Vec::new();
    let mut focus = BTreeSet::new();
    let mut whole_dirs = BTreeSet::new();
    let mut skipped_modules = Vec::new();
    for arg in args {
        let (root, recursive) = split_pattern(arg);
        let meta = std::fs::metadata(&root).map_err(|e| DiscoverError {
            arg: arg.clone(),
            reason: match e.kind() {
                std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
                _ => e.to_string(),
            },
        })?;
        if meta.is_file() {
            if recursive || !is_go_file_name(&root) {
                return Err(DiscoverError {
                    arg: arg.clone(),
                    reason: "not a .go file or a directory".to_string(),
                });
            }
            let dir = match root.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            };
            for sibling in go_files_in(&dir) {
                files.entry(dir.clone()).or_default().push(sibling);
            }
            focus.insert(root);
            continue;
        }
        let boundaries = recursive.then(|| Boundaries::new(&root, gitignore));
        let walker = WalkDir::new(&root)
            .min_depth(1)
            .max_depth(if recursive { usize::MAX } else { 1 })
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| {
                let dir = e.file_type().is_dir();
                !(dir && is_skipped_dir(e.file_name()))
                    && boundaries
                        .as_ref()
                        .is_none_or(|b| !b.excludes(e.path(), dir))
            });
        for entry in walker {
            match entry {
                // A symlinked file counts, as for the go tool; one whose target is gone is
                // reported when it cannot be read, not silently dropped.
                Ok(e)
                    if (e.file_type().is_file() || e.path_is_symlink())
                        && is_go_file_name(e.path()) =>
                {
                    let path = normalize(e.path());
                    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
                    whole_dirs.insert(dir.clone());
                    files.entry(dir).or_default().push(path);
                }
                Ok(_) => {}
                Err(e) => warnings.push(WalkWarning {
                    path: e.path().map(normalize).unwrap_or_else(|| root.clone()),
                    message: e
                        .io_error()
                        .map_or_else(|| e.to_string(), |io| io.to_string()),
                }),
            }
        }
        if let Some(b) = boundaries {
            skipped_modules.extend(b.skipped_modules());
        }
    }
    let dirs = files
        .into_iter()
        .map(|(dir, mut files)| {
            files.sort();
            files.dedup();
            PackageDir { dir, files }
        })
        .collect();
    // A directory also named as a whole reports all its findings.
    focus.retain(|f: &PathBuf| !f.parent().is_some_and(|d| whole_dirs.contains(d)));
    Ok(Discovery {
        dirs,
        focus,
        warnings,
        skipped_modules,
    })
}

/// The Go files directly in a directory, by the go tool's rules.
fn go_files_in(dir: &Path) -> Vec<PathBuf> {
    WalkDir::new(dir)
        .min_depth(1)
        .max_depth(1)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| (e.file_type().is_file() || e.path_is_symlink()) && is_go_file_name(e.path()))
        .map(|e| normalize(e.path()))
        .collect()
}

/// Splits `dir/...` into (`dir`, recursive).
fn split_pattern(arg: &str) -> (PathBuf, bool) {
    let (root, recursive) = match arg.strip_suffix("...") {
        Some(rest) if rest.is_empty() || rest.ends_with('/') => (rest, true),
        _ => (arg, false),
    };
    let root = if root.is_empty() { "." } else { root };
    (normalize(Path::new(root)), recursive)
}

/// Removes `.` components so that one file reached two ways has one path.
fn normalize(path: &Path) -> PathBuf {
    let cleaned: PathBuf = path
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect();
    if cleaned.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        cleaned
    }
}

fn is_skipped_dir(name: &std::ffi::OsStr) -> bool {
    let name = name.to_string_lossy();
    name == "vendor" || name == "testdata" || name.starts_with('.') || name.starts_with('_')
}

fn is_go_file_name(path: &Path) -> bool {
    let Some(name) = path.file_name().map(|n| n.to_string_lossy()) else {
        return false;
    };
    name.ends_with(".go") && !name.starts_with('.') && !name.starts_with('_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_split() {
        assert_eq!(split_pattern("./..."), (PathBuf::from("."), true));
        assert_eq!(split_pattern("..."), (PathBuf::from("."), true));
        assert_eq!(split_pattern("a/b/..."), (PathBuf::from("a/b"), true));
        assert_eq!(split_pattern("a/b"), (PathBuf::from("a/b"), false));
        assert_eq!(split_pattern("a..."), (PathBuf::from("a..."), false));
    }

    #[test]
    fn go_tool_skip_rules() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        for d in ["p", "p/vendor", "p/testdata", "p/.hidden", "p/_old", "p/q"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
            std::fs::write(root.join(d).join("x.go"), "package x\n").unwrap();
        }
        std::fs::write(root.join("p/_skip.go"), "package x\n").unwrap();
        let pattern = format!("{}/p/...", root.display());
        let found = discover(&[pattern.clone(), pattern], true).unwrap();
        let dirs: Vec<_> = found
            .dirs
            .iter()
            .map(|d| d.dir.strip_prefix(root).unwrap().to_path_buf())
            .collect();
        assert_eq!(dirs, vec![PathBuf::from("p"), PathBuf::from("p/q")]);
        assert_eq!(found.dirs[0].files.len(), 1);
        let named = discover(&[format!("{}/p/testdata", root.display())], true).unwrap();
        assert_eq!(named.dirs.len(), 1);
    }

    #[test]
    fn missing_path_is_an_error() {
        let err = discover(&["does/not/exist".to_string()], true).unwrap_err();
        assert_eq!(err.arg, "does/not/exist");
    }
}
