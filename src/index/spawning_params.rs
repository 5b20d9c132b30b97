//! Which package functions and methods run a function parameter on another goroutine
//! (`func parallel(fns ...func()) { for _, f := range fns { go func() { f() }() } }`), read
//! from the syntax before bodies are walked: a call passing function literals to such a
//! parameter starts goroutines, instead of running the literals in place. Also which
//! package functions signal a WaitGroup parameter when they return (`defer wg.Done()`), for
//! the literals a goroutine running them calls.

use crate::fields::{Field, FieldExt};
use std::collections::HashMap;

use tree_sitter::Node;

use super::decls::{parameter_names, receiver_type_name};
use super::{descendants, ParsedFile};

/// How a function runs its function parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpawningParams {
    /// The parameters run on other goroutines, by index.
    params: Vec<usize>,
    /// The index of a variadic last parameter, which takes every argument from there on.
    variadic: Option<usize>,
    /// Whether a parameter itself (not each element of a list of functions) is started in
    /// a loop: many goroutines of one function at once.
    pub repeated: bool,
    /// Whether the function calls `Wait()` outside its goroutines: it returns after them.
    pub waits: bool,
    /// The field of a method's receiver its goroutines signal as they end, after running
    /// the parameter (`s.grWG` of `go func() { defer s.grWG.Done(); f() }()`), as a path.
    pub done_field: Option<Vec<String>>,
}

impl SpawningParams {
    /// Whether the argument at `index` is run on another goroutine.
    pub fn runs(&self, index: usize) -> bool {
        let param = match self.variadic {
            Some(v) if index >= v => v,
            _ => index,
        };
        self.params.contains(&param)
    }
}

/// Calls `f` with the name, parameter list, body and source of every function declared
/// in `files`, and of every method, named `Type.method` (no function name has a dot).
pub(super) fn each_function<'t>(
    files: &'t [ParsedFile<'_>],
    mut f: impl FnMut(&str, Node<'t>, Node<'t>, &'t str, Option<&'t str>),
) {
    for file in files {
        let src = file.source.text.as_str();
        let root = file.tree.root_node();
        let mut cursor = root.walk();
        for decl in root.named_children(&mut cursor) {
            let name = match decl.kind() {
                "function_declaration" => decl
                    .field(Field::Name)
                    .map(|n| src[n.byte_range()].to_string()),
                "method_declaration" => receiver_type_name(decl, src).and_then(|ty| {
                    let method = decl.field(Field::Name)?;
                    Some(format!("{ty}.{}", &src[method.byte_range()]))
                }),
                _ => None,
            };
            if let (Some(name), Some(body), Some(params)) =
                (name, decl.field(Field::Body), decl.field(Field::Parameters))
            {
                f(&name, params, body, src, receiver_name(decl, src));
            }
        }
    }
}

/// How many levels of functions handing a parameter on to a spawning function are followed.
const MAX_FORWARDING: usize = 4;

/// The package functions that run a parameter on another goroutine, by name: with a `go`
/// statement, or by handing it on to such a function (`forEach(items, fn)` calling
/// `parallel(n, func(w int) { … fn(items[i]) … })`), a few levels deep.
pub fn collect(files: &[ParsedFile<'_>]) -> HashMap<String, SpawningParams> {
    let mut out = HashMap::new();
    each_function(files, |name, params, body, src, receiver| {
        if let Some(found) = spawning(params, body, src, receiver) {
            out.entry(name.to_string()).or_insert(found);
        }
    });
    for _ in 0..MAX_FORWARDING {
        let mut added = Vec::new();
        each_function(files, |name, params, body, src, _| {
            if !out.contains_key(name) {
                if let Some(found) = forwarding(params, body, src, &out) {
                    added.push((name.to_string(), found));
                }
            }
        });
        if added.is_empty() {
            break;
        }
        for (name, found) in added {
            out.entry(name).or_insert(found);
        }
    }
    out
}

/// A function that hands a function parameter to a parameter `known` runs on goroutines:
/// the parameter itself, or a literal calling it.
fn forwarding(
    params: Node<'_>,
    body: Node<'_>,
    src: &str,
    known: &HashMap<String, SpawningParams>,
) -> Option<SpawningParams> {
    let text = &src[body.byte_range()];
    // Cheap test first: most functions call none of them.
    if !known.keys().any(|k| {
        memchr::memmem::find_iter(text.as_bytes(), k.as_bytes())
            .any(|i| text.as_bytes().get(i + k.len()) == Some(&b'('))
    }) {
        return None;
    }
    let declared = parameter_names(params, src);
    let names = parameter_indices(&declared);
    let mut found = SpawningParams {
        variadic: declared.iter().position(|&(_, v)| v),
        waits: true,
        ..SpawningParams::default()
    };
    for call in descendants(body)
        .into_iter()
        .filter(|n| n.kind() == "call_expression")
    {
        let Some(callee) = call
            .field(Field::Function)
            .filter(|f| f.kind() == "identifier")
            .and_then(|f| known.get(&src[f.byte_range()]))
        else {
            continue;
        };
        let Some(args) = call.field(Field::Arguments) else {
            continue;
        };
        let mut cursor = args.walk();
        let mut started = Vec::new();
        for (i, arg) in args.named_children(&mut cursor).enumerate() {
            if !callee.runs(i) {
                continue;
            }
            match arg.kind() {
                "identifier" => started.extend(names.get(&src[arg.byte_range()]).copied()),
                "func_literal" => started.extend(descendants(arg).into_iter().filter_map(|n| {
                    let f = n
                        .field(Field::Function)
                        .filter(|f| n.kind() == "call_expression" && f.kind() == "identifier")?;
                    names.get(&src[f.byte_range()]).copied()
                })),
                _ => {}
            }
        }
        if started.is_empty() {
            continue;
        }
        found.repeated |= callee.repeated || inside_loop(call, body);
        found.waits &= callee.waits;
        found.params.extend(started);
    }
    if found.params.is_empty() {
        return None;
    }
    found.params.sort_unstable();
    found.params.dedup();
    Some(found)
}

/// The package functions that signal a parameter when they return, by name, with the
/// parameter's index: `defer wg.Done()` in their outermost block, or `wg.Done()` as its last
/// statement. What the function runs before that (a function literal it is handed) happens
/// before the signal.
pub fn done_params(files: &[ParsedFile<'_>]) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    each_function(files, |name, params, body, src, _| {
        let names = parameter_names(params, src);
        let done = done_operand(body, src).and_then(|operand| {
            names
                .iter()
                .position(|&(n, _)| n == &src[operand.byte_range()])
        });
        if let Some(index) = done {
            out.entry(name.to_string()).or_insert(index);
        }
    });
    out
}

fn spawning(
    params: Node<'_>,
    body: Node<'_>,
    src: &str,
    receiver: Option<&str>,
) -> Option<SpawningParams> {
    // Cheap test first: most functions start no goroutine.
    if !has_go_keyword(&src[body.byte_range()]) {
        return None;
    }
    // Names standing for a function parameter: the parameter itself, or (`true`) each
    // element of a parameter that lists functions.
    let declared = parameter_names(params, src);
    let variadic = declared.iter().position(|&(_, v)| v);
    let mut names: HashMap<&str, (usize, bool)> = declared
        .iter()
        .enumerate()
        .filter(|(_, (n, _))| *n != "_")
        .map(|(i, &(n, element))| (n, (i, element)))
        .collect();
    if names.is_empty() {
        return None;
    }
    let nodes = descendants(body);
    // `for _, f := range fns`: `f` is each of the parameter's functions.
    let elements: Vec<(&str, usize)> = ranged_elements(&nodes, src)
        .filter_map(|(value, ranged)| Some((value, names.get(ranged)?.0)))
        .collect();
    for (value, i) in elements {
        names.insert(value, (i, true));
    }
    let mut found = SpawningParams {
        variadic,
        ..SpawningParams::default()
    };
    for go in nodes.iter().filter(|n| n.kind() == "go_statement") {
        let Some(call) = go.named_child(0) else {
            continue;
        };
        let Some(function) = call.field(Field::Function) else {
            continue;
        };
        let mut started = Vec::new();
        match function.kind() {
            "identifier" => started.extend(names.get(&src[function.byte_range()]).copied()),
            "func_literal" => {
                // Inside the goroutine, calls of the parameter (or of the literal's own
                // parameter bound to it: `go func(f func()) { f() }(f)`).
                let mut inner = names.clone();
                if let (Some(list), Some(args)) = (
                    function.field(Field::Parameters),
                    call.field(Field::Arguments),
                ) {
                    let mut c = args.walk();
                    let params = parameter_names(list, src);
                    for (&(p, _), a) in params.iter().zip(args.named_children(&mut c)) {
                        if let Some(&param) = names.get(&src[a.byte_range()]) {
                            inner.insert(p, param);
                        }
                    }
                }
                for n in descendants(function) {
                    let callee = n
                        .field(Field::Function)
                        .filter(|f| n.kind() == "call_expression" && f.kind() == "identifier");
                    started.extend(callee.and_then(|f| inner.get(&src[f.byte_range()]).copied()));
                }
            }
            _ => {}
        }
        if !started.is_empty() && function.kind() == "func_literal" {
            found.done_field = found
                .done_field
                .or_else(|| done_field(function, src, receiver?));
        }
        if started.iter().any(|&(_, element)| !element) && inside_loop(*go, body) {
            found.repeated = true;
        }
        found.params.extend(started.iter().map(|&(i, _)| i));
    }
    if found.params.is_empty() {
        return None;
    }
    found.params.sort_unstable();
    found.params.dedup();
    // `wg.Wait()` in the function itself, not in one of its goroutines.
    found.waits = nodes.iter().any(|n| {
        n.kind() == "call_expression"
            && n.field(Field::Function).is_some_and(|f| {
                f.kind() == "selector_expression"
                    && f.field(Field::Field)
                        .is_some_and(|m| &src[m.byte_range()] == "Wait")
            })
            && !inside_goroutine(*n, body)
    });
    Some(found)
}

/// A function's parameter names (not `_`) and their indices.
pub(super) fn parameter_indices<'s>(declared: &[(&'s str, bool)]) -> HashMap<&'s str, usize> {
    declared
        .iter()
        .enumerate()
        .filter(|(_, (n, _))| *n != "_")
        .map(|(i, &(n, _))| (n, i))
        .collect()
}

/// For each `for _, v := range xs` among `nodes`: the value variable and what it ranges
/// over, as text (`("v", "xs")`).
pub(super) fn ranged_elements<'t>(
    nodes: &'t [Node<'t>],
    src: &'t str,
) -> impl Iterator<Item = (&'t str, &'t str)> {
    nodes
        .iter()
        .filter(|n| n.kind() == "range_clause")
        .filter_map(move |node| {
            let left = node.field(Field::Left)?;
            let right = node.field(Field::Right)?;
            let mut c = left.walk();
            let value = left.named_children(&mut c).last()?;
            Some((&src[value.byte_range()], &src[right.byte_range()]))
        })
}

/// What a block signals as it ends: the operand of `defer wg.Done()` in its outermost
/// statements, or of `wg.Done()` as its last statement.
fn done_operand<'t>(block: Node<'t>, src: &str) -> Option<Node<'t>> {
    // The block's statements (in a `statement_list` in this grammar).
    let list = block
        .named_child(0)
        .filter(|n| n.kind() == "statement_list")
        .unwrap_or(block);
    let mut cursor = list.walk();
    let statements: Vec<Node<'t>> = list.named_children(&mut cursor).collect();
    let last = statements.last().map(|n| n.id());
    statements.iter().find_map(|stmt| {
        let call = match stmt.kind() {
            "defer_statement" => stmt.named_child(0),
            "expression_statement" if Some(stmt.id()) == last => stmt.named_child(0),
            _ => None,
        }
        .filter(|c| c.kind() == "call_expression")?;
        let function = call.field(Field::Function)?;
        let field = function.field(Field::Field)?;
        (&src[field.byte_range()] == "Done")
            .then(|| function.field(Field::Operand))
            .flatten()
    })
}

/// The receiver field a goroutine's literal signals as it ends: `s.grWG` of `defer
/// s.grWG.Done()`, as a path.
fn done_field(literal: Node<'_>, src: &str, receiver: &str) -> Option<Vec<String>> {
    let mut operand = done_operand(literal.field(Field::Body)?, src)?;
    let mut path = Vec::new();
    while operand.kind() == "selector_expression" {
        path.push(src[operand.field(Field::Field)?.byte_range()].to_string());
        operand = operand.field(Field::Operand)?;
    }
    path.reverse();
    (operand.kind() == "identifier" && &src[operand.byte_range()] == receiver && !path.is_empty())
        .then_some(path)
}

/// The name a method declaration gives its receiver, if any.
fn receiver_name<'s>(decl: Node<'_>, src: &'s str) -> Option<&'s str> {
    let param = decl.field(Field::Receiver)?.named_child(0)?;
    Some(&src[param.field(Field::Name)?.byte_range()])
}

/// Whether the text holds the word `go` followed by a space or tab (a `go` statement, or
/// the odd comment).
fn has_go_keyword(text: &str) -> bool {
    let bytes = text.as_bytes();
    memchr::memmem::find_iter(bytes, b"go").any(|i| {
        let before = i.checked_sub(1).map(|j| bytes[j]);
        let after = bytes.get(i + 2).copied();
        !before.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
            && matches!(after, Some(b' ' | b'\t'))
    })
}

/// Whether `node` sits in a loop of the function whose body is `body`.
fn inside_loop(node: Node<'_>, body: Node<'_>) -> bool {
    ancestors(node, body).any(|a| a.kind() == "for_statement")
}

/// Whether `node` sits in a goroutine started by the function whose body is `body`.
fn inside_goroutine(node: Node<'_>, body: Node<'_>) -> bool {
    ancestors(node, body).any(|a| a.kind() == "go_statement")
}

/// The ancestors of `node` up to, not including, `body`.
pub(super) fn ancestors<'t>(node: Node<'t>, body: Node<'t>) -> impl Iterator<Item = Node<'t>> {
    std::iter::successors(node.parent(), |n| n.parent()).take_while(move |n| *n != body)
}
