//! Why a thread died reaches the calls addressed to it (`Hub::thread_died`): the supervisor
//! knows when Node stopped a worker for running out of memory.
use super::*;
// The hub's own test helpers: a counting inbox, draining, a runtime without warm threads.
use super::tests::{drain, inbox};

fn setup() -> (Hub, Tid, Arc<Inbox>, RtId) {
    let s = super::tests::setup(0);
    (s.hub, s.main, s.main_inbox, s.rt)
}

fn oom() -> Payload {
    error_payload(
        "Error",
        ErrorCode::MemoryLimit,
        "Durable Object exceeded its memory limit (128 MB).",
    )
}

/// The payload of the one reset reply to `call` in `deliveries`.
fn reset_payload(deliveries: &[Delivery], call: u64) -> Payload {
    let found: Vec<&Payload> = deliveries
        .iter()
        .filter_map(|d| match d {
            Delivery::Reply {
                call: c,
                status: ReplyStatus::Reset,
                payload,
                ..
            } if *c == call => Some(payload),
            _ => None,
        })
        .collect();
    assert_eq!(found.len(), 1, "one reset reply to call {call}");
    found[0].clone()
}

#[test]
fn a_hosting_thread_that_died_rejects_its_calls_with_the_reason() {
    let (hub, main, main_inbox, rt) = setup();
    let call = hub
        .call(
            main,
            rt,
            0,
            [7; 32],
            None,
            "m".into(),
            Payload::Text("[]".into()),
        )
        .unwrap();
    let tid = hub.reserve_thread(rt).unwrap().expect("a thread is needed");
    hub.attach_worker(tid, inbox()).unwrap();
    drain(&main_inbox);
    hub.thread_died(tid, Some(oom()));
    assert_eq!(reset_payload(&drain(&main_inbox), call), oom());
}

#[test]
fn a_thread_that_died_starting_up_rejects_the_waiting_calls_with_the_reason() {
    let (hub, main, main_inbox, rt) = setup();
    let call = hub
        .call(
            main,
            rt,
            0,
            [8; 32],
            None,
            "m".into(),
            Payload::Text("[]".into()),
        )
        .unwrap();
    let tid = hub.reserve_thread(rt).unwrap().expect("a thread is needed");
    drain(&main_inbox);
    hub.thread_died(tid, Some(oom()));
    assert_eq!(reset_payload(&drain(&main_inbox), call), oom());
}

#[test]
fn without_a_reason_a_dead_thread_reports_that_it_exited() {
    let (hub, main, main_inbox, rt) = setup();
    let call = hub
        .call(
            main,
            rt,
            0,
            [9; 32],
            None,
            "m".into(),
            Payload::Text("[]".into()),
        )
        .unwrap();
    let tid = hub.reserve_thread(rt).unwrap().expect("a thread is needed");
    hub.attach_worker(tid, inbox()).unwrap();
    drain(&main_inbox);
    hub.thread_died(tid, None);
    assert_eq!(
        reset_payload(&drain(&main_inbox), call),
        error_payload(
            "Error",
            ErrorCode::ThreadExited,
            "Durable Object's thread exited unexpectedly."
        )
    );
}

#[test]
fn the_first_report_of_a_death_wins() {
    let (hub, main, main_inbox, rt) = setup();
    let call = hub
        .call(
            main,
            rt,
            0,
            [6; 32],
            None,
            "m".into(),
            Payload::Text("[]".into()),
        )
        .unwrap();
    let tid = hub.reserve_thread(rt).unwrap().expect("a thread is needed");
    hub.attach_worker(tid, inbox()).unwrap();
    drain(&main_inbox);
    hub.thread_died(tid, Some(oom()));
    hub.thread_died(tid, None);
    let got = drain(&main_inbox);
    assert_eq!(reset_payload(&got, call), oom());
}
