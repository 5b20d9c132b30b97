//! The triage report as SARIF: each race in the checkout is a result of rule `MG900`
//! (`observed-map-race`) with one thread flow per goroutine (its stack, outermost frame
//! first) and the matching static finding as a related location; races outside the
//! checkout are tool notifications.

use std::collections::BTreeMap;

use serde_sarif::sarif::{
    CodeFlow, Location as SarifLocation, Notification, PropertyBag, Result as SarifResult,
    ResultLevel, ThreadFlow, ThreadFlowLocation,
};

use super::{observed_finding, sides, Report, Sources};
use crate::report::sarif::{location, text, write_log};
use crate::rules;

/// The SARIF log of the reports.
pub fn render(reports: &[Report], sources: &Sources, category: Option<&str>) -> Vec<u8> {
    let mut results = Vec::new();
    let mut notifications = Vec::new();
    for report in reports {
        match observed_finding(report, sources) {
            Some(finding) => results.push(result(report, &finding, sources)),
            None => notifications.push(
                Notification::builder()
                    .message(text(&format!(
                        "{}: {} outside the checkout: {}",
                        report.origin,
                        report.message,
                        sides(report)
                    )))
                    .level(serde_json::json!("warning"))
                    .build(),
            ),
        }
    }
    write_log(results, notifications, category)
}

fn result(report: &Report, finding: &crate::finding::Finding, sources: &Sources) -> SarifResult {
    let mut related: Vec<SarifLocation> = finding
        .related
        .iter()
        .map(|r| {
            let mut loc = location(&r.location);
            loc.message = Some(text(&r.message));
            loc
        })
        .collect();
    let mut properties = PropertyBag::builder().build();
    let extra = &mut properties.additional_properties;
    extra.insert("count".into(), report.count.into());
    extra.insert("origin".into(), report.origin.as_str().into());
    if let Some(found) = &report.finding {
        let mut loc = location(&found.location);
        loc.message = Some(text(&format!(
            "mapguard's static finding {}: {}",
            found.rule, found.message
        )));
        related.push(loc);
        extra.insert(
            "staticFinding".into(),
            serde_json::json!({"rule": found.rule, "fingerprint": found.fingerprint}),
        );
        properties.tags = Some(vec!["confirmed".to_string()]);
    }
    for (i, loc) in related.iter_mut().enumerate() {
        loc.id = Some(i as i64 + 1);
    }
    let flows: Vec<ThreadFlow> = report
        .accesses
        .iter()
        .map(|a| {
            let steps = a
                .frames
                .iter()
                .rev()
                .map(|(frame, site)| {
                    let words = format!("{} ({}:{})", frame.function, frame.path, frame.line);
                    let local = site.as_ref().and_then(|s| {
                        let (file, _) = sources.files.get(&s.path)?.as_ref()?;
                        super::line_location(file, s.line)
                    });
                    let mut loc = match local {
                        Some(l) => location(&l),
                        None => SarifLocation::builder().build(),
                    };
                    loc.message = Some(text(&words));
                    ThreadFlowLocation::builder().location(loc).build()
                })
                .collect::<Vec<_>>();
            ThreadFlow::builder()
                .id(a.goroutine.clone())
                .message(text(&super::access_words(a)))
                .locations(steps)
                .build()
        })
        .filter(|flow: &ThreadFlow| !flow.locations.is_empty())
        .collect();
    let mut result = SarifResult::builder()
        .rule_id("MG900")
        .level(ResultLevel::Error)
        .message(text(&finding.message))
        .locations(vec![location(&finding.location)])
        .partial_fingerprints(BTreeMap::from([(
            "mapguardObservedRace/v1".to_string(),
            format!("{}:{}", finding.map, race_key(report)),
        )]))
        .properties(properties)
        .build();
    result.rule_index = rules::all()
        .iter()
        .position(|r| r.id == "MG900")
        .map(|i| i as i64);
    if !flows.is_empty() {
        result.code_flows = Some(vec![CodeFlow::builder().thread_flows(flows).build()]);
    }
    if !related.is_empty() {
        result.related_locations = Some(related);
    }
    result
}

/// A key of the race that survives unrelated edits: its accesses' functions and operations.
fn race_key(report: &Report) -> String {
    let mut parts: Vec<String> = report
        .accesses
        .iter()
        .map(|a| format!("{}/{}", a.function, a.op))
        .collect();
    parts.sort();
    parts.join(",")
}
