//! Faults, counters and the admin API.
#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use idjag_testkit::{Endpoint, Fault, TestKit};
use serde_json::json;
use std::time::Instant;

#[test]
fn faults_from_rust() {
    let kit = TestKit::start();
    let http = Http::new();
    let meta = kit.as_metadata_url();

    kit.set_fault(
        Endpoint::AsMetadata,
        Fault::status(503, r#"{"error":"temporarily_unavailable"}"#),
    );
    let r = http.get(&meta);
    assert_eq!(r.status, 503);
    assert_eq!(r.error(), "temporarily_unavailable");
    kit.clear_fault(Endpoint::AsMetadata);
    assert_eq!(http.get(&meta).status, 200);

    kit.set_fault_times(Endpoint::AsMetadata, Fault::status(500, ""), 2);
    assert_eq!(http.get(&meta).status, 500);
    assert_eq!(http.get(&meta).status, 500);
    assert_eq!(http.get(&meta).status, 200);
    assert!(kit.faults().is_empty());

    kit.set_fault(
        Endpoint::AsMetadata,
        Fault::WrongIssuer {
            issuer: "https://evil.example".into(),
        },
    );
    assert_eq!(http.get(&meta).json()["issuer"], "https://evil.example");
    kit.set_fault(
        Endpoint::AsMetadata,
        Fault::Patch {
            set: serde_json::from_value(
                json!({"authorization_grant_profiles_supported": null, "x": 1}),
            )
            .unwrap(),
        },
    );
    let m = http.get(&meta).json();
    assert!(m.get("authorization_grant_profiles_supported").is_none());
    assert_eq!(m["x"], 1);
    assert_eq!(
        m["issuer"], "https://evil.example",
        "faults of different kinds combine"
    );
    kit.clear_faults();

    kit.set_fault(
        Endpoint::IdpJwks,
        Fault::Oversized {
            bytes: 2 * 1024 * 1024,
        },
    );
    let r = http.get(&kit.idp_jwks_uri());
    assert!(r.body.len() >= 2 * 1024 * 1024);
    assert!(r.json()["keys"].is_array());
    kit.set_fault(Endpoint::IdpJwks, Fault::MalformedJson);
    let r = http.get(&kit.idp_jwks_uri());
    assert!(serde_json::from_str::<serde_json::Value>(&r.body).is_err());
    kit.clear_faults();
    kit.set_fault(
        Endpoint::Prm,
        Fault::WrongContentType { content_type: None },
    );
    let r = http.get(kit.prm_url());
    assert_eq!(r.header("content-type"), Some("text/html"));
    kit.set_fault(
        Endpoint::AsToken,
        Fault::Redirect {
            location: "http://127.0.0.1:9/token".into(),
            status: None,
        },
    );
    let r = redeem(&kit, &http, &kit.mint_id_jag("a"), None);
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), Some("http://127.0.0.1:9/token"));
    kit.clear_faults();

    kit.set_fault(Endpoint::IdpMetadata, Fault::delay_ms(150));
    let t = Instant::now();
    assert_eq!(
        http.get(&format!(
            "{}/.well-known/openid-configuration",
            kit.idp_issuer()
        ))
        .status,
        200
    );
    assert!(t.elapsed().as_millis() >= 150);
    kit.clear_faults();

    // A status fault on the token endpoint does not consume the ID-JAG.
    let jag = kit.mint_id_jag("a");
    kit.set_fault_times(Endpoint::AsToken, Fault::status(503, "{}"), 1);
    assert_eq!(redeem(&kit, &http, &jag, None).status, 503);
    assert_eq!(redeem(&kit, &http, &jag, None).status, 200);
}

#[test]
fn counters_count_requests_and_connections() {
    let kit = TestKit::start();
    let http = Http::new(); // keep-alive agent: one connection per origin
    for _ in 0..3 {
        assert_eq!(http.get(kit.prm_url()).status, 200);
    }
    let c = kit.counters();
    assert_eq!(c.requests(Endpoint::Prm), 3);
    assert_eq!(c.connections(Endpoint::Prm), 1);
    for _ in 0..2 {
        assert_eq!(Http::new().get(kit.prm_url()).status, 200);
    }
    let c = kit.counters();
    assert_eq!(c.requests(Endpoint::Prm), 5);
    assert_eq!(c.connections(Endpoint::Prm), 3);
    assert_eq!(c.requests(Endpoint::Mcp), 0);
    assert_eq!(c.server(idjag_testkit::Role::Mcp).requests, 5);
    kit.reset_counters();
    assert_eq!(kit.counters().requests(Endpoint::Prm), 0);

    // Concurrent requests are served in parallel (4 workers).
    kit.set_fault(Endpoint::Prm, Fault::delay_ms(300));
    let t = Instant::now();
    let url = kit.prm_url().to_string();
    let hs: Vec<_> = (0..4)
        .map(|_| {
            let u = url.clone();
            std::thread::spawn(move || Http::new().get(&u).status)
        })
        .collect();
    for h in hs {
        assert_eq!(h.join().unwrap(), 200);
    }
    assert!(t.elapsed().as_millis() < 1100, "{:?}", t.elapsed());
    assert_eq!(kit.counters().connections(Endpoint::Prm), 4);
}

#[test]
fn admin_api() {
    let kit = TestKit::start();
    let http = Http::new();
    let admin = kit.admin_url();
    let post = |path: &str, body: serde_json::Value| {
        http.request(
            "POST",
            &format!("{admin}/{path}"),
            &[("Content-Type", "application/json")],
            Some(body.to_string().into_bytes()),
        )
    };
    let info = http.get(&admin).json();
    assert_eq!(info["mcp_url"], kit.mcp_url());
    assert_eq!(info["context"]["idp_issuer"], kit.idp_issuer());

    let r = post(
        "faults",
        json!({"endpoint": "as_metadata", "fault": {"type": "status", "status": 418, "body": "{}"}, "times": 1}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(http.get(&kit.as_metadata_url()).status, 418);
    assert_eq!(http.get(&kit.as_metadata_url()).status, 200);
    assert_eq!(
        post("faults", json!({"endpoint": "nope", "clear": true})).status,
        400
    );
    assert_eq!(
        post(
            "faults",
            json!({"endpoint": "prm", "fault": {"type": "bogus"}})
        )
        .status,
        400
    );
    post(
        "faults",
        json!({"endpoint": "prm", "fault": {"type": "wrong_issuer", "issuer": "x"}}),
    );
    assert_eq!(
        http.get(&format!("{admin}/faults")).json()["prm"][0]["fault"]["type"],
        "wrong_issuer"
    );
    post("faults", json!({"clear": true}));
    assert_eq!(http.get(&format!("{admin}/faults")).json(), json!({}));

    let counters = http.get(&format!("{admin}/counters")).json();
    assert_eq!(counters["endpoints"]["as_metadata"]["requests"], 2);
    assert_eq!(counters["endpoints"]["as_metadata"]["connections"], 1);
    post("reset", json!({}));
    assert_eq!(
        http.get(&format!("{admin}/counters")).json()["endpoints"]["as_metadata"]["requests"],
        0
    );

    // Minting over HTTP.
    let tok = post("id_token", json!({"user": "hank"})).json()["id_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(exchange(&kit, &http, &tok, ID_TOKEN, None).status, 200);
    let saml = post("saml_assertion", json!({"user": "hank"})).json()["assertion"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(exchange(&kit, &http, &saml, SAML2, None).status, 200);
    let rt = post("refresh_token", json!({"user": "hank"})).json()["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(exchange(&kit, &http, &rt, RT, None).status, 200);
    let jag = post(
        "id_jag",
        json!({"user": "hank", "claims": {"aud": "http://wrong"}}),
    )
    .json();
    assert_eq!(jag["claims"]["aud"], "http://wrong");
    let r = redeem(&kit, &http, jag["id_jag"].as_str().unwrap(), None);
    assert_eq!(r.error(), "invalid_grant");
    assert_eq!(
        http.get(&format!("{admin}/last_rejection")).json()["reason"],
        "audience_mismatch"
    );
    let good = post("id_jag", json!({"claims": {"scope": "mcp:read"}})).json();
    assert_eq!(
        redeem(&kit, &http, good["id_jag"].as_str().unwrap(), None).status,
        200
    );
    let at = post("access_token", json!({"scope": "mcp:admin"})).json()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let r = http.mcp(kit.mcp_url(), Some(&at), None, &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "admin_reset"}}));
    assert_eq!(r.status, 200);
    let kid = post("rotate_keys", json!({"alg": "RS256", "drop_old": true})).json()["kid"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(http.get(&kit.idp_jwks_uri()).body.contains(&kid));
    assert_eq!(post("clock", json!({"offset_secs": 10_000})).status, 200);
    assert_eq!(
        exchange(&kit, &http, &tok, ID_TOKEN, None).error(),
        "invalid_grant"
    );
    post("clock", json!({"offset_secs": 0}));
    assert_eq!(
        post(
            "client_map",
            json!({"idp_client_id": "idp-client", "as_client_id": "mcp-post-client"})
        )
        .status,
        200
    );
    let r = exchange(&kit, &http, &kit.mint_id_token("a"), ID_TOKEN, None);
    assert_eq!(
        jwt_part(r.json()["access_token"].as_str().unwrap(), 1)["client_id"],
        "mcp-post-client"
    );
    let log = http.get(&format!("{admin}/requests")).json();
    assert!(log
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["endpoint"] == "idp_token"));
    assert_eq!(
        http.request(
            "POST",
            &format!("{admin}/faults"),
            &[],
            Some(b"not json".to_vec())
        )
        .status,
        400
    );
    assert_eq!(http.get(&format!("{admin}/nope")).status, 404);
}

#[test]
fn bad_input_never_panics() {
    let kit = TestKit::start();
    let http = Http::new();
    let junk: [&[u8]; 5] = [
        b"",
        b"%%%&&&===",
        b"grant_type=%ZZ",
        b"\xff\xfe",
        b"assertion=a.b.c&grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer",
    ];
    for url in [
        kit.idp_token_endpoint(),
        kit.as_token_endpoint(),
        kit.mcp_url().to_string(),
    ] {
        for body in junk {
            for auth in ["", "Basic !!!", "Basic Og==", "Bearer", "Negotiate x"] {
                let mut h = vec![("Content-Type", "application/x-www-form-urlencoded")];
                if !auth.is_empty() {
                    h.push(("Authorization", auth));
                }
                let r = http.request("POST", &url, &h, Some(body.to_vec()));
                assert!(
                    (400..500).contains(&r.status),
                    "{url} {auth} -> {}",
                    r.status
                );
            }
        }
    }
    assert!(kit.requests().iter().all(|r| r.status < 500));
    // Oversized request body.
    let big = vec![b'a'; 2 * 1024 * 1024];
    let r = http.request(
        "POST",
        &kit.as_token_endpoint(),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some(big),
    );
    assert_eq!(r.status, 413);
}

#[test]
fn drop_does_not_hang_on_a_stuck_client() {
    use std::io::Write;
    let kit = TestKit::start();
    kit.set_fault(
        Endpoint::IdpJwks,
        Fault::Oversized {
            bytes: 16 * 1024 * 1024,
        },
    );
    let addr = kit.idp_issuer().trim_start_matches("http://").to_string();
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    write!(s, "GET /jwks HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    // Also a delayed request in flight.
    kit.set_fault(Endpoint::Prm, Fault::delay_ms(60_000));
    let prm = kit.prm_url().to_string();
    let _bg = std::thread::spawn(move || {
        Http::new()
            .try_request("GET", &prm, &[], None)
            .map(|r| r.status)
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    let t = Instant::now();
    drop(kit);
    assert!(t.elapsed().as_secs() < 8, "{:?}", t.elapsed());
    drop(s);
}
