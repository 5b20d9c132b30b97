//! The triage report in the terminal (codespan snippets on the accesses and the creation
//! sites, followed by the matching static finding) and as JSON (schema in README,
//! "Triage JSON").

use std::collections::BTreeMap;
use std::io::Write as _;
use std::sync::Arc;

use codespan_reporting::diagnostic::Diagnostic;
use serde::Serialize;

use super::log::{Frame, Kind};
use super::{observed_finding, sides, Report, Sources};
use crate::report::json::{Tool, SCHEMA_VERSION};
use crate::report::terminal::{buffer, Snippets};
use crate::source::SourceFile;

/// The terminal report: each race with its snippets and, when mapguard reports it, the
/// static finding marked confirmed; then a summary line.
pub fn terminal(reports: &[Report], sources: &Sources, logs: usize, color: bool) -> Vec<u8> {
    let files: BTreeMap<String, Arc<SourceFile>> = sources.files();
    let snippets = Snippets::new(&files);
    let mut out = buffer(color);
    for report in reports {
        let mut notes = Vec::new();
        for a in &report.accesses {
            if a.site.is_none() {
                let frames: Vec<String> = a.frames.iter().map(|(f, _)| frame_words(f)).collect();
                notes.push(format!(
                    "{} ({}) is outside the checkout: {}",
                    a.goroutine,
                    a.op,
                    if frames.is_empty() {
                        "the log keeps no stack".to_string()
                    } else {
                        frames.join(" ← ")
                    }
                ));
            }
        }
        if let Some(f) = &report.finding {
            notes.push(format!(
                "mapguard reports it statically: {} at {}:{} (below)",
                f.rule, f.location.path, f.location.start.line
            ));
        }
        let observed = observed_finding(report, sources).and_then(|mut f| {
            f.notes.extend(notes.iter().cloned());
            snippets.finding(&f)
        });
        let diagnostic = observed.unwrap_or_else(|| {
            let mut all = vec![format!("observed {} in {}", report.message, report.origin)];
            all.extend(notes);
            all.extend(report.explanation.iter().cloned());
            Diagnostic::error()
                .with_code("MG900")
                .with_message(format!(
                    "`{}` raced at run time: {}",
                    report.map.as_deref().unwrap_or("a map"),
                    sides(report)
                ))
                .with_notes(all.into_iter().map(|n| format!("note: {n}")).collect())
        });
        snippets.emit(&mut out, &diagnostic);
        if let Some(found) = &report.finding {
            let mut found = found.clone();
            found.confirmed = Some(report.origin.clone());
            if let Some(reason) = &found.suppressed {
                found
                    .notes
                    .push(format!("suppressed in the source: {reason}"));
            }
            if let Some(d) = snippets.finding(&found) {
                snippets.emit(&mut out, &d);
            }
        }
    }
    let _ = out.write_all(summary(reports, logs).as_bytes());
    out.into_inner()
}

fn frame_words(f: &Frame) -> String {
    format!("{} ({}:{})", f.function, f.path, f.line)
}

/// "3 races observed in 2 logs: 2 confirmed by a static finding, 1 not found statically".
fn summary(reports: &[Report], logs: usize) -> String {
    let counts = Counts::of(reports);
    let logs_words = format!("{logs} log{}", if logs == 1 { "" } else { "s" });
    if reports.is_empty() {
        return format!("no race report or concurrent map crash in {logs_words}\n");
    }
    let mut parts = vec![format!(
        "{} confirmed by a static finding",
        counts.confirmed
    )];
    if counts.not_found > 0 {
        parts.push(format!("{} not found statically", counts.not_found));
    }
    if counts.outside > 0 {
        parts.push(format!("{} outside the checkout", counts.outside));
    }
    format!(
        "{} race{} observed in {logs_words}: {}\n",
        reports.len(),
        if reports.len() == 1 { "" } else { "s" },
        parts.join(", ")
    )
}

/// How the reports split.
#[derive(Serialize)]
struct Counts {
    reports: usize,
    confirmed: usize,
    not_found: usize,
    outside: usize,
}

impl Counts {
    fn of(reports: &[Report]) -> Counts {
        let outside = reports
            .iter()
            .filter(|r| r.sites().next().is_none())
            .count();
        let confirmed = reports.iter().filter(|r| r.finding.is_some()).count();
        Counts {
            reports: reports.len(),
            confirmed,
            not_found: reports.len() - confirmed - outside,
            outside,
        }
    }
}

#[derive(Serialize)]
struct JsonLog<'a> {
    version: u32,
    tool: Tool,
    reports: Vec<JsonReport<'a>>,
    summary: Counts,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    kind: &'static str,
    message: &'a str,
    count: usize,
    origin: &'a str,
    map: Option<&'a str>,
    accesses: Vec<JsonAccess<'a>>,
    created: Vec<JsonCreated<'a>>,
    finding: Option<JsonFinding<'a>>,
    explanation: Option<&'a str>,
    unmapped_frames: Vec<JsonFrame<'a>>,
}

#[derive(Serialize)]
struct JsonAccess<'a> {
    path: Option<&'a str>,
    line: Option<u32>,
    function: &'a str,
    op: &'a str,
    goroutine: &'a str,
    inferred: bool,
}

#[derive(Serialize)]
struct JsonCreated<'a> {
    goroutine: &'a str,
    path: Option<&'a str>,
    line: Option<u32>,
    function: &'a str,
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    rule: &'a str,
    path: &'a str,
    line: u32,
    message: &'a str,
    fingerprint: &'a str,
    suppressed: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonFrame<'a> {
    function: &'a str,
    path: &'a str,
    line: u32,
}

/// The reports as JSON.
pub fn json(reports: &[Report]) -> Vec<u8> {
    let log = JsonLog {
        version: SCHEMA_VERSION,
        tool: Tool::MAPGUARD,
        reports: reports.iter().map(json_report).collect(),
        summary: Counts::of(reports),
    };
    let mut out = serde_json::to_vec_pretty(&log).expect("the report serializes");
    out.push(b'\n');
    out
}

fn json_report(r: &Report) -> JsonReport<'_> {
    JsonReport {
        kind: match r.kind {
            Kind::DataRace => "data-race",
            Kind::FatalError => "fatal-error",
        },
        message: &r.message,
        count: r.count,
        origin: &r.origin,
        map: r.map.as_deref(),
        accesses: r
            .accesses
            .iter()
            .map(|a| JsonAccess {
                path: a.site.as_ref().map(|s| s.path.as_str()),
                line: a.site.as_ref().map(|s| s.line),
                function: &a.function,
                op: &a.op,
                goroutine: &a.goroutine,
                inferred: a.inferred,
            })
            .collect(),
        created: r
            .created
            .iter()
            .map(|c| JsonCreated {
                goroutine: &c.goroutine,
                path: c.site.as_ref().map(|s| s.path.as_str()),
                line: c.site.as_ref().map(|s| s.line),
                function: &c.function,
            })
            .collect(),
        finding: r.finding.as_ref().map(|f| JsonFinding {
            rule: f.rule,
            path: &f.location.path,
            line: f.location.start.line,
            message: &f.message,
            fingerprint: &f.fingerprint,
            suppressed: f.suppressed.as_deref(),
        }),
        explanation: r.explanation.as_deref(),
        unmapped_frames: r
            .unmapped_frames
            .iter()
            .map(|f| JsonFrame {
                function: &f.function,
                path: &f.path,
                line: f.line,
            })
            .collect(),
    }
}
