//! workerd's SQL sandbox for untrusted (application) SQL: the allow-lists, the limits, and the
//! authorizer's rules, written as plain data and pure functions.
//!
//! Source: `cloudflare/workerd`, `src/workerd/util/sqlite.c++` (`ALLOWED_SQLITE_FUNCTIONS`,
//! `ALLOWED_PRAGMAS`, `SqliteDatabase::isAuthorized`, `isAuthorizedTemp`, `setupSecurity`). The
//! Durable Object regulator (`isAllowedName`, `allowTransactions`) comes from
//! `src/workerd/api/sql.c++` (`SqlStorageRegulator`). The facts match the newest version of those
//! files I could read (the version with `page_size`, the R*Tree modules and a 4 MiB
//! `SQLITE_LIMIT_LENGTH`). Older releases differ, as noted item by item.
//!
//! # How the authorizer decides
//!
//! SQLite calls the authorizer as `(action, param1, param2, dbName, triggerName)` while it
//! *prepares* a statement. `false` becomes `SQLITE_DENY`: the prepare fails with `SQLITE_AUTH`,
//! and SQLite's own text ([`SQLITE_NOT_AUTHORIZED`], [`SQLITE_ACCESS_PROHIBITED_FMT`],
//! [`SQLITE_FUNCTION_NOT_AUTHORIZED_FMT`]) is reported in workerd's format
//! `<message>[ at offset N]: SQLITE_AUTH`. When the regulator *throws* inside the callback (the
//! transaction case below), workerd keeps that exception and throws it in place of SQLite's error.
//!
//! These checks run in order, before the per-action rules:
//!
//! 1. If no statement is being prepared (no current regulator), deny.
//! 2. If `triggerName` is set and `regulator.isAllowedTrigger(trigger)` is false, deny. The
//!    Durable Object regulator allows every trigger.
//! 3. For `SQLITE_ALTER_TABLE` and `SQLITE_DETACH`, SQLite passes the database name as `param1`.
//!    workerd rotates the arguments: `param1 := param2` (the table), `param2 := dbName` (for
//!    `ALTER TABLE .. RENAME TO`, the new name, from workerd's SQLite patch
//!    `0005-authorizer-rename-to-destination-name`), and `dbName := param1`.
//! 4. If `dbName == "temp"`, hand over to `isAuthorizedTemp`: allow only `SQLITE_READ`/`SQLITE_UPDATE`
//!    (20/23) whose table passes `isAllowedName`, and deny everything else. Any other `dbName`
//!    except `"main"` is denied, so attached databases are denied. A missing `dbName` goes on.
//! 5. The TRUSTED regulator (workerd's own internal SQL) is allowed everything except
//!    TRANSACTION and SAVEPOINT, which go through the rules below.
//!
//! The rules for untrusted code. Numbers are the action codes from `sqlite3.h`, and
//! "name ok" means `isAllowedName(x)`:
//!
//! | code | action | decision |
//! |---|---|---|
//! | 21 | `SELECT` | allow. Each table it reads is checked separately as `READ`. |
//! | 2, 9, 11, 18 | `CREATE_TABLE`, `DELETE`, `DROP_TABLE`, `INSERT` | name ok(param1 = table) |
//! | 8, 17 | `CREATE_VIEW`, `DROP_VIEW` | name ok(param1 = view) |
//! | 27 | `REINDEX` | name ok(param1 = index) |
//! | 28 | `ANALYZE` | **always allow**, including restricted tables, because `PRAGMA optimize` runs a bare `ANALYZE`. Older releases checked name ok(param1). |
//! | 26 | `ALTER_TABLE` (after the rotation) | name ok(table) && (no new name, or name ok(new name)). Covers RENAME TO, RENAME COLUMN, ADD and DROP COLUMN. |
//! | 20, 23 | `READ`, `UPDATE` | name ok(param1 = table). The column is not checked. |
//! | 1, 10 | `CREATE_INDEX`, `DROP_INDEX` | name ok(index) && name ok(table) |
//! | 7, 16 | `CREATE_TRIGGER`, `DROP_TRIGGER` | name ok(trigger) && name ok(table) |
//! | 22 | `TRANSACTION` (param1 `BEGIN`/`COMMIT`/`ROLLBACK`) | only if `regulator.allowTransactions()`. The Durable Object regulator **throws** [`TRANSACTION_ERROR`], so `BEGIN`, `COMMIT`, `END` and `ROLLBACK` all fail with that text. |
//! | 32 | `SAVEPOINT` (param1 `BEGIN`/`RELEASE`/`ROLLBACK`, param2 = name) | `allowTransactions()` (which throws, as above, and runs first) && name ok(savepoint name) |
//! | 19 | `PRAGMA` | [`pragma_allowed`] |
//! | 31 | `FUNCTION` (param2 = name) | [`function_allowed`]: exact match in [`ALLOWED_FUNCTIONS`] |
//! | 29, 30 | `CREATE_VTABLE`, `DROP_VTABLE` (param1 = table, param2 = module) | module in [`ALLOWED_VTAB_MODULES`] (case-insensitive) && name ok(table). Older releases allowed only `fts5` and `fts5vocab`, and the table name was not checked, apart from a logged warning for `_cf_`. |
//! | 24, 25 | `ATTACH`, `DETACH` | deny (also `SQLITE_LIMIT_ATTACHED` = 0) |
//! | 4, 13, 3, 12, 5, 14, 6, 15 | `CREATE_TEMP_*`, `DROP_TEMP_*` (table/index/trigger/view) | deny. These have `dbName = "temp"`, so step 4 already denies them. |
//! | 33 | `RECURSIVE` (recursive CTE) | allow |
//! | 0 | `COPY` | deny |
//! | other | unknown | deny (a warning is logged) |
//!
//! ## `isAllowedName`
//!
//! For a Durable Object's SQL storage (`SqlStorageRegulator::isAllowedName` in `api/sql.c++`), a
//! name is allowed unless it starts with the reserved prefix `_cf_` ([`RESERVED_NAME_PREFIX`]).
//! With the `SQL_RESTRICT_RESERVED_NAMES` autogate on, the prefix is compared case-insensitively
//! (`strncasecmp(name, "_cf_", 4)`), and that is what [`is_allowed_name`] does. Without it, only
//! the exact-case prefix is refused, and a case-insensitive match is just logged. workerd itself
//! has no rule for `sqlite_` names. SQLite refuses to create objects whose names start with
//! `sqlite_` ([`SQLITE_RESERVED_OBJECT_NAME_FMT`]), and `SQLITE_DBCONFIG_DEFENSIVE` (which
//! `setupSecurity` turns on) blocks writes to the schema and to shadow tables. Reading
//! `sqlite_schema` is therefore allowed.
//!
//! ## Other settings in `setupSecurity`
//!
//! `SQLITE_DBCONFIG_DEFENSIVE = 1`, the [`LIMITS`], a process-wide soft heap limit of 128 MiB, and a
//! hard heap limit (512 MiB in older releases, now configurable). workerd's SQLite build
//! ([`SQLITE_COMPILE_DEFINES`], `build/BUILD.sqlite3`) turns foreign keys **on** by default, and
//! workerd's SQLite patches also (a) check `DEFAULT`-clause expressions with the authorizer
//! (`0006-call-authorizer-in-default-column-expressions`) and (b) refuse internal functions
//! outside nested parses (`0005-restrict-internal-functions-to-nested-parse`).

// ---------------------------------------------------------------------------------------------
// Functions
// ---------------------------------------------------------------------------------------------

/// Every name in workerd's `ALLOWED_SQLITE_FUNCTIONS` (`src/workerd/util/sqlite.c++`), 138 names,
/// sorted by byte value so that `binary_search` works (`"->"` and `"->>"` sort first).
///
/// Case: workerd checks with an exact, **case-sensitive** `kj::HashSet<kj::StringPtr>::contains`.
/// In ordinary expressions this still works for any spelling, because SQLite's resolver
/// (`resolve.c`) passes the function's registered name (`pDef->zName`, lowercase for built-ins),
/// not the spelling in the SQL. So `SELECT ABS(-1)` is checked as `abs`. In `DEFAULT`-clause
/// expressions, however, workerd's patch 0006 passes the token as written (`p->u.zToken`). That
/// makes the check effectively case-sensitive there: `DEFAULT (ABS(1))` would be denied. This
/// last point is my reading of the patch; I have not seen it tested.
///
/// workerd leaves out, on purpose, `sqlite_compileoption_get`, `sqlite_compileoption_used`,
/// `sqlite_offset`, `sqlite_source_id` and `sqlite_version` ("These functions query SQLite
/// internals and build details in a way we'd prefer not to reveal.").
/// The operator forms `like`, `glob`, `match`, `->` and `->>` are authorized as functions too.
/// Later additions, missing from older releases: `concat`, `concat_ws`, `octet_length`, `substring`, `timediff`,
/// `string_agg`, the eleven `jsonb*` functions and `rtreecheck`.
pub const ALLOWED_FUNCTIONS: &[&str] = &[
    "->",
    "->>",
    "abs",
    "acos",
    "acosh",
    "asin",
    "asinh",
    "atan",
    "atan2",
    "atanh",
    "avg",
    "bm25",
    "ceil",
    "changes",
    "char",
    "coalesce",
    "concat",
    "concat_ws",
    "cos",
    "cosh",
    "count",
    "cume_dist",
    "current_date",
    "current_time",
    "current_timestamp",
    "date",
    "datetime",
    "degrees",
    "dense_rank",
    "exp",
    "first_value",
    "floor",
    "format",
    "glob",
    "group_concat",
    "hex",
    "highlight",
    "ifnull",
    "iif",
    "instr",
    "json",
    "json_array",
    "json_array_length",
    "json_each",
    "json_extract",
    "json_group_array",
    "json_group_object",
    "json_insert",
    "json_object",
    "json_patch",
    "json_quote",
    "json_remove",
    "json_replace",
    "json_set",
    "json_tree",
    "json_type",
    "json_valid",
    "jsonb",
    "jsonb_array",
    "jsonb_extract",
    "jsonb_group_array",
    "jsonb_group_object",
    "jsonb_insert",
    "jsonb_object",
    "jsonb_patch",
    "jsonb_remove",
    "jsonb_replace",
    "jsonb_set",
    "julianday",
    "lag",
    "last_insert_rowid",
    "last_value",
    "lead",
    "length",
    "like",
    "likelihood",
    "likely",
    "ln",
    "load_extension",
    "log",
    "log2",
    "lower",
    "ltrim",
    "match",
    "max",
    "max_scalar",
    "min",
    "min_scalar",
    "mod",
    "nth_value",
    "ntile",
    "nullif",
    "octet_length",
    "percent_rank",
    "pi",
    "pow",
    "printf",
    "quote",
    "radians",
    "random",
    "randomblob",
    "rank",
    "replace",
    "round",
    "row_number",
    "rtreecheck",
    "rtrim",
    "sign",
    "sin",
    "sinh",
    "snippet",
    "soundex",
    "sqlite_drop_column",
    "sqlite_rename_column",
    "sqlite_rename_quotefix",
    "sqlite_rename_table",
    "sqlite_rename_test",
    "sqrt",
    "strftime",
    "string_agg",
    "substr",
    "substring",
    "sum",
    "tan",
    "tanh",
    "time",
    "timediff",
    "total",
    "total_changes",
    "trim",
    "trunc",
    "typeof",
    "unhex",
    "unicode",
    "unixepoch",
    "unlikely",
    "upper",
    "zeroblob",
];

/// Whether workerd authorizes `SQLITE_FUNCTION` for this name: an exact (case-sensitive) lookup
/// in [`ALLOWED_FUNCTIONS`]. Pass the name SQLite's authorizer receives (param2).
pub fn function_allowed(name: &str) -> bool {
    ALLOWED_FUNCTIONS.binary_search(&name).is_ok()
}

// ---------------------------------------------------------------------------------------------
// PRAGMA
// ---------------------------------------------------------------------------------------------

/// Which argument forms workerd accepts for an allowed pragma (`PragmaSignature` in
/// `sqlite.c++`, plus the pragmas `isAuthorized` handles itself before the table lookup).
///
/// "Argument" means param2 of the `SQLITE_PRAGMA` callback, which is what SQLite builds from
/// `PRAGMA x = v` / `PRAGMA x(v)`. SQLite has already removed one level of quotes (`'v'`, `"v"`,
/// `[v]`, `` `v` ``), and a leading minus comes through as `-v`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PragmaArg {
    /// Any argument, or none: `table_list`. It lists internal tables too; workerd accepts that,
    /// since the tables' existence is no secret.
    Any,
    /// No argument only (`NO_ARG`). Reading is allowed, setting is not.
    None,
    /// No argument (read the current value), or a boolean (`BOOLEAN`); see
    /// [`is_boolean_pragma_value`].
    Boolean,
    /// A table name is required and must pass `isAllowedName` (`table_info`, `table_xinfo`).
    TableName,
    /// An object (table or index) name that must pass `isAllowedName`. `required: true` is
    /// `OBJECT_NAME`: with no argument, deny. `required: false` is `OPTIONAL_OBJECT_NAME`: with no
    /// argument, allow.
    ObjectName { required: bool },
    /// No argument, or one that kj parses as an `int32_t` (`NULL_OR_NUMBER`); see [`parse_kj_i32`].
    OptionalInt32,
    /// No argument, or one that kj parses as an unsigned 32-bit `uint`, or else an object name
    /// that passes `isAllowedName` (`NULL_NUMBER_OR_OBJECT_NAME`); see [`parse_kj_u32`].
    OptionalUintOrObjectName,
}

/// The pragmas workerd allows for untrusted code, sorted by name for `binary_search`. Anything
/// else is denied. Names are matched exactly and **case-sensitively**, and SQLite passes the
/// pragma name as written, so `PRAGMA FOREIGN_KEYS = ON` is denied.
///
/// Sources in `sqlite.c++`: `table_list`, `table_info` and `table_xinfo` are special-cased in
/// `isAuthorized`'s `SQLITE_PRAGMA` branch, and the rest come from `ALLOWED_PRAGMAS`. `page_size`
/// (no argument) was added because the R*Tree module runs `PRAGMA page_size` internally.
/// `legacy_alter_table`, `quick_check` and `optimize` are later additions too. In the same
/// change, `foreign_key_check` began to accept no argument.
pub const ALLOWED_PRAGMAS: &[(&str, PragmaArg)] = &[
    ("case_sensitive_like", PragmaArg::Boolean),
    ("data_version", PragmaArg::None),
    ("defer_foreign_keys", PragmaArg::Boolean),
    (
        "foreign_key_check",
        PragmaArg::ObjectName { required: false },
    ),
    ("foreign_key_list", PragmaArg::ObjectName { required: true }),
    ("foreign_keys", PragmaArg::Boolean),
    ("ignore_check_constraints", PragmaArg::Boolean),
    ("index_info", PragmaArg::ObjectName { required: true }),
    ("index_list", PragmaArg::ObjectName { required: true }),
    ("index_xinfo", PragmaArg::ObjectName { required: true }),
    ("legacy_alter_table", PragmaArg::Boolean),
    ("optimize", PragmaArg::OptionalInt32),
    ("page_size", PragmaArg::None),
    ("quick_check", PragmaArg::OptionalUintOrObjectName),
    ("recursive_triggers", PragmaArg::Boolean),
    ("reverse_unordered_selects", PragmaArg::Boolean),
    ("table_info", PragmaArg::TableName),
    ("table_list", PragmaArg::Any),
    ("table_xinfo", PragmaArg::TableName),
];

/// The argument rule for an allowed pragma, or `None` if workerd denies the pragma (exact-case
/// lookup).
pub fn pragma_rule(name: &str) -> Option<PragmaArg> {
    ALLOWED_PRAGMAS
        .binary_search_by(|(n, _)| (*n).cmp(name))
        .ok()
        .and_then(|i| ALLOWED_PRAGMAS.get(i))
        .map(|(_, rule)| *rule)
}

/// workerd's decision for `SQLITE_PRAGMA` with param1 = `name` and param2 = `arg`, for untrusted
/// code. `is_allowed_table` is the regulator's `isAllowedName` (for Durable Objects,
/// [`is_allowed_name`]).
///
/// This does not cover the checks that come first in `isAuthorized`: a schema qualifier other
/// than `main` denies (`PRAGMA temp.x` is denied, `PRAGMA main.x` is judged here), and so does a
/// disallowed trigger.
pub fn pragma_allowed(
    name: &str,
    arg: Option<&str>,
    is_allowed_table: impl Fn(&str) -> bool,
) -> bool {
    let Some(rule) = pragma_rule(name) else {
        return false;
    };
    match rule {
        PragmaArg::Any => true,
        PragmaArg::None => arg.is_none(),
        PragmaArg::Boolean => arg.is_none_or(is_boolean_pragma_value),
        PragmaArg::TableName => arg.is_some_and(&is_allowed_table),
        PragmaArg::ObjectName { required } => match arg {
            None => !required,
            Some(a) => is_allowed_table(a),
        },
        PragmaArg::OptionalInt32 => arg.is_none_or(|a| parse_kj_i32(a).is_some()),
        PragmaArg::OptionalUintOrObjectName => match arg {
            None => true,
            Some(a) => parse_kj_u32(a).is_some() || is_allowed_table(a),
        },
    }
}

/// The boolean spellings workerd accepts, compared ASCII-case-insensitively **as prefixes**.
pub const BOOLEAN_PRAGMA_WORDS: &[&str] = &["true", "false", "yes", "no", "on", "off", "1", "0"];

/// workerd's `BOOLEAN` pragma argument check.
///
/// It first strips one pair of matching quotes (`'...'` or `"..."`, length at least 2, same
/// character at both ends). Then it runs `strncasecmp(val, word, strlen(word)) == 0` for each
/// word in [`BOOLEAN_PRAGMA_WORDS`]. That tests a case-insensitive **prefix**, not equality, so
/// `TRUE`, `'on'`, `"Off"`, `100`, `0x5`, `none` and `onion` are all accepted, while `2`, `'yes`
/// (unbalanced quote), `''` and the empty string are not.
pub fn is_boolean_pragma_value(arg: &str) -> bool {
    let bytes = arg.as_bytes();
    let val = match (bytes.first(), bytes.last()) {
        (Some(&f), Some(&l)) if bytes.len() >= 2 && (f == b'\'' || f == b'"') && l == f => {
            &bytes[1..bytes.len() - 1]
        }
        _ => bytes,
    };
    BOOLEAN_PRAGMA_WORDS.iter().any(|w| {
        let w = w.as_bytes();
        val.len() >= w.len() && val[..w.len()].eq_ignore_ascii_case(w)
    })
}

/// `kj::StringPtr::tryParseAs<int32_t>()` (capnproto `kj/string.c++`, `tryParseSigned`), used for
/// `PRAGMA optimize`.
///
/// kj calls `strtoll` with base 16 if the text starts with `0x`/`0X` or `-0x`/`-0X`, and base 10
/// otherwise. The whole string must be consumed, with no `ERANGE` and the value within `i32`.
/// As with `strtoll`, leading C whitespace and a `+`/`-` sign are accepted in base 10
/// (`" 5"`, `"+5"`, `"-1"`), and trailing characters are not (`"5 "`, `"1.0"`).
pub fn parse_kj_i32(s: &str) -> Option<i32> {
    let (negative, magnitude) = parse_strtol_like(s)?;
    let magnitude = i128::try_from(magnitude).ok()?;
    let value = if negative { -magnitude } else { magnitude };
    // strtoll sets ERANGE outside i64, and kj then checks the int32_t range.
    i32::try_from(value).ok()
}

/// `kj::StringPtr::tryParseAs<uint>()` (`tryParseUnsigned`), used for `PRAGMA quick_check(N)`.
///
/// Like [`parse_kj_i32`] but with `strtoull`. Text starting with `-` is refused, and the value
/// must fit in `u32`. As `strtoull` does, a sign after leading whitespace (`" -0"`) negates
/// modulo 2^64. kj only refuses a `-` in position 0.
pub fn parse_kj_u32(s: &str) -> Option<u32> {
    if s.starts_with('-') {
        return None;
    }
    let (negative, magnitude) = parse_strtol_like(s)?;
    // Above u64::MAX strtoull sets ERANGE.
    let magnitude = u64::try_from(magnitude).ok()?;
    let value = if negative {
        magnitude.wrapping_neg()
    } else {
        magnitude
    };
    u32::try_from(value).ok()
}

/// The parts of `strtoll`/`strtoull` that kj's parsers use: `(negative, magnitude)` when the
/// whole of `s` is one number, or `None`. The magnitude saturates above 2^64, which is enough
/// to tell `ERANGE`.
fn parse_strtol_like(s: &str) -> Option<(bool, u128)> {
    if s.is_empty() {
        return None;
    }
    let b = s.as_bytes();
    // kj's isHex: optional '-' then "0x"/"0X", with no whitespace or '+' allowed in front.
    let hex_body = {
        let rest = b.strip_prefix(b"-").unwrap_or(b);
        match rest {
            [b'0', b'x' | b'X', tail @ ..] => Some(tail),
            _ => None,
        }
    };
    let (negative, digits, radix): (bool, &[u8], u32) = match hex_body {
        Some(tail) => (b.first() == Some(&b'-'), tail, 16),
        None => {
            // C isspace in the "C" locale: space, \t, \n, \v, \f, \r.
            let start = b
                .iter()
                .position(|c| !matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))?;
            let rest = &b[start..];
            match rest.first() {
                Some(b'-') => (true, &rest[1..], 10),
                Some(b'+') => (false, &rest[1..], 10),
                _ => (false, rest, 10),
            }
        }
    };
    if digits.is_empty() {
        // No digits: strtol stops early, so the string is not fully consumed. (For "0x" with
        // nothing after it, strtol reads the "0" and stops at the 'x'.)
        return None;
    }
    let cap: u128 = 1 << 65;
    let mut magnitude: u128 = 0;
    for &c in digits {
        let d = char::from(c).to_digit(radix)?;
        magnitude = (magnitude * u128::from(radix) + u128::from(d)).min(cap);
    }
    Some((negative, magnitude))
}

// ---------------------------------------------------------------------------------------------
// Virtual tables
// ---------------------------------------------------------------------------------------------

/// Virtual table modules allowed in `CREATE VIRTUAL TABLE .. USING <module>` (and its drop),
/// compared with `strcasecmp`, so ASCII-case-insensitively. The table name must also pass
/// `isAllowedName`. `fts5vocab` comes with FTS5, `rtree_i32` with R*Tree. Older releases
/// allowed only `fts5` and `fts5vocab`.
pub const ALLOWED_VTAB_MODULES: &[&str] = &["fts5", "fts5vocab", "rtree", "rtree_i32"];

/// workerd's `CREATE_VTABLE`/`DROP_VTABLE` decision: `table` is param1, `module` is param2.
pub fn vtab_allowed(
    table: &str,
    module: Option<&str>,
    is_allowed_table: impl Fn(&str) -> bool,
) -> bool {
    match module {
        Some(m)
            if ALLOWED_VTAB_MODULES
                .iter()
                .any(|a| a.eq_ignore_ascii_case(m)) =>
        {
            is_allowed_table(table)
        }
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------

/// The prefix reserved for Cloudflare's own tables (for example `_cf_KV` and `_cf_METADATA`).
pub const RESERVED_NAME_PREFIX: &str = "_cf_";

/// `SqlStorageRegulator::isAllowedName` (`src/workerd/api/sql.c++`), with the
/// `SQL_RESTRICT_RESERVED_NAMES` autogate on: refuse any name whose first four bytes equal
/// `_cf_`, ignoring ASCII case. (With the gate off, workerd refuses only an exact-case `_cf_`.)
pub fn is_allowed_name(name: &str) -> bool {
    let p = RESERVED_NAME_PREFIX.as_bytes();
    !(name.len() >= p.len() && name.as_bytes()[..p.len()].eq_ignore_ascii_case(p))
}

// ---------------------------------------------------------------------------------------------
// Limits
// ---------------------------------------------------------------------------------------------

/// `SQLITE_LIMIT_*` ids from `sqlite3.h`.
pub const SQLITE_LIMIT_LENGTH: i32 = 0;
pub const SQLITE_LIMIT_SQL_LENGTH: i32 = 1;
pub const SQLITE_LIMIT_COLUMN: i32 = 2;
pub const SQLITE_LIMIT_EXPR_DEPTH: i32 = 3;
pub const SQLITE_LIMIT_COMPOUND_SELECT: i32 = 4;
pub const SQLITE_LIMIT_VDBE_OP: i32 = 5;
pub const SQLITE_LIMIT_FUNCTION_ARG: i32 = 6;
pub const SQLITE_LIMIT_ATTACHED: i32 = 7;
pub const SQLITE_LIMIT_LIKE_PATTERN_LENGTH: i32 = 8;
pub const SQLITE_LIMIT_VARIABLE_NUMBER: i32 = 9;
pub const SQLITE_LIMIT_TRIGGER_DEPTH: i32 = 10;
pub const SQLITE_LIMIT_WORKER_THREADS: i32 = 11;

/// The `sqlite3_limit(db, id, value)` calls in workerd's `SqliteDatabase::setupSecurity`, in
/// source order, as `(SQLITE_LIMIT_* id, value)`. The lengths are in bytes.
pub const LIMITS: &[(i32, i32)] = &[
    // Largest string or BLOB. 4 MiB now; older releases used 2_200_000 ("values of 1MiB, and we
    // added some extra padding").
    (SQLITE_LIMIT_LENGTH, 4 * 1024 * 1024),
    // Longest SQL text.
    (SQLITE_LIMIT_SQL_LENGTH, 100_000),
    // Columns in a table, index, view, result set, GROUP BY or ORDER BY.
    (SQLITE_LIMIT_COLUMN, 100),
    // Depth of an expression tree.
    (SQLITE_LIMIT_EXPR_DEPTH, 100),
    // Terms of a compound SELECT (UNION / UNION ALL / INTERSECT / EXCEPT).
    (SQLITE_LIMIT_COMPOUND_SELECT, 5),
    // VDBE instructions in one prepared statement.
    (SQLITE_LIMIT_VDBE_OP, 25_000),
    // Arguments to one function. This is SQLite's default, not the lower "security" value,
    // because of json_object.
    (SQLITE_LIMIT_FUNCTION_ARG, 127),
    // Attached databases.
    (SQLITE_LIMIT_ATTACHED, 0),
    // Length of a LIKE or GLOB pattern.
    (SQLITE_LIMIT_LIKE_PATTERN_LENGTH, 50),
    // Highest parameter number (?NNN).
    (SQLITE_LIMIT_VARIABLE_NUMBER, 100),
    // Depth of trigger recursion.
    (SQLITE_LIMIT_TRIGGER_DEPTH, 10),
    // Auxiliary worker threads.
    (SQLITE_LIMIT_WORKER_THREADS, 0),
];

/// The `SQLITE_DEFINES` workerd compiles SQLite with (`build/BUILD.sqlite3`). Note
/// `SQLITE_DEFAULT_FOREIGN_KEYS=1`: foreign key enforcement is on by default.
pub const SQLITE_COMPILE_DEFINES: &[&str] = &[
    "SQLITE_MAX_ALLOCATION_SIZE=16777216",
    "SQLITE_PRINTF_PRECISION_LIMIT=100000",
    "SQLITE_ENABLE_FTS5",
    "SQLITE_ENABLE_NORMALIZE",
    "SQLITE_ENABLE_MATH_FUNCTIONS",
    "SQLITE_DEFAULT_FOREIGN_KEYS=1",
    "SQLITE_ENABLE_RTREE",
    "SQLITE_ENABLE_UPDATE_DELETE_LIMIT",
    "SQLITE_OMIT_SHARED_CACHE",
];

// ---------------------------------------------------------------------------------------------
// User-visible messages
// ---------------------------------------------------------------------------------------------

/// What `SqlStorageRegulator::allowTransactions` (`api/sql.c++`) throws as a JS `Error` when the
/// authorizer sees `SQLITE_TRANSACTION` or `SQLITE_SAVEPOINT`. workerd throws it in place of
/// SQLite's "not authorized". (Older releases only logged a similar warning once.)
pub const TRANSACTION_ERROR: &str =
    "To execute a transaction, please use the state.storage.transaction() or \
state.storage.transactionSync() APIs instead of the SQL BEGIN TRANSACTION or SAVEPOINT \
statements. The JavaScript API is safer because it will automatically roll back on \
exceptions, and because it interacts correctly with Durable Objects' automatic atomic \
write coalescing.";

/// `sqlite.c++`, `prepareSql`: the SQL text holds no statement (empty, or comments only).
pub const NO_STATEMENT_ERROR: &str = "SQL code did not contain a statement.";
/// `sqlite.c++`, `prepareSql` in SINGLE mode (`sql.prepare()`): more text after the first statement.
pub const MULTIPLE_STATEMENTS_ERROR: &str =
    "A prepared SQL statement must contain only one statement.";
/// `sqlite.c++`, `prepareSql` in MULTI mode (`sql.exec()`): an earlier statement has parameters.
pub const MULTI_STATEMENT_PARAMS_ERROR: &str =
    "When executing multiple SQL statements in a single call, only the last statement \
can have parameters.";
/// `sqlite.c++`, `Query::checkRequirements`: the statement is already running.
pub const STATEMENT_BUSY_ERROR: &str =
    "A SQL prepared statement can only be executed once at a time.";
/// `sqlite.c++`, `Query::checkRequirements`: the binding count differs from the parameter count.
pub const WRONG_BINDINGS_ERROR: &str = "Wrong number of parameter bindings for SQL query.";
/// `sqlite.c++`, `Query::getStatementAndEffect`: the database was reset (deleteAll) under a query.
pub const QUERY_CANCELED_ERROR: &str =
    "SQLite query was canceled because the database was deleted.";

/// `api/sql.c++`, `Cursor::one()` with no rows.
pub const ONE_NO_RESULTS_ERROR: &str =
    "Expected exactly one result from SQL query, but got no results.";
/// `api/sql.c++`, `Cursor::one()` with more than one row.
pub const ONE_MULTIPLE_RESULTS_ERROR: &str =
    "Expected exactly one result from SQL query, but got multiple results.";
/// `api/sql.c++`, iterating a cursor whose statement was executed again.
pub const CURSOR_CANCELED_ERROR: &str =
    "SQL cursor was closed because the same statement was executed again. If you need to \
run multiple copies of the same statement concurrently, you must create multiple \
prepared statement objects.";

/// SQLite's (`auth.c`) message for a denied action other than READ and FUNCTION.
pub const SQLITE_NOT_AUTHORIZED: &str = "not authorized";
/// SQLite's (`auth.c`) message for a denied `SQLITE_READ`: `{table}.{column}`, or
/// `{db}.{table}.{column}` when the database is not `main` or more than two databases are open.
pub const SQLITE_ACCESS_PROHIBITED_FMT: &str = "access to {table}.{column} is prohibited";
/// SQLite's (`resolve.c`, and patch 0006 for DEFAULT clauses) message for a denied
/// `SQLITE_FUNCTION`, with the name as written in the SQL.
pub const SQLITE_FUNCTION_NOT_AUTHORIZED_FMT: &str = "not authorized to use function: {name}";
/// SQLite's (`build.c`, `sqlite3CheckObjectName`) message for creating an object whose name
/// starts with `sqlite_` (case-insensitive).
pub const SQLITE_RESERVED_OBJECT_NAME_FMT: &str = "object name reserved for internal use: {name}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_sorted_unique_and_complete() {
        assert!(ALLOWED_FUNCTIONS.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(ALLOWED_FUNCTIONS.len(), 138);
        for f in [
            "abs",
            "json_extract",
            "count",
            "->>",
            "rtreecheck",
            "jsonb_set",
            "bm25",
        ] {
            assert!(function_allowed(f), "{f}");
        }
        for f in [
            "sqlite_version",
            "sqlite_source_id",
            "ABS",
            "fts3_tokenizer",
            "readfile",
        ] {
            assert!(!function_allowed(f), "{f}");
        }
        assert!(ALLOWED_FUNCTIONS
            .iter()
            .all(|f| f.bytes().all(|b| !b.is_ascii_uppercase())));
    }

    #[test]
    fn pragmas_sorted() {
        assert!(ALLOWED_PRAGMAS.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(ALLOWED_PRAGMAS.len(), 19);
    }

    #[test]
    fn pragma_rules() {
        let ok = |n: &str| is_allowed_name(n);
        // Unknown, or not in workerd's exact spelling.
        assert!(!pragma_allowed("journal_mode", None, ok));
        assert!(!pragma_allowed("FOREIGN_KEYS", Some("on"), ok));
        assert!(!pragma_allowed("writable_schema", Some("1"), ok));
        // No-argument only.
        assert!(pragma_allowed("data_version", None, ok));
        assert!(pragma_allowed("page_size", None, ok));
        assert!(!pragma_allowed("page_size", Some("4096"), ok));
        // table_list: anything.
        assert!(pragma_allowed("table_list", None, ok));
        assert!(pragma_allowed("table_list", Some("_cf_KV"), ok));
        // table_info: allowed table required.
        assert!(pragma_allowed("table_info", Some("users"), ok));
        assert!(!pragma_allowed("table_info", Some("_cf_KV"), ok));
        assert!(!pragma_allowed("table_info", Some("_CF_kv"), ok));
        assert!(!pragma_allowed("table_xinfo", None, ok));
        // Booleans.
        for v in [
            "on", "OFF", "'true'", "\"No\"", "1", "0", "yes", "FALSE", "100", "onion",
        ] {
            assert!(pragma_allowed("foreign_keys", Some(v), ok), "{v}");
        }
        for v in ["2", "'yes", "''", "", "-1", "maybe", " on"] {
            assert!(!pragma_allowed("foreign_keys", Some(v), ok), "{v:?}");
        }
        assert!(pragma_allowed("foreign_keys", None, ok));
        // Object names.
        assert!(!pragma_allowed("index_list", None, ok));
        assert!(pragma_allowed("index_list", Some("t"), ok));
        assert!(!pragma_allowed("index_info", Some("_cf_x"), ok));
        assert!(pragma_allowed("foreign_key_check", None, ok));
        assert!(!pragma_allowed("foreign_key_check", Some("_cf_x"), ok));
        // optimize: none or int32.
        assert!(pragma_allowed("optimize", None, ok));
        assert!(pragma_allowed("optimize", Some("0x10002"), ok));
        assert!(pragma_allowed("optimize", Some("-1"), ok));
        assert!(!pragma_allowed("optimize", Some("4294967296"), ok));
        assert!(!pragma_allowed("optimize", Some("abc"), ok));
        // quick_check: none, uint, or allowed name.
        assert!(pragma_allowed("quick_check", None, ok));
        assert!(pragma_allowed("quick_check", Some("100"), ok));
        assert!(pragma_allowed("quick_check", Some("users"), ok));
        assert!(!pragma_allowed("quick_check", Some("_cf_KV"), ok));
        assert!(!pragma_allowed("quick_check", Some("-1"), |_| false));
    }

    #[test]
    fn kj_integer_parsing() {
        assert_eq!(parse_kj_i32("42"), Some(42));
        assert_eq!(parse_kj_i32(" +42"), Some(42));
        assert_eq!(parse_kj_i32("-0x10"), Some(-16));
        assert_eq!(parse_kj_i32("2147483647"), Some(i32::MAX));
        assert_eq!(parse_kj_i32("-2147483648"), Some(i32::MIN));
        assert_eq!(parse_kj_i32("2147483648"), None);
        assert_eq!(parse_kj_i32("0x"), None);
        assert_eq!(parse_kj_i32("+0x10"), None);
        assert_eq!(parse_kj_i32("5 "), None);
        assert_eq!(parse_kj_i32(""), None);
        assert_eq!(parse_kj_i32("-"), None);
        assert_eq!(parse_kj_i32("99999999999999999999999"), None);
        assert_eq!(parse_kj_u32("4294967295"), Some(u32::MAX));
        assert_eq!(parse_kj_u32("4294967296"), None);
        assert_eq!(parse_kj_u32("-0"), None);
        assert_eq!(parse_kj_u32(" -0"), Some(0));
        assert_eq!(parse_kj_u32(" -1"), None);
        assert_eq!(parse_kj_u32("0xFF"), Some(255));
    }

    #[test]
    fn vtabs_and_names() {
        let ok = |n: &str| is_allowed_name(n);
        assert!(vtab_allowed("docs", Some("FTS5"), ok));
        assert!(vtab_allowed("v", Some("fts5vocab"), ok));
        assert!(vtab_allowed("boxes", Some("rtree_i32"), ok));
        assert!(!vtab_allowed("_cf_docs", Some("fts5"), ok));
        assert!(!vtab_allowed("x", Some("fts4"), ok));
        assert!(!vtab_allowed("x", Some("vec0"), ok));
        assert!(!vtab_allowed("x", None, ok));
        assert!(is_allowed_name("users"));
        assert!(is_allowed_name("_cf"));
        assert!(is_allowed_name("cf_x"));
        assert!(!is_allowed_name("_cf_KV"));
        assert!(!is_allowed_name("_CF_meta"));
    }

    #[test]
    fn limits_cover_every_id_once() {
        let ids: Vec<i32> = LIMITS.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, (0..=11).collect::<Vec<_>>());
        assert_eq!(LIMITS[0].1, 4_194_304);
        assert_eq!(LIMITS[SQLITE_LIMIT_VARIABLE_NUMBER as usize].1, 100);
    }
}
