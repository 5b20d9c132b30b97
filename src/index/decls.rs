//! Package-level declarations: named types, struct fields, function results and package
//! variables, collected from every file before any function body is walked.

use crate::fields::{Field, FieldExt};
use std::collections::{HashMap, HashSet};

use tree_sitter::Node;

use super::map_use::{foreign_map_types, map_used_fields};

use super::types::{type_of_type_node, TypeInfo};
use super::ParsedFile;

/// How deep named types and embedded structs are followed (cycles are legal Go).
const MAX_TYPE_DEPTH: usize = 8;

/// A struct type's fields.
#[derive(Debug, Clone, Default)]
pub struct StructDecl {
    /// Named fields and their types.
    pub fields: HashMap<String, TypeInfo>,
    /// Embedded struct types, whose fields are promoted.
    pub embedded: Vec<String>,
    /// Declared guards from gVisor checklocks annotations: field → mutex field
    /// (`// +checklocks:mu`).
    pub guards: HashMap<String, String>,
    /// Fields and embedded types declared as pointers: a copy of the struct shares what
    /// they point to.
    pub pointers: HashSet<String>,
}

/// What the package declares at the top level.
#[derive(Debug, Clone, Default)]
pub struct PackageDecls {
    /// Named non-struct types and their underlying types (`type Registry map[string]int`).
    pub named: HashMap<String, TypeInfo>,
    /// Struct types.
    pub structs: HashMap<String, StructDecl>,
    /// Interface types and the methods they list.
    pub interfaces: HashMap<String, Vec<String>>,
    /// Named function types (`type Option func(*config)`).
    pub func_types: HashSet<String>,
    /// Functions with a single result, and its type.
    pub func_results: HashMap<String, TypeInfo>,
    /// Functions with several results, and the type of each (`(*T, error)`): what
    /// `t, err := f()` declares.
    pub func_result_lists: HashMap<String, Vec<TypeInfo>>,
    /// The (first) result type of the package's methods, by (receiver type, method): what
    /// `f := global.Clone()` declares.
    pub method_results: HashMap<(String, String), TypeInfo>,
    /// Names of the package-level functions.
    pub funcs: HashSet<String>,
    /// Package-level functions with a request handler's parameters.
    pub handler_funcs: HashSet<String>,
    /// Method names by receiver type name.
    pub methods: HashMap<String, HashSet<String>>,
    /// Package constants declared `false` (`const debug = false`): code under them is dead.
    pub false_consts: HashSet<String>,
    /// Package variables an `init` function sets to nil: maps used only while the package
    /// initializes, which runs on one goroutine.
    pub retired: HashSet<String>,
    /// The maps each function returns, as paths from its receiver, parameters or package
    /// variables.
    pub returns: super::Returns,
    /// Methods that keep a function parameter in a field of their receiver.
    pub registrations: super::registrations::Registrations,
    /// Package functions and methods that run a function parameter on another goroutine, by
    /// name (`parallel`, `Server.startGoRoutine`).
    pub spawning: HashMap<String, super::SpawningParams>,
    /// Package functions and methods that call a function parameter in place with some of
    /// their parameters, by name (`apply`, `Server.configure`).
    pub param_calls: HashMap<String, super::param_calls::ParamCalls>,
    /// Package functions that signal a WaitGroup parameter as they return, by name: the
    /// parameter's index.
    pub done_params: HashMap<String, usize>,
    /// Other packages' types the package uses as maps (`pkg.Labels` of a field it
    /// `delete`s from): every field, parameter and variable of these types is a map.
    pub foreign_maps: HashSet<String>,
    /// Names of the variables and fields the package makes one-slot channels or weight-one
    /// semaphores only (`sem: make(chan struct{}, 1)`, `semaphore.NewWeighted(1)`): a send
    /// that the same function later receives back, or `Acquire(ctx, 1)`, holds it as a
    /// mutex.
    pub one_slot: HashSet<String>,
    /// The one-slot channels kept full as a token (`semaphores::collect`).
    pub tokens: HashSet<String>,
    /// The last names of the flags `for !flag { cond.Wait() }` loops wait on
    /// (`conds`).
    pub cond_flags: HashSet<String>,
    /// Methods of other packages of the module, by the qualified type this package writes
    /// (`store.Store`): what each does to the receiver's maps.
    pub imported: super::exports::Imports,
}

impl PackageDecls {
    /// Resolves a type name declared in the package.
    pub fn resolve_named(&self, name: &str) -> TypeInfo {
        let mut ty = TypeInfo::Named(name.to_string());
        for _ in 0..MAX_TYPE_DEPTH {
            match &ty {
                TypeInfo::Named(n)
                    if self.structs.contains_key(n)
                        || self.interfaces.contains_key(n)
                        || self.func_types.contains(n) =>
                {
                    return ty
                }
                // A basic type of its own with methods (`type tag string`): its name, for
                // the calls of its methods.
                TypeInfo::Named(n) => match self.named.get(n) {
                    Some(TypeInfo::Named(next))
                        if self.methods.contains_key(n) && !self.declares(next) =>
                    {
                        return ty
                    }
                    Some(next) => ty = next.clone(),
                    None => return TypeInfo::Unknown,
                },
                // Methods are declared on the name, not on the map type under it.
                TypeInfo::Map { value, name: None } => {
                    return TypeInfo::Map {
                        value: value.clone(),
                        name: Some(name.to_string()),
                    }
                }
                TypeInfo::Slice(elem, None) if self.methods.contains_key(name) => {
                    return TypeInfo::Slice(elem.clone(), Some(name.to_string()))
                }
                _ => return ty,
            }
        }
        TypeInfo::Unknown
    }

    /// Whether the package declares a type named `name`.
    fn declares(&self, name: &str) -> bool {
        self.named.contains_key(name)
            || self.structs.contains_key(name)
            || self.interfaces.contains_key(name)
    }

    /// The type declaring method `method` for a value of type `ty`, and the embedded fields
    /// selected to reach it (empty unless the method is promoted from an embedded struct or
    /// interface).
    pub fn method_owner(&self, ty: &str, method: &str) -> Option<(String, Vec<String>)> {
        let mut queue = std::collections::VecDeque::from([(ty.to_string(), Vec::new())]);
        while let Some((t, path)) = queue.pop_front() {
            if self.methods.get(&t).is_some_and(|m| m.contains(method)) {
                return Some((t, path));
            }
            // An embedded interface (`type Resolver struct{ Cache }`): its one implementer,
            // or the interface, resolved once its made implementers are known.
            let listed = self.interfaces.get(&t);
            if !path.is_empty() && listed.is_some_and(|m| m.iter().any(|m| m == method)) {
                let owner = self.sole_implementer(&t, method).map(str::to_string);
                return Some((owner.unwrap_or(t), path));
            }
            if path.len() < MAX_TYPE_DEPTH {
                for e in self.structs.get(&t).map_or(&[][..], |s| &s.embedded) {
                    let mut next = path.clone();
                    next.push(e.clone());
                    queue.push_back((e.clone(), next));
                }
            }
        }
        None
    }

    /// The embedded fields selected, outermost first, to reach the struct holding `found`
    /// from struct `ty` (breadth first: Go's shallowest promotion wins): `[Inventory,
    /// store]` for `data` of a `Warehouse` embedding `*Inventory`, which embeds `store`.
    /// `None` when `ty` holds it itself or no embedded struct does.
    fn embedding_path(
        &self,
        ty: &str,
        found: impl Fn(&str, &StructDecl) -> bool,
    ) -> Option<Vec<String>> {
        let mut queue = std::collections::VecDeque::from([(ty.to_string(), Vec::new())]);
        while let Some((t, path)) = queue.pop_front() {
            let Some(decl) = self.structs.get(&t) else {
                continue;
            };
            if found(&t, decl) {
                return (!path.is_empty()).then_some(path);
            }
            if path.len() < MAX_TYPE_DEPTH {
                for e in &decl.embedded {
                    let mut next: Vec<String> = path.clone();
                    next.push(e.clone());
                    queue.push_back((e.clone(), next));
                }
            }
        }
        None
    }

    /// The embedded fields a selection of `field` from struct `ty` passes through when the
    /// field is promoted (`w.data` is `w.Inventory.store.data`), so that every spelling of
    /// one field is one place.
    pub fn promotion(&self, ty: &str, field: &str) -> Option<Vec<String>> {
        self.embedding_path(ty, |_, d| {
            d.fields.contains_key(field) || d.embedded.iter().any(|e| e == field)
        })
    }

    /// The embedded fields selected, outermost first, to reach the embedded struct `inner`
    /// of struct `ty` (`[base]` for an `audioManager` embedding `*base`); `None` when `ty`
    /// is `inner` or does not embed it.
    pub fn embedding(&self, ty: &str, inner: &str) -> Option<Vec<String>> {
        self.embedding_path(ty, |t, _| t == inner)
    }

    /// The embedded fields selected to reach the struct embedding the `sync.Mutex` (or
    /// `RWMutex`) that `x.Lock()` locks on a value of struct `ty`, when that mutex is
    /// promoted from an embedded struct (`w.Lock()` locks `w.Inventory.store`).
    pub fn promoted_mutex(&self, ty: &str) -> Option<Vec<String>> {
        if self.methods.get(ty).is_some_and(|m| m.contains("Lock")) {
            return None;
        }
        self.embedding_path(ty, |_, d| {
            d.embedded
                .iter()
                .any(|e| matches!(e.as_str(), "Mutex" | "RWMutex"))
        })
    }

    /// Whether `fields` selected from a value of struct type `ty` stay inside that value,
    /// through no pointer: a copy of the value has its own copy of what they reach (its
    /// mutex). With no fields, whether the struct embeds no pointer (`s.Lock()` on an
    /// embedded `sync.Mutex`).
    pub fn by_value_path(&self, ty: &str, fields: &[String]) -> bool {
        if fields.is_empty() {
            return self
                .structs
                .get(ty)
                .is_some_and(|decl| !decl.embedded.iter().any(|e| decl.pointers.contains(e)));
        }
        let mut cur = ty;
        for (i, field) in fields.iter().enumerate() {
            let Some(decl) = self.structs.get(cur) else {
                return false;
            };
            if decl.pointers.contains(field) {
                return false;
            }
            match decl.fields.get(field) {
                None => return false,
                // A channel, map or slice is a reference: copies share what it refers to.
                Some(TypeInfo::Chan(_) | TypeInfo::Map { .. } | TypeInfo::Slice(..)) => {
                    return false
                }
                Some(_) if i + 1 == fields.len() => {}
                Some(TypeInfo::Named(next)) => cur = next,
                Some(_) => return false,
            }
        }
        true
    }

    /// The named types whose values are or hold a map: map types, and structs with a map
    /// among their fields (followed through the package's struct types).
    pub fn map_holders(&self) -> HashSet<&str> {
        let mut holders: HashSet<&str> = self
            .named
            .keys()
            .filter(|n| self.resolve_named(n).is_map())
            .map(String::as_str)
            .collect();
        loop {
            let before = holders.len();
            for (name, decl) in &self.structs {
                let holds = decl.fields.values().any(|t| match t {
                    TypeInfo::Map { .. } => true,
                    TypeInfo::Named(inner) => holders.contains(inner.as_str()),
                    _ => false,
                }) || decl.embedded.iter().any(|e| holders.contains(e.as_str()));
                if holds {
                    holders.insert(name);
                }
            }
            // `type Batch []Sample` of a holder.
            for name in self.named.keys() {
                if let TypeInfo::Slice(elem, _) = self.resolve_named(name) {
                    let holds = match *elem {
                        TypeInfo::Map { .. } => true,
                        TypeInfo::Named(inner) => holders.contains(inner.as_str()),
                        _ => false,
                    };
                    if holds {
                        holders.insert(name);
                    }
                }
            }
            if holders.len() == before {
                return holders;
            }
        }
    }

    /// The one type of the package that implements interface `iface` and has `method`:
    /// a call through the interface can only reach it (`None` when several types could).
    pub fn sole_implementer(&self, iface: &str, method: &str) -> Option<&str> {
        let mut found = self
            .implementers(iface)
            .filter(|ty| self.methods[*ty].contains(method));
        let ty = found.next()?;
        found.next().is_none().then_some(ty)
    }

    /// The types of the package with every method interface `iface` lists, in no order.
    pub fn implementers<'s>(&'s self, iface: &str) -> impl Iterator<Item = &'s str> + 's {
        self.interfaces
            .get(iface)
            .into_iter()
            .flat_map(move |listed| {
                self.methods
                    .iter()
                    .filter(move |(_, methods)| listed.iter().all(|m| methods.contains(m)))
                    .map(|(ty, _)| ty.as_str())
            })
    }

    /// The type of `field` in struct `name`, including fields promoted from embedded structs.
    pub fn field_type(&self, name: &str, field: &str) -> TypeInfo {
        let mut queue = vec![(name.to_string(), 0)];
        while let Some((s, depth)) = queue.pop() {
            let Some(decl) = self.structs.get(&s) else {
                continue;
            };
            if let Some(ty) = decl.fields.get(field) {
                return match ty {
                    TypeInfo::Named(n) => self.resolve_named(n),
                    other => other.clone(),
                };
            }
            // An embedded struct is a field named after its type.
            if decl.embedded.iter().any(|e| e == field) && self.structs.contains_key(field) {
                return TypeInfo::Named(field.to_string());
            }
            if depth < MAX_TYPE_DEPTH {
                queue.extend(decl.embedded.iter().map(|e| (e.clone(), depth + 1)));
            }
        }
        // A field of the value an interface holds, reached through a type switch or
        // assertion (`st := s.(type)` in `case *memStore`): the field of the first of its
        // implementers that has one.
        let holder = self
            .implementers(name)
            .filter(|ty| {
                self.structs
                    .get(*ty)
                    .is_some_and(|s| s.fields.contains_key(field))
            })
            .min();
        if let Some(ty) = holder {
            return self.field_type(ty, field);
        }
        // A map field of a struct another package of the module declares (`st.items`).
        self.imported
            .map_fields
            .get(name)
            .and_then(|fields| fields.get(field))
            .cloned()
            .unwrap_or_default()
    }
}

/// Collects type and function declarations from every file of the package, which calls the
/// `imported` methods of its module's other packages.
pub fn collect(files: &[ParsedFile<'_>], imported: &super::exports::Imports) -> PackageDecls {
    let mut decls = PackageDecls {
        imported: imported.clone(),
        ..PackageDecls::default()
    };
    let mut type_specs = Vec::new();
    let mut results = Vec::new();
    let mut method_results = Vec::new();
    for file in files {
        let src = file.source.text.as_str();
        let root = file.tree.root_node();
        let mut cursor = root.walk();
        for decl in root.named_children(&mut cursor) {
            match decl.kind() {
                "type_declaration" => {
                    let mut c = decl.walk();
                    for spec in decl.named_children(&mut c) {
                        if let (Some(name), Some(ty)) =
                            (spec.field(Field::Name), spec.field(Field::Type))
                        {
                            type_specs.push((src, src[name.byte_range()].to_string(), ty));
                        }
                    }
                }
                "function_declaration" => {
                    let Some(name) = decl.field(Field::Name) else {
                        continue;
                    };
                    let name = src[name.byte_range()].to_string();
                    if name == "init" {
                        if let Some(body) = decl.field(Field::Body) {
                            retire_nil_assignments(body, src, &mut decls.retired);
                        }
                    }
                    decls.funcs.insert(name.clone());
                    if decl
                        .field(Field::Parameters)
                        .is_some_and(|list| super::walk::handler_shaped(list, src))
                    {
                        decls.handler_funcs.insert(name.clone());
                    }
                    if let Some(result) = decl.field(Field::Result) {
                        results.push((src, name, result));
                    }
                }
                "const_declaration" => {
                    let mut c = decl.walk();
                    for spec in decl.named_children(&mut c) {
                        let mut names = spec.walk();
                        let names: Vec<_> =
                            spec.children_by_field_name("name", &mut names).collect();
                        let value = spec.field(Field::Value).and_then(|v| v.named_child(0));
                        if let ([name], Some(value)) = (names.as_slice(), value) {
                            if value.kind() == "false" {
                                decls
                                    .false_consts
                                    .insert(src[name.byte_range()].to_string());
                            }
                        }
                    }
                }
                "method_declaration" => {
                    let (Some(name), Some(ty)) =
                        (decl.field(Field::Name), receiver_type_name(decl, src))
                    else {
                        continue;
                    };
                    decls
                        .methods
                        .entry(ty.to_string())
                        .or_default()
                        .insert(src[name.byte_range()].to_string());
                    if let Some(result) = decl.field(Field::Result) {
                        let key = (ty.to_string(), src[name.byte_range()].to_string());
                        method_results.push((src, key, result));
                    }
                }
                _ => {}
            }
        }
    }
    // Another package's type that a field of it is used as only a map can be (`delete`, a
    // comma-ok, a string key) is a map type, wherever it appears.
    let map_used = map_used_fields(files);
    decls.foreign_maps = foreign_map_types(&type_specs, &map_used);
    // Learn every name first, so that types may refer to ones declared later.
    for (src, name, ty) in &type_specs {
        if ty.kind() == "struct_type" {
            decls.structs.insert(name.clone(), StructDecl::default());
        } else if ty.kind() == "interface_type" {
            let mut cursor = ty.walk();
            let methods = ty
                .named_children(&mut cursor)
                .filter(|e| e.kind() == "method_elem")
                .filter_map(|e| e.field(Field::Name))
                .map(|n| src[n.byte_range()].to_string())
                .collect();
            decls.interfaces.insert(name.clone(), methods);
        } else {
            if ty.kind() == "function_type" {
                decls.func_types.insert(name.clone());
            }
            decls.named.insert(name.clone(), TypeInfo::Unknown);
        }
    }
    for (src, name, ty) in &type_specs {
        if matches!(ty.kind(), "struct_type" | "interface_type") {
            continue;
        }
        // A bare name stays a name, followed lazily by `resolve_named`.
        let resolved = match ty.kind() {
            "type_identifier" => TypeInfo::Named(src[ty.byte_range()].to_string()),
            _ => type_of_type_node(*ty, src, &decls),
        };
        decls.named.insert(name.clone(), resolved);
    }
    for (src, name, ty) in &type_specs {
        if ty.kind() == "struct_type" {
            let mut nested = Vec::new();
            let fields = struct_fields(*ty, src, &decls, name, &mut nested);
            decls.structs.insert(name.clone(), fields);
            decls.structs.extend(nested);
        }
    }
    for (src, key, result) in method_results {
        let first = match single_result(result, src, &decls) {
            Some(ty) => ty,
            None => result_list(result, src, &decls)
                .into_iter()
                .next()
                .unwrap_or_default(),
        };
        decls.method_results.insert(key, first);
    }
    for (src, name, result) in results {
        if let Some(ty) = single_result(result, src, &decls) {
            decls.func_results.insert(name, ty);
        } else {
            let list = result_list(result, src, &decls);
            decls.func_result_lists.insert(name, list);
        }
    }
    for (func, ty) in &imported.results {
        decls
            .func_results
            .insert(func.clone(), TypeInfo::Named(ty.clone()));
    }
    // A field of a type not known here that is used as only a map can be is a map too
    // (`labels Labels` of a dot-imported package).
    for decl in decls.structs.values_mut() {
        for (field, ty) in decl.fields.iter_mut() {
            if *ty == TypeInfo::Unknown && map_used.contains(field.as_str()) {
                *ty = TypeInfo::Map {
                    value: Box::new(TypeInfo::Unknown),
                    name: None,
                };
            }
        }
    }
    decls
}

/// The parameters of a parameter list in the order calls bind arguments to them: each name
/// (`_` for an unnamed parameter) with whether it is the variadic last one.
pub fn parameter_names<'s>(list: Node<'_>, src: &'s str) -> Vec<(&'s str, bool)> {
    let mut out = Vec::new();
    let mut cursor = list.walk();
    for param in list.named_children(&mut cursor) {
        let variadic = match param.kind() {
            "parameter_declaration" => false,
            "variadic_parameter_declaration" => true,
            _ => continue,
        };
        let mut c = param.walk();
        let names: Vec<_> = param.children_by_field_name("name", &mut c).collect();
        if names.is_empty() {
            out.push(("_", variadic));
        }
        out.extend(names.iter().map(|n| (&src[n.byte_range()], variadic)));
    }
    out
}

/// Records `x = nil` assignments to plain names in an `init` body.
fn retire_nil_assignments(body: Node<'_>, src: &str, retired: &mut HashSet<String>) {
    let mut stack = vec![body];
    while let Some(node) = stack.pop() {
        if node.kind() == "assignment_statement" {
            let left = node.field(Field::Left).and_then(|l| l.named_child(0));
            let right = node.field(Field::Right).and_then(|r| r.named_child(0));
            if let (Some(l), Some(r)) = (left, right) {
                if l.kind() == "identifier" && r.kind() == "nil" {
                    retired.insert(src[l.byte_range()].to_string());
                }
            }
            continue;
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
}

/// The base name of a method's receiver type: `T` for `(t *T)`, `(t T)` and `(t *T[K])`.
pub fn receiver_type_name<'s>(decl: Node<'_>, src: &'s str) -> Option<&'s str> {
    let param = decl.field(Field::Receiver)?.named_child(0)?;
    let mut ty = param.field(Field::Type)?;
    loop {
        match ty.kind() {
            "pointer_type" | "parenthesized_type" => ty = ty.named_child(0)?,
            "generic_type" => ty = ty.field(Field::Type)?,
            "type_identifier" => return Some(&src[ty.byte_range()]),
            _ => return None,
        }
    }
}

/// The fields of struct type `ty` named `name`. A field of an anonymous struct type (`mu
/// struct { sync.Mutex; pending map[…]… }`, the grouping many projects keep for what a
/// mutex guards) gets a type of its own, named `Outer.field` (no Go name has a dot), added
/// to `nested` with the types nested in it.
fn struct_fields(
    ty: Node<'_>,
    src: &str,
    decls: &PackageDecls,
    name: &str,
    nested: &mut Vec<(String, StructDecl)>,
) -> StructDecl {
    let mut out = StructDecl::default();
    let Some(list) = ty.named_child(0) else {
        return out;
    };
    let mut cursor = list.walk();
    for field in list.named_children(&mut cursor) {
        if field.kind() != "field_declaration" {
            continue;
        }
        let Some(fty) = field.field(Field::Type) else {
            continue;
        };
        let mut c = field.walk();
        let names: Vec<_> = field.children_by_field_name("name", &mut c).collect();
        // An embedded pointer is written `*T`: the grammar gives it a `*` token, not a
        // pointer type node.
        let pointer = fty.kind() == "pointer_type"
            || (0..field.child_count())
                .filter_map(|i| field.child(i))
                .any(|c| c.kind() == "*");
        if names.is_empty() {
            if let Some(name) = embedded_name(fty, src) {
                if pointer {
                    out.pointers.insert(name.clone());
                }
                out.embedded.push(name);
            }
            continue;
        }
        let t = match fty.kind() {
            "struct_type" if names.len() == 1 => {
                let inner = format!("{name}.{}", &src[names[0].byte_range()]);
                let decl = struct_fields(fty, src, decls, &inner, nested);
                nested.push((inner.clone(), decl));
                TypeInfo::Named(inner)
            }
            _ => type_of_type_node(fty, src, decls),
        };
        let guard = checklocks_guard(field, src);
        for n in names {
            let name = src[n.byte_range()].to_string();
            if let Some(g) = &guard {
                out.guards.insert(name.clone(), g.clone());
            }
            if pointer {
                out.pointers.insert(name.clone());
            }
            out.fields.insert(name, t.clone());
        }
    }
    out
}

/// The mutex named by a `// +checklocks:mu` comment above a field or at the end of its line.
fn checklocks_guard(field: Node<'_>, src: &str) -> Option<String> {
    let line = field.start_position().row;
    let above = field
        .prev_named_sibling()
        .filter(|c| c.end_position().row + 1 == line);
    let after = field
        .next_named_sibling()
        .filter(|c| c.start_position().row == line);
    [above, after]
        .into_iter()
        .flatten()
        .filter(|c| c.kind() == "comment")
        .find_map(|c| {
            let text = &src[c.byte_range()];
            let rest = &text[text.find("+checklocks:")? + "+checklocks:".len()..];
            let name: String = rest
                .chars()
                .take_while(|ch| ch.is_alphanumeric() || *ch == '_' || *ch == '.')
                .collect();
            (!name.is_empty()).then_some(name)
        })
}

/// The name of an embedded field's type: `T`, `*T`, `pkg.T` (promoted fields of another
/// package's types are not known, but the name still counts).
fn embedded_name(ty: Node<'_>, src: &str) -> Option<String> {
    match ty.kind() {
        "type_identifier" => Some(src[ty.byte_range()].to_string()),
        "pointer_type" | "generic_type" => ty.named_child(0).and_then(|t| embedded_name(t, src)),
        "qualified_type" => ty
            .field(Field::Name)
            .map(|n| src[n.byte_range()].to_string()),
        _ => None,
    }
}

/// The type of each result of a result list, in order: `(a, b *T, err error)` is three.
fn result_list(result: Node<'_>, src: &str, decls: &PackageDecls) -> Vec<TypeInfo> {
    let mut out = Vec::new();
    let mut cursor = result.walk();
    for p in result.named_children(&mut cursor) {
        if p.kind() != "parameter_declaration" {
            continue;
        }
        let ty = p
            .field(Field::Type)
            .map_or(TypeInfo::Unknown, |t| type_of_type_node(t, src, decls));
        let mut c = p.walk();
        let names = p.children_by_field_name("name", &mut c).count().max(1);
        out.extend(std::iter::repeat_n(ty, names));
    }
    out
}

fn single_result(result: Node<'_>, src: &str, decls: &PackageDecls) -> Option<TypeInfo> {
    if result.kind() != "parameter_list" {
        return Some(type_of_type_node(result, src, decls));
    }
    let mut cursor = result.walk();
    let params: Vec<_> = result
        .named_children(&mut cursor)
        .filter(|p| p.kind() == "parameter_declaration")
        .collect();
    match params.as_slice() {
        [p] => {
            let mut c = p.walk();
            if p.children_by_field_name("name", &mut c).count() > 1 {
                return None;
            }
            p.field(Field::Type)
                .map(|t| type_of_type_node(t, src, decls))
        }
        _ => None,
    }
}

/// Whether a node is a type (as `new` and `make` take), not an expression.
pub fn is_type_node(node: Node<'_>) -> bool {
    matches!(
        node.kind(),
        "type_identifier"
            | "qualified_type"
            | "generic_type"
            | "pointer_type"
            | "array_type"
            | "implicit_length_array_type"
            | "slice_type"
            | "map_type"
            | "channel_type"
            | "struct_type"
            | "interface_type"
            | "function_type"
            | "parenthesized_type"
            | "negated_type"
    )
}

/// The type of an initializer that names its type without needing scopes:
/// `make(T)`, `new(T)`, `T{...}`, `&T{...}`, or a call of a package function.
pub fn literal_type(expr: Node<'_>, src: &str, decls: &PackageDecls) -> TypeInfo {
    match expr.kind() {
        "call_expression" => {
            let Some(func) = expr.field(Field::Function) else {
                return TypeInfo::Unknown;
            };
            let name = &src[func.byte_range()];
            match (func.kind(), name) {
                ("identifier", "make" | "new") => expr
                    .field(Field::Arguments)
                    .and_then(|a| a.named_child(0))
                    .map_or(TypeInfo::Unknown, |t| type_of_type_node(t, src, decls)),
                ("identifier", _) => decls.func_results.get(name).cloned().unwrap_or_else(|| {
                    // A conversion: `Registry(m)`, `tag(s)`.
                    match decls.resolve_named(name) {
                        ty @ (TypeInfo::Map { .. } | TypeInfo::Named(_)) => ty,
                        _ => TypeInfo::Unknown,
                    }
                }),
                // A constructor of another package of the module (`store.New()`).
                ("selector_expression", _) => decls
                    .func_results
                    .get(name)
                    .cloned()
                    .unwrap_or(TypeInfo::Unknown),
                _ => TypeInfo::Unknown,
            }
        }
        // `NewCache[int, user](ttl)` parses as a conversion to a generic type: a call of
        // the generic function when the package declares one of that name.
        "type_conversion_expression" => match expr.field(Field::Type) {
            Some(ty) => {
                let generic = (ty.kind() == "generic_type")
                    .then(|| ty.field(Field::Type))
                    .flatten()
                    .map(|t| &src[t.byte_range()])
                    .filter(|name| decls.funcs.contains(*name));
                match generic {
                    Some(name) => decls.func_results.get(name).cloned().unwrap_or_default(),
                    None => type_of_type_node(ty, src, decls),
                }
            }
            None => TypeInfo::Unknown,
        },
        "composite_literal" | "type_assertion_expression" => expr
            .field(Field::Type)
            .map_or(TypeInfo::Unknown, |t| type_of_type_node(t, src, decls)),
        "unary_expression" | "parenthesized_expression" => {
            let mut inner = expr;
            while matches!(
                inner.kind(),
                "unary_expression" | "parenthesized_expression"
            ) {
                match inner.field(Field::Operand).or_else(|| inner.named_child(0)) {
                    Some(next) => inner = next,
                    None => return TypeInfo::Unknown,
                }
            }
            literal_type(inner, src, decls)
        }
        _ => TypeInfo::Unknown,
    }
}
