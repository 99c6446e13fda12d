//! The authorizer that sandboxes user SQL as workerd does (rules and lists in
//! `allowlists.rs`), plus the one check stock SQLite cannot do in its authorizer: renaming
//! a table to a reserved `_cf_` name (workerd patches SQLite to pass the new name).
//!
//! That check reads each compiled statement with SQLite's own tokenizer rules
//! (`sql_lexer.rs`) and grammar ([`alter_form`]), refuses what it cannot read when the
//! authorizer saw an `ALTER TABLE` (fail closed), and also refuses renaming a virtual table to
//! `_cf` (its shadow tables would be `_cf_data`, …, which workerd's patched authorizer refuses
//! in the nested rename). Separately, code inside a trigger always gets the user's rules, even
//! when one of the runtime's own statements fires it.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::ffi::{c_char, c_int, c_void, CStr};

use rusqlite::ffi;

use crate::storage::allowlists::{
    function_allowed, is_allowed_name, pragma_allowed, vtab_allowed, RESERVED_NAME_PREFIX,
    TRANSACTION_ERROR,
};
use crate::storage::sql_lexer::{significant, Kind, Token};

pub use crate::storage::allowlists::LIMITS;

/// Per-connection authorizer state. Internal statements (KV, metadata, transactions) are
/// prepared and stepped as trusted; user SQL is not.
#[derive(Default)]
pub struct AuthState {
    trusted: Cell<bool>,
    /// A denial that must surface with its own message (workerd throws it from the callback).
    denial: RefCell<Option<String>>,
    /// The table of an `ALTER TABLE` the authorizer allowed while user SQL compiled (the
    /// rename check reads the statement's target itself, see `refuse_compiled`).
    altered: RefCell<Option<String>>,
}

impl AuthState {
    pub fn begin_untrusted(&self) {
        self.trusted.set(false);
        self.denial.replace(None);
        self.altered.replace(None);
    }

    pub fn begin_trusted(&self) {
        self.trusted.set(true);
    }

    /// Ends a prepare or step; returns the pending denial message, if any.
    pub fn end(&self) -> Option<String> {
        self.trusted.set(false);
        self.denial.take()
    }

    /// The table of the `ALTER TABLE` seen since `begin_untrusted`, if any.
    pub fn altered_table(&self) -> Option<String> {
        self.altered.borrow().clone()
    }
}

/// A name from SQLite. Not valid UTF-8 (which SQL from JS cannot produce) is read lossily
/// rather than skipped, so a `_cf_` prefix is still seen.
unsafe fn text<'a>(p: *const c_char) -> Option<Cow<'a, str>> {
    if p.is_null() {
        None
    } else {
        Some(CStr::from_ptr(p).to_string_lossy())
    }
}

/// SQLite's authorizer callback.
///
/// # Safety
/// Called by SQLite with `ctx` pointing at the connection's `AuthState`.
pub unsafe extern "C" fn authorize(
    ctx: *mut c_void,
    action: c_int,
    p1: *const c_char,
    p2: *const c_char,
    db_name: *const c_char,
    trigger: *const c_char,
) -> c_int {
    let state = &*(ctx as *const AuthState);
    let (p1, p2, db) = (text(p1), text(p2), text(db_name));
    // The runtime has no triggers of its own: code inside a trigger is the user's even when
    // a trusted statement fires it (a foreign-key action from `_cf_KV` onto a user table
    // whose trigger writes `_cf_…`), so it gets the user's rules.
    let allowed = if state.trusted.get() && trigger.is_null() {
        true
    } else {
        match decide(action, p1.as_deref(), p2.as_deref(), db.as_deref()) {
            Decision::Allow => {
                if action == ffi::SQLITE_ALTER_TABLE && !state.trusted.get() {
                    state
                        .altered
                        .replace(Some(p2.unwrap_or_default().into_owned()));
                }
                true
            }
            Decision::Deny => false,
            Decision::DenyWith(msg) => {
                state.denial.replace(Some(msg.to_string()));
                false
            }
        }
    };
    if allowed {
        ffi::SQLITE_OK
    } else {
        ffi::SQLITE_DENY
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny,
    DenyWith(&'static str),
}

fn ok(name: Option<&str>) -> bool {
    name.is_none_or(is_allowed_name)
}

fn yes(b: bool) -> Decision {
    if b {
        Decision::Allow
    } else {
        Decision::Deny
    }
}

/// workerd's decision for untrusted SQL (see the table in `allowlists.rs`).
pub fn decide(action: c_int, p1: Option<&str>, p2: Option<&str>, db: Option<&str>) -> Decision {
    // For ALTER TABLE and DETACH, SQLite passes the database name first.
    let (p1, p2, db) = match action {
        ffi::SQLITE_ALTER_TABLE => (p2, None, p1),
        ffi::SQLITE_DETACH => (p2, None, p1),
        _ => (p1, p2, db),
    };
    match db {
        Some("temp") => {
            return yes(matches!(action, ffi::SQLITE_READ | ffi::SQLITE_UPDATE) && ok(p1));
        }
        Some("main") | None => {}
        Some(_) => return Decision::Deny,
    }
    match action {
        ffi::SQLITE_SELECT | ffi::SQLITE_RECURSIVE | ffi::SQLITE_ANALYZE => Decision::Allow,
        ffi::SQLITE_CREATE_TABLE
        | ffi::SQLITE_DELETE
        | ffi::SQLITE_DROP_TABLE
        | ffi::SQLITE_INSERT
        | ffi::SQLITE_CREATE_VIEW
        | ffi::SQLITE_DROP_VIEW
        | ffi::SQLITE_REINDEX
        | ffi::SQLITE_ALTER_TABLE
        | ffi::SQLITE_READ
        | ffi::SQLITE_UPDATE => yes(ok(p1)),
        ffi::SQLITE_CREATE_INDEX
        | ffi::SQLITE_DROP_INDEX
        | ffi::SQLITE_CREATE_TRIGGER
        | ffi::SQLITE_DROP_TRIGGER => yes(ok(p1) && ok(p2)),
        ffi::SQLITE_TRANSACTION | ffi::SQLITE_SAVEPOINT => Decision::DenyWith(TRANSACTION_ERROR),
        ffi::SQLITE_PRAGMA => yes(p1.is_some_and(|name| pragma_allowed(name, p2, is_allowed_name))),
        // workerd's list names load_extension (its SQLite is built without extensions);
        // ours refuses it outright.
        ffi::SQLITE_FUNCTION => {
            yes(p2.is_some_and(|f| f != "load_extension" && function_allowed(f)))
        }
        ffi::SQLITE_CREATE_VTABLE | ffi::SQLITE_DROP_VTABLE => {
            yes(vtab_allowed(p1.unwrap_or(""), p2, is_allowed_name))
        }
        // ATTACH, DETACH, temp objects, COPY and anything unknown.
        _ => Decision::Deny,
    }
}

/// What an `ALTER TABLE` statement does, as far as the rename check needs to know.
#[derive(Debug, PartialEq, Eq)]
pub enum AlterForm {
    /// The statement is not `[EXPLAIN [QUERY PLAN]] ALTER TABLE …`.
    NotAlter,
    /// `ALTER TABLE [schema.]table RENAME TO <name>`: the new name, unquoted.
    RenameTo(Vec<u8>),
    /// Another form SQLite knows: `RENAME [COLUMN]`, `ADD`, `DROP`, `ALTER [COLUMN]`.
    Other,
    /// Starts as `ALTER TABLE` but follows no form this check knows (refused: fail closed).
    Unknown,
}

/// Reads the statement at the start of `sql` (one statement, as `sqlite3_prepare` consumed
/// it) with SQLite's grammar for `ALTER TABLE`:
///
/// ```text
/// cmd ::= ALTER TABLE fullname RENAME TO nm
/// cmd ::= ALTER TABLE fullname RENAME kwcolumn_opt nm TO nm
/// cmd ::= ALTER TABLE fullname (ADD | DROP | ALTER) …
/// fullname ::= nm | nm DOT nm        nm ::= ID | INDEXED | JOIN_KW | STRING
/// ```
///
/// Tokens are positional: a keyword used as a name (`ALTER TABLE rename RENAME TO x`), a
/// quoted `"rename"` or a comment between tokens cannot shift the target.
pub fn alter_form(sql: &[u8]) -> AlterForm {
    let mut t = significant(sql)
        .skip_while(|t| t.kind == Kind::Semi)
        .peekable();
    if t.next_if(|t| t.is_word("EXPLAIN")).is_some()
        && t.next_if(|t| t.is_word("QUERY")).is_some()
        && t.next_if(|t| t.is_word("PLAN")).is_none()
    {
        return AlterForm::NotAlter;
    }
    if t.next_if(|t| t.is_word("ALTER")).is_none() || t.next_if(|t| t.is_word("TABLE")).is_none() {
        return AlterForm::NotAlter;
    }
    // fullname
    if t.next_if(Token::is_name).is_none() {
        return AlterForm::Unknown;
    }
    if t.next_if(|t| t.kind == Kind::Dot).is_some() && t.next_if(Token::is_name).is_none() {
        return AlterForm::Unknown;
    }
    match t.next() {
        Some(w) if w.is_word("RENAME") => match t.next() {
            Some(to) if to.is_word("TO") => match t.next() {
                Some(name) if name.is_name() => AlterForm::RenameTo(name.name()),
                _ => AlterForm::Unknown,
            },
            Some(col) if col.is_name() => AlterForm::Other,
            _ => AlterForm::Unknown,
        },
        Some(w) if w.is_word("ADD") || w.is_word("DROP") || w.is_word("ALTER") => AlterForm::Other,
        _ => AlterForm::Unknown,
    }
}

/// A name an object of user SQL may not take: a reserved (`_cf_…`) one, or — for a virtual
/// table (`virtual_table`), whose shadow tables are named `<name>_data`, `<name>_node`, … —
/// a name whose shadow tables would be reserved (`_cf`, any case).
pub fn reserved_target(name: &[u8], virtual_table: bool) -> bool {
    let p = RESERVED_NAME_PREFIX.as_bytes();
    let reserved = name.len() >= p.len() && name[..p.len()].eq_ignore_ascii_case(p);
    reserved || (virtual_table && name.eq_ignore_ascii_case(&p[..p.len() - 1]))
}

/// SQLite's text for an authorizer denial; workerd reports a refused rename with it (its
/// SQLite passes the new name to the authorizer), formatted `<message>: SQLITE_AUTH`.
pub const NOT_AUTHORIZED: &str = "not authorized";

/// The check of a compiled statement of user SQL that SQLite's authorizer cannot make: the
/// target of `ALTER TABLE … RENAME TO`. `saw_alter` says whether the authorizer was asked
/// about an `ALTER TABLE` while it compiled; `is_virtual(table)` whether a table is virtual.
/// Returns true to refuse the statement.
pub fn refuse_compiled(
    sql: &[u8],
    saw_alter: Option<&str>,
    is_virtual: &mut dyn FnMut(&str) -> bool,
) -> bool {
    match alter_form(sql) {
        AlterForm::RenameTo(name) => {
            reserved_target(&name, false)
                || (reserved_target(&name, true) && saw_alter.is_some_and(&mut *is_virtual))
        }
        AlterForm::Other => false,
        // SQLite compiled an ALTER TABLE this check cannot read: refuse rather than guess.
        AlterForm::NotAlter | AlterForm::Unknown => saw_alter.is_some(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_names_are_refused_case_insensitively() {
        assert_eq!(
            decide(ffi::SQLITE_READ, Some("_cf_KV"), Some("key"), Some("main")),
            Decision::Deny
        );
        assert_eq!(
            decide(ffi::SQLITE_CREATE_TABLE, Some("_CF_x"), None, Some("main")),
            Decision::Deny
        );
        assert_eq!(
            decide(ffi::SQLITE_CREATE_TABLE, Some("users"), None, Some("main")),
            Decision::Allow
        );
    }

    #[test]
    fn transactions_are_refused_with_workerd_text() {
        assert_eq!(
            decide(ffi::SQLITE_TRANSACTION, Some("BEGIN"), None, None),
            Decision::DenyWith(TRANSACTION_ERROR)
        );
        assert_eq!(
            decide(ffi::SQLITE_SAVEPOINT, Some("BEGIN"), Some("sp"), None),
            Decision::DenyWith(TRANSACTION_ERROR)
        );
    }

    #[test]
    fn attach_and_other_databases_are_refused() {
        assert_eq!(
            decide(ffi::SQLITE_ATTACH, Some("file.db"), None, None),
            Decision::Deny
        );
        assert_eq!(
            decide(ffi::SQLITE_READ, Some("t"), Some("c"), Some("other")),
            Decision::Deny
        );
        assert_eq!(
            decide(ffi::SQLITE_CREATE_TEMP_TABLE, Some("t"), None, Some("temp")),
            Decision::Deny
        );
    }

    #[test]
    fn functions_and_pragmas_follow_the_allow_lists() {
        assert_eq!(
            decide(ffi::SQLITE_FUNCTION, None, Some("abs"), None),
            Decision::Allow
        );
        assert_eq!(
            decide(ffi::SQLITE_FUNCTION, None, Some("load_extension"), None),
            Decision::Deny
        );
        assert_eq!(
            decide(ffi::SQLITE_FUNCTION, None, Some("sqlite_version"), None),
            Decision::Deny
        );
        assert_eq!(
            decide(ffi::SQLITE_PRAGMA, Some("foreign_keys"), Some("on"), None),
            Decision::Allow
        );
        assert_eq!(
            decide(ffi::SQLITE_PRAGMA, Some("journal_mode"), None, None),
            Decision::Deny
        );
        assert_eq!(
            decide(ffi::SQLITE_PRAGMA, Some("table_info"), Some("_cf_KV"), None),
            Decision::Deny
        );
    }

    #[test]
    fn rename_target_is_read_positionally() {
        use AlterForm::*;
        let form = |s: &str| alter_form(s.as_bytes());
        assert_eq!(
            form("ALTER TABLE t RENAME TO _cf_x"),
            RenameTo(b"_cf_x".to_vec())
        );
        assert_eq!(
            form("alter /* c */ table \"t\" rename to \"_CF_y\""),
            RenameTo(b"_CF_y".to_vec())
        );
        assert_eq!(
            form("ALTER TABLE \"rename\" RENAME TO _cf_KV"),
            RenameTo(b"_cf_KV".to_vec())
        );
        assert_eq!(
            form("ALTER TABLE rename RENAME TO x"),
            RenameTo(b"x".to_vec())
        );
        assert_eq!(
            form("ALTER TABLE main.[t] RENAME TO '_cf_z'"),
            RenameTo(b"_cf_z".to_vec())
        );
        assert_eq!(
            form("EXPLAIN ALTER TABLE t RENAME TO y"),
            RenameTo(b"y".to_vec())
        );
        assert_eq!(form("ALTER TABLE t RENAME COLUMN a TO _cf_b"), Other);
        assert_eq!(form("ALTER TABLE t RENAME a TO _cf_b"), Other);
        assert_eq!(form("ALTER TABLE t ADD COLUMN _cf_c"), Other);
        assert_eq!(form("SELECT 'ALTER TABLE'"), NotAlter);
        assert_eq!(form("ALTER TABLE t RENAME"), Unknown);
    }

    #[test]
    fn virtual_tables_may_not_take_a_name_whose_shadow_tables_are_reserved() {
        assert!(reserved_target(b"_cf_x", false));
        assert!(reserved_target(b"_CF_", false));
        assert!(!reserved_target(b"_cf", false));
        assert!(reserved_target(b"_Cf", true));
        assert!(!reserved_target(b"_c", true));
        assert!(!reserved_target(b"cf_x", true));
    }
}
