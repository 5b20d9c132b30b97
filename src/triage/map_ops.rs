//! The runtime's map operations as they appear in stacks: the classic `runtime.mapassign*`
//! family of Go 1.23 and earlier, and the swiss-table frames (`internal/runtime/maps`) of
//! Go 1.24 and later, which the race detector still names by their `runtime.map*` entry
//! points.

/// What a goroutine did to a map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MapOp {
    /// `m[k] = v`, `m[k]++`, `maps.Copy` into it.
    Assign,
    /// `delete(m, k)`.
    Delete,
    /// `clear(m)`.
    Clear,
    /// `v := m[k]`, `v, ok := m[k]`.
    Read,
    /// `for k, v := range m`.
    Iterate,
    /// `maps.Clone(m)`.
    Clone,
}

impl MapOp {
    /// The word used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            MapOp::Assign => "assign",
            MapOp::Delete => "delete",
            MapOp::Clear => "clear",
            MapOp::Read => "read",
            MapOp::Iterate => "iterate",
            MapOp::Clone => "clone",
        }
    }

    /// Whether the operation changes the map.
    pub fn writes(self) -> bool {
        matches!(self, MapOp::Assign | MapOp::Delete | MapOp::Clear)
    }

    /// The operation the runtime names in a `fatal error: concurrent map …` message, done
    /// by the goroutine that crashed.
    pub fn of_fatal_message(message: &str) -> Option<MapOp> {
        let message = message.trim_start_matches("concurrent map ");
        if message.starts_with("writes") {
            Some(MapOp::Assign)
        } else if message.starts_with("read") {
            Some(MapOp::Read)
        } else if message.starts_with("iteration") {
            Some(MapOp::Iterate)
        } else if message.starts_with("clone") {
            Some(MapOp::Clone)
        } else {
            None
        }
    }
}

/// Whether a frame belongs to the runtime (the map implementation, the crash, the race
/// detector's hooks) rather than to code that uses a map.
pub fn is_runtime(function: &str) -> bool {
    function.starts_with("runtime.") || function.starts_with("internal/runtime/")
}

/// The map operation a runtime frame performs, if it is one.
pub fn of_frame(function: &str) -> Option<MapOp> {
    if !is_runtime(function) {
        return None;
    }
    let name = function.rsplit('/').next().unwrap_or(function);
    const TABLE: &[(&str, MapOp)] = &[
        ("mapassign", MapOp::Assign),
        ("PutSlot", MapOp::Assign),
        // Growing happens only on insertion.
        (").grow", MapOp::Assign),
        (").rehash", MapOp::Assign),
        ("hashGrow", MapOp::Assign),
        ("growWork", MapOp::Assign),
        ("evacuate", MapOp::Assign),
        ("mapdelete", MapOp::Delete),
        (").Delete", MapOp::Delete),
        ("mapclear", MapOp::Clear),
        (").Clear", MapOp::Clear),
        ("mapaccess", MapOp::Read),
        (").Get", MapOp::Read),
        ("mapiterinit", MapOp::Iterate),
        ("mapiternext", MapOp::Iterate),
        ("(*Iter).", MapOp::Iterate),
        ("mapclone", MapOp::Clone),
        ("maps.clone", MapOp::Clone),
    ];
    TABLE
        .iter()
        .find(|(needle, _)| name.contains(needle))
        .map(|&(_, op)| op)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classic_and_swiss_frames_are_recognised() {
        for (frame, op) in [
            ("runtime.mapassign_faststr", MapOp::Assign),
            (
                "internal/runtime/maps.runtime_mapassign_fast64",
                MapOp::Assign,
            ),
            ("internal/runtime/maps.(*Map).PutSlot", MapOp::Assign),
            ("runtime.mapdelete_fast64", MapOp::Delete),
            ("internal/runtime/maps.(*Map).Delete", MapOp::Delete),
            ("runtime.mapclear", MapOp::Clear),
            ("runtime.mapaccess2_faststr", MapOp::Read),
            ("internal/runtime/maps.(*Iter).Next", MapOp::Iterate),
            ("runtime.mapiternext", MapOp::Iterate),
            ("runtime.mapclone", MapOp::Clone),
            ("internal/runtime/maps.(*table).rehash", MapOp::Assign),
            ("runtime.growWork_faststr", MapOp::Assign),
        ] {
            assert_eq!(of_frame(frame), Some(op), "{frame}");
        }
        assert_eq!(of_frame("internal/runtime/maps.fatal"), None);
        assert_eq!(of_frame("main.(*Store).Delete"), None);
        assert_eq!(of_frame("sync.(*Map).Delete"), None);
    }

    #[test]
    fn fatal_messages_name_the_crashing_operation() {
        assert_eq!(
            MapOp::of_fatal_message("concurrent map read and map write"),
            Some(MapOp::Read)
        );
        assert_eq!(
            MapOp::of_fatal_message("concurrent map writes"),
            Some(MapOp::Assign)
        );
    }
}
