//! A database shared between the thread of the instance using it and the hub, which must
//! be able to fence it off (abort, breakage, dispose) without waiting on that thread.

use std::sync::atomic::{AtomicU32, Ordering::SeqCst};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::time::{Duration, Instant};

use crate::storage::db::{Database, StorageError};

pub struct DbCell {
    db: Mutex<Database>,
    /// Interrupts the connection's running statement; refreshed when deleteAll reopens it.
    interrupt: Mutex<Option<rusqlite::InterruptHandle>>,
    /// The thread allowed to use the database (0: none). A stopped instance's thread may run
    /// on until it is terminated; it is fenced off here.
    owner: AtomicU32,
    /// The thread that used it last: a new owner first rolls back what a fenced one left.
    last_user: AtomicU32,
}

impl DbCell {
    pub fn new(db: Database) -> Arc<DbCell> {
        let interrupt = db.interrupt_handle();
        Arc::new(DbCell {
            db: Mutex::new(db),
            interrupt: Mutex::new(interrupt),
            owner: AtomicU32::new(0),
            last_user: AtomicU32::new(0),
        })
    }

    /// Locks without any ownership check (the hub, outside any instance).
    pub fn lock(&self) -> MutexGuard<'_, Database> {
        self.db.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn set_owner(&self, tid: u32) {
        self.owner.store(tid, SeqCst);
    }

    /// Fences thread `tid` off (no-op if another thread owns the database by now).
    pub fn fence(&self, tid: u32) {
        let _ = self.owner.compare_exchange(tid, 0, SeqCst, SeqCst);
    }

    /// Locks for thread `tid`, which must own the database.
    pub fn lock_for(&self, tid: u32) -> Result<MutexGuard<'_, Database>, StorageError> {
        let mut db = self.lock();
        if self.owner.load(SeqCst) != tid {
            return Err(StorageError::Closed);
        }
        if self.last_user.swap(tid, SeqCst) != tid {
            // A fenced thread may have left a transaction open (its last statement ran
            // after the hub rolled back): nothing of it may reach the new instance.
            let _ = db.rollback();
        }
        Ok(db)
    }

    /// Locks to shut the database down, interrupting whatever statement runs; gives up after
    /// `max` (None) rather than wait on a thread that will not let go.
    pub fn lock_for_shutdown(&self, max: Duration) -> Option<MutexGuard<'_, Database>> {
        let start = Instant::now();
        loop {
            match self.db.try_lock() {
                Ok(guard) => return Some(guard),
                Err(TryLockError::Poisoned(e)) => return Some(e.into_inner()),
                Err(TryLockError::WouldBlock) => {
                    if let Some(i) = self
                        .interrupt
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .as_ref()
                    {
                        i.interrupt();
                    }
                    if start.elapsed() > max {
                        return None;
                    }
                    std::thread::yield_now();
                }
            }
        }
    }

    /// Locks without interrupting, waiting at most `max`.
    pub fn try_lock_for(&self, max: Duration) -> Option<MutexGuard<'_, Database>> {
        let start = Instant::now();
        loop {
            match self.db.try_lock() {
                Ok(guard) => return Some(guard),
                Err(TryLockError::Poisoned(e)) => return Some(e.into_inner()),
                Err(TryLockError::WouldBlock) if start.elapsed() > max => return None,
                Err(TryLockError::WouldBlock) => std::thread::sleep(Duration::from_millis(1)),
            }
        }
    }

    /// After the connection was reopened (deleteAll): interrupt the new one from now on.
    pub fn refresh_interrupt(&self, db: &Database) {
        *self.interrupt.lock().unwrap_or_else(|e| e.into_inner()) = db.interrupt_handle();
    }
}
