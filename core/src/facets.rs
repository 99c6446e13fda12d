//! The facet trees of running objects, as the core keeps them: per root object, a map of
//! named child entries; each entry records its startup options (opaque to the core: the JS
//! side encodes them and compares them byte for byte), its children, and a sticky failure.
//!
//! Entries live until abort, delete, clone-over, an ancestor's breakage or dispose; a
//! thread's eviction keeps them (the next call restarts the instance with the same options).

use std::collections::{BTreeMap, HashMap};

use crate::ids::ObjectId;
use crate::inbox::{Payload, ReplyStatus};
use std::sync::Arc;

use crate::storage::placement::RootFiles;

/// A root object: (namespace index, id).
pub type ObjectKey = (u32, ObjectId);

/// What a thread hosts: a root object or a facet entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    Root(ObjectKey),
    Facet(u64),
}

pub struct FacetRec {
    pub root: ObjectKey,
    pub parent: Target,
    /// Full name from the root: `["foo", "bar"]` is `foo/bar`.
    pub path: Vec<String>,
    /// Encoded startup options (class and id), as the facet thread needs them.
    pub startup: std::sync::Arc<str>,
    pub children: BTreeMap<String, u64>,
    /// A form-B callback failed: every use fails with this until abort or delete.
    pub failure: Option<Payload>,
}

#[derive(Default)]
pub struct RootTree {
    pub children: BTreeMap<String, u64>,
    /// The root's files (facet index, in-memory databases) and its queue of file work.
    pub files: Arc<RootFiles>,
}

/// All facet entries of one runtime.
#[derive(Default)]
pub struct Forest {
    pub roots: HashMap<ObjectKey, RootTree>,
    pub entries: HashMap<u64, FacetRec>,
    /// Entries that were stopped: old stubs keep failing with this.
    pub tombstones: HashMap<u64, (ReplyStatus, Payload)>,
    /// Where removed entries kept their storage, until their thread has shut down (for the
    /// implicit deletion of empty facets).
    pub removed_paths: HashMap<u64, (ObjectKey, Vec<String>)>,
    next: u64,
}

impl Forest {
    pub fn children(&self, parent: Target) -> Option<&BTreeMap<String, u64>> {
        match parent {
            Target::Root(key) => self.roots.get(&key).map(|t| &t.children),
            Target::Facet(e) => self.entries.get(&e).map(|f| &f.children),
        }
    }

    fn children_mut(&mut self, parent: Target) -> Option<&mut BTreeMap<String, u64>> {
        match parent {
            Target::Root(key) => Some(&mut self.roots.entry(key).or_default().children),
            Target::Facet(e) => self.entries.get_mut(&e).map(|f| &mut f.children),
        }
    }

    pub fn root_of(&self, t: Target) -> Option<ObjectKey> {
        match t {
            Target::Root(key) => Some(key),
            Target::Facet(e) => self.entries.get(&e).map(|f| f.root),
        }
    }

    /// The full name of `t` (empty for the root).
    pub fn path_of(&self, t: Target) -> Option<Vec<String>> {
        match t {
            Target::Root(_) => Some(Vec::new()),
            Target::Facet(e) => self.entries.get(&e).map(|f| f.path.clone()),
        }
    }

    pub fn lookup(&self, parent: Target, name: &str) -> Option<u64> {
        self.children(parent).and_then(|c| c.get(name).copied())
    }

    /// Adds a child entry under `parent` (which must not have one named `name`).
    pub fn insert(
        &mut self,
        parent: Target,
        name: &str,
        startup: String,
        failure: Option<Payload>,
    ) -> Option<u64> {
        let root = self.root_of(parent)?;
        let mut path = self.path_of(parent)?;
        path.push(name.to_owned());
        self.next += 1;
        let id = self.next;
        self.children_mut(parent)?.insert(name.to_owned(), id);
        self.entries.insert(
            id,
            FacetRec {
                root,
                parent,
                path,
                startup: startup.into(),
                children: BTreeMap::new(),
                failure,
            },
        );
        Some(id)
    }

    /// `id` and every entry below it, parents first.
    pub fn subtree(&self, id: u64) -> Vec<u64> {
        let mut out = vec![id];
        let mut i = 0;
        while i < out.len() {
            if let Some(f) = self.entries.get(&out[i]) {
                out.extend(f.children.values().copied());
            }
            i += 1;
        }
        out
    }

    /// Removes `id` and its subtree from the tree; old stubs of each get `reason`.
    pub fn remove(&mut self, id: u64, status: ReplyStatus, reason: &Payload) -> Vec<u64> {
        let ids = self.subtree(id);
        if let Some(f) = self.entries.get(&id) {
            let (parent, name) = (f.parent, f.path.last().cloned().unwrap_or_default());
            if let Some(children) = self.children_mut(parent) {
                if children.get(&name) == Some(&id) {
                    children.remove(&name);
                }
            }
        }
        for e in &ids {
            if let Some(f) = self.entries.remove(e) {
                self.removed_paths.insert(*e, (f.root, f.path));
            }
            self.tombstones.insert(*e, (status, reason.clone()));
        }
        ids
    }

    /// Every entry of a root's tree (the root's tree itself is kept: its index stays open).
    pub fn clear_root(
        &mut self,
        root: ObjectKey,
        status: ReplyStatus,
        reason: &Payload,
    ) -> Vec<u64> {
        let top: Vec<u64> = self
            .roots
            .get(&root)
            .map(|t| t.children.values().copied().collect())
            .unwrap_or_default();
        let mut out = Vec::new();
        for id in top {
            out.extend(self.remove(id, status, reason));
        }
        out
    }

    /// Depth of a target counting the root as 1.
    pub fn depth(&self, t: Target) -> usize {
        self.path_of(t).map_or(1, |p| p.len() + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason() -> Payload {
        Payload::Text("r".into())
    }

    #[test]
    fn entries_nest_and_know_their_full_names() {
        let mut f = Forest::default();
        let root = Target::Root((0, [1; 32]));
        let bar = f.insert(root, "bar", "s".into(), None).unwrap();
        let foo = f
            .insert(Target::Facet(bar), "foo", "s".into(), None)
            .unwrap();
        assert_eq!(f.path_of(Target::Facet(foo)).unwrap(), vec!["bar", "foo"]);
        assert_eq!(f.depth(Target::Facet(foo)), 3);
        assert_eq!(f.lookup(Target::Facet(bar), "foo"), Some(foo));
        assert_eq!(f.subtree(bar), vec![bar, foo]);
    }

    #[test]
    fn removing_an_entry_removes_its_subtree_and_leaves_tombstones() {
        let mut f = Forest::default();
        let root = Target::Root((0, [1; 32]));
        let a = f.insert(root, "a", "s".into(), None).unwrap();
        let b = f.insert(Target::Facet(a), "b", "s".into(), None).unwrap();
        let c = f.insert(root, "c", "s".into(), None).unwrap();
        assert_eq!(f.remove(a, ReplyStatus::Error, &reason()), vec![a, b]);
        assert_eq!(f.lookup(root, "a"), None);
        assert!(f.tombstones.contains_key(&b));
        assert_eq!(f.lookup(root, "c"), Some(c));
        assert_eq!(
            f.clear_root((0, [1; 32]), ReplyStatus::Reset, &reason()),
            vec![c]
        );
    }
}
