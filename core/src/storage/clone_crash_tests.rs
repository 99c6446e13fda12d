//! `facets.clone` over an existing facet is crash-atomic: a crash simulated after every
//! step of `replace_database` (the directory copied as it is at that moment, open
//! connections and all, as a SIGKILL leaves it) leaves `dst` with its old or its new
//! contents, never an empty or mixed database.

use std::path::{Path, PathBuf};

use super::*;

const STEPS: [ReplaceStep; 7] = [
    ReplaceStep::Copying,
    ReplaceStep::Copied,
    ReplaceStep::CopySynced,
    ReplaceStep::OldCheckpointed,
    ReplaceStep::CompanionsRemoved,
    ReplaceStep::Renamed,
    ReplaceStep::DirSynced,
];

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("df-clone-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn rows(tag: &str, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("{tag} {i} {}", "データ".repeat(20)))
        .collect()
}

/// A WAL database holding `rows` in table t, closed (or, with `keep_open`, the connection
/// returned with everything still in its `-wal`).
fn write_db(path: &Path, rows: &[String], keep_open: bool) -> Option<rusqlite::Connection> {
    let c = rusqlite::Connection::open(path).unwrap();
    c.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; CREATE TABLE t (v TEXT);",
    )
    .unwrap();
    c.execute_batch("BEGIN").unwrap();
    for r in rows {
        c.execute("INSERT INTO t VALUES (?1)", [r]).unwrap();
    }
    c.execute_batch("COMMIT").unwrap();
    if keep_open {
        return Some(c);
    }
    c.close().unwrap();
    None
}

/// What the runtime finds when it next opens `path` (None: no table t, an empty database).
fn read(path: &Path) -> Option<Vec<String>> {
    discard_orphan_companions(path).unwrap();
    let c = rusqlite::Connection::open(path).unwrap();
    c.execute_batch("PRAGMA journal_mode=WAL;").unwrap();
    let mut stmt = c.prepare("SELECT v FROM t ORDER BY rowid").ok()?;
    let out = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    Some(out)
}

fn copy_dir(from: &Path, to: &Path) {
    let _ = fs::remove_dir_all(to);
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// The old `dst` a test starts from.
#[derive(Clone, Copy, Debug)]
enum OldDst {
    /// Closed cleanly: everything in its file.
    Clean,
    /// Its last commits only in its `-wal` (a crash while it ran left it so).
    InWal,
    /// None, but an orphan `-wal` of a deleted database next to where it would be.
    OrphanWal,
}

/// Lays out `dir/src.sqlite` (new contents) and `dir/dst.sqlite` (old); returns (old, new)
/// as `read` must find them.
fn setup(dir: &Path, old: OldDst) -> (Option<Vec<String>>, Vec<String>) {
    let new = rows("new", 3000); // ~100 pages: the copy takes many backup pages
    write_db(&dir.join("src.sqlite"), &new, false);
    let dst = dir.join("dst.sqlite");
    let old_rows = rows("old", 40);
    match old {
        OldDst::Clean => {
            write_db(&dst, &old_rows, false);
            (Some(old_rows), new)
        }
        OldDst::InWal | OldDst::OrphanWal => {
            // Copy the files while the writer is open: what a SIGKILL leaves.
            let staging = dir.join("staging");
            fs::create_dir_all(&staging).unwrap();
            let conn = write_db(&staging.join("dst.sqlite"), &old_rows, true).unwrap();
            for suffix in ["", "-wal", "-shm"] {
                let from = staging.join(format!("dst.sqlite{suffix}"));
                if matches!(old, OldDst::OrphanWal) && suffix.is_empty() {
                    continue;
                }
                fs::copy(&from, dir.join(format!("dst.sqlite{suffix}"))).unwrap();
            }
            drop(conn);
            fs::remove_dir_all(&staging).unwrap();
            let wal = fs::metadata(dir.join("dst.sqlite-wal")).unwrap().len();
            assert!(wal > 0, "the old contents are in the -wal");
            match old {
                OldDst::InWal => (Some(old_rows), new),
                _ => (None, new),
            }
        }
    }
}

#[test]
fn clone_over_is_old_or_new_after_a_crash_at_every_step() {
    for old_kind in [OldDst::Clean, OldDst::InWal, OldDst::OrphanWal] {
        for (i, crash_at) in STEPS.iter().enumerate() {
            let dir = temp(&format!("{old_kind:?}-{i}"));
            let work = dir.join("work");
            fs::create_dir_all(&work).unwrap();
            let (old, new) = setup(&work, old_kind);
            let snapshot = dir.join("after-crash");
            let r = replace_database_with(
                Some(&work.join("src.sqlite")),
                &work.join("dst.sqlite"),
                &mut |step| {
                    if step == *crash_at {
                        copy_dir(&work, &snapshot);
                        return Err(CoreError::Storage("crash".into()));
                    }
                    Ok(())
                },
            );
            assert_eq!(r, Err(CoreError::Storage("crash".into())), "{crash_at:?}");
            let found = read(&snapshot.join("dst.sqlite"));
            let renamed = *crash_at >= ReplaceStep::Renamed;
            let expected = if renamed {
                Some(new.clone())
            } else {
                old.clone()
            };
            assert!(
                found == expected,
                "{old_kind:?}, crash after {crash_at:?}: dst has {} rows, expected {}",
                found.as_ref().map_or(0, |f| f.len()),
                expected.as_ref().map_or(0, |f| f.len()),
            );
            // And the next clone after the crash completes cleanly.
            replace_database(
                Some(&snapshot.join("src.sqlite")),
                &snapshot.join("dst.sqlite"),
            )
            .unwrap();
            assert_eq!(read(&snapshot.join("dst.sqlite")), Some(new.clone()));
            fs::remove_dir_all(&dir).unwrap();
        }
    }
}

#[test]
fn clone_over_without_a_crash_leaves_only_the_two_databases() {
    for old_kind in [OldDst::Clean, OldDst::InWal, OldDst::OrphanWal] {
        let dir = temp(&format!("whole-{old_kind:?}"));
        let (_, new) = setup(&dir, old_kind);
        replace_database(Some(&dir.join("src.sqlite")), &dir.join("dst.sqlite")).unwrap();
        assert_eq!(names(&dir), ["dst.sqlite", "src.sqlite"], "{old_kind:?}");
        assert_eq!(read(&dir.join("dst.sqlite")), Some(new.clone()));
        assert_eq!(read(&dir.join("src.sqlite")), Some(new));
        fs::remove_dir_all(&dir).unwrap();
    }
}

#[test]
fn cloning_nothing_removes_dst_and_a_crash_midway_reads_as_empty() {
    let dir = temp("nothing");
    let (_, _) = setup(&dir, OldDst::InWal);
    // A crash between removing the file and its -wal: the orphan -wal is never replayed.
    fs::remove_file(dir.join("dst.sqlite")).unwrap();
    assert_eq!(read(&dir.join("dst.sqlite")), None);
    fs::remove_dir_all(&dir).unwrap();
    let dir = temp("nothing-2");
    setup(&dir, OldDst::Clean);
    replace_database(None, &dir.join("dst.sqlite")).unwrap();
    assert!(!dir.join("dst.sqlite").exists());
    fs::remove_dir_all(&dir).unwrap();
}
