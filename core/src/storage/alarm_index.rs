//! A namespace's alarm index, `<storage>/<uniqueKey>/metadata.sqlite` (table `_cf_ALARM`,
//! as workerd keeps it): which objects have an alarm, so a restarted runtime can wake them.
//!
//! The index only mirrors what each object stores in its own `_cf_METADATA`. A damaged index
//! therefore must not take the namespace down: opening never fails. An index that cannot be
//! read (not a database, truncated, a `_cf_ALARM` of another shape, rows that make no sense)
//! is *unusable*: its alarms are not scheduled, setting an alarm in the namespace is refused
//! with the reason, and the runtime logs it once at start. Objects, their databases, RPC and
//! facets work as usual. The file is never rewritten: moving it aside is the user's call.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::types::ValueRef;
use rusqlite::Connection;

use crate::error::CoreError;
use crate::ids::{self, ObjectId};

/// One alarm of the index: object id (64 hex digits), time (ns since the epoch), name.
pub type IndexedAlarm = (String, i64, Option<String>);

const SCHEMA: &str = "PRAGMA journal_mode=WAL; \
     CREATE TABLE IF NOT EXISTS _cf_ALARM (actor_id TEXT PRIMARY KEY, \
     scheduled_time INTEGER, actor_name TEXT) WITHOUT ROWID;";
const UPSERT: &str =
    "INSERT OR REPLACE INTO _cf_ALARM (actor_id, scheduled_time, actor_name) VALUES (?1, ?2, ?3)";
const DELETE: &str = "DELETE FROM _cf_ALARM WHERE actor_id = ?1";
const SELECT: &str = "SELECT actor_id, scheduled_time, actor_name FROM _cf_ALARM";

enum State {
    Ready(Connection),
    /// Why the index cannot be used (the full message, naming the file).
    Unusable(String),
}

/// A namespace's alarm index; see the module documentation.
pub struct AlarmIndex {
    path: PathBuf,
    state: Mutex<State>,
}

impl AlarmIndex {
    /// Opens (or creates) the index at `path`. Never fails: a damaged index is opened as
    /// unusable (see [`AlarmIndex::error`]).
    pub fn open(path: &Path) -> AlarmIndex {
        let state = match Self::try_open(path) {
            Ok(c) => State::Ready(c),
            Err(reason) => State::Unusable(unusable(path, &reason)),
        };
        AlarmIndex {
            path: path.to_path_buf(),
            state: Mutex::new(state),
        }
    }

    fn try_open(path: &Path) -> Result<Connection, String> {
        let e = |e: rusqlite::Error| e.to_string();
        let conn = Connection::open(path).map_err(e)?;
        // The name index (`name_index.rs`) writes the same file through its own connection:
        // wait for its write instead of failing (which would make this index unusable).
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(e)?;
        // Checked before anything is written (a damaged file is left as it is): the
        // statements the index runs must compile (a `_cf_ALARM` of another shape, or a view,
        // fails here), and every row must be readable, so a damaged page shows up now, not
        // when an alarm is due. A database without `_cf_ALARM` is an empty index.
        let exists: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE name = '_cf_ALARM'",
                [],
                |r| r.get(0),
            )
            .map_err(e)?;
        if exists > 0 {
            for sql in [UPSERT, DELETE] {
                conn.prepare(sql).map_err(e)?;
            }
            read_all(&conn)?;
        }
        conn.execute_batch(SCHEMA).map_err(e)?;
        Ok(conn)
    }

    /// Why the index is unusable, naming its file; None if it works.
    pub fn error(&self) -> Option<String> {
        match &*self.lock() {
            State::Ready(_) => None,
            State::Unusable(msg) => Some(msg.clone()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records (`Some`) or removes (`None`) the alarm of object `id` (time in ns). On an
    /// unusable index, removing is a no-op and recording fails with the reason. A write that
    /// fails makes the index unusable from then on (the error says why).
    pub fn set(
        &self,
        id: &ObjectId,
        time_ns: Option<i64>,
        name: Option<&str>,
    ) -> Result<(), CoreError> {
        let mut state = self.lock();
        let conn = match &*state {
            State::Ready(c) => c,
            State::Unusable(msg) if time_ns.is_some() => {
                return Err(CoreError::AlarmIndex(msg.clone()))
            }
            State::Unusable(_) => return Ok(()),
        };
        let hex = ids::to_hex(id);
        let r = match time_ns {
            Some(t) => conn.execute(UPSERT, rusqlite::params![hex, t, name]),
            None => conn.execute(DELETE, rusqlite::params![hex]),
        };
        if let Err(e) = r {
            let msg = unusable(&self.path, &e.to_string());
            *state = State::Unusable(msg.clone());
            return Err(CoreError::AlarmIndex(msg));
        }
        Ok(())
    }

    /// Every alarm in the index; an error if the index is unusable.
    pub fn alarms(&self) -> Result<Vec<IndexedAlarm>, CoreError> {
        match &*self.lock() {
            State::Ready(c) => read_all(c).map_err(CoreError::AlarmIndex),
            State::Unusable(msg) => Err(CoreError::AlarmIndex(msg.clone())),
        }
    }
}

fn unusable(path: &Path, reason: &str) -> String {
    format!(
        "Alarm index {} is corrupt or unreadable ({reason}); alarms of this namespace are \
         disabled. Move the file aside to start a new, empty index.",
        path.display()
    )
}

/// Every row with a time, checked: a 64-hex-digit id, an integer time, a text name or null.
fn read_all(conn: &Connection) -> Result<Vec<IndexedAlarm>, String> {
    let mut stmt = conn.prepare(SELECT).map_err(|e| e.to_string())?;
    let mut rows = stmt.query([]).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(|e| e.to_string())? {
        let bad = |what: &str| format!("row {}: {what}", out.len() + 1);
        let id = match r.get_ref(0).map_err(|e| e.to_string())? {
            ValueRef::Text(t) if t.len() == 64 && t.iter().all(u8::is_ascii_hexdigit) => {
                String::from_utf8_lossy(t).to_ascii_lowercase()
            }
            _ => return Err(bad("actor_id is not an object id")),
        };
        let time = match r.get_ref(1).map_err(|e| e.to_string())? {
            ValueRef::Integer(t) => t,
            ValueRef::Null => continue,
            _ => return Err(bad("scheduled_time is not an integer")),
        };
        let name = match r.get_ref(2).map_err(|e| e.to_string())? {
            ValueRef::Text(t) => Some(
                std::str::from_utf8(t)
                    .map_err(|_| bad("actor_name is not UTF-8"))?
                    .to_string(),
            ),
            ValueRef::Null => None,
            _ => return Err(bad("actor_name is not text")),
        };
        out.push((id, time, name));
    }
    Ok(out)
}

/// The index file of the namespace directory `dir`.
pub fn index_path(dir: &Path) -> PathBuf {
    dir.join("metadata.sqlite")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("df-alarm-index-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn id(n: u8) -> ObjectId {
        [n; 32]
    }

    fn unusable_with(tag: &str, setup: impl FnOnce(&Path)) -> AlarmIndex {
        let d = dir(tag);
        let p = index_path(&d);
        setup(&p);
        let ix = AlarmIndex::open(&p);
        let err = ix.error().expect("the index should be unusable");
        assert!(err.contains(&p.display().to_string()), "{err}");
        assert!(matches!(ix.alarms(), Err(CoreError::AlarmIndex(_))));
        assert!(matches!(
            ix.set(&id(1), Some(1), None),
            Err(CoreError::AlarmIndex(_))
        ));
        assert!(ix.set(&id(1), None, None).is_ok());
        ix
    }

    fn valid_index(p: &Path, n: u8) {
        let ix = AlarmIndex::open(p);
        for i in 0..n {
            ix.set(&id(i), Some(1_000 + i as i64), Some("名前"))
                .unwrap();
        }
        drop(ix);
        // Checkpoint the WAL so the main file holds everything.
        let c = Connection::open(p).unwrap();
        c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode=DELETE;")
            .unwrap();
    }

    #[test]
    fn a_new_or_zero_length_index_works() {
        let d = dir("zero");
        let p = index_path(&d);
        std::fs::write(&p, b"").unwrap();
        let ix = AlarmIndex::open(&p);
        assert_eq!(ix.error(), None);
        ix.set(&id(7), Some(42), Some("n")).unwrap();
        assert_eq!(
            ix.alarms().unwrap(),
            vec![(ids::to_hex(&id(7)), 42, Some("n".to_string()))]
        );
    }

    #[test]
    fn garbage_bytes_make_the_index_unusable() {
        unusable_with("garbage", |p| {
            std::fs::write(p, vec![0x5a; 8192]).unwrap();
        });
    }

    #[test]
    fn a_truncated_index_is_unusable() {
        unusable_with("truncated", |p| {
            valid_index(p, 200);
            let len = std::fs::metadata(p).unwrap().len();
            let f = std::fs::OpenOptions::new().write(true).open(p).unwrap();
            f.set_len(len / 2 + 100).unwrap();
        });
    }

    #[test]
    fn a_wrong_alarm_table_makes_the_index_unusable() {
        unusable_with("wrong-table", |p| {
            Connection::open(p)
                .unwrap()
                .execute_batch("CREATE TABLE _cf_ALARM (x)")
                .unwrap();
        });
        unusable_with("view", |p| {
            Connection::open(p)
                .unwrap()
                .execute_batch("CREATE VIEW _cf_ALARM AS SELECT 1 AS actor_id, 2, 3")
                .unwrap();
        });
        unusable_with("bad-row", |p| {
            valid_index(p, 1);
            Connection::open(p)
                .unwrap()
                .execute_batch("INSERT INTO _cf_ALARM VALUES ('not an id', 5, NULL)")
                .unwrap();
        });
    }

    #[test]
    fn a_valid_database_without_the_table_gets_it() {
        let d = dir("missing");
        let p = index_path(&d);
        Connection::open(&p)
            .unwrap()
            .execute_batch("CREATE TABLE other (a)")
            .unwrap();
        let ix = AlarmIndex::open(&p);
        assert_eq!(ix.error(), None);
        assert_eq!(ix.alarms().unwrap(), vec![]);
    }
}
