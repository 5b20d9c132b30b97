//! What the command-line tests share: running the built binary as a user would.
// Each test crate uses part of this module.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// The built `mapguard`, to run in `dir`: its cache is the test build's own, never the
/// user's, and `NO_COLOR`, `MAPGUARD_NO_CACHE`, `GOOS` and `GOARCH` from the environment
/// do not leak in.
pub fn command(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mapguard"));
    command
        .current_dir(dir)
        .env(
            "MAPGUARD_CACHE_DIR",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/cache"),
        )
        .env_remove("NO_COLOR")
        .env_remove("GOOS")
        .env_remove("GOARCH")
        .env_remove("MAPGUARD_NO_CACHE");
    command
}

/// Runs `mapguard ARGS` in `dir`.
pub fn run(args: &[&str], dir: &Path) -> Output {
    command(dir).args(args).output().expect("the binary runs")
}

/// Standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
