//! Which declared functions return storage their callers can name: `return s.items` hands the
//! caller the receiver's `items`, so `m := s.Items()` refers to the same map. Read from the
//! syntax before any body is walked, so that a call resolves whichever file declares it.

use crate::fields::{Field, FieldExt};
use std::collections::{HashMap, HashSet};

use tree_sitter::Node;

use super::decls::{parameter_names, receiver_type_name, PackageDecls};
use super::{Callee, ParsedFile, ELEMENT};

/// The statements a function's returned paths depend on.
const STATEMENTS: &[&str] = &[
    "return_statement",
    "short_var_declaration",
    "var_spec",
    "assignment_statement",
    "range_clause",
    "type_switch_statement",
    "receive_statement",
];

/// How many local variables a returned path is followed through (`m := s.items; return m`).
const MAX_ALIAS_DEPTH: usize = 4;

/// Where a returned path starts, in the callee's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReturnRoot {
    /// The method's receiver.
    Receiver,
    /// The parameter at this index.
    Param(usize),
    /// A package variable.
    Global(String),
}

/// Storage a function returns: a root followed by field selections (`ELEMENT` for `[…]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnPath {
    /// Where it starts.
    pub root: ReturnRoot,
    /// The fields selected from the root, outermost first.
    pub fields: Vec<String>,
}

/// For each declared function or method, by result index, the storage every non-nil
/// `return` hands back (`None` where returns disagree or return something else).
#[derive(Debug, Clone, Default)]
pub struct Returns {
    paths: HashMap<Callee, Vec<Option<ReturnPath>>>,
    /// For functions whose every first result is a new struct literal, its fields set
    /// from storage the caller can name (`return &Flags{values: f.values}`).
    literal_fields: HashMap<Callee, Vec<(String, ReturnPath)>>,
    /// Functions whose every first result is a new struct literal (`t.copy(nil)`).
    fresh: HashSet<Callee>,
    names: HashSet<String>,
}

impl Returns {
    /// Whether a function or method of this name returns shared storage: a cheap test
    /// before a call is resolved.
    pub fn may_return(&self, name: &str) -> bool {
        self.names.contains(name)
    }

    /// The storage result `index` of `callee` returns.
    pub fn path(&self, callee: &Callee, index: usize) -> Option<&ReturnPath> {
        self.paths.get(callee)?.get(index)?.as_ref()
    }

    /// The fields of the new struct `callee` returns first that hold storage the caller
    /// can name: a shallow copy (`Clone` returning `&Flags{values: f.values}`) shares them.
    pub fn literal_fields(&self, callee: &Callee) -> &[(String, ReturnPath)] {
        self.literal_fields.get(callee).map_or(&[], Vec::as_slice)
    }

    /// Whether every first result `callee` returns is a new struct literal: its caller's
    /// variable holds an object still being built.
    pub fn returns_fresh(&self, callee: &Callee) -> bool {
        self.fresh.contains(callee)
    }
}

/// Reads the returned paths of every declared function; `globals` are the package variables.
pub fn collect(files: &[ParsedFile<'_>], decls: &PackageDecls, globals: &HashSet<&str>) -> Returns {
    let mut out = Returns::default();
    let holders = decls.map_holders();
    // Fields that hold maps in some struct of the package: setting one on a struct copy
    // makes the copy's maps its own.
    let map_fields: HashSet<&str> = decls
        .structs
        .values()
        .flat_map(|s| &s.fields)
        .filter(|(_, t)| match t {
            crate::index::TypeInfo::Map { .. } => true,
            crate::index::TypeInfo::Named(n) => holders.contains(n.as_str()),
            _ => false,
        })
        .map(|(f, _)| f.as_str())
        .collect();
    for file in files {
        let src = file.source.text.as_str();
        let root = file.tree.root_node();
        let mut cursor = root.walk();
        for decl in root.named_children(&mut cursor) {
            let callee = match decl.kind() {
                "function_declaration" => decl
                    .field(Field::Name)
                    .map(|n| Callee::Func(src[n.byte_range()].to_string())),
                "method_declaration" => decl.field(Field::Name).and_then(|n| {
                    let ty = receiver_type_name(decl, src)?;
                    Some(Callee::Method(
                        ty.to_string(),
                        src[n.byte_range()].to_string(),
                    ))
                }),
                _ => None,
            };
            // Only a result of a map type or of a type the package declares can hold a map.
            let holds_map = decl
                .field(Field::Result)
                .is_some_and(|r| may_hold_map(r, src, &holders));
            let Some(callee) = callee.filter(|_| holds_map) else {
                continue;
            };
            let function = Function::new(decl, src, globals, &map_fields);
            let paths = function.returned();
            let literal = function.returned_literal();
            let (Callee::Func(name) | Callee::Method(_, name)) = &callee else {
                continue;
            };
            if paths.iter().any(Option::is_some) || literal.is_some() {
                out.names.insert(name.clone());
            }
            if let Some(fields) = literal {
                out.fresh.insert(callee.clone());
                if !fields.is_empty() {
                    out.literal_fields.entry(callee.clone()).or_insert(fields);
                }
            }
            if paths.iter().any(Option::is_some) {
                out.paths.entry(callee).or_insert(paths);
            }
        }
    }
    out
}

/// Whether a result type (or list) names a map, or a type of the package holding one.
fn may_hold_map(ty: Node<'_>, src: &str, holders: &HashSet<&str>) -> bool {
    match ty.kind() {
        "map_type" => true,
        "type_identifier" => holders.contains(&src[ty.byte_range()]),
        "generic_type" => ty
            .field(Field::Type)
            .is_some_and(|t| may_hold_map(t, src, holders)),
        // A channel of maps (`func (b *Batcher) Batches() <-chan Batch`) hands them over.
        "channel_type" => ty
            .field(Field::Value)
            .is_some_and(|t| may_hold_map(t, src, holders)),
        "pointer_type" | "parenthesized_type" => ty
            .named_child(0)
            .is_some_and(|t| may_hold_map(t, src, holders)),
        "parameter_list" => {
            let mut cursor = ty.walk();
            let any = ty
                .named_children(&mut cursor)
                .any(|p| may_hold_map(p, src, holders));
            any
        }
        "parameter_declaration" => ty
            .field(Field::Type)
            .is_some_and(|t| may_hold_map(t, src, holders)),
        _ => false,
    }
}

/// A field the body assigns.
struct Assigned<'a> {
    /// The field, in the callee's terms.
    path: ReturnPath,
    /// The assignment's offset.
    at: usize,
    /// The local variable assigned to it, if one is (`s.m[k] = v`).
    value: Option<&'a str>,
    /// The variable the target is written through (`c` in `c.labels = …`).
    through: &'a str,
}

/// One declared function, as far as its returns are concerned.
struct Function<'a> {
    src: &'a str,
    receiver: Option<&'a str>,
    params: Vec<&'a str>,
    globals: &'a HashSet<&'a str>,
    /// Field names that hold maps in some struct of the package.
    map_fields: &'a HashSet<&'a str>,
    /// The body's declaring, assigning and returning statements.
    statements: Vec<Node<'a>>,
    /// Local variables declared once with a single initializer, and that initializer.
    locals: HashMap<&'a str, Option<Node<'a>>>,
    /// Fields the body assigns (`s.items = fresh`).
    assigned: Vec<Assigned<'a>>,
    /// Locals given a new map or object after their declaration (`v = make(…)`).
    renewed: HashSet<&'a str>,
    named_results: bool,
}

impl<'a> Function<'a> {
    fn new(
        decl: Node<'a>,
        src: &'a str,
        globals: &'a HashSet<&'a str>,
        map_fields: &'a HashSet<&'a str>,
    ) -> Self {
        let names = |list: Option<Node<'a>>| -> Vec<&'a str> {
            list.map(|l| {
                parameter_names(l, src)
                    .into_iter()
                    .map(|(n, _)| n)
                    .collect()
            })
            .unwrap_or_default()
        };
        let result = decl.field(Field::Result);
        let mut f = Function {
            src,
            statements: Self::statements(decl.field(Field::Body)),
            receiver: names(decl.field(Field::Receiver)).first().copied(),
            params: names(decl.field(Field::Parameters)),
            globals,
            map_fields,
            locals: HashMap::new(),
            assigned: Vec::new(),
            renewed: HashSet::new(),
            named_results: result.is_some_and(|r| {
                r.kind() == "parameter_list" && names(Some(r)).iter().any(|n| *n != "_")
            }),
        };
        f.collect_locals();
        f.collect_assigned();
        f.keep_get_or_create();
        f
    }

    /// The get-or-create idiom (`v, ok := s.m[k]; if !ok { v = make(…); s.m[k] = v };
    /// return v`): a local given a new value that it then stores where it was read from
    /// holds that storage on every path. Any other reassignment loses what it holds.
    fn keep_get_or_create(&mut self) {
        let renewed: Vec<&'a str> = self.renewed.iter().copied().collect();
        for name in renewed {
            let Some(Some(init)) = self.locals.get(name).copied() else {
                continue;
            };
            let read_from = self.resolve(init, 1);
            let stored_back = read_from.is_some()
                && self
                    .assigned
                    .iter()
                    .any(|a| a.value == Some(name) && Some(&a.path) == read_from.as_ref());
            if !stored_back {
                self.locals.insert(name, None);
            }
        }
    }

    /// The fields the body assigns, so that a swap (`m := s.items; s.items = fresh;
    /// return m`) is not taken for returning `s.items`.
    fn collect_assigned(&mut self) {
        for &node in &self.statements {
            if node.kind() != "assignment_statement" {
                continue;
            }
            let Some(left) = node.field(Field::Left) else {
                continue;
            };
            let values: Vec<Node<'a>> = node
                .field(Field::Right)
                .map(|r| {
                    let mut c = r.walk();
                    r.named_children(&mut c).collect()
                })
                .unwrap_or_default();
            let mut cursor = left.walk();
            for (i, target) in left.named_children(&mut cursor).enumerate() {
                if target.kind() == "identifier" {
                    continue;
                }
                let value = values
                    .get(i)
                    .filter(|v| v.kind() == "identifier")
                    .map(|v| &self.src[v.byte_range()]);
                let through = root_name(target, self.src);
                if let (Some(path), Some(through)) = (self.resolve(target, 0), through) {
                    self.assigned.push(Assigned {
                        path,
                        at: node.start_byte(),
                        value,
                        through,
                    });
                }
            }
        }
    }

    /// The statements of the body (outside nested function literals) that declare, assign
    /// or return, in source order: one cursor walk.
    fn statements(body: Option<Node<'a>>) -> Vec<Node<'a>> {
        let mut out = Vec::new();
        let Some(body) = body else { return out };
        let mut cursor = body.walk();
        'walk: loop {
            let node = cursor.node();
            let kind = node.kind();
            if STATEMENTS.contains(&kind) {
                out.push(node);
            }
            if kind != "func_literal" && cursor.goto_first_child() {
                continue;
            }
            while !cursor.goto_next_sibling() {
                if !cursor.goto_parent() || cursor.node() == body {
                    break 'walk;
                }
            }
        }
        out
    }

    fn collect_locals(&mut self) {
        let list = |n: Option<Node<'a>>| -> Vec<Node<'a>> {
            let Some(n) = n else { return Vec::new() };
            if n.kind() != "expression_list" {
                return vec![n];
            }
            let mut c = n.walk();
            n.named_children(&mut c).collect()
        };
        for &node in &self.statements {
            let (left, right) = match node.kind() {
                "short_var_declaration" | "var_spec" | "assignment_statement" => {
                    let names = if node.kind() == "var_spec" {
                        let mut c = node.walk();
                        node.children_by_field_name("name", &mut c).collect()
                    } else {
                        list(node.field(Field::Left))
                    };
                    (
                        names,
                        list(
                            node.field(Field::Right)
                                .or_else(|| node.field(Field::Value)),
                        ),
                    )
                }
                "range_clause" | "type_switch_statement" | "receive_statement" => (
                    list(node.field(Field::Left).or_else(|| node.field(Field::Alias))),
                    Vec::new(),
                ),
                _ => continue,
            };
            let paired = left.len() == right.len();
            for (i, name) in left.iter().enumerate() {
                if name.kind() != "identifier" {
                    continue;
                }
                let text = &self.src[name.byte_range()];
                // `v, ok := m[k]`: the first name holds the element.
                let reassigned = node.kind() == "assignment_statement";
                if reassigned && paired && is_fresh(right[i], self.src) {
                    // Kept or dropped once the stores are known (`keep_get_or_create`).
                    self.renewed.insert(text);
                    continue;
                }
                let init = match right.as_slice() {
                    _ if reassigned => None,
                    _ if paired => Some(right[i]),
                    [one] if i == 0 && one.kind() == "index_expression" => Some(*one),
                    _ => None,
                };
                self.locals
                    .entry(text)
                    .and_modify(|v| *v = None)
                    .or_insert(init);
            }
        }
    }

    /// The path each result index returns, agreed on by every `return` that is not `nil`.
    fn returned(&self) -> Vec<Option<ReturnPath>> {
        let mut out: Vec<Option<Option<ReturnPath>>> = Vec::new();
        for &node in &self.statements {
            if node.kind() != "return_statement" {
                continue;
            }
            let Some(list) = node.named_child(0) else {
                if self.named_results {
                    return Vec::new();
                }
                continue;
            };
            let mut cursor = list.walk();
            let exprs: Vec<_> = if list.kind() == "expression_list" {
                list.named_children(&mut cursor).collect()
            } else {
                vec![list]
            };
            if out.len() < exprs.len() {
                out.resize(exprs.len(), None);
            }
            for (i, expr) in exprs.into_iter().enumerate() {
                if expr.kind() == "nil" {
                    continue;
                }
                let path = self.resolve(expr, 0);
                out[i] = match (out[i].take(), path) {
                    (None, path) => Some(path),
                    (Some(seen), path) if seen == path => Some(seen),
                    _ => Some(None),
                };
            }
        }
        out.into_iter().map(Option::flatten).collect()
    }

    /// When every `return` hands back a new struct literal first (`&T{…}` or `T{…}`), the
    /// fields it sets from storage the caller can name, agreed on by every such return.
    fn returned_literal(&self) -> Option<Vec<(String, ReturnPath)>> {
        let mut out: Option<Vec<(String, ReturnPath)>> = None;
        for &node in &self.statements {
            if node.kind() != "return_statement" {
                continue;
            }
            let first = node.named_child(0).and_then(|list| match list.kind() {
                "expression_list" => list.named_child(0),
                _ => Some(list),
            })?;
            if first.kind() == "nil" {
                continue;
            }
            let fields = self.literal_field_paths(first)?;
            out = Some(match out {
                None => fields,
                Some(seen) => seen.into_iter().filter(|f| fields.contains(f)).collect(),
            });
        }
        out
    }

    /// The keyed fields of a struct literal set from storage the caller can name; `None`
    /// when `expr` is no struct literal.
    fn literal_field_paths(&self, expr: Node<'a>) -> Option<Vec<(String, ReturnPath)>> {
        let fields = super::keyed_fields(expr)?
            .into_iter()
            .filter_map(|(key, value)| {
                Some((
                    self.src[key.byte_range()].to_string(),
                    self.resolve(value, 0)?,
                ))
            })
            .collect();
        Some(fields)
    }

    /// The path an expression denotes, if it is rooted at the receiver, a parameter or a
    /// package variable.
    fn resolve(&self, expr: Node<'a>, depth: usize) -> Option<ReturnPath> {
        let mut fields = Vec::new();
        let mut cur = expr;
        let name = loop {
            match cur.kind() {
                "identifier" => break &self.src[cur.byte_range()],
                "selector_expression" => {
                    fields.push(self.src[cur.field(Field::Field)?.byte_range()].to_string());
                    cur = cur.field(Field::Operand)?;
                }
                "index_expression" => {
                    fields.push(ELEMENT.to_string());
                    cur = cur.field(Field::Operand)?;
                }
                "parenthesized_expression" => cur = cur.named_child(0)?,
                "call_expression" => cur = shallow_slice_copy(cur, self.src)?,
                // `*c`, and `&n` of a copy `n := *c`: a shallow copy shares `c`'s maps.
                "unary_expression"
                    if cur
                        .field(Field::Operator)
                        .is_some_and(|o| matches!(&self.src[o.byte_range()], "*" | "&")) =>
                {
                    cur = cur.field(Field::Operand)?;
                }
                _ => return None,
            }
        };
        fields.reverse();
        let mut path = if let Some(local) = self.locals.get(name) {
            let init = (*local)?;
            if depth >= MAX_ALIAS_DEPTH {
                return None;
            }
            let path = self.resolve(init, depth + 1)?;
            // Storing the local back where it was read from is no swap. A field set
            // through the local itself (`c := base; c.labels = clone`) may make it a copy
            // that no longer is what it was taken from.
            let swapped = self.assigned.iter().any(|a| {
                a.at > init.start_byte()
                    && a.value != Some(name)
                    && a.path.root == path.root
                    && (path.fields.starts_with(&a.path.fields)
                        || (a.through == name
                            && a.path
                                .fields
                                .last()
                                .is_some_and(|f| self.map_fields.contains(f.as_str()))))
            });
            if swapped {
                return None;
            }
            path
        } else if Some(name) == self.receiver {
            ReturnPath {
                root: ReturnRoot::Receiver,
                fields: Vec::new(),
            }
        } else if let Some(i) = self.params.iter().position(|p| *p == name) {
            ReturnPath {
                root: ReturnRoot::Param(i),
                fields: Vec::new(),
            }
        } else if self.globals.contains(name) {
            ReturnPath {
                root: ReturnRoot::Global(name.to_string()),
                fields: Vec::new(),
            }
        } else {
            return None;
        };
        path.fields.extend(fields);
        Some(path)
    }
}

/// The slice a call copies shallowly (`append(Batch(nil), b...)`, `append([]T{}, b...)`,
/// `slices.Clone(b)`): the copy is another slice of the same elements, so the maps in its
/// elements are the original's.
pub fn shallow_slice_copy<'t>(call: Node<'t>, src: &str) -> Option<Node<'t>> {
    let function = call.field(Field::Function)?;
    let args = call.field(Field::Arguments)?;
    let mut cursor = args.walk();
    let args: Vec<Node<'t>> = args.named_children(&mut cursor).collect();
    match (&src[function.byte_range()], args.as_slice()) {
        ("slices.Clone", [copied]) => Some(*copied),
        ("append", [empty, spread]) if spread.kind() == "variadic_argument" => {
            let empty_literal = empty.kind() == "composite_literal"
                && empty
                    .field(Field::Body)
                    .is_some_and(|b| b.named_child_count() == 0);
            // `T(nil)`, a conversion of `nil`.
            let nil_conversion = empty.kind() == "call_expression"
                && empty
                    .field(Field::Arguments)
                    .is_some_and(|a| a.named_child_count() == 1 && &src[a.byte_range()] == "(nil)");
            (empty.kind() == "nil" || empty_literal || nil_conversion)
                .then(|| spread.named_child(0))?
        }
        _ => None,
    }
}

/// Whether an expression makes a new value: `make(…)`, `new(…)`, a composite literal or
/// its address.
fn is_fresh(expr: Node<'_>, src: &str) -> bool {
    match expr.kind() {
        "composite_literal" => true,
        "unary_expression" => expr
            .field(Field::Operand)
            .is_some_and(|o| o.kind() == "composite_literal"),
        "call_expression" => expr
            .field(Field::Function)
            .is_some_and(|f| matches!(&src[f.byte_range()], "make" | "new")),
        _ => false,
    }
}

/// The variable an assignment target is written through: `c` in `c.labels["k"] = v`.
fn root_name<'a>(target: Node<'a>, src: &'a str) -> Option<&'a str> {
    let mut cur = target;
    loop {
        match cur.kind() {
            "identifier" => return Some(&src[cur.byte_range()]),
            "selector_expression" | "index_expression" | "unary_expression" => {
                cur = cur.field(Field::Operand)?;
            }
            "parenthesized_expression" => cur = cur.named_child(0)?,
            _ => return None,
        }
    }
}
