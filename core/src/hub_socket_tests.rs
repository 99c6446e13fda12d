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

/// A facet startup of the runtime's own code (what lib/facets.js `encodeStartup` makes).
const FACET_STARTUP: &str = "{\"k\":\"\",\"c\":{\"kind\":\"main\",\"className\":\"Room\"}}";

/// Creates facet `name` under the root thread `w` hosts and hosts it on a new worker (a
/// call through the facet stub, answered): returns (entry, worker, its inbox).
fn host_facet(s: &Setup, w: Tid, wi: &Inbox, name: &str) -> (u64, Tid, Arc<Inbox>) {
    let facet_ops::Found::Entry(e) = s
        .hub
        .facet_create(
            w,
            name,
            FACET_STARTUP.into(),
            facet_ops::CreateMode::KeepExisting,
            None,
        )
        .unwrap()
    else {
        panic!("no entry")
    };
    let call = s
        .hub
        .facet_call(w, s.rt, e, "m".into(), Payload::Text("[]".into()))
        .unwrap();
    let (fw, fwi) = start_worker(s);
    let got = drain(&fwi);
    assert!(matches!(got[0], Delivery::StartFacet { entry, .. } if entry == e));
    s.hub
        .reply(fw, call, ReplyStatus::Ok, Payload::Text("null".into()));
    drain(wi);
    (e, fw, fwi)
}

/// The socket-close deliveries of the main thread: the ends they name, with their code.
fn closes_heard(s: &Setup) -> Vec<String> {
    drain(&s.main_inbox)
        .into_iter()
        .filter_map(|d| match d {
            Delivery::Call {
                call: 0, method, ..
            } if method.contains(":c:") => Some(method),
            _ => None,
        })
        .collect()
}

#[test]
fn a_facets_sockets_are_its_own_not_its_parents() {
    let s = setup(0);
    let (w, wi) = host(&s, [6u8; 32]);
    let (_, fw, _) = host_facet(&s, w, &wi, "f");
    let (_, sw, _) = host_facet(&s, w, &wi, "g");
    let a = s.hub.ws_pair(fw).unwrap();
    s.hub
        .ws_hibernate(fw, a + 1, None, vec!["t".into()])
        .unwrap();
    s.hub
        .ws_set_auto(fw, Some(("ping".into(), "pong".into())))
        .unwrap();
    assert_eq!(s.hub.ws_list(fw, Some("t")).unwrap(), vec![(a + 1, 0)]);
    assert!(s.hub.ws_list(w, None).unwrap().is_empty(), "not the root's");
    assert!(
        s.hub.ws_list(sw, None).unwrap().is_empty(),
        "not a sibling's"
    );
    assert!(s.hub.ws_auto(w).unwrap().is_none());
    assert!(s.hub.ws_auto(sw).unwrap().is_none());
}

#[test]
fn a_message_to_an_evicted_facets_socket_starts_the_facet_from_its_entry_alone() {
    let s = setup(0);
    let (w, wi) = host(&s, [7u8; 32]);
    let (e, fw, fwi) = host_facet(&s, w, &wi, "f");
    let a = s.hub.ws_pair(fw).unwrap();
    s.hub.ws_hibernate(fw, a + 1, None, vec![]).unwrap();
    assert!(s.hub.ws_accept(s.main, a).unwrap());
    // Both the facet and its parent are evicted; the socket stays.
    assert_eq!(s.hub.try_retire(fw, 0), 0);
    assert!(s.hub.recycle(fw));
    assert_eq!(s.hub.try_retire(w, 0), 0);
    assert!(s.hub.recycle(w));
    drain(&fwi);
    drain(&wi);
    assert_eq!(s.hub.ws_count(), 2);
    s.hub.ws_send(a, crate::sockets::Event::Text("hi".into()));
    // Whichever recycled thread serves it gets the facet's start, then the event; the
    // parent is not started.
    let mut got = drain(&fwi);
    got.extend(drain(&wi));
    assert_eq!(
        got[0],
        Delivery::StartFacet {
            entry: e,
            startup: FACET_STARTUP.into()
        }
    );
    assert!(matches!(&got[1], Delivery::Call { method, payload, .. }
        if method == &format!("\u{6}{}:t", a + 1) && payload == &Payload::Text("hi".into())));
    assert_eq!(got.len(), 2, "only the facet started: {got:?}");
}

#[test]
fn aborting_a_facet_disconnects_its_sockets_and_not_its_parents() {
    let s = setup(0);
    let (w, wi) = host(&s, [8u8; 32]);
    let (_, fw, _) = host_facet(&s, w, &wi, "f");
    let r = s.hub.ws_pair(w).unwrap();
    s.hub.ws_hibernate(w, r + 1, None, vec![]).unwrap();
    assert!(s.hub.ws_accept(s.main, r).unwrap());
    let a = s.hub.ws_pair(fw).unwrap();
    s.hub.ws_hibernate(fw, a + 1, None, vec![]).unwrap();
    assert!(s.hub.ws_accept(s.main, a).unwrap());
    drain(&s.main_inbox);
    s.hub
        .facet_stop(
            w,
            "f",
            facet_ops::StopReason::Abort(Payload::Text("{}".into())),
        )
        .unwrap();
    assert_eq!(closes_heard(&s), vec![format!("\u{5}{a}:c:1006:0")]);
    assert_eq!(s.hub.ws_list(w, None).unwrap(), vec![(r + 1, 0)]);
    assert_eq!(s.hub.ws_count(), 2, "the root's pair stays");
}

#[test]
fn a_root_reset_disconnects_its_facets_sockets() {
    let s = setup(0);
    let (w, wi) = host(&s, [9u8; 32]);
    let (_, fw, _) = host_facet(&s, w, &wi, "f");
    let a = s.hub.ws_pair(fw).unwrap();
    s.hub.ws_hibernate(fw, a + 1, None, vec![]).unwrap();
    assert!(s.hub.ws_accept(s.main, a).unwrap());
    // The facet is evicted first: its sockets belong to its entry, not its thread.
    assert_eq!(s.hub.try_retire(fw, 0), 0);
    drain(&s.main_inbox);
    s.hub.break_thread(w, Payload::Text("{}".into()));
    assert_eq!(closes_heard(&s), vec![format!("\u{5}{a}:c:1006:0")]);
    assert_eq!(s.hub.ws_count(), 0);
}
