//! JWKS over real loopback HTTP (a tiny_http server in the test that counts requests):
//! rotation, unknown-kid floods, Cache-Control, discovery, and fetch failures that are not
//! rejections.
#![allow(clippy::unwrap_used)]

#[path = "verify_common/mod.rs"]
mod common;

use common::*;
use idjag::clock::ManualClock;
use idjag::verify::{token_error_response, IdJagVerifier, RejectReason, VerifierConfig};
use idjag::{Action, ErrorKind, Step};
use jsonwebtoken::Algorithm;
use serde_json::{json, Value};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Barrier};
use std::time::Duration;

/// A verifier trusting `IDP` through `server`'s `/jwks`, on a manual clock.
fn http_verifier(server: &JwksServer, clock: &ManualClock, extra: Value) -> IdJagVerifier {
    let mut cfg = json!({
        "issuer": AS,
        "resources": [RESOURCE],
        "trusted_idps": [{"issuer": IDP, "jwks_uri": server.jwks_uri()}]
    });
    for (k, v) in extra.as_object().into_iter().flatten() {
        cfg[k] = v.clone();
    }
    let cfg = VerifierConfig::from_json(&cfg.to_string()).unwrap();
    IdJagVerifier::builder(cfg)
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap()
}

fn token_now(key: &TestKey, clock: &ManualClock, jti: &str) -> String {
    key.token(&claims_at(clock_secs(clock), jti))
}

fn clock_secs(clock: &ManualClock) -> i64 {
    use idjag::clock::Clock;
    clock.now_secs()
}

fn reason(r: idjag::Result<idjag::VerifiedGrant>) -> Option<RejectReason> {
    match r {
        Ok(_) => None,
        Err(e) => Some(RejectReason::of(&e).unwrap_or_else(|| panic!("not a rejection: {e}"))),
    }
}

#[test]
fn rotation_new_key_after_one_refetch_old_key_dropped() {
    let k1 = TestKey::es256("k1");
    let k2 = TestKey::rsa("k2", Algorithm::RS256);
    let server = JwksServer::start(jwks(&[&k1]));
    let clock = ManualClock::new(NOW);
    let v = http_verifier(&server, &clock, json!({}));

    v.verify(&token_now(&k1, &clock, "r1"), CLIENT, None)
        .unwrap();
    assert_eq!(server.hits(), 1);

    // The IdP publishes k2. Within the refetch interval an unknown kid does not refetch.
    server.set_jwks(jwks(&[&k1, &k2]));
    clock.advance(Duration::from_secs(5));
    assert_eq!(
        reason(v.verify(&token_now(&k2, &clock, "r2"), CLIENT, None)),
        Some(RejectReason::UnknownKey)
    );
    assert_eq!(server.hits(), 1);

    // After the interval, one refetch picks k2 up.
    clock.advance(Duration::from_secs(30));
    v.verify(&token_now(&k2, &clock, "r3"), CLIENT, None)
        .unwrap();
    assert_eq!(server.hits(), 2);
    v.verify(&token_now(&k2, &clock, "r4"), CLIENT, None)
        .unwrap();
    v.verify(&token_now(&k1, &clock, "r5"), CLIENT, None)
        .unwrap();
    assert_eq!(server.hits(), 2, "known keys are served from the cache");

    // The IdP retires k1. The next refetch (here triggered by an unknown kid) drops it:
    // no rollback to the retired key.
    server.set_jwks(jwks(&[&k2]));
    clock.advance(Duration::from_secs(31));
    let k3 = TestKey::es256("k3");
    assert_eq!(
        reason(v.verify(&token_now(&k3, &clock, "r6"), CLIENT, None)),
        Some(RejectReason::UnknownKey)
    );
    assert_eq!(server.hits(), 3);
    assert_eq!(
        reason(v.verify(&token_now(&k1, &clock, "r7"), CLIENT, None)),
        Some(RejectReason::UnknownKey)
    );
    v.verify(&token_now(&k2, &clock, "r8"), CLIENT, None)
        .unwrap();
    assert_eq!(server.hits(), 3);
}

#[test]
fn retired_key_is_dropped_when_the_cache_expires() {
    let k1 = TestKey::ed25519("k1");
    let k2 = TestKey::ed25519("k2");
    let server = JwksServer::start(jwks(&[&k1, &k2]));
    let clock = ManualClock::new(NOW);
    let v = http_verifier(&server, &clock, json!({"jwks_cache_ttl_s": 60}));
    v.verify(&token_now(&k1, &clock, "e1"), CLIENT, None)
        .unwrap();
    server.set_jwks(jwks(&[&k2]));
    clock.advance(Duration::from_secs(61));
    assert_eq!(
        reason(v.verify(&token_now(&k1, &clock, "e2"), CLIENT, None)),
        Some(RejectReason::UnknownKey)
    );
    assert_eq!(server.hits(), 2);
}

#[test]
fn unknown_kid_flood_costs_at_most_one_fetch() {
    let k1 = TestKey::es256("k1");
    let server = JwksServer::start(jwks(&[&k1]));
    // Slow responses make the concurrent misses overlap the fetch in flight.
    server.state.lock().unwrap().delay = Some(Duration::from_millis(200));
    let clock = ManualClock::new(NOW);
    let v = http_verifier(&server, &clock, json!({}));
    let attacker = TestKey::es256("x");

    // Cold cache: 100 tokens with random kids from 10 threads.
    let flood = |tag: &str| -> Vec<Option<RejectReason>> {
        let barrier = Arc::new(Barrier::new(10));
        let handles: Vec<_> = (0..10)
            .map(|t| {
                let (v, attacker, barrier, clock) =
                    (v.clone(), attacker.clone(), barrier.clone(), clock.clone());
                let tag = tag.to_string();
                std::thread::spawn(move || {
                    barrier.wait();
                    (0..10)
                        .map(|i| {
                            let mut h = attacker.header();
                            h["kid"] = json!(format!("{tag}-kid-{t}-{i}"));
                            let tok = attacker.sign(
                                &h,
                                &claims_at(clock_secs(&clock), &format!("{tag}-{t}-{i}")),
                            );
                            reason(v.verify(&tok, CLIENT, None))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    };
    let cold = flood("cold");
    assert_eq!(cold.len(), 100);
    assert!(cold.iter().all(|r| *r == Some(RejectReason::UnknownKey)));
    assert_eq!(server.hits(), 1, "a cold flood coalesces into one fetch");

    // Warm cache, after the refetch interval: the flood triggers at most one refetch.
    clock.advance(Duration::from_secs(31));
    let warm = flood("warm");
    assert!(warm.iter().all(|r| *r == Some(RejectReason::UnknownKey)));
    assert_eq!(server.hits(), 2, "a warm flood costs at most one refetch");
    // And valid tokens keep working throughout.
    v.verify(&token_now(&k1, &clock, "ok-after-flood"), CLIENT, None)
        .unwrap();
    assert_eq!(server.hits(), 2);
}

/// B5: while the refetch for an unknown `kid` is in flight (a JWKS endpoint answering after
/// 4 s), a token whose key is cached and fresh verifies at once; only the miss waits. The
/// hit runs on its own thread and the test fails after 2 s instead of hanging.
#[test]
fn cached_key_does_not_wait_for_a_refetch_in_flight() {
    use std::sync::mpsc;
    use std::time::Instant;
    let k1 = TestKey::es256("k1");
    let server = JwksServer::start(jwks(&[&k1]));
    let clock = ManualClock::new(NOW);
    let v = http_verifier(&server, &clock, json!({}));
    v.verify(&token_now(&k1, &clock, "b5-warm"), CLIENT, None)
        .unwrap();
    assert_eq!(server.hits(), 1);

    // Past the refetch interval, well within the cache lifetime: an unknown kid refetches.
    clock.advance(Duration::from_secs(31));
    server.state.lock().unwrap().delay = Some(Duration::from_secs(4));
    let stranger = TestKey::es256("k9");
    let miss = {
        let (v, t) = (v.clone(), token_now(&stranger, &clock, "b5-miss"));
        std::thread::spawn(move || reason(v.verify(&t, CLIENT, None)))
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.hits() < 2 {
        assert!(Instant::now() < deadline, "the refetch never started");
        std::thread::sleep(Duration::from_millis(5));
    }

    // The refetch is in flight (the server holds it for 4 s). A cached key must not wait.
    let (tx, rx) = mpsc::channel();
    {
        let (v, t) = (v.clone(), token_now(&k1, &clock, "b5-hit"));
        std::thread::spawn(move || {
            let _ = tx.send(v.verify(&t, CLIENT, None).map(|g| g.jti));
        });
    }
    let hit = rx
        .recv_timeout(Duration::from_secs(2))
        .expect("a token with a cached key waited for the JWKS refetch in flight");
    assert_eq!(hit.unwrap(), "b5-hit");

    // The miss waited for the refetch and was answered from its result.
    assert_eq!(miss.join().unwrap(), Some(RejectReason::UnknownKey));
    assert_eq!(server.hits(), 2);
}

#[test]
fn cache_control_max_age_is_honoured() {
    let k1 = TestKey::es256("k1");
    let server = JwksServer::start(jwks(&[&k1]));
    server.state.lock().unwrap().cache_control = Some("public, max-age=120".into());
    let clock = ManualClock::new(NOW);
    let v = http_verifier(&server, &clock, json!({}));
    v.verify(&token_now(&k1, &clock, "m1"), CLIENT, None)
        .unwrap();
    clock.advance(Duration::from_secs(110));
    v.verify(&token_now(&k1, &clock, "m2"), CLIENT, None)
        .unwrap();
    assert_eq!(server.hits(), 1, "fresh for 120 s");
    clock.advance(Duration::from_secs(15));
    v.verify(&token_now(&k1, &clock, "m3"), CLIENT, None)
        .unwrap();
    assert_eq!(server.hits(), 2, "refetched after max-age");

    // `no-store` cannot turn every verification into a fetch: clamped to the refetch interval.
    server.state.lock().unwrap().cache_control = Some("no-store".into());
    clock.advance(Duration::from_secs(200));
    v.verify(&token_now(&k1, &clock, "m4"), CLIENT, None)
        .unwrap();
    assert_eq!(server.hits(), 3);
    clock.advance(Duration::from_secs(10));
    v.verify(&token_now(&k1, &clock, "m5"), CLIENT, None)
        .unwrap();
    assert_eq!(server.hits(), 3);
    clock.advance(Duration::from_secs(25));
    v.verify(&token_now(&k1, &clock, "m6"), CLIENT, None)
        .unwrap();
    assert_eq!(server.hits(), 4);

    // Without Cache-Control the configured default applies (600 s).
    server.state.lock().unwrap().cache_control = None;
    clock.advance(Duration::from_secs(31));
    v.verify(&token_now(&k1, &clock, "m7"), CLIENT, None)
        .unwrap();
    assert_eq!(server.hits(), 5);
    clock.advance(Duration::from_secs(590));
    v.verify(&token_now(&k1, &clock, "m8"), CLIENT, None)
        .unwrap();
    assert_eq!(server.hits(), 5);
    clock.advance(Duration::from_secs(20));
    v.verify(&token_now(&k1, &clock, "m9"), CLIENT, None)
        .unwrap();
    assert_eq!(server.hits(), 6);
}

#[test]
fn jwks_uri_discovered_from_issuer_metadata() {
    let k1 = TestKey::ed25519("k1");
    let server = JwksServer::start(jwks(&[&k1]));
    let issuer = server.base.clone();
    server.state.lock().unwrap().metadata = Some(json!({
        "issuer": issuer,
        "jwks_uri": server.jwks_uri(),
        "token_endpoint": format!("{}/token", server.base)
    }));
    let clock = ManualClock::new(NOW);
    let cfg = VerifierConfig::from_json(
        &json!({
            "issuer": AS,
            "resources": [RESOURCE],
            "trusted_idps": [{"issuer": issuer}]
        })
        .to_string(),
    )
    .unwrap();
    let v = IdJagVerifier::builder(cfg)
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    let t = k1.token(&with_iss(claims("d1"), &issuer));
    let g = v.verify(&t, CLIENT, None).unwrap();
    assert_eq!(g.iss, issuer);
    assert_eq!(server.metadata_hits.load(Ordering::SeqCst), 1);
    assert_eq!(server.hits(), 1);
}

fn with_iss(mut c: Value, iss: &str) -> Value {
    c["iss"] = json!(iss);
    c
}

#[test]
fn untrusted_issuer_and_disallowed_alg_cause_no_fetch() {
    let k1 = TestKey::es256("k1");
    let server = JwksServer::start(jwks(&[&k1]));
    let clock = ManualClock::new(NOW);
    let v = http_verifier(&server, &clock, json!({}));
    let evil = k1.token(&with_iss(claims_at(NOW, "u1"), "https://evil.example"));
    assert_eq!(
        reason(v.verify(&evil, CLIENT, None)),
        Some(RejectReason::UntrustedIssuer)
    );
    let mut h = k1.header();
    h["alg"] = json!("ES384");
    let es384 = k1.sign(&h, &claims_at(NOW, "u2"));
    assert_eq!(
        reason(v.verify(&es384, CLIENT, None)),
        Some(RejectReason::UnsupportedAlg)
    );
    let mut h = k1.header();
    h["jku"] = json!(server.jwks_uri());
    let jku = k1.sign(&h, &claims_at(NOW, "u3"));
    assert_eq!(
        reason(v.verify(&jku, CLIENT, None)),
        Some(RejectReason::HeaderKeyInjection)
    );
    assert_eq!(server.hits(), 0);
}

#[test]
fn unreachable_jwks_is_a_transport_error_not_a_rejection() {
    // A port with nothing listening.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let k1 = TestKey::es256("k1");
    let clock = ManualClock::new(NOW);
    let cfg = VerifierConfig::from_json(
        &json!({
            "issuer": AS,
            "resources": [RESOURCE],
            "trusted_idps": [{"issuer": IDP, "jwks_uri": format!("http://127.0.0.1:{port}/jwks")}]
        })
        .to_string(),
    )
    .unwrap();
    let v = IdJagVerifier::builder(cfg)
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap();
    let t = k1.token(&claims("down-1"));
    let e = v.verify(&t, CLIENT, None).expect_err("unreachable");
    assert!(
        matches!(e.kind(), ErrorKind::Transport | ErrorKind::Timeout),
        "{e:?}"
    );
    assert_eq!(e.reason(), None);
    assert_eq!(RejectReason::of(&e), None);
    assert_eq!(e.step(), Step::Verify);
    assert_eq!(e.action(), Action::Retry);
    let wire = token_error_response(&e);
    assert_eq!(
        (wire.status, wire.body.error.as_str()),
        (503, "temporarily_unavailable")
    );
    assert_no_leak(&e, &t);
    assert!(v.prefetch_keys().is_err());
}

#[test]
fn failing_jwks_endpoint_is_not_hammered_and_recovers() {
    let k1 = TestKey::es256("k1");
    let server = JwksServer::start(jwks(&[&k1]));
    server.state.lock().unwrap().jwks_status = 503;
    let clock = ManualClock::new(NOW);
    let v = http_verifier(&server, &clock, json!({}));
    for i in 0..20 {
        let e = v
            .verify(&token_now(&k1, &clock, &format!("f{i}")), CLIENT, None)
            .expect_err("503");
        assert_eq!(e.kind(), ErrorKind::HttpStatus, "{e}");
        assert_eq!(e.reason(), None);
        assert_eq!(e.action(), Action::Retry);
        assert_eq!(token_error_response(&e).status, 503);
    }
    assert_eq!(
        server.hits(),
        1,
        "a failed fetch is not retried within the interval"
    );
    server.state.lock().unwrap().jwks_status = 200;
    clock.advance(Duration::from_secs(31));
    v.verify(&token_now(&k1, &clock, "f-ok"), CLIENT, None)
        .unwrap();
    assert_eq!(server.hits(), 2);

    // A JWKS without a usable key is a response error, and the previous keys stay stale
    // (not rolled back to).
    server.set_jwks(json!({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}));
    clock.advance(Duration::from_secs(601));
    let e = v
        .verify(&token_now(&k1, &clock, "f-bad"), CLIENT, None)
        .expect_err("bad jwks");
    assert_eq!(e.kind(), ErrorKind::ResponseInvalid, "{e}");
    assert_eq!(e.reason(), None);
}

#[test]
fn failed_refetch_for_an_unknown_kid_is_not_a_rejection() {
    let k1 = TestKey::es256("k1");
    let k2 = TestKey::es256("k2");
    let server = JwksServer::start(jwks(&[&k1]));
    let clock = ManualClock::new(NOW);
    let v = http_verifier(&server, &clock, json!({}));
    v.verify(&token_now(&k1, &clock, "n1"), CLIENT, None)
        .unwrap();
    server.state.lock().unwrap().jwks_status = 500;
    clock.advance(Duration::from_secs(31));
    // k2 may well be in the JWKS we could not fetch: transport-class error, not unknown_key.
    let e = v
        .verify(&token_now(&k2, &clock, "n2"), CLIENT, None)
        .expect_err("refetch failed");
    assert_eq!(e.kind(), ErrorKind::HttpStatus, "{e}");
    assert_eq!(e.reason(), None);
    assert_eq!(server.hits(), 2);
    // Cached keys keep working while they are fresh.
    v.verify(&token_now(&k1, &clock, "n3"), CLIENT, None)
        .unwrap();
    assert_eq!(server.hits(), 2);
}

#[test]
fn prefetch_warms_the_cache() {
    let k1 = TestKey::es256("k1");
    let server = JwksServer::start(jwks(&[&k1]));
    let clock = ManualClock::new(NOW);
    let v = http_verifier(&server, &clock, json!({}));
    v.prefetch_keys().unwrap();
    assert_eq!(server.hits(), 1);
    v.prefetch_keys().unwrap();
    assert_eq!(server.hits(), 1, "fresh keys are not refetched");
    v.verify(&token_now(&k1, &clock, "p1"), CLIENT, None)
        .unwrap();
    assert_eq!(server.hits(), 1);
}
