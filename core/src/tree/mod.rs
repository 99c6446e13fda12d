//! The object tree: what happens to facets when they are aborted, deleted, cloned over,
//! broken or restarted, decided as plain functions (`lifecycle`).

pub mod lifecycle;
