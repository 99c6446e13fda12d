//! The facet tree's lifecycle as plain functions: each operation changes the in-memory
//! [`Forest`] and returns the [`Effect`]s the coordinator (the hub) carries out — stopping
//! instances under its lock, file work after releasing it (SPEC §5.3, §5.4, §5.6, §5.7).
//! No files, no threads: `cargo test` checks the rules below directly.

use crate::error::{CoreError, ErrorCode};
use crate::facets::{Forest, ObjectKey, Target};
use crate::hub::error_payload;
use crate::inbox::{Payload, ReplyStatus};

/// What a lifecycle decision asks the coordinator to do, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Stop the instances of these entries (already removed from the tree, parents
    /// first): their threads end, calls addressed to them (running or waiting for a thread)
    /// get `status`/`payload`, their databases are released.
    StopFacets {
        entries: Vec<u64>,
        status: ReplyStatus,
        payload: Payload,
    },
    /// Stop the root object's own instance (a breakage under `facetFailure: "object"`).
    StopRoot { root: ObjectKey, payload: Payload },
    /// Remove the databases of the facet at `path` and of everything below it.
    DeleteStorage { root: ObjectKey, path: Vec<String> },
    /// Remove the databases of everything strictly below `path` (deleteAll: every
    /// descendant the index knows, whether or not the facet in between has data).
    DeleteBelow { root: ObjectKey, path: Vec<String> },
    /// Replace the storage of `dst` and its subtree with a copy of `src`'s.
    CloneStorage {
        root: ObjectKey,
        src: Vec<String>,
        dst: Vec<String>,
    },
}

impl Effect {
    /// True for effects that touch files (carried out after the hub's lock is released).
    pub fn is_storage(&self) -> bool {
        matches!(
            self,
            Effect::DeleteStorage { .. } | Effect::DeleteBelow { .. } | Effect::CloneStorage { .. }
        )
    }
}

/// Why a facet subtree is stopped on purpose (never a breakage: no `durableObjectReset`).
pub enum StopReason {
    Abort(Payload),
    Delete,
    CloneOver,
}

impl StopReason {
    pub fn payload(&self) -> Payload {
        match self {
            StopReason::Abort(p) => p.clone(),
            StopReason::Delete => deleted(),
            StopReason::CloneOver => error_payload(
                "Error",
                ErrorCode::FacetClonedOver,
                "Facet was cloned-over.",
            ),
        }
    }
}

fn deleted() -> Payload {
    error_payload("Error", ErrorCode::FacetDeleted, "Facet was deleted.")
}

/// The payload old stubs get when a form-A `get()` replaces an entry.
pub fn restarted() -> Payload {
    error_payload(
        "Error",
        ErrorCode::FacetRestarted,
        "Facet was restarted with new startup options.",
    )
}

/// Removes entry `e`'s subtree from the tree: one `StopFacets`.
fn stop_subtree(forest: &mut Forest, e: u64, status: ReplyStatus, payload: &Payload) -> Effect {
    let entries = forest.remove(e, status, payload);
    Effect::StopFacets {
        entries,
        status,
        payload: payload.clone(),
    }
}

/// `facets.abort(name)`, `facets.delete(name)` and clone-over of child `name` of `parent`:
/// its subtree stops (if it has entries); `Delete` also removes its storage and all below.
pub fn stop_child(
    forest: &mut Forest,
    parent: Target,
    name: &str,
    reason: StopReason,
) -> Result<Vec<Effect>, CoreError> {
    let root = forest.root_of(parent).ok_or(CoreError::Disposed)?;
    let mut path = forest.path_of(parent).ok_or(CoreError::Disposed)?;
    path.push(name.to_owned());
    let payload = reason.payload();
    let mut out = Vec::new();
    if let Some(e) = forest.lookup(parent, name) {
        out.push(stop_subtree(forest, e, ReplyStatus::Error, &payload));
    }
    if matches!(reason, StopReason::Delete) {
        out.push(Effect::DeleteStorage { root, path });
    }
    Ok(out)
}

/// `facets.clone(src, dst)`: `dst`'s subtree stops ("Facet was cloned-over.") and its
/// storage becomes a copy of `src`'s; `clone(x, x)` only stops `x` (as an abort with the
/// cloned-over error), keeping its storage.
pub fn clone(
    forest: &mut Forest,
    parent: Target,
    src: &str,
    dst: &str,
) -> Result<Vec<Effect>, CoreError> {
    if src == dst {
        let reason = StopReason::CloneOver.payload();
        return stop_child(forest, parent, dst, StopReason::Abort(reason));
    }
    let root = forest.root_of(parent).ok_or(CoreError::Disposed)?;
    let base = forest.path_of(parent).ok_or(CoreError::Disposed)?;
    let mut out = stop_child(forest, parent, dst, StopReason::CloneOver)?;
    let (mut s, mut d) = (base.clone(), base);
    s.push(src.to_owned());
    d.push(dst.to_owned());
    out.push(Effect::CloneStorage {
        root,
        src: s,
        dst: d,
    });
    Ok(out)
}

/// `deleteAll()` in `parent`: every child entry stops ("Facet was deleted."), and every
/// descendant's storage goes — including those known only to the index.
pub fn delete_all(forest: &mut Forest, parent: Target) -> Result<Vec<Effect>, CoreError> {
    let root = forest.root_of(parent).ok_or(CoreError::Disposed)?;
    let path = forest.path_of(parent).ok_or(CoreError::Disposed)?;
    let children: Vec<u64> = forest
        .children(parent)
        .map(|c| c.values().copied().collect())
        .unwrap_or_default();
    let payload = deleted();
    let mut out: Vec<Effect> = children
        .into_iter()
        .map(|e| stop_subtree(forest, e, ReplyStatus::Error, &payload))
        .collect();
    out.push(Effect::DeleteBelow { root, path });
    Ok(out)
}

/// A form-A `get()` with other options replaces entry `existing`: its subtree stops
/// ("Facet was restarted with new startup options."); storage is kept.
pub fn restart(forest: &mut Forest, existing: u64) -> Vec<Effect> {
    vec![stop_subtree(
        forest,
        existing,
        ReplyStatus::Error,
        &restarted(),
    )]
}

/// `target` broke (its own thread has ended): its descendants stop; under
/// `facetFailure: "object"` (`isolate` false) a broken facet takes the whole object, root
/// included, down with it. Every error carries the reset.
pub fn cascade_break(
    forest: &mut Forest,
    target: Target,
    isolate: bool,
    payload: &Payload,
) -> Vec<Effect> {
    let Some(root) = forest.root_of(target) else {
        return Vec::new();
    };
    match target {
        Target::Facet(e) if isolate => vec![stop_subtree(forest, e, ReplyStatus::Reset, payload)],
        _ => {
            let entries = forest.clear_root(root, ReplyStatus::Reset, payload);
            vec![
                Effect::StopFacets {
                    entries,
                    status: ReplyStatus::Reset,
                    payload: payload.clone(),
                },
                Effect::StopRoot {
                    root,
                    payload: payload.clone(),
                },
            ]
        }
    }
}

/// Where the instance `target` keeps its storage, for releasing its database when its
/// thread ends: (root, full name). A facet removed from the tree is found through the
/// paths kept for that purpose.
pub fn storage_of(forest: &mut Forest, target: Target) -> Option<(ObjectKey, Vec<String>)> {
    match target {
        Target::Root(key) => Some((key, Vec::new())),
        Target::Facet(e) => forest
            .entries
            .get(&e)
            .map(|f| (f.root, f.path.clone()))
            .or_else(|| forest.removed_paths.remove(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: ObjectKey = (0, [7; 32]);

    fn names(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| s.to_string()).collect()
    }

    /// root ─ a ─ b ─ c, root ─ x: ids (a, b, c, x).
    fn tree() -> (Forest, u64, u64, u64, u64) {
        let mut f = Forest::default();
        let r = Target::Root(ROOT);
        let a = f.insert(r, "a", "s".into(), None).unwrap();
        let b = f.insert(Target::Facet(a), "b", "s".into(), None).unwrap();
        let c = f.insert(Target::Facet(b), "c", "s".into(), None).unwrap();
        let x = f.insert(r, "x", "s".into(), None).unwrap();
        (f, a, b, c, x)
    }

    fn reason() -> Payload {
        Payload::Text("why".into())
    }

    #[test]
    fn abort_stops_the_subtree_with_the_reason_and_touches_no_file() {
        let (mut f, a, b, c, _) = tree();
        let fx = stop_child(&mut f, Target::Root(ROOT), "a", StopReason::Abort(reason())).unwrap();
        assert_eq!(
            fx,
            vec![Effect::StopFacets {
                entries: vec![a, b, c],
                status: ReplyStatus::Error,
                payload: reason()
            }]
        );
        assert_eq!(f.lookup(Target::Root(ROOT), "a"), None);
        assert!(!fx.iter().any(Effect::is_storage));
    }

    #[test]
    fn abort_of_an_unknown_name_does_nothing() {
        let (mut f, ..) = tree();
        let fx = stop_child(
            &mut f,
            Target::Root(ROOT),
            "nope",
            StopReason::Abort(reason()),
        );
        assert_eq!(fx.unwrap(), vec![]);
    }

    #[test]
    fn delete_at_depth_two_stops_that_subtree_then_deletes_its_storage() {
        let (mut f, a, b, c, _) = tree();
        let fx = stop_child(&mut f, Target::Facet(a), "b", StopReason::Delete).unwrap();
        assert_eq!(
            fx,
            vec![
                Effect::StopFacets {
                    entries: vec![b, c],
                    status: ReplyStatus::Error,
                    payload: deleted()
                },
                Effect::DeleteStorage {
                    root: ROOT,
                    path: names(&["a", "b"])
                }
            ]
        );
        // The parent stays.
        assert_eq!(f.lookup(Target::Root(ROOT), "a"), Some(a));
    }

    #[test]
    fn delete_of_a_name_without_an_entry_still_deletes_its_storage() {
        let (mut f, ..) = tree();
        let fx = stop_child(&mut f, Target::Root(ROOT), "gone", StopReason::Delete).unwrap();
        assert_eq!(
            fx,
            vec![Effect::DeleteStorage {
                root: ROOT,
                path: names(&["gone"])
            }]
        );
    }

    #[test]
    fn clone_stops_dst_as_cloned_over_then_copies_src_over_it() {
        let (mut f, a, ..) = tree();
        let fx = clone(&mut f, Target::Root(ROOT), "x", "a").unwrap();
        let Effect::StopFacets {
            entries, payload, ..
        } = &fx[0]
        else {
            panic!("{fx:?}")
        };
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0], a);
        assert_eq!(payload, &StopReason::CloneOver.payload());
        assert_eq!(
            fx[1],
            Effect::CloneStorage {
                root: ROOT,
                src: names(&["x"]),
                dst: names(&["a"])
            }
        );
        assert_eq!(fx.len(), 2);
    }

    #[test]
    fn clone_to_a_new_name_at_depth_three_only_copies() {
        let (mut f, _, b, ..) = tree();
        let fx = clone(&mut f, Target::Facet(b), "c", "copy").unwrap();
        assert_eq!(
            fx,
            vec![Effect::CloneStorage {
                root: ROOT,
                src: names(&["a", "b", "c"]),
                dst: names(&["a", "b", "copy"])
            }]
        );
    }

    #[test]
    fn clone_onto_itself_stops_it_and_keeps_its_storage() {
        let (mut f, _, _, _, x) = tree();
        let fx = clone(&mut f, Target::Root(ROOT), "x", "x").unwrap();
        assert_eq!(
            fx,
            vec![Effect::StopFacets {
                entries: vec![x],
                status: ReplyStatus::Error,
                payload: StopReason::CloneOver.payload()
            }]
        );
    }

    #[test]
    fn delete_all_stops_every_child_subtree_then_deletes_everything_below() {
        let (mut f, a, b, c, x) = tree();
        let fx = delete_all(&mut f, Target::Root(ROOT)).unwrap();
        let stop = |entries| Effect::StopFacets {
            entries,
            status: ReplyStatus::Error,
            payload: deleted(),
        };
        assert_eq!(
            fx,
            vec![
                stop(vec![a, b, c]),
                stop(vec![x]),
                Effect::DeleteBelow {
                    root: ROOT,
                    path: vec![]
                }
            ]
        );
        assert!(f.children(Target::Root(ROOT)).unwrap().is_empty());
    }

    #[test]
    fn delete_all_in_a_facet_deletes_below_it_only() {
        let (mut f, a, b, c, x) = tree();
        let fx = delete_all(&mut f, Target::Facet(b)).unwrap();
        assert_eq!(fx.len(), 2);
        assert_eq!(
            fx[1],
            Effect::DeleteBelow {
                root: ROOT,
                path: names(&["a", "b"])
            }
        );
        assert!(matches!(&fx[0], Effect::StopFacets { entries, .. } if *entries == vec![c]));
        assert_eq!(f.lookup(Target::Root(ROOT), "a"), Some(a));
        assert_eq!(f.lookup(Target::Root(ROOT), "x"), Some(x));
    }

    #[test]
    fn a_broken_facet_takes_the_whole_object_down_by_default() {
        let (mut f, a, b, c, x) = tree();
        let fx = cascade_break(&mut f, Target::Facet(b), false, &reason());
        assert_eq!(
            fx,
            vec![
                Effect::StopFacets {
                    entries: vec![a, b, c, x],
                    status: ReplyStatus::Reset,
                    payload: reason()
                },
                Effect::StopRoot {
                    root: ROOT,
                    payload: reason()
                }
            ]
        );
    }

    #[test]
    fn a_broken_facet_in_isolate_mode_stops_only_its_subtree() {
        let (mut f, a, b, c, x) = tree();
        let fx = cascade_break(&mut f, Target::Facet(b), true, &reason());
        assert_eq!(
            fx,
            vec![Effect::StopFacets {
                entries: vec![b, c],
                status: ReplyStatus::Reset,
                payload: reason()
            }]
        );
        assert_eq!(f.lookup(Target::Root(ROOT), "a"), Some(a));
        assert_eq!(f.lookup(Target::Root(ROOT), "x"), Some(x));
    }

    #[test]
    fn a_broken_root_stops_every_facet_even_in_isolate_mode() {
        let (mut f, ..) = tree();
        let fx = cascade_break(&mut f, Target::Root(ROOT), true, &reason());
        assert!(matches!(&fx[0], Effect::StopFacets { entries, .. } if entries.len() == 4));
        assert!(matches!(&fx[1], Effect::StopRoot { .. }));
    }

    #[test]
    fn restart_stops_the_old_entry_and_keeps_storage() {
        let (mut f, a, b, c, _) = tree();
        assert_eq!(
            restart(&mut f, a),
            vec![Effect::StopFacets {
                entries: vec![a, b, c],
                status: ReplyStatus::Error,
                payload: restarted()
            }]
        );
    }

    #[test]
    fn a_removed_facet_still_knows_where_its_storage_is_once() {
        let (mut f, a, b, ..) = tree();
        stop_child(&mut f, Target::Root(ROOT), "a", StopReason::Abort(reason())).unwrap();
        assert_eq!(
            storage_of(&mut f, Target::Facet(b)),
            Some((ROOT, names(&["a", "b"])))
        );
        assert_eq!(storage_of(&mut f, Target::Facet(b)), None);
        assert_eq!(storage_of(&mut f, Target::Root(ROOT)), Some((ROOT, vec![])));
        let _ = a;
    }
}
