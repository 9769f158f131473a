//! An MCP client built on rmcp (the official Rust MCP SDK: its streamable HTTP client) with
//! idjag supplying the token through `idjag-rmcp`, for the MCP conformance suite's client
//! scenarios (`tests/conformance/run.sh rust`):
//!
//! - enterprise-managed authorization (SEP-990: `auth/cross-app-access-complete-flow`,
//!   `auth/enterprise-managed-authorization`): the context has `client_id`, `client_secret`,
//!   `idp_client_id`, `idp_client_secret`?, `idp_id_token`, `idp_issuer`, `idp_token_endpoint`;
//! - workload identity federation (SEP-1933: `auth/wif-jwt-bearer`): the context has
//!   `client_id` and `valid_jwt` (plus `wrong_audience_jwt` and `expired_jwt`, which the
//!   suite's AS records as failures: they are never sent).
//!
//! The suite runs `conformance_client <server_url>` with `MCP_CONFORMANCE_SCENARIO` and
//! `MCP_CONFORMANCE_CONTEXT` (JSON) in the environment. The client connects, lists the tools
//! and exits 0; an idjag error is reported (code, step, action, message: never a secret) with
//! exit 1, any other failure with exit 1 too. `idjag-testkit serve --json` prints a context
//! of the enterprise-managed shape, so it also runs against the testkit.

use std::process::ExitCode;

use rmcp::ServiceExt;
use serde_json::{json, Value};

/// The idjag `SessionConfig` JSON for a conformance context (the same choice as
/// `tests/conformance/python_client.py` and `node_client.mjs`).
fn session_config(ctx: &Value) -> Value {
    let s = |k: &str| ctx.get(k).and_then(Value::as_str).unwrap_or_default();
    if ctx.get("valid_jwt").is_some() {
        // A workload identity: the JWT straight to the AS, a public client there.
        return json!({
            "workload": {"assertion": s("valid_jwt")},
            "client": {"client_id": s("client_id"), "auth_method": "none"},
            "timeout_ms": 10000,
        });
    }
    let mut idp = json!({
        "issuer": s("idp_issuer"),
        "token_endpoint": s("idp_token_endpoint"),
        "client_id": s("idp_client_id"),
    });
    if s("idp_client_secret").is_empty() {
        idp["auth_method"] = json!("none"); // a public client at the IdP
    } else {
        idp["client_secret"] = json!(s("idp_client_secret"));
    }
    json!({
        "idp": idp,
        "subject_token": s("idp_id_token"),
        "subject_token_type": "id_token",
        "client": {
            "client_id": s("client_id"),
            "client_secret": s("client_secret"),
            "auth_method": "client_secret_basic",
        },
        // The suite's AS is whatever its MCP server names: the permissive value, explicitly.
        "client_issuers": "any",
        "timeout_ms": 10000,
    })
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

async fn run(server_url: &str, ctx: &Value) -> Result<Vec<String>, BoxError> {
    let session = idjag::Session::from_json(&session_config(ctx).to_string())?;
    let client = ().serve(idjag_rmcp::transport(session, server_url)).await?;
    let tools = client.list_tools(Default::default()).await;
    client.cancel().await?;
    Ok(tools?
        .tools
        .into_iter()
        .map(|t| t.name.to_string())
        .collect())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 2 {
        eprintln!("usage: conformance_client <server_url>");
        return ExitCode::from(2);
    }
    let server_url = &args[args.len() - 1];
    let ctx: Value = match std::env::var("MCP_CONFORMANCE_CONTEXT") {
        Ok(text) if !text.is_empty() => match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("MCP_CONFORMANCE_CONTEXT is not JSON: {e}");
                return ExitCode::from(2);
            }
        },
        _ => json!({}),
    };
    let scenario = std::env::var("MCP_CONFORMANCE_SCENARIO").unwrap_or_default();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(server_url, &ctx)) {
        Ok(names) => {
            let what = if scenario.is_empty() {
                "connected"
            } else {
                &scenario
            };
            println!("{what}: {} tool(s): {}", names.len(), names.join(", "));
            ExitCode::SUCCESS
        }
        Err(e) => {
            match idjag_rmcp::idjag_error(e.as_ref()) {
                // idjag messages never contain tokens or secrets.
                Some(err) => eprintln!(
                    "idjag error [{}/{}/{}]: {err}",
                    err.code(),
                    err.step(),
                    err.action()
                ),
                None => eprintln!("error: {e}"),
            }
            ExitCode::FAILURE
        }
    }
}
