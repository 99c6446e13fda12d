//! Reading stored objects without a runtime (the `durable-facets` CLI): every object of a
//! storage directory with its facet tree and sizes, and read-only queries on one database.

use std::path::{Path, PathBuf};

use crate::ids::{self, NamespaceKey};
use crate::storage::facet_index::FacetIndex;

/// One database: full facet name ("" for the root), facet id, size in bytes.
pub type StoredFacet = (String, u32, f64);

/// `(page_count - freelist_count) * page_size`, 0 without a file.
///
/// Reading must leave nothing behind: a SQLite connection to a WAL database creates
/// `-wal`/`-shm` files, and a read-only one cannot remove them when it closes. So a
/// database without a `-wal` (closed cleanly: everything is in the main file) is measured
/// from its header alone; only one with a `-wal` (open elsewhere, which owns those files,
/// or left by a crash) is opened, read-write so that closing it cleans up as SQLite does.
pub fn database_size(path: &Path) -> f64 {
    if !path.exists() {
        return 0.0;
    }
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    if !Path::new(&wal).exists() {
        if let Some(size) = size_from_header(path) {
            return size as f64;
        }
    }
    let Ok(conn) = rusqlite::Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    ) else {
        return 0.0;
    };
    let _ = conn.execute_batch("PRAGMA query_only = ON");
    let q = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap_or(0);
    ((q("PRAGMA page_count") - q("PRAGMA freelist_count")).max(0) * q("PRAGMA page_size")) as f64
}

/// The size per the database header (SQLite file format §1.3), as `PRAGMA page_count`
/// computes it: the in-header page count when it is valid, else the file's length.
/// None when the file is not a SQLite database.
fn size_from_header(path: &Path) -> Option<u64> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).ok()?;
    let file_len = file.metadata().ok()?.len();
    if file_len == 0 {
        return Some(0);
    }
    let mut h = [0u8; 100];
    file.read_exact(&mut h).ok()?;
    if &h[..16] != b"SQLite format 3\0" {
        return None;
    }
    let be = |at: usize| u32::from_be_bytes(h[at..at + 4].try_into().expect("4 bytes")) as u64;
    let page_size = match u16::from_be_bytes([h[16], h[17]]) {
        1 => 65536,
        n => n as u64,
    };
    if page_size < 512 {
        return None;
    }
    let pages = if be(24) == be(92) && be(28) != 0 {
        be(28)
    } else {
        file_len / page_size
    };
    Some(pages.saturating_sub(be(36)) * page_size)
}

fn is_hex_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The ids of the objects stored in one namespace directory, sorted.
pub fn object_ids(ns_dir: &Path) -> std::io::Result<Vec<String>> {
    let mut out: Vec<String> = std::fs::read_dir(ns_dir)?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .filter_map(|name| {
            name.get(..64)
                .filter(|h| is_hex_id(h) && name.len() > 64)
                .map(str::to_owned)
        })
        .collect();
    out.sort();
    out.dedup();
    Ok(out)
}

/// The databases of object `id` in `ns_dir`: root first, then facets by full name.
pub fn object_tree(ns_dir: &Path, id: &str) -> Result<Vec<StoredFacet>, String> {
    let mut out = vec![(
        String::new(),
        0,
        database_size(&ns_dir.join(format!("{id}.sqlite"))),
    )];
    let index =
        FacetIndex::read(&ns_dir.join(format!("{id}.facets"))).map_err(|e| e.to_string())?;
    if let Some(ix) = index {
        let mut facets = Vec::new();
        for fid in ix.subtree(0).into_iter().skip(1) {
            let file = ns_dir.join(format!("{id}.{fid}.sqlite"));
            if !file.exists() {
                continue;
            }
            facets.push((ix.path_of(fid).join("/"), fid, database_size(&file)));
        }
        facets.sort_by(|a: &StoredFacet, b: &StoredFacet| a.0.cmp(&b.0));
        out.extend(facets);
    }
    Ok(out)
}

/// The database file of object `id_or_name` (64 hex digits: an id; otherwise a name, or
/// always a name with `force_name`) of namespace `unique_key`, facet `facet` (a/b).
pub fn database_file(
    dir: &Path,
    unique_key: &str,
    id_or_name: &str,
    force_name: bool,
    facet: Option<&str>,
) -> Result<PathBuf, String> {
    let ns_dir = dir.join(unique_key);
    if !ns_dir.is_dir() {
        return Err(format!("no namespace directory {}", ns_dir.display()));
    }
    let id = if !force_name && is_hex_id(id_or_name) {
        id_or_name.to_ascii_lowercase()
    } else {
        ids::to_hex(&NamespaceKey::new(unique_key).id_from_name(id_or_name))
    };
    let Some(facet) = facet.filter(|f| !f.is_empty()) else {
        return Ok(ns_dir.join(format!("{id}.sqlite")));
    };
    let ix = FacetIndex::read(&ns_dir.join(format!("{id}.facets")))
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("object {id} has no facets"))?;
    let mut fid = 0;
    for name in facet.split('/') {
        fid = ix
            .lookup(fid, name)
            .ok_or_else(|| format!("object {id} has no facet {facet}"))?;
    }
    Ok(ns_dir.join(format!("{id}.{fid}.sqlite")))
}

/// A query's result: column names, rows of display strings (None: NULL), and per row the
/// SQLite type of each cell, one letter per column (`n`ull, `i`nteger, `r`eal, `t`ext,
/// `b`lob), so that callers can give typed values (`--json`, decoded KV values).
pub type QueryResult = (Vec<String>, Vec<Vec<Option<String>>>, Vec<String>);

/// Opens `path` for reading only, leaving no file behind (see [`database_size`]): a
/// read-write connection with `query_only` (so that closing the last connection removes the
/// `-wal`/`-shm` files it made), or a read-only one where the file cannot be written.
fn open_for_reading(path: &Path) -> Result<rusqlite::Connection, String> {
    use rusqlite::OpenFlags;
    let conn = rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .or_else(|_| rusqlite::Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY))
    .map_err(|e| e.to_string())?;
    conn.execute_batch("PRAGMA query_only = ON")
        .map_err(|e| e.to_string())?;
    Ok(conn)
}

/// Runs a read-only query; returns the column names, the rows as display strings and the
/// cells' types.
pub fn query(path: &Path, sql: &str) -> Result<QueryResult, String> {
    if !path.exists() {
        return Err(format!("no database {}", path.display()));
    }
    let conn = open_for_reading(path)?;
    let mut stmt = conn.prepare(sql).map_err(|e| e.to_string())?;
    let columns: Vec<String> = stmt.column_names().map(str::to_owned).collect();
    let width = columns.len();
    let rows = stmt
        .query_map([], |r| {
            let mut kinds = String::with_capacity(width);
            let cells = (0..width)
                .map(|i| {
                    use rusqlite::types::ValueRef;
                    let (kind, cell) = match r.get_ref(i)? {
                        ValueRef::Null => ('n', None),
                        ValueRef::Integer(v) => ('i', Some(v.to_string())),
                        ValueRef::Real(v) => ('r', Some(v.to_string())),
                        ValueRef::Text(t) => ('t', Some(String::from_utf8_lossy(t).into_owned())),
                        ValueRef::Blob(b) => (
                            'b',
                            Some(format!(
                                "x'{}'",
                                b.iter().map(|x| format!("{x:02x}")).collect::<String>()
                            )),
                        ),
                    };
                    kinds.push(kind);
                    Ok::<_, rusqlite::Error>(cell)
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok((cells, kinds))
        })
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(|e| e.to_string())?;
    drop(stmt);
    conn.close().map_err(|(_, e)| e.to_string())?;
    let (rows, kinds) = rows.into_iter().unzip();
    Ok((columns, rows, kinds))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    /// What `PRAGMA page_count/freelist_count/page_size` say, through a connection.
    fn pragma_size(path: &Path) -> f64 {
        let c = rusqlite::Connection::open(path).unwrap();
        let q = |sql: &str| c.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
        ((q("PRAGMA page_count") - q("PRAGMA freelist_count")) * q("PRAGMA page_size")) as f64
    }

    #[test]
    fn the_size_of_a_closed_database_is_read_without_leaving_files() {
        let dir = std::env::temp_dir().join(format!("df-size-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("x.sqlite");
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(
            "PRAGMA journal_mode=WAL; CREATE TABLE t (v); \
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300) \
             INSERT INTO t SELECT randomblob(1000) FROM n; \
             DELETE FROM t WHERE rowid % 3 = 0;",
        )
        .unwrap();
        c.close().unwrap();
        assert_eq!(names(&dir), ["x.sqlite"]);
        let size = database_size(&path);
        assert_eq!(names(&dir), ["x.sqlite"], "measuring made no file");
        assert!(size > 150_000.0, "{size}");
        assert_eq!(size, pragma_size(&path));
        // Open elsewhere (a -wal exists): measured through a connection, same result.
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch("PRAGMA journal_mode=WAL; INSERT INTO t VALUES (zeroblob(50000));")
            .unwrap();
        assert_eq!(database_size(&path), pragma_size(&path));
        drop(c);
        assert_eq!(names(&dir), ["x.sqlite"]);
        assert_eq!(database_size(&dir.join("none.sqlite")), 0.0);
        std::fs::write(dir.join("junk.sqlite"), b"not a database").unwrap();
        assert_eq!(database_size(&dir.join("junk.sqlite")), 0.0);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_query_reports_cell_types_and_leaves_no_file_behind() {
        let dir = std::env::temp_dir().join(format!("df-query-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("q.sqlite");
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(
            "PRAGMA journal_mode=WAL; CREATE TABLE t (a, b, c, d, e); \
             INSERT INTO t VALUES (NULL, 7, 1.5, 'x', x'ff01');",
        )
        .unwrap();
        c.close().unwrap();
        let (columns, rows, kinds) = query(&path, "SELECT * FROM t").unwrap();
        assert_eq!(columns, ["a", "b", "c", "d", "e"]);
        assert_eq!(
            rows,
            [[
                None,
                Some("7".into()),
                Some("1.5".into()),
                Some("x".into()),
                Some("x'ff01'".into())
            ]]
        );
        assert_eq!(kinds, ["nirtb"]);
        assert_eq!(names(&dir), ["q.sqlite"]);
        assert!(query(&path, "DELETE FROM t")
            .unwrap_err()
            .contains("readonly"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
