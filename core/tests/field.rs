//! What real IdPs and authorization servers do (docs/GUIDE.md "Interoperability notes"):
//! each quirk reproduced by a testkit switch, over loopback.

use idjag::{ErrorKind, Session, SessionConfig, Step};
use idjag_testkit::{Endpoint, Options, TestKit};
use serde_json::{json, Value};

fn config(kit: &TestKit, extra: Value) -> SessionConfig {
    let idp = kit.idp_client();
    let cl = kit.as_client();
    let mut v = json!({
        "idp": {"issuer": kit.idp_issuer(), "client_id": idp.client_id, "client_secret": idp.client_secret},
        "subject_token": kit.mint_id_token("alice"),
        "client": {"client_id": cl.client_id, "client_secret": cl.client_secret},
        "client_issuers": [kit.as_issuer()],
    });
    for (k, x) in extra.as_object().expect("object") {
        v[k] = x.clone();
    }
    SessionConfig::from_json(&v.to_string()).expect("config")
}

fn as_token_requests(kit: &TestKit) -> Vec<idjag_testkit::RequestRecord> {
    kit.requests()
        .into_iter()
        .filter(|r| r.endpoint == Some(Endpoint::AsToken))
        .collect()
}

/// Okta custom authorization servers refuse a `scope` on the jwt-bearer request
/// (agentgateway #2741/#2770); Keycloak needs one. `jwt_bearer_scope` per AS issuer:
/// `inherit` (default), `omit`, or an explicit value.
#[test]
fn okta_rejects_scope_on_jwt_bearer_and_omit_fixes_it() {
    let kit = TestKit::start_with(Options {
        as_reject_jwt_bearer_scope: true,
        ..Default::default()
    });
    let e = Session::new(config(&kit, json!({"scope": "mcp:read"})))
        .expect("session")
        .access_token(kit.mcp_url())
        .expect_err("the AS refuses the scope");
    assert_eq!(e.kind(), ErrorKind::OauthError, "{e}");
    assert_eq!(e.step(), Step::AsGrant);
    assert_eq!(
        e.oauth_error().map(|o| o.error.as_str()),
        Some("invalid_scope")
    );

    let s = Session::new(config(
        &kit,
        json!({"scope": "mcp:read", "jwt_bearer_scope": {kit.as_issuer(): "omit"}}),
    ))
    .expect("session");
    kit.clear_requests();
    let t = s.access_token(kit.mcp_url()).expect("omit works");
    let claims = t.id_jag_claims.expect("claims");
    assert_eq!(
        claims["scope"],
        json!("mcp:read"),
        "leg 1 still asks for it"
    );
    assert_eq!(as_token_requests(&kit).len(), 1);
    assert_eq!(as_token_requests(&kit)[0].status, 200);
}

/// An explicit leg-2 scope is sent whatever leg 1 asked for; `inherit` sends leg 1's.
#[test]
fn explicit_and_inherited_jwt_bearer_scope() {
    let kit = TestKit::start();
    let s = Session::new(config(
        &kit,
        json!({"scope": "mcp:read mcp:write", "jwt_bearer_scope": {kit.as_issuer(): {"value": "mcp:read"}}}),
    ))
    .expect("session");
    let t = s.access_token(kit.mcp_url()).expect("token");
    assert_eq!(
        t.scope.as_deref(),
        Some("mcp:read"),
        "the AS granted what leg 2 asked"
    );
    let s = Session::new(config(
        &kit,
        json!({"scope": "mcp:read mcp:write", "jwt_bearer_scope": {kit.as_issuer(): "inherit"}}),
    ))
    .expect("session");
    let t = s.access_token(kit.mcp_url()).expect("token");
    assert_eq!(t.scope.as_deref(), Some("mcp:read mcp:write"));
    for bad in [json!("sometimes"), json!({"values": "x"}), json!(3)] {
        let mut v = json!({
            "idp": {"issuer": "https://idp.example.com", "client_id": "a"},
        });
        v["jwt_bearer_scope"] = json!({"https://as.example.com": bad});
        let e = SessionConfig::from_json(&v.to_string()).expect_err("bad policy");
        assert_eq!(e.kind(), ErrorKind::Configuration);
        assert!(e.message().contains("jwt_bearer_scope"), "{}", e.message());
    }
}

/// Auth0 publishes its issuer with a trailing slash. The issuer check stays exact (RFC 8414
/// §3.3), leg 1's `audience` is the issuer exactly as published, and the verifier's `aud`
/// comparison is exact.
#[test]
fn auth0_trailing_slash_issuer_end_to_end_and_exact() {
    let kit = TestKit::start_with(Options {
        as_issuer_trailing_slash: true,
        ..Default::default()
    });
    assert!(kit.as_issuer().ends_with('/'));
    let s = Session::new(config(&kit, json!({}))).expect("session");
    let t = s.access_token(kit.mcp_url()).expect("token");
    assert_eq!(t.authorization_server, kit.as_issuer());
    let claims = t.id_jag_claims.expect("claims");
    assert_eq!(
        claims["aud"],
        json!(kit.as_issuer()),
        "audience exactly as published"
    );

    // An ID-JAG for the issuer without the slash is refused by the AS (exact `aud`).
    let mut c = kit.id_jag_claims("alice");
    c["aud"] = json!(kit.as_issuer().trim_end_matches('/'));
    let jag = kit.sign_id_jag(&c);
    let client = idjag::Client::new().expect("client");
    let cl = kit.as_client();
    let creds = idjag::ClientCredentials::new(cl.client_id.clone())
        .with_secret(cl.client_secret.clone().unwrap_or_default());
    let endpoint = idjag::TokenEndpoint::new(kit.as_token_endpoint(), creds);
    let e = client
        .redeem_id_jag(&idjag::RedeemRequest::new(endpoint, jag))
        .expect_err("aud mismatch");
    assert_eq!(
        e.oauth_error().map(|o| o.error.as_str()),
        Some("invalid_grant")
    );
    assert_eq!(
        kit.last_as_rejection().as_deref(),
        Some("audience_mismatch")
    );

    // And a client configured with the slash-less issuer does not find the server's AS.
    let mut cfg = config(&kit, json!({}));
    cfg.clients.insert(
        kit.as_issuer().trim_end_matches('/').to_string(),
        cfg.client.clone().expect("client"),
    );
    cfg.client = None;
    let e = Session::new(cfg)
        .expect("session")
        .access_token(kit.mcp_url())
        .expect_err("no credentials for the exact issuer");
    assert_eq!(e.kind(), ErrorKind::Configuration, "{e}");
}

/// The token endpoint is pinned with the issuer (a credential leak in another SDK's legacy
/// discovery path): credentials configured for an AS issuer go only to the token endpoint that
/// issuer's own metadata names. When that metadata cannot be had, nothing is sent anywhere —
/// no guessed `{origin}/token`, at the AS or at the MCP server.
#[test]
fn credentials_go_only_to_the_token_endpoint_of_the_issuers_own_metadata() {
    let kit = TestKit::start();
    let mut cfg = config(&kit, json!({}));
    let client = cfg.client.take().expect("client");
    cfg.clients.insert(kit.as_issuer().to_string(), client);
    cfg.client_issuers = None;
    kit.set_fault(
        Endpoint::AsMetadata,
        idjag_testkit::Fault::status(404, "{}"),
    );
    kit.clear_requests();
    let e = Session::new(cfg.clone())
        .expect("session")
        .access_token(kit.mcp_url())
        .expect_err("no AS metadata");
    assert_eq!(e.step(), Step::Discovery, "{e}");
    let posts: Vec<_> = kit
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.endpoint != Some(Endpoint::Mcp))
        .collect();
    assert!(
        posts.is_empty(),
        "nothing was sent with credentials: {posts:?}"
    );
    // With the metadata back, the one endpoint it names is used.
    kit.clear_fault(Endpoint::AsMetadata);
    let s = Session::new(cfg).expect("session");
    kit.clear_requests();
    s.access_token(kit.mcp_url()).expect("token");
    let token_posts: Vec<_> = kit
        .requests()
        .into_iter()
        .filter(|r| r.endpoint == Some(Endpoint::AsToken))
        .collect();
    assert_eq!(token_posts.len(), 1);
    assert!(format!("{}/token", kit.as_issuer()).ends_with(&token_posts[0].path));
}
