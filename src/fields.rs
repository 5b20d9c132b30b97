//! The Go grammar's fields by id: `Node::child_by_field_name` compares the name with every
//! field name of the grammar on each call, a tenth of a run on large packages.

use std::sync::LazyLock;

use tree_sitter::Node;

/// A field of the Go grammar that the analysis selects.
#[derive(Debug, Clone, Copy)]
pub enum Field {
    Alias,
    Alternative,
    Arguments,
    Body,
    Channel,
    Communication,
    Condition,
    Consequence,
    Element,
    Field,
    Function,
    Index,
    Initializer,
    Key,
    Left,
    Name,
    Operand,
    Operator,
    Parameters,
    Path,
    Receiver,
    Result,
    Right,
    Type,
    TypeArguments,
    Update,
    Value,
}

const NAMES: [&str; 27] = [
    "alias",
    "alternative",
    "arguments",
    "body",
    "channel",
    "communication",
    "condition",
    "consequence",
    "element",
    "field",
    "function",
    "index",
    "initializer",
    "key",
    "left",
    "name",
    "operand",
    "operator",
    "parameters",
    "path",
    "receiver",
    "result",
    "right",
    "type",
    "type_arguments",
    "update",
    "value",
];

static IDS: LazyLock<[u16; 27]> = LazyLock::new(|| {
    let language: tree_sitter::Language = tree_sitter_go::LANGUAGE.into();
    NAMES.map(|name| {
        language
            .field_id_for_name(name)
            .unwrap_or_else(|| panic!("the Go grammar has no field `{name}`"))
            .get()
    })
});

/// Selecting a child by a [`Field`].
pub trait FieldExt<'t> {
    /// The child in `field`, as `child_by_field_name` finds it.
    fn field(&self, field: Field) -> Option<Node<'t>>;
}

impl<'t> FieldExt<'t> for Node<'t> {
    fn field(&self, field: Field) -> Option<Node<'t>> {
        self.child_by_field_id(IDS[field as usize])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_is_the_one_named() {
        let language: tree_sitter::Language = tree_sitter_go::LANGUAGE.into();
        for (i, name) in NAMES.iter().enumerate() {
            assert_eq!(language.field_name_for_id(IDS[i]), Some(*name));
        }
    }
}
