//! `--new-from-rev`: the findings a git revision already had. Its tree is read from git's
//! objects (`git archive`) into a temporary directory and analyzed there with the same
//! paths, configuration and cache, so the worktree and the index are never touched.

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::run::{self, Options, Outcome};

/// The outcome of analyzing `paths` (as given, relative to the current directory) in the
/// tree of git revision `rev`. Paths that did not exist then contribute nothing.
pub fn outcome_at(rev: &str, paths: &[String], options: &Options) -> Result<Outcome, String> {
    let top = PathBuf::from(git(&["rev-parse", "--show-toplevel"])?);
    let prefix = git(&["rev-parse", "--show-prefix"])?;
    let commit = git(&[
        "rev-parse",
        "--verify",
        "--quiet",
        &format!("{rev}^{{commit}}"),
    ])
    .map_err(|_| format!("`{rev}` names no commit in this repository"))?;
    let tree = tempfile::tempdir().map_err(|e| format!("cannot create a directory: {e}"))?;
    extract(&top, &commit, tree.path())?;
    let here = tree.path().join(&prefix);
    let cwd = std::env::current_dir().map_err(|e| e.to_string())?;
    // Absolute arguments inside the repository point into the extracted tree.
    let moved: Vec<String> = paths
        .iter()
        .map(|p| match Path::new(p).strip_prefix(&top) {
            Ok(rest) => tree.path().join(rest).to_string_lossy().into_owned(),
            Err(_) => p.clone(),
        })
        .collect();
    let mut options = options.clone();
    options.config = options.config.moved(&top, tree.path());
    if !here.is_dir() {
        return Ok(Outcome::default());
    }
    std::env::set_current_dir(&here).map_err(|e| e.to_string())?;
    let existing: Vec<String> = moved
        .into_iter()
        .filter(|p| Path::new(p.trim_end_matches("...")).exists())
        .collect();
    let outcome = if existing.is_empty() && !paths.is_empty() {
        Ok(Outcome::default())
    } else {
        run::check(&existing, &options).map_err(|e| e.to_string())
    };
    std::env::set_current_dir(&cwd).map_err(|e| e.to_string())?;
    outcome
}

/// Writes the tree of `commit` into `dir`.
fn extract(top: &Path, commit: &str, dir: &Path) -> Result<(), String> {
    let mut archive = Command::new("git")
        .args(["archive", "--format=tar", commit])
        .current_dir(top)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run git: {e}"))?;
    let stdout = archive.stdout.take().expect("piped");
    let unpacked = tar::Archive::new(stdout).unpack(dir);
    let output = archive
        .wait_with_output()
        .map_err(|e| format!("git archive: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "git archive {commit}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    unpacked.map_err(|e: io::Error| format!("cannot unpack {commit}: {e}"))
}

/// Runs git in the current directory; its trimmed standard output.
fn git(args: &[&str]) -> Result<String, String> {
    let output = Command::new("git")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !output.status.success() {
        let why = String::from_utf8_lossy(&output.stderr).trim().to_string();
        return Err(if why.is_empty() {
            format!("git {} failed", args.join(" "))
        } else {
            why
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}
