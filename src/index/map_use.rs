//! Maps known by use: a field of another package's type that the package uses as only a
//! map can be used (`delete(x.f, k)`, `v, ok := x.f[k]`, `x.f["key"]`) is a map, and so is
//! that type wherever it appears.

use crate::fields::{Field, FieldExt};
use std::collections::HashSet;

use tree_sitter::Node;

use super::ParsedFile;

/// The qualified types (`pkg.Labels`) of struct fields named in `map_used`.
pub(super) fn foreign_map_types(
    type_specs: &[(&str, String, Node<'_>)],
    map_used: &HashSet<&str>,
) -> HashSet<String> {
    let mut out = HashSet::new();
    for (src, _, ty) in type_specs {
        let Some(list) = ty.named_child(0).filter(|_| ty.kind() == "struct_type") else {
            continue;
        };
        let mut cursor = list.walk();
        for field in list.named_children(&mut cursor) {
            let Some(fty) = field
                .field(Field::Type)
                .filter(|t| field.kind() == "field_declaration" && t.kind() == "qualified_type")
            else {
                continue;
            };
            let mut c = field.walk();
            if field
                .children_by_field_name("name", &mut c)
                .any(|n| map_used.contains(&src[n.byte_range()]))
            {
                out.insert(src[fty.byte_range()].to_string());
            }
        }
    }
    out
}

/// The field names the package uses as only a map can be used: `delete(x.field, k)`,
/// `v, ok := x.field[k]` (or `=`), and `x.field["key"]`.
pub(super) fn map_used_fields<'s>(files: &[ParsedFile<'s>]) -> HashSet<&'s str> {
    let mut out = HashSet::new();
    for file in files {
        let src = file.source.text.as_str();
        for node in super::descendants(file.tree.root_node()) {
            let operand = match node.kind() {
                "call_expression"
                    if node.field(Field::Function).is_some_and(|f| {
                        f.kind() == "identifier" && &src[f.byte_range()] == "delete"
                    }) =>
                {
                    node.field(Field::Arguments).and_then(|a| a.named_child(0))
                }
                "short_var_declaration" | "assignment_statement" => comma_ok_index(node),
                // Only a map is indexed by a string.
                "index_expression"
                    if node.field(Field::Index).is_some_and(|i| {
                        matches!(
                            i.kind(),
                            "interpreted_string_literal" | "raw_string_literal"
                        )
                    }) =>
                {
                    node.field(Field::Operand)
                }
                _ => None,
            };
            let field = operand
                .filter(|x| x.kind() == "selector_expression")
                .and_then(|x| x.field(Field::Field));
            if let Some(field) = field {
                out.insert(&src[field.byte_range()]);
            }
        }
    }
    out
}

/// The indexed operand of `v, ok := x[k]` / `v, ok = x[k]`.
fn comma_ok_index(node: Node<'_>) -> Option<Node<'_>> {
    let left = node.field(Field::Left)?;
    let right = node.field(Field::Right)?;
    if left.named_child_count() != 2 || right.named_child_count() != 1 {
        return None;
    }
    let index = right
        .named_child(0)
        .filter(|r| r.kind() == "index_expression")?;
    index.field(Field::Operand)
}
