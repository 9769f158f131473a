//! Token-endpoint client authentication at the IdP and the AS.
#![allow(clippy::unwrap_used)]

mod common;
use base64::Engine as _;
use common::*;
use idjag_testkit::TestKit;

fn te_params<'a>(kit: &'a TestKit, id_token: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", TE),
        ("requested_token_type", ID_JAG),
        ("subject_token", id_token),
        ("subject_token_type", ID_TOKEN),
        ("audience", kit.as_issuer()),
    ]
}

#[test]
fn idp_client_authentication_methods() {
    let kit = TestKit::start();
    let http = Http::new();
    let url = kit.idp_token_endpoint();
    let c = kit.idp_client();
    assert!(secret(&c).contains(':') && secret(&c).contains('+') && secret(&c).contains('%'));
    let tok = kit.mint_id_token("alice");

    // client_secret_basic, properly encoded.
    let r = http.post_form(
        &url,
        &te_params(&kit, &tok),
        Some((&c.client_id, secret(&c))),
    );
    assert_eq!(r.status, 200, "{}", r.body);

    // Basic without the RFC 6749 form-urlencoding → rejected, with WWW-Authenticate.
    let raw = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", c.client_id, secret(&c)))
    );
    let r = http.request(
        "POST",
        &url,
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Authorization", &raw),
        ],
        Some(form(&te_params(&kit, &tok)).into_bytes()),
    );
    assert_eq!(r.status, 401);
    assert_eq!(r.error(), "invalid_client");
    assert!(r.header("www-authenticate").unwrap().starts_with("Basic"));

    // Wrong secret.
    let r = http.post_form(&url, &te_params(&kit, &tok), Some((&c.client_id, "nope")));
    assert_eq!(r.status, 401);
    assert!(r.header("www-authenticate").is_some());

    // client_secret_post.
    let mut p = te_params(&kit, &tok);
    p.push(("client_id", &c.client_id));
    p.push(("client_secret", secret(&c)));
    let r = http.post_form(&url, &p, None);
    assert_eq!(r.status, 200, "{}", r.body);

    // Two methods at once → invalid_request.
    let r = http.post_form(&url, &p, Some((&c.client_id, secret(&c))));
    assert_eq!(r.status, 400);
    assert_eq!(r.error(), "invalid_request");

    // Wrong post secret: 401 without WWW-Authenticate.
    let mut p = te_params(&kit, &tok);
    p.push(("client_id", &c.client_id));
    p.push(("client_secret", "nope"));
    let r = http.post_form(&url, &p, None);
    assert_eq!(r.status, 401);
    assert!(r.header("www-authenticate").is_none());

    // private_key_jwt: the ID token must be for that client.
    let j = kit.idp_jwt_client();
    let tok_j = kit.mint_id_token_with(&idjag_testkit::IdTokenSpec {
        aud: Some(j.client_id.clone()),
        ..idjag_testkit::IdTokenSpec::new("alice")
    });
    let assertion = kit.client_assertion(&j, kit.idp_token_endpoint().as_str());
    let mut p = te_params(&kit, &tok_j);
    p.push(("client_assertion_type", ASSERTION_TYPE));
    p.push(("client_assertion", &assertion));
    let r = http.post_form(&url, &p, None);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        jwt_part(r.json()["access_token"].as_str().unwrap(), 1)["client_id"],
        kit.as_jwt_client().client_id
    );
    // Replayed client assertion.
    let r = http.post_form(&url, &p, None);
    assert_eq!(r.status, 401);
    // Assertion for the issuer as audience also works; a foreign audience does not.
    let ok = kit.client_assertion(&j, kit.idp_issuer());
    let mut p2 = te_params(&kit, &tok_j);
    p2.push(("client_assertion_type", ASSERTION_TYPE));
    p2.push(("client_assertion", &ok));
    assert_eq!(http.post_form(&url, &p2, None).status, 200);
    let bad = kit.client_assertion(&j, "https://elsewhere.example");
    let mut p3 = te_params(&kit, &tok_j);
    p3.push(("client_assertion_type", ASSERTION_TYPE));
    p3.push(("client_assertion", &bad));
    assert_eq!(http.post_form(&url, &p3, None).status, 401);
    // Assertion signed with another key.
    let other = idjag_testkit::TestKey::generate(idjag_testkit::Alg::ES256);
    let forged = other.sign_with_typ(
        None,
        &serde_json::json!({
        "iss": j.client_id, "sub": j.client_id, "aud": kit.idp_token_endpoint(),
        "jti": "x1", "exp": kit.now() + 60}),
    );
    let mut p4 = te_params(&kit, &tok_j);
    p4.push(("client_assertion_type", ASSERTION_TYPE));
    p4.push(("client_assertion", &forged));
    assert_eq!(http.post_form(&url, &p4, None).status, 401);

    // none: only for the public client.
    let pc = kit.idp_public_client();
    let tok_p = kit.mint_id_token_with(&idjag_testkit::IdTokenSpec {
        aud: Some(pc.client_id.clone()),
        ..idjag_testkit::IdTokenSpec::new("alice")
    });
    let mut p = te_params(&kit, &tok_p);
    p.push(("client_id", &pc.client_id));
    assert_eq!(http.post_form(&url, &p, None).status, 200);
    let mut p = te_params(&kit, &tok);
    p.push(("client_id", &c.client_id));
    assert_eq!(http.post_form(&url, &p, None).status, 401);
    // No credentials at all.
    assert_eq!(
        http.post_form(&url, &te_params(&kit, &tok), None).status,
        401
    );
}

#[test]
fn as_client_authentication_methods() {
    let kit = TestKit::start();
    let http = Http::new();
    let url = kit.as_token_endpoint();

    // Basic.
    let c = kit.as_client();
    let r = http.post_form(
        &url,
        &[
            ("grant_type", JWT_BEARER),
            ("assertion", &kit.mint_id_jag("a")),
        ],
        Some((&c.client_id, secret(&c))),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    // Post.
    let jag = kit.mint_id_jag("a");
    let r = http.post_form(
        &url,
        &[
            ("grant_type", JWT_BEARER),
            ("assertion", &jag),
            ("client_id", &c.client_id),
            ("client_secret", secret(&c)),
        ],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);

    // private_key_jwt client: its ID-JAG must carry its client_id.
    let j = kit.as_jwt_client();
    assert_eq!(j.key_alg.as_deref(), Some("RS256"));
    assert!(j
        .private_key_pem
        .as_deref()
        .unwrap()
        .starts_with("-----BEGIN PRIVATE KEY-----"));
    let mut claims = kit.id_jag_claims("a");
    claims["client_id"] = j.client_id.clone().into();
    let jag = kit.sign_id_jag(&claims);
    let assertion = kit.client_assertion(&j, kit.as_issuer());
    let r = http.post_form(
        &url,
        &[
            ("grant_type", JWT_BEARER),
            ("assertion", &jag),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", &assertion),
        ],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    // The confidential client cannot redeem an ID-JAG made for the jwt client.
    let mut claims = kit.id_jag_claims("a");
    claims["client_id"] = j.client_id.clone().into();
    let r = redeem(&kit, &http, &kit.sign_id_jag(&claims), None);
    assert_eq!(r.error(), "invalid_grant");
    assert_eq!(kit.last_as_rejection().as_deref(), Some("client_mismatch"));

    // Post-only client: Basic refused, post accepted.
    let p = kit.as_post_client();
    let mut claims = kit.id_jag_claims("a");
    claims["client_id"] = p.client_id.clone().into();
    let jag = kit.sign_id_jag(&claims);
    let r = http.post_form(
        &url,
        &[("grant_type", JWT_BEARER), ("assertion", &jag)],
        Some((&p.client_id, secret(&p))),
    );
    assert_eq!(r.status, 401);
    assert_eq!(r.error(), "invalid_client");
    let r = http.post_form(
        &url,
        &[
            ("grant_type", JWT_BEARER),
            ("assertion", &jag),
            ("client_id", &p.client_id),
            ("client_secret", secret(&p)),
        ],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);

    // Bad secret → 401.
    let r = http.post_form(
        &url,
        &[
            ("grant_type", JWT_BEARER),
            ("assertion", &kit.mint_id_jag("a")),
        ],
        Some((&c.client_id, "wrong")),
    );
    assert_eq!(r.status, 401);
    assert!(r.header("www-authenticate").is_some());
}

#[test]
fn as_auth_methods_are_configurable() {
    let kit = TestKit::start_with(idjag_testkit::Options {
        as_auth_methods: vec!["client_secret_post".into()],
        ..Default::default()
    });
    let http = Http::new();
    let meta = http.get(&kit.as_metadata_url()).json();
    assert_eq!(
        meta["token_endpoint_auth_methods_supported"],
        serde_json::json!(["client_secret_post"])
    );
    let c = kit.as_client();
    let r = redeem(&kit, &http, &kit.mint_id_jag("a"), None);
    assert_eq!(r.status, 401);
    let r = http.post_form(
        &kit.as_token_endpoint(),
        &[
            ("grant_type", JWT_BEARER),
            ("assertion", &kit.mint_id_jag("a")),
            ("client_id", &c.client_id),
            ("client_secret", secret(&c)),
        ],
        None,
    );
    assert_eq!(r.status, 200);
}

#[test]
fn full_flow_with_mapped_post_client() {
    let kit = TestKit::start();
    let http = Http::new();
    let p = kit.as_post_client();
    kit.map_client(&kit.idp_client().client_id, &p.client_id);
    let r = exchange(&kit, &http, &kit.mint_id_token("zoe"), ID_TOKEN, None);
    let jag = r.json()["access_token"].as_str().unwrap().to_string();
    assert_eq!(jwt_part(&jag, 1)["client_id"], p.client_id.as_str());
    let r = http.post_form(
        &kit.as_token_endpoint(),
        &[
            ("grant_type", JWT_BEARER),
            ("assertion", &jag),
            ("client_id", &p.client_id),
            ("client_secret", secret(&p)),
        ],
        None,
    );
    assert_eq!(r.status, 200, "{}", r.body);
}

#[test]
fn lenient_basic_and_plain_secrets() {
    let kit = TestKit::start_with(idjag_testkit::Options {
        lenient_basic: true,
        metadata_cache_control: Some("max-age=60".into()),
        ..Default::default()
    });
    let http = Http::new();
    assert_eq!(
        http.get(kit.prm_url()).header("cache-control"),
        Some("max-age=60")
    );
    let c = kit.as_client();
    let raw = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", c.client_id, secret(&c)))
    );
    let body = form(&[
        ("grant_type", JWT_BEARER),
        ("assertion", &kit.mint_id_jag("a")),
    ]);
    let r = http.request(
        "POST",
        &kit.as_token_endpoint(),
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Authorization", &raw),
        ],
        Some(body.into_bytes()),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    // Encoded credentials still work.
    assert_eq!(redeem(&kit, &http, &kit.mint_id_jag("a"), None).status, 200);

    let kit = TestKit::start_with(idjag_testkit::Options {
        plain_secrets: true,
        ..Default::default()
    });
    assert!(secret(&kit.as_client())
        .chars()
        .all(|ch| ch.is_ascii_alphanumeric()));
    assert!(secret(&kit.idp_client())
        .chars()
        .all(|ch| ch.is_ascii_alphanumeric()));
    assert!(Http::new()
        .get(kit.prm_url())
        .header("cache-control")
        .is_none());
    assert_eq!(
        redeem(&kit, &Http::new(), &kit.mint_id_jag("a"), None).status,
        200
    );
}
