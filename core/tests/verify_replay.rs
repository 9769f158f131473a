//! Single use at the expiry boundary, with the in-memory replay store and an injected clock
//! (millisecond steps around the last accepted second `exp + clock_skew_s`). The Redis store
//! gets the same checks in `verify_redis.rs`.
#![allow(clippy::unwrap_used)]

#[path = "verify_common/mod.rs"]
mod common;

use common::*;
use idjag::clock::ManualClock;
use idjag::verify::{IdJagVerifier, RejectReason};
use serde_json::json;

const SKEW: i64 = 60;

/// The last Unix second at which the standard claims (`exp = NOW + 290`) are accepted.
const LAST_ACCEPTED: i64 = NOW + 290 + SKEW;

fn boundary_verifier(clock: &ManualClock) -> IdJagVerifier {
    let key = TestKey::ed25519_from_seed("ed-1", [3u8; 32]);
    verifier(
        &config_json(
            &[&key],
            &[&key],
            json!({"clock_skew_s": SKEW, "max_age_s": 3600, "max_lifetime_s": 3600}),
        ),
        clock,
    )
}

fn token(jti: &str) -> String {
    TestKey::ed25519_from_seed("ed-1", [3u8; 32]).token(&claims(jti))
}

fn outcome(v: &IdJagVerifier, t: &str) -> Option<RejectReason> {
    match v.verify(t, CLIENT, None) {
        Ok(_) => None,
        Err(e) => Some(RejectReason::of(&e).unwrap_or_else(|| panic!("not a rejection: {e}"))),
    }
}

/// B1 (SPEC §2.G item 12): a used ID-JAG is never accepted again, at any instant. First uses
/// at several milliseconds around the last accepted second; then presentations at the same
/// instant and at every later instant of interest, until well after expiry.
#[test]
fn used_id_jag_is_never_accepted_again_around_exp_plus_skew() {
    let last_ms = LAST_ACCEPTED * 1000;
    let firsts = [
        last_ms - 2000,
        last_ms - 1000,
        last_ms - 1,
        last_ms,
        last_ms + 1,
        last_ms + 999,
    ];
    let laters = [
        last_ms - 1,
        last_ms,
        last_ms + 1,
        last_ms + 500,
        last_ms + 999,
        last_ms + 1000,
        last_ms + 1001,
        last_ms + 2000,
    ];
    for (i, first) in firsts.into_iter().enumerate() {
        let clock = ManualClock::new(0);
        let v = boundary_verifier(&clock);
        let t = token(&format!("b1-{i}"));
        set_millis(&clock, first);
        assert_eq!(outcome(&v, &t), None, "first use at {first} ms");
        assert_eq!(
            outcome(&v, &t),
            Some(RejectReason::Replayed),
            "second use at the same instant {first} ms"
        );
        for later in laters.into_iter().filter(|l| *l >= first) {
            set_millis(&clock, later);
            let want = if later < last_ms + 1000 {
                RejectReason::Replayed
            } else {
                RejectReason::Expired
            };
            assert_eq!(
                outcome(&v, &t),
                Some(want),
                "used at {first} ms, presented again at {later} ms"
            );
        }
    }
}

/// The acceptance window itself is unchanged: accepted through the last millisecond of
/// `exp + skew`, expired from the next second on.
#[test]
fn acceptance_ends_with_the_second_exp_plus_skew() {
    let clock = ManualClock::new(0);
    let v = boundary_verifier(&clock);
    set_millis(&clock, LAST_ACCEPTED * 1000 + 999);
    assert_eq!(outcome(&v, &token("w-1")), None);
    set_millis(&clock, (LAST_ACCEPTED + 1) * 1000);
    assert_eq!(outcome(&v, &token("w-2")), Some(RejectReason::Expired));
}

/// One store shared by two verifiers whose clocks differ by less than the skew: the record
/// written by the fast one is still there when the slow one could accept the token.
#[test]
fn record_covers_a_replica_whose_clock_is_behind() {
    use idjag::verify::InMemoryReplayStore;
    use std::sync::Arc;
    let key = TestKey::ed25519_from_seed("ed-1", [3u8; 32]);
    let cfg = config_json(
        &[&key],
        &[&key],
        json!({"clock_skew_s": SKEW, "max_age_s": 3600, "max_lifetime_s": 3600}),
    );
    let (fast, slow) = (ManualClock::new(0), ManualClock::new(0));
    // The store follows the fast replica's clock.
    let store = Arc::new(InMemoryReplayStore::with_clock(100, Arc::new(fast.clone())));
    let build = |clock: &ManualClock| {
        let cfg = idjag::VerifierConfig::from_json(&cfg.to_string()).unwrap();
        IdJagVerifier::builder(cfg)
            .clock(Arc::new(clock.clone()))
            .replay_store(store.clone())
            .build()
            .unwrap()
    };
    let (a, b) = (build(&fast), build(&slow));
    let t = token("replica-1");
    // The fast replica accepts in the last second; the slow one is 30 s behind.
    set_millis(&fast, LAST_ACCEPTED * 1000 + 500);
    assert_eq!(outcome(&a, &t), None);
    for ahead in [1, 10_000, 29_999, 30_000 + 499] {
        set_millis(&fast, LAST_ACCEPTED * 1000 + 500 + ahead);
        set_millis(&slow, LAST_ACCEPTED * 1000 + 500 + ahead - 30_000);
        assert_eq!(outcome(&b, &t), Some(RejectReason::Replayed), "+{ahead} ms");
    }
}

fn until_exp_verifier(clock: &ManualClock) -> IdJagVerifier {
    let key = TestKey::ed25519_from_seed("ed-1", [3u8; 32]);
    verifier(
        &config_json(
            &[&key],
            &[&key],
            json!({"clock_skew_s": SKEW, "max_age_s": 3600, "max_lifetime_s": 3600,
                   "replay": {"policy": "until_exp"}}),
        ),
        clock,
    )
}

/// Replay policy `until_exp` (the weaker setting, for deployments that must behave like
/// Auth0): the same ID-JAG is accepted at every instant up to the last accepted second, the
/// first presentation alone with `first_use`; from the next second on it is `expired`.
#[test]
fn until_exp_accepts_again_until_the_last_second_and_tells_the_first_use() {
    let clock = ManualClock::new(0);
    let v = until_exp_verifier(&clock);
    let t = token("ue-1");
    let last_ms = LAST_ACCEPTED * 1000;
    set_millis(&clock, (NOW - 5) * 1000);
    let uses: Vec<bool> = [NOW - 5, NOW, NOW + 100]
        .into_iter()
        .map(|s| s * 1000)
        .chain([last_ms - 1, last_ms, last_ms + 999])
        .map(|ms| {
            set_millis(&clock, ms);
            v.verify(&t, CLIENT, None)
                .unwrap_or_else(|e| panic!("at {ms} ms: {e}"))
                .first_use
        })
        .collect();
    assert_eq!(uses, [true, false, false, false, false, false]);
    set_millis(&clock, last_ms + 1000);
    assert_eq!(outcome(&v, &t), Some(RejectReason::Expired));
    // Clones share the store: still not a first use.
    set_millis(&clock, last_ms);
    assert!(!v.clone().verify(&t, CLIENT, None).unwrap().first_use);
}

/// The policy belongs to the verifier, the record to the store: a `single_use` verifier
/// sharing the store of an `until_exp` one rejects what the other accepted (and vice versa
/// the `until_exp` one sees it as a re-presentation), and a rejected presentation records
/// nothing under either policy.
#[test]
fn policies_share_one_store_and_rejections_record_nothing() {
    use idjag::verify::InMemoryReplayStore;
    use std::sync::Arc;
    let key = TestKey::ed25519_from_seed("ed-1", [3u8; 32]);
    let clock = ManualClock::new(NOW);
    let store = Arc::new(InMemoryReplayStore::with_clock(
        100,
        Arc::new(clock.clone()),
    ));
    let build = |policy: &str| {
        let cfg = config_json(&[&key], &[&key], json!({"replay": {"policy": policy}}));
        IdJagVerifier::builder(idjag::VerifierConfig::from_json(&cfg.to_string()).unwrap())
            .clock(Arc::new(clock.clone()))
            .replay_store(store.clone())
            .build()
            .unwrap()
    };
    let (single, reuse) = (build("single_use"), build("until_exp"));
    let t = token("mixed-1");
    assert!(reuse.verify(&t, CLIENT, None).unwrap().first_use);
    assert_eq!(outcome(&single, &t), Some(RejectReason::Replayed));
    assert!(!reuse.verify(&t, CLIENT, None).unwrap().first_use);
    let t2 = token("mixed-2");
    assert!(single.verify(&t2, CLIENT, None).unwrap().first_use);
    assert!(!reuse.verify(&t2, CLIENT, None).unwrap().first_use);
    // A presentation rejected before step 7 leaves no record.
    let t3 = token("mixed-3");
    let e = reuse
        .verify(&t3, "client-2", None)
        .expect_err("wrong client");
    assert_eq!(RejectReason::of(&e), Some(RejectReason::ClientMismatch));
    assert!(reuse.verify(&t3, CLIENT, None).unwrap().first_use);
}

/// A full in-memory store fails closed under `until_exp` too (the store cannot tell a first
/// use from a re-presentation, so nothing is accepted).
#[test]
fn until_exp_fails_closed_when_the_store_is_full() {
    let key = TestKey::ed25519_from_seed("ed-1", [3u8; 32]);
    let clock = ManualClock::new(NOW);
    let v = verifier(
        &config_json(
            &[&key],
            &[&key],
            json!({"replay": {"policy": "until_exp", "memory_capacity": 1}}),
        ),
        &clock,
    );
    v.verify(&token("full-1"), CLIENT, None).unwrap();
    assert!(!v.verify(&token("full-1"), CLIENT, None).unwrap().first_use);
    let e = v.verify(&token("full-2"), CLIENT, None).expect_err("full");
    assert_eq!(e.kind(), idjag::ErrorKind::Internal);
    assert_eq!(e.reason(), None);
}
