//! Interop with a real authorization server: stock Keycloak (26.7.x, `--features=
//! identity-assertion-jwt`) accepting ID-JAGs signed by the testkit IdP and redeemed by
//! idjag's own [`Client`].
//!
//! Ignored by default because it needs a running Keycloak; `scripts/test.sh` always runs it:
//!
//! ```sh
//! scripts/keycloak.sh start            # prints http://127.0.0.1:18080
//! IDJAG_KEYCLOAK_URL=http://127.0.0.1:18080 cargo test -p idjag --test keycloak -- --ignored
//! scripts/keycloak.sh stop
//! ```
//!
//! Each run creates its own realm (`idjag-<random>`) through the admin REST API, because the
//! testkit IdP (issuer and JWKS URL) lives on a random loopback port, and deletes it at the
//! end. Admin credentials: `IDJAG_KEYCLOAK_ADMIN` / `IDJAG_KEYCLOAK_ADMIN_PASSWORD`
//! (default `admin` / `admin`, as `scripts/keycloak.sh` bootstraps them).
#![cfg(feature = "ureq")]

use idjag::{
    AuthMethod, AuthorizationServerMetadata, Client, ClientCredentials, Error, ErrorKind,
    HttpEvent, OAuthErrorCode, RedeemRequest, SecretString, TokenEndpoint,
};
use idjag_testkit::TestKit;
#[path = "../../tests/keycloak/admin.rs"]
mod admin;
use admin::{keycloak_url, Admin, RealmGuard};
use serde_json::{json, Map, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The confidential client registered in the realm. Its secret needs RFC 6749 §2.3.1
/// form-urlencoding inside HTTP Basic (`:`, `+`, `/`, `%`, `&`, `=`, space), like the
/// testkit's own secrets, so the test also shows how Keycloak decodes Basic credentials.
const CLIENT_ID: &str = "mcp-client";
const CLIENT_SECRET: &str = "kc:s3cr+t/%&= z";
/// A second client in the same realm, also allowed to use the grant: the `client_id`
/// claim must name the *authenticated* client, not just any client of the realm.
const OTHER_CLIENT_ID: &str = "other-client";
const OTHER_CLIENT_SECRET: &str = "otherSecret0123456789";
const IDP_ALIAS: &str = "testkit-idp";
const USER: &str = "alice";
/// The MCP server URL Keycloak puts in the access token `aud` (audience mapper).
const MCP_AUDIENCE: &str = "http://127.0.0.1:8000/mcp";

/// The realm: one `jwt-authorization-grant` identity provider trusting the testkit IdP, a
/// confidential client allowed to redeem its ID-JAGs, and a user linked to the IdP subject.
/// One template, `tests/keycloak/realm.json`, serves the Rust, Python and Node Keycloak tests.
fn realm_json(realm: &str, kit: &TestKit) -> Value {
    let v = admin::realm_json(realm, kit.idp_issuer(), &kit.idp_jwks_uri(), MCP_AUDIENCE);
    // The constants this test uses are the template's.
    assert_eq!(v["identityProviders"][0]["alias"], json!(IDP_ALIAS));
    assert_eq!(v["clients"][0]["clientId"], json!(CLIENT_ID));
    assert_eq!(v["clients"][0]["secret"], json!(CLIENT_SECRET));
    assert_eq!(v["clients"][1]["clientId"], json!(OTHER_CLIENT_ID));
    assert_eq!(v["clients"][1]["secret"], json!(OTHER_CLIENT_SECRET));
    assert_eq!(
        v["clients"][0]["protocolMappers"][0]["config"]["included.custom.audience"],
        json!(MCP_AUDIENCE)
    );
    assert_eq!(v["users"][0]["username"], json!(USER));
    v
}

// ---------------------------------------------------------------------------------------
// Helpers for the checks

struct Ctx<'a> {
    kit: &'a TestKit,
    client: &'a Client,
    meta: &'a AuthorizationServerMetadata,
    issuer: String,
    token_endpoint: String,
}

impl Ctx<'_> {
    /// Valid ID-JAG claims for Keycloak: `aud` = realm issuer, `client_id` = mcp-client,
    /// fresh `jti`, `iat` = now, `exp` = iat + 300 (the testkit's defaults, re-aimed).
    fn claims(&self) -> Value {
        let mut c = self.kit.id_jag_claims(USER);
        c["aud"] = json!(self.issuer);
        c["client_id"] = json!(CLIENT_ID);
        c["scope"] = json!("mcp:read");
        let iat = self.kit.now();
        c["iat"] = json!(iat);
        c["exp"] = json!(iat + 300);
        c
    }

    fn sign(&self, alg: &str, typ: &str, claims: &Value) -> String {
        let mut h = Map::new();
        h.insert("alg".into(), json!(alg));
        h.insert("typ".into(), json!(typ));
        let jwt = self.kit.sign_jwt(&h, claims);
        assert!(!jwt.is_empty(), "the testkit has no {alg} key");
        jwt
    }

    fn id_jag(&self, alg: &str, claims: &Value) -> String {
        self.sign(alg, idjag::urn::JWT_TYP_ID_JAG, claims)
    }

    fn creds(&self, method: AuthMethod, client_id: &str, secret: &str) -> ClientCredentials {
        ClientCredentials::new(client_id)
            .with_secret(SecretString::from(secret.to_string()))
            .with_method(method)
    }

    fn redeem_as(
        &self,
        assertion: &str,
        creds: ClientCredentials,
    ) -> (Result<idjag::AccessToken, Error>, Duration) {
        let req = RedeemRequest::new(
            TokenEndpoint::new(self.token_endpoint.clone(), creds)
                .issuer(self.issuer.clone())
                .auth_methods_supported(self.meta.auth_methods()),
            SecretString::from(assertion.to_string()),
        );
        let t0 = Instant::now();
        let r = self.client.redeem_id_jag(&req);
        (r, t0.elapsed())
    }

    fn redeem(&self, assertion: &str) -> (Result<idjag::AccessToken, Error>, Duration) {
        self.redeem_as(
            assertion,
            self.creds(AuthMethod::ClientSecretBasic, CLIENT_ID, CLIENT_SECRET),
        )
    }
}

fn describe(e: &Error) -> String {
    match e.oauth_error() {
        Some(o) => format!(
            "{} HTTP {:?} error={} error_description={:?}",
            e.code(),
            e.status(),
            o.error,
            o.error_description
        ),
        None => format!("{} HTTP {:?}: {}", e.code(), e.status(), e.message()),
    }
}

/// Expects our typed `oauth_error` carrying the given RFC 6749 §5.2 `error`.
fn expect_oauth(
    r: Result<idjag::AccessToken, Error>,
    error: &str,
    took: Duration,
) -> Result<String, String> {
    match r {
        Ok(t) => Err(format!(
            "accepted (token_type {}), expected {error}",
            t.token_type
        )),
        Err(e) => {
            let d = describe(&e);
            if e.kind() == ErrorKind::OauthError
                && e.oauth_error().is_some_and(|o| o.error.as_str() == error)
            {
                Ok(format!(
                    "{d}, action {} ({} ms)",
                    e.action(),
                    took.as_millis()
                ))
            } else {
                Err(format!("expected oauth_error/{error}, got {d}"))
            }
        }
    }
}

/// A failed client authentication: `oauth_error`, HTTP 401, `invalid_client` (RFC 6749) or
/// Keycloak's `unauthorized_client`, and the `reconfigure` action.
fn expect_client_auth_failure(
    r: Result<idjag::AccessToken, Error>,
    took: Duration,
) -> Result<String, String> {
    match r {
        Ok(t) => Err(format!("accepted (token_type {})", t.token_type)),
        Err(e) => {
            let d = describe(&e);
            let code_ok = e.oauth_error().is_some_and(|o| {
                matches!(
                    o.error,
                    OAuthErrorCode::InvalidClient | OAuthErrorCode::UnauthorizedClient
                )
            });
            if e.kind() == ErrorKind::OauthError
                && code_ok
                && e.status() == Some(401)
                && e.action() == idjag::Action::Reconfigure
            {
                Ok(format!(
                    "{d}, action {} ({} ms)",
                    e.action(),
                    took.as_millis()
                ))
            } else {
                Err(format!(
                    "expected a 401 client-authentication oauth_error with action reconfigure, got {d}, action {}",
                    e.action()
                ))
            }
        }
    }
}

fn expect_bearer(
    r: Result<idjag::AccessToken, Error>,
    took: Duration,
    want_sub: &str,
    issuer: &str,
) -> Result<String, String> {
    let t = r.map_err(|e| format!("refused: {}", describe(&e)))?;
    if t.token_type != "Bearer" {
        return Err(format!("token_type {}", t.token_type));
    }
    let at = idjag::jwt::inspect(t.access_token.expose_secret(), 0)
        .map_err(|e| format!("the access token is not a JWT: {e}"))?;
    let c = &at.claims;
    if c.get("iss") != Some(&json!(issuer)) {
        return Err(format!("access token iss {:?}", c.get("iss")));
    }
    if c.get("azp") != Some(&json!(CLIENT_ID)) {
        return Err(format!("access token azp {:?}", c.get("azp")));
    }
    if let Some(sub) = c.get("sub") {
        if sub != &json!(want_sub) {
            return Err(format!("access token sub {sub}, expected {want_sub}"));
        }
    }
    let aud_ok = match c.get("aud") {
        Some(Value::String(a)) => a == MCP_AUDIENCE,
        Some(Value::Array(a)) => a.contains(&json!(MCP_AUDIENCE)),
        _ => false,
    };
    if !aud_ok {
        return Err(format!(
            "access token aud {:?} lacks {MCP_AUDIENCE}",
            c.get("aud")
        ));
    }
    Ok(format!(
        "Bearer, expires_in={:?}, scope={:?}, aud={}, sub={}, {} ms",
        t.expires_in,
        t.scope,
        c.get("aud").map(|v| v.to_string()).unwrap_or_default(),
        c.get("sub").map(|v| v.to_string()).unwrap_or_default(),
        took.as_millis()
    ))
}

// ---------------------------------------------------------------------------------------

#[test]
#[ignore = "needs a running Keycloak (IDJAG_KEYCLOAK_URL); scripts/test.sh starts one and runs this"]
fn keycloak_accepts_id_jags_from_the_testkit_idp() {
    let base = keycloak_url();
    let admin = Admin::new(&base);
    let realm = format!("idjag-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let issuer = format!("{base}/realms/{realm}");
    // The testkit IdP issues ID-JAGs for this realm too (real leg 1 → Keycloak leg 2).
    let kit = TestKit::start_with(idjag_testkit::Options {
        extra_audiences: vec![issuer.clone()],
        ..Default::default()
    });

    let info = admin.get_json("/admin/serverinfo");
    let version = info["systemInfo"]["version"]
        .as_str()
        .unwrap_or("?")
        .to_string();
    let java = info["systemInfo"]["javaVersion"].as_str().unwrap_or("?");
    let enabled: Vec<String> = info["features"]
        .as_array()
        .map(|fs| {
            fs.iter()
                .filter(|f| f["enabled"] == json!(true))
                .filter_map(|f| f["name"].as_str().map(str::to_string))
                .filter(|n| n.contains("JWT") || n.contains("jwt"))
                .collect()
        })
        .unwrap_or_default();
    println!("Keycloak {version} at {base} (Java {java}); JWT features enabled: {enabled:?}");

    let t0 = Instant::now();
    let (status, text) = admin.call("POST", "/admin/realms", Some(&realm_json(&realm, &kit)));
    assert_eq!(status, 201, "create realm {realm}: {text}");
    let _guard = RealmGuard {
        admin: &admin,
        realm: realm.clone(),
    };
    println!(
        "realm {realm} created in {} ms (IdP {IDP_ALIAS}: issuer {}, jwks {})",
        t0.elapsed().as_millis(),
        kit.idp_issuer(),
        kit.idp_jwks_uri()
    );
    let users = admin.get_json(&format!(
        "/admin/realms/{realm}/users?username={USER}&exact=true"
    ));
    let user_id = users[0]["id"].as_str().expect("user id").to_string();
    let links = admin.get_json(&format!(
        "/admin/realms/{realm}/users/{user_id}/federated-identity"
    ));
    assert_eq!(
        links[0]["userId"],
        json!(USER),
        "the user is linked to the IdP subject: {links}"
    );

    // --- Discovery with idjag's own client (RFC 8414 path insert, then OIDC) -------------
    let events: Arc<Mutex<Vec<HttpEvent>>> = Arc::default();
    let sink = Arc::clone(&events);
    let client = Client::builder()
        .on_event(Arc::new(move |e: &HttpEvent| {
            if let Ok(mut v) = sink.lock() {
                v.push(e.clone());
            }
        }))
        .build()
        .expect("client");
    let t0 = Instant::now();
    let meta = client
        .authorization_server_metadata(&issuer)
        .unwrap_or_else(|e| panic!("discovery of {issuer}: {}", describe(&e)));
    let took = t0.elapsed();
    assert_eq!(meta.issuer, issuer);
    let tried: Vec<(String, Option<u16>)> = events
        .lock()
        .map(|v| v.iter().map(|e| (e.url.clone(), e.status)).collect())
        .unwrap_or_default();
    println!("discovery: {} ms; tried {:?}", took.as_millis(), tried);
    let winner = tried
        .iter()
        .find(|(_, s)| *s == Some(200))
        .map(|(u, _)| u.clone())
        .expect("a metadata URL answered 200");
    println!("discovery: metadata served at {winner}");
    assert_eq!(
        winner,
        format!("{base}/.well-known/oauth-authorization-server/realms/{realm}"),
        "Keycloak 26.7 serves RFC 8414 path-inserted metadata, the first URL in the MCP order"
    );
    // Every URL of the MCP order, fetched directly, for the report.
    for url in idjag::discovery::authorization_server_metadata_urls(
        &url::Url::parse(&issuer).expect("issuer URL"),
    ) {
        let mut r = admin
            .agent
            .get(&url)
            .call()
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        let s = r.status().as_u16();
        let issuer_there = if s == 200 {
            let v: Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap_or_default())
                .unwrap_or_default();
            v["issuer"].to_string()
        } else {
            String::new()
        };
        println!("  {s} {url} {issuer_there}");
    }
    let token_endpoint = meta
        .token_endpoint
        .clone()
        .expect("Keycloak metadata has a token_endpoint");
    assert!(
        meta.supports_jwt_bearer(),
        "grant_types_supported lists jwt-bearer: {:?}",
        meta.grant_types_supported
    );
    println!(
        "metadata: token_endpoint {token_endpoint}; jwt-bearer advertised: {}; \
         authorization_grant_profiles_supported: {:?} (id-jag profile advertised: {}); \
         auth methods {:?}",
        meta.supports_jwt_bearer(),
        meta.authorization_grant_profiles_supported,
        meta.supports_id_jag_profile(),
        meta.auth_methods()
    );
    assert!(meta.supports_enterprise_managed_authorization());

    let ctx = Ctx {
        kit: &kit,
        client: &client,
        meta: &meta,
        issuer: issuer.clone(),
        token_endpoint: token_endpoint.clone(),
    };

    // --- The checks ----------------------------------------------------------------------
    let mut results: Vec<(&str, Result<String, String>)> = Vec::new();

    // 1. ES256 ID-JAG, client_secret_basic (the secret needs form-urlencoding).
    let es256 = ctx.id_jag("ES256", &ctx.claims());
    let (r, took) = ctx.redeem(&es256);
    results.push((
        "ES256 ID-JAG, client_secret_basic → Bearer (first: Keycloak fetches the JWKS)",
        expect_bearer(r, took, &user_id, &issuer),
    ));

    // 1b. The real chain: leg 1 at the testkit IdP (RFC 8693, audience = the realm issuer)
    //     with idjag's client, then leg 2 at Keycloak.
    let idp = kit.idp_client();
    let leg1 = idjag::IdJagRequest::new(
        TokenEndpoint::new(
            kit.idp_token_endpoint(),
            ClientCredentials::new(idp.client_id.clone())
                .with_secret(idp.client_secret.clone().unwrap_or_default()),
        )
        .issuer(kit.idp_issuer()),
        issuer.clone(),
        kit.mint_id_token(USER),
        idjag::SubjectTokenType::IdToken,
    )
    .resource(kit.mcp_url())
    .scope("mcp:read");
    let chained = match client.request_id_jag(&leg1) {
        Ok(jag) => {
            let (r, took) = ctx.redeem(jag.assertion.expose_secret());
            expect_bearer(r, took, &user_id, &issuer)
        }
        Err(e) => Err(format!("leg 1 at the testkit IdP failed: {}", describe(&e))),
    };
    results.push((
        "leg 1 (token exchange at the testkit IdP) → leg 2 at Keycloak → Bearer",
        chained,
    ));

    // 2. The same assertion again: replay of its jti.
    let (r, took) = ctx.redeem(&es256);
    results.push((
        "replayed jti → invalid_grant",
        expect_oauth(r, "invalid_grant", took),
    ));

    // 3. RS256 ID-JAG.
    let rs256 = ctx.id_jag("RS256", &ctx.claims());
    let (r, took) = ctx.redeem(&rs256);
    results.push((
        "RS256 ID-JAG, client_secret_basic → Bearer",
        expect_bearer(r, took, &user_id, &issuer),
    ));

    // 4. A second fresh ES256 ID-JAG: steady-state timing (JWKS cached by Keycloak).
    let mut times = Vec::new();
    let mut steady: Result<String, String> = Ok(String::new());
    for _ in 0..5 {
        let (r, took) = ctx.redeem(&ctx.id_jag("ES256", &ctx.claims()));
        times.push(took.as_millis());
        if let Err(e) = expect_bearer(r, took, &user_id, &issuer) {
            steady = Err(e);
            break;
        }
    }
    if steady.is_ok() {
        steady = Ok(format!("5 redemptions, ms each: {times:?}"));
    }
    results.push(("ES256 ID-JAG ×5 → Bearer (steady-state timing)", steady));

    // 5. client_secret_post.
    let (r, took) = ctx.redeem_as(
        &ctx.id_jag("ES256", &ctx.claims()),
        ctx.creds(AuthMethod::ClientSecretPost, CLIENT_ID, CLIENT_SECRET),
    );
    results.push((
        "ES256 ID-JAG, client_secret_post → Bearer",
        expect_bearer(r, took, &user_id, &issuer),
    ));

    // 6. aud = the token endpoint (Keycloak's documented alternative audience).
    let mut c = ctx.claims();
    c["aud"] = json!(token_endpoint);
    let (r, took) = ctx.redeem(&ctx.id_jag("ES256", &c));
    results.push((
        "aud = token endpoint URL → Bearer",
        expect_bearer(r, took, &user_id, &issuer),
    ));

    // 7. client_id claim names another client than the authenticated one.
    let mut c = ctx.claims();
    c["client_id"] = json!(OTHER_CLIENT_ID);
    let (r, took) = ctx.redeem(&ctx.id_jag("ES256", &c));
    results.push((
        "client_id claim ≠ authenticated client → invalid_grant",
        expect_oauth(r, "invalid_grant", took),
    ));

    // 8. aud with a trailing slash.
    let mut c = ctx.claims();
    c["aud"] = json!(format!("{issuer}/"));
    let (r, took) = ctx.redeem(&ctx.id_jag("ES256", &c));
    results.push((
        "aud with trailing slash → invalid_grant",
        expect_oauth(r, "invalid_grant", took),
    ));

    // 9. Expired.
    let mut c = ctx.claims();
    let now = kit.now();
    c["iat"] = json!(now - 200);
    c["exp"] = json!(now - 100);
    let (r, took) = ctx.redeem(&ctx.id_jag("ES256", &c));
    results.push((
        "expired (exp = now-100) → invalid_grant",
        expect_oauth(r, "invalid_grant", took),
    ));

    // 10. iat older than the IdP's max assertion age (300 s), exp still in the future.
    let mut c = ctx.claims();
    c["iat"] = json!(now - 400);
    c["exp"] = json!(now + 60);
    let (r, took) = ctx.redeem(&ctx.id_jag("ES256", &c));
    results.push((
        "iat older than 300 s, exp in the future → invalid_grant",
        expect_oauth(r, "invalid_grant", took),
    ));

    // 11. Wrong client secret, Basic and post. RFC 6749 §5.2 says `invalid_client`;
    //     Keycloak (long-standing, keycloak/keycloak#12162) answers HTTP 401
    //     `unauthorized_client` "Invalid client or Invalid client credentials". Both must
    //     surface as our typed `oauth_error` with the `reconfigure` action (never a retry).
    for (label, method) in [
        (
            "wrong client secret (basic) → 401 invalid_client/unauthorized_client, action reconfigure",
            AuthMethod::ClientSecretBasic,
        ),
        (
            "wrong client secret (post) → 401 invalid_client/unauthorized_client, action reconfigure",
            AuthMethod::ClientSecretPost,
        ),
    ] {
        let (r, took) = ctx.redeem_as(
            &ctx.id_jag("ES256", &ctx.claims()),
            ctx.creds(method, CLIENT_ID, "wrong-secret"),
        );
        results.push((label, expect_client_auth_failure(r, took)));
    }

    // 12. sub not linked to any Keycloak user.
    let mut c = ctx.claims();
    c["sub"] = json!("mallory");
    let (r, took) = ctx.redeem(&ctx.id_jag("ES256", &c));
    results.push((
        "sub not linked to a user → invalid_grant",
        expect_oauth(r, "invalid_grant", took),
    ));

    // 13. iss not trusted by the realm.
    let mut c = ctx.claims();
    c["iss"] = json!("http://127.0.0.1:1/");
    let (r, took) = ctx.redeem(&ctx.id_jag("ES256", &c));
    results.push((
        "unknown iss → invalid_grant",
        expect_oauth(r, "invalid_grant", took),
    ));

    // 14. Signed by a key the IdP does not publish (same kid-less ES256 header).
    let rogue = idjag_testkit::TestKey::generate(idjag_testkit::Alg::ES256);
    let mut h = Map::new();
    h.insert("alg".into(), json!("ES256"));
    h.insert("typ".into(), json!(idjag::urn::JWT_TYP_ID_JAG));
    if let Some(kid) = kit
        .idp_signing_key(idjag_testkit::Alg::ES256)
        .map(|k| k.kid().to_string())
    {
        h.insert("kid".into(), json!(kid));
    }
    let forged = rogue.sign(&h, &ctx.claims());
    let (r, took) = ctx.redeem(&forged);
    results.push((
        "signature by an unpublished key (published kid) → invalid_grant",
        expect_oauth(r, "invalid_grant", took),
    ));

    // 15. No jti.
    let mut c = ctx.claims();
    if let Some(o) = c.as_object_mut() {
        o.remove("jti");
    }
    let (r, took) = ctx.redeem(&ctx.id_jag("ES256", &c));
    results.push((
        "no jti → invalid_grant",
        expect_oauth(r, "invalid_grant", took),
    ));

    // Observations (printed, not asserted: Keycloak behaviour outside the ID-JAG profile).
    // a. Without `typ: oauth-id-jag+jwt` Keycloak falls back to its generic RFC 7523
    //    validator, which does not bind the `client_id` claim.
    let mut c = ctx.claims();
    c["client_id"] = json!(OTHER_CLIENT_ID);
    let (r, took) = ctx.redeem(&ctx.sign("ES256", "JWT", &c));
    println!(
        "observation: typ=JWT with a foreign client_id claim → {}",
        match r {
            Ok(t) => format!("ACCEPTED ({}; {} ms)", t.token_type, took.as_millis()),
            Err(e) => describe(&e),
        }
    );
    // b. An ID-JAG whose lifetime exceeds 300 s (exp = iat + 3600), fresh iat.
    let mut c = ctx.claims();
    c["exp"] = json!(kit.now() + 3600);
    let (r, _) = ctx.redeem(&ctx.id_jag("ES256", &c));
    println!(
        "observation: exp = iat + 3600 (fresh iat) → {}",
        match r {
            Ok(t) => format!("accepted, expires_in={:?}", t.expires_in),
            Err(e) => describe(&e),
        }
    );
    // c. The `scope` request parameter.
    let req = RedeemRequest::new(
        TokenEndpoint::new(
            token_endpoint.clone(),
            ctx.creds(AuthMethod::ClientSecretBasic, CLIENT_ID, CLIENT_SECRET),
        )
        .issuer(issuer.clone())
        .auth_methods_supported(meta.auth_methods()),
        SecretString::from(ctx.id_jag("ES256", &ctx.claims())),
    )
    .scope("email");
    println!(
        "observation: scope=email in the request → {}",
        match client.redeem_id_jag(&req) {
            Ok(t) => format!("accepted, granted scope {:?}", t.scope),
            Err(e) => describe(&e),
        }
    );

    // d. HTTP Basic without the RFC 6749 §2.3.1 form-urlencoding (what many libraries send).
    let raw_basic = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    };
    let form = serde_urlencoded::to_string([
        ("grant_type", idjag::urn::GRANT_JWT_BEARER.to_string()),
        ("assertion", ctx.id_jag("ES256", &ctx.claims())),
    ])
    .expect("form");
    let observed = admin
        .agent
        .post(&token_endpoint)
        .header("authorization", &format!("Basic {raw_basic}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .send(form.as_bytes())
        .map(|mut r| {
            (
                r.status().as_u16(),
                r.body_mut().read_to_string().unwrap_or_default(),
            )
        });
    println!(
        "observation: Basic with the secret NOT form-urlencoded → {}",
        match observed {
            Ok((200, _)) => "200 accepted (lenient)".to_string(),
            Ok((s, body)) => format!("{s} {body}"),
            Err(e) => format!("transport error {e}"),
        }
    );

    // e. The jti of an assertion refused for its `aud` is already consumed.
    let mut c = ctx.claims();
    c["aud"] = json!(format!("{issuer}/"));
    let bad_aud = ctx.id_jag("ES256", &c);
    let first = ctx.redeem(&bad_aud).0.err().map(|e| describe(&e));
    let second = ctx.redeem(&bad_aud).0.err().map(|e| describe(&e));
    println!("observation: wrong-aud assertion sent twice → {first:?}, then {second:?}");

    // --- Report --------------------------------------------------------------------------
    let mut failed = 0;
    for (name, r) in &results {
        match r {
            Ok(detail) => println!("ok      {name}: {detail}"),
            Err(why) => {
                failed += 1;
                println!("FAILED  {name}: {why}");
            }
        }
    }
    println!(
        "Keycloak {version}: {} checks, {} passed, {failed} failed",
        results.len(),
        results.len() - failed
    );
    assert_eq!(
        failed, 0,
        "{failed} Keycloak interop check(s) failed (see above)"
    );
    idjag_testkit::record_matrix(
        "rust",
        "keycloak",
        "core/tests/keycloak.rs::keycloak_accepts_id_jags_from_the_testkit_idp",
    );
}
