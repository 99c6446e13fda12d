//! The hub's WebSocket deliveries (`hub_sockets.rs`): to threads as unanswered calls, to an
//! evicted object as routed calls that start it again.

use super::tests::{drain, inbox, setup, Setup};
use super::*;

fn start_worker(s: &Setup) -> (Tid, Arc<Inbox>) {
    let tid = s
        .hub
        .reserve_thread(s.rt)
        .unwrap()
        .expect("a thread is needed");
    let ib = inbox();
    s.hub.attach_worker(tid, ib.clone()).unwrap();
    (tid, ib)
}

/// Hosts object `id` on a new worker (a call, answered); returns the worker.
fn host(s: &Setup, id: crate::ids::ObjectId) -> (Tid, Arc<Inbox>) {
    let call = s
        .hub
        .call(
            s.main,
            s.rt,
            0,
            id,
            Some("room".into()),
            "m".into(),
            Payload::Text("[]".into()),
        )
        .unwrap();
    let (w, wi) = start_worker(s);
    drain(&wi);
    s.hub
        .reply(w, call, ReplyStatus::Ok, Payload::Text("null".into()));
    drain(&s.main_inbox);
    (w, wi)
}

#[test]
fn a_message_to_an_evicted_objects_socket_starts_the_object_again() {
    let s = setup(0);
    let id = [3u8; 32];
    let (w, wi) = host(&s, id);
    // The object makes a pair, hibernates one end; the main thread accepts the other.
    let a = s.hub.ws_pair(w).unwrap();
    s.hub
        .ws_hibernate(w, a + 1, Some("room".into()), vec!["t".into()])
        .unwrap();
    assert!(s.hub.ws_accept(s.main, a).unwrap());
    assert_eq!(s.hub.ws_list(w, Some("t")).unwrap(), vec![(a + 1, 0)]);
    // Idle: the object retires; its socket stays.
    assert_eq!(s.hub.try_retire(w, 0), 0);
    assert!(s.hub.recycle(w), "the thread waits in its pool");
    drain(&wi);
    assert_eq!(s.hub.ws_count(), 2);
    s.hub.ws_send(a, crate::sockets::Event::Text("hi".into()));
    let got = drain(&wi);
    assert_eq!(
        got[0],
        Delivery::Start {
            ns: 0,
            id,
            name: Some("room".into())
        }
    );
    match &got[1] {
        Delivery::Call {
            method, payload, ..
        } => {
            assert_eq!(method, &format!("\u{6}{}:t", a + 1));
            assert_eq!(payload, &Payload::Text("hi".into()));
        }
        d => panic!("unexpected {d:?}"),
    }
}

#[test]
fn an_accepted_socket_closes_for_its_peer_when_its_instance_stops() {
    let s = setup(0);
    let (w, _wi) = host(&s, [4u8; 32]);
    let a = s.hub.ws_pair(w).unwrap();
    assert!(s.hub.ws_accept(w, a + 1).unwrap());
    assert!(s.hub.ws_accept(s.main, a).unwrap());
    s.hub.break_thread(w, Payload::Text("{}".into()));
    let got = drain(&s.main_inbox);
    assert!(got.contains(&Delivery::Call {
        call: 0,
        method: format!("\u{5}{a}:c:1006:0"),
        payload: Payload::Text(crate::sockets::GONE_REASON.into())
    }));
    assert_eq!(s.hub.ws_count(), 0);
}

#[test]
fn a_disposed_runtime_closes_its_objects_sockets_for_the_main_thread() {
    let s = setup(0);
    let (w, _wi) = host(&s, [5u8; 32]);
    let a = s.hub.ws_pair(w).unwrap();
    s.hub.ws_hibernate(w, a + 1, None, vec![]).unwrap();
    assert!(s.hub.ws_accept(s.main, a).unwrap());
    s.hub.dispose_runtime(s.rt);
    let got = drain(&s.main_inbox);
    assert!(got.iter().any(|d| matches!(d, Delivery::Call { call: 0, method, .. } if method == &format!("\u{5}{a}:c:1006:0"))));
    assert_eq!(s.hub.ws_count(), 0);
}
