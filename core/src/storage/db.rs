//! One object's SQLite database: user SQL through a sandbox, cached statements, cursors
//! that fetch in batches, implicit transactions, and the internal `_cf_` tables (KV in
//! `kv.rs`, alarm metadata here).
//!
//! Statements are driven through SQLite's C API directly: it is the hot path (one JS call
//! per INSERT), and cached statements must outlive any Rust borrow of the connection.

use std::collections::HashMap;
use std::ffi::{c_char, c_int, CStr};
use std::path::PathBuf;
use std::ptr;

use rusqlite::ffi;
use thiserror::Error;

use crate::storage::sandbox::{self, AuthState};
use crate::storage::sql_error;

/// Where a database lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    File(PathBuf),
    Memory,
}

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum StorageError {
    /// An error reported by SQLite, already in workerd's format.
    #[error("{message}")]
    Sql { message: String, code: i32 },
    /// An `Error` with exactly this message (workerd's texts).
    #[error("{0}")]
    Message(String),
    /// The database was closed under the instance (abort, dispose, deleteAll failure).
    #[error("Durable Object storage is no longer available to this instance.")]
    Closed,
    #[error("{0}")]
    Io(String),
}

impl StorageError {
    /// Errors after which the instance must be broken (SQLite may have rolled back).
    pub fn is_critical(&self) -> bool {
        matches!(self, StorageError::Sql { code, .. } if sql_error::is_critical(*code))
    }
}

pub type Result<T> = std::result::Result<T, StorageError>;

/// A value bound to a statement parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Bind<'a> {
    Null,
    Real(f64),
    Text(std::borrow::Cow<'a, str>),
    Blob(&'a [u8]),
}

/// A result cell, borrowed from SQLite until the next step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    Null,
    Integer(i64),
    Real(f64),
    Text(&'a [u8]),
    Blob(&'a [u8]),
}

/// One result row, readable until the statement steps again.
pub struct Row {
    stmt: *mut ffi::sqlite3_stmt,
    width: usize,
}

impl Row {
    pub fn width(&self) -> usize {
        self.width
    }

    pub fn cell(&self, i: usize) -> Cell<'_> {
        unsafe { read_cell(self.stmt, i as c_int) }
    }
}

unsafe fn read_cell<'a>(stmt: *mut ffi::sqlite3_stmt, i: c_int) -> Cell<'a> {
    match ffi::sqlite3_column_type(stmt, i) {
        ffi::SQLITE_INTEGER => Cell::Integer(ffi::sqlite3_column_int64(stmt, i)),
        ffi::SQLITE_FLOAT => Cell::Real(ffi::sqlite3_column_double(stmt, i)),
        ffi::SQLITE_TEXT => {
            let p = ffi::sqlite3_column_text(stmt, i);
            let n = ffi::sqlite3_column_bytes(stmt, i) as usize;
            Cell::Text(if p.is_null() {
                &[]
            } else {
                std::slice::from_raw_parts(p, n)
            })
        }
        ffi::SQLITE_BLOB => {
            let p = ffi::sqlite3_column_blob(stmt, i) as *const u8;
            let n = ffi::sqlite3_column_bytes(stmt, i) as usize;
            Cell::Blob(if p.is_null() {
                &[]
            } else {
                std::slice::from_raw_parts(p, n)
            })
        }
        _ => Cell::Null,
    }
}

/// Receives result rows; an `Err` stops the query (e.g. the JS heap refused a value).
pub type Sink<'s> = &'s mut dyn FnMut(&Row) -> std::result::Result<(), String>;

/// How an `execute` or `cursor_next` ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Rows passed to the sink by this call.
    pub rows: u32,
    /// Set when more rows remain: pass it to `cursor_next`.
    pub cursor: Option<u32>,
    /// Cumulative for the whole query (approximation: rows returned + full-scan steps).
    pub rows_read: u64,
    pub rows_written: u64,
}

/// A prepared `exec` text.
enum Program {
    /// One statement, compiled once and reused.
    Single {
        stmt: *mut ffi::sqlite3_stmt,
        columns: Vec<String>,
        /// Held by an open cursor: a concurrent exec of the same text runs a one-off copy.
        busy: bool,
    },
    /// Several statements: each is compiled when the previous one has run (it may depend on
    /// it, e.g. `CREATE TABLE t …; INSERT INTO t …`); all but the last run for effect.
    Multi { sql: String },
}

struct Cursor {
    stmt: *mut ffi::sqlite3_stmt,
    /// The program whose last statement this is, or None for a one-off copy.
    program: Option<u32>,
    rows_returned: u64,
    total_changes_before: i64,
}

pub const MULTI_PARAMS: &str =
    "When executing multiple SQL statements in a single call, only the last statement can have parameters.";
pub const NO_STATEMENT: &str = "SQL code did not contain a statement.";
pub const WRONG_BINDINGS: &str = "Wrong number of parameter bindings for SQL query.";

pub struct Database {
    conn: Option<rusqlite::Connection>,
    location: Location,
    sync_full: bool,
    auth: Box<AuthState>,
    programs: Vec<Option<Program>>,
    free_programs: Vec<u32>,
    /// Open cursors by id. Ids are never reused: a JS cursor that outlived its query (after
    /// a rollback or deleteAll) must not read another query's rows.
    cursors: HashMap<u32, Cursor>,
    next_cursor: u32,
    /// Internal statements, keyed by the address of their static SQL text (cheaper to hash
    /// than the text, and every call site passes the same literal).
    internal: HashMap<usize, *mut ffi::sqlite3_stmt>,
    txn_open: bool,
    savepoints: u32,
    /// Set when an implicit transaction was opened; read and cleared by the binding so
    /// the instance can close its output gate and schedule the commit.
    opened: bool,
    kv_ready: bool,
    /// The open transaction holds writes (else it only reads).
    dirty: bool,
    read_opened: bool,
    /// Bumped whenever statement handles become invalid (deleteAll reopens the file).
    epoch: u32,
    last_columns: Vec<String>,
}

// Raw statement handles are only used by whoever holds the `Mutex<Database>`.
unsafe impl Send for Database {}

fn open_connection(location: &Location, sync_full: bool) -> Result<rusqlite::Connection> {
    use rusqlite::OpenFlags;
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = match location {
        Location::File(path) => rusqlite::Connection::open_with_flags(path, flags),
        Location::Memory => rusqlite::Connection::open_in_memory_with_flags(flags),
    }
    .map_err(|e| StorageError::Io(format!("cannot open database: {e}")))?;
    let check = |sql: &str| -> Result<()> {
        conn.execute_batch(sql).map_err(|e| match e {
            rusqlite::Error::SqliteFailure(err, msg) => StorageError::Sql {
                message: format!(
                    "{}: {}",
                    msg.unwrap_or_else(|| err.to_string()),
                    sql_error::code_name(err.extended_code)
                ),
                code: err.extended_code,
            },
            other => StorageError::Io(other.to_string()),
        })
    };
    if matches!(location, Location::File(_)) {
        if sync_full {
            check("PRAGMA journal_mode=WAL;")?;
            check("PRAGMA synchronous=FULL;")?;
        } else {
            // A new file turns to WAL through a rollback-journal transaction: four fsyncs
            // (journal twice, its directory, the database), most of a new facet's start on
            // disk. `synchronous=NORMAL` promises survival of process death, not of power
            // loss (SPEC §4), and the page cache keeps these writes through a process
            // death: so the switch runs unsynced. The first commit still syncs the WAL
            // header, and checkpoints sync as NORMAL does.
            check("PRAGMA synchronous=OFF;")?;
            check("PRAGMA journal_mode=WAL;")?;
            check("PRAGMA synchronous=NORMAL;")?;
        }
    } else {
        // Touch the schema so a bad database fails here rather than on first use.
        check("SELECT count(*) FROM sqlite_master;")?;
    }
    // workerd builds SQLite with SQLITE_DEFAULT_FOREIGN_KEYS=1.
    check("PRAGMA foreign_keys=ON;")?;
    Ok(conn)
}

impl Database {
    pub fn open(location: Location, sync_full: bool) -> Result<Database> {
        let conn = open_connection(&location, sync_full)?;
        let mut db = Database {
            conn: Some(conn),
            location,
            sync_full,
            auth: Box::new(AuthState::default()),
            programs: Vec::new(),
            free_programs: Vec::new(),
            cursors: HashMap::new(),
            next_cursor: 0,
            internal: HashMap::new(),
            txn_open: false,
            savepoints: 0,
            opened: false,
            kv_ready: false,
            dirty: false,
            read_opened: false,
            epoch: 0,
            last_columns: Vec::new(),
        };
        db.secure()?;
        Ok(db)
    }

    /// Limits, defensive mode and the authorizer (workerd's `setupSecurity`).
    fn secure(&mut self) -> Result<()> {
        let db = self.raw()?;
        unsafe {
            for (limit, value) in sandbox::LIMITS {
                ffi::sqlite3_limit(db, *limit, *value);
            }
            let mut out: c_int = 0;
            ffi::sqlite3_db_config(
                db,
                ffi::SQLITE_DBCONFIG_DEFENSIVE,
                1 as c_int,
                &mut out as *mut c_int,
            );
            ffi::sqlite3_set_authorizer(
                db,
                Some(sandbox::authorize),
                &*self.auth as *const AuthState as *mut std::ffi::c_void,
            );
        }
        Ok(())
    }

    pub fn location(&self) -> &Location {
        &self.location
    }

    /// A handle that interrupts a running statement from another thread (abort fences an
    /// instance even in the middle of a long query).
    pub fn interrupt_handle(&self) -> Option<rusqlite::InterruptHandle> {
        self.conn.as_ref().map(|c| c.get_interrupt_handle())
    }

    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    fn raw(&self) -> Result<*mut ffi::sqlite3> {
        match &self.conn {
            Some(c) => Ok(unsafe { c.handle() }),
            None => Err(StorageError::Closed),
        }
    }

    pub fn is_closed(&self) -> bool {
        self.conn.is_none()
    }

    /// True once after an implicit transaction was opened (see `opened`).
    pub fn take_opened(&mut self) -> bool {
        std::mem::take(&mut self.opened)
    }

    pub fn in_transaction(&self) -> bool {
        self.txn_open
    }

    // ---------------------------------------------------------------- user SQL

    /// Compiles one statement of user SQL under the sandbox. Returns the statement (None if
    /// only whitespace or comments remain) and how many bytes it consumed.
    fn compile(
        &mut self,
        sql: &[u8],
        persistent: bool,
    ) -> Result<(Option<*mut ffi::sqlite3_stmt>, usize)> {
        let db = self.raw()?;
        let mut stmt = ptr::null_mut();
        let mut tail: *const c_char = ptr::null();
        self.auth.begin_untrusted();
        let rc = unsafe {
            ffi::sqlite3_prepare_v3(
                db,
                sql.as_ptr() as *const c_char,
                sql.len() as c_int,
                if persistent {
                    ffi::SQLITE_PREPARE_PERSISTENT
                } else {
                    0
                },
                &mut stmt,
                &mut tail,
            )
        };
        let denial = self.auth.end();
        if rc != ffi::SQLITE_OK {
            return Err(match denial {
                Some(msg) => StorageError::Message(msg),
                None => unsafe { sql_error::from_db(db, rc) },
            });
        }
        let consumed = if tail.is_null() {
            sql.len()
        } else {
            tail as usize - sql.as_ptr() as usize
        };
        if stmt.is_null() {
            return Ok((None, consumed.max(1)));
        }
        let altered = self.auth.altered_table();
        let mut is_virtual = |table: &str| self.is_virtual_table(table).unwrap_or(true);
        if sandbox::refuse_compiled(&sql[..consumed], altered.as_deref(), &mut is_virtual) {
            unsafe { ffi::sqlite3_finalize(stmt) };
            return Err(StorageError::Sql {
                message: format!("{}: SQLITE_AUTH", sandbox::NOT_AUTHORIZED),
                code: ffi::SQLITE_AUTH,
            });
        }
        Ok((Some(stmt), consumed.max(1)))
    }

    /// Compiles `sql` (one or more statements); returns a handle for `execute`.
    pub fn prepare(&mut self, sql: &str) -> Result<u32> {
        let bytes = sql.as_bytes();
        let (stmt, consumed) = self.compile(bytes, true)?;
        let Some(stmt) = stmt else {
            return Err(StorageError::Message(NO_STATEMENT.into()));
        };
        let program = if is_blank(&bytes[consumed..]) {
            Program::Single {
                stmt,
                columns: unsafe { column_names(stmt) },
                busy: false,
            }
        } else {
            // Later statements may depend on earlier ones: compiled as they run.
            unsafe { ffi::sqlite3_finalize(stmt) };
            Program::Multi {
                sql: sql.to_owned(),
            }
        };
        Ok(match self.free_programs.pop() {
            Some(h) => {
                self.programs[h as usize] = Some(program);
                h
            }
            None => {
                self.programs.push(Some(program));
                (self.programs.len() - 1) as u32
            }
        })
    }

    /// Result column names of a single-statement program; `None` for a multi-statement
    /// one, whose last statement is only known once it ran (see `last_columns`).
    pub fn columns(&self, handle: u32) -> Result<Option<Vec<String>>> {
        match self.programs.get(handle as usize).and_then(|p| p.as_ref()) {
            Some(Program::Single { columns, .. }) => Ok(Some(columns.clone())),
            Some(Program::Multi { .. }) => Ok(None),
            None => Err(StorageError::Message("invalid statement handle".into())),
        }
    }

    /// Column names of the last statement of the latest multi-statement `execute`.
    pub fn last_columns(&self) -> &[String] {
        &self.last_columns
    }

    /// Frees a cached statement (evicted from the JS-side cache).
    pub fn finalize(&mut self, handle: u32) {
        let Some(slot) = self.programs.get_mut(handle as usize) else {
            return;
        };
        match slot.take() {
            Some(Program::Single { stmt, busy, .. }) => {
                if busy {
                    // A cursor still reads it: it becomes that cursor's one-off.
                    for c in self.cursors.values_mut() {
                        if c.program == Some(handle) {
                            c.program = None;
                        }
                    }
                } else {
                    unsafe { ffi::sqlite3_finalize(stmt) };
                }
                self.free_programs.push(handle);
            }
            Some(Program::Multi { .. }) => self.free_programs.push(handle),
            None => {}
        }
    }

    /// Opens the implicit transaction before the first write of a turn.
    fn before_statement(&mut self, stmt: *mut ffi::sqlite3_stmt) -> Result<()> {
        if unsafe { ffi::sqlite3_stmt_readonly(stmt) } == 0 {
            self.begin()?;
        }
        Ok(())
    }

    /// Marks the turn as writing: opens the transaction if needed; the first write of a
    /// transaction raises `opened` (the instance closes its output gate).
    fn begin(&mut self) -> Result<()> {
        if !self.txn_open {
            self.run_internal("BEGIN DEFERRED TRANSACTION")?;
            self.txn_open = true;
        }
        if !self.dirty {
            self.dirty = true;
            self.opened = true;
        }
        Ok(())
    }

    /// KV reads share one read transaction per turn (one WAL read lock instead of one per
    /// get); it holds no write and closes no output gate, and ends with the turn.
    pub(crate) fn begin_read(&mut self) -> Result<()> {
        if !self.txn_open {
            self.run_internal("BEGIN DEFERRED TRANSACTION")?;
            self.txn_open = true;
            self.read_opened = true;
        }
        Ok(())
    }

    /// True once after a read transaction was opened (the turn must end it).
    pub fn take_read_opened(&mut self) -> bool {
        std::mem::take(&mut self.read_opened)
    }

    /// Steps `stmt` to completion for its effect, then resets it.
    fn run_to_end(&mut self, stmt: *mut ffi::sqlite3_stmt) -> Result<()> {
        self.before_statement(stmt)?;
        let db = self.raw()?;
        loop {
            let rc = unsafe { ffi::sqlite3_step(stmt) };
            match rc {
                ffi::SQLITE_ROW => continue,
                ffi::SQLITE_DONE => {
                    unsafe { ffi::sqlite3_reset(stmt) };
                    return Ok(());
                }
                _ => {
                    let e = unsafe { sql_error::from_db(db, rc) };
                    unsafe { ffi::sqlite3_reset(stmt) };
                    return Err(self.after_error(e));
                }
            }
        }
    }

    /// After a failed statement: SQLite may have ended the transaction by itself.
    fn after_error(&mut self, e: StorageError) -> StorageError {
        if self.txn_open {
            if let Ok(db) = self.raw() {
                if unsafe { ffi::sqlite3_get_autocommit(db) } != 0 {
                    self.txn_open = false;
                    self.dirty = false;
                    self.savepoints = 0;
                    self.kv_ready = false;
                }
            }
        }
        e
    }

    /// Runs program `handle` with `binds` on its last statement and passes up to
    /// `max_rows` rows to `sink`.
    pub fn execute(
        &mut self,
        handle: u32,
        binds: &[Bind<'_>],
        max_rows: u32,
        sink: Sink<'_>,
    ) -> Result<Outcome> {
        let db = self.raw()?;
        let program = match self.programs.get(handle as usize).and_then(|p| p.as_ref()) {
            Some(Program::Single { stmt, busy, .. }) => Ok((*stmt, *busy)),
            Some(Program::Multi { sql }) => Err(sql.clone()),
            None => return Err(StorageError::Message("invalid statement handle".into())),
        };
        let total_changes_before = unsafe { ffi::sqlite3_total_changes64(db) };
        let (stmt, owner) = match program {
            Ok((stmt, false)) => (stmt, Some(handle)),
            // The cached statement is held by a live cursor: run a one-off copy.
            Ok((stmt, true)) => {
                let text = unsafe { CStr::from_ptr(ffi::sqlite3_sql(stmt)) }
                    .to_bytes()
                    .to_vec();
                let (copy, _) = self.compile(&text, false)?;
                (
                    copy.ok_or_else(|| StorageError::Message(NO_STATEMENT.into()))?,
                    None,
                )
            }
            Err(sql) => {
                let last = self.run_leading(sql.as_bytes())?;
                self.last_columns = unsafe { column_names(last) };
                (last, None)
            }
        };
        let cursor = Cursor {
            stmt,
            program: owner,
            rows_returned: 0,
            total_changes_before,
        };
        if let Err(e) = unsafe { bind_all(db, stmt, binds) } {
            self.release_cursor(&cursor);
            return Err(e);
        }
        if let Err(e) = self.before_statement(stmt) {
            self.release_cursor(&cursor);
            return Err(e);
        }
        unsafe { ffi::sqlite3_stmt_status(stmt, ffi::SQLITE_STMTSTATUS_FULLSCAN_STEP, 1) };
        self.step_cursor(cursor, max_rows, sink)
    }

    /// Runs every statement of `sql` but the last; returns the last, compiled (one-off).
    fn run_leading(&mut self, sql: &[u8]) -> Result<*mut ffi::sqlite3_stmt> {
        let mut offset = 0;
        loop {
            let (stmt, consumed) = self.compile(&sql[offset..], false)?;
            offset += consumed;
            let Some(stmt) = stmt else {
                return Err(StorageError::Message(NO_STATEMENT.into()));
            };
            if is_blank(&sql[offset..]) {
                return Ok(stmt);
            }
            if unsafe { ffi::sqlite3_bind_parameter_count(stmt) } > 0 {
                unsafe { ffi::sqlite3_finalize(stmt) };
                return Err(StorageError::Message(MULTI_PARAMS.into()));
            }
            let r = self.run_to_end(stmt);
            unsafe { ffi::sqlite3_finalize(stmt) };
            r?;
        }
    }

    /// Continues an open cursor.
    pub fn cursor_next(&mut self, id: u32, max_rows: u32, sink: Sink<'_>) -> Result<Outcome> {
        let cursor = self
            .cursors
            .remove(&id)
            .ok_or_else(|| StorageError::Message("SQL cursor is closed.".into()))?;
        self.step_cursor(cursor, max_rows, sink)
    }

    fn step_cursor(
        &mut self,
        mut cursor: Cursor,
        max_rows: u32,
        sink: Sink<'_>,
    ) -> Result<Outcome> {
        let db = self.raw()?;
        let stmt = cursor.stmt;
        let width = unsafe { ffi::sqlite3_column_count(stmt) } as usize;
        let row = Row { stmt, width };
        let mut rows = 0u32;
        let finished = loop {
            if rows >= max_rows {
                break false;
            }
            let rc = unsafe { ffi::sqlite3_step(stmt) };
            match rc {
                ffi::SQLITE_ROW => {
                    if let Err(msg) = sink(&row) {
                        self.release_cursor(&cursor);
                        return Err(StorageError::Message(msg));
                    }
                    rows += 1;
                }
                ffi::SQLITE_DONE => break true,
                _ => {
                    let e = unsafe { sql_error::from_db(db, rc) };
                    self.release_cursor(&cursor);
                    return Err(self.after_error(e));
                }
            }
        };
        cursor.rows_returned += rows as u64;
        let scanned =
            unsafe { ffi::sqlite3_stmt_status(stmt, ffi::SQLITE_STMTSTATUS_FULLSCAN_STEP, 0) };
        let mut outcome = Outcome {
            rows,
            cursor: None,
            rows_read: cursor.rows_returned + scanned as u64,
            rows_written: (unsafe { ffi::sqlite3_total_changes64(db) }
                - cursor.total_changes_before)
                .max(0) as u64,
        };
        if finished {
            self.release_cursor(&cursor);
        } else {
            if let Some(h) = cursor.program {
                if let Some(Some(Program::Single { busy, .. })) = self.programs.get_mut(h as usize)
                {
                    *busy = true;
                }
            }
            self.next_cursor = self.next_cursor.wrapping_add(1);
            let id = self.next_cursor;
            self.cursors.insert(id, cursor);
            outcome.cursor = Some(id);
        }
        Ok(outcome)
    }

    fn release_cursor(&mut self, cursor: &Cursor) {
        unsafe {
            ffi::sqlite3_reset(cursor.stmt);
            ffi::sqlite3_clear_bindings(cursor.stmt);
        }
        match cursor.program {
            Some(h) => {
                if let Some(Some(Program::Single { busy, .. })) = self.programs.get_mut(h as usize)
                {
                    *busy = false;
                }
            }
            None => unsafe {
                ffi::sqlite3_finalize(cursor.stmt);
            },
        }
    }

    /// Abandons an open cursor (its JS object was collected or closed).
    pub fn cursor_close(&mut self, id: u32) {
        if let Some(cursor) = self.cursors.remove(&id) {
            self.release_cursor(&cursor);
        }
    }

    /// `sql.databaseSize`: (page_count - freelist_count) * page_size.
    pub fn database_size(&mut self) -> Result<u64> {
        let pages = self.query_i64("PRAGMA page_count")?;
        let free = self.query_i64("PRAGMA freelist_count")?;
        let size = self.query_i64("PRAGMA page_size")?;
        Ok(((pages - free).max(0) * size) as u64)
    }

    // ---------------------------------------------------------------- internal SQL

    /// A cached statement of the runtime's own (trusted: may touch `_cf_` tables).
    pub(crate) fn internal(&mut self, sql: &'static str) -> Result<*mut ffi::sqlite3_stmt> {
        if let Some(s) = self.internal.get(&(sql.as_ptr() as usize)) {
            return Ok(*s);
        }
        let db = self.raw()?;
        let mut stmt = ptr::null_mut();
        self.auth.begin_trusted();
        let rc = unsafe {
            ffi::sqlite3_prepare_v3(
                db,
                sql.as_ptr() as *const c_char,
                sql.len() as c_int,
                ffi::SQLITE_PREPARE_PERSISTENT,
                &mut stmt,
                ptr::null_mut(),
            )
        };
        self.auth.end();
        if rc != ffi::SQLITE_OK {
            return Err(unsafe { sql_error::from_db(db, rc) });
        }
        self.internal.insert(sql.as_ptr() as usize, stmt);
        Ok(stmt)
    }

    /// Steps a bound internal statement; calls `row` for each row. Resets it afterwards.
    pub(crate) fn step_internal(
        &mut self,
        stmt: *mut ffi::sqlite3_stmt,
        row: &mut dyn FnMut(&Row) -> bool,
    ) -> Result<()> {
        let db = self.raw()?;
        self.auth.begin_trusted();
        let width = unsafe { ffi::sqlite3_column_count(stmt) } as usize;
        let r = Row { stmt, width };
        let result = loop {
            match unsafe { ffi::sqlite3_step(stmt) } {
                ffi::SQLITE_ROW => {
                    if !row(&r) {
                        break Ok(());
                    }
                }
                ffi::SQLITE_DONE => break Ok(()),
                rc => break Err(unsafe { sql_error::from_db(db, rc) }),
            }
        };
        self.auth.end();
        unsafe {
            ffi::sqlite3_reset(stmt);
            ffi::sqlite3_clear_bindings(stmt);
        }
        result.map_err(|e| self.after_error(e))
    }

    /// True if `table` (as SQLite names it) is a virtual table of the main database.
    fn is_virtual_table(&mut self, table: &str) -> Result<bool> {
        self.any_row(
            "SELECT 1 FROM main.sqlite_schema WHERE type = 'table' AND name = ?1 \
             AND sql LIKE 'CREATE VIRTUAL TABLE%'",
            table,
        )
    }

    /// Whether internal query `sql`, with `?1` bound to `arg`, returns a row.
    fn any_row(&mut self, sql: &'static str, arg: &str) -> Result<bool> {
        let stmt = self.internal(sql)?;
        self.bind(stmt, &[Bind::Text(arg.into())])?;
        let mut found = false;
        self.step_internal(stmt, &mut |_| {
            found = true;
            false
        })?;
        Ok(found)
    }

    pub(crate) fn run_internal(&mut self, sql: &'static str) -> Result<()> {
        let stmt = self.internal(sql)?;
        self.step_internal(stmt, &mut |_| true)
    }

    fn query_i64(&mut self, sql: &'static str) -> Result<i64> {
        let stmt = self.internal(sql)?;
        let mut out = 0;
        self.step_internal(stmt, &mut |r| {
            if let Cell::Integer(v) = r.cell(0) {
                out = v;
            }
            false
        })?;
        Ok(out)
    }

    /// Binds parameters of an internal statement.
    pub(crate) fn bind(&mut self, stmt: *mut ffi::sqlite3_stmt, binds: &[Bind<'_>]) -> Result<()> {
        let db = self.raw()?;
        unsafe { bind_all(db, stmt, binds) }
    }

    /// Opens the implicit transaction (if needed) before an internal write.
    pub(crate) fn ensure_transaction(&mut self) -> Result<()> {
        self.begin()
    }

    pub(crate) fn kv_ready(&self) -> bool {
        self.kv_ready
    }

    pub(crate) fn set_kv_ready(&mut self, ready: bool) {
        self.kv_ready = ready;
    }

    pub(crate) fn changes(&self) -> i64 {
        self.raw()
            .map(|db| unsafe { ffi::sqlite3_changes64(db) })
            .unwrap_or(0)
    }

    // ---------------------------------------------------------------- transactions

    /// Commits the implicit transaction, if one is open and no savepoint is active.
    pub fn commit(&mut self) -> Result<()> {
        if !self.txn_open || self.savepoints > 0 {
            return Ok(());
        }
        let r = self.run_internal("COMMIT TRANSACTION");
        if r.is_ok() || unsafe { ffi::sqlite3_get_autocommit(self.raw()?) } != 0 {
            self.txn_open = false;
            self.dirty = false;
        }
        r
    }

    /// Rolls back the open transaction (savepoints included).
    pub fn rollback(&mut self) -> Result<()> {
        if !self.txn_open {
            return Ok(());
        }
        self.close_cursors();
        self.savepoints = 0;
        self.kv_ready = false;
        let r = self.run_internal("ROLLBACK TRANSACTION");
        self.txn_open = false;
        self.dirty = false;
        r
    }

    /// Opens a savepoint inside the implicit transaction; returns its depth (1-based).
    pub fn savepoint(&mut self) -> Result<u32> {
        self.ensure_transaction()?;
        let depth = self.savepoints + 1;
        self.exec_trusted(&format!("SAVEPOINT _cf_savepoint_{depth}"))?;
        self.savepoints = depth;
        Ok(depth)
    }

    pub fn release(&mut self, depth: u32) -> Result<()> {
        self.check_depth(depth)?;
        self.exec_trusted(&format!("RELEASE _cf_savepoint_{depth}"))?;
        self.savepoints = depth - 1;
        Ok(())
    }

    pub fn rollback_to(&mut self, depth: u32) -> Result<()> {
        self.check_depth(depth)?;
        self.close_cursors();
        self.kv_ready = false;
        self.exec_trusted(&format!(
            "ROLLBACK TO _cf_savepoint_{depth}; RELEASE _cf_savepoint_{depth}"
        ))?;
        self.savepoints = depth - 1;
        Ok(())
    }

    pub fn savepoint_depth(&self) -> u32 {
        self.savepoints
    }

    fn check_depth(&self, depth: u32) -> Result<()> {
        if depth == 0 || depth != self.savepoints || !self.txn_open {
            return Err(StorageError::Message(
                "Cannot end a transaction that is not the innermost open one.".into(),
            ));
        }
        Ok(())
    }

    fn exec_trusted(&mut self, sql: &str) -> Result<()> {
        let db = self.raw()?;
        let c = std::ffi::CString::new(sql).map_err(|e| StorageError::Message(e.to_string()))?;
        self.auth.begin_trusted();
        let rc =
            unsafe { ffi::sqlite3_exec(db, c.as_ptr(), None, ptr::null_mut(), ptr::null_mut()) };
        self.auth.end();
        if rc != ffi::SQLITE_OK {
            return Err(self.after_error(unsafe { sql_error::from_db(db, rc) }));
        }
        Ok(())
    }

    fn close_cursors(&mut self) {
        let open: Vec<u32> = self.cursors.keys().copied().collect();
        for id in open {
            self.cursor_close(id);
        }
    }

    // ---------------------------------------------------------------- alarm metadata

    /// The alarm time (ns since the epoch) stored in `_cf_METADATA` row 1.
    pub fn get_alarm(&mut self) -> Result<Option<i64>> {
        if !self.table_exists("_cf_METADATA")? {
            return Ok(None);
        }
        let stmt = self.internal("SELECT value FROM _cf_METADATA WHERE key = 1")?;
        let mut out = None;
        self.step_internal(stmt, &mut |r| {
            if let Cell::Integer(v) = r.cell(0) {
                out = Some(v);
            }
            false
        })?;
        Ok(out)
    }

    pub fn set_alarm(&mut self, time_ns: Option<i64>) -> Result<()> {
        self.ensure_transaction()?;
        self.run_internal(
            "CREATE TABLE IF NOT EXISTS _cf_METADATA (key INTEGER PRIMARY KEY, value BLOB)",
        )?;
        let stmt =
            self.internal("INSERT OR REPLACE INTO _cf_METADATA (key, value) VALUES (1, ?1)")?;
        match time_ns {
            Some(t) => unsafe {
                ffi::sqlite3_bind_int64(stmt, 1, t);
            },
            None => unsafe {
                ffi::sqlite3_bind_null(stmt, 1);
            },
        }
        self.step_internal(stmt, &mut |_| true)
    }

    pub(crate) fn table_exists(&mut self, name: &'static str) -> Result<bool> {
        self.any_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
            name,
        )
    }

    /// True when the database holds nothing: no user tables and no KV entries.
    pub fn is_empty(&mut self) -> Result<bool> {
        let stmt = self.internal(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('_cf_KV', '_cf_METADATA')",
        )?;
        let mut any = false;
        self.step_internal(stmt, &mut |_| {
            any = true;
            false
        })?;
        if any {
            return Ok(false);
        }
        Ok(self.kv_count()? == 0)
    }

    // ---------------------------------------------------------------- lifecycle

    fn finalize_all(&mut self) {
        self.close_cursors();
        for p in self.programs.drain(..).flatten() {
            if let Program::Single { stmt, .. } = p {
                unsafe { ffi::sqlite3_finalize(stmt) };
            }
        }
        self.free_programs.clear();
        for (_, s) in self.internal.drain() {
            unsafe { ffi::sqlite3_finalize(s) };
        }
    }

    /// Closes the connection now; later calls fail with `Closed`. Uncommitted writes are
    /// rolled back.
    pub fn close(&mut self) {
        self.finalize_all();
        self.txn_open = false;
        self.dirty = false;
        self.savepoints = 0;
        if let Some(c) = self.conn.take() {
            let _ = c.close();
        }
    }

    /// `deleteAll()`: drops the open transaction and every byte of the database, then
    /// starts over with an empty one (a new file on disk). Statement handles die.
    pub fn delete_all(&mut self) -> Result<()> {
        self.close();
        if let Location::File(path) = &self.location {
            // The one removal of a database's files (store.rs): file first, then companions.
            crate::storage::store::remove_database(path)
                .map_err(|e| StorageError::Io(e.to_string()))?;
        }
        self.conn = Some(open_connection(&self.location, self.sync_full)?);
        self.kv_ready = false;
        self.epoch += 1;
        self.secure()
    }

    /// A new in-memory database holding a copy of this one (for `facets.clone`).
    pub fn copy_to_memory(&self) -> Result<Database> {
        let copy = Database::open(Location::Memory, false)?;
        let (src, dst) = (self.raw()?, copy.raw()?);
        unsafe {
            let b = ffi::sqlite3_backup_init(dst, c"main".as_ptr(), src, c"main".as_ptr());
            if b.is_null() {
                return Err(StorageError::Message("backup could not start".into()));
            }
            ffi::sqlite3_backup_step(b, -1);
            let rc = ffi::sqlite3_backup_finish(b);
            if rc != ffi::SQLITE_OK {
                return Err(sql_error::from_db(dst, rc));
            }
        }
        Ok(copy)
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        self.close();
    }
}

fn is_blank(sql: &[u8]) -> bool {
    sql.iter().all(|b| b.is_ascii_whitespace() || *b == b';')
}

unsafe fn column_names(stmt: *mut ffi::sqlite3_stmt) -> Vec<String> {
    (0..ffi::sqlite3_column_count(stmt))
        .map(|i| {
            let p = ffi::sqlite3_column_name(stmt, i);
            if p.is_null() {
                String::new()
            } else {
                CStr::from_ptr(p).to_string_lossy().into_owned()
            }
        })
        .collect()
}

/// Binds `bytes` as TEXT (copied). They need not be valid UTF-8: `list()` bounds compare
/// bytewise under the BINARY collation.
///
/// # Safety
/// `stmt` must be a valid statement.
pub(crate) unsafe fn bind_text(stmt: *mut ffi::sqlite3_stmt, idx: c_int, bytes: &[u8]) -> c_int {
    ffi::sqlite3_bind_text64(
        stmt,
        idx,
        bytes.as_ptr() as *const c_char,
        bytes.len() as u64,
        ffi::SQLITE_TRANSIENT(),
        ffi::SQLITE_UTF8 as u8,
    )
}

unsafe fn bind_all(
    db: *mut ffi::sqlite3,
    stmt: *mut ffi::sqlite3_stmt,
    binds: &[Bind<'_>],
) -> Result<()> {
    let expected = ffi::sqlite3_bind_parameter_count(stmt) as usize;
    if expected != binds.len() {
        return Err(StorageError::Message(WRONG_BINDINGS.into()));
    }
    for (i, b) in binds.iter().enumerate() {
        let idx = (i + 1) as c_int;
        let rc = match b {
            Bind::Null => ffi::sqlite3_bind_null(stmt, idx),
            Bind::Real(v) => ffi::sqlite3_bind_double(stmt, idx, *v),
            Bind::Text(s) => bind_text(stmt, idx, s.as_bytes()),
            Bind::Blob(bytes) => ffi::sqlite3_bind_blob64(
                stmt,
                idx,
                bytes.as_ptr() as *const std::ffi::c_void,
                bytes.len() as u64,
                ffi::SQLITE_TRANSIENT(),
            ),
        };
        if rc != ffi::SQLITE_OK {
            let e = sql_error::from_db(db, rc);
            ffi::sqlite3_clear_bindings(stmt);
            return Err(e);
        }
    }
    Ok(())
}
