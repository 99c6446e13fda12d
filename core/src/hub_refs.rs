//! RPC references a thread holds (SPEC §2.2 lifetime): each reference a thread decoded
//! counts one transfer on its owner until the thread lets it go (a release call). A thread
//! that lets go normally — `[Symbol.dispose]()`, garbage collection, its instance stopping —
//! sends every release itself; one that dies abruptly (it exited, was terminated, ran out
//! of memory) cannot, so the hub keeps, per thread, the references it decoded and not yet
//! released, and sends their releases for it when it is gone. Without that, the owner
//! would count them until it stopped, and would never be idle-evicted.
//!
//! Only plain references are tracked (`\x02<id>`); pinned first results of pipelined pairs
//! (`\x02q…`) do not keep their owner running, and go with its instance.

use super::*;

/// A reference: its owner thread, the owner's instance, and the export id there.
pub(super) type RefKey = (Tid, u64, u64);

/// The export id a release of one transfer names (`\x02<id>`), if `method` is one.
fn released_id(method: &str) -> Option<u64> {
    method.strip_prefix('\u{2}')?.parse().ok()
}

impl Hub {
    /// Thread `importer` decoded a reference to export `id` of instance `instance` of thread
    /// `owner` (it holds one transfer until it releases it).
    pub fn ref_imported(&self, importer: Tid, owner: Tid, instance: u64, id: u64) {
        let mut st = self.lock();
        match st.threads.get_mut(&importer) {
            Some(rec) => *rec.imports.entry((owner, instance, id)).or_default() += 1,
            // A thread the hub already let go of (its runtime was disposed while it still
            // ran) holds nothing: what it decodes now is released at once.
            None => st.send_release(owner, instance, format!("\u{2}{id}")),
        }
    }

    /// Thread `importer` lets go of a reference exported by instance `instance` of thread
    /// `owner` (`method` names it): a call with id 0, which is never answered. Nothing
    /// happens when that instance has stopped (its exports are gone with it).
    ///
    /// The hub's count decides whether a release of one transfer goes out: one the hub
    /// already sent for this thread (its instance stopped with releases still held back, or
    /// its runtime was disposed while it ran on) is not sent twice.
    pub fn ref_release(&self, importer: Tid, owner: Tid, instance: u64, method: String) {
        let mut st = self.lock();
        if let Some(id) = released_id(&method) {
            let key = (owner, instance, id);
            let Some(rec) = st.threads.get_mut(&importer) else {
                return;
            };
            let Some(n) = rec.imports.get_mut(&key) else {
                return;
            };
            *n -= 1;
            if *n == 0 {
                rec.imports.remove(&key);
                if rec.imports.is_empty() {
                    rec.imports.shrink_to(0);
                }
            }
        }
        st.send_release(owner, instance, method);
    }
}

impl HubState {
    fn send_release(&self, owner: Tid, instance: u64, method: String) {
        if let Some(rec) = self.threads.get(&owner).filter(|r| r.owns(instance)) {
            if let Some(inbox) = &rec.inbox {
                inbox.push(Delivery::Call {
                    call: 0,
                    method,
                    payload: Payload::Text(String::new()),
                });
            }
        }
    }

    /// Thread `tid`'s instance stopped and was torn down: every release it still meant to
    /// send has been sent (`resetRefs`), except those it held back behind calls or the
    /// output gate, which teardown drops with them. Those go now.
    pub(super) fn release_left_over(&mut self, tid: Tid) {
        if let Some(rec) = self.threads.get_mut(&tid) {
            let left = std::mem::take(&mut rec.imports);
            self.release_imports(left);
        }
    }

    /// A thread is gone holding `imports`: their owners let them go as if it had.
    pub(super) fn release_imports(&self, imports: HashMap<RefKey, u32>) {
        for ((owner, instance, id), n) in imports {
            for _ in 0..n {
                self.send_release(owner, instance, format!("\u{2}{id}"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{drain, setup};
    use super::*;

    /// A worker of `s`'s runtime hosting object `id`, its start drained and its first call
    /// answered: (tid, inbox, instance).
    fn hosting(s: &super::super::tests::Setup, id: ObjectId) -> (Tid, Arc<Inbox>, u64) {
        let (tid, ib, call) = super::super::unread_tests::hosting(s, id);
        s.hub
            .reply(tid, call, ReplyStatus::Ok, Payload::Text("1".into()));
        drain(&s.main_inbox);
        (tid, ib, s.hub.instance_of(tid).expect("an instance"))
    }

    fn releases(deliveries: Vec<Delivery>) -> Vec<String> {
        deliveries
            .into_iter()
            .filter_map(|d| match d {
                Delivery::Call {
                    call: 0, method, ..
                } => Some(method),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_dead_threads_unreleased_references_are_released_for_it() {
        let s = setup(0);
        let (owner, owner_inbox, instance) = hosting(&s, [1; 32]);
        let (holder, _, _) = hosting(&s, [2; 32]);
        s.hub.ref_imported(holder, owner, instance, 7);
        s.hub.ref_imported(holder, owner, instance, 7);
        s.hub.ref_imported(holder, owner, instance, 9);
        s.hub.ref_release(holder, owner, instance, "\u{2}9".into());
        assert_eq!(releases(drain(&owner_inbox)), vec!["\u{2}9".to_string()]);
        s.hub.thread_gone(holder);
        assert_eq!(
            releases(drain(&owner_inbox)),
            vec!["\u{2}7".to_string(), "\u{2}7".to_string()]
        );
    }

    #[test]
    fn references_released_before_death_are_not_released_again() {
        let s = setup(0);
        let (owner, owner_inbox, instance) = hosting(&s, [1; 32]);
        let (holder, _, _) = hosting(&s, [2; 32]);
        s.hub.ref_imported(holder, owner, instance, 3);
        s.hub.ref_release(holder, owner, instance, "\u{2}3".into());
        drain(&owner_inbox);
        s.hub.thread_gone(holder);
        assert!(releases(drain(&owner_inbox)).is_empty());
    }

    #[test]
    fn releases_for_a_dead_thread_skip_owners_that_stopped() {
        let s = setup(0);
        let (owner, owner_inbox, instance) = hosting(&s, [1; 32]);
        let (holder, _, _) = hosting(&s, [2; 32]);
        s.hub.ref_imported(holder, owner, instance + 1000, 5);
        s.hub.thread_gone(holder);
        assert!(releases(drain(&owner_inbox)).is_empty());
    }

    #[test]
    fn a_release_the_hub_does_not_count_is_not_sent() {
        let s = setup(0);
        let (owner, owner_inbox, instance) = hosting(&s, [1; 32]);
        s.hub.ref_release(s.main, owner, instance, "\u{2}4".into());
        assert!(releases(drain(&owner_inbox)).is_empty());
        // Pinned first results are not counted: their releases always go.
        s.hub
            .ref_release(s.main, owner, instance, "\u{2}q4,5".into());
        assert_eq!(releases(drain(&owner_inbox)), vec!["\u{2}q4,5".to_string()]);
    }

    #[test]
    fn a_runtime_disposed_under_a_running_thread_releases_its_references_once() {
        let s = setup(0);
        // The owner is the main thread (another runtime's functions, say).
        let main_instance = s.hub.instance_of(s.main).unwrap_or(0);
        let (holder, _, _) = hosting(&s, [2; 32]);
        s.hub.ref_imported(holder, s.main, main_instance, 11);
        s.hub.dispose_runtime(s.rt);
        assert_eq!(releases(drain(&s.main_inbox)), vec!["\u{2}11".to_string()]);
        // The thread runs on until it is terminated: its own late release is not sent again,
        // and what it decodes now is released at once.
        s.hub
            .ref_release(holder, s.main, main_instance, "\u{2}11".into());
        assert!(releases(drain(&s.main_inbox)).is_empty());
        s.hub.ref_imported(holder, s.main, main_instance, 12);
        assert_eq!(releases(drain(&s.main_inbox)), vec!["\u{2}12".to_string()]);
    }

    #[test]
    fn releases_an_instance_held_back_when_it_stopped_are_sent_as_its_thread_recycles() {
        let s = setup(0);
        let (owner, owner_inbox, instance) = hosting(&s, [1; 32]);
        let (holder, _, _) = hosting(&s, [2; 32]);
        s.hub.ref_imported(holder, owner, instance, 8);
        assert_eq!(s.hub.try_retire(holder, 0), 0);
        s.hub.recycle(holder);
        assert_eq!(releases(drain(&owner_inbox)), vec!["\u{2}8".to_string()]);
        s.hub.ref_release(holder, owner, instance, "\u{2}8".into());
        assert!(releases(drain(&owner_inbox)).is_empty());
    }
}
