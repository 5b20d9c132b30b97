//! Which methods keep a function parameter in a field of their receiver: a registration
//! (`func (l *Lifecycle) OnStop(h func()) { l.hooks = append(l.hooks, h) }`). Read from
//! the syntax before bodies are walked, so that the literal a caller registers
//! (`lc.OnStop(func() {…})`) is walked as a body of its own, run where the field's
//! functions are called, not where it is written.

use crate::fields::{Field, FieldExt};
use std::collections::HashMap;

use tree_sitter::Node;

use super::decls::{parameter_names, receiver_type_name};
use super::{descendants, ParsedFile};

/// For each (receiver type, method), the parameters it stores and where each is kept.
pub type Registrations = HashMap<(String, String), Vec<Registered>>;

/// A parameter a registration stores: in a field of the receiver (`owner` is `None`), or
/// in a field of a struct literal of type `owner` it keeps in the receiver (`b.steps =
/// append(b.steps, step{name: name, run: fn})`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registered {
    /// The parameter's index.
    pub param: usize,
    /// The struct type holding the field, when not the receiver's.
    pub owner: Option<String>,
    /// The function-valued field.
    pub field: String,
}

/// The registrations of the package's methods.
pub fn collect(files: &[ParsedFile<'_>]) -> Registrations {
    let mut out = Registrations::new();
    for file in files {
        let src = file.source.text.as_str();
        let root = file.tree.root_node();
        let mut cursor = root.walk();
        for decl in root.named_children(&mut cursor) {
            if decl.kind() != "method_declaration" {
                continue;
            }
            let (Some(ty), Some(name), Some(params), Some(body)) = (
                receiver_type_name(decl, src),
                decl.field(Field::Name),
                decl.field(Field::Parameters),
                decl.field(Field::Body),
            ) else {
                continue;
            };
            let Some(receiver) = decl
                .field(Field::Receiver)
                .map(|r| parameter_names(r, src))
                .and_then(|names| names.first().map(|(n, _)| *n))
            else {
                continue;
            };
            let params: Vec<&str> = parameter_names(params, src)
                .into_iter()
                .map(|(n, _)| n)
                .collect();
            // Cheap test first: most methods store no parameter (`= h`, `append(…, h)`).
            let text = &src[body.byte_range()];
            let sends_wrapped = text.contains("<- func");
            let stores = |p: &&str| {
                [
                    format!("= {p}"),
                    format!(", {p})"),
                    format!(", {p},"),
                    format!("<- {p}"),
                    format!(": {p}"),
                ]
                .iter()
                .any(|pattern| text.contains(pattern.as_str()))
                    || (sends_wrapped && text.contains(&format!("{p}(")))
            };
            if !params.iter().any(stores) {
                continue;
            }
            let stored = stored_params(body, src, receiver, &params);
            if !stored.is_empty() {
                out.insert((ty.to_string(), src[name.byte_range()].to_string()), stored);
            }
        }
    }
    out
}

/// The parameters a body stores in a field of `receiver`: `r.f = p`, `r.f[k] = p`,
/// `r.f = append(r.f, p)`; or sends on a channel field of functions, itself or wrapped
/// in a literal that calls it (`r.cmds <- func() { p(); close(done) }`): the loop
/// receiving from the field runs it.
fn stored_params(body: Node<'_>, src: &str, receiver: &str, params: &[&str]) -> Vec<Registered> {
    let mut out = Vec::new();
    let mut store = |param: usize, owner: Option<&str>, field: &str| {
        let registered = Registered {
            param,
            owner: owner.map(str::to_string),
            field: field.to_string(),
        };
        if !out.contains(&registered) {
            out.push(registered);
        }
    };
    for node in descendants(body) {
        if node.kind() == "send_statement" {
            let (Some(field), Some(value)) = (
                node.field(Field::Channel)
                    .and_then(|c| receiver_field(c, src, receiver)),
                node.field(Field::Value),
            ) else {
                continue;
            };
            let called: Vec<&str> = match value.kind() {
                "identifier" => vec![&src[value.byte_range()]],
                "func_literal" => descendants(value)
                    .into_iter()
                    .filter(|n| n.kind() == "call_expression")
                    .filter_map(|n| n.field(Field::Function))
                    .filter(|f| f.kind() == "identifier")
                    .map(|f| &src[f.byte_range()])
                    .collect(),
                _ => Vec::new(),
            };
            for name in called {
                if let Some(i) = params.iter().position(|p| *p == name) {
                    store(i, None, field);
                }
            }
            continue;
        }
        if node.kind() != "assignment_statement" {
            continue;
        }
        let (Some(left), Some(right)) = (
            node.field(Field::Left).and_then(|l| l.named_child(0)),
            node.field(Field::Right).and_then(|r| r.named_child(0)),
        ) else {
            continue;
        };
        let target = match left.kind() {
            "index_expression" => left.field(Field::Operand),
            _ => Some(left),
        };
        let Some(target) = target.filter(|t| rooted_at(*t, src, receiver)) else {
            continue;
        };
        let field = receiver_field(target, src, receiver);
        let values: Vec<Node<'_>> = match right.kind() {
            "call_expression"
                if right
                    .field(Field::Function)
                    .is_some_and(|f| &src[f.byte_range()] == "append") =>
            {
                let Some(args) = right.field(Field::Arguments) else {
                    continue;
                };
                let mut c = args.walk();
                args.named_children(&mut c).skip(1).collect()
            }
            _ => vec![right],
        };
        for value in values {
            let value = match value.kind() {
                "unary_expression" => value.field(Field::Operand).unwrap_or(value),
                _ => value,
            };
            match value.kind() {
                "identifier" => {
                    let (Some(field), Some(i)) = (
                        field,
                        params.iter().position(|p| *p == &src[value.byte_range()]),
                    ) else {
                        continue;
                    };
                    store(i, None, field);
                }
                // `step{name: name, run: fn}` kept in the receiver: `fn` runs where a
                // `step`'s `run` is called.
                "composite_literal" => {
                    let Some(owner) = value
                        .field(Field::Type)
                        .filter(|t| t.kind() == "type_identifier")
                        .map(|t| &src[t.byte_range()])
                    else {
                        continue;
                    };
                    let Some(body) = value.field(Field::Body) else {
                        continue;
                    };
                    let mut c = body.walk();
                    for element in body.named_children(&mut c) {
                        let (Some(key), Some(val)) = (
                            element
                                .named_child(0)
                                .filter(|_| element.kind() == "keyed_element"),
                            element.named_child(1),
                        ) else {
                            continue;
                        };
                        let name = |n: Node<'_>| src[n.byte_range()].trim().to_string();
                        if let Some(i) = params.iter().position(|p| *p == name(val)) {
                            store(i, Some(owner), &name(key));
                        }
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// Whether `node` is the receiver or a selector path from it (`b.p.steps`).
fn rooted_at(node: Node<'_>, src: &str, receiver: &str) -> bool {
    match node.kind() {
        "identifier" => &src[node.byte_range()] == receiver,
        "selector_expression" => node
            .field(Field::Operand)
            .is_some_and(|o| rooted_at(o, src, receiver)),
        _ => false,
    }
}

/// `f` when `node` is `receiver.f`.
fn receiver_field<'s>(node: Node<'_>, src: &'s str, receiver: &str) -> Option<&'s str> {
    if node.kind() != "selector_expression" {
        return None;
    }
    let operand = node.field(Field::Operand)?;
    (operand.kind() == "identifier" && &src[operand.byte_range()] == receiver)
        .then(|| node.field(Field::Field))
        .flatten()
        .map(|f| &src[f.byte_range()])
}
