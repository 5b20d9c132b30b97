//! mapguard's JSON report: a stable, documented schema (see README, "JSON output").

use serde::Serialize;

use crate::finding::{Finding, Role};
use crate::run::{Outcome, WarningKind};

/// Bumped on any incompatible change of the schema (of this report and of triage's).
pub(crate) const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Report<'a> {
    version: u32,
    tool: Tool,
    findings: Vec<JsonFinding<'a>>,
    warnings: Vec<JsonWarning<'a>>,
    summary: Summary,
}

/// The tool that wrote a JSON document.
#[derive(Serialize)]
pub(crate) struct Tool {
    name: &'static str,
    version: &'static str,
}

impl Tool {
    /// This build of mapguard.
    pub(crate) const MAPGUARD: Tool = Tool {
        name: "mapguard",
        version: env!("CARGO_PKG_VERSION"),
    };
}

#[derive(Serialize)]
struct Position<'a> {
    path: &'a str,
    line: u32,
    column: u32,
    end_line: u32,
    end_column: u32,
}

#[derive(Serialize)]
struct JsonRelated<'a> {
    role: Role,
    #[serde(flatten)]
    position: Position<'a>,
    message: &'a str,
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    rule: &'static str,
    severity: &'static str,
    message: &'a str,
    #[serde(flatten)]
    position: Position<'a>,
    label: &'a str,
    related: Vec<JsonRelated<'a>>,
    notes: &'a [String],
    help: &'a str,
    package: &'a str,
    function: &'a str,
    map: &'a str,
    confidence: &'static str,
    level: crate::finding::Level,
    fingerprint: &'a str,
    suppressed: Option<&'a str>,
    confirmed: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonWarning<'a> {
    path: &'a str,
    line: Option<u32>,
    column: Option<u32>,
    kind: &'static str,
    message: &'a str,
}

#[derive(Serialize)]
struct Summary {
    findings: usize,
    suppressed: usize,
    below_confidence: usize,
    files_with_findings: usize,
    files_analyzed: usize,
    files_with_errors: usize,
    files_skipped: usize,
    files_excluded: usize,
    files_screened: usize,
    packages: usize,
}

fn position(l: &crate::finding::Location) -> Position<'_> {
    Position {
        path: &l.path,
        line: l.start.line,
        column: l.start.column,
        end_line: l.end.line,
        end_column: l.end.column,
    }
}

fn finding(f: &Finding) -> JsonFinding<'_> {
    JsonFinding {
        rule: f.rule,
        severity: match f.level {
            crate::finding::Level::Error => "error",
            crate::finding::Level::Warning => "warning",
            crate::finding::Level::Note => "note",
        },
        message: &f.message,
        position: position(&f.location),
        label: &f.label,
        related: f
            .related
            .iter()
            .map(|r| JsonRelated {
                role: r.role,
                position: position(&r.location),
                message: &r.message,
            })
            .collect(),
        notes: &f.notes,
        help: &f.help,
        package: &f.package,
        function: &f.function,
        map: &f.map,
        confidence: f.confidence.as_str(),
        level: f.level,
        fingerprint: &f.fingerprint,
        suppressed: f.suppressed.as_deref(),
        confirmed: f.confirmed.as_deref(),
    }
}

/// The whole outcome as one JSON document.
pub fn render(outcome: &Outcome) -> Vec<u8> {
    let report = Report {
        version: SCHEMA_VERSION,
        tool: Tool::MAPGUARD,
        findings: outcome.findings.iter().map(finding).collect(),
        warnings: outcome
            .warnings
            .iter()
            .map(|w| JsonWarning {
                path: &w.path,
                line: w.position.map(|p| p.line),
                column: w.position.map(|p| p.column),
                kind: match w.kind {
                    WarningKind::Unreadable => "unreadable",
                    WarningKind::SyntaxError => "syntax-error",
                    WarningKind::Incomplete => "incomplete",
                    WarningKind::OverBudget => "over-budget",
                    WarningKind::Suppression => "suppression",
                },
                message: &w.message,
            })
            .collect(),
        summary: Summary {
            findings: outcome.active().count(),
            suppressed: outcome.findings.len() - outcome.active().count(),
            below_confidence: outcome.below_confidence,
            files_with_findings: outcome.files_with_findings(),
            files_analyzed: outcome.files_analyzed,
            files_with_errors: outcome.files_with_errors,
            files_skipped: outcome.files_skipped,
            files_excluded: outcome.files_excluded,
            files_screened: outcome.files_screened,
            packages: outcome.packages,
        },
    };
    let mut out = serde_json::to_vec_pretty(&report).expect("the report serializes");
    out.push(b'\n');
    out
}
