//! `ctx.facets` from an instance's thread: entries under the hosted instance, calls to
//! them, abort/delete/clone/list. The tree itself lives in the core (`hub_facets.rs`).

use napi::bindgen_prelude::*;
use napi::{sys, Env, JsValue};
use napi_derive::napi;

use durable_facets_core::hub::facet_ops::{CreateMode, Found, StopReason};
use durable_facets_core::hub::HUB;
use durable_facets_core::inbox::Payload;

use crate::values::{read_payload, read_string, Raw};
use crate::{core_error, guard, tid};

/// An entry id (number), -1 when there is none, or the sticky failure (its encoded error).
fn found_to_js(env: &Env, found: Found) -> Result<Raw> {
    let mut v = std::ptr::null_mut();
    unsafe {
        match found {
            Found::None => sys::napi_create_double(env.raw(), -1.0, &mut v),
            Found::Entry(e) => sys::napi_create_double(env.raw(), e as f64, &mut v),
            Found::Failed(Payload::Text(t)) => {
                sys::napi_create_string_utf8(env.raw(), t.as_ptr().cast(), t.len() as isize, &mut v)
            }
            Found::Failed(Payload::Bytes(b)) => {
                let mut data = std::ptr::null_mut();
                sys::napi_create_buffer_copy(
                    env.raw(),
                    b.len(),
                    b.as_ptr().cast(),
                    &mut data,
                    &mut v,
                )
            }
        };
    }
    Ok(Raw(v))
}

/// The entry `name` under this thread's instance (see `found_to_js`).
#[napi(js_name = "facetLookup", ts_return_type = "number | string | Buffer")]
pub fn facet_lookup(env: Env, name: String) -> Result<Raw> {
    guard(env, move || {
        let found = HUB
            .facet_lookup(tid(&env)?, &name)
            .map_err(|e| core_error(&env, e))?;
        found_to_js(&env, found)
    })
}

/// Creates the entry `name` (or reuses it: form B always, form A when `startup` is equal).
/// With `failure`, the entry is a sticky failure.
#[napi(js_name = "facetCreate", ts_return_type = "number | string | Buffer")]
pub fn facet_create(
    env: Env,
    name: String,
    startup: String,
    replace: bool,
    failure: Option<Unknown<'_>>,
) -> Result<Raw> {
    guard(env, move || {
        let failure = match failure {
            Some(f) => Some(unsafe { read_payload(env.raw(), f.raw())? }),
            None => None,
        };
        let mode = if replace {
            CreateMode::ReplaceIfDifferent
        } else {
            CreateMode::KeepExisting
        };
        let found = HUB
            .facet_create(tid(&env)?, &name, startup, mode, failure)
            .map_err(|e| core_error(&env, e))?;
        found_to_js(&env, found)
    })
}

/// Calls facet entry `entry`; returns the call id.
#[napi(js_name = "facetCall")]
pub fn facet_call(
    env: Env,
    rt: u32,
    entry: f64,
    method: Unknown<'_>,
    payload: Unknown<'_>,
) -> Result<f64> {
    guard(env, move || {
        let (method, payload) = unsafe {
            (
                read_string(env.raw(), method.raw())?,
                read_payload(env.raw(), payload.raw())?,
            )
        };
        HUB.facet_call(tid(&env)?, rt, entry as u64, method, payload)
            .map(|c| c as f64)
            .map_err(|e| core_error(&env, e))
    })
}

/// `abort(name, reason)` (`reason`: the encoded error) or, without a reason, `delete(name)`.
#[napi(js_name = "facetStop")]
pub fn facet_stop(env: Env, name: String, reason: Option<Unknown<'_>>) -> Result<()> {
    guard(env, move || {
        let reason = match reason {
            Some(r) => StopReason::Abort(unsafe { read_payload(env.raw(), r.raw())? }),
            None => StopReason::Delete,
        };
        HUB.facet_stop(tid(&env)?, &name, reason)
            .map_err(|e| core_error(&env, e))
    })
}

#[napi(js_name = "facetClone")]
pub fn facet_clone(env: Env, src: String, dst: String) -> Result<()> {
    guard(env, move || {
        HUB.facet_clone(tid(&env)?, &src, &dst)
            .map_err(|e| core_error(&env, e))
    })
}

#[napi(js_name = "facetList")]
pub fn facet_list(env: Env) -> Result<Vec<String>> {
    guard(env, move || {
        HUB.facet_list(tid(&env)?).map_err(|e| core_error(&env, e))
    })
}

#[napi(js_name = "facetsDeleteAll")]
pub fn facets_delete_all(env: Env) -> Result<()> {
    guard(env, move || {
        HUB.facets_delete_all(tid(&env)?)
            .map_err(|e| core_error(&env, e))
    })
}
