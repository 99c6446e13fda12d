//! Inspection of stored objects (`rt.inspect`, `rt.listIds`): facet trees with database
//! sizes, read without going through the objects themselves.

use super::*;
use crate::storage::facet_index::FacetIndex;
use crate::storage::offline::{database_size, object_ids};

/// One database of an object: full facet name ("" for the root), facet id (None for
/// in-memory facets), size in bytes by `sql.databaseSize`'s formula, and whether its
/// instance runs.
pub type FacetInfo = (String, Option<u32>, f64, bool);

impl Hub {
    /// The facet tree of object `id` of namespace `ns`: root first, then full names sorted.
    /// Only the running instances are read under the hub's lock; the index and the
    /// databases are read after releasing it.
    pub fn inspect(&self, rt: RtId, ns: u32, id: ObjectId) -> Result<Vec<FacetInfo>, CoreError> {
        let root: ObjectKey = (ns, id);
        let (running, place, files) = {
            let st = self.lock();
            let rtrec = st.runtimes.get(&rt).ok_or(CoreError::Disposed)?;
            // Running instances, by full name.
            let mut running: Vec<Vec<String>> = Vec::new();
            if rtrec.objects.contains_key(&Target::Root(root)) {
                running.push(Vec::new());
            }
            for (e, f) in &rtrec.forest.entries {
                if f.root == root && rtrec.objects.contains_key(&Target::Facet(*e)) {
                    running.push(f.path.clone());
                }
            }
            let files = rtrec.forest.roots.get(&root).map(|t| t.files.clone());
            (running, facet_ops::place(rtrec, root), files)
        };
        crate::storage::placement::test_hold();
        let mut out: Vec<FacetInfo> = Vec::new();
        if let Some(dir) = &place.dir {
            out.push((
                String::new(),
                Some(0),
                database_size(&place.facet_file(dir, 0)),
                running.contains(&Vec::new()),
            ));
            // A fresh read of the index (the runtime may not have opened it), read-only:
            // inspecting changes nothing on disk.
            if let Some(ix) =
                FacetIndex::read(&place.index_path(dir)).map_err(facet_ops::index_error)?
            {
                for fid in ix.subtree(0).into_iter().skip(1) {
                    let path = ix.path_of(fid);
                    let file = place.facet_file(dir, fid);
                    let is_running = running.contains(&path);
                    if file.exists() || is_running {
                        out.push((path.join("/"), Some(fid), database_size(&file), is_running));
                    }
                }
            }
        } else {
            let memory: Vec<(Vec<String>, SharedDb)> = files
                .map(|f| {
                    f.peek()
                        .memory
                        .iter()
                        .map(|(p, c)| (p.clone(), c.clone()))
                        .collect()
                })
                .unwrap_or_default();
            let mut names: Vec<Vec<String>> = memory
                .iter()
                .map(|(p, _)| p.clone())
                .chain(running.iter().cloned())
                .collect();
            names.sort();
            names.dedup();
            if !names.contains(&Vec::new()) {
                names.insert(0, Vec::new());
            }
            for path in names {
                let cell = memory.iter().find(|(p, _)| *p == path).map(|(_, c)| c);
                // Without waiting long on an instance busy in a query (its size then reads
                // as 0).
                let size = cell
                    .and_then(|c| {
                        c.try_lock_for(std::time::Duration::from_millis(50))
                            .and_then(|mut db| db.database_size().ok())
                    })
                    .unwrap_or(0) as f64;
                let facet_id = if path.is_empty() { Some(0) } else { None };
                out.push((path.join("/"), facet_id, size, running.contains(&path)));
            }
        }
        out[1..].sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// Ids (64 hex) of the objects of namespace `ns` that have storage.
    pub fn list_ids(&self, rt: RtId, ns: u32) -> Result<Vec<String>, CoreError> {
        let (dir, roots) = {
            let st = self.lock();
            let rtrec = st.runtimes.get(&rt).ok_or(CoreError::Disposed)?;
            let dir = rtrec.dirs.get(ns as usize).cloned();
            let roots: Vec<(ObjectId, Arc<crate::storage::placement::RootFiles>)> = rtrec
                .forest
                .roots
                .iter()
                .filter(|(k, _)| k.0 == ns)
                .map(|(k, t)| (k.1, t.files.clone()))
                .collect();
            (dir, roots)
        };
        let mut out: Vec<String> = match dir {
            Some(dir) => object_ids(dir.path()).map_err(|e| CoreError::Storage(e.to_string()))?,
            None => roots
                .into_iter()
                .filter(|(_, f)| !f.peek().memory.is_empty())
                .map(|(id, _)| ids::to_hex(&id))
                .collect(),
        };
        out.sort();
        out.dedup();
        Ok(out)
    }
}
