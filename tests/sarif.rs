//! The SARIF report validates against the SARIF 2.1.0 JSON schema and carries what code
//! scanning needs.

use mapguard::report::{render, Format, ReportOptions};
use mapguard::run::{check, Options};

fn sarif_for(path: &str) -> serde_json::Value {
    let outcome = check(&[path.to_string()], &Options::default()).unwrap();
    serde_json::from_slice(&render(&outcome, Format::Sarif, &ReportOptions::default())).unwrap()
}

#[test]
fn fixtures_sarif_is_valid_sarif_2_1_0() {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("data/sarif-schema-2.1.0.json")).unwrap();
    let validator = jsonschema::draft7::new(&schema).expect("the schema compiles");
    let sarif = sarif_for("fixtures/...");
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    assert_eq!(sarif["version"], "2.1.0");
}

#[test]
fn results_carry_rules_locations_and_related_locations() {
    let sarif = sarif_for("fixtures/loop_counter");
    let run = &sarif["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules[0]["id"], "MG001");
    assert_eq!(rules[0]["name"], "concurrent-map-write");
    // The rule's documentation at this version's tag, which the repository holds.
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        rules[0]["helpUri"],
        format!("https://github.com/mapguard/mapguard/blob/v{version}/rules/MG001.md")
    );
    assert!(std::path::Path::new("rules/MG001.md").is_file());
    assert_eq!(run["tool"]["driver"]["semanticVersion"], version);
    assert!(rules[0]["help"]["markdown"]
        .as_str()
        .unwrap()
        .contains("## Why it matters"));
    let result = &run["results"][0];
    assert_eq!(result["ruleId"], "MG001");
    assert_eq!(result["ruleIndex"], 0);
    assert_eq!(result["level"], "error");
    let loc = &result["locations"][0]["physicalLocation"];
    assert_eq!(
        loc["artifactLocation"]["uri"],
        "fixtures/loop_counter/main.go"
    );
    assert_eq!(loc["artifactLocation"]["uriBaseId"], "%SRCROOT%");
    assert_eq!(loc["region"]["startLine"], 17);
    assert_eq!(loc["region"]["startColumn"], 4);
    let related = result["relatedLocations"].as_array().unwrap();
    assert!(related.iter().any(|r| r["message"]["text"]
        .as_str()
        .unwrap()
        .contains("goroutine started here")));
    assert!(run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
        .as_str()
        .unwrap()
        .starts_with("file:///"));
}

#[test]
fn line_hashes_survive_edits_above_and_change_with_the_line() {
    let tmp = tempfile::tempdir().unwrap();
    let original = std::fs::read_to_string("fixtures/loop_counter/main.go").unwrap();
    let hash_of = |text: &str| {
        std::fs::write(tmp.path().join("main.go"), text).unwrap();
        let sarif = sarif_for(&tmp.path().display().to_string());
        let result = &sarif["runs"][0]["results"][0];
        result["partialFingerprints"]["primaryLocationLineHash"]
            .as_str()
            .expect("every result has a line hash")
            .to_string()
    };
    let before = hash_of(&original);
    assert!(
        regex::Regex::new("^[0-9a-f]{1,16}:[1-9][0-9]*$")
            .unwrap()
            .is_match(&before),
        "{before}"
    );
    let moved = original.replacen("package main", "// A comment.\n\npackage main", 1);
    assert_eq!(hash_of(&moved), before);
    let racy_line = original
        .lines()
        .find(|l| l.contains("// want"))
        .expect("the fixture marks its finding");
    let edited = original.replacen(racy_line, &format!("{racy_line} // edited"), 1);
    assert_ne!(hash_of(&edited), before);
}

#[test]
fn rule_precision_follows_the_rule_docs() {
    let sarif = sarif_for("fixtures/loop_counter");
    let rules = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    for rule in rules {
        let id = rule["id"].as_str().unwrap();
        let doc = mapguard::rules::get(id).unwrap();
        assert_eq!(rule["properties"]["precision"], doc.precision, "{id}");
    }
    let precision =
        |id: &str| rules.iter().find(|r| r["id"] == id).unwrap()["properties"]["precision"].clone();
    assert_eq!(precision("MG900"), "very-high");
    assert_eq!(precision("MG003"), "low");
    assert_eq!(precision("MG001"), "low");
}
