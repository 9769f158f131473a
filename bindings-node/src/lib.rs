//! `idjag` for Node.js: the napi-rs addon behind the npm package (STYLE §4 items 21, 27, 41,
//! 46, 52). Thin by design: argument conversion, error mapping, thread handling. Every OAuth
//! decision lives in the `idjag` core.
//!
//! - Network work runs on the libuv thread pool and returns a Promise (`task.rs`); a cached
//!   token is answered on the event loop.
//! - Every throw and rejection is an `IdjagError` with the shared `code` (`errors.rs`).
//! - Results holding secrets are classes whose token is read through an explicit getter;
//!   `util.inspect`, `JSON.stringify` and `String()` never show it.
//! - Every conversion of a core value to JavaScript is in `convert.rs`.
// `deny`, not `forbid`: the napi-derive expansions carry their own `#[allow(unsafe_code)]`;
// no hand-written code here uses `unsafe`.
#![deny(unsafe_code)]
// napi-derive registers the exports only outside `cfg(test)`; the unit tests see them unused.
#![cfg_attr(test, allow(dead_code))]

mod args;
mod client;
mod convert;
mod errors;
mod events;
mod inspect;
mod session;
mod task;
mod verify;

use napi::bindgen_prelude::{Object, Unknown};
use napi::{Env, Result};
use napi_derive::napi;

/// The package version (the workspace version).
#[napi]
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Every error code of the core, in declaration order (`ErrorKind::ALL`).
#[napi(ts_return_type = "ErrorCode[]")]
pub fn error_codes() -> Vec<&'static str> {
    idjag::ErrorKind::ALL.iter().map(|k| k.code()).collect()
}

/// Every protocol step name an error can carry (`Step::ALL`).
#[napi(ts_return_type = "ErrorStep[]")]
pub fn step_codes() -> Vec<&'static str> {
    idjag::Step::ALL.iter().map(|s| s.code()).collect()
}

/// Every action an error can suggest (`Action::ALL`).
#[napi(ts_return_type = "ErrorAction[]")]
pub fn action_codes() -> Vec<&'static str> {
    idjag::Action::ALL.iter().map(|a| a.code()).collect()
}

/// Rejects with an `internal` `IdjagError` from a deliberate Rust panic on the libuv pool
/// (tests the panic guard). Not part of the API.
#[napi(js_name = "_panicForTests", ts_return_type = "Promise<never>")]
pub fn panic_for_tests(env: &Env) -> Result<Unknown<'_>> {
    task::spawn(
        env,
        "_panicForTests",
        None,
        None,
        || -> idjag::Result<()> { panic!("deliberate panic for the panic-guard test") },
        |()| (),
    )
}

#[napi(module_exports)]
pub fn init(mut exports: Object, env: Env) -> Result<()> {
    errors::init(&env, &mut exports)
}
