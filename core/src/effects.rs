//! File work the hub decided under its lock and carries out after releasing it
//! (ARCHITECTURE: "decide under the lock, do I/O after it"). Work on a root object's files
//! holds a [`Ticket`] of that root, taken under the lock, so it runs in the order it was
//! decided in and only ever waits for the same object's file work (`storage/placement.rs`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::error::CoreError;
use crate::ids::ObjectId;
use crate::storage::cell::DbCell;
use crate::storage::db::Location;
use crate::storage::placement::{self, Place, Ticket};
use crate::storage::store::NamespaceDir;
use crate::tree::lifecycle::Effect;

/// How long shutting an instance down waits for its thread to let go of its database.
pub const SHUTDOWN_WAIT: Duration = Duration::from_secs(1);

/// One piece of file work, carried out after the hub's lock is released.
pub enum Io {
    /// An ended instance's database (its thread fenced off already): wait up to
    /// [`SHUTDOWN_WAIT`] for the thread to let go (interrupting its statement), roll back
    /// what it had not committed (`commit`: commit it, when the runtime is disposed), close
    /// a file database; a facet holding nothing, with nothing stored below, is removed
    /// (implicit deletion). `at`: the instance's place, full name and turn (None: not an
    /// instance's database; it is only closed).
    ReleaseDb {
        cell: Arc<DbCell>,
        commit: bool,
        at: Option<(Place, Vec<String>, Ticket)>,
    },
    /// A root that stopped closes its facet index (reopened on demand), so an object no
    /// longer used holds no open file.
    CloseIndex(Ticket),
    /// A lifecycle decision's file part: `DeleteStorage`, `DeleteBelow` or `CloneStorage`.
    Storage {
        effect: Effect,
        place: Place,
        ticket: Ticket,
    },
    /// Records (`None`: removes) an object's alarm in its namespace's index (a write and
    /// an fsync of `metadata.sqlite`).
    SetAlarm {
        dir: Arc<NamespaceDir>,
        id: ObjectId,
        time_ns: Option<i64>,
        name: Option<String>,
    },
    /// Keeps namespace directories (and their locks) until the work before it is done: a
    /// disposed runtime's directories stay locked until its databases are closed.
    KeepDirs(Vec<Arc<NamespaceDir>>),
}

impl Io {
    /// Carries the work out (blocking until its root's turn).
    pub fn run(self) -> Result<(), CoreError> {
        match self {
            Io::ReleaseDb { cell, commit, at } => {
                let Some((place, path, ticket)) = at else {
                    if let Some(mut db) = cell.lock_for_shutdown(SHUTDOWN_WAIT) {
                        let _ = if commit { db.commit() } else { db.rollback() };
                        if matches!(db.location(), Location::File(_)) {
                            db.close();
                        }
                    }
                    return Ok(());
                };
                // In the root's order: an instance started again after this one opens its
                // database only once this one is closed (or removed). When that order
                // makes it wait (the object is busy with other file work, e.g. a clone
                // the stopped instance itself runs), it waits on a thread of its own
                // rather than block whoever stopped the instance; the ticket keeps the
                // order all the same. A disposal (`commit`) always finishes before it
                // returns: dispose() promises the files are settled.
                let release = move |mut ticket: Ticket| {
                    let mut turn = ticket.wait();
                    if let Some(mut db) = cell.lock_for_shutdown(SHUTDOWN_WAIT) {
                        let _ = if commit { db.commit() } else { db.rollback() };
                        placement::release_database(&place, &mut turn.state, &path, &mut db);
                    }
                };
                if commit {
                    release(ticket);
                    Ok(())
                } else {
                    in_turn(ticket, release)
                }
            }
            Io::CloseIndex(ticket) => in_turn(ticket, |mut ticket: Ticket| {
                ticket.wait().state.index = None;
            }),
            Io::Storage {
                effect,
                place,
                mut ticket,
            } => {
                placement::test_hold();
                let mut turn = ticket.wait();
                let st = &mut turn.state;
                match effect {
                    Effect::DeleteStorage { path, .. } => {
                        placement::delete_storage(&place, st, &path, false)
                    }
                    Effect::DeleteBelow { path, .. } => {
                        placement::delete_storage(&place, st, &path, true)
                    }
                    Effect::CloneStorage { src, dst, .. } => {
                        placement::clone_storage(&place, st, &src, &dst)
                    }
                    _ => Ok(()),
                }
            }
            Io::SetAlarm {
                dir,
                id,
                time_ns,
                name,
            } => dir.set_alarm(&id, time_ns, name.as_deref()),
            Io::KeepDirs(dirs) => {
                drop(dirs);
                Ok(())
            }
        }
    }
}

/// File work waiting for its turn on threads of its own (see `in_turn`), process-wide.
static WAITING_WORK: AtomicUsize = AtomicUsize::new(0);

/// How many pieces of file work still wait for their turn on threads of their own: a
/// disposed runtime's `dispose()` resolves only once its databases are closed (a test that
/// reopens the same storage directory must not meet a release still under way).
pub fn waiting_file_work() -> usize {
    WAITING_WORK.load(Ordering::SeqCst)
}

/// Runs `work` with `ticket` now if it is its turn, otherwise on a thread of its own that
/// waits for the turn (so the caller, which may be any object's thread or the main thread,
/// never waits for another piece of this object's file work).
fn in_turn(ticket: Ticket, work: impl FnOnce(Ticket) + Send + 'static) -> Result<(), CoreError> {
    if ticket.is_turn() {
        work(ticket);
        return Ok(());
    }
    WAITING_WORK.fetch_add(1, Ordering::SeqCst);
    std::thread::Builder::new()
        .name("durable-facets-files".into())
        .spawn(move || {
            work(ticket);
            WAITING_WORK.fetch_sub(1, Ordering::SeqCst);
        })
        // No thread: the work and its ticket are dropped, which gives up its turn (a
        // database then closes when its last handle goes).
        .map(|_| ())
        .map_err(|e| {
            WAITING_WORK.fetch_sub(1, Ordering::SeqCst);
            CoreError::Storage(format!("cannot wait for file work: {e}"))
        })
}

/// Carries out `work` in order and returns the first error. After a failed storage step the
/// storage steps that follow are skipped (as an operation stops at its first failure);
/// releases and the rest still run.
pub fn run_all(work: Vec<Io>) -> Result<(), CoreError> {
    let mut first = Ok(());
    for io in work {
        if first.is_err() && matches!(io, Io::Storage { .. }) {
            continue; // dropping its ticket gives up its turn
        }
        let r = io.run();
        if first.is_ok() {
            first = r;
        }
    }
    first
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::placement::RootFiles;

    #[test]
    fn file_work_not_in_its_turn_is_counted_until_it_ran() {
        let files = Arc::new(RootFiles::default());
        let first = files.ticket();
        let second = files.ticket();
        let (tx, rx) = std::sync::mpsc::channel();
        in_turn(second, move |mut t| {
            let _turn = t.wait();
            tx.send(()).unwrap();
        })
        .unwrap();
        // (Process-wide: other tests may count work of their own meanwhile.)
        assert!(waiting_file_work() >= 1, "waits for the first ticket");
        assert!(rx.try_recv().is_err());
        drop(first); // its turn given up: the second runs
        rx.recv_timeout(Duration::from_secs(5)).unwrap();
    }
}
