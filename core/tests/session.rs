//! `Session` against the testkit over loopback: cache, renewal timing (injected clock),
//! single-flight under 32+ threads, challenges, subject-token lifecycle (SPEC §1 steps 5–6,
//! §2.J, §4.1 items 8–10).

use idjag::clock::ManualClock;
use idjag::{ErrorKind, Session, SessionConfig, Step};
use idjag_testkit::{Endpoint, Fault, TestKit};
use serde_json::json;
use std::sync::{Arc, Barrier};
use std::time::Duration;

fn config(kit: &TestKit, subject: Option<String>, refresh: Option<String>) -> SessionConfig {
    let idp = kit.idp_client();
    let cl = kit.as_client();
    let mut v = json!({
        "idp": {"issuer": kit.idp_issuer(), "client_id": idp.client_id, "client_secret": idp.client_secret},
        "client": {"client_id": cl.client_id, "client_secret": cl.client_secret},
        "client_issuers": [kit.as_issuer()],
    });
    if let Some(s) = subject {
        v["subject_token"] = json!(s);
    }
    if let Some(r) = refresh {
        v["idp_refresh_token"] = json!(r);
    }
    SessionConfig::from_json(&v.to_string()).expect("config")
}

fn session(kit: &TestKit, clock: &ManualClock) -> Session {
    Session::builder(config(kit, Some(kit.mint_id_token("alice")), None))
        .clock(Arc::new(clock.clone()))
        .build()
        .expect("session")
}

fn token_requests(kit: &TestKit) -> (u64, u64) {
    let c = kit.counters();
    (
        c.requests(Endpoint::IdpToken),
        c.requests(Endpoint::AsToken),
    )
}

/// Hot path: no I/O. Cold path: discovery + two legs. Warm path: exactly two requests.
#[test]
fn cold_hot_and_warm_paths() {
    let kit = TestKit::start();
    let clock = ManualClock::starting_now();
    let s = session(&kit, &clock);
    let t1 = s.access_token(kit.mcp_url()).expect("cold");
    assert_eq!(t1.resource, kit.mcp_url());
    assert_eq!(t1.authorization_server, kit.as_issuer());
    assert!(t1
        .id_jag_claims
        .as_ref()
        .is_some_and(|c| c["sub"] == json!("alice")));
    assert_eq!(token_requests(&kit), (1, 1));
    let total_before = kit
        .counters()
        .servers
        .values()
        .map(|c| c.requests)
        .sum::<u64>();

    let t2 = s.access_token(kit.mcp_url()).expect("hot");
    let t2c = s.cached_token(kit.mcp_url()).expect("cached_token: no I/O");
    assert_eq!(
        t2c.access_token.expose_secret(),
        t1.access_token.expose_secret()
    );
    assert!(s.cached_token("http://127.0.0.1:1/unknown").is_none());
    assert_eq!(
        t2.access_token.expose_secret(),
        t1.access_token.expose_secret()
    );
    let total_after = kit
        .counters()
        .servers
        .values()
        .map(|c| c.requests)
        .sum::<u64>();
    assert_eq!(total_before, total_after, "a cache hit does no I/O at all");

    // Renewal timing (SPEC §1 step 6): 300 s tokens, 60 s margin.
    clock.advance(Duration::from_secs(239));
    s.access_token(kit.mcp_url()).expect("still fresh");
    assert_eq!(token_requests(&kit), (1, 1));
    clock.advance(Duration::from_secs(2));
    assert!(
        s.cached_token(kit.mcp_url()).is_none(),
        "renewal due: no cached answer"
    );
    kit.reset_counters();
    let t3 = s.access_token(kit.mcp_url()).expect("renewed");
    assert_ne!(
        t3.access_token.expose_secret(),
        t1.access_token.expose_secret()
    );
    let c = kit.counters();
    let all: u64 = c.servers.values().map(|c| c.requests).sum();
    assert_eq!(all, 2, "warm path: exactly leg 1 and leg 2 ({c:?})");
    assert_eq!(token_requests(&kit), (1, 1));
    assert_eq!(
        c.servers.values().map(|c| c.connections).sum::<u64>(),
        2,
        "one connection per server, reused"
    );
}

/// 32 threads across an expiry → exactly one exchange; errors are shared the same way.
#[test]
fn single_flight_under_32_threads() {
    let kit = TestKit::start();
    let clock = ManualClock::starting_now();
    let s = session(&kit, &clock);
    s.access_token(kit.mcp_url()).expect("warm up");
    clock.advance(Duration::from_secs(290));
    kit.reset_counters();
    kit.set_fault(Endpoint::IdpToken, Fault::delay_ms(200));
    let barrier = Arc::new(Barrier::new(32));
    let handles: Vec<_> = (0..32)
        .map(|_| {
            let s = s.clone();
            let b = barrier.clone();
            let url = kit.mcp_url().to_string();
            std::thread::spawn(move || {
                b.wait();
                s.access_token(&url)
                    .map(|t| t.access_token.expose_secret().to_string())
            })
        })
        .collect();
    let tokens: Vec<String> = handles
        .into_iter()
        .map(|h| h.join().expect("no panic").expect("token"))
        .collect();
    assert!(
        tokens.iter().all(|t| t == &tokens[0]),
        "everyone shares one token"
    );
    assert_eq!(token_requests(&kit), (1, 1), "exactly one exchange");

    // A failing renewal is shared too: one request, every waiter gets the error.
    clock.advance(Duration::from_secs(290));
    kit.reset_counters();
    kit.clear_faults();
    kit.set_fault(Endpoint::IdpToken, Fault::Delay { ms: 200 });
    kit.set_fault(
        Endpoint::IdpToken,
        Fault::status(503, r#"{"error":"temporarily_unavailable"}"#),
    );
    let barrier = Arc::new(Barrier::new(16));
    let results: Vec<_> = (0..16)
        .map(|_| {
            let s = s.clone();
            let b = barrier.clone();
            let url = kit.mcp_url().to_string();
            std::thread::spawn(move || {
                b.wait();
                s.access_token(&url).map(|_| ())
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().expect("no panic"))
        .collect();
    assert!(results.iter().all(|r| r.as_ref().is_err_and(|e| e
        .oauth_error()
        .is_some_and(|o| o.error == idjag::OAuthErrorCode::TemporarilyUnavailable))));
    assert_eq!(kit.counters().requests(Endpoint::IdpToken), 1);
}

/// 401 → one re-exchange; a challenger holding the older token gets the newer one; a server
/// that rejects every token right after it is issued is a loop, bounded by a typed error.
#[test]
fn challenge_401_reexchanges_once_and_is_bounded() {
    let kit = TestKit::start();
    let clock = ManualClock::starting_now();
    let s = session(&kit, &clock);
    let t1 = s.access_token(kit.mcp_url()).expect("token");
    kit.reset_counters();
    let header = format!(
        r#"Bearer error="invalid_token", resource_metadata="{}""#,
        kit.prm_url()
    );
    let t2 = s
        .handle_challenge(kit.mcp_url(), 401, &header, Some(t1.bare_token()))
        .expect("re-exchange");
    assert_ne!(t1.bare_token(), t2.bare_token());
    assert_eq!(token_requests(&kit), (1, 1));
    // Another request failed with the same old token: handed the new one, no exchange.
    let t3 = s
        .handle_challenge(
            kit.mcp_url(),
            401,
            &header,
            Some(&t1.authorization_header()),
        )
        .expect("older token");
    assert_eq!(t3.bare_token(), t2.bare_token());
    assert_eq!(token_requests(&kit), (1, 1));
    // Legacy callers (no rejected token) right after: the token just minted, no exchange.
    let t4 = s
        .handle_challenge(kit.mcp_url(), 401, &header, None)
        .expect("dedup");
    assert_eq!(t4.bare_token(), t2.bare_token());
    // The server rejects each fresh token on its first use: bounded, typed, never a loop.
    let mut last = Ok(t4);
    for _ in 0..6 {
        let rejected = last.as_ref().expect("token").bare_token().to_string();
        last = s.handle_challenge(kit.mcp_url(), 401, &header, Some(&rejected));
        if last.is_err() {
            break;
        }
    }
    let e = last.expect_err("bounded");
    assert_eq!(e.kind(), ErrorKind::Configuration);
    assert_eq!(e.step(), Step::Resource);
    assert!(token_requests(&kit).0 <= 4, "{:?}", token_requests(&kit));
}

/// Regression: the MCP server revokes tokens several times within a few seconds (key
/// rotation, a security event). Every 401 against the current token gets a fresh one that
/// the server accepts — no stale token handed back, no `configuration` error.
#[test]
fn back_to_back_revocations_get_fresh_tokens() {
    let kit = TestKit::start();
    let clock = ManualClock::starting_now();
    let s = session(&kit, &clock);
    let mut token = s.access_token(kit.mcp_url()).expect("token");
    assert_eq!(mcp_status(&kit, &token), 200);
    for round in 0..6 {
        clock.advance(Duration::from_millis(1500));
        assert!(kit.revoke_access_tokens() >= 1);
        assert_eq!(mcp_status(&kit, &token), 401, "round {round}: revoked");
        let fresh = s
            .handle_challenge(
                kit.mcp_url(),
                401,
                r#"Bearer error="invalid_token""#,
                Some(token.bare_token()),
            )
            .unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert_ne!(fresh.bare_token(), token.bare_token(), "round {round}");
        assert_eq!(mcp_status(&kit, &fresh), 200, "round {round}: accepted");
        // The ordinary path hands out the new token too.
        assert_eq!(
            s.access_token(kit.mcp_url()).expect("hot").bare_token(),
            fresh.bare_token()
        );
        token = fresh;
    }
    // Revocations right after issuance, but the tokens were in service: still fine.
    for round in 0..4 {
        assert!(kit.revoke_access_tokens() >= 1);
        let fresh = s
            .handle_challenge(kit.mcp_url(), 401, "Bearer", Some(token.bare_token()))
            .unwrap_or_else(|e| panic!("fast round {round}: {e}"));
        assert_eq!(mcp_status(&kit, &fresh), 200);
        token = s.access_token(kit.mcp_url()).expect("served");
        assert_eq!(token.bare_token(), fresh.bare_token());
    }
}

/// Status of an MCP `tools/list` call with `token` (loopback).
fn mcp_status(kit: &TestKit, token: &idjag::Token) -> u16 {
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build(),
    );
    agent
        .post(kit.mcp_url())
        .header("authorization", &token.authorization_header())
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .send(body)
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

#[test]
fn challenge_403_steps_up_scope() {
    let kit = TestKit::start();
    let clock = ManualClock::starting_now();
    let s = session(&kit, &clock);
    let t1 = s.access_token(kit.mcp_url()).expect("token");
    let before = t1.scope.clone().unwrap_or_default();
    assert!(!before.contains(idjag_testkit::ADMIN_SCOPE));
    let header = format!(
        r#"Bearer error="insufficient_scope", scope="{}", resource_metadata="{}""#,
        idjag_testkit::ADMIN_SCOPE,
        kit.prm_url()
    );
    let t2 = s
        .handle_challenge(kit.mcp_url(), 403, &header, None)
        .expect("step-up");
    let granted = t2.scope.clone().unwrap_or_default();
    assert!(granted.contains(idjag_testkit::ADMIN_SCOPE), "{granted}");
    for sc in before.split_whitespace() {
        assert!(granted.contains(sc), "union keeps {sc}: {granted}");
    }
    // Later calls use the stepped-up key.
    let t3 = s.access_token(kit.mcp_url()).expect("cached stepped-up");
    assert_eq!(
        t3.access_token.expose_secret(),
        t2.access_token.expose_secret()
    );
    // Same challenge again: nothing new to ask for → denied, no loop.
    let e = s
        .handle_challenge(kit.mcp_url(), 403, &header, None)
        .expect_err("no progress");
    assert_eq!(e.action(), idjag::Action::Denied);
    assert_eq!(
        e.oauth_error().map(|o| o.error.as_str()),
        Some("insufficient_scope")
    );
    // 403 without insufficient_scope → denied.
    let e = s
        .handle_challenge(kit.mcp_url(), 403, "Bearer", None)
        .expect_err("plain 403");
    assert_eq!(e.action(), idjag::Action::Denied);
    let e = s
        .handle_challenge(kit.mcp_url(), 500, "Bearer", None)
        .expect_err("bad status");
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
}

/// A challenge pointing at a different `resource_metadata` URL triggers rediscovery.
#[test]
fn changed_resource_metadata_triggers_rediscovery() {
    let kit = TestKit::start();
    let clock = ManualClock::starting_now();
    let s = session(&kit, &clock);
    s.access_token(kit.mcp_url()).expect("token");
    kit.reset_counters();
    let header = format!(
        r#"Bearer error="invalid_token", resource_metadata="{}""#,
        kit.prm_root_url()
    );
    s.handle_challenge(kit.mcp_url(), 401, &header, None)
        .expect("rediscovered");
    assert_eq!(
        kit.counters().requests(Endpoint::Prm),
        1,
        "the new PRM URL was fetched"
    );
    assert_eq!(
        s.discover(kit.mcp_url()).expect("d").resource_metadata_url,
        kit.prm_root_url()
    );
}

/// Expired ID token + IdP refresh token → silent renewal, rotation honoured (SPEC §2.J item 4).
#[test]
fn expired_id_token_is_renewed_with_rotating_refresh_token() {
    let kit = TestKit::start();
    let clock = ManualClock::starting_now();
    let mut spec = idjag_testkit::IdTokenSpec::new("ivy");
    spec.iat = Some(kit.now() - 7200);
    spec.exp = Some(kit.now() - 3600);
    let expired = kit.mint_id_token_with(&spec);
    let rt = kit.issue_refresh_token("ivy");
    let s = Session::builder(config(&kit, Some(expired), Some(rt)))
        .clock(Arc::new(clock.clone()))
        .build()
        .expect("session");
    let t = s.access_token(kit.mcp_url()).expect("renewed silently");
    assert!(t.id_jag_claims.is_some_and(|c| c["sub"] == json!("ivy")));
    assert_eq!(
        kit.counters().requests(Endpoint::IdpToken),
        2,
        "refresh grant + exchange"
    );

    // The refreshed ID token expires too (1 h): the *rotated* refresh token must be used
    // (the testkit kills the old one on rotation).
    clock.advance(Duration::from_secs(3700));
    kit.reset_counters();
    s.access_token(kit.mcp_url())
        .expect("second renewal with the rotated refresh token");
    assert_eq!(kit.counters().requests(Endpoint::IdpToken), 2);
}

/// The IdP rejects the subject token and there is no refresh token → reauthentication_required;
/// `set_subject_token` recovers.
#[test]
fn reauthentication_required_and_set_subject_token() {
    let kit = TestKit::start();
    let clock = ManualClock::starting_now();
    // Expired by our clock and no refresh token: fails before any I/O at the IdP.
    let mut spec = idjag_testkit::IdTokenSpec::new("jo");
    spec.iat = Some(kit.now() - 7200);
    spec.exp = Some(kit.now() - 3600);
    let s = Session::builder(config(&kit, Some(kit.mint_id_token_with(&spec)), None))
        .clock(Arc::new(clock.clone()))
        .build()
        .expect("session");
    let e = s.access_token(kit.mcp_url()).expect_err("expired");
    assert_eq!(e.kind(), ErrorKind::ReauthenticationRequired);
    assert_eq!(e.action(), idjag::Action::Reauthenticate);
    assert_eq!(kit.counters().requests(Endpoint::IdpToken), 0);

    // Valid-looking but rejected by the IdP (wrong audience): invalid_grant → reauth.
    let mut spec = idjag_testkit::IdTokenSpec::new("jo");
    spec.aud = Some("someone-else".into());
    s.set_subject_token(
        kit.mint_id_token_with(&spec),
        idjag::SubjectTokenType::IdToken,
        None,
    )
    .expect("set");
    let e = s.access_token(kit.mcp_url()).expect_err("rejected");
    assert_eq!(e.kind(), ErrorKind::ReauthenticationRequired);
    assert_eq!(
        e.oauth_error().map(|o| o.error.as_str()),
        Some("invalid_grant")
    );

    s.set_subject_token(
        kit.mint_id_token("jo"),
        idjag::SubjectTokenType::IdToken,
        None,
    )
    .expect("set");
    s.access_token(kit.mcp_url()).expect("signed in again");

    let none = Session::builder(config(&kit, None, None))
        .build()
        .expect("session");
    let e = none.access_token(kit.mcp_url()).expect_err("no subject");
    assert_eq!(e.kind(), ErrorKind::ReauthenticationRequired);
    assert!(none
        .set_subject_token("", idjag::SubjectTokenType::IdToken, None)
        .is_err());
}

/// Rejected subject token + refresh token: refresh once, then succeed.
#[test]
fn rejected_subject_token_is_refreshed_once() {
    let kit = TestKit::start();
    let mut spec = idjag_testkit::IdTokenSpec::new("kim");
    spec.aud = Some("not-this-client".into());
    let s = Session::new(config(
        &kit,
        Some(kit.mint_id_token_with(&spec)),
        Some(kit.issue_refresh_token("kim")),
    ))
    .expect("session");
    s.access_token(kit.mcp_url())
        .expect("refreshed after invalid_grant");
    assert_eq!(
        kit.counters().requests(Endpoint::IdpToken),
        3,
        "exchange, refresh, exchange"
    );
}

/// A fresh ID-JAG per redemption; invalidate drops cached state.
#[test]
fn invalidate_and_fresh_id_jag_per_redemption() {
    let kit = TestKit::start();
    let s = Session::new(config(&kit, Some(kit.mint_id_token("lee")), None)).expect("session");
    let t1 = s.access_token(kit.mcp_url()).expect("t1");
    s.invalidate(kit.mcp_url());
    let t2 = s.access_token(kit.mcp_url()).expect("t2");
    assert_ne!(
        t1.access_token.expose_secret(),
        t2.access_token.expose_secret()
    );
    let j1 = t1.id_jag_claims.expect("claims");
    let j2 = t2.id_jag_claims.expect("claims");
    assert_ne!(j1["jti"], j2["jti"], "each redemption used a new ID-JAG");
    assert_eq!(token_requests(&kit), (2, 2));
    assert!(!format!("{s:?}").contains("lee"));
}

/// Several MCP servers from one session, concurrently: each key has its own single flight
/// (one exchange per server) and the flights overlap instead of queueing behind each other.
#[test]
fn several_servers_in_parallel_no_deadlock() {
    let kit = TestKit::start_with(idjag_testkit::Options {
        extra_mcp_paths: vec!["/mcp2".into(), "/mcp3".into()],
        ..Default::default()
    });
    let base = kit.mcp_url().trim_end_matches("/mcp").to_string();
    let servers = [
        kit.mcp_url().to_string(),
        format!("{base}/mcp2"),
        format!("{base}/mcp3"),
    ];
    let cfg = config(&kit, Some(kit.mint_id_token("max")), None);
    let gauge = Arc::new(InFlight::new(&cfg.http_config(), kit.idp_token_endpoint()));
    let s = Session::builder(cfg)
        .http_client(gauge.clone())
        .build()
        .expect("session");
    for url in &servers {
        s.discover(url).expect("discover");
    }
    kit.reset_counters();
    kit.set_fault(Endpoint::IdpToken, Fault::delay_ms(400));
    let barrier = Arc::new(Barrier::new(24));
    let handles: Vec<_> = (0..24)
        .map(|i| {
            let s = s.clone();
            let b = barrier.clone();
            let url = servers[i % 3].clone();
            std::thread::spawn(move || {
                b.wait();
                s.access_token(&url).map(|t| (url, t.resource))
            })
        })
        .collect();
    for h in handles {
        let (url, resource) = h.join().expect("no panic").expect("token");
        assert_eq!(url, resource, "each token is for its own server");
    }
    assert_eq!(token_requests(&kit), (3, 3), "one exchange per server");
    // Measured where the session hands requests to HTTP, not by wall time (which a loaded
    // machine or the server's own connection queueing would blur): while one flight waits
    // 400 ms on the IdP, the other two are already on the wire.
    assert_eq!(
        gauge.max(),
        3,
        "the three flights overlapped instead of queueing behind each other"
    );
}

/// An [`idjag::http::HttpClient`] around the default one that counts the requests to one URL
/// in progress at once.
struct InFlight {
    inner: idjag::http::UreqHttpClient,
    url: String,
    now: std::sync::atomic::AtomicUsize,
    max: std::sync::atomic::AtomicUsize,
}

impl InFlight {
    fn new(config: &idjag::http::HttpConfig, url: String) -> InFlight {
        InFlight {
            inner: idjag::http::UreqHttpClient::new(config).expect("http client"),
            url,
            now: Default::default(),
            max: Default::default(),
        }
    }

    fn max(&self) -> usize {
        self.max.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl idjag::http::HttpClient for InFlight {
    fn execute(
        &self,
        request: &idjag::http::HttpRequest,
    ) -> Result<idjag::http::HttpResponse, idjag::Error> {
        use std::sync::atomic::Ordering::SeqCst;
        if request.url != self.url {
            return self.inner.execute(request);
        }
        let n = self.now.fetch_add(1, SeqCst) + 1;
        self.max.fetch_max(n, SeqCst);
        let r = self.inner.execute(request);
        self.now.fetch_sub(1, SeqCst);
        r
    }

    fn resolve(&self, host: &str, port: u16) -> Option<Vec<std::net::IpAddr>> {
        self.inner.resolve(host, port)
    }
}

/// `Session::request_id_jag`: leg 1 alone (for SDK providers that redeem themselves), with
/// the session's IdP endpoint, credentials and subject lifecycle (refresh of an expired ID
/// token included).
#[test]
fn leg_one_alone_uses_the_subject_lifecycle() {
    let kit = TestKit::start();
    let mut spec = idjag_testkit::IdTokenSpec::new("nora");
    spec.iat = Some(kit.now() - 7200);
    spec.exp = Some(kit.now() - 3600);
    let s = Session::new(config(
        &kit,
        Some(kit.mint_id_token_with(&spec)),
        Some(kit.issue_refresh_token("nora")),
    ))
    .expect("session");
    let jag = s
        .request_id_jag(kit.as_issuer(), kit.mcp_url(), Some("mcp:read"))
        .expect("leg 1 after a silent refresh");
    let claims = idjag::jwt::inspect(jag.assertion.expose_secret(), 0)
        .expect("jwt")
        .claims;
    assert_eq!(claims["aud"], json!(kit.as_issuer()));
    assert_eq!(claims["sub"], json!("nora"));
    assert_eq!(claims["resource"], json!(kit.mcp_url()));
    assert_eq!(
        kit.counters().requests(Endpoint::IdpToken),
        2,
        "refresh + exchange"
    );
    let again = s
        .request_id_jag(kit.as_issuer(), kit.mcp_url(), None)
        .expect("second");
    assert_ne!(
        again.assertion.expose_secret(),
        jag.assertion.expose_secret()
    );
    assert_eq!(
        kit.counters().requests(Endpoint::IdpMetadata),
        1,
        "the IdP endpoint is resolved once"
    );
    let e = s
        .request_id_jag("https://unknown-as.example", kit.mcp_url(), None)
        .expect_err("unknown audience");
    assert_eq!(
        e.oauth_error().map(|o| o.error.as_str()),
        Some("invalid_target")
    );

    // Leg 1 alone needs no credentials at the AS; `access_token` does, and says so.
    let idp = kit.idp_client();
    let cfg = json!({
        "idp": {"issuer": kit.idp_issuer(), "client_id": idp.client_id, "client_secret": idp.client_secret},
        "subject_token": kit.mint_id_token("nora"),
    });
    let leg1_only = Session::from_json(&cfg.to_string()).expect("no `client` needed for leg 1");
    leg1_only
        .request_id_jag(kit.as_issuer(), kit.mcp_url(), None)
        .expect("leg 1");
    let e = leg1_only
        .access_token(kit.mcp_url())
        .expect_err("no AS credentials");
    assert_eq!(e.kind(), ErrorKind::Configuration);
    assert!(e.to_string().contains("clients"), "{e}");
}

/// Runs `f` on a thread and fails the test (instead of hanging) if it takes too long.
fn within<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(secs))
        .expect("deadlock: the call did not complete in time")
}

/// An event hook that calls back into the same session for the same server — every public
/// operation — completes (no lock is held while hooks run).
#[test]
fn reentrant_event_hook_does_not_deadlock() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::OnceLock;
    let kit = TestKit::start();
    let cell: Arc<OnceLock<Session>> = Arc::new(OnceLock::new());
    let calls = Arc::new(AtomicUsize::new(0));
    let inside = Arc::new(AtomicBool::new(false));
    let hook: idjag::EventHook = {
        let (cell, calls, inside) = (cell.clone(), calls.clone(), inside.clone());
        let url = kit.mcp_url().to_string();
        Arc::new(move |_ev: &idjag::HttpEvent| {
            // Re-enter once per outer call (the inner calls raise events of their own).
            if inside.swap(true, Ordering::SeqCst) {
                return;
            }
            if let Some(s) = cell.get() {
                let url = url.as_str();
                let t = s.access_token(url).expect("access_token from the hook");
                assert!(s.cached_token(url).is_some());
                let header = r#"Bearer error="invalid_token""#;
                s.handle_challenge(url, 401, header, Some(t.bare_token()))
                    .expect("handle_challenge from the hook");
                s.invalidate(url);
                calls.fetch_add(1, Ordering::SeqCst);
            }
            inside.store(false, Ordering::SeqCst);
        })
    };
    let s = Session::builder(config(&kit, Some(kit.mint_id_token("alice")), None))
        .on_event(hook)
        .build()
        .expect("session");
    assert!(cell.set(s.clone()).is_ok());
    let url = kit.mcp_url().to_string();
    let s2 = s.clone();
    within(30, move || {
        s2.access_token(&url).expect("outer access_token");
        s2.handle_challenge(&url, 401, "Bearer", None)
            .expect("outer challenge");
    });
    assert!(calls.load(Ordering::SeqCst) >= 1);
    assert_eq!(s.event_hook_panics(), 0);
}

/// 32 threads plus a hook that re-enters the session still produce exactly one exchange per
/// renewal.
#[test]
fn single_flight_with_reentrant_hook() {
    use std::sync::OnceLock;
    let kit = TestKit::start();
    let clock = ManualClock::starting_now();
    let cell: Arc<OnceLock<Session>> = Arc::new(OnceLock::new());
    let hook: idjag::EventHook = {
        let cell = cell.clone();
        let url = kit.mcp_url().to_string();
        Arc::new(move |_ev: &idjag::HttpEvent| {
            if let Some(s) = cell.get() {
                // Hot path from inside the hook: the flight it reports on has landed.
                let _ = s.cached_token(&url);
                let _ = s.access_token(&url);
            }
        })
    };
    let s = Session::builder(config(&kit, Some(kit.mint_id_token("alice")), None))
        .clock(Arc::new(clock.clone()))
        .on_event(hook)
        .build()
        .expect("session");
    assert!(cell.set(s.clone()).is_ok());
    s.access_token(kit.mcp_url()).expect("warm up");
    for round in 0..3 {
        kit.reset_counters();
        clock.advance(Duration::from_secs(600));
        let barrier = Arc::new(Barrier::new(32));
        let handles: Vec<_> = (0..32)
            .map(|_| {
                let (s, barrier) = (s.clone(), barrier.clone());
                let url = kit.mcp_url().to_string();
                std::thread::spawn(move || {
                    barrier.wait();
                    s.access_token(&url).map(|t| t.bare_token().to_string())
                })
            })
            .collect();
        let tokens: std::collections::HashSet<_> = handles
            .into_iter()
            .map(|h| h.join().expect("thread").expect("token"))
            .collect();
        assert_eq!(tokens.len(), 1, "round {round}");
        assert_eq!(token_requests(&kit), (1, 1), "round {round}");
    }
}

/// A panicking event hook is caught, counted and ignored; a panic inside the HTTP stack
/// during a renewal does not wedge the token slot (waiters and later calls still work).
#[test]
fn panics_do_not_wedge_the_session() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let kit = TestKit::start();
    let hook: idjag::EventHook = Arc::new(|_ev: &idjag::HttpEvent| panic!("hook panics"));
    let s = Session::builder(config(&kit, Some(kit.mint_id_token("alice")), None))
        .on_event(hook)
        .build()
        .expect("session");
    s.access_token(kit.mcp_url())
        .expect("token despite the hook");
    assert!(s.event_hook_panics() >= 1);

    // An HTTP client that panics once, on the AS token request.
    let armed = Arc::new(AtomicBool::new(false));
    let real = idjag::http::UreqHttpClient::new(&idjag::http::HttpConfig::default()).expect("ureq");
    let http: Arc<dyn idjag::http::HttpClient> = {
        let armed = armed.clone();
        Arc::new(move |req: &idjag::http::HttpRequest| {
            if req.url.contains("/token") && armed.swap(false, Ordering::SeqCst) {
                panic!("transport panics");
            }
            idjag::http::HttpClient::execute(&real, req)
        })
    };
    let s = Session::builder(config(&kit, Some(kit.mint_id_token("alice")), None))
        .http_client(http)
        .build()
        .expect("session");
    armed.store(true, Ordering::SeqCst);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = s.access_token(kit.mcp_url());
    }));
    assert!(r.is_err(), "the panic reaches the caller");
    let s2 = s.clone();
    let url = kit.mcp_url().to_string();
    within(20, move || s2.access_token(&url).expect("not wedged"));
}

/// SECURITY (credential routing, SPEC §4.1 item 4): the default `client` with a shared
/// secret goes only to listed authorization servers. An MCP server naming an unlisted AS gets
/// a `configuration` error before anything is sent — no leg 1, no leg 2.
#[test]
fn shared_secret_goes_only_to_listed_authorization_servers() {
    let kit = TestKit::start();
    let mut v = serde_json::to_value(json!({})).expect("json");
    let idp = kit.idp_client();
    let cl = kit.as_client();
    v["idp"] = json!({"issuer": kit.idp_issuer(), "client_id": idp.client_id, "client_secret": idp.client_secret});
    v["client"] = json!({"client_id": cl.client_id, "client_secret": cl.client_secret});
    v["subject_token"] = json!(kit.mint_id_token("rae"));
    for issuers in [None, Some(json!(["https://as.example.com"]))] {
        let mut v = v.clone();
        if let Some(i) = issuers {
            v["client_issuers"] = i;
        }
        let s = Session::new(SessionConfig::from_json(&v.to_string()).expect("cfg")).expect("s");
        kit.reset_counters();
        let e = s.access_token(kit.mcp_url()).expect_err("refused");
        assert_eq!(e.kind(), ErrorKind::Configuration, "{e}");
        assert!(e.message().contains("client_issuers"), "{e}");
        assert!(!e
            .to_string()
            .contains(cl.client_secret.as_deref().unwrap_or("-")));
        assert_eq!(token_requests(&kit), (0, 0), "nothing was sent");
        let route = SessionConfig::from_json(&v.to_string())
            .expect("cfg")
            .credential_route(kit.as_issuer());
        assert!(!route.allowed && route.shared_secret);
    }
    // Explicitly permissive (what the conformance clients use): allowed, and the first use
    // of the credentials at that AS is announced once.
    v["client_issuers"] = json!("any");
    let notices = Arc::new(std::sync::Mutex::new(Vec::new()));
    let n2 = notices.clone();
    let s = Session::builder(SessionConfig::from_json(&v.to_string()).expect("cfg"))
        .on_notice(Arc::new(move |n: &idjag::Notice| {
            n2.lock().expect("lock").push(n.clone())
        }))
        .build()
        .expect("s");
    s.access_token(kit.mcp_url()).expect("allowed");
    s.invalidate(kit.mcp_url());
    s.access_token(kit.mcp_url()).expect("again");
    let seen = notices.lock().expect("lock").clone();
    let first_use: Vec<_> = seen
        .iter()
        .filter(|n| n.kind == idjag::NoticeKind::CredentialsFirstUse)
        .collect();
    assert_eq!(first_use.len(), 1, "{seen:?}");
    assert_eq!(first_use[0].issuer.as_deref(), Some(kit.as_issuer()));
    let j = serde_json::to_string(first_use[0]).expect("json");
    assert!(j.contains("\"kind\":\"credentials_first_use\""), "{j}");
    assert!(!j.contains(cl.client_secret.as_deref().unwrap_or("-")));
}

/// One "work identity expired" state: when the IdP refuses the refresh token, every
/// server's next call reports `reauthentication_required` without further IdP requests,
/// one notice says so, and `set_subject_token` ends it (3 servers).
#[test]
fn work_identity_expired_is_one_state_for_every_server() {
    let kit = TestKit::start_with(idjag_testkit::Options {
        extra_mcp_paths: vec!["/mcp2".into(), "/mcp3".into()],
        ..Default::default()
    });
    let base = kit.mcp_url().trim_end_matches("/mcp").to_string();
    let servers = [
        kit.mcp_url().to_string(),
        format!("{base}/mcp2"),
        format!("{base}/mcp3"),
    ];
    let mut spec = idjag_testkit::IdTokenSpec::new("uma");
    spec.iat = Some(kit.now() - 7200);
    spec.exp = Some(kit.now() - 3600);
    let notices = Arc::new(std::sync::Mutex::new(Vec::new()));
    let n2 = notices.clone();
    let s = Session::builder(config(
        &kit,
        Some(kit.mint_id_token_with(&spec)),
        Some("not-a-refresh-token-the-idp-knows".into()),
    ))
    .on_notice(Arc::new(move |n: &idjag::Notice| {
        n2.lock().expect("lock").push(n.kind)
    }))
    .build()
    .expect("session");
    for url in &servers {
        s.discover(url).expect("discover");
    }
    kit.reset_counters();
    for url in &servers {
        let e = s.access_token(url).expect_err("expired");
        assert_eq!(e.kind(), ErrorKind::ReauthenticationRequired, "{url}: {e}");
    }
    assert_eq!(
        kit.counters().requests(Endpoint::IdpToken),
        1,
        "one refused refresh, then no IdP request"
    );
    let expired: Vec<_> = notices
        .lock()
        .expect("lock")
        .iter()
        .filter(|k| **k == idjag::NoticeKind::WorkIdentityExpired)
        .copied()
        .collect();
    assert_eq!(expired.len(), 1);
    s.set_subject_token(
        kit.mint_id_token("uma"),
        idjag::SubjectTokenType::IdToken,
        None,
    )
    .expect("set");
    for url in &servers {
        s.access_token(url).expect("signed in again");
    }
}

/// An IdP refresh token as the only subject (Okta's agent setup; rmcp's only mode), end to
/// end with rotation.
#[test]
fn refresh_token_only_subject_with_rotation() {
    let kit = TestKit::start();
    let clock = ManualClock::starting_now();
    let s = Session::builder(config(&kit, None, Some(kit.issue_refresh_token("ola"))))
        .clock(Arc::new(clock.clone()))
        .build()
        .expect("session");
    let t = s.access_token(kit.mcp_url()).expect("via refresh");
    assert!(t.id_jag_claims.is_some_and(|c| c["sub"] == json!("ola")));
    for _ in 0..2 {
        clock.advance(Duration::from_secs(3700));
        s.access_token(kit.mcp_url())
            .expect("renewed with the rotated refresh token");
    }
}

/// Leg 1 alone without a scope: the core chooses it as for `access_token` — the configured
/// scope, else the resource's PRM `scopes_supported` (SPEC §2.L item 1).
#[test]
fn leg_one_alone_chooses_the_scope_like_access_token() {
    let kit = TestKit::start();
    let s = Session::new(config(&kit, Some(kit.mint_id_token("pia")), None)).expect("session");
    let jag = s
        .request_id_jag(kit.as_issuer(), kit.mcp_url(), None)
        .expect("leg 1");
    let claims = idjag::jwt::inspect(jag.assertion.expose_secret(), 0)
        .expect("jwt")
        .claims;
    let supported = kit.info_json()["scopes_supported"]
        .as_array()
        .expect("scopes_supported")
        .iter()
        .map(|v| v.as_str().expect("str").to_string())
        .collect::<std::collections::BTreeSet<_>>();
    let granted = claims["scope"]
        .as_str()
        .expect("the PRM's scopes were asked for")
        .split(' ')
        .map(str::to_string)
        .collect::<std::collections::BTreeSet<_>>();
    assert_eq!(granted, supported);

    let mut cfg = config(&kit, Some(kit.mint_id_token("pia")), None);
    cfg.scope = Some("mcp:read".into());
    let s = Session::new(cfg).expect("session");
    let jag = s
        .request_id_jag(kit.as_issuer(), kit.mcp_url(), None)
        .expect("leg 1");
    let claims = idjag::jwt::inspect(jag.assertion.expose_secret(), 0)
        .expect("jwt")
        .claims;
    assert_eq!(claims["scope"], json!("mcp:read"));
}
