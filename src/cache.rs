//! The result cache: what analyzing one directory produced, keyed by everything that result
//! depends on — this mapguard build, the spawners configured, the directory as
//! displayed, and the path and content of each of its files. A hit replays the stored
//! result, so the output is byte-identical to a cold run's; editing a file changes the key
//! of its directory only.
//!
//! Entries are files named by their key, written to a temporary file and renamed into place,
//! so concurrent runs never see a partial entry. An entry that cannot be read is a miss.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::index::apis::Apis;
use crate::source::SourceFile;

/// Bumped when the layout of an entry changes.
const FORMAT: &[u8] = b"mapguard-cache-1";

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

    /// Opens (creating it if needed) a cache directory.
    pub fn open(dir: &Path) -> std::io::Result<Cache> {
        std::fs::create_dir_all(dir)?;
        Ok(Cache {
            dir: dir.to_path_buf(),
            build: build_id(),
        })
    }

    /// The key of a directory's result.
    pub fn key(&self, apis: &Apis, dir: &str, sources: &[impl AsRef<SourceFile>]) -> Key {
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

/// The build's identity: a hash of the sources, rule docs, dependency versions and compiler
/// it was built from (see `build.rs`), so results are only reused by an identical build.
fn build_id() -> blake3::Hash {
    blake3::hash(concat!(env!("CARGO_PKG_VERSION"), " ", env!("MAPGUARD_BUILD_ID")).as_bytes())
}
