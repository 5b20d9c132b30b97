//! mapguard: finds unsynchronized map accesses in Go source code.
//!
//! The pipeline: [`discover`] finds the files ([`constraints`] keeps those the go tool
//! would build), [`parse`] builds syntax trees, [`index`]
//! extracts per-package facts, [`analyze`] runs the rules over them, and [`report`] renders
//! the resulting [`finding::Finding`]s. [`run`] ties the stages together.

pub mod analyze;
pub mod baseline;
pub mod boundaries;
pub mod cache;
pub mod config;
pub mod constraints;
pub mod discover;
pub mod fields;
pub mod finding;
pub mod index;
pub mod modules;
pub mod output;
pub mod parse;
pub mod report;
pub mod revision;
pub mod rules;
pub mod run;
pub mod screen;
pub mod source;
pub mod suppress;
pub mod triage;
