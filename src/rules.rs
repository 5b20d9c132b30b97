//! The rules' documentation, embedded from `rules/*.md`: the single source for
//! `mapguard explain`, `mapguard rules` and the SARIF rule metadata.

use std::sync::LazyLock;

/// One rule's documentation.
#[derive(Debug)]
pub struct RuleDoc {
    /// The id, e.g. `MG001`.
    pub id: &'static str,
    /// The short kebab-case name, e.g. `concurrent-map-write`.
    pub name: &'static str,
    /// The one-line summary.
    pub summary: &'static str,
    /// The text of the "What it finds" section.
    pub what_it_finds: &'static str,
    /// The measured precision, as SARIF names it (`very-high`, `high`, `medium`, `low`):
    /// the first word of the "Precision" section.
    pub precision: &'static str,
    /// The whole document in Markdown.
    pub markdown: &'static str,
}

const SOURCES: &[&str] = &[
    include_str!("../rules/MG001.md"),
    include_str!("../rules/MG002.md"),
    include_str!("../rules/MG003.md"),
    include_str!("../rules/MG004.md"),
    include_str!("../rules/MG005.md"),
    include_str!("../rules/MG006.md"),
    include_str!("../rules/MG007.md"),
    include_str!("../rules/MG900.md"),
];

static RULES: LazyLock<Vec<RuleDoc>> = LazyLock::new(|| SOURCES.iter().map(|s| parse(s)).collect());

/// Every rule, by id.
pub fn all() -> &'static [RuleDoc] {
    &RULES
}

/// The rule with this id or name (case-insensitive): `MG001`, `concurrent-map-write`.
pub fn get(id: &str) -> Option<&'static RuleDoc> {
    all()
        .iter()
        .find(|r| r.id.eq_ignore_ascii_case(id) || r.name.eq_ignore_ascii_case(id))
}

/// Parses `# ID: name`, the summary paragraph, and the sections.
fn parse(markdown: &'static str) -> RuleDoc {
    let title = markdown.lines().next().unwrap_or_default();
    let (id, name) = title
        .trim_start_matches("# ")
        .split_once(": ")
        .expect("a rule doc starts with `# ID: name`");
    let summary = markdown
        .split("\n\n")
        .nth(1)
        .expect("a rule doc has a summary paragraph")
        .trim();
    RuleDoc {
        id,
        name,
        summary,
        what_it_finds: section(markdown, "What it finds"),
        precision: section(markdown, "Precision")
            .split(':')
            .next()
            .unwrap_or_default(),
        markdown,
    }
}

/// The text of a `## heading` section, without the heading.
fn section(markdown: &'static str, heading: &str) -> &'static str {
    let marker = format!("\n## {heading}\n");
    let Some(start) = markdown.find(&marker).map(|i| i + marker.len()) else {
        return "";
    };
    let rest = &markdown[start..];
    rest[..rest.find("\n## ").unwrap_or(rest.len())].trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_doc_has_the_required_sections() {
        for rule in all() {
            for heading in [
                "What it finds",
                "Why it matters",
                "Example",
                "Fix",
                "Precision",
                "Known limits",
            ] {
                assert!(
                    !section(rule.markdown, heading).is_empty(),
                    "{} lacks section {heading}",
                    rule.id
                );
            }
            assert!(rule.id.starts_with("MG"));
            assert!(!rule.summary.is_empty());
            assert!(
                ["very-high", "high", "medium", "low"].contains(&rule.precision),
                "{}: precision {:?}",
                rule.id,
                rule.precision
            );
        }
    }

    #[test]
    fn the_readme_table_matches_the_rule_docs() {
        let readme = include_str!("../README.md");
        for rule in all() {
            let row = format!(
                "| [{id}](rules/{id}.md) | {} | {} |",
                rule.name,
                rule.summary,
                id = rule.id
            );
            assert!(readme.contains(&row), "README lacks the row: {row}");
        }
    }

    #[test]
    fn ids_are_unique_and_sorted() {
        let ids: Vec<_> = all().iter().map(|r| r.id).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(ids, sorted);
    }
}
