//! The hub's facet operations: entries under a parent (`ctx.facets`), calls to facets,
//! stopping subtrees (abort, delete, clone-over, breakage), and where facet databases live.

use super::*;
use crate::storage::placement::{Place, Ticket};
use crate::tree::lifecycle::{self, Effect};

/// Maximum depth of a facet tree, counting the root (workerd's limit).
pub const MAX_DEPTH: usize = 4;

/// How `Hub::facet_create` treats an existing entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateMode {
    /// Form B (callback): an existing entry wins, whatever its options.
    KeepExisting,
    /// Form A (options object): an entry with other options is replaced.
    ReplaceIfDifferent,
}

pub use crate::storage::placement::index_error;
pub use crate::tree::lifecycle::StopReason;

/// Where the files of `root` are.
pub(super) fn place(rtrec: &RuntimeRec, root: ObjectKey) -> Place {
    Place {
        root,
        dir: rtrec
            .dirs
            .get(root.0 as usize)
            .map(|d| d.path().to_path_buf()),
    }
}

/// The next place in `root`'s queue of file work (under the hub's lock: that fixes the
/// order of one object's file work).
pub(super) fn ticket(rtrec: &mut RuntimeRec, root: ObjectKey) -> Ticket {
    rtrec.forest.roots.entry(root).or_default().files.ticket()
}

/// Where the database of the ended instance `target` is released: its place, full name
/// and turn.
pub(super) fn release_at(
    rtrec: &mut RuntimeRec,
    target: Target,
) -> Option<(Place, Vec<String>, Ticket)> {
    let (root, path) = lifecycle::storage_of(&mut rtrec.forest, target)?;
    Some((place(rtrec, root), path, ticket(rtrec, root)))
}

impl HubState {
    /// The instance hosted by thread `from`, and its runtime.
    fn parent_of(&self, from: Tid) -> Result<(RtId, Target), CoreError> {
        let rec = self.threads.get(&from).ok_or(CoreError::Disposed)?;
        match (rec.role, rec.runtime) {
            (Role::Hosting(t), Some(rt)) => Ok((rt, t)),
            _ => Err(CoreError::NotHosting),
        }
    }

    /// Carries out a lifecycle decision of runtime `rt`: stops instances now (their
    /// databases are released once the lock is released) and returns the file work, each
    /// with its turn in its root's queue, for the caller to run after releasing the lock.
    fn apply(&mut self, rt: RtId, effects: Vec<Effect>) -> Vec<Io> {
        let mut work = Vec::new();
        for effect in effects {
            match effect {
                Effect::StopFacets {
                    entries,
                    status,
                    payload,
                } => self.stop_entries(rt, &entries, status, &payload),
                Effect::StopRoot { root, payload } => {
                    // The root's hibernatable sockets go with the object even when it is
                    // evicted (a facet restarts for its own socket without its parent), as
                    // end_thread drops them when it runs (a second drop finds nothing).
                    let outs = self.sockets.object_gone(rt, Target::Root(root));
                    self.flush_sockets(outs);
                    let Some(rtrec) = self.runtimes.get(&rt) else {
                        continue;
                    };
                    let supervisor = rtrec.supervisor;
                    let Some(ObjectRec::Hosted(t)) = rtrec.objects.get(&Target::Root(root)) else {
                        continue;
                    };
                    let t = *t;
                    self.end_thread(t, ReplyStatus::Reset, payload);
                    if let Some(inbox) =
                        self.threads.get(&supervisor).and_then(|t| t.inbox.as_ref())
                    {
                        inbox.push(Delivery::Terminate {
                            runtime: rt,
                            tid: t,
                        });
                    }
                }
                Effect::DeleteStorage { root, .. }
                | Effect::DeleteBelow { root, .. }
                | Effect::CloneStorage { root, .. } => {
                    let Some(rtrec) = self.runtimes.get_mut(&rt) else {
                        continue;
                    };
                    work.push(Io::Storage {
                        place: place(rtrec, root),
                        ticket: ticket(rtrec, root),
                        effect,
                    });
                }
            }
        }
        work
    }

    /// Decides operation `op` on the tree of the instance thread `from` hosts and carries
    /// out its in-memory part; returns its file work.
    fn decide(
        &mut self,
        from: Tid,
        op: impl FnOnce(&mut Forest, Target) -> Result<Vec<Effect>, CoreError>,
    ) -> Result<Vec<Io>, CoreError> {
        let (rt, parent) = self.parent_of(from)?;
        let rtrec = self.runtimes.get_mut(&rt).ok_or(CoreError::Disposed)?;
        let effects = op(&mut rtrec.forest, parent)?;
        Ok(self.apply(rt, effects))
    }

    /// Ends the instances of `ids` (already removed from the tree): their threads stop,
    /// calls addressed to them get `payload`.
    pub(super) fn stop_entries(
        &mut self,
        rt: RtId,
        ids: &[u64],
        status: ReplyStatus,
        payload: &Payload,
    ) {
        for id in ids {
            // The entry is gone, and with it the facet's hibernatable sockets: nothing could
            // start it again to deliver their events (peers hear 1006, as on workerd).
            let outs = self.sockets.object_gone(rt, Target::Facet(*id));
            self.flush_sockets(outs);
            let Some(rtrec) = self.runtimes.get_mut(&rt) else {
                return;
            };
            let supervisor = rtrec.supervisor;
            match rtrec.objects.remove(&Target::Facet(*id)) {
                Some(ObjectRec::Hosted(tid)) => {
                    // Hand the objects entry back so end_thread recognises the host.
                    rtrec
                        .objects
                        .insert(Target::Facet(*id), ObjectRec::Hosted(tid));
                    self.end_thread(tid, status, payload.clone());
                    if let Some(inbox) =
                        self.threads.get(&supervisor).and_then(|t| t.inbox.as_ref())
                    {
                        inbox.push(Delivery::Terminate { runtime: rt, tid });
                    }
                }
                Some(ObjectRec::Waiting { queue, .. }) => {
                    rtrec.forest.removed_paths.remove(id);
                    rtrec.waiting.retain(|t| *t != Target::Facet(*id));
                    for d in queue {
                        if let Delivery::Call {
                            call,
                            payload: args,
                            ..
                        } = d
                        {
                            if let Some(flight) = self.calls.remove(&call) {
                                // Never delivered: the caller lets go of what it exported.
                                self.bounce(flight.caller, args);
                                self.finish(call, flight, status, payload.clone());
                            }
                        }
                    }
                }
                None => {
                    rtrec.forest.removed_paths.remove(id);
                }
            }
        }
    }

    /// `target` broke: its descendants stop; under `facetFailure: "object"` a broken facet
    /// takes the whole object (root included) down with it.
    pub(super) fn cascade_break(&mut self, rt: RtId, target: Target, payload: &Payload) {
        let Some(rtrec) = self.runtimes.get_mut(&rt) else {
            return;
        };
        let Some(root) = rtrec.forest.root_of(target) else {
            return;
        };
        let isolate = rtrec.isolate.get(root.0 as usize).copied().unwrap_or(false);
        let effects = lifecycle::cascade_break(&mut rtrec.forest, target, isolate, payload);
        let work = self.apply(rt, effects);
        debug_assert!(work.is_empty(), "a breakage deletes no storage");
    }
}

/// What `facet_lookup` found.
pub enum Found {
    None,
    Entry(u64),
    Failed(Payload),
}

impl Hub {
    /// The entry named `name` under the instance thread `from` hosts.
    pub fn facet_lookup(&self, from: Tid, name: &str) -> Result<Found, CoreError> {
        let st = self.lock();
        let (rt, parent) = st.parent_of(from)?;
        let rtrec = st.runtimes.get(&rt).ok_or(CoreError::Disposed)?;
        Ok(match rtrec.forest.lookup(parent, name) {
            None => Found::None,
            Some(e) => match rtrec.forest.entries.get(&e).and_then(|f| f.failure.clone()) {
                Some(p) => Found::Failed(p),
                None => Found::Entry(e),
            },
        })
    }

    /// Creates (or, per `mode`, reuses or replaces) the entry `name` under the instance
    /// thread `from` hosts. `startup` is the encoded options; `failure` makes the entry a
    /// sticky failure (a form-B callback that failed).
    pub fn facet_create(
        &self,
        from: Tid,
        name: &str,
        startup: String,
        mode: CreateMode,
        failure: Option<Payload>,
    ) -> Result<Found, CoreError> {
        let mut st = self.lock();
        let (rt, parent) = st.parent_of(from)?;
        let rtrec = st.runtimes.get_mut(&rt).ok_or(CoreError::Disposed)?;
        if rtrec.forest.depth(parent) >= MAX_DEPTH {
            return Err(CoreError::FacetDepth);
        }
        if let Some(existing) = rtrec.forest.lookup(parent, name) {
            let rec = rtrec
                .forest
                .entries
                .get(&existing)
                .expect("listed entries exist");
            if let Some(p) = &rec.failure {
                return Ok(Found::Failed(p.clone()));
            }
            if mode == CreateMode::KeepExisting || *rec.startup == *startup {
                return Ok(Found::Entry(existing));
            }
            let effects = lifecycle::restart(&mut rtrec.forest, existing);
            st.apply(rt, effects);
        }
        let rtrec = st.runtimes.get_mut(&rt).ok_or(CoreError::Disposed)?;
        let failed = failure.clone();
        let e = rtrec
            .forest
            .insert(parent, name, startup, failure)
            .ok_or(CoreError::Disposed)?;
        Ok(match failed {
            Some(p) => Found::Failed(p),
            None => Found::Entry(e),
        })
    }

    /// Calls facet entry `entry` (bound by a stub of thread `from`).
    pub fn facet_call(
        &self,
        from: Tid,
        rt: RtId,
        entry: u64,
        method: String,
        payload: Payload,
    ) -> Result<u64, CoreError> {
        if method.starts_with(super::REF_DELIVERY) {
            return Err(CoreError::ReservedMethod);
        }
        let call = self.next_call.fetch_add(1, Ordering::Relaxed);
        let mut st = self.lock();
        st.check_caller(from)?;
        let rtrec = st.runtimes.get(&rt).ok_or(CoreError::Disposed)?;
        let rec = rtrec.forest.entries.get(&entry);
        // Facet stubs cannot leave their parent: a call through one from a thread that no
        // longer hosts that parent is code of a stopped instance (its thread was recycled).
        if let Some(f) = rec {
            let hosts_parent = st
                .threads
                .get(&from)
                .is_some_and(|t| t.role == Role::Hosting(f.parent));
            if !hosts_parent {
                return Err(CoreError::Stopped);
            }
        }
        // The hot path (a running entry) clones nothing but a reference count.
        let dead = rtrec.forest.tombstones.get(&entry).cloned();
        let immediate = match (dead, rec) {
            (Some((status, p)), _) => Some((status, p)),
            (None, Some(f)) => f.failure.clone().map(|p| (ReplyStatus::Error, p)),
            (None, None) => Some((
                ReplyStatus::Error,
                error_payload("Error", ErrorCode::FacetDeleted, "Facet was deleted."),
            )),
        };
        if let Some((status, p)) = immediate {
            if let Some(inbox) = st.threads.get(&from).and_then(|t| t.inbox.as_ref()) {
                inbox.push(Delivery::Reply {
                    call,
                    status,
                    payload: p,
                    from: 0,
                });
            }
            // Never delivered: what its arguments exported goes back to the caller.
            st.bounce(from, payload);
            return Ok(call);
        }
        let startup = rec.map(|f| f.startup.clone()).unwrap_or_else(|| "".into());
        let delivery = Delivery::Call {
            call,
            method,
            payload,
        };
        st.route(from, rt, Target::Facet(entry), call, delivery, || {
            Delivery::StartFacet {
                entry,
                startup: startup.to_string(),
            }
        });
        Ok(call)
    }

    /// `facets.abort/delete(name)`: stops the subtree at once; `Delete` also removes its
    /// storage (after the hub's lock is released, in the object's order of file work).
    pub fn facet_stop(&self, from: Tid, name: &str, reason: StopReason) -> Result<(), CoreError> {
        let work = self.lock().decide(from, |f, parent| {
            lifecycle::stop_child(f, parent, name, reason)
        })?;
        crate::effects::run_all(work)
    }

    /// `facets.clone(src, dst)`: `dst`'s subtree stops and is replaced by a copy of `src`'s
    /// committed state and subtree. The copy runs after the hub's lock is released, in the
    /// object's order of file work: an instance of `dst` started meanwhile opens its
    /// database only once the copy is in place.
    pub fn facet_clone(&self, from: Tid, src: &str, dst: &str) -> Result<(), CoreError> {
        let work = self
            .lock()
            .decide(from, |f, parent| lifecycle::clone(f, parent, src, dst))?;
        crate::effects::run_all(work)
    }

    /// `facets.list()`: names of the direct children that are running or have storage in
    /// their own database or anywhere below them (SPEC §5.7), sorted.
    pub fn facet_list(&self, from: Tid) -> Result<Vec<String>, CoreError> {
        let (mut names, place, path, mut ticket) = {
            let mut st = self.lock();
            let (rt, parent) = st.parent_of(from)?;
            let rtrec = st.runtimes.get_mut(&rt).ok_or(CoreError::Disposed)?;
            let names: Vec<String> = rtrec
                .forest
                .children(parent)
                .map(|c| {
                    c.iter()
                        .filter(|(_, e)| rtrec.objects.contains_key(&Target::Facet(**e)))
                        .map(|(n, _)| n.clone())
                        .collect()
                })
                .unwrap_or_default();
            let root = rtrec.forest.root_of(parent).ok_or(CoreError::Disposed)?;
            let path = rtrec.forest.path_of(parent).ok_or(CoreError::Disposed)?;
            (names, place(rtrec, root), path, ticket(rtrec, root))
        };
        let stored = {
            let mut turn = ticket.wait();
            placement::stored_children(&place, &mut turn.state, &path)?
        };
        names.extend(
            stored
                .into_iter()
                .filter(|(_, has_storage)| *has_storage)
                .map(|(name, _)| name),
        );
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// `deleteAll()` in the instance of thread `from`: every facet below it stops (with
    /// "Facet was deleted.") and loses its storage — every child the index (or memory)
    /// knows, with or without data of its own, and so every descendant at every depth.
    pub fn facets_delete_all(&self, from: Tid) -> Result<(), CoreError> {
        let work = self.lock().decide(from, lifecycle::delete_all)?;
        crate::effects::run_all(work)
    }
}
