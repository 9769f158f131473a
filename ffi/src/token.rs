//! `idjag_token`: an access token for one MCP server.

use crate::boundary::{fallible, infallible, Failure};
use crate::cstr::{lossy, opt_ptr, Lazy, LazySecret, SecretCString};
use crate::error::idjag_error;
use crate::ptr::{self, Handle};
use crate::result::idjag_result;
use idjag::{Error, ErrorKind, Step, Token};
use std::ffi::{c_char, CString};
use std::sync::OnceLock;

/// An access token for one MCP server, as returned by `idjag_session_access_token`,
/// `idjag_session_cached_token` and `idjag_session_handle_challenge`.
///
/// Immutable: safe to read from any thread. It owns a secret (the access token), zeroized by
/// `idjag_token_free`. Tokens are independent of their session: a token may outlive it.
pub struct idjag_token {
    _private: [u8; 0],
}

pub(crate) struct TokenBox {
    token: Token,
    access_token: SecretCString,
    authorization: LazySecret,
    scope: OnceLock<Option<CString>>,
    resource: Lazy,
    authorization_server: Lazy,
    json: Lazy,
}

impl Handle for idjag_token {
    type Rust = TokenBox;
}

impl TokenBox {
    /// A handle for `token`, or a `response_invalid` error for a token C cannot carry.
    pub(crate) fn into_handle(token: Token) -> Result<*mut idjag_token, Failure> {
        let access_token = SecretCString::new(token.bare_token()).ok_or_else(|| {
            Failure::from(Error::new(
                ErrorKind::ResponseInvalid,
                Step::AsGrant,
                "the access token contains a NUL byte",
            ))
        })?;
        Ok(ptr::into_raw::<idjag_token>(TokenBox {
            token,
            access_token,
            authorization: LazySecret::default(),
            scope: OnceLock::new(),
            resource: Lazy::default(),
            authorization_server: Lazy::default(),
            json: Lazy::default(),
        }))
    }
}

/// Reads a token handle; `default` for NULL.
///
/// # Safety
/// `t` is NULL or a live token.
unsafe fn with<T>(t: *const idjag_token, default: T, f: impl FnOnce(&TokenBox) -> T) -> T
where
    T: Copy,
{
    infallible(default, || {
        // SAFETY: forwarded from the caller.
        unsafe { ptr::borrow(t) }.map_or(default, f)
    })
}

/// The bare access token (what `Authorization: Bearer` carries), e.g. for SDKs that add the
/// scheme themselves. A secret: never log it.
///
/// # Ownership
/// Borrowed from `t`, valid until `idjag_token_free(t)`.
///
/// # NULL
/// Returns NULL for a NULL `t`.
///
/// # Thread safety
/// Safe from any thread.
///
/// # Safety
/// `t` is NULL or a live token.
#[no_mangle]
pub unsafe extern "C" fn idjag_token_access_token(t: *const idjag_token) -> *const c_char {
    // SAFETY: forwarded.
    unsafe { with(t, std::ptr::null(), |b| b.access_token.as_ptr()) }
}

/// The complete `Authorization` header value, scheme included: `Bearer <token>`. A secret:
/// never log it.
///
/// # Ownership
/// Borrowed from `t`, valid until `idjag_token_free(t)`.
///
/// # NULL
/// Returns NULL for a NULL `t`.
///
/// # Thread safety
/// Safe from any thread.
///
/// # Safety
/// `t` is NULL or a live token.
#[no_mangle]
pub unsafe extern "C" fn idjag_token_authorization(t: *const idjag_token) -> *const c_char {
    // SAFETY: forwarded.
    unsafe {
        with(t, std::ptr::null(), |b| {
            b.authorization
                .get(|| SecretCString::prefixed("Bearer ", &b.access_token))
        })
    }
}

/// When the token expires, in Unix seconds.
///
/// # NULL
/// Returns 0 for a NULL `t`.
///
/// # Thread safety
/// Safe from any thread.
///
/// # Safety
/// `t` is NULL or a live token.
#[no_mangle]
pub unsafe extern "C" fn idjag_token_expires_at(t: *const idjag_token) -> i64 {
    // SAFETY: forwarded.
    unsafe { with(t, 0, |b| b.token.expires_at) }
}

/// The scope granted with the token (space-separated).
///
/// # Ownership
/// Borrowed from `t`, valid until `idjag_token_free(t)`.
///
/// # NULL
/// Returns NULL when the scope is not known, or for a NULL `t`.
///
/// # Thread safety
/// Safe from any thread.
///
/// # Safety
/// `t` is NULL or a live token.
#[no_mangle]
pub unsafe extern "C" fn idjag_token_scope(t: *const idjag_token) -> *const c_char {
    // SAFETY: forwarded.
    unsafe {
        with(t, std::ptr::null(), |b| {
            opt_ptr(b.scope.get_or_init(|| b.token.scope.as_deref().map(lossy)))
        })
    }
}

/// The MCP server's resource identifier the token is audience-restricted to.
///
/// # Ownership
/// Borrowed from `t`, valid until `idjag_token_free(t)`.
///
/// # NULL
/// Returns NULL for a NULL `t`.
///
/// # Thread safety
/// Safe from any thread.
///
/// # Safety
/// `t` is NULL or a live token.
#[no_mangle]
pub unsafe extern "C" fn idjag_token_resource(t: *const idjag_token) -> *const c_char {
    // SAFETY: forwarded.
    unsafe {
        with(t, std::ptr::null(), |b| {
            b.resource.get(|| lossy(&b.token.resource))
        })
    }
}

/// The issuer of the authorization server that issued the token.
///
/// # Ownership
/// Borrowed from `t`, valid until `idjag_token_free(t)`.
///
/// # NULL
/// Returns NULL for a NULL `t`.
///
/// # Thread safety
/// Safe from any thread.
///
/// # Safety
/// `t` is NULL or a live token.
#[no_mangle]
pub unsafe extern "C" fn idjag_token_authorization_server(t: *const idjag_token) -> *const c_char {
    // SAFETY: forwarded.
    unsafe {
        with(t, std::ptr::null(), |b| {
            b.authorization_server
                .get(|| lossy(&b.token.authorization_server))
        })
    }
}

/// The token's non-secret fields as JSON: `token_type`, `expires_at`, `scope`, `resource`,
/// `authorization_server` and `id_jag_claims` (the unverified claims of the ID-JAG it was
/// redeemed from: personal data, never a secret). The access token itself is not included.
///
/// # Ownership
/// Borrowed from `t`, valid until `idjag_token_free(t)`.
///
/// # NULL
/// Returns NULL for a NULL `t`.
///
/// # Thread safety
/// Safe from any thread.
///
/// # Safety
/// `t` is NULL or a live token.
#[no_mangle]
pub unsafe extern "C" fn idjag_token_json(t: *const idjag_token) -> *const c_char {
    // SAFETY: forwarded.
    unsafe {
        with(t, std::ptr::null(), |b| {
            b.json
                .get(|| lossy(&serde_json::to_string(&b.token).unwrap_or_default()))
        })
    }
}

/// Copies the bare access token into a caller buffer, NUL-terminated, for hosts that keep it
/// in memory they own. `*written` receives the token's length in bytes without the NUL.
///
/// # Ownership
/// The caller owns `buf` (and should wipe it after use: it holds a secret).
///
/// # NULL
/// `t` and `written` must not be NULL; `buf` may be NULL when `len` is 0 (to ask for the
/// length).
///
/// # Errors
/// `IDJAG_BUFFER_TOO_SMALL` when `len` is less than the length plus one: `*written` then
/// receives the length and `buf` is not touched. `IDJAG_NULL_PARAMETER` for a NULL argument.
///
/// # Thread safety
/// Safe from any thread.
///
/// # Safety
/// `t` is NULL or a live token; `buf` is NULL or valid for `len` bytes; `written` is NULL or
/// valid for a write; `err` is NULL or valid for a write.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn idjag_token_copy_access_token(
    t: *const idjag_token,
    buf: *mut c_char,
    len: usize,
    written: *mut usize,
    err: *mut *mut idjag_error,
) -> idjag_result {
    let body = || {
        // SAFETY: `t` is NULL or a live token (caller's contract).
        let b = unsafe { ptr::arg(t, "t") }?;
        // SAFETY: `written` is NULL or valid for a write (caller's contract).
        let written = unsafe { ptr::out(written, "written") }?;
        let bytes = b.access_token.bytes();
        if len < bytes.len() + 1 {
            written.put(bytes.len());
            return Err(Failure::buffer_too_small("buf", bytes.len() + 1));
        }
        if buf.is_null() {
            return Err(Failure::null("buf"));
        }
        // SAFETY: `buf` is valid for `len` >= `bytes.len() + 1` bytes (caller's contract)
        // and cannot overlap the token's own memory.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf.cast::<u8>(), bytes.len());
            buf.add(bytes.len()).write(0);
        }
        written.put(bytes.len());
        Ok(())
    };
    // SAFETY: `err` is NULL or valid for a write (caller's contract).
    unsafe { fallible(err, body) }
}

/// Frees a token and zeroizes its secret.
///
/// # Ownership
/// Every string borrowed from `t` becomes invalid.
///
/// # NULL
/// NULL is a no-op. Must not be called twice on the same token.
///
/// # Thread safety
/// No other thread may use `t` during or after the call.
///
/// # Safety
/// `t` is NULL or a live token, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn idjag_token_free(t: *mut idjag_token) {
    // SAFETY: forwarded.
    infallible((), || unsafe { ptr::free(t) })
}
