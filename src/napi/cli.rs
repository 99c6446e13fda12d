//! Functions for the `durable-facets` CLI: reading storage directories without a runtime.

use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::storage::offline;

fn fail(msg: String) -> Error {
    Error::new(Status::GenericFailure, msg)
}

/// Namespace directories (uniqueKeys) of a storage directory, sorted.
#[napi(catch_unwind, js_name = "offlineNamespaces")]
pub fn offline_namespaces(dir: String) -> Result<Vec<String>> {
    let mut out: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| fail(format!("cannot read {dir}: {e}")))?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .collect();
    out.sort();
    Ok(out)
}

#[napi(catch_unwind, js_name = "offlineObjects")]
pub fn offline_objects(ns_dir: String) -> Result<Vec<String>> {
    offline::object_ids(std::path::Path::new(&ns_dir))
        .map_err(|e| fail(format!("cannot read {ns_dir}: {e}")))
}

/// `[fullName, facetId, size]` per database of an object, root first.
#[napi(
    catch_unwind,
    js_name = "offlineTree",
    ts_return_type = "Array<[string, number, number]>"
)]
pub fn offline_tree(ns_dir: String, id: String) -> Result<Vec<offline::StoredFacet>> {
    offline::object_tree(std::path::Path::new(&ns_dir), &id).map_err(fail)
}

#[napi(catch_unwind, js_name = "offlineDatabaseFile")]
pub fn offline_database_file(
    dir: String,
    unique_key: String,
    id_or_name: String,
    force_name: bool,
    facet: Option<String>,
) -> Result<String> {
    offline::database_file(
        std::path::Path::new(&dir),
        &unique_key,
        &id_or_name,
        force_name,
        facet.as_deref(),
    )
    .map(|p| p.display().to_string())
    .map_err(fail)
}

/// `[columns, rows]` of a read-only query; cells are display strings or null.
#[napi(
    catch_unwind,
    js_name = "offlineQuery",
    ts_return_type = "[string[], Array<Array<string | null>>]"
)]
pub fn offline_query(path: String, sql: String) -> Result<offline::QueryResult> {
    offline::query(std::path::Path::new(&path), &sql).map_err(fail)
}
