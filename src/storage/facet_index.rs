//! The facet index `<actor-id>.facets`: the facet tree of one object, mapping
//! (parent facet id, name) → facet id, so facets can be listed and deleted without listing
//! the directory (which holds other objects' files too).
//!
//! Format: an 8-byte magic, then records, each an unpacked Cap'n Proto message (standard
//! stream framing) holding a `FacetEntry` (schema/facets.capnp), followed by the CRC32 of
//! the message's bytes (little-endian). Records are only appended; each append is
//! `fdatasync`ed before the id is used (before any file of the facet exists). On open, the
//! first incomplete or CRC-failing record and everything after it are cut off (a crash
//! mid-append, or garbage). A valid record that makes no sense (unknown parent, duplicate
//! (parent, name), out-of-order id, empty name) is corruption: the object cannot start.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::facets_capnp::facet_entry;

pub const MAGIC: [u8; 8] = *b"DFFACET\x01";

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum IndexError {
    #[error("Facet index {file} is corrupt: {why}")]
    Corrupt { file: String, why: String },
    #[error("Facet index {file}: {why}")]
    Io { file: String, why: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: u32,
    pub parent: u32,
    pub name: String,
}

pub struct FacetIndex {
    path: PathBuf,
    file: File,
    entries: Vec<Entry>,
    by_key: HashMap<(u32, String), u32>,
    len: u64,
}

impl FacetIndex {
    /// Opens the index if the file exists (None otherwise).
    pub fn open_existing(path: &Path) -> Result<Option<FacetIndex>, IndexError> {
        if !path.exists() {
            return Ok(None);
        }
        Self::open(path).map(Some)
    }

    /// Opens (creating if needed) and validates the index, cutting off a torn tail.
    pub fn open(path: &Path) -> Result<FacetIndex, IndexError> {
        let io = |e: std::io::Error| IndexError::Io {
            file: path.display().to_string(),
            why: e.to_string(),
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io)?;
        let mut index = FacetIndex {
            path: path.to_path_buf(),
            file,
            entries: Vec::new(),
            by_key: HashMap::new(),
            len: MAGIC.len() as u64,
        };
        if bytes.len() < MAGIC.len() {
            // New, or the magic itself was torn: start over.
            index.file.set_len(0).map_err(io)?;
            index.file.write_all_at(&MAGIC, 0).map_err(io)?;
            index.file.sync_data().map_err(io)?;
            return Ok(index);
        }
        if bytes[..MAGIC.len()] != MAGIC {
            return Err(index.corrupt("bad magic"));
        }
        let mut offset = MAGIC.len();
        while offset < bytes.len() {
            let Some((entry, used)) = parse_record(&bytes[offset..]) else {
                break; // torn or garbage tail
            };
            index.accept(entry)?;
            offset += used;
        }
        index.len = offset as u64;
        if offset < bytes.len() {
            index.file.set_len(index.len).map_err(io)?;
            index.file.sync_data().map_err(io)?;
        }
        Ok(index)
    }

    fn corrupt(&self, why: impl Into<String>) -> IndexError {
        IndexError::Corrupt {
            file: self.path.display().to_string(),
            why: why.into(),
        }
    }

    /// Adds a record read from the file, checking that it makes sense.
    fn accept(&mut self, e: Entry) -> Result<(), IndexError> {
        let expected = self.entries.len() as u32 + 1;
        if e.id != expected {
            return Err(self.corrupt(format!("record {expected} has id {}", e.id)));
        }
        if e.parent >= e.id {
            return Err(self.corrupt(format!("facet {} has unknown parent {}", e.id, e.parent)));
        }
        if e.name.is_empty() {
            return Err(self.corrupt(format!("facet {} has an empty name", e.id)));
        }
        if self.by_key.contains_key(&(e.parent, e.name.clone())) {
            return Err(self.corrupt(format!(
                "duplicate name {:?} under facet {}",
                e.name, e.parent
            )));
        }
        self.by_key.insert((e.parent, e.name.clone()), e.id);
        self.entries.push(e);
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn lookup(&self, parent: u32, name: &str) -> Option<u32> {
        self.by_key.get(&(parent, name.to_owned())).copied()
    }

    pub fn entry(&self, id: u32) -> Option<&Entry> {
        id.checked_sub(1).and_then(|i| self.entries.get(i as usize))
    }

    /// The id of (parent, name), appending (durably) a new entry if there is none.
    pub fn get_or_assign(&mut self, parent: u32, name: &str) -> Result<u32, IndexError> {
        if let Some(id) = self.lookup(parent, name) {
            return Ok(id);
        }
        let id = self.entries.len() as u32 + 1;
        let bytes = encode_record(id, parent, name);
        let io = |e: std::io::Error| IndexError::Io {
            file: self.path.display().to_string(),
            why: e.to_string(),
        };
        self.file.write_all_at(&bytes, self.len).map_err(io)?;
        self.file.sync_data().map_err(io)?;
        self.len += bytes.len() as u64;
        self.by_key.insert((parent, name.to_owned()), id);
        self.entries.push(Entry {
            id,
            parent,
            name: name.to_owned(),
        });
        Ok(id)
    }

    /// Direct children of `parent`: (name, id), sorted by name.
    pub fn children(&self, parent: u32) -> Vec<(String, u32)> {
        let mut out: Vec<(String, u32)> = self
            .entries
            .iter()
            .filter(|e| e.parent == parent)
            .map(|e| (e.name.clone(), e.id))
            .collect();
        out.sort();
        out
    }

    /// The full name of facet `id`, as names from the root down.
    pub fn path_of(&self, id: u32) -> Vec<String> {
        let mut path = Vec::new();
        let mut cur = id;
        while let Some(e) = self.entry(cur) {
            path.push(e.name.clone());
            cur = e.parent;
        }
        path.reverse();
        path
    }

    /// `id` and all its descendants, parents before children.
    pub fn subtree(&self, id: u32) -> Vec<u32> {
        let mut out = vec![id];
        let mut i = 0;
        while i < out.len() {
            let p = out[i];
            out.extend(self.entries.iter().filter(|e| e.parent == p).map(|e| e.id));
            i += 1;
        }
        out
    }
}

/// One record: the framed message followed by its CRC32.
pub fn encode_record(id: u32, parent: u32, name: &str) -> Vec<u8> {
    let mut message = capnp::message::Builder::new_default();
    {
        let mut e = message.init_root::<facet_entry::Builder>();
        e.set_id(id);
        e.set_parent(parent);
        e.set_name(name);
    }
    let mut bytes = Vec::new();
    capnp::serialize::write_message(&mut bytes, &message).expect("writing to a Vec cannot fail");
    let crc = crc32fast::hash(&bytes);
    bytes.extend_from_slice(&crc.to_le_bytes());
    bytes
}

/// Parses one record at the start of `bytes`: the entry and the bytes it used, or None when
/// the record is incomplete, fails its CRC, or is not a FacetEntry message.
fn parse_record(bytes: &[u8]) -> Option<(Entry, usize)> {
    // Records follow 4-byte CRCs, so they are not 8-byte aligned: read through `Read`, which
    // copies the segments into aligned memory and advances the slice by what it used.
    let mut slice = bytes;
    let reader =
        capnp::serialize::read_message(&mut slice, capnp::message::ReaderOptions::new()).ok()?;
    let message_len = bytes.len() - slice.len();
    let crc = slice.get(..4)?;
    if u32::from_le_bytes(crc.try_into().ok()?) != crc32fast::hash(&bytes[..message_len]) {
        return None;
    }
    let e = reader.get_root::<facet_entry::Reader>().ok()?;
    let name = e.get_name().ok()?.to_str().ok()?.to_owned();
    Some((
        Entry {
            id: e.get_id(),
            parent: e.get_parent(),
            name,
        },
        message_len + 4,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("df-index-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("x.facets")
    }

    #[test]
    fn ids_are_assigned_in_order_and_stable_across_reopen() {
        let p = temp("order");
        let mut ix = FacetIndex::open(&p).unwrap();
        assert_eq!(ix.get_or_assign(0, "foo").unwrap(), 1);
        assert_eq!(ix.get_or_assign(0, "bar").unwrap(), 2);
        assert_eq!(ix.get_or_assign(2, "foo").unwrap(), 3);
        assert_eq!(ix.get_or_assign(2, "bar").unwrap(), 4);
        assert_eq!(ix.get_or_assign(0, "foo").unwrap(), 1);
        drop(ix);
        let ix = FacetIndex::open(&p).unwrap();
        assert_eq!(ix.lookup(2, "bar"), Some(4));
        assert_eq!(ix.children(2), vec![("bar".into(), 4), ("foo".into(), 3)]);
        assert_eq!(ix.subtree(2), vec![2, 3, 4]);
        assert_eq!(ix.path_of(3), vec!["bar", "foo"]);
        let bytes = std::fs::read(&p).unwrap();
        assert_eq!(&bytes[..8], &MAGIC);
    }

    #[test]
    fn a_torn_or_garbage_tail_is_cut_off() {
        let p = temp("torn");
        let mut ix = FacetIndex::open(&p).unwrap();
        ix.get_or_assign(0, "a").unwrap();
        ix.get_or_assign(0, "b").unwrap();
        drop(ix);
        let full = std::fs::read(&p).unwrap();
        // Torn: half of the last record.
        let one = MAGIC.len() + encode_record(1, 0, "a").len();
        std::fs::write(&p, &full[..full.len() - 5]).unwrap();
        let mut ix = FacetIndex::open(&p).unwrap();
        assert_eq!(ix.lookup(0, "b"), None);
        assert_eq!(std::fs::metadata(&p).unwrap().len(), one as u64);
        assert_eq!(ix.get_or_assign(0, "c").unwrap(), 2);
        drop(ix);
        // Garbage appended.
        let mut bytes = std::fs::read(&p).unwrap();
        bytes.extend_from_slice(b"\x01\x02garbage garbage garbage");
        std::fs::write(&p, &bytes).unwrap();
        let ix = FacetIndex::open(&p).unwrap();
        assert_eq!(ix.lookup(0, "c"), Some(2));
        assert_eq!(std::fs::read(&p).unwrap().len(), bytes.len() - 25);
    }

    #[test]
    fn a_crc_mismatch_ends_the_valid_part() {
        let p = temp("crc");
        let mut ix = FacetIndex::open(&p).unwrap();
        ix.get_or_assign(0, "a").unwrap();
        ix.get_or_assign(0, "b").unwrap();
        drop(ix);
        let mut bytes = std::fs::read(&p).unwrap();
        let n = bytes.len();
        bytes[n - 6] ^= 0xff; // inside the last message
        std::fs::write(&p, &bytes).unwrap();
        let ix = FacetIndex::open(&p).unwrap();
        assert_eq!((ix.lookup(0, "a"), ix.lookup(0, "b")), (Some(1), None));
    }

    #[test]
    fn valid_records_that_make_no_sense_are_corruption() {
        let p = temp("corrupt");
        let mut bytes = MAGIC.to_vec();
        bytes.extend(encode_record(1, 0, "a"));
        bytes.extend(encode_record(2, 7, "orphan"));
        std::fs::write(&p, &bytes).unwrap();
        let e = FacetIndex::open(&p).err().unwrap().to_string();
        assert!(
            e.starts_with("Facet index ")
                && e.ends_with("is corrupt: facet 2 has unknown parent 7"),
            "{e}"
        );
        let mut bytes = MAGIC.to_vec();
        bytes.extend(encode_record(1, 0, "a"));
        bytes.extend(encode_record(2, 0, "a"));
        std::fs::write(&p, &bytes).unwrap();
        assert!(FacetIndex::open(&p)
            .err()
            .unwrap()
            .to_string()
            .ends_with("duplicate name \"a\" under facet 0"));
        std::fs::write(&p, b"NOTMAGIC").unwrap();
        assert!(FacetIndex::open(&p)
            .err()
            .unwrap()
            .to_string()
            .ends_with("is corrupt: bad magic"));
    }
}
