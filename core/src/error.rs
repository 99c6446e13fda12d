//! The error taxonomy: every kind of failure the package reports has one stable code,
//! declared once here (`ErrorCode`). The binding maps core errors to JS errors with that
//! code in one function, JS takes the same table from the binding (`errorCodes()`), the
//! error envelope carries it between threads, and `index.d.ts` / the README list it (a test
//! keeps the three in step). `DataCloneError`s are the one exception: they are standard
//! `DOMException`s, identified by `name`, and keep the platform's numeric `code` (25).

use thiserror::Error;

/// Declares `ErrorCode` with its JS spelling and the table JS reads.
macro_rules! error_codes {
    ($( $(#[doc = $doc:expr])+ $variant:ident = $code:literal, )+) => {
        /// One kind of failure; `as_str()` is `err.code` in JS.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $( $(#[doc = $doc])+ $variant, )+
        }

        impl ErrorCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)+];

            /// The code as JS sees it (`ERR_DO_…`).
            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code,)+ }
            }

            /// The variant's name (the key JS uses: `codes.FacetDeleted`).
            pub fn name(self) -> &'static str {
                match self { $(ErrorCode::$variant => stringify!($variant),)+ }
            }
        }
    };
}

error_codes! {
    /// A `Runtime` option is missing, of the wrong type or out of range.
    InvalidOption = "ERR_DO_INVALID_OPTION",
    /// A bad argument to a runtime API (wrong type or shape); the message names it.
    InvalidArgument = "ERR_DO_INVALID_ARGUMENT",
    /// An API used in a state that does not allow it (a finished transaction, a stale
    /// cursor, `deleteAll()` inside a transaction).
    InvalidState = "ERR_DO_INVALID_STATE",
    /// A Cloudflare API durable-facets does not implement (jurisdictions, containers, …).
    NotSupported = "ERR_DO_NOT_SUPPORTED",
    /// The runtime was disposed; calls in flight and later calls fail with it.
    Disposed = "ERR_DO_DISPOSED",
    /// `idFromString` of a string that is not 64 hex digits.
    IdMalformed = "ERR_DO_ID_MALFORMED",
    /// An id of another namespace.
    IdWrongNamespace = "ERR_DO_ID_WRONG_NAMESPACE",
    /// A serialized RPC payload over the 32 MiB limit.
    PayloadTooLarge = "ERR_DO_PAYLOAD_TOO_LARGE",
    /// A reply to an RPC call that this thread could not decode (the cause says why).
    RpcUndecodable = "ERR_DO_RPC_UNDECODABLE",
    /// A thrown value that cannot be cloned: the caller gets an `Error` with its text.
    UncloneableThrown = "ERR_DO_UNCLONEABLE_THROWN",
    /// The callee has no such RPC method.
    MethodNotFound = "ERR_DO_METHOD_NOT_FOUND",
    /// `fetch()` on an object or entry point without a `fetch()` handler.
    NoFetchHandler = "ERR_DO_NO_FETCH_HANDLER",
    /// A user module failed to load (syntax error, throw at top level, missing export).
    ModuleLoad = "ERR_DO_MODULE_LOAD",
    /// An import of a module that does not exist (file, package, or loader module name).
    ModuleNotFound = "ERR_DO_MODULE_NOT_FOUND",
    /// An import of a `cloudflare:` module other than `cloudflare:workers`.
    UnsupportedModule = "ERR_DO_UNSUPPORTED_MODULE",
    /// A configured class name that the module does not export.
    ClassNotExported = "ERR_DO_CLASS_NOT_EXPORTED",
    /// An exported class used as a Durable Object that does not extend `DurableObject`.
    NotDurableObject = "ERR_DO_NOT_DURABLE_OBJECT",
    /// A module export workerd would refuse (not a class or handler).
    InvalidExport = "ERR_DO_INVALID_EXPORT",
    /// The instance called `ctx.abort()` without a reason of its own.
    Aborted = "ERR_DO_ABORTED",
    /// `blockConcurrencyWhile()` ran longer than 30 s.
    BlockConcurrencyTimeout = "ERR_DO_BLOCK_CONCURRENCY_TIMEOUT",
    /// A hibernatable WebSocket handler ran past `ctx.setHibernatableWebSocketEventTimeout()`.
    EventTimeout = "ERR_DO_EVENT_TIMEOUT",
    /// One synchronous run exceeded `cpuTimeoutMs`.
    CpuLimit = "ERR_DO_CPU_LIMIT",
    /// The instance's thread exceeded `memoryLimitMb`.
    MemoryLimit = "ERR_DO_MEMORY_LIMIT",
    /// The instance's thread ended (exit, crash) while calls were addressed to it.
    ThreadExited = "ERR_DO_THREAD_EXITED",
    /// A facet name outside the rules of SPEC §5.1.
    FacetName = "ERR_DO_FACET_NAME",
    /// `facets.get()` deeper than 4 levels counting the root.
    FacetDepth = "ERR_DO_FACET_DEPTH",
    /// `facets.get()` startup options without a valid `class` (a namespace binding from `env`
    /// included: it names what to pass instead).
    FacetClass = "ERR_DO_FACET_CLASS",
    /// Calls through a stub of a facet that was deleted.
    FacetDeleted = "ERR_DO_FACET_DELETED",
    /// Calls through a stub of a facet that was cloned over.
    FacetClonedOver = "ERR_DO_FACET_CLONED_OVER",
    /// Calls through a stub of a facet restarted with new startup options.
    FacetRestarted = "ERR_DO_FACET_RESTARTED",
    /// A call or storage use from code still running in an instance that was stopped
    /// (aborted, deleted, evicted) while its thread ends.
    Stopped = "ERR_DO_STOPPED",
    /// A call through an RPC reference (a function or `RpcTarget` stub, SPEC §2.2) whose
    /// owner instance stopped, or through a reference that was disposed.
    ReferenceGone = "ERR_DO_REFERENCE_GONE",
    /// A facet tried to set an alarm.
    FacetAlarm = "ERR_DO_FACET_ALARM",
    /// `setAlarm()` on a class without an `alarm()` handler.
    NoAlarmHandler = "ERR_DO_NO_ALARM_HANDLER",
    /// An error reported by SQLite (`sqliteCode` says which), in workerd's format.
    Sql = "ERR_DO_SQL",
    /// A SQLite error after which the transaction may be gone; the instance breaks.
    SqlCritical = "ERR_DO_SQL_CRITICAL",
    /// `cursor.one()` on a result without exactly one row.
    SqlOne = "ERR_DO_SQL_ONE",
    /// Storage used after the instance lost it (abort, delete, dispose).
    StorageClosed = "ERR_DO_STORAGE_CLOSED",
    /// A storage directory already locked by another runtime.
    StorageInUse = "ERR_DO_STORAGE_IN_USE",
    /// A file-system failure of the storage (open, write, rename, delete).
    Storage = "ERR_DO_STORAGE",
    /// A facet index (`<id>.facets`) damaged anywhere but a torn tail.
    FacetIndexCorrupt = "ERR_DO_FACET_INDEX_CORRUPT",
    /// The namespace's alarm index (`metadata.sqlite`) cannot be used.
    AlarmIndex = "ERR_DO_ALARM_INDEX",
    /// The native addon could not be loaded.
    NativeBinding = "ERR_DO_NATIVE_BINDING",
    /// A Rust panic inside the addon (a bug), reported instead of crashing.
    Panic = "ERR_DO_PANIC",
    /// A defect inside the runtime (an invariant broke); please report it.
    Internal = "ERR_DO_INTERNAL",
}

/// Errors of the core. Each has an `ErrorCode` and says whether JS should see it as a
/// `TypeError` (bad input) or an `Error`.

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CoreError {
    #[error("Invalid Durable Object ID: must be 64 hex digits")]
    IdMalformed,
    #[error("Durable Object ID is not valid for this namespace.")]
    IdWrongNamespace,
    #[error("could not read random bytes from the OS: {0}")]
    Entropy(String),
    #[error("The Durable Object runtime has been disposed.")]
    Disposed,
    #[error("unknown namespace index {0}")]
    UnknownNamespace(u32),
    #[error("this thread is not attached to the durable-facets core")]
    NotAttached,
    #[error("invalid runtime configuration: {0}")]
    BadConfig(String),
    #[error("Storage directory {0} is in use.")]
    StorageInUse(String),
    #[error("{0}")]
    Storage(String),
    /// The namespace's alarm index (`metadata.sqlite`) is unusable; the text names the file.
    #[error("{0}")]
    AlarmIndex(String),
    /// A facet index that is damaged other than by a torn last record (SPEC §5.5).
    #[error("{0}")]
    FacetIndexCorrupt(String),
    #[error("This thread does not host a Durable Object.")]
    NotHosting,
    #[error("Facet nesting depth limit exceeded. The maximum depth including the root Durable Object is 4.")]
    FacetDepth,
    #[error("This Durable Object instance was stopped.")]
    Stopped,
    /// A method name carrying the mark of calls through references, on another call.
    #[error("This method name is reserved for calls through RPC references.")]
    ReservedMethod,
    /// The owner of an RPC reference stopped: what it exported is gone with it.
    #[error("{REFERENCE_GONE_MESSAGE}")]
    ReferenceGone,
    /// workerd's text (legacy-hibernation-manager.c++).
    #[error("only 32768 websockets can be accepted on a single Durable Object instance")]
    SocketLimit,
}

/// Calls through a reference whose owner stopped (workerd's text for a capability whose
/// execution context is gone).
pub const REFERENCE_GONE_MESSAGE: &str =
    "The execution context which hosts this callback is no longer running.";

impl CoreError {
    /// Its kind (`err.code` in JS).
    pub fn code(&self) -> ErrorCode {
        match self {
            CoreError::IdMalformed => ErrorCode::IdMalformed,
            CoreError::IdWrongNamespace => ErrorCode::IdWrongNamespace,
            CoreError::Entropy(_) => ErrorCode::Internal,
            CoreError::Disposed => ErrorCode::Disposed,
            CoreError::UnknownNamespace(_) => ErrorCode::Internal,
            CoreError::NotAttached => ErrorCode::Internal,
            CoreError::BadConfig(_) => ErrorCode::InvalidOption,
            CoreError::StorageInUse(_) => ErrorCode::StorageInUse,
            CoreError::Storage(_) => ErrorCode::Storage,
            CoreError::AlarmIndex(_) => ErrorCode::AlarmIndex,
            CoreError::FacetIndexCorrupt(_) => ErrorCode::FacetIndexCorrupt,
            CoreError::NotHosting => ErrorCode::Internal,
            CoreError::FacetDepth => ErrorCode::FacetDepth,
            CoreError::Stopped => ErrorCode::Stopped,
            CoreError::ReferenceGone => ErrorCode::ReferenceGone,
            CoreError::ReservedMethod => ErrorCode::MethodNotFound,
            CoreError::SocketLimit => ErrorCode::InvalidState,
        }
    }

    /// Bad input from the user's code is a `TypeError`, as workerd reports it.
    pub fn is_type_error(&self) -> bool {
        matches!(
            self,
            CoreError::IdMalformed
                | CoreError::IdWrongNamespace
                | CoreError::BadConfig(_)
                | CoreError::ReservedMethod
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_and_prefixed() {
        let mut seen = HashSet::new();
        for code in ErrorCode::ALL {
            assert!(code.as_str().starts_with("ERR_DO_"), "{}", code.as_str());
            assert!(seen.insert(code.as_str()), "duplicate {}", code.as_str());
        }
    }
}
