//! The default report: codespan-reporting diagnostics with labelled source snippets.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::Arc;

use codespan_reporting::diagnostic::{Diagnostic, Label};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term::{self, Config};
use termcolor::Buffer;

use crate::finding::{Finding, Level, Location};
use crate::run::Outcome;
use crate::source::SourceFile;

/// Renders every finding with its snippet, then a one-line summary.
pub fn render(outcome: &Outcome, color: bool) -> Vec<u8> {
    let mut buffer = buffer(color);
    let snippets = Snippets::new(&outcome.sources);
    for f in outcome.active() {
        if let Some(diagnostic) = snippets.finding(f) {
            snippets.emit(&mut buffer, &diagnostic);
        }
    }
    let _ = buffer.write_all(summary(outcome).as_bytes());
    buffer.into_inner()
}

/// A terminal buffer, coloured or plain.
pub(crate) fn buffer(color: bool) -> Buffer {
    if color {
        Buffer::ansi()
    } else {
        Buffer::no_color()
    }
}

/// The source files diagnostics point into, registered with codespan by report path.
pub(crate) struct Snippets {
    files: SimpleFiles<String, String>,
    ids: BTreeMap<String, usize>,
    config: Config,
}

impl Snippets {
    /// Registers every file (sanitized: no escape sequence reaches the terminal).
    pub(crate) fn new(sources: &BTreeMap<String, Arc<SourceFile>>) -> Snippets {
        let mut files = SimpleFiles::new();
        let mut ids = BTreeMap::new();
        for (path, source) in sources {
            ids.insert(
                path.clone(),
                files.add(sanitize(path), sanitize(&source.text)),
            );
        }
        Snippets {
            files,
            ids,
            config: Config::default(),
        }
    }

    /// A label on `location` with `message`, if its file is registered.
    pub(crate) fn label(
        &self,
        primary: bool,
        location: &Location,
        message: &str,
    ) -> Option<Label<usize>> {
        let &id = self.ids.get(&location.path)?;
        let range = location.start_byte..location.end_byte;
        let label = if primary {
            Label::primary(id, range)
        } else {
            Label::secondary(id, range)
        };
        Some(label.with_message(message))
    }

    /// A finding's diagnostic: its location, related locations, notes, help and confidence;
    /// `None` when its file is not registered.
    pub(crate) fn finding(&self, f: &Finding) -> Option<Diagnostic<usize>> {
        let mut labels = vec![self.label(true, &f.location, &f.label)?];
        labels.extend(
            f.related
                .iter()
                .filter_map(|r| self.label(false, &r.location, &r.message)),
        );
        let mut notes: Vec<String> = f.notes.iter().map(|n| format!("note: {n}")).collect();
        if let Some(origin) = &f.confirmed {
            notes.push(format!(
                "confirmed: the race report at {origin} shows this race"
            ));
        }
        notes.push(format!("help: {}", f.help));
        notes.push(format!("confidence: {}", f.confidence.as_str()));
        Some(
            match f.level {
                Level::Error => Diagnostic::error(),
                Level::Warning => Diagnostic::warning(),
                Level::Note => Diagnostic::note(),
            }
            .with_code(f.rule)
            .with_message(f.message.clone())
            .with_labels(labels)
            .with_notes(notes),
        )
    }

    /// Writes a diagnostic with its snippets.
    pub(crate) fn emit(&self, buffer: &mut Buffer, diagnostic: &Diagnostic<usize>) {
        term::emit_to_write_style(buffer, &self.config, &self.files, diagnostic)
            .expect("labels point into registered files");
    }
}

/// "2 findings (MG001: 1, MG002: 1) in 1 file; 3 files in 2 packages analyzed in 0.01s".
fn summary(outcome: &Outcome) -> String {
    let mut per_rule: BTreeMap<&str, usize> = BTreeMap::new();
    for f in outcome.active() {
        *per_rule.entry(f.rule).or_default() += 1;
    }
    let mut out = String::new();
    let n = outcome.active().count();
    if n == 0 {
        out.push_str("no findings");
    } else {
        let rules: Vec<String> = per_rule.iter().map(|(r, c)| format!("{r}: {c}")).collect();
        let files = outcome.files_with_findings();
        let _ = write!(
            out,
            "{n} finding{} ({}) in {files} file{}",
            plural(n),
            rules.join(", "),
            plural(files)
        );
    }
    let _ = write!(
        out,
        "; {} file{} in {} package{} analyzed",
        outcome.files_analyzed,
        plural(outcome.files_analyzed),
        outcome.packages,
        plural(outcome.packages),
    );
    if outcome.files_with_errors > 0 {
        let _ = write!(out, " ({} with syntax errors)", outcome.files_with_errors);
    }
    if outcome.files_screened > 0 {
        let _ = write!(
            out,
            ", {} of them not parsed (no goroutine or lock in their package)",
            outcome.files_screened
        );
    }
    if outcome.files_skipped > 0 {
        let _ = write!(out, ", {} skipped", outcome.files_skipped);
    }
    if outcome.files_excluded > 0 {
        let _ = write!(
            out,
            ", {} excluded (generated, build constraints, or configuration)",
            outcome.files_excluded
        );
    }
    let suppressed = outcome.findings.len() - n;
    if suppressed > 0 {
        let _ = write!(out, "; {suppressed} suppressed");
    }
    if outcome.below_confidence > 0 {
        let _ = write!(
            out,
            "; {} below --min-confidence not shown",
            outcome.below_confidence
        );
    }
    let _ = writeln!(out, " in {:.2}s", outcome.elapsed.as_secs_f64());
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Replaces control characters (other than line breaks and tabs) and bidirectional
/// overrides with spaces, byte for byte, so that escape sequences in a source file are never
/// replayed to the terminal and byte offsets stay valid.
pub fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let unsafe_char = (c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        if unsafe_char {
            out.extend(std::iter::repeat_n(' ', c.len_utf8()));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_do_not_reach_the_terminal() {
        let s = sanitize("a\u{1b}[31mb\n\u{7}");
        assert_eq!(s, "a [31mb\n ");
        assert_eq!(s.len(), "a\u{1b}[31mb\n\u{7}".len());
    }
}
