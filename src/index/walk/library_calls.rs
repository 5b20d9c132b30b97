//! Calls of other packages: functions and getters of the module's other packages
//! (`exports`), and library calls that touch map arguments (`apis`).

use super::*;
use crate::fields::{Field, FieldExt};

/// The packages whose `Marshal` and `MarshalIndent` encode a value reflectively.
const ENCODING_PACKAGES: &[&str] = &[
    "encoding/json",
    "encoding/xml",
    "gopkg.in/yaml.v2",
    "gopkg.in/yaml.v3",
    "sigs.k8s.io/yaml",
    "github.com/goccy/go-json",
    "github.com/json-iterator/go",
];

/// How many structs deep an encoded value's fields are followed.
const MAX_ENCODED_DEPTH: usize = 4;

impl<'a> Walker<'a, '_> {
    /// A call of a function another package of the module declares (`lib.Fill(m, k)`):
    /// the accesses it makes through its parameters happen at the call, to what the
    /// arguments denote. Returns whether the function is one.
    pub(super) fn imported_function(
        &mut self,
        call: Node<'a>,
        name: &str,
        args: &[Node<'a>],
        with_args: bool,
    ) -> bool {
        let Some(accesses) = self.facts.decls.imported.functions.get(name).cloned() else {
            return false;
        };
        if with_args {
            for &a in args {
                self.expr(a);
            }
        }
        for access in accesses {
            let Some(base) = args.get(access.param).and_then(|&a| self.place_of(a)) else {
                continue;
            };
            let place = access
                .fields
                .iter()
                .fold(base, |p, f| self.facts.select(p, f));
            let kind = EventKind::Access {
                place,
                op: access.op,
            };
            self.push_at(kind, call, call.end_byte());
        }
        true
    }

    /// The map a getter of a struct another package of the module declares returns
    /// (`st.Items()` returning `st.items`).
    pub(super) fn imported_getter(&mut self, call: Node<'a>) -> Option<PlaceId> {
        let function = call.field(Field::Function)?;
        if function.kind() != "selector_expression" || self.facts.decls.imported.getters.is_empty()
        {
            return None;
        }
        let operand = function.field(Field::Operand)?;
        let method = self.text(function.field(Field::Field)?);
        let TypeInfo::Named(ty) = self.expr_type(operand) else {
            return None;
        };
        let fields = self
            .facts
            .decls
            .imported
            .getters
            .get(&ty)?
            .get(method)?
            .clone();
        let base = self.place_of(operand)?;
        Some(fields.iter().fold(base, |p, f| self.facts.select(p, f)))
    }

    /// A call of a method another package of the module declares (`st.Add(k)` on a
    /// `*store.Store`): its accesses to the receiver's maps happen at the call, with the
    /// receiver's locks it takes there held besides the caller's.
    pub(super) fn imported_call(&mut self, call: Node<'a>, function: Node<'a>) {
        if self.facts.decls.imported.methods.is_empty() || function.kind() != "selector_expression"
        {
            return;
        }
        let (Some(operand), Some(method)) =
            (function.field(Field::Operand), function.field(Field::Field))
        else {
            return;
        };
        let TypeInfo::Named(ty) = self.expr_type(operand) else {
            return;
        };
        let Some(summaries) = self
            .facts
            .decls
            .imported
            .methods
            .get(&ty)
            .and_then(|methods| methods.get(self.text(method)))
            .cloned()
        else {
            return;
        };
        let Some(base) = self.place_of(operand) else {
            return;
        };
        let at = |facts: &mut PackageFacts, fields: &[String]| {
            fields.iter().fold(base, |p, f| facts.select(p, f))
        };
        for summary in summaries {
            let place = at(self.facts, &summary.fields);
            let held: Vec<(PlaceId, LockMode)> = summary
                .locks
                .iter()
                .map(|(fields, mode)| (at(self.facts, fields), *mode))
                .collect();
            let access = EventKind::Access {
                place,
                op: summary.op,
            };
            let i = self.push_at(access, call, call.end_byte());
            if let Some(event) = self.current().events.get_mut(i) {
                for lock in held {
                    if !event.locks.contains(&lock) {
                        event.locks.push(lock);
                    }
                }
            }
        }
    }

    pub(super) fn package_call(
        &mut self,
        call: Node<'a>,
        path: &str,
        func: &str,
        args: &[Node<'a>],
        with_args: bool,
    ) {
        match self.apis.package_call(path, func) {
            PackageCall::Spawn { func_arg, repeated } => {
                for (i, &a) in args.iter().enumerate() {
                    if i != func_arg && with_args {
                        self.expr(a);
                    }
                }
                if let Some(&f) = args.get(func_arg) {
                    let via = SpawnVia::Api(format!("{}.{func}", short_package(path)));
                    self.spawn_function_arg(call, f, via, None, repeated);
                }
            }
            PackageCall::MapArgs(ops) => {
                for (i, &a) in args.iter().enumerate() {
                    let op = ops.get(i).copied().unwrap_or(AccessOp::LibraryRead);
                    self.map_argument(a, op, with_args);
                }
            }
            PackageCall::Exits => {
                if with_args {
                    for &a in args {
                        self.expr(a);
                    }
                }
                self.flow.exit();
            }
            PackageCall::Other => {
                // A map handed to another package's function is read by it (fmt, json, ...).
                for &a in args {
                    self.map_argument(a, AccessOp::LibraryRead, with_args);
                }
            }
        }
    }

    /// An argument the callee touches with `op` if it is a map; other arguments are walked
    /// unless they were evaluated already (a deferred call).
    pub(super) fn map_argument(&mut self, arg: Node<'a>, op: AccessOp, with_args: bool) {
        match self.map_place(arg) {
            Some(place) => {
                let via = self.last_via;
                if arg.kind() == "call_expression" {
                    self.expr(arg);
                }
                self.push_access(place, op, arg, arg, via);
            }
            None if with_args => {
                self.expr(arg);
                if op == AccessOp::LibraryRead {
                    self.literal_fields_read(arg);
                }
            }
            None => {}
        }
    }

    /// The arguments a call of a registration (`lc.OnStop(func() {…})`, see
    /// `index::registrations`) hands to a field of the receiver's type: each function
    /// literal or package function there is noted as stored in the field
    /// (`PackageFacts::field_funcs`), a literal walked as a body of its own.
    pub(super) fn registered_args(
        &mut self,
        operand: Node<'a>,
        method: &str,
        args: &[Node<'a>],
    ) -> Vec<usize> {
        let registrations = &self.facts.decls.registrations;
        if !registrations.keys().any(|(_, m)| m == method) {
            return Vec::new();
        }
        let TypeInfo::Named(ty) = self.expr_type(operand) else {
            return Vec::new();
        };
        let Some(stored) = self
            .facts
            .decls
            .registrations
            .get(&(ty.clone(), method.to_string()))
            .cloned()
        else {
            return Vec::new();
        };
        let mut walked = Vec::new();
        for registered in stored {
            let i = registered.param;
            let owner = registered.owner.unwrap_or_else(|| ty.clone());
            let field = registered.field;
            let Some(&arg) = args.get(i) else { continue };
            let (callee, receiver) = match arg.kind() {
                "func_literal" => (Callee::Literal(self.literal_func(arg, &[])), None),
                "identifier" if self.lookup(self.text(arg)).is_none() => {
                    (Callee::Func(self.text(arg).to_string()), None)
                }
                // `srv.AddHook(lastSeen(m))`, or a variable holding a literal.
                "call_expression" | "identifier" => match self.callee_of(arg) {
                    Some((callee @ (Callee::Returned { .. } | Callee::Literal(_)), None)) => {
                        self.expr(arg);
                        (callee, None)
                    }
                    _ => continue,
                },
                // A method value (`bus.Subscribe(svc.onEvent)`) runs on its object.
                "selector_expression" => match self.callee_of(arg) {
                    Some((callee @ Callee::Method(..), Some(receiver))) => {
                        self.expr(arg);
                        (callee, Some(receiver))
                    }
                    _ => continue,
                },
                _ => continue,
            };
            self.store_field_func((owner, field), callee, receiver);
            walked.push(i);
        }
        walked
    }

    /// `json.Marshal(s)`, `enc.Encode(s)`: an encoder reads every map of the value it is
    /// handed, through its exported fields (and those of the structs they hold); a type of
    /// the package marshalling itself (`MarshalJSON`) runs that method instead.
    pub(super) fn serialized_values(
        &mut self,
        call: Node<'a>,
        function: Node<'a>,
        args: &[Node<'a>],
    ) {
        let Some((operand, name, package)) = self.selector(function) else {
            return;
        };
        let encodes = match package.as_deref() {
            Some(path) => {
                ENCODING_PACKAGES.contains(&path) && matches!(name, "Marshal" | "MarshalIndent")
            }
            // An encoder's `Encode(v)`, unless the package declares that method.
            None => {
                name == "Encode"
                    && args.len() == 1
                    && match self.expr_type(operand) {
                        TypeInfo::Named(ty) => self.facts.decls.method_owner(&ty, name).is_none(),
                        _ => true,
                    }
            }
        };
        let Some(&value) = args.first().filter(|_| encodes) else {
            return;
        };
        let mut value = value;
        while value.kind() == "unary_expression"
            && value
                .field(Field::Operator)
                .is_some_and(|o| self.text(o) == "&")
        {
            let Some(inner) = value.field(Field::Operand) else {
                return;
            };
            value = inner;
        }
        let TypeInfo::Named(ty) = self.expr_type(value) else {
            return;
        };
        let Some(base) = self.place_of(value) else {
            return;
        };
        if let Some((owner, path)) = self.facts.decls.method_owner(&ty, "MarshalJSON") {
            self.method_called_by(call, owner, "MarshalJSON", &path, Some(base));
            return;
        }
        let mut maps = Vec::new();
        self.encoded_maps(&ty, &mut Vec::new(), &mut maps);
        for fields in maps {
            let place = fields.iter().fold(base, |p, f| self.facts.select(p, f));
            let kind = EventKind::Access {
                place,
                op: AccessOp::LibraryRead,
            };
            self.push_at(kind, value, call.end_byte());
        }
    }

    /// The field paths of the maps an encoder reaches from a value of struct `ty` through
    /// exported fields and embedded structs, `path` leading to it.
    fn encoded_maps(&self, ty: &str, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        let Some(decl) = self.facts.decls.structs.get(ty) else {
            return;
        };
        if path.len() >= MAX_ENCODED_DEPTH {
            return;
        }
        let mut fields: Vec<(&String, &TypeInfo)> = decl
            .fields
            .iter()
            .filter(|(f, _)| f.starts_with(|c: char| c.is_ascii_uppercase()))
            .collect();
        fields.sort_by_key(|&(f, _)| f);
        let embedded = decl.embedded.iter().map(|e| (e, None));
        for (field, ty) in fields
            .into_iter()
            .map(|(f, t)| (f, Some(t)))
            .chain(embedded)
        {
            path.push(field.clone());
            match ty.map(|t| match t {
                TypeInfo::Named(n) => self.facts.decls.resolve_named(n),
                other => other.clone(),
            }) {
                Some(TypeInfo::Map { .. }) => out.push(path.clone()),
                Some(TypeInfo::Named(inner)) => self.encoded_maps(&inner, path, out),
                None => self.encoded_maps(field, path, out),
                _ => {}
            }
            path.pop();
        }
    }

    /// A struct literal handed to another package's function is read with the maps its
    /// fields hold (`json.Marshal(resp{Meta: a.meta})` reads `a.meta`).
    fn literal_fields_read(&mut self, arg: Node<'a>) {
        let mut literal = arg;
        while matches!(
            literal.kind(),
            "unary_expression" | "parenthesized_expression"
        ) {
            let Some(inner) = literal
                .field(Field::Operand)
                .or_else(|| literal.named_child(0))
            else {
                return;
            };
            literal = inner;
        }
        let Some(body) = literal
            .field(Field::Body)
            .filter(|_| literal.kind() == "composite_literal")
        else {
            return;
        };
        let mut cursor = body.walk();
        let values: Vec<Node<'a>> = body
            .named_children(&mut cursor)
            .filter(|e| e.kind() == "keyed_element")
            .filter_map(|e| e.field(Field::Value)?.named_child(0))
            .collect();
        for value in values {
            if let Some(place) = self.map_place(value) {
                self.push_access(place, AccessOp::LibraryRead, value, value, None);
            }
        }
    }
}
