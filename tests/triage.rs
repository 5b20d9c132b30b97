//! `mapguard triage` and `check --race-log` on real logs: the captured ones in
//! `tests/data/triage` (Go 1.27.3, see its README), and logs the race detector and crashing
//! programs produce now, when Go is on PATH (CI requires it with `MAPGUARD_REQUIRE_GO`).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

mod common;

use common::{command, run, stderr};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", String::from_utf8_lossy(&o.stdout), stderr(o)))
}

/// `mapguard triage --format json ARGS` in `dir`: the report and the exit code.
fn triage_in(dir: &Path, args: &[&str]) -> (Value, i32) {
    let mut all = vec!["triage", "--format", "json"];
    all.extend_from_slice(args);
    let o = run(&all, dir);
    (json(&o), o.status.code().unwrap())
}

fn triage(args: &[&str]) -> (Value, i32) {
    triage_in(&repo(), args)
}

/// Each access as `path:line op`, sorted.
fn accesses(report: &Value) -> Vec<String> {
    let mut out: Vec<String> = report["accesses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            format!(
                "{}:{} {}",
                a["path"].as_str().unwrap_or("-"),
                a["line"],
                a["op"].as_str().unwrap()
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn a_race_report_from_another_machine_names_the_lines_the_map_and_the_finding() {
    let (j, code) = triage(&["tests/data/triage/race-other-machine.log"]);
    assert_eq!(code, 1, "a race in the log exits 1");
    let reports = j["reports"].as_array().unwrap();
    assert_eq!(reports.len(), 1);
    let r = &reports[0];
    assert_eq!(r["kind"], "data-race");
    assert_eq!(r["map"], "sessions");
    let main = "fixtures/delete_in_goroutines/main.go";
    assert_eq!(
        accesses(r),
        [format!("{main}:20 delete"), format!("{main}:20 delete")]
    );
    assert_eq!(r["created"][0]["path"], main);
    assert_eq!(r["created"][0]["line"], 17);
    assert_eq!(r["finding"]["rule"], "MG001");
    assert_eq!(r["finding"]["path"], main);
    assert_eq!(r["finding"]["line"], 20);
    assert!(r["explanation"].is_null());
    // The runtime's frames are the build machine's GOROOT: shown, never mapped.
    let unmapped = r["unmapped_frames"].as_array().unwrap();
    assert!(
        unmapped.is_empty(),
        "the runtime frames below the access are not listed: {unmapped:?}"
    );
    assert_eq!(j["summary"]["confirmed"], 1);
}

#[test]
fn a_crash_dump_names_the_crashing_access_and_the_goroutine_at_the_same_map() {
    let (j, _) = triage(&["tests/data/triage/fatal-traceback-all.log"]);
    let r = &j["reports"][0];
    assert_eq!(r["kind"], "fatal-error");
    assert_eq!(r["message"], "concurrent map read and map write");
    assert_eq!(r["map"], "current");
    let main = "fixtures/clear_and_copy/main.go";
    let a = &r["accesses"];
    assert_eq!(
        (&a[0]["line"], &a[0]["op"], &a[0]["inferred"]),
        (&23.into(), &"read".into(), &false.into())
    );
    assert_eq!(
        (&a[1]["line"], &a[1]["op"], &a[1]["inferred"]),
        (&19.into(), &"assign".into(), &true.into())
    );
    assert_eq!(a[1]["goroutine"], "goroutine 7");
    assert_eq!(r["created"][0]["path"], main);
    assert_eq!(r["created"][0]["line"], 15);
    assert_eq!(r["finding"]["rule"], "MG002");
    assert_eq!(r["finding"]["line"], 23);
}

#[test]
fn go_test_json_and_collector_wrapped_logs_are_read() {
    let (j, _) = triage(&["tests/data/triage/test-json.log"]);
    let r = &j["reports"][0];
    assert_eq!(r["map"], "p.sent");
    assert_eq!(r["finding"]["rule"], "MG001");
    assert_eq!(r["finding"]["line"], 34);

    let (j, _) = triage(&["tests/data/triage/fatal-cri-prefix.log"]);
    let r = &j["reports"][0];
    assert_eq!(r["message"], "concurrent map writes");
    assert_eq!(accesses(r), ["fixtures/cache_fill_rlock/main.go:18 assign"]);
    assert_eq!(r["map"], "cache");
    assert_eq!(r["finding"]["line"], 18);

    let (j, _) = triage(&["tests/data/triage/race-docker-json.log"]);
    let reports = j["reports"].as_array().unwrap();
    let maps: Vec<&str> = reports.iter().map(|r| r["map"].as_str().unwrap()).collect();
    assert_eq!(maps, ["c.items"; 3]);
    let counts: Vec<u64> = reports
        .iter()
        .map(|r| r["count"].as_u64().unwrap())
        .collect();
    assert_eq!(
        counts,
        [3, 1, 1],
        "the race printed three times is one entry"
    );
    assert!(reports.iter().all(|r| !r["finding"].is_null()));
}

#[test]
fn repeated_reports_from_several_logs_and_stdin_are_one_entry_with_a_count() {
    let log =
        std::fs::read_to_string(repo().join("tests/data/triage/race-other-machine.log")).unwrap();
    let mut child = command(&repo())
        .args([
            "triage",
            "--format",
            "json",
            "-",
            "tests/data/triage/race-other-machine.log",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("noise\n{log}{log}").as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    let j = json(&o);
    assert_eq!(j["reports"].as_array().unwrap().len(), 1);
    assert_eq!(j["reports"][0]["count"], 3);
    assert_eq!(j["reports"][0]["origin"], "<stdin>:3");
}

#[test]
fn a_truncated_log_keeps_the_accesses_it_has() {
    let log =
        std::fs::read_to_string(repo().join("tests/data/triage/race-other-machine.log")).unwrap();
    let cut: String = log.lines().take(7).map(|l| format!("{l}\n")).collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.log");
    std::fs::write(&path, cut).unwrap();
    let (j, _) = triage(&[path.to_str().unwrap()]);
    let r = &j["reports"][0];
    assert_eq!(
        accesses(r),
        ["fixtures/delete_in_goroutines/main.go:20 delete"]
    );
    assert_eq!(r["map"], "sessions");
}

#[test]
fn frames_outside_the_checkout_are_shown_and_said_so() {
    let (j, code) = triage(&[
        "tests/data/triage/race-other-machine.log",
        "tests/copylocks",
    ]);
    assert_eq!(code, 1);
    let r = &j["reports"][0];
    assert!(r["accesses"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["path"].is_null()));
    assert!(r["finding"].is_null());
    assert!(r["explanation"]
        .as_str()
        .unwrap()
        .contains("no frame of the accesses is in the checkout"));
    let unmapped: Vec<&str> = r["unmapped_frames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["function"].as_str().unwrap())
        .collect();
    assert!(unmapped.contains(&"main.main.func1"), "{unmapped:?}");
    assert_eq!(j["summary"]["outside"], 1);
}

#[test]
fn trim_prefix_maps_a_path_that_its_suffix_would_map_wrongly() {
    let dir = tempfile::tempdir().unwrap();
    let source =
        std::fs::read_to_string(repo().join("fixtures/delete_in_goroutines/main.go")).unwrap();
    std::fs::create_dir_all(dir.path().join("vendor/delete_in_goroutines")).unwrap();
    std::fs::write(dir.path().join("main.go"), &source).unwrap();
    std::fs::write(
        dir.path().join("vendor/delete_in_goroutines/main.go"),
        &source,
    )
    .unwrap();
    let log = repo().join("tests/data/triage/race-other-machine.log");
    let log = log.to_str().unwrap();
    let (j, _) = triage_in(dir.path(), &[log]);
    assert_eq!(
        j["reports"][0]["accesses"][0]["path"],
        "vendor/delete_in_goroutines/main.go"
    );
    let prefix = "/home/runner/work/mapguard/mapguard/fixtures/delete_in_goroutines";
    let (j, _) = triage_in(dir.path(), &["--trim-prefix", prefix, log]);
    assert_eq!(j["reports"][0]["accesses"][0]["path"], "main.go");
    assert_eq!(j["reports"][0]["finding"]["path"], "main.go");
}

#[test]
fn the_terminal_report_shows_the_race_then_the_finding_marked_confirmed() {
    let o = run(
        &[
            "triage",
            "--color",
            "never",
            "tests/data/triage/fatal-traceback-all.log",
        ],
        &repo(),
    );
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(out.contains("error[MG900]: `current` raced at run time: read by goroutine 1 and assign by goroutine 7 (at the crash)"), "{out}");
    assert!(out.contains("goroutine 7 started here"));
    let race = out.find("error[MG900]").unwrap();
    let finding = out
        .find("error[MG002]")
        .expect("the static finding follows");
    assert!(race < finding);
    assert!(out.contains(
        "confirmed: the race report at tests/data/triage/fatal-traceback-all.log:13 shows this race"
    ));
    assert!(
        out.ends_with("1 race observed in 1 log: 1 confirmed by a static finding\n"),
        "{out}"
    );
}

#[test]
fn a_finding_in_another_file_than_the_access_is_shown_with_its_snippet() {
    // The map is written in package `store`; mapguard reports the call in `main`.
    let o = run(
        &[
            "triage",
            "--color",
            "never",
            "tests/data/triage/race-cross-package.log",
        ],
        &repo(),
    );
    let out = String::from_utf8(o.stdout).unwrap();
    let race = out
        .find("error[MG900]: `s.counts` raced at run time")
        .expect("the race");
    let finding = out
        .find("error[MG001]")
        .expect("the static finding follows");
    assert!(race < finding, "{out}");
    assert!(
        out.contains("fixtures/cross_package_store/main.go:19"),
        "{out}"
    );
    assert!(
        out.contains("fixtures/cross_package_store/store/store.go:21"),
        "{out}"
    );
}

#[test]
fn the_sarif_report_has_a_thread_flow_per_goroutine_and_the_finding_related() {
    let o = run(
        &[
            "triage",
            "--format",
            "sarif",
            "tests/data/triage/race-other-machine.log",
        ],
        &repo(),
    );
    let sarif = json(&o);
    let schema: Value = serde_json::from_str(include_str!("data/sarif-schema-2.1.0.json")).unwrap();
    let validator = jsonschema::draft7::new(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let run = &sarif["runs"][0];
    let result = &run["results"][0];
    assert_eq!(result["ruleId"], "MG900");
    let rule = &run["tool"]["driver"]["rules"][result["ruleIndex"].as_u64().unwrap() as usize];
    assert_eq!(rule["name"], "observed-map-race");
    let flows = result["codeFlows"][0]["threadFlows"].as_array().unwrap();
    assert_eq!(flows.len(), 2, "one per goroutine");
    let last = flows[0]["locations"].as_array().unwrap().last().unwrap();
    assert!(last["location"]["message"]["text"]
        .as_str()
        .unwrap()
        .starts_with("runtime.mapdelete"));
    assert_eq!(result["properties"]["staticFinding"]["rule"], "MG001");
    let related = result["relatedLocations"].as_array().unwrap();
    assert!(related.iter().any(|l| l["message"]["text"]
        .as_str()
        .unwrap()
        .starts_with("mapguard's static finding MG001")));
}

#[test]
fn check_with_a_race_log_confirms_findings_and_reports_the_races_it_misses() {
    let log = "tests/data/triage/race-other-machine.log";
    let o = run(
        &[
            "check",
            "--format",
            "json",
            "--race-log",
            log,
            "fixtures/delete_in_goroutines",
        ],
        &repo(),
    );
    let j = json(&o);
    let findings = j["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0]["confirmed"], format!("{log}:2"));

    // With the rule that finds it turned off, the log's race is reported as MG900.
    let o = run(
        &[
            "check",
            "--format",
            "json",
            "--ignore",
            "MG001",
            "--race-log",
            log,
            "fixtures/delete_in_goroutines",
        ],
        &repo(),
    );
    assert_eq!(o.status.code(), Some(1));
    let j = json(&o);
    let findings = j["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0]["rule"], "MG900");
    assert_eq!(findings[0]["line"], 20);
    assert_eq!(findings[0]["map"], "sessions");
    assert!(findings[0]["message"]
        .as_str()
        .unwrap()
        .contains("delete by goroutine 8"));
    // Unless MG900 is off too.
    let o = run(
        &[
            "check",
            "--format",
            "json",
            "--select",
            "MG002",
            "--race-log",
            log,
            "fixtures/delete_in_goroutines",
        ],
        &repo(),
    );
    assert_eq!(o.status.code(), Some(0));
    assert!(json(&o)["findings"].as_array().unwrap().is_empty());

    let o = run(
        &[
            "check",
            "--format",
            "sarif",
            "--race-log",
            log,
            "fixtures/delete_in_goroutines",
        ],
        &repo(),
    );
    let result = &json(&o)["runs"][0]["results"][0];
    assert_eq!(result["properties"]["tags"][0], "confirmed");
}

#[test]
fn logs_without_a_report_exit_0_and_missing_logs_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("ok.log"),
        "PASS\nok  \texample.com/x\t0.01s\n",
    )
    .unwrap();
    let o = run(&["triage", "ok.log"], dir.path());
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "no race report or concurrent map crash in 1 log\n"
    );
    let o = run(&["triage", "missing.log"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot read the log missing.log"));
}

/// The Go toolchain, or `None` (then the test is skipped, unless CI requires Go).
fn go() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("go"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("MAPGUARD_REQUIRE_GO").is_none(),
            "Go is required here"
        );
        eprintln!("skipped: no Go toolchain on PATH");
    }
    found
}

/// Four goroutines incrementing one map: races under the race detector, and crashes without
/// it (a million increments each).
const COUNTER: &str = "package main

import \"sync\"

func main() {
\tcounts := map[int]int{}
\tvar wg sync.WaitGroup
\tfor w := 0; w < 4; w++ {
\t\twg.Add(1)
\t\tgo func() {
\t\t\tdefer wg.Done()
\t\t\tfor i := 0; i < 1000000; i++ {
\t\t\t\tcounts[i%64]++
\t\t\t}
\t\t}()
\t}
\twg.Wait()
}
";

const COUNTER_TEST: &str = "package main

import (
\t\"sync\"
\t\"testing\"
)

func TestTally(t *testing.T) {
\ttally := map[string]int{}
\tvar wg sync.WaitGroup
\tfor _, w := range []string{\"a\", \"b\"} {
\t\twg.Add(1)
\t\tgo func() {
\t\t\tdefer wg.Done()
\t\t\ttally[w]++
\t\t}()
\t}
\twg.Wait()
}
";

fn go_command(go: &Path, dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(go);
    c.args(args)
        .current_dir(dir)
        .env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "off")
        .env("GOFLAGS", "-mod=mod");
    c
}

#[test]
fn logs_of_real_go_programs_are_triaged_to_their_lines() {
    let Some(go) = go() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("go.mod"), "module example.com/counter\n\ngo 1.22\n").unwrap();
    std::fs::write(d.join("main.go"), COUNTER).unwrap();
    std::fs::write(d.join("main_test.go"), COUNTER_TEST).unwrap();
    let check = |log: &str, file: &str, map: &str, line: u64, ops: &[&str]| {
        let path = d.join("out.log");
        std::fs::write(&path, log).unwrap();
        let (j, code) = triage_in(d, &["out.log"]);
        assert_eq!(code, 1, "{log}");
        let r = &j["reports"][0];
        assert_eq!(r["map"], map, "{log}");
        // The race detector may keep only the runtime's frames of one access.
        let mapped: Vec<&Value> = r["accesses"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| !a["path"].is_null())
            .collect();
        assert!(!mapped.is_empty(), "{log}");
        for a in mapped {
            assert_eq!(
                (&a["path"], &a["line"]),
                (&file.into(), &line.into()),
                "{log}"
            );
            assert!(ops.contains(&a["op"].as_str().unwrap()), "{a}");
        }
        assert_eq!(r["finding"]["rule"], "MG001", "{log}");
    };

    let built = go_command(&go, d, &["build", "-race", "-o", "racy", "."])
        .status()
        .unwrap();
    assert!(built.success());
    let o = Command::new(d.join("racy")).output().unwrap();
    check(
        &String::from_utf8_lossy(&o.stderr),
        "main.go",
        "counts",
        13,
        &["assign", "read"],
    );

    let built = go_command(&go, d, &["build", "-o", "crashing", "."])
        .status()
        .unwrap();
    assert!(built.success());
    // The runtime detects the clash only when it happens: a few runs make it certain.
    let log = (0..5)
        .map(|_| {
            let o = Command::new(d.join("crashing"))
                .env("GOTRACEBACK", "all")
                .output()
                .unwrap();
            String::from_utf8_lossy(&o.stderr).into_owned()
        })
        .find(|log| log.contains("fatal error: concurrent map"))
        .unwrap_or_default();
    assert!(log.contains("fatal error: concurrent map"), "{log}");
    check(&log, "main.go", "counts", 13, &["assign", "read"]);

    let o = go_command(
        &go,
        d,
        &["test", "-race", "-json", "-run", "TestTally", "."],
    )
    .output()
    .unwrap();
    check(
        &String::from_utf8_lossy(&o.stdout),
        "main_test.go",
        "tally",
        15,
        &["assign", "read"],
    );
}

/// Pieces of log syntax that steer mutants into the parser's states.
const LOG_TOKENS: &[&str] = &[
    "==================\n",
    "WARNING: DATA RACE\n",
    "fatal error: concurrent map writes\n",
    "goroutine 7 [running]:\n",
    "Previous write at 0x00c0 by main goroutine:\n",
    "Goroutine 8 (running) created at:\n",
    "created by main.main in goroutine 1\n",
    "  runtime.mapassign_faststr()\n",
    "\t/x/main.go:12 +0x1f\n",
    "main.f(",
    ")\n",
    "{\"Action\":\"output\",\"Output\":\"",
    "\"}\n",
    "{\"log\":",
    "2026-01-01T00:00:00Z stderr F ",
    "\n",
    "\r\n",
    "\0",
    "é",
];

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// Mutated real logs (lines dropped, duplicated, cut, log syntax inserted) never make
    /// triage panic, and every report it reads has an access.
    #[test]
    fn mutated_logs_never_panic(
        seed in 0usize..5,
        edits in proptest::collection::vec((0usize..10_000, 0usize..LOG_TOKENS.len(), 0u8..4), 0..12),
    ) {
        let dir = repo().join("tests/data/triage");
        let mut logs: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
        logs.sort();
        let mut text = std::fs::read_to_string(&logs[seed % logs.len()]).unwrap();
        for (at, token, kind) in edits {
            let mut at = at % (text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            match kind {
                0 => text.insert_str(at, LOG_TOKENS[token]),
                1 => text.truncate(at),
                2 => {
                    let end = text[at..].find('\n').map_or(text.len(), |i| at + i + 1);
                    text.replace_range(at..end, "");
                }
                _ => {
                    let end = text[at..].find('\n').map_or(text.len(), |i| at + i + 1);
                    let line = text[at..end].to_string();
                    text.insert_str(at, &line);
                }
            }
        }
        let checkout = mapguard::triage::locate::Checkout::scan(&[repo().join("fixtures")], &[]);
        let mut sources = mapguard::triage::Sources::default();
        let log = mapguard::triage::Log { name: "mutant.log".into(), text };
        let mut reports = mapguard::triage::reports(&[log], &checkout, &mut sources);
        mapguard::triage::explain(&mut reports, &[], &mut sources);
        for r in &reports {
            proptest::prop_assert!(!r.accesses.is_empty());
        }
        let _ = mapguard::triage::render::json(&reports);
        let _ = mapguard::triage::render::terminal(&reports, &sources, 1, false);
        let _ = mapguard::triage::sarif::render(&reports, &sources, None);
    }
}
