//! The authorizer that sandboxes user SQL as workerd does (rules and lists in
//! `allowlists.rs`), plus the one check stock SQLite cannot do in its authorizer: renaming
//! a table to a reserved `_cf_` name (workerd patches SQLite to pass the new name).

use std::cell::{Cell, RefCell};
use std::ffi::{c_char, c_int, c_void, CStr};

use rusqlite::ffi;

use crate::storage::allowlists::{
    function_allowed, is_allowed_name, pragma_allowed, vtab_allowed, TRANSACTION_ERROR,
};

pub use crate::storage::allowlists::LIMITS;

/// Per-connection authorizer state. Internal statements (KV, metadata, transactions) are
/// prepared and stepped as trusted; user SQL is not.
#[derive(Default)]
pub struct AuthState {
    trusted: Cell<bool>,
    /// A denial that must surface with its own message (workerd throws it from the callback).
    denial: RefCell<Option<String>>,
}

impl AuthState {
    pub fn begin_untrusted(&self) {
        self.trusted.set(false);
        self.denial.replace(None);
    }

    pub fn begin_trusted(&self) {
        self.trusted.set(true);
    }

    /// Ends a prepare or step; returns the pending denial message, if any.
    pub fn end(&self) -> Option<String> {
        self.trusted.set(false);
        self.denial.take()
    }
}

unsafe fn text<'a>(p: *const c_char) -> Option<&'a str> {
    if p.is_null() {
        None
    } else {
        CStr::from_ptr(p).to_str().ok()
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
    _trigger: *const c_char,
) -> c_int {
    let state = &*(ctx as *const AuthState);
    let (p1, p2, db) = (text(p1), text(p2), text(db_name));
    let allowed = if state.trusted.get() {
        true
    } else {
        match decide(action, p1, p2, db) {
            Decision::Allow => true,
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

/// SQL tokens, just enough to find `ALTER TABLE … RENAME TO <name>`.
fn tokens(sql: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < sql.len() {
        let c = sql[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'-' && sql.get(i + 1) == Some(&b'-') {
            while i < sql.len() && sql[i] != b'\n' {
                i += 1;
            }
        } else if c == b'/' && sql.get(i + 1) == Some(&b'*') {
            i += 2;
            while i + 1 < sql.len() && !(sql[i] == b'*' && sql[i + 1] == b'/') {
                i += 1;
            }
            i += 2;
        } else if matches!(c, b'"' | b'\'' | b'`' | b'[') {
            let close = if c == b'[' { b']' } else { c };
            let mut s = Vec::new();
            i += 1;
            while i < sql.len() {
                if sql[i] == close {
                    if close != b']' && sql.get(i + 1) == Some(&close) {
                        s.push(close);
                        i += 2;
                        continue;
                    }
                    i += 1;
                    break;
                }
                s.push(sql[i]);
                i += 1;
            }
            out.push(String::from_utf8_lossy(&s).into_owned());
        } else if c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80 || c == b'$' {
            let start = i;
            while i < sql.len()
                && (sql[i].is_ascii_alphanumeric()
                    || sql[i] == b'_'
                    || sql[i] >= 0x80
                    || sql[i] == b'$')
            {
                i += 1;
            }
            out.push(String::from_utf8_lossy(&sql[start..i]).into_owned());
        } else {
            out.push((c as char).to_string());
            i += 1;
        }
    }
    out
}

/// For `ALTER TABLE x RENAME TO <reserved>`: the reserved target name.
pub fn renames_to_reserved(sql: &[u8]) -> Option<String> {
    let t = tokens(sql);
    let upper = |i: usize| t.get(i).map(|s| s.to_ascii_uppercase());
    if upper(0).as_deref() != Some("ALTER") || upper(1).as_deref() != Some("TABLE") {
        return None;
    }
    let pos = t.iter().position(|s| s.eq_ignore_ascii_case("RENAME"))?;
    if upper(pos + 1).as_deref() != Some("TO") {
        return None; // RENAME COLUMN
    }
    let target = t.get(pos + 2)?;
    (!is_allowed_name(target)).then(|| target.clone())
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
    fn rename_to_reserved_name_is_found_through_quotes_and_comments() {
        assert_eq!(
            renames_to_reserved(b"ALTER TABLE t RENAME TO _cf_x").as_deref(),
            Some("_cf_x")
        );
        assert_eq!(
            renames_to_reserved(b"alter /* c */ table \"t\" rename to \"_CF_y\"").as_deref(),
            Some("_CF_y")
        );
        assert_eq!(renames_to_reserved(b"ALTER TABLE t RENAME TO ok"), None);
        assert_eq!(
            renames_to_reserved(b"ALTER TABLE t RENAME COLUMN a TO _cf_b"),
            None
        );
        assert_eq!(renames_to_reserved(b"SELECT 'ALTER TABLE'"), None);
    }
}
