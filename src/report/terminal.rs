//! The default report: codespan-reporting diagnostics with labelled source snippets.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;

use codespan_reporting::diagnostic::{Diagnostic, Label};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term::{self, Config};
use termcolor::Buffer;

use crate::finding::Level;
use crate::run::Outcome;

/// Renders every finding with its snippet, then a one-line summary.
pub fn render(outcome: &Outcome, color: bool) -> Vec<u8> {
    let mut buffer = if color {
        Buffer::ansi()
    } else {
        Buffer::no_color()
    };
    let mut files = SimpleFiles::new();
    let mut ids = BTreeMap::new();
    for (path, source) in &outcome.sources {
        ids.insert(
            path.as_str(),
            files.add(sanitize(path), sanitize(&source.text)),
        );
    }
    let config = Config::default();
    for f in outcome.active() {
        let Some(&file) = ids.get(f.location.path.as_str()) else {
            continue;
        };
        let mut labels = vec![
            Label::primary(file, f.location.start_byte..f.location.end_byte)
                .with_message(f.label.clone()),
        ];
        for r in &f.related {
            if let Some(&id) = ids.get(r.location.path.as_str()) {
                labels.push(
                    Label::secondary(id, r.location.start_byte..r.location.end_byte)
                        .with_message(r.message.clone()),
                );
            }
        }
        let mut notes: Vec<String> = f.notes.iter().map(|n| format!("note: {n}")).collect();
        notes.push(format!("help: {}", f.help));
        notes.push(format!("confidence: {}", f.confidence.as_str()));
        let diagnostic = match f.level {
            Level::Error => Diagnostic::error(),
            Level::Warning => Diagnostic::warning(),
            Level::Note => Diagnostic::note(),
        }
        .with_code(f.rule)
        .with_message(f.message.clone())
        .with_labels(labels)
        .with_notes(notes);
        term::emit_to_write_style(&mut buffer, &config, &files, &diagnostic)
            .expect("locations come from the same files");
    }
    let _ = buffer.write_all(summary(outcome).as_bytes());
    buffer.into_inner()
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
