//! Diagnostics: unverified JWT inspection and `WWW-Authenticate` parsing.

use crate::boundary::fallible;
use crate::error::idjag_error;
use crate::json_handle::{idjag_json, JsonBox};
use crate::ptr;
use crate::result::idjag_result;
use idjag::challenge::ResourceChallenge;
use std::ffi::c_char;
use std::time::{SystemTime, UNIX_EPOCH};

/// Decodes a JWT (an ID-JAG, an ID token, any JWS; a JWE is recognised but not decrypted)
/// WITHOUT verifying it, for diagnostics only: never make a trust decision from it (use
/// `idjag_verifier_verify`). `*out` receives JSON with `kind` (`id_jag`, `id_token`, `jwt` or
/// `encrypted`), `header`, `claims`, `expires_at`, `issued_at`, `not_before`, `expired` (at
/// the current time) and `warnings` (expired, wrong `typ`, missing `jti`, ...). The token
/// itself and its signature are not included.
///
/// # Ownership
/// `jwt` is copied. On success `*out` receives a new document: free it with
/// `idjag_json_free`.
///
/// # NULL
/// `jwt` and `out` must not be NULL; `err` may be.
///
/// # Errors
/// `IDJAG_INVALID_ARGUMENT` for a string that is not a JWT, `IDJAG_NULL_PARAMETER`,
/// `IDJAG_INVALID_UTF8`.
///
/// # Thread safety
/// Safe from any thread.
///
/// # Safety
/// `jwt` is NULL or NUL-terminated; `out` and `err` are NULL or valid for a write.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn idjag_inspect(
    jwt: *const c_char,
    out: *mut *mut idjag_json,
    err: *mut *mut idjag_error,
) -> idjag_result {
    let body = || {
        // SAFETY: caller's contract.
        let jwt = unsafe { ptr::arg_str(jwt, "jwt") }?;
        // SAFETY: caller's contract.
        let out = unsafe { ptr::out(out, "out") }?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs().min(i64::MAX as u64) as i64);
        let inspection = idjag::jwt::inspect(jwt, now)?;
        out.put(JsonBox::into_handle(&inspection));
        Ok(())
    };
    // SAFETY: `err` is NULL or valid for a write (caller's contract).
    unsafe { fallible(err, body) }
}

/// Parses a `WWW-Authenticate` header value of an MCP server's 401/403 answer (RFC 6750,
/// RFC 9728 section 5.1) into JSON: `resource_metadata`, `scope`, `error` and
/// `error_description` (each `null` when absent), preferring the `Bearer` challenge.
/// `idjag_session_handle_challenge` does this itself; this is for logging and diagnostics.
///
/// # Ownership
/// `header` is copied. On success `*out` receives a new document: free it with
/// `idjag_json_free`.
///
/// # NULL
/// `header` and `out` must not be NULL; `err` may be.
///
/// # Errors
/// `IDJAG_NULL_PARAMETER`, `IDJAG_INVALID_UTF8`. A header without parameters is not an
/// error (every field is `null`).
///
/// # Thread safety
/// Safe from any thread.
///
/// # Safety
/// `header` is NULL or NUL-terminated; `out` and `err` are NULL or valid for a write.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn idjag_parse_www_authenticate(
    header: *const c_char,
    out: *mut *mut idjag_json,
    err: *mut *mut idjag_error,
) -> idjag_result {
    let body = || {
        // SAFETY: caller's contract.
        let header = unsafe { ptr::arg_str(header, "header") }?;
        // SAFETY: caller's contract.
        let out = unsafe { ptr::out(out, "out") }?;
        let c = ResourceChallenge::parse([header]);
        out.put(JsonBox::into_handle(&c));
        Ok(())
    };
    // SAFETY: `err` is NULL or valid for a write (caller's contract).
    unsafe { fallible(err, body) }
}
