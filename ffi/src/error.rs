//! `idjag_error`: what went wrong, with the same fields in every idjag language.

use crate::boundary::{infallible, Failure};
use crate::cstr::{lossy, opt_ptr};
use crate::ptr::{self, Handle};
use crate::result::idjag_result;
use std::ffi::{c_char, CString};

/// An error: its code (shared by every idjag language), the protocol step that failed, what
/// the caller should do, a message safe to log, and the server's OAuth error if there was one.
///
/// Made by a failed call when its `err` argument is not NULL; free it with
/// `idjag_error_free`. Immutable: safe to read from any thread. Never contains a token,
/// secret or assertion.
pub struct idjag_error {
    _private: [u8; 0],
}

pub(crate) struct ErrorBox {
    pub(crate) error: idjag::Error,
    result: idjag_result,
    status: u16,
    code: CString,
    step: CString,
    action: CString,
    message: CString,
    oauth_error: Option<CString>,
    error_description: Option<CString>,
    error_uri: Option<CString>,
    reason: Option<CString>,
    json: CString,
}

impl Handle for idjag_error {
    type Rust = ErrorBox;
}

impl ErrorBox {
    pub(crate) fn new(f: Failure) -> ErrorBox {
        let e = &f.error;
        let oauth = e.oauth_error();
        ErrorBox {
            error: f.error.clone(),
            result: f.result,
            status: e.status().unwrap_or(0),
            code: lossy(e.code()),
            step: lossy(e.step().code()),
            action: lossy(e.action().code()),
            message: lossy(&e.to_string()),
            oauth_error: oauth.map(|o| lossy(o.error.as_str())),
            error_description: oauth.and_then(|o| o.error_description.as_deref().map(lossy)),
            error_uri: oauth.and_then(|o| o.error_uri.as_deref().map(lossy)),
            reason: e.reason().map(lossy),
            json: lossy(&e.to_json()),
        }
    }
}

/// Reads a field of an error handle; `default` for NULL.
///
/// # Safety
/// `e` is NULL or a live `idjag_error`.
unsafe fn field<T>(e: *const idjag_error, default: T, f: impl FnOnce(&ErrorBox) -> T) -> T
where
    T: Copy,
{
    infallible(default, || {
        // SAFETY: forwarded from the caller.
        match unsafe { ptr::borrow(e) } {
            Some(b) => f(b),
            None => default,
        }
    })
}

/// The `idjag_result` of the call that made this error.
///
/// # NULL
/// Returns `IDJAG_NULL_PARAMETER` for a NULL `e`.
///
/// # Thread safety
/// Safe from any thread.
///
/// # Safety
/// `e` is NULL or a live error.
#[no_mangle]
pub unsafe extern "C" fn idjag_error_result(e: *const idjag_error) -> idjag_result {
    // SAFETY: forwarded.
    unsafe { field(e, idjag_result::IDJAG_NULL_PARAMETER, |b| b.result) }
}

/// The error code shared by every idjag language: `invalid_argument`, `configuration`,
/// `transport`, `timeout`, `http_status`, `oauth_error`, `response_invalid`,
/// `response_too_large`, `insecure_url`, `redirect_refused`, `issuer_mismatch`,
/// `resource_mismatch`, `not_supported`, `reauthentication_required`, `verification_failed`
/// or `internal`. C-only results carry the code of their kind (`invalid_argument` for NULL,
/// UTF-8 and buffer errors, `internal` for a caught panic); `idjag_error_result` tells them
/// apart.
///
/// # Ownership
/// Borrowed from `e`, valid until `idjag_error_free(e)`.
///
/// # NULL
/// Returns NULL for a NULL `e`.
///
/// # Thread safety
/// Safe from any thread.
///
/// # Safety
/// `e` is NULL or a live error.
#[no_mangle]
pub unsafe extern "C" fn idjag_error_code(e: *const idjag_error) -> *const c_char {
    // SAFETY: forwarded.
    unsafe { field(e, std::ptr::null(), |b| b.code.as_ptr()) }
}

/// A description of the error, safe to log (never a secret or a response body): the step,
/// idjag's message, the server's `error_description` and the HTTP status when there are any.
///
/// # Ownership
/// Borrowed from `e`, valid until `idjag_error_free(e)`.
///
/// # NULL
/// Returns NULL for a NULL `e`.
///
/// # Thread safety
/// Safe from any thread.
///
/// # Safety
/// `e` is NULL or a live error.
#[no_mangle]
pub unsafe extern "C" fn idjag_error_message(e: *const idjag_error) -> *const c_char {
    // SAFETY: forwarded.
    unsafe { field(e, std::ptr::null(), |b| b.message.as_ptr()) }
}

/// The protocol step that failed: `config`, `discovery`, `idp_exchange`, `idp_refresh`,
/// `as_grant`, `resource`, `verify` or `transport`.
///
/// # Ownership
/// Borrowed from `e`, valid until `idjag_error_free(e)`.
///
/// # NULL
/// Returns NULL for a NULL `e`.
///
/// # Thread safety
/// Safe from any thread.
///
/// # Safety
/// `e` is NULL or a live error.
#[no_mangle]
pub unsafe extern "C" fn idjag_error_step(e: *const idjag_error) -> *const c_char {
    // SAFETY: forwarded.
    unsafe { field(e, std::ptr::null(), |b| b.step.as_ptr()) }
}

/// What the caller should do: `reauthenticate` (sign the user in again, then
/// `idjag_session_set_subject_token`), `reconfigure` (fix configuration or registration),
/// `retry` (later, with backoff) or `denied` (by policy; retrying will not help).
///
/// # Ownership
/// Borrowed from `e`, valid until `idjag_error_free(e)`.
///
/// # NULL
/// Returns NULL for a NULL `e`.
///
/// # Thread safety
/// Safe from any thread.
///
/// # Safety
/// `e` is NULL or a live error.
#[no_mangle]
pub unsafe extern "C" fn idjag_error_action(e: *const idjag_error) -> *const c_char {
    // SAFETY: forwarded.
    unsafe { field(e, std::ptr::null(), |b| b.action.as_ptr()) }
}

/// The server's OAuth `error` (RFC 6749 section 5.2: `invalid_grant`, `invalid_client`, ...,
/// or any extension value), for `oauth_error` errors.
///
/// # Ownership
/// Borrowed from `e`, valid until `idjag_error_free(e)`.
///
/// # NULL
/// Returns NULL when the server sent none, or for a NULL `e`.
///
/// # Thread safety
/// Safe from any thread.
///
/// # Safety
/// `e` is NULL or a live error.
#[no_mangle]
pub unsafe extern "C" fn idjag_error_oauth_error(e: *const idjag_error) -> *const c_char {
    // SAFETY: forwarded.
    unsafe { field(e, std::ptr::null(), |b| opt_ptr(&b.oauth_error)) }
}

/// The server's `error_description` (at most 256 bytes, control characters removed, every
/// secret of the failed request scrubbed).
///
/// # Ownership
/// Borrowed from `e`, valid until `idjag_error_free(e)`.
///
/// # NULL
/// Returns NULL when the server sent none, or for a NULL `e`.
///
/// # Thread safety
/// Safe from any thread.
///
/// # Safety
/// `e` is NULL or a live error.
#[no_mangle]
pub unsafe extern "C" fn idjag_error_description(e: *const idjag_error) -> *const c_char {
    // SAFETY: forwarded.
    unsafe { field(e, std::ptr::null(), |b| opt_ptr(&b.error_description)) }
}

/// The server's `error_uri`.
///
/// # Ownership
/// Borrowed from `e`, valid until `idjag_error_free(e)`.
///
/// # NULL
/// Returns NULL when the server sent none, or for a NULL `e`.
///
/// # Thread safety
/// Safe from any thread.
///
/// # Safety
/// `e` is NULL or a live error.
#[no_mangle]
pub unsafe extern "C" fn idjag_error_uri(e: *const idjag_error) -> *const c_char {
    // SAFETY: forwarded.
    unsafe { field(e, std::ptr::null(), |b| opt_ptr(&b.error_uri)) }
}

/// The HTTP status of the response that caused the error.
///
/// # NULL
/// Returns 0 when no response was involved, or for a NULL `e`.
///
/// # Thread safety
/// Safe from any thread.
///
/// # Safety
/// `e` is NULL or a live error.
#[no_mangle]
pub unsafe extern "C" fn idjag_error_status(e: *const idjag_error) -> u16 {
    // SAFETY: forwarded.
    unsafe { field(e, 0, |b| b.status) }
}

/// Why the verifier rejected an ID-JAG (`verification_failed` errors): a stable reason such
/// as `expired`, `replayed`, `bad_signature`, `audience_mismatch`, `untrusted_issuer`, ...
///
/// # Ownership
/// Borrowed from `e`, valid until `idjag_error_free(e)`.
///
/// # NULL
/// Returns NULL for errors without a reason, or for a NULL `e`.
///
/// # Thread safety
/// Safe from any thread.
///
/// # Safety
/// `e` is NULL or a live error.
#[no_mangle]
pub unsafe extern "C" fn idjag_error_reason(e: *const idjag_error) -> *const c_char {
    // SAFETY: forwarded.
    unsafe { field(e, std::ptr::null(), |b| opt_ptr(&b.reason)) }
}

/// The whole error as one JSON object, the same in every idjag language (the core's JSON
/// view of its error, docs/GUIDE.md): `code`, `number` (the `idjag_result` of the code; for
/// C-only results the number of their kind), `step`, `action`, `message` (idjag's text
/// without the step prefix, server description and status that `idjag_error_message` adds),
/// `status`, `oauth_error`, `error_description`, `error_uri`, `reason` (absent values are
/// `null`).
///
/// # Ownership
/// Borrowed from `e`, valid until `idjag_error_free(e)`.
///
/// # NULL
/// Returns NULL for a NULL `e`.
///
/// # Thread safety
/// Safe from any thread.
///
/// # Safety
/// `e` is NULL or a live error.
#[no_mangle]
pub unsafe extern "C" fn idjag_error_json(e: *const idjag_error) -> *const c_char {
    // SAFETY: forwarded.
    unsafe { field(e, std::ptr::null(), |b| b.json.as_ptr()) }
}

/// Frees an error.
///
/// # Ownership
/// Every string borrowed from `e` becomes invalid.
///
/// # NULL
/// NULL is a no-op. Must not be called twice on the same error.
///
/// # Thread safety
/// No other thread may use `e` during or after the call.
///
/// # Safety
/// `e` is NULL or a live error, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn idjag_error_free(e: *mut idjag_error) {
    // SAFETY: forwarded.
    infallible((), || unsafe { ptr::free(e) })
}
