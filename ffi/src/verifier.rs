//! `idjag_verifier`: the authorization-server side (verify presented ID-JAGs).

use crate::boundary::{fallible, infallible};
use crate::cstr::lossy;
use crate::error::idjag_error;
use crate::json_handle::{idjag_json, JsonBox};
use crate::ptr::{self, Handle};
use crate::result::idjag_result;
use idjag::clock::{ManualClock, SharedClock};
use idjag::verify::token_error_response;
use idjag::{IdJagVerifier, VerifierConfig};
use std::ffi::{c_char, CString};
use std::sync::Arc;

/// Verifies ID-JAGs for one MCP authorization server: signature through the trusted IdPs'
/// JWK Sets (fetched, cached, rotation-aware), `typ`, `iss`, `aud`, `client_id`, `resource`,
/// lifetime, and single-use `jti` (in memory, or in Redis across replicas).
///
/// Thread safety: a verifier may be shared by any number of threads and used concurrently
/// (build one at startup); no lock is held during network I/O. Free it with
/// `idjag_verifier_free` once no thread uses it.
pub struct idjag_verifier {
    _private: [u8; 0],
}

pub(crate) struct VerifierBox {
    verifier: IdJagVerifier,
    issuer: CString,
}

impl Handle for idjag_verifier {
    type Rust = VerifierBox;
}

/// Builds a verifier; `clock` replaces the system clock.
///
/// # Safety
/// As `idjag_verifier_new`.
unsafe fn new_verifier(
    config_json: *const c_char,
    clock: Option<SharedClock>,
    out: *mut *mut idjag_verifier,
    err: *mut *mut idjag_error,
) -> idjag_result {
    let body = || {
        // SAFETY: caller's contract.
        let config = unsafe { ptr::arg_str(config_json, "config_json") }?;
        // SAFETY: caller's contract.
        let out = unsafe { ptr::out(out, "out") }?;
        let config = VerifierConfig::from_json(config)?;
        let mut builder = IdJagVerifier::builder(config);
        if let Some(clock) = clock {
            let client = idjag::Client::builder().clock(clock.clone()).build()?;
            builder = builder.clock(clock).client(client);
        }
        let verifier = builder.build()?;
        let issuer = lossy(verifier.issuer());
        out.put(ptr::into_raw::<idjag_verifier>(VerifierBox {
            verifier,
            issuer,
        }));
        Ok(())
    };
    // SAFETY: `err` is NULL or valid for a write (caller's contract).
    unsafe { fallible(err, body) }
}

/// Creates a verifier from its JSON configuration (the same shape in every idjag language,
/// described in docs/GUIDE.md): `issuer` (this authorization server, the only accepted
/// `aud`), `resources`, `trusted_idps` (each with `issuer` and `jwks_uri`, a static `jwks`, or
/// neither to discover the JWKS), and optionally `default_resource`, `missing_resource`,
/// `default_scope`, `client_scopes`, `algorithms`, `clock_skew_s`, `max_age_s`,
/// `max_lifetime_s`, `max_assertion_bytes`, `jwks_cache_ttl_s`, `jwks_refetch_interval_s`,
/// `replay`. Unknown keys are errors. No network I/O happens here (see
/// `idjag_verifier_prefetch_keys`).
///
/// Replay: by default each verifier records used `jti`s in its own memory (`replay`:
/// `{"memory_capacity": 100000}`). Authorization servers with several replicas or processes
/// share one Redis instead: `"replay": {"redis_url": "redis://host:6379/0"}` (optionally
/// `key_prefix`, default `idjag:jti:`, and `redis_timeout_ms`, default 2000); every verifier
/// configured with the same Redis and prefix accepts an ID-JAG at most once. The URL may hold
/// a password: it is treated as a secret. When Redis cannot be reached, verification fails
/// closed (a transport-class result: answer 503), never accepts. libidjag is always built
/// with Redis support.
///
/// # Ownership
/// `config_json` is copied. On success `*out` receives a new verifier: free it with
/// `idjag_verifier_free`.
///
/// # NULL
/// `config_json` and `out` must not be NULL; `err` may be.
///
/// # Errors
/// `IDJAG_CONFIGURATION` (the message names the key), `IDJAG_NULL_PARAMETER`,
/// `IDJAG_INVALID_UTF8`.
///
/// # Thread safety
/// Safe from any thread.
///
/// # Safety
/// `config_json` is NULL or NUL-terminated; `out` and `err` are NULL or valid for a write.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn idjag_verifier_new(
    config_json: *const c_char,
    out: *mut *mut idjag_verifier,
    err: *mut *mut idjag_error,
) -> idjag_result {
    // SAFETY: forwarded.
    unsafe { new_verifier(config_json, None, out, err) }
}

/// As `idjag_verifier_new`, with the verifier's clock frozen at `unix_secs` (for replaying
/// recorded test vectors only).
///
/// # Security Warning
/// A frozen clock accepts expired ID-JAGs forever: never use this in production.
///
/// # Ownership
/// As `idjag_verifier_new`.
///
/// # NULL
/// As `idjag_verifier_new`.
///
/// # Errors
/// As `idjag_verifier_new`.
///
/// # Thread safety
/// Safe from any thread.
///
/// # Safety
/// As `idjag_verifier_new`.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn idjag_verifier_new_insecure_fixed_clock(
    config_json: *const c_char,
    unix_secs: i64,
    out: *mut *mut idjag_verifier,
    err: *mut *mut idjag_error,
) -> idjag_result {
    let clock: SharedClock = Arc::new(ManualClock::new(unix_secs));
    // SAFETY: forwarded.
    unsafe { new_verifier(config_json, Some(clock), out, err) }
}

/// Verifies `assertion` (the `assertion` of a jwt-bearer grant request, RFC 7523) presented
/// by the already authenticated client `client_id`, with the request's `scope` if any. On
/// success the `jti` is recorded as used (a second presentation is rejected as `replayed`)
/// and `*grant_out` receives what may be granted, as JSON: `iss`, `sub`, `client_id`,
/// `resource` (array, never empty), `resource_defaulted`, `scope` (the scope to put in the
/// access token, or `null` to grant none: the ID-JAG's `scope` claim, or the configured
/// `default_scope` when it has none, capped by the client's `client_scopes` entry and
/// intersected with the requested `scope`; docs/GUIDE.md), `scope_source` (`id_jag`,
/// `default_scope` or `no_statement`: an ID-JAG without a `scope` claim and no
/// `default_scope` grants nothing), `exp`, `iat`, `jti`, `claims` (every claim: personal data,
/// never a secret). A requested scope that cannot be granted is rejected with the reason
/// `scope_not_granted`.
///
/// # Ownership
/// The strings are copied. On success `*grant_out` receives a new document: free it with
/// `idjag_json_free`.
///
/// # NULL
/// `v`, `assertion`, `client_id` and `grant_out` must not be NULL; `scope` may be NULL (no
/// `scope` in the request); `err` may be NULL.
///
/// # Errors
/// `IDJAG_VERIFICATION_FAILED` when the assertion is not acceptable, with the reason in
/// `idjag_error_reason` (`expired`, `replayed`, `bad_signature`, `audience_mismatch`, ...):
/// answer `invalid_grant`. Key-fetch or replay-store trouble gives transport-class results
/// (`IDJAG_TRANSPORT`, `IDJAG_TIMEOUT`, ...): answer 503, the client may retry. Use
/// `idjag_error_token_response` for the exact answer. Also `IDJAG_NULL_PARAMETER`,
/// `IDJAG_INVALID_UTF8`.
///
/// # Thread safety
/// Safe from any thread, concurrently.
///
/// # Safety
/// `v` is NULL or a live verifier; each string is NULL or NUL-terminated; `grant_out` and
/// `err` are NULL or valid for a write.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn idjag_verifier_verify(
    v: *const idjag_verifier,
    assertion: *const c_char,
    client_id: *const c_char,
    scope: *const c_char,
    grant_out: *mut *mut idjag_json,
    err: *mut *mut idjag_error,
) -> idjag_result {
    let body = || {
        // SAFETY: caller's contract.
        let v = unsafe { ptr::arg(v, "v") }?;
        // SAFETY: caller's contract.
        let assertion = unsafe { ptr::arg_str(assertion, "assertion") }?;
        // SAFETY: caller's contract.
        let client_id = unsafe { ptr::arg_str(client_id, "client_id") }?;
        // SAFETY: caller's contract.
        let scope = unsafe { ptr::opt_str(scope, "scope") }?;
        // SAFETY: caller's contract.
        let out = unsafe { ptr::out(grant_out, "grant_out") }?;
        let grant = v.verifier.verify(assertion, client_id, scope)?;
        out.put(JsonBox::into_handle(&grant));
        Ok(())
    };
    // SAFETY: `err` is NULL or valid for a write (caller's contract).
    unsafe { fallible(err, body) }
}

/// Fetches the JWK Set of every trusted IdP that has none cached yet (a start-up warm-up and
/// health check).
///
/// # NULL
/// `v` must not be NULL; `err` may be.
///
/// # Errors
/// Transport-class results when a JWK Set cannot be fetched, `IDJAG_NULL_PARAMETER`.
///
/// # Thread safety
/// Safe from any thread, concurrently.
///
/// # Safety
/// `v` is NULL or a live verifier; `err` is NULL or valid for a write.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn idjag_verifier_prefetch_keys(
    v: *const idjag_verifier,
    err: *mut *mut idjag_error,
) -> idjag_result {
    let body = || {
        // SAFETY: caller's contract.
        let v = unsafe { ptr::arg(v, "v") }?;
        v.verifier.prefetch_keys()?;
        Ok(())
    };
    // SAFETY: `err` is NULL or valid for a write (caller's contract).
    unsafe { fallible(err, body) }
}

/// This authorization server's issuer (the only accepted `aud`), as configured.
///
/// # Ownership
/// Borrowed from `v`, valid until `idjag_verifier_free(v)`.
///
/// # NULL
/// Returns NULL for a NULL `v`.
///
/// # Thread safety
/// Safe from any thread.
///
/// # Safety
/// `v` is NULL or a live verifier.
#[no_mangle]
pub unsafe extern "C" fn idjag_verifier_issuer(v: *const idjag_verifier) -> *const c_char {
    infallible(std::ptr::null(), || {
        // SAFETY: forwarded from the caller.
        unsafe { ptr::borrow(v) }.map_or(std::ptr::null(), |b| b.issuer.as_ptr())
    })
}

/// The answer a token endpoint should send for an error of `idjag_verifier_verify`: the HTTP
/// status in `*status_out` (400 for a rejection, 503 when keys or the replay store are
/// unavailable, 500 otherwise) and the RFC 6749 section 5.2 body in `*body_out` (send it with
/// `Content-Type: application/json` and `Cache-Control: no-store`). Generic on the wire:
/// every rejection is the same `invalid_grant`, whatever its reason, so an attacker learns
/// nothing about which check failed (log `idjag_error_reason` instead) — except
/// `scope_not_granted`, which answers `invalid_scope` (RFC 6749 section 5.2) so that the
/// client can ask again with less.
///
/// # Ownership
/// On success `*body_out` receives a new document: free it with `idjag_json_free`.
///
/// # NULL
/// `e`, `status_out` and `body_out` must not be NULL; `err` may be.
///
/// # Errors
/// `IDJAG_NULL_PARAMETER`.
///
/// # Thread safety
/// Safe from any thread.
///
/// # Safety
/// `e` is NULL or a live error; `status_out`, `body_out` and `err` are NULL or valid for a
/// write.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn idjag_error_token_response(
    e: *const idjag_error,
    status_out: *mut u16,
    body_out: *mut *mut idjag_json,
    err: *mut *mut idjag_error,
) -> idjag_result {
    let body = || {
        // SAFETY: caller's contract.
        let e = unsafe { ptr::arg(e, "e") }?;
        // SAFETY: caller's contract.
        let status_out = unsafe { ptr::out(status_out, "status_out") }?;
        // SAFETY: caller's contract.
        let body_out = unsafe { ptr::out(body_out, "body_out") }?;
        let r = token_error_response(&e.error);
        status_out.put(r.status);
        // The whole wire answer: the OAuth body plus, for a step-up rejection, the
        // `acr_values`/`max_age` the client must satisfy.
        body_out.put(JsonBox::into_handle(&r.to_value()));
        Ok(())
    };
    // SAFETY: `err` is NULL or valid for a write (caller's contract).
    unsafe { fallible(err, body) }
}

/// Frees a verifier (and its key cache and in-memory replay store, or its Redis
/// connections).
///
/// # NULL
/// NULL is a no-op. Must not be called twice on the same verifier.
///
/// # Thread safety
/// No other thread may use `v` during or after the call.
///
/// # Safety
/// `v` is NULL or a live verifier, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn idjag_verifier_free(v: *mut idjag_verifier) {
    // SAFETY: forwarded.
    infallible((), || unsafe { ptr::free(v) })
}
