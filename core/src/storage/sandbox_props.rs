//! Property tests and fuzzing of the SQL sandbox's own parsing (the tokenizer and the
//! `ALTER TABLE … RENAME TO` check), with SQLite itself as the oracle where it can be one.
//!
//! Each property runs 256 cases from a fixed seed by default, so `cargo test` is
//! reproducible. Long runs: `PROPTEST_CASES=100000 PROPTEST_RNG_SEED=<n> cargo test --lib
//! prop_` (without `PROPTEST_RNG_SEED` the fixed seed is used); `scripts/fuzz-sql-sandbox.sh`
//! does this with a random seed.

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use rusqlite::ffi;

use super::sandbox::{alter_form, refuse_compiled};
use super::sandbox_tests::{exec, mem, names, REFUSED};
use super::sql_lexer::{significant, tokens, Kind};

/// 256 cases (or `PROPTEST_CASES`), from a fixed seed unless `PROPTEST_RNG_SEED` is set.
fn config() -> Config {
    let mut c = Config::default();
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        c.rng_seed = RngSeed::Fixed(0x5a2d_b0c5_1e55_f00d);
    }
    c
}

fn reserved(name: &str) -> bool {
    name.len() >= 4 && name.as_bytes()[..4].eq_ignore_ascii_case(b"_cf_")
}

/// `word` with each ASCII letter in a random case.
fn any_case(word: &'static str) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<bool>(), word.len()).prop_map(move |up| {
        word.chars()
            .zip(up)
            .map(|(c, u)| {
                if u {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect()
    })
}

/// What SQLite skips between two tokens: whitespace of every kind and both comment forms.
fn gap() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just(" ".to_string()),
            Just("\t".to_string()),
            Just("\n".to_string()),
            Just("\r\n".to_string()),
            Just("\u{c}".to_string()),
            Just(" \u{b}".to_string()),
            Just("/**/".to_string()),
            Just("/* RENAME TO _cf_x */".to_string()),
            Just("/* \"'[` */".to_string()),
            Just("-- RENAME TO \"_cf_\n".to_string()),
            Just("--\n".to_string()),
        ],
        1..3,
    )
    .prop_map(|v| v.concat())
}

/// `name` quoted in one of SQLite's four ways (or bare, where `bare` says it may be).
fn quoted(name: String, bare: bool) -> impl Strategy<Value = String> {
    let mut styles = vec![0u8, 1, 2];
    if !name.contains(']') {
        styles.push(3);
    }
    if bare {
        styles.push(4);
    }
    prop::sample::select(styles).prop_map(move |style| match style {
        0 => format!("\"{}\"", name.replace('"', "\"\"")),
        1 => format!("`{}`", name.replace('`', "``")),
        2 => format!("'{}'", name.replace('\'', "''")),
        3 => format!("[{name}]"),
        _ => name.clone(),
    })
}

/// Table names that trip a tokenizer: keywords SQLite lets stand for names, quote
/// characters, spaces, non-ASCII.
fn source_name() -> impl Strategy<Value = (String, bool)> {
    prop::sample::select(vec![
        ("t", true),
        ("rename", true),
        ("RENAME", true),
        ("to", false),
        ("table", false),
        ("alter", false),
        ("column", true),
        ("a b", false),
        ("q\"uo`t'e", false),
        ("é", true),
        ("x$1", true),
    ])
    .prop_map(|(n, bare)| (n.to_string(), bare))
}

/// A reserved name: `_cf_` in any case, then anything (quote characters and all); and
/// whether it may stand unquoted.
fn reserved_name() -> impl Strategy<Value = (String, bool)> {
    (any_case("_cf_"), "[A-Za-z0-9_ \"'`é]{0,8}").prop_map(|(p, s)| {
        let bare = s.chars().all(|c| c.is_alphanumeric() || c == '_');
        (p + &s, bare)
    })
}

/// A name that is not reserved (`u_…` bare names are never keywords).
fn ordinary_name() -> impl Strategy<Value = (String, bool)> {
    prop_oneof![
        "u_[a-z0-9_]{0,6}".prop_map(|n| (n, true)),
        "[A-Za-z0-9_ \"'`é.;]{1,10}".prop_map(|n| (n, false)),
        Just(("_cf".to_string(), false)),
        Just(("cf_x".to_string(), true)),
        Just(("_c_f_".to_string(), true)),
    ]
    .prop_filter("not reserved", |(n, _)| !reserved(n))
}

/// `[schema.]table` for a table named `name`.
fn full_name(name: String, bare: bool) -> impl Strategy<Value = String> {
    (
        quoted(name, bare),
        prop::option::of(quoted("main".to_string(), true)),
        gap(),
        any::<bool>(),
    )
        .prop_map(|(t, schema, g, spaced)| match schema {
            Some(s) if spaced => format!("{s}{g}.{g}{t}"),
            Some(s) => format!("{s}.{t}"),
            None => t,
        })
}

/// `ALTER TABLE <source> RENAME TO <target>`, with every gap, case and quoting variant.
fn rename_statement(
    target: impl Strategy<Value = (String, bool)>,
) -> impl Strategy<Value = (String, String, String)> {
    (source_name(), target).prop_flat_map(|((src, src_bare), (dst, dst_bare))| {
        (
            full_name(src.clone(), src_bare),
            quoted(dst.clone(), dst_bare),
            any_case("alter"),
            any_case("table"),
            any_case("rename"),
            any_case("to"),
            prop::collection::vec(gap(), 5),
            // (A comment after the last `;` is refused as in workerd: "did not contain a
            // statement".)
            prop::sample::select(vec!["", ";", " ; ", "-- end\n;", "/* end */"]),
        )
            .prop_map(move |(full, to_name, a, t, r, to, g, end)| {
                let sql = format!(
                    "{a}{}{t}{}{full}{}{r}{}{to}{}{to_name}{end}",
                    g[0], g[1], g[2], g[3], g[4]
                );
                (src.clone(), dst.clone(), sql)
            })
    })
}

/// Text full of what a tokenizer can trip on: `;`, every quote, brackets, comment markers.
fn tricky_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec![
            ";", "'", "\"", "`", "[", "]", "--", "/*", "*/", "\n", " ", "a", "é", "\\", "$", "x'",
        ]),
        0..8,
    )
    .prop_map(|v| v.concat())
}

/// `text` with every `pat` removed, including those the removal itself forms.
fn without(text: &str, pat: &str) -> String {
    let mut t = text.to_string();
    while t.contains(pat) {
        t = t.replace(pat, "");
    }
    t
}

/// Nothing, spaces, or a comment whose text is tricky (but does not end it early).
fn comment_or_space() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just(" \t\r\n".to_string()),
        tricky_text().prop_map(|t| format!("/*{}*/", without(&t, "*/"))),
        tricky_text().prop_map(|t| format!("--{}\n", t.replace('\n', ""))),
    ]
}

/// Runs `setup` then `sql` on a plain SQLite connection (no sandbox); the schema's names
/// afterwards, or None if SQLite refused `sql`.
fn sqlite_outcome(setup: &str, sql: &str) -> Option<Vec<String>> {
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    conn.execute_batch(setup).unwrap();
    conn.execute_batch(sql).ok()?;
    let mut stmt = conn.prepare("SELECT name FROM sqlite_schema").unwrap();
    let mut n: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    n.sort();
    Some(n)
}

fn create(name: &str) -> String {
    format!("CREATE TABLE \"{}\" (a)", name.replace('"', "\"\""))
}

proptest! {
    #![proptest_config(config())]

    /// Any bytes: the tokenizer ends (every token ≥ 1 byte, none past the input or past a
    /// NUL), and the rename check answers without panicking.
    #[test]
    fn prop_tokenizer_and_rename_check_never_panic_on_any_bytes(
        sql in prop::collection::vec(any::<u8>(), 0..2048),
        saw in any::<bool>(),
    ) {
        let end = sql.iter().position(|&b| b == 0).unwrap_or(sql.len());
        let mut total = 0;
        for t in tokens(&sql) {
            prop_assert!(!t.text.is_empty());
            total += t.text.len();
        }
        prop_assert_eq!(total, end);
        let _ = alter_form(&sql);
        let _ = refuse_compiled(&sql, saw.then_some("t"), &mut |_| true);
    }

    /// Where SQLite's own statement splitter (`sqlite3_complete`) says a text ends with a
    /// complete statement, the tokenizer's last token is a `;`, and the other way round:
    /// quotes, brackets and comments end where SQLite ends them.
    #[test]
    fn prop_tokenizer_ends_statements_where_sqlite_does(
        parts in prop::collection::vec(prop::sample::select(vec![
            "a", "x", "X", "é", "$", "1", "1e", ".", ";", " ", "\n", "\t", "\r",
            "'", "\"", "`", "[", "]", "--", "/*", "*/", "-", "/", "*", "x'", "''", "\"\"",
            "?", ":", "@",
        ]), 0..24),
        // (No U+FEFF and no \v: the parser skips a byte-order mark as space, and \v inside a
        // run of spaces; sqlite3_complete does neither. The unit tests pin both.)
    ) {
        let sql = parts.concat();
        let last = tokens(sql.as_bytes()).last();
        // sqlite3_complete calls a text ending inside a comment (`/* …` unclosed, or `-- …`
        // without its newline) incomplete, whatever came before; the parser reads it as a
        // comment to the end.
        let open_comment = last.is_some_and(|t| {
            t.kind == Kind::Comment
                && !(t.text.starts_with(b"/*") && t.text.len() >= 4 && t.text.ends_with(b"*/"))
        });
        let ours = !open_comment && tokens(sql.as_bytes())
            .filter(|t| !matches!(t.kind, Kind::Space | Kind::Comment))
            .last()
            .is_some_and(|t| t.kind == Kind::Semi);
        let c = std::ffi::CString::new(sql.clone()).unwrap();
        let theirs = unsafe { ffi::sqlite3_complete(c.as_ptr()) } != 0;
        prop_assert_eq!(ours, theirs, "{:?}", sql);
    }

    /// SQLite's parser ends the first statement (`sqlite3_prepare`'s tail) right after the
    /// first `;` token the tokenizer finds, however the literals, quoted names and comments
    /// before it hide `;`, quotes, brackets and comment markers.
    #[test]
    fn prop_tokenizer_ends_the_first_statement_where_sqlite_s_parser_does(
        items in prop::collection::vec((tricky_text(), 0u8..4, tricky_text(), 0u8..3), 1..4),
        gaps in prop::collection::vec(comment_or_space(), 8),
        rest in tricky_text(),
    ) {
        let mut sql = String::from("SELECT");
        for (i, (value, style, alias, comment)) in items.iter().enumerate() {
            sql += if i == 0 { " " } else { "," };
            sql += &gaps[i * 2];
            sql += &format!("'{}'", value.replace('\'', "''"));
            sql += &gaps[i * 2 + 1];
            sql += " AS ";
            sql += &match style {
                0 => format!("\"{}\"", alias.replace('"', "\"\"")),
                1 => format!("`{}`", alias.replace('`', "``")),
                2 => format!("[{}]", alias.replace(']', "")),
                _ => format!("'{}'", alias.replace('\'', "''")),
            };
            if *comment == 1 {
                sql += &format!("/*{}*/", without(value, "*/"));
            }
        }
        sql += &gaps[7];
        sql += ";";
        sql += &rest;
        let ours = significant(sql.as_bytes())
            .find(|t| t.kind == Kind::Semi)
            .map(|t| t.text.as_ptr() as usize + 1 - sql.as_ptr() as usize);
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let mut stmt = std::ptr::null_mut();
        let mut tail = std::ptr::null();
        let rc = unsafe {
            ffi::sqlite3_prepare_v2(
                conn.handle(),
                sql.as_ptr().cast(),
                sql.len() as i32,
                &mut stmt,
                &mut tail,
            )
        };
        unsafe { ffi::sqlite3_finalize(stmt) };
        prop_assert_eq!(rc, ffi::SQLITE_OK, "{:?}", sql);
        let theirs = tail as usize - sql.as_ptr() as usize;
        prop_assert_eq!(ours, Some(theirs), "{:?}", sql);
    }

    /// A rename to a reserved name is refused however it is spelled, and SQLite (without
    /// the sandbox) confirms the same statement would have created that reserved table.
    #[test]
    fn prop_renames_to_reserved_names_are_always_refused(
        (src, dst, sql) in rename_statement(reserved_name()),
    ) {
        let after = sqlite_outcome(&create(&src), &sql);
        prop_assert!(
            after.as_ref().is_some_and(|n| n.iter().any(|n| n == &dst)),
            "SQLite did not rename: {:?} -> {:?}", sql, after
        );
        let mut db = mem();
        exec(&mut db, &create(&src)).unwrap();
        let r = exec(&mut db, &sql);
        prop_assert_eq!(r.map_err(|e| e.to_string()), Err(REFUSED.to_string()), "{:?}", sql);
        prop_assert_eq!(names(&mut db), vec![src]);
    }

    /// A rename to an ordinary name works under the sandbox and ends as SQLite ends it.
    #[test]
    fn prop_renames_to_ordinary_names_are_always_allowed(
        (src, dst, sql) in rename_statement(ordinary_name()),
    ) {
        prop_assume!(!src.eq_ignore_ascii_case(&dst));
        let after = sqlite_outcome(&create(&src), &sql);
        prop_assert!(after.is_some(), "SQLite refused {:?}", sql);
        let mut db = mem();
        exec(&mut db, &create(&src)).unwrap();
        let r = exec(&mut db, &sql);
        prop_assert!(r.is_ok(), "{:?}: {:?}", sql, r);
        prop_assert_eq!(Some(names(&mut db)), after);
    }

    /// Statements assembled from ALTER's pieces (most of them not valid SQL): whatever the
    /// sandbox lets through ends exactly as SQLite ends it, and never with a reserved name.
    #[test]
    fn prop_nothing_the_sandbox_allows_creates_a_reserved_name(
        parts in prop::collection::vec(prop_oneof![
            any_case("alter"), any_case("table"), any_case("rename"), any_case("to"),
            any_case("column"), any_case("add"), any_case("drop"), any_case("main"),
            Just("t".to_string()), Just("\"rename\"".to_string()), Just("[to]".to_string()),
            Just("'t'".to_string()), Just("_cf_x".to_string()), Just("\"_CF_y\"".to_string()),
            Just("[_cf_KV]".to_string()), Just("'_cF_z'".to_string()), Just("`_cf`".to_string()),
            Just("u".to_string()), Just(".".to_string()), Just(";".to_string()),
            Just("a".to_string()), Just("(".to_string()), Just(")".to_string()),
            Just("create".to_string()), Just("view".to_string()), Just("index".to_string()),
            Just("on".to_string()), Just("as".to_string()), Just("select".to_string()),
            Just("1".to_string()),
        ], 1..12),
        gaps in prop::collection::vec(prop_oneof![Just(String::new()), gap()], 12),
    ) {
        let sql: String = parts.iter().zip(&gaps).map(|(p, g)| format!("{p}{g}")).collect();
        let setup = "CREATE TABLE t (a); CREATE TABLE \"rename\" (a); CREATE TABLE [to] (a)";
        let mut db = mem();
        exec(&mut db, setup).unwrap();
        if exec(&mut db, &sql).is_ok() {
            let ours = names(&mut db);
            prop_assert!(!ours.iter().any(|n| reserved(n)), "{:?} -> {:?}", sql, ours);
            prop_assert_eq!(Some(ours), sqlite_outcome(setup, &sql), "{:?}", sql);
        }
    }
}
