//! The hub's side of WebSockets (SPEC §2.4): the socket registry (`sockets.rs`) lives under
//! the hub's lock, and its deliveries go out as the hub's own:
//!
//! * to a thread: `Delivery::Call { call: 0, method: "\u{5}<end>:<kind>…" }`, never
//!   answered (as reference releases), and only while the instance that holds the end runs;
//! * to a hibernatable end's object: a routed call (method `"\u{6}<end>:<kind>…"`) from
//!   no thread (caller 0, so its answer goes nowhere). Routing starts an evicted object
//!   again, keeps it busy while the handler runs, and keeps the order of messages.
//!
//! A facet accepts sockets as a root object does. An evicted facet restarts from its entry
//! in the core alone (its startup holds its class, and for worker-loader classes the code
//! itself), so no parent needs to run: the event is routed like a call through a facet
//! stub. Its entry outlives evictions (its own and its ancestors'); whatever removes the
//! entry (abort, delete, clone-over, a form-A restart, `deleteAll`, a breakage) first
//! disconnects its sockets (`HubState::stop_entries`), so an event never finds no entry.

use std::time::{SystemTime, UNIX_EPOCH};

use super::{Hub, HubState, Role, Target};
use crate::error::CoreError;
use crate::inbox::{Delivery, Payload};
use crate::pool::Tid;
use crate::sockets::{AcceptError, EndId, EndInfo, Event, Holder, Out, Route, RtId};

/// Method prefixes of socket deliveries (see the module comment).
pub const THREAD_EVENT: char = '\u{5}';
pub const OBJECT_EVENT: char = '\u{6}';

/// Call ids of socket events routed to objects: a range of their own, far above the
/// hub's call counter (JS reads ids as doubles: below 2^53).
const SOCKET_CALLS: u64 = 1 << 50;

/// Socket events routed to objects come from no thread (thread ids start at 1).
const NO_THREAD: Tid = 0;

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

/// The method string and payload of `event` for end `end`.
fn encode(prefix: char, end: EndId, event: Event) -> (String, Payload) {
    match event {
        Event::Text(t) => (format!("{prefix}{end}:t"), Payload::Text(t)),
        Event::Binary(b) => (format!("{prefix}{end}:b"), Payload::Bytes(b)),
        Event::Close {
            code,
            reason,
            clean,
        } => (
            format!("{prefix}{end}:c:{code}:{}", u8::from(clean)),
            Payload::Text(reason),
        ),
        Event::Error(message) => (format!("{prefix}{end}:e"), Payload::Text(message)),
    }
}

impl HubState {
    /// Carries out the deliveries the registry decided.
    pub(super) fn flush_sockets(&mut self, outs: Vec<Out>) {
        for o in outs {
            match o.to {
                Route::Thread { tid, instance } => {
                    if let Some(inbox) = self
                        .threads
                        .get(&tid)
                        .filter(|r| r.owns(instance))
                        .and_then(|r| r.inbox.as_ref())
                    {
                        let (method, payload) = encode(THREAD_EVENT, o.end, o.event);
                        inbox.push(Delivery::Call {
                            call: 0,
                            method,
                            payload,
                        });
                    }
                }
                Route::Object { rt, target, name } => {
                    let Some(rtrec) = self.runtimes.get(&rt) else {
                        continue;
                    };
                    // A facet starts again from its entry (none: its sockets are gone).
                    let start = match target {
                        Target::Root((ns, id)) => Delivery::Start { ns, id, name },
                        Target::Facet(entry) => match rtrec.forest.entries.get(&entry) {
                            Some(f) if f.failure.is_none() => Delivery::StartFacet {
                                entry,
                                startup: f.startup.to_string(),
                            },
                            _ => continue,
                        },
                    };
                    let call = SOCKET_CALLS + self.next_socket_call;
                    self.next_socket_call += 1;
                    let (method, payload) = encode(OBJECT_EVENT, o.end, o.event);
                    let delivery = Delivery::Call {
                        call,
                        method,
                        payload,
                    };
                    self.route(NO_THREAD, rt, target, call, delivery, || start);
                }
            }
        }
    }

    /// The instance that thread `from` runs now.
    fn running_instance(&self, from: Tid) -> Result<u64, CoreError> {
        self.threads
            .get(&from)
            .filter(|r| matches!(r.role, Role::Caller | Role::Hosting(_)))
            .map(|r| r.instance)
            .ok_or(CoreError::Stopped)
    }

    /// The object (root or facet) thread `from` hosts: (runtime, target). The stateless
    /// entry point hosts none (its namespace has no objects to hold sockets).
    fn hosted_object(&self, from: Tid) -> Result<(RtId, Target), CoreError> {
        let rec = self.threads.get(&from).ok_or(CoreError::Stopped)?;
        match (rec.role, rec.runtime) {
            (Role::Hosting(target), Some(rt)) => Ok((rt, target)),
            _ => Err(CoreError::NotHosting),
        }
    }
}

impl Hub {
    /// `new WebSocketPair()` on thread `from`: returns the first end (the other is `^ 1`).
    pub fn ws_pair(&self, from: Tid) -> Result<EndId, CoreError> {
        let mut st = self.lock();
        let instance = st.running_instance(from)?;
        Ok(st.sockets.pair((from, instance)))
    }

    /// End `end` sends `event` to its peer.
    pub fn ws_send(&self, end: EndId, event: Event) {
        let mut st = self.lock();
        let outs = st.sockets.send(end, event, now_ms());
        st.flush_sockets(outs);
    }

    /// `accept()` on thread `from`: its events are delivered to this thread from now on.
    pub fn ws_accept(&self, from: Tid, end: EndId) -> Result<bool, CoreError> {
        let mut st = self.lock();
        let instance = st.running_instance(from)?;
        let mut outs = Vec::new();
        let ok = st.sockets.claim(
            end,
            Holder::Thread {
                tid: from,
                instance,
            },
            &mut outs,
        );
        st.flush_sockets(outs);
        Ok(ok)
    }

    /// `ctx.acceptWebSocket(ws, tags)` by the object (root or facet) thread `from` hosts
    /// (`name`: a root's name, for restarts).
    pub fn ws_hibernate(
        &self,
        from: Tid,
        end: EndId,
        name: Option<String>,
        tags: Vec<String>,
    ) -> Result<(), CoreError> {
        let mut st = self.lock();
        let (rt, target) = st.hosted_object(from)?;
        let mut outs = Vec::new();
        match st.sockets.hibernate(end, rt, target, name, tags, &mut outs) {
            Ok(()) => {}
            Err(AcceptError::Limit) => return Err(CoreError::SocketLimit),
            // A peer that went away: like workerd, the socket is accepted and closes.
            Err(AcceptError::Gone) => {}
        }
        st.flush_sockets(outs);
        Ok(())
    }

    /// A `Response` carries end `end` away from its thread.
    pub fn ws_release(&self, end: EndId) {
        self.lock().sockets.release(end);
    }

    /// Thread `from` built a JS object for end `end`, which arrived in a `Response`.
    pub fn ws_adopt(&self, from: Tid, end: EndId) -> Result<(), CoreError> {
        let mut st = self.lock();
        let instance = st.running_instance(from)?;
        st.sockets.adopt(end, (from, instance));
        Ok(())
    }

    /// End `end`'s connection failed (see `Sockets::fail`).
    pub fn ws_fail(&self, end: EndId, message: String) {
        let mut st = self.lock();
        let outs = st.sockets.fail(end, message);
        st.flush_sockets(outs);
    }

    /// The JS side is done with end `end` (see `Sockets::forget`).
    pub fn ws_forget(&self, end: EndId) {
        let mut st = self.lock();
        let outs = st.sockets.forget(end);
        st.flush_sockets(outs);
    }

    /// `ctx.getWebSockets(tag)` of the object thread `from` hosts: each end with its close
    /// state (`Sockets::close_state`), so the JS side needs no second look per socket.
    pub fn ws_list(&self, from: Tid, tag: Option<&str>) -> Result<Vec<(EndId, u8)>, CoreError> {
        let st = self.lock();
        let (rt, target) = st.hosted_object(from)?;
        Ok(st
            .sockets
            .list(rt, target, tag)
            .into_iter()
            .map(|e| (e, st.sockets.close_state(e)))
            .collect())
    }

    pub fn ws_info(&self, end: EndId) -> Option<EndInfo> {
        self.lock().sockets.info(end)
    }

    pub fn ws_set_attachment(&self, end: EndId, bytes: Option<Vec<u8>>) {
        self.lock().sockets.set_attachment(end, bytes);
    }

    /// `ctx.setWebSocketAutoResponse(pair?)` of the object thread `from` hosts.
    pub fn ws_set_auto(&self, from: Tid, pair: Option<(String, String)>) -> Result<(), CoreError> {
        let mut st = self.lock();
        let (rt, target) = st.hosted_object(from)?;
        st.sockets.set_auto(rt, target, pair);
        Ok(())
    }

    pub fn ws_auto(&self, from: Tid) -> Result<Option<(String, String)>, CoreError> {
        let st = self.lock();
        let (rt, target) = st.hosted_object(from)?;
        Ok(st.sockets.auto(rt, target).cloned())
    }

    /// How many socket ends the registry holds (tests, diagnostics).
    pub fn ws_count(&self) -> usize {
        self.lock().sockets.len()
    }
}
