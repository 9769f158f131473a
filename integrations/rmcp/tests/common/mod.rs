//! Shared by the adapter's tests: the testkit as a session, and the interop-matrix record.
#![allow(dead_code)] // each test file uses a part

use idjag_testkit::TestKit;
use serde_json::{json, Value};

/// The interop-matrix record (`idjag_testkit::record_matrix`), after the assertions of an
/// interop test passed.
pub fn record(client: &str, server: &str, file: &str, test: &str) {
    idjag_testkit::record_matrix(client, server, &format!("{file}::{test}"));
}

/// The GUIDE's "testkit as a SessionConfig", with `extra` members merged in.
pub fn session_config(kit: &TestKit, extra: Value) -> Value {
    let (idp, cl) = (kit.idp_client(), kit.as_client());
    let mut config = json!({
        "idp": {"issuer": kit.idp_issuer(), "client_id": idp.client_id, "client_secret": idp.client_secret},
        "subject_token": kit.mint_id_token("alice"),
        "client": {"client_id": cl.client_id, "client_secret": cl.client_secret},
        "client_issuers": [kit.as_issuer()],
        "timeout_ms": 10000,
    });
    if let (Some(c), Value::Object(extra)) = (config.as_object_mut(), extra) {
        c.extend(extra);
    }
    config
}

pub fn session(kit: &TestKit, extra: Value) -> idjag::Session {
    idjag::Session::from_json(&session_config(kit, extra).to_string()).expect("session")
}

/// HTTP statuses the MCP server answered, oldest first (the kit's request log).
pub fn mcp_statuses(kit: &TestKit) -> Vec<u16> {
    kit.requests()
        .iter()
        .filter(|r| r.endpoint == Some(idjag_testkit::Endpoint::Mcp))
        .map(|r| r.status)
        .collect()
}

/// `whoami` on `mcp_url` through rmcp's streamable HTTP client with a static bearer token
/// (rmcp's `auth_header`, as a user of rmcp's enterprise client sends the token it got).
pub async fn whoami_with_bearer(mcp_url: &str, bearer: &str) -> Value {
    use rmcp::model::CallToolRequestParams;
    use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
    use rmcp::transport::StreamableHttpClientTransport;
    use rmcp::ServiceExt;
    let transport = StreamableHttpClientTransport::with_client(
        reqwest::Client::new(),
        StreamableHttpClientTransportConfig::with_uri(mcp_url).auth_header(bearer.to_string()),
    );
    let client = ().serve(transport).await.expect("rmcp connects with the token");
    let who = client
        .call_tool(CallToolRequestParams::new("whoami"))
        .await
        .expect("tools/call whoami")
        .structured_content
        .expect("structured content");
    client.cancel().await.expect("close");
    who
}
