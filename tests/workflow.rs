//! The flags a repository's CI relies on: several reports from one run, paths relative to
//! the repository root, new findings only (against a git revision), warnings that fail the
//! run, and a time limit.

use std::path::Path;
use std::process::{Command, Output};

mod common;

use common::stderr;

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A package where two goroutines write one map.
const RACY: &str = "package svc\n\nfunc Count() {\n\tm := map[int]int{}\n\tfor i := range 4 {\n\t\tgo func() { m[i] = i }()\n\t}\n}\n";

/// Another racy function, for a second file.
const RACY_TOO: &str = "package svc\n\nfunc Tally() {\n\tt := map[int]int{}\n\tfor i := range 4 {\n\t\tgo func() { t[i] = i }()\n\t}\n}\n";

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

#[test]
fn several_reports_come_from_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let sarif = dir.path().join("out.sarif");
    let spec = format!("sarif={}", sarif.display());
    let o = common::run(
        &[
            "check",
            "--format",
            "short",
            "--format",
            &spec,
            "fixtures/loop_counter",
        ],
        Path::new(env!("CARGO_MANIFEST_DIR")),
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stdout(&o).contains(": MG001 "), "{}", stdout(&o));
    let sarif: serde_json::Value = serde_json::from_slice(&std::fs::read(&sarif).unwrap()).unwrap();
    assert_eq!(sarif["runs"][0]["results"][0]["ruleId"], "MG001");
    let two_stdout = common::run(
        &[
            "check",
            "--format",
            "short",
            "--format",
            "json",
            "fixtures/loop_counter",
        ],
        Path::new(env!("CARGO_MANIFEST_DIR")),
    );
    assert_eq!(two_stdout.status.code(), Some(2));
    assert!(stderr(&two_stdout).contains("only one --format"));
    let bad = common::run(
        &["check", "--format", "xml", "fixtures/loop_counter"],
        Path::new(env!("CARGO_MANIFEST_DIR")),
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("unknown format `xml`"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn new_from_rev_reports_only_what_the_revision_did_not_have() {
    let repo = tempfile::tempdir().unwrap();
    let svc = repo.path().join("svc");
    std::fs::create_dir(&svc).unwrap();
    std::fs::write(svc.join("count.go"), RACY).unwrap();
    git(repo.path(), &["init", "-q"]);
    git(repo.path(), &["add", "."]);
    git(repo.path(), &["commit", "-q", "-m", "old race"]);
    std::fs::write(svc.join("tally.go"), RACY_TOO).unwrap();
    // Moving the old race down keeps its fingerprint: it is not new.
    std::fs::write(svc.join("count.go"), format!("// moved\n{RACY}")).unwrap();
    let run = |dir: &Path, args: &[&str]| {
        let mut all = vec!["check", "--no-cache", "--format", "short"];
        all.extend_from_slice(args);
        common::run(&all, dir)
    };
    let everything = run(repo.path(), &["./..."]);
    assert_eq!(
        stdout(&everything).lines().count(),
        2,
        "{}",
        stdout(&everything)
    );
    let new = run(repo.path(), &["--new-from-rev", "HEAD", "./..."]);
    assert_eq!(new.status.code(), Some(1), "{}", stderr(&new));
    let lines: Vec<String> = stdout(&new).lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].starts_with("svc/tally.go:6:"), "{lines:?}");
    // From a subdirectory, with paths relative to the repository root.
    let sub = run(
        &svc,
        &["--new-from-rev", "HEAD", "--path-prefix", "svc", "."],
    );
    let lines: Vec<String> = stdout(&sub).lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].starts_with("svc/tally.go:6:"), "{lines:?}");
    // The worktree is untouched and the revision must exist.
    assert!(std::fs::read_to_string(svc.join("count.go"))
        .unwrap()
        .starts_with("// moved"));
    let missing = run(repo.path(), &["--new-from-rev", "no-such-branch", "./..."]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("no-such-branch"),
        "{}",
        stderr(&missing)
    );
}

#[test]
fn warnings_fail_the_run_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("broken.go"),
        "package p\n\nfunc f() { go }\n",
    )
    .unwrap();
    let plain = common::run(&["check", "--no-cache", "."], dir.path());
    assert_eq!(plain.status.code(), Some(0), "{}", stderr(&plain));
    assert!(stderr(&plain).contains("warning"), "{}", stderr(&plain));
    let strict = common::run(
        &["check", "--no-cache", "--fail-on-warnings", "."],
        dir.path(),
    );
    assert_eq!(strict.status.code(), Some(1), "{}", stderr(&strict));
}

#[test]
fn a_run_past_its_timeout_is_an_error() {
    // A package large enough that analysis cannot finish in a millisecond.
    let dir = tempfile::tempdir().unwrap();
    let body: String = (0..3000)
        .map(|i| format!("\tgo func() {{ m[{i}] = {i} }}()\n"))
        .collect();
    let text = format!("package p\n\nfunc Run() {{\n\tm := map[int]int{{}}\n{body}}}\n");
    std::fs::write(dir.path().join("p.go"), text).unwrap();
    let o = common::run(
        &["check", "--no-cache", "--timeout", "0.001", "."],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("timed out"), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    let bad = common::run(&["check", "--timeout", "0", "."], dir.path());
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn recursion_leaves_out_other_modules_and_what_git_ignores() {
    let repo = tempfile::tempdir().unwrap();
    let root = repo.path();
    std::fs::create_dir(root.join(".git")).unwrap();
    std::fs::write(root.join(".gitignore"), "/build/\n").unwrap();
    std::fs::write(root.join("go.mod"), "module example.com/app\n").unwrap();
    for dir in ["build", "tools", "svc"] {
        std::fs::create_dir(root.join(dir)).unwrap();
        std::fs::write(root.join(dir).join("count.go"), RACY).unwrap();
    }
    std::fs::write(root.join("tools/go.mod"), "module example.com/tools\n").unwrap();
    let files = |args: &[&str]| {
        let mut all = vec!["check", "--no-cache", "--format", "short"];
        all.extend_from_slice(args);
        let mut files: Vec<String> = stdout(&common::run(&all, root))
            .lines()
            .filter_map(|l| l.split(':').next().map(str::to_string))
            .collect();
        files.dedup();
        files
    };
    assert_eq!(files(&["./..."]), ["svc/count.go"]);
    let note = stderr(&common::run(&["check", "--no-cache", "./..."], root));
    assert!(
        note.contains("1 nested module not entered") && note.contains("tools/..."),
        "{note}"
    );
    assert_eq!(
        files(&["--no-ignore", "./..."]),
        ["build/count.go", "svc/count.go"]
    );
    // A module named explicitly is analyzed; so is one the workspace uses.
    assert_eq!(files(&["./tools/..."]), ["tools/count.go"]);
    std::fs::write(
        root.join("go.work"),
        "go 1.27\n\nuse (\n\t.\n\t./tools\n)\n",
    )
    .unwrap();
    assert_eq!(files(&["./..."]), ["svc/count.go", "tools/count.go"]);
}

#[test]
fn packages_see_the_packages_of_their_module_from_its_root() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/cross_package_store");
    std::fs::create_dir_all(root.join("store")).unwrap();
    std::fs::copy(fixture.join("main.go"), root.join("main.go")).unwrap();
    std::fs::copy(fixture.join("store/store.go"), root.join("store/store.go")).unwrap();
    // The module path the fixture imports its store by, at the module's root this time.
    std::fs::write(
        root.join("go.mod"),
        "module mapguard.test/fixtures/cross_package_store\n",
    )
    .unwrap();
    let out = common::command(root)
        .args(["check", "--no-cache", "--format", "short", "./..."])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("main.go:19:4: MG001"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_project_without_go_mod_imports_its_packages_by_their_gopath_path() {
    let tmp = tempfile::tempdir().unwrap();
    // A GOPATH-era checkout: no go.mod, its own packages imported by the repository's path,
    // next to a package named like a third-party import's last element.
    let root = tmp.path().join("shop");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/cross_package_store");
    std::fs::create_dir_all(root.join("store")).unwrap();
    std::fs::create_dir_all(root.join("errors")).unwrap();
    let main = std::fs::read_to_string(fixture.join("main.go"))
        .unwrap()
        .replace(
            "\"mapguard.test/fixtures/cross_package_store/store\"",
            "\"github.com/acme/shop/store\"\n\t_ \"github.com/pkg/errors\"",
        );
    std::fs::write(root.join("main.go"), main).unwrap();
    std::fs::copy(fixture.join("store/store.go"), root.join("store/store.go")).unwrap();
    std::fs::write(root.join("errors/errors.go"), "package errors\n").unwrap();
    let out = common::command(&root)
        .args(["check", "--no-cache", "--format", "short", "./..."])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("main.go:20:4: MG001"),
        "{}",
        stdout(&out)
    );
}
