//! The pipeline: discover → (per directory, in parallel) load → parse → index → analyze,
//! then merge the results in a deterministic order.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::analyze::analyze;
use crate::discover::{discover, DiscoverError, PackageDir};
use crate::finding::Finding;
use crate::index::{index_package, ParsedFile};
use crate::parse::{parse, syntax_errors, Parsed, TimedOut};
use crate::source::{display_path, LineCol, SourceFile};

/// Stack size of the worker threads: the walker recurses along the syntax tree (bounded by
/// `index::MAX_NESTING`), and real code nests deeply.
const WORKER_STACK: usize = 64 << 20;

/// How a run is carried out.
#[derive(Debug, Clone)]
pub struct Options {
    /// Worker threads; `None` uses every core.
    pub jobs: Option<usize>,
    /// Files larger than this are skipped with a warning.
    pub max_file_bytes: u64,
    /// Parsing one file may take this long before it is skipped with a warning.
    pub file_timeout: Duration,
    /// Warn about suppression comments that silence nothing.
    pub report_unused_ignores: bool,
    /// The configuration: filters, rules, extra spawners.
    pub config: crate::config::Config,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            jobs: None,
            max_file_bytes: 16 << 20,
            file_timeout: Duration::from_secs(10),
            report_unused_ignores: false,
            config: crate::config::Config::default(),
        }
    }
}

/// What kind of problem a warning is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum WarningKind {
    /// The file could not be read or is not UTF-8: it was not analyzed.
    Unreadable,
    /// The file has syntax errors: it was analyzed as far as the tree allows.
    SyntaxError,
    /// Part of a file was left out of the analysis.
    Incomplete,
    /// The file exceeded a size or time budget and was not analyzed.
    OverBudget,
    /// A suppression comment lacks a reason, or silences nothing.
    Suppression,
}

/// A problem with the input that did not stop the run.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Warning {
    /// The file or directory concerned.
    pub path: String,
    /// Where in the file, when known.
    pub position: Option<LineCol>,
    /// What kind of problem it is.
    pub kind: WarningKind,
    /// What went wrong.
    pub message: String,
}

/// The result of a run.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Findings, sorted by location then rule.
    pub findings: Vec<Finding>,
    /// Input problems, sorted by path.
    pub warnings: Vec<Warning>,
    /// How many files were analyzed (including those with syntax errors).
    pub files_analyzed: usize,
    /// How many of those had syntax errors or declarations left out.
    pub files_with_errors: usize,
    /// How many files were not analyzed (unreadable, not UTF-8, over a budget).
    pub files_skipped: usize,
    /// How many files the configuration leaves out (generated files by default, globs).
    pub files_excluded: usize,
    /// How many packages were analyzed.
    pub packages: usize,
    /// The text of every file that has a finding, by display path, for rendering snippets.
    pub sources: BTreeMap<String, Arc<SourceFile>>,
    /// Wall time of the run.
    pub elapsed: Duration,
}

impl Outcome {
    /// How many distinct files hold findings that are not suppressed.
    pub fn files_with_findings(&self) -> usize {
        self.active()
            .map(|f| &f.location.path)
            .collect::<BTreeSet<_>>()
            .len()
    }
}

/// Runs the whole pipeline over the given paths and patterns.
pub fn check(paths: &[String], options: &Options) -> Result<Outcome, DiscoverError> {
    let start = Instant::now();
    let discovery = discover(paths)?;
    let mut pool = rayon::ThreadPoolBuilder::new().stack_size(WORKER_STACK);
    if let Some(jobs) = options.jobs {
        pool = pool.num_threads(jobs.max(1));
    }
    let pool = pool.build().map_err(|e| DiscoverError {
        arg: "--jobs".to_string(),
        reason: format!("cannot start worker threads: {e}"),
    })?;
    let mut discovery = discovery;
    let mut excluded = 0;
    for dir in &mut discovery.dirs {
        let before = dir.files.len();
        dir.files.retain(|f| options.config.selects(f));
        excluded += before - dir.files.len();
    }
    let results: Vec<DirResult> = pool.install(|| {
        discovery
            .dirs
            .par_iter()
            .map(|d| check_dir(d, options))
            .collect()
    });
    let mut outcome = Outcome {
        files_excluded: excluded,
        ..Outcome::default()
    };
    outcome
        .warnings
        .extend(discovery.warnings.into_iter().map(|w| Warning {
            path: display_path(&w.path),
            position: None,
            kind: WarningKind::Unreadable,
            message: w.message,
        }));
    for r in &results {
        outcome.findings.extend(r.findings.iter().cloned());
        outcome.warnings.extend(r.warnings.iter().cloned());
        outcome.files_analyzed += r.files_analyzed;
        outcome.files_with_errors += r.files_with_errors;
        outcome.files_skipped += r.files_skipped;
        outcome.files_excluded += r.files_excluded;
        outcome.packages += r.packages;
        outcome
            .sources
            .extend(r.sources.iter().map(|(k, v)| (k.clone(), Arc::clone(v))));
    }
    if !discovery.focus.is_empty() {
        let focus: BTreeSet<String> = discovery.focus.iter().map(|p| display_path(p)).collect();
        let focused_dirs: BTreeSet<String> = discovery
            .focus
            .iter()
            .map(|p| display_path(p.parent().unwrap_or(p)))
            .collect();
        outcome.findings.retain(|f| {
            let dir = display_path(
                Path::new(&f.location.path)
                    .parent()
                    .unwrap_or(Path::new("")),
            );
            focus.contains(&f.location.path) || !focused_dirs.contains(&dir)
        });
    }
    let directives: Vec<_> = results.iter().flat_map(|r| r.directives.clone()).collect();
    outcome.finish(directives, options);
    outcome.elapsed = start.elapsed();
    Ok(outcome)
}

impl Outcome {
    /// Sorts, fingerprints, and applies suppression comments; warns about suppressions
    /// without a reason and, when asked, about those that silence nothing.
    fn finish(&mut self, mut directives: Vec<crate::suppress::Directive>, options: &Options) {
        let config = &options.config;
        self.findings.retain(|f| !config.disabled.contains(f.rule));
        for f in &mut self.findings {
            if let Some(&level) = config.levels.get(f.rule) {
                f.level = level;
            }
        }
        self.findings.sort();
        self.findings.dedup();
        crate::suppress::fingerprint(&mut self.findings);
        directives.sort();
        let used = crate::suppress::apply(&mut self.findings, &directives);
        for (d, used) in directives.iter().zip(used) {
            let message = if !used && options.report_unused_ignores {
                "this suppression comment silences no finding"
            } else if d.reason.is_none() {
                "suppression comment without a reason: say why the map is safe here"
            } else {
                continue;
            };
            self.warnings.push(Warning {
                path: d.path.clone(),
                position: Some(LineCol {
                    line: d.line,
                    column: 1,
                }),
                kind: WarningKind::Suppression,
                message: message.to_string(),
            });
        }
        self.warnings.sort();
    }

    /// The findings that are not suppressed.
    pub fn active(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.suppressed.is_none())
    }
}

#[derive(Default)]
struct DirResult {
    findings: Vec<Finding>,
    directives: Vec<crate::suppress::Directive>,
    warnings: Vec<Warning>,
    files_analyzed: usize,
    files_with_errors: usize,
    files_skipped: usize,
    files_excluded: usize,
    packages: usize,
    sources: BTreeMap<String, Arc<SourceFile>>,
}

/// Loads, parses and analyzes the packages of one directory; trees are dropped on return.
fn check_dir(dir: &PackageDir, options: &Options) -> DirResult {
    let mut result = DirResult::default();
    let mut sources = Vec::new();
    for path in &dir.files {
        let skip = |kind, message: String| Warning {
            path: display_path(path),
            position: None,
            kind,
            message,
        };
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        if size > options.max_file_bytes {
            result.warnings.push(skip(
                WarningKind::OverBudget,
                format!(
                    "skipped: {size} bytes is over the {} byte limit (--max-file-size)",
                    options.max_file_bytes
                ),
            ));
            result.files_skipped += 1;
            continue;
        }
        match SourceFile::load(path) {
            Ok(source) if options.config.skips_generated(&source.text) => {
                result.files_excluded += 1;
            }
            Ok(source) => sources.push(source),
            Err(e) => {
                result
                    .warnings
                    .push(skip(WarningKind::Unreadable, e.to_string()));
                result.files_skipped += 1;
            }
        }
    }
    analyze_sources(sources, options, &mut result);
    result
}

/// Analyzes files already in memory as one directory (the files of a fuzz case, an
/// editor buffer): the same pipeline as [`check`] without discovery and loading.
pub fn check_sources(sources: Vec<SourceFile>, options: &Options) -> Outcome {
    let start = Instant::now();
    let mut result = DirResult::default();
    analyze_sources(sources, options, &mut result);
    let mut outcome = Outcome {
        findings: result.findings,
        warnings: result.warnings,
        files_analyzed: result.files_analyzed,
        files_with_errors: result.files_with_errors,
        files_skipped: result.files_skipped,
        files_excluded: result.files_excluded,
        packages: result.packages,
        sources: result.sources,
        elapsed: Duration::ZERO,
    };
    outcome.finish(result.directives, options);
    outcome.elapsed = start.elapsed();
    outcome
}

/// Parses the files of one directory, groups them into packages and analyzes each.
fn analyze_sources(sources: Vec<SourceFile>, options: &Options, result: &mut DirResult) {
    let mut parsed = Vec::new();
    for source in sources {
        result
            .directives
            .extend(crate::suppress::directives(&source));
        let deadline = Instant::now() + options.file_timeout;
        match parse(&source.text, Some(deadline)) {
            Ok(p) => {
                if report_syntax_errors(&source, &p, &mut result.warnings) {
                    result.files_with_errors += 1;
                }
                parsed.push((Arc::new(source), p.tree));
            }
            Err(TimedOut) => {
                result.warnings.push(Warning {
                    path: source.display_path(),
                    position: None,
                    kind: WarningKind::OverBudget,
                    message: format!(
                        "skipped: parsing took longer than {:?} (--file-timeout)",
                        options.file_timeout
                    ),
                });
                result.files_skipped += 1;
            }
        }
    }
    result.files_analyzed = parsed.len();
    let mut packages: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, (source, tree)) in parsed.iter().enumerate() {
        packages
            .entry(package_name(source, tree))
            .or_default()
            .push(i);
    }
    result.packages = packages.len();
    for (name, members) in packages {
        let files: Vec<ParsedFile<'_>> = members
            .iter()
            .map(|&i| ParsedFile {
                source: &parsed[i].0,
                tree: &parsed[i].1,
            })
            .collect();
        let (facts, index_warnings) = index_package(&name, &files, &options.config.spawners);
        let sources: Vec<&SourceFile> = files.iter().map(|f| f.source).collect();
        for w in index_warnings {
            let source = sources[w.file as usize];
            result.warnings.push(Warning {
                path: source.display_path(),
                position: Some(source.line_col(w.offset)),
                kind: WarningKind::Incomplete,
                message: w.message,
            });
        }
        let findings = analyze(&facts, &sources);
        for f in &findings {
            for path in
                std::iter::once(&f.location.path).chain(f.related.iter().map(|r| &r.location.path))
            {
                if let Some(&i) = members
                    .iter()
                    .find(|&&i| parsed[i].0.display_path() == *path)
                {
                    result
                        .sources
                        .insert(path.clone(), Arc::clone(&parsed[i].0));
                }
            }
        }
        result.findings.extend(findings);
    }
}

/// The `package` clause's name; files without one form a package of their own name "".
fn package_name(source: &SourceFile, tree: &tree_sitter::Tree) -> String {
    let root = tree.root_node();
    let mut cursor = root.walk();
    let clause = root
        .named_children(&mut cursor)
        .find(|n| n.kind() == "package_clause");
    clause
        .and_then(|c| c.named_child(0))
        .map(|n| source.text[n.byte_range()].to_string())
        .unwrap_or_default()
}

/// Warns about declarations left out and syntax errors left; returns whether there were any.
fn report_syntax_errors(source: &SourceFile, parsed: &Parsed, out: &mut Vec<Warning>) -> bool {
    for decl in &parsed.skipped {
        let first_line = source.text[decl.clone()].lines().next().unwrap_or_default();
        out.push(Warning {
            path: source.display_path(),
            position: Some(source.line_col(decl.start)),
            kind: WarningKind::Incomplete,
            message: format!(
                "syntax error: declaration skipped, it does not parse (an error, or Go syntax \
                 newer than the grammar, such as a generic method): {}",
                first_line
                    .trim_end()
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(80)
                    .collect::<String>()
            ),
        });
    }
    let errors = syntax_errors(&parsed.tree);
    let Some(first) = errors.first() else {
        return !parsed.skipped.is_empty();
    };
    let what = if first.missing {
        "syntax error: missing token"
    } else {
        "syntax error: unexpected input"
    };
    let more = match errors.len() {
        1 => String::new(),
        n => format!(" ({} more in this file)", n - 1),
    };
    out.push(Warning {
        path: source.display_path(),
        position: Some(source.line_col(first.offset)),
        kind: WarningKind::SyntaxError,
        message: format!("{what}{more}; the file was analyzed as far as it parses"),
    });
    true
}
