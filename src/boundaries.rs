//! What a recursive pattern (`dir/...`) does not enter besides the go tool's skipped
//! directories: a module nested in another (a directory with its own `go.mod` below a
//! module's directory, unless the `go.work` workspace uses it; from outside any module, as
//! in `examples/...`, each module below is entered), and, inside a git repository, what its
//! `.gitignore` files and `.git/info/exclude` ignore (the `ignore` crate's matcher, as
//! ripgrep reads them).

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use ignore::Match;

/// The boundaries below one pattern's root.
pub struct Boundaries {
    /// The walk's root, absolute.
    root: PathBuf,
    /// Whether the root is in a module (it or a parent has a `go.mod`).
    in_module: bool,
    /// Modules the workspace (`go.work`) uses, absolute.
    workspace: BTreeSet<PathBuf>,
    /// The git repository's top directory, when the root is in one and ignore files count.
    repository: Option<PathBuf>,
    /// Each directory's ignore matcher, read once.
    matchers: RefCell<HashMap<PathBuf, Gitignore>>,
    /// The nested modules left out, as the walk met them.
    skipped: RefCell<Vec<PathBuf>>,
}

impl Boundaries {
    /// The boundaries for a walk from `root`; `gitignore` says whether ignore files count.
    pub fn new(root: &Path, gitignore: bool) -> Self {
        let root = absolute(root);
        let repository = gitignore
            .then(|| root.ancestors().find(|d| d.join(".git").exists()))
            .flatten()
            .map(Path::to_path_buf);
        Boundaries {
            in_module: root.ancestors().any(|d| d.join("go.mod").is_file()),
            workspace: workspace_modules(&root),
            repository,
            matchers: RefCell::new(HashMap::new()),
            skipped: RefCell::new(Vec::new()),
            root,
        }
    }

    /// Whether the walk leaves out `path` (below the root; `dir` when it is a directory).
    pub fn excludes(&self, path: &Path, dir: bool) -> bool {
        let absolute = absolute(path);
        if dir && self.nested_module(&absolute) {
            self.skipped.borrow_mut().push(path.to_path_buf());
            return true;
        }
        self.ignored(&absolute, dir)
    }

    /// The nested modules the walk left out, as it named them.
    pub fn skipped_modules(self) -> Vec<PathBuf> {
        self.skipped.into_inner()
    }

    /// Whether `dir` is a module of its own inside another one that the workspace does not
    /// use.
    fn nested_module(&self, dir: &Path) -> bool {
        dir.join("go.mod").is_file()
            && !self.workspace.contains(dir)
            && (self.in_module
                || dir
                    .ancestors()
                    .skip(1)
                    .take_while(|a| a.starts_with(&self.root) && *a != self.root)
                    .any(|a| a.join("go.mod").is_file()))
    }

    /// Git's verdict: the deepest ignore file with a matching pattern decides.
    fn ignored(&self, path: &Path, dir: bool) -> bool {
        let Some(top) = &self.repository else {
            return false;
        };
        let mut matchers = self.matchers.borrow_mut();
        for d in path.ancestors().skip(1) {
            if !d.starts_with(top) {
                break;
            }
            let matcher = matchers
                .entry(d.to_path_buf())
                .or_insert_with(|| matcher_of(d, d == top));
            match matcher.matched(path, dir) {
                Match::Ignore(_) => return true,
                Match::Whitelist(_) => return false,
                Match::None => {}
            }
        }
        false
    }
}

/// The matcher of one directory's `.gitignore` (and, at the top, `.git/info/exclude`).
/// An unreadable or malformed file ignores what could be read of it.
fn matcher_of(dir: &Path, top: bool) -> Gitignore {
    let mut builder = GitignoreBuilder::new(dir);
    let mut files = vec![dir.join(".gitignore")];
    if top {
        files.push(dir.join(".git/info/exclude"));
    }
    for file in files.iter().filter(|f| f.is_file()) {
        let _ = builder.add(file);
    }
    builder.build().unwrap_or_else(|_| Gitignore::empty())
}

/// The modules a `go.work` in `root` or above uses (`use ./a`, `use ( ./a ./b )`), absolute.
fn workspace_modules(root: &Path) -> BTreeSet<PathBuf> {
    let Some(work) = root
        .ancestors()
        .map(|d| d.join("go.work"))
        .find(|f| f.is_file())
    else {
        return BTreeSet::new();
    };
    let dir = work.parent().unwrap_or(Path::new("/"));
    let text = std::fs::read_to_string(&work).unwrap_or_default();
    let mut modules = BTreeSet::new();
    let mut in_block = false;
    for line in text.lines() {
        let line = line.split("//").next().unwrap_or("").trim();
        let paths = if in_block {
            if line.starts_with(')') {
                in_block = false;
                continue;
            }
            line
        } else if let Some(rest) = line.strip_prefix("use") {
            let rest = rest.trim();
            match rest.strip_prefix('(') {
                Some(inside) => {
                    in_block = true;
                    inside
                }
                None => rest,
            }
        } else {
            continue;
        };
        for p in paths.split_whitespace() {
            modules.insert(absolute(&dir.join(p.trim_matches('"'))));
        }
    }
    modules
}

/// An absolute path without `.` and `..` components (the file system is not consulted).
fn absolute(path: &Path) -> PathBuf {
    let full = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for c in full.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, path: &str, text: &str) {
        let full = root.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, text).unwrap();
    }

    #[test]
    fn nested_modules_are_left_unless_the_workspace_uses_them() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        write(root, "go.mod", "module a\n");
        write(root, "tools/go.mod", "module tools\n");
        write(root, "api/go.mod", "module api\n");
        write(root, "pkg/x.go", "package pkg\n");
        let b = Boundaries::new(root, true);
        assert!(b.excludes(&root.join("tools"), true));
        assert!(b.excludes(&root.join("api"), true));
        assert!(!b.excludes(&root.join("pkg"), true));
        write(
            root,
            "go.work",
            "go 1.27\n\nuse (\n\t.\n\t./api // the API module\n)\n",
        );
        let b = Boundaries::new(root, true);
        assert!(b.excludes(&root.join("tools"), true));
        assert!(!b.excludes(&root.join("api"), true));
    }

    #[test]
    fn from_outside_any_module_each_module_below_is_entered() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("examples");
        write(&root, "shop/go.mod", "module shop\n");
        write(&root, "shop/tools/go.mod", "module tools\n");
        let b = Boundaries::new(&root, true);
        assert!(!b.excludes(&root.join("shop"), true));
        assert!(b.excludes(&root.join("shop/tools"), true));
    }

    #[test]
    fn gitignore_counts_inside_a_repository_only() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        write(root, ".gitignore", "build/\n*_gen.go\n!keep_gen.go\n");
        write(root, "svc/.gitignore", "local.go\n");
        let outside = Boundaries::new(root, true);
        assert!(!outside.excludes(&root.join("build"), true));
        std::fs::create_dir(root.join(".git")).unwrap();
        let b = Boundaries::new(root, true);
        assert!(b.excludes(&root.join("build"), true));
        assert!(b.excludes(&root.join("svc/x_gen.go"), false));
        assert!(!b.excludes(&root.join("svc/keep_gen.go"), false));
        assert!(b.excludes(&root.join("svc/local.go"), false));
        assert!(!b.excludes(&root.join("local.go"), false));
        assert!(!b.excludes(&root.join("svc/x.go"), false));
        let off = Boundaries::new(root, false);
        assert!(!off.excludes(&root.join("build"), true));
    }
}
