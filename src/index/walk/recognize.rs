//! Recognizing by syntax: request handlers' signatures, lock contracts in doc comments,
//! parallel subtests.

use super::*;
use crate::fields::{Field, FieldExt};

/// Whether `t.Run(name, func(t *testing.T) { t.Parallel(); ... })` runs a parallel subtest:
/// the literal calls `Parallel` on its own parameter.
pub(super) fn is_parallel_subtest(function: Node<'_>, src: &str) -> bool {
    if function.kind() != "func_literal" {
        return false;
    }
    let param = function
        .field(Field::Parameters)
        .and_then(|p| p.named_child(0))
        .and_then(|p| p.field(Field::Name));
    let (Some(param), Some(body)) = (param, function.field(Field::Body)) else {
        return false;
    };
    let call = format!("{}.Parallel()", &src[param.byte_range()]);
    src[body.byte_range()].contains(&call)
}

/// The parameter types of a request handler, in the frameworks Go services use: a function
/// or method declared with exactly these parameters exists to serve requests, each on its
/// own goroutine, wherever (even in another package) it is registered.
pub(super) const HANDLER_SIGNATURES: &[&[&str]] = &[
    &["http.ResponseWriter", "*http.Request"],
    &["*gin.Context"],
    &["echo.Context"],
    &["*fiber.Ctx"],
];

/// gRPC's `metadata.MD`, a map type with known methods.
pub(super) fn metadata_type() -> TypeInfo {
    TypeInfo::Map {
        value: Box::new(TypeInfo::Unknown),
        name: Some("metadata.MD".to_string()),
    }
}

/// Whether a parameter list is a request handler's (see [`HANDLER_SIGNATURES`]).
pub(in crate::index) fn handler_shaped(list: Node<'_>, src: &str) -> bool {
    let mut types = Vec::new();
    let mut cursor = list.walk();
    for param in list.named_children(&mut cursor) {
        let Some(ty) = param.field(Field::Type) else {
            return false;
        };
        let names = param
            .children_by_field_name("name", &mut param.walk())
            .count();
        let ty: String = src[ty.byte_range()].split_whitespace().collect();
        types.extend(std::iter::repeat_n(ty, names.max(1)));
    }
    HANDLER_SIGNATURES
        .iter()
        .any(|sig| sig.iter().eq(types.iter()))
}

/// Whether a function's name or doc comment says its callers hold the lock.
pub(super) fn assumes_lock(decl: Node<'_>, src: &str) -> bool {
    let name = decl.field(Field::Name).map_or("", |n| &src[n.byte_range()]);
    // `fooLocked`, `foo_locked`, `lockedFoo`; and `_foo`, the convention some projects keep
    // for helpers called with the lock held (rclone's `_readDir`).
    if name.ends_with("Locked")
        || name.ends_with("_locked")
        || name.starts_with("locked")
        || (name.starts_with('_') && name.len() > 1)
    {
        return true;
    }
    // The doc comment's words, one space apart, so that a phrase may span lines.
    let mut lines = Vec::new();
    let mut prev = decl.prev_named_sibling();
    while let Some(c) = prev.filter(|c| c.kind() == "comment") {
        lines.push(src[c.byte_range()].to_lowercase());
        prev = c.prev_named_sibling();
    }
    lines.reverse();
    // And the comments opening the body (`func (c *Cache) onEvict(k string) { // already
    // locked`).
    let mut next = decl.field(Field::Body).and_then(|b| b.named_child(0));
    while let Some(n) = next {
        next = match n.kind() {
            "comment" => {
                lines.push(src[n.byte_range()].to_lowercase());
                n.next_named_sibling()
            }
            "statement_list" => n.named_child(0),
            _ => None,
        };
    }
    let doc = lines
        .iter()
        .flat_map(|l| {
            l.trim_start_matches("//")
                .trim_start_matches("/*")
                .trim_end_matches("*/")
                .split_whitespace()
        })
        .collect::<Vec<_>>()
        .join(" ");
    const PHRASES: &[&str] = &[
        "must be called with",
        "must be held",
        "should be held",
        "must hold",
        "caller holds",
        "callers hold",
        "caller must hold",
        "lock held",
        "lock is held",
        "mu held",
        "mu is held",
        "+checklocks:",
        "assumes we have",
        "assumes the caller",
        "assumes caller",
        "should be called with",
        "must be locked",
        "requires the lock",
        "callers must serialize",
        "already locked",
        "already held",
        "already holds",
        "already holding",
    ];
    PHRASES.iter().any(|p| doc.contains(p)) || states_lock_contract(&doc)
}

/// Whether a doc comment (lowercase words, one space apart) asks its callers to hold a lock
/// in other words: "hold ref lock before calling", "call when holding the manager lock",
/// "requires that solver.mu is read-locked". A negated "does not hold" is no contract.
pub(super) fn states_lock_contract(doc: &str) -> bool {
    let words: Vec<&str> = doc
        .split(' ')
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric() && c != '.' && c != '-'))
        .map(|w| w.trim_end_matches('.'))
        .collect();
    let is_lock =
        |w: &str| w.contains("lock") || w.contains("mutex") || w == "mu" || w.ends_with(".mu");
    let negated = |i: usize| {
        i > 0
            && matches!(
                words[i - 1],
                "not" | "never" | "without" | "doesn't" | "don't"
            )
    };
    words.iter().enumerate().any(|(i, &w)| {
        let ahead = || words[i + 1..].iter().take(5);
        match w {
            "hold" | "holding" => !negated(i) && ahead().any(|w| is_lock(w)),
            "requires" | "require" => {
                ahead().any(|w| matches!(*w, "locked" | "read-locked" | "write-locked" | "held"))
            }
            "calling" => {
                i > 0 && words[i - 1] == "before" && {
                    let start = i.saturating_sub(6);
                    words[start..i - 1].iter().any(|w| is_lock(w))
                }
            }
            _ => false,
        }
    })
}

/// The last element of an import path: `net/http` → `http`.
pub(super) fn short_package(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Whether a send enters a one-slot channel used as a mutex: the channel's name is one the
/// package makes with one slot only ([`crate::index::semaphores`]), and the function (or
/// literal) holding the send receives from the same channel after it (`sem <- struct{}{}`
/// … `<-sem`), not before, so the slot stays taken until then.
pub(super) fn enters_semaphore(
    send: Node<'_>,
    channel: Node<'_>,
    src: &str,
    one_slot: &std::collections::HashSet<String>,
) -> bool {
    if !crate::index::semaphores::last_name(channel, src).is_some_and(|n| one_slot.contains(n)) {
        return false;
    }
    let mut body = send;
    while !matches!(
        body.kind(),
        "function_declaration" | "method_declaration" | "func_literal"
    ) {
        let Some(parent) = body.parent() else {
            return false;
        };
        body = parent;
    }
    let operand = &src[channel.byte_range()];
    let receives = |text: &str| {
        text.match_indices("<-").any(|(i, _)| {
            text[i + 2..]
                .trim_start()
                .strip_prefix(operand)
                .is_some_and(|rest| {
                    !rest.starts_with(|c: char| c.is_alphanumeric() || "_.[".contains(c))
                })
        })
    };
    // A receive before the send takes the slot of a channel kept full (a token): the send
    // gives it back.
    !receives(&src[body.start_byte()..send.start_byte()])
        && receives(&src[send.end_byte()..body.end_byte()])
}

impl<'a> Walker<'a, '_> {
    /// Whether a function literal has a request handler's parameters: a handler handed to
    /// the server as a value (`http.HandlerFunc(func(w, r) {…})`, `r.GET("/", func(c
    /// *gin.Context) {…})`), not code that runs where it is written.
    pub(super) fn is_handler_literal(&self, literal: Node<'a>) -> bool {
        literal
            .field(Field::Parameters)
            .is_some_and(|list| handler_shaped(list, self.src))
    }

    /// Whether a literal is the finalizer `runtime.SetFinalizer(obj, func(…) {…})` sets.
    pub(super) fn is_finalizer(&self, literal: Node<'a>) -> bool {
        let Some(list) = literal.parent().filter(|l| l.kind() == "argument_list") else {
            return false;
        };
        list.parent()
            .and_then(|call| call.field(Field::Function))
            .is_some_and(|f| self.text(f) == "runtime.SetFinalizer")
            && list.named_child(1) == Some(literal)
    }

    /// Whether an identifier used as a value names a package function with a request
    /// handler's parameters (`http.HandlerFunc(serve)`, `r.GET("/", getUser)`).
    pub(super) fn is_handler_func(&self, name: Node<'a>) -> bool {
        let text = self.text(name);
        self.facts.decls.handler_funcs.contains(text) && self.lookup(text).is_none()
    }
}
