//! Build constraints: whether the go tool would compile a file for the target platform, by
//! its name (`x_windows.go`, `x_linux_arm64_test.go`) and its `//go:build` line (or, in
//! files without one, its `// +build` lines), as `go/build` decides. A file the go tool
//! leaves out (`//go:build ignore` generators, another platform's variant) is not analyzed.

use std::collections::BTreeSet;
use std::path::Path;

/// Operating systems a file name suffix can name (`go/build`'s `knownOS`).
const KNOWN_OS: [&str; 18] = [
    "aix",
    "android",
    "darwin",
    "dragonfly",
    "freebsd",
    "hurd",
    "illumos",
    "ios",
    "js",
    "linux",
    "nacl",
    "netbsd",
    "openbsd",
    "plan9",
    "solaris",
    "wasip1",
    "windows",
    "zos",
];

/// Architectures a file name suffix can name (`go/build`'s `knownArch`).
const KNOWN_ARCH: [&str; 24] = [
    "386",
    "amd64",
    "amd64p32",
    "arm",
    "armbe",
    "arm64",
    "arm64be",
    "loong64",
    "mips",
    "mipsle",
    "mips64",
    "mips64le",
    "mips64p32",
    "mips64p32le",
    "ppc",
    "ppc64",
    "ppc64le",
    "riscv",
    "riscv64",
    "s390",
    "s390x",
    "sparc",
    "sparc64",
    "wasm",
];

/// The systems the `unix` constraint stands for.
const UNIX_OS: [&str; 12] = [
    "aix",
    "android",
    "darwin",
    "dragonfly",
    "freebsd",
    "hurd",
    "illumos",
    "ios",
    "linux",
    "netbsd",
    "openbsd",
    "solaris",
];

/// The newest Go release whose `go1.N` tags are satisfied (the pinned toolchain's).
const GO_MINOR: u32 = 27;

/// The target a run analyzes for: its system, architecture, and the extra tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildContext {
    goos: String,
    goarch: String,
    cgo: bool,
    tags: BTreeSet<String>,
}

impl Default for BuildContext {
    /// The host, as the go tool targets it when `GOOS` and `GOARCH` are not set.
    fn default() -> Self {
        BuildContext {
            goos: host_os().to_string(),
            goarch: host_arch().to_string(),
            cgo: true,
            tags: BTreeSet::new(),
        }
    }
}

impl BuildContext {
    /// The target the go tool would use here: `GOOS`, `GOARCH` and `CGO_ENABLED` from the
    /// environment when set, else the host, with the extra build tags.
    pub fn from_env(tags: &[String]) -> Self {
        let var = |name| std::env::var(name).ok().filter(|v| !v.is_empty());
        let host = BuildContext::default();
        let goos = var("GOOS").unwrap_or(host.goos);
        let goarch = var("GOARCH").unwrap_or(host.goarch);
        // The go tool turns cgo off when cross-compiling unless told otherwise.
        let native = goos == host_os() && goarch == host_arch();
        let cgo = var("CGO_ENABLED").map_or(native, |v| v == "1");
        BuildContext {
            goos,
            goarch,
            cgo,
            tags: tags
                .iter()
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .collect(),
        }
    }

    /// Whether the go tool would compile the file at `path` with this `text`.
    pub fn includes(&self, path: &Path, text: &str) -> bool {
        self.name_matches(path) && self.header_matches(text)
    }

    fn tag(&self, name: &str) -> bool {
        name == self.goos
            || name == self.goarch
            || name == "gc"
            || (name == "cgo" && self.cgo)
            || (name == "linux" && self.goos == "android")
            || (name == "solaris" && self.goos == "illumos")
            || (name == "darwin" && self.goos == "ios")
            || (name == "unix" && UNIX_OS.contains(&self.goos.as_str()))
            || self.tags.contains(name)
            || name
                .strip_prefix("go1.")
                .and_then(|minor| minor.parse::<u32>().ok())
                .is_some_and(|minor| (1..=GO_MINOR).contains(&minor))
    }

    /// Whether the file name fits the target (`go/build`'s `goodOSArchFile`): `_GOOS`,
    /// `_GOARCH` and `_GOOS_GOARCH` before the extension (and before `_test`), after the
    /// first underscore.
    pub fn name_matches(&self, path: &Path) -> bool {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let stem = name.split('.').next().unwrap_or(name);
        let Some(i) = stem.find('_') else {
            return true;
        };
        let mut parts: Vec<&str> = stem[i..].split('_').collect();
        if parts.last() == Some(&"test") {
            parts.pop();
        }
        let n = parts.len();
        if n >= 2 && KNOWN_OS.contains(&parts[n - 2]) && KNOWN_ARCH.contains(&parts[n - 1]) {
            return self.tag(parts[n - 2]) && self.tag(parts[n - 1]);
        }
        match parts.last() {
            Some(last) if KNOWN_OS.contains(last) || KNOWN_ARCH.contains(last) => self.tag(last),
            _ => true,
        }
    }

    /// The constraints in the file's header: its `//go:build` line, or else its `// +build`
    /// lines. A line that does not parse constrains nothing (the go tool would report it).
    fn header_matches(&self, text: &str) -> bool {
        let header = Header::of(text);
        if let Some(expr) = header.go_build {
            return Expr::parse(expr).is_none_or(|e| e.eval(&|t| self.tag(t)));
        }
        header.plus_build.iter().all(|line| {
            // Space-separated options any of which may hold; each a comma-separated AND.
            line.split_whitespace().any(|option| {
                option.split(',').all(|term| match term.strip_prefix('!') {
                    Some(t) => !self.tag(t),
                    None => self.tag(term),
                })
            })
        })
    }
}

/// The constraint lines of a file's leading comments, before its package clause.
#[derive(Debug, Default)]
struct Header<'a> {
    go_build: Option<&'a str>,
    plus_build: Vec<&'a str>,
}

impl<'a> Header<'a> {
    /// As `go/build`'s `parseFileHeader`: `//go:build` anywhere among the leading comments,
    /// `// +build` only before the last blank line preceding the first code (a comment
    /// block directly above `package` is the package's documentation).
    fn of(text: &'a str) -> Self {
        let mut header = Header::default();
        let mut pending = Vec::new();
        let mut in_block = false;
        for line in text.lines() {
            let line = line.trim();
            if in_block {
                match line.find("*/") {
                    Some(end) if line[end + 2..].trim().is_empty() => in_block = false,
                    Some(_) => break,
                    None => {}
                }
                continue;
            }
            if line.is_empty() {
                header.plus_build.append(&mut pending);
                continue;
            }
            if let Some(comment) = line.strip_prefix("//") {
                if let Some(expr) = comment.strip_prefix("go:build") {
                    if expr.is_empty() || expr.starts_with([' ', '\t']) {
                        header.go_build.get_or_insert(expr.trim());
                    }
                } else if let Some(options) = comment.trim_start().strip_prefix("+build") {
                    if options.is_empty() || options.starts_with([' ', '\t']) {
                        pending.push(options.trim());
                    }
                }
                continue;
            }
            match line.strip_prefix("/*") {
                Some(rest) if !rest.contains("*/") => in_block = true,
                Some(rest)
                    if rest
                        .split_once("*/")
                        .is_some_and(|(_, r)| r.trim().is_empty()) => {}
                _ => break,
            }
        }
        header
    }
}

/// A `//go:build` expression.
#[derive(Debug, PartialEq, Eq)]
enum Expr {
    Tag(String),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

impl Expr {
    /// Parses `a && !(b || c)`; `None` when it is not a valid expression.
    fn parse(text: &str) -> Option<Expr> {
        let tokens = tokenize(text)?;
        let mut pos = 0;
        let expr = parse_or(&tokens, &mut pos)?;
        (pos == tokens.len()).then_some(expr)
    }

    fn eval(&self, tag: &impl Fn(&str) -> bool) -> bool {
        match self {
            Expr::Tag(t) => tag(t),
            Expr::Not(e) => !e.eval(tag),
            Expr::And(a, b) => a.eval(tag) && b.eval(tag),
            Expr::Or(a, b) => a.eval(tag) || b.eval(tag),
        }
    }
}

fn tokenize(text: &str) -> Option<Vec<String>> {
    let mut tokens = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '!' || c == '(' || c == ')' {
            tokens.push(c.to_string());
            chars.next();
        } else if c == '&' || c == '|' {
            chars.next();
            if chars.next() != Some(c) {
                return None;
            }
            tokens.push(format!("{c}{c}"));
        } else if c.is_alphanumeric() || c == '_' || c == '.' {
            let mut word = String::new();
            while let Some(&c) = chars
                .peek()
                .filter(|c| c.is_alphanumeric() || **c == '_' || **c == '.')
            {
                word.push(c);
                chars.next();
            }
            tokens.push(word);
        } else {
            return None;
        }
    }
    Some(tokens)
}

fn parse_or(tokens: &[String], pos: &mut usize) -> Option<Expr> {
    let mut left = parse_and(tokens, pos)?;
    while tokens.get(*pos).is_some_and(|t| t == "||") {
        *pos += 1;
        left = Expr::Or(Box::new(left), Box::new(parse_and(tokens, pos)?));
    }
    Some(left)
}

fn parse_and(tokens: &[String], pos: &mut usize) -> Option<Expr> {
    let mut left = parse_not(tokens, pos)?;
    while tokens.get(*pos).is_some_and(|t| t == "&&") {
        *pos += 1;
        left = Expr::And(Box::new(left), Box::new(parse_not(tokens, pos)?));
    }
    Some(left)
}

fn parse_not(tokens: &[String], pos: &mut usize) -> Option<Expr> {
    let token = tokens.get(*pos)?;
    *pos += 1;
    match token.as_str() {
        "!" => Some(Expr::Not(Box::new(parse_not(tokens, pos)?))),
        "(" => {
            let inner = parse_or(tokens, pos)?;
            (tokens.get(*pos)? == ")").then(|| {
                *pos += 1;
                inner
            })
        }
        "&&" | "||" | ")" => None,
        tag => Some(Expr::Tag(tag.to_string())),
    }
}

fn host_os() -> &'static str {
    match std::env::consts::OS {
        "macos" => "darwin",
        os => os,
    }
}

fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "x86" => "386",
        "aarch64" => "arm64",
        "powerpc64" => "ppc64",
        "loongarch64" => "loong64",
        arch => arch,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn linux_amd64(tags: &[&str]) -> BuildContext {
        BuildContext {
            goos: "linux".to_string(),
            goarch: "amd64".to_string(),
            cgo: true,
            tags: tags.iter().map(|t| t.to_string()).collect(),
        }
    }

    fn includes(ctx: &BuildContext, name: &str, text: &str) -> bool {
        ctx.includes(Path::new(name), text)
    }

    #[test]
    fn file_names_name_platforms_after_the_first_underscore() {
        let ctx = linux_amd64(&[]);
        for (name, want) in [
            ("x.go", true),
            ("x_linux.go", true),
            ("x_windows.go", false),
            ("x_linux_amd64.go", true),
            ("x_linux_arm64.go", false),
            ("x_arm64.go", false),
            ("x_windows_test.go", false),
            ("x_linux_test.go", true),
            ("windows.go", true),
            ("linux_test.go", true),
            ("x_unix.go", true),
            ("x_amd64_windows.go", false),
        ] {
            assert_eq!(includes(&ctx, name, "package p\n"), want, "{name}");
        }
    }

    #[test]
    fn go_build_lines_are_evaluated() {
        let ctx = linux_amd64(&["integration"]);
        for (line, want) in [
            ("ignore", false),
            ("linux", true),
            ("!linux", false),
            ("unix && amd64", true),
            ("windows || (linux && !arm64)", true),
            ("integration", true),
            ("go1.21 && !go1.99", true),
            ("gc && cgo", true),
            ("!(darwin || windows)", true),
            ("linux &&", true),
        ] {
            let text = format!("// Copyright\n\n//go:build {line}\n\npackage p\n");
            assert_eq!(includes(&ctx, "x.go", &text), want, "{line}");
        }
    }

    #[test]
    fn plus_build_lines_count_only_without_go_build_and_before_a_blank_line() {
        let ctx = linux_amd64(&[]);
        assert!(!includes(&ctx, "x.go", "// +build windows\n\npackage p\n"));
        assert!(includes(
            &ctx,
            "x.go",
            "// +build windows linux\n\npackage p\n"
        ));
        assert!(!includes(
            &ctx,
            "x.go",
            "// +build linux,!amd64\n\npackage p\n"
        ));
        assert!(!includes(
            &ctx,
            "x.go",
            "// +build linux\n// +build arm64\n\npackage p\n"
        ));
        // The //go:build line wins over +build lines.
        assert!(includes(
            &ctx,
            "x.go",
            "//go:build linux\n// +build windows\n\npackage p\n"
        ));
        // In the package's doc comment, a +build line is documentation.
        assert!(includes(&ctx, "x.go", "// +build windows\npackage p\n"));
    }

    #[test]
    fn constraints_after_the_package_clause_or_in_code_do_not_count() {
        let ctx = linux_amd64(&[]);
        assert!(includes(&ctx, "x.go", "package p\n\n//go:build ignore\n"));
        assert!(includes(
            &ctx,
            "x.go",
            "/* doc */ package p\n//go:build ignore\n"
        ));
        assert!(!includes(
            &ctx,
            "x.go",
            "/*\nlicense\n*/\n\n//go:build ignore\n\npackage p\n"
        ));
    }

    #[test]
    fn the_environment_chooses_the_target() {
        let ctx = BuildContext {
            goos: "windows".to_string(),
            goarch: "arm64".to_string(),
            cgo: false,
            tags: BTreeSet::new(),
        };
        assert!(includes(&ctx, "x_windows_arm64.go", "package p\n"));
        assert!(!includes(&ctx, "x_linux.go", "package p\n"));
        assert!(!includes(
            &ctx,
            "x.go",
            "//go:build unix || cgo\n\npackage p\n"
        ));
    }
}
