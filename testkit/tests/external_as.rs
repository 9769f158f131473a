//! `Options::mcp_authorization_server` (`serve --mcp-authorization-server`): the kit's MCP
//! server accepts the JWT access tokens of the authorization server its PRM names (as
//! tests/keycloak/ uses it with a Keycloak realm), and refuses every token that is not one:
//! wrong signature, unknown key, another issuer or audience, expired, `alg: none` or HS256.
//! The "external AS" here is a tiny_http server publishing RFC 8414 metadata and a JWKS.
#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use idjag_testkit::{Alg, Options, TestKey, TestKit};
use serde_json::{json, Map, Value};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Metadata at `/.well-known/oauth-authorization-server` and the key set at `/jwks`.
fn external_as(keys: &[&TestKey]) -> (String, Arc<tiny_http::Server>) {
    let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
    let port = server.server_addr().to_ip().unwrap().port();
    let issuer = format!("http://127.0.0.1:{port}");
    let meta = json!({
        "issuer": issuer,
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "grant_types_supported": ["urn:ietf:params:oauth:grant-type:jwt-bearer"],
    });
    let jwks = json!({"keys": keys.iter().map(|k| k.public_jwk().clone()).collect::<Vec<_>>()});
    let s = Arc::clone(&server);
    std::thread::spawn(move || {
        for req in s.incoming_requests() {
            let body = match req.url() {
                "/.well-known/oauth-authorization-server" => meta.to_string(),
                "/jwks" => jwks.to_string(),
                _ => {
                    let _ = req.respond(tiny_http::Response::empty(404));
                    continue;
                }
            };
            let _ = req.respond(tiny_http::Response::from_string(body).with_header(
                tiny_http::Header::from_bytes("Content-Type", "application/json").unwrap(),
            ));
        }
    });
    (issuer, server)
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn whoami(kit: &TestKit, token: &str) -> Res {
    Http::new().mcp(
        kit.mcp_url(),
        Some(token),
        None,
        &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                "params": {"name": "whoami", "arguments": {}}}),
    )
}

#[test]
fn the_named_as_tokens_are_accepted_and_nothing_else() {
    let key = TestKey::generate(Alg::RS256);
    let unpublished = TestKey::generate(Alg::RS256);
    let (issuer, server) = external_as(&[&key]);
    let kit = TestKit::start_with(Options {
        mcp_authorization_server: Some(issuer.clone()),
        ..Default::default()
    });
    let claims = |extra: Value| {
        let mut c = json!({
            "iss": issuer,
            "aud": [kit.mcp_url(), "account"],
            "sub": "0f1e2d3c",
            "preferred_username": "alice",
            "azp": "mcp-client",
            "scope": "profile email",
            "iat": now(),
            "exp": now() + 300,
        });
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };

    // The PRM names the external AS; one of its tokens is accepted, mapped to the caller.
    let prm = Http::new().get(kit.prm_url()).json();
    assert_eq!(prm["authorization_servers"], json!([issuer]));
    let r = whoami(&kit, &key.sign_with_typ(Some("at+jwt"), &claims(json!({}))));
    assert_eq!(r.status, 200, "{}", r.body);
    let who: Value =
        serde_json::from_str(r.json()["result"]["content"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(
        (&who["sub"], &who["client_id"], &who["scope"]),
        (
            &json!("alice"),
            &json!("mcp-client"),
            &json!("profile email")
        )
    );

    // Everything else is a 401 invalid_token with the kit's challenge.
    let mut forged = key.sign_with_typ(None, &claims(json!({})));
    forged.truncate(forged.len() - 4);
    forged.push_str("AAAA");
    let mut hs = Map::new();
    hs.insert("alg".into(), json!("HS256"));
    let mut none = Map::new();
    none.insert("alg".into(), json!("none"));
    let refused = [
        ("a changed signature", forged),
        (
            "a key the AS does not publish",
            unpublished.sign_with_typ(None, &claims(json!({}))),
        ),
        (
            "another issuer",
            key.sign_with_typ(None, &claims(json!({"iss": "http://127.0.0.1:1"}))),
        ),
        (
            "another audience",
            key.sign_with_typ(None, &claims(json!({"aud": "http://127.0.0.1:1/mcp"}))),
        ),
        (
            "expired",
            key.sign_with_typ(None, &claims(json!({"exp": now() - 1}))),
        ),
        ("no exp", {
            let mut c = claims(json!({}));
            c.as_object_mut().unwrap().remove("exp");
            key.sign_with_typ(None, &c)
        }),
        ("alg HS256", key.sign(&hs, &claims(json!({})))),
        ("alg none", key.sign(&none, &claims(json!({})))),
        ("not a JWT", "opaque-token-0123".to_string()),
    ];
    for (what, token) in refused {
        let r = whoami(&kit, &token);
        assert_eq!(r.status, 401, "{what}: {}", r.body);
        let challenge = r.header("www-authenticate").unwrap_or_default();
        assert!(challenge.contains("invalid_token"), "{what}: {challenge}");
    }
    // The kit AS's own tokens still work beside the external ones.
    let own = Http::new().post_form(
        &kit.as_token_endpoint(),
        &[
            ("grant_type", JWT_BEARER),
            ("assertion", &kit.mint_id_jag("alice")),
        ],
        Some((&kit.as_client().client_id, secret(&kit.as_client()))),
    );
    assert_eq!(own.status, 200, "{}", own.body);
    let r = whoami(&kit, own.json()["access_token"].as_str().unwrap());
    assert_eq!(r.status, 200, "{}", r.body);
    server.unblock();
}
