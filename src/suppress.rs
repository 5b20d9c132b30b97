//! Inline suppressions: `//mapguard:ignore MG001 reason` (or `all`), and golangci-lint's
//! `//nolint:mapguard // reason` and bare `//nolint`. A comment after code applies to its own
//! line; a comment on a line of its own applies to the line below it. A
//! `//mapguard:file-ignore MG003 reason` comment applies to its whole file.

use crate::finding::Finding;
use crate::source::SourceFile;

/// One suppression comment.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Directive {
    /// The file, as displayed.
    pub path: String,
    /// The 1-based line of the comment.
    pub line: u32,
    /// Whether code precedes the comment on its line (it then covers that line only, else
    /// the next line only).
    pub trailing: bool,
    /// Whether it covers its whole file (`//mapguard:file-ignore`).
    pub whole_file: bool,
    /// The rules it silences; `None` for all.
    pub rules: Option<Vec<String>>,
    /// Why, as written after the rules.
    pub reason: Option<String>,
    /// Whether it names mapguard (`//mapguard:ignore`, `//nolint:mapguard`), not every
    /// linter (bare `//nolint`, `//nolint:all`, whose reasons are golangci-lint's business).
    pub names_mapguard: bool,
}

/// The suppression comments of a file (a cheap scan; most files have none).
pub fn directives(source: &SourceFile) -> Vec<Directive> {
    if !source.text.contains("//mapguard:") && !source.text.contains("//nolint") {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (i, line) in source.text.lines().enumerate() {
        if let Some(d) = parse_line(line) {
            out.push(Directive {
                path: source.display_path(),
                line: i as u32 + 1,
                trailing: !line.trim_start().starts_with("//"),
                ..d
            });
        }
    }
    out
}

fn parse_line(line: &str) -> Option<Directive> {
    let reason = |s: &str| {
        let s = s.trim().trim_start_matches("//").trim();
        (!s.is_empty()).then(|| s.to_string())
    };
    let ours = ["//mapguard:ignore", "//mapguard:file-ignore"]
        .into_iter()
        .find_map(|prefix| Some((prefix, line.find(prefix)?)));
    if let Some((prefix, at)) = ours {
        let rest = &line[at + prefix.len()..];
        let rest = rest.trim_start();
        let (list, tail) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
        // Rules by id or name (`MG001`, `concurrent-map-write`), kept as ids; an unknown one
        // stays as written, to be reported.
        let rules = (!list.is_empty() && !list.eq_ignore_ascii_case("all")).then(|| {
            list.split(',')
                .map(|r| {
                    crate::rules::get(r.trim())
                        .map_or(r.trim().to_uppercase(), |d| d.id.to_string())
                })
                .collect()
        });
        return Some(Directive {
            path: String::new(),
            line: 0,
            trailing: false,
            whole_file: prefix == "//mapguard:file-ignore",
            rules,
            reason: reason(tail),
            names_mapguard: true,
        });
    }
    let at = line.find("//nolint")?;
    let rest = &line[at + "//nolint".len()..];
    let (linters, tail) = match rest.strip_prefix(':') {
        Some(list) => list.split_once(char::is_whitespace).unwrap_or((list, "")),
        None if rest.is_empty() || rest.starts_with(char::is_whitespace) => ("", rest),
        None => return None,
    };
    let named = linters.split(',').any(|l| l.trim() == "mapguard");
    let ours = named || linters.is_empty() || linters.split(',').any(|l| l.trim() == "all");
    ours.then(|| Directive {
        path: String::new(),
        line: 0,
        trailing: false,
        whole_file: false,
        rules: None,
        reason: reason(tail),
        names_mapguard: named,
    })
}

/// Marks the findings that a directive covers; returns, per directive, whether it was used.
pub fn apply(findings: &mut [Finding], directives: &[Directive]) -> Vec<bool> {
    let mut used = vec![false; directives.len()];
    for f in findings.iter_mut() {
        let line = f.location.start.line;
        let hit = directives.iter().position(|d| {
            d.path == f.location.path
                && (d.whole_file || line == if d.trailing { d.line } else { d.line + 1 })
                && d.rules
                    .as_ref()
                    .is_none_or(|r| r.iter().any(|id| id == f.rule))
        });
        if let Some(i) = hit {
            used[i] = true;
            f.suppressed = Some(directives[i].reason.clone().unwrap_or_default());
        }
    }
    used
}

/// Fingerprints that stay the same when unrelated lines move: a hash of rule, package,
/// function, map and access, with the occurrence among findings sharing them. The findings
/// must be sorted.
pub fn fingerprint(findings: &mut [Finding]) {
    let mut seen = std::collections::HashMap::new();
    for f in findings.iter_mut() {
        let key = format!(
            "{}\0{}\0{}\0{}\0{}",
            f.rule, f.package, f.function, f.map, f.access
        );
        let n = seen.entry(fnv1a(&key)).or_insert(0u32);
        f.fingerprint = format!("{:016x}:{n}", fnv1a(&key));
        *n += 1;
    }
}

/// FNV-1a, 64 bits: stable across runs, platforms and versions (unlike std's hasher).
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directive_forms() {
        let d =
            parse_line("\tm[k] = v //mapguard:ignore MG001,mg002 guarded by the caller").unwrap();
        assert_eq!(
            d.rules,
            Some(vec!["MG001".to_string(), "MG002".to_string()])
        );
        assert_eq!(d.reason.as_deref(), Some("guarded by the caller"));
        let all = parse_line("//mapguard:ignore all").unwrap();
        assert_eq!((all.rules, all.reason), (None, None));
        let nolint = parse_line("x := 1 //nolint:errcheck,mapguard // single goroutine").unwrap();
        assert_eq!(nolint.reason.as_deref(), Some("single goroutine"));
        assert!(parse_line("//nolint:errcheck // other linter").is_none());
        assert!(nolint.names_mapguard);
        let bare = parse_line("//nolint").unwrap();
        assert!(!bare.names_mapguard && bare.reason.is_none());
        assert!(!parse_line("x() //nolint:all").unwrap().names_mapguard);
        assert!(
            parse_line("//mapguard:ignore MG001")
                .unwrap()
                .names_mapguard
        );
        assert!(parse_line("//nolintx").is_none());
        assert!(parse_line("// an ordinary comment").is_none());
    }

    fn finding_at(line: u32) -> Finding {
        let at = serde_json::json!({"line": line, "column": 1});
        serde_json::from_value(serde_json::json!({
            "location": {"path": "a.go", "start": at, "end": at, "start_byte": 0, "end_byte": 1},
            "rule": "MG001", "message": "", "label": "", "related": [], "notes": [],
            "help": "", "package": "p", "function": "f", "map": "m", "access": "write",
            "confidence": "high", "level": "error", "fingerprint": "", "suppressed": null,
        }))
        .unwrap()
    }

    #[test]
    fn a_trailing_comment_covers_its_line_and_a_lone_one_the_next() {
        let text = "package p\n\nfunc f() {\n\tm[1] = 1 //mapguard:ignore MG001 one\n\tm[2] = 2\n\t//mapguard:ignore MG001 two\n\tm[3] = 3\n}\n";
        let source = SourceFile::new(std::path::PathBuf::from("a.go"), text.to_string());
        let ds = directives(&source);
        let mut fs: Vec<Finding> = (4..=7).map(finding_at).collect();
        let used = apply(&mut fs, &ds);
        let suppressed: Vec<_> = fs.iter().map(|f| f.suppressed.as_deref()).collect();
        assert_eq!(suppressed, [Some("one"), None, None, Some("two")]);
        assert_eq!(used, [true, true]);
    }

    #[test]
    fn a_file_ignore_covers_its_rules_in_the_whole_file() {
        let text = "//mapguard:file-ignore MG002 generated accessors, locked by the caller
package p
";
        let source = SourceFile::new(std::path::PathBuf::from("a.go"), text.to_string());
        let ds = directives(&source);
        let mut fs: Vec<Finding> = (2..=4).map(finding_at).collect();
        fs[1].rule = "MG002";
        let used = apply(&mut fs, &ds);
        let suppressed: Vec<_> = fs.iter().map(|f| f.suppressed.as_deref()).collect();
        let reason = "generated accessors, locked by the caller";
        assert_eq!(suppressed, [None, Some(reason), None]);
        assert_eq!(used, [true]);
        let all = parse_line("//mapguard:file-ignore all").unwrap();
        assert!(all.whole_file && all.rules.is_none());
    }
}
