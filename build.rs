//! Gives the build an identity for the result cache: a hash of everything that decides what
//! mapguard reports — its sources, the rule docs, the vendored grammar, the locked dependency
//! versions and the compiler. The same sources built again (a CI job restoring the cache) keep the identity;
//! any change to them makes a new one, so stale results are never replayed.

use std::collections::hash_map::DefaultHasher;
use std::hash::Hasher;
use std::path::{Path, PathBuf};

const INPUTS: [&str; 5] = [
    "src",
    "rules",
    "grammar/tree-sitter-go/src/parser.c",
    "Cargo.toml",
    "Cargo.lock",
];

fn main() {
    let mut files = Vec::new();
    for input in INPUTS.iter().filter(|i| Path::new(i).exists()) {
        println!("cargo:rerun-if-changed={input}");
        collect(Path::new(input), &mut files);
    }
    files.sort();
    let mut hasher = DefaultHasher::new();
    for file in &files {
        hasher.write(file.to_string_lossy().as_bytes());
        hasher.write(&std::fs::read(file).unwrap_or_default());
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let version = std::process::Command::new(rustc)
        .arg("--version")
        .output()
        .map(|o| o.stdout)
        .unwrap_or_default();
    hasher.write(&version);
    println!("cargo:rustc-env=MAPGUARD_BUILD_ID={:016x}", hasher.finish());
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) {
    match std::fs::read_dir(path) {
        Ok(entries) => {
            for entry in entries.flatten() {
                collect(&entry.path(), out);
            }
        }
        Err(_) if path.is_file() => out.push(path.to_path_buf()),
        Err(_) => {}
    }
}
