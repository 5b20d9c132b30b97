//! The command line as users run it: exit codes, output files, formats, rules, errors.

use std::path::Path;
use std::process::{Command, Output};

mod common;

use common::stderr;

fn mapguard(args: &[&str]) -> Output {
    common::run(args, Path::new(env!("CARGO_MANIFEST_DIR")))
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn exit_code_is_1_with_findings_and_0_without() {
    let racy = mapguard(&["check", "fixtures/loop_counter"]);
    assert_eq!(racy.status.code(), Some(1), "{}", stderr(&racy));
    assert!(stdout(&racy).contains("error[MG001]"));
    let safe = mapguard(&["check", "fixtures/loop_counter_mutex"]);
    assert_eq!(safe.status.code(), Some(0), "{}", stderr(&safe));
    assert!(stdout(&safe).starts_with("no findings;"));
}

#[test]
fn select_ignore_exclude_and_exit_zero_shape_the_run() {
    // fixtures/write_under_rlock reports MG001 and MG004 at one write.
    let rules = |args: &[&str]| {
        let mut all = vec!["check", "--format", "short"];
        all.extend_from_slice(args);
        all.push("fixtures/write_under_rlock");
        let o = mapguard(&all);
        let mut ids: Vec<String> = stdout(&o)
            .lines()
            .filter_map(|l| l.split_whitespace().nth(1).map(str::to_string))
            .collect();
        ids.sort();
        (o.status.code(), ids)
    };
    assert_eq!(rules(&[]), (Some(1), vec!["MG001".into(), "MG004".into()]));
    assert_eq!(
        rules(&["--select", "mg004"]),
        (Some(1), vec!["MG004".into()])
    );
    assert_eq!(rules(&["--ignore", "MG001,MG004"]), (Some(0), vec![]));
    assert_eq!(
        rules(&["--exit-zero"]),
        (Some(0), vec!["MG001".into(), "MG004".into()])
    );
    assert_eq!(rules(&["--exclude", "**/main.go"]), (Some(0), vec![]));
    let bad = mapguard(&["check", "--select", "MG9", "fixtures/write_under_rlock"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("unknown rule `MG9`"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn build_constraints_choose_the_files_like_the_go_tool() {
    // The package's racy code is in a `//go:build ignore` generator and a Windows variant.
    let run = |tags: &str, goos: &str| {
        let o = common::command(Path::new(env!("CARGO_MANIFEST_DIR")))
            .args(["check", "--format", "short", "--tags", tags])
            .arg("fixtures/build_constrained_variants")
            .env("GOOS", goos)
            .output()
            .unwrap();
        let mut files: Vec<String> = stdout(&o)
            .lines()
            .filter_map(|l| l.split(':').next().map(str::to_string))
            .collect();
        files.dedup();
        (o.status.code(), files)
    };
    let dir = "fixtures/build_constrained_variants";
    assert_eq!(run("", "linux"), (Some(0), vec![]));
    assert_eq!(
        run("ignore", "linux"),
        (Some(1), vec![format!("{dir}/gen.go")])
    );
    assert_eq!(
        run("", "windows"),
        (Some(1), vec![format!("{dir}/platform_windows.go")])
    );
}

#[test]
fn a_missing_path_is_an_error_naming_it() {
    let o = mapguard(&["check", "no/such/dir"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no/such/dir"), "{}", stderr(&o));
}

#[test]
fn bad_flags_exit_2() {
    assert_eq!(
        mapguard(&["check", "--format", "xml"]).status.code(),
        Some(2)
    );
    assert_eq!(
        mapguard(&["check", "--jobs", "0", "fixtures/loop_counter"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn output_goes_to_the_named_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.sarif");
    let o = mapguard(&[
        "check",
        "--format",
        "sarif",
        "--output",
        out.to_str().unwrap(),
        "fixtures/loop_counter",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    let sarif: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(sarif["runs"][0]["results"][0]["ruleId"], "MG001");
    let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(leftovers, 1, "no temporary file is left behind");
}

/// Runs `mapguard check --format json -o OUT fixtures/loop_counter` under `sh` with the
/// given umask.
#[cfg(unix)]
fn report_to(out: &Path, umask: &str) -> Output {
    let command = common::command(Path::new(env!("CARGO_MANIFEST_DIR")));
    let program = command.get_program().to_owned();
    Command::new("sh")
        .arg("-c")
        .arg(format!("umask {umask}; exec \"$0\" \"$@\""))
        .arg(program)
        .args(["check", "--format", "json", "-o"])
        .arg(out)
        .arg("fixtures/loop_counter")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .envs(command.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .output()
        .unwrap()
}

#[cfg(unix)]
#[test]
fn output_files_keep_their_kind_and_mode() {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = tempfile::tempdir().unwrap();

    let new = dir.path().join("new.json");
    assert_eq!(report_to(&new, "022").status.code(), Some(1));
    assert_eq!(mode(&new), 0o644, "a new report honours the umask");

    let shared = dir.path().join("shared.json");
    std::fs::write(&shared, "old").unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o664)).unwrap();
    assert_eq!(report_to(&shared, "077").status.code(), Some(1));
    assert_eq!(mode(&shared), 0o664, "an existing report keeps its mode");
    assert!(std::fs::read_to_string(&shared).unwrap().contains("MG001"));

    let target = dir.path().join("target.json");
    std::fs::write(&target, "").unwrap();
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    assert_eq!(report_to(&link, "022").status.code(), Some(1));
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(std::fs::read_to_string(&target).unwrap().contains("MG001"));

    let fifo = dir.path().join("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    assert_eq!(report_to(&fifo, "022").status.code(), Some(1));
    assert!(reader.join().unwrap().contains("MG001"));
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());

    let null = report_to(Path::new("/dev/null"), "022");
    assert_eq!(null.status.code(), Some(1), "{}", stderr(&null));
    assert!(std::fs::metadata("/dev/null")
        .unwrap()
        .file_type()
        .is_char_device());
    if Path::new("/dev/full").exists() {
        let full = report_to(Path::new("/dev/full"), "022");
        assert_eq!(full.status.code(), Some(2), "a failed write is an error");
        assert!(stderr(&full).contains("/dev/full"));
        assert!(std::fs::metadata("/dev/full")
            .unwrap()
            .file_type()
            .is_char_device());
    }

    let as_dash = mapguard(&[
        "check",
        "--format",
        "json",
        "-o",
        "-",
        "fixtures/loop_counter",
    ]);
    assert_eq!(as_dash.status.code(), Some(1));
    assert!(stdout(&as_dash).contains("MG001"));
    assert!(!Path::new(env!("CARGO_MANIFEST_DIR")).join("-").exists());
}

#[test]
fn explain_prints_the_rule_doc_and_rules_lists_them() {
    let o = mapguard(&["explain", "mg001"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        stdout(&o),
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/MG001.md"))
            .unwrap()
    );
    let unknown = mapguard(&["explain", "MG999"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("MG001"));
    let list = stdout(&mapguard(&["rules"]));
    assert!(list.contains("MG001") && list.contains("MG002"));
    let by_name = mapguard(&["explain", "concurrent-map-read-write"]);
    assert!(
        stdout(&by_name).starts_with("# MG002"),
        "{}",
        stdout(&by_name)
    );
    let json: serde_json::Value =
        serde_json::from_slice(&mapguard(&["rules", "--format", "json"]).stdout).unwrap();
    assert_eq!(json[0]["id"], "MG001");
    assert_eq!(json[0]["name"], "concurrent-map-write");
    assert_eq!(json.as_array().unwrap().len(), list.lines().count());
}

#[test]
fn a_reader_that_stops_early_is_not_an_error() {
    use std::process::Stdio;
    for args in [
        &["explain", "MG001"][..],
        &["rules"],
        &["check", "fixtures/..."],
    ] {
        let mut child = common::command(Path::new(env!("CARGO_MANIFEST_DIR")))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let o = child.wait_with_output().unwrap();
        assert!(
            matches!(o.status.code(), Some(0 | 1)),
            "{args:?}: {:?} {}",
            o.status,
            stderr(&o)
        );
        assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    }
}

#[test]
fn colour_follows_the_flag() {
    let always = mapguard(&["check", "--color", "always", "fixtures/loop_counter"]);
    assert!(stdout(&always).contains('\u{1b}'));
    let never = mapguard(&["check", "--color", "never", "fixtures/loop_counter"]);
    assert!(!stdout(&never).contains('\u{1b}'));
    // Not a terminal: auto means no colour.
    let auto = mapguard(&["check", "fixtures/loop_counter"]);
    assert!(!stdout(&auto).contains('\u{1b}'));
}

#[test]
fn output_is_identical_for_any_thread_count() {
    for format in ["short", "json", "sarif", "github"] {
        let one = mapguard(&["check", "-j", "1", "--format", format, "fixtures/..."]);
        let two = mapguard(&["check", "-j", "2", "--format", format, "fixtures/..."]);
        let eight = mapguard(&["check", "-j", "8", "--format", format, "fixtures/..."]);
        assert_eq!(one.stdout, two.stdout, "{format}");
        assert_eq!(one.stdout, eight.stdout, "{format}");
        assert!(!one.stdout.is_empty());
    }
}

#[test]
fn short_and_github_formats_follow_their_conventions() {
    let short = stdout(&mapguard(&[
        "check",
        "--format",
        "short",
        "fixtures/loop_counter",
    ]));
    assert!(
        short.starts_with("fixtures/loop_counter/main.go:17:4: MG001 "),
        "{short}"
    );
    let github = stdout(&mapguard(&[
        "check",
        "--format",
        "github",
        "fixtures/loop_counter",
    ]));
    assert!(
        github.starts_with(
            "::error file=fixtures/loop_counter/main.go,line=17,col=4,endLine=17,endColumn=13,title=MG001 concurrent-map-write::"
        ),
        "{github}"
    );
}

#[test]
fn broken_and_unreadable_files_are_warnings_not_crashes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("broken.go"),
        "package p\n\nfunc f( {\n\tm := map[int]int{}\n\tgo func() { m[1] = 1 }()\n\tm[2] = 2\n}\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("latin1.go"), b"package p\n// caf\xe9\n").unwrap();
    let o = mapguard(&["check", "--format", "short", dir.path().to_str().unwrap()]);
    let err = stderr(&o);
    assert!(err.contains("broken.go:3:"), "{err}");
    assert!(err.contains("syntax error"), "{err}");
    assert!(err.contains("latin1.go: warning: not valid UTF-8"), "{err}");
    assert_ne!(o.status.code(), Some(2));
}

#[test]
fn a_directory_without_go_files_is_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let o = mapguard(&["check", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("no Go files"));
}

#[test]
fn named_files_analyze_their_package_but_report_only_what_concerns_them() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("start.go"),
        "package p\n\nfunc Start(m map[int]int) {\n\tgo write(m)\n\tm[1] = 2\n}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("write.go"),
        "package p\n\nfunc write(m map[int]int) {\n\tm[0] = 1\n}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("other.go"),
        "package p\n\nfunc Other(n map[int]int) {\n\tgo func() { n[0] = 1 }()\n\tn[1] = 2\n}\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_mapguard"))
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // The race needs write.go to be seen, but only start.go was passed: the write in
    // write.go races with start.go's and its goroutine starts there, so it is reported
    // too; other.go's race has no location in start.go.
    let one = run(&["check", "--format", "short", "start.go"]);
    assert!(one.starts_with("start.go:5:2: MG001"), "{one}");
    assert!(one.lines().any(|l| l.starts_with("write.go:4:2")), "{one}");
    assert!(!one.lines().any(|l| l.starts_with("other.go")), "{one}");
    let unchanged = run(&["check", "--format", "short", "other.go"]);
    assert!(
        !unchanged
            .lines()
            .any(|l| l.starts_with("start.go") || l.starts_with("write.go")),
        "{unchanged}"
    );
    assert!(
        unchanged.lines().any(|l| l.starts_with("other.go")),
        "{unchanged}"
    );
    let package = run(&["check", "--format", "short", "start.go", "."]);
    assert!(
        package.lines().any(|l| l.starts_with("write.go:4:2")),
        "{package}"
    );
}
