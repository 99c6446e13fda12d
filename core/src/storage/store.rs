//! Where databases live on disk: `<storage>/<uniqueKey>/<id>.sqlite`, one directory per
//! namespace, each locked by the runtime that uses it.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

use crate::error::CoreError;
use crate::ids::{self, ObjectId};
use crate::storage::alarm_index::{index_path, AlarmIndex, IndexedAlarm};
use crate::storage::name_index::NameIndex;

/// A namespace's storage directory, exclusively locked while the runtime lives.
pub struct NamespaceDir {
    path: PathBuf,
    /// `metadata.sqlite`: the namespace's alarm index, as workerd keeps it (a damaged one
    /// disables the namespace's alarms only, see `alarm_index.rs`).
    alarms: AlarmIndex,
    /// `metadata.sqlite`, table `_df_NAMES`: the name of each object whose id was derived
    /// from one (see `name_index.rs`). Declared before `_lock`: its connection closes first.
    names: NameIndex,
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
        let names = NameIndex::new(&index_path(&path), unique_key);
        Ok(NamespaceDir {
            path,
            alarms,
            names,
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

    /// Records that object `id` is named `name` (once per id; only if `id` derives from
    /// `name`). File work: call it on the object's own thread, never under the hub's lock.
    /// An error only means the name is not recorded (see `name_index.rs`).
    pub fn record_name(&self, id: &ObjectId, name: &str) -> Result<bool, String> {
        self.names.record(id, name, || self.alarms.error())
    }

    /// Every recorded (id hex, name) of the namespace.
    pub fn names(&self) -> Result<Vec<(String, String)>, String> {
        self.names.names(|| self.alarms.error())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The root database of object `id` (facet 0).
    pub fn database_path(&self, id: &ObjectId) -> PathBuf {
        self.path.join(format!("{}.sqlite", ids::to_hex(id)))
    }
}

/// `path` with `suffix` appended (`x.sqlite` → `x.sqlite-wal`).
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

/// Where `facets.clone` builds the copy that replaces `dst` (a name SQLite never uses).
pub fn clone_temp_path(dst: &Path) -> PathBuf {
    with_suffix(dst, "-clone")
}

fn remove_if_present(path: &Path) -> std::io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Removes a database's SQLite companions (`-wal`, `-shm`, `-journal`).
fn remove_companions(db: &Path) -> std::io::Result<()> {
    for suffix in ["-wal", "-shm", "-journal"] {
        remove_if_present(&with_suffix(db, suffix))?;
    }
    Ok(())
}

/// Before a database file is created: companions without their database are left over
/// from a crash in the middle of a deletion, and SQLite would replay such a `-wal` onto
/// the new, empty file (it checks no link between the two). They go first.
pub fn discard_orphan_companions(db: &Path) -> std::io::Result<()> {
    if db.symlink_metadata().is_ok() {
        return Ok(());
    }
    remove_companions(db)
}

/// Removes everything of database `db`: the file (first, so that a crash half-way leaves
/// orphan companions, which `discard_orphan_companions` drops, never an old database
/// without its `-wal`), its companions, and a clone's leftover temporary copy.
pub fn remove_database(db: &Path) -> Result<(), CoreError> {
    let err =
        |e: std::io::Error| CoreError::Storage(format!("cannot remove {}: {e}", db.display()));
    remove_if_present(db).map_err(err)?;
    remove_companions(db).map_err(err)?;
    let temp = clone_temp_path(db);
    remove_if_present(&temp).map_err(err)?;
    remove_companions(&temp).map_err(err)
}

fn sync_dir(path: &Path) -> std::io::Result<()> {
    File::open(path.parent().unwrap_or(Path::new(".")))?.sync_all()
}

/// The steps of [`replace_database_with`], after each of which a test can stop it as a
/// crash would (in order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ReplaceStep {
    /// Part of `src` is in the temporary copy (its connection still open).
    Copying,
    /// The copy is complete and closed, not yet synced.
    Copied,
    /// The copy is on disk.
    CopySynced,
    /// The old `dst`'s `-wal` is checkpointed into its file.
    OldCheckpointed,
    /// The old `dst`'s companions are gone (everything of it is in its one file).
    CompanionsRemoved,
    /// The copy has been renamed over `dst`.
    Renamed,
    /// The rename is on disk.
    DirSynced,
}

/// Replaces the database `dst` with a copy of the committed state of `src` (`None`:
/// removes it), so that a crash at any point leaves `dst` with either its old or its new
/// contents, never an empty or mixed database:
///
/// 1. `src` is copied (SQLite's online backup, through a connection of its own, so a
///    writer on `src` is not disturbed and uncommitted writes are not copied) into
///    `<dst>-clone`, which is closed (WAL checkpointed into it) and fsynced;
/// 2. the old `dst`'s `-wal` is checkpointed into its file, so its committed data lives in
///    that one file, and its companions are removed: a stale `-wal` must never be replayed
///    onto the new file (SQLite would: nothing ties a `-wal` to its database);
/// 3. `<dst>-clone` is renamed over `dst` and the directory fsynced.
///
/// A crash before 3 leaves the old `dst` whole (plus a temporary file the next clone or
/// delete of `dst` removes); after it, the new one.
///
/// Test hook: with `DURABLE_FACETS_CRASH_CLONE_AT=<step>` (a [`ReplaceStep`] name, e.g.
/// `Renamed`) in the environment, the process aborts after that step, as a SIGKILL would
/// stop it (the end-to-end crash tests, `__test__/facet-storage.test.mjs`).
pub fn replace_database(src: Option<&Path>, dst: &Path) -> Result<(), CoreError> {
    let crash_at = std::env::var("DURABLE_FACETS_CRASH_CLONE_AT").ok();
    replace_database_with(src, dst, &mut |step| {
        if crash_at.as_deref() == Some(format!("{step:?}").as_str()) {
            std::process::abort();
        }
        Ok(())
    })
}

/// [`replace_database`], calling `step` after each step: an `Err` from it stops there
/// (the fault hook the crash tests use).
pub fn replace_database_with(
    src: Option<&Path>,
    dst: &Path,
    step: &mut dyn FnMut(ReplaceStep) -> Result<(), CoreError>,
) -> Result<(), CoreError> {
    let Some(src) = src else {
        return remove_database(dst);
    };
    let err = |e: String| {
        CoreError::Storage(format!(
            "cannot copy {} to {}: {e}",
            src.display(),
            dst.display()
        ))
    };
    let io = |e: std::io::Error| err(e.to_string());
    let temp = clone_temp_path(dst);
    remove_if_present(&temp).map_err(io)?;
    remove_companions(&temp).map_err(io)?;
    copy_into(src, &temp, step).map_err(|e| match e {
        CopyError::Sql(e) => err(e),
        CopyError::Stopped(e) => e,
    })?;
    // Closing the last connection checkpointed and removed the copy's `-wal`; make sure.
    remove_companions(&temp).map_err(io)?;
    step(ReplaceStep::Copied)?;
    File::open(&temp).and_then(|f| f.sync_all()).map_err(io)?;
    step(ReplaceStep::CopySynced)?;
    if dst.exists() {
        // A database that cannot be opened or checkpointed (corrupt) is replaced as is.
        if let Ok(old) = rusqlite::Connection::open_with_flags(
            dst,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        ) {
            let _ = old.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
            let _ = old.close();
        }
    }
    step(ReplaceStep::OldCheckpointed)?;
    remove_companions(dst).map_err(io)?;
    sync_dir(dst).map_err(io)?;
    step(ReplaceStep::CompanionsRemoved)?;
    fs::rename(&temp, dst).map_err(io)?;
    step(ReplaceStep::Renamed)?;
    sync_dir(dst).map_err(io)?;
    step(ReplaceStep::DirSynced)?;
    Ok(())
}

enum CopyError {
    Sql(String),
    Stopped(CoreError),
}

/// SQLite's online backup of `src` into the new file `temp`, a few pages at a time, then
/// WAL mode (as every database here) and close.
fn copy_into(
    src: &Path,
    temp: &Path,
    step: &mut dyn FnMut(ReplaceStep) -> Result<(), CoreError>,
) -> Result<(), CopyError> {
    use rusqlite::{ffi, OpenFlags};
    let sql = |e: rusqlite::Error| CopyError::Sql(e.to_string());
    // Read-write (never created): a read-only connection cannot remove the `-wal`/`-shm`
    // it makes, and would leave them next to a stopped `src`.
    let from = rusqlite::Connection::open_with_flags(
        src,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sql)?;
    let to = rusqlite::Connection::open(temp).map_err(sql)?;
    // The copy is thrown away on failure: no rollback journal needed.
    to.execute_batch("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;")
        .map_err(sql)?;
    let result = unsafe {
        let b = ffi::sqlite3_backup_init(
            to.handle(),
            c"main".as_ptr(),
            from.handle(),
            c"main".as_ptr(),
        );
        if b.is_null() {
            return Err(CopyError::Sql("backup could not start".into()));
        }
        // One page, then (after the crash point) the rest in one step: one consistent
        // snapshot of `src` even if it is written meanwhile (a change restarts the copy).
        if ffi::sqlite3_backup_step(b, 1) == ffi::SQLITE_OK {
            if let Err(e) = step(ReplaceStep::Copying) {
                ffi::sqlite3_backup_finish(b);
                return Err(CopyError::Stopped(e));
            }
            ffi::sqlite3_backup_step(b, -1);
        }
        ffi::sqlite3_backup_finish(b)
    };
    if result != ffi::SQLITE_OK {
        return Err(CopyError::Sql(format!("backup failed with code {result}")));
    }
    drop(from);
    to.execute_batch("PRAGMA journal_mode=WAL;").map_err(sql)?;
    to.close().map_err(|(_, e)| sql(e))
}

#[cfg(test)]
#[path = "clone_crash_tests.rs"]
mod clone_crash_tests;
