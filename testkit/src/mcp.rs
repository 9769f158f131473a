//! The MCP server: protected-resource metadata (RFC 9728), bearer-token checks with
//! `WWW-Authenticate` challenges, and a minimal streamable-HTTP JSON-RPC endpoint with the
//! tools `whoami`, `echo` and `admin_reset` (needs `mcp:admin`).

use crate::faults::Endpoint;
use crate::httpd::{lock, Req, Resp};
use crate::state::{AccessTokenRecord, Shared};
use serde_json::{json, Value};

/// Protocol versions accepted (the first is the server's own).
pub const PROTOCOL_VERSIONS: [&str; 3] = ["2025-11-25", "2025-06-18", "2025-03-26"];

/// The scope `admin_reset` requires.
pub const ADMIN_SCOPE: &str = "mcp:admin";

/// One MCP server of the kit: its URL and its protected-resource metadata URL.
pub(crate) struct Target {
    pub(crate) mcp_url: String,
    pub(crate) prm_url: String,
}

/// The MCP server a request path belongs to (`/mcp`, an extra MCP path, or one of their PRM
/// documents; the root PRM describes `/mcp`).
pub(crate) fn target(shared: &Shared, path: &str) -> Target {
    let origin = &shared.urls.mcp_origin;
    let prm_prefix = "/.well-known/oauth-protected-resource";
    let mcp_path = path.strip_prefix(prm_prefix).unwrap_or(path);
    if shared.opts.extra_mcp_paths.iter().any(|p| p == mcp_path) {
        return Target {
            mcp_url: format!("{origin}{mcp_path}"),
            prm_url: format!("{origin}{prm_prefix}{mcp_path}"),
        };
    }
    Target {
        mcp_url: shared.urls.mcp_url.clone(),
        prm_url: shared.urls.prm_url.clone(),
    }
}

pub(crate) fn prm(shared: &Shared, t: &Target) -> Value {
    let mut doc = json!({
        "resource": t.mcp_url,
        "authorization_servers": [shared
            .opts
            .mcp_authorization_server
            .as_deref()
            .unwrap_or(&shared.urls.as_issuer)],
        "bearer_methods_supported": ["header"],
        "resource_name": "idjag-testkit MCP server",
    });
    // A server without scopes (`--mcp-scopes ""`) leaves the member out (RFC 9728 §2).
    if !shared.opts.scopes_supported.is_empty() {
        doc["scopes_supported"] = json!(shared.opts.scopes_supported);
    }
    doc
}

pub(crate) fn classify(shared: &Shared, path: &str) -> Option<Endpoint> {
    match path {
        "/.well-known/oauth-protected-resource/mcp" | "/.well-known/oauth-protected-resource" => {
            Some(Endpoint::Prm)
        }
        "/mcp" => Some(Endpoint::Mcp),
        _ => {
            let extra = |p: &str| shared.opts.extra_mcp_paths.iter().any(|x| x == p);
            if extra(path) {
                Some(Endpoint::Mcp)
            } else if path
                .strip_prefix("/.well-known/oauth-protected-resource")
                .is_some_and(extra)
            {
                Some(Endpoint::Prm)
            } else {
                None
            }
        }
    }
}

fn quote(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// `Bearer [error=…, error_description=…,] resource_metadata=…, scope=…`.
pub(crate) fn challenge(t: &Target, error: Option<(&str, &str)>, scope: &[String]) -> String {
    let mut parts = Vec::new();
    if let Some((e, d)) = error {
        parts.push(format!("error=\"{}\"", quote(e)));
        parts.push(format!("error_description=\"{}\"", quote(d)));
    }
    parts.push(format!("resource_metadata=\"{}\"", quote(&t.prm_url)));
    if !scope.is_empty() {
        parts.push(format!("scope=\"{}\"", quote(&scope.join(" "))));
    }
    format!("Bearer {}", parts.join(", "))
}

fn unauthorized(shared: &Shared, t: &Target, error: Option<(&str, &str)>, detail: &str) -> Resp {
    let mut r = Resp::json(
        401,
        &json!({
            "error": error.map(|e| e.0).unwrap_or("unauthorized"),
            "error_description": error.map(|e| e.1).unwrap_or("authorization required"),
        }),
    )
    .header(
        "WWW-Authenticate",
        &challenge(t, error, &shared.opts.challenge_scopes),
    )
    .detail(detail);
    r.error = error.map(|e| e.0.to_string());
    r
}

fn authorize(shared: &Shared, req: &Req) -> Result<AccessTokenRecord, Resp> {
    let t = target(shared, &req.path);
    let token = req.header("authorization").and_then(|h| {
        let (scheme, rest) = h.trim().split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| rest.trim().to_string())
    });
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Err(unauthorized(shared, &t, None, "no bearer token"));
    };
    let invalid = |d: &str| {
        unauthorized(
            shared,
            &t,
            Some(("invalid_token", "the access token is invalid or expired")),
            d,
        )
    };
    let rec = lock(&shared.access_tokens).get(&token).cloned();
    let Some(rec) = rec else {
        // The PRM names another AS: its JWT access tokens are accepted (checked against its
        // JWKS), besides the kit AS's own.
        if let Some(issuer) = &shared.opts.mcp_authorization_server {
            return crate::external_as::verify(shared, issuer, &token, &t.mcp_url)
                .map_err(|why| invalid(&format!("token of {issuer}: {why}")));
        }
        return Err(invalid("unknown token"));
    };
    if rec.exp <= shared.now() {
        return Err(invalid("expired token"));
    }
    if rec.resource != t.mcp_url {
        return Err(invalid("token issued for another resource"));
    }
    Ok(rec)
}

fn rpc_error(status: u16, id: Value, code: i64, message: &str) -> Resp {
    Resp::json(
        status,
        &json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}),
    )
}

fn rpc_result(id: Value, result: Value) -> Resp {
    Resp::json(200, &json!({"jsonrpc": "2.0", "id": id, "result": result}))
}

fn text_result(text: String) -> Value {
    json!({"content": [{"type": "text", "text": text}], "isError": false})
}

fn tools() -> Value {
    json!([
        {
            "name": "whoami",
            "title": "Who am I",
            "description": "Returns the authenticated user (sub), client id and granted scopes.",
            "inputSchema": {"type": "object", "properties": {}},
        },
        {
            "name": "echo",
            "title": "Echo",
            "description": "Returns the given message.",
            "inputSchema": {
                "type": "object",
                "properties": {"message": {"type": "string"}},
                "required": ["message"],
            },
        },
        {
            "name": "admin_reset",
            "title": "Admin reset",
            "description": "Does nothing, but requires the mcp:admin scope (exercises step-up).",
            "inputSchema": {"type": "object", "properties": {}},
        },
    ])
}

pub(crate) fn route(shared: &Shared, ep: Endpoint, req: &Req) -> Resp {
    if ep == Endpoint::Prm {
        if req.method != "GET" && req.method != "HEAD" {
            return Resp::new(405).header("Allow", "GET");
        }
        return Resp::json(200, &prm(shared, &target(shared, &req.path)))
            .cache_control(shared.opts.metadata_cache_control.as_deref());
    }
    match req.method.as_str() {
        "POST" => {}
        "DELETE" => {
            let rec = match authorize(shared, req) {
                Ok(r) => r,
                Err(e) => return e,
            };
            let _ = rec;
            let Some(sid) = req.header("mcp-session-id") else {
                return Resp::new(400).detail("DELETE without session id");
            };
            return if lock(&shared.sessions).remove(sid) {
                Resp::new(200)
            } else {
                Resp::new(404).detail("unknown session")
            };
        }
        _ => {
            return Resp::new(405)
                .header("Allow", "POST, DELETE")
                .detail("no SSE stream");
        }
    }
    let rec = match authorize(shared, req) {
        Ok(r) => r,
        Err(e) => return e,
    };
    if let Some(v) = req.header("mcp-protocol-version") {
        if !PROTOCOL_VERSIONS.contains(&v.trim()) {
            return rpc_error(400, Value::Null, -32600, "unsupported MCP-Protocol-Version");
        }
    }
    let msg: Value = match serde_json::from_slice(&req.body) {
        Ok(v) => v,
        Err(_) => return rpc_error(400, Value::Null, -32700, "Parse error"),
    };
    let Value::Object(obj) = msg else {
        return rpc_error(
            400,
            Value::Null,
            -32600,
            "Invalid Request (batches are not supported)",
        );
    };
    let Some(method) = obj.get("method").and_then(Value::as_str) else {
        // A response from the client (to a server request we never send): accept.
        return Resp::new(202);
    };
    let Some(id) = obj.get("id").cloned() else {
        return Resp::new(202); // notification
    };
    if !(id.is_string() || id.is_i64() || id.is_u64()) {
        return rpc_error(400, Value::Null, -32600, "Invalid Request (bad id)");
    }
    let params = obj.get("params").cloned().unwrap_or(Value::Null);

    if method != "initialize" {
        if let Some(sid) = req.header("mcp-session-id") {
            if !lock(&shared.sessions).contains(sid) {
                return rpc_error(404, id, -32001, "Session not found");
            }
        }
    }
    match method {
        "initialize" => {
            let asked = params
                .get("protocolVersion")
                .and_then(Value::as_str)
                .unwrap_or("");
            let version = if PROTOCOL_VERSIONS.contains(&asked) {
                asked
            } else {
                PROTOCOL_VERSIONS[0]
            };
            let sid = uuid::Uuid::new_v4().to_string();
            lock(&shared.sessions).insert(sid.clone());
            rpc_result(
                id,
                json!({
                    "protocolVersion": version,
                    "capabilities": {"tools": {}},
                    "serverInfo": {"name": "idjag-testkit", "version": env!("CARGO_PKG_VERSION")},
                }),
            )
            .header("Mcp-Session-Id", &sid)
        }
        "ping" => rpc_result(id, json!({})),
        "tools/list" => rpc_result(id, json!({"tools": tools()})),
        "tools/call" => {
            let name = params.get("name").and_then(Value::as_str).unwrap_or("");
            let args = params.get("arguments").cloned().unwrap_or(json!({}));
            match name {
                "whoami" => {
                    let who = json!({
                        "sub": rec.user,
                        "client_id": rec.client_id,
                        "scope": rec.scopes.join(" "),
                    });
                    let mut r = text_result(who.to_string());
                    if let Some(o) = r.as_object_mut() {
                        o.insert("structuredContent".into(), who);
                    }
                    rpc_result(id, r)
                }
                "echo" => match args.get("message").and_then(Value::as_str) {
                    Some(m) => rpc_result(id, text_result(m.to_string())),
                    None => rpc_error(200, id, -32602, "echo needs a string 'message'"),
                },
                "admin_reset" => {
                    if !rec.scopes.iter().any(|s| s == ADMIN_SCOPE) {
                        let mut needed = rec.scopes.clone();
                        needed.push(ADMIN_SCOPE.to_string());
                        let mut r = Resp::json(
                            403,
                            &json!({"error": "insufficient_scope", "error_description": "mcp:admin is required"}),
                        )
                        .header(
                            "WWW-Authenticate",
                            &challenge(
                                &target(shared, &req.path),
                                Some(("insufficient_scope", "mcp:admin is required")),
                                &needed,
                            ),
                        )
                        .detail("insufficient scope");
                        r.error = Some("insufficient_scope".into());
                        return r;
                    }
                    rpc_result(id, text_result("reset done".into()))
                }
                _ => rpc_error(200, id, -32602, &format!("Unknown tool: {name}")),
            }
        }
        _ => rpc_error(200, id, -32601, "Method not found"),
    }
}
