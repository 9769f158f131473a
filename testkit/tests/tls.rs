//! HTTPS mode: a throw-away CA, the whole flow over loopback TLS.
#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use idjag_testkit::{Endpoint, Options, TestKit};
use serde_json::json;

#[test]
fn full_flow_over_tls() {
    let kit = TestKit::start_with(Options {
        tls: true,
        ..Default::default()
    });
    let ca = kit.ca_pem().expect("ca").to_string();
    assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(kit.idp_issuer().starts_with("https://127.0.0.1:"));
    assert!(kit.mcp_url().starts_with("https://127.0.0.1:"));

    // Without the CA: TLS failure.
    assert!(Http::new()
        .try_request("GET", kit.prm_url(), &[], None)
        .is_err());

    let http = Http::with_ca(&ca);
    let prm = http.get(kit.prm_url()).json();
    assert_eq!(prm["resource"], kit.mcp_url());
    assert_eq!(
        http.get(&kit.as_metadata_url()).json()["issuer"],
        kit.as_issuer()
    );
    let at = access_token(&kit, &http, Some("mcp:read"));
    for i in 0..3 {
        let r = http.mcp(
            kit.mcp_url(),
            Some(&at),
            None,
            &json!({"jsonrpc": "2.0", "id": i, "method": "ping"}),
        );
        assert_eq!(r.status, 200, "{}", r.body);
    }
    // A large response through the TLS pipe.
    kit.set_fault(
        Endpoint::IdpJwks,
        idjag_testkit::Fault::Oversized {
            bytes: 3 * 1024 * 1024,
        },
    );
    assert!(http.get(&kit.idp_jwks_uri()).body.len() >= 3 * 1024 * 1024);
    let c = kit.counters();
    assert_eq!(c.requests(Endpoint::Mcp), 3);
    assert_eq!(
        c.connections(Endpoint::Mcp),
        1,
        "keep-alive through the TLS front"
    );
    assert_eq!(kit.info_json()["ca_pem"], ca.as_str());
}
