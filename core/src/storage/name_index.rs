//! The names of a namespace's objects, `<storage>/<uniqueKey>/metadata.sqlite`, table
//! `_df_NAMES(id, name)` (ours; workerd ignores tables it does not know there): for every
//! object whose id was derived from a name (`getByName`, `idFromName`), the name, so that
//! tools (`durable-facets inspect`, `sql`/`kv` by name) can show and find it. workerd keeps
//! no such record; an id alone cannot give its name back (it is a MAC of the name).
//!
//! * **Recorded once per id**, when the object (or one of its facets) first opens a
//!   database in a run: ids found recorded are remembered for the rest of the run, so a
//!   restart costs one indexed read per named object, and only its first start ever writes.
//! * **Only true names**: a name is recorded only if the id is the one derived from it
//!   under this namespace's key, so a caller that pairs an id with another name records
//!   nothing, and a name looked up in the index always hashes to the id it gives.
//! * **Never in the way**: the fast path (an id already seen) takes a mutex that is never
//!   held during I/O; the connection is opened on first need (a runtime that names nothing
//!   never touches it) by the object's own thread, never under the hub's lock. Writes use
//!   `synchronous=NORMAL` (a lost name costs a label in a listing, not data).
//! * **A damaged file loses names only**: the index is not opened when the namespace's
//!   alarm index found the file unusable (nothing is written to a damaged file); an index
//!   that fails (a `_df_NAMES` of another shape, a failed write) is unusable from then on:
//!   nothing more is recorded, and objects, their databases and alarms work as before.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags};

use crate::ids::{self, NamespaceKey, ObjectId};

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS _df_NAMES \
     (id TEXT PRIMARY KEY, name TEXT NOT NULL) WITHOUT ROWID;";
const FIND: &str = "SELECT 1 FROM _df_NAMES WHERE id = ?1";
const INSERT: &str = "INSERT INTO _df_NAMES (id, name) VALUES (?1, ?2)";
const SELECT: &str = "SELECT id, name FROM _df_NAMES ORDER BY id";

/// How long a write waits for another connection's (the alarm index's) write to end.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

enum State {
    /// Not opened yet (opened on the first name to record).
    Closed,
    Ready(Connection),
    /// Why names cannot be recorded (naming the file).
    Unusable(String),
}

/// A namespace's name index; see the module documentation.
pub struct NameIndex {
    path: PathBuf,
    key: NamespaceKey,
    /// Ids recorded (or found recorded) in this run. Never held during I/O.
    known: Mutex<HashSet<ObjectId>>,
    state: Mutex<State>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl NameIndex {
    /// The index in `path` (the namespace's `metadata.sqlite`) of the namespace whose
    /// uniqueKey is `unique_key`. Opens nothing yet.
    pub fn new(path: &Path, unique_key: &str) -> NameIndex {
        NameIndex {
            path: path.to_path_buf(),
            key: NamespaceKey::new(unique_key),
            known: Mutex::new(HashSet::new()),
            state: Mutex::new(State::Closed),
        }
    }

    /// Records that object `id` is named `name`, unless it already is (or `id` is not the
    /// id derived from `name`). `file_unusable` is asked before the file is first opened:
    /// `Some(reason)` (the alarm index found the file damaged) makes the index unusable
    /// without touching the file. Returns whether a row was written; an error says why the
    /// index is unusable (the name is lost, nothing else is affected).
    pub fn record(
        &self,
        id: &ObjectId,
        name: &str,
        file_unusable: impl FnOnce() -> Option<String>,
    ) -> Result<bool, String> {
        if lock(&self.known).contains(id) {
            return Ok(false);
        }
        if self.key.id_from_name(name) != *id {
            return Ok(false);
        }
        let mut state = self.opened(file_unusable);
        let conn = match &*state {
            State::Ready(c) => c,
            State::Unusable(msg) => return Err(msg.clone()),
            State::Closed => unreachable!("opened above"),
        };
        let hex = ids::to_hex(id);
        let written: rusqlite::Result<bool> = (|| {
            if conn.prepare(FIND)?.exists([&hex])? {
                return Ok(false);
            }
            conn.prepare(INSERT)?
                .execute(rusqlite::params![hex, name])?;
            Ok(true)
        })();
        match written {
            Ok(w) => {
                lock(&self.known).insert(*id);
                Ok(w)
            }
            Err(e) => {
                let msg = self.unusable(&e.to_string());
                // Another connection holding the file past the timeout is no damage: this
                // name is lost, the next one may be recorded.
                if !is_busy(&e) {
                    *state = State::Unusable(msg.clone());
                }
                Err(msg)
            }
        }
    }

    /// Every recorded (id hex, name), by id (`file_unusable` as for [`NameIndex::record`]).
    pub fn names(
        &self,
        file_unusable: impl FnOnce() -> Option<String>,
    ) -> Result<Vec<(String, String)>, String> {
        let state = self.opened(file_unusable);
        match &*state {
            State::Ready(c) => read_all(c).map_err(|e| self.unusable(&e.to_string())),
            State::Unusable(msg) => Err(msg.clone()),
            State::Closed => unreachable!("opened above"),
        }
    }

    /// The state, the connection opened first if it was not yet (unless `file_unusable`
    /// says the file is damaged).
    fn opened(&self, file_unusable: impl FnOnce() -> Option<String>) -> MutexGuard<'_, State> {
        let mut state = lock(&self.state);
        if matches!(*state, State::Closed) {
            *state = match file_unusable() {
                Some(reason) => State::Unusable(reason),
                None => match try_open(&self.path) {
                    Ok(c) => State::Ready(c),
                    Err(reason) => State::Unusable(self.unusable(&reason)),
                },
            };
        }
        state
    }

    /// Why names cannot be recorded, if the index was found unusable.
    pub fn error(&self) -> Option<String> {
        match &*lock(&self.state) {
            State::Unusable(msg) => Some(msg.clone()),
            _ => None,
        }
    }

    fn unusable(&self, reason: &str) -> String {
        format!(
            "Name index {} is corrupt or unreadable ({reason}); names of this namespace's \
             objects are not recorded.",
            self.path.display()
        )
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

fn try_open(path: &Path) -> Result<Connection, String> {
    let e = |e: rusqlite::Error| e.to_string();
    // Never created here: the namespace directory made the file (it holds its lock).
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(e)?;
    // The alarm index writes the same file through its own connection.
    conn.busy_timeout(BUSY_TIMEOUT).map_err(e)?;
    conn.execute_batch("PRAGMA synchronous=NORMAL;")
        .map_err(e)?;
    conn.execute_batch(SCHEMA).map_err(e)?;
    // A `_df_NAMES` of another shape (or a view) fails here, before anything is recorded.
    for sql in [FIND, INSERT, SELECT] {
        conn.prepare(sql).map_err(e)?;
    }
    Ok(conn)
}

fn read_all(conn: &Connection) -> rusqlite::Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare(SELECT)?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "Tenant";

    fn dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("df-name-index-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// A fresh `metadata.sqlite` in WAL mode, as the alarm index leaves it.
    fn file(tag: &str) -> PathBuf {
        let p = dir(tag).join("metadata.sqlite");
        Connection::open(&p)
            .unwrap()
            .execute_batch("PRAGMA journal_mode=WAL;")
            .unwrap();
        p
    }

    fn id_of(name: &str) -> ObjectId {
        NamespaceKey::new(KEY).id_from_name(name)
    }

    fn fine() -> Option<String> {
        None
    }

    /// Rows written to the file, read through a connection of their own (none without
    /// the table).
    fn rows(p: &Path) -> Vec<(String, String)> {
        let c = Connection::open(p).unwrap();
        read_all(&c).unwrap_or_default()
    }

    #[test]
    fn a_name_is_recorded_with_the_id_derived_from_it() {
        let p = file("record");
        let ix = NameIndex::new(&p, KEY);
        assert_eq!(ix.record(&id_of("alice"), "alice", fine), Ok(true));
        assert_eq!(
            rows(&p),
            vec![(ids::to_hex(&id_of("alice")), "alice".to_string())]
        );
    }

    #[test]
    fn a_name_is_written_once_per_id_even_across_runs() {
        let p = file("once");
        let ix = NameIndex::new(&p, KEY);
        assert_eq!(ix.record(&id_of("a"), "a", fine), Ok(true));
        assert_eq!(ix.record(&id_of("a"), "a", fine), Ok(false));
        drop(ix);
        // A new run finds it recorded; the file is not asked about again.
        let ix = NameIndex::new(&p, KEY);
        assert_eq!(ix.record(&id_of("a"), "a", fine), Ok(false));
        assert_eq!(
            ix.record(&id_of("a"), "a", || panic!("known ids never reopen")),
            Ok(false)
        );
        assert_eq!(rows(&p).len(), 1);
    }

    #[test]
    fn a_name_that_does_not_derive_the_id_is_not_recorded() {
        let p = file("mismatch");
        let ix = NameIndex::new(&p, KEY);
        assert_eq!(ix.record(&id_of("a"), "b", fine), Ok(false));
        // Same name, another namespace's key: another id.
        let other = NamespaceKey::new("Other").id_from_name("a");
        assert_eq!(ix.record(&other, "a", fine), Ok(false));
        assert_eq!(rows(&p), vec![]);
    }

    #[test]
    fn non_english_and_long_names_round_trip_exactly() {
        let p = file("unicode");
        let ix = NameIndex::new(&p, KEY);
        let names = [
            "名前-テナント-東京",
            "🏠🔑👩‍👩‍👧‍👦 family",
            "Ünïcödé — ñame",
            &"长".repeat(128),
            &"😀".repeat(128),
        ];
        for n in names {
            assert_eq!(ix.record(&id_of(n), n, fine), Ok(true));
        }
        let mut want: Vec<(String, String)> = names
            .iter()
            .map(|n| (ids::to_hex(&id_of(n)), n.to_string()))
            .collect();
        want.sort();
        assert_eq!(ix.names(fine).unwrap(), want);
    }

    #[test]
    fn a_file_the_alarm_index_found_damaged_is_not_touched() {
        let d = dir("damaged");
        let p = d.join("metadata.sqlite");
        let junk = vec![0xa5u8; 8192];
        std::fs::write(&p, &junk).unwrap();
        let ix = NameIndex::new(&p, KEY);
        let err = ix
            .record(&id_of("a"), "a", || Some("damaged".into()))
            .unwrap_err();
        assert_eq!(err, "damaged");
        assert_eq!(ix.error().as_deref(), Some("damaged"));
        assert_eq!(std::fs::read(&p).unwrap(), junk);
    }

    #[test]
    fn garbage_bytes_make_the_index_unusable() {
        let d = dir("garbage");
        let p = d.join("metadata.sqlite");
        std::fs::write(&p, vec![0x5au8; 8192]).unwrap();
        let ix = NameIndex::new(&p, KEY);
        let err = ix.record(&id_of("a"), "a", fine).unwrap_err();
        assert!(err.contains(&p.display().to_string()), "{err}");
        // Unusable from then on, without trying the file again.
        assert!(ix.record(&id_of("b"), "b", fine).is_err());
        assert!(ix.error().is_some());
    }

    #[test]
    fn a_names_table_of_another_shape_makes_the_index_unusable() {
        for (tag, sql) in [
            ("shape", "CREATE TABLE _df_NAMES (x)"),
            ("view", "CREATE VIEW _df_NAMES AS SELECT 1 AS id, 2 AS name"),
        ] {
            let p = file(tag);
            Connection::open(&p).unwrap().execute_batch(sql).unwrap();
            let ix = NameIndex::new(&p, KEY);
            assert!(ix.record(&id_of("a"), "a", fine).is_err(), "{tag}");
            assert!(ix.error().is_some(), "{tag}");
        }
    }

    #[test]
    fn the_alarm_table_beside_it_is_left_alone() {
        let p = file("beside");
        let c = Connection::open(&p).unwrap();
        c.execute_batch(
            "CREATE TABLE _cf_ALARM (actor_id TEXT PRIMARY KEY, scheduled_time INTEGER, \
             actor_name TEXT) WITHOUT ROWID; INSERT INTO _cf_ALARM VALUES ('x', 1, 'n');",
        )
        .unwrap();
        let ix = NameIndex::new(&p, KEY);
        assert_eq!(ix.record(&id_of("a"), "a", fine), Ok(true));
        let n: i64 = c
            .query_row("SELECT count(*) FROM _cf_ALARM", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 1);
    }
}
