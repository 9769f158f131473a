//! Workload identity federation (MCP SEP-1933; conformance `auth/wif-jwt-bearer`): an agent
//! without a user presents a workload JWT directly to the authorization server with the
//! jwt-bearer grant (RFC 7523 §2.1) — no IdP, no leg 1 — and never retries or switches grant
//! type after a failure. Over loopback against the testkit AS (`as_workload_identity`).

use idjag::{ErrorKind, Session, SessionConfig, Step};
use idjag_testkit::{Endpoint, Options, TestKit};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

fn kit() -> TestKit {
    TestKit::start_with(Options {
        as_workload_identity: true,
        ..Default::default()
    })
}

fn config(workload: Value) -> SessionConfig {
    SessionConfig::from_json(
        &json!({
            "workload": workload,
            "client": {"client_id": "wif-agent", "auth_method": "none"},
        })
        .to_string(),
    )
    .expect("config")
}

fn token_requests(kit: &TestKit) -> (u64, u64) {
    let c = kit.counters();
    (
        c.requests(Endpoint::IdpToken),
        c.requests(Endpoint::AsToken),
    )
}

/// Status of an MCP `tools/list` call with `token`.
fn mcp_status(kit: &TestKit, token: &idjag::Token) -> u16 {
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
        .send(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

#[test]
fn workload_jwt_value_gets_a_token_without_an_idp() {
    let kit = kit();
    let s = Session::new(config(
        json!({"assertion": kit.mint_workload_jwt("agent-1", 300)}),
    ))
    .expect("session");
    let t = s.access_token(kit.mcp_url()).expect("token");
    assert_eq!(mcp_status(&kit, &t), 200);
    assert_eq!(
        token_requests(&kit),
        (0, 1),
        "no leg 1, one jwt-bearer request"
    );
    assert!(t.id_jag_claims.is_none());
    // Cached like any token; leg 1 alone is not available.
    assert_eq!(
        s.access_token(kit.mcp_url()).expect("hot").bare_token(),
        t.bare_token()
    );
    let e = s
        .request_id_jag(kit.as_issuer(), kit.mcp_url(), None)
        .expect_err("no IdP");
    assert_eq!(e.kind(), ErrorKind::Configuration);
}

#[test]
fn workload_jwt_file_is_reread_when_it_rotates() {
    let kit = kit();
    let dir = std::env::temp_dir().join(format!("idjag-wif-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("token");
    std::fs::write(
        &path,
        format!("{}\n", kit.mint_workload_jwt("agent-a", 300)),
    )
    .expect("write");
    let s =
        Session::new(config(json!({"assertion_file": path.to_string_lossy()}))).expect("session");
    let first = s.access_token(kit.mcp_url()).expect("first");
    assert_eq!(mcp_status(&kit, &first), 200);
    // The platform rotates the file; an expired one would be refused, the new one works.
    std::fs::write(&path, kit.mint_workload_jwt("agent-a", 300)).expect("rotate");
    s.invalidate(kit.mcp_url());
    let second = s.access_token(kit.mcp_url()).expect("after rotation");
    assert_ne!(first.bare_token(), second.bare_token());
    assert_eq!(mcp_status(&kit, &second), 200);
    // A missing file: a configuration error naming the key, never the path's content.
    std::fs::remove_file(&path).expect("rm");
    s.invalidate(kit.mcp_url());
    let e = s.access_token(kit.mcp_url()).expect_err("no file");
    assert_eq!(e.kind(), ErrorKind::Configuration);
    assert!(e.message().contains("workload.assertion_file"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn workload_jwt_from_a_callback() {
    let kit = kit();
    let calls = Arc::new(AtomicUsize::new(0));
    let jwt = kit.mint_workload_jwt("agent-cb", 300);
    let c2 = calls.clone();
    let s = Session::builder(
        SessionConfig::from_json(
            &json!({"client": {"client_id": "wif-agent", "auth_method": "none"}, "workload": {}})
                .to_string(),
        )
        .expect("config"),
    )
    .workload_assertion(Arc::new(move || {
        c2.fetch_add(1, Ordering::SeqCst);
        Ok(idjag::SecretString::new(jwt.clone()))
    }))
    .build()
    .expect("session");
    let t = s.access_token(kit.mcp_url()).expect("token");
    assert_eq!(mcp_status(&kit, &t), 200);
    s.access_token(kit.mcp_url()).expect("cached");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "called once per token request"
    );
}

/// conformance `auth/wif-jwt-bearer`: a refused jwt-bearer request surfaces at once — no
/// retry, no other grant type, no IdP.
#[test]
fn a_refused_workload_jwt_is_never_retried() {
    let kit = kit();
    for (jwt, reason) in [
        (kit.mint_workload_jwt("agent-x", -60), "expired"),
        ("eyJhbGciOiJFUzI1NiJ9.e30.c2ln".to_string(), "malformed"),
    ] {
        kit.reset_counters();
        let s = Session::new(config(json!({ "assertion": jwt }))).expect("session");
        let e = s.access_token(kit.mcp_url()).expect_err(reason);
        assert_eq!(e.kind(), ErrorKind::OauthError, "{reason}: {e}");
        assert_eq!(e.step(), Step::AsGrant);
        assert_eq!(
            token_requests(&kit),
            (0, 1),
            "{reason}: exactly one request"
        );
        assert!(
            !e.to_string().contains("c2ln"),
            "the assertion is never echoed"
        );
    }
}

#[test]
fn workload_configuration_is_checked() {
    for (bad, needle) in [
        (
            json!({"workload": {"assertion": "x"}, "idp": {"issuer": "https://idp.example.com", "client_id": "a"}}),
            "workload",
        ),
        (
            json!({"workload": {"assertion": "x", "assertion_file": "/tmp/t"}}),
            "exactly one",
        ),
        (json!({"workload": {"assertion": ""}}), "exactly one"),
        (json!({"workload": {"file": "/tmp/t"}}), "unknown field"),
        (json!({"client": {"client_id": "c"}}), "missing field `idp`"),
    ] {
        let e = SessionConfig::from_json(&bad.to_string()).expect_err(needle);
        assert_eq!(e.kind(), ErrorKind::Configuration, "{bad}");
        assert!(e.to_string().contains(needle), "{bad}: {e}");
    }
    let e = Session::new(config(json!({}))).expect_err("no source");
    assert!(e.message().contains("workload.assertion"), "{e}");
}
