//! Flags published under a condition variable: a waiter loops `for !ready { cond.Wait() }`
//! and a setter makes `ready = true` (holding the cond's lock, then `Broadcast`). The
//! waiter's code after the loop comes after everything the setter did before setting the
//! flag: the loop is a wait on the flag, the assignment a signal of it. Read from the
//! syntax before bodies are walked: the last names of the flags such loops wait on.

use crate::fields::{Field, FieldExt};
use std::collections::HashSet;

use tree_sitter::Node;

use super::semaphores::last_name;
use super::{descendants, ParsedFile};

/// The last names of the flags the package waits on in `for !flag { ….Wait() }` loops.
pub fn collect(files: &[ParsedFile<'_>]) -> HashSet<String> {
    let mut flags = HashSet::new();
    for file in files {
        let src = file.source.text.as_str();
        if !src.contains(".Wait()") {
            continue;
        }
        for node in descendants(file.tree.root_node()) {
            if let Some(name) = waited_flag(node, src).and_then(|f| last_name(f, src)) {
                flags.insert(name.to_string());
            }
        }
    }
    flags
}

/// For `for !flag { … x.Wait() … }`, the flag expression (an identifier or a selector).
pub fn waited_flag<'t>(node: Node<'t>, src: &str) -> Option<Node<'t>> {
    if node.kind() != "for_statement" {
        return None;
    }
    let mut cursor = node.walk();
    let condition = node
        .named_children(&mut cursor)
        .find(|c| c.kind() != "block" && c.kind() != "comment")?;
    if condition.kind() != "unary_expression"
        || condition.child(0).is_none_or(|op| op.kind() != "!")
    {
        return None;
    }
    let flag = condition.field(Field::Operand)?;
    if !matches!(flag.kind(), "identifier" | "selector_expression") {
        return None;
    }
    let body = node.field(Field::Body)?;
    let waits = descendants(body).into_iter().any(|n| {
        n.kind() == "call_expression"
            && n.field(Field::Function).is_some_and(|f| {
                f.kind() == "selector_expression"
                    && f.field(Field::Field)
                        .is_some_and(|m| &src[m.byte_range()] == "Wait")
            })
    });
    waits.then_some(flag)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::source::SourceFile;

    fn flags(body: &str) -> Vec<String> {
        let source = SourceFile::new(PathBuf::from("c.go"), format!("package p\n\n{body}\n"));
        let tree = crate::parse::parse(&source.text, None).unwrap().tree;
        let files = [ParsedFile {
            source: &source,
            tree: &tree,
        }];
        let mut found: Vec<String> = collect(&files).into_iter().collect();
        found.sort();
        found
    }

    #[test]
    fn negated_flags_of_loops_around_a_wait_are_collected() {
        let body = "func f() {\n\tmu.Lock()\n\tfor !loaded {\n\t\tready.Wait()\n\t}\n\
                    \tfor !s.started {\n\t\ts.cond.Wait()\n\t}\n\tmu.Unlock()\n}";
        assert_eq!(flags(body), ["loaded", "started"]);
    }

    #[test]
    fn other_loops_are_not() {
        let body = "func f() {\n\tfor len(q) == 0 {\n\t\tc.Wait()\n\t}\n\
                    \tfor !done {\n\t\tpoll()\n\t}\n\tfor loaded {\n\t\tc.Wait()\n\t}\n}";
        assert!(flags(body).is_empty());
    }
}
