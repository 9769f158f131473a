//! `inspect(jwt)` and `parseWwwAuthenticate(header)`: offline helpers.

use crate::args;
use crate::convert;
use crate::session::sync;
use idjag::challenge::ResourceChallenge;
use napi::bindgen_prelude::Unknown;
use napi::{Env, JsValue, Result};
use napi_derive::napi;
use std::time::{SystemTime, UNIX_EPOCH};

/// Decodes a JWT without verifying it (diagnostics only: never make a trust decision from
/// it). The result holds the header and claims, never the token or its signature.
/// `options.now` (Unix seconds, default: the current time) decides `expired`.
#[napi(
    ts_args_type = "jwt: string, options?: { now?: number }",
    ts_return_type = "Inspection"
)]
pub fn inspect(env: Env, jwt: Unknown, options: Option<Unknown>) -> Result<serde_json::Value> {
    let jwt = args::string(&env, jwt, "jwt")?;
    let options = args::opt_object(&env, options, "options")?;
    let now = args::opt_int(&env, options.as_ref(), "now", i64::MIN / 2, i64::MAX / 2)?;
    let now = now.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    });
    let i = sync(&env, "inspect", || idjag::jwt::inspect(&jwt, now))?;
    Ok(convert::to_js(&i))
}

/// Parses `WWW-Authenticate` header values (one per header line) into the parameters of the
/// Bearer challenge (RFC 6750 / RFC 9728).
#[napi(
    ts_args_type = "headers: string | string[]",
    ts_return_type = "ResourceChallenge"
)]
pub fn parse_www_authenticate(env: Env, headers: Unknown) -> Result<serde_json::Value> {
    let values = if headers.is_array()? {
        args::strings(&env, headers, "headers")?.unwrap_or_default()
    } else {
        vec![args::string(&env, headers, "headers")?]
    };
    let c = ResourceChallenge::parse(values.iter().map(String::as_str));
    Ok(convert::to_js(&c))
}
