//! WebSockets between threads (SPEC §2.4): every socket made by a `WebSocketPair`, held
//! here rather than on any thread, so that a socket accepted with the hibernation API
//! outlives the instance that accepted it.
//!
//! A socket is two *ends*; end `e`'s peer is `e ^ 1`. What one end sends is delivered to the
//! holder of the other:
//!
//! * `Unclaimed`: nobody listens yet (a fresh pair end, or one travelling inside a
//!   `Response`): events wait in a buffer. `owner` is the instance whose JS object refers to
//!   it (it dies with that instance); none while the end is in transit.
//! * `Thread`: a JS `WebSocket` that called `accept()` (or the main thread's bridge of
//!   `rt.listen`): events are pushed to that thread's inbox while that *instance* runs.
//! * `Object`: accepted with `ctx.acceptWebSocket()`: events become routed calls to the
//!   instance that accepted it — a root object or a facet (`Target`) — which starts it again
//!   if it was evicted (hibernation). Each facet has its own sockets and auto-response, as
//!   each facet is an object of its own (SPEC §5).
//!
//! This module decides; the hub (`hub_sockets.rs`) delivers the [`Out`]s it returns. Tags,
//! the serialized attachment and the auto-response timestamp of an end live here too, so
//! nothing of a hibernatable socket lives only on the object's thread.

use std::collections::{BTreeSet, HashMap};

use crate::facets::Target;
use crate::pool::Tid;

pub type EndId = u64;
pub type RtId = u32;

/// workerd's `ACTIVE_CONNECTION_LIMIT` (legacy-hibernation-manager.h): hibernatable
/// sockets per object.
pub const MAX_PER_OBJECT: usize = 32 * 1024;

/// Code and reason of a close that no Close frame carried (workerd's texts).
pub const GONE_CODE: u16 = 1006;
pub const GONE_REASON: &str = "WebSocket disconnected without sending Close frame.";

/// Something that happens to an end.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Text(String),
    Binary(Vec<u8>),
    /// `code` 0: a Close frame without a body (the receiver sees 1005).
    Close {
        code: u16,
        reason: String,
        clean: bool,
    },
    /// The peer's connection failed (a protocol error): nothing follows.
    Error(String),
}

/// Where an end's events go.
#[derive(Debug, Clone, PartialEq)]
pub enum Holder {
    Unclaimed {
        owner: Option<(Tid, u64)>,
        buffer: Vec<Event>,
    },
    Thread {
        tid: Tid,
        instance: u64,
    },
    Object {
        rt: RtId,
        target: Target,
        /// A root object's name (its start delivery needs it when it was evicted).
        name: Option<String>,
    },
}

/// A delivery to make: `event` reaches end `end` at `to`.
#[derive(Debug, Clone, PartialEq)]
pub struct Out {
    pub to: Route,
    pub end: EndId,
    pub event: Event,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    Thread {
        tid: Tid,
        instance: u64,
    },
    Object {
        rt: RtId,
        target: Target,
        name: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct End {
    pub holder: Holder,
    pub tags: Vec<String>,
    /// The serialized attachment (V8 bytes), as `serializeAttachment` left it.
    pub attachment: Option<Vec<u8>>,
    /// When an auto-response last answered a message to this end (ms since the epoch).
    pub auto_ts: Option<f64>,
    /// This end sent a Close.
    pub sent_close: bool,
    /// This end received a Close (from its peer, or because its peer went away).
    pub got_close: bool,
}

impl End {
    fn new(owner: (Tid, u64)) -> Self {
        End {
            holder: Holder::Unclaimed {
                owner: Some(owner),
                buffer: Vec::new(),
            },
            tags: Vec::new(),
            attachment: None,
            auto_ts: None,
            sent_close: false,
            got_close: false,
        }
    }
}

/// What `Sockets::info` tells a thread about an end it has no object for yet.
#[derive(Debug, Clone, PartialEq)]
pub struct EndInfo {
    pub tags: Vec<String>,
    pub attachment: Option<Vec<u8>>,
    pub auto_ts: Option<f64>,
    pub sent_close: bool,
    pub got_close: bool,
}

#[derive(Default)]
pub struct Sockets {
    ends: HashMap<EndId, End>,
    next: u64,
    /// Hibernatable ends by object (root or facet), in acceptance order (`getWebSockets`
    /// lists them so).
    by_object: HashMap<(RtId, Target), BTreeSet<EndId>>,
    /// Ends held by or owned by a thread's instance (ended with it).
    by_thread: HashMap<Tid, BTreeSet<EndId>>,
    /// Per object (root or facet): the auto-response `(request, response)`.
    auto: HashMap<(RtId, Target), (String, String)>,
}

/// `ctx.acceptWebSocket()` refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AcceptError {
    /// The object already holds `MAX_PER_OBJECT` sockets.
    Limit,
    /// The end is gone (its peer went away and it was forgotten).
    Gone,
}

impl Sockets {
    /// A new pair whose ends the instance `owner` refers to. Returns the first end (the
    /// second is `first ^ 1`).
    pub fn pair(&mut self, owner: (Tid, u64)) -> EndId {
        let a = self.next * 2;
        self.next += 1;
        self.ends.insert(a, End::new(owner));
        self.ends.insert(a + 1, End::new(owner));
        let set = self.by_thread.entry(owner.0).or_default();
        set.insert(a);
        set.insert(a + 1);
        a
    }

    pub fn get(&self, end: EndId) -> Option<&End> {
        self.ends.get(&end)
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    fn unindex(&mut self, end: EndId) {
        let Some(e) = self.ends.get(&end) else { return };
        match &e.holder {
            Holder::Thread { tid, .. }
            | Holder::Unclaimed {
                owner: Some((tid, _)),
                ..
            } => {
                if let Some(s) = self.by_thread.get_mut(tid) {
                    s.remove(&end);
                    if s.is_empty() {
                        self.by_thread.remove(tid);
                    }
                }
            }
            Holder::Object { rt, target, .. } => {
                if let Some(s) = self.by_object.get_mut(&(*rt, *target)) {
                    s.remove(&end);
                    if s.is_empty() {
                        self.by_object.remove(&(*rt, *target));
                    }
                }
            }
            Holder::Unclaimed { owner: None, .. } => {}
        }
    }

    fn set_holder(&mut self, end: EndId, holder: Holder) {
        self.unindex(end);
        match &holder {
            Holder::Thread { tid, .. }
            | Holder::Unclaimed {
                owner: Some((tid, _)),
                ..
            } => {
                self.by_thread.entry(*tid).or_default().insert(end);
            }
            Holder::Object { rt, target, .. } => {
                self.by_object
                    .entry((*rt, *target))
                    .or_default()
                    .insert(end);
            }
            Holder::Unclaimed { owner: None, .. } => {}
        }
        if let Some(e) = self.ends.get_mut(&end) {
            e.holder = holder;
        }
    }

    fn remove(&mut self, end: EndId) {
        self.unindex(end);
        self.ends.remove(&end);
    }

    /// Delivers `event` to end `to` (buffered while it is unclaimed).
    fn deliver(&mut self, to: EndId, event: Event, out: &mut Vec<Out>) {
        let Some(e) = self.ends.get_mut(&to) else {
            return;
        };
        if let Event::Close { .. } | Event::Error(_) = event {
            e.got_close = true;
        }
        match &mut e.holder {
            Holder::Unclaimed { buffer, .. } => buffer.push(event),
            Holder::Thread { tid, instance } => out.push(Out {
                to: Route::Thread {
                    tid: *tid,
                    instance: *instance,
                },
                end: to,
                event,
            }),
            Holder::Object { rt, target, name } => out.push(Out {
                to: Route::Object {
                    rt: *rt,
                    target: *target,
                    name: name.clone(),
                },
                end: to,
                event,
            }),
        }
    }

    /// End `from` sends `event` to its peer. Nothing happens once `from` sent a Close (the
    /// JS side refuses that) or when `from` is gone. A text message equal to the peer
    /// object's auto-response request is answered here, at `now_ms`, without waking it.
    pub fn send(&mut self, from: EndId, event: Event, now_ms: f64) -> Vec<Out> {
        let mut out = Vec::new();
        let Some(e) = self.ends.get_mut(&from) else {
            return out;
        };
        if e.sent_close {
            return out;
        }
        let closing = matches!(event, Event::Close { .. });
        if closing {
            e.sent_close = true;
        }
        let peer = from ^ 1;
        if let (Event::Text(text), Some(p)) = (&event, self.ends.get_mut(&peer)) {
            if let Holder::Object { rt, target, .. } = &p.holder {
                if let Some((req, res)) = self.auto.get(&(*rt, *target)) {
                    if req == text {
                        let res = res.clone();
                        p.auto_ts = Some(now_ms);
                        self.deliver(from, Event::Text(res), &mut out);
                        return out;
                    }
                }
            }
        }
        self.deliver(peer, event, &mut out);
        if closing {
            self.settle(from);
        }
        out
    }

    /// Forgets both ends once each has sent a Close, or `end` once its peer is gone and it
    /// sent its own.
    fn settle(&mut self, end: EndId) {
        let peer = end ^ 1;
        let mine = self.ends.get(&end).is_some_and(|e| e.sent_close);
        match self.ends.get(&peer) {
            Some(p) if mine && p.sent_close => {
                self.remove(end);
                self.remove(peer);
            }
            None if mine => self.remove(end),
            _ => {}
        }
    }

    /// Instance `owner` takes end `end` in (it built a JS object for one that arrived in a
    /// `Response`): the end dies with that instance unless it is claimed or sent on.
    pub fn adopt(&mut self, end: EndId, owner: (Tid, u64)) {
        if let Some(Holder::Unclaimed { buffer, .. }) = self.ends.get(&end).map(|e| &e.holder) {
            let buffer = buffer.clone();
            self.set_holder(
                end,
                Holder::Unclaimed {
                    owner: Some(owner),
                    buffer,
                },
            );
        }
    }

    /// End `end` leaves in a `Response`: nobody owns it until it is adopted.
    pub fn release(&mut self, end: EndId) {
        if let Some(Holder::Unclaimed { buffer, .. }) = self.ends.get(&end).map(|e| &e.holder) {
            let buffer = buffer.clone();
            self.set_holder(
                end,
                Holder::Unclaimed {
                    owner: None,
                    buffer,
                },
            );
        }
    }

    /// `accept()` on instance `(tid, instance)`, or `acceptWebSocket()` (`Holder::Object`):
    /// events buffered so far go out now, in order. False when the end is gone or claimed.
    pub fn claim(&mut self, end: EndId, holder: Holder, out: &mut Vec<Out>) -> bool {
        let buffer = match self.ends.get_mut(&end).map(|e| &mut e.holder) {
            Some(Holder::Unclaimed { buffer, .. }) => std::mem::take(buffer),
            _ => return false,
        };
        self.set_holder(end, holder);
        for event in buffer {
            // `got_close` was set when it was buffered; deliver again routes it.
            self.deliver(end, event, out);
        }
        // A peer that went away while this end waited: nothing more will come.
        if !self.ends.contains_key(&(end ^ 1)) {
            self.forget_if_thread(end);
        }
        true
    }

    /// `ctx.acceptWebSocket(ws, tags)` by the object (root or facet) `target` of runtime `rt`.
    pub fn hibernate(
        &mut self,
        end: EndId,
        rt: RtId,
        target: Target,
        name: Option<String>,
        tags: Vec<String>,
        out: &mut Vec<Out>,
    ) -> Result<(), AcceptError> {
        if !self.ends.contains_key(&end) {
            return Err(AcceptError::Gone);
        }
        if self.by_object.get(&(rt, target)).map_or(0, BTreeSet::len) >= MAX_PER_OBJECT {
            return Err(AcceptError::Limit);
        }
        if let Some(e) = self.ends.get_mut(&end) {
            e.tags = tags;
        }
        if !self.claim(end, Holder::Object { rt, target, name }, out) {
            return Err(AcceptError::Gone);
        }
        Ok(())
    }

    /// A thread-held end whose peer is gone has nothing left to say: forgotten at once (the
    /// JS object keeps what it needs). Object-held ends wait for `forget` (their close
    /// handler still needs the attachment).
    fn forget_if_thread(&mut self, end: EndId) {
        if matches!(
            self.ends.get(&end).map(|e| &e.holder),
            Some(Holder::Thread { .. })
        ) {
            self.remove(end);
        }
    }

    /// The end goes away: its peer hears a close without a Close frame (unless this end
    /// had sent one).
    fn drop_end(&mut self, end: EndId, out: &mut Vec<Out>) {
        let Some(e) = self.ends.get(&end) else { return };
        let sent = e.sent_close;
        self.remove(end);
        let peer = end ^ 1;
        if !self.ends.contains_key(&peer) {
            return;
        }
        if !sent {
            self.deliver(
                peer,
                Event::Close {
                    code: GONE_CODE,
                    reason: GONE_REASON.to_owned(),
                    clean: false,
                },
                out,
            );
        }
        self.forget_if_thread(peer);
    }

    /// End `end`'s connection failed with `message` (rt.listen's client sent a bad frame):
    /// it is gone, and its peer hears an error instead of a close.
    pub fn fail(&mut self, end: EndId, message: String) -> Vec<Out> {
        let mut out = Vec::new();
        if self.ends.get(&end).is_none_or(|e| e.sent_close) {
            return self.forget(end);
        }
        self.remove(end);
        let peer = end ^ 1;
        if self.ends.contains_key(&peer) {
            self.deliver(peer, Event::Error(message), &mut out);
            self.forget_if_thread(peer);
        }
        out
    }

    /// The JS side is done with `end` (an object handled the close of a peer that went
    /// away): forget it, and tell the peer if it is still there.
    pub fn forget(&mut self, end: EndId) -> Vec<Out> {
        let mut out = Vec::new();
        self.drop_end(end, &mut out);
        out
    }

    /// Instance `instance` of thread `tid` stopped: the ends it held or referred to are
    /// gone (hibernatable ones stay: they are held by the object, not the thread).
    pub fn thread_stopped(&mut self, tid: Tid) -> Vec<Out> {
        let mut out = Vec::new();
        let Some(ends) = self.by_thread.remove(&tid) else {
            return out;
        };
        for end in ends {
            // `remove` would look the set up again: it is gone already.
            if let Some(e) = self.ends.get(&end) {
                let sent = e.sent_close;
                self.ends.remove(&end);
                let peer = end ^ 1;
                if self.ends.contains_key(&peer) {
                    if !sent {
                        self.deliver(
                            peer,
                            Event::Close {
                                code: GONE_CODE,
                                reason: GONE_REASON.to_owned(),
                                clean: false,
                            },
                            &mut out,
                        );
                    }
                    self.forget_if_thread(peer);
                }
            }
        }
        out
    }

    /// Object `target` of runtime `rt` broke (abort, a throwing constructor, a dead thread)
    /// or, for a facet, its entry went (`facets.abort`/`delete`, clone-over, a form-A
    /// restart, `deleteAll`, an ancestor's breakage): as workerd drops the HibernationManager
    /// of such an actor, its hibernatable sockets are disconnected without a Close frame
    /// (peers hear 1006).
    pub fn object_gone(&mut self, rt: RtId, target: Target) -> Vec<Out> {
        let mut out = Vec::new();
        self.auto.remove(&(rt, target));
        let ends = self
            .by_object
            .get(&(rt, target))
            .cloned()
            .unwrap_or_default();
        for end in &ends {
            self.drop_end(*end, &mut out);
        }
        // Both ends of a pair may be the object's own: the close one heard from the other is
        // for an end that is gone too (delivering it would start the object again).
        out.retain(|o| !ends.contains(&o.end));
        out
    }

    /// Runtime `rt` was disposed: its objects' sockets are gone.
    pub fn runtime_gone(&mut self, rt: RtId) -> Vec<Out> {
        let mut out = Vec::new();
        let keys: Vec<(RtId, Target)> = self
            .by_object
            .keys()
            .filter(|(r, _)| *r == rt)
            .copied()
            .collect();
        for k in keys {
            self.auto.remove(&k);
            for end in self.by_object.get(&k).cloned().unwrap_or_default() {
                self.drop_end(end, &mut out);
            }
        }
        self.auto.retain(|(r, _), _| *r != rt);
        out
    }

    /// `getWebSockets(tag?)`: the object's hibernatable ends (with the tag), in acceptance
    /// order, but not those whose peer went away.
    pub fn list(&self, rt: RtId, target: Target, tag: Option<&str>) -> Vec<EndId> {
        let Some(set) = self.by_object.get(&(rt, target)) else {
            return Vec::new();
        };
        set.iter()
            .copied()
            .filter(|e| self.ends.contains_key(&(e ^ 1)))
            .filter(|e| match tag {
                None => true,
                Some(t) => self.ends[e].tags.iter().any(|x| x == t),
            })
            .collect()
    }

    /// The close state of `end`: bit 0 it sent a Close, bit 1 it received one (3 when gone).
    pub fn close_state(&self, end: EndId) -> u8 {
        self.ends
            .get(&end)
            .map_or(3, |e| u8::from(e.sent_close) | (u8::from(e.got_close) << 1))
    }

    pub fn info(&self, end: EndId) -> Option<EndInfo> {
        self.ends.get(&end).map(|e| EndInfo {
            tags: e.tags.clone(),
            attachment: e.attachment.clone(),
            auto_ts: e.auto_ts,
            sent_close: e.sent_close,
            got_close: e.got_close,
        })
    }

    pub fn set_attachment(&mut self, end: EndId, bytes: Option<Vec<u8>>) {
        if let Some(e) = self.ends.get_mut(&end) {
            e.attachment = bytes;
        }
    }

    pub fn set_auto(&mut self, rt: RtId, target: Target, pair: Option<(String, String)>) {
        match pair {
            Some(p) => {
                self.auto.insert((rt, target), p);
            }
            None => {
                self.auto.remove(&(rt, target));
            }
        }
    }

    pub fn auto(&self, rt: RtId, target: Target) -> Option<&(String, String)> {
        self.auto.get(&(rt, target))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T1: (Tid, u64) = (1, 10);
    const T2: (Tid, u64) = (2, 20);
    const OBJ: Target = Target::Root((0, [7u8; 32]));
    /// Two facets of OBJ's tree (entries 1 and 2): objects of their own.
    const FACET: Target = Target::Facet(1);
    const SIBLING: Target = Target::Facet(2);

    fn thread(t: (Tid, u64)) -> Holder {
        Holder::Thread {
            tid: t.0,
            instance: t.1,
        }
    }

    fn text(s: &str) -> Event {
        Event::Text(s.to_owned())
    }

    #[test]
    fn messages_to_an_unclaimed_end_wait_and_go_out_in_order_on_accept() {
        let mut s = Sockets::default();
        let a = s.pair(T1);
        assert!(s.send(a, text("one"), 0.0).is_empty());
        assert!(s.send(a, text("two"), 0.0).is_empty());
        let mut out = Vec::new();
        assert!(s.claim(a ^ 1, thread(T2), &mut out));
        let got: Vec<&Event> = out.iter().map(|o| &o.event).collect();
        assert_eq!(got, vec![&text("one"), &text("two")]);
        assert!(out.iter().all(|o| o.to
            == Route::Thread {
                tid: 2,
                instance: 20
            }
            && o.end == a ^ 1));
    }

    #[test]
    fn an_end_is_claimed_once() {
        let mut s = Sockets::default();
        let a = s.pair(T1);
        let mut out = Vec::new();
        assert!(s.claim(a, thread(T1), &mut out));
        assert!(!s.claim(a, thread(T2), &mut out));
    }

    #[test]
    fn messages_to_a_hibernatable_end_are_routed_to_its_object() {
        let mut s = Sockets::default();
        let a = s.pair(T1);
        let mut out = Vec::new();
        s.hibernate(
            a + 1,
            1,
            OBJ,
            Some("room".into()),
            vec!["x".into()],
            &mut out,
        )
        .unwrap();
        let out = s.send(a, Event::Binary(vec![1, 2]), 0.0);
        assert_eq!(
            out,
            vec![Out {
                to: Route::Object {
                    rt: 1,
                    target: OBJ,
                    name: Some("room".into())
                },
                end: a + 1,
                event: Event::Binary(vec![1, 2])
            }]
        );
    }

    #[test]
    fn a_hibernatable_end_survives_its_threads_instance() {
        let mut s = Sockets::default();
        let a = s.pair(T1);
        let mut out = Vec::new();
        s.claim(a, thread(T2), &mut out);
        s.hibernate(a + 1, 1, OBJ, None, vec![], &mut out).unwrap();
        assert!(s.thread_stopped(T1.0).is_empty());
        assert_eq!(s.list(1, OBJ, None), vec![a + 1]);
    }

    #[test]
    fn a_stopped_instance_closes_its_ends_for_the_peer_as_unclean() {
        let mut s = Sockets::default();
        let a = s.pair(T1);
        let mut out = Vec::new();
        s.claim(a, thread(T1), &mut out);
        s.claim(a + 1, thread(T2), &mut out);
        let out = s.thread_stopped(T1.0);
        assert_eq!(
            out,
            vec![Out {
                to: Route::Thread {
                    tid: 2,
                    instance: 20
                },
                end: a + 1,
                event: Event::Close {
                    code: GONE_CODE,
                    reason: GONE_REASON.into(),
                    clean: false
                }
            }]
        );
        assert!(s.is_empty(), "the peer, held by a thread, is forgotten too");
    }

    #[test]
    fn an_auto_response_answers_without_reaching_the_object() {
        let mut s = Sockets::default();
        let a = s.pair(T1);
        let mut out = Vec::new();
        s.claim(a, thread(T1), &mut out);
        s.hibernate(a + 1, 1, OBJ, None, vec![], &mut out).unwrap();
        s.set_auto(1, OBJ, Some(("ping".into(), "pong".into())));
        let out = s.send(a, text("ping"), 42.0);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].end, a);
        assert_eq!(out[0].event, text("pong"));
        assert_eq!(s.info(a + 1).unwrap().auto_ts, Some(42.0));
        // Other texts reach the object.
        let out = s.send(a, text("pingx"), 43.0);
        assert!(matches!(out[0].to, Route::Object { .. }));
    }

    #[test]
    fn both_closes_forget_the_socket() {
        let mut s = Sockets::default();
        let a = s.pair(T1);
        let mut out = Vec::new();
        s.claim(a, thread(T1), &mut out);
        s.hibernate(a + 1, 1, OBJ, None, vec![], &mut out).unwrap();
        let close = Event::Close {
            code: 1000,
            reason: "bye".into(),
            clean: true,
        };
        let out = s.send(a, close.clone(), 0.0);
        assert_eq!(out[0].event, close);
        assert!(s.info(a + 1).unwrap().got_close);
        assert_eq!(s.list(1, OBJ, None), vec![a + 1], "listed while closing");
        s.send(a + 1, close, 0.0);
        assert!(s.is_empty());
        assert!(s.list(1, OBJ, None).is_empty());
    }

    #[test]
    fn sends_after_close_are_dropped() {
        let mut s = Sockets::default();
        let a = s.pair(T1);
        let mut out = Vec::new();
        s.claim(a + 1, thread(T2), &mut out);
        s.send(
            a,
            Event::Close {
                code: 0,
                reason: String::new(),
                clean: true,
            },
            0.0,
        );
        assert!(s.send(a, text("late"), 0.0).is_empty());
    }

    #[test]
    fn the_per_object_limit_is_enforced() {
        let mut s = Sockets::default();
        let mut out = Vec::new();
        for _ in 0..MAX_PER_OBJECT {
            let a = s.pair(T1);
            s.hibernate(a, 1, OBJ, None, vec![], &mut out).unwrap();
        }
        let a = s.pair(T1);
        assert_eq!(
            s.hibernate(a, 1, OBJ, None, vec![], &mut out),
            Err(AcceptError::Limit)
        );
    }

    #[test]
    fn list_filters_by_tag_in_acceptance_order() {
        let mut s = Sockets::default();
        let mut out = Vec::new();
        let a = s.pair(T1);
        let b = s.pair(T1);
        s.hibernate(b, 1, OBJ, None, vec!["red".into()], &mut out)
            .unwrap();
        s.hibernate(a, 1, OBJ, None, vec!["red".into(), "blue".into()], &mut out)
            .unwrap();
        assert_eq!(s.list(1, OBJ, Some("blue")), vec![a]);
        assert_eq!(s.list(1, OBJ, Some("red")), vec![a, b]);
        assert!(s.list(2, OBJ, None).is_empty());
    }

    #[test]
    fn a_disposed_runtime_closes_its_objects_sockets() {
        let mut s = Sockets::default();
        let mut out = Vec::new();
        let a = s.pair(T1);
        s.claim(a, thread(T1), &mut out);
        s.hibernate(a + 1, 1, OBJ, None, vec![], &mut out).unwrap();
        s.set_auto(1, OBJ, Some(("a".into(), "b".into())));
        let out = s.runtime_gone(1);
        assert!(matches!(out[0].event, Event::Close { code: 1006, .. }));
        assert!(s.is_empty());
        assert!(s.auto(1, OBJ).is_none());
    }

    #[test]
    fn a_broken_object_disconnects_its_hibernatable_sockets() {
        let mut s = Sockets::default();
        let a = s.pair(T1);
        let mut out = Vec::new();
        s.claim(a, thread(T2), &mut out);
        s.hibernate(a + 1, 1, OBJ, None, vec![], &mut out).unwrap();
        s.set_auto(1, OBJ, Some(("a".into(), "b".into())));
        let out = s.object_gone(1, OBJ);
        assert!(matches!(
            out[0].event,
            Event::Close {
                code: 1006,
                clean: false,
                ..
            }
        ));
        assert!(s.is_empty());
        assert!(s.auto(1, OBJ).is_none());
    }

    #[test]
    fn a_failed_end_gives_its_peer_an_error_and_no_close() {
        let mut s = Sockets::default();
        let a = s.pair(T1);
        let mut out = Vec::new();
        s.claim(a, thread(T1), &mut out);
        s.hibernate(a + 1, 1, OBJ, None, vec![], &mut out).unwrap();
        let out = s.fail(a, "Invalid UTF-8 sequence".into());
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].event, Event::Error("Invalid UTF-8 sequence".into()));
        assert!(s.list(1, OBJ, None).is_empty());
    }

    #[test]
    fn a_facets_sockets_and_auto_response_are_its_own() {
        let mut s = Sockets::default();
        let mut out = Vec::new();
        let root = s.pair(T1);
        let facet = s.pair(T1);
        let sibling = s.pair(T1);
        s.claim(facet, thread(T2), &mut out);
        s.claim(sibling, thread(T2), &mut out);
        s.hibernate(root + 1, 1, OBJ, None, vec!["t".into()], &mut out)
            .unwrap();
        s.hibernate(facet + 1, 1, FACET, None, vec!["t".into()], &mut out)
            .unwrap();
        s.hibernate(sibling + 1, 1, SIBLING, None, vec!["t".into()], &mut out)
            .unwrap();
        assert_eq!(s.list(1, OBJ, Some("t")), vec![root + 1]);
        assert_eq!(s.list(1, FACET, Some("t")), vec![facet + 1]);
        assert_eq!(s.list(1, SIBLING, None), vec![sibling + 1]);
        // The facet's auto-response answers only its own sockets.
        s.set_auto(1, FACET, Some(("ping".into(), "pong".into())));
        let got = s.send(facet, text("ping"), 1.0);
        assert_eq!((got[0].end, &got[0].event), (facet, &text("pong")));
        let got = s.send(sibling, text("ping"), 1.0);
        assert_eq!(
            got[0].to,
            Route::Object {
                rt: 1,
                target: SIBLING,
                name: None
            }
        );
        assert!(s.auto(1, OBJ).is_none());
    }

    #[test]
    fn a_stopped_facet_disconnects_only_its_own_sockets() {
        let mut s = Sockets::default();
        let mut out = Vec::new();
        let root = s.pair(T1);
        let facet = s.pair(T1);
        s.claim(root, thread(T2), &mut out);
        s.claim(facet, thread(T2), &mut out);
        s.hibernate(root + 1, 1, OBJ, None, vec![], &mut out)
            .unwrap();
        s.hibernate(facet + 1, 1, FACET, None, vec![], &mut out)
            .unwrap();
        s.set_auto(1, FACET, Some(("a".into(), "b".into())));
        let out = s.object_gone(1, FACET);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].end, facet);
        assert!(matches!(
            out[0].event,
            Event::Close {
                code: GONE_CODE,
                clean: false,
                ..
            }
        ));
        assert!(s.auto(1, FACET).is_none());
        assert_eq!(s.list(1, OBJ, None), vec![root + 1]);
        assert!(s.get(facet).is_none() && s.get(facet + 1).is_none());
    }

    #[test]
    fn a_gone_object_holding_both_ends_of_a_pair_hears_nothing() {
        let mut s = Sockets::default();
        let mut out = Vec::new();
        let a = s.pair(T1);
        s.hibernate(a, 1, FACET, None, vec![], &mut out).unwrap();
        s.hibernate(a + 1, 1, FACET, None, vec![], &mut out)
            .unwrap();
        assert!(s.object_gone(1, FACET).is_empty());
        assert!(s.is_empty());
    }

    #[test]
    fn an_unclaimed_end_in_transit_survives_its_creator() {
        let mut s = Sockets::default();
        let a = s.pair(T1);
        let mut out = Vec::new();
        s.claim(a + 1, thread(T1), &mut out);
        s.release(a);
        s.adopt(a, T2);
        // The creator (T1) stops: its accepted end goes, the client end (now T2's) hears it.
        s.thread_stopped(T1.0);
        let mut out = Vec::new();
        assert!(s.claim(a, thread(T2), &mut out));
        assert!(matches!(out[0].event, Event::Close { code: 1006, .. }));
    }
}
