//! Where databases live on disk: `<storage>/<uniqueKey>/<id>.sqlite`, one directory per
//! namespace, each locked by the runtime that uses it.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

use crate::error::CoreError;
use crate::ids::{self, ObjectId};
use crate::storage::alarm_index::{index_path, AlarmIndex, IndexedAlarm};

/// A namespace's storage directory, exclusively locked while the runtime lives.
pub struct NamespaceDir {
    path: PathBuf,
    /// `metadata.sqlite`: the namespace's alarm index, as workerd keeps it (a damaged one
    /// disables the namespace's alarms only, see `alarm_index.rs`).
    alarms: AlarmIndex,
    /// An advisory lock on `metadata.sqlite` (the namespace's alarm index, so the lock adds
    /// no file of its own). `flock` locks are per open file, so a second runtime in the same
    /// process is refused too. SQLite's own locks are `fcntl` locks and do not interfere.
    _lock: File,
}

impl NamespaceDir {
    pub fn lock(root: &Path, unique_key: &str) -> Result<NamespaceDir, CoreError> {
        let path = root.join(unique_key);
        fs::create_dir_all(&path).map_err(|e| {
            CoreError::Storage(format!(
                "Storage directory {} is not writable: {e}",
                path.display()
            ))
        })?;
        let lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path.join("metadata.sqlite"))
            .map_err(|e| {
                CoreError::Storage(format!(
                    "Storage directory {} is not writable: {e}",
                    path.display()
                ))
            })?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                return Err(CoreError::StorageInUse(path.display().to_string()))
            }
            Err(fs::TryLockError::Error(e)) => {
                return Err(CoreError::Storage(format!(
                    "Storage directory {} cannot be locked: {e}",
                    path.display()
                )))
            }
        }
        let alarms = AlarmIndex::open(&index_path(&path));
        Ok(NamespaceDir {
            path,
            alarms,
            _lock: lock,
        })
    }

    /// Records (or, with `None`, removes) the alarm of object `id` (time in ns).
    pub fn set_alarm(
        &self,
        id: &ObjectId,
        time_ns: Option<i64>,
        name: Option<&str>,
    ) -> Result<(), CoreError> {
        self.alarms.set(id, time_ns, name)
    }

    /// Every alarm in the index: (id hex, time ns, name).
    pub fn alarms(&self) -> Result<Vec<IndexedAlarm>, CoreError> {
        self.alarms.alarms()
    }

    /// Why this namespace's alarm index is unusable (naming the file), if it is.
    pub fn alarm_index_error(&self) -> Option<String> {
        self.alarms.error()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The root database of object `id` (facet 0).
    pub fn database_path(&self, id: &ObjectId) -> PathBuf {
        self.path.join(format!("{}.sqlite", ids::to_hex(id)))
    }
}

/// Copies the committed state of the database at `src` into a new database at `dst`
/// (SQLite's online backup, through a connection of its own, so a writer on `src` is not
/// disturbed and uncommitted writes are not copied).
pub fn copy_database(src: &Path, dst: &Path) -> Result<(), CoreError> {
    use rusqlite::{ffi, OpenFlags};
    let err = |e: String| CoreError::Storage(format!("cannot copy {}: {e}", src.display()));
    let from = rusqlite::Connection::open_with_flags(src, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| err(e.to_string()))?;
    let to = rusqlite::Connection::open(dst).map_err(|e| err(e.to_string()))?;
    unsafe {
        let b = ffi::sqlite3_backup_init(
            to.handle(),
            c"main".as_ptr(),
            from.handle(),
            c"main".as_ptr(),
        );
        if b.is_null() {
            return Err(err("backup could not start".into()));
        }
        ffi::sqlite3_backup_step(b, -1);
        let rc = ffi::sqlite3_backup_finish(b);
        if rc != ffi::SQLITE_OK {
            return Err(err(format!("backup failed with code {rc}")));
        }
    }
    to.execute_batch("PRAGMA journal_mode=WAL;")
        .map_err(|e| err(e.to_string()))?;
    Ok(())
}
