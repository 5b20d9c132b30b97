//! The pipeline: discover → (per directory, in parallel) load → parse → index → analyze,
//! then merge the results in a deterministic order.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::analyze::analyze;
use crate::cache::Cache;
use crate::constraints::BuildContext;
use crate::discover::{discover, DiscoverError, PackageDir};
use crate::finding::Finding;
use crate::index::{index_package, ParsedFile};
use crate::modules::{Imported, ModuleFacts};
use crate::parse::{parse, syntax_errors, Parsed, TimedOut};
use crate::screen::Screen;
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
    /// Where results are reused from and stored; `None` analyzes everything.
    pub cache: Option<Cache>,
    /// The platform and build tags: files the go tool would not build are not analyzed.
    pub build: BuildContext,
    /// Whether `dir/...` leaves out what git ignores.
    pub gitignore: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            jobs: None,
            max_file_bytes: 16 << 20,
            file_timeout: Duration::from_secs(10),
            report_unused_ignores: false,
            config: crate::config::Config::default(),
            cache: None,
            build: BuildContext::default(),
            gitignore: true,
        }
    }
}

/// What kind of problem a warning is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
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
    /// How many files the configuration leaves out (generated files by default, globs) or
    /// the go tool would not build for the target (build constraints).
    pub files_excluded: usize,
    /// How many of the files analyzed were not parsed: their packages hold no goroutine,
    /// lock, spawner or handler (see [`crate::screen`]).
    pub files_screened: usize,
    /// How many packages were analyzed.
    pub packages: usize,
    /// How many directories' results came from the cache.
    pub dirs_cached: usize,
    /// The text of every file that has a finding, by display path, for rendering snippets.
    pub sources: BTreeMap<String, Arc<SourceFile>>,
    /// Modules nested below a `dir/...` root that were not entered, as the go tool does.
    pub skipped_modules: Vec<String>,
    /// How many unsuppressed findings `--min-confidence` left out.
    pub below_confidence: usize,
    /// Wall time of the run.
    pub elapsed: Duration,
}

impl Outcome {
    /// Puts `prefix` before every relative path, as `--path-prefix` asks: run from a
    /// subdirectory, paths become relative to the repository root, as code scanning needs.
    pub fn prefix_paths(&mut self, prefix: &str) {
        let prefix = prefix.trim_end_matches('/');
        if prefix.is_empty() {
            return;
        }
        let join = |path: &mut String| {
            if !Path::new(path.as_str()).is_absolute() {
                *path = format!("{prefix}/{path}");
            }
        };
        for f in &mut self.findings {
            join(&mut f.location.path);
            for r in &mut f.related {
                join(&mut r.location.path);
            }
        }
        for w in &mut self.warnings {
            join(&mut w.path);
        }
        self.sources = std::mem::take(&mut self.sources)
            .into_iter()
            .map(|(mut path, source)| {
                join(&mut path);
                (path, source)
            })
            .collect();
    }

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
    let discovery = discover(paths, options.gitignore)?;
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
    // Largest directories first, each taken by the next free worker: one big package
    // started last would leave the other workers idle at the end. The merge below sorts,
    // so the order results arrive in does not show.
    let mut by_size: Vec<(Vec<u64>, &PackageDir)> = discovery
        .dirs
        .iter()
        .map(|d| (d.files.iter().map(|f| file_size(f)).collect(), d))
        .collect();
    by_size.sort_by_cached_key(|(sizes, d)| (std::cmp::Reverse(sizes.iter().sum::<u64>()), &d.dir));
    let modules = ModuleFacts::default();
    let results: Vec<DirResult> = pool.install(|| {
        by_size
            .into_iter()
            .par_bridge()
            .map(|(sizes, d)| check_dir(d, &sizes, options, &modules))
            .collect()
    });
    let mut total = DirResult {
        files_excluded: excluded,
        ..DirResult::default()
    };
    for r in results {
        total.absorb(r);
    }
    let directives = std::mem::take(&mut total.directives);
    let mut outcome = total.into_outcome();
    outcome.skipped_modules = discovery
        .skipped_modules
        .iter()
        .map(|d| display_path(d))
        .collect();
    outcome
        .warnings
        .extend(discovery.warnings.into_iter().map(|w| Warning {
            path: display_path(&w.path),
            position: None,
            kind: WarningKind::Unreadable,
            message: w.message,
        }));
    let focus: BTreeSet<String> = discovery.focus.iter().map(|p| display_path(p)).collect();
    if !focus.is_empty() {
        let focused_dirs: BTreeSet<String> = discovery
            .focus
            .iter()
            .map(|p| display_path(p.parent().unwrap_or(p)))
            .collect();
        // A finding concerns every file it points at: a new write in a changed file can
        // make an old read elsewhere racy, and that read's finding must not slip through.
        outcome.findings.retain(|f| {
            let dir = display_path(
                Path::new(&f.location.path)
                    .parent()
                    .unwrap_or(Path::new("")),
            );
            !focused_dirs.contains(&dir)
                || std::iter::once(&f.location)
                    .chain(f.related.iter().map(|r| &r.location))
                    .any(|l| focus.contains(&l.path))
        });
    }
    outcome.finish(directives, options, (!focus.is_empty()).then_some(&focus));
    outcome.elapsed = start.elapsed();
    Ok(outcome)
}

impl Outcome {
    /// Sorts, fingerprints, and applies suppression comments; warns about suppressions
    /// naming an unknown rule, naming mapguard without a reason, or naming mapguard (any,
    /// with `--report-unused-ignores`) and silencing nothing: a rule of theirs that ran
    /// found nothing there. With a `focus` (files named one by one), only suppressions in
    /// those files can be unused: findings elsewhere were not all kept.
    fn finish(
        &mut self,
        mut directives: Vec<crate::suppress::Directive>,
        options: &Options,
        focus: Option<&BTreeSet<String>>,
    ) {
        let config = &options.config;
        self.findings.retain(|f| {
            !config.disabled.contains(f.rule) && !config.ignores(&f.location.path, f.rule)
        });
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
            let unknown = d
                .rules
                .iter()
                .flatten()
                .find(|id| crate::rules::get(id).is_none());
            let message = if let Some(id) = unknown {
                format!("suppression comment names no rule `{id}` (see `mapguard rules`)")
            } else if !used
                && (d.names_mapguard || options.report_unused_ignores)
                && focus.is_none_or(|files| files.contains(&d.path))
                && d.rules
                    .as_ref()
                    .map_or(config.disabled.len() < crate::rules::all().len(), |ids| {
                        ids.iter().any(|id| !config.disabled.contains(id))
                    })
            {
                "this suppression comment silences no finding".to_string()
            } else if d.reason.is_none() && d.names_mapguard {
                "suppression comment without a reason: say why the map is safe here".to_string()
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
                message,
            });
        }
        self.warnings.sort();
    }

    /// The findings that are not suppressed.
    pub fn active(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.suppressed.is_none())
    }
}

/// What one directory contributes to the outcome; the cache stores it (without the texts).
#[derive(Default, Serialize, Deserialize)]
struct DirResult {
    findings: Vec<Finding>,
    directives: Vec<crate::suppress::Directive>,
    warnings: Vec<Warning>,
    files_analyzed: usize,
    files_with_errors: usize,
    files_skipped: usize,
    files_excluded: usize,
    files_screened: usize,
    packages: usize,
    #[serde(skip)]
    sources: BTreeMap<String, Arc<SourceFile>>,
    #[serde(skip)]
    dirs_cached: usize,
}

impl DirResult {
    /// Adds another result to this one: a directory's analysis to what loading its files
    /// found, or a directory's result to the run's.
    fn absorb(&mut self, analysis: DirResult) {
        self.findings.extend(analysis.findings);
        self.directives.extend(analysis.directives);
        self.warnings.extend(analysis.warnings);
        self.files_analyzed += analysis.files_analyzed;
        self.files_with_errors += analysis.files_with_errors;
        self.files_skipped += analysis.files_skipped;
        self.files_excluded += analysis.files_excluded;
        self.files_screened += analysis.files_screened;
        self.packages += analysis.packages;
        self.dirs_cached += analysis.dirs_cached;
        self.sources.extend(analysis.sources);
    }

    /// The outcome of a run that produced this result (not yet sorted or suppressed).
    fn into_outcome(self) -> Outcome {
        Outcome {
            findings: self.findings,
            warnings: self.warnings,
            files_analyzed: self.files_analyzed,
            files_with_errors: self.files_with_errors,
            files_skipped: self.files_skipped,
            files_excluded: self.files_excluded,
            files_screened: self.files_screened,
            packages: self.packages,
            dirs_cached: self.dirs_cached,
            sources: self.sources,
            skipped_modules: Vec::new(),
            below_confidence: 0,
            elapsed: Duration::ZERO,
        }
    }

    /// Keeps the texts of the files the findings point into, for rendering snippets.
    fn keep_sources(&mut self, sources: &[Arc<SourceFile>]) {
        for f in &self.findings {
            for path in
                std::iter::once(&f.location.path).chain(f.related.iter().map(|r| &r.location.path))
            {
                if let Some(source) = sources.iter().find(|s| s.display_path() == *path) {
                    self.sources.insert(path.clone(), Arc::clone(source));
                }
            }
        }
    }
}

/// Loads the files of one directory (`sizes` in bytes, in the same order), then replays
/// their analysis from the cache or parses and analyzes their packages; trees are dropped
/// on return.
fn check_dir(
    dir: &PackageDir,
    sizes: &[u64],
    options: &Options,
    modules: &ModuleFacts,
) -> DirResult {
    let mut result = DirResult::default();
    let mut sources = Vec::new();
    for (path, &size) in dir.files.iter().zip(sizes) {
        let skip = |kind, message: String| Warning {
            path: display_path(path),
            position: None,
            kind,
            message,
        };
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
            Ok(source)
                if options.config.skips_generated(&source.text)
                    || !options.build.includes(path, &source.text) =>
            {
                result.files_excluded += 1;
            }
            Ok(source) => sources.push(Arc::new(source)),
            Err(e) => {
                result
                    .warnings
                    .push(skip(WarningKind::Unreadable, e.to_string()));
                result.files_skipped += 1;
            }
        }
    }
    // The packages of the module it imports: their facts are part of its analysis, and
    // their files of its cache key.
    let imported = modules.imported(&dir.dir, &sources, &options.build);
    let cached = options.cache.as_ref().map(|cache| {
        let dir_path = display_path(&dir.dir);
        let key = cache.key(
            &options.config.apis,
            &dir_path,
            &sources,
            &imported.digests(),
        );
        (cache, key)
    });
    let analysis = match cached.and_then(|(cache, key)| cache.load::<DirResult>(key)) {
        Some(hit) => {
            result.dirs_cached = 1;
            hit
        }
        None => {
            let mut analysis = DirResult::default();
            analyze_sources(sources.clone(), options, &mut analysis, &imported);
            let timed_out = analysis
                .warnings
                .iter()
                .any(|w| w.kind == WarningKind::OverBudget);
            if let Some((cache, key)) = cached.filter(|_| !timed_out) {
                cache.store(key, &analysis);
            }
            analysis
        }
    };
    result.absorb(analysis);
    result.keep_sources(&sources);
    result
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// Analyzes files already in memory as one directory (the files of a fuzz case, an
/// editor buffer): the same pipeline as [`check`] without discovery and loading.
pub fn check_sources(sources: Vec<SourceFile>, options: &Options) -> Outcome {
    let start = Instant::now();
    let mut result = DirResult::default();
    let sources: Vec<Arc<SourceFile>> = sources.into_iter().map(Arc::new).collect();
    analyze_sources(sources.clone(), options, &mut result, &Imported::default());
    result.keep_sources(&sources);
    let directives = std::mem::take(&mut result.directives);
    let mut outcome = result.into_outcome();
    outcome.finish(directives, options, None);
    outcome.elapsed = start.elapsed();
    outcome
}

/// Screens the files of one directory, parses those of the packages that can race (each
/// file on its own worker), and analyzes each package, with the facts of the packages of
/// its module it imports when it starts goroutines (only races need them).
fn analyze_sources(
    sources: Vec<Arc<SourceFile>>,
    options: &Options,
    result: &mut DirResult,
    imported: &Imported,
) {
    let screen = Screen::new(&options.config.apis);
    let mut packages: BTreeMap<String, (bool, bool, Vec<Arc<SourceFile>>)> = BTreeMap::new();
    for source in sources {
        result
            .directives
            .extend(crate::suppress::directives(&source));
        let scan = screen.scan(&source.text);
        let package = packages.entry(scan.package).or_default();
        package.0 |= scan.relevant;
        package.1 |= scan.concurrent;
        package.2.push(source);
    }
    result.packages = packages.len();
    let none = imported.without_packages();
    for (name, (relevant, concurrent, sources)) in packages {
        if relevant {
            let imported = if concurrent { imported } else { &none };
            analyze_package(&name, sources, options, result, imported);
        } else {
            result.files_analyzed += sources.len();
            result.files_screened += sources.len();
        }
    }
}

/// Parses and analyzes the files of one package.
fn analyze_package(
    name: &str,
    sources: Vec<Arc<SourceFile>>,
    options: &Options,
    result: &mut DirResult,
    imported: &Imported,
) {
    let outcomes: Vec<_> = sources
        .into_par_iter()
        .map(|source| {
            let deadline = Instant::now() + options.file_timeout;
            let parsed = parse(&source.text, Some(deadline));
            (source, parsed)
        })
        .collect();
    let mut parsed = Vec::new();
    for (source, outcome) in outcomes {
        match outcome {
            Ok(p) => {
                if report_syntax_errors(&source, &p, &mut result.warnings) {
                    result.files_with_errors += 1;
                }
                parsed.push((source, p.tree));
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
    result.files_analyzed += parsed.len();
    let files: Vec<ParsedFile<'_>> = parsed
        .iter()
        .map(|(source, tree)| ParsedFile { source, tree })
        .collect();
    let imports = imported.methods(
        &files,
        &options.config.apis,
        &options.build,
        options.file_timeout,
    );
    let (mut facts, index_warnings) = index_package(name, &files, &options.config.apis, &imports);
    facts.test_tree = imported.test_tree;
    // The facts are all the rules read: the syntax trees go before the analysis needs its
    // memory.
    drop(files);
    let (sources, trees): (Vec<Arc<SourceFile>>, Vec<_>) = parsed.into_iter().unzip();
    drop(trees);
    let sources: Vec<&SourceFile> = sources.iter().map(Arc::as_ref).collect();
    let (findings, analysis_warnings) = analyze(&facts, &sources);
    for w in index_warnings.into_iter().chain(analysis_warnings) {
        let source = sources[w.file as usize];
        result.warnings.push(Warning {
            path: source.display_path(),
            position: Some(source.line_col(w.offset)),
            kind: WarningKind::Incomplete,
            message: w.message,
        });
    }
    result.findings.extend(findings);
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
                "syntax error: declaration skipped, it does not parse: {}",
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
