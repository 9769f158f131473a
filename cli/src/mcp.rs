//! A minimal MCP streamable-HTTP client (JSON-RPC over POST), enough for the demo to show
//! that the access token opens the MCP server: `initialize`, `notifications/initialized`,
//! `tools/list`.

use crate::output::Trace;
use idjag::{Error, ErrorKind, HttpEvent, Step};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

pub const PROTOCOL_VERSION: &str = "2025-11-25";

pub struct McpClient {
    agent: ureq::Agent,
    url: String,
    bearer: String,
    session_id: Option<String>,
    next_id: u64,
    trace: Trace,
}

fn err(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::ResponseInvalid, Step::Resource, msg)
}

impl McpClient {
    pub fn new(url: &str, bearer: String, trace: Trace) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .new_agent();
        McpClient {
            agent,
            url: url.to_string(),
            bearer,
            session_id: None,
            next_id: 1,
            trace,
        }
    }

    fn post(&mut self, body: &Value) -> Result<(u16, Option<Value>), Error> {
        let started = Instant::now();
        let mut req = self
            .agent
            .post(&self.url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", PROTOCOL_VERSION)
            .header("authorization", &format!("Bearer {}", self.bearer));
        if let Some(s) = &self.session_id {
            req = req.header("mcp-session-id", s);
        }
        let mut resp = req.send(body.to_string().as_bytes()).map_err(|e| {
            Error::new(
                ErrorKind::Transport,
                Step::Resource,
                format!("MCP request failed: {e}"),
            )
        })?;
        let status = resp.status().as_u16();
        if let Some(s) = resp
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
        {
            self.session_id = Some(s.to_string());
        }
        let ct = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let text = resp
            .body_mut()
            .with_config()
            .limit(1024 * 1024)
            .read_to_string()
            .unwrap_or_default();
        self.trace.push(HttpEvent {
            step: Step::Resource,
            method: idjag::http::Method::Post,
            url: self.url.clone(),
            status: Some(status),
            duration: started.elapsed(),
            bytes: text.len(),
            error: None,
            note: None,
        });
        if text.trim().is_empty() {
            return Ok((status, None));
        }
        let value = if ct.starts_with("text/event-stream") {
            text.lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
                .find(|v| v.get("id").is_some())
        } else {
            serde_json::from_str(&text).ok()
        };
        Ok((status, value))
    }

    pub fn request(&mut self, method: &str, params: Value) -> Result<Value, Error> {
        let id = self.next_id;
        self.next_id += 1;
        let (status, value) =
            self.post(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))?;
        if status != 200 {
            return Err(Error::new(
                ErrorKind::HttpStatus,
                Step::Resource,
                format!("MCP `{method}` answered HTTP {status}"),
            )
            .with_status(status));
        }
        let v =
            value.ok_or_else(|| err(format!("MCP `{method}` returned no JSON-RPC response")))?;
        if let Some(e) = v.get("error") {
            return Err(err(format!("MCP `{method}` failed: {e}")));
        }
        v.get("result")
            .cloned()
            .ok_or_else(|| err(format!("MCP `{method}` response has no result")))
    }

    pub fn notify(&mut self, method: &str) -> Result<(), Error> {
        self.post(&json!({"jsonrpc": "2.0", "method": method}))?;
        Ok(())
    }

    pub fn initialize(&mut self) -> Result<Value, Error> {
        let r = self.request(
            "initialize",
            json!({
                "protocolVersion": PROTOCOL_VERSION,
                "capabilities": {"extensions": {idjag::urn::MCP_EXTENSION: {}}},
                "clientInfo": {"name": "idjag", "version": env!("CARGO_PKG_VERSION")}
            }),
        )?;
        self.notify("notifications/initialized")?;
        Ok(r)
    }
}
