//! SARIF 2.1.0 through serde_sarif, as GitHub code scanning ingests it.

use std::collections::BTreeMap;

use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use serde_sarif::sarif::{
    ArtifactLocation, Invocation, Location as SarifLocation, Message, MultiformatMessageString,
    Notification, PhysicalLocation, PropertyBag, Region, ReportingConfiguration,
    ReportingDescriptor, Result as SarifResult, ResultLevel, Run, Sarif, Tool, ToolComponent,
};

use crate::finding::{Finding, Location};
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

/// The whole outcome as one SARIF log with a single run.
pub fn render(outcome: &Outcome) -> Vec<u8> {
    let rules: Vec<ReportingDescriptor> = rules::all().iter().map(rule).collect();
    let results: Vec<SarifResult> = outcome.findings.iter().map(result).collect();
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
    let run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .results(results)
        .invocations(vec![invocation])
        .original_uri_base_ids(base_ids)
        .column_kind(serde_json::json!("unicodeCodePoints"))
        .build();
    let log = Sarif::builder()
        .schema(SCHEMA)
        .version(serde_json::json!("2.1.0"))
        .runs(vec![run])
        .build();
    let mut out = serde_json::to_vec_pretty(&log).expect("the SARIF log serializes");
    out.push(b'\n');
    out
}

fn text(s: &str) -> Message {
    Message::builder().text(s).build()
}

fn rule(doc: &rules::RuleDoc) -> ReportingDescriptor {
    let mut properties = PropertyBag::builder()
        .tags(vec!["concurrency".to_string(), "correctness".to_string()])
        .build();
    properties
        .additional_properties
        .insert("precision".into(), "high".into());
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
        .help_uri(format!("{INFORMATION_URI}/blob/main/rules/{}.md", doc.id))
        .default_configuration(
            ReportingConfiguration::builder()
                .level(serde_json::json!("error"))
                .build(),
        )
        .properties(properties)
        .build()
}

fn result(f: &Finding) -> SarifResult {
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
    let rule_index = rules::all().iter().position(|r| r.id == f.rule);
    let mut result = SarifResult::builder()
        .rule_id(f.rule)
        .level(ResultLevel::Error)
        .message(text(&f.message))
        .locations(vec![location(&f.location)])
        .build();
    result.rule_index = rule_index.map(|i| i as i64);
    if !related.is_empty() {
        result.related_locations = Some(related);
    }
    result
}

fn location(l: &Location) -> SarifLocation {
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
