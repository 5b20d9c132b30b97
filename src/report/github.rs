//! GitHub Actions workflow commands: `::error file=…,line=…::message` annotates a pull request.

use std::fmt::Write;

use crate::finding::Level;
use crate::rules;
use crate::run::Outcome;

/// One `::error` command per finding.
pub fn render(outcome: &Outcome) -> Vec<u8> {
    let mut out = String::new();
    for f in outcome.active() {
        let name = rules::get(f.rule).map_or("", |r| r.name);
        let command = match f.level {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Note => "notice",
        };
        let _ = writeln!(
            out,
            "::{command} file={},line={},col={},endLine={},endColumn={},title={}::{}",
            escape_property(&f.location.path),
            f.location.start.line,
            f.location.start.column,
            f.location.end.line,
            f.location.end.column,
            escape_property(&format!("{} {name}", f.rule)),
            escape_data(&match &f.confirmed {
                Some(origin) => format!("{} (confirmed by the race report at {origin})", f.message),
                None => f.message.clone(),
            }),
        );
    }
    out.into_bytes()
}

/// Escapes a command's message as the runner expects.
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a command property value (which also may not hold `:` or `,`).
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_follow_the_runner_rules() {
        assert_eq!(escape_data("50%\nx"), "50%25%0Ax");
        assert_eq!(escape_property("a:b,c"), "a%3Ab%2Cc");
    }
}
