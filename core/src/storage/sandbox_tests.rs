//! The SQL sandbox against a real database: every way found to reach a reserved (`_cf_…`)
//! name from user SQL is refused. The property tests are in `sandbox_props.rs`.

use super::db::*;

pub(super) fn mem() -> Database {
    Database::open(Location::Memory, false).unwrap()
}

/// Runs user SQL (every statement of it) as `sql.exec` does; returns the rows as strings.
pub(super) fn exec(db: &mut Database, sql: &str) -> Result<Vec<Vec<String>>> {
    let h = db.prepare(sql)?;
    let mut rows = Vec::new();
    let mut sink = |r: &Row| {
        rows.push(
            (0..r.width())
                .map(|i| match r.cell(i) {
                    Cell::Text(t) => String::from_utf8_lossy(t).into_owned(),
                    other => format!("{other:?}"),
                })
                .collect(),
        );
        Ok(())
    };
    let mut o = db.execute(h, &[], 64, &mut sink)?;
    while let Some(c) = o.cursor {
        o = db.cursor_next(c, 64, &mut sink)?;
    }
    db.finalize(h);
    Ok(rows)
}

/// Every name in the schema (tables, indexes, views, triggers), sorted.
pub(super) fn names(db: &mut Database) -> Vec<String> {
    let mut n: Vec<String> = exec(db, "SELECT name FROM sqlite_schema")
        .unwrap()
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    n.sort();
    n
}

pub(super) const REFUSED: &str = "not authorized: SQLITE_AUTH";

fn refused(r: Result<Vec<Vec<String>>>) -> String {
    match r {
        Ok(rows) => panic!("expected a refusal, got rows {rows:?}"),
        Err(e) => e.to_string(),
    }
}

fn kv_keys(db: &mut Database) -> Vec<String> {
    let mut keys = Vec::new();
    let range = super::kv::ListRange {
        start: "",
        end: None,
        prefix: None,
        reverse: false,
        limit: None,
    };
    db.kv_list(&range, &mut |k: &[u8], _: &[u8]| {
        keys.push(String::from_utf8_lossy(k).into_owned());
    })
    .unwrap();
    keys
}

#[test]
fn a_table_named_rename_cannot_be_renamed_to_a_reserved_name() {
    let mut db = mem();
    let e = refused(exec(
        &mut db,
        r#"CREATE TABLE "rename"(x); ALTER TABLE "rename" RENAME TO _cf_KV"#,
    ));
    assert_eq!(e, REFUSED);
    assert_eq!(names(&mut db), ["rename"]);
}

#[test]
fn a_renamed_table_with_a_trigger_never_runs_inside_the_runtime_s_kv_writes() {
    let mut db = mem();
    exec(
        &mut db,
        "CREATE TABLE log (k); \
         CREATE TABLE rename (key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID; \
         CREATE TRIGGER spy AFTER INSERT ON rename BEGIN INSERT INTO log VALUES (new.key); END",
    )
    .unwrap();
    assert_eq!(
        refused(exec(&mut db, "ALTER TABLE rename RENAME TO _cf_KV")),
        REFUSED
    );
    db.kv_put("secret", b"v").unwrap();
    assert_eq!(
        exec(&mut db, "SELECT count(*) FROM log").unwrap(),
        [["Integer(0)"]]
    );
    assert_eq!(kv_keys(&mut db), ["secret"]);
}

#[test]
fn every_quoting_case_and_comment_form_of_a_reserved_target_is_refused() {
    for target in [
        "_cf_KV",
        "_CF_kv",
        "\"_cf_KV\"",
        "[_cf_x]",
        "`_Cf_x`",
        "'_cf_x'",
        "\"_cf_\"\"q\"",
        "_cf_é",
    ] {
        for sql in [
            format!("ALTER TABLE t RENAME TO {target}"),
            format!("alter/**/table\tmain.\"t\"\nrename -- c\n to\u{c}{target}"),
            format!("ALTER TABLE [t] RENAME/* RENAME TO ok */TO {target};"),
            format!("  ;; ALTER TABLE 't' RENAME TO {target}"),
            format!("EXPLAIN ALTER TABLE t RENAME TO {target}"),
        ] {
            let mut db = mem();
            exec(&mut db, "CREATE TABLE t (a)").unwrap();
            assert_eq!(refused(exec(&mut db, &sql)), REFUSED, "{sql}");
            assert_eq!(names(&mut db), ["t"], "{sql}");
        }
    }
}

#[test]
fn ordinary_renames_still_work() {
    let mut db = mem();
    exec(&mut db, "CREATE TABLE t (a); CREATE TABLE rename (b)").unwrap();
    exec(&mut db, "ALTER TABLE t RENAME TO \"_cf\"").unwrap();
    exec(&mut db, "ALTER TABLE rename RENAME TO [to]").unwrap();
    exec(&mut db, "ALTER TABLE \"to\" RENAME COLUMN b TO _cf_column").unwrap();
    exec(&mut db, "ALTER TABLE _cf RENAME a TO _cf_a").unwrap();
    exec(&mut db, "ALTER TABLE _cf ADD COLUMN _cf_b").unwrap();
    assert_eq!(names(&mut db), ["_cf", "to"]);
}

#[test]
fn a_reserved_rename_later_in_a_multi_statement_exec_is_refused() {
    let mut db = mem();
    let e = refused(exec(
        &mut db,
        "CREATE TABLE a (x); ALTER TABLE a RENAME TO b; SELECT 1; ALTER TABLE b RENAME TO _cf_b; SELECT 2",
    ));
    assert_eq!(e, REFUSED);
    assert_eq!(names(&mut db), ["b"]);
}

#[test]
fn reserved_names_are_refused_for_views_indexes_and_triggers_in_any_case_or_quoting() {
    let mut db = mem();
    exec(&mut db, "CREATE TABLE t (a)").unwrap();
    for sql in [
        "CREATE VIEW _cf_v AS SELECT 1",
        "CREATE VIEW \"_CF_v\" AS SELECT 1",
        "CREATE INDEX _cf_i ON t (a)",
        "CREATE INDEX [_Cf_i] ON t (a)",
        "CREATE TRIGGER _cf_t AFTER INSERT ON t BEGIN SELECT 1; END",
        "CREATE TRIGGER `_cF_t` AFTER INSERT ON t BEGIN SELECT 1; END",
        "CREATE TABLE main.\"_cf_x\" (a)",
        "CREATE TABLE '_CF_x' (a)",
    ] {
        assert!(exec(&mut db, sql).is_err(), "{sql}");
    }
    db.kv_put("k", b"v").unwrap();
    for sql in [
        "DROP TABLE IF EXISTS _cf_KV",
        "CREATE INDEX i ON _cf_KV (value)",
        "CREATE TRIGGER t2 AFTER INSERT ON _CF_kv BEGIN SELECT 1; END",
        "ALTER TABLE _cf_KV RENAME TO mine",
        "ALTER TABLE \"_cf_kv\" ADD COLUMN c",
        "UPDATE _cf_KV SET value = x'00'",
    ] {
        assert!(exec(&mut db, sql).is_err(), "{sql}");
    }
    assert_eq!(names(&mut db), ["_cf_KV", "t"]);
}

#[test]
fn a_view_over_a_reserved_table_cannot_be_read() {
    let mut db = mem();
    db.kv_put("k", b"v").unwrap();
    if exec(&mut db, "CREATE VIEW v AS SELECT * FROM _cf_KV").is_ok() {
        assert!(exec(&mut db, "SELECT * FROM v").is_err());
    }
}

#[test]
fn a_trigger_on_a_user_table_cannot_write_a_reserved_table() {
    let mut db = mem();
    db.kv_put("k", b"v").unwrap();
    let created = exec(
        &mut db,
        "CREATE TABLE t (a); \
         CREATE TRIGGER w AFTER INSERT ON t BEGIN INSERT INTO _cf_KV VALUES ('evil', x'00'); END",
    );
    if created.is_ok() {
        assert!(exec(&mut db, "INSERT INTO t VALUES (1)").is_err());
    }
    assert_eq!(kv_keys(&mut db), ["k"]);
}

#[test]
fn a_user_trigger_fired_by_a_runtime_write_gets_the_user_s_rules() {
    // A foreign-key action from `_cf_KV` deletes a user row; the user's trigger on that
    // row runs inside the runtime's own (trusted) KV delete and tries to write `_cf_KV`.
    // (The user turns foreign keys off to insert the child row: with them on, the insert's
    // parent lookup already reads `_cf_KV` and is refused.)
    let mut db = mem();
    db.kv_put("k", b"v").unwrap();
    db.commit().unwrap();
    exec(&mut db, "PRAGMA foreign_keys = OFF").unwrap();
    exec(
        &mut db,
        "CREATE TABLE c (k TEXT REFERENCES _cf_KV (key) ON DELETE CASCADE); \
         INSERT INTO c VALUES ('k'); \
         CREATE TRIGGER w AFTER DELETE ON c BEGIN INSERT INTO _cf_KV VALUES ('evil', x'00'); END",
    )
    .unwrap();
    db.commit().unwrap();
    exec(&mut db, "PRAGMA foreign_keys = ON").unwrap();
    let deleted = db.kv_delete("k");
    assert_eq!(
        exec(&mut db, "SELECT count(*) FROM c").unwrap(),
        [["Integer(1)"]],
        "{deleted:?}"
    );
    assert!(!kv_keys(&mut db).contains(&"evil".to_string()));
}

#[test]
fn a_virtual_table_cannot_get_shadow_tables_with_reserved_names() {
    let mut db = mem();
    for sql in [
        "CREATE VIRTUAL TABLE _cf USING fts5 (a)",
        "CREATE VIRTUAL TABLE \"_CF\" USING rtree (id, x0, x1)",
    ] {
        assert!(exec(&mut db, sql).is_err(), "{sql}");
    }
    exec(&mut db, "CREATE VIRTUAL TABLE docs USING fts5 (a)").unwrap();
    exec(
        &mut db,
        "CREATE VIRTUAL TABLE boxes USING rtree (id, x0, x1)",
    )
    .unwrap();
    for sql in [
        "ALTER TABLE docs RENAME TO _cf",
        "ALTER TABLE docs RENAME TO [_CF]",
        "ALTER TABLE boxes RENAME TO '_cF'",
    ] {
        assert_eq!(refused(exec(&mut db, sql)), REFUSED, "{sql}");
    }
    assert!(names(&mut db)
        .iter()
        .all(|n| !n.to_ascii_lowercase().starts_with("_cf")));
}
