//! WebSockets from JS (lib/websocket.js): thin wrappers over the hub's socket registry
//! (core/src/sockets.rs, core/src/hub_sockets.rs). Ends are numbers (below 2^53).

use napi::bindgen_prelude::*;
use napi::{Env, JsValue};
use napi_derive::napi;

use durable_facets_core::hub::HUB;
use durable_facets_core::inbox::Payload;
use durable_facets_core::sockets::Event;

use crate::values::read_payload;
use crate::{core_error, guard, tid};

/// `new WebSocketPair()`: the first end (the second is `end + 1`).
#[napi(js_name = "wsPair")]
pub fn ws_pair(env: Env) -> Result<f64> {
    guard(env, move || {
        HUB.ws_pair(tid(&env)?)
            .map(|e| e as f64)
            .map_err(|e| core_error(&env, e))
    })
}

/// Sends a message (a string: text; bytes: binary) from end `end`.
#[napi(js_name = "wsSend")]
pub fn ws_send(env: Env, end: f64, data: Unknown<'_>) -> Result<()> {
    guard(env, move || {
        let event = match unsafe { read_payload(env.raw(), data.raw())? } {
            Payload::Text(t) => Event::Text(t),
            Payload::Bytes(b) => Event::Binary(b),
        };
        HUB.ws_send(end as u64, event);
        Ok(())
    })
}

/// Sends a Close from end `end` (`code` 0: without a body).
#[napi(js_name = "wsClose")]
pub fn ws_close(env: Env, end: f64, code: u32, reason: String) -> Result<()> {
    guard(env, move || {
        HUB.ws_send(
            end as u64,
            Event::Close {
                code: code as u16,
                reason,
                clean: true,
            },
        );
        Ok(())
    })
}

/// `accept()`: this thread receives end `end`'s events. False when it cannot.
#[napi(js_name = "wsAccept")]
pub fn ws_accept(env: Env, end: f64) -> Result<bool> {
    guard(env, move || {
        HUB.ws_accept(tid(&env)?, end as u64)
            .map_err(|e| core_error(&env, e))
    })
}

/// `ctx.acceptWebSocket(ws, tags)` by the object this thread hosts.
#[napi(js_name = "wsHibernate")]
pub fn ws_hibernate(env: Env, end: f64, name: Option<String>, tags: Vec<String>) -> Result<()> {
    guard(env, move || {
        HUB.ws_hibernate(tid(&env)?, end as u64, name, tags)
            .map_err(|e| core_error(&env, e))
    })
}

/// End `end` leaves this thread in a `Response`.
#[napi(js_name = "wsRelease")]
pub fn ws_release(env: Env, end: f64) -> Result<()> {
    guard(env, move || {
        HUB.ws_release(end as u64);
        Ok(())
    })
}

/// This thread's instance refers to end `end` (arrived in a `Response`).
#[napi(js_name = "wsAdopt")]
pub fn ws_adopt(env: Env, end: f64) -> Result<()> {
    guard(env, move || {
        HUB.ws_adopt(tid(&env)?, end as u64)
            .map_err(|e| core_error(&env, e))
    })
}

/// End `end`'s connection failed with `message`: its peer gets an error event.
#[napi(js_name = "wsFail")]
pub fn ws_fail(env: Env, end: f64, message: String) -> Result<()> {
    guard(env, move || {
        HUB.ws_fail(end as u64, message);
        Ok(())
    })
}

/// Forgets end `end` (its peer went away and its handler ran).
#[napi(js_name = "wsForget")]
pub fn ws_forget(env: Env, end: f64) -> Result<()> {
    guard(env, move || {
        HUB.ws_forget(end as u64);
        Ok(())
    })
}

/// The hibernatable ends of the object this thread hosts (with tag `tag`), flat:
/// `[end, closeState, end, closeState, …]` (see `Sockets::close_state`).
#[napi(js_name = "wsList")]
pub fn ws_list(env: Env, tag: Option<String>) -> Result<Vec<f64>> {
    guard(env, move || {
        HUB.ws_list(tid(&env)?, tag.as_deref())
            .map(|v| {
                v.into_iter()
                    .flat_map(|(e, s)| [e as f64, s as f64])
                    .collect()
            })
            .map_err(|e| core_error(&env, e))
    })
}

#[napi(object)]
pub struct WsInfo {
    pub tags: Vec<String>,
    pub attachment: Option<Buffer>,
    pub auto_ts: Option<f64>,
    pub sent_close: bool,
    pub got_close: bool,
}

/// What the registry knows of end `end`, or null when it is gone.
#[napi(js_name = "wsInfo")]
pub fn ws_info(env: Env, end: f64) -> Result<Option<WsInfo>> {
    guard(env, move || {
        Ok(HUB.ws_info(end as u64).map(|i| WsInfo {
            tags: i.tags,
            attachment: i.attachment.map(Buffer::from),
            auto_ts: i.auto_ts,
            sent_close: i.sent_close,
            got_close: i.got_close,
        }))
    })
}

/// Stores end `end`'s serialized attachment (null: none).
#[napi(js_name = "wsSetAttachment")]
pub fn ws_set_attachment(env: Env, end: f64, bytes: Option<Uint8Array>) -> Result<()> {
    guard(env, move || {
        HUB.ws_set_attachment(end as u64, bytes.map(|b| b.to_vec()));
        Ok(())
    })
}

/// `ctx.setWebSocketAutoResponse(pair?)` of the object this thread hosts.
#[napi(js_name = "wsSetAutoResponse")]
pub fn ws_set_auto_response(
    env: Env,
    request: Option<String>,
    response: Option<String>,
) -> Result<()> {
    guard(env, move || {
        let pair = request.zip(response);
        HUB.ws_set_auto(tid(&env)?, pair)
            .map_err(|e| core_error(&env, e))
    })
}

/// The auto-response pair of the object this thread hosts, as `[request, response]`.
#[napi(js_name = "wsAutoResponse")]
pub fn ws_auto_response(env: Env) -> Result<Option<Vec<String>>> {
    guard(env, move || {
        HUB.ws_auto(tid(&env)?)
            .map(|p| p.map(|(a, b)| vec![a, b]))
            .map_err(|e| core_error(&env, e))
    })
}

/// How many socket ends exist in the process (tests).
#[napi(js_name = "wsCount")]
pub fn ws_count(env: Env) -> Result<u32> {
    guard(env, move || Ok(HUB.ws_count() as u32))
}
