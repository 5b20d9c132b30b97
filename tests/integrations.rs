//! What CI and code-scanning users rely on: suppressions, confidence thresholds, stable
//! fingerprints, SARIF suppressions and code flows.

use std::path::Path;

mod common;

use common::{run as mapguard, stderr};

const RACY: &str = "package p\n\nfunc f(m map[int]int) {\n\tfor i := 0; i < 2; i++ {\n\t\tgo func() {\n\t\t\tm[i] = i\n\t\t}()\n\t}\n}\n";

fn racy_with(comment_above: &str, trailing: &str) -> String {
    RACY.replace(
        "\t\t\tm[i] = i\n",
        &format!("{comment_above}\t\t\tm[i] = i{trailing}\n"),
    )
}

fn sarif(dir: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["check", "--format", "sarif"];
    args.extend_from_slice(extra);
    args.push(".");
    serde_json::from_slice(&mapguard(&args, dir).stdout).unwrap()
}

#[test]
fn an_ignore_comment_suppresses_and_sarif_keeps_the_result() {
    let tmp = tempfile::tempdir().unwrap();
    let src = racy_with(
        "\t\t\t//mapguard:ignore MG001 each goroutine owns its key\n",
        "",
    );
    std::fs::write(tmp.path().join("p.go"), src).unwrap();
    let o = mapguard(&["check", "."], tmp.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("no findings") && out.contains("1 suppressed"),
        "{out}"
    );
    let log = sarif(tmp.path(), &[]);
    let result = &log["runs"][0]["results"][0];
    assert_eq!(result["suppressions"][0]["kind"], "inSource");
    assert_eq!(
        result["suppressions"][0]["justification"],
        "each goroutine owns its key"
    );
}

#[test]
fn nolint_for_mapguard_suppresses_other_linters_do_not() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("p.go");
    std::fs::write(
        &path,
        racy_with("", " //nolint:mapguard // one writer per key"),
    )
    .unwrap();
    assert_eq!(mapguard(&["check", "."], tmp.path()).status.code(), Some(0));
    std::fs::write(&path, racy_with("", " //nolint:errcheck // not ours")).unwrap();
    assert_eq!(mapguard(&["check", "."], tmp.path()).status.code(), Some(1));
    std::fs::write(&path, racy_with("", " //mapguard:ignore MG002 wrong rule")).unwrap();
    assert_eq!(mapguard(&["check", "."], tmp.path()).status.code(), Some(1));
}

#[test]
fn a_bare_nolint_suppresses_without_asking_mapguard_for_a_reason() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("p.go"), racy_with("", " //nolint")).unwrap();
    let o = mapguard(&["check", "."], tmp.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stderr(&o).contains("without a reason"), "{}", stderr(&o));
    std::fs::write(tmp.path().join("p.go"), racy_with("", " //nolint:mapguard")).unwrap();
    let o = mapguard(&["check", "."], tmp.path());
    assert!(stderr(&o).contains("without a reason"), "{}", stderr(&o));
}

#[test]
fn a_suppression_naming_an_unknown_rule_is_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let src = racy_with("\t\t\t//mapguard:ignore MG0001 typo\n", "");
    std::fs::write(tmp.path().join("p.go"), src).unwrap();
    let o = mapguard(&["check", "."], tmp.path());
    assert_eq!(o.status.code(), Some(1), "the typo silences nothing");
    assert!(
        stderr(&o).contains("p.go:6:1: warning: suppression comment names no rule `MG0001`"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn suppressions_without_reason_or_use_are_warnings() {
    let tmp = tempfile::tempdir().unwrap();
    let src = format!(
        "{}\n//mapguard:ignore all unused here\nvar x = 1\n\n//nolint\nvar y = 2\n",
        racy_with("\t\t\t//mapguard:ignore MG001\n", "")
    );
    std::fs::write(tmp.path().join("p.go"), src).unwrap();
    let o = mapguard(&["check", "."], tmp.path());
    let err = stderr(&o);
    assert!(
        err.contains("p.go:6:1: warning: suppression comment without a reason"),
        "{err}"
    );
    // Unused: mapguard's own by default, a bare //nolint only when asked.
    let unused = "p.go:12:1: warning: this suppression comment silences no finding";
    let bare = "p.go:15:1: warning: this suppression comment silences no finding";
    assert!(err.contains(unused) && !err.contains(bare), "{err}");
    let all = stderr(&mapguard(
        &["check", "--report-unused-ignores", "."],
        tmp.path(),
    ));
    assert!(all.contains(unused) && all.contains(bare), "{all}");
    // A suppression of rules that did not run is not unused.
    let selected = stderr(&mapguard(&["check", "--select", "MG002", "."], tmp.path()));
    assert!(!selected.contains("p.go:6:1: warning: this"), "{selected}");
}

#[test]
fn a_suppression_may_name_the_rule() {
    let tmp = tempfile::tempdir().unwrap();
    let src = racy_with(
        "\t\t\t//mapguard:ignore concurrent-map-write each goroutine owns its key\n",
        "",
    );
    std::fs::write(tmp.path().join("p.go"), src).unwrap();
    let o = mapguard(&["check", "."], tmp.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
}

#[test]
fn confidence_thresholds_choose_what_shows_and_what_fails() {
    let tmp = tempfile::tempdir().unwrap();
    // An inconsistently locked field: a medium-confidence finding.
    let src = "package p\n\nimport \"sync\"\n\ntype R struct {\n\tmu sync.Mutex\n\tm  map[string]int\n}\n\n\
               func (r *R) Add(k string) {\n\tr.mu.Lock()\n\tr.m[k]++\n\tr.mu.Unlock()\n}\n\n\
               func (r *R) Get(k string) int {\n\tr.mu.Lock()\n\tdefer r.mu.Unlock()\n\treturn r.m[k]\n}\n\n\
               func (r *R) Drop(k string) {\n\tdelete(r.m, k)\n}\n";
    std::fs::write(tmp.path().join("p.go"), src).unwrap();
    let all = mapguard(&["check", "--format", "short", "."], tmp.path());
    assert_eq!(all.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&all.stdout).contains("MG003"));
    let lenient = mapguard(
        &["check", "--format", "short", "--fail-on", "high", "."],
        tmp.path(),
    );
    assert_eq!(lenient.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&lenient.stdout).contains("MG003"));
    let hidden = mapguard(
        &[
            "check",
            "--format",
            "short",
            "--min-confidence",
            "high",
            ".",
        ],
        tmp.path(),
    );
    assert_eq!(hidden.status.code(), Some(0));
    assert!(hidden.stdout.is_empty());
    let log = sarif(tmp.path(), &[]);
    let result = &log["runs"][0]["results"][0];
    assert_eq!(result["level"], "warning");
    assert_eq!(result["properties"]["confidence"], "medium");
}

/// The confidences of the findings of `check --min-confidence low`, by rule and line.
fn confidences(dir: &Path) -> Vec<(String, u64, String)> {
    let o = mapguard(
        &["check", "--format", "json", "--min-confidence", "low", "."],
        dir,
    );
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["confidence"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn low_confidence_findings_are_counted_but_not_shown_by_default() {
    let tmp = tempfile::tempdir().unwrap();
    // size locks nothing, and nothing in the package runs it on a goroutine: its callers
    // may hold r.mu (a contract the sites cannot show), so its read is low.
    let src = "package p\n\nimport \"sync\"\n\ntype R struct {\n\tmu sync.Mutex\n\tm  map[string]int\n}\n\n\
               func (r *R) Add(k string) {\n\tr.mu.Lock()\n\tr.m[k]++\n\tr.mu.Unlock()\n}\n\n\
               func (r *R) Get(k string) int {\n\tr.mu.Lock()\n\tdefer r.mu.Unlock()\n\treturn r.m[k]\n}\n\n\
               func (r *R) size() int {\n\treturn len(r.m)\n}\n\n\
               func (r *R) Len() int {\n\treturn r.size()\n}\n";
    std::fs::write(tmp.path().join("p.go"), src).unwrap();
    assert_eq!(
        confidences(tmp.path()),
        [("MG003".to_string(), 23, "low".to_string())]
    );
    let shown = mapguard(&["check", "."], tmp.path());
    assert_eq!(shown.status.code(), Some(0), "{}", stderr(&shown));
    let out = String::from_utf8_lossy(&shown.stdout);
    assert!(
        out.contains("no findings") && out.contains("1 below --min-confidence not shown"),
        "{out}"
    );
    // The same helper run by a goroutine starts with no lock held: a race with Add's
    // write (MG003's evidence folded into it), medium, and shown.
    let spawned = src.replace(
        "func (r *R) size() int {",
        "func (r *R) Watch() {\n\tgo r.size()\n}\n\nfunc (r *R) size() int {",
    );
    std::fs::write(tmp.path().join("p.go"), spawned).unwrap();
    assert_eq!(
        confidences(tmp.path()),
        [("MG002".to_string(), 27, "medium".to_string())]
    );
    assert_eq!(mapguard(&["check", "."], tmp.path()).status.code(), Some(1));
    // A lock a callback takes when it runs later is the callback's, not the helper's.
    let callback = src
        .replace("\tm  map[string]int\n", "\tm  map[string]int\n\tdone func()\n")
        .replace(
            "func (r *R) size() int {\n",
            "func (r *R) size() int {\n\tr.done = func() {\n\t\tr.mu.Lock()\n\t\tr.mu.Unlock()\n\t}\n",
        );
    std::fs::write(tmp.path().join("p.go"), callback).unwrap();
    assert_eq!(
        confidences(tmp.path()),
        [("MG003".to_string(), 28, "low".to_string())]
    );
}

#[test]
fn races_reached_through_long_call_chains_are_low() {
    let tmp = tempfile::tempdir().unwrap();
    // The goroutine starts in `step{calls}` and reaches the write through `calls` calls
    // (each step does something of its own: calls that only forward add no step).
    let program = |calls: usize| {
        let mut src = String::from(
            "package p\n\ntype S struct {\n\tm map[int]int\n}\n\n\
             func (s *S) tick() {}\n\n\
             func (s *S) step0() {\n\ts.m[1] = 1\n}\n\n",
        );
        for i in 1..=calls {
            src.push_str(&format!(
                "func (s *S) step{i}() {{\n\ts.tick()\n\ts.step{}()\n}}\n\n",
                i - 1
            ));
        }
        src.push_str(&format!(
            "func (s *S) Run() {{\n\tgo s.step{calls}()\n\ts.m[2] = 2\n}}\n"
        ));
        src
    };
    std::fs::write(tmp.path().join("p.go"), program(3)).unwrap();
    let found = confidences(tmp.path());
    assert!(
        found.iter().any(|(r, _, c)| r == "MG001" && c == "high"),
        "{found:?}"
    );
    std::fs::write(tmp.path().join("p.go"), program(4)).unwrap();
    let found = confidences(tmp.path());
    assert!(
        !found.is_empty() && found.iter().all(|(_, _, c)| c == "low"),
        "{found:?}"
    );
}

#[test]
fn a_test_is_analyzed_for_the_goroutines_test_code_starts() {
    let tmp = tempfile::tempdir().unwrap();
    let lib = "package p\n\ntype S struct {\n\tm map[int]int\n}\n\n\
               func (s *S) Start() {\n\tgo func() {\n\t\ts.m[1] = 1\n\t}()\n}\n";
    std::fs::write(tmp.path().join("p.go"), lib).unwrap();
    // The test starts only the package's goroutine (analyzed from `Start`, a root of its
    // own) and writes the map itself: the test is no root, so nothing is reported.
    let test = "package p\n\nimport \"testing\"\n\n\
                func TestStart(t *testing.T) {\n\ts := &S{m: map[int]int{}}\n\ts.Start()\n\ts.m[2] = 2\n}\n";
    std::fs::write(tmp.path().join("p_test.go"), test).unwrap();
    let found = confidences(tmp.path());
    assert!(found.is_empty(), "{found:?}");
    // A goroutine the test starts itself is the test's own concurrency: shown, at medium
    // (a race within test code, which most projects run under the race detector).
    let own = test.replace("\ts.Start()\n", "\tgo func() {\n\t\ts.m[3] = 3\n\t}()\n");
    std::fs::write(tmp.path().join("p_test.go"), own).unwrap();
    let found = confidences(tmp.path());
    assert!(
        found.iter().any(|(r, _, c)| r == "MG001" && c == "medium"),
        "{found:?}"
    );
}

#[test]
fn a_test_servers_requests_are_low_unless_its_tests_run_clients_side_by_side() {
    let tmp = tempfile::tempdir().unwrap();
    // A fake server's accept loop starts a goroutine per connection; the test dials once.
    let fake = "package p\n\nimport (\n\t\"net\"\n\t\"testing\"\n)\n\n\
                type fake struct {\n\tnet.Listener\n\tseen map[string]int\n}\n\n\
                func (f *fake) serve() {\n\tfor {\n\t\tc, err := f.Accept()\n\t\tif err != nil {\n\t\t\treturn\n\t\t}\n\t\tgo f.handle(c)\n\t}\n}\n\n\
                func (f *fake) handle(c net.Conn) {\n\tf.seen[c.RemoteAddr().String()]++\n\tc.Close()\n}\n\n\
                func TestOnce(t *testing.T) {\n\tln, _ := net.Listen(\"tcp\", \"127.0.0.1:0\")\n\
                \tf := &fake{Listener: ln, seen: map[string]int{}}\n\tgo f.serve()\n\
                \tc, _ := net.Dial(\"tcp\", ln.Addr().String())\n\tc.Close()\n}\n";
    std::fs::write(tmp.path().join("p_test.go"), fake).unwrap();
    let found = confidences(tmp.path());
    assert!(!found.is_empty());
    assert!(found.iter().all(|(_, _, c)| c == "low"), "{found:?}");
    // Clients dialled from goroutines started in a loop meet in the server: shown.
    let side_by_side = fake.replace(
        "\tc, _ := net.Dial(\"tcp\", ln.Addr().String())\n\tc.Close()\n",
        "\tfor range 4 {\n\t\tgo func() {\n\t\t\tc, _ := net.Dial(\"tcp\", ln.Addr().String())\n\t\t\tc.Close()\n\t\t}()\n\t}\n",
    );
    std::fs::write(tmp.path().join("p_test.go"), side_by_side).unwrap();
    let found = confidences(tmp.path());
    assert!(
        found.iter().any(|(r, _, c)| r == "MG001" && c == "medium"),
        "{found:?}"
    );
}

#[test]
fn a_test_programs_handlers_are_low() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("go.mod"),
        "module example.com/m\n\ngo 1.22\n",
    )
    .unwrap();
    let app = "package main\n\nimport \"net/http\"\n\nvar calls = map[string]int{}\n\n\
               func main() {\n\
               \thttp.HandleFunc(\"/retry\", func(w http.ResponseWriter, r *http.Request) {\n\t\tcalls[r.URL.Path]++\n\t})\n\
               \t_ = http.ListenAndServe(\":8080\", nil)\n}\n";
    // The same server is a product under cmd/, an app its e2e tests drive under tests/.
    for (dir, tier) in [("cmd/app", "medium"), ("tests/apps/retry", "low")] {
        let pkg = tmp.path().join(dir);
        std::fs::create_dir_all(&pkg).unwrap();
        std::fs::write(pkg.join("main.go"), app).unwrap();
        let found = confidences(&pkg);
        assert!(!found.is_empty(), "{dir}");
        assert!(found.iter().all(|(_, _, c)| c == tier), "{dir}: {found:?}");
    }
}

#[test]
fn a_mocks_getter_returning_its_guarded_map_is_low() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("go.mod"),
        "module example.com/m\n\ngo 1.22\n",
    )
    .unwrap();
    let src = "package channel\n\nimport \"sync\"\n\n\
               type Recorder struct {\n\tmu   sync.Mutex\n\tseen map[string]int\n}\n\n\
               func (r *Recorder) Invoke(method string) {\n\tr.mu.Lock()\n\tr.seen[method]++\n\tr.mu.Unlock()\n}\n\n\
               func (r *Recorder) Seen() map[string]int {\n\tr.mu.Lock()\n\tdefer r.mu.Unlock()\n\treturn r.seen\n}\n";
    // A product's getter leaks its map to callers elsewhere; a mock's serves tests, which
    // read it after the calls they made returned.
    for (dir, tier) in [("pkg/channel", "medium"), ("pkg/channel/mocks", "low")] {
        let pkg = tmp.path().join(dir);
        std::fs::create_dir_all(&pkg).unwrap();
        std::fs::write(pkg.join("recorder.go"), src).unwrap();
        let found = confidences(&pkg);
        assert!(
            found.iter().any(|(r, _, c)| r == "MG006" && c == tier),
            "{dir}: {found:?}"
        );
    }
}

#[test]
fn goroutine_instances_meeting_on_an_elements_map_are_medium() {
    let program = "package main\n\nimport \"sync\"\n\ntype entry struct{ m map[string]int }\n\n\
                   func main() {\n\tentries := []*entry{{m: map[string]int{}}, {m: map[string]int{}}}\n\
                   \tshared := map[string]int{}\n\tvar wg sync.WaitGroup\n\tfor range 4 {\n\t\twg.Add(1)\n\
                   \t\tgo func() {\n\t\t\tdefer wg.Done()\n\t\t\tWRITE\n\t\t}()\n\t}\n\twg.Wait()\n\
                   \t_ = len(shared) + len(entries)\n}\n";
    // Every instance writes one map: sure. Through elements of a collection, instances
    // may each have an element of their own (a worker per entry): not sure.
    for (write, tier) in [
        ("shared[\"k\"]++", "high"),
        (
            "for _, e := range entries {\n\t\t\t\te.m[\"k\"]++\n\t\t\t}",
            "medium",
        ),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(
            tmp.path().join("go.mod"),
            "module example.com/m\n\ngo 1.22\n",
        )
        .unwrap();
        std::fs::write(tmp.path().join("main.go"), program.replace("WRITE", write)).unwrap();
        let found = confidences(tmp.path());
        assert!(
            found.iter().any(|(r, _, c)| r == "MG001" && c == tier),
            "{write}: {found:?}"
        );
        assert!(
            found.iter().all(|(_, _, c)| c == tier),
            "{write}: {found:?}"
        );
    }
}

#[test]
fn a_goroutine_gated_by_a_receive_from_elsewhere_is_medium() {
    let program = "package p\n\ntype Arb struct {\n\tresolved chan string\n\tactive   map[string]int\n}\n\n\
                   // Resolve hands a channel to the resolver loop.\n\
                   func (a *Arb) Resolve(id string) { a.resolved <- id }\n\n\
                   // Start starts the resolver loop, then loads the channels.\n\
                   func (a *Arb) Start(ids []string) {\n\tgo func() {\n\t\tfor {\n\t\t\tGATE\n\t\t\tdelete(a.active, id)\n\t\t}\n\t}()\n\
                   \tfor _, id := range ids {\n\t\ta.active[id] = 1\n\t}\n}\n";
    // Deleting as soon as it runs: sure. Only after a receive others send on: whether it
    // meets the loading is up to code the analysis does not order.
    for (gate, tier) in [("id := \"x\"", "high"), ("id := <-a.resolved", "medium")] {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(
            tmp.path().join("go.mod"),
            "module example.com/m\n\ngo 1.22\n",
        )
        .unwrap();
        std::fs::write(tmp.path().join("arb.go"), program.replace("GATE", gate)).unwrap();
        let found = confidences(tmp.path());
        assert!(
            found.iter().any(|(r, _, c)| r == "MG001" && c == tier),
            "{gate}: {found:?}"
        );
    }
}

#[test]
fn a_test_reading_a_getters_map_is_low() {
    let src = "package channel\n\nimport \"sync\"\n\n\
               type Recorder struct {\n\tmu   sync.Mutex\n\tseen map[string]int\n}\n\n\
               func (r *Recorder) Invoke(method string) {\n\tr.mu.Lock()\n\tr.seen[method]++\n\tr.mu.Unlock()\n}\n\n\
               func (r *Recorder) Seen() map[string]int {\n\tr.mu.Lock()\n\tdefer r.mu.Unlock()\n\treturn r.seen\n}\n";
    let caller = "package channel\n\nfunc Count(r *Recorder) int {\n\tn := 0\n\tfor range r.Seen() {\n\t\tn++\n\t}\n\treturn n\n}\n";
    // The package's own caller ranges over the live map; a test's reads what it set up.
    for (file, tier) in [("count.go", "high"), ("count_test.go", "low")] {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(
            tmp.path().join("go.mod"),
            "module example.com/m\n\ngo 1.22\n",
        )
        .unwrap();
        std::fs::write(tmp.path().join("recorder.go"), src).unwrap();
        std::fs::write(tmp.path().join(file), caller).unwrap();
        let found = confidences(tmp.path());
        assert!(
            found.iter().any(|(r, _, c)| r == "MG006" && c == tier),
            "{file}: {found:?}"
        );
    }
}

#[test]
fn a_package_helper_every_caller_calls_under_the_package_lock_holds_it() {
    let tmp = tempfile::tempdir().unwrap();
    let src = "package p\n\nimport \"sync\"\n\nvar (\n\tmu sync.Mutex\n\tdbs = map[string]int{}\n)\n\n\
               func Start(name string) int {\n\tmu.Lock()\n\tdefer mu.Unlock()\n\tif n := get(name); n != 0 {\n\t\treturn n\n\t}\n\tdbs[name] = 1\n\treturn 1\n}\n\n\
               func Get(name string) int {\n\tmu.Lock()\n\tdefer mu.Unlock()\n\treturn get(name)\n}\n\n\
               func get(name string) int {\n\treturn dbs[name]\n}\n\n\
               func Stop(name string) {\n\tmu.Lock()\n\tdelete(dbs, name)\n\tmu.Unlock()\n}\n";
    std::fs::write(tmp.path().join("p.go"), src).unwrap();
    assert_eq!(confidences(tmp.path()), Vec::new());
    // One caller without the lock: the helper's read is unguarded there.
    let bare = format!("{src}\nfunc Peek(name string) int {{\n\treturn get(name)\n}}\n");
    std::fs::write(tmp.path().join("p.go"), bare).unwrap();
    let found = confidences(tmp.path());
    assert!(found.iter().any(|(r, _, _)| r == "MG003"), "{found:?}");
}

#[test]
fn two_registered_handlers_race_at_medium_confidence() {
    let tmp = tempfile::tempdir().unwrap();
    // Whether two requests overlap is up to the clients, as for one handler's instances.
    let src = "package main\n\nimport \"net/http\"\n\nvar seen = map[string]int{}\n\n\
               func main() {\n\
               \thttp.HandleFunc(\"/a\", func(w http.ResponseWriter, r *http.Request) {\n\t\tseen[\"a\"]++\n\t})\n\
               \thttp.HandleFunc(\"/b\", func(w http.ResponseWriter, r *http.Request) {\n\t\tdelete(seen, \"a\")\n\t})\n\
               \t_ = http.ListenAndServe(\":8080\", nil)\n}\n";
    std::fs::write(tmp.path().join("main.go"), src).unwrap();
    let found = confidences(tmp.path());
    assert!(!found.is_empty());
    assert!(found.iter().all(|(_, _, c)| c == "medium"), "{found:?}");
}

#[test]
fn fingerprints_survive_unrelated_edits_above() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("p.go");
    std::fs::write(&path, RACY).unwrap();
    let before = sarif(tmp.path(), &[]);
    let moved = RACY.replace(
        "package p\n",
        "package p\n\n// A comment.\n\nvar unrelated = 1\n",
    );
    std::fs::write(&path, moved).unwrap();
    let after = sarif(tmp.path(), &[]);
    let fp = |log: &serde_json::Value| log["runs"][0]["results"][0]["partialFingerprints"].clone();
    let line = |log: &serde_json::Value| {
        log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"]
            .clone()
    };
    assert_ne!(line(&before), line(&after));
    assert_eq!(fp(&before), fp(&after));
    assert!(fp(&before)["mapguardFingerprint/v1"]
        .as_str()
        .unwrap()
        .ends_with(":0"));
}

#[test]
fn sarif_has_a_code_flow_links_and_a_category() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("p.go"), RACY).unwrap();
    let log = sarif(tmp.path(), &["--sarif-category", "mapguard/backend"]);
    let run = &log["runs"][0];
    assert_eq!(run["automationDetails"]["id"], "mapguard/backend");
    let result = &run["results"][0];
    let steps = result["codeFlows"][0]["threadFlows"][0]["locations"]
        .as_array()
        .unwrap();
    assert_eq!(steps.len(), 2, "spawn, then the access");
    assert_eq!(
        steps[1]["location"]["physicalLocation"]["region"]["startLine"],
        6
    );
    assert!(result["message"]["text"]
        .as_str()
        .unwrap()
        .contains("[goroutine start](1)"));
}

#[test]
fn a_baseline_reports_only_new_findings() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("p.go");
    std::fs::write(&path, RACY).unwrap();
    let written = mapguard(&["check", "--write-baseline", "base.json", "."], tmp.path());
    assert_eq!(written.status.code(), Some(1));
    let accepted = mapguard(&["check", "--baseline", "base.json", "."], tmp.path());
    assert_eq!(accepted.status.code(), Some(0), "{}", stderr(&accepted));
    let grown =
        format!("{RACY}\nfunc g(n map[int]int) {{\n\tgo func() {{ n[1] = 1 }}()\n\tn[2] = 2\n}}\n");
    std::fs::write(&path, grown).unwrap();
    let new = mapguard(
        &["check", "--format", "short", "--baseline", "base.json", "."],
        tmp.path(),
    );
    assert_eq!(new.status.code(), Some(1));
    let out = String::from_utf8_lossy(&new.stdout);
    assert!(out.lines().all(|l| l.contains("`n`")), "{out}");
    std::fs::write(
        tmp.path().join("bad.json"),
        "{\"version\": 1, \"extra\": 2}",
    )
    .unwrap();
    let bad = mapguard(&["check", "--baseline", "bad.json", "."], tmp.path());
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("not a mapguard baseline"));
}

#[test]
fn configuration_filters_rules_and_spawners_and_rejects_mistakes() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("svc")).unwrap();
    std::fs::create_dir_all(tmp.path().join("gen")).unwrap();
    std::fs::write(tmp.path().join("svc/p.go"), RACY).unwrap();
    std::fs::write(tmp.path().join("gen/p.go"), RACY).unwrap();
    // A project spawner: pool.Submit(func()) queues its function for worker goroutines the
    // analysis does not see (a `Submit` with a `go` statement of its own is found unaided).
    let submit = "package q\n\ntype pool struct{ jobs chan func() }\n\n\
                  func (p pool) Submit(f func()) { p.jobs <- f }\n\n\
                  func run(p pool, m map[int]int) {\n\tfor i := 0; i < 3; i++ {\n\t\tp.Submit(func() { m[i] = i })\n\t}\n}\n";
    std::fs::create_dir_all(tmp.path().join("q")).unwrap();
    std::fs::write(tmp.path().join("q/q.go"), submit).unwrap();
    let short = |args: &[&str]| {
        let o = mapguard(args, tmp.path());
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr(&o),
        )
    };
    let (_, all, _) = short(&["check", "--format", "short", "./..."]);
    assert!(
        all.contains("gen/p.go") && all.contains("svc/p.go"),
        "{all}"
    );
    assert!(!all.contains("q/q.go"), "{all}");
    std::fs::write(
        tmp.path().join("mapguard.toml"),
        "exclude = [\"gen/**\"]\n[rules]\nlevel = { MG001 = \"note\" }\n\
         [[spawner]]\nmethod = \"Submit\"\n",
    )
    .unwrap();
    let (code, configured, _) = short(&["check", "--format", "short", "./..."]);
    assert_eq!(code, Some(1));
    assert!(!configured.contains("gen/p.go"), "{configured}");
    assert!(configured.contains("q/q.go:9:"), "{configured}");
    let log: serde_json::Value = serde_json::from_slice(
        &mapguard(&["check", "--format", "sarif", "./..."], tmp.path()).stdout,
    )
    .unwrap();
    assert_eq!(log["runs"][0]["results"][0]["level"], "note");
    std::fs::write(
        tmp.path().join("mapguard.toml"),
        "[rules]\ndisable = [\"MG001\"]\n",
    )
    .unwrap();
    assert_eq!(short(&["check", "./..."]).0, Some(0));
    for (bad, named) in [
        ("colour = true\n", "colour"),
        ("exclude = [\"a/[\"]\n", "bad glob"),
        ("[rules]\ndisable = [\"MG999\"]\n", "MG999"),
        ("[rules\n", "mapguard.toml"),
    ] {
        std::fs::write(tmp.path().join("mapguard.toml"), bad).unwrap();
        let (code, _, err) = short(&["check", "./..."]);
        assert_eq!(code, Some(2), "{bad}");
        assert!(err.contains(named), "{bad}: {err}");
    }
    std::fs::write(tmp.path().join("other.toml"), "tests = false\n").unwrap();
    // The broken mapguard.toml is not read when --config names another file.
    let (code, _, err) = short(&["check", "--config", "other.toml", "./..."]);
    assert_eq!(code, Some(1), "{err}");
}

#[test]
fn configured_lock_methods_guard_like_a_mutex() {
    let tmp = tempfile::tempdir().unwrap();
    // A lock type of the project's own (here a channel semaphore, which the analysis cannot
    // see through): only the configuration says that Acquire/Release order the writes.
    let store = "package k\n\nimport \"sync\"\n\ntype keyLock struct{ ch chan struct{} }\n\n\
                 func (l *keyLock) Acquire(key string) { l.ch <- struct{}{} }\n\n\
                 func (l *keyLock) Release(key string) { <-l.ch }\n\n\
                 type Store struct {\n\tlock  keyLock\n\titems map[string]int\n}\n\n\
                 func (s *Store) Fill(keys []string) {\n\tvar wg sync.WaitGroup\n\
                 \tfor _, k := range keys {\n\t\twg.Add(1)\n\t\tgo func() {\n\
                 \t\t\tdefer wg.Done()\n\t\t\ts.lock.Acquire(k)\n\t\t\tdefer s.lock.Release(k)\n\
                 \t\t\ts.items[k]++\n\t\t}()\n\t}\n\twg.Wait()\n}\n";
    std::fs::write(tmp.path().join("k.go"), store).unwrap();
    let check = || {
        let o = mapguard(
            &["check", "--no-cache", "--format", "short", "."],
            tmp.path(),
        );
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        (o.status.code(), out, stderr(&o))
    };
    let (code, unconfigured, _) = check();
    assert_eq!(code, Some(1));
    assert!(unconfigured.contains("MG001"), "{unconfigured}");

    let config = tmp.path().join("mapguard.toml");
    std::fs::write(
        &config,
        "[[lock]]\nacquire = \"Acquire\"\nrelease = \"Release\"\n",
    )
    .unwrap();
    let (code, configured, err) = check();
    assert_eq!(code, Some(0), "{configured}{err}");

    // A shared lock orders reads only: the writes under it are reported.
    std::fs::write(
        &config,
        "[[lock]]\nacquire = \"Acquire\"\nrelease = \"Release\"\nshared = true\n",
    )
    .unwrap();
    let (code, shared, _) = check();
    assert_eq!(code, Some(1), "{shared}");

    for (bad, named) in [
        ("[[lock]]\nacquire = \"Acquire\"\n", "release"),
        (
            "[[lock]]\nacquire = \"A\"\nrelease = \"A\"\n",
            "the same method",
        ),
        ("[[lock]]\nacquire = \"x.A\"\nrelease = \"B\"\n", "x.A"),
        (
            "[[lock]]\nacquire = \"A\"\nrelease = \"B\"\nmode = 1\n",
            "mode",
        ),
    ] {
        std::fs::write(&config, bad).unwrap();
        let (code, _, err) = check();
        assert_eq!(code, Some(2), "{bad}");
        assert!(err.contains(named), "{bad}: {err}");
    }
}

#[test]
fn a_struct_copied_by_assignment_has_a_mutex_of_its_own() {
    // `go vet` rejects this copy (copylocks), so it is no fixture; programs that skip vet
    // have it. The copy locks its own mutex around the map it shares with the original.
    let tmp = tempfile::tempdir().unwrap();
    let copied = "package main\n\nimport \"sync\"\n\n\
                  type table struct {\n\tmu   sync.Mutex\n\trows map[int]string\n}\n\n\
                  func main() {\n\tt := table{rows: map[int]string{}}\n\tbackup := t\n\
                  \tdone := make(chan bool)\n\tgo func() {\n\t\tbackup.mu.Lock()\n\
                  \t\tbackup.rows[1] = \"b\"\n\t\tbackup.mu.Unlock()\n\t\tdone <- true\n\t}()\n\
                  \tt.mu.Lock()\n\tt.rows[2] = \"t\"\n\tt.mu.Unlock()\n\t<-done\n}\n";
    std::fs::write(tmp.path().join("main.go"), copied).unwrap();
    let found = confidences(tmp.path());
    assert!(
        found.iter().any(|(r, line, _)| r == "MG001" && *line == 21),
        "{found:?}"
    );
    // Through a pointer both lock the one mutex.
    let shared = copied.replace("backup := t", "backup := &t");
    std::fs::write(tmp.path().join("main.go"), shared).unwrap();
    let found = confidences(tmp.path());
    assert!(found.is_empty(), "{found:?}");
}
