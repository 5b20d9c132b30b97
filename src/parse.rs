//! Parsing: Go source text to a tree-sitter syntax tree, and the syntax errors in it.
//!
//! The grammar is tree-sitter-go 0.25 patched for `new(expr)` (Go 1.26) and generic methods
//! (Go 1.27) (`grammar/tree-sitter-go`). Its error recovery can turn a whole file into one
//! ERROR node, so a file with errors is parsed again with every top-level declaration that
//! does not parse on its own blanked out: broken code costs its declaration, never the file.

use std::cell::RefCell;
use std::ops::{ControlFlow, Range};
use std::time::Instant;

use tree_sitter::{Node, ParseOptions, Parser, Tree};

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

/// A parsed file.
#[derive(Debug)]
pub struct Parsed {
    /// The syntax tree; byte offsets are those of the original text.
    pub tree: Tree,
    /// Top-level declarations left out because they do not parse, by byte range.
    pub skipped: Vec<Range<usize>>,
}

/// Parsing took longer than its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimedOut;

/// Parses Go source with this thread's parser, giving up at `deadline`.
pub fn parse(text: &str, deadline: Option<Instant>) -> Result<Parsed, TimedOut> {
    // The grammar does not accept a byte-order mark: blank it (same length, same offsets).
    let mut bytes = text.as_bytes().to_vec();
    if bytes.starts_with("\u{feff}".as_bytes()) {
        bytes[..3].fill(b' ');
    }
    let tree = parse_bytes(&bytes, deadline)?;
    if !tree.root_node().has_error() {
        return Ok(Parsed {
            tree,
            skipped: Vec::new(),
        });
    }
    let mut skipped = Vec::new();
    for decl in top_level_declarations(&bytes) {
        let mut alone = b"package p\n".to_vec();
        alone.extend_from_slice(&bytes[decl.clone()]);
        if parse_bytes(&alone, deadline)?.root_node().has_error() {
            skipped.push(decl);
        }
    }
    if skipped.is_empty() {
        return Ok(Parsed { tree, skipped });
    }
    for decl in &skipped {
        for b in &mut bytes[decl.clone()] {
            if *b != b'\n' {
                *b = b' ';
            }
        }
    }
    Ok(Parsed {
        tree: parse_bytes(&bytes, deadline)?,
        skipped,
    })
}

fn parse_bytes(bytes: &[u8], deadline: Option<Instant>) -> Result<Tree, TimedOut> {
    PARSER.with(|p| {
        let mut parser = p.borrow_mut();
        let mut read = |offset: usize, _| bytes.get(offset..).unwrap_or_default();
        let mut progress = |_: &tree_sitter::ParseState| match deadline {
            Some(d) if Instant::now() > d => ControlFlow::Break(()),
            _ => ControlFlow::Continue(()),
        };
        let options = ParseOptions::new().progress_callback(&mut progress);
        match parser.parse_with_options(&mut read, None, Some(options)) {
            Some(tree) => Ok(tree),
            None => {
                parser.reset();
                Err(TimedOut)
            }
        }
    })
}

/// The byte ranges of top-level declarations: from a line starting (in column 0) with
/// `func`, `type`, `var`, `const` or `import` to the next such line.
fn top_level_declarations(bytes: &[u8]) -> Vec<Range<usize>> {
    const STARTS: &[&[u8]] = &[b"func", b"type", b"var", b"const", b"import"];
    let mut starts = Vec::new();
    let mut line_start = 0;
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        let starts_decl = STARTS.iter().any(|kw| {
            line.starts_with(kw)
                && line
                    .get(kw.len())
                    .is_some_and(|&c| matches!(c, b' ' | b'\t' | b'('))
        });
        if starts_decl {
            starts.push(line_start);
        }
        line_start += line.len();
    }
    starts
        .iter()
        .enumerate()
        .map(|(i, &s)| s..starts.get(i + 1).copied().unwrap_or(bytes.len()))
        .collect()
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

    fn parse_now(text: &str) -> Parsed {
        parse(text, None).unwrap()
    }

    #[test]
    fn clean_source_has_no_errors() {
        let parsed = parse_now("package p\n\nfunc f() {}\n");
        assert!(syntax_errors(&parsed.tree).is_empty());
        assert!(parsed.skipped.is_empty());
    }

    #[test]
    fn errors_are_found_in_order() {
        let parsed = parse_now("package p\n\nfunc f() { x := }\nfunc g( {}\n");
        let errors = syntax_errors(&parsed.tree);
        assert!(errors.windows(2).all(|w| w[0].offset <= w[1].offset));
        assert_eq!(parsed.skipped.len(), 2);
    }

    #[test]
    fn bom_is_accepted() {
        assert!(syntax_errors(&parse_now("\u{feff}package p\n").tree).is_empty());
    }

    #[test]
    fn a_broken_declaration_costs_only_itself() {
        let src = "package p\n\ntype R struct{}\n\nfunc (r *R) N(v T T { return v }\n\n\
                   func keep(m map[int]int) { m[1] = 1 }\n";
        let parsed = parse_now(src);
        assert_eq!(parsed.skipped.len(), 1);
        assert!(src[parsed.skipped[0].clone()].starts_with("func (r *R) N(v T T"));
        assert!(syntax_errors(&parsed.tree).is_empty());
        let root = parsed.tree.root_node();
        let mut cursor = root.walk();
        let kept: Vec<_> = root
            .named_children(&mut cursor)
            .filter(|n| n.kind() == "function_declaration")
            .map(|n| &src[n.byte_range()])
            .collect();
        assert_eq!(kept, ["func keep(m map[int]int) { m[1] = 1 }"]);
    }

    #[test]
    fn new_of_an_expression_and_generic_methods_parse() {
        let src = "package p\n\nvar p = new(42)\n\nfunc (r *R) N[T any](v T) T { return v }\n";
        let parsed = parse_now(src);
        assert!(parsed.skipped.is_empty());
        assert!(syntax_errors(&parsed.tree).is_empty());
    }

    #[test]
    fn a_past_deadline_times_out() {
        let src = format!("package p\n\nvar x = 1{}\n", " + 1".repeat(100_000));
        assert_eq!(parse(&src, Some(Instant::now())).unwrap_err(), TimedOut);
        // The parser is usable again afterwards.
        assert!(parse("package p\n", None).is_ok());
    }
}
