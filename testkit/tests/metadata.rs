//! Metadata documents of the three servers.
#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use idjag_testkit::{AsMetadataVariants, Endpoint, Options, TestKit};
use serde_json::json;

#[test]
fn idp_metadata_and_jwks() {
    let kit = TestKit::start();
    let http = Http::new();
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let r = http.get(&format!("{}{path}", kit.idp_issuer()));
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), Some("application/json"));
        let m = r.json();
        assert_eq!(m["issuer"], kit.idp_issuer());
        assert_eq!(m["token_endpoint"], kit.idp_token_endpoint());
        assert_eq!(m["jwks_uri"], kit.idp_jwks_uri());
        assert_eq!(
            m["identity_chaining_requested_token_types_supported"],
            json!([ID_JAG])
        );
        assert!(m["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&json!(TE)));
        for a in [
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
            "none",
        ] {
            assert!(m["token_endpoint_auth_methods_supported"]
                .as_array()
                .unwrap()
                .contains(&json!(a)));
        }
        assert!(m["token_endpoint_auth_signing_alg_values_supported"].is_array());
    }
    let jwks = http.get(&kit.idp_jwks_uri()).json();
    let keys = jwks["keys"].as_array().unwrap();
    let algs: Vec<&str> = keys.iter().map(|k| k["alg"].as_str().unwrap()).collect();
    assert_eq!(algs, ["ES256", "RS256"]);
    for k in keys {
        assert_eq!(k["use"], "sig");
        assert!(k["kid"].as_str().unwrap().len() > 4);
        assert!(k.get("d").is_none(), "no private parts");
    }
    assert_eq!(kit.idp_jwks(), jwks);
    assert_eq!(kit.idp_keys().len(), 2);
    assert!(kit.idp_keys()[0].private_key_pem().contains("PRIVATE KEY"));
    assert!(kit.idp_keys()[1].public_key_pem().contains("PUBLIC KEY"));
}

#[test]
fn as_metadata_default() {
    let kit = TestKit::start();
    let http = Http::new();
    assert_ne!(kit.as_issuer(), kit.idp_issuer());
    let m = http.get(&kit.as_metadata_url()).json();
    assert_eq!(m["issuer"], kit.as_issuer());
    assert_eq!(m["token_endpoint"], kit.as_token_endpoint());
    assert_eq!(m["grant_types_supported"], json!([JWT_BEARER]));
    assert_eq!(
        m["authorization_grant_profiles_supported"],
        json!(["urn:ietf:params:oauth:grant-profile:id-jag"])
    );
    assert_eq!(
        m["token_endpoint_auth_methods_supported"],
        json!([
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt"
        ])
    );
    assert_eq!(
        m["scopes_supported"],
        json!(["mcp:read", "mcp:write", "mcp:admin"])
    );
    let oidc = http
        .get(&format!(
            "{}/.well-known/openid-configuration",
            kit.as_issuer()
        ))
        .json();
    assert_eq!(oidc["issuer"], kit.as_issuer());
}

#[test]
fn as_metadata_under_a_path() {
    let kit = TestKit::start_with(Options {
        as_path: Some("as/".into()),
        ..Default::default()
    });
    let http = Http::new();
    assert!(kit.as_issuer().ends_with("/as"));
    assert_eq!(
        kit.as_token_endpoint(),
        format!("{}/token", kit.as_issuer())
    );
    let origin = kit.as_issuer().trim_end_matches("/as").to_string();
    assert_eq!(
        kit.as_metadata_url(),
        format!("{origin}/.well-known/oauth-authorization-server/as")
    );
    for url in [
        format!("{origin}/.well-known/oauth-authorization-server/as"),
        format!("{origin}/.well-known/openid-configuration/as"),
        format!("{origin}/as/.well-known/openid-configuration"),
    ] {
        let r = http.get(&url);
        assert_eq!(r.status, 200, "{url}");
        assert_eq!(r.json()["issuer"], kit.as_issuer());
    }
    assert_eq!(
        http.get(&format!("{origin}/.well-known/oauth-authorization-server"))
            .status,
        404
    );
    // The path-prefixed token endpoint works.
    let http2 = Http::new();
    assert_eq!(
        redeem(&kit, &http2, &kit.mint_id_jag("a"), None).status,
        200
    );
    assert_eq!(kit.counters().requests(Endpoint::AsMetadata), 4);
}

/// A document served at an `openid-configuration` URL carries the members OIDC Discovery 1.0
/// §3 makes REQUIRED (the MCP TypeScript SDK refuses it otherwise); the RFC 8414 one does not.
#[test]
fn as_oidc_documents_have_the_oidc_required_members() {
    let kit = TestKit::start_with(Options {
        as_path: Some("/tenant1".into()),
        ..Default::default()
    });
    let http = Http::new();
    let origin = kit.as_issuer().trim_end_matches("/tenant1").to_string();
    for url in [
        format!("{origin}/.well-known/openid-configuration/tenant1"),
        format!("{origin}/tenant1/.well-known/openid-configuration"),
    ] {
        let m = http.get(&url).json();
        assert_eq!(m["issuer"], kit.as_issuer());
        assert_eq!(m["subject_types_supported"], json!(["public"]));
        assert_eq!(m["id_token_signing_alg_values_supported"], json!(["RS256"]));
        let jwks = m["jwks_uri"].as_str().unwrap().to_string();
        assert_eq!(jwks, format!("{}/jwks", kit.as_issuer()));
        let r = http.get(&jwks);
        assert_eq!(r.status, 200);
        assert_eq!(r.json(), json!({"keys": []}));
    }
    let m = http.get(&kit.as_metadata_url()).json();
    assert!(m.get("jwks_uri").is_none() && m.get("subject_types_supported").is_none());
}

#[test]
fn as_metadata_oidc_only() {
    let kit = TestKit::start_with(Options {
        as_path: Some("/tenant1".into()),
        as_metadata: AsMetadataVariants::oidc_append_only(),
        ..Default::default()
    });
    let http = Http::new();
    let origin = kit.as_issuer().trim_end_matches("/tenant1").to_string();
    assert_eq!(http.get(&kit.as_metadata_url()).status, 404);
    assert_eq!(
        http.get(&format!(
            "{origin}/.well-known/openid-configuration/tenant1"
        ))
        .status,
        404
    );
    assert_eq!(
        http.get(&format!(
            "{origin}/tenant1/.well-known/openid-configuration"
        ))
        .status,
        200
    );
    let paths: Vec<(String, u16)> = kit
        .requests()
        .into_iter()
        .map(|r| (r.path, r.status))
        .collect();
    assert_eq!(
        paths,
        [
            (
                "/.well-known/oauth-authorization-server/tenant1".to_string(),
                404
            ),
            ("/.well-known/openid-configuration/tenant1".to_string(), 404),
            ("/tenant1/.well-known/openid-configuration".to_string(), 200),
        ]
    );
}

#[test]
fn protected_resource_metadata() {
    let kit = TestKit::start();
    let http = Http::new();
    assert!(kit
        .prm_url()
        .ends_with("/.well-known/oauth-protected-resource/mcp"));
    for url in [kit.prm_url().to_string(), kit.prm_root_url()] {
        let m = http.get(&url).json();
        assert_eq!(m["resource"], kit.mcp_url());
        assert_eq!(m["authorization_servers"], json!([kit.as_issuer()]));
        assert_eq!(m["bearer_methods_supported"], json!(["header"]));
        assert!(m["scopes_supported"].is_array());
    }
    // Three distinct origins.
    let origin = |u: &str| url::Url::parse(u).unwrap().origin();
    assert_ne!(origin(kit.mcp_url()), origin(kit.as_issuer()));
    assert_ne!(origin(kit.mcp_url()), origin(kit.idp_issuer()));
}
