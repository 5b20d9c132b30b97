//! Naming the map a source line operates on: the operand of an index expression, the first
//! argument of `delete`, `clear` or a `maps` function, the operand of a `range` clause.

use crate::fields::{Field, FieldExt};
use tree_sitter::{Node, Tree};

use super::map_ops::MapOp;
use crate::source::SourceFile;

/// One map operation written on a line.
struct Candidate {
    /// The map expression as written.
    map: String,
    /// What the syntax does to it.
    op: MapOp,
}

/// The map expression (`s.cache`, `counts`) that line `line` of `file` applies `op` to,
/// with what the line does to it: the candidate doing exactly `op`, else one that writes
/// when `op` writes (or reads when it reads), else the line's first map operation.
pub fn map_on_line(
    file: &SourceFile,
    tree: &Tree,
    line: u32,
    op: Option<MapOp>,
) -> Option<(String, MapOp)> {
    let candidates = operations_on_line(file, tree, line);
    let exact = op.and_then(|op| candidates.iter().find(|c| c.1 == op));
    let same_kind = op.and_then(|op| candidates.iter().find(|c| c.1.writes() == op.writes()));
    exact.or(same_kind).or(candidates.first()).cloned()
}

/// Every map operation written on line `line` of `file`, in source order: the map
/// expression and what the line does to it.
pub fn operations_on_line(file: &SourceFile, tree: &Tree, line: u32) -> Vec<(String, MapOp)> {
    let Some(range) = file.line_range(line) else {
        return Vec::new();
    };
    let mut candidates = Vec::new();
    let root = tree.root_node();
    // Every node that starts on the line, outermost first.
    let mut cursor = root.walk();
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        if node.end_byte() <= range.start || node.start_byte() >= range.end {
            continue;
        }
        if node.start_byte() >= range.start {
            collect(node, file, &mut candidates);
        }
        stack.extend(
            node.children(&mut cursor)
                .collect::<Vec<_>>()
                .into_iter()
                .rev(),
        );
    }
    candidates.into_iter().map(|c| (c.map, c.op)).collect()
}

/// The map operation `node` itself is, if any.
fn collect(node: Node<'_>, file: &SourceFile, out: &mut Vec<Candidate>) {
    let text = |n: Node<'_>| {
        file.text[n.byte_range()]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    match node.kind() {
        "index_expression" => {
            let Some(operand) = node.field(Field::Operand) else {
                return;
            };
            let op = if is_assigned(node) {
                MapOp::Assign
            } else {
                MapOp::Read
            };
            out.push(Candidate {
                map: text(operand),
                op,
            });
        }
        "call_expression" => {
            let (Some(function), Some(args)) =
                (node.field(Field::Function), node.field(Field::Arguments))
            else {
                return;
            };
            let mut cursor = args.walk();
            let args: Vec<Node<'_>> = args.named_children(&mut cursor).collect();
            let (op, arg) = match text(function).as_str() {
                "delete" => (MapOp::Delete, 0),
                "clear" => (MapOp::Clear, 0),
                "maps.Copy" => {
                    if let Some(src) = args.get(1) {
                        out.push(Candidate {
                            map: text(*src),
                            op: MapOp::Iterate,
                        });
                    }
                    (MapOp::Assign, 0)
                }
                "maps.Clone" => (MapOp::Clone, 0),
                "maps.Keys" | "maps.Values" | "maps.All" | "maps.Equal" | "maps.EqualFunc" => {
                    (MapOp::Iterate, 0)
                }
                "maps.DeleteFunc" => (MapOp::Delete, 0),
                _ => {
                    reflected(function, &text, out);
                    return;
                }
            };
            if let Some(arg) = args.get(arg) {
                out.push(Candidate {
                    map: text(*arg),
                    op,
                });
            }
        }
        "range_clause" => {
            if let Some(right) = node.field(Field::Right) {
                out.push(Candidate {
                    map: text(right),
                    op: MapOp::Iterate,
                });
            }
        }
        _ => {}
    }
}

/// `reflect.ValueOf(m).SetMapIndex(k, v)` writes `m`; `MapIndex`, `MapKeys` and `MapRange`
/// read it.
fn reflected(function: Node<'_>, text: &impl Fn(Node<'_>) -> String, out: &mut Vec<Candidate>) {
    let (Some(operand), Some(field)) =
        (function.field(Field::Operand), function.field(Field::Field))
    else {
        return;
    };
    let op = match text(field).as_str() {
        "SetMapIndex" => MapOp::Assign,
        "MapIndex" => MapOp::Read,
        "MapKeys" | "MapRange" => MapOp::Iterate,
        _ => return,
    };
    // The map itself when the value is made on the spot: `reflect.ValueOf(m)`.
    let map = operand
        .field(Field::Arguments)
        .filter(|_| {
            operand
                .field(Field::Function)
                .is_some_and(|f| text(f) == "reflect.ValueOf")
        })
        .and_then(|args| args.named_child(0))
        .unwrap_or(operand);
    out.push(Candidate { map: text(map), op });
}

/// Whether an index expression is written: the left side of an assignment (`=`, `+=`), or
/// the operand of `++`/`--`.
fn is_assigned(node: Node<'_>) -> bool {
    let Some(parent) = node.parent() else {
        return false;
    };
    match parent.kind() {
        "expression_list" => parent.parent().is_some_and(|p| {
            p.kind() == "assignment_statement"
                && p.field(Field::Left).map(|l| l.id()) == Some(parent.id())
        }),
        "inc_statement" | "dec_statement" => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(src: &str, line: u32, op: Option<MapOp>) -> Option<String> {
        let file = SourceFile::new("a.go".into(), src.to_string());
        let parsed = crate::parse::parse(&file.text, None).unwrap();
        map_on_line(&file, &parsed.tree, line, op).map(|(map, _)| map)
    }

    #[test]
    fn the_map_of_each_operation_is_named() {
        let src = "package p\n\nfunc f(s *S, k string) {\n\ts.cache[k] = s.counts[k] + 1\n\tdelete(s.byID, k)\n\tfor k := range s.all {\n\t\t_ = k\n\t}\n\tclear(s.old)\n\ts.hits[k]++\n}\n";
        assert_eq!(
            name(src, 4, Some(MapOp::Assign)).as_deref(),
            Some("s.cache")
        );
        assert_eq!(name(src, 4, Some(MapOp::Read)).as_deref(), Some("s.counts"));
        assert_eq!(name(src, 5, Some(MapOp::Delete)).as_deref(), Some("s.byID"));
        assert_eq!(name(src, 6, Some(MapOp::Iterate)).as_deref(), Some("s.all"));
        assert_eq!(name(src, 9, Some(MapOp::Assign)).as_deref(), Some("s.old"));
        assert_eq!(name(src, 10, None).as_deref(), Some("s.hits"));
        assert_eq!(name(src, 7, None), None);
        let src = "package p\n\nfunc g(m map[string]int, v reflect.Value) {\n\treflect.ValueOf(m).SetMapIndex(k, x)\n\t_ = v.MapKeys()\n}\n";
        assert_eq!(name(src, 4, Some(MapOp::Assign)).as_deref(), Some("m"));
        assert_eq!(name(src, 5, None).as_deref(), Some("v"));
    }
}
