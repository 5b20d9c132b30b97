//! Runs mapguard on every package under `fixtures/` (and `tests/copylocks/`, the programs
//! go vet's copylocks check rejects on purpose) and compares its findings with the
//! `// want "regexp"` comments there, as golang.org/x/tools/go/analysis/analysistest does:
//! every finding must match a `want` on its line, and every `want` must be matched.
//! A regexp is matched against `RULE message`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mapguard::finding::DEFAULT_MIN_CONFIDENCE;
use mapguard::run::{check, Options};
use regex::Regex;

/// A `// want` expectation: file, line, regexps still unmatched.
type Wants = BTreeMap<(String, u32), Vec<Regex>>;

/// The Go test packages: every directory of the fixture modules.
fn fixture_dirs() -> Vec<PathBuf> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut dirs: Vec<PathBuf> = ["fixtures", "tests/copylocks"]
        .iter()
        .flat_map(|root| std::fs::read_dir(manifest.join(root)).expect("fixture module exists"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// Parses `// want "re1" "re2"` comments (Go string syntax, backslash escapes) in the
/// fixture's packages (its directory and those below it).
fn wants(dir: &Path) -> Wants {
    let quoted = Regex::new(r#""((?:[^"\\]|\\.)*)""#).unwrap();
    let mut out = Wants::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let path = entry.unwrap().into_path();
        if path.extension().is_none_or(|e| e != "go") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (i, line) in text.lines().enumerate() {
            let Some(pos) = line.find("// want ") else {
                continue;
            };
            let res: Vec<Regex> = quoted
                .captures_iter(&line[pos + 8..])
                .map(|c| Regex::new(&c[1].replace("\\\\", "\\")).expect("valid want regexp"))
                .collect();
            assert!(!res.is_empty(), "{}:{}: empty want", path.display(), i + 1);
            out.insert((path.display().to_string(), i as u32 + 1), res);
        }
    }
    out
}

fn check_fixture(dir: &Path) -> Vec<String> {
    let outcome = check(&[format!("{}/...", dir.display())], &Options::default()).unwrap();
    let mut problems = Vec::new();
    for w in &outcome.warnings {
        problems.push(format!("unexpected warning: {}: {}", w.path, w.message));
    }
    let mut expected = wants(dir);
    for f in &outcome.findings {
        let key = (f.location.path.clone(), f.location.start.line);
        let text = format!("{} {}", f.rule, f.message);
        let matched = expected.get_mut(&key).and_then(|res| {
            let i = res.iter().position(|re| re.is_match(&text))?;
            Some(res.remove(i))
        });
        if matched.is_none() {
            problems.push(format!("{}:{}: unexpected finding: {text}", key.0, key.1));
        } else if f.confidence < DEFAULT_MIN_CONFIDENCE {
            // A race the race detector shows must be shown without asking for more.
            problems.push(format!(
                "{}:{}: expected finding hidden by default ({} confidence): {text}",
                key.0,
                key.1,
                f.confidence.as_str()
            ));
        }
    }
    for ((path, line), res) in expected {
        for re in res {
            problems.push(format!(
                "{path}:{line}: no finding matched want {:?}",
                re.as_str()
            ));
        }
    }
    problems
}

#[test]
fn every_fixture_reports_exactly_its_wants() {
    let dirs = fixture_dirs();
    assert!(dirs.len() >= 25, "too few fixtures: {}", dirs.len());
    let problems: Vec<String> = dirs.iter().flat_map(|d| check_fixture(d)).collect();
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn fixtures_are_balanced_between_positives_and_safe_look_alikes() {
    let (positive, safe): (Vec<_>, Vec<_>) = fixture_dirs()
        .into_iter()
        .partition(|d| !wants(d).is_empty());
    let (p, s) = (positive.len() as f64, safe.len() as f64);
    assert!(
        (p / s) > 0.75 && (p / s) < 1.33,
        "{p} positive vs {s} safe fixtures"
    );
}
