//! Names of objects (SPEC §7: tools show "names where known"): the hub remembers the name a
//! root object was started with, and once the object (or one of its facets) opens a
//! database, that name goes to the namespace's name index (`storage/name_index.rs`), which
//! writes it once per id. Deciding happens under the hub's lock (a lookup and a clone);
//! the index's file work runs after it is released, on the opening thread.

use super::*;

/// The name a start delivery carries (None for facets and unnamed objects).
pub(super) fn start_name(start: &Delivery) -> Option<String> {
    match start {
        Delivery::Start { name, .. } => name.clone(),
        _ => None,
    }
}

/// What recording the name of root object `root` needs: its namespace directory, its id
/// and the name its running instance was started with. None in memory, for unnamed
/// objects, or when the root does not run.
pub(super) type Naming = Option<(Arc<NamespaceDir>, ObjectId, String)>;

pub(super) fn naming(
    threads: &HashMap<Tid, ThreadRec>,
    rtrec: &RuntimeRec,
    root: ObjectKey,
) -> Naming {
    let dir = rtrec.dirs.get(root.0 as usize)?;
    let Some(ObjectRec::Hosted(tid)) = rtrec.objects.get(&Target::Root(root)) else {
        return None;
    };
    let name = threads.get(tid)?.name.clone()?;
    Some((dir.clone(), root.1, name))
}

/// Records the name (file work: never under the hub's lock). A failure only loses the name
/// (the index says why; see `name_index.rs`).
pub(super) fn record(naming: Naming) {
    if let Some((dir, id, name)) = naming {
        let _ = dir.record_name(&id, &name);
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{drain, inbox, storage_runtime};
    use super::*;

    /// A runtime with storage in a fresh directory; its namespace is "ns".
    fn runtime(tag: &str) -> (Hub, Tid, RtId, std::path::PathBuf) {
        storage_runtime(&format!("names-{tag}"), &["ns"])
    }

    /// Starts object `id` (called with `name`) on a new thread, which opens its storage.
    fn start_with_storage(hub: &Hub, main: Tid, rt: RtId, id: ObjectId, name: Option<&str>) {
        let payload = Payload::Text("[]".into());
        hub.call(
            main,
            rt,
            0,
            id,
            name.map(str::to_owned),
            "m".into(),
            payload,
        )
        .unwrap();
        let tid = hub.reserve_thread(rt).unwrap().expect("a thread is needed");
        let ib = inbox();
        hub.attach_worker(tid, ib.clone()).unwrap();
        assert!(matches!(drain(&ib).first(), Some(Delivery::Start { .. })));
        hub.open_storage(tid).unwrap();
    }

    fn names(hub: &Hub, rt: RtId) -> Vec<(String, String)> {
        hub.namespace_dirs(rt).unwrap()[0].names().unwrap()
    }

    #[test]
    fn a_named_object_that_opens_storage_has_its_name_recorded() {
        let (hub, main, rt, root) = runtime("named");
        let key = NamespaceKey::new("ns");
        let id = key.id_from_name("alice");
        start_with_storage(&hub, main, rt, id, Some("alice"));
        assert_eq!(names(&hub, rt), vec![(ids::to_hex(&id), "alice".into())]);
        hub.dispose_runtime(rt);
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn unnamed_objects_and_names_that_do_not_derive_the_id_record_nothing() {
        let (hub, main, rt, root) = runtime("unnamed");
        let key = NamespaceKey::new("ns");
        start_with_storage(&hub, main, rt, key.new_unique_id().unwrap(), None);
        // A caller pairing an id with a name it does not derive from.
        start_with_storage(&hub, main, rt, key.id_from_name("bob"), Some("mallory"));
        assert_eq!(names(&hub, rt), vec![]);
        hub.dispose_runtime(rt);
        let _ = std::fs::remove_dir_all(&root);
    }
}
