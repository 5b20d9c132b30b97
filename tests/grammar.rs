//! The vendored Go grammar against its corpus (`grammar/tree-sitter-go/test/corpus`): the
//! upstream cases and mapguard's own, in tree-sitter's corpus format, compared as
//! `tree-sitter test` compares them (field names only where the expected tree has them).

use std::path::Path;

/// One corpus case.
struct Case {
    file: String,
    name: String,
    source: String,
    expected: String,
}

fn is_rule(line: &str, c: char) -> bool {
    line.len() >= 3 && line.chars().all(|x| x == c)
}

/// Splits a corpus file into its cases: a header between two `===` lines, the source, a
/// `---` line, the expected tree.
fn cases(file: &Path) -> Vec<Case> {
    let text = std::fs::read_to_string(file).unwrap().replace("\r\n", "\n");
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if !is_rule(lines[i], '=') {
            i += 1;
            continue;
        }
        let name = lines[i + 1].trim().to_string();
        let attributes: Vec<&str> = lines[i + 2..]
            .iter()
            .take_while(|l| !is_rule(l, '='))
            .copied()
            .collect();
        let body_start = i + 3 + attributes.len();
        let divider = (body_start..lines.len())
            .find(|&j| is_rule(lines[j], '-'))
            .expect("a divider after the source");
        let end = (divider..lines.len())
            .find(|&j| is_rule(lines[j], '='))
            .unwrap_or(lines.len());
        if !attributes.iter().any(|a| a.trim() == ":skip") {
            out.push(Case {
                file: file.file_name().unwrap().to_string_lossy().into_owned(),
                name,
                source: lines[body_start..divider].join("\n"),
                expected: lines[divider + 1..end].join("\n"),
            });
        }
        i = end;
    }
    out
}

/// Whitespace-insensitive S-expression, without field names unless `fields`.
fn normalize(sexp: &str, fields: bool, field: &regex::Regex) -> String {
    let sexp = if fields {
        sexp.to_string()
    } else {
        field.replace_all(sexp, "").into_owned()
    };
    let spaced = sexp.replace('(', " ( ").replace(')', " ) ");
    spaced.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn the_grammar_parses_its_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("grammar/tree-sitter-go/test/corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut parser = tree_sitter::Parser::new();
    parser
        .set_language(&tree_sitter_go::LANGUAGE.into())
        .unwrap();
    let field = regex::Regex::new(r"\b[a-z_]+: ").unwrap();
    let field_before_node = regex::Regex::new(r"\b[a-z_]+: \(").unwrap();
    let mut failures = Vec::new();
    let mut count = 0;
    for file in &files {
        for case in cases(file) {
            count += 1;
            let tree = parser.parse(&case.source, None).unwrap();
            let fields = field_before_node.is_match(&case.expected);
            let actual = normalize(&tree.root_node().to_sexp(), fields, &field);
            let expected = normalize(&case.expected, fields, &field);
            if actual != expected {
                failures.push(format!(
                    "{} / {}:\n  expected {expected}\n  actual   {actual}",
                    case.file, case.name
                ));
            }
        }
    }
    assert!(count > 60, "only {count} corpus cases found");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn new_with_an_expression_and_generic_methods_parse_without_errors() {
    let source = "package p\n\nfunc (r *Rand) N[Int intType](n Int) Int { return n }\n\n\
                  func f(cfg Config) {\n\ta := new(true)\n\tb := new(cfg.Timeout)\n\t\
                  c := new(1 + len(cfg.Name))\n\td := new(int)\n\t_, _, _, _ = a, b, c, d\n}\n";
    let mut parser = tree_sitter::Parser::new();
    parser
        .set_language(&tree_sitter_go::LANGUAGE.into())
        .unwrap();
    let tree = parser.parse(source, None).unwrap();
    assert!(
        !tree.root_node().has_error(),
        "{}",
        tree.root_node().to_sexp()
    );
}
