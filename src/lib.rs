#![deny(clippy::all)]
//! durable-facets: Cloudflare-style Durable Objects with facets for Node.js.
//!
//! The core (`ids`, `inbox`, `hub`) is plain Rust and knows nothing of Node; `napi` is the
//! thin binding that converts values and maps core errors to JS errors.

pub mod error;
pub mod hub;
pub mod ids;
pub mod inbox;
pub mod storage;

mod napi;
