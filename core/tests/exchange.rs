//! Token requests over real loopback HTTP: the public-client rule (issue "Core reshaped for four
//! languages" §6) against the testkit IdP, secret scrubbing (SECURITY D9/D10) against a
//! loopback server that echoes what it was sent in every encoding, and what real servers do
//! (issue "What real IdPs and authorization servers do" §5, §10, §11, §13) against the
//! testkit imitating them with faults.
#![cfg(feature = "ureq")]

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use idjag::clock::{Clock as _, ManualClock};
use idjag::exchange::NOTE_AUTH_METHOD_NOT_ADVERTISED;
use idjag::{
    Action, AuthMethod, Client, ClientCredentials, Error, ErrorKind, HttpEvent, IdJagRequest,
    IdTokenRefreshRequest, OAuthErrorCode, PrepareContext, PrivateKey, RedeemRequest, Session,
    SessionConfig, SigningAlg, Step, SubjectTokenType, TokenEndpoint,
};
use idjag_testkit::{Alg, Endpoint, Fault, IdTokenSpec, Options, TestKey, TestKit};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn recording_client() -> (Client, Arc<Mutex<Vec<HttpEvent>>>) {
    let events: Arc<Mutex<Vec<HttpEvent>>> = Arc::default();
    let sink = events.clone();
    let client = Client::builder()
        .on_event(Arc::new(move |e: &HttpEvent| {
            sink.lock().expect("lock").push(e.clone())
        }))
        .build()
        .expect("client");
    (client, events)
}

fn kit_listing_only_basic() -> TestKit {
    TestKit::start_with(Options {
        idp_advertised_auth_methods: Some(vec!["client_secret_basic".into()]),
        ..Default::default()
    })
}

fn public_id_token(kit: &TestKit) -> String {
    let mut spec = IdTokenSpec::new("alice");
    spec.aud = Some(kit.idp_public_client().client_id);
    kit.mint_id_token_with(&spec)
}

/// §6 (bug found by a user): a public IdP client is not refused locally when the IdP metadata
/// lists only `client_secret_basic`: leg 1 sends `client_id` (method `none`), the IdP decides
/// (here: accepts), and the request's event says the method was not advertised.
#[test]
fn a_public_client_sends_its_client_id_and_lets_the_idp_decide() {
    let kit = kit_listing_only_basic();
    let (client, events) = recording_client();
    let meta = client
        .authorization_server_metadata(kit.idp_issuer())
        .expect("IdP metadata");
    let public = ClientCredentials::new(kit.idp_public_client().client_id);
    let idp = TokenEndpoint::from_metadata(&meta, public, Step::IdpExchange).expect("endpoint");
    assert_eq!(
        idp.auth_methods_supported.as_deref(),
        Some(&["client_secret_basic".to_string()][..])
    );
    let req = IdJagRequest::new(
        idp,
        kit.as_issuer(),
        public_id_token(&kit),
        SubjectTokenType::IdToken,
    )
    .resource(kit.mcp_url());
    let prepared = req.prepare(&client.prepare_context()).expect("prepare");
    assert_eq!(prepared.auth_method(), AuthMethod::None);
    assert!(!prepared.auth_method_advertised());
    assert!(prepared
        .expose_body()
        .ends_with("&client_id=idp-public-client"));
    assert!(prepared
        .expose_headers()
        .iter()
        .all(|(k, _)| k != "authorization"));

    let jag = client
        .request_id_jag(&req)
        .expect("the IdP accepts the public client");
    let claims = idjag::jwt::inspect(jag.assertion.expose_secret(), 0).expect("jwt");
    assert_eq!(claims.claims["client_id"], "mcp-client");
    let events = events.lock().expect("lock");
    let post = events
        .iter()
        .find(|e| e.step == Step::IdpExchange)
        .expect("leg-1 event");
    assert_eq!(post.note, Some(NOTE_AUTH_METHOD_NOT_ADVERTISED));
    assert_eq!(post.status, Some(200));
    assert!(events
        .iter()
        .filter(|e| e.step != Step::IdpExchange)
        .all(|e| e.note.is_none()));
}

/// The same through a `Session` configured with only an IdP `client_id`; a confidential
/// client's request (whose method is listed) carries no note.
#[test]
fn a_session_with_a_public_idp_client_gets_an_id_jag() {
    let kit = kit_listing_only_basic();
    let events: Arc<Mutex<Vec<HttpEvent>>> = Arc::default();
    let sink = events.clone();
    let cfg = SessionConfig::from_json(
        &serde_json::json!({
            "idp": {"issuer": kit.idp_issuer(), "client_id": kit.idp_public_client().client_id},
            "subject_token": public_id_token(&kit),
        })
        .to_string(),
    )
    .expect("config");
    let session = Session::builder(cfg)
        .on_event(Arc::new(move |e: &HttpEvent| {
            sink.lock().expect("lock").push(e.clone())
        }))
        .build()
        .expect("session");
    session
        .request_id_jag(kit.as_issuer(), kit.mcp_url(), Some("mcp:read"))
        .expect("leg 1 with a public client");
    let notes: Vec<_> = events
        .lock()
        .expect("lock")
        .iter()
        .filter(|e| e.step == Step::IdpExchange)
        .map(|e| e.note)
        .collect();
    assert_eq!(notes, [Some(NOTE_AUTH_METHOD_NOT_ADVERTISED)]);

    let idp = kit.idp_client();
    let (client, events) = recording_client();
    let meta = client
        .authorization_server_metadata(kit.idp_issuer())
        .expect("meta");
    let creds = ClientCredentials::new(idp.client_id.clone())
        .with_secret(idp.client_secret.clone().expect("secret"));
    let req = IdJagRequest::new(
        TokenEndpoint::from_metadata(&meta, creds, Step::IdpExchange).expect("endpoint"),
        kit.as_issuer(),
        kit.mint_id_token("bob"),
        SubjectTokenType::IdToken,
    )
    .resource(kit.mcp_url());
    client.request_id_jag(&req).expect("confidential client");
    assert!(events
        .lock()
        .expect("lock")
        .iter()
        .all(|e| e.note.is_none()));
}

/// SECURITY D10: a hostile method list (5 KB, forged newlines) is sanitised and bounded in
/// the "no method in common" message, before anything is sent.
#[test]
fn a_hostile_method_list_is_bounded_in_the_message() {
    let mut methods: Vec<String> = (0..200)
        .map(|i| format!("m{i}\n2030-01-01 ERROR forged log line {}", "x".repeat(20)))
        .collect();
    methods.push("private_key_jwt".into());
    assert!(methods.iter().map(String::len).sum::<usize>() > 5000);
    let endpoint = TokenEndpoint::new(
        "http://127.0.0.1:9/token",
        ClientCredentials::new("c").with_secret("s3cret"),
    )
    .auth_methods_supported(methods);
    let e = IdJagRequest::new(endpoint, "https://as", "t", SubjectTokenType::IdToken)
        .prepare(&PrepareContext::at(0))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotSupported);
    let shown = e.to_string();
    assert!(!shown.contains('\n'), "{shown}");
    assert!(shown.len() < 600, "{} bytes: {shown}", shown.len());
    assert!(shown.contains("and 195 more"), "{shown}");
}

// ---------------------------------------------------------------------------------------
// D9: a loopback server that answers every token request with a 400 echoing one secret.
// Path: /{leg}/{field}/{encoding}/{placement}; the secret is taken from the request itself.

struct Echo {
    base: String,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Echo {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn form_value(body: &str, key: &str) -> Option<String> {
    url::form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

fn encode(encoding: &str, s: &str) -> String {
    match encoding {
        "raw" => s.to_string(),
        "form" => url::form_urlencoded::byte_serialize(s.as_bytes()).collect(),
        "percent_all" => s.bytes().map(|b| format!("%{b:02X}")).collect(),
        "percent_lower" => s.bytes().map(|b| format!("%{b:02x}")).collect(),
        "json_slash" => s.replace('/', "\\/"),
        "html" => s.replace('&', "&amp;").replace('+', "&#43;"),
        "b64" => STANDARD.encode(s),
        "b64_nopad" => STANDARD_NO_PAD.encode(s),
        "b64url" => URL_SAFE.encode(s),
        "b64url_nopad" => URL_SAFE_NO_PAD.encode(s),
        "b64_inside" => STANDARD.encode(format!("you sent: {s}.")),
        "b64url_inside" => URL_SAFE_NO_PAD.encode(format!("x{s}")),
        "prefix" => s.chars().take(40).collect(),
        other => panic!("encoding {other}"),
    }
}

const ENCODINGS: &[&str] = &[
    "raw",
    "form",
    "percent_all",
    "percent_lower",
    "json_slash",
    "html",
    "b64",
    "b64_nopad",
    "b64url",
    "b64url_nopad",
    "b64_inside",
    "b64url_inside",
    "prefix",
];

/// `description`/`uri`/`code`: an RFC 6749 JSON error body; `text`: a plain-text body. The
/// echo starts 120 bytes in, so a secret longer than ~140 bytes straddles the 256-byte bound.
const PLACEMENTS: &[&str] = &["description", "uri", "code", "text"];

fn echo_server() -> Echo {
    let server = tiny_http::Server::http("127.0.0.1:0").expect("bind");
    let base = format!(
        "http://{}",
        server.server_addr().to_ip().expect("ip address")
    );
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let thread = std::thread::spawn(move || {
        // Bounded: stops when the test drops the server, or after 10 000 requests.
        for _ in 0..10_000 {
            if flag.load(Ordering::SeqCst) {
                break;
            }
            let Ok(Some(mut req)) = server.recv_timeout(Duration::from_millis(50)) else {
                continue;
            };
            let mut body = String::new();
            let _ = req.as_reader().read_to_string(&mut body);
            let auth = req
                .headers()
                .iter()
                .find(|h| h.field.equiv("authorization"))
                .map(|h| h.value.as_str().to_string());
            let parts: Vec<String> = req.url().split('/').map(str::to_string).collect();
            let (field, encoding, placement) = (&parts[2], &parts[3], &parts[4]);
            let secret = match field.as_str() {
                "authorization" => auth.clone(),
                "basic_secret" => auth
                    .as_deref()
                    .and_then(|a| a.strip_prefix("Basic "))
                    .and_then(|b| STANDARD.decode(b).ok())
                    .and_then(|b| String::from_utf8(b).ok())
                    .and_then(|s| s.split_once(':').map(|(_, v)| v.to_string()))
                    .and_then(|v| {
                        url::form_urlencoded::parse(format!("v={v}").as_bytes())
                            .next()
                            .map(|(_, v)| v.into_owned())
                    }),
                f => form_value(&body, f),
            }
            .unwrap_or_else(|| "MISSING-SECRET-IN-REQUEST".into());
            let echoed = encode(encoding, &secret);
            let filler = "the server could not process the request because of this value: "
                .repeat(2)
                .chars()
                .take(120)
                .collect::<String>();
            let text = format!("{filler}{echoed} (end)");
            let (ct, out) = match placement.as_str() {
                "description" => (
                    "application/json",
                    serde_json::json!({"error": "invalid_grant", "error_description": text})
                        .to_string(),
                ),
                "uri" => (
                    "application/json",
                    serde_json::json!({"error": "invalid_request", "error_uri": format!("https://e.example/?v={echoed}")})
                        .to_string(),
                ),
                "code" => (
                    "application/json",
                    serde_json::json!({"error": format!("bad_{echoed}")}).to_string(),
                ),
                _ => ("text/plain", text),
            };
            let resp = tiny_http::Response::from_string(out)
                .with_status_code(400)
                .with_header(tiny_http::Header::from_bytes("content-type", ct).expect("header"));
            let _ = req.respond(resp);
        }
    });
    Echo {
        base,
        stop,
        thread: Some(thread),
    }
}

/// Every form of `secret` that must not survive, and a long-enough fragment of it.
fn forbidden(secret: &str) -> Vec<String> {
    let mut v: Vec<String> = ENCODINGS
        .iter()
        .filter(|e| !e.ends_with("_inside"))
        .map(|e| encode(e, secret))
        .collect();
    v.push(secret.chars().take(24).collect());
    v.push(STANDARD.encode(secret).chars().take(24).collect());
    v
}

fn check(e: &Error, secret: &str, case: &str) {
    assert_eq!(e.status(), Some(400), "{case}: {e}");
    let o = e.oauth_error();
    let shown = format!(
        "{e} || {e:?} || {} || {:?} {:?} {:?}",
        e.to_json(),
        o.map(|o| o.error.as_str()),
        o.and_then(|o| o.error_description.as_deref()),
        o.and_then(|o| o.error_uri.as_deref()),
    );
    assert!(
        shown.contains("[redacted]"),
        "{case}: the echo was not found: {shown}"
    );
    for f in forbidden(secret) {
        assert!(!shown.contains(&f), "{case}: `{f}` survived in {shown}");
    }
    assert!(!shown.contains("MISSING-SECRET"), "{case}: {shown}");
    for text in [
        o.and_then(|o| o.error_description.as_deref()),
        o.and_then(|o| o.error_uri.as_deref()),
    ]
    .into_iter()
    .flatten()
    {
        assert!(text.len() <= 256 + 3, "{case}: unbounded {}", text.len());
    }
}

/// A subject token long enough to straddle the 256-byte bound, with characters that change
/// under every encoding.
fn long_token() -> String {
    format!(
        "eyJhbGciOiJFUzI1NiJ9.{}.sig+/=~{}",
        "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo".repeat(6),
        "Zm9vYmFy".repeat(8)
    )
}

const CLIENT_SECRET: &str = "cl:s3cr+t/%&= x-with-enough-length";

/// SECURITY D9: whatever a failing token endpoint echoes — subject token, refresh token,
/// ID-JAG, client secret (form or inside HTTP Basic), the Basic header, the client assertion —
/// in raw, form, percent, JSON-escaped, HTML, base64 (standard/url-safe, padded or not,
/// embedded in a larger blob) form or as a prefix, in `error_description`, `error_uri`,
/// `error` or a non-JSON body: it never reaches the error, and the kept text is bounded.
#[test]
fn echoed_secrets_are_scrubbed_in_every_encoding() {
    let echo = echo_server();
    let client = Client::new().expect("client");
    let key = TestKey::generate(Alg::ES256);
    let pem = idjag::SecretString::new(key.private_key_pem());
    let jwt_creds = ClientCredentials::new("jwt-client")
        .with_private_key(PrivateKey::from_pem(&pem, SigningAlg::ES256).expect("key"));
    let post = ClientCredentials::new("c")
        .with_secret(CLIENT_SECRET)
        .with_method(AuthMethod::ClientSecretPost);
    let basic = ClientCredentials::new("c")
        .with_secret(CLIENT_SECRET)
        .with_method(AuthMethod::ClientSecretBasic);
    let token = long_token();
    let mut cases = 0;
    for encoding in ENCODINGS {
        for placement in PLACEMENTS {
            let url = |leg: &str, field: &str| {
                format!("{}/{leg}/{field}/{encoding}/{placement}", echo.base)
            };
            let leg1 = |field: &str, creds: &ClientCredentials| {
                IdJagRequest::new(
                    TokenEndpoint::new(url("leg1", field), creds.clone()),
                    "https://as.example",
                    token.as_str(),
                    SubjectTokenType::IdToken,
                )
            };
            let case = |what: &str| format!("{what} {encoding} {placement}");
            // Leg 1: the subject token, the client secret (post and Basic), the header.
            let e = client
                .request_id_jag(&leg1("subject_token", &post))
                .unwrap_err();
            check(&e, &token, &case("subject_token"));
            let e = client
                .request_id_jag(&leg1("client_secret", &post))
                .unwrap_err();
            check(&e, CLIENT_SECRET, &case("client_secret"));
            let e = client
                .request_id_jag(&leg1("basic_secret", &basic))
                .unwrap_err();
            check(&e, CLIENT_SECRET, &case("basic_secret"));
            let header = basic_header();
            let e = client
                .request_id_jag(&leg1("authorization", &basic))
                .unwrap_err();
            check(&e, &header, &case("authorization"));
            // private_key_jwt: the assertion is known only to the request; check it through
            // the prepared request's body.
            let req = leg1("client_assertion", &jwt_creds);
            let ctx = PrepareContext::at(1_790_000_000).jti("fixed-jti");
            let assertion = form_value(
                req.prepare(&ctx).expect("prepare").expose_body(),
                "client_assertion",
            )
            .expect("assertion");
            let prepared = req.prepare(&ctx).expect("prepare");
            let resp = client.send_prepared(&prepared).expect("sent");
            let e = prepared.parse_id_jag(&resp).unwrap_err();
            check(&e, &assertion, &case("client_assertion"));
            // Leg 2: the ID-JAG.
            let e = client
                .redeem_id_jag(&RedeemRequest::new(
                    TokenEndpoint::new(url("leg2", "assertion"), post.clone()),
                    token.as_str(),
                ))
                .unwrap_err();
            check(&e, &token, &case("assertion"));
            // ID-token refresh: the refresh token.
            let e = client
                .refresh_id_token(&IdTokenRefreshRequest::new(
                    TokenEndpoint::new(url("refresh", "refresh_token"), post.clone()),
                    token.as_str(),
                ))
                .unwrap_err();
            check(&e, &token, &case("refresh_token"));
            cases += 7;
        }
    }
    assert_eq!(cases, ENCODINGS.len() * PLACEMENTS.len() * 7);
}

fn basic_header() -> String {
    idjag::client_auth::basic_auth_header("c", CLIENT_SECRET)
}

// ---------------------------------------------------------------------------------------
// Issue "What real IdPs and authorization servers do": error semantics (§5), header-safe
// tokens (§10), `expires_in` clamped (§11), content types and the BOM (§13), over loopback
// against the testkit imitating each behaviour with a fault.

fn kit_session(kit: &TestKit, clock: Option<&ManualClock>, refresh: Option<String>) -> Session {
    let idp = kit.idp_client();
    let cl = kit.as_client();
    let mut v = serde_json::json!({
        "idp": {"issuer": kit.idp_issuer(), "client_id": idp.client_id, "client_secret": idp.client_secret},
        "subject_token": kit.mint_id_token("alice"),
        "client": {"client_id": cl.client_id, "client_secret": cl.client_secret},
        "client_issuers": [kit.as_issuer()],
    });
    if let Some(r) = refresh {
        v["idp_refresh_token"] = serde_json::json!(r);
    }
    let mut b = Session::builder(SessionConfig::from_json(&v.to_string()).expect("config"));
    if let Some(c) = clock {
        b = b.clock(Arc::new(c.clone()));
    }
    b.build().expect("session")
}

/// (IdP token requests, AS token requests) since the last reset.
fn token_requests(kit: &TestKit) -> (u64, u64) {
    let c = kit.counters();
    (
        c.requests(Endpoint::IdpToken),
        c.requests(Endpoint::AsToken),
    )
}

fn oauth_body(error: &str, description: &str) -> String {
    serde_json::json!({"error": error, "error_description": description}).to_string()
}

fn leg1_request(kit: &TestKit, scope: Option<&str>) -> IdJagRequest {
    let idp = kit.idp_client();
    let creds = ClientCredentials::new(idp.client_id.clone())
        .with_secret(idp.client_secret.clone().expect("secret"));
    let mut req = IdJagRequest::new(
        TokenEndpoint::new(kit.idp_token_endpoint(), creds).issuer(kit.idp_issuer()),
        kit.as_issuer(),
        kit.mint_id_token("alice"),
        SubjectTokenType::IdToken,
    )
    .resource(kit.mcp_url());
    req.scope = scope.map(str::to_string);
    req
}

fn leg2_request(kit: &TestKit, assertion: &str, scope: Option<&str>) -> RedeemRequest {
    let cl = kit.as_client();
    let creds = ClientCredentials::new(cl.client_id.clone())
        .with_secret(cl.client_secret.clone().expect("secret"));
    let mut req = RedeemRequest::new(
        TokenEndpoint::new(kit.as_token_endpoint(), creds).issuer(kit.as_issuer()),
        assertion,
    )
    .resource(kit.mcp_url());
    req.scope = scope.map(str::to_string);
    req
}

/// §5 (#112): an authorization server's `access_denied` (here: "no licence") is `denied`,
/// surfaces with its OAuth code after exactly one ID-JAG and one redemption — no fresh
/// ID-JAG, no refresh, no other grant — and says that retrying will not help.
#[test]
fn access_denied_at_the_as_is_denied_and_never_retried() {
    let kit = TestKit::start();
    let s = kit_session(&kit, None, Some(kit.issue_refresh_token("alice")));
    s.discover(kit.mcp_url()).expect("discovery");
    kit.reset_counters();
    kit.set_fault(
        Endpoint::AsToken,
        Fault::status(403, oauth_body("access_denied", "user has no licence")),
    );
    let e = s.access_token(kit.mcp_url()).expect_err("denied");
    assert_eq!(e.kind(), ErrorKind::OauthError, "{e}");
    assert_eq!(e.action(), Action::Denied, "{e}");
    assert_eq!(e.step(), Step::AsGrant);
    assert_eq!(e.status(), Some(403));
    let o = e.oauth_error().expect("oauth body");
    assert_eq!(o.error, OAuthErrorCode::AccessDenied);
    assert_eq!(o.error_description.as_deref(), Some("user has no licence"));
    assert!(e.message().contains("will not change that"), "{e}");
    assert_eq!(token_requests(&kit), (1, 1), "one exchange, one redemption");
}

/// §5: the IdP's `access_denied` is `denied` too: one exchange, no refresh-token renewal of
/// the subject (it was not rejected), nothing sent to the authorization server.
#[test]
fn access_denied_at_the_idp_is_denied_and_never_retried() {
    let kit = TestKit::start();
    let s = kit_session(&kit, None, Some(kit.issue_refresh_token("alice")));
    s.discover(kit.mcp_url()).expect("discovery");
    kit.reset_counters();
    kit.set_fault(
        Endpoint::IdpToken,
        Fault::status(
            400,
            oauth_body("access_denied", "policy: agents not allowed"),
        ),
    );
    let e = s.access_token(kit.mcp_url()).expect_err("denied");
    assert_eq!(e.kind(), ErrorKind::OauthError, "{e}");
    assert_eq!(e.action(), Action::Denied, "{e}");
    assert_eq!(e.step(), Step::IdpExchange);
    assert_eq!(
        e.oauth_error().map(|o| &o.error),
        Some(&OAuthErrorCode::AccessDenied)
    );
    assert!(
        e.message().contains("the IdP's policy or an administrator"),
        "{e}"
    );
    assert_eq!(token_requests(&kit), (1, 0));
}

/// §5 (#123): `invalid_target` at either server is `reconfigure` and says the audience or
/// resource is not allowed for this client; nothing is retried.
#[test]
fn invalid_target_is_reconfigure_and_says_what_is_not_allowed() {
    let kit = TestKit::start();
    let s = kit_session(&kit, None, None);
    s.discover(kit.mcp_url()).expect("discovery");
    for (endpoint, step, says, requests) in [
        (
            Endpoint::IdpToken,
            Step::IdpExchange,
            "does not allow this client an ID-JAG for this audience",
            (1, 0),
        ),
        (
            Endpoint::AsToken,
            Step::AsGrant,
            "does not allow this client a token for this resource",
            (1, 1),
        ),
    ] {
        kit.clear_faults();
        kit.reset_counters();
        kit.set_fault(
            endpoint,
            Fault::status(400, oauth_body("invalid_target", "no")),
        );
        let e = s.access_token(kit.mcp_url()).expect_err("invalid_target");
        assert_eq!(e.action(), Action::Reconfigure, "{e}");
        assert_eq!(e.step(), step);
        assert_eq!(
            e.oauth_error().map(|o| &o.error),
            Some(&OAuthErrorCode::InvalidTarget)
        );
        assert!(e.message().contains(says), "{e}");
        assert_eq!(token_requests(&kit), requests, "{step}");
    }
}

/// §5: `insufficient_user_authentication` (RFC 9470) at either server means `reauthenticate`
/// (a refreshed ID token would carry the same sign-in), and an IdP `invalid_grant` on the
/// subject token without a refresh token is `reauthentication_required`.
#[test]
fn weak_or_rejected_sign_in_means_reauthenticate() {
    let kit = TestKit::start();
    let s = kit_session(&kit, None, Some(kit.issue_refresh_token("alice")));
    s.discover(kit.mcp_url()).expect("discovery");
    for (endpoint, step, requests) in [
        (Endpoint::IdpToken, Step::IdpExchange, (1, 0)),
        (Endpoint::AsToken, Step::AsGrant, (1, 1)),
    ] {
        kit.clear_faults();
        kit.reset_counters();
        kit.set_fault(
            endpoint,
            Fault::status(401, oauth_body("insufficient_user_authentication", "acr")),
        );
        let e = s.access_token(kit.mcp_url()).expect_err("step-up");
        assert_eq!(e.action(), Action::Reauthenticate, "{e}");
        assert_eq!(e.step(), step);
        assert!(
            e.message().contains("stronger or more recent sign-in"),
            "{e}"
        );
        assert_eq!(token_requests(&kit), requests, "{step}");
    }

    kit.clear_faults();
    let s = kit_session(&kit, None, None);
    s.discover(kit.mcp_url()).expect("discovery");
    kit.reset_counters();
    kit.set_fault(
        Endpoint::IdpToken,
        Fault::status(400, oauth_body("invalid_grant", "id token expired")),
    );
    let e = s.access_token(kit.mcp_url()).expect_err("subject rejected");
    assert_eq!(e.kind(), ErrorKind::ReauthenticationRequired, "{e}");
    assert_eq!(e.action(), Action::Reauthenticate);
    assert_eq!(
        e.oauth_error().map(|o| &o.error),
        Some(&OAuthErrorCode::InvalidGrant)
    );
    assert_eq!(token_requests(&kit), (1, 0));
}

/// §5: an AS `invalid_grant` on the ID-JAG is retried once with a fresh ID-JAG (two
/// exchanges, two redemptions), then surfaces with its code.
#[test]
fn as_invalid_grant_is_retried_once_with_a_fresh_id_jag_then_surfaces() {
    let kit = TestKit::start();
    let s = kit_session(&kit, None, None);
    s.discover(kit.mcp_url()).expect("discovery");
    kit.reset_counters();
    kit.set_fault_times(
        Endpoint::AsToken,
        Fault::status(400, oauth_body("invalid_grant", "jti replayed")),
        1,
    );
    s.access_token(kit.mcp_url())
        .expect("the fresh ID-JAG is accepted");
    assert_eq!(token_requests(&kit), (2, 2));

    s.invalidate(kit.mcp_url());
    kit.reset_counters();
    kit.set_fault(
        Endpoint::AsToken,
        Fault::status(400, oauth_body("invalid_grant", "jti replayed")),
    );
    let e = s.access_token(kit.mcp_url()).expect_err("rejected twice");
    assert_eq!(
        e.oauth_error().map(|o| &o.error),
        Some(&OAuthErrorCode::InvalidGrant)
    );
    assert!(e.message().contains("rejected the ID-JAG"), "{e}");
    assert_eq!(token_requests(&kit), (2, 2), "exactly one retry");
}

/// §2/§5 (Okta): `invalid_scope` after a scope-less exchange tells the user to configure a
/// scope and names the keys; after an exchange with a scope it does not.
#[test]
fn invalid_scope_at_the_idp_after_a_scope_less_exchange_says_configure_a_scope() {
    let kit = TestKit::start();
    let client = Client::new().expect("client");
    kit.set_fault(
        Endpoint::IdpToken,
        Fault::status(
            400,
            oauth_body("invalid_scope", "No scopes were requested."),
        ),
    );
    let e = client
        .request_id_jag(&leg1_request(&kit, None))
        .expect_err("invalid_scope");
    assert_eq!(e.step(), Step::IdpExchange);
    assert_eq!(e.action(), Action::Reconfigure);
    for needle in [
        "leg 1",
        "no `scope`",
        "`scope`",
        "`scopes`",
        "configure a scope",
    ] {
        assert!(e.message().contains(needle), "{needle}: {e}");
    }
    let e = client
        .request_id_jag(&leg1_request(&kit, Some("mcp:read")))
        .expect_err("invalid_scope");
    assert!(!e.message().contains("configure a scope"), "{e}");
    assert!(e.message().contains("refused the scope"), "{e}");
}

/// §1/§5 (Okta custom authorization servers): `invalid_scope` on a jwt-bearer request that
/// carried a scope names the step and the setting to change, with this AS's issuer.
#[test]
fn invalid_scope_at_the_as_names_the_step_and_jwt_bearer_scope() {
    let kit = TestKit::start();
    let s = kit_session(&kit, None, None);
    kit.set_fault(
        Endpoint::AsToken,
        Fault::status(400, oauth_body("invalid_scope", "scope not allowed")),
    );
    let e = s.access_token(kit.mcp_url()).expect_err("invalid_scope");
    assert_eq!(e.step(), Step::AsGrant);
    assert_eq!(e.action(), Action::Reconfigure);
    let setting = format!("`jwt_bearer_scope.{}` = \"omit\"", kit.as_issuer());
    for needle in ["leg 2", "jwt-bearer", &setting] {
        assert!(e.message().contains(needle), "{needle}: {e}");
    }
    // Without a scope on the request, the hint would be wrong: it is not given.
    kit.clear_faults();
    let jag = Client::new()
        .expect("client")
        .request_id_jag(&leg1_request(&kit, Some("mcp:read")))
        .expect("leg 1");
    kit.set_fault(
        Endpoint::AsToken,
        Fault::status(400, oauth_body("invalid_scope", "scope not allowed")),
    );
    let e = Client::new()
        .expect("client")
        .redeem_id_jag(&leg2_request(&kit, jag.assertion.expose_secret(), None))
        .expect_err("invalid_scope");
    assert!(!e.message().contains("jwt_bearer_scope"), "{e}");
}

/// The error of a refused token, with every text of it, for "never echoes the value".
fn shown(e: &Error) -> String {
    format!("{e} || {e:?} || {}", e.to_json())
}

/// §10: a token that would break the `Authorization` header (CR/LF, space, NUL, a comma) is
/// refused at leg 2, naming the field and never echoing it; an ID-JAG that is not a compact
/// JWS/JWE is refused at leg 1; a `token_type` with CR/LF is refused. The session hands out
/// nothing in these cases.
#[test]
fn tokens_that_would_break_a_header_are_refused() {
    let kit = TestKit::start();
    let client = Client::new().expect("client");
    for planted in [
        "planted\r\nX-Injected: 1",
        "planted\nX-Injected: 1",
        "planted token",
        "planted\u{0}",
        "planted,realm=x",
        "planted\u{2028}",
    ] {
        kit.set_fault(
            Endpoint::AsToken,
            Fault::Patch {
                set: serde_json::Map::from_iter([(
                    "access_token".to_string(),
                    serde_json::json!(planted),
                )]),
            },
        );
        let jag = client
            .request_id_jag(&leg1_request(&kit, Some("mcp:read")))
            .expect("leg 1");
        let e = client
            .redeem_id_jag(&leg2_request(&kit, jag.assertion.expose_secret(), None))
            .expect_err(planted);
        assert_eq!(e.kind(), ErrorKind::ResponseInvalid, "{planted:?}: {e}");
        assert_eq!(e.step(), Step::AsGrant);
        let text = shown(&e);
        assert!(
            text.contains("`access_token`") && text.contains("b64token"),
            "{text}"
        );
        assert!(
            !text.contains("planted") && !text.contains("X-Injected"),
            "{text}"
        );

        let s = kit_session(&kit, None, None);
        let e = s
            .access_token(kit.mcp_url())
            .expect_err("session refuses it");
        assert_eq!(e.kind(), ErrorKind::ResponseInvalid, "{e}");
        assert!(!shown(&e).contains("planted"));
    }

    kit.set_fault(
        Endpoint::AsToken,
        Fault::Patch {
            set: serde_json::Map::from_iter([(
                "token_type".to_string(),
                serde_json::json!("Bearer\r\nX-Injected: 1"),
            )]),
        },
    );
    let jag = client
        .request_id_jag(&leg1_request(&kit, None))
        .expect("leg 1");
    let e = client
        .redeem_id_jag(&leg2_request(&kit, jag.assertion.expose_secret(), None))
        .expect_err("token_type");
    assert_eq!(e.kind(), ErrorKind::ResponseInvalid, "{e}");
    assert!(!shown(&e).contains("X-Injected"));
    kit.clear_faults();

    let real = kit.mint_id_jag("alice");
    for (planted, why) in [
        (format!("{real}\r\nX-Injected: 1"), "a line break"),
        (format!("{real}.planted"), "4 dot-separated parts"),
        ("planted-opaque".to_string(), "1 dot-separated parts"),
        (real.replacen('.', ".planted ", 1), "whitespace"),
        (format!("{real}="), "outside the allowed set"),
    ] {
        kit.set_fault(
            Endpoint::IdpToken,
            Fault::Patch {
                set: serde_json::Map::from_iter([(
                    "access_token".to_string(),
                    serde_json::json!(planted),
                )]),
            },
        );
        let e = client
            .request_id_jag(&leg1_request(&kit, None))
            .expect_err(why);
        assert_eq!(e.kind(), ErrorKind::ResponseInvalid, "{why}: {e}");
        assert_eq!(e.step(), Step::IdpExchange);
        let text = shown(&e);
        assert!(
            text.contains("`access_token`") && text.contains(why),
            "{text}"
        );
        assert!(
            !text.contains("planted") && !text.contains(&real[..20]),
            "{text}"
        );
    }
}

/// §11: an absurd `expires_in` (10^12 s) at both legs is accepted and clamped to
/// `MAX_TOKEN_LIFETIME_SECS`; the session renews at the cap (two token requests), not in
/// 31 000 years.
#[test]
fn an_absurd_expires_in_is_clamped_and_renewal_runs_at_the_cap() {
    let kit = TestKit::start_with(Options {
        // The session's clock moves a day ahead; the user's ID token must outlive that.
        id_token_ttl_secs: 3 * 86_400,
        ..Default::default()
    });
    let huge = serde_json::Map::from_iter([(
        "expires_in".to_string(),
        serde_json::json!(1_000_000_000_000u64),
    )]);
    kit.set_fault(Endpoint::IdpToken, Fault::Patch { set: huge.clone() });
    kit.set_fault(Endpoint::AsToken, Fault::Patch { set: huge });
    let cap = idjag::response::MAX_TOKEN_LIFETIME_SECS as i64;
    assert_eq!(cap, 86_400);

    let client = Client::new().expect("client");
    let jag = client
        .request_id_jag(&leg1_request(&kit, None))
        .expect("a huge expires_in is accepted");
    assert_eq!(jag.expires_in, Some(cap as u64));
    let now = client.prepare_context().now;
    assert!(
        jag.expires_at.is_some_and(|t| (t - now - cap).abs() <= 2),
        "{jag:?}"
    );
    let at = client
        .redeem_id_jag(&leg2_request(&kit, jag.assertion.expose_secret(), None))
        .expect("a huge expires_in is accepted");
    assert_eq!(at.expires_in, Some(cap as u64));

    let clock = ManualClock::starting_now();
    let start = clock.now_secs();
    let s = kit_session(&kit, Some(&clock), None);
    let t = s.access_token(kit.mcp_url()).expect("token");
    assert_eq!(t.expires_at, start + cap);
    kit.reset_counters();
    // Renewal is due `renewal_margin_s` (60 s) before the clamped expiry, not before.
    clock.advance(Duration::from_secs(cap as u64 - 61));
    s.access_token(kit.mcp_url()).expect("cached");
    assert_eq!(token_requests(&kit), (0, 0));
    clock.advance(Duration::from_secs(2));
    let renewed = s.access_token(kit.mcp_url()).expect("renewed at the cap");
    assert_eq!(token_requests(&kit), (1, 1));
    assert_eq!(renewed.expires_at, clock.now_secs() + cap);
}

/// §13 (RFC 8259 §8.1, both peer SDKs): token responses labelled `text/plain`, and JSON after
/// a UTF-8 BOM, are read at both legs — a whole session works against such servers; an HTML
/// page and a form-encoded body are still refused.
#[test]
fn text_plain_and_a_bom_are_read_html_is_not() {
    let kit = TestKit::start();
    let plain = Fault::WrongContentType {
        content_type: Some("text/plain;charset=UTF-8".into()),
    };
    kit.set_fault(Endpoint::IdpToken, plain.clone());
    kit.set_fault(Endpoint::AsToken, plain);
    let s = kit_session(&kit, None, None);
    let t = s
        .access_token(kit.mcp_url())
        .expect("text/plain on both legs");
    assert_eq!(t.token_type, "Bearer");
    assert_eq!(token_requests(&kit), (1, 1));
    kit.clear_faults();

    // A BOM before each leg's JSON (a real ID-JAG, redeemed at the real AS afterwards).
    let client = Client::new().expect("client");
    let with_bom = |body: serde_json::Value| Fault::Status {
        status: 200,
        body: format!("\u{FEFF}{body}"),
        content_type: Some("application/json".into()),
        headers: Vec::new(),
    };
    kit.set_fault_times(
        Endpoint::IdpToken,
        with_bom(serde_json::json!({
            "access_token": kit.mint_id_jag("alice"),
            "issued_token_type": idjag::urn::TOKEN_TYPE_ID_JAG,
            "token_type": "N_A", "expires_in": 300,
        })),
        1,
    );
    let jag = client
        .request_id_jag(&leg1_request(&kit, None))
        .expect("BOM at leg 1");
    client
        .redeem_id_jag(&leg2_request(&kit, jag.assertion.expose_secret(), None))
        .expect("the ID-JAG behind the BOM is the real one");
    kit.set_fault_times(
        Endpoint::AsToken,
        with_bom(serde_json::json!({"access_token": "at-bom", "token_type": "Bearer"})),
        1,
    );
    let at = client
        .redeem_id_jag(&leg2_request(&kit, jag.assertion.expose_secret(), None))
        .expect("BOM at leg 2");
    assert_eq!(at.access_token.expose_secret(), "at-bom");

    for (ct, body) in [
        ("text/html", "<html><body>Sign in</body></html>".to_string()),
        (
            "text/plain",
            "access_token=at&token_type=Bearer".to_string(),
        ),
    ] {
        kit.set_fault(
            Endpoint::AsToken,
            Fault::Status {
                status: 200,
                body,
                content_type: Some(ct.into()),
                headers: Vec::new(),
            },
        );
        let e = client
            .redeem_id_jag(&leg2_request(&kit, jag.assertion.expose_secret(), None))
            .expect_err(ct);
        assert_eq!(e.kind(), ErrorKind::ResponseInvalid, "{ct}: {e}");
        assert!(e.message().contains(&format!("content type `{ct}`")), "{e}");
    }
}
