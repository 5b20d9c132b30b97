//! Reports: every output format renders the same [`Outcome`]; none of them analyzes.

mod github;
pub(crate) mod json;
mod line_hash;
pub(crate) mod sarif;
mod short;
pub(crate) mod terminal;

use crate::run::Outcome;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Rich diagnostics with source snippets (the default).
    Terminal,
    /// SARIF 2.1.0, for GitHub code scanning and other dashboards.
    Sarif,
    /// mapguard's own JSON schema (see README).
    Json,
    /// GitHub Actions workflow commands that annotate a pull request.
    Github,
    /// One line per finding: `path:line:col: RULE message`.
    Short,
}

/// Settings that change how a report looks.
#[derive(Debug, Clone, Default)]
pub struct ReportOptions {
    /// Use ANSI colours (terminal format only).
    pub color: bool,
    /// `automationDetails.id` of the SARIF run (`--sarif-category`).
    pub sarif_category: Option<String>,
}

/// Renders the outcome in the chosen format.
pub fn render(outcome: &Outcome, format: Format, options: &ReportOptions) -> Vec<u8> {
    match format {
        Format::Terminal => terminal::render(outcome, options.color),
        Format::Sarif => sarif::render(outcome, options.sarif_category.as_deref()),
        Format::Json => json::render(outcome),
        Format::Github => github::render(outcome),
        Format::Short => short::render(outcome),
    }
}
