//! Test driver for the example authorization servers (`examples/as-*/test.sh`): the Rust
//! crate's `Session` gets a token for a protected resource and calls it, like
//! `examples/clients/idjag_session.py` and `.mjs` do from Python and Node.
//!
//! ```sh
//! cargo run -q -p idjag --example session_token -- MCP_URL < session-config.json
//! ```
//!
//! Prints one JSON line: `{"status": <HTTP status of the authenticated GET>, "body": <its
//! JSON, or null>, "scope": <granted scope>, "authorization_server": <issuer>}`, never the
//! token. On failure: the error document (code, step, action, message; no secret) on stderr
//! and exit status 1.

use idjag::http::{HttpClient, HttpRequest, Method, UreqHttpClient};
use idjag::{Session, SessionConfig};
use serde_json::{json, Value};
use std::io::Read;
use std::process::ExitCode;

fn run(url: &str) -> Result<Value, idjag::Error> {
    let mut config = String::new();
    std::io::stdin().read_to_string(&mut config).map_err(|e| {
        idjag::Error::configuration(format!("reading the configuration from stdin: {e}"))
    })?;
    let config = SessionConfig::from_json(&config)?;
    let http = UreqHttpClient::new(&config.http_config())?;
    let session = Session::new(config)?;
    let token = session.access_token(url)?;
    // The token goes only into this request's header, never into the output.
    let answer = http.execute(&HttpRequest {
        method: Method::Get,
        url: url.to_string(),
        headers: vec![
            ("authorization".into(), token.authorization_header()),
            ("accept".into(), "application/json".into()),
        ],
        body: Vec::new(),
        max_response_bytes: 1 << 20,
        address_policy: idjag::http::AddressPolicy::Any,
        timeout: None,
    })?;
    let body = if answer.status == 200 {
        serde_json::from_slice::<Value>(&answer.body).unwrap_or(Value::Null)
    } else {
        Value::Null
    };
    Ok(json!({
        "status": answer.status,
        "body": body,
        "scope": token.scope,
        "authorization_server": token.authorization_server,
    }))
}

fn main() -> ExitCode {
    let Some(url) = std::env::args().nth(1) else {
        eprintln!("usage: session_token MCP_URL < session-config.json");
        return ExitCode::from(2);
    };
    match run(&url) {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{}", e.to_json());
            ExitCode::FAILURE
        }
    }
}
