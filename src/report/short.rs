//! `path:line:col: RULE message`, the go vet convention, for editors and problem matchers.

use std::fmt::Write;

use crate::run::Outcome;

/// One line per finding; byte columns are not used: columns count characters.
pub fn render(outcome: &Outcome) -> Vec<u8> {
    let mut out = String::new();
    for f in outcome.active() {
        let _ = writeln!(
            out,
            "{}:{}:{}: {} {}",
            f.location.path, f.location.start.line, f.location.start.column, f.rule, f.message
        );
    }
    out.into_bytes()
}
