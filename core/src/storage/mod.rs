//! Storage: one SQLite database per object (and, later, per facet), sandboxed as workerd
//! sandboxes user SQL.

pub mod alarm_index;
pub mod allowlists;
pub mod cell;
pub mod db;
pub mod facet_index;
pub mod kv;
pub mod name_index;
pub mod offline;
pub mod placement;
pub mod sandbox;
pub mod sql_error;
pub mod sql_lexer;
pub mod store;

#[cfg(test)]
mod sandbox_props;
#[cfg(test)]
mod sandbox_tests;
#[cfg(test)]
mod tests;
