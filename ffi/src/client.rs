//! `idjag_client`: the two legs as plain calls, for hosts that do discovery and caching
//! themselves (and for replaying the shared client vectors).

use crate::boundary::{fallible, infallible};
use crate::error::idjag_error;
use crate::json::WithSecret;
use crate::json_handle::{idjag_json, JsonBox};
use crate::ptr::{self, Handle};
use crate::result::idjag_result;
use idjag::clock::ManualClock;
use idjag::http::HttpConfig;
use idjag::{IdJagRequest, RedeemRequest};
use std::ffi::c_char;
use std::sync::Arc;

/// The protocol client: leg 1 (`idjag_client_request_id_jag`, RFC 8693 token exchange at the
/// IdP) and leg 2 (`idjag_client_redeem_id_jag`, RFC 7523 jwt-bearer grant at the MCP
/// authorization server) as plain calls over one pool of HTTP connections. Most applications
/// want `idjag_session`, which does discovery, caching, renewal and challenges on top.
///
/// Thread safety: a client may be shared by any number of threads and used concurrently.
/// Free it with `idjag_client_free` once no thread uses it.
pub struct idjag_client {
    _private: [u8; 0],
}

pub(crate) struct ClientBox {
    client: idjag::Client,
}

impl Handle for idjag_client {
    type Rust = ClientBox;
}

/// Builds a client; `clock` replaces the system clock.
///
/// # Safety
/// As `idjag_client_new`.
unsafe fn new_client(
    options_json: *const c_char,
    clock: Option<i64>,
    out: *mut *mut idjag_client,
    err: *mut *mut idjag_error,
) -> idjag_result {
    let body = || {
        // SAFETY: caller's contract.
        let options = unsafe { ptr::opt_str(options_json, "options_json") }?;
        // SAFETY: caller's contract.
        let out = unsafe { ptr::out(out, "out") }?;
        let http = match options {
            Some(text) => HttpConfig::from_json(text)?,
            None => HttpConfig::default(),
        };
        let mut builder = idjag::Client::builder().http_config(http);
        if let Some(t) = clock {
            builder = builder.clock(Arc::new(ManualClock::new(t)));
        }
        let client = builder.build()?;
        out.put(ptr::into_raw::<idjag_client>(ClientBox { client }));
        Ok(())
    };
    // SAFETY: `err` is NULL or valid for a write (caller's contract).
    unsafe { fallible(err, body) }
}

/// Creates a protocol client. `options_json` may be NULL (defaults) or a JSON object with
/// the HTTP keys of the session configuration (docs/GUIDE.md, the same in every idjag
/// language): `timeout_ms` (total per request, default 30000), `connect_timeout_ms`
/// (default 5000), `read_timeout_ms` (default 10000), `ca_bundle_pem` (extra trusted roots),
/// `proxy`, `max_metadata_bytes`, `max_token_bytes`. No network I/O happens here.
///
/// # Ownership
/// `options_json` is copied. On success `*out` receives a new client: free it with
/// `idjag_client_free`.
///
/// # NULL
/// `out` must not be NULL; `options_json` and `err` may be.
///
/// # Errors
/// `IDJAG_CONFIGURATION` (bad JSON, unknown key, value out of range, bad CA bundle or proxy;
/// the message names the key, never a value), `IDJAG_NULL_PARAMETER`, `IDJAG_INVALID_UTF8`.
///
/// # Thread safety
/// Safe from any thread.
///
/// # Safety
/// `options_json` is NULL or NUL-terminated; `out` and `err` are NULL or valid for a write.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn idjag_client_new(
    options_json: *const c_char,
    out: *mut *mut idjag_client,
    err: *mut *mut idjag_error,
) -> idjag_result {
    // SAFETY: forwarded.
    unsafe { new_client(options_json, None, out, err) }
}

/// As `idjag_client_new`, with the client's clock frozen at `unix_secs` (expiry bookkeeping,
/// client-assertion times), for replaying recorded test vectors only.
///
/// # Security Warning
/// Tokens then never look expired: never use this in production.
///
/// # Ownership
/// As `idjag_client_new`.
///
/// # NULL
/// As `idjag_client_new`.
///
/// # Errors
/// As `idjag_client_new`.
///
/// # Thread safety
/// Safe from any thread.
///
/// # Safety
/// As `idjag_client_new`.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn idjag_client_new_insecure_fixed_clock(
    options_json: *const c_char,
    unix_secs: i64,
    out: *mut *mut idjag_client,
    err: *mut *mut idjag_error,
) -> idjag_result {
    // SAFETY: forwarded.
    unsafe { new_client(options_json, Some(unix_secs), out, err) }
}

/// Leg 1: exchanges the user's identity assertion at the IdP's token endpoint for an ID-JAG
/// (RFC 8693). `request_json` is the leg-1 request shape shared by every idjag language
/// (docs/GUIDE.md, "JSON shapes"): `token_endpoint`, `audience` (the authorization server's
/// issuer), `subject_token`, `subject_token_type` (`id_token` by default, `saml2`,
/// `refresh_token`, or the URN), `client` (credentials at the IdP, the shape of the session
/// configuration's `client` objects: `client_id`, `client_secret`, `auth_method`,
/// `private_key_pem`, ...), and optionally `resource`, `scope`, `issuer` (the IdP's issuer:
/// the `aud` of a `private_key_jwt` assertion; default the token endpoint URL) and
/// `auth_methods_supported` (the IdP's metadata; default: the strongest method the
/// credentials allow). `*out` receives JSON with `assertion` (the ID-JAG: a secret), then the
/// core's view of the result: `issued_token_type`, `token_type`, `expires_in`, `expires_at`,
/// `scope`, `resource`.
///
/// # Ownership
/// `request_json` is copied. On success `*out` receives a new document holding a secret:
/// free it with `idjag_json_free` (which zeroizes it) as soon as the assertion is used.
///
/// # NULL
/// `c`, `request_json` and `out` must not be NULL; `err` may be.
///
/// # Errors
/// `IDJAG_INVALID_ARGUMENT` (bad request JSON, unknown key, unusable `token_endpoint` or
/// credentials: the message names keys, never values), any
/// error of the exchange (`IDJAG_OAUTH_ERROR`, `IDJAG_RESPONSE_INVALID`, `IDJAG_TRANSPORT`,
/// `IDJAG_REAUTHENTICATION_REQUIRED`, ...), `IDJAG_NULL_PARAMETER`, `IDJAG_INVALID_UTF8`.
///
/// # Thread safety
/// Safe from any thread, concurrently.
///
/// # Safety
/// `c` is NULL or a live client; `request_json` is NULL or NUL-terminated; `out` and `err`
/// are NULL or valid for a write.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn idjag_client_request_id_jag(
    c: *const idjag_client,
    request_json: *const c_char,
    out: *mut *mut idjag_json,
    err: *mut *mut idjag_error,
) -> idjag_result {
    let body = || {
        // SAFETY: caller's contract.
        let c = unsafe { ptr::arg(c, "c") }?;
        // SAFETY: caller's contract.
        let text = unsafe { ptr::arg_str(request_json, "request_json") }?;
        // SAFETY: caller's contract.
        let out = unsafe { ptr::out(out, "out") }?;
        let req = IdJagRequest::from_json(text)?;
        let j = c.client.request_id_jag(&req)?;
        out.put(JsonBox::into_handle(&WithSecret::new(
            "assertion",
            j.assertion.expose_secret(),
            &j,
        )));
        Ok(())
    };
    // SAFETY: `err` is NULL or valid for a write (caller's contract).
    unsafe { fallible(err, body) }
}

/// Leg 2: redeems an ID-JAG at the MCP authorization server's token endpoint for an access
/// token (RFC 7523 jwt-bearer). `request_json` is the leg-2 request shape shared by every
/// idjag language (docs/GUIDE.md, "JSON shapes"): `token_endpoint`, `assertion` (the
/// ID-JAG), `client` (credentials at the authorization server), and optionally `issuer` (the
/// authorization server's issuer), `resource`, `scope`, `auth_methods_supported`. `*out`
/// receives JSON with `access_token` (a secret), then the core's view of the result:
/// `token_type`, `expires_in`, `expires_at`, `scope`, `resource`.
///
/// # Ownership
/// `request_json` is copied. On success `*out` receives a new document holding a secret:
/// free it with `idjag_json_free` (which zeroizes it).
///
/// # NULL
/// `c`, `request_json` and `out` must not be NULL; `err` may be.
///
/// # Errors
/// `IDJAG_INVALID_ARGUMENT` (bad request JSON, as for leg 1), any error of the grant (`IDJAG_OAUTH_ERROR`,
/// `IDJAG_RESPONSE_INVALID`, `IDJAG_TRANSPORT`, ...), `IDJAG_NULL_PARAMETER`,
/// `IDJAG_INVALID_UTF8`.
///
/// # Thread safety
/// Safe from any thread, concurrently.
///
/// # Safety
/// `c` is NULL or a live client; `request_json` is NULL or NUL-terminated; `out` and `err`
/// are NULL or valid for a write.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn idjag_client_redeem_id_jag(
    c: *const idjag_client,
    request_json: *const c_char,
    out: *mut *mut idjag_json,
    err: *mut *mut idjag_error,
) -> idjag_result {
    let body = || {
        // SAFETY: caller's contract.
        let c = unsafe { ptr::arg(c, "c") }?;
        // SAFETY: caller's contract.
        let text = unsafe { ptr::arg_str(request_json, "request_json") }?;
        // SAFETY: caller's contract.
        let out = unsafe { ptr::out(out, "out") }?;
        let req = RedeemRequest::from_json(text)?;
        let t = c.client.redeem_id_jag(&req)?;
        out.put(JsonBox::into_handle(&WithSecret::new(
            "access_token",
            t.access_token.expose_secret(),
            &t,
        )));
        Ok(())
    };
    // SAFETY: `err` is NULL or valid for a write (caller's contract).
    unsafe { fallible(err, body) }
}

/// Frees a client (and its pooled connections).
///
/// # NULL
/// NULL is a no-op. Must not be called twice on the same client.
///
/// # Thread safety
/// No other thread may use `c` during or after the call.
///
/// # Safety
/// `c` is NULL or a live client, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn idjag_client_free(c: *mut idjag_client) {
    // SAFETY: forwarded.
    infallible((), || unsafe { ptr::free(c) })
}
