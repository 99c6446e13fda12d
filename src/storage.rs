//! Storage calls from the instance's own thread: SQL, KV, transactions, alarm metadata.
//! Each locks the object's database (shared with the hub) for the duration of one call.
//!
//! Per-call statistics (rows read/written, whether an implicit transaction was opened, the
//! cursor id) are written into a Float64Array the JS side registered once, instead of
//! being returned in a fresh object on every call.

use std::borrow::Cow;
use std::cell::RefCell;
use std::ptr;
use std::sync::MutexGuard;

use napi::bindgen_prelude::*;
use napi::{sys, Env};
use napi_derive::napi;

use durable_facets_core::hub::{SharedDb, StoredAlarm, HUB};
use durable_facets_core::storage::db::{Bind, Cell, Database, Outcome, Row, StorageError};
use durable_facets_core::storage::kv::ListRange;

use crate::values::{read_string, typed_array_bytes, Raw};
use crate::wake::check;
use crate::{core_error, guard, throw, throw_with, tid, JsErrorClass};
use durable_facets_core::error::ErrorCode;
use durable_facets_core::storage::sql_error;

/// Slots of the statistics array.
const STAT_ROWS_READ: usize = 0;
const STAT_ROWS_WRITTEN: usize = 1;
const STAT_OPENED: usize = 2;
const STAT_CURSOR: usize = 3;
const STAT_ROWS: usize = 4;
const STAT_LEN: usize = 5;

/// Rows fetched per native call; the cursor asks for more as it is read.
const BATCH_ROWS: u32 = 256;

struct ThreadStorage {
    db: SharedDb,
    /// This thread (the database's owner while its instance runs).
    tid: u32,
    stats: *mut f64,
    /// A JS-owned buffer that small KV values are copied into (no Buffer per get).
    scratch: *mut u8,
    scratch_len: usize,
    /// Keep `stats` and `scratch` alive while this instance's storage is open.
    refs: [sys::napi_ref; 2],
}

thread_local! {
    static STORAGE: RefCell<Option<ThreadStorage>> = const { RefCell::new(None) };
}

/// A storage error as JS sees it; SQL errors also carry `sqliteCode` (`"SQLITE_CONSTRAINT"`,
/// …) so no JS has to parse a message to classify them.
fn storage_error(env: &Env, e: StorageError) -> Error {
    let code = match &e {
        StorageError::Closed => ErrorCode::StorageClosed,
        e if e.is_critical() => ErrorCode::SqlCritical,
        StorageError::Sql { .. } => ErrorCode::Sql,
        _ => ErrorCode::Storage,
    };
    let sqlite = match &e {
        StorageError::Sql { code, .. } => Some(sql_error::code_name(*code)),
        _ => None,
    };
    let extra: &[(&std::ffi::CStr, &str)] = match &sqlite {
        Some(name) => &[(c"sqliteCode", name)],
        None => &[],
    };
    throw_with(env, JsErrorClass::Error, code, &e.to_string(), extra)
}

/// Runs `f` with this thread's database locked, then publishes the transaction flag.
fn with_db<T>(
    env: &Env,
    f: impl FnOnce(&mut Database, *mut f64) -> std::result::Result<T, StorageError>,
) -> Result<T> {
    with_db_scratch(env, |db, stats, _| f(db, stats))
}

/// `with_db`, also lending the registered scratch buffer.
fn with_db_scratch<T>(
    env: &Env,
    f: impl FnOnce(&mut Database, *mut f64, &mut [u8]) -> std::result::Result<T, StorageError>,
) -> Result<T> {
    STORAGE.with(|s| {
        let s = s.borrow();
        let Some(ts) = s.as_ref() else {
            return Err(throw(
                env,
                JsErrorClass::Error,
                ErrorCode::Internal,
                "Durable Object storage is not open on this thread.",
            ));
        };
        let mut db: MutexGuard<'_, Database> = match ts.db.lock_for(ts.tid) {
            Ok(db) => db,
            Err(e) => return Err(storage_error(env, e)),
        };
        let scratch = unsafe { std::slice::from_raw_parts_mut(ts.scratch, ts.scratch_len) };
        let r = f(&mut db, ts.stats, scratch);
        // 1: a write opened the implicit transaction (close the output gate); 2: only a
        // read transaction was opened (end it with the turn); 0: nothing new.
        let opened = if db.take_opened() {
            1.0
        } else if db.take_read_opened() {
            2.0
        } else {
            0.0
        };
        unsafe { *ts.stats.add(STAT_OPENED) = opened };
        r.map_err(|e| storage_error(env, e))
    })
}

fn publish(stats: *mut f64, o: &Outcome) {
    unsafe {
        *stats.add(STAT_ROWS_READ) = o.rows_read as f64;
        *stats.add(STAT_ROWS_WRITTEN) = o.rows_written as f64;
        *stats.add(STAT_CURSOR) = o.cursor.map_or(-1.0, |c| c as f64);
        *stats.add(STAT_ROWS) = o.rows as f64;
    }
}

/// Keeps a typed array alive until `storage_close`; returns its reference, data pointer
/// and length.
unsafe fn pin(
    env: sys::napi_env,
    value: sys::napi_value,
) -> napi::Result<(sys::napi_ref, *mut u8, usize)> {
    let mut reference = ptr::null_mut();
    check(sys::napi_create_reference(env, value, 1, &mut reference))?;
    let (data, len) = typed_array_bytes(env, value)?;
    Ok((reference, data, len))
}

/// Opens this thread's database and registers the statistics array (Float64Array) and the
/// value scratch buffer (Uint8Array). Returns the statement epoch (see `Database::epoch`).
#[napi(js_name = "storageOpen")]
pub fn storage_open(env: Env, stats: Unknown<'_>, scratch: Unknown<'_>) -> Result<u32> {
    guard(env, move || {
        let me = tid(&env)?;
        let db = HUB.open_storage(me).map_err(|e| core_error(&env, e))?;
        storage_close(env)?;
        let (stats_ref, stats_ptr, stats_len) =
            unsafe { pin(env.raw(), napi::JsValue::raw(&stats))? };
        let (scratch_ref, scratch, scratch_len) =
            unsafe { pin(env.raw(), napi::JsValue::raw(&scratch))? };
        if stats_len < STAT_LEN * 8 {
            return Err(Error::new(Status::InvalidArg, "stats array too short"));
        }
        let epoch = db.lock().epoch();
        STORAGE.with(|s| {
            *s.borrow_mut() = Some(ThreadStorage {
                db,
                tid: me,
                stats: stats_ptr as *mut f64,
                scratch,
                scratch_len,
                refs: [stats_ref, scratch_ref],
            })
        });
        Ok(epoch)
    })
}

/// Forgets this thread's database (its instance stopped; the hub fenced and closed it):
/// a recycled thread keeps no storage handle of its previous instance.
#[napi(js_name = "storageClose")]
pub fn storage_close(env: Env) -> Result<()> {
    guard(env, move || {
        if let Some(old) = STORAGE.with(|s| s.borrow_mut().take()) {
            for r in old.refs {
                unsafe { check(sys::napi_delete_reference(env.raw(), r))? };
            }
        }
        Ok(())
    })
}

#[napi(js_name = "sqlPrepare")]
pub fn sql_prepare(env: Env, sql: String) -> Result<u32> {
    guard(env, move || with_db(&env, |db, _| db.prepare(&sql)))
}

/// Column names of a single-statement program, or null for a multi-statement one.
#[napi(js_name = "sqlColumns")]
pub fn sql_columns(env: Env, handle: u32) -> Result<Option<Vec<String>>> {
    guard(env, move || with_db(&env, |db, _| db.columns(handle)))
}

/// Column names of the last statement of the latest multi-statement exec.
#[napi(js_name = "sqlLastColumns")]
pub fn sql_last_columns(env: Env) -> Result<Vec<String>> {
    guard(env, move || {
        with_db(&env, |db, _| Ok(db.last_columns().to_vec()))
    })
}

#[napi(js_name = "sqlFinalize")]
pub fn sql_finalize(env: Env, handle: u32) -> Result<()> {
    guard(env, move || {
        with_db(&env, |db, _| {
            db.finalize(handle);
            Ok(())
        })
    })
}

unsafe fn cell_to_js(env: sys::napi_env, cell: Cell<'_>) -> napi::Result<sys::napi_value> {
    let mut v = ptr::null_mut();
    match cell {
        Cell::Null => check(sys::napi_get_null(env, &mut v))?,
        Cell::Integer(i) => check(sys::napi_create_double(env, i as f64, &mut v))?,
        Cell::Real(f) => check(sys::napi_create_double(env, f, &mut v))?,
        Cell::Text(t) => check(sys::napi_create_string_utf8(
            env,
            t.as_ptr().cast(),
            t.len() as isize,
            &mut v,
        ))?,
        Cell::Blob(b) => {
            let mut data = ptr::null_mut();
            check(sys::napi_create_arraybuffer(
                env,
                b.len(),
                &mut data,
                &mut v,
            ))?;
            if !b.is_empty() {
                ptr::copy_nonoverlapping(b.as_ptr(), data as *mut u8, b.len());
            }
        }
    }
    Ok(v)
}

/// Collects rows into one flat JS array (`width` cells per row), created on the first row
/// (most statements return none).
struct RowSink {
    env: sys::napi_env,
    array: sys::napi_value,
    next: u32,
}

impl RowSink {
    fn new(env: sys::napi_env) -> RowSink {
        RowSink {
            env,
            array: ptr::null_mut(),
            next: 0,
        }
    }

    fn push(&mut self, row: &Row) -> std::result::Result<(), String> {
        unsafe {
            if self.array.is_null() {
                check(sys::napi_create_array(self.env, &mut self.array))
                    .map_err(|e| e.reason.clone())?;
            }
            for i in 0..row.width() {
                let v = cell_to_js(self.env, row.cell(i)).map_err(|e| e.reason.clone())?;
                check(sys::napi_set_element(self.env, self.array, self.next, v))
                    .map_err(|e| e.reason.clone())?;
                self.next += 1;
            }
        }
        Ok(())
    }

    fn finish(self) -> Raw {
        if self.array.is_null() {
            let mut v = ptr::null_mut();
            unsafe { sys::napi_get_null(self.env, &mut v) };
            Raw(v)
        } else {
            Raw(self.array)
        }
    }
}

/// A binding value as workerd converts it: numbers bind as REAL, booleans and other objects
/// as their string form, ArrayBuffers and views as BLOBs.
unsafe fn read_bind<'a>(env: sys::napi_env, v: sys::napi_value) -> napi::Result<Bind<'a>> {
    let mut ty = 0;
    check(sys::napi_typeof(env, v, &mut ty))?;
    Ok(match ty {
        sys::ValueType::napi_number => {
            let mut f = 0.0;
            check(sys::napi_get_value_double(env, v, &mut f))?;
            Bind::Real(f)
        }
        sys::ValueType::napi_string => Bind::Text(Cow::Owned(read_string(env, v)?)),
        sys::ValueType::napi_null | sys::ValueType::napi_undefined => Bind::Null,
        sys::ValueType::napi_boolean => {
            let mut b = false;
            check(sys::napi_get_value_bool(env, v, &mut b))?;
            Bind::Text(Cow::Borrowed(if b { "true" } else { "false" }))
        }
        sys::ValueType::napi_bigint => {
            return Err(Error::new(
                Status::BigintExpected,
                "Cannot convert a BigInt value to a number",
            ));
        }
        _ => {
            let (mut is_ab, mut is_ta, mut is_dv) = (false, false, false);
            check(sys::napi_is_arraybuffer(env, v, &mut is_ab))?;
            check(sys::napi_is_typedarray(env, v, &mut is_ta))?;
            check(sys::napi_is_dataview(env, v, &mut is_dv))?;
            let mut data: *mut std::ffi::c_void = ptr::null_mut();
            let mut len = 0usize;
            if is_ab {
                check(sys::napi_get_arraybuffer_info(env, v, &mut data, &mut len))?;
            } else if is_ta {
                let (bytes, n) = typed_array_bytes(env, v)?;
                data = bytes.cast();
                len = n;
            } else if is_dv {
                let (mut ab, mut off) = (ptr::null_mut(), 0usize);
                check(sys::napi_get_dataview_info(
                    env, v, &mut len, &mut data, &mut ab, &mut off,
                ))?;
            } else {
                let mut s = ptr::null_mut();
                check(sys::napi_coerce_to_string(env, v, &mut s))?;
                return Ok(Bind::Text(Cow::Owned(read_string(env, s)?)));
            }
            let bytes: &'a [u8] = if len == 0 || data.is_null() {
                &[]
            } else {
                std::slice::from_raw_parts(data as *const u8, len)
            };
            Bind::Blob(bytes)
        }
    })
}

const MAX_ARGS: usize = 128;

/// `sqlExec(handle, ...bindings)`, written against raw Node-API: it runs once per
/// statement (100,000 times in a bulk insert), so it takes its bindings as plain arguments
/// (no array) and converts them straight from `argv`.
unsafe extern "C" fn sql_exec_raw(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    let js = Env::from_raw(env);
    guard(js, || {
        sql_exec_inner(env, info).map_err(|e| {
            if e.status == Status::BigintExpected {
                // A BigInt binding: workerd's TypeError text, with our code.
                throw(
                    &js,
                    JsErrorClass::TypeError,
                    ErrorCode::InvalidArgument,
                    &e.reason,
                )
            } else {
                e
            }
        })
    })
    // Err: the exception is thrown; Node-API ignores the return value then.
    .unwrap_or(ptr::null_mut())
}

unsafe fn sql_exec_inner(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> napi::Result<sys::napi_value> {
    let mut argc = MAX_ARGS;
    let mut argv = [ptr::null_mut(); MAX_ARGS];
    check(sys::napi_get_cb_info(
        env,
        info,
        &mut argc,
        argv.as_mut_ptr(),
        ptr::null_mut(),
        ptr::null_mut(),
    ))?;
    let mut heap_args = Vec::new();
    let args: &[sys::napi_value] = if argc > MAX_ARGS {
        heap_args.resize(argc, ptr::null_mut());
        check(sys::napi_get_cb_info(
            env,
            info,
            &mut argc,
            heap_args.as_mut_ptr(),
            ptr::null_mut(),
            ptr::null_mut(),
        ))?;
        &heap_args
    } else {
        &argv[..argc]
    };
    let Some((&handle, bindings)) = args.split_first() else {
        return Err(Error::new(
            Status::InvalidArg,
            "sqlExec needs a statement handle",
        ));
    };
    let mut h = 0u32;
    check(sys::napi_get_value_uint32(env, handle, &mut h))?;
    let mut binds = Vec::with_capacity(bindings.len());
    for &v in bindings {
        binds.push(read_bind(env, v)?);
    }
    let napi_env = Env::from_raw(env);
    let mut sink = RowSink::new(env);
    with_db(&napi_env, |db, stats| {
        let o = db.execute(h, &binds, BATCH_ROWS, &mut |row| sink.push(row))?;
        publish(stats, &o);
        Ok(o)
    })?;
    Ok(sink.finish().0)
}

/// Returns this thread's `sqlExec(handle, ...bindings)`: the first batch of rows as a flat
/// array, or null when there are none; statistics go to the registered array.
#[napi(
    js_name = "sqlExecFunction",
    ts_return_type = "(handle: number, ...bindings: unknown[]) => Array<unknown> | null"
)]
pub fn sql_exec_function(env: Env) -> Result<Raw> {
    guard(env, move || {
        let mut f = ptr::null_mut();
        let name = "sqlExec";
        unsafe {
            check(sys::napi_create_function(
                env.raw(),
                name.as_ptr().cast(),
                name.len() as isize,
                Some(sql_exec_raw),
                ptr::null_mut(),
                &mut f,
            ))?;
        }
        Ok(Raw(f))
    })
}

/// The next batch of an open cursor (see `sqlExec`).
#[napi(js_name = "sqlNext", ts_return_type = "Array<unknown> | null")]
pub fn sql_next(env: Env, cursor: u32) -> Result<Raw> {
    guard(env, move || {
        let mut sink = RowSink::new(env.raw());
        let outcome = with_db(&env, |db, stats| {
            let o = db.cursor_next(cursor, BATCH_ROWS, &mut |row| sink.push(row))?;
            publish(stats, &o);
            Ok(o)
        })?;
        let _ = outcome;
        Ok(sink.finish())
    })
}

#[napi(js_name = "sqlCloseCursor")]
pub fn sql_close_cursor(env: Env, cursor: u32) -> Result<()> {
    guard(env, move || {
        with_db(&env, |db, _| {
            db.cursor_close(cursor);
            Ok(())
        })
    })
}

#[napi(js_name = "sqlDatabaseSize")]
pub fn sql_database_size(env: Env) -> Result<f64> {
    guard(env, move || {
        with_db(&env, |db, _| db.database_size().map(|s| s as f64))
    })
}

#[napi(js_name = "txnCommit")]
pub fn txn_commit(env: Env) -> Result<()> {
    guard(env, move || with_db(&env, |db, _| db.commit()))
}

#[napi(js_name = "txnSavepoint")]
pub fn txn_savepoint(env: Env) -> Result<u32> {
    guard(env, move || with_db(&env, |db, _| db.savepoint()))
}

#[napi(js_name = "txnRelease")]
pub fn txn_release(env: Env, depth: u32) -> Result<()> {
    guard(env, move || with_db(&env, |db, _| db.release(depth)))
}

#[napi(js_name = "txnRollbackTo")]
pub fn txn_rollback_to(env: Env, depth: u32) -> Result<()> {
    guard(env, move || with_db(&env, |db, _| db.rollback_to(depth)))
}

unsafe fn buffer(env: sys::napi_env, bytes: &[u8]) -> napi::Result<sys::napi_value> {
    let mut data = ptr::null_mut();
    let mut v = ptr::null_mut();
    check(sys::napi_create_buffer_copy(
        env,
        bytes.len(),
        bytes.as_ptr().cast(),
        &mut data,
        &mut v,
    ))?;
    Ok(v)
}

/// The stored bytes of `key`, or undefined.
#[napi(js_name = "kvGet", ts_return_type = "Buffer | undefined")]
pub fn kv_get(env: Env, key: String) -> Result<Raw> {
    guard(env, move || {
        let raw_env = env.raw();
        let mut out: napi::Result<sys::napi_value> = Ok(ptr::null_mut());
        with_db(&env, |db, _| {
            db.kv_get(&key, &mut |bytes| out = unsafe { buffer(raw_env, bytes) })
        })?;
        let mut v = out?;
        if v.is_null() {
            unsafe { sys::napi_get_undefined(raw_env, &mut v) };
        }
        Ok(Raw(v))
    })
}

/// Copies the value of `key` into the scratch buffer. Returns its length, -1 when the key
/// is missing, -2 when the value does not fit (then use `kvGet`).
#[napi(js_name = "kvGetInto")]
pub fn kv_get_into(env: Env, key: Unknown<'_>) -> Result<i32> {
    guard(env, move || {
        let key = unsafe { read_string(env.raw(), napi::JsValue::raw(&key))? };
        with_db_scratch(&env, |db, _, scratch| {
            let mut len = -1i32;
            db.kv_get(&key, &mut |bytes| {
                len = if bytes.len() <= scratch.len() {
                    scratch[..bytes.len()].copy_from_slice(bytes);
                    bytes.len() as i32
                } else {
                    -2
                };
            })?;
            Ok(len)
        })
    })
}

#[napi(js_name = "kvPut")]
pub fn kv_put(env: Env, key: Unknown<'_>, value: &[u8]) -> Result<()> {
    guard(env, move || {
        let key = unsafe { read_string(env.raw(), napi::JsValue::raw(&key))? };
        with_db(&env, |db, _| db.kv_put(&key, value))
    })
}

#[napi(js_name = "kvDelete")]
pub fn kv_delete(env: Env, key: String) -> Result<bool> {
    guard(env, move || with_db(&env, |db, _| db.kv_delete(&key)))
}

/// Entries as a flat array `[key, bytes, key, bytes, …]`.
#[napi(js_name = "kvList", ts_return_type = "Array<string | Buffer>")]
pub fn kv_list(
    env: Env,
    start: String,
    end: Option<String>,
    prefix: Option<String>,
    reverse: bool,
    limit: f64,
) -> Result<Raw> {
    guard(env, move || {
        let raw_env = env.raw();
        let mut array = ptr::null_mut();
        unsafe { check(sys::napi_create_array(raw_env, &mut array))? };
        let mut i = 0u32;
        let mut failure: Option<Error> = None;
        let range = ListRange {
            start: &start,
            end: end.as_deref(),
            prefix: prefix.as_deref(),
            reverse,
            limit: if limit >= 0.0 {
                Some(limit as u64)
            } else {
                None
            },
        };
        with_db(&env, |db, _| {
            db.kv_list(&range, &mut |k, v| unsafe {
                if failure.is_some() {
                    return;
                }
                let mut key = ptr::null_mut();
                let r = check(sys::napi_create_string_utf8(
                    raw_env,
                    k.as_ptr().cast(),
                    k.len() as isize,
                    &mut key,
                ))
                .and_then(|_| check(sys::napi_set_element(raw_env, array, i, key)))
                .and_then(|_| buffer(raw_env, v))
                .and_then(|b| check(sys::napi_set_element(raw_env, array, i + 1, b)));
                if let Err(e) = r {
                    failure = Some(e);
                }
                i += 2;
            })
        })?;
        if let Some(e) = failure {
            return Err(e);
        }
        Ok(Raw(array))
    })
}

/// The alarm time in ns since the epoch, or null.
#[napi(js_name = "alarmGet")]
pub fn alarm_get(env: Env) -> Result<Option<f64>> {
    guard(env, move || {
        with_db(&env, |db, _| db.get_alarm().map(|t| t.map(|v| v as f64)))
    })
}

#[napi(js_name = "alarmSet")]
pub fn alarm_set(env: Env, time_ns: Option<f64>) -> Result<()> {
    guard(env, move || {
        if time_ns.is_some() {
            // Refused before anything is written: the namespace's alarm index is unusable.
            HUB.alarm_index_check(tid(&env)?)
                .map_err(|e| core_error(&env, e))?;
        }
        with_db(&env, |db, _| db.set_alarm(time_ns.map(|t| t as i64)))
    })
}

/// Empties the database (and rolls back the open transaction). Returns the new epoch.
#[napi(js_name = "storageDeleteAll")]
pub fn storage_delete_all(env: Env) -> Result<u32> {
    guard(env, move || {
        let epoch = with_db(&env, |db, _| {
            db.delete_all()?;
            Ok(db.epoch())
        })?;
        // The connection was reopened: abort must interrupt the new one.
        STORAGE.with(|s| {
            if let Some(ts) = s.borrow().as_ref() {
                let db = ts.db.lock();
                ts.db.refresh_interrupt(&db);
            }
        });
        Ok(epoch)
    })
}

/// This object committed a new alarm (`time_ns` null: deleted); see `Hub::alarm_changed`.
#[napi(js_name = "alarmChanged")]
pub fn alarm_changed(env: Env, time_ns: Option<f64>, name: Option<String>) -> Result<()> {
    guard(env, move || {
        HUB.alarm_changed(tid(&env)?, time_ns.map(|t| t as i64), name)
            .map_err(|e| core_error(&env, e))
    })
}

/// Alarms recorded in the namespaces' indexes: `[nsIndex, idHex, name | null, timeMs]`.
#[napi(
    js_name = "storedAlarms",
    ts_return_type = "Array<[number, string, string | null, number]>"
)]
pub fn stored_alarms(env: Env, rt: u32) -> Result<Vec<StoredAlarm>> {
    guard(env, move || {
        HUB.stored_alarms(rt).map_err(|e| core_error(&env, e))
    })
}

/// Why namespaces' alarm indexes are unusable (one message per namespace, naming the file).
#[napi(js_name = "alarmIndexErrors")]
pub fn alarm_index_errors(env: Env, rt: u32) -> Result<Vec<String>> {
    guard(env, move || {
        HUB.alarm_index_errors(rt).map_err(|e| core_error(&env, e))
    })
}
