//! The result cache: what analyzing one directory produced, keyed by everything that result
//! depends on — this mapguard build, the spawners configured, the directory as
//! displayed, and the path and content of each of its files. A hit replays the stored
//! result, so the output is byte-identical to a cold run's; editing a file changes the key
//! of its directory only.
//!
//! Entries are files named by their key, written to a temporary file and renamed into place,
//! so concurrent runs never see a partial entry. An entry that cannot be read is a miss.
//!
//! The directory is marked as mapguard's by a `CACHEDIR.TAG` (the Cache Directory Tagging
//! convention, which backup tools honour). mapguard only takes over a directory that is new,
//! empty or already tagged by it, and [`Cache::clean`] removes only its own entries, so a
//! cache directory pointed at a folder of other files never costs those files.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::index::apis::Apis;
use crate::source::SourceFile;

/// Bumped when the layout of an entry changes.
const FORMAT: &[u8] = b"mapguard-cache-1";

/// The tag file's name and content (its first line is the convention's signature).
const TAG_NAME: &str = "CACHEDIR.TAG";
const TAG: &str = "Signature: 8a477f597d28d172789f06886806bc55\n\
# This file is a cache directory tag created by mapguard.\n\
# For information about cache directory tags see https://bford.info/cachedir/\n";

/// A cache directory ready for use.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
    build: blake3::Hash,
}

/// The key of one directory's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key(blake3::Hash);

impl Cache {
    /// The per-user cache directory of the platform (`$XDG_CACHE_HOME/mapguard`,
    /// `~/Library/Caches/mapguard`, `%LOCALAPPDATA%\mapguard`).
    pub fn default_dir() -> Option<PathBuf> {
        dirs::cache_dir().map(|d| d.join("mapguard"))
    }

    /// Opens a cache directory, creating and tagging it if it is new or empty; a directory
    /// holding anything without mapguard's tag is refused.
    pub fn open(dir: &Path) -> std::io::Result<Cache> {
        std::fs::create_dir_all(dir)?;
        if !is_tagged(dir)? {
            if std::fs::read_dir(dir)?.next().is_some() {
                return Err(not_ours());
            }
            let mut tag = tempfile::NamedTempFile::new_in(dir)?;
            tag.write_all(TAG.as_bytes())?;
            tag.persist(dir.join(TAG_NAME))?;
        }
        Ok(Cache {
            dir: dir.to_path_buf(),
            build: build_id(),
        })
    }

    /// Removes mapguard's entries and tag from a cache directory, and the directory itself
    /// when nothing else is left in it. Returns whether there was a cache to remove; a
    /// directory without mapguard's tag is refused and left untouched.
    pub fn clean(dir: &Path) -> std::io::Result<bool> {
        match is_tagged(dir) {
            Ok(true) => {}
            Ok(false) => return Err(not_ours()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        }
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            if is_entry_dir(&entry) {
                std::fs::remove_dir_all(entry.path())?;
            } else if is_stray_temp(&entry) {
                std::fs::remove_file(entry.path())?;
            }
        }
        std::fs::remove_file(dir.join(TAG_NAME))?;
        // Anything else in the directory is not ours: it stays, and so does the directory.
        let _ = std::fs::remove_dir(dir);
        Ok(true)
    }

    /// The key of a directory's result.
    pub fn key(
        &self,
        apis: &Apis,
        dir: &str,
        sources: &[impl AsRef<SourceFile>],
        dependencies: &[u8],
    ) -> Key {
        let mut hasher = blake3::Hasher::new();
        hasher.update(FORMAT);
        hasher.update(self.build.as_bytes());
        let mut field = |bytes: &[u8]| {
            hasher.update(&(bytes.len() as u64).to_le_bytes());
            hasher.update(bytes);
        };
        field(format!("{apis:?}").as_bytes());
        field(dir.as_bytes());
        for source in sources {
            let source = source.as_ref();
            field(source.display_path().as_bytes());
            field(source.text.as_bytes());
        }
        field(dependencies);
        Key(hasher.finalize())
    }

    /// The stored entry for a key, if there is a readable one.
    pub fn load<T: serde::de::DeserializeOwned>(&self, key: Key) -> Option<T> {
        let bytes = std::fs::read(self.path(key)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Stores an entry; failures are ignored (the next run misses and tries again).
    pub fn store<T: serde::Serialize>(&self, key: Key, value: &T) {
        let path = self.path(key);
        let write = || -> std::io::Result<()> {
            let parent = path.parent().expect("entries live in a subdirectory");
            std::fs::create_dir_all(parent)?;
            let mut file = tempfile::NamedTempFile::new_in(parent)?;
            file.write_all(&serde_json::to_vec(value)?)?;
            file.persist(&path)?;
            Ok(())
        };
        let _ = write();
    }

    fn path(&self, key: Key) -> PathBuf {
        let hex = key.0.to_hex();
        self.dir.join(&hex[..2]).join(&hex[2..])
    }
}

/// Whether `dir` carries mapguard's tag (an error if `dir` cannot be read).
fn is_tagged(dir: &Path) -> std::io::Result<bool> {
    if !std::fs::metadata(dir)?.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotADirectory,
            "not a directory",
        ));
    }
    Ok(std::fs::read_to_string(dir.join(TAG_NAME)).is_ok_and(|t| t == TAG))
}

fn not_ours() -> std::io::Error {
    std::io::Error::other(format!(
        "not a mapguard cache: it holds other files and no {TAG_NAME} written by mapguard \
         (name a new or empty directory)"
    ))
}

/// An entry subdirectory: the first two hex digits of a key.
fn is_entry_dir(entry: &std::fs::DirEntry) -> bool {
    let name = entry.file_name();
    let name = name.to_string_lossy();
    name.len() == 2
        && name
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        && entry.file_type().is_ok_and(|t| t.is_dir())
}

/// A temporary file left by a run killed while tagging the directory.
fn is_stray_temp(entry: &std::fs::DirEntry) -> bool {
    entry.file_name().to_string_lossy().starts_with(".tmp")
        && entry.file_type().is_ok_and(|t| t.is_file())
}

/// The build's identity: a hash of the sources, rule docs, dependency versions and compiler
/// it was built from (see `build.rs`), so results are only reused by an identical build.
fn build_id() -> blake3::Hash {
    blake3::hash(concat!(env!("CARGO_PKG_VERSION"), " ", env!("MAPGUARD_BUILD_ID")).as_bytes())
}
