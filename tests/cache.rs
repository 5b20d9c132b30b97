//! The result cache: a warm run replays byte-identical output, an edit re-analyzes only the
//! edited file's directory, and a damaged entry is a miss, never a wrong answer.

use std::path::Path;
use std::process::Output;

use mapguard::cache::Cache;
use mapguard::run::{check, Options};

mod common;

/// Runs `mapguard ARGS` on the repository with its own cache directory.
fn mapguard(args: &[&str], cache: &Path) -> Output {
    common::command(Path::new(env!("CARGO_MANIFEST_DIR")))
        .args(args)
        .env("MAPGUARD_CACHE_DIR", cache)
        .output()
        .expect("the binary runs")
}

fn entries(cache: &Path) -> Vec<std::path::PathBuf> {
    walkdir::WalkDir::new(cache)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && e.file_name() != "CACHEDIR.TAG")
        .map(|e| e.into_path())
        .collect()
}

#[test]
fn warm_runs_print_what_cold_runs_print() {
    let cache = tempfile::tempdir().unwrap();
    for format in ["json", "sarif", "short"] {
        let args = ["check", "--format", format, "fixtures/..."];
        let uncached = mapguard(&[&args[..], &["--no-cache"]].concat(), cache.path());
        let cold = mapguard(&args, cache.path());
        let warm = mapguard(&args, cache.path());
        assert_eq!(uncached.status.code(), Some(1));
        assert!(!uncached.stdout.is_empty());
        assert_eq!(cold.stdout, uncached.stdout, "{format}: cold run differs");
        assert_eq!(warm.stdout, uncached.stdout, "{format}: warm run differs");
        assert_eq!(warm.stderr, uncached.stderr);
        assert_eq!(warm.status.code(), uncached.status.code());
    }
    assert!(
        entries(cache.path()).len() > 50,
        "one entry per fixture directory"
    );
}

#[test]
fn no_cache_neither_reads_nor_writes() {
    let cache = tempfile::tempdir().unwrap();
    let dir = cache.path().join("c");
    mapguard(&["check", "--no-cache", "fixtures/loop_counter"], &dir);
    assert!(!dir.exists());
}

#[test]
fn damaged_entries_are_misses_and_are_rewritten() {
    let cache = tempfile::tempdir().unwrap();
    let args = ["check", "--format", "json", "fixtures/..."];
    let cold = mapguard(&args, cache.path());
    let stored = entries(cache.path());
    for (i, entry) in stored.iter().enumerate() {
        // Garbage, truncated JSON, and valid JSON of the wrong shape.
        let damage: &[u8] = match i % 3 {
            0 => b"\x00\xff garbage",
            1 => b"{\"findings\": [",
            _ => b"{\"findings\": 7}",
        };
        std::fs::write(entry, damage).unwrap();
    }
    let after = mapguard(&args, cache.path());
    assert_eq!(after.stdout, cold.stdout);
    for entry in stored {
        let text = std::fs::read(&entry).unwrap();
        assert!(serde_json::from_slice::<serde_json::Value>(&text).is_ok());
    }
}

#[test]
fn clean_removes_the_cache() {
    let cache = tempfile::tempdir().unwrap();
    let dir = cache.path().join("c");
    mapguard(&["check", "fixtures/loop_counter"], &dir);
    assert!(!entries(&dir).is_empty());
    let o = mapguard(&["clean"], &dir);
    assert_eq!(o.status.code(), Some(0));
    assert!(!dir.exists());
    let again = mapguard(&["clean"], &dir);
    assert_eq!(again.status.code(), Some(0), "{}", common::stderr(&again));
}

#[test]
fn clean_refuses_a_directory_mapguard_did_not_create() {
    let tmp = tempfile::tempdir().unwrap();
    let foreign = tmp.path();
    std::fs::write(foreign.join("notes.txt"), "mine").unwrap();
    std::fs::create_dir(foreign.join("ab")).unwrap();
    std::fs::write(foreign.join("ab").join("photo"), "mine too").unwrap();
    let o = mapguard(&["clean"], foreign);
    assert_eq!(o.status.code(), Some(2));
    assert!(common::stderr(&o).contains("not a mapguard cache"));
    assert!(foreign.join("notes.txt").exists());
    assert!(foreign.join("ab").join("photo").exists());
}

#[test]
fn a_directory_of_other_files_is_not_used_as_a_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let foreign = tmp.path();
    std::fs::write(foreign.join("notes.txt"), "mine").unwrap();
    let o = mapguard(&["check", "fixtures/loop_counter"], foreign);
    assert_eq!(o.status.code(), Some(1));
    assert!(common::stderr(&o).contains("cache disabled"));
    let names: Vec<_> = std::fs::read_dir(foreign)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["notes.txt"]);
}

#[test]
fn clean_keeps_what_others_put_in_the_cache_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("c");
    mapguard(&["check", "fixtures/loop_counter"], &dir);
    std::fs::write(dir.join("README"), "added later").unwrap();
    let o = mapguard(&["clean"], &dir);
    assert_eq!(o.status.code(), Some(0));
    assert!(entries(&dir).iter().all(|p| p.ends_with("README")));
    assert!(dir.join("README").exists());
    assert!(!dir.join("CACHEDIR.TAG").exists());
}

/// Copies a fixture package into `to`.
/// Copies the files (not the subdirectories) of fixture directory `name` to `to`.
fn copy_fixture(name: &str, to: &Path) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name);
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

#[test]
fn an_edit_reanalyzes_only_its_directory_and_its_result_is_fresh() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("tree");
    copy_fixture("loop_counter", &root.join("racy"));
    copy_fixture("loop_counter_mutex", &root.join("safe"));
    let options = Options {
        cache: Some(Cache::open(&tmp.path().join("cache")).unwrap()),
        ..Options::default()
    };
    let run = || check(&[format!("{}/...", root.display())], &options).unwrap();

    let cold = run();
    assert_eq!(cold.dirs_cached, 0);
    let warm = run();
    assert_eq!(warm.dirs_cached, 2);
    assert_eq!(warm.findings, cold.findings);

    // Make the safe package racy: its directory is analyzed again, the other is replayed.
    let main = root.join("safe/main.go");
    let text = std::fs::read_to_string(&main).unwrap();
    let racy = text.replacen("mu.Lock()", "", 1);
    assert_ne!(racy, text, "the fixture locks");
    std::fs::write(&main, racy).unwrap();
    let edited = run();
    assert_eq!(edited.dirs_cached, 1);
    let fresh = check(&[format!("{}/...", root.display())], &Options::default()).unwrap();
    assert_eq!(edited.findings, fresh.findings);
    assert!(edited.findings.len() > cold.findings.len());
}

#[test]
fn an_edit_of_a_package_reanalyzes_the_packages_importing_it() {
    let tmp = tempfile::tempdir().unwrap();
    let module = tmp.path().join("module");
    let app = module.join("cross_package_store_locked");
    copy_fixture("cross_package_store_locked", &app);
    copy_fixture("cross_package_store_locked/store", &app.join("store"));
    std::fs::write(module.join("go.mod"), "module mapguard.test/fixtures\n").unwrap();
    let options = Options {
        cache: Some(Cache::open(&tmp.path().join("cache")).unwrap()),
        ..Options::default()
    };
    let run = || check(&[format!("{}/...", module.display())], &options).unwrap();
    assert!(run().findings.is_empty());
    let warm = run();
    assert_eq!(warm.dirs_cached, 2);
    assert!(warm.findings.is_empty());

    // The store's Add stops locking: main's goroutines now race in the store's map, and
    // main's directory, unchanged, is analyzed again.
    let store = app.join("store/store.go");
    let text = std::fs::read_to_string(&store).unwrap();
    let unlocked = text.replacen(
        "\ts.mu.Lock()\n\tdefer s.mu.Unlock()\n\ts.bump(k)",
        "\ts.bump(k)",
        1,
    );
    assert_ne!(unlocked, text, "the fixture's Add locks");
    std::fs::write(&store, unlocked).unwrap();
    let edited = run();
    assert_eq!(edited.dirs_cached, 0);
    let fresh = check(&[format!("{}/...", module.display())], &Options::default()).unwrap();
    assert_eq!(edited.findings, fresh.findings);
    assert!(edited
        .findings
        .iter()
        .any(|f| f.rule == "MG001" && f.location.path.ends_with("main.go")));
}

#[test]
fn the_grpc_version_in_go_mod_decides_whether_metadata_is_shared() {
    let tmp = tempfile::tempdir().unwrap();
    let module = tmp.path().join("module");
    copy_fixture("grpc_metadata_written", &module.join("app"));
    let go_mod = |version: &str| {
        let text = format!("module example.com/m\n\nrequire google.golang.org/grpc {version}\n");
        std::fs::write(module.join("go.mod"), text).unwrap();
    };
    let options = Options {
        cache: Some(Cache::open(&tmp.path().join("cache")).unwrap()),
        ..Options::default()
    };
    let run = || check(&[format!("{}/...", module.display())], &options).unwrap();
    let rules = |findings: &[mapguard::finding::Finding]| -> Vec<&str> {
        findings.iter().map(|f| f.rule).collect()
    };

    // gRPC v1.29 hands out the context's own map; since v1.39 a copy.
    go_mod("v1.29.1");
    assert_eq!(rules(&run().findings), ["MG005"]);
    go_mod("v1.64.0");
    let upgraded = run();
    assert_eq!(
        upgraded.dirs_cached, 0,
        "go.mod's gRPC version is part of the key"
    );
    assert!(upgraded.findings.is_empty());
    // Without a go.mod the version is not known: old code, reported.
    std::fs::remove_file(module.join("go.mod")).unwrap();
    let outcome = check(&[format!("{}/...", module.display())], &Options::default()).unwrap();
    assert_eq!(rules(&outcome.findings), ["MG005"]);
}
