//! An MCP client on a `Session`: it gets an access token for an MCP server, opens an MCP
//! session with it, calls a tool (or lists the tools), and answers 401/403 challenges with
//! `Session::handle_challenge` and one retry — keeping its MCP session across renewals.
//!
//! Against the testkit, from a clone (two terminals):
//!
//! ```sh
//! # 1. IdP, authorization server and MCP server on loopback; 6 s access tokens, so the
//! #    renewal shows up in a few calls. Serves until you press Ctrl-D.
//! cargo run -q -p idjag-testkit -- serve --json --as-token-ttl 6 > kit.json
//!
//! # 2. The client: the serve --json line as its configuration (as docs/GUIDE.md maps it),
//! #    five calls of the `whoami` tool one second apart.
//! cargo run -q -p idjag --example client -- --testkit kit.json --tool whoami --calls 5
//! ```
//!
//! With your own configuration (the `SessionConfig` JSON) and MCP server:
//!
//! ```sh
//! cargo run -q -p idjag --example client -- --config session.json \
//!     --server https://mcp.example.com/mcp [--tool NAME] [--calls N] [--interval-ms MS]
//! ```
//!
//! stdout: one line per call (whether the token was new or cached, its expiry, scope and
//! authorization server — never the token) and the tool's answer. stderr: every HTTP exchange
//! of the session (step, method, URL, status, time) and its notices. The MCP requests go
//! through the same HTTP stack and policy as the session (`ca_bundle_pem`, proxy, timeouts).
//! Exit status 0, or 1 with the error (its code, step and action; no secret).

use idjag::http::{HttpClient, HttpRequest, HttpResponse, Method, UreqHttpClient};
use idjag::{Error, Session, SessionConfig, Token};
use serde_json::{json, Value};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

const USAGE: &str = "usage: client (--testkit KIT.json | --config SESSION.json --server URL) \
[--tool NAME] [--calls N] [--interval-ms MS]";

/// MCP protocol version this client asks for.
const PROTOCOL_VERSION: &str = "2025-06-18";

struct Args {
    config: SessionConfig,
    server: String,
    tool: Option<String>,
    calls: u32,
    interval: Duration,
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn read(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))
}

/// The `idjag-testkit serve --json` line as a `SessionConfig` (docs/GUIDE.md, "The testkit as
/// a `SessionConfig`") and the kit's MCP server URL.
fn testkit_config(line: &str) -> Result<(SessionConfig, String), String> {
    let kit: Value = serde_json::from_str(line.lines().next().unwrap_or_default())
        .map_err(|_| "the testkit file does not start with a `serve --json` line")?;
    let get = |path: &str| kit.pointer(path).cloned().unwrap_or(Value::Null);
    let config = json!({
        "idp": {
            "issuer": get("/idp_issuer"),
            "client_id": get("/context/idp_client_id"),
            "client_secret": get("/context/idp_client_secret"),
        },
        "subject_token": get("/context/idp_id_token"),
        "client": {
            "client_id": get("/context/client_id"),
            "client_secret": get("/context/client_secret"),
        },
        "client_issuers": [get("/as_issuer")],
        "ca_bundle_pem": get("/ca_pem"),
    });
    let server = get("/mcp_url")
        .as_str()
        .ok_or("the serve --json line has no mcp_url")?
        .to_string();
    let config = SessionConfig::from_json(&config.to_string()).map_err(|e| e.to_string())?;
    Ok((config, server))
}

fn parse(args: &[String]) -> Result<Args, String> {
    let (config, server) = match (arg(args, "--testkit"), arg(args, "--config")) {
        (Some(kit), None) => testkit_config(&read(&kit)?)?,
        (None, Some(path)) => {
            let config = SessionConfig::from_json(&read(&path)?).map_err(|e| e.to_string())?;
            (
                config,
                arg(args, "--server").ok_or("--server URL is required")?,
            )
        }
        _ => return Err(USAGE.into()),
    };
    let number = |name: &str, default: u64| -> Result<u64, String> {
        arg(args, name).map_or(Ok(default), |v| {
            v.parse().map_err(|_| format!("{name} needs a number"))
        })
    };
    Ok(Args {
        config,
        server,
        tool: arg(args, "--tool"),
        calls: number("--calls", 1)?.clamp(1, 1000) as u32,
        interval: Duration::from_millis(number("--interval-ms", 1000)?),
    })
}

/// One MCP server, reached with tokens from the session.
struct Mcp {
    session: Session,
    http: UreqHttpClient,
    server: String,
    mcp_session_id: Option<String>,
    next_id: u64,
}

impl Mcp {
    fn request(&self, token: &Token, message: &Value) -> Result<HttpResponse, Error> {
        let mut headers = vec![
            ("authorization".to_string(), token.authorization_header()),
            ("content-type".to_string(), "application/json".to_string()),
            (
                "accept".to_string(),
                "application/json, text/event-stream".to_string(),
            ),
            (
                "mcp-protocol-version".to_string(),
                PROTOCOL_VERSION.to_string(),
            ),
        ];
        if let Some(sid) = &self.mcp_session_id {
            headers.push(("mcp-session-id".to_string(), sid.clone()));
        }
        self.http.execute(&HttpRequest {
            method: Method::Post,
            url: self.server.clone(),
            headers,
            body: message.to_string().into_bytes(),
            max_response_bytes: 1 << 20,
            address_policy: idjag::http::AddressPolicy::Any,
            timeout: None,
        })
    }

    /// Sends one JSON-RPC message with the current token; on a 401/403 asks the session for
    /// the token to retry with (a fresh one, or one with the challenged scope) and retries
    /// once. Returns the response and the token that was used.
    fn send(&mut self, method: &str, params: Value) -> Result<(HttpResponse, Token), String> {
        let id = self.next_id;
        self.next_id += 1;
        let message = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let fail = |e: Error| {
            format!(
                "{} ({}, step {}, action {})",
                e,
                e.code(),
                e.step(),
                e.action()
            )
        };
        let token = self.session.access_token(&self.server).map_err(fail)?;
        let resp = self.request(&token, &message).map_err(fail)?;
        if resp.status != 401 && resp.status != 403 {
            return Ok((resp, token));
        }
        let challenge = resp
            .header("www-authenticate")
            .unwrap_or_default()
            .to_string();
        eprintln!("  mcp      {method} → {}: asking the session", resp.status);
        let retry = self
            .session
            .handle_challenge(
                &self.server,
                resp.status,
                &challenge,
                Some(token.bare_token()),
            )
            .map_err(fail)?;
        let resp = self.request(&retry, &message).map_err(fail)?;
        Ok((resp, retry))
    }

    /// The JSON-RPC `result` of a response (JSON, or the first SSE `data:` event).
    fn result(resp: &HttpResponse) -> Result<Value, String> {
        if !(200..300).contains(&resp.status) {
            return Err(format!("the MCP server answered {}", resp.status));
        }
        let text = String::from_utf8_lossy(&resp.body);
        let json = match resp.header("content-type") {
            Some(ct) if ct.starts_with("text/event-stream") => text
                .lines()
                .find_map(|l| l.strip_prefix("data:"))
                .unwrap_or_default()
                .trim()
                .to_string(),
            _ => text.into_owned(),
        };
        let v: Value = serde_json::from_str(&json).map_err(|_| "the MCP answer is not JSON-RPC")?;
        match (v.get("result"), v.get("error")) {
            (Some(r), _) => Ok(r.clone()),
            (None, Some(e)) => Err(format!("JSON-RPC error: {e}")),
            _ => Err("the MCP answer has no result".into()),
        }
    }

    fn initialize(&mut self) -> Result<(), String> {
        let (resp, _) = self.send(
            "initialize",
            json!({"protocolVersion": PROTOCOL_VERSION, "capabilities": {},
                   "clientInfo": {"name": "idjag-example-client", "version": "1"}}),
        )?;
        let result = Self::result(&resp)?;
        self.mcp_session_id = resp.header("mcp-session-id").map(str::to_string);
        println!(
            "connected to {} ({}), MCP session {}",
            result["serverInfo"]["name"]
                .as_str()
                .unwrap_or("an MCP server"),
            result["protocolVersion"].as_str().unwrap_or("?"),
            if self.mcp_session_id.is_some() {
                "open"
            } else {
                "none (stateless)"
            },
        );
        Ok(())
    }
}

fn run(args: Args) -> Result<(), String> {
    let http = UreqHttpClient::new(&args.config.http_config()).map_err(|e| e.to_string())?;
    let session = Session::builder(args.config)
        .on_event(Arc::new(|e: &idjag::HttpEvent| {
            eprintln!(
                "  http     {:<13} {} {} → {} ({} ms)",
                e.step.to_string(),
                e.method.as_str(),
                e.url,
                e.status.map_or_else(
                    || e.error.unwrap_or("no answer").to_string(),
                    |s| s.to_string()
                ),
                e.duration.as_millis()
            )
        }))
        .on_notice(Arc::new(|n: &idjag::Notice| {
            eprintln!("  notice   {}", n.message)
        }))
        .build()
        .map_err(|e| e.to_string())?;
    let mut mcp = Mcp {
        session,
        http,
        server: args.server,
        mcp_session_id: None,
        next_id: 1,
    };
    mcp.initialize()?;
    let mut previous: Option<Token> = None;
    for call in 1..=args.calls {
        if call > 1 {
            std::thread::sleep(args.interval);
        }
        let (resp, token) = match &args.tool {
            Some(name) => mcp.send("tools/call", json!({"name": name, "arguments": {}}))?,
            None => mcp.send("tools/list", json!({}))?,
        };
        let fresh = previous
            .as_ref()
            .is_none_or(|p| !p.matches(token.bare_token()));
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        println!(
            "call {call}: {} token, expires in {} s, scope {:?}, from {}",
            if fresh { "new" } else { "cached" },
            token.expires_at - now,
            token.scope.as_deref().unwrap_or("-"),
            token.authorization_server,
        );
        let result = Mcp::result(&resp)?;
        match &args.tool {
            Some(_) => {
                let answer = result
                    .get("structuredContent")
                    .cloned()
                    .or_else(|| result["content"][0]["text"].as_str().map(Value::from))
                    .unwrap_or(result.clone());
                println!("  {answer}");
            }
            None => {
                let names: Vec<&str> = result["tools"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|t| t["name"].as_str())
                    .collect();
                println!("  tools: {}", names.join(", "));
            }
        }
        previous = Some(token);
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() || args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    match parse(&args).and_then(run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
