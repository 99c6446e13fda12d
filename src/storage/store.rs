//! Where databases live on disk: `<storage>/<uniqueKey>/<id>.sqlite`, one directory per
//! namespace, each locked by the runtime that uses it.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

use crate::error::CoreError;
use crate::ids::{self, ObjectId};

/// A namespace's storage directory, exclusively locked while the runtime lives.
pub struct NamespaceDir {
    path: PathBuf,
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
        Ok(NamespaceDir { path, _lock: lock })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The root database of object `id` (facet 0).
    pub fn database_path(&self, id: &ObjectId) -> PathBuf {
        self.path.join(format!("{}.sqlite", ids::to_hex(id)))
    }
}
