//! `idjag_session`: the MCP client (discovery, token exchange, redemption, cache, renewal,
//! challenges), with its event callback.

use crate::boundary::{fallible, infallible, Failure};
use crate::cstr::lossy;
use crate::error::idjag_error;
use crate::json::Typed;
use crate::json_handle::{idjag_json, JsonBox};
use crate::ptr::{self, Handle};
use crate::result::idjag_result;
use crate::token::{idjag_token, TokenBox};
use idjag::{Error, HttpEvent, Notice, SecretString, Session, SessionConfig, SubjectTokenType};
use serde::Serialize;
use std::cell::RefCell;
use std::ffi::{c_char, c_void};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

/// The MCP client of one signed-in user: give it an MCP server URL, get an access token —
/// discovered, exchanged at the IdP (RFC 8693), redeemed at the authorization server
/// (RFC 7523), cached, renewed before expiry, and renewed or stepped up on 401/403 challenges.
///
/// Thread safety: a session may be shared by any number of threads and used concurrently;
/// callers asking for the same server while a renewal is in flight wait for it and share its
/// result (one exchange, not one per thread). No lock is held while the session does network
/// I/O or calls the event callback. Free it with `idjag_session_free` once no thread uses it.
pub struct idjag_session {
    _private: [u8; 0],
}

/// Receives the session's events, each as one JSON object whose `type` member says what it
/// is (handle unknown types by ignoring them: new ones may be added):
///
/// - `"type": "http"`: one HTTP exchange the session made (discovery, token exchange,
///   redemption), with `step` (`discovery`, `idp_exchange`, `idp_refresh`, `as_grant`,
///   `resource`), `method`, `url` (no query string), `status` (`null` when no response
///   arrived), `duration_ms`, `bytes`, `error` (the error code of an exchange that failed
///   before a response, or `null`) and `note` (`auth_method_not_advertised` when the client
///   authenticated with a method the server's metadata does not list, else `null`);
/// - `"type": "notice"`: a trust decision or state change worth logging, with `kind`
///   (`credentials_first_use`: client credentials are about to be sent to an authorization
///   server for the first time in this session; `work_identity_expired`: the user's identity
///   assertion can no longer be renewed, every server's next call fails with
///   `IDJAG_REAUTHENTICATION_REQUIRED` until `idjag_session_set_subject_token`), `step`,
///   `issuer` (the server concerned, or `null`), `client_id` (or `null`) and `message` (a
///   sentence for people).
///
/// Events never contain a header, a body, a token or a secret. The two kinds arrive in the
/// order they happened, under the same rules:
///
/// - `userdata` is the pointer given to `idjag_session_new`, passed back unchanged.
/// - `event_json` is valid only during the call: copy what you keep.
/// - Thread: the callback runs on the thread that called the session function whose work
///   produced the event, just before that function returns, after every lock of the session
///   has been released. With a session shared by several threads it may therefore run on
///   any of them, concurrently: it must be safe to call from any thread, and `userdata` must
///   be usable from any thread.
/// - Re-entrancy: the callback may call any `idjag_` function, including functions of the
///   same session for the same server (a re-entrant `idjag_session_access_token` sees the
///   result of the call that reported the event), and even `idjag_session_free` on its own
///   session (the events still pending are then dropped; the outer call returns normally).
/// - Lifetime: the callback is never called after `idjag_session_free` has returned.
/// - It must return normally: no C++ exception and no `longjmp` may leave it (that would
///   abort the process).
pub type idjag_event_callback =
    Option<unsafe extern "C" fn(userdata: *mut c_void, event_json: *const c_char)>;

pub(crate) struct SessionBox {
    session: Session,
    events: Option<Arc<EventSink>>,
}

impl Handle for idjag_session {
    type Rust = SessionBox;
}

impl Drop for SessionBox {
    fn drop(&mut self) {
        if let Some(sink) = &self.events {
            sink.close();
        }
    }
}

/// The host's `userdata`, passed back to its callback on whichever thread runs it.
struct UserData(*mut c_void);

// SAFETY: the pointer is never dereferenced by idjag, only handed back to the host's callback;
// the header (`idjag_event_callback`) requires `userdata` to be usable from any thread.
unsafe impl Send for UserData {}
// SAFETY: as above.
unsafe impl Sync for UserData {}

/// The C callback of a session, and the bookkeeping that makes `idjag_session_free` a barrier:
/// once it returns, the callback is never called again.
pub(crate) struct EventSink {
    callback: unsafe extern "C" fn(*mut c_void, *const c_char),
    userdata: UserData,
    state: Mutex<SinkState>,
    idle: Condvar,
}

#[derive(Default)]
struct SinkState {
    closed: bool,
    /// Callbacks running right now, on any thread.
    running: usize,
}

thread_local! {
    /// The sinks whose callback is running on this thread (innermost last).
    static RUNNING_HERE: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

fn lock(m: &Mutex<SinkState>) -> MutexGuard<'_, SinkState> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Marks a callback as running (on this thread and in the sink) until dropped.
struct Running<'a>(&'a EventSink);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        RUNNING_HERE.with(|r| {
            r.borrow_mut().pop();
        });
        let mut st = lock(&self.0.state);
        st.running -= 1;
        drop(st);
        self.0.idle.notify_all();
    }
}

impl EventSink {
    fn id(&self) -> usize {
        self as *const EventSink as usize
    }

    /// Calls the callback with `doc` (`{"type": kind, ...body}`), unless the sink is closed.
    fn deliver<T: Serialize>(&self, kind: &'static str, body: &T) {
        {
            let mut st = lock(&self.state);
            if st.closed {
                return;
            }
            st.running += 1;
        }
        RUNNING_HERE.with(|r| r.borrow_mut().push(self.id()));
        let _running = Running(self);
        let text = lossy(&serde_json::to_string(&Typed { kind, body }).unwrap_or_default());
        // SAFETY: `idjag_session_new`'s contract makes the callback callable with this
        // `userdata` from any thread until `idjag_session_free` returns, which `close` makes
        // wait for this call; `text` outlives the call.
        unsafe { (self.callback)(self.userdata.0, text.as_ptr()) };
    }

    /// No callback starts after this, and every callback running on another thread has
    /// returned when this returns. Callbacks running on this thread (a callback freeing its
    /// own session) are not waited for: they are this call's callers.
    fn close(&self) {
        let mine = RUNNING_HERE.with(|r| r.borrow().iter().filter(|id| **id == self.id()).count());
        let mut st = lock(&self.state);
        st.closed = true;
        while st.running > mine {
            st = self.idle.wait(st).unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// The session behind a handle, cloned (a reference count), so that the call stays valid even
/// if an event callback frees the handle while the call runs.
///
/// # Safety
/// `s` is NULL or a live session.
unsafe fn session(s: *const idjag_session) -> Result<Session, Failure> {
    // SAFETY: forwarded from the caller.
    unsafe { ptr::arg(s, "s") }.map(|b| b.session.clone())
}

/// Creates a session from its JSON configuration (the same shape in every idjag language,
/// described in docs/GUIDE.md): `idp` (`issuer` or `token_endpoint`, `client_id`,
/// credentials), `subject_token` (the user's ID token, SAML assertion or IdP refresh token),
/// `subject_token_type`, `idp_refresh_token`, `client` / `clients` (credentials at MCP
/// authorization servers), `client_issuers`, `scope` / `scopes`, `timeout_ms`,
/// `ca_bundle_pem`, ... Unknown keys are errors. No network I/O happens here.
///
/// Credential routing: a default `client` with a shared secret (`client_secret_basic` /
/// `client_secret_post`, or a secret and no method) is sent only to the authorization
/// servers whose issuers `client_issuers` lists (`["https://as.example.com"]`), or to any
/// authorization server the IdP issues an ID-JAG for with `"client_issuers": "any"`; a
/// `clients` entry goes only to its own issuer. A refused server fails with
/// `IDJAG_CONFIGURATION` before anything is sent to it.
///
/// `on_event` (may be NULL) receives, with `userdata`, every HTTP exchange of the session
/// and every notice (first use of credentials at an authorization server, the user's identity
/// expiring) as JSON; see `idjag_event_callback` for the documents, when and on which thread.
///
/// # Ownership
/// `config_json` is copied (its secrets are zeroized when the session is freed). On success
/// `*out` receives a new session: free it with `idjag_session_free`. `userdata` is not owned:
/// it must stay valid until `idjag_session_free` returns.
///
/// # NULL
/// `config_json` and `out` must not be NULL; `on_event`, `userdata` and `err` may be.
///
/// # Errors
/// `IDJAG_CONFIGURATION` (invalid JSON, unknown key, missing or contradictory setting; the
/// message names the key, never a value), `IDJAG_NULL_PARAMETER`, `IDJAG_INVALID_UTF8`.
///
/// # Thread safety
/// Safe from any thread.
///
/// # Safety
/// `config_json` is NULL or a NUL-terminated string; `out` and `err` are NULL or valid for a
/// write; `on_event`, if not NULL, is a function callable as `idjag_event_callback` describes.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn idjag_session_new(
    config_json: *const c_char,
    on_event: idjag_event_callback,
    userdata: *mut c_void,
    out: *mut *mut idjag_session,
    err: *mut *mut idjag_error,
) -> idjag_result {
    let body = || {
        // SAFETY: caller's contract.
        let config = unsafe { ptr::arg_str(config_json, "config_json") }?;
        // SAFETY: caller's contract.
        let out = unsafe { ptr::out(out, "out") }?;
        let config = SessionConfig::from_json(config)?;
        let mut builder = Session::builder(config);
        let events = on_event.map(|callback| {
            Arc::new(EventSink {
                callback,
                userdata: UserData(userdata),
                state: Mutex::new(SinkState::default()),
                idle: Condvar::new(),
            })
        });
        if let Some(sink) = &events {
            let http = Arc::clone(sink);
            let notices = Arc::clone(sink);
            builder = builder
                .on_event(Arc::new(move |ev: &HttpEvent| http.deliver("http", ev)))
                .on_notice(Arc::new(move |n: &Notice| notices.deliver("notice", n)));
        }
        let session = builder.build()?;
        out.put(ptr::into_raw::<idjag_session>(SessionBox {
            session,
            events,
        }));
        Ok(())
    };
    // SAFETY: `err` is NULL or valid for a write (caller's contract).
    unsafe { fallible(err, body) }
}

/// Returns an access token for the MCP server at `server_url`: from the cache without any
/// I/O when a valid one is there, otherwise discovered (RFC 9728 / RFC 8414), exchanged at the
/// IdP for an ID-JAG (RFC 8693) and redeemed at the server's authorization server (RFC 7523).
/// Renewal starts before expiry; concurrent callers for the same server share one exchange.
/// Send it as `Authorization: <idjag_token_authorization(token)>`.
///
/// # Ownership
/// `server_url` is copied. On success `*out` receives a new token: free it with
/// `idjag_token_free`.
///
/// # NULL
/// `s`, `server_url` and `out` must not be NULL; `err` may be.
///
/// # Errors
/// Any core error (`idjag_error_step` says which step failed, `idjag_error_action` what to
/// do: e.g. `IDJAG_REAUTHENTICATION_REQUIRED` when the user must sign in again,
/// `IDJAG_TRANSPORT` / `IDJAG_TIMEOUT` for network trouble, `IDJAG_OAUTH_ERROR` when a server
/// refused), `IDJAG_NULL_PARAMETER`, `IDJAG_INVALID_UTF8`.
///
/// # Thread safety
/// Safe from any thread, concurrently. Blocks the calling thread for the network I/O
/// (bounded by the configured timeouts); calls `on_event` on this thread before returning.
///
/// # Safety
/// `s` is NULL or a live session; `server_url` is NULL or a NUL-terminated string; `out` and
/// `err` are NULL or valid for a write.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn idjag_session_access_token(
    s: *const idjag_session,
    server_url: *const c_char,
    out: *mut *mut idjag_token,
    err: *mut *mut idjag_error,
) -> idjag_result {
    let body = || {
        // SAFETY: caller's contract.
        let session = unsafe { session(s) }?;
        // SAFETY: caller's contract.
        let url = unsafe { ptr::arg_str(server_url, "server_url") }?;
        // SAFETY: caller's contract.
        let out = unsafe { ptr::out(out, "out") }?;
        let token = session.access_token(url)?;
        out.put(TokenBox::into_handle(token)?);
        Ok(())
    };
    // SAFETY: `err` is NULL or valid for a write (caller's contract).
    unsafe { fallible(err, body) }
}

/// The token `idjag_session_access_token` would return right now without any I/O: writes it
/// to `*out`, or writes NULL when a call would have to talk to a server (nothing cached yet,
/// renewal due, or the server is being discovered at this moment). Never blocks on network
/// work: event-loop hosts answer from it and go to a worker thread only when it gives NULL.
///
/// # Ownership
/// `server_url` is copied. On success `*out` receives a new token (free it with
/// `idjag_token_free`) or NULL.
///
/// # NULL
/// `s`, `server_url` and `out` must not be NULL; `err` may be.
///
/// # Errors
/// `IDJAG_NULL_PARAMETER`, `IDJAG_INVALID_UTF8`; "no token" is `IDJAG_OK` with `*out` NULL.
///
/// # Thread safety
/// Safe from any thread, concurrently. Never calls `on_event`.
///
/// # Safety
/// `s` is NULL or a live session; `server_url` is NULL or a NUL-terminated string; `out` and
/// `err` are NULL or valid for a write.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn idjag_session_cached_token(
    s: *const idjag_session,
    server_url: *const c_char,
    out: *mut *mut idjag_token,
    err: *mut *mut idjag_error,
) -> idjag_result {
    let body = || {
        // SAFETY: caller's contract.
        let session = unsafe { session(s) }?;
        // SAFETY: caller's contract.
        let url = unsafe { ptr::arg_str(server_url, "server_url") }?;
        // SAFETY: caller's contract.
        let out = unsafe { ptr::out(out, "out") }?;
        let token = match session.cached_token(url) {
            Some(t) => TokenBox::into_handle(t)?,
            None => std::ptr::null_mut(),
        };
        out.put(token);
        Ok(())
    };
    // SAFETY: `err` is NULL or valid for a write (caller's contract).
    unsafe { fallible(err, body) }
}

/// Reacts to a 401 or 403 answer of the MCP server and returns the token to retry the
/// request with. Pass the response's `WWW-Authenticate` header value and the token the server
/// rejected (the bare token or the whole `Bearer ...` value), so the session can tell a
/// revocation from a loop:
/// - 401 against an older token: the current token, at once;
/// - 401 against the current token: a new one (concurrent challengers share one exchange);
///   a token rejected right after its own minting, several times in a row, fails with
///   `IDJAG_CONFIGURATION` instead of looping;
/// - 403 `insufficient_scope`: a token for the union of the scopes (bounded step-ups); any
///   other 403 fails with action `denied`;
/// - a changed `resource_metadata` URL: rediscovery.
///
/// # Ownership
/// Every string is copied. On success `*out` receives a new token: free it with
/// `idjag_token_free`.
///
/// # NULL
/// `s`, `server_url` and `out` must not be NULL. `www_authenticate` may be NULL (no header);
/// `rejected_token` may be NULL (unknown: a token minted by a challenge in the last 2 s is
/// then handed to further 401s); `err` may be NULL.
///
/// # Errors
/// As `idjag_session_access_token`, plus `IDJAG_INVALID_ARGUMENT` for a status other than 401
/// or 403.
///
/// # Thread safety
/// Safe from any thread, concurrently; calls `on_event` on this thread before returning.
///
/// # Safety
/// `s` is NULL or a live session; each string is NULL or NUL-terminated; `out` and `err` are
/// NULL or valid for a write.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn idjag_session_handle_challenge(
    s: *const idjag_session,
    server_url: *const c_char,
    status: u16,
    www_authenticate: *const c_char,
    rejected_token: *const c_char,
    out: *mut *mut idjag_token,
    err: *mut *mut idjag_error,
) -> idjag_result {
    let body = || {
        // SAFETY: caller's contract.
        let session = unsafe { session(s) }?;
        // SAFETY: caller's contract.
        let url = unsafe { ptr::arg_str(server_url, "server_url") }?;
        // SAFETY: caller's contract.
        let header = unsafe { ptr::opt_str(www_authenticate, "www_authenticate") }?;
        // SAFETY: caller's contract.
        let rejected = unsafe { ptr::opt_str(rejected_token, "rejected_token") }?;
        // SAFETY: caller's contract.
        let out = unsafe { ptr::out(out, "out") }?;
        let token = session.handle_challenge(url, status, header.unwrap_or(""), rejected)?;
        out.put(TokenBox::into_handle(token)?);
        Ok(())
    };
    // SAFETY: `err` is NULL or valid for a write (caller's contract).
    unsafe { fallible(err, body) }
}

/// Replaces the user's identity assertion, after the host application signed the user in
/// again (for example when a call failed with `IDJAG_REAUTHENTICATION_REQUIRED`). Cached
/// access tokens stay valid until they expire; new exchanges use the new assertion.
///
/// `token_type` is `id_token` (the default when NULL), `saml2` (base64url SAML assertion) or
/// `refresh_token` (an IdP refresh token), or the RFC 8693 URN of one of them.
/// `refresh_token` (may be NULL) is an IdP refresh token to renew an expired ID token with.
///
/// # Ownership
/// The strings are copied (and zeroized when replaced or when the session is freed).
///
/// # NULL
/// `s` and `token` must not be NULL; `token_type`, `refresh_token` and `err` may be.
///
/// # Errors
/// `IDJAG_INVALID_ARGUMENT` (empty token, unknown type), `IDJAG_NULL_PARAMETER`,
/// `IDJAG_INVALID_UTF8`.
///
/// # Thread safety
/// Safe from any thread, concurrently with other calls.
///
/// # Safety
/// `s` is NULL or a live session; each string is NULL or NUL-terminated; `err` is NULL or
/// valid for a write.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn idjag_session_set_subject_token(
    s: *const idjag_session,
    token: *const c_char,
    token_type: *const c_char,
    refresh_token: *const c_char,
    err: *mut *mut idjag_error,
) -> idjag_result {
    let body = || {
        // SAFETY: caller's contract.
        let session = unsafe { session(s) }?;
        // SAFETY: caller's contract.
        let token = unsafe { ptr::arg_str(token, "token") }?;
        // SAFETY: caller's contract.
        let token_type = unsafe { ptr::opt_str(token_type, "token_type") }?;
        // SAFETY: caller's contract.
        let refresh = unsafe { ptr::opt_str(refresh_token, "refresh_token") }?;
        let token_type = match token_type {
            None => SubjectTokenType::IdToken,
            Some(t) => SubjectTokenType::parse(t).ok_or_else(|| {
                Error::invalid_argument(
                    "`token_type` must be `id_token`, `saml2` or `refresh_token` (or the URN)",
                )
            })?,
        };
        session.set_subject_token(
            SecretString::new(token),
            token_type,
            refresh.map(SecretString::new),
        )?;
        Ok(())
    };
    // SAFETY: `err` is NULL or valid for a write (caller's contract).
    unsafe { fallible(err, body) }
}

/// Drops the cached tokens and discovery of `server_url`: the next call for it starts over.
///
/// # Ownership
/// `server_url` is copied.
///
/// # NULL
/// `s` and `server_url` must not be NULL; `err` may be.
///
/// # Errors
/// `IDJAG_NULL_PARAMETER`, `IDJAG_INVALID_UTF8`. Forgetting a server the session does not
/// know is not an error.
///
/// # Thread safety
/// Safe from any thread, concurrently with other calls.
///
/// # Safety
/// `s` is NULL or a live session; `server_url` is NULL or NUL-terminated; `err` is NULL or
/// valid for a write.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn idjag_session_invalidate(
    s: *const idjag_session,
    server_url: *const c_char,
    err: *mut *mut idjag_error,
) -> idjag_result {
    let body = || {
        // SAFETY: caller's contract.
        let session = unsafe { session(s) }?;
        // SAFETY: caller's contract.
        let url = unsafe { ptr::arg_str(server_url, "server_url") }?;
        session.invalidate(url);
        Ok(())
    };
    // SAFETY: `err` is NULL or valid for a write (caller's contract).
    unsafe { fallible(err, body) }
}

/// Discovers the MCP server at `server_url` (cached per session) and returns what was found
/// as JSON (docs/GUIDE.md, "JSON shapes"): `server_url`, `resource` (the protected-resource
/// metadata's `resource`, sent to the IdP), `audience` (the chosen authorization server's
/// issuer: the ID-JAG's audience), `resource_metadata_url`, `challenged_scope` and
/// `default_scope` (each `null` when absent), and the two metadata documents as received:
/// `resource_metadata` (RFC 9728) and `authorization_server` (RFC 8414, with
/// `token_endpoint`, `grant_types_supported`, ...).
///
/// # Ownership
/// `server_url` is copied. On success `*out` receives a new document: free it with
/// `idjag_json_free`.
///
/// # NULL
/// `s`, `server_url` and `out` must not be NULL; `err` may be.
///
/// # Errors
/// Discovery errors (`IDJAG_TRANSPORT`, `IDJAG_HTTP_STATUS`, `IDJAG_RESPONSE_INVALID`,
/// `IDJAG_ISSUER_MISMATCH`, `IDJAG_RESOURCE_MISMATCH`, `IDJAG_INSECURE_URL`, ...),
/// `IDJAG_NULL_PARAMETER`, `IDJAG_INVALID_UTF8`.
///
/// # Thread safety
/// Safe from any thread, concurrently; calls `on_event` on this thread before returning.
///
/// # Safety
/// `s` is NULL or a live session; `server_url` is NULL or NUL-terminated; `out` and `err` are
/// NULL or valid for a write.
#[must_use]
#[no_mangle]
pub unsafe extern "C" fn idjag_session_discover(
    s: *const idjag_session,
    server_url: *const c_char,
    out: *mut *mut idjag_json,
    err: *mut *mut idjag_error,
) -> idjag_result {
    let body = || {
        // SAFETY: caller's contract.
        let session = unsafe { session(s) }?;
        // SAFETY: caller's contract.
        let url = unsafe { ptr::arg_str(server_url, "server_url") }?;
        // SAFETY: caller's contract.
        let out = unsafe { ptr::out(out, "out") }?;
        let d = session.discover(url)?;
        out.put(JsonBox::into_handle(&d));
        Ok(())
    };
    // SAFETY: `err` is NULL or valid for a write (caller's contract).
    unsafe { fallible(err, body) }
}

/// Frees a session: its cached tokens and configured secrets are zeroized. When it returns,
/// the event callback is never called again; callbacks running on other threads have
/// returned.
///
/// # Ownership
/// Tokens obtained from the session stay valid (free each with `idjag_token_free`).
///
/// # NULL
/// NULL is a no-op. Must not be called twice on the same session.
///
/// # Thread safety
/// No other thread may use `s` during or after the call. The session's own event callback
/// may call it (on the thread the callback runs on).
///
/// # Safety
/// `s` is NULL or a live session, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn idjag_session_free(s: *mut idjag_session) {
    // SAFETY: forwarded.
    infallible((), || unsafe { ptr::free(s) })
}
