//! SSRF guard (RFC 9728 §7.7, SPEC §3.5): a public MCP server cannot steer the client into an
//! internal network through the URLs it supplies. An in-memory HTTP client plays the servers
//! (public host names cannot be reached from tests) and records every URL requested.

use idjag::http::{HttpRequest, HttpResponse};
use idjag::{Client, DiscoveryOptions, Error, ErrorKind};
use serde_json::json;
use std::sync::{Arc, Mutex};

fn json_resp(status: u16, v: serde_json::Value, extra: &[(&str, &str)]) -> HttpResponse {
    let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
    headers.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    HttpResponse {
        status,
        headers,
        body: v.to_string().into_bytes(),
    }
}

/// A public MCP server whose PRM/AS documents are given; every URL asked is recorded.
fn client(
    challenge: &'static str,
    prm: serde_json::Value,
    as_meta: serde_json::Value,
) -> (Client, Arc<Mutex<Vec<String>>>) {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = seen.clone();
    let http = move |req: &HttpRequest| -> Result<HttpResponse, Error> {
        log.lock().expect("l").push(req.url.clone());
        Ok(match req.url.as_str() {
            "https://mcp.example.com/mcp" => {
                json_resp(401, json!({}), &[("www-authenticate", challenge)])
            }
            u if u.starts_with("https://mcp.example.com/.well-known/oauth-protected-resource") => {
                json_resp(200, prm.clone(), &[])
            }
            u if u.starts_with("https://as.example.com/.well-known/") => {
                json_resp(200, as_meta.clone(), &[])
            }
            _ => json_resp(404, json!({}), &[]),
        })
    };
    (
        Client::builder()
            .http_client(Arc::new(http))
            .build()
            .expect("client"),
        seen,
    )
}

fn good_prm(servers: &[&str]) -> serde_json::Value {
    json!({"resource": "https://mcp.example.com/mcp", "authorization_servers": servers})
}

fn good_as() -> serde_json::Value {
    json!({"issuer": "https://as.example.com", "token_endpoint": "https://as.example.com/token",
           "grant_types_supported": [idjag::urn::GRANT_JWT_BEARER],
           "authorization_grant_profiles_supported": [idjag::urn::GRANT_PROFILE_ID_JAG]})
}

#[test]
fn public_server_cannot_point_the_prm_into_the_internal_network() {
    let (c, seen) = client(
        r#"Bearer resource_metadata="https://169.254.169.254/latest/meta-data""#,
        good_prm(&["https://as.example.com"]),
        good_as(),
    );
    let e = c
        .discover("https://mcp.example.com/mcp", &DiscoveryOptions::default())
        .expect_err("metadata service refused");
    assert_eq!(e.kind(), ErrorKind::InsecureUrl, "{e}");
    assert!(
        !seen
            .lock()
            .expect("l")
            .iter()
            .any(|u| u.contains("169.254")),
        "nothing was sent to the internal address"
    );
}

#[test]
fn internal_authorization_servers_are_skipped_and_endpoints_checked() {
    // One internal AS listed first, then a good one: the good one is used.
    let (c, seen) = client(
        "Bearer",
        good_prm(&["https://10.0.0.5", "https://as.example.com"]),
        good_as(),
    );
    let d = c
        .discover("https://mcp.example.com/mcp", &DiscoveryOptions::default())
        .expect("the public AS is used");
    assert_eq!(d.audience(), "https://as.example.com");
    assert!(!seen
        .lock()
        .expect("l")
        .iter()
        .any(|u| u.contains("10.0.0.5")));

    // Only an internal AS: refused.
    let (c, _) = client("Bearer", good_prm(&["http://localhost:8080"]), good_as());
    let e = c
        .discover("https://mcp.example.com/mcp", &DiscoveryOptions::default())
        .expect_err("internal AS");
    assert_eq!(e.kind(), ErrorKind::InsecureUrl, "{e}");

    // A public AS whose token endpoint points inside: refused.
    let mut meta = good_as();
    meta["token_endpoint"] = json!("https://192.168.0.10/token");
    let (c, _) = client("Bearer", good_prm(&["https://as.example.com"]), meta);
    let e = c
        .discover("https://mcp.example.com/mcp", &DiscoveryOptions::default())
        .expect_err("internal token endpoint");
    assert_eq!(e.kind(), ErrorKind::InsecureUrl, "{e}");
}
