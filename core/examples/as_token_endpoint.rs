//! A minimal authorization-server token endpoint protecting its RFC 7523 jwt-bearer grant
//! with one [`IdJagVerifier`].
//!
//! ```sh
//! # Self-contained demo: makes an IdP key, serves on loopback, presents an ID-JAG twice
//! # (accepted, then rejected as replayed), asks for a scope with an ID-JAG that states none
//! # (rejected: invalid_scope) and exits.
//! cargo run -p idjag --example as_token_endpoint -- --self-test
//!
//! # Serve a real configuration (see `VerifierConfig`) for at most 100 requests:
//! cargo run -p idjag --example as_token_endpoint -- \
//!     --config verifier.json --client my-client:my-secret --port 8080 --max-requests 100
//! ```
//!
//! The endpoint authenticates the client with `client_secret_basic`, checks the grant type and
//! the single `assertion`, verifies the ID-JAG with the request's `scope`, and answers RFC 6749
//! JSON with `Cache-Control: no-store`. The access token's scope is exactly
//! `VerifiedGrant::scope` — never the requested scope as such: an ID-JAG without a `scope`
//! claim grants none (unless the configuration has a `default_scope`). Rejections are generic
//! on the wire (`invalid_scope` when the requested scope cannot be granted,
//! `insufficient_user_authentication` with `acr_values` / `max_age` when the configuration's
//! `user_authentication` policy is not met, `invalid_grant` otherwise, all from
//! `token_error_response`); the reason code goes to the log (stderr). It serves on 127.0.0.1
//! only and stops after `--max-requests` requests.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use idjag::verify::{token_error_response, IdJagVerifier, VerifierConfig};
use idjag::{SecretString, VerifiedGrant};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::process::ExitCode;

/// Largest request body read.
const MAX_BODY: u64 = 64 * 1024;

type Clients = HashMap<String, SecretString>;

struct Reply {
    status: u16,
    body: String,
    www_authenticate: bool,
}

fn json_error(status: u16, error: &str, description: &str) -> Reply {
    Reply {
        status,
        body: serde_json::json!({"error": error, "error_description": description}).to_string(),
        www_authenticate: false,
    }
}

/// RFC 6749 §2.3.1: `client_id` and `client_secret` are form-urlencoded, then joined by `:`
/// and base64-encoded.
fn basic_credentials(header: &str) -> Option<(String, String)> {
    let (scheme, value) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(value.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| -> Option<String> {
        url::form_urlencoded::parse(format!("v={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((unescape(id)?, unescape(secret)?))
}

fn grant_reply(grant: &VerifiedGrant) -> Reply {
    // A real AS mints a signed, audience-restricted access token here; the demo hands out an
    // opaque random one and reports what it would be bound to.
    let mut body = serde_json::json!({
        "access_token": uuid::Uuid::new_v4().simple().to_string(),
        "token_type": "Bearer",
        "expires_in": 300,
        "resource": grant.primary_resource(),
    });
    // The granted scope, never more than the ID-JAG (or the configured default) states. RFC
    // 6749 §5.1 requires it when it differs from the request; sending it always is simpler.
    if let Some(scope) = &grant.scope {
        body["scope"] = scope.as_str().into();
    }
    Reply {
        status: 200,
        body: body.to_string(),
        www_authenticate: false,
    }
}

fn handle(verifier: &IdJagVerifier, clients: &Clients, req: &mut tiny_http::Request) -> Reply {
    if req.url().split('?').next() != Some("/token") {
        return json_error(404, "invalid_request", "not found");
    }
    if *req.method() != tiny_http::Method::Post {
        return json_error(405, "invalid_request", "use POST");
    }
    // 1. Client authentication (client_secret_basic).
    let auth = req
        .headers()
        .iter()
        .find(|h| h.field.equiv("Authorization"))
        .map(|h| h.value.as_str().to_string());
    let authenticated = auth
        .as_deref()
        .and_then(basic_credentials)
        .and_then(|(id, secret)| match clients.get(&id) {
            Some(expected) if expected.ct_eq(&secret) => Some(id),
            _ => None,
        });
    let Some(client_id) = authenticated else {
        let mut r = json_error(401, "invalid_client", "client authentication failed");
        r.www_authenticate = true;
        return r;
    };
    // 2. Form body, bounded.
    let mut body = Vec::new();
    if req
        .as_reader()
        .take(MAX_BODY + 1)
        .read_to_end(&mut body)
        .is_err()
        || body.len() as u64 > MAX_BODY
    {
        return json_error(400, "invalid_request", "unreadable or oversized body");
    }
    let params: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let one = |name: &str| -> Result<Option<&str>, ()> {
        let mut it = params.iter().filter(|(k, _)| k == name);
        match (it.next(), it.next()) {
            (v, None) => Ok(v.map(|(_, v)| v.as_str())),
            _ => Err(()),
        }
    };
    // 3. Grant type and the single assertion.
    match one("grant_type") {
        Ok(Some(idjag::urn::GRANT_JWT_BEARER)) => {}
        Ok(Some(_)) => {
            return json_error(
                400,
                "unsupported_grant_type",
                "only the jwt-bearer grant is supported",
            )
        }
        _ => return json_error(400, "invalid_request", "exactly one grant_type is required"),
    }
    let Ok(Some(assertion)) = one("assertion") else {
        return json_error(400, "invalid_request", "exactly one assertion is required");
    };
    let Ok(scope) = one("scope") else {
        return json_error(400, "invalid_request", "at most one scope parameter");
    };
    // 4. The ID-JAG.
    match verifier.verify(assertion, &client_id, scope) {
        Ok(grant) => {
            // Under the weaker replay policy `until_exp`, re-presentations are accepted:
            // `first_use` tells them apart (log or alert on them).
            eprintln!(
                "token: granted iss={} sub={} client_id={} jti={} scope={} (from {}) first_use={}",
                grant.iss,
                grant.sub,
                grant.client_id,
                grant.jti,
                grant.scope.as_ref().map_or("-", |s| s.as_str()),
                grant.scope_source,
                grant.first_use
            );
            grant_reply(&grant)
        }
        Err(e) => {
            // Detailed reason in the log, generic answer on the wire (400 invalid_scope for
            // `scope_not_granted`, 400 insufficient_user_authentication with the requirement
            // for `acr_not_accepted` / `auth_time_too_old`, 400 invalid_grant for other
            // rejections, 503 when the keys or the replay store are unavailable).
            eprintln!(
                "token: refused client_id={client_id} reason={} ({e})",
                e.reason().unwrap_or(e.code())
            );
            let wire = token_error_response(&e);
            Reply {
                status: wire.status,
                body: wire.to_json(),
                www_authenticate: false,
            }
        }
    }
}

/// Serves until `max_requests` requests were answered.
fn serve(
    server: tiny_http::Server,
    verifier: IdJagVerifier,
    clients: Clients,
    max_requests: usize,
) {
    for _ in 0..max_requests {
        let Ok(mut req) = server.recv() else { break };
        let reply = handle(&verifier, &clients, &mut req);
        let header =
            |k: &str, v: &str| tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()).ok();
        let mut resp = tiny_http::Response::from_string(reply.body).with_status_code(reply.status);
        for h in [
            header("Content-Type", "application/json"),
            header("Cache-Control", "no-store"),
        ]
        .into_iter()
        .flatten()
        {
            resp = resp.with_header(h);
        }
        if reply.www_authenticate {
            if let Some(h) = header("WWW-Authenticate", "Basic realm=\"token\"") {
                resp = resp.with_header(h);
            }
        }
        let _ = req.respond(resp);
    }
}

fn arg_value(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn run_config(args: &[String]) -> Result<(), String> {
    let path = arg_value(args, "--config").ok_or("--config FILE is required")?;
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    let config = VerifierConfig::from_json(&text).map_err(|e| e.to_string())?;
    let verifier = IdJagVerifier::from_config(config).map_err(|e| e.to_string())?;
    let mut clients = Clients::new();
    for (i, a) in args.iter().enumerate() {
        if a == "--client" {
            let spec = args.get(i + 1).ok_or("--client ID:SECRET")?;
            let (id, secret) = spec.split_once(':').ok_or("--client ID:SECRET")?;
            clients.insert(id.to_string(), SecretString::new(secret));
        }
    }
    if clients.is_empty() {
        return Err("at least one --client ID:SECRET is required".into());
    }
    let port: u16 = arg_value(args, "--port")
        .map_or(Ok(0), |p| p.parse())
        .map_err(|_| "--port N")?;
    let max: usize = arg_value(args, "--max-requests")
        .map_or(Ok(100), |p| p.parse())
        .map_err(|_| "--max-requests N")?;
    if let Err(e) = verifier.prefetch_keys() {
        eprintln!("warning: could not prefetch IdP keys: {e}");
    }
    let server = tiny_http::Server::http(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    let addr = server.server_addr().to_ip().ok_or("no address")?;
    println!("listening on http://{addr}/token (at most {max} requests)");
    serve(server, verifier, clients, max);
    Ok(())
}

/// Sends a raw HTTP/1.1 POST and returns (status, body).
fn post(addr: std::net::SocketAddr, auth: &str, form: &str) -> Result<(u16, String), String> {
    let mut s = std::net::TcpStream::connect(addr).map_err(|e| e.to_string())?;
    let req = format!(
        "POST /token HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {auth}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{form}",
        form.len()
    );
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut out = String::new();
    s.read_to_string(&mut out).map_err(|e| e.to_string())?;
    let status = out
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or("bad response")?;
    let body = out.split("\r\n\r\n").nth(1).unwrap_or_default().to_string();
    Ok((status, body))
}

fn self_test() -> Result<(), String> {
    use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
    const AS: &str = "https://as.example.com";
    const IDP: &str = "https://idp.example.com";
    const RESOURCE: &str = "https://mcp.example.com/mcp";
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&aws_lc_rs::rand::SystemRandom::new())
        .map_err(|_| "keygen failed")?;
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|_| "bad key")?;
    let jwk = serde_json::json!({"kty": "OKP", "crv": "Ed25519", "kid": "demo",
        "x": URL_SAFE_NO_PAD.encode(pair.public_key().as_ref())});
    let config = serde_json::json!({
        "issuer": AS,
        "resources": [RESOURCE],
        "trusted_idps": [{"issuer": IDP, "jwks": {"keys": [jwk]}}]
    });
    let verifier = IdJagVerifier::from_config(
        VerifierConfig::from_json(&config.to_string()).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;

    // What the IdP would issue (SPEC §2.E).
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|e| e.to_string())?
        .as_secs();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
    header.typ = Some(idjag::urn::JWT_TYP_ID_JAG.into());
    header.kid = Some("demo".into());
    let mint = |scope: Option<&str>| {
        let mut claims = serde_json::json!({
            "iss": IDP, "sub": "alice", "aud": AS, "client_id": "demo-client",
            "jti": uuid::Uuid::new_v4().to_string(), "iat": now, "exp": now + 300,
            "resource": RESOURCE
        });
        if let Some(s) = scope {
            claims["scope"] = s.into();
        }
        jsonwebtoken::encode(
            &header,
            &claims,
            &jsonwebtoken::EncodingKey::from_ed_der(pkcs8.as_ref()),
        )
        .map_err(|e| e.to_string())
    };
    let id_jag = mint(Some("tools:read tools:call"))?;
    let scopeless = mint(None)?;

    let server = tiny_http::Server::http("127.0.0.1:0").map_err(|e| e.to_string())?;
    let addr = server.server_addr().to_ip().ok_or("no address")?;
    let mut clients = Clients::new();
    clients.insert("demo-client".into(), SecretString::new("demo-secret"));
    let thread = std::thread::spawn(move || serve(server, verifier, clients, 4));

    let auth = format!("Basic {}", STANDARD.encode("demo-client:demo-secret"));
    let grant_type = url::form_urlencoded::byte_serialize(idjag::urn::GRANT_JWT_BEARER.as_bytes())
        .collect::<String>();
    let form = format!("grant_type={grant_type}&assertion={id_jag}&scope=tools%3Aread");
    let first = post(addr, &auth, &form)?;
    println!("first presentation:  {} {}", first.0, first.1);
    let second = post(addr, &auth, &form)?;
    println!("second presentation: {} {}", second.0, second.1);
    let bad_client = post(
        addr,
        &format!("Basic {}", STANDARD.encode("demo-client:wrong")),
        &form,
    )?;
    println!("wrong client secret: {} {}", bad_client.0, bad_client.1);
    let no_statement = post(
        addr,
        &auth,
        &format!("grant_type={grant_type}&assertion={scopeless}&scope=tools%3Aadmin"),
    )?;
    println!(
        "scope asked, none stated: {} {}",
        no_statement.0, no_statement.1
    );
    thread.join().map_err(|_| "server thread panicked")?;
    let granted: serde_json::Value = serde_json::from_str(&first.1).map_err(|e| e.to_string())?;
    if first.0 == 200
        && granted["scope"] == "tools:read"
        && second.0 == 400
        && bad_client.0 == 401
        && no_statement.0 == 400
        && no_statement.1.contains("\"invalid_scope\"")
    {
        println!("self-test passed");
        Ok(())
    } else {
        Err("self-test failed".into())
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = if args.iter().any(|a| a == "--self-test") {
        self_test()
    } else if args.is_empty() || args.iter().any(|a| a == "--help" || a == "-h") {
        println!("usage: as_token_endpoint --self-test | --config FILE --client ID:SECRET [--client ...] [--port N] [--max-requests N]");
        Ok(())
    } else {
        run_config(&args)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
