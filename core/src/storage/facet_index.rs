//! The facet index `<actor-id>.facets`: the facet tree of one object, mapping
//! (parent facet id, name) → facet id, so facets can be listed and deleted without listing
//! the directory (which holds other objects' files too).
//!
//! # Format
//!
//! An 8-byte magic, then records, each an unpacked Cap'n Proto message (standard stream
//! framing: one segment) holding a `FacetEntry` (schema/facets.capnp), followed by the
//! CRC32 of the message's bytes (little-endian). Records are only appended; each append is
//! `fdatasync`ed before the id is used, so before any file of the facet exists.
//!
//! # What a reader accepts
//!
//! The index is the only thing that says which database belongs to which name, so a
//! damaged index must never be "repaired" into one that hands a name another facet's id.
//! The rules:
//!
//! * Only a **torn tail** is cut: a crash in the middle of appending the *last* record.
//!   Such a record can own no file (files come after the sync), so dropping it loses
//!   nothing. The unreadable bytes at the end count as torn only when they can be what
//!   that crash leaves: a prefix of the one record the writer was appending, byte for
//!   byte as it encodes records (its frame header, the next id, a parent it knows, a
//!   name length that agrees with the frame's size, no byte past the record's end).
//!   Once its frame size is there, the rest may read as zeros (part of the write
//!   reached the disk); the frame size bounds the tail to that one record. Zeros where
//!   the frame size must be are not a torn append: a run of zeros at the end could hide
//!   any number of records. So a record that fails its CRC *followed by more bytes*, a
//!   length field flipped to point past EOF while real records follow, zeros over the
//!   middle or over the last records, garbage appended: all damage. A file shorter than the magic that is a prefix of it is a new index (a
//!   torn creation).
//! * Anything else is **corruption**, reported as `Facet index <file> is corrupt: <why>`
//!   and never repaired: a bad magic, an unreadable record followed by more data, an intact
//!   record that is not a valid `FacetEntry`, or one that makes no sense (id out of order,
//!   unknown parent, duplicate (parent, name), a name the runtime could not have written).
//! * **Belt and braces**: a truncation in the middle of the file or a damaged last record
//!   looks like a torn tail, and then the ids after it would be handed out again. So before
//!   a new id is appended, no file of that id may exist (`<actor-id>.<id>.sqlite` and its
//!   companions): if one does, the index lost records, and that is corruption too. An id
//!   that has files is never reused.
//! * Reading never writes: a torn tail is cut by the next append (the writer truncates the
//!   file to its valid part first), so a reader that only looks (`rt.inspect`, the CLI)
//!   changes nothing on disk.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::ops::Deref;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::facets_capnp::facet_entry;

pub const MAGIC: [u8; 8] = *b"DFFACET\x01";

/// The longest name the runtime writes: 128 UTF-16 code units, at most 3 UTF-8 bytes each.
pub const MAX_NAME_BYTES: usize = 384;
/// Maximum length of a facet name in UTF-16 code units (a JS string's length).
pub const MAX_NAME_UNITS: usize = 128;
/// Words of the one segment of a record with the longest name: root pointer, the struct's
/// data word (id, parent), its name pointer, then the NUL-terminated text.
const MAX_SEGMENT_WORDS: usize = 3 + (MAX_NAME_BYTES + 1).div_ceil(8);
/// The longest record the runtime writes: frame header, segment, CRC.
pub const MAX_RECORD_LEN: usize = 8 + 8 * MAX_SEGMENT_WORDS + 4;

/// Suffixes of the files a facet id can own next to `<actor-id>.<id>.sqlite` (SQLite's
/// companions, and the temporary copy `facets.clone` renames into place).
pub const FILE_SUFFIXES: [&str; 5] = ["", "-wal", "-shm", "-journal", "-clone"];

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

/// The facet tree read from an index: entries in id order (entry `i` has id `i + 1`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tree {
    entries: Vec<Entry>,
    by_key: HashMap<(u32, String), u32>,
}

/// What [`parse`] found in an index's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub tree: Tree,
    /// Bytes of the valid part (magic and intact records); 0 for a new (or torn-magic)
    /// index. Everything after it is a torn tail that the next append cuts off.
    pub valid_len: usize,
}

/// Reads an index from its bytes (pure: the reader the fuzz tests drive). `Err` is the
/// reason the index is corrupt.
pub fn parse(bytes: &[u8]) -> Result<Parsed, String> {
    if bytes.len() < MAGIC.len() {
        if MAGIC.starts_with(bytes) {
            return Ok(Parsed {
                tree: Tree::default(),
                valid_len: 0,
            });
        }
        return Err("bad magic".into());
    }
    if bytes[..MAGIC.len()] != MAGIC {
        return Err("bad magic".into());
    }
    let mut tree = Tree::default();
    let mut offset = MAGIC.len();
    while offset < bytes.len() {
        match read_record(&bytes[offset..]) {
            Record::Valid(entry, used) => {
                tree.accept(entry)?;
                offset += used;
            }
            Record::Invalid(why) => {
                return Err(format!(
                    "record at byte {offset} is not a facet entry: {why}"
                ))
            }
            Record::Unreadable { declared } => {
                torn_tail(&bytes[offset..], declared, tree.next_id())
                    .map_err(|why| format!("record at byte {offset} {why}"))?;
                break;
            }
        }
    }
    Ok(Parsed {
        tree,
        valid_len: offset,
    })
}

/// Ok when `tail` (unreadable bytes up to EOF) can be what a crash in the middle of
/// appending record `next_id` left: a prefix of that record as the writer encodes it,
/// possibly read as zeros after its frame size. Otherwise why it is damage instead. `declared`: the record's length per its frame
/// header, when that header is complete and plausible.
fn torn_tail(tail: &[u8], declared: Option<usize>, next_id: u32) -> Result<(), String> {
    if let Some(len) = declared.filter(|len| tail.len() > *len) {
        return Err(format!(
            "fails its checksum and is followed by {} more bytes",
            tail.len() - len
        ));
    }
    torn_append(tail, next_id)
        .map_err(|at| format!("is damaged (byte {at} of it cannot come from a torn append)"))
}

/// Checks `tail` against the layout `encode_record(next_id, parent, name)` produces;
/// `Err(offset)` of the first byte that cannot be there. Trailing zeros after the frame
/// size are not checked (part of a write lost), everything before them must fit:
///
/// ```text
/// 0..4   0 (one segment)           4..8   segment words W = 3 + text words
/// 8..16  root pointer: struct, 1 data word, 1 pointer
/// 16..20 id = next_id              20..24 parent < next_id
/// 24..32 list pointer: bytes, count = name bytes + 1 (NUL)
/// 32..   name (no NUL), NUL, zero padding to a word; then the CRC; then nothing
/// ```
fn torn_append(tail: &[u8], next_id: u32) -> Result<(), usize> {
    let z = tail.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    let known = &tail[..z];
    let u32_at = |at: usize| {
        known
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
    };
    let id = next_id.to_le_bytes();
    let fixed: [(usize, &[u8]); 4] = [
        (0, &[0, 0, 0, 0]),
        (8, &[0, 0, 0, 0, 1, 0, 1, 0]),
        (16, &id),
        (24, &[1, 0, 0, 0]),
    ];
    for (at, want) in fixed {
        for (i, w) in want.iter().enumerate() {
            if known.get(at + i).is_some_and(|b| b != w) {
                return Err(at + i);
            }
        }
    }
    // The segment size: below 256 words, so only its first byte may be non-zero.
    // Zeros from the frame size on: nothing bounds the tail to one record.
    if tail.len() > 4 && known.len() <= 4 {
        return Err(4);
    }
    let words = known.get(4).map(|&w| w as usize);
    if words.is_some_and(|w| !(4..=MAX_SEGMENT_WORDS).contains(&w)) {
        return Err(4);
    }
    if let Some(at) = (5..8).find(|&i| known.get(i).is_some_and(|&b| b != 0)) {
        return Err(at);
    }
    if u32_at(20).is_some_and(|parent| parent >= next_id) {
        return Err(20);
    }
    if known.get(28).is_some_and(|b| b & 7 != 2) {
        return Err(28);
    }
    let limit = match words {
        Some(w) => 8 + 8 * w + 4,
        None => MAX_RECORD_LEN,
    };
    if let Some(count) = u32_at(28).map(|c| (c >> 3) as usize) {
        let text_words = count.div_ceil(8);
        if !(2..=MAX_NAME_BYTES + 1).contains(&count) || words != Some(3 + text_words) {
            return Err(28);
        }
        let name = 32..32 + count - 1;
        if let Some(at) = name.clone().find(|&i| known.get(i) == Some(&0)) {
            return Err(at);
        }
        if let Some(at) =
            (name.end..32 + 8 * text_words).find(|&i| known.get(i).is_some_and(|&b| b != 0))
        {
            return Err(at);
        }
    }
    if tail.len() > limit {
        return Err(limit);
    }
    Ok(())
}

/// One record read at the start of some bytes.
enum Record {
    /// An intact, decoded record and the bytes it used.
    Valid(Entry, usize),
    /// Intact (CRC-valid) but not a valid FacetEntry: written like that, so never torn.
    Invalid(String),
    /// Incomplete, implausible or failing its CRC. `declared`: the length the frame header
    /// gives, when it is complete and plausible.
    Unreadable { declared: Option<usize> },
}

fn read_record(bytes: &[u8]) -> Record {
    let word = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().expect("4 bytes"));
    if bytes.len() < 8 {
        return Record::Unreadable { declared: None };
    }
    // The frame header: segment count - 1, then the segment's size in words. Checked here,
    // before capnp sees it, so a damaged size can never make it allocate or read much.
    let words = word(4) as usize;
    if word(0) != 0 || !(4..=MAX_SEGMENT_WORDS).contains(&words) {
        return Record::Unreadable { declared: None };
    }
    let message_len = 8 + 8 * words;
    let declared = message_len + 4;
    if bytes.len() < declared {
        return Record::Unreadable {
            declared: Some(declared),
        };
    }
    if word(message_len) != crc32fast::hash(&bytes[..message_len]) {
        return Record::Unreadable {
            declared: Some(declared),
        };
    }
    match decode(&bytes[..message_len]) {
        Ok(entry) => Record::Valid(entry, declared),
        Err(why) => Record::Invalid(why),
    }
}

/// Decodes one framed message (header already checked) into an entry.
fn decode(message: &[u8]) -> Result<Entry, String> {
    let options = *capnp::message::ReaderOptions::new()
        .traversal_limit_in_words(Some(4 * MAX_SEGMENT_WORDS))
        .nesting_limit(4);
    // Records follow 4-byte CRCs, so they are not 8-byte aligned: read through `Read`,
    // which copies the segment into aligned memory.
    let mut slice = message;
    let reader = capnp::serialize::read_message(&mut slice, options).map_err(|e| e.to_string())?;
    if !slice.is_empty() {
        return Err("trailing bytes in the message".into());
    }
    let e = reader
        .get_root::<facet_entry::Reader>()
        .map_err(|e| e.to_string())?;
    let name = e
        .get_name()
        .map_err(|e| e.to_string())?
        .to_str()
        .map_err(|_| "the name is not UTF-8".to_string())?
        .to_owned();
    Ok(Entry {
        id: e.get_id(),
        parent: e.get_parent(),
        name,
    })
}

/// Why `name` is not one the runtime writes (SPEC §5.1), or None.
fn bad_name(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("an empty name")
    } else if name.encode_utf16().count() > MAX_NAME_UNITS {
        Some("a name longer than 128 characters")
    } else if name.contains('/') {
        Some("a name containing '/'")
    } else if name
        .chars()
        .any(|c| matches!(c, '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}'))
    {
        Some("a name containing control characters")
    } else {
        None
    }
}

impl Tree {
    /// Adds a record read from the file, checking that it makes sense.
    fn accept(&mut self, e: Entry) -> Result<(), String> {
        let expected = self.entries.len() as u32 + 1;
        if e.id != expected {
            return Err(format!("record {expected} has id {}", e.id));
        }
        if e.parent >= e.id {
            return Err(format!("facet {} has unknown parent {}", e.id, e.parent));
        }
        if let Some(why) = bad_name(&e.name) {
            return Err(format!("facet {} has {why}", e.id));
        }
        if self.by_key.contains_key(&(e.parent, e.name.clone())) {
            return Err(format!(
                "duplicate name {:?} under facet {}",
                e.name, e.parent
            ));
        }
        self.push(e);
        Ok(())
    }

    fn push(&mut self, e: Entry) {
        self.by_key.insert((e.parent, e.name.clone()), e.id);
        self.entries.push(e);
    }

    /// Every entry, in id order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The id the next new entry gets.
    pub fn next_id(&self) -> u32 {
        self.entries.len() as u32 + 1
    }

    pub fn lookup(&self, parent: u32, name: &str) -> Option<u32> {
        self.by_key.get(&(parent, name.to_owned())).copied()
    }

    pub fn entry(&self, id: u32) -> Option<&Entry> {
        id.checked_sub(1).and_then(|i| self.entries.get(i as usize))
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

/// `<dir>/<actor-id>.<id>.sqlite` for the index `<dir>/<actor-id>.facets`.
pub fn database_path(index: &Path, id: u32) -> PathBuf {
    let stem = index.with_extension("");
    let mut p = stem.into_os_string();
    p.push(format!(".{id}.sqlite"));
    PathBuf::from(p)
}

/// The first existing file of facet `id` (its database, a companion or a clone's temp).
pub fn existing_file(index: &Path, id: u32) -> Option<PathBuf> {
    let db = database_path(index, id);
    FILE_SUFFIXES.iter().find_map(|s| {
        let mut p = db.clone().into_os_string();
        p.push(s);
        let p = PathBuf::from(p);
        // symlink_metadata: a dangling link is a file too.
        p.symlink_metadata().is_ok().then_some(p)
    })
}

/// An index open for reading and appending.
pub struct FacetIndex {
    path: PathBuf,
    file: File,
    tree: Tree,
    /// Bytes of the valid part; appends go here.
    len: u64,
    /// The file's length (beyond `len`: a torn tail the next append cuts off).
    file_len: u64,
}

impl Deref for FacetIndex {
    type Target = Tree;
    fn deref(&self) -> &Tree {
        &self.tree
    }
}

fn io_error(path: &Path) -> impl Fn(std::io::Error) -> IndexError + '_ {
    move |e| IndexError::Io {
        file: path.display().to_string(),
        why: e.to_string(),
    }
}

fn corrupt(path: &Path, why: String) -> IndexError {
    IndexError::Corrupt {
        file: path.display().to_string(),
        why,
    }
}

impl FacetIndex {
    /// Opens the index if the file exists (None otherwise).
    pub fn open_existing(path: &Path) -> Result<Option<FacetIndex>, IndexError> {
        if !path.exists() {
            return Ok(None);
        }
        Self::open(path).map(Some)
    }

    /// Opens (creating if needed) and validates the index. Writes nothing: a new file stays
    /// empty and a torn tail stays until the first append.
    pub fn open(path: &Path) -> Result<FacetIndex, IndexError> {
        let io = io_error(path);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(&io)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(&io)?;
        let parsed = parse(&bytes).map_err(|why| corrupt(path, why))?;
        Ok(FacetIndex {
            path: path.to_path_buf(),
            file,
            tree: parsed.tree,
            len: parsed.valid_len as u64,
            file_len: bytes.len() as u64,
        })
    }

    /// Reads the index without opening it for writing (None without a file): what
    /// inspection uses, so looking changes nothing on disk.
    pub fn read(path: &Path) -> Result<Option<Tree>, IndexError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error(path)(e)),
        };
        parse(&bytes)
            .map(|p| Some(p.tree))
            .map_err(|why| corrupt(path, why))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The id of (parent, name), appending (durably) a new entry if there is none.
    pub fn get_or_assign(&mut self, parent: u32, name: &str) -> Result<u32, IndexError> {
        if let Some(id) = self.lookup(parent, name) {
            return Ok(id);
        }
        let id = self.tree.next_id();
        // Belt and braces: files of a new id mean the index lost records (a damaged end
        // read as a torn tail, or a truncation); handing the id out would give `name`
        // another facet's data.
        if let Some(file) = existing_file(&self.path, id) {
            return Err(corrupt(
                &self.path,
                format!(
                    "facet id {id} is not in the index but has files ({}): records were lost",
                    file.display()
                ),
            ));
        }
        let io = io_error(&self.path);
        let mut bytes = Vec::new();
        let at = if self.len < MAGIC.len() as u64 {
            bytes.extend_from_slice(&MAGIC);
            0
        } else {
            self.len
        };
        bytes.extend(encode_record(id, parent, name));
        if self.file_len > at {
            // Cut the torn tail (or torn magic) first: what is appended must end the file.
            self.file.set_len(at).map_err(&io)?;
            self.file_len = at;
        }
        // Counted before writing: after a failed write the next append cuts what got out.
        self.file_len = at + bytes.len() as u64;
        self.file.write_all_at(&bytes, at).map_err(&io)?;
        self.file.sync_data().map_err(&io)?;
        self.len = self.file_len;
        self.tree.push(Entry {
            id,
            parent,
            name: name.to_owned(),
        });
        Ok(id)
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

#[cfg(test)]
#[path = "facet_index_props.rs"]
mod props;

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("df-index-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("x.facets")
    }

    /// An index file with facets a, b, c, d (ids 1–4) under the root.
    fn four(p: &Path) -> Vec<u8> {
        let mut bytes = MAGIC.to_vec();
        for (i, n) in ["a", "b", "c", "d"].iter().enumerate() {
            bytes.extend(encode_record(i as u32 + 1, 0, n));
        }
        std::fs::write(p, &bytes).unwrap();
        bytes
    }

    fn why(r: Result<FacetIndex, IndexError>) -> String {
        match r {
            Err(IndexError::Corrupt { why, .. }) => why,
            Err(e) => panic!("not corruption: {e}"),
            Ok(_) => panic!("accepted"),
        }
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
    fn the_longest_name_fits_the_largest_record() {
        let name = "\u{ffff}".repeat(MAX_NAME_UNITS);
        assert_eq!(name.len(), MAX_NAME_BYTES);
        assert_eq!(
            encode_record(u32::MAX, u32::MAX, &name).len(),
            MAX_RECORD_LEN
        );
    }

    #[test]
    fn a_torn_last_record_is_cut_off_by_the_next_append() {
        let p = temp("torn");
        let mut ix = FacetIndex::open(&p).unwrap();
        ix.get_or_assign(0, "a").unwrap();
        ix.get_or_assign(0, "b").unwrap();
        drop(ix);
        let full = std::fs::read(&p).unwrap();
        let one = MAGIC.len() + encode_record(1, 0, "a").len();
        for cut in one + 1..full.len() {
            std::fs::write(&p, &full[..cut]).unwrap();
            let mut ix = FacetIndex::open(&p).unwrap();
            assert_eq!((ix.lookup(0, "a"), ix.lookup(0, "b")), (Some(1), None));
            assert_eq!(
                std::fs::read(&p).unwrap(),
                &full[..cut],
                "opening writes nothing"
            );
            assert_eq!(ix.get_or_assign(0, "c").unwrap(), 2);
            drop(ix);
            let ix = FacetIndex::open(&p).unwrap();
            assert_eq!(ix.lookup(0, "c"), Some(2));
            assert_eq!(
                std::fs::metadata(&p).unwrap().len() as usize,
                one + encode_record(2, 0, "c").len()
            );
        }
    }

    #[test]
    fn zeros_after_a_torn_prefix_are_a_torn_tail() {
        let p = temp("zeros");
        let good = four(&p);
        let e = encode_record(5, 0, "e");
        // A prefix of the record being appended, the rest of it lost (read as zeros).
        let tails = [
            vec![0u8; 3],
            e[..5].to_vec(),
            [&e[..20], &[0u8; 24][..]].concat(),
        ];
        for tail in tails {
            std::fs::write(&p, [&good[..], &tail].concat()).unwrap();
            let mut ix = FacetIndex::open(&p).unwrap();
            assert_eq!(ix.lookup(0, "d"), Some(4));
            assert_eq!(ix.get_or_assign(0, "f").unwrap(), 5);
            drop(ix);
            let expected = [&good[..], &encode_record(5, 0, "f")].concat();
            assert_eq!(std::fs::read(&p).unwrap(), expected);
        }
    }

    #[test]
    fn garbage_at_the_end_is_corruption() {
        let p = temp("garbage");
        let good = four(&p);
        let e = encode_record(5, 0, "e");
        let tails: [(&[u8], usize); 6] = [
            (b"\x01\x02garbage", 0),
            (&[0; 44], 0), // zeros: maybe one record, maybe the last three lost
            (&[&e[..20], &[0u8; 25][..]].concat(), 0), // zeros past the record's end
            (&[0, 0, 0, 0, 60], 0), // a frame size no record has
            (&encode_record(6, 0, "e")[..30], 0), // not the next id
            (&[&e[..], &[1][..]].concat(), e.len()), // a whole record, then one stray byte
        ];
        for (tail, at) in tails {
            let bytes = [&good[..], tail].concat();
            std::fs::write(&p, &bytes).unwrap();
            let w = why(FacetIndex::open(&p));
            assert!(
                w.starts_with(&format!("record at byte {} ", good.len() + at)),
                "{w}"
            );
            assert_eq!(std::fs::read(&p).unwrap(), bytes, "nothing repaired");
        }
    }

    #[test]
    fn a_last_record_failing_its_checksum_is_dropped_if_it_could_be_torn() {
        let p = temp("crc");
        let good = four(&p);
        let n = good.len();
        let last = n - encode_record(4, 0, "d").len();
        // Its name or CRC changed: what a torn write of that record can leave. Dropped.
        for at in [last + 32, n - 1] {
            let mut bytes = good.clone();
            bytes[at] ^= 0x21;
            std::fs::write(&p, &bytes).unwrap();
            let ix = FacetIndex::open(&p).unwrap();
            assert_eq!((ix.lookup(0, "c"), ix.lookup(0, "d")), (Some(3), None));
        }
        // Its padding, id or frame changed: no torn write does that. Corruption.
        for at in [last + 34, last + 24, last + 1] {
            let mut bytes = good.clone();
            bytes[at] ^= 0x21;
            std::fs::write(&p, &bytes).unwrap();
            let w = why(FacetIndex::open(&p));
            assert!(w.starts_with(&format!("record at byte {last} ")), "{w}");
        }
    }

    #[test]
    fn damage_before_the_last_record_is_corruption() {
        let p = temp("middle");
        let good = four(&p);
        let rec = encode_record(1, 0, "a").len();
        let second = MAGIC.len() + rec;
        let at_second = |p: &Path| {
            let w = why(FacetIndex::open(p));
            assert!(w.starts_with(&format!("record at byte {second} ")), "{w}");
        };
        // A flipped byte in record 2 of 4.
        let mut flipped = good.clone();
        flipped[second + 20] ^= 0x10;
        std::fs::write(&p, &flipped).unwrap();
        at_second(&p);
        // Its length field pointing past EOF while records 3 and 4 follow.
        let mut long = good.clone();
        long[second + 4] = 40;
        std::fs::write(&p, &long).unwrap();
        at_second(&p);
        // Its length field shortened.
        let mut short = good.clone();
        short[second + 4] -= 1;
        std::fs::write(&p, &short).unwrap();
        at_second(&p);
        // Zeroed from record 2 to the middle of record 4.
        let mut zeroed = good.clone();
        zeroed[second..second + 2 * rec + 10].fill(0);
        std::fs::write(&p, &zeroed).unwrap();
        at_second(&p);
        // Whole-file damage: zeros, or garbage longer than any record.
        std::fs::write(&p, vec![0u8; good.len()]).unwrap();
        assert_eq!(why(FacetIndex::open(&p)), "bad magic");
        std::fs::write(&p, [&good[..], &[7u8; MAX_RECORD_LEN + 1][..]].concat()).unwrap();
        assert!(why(FacetIndex::open(&p)).starts_with(&format!("record at byte {} ", good.len())));
        // Nothing was "repaired".
        assert_eq!(
            std::fs::read(&p).unwrap().len(),
            good.len() + MAX_RECORD_LEN + 1
        );
    }

    #[test]
    fn a_new_id_that_already_has_files_is_corruption_never_reused() {
        let p = temp("lost");
        let good = four(&p);
        // Records 3 and 4 lost to a truncation; facet 3 has a database.
        let two = MAGIC.len() + encode_record(1, 0, "a").len() + encode_record(2, 0, "b").len();
        std::fs::write(&p, &good[..two + 5]).unwrap();
        for suffix in FILE_SUFFIXES {
            let file = PathBuf::from(format!("{}{suffix}", database_path(&p, 3).display()));
            std::fs::write(&file, b"data of facet c").unwrap();
            let mut ix = FacetIndex::open(&p).unwrap();
            assert_eq!(ix.lookup(0, "b"), Some(2), "known ids still work");
            let e = ix.get_or_assign(0, "x").unwrap_err().to_string();
            assert!(
                e.ends_with(&format!(
                    "is corrupt: facet id 3 is not in the index but has files ({}): records were lost",
                    file.display()
                )),
                "{e}"
            );
            assert_eq!(
                std::fs::read(&p).unwrap(),
                &good[..two + 5],
                "index untouched"
            );
            std::fs::remove_file(&file).unwrap();
        }
        assert_eq!(database_path(&p, 3), p.with_file_name("x.3.sqlite"));
    }

    #[test]
    fn reading_changes_nothing_on_disk() {
        let p = temp("read");
        assert_eq!(FacetIndex::read(&p).unwrap(), None);
        assert!(!p.exists());
        let good = four(&p);
        let torn = [&good[..], &encode_record(5, 0, "e")[..30]].concat();
        std::fs::write(&p, &torn).unwrap();
        let tree = FacetIndex::read(&p).unwrap().unwrap();
        assert_eq!(tree.entries().len(), 4);
        assert_eq!(std::fs::read(&p).unwrap(), torn);
    }

    #[test]
    fn valid_records_that_make_no_sense_are_corruption() {
        let p = temp("corrupt");
        type Records<'a> = &'a [(u32, u32, &'a str)];
        let cases: [(Records, &str); 6] = [
            (
                &[(1, 0, "a"), (2, 7, "orphan")],
                "facet 2 has unknown parent 7",
            ),
            (
                &[(1, 0, "a"), (2, 0, "a")],
                "duplicate name \"a\" under facet 0",
            ),
            (&[(2, 0, "a")], "record 1 has id 2"),
            (&[(1, 0, "")], "facet 1 has an empty name"),
            (&[(1, 0, "a/b")], "facet 1 has a name containing '/'"),
            (
                &[(1, 0, "a\u{85}")],
                "facet 1 has a name containing control characters",
            ),
        ];
        for (records, expected) in cases {
            let mut bytes = MAGIC.to_vec();
            for (id, parent, name) in records {
                bytes.extend(encode_record(*id, *parent, name));
            }
            std::fs::write(&p, &bytes).unwrap();
            let e = FacetIndex::open(&p).err().unwrap().to_string();
            assert!(
                e.starts_with("Facet index ") && e.ends_with(&format!("is corrupt: {expected}")),
                "{e}"
            );
        }
        std::fs::write(&p, b"NOTMAGIC").unwrap();
        assert!(FacetIndex::open(&p)
            .err()
            .unwrap()
            .to_string()
            .ends_with("is corrupt: bad magic"));
    }
}
