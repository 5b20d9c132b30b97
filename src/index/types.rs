//! Types as far as syntax and the package's own declarations tell them.

use crate::fields::{Field, FieldExt};
use tree_sitter::Node;

use super::decls::PackageDecls;

/// What is known about a value's type, without a type checker.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TypeInfo {
    /// Nothing useful is known.
    #[default]
    Unknown,
    /// A map, with what is known of its value type, and the name of its declared type
    /// (`type Registry map[...]`), through which its methods are found.
    Map {
        /// The value type.
        value: Box<TypeInfo>,
        /// The named type, if it is one.
        name: Option<String>,
    },
    /// A slice or array, with what is known of its element type, and the name of its
    /// declared type when that type has methods (`type Batch []Sample`).
    Slice(Box<TypeInfo>, Option<String>),
    /// A channel, with what is known of its element type.
    Chan(Box<TypeInfo>),
    /// A struct type declared in this package (or a pointer to one), by name.
    Named(String),
}

impl TypeInfo {
    /// Whether the value is a plain Go map (not a `sync.Map`).
    pub fn is_map(&self) -> bool {
        matches!(self, TypeInfo::Map { .. })
    }
}

/// The type a type expression denotes. Named types declared in the package resolve to their
/// underlying map, slice or channel type; struct types stay named so fields can be looked up.
pub fn type_of_type_node(node: Node<'_>, src: &str, decls: &PackageDecls) -> TypeInfo {
    type_at_depth(node, src, decls, 0)
}

/// Nested map and slice types are followed this deep (`map[K]map[K]...`).
const MAX_TYPE_NESTING: usize = 32;

fn type_at_depth(node: Node<'_>, src: &str, decls: &PackageDecls, depth: usize) -> TypeInfo {
    if depth > MAX_TYPE_NESTING {
        return TypeInfo::Unknown;
    }
    let mut node = node;
    loop {
        match node.kind() {
            "pointer_type" | "parenthesized_type" => match node.named_child(0) {
                Some(inner) => node = inner,
                None => return TypeInfo::Unknown,
            },
            // `atomic.Pointer[T]` holds a `*T` that every `Load` hands out: its `T`.
            "generic_type" => match node.field(Field::Type) {
                Some(inner) if &src[inner.byte_range()] == "atomic.Pointer" => {
                    match node
                        .field(Field::TypeArguments)
                        .and_then(|args| args.named_child(0))
                        .and_then(|elem| elem.named_child(0))
                    {
                        Some(pointee) => node = pointee,
                        None => return TypeInfo::Unknown,
                    }
                }
                Some(inner) => node = inner,
                None => return TypeInfo::Unknown,
            },
            _ => break,
        }
    }
    match node.kind() {
        "map_type" => TypeInfo::Map {
            value: Box::new(node.field(Field::Value).map_or(TypeInfo::Unknown, |v| {
                type_at_depth(v, src, decls, depth + 1)
            })),
            name: None,
        },
        "slice_type" | "array_type" | "implicit_length_array_type" => TypeInfo::Slice(
            Box::new(node.field(Field::Element).map_or(TypeInfo::Unknown, |e| {
                type_at_depth(e, src, decls, depth + 1)
            })),
            None,
        ),
        "channel_type" => TypeInfo::Chan(Box::new(
            node.field(Field::Value).map_or(TypeInfo::Unknown, |e| {
                type_at_depth(e, src, decls, depth + 1)
            }),
        )),
        "type_identifier" => decls.resolve_named(&src[node.byte_range()]),
        // Another package's type: a map when it is a well-known one (`http.Header`) or the
        // package uses it as one (`decls.foreign_maps`); a struct of the module's own.
        "qualified_type" => {
            let name = &src[node.byte_range()];
            match super::apis::known_map(name) {
                Some(known) => TypeInfo::Map {
                    value: Box::new(TypeInfo::Unknown),
                    name: Some(known.name.to_string()),
                },
                None if decls.foreign_maps.contains(name) => TypeInfo::Map {
                    value: Box::new(TypeInfo::Unknown),
                    name: None,
                },
                // A struct type of another package of the module, whose map fields and
                // methods' effects on them are known.
                None if decls.imported.methods.contains_key(name)
                    || decls.imported.map_fields.contains_key(name) =>
                {
                    TypeInfo::Named(name.to_string())
                }
                None => TypeInfo::Unknown,
            }
        }
        _ => TypeInfo::Unknown,
    }
}
