//! The hub's facet operations: entries under a parent (`ctx.facets`), calls to facets,
//! stopping subtrees (abort, delete, clone-over, breakage), and where facet databases live.

use std::path::PathBuf;

use super::*;
use crate::storage::cell::DbCell;
use crate::storage::facet_index::{FacetIndex, IndexError};

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

/// Why a facet subtree is stopped on purpose (never a breakage: no `durableObjectReset`).
pub enum StopReason {
    Abort(Payload),
    Delete,
    CloneOver,
}

impl StopReason {
    fn payload(&self) -> Payload {
        match self {
            StopReason::Abort(p) => p.clone(),
            StopReason::Delete => {
                error_payload("Error", ErrorCode::FacetDeleted, "Facet was deleted.")
            }
            StopReason::CloneOver => error_payload(
                "Error",
                ErrorCode::FacetClonedOver,
                "Facet was cloned-over.",
            ),
        }
    }
}

fn root_dir(rtrec: &RuntimeRec, root: ObjectKey) -> Option<&NamespaceDir> {
    rtrec.dirs.get(root.0 as usize)
}

fn index_path(dir: &NamespaceDir, root: ObjectKey) -> PathBuf {
    dir.path().join(format!("{}.facets", ids::to_hex(&root.1)))
}

/// The database file of facet id `facet` (0: the root) of `root`.
fn facet_file(dir: &NamespaceDir, root: ObjectKey, facet: u32) -> PathBuf {
    if facet == 0 {
        dir.database_path(&root.1)
    } else {
        dir.path()
            .join(format!("{}.{facet}.sqlite", ids::to_hex(&root.1)))
    }
}

pub(super) fn index_error(e: IndexError) -> CoreError {
    match e {
        IndexError::Corrupt { .. } => CoreError::FacetIndexCorrupt(e.to_string()),
        IndexError::Io { .. } => CoreError::Storage(e.to_string()),
    }
}

/// The root's facet index; `create`: make the file if missing. None without one.
fn index(
    rtrec: &mut RuntimeRec,
    root: ObjectKey,
    create: bool,
) -> Result<Option<&mut FacetIndex>, CoreError> {
    let Some(dir) = root_dir(rtrec, root) else {
        return Ok(None);
    };
    let path = index_path(dir, root);
    let tree = rtrec.forest.roots.entry(root).or_default();
    if tree.index.is_none() {
        tree.index = if create {
            Some(FacetIndex::open(&path).map_err(index_error)?)
        } else {
            FacetIndex::open_existing(&path).map_err(index_error)?
        };
    }
    Ok(tree.index.as_mut())
}

/// The facet id of `path` under `root` (0 for the root), assigning ids (durably, parents
/// first) when `assign`; None when some part of the path never had an id.
fn facet_id(
    rtrec: &mut RuntimeRec,
    root: ObjectKey,
    path: &[String],
    assign: bool,
) -> Result<Option<u32>, CoreError> {
    if path.is_empty() {
        return Ok(Some(0));
    }
    let Some(ix) = index(rtrec, root, assign)? else {
        return Ok(None);
    };
    let mut id = 0;
    for name in path {
        id = if assign {
            ix.get_or_assign(id, name).map_err(index_error)?
        } else {
            match ix.lookup(id, name) {
                Some(i) => i,
                None => return Ok(None),
            }
        };
    }
    Ok(Some(id))
}

/// Where the instance at `path` of `root` keeps its database (ids assigned on first use).
pub(super) fn database_file(
    rtrec: &mut RuntimeRec,
    root: ObjectKey,
    path: &[String],
) -> Result<PathBuf, CoreError> {
    let id = facet_id(rtrec, root, path, true)?.expect("assigned");
    let file = facet_file(root_dir(rtrec, root).expect("file storage"), root, id);
    store::discard_orphan_companions(&file)
        .map_err(|e| CoreError::Storage(format!("cannot prepare {}: {e}", file.display())))?;
    Ok(file)
}

/// True when some facet below `path` has storage.
fn descendants_have_storage(rtrec: &mut RuntimeRec, root: ObjectKey, path: &[String]) -> bool {
    if let Some(dir_path) = root_dir(rtrec, root).map(|d| d.path().to_path_buf()) {
        // An index that cannot be read says nothing: assume storage below (keep the files).
        let id = match facet_id(rtrec, root, path, false) {
            Ok(Some(id)) => id,
            Ok(None) => return false,
            Err(_) => return true,
        };
        let ix = match index(rtrec, root, false) {
            Ok(Some(ix)) => ix,
            Ok(None) => return false,
            Err(_) => return true,
        };
        let hex = ids::to_hex(&root.1);
        ix.subtree(id)
            .into_iter()
            .skip(1)
            .any(|d| dir_path.join(format!("{hex}.{d}.sqlite")).exists())
    } else {
        rtrec
            .memory_dbs
            .keys()
            .any(|(r, p)| *r == root && p.len() > path.len() && p.starts_with(path))
    }
}

/// The instance's thread ends: closes its database and, for a facet that holds nothing
/// and has no descendants with storage, removes it (implicit deletion).
pub(super) fn release_database(rtrec: &mut RuntimeRec, target: Target, db: &mut Database) {
    let facet = match target {
        Target::Facet(e) => rtrec
            .forest
            .entries
            .get(&e)
            .map(|f| (f.root, f.path.clone()))
            .or_else(|| rtrec.forest.removed_paths.remove(&e)),
        Target::Root(_) => None,
    };
    let empty = facet.is_some() && !db.is_closed() && db.is_empty().unwrap_or(false);
    match db.location().clone() {
        Location::File(file) => {
            db.close();
            if let Some((root, path)) = facet {
                if empty && !descendants_have_storage(rtrec, root, &path) {
                    let _ = store::remove_database(&file);
                }
            }
        }
        Location::Memory => {
            if let Some((root, path)) = facet {
                if empty && !descendants_have_storage(rtrec, root, &path) {
                    rtrec.memory_dbs.remove(&(root, path));
                }
            }
        }
    }
}

/// Deletes the storage of `path` under `root` and of everything below it.
fn delete_storage(
    rtrec: &mut RuntimeRec,
    root: ObjectKey,
    path: &[String],
) -> Result<(), CoreError> {
    if root_dir(rtrec, root).is_some() {
        let Some(id) = facet_id(rtrec, root, path, false)? else {
            return Ok(());
        };
        let ids = match index(rtrec, root, false)? {
            Some(ix) => ix.subtree(id),
            None => vec![id],
        };
        let dir = root_dir(rtrec, root).expect("checked");
        for d in ids {
            if d != 0 {
                store::remove_database(&facet_file(dir, root, d))?;
            }
        }
    } else {
        rtrec.memory_dbs.retain(|(r, p), _| {
            !(*r == root && p.len() >= path.len() && p.starts_with(path) && !path.is_empty())
        });
    }
    Ok(())
}

/// Replaces the storage of `dst` and its subtree with a copy of the committed state of
/// `src` and its subtree (`dst`'s instances are stopped). On disk each database is
/// replaced crash-atomically (`store::replace_database`); databases of the old subtree
/// that the copy does not replace are removed afterwards. In memory: under the lock.
fn clone_storage(
    rtrec: &mut RuntimeRec,
    root: ObjectKey,
    src: &[String],
    dst: &[String],
) -> Result<(), CoreError> {
    if root_dir(rtrec, root).is_none() {
        delete_storage(rtrec, root, dst)?;
        return copy_storage(rtrec, root, src, dst);
    }
    let old: Vec<u32> = match facet_id(rtrec, root, dst, false)? {
        Some(id) => index(rtrec, root, false)?
            .map(|ix| ix.subtree(id))
            .unwrap_or_default(),
        None => Vec::new(),
    };
    let mut written = std::collections::HashSet::new();
    copy_files(rtrec, root, src, dst, &mut written)?;
    let dir = root_dir(rtrec, root).expect("checked");
    for id in old {
        if !written.contains(&id) {
            store::remove_database(&facet_file(dir, root, id))?;
        }
    }
    Ok(())
}

/// Copies the database of `src` (if it has one) over `dst`'s, then its children's; records
/// the dst ids written.
fn copy_files(
    rtrec: &mut RuntimeRec,
    root: ObjectKey,
    src: &[String],
    dst: &[String],
    written: &mut std::collections::HashSet<u32>,
) -> Result<(), CoreError> {
    let Some(src_id) = facet_id(rtrec, root, src, false)? else {
        return Ok(());
    };
    let children: Vec<(String, u32)> = index(rtrec, root, false)?
        .map(|ix| ix.children(src_id))
        .unwrap_or_default();
    let src_file = facet_file(root_dir(rtrec, root).expect("checked"), root, src_id);
    if src_file.exists() {
        let dst_file = database_file(rtrec, root, dst)?;
        store::replace_database(Some(&src_file), &dst_file)?;
        if let Some(id) = facet_id(rtrec, root, dst, false)? {
            written.insert(id);
        }
    }
    for (name, _) in children {
        let (mut s, mut d) = (src.to_vec(), dst.to_vec());
        s.push(name.clone());
        d.push(name);
        copy_files(rtrec, root, &s, &d, written)?;
    }
    Ok(())
}

/// Copies the in-memory databases of `src` and its subtree to `dst` (whose are gone).
fn copy_storage(
    rtrec: &mut RuntimeRec,
    root: ObjectKey,
    src: &[String],
    dst: &[String],
) -> Result<(), CoreError> {
    let sources: Vec<(Vec<String>, SharedDb)> = rtrec
        .memory_dbs
        .iter()
        .filter(|((r, p), _)| *r == root && p.starts_with(src) && p.len() >= src.len())
        .map(|((_, p), db)| (p.clone(), db.clone()))
        .collect();
    for (p, db) in sources {
        let mut target = dst.to_vec();
        target.extend_from_slice(&p[src.len()..]);
        // Under the hub's lock: never wait long on a facet busy in a query.
        let guard = db
            .try_lock_for(std::time::Duration::from_secs(1))
            .ok_or_else(|| {
                CoreError::Storage(format!(
                    "Facet {} is busy; clone it again later.",
                    p.join("/")
                ))
            })?;
        let copy = guard
            .copy_to_memory()
            .map_err(|e| CoreError::Storage(e.to_string()))?;
        drop(guard);
        rtrec.memory_dbs.insert((root, target), DbCell::new(copy));
    }
    Ok(())
}

/// The direct children of `parent` that storage knows (the index, or the in-memory
/// databases), each with whether it or anything below it has storage.
fn stored_children(
    rtrec: &mut RuntimeRec,
    parent: Target,
) -> Result<Vec<(String, bool)>, CoreError> {
    let root = rtrec.forest.root_of(parent).ok_or(CoreError::Disposed)?;
    let path = rtrec.forest.path_of(parent).ok_or(CoreError::Disposed)?;
    if root_dir(rtrec, root).is_none() {
        let mut out: Vec<(String, bool)> = rtrec
            .memory_dbs
            .keys()
            .filter(|(r, p)| *r == root && p.len() > path.len() && p.starts_with(&path))
            .map(|(_, p)| (p[path.len()].clone(), true))
            .collect();
        out.sort();
        out.dedup();
        return Ok(out);
    }
    let Some(id) = facet_id(rtrec, root, &path, false)? else {
        return Ok(Vec::new());
    };
    let Some(ix) = index(rtrec, root, false)? else {
        return Ok(Vec::new());
    };
    let children: Vec<(String, Vec<u32>)> = ix
        .children(id)
        .into_iter()
        .map(|(name, cid)| (name, ix.subtree(cid)))
        .collect();
    let dir = root_dir(rtrec, root).expect("checked");
    Ok(children
        .into_iter()
        .map(|(name, subtree)| {
            let stored = subtree
                .into_iter()
                .any(|d| facet_file(dir, root, d).exists());
            (name, stored)
        })
        .collect())
}

use crate::storage::store;

impl HubState {
    /// The instance hosted by thread `from`, and its runtime.
    fn parent_of(&self, from: Tid) -> Result<(RtId, Target), CoreError> {
        let rec = self.threads.get(&from).ok_or(CoreError::Disposed)?;
        match (rec.role, rec.runtime) {
            (Role::Hosting(t), Some(rt)) => Ok((rt, t)),
            _ => Err(CoreError::NotHosting),
        }
    }

    /// Stops child `name` of the instance thread `from` hosts, and its subtree; `Delete`
    /// also removes their storage. Returns the runtime, root and the child's full name.
    fn stop_child(
        &mut self,
        from: Tid,
        name: &str,
        reason: StopReason,
    ) -> Result<(RtId, ObjectKey, Vec<String>), CoreError> {
        let (rt, parent) = self.parent_of(from)?;
        let payload = reason.payload();
        let rtrec = self.runtimes.get_mut(&rt).ok_or(CoreError::Disposed)?;
        let root = rtrec.forest.root_of(parent).ok_or(CoreError::Disposed)?;
        let mut path = rtrec.forest.path_of(parent).ok_or(CoreError::Disposed)?;
        path.push(name.to_owned());
        if let Some(e) = rtrec.forest.lookup(parent, name) {
            let ids = rtrec.forest.remove(e, ReplyStatus::Error, &payload);
            self.stop_entries(rt, &ids, ReplyStatus::Error, &payload);
        }
        if matches!(reason, StopReason::Delete) {
            let rtrec = self.runtimes.get_mut(&rt).ok_or(CoreError::Disposed)?;
            delete_storage(rtrec, root, &path)?;
        }
        Ok((rt, root, path))
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
                        if let Delivery::Call { call, .. } = d {
                            if let Some(flight) = self.calls.remove(&call) {
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
        match target {
            Target::Facet(e) if isolate => {
                let ids = rtrec.forest.remove(e, ReplyStatus::Reset, payload);
                self.stop_entries(rt, &ids, ReplyStatus::Reset, payload);
            }
            _ => {
                let ids = rtrec.forest.clear_root(root, ReplyStatus::Reset, payload);
                let root_host = match rtrec.objects.get(&Target::Root(root)) {
                    Some(ObjectRec::Hosted(t)) => Some(*t),
                    _ => None,
                };
                let supervisor = rtrec.supervisor;
                self.stop_entries(rt, &ids, ReplyStatus::Reset, payload);
                if let Some(t) = root_host {
                    self.end_thread(t, ReplyStatus::Reset, payload.clone());
                    if let Some(inbox) =
                        self.threads.get(&supervisor).and_then(|t| t.inbox.as_ref())
                    {
                        inbox.push(Delivery::Terminate {
                            runtime: rt,
                            tid: t,
                        });
                    }
                }
            }
        }
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
            if mode == CreateMode::KeepExisting || rec.startup == startup {
                return Ok(Found::Entry(existing));
            }
            let reason = error_payload(
                "Error",
                ErrorCode::FacetRestarted,
                "Facet was restarted with new startup options.",
            );
            let ids = rtrec.forest.remove(existing, ReplyStatus::Error, &reason);
            st.stop_entries(rt, &ids, ReplyStatus::Error, &reason);
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
        let call = self.next_call.fetch_add(1, Ordering::Relaxed);
        let mut st = self.lock();
        st.check_caller(from)?;
        let rtrec = st.runtimes.get(&rt).ok_or(CoreError::Disposed)?;
        let dead = rtrec.forest.tombstones.get(&entry).cloned();
        let failure = rtrec
            .forest
            .entries
            .get(&entry)
            .and_then(|f| f.failure.clone());
        let startup = rtrec.forest.entries.get(&entry).map(|f| f.startup.clone());
        let immediate = match (dead, failure, startup) {
            (Some((status, p)), _, _) => Some((status, p)),
            (None, Some(p), _) => Some((ReplyStatus::Error, p)),
            (None, None, None) => Some((
                ReplyStatus::Error,
                error_payload("Error", ErrorCode::FacetDeleted, "Facet was deleted."),
            )),
            (None, None, Some(_)) => None,
        };
        if let Some((status, p)) = immediate {
            if let Some(inbox) = st.threads.get(&from).and_then(|t| t.inbox.as_ref()) {
                inbox.push(Delivery::Reply {
                    call,
                    status,
                    payload: p,
                });
            }
            return Ok(call);
        }
        let startup = rtrec
            .forest
            .entries
            .get(&entry)
            .map(|f| f.startup.clone())
            .unwrap_or_default();
        let delivery = Delivery::Call {
            call,
            method,
            payload,
        };
        st.route(from, rt, Target::Facet(entry), call, delivery, || {
            Delivery::StartFacet { entry, startup }
        });
        Ok(call)
    }

    /// `facets.abort/delete(name)` and clone-over: stops the subtree at once; `Delete` also
    /// removes its storage.
    pub fn facet_stop(&self, from: Tid, name: &str, reason: StopReason) -> Result<(), CoreError> {
        self.lock().stop_child(from, name, reason).map(|_| ())
    }

    /// `facets.clone(src, dst)`: `dst`'s subtree stops and is replaced by a copy of `src`'s
    /// committed state and subtree, all under one hold of the lock (no instance of `dst`
    /// can start in between and open what is being replaced).
    pub fn facet_clone(&self, from: Tid, src: &str, dst: &str) -> Result<(), CoreError> {
        let mut st = self.lock();
        if src == dst {
            // clone(x, x): x stops (its in-memory state is gone), its storage stays.
            let reason = StopReason::CloneOver.payload();
            return st
                .stop_child(from, dst, StopReason::Abort(reason))
                .map(|_| ());
        }
        let (rt, root, d) = st.stop_child(from, dst, StopReason::CloneOver)?;
        let mut s = d.clone();
        s.pop();
        s.push(src.to_owned());
        let rtrec = st.runtimes.get_mut(&rt).ok_or(CoreError::Disposed)?;
        clone_storage(rtrec, root, &s, &d)
    }

    /// `facets.list()`: names of the direct children that are running or have storage in
    /// their own database or anywhere below them (SPEC §5.7), sorted.
    pub fn facet_list(&self, from: Tid) -> Result<Vec<String>, CoreError> {
        let mut st = self.lock();
        let (rt, parent) = st.parent_of(from)?;
        let rtrec = st.runtimes.get_mut(&rt).ok_or(CoreError::Disposed)?;
        let mut names: Vec<String> = rtrec
            .forest
            .children(parent)
            .map(|c| {
                c.iter()
                    .filter(|(_, e)| rtrec.objects.contains_key(&Target::Facet(**e)))
                    .map(|(n, _)| n.clone())
                    .collect()
            })
            .unwrap_or_default();
        names.extend(
            stored_children(rtrec, parent)?
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
        let names: Vec<String> = {
            let mut st = self.lock();
            let (rt, parent) = st.parent_of(from)?;
            let rtrec = st.runtimes.get_mut(&rt).ok_or(CoreError::Disposed)?;
            let mut names: Vec<String> = rtrec
                .forest
                .children(parent)
                .map(|c| c.keys().cloned().collect())
                .unwrap_or_default();
            names.extend(stored_children(rtrec, parent)?.into_iter().map(|(n, _)| n));
            names.sort();
            names.dedup();
            names
        };
        for name in names {
            self.facet_stop(from, &name, StopReason::Delete)?;
        }
        Ok(())
    }
}
