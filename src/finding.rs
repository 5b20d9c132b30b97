//! Findings: what the rules report and every output format renders.

use std::ops::Range;

use serde::{Deserialize, Deserializer, Serialize};

use crate::source::{LineCol, SourceFile};

/// A span of source with its resolved positions.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Location {
    /// The file, as displayed (forward slashes, relative when the user gave a relative path).
    pub path: String,
    /// Start line and column (1-based).
    pub start: LineCol,
    /// End line and column (1-based, exclusive column).
    pub end: LineCol,
    /// Byte offset of the start in the file.
    pub start_byte: usize,
    /// Byte offset of the end in the file.
    pub end_byte: usize,
}

impl Location {
    /// The location of a byte range in a file.
    pub fn new(file: &SourceFile, bytes: Range<usize>) -> Self {
        Location {
            path: file.display_path(),
            start: file.line_col(bytes.start),
            end: file.line_col(bytes.end),
            start_byte: bytes.start,
            end_byte: bytes.end,
        }
    }

    /// The location of a byte range cut at the end of its first line (a statement that
    /// spans lines is shown by its first).
    pub fn first_line(file: &SourceFile, bytes: Range<usize>) -> Self {
        let end = file.text[bytes.clone()]
            .find('\n')
            .map_or(bytes.end, |i| bytes.start + i);
        Location::new(file, bytes.start..end)
    }
}

/// What a secondary location is to the finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// The access that races with the reported one.
    ConflictingAccess,
    /// The statement or call that starts the goroutine.
    SpawnSite,
    /// A call through which the reported access is reached.
    CallSite,
    /// Where a lock relevant to the finding is taken.
    LockSite,
    /// Where the map was loaded from a concurrent container.
    LoadSite,
    /// Where a function returns the map, handing it to its caller.
    ReturnSite,
}

/// A secondary location with its explanation.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Related {
    /// What this location is.
    pub role: Role,
    /// Where it is.
    pub location: Location,
    /// A short label, e.g. "conflicting write by `main`".
    pub message: String,
}

/// How sure mapguard is that a finding is a real race.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// The finding rests on a contract the analysis cannot see: a test's setup deciding
    /// whether package code's goroutine runs, or a lock-free helper's callers.
    Low,
    /// Inferred: from locking discipline, or from an entry point (a handler, an exported
    /// method) whose callers are not visible; or a race within test code.
    Medium,
    /// A visible goroutine and a visible conflicting access, with no guard anywhere.
    High,
}

/// The least confidence `check` shows unless told otherwise (`--min-confidence`).
pub const DEFAULT_MIN_CONFIDENCE: Confidence = Confidence::Medium;

impl Confidence {
    /// The word used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

/// How loudly a finding is reported: SARIF `level`, the terminal's error or warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// A note.
    Note,
    /// A warning.
    Warning,
    /// An error.
    Error,
}

impl Level {
    /// The default level of a finding of some confidence.
    pub fn of(confidence: Confidence) -> Level {
        match confidence {
            Confidence::High => Level::Error,
            Confidence::Medium => Level::Warning,
            Confidence::Low => Level::Note,
        }
    }
}

/// A string the program holds for its whole run (rule ids, access kinds). An alias, so that
/// serde's derive does not try to borrow it from the input when reading findings back.
pub type StaticStr = &'static str;

/// One reported problem.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Finding {
    /// Where the reported access is; findings sort by it.
    pub location: Location,
    /// The rule id, e.g. `MG001`.
    #[serde(deserialize_with = "rule_id")]
    pub rule: StaticStr,
    /// The one-line message.
    pub message: String,
    /// The label on the primary location.
    pub label: String,
    /// Secondary locations: the conflicting access and the spawn site.
    pub related: Vec<Related>,
    /// Extra explanations (where the map is declared, why the accesses are concurrent).
    pub notes: Vec<String>,
    /// How to fix it.
    pub help: String,
    /// The package's name.
    pub package: String,
    /// The function holding the reported access.
    pub function: String,
    /// The map as written in the source (`m`, `s.items`).
    pub map: String,
    /// Whether the reported access reads or writes: "read" or "write".
    #[serde(deserialize_with = "access_kind")]
    pub access: StaticStr,
    /// How sure the analysis is.
    pub confidence: Confidence,
    /// How loudly it is reported: from the confidence, unless the configuration says.
    pub level: Level,
    /// A key that survives unrelated edits: rule, package, function, map, access and the
    /// occurrence among findings sharing those (set once the run's findings are sorted).
    pub fingerprint: String,
    /// The justification of an inline suppression (`//mapguard:ignore MG001 why`), if one
    /// covers this finding; suppressed findings stay in SARIF, marked so.
    pub suppressed: Option<String>,
    /// The race report that shows this race happening (`race.log:12`), when a log given
    /// with `--race-log` does.
    #[serde(default)]
    pub confirmed: Option<String>,
}

/// Reads a rule id back (findings are stored in the result cache) as the rule's own `&'static`.
fn rule_id<'de, D: Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
    let id = String::deserialize(d)?;
    crate::rules::get(&id)
        .map(|rule| rule.id)
        .ok_or_else(|| serde::de::Error::custom(format!("unknown rule {id}")))
}

/// Reads an access kind back: "read" or "write".
fn access_kind<'de, D: Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
    match String::deserialize(d)?.as_str() {
        "read" => Ok("read"),
        "write" => Ok("write"),
        other => Err(serde::de::Error::custom(format!("unknown access {other}"))),
    }
}
