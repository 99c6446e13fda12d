//! Where databases live on disk: `<storage>/<uniqueKey>/<id>.sqlite`, one directory per
//! namespace, each locked by the runtime that uses it.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

use crate::error::CoreError;
use crate::ids::{self, ObjectId};

/// A namespace's storage directory, exclusively locked while the runtime lives.
pub struct NamespaceDir {
    path: PathBuf,
    /// `metadata.sqlite`: the namespace's alarm index, as workerd keeps it.
    alarms: std::sync::Mutex<rusqlite::Connection>,
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
        let alarms = rusqlite::Connection::open(path.join("metadata.sqlite"))
            .and_then(|c| {
                c.execute_batch(
                    "PRAGMA journal_mode=WAL; \
                     CREATE TABLE IF NOT EXISTS _cf_ALARM (actor_id TEXT PRIMARY KEY, \
                     scheduled_time INTEGER, actor_name TEXT) WITHOUT ROWID;",
                )?;
                Ok(c)
            })
            .map_err(|e| {
                CoreError::Storage(format!(
                    "Alarm index {} cannot be opened: {e}",
                    path.join("metadata.sqlite").display()
                ))
            })?;
        Ok(NamespaceDir {
            path,
            alarms: std::sync::Mutex::new(alarms),
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
        let conn = self.alarms.lock().unwrap_or_else(|e| e.into_inner());
        let hex = ids::to_hex(id);
        let r = match time_ns {
            Some(t) => conn.execute(
                "INSERT OR REPLACE INTO _cf_ALARM (actor_id, scheduled_time, actor_name) VALUES (?1, ?2, ?3)",
                rusqlite::params![hex, t, name],
            ),
            None => conn.execute("DELETE FROM _cf_ALARM WHERE actor_id = ?1", rusqlite::params![hex]),
        };
        r.map(|_| ())
            .map_err(|e| CoreError::Storage(format!("alarm index: {e}")))
    }

    /// Every alarm in the index: (id hex, time ns, name).
    pub fn alarms(&self) -> Result<Vec<(String, i64, Option<String>)>, CoreError> {
        let conn = self.alarms.lock().unwrap_or_else(|e| e.into_inner());
        let mut stmt = conn
            .prepare("SELECT actor_id, scheduled_time, actor_name FROM _cf_ALARM WHERE scheduled_time IS NOT NULL")
            .map_err(|e| CoreError::Storage(format!("alarm index: {e}")))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| CoreError::Storage(format!("alarm index: {e}")))?;
        Ok(rows)
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
