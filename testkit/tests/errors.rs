//! Error paths: token exchange at the IdP, ID-JAG rejections at the AS, key rotation.
#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use idjag_testkit::{Alg, IdTokenSpec, TestKey, TestKit};
use serde_json::{json, Map, Value};

fn te(kit: &TestKit, http: &Http, extra: &[(&str, &str)], skip: &[&str]) -> Res {
    let c = kit.idp_client();
    let tok = kit.mint_id_token("alice");
    let base = [
        ("grant_type", TE),
        ("requested_token_type", ID_JAG),
        ("subject_token", tok.as_str()),
        ("subject_token_type", ID_TOKEN),
        ("audience", kit.as_issuer()),
    ];
    let mut p: Vec<(&str, &str)> = base
        .iter()
        .copied()
        .filter(|(k, _)| !skip.contains(k))
        .collect();
    p.extend_from_slice(extra);
    http.post_form(
        &kit.idp_token_endpoint(),
        &p,
        Some((&c.client_id, secret(&c))),
    )
}

#[test]
fn token_exchange_errors() {
    let kit = TestKit::start();
    let http = Http::new();
    let e = |r: Res| (r.status, r.error());
    assert_eq!(e(te(&kit, &http, &[], &[])), (200, String::new()));
    assert_eq!(
        e(te(
            &kit,
            &http,
            &[("audience", "http://other")],
            &["audience"]
        )),
        (400, "invalid_target".into())
    );
    assert_eq!(
        e(te(&kit, &http, &[], &["audience"])),
        (400, "invalid_request".into())
    );
    assert_eq!(
        e(te(
            &kit,
            &http,
            &[("resource", "http://127.0.0.1:1/elsewhere")],
            &[]
        )),
        (400, "invalid_target".into())
    );
    assert_eq!(
        e(te(
            &kit,
            &http,
            &[("resource", &format!("{}#frag", kit.mcp_url()))],
            &[]
        )),
        (400, "invalid_target".into())
    );
    assert_eq!(
        e(te(&kit, &http, &[("scope", "mcp:read mcp:denied")], &[])),
        (400, "invalid_scope".into())
    );
    assert_eq!(
        e(te(&kit, &http, &[], &["requested_token_type"])),
        (400, "invalid_request".into())
    );
    assert_eq!(
        e(te(
            &kit,
            &http,
            &[("requested_token_type", "urn:x")],
            &["requested_token_type"]
        )),
        (400, "invalid_request".into())
    );
    assert_eq!(
        e(te(&kit, &http, &[], &["subject_token"])),
        (400, "invalid_request".into())
    );
    assert_eq!(
        e(te(
            &kit,
            &http,
            &[("subject_token_type", "urn:x")],
            &["subject_token_type"]
        )),
        (400, "invalid_request".into())
    );
    assert_eq!(
        e(te(&kit, &http, &[("actor_token", "x")], &[])),
        (400, "invalid_request".into())
    );
    assert_eq!(
        e(te(
            &kit,
            &http,
            &[("grant_type", "password")],
            &["grant_type"]
        )),
        (400, "unsupported_grant_type".into())
    );
    assert_eq!(
        e(te(&kit, &http, &[], &["grant_type"])),
        (400, "invalid_request".into())
    );
    // Duplicate parameter.
    assert_eq!(
        e(te(&kit, &http, &[("subject_token_type", ID_TOKEN)], &[])),
        (400, "invalid_request".into())
    );

    // Bad ID tokens.
    let c = kit.idp_client();
    for (tok, why) in [
        (
            kit.mint_id_token_with(&IdTokenSpec {
                exp: Some(kit.now() - 1),
                ..IdTokenSpec::new("a")
            }),
            "expired",
        ),
        (
            kit.mint_id_token_with(&IdTokenSpec {
                aud: Some("other".into()),
                ..IdTokenSpec::new("a")
            }),
            "audience_mismatch",
        ),
        (
            kit.mint_id_token_with(&IdTokenSpec {
                iss: Some("http://evil".into()),
                ..IdTokenSpec::new("a")
            }),
            "untrusted_issuer",
        ),
        (
            TestKey::generate(Alg::RS256).sign_with_typ(
                None,
                &json!({"iss": kit.idp_issuer(), "sub": "a",
            "aud": c.client_id, "exp": kit.now() + 60}),
            ),
            "unknown key",
        ),
        ("garbage".to_string(), "garbage"),
    ] {
        let r = http.post_form(
            &kit.idp_token_endpoint(),
            &[
                ("grant_type", TE),
                ("requested_token_type", ID_JAG),
                ("subject_token", &tok),
                ("subject_token_type", ID_TOKEN),
                ("audience", kit.as_issuer()),
            ],
            Some((&c.client_id, secret(&c))),
        );
        assert_eq!(
            (r.status, r.error()),
            (400, "invalid_grant".to_string()),
            "{why}"
        );
    }
    // An ES256 ID token (non-default alg) is fine.
    let tok = kit.mint_id_token_with(&IdTokenSpec {
        alg: Some(Alg::ES256),
        ..IdTokenSpec::new("a")
    });
    assert_eq!(exchange(&kit, &http, &tok, ID_TOKEN, None).status, 200);
    // Wrong content type.
    let r = http.request(
        "POST",
        &kit.idp_token_endpoint(),
        &[("Content-Type", "application/json")],
        Some(b"{}".to_vec()),
    );
    assert_eq!((r.status, r.error()), (400, "invalid_request".to_string()));
    // GET on the token endpoint.
    assert_eq!(http.get(&kit.idp_token_endpoint()).status, 405);
}

#[test]
fn idp_scope_narrowing() {
    let kit = TestKit::start_with(idjag_testkit::Options {
        idp_granted_scopes: Some(vec!["mcp:read".into()]),
        ..Default::default()
    });
    let http = Http::new();
    let r = exchange(
        &kit,
        &http,
        &kit.mint_id_token("a"),
        ID_TOKEN,
        Some("mcp:read mcp:write"),
    );
    assert_eq!(r.json()["scope"], "mcp:read");
    assert_eq!(
        jwt_part(r.json()["access_token"].as_str().unwrap(), 1)["scope"],
        "mcp:read"
    );
}

fn reject(kit: &TestKit, http: &Http, jag: &str) -> Option<String> {
    let r = redeem(kit, http, jag, None);
    if r.status == 200 {
        return None;
    }
    assert_eq!(
        (r.status, r.error()),
        (400, "invalid_grant".to_string()),
        "{}",
        r.body
    );
    Some(kit.last_as_rejection().unwrap_or_default())
}

#[test]
fn as_rejects_bad_id_jags() {
    let kit = TestKit::start();
    let http = Http::new();
    let claims = |f: &dyn Fn(&mut Map<String, Value>)| {
        let mut c = kit.id_jag_claims("alice");
        f(c.as_object_mut().unwrap());
        c
    };
    let signed = |f: &dyn Fn(&mut Map<String, Value>)| kit.sign_id_jag(&claims(f));
    let with_header = |h: Value| kit.sign_jwt(h.as_object().unwrap(), &claims(&|_| {}));

    assert_eq!(reject(&kit, &http, &signed(&|_| {})), None);
    assert_eq!(
        reject(
            &kit,
            &http,
            &with_header(json!({"typ": "application/oauth-id-jag+jwt"}))
        ),
        None
    );
    assert_eq!(
        reject(
            &kit,
            &http,
            &with_header(json!({"typ": "OAUTH-ID-JAG+JWT", "alg": "RS256"}))
        ),
        None
    );
    assert_eq!(
        reject(
            &kit,
            &http,
            &signed(&|c| {
                c.insert("aud".into(), json!([kit.as_issuer()]));
            })
        ),
        None
    );

    let cases: Vec<(String, &str)> = vec![
        (with_header(json!({"typ": "JWT"})), "invalid_typ"),
        (with_header(json!({})), "invalid_typ"),
        (
            with_header(json!({"typ": "oauth-id-jag+jwt", "alg": "none"})),
            "unsupported_alg",
        ),
        (
            with_header(json!({"typ": "oauth-id-jag+jwt", "crit": ["exp"]})),
            "crit_unsupported",
        ),
        (
            with_header(json!({"typ": "oauth-id-jag+jwt", "kid": "nope"})),
            "unknown_key",
        ),
        (
            TestKey::generate(Alg::ES256).sign_with_typ(Some("oauth-id-jag+jwt"), &claims(&|_| {})),
            "unknown_key",
        ),
        (
            signed(&|c| {
                c.insert("iss".into(), json!("http://evil"));
            }),
            "untrusted_issuer",
        ),
        (
            signed(&|c| {
                c.insert("aud".into(), json!(kit.as_token_endpoint()));
            }),
            "audience_mismatch",
        ),
        (
            signed(&|c| {
                c.insert("aud".into(), json!([kit.as_issuer(), "x"]));
            }),
            "audience_mismatch",
        ),
        (
            signed(&|c| {
                c.insert("aud".into(), json!(format!("{}/", kit.as_issuer())));
            }),
            "audience_mismatch",
        ),
        (
            signed(&|c| {
                c.insert("client_id".into(), json!("someone"));
            }),
            "client_mismatch",
        ),
        (
            signed(&|c| {
                c.insert("exp".into(), json!(kit.now() - 61));
                c.insert("iat".into(), json!(kit.now() - 400));
            }),
            "expired",
        ),
        (
            signed(&|c| {
                c.remove("exp");
            }),
            "missing_claim",
        ),
        (
            signed(&|c| {
                c.remove("iat");
            }),
            "missing_claim",
        ),
        (
            signed(&|c| {
                c.insert("iat".into(), json!(kit.now() + 120));
                c.insert("exp".into(), json!(kit.now() + 400));
            }),
            "issued_in_future",
        ),
        (
            signed(&|c| {
                c.insert("exp".into(), json!(kit.now() + 7200));
            }),
            "lifetime_too_long",
        ),
        (
            signed(&|c| {
                c.insert("nbf".into(), json!(kit.now() + 120));
            }),
            "not_yet_valid",
        ),
        (
            signed(&|c| {
                c.remove("sub");
            }),
            "missing_claim",
        ),
        (
            signed(&|c| {
                c.remove("jti");
            }),
            "missing_claim",
        ),
        (
            signed(&|c| {
                c.insert("scope".into(), json!(["mcp:read"]));
            }),
            "malformed",
        ),
        (
            signed(&|c| {
                c.insert("resource".into(), json!("http://127.0.0.1:1/other"));
            }),
            "resource_mismatch",
        ),
        (
            signed(&|c| {
                c.insert("resource".into(), json!([kit.mcp_url(), kit.mcp_url()]));
            }),
            "malformed",
        ),
    ];
    for (jag, why) in cases {
        assert_eq!(
            reject(&kit, &http, &jag).as_deref(),
            Some(why),
            "case {why}"
        );
    }
    // Tampered signature.
    let good = signed(&|_| {});
    let mut parts: Vec<&str> = good.split('.').collect();
    let other = kit.mint_id_jag("mallory");
    let p1 = other.split('.').nth(1).unwrap();
    parts[1] = p1;
    assert_eq!(
        reject(&kit, &http, &parts.join(".")).as_deref(),
        Some("bad_signature")
    );

    // Request-level errors.
    let c = kit.as_client();
    let two = http.post_form(
        &kit.as_token_endpoint(),
        &[
            ("grant_type", JWT_BEARER),
            ("assertion", &kit.mint_id_jag("a")),
            ("assertion", &kit.mint_id_jag("a")),
        ],
        Some((&c.client_id, secret(&c))),
    );
    assert_eq!(
        (two.status, two.error()),
        (400, "invalid_request".to_string())
    );
    let none = http.post_form(
        &kit.as_token_endpoint(),
        &[("grant_type", JWT_BEARER)],
        Some((&c.client_id, secret(&c))),
    );
    assert_eq!(none.error(), "invalid_request");
    let r = http.post_form(
        &kit.as_token_endpoint(),
        &[("grant_type", "client_credentials")],
        Some((&c.client_id, secret(&c))),
    );
    assert_eq!(r.error(), "unsupported_grant_type");
    let r = redeem(&kit, &http, &kit.mint_id_jag("a"), Some("mcp:unknown"));
    assert_eq!(r.error(), "invalid_scope");
}

#[test]
fn as_scope_intersection() {
    let kit = TestKit::start();
    let http = Http::new();
    let mut c = kit.id_jag_claims("a");
    c["scope"] = "mcp:read mcp:write".into();
    let r = redeem(
        &kit,
        &http,
        &kit.sign_id_jag(&c),
        Some("mcp:read mcp:admin"),
    );
    assert_eq!(r.json()["scope"], "mcp:read");
    let mut c = kit.id_jag_claims("a");
    c["scope"] = "mcp:read".into();
    let r = redeem(&kit, &http, &kit.sign_id_jag(&c), Some("mcp:admin"));
    assert_eq!(r.error(), "invalid_scope");
}

/// B3: an ID-JAG without a `scope` claim grants no scope; asking for one (even a scope the
/// AS supports) is `invalid_scope`, never granted because it was asked for.
#[test]
fn as_grants_no_scope_without_a_scope_claim() {
    let kit = TestKit::start();
    let http = Http::new();
    let c = kit.id_jag_claims("a");
    assert!(c.get("scope").is_none());
    let r = redeem(&kit, &http, &kit.sign_id_jag(&c), Some("mcp:admin"));
    assert_eq!(
        (r.status, r.error()),
        (400, "invalid_scope".to_string()),
        "{}",
        r.body
    );
    assert_eq!(
        kit.last_as_rejection().as_deref(),
        Some("scope_not_granted")
    );
    let r = redeem(&kit, &http, &kit.sign_id_jag(&kit.id_jag_claims("a")), None);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.json().get("scope").is_none(), "{}", r.body);
}

#[test]
fn key_rotation() {
    let kit = TestKit::start_with(idjag_testkit::Options {
        ed25519_key: true,
        ..Default::default()
    });
    let http = Http::new();
    let old = kit.idp_signing_key(Alg::ES256).unwrap();
    let jwks = http.get(&kit.idp_jwks_uri()).json();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids.len(), 3);
    let old_jag = kit.mint_id_jag("a");

    let new = kit.rotate_idp_key(Alg::ES256, false);
    assert_ne!(new.kid(), old.kid());
    let jwks = http.get(&kit.idp_jwks_uri()).json();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 4);
    let new_jag = kit.mint_id_jag("a");
    assert_eq!(jwt_part(&new_jag, 0)["kid"], new.kid());
    assert_eq!(reject(&kit, &http, &old_jag), None);
    assert_eq!(reject(&kit, &http, &new_jag), None);

    // Drop the old keys: once the AS's JWKS cache (600 s) expires and it refetches, tokens
    // signed with them are rejected (a cached JWKS keeps a retired key until then).
    kit.rotate_idp_key(Alg::ES256, true);
    let jwks = http.get(&kit.idp_jwks_uri()).json();
    assert!(!jwks.to_string().contains(old.kid()));
    kit.set_clock_offset(601);
    let old_jag = old.sign_with_typ(Some("oauth-id-jag+jwt"), &kit.id_jag_claims("a"));
    assert_eq!(
        reject(&kit, &http, &old_jag).as_deref(),
        Some("unknown_key")
    );

    // EdDSA-signed ID-JAG works when the key is published.
    let mut h = Map::new();
    h.insert("typ".into(), json!("oauth-id-jag+jwt"));
    h.insert("alg".into(), json!("EdDSA"));
    assert_eq!(
        reject(&kit, &http, &kit.sign_jwt(&h, &kit.id_jag_claims("a"))),
        None
    );
    let ed = kit.idp_signing_key(Alg::EdDSA).unwrap();
    assert!(kit.unpublish_idp_key(ed.kid()));
    let r = http.post_form(&kit.idp_token_endpoint(), &[], None);
    assert_eq!(r.status, 400);
}
