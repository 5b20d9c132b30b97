//! Parsing: Go source text to a tree-sitter syntax tree, and the syntax errors in it.

use std::borrow::Cow;
use std::cell::RefCell;

use tree_sitter::{Node, Parser, Tree};

thread_local! {
    static PARSER: RefCell<Parser> = RefCell::new(go_parser());
}

fn go_parser() -> Parser {
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_go::LANGUAGE.into())
        .expect("tree-sitter-go is compatible with the linked tree-sitter");
    parser
}

/// Parses Go source with this thread's parser. A byte-order mark is blanked (same length,
/// so offsets stay valid) because the grammar does not accept it.
pub fn parse(text: &str) -> Tree {
    let bytes: Cow<[u8]> = match text.strip_prefix('\u{feff}') {
        Some(rest) => Cow::Owned([b"   ".as_slice(), rest.as_bytes()].concat()),
        None => Cow::Borrowed(text.as_bytes()),
    };
    PARSER.with(|p| {
        p.borrow_mut()
            .parse(bytes.as_ref(), None)
            .expect("parsing without a timeout or cancellation flag always yields a tree")
    })
}

/// A place where the grammar could not make sense of the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyntaxError {
    /// Byte offset where the error starts.
    pub offset: usize,
    /// Whether the parser inserted a missing token rather than skipping text.
    pub missing: bool,
}

/// The syntax errors of a tree, in source order (descends only into subtrees with errors).
pub fn syntax_errors(tree: &Tree) -> Vec<SyntaxError> {
    let mut errors = Vec::new();
    if !tree.root_node().has_error() {
        return errors;
    }
    let mut stack: Vec<Node> = vec![tree.root_node()];
    while let Some(node) = stack.pop() {
        if node.is_error() || node.is_missing() {
            errors.push(SyntaxError {
                offset: node.start_byte(),
                missing: node.is_missing(),
            });
            continue;
        }
        let mut cursor = node.walk();
        let children: Vec<Node> = node
            .children(&mut cursor)
            .filter(|c| c.has_error())
            .collect();
        stack.extend(children.into_iter().rev());
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_source_has_no_errors() {
        let tree = parse("package p\n\nfunc f() {}\n");
        assert!(syntax_errors(&tree).is_empty());
    }

    #[test]
    fn errors_are_found_in_order() {
        let tree = parse("package p\n\nfunc f() { x := }\nfunc g( {}\n");
        let errors = syntax_errors(&tree);
        assert!(!errors.is_empty());
        assert!(errors.windows(2).all(|w| w[0].offset <= w[1].offset));
    }

    #[test]
    fn bom_is_accepted() {
        let tree = parse("\u{feff}package p\n");
        assert!(syntax_errors(&tree).is_empty());
    }
}
