//! libidjag ships the Redis replay store (`replay: {"redis_url": …}` in the verifier
//! configuration): verifiers built through the C ABI that share one real `redis-server`
//! (started here on a random loopback port, killed at the end) accept an ID-JAG exactly once,
//! and an unreachable Redis fails closed (a transport-class result, 503 on the wire).
//!
//! These tests FAIL when `redis-server` is not installed (run `scripts/ensure-redis.sh`),
//! unless `IDJAG_ALLOW_NO_REDIS=1` is set explicitly — as `core/tests/verify_redis.rs`.
#![allow(clippy::undocumented_unsafe_blocks)]

mod common;

use common::*;
use idjag_ffi::*;
use idjag_result::*;
use idjag_testkit::TestKit;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::ptr::{null, null_mut};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

struct RedisServer {
    child: Child,
    url: String,
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// `PING` over RESP.
fn pong(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
    if s.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 7];
    s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
}

/// Starts redis-server, or returns `None` only when skipping was explicitly allowed.
fn redis() -> Option<RedisServer> {
    let bin = std::env::var("IDJAG_REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
    if Command::new(&bin)
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_err()
    {
        if std::env::var("IDJAG_ALLOW_NO_REDIS").as_deref() == Ok("1") {
            eprintln!("SKIPPED: redis-server not found and IDJAG_ALLOW_NO_REDIS=1");
            return None;
        }
        panic!("redis-server not found: run scripts/ensure-redis.sh (or set IDJAG_ALLOW_NO_REDIS=1 to skip the Redis tests)");
    }
    for _attempt in 0..5 {
        let port = free_port();
        let mut child = Command::new(&bin)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                break; // exited (port taken?): try another port
            }
            if pong(port) {
                return Some(RedisServer {
                    child,
                    url: format!("redis://127.0.0.1:{port}/0"),
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("redis-server did not start");
}

/// The kit's verifier configuration with `replay` set.
fn config(kit: &TestKit, replay: Option<Value>) -> String {
    let mut cfg: Value = serde_json::from_str(&verifier_config(kit)).expect("json");
    if let Some(r) = replay {
        cfg["replay"] = r;
    }
    cfg.to_string()
}

fn new_verifier(config: &str) -> *mut idjag_verifier {
    let mut v = null_mut();
    let mut e = Error::none();
    let r = unsafe { idjag_verifier_new(cs(config).as_ptr(), &mut v, e.out()) };
    assert_eq!(r, IDJAG_OK, "{:?}", e.message());
    v
}

/// Verifies `id_jag` for the kit's client: the result and the reject reason.
fn verify(
    v: *const idjag_verifier,
    id_jag: &str,
    client_id: &str,
) -> (idjag_result, Option<String>) {
    let mut g = null_mut();
    let mut e = Error::none();
    let r = unsafe {
        idjag_verifier_verify(
            v,
            cs(id_jag).as_ptr(),
            cs(client_id).as_ptr(),
            null(),
            &mut g,
            e.out(),
        )
    };
    unsafe { idjag_json_free(g) };
    (r, e.reason())
}

/// A verifier handle that threads may share (the header: verifiers are thread-safe).
#[derive(Clone, Copy)]
struct Shared(*mut idjag_verifier);
// SAFETY: idjag_verifier is documented as safe to share between threads.
unsafe impl Send for Shared {}
// SAFETY: as above.
unsafe impl Sync for Shared {}

/// Two verifiers (two replicas of one authorization server) sharing one Redis: 8 threads,
/// 4 on each, present the same ID-JAG at once and exactly one is accepted; then, one by one,
/// a fresh ID-JAG accepted by one replica is `replayed` at the other. Two verifiers with the
/// default in-memory store each accept the same ID-JAG (what Redis is there to prevent), and
/// a verifier with another key prefix does not share the record.
#[test]
fn two_verifiers_sharing_one_redis_accept_an_id_jag_exactly_once() {
    let Some(server) = redis() else { return };
    let kit = TestKit::start();
    let client = kit.as_client().client_id;
    let shared = config(
        &kit,
        Some(json!({"redis_url": server.url, "key_prefix": "ffi-test:jti:"})),
    );
    let (a, b) = (new_verifier(&shared), new_verifier(&shared));
    for v in [a, b] {
        assert_eq!(
            unsafe { idjag_verifier_prefetch_keys(v, null_mut()) },
            IDJAG_OK
        );
    }

    let id_jag = kit.mint_id_jag("alice");
    let barrier = Arc::new(Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let v = if i % 2 == 0 { Shared(a) } else { Shared(b) };
            let (barrier, id_jag, client) = (barrier.clone(), id_jag.clone(), client.clone());
            std::thread::spawn(move || {
                let v = v;
                barrier.wait();
                verify(v.0, &id_jag, &client)
            })
        })
        .collect();
    let results: Vec<_> = handles
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect();
    let accepted = results.iter().filter(|(r, _)| *r == IDJAG_OK).count();
    assert_eq!(accepted, 1, "{results:?}");
    assert!(
        results.iter().all(|(r, reason)| *r == IDJAG_OK
            || (*r == IDJAG_VERIFICATION_FAILED && reason.as_deref() == Some("replayed"))),
        "{results:?}"
    );

    let fresh = kit.mint_id_jag("bob");
    assert_eq!(verify(a, &fresh, &client), (IDJAG_OK, None));
    for v in [b, a] {
        assert_eq!(
            verify(v, &fresh, &client),
            (IDJAG_VERIFICATION_FAILED, Some("replayed".into()))
        );
    }

    // Another key prefix is another record: it accepts what the others have seen.
    let other = new_verifier(&config(
        &kit,
        Some(json!({"redis_url": server.url, "key_prefix": "ffi-other:jti:"})),
    ));
    assert_eq!(verify(other, &fresh, &client), (IDJAG_OK, None));

    // Without Redis, each replica remembers only its own: both accept the same ID-JAG.
    let (m1, m2) = (
        new_verifier(&config(&kit, None)),
        new_verifier(&config(&kit, None)),
    );
    let once_more = kit.mint_id_jag("carol");
    assert_eq!(verify(m1, &once_more, &client), (IDJAG_OK, None));
    assert_eq!(verify(m2, &once_more, &client), (IDJAG_OK, None));

    unsafe {
        for v in [a, b, other, m1, m2] {
            idjag_verifier_free(v);
        }
    }
}

/// Redis gone: verification fails closed with a transport-class result (answer 503, the
/// client may retry), never accepts; the Redis URL's password never shows.
#[test]
fn an_unreachable_redis_fails_closed() {
    let Some(server) = redis() else { return };
    let kit = TestKit::start();
    let client = kit.as_client().client_id;
    let dead_with_password = server.url.replace("redis://", "redis://:planted-password@");
    let v = new_verifier(&config(
        &kit,
        Some(json!({"redis_url": server.url, "redis_timeout_ms": 500})),
    ));
    assert_eq!(verify(v, &kit.mint_id_jag("alice"), &client).0, IDJAG_OK);
    drop(server); // Redis stops.
    let with_password = new_verifier(&config(
        &kit,
        Some(json!({"redis_url": dead_with_password, "redis_timeout_ms": 500})),
    ));

    for v in [v, with_password] {
        let id_jag = kit.mint_id_jag("bob");
        let mut g: *mut idjag_json = sentinel();
        let mut e = Error::none();
        let started = Instant::now();
        let r = unsafe {
            idjag_verifier_verify(
                v,
                cs(&id_jag).as_ptr(),
                cs(&client).as_ptr(),
                null(),
                &mut g,
                e.out(),
            )
        };
        assert!(
            matches!(r, IDJAG_TRANSPORT | IDJAG_TIMEOUT),
            "{r:?}: {:?}",
            e.message()
        );
        assert_eq!(g, sentinel(), "nothing granted");
        assert!(started.elapsed() < Duration::from_secs(10));
        assert_eq!(e.action().as_deref(), Some("retry"));
        let mut status = 0u16;
        let mut body = null_mut();
        assert_eq!(
            unsafe { idjag_error_token_response(e.0, &mut status, &mut body, null_mut()) },
            IDJAG_OK
        );
        assert_eq!(status, 503);
        assert_eq!(take_json(body)["error"], "temporarily_unavailable");
        let shown = format!("{:?} {}", e.message(), e.json());
        assert!(!shown.contains("planted-password"), "{shown}");
        unsafe { idjag_verifier_free(v) };
    }
}
