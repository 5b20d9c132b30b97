//! gRPC services: the server runs every call of a service method on its own goroutine, so
//! the methods of a service implementation run concurrently with themselves and with each
//! other, as HTTP handlers do. A struct type implements a service when it embeds the
//! generated `Unimplemented…Server` (or `Unsafe…Server`), wherever it is registered, or when
//! the package registers a value of it (`pb.RegisterStoreServer(s, &store{})`).

use crate::fields::{Field, FieldExt};
use tree_sitter::Node;

use super::{Callee, PackageFacts, ParsedFile, Serves};

/// Whether a call of `name` with `arity` arguments registers a service implementation
/// (`RegisterStoreServer(s, impl)`): the generated registration functions' shape.
pub fn registers_service(name: &str, arity: usize) -> bool {
    arity == 2 && is_generated_name(name, "Register", "Server")
}

/// Whether a name is one the generated code of a gRPC service declares for its
/// implementations: `Register…Server`, `Unimplemented…Server` or `Unsafe…Server`.
pub fn names_service(name: &str) -> bool {
    ["Register", "Unimplemented", "Unsafe"]
        .iter()
        .any(|prefix| is_generated_name(name, prefix, "Server"))
}

/// Marks the exported service methods of the package's service implementations as handlers.
pub fn apply(facts: &mut PackageFacts, files: &[ParsedFile<'_>]) {
    let embedding = facts.decls.structs.iter().filter(|(_, decl)| {
        decl.embedded
            .iter()
            .any(|e| names_service(e) && !e.starts_with("Register"))
    });
    let services: Vec<String> = embedding
        .map(|(name, _)| name.clone())
        .chain(facts.registered_services.iter().cloned())
        .collect();
    let mut marked = Vec::new();
    for (callee, &f) in &facts.callees {
        let Callee::Method(ty, method) = callee else {
            continue;
        };
        if !services.contains(ty) || !method.starts_with(|c: char| c.is_ascii_uppercase()) {
            continue;
        }
        let func = &facts.funcs[f as usize];
        let file = &files[func.file as usize];
        let decl = file
            .tree
            .root_node()
            .descendant_for_byte_range(func.span.start, func.span.end);
        if decl.is_some_and(|d| method_shaped(d, &file.source.text)) {
            marked.push(f);
        }
    }
    for f in marked {
        facts.funcs[f as usize].handler = Some(Serves::Rpc);
    }
}

/// `Prefix…Suffix` with something in between: `RegisterStoreServer`, `UnimplementedStoreServer`.
fn is_generated_name(name: &str, prefix: &str, suffix: &str) -> bool {
    name.len() > prefix.len() + suffix.len() && name.starts_with(prefix) && name.ends_with(suffix)
}

/// Whether a method declaration has a service method's signature: it returns an `error`
/// last, and takes a `context.Context` first (a unary call) or a server stream (`stream
/// pb.Store_WatchServer`, `grpc.ServerStreamingServer[T]`).
fn method_shaped(decl: Node<'_>, src: &str) -> bool {
    if decl.kind() != "method_declaration" {
        return false;
    }
    let text = |n: Node<'_>| -> String { src[n.byte_range()].split_whitespace().collect() };
    let returns_error = decl.field(Field::Result).is_some_and(|r| {
        let last = match r.kind() {
            "parameter_list" => r
                .named_child(r.named_child_count().saturating_sub(1) as u32)
                .and_then(|p| p.field(Field::Type)),
            _ => Some(r),
        };
        last.is_some_and(|t| text(t) == "error")
    });
    let Some(params) = decl.field(Field::Parameters) else {
        return false;
    };
    let mut cursor = params.walk();
    let types: Vec<String> = params
        .named_children(&mut cursor)
        .filter_map(|p| p.field(Field::Type))
        .map(text)
        .collect();
    let unary = types.first().is_some_and(|t| t == "context.Context");
    let streaming = types.iter().any(|t| {
        let base = t.split('[').next().unwrap_or(t);
        base.ends_with("Server") && (base.contains('_') || base.contains("StreamingServer"))
    });
    returns_error && (unary || streaming)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shaped(method: &str) -> bool {
        let src = format!("package p\n{method}\n");
        let mut parser = tree_sitter::Parser::new();
        parser
            .set_language(&tree_sitter_go::LANGUAGE.into())
            .unwrap();
        let tree = parser.parse(&src, None).unwrap();
        let decl = tree.root_node().named_child(1).unwrap();
        method_shaped(decl, &src)
    }

    #[test]
    fn unary_and_streaming_methods_are_service_shaped() {
        assert!(shaped(
            "func (s *srv) Put(ctx context.Context, r *pb.PutRequest) (*pb.PutReply, error) { return nil, nil }"
        ));
        assert!(shaped(
            "func (s *srv) Watch(r *pb.WatchRequest, stream pb.Store_WatchServer) error { return nil }"
        ));
        assert!(shaped(
            "func (s *srv) Watch(r *pb.WatchRequest, stream grpc.ServerStreamingServer[pb.Event]) error { return nil }"
        ));
    }

    #[test]
    fn other_methods_are_not() {
        assert!(!shaped("func (s *srv) Close(ctx context.Context) { }"));
        assert!(!shaped(
            "func (s *srv) Get(key string) (string, error) { return \"\", nil }"
        ));
        assert!(!shaped(
            "func (s *srv) Serve(l net.Listener, server *http.Server) error { return nil }"
        ));
    }

    #[test]
    fn generated_names() {
        assert!(registers_service("RegisterStoreServer", 2));
        assert!(!registers_service("RegisterStoreServer", 1));
        assert!(!registers_service("RegisterServer", 2));
        assert!(names_service("UnimplementedStoreServer"));
        assert!(names_service("UnsafeStoreServer"));
        assert!(!names_service("Unimplemented"));
        assert!(!names_service("StoreServer"));
    }
}
