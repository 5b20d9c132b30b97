//! One-slot channels and weight-one semaphores used as mutexes: `sem := make(chan
//! struct{}, 1)` (or a field so made), then `sem <- struct{}{}` to enter and `<-sem` to
//! leave; `sem: semaphore.NewWeighted(1)` (golang.org/x/sync), then `sem.Acquire(ctx, 1)`
//! and `sem.Release(1)`. Read from the syntax before bodies are walked: a name the package
//! makes with one slot, and never with another capacity, is one slot wherever it appears.

use crate::fields::{Field, FieldExt};
use std::collections::HashSet;

use tree_sitter::Node;

use super::{descendants, ParsedFile};

/// The names (variables and struct fields) the package gives one-slot channels or weight-one
/// semaphores only, and those of them kept full as a token ([`fills_where_made`]).
pub fn collect(files: &[ParsedFile<'_>]) -> (HashSet<String>, HashSet<String>) {
    let mut one = HashSet::new();
    let mut other = HashSet::new();
    let mut filled = HashSet::new();
    for file in files {
        let src = file.source.text.as_str();
        if !src.contains("make(chan") && !src.contains("NewWeighted(") {
            continue;
        }
        for node in descendants(file.tree.root_node()) {
            let Some(one_slot) = channel_make(node, src) else {
                continue;
            };
            if let Some(name) = assigned_name(node, src) {
                if !one_slot {
                    other.insert(name.to_string());
                    continue;
                }
                one.insert(name.to_string());
                if fills_where_made(node, name, src) {
                    filled.insert(name.to_string());
                }
            }
        }
    }
    one.retain(|name| !other.contains(name));
    filled.retain(|name| one.contains(name));
    (one, filled)
}

/// Whether the function that makes the one-slot channel `name` at `make` sends into it and
/// never receives from it itself (`r := &R{token: make(chan struct{}, 1)}; r.token <-
/// struct{}{}`): a token, taken by a receive (`<-r.token`) and given back by a send.
fn fills_where_made(make: Node<'_>, name: &str, src: &str) -> bool {
    let mut body = make;
    while !matches!(
        body.kind(),
        "function_declaration" | "method_declaration" | "func_literal" | "source_file"
    ) {
        let Some(parent) = body.parent() else { break };
        body = parent;
    }
    // Sends and receives of the making function itself, after the make (not in the
    // closures it starts: a goroutine's `sem <- 1; …; <-sem` is a semaphore).
    let own = |n: Node<'_>| {
        n.start_byte() > make.end_byte()
            && std::iter::successors(n.parent(), |p| p.parent())
                .take_while(|p| *p != body)
                .all(|p| p.kind() != "func_literal")
    };
    let named = |c: Option<Node<'_>>| c.and_then(|c| last_name(c, src)) == Some(name);
    let uses = descendants(body);
    let fills = uses
        .iter()
        .any(|&n| n.kind() == "send_statement" && own(n) && named(n.field(Field::Channel)));
    let takes = uses.iter().any(|&n| {
        n.kind() == "unary_expression"
            && n.child(0).is_some_and(|o| o.kind() == "<-")
            && own(n)
            && named(n.field(Field::Operand))
    });
    fills && !takes
}

/// For a `make(chan T …)` or `semaphore.NewWeighted(n)` call, whether its capacity is
/// the literal 1.
fn channel_make(node: Node<'_>, src: &str) -> Option<bool> {
    if node.kind() != "call_expression" {
        return None;
    }
    let function = &src[node.field(Field::Function)?.byte_range()];
    let args = node.field(Field::Arguments)?;
    let mut cursor = args.walk();
    let args: Vec<Node<'_>> = args.named_children(&mut cursor).collect();
    let one = |arg: Option<&Node<'_>>| arg.is_some_and(|n| &src[n.byte_range()] == "1");
    match function {
        "make" if args.first()?.kind() == "channel_type" => Some(one(args.get(1))),
        "semaphore.NewWeighted" => Some(one(args.first())),
        _ => None,
    }
}

/// The variable or field a value is given to: `sem := v`, `s.sem = v`, `var sem = v`, or
/// `T{sem: v}`; the last name of the target.
fn assigned_name<'s>(value: Node<'_>, src: &'s str) -> Option<&'s str> {
    let mut parent = value.parent()?;
    if parent.kind() == "literal_element" {
        let element = parent;
        parent = parent.parent()?;
        if parent.kind() != "keyed_element" || parent.named_child(0)? == element {
            return None;
        }
        return last_name(key_of(parent.named_child(0)?), src);
    }
    if parent.kind() == "keyed_element" {
        return last_name(key_of(parent.named_child(0)?), src);
    }
    if parent.kind() != "expression_list" {
        return None;
    }
    let list = parent;
    let statement = list.parent()?;
    let left = match statement.kind() {
        "assignment_statement" | "short_var_declaration" => statement.field(Field::Left)?,
        "var_spec" => statement,
        _ => return None,
    };
    let mut cursor = list.walk();
    let index = list.named_children(&mut cursor).position(|n| n == value)?;
    let mut cursor = left.walk();
    let targets: Vec<Node<'_>> = match statement.kind() {
        "var_spec" => statement
            .children_by_field_name("name", &mut cursor)
            .collect(),
        _ => left.named_children(&mut cursor).collect(),
    };
    last_name(*targets.get(index)?, src)
}

/// A keyed element's key: the expression inside a `literal_element`.
fn key_of(key: Node<'_>) -> Node<'_> {
    if key.kind() == "literal_element" {
        key.named_child(0).unwrap_or(key)
    } else {
        key
    }
}

/// The last name of `sem`, `s.sem` or `s.x.sem`.
pub fn last_name<'s>(node: Node<'_>, src: &'s str) -> Option<&'s str> {
    match node.kind() {
        "identifier" | "field_identifier" => Some(&src[node.byte_range()]),
        "selector_expression" => last_name(node.field(Field::Field)?, src),
        "parenthesized_expression" => last_name(node.named_child(0)?, src),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    /// The one-slot names and the tokens among them of one file's text.
    fn names(src: &str) -> (Vec<String>, Vec<String>) {
        let tree = crate::parse::parse(src, None).unwrap().tree;
        let source = SourceFile::new("p.go".into(), src.to_string());
        let (one, tokens) = collect(&[ParsedFile {
            source: &source,
            tree: &tree,
        }]);
        let sorted = |set: HashSet<String>| {
            let mut names: Vec<String> = set.into_iter().collect();
            names.sort();
            names
        };
        (sorted(one), sorted(tokens))
    }

    fn one_slot(src: &str) -> Vec<String> {
        names(src).0
    }

    #[test]
    fn one_slot_channels_filled_where_they_are_made_are_tokens() {
        let src = "package p\n\
                   func newR() *R { r := &R{token: make(chan struct{}, 1), sem: make(chan int, 1)}\n\
                   r.token <- struct{}{}\nreturn r }\n\
                   func (r *R) f() { r.sem <- 1; <-r.sem }\n\
                   func g() { sem := make(chan int, 1); go func() { sem <- 1; <-sem }() }\n\
                   func h() { lock := make(chan int, 1); lock <- 1; <-lock }\n";
        assert_eq!(
            names(src),
            (
                vec!["lock".into(), "sem".into(), "token".into()],
                vec!["token".into()]
            )
        );
    }

    #[test]
    fn fields_variables_and_weighted_semaphores_of_one_slot() {
        let src = "package p\n\
                   func f() {\n\
                   \tl := &Lock{lock: make(chan struct{}, 1), done: make(chan struct{})}\n\
                   \tvar gate = make(chan int, 1)\n\
                   \ts.sem = semaphore.NewWeighted(1)\n\
                   \tq, tok := make(chan int, 8), make(chan bool, 1)\n\
                   }\n";
        assert_eq!(one_slot(src), ["gate", "lock", "sem", "tok"]);
    }

    #[test]
    fn a_name_made_with_another_capacity_anywhere_is_not() {
        let src = "package p\n\
                   func f() { a := make(chan int, 1); b := make(chan int, 1) }\n\
                   func g() { b := make(chan int, 2); c := semaphore.NewWeighted(3) }\n";
        assert_eq!(one_slot(src), ["a"]);
    }
}
