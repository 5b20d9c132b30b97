//! Reading reports out of a log: the race detector's `WARNING: DATA RACE` blocks and the
//! runtime's `fatal error: concurrent map …` crashes with their goroutine stacks.
//!
//! Logs arrive wrapped: `go test -json` events, a collector's JSON lines (`{"log": …}`), or a
//! prefix on every line (a timestamp, `pod |`). Each event is unwrapped first; a prefix is
//! learned from the line that opens a report (digits may differ from line to line) and
//! stripped from the lines that follow it.

use regex::Regex;
use std::sync::LazyLock;

/// One frame of a stack: the function and where it was executing.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Frame {
    /// The function as the runtime prints it (`main.(*Cache).Put`, arguments removed).
    pub function: String,
    /// The file as the log spells it (a path of the machine that produced the log).
    pub path: String,
    /// The line.
    pub line: u32,
}

/// What kind of report a log holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A `WARNING: DATA RACE` block of the race detector.
    DataRace,
    /// A `fatal error: concurrent map …` crash of the runtime.
    FatalError,
}

/// A goroutine's stack in a report.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Stack {
    /// The goroutine: `goroutine 8`, or `main goroutine` in race reports.
    pub goroutine: String,
    /// What the report says it did: `write`, `read` (race reports), or the goroutine's state
    /// in a crash dump (`running`, `runnable`, …).
    pub header: String,
    /// Whether the race detector reports it as the earlier access (`Previous write`).
    pub previous: bool,
    /// Innermost frame first.
    pub frames: Vec<Frame>,
    /// Where the goroutine was started (`created by` in a crash dump), when the stack says.
    pub created_by: Option<Frame>,
}

/// One report as the log holds it, before its paths are mapped onto the checkout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// A data race or a crash.
    pub kind: Kind,
    /// `concurrent map writes`, … for a crash; `data race` for the race detector.
    pub message: String,
    /// The accesses of a race report (two), or every goroutine of a crash dump, the
    /// crashing one first.
    pub stacks: Vec<Stack>,
    /// Where the race detector says each goroutine was created.
    pub created: Vec<Stack>,
    /// The log line (1-based) that opens the report.
    pub line: usize,
}

const RACE_MARKER: &str = "WARNING: DATA RACE";
const FATAL_MARKER: &str = "fatal error: concurrent map";

static ACCESS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?i)(previous )?((?:atomic )?(?:read|write))(?: at 0x[0-9a-f]+)? by (main goroutine|goroutine \d+):$",
    )
    .expect("valid regex")
});
static CREATED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^Goroutine (\d+) \((?:running|finished)\) created at:$").expect("valid regex")
});
static GOROUTINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^goroutine (\d+)(?: gp=\S+ m=\S+(?: mp=\S+)?)? \[([^\]]*)\]:$")
        .expect("valid regex")
});
static POSITION: LazyLock<Regex> = LazyLock::new(|| {
    // `GOTRACEBACK=system` and `crash` add the frame and stack pointers.
    Regex::new(r"^\s*(\S.*?):(\d+)(?: \+0x[0-9a-f]+)?(?: fp=\S+ sp=\S+ pc=\S+)?$")
        .expect("valid regex")
});
static CREATED_BY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^created by (\S+)(?: in goroutine \d+)?$").expect("valid regex"));

/// Every report in a log, in log order.
pub fn observations(text: &str) -> Vec<Observation> {
    let lines = unwrap_events(text);
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = &lines[i];
        if let Some(at) = line.find(RACE_MARKER) {
            let prefix = Prefix::learn(&line[..at]);
            let (observation, next) = race(&lines, i + 1, &prefix, i + 1);
            out.extend(observation);
            i = next;
        } else if let Some(at) = line.find(FATAL_MARKER) {
            let prefix = Prefix::learn(&line[..at]);
            let message = line[at + "fatal error: ".len()..].trim().to_string();
            let (observation, next) = fatal(&lines, i + 1, &prefix, message, i + 1);
            out.extend(observation);
            i = next;
        } else {
            i += 1;
        }
    }
    out
}

/// The log as lines, with the payload of JSON events (`go test -json`'s `Output`, a
/// collector's `log` or `message`) in place of the event. Partial lines of consecutive
/// events are joined.
fn unwrap_events(text: &str) -> Vec<String> {
    let mut joined = String::with_capacity(text.len());
    for line in text.lines() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        match event_payload(line) {
            Some(payload) => joined.push_str(&payload),
            None => {
                joined.push_str(line);
                joined.push('\n');
            }
        }
    }
    joined.lines().map(str::to_string).collect()
}

fn event_payload(line: &str) -> Option<String> {
    let trimmed = line.trim_start();
    if !trimmed.starts_with('{') {
        return None;
    }
    let start = line.len() - trimmed.len();
    let value: serde_json::Value = serde_json::from_str(trimmed).ok()?;
    let object = value.as_object()?;
    ["Output", "log", "message", "msg"]
        .iter()
        .find_map(|key| object.get(*key).and_then(|v| v.as_str()))
        .map(|payload| {
            let mut payload = format!("{}{payload}", &line[..start]);
            if !object.contains_key("Output") && !payload.ends_with('\n') {
                payload.push('\n');
            }
            payload
        })
}

/// The text a collector put before each line of a report, learned from the line that opens
/// it: digit runs match any digits (timestamps), the rest literally.
struct Prefix(Option<Regex>);

impl Prefix {
    fn learn(prefix: &str) -> Prefix {
        if prefix.trim().is_empty() {
            return Prefix(None);
        }
        let mut pattern = String::from("^");
        let mut chars = prefix.chars().peekable();
        while let Some(c) = chars.next() {
            if c.is_ascii_digit() {
                while chars.peek().is_some_and(char::is_ascii_digit) {
                    chars.next();
                }
                pattern.push_str(r"\d+");
            } else {
                pattern.push_str(&regex::escape(&c.to_string()));
            }
        }
        Prefix(Regex::new(&pattern).ok())
    }

    /// The line without the prefix (unchanged when it does not carry it).
    fn strip<'a>(&self, line: &'a str) -> &'a str {
        match &self.0 {
            Some(re) => re.find(line).map_or(line, |m| &line[m.end()..]),
            None => line,
        }
    }
}

/// Line `i` of a report without the collector's prefix, trimmed; `None` at the end of the
/// log or where the next report begins.
fn report_line<'l>(lines: &'l [String], i: usize, prefix: &Prefix) -> Option<&'l str> {
    let trimmed = prefix.strip(lines.get(i)?).trim();
    let next_report = trimmed.contains(RACE_MARKER) || trimmed.contains(FATAL_MARKER);
    (!next_report).then_some(trimmed)
}

/// Parses a race report from `start` (the line after the marker) to its closing rule, the
/// next report, or the end of the log. Returns the report and where parsing stopped.
fn race(
    lines: &[String],
    start: usize,
    prefix: &Prefix,
    line_number: usize,
) -> (Option<Observation>, usize) {
    let mut stacks: Vec<Stack> = Vec::new();
    let mut created: Vec<Stack> = Vec::new();
    // Which list the frames being read belong to.
    let mut into_created = false;
    let mut i = start;
    while let Some(trimmed) = report_line(lines, i, prefix) {
        i += 1;
        if trimmed.len() >= 10 && trimmed.bytes().all(|b| b == b'=') {
            break;
        }
        if let Some(c) = ACCESS.captures(trimmed) {
            stacks.push(Stack {
                goroutine: c[3].to_string(),
                header: c[2].to_ascii_lowercase(),
                previous: c.get(1).is_some(),
                frames: Vec::new(),
                created_by: None,
            });
            into_created = false;
        } else if let Some(c) = CREATED.captures(trimmed) {
            created.push(Stack {
                goroutine: format!("goroutine {}", &c[1]),
                header: "created".to_string(),
                previous: false,
                frames: Vec::new(),
                created_by: None,
            });
            into_created = true;
        } else if let Some(frame) = frame_at(lines, i - 1, prefix) {
            i += 1;
            let target = if into_created {
                created.last_mut()
            } else {
                stacks.last_mut()
            };
            if let Some(stack) = target {
                stack.frames.push(frame);
            }
        }
    }
    if stacks.is_empty() {
        return (None, i);
    }
    let observation = Observation {
        kind: Kind::DataRace,
        message: "data race".to_string(),
        stacks,
        created,
        line: line_number,
    };
    (Some(observation), i)
}

/// The frame whose function is on line `i` and position on line `i + 1`.
fn frame_at(lines: &[String], i: usize, prefix: &Prefix) -> Option<Frame> {
    let function = function_name(prefix.strip(lines.get(i)?).trim())?;
    let position = POSITION.captures(prefix.strip(lines.get(i + 1)?))?;
    Some(Frame {
        function,
        path: position[1].replace('\\', "/"),
        line: position[2].parse().ok()?,
    })
}

/// `main.(*Cache).Put(0xc000010000, …)` → `main.(*Cache).Put`; `None` for a line that is
/// not a call.
fn function_name(line: &str) -> Option<String> {
    let body = line.strip_suffix(')')?;
    let mut depth = 1usize;
    for (at, c) in body.char_indices().rev() {
        match c {
            ')' => depth += 1,
            '(' => {
                depth -= 1;
                if depth == 0 {
                    let name = &body[..at];
                    let valid = !name.is_empty() && !name.contains(char::is_whitespace);
                    return valid.then(|| name.to_string());
                }
            }
            _ => {}
        }
    }
    None
}

/// Parses the goroutine dump after a `fatal error` line: one stack per goroutine, until a
/// line that belongs to no stack follows the last one.
fn fatal(
    lines: &[String],
    start: usize,
    prefix: &Prefix,
    message: String,
    line_number: usize,
) -> (Option<Observation>, usize) {
    let mut stacks: Vec<Stack> = Vec::new();
    let mut in_stack = false;
    let mut strays = 0;
    let mut i = start;
    while let Some(trimmed) = report_line(lines, i, prefix) {
        i += 1;
        if let Some(c) = GOROUTINE.captures(trimmed) {
            stacks.push(Stack {
                goroutine: format!("goroutine {}", &c[1]),
                header: c[2]
                    .split(',')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_string(),
                previous: false,
                frames: Vec::new(),
                created_by: None,
            });
            in_stack = true;
            continue;
        }
        if trimmed.is_empty() {
            in_stack = false;
            continue;
        }
        if in_stack {
            if let Some(c) = CREATED_BY.captures(trimmed) {
                if let Some(p) = lines
                    .get(i)
                    .and_then(|l| POSITION.captures(prefix.strip(l)))
                {
                    if let (Some(stack), Ok(line)) = (stacks.last_mut(), p[2].parse()) {
                        stack.created_by = Some(Frame {
                            function: c[1].to_string(),
                            path: p[1].replace('\\', "/"),
                            line,
                        });
                    }
                    i += 1;
                }
            } else if let Some(frame) = frame_at(lines, i - 1, prefix) {
                i += 1;
                if let Some(stack) = stacks.last_mut() {
                    stack.frames.push(frame);
                }
            }
            continue;
        }
        // Between stacks: the runtime's own lines (`runtime stack:`, signal lines) come
        // before the first goroutine; anything else after one ends the dump.
        strays += 1;
        if !stacks.is_empty() || strays > 40 {
            i -= 1;
            break;
        }
    }
    if stacks.is_empty() {
        return (None, i);
    }
    let observation = Observation {
        kind: Kind::FatalError,
        message,
        stacks,
        created: Vec::new(),
        line: line_number,
    };
    (Some(observation), i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_names_lose_their_arguments() {
        assert_eq!(
            function_name("main.(*Cache).Put(0xc0000, {0x4e901d?, 0x4b0265?})").as_deref(),
            Some("main.(*Cache).Put")
        );
        assert_eq!(
            function_name("maps.Copy[...](...)").as_deref(),
            Some("maps.Copy[...]")
        );
        assert_eq!(function_name("exit status 2"), None);
    }

    #[test]
    fn system_tracebacks_are_read() {
        let log = "fatal error: concurrent map writes\n\ngoroutine 20 gp=0x28c5 m=0 mp=0x52fa80 [running]:\n\
                   internal/runtime/maps.fatal({0x48180c?, 0x0?})\n\
                   \t/go/src/runtime/panic.go:1195 +0x18 fp=0x28c5733d1f20 sp=0x28c5733d1f00 pc=0x476378\n\
                   main.main.func1()\n\
                   \t/app/main.go:13 +0x70 fp=0x28c5733d1fe0 sp=0x28c5733d1f88 pc=0x47e6f0\n\
                   created by main.main in goroutine 1\n\
                   \t/app/main.go:10 +0x48\n\n\
                   goroutine 1 gp=0x28c5733a01e0 m=nil [sync.WaitGroup.Wait]:\n";
        let found = observations(log);
        assert_eq!(found.len(), 1);
        let stack = &found[0].stacks[0];
        assert_eq!(stack.frames[1].path, "/app/main.go");
        assert_eq!(stack.frames[1].line, 13);
        assert_eq!(stack.created_by.as_ref().map(|f| f.line), Some(10));
        assert_eq!(found[0].stacks[1].header, "sync.WaitGroup.Wait");
    }

    #[test]
    fn prefixes_with_changing_digits_are_stripped() {
        let prefix = Prefix::learn("2026-11-26T10:00:00.123Z stderr F ");
        assert_eq!(
            prefix.strip("2026-11-26T10:00:01.98Z stderr F   main.main()"),
            "  main.main()"
        );
        assert_eq!(prefix.strip("other line"), "other line");
    }

    #[test]
    fn json_events_are_unwrapped_and_partial_lines_joined() {
        let log = "{\"Action\":\"output\",\"Output\":\"fatal error: \"}\n\
                   {\"Action\":\"output\",\"Output\":\"concurrent map writes\\n\"}\n\
                   {\"log\":\"goroutine 1 [running]:\",\"stream\":\"stderr\"}\n";
        assert_eq!(
            unwrap_events(log),
            [
                "fatal error: concurrent map writes",
                "goroutine 1 [running]:"
            ]
        );
    }
}
