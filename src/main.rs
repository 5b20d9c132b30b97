//! The `mapguard` command line.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use mapguard::baseline::Baseline;
use mapguard::cache::Cache;
use mapguard::config::Config;
use mapguard::constraints::BuildContext;
use mapguard::finding::{Confidence, DEFAULT_MIN_CONFIDENCE};
use mapguard::output;
use mapguard::report::{self, Format, ReportOptions};
use mapguard::revision;
use mapguard::rules;
use mapguard::run::{self, Options, Outcome};
use mapguard::triage::{self, locate::Checkout, Log, Sources};

/// Exit status when the run found nothing.
const EXIT_CLEAN: u8 = 0;
/// Exit status when the run reported findings.
const EXIT_FINDINGS: u8 = 1;
/// Exit status for usage and fatal errors.
const EXIT_ERROR: u8 = 2;

#[derive(Parser)]
#[command(
    name = "mapguard",
    version,
    about = "Finds unsynchronized map accesses in Go code before they crash production",
    after_help = "Examples:\n  mapguard check ./...\n  mapguard check --format sarif --output mapguard.sarif ./...\n  mapguard explain MG001\n  mapguard triage crash.log\n  go test -race ./... 2>&1 | mapguard triage -"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// How `mapguard rules` prints the list.
#[derive(Clone, Copy, clap::ValueEnum)]
enum RulesFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Analyze Go packages: files, directories, or `dir/...` patterns (default `./...`).
    Check(Box<CheckArgs>),
    /// Print the documentation of a rule.
    Explain {
        /// The rule id, e.g. MG001.
        rule: String,
    },
    /// List the rules.
    Rules {
        /// `text` (id, name, summary per line) or `json` (an array of objects).
        #[arg(long, value_enum, default_value_t = RulesFormat::Text)]
        format: RulesFormat,
    },
    /// Map race reports and `concurrent map` crashes in logs to the map, the lines and the
    /// static finding: `mapguard triage crash.log`, `go test -race ./... 2>&1 | mapguard
    /// triage -`.
    Triage(TriageArgs),
    /// Remove the result cache.
    Clean {
        #[command(flatten)]
        cache: CacheArgs,
    },
}

#[derive(clap::Args)]
struct CacheArgs {
    /// The result cache's directory (default: the platform's per-user cache directory).
    #[arg(long, value_name = "DIR", env = "MAPGUARD_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
}

impl CacheArgs {
    fn dir(&self) -> Option<PathBuf> {
        self.cache_dir.clone().or_else(Cache::default_dir)
    }
}

#[derive(clap::Args)]
struct CheckArgs {
    /// Go files, package directories, or `dir/...` patterns.
    paths: Vec<String>,
    /// Output format: terminal, sarif, json, github or short; `FORMAT=FILE` writes that
    /// report to FILE. Repeat for several reports from one run (`--format github --format
    /// sarif=out.sarif`); at most one goes to standard output (or `--output`).
    #[arg(long, value_name = "FORMAT[=FILE]", value_parser = parse_report_spec)]
    format: Vec<ReportSpec>,
    /// Write the report to this file instead of standard output: a regular file is replaced
    /// atomically and keeps its mode, a link is written through, `-` is standard output.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Put this directory before every path in the reports (run from a subdirectory of a
    /// repository, paths relative to its root, as code scanning expects).
    #[arg(long, value_name = "DIR")]
    path_prefix: Option<String>,
    /// Stop with an error (exit 2) when the run takes longer than this many seconds.
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<f64>,
    /// Exit 1 when the run met warnings (unparsable or unreadable files, bad suppressions),
    /// even without findings.
    #[arg(long)]
    fail_on_warnings: bool,
    /// Report only findings that the git revision REV does not have (its tree analyzed
    /// from git's objects, the worktree untouched): `--new-from-rev origin/main`.
    #[arg(long, value_name = "REV")]
    new_from_rev: Option<String>,
    /// When to colour the terminal report; `NO_COLOR` turns `auto` off.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    /// Worker threads (default: all cores).
    #[arg(short, long)]
    jobs: Option<usize>,
    /// Skip files larger than this many MiB, with a warning.
    #[arg(long, value_name = "MIB", default_value_t = 16)]
    max_file_size: u64,
    /// Skip a file whose parsing takes longer than this many seconds, with a warning.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    file_timeout: f64,
    /// Report only these rules (comma-separated ids: `--select MG001,MG002`).
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    select: Vec<String>,
    /// Do not report these rules (comma-separated ids).
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    ignore: Vec<String>,
    /// Skip files matching this glob, as `exclude` in mapguard.toml (repeatable).
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
    /// Analyze what git ignores too (`.gitignore`, `.git/info/exclude`) when recursing.
    #[arg(long)]
    no_ignore: bool,
    /// Build tags that hold, as the go tool's `-tags` (comma-separated); the target platform
    /// is `GOOS`/`GOARCH` when set, else the host.
    #[arg(long, value_delimiter = ',', value_name = "TAGS")]
    tags: Vec<String>,
    /// Exit 0 even with findings (errors still exit 2): report without failing the build.
    #[arg(long)]
    exit_zero: bool,
    /// Show only findings at least this sure (`low` findings rest on contracts the
    /// analysis cannot see, such as a test's setup or a caller's lock).
    #[arg(long, value_enum, default_value_t = DEFAULT_MIN_CONFIDENCE)]
    min_confidence: Confidence,
    /// Exit with 1 only for findings at least this sure (others are still shown).
    #[arg(long, value_enum, default_value_t = Confidence::Low)]
    fail_on: Confidence,
    /// The SARIF run's category (automationDetails.id), to tell runs apart in code scanning.
    #[arg(long, value_name = "ID")]
    sarif_category: Option<String>,
    /// Also warn about bare `//nolint` comments that silence no finding (those naming
    /// mapguard are always warned about).
    #[arg(long)]
    report_unused_ignores: bool,
    /// Report only findings that are not in this baseline file.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Record today's findings in a baseline file (then adopt with --baseline).
    #[arg(long, value_name = "FILE")]
    write_baseline: Option<PathBuf>,
    /// The configuration file (default: mapguard.toml here or in a parent directory).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// A log with race detector reports or `concurrent map` crashes (repeatable; `-` is
    /// standard input): findings it shows happening are marked confirmed, and races it shows
    /// that no finding matches are reported as MG900.
    #[arg(long, value_name = "LOG")]
    race_log: Vec<String>,
    /// Analyze every package, neither reusing nor storing cached results.
    #[arg(long, env = "MAPGUARD_NO_CACHE", value_parser = clap::builder::FalseyValueParser::new())]
    no_cache: bool,
    #[command(flatten)]
    cache: CacheArgs,
}

/// The formats of `mapguard triage`.
#[derive(Clone, Copy, ValueEnum)]
enum TriageFormat {
    Terminal,
    Json,
    Sarif,
}

#[derive(clap::Args)]
struct TriageArgs {
    /// Logs to read (`-` is standard input), then the checkout's directories or `dir/...`
    /// patterns the logs' paths map onto (default: the current directory).
    #[arg(required = true, value_name = "LOG|PATH")]
    inputs: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TriageFormat::Terminal)]
    format: TriageFormat,
    /// Write the report to this file instead of standard output.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// A prefix of the log's paths that stands for the checkout's root (repeatable):
    /// `--trim-prefix /home/runner/work/app/app`.
    #[arg(long, value_name = "PREFIX")]
    trim_prefix: Vec<String>,
    /// When to colour the terminal report; `NO_COLOR` turns `auto` off.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    /// The SARIF run's category (automationDetails.id).
    #[arg(long, value_name = "ID")]
    sarif_category: Option<String>,
    /// The configuration file (default: mapguard.toml here or in a parent directory).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Analyze the packages without the result cache.
    #[arg(long, env = "MAPGUARD_NO_CACHE", value_parser = clap::builder::FalseyValueParser::new())]
    no_cache: bool,
    #[command(flatten)]
    cache: CacheArgs,
}

/// One report to write: its format and, unless it goes to standard output, its file.
#[derive(Clone)]
struct ReportSpec {
    format: Format,
    path: Option<PathBuf>,
}

fn parse_report_spec(text: &str) -> Result<ReportSpec, String> {
    let (name, path) = match text.split_once('=') {
        Some((name, path)) if !path.is_empty() => (name, Some(PathBuf::from(path))),
        Some(_) => return Err(format!("`{text}` names no file after `=`")),
        None => (text, None),
    };
    let format = Format::from_str(name, true).map_err(|_| {
        format!("unknown format `{name}` (known: terminal, sarif, json, github, short)")
    })?;
    Ok(ReportSpec { format, path })
}

#[derive(Clone, Copy, ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check(args) => check(*args),
        Command::Explain { rule } => match rules::get(&rule) {
            Some(doc) => print_out(doc.markdown),
            None => {
                let known: Vec<_> = rules::all().iter().map(|r| r.id).collect();
                eprintln!(
                    "mapguard: unknown rule `{rule}` (known: {})",
                    known.join(", ")
                );
                ExitCode::from(EXIT_ERROR)
            }
        },
        Command::Rules { format } => print_out(&match format {
            RulesFormat::Text => rules::all()
                .iter()
                .map(|r| format!("{}  {:<28} {}\n", r.id, r.name, r.summary))
                .collect::<String>(),
            RulesFormat::Json => {
                let list: Vec<_> = rules::all()
                    .iter()
                    .map(|r| serde_json::json!({"id": r.id, "name": r.name, "summary": r.summary}))
                    .collect();
                format!("{}\n", serde_json::Value::Array(list))
            }
        }),
        Command::Triage(args) => triage(args),
        Command::Clean { cache } => clean(&cache),
    }
}

fn clean(args: &CacheArgs) -> ExitCode {
    let Some(dir) = args.dir() else {
        eprintln!("mapguard: no cache directory on this platform; nothing to remove");
        return ExitCode::from(EXIT_CLEAN);
    };
    match Cache::clean(&dir) {
        Ok(true) => {
            eprintln!("mapguard: removed the cache in {}", dir.display());
            ExitCode::from(EXIT_CLEAN)
        }
        Ok(false) => ExitCode::from(EXIT_CLEAN),
        Err(e) => {
            eprintln!("mapguard: cannot clean {}: {e}", dir.display());
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// The cache to use, or none (`--no-cache`, or a directory that cannot be created: the run
/// goes on without it, saying so).
fn open_cache(no_cache: bool, args: &CacheArgs) -> Option<Cache> {
    if no_cache {
        return None;
    }
    let dir = args.dir()?;
    match Cache::open(&dir) {
        Ok(cache) => Some(cache),
        Err(e) => {
            eprintln!(
                "mapguard: warning: cache disabled, cannot use {}: {e}",
                dir.display()
            );
            None
        }
    }
}

fn check(args: CheckArgs) -> ExitCode {
    if args.jobs == Some(0) {
        eprintln!("mapguard: --jobs must be at least 1");
        return ExitCode::from(EXIT_ERROR);
    }
    if !(args.file_timeout.is_finite() && args.file_timeout > 0.0) {
        eprintln!("mapguard: --file-timeout must be a positive number of seconds");
        return ExitCode::from(EXIT_ERROR);
    }
    if let Some(seconds) = args.timeout {
        if !(seconds.is_finite() && seconds > 0.0) {
            eprintln!("mapguard: --timeout must be a positive number of seconds");
            return ExitCode::from(EXIT_ERROR);
        }
        start_deadline(seconds);
    }
    let reports = match report_targets(&args) {
        Ok(reports) => reports,
        Err(e) => {
            eprintln!("mapguard: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let mut config = match load_config(args.config.clone()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("mapguard: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    if let Err(e) = config.apply_command_line(&args.select, &args.ignore, &args.exclude) {
        eprintln!("mapguard: {e}");
        return ExitCode::from(EXIT_ERROR);
    }
    let options = Options {
        jobs: args.jobs,
        max_file_bytes: args.max_file_size.saturating_mul(1 << 20),
        file_timeout: std::time::Duration::from_secs_f64(args.file_timeout),
        report_unused_ignores: args.report_unused_ignores,
        config,
        cache: open_cache(args.no_cache, &args.cache),
        build: BuildContext::from_env(&args.tags),
        gitignore: !args.no_ignore,
    };
    let mut outcome = match run::check(&args.paths, &options) {
        Ok(outcome) => outcome,
        Err(e) => {
            eprintln!("mapguard: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    if !args.race_log.is_empty() {
        let logs = match read_logs(&args.race_log) {
            Ok(logs) => logs,
            Err(e) => {
                eprintln!("mapguard: {e}");
                return ExitCode::from(EXIT_ERROR);
            }
        };
        let checkout = Checkout::scan(&checkout_roots(&args.paths), &[]);
        let mut sources = Sources::default();
        let reports = triage::reports(&logs, &checkout, &mut sources);
        let report_missed = !options.config.disabled.contains("MG900");
        triage::confirm(&mut outcome, reports, &mut sources, report_missed);
    }
    print_warnings(&outcome);
    if !outcome.skipped_modules.is_empty() {
        let named: Vec<String> = outcome
            .skipped_modules
            .iter()
            .map(|m| format!("{m}/..."))
            .collect();
        eprintln!(
            "mapguard: note: {} nested module{} not entered, as the go tool does; name {} to \
             analyze {}: {}",
            named.len(),
            if named.len() == 1 { "" } else { "s" },
            if named.len() == 1 { "it" } else { "them" },
            if named.len() == 1 { "it" } else { "them" },
            named.join(" ")
        );
    }
    if outcome.files_analyzed == 0 && outcome.warnings.is_empty() {
        eprintln!("mapguard: note: no Go files to analyze");
    }
    // The baseline records every finding, so that showing more later shows nothing old.
    if let Some(path) = &args.write_baseline {
        let baseline = Baseline::of(&outcome);
        if let Err(e) = output::write(path, &baseline.to_json()) {
            eprintln!(
                "mapguard: cannot write the baseline {}: {e}",
                path.display()
            );
            return ExitCode::from(EXIT_ERROR);
        }
    }
    outcome.below_confidence = outcome
        .active()
        .filter(|f| f.confidence < args.min_confidence)
        .count();
    outcome
        .findings
        .retain(|f| f.confidence >= args.min_confidence);
    if let Some(path) = &args.baseline {
        match Baseline::read(path) {
            Ok(baseline) => outcome.findings.retain(|f| !baseline.contains(f)),
            Err(e) => {
                eprintln!("mapguard: {}: {e}", path.display());
                return ExitCode::from(EXIT_ERROR);
            }
        }
    }
    if let Some(rev) = &args.new_from_rev {
        match revision::outcome_at(rev, &args.paths, &options) {
            Ok(old) => {
                let known = Baseline::of(&old);
                outcome.findings.retain(|f| !known.contains(f));
            }
            Err(e) => {
                eprintln!("mapguard: --new-from-rev {rev}: {e}");
                return ExitCode::from(EXIT_ERROR);
            }
        }
    }
    if let Some(prefix) = &args.path_prefix {
        outcome.prefix_paths(prefix);
    }
    for (spec, target) in reports {
        let color = match args.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                target.is_none()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::io::stdout().is_terminal()
            }
        };
        let report_options = ReportOptions {
            color,
            sarif_category: args.sarif_category.clone(),
        };
        let bytes = report::render(&outcome, spec.format, &report_options);
        if let Err(e) = write_report(target.as_deref(), &bytes) {
            let target = target
                .as_deref()
                .map_or("standard output".to_string(), |p| p.display().to_string());
            eprintln!("mapguard: cannot write the report to {target}: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    }
    let failing = !args.exit_zero
        && (outcome.active().any(|f| f.confidence >= args.fail_on)
            || (args.fail_on_warnings && !outcome.warnings.is_empty()));
    ExitCode::from(if failing { EXIT_FINDINGS } else { EXIT_CLEAN })
}

/// The configuration: the file named, else `mapguard.toml` here or in a parent directory,
/// else the defaults.
fn load_config(named: Option<PathBuf>) -> Result<Config, String> {
    let path = named.or_else(|| std::env::current_dir().ok().and_then(|d| Config::find(&d)));
    match path {
        None => Ok(Config::default()),
        Some(path) => Config::load(&path).map_err(|e| format!("{}: {e}", path.display())),
    }
}

/// Reads each log (`-` is standard input).
fn read_logs(names: &[String]) -> Result<Vec<Log>, String> {
    names
        .iter()
        .map(|name| {
            let mut bytes = Vec::new();
            let read = if name == "-" {
                std::io::stdin().read_to_end(&mut bytes).map(|_| ())
            } else {
                std::fs::File::open(name).and_then(|mut f| f.read_to_end(&mut bytes).map(|_| ()))
            };
            read.map_err(|e| format!("cannot read the log {name}: {e}"))?;
            Ok(Log {
                name: if name == "-" {
                    "<stdin>".to_string()
                } else {
                    name.clone()
                },
                text: String::from_utf8_lossy(&bytes).into_owned(),
            })
        })
        .collect()
}

/// The directories a log's paths may map onto: the paths analyzed (`dir/...` as `dir`, a
/// file as its directory), or the current directory.
fn checkout_roots(paths: &[String]) -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = paths
        .iter()
        .map(|p| {
            let p = p.strip_suffix("...").unwrap_or(p).trim_end_matches('/');
            let p = Path::new(if p.is_empty() { "." } else { p });
            if p.is_file() {
                p.parent()
                    .filter(|d| !d.as_os_str().is_empty())
                    .unwrap_or(Path::new("."))
                    .to_path_buf()
            } else {
                p.to_path_buf()
            }
        })
        .collect();
    if roots.is_empty() {
        roots.push(PathBuf::from("."));
    }
    roots.sort();
    roots.dedup();
    roots
}

/// `mapguard triage`: reads the logs, maps every report onto the checkout, analyzes the
/// packages involved and prints each race with its static finding. Exit 1 when the logs
/// show a race, 0 when they show none, 2 on errors.
fn triage(args: TriageArgs) -> ExitCode {
    let (logs, paths): (Vec<String>, Vec<String>) = args.inputs.iter().cloned().partition(|i| {
        i == "-" || !(i.ends_with("...") || i.ends_with(".go") || Path::new(i).is_dir())
    });
    if logs.is_empty() {
        eprintln!("mapguard: triage needs a log to read (`-` for standard input)");
        return ExitCode::from(EXIT_ERROR);
    }
    let logs = match read_logs(&logs) {
        Ok(logs) => logs,
        Err(e) => {
            eprintln!("mapguard: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let config = match load_config(args.config.clone()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("mapguard: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let checkout = Checkout::scan(&checkout_roots(&paths), &args.trim_prefix);
    let mut sources = Sources::default();
    let mut reports = triage::reports(&logs, &checkout, &mut sources);
    let packages = triage::packages(&reports);
    let mut findings = Vec::new();
    if !packages.is_empty() {
        let options = Options {
            jobs: None,
            max_file_bytes: 16 << 20,
            file_timeout: std::time::Duration::from_secs(10),
            report_unused_ignores: false,
            config,
            cache: open_cache(args.no_cache, &args.cache),
            build: BuildContext::from_env(&[]),
            gitignore: true,
        };
        match run::check(&packages, &options) {
            Ok(outcome) => findings = outcome.findings,
            Err(e) => eprintln!("mapguard: warning: the static analysis did not run: {e}"),
        }
    }
    triage::explain(&mut reports, &findings, &mut sources);
    let color = match args.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            args.output.is_none()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stdout().is_terminal()
        }
    };
    let bytes = match args.format {
        TriageFormat::Terminal => triage::render::terminal(&reports, &sources, logs.len(), color),
        TriageFormat::Json => triage::render::json(&reports),
        TriageFormat::Sarif => {
            triage::sarif::render(&reports, &sources, args.sarif_category.as_deref())
        }
    };
    let target = args.output.as_deref().filter(|p| p.as_os_str() != "-");
    if let Err(e) = write_report(target, &bytes) {
        eprintln!("mapguard: cannot write the report: {e}");
        return ExitCode::from(EXIT_ERROR);
    }
    ExitCode::from(if reports.is_empty() {
        EXIT_CLEAN
    } else {
        EXIT_FINDINGS
    })
}

/// Where each report goes (`None`: standard output), or what is wrong with the request.
fn report_targets(args: &CheckArgs) -> Result<Vec<(ReportSpec, Option<PathBuf>)>, String> {
    let specs = if args.format.is_empty() {
        vec![ReportSpec {
            format: Format::Terminal,
            path: None,
        }]
    } else {
        args.format.clone()
    };
    let unnamed = specs.iter().filter(|s| s.path.is_none()).count();
    if unnamed > 1 {
        return Err(
            "only one --format can go to standard output; give the others a file \
             (`--format sarif=mapguard.sarif`)"
                .to_string(),
        );
    }
    if unnamed == 0 && args.output.is_some() {
        return Err("--output names no report: every --format has its own file".to_string());
    }
    Ok(specs
        .into_iter()
        .map(|spec| {
            let target = spec.path.clone().or_else(|| args.output.clone());
            (spec, target.filter(|p| p.as_os_str() != "-"))
        })
        .collect())
}

/// Writes a report to its file (atomically) or to standard output; a reader of standard
/// output that stops early (`| head`) has what it wanted.
fn write_report(target: Option<&Path>, bytes: &[u8]) -> std::io::Result<()> {
    match target {
        Some(path) => output::write(path, bytes),
        None => std::io::stdout()
            .write_all(bytes)
            .or_else(|e| match e.kind() {
                std::io::ErrorKind::BrokenPipe => Ok(()),
                _ => Err(e),
            }),
    }
}

/// Ends the process with an error once `seconds` have passed (`--timeout`): reports are
/// written atomically, so none is left half-written.
fn start_deadline(seconds: f64) {
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs_f64(seconds));
        eprintln!("mapguard: timed out after {seconds} s (--timeout); no report written");
        std::process::exit(EXIT_ERROR.into());
    });
}

/// Prints to standard output; a reader that stops early (`| head`) is not an error.
fn print_out(text: &str) -> ExitCode {
    match std::io::stdout().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            eprintln!("mapguard: cannot write to standard output: {e}");
            ExitCode::from(EXIT_ERROR)
        }
        _ => ExitCode::from(EXIT_CLEAN),
    }
}

/// Problems with the input go to standard error in the go vet style, whatever the format.
fn print_warnings(outcome: &Outcome) {
    let mut err = std::io::stderr().lock();
    for w in &outcome.warnings {
        let _ = match w.position {
            Some(p) => writeln!(
                err,
                "{}:{}:{}: warning: {}",
                w.path, p.line, p.column, w.message
            ),
            None => writeln!(err, "{}: warning: {}", w.path, w.message),
        };
    }
}
