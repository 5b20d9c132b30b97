//! Screening: a byte-level scan of each file, before any parsing, that names its package and
//! tells whether it holds anything the analysis starts from — a `go` statement, a lock, a
//! spawner call, an HTTP handler or gRPC service, a parallel subtest. A package none of whose files does
//! cannot race on a map and is never parsed: over a third of the standard library's files.
//!
//! The scan skips comments and string, raw string and rune literals, so a `go` in a comment
//! does not count; `go` is a keyword, so any other `go` token is a go statement. A file with
//! none of these is still relevant when it declares a package-level map and stores into it
//! outside `package main` (a library's memo cache, [`crate::index`]'s `memo`), read from
//! gofmt's layout.

use std::collections::HashSet;

use crate::index::apis::Apis;
use crate::index::rpc;

/// The identifiers the analysis starts from, beyond the spawners: the `go` keyword, lock
/// acquisitions (inconsistent locking needs no goroutine), request handlers (`ServeHTTP`,
/// and the parameter types of handlers: `http.ResponseWriter`, the gin, echo and fiber
/// contexts), loads from concurrent containers and gRPC metadata getters (a map written
/// after `Load` needs no goroutine either), and `t.Parallel` (which turns `t.Run` into a spawner).
const TRIGGERS: [&str; 13] = [
    "go",
    "Lock",
    "RLock",
    "ServeHTTP",
    "ResponseWriter",
    "gin",
    "echo",
    "fiber",
    "Load",
    "LoadOrStore",
    "FromIncomingContext",
    "FromOutgoingContext",
    "FromContext",
];

/// `t.Run` runs its function on another goroutine only when that function calls `Parallel`.
const PARALLEL: &str = "Parallel";

/// Triggers that start no goroutine: locks and loads (the rules about them need none).
const SEQUENTIAL_TRIGGERS: [&str; 7] = [
    "Lock",
    "RLock",
    "Load",
    "LoadOrStore",
    "FromIncomingContext",
    "FromOutgoingContext",
    "FromContext",
];

/// The identifiers that make a package worth parsing.
#[derive(Debug, Clone)]
pub struct Screen {
    triggers: HashSet<Vec<u8>>,
    /// The triggers that do not start goroutines.
    sequential: HashSet<Vec<u8>>,
}

/// What the scan learned about one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scan {
    /// The name in the `package` clause; empty when the file does not start with one.
    pub package: String,
    /// Whether the file holds a trigger: its package must be analyzed.
    pub relevant: bool,
    /// Whether one of its triggers starts goroutines (a `go` statement, a spawner, a
    /// handler, a parallel subtest), not only locks or loads.
    pub concurrent: bool,
}

impl Screen {
    /// The triggers for the built-in rules and the given spawners and lock methods.
    pub fn new(apis: &Apis) -> Self {
        let names = TRIGGERS
            .iter()
            .chain(&[PARALLEL])
            .map(|s| s.to_string())
            .chain(apis.methods.iter().map(|s| s.method.clone()))
            .chain(apis.functions.iter().map(|s| s.function.clone()))
            .chain(apis.locks.iter().map(|l| l.acquire.clone()));
        let sequential = SEQUENTIAL_TRIGGERS
            .iter()
            .map(|s| s.to_string())
            .chain(apis.locks.iter().map(|l| l.acquire.clone()));
        Screen {
            triggers: names.map(String::into_bytes).collect(),
            sequential: sequential.map(String::into_bytes).collect(),
        }
    }

    /// Scans one file's text, up to its first trigger that starts goroutines.
    pub fn scan(&self, text: &str) -> Scan {
        let mut package = None;
        let mut after_package_keyword = false;
        let mut relevant = false;
        let mut concurrent = false;
        for token in Tokens::new(text.as_bytes()) {
            match package {
                None if after_package_keyword => {
                    package = Some(String::from_utf8_lossy(token).into_owned());
                }
                None if token == b"package" => after_package_keyword = true,
                None => package = Some(String::new()),
                Some(_) => {}
            }
            let service = || std::str::from_utf8(token).is_ok_and(rpc::names_service);
            if self.triggers.contains(token) || service() {
                relevant = true;
                if !self.sequential.contains(token) {
                    concurrent = true;
                    break;
                }
            }
        }
        let package = package.unwrap_or_default();
        relevant = relevant || (package != "main" && stores_into_package_map(text));
        Scan {
            package,
            relevant,
            concurrent,
        }
    }
}

/// Whether gofmt-formatted `text` declares a package-level map variable (`var cache =
/// map[…]…{}`, or in a `var (…)` block) and stores into it in a function body (an indented
/// `cache[k] = v`).
fn stores_into_package_map(text: &str) -> bool {
    if memchr::memmem::find(text.as_bytes(), b"map[").is_none() {
        return false;
    }
    let mut in_block = false;
    let mut names = Vec::new();
    for line in text.lines() {
        let declared = if in_block {
            in_block = line != ")";
            line.strip_prefix('\t').filter(|l| !l.starts_with('\t'))
        } else if line == "var (" {
            in_block = true;
            None
        } else {
            line.strip_prefix("var ")
        };
        let Some(declared) = declared else {
            continue;
        };
        let name_end = declared
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(declared.len());
        let rest = declared[name_end..].trim_start();
        let rest = rest.strip_prefix('=').map_or(rest, str::trim_start);
        let rest = rest.strip_prefix("make(").unwrap_or(rest);
        if name_end > 0 && rest.starts_with("map[") {
            names.push(&declared[..name_end]);
        }
    }
    !names.is_empty()
        && text.lines().any(|line| {
            line.starts_with('\t')
                && names.iter().any(|name| {
                    let code = line.trim_start();
                    code.strip_prefix(name).is_some_and(|r| r.starts_with('['))
                        && code
                            .split_once("] =")
                            .is_some_and(|(_, v)| !v.starts_with('='))
                })
        })
}

/// The identifiers and keywords of Go source, in order; everything else is skipped.
struct Tokens<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Tokens<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        let bom = "\u{feff}".as_bytes();
        let at = if bytes.starts_with(bom) { bom.len() } else { 0 };
        Tokens { bytes, at }
    }

    /// Moves past a literal opened at `self.at` and closed by `close`; `\` escapes unless
    /// `raw`. An unterminated literal ends at the line's end (or the file's, when raw).
    fn skip_literal(&mut self, close: u8, raw: bool) {
        self.at += 1;
        while let Some(&b) = self.bytes.get(self.at) {
            self.at += 1;
            match b {
                b'\\' if !raw => self.at += 1,
                b'\n' if !raw => return,
                _ if b == close => return,
                _ => {}
            }
        }
    }
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

impl<'a> Iterator for Tokens<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let bytes = self.bytes;
        while let Some(&b) = bytes.get(self.at) {
            match b {
                b'/' if bytes.get(self.at + 1) == Some(&b'/') => {
                    self.at = memchr::memchr(b'\n', &bytes[self.at..])
                        .map_or(bytes.len(), |i| self.at + i);
                }
                b'/' if bytes.get(self.at + 1) == Some(&b'*') => {
                    self.at = memchr::memmem::find(&bytes[self.at + 2..], b"*/")
                        .map_or(bytes.len(), |i| self.at + 2 + i + 2);
                }
                b'"' => self.skip_literal(b'"', false),
                b'\'' => self.skip_literal(b'\'', false),
                b'`' => self.skip_literal(b'`', true),
                _ if b.is_ascii_digit() => {
                    while bytes.get(self.at).is_some_and(|&b| is_ident_byte(b)) {
                        self.at += 1;
                    }
                }
                _ if is_ident_byte(b) => {
                    let start = self.at;
                    while bytes.get(self.at).is_some_and(|&b| is_ident_byte(b)) {
                        self.at += 1;
                    }
                    return Some(&bytes[start..self.at]);
                }
                _ => self.at += 1,
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(text: &str) -> Scan {
        Screen::new(&Apis::default()).scan(text)
    }

    #[test]
    fn names_the_package_and_finds_go_statements() {
        let s = scan("// Package p.\npackage p\n\nfunc f() { go g() }\n");
        assert_eq!(s.package, "p");
        assert!(s.relevant);
    }

    #[test]
    fn comments_and_literals_do_not_count() {
        let text = "//go:build linux\n/* go Lock */ package p\n\
                    var a = \"go \\\" Lock\"\nvar b = `go\nRLock`\nvar c = '\\''\nfunc go2() {}\n";
        let s = scan(text);
        assert_eq!(s.package, "p");
        assert!(!s.relevant, "{s:?}");
    }

    #[test]
    fn locks_handlers_spawners_and_parallel_subtests_count() {
        for body in [
            "mu.Lock()",
            "mu.RLock()",
            "g.Go(f)",
            "time.AfterFunc(d, f)",
            "t.Parallel()",
            "m := cfg.Load().(map[string]int)",
        ] {
            assert!(scan(&format!("package p\nfunc f() {{ {body} }}\n")).relevant);
        }
        assert!(scan("package p\nfunc (h) ServeHTTP(w, r) {}\n").relevant);
    }

    #[test]
    fn only_goroutine_starts_make_a_file_concurrent() {
        let locks = scan("package p\nfunc f() { mu.Lock(); m := v.Load() }\n");
        assert!(locks.relevant && !locks.concurrent, "{locks:?}");
        let spawns = scan("package p\nfunc f() { mu.Lock(); go g() }\n");
        assert!(spawns.relevant && spawns.concurrent, "{spawns:?}");
    }

    #[test]
    fn project_spawners_count() {
        let mut spawners = Apis::default();
        assert!(!scan("package p\nfunc f() { pool.Submit(f) }\n").relevant);
        spawners.methods.push(crate::index::apis::MethodSpawner {
            method: "Submit".to_string(),
            arity: 1,
            func_arg: 0,
            receiver_waits: false,
            repeated: false,
        });
        let screen = Screen::new(&spawners);
        assert!(
            screen
                .scan("package p\nfunc f() { pool.Submit(f) }\n")
                .relevant
        );
    }

    #[test]
    fn a_package_map_stored_into_makes_a_file_relevant() {
        let memo = "package p\n\nvar cache = map[string]int{}\n\n\
                    func F(k string) int {\n\tif v, ok := cache[k]; ok {\n\t\treturn v\n\t}\n\
                    \tcache[k] = len(k)\n\treturn len(k)\n}\n";
        let s = scan(memo);
        assert!(s.relevant && !s.concurrent, "{s:?}");
        let block = memo.replace("var cache = map", "var (\n\tn     int\n\tcache = make(map");
        let block = block.replace("int{}\n", "int)\n)\n");
        assert!(scan(&block).relevant, "{block}");
        // A table only read, and a map field of a struct, are not.
        let table = memo.replace("\tcache[k] = len(k)\n", "");
        assert!(!scan(&table).relevant);
        let field = "package p\n\ntype T struct {\n\tm map[string]int\n}\n\n\
                     func (t *T) F() {\n\tm[\"a\"] = 1\n}\n";
        assert!(!scan(field).relevant);
    }

    #[test]
    fn files_without_a_package_clause_have_no_name() {
        assert_eq!(scan("func f() {}").package, "");
        assert_eq!(scan("").package, "");
        assert_eq!(scan("\u{feff}package q").package, "q");
    }
}
