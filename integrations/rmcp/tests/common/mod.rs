//! Shared by the adapter's tests: the testkit as a session, and the interop-matrix record.
#![allow(dead_code)] // each test file uses a part

use std::io::Write;

use idjag_testkit::TestKit;
use serde_json::{json, Value};

/// `IDJAG_MATRIX` convention (BRIEF): after the assertions of an interop test passed, one
/// JSON line `{"client", "server", "test"}` appended with a single O_APPEND write.
pub fn record(client: &str, server: &str, file: &str, test: &str) {
    let Ok(path) = std::env::var("IDJAG_MATRIX") else {
        return;
    };
    if path.is_empty() {
        return;
    }
    let line = format!(
        "{}\n",
        json!({"client": client, "server": server, "test": format!("{file}::{test}")})
    );
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .expect("open IDJAG_MATRIX");
    f.write_all(line.as_bytes())
        .expect("append to IDJAG_MATRIX");
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
