//! The names in scope while a body is walked: blocks nested in one another, with an index
//! from each name to the bindings it has in them, so that resolving a name costs the same
//! in a function of ten thousand locals as in one of ten.

use std::collections::HashMap;

use super::BindingId;

/// The blocks around the walk's position, innermost last.
#[derive(Debug, Default)]
pub(super) struct Scopes<'a> {
    /// The names each open block declares, in order.
    blocks: Vec<Vec<(&'a str, BindingId)>>,
    /// For each name, its bindings in the open blocks with their block's depth, innermost
    /// last.
    by_name: HashMap<&'a str, Vec<(usize, BindingId)>>,
}

impl<'a> Scopes<'a> {
    /// Opens a block.
    pub(super) fn push(&mut self) {
        self.blocks.push(Vec::new());
    }

    /// Closes the innermost block, forgetting what it declared.
    pub(super) fn pop(&mut self) {
        let Some(block) = self.blocks.pop() else {
            return;
        };
        for (name, _) in block.into_iter().rev() {
            if let Some(bindings) = self.by_name.get_mut(name) {
                bindings.pop();
                if bindings.is_empty() {
                    self.by_name.remove(name);
                }
            }
        }
    }

    /// Declares `name` in the innermost block; `None` when no block is open.
    pub(super) fn declare(&mut self, name: &'a str, id: BindingId) -> Option<()> {
        let depth = self.blocks.len().checked_sub(1)?;
        self.blocks[depth].push((name, id));
        self.by_name.entry(name).or_default().push((depth, id));
        Some(())
    }

    /// The binding `name` resolves to: the latest declared in the innermost block that
    /// declares it.
    pub(super) fn lookup(&self, name: &str) -> Option<BindingId> {
        self.by_name.get(name)?.last().map(|&(_, id)| id)
    }

    /// Whether the innermost block declares `name` already.
    pub(super) fn in_innermost(&self, name: &str) -> bool {
        let innermost = self.blocks.len().checked_sub(1);
        self.by_name
            .get(name)
            .and_then(|b| b.last())
            .is_some_and(|&(depth, _)| Some(depth) == innermost)
    }

    /// Every binding in scope, outermost block first.
    pub(super) fn bindings(&self) -> impl Iterator<Item = BindingId> + '_ {
        self.blocks.iter().flatten().map(|&(_, id)| id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inner_blocks_shadow_and_closing_them_restores() {
        let mut s = Scopes::default();
        assert_eq!(s.declare("x", 0), None);
        s.push();
        s.declare("x", 1).unwrap();
        s.push();
        assert!(!s.in_innermost("x"));
        s.declare("x", 2).unwrap();
        s.declare("x", 3).unwrap();
        assert!(s.in_innermost("x"));
        assert_eq!(s.lookup("x"), Some(3));
        assert_eq!(s.bindings().collect::<Vec<_>>(), [1, 2, 3]);
        s.pop();
        assert_eq!(s.lookup("x"), Some(1));
        s.pop();
        assert_eq!(s.lookup("x"), None);
    }
}
