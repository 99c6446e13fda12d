//! Errors of the core. Each has a stable `code` (it becomes `err.code` in JS) and says
//! whether JS should see it as a `TypeError` (bad input) or an `Error`.

use thiserror::Error;

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
    /// A facet index that is damaged other than by a torn last record (SPEC §5.5).
    #[error("{0}")]
    FacetIndexCorrupt(String),
    #[error("This thread does not host a Durable Object.")]
    NotHosting,
    #[error("Facet nesting depth limit exceeded. The maximum depth including the root Durable Object is 4.")]
    FacetDepth,
    #[error("This Durable Object instance was stopped.")]
    Stopped,
}

impl CoreError {
    /// Stable code for JS (`err.code`).
    pub fn code(&self) -> &'static str {
        match self {
            CoreError::IdMalformed => "ERR_DO_ID_MALFORMED",
            CoreError::IdWrongNamespace => "ERR_DO_ID_WRONG_NAMESPACE",
            CoreError::Entropy(_) => "ERR_DO_ENTROPY",
            CoreError::Disposed => "ERR_DO_DISPOSED",
            CoreError::UnknownNamespace(_) => "ERR_DO_UNKNOWN_NAMESPACE",
            CoreError::NotAttached => "ERR_DO_NOT_ATTACHED",
            CoreError::BadConfig(_) => "ERR_DO_BAD_CONFIG",
            CoreError::StorageInUse(_) => "ERR_DO_STORAGE_IN_USE",
            CoreError::Storage(_) => "ERR_DO_STORAGE",
            CoreError::FacetIndexCorrupt(_) => "ERR_DO_FACET_INDEX_CORRUPT",
            CoreError::NotHosting => "ERR_DO_NOT_HOSTING",
            CoreError::FacetDepth => "ERR_DO_FACET_DEPTH",
            CoreError::Stopped => "ERR_DO_STOPPED",
        }
    }

    /// Bad input from the user's code is a `TypeError`, as workerd reports it.
    pub fn is_type_error(&self) -> bool {
        matches!(
            self,
            CoreError::IdMalformed | CoreError::IdWrongNamespace | CoreError::BadConfig(_)
        )
    }
}
