//! Conversions between JS values and core types, written against raw Node-API because they
//! sit on the call path (every RPC crosses them twice).

use std::ptr;

use napi::sys;

use durable_facets_core::ids;
use durable_facets_core::inbox::{Delivery, Payload};

use crate::wake::check;

/// A JS value produced by hand; lets `#[napi]` functions return raw handles.
pub struct Raw(pub sys::napi_value);

impl napi::bindgen_prelude::ToNapiValue for Raw {
    unsafe fn to_napi_value(_env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        Ok(val.0)
    }
}

/// The memory of a typed array: its data pointer and length in bytes.
///
/// # Safety
/// `env` and `value` must be valid for the current call; `value` must be a typed array.
pub unsafe fn typed_array_bytes(
    env: sys::napi_env,
    value: sys::napi_value,
) -> napi::Result<(*mut u8, usize)> {
    let (mut kind, mut count, mut data, mut ab, mut offset) =
        (0, 0usize, ptr::null_mut(), ptr::null_mut(), 0usize);
    check(sys::napi_get_typedarray_info(
        env,
        value,
        &mut kind,
        &mut count,
        &mut data,
        &mut ab,
        &mut offset,
    ))?;
    let element = match kind {
        sys::TypedarrayType::int8_array
        | sys::TypedarrayType::uint8_array
        | sys::TypedarrayType::uint8_clamped_array => 1,
        sys::TypedarrayType::int16_array | sys::TypedarrayType::uint16_array => 2,
        sys::TypedarrayType::int32_array
        | sys::TypedarrayType::uint32_array
        | sys::TypedarrayType::float32_array => 4,
        _ => 8,
    };
    Ok((data as *mut u8, count * element))
}

/// Reads an RPC payload: a string (JSON), a Buffer/Uint8Array (V8 serialization), or an
/// array of Uint8Arrays (raw bytes, see `concat_parts`).
///
/// # Safety
/// `env` and `value` must be valid for the current call.
pub unsafe fn read_payload(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Payload> {
    let mut ty = 0;
    check(sys::napi_typeof(env, value, &mut ty))?;
    if ty == sys::ValueType::napi_string {
        return Ok(Payload::Text(read_string(env, value)?));
    }
    let mut is_typed = false;
    check(sys::napi_is_typedarray(env, value, &mut is_typed))?;
    if !is_typed {
        let mut is_array = false;
        check(sys::napi_is_array(env, value, &mut is_array))?;
        if is_array {
            return Ok(Payload::Bytes(concat_parts(env, value)?));
        }
        return Err(napi::Error::new(
            napi::Status::InvalidArg,
            "payload must be a string, a Uint8Array or an array of Uint8Arrays",
        ));
    }
    let (data, len) = typed_array_bytes(env, value)?;
    // Copy: the buffer belongs to this thread's heap (node-threads.md, lesson 3).
    let bytes = if len == 0 {
        Vec::new()
    } else {
        std::slice::from_raw_parts(data as *const u8, len).to_vec()
    };
    Ok(Payload::Bytes(bytes))
}

/// The bytes of an array of typed arrays, one after the other: a payload gathered from
/// several chunks (a streamed body's, lib/raw-bytes.js) is copied once, straight from them,
/// instead of being joined (and serialized) on the JS heap first.
///
/// # Safety
/// `env` and `value` must be valid for the current call; `value` must be an array.
unsafe fn concat_parts(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Vec<u8>> {
    let mut count = 0u32;
    check(sys::napi_get_array_length(env, value, &mut count))?;
    let mut parts = Vec::with_capacity(count as usize);
    let mut total = 0usize;
    for i in 0..count {
        let mut part = ptr::null_mut();
        check(sys::napi_get_element(env, value, i, &mut part))?;
        let mut is_typed = false;
        check(sys::napi_is_typedarray(env, part, &mut is_typed))?;
        if !is_typed {
            return Err(napi::Error::new(
                napi::Status::InvalidArg,
                "each part of a payload must be a Uint8Array",
            ));
        }
        let (data, len) = typed_array_bytes(env, part)?;
        total += len;
        parts.push((data, len));
    }
    let mut bytes = Vec::with_capacity(total);
    for (data, len) in parts {
        if len > 0 {
            bytes.extend_from_slice(std::slice::from_raw_parts(data as *const u8, len));
        }
    }
    Ok(bytes)
}

thread_local! {
    /// Scratch space for reading short strings with one Node-API call.
    static SCRATCH: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0u8; 512]);
}

/// # Safety
/// `env` and `value` must be valid for the current call; `value` must be a string.
pub unsafe fn read_string(env: sys::napi_env, value: sys::napi_value) -> napi::Result<String> {
    // Most strings on the call path are short: one call into a scratch buffer. Node writes
    // at most cap - 1 bytes and never splits a character, so it may stop up to 3 bytes
    // short of that with text left over. The string fit whole only if even a 4-byte
    // character more would have fit: written + 4 <= cap - 1.
    let short = SCRATCH.with(|scratch| -> napi::Result<Option<String>> {
        let mut buf = scratch.borrow_mut();
        let cap = buf.len();
        let mut written = 0usize;
        check(sys::napi_get_value_string_utf8(
            env,
            value,
            buf.as_mut_ptr().cast(),
            cap,
            &mut written,
        ))?;
        Ok((written + 4 < cap).then(|| String::from_utf8_lossy(&buf[..written]).into_owned()))
    })?;
    if let Some(s) = short {
        return Ok(s);
    }
    let mut len = 0usize;
    check(sys::napi_get_value_string_utf8(
        env,
        value,
        ptr::null_mut(),
        0,
        &mut len,
    ))?;
    let mut buf: Vec<u8> = Vec::with_capacity(len + 1);
    let mut written = 0usize;
    check(sys::napi_get_value_string_utf8(
        env,
        value,
        buf.as_mut_ptr().cast(),
        len + 1,
        &mut written,
    ))?;
    buf.set_len(written);
    // Node writes valid UTF-8 (lone surrogates become U+FFFD).
    Ok(String::from_utf8_unchecked(buf))
}

unsafe fn string(env: sys::napi_env, s: &str) -> napi::Result<sys::napi_value> {
    let mut v = ptr::null_mut();
    check(sys::napi_create_string_utf8(
        env,
        s.as_ptr().cast(),
        s.len() as isize,
        &mut v,
    ))?;
    Ok(v)
}

unsafe fn number(env: sys::napi_env, n: f64) -> napi::Result<sys::napi_value> {
    let mut v = ptr::null_mut();
    check(sys::napi_create_double(env, n, &mut v))?;
    Ok(v)
}

unsafe fn null(env: sys::napi_env) -> napi::Result<sys::napi_value> {
    let mut v = ptr::null_mut();
    check(sys::napi_get_null(env, &mut v))?;
    Ok(v)
}

unsafe fn payload(env: sys::napi_env, p: &Payload) -> napi::Result<sys::napi_value> {
    match p {
        Payload::Text(s) => string(env, s),
        Payload::Bytes(b) => {
            let mut data = ptr::null_mut();
            let mut v = ptr::null_mut();
            check(sys::napi_create_buffer_copy(
                env,
                b.len(),
                b.as_ptr().cast(),
                &mut data,
                &mut v,
            ))?;
            Ok(v)
        }
    }
}

/// Delivery kinds as JS sees them in the flat array returned by `drain`.
pub const KIND_CALL: f64 = 1.0;
pub const KIND_REPLY: f64 = 2.0;
pub const KIND_START: f64 = 3.0;
pub const KIND_SPAWN: f64 = 4.0;
pub const KIND_ALARM: f64 = 5.0;
pub const KIND_START_FACET: f64 = 6.0;
pub const KIND_TERMINATE: f64 = 7.0;
pub const KIND_EVICT: f64 = 8.0;
pub const KIND_STOP: f64 = 9.0;

/// Deliveries as one flat array, four slots each: `[kind, a, b, c, kind, a, b, c, …]`
/// (one allocation instead of an object per message).
///
/// * call:  `[1, callId, method, payload]`
/// * reply: `[2, callId, status, payload]`
/// * start: `[3, nsIndex, idHex, name | null]`
/// * spawn: `[4, runtimeId, count, urgent (1 or 0)]`
/// * alarm: `[5, runtimeId, [nsIndex, idHex, name | null], timeMs | null]`
/// * start facet: `[6, entryId, startup, null]`
/// * terminate: `[7, runtimeId, threadId, null]`
/// * evict: `[8, null, null, null]`
///
/// # Safety
/// `env` must be valid for the current call.
pub unsafe fn deliveries_to_js(
    env: sys::napi_env,
    deliveries: &[Delivery],
) -> napi::Result<sys::napi_value> {
    let mut arr = ptr::null_mut();
    check(sys::napi_create_array_with_length(
        env,
        deliveries.len() * 4,
        &mut arr,
    ))?;
    let mut i = 0u32;
    for d in deliveries {
        let slots: [sys::napi_value; 4] = match d {
            Delivery::Call {
                call,
                method,
                payload: p,
            } => [
                number(env, KIND_CALL)?,
                number(env, *call as f64)?,
                string(env, method)?,
                payload(env, p)?,
            ],
            Delivery::Reply {
                call,
                status,
                payload: p,
                ..
            } => [
                number(env, KIND_REPLY)?,
                number(env, *call as f64)?,
                number(env, *status as u8 as f64)?,
                payload(env, p)?,
            ],
            Delivery::Start { ns, id, name } => [
                number(env, KIND_START)?,
                number(env, *ns as f64)?,
                string(env, &ids::to_hex(id))?,
                match name {
                    Some(n) => string(env, n)?,
                    None => null(env)?,
                },
            ],
            Delivery::Spawn {
                runtime,
                count,
                urgent,
            } => [
                number(env, KIND_SPAWN)?,
                number(env, *runtime as f64)?,
                number(env, *count as f64)?,
                number(env, if *urgent { 1.0 } else { 0.0 })?,
            ],
            Delivery::StartFacet { entry, startup } => [
                number(env, KIND_START_FACET)?,
                number(env, *entry as f64)?,
                string(env, startup)?,
                null(env)?,
            ],
            Delivery::Evict => [number(env, KIND_EVICT)?, null(env)?, null(env)?, null(env)?],
            Delivery::Stop => [number(env, KIND_STOP)?, null(env)?, null(env)?, null(env)?],
            Delivery::Terminate { runtime, tid } => [
                number(env, KIND_TERMINATE)?,
                number(env, *runtime as f64)?,
                number(env, *tid as f64)?,
                null(env)?,
            ],
            Delivery::Alarm {
                runtime,
                ns,
                id,
                name,
                time_ms,
            } => {
                let mut target = ptr::null_mut();
                check(sys::napi_create_array_with_length(env, 3, &mut target))?;
                check(sys::napi_set_element(
                    env,
                    target,
                    0,
                    number(env, *ns as f64)?,
                ))?;
                check(sys::napi_set_element(
                    env,
                    target,
                    1,
                    string(env, &ids::to_hex(id))?,
                ))?;
                let name = match name {
                    Some(n) => string(env, n)?,
                    None => null(env)?,
                };
                check(sys::napi_set_element(env, target, 2, name))?;
                [
                    number(env, KIND_ALARM)?,
                    number(env, *runtime as f64)?,
                    target,
                    match time_ms {
                        Some(t) => number(env, *t)?,
                        None => null(env)?,
                    },
                ]
            }
        };
        for v in slots {
            check(sys::napi_set_element(env, arr, i, v))?;
            i += 1;
        }
    }
    Ok(arr)
}
