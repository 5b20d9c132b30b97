//! `mapguard triage`: from a crash log or a race report to the map, the lines and the fix.
//!
//! The pipeline: [`log`] reads every report out of the logs (race detector blocks, runtime
//! crashes with their goroutine dumps), [`map_ops`] recognises the runtime's map frames,
//! [`locate`] maps the log's paths onto the checkout, the source line names the map, and
//! [`explain`] pairs each report with the static finding on the same lines (or says why
//! there is none). [`render`] and [`sarif`] print the result; [`confirm`] marks the
//! findings of `mapguard check --race-log`.

pub mod locate;
pub mod log;
pub mod map_ops;
mod name;
pub mod render;
pub mod sarif;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use tree_sitter::Tree;

use crate::finding::{Confidence, Finding, Level, Location, Related, Role};
use crate::run::Outcome;
use crate::source::SourceFile;
use locate::Checkout;
use log::{Frame, Kind, Observation, Stack};
use map_ops::MapOp;

/// A line of the checkout.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Site {
    /// The file, as reports print it.
    pub path: String,
    /// The line (1-based).
    pub line: u32,
}

/// One goroutine's access in a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// `goroutine 8`, `main goroutine`.
    pub goroutine: String,
    /// What it did: a map operation (`assign`, `delete`, `read`, `iterate`, …) when its
    /// stack or its source line says, else the report's word (`write`, `read`).
    pub op: String,
    /// Whether the access changes the map.
    pub writes: bool,
    /// The function of the reported frame.
    pub function: String,
    /// The first frame above the map operation that is in the checkout.
    pub site: Option<Site>,
    /// Whether the log does not say this goroutine raced: a crash dump shows it at an
    /// access of the same map.
    pub inferred: bool,
    /// The whole stack, innermost first, each frame with its line in the checkout if any.
    pub frames: Vec<(Frame, Option<Site>)>,
    /// Whether `op` comes from the runtime's frames (else from the crash message or the
    /// report's header).
    pub op_from_frames: bool,
}

/// Where a goroutine of the report was started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Creation {
    /// The goroutine started.
    pub goroutine: String,
    /// The function holding the `go` statement.
    pub function: String,
    /// The first frame of the creation stack in the checkout.
    pub site: Option<Site>,
}

/// One race the logs show, deduplicated.
#[derive(Debug, Clone)]
pub struct Report {
    /// A race detector report or a runtime crash.
    pub kind: Kind,
    /// `data race`, `concurrent map writes`, …
    pub message: String,
    /// How many times the logs show it.
    pub count: usize,
    /// Where the logs show it first: `LOG:LINE`.
    pub origin: String,
    /// The map, named from the source line of the first mapped access.
    pub map: Option<String>,
    /// The goroutines' accesses: two for a race report; the crashing goroutine first in a
    /// crash, then any goroutine the dump shows at the same map.
    pub accesses: Vec<Access>,
    /// Where the goroutines involved were started.
    pub created: Vec<Creation>,
    /// Frames of the accesses and creations that are outside the checkout (standard
    /// library, other modules), innermost first.
    pub unmapped_frames: Vec<Frame>,
    /// The static finding on the same lines, if mapguard reports one.
    pub finding: Option<Finding>,
    /// Why there is no finding, as far as mapguard can tell.
    pub explanation: Option<String>,
}

impl Report {
    /// The accesses that are in the checkout.
    pub fn sites(&self) -> impl Iterator<Item = &Site> {
        self.accesses.iter().filter_map(|a| a.site.as_ref())
    }
}

/// A log to read: its name as reports print it, and its text.
pub struct Log {
    /// `race.log`, or `<stdin>`.
    pub name: String,
    /// The whole log.
    pub text: String,
}

/// How long naming a map may spend parsing one file.
const PARSE_BUDGET: std::time::Duration = std::time::Duration::from_secs(10);

/// Source files read to name maps, parsed once.
#[derive(Default)]
pub struct Sources {
    files: HashMap<String, Option<(Arc<SourceFile>, Tree)>>,
}

impl Sources {
    fn get(&mut self, path: &str) -> Option<&(Arc<SourceFile>, Tree)> {
        self.files
            .entry(path.to_string())
            .or_insert_with(|| {
                let file = SourceFile::load(std::path::Path::new(path)).ok()?;
                let deadline = std::time::Instant::now() + PARSE_BUDGET;
                let tree = crate::parse::parse(&file.text, Some(deadline)).ok()?.tree;
                Some((Arc::new(file), tree))
            })
            .as_ref()
    }

    /// Every file read, by path, for the reports' snippets.
    pub fn files(&self) -> BTreeMap<String, Arc<SourceFile>> {
        self.files
            .iter()
            .filter_map(|(path, f)| f.as_ref().map(|(file, _)| (path.clone(), file.clone())))
            .collect()
    }

    fn map_on_line(&mut self, site: &Site, op: Option<MapOp>) -> Option<(String, MapOp)> {
        let (file, tree) = self.get(&site.path)?;
        name::map_on_line(file, tree, site.line, op)
    }

    /// What line `site` does to `map`, if it operates on it (a write preferred).
    fn operation_on(&mut self, site: &Site, map: &str) -> Option<MapOp> {
        let (file, tree) = self.get(&site.path)?;
        let ops: Vec<MapOp> = name::operations_on_line(file, tree, site.line)
            .into_iter()
            .filter(|(named, _)| named == map)
            .map(|(_, op)| op)
            .collect();
        ops.iter().find(|op| op.writes()).or(ops.first()).copied()
    }
}

/// The reports of every log, mapped onto the checkout, named, deduplicated and sorted (by
/// first appearance).
pub fn reports(logs: &[Log], checkout: &Checkout, sources: &mut Sources) -> Vec<Report> {
    let mut out: Vec<Report> = Vec::new();
    let mut by_key: HashMap<String, usize> = HashMap::new();
    for log in logs {
        for observation in log::observations(&log.text) {
            let report = resolve(&observation, &log.name, checkout, sources);
            let key = dedup_key(&report);
            match by_key.get(&key) {
                Some(&i) => out[i].count += 1,
                None => {
                    by_key.insert(key, out.len());
                    out.push(report);
                }
            }
        }
    }
    out
}

/// What makes two reports the same race: their kind and message, and each access's
/// operation and place (its line in the checkout, else its innermost frame). Goroutines a
/// crash dump merely shows near the map differ from crash to crash and do not count.
fn dedup_key(report: &Report) -> String {
    let mut accesses: Vec<String> = report
        .accesses
        .iter()
        .filter(|a| !a.inferred)
        .map(|a| match &a.site {
            Some(s) => format!("{}:{}:{}", a.op, s.path, s.line),
            None => format!("{}:{}", a.op, a.function),
        })
        .collect();
    accesses.sort();
    format!(
        "{:?}\0{}\0{}",
        report.kind,
        report.message,
        accesses.join("\0")
    )
}

fn resolve(
    observation: &Observation,
    log_name: &str,
    checkout: &Checkout,
    sources: &mut Sources,
) -> Report {
    let mut unmapped = Vec::new();
    let mut accesses = Vec::new();
    let mut created = Vec::new();
    match observation.kind {
        Kind::DataRace => {
            for stack in &observation.stacks {
                accesses.push(access(stack, None, checkout, &mut unmapped));
            }
            for stack in &observation.created {
                created.push(creation_from_stack(stack, checkout, &mut unmapped));
            }
        }
        Kind::FatalError => {
            let fallback = MapOp::of_fatal_message(&observation.message);
            if let Some(crashed) = observation.stacks.first() {
                accesses.push(access(crashed, fallback, checkout, &mut unmapped));
            }
        }
    }
    // Name the map from the first access in the checkout. An operation the stack does not
    // name (inlined into the caller, or only `write` in the report) is the line's.
    let mut map = None;
    for a in &mut accesses {
        let Some(site) = &a.site else { continue };
        let known = op_named(&a.op).filter(|_| a.op_from_frames);
        let hint = known.unwrap_or(if a.writes { MapOp::Assign } else { MapOp::Read });
        if let Some((named, syntax_op)) = sources.map_on_line(site, Some(hint)) {
            if known.is_none() && syntax_op.writes() == a.writes {
                a.op = syntax_op.as_str().to_string();
            }
            map.get_or_insert(named);
        }
    }
    if observation.kind == Kind::FatalError {
        // The dump shows the other goroutines where they were: one whose line operates on
        // the same map is the likely other side.
        for stack in observation.stacks.iter().skip(1) {
            let mut frames_unmapped = Vec::new();
            let mut candidate = access(stack, None, checkout, &mut frames_unmapped);
            let same_map = candidate
                .site
                .as_ref()
                .zip(map.as_deref())
                .and_then(|(site, map)| sources.operation_on(site, map));
            if let Some(op) = same_map {
                if !candidate.op_from_frames {
                    candidate.op = op.as_str().to_string();
                    candidate.writes = op.writes();
                }
                candidate.inferred = true;
                accesses.push(candidate);
                unmapped.extend(frames_unmapped);
            }
        }
        for stack in &observation.stacks {
            if !accesses.iter().any(|a| a.goroutine == stack.goroutine) {
                continue;
            }
            if let Some(frame) = &stack.created_by {
                let site = checkout.map(&frame.path, &frame.function).map(|path| Site {
                    path,
                    line: frame.line,
                });
                if site.is_none() {
                    unmapped.push(frame.clone());
                }
                created.push(Creation {
                    goroutine: stack.goroutine.clone(),
                    function: frame.function.clone(),
                    site,
                });
            }
        }
    }
    let mut seen = BTreeSet::new();
    unmapped.retain(|f: &Frame| seen.insert(f.clone()));
    Report {
        kind: observation.kind,
        message: observation.message.clone(),
        count: 1,
        origin: format!("{log_name}:{}", observation.line),
        map,
        accesses,
        created,
        unmapped_frames: unmapped,
        finding: None,
        explanation: None,
    }
}

fn op_named(word: &str) -> Option<MapOp> {
    [
        MapOp::Assign,
        MapOp::Delete,
        MapOp::Clear,
        MapOp::Read,
        MapOp::Iterate,
        MapOp::Clone,
    ]
    .into_iter()
    .find(|op| op.as_str() == word)
}

/// The access a stack shows: the operation from its runtime frames (or `fallback`), and the
/// first frame above them in the checkout. Frames passed on the way are `unmapped`.
fn access(
    stack: &Stack,
    fallback: Option<MapOp>,
    checkout: &Checkout,
    unmapped: &mut Vec<Frame>,
) -> Access {
    let runtime = stack
        .frames
        .iter()
        .take_while(|f| map_ops::is_runtime(&f.function))
        .count();
    let from_frames = stack.frames[..runtime]
        .iter()
        .find_map(|f| map_ops::of_frame(&f.function));
    let op = from_frames.or(fallback);
    let frames = mapped(&stack.frames, checkout);
    let (function, site) = first_in_checkout(&frames[runtime..], unmapped);
    let header = &stack.header;
    Access {
        goroutine: stack.goroutine.clone(),
        op: op.map_or_else(|| header.clone(), |op| op.as_str().to_string()),
        writes: op.map_or(header.contains("write"), MapOp::writes),
        function: function.unwrap_or_else(|| innermost(&stack.frames)),
        site,
        inferred: false,
        frames,
        op_from_frames: from_frames.is_some(),
    }
}

/// Each frame with its line in the checkout, if it has one.
fn mapped(frames: &[Frame], checkout: &Checkout) -> Vec<(Frame, Option<Site>)> {
    frames
        .iter()
        .map(|f| {
            let site = checkout
                .map(&f.path, &f.function)
                .map(|path| Site { path, line: f.line });
            (f.clone(), site)
        })
        .collect()
}

/// The first of `frames` in the checkout (its function and line); those before it are
/// pushed to `unmapped`.
fn first_in_checkout(
    frames: &[(Frame, Option<Site>)],
    unmapped: &mut Vec<Frame>,
) -> (Option<String>, Option<Site>) {
    for (frame, site) in frames {
        if let Some(site) = site {
            return (Some(frame.function.clone()), Some(site.clone()));
        }
        unmapped.push(frame.clone());
    }
    (None, None)
}

/// The innermost frame's function, or nothing for an empty stack.
fn innermost(frames: &[Frame]) -> String {
    frames
        .first()
        .map(|f| f.function.clone())
        .unwrap_or_default()
}

fn creation_from_stack(stack: &Stack, checkout: &Checkout, unmapped: &mut Vec<Frame>) -> Creation {
    let (function, site) = first_in_checkout(&mapped(&stack.frames, checkout), unmapped);
    Creation {
        goroutine: stack.goroutine.clone(),
        function: function.unwrap_or_else(|| innermost(&stack.frames)),
        site,
    }
}

/// The directories of the checkout the reports touch: the packages to analyze.
pub fn packages(reports: &[Report]) -> Vec<String> {
    let mut dirs = BTreeSet::new();
    for r in reports {
        let creations = r.created.iter().filter_map(|c| c.site.as_ref());
        for site in r.sites().chain(creations) {
            let dir = site.path.rsplit_once('/').map_or(".", |(dir, _)| dir);
            dirs.insert(dir.to_string());
        }
    }
    dirs.into_iter().collect()
}

/// Pairs each report with the static finding on its lines: the reported access or the
/// conflicting one, at the access's own line or at a call on its stack (a finding reported
/// where a call reaches the map), preferring the finding that covers more of the report and
/// names the same map. Failing that, a finding on the same map in a file of the accesses,
/// when the log shows only one side (a crash, a forgotten stack). A report without one gets
/// the reason, as far as mapguard can tell. A report whose log names no map takes the map
/// of a finding at its access. The files of the findings paired are read into `sources`,
/// for their snippets.
pub fn explain(reports: &mut [Report], findings: &[Finding], sources: &mut Sources) {
    for report in reports.iter_mut() {
        report.finding = best_finding(report, findings).cloned();
        match &report.finding {
            Some(f) => {
                // A log that names no map (the access is in a library the map was handed
                // to, `json.Marshal(resp)`) takes the map of the finding at the access.
                let at_access = report.accesses.iter().any(|a| {
                    a.site.as_ref().is_some_and(|s| {
                        s.path == f.location.path && s.line == f.location.start.line
                    })
                });
                if report.map.is_none() && at_access {
                    report.map = Some(f.map.clone());
                }
                let related = f.related.iter().map(|r| &r.location.path);
                for path in std::iter::once(&f.location.path).chain(related) {
                    sources.get(path);
                }
            }
            None => report.explanation = Some(why_not_found(report)),
        }
    }
}

fn best_finding<'a>(report: &Report, findings: &'a [Finding]) -> Option<&'a Finding> {
    // Each line of the checkout on an access's stack: 2 for the access itself, 1 for a call.
    let mut weights: HashMap<(&str, u32), usize> = HashMap::new();
    for a in &report.accesses {
        for site in a.frames.iter().filter_map(|(_, site)| site.as_ref()) {
            let weight = if a.site.as_ref() == Some(site) { 2 } else { 1 };
            let entry = weights.entry((site.path.as_str(), site.line)).or_default();
            *entry = (*entry).max(weight);
        }
    }
    let weight = |l: &Location| {
        weights
            .get(&(l.path.as_str(), l.start.line))
            .copied()
            .unwrap_or(0)
    };
    let one_sided = report.accesses.len() < 2 || report.accesses.iter().any(|a| a.site.is_none());
    let files: BTreeSet<&str> = report.sites().map(|s| s.path.as_str()).collect();
    findings
        .iter()
        .filter(|f| f.rule != "MG900")
        .filter_map(|f| {
            let conflicting: usize = f
                .related
                .iter()
                .filter(|r| r.role == Role::ConflictingAccess)
                .map(|r| weight(&r.location))
                .sum();
            let lines = weight(&f.location) + conflicting;
            let same_map = report.map.as_deref() == Some(f.map.as_str());
            let near = one_sided && same_map && files.contains(f.location.path.as_str());
            (lines > 0 || near).then_some(((lines, same_map, f.suppressed.is_none()), f))
        })
        .max_by(|a, b| a.0.cmp(&b.0).then_with(|| b.1.cmp(a.1)))
        .map(|(_, f)| f)
}

fn why_not_found(report: &Report) -> String {
    if report.sites().next().is_none() {
        return "no frame of the accesses is in the checkout (the standard library or other \
                modules), so mapguard cannot point at the code; if the log comes from another \
                layout, map its paths with --trim-prefix"
            .to_string();
    }
    let mut reasons = Vec::new();
    for c in &report.created {
        if c.site.is_none() {
            reasons.push(format!(
                "{} is started in `{}`, outside the checkout, where mapguard cannot see it start",
                c.goroutine, c.function
            ));
        }
    }
    if report.accesses.iter().any(|a| a.site.is_none()) {
        reasons.push(
            "the log keeps no stack of one access in the checkout (the race detector \
             forgets old stacks)"
                .to_string(),
        );
    } else if report.accesses.len() < 2 {
        reasons.push(
            "a crash shows only the crashing goroutine's access, and mapguard reports no \
             race at this line or on this map in this file; run the program or its tests \
             with -race to see both sides"
                .to_string(),
        );
    }
    if reasons.is_empty() {
        reasons.push(
            "mapguard's static analysis reports no race on these lines: it could not prove \
             the accesses concurrent and unguarded, and the log shows they are (a miss worth \
             reporting)"
                .to_string(),
        );
    }
    format!("no static finding: {}", reasons.join("; "))
}

/// `mapguard check --race-log`: marks each finding a report confirms, and adds each report
/// that no finding matches and that is in the checkout as an `MG900` finding (unless
/// `report_missed` is false: the configuration turned MG900 off).
pub fn confirm(
    outcome: &mut Outcome,
    mut reports: Vec<Report>,
    sources: &mut Sources,
    report_missed: bool,
) {
    explain(&mut reports, &outcome.findings, sources);
    for report in reports {
        match &report.finding {
            Some(found) => {
                for f in &mut outcome.findings {
                    if f.fingerprint == found.fingerprint && f.confirmed.is_none() {
                        f.confirmed = Some(report.origin.clone());
                    }
                }
            }
            None if !report_missed => {}
            None => {
                if let Some(finding) = observed_finding(&report, sources) {
                    for path in std::iter::once(&finding.location.path)
                        .chain(finding.related.iter().map(|r| &r.location.path))
                    {
                        if let Some(file) = sources.files.get(path).and_then(|f| f.as_ref()) {
                            outcome
                                .sources
                                .entry(path.clone())
                                .or_insert_with(|| file.0.clone());
                        }
                    }
                    outcome.findings.push(finding);
                }
            }
        }
    }
    outcome.findings.sort();
    crate::suppress::fingerprint(&mut outcome.findings);
}

/// The location of a line, without its indentation.
fn line_location(file: &SourceFile, line: u32) -> Option<Location> {
    let range = file.line_range(line)?;
    let text = &file.text[range.clone()];
    let start = range.start + (text.len() - text.trim_start().len());
    let end = range.start + text.trim_end().len();
    Some(Location::new(file, start..end.max(start)))
}

/// A report in the checkout as an `MG900` finding: the first access in the checkout, the
/// others and the creation sites as related locations.
pub fn observed_finding(report: &Report, sources: &Sources) -> Option<Finding> {
    let locate = |site: &Site| {
        let (file, _) = sources.files.get(&site.path)?.as_ref()?;
        line_location(file, site.line)
    };
    let (first, location) = report
        .accesses
        .iter()
        .find_map(|a| Some((a, locate(a.site.as_ref()?)?)))?;
    let map = report.map.clone().unwrap_or_else(|| "a map".to_string());
    let mut related = Vec::new();
    for a in report.accesses.iter().filter(|a| !std::ptr::eq(*a, first)) {
        if let Some(location) = a.site.as_ref().and_then(locate) {
            related.push(Related {
                role: Role::ConflictingAccess,
                location,
                message: access_words(a),
            });
        }
    }
    for c in &report.created {
        if let Some(location) = c.site.as_ref().and_then(locate) {
            related.push(Related {
                role: Role::SpawnSite,
                location,
                message: format!("{} started here", c.goroutine),
            });
        }
    }
    let mut notes = vec![format!(
        "observed {} in {}{}",
        report.message,
        report.origin,
        match report.count {
            1 => String::new(),
            n => format!(" ({n} times)"),
        }
    )];
    notes.extend(report.explanation.clone());
    Some(Finding {
        location,
        rule: "MG900",
        message: format!("`{map}` raced at run time: {}", sides(report)),
        label: access_words(first),
        related,
        notes,
        help: format!(
            "guard every access of `{map}` with one mutex (or use sync.Map), or confine it \
             to one goroutine; see `mapguard explain MG001`"
        ),
        package: String::new(),
        function: first.function.clone(),
        map: report.map.clone().unwrap_or_default(),
        access: if first.writes { "write" } else { "read" },
        confidence: Confidence::High,
        level: Level::Error,
        fingerprint: String::new(),
        suppressed: None,
        confirmed: None,
    })
}

/// "assign by goroutine 8".
pub fn access_words(a: &Access) -> String {
    let seen = if a.inferred { " (at the crash)" } else { "" };
    format!("{} by {}{seen}", a.op, a.goroutine)
}

/// "assign by goroutine 8 and read by main goroutine".
pub fn sides(report: &Report) -> String {
    let words: Vec<String> = report.accesses.iter().map(access_words).collect();
    words.join(" and ")
}
