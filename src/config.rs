//! `mapguard.toml`: which files to analyze, which rules run and at what level, and the
//! spawner APIs a project adds. Found by walking up from the working directory, or named
//! with `--config`. Every mistake (an unknown key, a bad glob, an unknown rule) is an
//! error naming it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use globset::{Glob, GlobMatcher, GlobSet, GlobSetBuilder};
use serde::Deserialize;

use crate::finding::Level;
use crate::index::apis::{Apis, FunctionSpawner, LockMethod, MethodSpawner};
use crate::rules;

/// The file name looked for.
pub const FILE_NAME: &str = "mapguard.toml";

/// The configuration in effect.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from, if any.
    pub path: Option<PathBuf>,
    /// Globs are relative to this directory (the file's).
    root: PathBuf,
    include: Option<GlobSet>,
    exclude: GlobSet,
    exclude_patterns: Vec<String>,
    /// Analyze `_test.go` files.
    pub tests: bool,
    /// Analyze generated files (`// Code generated ... DO NOT EDIT.`).
    pub generated: bool,
    /// Rules turned off.
    pub disabled: BTreeSet<String>,
    /// Report levels that replace the confidence-based default, by rule.
    pub levels: BTreeMap<String, Level>,
    /// Rules turned off for the files a glob matches (`None`: every rule).
    per_file_ignores: Vec<(GlobMatcher, Option<BTreeSet<String>>)>,
    /// Built-in spawners and lock methods plus the project's.
    pub apis: Apis,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            path: None,
            root: PathBuf::from("."),
            include: None,
            exclude: GlobSet::empty(),
            exclude_patterns: Vec::new(),
            tests: true,
            generated: false,
            disabled: BTreeSet::new(),
            levels: BTreeMap::new(),
            per_file_ignores: Vec::new(),
            apis: Apis::default(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    include: Option<Vec<String>>,
    #[serde(default)]
    exclude: Vec<String>,
    tests: Option<bool>,
    generated: Option<bool>,
    #[serde(default)]
    rules: RulesSection,
    #[serde(default)]
    spawner: Vec<SpawnerEntry>,
    #[serde(default)]
    lock: Vec<LockEntry>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RulesSection {
    #[serde(default)]
    disable: Vec<String>,
    #[serde(default)]
    level: BTreeMap<String, Level>,
    /// Glob → rules (ids, names or `all`) not reported in the files it matches.
    #[serde(default, rename = "per-file-ignores")]
    per_file_ignores: BTreeMap<String, Vec<String>>,
}

/// `[[spawner]]`: `method = "Submit"` (any `x.Submit(...)`) or
/// `function = "example.com/pool.Go"` (import path, dot, name).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpawnerEntry {
    method: Option<String>,
    function: Option<String>,
    /// How many arguments a method call has (default 1).
    args: Option<usize>,
    /// Which argument runs on the goroutine (default: the last).
    func_arg: Option<usize>,
    /// Whether the receiver's `Wait()` waits for the goroutines.
    #[serde(default)]
    waits: bool,
    /// Whether one call runs the function many times at once.
    #[serde(default)]
    repeated: bool,
}

/// `[[lock]]`: `acquire = "Acquire"`, `release = "Release"`: methods that lock and unlock
/// their receiver, whatever their arguments; `shared = true` for a read lock.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LockEntry {
    acquire: String,
    release: String,
    #[serde(default)]
    shared: bool,
}

impl Config {
    /// The nearest `mapguard.toml` in `start` or a parent directory.
    pub fn find(start: &Path) -> Option<PathBuf> {
        start
            .ancestors()
            .map(|d| d.join(FILE_NAME))
            .find(|p| p.is_file())
    }

    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
        let file: File = toml::from_str(&text).map_err(|e| e.to_string())?;
        let root = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let mut config = Config {
            path: Some(path.to_path_buf()),
            root,
            include: file.include.as_deref().map(globs).transpose()?,
            exclude: globs(&file.exclude)?,
            exclude_patterns: file.exclude.clone(),
            tests: file.tests.unwrap_or(true),
            generated: file.generated.unwrap_or(false),
            ..Config::default()
        };
        for id in file.rules.disable {
            config.disabled.insert(rule_id(&id)?);
        }
        for (id, level) in file.rules.level {
            config.levels.insert(rule_id(&id)?, level);
        }
        for (pattern, ids) in file.rules.per_file_ignores {
            let glob = Glob::new(&pattern)
                .map_err(|e| format!("bad glob `{pattern}`: {e}"))?
                .compile_matcher();
            let rules = if ids.iter().any(|id| id.eq_ignore_ascii_case("all")) {
                None
            } else {
                Some(ids.iter().map(|id| rule_id(id)).collect::<Result<_, _>>()?)
            };
            config.per_file_ignores.push((glob, rules));
        }
        for (i, s) in file.spawner.into_iter().enumerate() {
            let which = format!("[[spawner]] #{}", i + 1);
            match (s.method, s.function) {
                (Some(method), None) => {
                    let arity = s.args.unwrap_or(1);
                    let func_arg = s.func_arg.unwrap_or(arity.saturating_sub(1));
                    if arity == 0 || func_arg >= arity {
                        return Err(format!(
                            "{which}: func_arg {func_arg} is not one of the {arity} arguments"
                        ));
                    }
                    config.apis.methods.push(MethodSpawner {
                        method,
                        arity,
                        func_arg,
                        receiver_waits: s.waits,
                        repeated: s.repeated,
                    });
                }
                (None, Some(function)) => {
                    let Some((package, name)) = function.rsplit_once('.') else {
                        return Err(format!(
                            "{which}: function `{function}` is not `import/path.Name`"
                        ));
                    };
                    config.apis.functions.push(FunctionSpawner {
                        package: package.to_string(),
                        function: name.to_string(),
                        func_arg: s.func_arg.unwrap_or(0),
                        repeated: s.repeated,
                    });
                }
                _ => {
                    return Err(format!(
                        "{which}: give exactly one of `method` and `function`"
                    ))
                }
            }
        }
        for (i, l) in file.lock.into_iter().enumerate() {
            let which = format!("[[lock]] #{}", i + 1);
            for name in [&l.acquire, &l.release] {
                if !is_identifier(name) {
                    return Err(format!("{which}: `{name}` is not a method name"));
                }
            }
            if l.acquire == l.release {
                return Err(format!(
                    "{which}: `acquire` and `release` are the same method"
                ));
            }
            config.apis.locks.push(LockMethod {
                acquire: l.acquire,
                release: l.release,
                shared: l.shared,
            });
        }
        Ok(config)
    }

    /// Applies the command line's choices on top of the file: only the `select`ed rules
    /// (when any are named), not the `ignore`d ones, and more `exclude` globs (matched as the
    /// file's are, relative to its directory or else the current one).
    pub fn apply_command_line(
        &mut self,
        select: &[String],
        ignore: &[String],
        exclude: &[String],
    ) -> Result<(), String> {
        let selected = select
            .iter()
            .map(|id| rule_id(id))
            .collect::<Result<BTreeSet<_>, _>>()?;
        if !selected.is_empty() {
            for rule in rules::all() {
                if !selected.contains(rule.id) {
                    self.disabled.insert(rule.id.to_string());
                }
            }
        }
        for id in ignore {
            self.disabled.insert(rule_id(id)?);
        }
        if !exclude.is_empty() {
            self.exclude_patterns.extend(exclude.iter().cloned());
            self.exclude = globs(&self.exclude_patterns)?;
        }
        Ok(())
    }

    /// Whether a discovered file is to be analyzed by the include and exclude globs and the
    /// `tests` switch (generated files are recognised once read: [`Config::skips_generated`]).
    pub fn selects(&self, path: &Path) -> bool {
        if !self.tests && path.to_string_lossy().ends_with("_test.go") {
            return false;
        }
        let relative = relative_to(path, &self.root);
        self.include.as_ref().is_none_or(|g| g.is_match(&relative))
            && !self.exclude.is_match(&relative)
    }

    /// The same configuration for a copy of the tree at `from` placed at `to` (a git
    /// revision's files): globs stay relative to the same directory of the copy.
    pub fn moved(&self, from: &Path, to: &Path) -> Config {
        let root = std::path::absolute(&self.root).unwrap_or_else(|_| self.root.clone());
        let root = match root.strip_prefix(from) {
            Ok(rest) => to.join(rest),
            Err(_) => self.root.clone(),
        };
        Config {
            root,
            ..self.clone()
        }
    }

    /// Whether `per-file-ignores` turns `rule` off in the file at `path` (as displayed).
    pub fn ignores(&self, path: &str, rule: &str) -> bool {
        if self.per_file_ignores.is_empty() {
            return false;
        }
        let relative = relative_to(Path::new(path), &self.root);
        self.per_file_ignores.iter().any(|(glob, rules)| {
            glob.is_match(&relative) && rules.as_ref().is_none_or(|r| r.contains(rule))
        })
    }

    /// Whether source text is a generated file that the configuration leaves out.
    pub fn skips_generated(&self, text: &str) -> bool {
        !self.generated && is_generated(text)
    }
}

/// The Go convention for generated files: a line `// Code generated ... DO NOT EDIT.` before
/// the package clause.
pub fn is_generated(text: &str) -> bool {
    text.lines()
        .take_while(|l| !l.starts_with("package "))
        .any(|l| l.starts_with("// Code generated ") && l.trim_end().ends_with(" DO NOT EDIT."))
}

fn globs(patterns: &[String]) -> Result<GlobSet, String> {
    let mut set = GlobSetBuilder::new();
    for p in patterns {
        set.add(Glob::new(p).map_err(|e| format!("bad glob `{p}`: {e}"))?);
    }
    set.build().map_err(|e| e.to_string())
}

fn rule_id(id: &str) -> Result<String, String> {
    rules::get(id).map(|r| r.id.to_string()).ok_or_else(|| {
        let known: Vec<_> = rules::all().iter().map(|r| r.id).collect();
        format!("unknown rule `{id}` (known: {})", known.join(", "))
    })
}

/// A path relative to the configuration's directory, for glob matching.
fn relative_to(path: &Path, root: &Path) -> PathBuf {
    let absolute = |p: &Path| {
        std::path::absolute(p)
            .unwrap_or_else(|_| p.to_path_buf())
            .components()
            .filter(|c| !matches!(c, std::path::Component::CurDir))
            .collect::<PathBuf>()
    };
    let (path, root) = (absolute(path), absolute(root));
    path.strip_prefix(&root)
        .map_or(path.clone(), Path::to_path_buf)
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Config, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, text).unwrap();
        Config::load(&path)
    }

    #[test]
    fn mistakes_are_errors_naming_them() {
        assert!(load("colour = true\n").unwrap_err().contains("colour"));
        assert!(load("exclude = [\"a/[\"]\n")
            .unwrap_err()
            .contains("bad glob `a/[`"));
        assert!(load("[rules]\ndisable = [\"MG999\"]\n")
            .unwrap_err()
            .contains("MG999"));
        assert!(load("[rules]\nlevel = { MG001 = \"fatal\" }\n").is_err());
        assert!(load("[[spawner]]\nmethod = \"Go\"\nfunction = \"x.Go\"\n").is_err());
        assert!(load("[[spawner]]\nfunction = \"NoDot\"\n")
            .unwrap_err()
            .contains("NoDot"));
        assert!(load("tests = \"yes\"\n").is_err());
        assert!(load("[rules\n").is_err());
    }

    #[test]
    fn a_full_file_is_understood() {
        let c = load(
            "exclude = [\"gen/**\"]\ntests = false\n[rules]\ndisable = [\"mg004\"]\n\
             level = { MG003 = \"note\" }\n[[spawner]]\nmethod = \"Submit\"\n\
             [[spawner]]\nfunction = \"example.com/pool.Go\"\nrepeated = true\n",
        )
        .unwrap();
        assert!(c.disabled.contains("MG004"));
        assert_eq!(c.levels.get("MG003"), Some(&Level::Note));
        assert!(c.apis.method("Submit", 1).is_some());
        assert!(!c.tests);
        assert!(!c.selects(&c.root.join("gen/x.go")));
        assert!(c.selects(&c.root.join("svc/x.go")));
        assert!(!c.selects(&c.root.join("svc/x_test.go")));
    }

    #[test]
    fn per_file_ignores_turn_rules_off_by_glob() {
        let c = load(
            "[rules.per-file-ignores]\n\"legacy/**\" = [\"all\"]\n\
             \"**/*_test.go\" = [\"MG003\", \"concurrent-map-read-write\"]\n",
        )
        .unwrap();
        let path = |p: &str| c.root.join(p).to_string_lossy().into_owned();
        assert!(c.ignores(&path("legacy/a.go"), "MG001"));
        assert!(c.ignores(&path("svc/a_test.go"), "MG003"));
        assert!(c.ignores(&path("svc/a_test.go"), "MG002"));
        assert!(!c.ignores(&path("svc/a_test.go"), "MG001"));
        assert!(!c.ignores(&path("svc/a.go"), "MG003"));
        assert!(load("[rules.per-file-ignores]\n\"x\" = [\"MG0\"]\n")
            .unwrap_err()
            .contains("MG0"));
    }

    #[test]
    fn generated_files_are_recognised() {
        assert!(is_generated(
            "// Code generated by stringer. DO NOT EDIT.\n\npackage p\n"
        ));
        assert!(!is_generated(
            "package p\n\n// Code generated by hand. DO NOT EDIT.\n"
        ));
    }
}
