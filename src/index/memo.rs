//! Memo caches a library fills for its callers: a package-level map looked up first, the
//! hit returned, and the miss stored, with no lock (`if fn := cache[k]; fn != nil { return
//! fn }; …; cache[k] = fn`). Callers of a library's exported API may call it from any
//! number of goroutines at once, so the function that fills the cache, reached from that
//! API without a lock, runs concurrently with itself, as a request handler does. A
//! registration (`if _, dup := drivers[name]; dup { return errDup }`) returns no hit and
//! is not a memo; neither is a `main` package, a package under `internal/` (its callers are
//! the module's own, which the analysis sees), nor code reached only from tests or `init`.

use crate::fields::{Field, FieldExt};
use std::collections::HashSet;

use tree_sitter::Node;

use super::{mutexes, AccessOp, EventKind, FuncId, PackageFacts, ParsedFile, Serves};

/// Marks the functions that fill a memo cache for the package's exported API.
pub fn apply(facts: &mut PackageFacts, files: &[ParsedFile<'_>]) {
    let internal = files.first().is_some_and(|f| {
        f.source
            .path
            .parent()
            .is_some_and(|dir| dir.components().any(|c| c.as_os_str() == "internal"))
    });
    if facts.name == "main" || internal {
        return;
    }
    let reached = reached_unlocked(facts);
    let memos: Vec<FuncId> = (0..facts.funcs.len() as FuncId)
        .filter(|&f| reached.contains(&f) && fills_memo(facts, files, f))
        .collect();
    for f in memos {
        let func = &mut facts.funcs[f as usize];
        func.handler = func.handler.or(Some(Serves::Callers));
    }
}

/// The functions the package's exported API runs (exported functions and methods outside
/// tests, then what they call), following only calls made holding no mutex.
fn reached_unlocked(facts: &PackageFacts) -> HashSet<FuncId> {
    let mut stack: Vec<FuncId> = (0..facts.funcs.len() as FuncId)
        .filter(|&f| {
            let func = &facts.funcs[f as usize];
            func.declared && !func.in_test && super::is_exported(&func.name)
        })
        .collect();
    let mut reached = HashSet::new();
    while let Some(f) = stack.pop() {
        if !reached.insert(f) {
            continue;
        }
        for event in &facts.funcs[f as usize].events {
            if let EventKind::Call { target, .. } = &event.kind {
                if mutexes(&event.locks).next().is_none() {
                    stack.extend(facts.resolve(&target.callee));
                }
            }
        }
    }
    reached
}

/// Whether function `f` looks up a package-level map holding no mutex, returns the hit,
/// and later stores into the same map holding no mutex.
fn fills_memo(facts: &PackageFacts, files: &[ParsedFile<'_>], f: FuncId) -> bool {
    let func = &facts.funcs[f as usize];
    if !func.declared || func.in_test || func.name == "init" {
        return false;
    }
    let unlocked = |op: fn(AccessOp) -> bool| {
        func.events.iter().filter_map(move |e| match e.kind {
            EventKind::Access { place, op: o }
                if op(o)
                    && mutexes(&e.locks).next().is_none()
                    && facts.bindings[facts.places[place as usize].root as usize]
                        .func
                        .is_none() =>
            {
                Some((place, e.span.clone()))
            }
            _ => None,
        })
    };
    let file = &files[func.file as usize];
    let src = file.source.text.as_str();
    let Some(decl) = file
        .tree
        .root_node()
        .descendant_for_byte_range(func.span.start, func.span.end)
    else {
        return false;
    };
    unlocked(|o| o == AccessOp::Index).any(|(place, read)| {
        let map = facts.place_text(place);
        let Some(hit) = hit_return(decl, src, read.clone(), &map) else {
            return false;
        };
        unlocked(AccessOp::is_write).any(|(p, write)| p == place && write.start > hit)
    })
}

/// The end of the `if` that returns the hit of the lookup of `map` at `read` (`if v, ok :=
/// m[k]; ok { return v }`, `v := m[k]; if v != nil { return v }`, `if m[k] != nil { return
/// m[k] }`): the looked-up variable or the lookup itself is among the returned values.
fn hit_return(decl: Node<'_>, src: &str, read: std::ops::Range<usize>, map: &str) -> Option<usize> {
    let lookup = decl.descendant_for_byte_range(read.start, read.end)?;
    let statement = ancestors(lookup)
        .find(|n| n.kind().ends_with("_statement") || n.kind() == "short_var_declaration")?;
    let names = declared_names(statement, src);
    let check = |n: Node<'_>| {
        (n.kind() == "if_statement" && returns_hit(n, src, &names, map)).then(|| n.end_byte())
    };
    // The lookup in the `if` itself, or in the statement just before it.
    ancestors(statement)
        .find(|n| n.kind() == "if_statement")
        .filter(|n| {
            n.field(Field::Consequence)
                .is_some_and(|c| !(c.start_byte() <= read.start && read.end <= c.end_byte()))
        })
        .and_then(check)
        .or_else(|| statement.next_named_sibling().and_then(check))
}

/// `n` and its ancestors, innermost first.
fn ancestors(n: Node<'_>) -> impl Iterator<Item = Node<'_>> {
    std::iter::successors(Some(n), |n| n.parent())
}

/// The names a `:=` or `var` statement declares (`fn`, `v, ok`).
fn declared_names(statement: Node<'_>, src: &str) -> Vec<String> {
    let declaration = match statement.kind() {
        "short_var_declaration" => Some(statement),
        _ => None,
    };
    declaration
        .and_then(|d| d.field(Field::Left))
        .map(|left| {
            let mut cursor = left.walk();
            left.named_children(&mut cursor)
                .filter(|n| n.kind() == "identifier" && &src[n.byte_range()] != "_")
                .map(|n| src[n.byte_range()].to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Whether the `if`'s block returns one of `names` or a lookup of `map`.
fn returns_hit(stmt: Node<'_>, src: &str, names: &[String], map: &str) -> bool {
    let Some(block) = stmt.field(Field::Consequence) else {
        return false;
    };
    let mut cursor = block.walk();
    let statements: Vec<Node<'_>> = block
        .named_children(&mut cursor)
        .flat_map(|s| {
            let mut cursor = s.walk();
            match s.kind() {
                "statement_list" => s.named_children(&mut cursor).collect(),
                _ => vec![s],
            }
        })
        .collect();
    statements
        .iter()
        .filter(|s| s.kind() == "return_statement")
        .flat_map(|r| {
            let mut cursor = r.walk();
            r.named_children(&mut cursor)
                .flat_map(|list| {
                    let mut cursor = list.walk();
                    list.named_children(&mut cursor).collect::<Vec<_>>()
                })
                .collect::<Vec<_>>()
        })
        .any(|value| {
            let text = &src[value.byte_range()];
            names.iter().any(|n| n == text)
                || (value.kind() == "index_expression"
                    && value
                        .field(Field::Operand)
                        .is_some_and(|o| &src[o.byte_range()] == map))
        })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::index::{apis::Apis, exports::Imports, index_package};
    use crate::source::SourceFile;

    /// The names of the functions `memo` marks in a package of one file.
    fn memos(path: &str, package: &str, body: &str) -> Vec<String> {
        let source = SourceFile::new(
            PathBuf::from(path),
            format!("package {package}\n\nvar cache = map[string]int{{}}\n\n{body}\n"),
        );
        let tree = crate::parse::parse(&source.text, None).unwrap().tree;
        let files = [ParsedFile {
            source: &source,
            tree: &tree,
        }];
        let (facts, _) = index_package(package, &files, &Apis::default(), &Imports::default());
        facts
            .funcs
            .iter()
            .filter(|f| f.handler == Some(Serves::Callers))
            .map(|f| f.name.clone())
            .collect()
    }

    #[test]
    fn lookups_that_return_the_hit_then_store_are_memos() {
        let shapes = [
            "func Get(k string) int {\n\tif v, ok := cache[k]; ok {\n\t\treturn v\n\t}\n\
             \tcache[k] = len(k)\n\treturn len(k)\n}",
            "func Get(k string) int {\n\tv, ok := cache[k]\n\tif ok {\n\t\treturn v\n\t}\n\
             \tcache[k] = len(k)\n\treturn len(k)\n}",
            "func Get(k string) int {\n\tif cache[k] != 0 {\n\t\treturn cache[k]\n\t}\n\
             \tcache[k] = len(k)\n\treturn len(k)\n}",
            "func Get(k string) int { return get(k) }\n\nfunc get(k string) int {\n\
             \tif v, ok := cache[k]; ok {\n\t\treturn v\n\t}\n\tcache[k] = len(k)\n\treturn 0\n}",
        ];
        let expected = [vec!["Get"], vec!["Get"], vec!["Get"], vec!["get"]];
        for (shape, expected) in shapes.iter().zip(expected) {
            assert_eq!(memos("lib/get.go", "lib", shape), expected, "{shape}");
        }
    }

    #[test]
    fn registrations_commands_internal_packages_and_unexported_code_are_not() {
        let register = "func Register(k string) error {\n\tif _, dup := cache[k]; dup {\n\
                        \t\treturn errDup\n\t}\n\tcache[k] = 1\n\treturn nil\n}";
        assert!(memos("lib/reg.go", "lib", register).is_empty());
        let memo = "func Get(k string) int {\n\tif v, ok := cache[k]; ok {\n\t\treturn v\n\t}\n\
                    \tcache[k] = len(k)\n\treturn len(k)\n}";
        assert!(memos("cmd/get.go", "main", memo).is_empty());
        assert!(memos("app/internal/lib/get.go", "lib", memo).is_empty());
        let unexported = memo.replace("Get", "get");
        assert!(memos("lib/get.go", "lib", &unexported).is_empty());
    }
}
