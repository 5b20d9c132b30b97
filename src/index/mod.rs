//! Index: extracts, once per package, the facts every rule consumes.
//!
//! For every function body the walker records, in program order, the map accesses, the
//! goroutine spawns, and the synchronization events (waits and signals), each with the lock
//! set held there and its position in the control structure (loops and branches). Variables
//! are resolved through lexical scopes to [`Binding`]s, and storage locations (`m`, `s.items`)
//! are interned as [`Place`]s, so two mentions of the same map compare equal.
//! The index never does I/O and never reports anything: rules in `analyze` do.

pub mod apis;
mod channels;
mod conds;
mod decls;
mod dispatch;
mod events;
pub mod exports;
mod facts;
mod globals;
mod lock_helpers;
mod map_use;
mod memo;
mod param_calls;
mod passed_literals;
mod registrations;
mod returns;
pub mod rpc;
mod semaphores;
mod spawning_params;
mod types;
mod walk;

use crate::fields::{Field, FieldExt};
use tree_sitter::{Node, Tree};

use crate::constraints::BuildContext;
use crate::source::SourceFile;

pub use decls::PackageDecls;
pub use events::*;
pub use facts::*;
pub use returns::{ReturnPath, ReturnRoot, Returns};
pub use spawning_params::SpawningParams;
pub use types::TypeInfo;

/// A place as written in Go: `s.items`, with elements shown as `m[…]`.
pub fn place_text(root: &str, fields: &[String]) -> String {
    let mut text = root.to_string();
    for f in fields {
        if f == ELEMENT {
            text.push_str("[…]");
        } else {
            text.push('.');
            text.push_str(f);
        }
    }
    text
}

/// The fields a struct literal (`T{F: x}` or `&T{F: x}`) sets by name, each with its
/// value; `None` when `expr` is no composite literal.
fn keyed_fields<'t>(
    expr: tree_sitter::Node<'t>,
) -> Option<Vec<(tree_sitter::Node<'t>, tree_sitter::Node<'t>)>> {
    let mut literal = expr;
    if literal.kind() == "unary_expression" {
        literal = literal.field(Field::Operand)?;
    }
    if literal.kind() != "composite_literal" {
        return None;
    }
    let body = literal.field(Field::Body)?;
    let mut cursor = body.walk();
    let unwrap = |n: Option<tree_sitter::Node<'t>>| n.and_then(|n| n.named_child(0));
    let fields = body
        .named_children(&mut cursor)
        .filter(|e| e.kind() == "keyed_element")
        .filter_map(|e| {
            let key = unwrap(e.field(Field::Key))?;
            let value = unwrap(e.field(Field::Value))?;
            (key.kind() == "identifier").then_some((key, value))
        })
        .collect();
    Some(fields)
}

/// Every named node below `node`, in source order (the syntax pre-passes' walk).
fn descendants(node: tree_sitter::Node<'_>) -> Vec<tree_sitter::Node<'_>> {
    let mut out = Vec::new();
    let mut cursor = node.walk();
    if !cursor.goto_first_child() {
        return out;
    }
    loop {
        let n = cursor.node();
        if n.is_named() {
            out.push(n);
        }
        if cursor.goto_first_child() {
            continue;
        }
        while !cursor.goto_next_sibling() {
            if !cursor.goto_parent() || cursor.node() == node {
                return out;
            }
        }
    }
}

/// A parsed file of the package being indexed.
pub struct ParsedFile<'a> {
    /// The source text and path.
    pub source: &'a SourceFile,
    /// Its syntax tree.
    pub tree: &'a Tree,
}

/// Why part of a file was not indexed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexWarning {
    /// The file concerned.
    pub file: FileId,
    /// Byte offset of the construct left out.
    pub offset: usize,
    /// What was left out and why.
    pub message: String,
}

/// Indexes one package: the files must share a directory and a `package` clause.
/// `imports` are the methods of the module's other packages it calls.
pub fn index_package(
    name: &str,
    files: &[ParsedFile<'_>],
    apis: &apis::Apis,
    imports: &exports::Imports,
) -> (PackageFacts, Vec<IndexWarning>) {
    let mut facts = PackageFacts {
        name: name.to_string(),
        ..PackageFacts::default()
    };
    facts.decls = decls::collect(files, imports);
    let globals = globals::declare_globals(&mut facts, files);
    let names = globals.keys().map(String::as_str).collect();
    facts.decls.returns = returns::collect(files, &facts.decls, &names);
    facts.decls.spawning = spawning_params::collect(files);
    facts.decls.param_calls = param_calls::collect(files);
    facts.decls.registrations = registrations::collect(files);
    facts.decls.done_params = spawning_params::done_params(files);
    (facts.decls.one_slot, facts.decls.tokens) = semaphores::collect(files);
    facts.decls.cond_flags = conds::collect(files);
    let mut warnings = Vec::new();
    // A function defined in several build variants (`x_plan9.go`, `x_unix.go`) resolves to
    // the first walked: walk the host platform's files first, as `go vet` would see them
    // (a run leaves other platforms' files out; files given in memory may hold them).
    let host = BuildContext::default();
    let mut order: Vec<usize> = (0..files.len()).collect();
    order.sort_by_key(|&i| !host.name_matches(&files[i].source.path));
    for i in order {
        walk::walk_file(
            &mut facts,
            apis,
            &globals,
            i as FileId,
            &files[i],
            &mut warnings,
        );
    }
    for func in &mut facts.funcs {
        func.in_test = files[func.file as usize]
            .source
            .path
            .to_string_lossy()
            .ends_with("_test.go");
    }
    dispatch::apply(&mut facts);
    dispatch::function_types(&mut facts);
    lock_helpers::apply(&mut facts);
    passed_literals::apply(&mut facts);
    channels::apply(&mut facts);
    rpc::apply(&mut facts, files);
    registered_handlers(&mut facts);
    memo::apply(&mut facts, files);
    (facts, warnings)
}

/// Drops the handler mark of functions the package registers itself: the registration's
/// spawn already runs them many times at once, and reports name its site.
fn registered_handlers(facts: &mut PackageFacts) {
    let registered: Vec<FuncId> = facts
        .funcs
        .iter()
        .flat_map(|f| &f.events)
        .filter_map(|e| match &e.kind {
            EventKind::Spawn {
                target, repeated, ..
            } if *repeated => facts.resolve(&target.callee),
            _ => None,
        })
        .collect();
    for f in registered {
        facts.funcs[f as usize].handler = None;
    }
}

/// The import declarations of a file: (explicit name, path).
pub fn import_specs(root: Node<'_>, src: &str) -> Vec<(Option<String>, String)> {
    let mut specs = Vec::new();
    let mut cursor = root.walk();
    for decl in root.named_children(&mut cursor) {
        if decl.kind() != "import_declaration" {
            continue;
        }
        let mut stack = vec![decl];
        while let Some(node) = stack.pop() {
            if node.kind() != "import_spec" {
                let mut c = node.walk();
                stack.extend(node.named_children(&mut c));
                continue;
            }
            let Some(path) = node.field(Field::Path) else {
                continue;
            };
            let path = src[path.byte_range()].trim_matches(['"', '`']).to_string();
            let name = node
                .field(Field::Name)
                .map(|n| src[n.byte_range()].to_string());
            specs.push((name, path));
        }
    }
    specs
}

/// Whether a function name (`(*T).Get`, `Get`) is exported.
pub fn is_exported(name: &str) -> bool {
    name.rsplit('.')
        .next()
        .and_then(|n| n.chars().next())
        .is_some_and(char::is_uppercase)
}
