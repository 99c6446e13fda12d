//! The dispatch core: every runtime, every attached thread, every running object and every
//! call in flight. Threads push deliveries straight into each other's inboxes (no hop
//! through a dispatcher thread); the hub only decides where a call goes and remembers who
//! waits for what, so that a thread's death or a runtime's disposal rejects exactly the
//! calls addressed to it.

use std::collections::{HashMap, VecDeque};
use std::mem::ManuallyDrop;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};
use std::time::Instant;

use crate::effects::Io;
use crate::error::{CoreError, ErrorCode};
use crate::ids::{self, NamespaceKey, ObjectId};
use crate::inbox::{Delivery, Inbox, Payload, ReplyStatus};
use crate::storage::cell::DbCell;
use crate::storage::placement;
use crate::storage::store::NamespaceDir;

/// An object's database, shared by its thread and the hub (which commits and closes it
/// when the runtime is disposed).
pub type SharedDb = Arc<DbCell>;

/// An alarm found in a namespace's index: (namespace index, id hex, name, time in ms).
pub type StoredAlarm = (u32, String, Option<String>, f64);

use crate::facets::Forest;
pub use crate::facets::{ObjectKey, Target};
pub use crate::pool::{code_identity, RUNTIME_CODE};
use crate::pool::{prune, ThreadPool, MIN_POOL_CAP};

pub use crate::pool::Tid;
pub type RtId = u32;

/// Marks the method of a call through a reference (`Hub::ref_call`): only those may
/// address an instance's exports, and no other call may carry the mark, so a holder of a
/// namespace or facet stub cannot reach references it was never given.
pub const REF_DELIVERY: char = '\u{8}';

/// The method of a bounced answer (see `HubState::bounce`).
pub const UNREAD_ANSWER: &str = "\u{7}";

/// A thread tearing its stopped instance down for this long is stuck (the supervisor,
/// which asks after 250 ms, terminates it).
const STUCK_AFTER: std::time::Duration = std::time::Duration::from_millis(200);

/// What a runtime needs from its configuration.
pub struct RuntimeConfig {
    /// Unique keys. A key `""` is a stateless namespace (the Worker's entry point): it must
    /// come after every other namespace, and gets no storage directory.
    pub namespaces: Vec<String>,
    /// Per namespace: `facetFailure: "isolate"` (only the broken facet's subtree restarts).
    pub isolate: Vec<bool>,
    pub warm_threads: u32,
    /// Storage directory; `None` keeps every database in memory.
    pub storage: Option<std::path::PathBuf>,
    /// `synchronous: "full"`: fsync every commit.
    pub sync_full: bool,
    /// Soft bound on running instance threads (`maxRunningFacets`).
    pub max_running: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// A thread that only makes calls (the user's main thread).
    Caller,
    /// Reserved by its supervisor; the worker has not attached yet.
    Spawning,
    /// Attached, idle: fresh in the warm pool, or recycled in its code's pool.
    Warm,
    /// Its instance stopped; the thread tears it down and then returns to the pool
    /// (`Hub::recycle`). Accepts nothing meanwhile.
    Recycling,
    /// Hosts one instance: a root object or a facet.
    Hosting(Target),
    /// Retired or broken: ends soon, accepts nothing.
    Ending,
}

struct ThreadRec {
    inbox: Option<Arc<Inbox>>,
    runtime: Option<RtId>,
    role: Role,
    inflight_in: u32,
    inflight_out: u32,
    last_activity: Instant,
    /// The hosted object's database, once the thread opened it.
    db: Option<SharedDb>,
    /// The code identity evaluated on this thread (`None`: fresh, only `main` evaluated).
    /// Only instances of this identity start here again.
    code: Option<Arc<str>>,
    /// When its latest instance stopped (how long a Recycling thread has been tearing down).
    stopped_at: Instant,
    /// The instance it hosts (unique process-wide, never reused): RPC references name their
    /// owner by thread and instance, so a reference never reaches a later instance.
    instance: u64,
    /// The name the root object it hosts was started with (`getByName`): recorded in the
    /// namespace's name index once the object has storage (`hub_names.rs`).
    name: Option<String>,
    /// RPC references it decoded and has not let go, with their counts (`hub_refs.rs`).
    imports: HashMap<refs::RefKey, u32>,
}

impl ThreadRec {
    /// Fresh (only `main` evaluated) or recycled from the runtime's own code: such a
    /// thread serves any instance of that code, and counts toward the warm pool.
    /// Whether instance `instance` still runs here (the main thread's never stops).
    fn owns(&self, instance: u64) -> bool {
        self.instance == instance && matches!(self.role, Role::Caller | Role::Hosting(_))
    }

    fn runs_runtime_code(&self) -> bool {
        self.code.as_deref().is_none_or(|c| c == RUNTIME_CODE)
    }

    fn new(inbox: Option<Arc<Inbox>>, runtime: Option<RtId>, role: Role) -> Self {
        let now = Instant::now();
        ThreadRec {
            inbox,
            runtime,
            role,
            inflight_in: 0,
            inflight_out: 0,
            last_activity: now,
            db: None,
            code: None,
            stopped_at: now,
            instance: 0,
            name: None,
            imports: HashMap::new(),
        }
    }
}

enum ObjectRec {
    /// Waits for a thread; `start` goes first, then the queued calls. `code` is the
    /// start's code identity, read once (it decides which threads may serve it).
    Waiting {
        start: Delivery,
        queue: Vec<Delivery>,
        code: Arc<str>,
    },
    Hosted(Tid),
}

struct RuntimeRec {
    supervisor: Tid,
    namespaces: Vec<NamespaceKey>,
    /// Per namespace, with a storage directory: its locked directory.
    dirs: Vec<Arc<NamespaceDir>>,
    sync_full: bool,
    isolate: Vec<bool>,
    max_running: u32,
    /// Instances that run or wait for a thread.
    objects: HashMap<Target, ObjectRec>,
    waiting: VecDeque<Target>,
    forest: Forest,
    /// Idle threads by code, threads on their way, and the warm pool's target.
    pool: ThreadPool,
}

struct InFlight {
    caller: Tid,
    /// The thread serving the call; `None` while its object waits for a thread.
    target: Option<Tid>,
    object: Option<(RtId, Target)>,
}

#[derive(Default)]
struct HubState {
    threads: HashMap<Tid, ThreadRec>,
    runtimes: HashMap<RtId, RuntimeRec>,
    calls: HashMap<u64, InFlight>,
    next_tid: Tid,
    next_rt: RtId,
    next_instance: u64,
    /// File work decided under the lock, carried out once it is released (see `Locked`).
    deferred: Vec<Io>,
    /// Every WebSocket end (SPEC §2.4; `hub_sockets.rs`).
    sockets: crate::sockets::Sockets,
    next_socket_call: u64,
}

pub struct Hub {
    state: Mutex<HubState>,
    next_call: AtomicU64,
}

/// The process-wide hub: Rust statics are shared by the main thread and every worker.
pub static HUB: LazyLock<Hub> = LazyLock::new(Hub::new);

/// An error in the JS error envelope (`{"t": class, "m": message, "p": {"code": …}}`, see
/// lib/codec.js), for errors the core itself reports to a caller.
pub fn error_payload(class: &str, code: ErrorCode, message: &str) -> Payload {
    let mut s = String::with_capacity(message.len() + 64);
    s.push_str("{\"t\":");
    push_json_string(&mut s, class);
    s.push_str(",\"m\":");
    push_json_string(&mut s, message);
    s.push_str(",\"p\":{\"code\":");
    push_json_string(&mut s, code.as_str());
    s.push_str("}}");
    Payload::Text(s)
}

fn push_json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The hub's state while its lock is held. Dropping it releases the lock, *then* carries
/// out the file work decided meanwhile (`HubState::deferred`: releasing ended instances'
/// databases, closing indexes, alarm index writes), so no path that ends an instance can
/// forget it, and none of it runs under the lock.
struct Locked<'a> {
    guard: ManuallyDrop<MutexGuard<'a, HubState>>,
}

impl Deref for Locked<'_> {
    type Target = HubState;
    fn deref(&self) -> &HubState {
        &self.guard
    }
}

impl DerefMut for Locked<'_> {
    fn deref_mut(&mut self) -> &mut HubState {
        &mut self.guard
    }
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        let work = std::mem::take(&mut self.guard.deferred);
        // SAFETY: the guard is dropped exactly once, here, and not used afterwards.
        unsafe { ManuallyDrop::drop(&mut self.guard) };
        // Failures of deferred work are not any caller's (an alarm index write failing
        // mid-run, a file of an ended instance that cannot be removed): as before, ignored.
        let _ = crate::effects::run_all(work);
    }
}

impl Default for Hub {
    fn default() -> Self {
        Self::new()
    }
}

impl Hub {
    pub fn new() -> Self {
        Hub {
            state: Mutex::new(HubState {
                next_tid: 1,
                next_rt: 1,
                next_instance: 1,
                ..Default::default()
            }),
            next_call: AtomicU64::new(1),
        }
    }

    fn lock(&self) -> Locked<'_> {
        // A panic while holding the lock must not wedge every other thread.
        Locked {
            guard: ManuallyDrop::new(self.state.lock().unwrap_or_else(|e| e.into_inner())),
        }
    }

    /// Registers a thread that only makes calls (and supervises runtimes): the main thread.
    pub fn attach_caller(&self, inbox: Arc<Inbox>) -> Tid {
        let mut st = self.lock();
        let tid = st.next_tid;
        st.next_tid += 1;
        let mut rec = ThreadRec::new(Some(inbox), None, Role::Caller);
        rec.instance = st.next_instance;
        st.next_instance += 1;
        st.threads.insert(tid, rec);
        tid
    }

    /// The instance thread `tid` runs now (its RPC references name it), or `None` when it
    /// hosts nothing.
    pub fn instance_of(&self, tid: Tid) -> Option<u64> {
        let st = self.lock();
        let rec = st.threads.get(&tid)?;
        matches!(rec.role, Role::Caller | Role::Hosting(_)).then_some(rec.instance)
    }

    /// Calls something instance `instance` of thread `owner` exported by reference (SPEC
    /// §2.2); `method` says what (the JS side's encoding). Fails with `ReferenceGone` once
    /// that instance stopped. Returns the call id.
    pub fn ref_call(
        &self,
        from: Tid,
        owner: Tid,
        instance: u64,
        method: String,
        payload: Payload,
    ) -> Result<u64, CoreError> {
        let call = self.next_call.fetch_add(1, Ordering::Relaxed);
        let mut st = self.lock();
        st.check_caller(from)?;
        let now = Instant::now();
        let rec = st
            .threads
            .get_mut(&owner)
            .filter(|r| r.owns(instance))
            .ok_or(CoreError::ReferenceGone)?;
        rec.inflight_in += 1;
        rec.last_activity = now;
        if let Some(inbox) = &rec.inbox {
            let mut marked = String::with_capacity(method.len() + 1);
            marked.push(REF_DELIVERY);
            marked.push_str(&method);
            inbox.push(Delivery::Call {
                call,
                method: marked,
                payload,
            });
        }
        st.calls.insert(
            call,
            InFlight {
                caller: from,
                target: Some(owner),
                object: None,
            },
        );
        if let Some(caller) = st.threads.get_mut(&from) {
            caller.inflight_out += 1;
            caller.last_activity = now;
        }
        Ok(call)
    }

    pub fn create_runtime(
        &self,
        supervisor: Tid,
        config: RuntimeConfig,
    ) -> Result<RtId, CoreError> {
        // Directory creation and locking do I/O: before taking the hub's lock. A stateless
        // namespace comes last, so `dirs[ns]` stays the directory of namespace `ns`.
        let dirs = match &config.storage {
            Some(root) => config
                .namespaces
                .iter()
                .take_while(|k| !k.is_empty())
                .map(|k| NamespaceDir::lock(root, k).map(Arc::new))
                .collect::<Result<Vec<_>, _>>()?,
            None => Vec::new(),
        };
        let mut st = self.lock();
        if !st.threads.contains_key(&supervisor) {
            return Err(CoreError::NotAttached);
        }
        let rt = st.next_rt;
        st.next_rt += 1;
        st.runtimes.insert(
            rt,
            RuntimeRec {
                supervisor,
                namespaces: config
                    .namespaces
                    .iter()
                    .map(|k| NamespaceKey::new(k))
                    .collect(),
                dirs,
                sync_full: config.sync_full,
                isolate: config.isolate,
                max_running: config.max_running,
                forest: Forest::default(),
                objects: HashMap::new(),
                waiting: VecDeque::new(),
                pool: ThreadPool::new(config.warm_threads),
            },
        );
        st.balance(rt);
        Ok(rt)
    }

    pub fn namespace_key(&self, rt: RtId, ns: u32) -> Result<NamespaceKey, CoreError> {
        let st = self.lock();
        let rec = st.runtimes.get(&rt).ok_or(CoreError::Disposed)?;
        rec.namespaces
            .get(ns as usize)
            .cloned()
            .ok_or(CoreError::UnknownNamespace(ns))
    }

    /// The supervisor reserves a thread id right before it starts a worker for `rt`;
    /// `None` when the thread is no longer needed (a recycled thread took the waiting
    /// instance meanwhile, or the adaptive pool shrank).
    pub fn reserve_thread(&self, rt: RtId) -> Result<Option<Tid>, CoreError> {
        let mut st = self.lock();
        let rtrec = st.runtimes.get_mut(&rt).ok_or(CoreError::Disposed)?;
        rtrec.pool.requested = rtrec.pool.requested.saturating_sub(1);
        if rtrec.pool_deficit() == 0 {
            return Ok(None);
        }
        rtrec.pool.booting += 1;
        let tid = st.next_tid;
        st.next_tid += 1;
        st.threads
            .insert(tid, ThreadRec::new(None, Some(rt), Role::Spawning));
        Ok(Some(tid))
    }

    /// A reserved worker is ready: it serves the oldest waiting object, or joins the pool.
    pub fn attach_worker(&self, tid: Tid, inbox: Arc<Inbox>) -> Result<RtId, CoreError> {
        let mut st = self.lock();
        let rec = st.threads.get_mut(&tid).ok_or(CoreError::Disposed)?;
        if rec.role != Role::Spawning {
            return Err(CoreError::NotAttached);
        }
        let rt = rec.runtime.ok_or(CoreError::NotAttached)?;
        rec.inbox = Some(inbox);
        rec.role = Role::Warm;
        let Some(rtrec) = st.runtimes.get_mut(&rt) else {
            return Err(CoreError::Disposed);
        };
        rtrec.pool.booting = rtrec.pool.booting.saturating_sub(1);
        rtrec.pool.warm_failures = 0;
        // A fresh thread serves any code: the oldest waiting instance, whatever its code.
        match rtrec.waiting.pop_front() {
            Some(key) => st.host(rt, key, tid),
            None => rtrec.pool.warm.push(tid),
        }
        st.balance(rt);
        Ok(rt)
    }

    /// Routes a call from thread `from` to object `(ns, id)` of runtime `rt`, starting the
    /// object on a thread if none hosts it. Returns the call id.
    #[allow(clippy::too_many_arguments)]
    pub fn call(
        &self,
        from: Tid,
        rt: RtId,
        ns: u32,
        id: ObjectId,
        name: Option<String>,
        method: String,
        payload: Payload,
    ) -> Result<u64, CoreError> {
        if method.starts_with(REF_DELIVERY) {
            return Err(CoreError::ReservedMethod);
        }
        let call = self.next_call.fetch_add(1, Ordering::Relaxed);
        let mut st = self.lock();
        st.check_caller(from)?;
        let rtrec = st.runtimes.get(&rt).ok_or(CoreError::Disposed)?;
        if ns as usize >= rtrec.namespaces.len() {
            return Err(CoreError::UnknownNamespace(ns));
        }
        let delivery = Delivery::Call {
            call,
            method,
            payload,
        };
        st.route(from, rt, Target::Root((ns, id)), call, delivery, || {
            Delivery::Start { ns, id, name }
        });
        Ok(call)
    }

    /// Delivers the result of `call`, computed by thread `from`.
    pub fn reply(&self, from: Tid, call: u64, status: ReplyStatus, payload: Payload) {
        let mut st = self.lock();
        let Some(flight) = st.calls.get(&call) else {
            // Caller gone or the call was already rejected: nobody reads the answer.
            if status == ReplyStatus::Ok {
                st.bounce(from, payload);
            }
            return;
        };
        if flight.target != Some(from) {
            return; // a late answer from an instance that was already replaced
        }
        let flight = st.calls.remove(&call).expect("checked above");
        st.finish(call, flight, status, payload);
    }

    /// Thread `tid`'s instance broke (constructor threw, `ctx.abort()`, …): every call
    /// addressed to it is rejected with `payload` as a reset, and the next call to its
    /// object starts a fresh instance.
    pub fn break_thread(&self, tid: Tid, payload: Payload) {
        let mut st = self.lock();
        st.end_thread(tid, ReplyStatus::Reset, payload);
    }

    /// The thread is gone (exited, terminated, crashed). Idempotent.
    pub fn thread_gone(&self, tid: Tid) {
        self.thread_died(tid, None);
    }

    /// The thread is gone; calls addressed to it reject with `reason` (why it died, e.g. it
    /// ran out of memory), or with a generic "exited" error when the cause is unknown.
    /// Idempotent: the first report of an instance's end wins.
    pub fn thread_died(&self, tid: Tid, reason: Option<Payload>) {
        let mut st = self.lock();
        let Some(rec) = st.threads.get(&tid) else {
            return;
        };
        if rec.role == Role::Spawning {
            st.spawn_failed(tid, reason);
            return;
        }
        let payload = reason.unwrap_or_else(|| {
            error_payload(
                "Error",
                ErrorCode::ThreadExited,
                "Durable Object's thread exited unexpectedly.",
            )
        });
        st.end_thread(tid, ReplyStatus::Reset, payload);
        let Some(mut rec) = st.threads.remove(&tid) else {
            return;
        };
        if let Some(inbox) = &rec.inbox {
            let undrained = inbox.close();
            st.bounce_unread(undrained);
        }
        st.release_imports(std::mem::take(&mut rec.imports));
        if let Some(rt) = rec.runtime {
            let runtime_code = rec.runs_runtime_code();
            if let (Role::Recycling, true, Some(rtrec)) =
                (rec.role, runtime_code, st.runtimes.get_mut(&rt))
            {
                // It will not come back: the instances it was counted for need a thread.
                rtrec.pool.recycling = rtrec.pool.recycling.saturating_sub(1);
            }
            st.balance(rt);
        }
    }

    /// Ends an idle object. Returns 0 when thread `tid` retired (no call can reach it any
    /// more), otherwise how many ms to wait before asking again.
    pub fn try_retire(&self, tid: Tid, idle_ms: u64) -> u64 {
        let mut st = self.lock();
        let Some(rec) = st.threads.get(&tid) else {
            return 0;
        };
        if !matches!(rec.role, Role::Hosting(_)) {
            return 0; // stopped meanwhile: it tears down anyway
        }
        let busy = rec.inflight_in > 0
            || rec.inflight_out > 0
            || rec.inbox.as_ref().is_some_and(|i| !i.is_empty());
        if busy {
            return idle_ms.max(1);
        }
        let idle_for = rec.last_activity.elapsed().as_millis() as u64;
        if idle_for < idle_ms {
            return idle_ms - idle_for;
        }
        st.end_thread(
            tid,
            ReplyStatus::Error,
            error_payload("Error", ErrorCode::Internal, "unreachable"),
        );
        0
    }

    /// Ends thread `tid`'s idle object as `try_retire(tid, 0)` would, answering `call` (made
    /// to it, the only call in flight to it) with `payload` under the same lock: the caller
    /// learns of the eviction only once no call can reach the stopped instance any more
    /// (the testing helper `evictDurableObject`). Returns 0 when it retired, otherwise how
    /// many ms to wait before asking again (other calls or work are in flight); the call
    /// is then left unanswered.
    pub fn retire_answering(&self, tid: Tid, call: u64, payload: Payload) -> u64 {
        let mut st = self.lock();
        let Some(rec) = st.threads.get(&tid) else {
            return 0;
        };
        if !matches!(rec.role, Role::Hosting(_)) {
            return 0;
        }
        let own = st.calls.get(&call).is_some_and(|f| f.target == Some(tid));
        let busy = rec.inflight_in > u32::from(own)
            || rec.inflight_out > 0
            || rec.inbox.as_ref().is_some_and(|i| !i.is_empty());
        if busy {
            return 1;
        }
        if own {
            let flight = st.calls.remove(&call).expect("checked above");
            st.finish(call, flight, ReplyStatus::Ok, payload);
        }
        st.end_thread(
            tid,
            ReplyStatus::Error,
            error_payload("Error", ErrorCode::Internal, "unreachable"),
        );
        0
    }

    /// Ends a runtime: rejects every call addressed to its objects and returns the worker
    /// threads the supervisor must terminate.
    pub fn dispose_runtime(&self, rt: RtId) -> Vec<Tid> {
        let mut st = self.lock();
        let st = &mut *st;
        let Some(mut rtrec) = st.runtimes.remove(&rt) else {
            return Vec::new();
        };
        let disposed = || {
            error_payload(
                "Error",
                ErrorCode::Disposed,
                "The Durable Object runtime was disposed.",
            )
        };
        let tids: Vec<Tid> = st
            .threads
            .iter()
            .filter(|(_, r)| r.runtime == Some(rt))
            .map(|(t, _)| *t)
            .collect();
        for tid in &tids {
            if let Some(mut rec) = st.threads.remove(tid) {
                if let Some(inbox) = rec.inbox.take() {
                    let undrained = inbox.close();
                    st.bounce_unread(undrained);
                }
                // What it held of other runtimes' threads (the main thread's functions…).
                st.release_imports(std::mem::take(&mut rec.imports));
                // Pending implicit transactions are committed, then the database closes
                // (after the lock is released): the thread may run on until it is
                // terminated, but writes no more.
                if let Some(cell) = rec.db {
                    cell.fence(*tid);
                    let at = match rec.role {
                        Role::Hosting(target) => facet_ops::release_at(&mut rtrec, target),
                        _ => None,
                    };
                    st.deferred.push(Io::ReleaseDb {
                        cell,
                        commit: true,
                        at,
                    });
                }
            }
        }
        // Calls still waiting for a thread were never delivered: their callers (elsewhere)
        // let go of what the arguments exported.
        let mut undelivered = Vec::new();
        for obj in rtrec.objects.values_mut() {
            if let ObjectRec::Waiting { queue, .. } = obj {
                for d in std::mem::take(queue) {
                    if let Delivery::Call { call, payload, .. } = d {
                        if let Some(f) = st.calls.get(&call).filter(|f| !tids.contains(&f.caller)) {
                            undelivered.push((f.caller, payload));
                        }
                    }
                }
            }
        }
        // Reject calls addressed to the runtime's objects or to what their instances
        // exported (a streamed body's source, say); drop those its threads made.
        let doomed: Vec<u64> = st
            .calls
            .iter()
            .filter(|(_, f)| {
                f.object.is_some_and(|(r, _)| r == rt)
                    || f.target.is_some_and(|t| tids.contains(&t))
                    || tids.contains(&f.caller)
            })
            .map(|(c, _)| *c)
            .collect();
        for call in doomed {
            let flight = st.calls.remove(&call).expect("collected above");
            if tids.contains(&flight.caller) {
                continue;
            }
            st.finish(call, flight, ReplyStatus::Error, disposed());
        }
        for (caller, args) in undelivered {
            st.bounce(caller, args);
        }
        // Its objects' sockets and its threads' close (peers elsewhere hear a 1006).
        let mut outs = st.sockets.runtime_gone(rt);
        for tid in &tids {
            outs.extend(st.sockets.thread_stopped(*tid));
        }
        st.flush_sockets(outs);
        // The directories stay locked until the databases above are closed.
        st.deferred
            .push(Io::KeepDirs(std::mem::take(&mut rtrec.dirs)));
        drop(rtrec);
        tids
    }

    /// Opens (or, without a storage directory, finds) the database of the instance hosted
    /// by thread `tid`.
    pub fn open_storage(&self, tid: Tid) -> Result<SharedDb, CoreError> {
        let (rt, target, place, path, mut ticket, sync_full, naming) = {
            let mut st = self.lock();
            let st = &mut *st;
            let rec = st.threads.get(&tid).ok_or(CoreError::Disposed)?;
            if let Some(db) = &rec.db {
                return Ok(db.clone());
            }
            let Role::Hosting(target) = rec.role else {
                return Err(CoreError::NotHosting);
            };
            let rt = rec.runtime.ok_or(CoreError::NotHosting)?;
            let rtrec = st.runtimes.get_mut(&rt).ok_or(CoreError::Disposed)?;
            let root = rtrec.forest.root_of(target).ok_or(CoreError::Disposed)?;
            let path = rtrec.forest.path_of(target).ok_or(CoreError::Disposed)?;
            let place = facet_ops::place(rtrec, root);
            let ticket = facet_ops::ticket(rtrec, root);
            let naming = names::naming(&st.threads, rtrec, root);
            (rt, target, place, path, ticket, rtrec.sync_full, naming)
        };
        // Assigning a facet id (an index append + fdatasync) and opening a file do I/O: not
        // under the hub's lock, but in this object's order of file work (after a clone or
        // delete decided earlier, and after the release of its previous instance).
        let db = {
            let mut turn = ticket.wait();
            placement::open_database(&place, &mut turn.state, &path, sync_full)?
        };
        let mut st = self.lock();
        if !st.runtimes.contains_key(&rt) {
            return Err(CoreError::Disposed);
        }
        let rec = st.threads.get_mut(&tid).ok_or(CoreError::Disposed)?;
        if rec.role != Role::Hosting(target) {
            return Err(CoreError::Disposed);
        }
        // Only an opener still hosting the instance takes the database: one stopped while
        // it waited for its turn must not take an in-memory database from the instance
        // that started after it.
        db.set_owner(tid);
        rec.db = Some(db.clone());
        drop(st);
        // The object has storage now: its name (if its id came from one) is recorded, on
        // this thread, under no lock of the hub's.
        names::record(naming);
        Ok(db)
    }

    /// The object hosted by `tid` committed a new alarm time (ns; `None`: deleted): record
    /// it in the namespace's index and tell the supervisor, which schedules it.
    pub fn alarm_changed(
        &self,
        tid: Tid,
        time_ns: Option<i64>,
        name: Option<String>,
    ) -> Result<(), CoreError> {
        let mut st = self.lock();
        let st = &mut *st;
        let rec = st.threads.get(&tid).ok_or(CoreError::Disposed)?;
        let Role::Hosting(Target::Root(key)) = rec.role else {
            return Err(CoreError::NotHosting);
        };
        let rt = rec.runtime.ok_or(CoreError::NotHosting)?;
        let rtrec = st.runtimes.get(&rt).ok_or(CoreError::Disposed)?;
        if let Some(dir) = rtrec.dirs.get(key.0 as usize) {
            // The object's own database already holds the alarm (committed): schedule it
            // even if the index cannot record it; `alarm_index_check` refuses new alarms of
            // a namespace whose index is unusable, so this is only a write failing mid-run.
            // The write (and its fsync) happens once the lock is released.
            st.deferred.push(Io::SetAlarm {
                dir: dir.clone(),
                id: key.1,
                time_ns,
                name: name.clone(),
            });
        }
        if let Some(inbox) = st
            .threads
            .get(&rtrec.supervisor)
            .and_then(|t| t.inbox.as_ref())
        {
            inbox.push(Delivery::Alarm {
                runtime: rt,
                ns: key.0,
                id: key.1,
                name,
                time_ms: time_ns.map(|t| t as f64 / 1e6),
            });
        }
        Ok(())
    }

    /// Alarms recorded by earlier runs: (namespace, id, name, time in ms).
    pub fn stored_alarms(&self, rt: RtId) -> Result<Vec<StoredAlarm>, CoreError> {
        // Reading the indexes is file work: not under the hub's lock.
        let dirs = self.namespace_dirs(rt)?;
        let mut out = Vec::new();
        for (ns, dir) in dirs.iter().enumerate() {
            // An unusable index disables its namespace's alarms only (see
            // `alarm_index_errors`, which the runtime logs).
            for (id, t, name) in dir.alarms().unwrap_or_default() {
                out.push((ns as u32, id, name, t as f64 / 1e6));
            }
        }
        Ok(out)
    }

    /// Why alarm indexes of runtime `rt` are unusable: one message per such namespace.
    pub fn alarm_index_errors(&self, rt: RtId) -> Result<Vec<String>, CoreError> {
        let dirs = self.namespace_dirs(rt)?;
        Ok(dirs.iter().filter_map(|d| d.alarm_index_error()).collect())
    }

    /// The namespace directories of runtime `rt` (empty without storage).
    fn namespace_dirs(&self, rt: RtId) -> Result<Vec<Arc<NamespaceDir>>, CoreError> {
        let st = self.lock();
        let rtrec = st.runtimes.get(&rt).ok_or(CoreError::Disposed)?;
        Ok(rtrec.dirs.clone())
    }

    /// Refuses a new alarm of the object hosted by `tid` if its namespace's alarm index is
    /// unusable (the alarm could not survive a restart, which alarms promise).
    pub fn alarm_index_check(&self, tid: Tid) -> Result<(), CoreError> {
        let dir = {
            let st = self.lock();
            let Some(rec) = st.threads.get(&tid) else {
                return Ok(());
            };
            let (Role::Hosting(Target::Root(key)), Some(rt)) = (rec.role, rec.runtime) else {
                return Ok(());
            };
            st.runtimes
                .get(&rt)
                .and_then(|r| r.dirs.get(key.0 as usize))
                .cloned()
        };
        // Not under the hub's lock: the index's own lock is held while another object's
        // alarm is written and fsynced.
        match dir.and_then(|d| d.alarm_index_error()) {
            Some(msg) => Err(CoreError::AlarmIndex(msg)),
            None => Ok(()),
        }
    }

    /// Thread `tid` tore its stopped instance down (SPEC §6.1: storage closed, timers and
    /// listeners cancelled, pending callbacks dropped). It serves the oldest instance
    /// waiting for its code, or waits in its code's pool. False: the thread must exit
    /// (runtime disposed, or the pool is full).
    pub fn recycle(&self, tid: Tid) -> bool {
        let mut st = self.lock();
        let st = &mut *st;
        st.release_left_over(tid);
        let Some(rec) = st.threads.get_mut(&tid) else {
            return false;
        };
        let runtime_alive = rec.runtime.is_some_and(|rt| st.runtimes.contains_key(&rt));
        if runtime_alive && matches!(rec.role, Role::Warm | Role::Hosting(_)) {
            return true; // already back (a repeated report changes nothing)
        }
        if !runtime_alive || rec.role != Role::Recycling {
            if let Some(inbox) = &rec.inbox {
                inbox.close();
            }
            st.threads.remove(&tid);
            return false;
        }
        let rt = rec.runtime.expect("checked above");
        let code = rec.code.clone().unwrap_or_else(|| Arc::from(RUNTIME_CODE));
        let runtime_code = code.as_ref() == RUNTIME_CODE;
        // Whatever was queued for the previous instance is void (its calls were rejected
        // when it stopped, its own calls' answers have nobody to read them).
        if let Some(inbox) = &rec.inbox {
            inbox.clear();
        }
        rec.role = Role::Warm;
        rec.inflight_in = 0;
        rec.inflight_out = 0;
        rec.db = None;
        rec.last_activity = Instant::now();
        let rtrec = st.runtimes.get_mut(&rt).expect("checked above");
        if runtime_code {
            rtrec.pool.recycling = rtrec.pool.recycling.saturating_sub(1);
        }
        rtrec.pool.returns.push_back(Instant::now());
        prune(&mut rtrec.pool.returns);
        let waiting = rtrec.waiting.iter().position(|t| {
            matches!(rtrec.objects.get(t), Some(ObjectRec::Waiting { code: c, .. }) if *c == code)
        });
        if let Some(i) = waiting {
            let target = rtrec.waiting.remove(i).expect("found above");
            st.host(rt, target, tid);
            st.balance(rt);
            return true;
        }
        // Bounded per code: idle threads of other code (a tenant's many loader apps) must
        // not push out the threads of this one.
        let same_code = rtrec.pool.pools.get(&code).map_or(0, Vec::len)
            + if runtime_code {
                rtrec.pool.warm.len()
            } else {
                0
            };
        let cap = if runtime_code {
            (rtrec.pool.warm_goal() as usize).max(MIN_POOL_CAP)
        } else {
            MIN_POOL_CAP
        };
        if same_code >= cap {
            if let Some(inbox) = st.threads.get(&tid).and_then(|r| r.inbox.as_ref()) {
                inbox.close();
            }
            st.threads.remove(&tid);
            st.balance(rt);
            return false;
        }
        rtrec.pool.pools.entry(code).or_default().push(tid);
        st.balance(rt);
        true
    }

    /// An idle thread has waited `idleTimeoutMs` in a pool: true (it must exit) unless the
    /// warm pool needs it to stay at its target.
    pub fn leave_pool(&self, tid: Tid) -> bool {
        let mut st = self.lock();
        let st = &mut *st;
        let Some(rec) = st.threads.get(&tid) else {
            return true;
        };
        if rec.role != Role::Warm {
            return false; // it hosts again (or is stopping): not idle
        }
        let Some(rtrec) = rec.runtime.and_then(|rt| st.runtimes.get_mut(&rt)) else {
            return true;
        };
        let serves_any = rec.runs_runtime_code();
        let ready = rtrec.pool.warm.len() as u32 + rtrec.pool.runtime_pool();
        if serves_any && ready <= rtrec.pool.warm_goal() {
            return false;
        }
        rtrec.pool.forget(tid);
        if let Some(inbox) = &rec.inbox {
            inbox.close();
        }
        st.threads.remove(&tid);
        true
    }

    /// The supervisor is about to terminate thread `tid`, whose instance stopped (a CPU
    /// limit, or an aborted facet that did not come back in time): if it still tears down,
    /// it is taken out of recycling, so no new instance can start on it before it dies.
    /// True when it was (the supervisor terminates it); false when it came back meanwhile.
    pub fn condemn(&self, tid: Tid) -> bool {
        self.lock().condemn(tid, STUCK_AFTER)
    }

    /// The supervisor's CPU watchdog: thread `tid` broke (calls reject with `payload`) and
    /// is terminated — never recycled, so nothing can start on it before it is gone.
    pub fn break_for_termination(&self, tid: Tid, payload: Payload) {
        let mut st = self.lock();
        st.end_thread(tid, ReplyStatus::Reset, payload);
        st.condemn(tid, std::time::Duration::ZERO);
    }

    /// True when no call is in flight from `tid` (lets the main thread unreference itself).
    pub fn outstanding_from(&self, tid: Tid) -> u32 {
        self.lock().threads.get(&tid).map_or(0, |r| r.inflight_out)
    }

    /// Deliveries thread `tid` never read: its inbox was closed as it went away (see
    /// `HubState::bounce_unread`).
    pub fn unread(&self, undrained: Vec<Delivery>) {
        if undrained.is_empty() {
            return;
        }
        self.lock().bounce_unread(undrained);
    }

    /// The supervisor thread has ended: everything it supervised ends with it.
    pub fn caller_gone(&self, tid: Tid) -> Vec<Tid> {
        let rts: Vec<RtId> = {
            let st = self.lock();
            st.runtimes
                .iter()
                .filter(|(_, r)| r.supervisor == tid)
                .map(|(rt, _)| *rt)
                .collect()
        };
        let mut tids = Vec::new();
        for rt in rts {
            tids.extend(self.dispose_runtime(rt));
        }
        self.thread_gone(tid);
        tids
    }
}

/// See `HubState::bounce_unread`: where each unread delivery's payload goes back to.
fn unread_of(calls: &HashMap<u64, InFlight>, undrained: Vec<Delivery>) -> Vec<(Tid, Payload)> {
    undrained
        .into_iter()
        .filter_map(|d| match d {
            Delivery::Reply {
                status: ReplyStatus::Ok,
                payload,
                from,
                ..
            } if from != 0 => Some((from, payload)),
            Delivery::Call { call, payload, .. } if call != 0 => {
                calls.get(&call).map(|f| (f.caller, payload))
            }
            _ => None,
        })
        .collect()
}

impl HubState {
    /// See `Hub::condemn`: only a thread that has been tearing down for `min_age` (a
    /// supervisor's timer armed for an earlier stop must not end a later, healthy one).
    fn condemn(&mut self, tid: Tid, min_age: std::time::Duration) -> bool {
        let st = self;
        let Some(rec) = st.threads.get_mut(&tid) else {
            return false;
        };
        if rec.role != Role::Recycling || rec.stopped_at.elapsed() < min_age {
            return false;
        }
        rec.role = Role::Ending;
        if let Some(inbox) = &rec.inbox {
            inbox.close();
        }
        let runtime_code = rec.runs_runtime_code();
        if let Some(rt) = rec.runtime {
            if let (true, Some(rtrec)) = (runtime_code, st.runtimes.get_mut(&rt)) {
                rtrec.pool.recycling = rtrec.pool.recycling.saturating_sub(1);
            }
            st.balance(rt);
        }
        true
    }

    /// An answer nobody reads goes back to the thread that gave it when it may hold RPC
    /// references (JSON marked `\u{1}`, or V8 bytes): that thread lets them go, or their
    /// owner would count them forever (and never be idle-evicted).
    fn bounce(&self, to: Tid, payload: Payload) {
        let may_hold_refs = match &payload {
            Payload::Text(t) => t.starts_with('\u{1}'),
            Payload::Bytes(_) => true,
        };
        if !may_hold_refs {
            return;
        }
        if let Some(inbox) = self.threads.get(&to).and_then(|r| r.inbox.as_ref()) {
            inbox.push(Delivery::Call {
                call: 0,
                method: UNREAD_ANSWER.into(),
                payload,
            });
        }
    }

    /// Deliveries a thread will never read (it died, or its instance stopped): an answer
    /// goes back to the thread that gave it, the arguments of a call back to its caller,
    /// which let go of the RPC references in them (see `bounce`). Call before the calls
    /// are forgotten.
    fn bounce_unread(&self, undrained: Vec<Delivery>) {
        for (to, payload) in unread_of(&self.calls, undrained) {
            self.bounce(to, payload);
        }
    }

    /// A stopped instance's thread may still run until it is terminated: nothing it sends
    /// leaves it any more.
    fn check_caller(&self, from: Tid) -> Result<(), CoreError> {
        match self.threads.get(&from) {
            Some(r)
                if matches!(
                    r.role,
                    Role::Ending | Role::Recycling | Role::Warm | Role::Spawning
                ) =>
            {
                Err(CoreError::Stopped)
            }
            _ => Ok(()),
        }
    }

    /// Delivers `delivery` (call `call` from thread `from`) to `target`, starting the
    /// instance on a thread (with `start()` as its first delivery) if none hosts it.
    fn route(
        &mut self,
        from: Tid,
        rt: RtId,
        target: Target,
        call: u64,
        delivery: Delivery,
        start: impl FnOnce() -> Delivery,
    ) {
        let now = Instant::now();
        let Some(rtrec) = self.runtimes.get_mut(&rt) else {
            return;
        };
        let mut flight = InFlight {
            caller: from,
            target: None,
            object: Some((rt, target)),
        };
        match rtrec.objects.get_mut(&target) {
            Some(ObjectRec::Hosted(tid)) => {
                let tid = *tid;
                let thread = self
                    .threads
                    .get_mut(&tid)
                    .expect("hosting thread is registered");
                thread.inflight_in += 1;
                thread.last_activity = now;
                if let Some(inbox) = &thread.inbox {
                    inbox.push(delivery);
                }
                flight.target = Some(tid);
                self.calls.insert(call, flight);
            }
            Some(ObjectRec::Waiting { queue, .. }) => {
                queue.push(delivery);
                self.calls.insert(call, flight);
            }
            None => {
                let start = start();
                let code = code_identity(&start);
                rtrec.objects.insert(
                    target,
                    ObjectRec::Waiting {
                        start,
                        queue: vec![delivery],
                        code: code.clone(),
                    },
                );
                self.calls.insert(call, flight);
                match rtrec.pool.take_thread(&code, now) {
                    Some(tid) => self.host(rt, target, tid),
                    None => {
                        rtrec.waiting.push_back(target);
                        self.evict_over_limit(rt, 0);
                    }
                }
                self.balance(rt);
            }
        }
        if let Some(caller) = self.threads.get_mut(&from) {
            caller.inflight_out += 1;
            caller.last_activity = now;
        }
    }

    /// Puts `target` on warm thread `tid`: its start delivery, then the calls queued so far.
    fn host(&mut self, rt: RtId, target: Target, tid: Tid) {
        let rtrec = self.runtimes.get_mut(&rt).expect("runtime exists");
        let Some(ObjectRec::Waiting { start, queue, code }) = rtrec.objects.remove(&target) else {
            return;
        };
        rtrec.objects.insert(target, ObjectRec::Hosted(tid));
        // Calls whose caller died while they waited are dropped (nobody reads the answer,
        // and counting them would keep this thread busy forever).
        let queue: Vec<Delivery> = queue
            .into_iter()
            .filter(|d| !matches!(d, Delivery::Call { call, .. } if !self.calls.contains_key(call)))
            .collect();
        let thread = self
            .threads
            .get_mut(&tid)
            .expect("warm thread is registered");
        thread.role = Role::Hosting(target);
        thread.name = names::start_name(&start);
        thread.instance = self.next_instance;
        self.next_instance += 1;
        thread.code.get_or_insert(code);
        thread.last_activity = Instant::now();
        thread.inflight_in += queue.len() as u32;
        let inbox = thread.inbox.clone().expect("warm thread has an inbox");
        inbox.push(start);
        self.evict_over_limit(rt, tid);
        for delivery in queue {
            if let Delivery::Call { call, .. } = &delivery {
                if let Some(flight) = self.calls.get_mut(call) {
                    flight.target = Some(tid);
                }
            }
            inbox.push(delivery);
        }
    }

    /// Beyond `maxRunningFacets` running instances — counting those that wait for a thread
    /// no booting or recycling thread is on its way for — asks the least recently used idle
    /// ones to end (a soft bound: busy threads are never stopped, and new ones always
    /// start). Their threads come back recycled and serve the waiting instances.
    fn evict_over_limit(&mut self, rt: RtId, keep: Tid) {
        let Some(rtrec) = self.runtimes.get(&rt) else {
            return;
        };
        let max = rtrec.max_running as usize;
        let (waiting_runtime, waiting_other) = rtrec.waiting_by_code();
        let unserved = rtrec.pool.unserved(waiting_runtime, waiting_other);
        let running: Vec<(&Tid, &ThreadRec)> = self
            .threads
            .iter()
            .filter(|(_, r)| r.runtime == Some(rt) && matches!(r.role, Role::Hosting(_)))
            .collect();
        let wanted = running.len() + unserved as usize;
        if wanted <= max {
            return;
        }
        let mut idle: Vec<(Instant, Tid)> = running
            .iter()
            .filter(|(t, r)| {
                **t != keep
                    && r.inflight_in == 0
                    && r.inflight_out == 0
                    && r.inbox.as_ref().is_some_and(|i| i.is_empty())
            })
            .map(|(t, r)| (r.last_activity, **t))
            .collect();
        idle.sort();
        for (_, t) in idle.into_iter().take(wanted - max) {
            if let Some(inbox) = self.threads.get(&t).and_then(|r| r.inbox.as_ref()) {
                inbox.push(Delivery::Evict);
            }
        }
    }

    /// Asks the supervisor for enough threads to serve waiting objects and fill the pool.
    fn balance(&mut self, rt: RtId) {
        let Some(rtrec) = self.runtimes.get_mut(&rt) else {
            return;
        };
        let deficit = rtrec.pool_deficit();
        if deficit <= rtrec.pool.requested {
            return;
        }
        let count = deficit - rtrec.pool.requested;
        let urgent = rtrec.waiting.len() as u32 > rtrec.pool.booting;
        rtrec.pool.requested += count;
        let supervisor = rtrec.supervisor;
        if let Some(inbox) = self.threads.get(&supervisor).and_then(|t| t.inbox.as_ref()) {
            inbox.push(Delivery::Spawn {
                runtime: rt,
                count,
                urgent,
            });
        }
    }

    /// Completes a call: bookkeeping on both ends, then the reply to the caller.
    fn finish(&mut self, call: u64, flight: InFlight, status: ReplyStatus, payload: Payload) {
        let now = Instant::now();
        if let Some(target) = flight.target.and_then(|t| self.threads.get_mut(&t)) {
            target.inflight_in = target.inflight_in.saturating_sub(1);
            target.last_activity = now;
        }
        // Instances wait for a thread: one that just became idle may make way for them.
        if let Some((rt, _)) = flight.object {
            if self
                .runtimes
                .get(&rt)
                .is_some_and(|r| !r.waiting.is_empty())
            {
                self.evict_over_limit(rt, 0);
            }
        }
        if let Some(caller) = self.threads.get_mut(&flight.caller) {
            caller.inflight_out = caller.inflight_out.saturating_sub(1);
            caller.last_activity = now;
            let from = flight.target.unwrap_or(0);
            let reply = Delivery::Reply {
                call,
                status,
                payload,
                from,
            };
            // A caller whose thread is going away (its inbox closed) never reads it.
            if let Some(Err(unread)) = caller.inbox.as_ref().map(|i| i.try_push(reply)) {
                self.bounce_unread(vec![unread]);
            }
        }
    }

    /// Detaches thread `tid` from its object and rejects every call addressed to it.
    fn end_thread(&mut self, tid: Tid, status: ReplyStatus, payload: Payload) {
        let Some(rec) = self.threads.get_mut(&tid) else {
            return;
        };
        if matches!(rec.role, Role::Ending | Role::Recycling) {
            return;
        }
        let role = rec.role;
        let runtime = rec.runtime;
        // The sockets its instance held go with it (hibernatable ones are the object's —
        // root or facet — and go only when it broke: eviction keeps them).
        let mut outs = self.sockets.thread_stopped(tid);
        if let (Role::Hosting(target), Some(rt), ReplyStatus::Reset) = (role, runtime, status) {
            outs.extend(self.sockets.object_gone(rt, target));
        }
        let Some(rec) = self.threads.get_mut(&tid) else {
            return;
        };
        let mut unread = Vec::new();
        if matches!(role, Role::Hosting(_)) {
            // The thread is recycled (SPEC §6.1): it tears its instance down — at once when
            // it stopped itself, on this `Stop` when someone else stopped it — and comes
            // back through `Hub::recycle`. Whatever was queued for the instance is void.
            rec.role = Role::Recycling;
            rec.stopped_at = Instant::now();
            if let Some(inbox) = &rec.inbox {
                unread = unread_of(&self.calls, inbox.clear());
                inbox.push(Delivery::Stop);
            }
            let runtime_code = rec.runs_runtime_code();
            if let (true, Some(rtrec)) = (
                runtime_code,
                runtime.and_then(|rt| self.runtimes.get_mut(&rt)),
            ) {
                rtrec.pool.recycling += 1;
            }
        } else {
            rec.role = Role::Ending;
            if let Some(inbox) = &rec.inbox {
                unread = unread_of(&self.calls, inbox.close());
            }
        }
        // Whatever the instance had not committed is gone with it. A file database closes
        // (the thread keeps a handle that now fails); an in-memory one must survive. The
        // thread is fenced off now; waiting for it to let go, the rollback and the close
        // happen after the lock is released (`Io::ReleaseDb`).
        if let Some(cell) = rec.db.take() {
            cell.fence(tid);
            let at = match (role, runtime.and_then(|rt| self.runtimes.get_mut(&rt))) {
                (Role::Hosting(target), Some(rtrec)) => facet_ops::release_at(rtrec, target),
                _ => None,
            };
            self.deferred.push(Io::ReleaseDb {
                cell,
                commit: false,
                at,
            });
        }
        if let Some(rtrec) = runtime.and_then(|rt| self.runtimes.get_mut(&rt)) {
            match role {
                Role::Hosting(target) => {
                    if matches!(rtrec.objects.get(&target), Some(ObjectRec::Hosted(t)) if *t == tid)
                    {
                        rtrec.objects.remove(&target);
                    }
                    // A root that stops closes its facet index (reopened on demand), so an
                    // object that is no longer used holds no open file.
                    if let Target::Root(key) = target {
                        if let Some(tree) = rtrec.forest.roots.get(&key) {
                            self.deferred.push(Io::CloseIndex(tree.files.ticket()));
                        }
                    }
                }
                Role::Warm => rtrec.pool.forget(tid),
                _ => {}
            }
        }
        for (to, payload) in unread {
            self.bounce(to, payload);
        }
        let addressed: Vec<u64> = self
            .calls
            .iter()
            .filter(|(_, f)| f.target == Some(tid) || f.caller == tid)
            .map(|(c, _)| *c)
            .collect();
        for call in addressed {
            let flight = self.calls.remove(&call).expect("collected above");
            if flight.caller == tid {
                // Nobody is left to read the answer; release the callee's count.
                if let Some(target) = flight.target.and_then(|t| self.threads.get_mut(&t)) {
                    target.inflight_in = target.inflight_in.saturating_sub(1);
                }
                continue;
            }
            self.finish(call, flight, status, payload.clone());
        }
        self.flush_sockets(outs);
        if let (Some(rt), Role::Hosting(target), ReplyStatus::Reset) = (runtime, role, status) {
            self.cascade_break(rt, target, &payload);
        }
        if let Some(rt) = runtime {
            self.balance(rt);
        }
    }

    /// A reserved worker died before attaching. If objects were waiting, the oldest one's
    /// calls fail (its start-up killed the thread); otherwise the warm pool lost a thread.
    fn spawn_failed(&mut self, tid: Tid, reason: Option<Payload>) {
        let rec = self.threads.remove(&tid).expect("checked by caller");
        let Some(rt) = rec.runtime else { return };
        let Some(rtrec) = self.runtimes.get_mut(&rt) else {
            return;
        };
        rtrec.pool.booting = rtrec.pool.booting.saturating_sub(1);
        match rtrec.waiting.pop_front() {
            Some(key) => {
                if let Some(ObjectRec::Waiting { queue, .. }) = rtrec.objects.remove(&key) {
                    let payload = reason.unwrap_or_else(|| {
                        error_payload(
                            "Error",
                            ErrorCode::ThreadExited,
                            "Durable Object's thread exited while starting up.",
                        )
                    });
                    for delivery in queue {
                        if let Delivery::Call {
                            call,
                            payload: args,
                            ..
                        } = delivery
                        {
                            if let Some(flight) = self.calls.remove(&call) {
                                // Never delivered: the caller lets go of what it exported.
                                self.bounce(flight.caller, args);
                                self.finish(call, flight, ReplyStatus::Reset, payload.clone());
                            }
                        }
                    }
                }
            }
            None => rtrec.pool.warm_failures += 1,
        }
        self.balance(rt);
    }
}

impl RuntimeRec {
    /// Instances waiting for a thread: (of the runtime's own code, of other code).
    fn waiting_by_code(&self) -> (u32, u32) {
        let runtime = self
            .waiting
            .iter()
            .filter(|t| {
                matches!(self.objects.get(t), Some(ObjectRec::Waiting { code, .. })
                    if &**code == RUNTIME_CODE)
            })
            .count() as u32;
        (runtime, self.waiting.len() as u32 - runtime)
    }

    /// See `ThreadPool::deficit`.
    fn pool_deficit(&self) -> u32 {
        let (runtime, other) = self.waiting_by_code();
        self.pool.deficit(runtime, other)
    }
}

#[path = "hub_facets.rs"]
pub mod facet_ops;

#[path = "hub_sockets.rs"]
pub mod socket_ops;

#[path = "hub_inspect.rs"]
pub mod inspect;

#[path = "hub_names.rs"]
mod names;

#[path = "hub_refs.rs"]
mod refs;

#[cfg(test)]
#[path = "hub_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "hub_death_tests.rs"]
mod death_tests;

#[cfg(test)]
#[path = "hub_socket_tests.rs"]
mod socket_tests;

#[cfg(test)]
#[path = "hub_unread_tests.rs"]
mod unread_tests;
