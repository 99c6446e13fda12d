use super::*;
use crate::inbox::tests::CountingWaker;
use crate::pool::MAX_WARM_FAILURES;

pub(super) fn inbox() -> Arc<Inbox> {
    Arc::new(Inbox::new(Box::<CountingWaker>::default()))
}

pub(super) fn drain(inbox: &Inbox) -> Vec<Delivery> {
    let mut out = Vec::new();
    inbox.drain_into(&mut out);
    out
}

/// A runtime with storage in a fresh directory named after `tag`, with `namespaces` (the
/// entry point's stateless one is `""`): `(hub, main thread, runtime, storage root)`.
pub(super) fn storage_runtime(
    tag: &str,
    namespaces: &[&str],
) -> (Hub, Tid, RtId, std::path::PathBuf) {
    let root = std::env::temp_dir().join(format!("df-hub-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let hub = Hub::new();
    let main = hub.attach_caller(inbox());
    let rt = hub
        .create_runtime(
            main,
            RuntimeConfig {
                namespaces: namespaces.iter().map(|n| n.to_string()).collect(),
                isolate: vec![false; namespaces.len()],
                warm_threads: 0,
                storage: Some(root.clone()),
                sync_full: false,
                max_running: 64,
            },
        )
        .unwrap();
    (hub, main, rt, root)
}

fn text(s: &str) -> Payload {
    Payload::Text(s.into())
}

pub(super) struct Setup {
    pub(super) hub: Hub,
    pub(super) main: Tid,
    pub(super) main_inbox: Arc<Inbox>,
    pub(super) rt: RtId,
}

pub(super) fn setup(warm: u32) -> Setup {
    let hub = Hub::new();
    let main_inbox = inbox();
    let main = hub.attach_caller(main_inbox.clone());
    let rt = hub
        .create_runtime(
            main,
            RuntimeConfig {
                namespaces: vec!["ns".into()],
                isolate: vec![false],
                warm_threads: warm,
                storage: None,
                sync_full: false,
                max_running: 64,
            },
        )
        .unwrap();
    Setup {
        hub,
        main,
        main_inbox,
        rt,
    }
}

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

#[test]
fn runtime_asks_its_supervisor_for_the_warm_pool() {
    let s = setup(2);
    assert_eq!(
        drain(&s.main_inbox),
        vec![Delivery::Spawn {
            runtime: s.rt,
            count: 2,
            urgent: false
        }]
    );
}

#[test]
fn call_to_a_new_object_waits_for_a_thread_then_arrives_after_start() {
    let s = setup(0);
    let id = [7u8; 32];
    let call = s
        .hub
        .call(
            s.main,
            s.rt,
            0,
            id,
            Some("n".into()),
            "m".into(),
            text("[]"),
        )
        .unwrap();
    assert_eq!(
        drain(&s.main_inbox),
        vec![Delivery::Spawn {
            runtime: s.rt,
            count: 1,
            urgent: true
        }]
    );
    let (w, wi) = start_worker(&s);
    let got = drain(&wi);
    assert_eq!(
        got,
        vec![
            Delivery::Start {
                ns: 0,
                id,
                name: Some("n".into())
            },
            Delivery::Call {
                call,
                method: "m".into(),
                payload: text("[]")
            }
        ]
    );
    s.hub.reply(w, call, ReplyStatus::Ok, text("42"));
    assert_eq!(
        drain(&s.main_inbox),
        vec![Delivery::Reply {
            call,
            status: ReplyStatus::Ok,
            payload: text("42"),
            from: w
        }]
    );
    assert_eq!(s.hub.outstanding_from(s.main), 0);
}

#[test]
fn warm_thread_is_used_at_once_and_the_pool_is_refilled() {
    let s = setup(1);
    drain(&s.main_inbox);
    let (_, wi) = start_worker(&s);
    s.hub
        .call(s.main, s.rt, 0, [1; 32], None, "m".into(), text("[]"))
        .unwrap();
    assert_eq!(drain(&wi).len(), 2, "start + call");
    assert_eq!(
        drain(&s.main_inbox),
        vec![Delivery::Spawn {
            runtime: s.rt,
            count: 1,
            urgent: false
        }],
        "a refill of the pool, which may wait"
    );
}

#[test]
fn calls_to_one_object_keep_their_order() {
    let s = setup(0);
    let calls: Vec<u64> = (0..5)
        .map(|i| {
            s.hub
                .call(s.main, s.rt, 0, [2; 32], None, format!("m{i}"), text("[]"))
                .unwrap()
        })
        .collect();
    let (_, wi) = start_worker(&s);
    let more = s
        .hub
        .call(s.main, s.rt, 0, [2; 32], None, "m5".into(), text("[]"))
        .unwrap();
    let got: Vec<u64> = drain(&wi)
        .into_iter()
        .filter_map(|d| match d {
            Delivery::Call { call, .. } => Some(call),
            _ => None,
        })
        .collect();
    let mut expected = calls;
    expected.push(more);
    assert_eq!(got, expected);
}

#[test]
fn thread_death_rejects_exactly_the_calls_addressed_to_it() {
    let s = setup(0);
    let a = s
        .hub
        .call(s.main, s.rt, 0, [3; 32], None, "m".into(), text("[]"))
        .unwrap();
    let b = s
        .hub
        .call(s.main, s.rt, 0, [4; 32], None, "m".into(), text("[]"))
        .unwrap();
    let (wa, _) = start_worker(&s);
    let (_wb, _) = start_worker(&s);
    drain(&s.main_inbox);
    s.hub.thread_gone(wa);
    let replies = drain(&s.main_inbox);
    assert_eq!(replies.len(), 1);
    match &replies[0] {
        Delivery::Reply { call, status, .. } => {
            assert_eq!(*call, a);
            assert_eq!(*status, ReplyStatus::Reset);
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(s.hub.outstanding_from(s.main), 1, "call {b} still pending");
}

#[test]
fn next_call_after_a_break_starts_a_fresh_instance_on_the_recycled_thread() {
    let s = setup(0);
    s.hub
        .call(s.main, s.rt, 0, [5; 32], None, "m".into(), text("[]"))
        .unwrap();
    let (w1, w1i) = start_worker(&s);
    drain(&w1i);
    s.hub
        .break_thread(w1, error_payload("Error", ErrorCode::Internal, "boom"));
    drain(&s.main_inbox);
    s.hub
        .call(s.main, s.rt, 0, [5; 32], None, "m".into(), text("[]"))
        .unwrap();
    assert!(
        drain(&s.main_inbox).is_empty(),
        "the call waits for the thread that is tearing down"
    );
    assert!(s.hub.recycle(w1));
    assert!(matches!(
        drain(&w1i).as_slice(),
        [Delivery::Start { .. }, Delivery::Call { .. }]
    ));
}

#[test]
fn a_thread_that_dies_while_recycling_is_replaced_for_the_waiting_instance() {
    let s = setup(0);
    s.hub
        .call(s.main, s.rt, 0, [5; 32], None, "m".into(), text("[]"))
        .unwrap();
    let (w1, _) = start_worker(&s);
    s.hub
        .break_thread(w1, error_payload("Error", ErrorCode::Internal, "boom"));
    drain(&s.main_inbox);
    s.hub
        .call(s.main, s.rt, 0, [5; 32], None, "m".into(), text("[]"))
        .unwrap();
    s.hub.thread_gone(w1);
    assert!(matches!(
        drain(&s.main_inbox).as_slice(),
        [Delivery::Spawn { count: 1, .. }]
    ));
    let (_, w2i) = start_worker(&s);
    assert!(matches!(drain(&w2i)[0], Delivery::Start { .. }));
}

#[test]
fn late_reply_from_a_broken_instance_is_ignored() {
    let s = setup(0);
    let call = s
        .hub
        .call(s.main, s.rt, 0, [6; 32], None, "m".into(), text("[]"))
        .unwrap();
    let (w, _) = start_worker(&s);
    s.hub
        .break_thread(w, error_payload("Error", ErrorCode::Internal, "boom"));
    drain(&s.main_inbox);
    s.hub.reply(w, call, ReplyStatus::Ok, text("1"));
    assert!(drain(&s.main_inbox).is_empty());
}

#[test]
fn retire_waits_for_idle_then_recycles_the_thread_for_the_next_instance() {
    let s = setup(0);
    let call = s
        .hub
        .call(s.main, s.rt, 0, [8; 32], None, "m".into(), text("[]"))
        .unwrap();
    let (w, wi) = start_worker(&s);
    drain(&wi);
    assert!(s.hub.try_retire(w, 0) > 0, "busy while a call is in flight");
    s.hub.reply(w, call, ReplyStatus::Ok, text("1"));
    assert!(s.hub.try_retire(w, 60_000) > 0, "not idle long enough");
    assert_eq!(s.hub.try_retire(w, 0), 0);
    assert!(!wi.is_closed(), "the thread is recycled, not ended");
    assert!(s.hub.recycle(w), "back in its code's pool");
    assert!(
        !s.hub.condemn(w),
        "a thread back in the pool is not terminated"
    );
    assert!(
        drain(&wi).is_empty(),
        "nothing of the old instance is left queued"
    );
    drain(&s.main_inbox);
    s.hub
        .call(s.main, s.rt, 0, [8; 32], None, "m".into(), text("[]"))
        .unwrap();
    assert!(drain(&s.main_inbox).is_empty(), "no new thread is needed");
    assert!(matches!(
        drain(&wi).as_slice(),
        [Delivery::Start { .. }, Delivery::Call { .. }]
    ));
}

#[test]
fn a_recycled_thread_only_serves_instances_of_its_code() {
    let s = setup(0);
    s.hub
        .call(s.main, s.rt, 0, [3; 32], None, "m".into(), text("[]"))
        .unwrap();
    let (w, wi) = start_worker(&s);
    assert_eq!(drain(&wi).len(), 2, "start + call");
    s.hub
        .break_thread(w, error_payload("Error", ErrorCode::Internal, "boom"));
    assert_eq!(drain(&wi), vec![Delivery::Stop]);
    assert!(s.hub.recycle(w));
    assert_eq!(
        code_identity(&Delivery::Start {
            ns: 0,
            id: [3; 32],
            name: None
        })
        .as_ref(),
        RUNTIME_CODE
    );
    let loader = Delivery::StartFacet {
        entry: 1,
        startup: "{\"k\":\"abc\",\"c\":{}}".into(),
    };
    assert_eq!(code_identity(&loader).as_ref(), "abc");
    // Another root object of the runtime's code takes the recycled thread at once.
    drain(&s.main_inbox);
    s.hub
        .call(s.main, s.rt, 0, [4; 32], None, "m".into(), text("[]"))
        .unwrap();
    assert_eq!(drain(&wi).len(), 2, "start + call on the recycled thread");
    assert!(drain(&s.main_inbox).is_empty());
}

#[test]
fn dispose_rejects_calls_and_lists_threads_to_end() {
    let s = setup(0);
    let call = s
        .hub
        .call(s.main, s.rt, 0, [9; 32], None, "m".into(), text("[]"))
        .unwrap();
    let (w, _) = start_worker(&s);
    drain(&s.main_inbox);
    assert_eq!(s.hub.dispose_runtime(s.rt), vec![w]);
    match drain(&s.main_inbox).as_slice() {
        [Delivery::Reply {
            call: c,
            status: ReplyStatus::Error,
            ..
        }] => assert_eq!(*c, call),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        s.hub
            .call(s.main, s.rt, 0, [9; 32], None, "m".into(), text("[]")),
        Err(CoreError::Disposed)
    );
}

#[test]
fn worker_dying_during_start_up_fails_the_waiting_object() {
    let s = setup(0);
    let call = s
        .hub
        .call(s.main, s.rt, 0, [10; 32], None, "m".into(), text("[]"))
        .unwrap();
    let tid = s
        .hub
        .reserve_thread(s.rt)
        .unwrap()
        .expect("a thread is needed");
    drain(&s.main_inbox);
    s.hub.thread_gone(tid);
    let got = drain(&s.main_inbox);
    assert!(got.iter().any(|d| matches!(d,
        Delivery::Reply { call: c, status: ReplyStatus::Reset, .. } if *c == call)));
}

#[test]
fn warm_pool_stops_refilling_after_repeated_start_up_deaths() {
    let s = setup(1);
    let mut spawned = 0;
    for _ in 0..10 {
        for d in drain(&s.main_inbox) {
            if let Delivery::Spawn { count, .. } = d {
                spawned += count;
                for _ in 0..count {
                    let tid = s
                        .hub
                        .reserve_thread(s.rt)
                        .unwrap()
                        .expect("a thread is needed");
                    s.hub.thread_gone(tid);
                }
            }
        }
    }
    assert_eq!(spawned, MAX_WARM_FAILURES);
}

#[test]
fn core_error_payload_escapes_json() {
    assert_eq!(
        error_payload("Error", ErrorCode::Internal, "a\"b\\c\n"),
        Payload::Text(r#"{"t":"Error","m":"a\"b\\c\u000a","p":{"code":"ERR_DO_INTERNAL"}}"#.into())
    );
}

/// Starts object `id` on a fresh worker and answers its first call; returns the worker.
fn hosted_object(s: &Setup, id: ObjectId) -> (Tid, Arc<Inbox>) {
    let call = s
        .hub
        .call(s.main, s.rt, 0, id, None, "m".into(), text("[]"))
        .unwrap();
    let (w, wi) = start_worker(s);
    drain(&wi);
    s.hub.reply(w, call, ReplyStatus::Ok, text("1"));
    drain(&s.main_inbox);
    (w, wi)
}

#[test]
fn a_reference_call_reaches_the_owner_instance_and_is_answered() {
    let s = setup(0);
    let (w, wi) = hosted_object(&s, [3u8; 32]);
    let instance = s.hub.instance_of(w).expect("hosting");
    let call = s
        .hub
        .ref_call(s.main, w, instance, "\u{1}op".into(), text("[]"))
        .unwrap();
    assert_eq!(
        drain(&wi),
        vec![Delivery::Call {
            call,
            method: "\u{8}\u{1}op".into(),
            payload: text("[]")
        }],
        "marked as a call through a reference"
    );
    // No other call may carry that mark.
    assert_eq!(
        s.hub.call(
            s.main,
            s.rt,
            0,
            [3u8; 32],
            None,
            "\u{8}\u{1}op".into(),
            text("[]")
        ),
        Err(CoreError::ReservedMethod)
    );
    // The owner is busy while it serves the call: it cannot retire.
    assert!(s.hub.try_retire(w, 0) > 0);
    s.hub.reply(w, call, ReplyStatus::Ok, text("2"));
    assert_eq!(
        drain(&s.main_inbox),
        vec![Delivery::Reply {
            call,
            status: ReplyStatus::Ok,
            payload: text("2"),
            from: w
        }]
    );
}

#[test]
fn a_reference_never_reaches_a_later_instance_of_its_thread() {
    let s = setup(0);
    let (w, wi) = hosted_object(&s, [4u8; 32]);
    let instance = s.hub.instance_of(w).unwrap();
    s.hub
        .break_thread(w, error_payload("Error", ErrorCode::Internal, "boom"));
    assert!(s.hub.recycle(w));
    drain(&wi);
    // The recycled thread hosts the next object: a new instance.
    hosted_object_on(&s, [5u8; 32], w, &wi);
    assert_ne!(s.hub.instance_of(w), Some(instance));
    assert_eq!(
        s.hub
            .ref_call(s.main, w, instance, "\u{1}op".into(), text("[]")),
        Err(CoreError::ReferenceGone)
    );
    s.hub.ref_release(s.main, w, instance, "\u{2}1".into());
    assert_eq!(
        drain(&wi),
        vec![],
        "a release for a stopped instance goes nowhere"
    );
}

/// Starts object `id` on pooled thread `w` (recycled with runtime code).
fn hosted_object_on(s: &Setup, id: ObjectId, w: Tid, wi: &Inbox) {
    let call = s
        .hub
        .call(s.main, s.rt, 0, id, None, "m".into(), text("[]"))
        .unwrap();
    assert!(matches!(drain(wi).first(), Some(Delivery::Start { .. })));
    s.hub.reply(w, call, ReplyStatus::Ok, text("1"));
    drain(&s.main_inbox);
}

#[test]
fn a_release_is_a_call_without_an_answer() {
    let s = setup(0);
    let (w, wi) = hosted_object(&s, [6u8; 32]);
    let instance = s.hub.instance_of(w).unwrap();
    s.hub.ref_imported(s.main, w, instance, 7);
    s.hub.ref_release(s.main, w, instance, "\u{2}7".into());
    assert_eq!(
        drain(&wi),
        vec![Delivery::Call {
            call: 0,
            method: "\u{2}7".into(),
            payload: text("")
        }]
    );
    assert_eq!(
        s.hub.try_retire(w, 0),
        0,
        "nothing in flight: it may retire"
    );
}

#[test]
fn a_stateless_namespace_gets_no_storage_directory() {
    let (hub, main, rt, root) = storage_runtime("stateless", &["ns", ""]);
    let mut entries: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    assert_eq!(entries, vec!["ns".to_string()]);
    // Calls still route to it (an instance waits for a thread).
    hub.call(main, rt, 1, [0u8; 32], None, "fetch".into(), text("[]"))
        .unwrap();
    hub.dispose_runtime(rt);
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn an_unread_answer_that_may_hold_references_goes_back_to_its_sender() {
    let s = setup(0);
    let (w, wi) = hosted_object(&s, [8u8; 32]);
    // No call 999 is in flight: nobody reads these answers.
    s.hub.reply(w, 999, ReplyStatus::Ok, text("{\"plain\":1}"));
    assert_eq!(drain(&wi), vec![], "plain data needs nothing");
    s.hub
        .reply(w, 999, ReplyStatus::Ok, text("\u{1}{\"\\u0000ref\":[]}"));
    s.hub
        .reply(w, 999, ReplyStatus::Ok, Payload::Bytes(vec![0xff, 0x0f]));
    assert_eq!(
        drain(&wi),
        vec![
            Delivery::Call {
                call: 0,
                method: UNREAD_ANSWER.into(),
                payload: text("\u{1}{\"\\u0000ref\":[]}")
            },
            Delivery::Call {
                call: 0,
                method: UNREAD_ANSWER.into(),
                payload: Payload::Bytes(vec![0xff, 0x0f])
            }
        ]
    );
}

#[test]
fn retire_answering_replies_to_the_asking_call_and_retires_in_one_step() {
    let s = setup(0);
    let ask = s
        .hub
        .call(s.main, s.rt, 0, [8; 32], None, "\0evict".into(), text("[]"))
        .unwrap();
    let (w, wi) = start_worker(&s);
    drain(&wi);
    drain(&s.main_inbox);
    assert_eq!(s.hub.retire_answering(w, ask, text("true")), 0);
    assert!(matches!(
        drain(&s.main_inbox).as_slice(),
        [Delivery::Reply {
            status: ReplyStatus::Ok,
            ..
        }]
    ));
    assert!(s.hub.recycle(w), "recycled as after idle eviction");
    // The next call starts a new instance.
    s.hub
        .call(s.main, s.rt, 0, [8; 32], None, "m".into(), text("[]"))
        .unwrap();
    assert!(matches!(
        drain(&wi).as_slice(),
        [Delivery::Start { .. }, Delivery::Call { .. }]
    ));
}

#[test]
fn retire_answering_leaves_the_call_unanswered_while_another_call_is_in_flight() {
    let s = setup(0);
    let ask = s
        .hub
        .call(s.main, s.rt, 0, [8; 32], None, "\0evict".into(), text("[]"))
        .unwrap();
    s.hub
        .call(s.main, s.rt, 0, [8; 32], None, "m".into(), text("[]"))
        .unwrap();
    let (w, wi) = start_worker(&s);
    drain(&wi);
    drain(&s.main_inbox);
    assert!(s.hub.retire_answering(w, ask, text("true")) > 0);
    assert!(drain(&s.main_inbox).is_empty(), "not answered yet");
}
