//! Fuzzing under `cargo test` (cargo-fuzz needs a nightly toolchain, which is not available
//! here): proptest mutates the fixtures' Go files — deletions, duplications, inserted Go
//! tokens, flipped bytes, truncations — and runs every mutant through parse → index →
//! analyze → every report format, asserting no panic and a bounded time. Crashers it finds
//! are kept as cases in `tests/robustness.rs`. `PROPTEST_CASES` sets the number of runs.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use mapguard::report::{render, Format, ReportOptions};
use mapguard::run::{check_sources, Options};
use mapguard::source::SourceFile;
use proptest::prelude::*;

/// Tokens that steer mutants into interesting syntax.
const TOKENS: &[&str] = &[
    "go ",
    "func() {",
    "}",
    "{",
    "(",
    ")",
    "[",
    "]",
    "defer ",
    "mu.Lock()",
    "mu.Unlock()",
    "m[k] = v",
    "delete(m, k)",
    "range ",
    "<-ch",
    "wg.Wait()",
    "\n",
    ";",
    "map[string]int{}",
    "select {",
    "case ",
    "switch ",
    "if true {",
    "for {",
    "\"",
    "`",
    "/*",
    "*/",
    "\u{feff}",
    "\u{1b}[31m",
    "\0",
    "é",
    "\r\n",
];

/// The fixtures' Go files, read once.
fn seeds() -> &'static [(PathBuf, String)] {
    static SEEDS: OnceLock<Vec<(PathBuf, String)>> = OnceLock::new();
    SEEDS.get_or_init(read_seeds)
}

fn read_seeds() -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut out = Vec::new();
    for dir in std::fs::read_dir(root).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&dir).unwrap() {
            let f = f.unwrap().path();
            if f.extension().is_some_and(|e| e == "go") {
                out.push((f.clone(), std::fs::read_to_string(&f).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize, usize),
    Duplicate(usize, usize),
    Insert(usize, usize),
    Flip(usize, u8),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0usize..64).prop_map(|(a, n)| Mutation::Delete(a, n)),
        (any::<usize>(), 0usize..256).prop_map(|(a, n)| Mutation::Duplicate(a, n)),
        (any::<usize>(), 0..TOKENS.len()).prop_map(|(a, t)| Mutation::Insert(a, t)),
        (any::<usize>(), any::<u8>()).prop_map(|(a, b)| Mutation::Flip(a, b)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(text: &str, mutations: &[Mutation]) -> Vec<u8> {
    let mut bytes = text.as_bytes().to_vec();
    for m in mutations {
        let len = bytes.len().max(1);
        match *m {
            Mutation::Delete(a, n) => {
                let a = a % len;
                let b = (a + n).min(bytes.len());
                if a < b {
                    bytes.drain(a..b);
                }
            }
            Mutation::Duplicate(a, n) => {
                let a = a % len;
                let b = (a + n).min(bytes.len());
                if a < b {
                    let chunk = bytes[a..b].to_vec();
                    bytes.splice(b..b, chunk);
                }
            }
            Mutation::Insert(a, t) => {
                let a = a % (bytes.len() + 1);
                bytes.splice(a..a, TOKENS[t].bytes());
            }
            Mutation::Flip(a, b) => {
                if !bytes.is_empty() {
                    let a = a % bytes.len();
                    bytes[a] = b;
                }
            }
            Mutation::Truncate(a) => bytes.truncate(a % len),
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutants_never_panic_and_finish_quickly(
        seed in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..12),
    ) {
        let seeds = seeds();
        let (path, text) = &seeds[seed.index(seeds.len())];
        let bytes = apply(text, &mutations);
        // Mutants that are not UTF-8 are rejected at loading, as on disk; the rest run the
        // whole pipeline next to their unmutated sibling.
        let Ok(mutant) = String::from_utf8(bytes) else {
            return Ok(());
        };
        let files = vec![
            SourceFile::new(path.with_file_name("mutant.go"), mutant),
            SourceFile::new(path.clone(), text.clone()),
        ];
        let start = Instant::now();
        let outcome = check_sources(files, &Options::default());
        for format in [Format::Terminal, Format::Sarif, Format::Json, Format::Github, Format::Short] {
            let out = render(&outcome, format, &ReportOptions { color: true, ..ReportOptions::default() });
            prop_assert!(!out.is_empty() || format != Format::Terminal);
        }
        prop_assert!(start.elapsed() < Duration::from_secs(10), "took {:?}", start.elapsed());
    }
}
