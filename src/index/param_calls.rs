//! With which of their own parameters package functions and methods call a function
//! parameter in place (`func apply(c *config, opts ...Option) { for _, opt := range opts {
//! opt(c) } }` calls `opts`' elements with `c`), read from the syntax before bodies are
//! walked: a function handed to such a parameter (`apply(cfg, WithLabel("a", "b"))`, a
//! literal, a variable holding one) runs at the call with its parameters bound to what the
//! caller passed for those (`cfg`), so its accesses land on the caller's storage.

use crate::fields::{Field, FieldExt};
use std::collections::HashMap;

use tree_sitter::Node;

use super::decls::parameter_names;
use super::descendants;
use super::spawning_params::{each_function, parameter_indices, ranged_elements};
use super::ParsedFile;

/// How a function calls its function parameters in place.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParamCalls {
    /// For each parameter called, by index: the parameter each argument of the call is,
    /// by index (`None`: an argument that is no parameter).
    calls: Vec<(usize, Vec<Option<usize>>)>,
    /// The index of a variadic last parameter, which takes every argument from there on.
    variadic: Option<usize>,
}

impl ParamCalls {
    /// For the argument at `index` of a call: the arguments' indices the function passes
    /// to it when it calls it, or `None` if it does not call it in place.
    pub fn passes(&self, index: usize) -> Option<&[Option<usize>]> {
        let param = match self.variadic {
            Some(v) if index >= v => v,
            _ => index,
        };
        self.calls
            .iter()
            .find(|(p, _)| *p == param)
            .map(|(_, args)| args.as_slice())
    }
}

/// The package functions and methods (`Type.method`) that call a function parameter in
/// place with some of their parameters as arguments, by name.
pub fn collect(files: &[ParsedFile<'_>]) -> HashMap<String, ParamCalls> {
    let mut out = HashMap::new();
    each_function(files, |name, params, body, src, _| {
        if let Some(found) = param_calls(params, body, src) {
            out.entry(name.to_string()).or_insert(found);
        }
    });
    out
}

fn param_calls(params: Node<'_>, body: Node<'_>, src: &str) -> Option<ParamCalls> {
    let declared = parameter_names(params, src);
    if declared.len() < 2 {
        return None;
    }
    let text = &src[body.byte_range()];
    // Cheap test before the walk: a parameter is called (`opt(`) or ranged (`range opts`).
    let mentioned = |name: &str| {
        text.match_indices(name).any(|(at, _)| {
            let after = &text[at + name.len()..];
            after.starts_with('(') || text[..at].ends_with("range ")
        })
    };
    if !declared.iter().any(|&(name, _)| mentioned(name)) {
        return None;
    }
    let names = parameter_indices(&declared);
    let nodes = descendants(body);
    // Calls inside a goroutine do not run in place.
    let goroutines: Vec<std::ops::Range<usize>> = nodes
        .iter()
        .filter(|n| n.kind() == "go_statement")
        .map(|n| n.byte_range())
        .collect();
    // `for _, opt := range opts`: `opt` is each of the parameter's functions.
    let elements: HashMap<&str, usize> = ranged_elements(&nodes, src)
        .filter_map(|(value, ranged)| Some((value, *names.get(ranged)?)))
        .collect();
    let mut found = ParamCalls {
        variadic: declared.iter().position(|&(_, v)| v),
        ..ParamCalls::default()
    };
    for call in nodes.iter().filter(|n| n.kind() == "call_expression") {
        if goroutines.iter().any(|g| g.contains(&call.start_byte())) {
            continue;
        }
        let Some(function) = call
            .field(Field::Function)
            .filter(|f| f.kind() == "identifier")
        else {
            continue;
        };
        let text = &src[function.byte_range()];
        let Some(&param) = elements.get(text).or_else(|| names.get(text)) else {
            continue;
        };
        if found.calls.iter().any(|(p, _)| *p == param) {
            continue;
        }
        let Some(args) = call.field(Field::Arguments) else {
            continue;
        };
        let mut c = args.walk();
        let passed: Vec<Option<usize>> = args
            .named_children(&mut c)
            .map(|a| names.get(&src[a.byte_range()]).copied())
            .collect();
        if passed.iter().any(Option::is_some) {
            found.calls.push((param, passed));
        }
    }
    (!found.calls.is_empty()).then_some(found)
}
