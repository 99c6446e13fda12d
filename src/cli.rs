//! Functions for the `durable-facets` CLI: reading storage directories without a runtime.

use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::{guard, throw, JsErrorClass};
use durable_facets_core::error::ErrorCode;
use durable_facets_core::storage::offline;
use napi::Env;

/// A failure of an offline command (unreadable directory or database, bad query).
fn fail(env: &Env, msg: String) -> Error {
    throw(env, JsErrorClass::Error, ErrorCode::Storage, &msg)
}

/// Namespace directories (uniqueKeys) of a storage directory, sorted.
#[napi(js_name = "offlineNamespaces")]
pub fn offline_namespaces(env: Env, dir: String) -> Result<Vec<String>> {
    guard(env, move || {
        let mut out: Vec<String> = std::fs::read_dir(&dir)
            .map_err(|e| fail(&env, format!("cannot read {dir}: {e}")))?
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_dir())
            .filter_map(|e| e.file_name().to_str().map(str::to_owned))
            .collect();
        out.sort();
        Ok(out)
    })
}

#[napi(js_name = "offlineObjects")]
pub fn offline_objects(env: Env, ns_dir: String) -> Result<Vec<String>> {
    guard(env, move || {
        offline::object_ids(std::path::Path::new(&ns_dir))
            .map_err(|e| fail(&env, format!("cannot read {ns_dir}: {e}")))
    })
}

/// `[fullName, facetId, size]` per database of an object, root first.
#[napi(
    js_name = "offlineTree",
    ts_return_type = "Array<[string, number, number]>"
)]
pub fn offline_tree(env: Env, ns_dir: String, id: String) -> Result<Vec<offline::StoredFacet>> {
    guard(env, move || {
        offline::object_tree(std::path::Path::new(&ns_dir), &id).map_err(|msg| fail(&env, msg))
    })
}

#[napi(js_name = "offlineDatabaseFile")]
pub fn offline_database_file(
    env: Env,
    dir: String,
    unique_key: String,
    id_or_name: String,
    force_name: bool,
    facet: Option<String>,
) -> Result<String> {
    guard(env, move || {
        offline::database_file(
            std::path::Path::new(&dir),
            &unique_key,
            &id_or_name,
            force_name,
            facet.as_deref(),
        )
        .map(|p| p.display().to_string())
        .map_err(|msg| fail(&env, msg))
    })
}

/// `[columns, rows, kinds]` of a read-only query; cells are display strings or null, `kinds`
/// one string per row with the SQLite type of each cell (`n`, `i`, `r`, `t`, `b`).
#[napi(
    js_name = "offlineQuery",
    ts_return_type = "[string[], Array<Array<string | null>>, string[]]"
)]
pub fn offline_query(env: Env, path: String, sql: String) -> Result<offline::QueryResult> {
    guard(env, move || {
        offline::query(std::path::Path::new(&path), &sql).map_err(|msg| fail(&env, msg))
    })
}
