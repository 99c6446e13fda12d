//! Payloads nobody will read go back to the thread whose RPC references they may hold
//! (`HubState::bounce_unread`): answers queued for a thread that died or whose instance
//! stopped, and arguments of calls that were never delivered.
use super::tests::{drain, inbox, setup};
use super::*;

const WITH_REFS: &str = "\u{1}{\"\\u0000ref\":[\"f\",1,1,1]}";

fn refs() -> Payload {
    Payload::Text(WITH_REFS.into())
}

fn plain() -> Payload {
    Payload::Text("[]".into())
}

/// A worker thread of `s`'s runtime, attached and hosting object `id` (its start drained).
pub(super) fn hosting(s: &tests::Setup, id: ObjectId) -> (Tid, Arc<Inbox>, u64) {
    let call = s
        .hub
        .call(s.main, s.rt, 0, id, None, "m".into(), plain())
        .unwrap();
    let tid = s.hub.reserve_thread(s.rt).unwrap().expect("a thread");
    let ib = inbox();
    s.hub.attach_worker(tid, ib.clone()).unwrap();
    drain(&ib);
    (tid, ib, call)
}

fn unread(payload: Payload) -> Delivery {
    Delivery::Call {
        call: 0,
        method: UNREAD_ANSWER.into(),
        payload,
    }
}

#[test]
fn an_answer_queued_for_a_thread_that_died_goes_back_to_its_sender() {
    let s = setup(0);
    let (a, _ai, _) = hosting(&s, [1; 32]);
    let (b, bi, _) = hosting(&s, [2; 32]);
    // A calls B; B answers with references; A dies before it reads the answer.
    let call = s
        .hub
        .call(a, s.rt, 0, [2; 32], None, "get".into(), plain())
        .unwrap();
    drain(&bi);
    s.hub.reply(b, call, ReplyStatus::Ok, refs());
    s.hub.thread_gone(a);
    assert_eq!(drain(&bi), vec![unread(refs())]);
}

#[test]
fn an_answer_queued_for_a_stopped_instance_goes_back_to_its_sender() {
    let s = setup(0);
    let (a, _ai, _) = hosting(&s, [3; 32]);
    let (b, bi, _) = hosting(&s, [4; 32]);
    let call = s
        .hub
        .call(a, s.rt, 0, [4; 32], None, "get".into(), plain())
        .unwrap();
    drain(&bi);
    s.hub.reply(b, call, ReplyStatus::Ok, refs());
    s.hub.break_thread(a, plain());
    assert_eq!(drain(&bi), vec![unread(refs())]);
}

#[test]
fn plain_answers_queued_for_a_dead_thread_are_dropped() {
    let s = setup(0);
    let (a, _ai, _) = hosting(&s, [5; 32]);
    let (b, bi, _) = hosting(&s, [6; 32]);
    let call = s
        .hub
        .call(a, s.rt, 0, [6; 32], None, "get".into(), plain())
        .unwrap();
    drain(&bi);
    s.hub.reply(b, call, ReplyStatus::Ok, plain());
    s.hub.thread_gone(a);
    assert_eq!(drain(&bi), vec![]);
}

#[test]
fn arguments_of_a_call_queued_for_a_stopped_instance_go_back_to_the_caller() {
    let s = setup(0);
    let (b, bi, _) = hosting(&s, [7; 32]);
    let call = s
        .hub
        .call(s.main, s.rt, 0, [7; 32], None, "take".into(), refs())
        .unwrap();
    drain(&s.main_inbox);
    s.hub.break_thread(b, plain());
    drop(bi);
    let got = drain(&s.main_inbox);
    assert!(got.contains(&unread(refs())), "{got:?}");
    assert!(got.iter().any(|d| matches!(d,
        Delivery::Reply { call: c, status: ReplyStatus::Reset, .. } if *c == call)));
}

#[test]
fn arguments_of_a_call_whose_object_never_got_a_thread_go_back_to_the_caller() {
    let s = setup(0);
    let call = s
        .hub
        .call(s.main, s.rt, 0, [8; 32], None, "take".into(), refs())
        .unwrap();
    let tid = s.hub.reserve_thread(s.rt).unwrap().expect("a thread");
    drain(&s.main_inbox);
    s.hub.thread_gone(tid);
    let got = drain(&s.main_inbox);
    assert!(got.contains(&unread(refs())), "{got:?}");
    assert!(got.iter().any(|d| matches!(d,
        Delivery::Reply { call: c, status: ReplyStatus::Reset, .. } if *c == call)));
}

#[test]
fn arguments_of_a_call_waiting_when_the_runtime_is_disposed_go_back_to_the_caller() {
    let s = setup(0);
    let _call = s
        .hub
        .call(s.main, s.rt, 0, [9; 32], None, "take".into(), refs())
        .unwrap();
    drain(&s.main_inbox);
    s.hub.dispose_runtime(s.rt);
    assert!(drain(&s.main_inbox).contains(&unread(refs())));
}

#[test]
fn an_answer_to_a_caller_whose_inbox_closed_goes_back_to_its_sender() {
    let s = setup(0);
    let (a, ai, _) = hosting(&s, [10; 32]);
    let (b, bi, _) = hosting(&s, [11; 32]);
    let call = s
        .hub
        .call(a, s.rt, 0, [11; 32], None, "get".into(), plain())
        .unwrap();
    drain(&bi);
    // The caller's thread is going away: its inbox closed before the hub heard of it.
    s.hub.unread(ai.close());
    s.hub.reply(b, call, ReplyStatus::Ok, refs());
    assert_eq!(drain(&bi), vec![unread(refs())]);
}

#[test]
fn what_a_closing_inbox_held_goes_back() {
    let s = setup(0);
    let (a, ai, _) = hosting(&s, [12; 32]);
    let (b, bi, _) = hosting(&s, [13; 32]);
    let call = s
        .hub
        .call(a, s.rt, 0, [13; 32], None, "get".into(), plain())
        .unwrap();
    drain(&bi);
    s.hub.reply(b, call, ReplyStatus::Ok, refs());
    s.hub.unread(ai.close());
    assert_eq!(drain(&bi), vec![unread(refs())]);
}
