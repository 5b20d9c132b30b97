//! What indexing learns of a package: bindings, places, functions with their events and
//! control frames, and the facts the rules read (`PackageFacts`).

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use super::*;

/// Index of a file within its package.
pub type FileId = u32;
/// Index of a [`Binding`] within its package.
pub type BindingId = u32;
/// Index of a [`Place`] within its package.
pub type PlaceId = u32;
/// Index of a [`Func`] (a goroutine body or a declared function) within its package.
pub type FuncId = u32;
/// Index of a [`CtlFrame`] within its function.
pub type CtlId = u32;
/// A call handing out storage that every goroutine making it shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Load {
    /// The call's span.
    pub span: Range<usize>,
    /// What it loads from.
    pub from: LoadSource,
}

/// What a [`Load`] loads from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadSource {
    /// A concurrent container: `atomic.Value`, `atomic.Pointer`, `sync.Map`.
    Container,
    /// The gRPC metadata of a context, from a gRPC version (the one the module requires,
    /// if known) whose `metadata.From…Context` returns the context's own map.
    Metadata(Option<(u32, u32)>),
}

/// Index of an [`Escape`] within its package.
pub type EscapeId = u32;

/// A declared variable, parameter or package-level variable.
#[derive(Debug, Clone)]
pub struct Binding {
    /// Its name in the source.
    pub name: String,
    /// The function whose body declares it; `None` for package-level variables.
    pub func: Option<FuncId>,
    /// The control frame of the declaration inside `func`.
    pub ctl: CtlId,
    /// What the declaration says about its type.
    pub ty: TypeInfo,
    /// When the variable is a copy of another variable or field (`m2 := m`, a parameter
    /// bound to an argument), the place it refers to.
    pub alias: Option<PlaceId>,
    /// Whether it is a receiver or parameter of a declared function: it refers to storage
    /// the caller shares.
    pub param: bool,
    /// When the variable holds a known function (`f := s.add`, `f := func() {...}`), that
    /// function and the receiver bound to it.
    pub func_value: Option<Target>,
    /// When the variable holds a value loaded from a concurrent container
    /// (`m := cfg.Load().(map[K]V)`, `v, _ := sessions.Load(k)`) or the gRPC metadata a
    /// context holds: whatever it refers to is shared with every goroutine that loads it.
    pub loaded_from: Option<Load>,
    /// When the variable holds storage a function of the package returned (`m := s.Items()`).
    pub returned_by: Option<EscapeId>,
    /// When the variable is declared from a call of a package function (`m, ok :=
    /// f()`): the index of the call event in the declaring function, and the result's.
    pub result_of: Option<(usize, usize)>,
    /// Fields a struct literal initialized from shared storage (`e := Event{Attrs: base}`):
    /// `e.Attrs` is `base`. A key may be a dotted path through a nested literal or a local
    /// holding one (`w := &worker{rec: &recorder{stats: s}}`: `rec.stats` is `s`).
    pub field_aliases: Vec<(String, PlaceId)>,
    /// When the variable receives from a channel (`m := <-ch`, `for m := range ch`): the
    /// channel, so that it can stand for the map sent on it.
    pub received_from: Option<PlaceId>,
    /// When the variable is a range loop's element handed on to a goroutine or callee
    /// (`for _, w := range p.workers { go w.run() }`): the abstract element it is one of
    /// (`p.workers[…]`). Each iteration's element is its own object, and also one of those
    /// others reach as the abstract element.
    pub element_of: Option<PlaceId>,
    /// For a parameter of a function literal handed to a function that calls it with its
    /// own storage (`s.each(func(c *conn) {…})`, with `for _, c := range s.conns { fn(c) }`
    /// in `each`): that storage, seen from the call (`s.conns[…]`). Set once every body is
    /// walked (`passed_literals`).
    pub bound_to: Option<PlaceId>,
    /// Whether its declaration gives it a value just made: a composite literal (`&T{}`),
    /// `new(T)`, or a constructor's result (`NewT(...)`, `newT(...)`).
    pub fresh: bool,
    /// Whether it was declared without a value (`var m map[…]…`) and has not been assigned
    /// since: its first assignment from shared storage (`m = s.items`, also inside a
    /// literal run under a lock helper) makes it that storage.
    pub unset: bool,
    /// Whether it holds a shallow copy a call returned (`flags := global.Clone()` of a
    /// `Clone` returning `&Flags{values: f.values}`): its `field_aliases` are the caller's
    /// storage, its mutexes its own.
    pub shallow_copy: bool,
    /// Whether it is given a new map right after it is sent on a channel (`out <- batch;
    /// batch = make(…)`): every map it holds is touched here only before its send.
    pub renewed: bool,
    /// Whether it holds a copy of a struct value (a value receiver or parameter of a struct
    /// type, `c := *p`): the maps in it are shared, its mutexes are its own.
    pub by_value: bool,
    /// Whether it holds a struct value of a package type, not a pointer (`t := T{…}`, `var
    /// t T`, a copy): assigning it to another variable copies its mutexes.
    pub struct_value: bool,
    /// For the stand-in of a copy's own storage (its mutexes), the copied variable: a lock
    /// taken on it excludes no one else.
    pub copy_of: Option<BindingId>,
    /// File and byte offset of the declaration.
    pub file: FileId,
    /// Byte offset of the declaring identifier.
    pub offset: usize,
}

impl Binding {
    /// The storage a field path of this variable starts with, when a field alias names a
    /// prefix of `fields`: the alias's place and how many fields it covers (the longest).
    pub fn field_alias<'f>(
        &self,
        fields: impl Iterator<Item = &'f str> + Clone,
    ) -> Option<(PlaceId, usize)> {
        self.field_aliases
            .iter()
            .filter_map(|(key, place)| {
                let mut path = fields.clone();
                let mut covered = 0;
                for part in key.split('.') {
                    if path.next()? != part {
                        return None;
                    }
                    covered += 1;
                }
                Some((*place, covered))
            })
            .max_by_key(|&(_, covered)| covered)
    }

    /// A variable of function `func` (`None`: a package variable) declared at `offset` in
    /// `file`, with nothing yet known of what it holds.
    pub fn new(
        name: String,
        func: Option<FuncId>,
        ctl: CtlId,
        ty: TypeInfo,
        file: FileId,
        offset: usize,
    ) -> Self {
        Binding {
            name,
            func,
            ctl,
            ty,
            alias: None,
            param: false,
            func_value: None,
            loaded_from: None,
            returned_by: None,
            result_of: None,
            field_aliases: Vec::new(),
            received_from: None,
            element_of: None,
            bound_to: None,
            fresh: false,
            unset: false,
            shallow_copy: false,
            renewed: false,
            by_value: false,
            struct_value: false,
            copy_of: None,
            file,
            offset,
        }
    }
}

/// The pseudo-field selecting any element of a map, slice or array: `m[k]` and `m[j]` are
/// one place, so a nested map `m[a]` has an identity.
pub const ELEMENT: &str = "[]";

/// The prefix of the pseudo-field a context value is at: `ctx.Value(key).(T)` is field
/// `Value(key)` of `ctx`, so every goroutine holding `ctx` reaches the same value.
pub const CONTEXT_VALUE: &str = "Value(";

/// The prefix of the pseudo-field an `atomic.Value` holds: `v.Load().(T)` is field
/// `Load().(T)` of `v`, the same value for every loader.
pub const LOADED_VALUE: &str = "Load()";

/// A storage location: a binding followed by zero or more field selections.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Place {
    /// The variable the location starts from.
    pub root: BindingId,
    /// Field names selected from it, outermost first.
    pub fields: Vec<String>,
}

/// The kind of a control frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CtlKind {
    /// The function body itself.
    Body,
    /// A loop body (runs zero or more times).
    Loop,
    /// A branch (runs zero or one time).
    Branch,
    /// The body of a function inlined at a call (runs once, whenever the call does).
    Inlined,
}

/// A node of a function's control-structure tree.
#[derive(Debug, Clone)]
pub struct CtlFrame {
    /// The enclosing frame, `None` for the body.
    pub parent: Option<CtlId>,
    /// What kind of construct it is.
    pub kind: CtlKind,
    /// Whether every path through it leaves the function (`if err != nil { return err }`):
    /// nothing after it in the function runs once it has.
    pub exits: bool,
    /// Whether every path through it returns, though the function's deferred calls may
    /// still run after it (`exits` without the deferred calls): nothing after it outside
    /// them runs once it has.
    pub returns: bool,
    /// Whether it is a loop with neither condition nor range clause (`for { … }`): it runs
    /// until something inside leaves it, as a server's accept or receive loop does.
    pub endless: bool,
}

/// A function body: a declared function or method, or a function literal that runs as a
/// goroutine or is stored in a variable. Other function literals are part of the body that
/// contains them.
#[derive(Debug, Clone)]
pub struct Func {
    /// Name in the go tool's style: `main`, `(*Server).handle`, `main.func1`.
    pub name: String,
    /// The file holding it.
    pub file: FileId,
    /// Byte range of the whole function or literal.
    pub span: Range<usize>,
    /// Whether it is a declared function or method (not a literal).
    pub declared: bool,
    /// Whether it serves requests, every one on its own goroutine, concurrently with itself,
    /// with no registration in the package to say so: a `ServeHTTP` method, a function
    /// with a handler's parameters (`w http.ResponseWriter, r *http.Request`, `c *gin.Context`)
    /// that the package does not register itself (the registration, where there is one, is
    /// a spawn and names its site), or a method of a gRPC service implementation.
    pub handler: Option<Serves>,
    /// The receiver's binding, for methods.
    pub receiver: Option<BindingId>,
    /// Whether its name or doc comment says callers hold the lock (`fooLocked`, "must be
    /// called with mu held").
    pub assumes_lock: bool,
    /// Whether it is in a `_test.go` file.
    pub in_test: bool,
    /// Whether it takes, releases or holds a lock outside the function literals in its
    /// body (a callback's `p.mu.Lock()` is the callback's locking, not the function's).
    pub locks_itself: bool,
    /// What calling it does to the caller's locks (lock helpers).
    pub lock_effect: LockEffect,
    /// The parameters' bindings in order (`None` for `_` and unnamed ones).
    pub params: Vec<Option<BindingId>>,
    /// Events in source order (deferred events have a late `order` but keep their span).
    pub events: Vec<Event>,
    /// Its `return`s of storage the caller shares.
    pub returns: Vec<Returned>,
    /// Its local variables holding a struct it returns (`c := &Cache{…}; go c.janitor();
    /// return c`): a constructor hands the object to its callers, who call its methods.
    pub made: Vec<BindingId>,
    /// Its local map variables it returns, by result index (`return results, ok`), and in
    /// a `main` package its local struct objects too: what the caller's variable holds
    /// after the call.
    pub returned_locals: Vec<(usize, BindingId)>,
    /// The functions it returns, by result index (`return func(id string) {…}`, a variable
    /// holding a literal, a package function): what a call of the caller's result runs.
    pub returned_funcs: Vec<(usize, Callee)>,
    /// The struct types of the package it makes values of (`T{…}`, `&T{…}`, `new(T)`).
    pub instantiates: Vec<String>,
    /// Its loops and branches.
    pub ctl: Control,
}

impl Func {
    /// Whether it returns a literal of its own (`Func::returned_funcs`), whose captures are
    /// the variables of the instance that returned it.
    pub fn returns_literal(&self) -> bool {
        self.returned_funcs
            .iter()
            .any(|(_, c)| matches!(c, Callee::Literal(_)))
    }
}

/// What a request handler serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Serves {
    /// HTTP requests (`net/http` and the web frameworks).
    Http,
    /// gRPC calls: a method of a service implementation.
    Rpc,
    /// The callers of a library's exported API: a function that fills a memo cache for it
    /// (`memo`).
    Callers,
}

/// What a function does to its caller's locks: `func (s *S) lock() { s.mu.Lock() }`
/// acquires `s.mu`, `unlock` releases it, `withLock(f)` runs `f` holding it. Places are the
/// function's own (rooted at its receiver, parameters or package variables).
#[derive(Debug, Clone, Default)]
pub struct LockEffect {
    /// Locks still held when it returns.
    pub acquires: LockSet,
    /// Locks it releases that it did not take.
    pub releases: Vec<PlaceId>,
    /// Function parameters it calls, with the locks held there (maybe none).
    pub runs_params: Vec<ParamRun>,
}

/// A call of a function parameter (`fun(d)` in `walk`, under `d.mu`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParamRun {
    /// The parameter's index.
    pub param: usize,
    /// The locks held at the call.
    pub locks: LockSet,
    /// The places passed to it, by its parameter index.
    pub args: Vec<Option<PlaceId>>,
}

/// The loops and branches of a body, as a tree of frames; frame 0 is the body.
#[derive(Debug, Clone, Default)]
pub struct Control {
    /// The frames; a frame's parent always has a smaller id.
    pub frames: Vec<CtlFrame>,
}

impl Control {
    /// A tree holding only the body frame.
    pub fn body() -> Self {
        Control {
            frames: vec![CtlFrame {
                parent: None,
                kind: CtlKind::Body,
                exits: false,
                returns: false,
                endless: false,
            }],
        }
    }

    /// Adds a frame under `parent` and returns its id.
    pub fn push(&mut self, parent: CtlId, kind: CtlKind) -> CtlId {
        self.frames.push(CtlFrame {
            parent: Some(parent),
            kind,
            exits: false,
            returns: false,
            endless: false,
        });
        (self.frames.len() - 1) as CtlId
    }

    /// Whether `earlier` and `later` (after it in program order) never both run: climbing
    /// from `earlier` to the frames around `later`, a frame every path of which leaves the
    /// function is passed at the common frame's function level (a `return` inside an
    /// inlined call only ends the call), and no loop of a caller the function is inlined in
    /// could run `later` in one iteration and `earlier` in the next (the function's own
    /// loops end with it).
    pub fn exits_between(&self, earlier: CtlId, later: CtlId) -> bool {
        self.leaves_between(earlier, later, |f| f.exits)
    }

    /// [`Control::exits_between`] passing frames that `leaves`.
    fn leaves_between(
        &self,
        earlier: CtlId,
        later: CtlId,
        leaves: impl Fn(&CtlFrame) -> bool,
    ) -> bool {
        let mut left = false;
        let mut cur = earlier;
        while !self.contains(cur, later) {
            let frame = &self.frames[cur as usize];
            match frame.kind {
                CtlKind::Inlined => left = false,
                _ if leaves(frame) => left = true,
                _ => {}
            }
            match frame.parent {
                Some(parent) => cur = parent,
                None => return false,
            }
        }
        left && !self.caller_loop_around(cur)
    }

    /// Whether a loop encloses the call that inlined the function frame `ctl` belongs to.
    fn caller_loop_around(&self, ctl: CtlId) -> bool {
        let mut inlined = false;
        let mut cur = Some(ctl);
        while let Some(c) = cur {
            let frame = &self.frames[c as usize];
            match frame.kind {
                CtlKind::Inlined => inlined = true,
                CtlKind::Loop if inlined => return true,
                _ => {}
            }
            cur = frame.parent;
        }
        false
    }

    /// Whether `earlier` and `later` never both run where `later` is no deferred code:
    /// [`Control::exits_between`] with frames that return though deferred calls remain.
    pub fn returns_between(&self, earlier: CtlId, later: CtlId) -> bool {
        self.leaves_between(earlier, later, |f| f.returns)
    }

    /// Whether frame `outer` is `inner` or one of its ancestors.
    pub fn contains(&self, outer: CtlId, inner: CtlId) -> bool {
        let mut cur = Some(inner);
        while let Some(c) = cur {
            if c == outer {
                return true;
            }
            cur = self.frames[c as usize].parent;
        }
        false
    }

    /// Whether the innermost loop around `ctl` runs without condition or range clause
    /// (`for { … }`); `None` outside any loop.
    pub fn innermost_loop_endless(&self, ctl: CtlId) -> Option<bool> {
        let l = self.loops_around(ctl).next()?;
        Some(self.frames[l as usize].endless)
    }

    /// The loop frames around `ctl`, innermost first.
    pub fn loops_around(&self, ctl: CtlId) -> impl Iterator<Item = CtlId> + '_ {
        std::iter::successors(Some(ctl), |&c| self.frames[c as usize].parent)
            .filter(|&c| self.frames[c as usize].kind == CtlKind::Loop)
    }
}

/// A function stored in a function-valued field, with the receiver a method value is bound
/// to when it is another object's (`None`: the holder's own method, a function, a literal),
/// or, for a literal sent on a channel field of functions, the object holding the channel
/// (`sh` of `sh.tasks <- func() {…}`).
pub type StoredFunc = (Callee, Option<PlaceId>);

/// A function-valued field given more different functions than this resolves to none.
pub const MAX_STORED_FUNCS: usize = 16;

/// All facts of one package.
#[derive(Debug, Default)]
pub struct PackageFacts {
    /// The package name from its `package` clause.
    pub name: String,
    /// Every binding.
    pub bindings: Vec<Binding>,
    /// Every interned place.
    pub places: Vec<Place>,
    /// Every function body.
    pub funcs: Vec<Func>,
    /// Declared functions and methods by the name calls use.
    pub callees: HashMap<Callee, FuncId>,
    /// The methods a call through an interface of the package may reach, by (interface,
    /// method): those of the implementers the package makes values of (see `dispatch`); a
    /// call resolves when there is one.
    pub dispatch: HashMap<(String, String), Vec<FuncId>>,
    /// Function-valued struct fields (or lists of functions), by (struct type, field), and
    /// the functions the package stores in them: declared functions, literals, or method
    /// values with the receiver each is bound to (`None` for the holder's own method,
    /// `m.OnChange = m.onChange`, which runs on the holder); a channel field of functions
    /// holds the literals sent on it (see [`StoredFunc`]). A field given more than
    /// [`MAX_STORED_FUNCS`] different ones resolves to none.
    pub field_funcs: HashMap<(String, String), Vec<StoredFunc>>,
    /// Package-level declarations: types, fields, function results.
    pub decls: PackageDecls,
    /// Calls that return a map their callee shares.
    pub escapes: Vec<Escape>,
    /// Function literals handed to the function a `go` statement runs (`go run(st,
    /// func(s *store) {…})`), each a goroutine of its own: (the literal, what the `go`
    /// statement runs, the argument's index). `lock_helpers` gives the literal the locks
    /// the function holds when it calls that parameter.
    pub spawned_literals: Vec<(FuncId, Target, usize)>,
    /// Maps sent on channels: the channel and the map.
    pub sent: Vec<(PlaceId, PlaceId)>,
    /// Struct literals sent on channels with fields set from shared storage
    /// (`out <- Batch{Samples: s.pending}`): the channel and the fields.
    pub sent_fields: Vec<(PlaceId, Vec<(String, PlaceId)>)>,
    /// Fields given a new map right after they are sent on a channel (`out <-
    /// Batch{Samples: s.pending}; s.pending = make(…)`).
    pub renewed: Vec<PlaceId>,
    /// Struct types whose values the package registers as gRPC services
    /// (`pb.RegisterStoreServer(s, &store{})`).
    pub registered_services: HashSet<String>,
    /// The types asserted on context and `atomic.Value` values, by pseudo-field
    /// (`Value(key)`, `Load().(T)`): what `ctx.Value(key).(T)` and `v.Load().(T)` hold.
    pub context_values: HashMap<String, TypeInfo>,
    /// Whether the package is test code (under a module's `test`, `tests`, `e2e`,
    /// `testing`, `mocks`, … directory): all its code is, as a `_test.go` file's is.
    pub test_tree: bool,
    pub(super) place_ids: HashMap<Place, PlaceId>,
}

impl PackageFacts {
    /// The body a call names: a literal, or a declared function or method of the package,
    /// the one function stored in the function-valued field it calls, the one implementer
    /// of an interface the package makes (`dispatch`), or the literal a function returns
    /// (`Callee::Returned`).
    pub fn resolve(&self, callee: &Callee) -> Option<FuncId> {
        match callee {
            Callee::Literal(f) => Some(*f),
            Callee::Method(ty, name) => self
                .callees
                .get(callee)
                .copied()
                .or_else(|| match self.stored_funcs(callee) {
                    [(stored, _)] => self.body_of(stored),
                    _ => None,
                })
                .or_else(|| match self.dispatched(ty, name) {
                    [only] => Some(*only),
                    _ => None,
                }),
            Callee::Returned { from, index, .. } => {
                let f = self.resolve(from)?;
                let returned = &self.funcs[f as usize].returned_funcs;
                let mut at = returned.iter().filter(|(i, _)| i == index);
                match (at.next(), at.next()) {
                    (Some((_, only)), None) => self.body_of(only),
                    _ => None,
                }
            }
            other => self.callees.get(other).copied(),
        }
    }

    /// Every body a call of a function-valued field (or an element of a list of functions)
    /// may run when the package stores several there, each with the receiver its method
    /// value is bound to (`bus.Subscribe(a.onEvent)`, `bus.Subscribe(b.onEvent)`); empty
    /// otherwise (see [`PackageFacts::resolve`]).
    pub fn resolve_all(&self, callee: &Callee) -> Vec<(FuncId, Option<PlaceId>)> {
        if self.callees.contains_key(callee) {
            return Vec::new();
        }
        match self.stored_funcs(callee) {
            stored @ [_, _, ..] => stored
                .iter()
                .filter_map(|(c, receiver)| Some((self.body_of(c)?, *receiver)))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The methods a call of `name` through interface `ty` may reach (`dispatch`).
    fn dispatched(&self, ty: &str, name: &str) -> &[FuncId] {
        if self.dispatch.is_empty() {
            return &[];
        }
        self.dispatch
            .get(&(ty.to_string(), name.to_string()))
            .map_or(&[], Vec::as_slice)
    }

    /// The receiver a call of a function-valued field runs its method value on, when the
    /// package stored one method of another object there (`bus.Subscribe(svc.onEvent)`).
    pub fn bound_receiver(&self, callee: &Callee) -> Option<PlaceId> {
        if self.callees.contains_key(callee) {
            return None;
        }
        match self.stored_funcs(callee) {
            [(_, receiver)] => *receiver,
            _ => None,
        }
    }

    /// The functions stored in the function-valued field a callee names, if it names one.
    fn stored_funcs(&self, callee: &Callee) -> &[StoredFunc] {
        match callee {
            Callee::Method(ty, name) => self
                .field_funcs
                .get(&(ty.clone(), name.clone()))
                .filter(|stored| stored.len() <= MAX_STORED_FUNCS)
                .map_or(&[], Vec::as_slice),
            _ => &[],
        }
    }

    /// The body of a stored function.
    fn body_of(&self, stored: &Callee) -> Option<FuncId> {
        match stored {
            Callee::Literal(f) => Some(*f),
            Callee::Returned { .. } => self.resolve(stored),
            stored => self.callees.get(stored).copied(),
        }
    }

    /// Whether `place` is `base` or inside it (`base.f`, `base[…]`).
    pub fn place_within(&self, place: PlaceId, base: PlaceId) -> bool {
        let (p, b) = (&self.places[place as usize], &self.places[base as usize]);
        p.root == b.root && p.fields.starts_with(&b.fields)
    }

    /// The place as written in Go: `m`, `s.items`, `m[…]`.
    pub fn place_text(&self, place: PlaceId) -> String {
        let p = &self.places[place as usize];
        place_text(&self.bindings[p.root as usize].name, &p.fields)
    }

    /// Whether a place is reached through storage other code shares: a package variable,
    /// or a receiver or parameter of a declared function.
    pub fn is_shared_root(&self, place: PlaceId) -> bool {
        let b = &self.bindings[self.places[place as usize].root as usize];
        b.func.is_none() || b.param
    }

    /// The last `Lock`/`RLock` of `lock` in `func` before byte `offset`.
    pub fn lock_site(&self, func: &Func, lock: PlaceId, offset: usize) -> Option<Range<usize>> {
        func.events
            .iter()
            .filter(|e| e.span.start < offset)
            .rfind(|e| matches!(e.kind, EventKind::Lock { place, .. } if place == lock))
            .map(|e| e.span.clone())
    }

    /// What is known about the type stored at a place.
    pub fn place_type(&self, place: PlaceId) -> TypeInfo {
        let p = &self.places[place as usize];
        let mut ty = self.bindings[p.root as usize].ty.clone();
        for field in &p.fields {
            if field.starts_with(CONTEXT_VALUE) || field.starts_with(LOADED_VALUE) {
                ty = self.context_values.get(field).cloned().unwrap_or_default();
                continue;
            }
            ty = match ty {
                TypeInfo::Map { value: elem, .. } | TypeInfo::Slice(elem, _)
                    if field == ELEMENT =>
                {
                    *elem
                }
                TypeInfo::Named(name) => self.decls.field_type(&name, field),
                _ => TypeInfo::Unknown,
            };
        }
        ty
    }

    /// The place of field `field` of the value at `base`, through the embedded structs it
    /// is promoted from.
    pub fn select(&mut self, base: PlaceId, field: &str) -> PlaceId {
        let mut place = self.places[base as usize].clone();
        if field != ELEMENT {
            if let TypeInfo::Named(ty) = self.place_type(base) {
                place
                    .fields
                    .extend(self.decls.promotion(&ty, field).unwrap_or_default());
            }
        }
        place.fields.push(field.to_string());
        self.intern_place(place)
    }

    pub(super) fn intern_place(&mut self, place: Place) -> PlaceId {
        if let Some(&id) = self.place_ids.get(&place) {
            return id;
        }
        let id = self.places.len() as PlaceId;
        self.places.push(place.clone());
        self.place_ids.insert(place, id);
        id
    }
}
