//! Package-level variables: declared as bindings before any body is walked, with what
//! their declarations say of their types (`sync.OnceValue` results included).

use crate::fields::{Field, FieldExt};
use std::collections::HashMap;

use tree_sitter::Node;

use super::decls::{literal_type, PackageDecls};
use super::types::{type_of_type_node, TypeInfo};
use super::{Binding, BindingId, PackageFacts, ParsedFile};

/// Declares package-level variables as bindings and returns them by name.
pub fn declare_globals(
    facts: &mut PackageFacts,
    files: &[ParsedFile<'_>],
) -> HashMap<String, BindingId> {
    let mut globals = HashMap::new();
    for (file_id, file) in files.iter().enumerate() {
        let src = file.source.text.as_str();
        let root = file.tree.root_node();
        let mut cursor = root.walk();
        for decl in root.named_children(&mut cursor) {
            if decl.kind() != "var_declaration" {
                continue;
            }
            for spec in var_specs(decl) {
                let declared = spec
                    .field(Field::Type)
                    .map(|t| type_of_type_node(t, src, &facts.decls));
                let mut c = spec.walk();
                let values: Vec<_> = spec
                    .field(Field::Value)
                    .map(|v| v.named_children(&mut v.walk()).collect())
                    .unwrap_or_default();
                for (i, name) in spec.children_by_field_name("name", &mut c).enumerate() {
                    let text = &src[name.byte_range()];
                    if text == "_" {
                        continue;
                    }
                    let ty = declared.clone().unwrap_or_else(|| {
                        values
                            .get(i)
                            .map_or(TypeInfo::Unknown, |v| literal_type(*v, src, &facts.decls))
                    });
                    let offset = name.start_byte();
                    let mut declare = |facts: &mut PackageFacts, name: String, ty| {
                        let id = facts.bindings.len() as BindingId;
                        facts.bindings.push(Binding::new(
                            name.clone(),
                            None,
                            0,
                            ty,
                            file_id as u32,
                            offset,
                        ));
                        globals.insert(name, id);
                    };
                    declare(facts, text.to_string(), ty);
                    // `var load = sync.OnceValue(func() map[K]V {…})`: every `load()` returns
                    // the one value the function made, a package variable of its own.
                    if let Some(ty) = values
                        .get(i)
                        .and_then(|v| once_value_type(*v, src, &facts.decls))
                    {
                        declare(facts, format!("{text}()"), ty);
                    }
                }
            }
        }
    }
    globals
}

/// For `sync.OnceValue(func() T {…})` (or `OnceValues`, whose first result counts): `T`.
fn once_value_type(value: Node<'_>, src: &str, decls: &PackageDecls) -> Option<TypeInfo> {
    if value.kind() != "call_expression" {
        return None;
    }
    let function = &src[value.field(Field::Function)?.byte_range()];
    if function != "sync.OnceValue" && function != "sync.OnceValues" {
        return None;
    }
    let literal = value.field(Field::Arguments)?.named_child(0)?;
    let mut result = literal.field(Field::Result)?;
    if result.kind() == "parameter_list" {
        result = result.named_child(0)?.field(Field::Type)?;
    }
    Some(type_of_type_node(result, src, decls))
}

/// The `var_spec`s of a `var` declaration, single or grouped.
pub fn var_specs(decl: Node<'_>) -> Vec<Node<'_>> {
    let mut out = Vec::new();
    let mut cursor = decl.walk();
    for child in decl.named_children(&mut cursor) {
        match child.kind() {
            "var_spec" => out.push(child),
            "var_spec_list" => {
                let mut c = child.walk();
                out.extend(
                    child
                        .named_children(&mut c)
                        .filter(|s| s.kind() == "var_spec"),
                );
            }
            _ => {}
        }
    }
    out
}
