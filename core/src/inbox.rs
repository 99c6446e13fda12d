//! One inbox per attached thread: a queue of deliveries plus the parking protocol that
//! lets a busy receiver pick messages up without any kernel wake-up.
//!
//! Protocol: a receiver that runs out of work either spins on [`Inbox::spin`] for a short,
//! capped time, or calls [`Inbox::park`] and goes back to its event loop. A sender pushes,
//! then wakes the receiver only if it was parked. `park` re-checks the queue after
//! publishing the parked flag, so a message pushed concurrently is never missed: either the
//! receiver sees it, or the sender sees the flag (possibly both, which costs one spurious
//! wake-up and nothing else).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::ids::ObjectId;

/// Encoded value crossing threads: JSON text for small plain values, V8 bytes otherwise.
/// The encoding is the JS side's choice; the core only moves it.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    Text(String),
    Bytes(Vec<u8>),
}

/// How a call ended, as its caller must see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyStatus {
    Ok = 0,
    /// The callee threw (or the call could not be delivered).
    Error = 1,
    /// The callee's instance was broken; the error carries `durableObjectReset: true`.
    Reset = 2,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    /// An RPC to the instance the receiving thread hosts.
    Call {
        call: u64,
        method: String,
        payload: Payload,
    },
    /// The answer to a call this thread made. `from` is the thread that answered (0: the
    /// hub itself): an answer still queued when this thread dies goes back to it, which
    /// lets go of the RPC references in it (`Hub::thread_died`).
    Reply {
        call: u64,
        status: ReplyStatus,
        payload: Payload,
        from: u32,
    },
    /// The receiving (warm) thread now hosts this object; calls follow.
    Start {
        ns: u32,
        id: ObjectId,
        name: Option<String>,
    },
    /// To a runtime's supervisor thread: start `count` more worker threads; `urgent` when
    /// an instance waits for one (otherwise they refill the warm pool, which can wait).
    Spawn {
        runtime: u32,
        count: u32,
        urgent: bool,
    },
    /// The receiving (warm) thread now hosts facet `entry`; `startup` is its encoded
    /// startup options (see lib/facets.js). Calls follow.
    StartFacet { entry: u64, startup: String },
    /// The runtime has more running threads than `maxRunningFacets`: end this thread if it
    /// is idle.
    Evict,
    /// The instance this thread hosted was stopped by someone else (abort, delete,
    /// clone-over, a broken ancestor): tear it down and return the thread to the pool.
    Stop,
    /// To a runtime's supervisor thread: end worker thread `tid` now (an aborted facet may
    /// be stuck in a loop).
    Terminate { runtime: u32, tid: u32 },
    /// To a runtime's supervisor thread: the alarm of an object changed (`time_ms` None:
    /// deleted).
    Alarm {
        runtime: u32,
        ns: u32,
        id: ObjectId,
        name: Option<String>,
        time_ms: Option<f64>,
    },
}

/// Wakes a parked thread (on the Node side: a threadsafe function call).
pub trait Waker: Send + Sync {
    fn wake(&self);
}

pub struct Inbox {
    queue: Mutex<Vec<Delivery>>,
    len: AtomicUsize,
    parked: AtomicBool,
    closed: AtomicBool,
    waker: Box<dyn Waker>,
}

impl Inbox {
    pub fn new(waker: Box<dyn Waker>) -> Self {
        Inbox {
            queue: Mutex::new(Vec::new()),
            len: AtomicUsize::new(0),
            parked: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            waker,
        }
    }

    /// Queues a delivery; false when the inbox is closed (its thread is gone).
    pub fn push(&self, delivery: Delivery) -> bool {
        self.try_push(delivery).is_ok()
    }

    /// Queues a delivery, or gives it back when the inbox is closed (its thread is gone).
    pub fn try_push(&self, delivery: Delivery) -> Result<(), Delivery> {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        if self.closed.load(SeqCst) {
            return Err(delivery);
        }
        q.push(delivery);
        self.len.fetch_add(1, SeqCst);
        // Woken under the queue lock: once `close` returns, no wake-up can reach a waker
        // whose thread is gone (a Node threadsafe function is freed with its thread).
        if self.parked.swap(false, SeqCst) {
            self.waker.wake();
        }
        drop(q);
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.len.load(SeqCst) == 0
    }

    /// Moves every queued delivery into `out` (which keeps its capacity between calls).
    pub fn drain_into(&self, out: &mut Vec<Delivery>) {
        if self.is_empty() {
            return;
        }
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        out.append(&mut q);
        self.len.store(0, SeqCst);
    }

    /// Busy-waits until something is queued or `max` elapses. Runtime threads spin between
    /// turns; the user's main thread only briefly, after answering a callback (lib/port.js).
    ///
    /// Between short bursts of polling the spinner yields its core: when the thread it waits
    /// for shares that core, spinning would otherwise hold off the very answer it waits for
    /// (measured: 10 µs → 140 µs per object→object call with both threads on one core).
    /// With a free core, `sched_yield` returns at once and costs well under a microsecond.
    pub fn spin(&self, max: Duration) -> bool {
        let start = Instant::now();
        loop {
            for _ in 0..64 {
                if !self.is_empty() {
                    return true;
                }
                std::hint::spin_loop();
            }
            if start.elapsed() >= max {
                return !self.is_empty();
            }
            std::thread::yield_now();
        }
    }

    /// Publishes that the receiver is going to sleep. Returns true when deliveries are
    /// already waiting, in which case the receiver must drain instead of sleeping.
    pub fn park(&self) -> bool {
        self.parked.store(true, SeqCst);
        if !self.is_empty() {
            self.parked.store(false, SeqCst);
            return true;
        }
        false
    }

    /// The receiver is awake (its wake-up callback runs).
    pub fn unpark(&self) {
        self.parked.store(false, SeqCst);
    }

    /// Drops everything queued (a recycled thread's leftovers of its previous instance);
    /// later deliveries are accepted.
    pub fn clear(&self) -> Vec<Delivery> {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        self.len.store(0, SeqCst);
        std::mem::take(&mut *q)
    }

    /// Drops everything queued and refuses later deliveries.
    pub fn close(&self) -> Vec<Delivery> {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        self.closed.store(true, SeqCst);
        self.len.store(0, SeqCst);
        std::mem::take(&mut *q)
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(SeqCst)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;
    use std::sync::Arc;

    #[derive(Default)]
    pub struct CountingWaker(pub Arc<AtomicU32>);
    impl Waker for CountingWaker {
        fn wake(&self) {
            self.0.fetch_add(1, SeqCst);
        }
    }

    fn reply(call: u64) -> Delivery {
        Delivery::Reply {
            call,
            status: ReplyStatus::Ok,
            payload: Payload::Text("1".into()),
            from: 0,
        }
    }

    #[test]
    fn push_wakes_only_a_parked_receiver() {
        let wakes = Arc::new(AtomicU32::new(0));
        let inbox = Inbox::new(Box::new(CountingWaker(wakes.clone())));
        inbox.push(reply(1));
        assert_eq!(wakes.load(SeqCst), 0);
        let mut out = Vec::new();
        inbox.drain_into(&mut out);
        assert_eq!(out.len(), 1);
        assert!(!inbox.park());
        inbox.push(reply(2));
        assert_eq!(wakes.load(SeqCst), 1);
        inbox.push(reply(3));
        assert_eq!(wakes.load(SeqCst), 1, "one wake per park");
    }

    #[test]
    fn park_refuses_to_sleep_when_messages_wait() {
        let inbox = Inbox::new(Box::<CountingWaker>::default());
        inbox.push(reply(1));
        assert!(inbox.park());
    }

    #[test]
    fn spin_returns_when_a_message_arrives_from_another_thread() {
        let inbox = Arc::new(Inbox::new(Box::<CountingWaker>::default()));
        let sender = inbox.clone();
        let t = std::thread::spawn(move || sender.push(reply(7)));
        assert!(inbox.spin(Duration::from_secs(5)));
        t.join().unwrap();
    }

    #[test]
    fn closed_inbox_refuses_deliveries() {
        let inbox = Inbox::new(Box::<CountingWaker>::default());
        inbox.push(reply(1));
        assert_eq!(inbox.close().len(), 1);
        assert!(!inbox.push(reply(2)));
        assert!(inbox.is_empty());
    }
}
