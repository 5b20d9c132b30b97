//! SARIF 2.1.0 through serde_sarif, as GitHub code scanning ingests it.

use std::collections::BTreeMap;

use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use serde_sarif::sarif::{
    ArtifactLocation, CodeFlow, Invocation, Location as SarifLocation, Message,
    MultiformatMessageString, Notification, PhysicalLocation, PropertyBag, Region,
    ReportingConfiguration, ReportingDescriptor, Result as SarifResult, ResultLevel, Run,
    RunAutomationDetails, Sarif, Suppression, ThreadFlow, ThreadFlowLocation, Tool, ToolComponent,
};

use super::line_hash::line_hashes;
use crate::finding::{Finding, Level, Location, Role};
use crate::rules;
use crate::run::Outcome;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
const INFORMATION_URI: &str = "https://github.com/mapguard/mapguard";
const SRCROOT: &str = "%SRCROOT%";

/// Characters escaped in a URI path segment (RFC 3986: everything but unreserved and
/// sub-delims; `/` separates segments and stays).
const PATH: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// The whole outcome as one SARIF log with a single run; `category` distinguishes runs of
/// one tool on one repository in code scanning (`automationDetails.id`).
pub fn render(outcome: &Outcome, category: Option<&str>) -> Vec<u8> {
    let line_hashes: BTreeMap<&str, Vec<String>> = outcome
        .sources
        .iter()
        .map(|(path, source)| (path.as_str(), line_hashes(&source.text)))
        .collect();
    let results: Vec<SarifResult> = outcome
        .findings
        .iter()
        .map(|f| {
            let line_hash = line_hashes
                .get(f.location.path.as_str())
                .and_then(|h| h.get(f.location.start.line as usize - 1));
            result(f, line_hash)
        })
        .collect();
    let notifications: Vec<Notification> = outcome
        .warnings
        .iter()
        .map(|w| {
            let mut region = Region::builder().build();
            if let Some(p) = w.position {
                region.start_line = Some(p.line.into());
                region.start_column = Some(p.column.into());
            }
            Notification::builder()
                .message(text(&format!("{}: {}", w.path, w.message)))
                .level(serde_json::json!("warning"))
                .locations(vec![SarifLocation::builder()
                    .physical_location(
                        PhysicalLocation::builder()
                            .artifact_location(artifact(&w.path))
                            .region(region)
                            .build(),
                    )
                    .build()])
                .build()
        })
        .collect();
    write_log(results, notifications, category)
}

/// A SARIF log of one mapguard run with these results and tool notifications.
pub(crate) fn write_log(
    results: Vec<SarifResult>,
    notifications: Vec<Notification>,
    category: Option<&str>,
) -> Vec<u8> {
    let rules: Vec<ReportingDescriptor> = rules::all().iter().map(rule).collect();
    let mut invocation = Invocation::builder().execution_successful(true).build();
    if !notifications.is_empty() {
        invocation.tool_execution_notifications = Some(notifications);
    }
    let mut base_ids = BTreeMap::new();
    if let Ok(cwd) = std::env::current_dir() {
        let mut uri = file_uri(&cwd.to_string_lossy());
        if !uri.ends_with('/') {
            uri.push('/');
        }
        base_ids.insert(
            SRCROOT.to_string(),
            ArtifactLocation::builder().uri(uri).build(),
        );
    }
    let driver = ToolComponent::builder()
        .name("mapguard")
        .version(env!("CARGO_PKG_VERSION"))
        .semantic_version(env!("CARGO_PKG_VERSION"))
        .information_uri(INFORMATION_URI)
        .rules(rules)
        .build();
    let mut run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .results(results)
        .invocations(vec![invocation])
        .original_uri_base_ids(base_ids)
        .column_kind(serde_json::json!("unicodeCodePoints"))
        .build();
    if let Some(category) = category {
        run.automation_details = Some(RunAutomationDetails::builder().id(category).build());
    }
    let log = Sarif::builder()
        .schema(SCHEMA)
        .version(serde_json::json!("2.1.0"))
        .runs(vec![run])
        .build();
    let mut out = serde_json::to_vec_pretty(&log).expect("the SARIF log serializes");
    out.push(b'\n');
    out
}

/// A plain-text message.
pub(crate) fn text(s: &str) -> Message {
    Message::builder().text(s).build()
}

fn rule(doc: &rules::RuleDoc) -> ReportingDescriptor {
    let mut properties = PropertyBag::builder()
        .tags(vec!["concurrency".to_string(), "correctness".to_string()])
        .build();
    properties
        .additional_properties
        .insert("precision".into(), doc.precision.into());
    properties
        .additional_properties
        .insert("problem.severity".into(), "error".into());
    ReportingDescriptor::builder()
        .id(doc.id)
        .name(doc.name)
        .short_description(
            MultiformatMessageString::builder()
                .text(doc.summary)
                .build(),
        )
        .full_description(
            MultiformatMessageString::builder()
                .text(doc.what_it_finds)
                .build(),
        )
        .help(
            MultiformatMessageString::builder()
                .text(doc.markdown)
                .markdown(doc.markdown)
                .build(),
        )
        .help_uri(format!(
            "{INFORMATION_URI}/blob/v{}/rules/{}.md",
            env!("CARGO_PKG_VERSION"),
            doc.id
        ))
        .default_configuration(
            ReportingConfiguration::builder()
                .level(serde_json::json!("error"))
                .build(),
        )
        .properties(properties)
        .build()
}

/// One result; `line_hash` is the primary line's `primaryLocationLineHash`.
fn result(f: &Finding, line_hash: Option<&String>) -> SarifResult {
    let related: Vec<SarifLocation> = f
        .related
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut loc = location(&r.location);
            loc.id = Some(i as i64 + 1);
            loc.message = Some(text(&r.message));
            loc
        })
        .collect();
    // Link the related locations from the message, as `[text](id)`.
    let links: Vec<String> = f
        .related
        .iter()
        .enumerate()
        .map(|(i, r)| format!("[{}]({})", role_words(r.role), i + 1))
        .collect();
    let message = if links.is_empty() {
        f.message.clone()
    } else {
        format!("{} (see {}).", f.message, links.join(", "))
    };
    let rule_index = rules::all().iter().position(|r| r.id == f.rule);
    let mut properties = PropertyBag::builder().build();
    properties
        .additional_properties
        .insert("confidence".into(), f.confidence.as_str().into());
    if let Some(origin) = &f.confirmed {
        properties
            .additional_properties
            .insert("confirmedBy".into(), origin.as_str().into());
        properties.tags = Some(vec!["confirmed".to_string()]);
    }
    let mut result = SarifResult::builder()
        .rule_id(f.rule)
        .level(level(f.level))
        .message(text(&message))
        .locations(vec![location(&f.location)])
        .code_flows(vec![code_flow(f)])
        .partial_fingerprints(
            std::iter::once(("mapguardFingerprint/v1".to_string(), f.fingerprint.clone()))
                .chain(line_hash.map(|h| ("primaryLocationLineHash".to_string(), h.clone())))
                .collect::<BTreeMap<_, _>>(),
        )
        .properties(properties)
        .build();
    result.rule_index = rule_index.map(|i| i as i64);
    if !related.is_empty() {
        result.related_locations = Some(related);
    }
    if let Some(reason) = &f.suppressed {
        let mut suppression = Suppression::builder()
            .kind(serde_json::json!("inSource"))
            .build();
        if !reason.is_empty() {
            suppression.justification = Some(reason.clone());
        }
        result.suppressions = Some(vec![suppression]);
    }
    result
}

fn level(level: Level) -> ResultLevel {
    match level {
        Level::Error => ResultLevel::Error,
        Level::Warning => ResultLevel::Warning,
        Level::Note => ResultLevel::Note,
    }
}

fn role_words(role: Role) -> &'static str {
    match role {
        Role::ConflictingAccess => "conflicting access",
        Role::SpawnSite => "goroutine start",
        Role::CallSite => "call",
        Role::LockSite => "lock",
        Role::LoadSite => "load",
        Role::ReturnSite => "return",
    }
}

/// One thread flow from the goroutine's start through the calls to the access.
fn code_flow(f: &Finding) -> CodeFlow {
    let step = |l: &Location, message: &str| {
        let mut loc = location(l);
        loc.message = Some(text(message));
        ThreadFlowLocation::builder().location(loc).build()
    };
    let mut steps: Vec<ThreadFlowLocation> = [
        Role::SpawnSite,
        Role::LoadSite,
        Role::LockSite,
        Role::CallSite,
        Role::ReturnSite,
    ]
    .iter()
    .flat_map(|role| f.related.iter().filter(move |r| r.role == *role))
    .map(|r| step(&r.location, &r.message))
    .collect();
    steps.push(step(&f.location, &f.label));
    CodeFlow::builder()
        .thread_flows(vec![ThreadFlow::builder().locations(steps).build()])
        .build()
}

/// A physical location of a span.
pub(crate) fn location(l: &Location) -> SarifLocation {
    let region = Region::builder()
        .start_line(i64::from(l.start.line))
        .start_column(i64::from(l.start.column))
        .end_line(i64::from(l.end.line))
        .end_column(i64::from(l.end.column))
        .build();
    SarifLocation::builder()
        .physical_location(
            PhysicalLocation::builder()
                .artifact_location(artifact(&l.path))
                .region(region)
                .build(),
        )
        .build()
}

/// A relative path is resolved against `%SRCROOT%`; an absolute one becomes a `file:` URI.
fn artifact(path: &str) -> ArtifactLocation {
    if path.starts_with('/') {
        ArtifactLocation::builder().uri(file_uri(path)).build()
    } else {
        ArtifactLocation::builder()
            .uri(utf8_percent_encode(path, PATH).to_string())
            .uri_base_id(SRCROOT)
            .build()
    }
}

fn file_uri(absolute: &str) -> String {
    format!("file://{}", utf8_percent_encode(absolute, PATH))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_percent_encoded() {
        let a = artifact("dir with space/naïve.go");
        assert_eq!(a.uri.as_deref(), Some("dir%20with%20space/na%C3%AFve.go"));
        assert_eq!(a.uri_base_id.as_deref(), Some(SRCROOT));
        assert_eq!(
            artifact("/tmp/x#y.go").uri.as_deref(),
            Some("file:///tmp/x%23y.go")
        );
    }
}
