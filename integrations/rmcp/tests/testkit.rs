//! The adapter against the testkit over loopback: rmcp's streamable HTTP client, with
//! `IdjagHttpClient` supplying the token, lists and calls tools on the kit's MCP server; the
//! token is renewed after expiry, a 401 and a 403 `insufficient_scope` are answered with one
//! exchange and one retry, and failures come back as typed idjag errors.

mod common;

use std::time::Duration;

use idjag_testkit::{Endpoint, Fault, Options, TestKit};
use rmcp::model::CallToolRequestParams;
use rmcp::service::RunningService;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{json, Value};

const FILE: &str = "integrations/rmcp/tests/testkit.rs";

async fn connect(session: idjag::Session, url: &str) -> RunningService<RoleClient, ()> {
    ().serve(idjag_rmcp::transport(session, url))
        .await
        .expect("rmcp client connects with idjag's token")
}

async fn whoami(client: &RunningService<RoleClient, ()>) -> Value {
    let result = client
        .call_tool(CallToolRequestParams::new("whoami"))
        .await
        .expect("tools/call whoami");
    result
        .structured_content
        .expect("whoami returns structured content")
}

fn exchanges(kit: &TestKit) -> (u64, u64) {
    let c = kit.counters();
    (
        c.requests(Endpoint::IdpToken),
        c.requests(Endpoint::AsToken),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_and_calls_tools_with_idjag_token() {
    let kit = TestKit::start();
    let session = common::session(&kit, json!({}));
    let client = connect(session.clone(), kit.mcp_url()).await;

    let tools = client
        .list_tools(Default::default())
        .await
        .expect("tools/list");
    let names: Vec<&str> = tools.tools.iter().map(|t| t.name.as_ref()).collect();
    assert!(
        names.contains(&"whoami") && names.contains(&"echo"),
        "{names:?}"
    );
    let who = whoami(&client).await;
    assert_eq!(who["sub"], "alice");
    assert_eq!(who["client_id"], kit.as_client().client_id);
    let echo = client
        .call_tool(
            CallToolRequestParams::new("echo").with_arguments(
                json!({"message": "hi"})
                    .as_object()
                    .cloned()
                    .expect("object"),
            ),
        )
        .await
        .expect("tools/call echo");
    assert_eq!(
        serde_json::to_value(&echo.content).expect("content")[0]["text"],
        "hi"
    );
    client.cancel().await.expect("close");

    // One exchange in all (leg 1 + leg 2). The only 401 is the session's discovery probe
    // (unauthenticated, first); every request rmcp sent was authorized.
    assert_eq!(exchanges(&kit), (1, 1));
    let statuses = common::mcp_statuses(&kit);
    assert_eq!(statuses.first(), Some(&401), "{statuses:?}");
    assert!(
        statuses[1..].iter().all(|s| *s != 401 && *s != 403),
        "{statuses:?}"
    );
    assert!(session.cached_token(kit.mcp_url()).is_some());
    common::record(
        "rust",
        "testkit",
        FILE,
        "lists_and_calls_tools_with_idjag_token",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renews_the_token_after_expiry() {
    // Tokens live 4 s; the session renews at half the lifetime (2 s).
    let kit = TestKit::start_with(Options {
        as_token_ttl_secs: 4,
        ..Default::default()
    });
    let session = common::session(&kit, json!({}));
    let client = connect(session.clone(), kit.mcp_url()).await;
    assert_eq!(whoami(&client).await["sub"], "alice");
    let first = session.cached_token(kit.mcp_url()).expect("cached token");
    assert_eq!(exchanges(&kit), (1, 1));

    tokio::time::sleep(Duration::from_millis(2300)).await;
    assert!(
        session.cached_token(kit.mcp_url()).is_none(),
        "renewal is due"
    );
    assert_eq!(whoami(&client).await["sub"], "alice");
    let second = session.cached_token(kit.mcp_url()).expect("renewed token");
    assert_ne!(first.bare_token(), second.bare_token(), "a new token");
    assert!(second.expires_at > first.expires_at);
    // Exactly one renewal (a fresh ID-JAG and its redemption), before the server refused
    // anything: no 401 on the way.
    assert_eq!(exchanges(&kit), (2, 2));
    let statuses = common::mcp_statuses(&kit);
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        1,
        "only the discovery probe: {statuses:?}"
    );
    client.cancel().await.expect("close");
    common::record("rust", "testkit", FILE, "renews_the_token_after_expiry");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_a_401_challenge_with_one_exchange_and_one_retry() {
    let kit = TestKit::start();
    let session = common::session(&kit, json!({}));
    let client = connect(session.clone(), kit.mcp_url()).await;
    assert_eq!(whoami(&client).await["sub"], "alice");
    let before = session.cached_token(kit.mcp_url()).expect("cached token");
    let mcp_401s = |kit: &TestKit| {
        common::mcp_statuses(kit)
            .iter()
            .filter(|s| **s == 401)
            .count()
    };
    let probes = mcp_401s(&kit); // discovery's unauthenticated probe

    assert!(kit.revoke_access_tokens() >= 1);
    // The cached token is still "valid" for the session: the server's 401 is what tells it.
    assert_eq!(whoami(&client).await["sub"], "alice");
    let after = session.cached_token(kit.mcp_url()).expect("new token");
    assert_ne!(before.bare_token(), after.bare_token());
    assert_eq!(mcp_401s(&kit), probes + 1, "one 401, then the retry passed");
    assert_eq!(exchanges(&kit), (2, 2), "one re-exchange");
    client.cancel().await.expect("close");
    common::record(
        "rust",
        "testkit",
        FILE,
        "answers_a_401_challenge_with_one_exchange_and_one_retry",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steps_up_on_403_insufficient_scope() {
    let kit = TestKit::start();
    let session = common::session(&kit, json!({"scope": "mcp:read"}));
    let client = connect(session.clone(), kit.mcp_url()).await;
    assert_eq!(whoami(&client).await["scope"], "mcp:read");

    let reset = client
        .call_tool(CallToolRequestParams::new("admin_reset"))
        .await
        .expect("admin_reset after the step-up");
    assert_eq!(
        serde_json::to_value(&reset.content).expect("content")[0]["text"],
        "reset done"
    );
    let scope = whoami(&client).await["scope"]
        .as_str()
        .expect("scope")
        .to_owned();
    assert!(
        scope.split(' ').any(|s| s == idjag_testkit::ADMIN_SCOPE),
        "{scope}"
    );
    assert_eq!(
        common::mcp_statuses(&kit)
            .iter()
            .filter(|s| **s == 403)
            .count(),
        1
    );
    assert_eq!(exchanges(&kit), (2, 2), "one step-up exchange");
    client.cancel().await.expect("close");
    common::record(
        "rust",
        "testkit",
        FILE,
        "steps_up_on_403_insufficient_scope",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idjag_failures_are_typed_errors_without_secrets() {
    let kit = TestKit::start();
    kit.set_fault(
        Endpoint::IdpToken,
        Fault::status(
            400,
            r#"{"error": "invalid_grant", "error_description": "the ID token was revoked"}"#,
        ),
    );
    let config = common::session_config(&kit, json!({}));
    let session = idjag::Session::from_json(&config.to_string()).expect("session");
    let err =
        ().serve(idjag_rmcp::transport(session, kit.mcp_url()))
            .await
            .expect_err("no token: initialize fails");
    let found = idjag_rmcp::idjag_error(&err).expect("the idjag error in rmcp's error");
    assert_eq!(found.step(), idjag::Step::IdpExchange);
    assert_eq!(
        found.oauth_error().map(|o| o.error.as_str()),
        Some("invalid_grant")
    );
    for text in [err.to_string(), format!("{err:?}"), found.to_string()] {
        for secret in [
            config["subject_token"].as_str().expect("token"),
            config["idp"]["client_secret"].as_str().expect("secret"),
            config["client"]["client_secret"].as_str().expect("secret"),
        ] {
            assert!(!text.contains(secret), "a secret in an error message");
        }
    }
    assert_eq!(kit.counters().requests(Endpoint::AsToken), 0);
    common::record(
        "rust",
        "testkit",
        FILE,
        "idjag_failures_are_typed_errors_without_secrets",
    );
}
