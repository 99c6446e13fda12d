//! Property and fuzz tests of the facet index reader (`parse`): arbitrary bytes, arbitrary
//! truncations, byte flips and zeroed ranges of valid indexes, and round trips of arbitrary
//! entries through the writer.
//!
//! A fixed seed and 256 cases by default, so `cargo test` stays fast and reproducible. For a
//! long run, proptest's own environment variables override both (the `proptest!` macro
//! applies them on top of the config below):
//! `PROPTEST_CASES=100000 cargo test --lib prop_` (`PROPTEST_RNG_SEED=<u64>` for another
//! seed), or `scripts/fuzz-facet-index.sh [cases] [seed]`.

use proptest::prelude::*;
use proptest::test_runner::RngSeed;

use super::*;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        rng_seed: RngSeed::Fixed(0x00fa_ce75),
        // Failures print their minimal case; no files are written into the source tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A facet name as JS allows it: 1–128 UTF-16 units, no '/', no control characters.
fn name() -> impl Strategy<Value = String> {
    // Mapped rather than filtered, so long runs never hit proptest's reject limit.
    let ch = any::<char>().prop_map(|c| {
        if c == '/' || matches!(c, '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}') {
            char::from_u32(0x100 + c as u32).expect("a letter of Latin Extended-A/B")
        } else {
            c
        }
    });
    prop::collection::vec(ch, 1..=128).prop_map(|chars| {
        let mut name = String::new();
        let mut units = 0;
        for c in chars {
            units += c.len_utf16();
            if units > MAX_NAME_UNITS {
                break;
            }
            name.push(c);
        }
        name
    })
}

/// Names that stress the record layout: ASCII of every length, and long multi-byte ones.
fn any_name() -> impl Strategy<Value = String> {
    prop_oneof![
        name(),
        (1usize..=128).prop_map(|n| "x".repeat(n)),
        (1usize..=128).prop_map(|n| "é".repeat(n)),
        (1usize..=128).prop_map(|n| "\u{ffff}".repeat(n)),
        (1usize..=64).prop_map(|n| "😀".repeat(n)),
    ]
}

/// The entries of a valid tree: entry i has id i + 1 and a parent among the ids before it.
fn entries(max: usize) -> impl Strategy<Value = Vec<Entry>> {
    prop::collection::vec((any::<prop::sample::Index>(), any_name()), 0..=max).prop_map(|raw| {
        let mut out: Vec<Entry> = Vec::new();
        for (parent, name) in raw {
            let id = out.len() as u32 + 1;
            let parent = parent.index(id as usize) as u32;
            if out.iter().any(|e| e.parent == parent && e.name == name) {
                continue;
            }
            out.push(Entry { id, parent, name });
        }
        out
    })
}

/// The bytes of a valid index holding `entries`, and where each record ends.
fn index_bytes(entries: &[Entry]) -> (Vec<u8>, Vec<usize>) {
    let mut bytes = MAGIC.to_vec();
    let mut ends = Vec::new();
    for e in entries {
        bytes.extend(encode_record(e.id, e.parent, &e.name));
        ends.push(bytes.len());
    }
    (bytes, ends)
}

/// What any reading of damaged bytes must satisfy: a corruption error, or the valid index
/// minus at most its final record, and that only when every change lies inside it.
fn check_damage(entries: &[Entry], ends: &[usize], original: &[u8], damaged: &[u8]) {
    let changed: Vec<usize> = (0..original.len().max(damaged.len()))
        .filter(|&i| original.get(i) != damaged.get(i))
        .collect();
    match parse(damaged) {
        Err(why) => assert!(!changed.is_empty(), "an intact index is corrupt: {why}"),
        Ok(p) => {
            let kept = p.tree.entries();
            assert_eq!(kept, &entries[..kept.len()], "not a prefix");
            let n = entries.len();
            if kept.len() < n {
                assert_eq!(kept.len(), n - 1, "more than the final record dropped");
                let last_start = if n >= 2 { ends[n - 2] } else { MAGIC.len() };
                assert!(
                    changed.iter().all(|&i| i >= last_start),
                    "a record was dropped for damage before it ({changed:?}, last starts at {last_start})"
                );
                assert_eq!(p.valid_len, last_start);
            } else {
                assert_eq!(p.valid_len, original.len());
            }
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn prop_arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048), magic: bool) {
        let bytes = if magic { [&MAGIC[..], &bytes].concat() } else { bytes };
        if let Ok(p) = parse(&bytes) {
            prop_assert!(p.valid_len <= bytes.len());
            for (i, e) in p.tree.entries().iter().enumerate() {
                prop_assert_eq!(e.id as usize, i + 1);
                prop_assert!(e.parent < e.id && bad_name(&e.name).is_none());
            }
        }
    }

    /// Frames with a plausible header and a valid CRC around arbitrary segment bytes: capnp
    /// decodes whatever they hold (pointers anywhere, far pointers, lists of anything).
    #[test]
    fn prop_intact_frames_around_arbitrary_messages_never_panic(
        prefix in entries(3),
        segments in prop::collection::vec(prop::collection::vec(any::<u8>(), 32..=8 * MAX_SEGMENT_WORDS), 1..4),
        words in prop::collection::vec(4usize..=MAX_SEGMENT_WORDS, 1..4),
    ) {
        let (mut bytes, _) = index_bytes(&prefix);
        for (seg, w) in segments.iter().zip(words) {
            let mut seg = seg.clone();
            seg.resize(8 * w, 0);
            let mut message = vec![0, 0, 0, 0];
            message.extend((w as u32).to_le_bytes());
            message.extend(&seg);
            let crc = crc32fast::hash(&message);
            bytes.extend(message);
            bytes.extend(crc.to_le_bytes());
        }
        if let Ok(p) = parse(&bytes) {
            prop_assert_eq!(&p.tree.entries()[..prefix.len()], &prefix[..]);
        }
    }

    #[test]
    fn prop_round_trip_in_memory(entries in entries(24)) {
        let (bytes, _) = index_bytes(&entries);
        let p = parse(&bytes).unwrap();
        prop_assert_eq!(p.tree.entries(), &entries[..]);
        prop_assert_eq!(p.valid_len, bytes.len());
        for e in &entries {
            prop_assert_eq!(p.tree.lookup(e.parent, &e.name), Some(e.id));
        }
    }

    #[test]
    fn prop_round_trip_through_write_and_read(entries in entries(6)) {
        let dir = std::env::temp_dir().join(format!("df-index-prop-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("rt.facets");
        let _ = std::fs::remove_file(&path);
        let mut ix = FacetIndex::open(&path).unwrap();
        for e in &entries {
            prop_assert_eq!(ix.get_or_assign(e.parent, &e.name).unwrap(), e.id);
        }
        drop(ix);
        let tree = FacetIndex::read(&path).unwrap().unwrap_or_default();
        prop_assert_eq!(tree.entries(), &entries[..]);
        let reopened = FacetIndex::open(&path).unwrap();
        prop_assert_eq!(reopened.entries(), &entries[..]);
        prop_assert_eq!(std::fs::read(&path).unwrap(), if entries.is_empty() { Vec::new() } else { index_bytes(&entries).0 });
    }

    #[test]
    fn prop_truncation_keeps_every_whole_record(entries in entries(8), cut in any::<prop::sample::Index>()) {
        let (bytes, ends) = index_bytes(&entries);
        let len = cut.index(bytes.len() + 1);
        let p = parse(&bytes[..len]).unwrap();
        let whole = ends.iter().filter(|&&e| e <= len).count();
        prop_assert_eq!(p.tree.entries(), &entries[..whole]);
        prop_assert_eq!(p.valid_len, if len < 8 { 0 } else { ends.get(whole.wrapping_sub(1)).copied().unwrap_or(8) });
    }

    #[test]
    fn prop_byte_flips_are_corruption_unless_only_the_final_record_is_hit(
        entries in entries(8),
        flips in prop::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..=3),
    ) {
        let (bytes, ends) = index_bytes(&entries);
        let mut damaged = bytes.clone();
        for (at, mask) in flips {
            damaged[at.index(bytes.len())] ^= mask;
        }
        check_damage(&entries, &ends, &bytes, &damaged);
    }

    #[test]
    fn prop_zeroed_ranges_are_corruption_unless_only_the_final_record_is_hit(
        entries in entries(8),
        a in any::<prop::sample::Index>(),
        b in any::<prop::sample::Index>(),
    ) {
        let (bytes, ends) = index_bytes(&entries);
        let (a, b) = (a.index(bytes.len() + 1), b.index(bytes.len() + 1));
        let mut damaged = bytes.clone();
        damaged[a.min(b)..a.max(b)].fill(0);
        check_damage(&entries, &ends, &bytes, &damaged);
    }

    /// Damage, with a torn append of the next record after it.
    #[test]
    fn prop_flips_with_a_torn_append_after_them(
        entries in entries(6),
        next in any_name(),
        flip in any::<prop::sample::Index>(),
        torn in any::<prop::sample::Index>(),
    ) {
        let (bytes, ends) = index_bytes(&entries);
        let record = encode_record(entries.len() as u32 + 1, 0, &next);
        let keep = torn.index(record.len());
        let mut damaged = bytes.clone();
        damaged[flip.index(bytes.len())] ^= 0x40;
        damaged.extend(&record[..keep]);
        check_damage(&entries, &ends, &bytes, &damaged);
    }
}
