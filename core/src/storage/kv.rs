//! The KV tables behind `ctx.storage.get/put/delete/list` and `ctx.storage.kv`:
//! `_cf_KV(key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID`, as workerd stores them. Values
//! are opaque bytes here (V8 serialization, done on the JS side).

use rusqlite::ffi;

use crate::storage::db::{bind_text, Bind, Cell, Database, Result};

/// Bounds of a `list()` (options compiled by `lib/storage/kv.js`; the prefix is applied
/// here, on bytes, because its successor need not be valid UTF-8).
#[derive(Debug, Default, Clone)]
pub struct ListRange<'a> {
    pub start: &'a str,
    pub end: Option<&'a str>,
    pub prefix: Option<&'a str>,
    pub reverse: bool,
    pub limit: Option<u64>,
}

/// The smallest byte string greater than every string starting with `prefix`, or None
/// (prefix of only 0xFF bytes, or empty: no upper bound).
fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(&last) = end.last() {
        if last == 0xff {
            end.pop();
        } else {
            *end.last_mut().expect("non-empty") += 1;
            return Some(end);
        }
    }
    None
}

impl Database {
    fn ensure_kv(&mut self) -> Result<()> {
        if !self.kv_ready() {
            self.run_internal(
                "CREATE TABLE IF NOT EXISTS _cf_KV (key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID",
            )?;
            self.set_kv_ready(true);
        }
        Ok(())
    }

    fn kv_exists(&mut self) -> Result<bool> {
        if self.kv_ready() {
            return Ok(true);
        }
        // Found on disk: remembered until a rollback (which may undo a creation).
        let exists = self.table_exists("_cf_KV")?;
        self.set_kv_ready(exists);
        Ok(exists)
    }

    /// Calls `found` with the value of `key`, if any. Returns whether it was found.
    pub fn kv_get(&mut self, key: &str, found: &mut dyn FnMut(&[u8])) -> Result<bool> {
        self.begin_read()?;
        if !self.kv_exists()? {
            return Ok(false);
        }
        let stmt = self.internal("SELECT value FROM _cf_KV WHERE key = ?1")?;
        self.bind(stmt, &[Bind::Text(key.into())])?;
        let mut hit = false;
        self.step_internal(stmt, &mut |r| {
            hit = true;
            match r.cell(0) {
                Cell::Blob(b) | Cell::Text(b) => found(b),
                _ => found(&[]),
            }
            false
        })?;
        Ok(hit)
    }

    pub fn kv_put(&mut self, key: &str, value: &[u8]) -> Result<()> {
        self.ensure_transaction()?;
        self.ensure_kv()?;
        let stmt = self.internal("INSERT OR REPLACE INTO _cf_KV (key, value) VALUES (?1, ?2)")?;
        self.bind(stmt, &[Bind::Text(key.into()), Bind::Blob(value)])?;
        self.step_internal(stmt, &mut |_| true)
    }

    /// True when `key` existed.
    pub fn kv_delete(&mut self, key: &str) -> Result<bool> {
        if !self.kv_exists()? {
            return Ok(false);
        }
        self.ensure_transaction()?;
        let stmt = self.internal("DELETE FROM _cf_KV WHERE key = ?1")?;
        self.bind(stmt, &[Bind::Text(key.into())])?;
        self.step_internal(stmt, &mut |_| true)?;
        Ok(self.changes() > 0)
    }

    /// Entries in `range`, ordered bytewise by key (SQLite's BINARY collation on UTF-8).
    pub fn kv_list(
        &mut self,
        range: &ListRange<'_>,
        entry: &mut dyn FnMut(&[u8], &[u8]),
    ) -> Result<()> {
        if !self.kv_exists()? {
            return Ok(());
        }
        let mut start: Vec<u8> = range.start.as_bytes().to_vec();
        let mut end: Option<Vec<u8>> = range.end.map(|e| e.as_bytes().to_vec());
        if let Some(prefix) = range.prefix {
            if prefix.as_bytes() > start.as_slice() {
                start = prefix.as_bytes().to_vec();
            }
            if let Some(succ) = prefix_successor(prefix.as_bytes()) {
                end = Some(match end {
                    Some(e) if e < succ => e,
                    _ => succ,
                });
            }
        }
        if end
            .as_ref()
            .is_some_and(|e| e.as_slice() <= start.as_slice())
        {
            return Ok(());
        }
        let sql: &'static str = match (end.is_some(), range.reverse) {
            (false, false) => "SELECT key, value FROM _cf_KV WHERE key >= ?1 ORDER BY key LIMIT ?2",
            (false, true) => "SELECT key, value FROM _cf_KV WHERE key >= ?1 ORDER BY key DESC LIMIT ?2",
            (true, false) => {
                "SELECT key, value FROM _cf_KV WHERE key >= ?1 AND key < ?3 ORDER BY key LIMIT ?2"
            }
            (true, true) => {
                "SELECT key, value FROM _cf_KV WHERE key >= ?1 AND key < ?3 ORDER BY key DESC LIMIT ?2"
            }
        };
        let stmt = self.internal(sql)?;
        // Bound as TEXT (possibly not valid UTF-8): BINARY collation compares bytes.
        unsafe {
            bind_text(stmt, 1, &start);
            ffi::sqlite3_bind_int64(
                stmt,
                2,
                range.limit.map_or(-1, |l| l.min(i64::MAX as u64) as i64),
            );
            if let Some(end) = &end {
                bind_text(stmt, 3, end);
            }
        }
        self.step_internal(stmt, &mut |r| {
            let key = match r.cell(0) {
                Cell::Text(k) | Cell::Blob(k) => k,
                _ => &[],
            };
            let value = match r.cell(1) {
                Cell::Blob(v) | Cell::Text(v) => v,
                _ => &[],
            };
            entry(key, value);
            true
        })
    }

    /// Number of KV entries (0 without the table).
    pub fn kv_count(&mut self) -> Result<u64> {
        if !self.kv_exists()? {
            return Ok(0);
        }
        let stmt = self.internal("SELECT count(*) FROM _cf_KV")?;
        let mut n = 0;
        self.step_internal(stmt, &mut |r| {
            if let Cell::Integer(v) = r.cell(0) {
                n = v as u64;
            }
            false
        })?;
        Ok(n)
    }
}
