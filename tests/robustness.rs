//! Bad input of every kind: each case must end in a clear warning or a normal result, never
//! a panic, a hang or a lost finding.

use std::path::Path;

use mapguard::run::{check, Options, Outcome, Warning, WarningKind};

mod common;

use common::run as mapguard;

const RACY: &str = "package p\n\nfunc f(m map[int]int) {\n\tfor i := 0; i < 2; i++ {\n\t\tgo func() {\n\t\t\tm[i] = i\n\t\t}()\n\t}\n}\n";

fn write(dir: &Path, name: &str, content: impl AsRef<[u8]>) {
    std::fs::write(dir.join(name), content).unwrap();
}

fn run(dir: &Path) -> Outcome {
    check(&[dir.display().to_string()], &Options::default()).unwrap()
}

#[test]
fn empty_bom_only_and_binary_files_do_not_stop_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "empty.go", "");
    write(tmp.path(), "bom.go", "\u{feff}");
    write(
        tmp.path(),
        "binary.go",
        [0u8, 159, 146, 150, 0, 255, 1, 2, 3],
    );
    write(tmp.path(), "racy.go", RACY);
    let outcome = run(tmp.path());
    assert_eq!(outcome.findings.len(), 1, "{:?}", outcome.findings);
    assert!(outcome
        .warnings
        .iter()
        .any(|w| w.path.ends_with("binary.go") && w.kind == WarningKind::Unreadable));
}

#[test]
fn crlf_line_endings_keep_positions() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "racy.go", RACY.replace('\n', "\r\n"));
    let outcome = run(tmp.path());
    assert_eq!(outcome.findings.len(), 1);
    let at = &outcome.findings[0].location;
    assert_eq!((at.start.line, at.start.column), (6, 4));
}

#[test]
fn syntax_errors_leave_the_rest_of_the_file_analyzed() {
    let tmp = tempfile::tempdir().unwrap();
    let src = format!(
        "{RACY}\nfunc broken( {{\n\tx := \n}}\n\nfunc (r *R) N[T any](v T) T {{ return v }}\n"
    );
    write(tmp.path(), "mixed.go", src);
    let outcome = run(tmp.path());
    assert_eq!(outcome.findings.len(), 1, "{:?}", outcome.warnings);
    assert_eq!(outcome.files_with_errors, 1);
    assert!(outcome
        .warnings
        .iter()
        .any(|w| w.message.contains("syntax error")));
}

#[test]
fn very_long_lines_and_deep_nesting_are_survived() {
    let tmp = tempfile::tempdir().unwrap();
    let long = format!(
        "package p\n\nvar s = \"{}\"\n\n{}",
        "x".repeat(1 << 20),
        &RACY[10..]
    );
    write(tmp.path(), "long.go", long);
    let n = 100_000;
    // A million parentheses overflowed the stack of an operand walk that recursed.
    let parens = format!(
        "package p\n\nfunc g(m map[int]int) {{\n\t_ = {}m{}[1]\n}}\n",
        "(".repeat(10 * n),
        ")".repeat(10 * n)
    );
    write(tmp.path(), "parens.go", parens);
    let blocks = format!(
        "package p\n\nfunc h() {{\n{}{}\n}}\n",
        "{".repeat(n),
        "}".repeat(n)
    );
    write(tmp.path(), "blocks.go", blocks);
    let closures = format!(
        "package p\n\nfunc k(m map[int]int) {{\n{}m[1] = 1{}\n}}\n",
        "func() {".repeat(n),
        "}()".repeat(n)
    );
    write(tmp.path(), "closures.go", closures);
    let outcome = run(tmp.path());
    assert_eq!(outcome.findings.len(), 1);
    assert!(outcome
        .warnings
        .iter()
        .any(|w| w.kind == WarningKind::Incomplete && w.message.contains("nested")));
}

#[test]
fn a_huge_generated_file_is_over_budget_and_the_run_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let unit = "func gen() { m := map[int]int{}; m[1] = 2 }\n";
    let generated = format!("package p\n\n{}", unit.repeat((20 << 20) / unit.len()));
    write(tmp.path(), "zz_generated.go", &generated);
    write(tmp.path(), "racy.go", RACY);
    let outcome = run(tmp.path());
    assert_eq!(outcome.findings.len(), 1);
    assert_eq!(outcome.files_skipped, 1);
    assert!(outcome
        .warnings
        .iter()
        .any(|w| w.kind == WarningKind::OverBudget));
    // With a larger budget the same file is analyzed.
    let options = Options {
        max_file_bytes: 64 << 20,
        file_timeout: std::time::Duration::from_secs(300),
        ..Options::default()
    };
    let outcome = check(&[tmp.path().display().to_string()], &options).unwrap();
    assert_eq!(outcome.files_skipped, 0);
    assert_eq!(outcome.files_analyzed, 2);
}

#[test]
fn a_parse_time_budget_skips_one_file_only() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "slow.go",
        format!("package p\n\nvar x = 1{}\n", " + 1".repeat(400_000)),
    );
    write(tmp.path(), "racy.go", RACY);
    let options = Options {
        file_timeout: std::time::Duration::from_micros(1),
        ..Options::default()
    };
    let outcome = check(&[tmp.path().display().to_string()], &options).unwrap();
    assert!(outcome
        .warnings
        .iter()
        .any(|w| w.path.ends_with("slow.go") && w.kind == WarningKind::OverBudget));
}

#[cfg(unix)]
#[test]
fn a_file_gone_before_reading_is_a_warning_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(tmp.path().join("nowhere.go"), tmp.path().join("gone.go")).unwrap();
    write(tmp.path(), "racy.go", RACY);
    let outcome = run(tmp.path());
    assert_eq!(outcome.findings.len(), 1);
    let w = outcome
        .warnings
        .iter()
        .find(|w| w.path.ends_with("gone.go"))
        .expect("a warning for the vanished file");
    assert_eq!(w.kind, WarningKind::Unreadable);
}

#[cfg(unix)]
#[test]
fn symlink_loops_and_links_out_of_the_tree_are_not_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    write(&root.join("sub"), "racy.go", RACY);
    std::os::unix::fs::symlink(&root, root.join("sub").join("loop")).unwrap();
    let outside = tmp.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    write(&outside, "other.go", RACY);
    std::os::unix::fs::symlink(&outside, root.join("out")).unwrap();
    let outcome = check(&[format!("{}/...", root.display())], &Options::default()).unwrap();
    assert_eq!(outcome.files_analyzed, 1);
    assert_eq!(outcome.findings.len(), 1);
}

#[test]
fn a_file_named_twice_is_analyzed_once() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "racy.go", RACY);
    let dir = tmp.path().display().to_string();
    let file = tmp.path().join("racy.go").display().to_string();
    let outcome = check(
        &[file.clone(), dir.clone(), format!("{dir}/..."), file],
        &Options::default(),
    )
    .unwrap();
    assert_eq!(outcome.files_analyzed, 1);
    assert_eq!(outcome.findings.len(), 1);
}

#[test]
fn control_characters_in_source_never_reach_the_terminal() {
    let tmp = tempfile::tempdir().unwrap();
    let src = RACY.replace("m[i] = i", "m[i] = i // \u{1b}[2J\u{1b}]0;pwned\u{7}");
    write(tmp.path(), "racy.go", src);
    let o = mapguard(&["check", "--color", "never", "."], tmp.path());
    assert_eq!(o.status.code(), Some(1));
    assert!(
        !o.stdout.contains(&0x1b),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(!o.stdout.contains(&0x07));
}

#[test]
fn paths_with_spaces_and_non_ascii_round_trip_into_sarif() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("my dir").join("naïve#1");
    std::fs::create_dir_all(&dir).unwrap();
    write(&dir, "ra cy.go", RACY);
    let o = mapguard(
        &["check", "--format", "sarif", "my dir/naïve#1"],
        tmp.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    let sarif: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let uri = sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
        ["artifactLocation"]["uri"]
        .as_str()
        .unwrap();
    assert_eq!(uri, "my%20dir/na%C3%AFve%231/ra%20cy.go");
    let decoded = percent_decode(uri);
    assert_eq!(decoded, "my dir/naïve#1/ra cy.go");
    assert!(tmp.path().join(&decoded).is_file());
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn a_nonexistent_path_exits_2_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let o = mapguard(&["check", "missing/pkg"], tmp.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("missing/pkg"));
}

#[test]
fn packages_that_cannot_race_are_screened_not_parsed() {
    let tmp = tempfile::tempdir().unwrap();
    for dir in ["quiet", "busy"] {
        std::fs::create_dir(tmp.path().join(dir)).unwrap();
    }
    // No goroutine, lock, spawner or handler (the words in comments and strings do not
    // count): nothing to analyze, so its syntax error is not worth a warning.
    write(
        &tmp.path().join("quiet"),
        "q.go",
        "package q\n\n// go mu.Lock()\nvar s = \"go\"\n\nfunc f( {\n",
    );
    write(&tmp.path().join("busy"), "racy.go", RACY);
    write(
        &tmp.path().join("busy"),
        "broken.go",
        "package p\n\nfunc g( {\n",
    );
    let outcome = check(
        &[format!("{}/...", tmp.path().display())],
        &Options::default(),
    )
    .unwrap();
    assert_eq!(outcome.files_analyzed, 3);
    assert_eq!(outcome.files_screened, 1);
    assert_eq!(outcome.files_with_errors, 1);
    assert_eq!(outcome.findings.len(), 1);
    let warned: Vec<_> = outcome.warnings.iter().map(|w| w.path.as_str()).collect();
    assert!(
        warned.iter().all(|p| p.ends_with("broken.go")),
        "{warned:?}"
    );
}

/// A goroutine whose write sits `depth` helper calls below it, racing with its spawner.
fn chain(depth: usize) -> String {
    let mut src = String::from(
        "package p\n\nvar m = map[int]int{}\n\nfunc Run() {\n\tgo c0()\n\tm[0] = 1\n}\n",
    );
    for i in 0..depth {
        let body = if i + 1 < depth {
            format!("c{}()", i + 1)
        } else {
            "m[1] = 1".to_string()
        };
        src.push_str(&format!("\nfunc c{i}() {{\n\t{body}\n}}\n"));
    }
    src
}

/// The one "analysis incomplete" warning a run gave.
fn incomplete(outcome: &Outcome) -> Warning {
    let cut: Vec<_> = outcome
        .warnings
        .iter()
        .filter(|w| w.kind == WarningKind::Incomplete)
        .collect();
    assert_eq!(cut.len(), 1, "{:?}", outcome.warnings);
    cut[0].clone()
}

/// A goroutine writing a map through `hops` objects, each made by its own constructor around
/// the previous one (`v := &h2{in: p}` of a parameter `p`), racing with the caller that
/// made the map.
fn wrapped(hops: usize) -> String {
    let mut src = String::from(
        "package p\n\ntype store struct {\n\tm map[string]int\n}\n\ntype h0 struct {\n\ts *store\n}\n",
    );
    for k in 1..hops {
        src.push_str(&format!("\ntype h{k} struct {{\n\tin *h{}\n}}\n", k - 1));
    }
    let path = ".in".repeat(hops - 1);
    src.push_str(&format!(
        "\nfunc (x *h{}) run() {{\n\tx{path}.s.m[\"a\"] = 1\n}}\n",
        hops - 1
    ));
    for k in 0..hops {
        let (param, made) = match k {
            0 => ("s *store".to_string(), "h0{s: s}".to_string()),
            _ => (format!("p *h{}", k - 1), format!("h{k}{{in: p}}")),
        };
        let next = if k + 1 < hops {
            format!("make{}(v)", k + 1)
        } else {
            "go v.run()".to_string()
        };
        src.push_str(&format!(
            "\nfunc make{k}({param}) {{\n\tv := &{made}\n\t{next}\n}}\n"
        ));
    }
    src.push_str(
        "\nfunc Run() {\n\ts := &store{m: map[string]int{}}\n\tmake0(s)\n\ts.m[\"b\"] = 2\n}\n",
    );
    src
}

#[test]
fn field_aliases_cut_by_the_hop_bound_are_a_warning() {
    let near = tempfile::tempdir().unwrap();
    write(near.path(), "wrapped.go", wrapped(3));
    let outcome = run(near.path());
    assert_eq!(outcome.findings.len(), 2, "{:?}", outcome.findings);
    assert!(outcome.warnings.is_empty(), "{:?}", outcome.warnings);

    let far = tempfile::tempdir().unwrap();
    write(far.path(), "wrapped.go", wrapped(6));
    let cut = incomplete(&run(far.path()));
    assert!(cut
        .message
        .contains("followed through at most 4 parameters"));
}

#[test]
fn a_call_tree_cut_by_the_depth_bound_is_a_warning() {
    let shallow = tempfile::tempdir().unwrap();
    write(shallow.path(), "chain.go", chain(3));
    let outcome = run(shallow.path());
    assert_eq!(outcome.findings.len(), 2, "{:?}", outcome.findings);
    assert!(outcome.warnings.is_empty(), "{:?}", outcome.warnings);

    let deep = tempfile::tempdir().unwrap();
    write(deep.path(), "chain.go", chain(40));
    let cut = incomplete(&run(deep.path()));
    assert!(cut.message.contains("analysis incomplete in `Run`"));
    assert!(cut.position.is_some());
}
