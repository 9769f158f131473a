//! `docs/GUIDE.md` "The testkit as a `SessionConfig`": the JSON block in the guide, with each
//! `"<path>"` replaced by that member of a real `idjag-testkit serve --json` line, is a
//! `SessionConfig` that gets a token the kit's MCP server accepts — over HTTP and HTTPS.
#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const MARKER: &str = "<!-- guide:testkit-session-config";

/// The JSON block following the marker in docs/GUIDE.md.
fn guide_template() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/GUIDE.md");
    let guide = std::fs::read_to_string(path).unwrap();
    let after = &guide[guide.find(MARKER).expect("marker in GUIDE.md")..];
    let start = after.find("```json\n").expect("json block") + "```json\n".len();
    let len = after[start..].find("```").expect("end of block");
    serde_json::from_str(&after[start..start + len]).expect("the guide's block is JSON")
}

/// Replaces every `"<a.b>"` string by `line["a"]["b"]`; counts the replacements.
fn fill(template: &Value, line: &Value, count: &mut usize) -> Value {
    match template {
        Value::String(s) if s.starts_with('<') && s.ends_with('>') => {
            let pointer = format!("/{}", s[1..s.len() - 1].replace('.', "/"));
            *count += 1;
            line.pointer(&pointer)
                .unwrap_or_else(|| panic!("{s} is not in the serve --json line"))
                .clone()
        }
        Value::Array(a) => Value::Array(a.iter().map(|v| fill(v, line, count)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| (k.clone(), fill(v, line, count)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn run(flags: &[&str]) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_idjag-testkit"))
        .args(["serve", "--json"])
        .args(flags)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let info: Value = serde_json::from_str(&line).unwrap();

    let mut replaced = 0;
    let config_json = fill(&guide_template(), &info, &mut replaced);
    assert!(replaced >= 8, "the template maps {replaced} members");
    let config = idjag::SessionConfig::from_json(&config_json.to_string()).unwrap();
    let session = idjag::Session::new(config).unwrap();
    let mcp_url = info["mcp_url"].as_str().unwrap();
    let token = session.access_token(mcp_url).unwrap();
    assert_eq!(token.resource, mcp_url);
    assert_eq!(
        token.authorization_server,
        info["as_issuer"].as_str().unwrap()
    );
    assert_eq!(
        token.authorization_header(),
        format!("Bearer {}", token.bare_token())
    );

    // The kit's MCP server accepts it.
    let http = match info["ca_pem"].as_str() {
        Some(ca) => Http::with_ca(ca),
        None => Http::new(),
    };
    let init = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": idjag_testkit::PROTOCOL_VERSIONS[0], "capabilities": {},
                   "clientInfo": {"name": "guide-test", "version": "1"}}});
    let r = http.mcp(mcp_url, Some(token.bare_token()), None, &init);
    assert_eq!(r.status, 200, "{}", r.body);
    let sid = r.header("mcp-session-id").unwrap().to_string();
    let call = serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "whoami", "arguments": {}}});
    let r = http.mcp(mcp_url, Some(token.bare_token()), Some(&sid), &call);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.json()["result"]["structuredContent"]["sub"],
        info["user"],
        "{}",
        r.body
    );

    drop(child.stdin.take());
    let _ = child.wait();
}

#[test]
fn guide_snippet_maps_serve_json_to_a_session_config() {
    run(&[]);
}

#[test]
fn guide_snippet_works_with_tls() {
    run(&["--tls"]);
}
