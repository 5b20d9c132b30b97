//! Baselines: today's findings recorded by fingerprint, so that a team adopting mapguard on
//! a large code base fails only on new findings.

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::finding::Finding;
use crate::run::Outcome;

/// Bumped on any incompatible change of the file format.
const VERSION: u32 = 1;

/// The findings a baseline accepts, by rule and fingerprint.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    version: u32,
    findings: BTreeSet<Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    rule: String,
    fingerprint: String,
    /// Where it was when recorded; informative only, so that moving code keeps it matched.
    path: String,
}

impl Baseline {
    /// The baseline of a run's active findings.
    pub fn of(outcome: &Outcome) -> Self {
        Baseline {
            version: VERSION,
            findings: outcome
                .active()
                .map(|f| Entry {
                    rule: f.rule.to_string(),
                    fingerprint: f.fingerprint.clone(),
                    path: f.location.path.clone(),
                })
                .collect(),
        }
    }

    /// Reads a baseline file.
    pub fn read(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
        let baseline: Baseline =
            serde_json::from_str(&text).map_err(|e| format!("not a mapguard baseline: {e}"))?;
        if baseline.version != VERSION {
            return Err(format!(
                "baseline version {} is not {VERSION}",
                baseline.version
            ));
        }
        Ok(baseline)
    }

    /// The file's contents.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).expect("a baseline serializes");
        out.push(b'\n');
        out
    }

    /// Whether the baseline accepts a finding.
    pub fn contains(&self, f: &Finding) -> bool {
        self.findings
            .iter()
            .any(|e| e.rule == f.rule && e.fingerprint == f.fingerprint)
    }
}
