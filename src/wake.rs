//! Wake-ups for parked JS threads: one Node threadsafe function per attached thread, whose
//! JS callback is that thread's pump.

use std::ffi::c_void;
use std::ptr;

use napi::sys;

use durable_facets_core::inbox::Waker;

pub struct TsfnWaker(pub sys::napi_threadsafe_function);

// The threadsafe function exists to be called from any thread; the inbox guarantees no call
// happens after the owning thread closed it (see `Inbox::push`).
unsafe impl Send for TsfnWaker {}
unsafe impl Sync for TsfnWaker {}

impl Waker for TsfnWaker {
    fn wake(&self) {
        unsafe {
            sys::napi_call_threadsafe_function(
                self.0,
                ptr::null_mut(),
                sys::ThreadsafeFunctionCallMode::nonblocking,
            );
        }
    }
}

unsafe extern "C" fn call_pump(
    env: sys::napi_env,
    js_callback: sys::napi_value,
    _context: *mut c_void,
    _data: *mut c_void,
) {
    if env.is_null() || js_callback.is_null() {
        return; // the environment is tearing down
    }
    let mut undefined = ptr::null_mut();
    let mut result = ptr::null_mut();
    sys::napi_get_undefined(env, &mut undefined);
    // The pump catches its own errors; should one escape, Node reports it as uncaught.
    sys::napi_call_function(env, undefined, js_callback, 0, ptr::null(), &mut result);
}

/// Creates the threadsafe function that calls `pump` on the current thread.
///
/// # Safety
/// `env` and `pump` must be valid for the current call.
pub unsafe fn create(
    env: sys::napi_env,
    pump: sys::napi_value,
) -> napi::Result<sys::napi_threadsafe_function> {
    let mut name = ptr::null_mut();
    let label = "durable-facets:pump";
    check(sys::napi_create_string_utf8(
        env,
        label.as_ptr().cast(),
        label.len() as isize,
        &mut name,
    ))?;
    let mut tsfn = ptr::null_mut();
    check(sys::napi_create_threadsafe_function(
        env,
        pump,
        ptr::null_mut(),
        name,
        0,
        1,
        ptr::null_mut(),
        None,
        ptr::null_mut(),
        Some(call_pump),
        &mut tsfn,
    ))?;
    Ok(tsfn)
}

pub fn check(status: sys::napi_status) -> napi::Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(napi::Error::new(
            napi::Status::GenericFailure,
            format!("Node-API call failed with status {status}"),
        ))
    }
}
