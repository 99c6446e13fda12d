//! A runtime's idle threads and the threads on their way (SPEC §6.1): the router's thread
//! supply, no I/O. Threads are recycled: when an instance stops, its thread tears the
//! instance down and comes back to the pool of its *code identity* — the runtime's own
//! modules, or one worker-loader worker — and only instances of that code start there
//! again (module state is shared over time by one code, never across codes). Fresh threads
//! (only `main` evaluated) serve any code. The warm pool follows the rate at which new
//! instances need threads, with `warmThreads` as its floor.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use crate::inbox::Delivery;

pub type Tid = u32;

/// The code identity of the runtime's own modules (`main` and `classes` modules): every
/// root object and every facet of such a class. Worker-loader code has its own identity
/// (see `code_identity`).
pub const RUNTIME_CODE: &str = "";

/// Warm threads that die before serving anything this many times in a row stop the pool
/// from refilling (a `main` module that exits at load would otherwise respawn forever).
pub const MAX_WARM_FAILURES: u32 = 3;

/// The adaptive warm pool aims to hold as many threads as new instances arrived in this
/// much of the last second: a thread boots in 30–60 ms of CPU here (two at a time), so at
/// 50 arrivals a second 5 threads ready keep starts off the cold path while the pool
/// refills; a longer horizon only holds more idle memory.
const WARM_HORIZON: f64 = 0.1;
/// The adaptive part of the warm pool never exceeds this many threads (each holds a V8
/// heap: ~10 MB idle).
const MAX_ADAPTIVE_WARM: u32 = 16;
/// Idle recycled threads kept per runtime beyond the warm target; more exit at once.
pub const MIN_POOL_CAP: usize = 8;

/// The code identity of an instance about to start: `RUNTIME_CODE` for root objects and
/// facets of the runtime's own classes, else the `"k"` field that lib/facets.js puts first
/// in a facet's encoded startup (a digest of loader binding, worker name and code).
pub fn code_identity(start: &Delivery) -> Arc<str> {
    const PREFIX: &str = "{\"k\":\"";
    match start {
        Delivery::StartFacet { startup, .. } => startup
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split_once('"'))
            .map_or_else(|| Arc::from(RUNTIME_CODE), |(k, _)| Arc::from(k)),
        _ => Arc::from(RUNTIME_CODE),
    }
}

/// Drops the events older than a second (the window the warm pool's rate is taken over).
pub fn prune(events: &mut VecDeque<Instant>) {
    while events
        .front()
        .is_some_and(|t| t.elapsed().as_secs_f64() > 1.0)
    {
        events.pop_front();
    }
}

/// One runtime's thread supply.
#[derive(Debug, Default)]
pub struct ThreadPool {
    /// Fresh idle threads (never hosted): serve any code.
    pub warm: Vec<Tid>,
    /// Recycled idle threads by code identity: serve only that code.
    pub pools: HashMap<Arc<str>, Vec<Tid>>,
    /// Threads asked of the supervisor and not reserved yet.
    pub requested: u32,
    /// Threads reserved and booting (not attached yet).
    pub booting: u32,
    /// `warmThreads`: the floor of the adaptive warm pool.
    pub warm_target: u32,
    pub warm_failures: u32,
    /// When instances took an idle thread or had to wait for one, over the last second.
    pub arrivals: VecDeque<Instant>,
    /// When threads came back to a pool, over the last second: at `maxRunningFacets`, each
    /// new instance evicts an old one, whose thread serves the next — no new thread needed.
    pub returns: VecDeque<Instant>,
    /// Threads of the runtime's code tearing an instance down: back in a moment, so a
    /// waiting instance needs no new thread for them.
    pub recycling: u32,
}

impl ThreadPool {
    pub fn new(warm_target: u32) -> Self {
        ThreadPool {
            warm_target,
            ..Default::default()
        }
    }

    /// An idle thread for an instance of code `code`: a recycled one of that code first
    /// (its modules are evaluated already), else a fresh one. Counts the arrival when the
    /// pool's fresh threads are drawn on (the adaptive warm pool follows that rate).
    pub fn take_thread(&mut self, code: &Arc<str>, now: Instant) -> Option<Tid> {
        if let Some(tid) = self.pools.get_mut(code).and_then(Vec::pop) {
            return Some(tid);
        }
        self.arrivals.push_back(now);
        prune(&mut self.arrivals);
        self.warm.pop()
    }

    /// Idle thread `tid` leaves the pool (it exits, or died).
    pub fn forget(&mut self, tid: Tid) {
        self.warm.retain(|t| *t != tid);
        for pool in self.pools.values_mut() {
            pool.retain(|t| *t != tid);
        }
        self.pools.retain(|_, p| !p.is_empty());
    }

    /// Idle recycled threads that serve the runtime's own code.
    pub fn runtime_pool(&self) -> u32 {
        self.pools.get(RUNTIME_CODE).map_or(0, |p| p.len() as u32)
    }

    /// How many idle threads the warm pool aims for: `warmThreads`, plus the threads new
    /// instances will need in the next `WARM_HORIZON` seconds at the rate of the last
    /// second (arrivals that no returning thread made up for).
    pub fn warm_goal(&self) -> u32 {
        if self.warm_failures >= MAX_WARM_FAILURES {
            return 0;
        }
        let within = |q: &VecDeque<Instant>| {
            q.iter()
                .filter(|t| t.elapsed().as_secs_f64() <= 1.0)
                .count()
        };
        let net = within(&self.arrivals).saturating_sub(within(&self.returns));
        let recent = net as f64 * WARM_HORIZON;
        // Rounded down: an occasional new instance (under 10 a second) asks for nothing.
        self.warm_target + (recent.floor() as u32).min(MAX_ADAPTIVE_WARM)
    }

    /// Instances waiting for a thread that no thread on its way will serve: recycling
    /// threads (the runtime's code) serve only waiting instances of that code; a booting
    /// (fresh) thread serves any.
    pub fn unserved(&self, waiting_runtime: u32, waiting_other: u32) -> u32 {
        (waiting_runtime.saturating_sub(self.recycling) + waiting_other)
            .saturating_sub(self.booting)
    }

    /// Threads still to ask for, with instances of the runtime's code and of other code
    /// waiting for a thread: one per waiting instance no thread on its way will serve
    /// (none of the idle threads could serve it, or it would not wait), and the warm
    /// pool's shortfall.
    pub fn deficit(&self, waiting_runtime: u32, waiting_other: u32) -> u32 {
        let needing = waiting_runtime.saturating_sub(self.recycling) + waiting_other;
        let spare_booting = self.booting.saturating_sub(needing);
        let ready = self.warm.len() as u32 + self.runtime_pool() + spare_booting;
        self.unserved(waiting_runtime, waiting_other) + self.warm_goal().saturating_sub(ready)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(k: &str) -> Arc<str> {
        Arc::from(k)
    }

    #[test]
    fn a_recycled_thread_of_the_same_code_goes_before_a_fresh_one() {
        let mut p = ThreadPool::new(0);
        p.warm.push(1);
        p.pools.entry(code("abc")).or_default().push(2);
        let now = Instant::now();
        assert_eq!(p.take_thread(&code("abc"), now), Some(2));
        assert_eq!(
            p.take_thread(&code("abc"), now),
            Some(1),
            "then a fresh one"
        );
        assert_eq!(p.take_thread(&code("abc"), now), None);
    }

    #[test]
    fn a_recycled_thread_never_serves_other_code() {
        let mut p = ThreadPool::new(0);
        p.pools.entry(code(RUNTIME_CODE)).or_default().push(7);
        assert_eq!(p.take_thread(&code("loader-digest"), Instant::now()), None);
        assert_eq!(p.runtime_pool(), 1);
    }

    #[test]
    fn waiting_instances_need_no_new_thread_for_threads_already_on_their_way() {
        let mut p = ThreadPool::new(0);
        assert_eq!(p.deficit(3, 0), 3);
        p.booting = 1;
        p.recycling = 1;
        assert_eq!(p.deficit(3, 0), 1);
        assert_eq!(
            p.deficit(1, 0),
            0,
            "a spare booting thread fills no shortfall here"
        );
    }

    #[test]
    fn a_recycling_runtime_thread_is_no_help_to_a_waiting_loader_facet() {
        let mut p = ThreadPool::new(0);
        p.recycling = 1;
        assert_eq!(p.deficit(0, 1), 1, "a loader facet needs a fresh thread");
        assert_eq!(
            p.deficit(1, 1),
            1,
            "the recycling thread serves the runtime's one"
        );
        p.booting = 1;
        assert_eq!(p.deficit(0, 1), 0);
    }

    #[test]
    fn the_warm_floor_counts_fresh_and_recycled_runtime_threads() {
        let mut p = ThreadPool::new(2);
        assert_eq!(p.deficit(0, 0), 2);
        p.warm.push(1);
        p.pools.entry(code(RUNTIME_CODE)).or_default().push(2);
        assert_eq!(p.deficit(0, 0), 0);
        p.pools.clear();
        p.pools.entry(code("loader")).or_default().push(2);
        assert_eq!(
            p.deficit(0, 0),
            1,
            "a loader code's thread cannot serve new instances"
        );
    }

    #[test]
    fn the_warm_pool_grows_with_the_arrival_rate_and_not_when_threads_come_back() {
        let mut p = ThreadPool::new(2);
        let now = Instant::now();
        for _ in 0..50 {
            p.take_thread(&code(RUNTIME_CODE), now);
        }
        assert_eq!(
            p.warm_goal(),
            2 + 5,
            "50 a second, a tenth of a second ahead"
        );
        for _ in 0..50 {
            p.returns.push_back(now);
        }
        assert_eq!(
            p.warm_goal(),
            2,
            "every arrival was served by a returning thread"
        );
        for _ in 0..1000 {
            p.take_thread(&code(RUNTIME_CODE), now);
        }
        assert_eq!(p.warm_goal(), 2 + MAX_ADAPTIVE_WARM, "bounded");
        p.warm_failures = MAX_WARM_FAILURES;
        assert_eq!(
            p.warm_goal(),
            0,
            "a main module that kills its threads stops the pool"
        );
    }

    #[test]
    fn code_identity_reads_the_leading_k_field_only() {
        let start = |s: &str| Delivery::StartFacet {
            entry: 1,
            startup: s.into(),
        };
        assert_eq!(&*code_identity(&start("{\"k\":\"abc\",\"c\":{}}")), "abc");
        assert_eq!(
            &*code_identity(&start("{\"k\":\"\",\"c\":{}}")),
            RUNTIME_CODE
        );
        assert_eq!(
            &*code_identity(&start("{\"c\":{\"k\":\"x\"}}")),
            RUNTIME_CODE
        );
        let root = Delivery::Start {
            ns: 0,
            id: [0; 32],
            name: None,
        };
        assert_eq!(&*code_identity(&root), RUNTIME_CODE);
    }
}
