use super::allowlists::TRANSACTION_ERROR;
use super::db::*;
use super::kv::ListRange;

fn mem() -> Database {
    Database::open(Location::Memory, false).unwrap()
}

/// Runs `sql` with `binds`; returns all rows as debug strings.
fn run(db: &mut Database, sql: &str, binds: &[Bind<'_>]) -> Result<Vec<Vec<String>>> {
    let h = db.prepare(sql)?;
    let mut rows = Vec::new();
    let mut sink = |r: &Row| {
        rows.push((0..r.width()).map(|i| format!("{:?}", r.cell(i))).collect());
        Ok(())
    };
    let mut o = db.execute(h, binds, 2, &mut sink)?;
    while let Some(c) = o.cursor {
        o = db.cursor_next(c, 2, &mut sink)?;
    }
    Ok(rows)
}

fn err(r: Result<Vec<Vec<String>>>) -> String {
    r.unwrap_err().to_string()
}

#[test]
fn numbers_bind_as_real_and_rows_come_back_in_batches() {
    let mut db = mem();
    run(&mut db, "CREATE TABLE t (a, b TEXT)", &[]).unwrap();
    for i in 0..5 {
        run(
            &mut db,
            "INSERT INTO t VALUES (?, ?)",
            &[Bind::Real(i as f64), Bind::Text("x".into())],
        )
        .unwrap();
    }
    let rows = run(&mut db, "SELECT typeof(a), a FROM t ORDER BY a", &[]).unwrap();
    assert_eq!(rows.len(), 5);
    assert_eq!(
        rows[0],
        vec![
            r#"Text([114, 101, 97, 108])"#.to_string(),
            "Real(0.0)".into()
        ]
    );
}

#[test]
fn several_statements_run_and_only_the_last_takes_bindings() {
    let mut db = mem();
    let rows = run(
        &mut db,
        "CREATE TABLE t (a); INSERT INTO t VALUES (1); SELECT count(*) FROM t",
        &[],
    )
    .unwrap();
    assert_eq!(rows, vec![vec!["Integer(1)".to_string()]]);
    assert_eq!(
        err(run(&mut db, "SELECT ?; SELECT 1", &[Bind::Null])),
        MULTI_PARAMS
    );
    assert_eq!(err(run(&mut db, "SELECT ?", &[])), WRONG_BINDINGS);
    assert_eq!(err(run(&mut db, "   ", &[])), NO_STATEMENT);
    assert_eq!(
        err(run(&mut db, "SELECT 1; -- trailing", &[])),
        NO_STATEMENT
    );
}

#[test]
fn errors_use_workerd_format() {
    let mut db = mem();
    assert_eq!(
        err(run(&mut db, "SELEKT 1", &[])),
        "near \"SELEKT\": syntax error at offset 0: SQLITE_ERROR"
    );
    assert_eq!(
        err(run(&mut db, "SELECT * FROM nope", &[])),
        "no such table: nope: SQLITE_ERROR"
    );
}

#[test]
fn the_sandbox_refuses_escapes() {
    let mut db = mem();
    db.kv_put("k", b"v").unwrap();
    assert_eq!(
        err(run(&mut db, "BEGIN TRANSACTION", &[])),
        TRANSACTION_ERROR
    );
    assert_eq!(err(run(&mut db, "SAVEPOINT x", &[])), TRANSACTION_ERROR);
    assert!(err(run(&mut db, "ATTACH DATABASE '/tmp/x.db' AS x", &[])).ends_with("SQLITE_AUTH"));
    assert_eq!(
        err(run(&mut db, "SELECT * FROM _cf_KV", &[])),
        "access to _cf_KV.key is prohibited: SQLITE_AUTH"
    );
    assert!(err(run(&mut db, "CREATE TABLE _CF_mine (a)", &[])).contains("not authorized"));
    assert!(err(run(&mut db, "PRAGMA journal_mode = DELETE", &[])).contains("not authorized"));
    assert!(err(run(&mut db, "SELECT load_extension('x')", &[])).contains("load_extension"));
    assert!(err(run(&mut db, "SELECT sqlite_version()", &[]))
        .contains("not authorized to use function: sqlite_version"));
    assert!(
        err(run(&mut db, "VACUUM INTO '/tmp/df-vacuum-escape.db'", &[])).ends_with("SQLITE_ERROR")
            || !std::path::Path::new("/tmp/df-vacuum-escape.db").exists()
    );
    assert!(!std::path::Path::new("/tmp/df-vacuum-escape.db").exists());
    run(&mut db, "CREATE TABLE t (a)", &[]).unwrap();
    assert!(err(run(&mut db, "ALTER TABLE t RENAME TO _cf_t", &[])).contains("not authorized"));
    assert!(run(&mut db, "PRAGMA table_info(t)", &[]).is_ok());
    assert!(run(&mut db, "PRAGMA foreign_keys = ON", &[]).is_ok());
}

#[test]
fn limits_match_workerd() {
    let mut db = mem();
    let big = "x".repeat(4 * 1024 * 1024 + 1);
    assert_eq!(
        err(run(&mut db, "SELECT ?", &[Bind::Text(big.into())])),
        "string or blob too big: SQLITE_TOOBIG"
    );
    let many = ["?"; 101].join(",");
    assert!(err(run(&mut db, &format!("SELECT {many}"), &[])).contains("too many SQL variables"));
    let compound = ["SELECT 1"; 6].join(" UNION ");
    assert!(err(run(&mut db, &compound, &[])).contains("too many terms in compound SELECT"));
}

#[test]
fn writes_open_an_implicit_transaction_reads_do_not() {
    let mut db = mem();
    run(&mut db, "SELECT 1", &[]).unwrap();
    assert!(!db.take_opened());
    run(&mut db, "CREATE TABLE t (a)", &[]).unwrap();
    assert!(db.take_opened());
    assert!(db.in_transaction());
    db.commit().unwrap();
    assert!(!db.in_transaction());
}

#[test]
fn rollback_discards_the_turn_and_savepoints_nest() {
    let mut db = mem();
    run(&mut db, "CREATE TABLE t (a)", &[]).unwrap();
    db.commit().unwrap();
    run(&mut db, "INSERT INTO t VALUES (1)", &[]).unwrap();
    let d1 = db.savepoint().unwrap();
    run(&mut db, "INSERT INTO t VALUES (2)", &[]).unwrap();
    let d2 = db.savepoint().unwrap();
    run(&mut db, "INSERT INTO t VALUES (3)", &[]).unwrap();
    db.rollback_to(d2).unwrap();
    db.release(d1).unwrap();
    assert_eq!(
        run(&mut db, "SELECT count(*) FROM t", &[]).unwrap()[0][0],
        "Integer(2)"
    );
    db.rollback().unwrap();
    assert_eq!(
        run(&mut db, "SELECT count(*) FROM t", &[]).unwrap()[0][0],
        "Integer(0)"
    );
}

#[test]
fn kv_round_trips_and_lists_in_byte_order() {
    let mut db = mem();
    let mut got = Vec::new();
    assert!(!db.kv_get("a", &mut |v| got = v.to_vec()).unwrap());
    for k in ["b", "a", "é", "c"] {
        db.kv_put(k, k.as_bytes()).unwrap();
    }
    assert!(db.kv_get("a", &mut |v| got = v.to_vec()).unwrap());
    assert_eq!(got, b"a");
    let mut keys = Vec::new();
    db.kv_list(
        &ListRange {
            start: "",
            ..Default::default()
        },
        &mut |k, _| keys.push(String::from_utf8(k.to_vec()).unwrap()),
    )
    .unwrap();
    assert_eq!(keys, ["a", "b", "c", "é"]);
    keys.clear();
    db.kv_list(
        &ListRange {
            start: "b",
            end: Some("é"),
            reverse: true,
            limit: Some(1),
            ..Default::default()
        },
        &mut |k, _| keys.push(String::from_utf8(k.to_vec()).unwrap()),
    )
    .unwrap();
    assert_eq!(keys, ["c"]);
    keys.clear();
    db.kv_put("pre\u{ff}x", b"").unwrap();
    db.kv_put("prf", b"").unwrap();
    db.kv_list(
        &ListRange {
            prefix: Some("pre"),
            ..Default::default()
        },
        &mut |k, _| keys.push(String::from_utf8(k.to_vec()).unwrap()),
    )
    .unwrap();
    assert_eq!(keys, ["pre\u{ff}x"]);
    db.kv_delete("pre\u{ff}x").unwrap();
    db.kv_delete("prf").unwrap();
    assert!(db.kv_delete("a").unwrap());
    assert!(!db.kv_delete("a").unwrap());
    assert_eq!(db.kv_count().unwrap(), 3);
}

#[test]
fn alarm_is_stored_in_cf_metadata_row_1() {
    let mut db = mem();
    assert_eq!(db.get_alarm().unwrap(), None);
    db.set_alarm(Some(1_700_000_000_000_000_000)).unwrap();
    assert_eq!(db.get_alarm().unwrap(), Some(1_700_000_000_000_000_000));
    db.set_alarm(None).unwrap();
    assert_eq!(db.get_alarm().unwrap(), None);
}

#[test]
fn emptiness_ignores_an_empty_kv_table() {
    let mut db = mem();
    assert!(db.is_empty().unwrap());
    db.kv_put("k", b"v").unwrap();
    assert!(!db.is_empty().unwrap());
    db.kv_delete("k").unwrap();
    assert!(db.is_empty().unwrap());
    run(&mut db, "CREATE TABLE t (a)", &[]).unwrap();
    assert!(!db.is_empty().unwrap());
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("df-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn committed_writes_persist_in_the_file_and_delete_all_empties_it() {
    let dir = temp_dir("persist");
    let path = dir.join("a.sqlite");
    {
        let mut db = Database::open(Location::File(path.clone()), false).unwrap();
        run(
            &mut db,
            "CREATE TABLE t (a); INSERT INTO t VALUES ('kept')",
            &[],
        )
        .unwrap();
        db.commit().unwrap();
        run(&mut db, "INSERT INTO t VALUES ('lost')", &[]).unwrap();
    }
    let mut db = Database::open(Location::File(path.clone()), false).unwrap();
    assert_eq!(
        run(&mut db, "SELECT count(*) FROM t", &[]).unwrap()[0][0],
        "Integer(1)"
    );
    db.delete_all().unwrap();
    assert!(err(run(&mut db, "SELECT * FROM t", &[])).contains("no such table"));
}

#[test]
fn a_corrupt_file_is_a_clear_error() {
    let dir = temp_dir("corrupt");
    let path = dir.join("bad.sqlite");
    std::fs::write(&path, vec![0x42u8; 8192]).unwrap();
    let e = Database::open(Location::File(path), false)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("file is not a database"), "{e}");
}

#[test]
fn a_cursor_left_open_does_not_block_the_same_query() {
    let mut db = mem();
    run(
        &mut db,
        "CREATE TABLE t (a); INSERT INTO t VALUES (1), (2), (3)",
        &[],
    )
    .unwrap();
    let h = db.prepare("SELECT a FROM t").unwrap();
    let first = db.execute(h, &[], 1, &mut |_| Ok(())).unwrap();
    assert!(first.cursor.is_some());
    let mut n = 0;
    let second = db
        .execute(h, &[], 10, &mut |_| {
            n += 1;
            Ok(())
        })
        .unwrap();
    assert_eq!((n, second.cursor), (3, None));
    db.cursor_close(first.cursor.unwrap());
}
