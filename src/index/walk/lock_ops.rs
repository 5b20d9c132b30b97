//! Lock operations: `Lock`/`Unlock` and their deferred forms, the place a lock operand
//! denotes, and mutexes copied with the struct holding them.

use super::*;
use crate::fields::{Field, FieldExt};

impl<'a> Walker<'a, '_> {
    /// `defer record(); defer mu.Unlock()`: deferred calls run last registered first, so
    /// those registered before this deferred unlock run after it, without the lock.
    fn release_in_earlier_defers(&mut self, place: PlaceId) {
        let (func, Some(mode)) = (self.func, self.defer_mode) else {
            return;
        };
        let earlier: Vec<Range<usize>> = self
            .deferred_calls
            .iter()
            .filter(|(f, m, held, _)| *f == func && *m == mode && held.contains(&place))
            .map(|(_, _, _, events)| events.clone())
            .collect();
        let events = &mut self.current().events;
        for range in earlier {
            for event in &mut events[range] {
                event.locks.retain(|&(p, _)| p != place);
            }
        }
    }

    /// A lock or unlock of the receiver `operand`: updates the lock set and records it.
    pub(super) fn lock_op(&mut self, call: Node<'a>, operand: Node<'a>, op: LockOp) {
        // A deferred unlock runs at return: the lock stays held until then.
        if self.in_deferred_call {
            if op == LockOp::Release {
                if let Some(place) = self.lock_place(operand) {
                    self.deferred_unlocks.push(place);
                    self.release_in_earlier_defers(place);
                }
            }
            return;
        }
        let Some(place) = self.lock_place(operand) else {
            self.expr(operand);
            return;
        };
        // `l.locks[url].Lock()` reads the map `l.locks` to find the mutex.
        self.expr(operand);
        let mode = match op {
            LockOp::Acquire { shared: false } => LockMode::Exclusive,
            LockOp::Acquire { shared: true } => LockMode::Read,
            LockOp::Release => {
                if !self.flow.locks.iter().any(|&(p, _)| p == place) {
                    self.current().lock_effect.releases.push(place);
                }
                self.push(EventKind::Unlock { place }, call);
                // Unlocking one stripe (`s.locks[j]`) keeps the others held (`s.locks[i]`).
                if self.release_stripe(place, operand) {
                    self.release(place);
                }
                return;
            }
        };
        let indices = self.indices(operand);
        if indices.is_empty() {
            self.stripes.remove(&place);
        } else {
            let held = self.flow.locks.iter().any(|&(p, _)| p == place);
            let stripes = self.stripes.entry(place).or_default();
            if !held {
                stripes.clear();
            }
            if !stripes.contains(&indices) {
                stripes.push(indices);
            }
        }
        self.push(EventKind::Lock { place, mode }, call);
        self.flow.lock(place, mode);
    }

    /// Forgets the stripe an unlock's operand selects; whether no stripe of `place` stays
    /// held, so the lock itself is released.
    fn release_stripe(&mut self, place: PlaceId, operand: Node<'a>) -> bool {
        let indices = self.indices(operand);
        let Some(stripes) = self.stripes.get_mut(&place) else {
            return true;
        };
        match stripes.iter().position(|held| *held == indices) {
            Some(i) if !indices.is_empty() && stripes.len() > 1 => {
                stripes.remove(i);
                false
            }
            _ => {
                self.stripes.remove(&place);
                true
            }
        }
    }

    /// The mutex a lock call's operand denotes: the place it names, unless it lies inside a
    /// struct copy (`c.mu` of a value receiver `c`), whose mutex is the copy's own, or is a
    /// guard a lock call returned (`g` of `g := s.mu.Lock("why")`), which unlocks `s.mu`.
    pub(super) fn lock_place(&mut self, operand: Node<'a>) -> Option<PlaceId> {
        if operand.kind() == "identifier" {
            if let Some(&guarded) = self.lock_guards.get(self.text(operand)) {
                return Some(guarded);
            }
        }
        let place = self
            .copied_lock(operand)
            .or_else(|| self.place_of(operand))?;
        let TypeInfo::Named(ty) = self.facts.place_type(place) else {
            return Some(place);
        };
        let path = self.facts.decls.promoted_mutex(&ty).unwrap_or_default();
        Some(path.iter().fold(place, |p, f| self.facts.select(p, f)))
    }

    /// The copy's own mutex when `operand` selects, through no pointer, a mutex of a
    /// variable holding a struct copy.
    pub(super) fn copied_lock(&mut self, operand: Node<'a>) -> Option<PlaceId> {
        let mut fields = Vec::new();
        let mut cur = operand;
        loop {
            match cur.kind() {
                "identifier" => break,
                "selector_expression" => {
                    fields.push(self.text(cur.field(Field::Field)?).to_string());
                    cur = cur.field(Field::Operand)?;
                }
                "parenthesized_expression" => cur = cur.named_child(0)?,
                _ => return None,
            }
        }
        fields.reverse();
        let copied = self.lookup(self.text(cur))?;
        let binding = &self.facts.bindings[copied as usize];
        let TypeInfo::Named(ty) = &binding.ty else {
            return None;
        };
        if !binding.by_value || !self.facts.decls.by_value_path(ty, &fields) {
            return None;
        }
        let root = self.copy_storage(copied);
        Some(self.facts.intern_place(Place { root, fields }))
    }

    /// The stand-in for the own storage of the struct copy `copied` holds.
    pub(super) fn copy_storage(&mut self, copied: BindingId) -> BindingId {
        if let Some(&root) = self.copies.get(&copied) {
            return root;
        }
        let mut stand_in = self.facts.bindings[copied as usize].clone();
        stand_in.param = false;
        stand_in.alias = None;
        stand_in.by_value = false;
        stand_in.field_aliases.clear();
        stand_in.copy_of = Some(copied);
        let root = self.facts.bindings.len() as BindingId;
        self.facts.bindings.push(stand_in);
        self.copies.insert(copied, root);
        root
    }
}

/// Whether a receive from a token channel takes the token for the code after it: a
/// statement of its own (`<-r.token`), not a `select` case (which may hand the token to
/// the goroutine it starts, see `ordering`'s gates) nor a value used otherwise.
pub(super) fn takes_token(receive: Node<'_>) -> bool {
    receive.parent().is_some_and(|statement| {
        statement.kind() == "expression_statement"
            && statement
                .parent()
                .is_some_and(|p| matches!(p.kind(), "block" | "statement_list"))
    })
}
