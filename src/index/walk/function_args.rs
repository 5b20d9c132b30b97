//! Functions handed to calls: function values a callee runs in place (`passed_funcs`),
//! calls of function parameters (`param_called`), and the names the pre-passes know
//! callees by (`callee_name`).

use super::*;
use crate::fields::{Field, FieldExt};

impl<'a> Walker<'a, '_> {
    /// The function values a call hands its callee in variables (`rec := meter(u)`,
    /// `hook := func(…) {…}`) or as method values (`generate(n, b.Add)`): called where the
    /// call runs, as a literal argument is; not those a registration stores to run later.
    pub(super) fn passed_funcs(&mut self, call: Node<'a>, args: &[Node<'a>]) {
        let registered = self.registered_params(call);
        let spawned = call
            .field(Field::Function)
            .and_then(|f| self.spawning_name(f))
            .map(|name| self.facts.decls.spawning[&name].clone());
        let passed = call
            .field(Field::Function)
            .map(|f| self.passed_args(f, args))
            .unwrap_or_default();
        for (i, &arg) in args.iter().enumerate() {
            // Handed to a goroutine the callee starts (`call_spawning`), not run here.
            if registered.contains(&i) || spawned.as_ref().is_some_and(|s| s.runs(i)) {
                continue;
            }
            let passed = passed.get(i).filter(|p| !p.is_empty());
            let mut target = match arg.kind() {
                // `apply(c, WithLabel("a", "b"))`: the function the call returns, called
                // in place by `apply`.
                "call_expression" if passed.is_some() => match self.returned_func(arg, 0) {
                    Some(target) => target,
                    None => continue,
                },
                "identifier" => match self.bound_func(arg) {
                    Some(t) if matches!(t.callee, Callee::Literal(_) | Callee::Returned { .. }) => {
                        t
                    }
                    _ => continue,
                },
                "selector_expression" if self.method_expression(arg).is_some() => {
                    match self.method_expression_target(arg, args, i) {
                        Some(target) if target.receiver.is_some() => target,
                        _ => continue,
                    }
                }
                "selector_expression" => match self.callee_of(arg) {
                    Some((Callee::Method(owner, name), Some(receiver)))
                        if self
                            .facts
                            .decls
                            .methods
                            .get(&owner)
                            .is_some_and(|m| m.contains(&name)) =>
                    {
                        Target {
                            callee: Callee::Method(owner, name),
                            receiver: Some(receiver),
                            args: Vec::new(),
                        }
                    }
                    _ => continue,
                },
                _ => continue,
            };
            if let Some(passed) = passed {
                if target.args.is_empty() && target.receiver.is_none() {
                    target.args = passed.iter().map(|&a| self.place_of(a)).collect();
                }
            }
            let kind = EventKind::Call {
                target,
                literals: Vec::new(),
                passed: Some(i),
            };
            self.push_at(kind, call, call.end_byte());
        }
    }

    /// The literals a call of another package is handed in variables (`wrapped := func(…)
    /// {…}; r.parent.Each(wrapped)`): run at the call, as a literal written there is.
    pub(super) fn passed_literal_vars(&mut self, call: Node<'a>, args: &[Node<'a>]) {
        for (i, &arg) in args.iter().enumerate() {
            if arg.kind() != "identifier" {
                continue;
            }
            let Some(target) = self.bound_func(arg) else {
                continue;
            };
            // Not a request handler, which the server it is handed to runs per request.
            match target.callee {
                Callee::Literal(l) if self.facts.funcs[l as usize].handler.is_none() => {}
                _ => continue,
            }
            let kind = EventKind::Call {
                target,
                literals: Vec::new(),
                passed: Some(i),
            };
            self.push_at(kind, call, call.end_byte());
        }
    }

    /// The function a variable holds (`hook := func(…) {…}`, `rec := meter(u)`), if known.
    fn bound_func(&self, name: Node<'a>) -> Option<Target> {
        let b = self.lookup(self.text(name))?;
        self.facts.bindings[b as usize].func_value.clone()
    }

    /// A call of a function-typed parameter, with the locks held and what it passes:
    /// `withLock(f)` helpers, `walk(fun)` calling `fun(d)` holding `d.mu`, `each(fn)`
    /// calling `fn(c)` for each of its connections.
    pub(super) fn param_called(&mut self, function: Node<'a>, args: &[Node<'a>]) {
        if function.kind() != "identifier" {
            return;
        }
        let Some(b) = self.lookup(self.text(function)) else {
            return;
        };
        let Some(param) = self.current().params.iter().position(|&p| p == Some(b)) else {
            return;
        };
        let locks = self.flow.locks.clone();
        // A variable the function assigns again (`dir = child` walking down a tree) is not
        // one place across calls.
        let args = args
            .iter()
            .map(|&a| match a.kind() {
                "identifier" if assigned_in_function(a, self.src) => None,
                _ => self.place_of(a),
            })
            .collect();
        self.current()
            .lock_effect
            .runs_params
            .push(ParamRun { param, locks, args });
    }

    /// The arguments a call of a registration (`bus.onEvent(h)`, `index::registrations`)
    /// stores in a field of its receiver's type.
    fn registered_params(&mut self, call: Node<'a>) -> Vec<usize> {
        let Some(function) = call
            .field(Field::Function)
            .filter(|f| f.kind() == "selector_expression")
        else {
            return Vec::new();
        };
        let (Some(operand), Some(method)) =
            (function.field(Field::Operand), function.field(Field::Field))
        else {
            return Vec::new();
        };
        let TypeInfo::Named(ty) = self.expr_type(operand) else {
            return Vec::new();
        };
        let key = (ty, self.text(method).to_string());
        self.facts
            .decls
            .registrations
            .get(&key)
            .map_or_else(Vec::new, |stored| stored.iter().map(|r| r.param).collect())
    }

    /// The name in `decls.spawning` of the function or method a call's `function` denotes,
    /// if it runs a function argument on another goroutine.
    pub(super) fn spawning_name(&mut self, function: Node<'a>) -> Option<String> {
        let name = self.callee_name(function)?;
        self.facts
            .decls
            .spawning
            .contains_key(&name)
            .then_some(name)
    }

    /// The name the pre-passes (`decls.spawning`, `decls.param_calls`) know the function or
    /// method a call's `function` denotes by: `parallel`, or `Server.startGoRoutine` for
    /// `s.startGoRoutine` (found where `s`'s type or a type it embeds declares it).
    fn callee_name(&mut self, function: Node<'a>) -> Option<String> {
        Some(match function.kind() {
            "identifier" if self.lookup(self.text(function)).is_none() => {
                self.text(function).to_string()
            }
            "selector_expression" => {
                let operand = function.field(Field::Operand)?;
                let method = self.text(function.field(Field::Field)?);
                let TypeInfo::Named(ty) = self.expr_type(operand) else {
                    return None;
                };
                let (owner, _) = self.facts.decls.method_owner(&ty, method)?;
                format!("{owner}.{method}")
            }
            _ => return None,
        })
    }

    /// For a call of a function that calls function parameters in place with some of its
    /// parameters (`decls.param_calls`): the arguments it passes each function argument,
    /// by their indices in the call.
    pub(super) fn passed_args(
        &mut self,
        function: Node<'a>,
        args: &[Node<'a>],
    ) -> Vec<Vec<Node<'a>>> {
        if self.facts.decls.param_calls.is_empty() {
            return Vec::new();
        }
        let Some(calls) = self
            .callee_name(function)
            .and_then(|name| self.facts.decls.param_calls.get(&name))
        else {
            return Vec::new();
        };
        (0..args.len())
            .map(|i| {
                calls.passes(i).map_or_else(Vec::new, |passed| {
                    passed
                        .iter()
                        .map_while(|p| p.and_then(|p| args.get(p).copied()))
                        .collect()
                })
            })
            .collect()
    }

    /// Function literals handed to a parameter the callee calls in place take, as their
    /// parameters, what the callee passes them (`apply(c, func(c *config) {…})`).
    pub(super) fn literals_called_in_place(&mut self, function: Node<'a>, args: &[Node<'a>]) {
        let passed = self.passed_args(function, args);
        for (arg, passed) in args.iter().zip(passed) {
            if arg.kind() == "func_literal" && !passed.is_empty() {
                self.literal_args.insert(arg.start_byte(), passed);
            }
        }
    }
}

/// Whether the function around `name` (an identifier) assigns that name with `=` anywhere.
fn assigned_in_function(name: Node<'_>, src: &str) -> bool {
    let text = &src[name.byte_range()];
    let Some(function) = std::iter::successors(name.parent(), |n| n.parent()).find(|n| {
        matches!(
            n.kind(),
            "function_declaration" | "method_declaration" | "func_literal"
        )
    }) else {
        return false;
    };
    super::super::descendants(function).into_iter().any(|n| {
        n.kind() == "assignment_statement"
            && n.field(Field::Left).is_some_and(|left| {
                let mut c = left.walk();
                let assigned = left
                    .named_children(&mut c)
                    .any(|l| l.kind() == "identifier" && &src[l.byte_range()] == text);
                assigned
            })
    })
}
