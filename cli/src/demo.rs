//! `idjag demo`: the whole flow against the embedded IdP, AS and MCP server, as a real
//! client would run it: probe → 401 → discovery → exchange → redemption → MCP `initialize`
//! and `tools/list` with the token; then a second `access_token` served from the cache.

use crate::mcp::McpClient;
use crate::output::{
    human_time, ms, now_secs, print_json, say, step_json, step_line, Failure, Trace,
};
use idjag::{Error, ErrorKind, Session, SessionConfig, Step};
use idjag_testkit::TestKit;
use serde_json::{json, Value};
use std::time::Instant;

pub fn run(json_out: bool, verbose: bool) -> Result<(), Failure> {
    let kit = TestKit::try_start_with(idjag_testkit::Options::default()).map_err(|e| {
        Error::new(
            ErrorKind::Transport,
            Step::Transport,
            format!("could not start the embedded servers: {e}"),
        )
    })?;
    let idp = kit.idp_client();
    let client = kit.as_client();
    let config = json!({
        "idp": {"issuer": kit.idp_issuer(), "client_id": idp.client_id, "client_secret": idp.client_secret},
        "subject_token": kit.mint_id_token("alice"),
        "client": {"client_id": client.client_id, "client_secret": client.client_secret},
        "client_issuers": [kit.as_issuer()],
    });
    let trace = Trace::new(verbose && !json_out);
    let session = Session::builder(SessionConfig::from_json(&config.to_string())?)
        .on_event(trace.hook())
        .build()?;

    if !json_out {
        say!("idjag demo — MCP Enterprise-Managed Authorization (ID-JAG) on loopback");
        say!("  IdP          {}", kit.idp_issuer());
        say!("  AS           {}", kit.as_issuer());
        say!("  MCP server   {}", kit.mcp_url());
        say!("  user         alice (signed in at the IdP: the client holds her ID token)");
        say!("");
    }

    let started = Instant::now();
    let token = session
        .access_token(kit.mcp_url())
        .map_err(|e| trace.failure(e, kit.mcp_url()))?;
    let token_ms = ms(started.elapsed());
    let flow_steps = trace.len();

    let mut mcp = McpClient::new(
        kit.mcp_url(),
        token.access_token.expose_secret().to_string(),
        trace.clone(),
    );
    let fail = |e: Error| Failure::from(e).with_url(Some(kit.mcp_url().to_string()));
    let init = mcp.initialize().map_err(fail)?;
    let tools = mcp.request("tools/list", json!({})).map_err(fail)?;
    let whoami = mcp
        .request("tools/call", json!({"name": "whoami", "arguments": {}}))
        .map_err(fail)?;
    let tool_names: Vec<Value> = tools["tools"]
        .as_array()
        .map(|a| a.iter().map(|t| t["name"].clone()).collect())
        .unwrap_or_default();

    let before_cached = trace.len();
    let started = Instant::now();
    let again = session
        .access_token(kit.mcp_url())
        .map_err(|e| trace.failure(e, kit.mcp_url()))?;
    let cached_us = started.elapsed().as_secs_f64() * 1e6;
    let cached_requests = trace.len() - before_cached;
    let same = again.access_token.expose_secret() == token.access_token.expose_secret();
    let claims = token.id_jag_claims.as_deref().cloned().unwrap_or_default();
    let steps = trace.snapshot();

    if json_out {
        print_json(&json!({
                "ok": true,
                "servers": {"idp": kit.idp_issuer(), "as": kit.as_issuer(), "mcp": kit.mcp_url()},
                "steps": steps.iter().map(step_json).collect::<Vec<_>>(),
                "id_jag_claims": claims,
                "access_token": {"token_type": token.token_type, "expires_at": token.expires_at,
                                 "scope": token.scope, "resource": token.resource},
                "server_info": init.get("serverInfo"),
                "tools": tool_names,
                "whoami": whoami.get("content"),
                "cached": {"requests": cached_requests, "same_token": same, "micros": cached_us},
                "token_ms": token_ms,
        }));
        return Ok(());
    }

    say!(
        "1. access_token({}) — {} HTTP exchanges in {token_ms} ms:",
        kit.mcp_url(),
        flow_steps
    );
    for (i, e) in steps.iter().take(flow_steps).enumerate() {
        say!("   {:>2}. {}", i + 1, step_line(e));
    }
    say!("");
    say!("2. the ID-JAG the IdP issued (decoded; the token itself is never printed):");
    let now = now_secs();
    for (k, v) in &claims {
        match (k.as_str(), v.as_i64()) {
            ("exp" | "iat" | "nbf", Some(t)) => say!("   {k:<10} {}", human_time(t, now)),
            _ => say!("   {k:<10} {v}"),
        }
    }
    say!("");
    say!(
        "3. access token: {} for {}, scope `{}`, expires {}",
        token.token_type,
        token.resource,
        token.scope.as_deref().unwrap_or("-"),
        human_time(token.expires_at, now)
    );
    say!("");
    say!("4. MCP with the token:");
    for (i, e) in steps.iter().skip(flow_steps).enumerate() {
        say!("   {:>2}. {}", i + 1, step_line(e));
    }
    say!(
        "   server: {}",
        init["serverInfo"]["name"].as_str().unwrap_or("?")
    );
    say!(
        "   tools:  {}",
        tool_names
            .iter()
            .filter_map(|v| v.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    if let Some(text) = whoami["content"][0]["text"].as_str() {
        say!("   whoami: {text}");
    }
    say!("");
    say!(
        "5. access_token again: served from the cache, {cached_requests} requests, {:.1} µs{}",
        cached_us,
        if same { ", same token" } else { "" }
    );
    say!("");
    say!("ok");
    Ok(())
}
