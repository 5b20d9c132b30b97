//! Places of the expanded program: an index place seen from an instance (its parameters
//! bound to the caller's places, its locals its own), field aliases followed, and places
//! interned once.

use super::*;

impl Builder<'_> {
    /// Maps a place of the index to the program, in an environment.
    pub(super) fn place(&mut self, place: PlaceId, env: &Env) -> ProgramPlaceId {
        let facts = self.facts;
        let p = &facts.places[place as usize];
        if let Some((holder, to)) = env.rebase {
            if facts.place_within(place, holder) {
                let skip = facts.places[holder as usize].fields.len();
                let mut rebased = self.program.places[to as usize].clone();
                rebased
                    .fields
                    .extend_from_slice(&self.fields[place as usize][skip..]);
                let declared = self.program.declared[to as usize];
                return self.intern(rebased, declared);
            }
        }
        // A literal's parameter bound to what the function it is handed to passes it.
        let bound = match facts.bindings[p.root as usize].bound_to {
            Some(q) if !env.params.contains_key(&p.root) => Some(self.place(q, env)),
            _ => None,
        };
        // A parameter captured by a literal that runs outside the function's expansion is
        // what every expansion of the root bound it to.
        let outside = |f: FuncId| {
            !env.instances.iter().any(|i| i.func == f) && !self.open.iter().any(|i| i.func == f)
        };
        let binding = &facts.bindings[p.root as usize];
        let captured = || match self.root_params.get(&p.root) {
            Some(&Some(q)) if binding.param && binding.func.is_some_and(outside) => Some(q),
            _ => None,
        };
        if let Some(base) = env.params.get(&p.root).copied().or(bound).or_else(captured) {
            let declared = self.program.declared[base as usize];
            let mapped = self.program.places[base as usize].clone();
            let (mapped, declared) = match self.field_alias(&mapped, place) {
                Some((aliased, Some(elsewhere))) => (aliased, elsewhere),
                Some((aliased, None)) => (aliased, declared),
                None => {
                    let mut mapped = mapped;
                    mapped
                        .fields
                        .extend_from_slice(&self.fields[place as usize]);
                    (mapped, declared)
                }
            };
            return self.intern(mapped, declared);
        }
        let binding = &facts.bindings[p.root as usize];
        let instance = binding.func.and_then(|f| {
            let own = env.instances.iter().rev().find(|i| i.func == f);
            own.or_else(|| self.open.iter().rev().find(|i| i.func == f))
        });
        let instance = instance.cloned();
        if let Some(result) = instance
            .as_ref()
            .and_then(|i| self.call_result(place, binding.result_of?, i.id))
        {
            return result;
        }
        let (instance, declared) = match instance {
            Some(i) => (
                i.id,
                Some(Declared {
                    thread: i.thread,
                    ctl: self.frame(&i, binding.ctl),
                }),
            ),
            None => (0, None),
        };
        let orphan = instance == 0 && binding.func.is_some();
        let id = self.intern(
            ProgramPlace {
                root: p.root,
                instance,
                fields: self.fields[place as usize].clone(),
            },
            declared,
        );
        if orphan {
            self.orphans.push(id);
            if binding.param {
                self.late_params.push(id);
            }
        }
        id
    }

    /// `x := f()` where `f` returns its local variable (`return results`): `x`'s place
    /// `place` is that variable in the instance the call expanded, so a goroutine `f`
    /// started on it and the caller touch the same map.
    fn call_result(
        &mut self,
        place: PlaceId,
        (event, result): (usize, usize),
        caller: u32,
    ) -> Option<ProgramPlaceId> {
        let facts = self.facts;
        let callee = self
            .returning
            .get(self.call_results.get(&(caller, event))?)?
            .clone();
        let &(_, local) = facts.funcs[callee.func as usize]
            .returned_locals
            .iter()
            .find(|(index, _)| *index == result)?;
        let declared = Declared {
            thread: callee.thread,
            ctl: self.frame(&callee, facts.bindings[local as usize].ctl),
        };
        Some(self.intern(
            ProgramPlace {
                root: local,
                instance: callee.id,
                fields: self.fields[place as usize].clone(),
            },
            Some(declared),
        ))
    }

    /// Gives each orphan place the one instance of the function declaring its variable, when
    /// the program runs that function once (`go produce(batches)` sends the batch `go
    /// consume(batches)` ranges over): both goroutines then touch one map.
    pub(super) fn adopt_orphans(&mut self) {
        let facts = self.facts;
        let mut remap: FxHashMap<ProgramPlaceId, ProgramPlaceId> = FxHashMap::default();
        // Every place rooted at an orphan variable: the fields selected from it too (`a.counts`
        // of a method value's receiver `a`).
        let roots: rustc_hash::FxHashSet<BindingId> = std::mem::take(&mut self.orphans)
            .into_iter()
            .map(|id| self.program.places[id as usize].root)
            .collect();
        let orphans: Vec<ProgramPlaceId> = (0..self.program.places.len() as ProgramPlaceId)
            .filter(|&id| {
                let p = &self.program.places[id as usize];
                p.instance == 0 && roots.contains(&p.root)
            })
            .collect();
        for id in orphans {
            let place = self.program.places[id as usize].clone();
            let binding = &facts.bindings[place.root as usize];
            let Some(Some(instance)) = binding
                .func
                .and_then(|f| self.sole_instance.get(&f))
                .cloned()
            else {
                continue;
            };
            let declared = Declared {
                thread: instance.thread,
                ctl: self.frame(&instance, binding.ctl),
            };
            let adopted = ProgramPlace {
                instance: instance.id,
                ..place
            };
            remap.insert(id, self.intern(adopted, Some(declared)));
        }
        if remap.is_empty() {
            return;
        }
        let map = |p: &mut ProgramPlaceId| {
            if let Some(&to) = remap.get(p) {
                *p = to;
            }
        };
        for event in self.program.threads.iter_mut().flat_map(|t| &mut t.events) {
            match &mut event.action {
                Action::Access { place, .. } => map(place),
                Action::Spawn { signals, .. } => signals.iter_mut().for_each(map),
                Action::Wait { sync, .. } | Action::Signal { sync } => map(sync),
            }
        }
    }

    /// A parameter's field that the argument's variable names other storage for
    /// (`e := Event{Attrs: base}`, `ctx := context.WithValue(bg, k, m)`): `base` and `m`,
    /// in the argument's instance, then the rest of `place`'s fields; with where that
    /// storage was declared when not with the argument (`Some(None)`: a package variable).
    fn field_alias(
        &mut self,
        arg: &ProgramPlace,
        place: PlaceId,
    ) -> Option<(ProgramPlace, Aliased)> {
        let rest = self.fields[place as usize].clone();
        self.field_alias_path(arg, &rest, 0)
    }

    /// [`Self::field_alias`] of the field path `rest` below `arg`; `depth` counts the
    /// parameters followed to the variables their arguments hold.
    fn field_alias_path(
        &mut self,
        arg: &ProgramPlace,
        rest: &[FieldId],
        depth: usize,
    ) -> Option<(ProgramPlace, Aliased)> {
        let facts = self.facts;
        let holder = &facts.bindings[arg.root as usize];
        if holder.field_aliases.is_empty() {
            return None;
        }
        // An argument that is a field path of its variable (`w.rec` of `w := &worker{rec:
        // &recorder{stats: s}}`) continues into the parameter's fields.
        let selected: Vec<String> = arg
            .fields
            .iter()
            .map(|&f| self.program.field_name(f).to_string())
            .collect();
        let names: Vec<String> = rest
            .iter()
            .map(|&f| self.program.field_name(f).to_string())
            .collect();
        let path = selected.iter().chain(&names).map(String::as_str);
        let (alias, covered) = holder.field_alias(path)?;
        let covered = covered.checked_sub(selected.len()).filter(|&c| c > 0)?;
        if depth > MAX_ALIAS_HOPS {
            self.program.alias_cuts.insert(arg.root);
            return None;
        }
        let a = &facts.places[alias as usize];
        let root = &facts.bindings[a.root as usize];
        let (instance, declared) = match root.func {
            None => (0, Some(None)),
            // A variable of the holder's body: declared where it was, which may be outside
            // the loop that makes the holder anew (`for … { w := &worker{st: s}; go w.run() }`
            // shares `s` between every worker).
            Some(f) if Some(f) == holder.func && !root.param => {
                match self
                    .open
                    .iter()
                    .rev()
                    .find(|i| i.id == arg.instance)
                    .cloned()
                {
                    Some(open) => {
                        let ctl = self.frame(&open, root.ctl);
                        let declared = Declared {
                            thread: open.thread,
                            ctl,
                        };
                        (arg.instance, Some(Some(declared)))
                    }
                    None => (arg.instance, None),
                }
            }
            // A parameter of the holder's body (`m := &Memberlist{conf: conf}`, or the
            // storage a shallow copy shares): what its open expansion bound to it, itself
            // followed into the fields its argument's variable names other storage for
            // (`Create(&Config{Events: &delegate{serf: s}})`).
            Some(f) if Some(f) == holder.func => {
                let open = self.open.iter().rev().find(|i| i.id == arg.instance)?;
                let base = *open.params.as_ref()?.get(&a.root)?;
                let bound = self.program.places[base as usize].clone();
                let mut below = self.fields[alias as usize].clone();
                below.extend_from_slice(&rest[covered..]);
                if let Some(found) = self.field_alias_path(&bound, &below, depth + 1) {
                    return Some(found);
                }
                let mut mapped = bound;
                mapped.fields.extend_from_slice(&below);
                return Some((mapped, Some(self.program.declared[base as usize])));
            }
            // A variable the holder's body captured from an enclosing function (`im :=
            // &Importer{table: t}` in a goroutine literal, `t` its spawner's): that
            // function's open expansion, where it was declared.
            Some(f) if !root.param => {
                let open = self.open.iter().rev().find(|i| i.func == f)?.clone();
                let ctl = self.frame(&open, root.ctl);
                let declared = Declared {
                    thread: open.thread,
                    ctl,
                };
                (open.id, Some(Some(declared)))
            }
            Some(_) => return None,
        };
        let mut fields = self.fields[alias as usize].clone();
        fields.extend_from_slice(&rest[covered..]);
        let aliased = ProgramPlace {
            root: a.root,
            instance,
            fields,
        };
        Some((aliased, declared))
    }

    pub(super) fn intern(
        &mut self,
        place: ProgramPlace,
        declared: Option<Declared>,
    ) -> ProgramPlaceId {
        let (id, new) = self.program.places.insert_full(place);
        if new {
            self.program.declared.push(declared);
        }
        id as ProgramPlaceId
    }
}
