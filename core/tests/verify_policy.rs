//! The verifier's optional policies over real loopback HTTP against the testkit (issue 9,
//! items 8 and 9): ID-JAGs signed by the testkit IdP with chosen claims
//! ([`TestKit::sign_id_jag`]), its JWKS discovered from its metadata, and the testkit AS —
//! which runs this verifier — answering over the wire.
//!
//! - The user-authentication policy of sensitive servers (step-up, SPEC §2.I, §5 Q19): a
//!   missing or unaccepted `acr` is `acr_not_accepted`, a missing or old `auth_time` is
//!   `auth_time_too_old`, both answered `insufficient_user_authentication` with the
//!   requirement as RFC 9470 §3 `acr_values` / `max_age` body members (the ID-JAG draft's
//!   step-up example); per-resource requirements for a sensitive resource.
//! - Tenancy claims (`tenant`, `aud_tenant`, `aud_sub`; SPEC §2.N) as typed grant fields.
//! - The replay policy `until_exp` (Auth0 accepts an ID-JAG until `exp`, docs/GUIDE.md "Interoperability notes"), weaker
//!   than the default `single_use` (SPEC §2.G item 12).
#![allow(clippy::unwrap_used)]

use idjag::clock::{Clock, ManualClock, SystemClock};
use idjag::verify::{token_error_response, IdJagVerifier, RejectReason, ReplayPolicy};
use idjag::{
    Action, Client, ClientCredentials, ErrorKind, RedeemRequest, TokenEndpoint, VerifierConfig,
};
use idjag_testkit::{Options, TestKit};
use serde_json::{json, Value};
use std::sync::Arc;

fn config(kit: &TestKit, extra: Value) -> VerifierConfig {
    let mut cfg = json!({
        "issuer": kit.as_issuer(),
        "resources": [kit.mcp_url(), admin_url(kit)],
        "trusted_idps": [{"issuer": kit.idp_issuer()}]
    });
    for (k, v) in extra.as_object().into_iter().flatten() {
        cfg[k] = v.clone();
    }
    VerifierConfig::from_json(&cfg.to_string()).unwrap()
}

fn verifier(kit: &TestKit, extra: Value) -> IdJagVerifier {
    IdJagVerifier::from_config(config(kit, extra)).unwrap()
}

/// A sensitive resource behind the same AS.
fn admin_url(kit: &TestKit) -> String {
    format!("{}-admin", kit.mcp_url())
}

/// The testkit IdP's standard ID-JAG claims for `alice`, with `extra` set (`null` removes).
fn claims(kit: &TestKit, extra: Value) -> Value {
    let mut c = kit.id_jag_claims("alice");
    for (k, v) in extra.as_object().into_iter().flatten() {
        match v {
            Value::Null => {
                c.as_object_mut().unwrap().remove(k);
            }
            _ => c[k] = v.clone(),
        }
    }
    c
}

fn client_id(kit: &TestKit) -> String {
    kit.as_client().client_id
}

fn reason(r: &idjag::Result<idjag::VerifiedGrant>) -> Option<RejectReason> {
    r.as_ref().err().and_then(RejectReason::of)
}

const STEP_UP: &str = "the user's authentication does not meet this server's requirements";

/// Item 8: required `acr` values and a maximum authentication age, each failure with its
/// own reason, answered `insufficient_user_authentication` with what a new authentication
/// must meet.
#[test]
fn step_up_policy_rejects_weak_or_old_authentication_with_the_requirement() {
    let kit = TestKit::start();
    let v = verifier(
        &kit,
        json!({"user_authentication": {"acr_values": ["phrh", "mfa"], "max_auth_age_s": 300}}),
    );
    let cid = client_id(&kit);
    let now = kit.now();
    let wire = format!(
        r#"{{"error":"insufficient_user_authentication","error_description":"{STEP_UP}","acr_values":"phrh mfa","max_age":300}}"#
    );
    // No `acr` (the testkit IdP's ID-JAGs carry none by default).
    let no_acr = kit.sign_id_jag(&claims(&kit, json!({"auth_time": now})));
    let r = v.verify(&no_acr, &cid, None);
    assert_eq!(reason(&r), Some(RejectReason::AcrNotAccepted));
    let e = r.unwrap_err();
    assert_eq!(
        (e.kind(), e.action()),
        (ErrorKind::VerificationFailed, Action::Reauthenticate)
    );
    assert!(e.to_string().contains("no `acr` claim"), "{e}");
    let w = token_error_response(&e);
    assert_eq!((w.status, w.to_json()), (400, wire.clone()));
    // An `acr` that is not accepted (compared exactly).
    for acr in ["pwd", "MFA", "mfa "] {
        let t = kit.sign_id_jag(&claims(&kit, json!({"acr": acr, "auth_time": now})));
        let r = v.verify(&t, &cid, None);
        assert_eq!(reason(&r), Some(RejectReason::AcrNotAccepted), "{acr}");
        assert_eq!(token_error_response(&r.unwrap_err()).to_json(), wire);
    }
    // Accepted `acr`, but no `auth_time`, or one too old (300 s + 60 s skew).
    for auth_time in [Value::Null, json!(now - 361), json!(now - 100_000)] {
        let t = kit.sign_id_jag(&claims(&kit, json!({"acr": "mfa", "auth_time": auth_time})));
        let r = v.verify(&t, &cid, None);
        assert_eq!(
            reason(&r),
            Some(RejectReason::AuthTimeTooOld),
            "{auth_time}"
        );
        let e = r.unwrap_err();
        assert_eq!(e.action(), Action::Reauthenticate);
        assert_eq!(token_error_response(&e).to_json(), wire);
    }
    // Strong and recent enough: accepted, with the context as typed fields. The rejected
    // presentations above recorded nothing: the same `jti` is still unused.
    let jti = "step-up-ok";
    let failed = kit.sign_id_jag(&claims(&kit, json!({"acr": "pwd", "jti": jti})));
    assert_eq!(
        reason(&v.verify(&failed, &cid, None)),
        Some(RejectReason::AcrNotAccepted)
    );
    let t = kit.sign_id_jag(&claims(
        &kit,
        json!({"acr": "phrh", "auth_time": now - 30, "amr": ["hwk"], "jti": jti}),
    ));
    let g = v.verify(&t, &cid, None).unwrap();
    assert_eq!(
        (g.acr.as_deref(), g.auth_time),
        (Some("phrh"), Some(now - 30))
    );
    assert_eq!(g.claims["amr"], json!(["hwk"]));
    // Without a policy, the same weak ID-JAG is fine.
    let plain = verifier(&kit, json!({}));
    let g = plain.verify(&no_acr, &cid, None).unwrap();
    assert_eq!((g.acr, g.auth_time), (None, Some(now)));
}

/// Item 8, per resource: the sensitive resource's requirement replaces the global one; an
/// ID-JAG for both resources must meet both.
#[test]
fn a_sensitive_resource_gets_its_own_requirement() {
    let kit = TestKit::start();
    let admin = admin_url(&kit);
    let mut resources = serde_json::Map::new();
    resources.insert(
        admin.clone(),
        json!({"acr_values": ["phrh"], "max_auth_age_s": 60}),
    );
    let v = verifier(
        &kit,
        json!({"user_authentication": {"resources": resources}}),
    );
    let cid = client_id(&kit);
    let now = kit.now();
    // The ordinary MCP server has no requirement.
    let t = kit.sign_id_jag(&claims(&kit, json!({})));
    v.verify(&t, &cid, None).unwrap();
    // The admin one wants a hardware-key authentication within a minute.
    let cases = [
        (
            json!({"acr": "mfa", "auth_time": now}),
            RejectReason::AcrNotAccepted,
        ),
        (
            json!({"acr": "phrh", "auth_time": now - 121}),
            RejectReason::AuthTimeTooOld,
        ),
    ];
    for (extra, want) in cases {
        for resource in [json!(admin), json!([kit.mcp_url(), admin])] {
            let mut c = claims(&kit, extra.clone());
            c["resource"] = resource.clone();
            let r = v.verify(&kit.sign_id_jag(&c), &cid, None);
            assert_eq!(reason(&r), Some(want), "{resource} {extra}");
            let w = token_error_response(&r.unwrap_err());
            assert_eq!(
                (w.acr_values.as_deref(), w.max_age),
                (Some("phrh"), Some(60))
            );
        }
    }
    let mut c = claims(&kit, json!({"acr": "phrh", "auth_time": now - 10}));
    c["resource"] = json!([kit.mcp_url(), admin]);
    let g = v.verify(&kit.sign_id_jag(&c), &cid, None).unwrap();
    assert_eq!(g.resource, vec![kit.mcp_url().to_string(), admin]);
}

/// Item 8: tenancy claims as typed fields of the grant and of its JSON view, besides the raw
/// claims; a claim of the wrong type is `malformed`.
#[test]
fn tenancy_claims_are_typed_grant_fields() {
    let kit = TestKit::start();
    let v = verifier(&kit, json!({}));
    let cid = client_id(&kit);
    let t = kit.sign_id_jag(&claims(
        &kit,
        json!({"tenant": "acme", "aud_tenant": "as-tenant-7", "aud_sub": "acct-42"}),
    ));
    let g = v.verify(&t, &cid, None).unwrap();
    assert_eq!(g.tenant.as_deref(), Some("acme"));
    assert_eq!(g.aud_tenant.as_deref(), Some("as-tenant-7"));
    assert_eq!(g.aud_sub.as_deref(), Some("acct-42"));
    assert_eq!(g.claims["tenant"], "acme");
    let j: Value = serde_json::from_str(&g.to_json()).unwrap();
    assert_eq!(
        (
            &j["tenant"],
            &j["aud_tenant"],
            &j["aud_sub"],
            &j["first_use"]
        ),
        (
            &json!("acme"),
            &json!("as-tenant-7"),
            &json!("acct-42"),
            &json!(true)
        )
    );
    let g = v
        .verify(&kit.sign_id_jag(&claims(&kit, json!({}))), &cid, None)
        .unwrap();
    assert_eq!((g.tenant, g.aud_tenant, g.aud_sub), (None, None, None));
    for (claim, value) in [
        ("tenant", json!(["acme"])),
        ("aud_tenant", json!(7)),
        ("aud_sub", json!("")),
    ] {
        let t = kit.sign_id_jag(&claims(&kit, json!({ claim: value })));
        let r = v.verify(&t, &cid, None);
        assert_eq!(reason(&r), Some(RejectReason::Malformed), "{claim}");
        assert_eq!(
            token_error_response(&r.unwrap_err()).body.error.as_str(),
            "invalid_grant"
        );
    }
}

/// Item 9: under `until_exp` the same ID-JAG is accepted until it expires, only the first
/// presentation with `first_use`; the default stays single use.
#[test]
fn until_exp_accepts_an_id_jag_again_until_it_expires() {
    let kit = TestKit::start();
    let clock = ManualClock::new(SystemClock.now_secs());
    let v = IdJagVerifier::builder(config(
        &kit,
        json!({"replay": {"policy": "until_exp"}, "clock_skew_s": 0}),
    ))
    .clock(Arc::new(clock.clone()))
    .build()
    .unwrap();
    let cid = client_id(&kit);
    let c = claims(&kit, json!({}));
    let exp = c["exp"].as_i64().unwrap();
    let t = kit.sign_id_jag(&c);
    let uses: Vec<bool> = (0..3)
        .map(|_| v.verify(&t, &cid, None).unwrap().first_use)
        .collect();
    assert_eq!(uses, [true, false, false]);
    clock.set_secs(exp);
    assert!(!v.verify(&t, &cid, None).unwrap().first_use);
    clock.set_secs(exp + 1);
    assert_eq!(
        reason(&v.verify(&t, &cid, None)),
        Some(RejectReason::Expired)
    );

    let single = verifier(&kit, json!({}));
    let t = kit.sign_id_jag(&claims(&kit, json!({})));
    assert!(single.verify(&t, &cid, None).unwrap().first_use);
    assert_eq!(
        reason(&single.verify(&t, &cid, None)),
        Some(RejectReason::Replayed)
    );
}

fn kit_creds(c: &idjag_testkit::Client) -> ClientCredentials {
    ClientCredentials::new(c.client_id.clone())
        .with_secret(c.client_secret.clone().unwrap().as_str())
}

fn redeem(kit: &TestKit, assertion: &str) -> idjag::Result<idjag::AccessToken> {
    Client::new().unwrap().redeem_id_jag(
        &RedeemRequest::new(
            TokenEndpoint::new(kit.as_token_endpoint(), kit_creds(&kit.as_client())),
            assertion,
        )
        .resource(kit.mcp_url()),
    )
}

/// Item 9 through the testkit AS configured like Auth0 (`as_replay_policy: until_exp`): the
/// same ID-JAG is redeemed twice over HTTP by idjag's client; the default AS refuses the
/// second redemption (`invalid_grant`, reason `replayed`).
#[test]
fn testkit_as_like_auth0_redeems_the_same_id_jag_twice() {
    let auth0 = TestKit::start_with(Options {
        as_replay_policy: ReplayPolicy::UntilExp,
        ..Options::default()
    });
    let t = auth0.mint_id_jag("alice");
    let a = redeem(&auth0, &t).unwrap();
    let b = redeem(&auth0, &t).unwrap();
    assert_ne!(
        a.access_token.expose_secret(),
        b.access_token.expose_secret()
    );
    assert_eq!(auth0.last_as_rejection(), None);

    let strict = TestKit::start();
    let t = strict.mint_id_jag("alice");
    redeem(&strict, &t).unwrap();
    let e = redeem(&strict, &t).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OauthError);
    assert_eq!(
        e.oauth_error().map(|o| o.error.as_str()),
        Some("invalid_grant")
    );
    assert_eq!(strict.last_as_rejection().as_deref(), Some("replayed"));
}

/// Item 8 on the wire: the testkit AS with a user-authentication policy answers a weak
/// ID-JAG `400 insufficient_user_authentication` with `acr_values` and `max_age` in the JSON
/// body, and idjag's client reads it as "re-authenticate the user".
#[test]
fn testkit_as_answers_step_up_on_the_wire() {
    let kit = TestKit::start_with(Options {
        as_user_authentication: serde_json::from_value(
            json!({"acr_values": ["phrh"], "max_auth_age_s": 120}),
        )
        .unwrap(),
        ..Options::default()
    });
    let weak = kit.sign_id_jag(&claims(&kit, json!({"acr": "pwd", "auth_time": kit.now()})));
    let as_client = kit.as_client();
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let mut resp = agent
        .post(&kit.as_token_endpoint())
        .send_form([
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", weak.as_str()),
            ("client_id", as_client.client_id.as_str()),
            ("client_secret", as_client.client_secret.as_deref().unwrap()),
        ])
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    let body: Value = serde_json::from_str(&resp.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(
        body,
        json!({"error": "insufficient_user_authentication", "error_description": STEP_UP,
               "acr_values": "phrh", "max_age": 120})
    );
    assert_eq!(kit.last_as_rejection().as_deref(), Some("acr_not_accepted"));

    let old = kit.sign_id_jag(&claims(
        &kit,
        json!({"acr": "phrh", "auth_time": kit.now() - 3600}),
    ));
    let e = redeem(&kit, &old).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OauthError);
    assert_eq!(
        e.oauth_error().map(|o| o.error.as_str()),
        Some("insufficient_user_authentication")
    );
    assert_eq!(e.action(), Action::Reauthenticate);
    assert_eq!(
        kit.last_as_rejection().as_deref(),
        Some("auth_time_too_old")
    );

    let strong = kit.sign_id_jag(&claims(
        &kit,
        json!({"acr": "phrh", "auth_time": kit.now() - 5}),
    ));
    redeem(&kit, &strong).unwrap();
}
