//! Source files: reading Go files from disk and mapping byte offsets to lines and columns.

use std::ops::Range;
use std::path::{Path, PathBuf};

/// A Go source file held in memory, with its display path and a line index.
#[derive(Debug)]
pub struct SourceFile {
    /// The path as shown to the user (relative to the working directory when possible).
    pub path: PathBuf,
    /// The file's text; a leading byte-order mark is kept so offsets match the file.
    pub text: String,
    line_starts: Vec<u32>,
}

/// A 1-based line and column; the column counts Unicode scalar values, as SARIF's
/// `unicodeCodePoints` column kind does.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct LineCol {
    /// 1-based line number.
    pub line: u32,
    /// 1-based column in characters.
    pub column: u32,
}

/// Why a file could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// The file system refused to read it.
    Unreadable(String),
    /// The bytes are not UTF-8 (Go source must be).
    NotUtf8 {
        /// Byte offset of the first invalid sequence.
        offset: usize,
    },
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Unreadable(why) => write!(f, "cannot read file: {why}"),
            LoadError::NotUtf8 { offset } => {
                write!(
                    f,
                    "not valid UTF-8 (first bad byte at offset {offset}); Go source must be UTF-8"
                )
            }
        }
    }
}

impl SourceFile {
    /// Builds a source file from text already in memory.
    pub fn new(path: PathBuf, text: String) -> Self {
        let mut line_starts = vec![0u32];
        line_starts.extend(
            text.bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| (i + 1) as u32),
        );
        SourceFile {
            path,
            text,
            line_starts,
        }
    }

    /// Reads a file from disk.
    pub fn load(path: &Path) -> Result<Self, LoadError> {
        let bytes = std::fs::read(path).map_err(|e| LoadError::Unreadable(e.to_string()))?;
        let text = String::from_utf8(bytes).map_err(|e| LoadError::NotUtf8 {
            offset: e.utf8_error().valid_up_to(),
        })?;
        Ok(SourceFile::new(path.to_path_buf(), text))
    }

    /// The 1-based line and character column of a byte offset.
    pub fn line_col(&self, offset: usize) -> LineCol {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s as usize <= offset) - 1;
        let start = self.line_starts[line] as usize;
        let mut boundary = offset;
        while !self.text.is_char_boundary(boundary) {
            boundary -= 1;
        }
        let column = self.text[start..boundary].chars().count() + 1;
        LineCol {
            line: line as u32 + 1,
            column: column as u32,
        }
    }

    /// The bytes of line `line` (1-based), without its line break; `None` past the end.
    pub fn line_range(&self, line: u32) -> Option<Range<usize>> {
        let index = usize::try_from(line).ok()?.checked_sub(1)?;
        let start = *self.line_starts.get(index)? as usize;
        let end = self
            .line_starts
            .get(index + 1)
            .map_or(self.text.len(), |&next| next as usize);
        let content = self.text[start..end].trim_end_matches(['\n', '\r']);
        Some(start..start + content.len())
    }

    /// The path with forward slashes, as reports print it.
    pub fn display_path(&self) -> String {
        display_path(&self.path)
    }
}

/// A path rendered with forward slashes and without a leading `./`.
pub fn display_path(path: &Path) -> String {
    let s = path.to_string_lossy().replace('\\', "/");
    let mut s = s.as_str();
    while let Some(rest) = s.strip_prefix("./") {
        s = rest;
    }
    s.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters() {
        let f = SourceFile::new("a.go".into(), "ab\nçd\r\nx".into());
        assert_eq!(f.line_col(0), LineCol { line: 1, column: 1 });
        assert_eq!(f.line_col(3), LineCol { line: 2, column: 1 });
        assert_eq!(f.line_col(5), LineCol { line: 2, column: 2 });
        assert_eq!(f.line_col(8), LineCol { line: 3, column: 1 });
    }

    #[test]
    fn display_path_strips_dot_slash() {
        assert_eq!(display_path(Path::new("./a/b.go")), "a/b.go");
    }
}
