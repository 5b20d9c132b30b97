//! Lock contracts no runnable fixture can show: what a function's name promises about the
//! locks its callers hold, for a function only other packages call.

use std::path::Path;

mod common;

/// A package whose `drain{suffix}` method, called by no code of the package, starts a
/// goroutine writing the map under `s.mu` (the type's main mutex: two methods lock it, one
/// locks `s.stats`) and deletes from the map (line 35).
fn store_package(dir: &Path, suffix: &str) {
    std::fs::write(dir.join("go.mod"), "module example.com/store\n\ngo 1.22\n").unwrap();
    let src = r#"package store

import "sync"

type Store struct {
	mu      sync.Mutex
	stats   sync.Mutex
	pending map[string]int
	drained int
}

func New() *Store { return &Store{pending: map[string]int{}} }

func (s *Store) refill() {
	s.mu.Lock()
	s.pending["tick"]++
	s.mu.Unlock()
}

func (s *Store) Add(k string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending[k]++
}

func (s *Store) Drained() int {
	s.stats.Lock()
	defer s.stats.Unlock()
	return s.drained
}

func (s *Store) drainSUFFIX() {
	go s.refill()
	for k := range s.pending {
		delete(s.pending, k)
	}
}
"#
    .replace("SUFFIX", suffix);
    std::fs::write(dir.join("store.go"), src).unwrap();
}

fn findings(dir: &Path) -> String {
    let out = common::command(dir)
        .args([
            "check",
            "--no-cache",
            "--format",
            "short",
            "--min-confidence",
            "low",
            ".",
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_locked_root_runs_holding_its_types_main_mutex() {
    let tmp = tempfile::tempdir().unwrap();
    store_package(tmp.path(), "Locked");
    let out = findings(tmp.path());
    assert!(!out.contains("store.go:35"), "{out}");
}

#[test]
fn the_same_root_without_the_contract_races_its_goroutine() {
    let tmp = tempfile::tempdir().unwrap();
    store_package(tmp.path(), "");
    let out = findings(tmp.path());
    assert!(out.contains("store.go:35:3: MG001"), "{out}");
}
