//! One verifier, many threads: single-use holds under contention (in-memory store).
#![allow(clippy::unwrap_used)]

#[path = "verify_common/mod.rs"]
mod common;

use common::*;
use idjag::clock::ManualClock;
use idjag::verify::RejectReason;
use serde_json::json;
use std::sync::{Arc, Barrier};

#[test]
fn same_token_from_16_threads_is_accepted_exactly_once() {
    let key = TestKey::es256("k1");
    let clock = ManualClock::new(NOW);
    let v = verifier(&config_json(&[&key], &[&key], json!({})), &clock);
    for round in 0..5 {
        let token = Arc::new(key.token(&claims(&format!("race-{round}"))));
        let barrier = Arc::new(Barrier::new(16));
        let results: Vec<_> = (0..16)
            .map(|i| {
                // Half the threads use clones: clones share the replay store.
                let v = if i % 2 == 0 {
                    v.clone()
                } else {
                    v.clone().clone()
                };
                let (token, barrier) = (token.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    v.verify(&token, CLIENT, None)
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect();
        let accepted = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(accepted, 1, "round {round}");
        for r in results.iter().filter_map(|r| r.as_ref().err()) {
            assert_eq!(RejectReason::of(r), Some(RejectReason::Replayed), "{r}");
        }
    }
}

#[test]
fn one_verifier_serves_many_threads() {
    let es = TestKey::es256("k1");
    let ed = TestKey::ed25519("k2");
    let clock = ManualClock::new(NOW);
    let v = verifier(&config_json(&[&es, &ed], &[&es], json!({})), &clock);
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let (v, es, ed) = (v.clone(), es.clone(), ed.clone());
            std::thread::spawn(move || {
                for i in 0..50 {
                    let c = claims(&format!("mt-{t}-{i}"));
                    let token = if i % 2 == 0 {
                        es.token(&c)
                    } else {
                        ed.token(&c)
                    };
                    v.verify(&token, CLIENT, None).unwrap();
                    let e = v.verify(&token, CLIENT, None).expect_err("replay");
                    assert_eq!(RejectReason::of(&e), Some(RejectReason::Replayed));
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}
