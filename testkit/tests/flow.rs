//! The full two-leg flow by hand, plus the MCP endpoint.
#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use idjag_testkit::TestKit;
use serde_json::json;

#[test]
fn full_flow_id_token_to_mcp_tools() {
    let kit = TestKit::start();
    let http = Http::new();

    // 1. MCP without a token → 401 with the PRM URL.
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                   "clientInfo": {"name": "t", "version": "1"}}});
    let r = http.mcp(kit.mcp_url(), None, None, &init);
    assert_eq!(r.status, 401);
    let www = r.header("www-authenticate").expect("challenge");
    assert!(
        www.contains(&format!("resource_metadata=\"{}\"", kit.prm_url())),
        "{www}"
    );

    // 2. Token exchange.
    let r = exchange(
        &kit,
        &http,
        &kit.mint_id_token("alice"),
        ID_TOKEN,
        Some("mcp:read mcp:write"),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let body = r.json();
    assert_eq!(body["issued_token_type"], ID_JAG);
    assert_eq!(body["token_type"], "N_A");
    assert_eq!(body["expires_in"], 300);
    let jag = body["access_token"].as_str().unwrap().to_string();
    let h = jwt_part(&jag, 0);
    assert_eq!(h["typ"], "oauth-id-jag+jwt");
    assert_eq!(h["alg"], "ES256");
    assert!(h["kid"].is_string());
    let c = jwt_part(&jag, 1);
    assert_eq!(c["iss"], kit.idp_issuer());
    assert_eq!(c["sub"], "alice");
    assert_eq!(c["aud"], kit.as_issuer());
    assert_eq!(c["client_id"], kit.as_client().client_id);
    assert_eq!(c["resource"], kit.mcp_url());
    assert_eq!(c["scope"], "mcp:read mcp:write");
    assert_eq!(c["email"], "alice@example.com");
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 300);
    assert!(c["jti"].as_str().unwrap().len() >= 32);

    // 3. JWT bearer.
    let r = redeem(&kit, &http, &jag, None);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.header("pragma"), Some("no-cache"));
    let b = r.json();
    assert_eq!(b["token_type"], "Bearer");
    assert_eq!(b["expires_in"], 300);
    assert_eq!(b["scope"], "mcp:read mcp:write");
    let at = b["access_token"].as_str().unwrap().to_string();
    assert!(at.len() >= 43);

    // Replay of the same ID-JAG is refused.
    let r = redeem(&kit, &http, &jag, None);
    assert_eq!(r.status, 400);
    assert_eq!(r.error(), "invalid_grant");
    assert_eq!(
        r.json()["error_description"],
        idjag::verify::INVALID_GRANT_DESCRIPTION
    );
    assert_eq!(kit.last_as_rejection().as_deref(), Some("replayed"));

    // 4. MCP session.
    let r = http.mcp(kit.mcp_url(), Some(&at), None, &init);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    let sid = r.header("mcp-session-id").expect("session id").to_string();
    let b = r.json();
    assert_eq!(b["result"]["protocolVersion"], "2025-11-25");
    assert_eq!(b["result"]["serverInfo"]["name"], "idjag-testkit");
    assert!(b["result"]["capabilities"]["tools"].is_object());

    let r = http.mcp(
        kit.mcp_url(),
        Some(&at),
        Some(&sid),
        &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    );
    assert_eq!(r.status, 202);
    assert!(r.body.is_empty());

    let r = http.mcp(
        kit.mcp_url(),
        Some(&at),
        Some(&sid),
        &json!({"jsonrpc": "2.0", "id": 2, "method": "ping"}),
    );
    assert_eq!(r.json()["result"], json!({}));

    let r = http.mcp(
        kit.mcp_url(),
        Some(&at),
        Some(&sid),
        &json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"}),
    );
    let names: Vec<String> = r.json()["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["whoami", "echo", "admin_reset"]);

    let r = http.mcp(kit.mcp_url(), Some(&at), Some(&sid),
        &json!({"jsonrpc": "2.0", "id": "w", "method": "tools/call", "params": {"name": "whoami", "arguments": {}}}));
    let b = r.json();
    assert_eq!(b["id"], "w");
    let text = b["result"]["content"][0]["text"].as_str().unwrap();
    let who: serde_json::Value = serde_json::from_str(text).unwrap();
    assert_eq!(who["sub"], "alice");
    assert_eq!(who["client_id"], kit.as_client().client_id);

    let r = http.mcp(kit.mcp_url(), Some(&at), Some(&sid),
        &json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "echo", "arguments": {"message": "héllo"}}}));
    assert_eq!(r.json()["result"]["content"][0]["text"], "héllo");

    let r = http.mcp(
        kit.mcp_url(),
        Some(&at),
        Some(&sid),
        &json!({"jsonrpc": "2.0", "id": 6, "method": "tools/call", "params": {"name": "nope"}}),
    );
    assert_eq!(r.json()["error"]["code"], -32602);
    let r = http.mcp(
        kit.mcp_url(),
        Some(&at),
        Some(&sid),
        &json!({"jsonrpc": "2.0", "id": 7, "method": "resources/list"}),
    );
    assert_eq!(r.json()["error"]["code"], -32601);

    // 403 step-up for admin_reset.
    let call_admin = json!({"jsonrpc": "2.0", "id": 8, "method": "tools/call", "params": {"name": "admin_reset", "arguments": {}}});
    let r = http.mcp(kit.mcp_url(), Some(&at), Some(&sid), &call_admin);
    assert_eq!(r.status, 403);
    let www = r.header("www-authenticate").unwrap();
    assert!(www.starts_with("Bearer "), "{www}");
    assert!(www.contains("error=\"insufficient_scope\""), "{www}");
    assert!(
        www.contains("scope=\"mcp:read mcp:write mcp:admin\""),
        "{www}"
    );
    assert!(www.contains("resource_metadata="), "{www}");
    let at_admin = access_token(&kit, &http, Some("mcp:read mcp:write mcp:admin"));
    let r = http.mcp(kit.mcp_url(), Some(&at_admin), None, &call_admin);
    assert_eq!(r.status, 200, "{}", r.body);

    // GET → 405, DELETE ends the session, then the session is unknown.
    let r = http.request(
        "GET",
        kit.mcp_url(),
        &[("Authorization", &format!("Bearer {at}"))],
        None,
    );
    assert_eq!(r.status, 405);
    let r = http.request(
        "DELETE",
        kit.mcp_url(),
        &[
            ("Authorization", &format!("Bearer {at}")),
            ("Mcp-Session-Id", &sid),
        ],
        None,
    );
    assert_eq!(r.status, 200);
    let r = http.mcp(
        kit.mcp_url(),
        Some(&at),
        Some(&sid),
        &json!({"jsonrpc": "2.0", "id": 9, "method": "ping"}),
    );
    assert_eq!(r.status, 404);
}

#[test]
fn mcp_protocol_versions_and_bad_input() {
    let kit = TestKit::start();
    let http = Http::new();
    let at = kit.issue_access_token("bob", "mcp:read", 300);
    for (asked, got) in [
        ("2025-06-18", "2025-06-18"),
        ("2025-03-26", "2025-03-26"),
        ("1999-01-01", "2025-11-25"),
    ] {
        let r = http.mcp(kit.mcp_url(), Some(&at), None,
            &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": asked}}));
        assert_eq!(r.json()["result"]["protocolVersion"], got);
    }
    let r = http.request(
        "POST",
        kit.mcp_url(),
        &[
            ("Authorization", &format!("Bearer {at}")),
            ("Content-Type", "application/json"),
        ],
        Some(b"{not json".to_vec()),
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["code"], -32700);
    let r = http.request(
        "POST",
        kit.mcp_url(),
        &[
            ("Authorization", &format!("Bearer {at}")),
            ("MCP-Protocol-Version", "1.0"),
        ],
        Some(b"{}".to_vec()),
    );
    assert_eq!(r.status, 400);
    let r = http.mcp(
        kit.mcp_url(),
        Some(&at),
        None,
        &json!([{"jsonrpc": "2.0", "id": 1, "method": "ping"}]),
    );
    assert_eq!(r.status, 400);
}

#[test]
fn mcp_token_challenges() {
    let kit = TestKit::start();
    let http = Http::new();
    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"});
    let r = http.mcp(kit.mcp_url(), Some("bogus"), None, &ping);
    assert_eq!(r.status, 401);
    let www = r.header("www-authenticate").unwrap();
    assert!(www.contains("error=\"invalid_token\""), "{www}");
    assert!(www.contains("scope=\"mcp:read mcp:write\""), "{www}");

    let at = kit.issue_access_token("bob", "mcp:read", 60);
    assert_eq!(http.mcp(kit.mcp_url(), Some(&at), None, &ping).status, 200);
    kit.set_clock_offset(120);
    let r = http.mcp(kit.mcp_url(), Some(&at), None, &ping);
    assert_eq!(r.status, 401);
    assert!(r
        .header("www-authenticate")
        .unwrap()
        .contains("invalid_token"));
}

#[test]
fn saml_and_refresh_token_subjects() {
    let kit = TestKit::start();
    let http = Http::new();
    let r = exchange(&kit, &http, &kit.mint_saml_assertion("carol"), SAML2, None);
    assert_eq!(r.status, 200, "{}", r.body);
    let jag = r.json()["access_token"].as_str().unwrap().to_string();
    assert_eq!(jwt_part(&jag, 1)["sub"], "carol");
    assert!(jwt_part(&jag, 1).get("scope").is_none());
    assert!(r.json().get("scope").is_none());

    let rt = kit.issue_refresh_token("dave");
    let r = exchange(&kit, &http, &rt, RT, None);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        jwt_part(r.json()["access_token"].as_str().unwrap(), 1)["sub"],
        "dave"
    );
    // Using an RT as a subject token does not consume it.
    assert_eq!(exchange(&kit, &http, &rt, RT, None).status, 200);

    // Protocol transition: SAML → IdP refresh token → ID-JAG.
    let c = kit.idp_client();
    let saml = kit.mint_saml_assertion("erin");
    let r = http.post_form(
        &kit.idp_token_endpoint(),
        &[
            ("grant_type", TE),
            ("requested_token_type", RT),
            ("subject_token", &saml),
            ("subject_token_type", SAML2),
            ("scope", "openid offline_access"),
        ],
        Some((&c.client_id, secret(&c))),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["issued_token_type"], RT);
    assert_eq!(r.json()["token_type"], "N_A");
    let idp_rt = r.json()["access_token"].as_str().unwrap().to_string();
    let r = exchange(&kit, &http, &idp_rt, RT, None);
    assert_eq!(
        jwt_part(r.json()["access_token"].as_str().unwrap(), 1)["sub"],
        "erin"
    );

    // Bad SAML: wrong audience, expired.
    let bad = kit.mint_saml_assertion_with(&idjag_testkit::SamlSpec {
        audience: Some("someone-else".into()),
        ..idjag_testkit::SamlSpec::new("x")
    });
    assert_eq!(
        exchange(&kit, &http, &bad, SAML2, None).error(),
        "invalid_grant"
    );
    let bad = kit.mint_saml_assertion_with(&idjag_testkit::SamlSpec {
        not_on_or_after: Some(kit.now() - 1),
        ..idjag_testkit::SamlSpec::new("x")
    });
    assert_eq!(
        exchange(&kit, &http, &bad, SAML2, None).error(),
        "invalid_grant"
    );
}

#[test]
fn refresh_token_rotation() {
    let kit = TestKit::start();
    let http = Http::new();
    let c = kit.idp_client();
    let rt = kit.issue_refresh_token("frank");
    let r = http.post_form(
        &kit.idp_token_endpoint(),
        &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
        Some((&c.client_id, secret(&c))),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let b = r.json();
    assert_eq!(b["token_type"], "Bearer");
    let id_token = b["id_token"].as_str().unwrap();
    assert_eq!(jwt_part(id_token, 1)["sub"], "frank");
    assert_eq!(jwt_part(id_token, 1)["aud"], c.client_id.as_str());
    let rt2 = b["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(rt, rt2);
    // Old RT is dead.
    let r = http.post_form(
        &kit.idp_token_endpoint(),
        &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
        Some((&c.client_id, secret(&c))),
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.error(), "invalid_grant");
    // The fresh ID token works as a subject token.
    assert_eq!(exchange(&kit, &http, id_token, ID_TOKEN, None).status, 200);
    // Another client cannot use the new RT.
    let p = kit.idp_public_client();
    let r = http.post_form(
        &kit.idp_token_endpoint(),
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt2),
            ("client_id", &p.client_id),
        ],
        None,
    );
    assert_eq!(r.error(), "invalid_grant");
}

#[test]
fn authorization_code_with_pkce() {
    let kit = TestKit::start();
    let http = Http::new();
    let c = kit.idp_client();
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let url = format!(
        "{}?{}",
        kit.idp_authorization_endpoint(),
        form(&[
            ("response_type", "code"),
            ("client_id", &c.client_id),
            ("redirect_uri", "http://127.0.0.1:1/cb"),
            ("state", "xyz"),
            ("nonce", "n1"),
            ("scope", "openid offline_access"),
            ("login_hint", "gina"),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256")
        ])
    );
    let r = http.get(&url);
    assert_eq!(r.status, 302);
    let loc = url::Url::parse(r.header("location").unwrap()).unwrap();
    let q: std::collections::HashMap<_, _> = loc.query_pairs().into_owned().collect();
    assert_eq!(q["state"], "xyz");
    assert_eq!(q["iss"], kit.idp_issuer());
    let pairs = [
        ("grant_type", "authorization_code"),
        ("code", q["code"].as_str()),
        ("redirect_uri", "http://127.0.0.1:1/cb"),
        ("code_verifier", verifier),
    ];
    let r = http.post_form(
        &kit.idp_token_endpoint(),
        &pairs,
        Some((&c.client_id, secret(&c))),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let id_token = r.json()["id_token"].as_str().unwrap().to_string();
    assert_eq!(jwt_part(&id_token, 1)["sub"], "gina");
    assert_eq!(jwt_part(&id_token, 1)["nonce"], "n1");
    assert!(r.json()["refresh_token"].is_string());
    // Codes are single-use.
    let r = http.post_form(
        &kit.idp_token_endpoint(),
        &pairs,
        Some((&c.client_id, secret(&c))),
    );
    assert_eq!(r.error(), "invalid_grant");
}
