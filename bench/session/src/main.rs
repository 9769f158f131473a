//! Session benchmark (not a test: fixed iteration counts, loopback only, nothing asserted).
//!
//! ```sh
//! cargo run --release -p idjag-bench-session [-- --renewals N --cached N --cold N]
//! ```
//!
//! Rows, all against the embedded testkit (IdP + AS + MCP server on 127.0.0.1) in one run:
//! - cached `access_token` (the hot path: no I/O), single thread and 2 threads;
//! - warm renewal (the token is due: exactly leg 1 + leg 2) through `Session`, next to the
//!   **same two HTTP requests** sent by a bare keep-alive ureq agent with pre-built bodies —
//!   the server's own cost plus the minimum client cost; the difference is what idjag adds;
//! - cold path (new session: probe, PRM, AS + IdP metadata, leg 1, leg 2).

use idjag::clock::ManualClock;
use idjag::{Session, SessionConfig};
use idjag_testkit::{Endpoint, TestKit};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn config(kit: &TestKit) -> SessionConfig {
    let idp = kit.idp_client();
    let cl = kit.as_client();
    SessionConfig::from_json(
        &json!({
            "idp": {"issuer": kit.idp_issuer(), "client_id": idp.client_id, "client_secret": idp.client_secret},
            "subject_token": kit.mint_id_token("bench"),
            "client": {"client_id": cl.client_id, "client_secret": cl.client_secret},
            "client_issuers": [kit.as_issuer()],
        })
        .to_string(),
    )
    .expect("config")
}

fn stats(mut v: Vec<Duration>) -> (f64, f64, f64) {
    v.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    (
        us(v[0]),
        us(v[v.len() / 2]),
        us(v[(v.len() * 9 / 10).min(v.len() - 1)]),
    )
}

fn main() {
    let renewals = arg("--renewals", 400);
    let cached = arg("--cached", 2_000_000);
    let cold = arg("--cold", 100);
    // Renewals are driven by an injected clock (290 s per renewal): give the user's ID token a
    // lifetime that outlasts every simulated renewal.
    let kit = TestKit::start_with(idjag_testkit::Options {
        id_token_ttl_secs: 30 * 24 * 3600,
        ..Default::default()
    });
    println!(
        "idjag session benchmark — {} CPUs, testkit on loopback, release build",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );

    // Hot path.
    let clock = ManualClock::starting_now();
    let session = Session::builder(config(&kit))
        .clock(Arc::new(clock.clone()))
        .build()
        .expect("session");
    let url = kit.mcp_url().to_string();
    session.access_token(&url).expect("warm up");
    let t = Instant::now();
    for _ in 0..cached {
        std::hint::black_box(session.access_token(&url).expect("cached"));
    }
    let hot_ns = t.elapsed().as_secs_f64() * 1e9 / cached as f64;
    let threads = 2;
    let t = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            let session = session.clone();
            let url = url.clone();
            s.spawn(move || {
                for _ in 0..cached / threads {
                    std::hint::black_box(session.access_token(&url).expect("cached"));
                }
            });
        }
    });
    let hot2_ns = t.elapsed().as_secs_f64() * 1e9 / cached as f64;

    // Warm renewal through the Session vs the bare two requests, interleaved.
    let idp = kit.idp_client();
    let as_client = kit.as_client();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let idt = kit.mint_id_token("bench");
    let leg1_body = serde_urlencoded::to_string([
        ("grant_type", idjag::urn::GRANT_TOKEN_EXCHANGE),
        ("requested_token_type", idjag::urn::TOKEN_TYPE_ID_JAG),
        ("audience", kit.as_issuer()),
        ("resource", kit.mcp_url()),
        ("scope", "mcp:read mcp:write"),
        ("subject_token", idt.as_str()),
        ("subject_token_type", idjag::urn::TOKEN_TYPE_ID_TOKEN),
    ])
    .expect("form");
    let basic = |id: &str, secret: &str| idjag::client_auth::basic_auth_header(id, secret);
    let idp_auth = basic(&idp.client_id, idp.client_secret.as_deref().unwrap_or(""));
    let as_auth = basic(
        &as_client.client_id,
        as_client.client_secret.as_deref().unwrap_or(""),
    );
    let bare = || {
        let t = Instant::now();
        let mut r = agent
            .post(kit.idp_token_endpoint())
            .header("authorization", &idp_auth)
            .header("content-type", "application/x-www-form-urlencoded")
            .send(leg1_body.as_bytes())
            .expect("leg 1");
        let v: serde_json::Value =
            serde_json::from_str(&r.body_mut().read_to_string().expect("body")).expect("json");
        let jag = v["access_token"].as_str().expect("jag").to_string();
        let body = serde_urlencoded::to_string([
            ("grant_type", idjag::urn::GRANT_JWT_BEARER),
            ("assertion", jag.as_str()),
            ("scope", "mcp:read mcp:write"),
            ("resource", kit.mcp_url()),
        ])
        .expect("form");
        let mut r = agent
            .post(kit.as_token_endpoint())
            .header("authorization", &as_auth)
            .header("content-type", "application/x-www-form-urlencoded")
            .send(body.as_bytes())
            .expect("leg 2");
        let v: serde_json::Value =
            serde_json::from_str(&r.body_mut().read_to_string().expect("body")).expect("json");
        assert!(v["access_token"].is_string(), "bare leg 2: {v}");
        t.elapsed()
    };
    for _ in 0..20 {
        bare();
        clock.advance(Duration::from_secs(290));
        session.access_token(&url).expect("renewal");
    }
    // The two legs through idjag's Client directly (no Session bookkeeping).
    let client = idjag::Client::new().expect("client");
    let disc = session.discover(&url).expect("discovery");
    let legs = || {
        let t = Instant::now();
        let req = idjag::IdJagRequest::new(
            idjag::TokenEndpoint::new(
                kit.idp_token_endpoint(),
                idjag::ClientCredentials::new(idp.client_id.clone())
                    .with_secret(idp.client_secret.clone().unwrap_or_default()),
            ),
            disc.audience(),
            idt.as_str(),
            idjag::SubjectTokenType::IdToken,
        )
        .resource(disc.resource())
        .scope("mcp:read mcp:write");
        let jag = client.request_id_jag(&req).expect("leg 1");
        let r = idjag::RedeemRequest::new(
            idjag::TokenEndpoint::new(
                kit.as_token_endpoint(),
                idjag::ClientCredentials::new(as_client.client_id.clone())
                    .with_secret(as_client.client_secret.clone().unwrap_or_default()),
            ),
            jag.assertion,
        )
        .resource(disc.resource())
        .scope("mcp:read mcp:write");
        client.redeem_id_jag(&r).expect("leg 2");
        t.elapsed()
    };
    // The bare pair through idjag's default HttpClient (UreqHttpClient with idjag's settings).
    let http = idjag::http::UreqHttpClient::new(&idjag::http::HttpConfig::default()).expect("http");
    let via_http_client = || {
        use idjag::http::{AddressPolicy, HttpClient, HttpRequest, Method};
        let t = Instant::now();
        let req = |url: String, auth: &str, body: &str| HttpRequest {
            method: Method::Post,
            url,
            headers: vec![
                ("authorization".into(), auth.to_string()),
                (
                    "content-type".into(),
                    "application/x-www-form-urlencoded".into(),
                ),
                ("accept".into(), "application/json".into()),
            ],
            body: body.as_bytes().to_vec(),
            max_response_bytes: 65536,
            address_policy: AddressPolicy::Any,
            timeout: None,
        };
        let r = http
            .execute(&req(kit.idp_token_endpoint(), &idp_auth, &leg1_body))
            .expect("leg 1");
        let v: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
        let body = serde_urlencoded::to_string([
            ("grant_type", idjag::urn::GRANT_JWT_BEARER),
            ("assertion", v["access_token"].as_str().expect("jag")),
            ("scope", "mcp:read mcp:write"),
            ("resource", kit.mcp_url()),
        ])
        .expect("form");
        http.execute(&req(kit.as_token_endpoint(), &as_auth, &body))
            .expect("leg 2");
        t.elapsed()
    };
    kit.reset_counters();
    let mut via_http = Vec::with_capacity(renewals);
    let mut via_session = Vec::with_capacity(renewals);
    let mut via_client = Vec::with_capacity(renewals);
    let mut via_bare = Vec::with_capacity(renewals);
    for _ in 0..renewals {
        via_bare.push(bare());
        clock.advance(Duration::from_secs(290));
        let t = Instant::now();
        session.access_token(&url).expect("renewal");
        via_session.push(t.elapsed());
        via_client.push(legs());
        via_http.push(via_http_client());
    }
    let c = kit.counters();
    let all_requests: u64 = c.servers.values().map(|s| s.requests).sum();
    // Every request the servers saw, minus the two of each comparison row.
    let per_renewal = all_requests as f64 / renewals as f64 - 6.0;
    let _ = Endpoint::IdpToken;
    let conns: u64 = c.servers.values().map(|s| s.connections).sum();

    // Cold path.
    let mut colds = Vec::with_capacity(cold);
    for _ in 0..cold {
        let s = Session::new(config(&kit)).expect("session");
        let t = Instant::now();
        s.access_token(&url).expect("cold");
        colds.push(t.elapsed());
    }

    let (smin, smed, sp90) = stats(via_session);
    let (bmin, bmed, bp90) = stats(via_bare);
    let (kmin, kmed, kp90) = stats(via_client);
    let (hmin, hmed, hp90) = stats(via_http);
    let (cmin, cmed, cp90) = stats(colds);
    println!();
    println!("| measurement | min | median | p90 |");
    println!("| --- | ---: | ---: | ---: |");
    println!("| cached `access_token`, 1 thread | {hot_ns:.0} ns | | |");
    println!("| cached `access_token`, {threads} threads sharing one session (per call) | {hot2_ns:.0} ns | | |");
    println!("| warm renewal via `Session` (leg 1 + leg 2) | {smin:.0} µs | {smed:.0} µs | {sp90:.0} µs |");
    println!("| the two legs through `Client` directly (no `Session`) | {kmin:.0} µs | {kmed:.0} µs | {kp90:.0} µs |");
    println!("| the same two requests through idjag's `UreqHttpClient` | {hmin:.0} µs | {hmed:.0} µs | {hp90:.0} µs |");
    println!("| the same two requests, bare ureq + pre-built bodies | {bmin:.0} µs | {bmed:.0} µs | {bp90:.0} µs |");
    println!(
        "| **idjag's cost above the bare pair** (median difference) | | {:.0} µs ({:.2}×) | |",
        smed - bmed,
        smed / bmed
    );
    println!("| cold path (probe, PRM, AS + IdP metadata, leg 1, leg 2) | {cmin:.0} µs | {cmed:.0} µs | {cp90:.0} µs |");
    println!();
    println!(
        "requests per warm renewal: {per_renewal:.2}; TCP connections opened during {renewals} renewals \
         (session and bare agent together): {conns}"
    );
}
