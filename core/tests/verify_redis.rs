//! The Redis replay store against a real `redis-server` (started by each test on a random
//! loopback port and killed at the end): sharing across verifiers, threads and processes,
//! and failing closed when Redis is gone.
//!
//! These tests FAIL when `redis-server` is not installed (run `scripts/ensure-redis.sh`),
//! unless `IDJAG_ALLOW_NO_REDIS=1` is set explicitly.
#![cfg(feature = "redis")]
#![allow(clippy::unwrap_used)]

#[path = "verify_common/mod.rs"]
mod common;

use common::*;
use idjag::clock::{Clock, ManualClock, SystemClock};
use idjag::verify::{
    replay_key, token_error_response, IdJagVerifier, RejectReason, VerifierConfig,
};
use idjag::{Action, ErrorKind};
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
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
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
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
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let url = format!("redis://127.0.0.1:{port}/0");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                break; // exited (port taken?): try another port
            }
            let ok = redis::Client::open(url.as_str())
                .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(200)))
                .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c))
                .is_ok();
            if ok {
                return Some(RedisServer { child, url });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("redis-server did not start");
}

fn now() -> i64 {
    SystemClock.now_secs()
}

fn redis_config(key: &TestKey, url: &str, extra: Value) -> Value {
    let mut replay = json!({"redis_url": url});
    for (k, v) in extra.as_object().into_iter().flatten() {
        replay[k] = v.clone();
    }
    config_json(&[key], &[key], json!({"replay": replay}))
}

fn build(config: &Value) -> IdJagVerifier {
    IdJagVerifier::from_config(VerifierConfig::from_json(&config.to_string()).unwrap()).unwrap()
}

#[test]
fn two_verifiers_share_one_redis() {
    let Some(server) = redis() else { return };
    let key = TestKey::es256("k1");
    let cfg = redis_config(&key, &server.url, json!({"key_prefix": "test:jti:"}));
    let (a, b) = (build(&cfg), build(&cfg));
    let t = key.token(&claims_at(now(), "shared-1"));
    let g = a.verify(&t, CLIENT, None).unwrap();
    for v in [&b, &a] {
        let e = v
            .verify(&t, CLIENT, None)
            .expect_err("replay across verifiers");
        assert_eq!(RejectReason::of(&e), Some(RejectReason::Replayed), "{e}");
    }
    // The key is (iss, jti)-derived, prefixed, and expires one second after the last second
    // of acceptance (exp + skew) plus the skew margin.
    let mut c = redis::Client::open(server.url.as_str())
        .unwrap()
        .get_connection()
        .unwrap();
    let name = format!("test:jti:{}", replay_key(IDP, "shared-1"));
    let ttl: i64 = redis::cmd("TTL").arg(&name).query(&mut c).unwrap();
    let expected = g.exp + 60 + 1 + 60 - now();
    assert!(
        (expected - 3..=expected + 1).contains(&ttl),
        "ttl {ttl}, expected ≈{expected}"
    );
}

/// Replay policy `until_exp` with Redis: two verifiers (replicas) accept the same ID-JAG
/// again and again, and agree through Redis on which presentation was the first — also
/// under a 16-thread race; the record has the same lifetime as under `single_use`, and a
/// `single_use` verifier on the same Redis rejects what they accepted.
#[test]
fn until_exp_replicas_share_first_use_through_redis() {
    let Some(server) = redis() else { return };
    let key = TestKey::es256("k1");
    let cfg = redis_config(
        &key,
        &server.url,
        json!({"policy": "until_exp", "key_prefix": "ue:jti:"}),
    );
    let (a, b) = (build(&cfg), build(&cfg));
    let t = key.token(&claims_at(now(), "ue-shared-1"));
    let g = a.verify(&t, CLIENT, None).unwrap();
    assert!(g.first_use);
    for v in [&b, &a, &b] {
        assert!(!v.verify(&t, CLIENT, None).unwrap().first_use);
    }
    let mut c = redis::Client::open(server.url.as_str())
        .unwrap()
        .get_connection()
        .unwrap();
    let name = format!("ue:jti:{}", replay_key(IDP, "ue-shared-1"));
    let ttl: i64 = redis::cmd("TTL").arg(&name).query(&mut c).unwrap();
    let expected = g.exp + 60 + 1 + 60 - now();
    assert!(
        (expected - 3..=expected + 1).contains(&ttl),
        "ttl {ttl}, expected ≈{expected}"
    );
    let single = build(&redis_config(
        &key,
        &server.url,
        json!({"key_prefix": "ue:jti:"}),
    ));
    let e = single.verify(&t, CLIENT, None).expect_err("single_use");
    assert_eq!(RejectReason::of(&e), Some(RejectReason::Replayed));

    let t = Arc::new(key.token(&claims_at(now(), "ue-race")));
    let barrier = Arc::new(Barrier::new(16));
    let handles: Vec<_> = (0..16)
        .map(|i| {
            let v = if i % 2 == 0 { a.clone() } else { b.clone() };
            let (t, barrier) = (t.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                v.verify(&t, CLIENT, None).map(|g| g.first_use)
            })
        })
        .collect();
    let firsts: Vec<bool> = handles
        .into_iter()
        .map(|h| h.join().unwrap().unwrap())
        .collect();
    assert_eq!(firsts.iter().filter(|f| **f).count(), 1, "{firsts:?}");

    // Redis gone: `until_exp` fails closed as well.
    drop(server);
    let e = a.verify(&t, CLIENT, None).expect_err("redis down");
    assert!(
        matches!(e.kind(), ErrorKind::Transport | ErrorKind::Timeout),
        "{e:?}"
    );
    assert_eq!(e.reason(), None);
}

#[test]
fn sixteen_threads_two_verifiers_accept_once() {
    let Some(server) = redis() else { return };
    let key = TestKey::ed25519("k1");
    let cfg = redis_config(&key, &server.url, json!({}));
    let (a, b) = (build(&cfg), build(&cfg));
    for round in 0..3 {
        let t = Arc::new(key.token(&claims_at(now(), &format!("race-{round}"))));
        let barrier = Arc::new(Barrier::new(16));
        let handles: Vec<_> = (0..16)
            .map(|i| {
                let v = if i % 2 == 0 { a.clone() } else { b.clone() };
                let (t, barrier) = (t.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    v.verify(&t, CLIENT, None)
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(
            results.iter().filter(|r| r.is_ok()).count(),
            1,
            "round {round}"
        );
        for e in results.iter().filter_map(|r| r.as_ref().err()) {
            assert_eq!(RejectReason::of(e), Some(RejectReason::Replayed), "{e}");
        }
    }
}

const CHILD_ENV: &str = "IDJAG_VERIFY_CHILD_CONFIG";

/// Runs only as a child process of `separate_processes_accept_once` (a no-op otherwise):
/// verifies one token against the shared Redis at an agreed instant and prints the outcome.
#[test]
fn child_process_verifier() {
    let Ok(config) = std::env::var(CHILD_ENV) else {
        return;
    };
    let token = std::env::var("IDJAG_VERIFY_CHILD_TOKEN").unwrap();
    let go_at: i64 = std::env::var("IDJAG_VERIFY_CHILD_GO_AT_MS")
        .unwrap()
        .parse()
        .unwrap();
    let v = build(&serde_json::from_str(&config).unwrap());
    let wait = go_at - SystemClock.now_millis();
    if wait > 0 {
        std::thread::sleep(Duration::from_millis(wait as u64));
    }
    let outcome = match v.verify(&token, CLIENT, None) {
        Ok(_) => "accepted".to_string(),
        Err(e) => e.reason().unwrap_or(e.code()).to_string(),
    };
    println!("\nIDJAG-CHILD-RESULT={outcome}");
}

#[test]
fn separate_processes_accept_once() {
    let Some(server) = redis() else { return };
    let key = TestKey::es256("k1");
    let cfg = redis_config(&key, &server.url, json!({}));
    let token = key.token(&claims_at(now(), "processes-1"));
    let go_at = SystemClock.now_millis() + 1500;
    let exe = std::env::current_exe().unwrap();
    let children: Vec<Child> = (0..3)
        .map(|_| {
            Command::new(&exe)
                .args([
                    "--exact",
                    "child_process_verifier",
                    "--nocapture",
                    "--test-threads",
                    "1",
                ])
                .env(CHILD_ENV, cfg.to_string())
                .env("IDJAG_VERIFY_CHILD_TOKEN", &token)
                .env("IDJAG_VERIFY_CHILD_GO_AT_MS", go_at.to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut outcomes = Vec::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "child failed");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line = stdout
            .lines()
            .find_map(|l| l.split("IDJAG-CHILD-RESULT=").nth(1))
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no result from child: {stdout}"))
            .to_string();
        outcomes.push(line);
    }
    assert_eq!(
        outcomes.iter().filter(|o| *o == "accepted").count(),
        1,
        "outcomes: {outcomes:?}"
    );
    assert!(
        outcomes.iter().all(|o| o == "accepted" || o == "replayed"),
        "{outcomes:?}"
    );
    // And this process sees it as used too.
    let e = build(&cfg).verify(&token, CLIENT, None).expect_err("used");
    assert_eq!(RejectReason::of(&e), Some(RejectReason::Replayed));
}

#[test]
fn redis_unavailable_fails_closed_as_transport_error() {
    let Some(server) = redis() else { return };
    let key = TestKey::es256("k1");
    let v = build(&redis_config(
        &key,
        &server.url,
        json!({"redis_timeout_ms": 500}),
    ));
    v.verify(&key.token(&claims_at(now(), "down-0")), CLIENT, None)
        .unwrap();
    drop(server); // kill redis-server: the pooled connection is now dead

    let t = key.token(&claims_at(now(), "down-1"));
    for _ in 0..2 {
        let e = v.verify(&t, CLIENT, None).expect_err("redis down");
        assert!(
            matches!(e.kind(), ErrorKind::Transport | ErrorKind::Timeout),
            "{e:?}"
        );
        assert_eq!(e.reason(), None, "not a rejection");
        assert_eq!(e.action(), Action::Retry);
        assert_eq!(token_error_response(&e).status, 503);
        assert_no_leak(&e, &t);
    }

    // A verifier configured against a port where nothing listens.
    let cfg = redis_config(
        &key,
        &format!("redis://:planted-pw@127.0.0.1:{}/0", free_port()),
        json!({}),
    );
    let v = build(&cfg);
    let e = v.verify(&t, CLIENT, None).expect_err("nothing listening");
    assert_eq!(e.kind(), ErrorKind::Transport, "{e:?}");
    assert!(!format!("{e} {e:?} {v:?}").contains("planted-pw"));
}

#[test]
fn invalid_redis_url_is_a_configuration_error() {
    let key = TestKey::es256("k1");
    let cfg = redis_config(&key, "not-a-url://x", json!({}));
    let e = IdJagVerifier::from_config(VerifierConfig::from_json(&cfg.to_string()).unwrap())
        .expect_err("bad url");
    assert_eq!(e.kind(), ErrorKind::Configuration);
    assert!(e.message().contains("replay.redis_url"), "{e}");
}

/// A verifier on `clock` whose replay store is the Redis at `url` (following the same clock).
fn manual_verifier(key: &TestKey, url: &str, clock: &ManualClock) -> IdJagVerifier {
    let cfg = config_json(
        &[key],
        &[key],
        json!({"replay": {"redis_url": url}, "max_age_s": 3600, "max_lifetime_s": 3600}),
    );
    IdJagVerifier::builder(VerifierConfig::from_json(&cfg.to_string()).unwrap())
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap()
}

fn pttl(url: &str, iss: &str, jti: &str) -> i64 {
    let mut c = redis::Client::open(url).unwrap().get_connection().unwrap();
    let name = format!(
        "{}{}",
        idjag::verify::RedisReplayStore::DEFAULT_PREFIX,
        replay_key(iss, jti)
    );
    redis::cmd("PTTL").arg(&name).query(&mut c).unwrap()
}

/// B1 with Redis: whenever the first use happens — up to the last millisecond of the last
/// accepted second `exp + skew` — the `SET NX PX` record outlives what is left of the
/// acceptance window, by the skew margin.
#[test]
fn redis_record_outlives_the_acceptance_window() {
    let Some(server) = redis() else { return };
    let key = TestKey::es256("k1");
    let clock = ManualClock::new(0);
    let v = manual_verifier(&key, &server.url, &clock);
    let last_ms = (NOW + 290 + 60) * 1000; // start of the last accepted second
    let window_end = last_ms + 1000; // first millisecond at which it is `expired`
    for (i, first) in [
        last_ms - 1500,
        last_ms - 1,
        last_ms,
        last_ms + 1,
        last_ms + 999,
    ]
    .into_iter()
    .enumerate()
    {
        let jti = format!("redis-b1-{i}");
        let t = key.token(&claims(&jti));
        set_millis(&clock, first);
        v.verify(&t, CLIENT, None).unwrap();
        let e = v.verify(&t, CLIENT, None).expect_err("same instant");
        assert_eq!(RejectReason::of(&e), Some(RejectReason::Replayed));
        let left = window_end - first;
        let ttl = pttl(&server.url, IDP, &jti);
        // Strictly longer than the rest of the window, with the 60 s margin (minus the real
        // time this test took since the SET).
        assert!(
            ttl > left + 59_000,
            "first use at {first} ms: PTTL {ttl} ms, window left {left} ms"
        );
    }
}

/// B1 with Redis, end to end: a record written 1.2 s before the last accepted second must
/// still be there when the same token is presented in that second, 1.3 s later in real time.
#[test]
fn redis_last_second_allows_no_extra_use() {
    let Some(server) = redis() else { return };
    let key = TestKey::es256("k1");
    let clock = ManualClock::new(0);
    let v = manual_verifier(&key, &server.url, &clock);
    let last_ms = (NOW + 290 + 60) * 1000;
    let t = key.token(&claims("redis-last-second"));
    set_millis(&clock, last_ms - 1200);
    v.verify(&t, CLIENT, None).unwrap();
    std::thread::sleep(Duration::from_millis(1300));
    set_millis(&clock, last_ms + 900);
    let e = v.verify(&t, CLIENT, None).expect_err("used");
    assert_eq!(RejectReason::of(&e), Some(RejectReason::Replayed), "{e}");
}
