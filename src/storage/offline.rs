//! Reading stored objects without a runtime (the `durable-facets` CLI): every object of a
//! storage directory with its facet tree and sizes, and read-only queries on one database.

use std::path::{Path, PathBuf};

use crate::ids::{self, NamespaceKey};
use crate::storage::facet_index::FacetIndex;

/// One database: full facet name ("" for the root), facet id, size in bytes.
pub type StoredFacet = (String, u32, f64);

/// `(page_count - freelist_count) * page_size`, 0 without a file.
pub fn database_size(path: &Path) -> f64 {
    if !path.exists() {
        return 0.0;
    }
    let Ok(conn) =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
    else {
        return 0.0;
    };
    let q = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap_or(0);
    ((q("PRAGMA page_count") - q("PRAGMA freelist_count")).max(0) * q("PRAGMA page_size")) as f64
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

/// A query's result: column names, and rows of display strings (None: NULL).
pub type QueryResult = (Vec<String>, Vec<Vec<Option<String>>>);

/// Runs a read-only query; returns the column names and the rows as display strings.
pub fn query(path: &Path, sql: &str) -> Result<QueryResult, String> {
    if !path.exists() {
        return Err(format!("no database {}", path.display()));
    }
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| e.to_string())?;
    conn.execute_batch("PRAGMA query_only = ON")
        .map_err(|e| e.to_string())?;
    let mut stmt = conn.prepare(sql).map_err(|e| e.to_string())?;
    let columns: Vec<String> = stmt.column_names().map(str::to_owned).collect();
    let width = columns.len();
    let rows = stmt
        .query_map([], |r| {
            (0..width)
                .map(|i| {
                    use rusqlite::types::ValueRef;
                    Ok(match r.get_ref(i)? {
                        ValueRef::Null => None,
                        ValueRef::Integer(v) => Some(v.to_string()),
                        ValueRef::Real(v) => Some(v.to_string()),
                        ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
                        ValueRef::Blob(b) => Some(format!(
                            "x'{}'",
                            b.iter().map(|x| format!("{x:02x}")).collect::<String>()
                        )),
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(|e| e.to_string())?;
    Ok((columns, rows))
}
