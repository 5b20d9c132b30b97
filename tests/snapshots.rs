//! UI tests, as clippy keeps them: the complete terminal rendering of representative
//! fixtures is checked in, so any change of wording, labels or spans shows up in review.

use std::time::Duration;

use mapguard::report::{render, Format, ReportOptions};
use mapguard::run::{check, Options};

fn terminal(fixture: &str) -> String {
    let mut outcome = check(&[format!("fixtures/{fixture}")], &Options::default()).unwrap();
    outcome.elapsed = Duration::ZERO;
    String::from_utf8(render(
        &outcome,
        Format::Terminal,
        &ReportOptions {
            color: false,
            ..ReportOptions::default()
        },
    ))
    .unwrap()
}

#[test]
fn loop_counter() {
    insta::assert_snapshot!(terminal("loop_counter"));
}

#[test]
fn read_len_while_writing() {
    insta::assert_snapshot!(terminal("read_len_while_writing"));
}

#[test]
fn sibling_goroutines() {
    insta::assert_snapshot!(terminal("sibling_goroutines"));
}

#[test]
fn http_handler_counter() {
    insta::assert_snapshot!(terminal("http_handler_counter"));
}

#[test]
fn embedded_mutex_write_unlocked() {
    insta::assert_snapshot!(terminal("embedded_mutex_write_unlocked"));
}

#[test]
fn safe_fixture_renders_only_the_summary() {
    insta::assert_snapshot!(terminal("loop_counter_mutex"));
}
