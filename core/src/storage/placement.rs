//! Where a root object's databases live, and the file work on them: the facet index, facet
//! ids, opening, copying (clone) and deleting databases, the implicit deletion of empty
//! facets. None of it runs under the hub's lock (SPEC §5.5, ARCHITECTURE "decide under the
//! lock, do I/O after it").
//!
//! ## Ordering: one queue of file work per root object
//!
//! The hub decides under its lock *what* happens to a root's files (a clone, a delete, an
//! instance's database being released or opened) and takes a [`Ticket`] from that root's
//! [`RootFiles`] in the same hold of the lock. The work is carried out after the lock is
//! released, in ticket order: [`Ticket::wait`] blocks until every earlier ticket of the
//! same root is done. So the order of file work on one object is the order the hub decided
//! it in — a clone's `dst` started again right after the clone opens its database only
//! once the copy is in place; a facet deleted and then restarted opens a fresh file — while
//! another object's calls never wait on it (they take no ticket of this root, and nothing
//! holds the hub's lock while waiting for a turn).
//!
//! Rules that keep this deadlock-free: tickets are only *taken* under the hub's lock (a
//! counter, never a wait); nobody takes the hub's lock while holding a turn; a ticket
//! dropped unused gives up its turn without waiting.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use crate::error::CoreError;
use crate::facets::ObjectKey;
use crate::ids;
use crate::storage::cell::DbCell;
use crate::storage::db::{Database, Location};
use crate::storage::facet_index::{FacetIndex, IndexError};
use crate::storage::store;

/// A database shared by an instance's thread and the core.
pub type SharedDb = Arc<DbCell>;

/// Where a root object's files are: its namespace directory (None: in memory) and its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub root: ObjectKey,
    pub dir: Option<PathBuf>,
}

impl Place {
    /// `<actor-id>.facets`.
    pub fn index_path(&self, dir: &Path) -> PathBuf {
        dir.join(format!("{}.facets", ids::to_hex(&self.root.1)))
    }

    /// The database file of facet id `facet` (0: the root): `<actor-id>[.<facet-id>].sqlite`.
    pub fn facet_file(&self, dir: &Path, facet: u32) -> PathBuf {
        let hex = ids::to_hex(&self.root.1);
        if facet == 0 {
            dir.join(format!("{hex}.sqlite"))
        } else {
            dir.join(format!("{hex}.{facet}.sqlite"))
        }
    }
}

/// What a root's file work reads and changes; only the holder of a turn touches it.
#[derive(Default)]
pub struct FilesState {
    /// `<actor-id>.facets`, opened on first need, closed when the root stops.
    pub index: Option<FacetIndex>,
    /// Without a storage directory: the databases of the root and its facets by full name,
    /// from first use until deleteAll or dispose, across evictions and restarts.
    pub memory: HashMap<Vec<String>, SharedDb>,
}

/// One root object's queue of file work (see the module header).
#[derive(Default)]
pub struct RootFiles {
    next: AtomicU64,
    /// (the ticket whose turn it is, tickets given up before their turn).
    serving: Mutex<(u64, BTreeSet<u64>)>,
    turn: Condvar,
    state: Mutex<FilesState>,
}

/// A place in a root's queue of file work, taken under the hub's lock.
pub struct Ticket {
    files: Arc<RootFiles>,
    n: u64,
    used: bool,
}

/// A root's files, while it is this ticket's turn.
pub struct Turn<'a> {
    files: &'a RootFiles,
    pub state: MutexGuard<'a, FilesState>,
}

impl RootFiles {
    /// The next place in this root's queue (take it under the hub's lock: that fixes the
    /// order).
    pub fn ticket(self: &Arc<Self>) -> Ticket {
        Ticket {
            files: self.clone(),
            n: self.next.fetch_add(1, Ordering::SeqCst),
            used: false,
        }
    }

    fn serving(&self) -> MutexGuard<'_, (u64, BTreeSet<u64>)> {
        self.serving.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn advance(&self) {
        let mut s = self.serving();
        s.0 += 1;
        loop {
            let next = s.0;
            if !s.1.remove(&next) {
                break;
            }
            s.0 += 1;
        }
        self.turn.notify_all();
    }

    /// Reads the state without a turn (a listing: never waits for a queue, but may wait
    /// for the work that runs right now).
    pub fn peek(&self) -> MutexGuard<'_, FilesState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Ticket {
    /// True when it is this ticket's turn now ([`Ticket::wait`] will not block on the
    /// queue). Stays true until this ticket is used or dropped.
    pub fn is_turn(&self) -> bool {
        self.files.serving().0 == self.n
    }

    /// Blocks until every earlier ticket of this root is done.
    pub fn wait(&mut self) -> Turn<'_> {
        self.used = true;
        let files = &*self.files;
        let mut s = files.serving();
        while s.0 != self.n {
            s = files.turn.wait(s).unwrap_or_else(|e| e.into_inner());
        }
        drop(s);
        Turn {
            files,
            state: files.state.lock().unwrap_or_else(|e| e.into_inner()),
        }
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.files.advance();
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if self.used {
            return; // its Turn advanced the queue
        }
        let mut s = self.files.serving();
        if s.0 == self.n {
            drop(s);
            self.files.advance();
        } else {
            s.1.insert(self.n);
        }
    }
}

impl std::fmt::Debug for Ticket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Ticket({})", self.n)
    }
}

pub fn index_error(e: IndexError) -> CoreError {
    match e {
        IndexError::Corrupt { .. } => CoreError::FacetIndexCorrupt(e.to_string()),
        IndexError::Io { .. } => CoreError::Storage(e.to_string()),
    }
}

/// The root's facet index; `create`: make the file if missing. None without one.
fn index<'a>(
    place: &Place,
    st: &'a mut FilesState,
    create: bool,
) -> Result<Option<&'a mut FacetIndex>, CoreError> {
    let Some(dir) = &place.dir else {
        return Ok(None);
    };
    if st.index.is_none() {
        let path = place.index_path(dir);
        st.index = if create {
            Some(FacetIndex::open(&path).map_err(index_error)?)
        } else {
            FacetIndex::open_existing(&path).map_err(index_error)?
        };
    }
    Ok(st.index.as_mut())
}

/// The facet id of `path` (0 for the root), assigning ids (durably, parents first) when
/// `assign`; None when some part of the path never had an id.
fn facet_id(
    place: &Place,
    st: &mut FilesState,
    path: &[String],
    assign: bool,
) -> Result<Option<u32>, CoreError> {
    if path.is_empty() {
        return Ok(Some(0));
    }
    let Some(ix) = index(place, st, assign)? else {
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

/// The facet ids of `path` and everything below it (parents first); empty if it never had
/// an id.
fn subtree_ids(place: &Place, st: &mut FilesState, path: &[String]) -> Result<Vec<u32>, CoreError> {
    let Some(id) = facet_id(place, st, path, false)? else {
        return Ok(Vec::new());
    };
    Ok(match index(place, st, false)? {
        Some(ix) => ix.subtree(id),
        None => vec![id],
    })
}

/// Where the instance at `path` keeps its database on disk (ids assigned on first use).
pub fn database_file(
    place: &Place,
    st: &mut FilesState,
    path: &[String],
) -> Result<PathBuf, CoreError> {
    let dir = place.dir.clone().expect("file storage");
    let id = facet_id(place, st, path, true)?.expect("assigned");
    let file = place.facet_file(&dir, id);
    store::discard_orphan_companions(&file)
        .map_err(|e| CoreError::Storage(format!("cannot prepare {}: {e}", file.display())))?;
    Ok(file)
}

/// The database of the instance at `path`: opened from its file, or (in memory) the one
/// kept since its first use.
pub fn open_database(
    place: &Place,
    st: &mut FilesState,
    path: &[String],
    sync_full: bool,
) -> Result<SharedDb, CoreError> {
    if place.dir.is_none() {
        if let Some(db) = st.memory.get(path) {
            return Ok(db.clone());
        }
        let db = Database::open(Location::Memory, false)
            .map_err(|e| CoreError::Storage(e.to_string()))?;
        let db = DbCell::new(db);
        st.memory.insert(path.to_vec(), db.clone());
        return Ok(db);
    }
    let file = database_file(place, st, path)?;
    let db = Database::open(Location::File(file.clone()), sync_full).map_err(|e| {
        let id = if path.is_empty() {
            ids::to_hex(&place.root.1)
        } else {
            "facet".to_string()
        };
        CoreError::Storage(format!(
            "Durable Object {id} cannot open its database {}: {e}",
            file.display()
        ))
    })?;
    Ok(DbCell::new(db))
}

/// True when some facet below `path` has storage.
fn descendants_have_storage(place: &Place, st: &mut FilesState, path: &[String]) -> bool {
    let Some(dir) = place.dir.clone() else {
        return st
            .memory
            .keys()
            .any(|p| p.len() > path.len() && p.starts_with(path));
    };
    // An index that cannot be read says nothing: assume storage below (keep the files).
    match subtree_ids(place, st, path) {
        Ok(ids) => ids
            .into_iter()
            .skip(1)
            .any(|d| place.facet_file(&dir, d).exists()),
        Err(_) => true,
    }
}

/// An instance's database after its thread ended (already rolled back or committed):
/// closes a file database and, for a facet (`path` not empty) that holds nothing and has
/// no descendants with storage, removes it (implicit deletion, SPEC §5.5).
pub fn release_database(place: &Place, st: &mut FilesState, path: &[String], db: &mut Database) {
    let facet = !path.is_empty();
    let empty = facet && !db.is_closed() && db.is_empty().unwrap_or(false);
    match db.location().clone() {
        Location::File(file) => {
            db.close();
            if empty && !descendants_have_storage(place, st, path) {
                let _ = store::remove_database(&file);
            }
        }
        Location::Memory => {
            if empty && !descendants_have_storage(place, st, path) {
                st.memory.remove(path);
            }
        }
    }
}

/// Deletes the storage of `path` and everything below it; with `below_only`, only of what
/// is below it (deleteAll: every descendant the index knows, at every depth).
pub fn delete_storage(
    place: &Place,
    st: &mut FilesState,
    path: &[String],
    below_only: bool,
) -> Result<(), CoreError> {
    let skip = usize::from(below_only);
    let Some(dir) = place.dir.clone() else {
        st.memory
            .retain(|p, _| !(p.len() >= path.len() + skip && p.starts_with(path)));
        return Ok(());
    };
    for d in subtree_ids(place, st, path)?.into_iter().skip(skip) {
        if d != 0 {
            store::remove_database(&place.facet_file(&dir, d))?;
        }
    }
    Ok(())
}

/// Replaces the storage of `dst` and its subtree with a copy of the committed state of
/// `src` and its subtree (their instances are stopped by now). On disk each database is
/// replaced crash-atomically (`store::replace_database`); databases of the old subtree that
/// the copy does not replace are removed afterwards.
pub fn clone_storage(
    place: &Place,
    st: &mut FilesState,
    src: &[String],
    dst: &[String],
) -> Result<(), CoreError> {
    let Some(dir) = place.dir.clone() else {
        delete_storage(place, st, dst, false)?;
        return copy_memory(st, src, dst);
    };
    let old = subtree_ids(place, st, dst)?;
    let mut written = HashSet::new();
    copy_files(place, st, &dir, src, dst, &mut written)?;
    for id in old {
        if !written.contains(&id) {
            store::remove_database(&place.facet_file(&dir, id))?;
        }
    }
    Ok(())
}

/// Copies the database of `src` (if it has one) over `dst`'s, then its children's; records
/// the dst ids written.
fn copy_files(
    place: &Place,
    st: &mut FilesState,
    dir: &Path,
    src: &[String],
    dst: &[String],
    written: &mut HashSet<u32>,
) -> Result<(), CoreError> {
    let Some(src_id) = facet_id(place, st, src, false)? else {
        return Ok(());
    };
    let children: Vec<(String, u32)> = index(place, st, false)?
        .map(|ix| ix.children(src_id))
        .unwrap_or_default();
    let src_file = place.facet_file(dir, src_id);
    if src_file.exists() {
        let dst_file = database_file(place, st, dst)?;
        store::replace_database(Some(&src_file), &dst_file)?;
        if let Some(id) = facet_id(place, st, dst, false)? {
            written.insert(id);
        }
    }
    for (name, _) in children {
        let (mut s, mut d) = (src.to_vec(), dst.to_vec());
        s.push(name.clone());
        d.push(name);
        copy_files(place, st, dir, &s, &d, written)?;
    }
    Ok(())
}

/// Copies the in-memory databases of `src` and its subtree to `dst` (whose are gone).
fn copy_memory(st: &mut FilesState, src: &[String], dst: &[String]) -> Result<(), CoreError> {
    let sources: Vec<(Vec<String>, SharedDb)> = st
        .memory
        .iter()
        .filter(|(p, _)| p.starts_with(src) && p.len() >= src.len())
        .map(|(p, db)| (p.clone(), db.clone()))
        .collect();
    for (p, db) in sources {
        let mut target = dst.to_vec();
        target.extend_from_slice(&p[src.len()..]);
        // Never wait long on a facet busy in a query.
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
        st.memory.insert(target, DbCell::new(copy));
    }
    Ok(())
}

/// The direct children of `path` that storage knows (the index, or the in-memory
/// databases), each with whether it or anything below it has storage.
pub fn stored_children(
    place: &Place,
    st: &mut FilesState,
    path: &[String],
) -> Result<Vec<(String, bool)>, CoreError> {
    let Some(dir) = place.dir.clone() else {
        let mut out: Vec<(String, bool)> = st
            .memory
            .keys()
            .filter(|p| p.len() > path.len() && p.starts_with(path))
            .map(|p| (p[path.len()].clone(), true))
            .collect();
        out.sort();
        out.dedup();
        return Ok(out);
    };
    let Some(id) = facet_id(place, st, path, false)? else {
        return Ok(Vec::new());
    };
    let Some(ix) = index(place, st, false)? else {
        return Ok(Vec::new());
    };
    let children: Vec<(String, Vec<u32>)> = ix
        .children(id)
        .into_iter()
        .map(|(name, cid)| (name, ix.subtree(cid)))
        .collect();
    Ok(children
        .into_iter()
        .map(|(name, subtree)| {
            let stored = subtree
                .into_iter()
                .any(|d| place.facet_file(&dir, d).exists());
            (name, stored)
        })
        .collect())
}

/// Test hook for the concurrency tests (`__test__/file-work-concurrency.test.mjs`): with
/// `DURABLE_FACETS_HOLD_FILE_WORK=<file>` in the environment, clone, delete, deleteAll and
/// inspect wait, before touching any file, for as long as `<file>` exists, after creating
/// `<file>.held` to say they are waiting. This makes "the copy is still in progress"
/// a state a test can hold the work in, instead of a race against the disk.
pub fn test_hold() {
    let Some(gate) = std::env::var_os("DURABLE_FACETS_HOLD_FILE_WORK") else {
        return;
    };
    let gate = PathBuf::from(gate);
    if !gate.exists() {
        return;
    }
    let mut held = gate.clone().into_os_string();
    held.push(".held");
    let _ = std::fs::write(&held, b"");
    while gate.exists() {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn turns_come_in_ticket_order_and_unused_tickets_give_theirs_up() {
        let files = Arc::new(RootFiles::default());
        let mut first = files.ticket();
        let skipped = files.ticket();
        let mut third = files.ticket();
        let (tx, rx) = mpsc::channel();
        let t = std::thread::spawn(move || {
            let _turn = third.wait();
            tx.send(3).unwrap();
        });
        // The third waits for the first (and for the second, dropped unused).
        assert!(rx.recv_timeout(Duration::from_millis(50)).is_err());
        drop(skipped);
        assert!(rx.recv_timeout(Duration::from_millis(50)).is_err());
        drop(first.wait());
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), 3);
        t.join().unwrap();
        // The queue goes on after a ticket dropped at its turn.
        drop(files.ticket());
        let mut next = files.ticket();
        drop(next.wait());
    }
}
