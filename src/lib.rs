#![deny(clippy::all)]
// In `cargo test` builds nothing registers the exports with Node, so they look unused.
#![cfg_attr(test, allow(dead_code))]

//! durable-facets' Node binding (the addon): converts values, keeps this thread's port to
//! the hub, and maps core errors to JS errors with stable `code`s. Everything else lives in
//! the core crate (`core/`, `durable-facets-core`), which has no napi dependency at all, so
//! no logic lives here that `cargo test` could not reach through the core.

mod cli;
mod facets;
mod sockets;
mod storage;
mod values;
mod wake;

use std::cell::RefCell;
use std::ffi::c_void;
use std::sync::Arc;
use std::time::Duration;

use napi::bindgen_prelude::*;
use napi::{sys, Env, JsValue};
use napi_derive::napi;

use durable_facets_core::error::{CoreError, ErrorCode};
use durable_facets_core::hub::{RuntimeConfig, Tid, HUB};
use durable_facets_core::ids;
use durable_facets_core::inbox::{Delivery, Inbox, ReplyStatus};

use values::{deliveries_to_js, read_payload, read_string, Raw};

/// This thread's attachment to the hub.
struct Port {
    tid: Tid,
    inbox: Arc<Inbox>,
    tsfn: sys::napi_threadsafe_function,
    /// Reused between drains so draining does not allocate.
    spare: Vec<Delivery>,
    /// A worker thread (hosts an object) rather than a caller (main thread).
    worker: bool,
}

thread_local! {
    static PORT: RefCell<Option<Port>> = const { RefCell::new(None) };
}

/// Spinning is capped: it only pays off when the answer is already on its way.
const MAX_SPIN: Duration = Duration::from_micros(200);

/// The one place a core error becomes a JS error: its class, message and `code`.
pub(crate) fn core_error(env: &Env, err: CoreError) -> Error {
    let class = if err.is_type_error() {
        JsErrorClass::TypeError
    } else {
        JsErrorClass::Error
    };
    throw(env, class, err.code(), &err.to_string())
}

/// The JS class a thrown error gets.
#[derive(Clone, Copy)]
pub(crate) enum JsErrorClass {
    Error,
    TypeError,
}

/// Throws `message` as a JS error of `class` with `err.code = code.as_str()`, and returns
/// the `Error` that tells napi-rs an exception is pending.
pub(crate) fn throw(env: &Env, class: JsErrorClass, code: ErrorCode, message: &str) -> Error {
    throw_with(env, class, code, message, &[])
}

/// `throw`, with extra string properties on the error (`sqliteCode` of SQL errors).
pub(crate) fn throw_with(
    env: &Env,
    class: JsErrorClass,
    code: ErrorCode,
    message: &str,
    extra: &[(&std::ffi::CStr, &str)],
) -> Error {
    // SAFETY: `env` is the live env of the current call; every handle is checked.
    let made = unsafe {
        let raw = env.raw();
        let string = |s: &str| -> Result<sys::napi_value> {
            let mut v = std::ptr::null_mut();
            wake::check(sys::napi_create_string_utf8(
                raw,
                s.as_ptr().cast(),
                s.len() as isize,
                &mut v,
            ))?;
            Ok(v)
        };
        (|| -> Result<()> {
            let (js_code, js_message) = (string(code.as_str())?, string(message)?);
            let mut err = std::ptr::null_mut();
            wake::check(match class {
                JsErrorClass::Error => sys::napi_create_error(raw, js_code, js_message, &mut err),
                JsErrorClass::TypeError => {
                    sys::napi_create_type_error(raw, js_code, js_message, &mut err)
                }
            })?;
            for (key, value) in extra {
                wake::check(sys::napi_set_named_property(
                    raw,
                    err,
                    key.as_ptr(),
                    string(value)?,
                ))?;
            }
            wake::check(sys::napi_throw(raw, err))
        })()
    };
    if let Err(e) = made {
        return e;
    }
    Error::new(Status::PendingException, message.to_owned())
}

/// Runs the body of a binding function. A Rust panic (a bug) becomes a JS `Error` with code
/// `ERR_DO_PANIC` instead of unwinding into Node; napi-rs's own `catch_unwind` would throw it
/// with code "GenericFailure", so every function of the binding goes through here. Any
/// other error not yet thrown (a napi-rs status) is thrown as `ERR_DO_INTERNAL`.
pub(crate) fn guard<T>(env: Env, body: impl FnOnce() -> Result<T>) -> Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)) {
        Ok(Err(e)) if e.status != Status::PendingException => {
            // A napi-rs or Node-API failure of the binding itself (not one of our thrown
            // errors): it gets a code of the table too.
            Err(throw(
                &env,
                JsErrorClass::Error,
                ErrorCode::Internal,
                &e.reason,
            ))
        }
        Ok(result) => result,
        Err(payload) => {
            let what = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("a panic without a message");
            Err(throw(
                &env,
                JsErrorClass::Error,
                ErrorCode::Panic,
                &format!("durable-facets: internal panic: {what}"),
            ))
        }
    }
}

/// The error taxonomy for JS: `{ [name]: code }` for every `ErrorCode` (lib/errors.js).
#[napi(js_name = "errorCodes")]
pub fn error_codes(env: Env) -> Result<std::collections::HashMap<String, String>> {
    guard(env, move || {
        Ok({
            ErrorCode::ALL
                .iter()
                .map(|c| (c.name().to_owned(), c.as_str().to_owned()))
                .collect()
        })
    })
}

fn with_port<T>(env: &Env, f: impl FnOnce(&mut Port) -> Result<T>) -> Result<T> {
    PORT.with(|p| match p.borrow_mut().as_mut() {
        Some(port) => f(port),
        None => Err(core_error(env, CoreError::NotAttached)),
    })
}

pub(crate) fn tid(env: &Env) -> Result<Tid> {
    with_port(env, |p| Ok(p.tid))
}

unsafe extern "C" fn on_env_teardown(_arg: *mut c_void) {
    // Runs on the owning thread before Node frees its threadsafe functions (cleanup hooks
    // run in reverse order of registration), so closing the inbox first means no other
    // thread can call into a freed function.
    let port = PORT.with(|p| p.borrow_mut().take());
    if let Some(port) = port {
        // What it will never read goes back to whoever's RPC references it may hold.
        HUB.unread(port.inbox.close());
        if port.worker {
            // Only the supervisor learns why a worker died (Node reports running out of
            // memory there, after this hook ran): it ends the thread in the hub, with the
            // reason, when it sees the exit. Nothing can reach this thread meanwhile.
        } else {
            HUB.caller_gone(port.tid);
        }
    }
}

/// Creates this thread's inbox, whose wake-ups call `pump`.
unsafe fn attach(
    env: &Env,
    pump: Unknown<'_>,
) -> Result<(Arc<Inbox>, sys::napi_threadsafe_function)> {
    let raw_env = env.raw();
    let tsfn = wake::create(raw_env, pump.raw())?;
    let inbox = Arc::new(Inbox::new(Box::new(wake::TsfnWaker(tsfn))));
    wake::check(sys::napi_add_env_cleanup_hook(
        raw_env,
        Some(on_env_teardown),
        std::ptr::null_mut(),
    ))?;
    Ok((inbox, tsfn))
}

/// Attaches the calling (main) thread as a caller. Returns its thread id.
#[napi(js_name = "attachCaller")]
pub fn attach_caller(env: Env, pump: Unknown<'_>) -> Result<u32> {
    guard(env, move || {
        if let Some(t) = PORT.with(|p| p.borrow().as_ref().map(|p| p.tid)) {
            return Ok(t);
        }
        let (inbox, tsfn) = unsafe { attach(&env, pump)? };
        let tid = HUB.attach_caller(inbox.clone());
        // A caller keeps the process alive only while it waits for answers.
        unsafe { sys::napi_unref_threadsafe_function(env.raw(), tsfn) };
        PORT.with(|p| {
            *p.borrow_mut() = Some(Port {
                tid,
                inbox,
                tsfn,
                spare: Vec::new(),
                worker: false,
            })
        });
        Ok(tid)
    })
}

/// Attaches a worker thread under the id its supervisor reserved. Returns the runtime id.
#[napi(js_name = "attachWorker")]
pub fn attach_worker(env: Env, pump: Unknown<'_>, tid: u32) -> Result<u32> {
    guard(env, move || {
        let (inbox, tsfn) = unsafe { attach(&env, pump)? };
        PORT.with(|p| {
            *p.borrow_mut() = Some(Port {
                tid,
                inbox: inbox.clone(),
                tsfn,
                spare: Vec::new(),
                worker: true,
            })
        });
        HUB.attach_worker(tid, inbox)
            .map_err(|e| core_error(&env, e))
    })
}

/// Whether this thread's wake-ups keep its event loop alive.
#[napi(js_name = "setRef")]
pub fn set_ref(env: Env, on: bool) -> Result<()> {
    guard(env, move || {
        with_port(&env, |p| {
            unsafe {
                if on {
                    sys::napi_ref_threadsafe_function(env.raw(), p.tsfn);
                } else {
                    sys::napi_unref_threadsafe_function(env.raw(), p.tsfn);
                }
            }
            Ok(())
        })
    })
}

fn drain_port(env: &Env, port: &mut Port) -> Result<Raw> {
    port.inbox.unpark();
    port.inbox.drain_into(&mut port.spare);
    let out = if port.spare.is_empty() {
        let mut v = std::ptr::null_mut();
        unsafe { sys::napi_get_null(env.raw(), &mut v) };
        v
    } else {
        let r = unsafe { deliveries_to_js(env.raw(), &port.spare) };
        port.spare.clear();
        r?
    };
    Ok(Raw(out))
}

/// Everything queued for this thread (see `values::deliveries_to_js`), or null.
#[napi(ts_return_type = "Array<unknown> | null")]
pub fn drain(env: Env) -> Result<Raw> {
    guard(env, move || with_port(&env, |p| drain_port(&env, p)))
}

/// Spins up to `micros` (capped) for deliveries, then drains. Who spins is lib/port.js's
/// choice: worker threads between turns; the main thread only briefly, right after it
/// answered a callback while it awaits an answer. The spin yields its core between bursts,
/// so a thread sharing it still runs (see `Inbox::spin`).
#[napi(js_name = "spinDrain", ts_return_type = "Array<unknown> | null")]
pub fn spin_drain(env: Env, micros: u32) -> Result<Raw> {
    guard(env, move || {
        with_port(&env, |p| {
            p.inbox
                .spin(Duration::from_micros(micros as u64).min(MAX_SPIN));
            drain_port(&env, p)
        })
    })
}

/// Announces that this thread goes back to its event loop. True means deliveries arrived
/// meanwhile and must be drained now.
#[napi]
pub fn park(env: Env) -> Result<bool> {
    guard(env, move || with_port(&env, |p| Ok(p.inbox.park())))
}

#[napi(js_name = "createRuntime")]
pub fn create_runtime(
    env: Env,
    namespaces: Vec<String>,
    isolate: Vec<bool>,
    warm_threads: u32,
    storage: Option<String>,
    sync_full: bool,
    max_running: u32,
) -> Result<u32> {
    guard(env, move || {
        let supervisor = tid(&env)?;
        HUB.create_runtime(
            supervisor,
            RuntimeConfig {
                namespaces,
                isolate,
                warm_threads,
                storage: storage.map(std::path::PathBuf::from),
                sync_full,
                max_running,
            },
        )
        .map_err(|e| core_error(&env, e))
    })
}

/// Ends a runtime; returns the worker thread ids to terminate.
#[napi(js_name = "disposeRuntime")]
pub fn dispose_runtime(env: Env, rt: u32) -> Result<Vec<u32>> {
    guard(env, move || Ok(HUB.dispose_runtime(rt)))
}

/// File work still waiting for its turn on threads of its own (process-wide): `dispose()`
/// resolves once none is left.
#[napi(js_name = "fileWorkPending")]
pub fn file_work_pending(env: Env) -> Result<u32> {
    guard(env, move || {
        Ok(durable_facets_core::effects::waiting_file_work() as u32)
    })
}

#[napi(js_name = "reserveThread")]
pub fn reserve_thread(env: Env, rt: u32) -> Result<u32> {
    guard(env, move || {
        HUB.reserve_thread(rt)
            .map(|t| t.unwrap_or(0))
            .map_err(|e| core_error(&env, e))
    })
}

/// This thread tore its stopped instance down: true when it stays (it may host again at
/// once), false when it must exit.
#[napi]
pub fn recycle(env: Env) -> Result<bool> {
    guard(env, move || Ok(HUB.recycle(tid(&env)?)))
}

/// This idle thread waited its time in the pool: true when it must exit now.
#[napi(js_name = "leavePool")]
pub fn leave_pool(env: Env) -> Result<bool> {
    guard(env, move || Ok(HUB.leave_pool(tid(&env)?)))
}

/// The supervisor is about to terminate thread `tid`: true when it must (it had not come
/// back from stopping its instance, and now never will be reused).
#[napi]
pub fn condemn(env: Env, tid: u32) -> Result<bool> {
    guard(env, move || Ok(HUB.condemn(tid)))
}

/// The supervisor saw a worker exit. `reason` (an error payload) says why when the
/// supervisor knows it (out of memory); calls addressed to the thread reject with it.
#[napi(js_name = "threadExited")]
pub fn thread_exited(env: Env, tid: u32, reason: Option<Unknown<'_>>) -> Result<()> {
    guard(env, move || {
        let reason = match reason {
            Some(r) => Some(unsafe { read_payload(env.raw(), r.raw())? }),
            None => None,
        };
        HUB.thread_died(tid, reason);
        Ok(())
    })
}

/// Sends an RPC to object `idHex` of namespace `ns`. Returns the call id.
#[napi]
pub fn call(
    env: Env,
    rt: u32,
    ns: u32,
    id_hex: Unknown<'_>,
    name: Option<String>,
    method: Unknown<'_>,
    payload: Unknown<'_>,
) -> Result<f64> {
    guard(env, move || {
        let raw = env.raw();
        let (id_hex, method, payload) = unsafe {
            (
                read_string(raw, id_hex.raw())?,
                read_string(raw, method.raw())?,
                read_payload(raw, payload.raw())?,
            )
        };
        let id = ids::parse_hex(&id_hex).map_err(|e| core_error(&env, e))?;
        let from = tid(&env)?;
        HUB.call(from, rt, ns, id, name, method, payload)
            .map(|c| c as f64)
            .map_err(|e| core_error(&env, e))
    })
}

/// This thread and the instance it runs now, as `[tid, instance]` (RPC references name
/// their owner so), or null when it hosts nothing.
#[napi(js_name = "instanceToken", ts_return_type = "[number, number] | null")]
pub fn instance_token(env: Env) -> Result<Option<Vec<f64>>> {
    guard(env, move || {
        let me = tid(&env)?;
        Ok(HUB.instance_of(me).map(|i| vec![me as f64, i as f64]))
    })
}

/// Calls what instance `instance` of thread `owner` exported by reference. Returns the
/// call id.
#[napi(js_name = "refCall")]
pub fn ref_call(
    env: Env,
    owner: u32,
    instance: f64,
    method: Unknown<'_>,
    payload: Unknown<'_>,
) -> Result<f64> {
    guard(env, move || {
        let raw = env.raw();
        let (method, payload) = unsafe {
            (
                read_string(raw, method.raw())?,
                read_payload(raw, payload.raw())?,
            )
        };
        let from = tid(&env)?;
        HUB.ref_call(from, owner, instance as u64, method, payload)
            .map(|c| c as f64)
            .map_err(|e| core_error(&env, e))
    })
}

/// This thread decoded a reference to export `id` of instance `instance` of thread `owner`
/// (the hub lets it go for this thread if the thread dies holding it).
#[napi(js_name = "refImported")]
pub fn ref_imported(env: Env, owner: u32, instance: f64, id: f64) -> Result<()> {
    guard(env, move || {
        let me = tid(&env)?;
        HUB.ref_imported(me, owner, instance as u64, id as u64);
        Ok(())
    })
}

/// Lets go of a reference exported by instance `instance` of thread `owner`.
#[napi(js_name = "refRelease")]
pub fn ref_release(env: Env, owner: u32, instance: f64, method: String) -> Result<()> {
    guard(env, move || {
        let me = tid(&env)?;
        HUB.ref_release(me, owner, instance as u64, method);
        Ok(())
    })
}

/// Answers call `call` with `status` (0 ok, 1 error, 2 error that resets the object).
#[napi]
pub fn reply(env: Env, call: f64, status: u32, payload: Unknown<'_>) -> Result<()> {
    guard(env, move || {
        let payload = unsafe { read_payload(env.raw(), payload.raw())? };
        let status = match status {
            0 => ReplyStatus::Ok,
            1 => ReplyStatus::Error,
            _ => ReplyStatus::Reset,
        };
        let from = tid(&env)?;
        HUB.reply(from, call as u64, status, payload);
        Ok(())
    })
}

/// This thread's instance is broken: reject every call addressed to it with `payload`.
#[napi(js_name = "breakSelf")]
pub fn break_self(env: Env, payload: Unknown<'_>) -> Result<()> {
    guard(env, move || {
        let payload = unsafe { read_payload(env.raw(), payload.raw())? };
        HUB.break_thread(tid(&env)?, payload);
        Ok(())
    })
}

/// The supervisor's CPU watchdog: thread `tid` ran one synchronous stretch for too long.
/// Its instance breaks with `payload`; the supervisor terminates the thread.
#[napi(js_name = "breakThread")]
pub fn break_thread(env: Env, tid: u32, payload: Unknown<'_>) -> Result<()> {
    guard(env, move || {
        let payload = unsafe { read_payload(env.raw(), payload.raw())? };
        HUB.break_for_termination(tid, payload);
        Ok(())
    })
}

/// 0 when this thread retired (it must end now), otherwise ms until it may ask again.
#[napi(js_name = "tryRetire")]
pub fn try_retire(env: Env, idle_ms: f64) -> Result<f64> {
    guard(env, move || {
        Ok(HUB.try_retire(tid(&env)?, idle_ms.max(0.0) as u64) as f64)
    })
}

/// Testing (`evictDurableObject`): retires this thread's instance as idle eviction would,
/// answering `call` with `payload` at the same time. 0 when it retired (it must tear down
/// now), otherwise ms until it may ask again.
#[napi(js_name = "retireAnswering")]
pub fn retire_answering(env: Env, call: f64, payload: Unknown<'_>) -> Result<f64> {
    guard(env, move || {
        let payload = unsafe { read_payload(env.raw(), payload.raw())? };
        Ok(HUB.retire_answering(tid(&env)?, call as u64, payload) as f64)
    })
}

#[napi(js_name = "idFromName")]
pub fn id_from_name(env: Env, rt: u32, ns: u32, name: String) -> Result<String> {
    guard(env, move || {
        let key = HUB.namespace_key(rt, ns).map_err(|e| core_error(&env, e))?;
        Ok(ids::to_hex(&key.id_from_name(&name)))
    })
}

#[napi(js_name = "newUniqueId")]
pub fn new_unique_id(env: Env, rt: u32, ns: u32) -> Result<String> {
    guard(env, move || {
        let key = HUB.namespace_key(rt, ns).map_err(|e| core_error(&env, e))?;
        key.new_unique_id()
            .map(|id| ids::to_hex(&id))
            .map_err(|e| core_error(&env, e))
    })
}

/// Validates a 64-hex id for namespace `ns`; returns it in lowercase.
#[napi(js_name = "parseId")]
pub fn parse_id(env: Env, rt: u32, ns: u32, text: String) -> Result<String> {
    guard(env, move || {
        let key = HUB.namespace_key(rt, ns).map_err(|e| core_error(&env, e))?;
        key.parse(&text)
            .map(|id| ids::to_hex(&id))
            .map_err(|e| core_error(&env, e))
    })
}

/// For tests of the panic guard: a Rust panic must surface as a JS error.
#[napi(js_name = "panicForTest")]
pub fn panic_for_test(env: Env) -> Result<()> {
    guard(env, || panic!("deliberate panic for test"))
}

/// `rt.inspect`: `[fullName, facetId | null, databaseSize, running]` per database, root first.
#[napi(
    js_name = "inspectObject",
    ts_return_type = "Array<[string, number | null, number, boolean]>"
)]
pub fn inspect_object(
    env: Env,
    rt: u32,
    ns: u32,
    id_hex: String,
) -> Result<Vec<durable_facets_core::hub::inspect::FacetInfo>> {
    guard(env, move || {
        let id = ids::parse_hex(&id_hex).map_err(|e| core_error(&env, e))?;
        HUB.inspect(rt, ns, id).map_err(|e| core_error(&env, e))
    })
}

/// `rt.listIds`: ids (hex) of the namespace's objects that have storage.
#[napi(js_name = "listIds")]
pub fn list_ids(env: Env, rt: u32, ns: u32) -> Result<Vec<String>> {
    guard(env, move || {
        HUB.list_ids(rt, ns).map_err(|e| core_error(&env, e))
    })
}
