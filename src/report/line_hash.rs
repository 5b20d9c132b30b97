//! `primaryLocationLineHash`: the per-line fingerprint GitHub code scanning matches alerts
//! by, computed as GitHub's upload action computes it (`fingerprints.ts` in
//! github/codeql-action), so that the value mapguard writes is the one the action would.
//!
//! The hash of a line is a rolling polynomial hash (base 37, wrapping 64-bit arithmetic) of
//! the 100 characters starting at the line, counted in UTF-16 code units, with spaces and
//! tabs skipped and `\r\n` / `\r` read as `\n`. The end of the file is a character 65535
//! followed by zeros. Equal hashes are told apart by their occurrence: `hash:n`.

use std::collections::HashMap;

const WINDOW: usize = 100;
const BASE: i64 = 37;
const END_OF_FILE: u16 = 0xFFFF;

/// The fingerprint of every line of `text`: element `i` is line `i + 1`'s.
pub fn line_hashes(text: &str) -> Vec<String> {
    let mut hasher = Hasher::new();
    for unit in text.encode_utf16() {
        hasher.push(unit);
    }
    hasher.push(END_OF_FILE);
    hasher.finish()
}

struct Hasher {
    /// The last `WINDOW` characters hashed, as a ring.
    window: [u16; WINDOW],
    /// For each ring slot, the line starting at that character (0: none).
    line_at: [usize; WINDOW],
    at: usize,
    hash: i64,
    /// `BASE` to the power `WINDOW`: the weight of the character leaving the window.
    leaving: i64,
    line: usize,
    line_start: bool,
    after_cr: bool,
    seen: HashMap<String, usize>,
    out: Vec<String>,
}

impl Hasher {
    fn new() -> Self {
        Hasher {
            window: [0; WINDOW],
            line_at: [0; WINDOW],
            at: 0,
            hash: 0,
            leaving: (0..WINDOW).fold(1i64, |p, _| p.wrapping_mul(BASE)),
            line: 0,
            line_start: true,
            after_cr: false,
            seen: HashMap::new(),
            out: Vec::new(),
        }
    }

    fn push(&mut self, unit: u16) {
        let lf = u16::from(b'\n');
        if unit == u16::from(b' ') || unit == u16::from(b'\t') || (self.after_cr && unit == lf) {
            self.after_cr = false;
            return;
        }
        self.after_cr = unit == u16::from(b'\r');
        let unit = if self.after_cr { lf } else { unit };
        self.emit();
        if self.line_start {
            self.line_start = false;
            self.line += 1;
            self.line_at[self.at] = self.line;
        }
        self.line_start = unit == lf;
        self.roll(unit);
    }

    /// When the ring slot about to be overwritten started a line, that line's window is full.
    fn emit(&mut self) {
        let line = std::mem::take(&mut self.line_at[self.at]);
        if line == 0 {
            return;
        }
        let hex = format!("{:x}", self.hash as u64);
        let n = self.seen.entry(hex.clone()).or_insert(0);
        *n += 1;
        if self.out.len() < line {
            self.out.resize(line, String::new());
        }
        self.out[line - 1] = format!("{hex}:{n}");
    }

    fn roll(&mut self, unit: u16) {
        let gone = std::mem::replace(&mut self.window[self.at], unit);
        self.hash = self
            .hash
            .wrapping_mul(BASE)
            .wrapping_add(i64::from(unit))
            .wrapping_sub(self.leaving.wrapping_mul(i64::from(gone)));
        self.at = (self.at + 1) % WINDOW;
    }

    fn finish(mut self) -> Vec<String> {
        for _ in 0..WINDOW {
            self.emit();
            self.roll(0);
        }
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference values: the hashes GitHub's own tests expect (codeql-action,
    /// `fingerprints.test.ts`).
    #[test]
    fn matches_the_upload_actions_reference_hashes() {
        assert_eq!(line_hashes(""), ["c129715d7a2bc9a3:1"]);
        assert_eq!(
            line_hashes(" a\nb\n  \t\tc\n d"),
            [
                "271789c17abda88f:1",
                "54703d4cd895b18:1",
                "180aee12dab6264:1",
                "a23a3dc5e078b07b:1"
            ]
        );
        let expected = [
            "e9496ae3ebfced30:1",
            "fb7c023a8b9ccb3f:1",
            "ce8ba1a563dcdaca:1",
            "e20e36e16fcb0cc8:1",
            "b3edc88f2938467e:1",
            "c8e28b0b4002a3a0:1",
            "c129715d7a2bc9a3:1",
        ];
        for text in [
            " hello; \t\nworld!!!\n\n\n  \t\tGreetings\n End\n",
            " hello; \t\nworld!!!\r\r\r  \t\tGreetings\r End\r",
            " hello; \t\r\nworld!!!\r\n\r\n\r\n  \t\tGreetings\r\n End\r\n",
            " hello; \t\nworld!!!\r\n\n\r  \t\tGreetings\r End\r\n",
        ] {
            assert_eq!(line_hashes(text), expected, "{text:?}");
        }
        assert_eq!(
            line_hashes(&"Lorem ipsum dolor sit amet.\n".repeat(10)),
            [
                "a7f2ff13bc495cf2:1",
                "a7f2ff13bc495cf2:2",
                "a7f2ff13bc495cf2:3",
                "a7f2ff13bc495cf2:4",
                "a7f2ff13bc495cf2:5",
                "a7f2ff13bc495cf2:6",
                "a7f2ff1481e87703:1",
                "a9cf91f7bbf1862b:1",
                "55ec222b86bcae53:1",
                "cc97dc7b1d7d8f7b:1",
                "c129715d7a2bc9a3:1"
            ]
        );
    }

    #[test]
    fn lines_above_do_not_change_a_line_more_than_100_characters_away() {
        let tail = "func f() {\n\tm[1] = 2\n}\n".repeat(10);
        let a = line_hashes(&format!("package p\n{tail}"));
        let b = line_hashes(&format!("package p\n\n// moved\n{tail}"));
        assert_eq!(a[1], b[3]);
    }
}
