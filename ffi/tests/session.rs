//! Sessions and verifiers through the C ABI against the testkit over loopback HTTP: the whole
//! flow, challenges, the event callback (re-entrant, freeing its own session), threads, and
//! errors with their fields.
#![allow(clippy::undocumented_unsafe_blocks)]

mod common;

use common::*;
use idjag_ffi::*;
use idjag_result::*;
use idjag_testkit::{Endpoint, TestKit};
use serde_json::Value;
use std::ffi::{c_char, c_void};
use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};

fn new_session(
    config: &str,
    cb: idjag_event_callback,
    userdata: *mut c_void,
) -> *mut idjag_session {
    let mut s = null_mut();
    let mut e = Error::none();
    let r = unsafe { idjag_session_new(cs(config).as_ptr(), cb, userdata, &mut s, e.out()) };
    assert_eq!(r, IDJAG_OK, "{:?}", e.message());
    s
}

fn access_token(s: *const idjag_session, url: &str) -> *mut idjag_token {
    let mut t = null_mut();
    let mut e = Error::none();
    let r = unsafe { idjag_session_access_token(s, cs(url).as_ptr(), &mut t, e.out()) };
    assert_eq!(r, IDJAG_OK, "{:?}", e.message());
    assert!(!e.is_set());
    t
}

fn exchanges(kit: &TestKit) -> (u64, u64) {
    let c = kit.counters();
    (
        c.requests(Endpoint::IdpToken),
        c.requests(Endpoint::AsToken),
    )
}

#[test]
fn token_discovery_and_challenge() {
    let kit = TestKit::start();
    let s = new_session(&session_config(&kit), None, null_mut());
    let t = access_token(s, kit.mcp_url());
    unsafe {
        let bare = text(idjag_token_access_token(t)).expect("token");
        assert_eq!(
            text(idjag_token_authorization(t)),
            Some(format!("Bearer {bare}"))
        );
        assert!(idjag_token_expires_at(t) > 1_700_000_000);
        assert_eq!(
            text(idjag_token_resource(t)).as_deref(),
            Some(kit.mcp_url())
        );
        assert_eq!(
            text(idjag_token_authorization_server(t)).as_deref(),
            Some(kit.as_issuer())
        );
        let _ = text(idjag_token_scope(t));
        // Borrowed views are stable: the same pointer every time.
        assert_eq!(idjag_token_authorization(t), idjag_token_authorization(t));
        let j: Value =
            serde_json::from_str(&text(idjag_token_json(t)).expect("json")).expect("JSON");
        assert_eq!(j["resource"], kit.mcp_url());
        assert!(!j.to_string().contains(&bare), "no token in the JSON");

        // Copy into a caller buffer.
        let mut n = 0usize;
        let mut e = Error::none();
        assert_eq!(
            idjag_token_copy_access_token(t, null_mut(), 0, &mut n, e.out()),
            IDJAG_BUFFER_TOO_SMALL
        );
        assert_eq!(n, bare.len());
        assert_eq!(e.code().as_deref(), Some("invalid_argument"));
        let mut small = vec![b'#' as c_char; bare.len()];
        let mut n2 = 0usize;
        assert_eq!(
            idjag_token_copy_access_token(t, small.as_mut_ptr(), small.len(), &mut n2, null_mut()),
            IDJAG_BUFFER_TOO_SMALL
        );
        assert!(
            small.iter().all(|c| *c == b'#' as c_char),
            "buffer untouched on error"
        );
        let mut buf = vec![0 as c_char; bare.len() + 1];
        assert_eq!(
            idjag_token_copy_access_token(t, buf.as_mut_ptr(), buf.len(), &mut n, null_mut()),
            IDJAG_OK
        );
        assert_eq!(text(buf.as_ptr()), Some(bare.clone()));

        // The cache answers without I/O, with the same token.
        let before = exchanges(&kit);
        let mut c = null_mut();
        assert_eq!(
            idjag_session_cached_token(s, cs(kit.mcp_url()).as_ptr(), &mut c, null_mut()),
            IDJAG_OK
        );
        assert_eq!(text(idjag_token_access_token(c)), Some(bare.clone()));
        idjag_token_free(c);
        let t2 = access_token(s, kit.mcp_url());
        assert_eq!(text(idjag_token_access_token(t2)), Some(bare.clone()));
        idjag_token_free(t2);
        assert_eq!(exchanges(&kit), before);

        // Discovery is cached and described as JSON.
        let mut d = null_mut();
        assert_eq!(
            idjag_session_discover(s, cs(kit.mcp_url()).as_ptr(), &mut d, null_mut()),
            IDJAG_OK
        );
        let d = take_json(d);
        assert_eq!(d["server_url"], kit.mcp_url());
        assert_eq!(d["resource"], kit.mcp_url());
        assert_eq!(d["audience"], kit.as_issuer());
        assert_eq!(d["resource_metadata_url"], kit.prm_url());
        assert_eq!(d["resource_metadata"]["resource"], kit.mcp_url());
        assert_eq!(d["authorization_server"]["issuer"], kit.as_issuer());
        assert_eq!(
            d["authorization_server"]["grant_types_supported"][0],
            "urn:ietf:params:oauth:grant-type:jwt-bearer"
        );
        for k in ["challenged_scope", "default_scope"] {
            assert!(d.get(k).is_some(), "{k} in {d}");
        }

        // A revoked token: the 401 challenge gives a new one (one more exchange).
        kit.revoke_access_tokens();
        let header = format!(
            "Bearer error=\"invalid_token\", resource_metadata=\"{}\"",
            kit.prm_url()
        );
        let mut fresh = null_mut();
        let mut e = Error::none();
        let r = idjag_session_handle_challenge(
            s,
            cs(kit.mcp_url()).as_ptr(),
            401,
            cs(&header).as_ptr(),
            cs(&bare).as_ptr(),
            &mut fresh,
            e.out(),
        );
        assert_eq!(r, IDJAG_OK, "{:?}", e.message());
        let fresh_bare = text(idjag_token_access_token(fresh)).expect("token");
        assert_ne!(fresh_bare, bare);
        assert_eq!(exchanges(&kit), (before.0 + 1, before.1 + 1));
        // The old token outlives the refresh; every handle is freed once.
        idjag_token_free(fresh);
        idjag_token_free(t);

        // Invalidate: the next call starts over.
        assert_eq!(
            idjag_session_invalidate(s, cs(kit.mcp_url()).as_ptr(), null_mut()),
            IDJAG_OK
        );
        let mut none = sentinel();
        assert_eq!(
            idjag_session_cached_token(s, cs(kit.mcp_url()).as_ptr(), &mut none, null_mut()),
            IDJAG_OK
        );
        assert!(none.is_null());
        idjag_session_free(s);
    }
}

#[test]
fn unreachable_server_is_a_transport_error_to_retry() {
    let kit = TestKit::start();
    let s = new_session(&session_config(&kit), None, null_mut());
    let mut t: *mut idjag_token = sentinel();
    let mut e = Error::none();
    let r = unsafe {
        idjag_session_access_token(s, cs("http://127.0.0.1:1/mcp").as_ptr(), &mut t, e.out())
    };
    assert_eq!(r, IDJAG_TRANSPORT, "{:?}", e.message());
    assert_eq!(t, sentinel());
    assert_eq!(e.code().as_deref(), Some("transport"));
    assert_eq!(e.action().as_deref(), Some("retry"));
    assert_eq!(
        e.step().as_deref(),
        Some("resource"),
        "the unauthenticated probe of the MCP server"
    );
    assert_eq!(e.json()["number"], IDJAG_TRANSPORT as u32);
    unsafe { idjag_session_free(s) };
}

#[test]
fn rejected_subject_token_asks_for_reauthentication() {
    let kit = TestKit::start();
    let mut cfg: Value = serde_json::from_str(&session_config(&kit)).expect("json");
    cfg["subject_token"] = Value::String("not-an-id-token".into());
    let s = new_session(&cfg.to_string(), None, null_mut());
    let mut t: *mut idjag_token = sentinel();
    let mut e = Error::none();
    let r = unsafe { idjag_session_access_token(s, cs(kit.mcp_url()).as_ptr(), &mut t, e.out()) };
    assert_eq!(r, IDJAG_REAUTHENTICATION_REQUIRED, "{:?}", e.message());
    assert_eq!(e.action().as_deref(), Some("reauthenticate"));
    assert_eq!(e.step().as_deref(), Some("idp_exchange"));
    assert_eq!(e.status(), 400);
    assert_eq!(e.oauth_error().as_deref(), Some("invalid_grant"));
    assert_eq!(t, sentinel());
    // After the user signed in again, the same session works.
    let id_token = kit.mint_id_token("alice");
    assert_eq!(
        unsafe {
            idjag_session_set_subject_token(s, cs(&id_token).as_ptr(), null(), null(), null_mut())
        },
        IDJAG_OK
    );
    unsafe { idjag_token_free(access_token(s, kit.mcp_url())) };
    unsafe { idjag_session_free(s) };
}

/// What the re-entrant callback saw.
#[derive(Default)]
struct Seen {
    session: AtomicPtr<idjag_session>,
    url: Mutex<String>,
    events: Mutex<Vec<Value>>,
    /// Results of the re-entrant calls: (event step, cached token found, access_token result).
    reentrant: Mutex<Vec<(String, bool, idjag_result)>>,
    free_at_event: AtomicUsize,
    after_free: AtomicUsize,
    freed: std::sync::atomic::AtomicBool,
}

unsafe extern "C" fn reentrant_callback(userdata: *mut c_void, event: *const c_char) {
    let seen = unsafe { &*(userdata as *const Seen) };
    if seen.freed.load(Ordering::SeqCst) {
        seen.after_free.fetch_add(1, Ordering::SeqCst);
        return;
    }
    let ev: Value = serde_json::from_str(&text(event).expect("event")).expect("event JSON");
    let n = {
        let mut evs = seen.events.lock().expect("lock");
        evs.push(ev.clone());
        evs.len()
    };
    let s = seen.session.load(Ordering::SeqCst);
    let url = cs(&seen.url.lock().expect("lock"));
    // Back into the same session, for the same server, from inside its callback.
    let mut cached = null_mut();
    assert_eq!(
        unsafe { idjag_session_cached_token(s, url.as_ptr(), &mut cached, null_mut()) },
        IDJAG_OK
    );
    let mut t = null_mut();
    let r = unsafe { idjag_session_access_token(s, url.as_ptr(), &mut t, null_mut()) };
    seen.reentrant.lock().expect("lock").push((
        ev["step"].as_str().unwrap_or("").into(),
        !cached.is_null(),
        r,
    ));
    unsafe {
        idjag_token_free(cached);
        idjag_token_free(t);
    }
    if seen.free_at_event.load(Ordering::SeqCst) == n {
        seen.freed.store(true, Ordering::SeqCst);
        unsafe { idjag_session_free(s) };
    }
}

#[test]
fn reentrant_callback_calls_the_same_session() {
    let kit = TestKit::start();
    let seen = Box::new(Seen::default());
    *seen.url.lock().expect("lock") = kit.mcp_url().to_string();
    let ud = &*seen as *const Seen as *mut c_void;
    let s = new_session(&session_config(&kit), Some(reentrant_callback), ud);
    seen.session.store(s, Ordering::SeqCst);
    let t = access_token(s, kit.mcp_url());
    unsafe { idjag_token_free(t) };

    let events = seen.events.lock().expect("lock").clone();
    let http: Vec<&Value> = events.iter().filter(|e| e["type"] == "http").collect();
    let steps: Vec<&str> = http
        .iter()
        .map(|e| e["step"].as_str().unwrap_or(""))
        .collect();
    assert!(
        steps.contains(&"discovery")
            && steps.contains(&"idp_exchange")
            && steps.contains(&"as_grant"),
        "{steps:?}"
    );
    for e in &http {
        for k in [
            "step",
            "method",
            "url",
            "status",
            "duration_ms",
            "bytes",
            "error",
            "note",
        ] {
            assert!(e.get(k).is_some(), "{k} in {e}");
        }
    }
    // Besides the HTTP events, exactly one notice: the first use of the client at the AS.
    let notices: Vec<&Value> = events.iter().filter(|e| e["type"] == "notice").collect();
    assert_eq!(notices.len(), 1, "{events:?}");
    assert_eq!(notices[0]["kind"], "credentials_first_use");
    assert_eq!(http.len() + notices.len(), events.len(), "{events:?}");
    let idp = kit.idp_client();
    let shown = serde_json::to_string(&events).expect("json");
    assert!(
        !shown.contains(idp.client_secret.as_deref().unwrap_or("-")),
        "no secret in events"
    );
    // Events arrive once the work is done: every re-entrant call found the new token in the
    // cache and got it without a second exchange.
    let reentrant = seen.reentrant.lock().expect("lock").clone();
    assert_eq!(reentrant.len(), events.len());
    assert!(
        reentrant
            .iter()
            .all(|(_, cached, r)| *cached && *r == IDJAG_OK),
        "{reentrant:?}"
    );
    assert_eq!(exchanges(&kit), (1, 1));
    unsafe { idjag_session_free(s) };
}

#[test]
fn callback_may_free_its_own_session_and_is_never_called_afterwards() {
    let kit = TestKit::start();
    let seen = Box::new(Seen::default());
    *seen.url.lock().expect("lock") = kit.mcp_url().to_string();
    seen.free_at_event.store(1, Ordering::SeqCst);
    let ud = &*seen as *const Seen as *mut c_void;
    let s = new_session(&session_config(&kit), Some(reentrant_callback), ud);
    seen.session.store(s, Ordering::SeqCst);
    // The outer call returns normally although its session was freed by its first event.
    let t = access_token(s, kit.mcp_url());
    assert!(!unsafe { idjag_token_access_token(t) }.is_null());
    unsafe { idjag_token_free(t) };
    assert!(seen.freed.load(Ordering::SeqCst));
    assert_eq!(seen.events.lock().expect("lock").len(), 1);
    assert_eq!(
        seen.after_free.load(Ordering::SeqCst),
        0,
        "no event after idjag_session_free"
    );
    // (The session is gone: nothing more to free.)
}

/// Every document the callback received, parsed.
unsafe extern "C" fn record_callback(userdata: *mut c_void, event: *const c_char) {
    let docs = unsafe { &*(userdata as *const Mutex<Vec<Value>>) };
    let doc: Value = serde_json::from_str(&text(event).expect("event")).expect("event JSON");
    docs.lock().expect("lock").push(doc);
}

/// Notices come through the event callback as `"type": "notice"` documents, in order with
/// the `"type": "http"` events: the work identity expiring (an expired ID token whose refresh
/// token the IdP refuses), then, after signing in again, the first use of the client at the
/// authorization server before the grant that uses it. No secret in any of them.
#[test]
fn notices_arrive_through_the_event_callback_with_a_type() {
    let kit = TestKit::start();
    let mut spec = idjag_testkit::IdTokenSpec::new("alice");
    spec.iat = Some(kit.now() - 7200);
    spec.exp = Some(kit.now() - 3600);
    let expired = kit.mint_id_token_with(&spec);
    let mut cfg: Value = serde_json::from_str(&session_config(&kit)).expect("json");
    cfg["subject_token"] = Value::String(expired.clone());
    cfg["idp_refresh_token"] = Value::String("planted-refresh-token".into());
    let docs: Box<Mutex<Vec<Value>>> = Box::default();
    let ud = &*docs as *const Mutex<Vec<Value>> as *mut c_void;
    let s = new_session(&cfg.to_string(), Some(record_callback), ud);

    let mut t: *mut idjag_token = sentinel();
    let mut e = Error::none();
    let r = unsafe { idjag_session_access_token(s, cs(kit.mcp_url()).as_ptr(), &mut t, e.out()) };
    assert_eq!(r, IDJAG_REAUTHENTICATION_REQUIRED, "{:?}", e.message());
    let first: Vec<Value> = std::mem::take(&mut *docs.lock().expect("lock"));
    let kinds: Vec<(&str, &str)> = first
        .iter()
        .map(|d| {
            let t = d["type"].as_str().expect("type");
            let what = if t == "notice" {
                &d["kind"]
            } else {
                &d["step"]
            };
            (t, what.as_str().unwrap_or(""))
        })
        .collect();
    let expired_at = kinds
        .iter()
        .position(|k| *k == ("notice", "work_identity_expired"))
        .unwrap_or_else(|| panic!("no work_identity_expired notice in {kinds:?}"));
    let refresh_at = kinds
        .iter()
        .position(|k| *k == ("http", "idp_refresh"))
        .unwrap_or_else(|| panic!("no idp_refresh event in {kinds:?}"));
    assert!(refresh_at < expired_at, "{kinds:?}");
    let n = &first[expired_at];
    assert_eq!(n["step"], "idp_exchange");
    assert_eq!(n["client_id"], kit.idp_client().client_id);
    assert!(n["message"].as_str().is_some_and(|m| !m.is_empty()), "{n}");
    for k in ["issuer", "client_id", "message", "kind", "step"] {
        assert!(n.get(k).is_some(), "{k} in {n}");
    }

    // The first use of the client at the AS was announced before anything was sent for it.
    let use_at = kinds
        .iter()
        .position(|k| *k == ("notice", "credentials_first_use"))
        .unwrap_or_else(|| panic!("no credentials_first_use notice in {kinds:?}"));
    assert!(use_at < refresh_at, "{kinds:?}");
    let n = &first[use_at];
    assert_eq!(n["issuer"], kit.as_issuer());
    assert_eq!(n["client_id"], kit.as_client().client_id);
    assert_eq!(n["step"], "as_grant");

    // Signed in again: tokens, HTTP events only (each notice is raised once).
    let id_token = kit.mint_id_token("alice");
    assert_eq!(
        unsafe {
            idjag_session_set_subject_token(s, cs(&id_token).as_ptr(), null(), null(), null_mut())
        },
        IDJAG_OK
    );
    unsafe { idjag_token_free(access_token(s, kit.mcp_url())) };
    let second: Vec<Value> = std::mem::take(&mut *docs.lock().expect("lock"));
    let steps: Vec<(&str, &str)> = second
        .iter()
        .map(|d| {
            (
                d["type"].as_str().unwrap_or(""),
                d["step"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(steps, [("http", "idp_exchange"), ("http", "as_grant")]);

    let all = serde_json::to_string(&[first, second]).expect("json");
    for secret in [
        expired.as_str(),
        id_token.as_str(),
        "planted-refresh-token",
        kit.idp_client().client_secret.as_deref().unwrap_or("-"),
        kit.as_client().client_secret.as_deref().unwrap_or("-"),
    ] {
        assert!(!all.contains(secret), "a secret in the events");
    }
    unsafe { idjag_session_free(s) };
}

/// Counts callback invocations that overlap `idjag_session_free` on another thread.
struct Overlap {
    calls: AtomicUsize,
    freeing: std::sync::atomic::AtomicBool,
    entered: Barrier,
    release: Barrier,
}

unsafe extern "C" fn slow_callback(userdata: *mut c_void, _event: *const c_char) {
    let o = unsafe { &*(userdata as *const Overlap) };
    if o.calls.fetch_add(1, Ordering::SeqCst) == 0 {
        o.entered.wait(); // tell the main thread a callback is running
        o.release.wait(); // ... and wait until it has started freeing
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert!(o.freeing.load(Ordering::SeqCst));
    }
}

#[test]
fn free_waits_for_callbacks_running_on_other_threads() {
    let kit = TestKit::start();
    let o: &'static Overlap = Box::leak(Box::new(Overlap {
        calls: AtomicUsize::new(0),
        freeing: Default::default(),
        entered: Barrier::new(2),
        release: Barrier::new(2),
    }));
    let s = new_session(
        &session_config(&kit),
        Some(slow_callback),
        o as *const Overlap as *mut c_void,
    );
    let s_addr = s as usize;
    let url = kit.mcp_url().to_string();
    let worker = std::thread::spawn(move || {
        let t = access_token(s_addr as *const idjag_session, &url);
        unsafe { idjag_token_free(t) };
    });
    o.entered.wait();
    // A callback is running on the worker thread. (Freeing a session another thread uses is
    // outside the contract; this checks the barrier underneath it: the worker's call holds its
    // own reference to the session, so freeing must wait for the running callback and
    // suppress every later event.)
    o.freeing.store(true, Ordering::SeqCst);
    o.release.wait();
    let started = std::time::Instant::now();
    unsafe { idjag_session_free(s) };
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(150),
        "free waited for the callback"
    );
    let calls = o.calls.load(Ordering::SeqCst);
    worker.join().expect("worker");
    assert_eq!(
        o.calls.load(Ordering::SeqCst),
        calls,
        "no callback after free returned"
    );
    assert_eq!(calls, 1);
}

#[test]
fn eight_threads_share_one_session_and_one_exchange() {
    let kit = TestKit::start();
    let s = new_session(&session_config(&kit), None, null_mut()) as usize;
    let barrier = Arc::new(Barrier::new(8));
    let tokens: Vec<String> = (0..8)
        .map(|_| {
            let (b, url) = (barrier.clone(), kit.mcp_url().to_string());
            std::thread::spawn(move || {
                b.wait();
                let t = access_token(s as *const idjag_session, &url);
                let v = text(unsafe { idjag_token_access_token(t) }).expect("token");
                unsafe { idjag_token_free(t) };
                v
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect();
    assert!(tokens.iter().all(|t| *t == tokens[0]));
    assert_eq!(exchanges(&kit), (1, 1));
    unsafe { idjag_session_free(s as *mut idjag_session) };
}

#[test]
fn verifier_accepts_once_and_explains_rejections() {
    let kit = TestKit::start();
    let mut v = null_mut();
    let mut e = Error::none();
    assert_eq!(
        unsafe { idjag_verifier_new(cs(&verifier_config(&kit)).as_ptr(), &mut v, e.out()) },
        IDJAG_OK
    );
    assert_eq!(
        text(unsafe { idjag_verifier_issuer(v) }).as_deref(),
        Some(kit.as_issuer())
    );
    assert_eq!(
        unsafe { idjag_verifier_prefetch_keys(v, e.out()) },
        IDJAG_OK
    );
    let id_jag = cs(&kit.mint_id_jag("alice"));
    let client = cs(&kit.as_client().client_id);
    let mut g = null_mut();
    assert_eq!(
        unsafe {
            idjag_verifier_verify(v, id_jag.as_ptr(), client.as_ptr(), null(), &mut g, e.out())
        },
        IDJAG_OK
    );
    let g = take_json(g);
    assert_eq!(g["sub"], "alice");
    assert_eq!(g["resource"][0], kit.mcp_url());
    assert_eq!(g["iss"], kit.idp_issuer());
    // The core's view of the grant: an ID-JAG without a `scope` claim grants no scope.
    assert_eq!(g["scope"], Value::Null);
    assert_eq!(g["scope_source"], "no_statement");
    assert!(g["claims"]["email"].is_string(), "{g}");

    // The same assertion again: replayed.
    let mut g2: *mut idjag_json = sentinel();
    let r = unsafe {
        idjag_verifier_verify(
            v,
            id_jag.as_ptr(),
            client.as_ptr(),
            null(),
            &mut g2,
            e.out(),
        )
    };
    assert_eq!(r, IDJAG_VERIFICATION_FAILED);
    assert_eq!(g2, sentinel());
    assert_eq!(e.code().as_deref(), Some("verification_failed"));
    assert_eq!(e.reason().as_deref(), Some("replayed"));
    assert_eq!(e.step().as_deref(), Some("verify"));
    assert_eq!(e.json()["reason"], "replayed");
    let mut status = 0u16;
    let mut body = null_mut();
    assert_eq!(
        unsafe { idjag_error_token_response(e.0, &mut status, &mut body, null_mut()) },
        IDJAG_OK
    );
    assert_eq!(status, 400);
    assert_eq!(take_json(body)["error"], "invalid_grant");
    e.clear();

    // Another client presenting it: client mismatch.
    let fresh = cs(&kit.mint_id_jag("bob"));
    let r = unsafe {
        idjag_verifier_verify(
            v,
            fresh.as_ptr(),
            cs("someone-else").as_ptr(),
            null(),
            &mut g2,
            e.out(),
        )
    };
    assert_eq!(r, IDJAG_VERIFICATION_FAILED);
    assert_eq!(e.reason().as_deref(), Some("client_mismatch"));
    e.clear();

    // Asking for a scope such an ID-JAG cannot grant: invalid_scope on the wire.
    let scoped = cs(&kit.mint_id_jag("carol"));
    let r = unsafe {
        idjag_verifier_verify(
            v,
            scoped.as_ptr(),
            client.as_ptr(),
            cs("mcp:admin").as_ptr(),
            &mut g2,
            e.out(),
        )
    };
    assert_eq!(r, IDJAG_VERIFICATION_FAILED);
    assert_eq!(e.reason().as_deref(), Some("scope_not_granted"));
    let mut body = null_mut();
    assert_eq!(
        unsafe { idjag_error_token_response(e.0, &mut status, &mut body, null_mut()) },
        IDJAG_OK
    );
    assert_eq!(status, 400);
    assert_eq!(take_json(body)["error"], "invalid_scope");
    assert_eq!(g2, sentinel());
    unsafe { idjag_verifier_free(v) };
}
