//! # idjag-ffi: the C ABI of idjag (`libidjag`, `include/idjag.h`)
//!
//! C and C++ MCP clients and authorization servers link `libidjag` and include
//! `include/idjag.h` (generated from this crate by `scripts/gen-header.sh` with a pinned
//! cbindgen; `include/idjag.hpp` adds RAII wrappers for C++). This is the only crate of the
//! workspace with `unsafe` code. Every function follows the same conventions, which the header
//! repeats:
//!
//! - **Names**: every symbol and type starts with `idjag_`, every macro and enum value with
//!   `IDJAG_`. A function named `idjag_<type>_<verb>` takes that handle first.
//! - **Results**: every fallible function returns an [`idjag_result`]: `IDJAG_OK` (0), one of
//!   the core's stable error numbers (1–16, `idjag_result_code` gives the snake_case code
//!   shared with Rust, Python, Node and the CLI), or a C-only result (100–103: NULL argument,
//!   invalid UTF-8, buffer too small, panic).
//! - **Errors**: the last parameter `idjag_error **err` may be NULL; when it is not and the
//!   call fails, `*err` receives a new error object (free it with `idjag_error_free`) with the
//!   code, step, action, message and server details. `*err` is not touched on success.
//! - **Outputs** are written only on success; on failure every output keeps its value.
//! - **Handles** (`idjag_session`, `idjag_verifier`, `idjag_client`, `idjag_token`,
//!   `idjag_error`, `idjag_json`) are opaque, created and freed only by the library. Every `_free` accepts
//!   NULL and must be called exactly once per handle. Handles holding secrets zeroize them when
//!   freed.
//! - **Strings in** are NUL-terminated UTF-8, copied before the call returns, never retained.
//! - **Strings out** are borrowed, NUL-terminated views valid until their handle is freed;
//!   never pass them to `free()`.
//! - **Panics** never cross the boundary: every export runs inside `catch_unwind`, and a panic
//!   becomes `IDJAG_PANIC` (or NULL / 0 for accessors). Nothing reachable from caller input
//!   aborts the host process.
//! - **Threads**: sessions, verifiers and clients may be shared by any number of threads; tokens,
//!   errors and JSON documents are immutable and may be read from any thread.
//!
//! JSON documents are the core's own serializations of its values, the same in every idjag
//! language; the module `json` holds what C adds (a leg's secret, the `type` of callback
//! documents, the parameters of a challenge).
#![allow(non_camel_case_types)]
#![deny(
    unsafe_op_in_unsafe_fn,
    clippy::undocumented_unsafe_blocks,
    missing_docs
)]

mod boundary;
mod client;
mod cstr;
mod error;
mod inspect;
mod json;
mod json_handle;
mod ptr;
mod result;
mod session;
mod token;
mod verifier;
mod version;

pub use client::*;
pub use error::*;
pub use inspect::*;
pub use json_handle::*;
pub use result::*;
pub use session::*;
pub use token::*;
pub use verifier::*;
pub use version::*;
