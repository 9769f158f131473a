//! The README recipe "Test your own authorization server", step by step, against a second,
//! independent authorization server on loopback: a tiny_http token endpoint in this test that
//! verifies ID-JAGs with `idjag::IdJagVerifier` and knows nothing of the kit but the IdP's
//! issuer and JWKS URL — as a real AS under test would be configured.
#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The client the AS under test registered: the ID-JAG `client_id` the kit's IdP issues for
/// its confidential client (`clients.as.client_id`), with the AS's own secret.
const MY_CLIENT_SECRET: &str = "my-as-secret";
/// The MCP server the AS under test issues tokens for (it need not exist for this recipe).
const MY_MCP: &str = "https://mcp.example.test/mcp";

/// The AS under test: `POST /token` (jwt-bearer, `client_secret_basic`).
struct MyAs {
    issuer: String,
    server: Arc<tiny_http::Server>,
    /// The verifier's reason for the last rejection (the AS's log).
    last_reason: Arc<Mutex<Option<String>>>,
    thread: Option<JoinHandle<()>>,
}

impl MyAs {
    /// Binds first (the issuer must be known to start the kit with `--extra-audience`).
    fn bind() -> MyAs {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").unwrap());
        let port = server.server_addr().to_ip().unwrap().port();
        MyAs {
            issuer: format!("http://127.0.0.1:{port}"),
            server,
            last_reason: Arc::new(Mutex::new(None)),
            thread: None,
        }
    }

    /// Serves with a verifier that trusts `idp_issuer` and its JWKS at `jwks_uri`.
    fn serve(&mut self, idp_issuer: &str, jwks_uri: &str, client_id: &str) {
        let cfg = json!({
            "issuer": self.issuer,
            "resources": [MY_MCP],
            "trusted_idps": [{"issuer": idp_issuer, "jwks_uri": jwks_uri}],
            // Step 5 rotates the IdP key: allow a JWKS refetch for an unknown kid each second.
            "jwks_refetch_interval_s": 1,
        });
        let verifier = idjag::IdJagVerifier::from_config(
            idjag::VerifierConfig::from_json(&cfg.to_string()).unwrap(),
        )
        .unwrap();
        let server = Arc::clone(&self.server);
        let last = Arc::clone(&self.last_reason);
        let client_id = client_id.to_string();
        self.thread = Some(std::thread::spawn(move || {
            for mut req in server.incoming_requests() {
                let (status, body) = token(&verifier, &client_id, &mut req, &last);
                let resp = tiny_http::Response::from_string(body.to_string())
                    .with_status_code(status)
                    .with_header(
                        tiny_http::Header::from_bytes("Content-Type", "application/json").unwrap(),
                    )
                    .with_header(
                        tiny_http::Header::from_bytes("Cache-Control", "no-store").unwrap(),
                    );
                let _ = req.respond(resp);
            }
        }));
    }

    fn token_endpoint(&self) -> String {
        format!("{}/token", self.issuer)
    }

    fn last_reason(&self) -> Option<String> {
        self.last_reason.lock().unwrap().clone()
    }
}

impl Drop for MyAs {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The AS's token endpoint logic: client authentication, grant type, verification.
fn token(
    verifier: &idjag::IdJagVerifier,
    client_id: &str,
    req: &mut tiny_http::Request,
    last: &Mutex<Option<String>>,
) -> (u16, Value) {
    let expected = basic_header(client_id, MY_CLIENT_SECRET);
    let authenticated = req
        .headers()
        .iter()
        .any(|h| h.field.equiv("Authorization") && h.value.as_str() == expected);
    if !authenticated {
        return (401, json!({"error": "invalid_client"}));
    }
    let mut body = Vec::new();
    let _ = req.as_reader().take(64 * 1024).read_to_end(&mut body);
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&body).into_owned().collect();
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    if get("grant_type") != Some(JWT_BEARER) {
        return (400, json!({"error": "unsupported_grant_type"}));
    }
    let Some(assertion) = get("assertion") else {
        return (400, json!({"error": "invalid_request"}));
    };
    match verifier.verify(assertion, client_id, get("scope")) {
        Ok(grant) => {
            *last.lock().unwrap() = None;
            (
                200,
                json!({"access_token": format!("my-at-{}", grant.jti), "token_type": "Bearer",
                       "expires_in": 300, "sub": grant.sub}),
            )
        }
        Err(e) => {
            *last.lock().unwrap() = e.reason().map(str::to_string);
            let wire = idjag::verify::token_error_response(&e);
            (wire.status, serde_json::from_str(&wire.to_json()).unwrap())
        }
    }
}

/// `idjag-testkit serve --json ARGS…`; dropped → stdin closed → it exits.
struct Kit {
    child: Child,
    info: Value,
}

impl Kit {
    fn s(&self, pointer: &str) -> String {
        self.info
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{pointer}"))
            .to_string()
    }

    fn admin(&self, http: &Http, path: &str, body: Value) -> Value {
        let r = http.request(
            "POST",
            &format!("{}/{path}", self.s("/admin_url")),
            &[("Content-Type", "application/json")],
            Some(body.to_string().into_bytes()),
        );
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        r.json()
    }
}

impl Drop for Kit {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// Step 2 of the recipe: RFC 8693 at the kit's IdP for `audience` = your AS (curl's
/// `--data-urlencode` = `client_secret_post`, which works with any secret).
fn id_jag_for(kit: &Kit, http: &Http, audience: &str) -> Res {
    http.post_form(
        &kit.s("/idp_token_endpoint"),
        &[
            ("grant_type", TE),
            ("requested_token_type", ID_JAG),
            ("subject_token", &kit.s("/context/idp_id_token")),
            ("subject_token_type", ID_TOKEN),
            ("audience", audience),
            ("resource", MY_MCP),
            ("client_id", &kit.s("/context/idp_client_id")),
            ("client_secret", &kit.s("/context/idp_client_secret")),
        ],
        None,
    )
}

/// Step 3: present it to your AS.
fn present(my_as: &MyAs, http: &Http, client_id: &str, assertion: &str) -> Res {
    http.post_form(
        &my_as.token_endpoint(),
        &[("grant_type", JWT_BEARER), ("assertion", assertion)],
        Some((client_id, MY_CLIENT_SECRET)),
    )
}

#[test]
fn recipe_test_your_own_authorization_server() {
    let http = Http::new();
    let mut my_as = MyAs::bind();

    // 1. Start the kit: its IdP also issues ID-JAGs for your AS and your MCP server.
    let mut child = Command::new(env!("CARGO_BIN_EXE_idjag-testkit"))
        .args(["serve", "--json", "--extra-audience", &my_as.issuer])
        .args(["--extra-resource", MY_MCP])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let kit = Kit {
        child,
        info: serde_json::from_str(&line).unwrap(),
    };
    // Your AS trusts the kit's IdP (issuer + JWKS URL) and registers the ID-JAG client_id.
    let client_id = kit.s("/clients/as/client_id");
    my_as.serve(&kit.s("/idp_issuer"), &kit.s("/idp_jwks_uri"), &client_id);

    // 2. An ID-JAG for your AS.
    let r = id_jag_for(&kit, &http, &my_as.issuer);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["issued_token_type"], ID_JAG);
    let id_jag = r.json()["access_token"].as_str().unwrap().to_string();
    let claims = jwt_part(&id_jag, 1);
    assert_eq!(claims["aud"], json!(my_as.issuer));
    assert_eq!(claims["client_id"], json!(client_id));

    // 3. Your AS accepts it once.
    let r = present(&my_as, &http, &client_id, &id_jag);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["sub"], kit.info["user"]);
    assert_eq!(my_as.last_reason(), None);

    // 4. The negative cases.
    let r = present(&my_as, &http, &client_id, &id_jag);
    assert_eq!((r.status, r.error().as_str()), (400, "invalid_grant"));
    assert_eq!(my_as.last_reason().as_deref(), Some("replayed"));

    let now = kit.admin(&http, "id_jag", json!({}))["claims"]["iat"]
        .as_i64()
        .unwrap();
    let mine = json!({"aud": my_as.issuer, "resource": MY_MCP});
    let with = |patch: Value| {
        let mut claims = mine.clone();
        for (k, v) in patch.as_object().unwrap() {
            claims[k] = v.clone();
        }
        claims
    };
    let cases = [
        (
            json!({"claims": with(json!({"exp": now - 120, "iat": now - 180}))}),
            "expired",
        ),
        (
            json!({"claims": with(json!({"aud": kit.info["as_issuer"]}))}),
            "audience_mismatch",
        ),
        (
            json!({"claims": with(json!({"resource": "https://elsewhere.example.test/mcp"}))}),
            "resource_mismatch",
        ),
        (
            json!({"claims": with(json!({"jti": null}))}),
            "missing_claim",
        ),
        (
            json!({"claims": with(json!({"iss": "https://evil.example.test"}))}),
            "untrusted_issuer",
        ),
        (
            json!({"claims": mine, "header": {"typ": "JWT"}}),
            "invalid_typ",
        ),
        (
            json!({"claims": mine, "header": {"alg": "none"}}),
            "unsupported_alg",
        ),
        (
            json!({"claims": mine, "header": {"kid": "not-published"}}),
            "unknown_key",
        ),
    ];
    for (body, reason) in cases {
        let forged = kit.admin(&http, "id_jag", body.clone())["id_jag"]
            .as_str()
            .unwrap()
            .to_string();
        let r = present(&my_as, &http, &client_id, &forged);
        assert_eq!(
            (r.status, r.error().as_str()),
            (400, "invalid_grant"),
            "{body}"
        );
        assert_eq!(my_as.last_reason().as_deref(), Some(reason), "{body}");
    }

    // An ID-JAG issued to another client: client_map changes the IdP's `client_id` claim.
    kit.admin(
        &http,
        "client_map",
        json!({"idp_client_id": kit.s("/context/idp_client_id"), "as_client_id": "someone-else"}),
    );
    let r = id_jag_for(&kit, &http, &my_as.issuer);
    let other = r.json()["access_token"].as_str().unwrap().to_string();
    let r = present(&my_as, &http, &client_id, &other);
    assert_eq!(r.status, 400);
    assert_eq!(my_as.last_reason().as_deref(), Some("client_mismatch"));
    kit.admin(
        &http,
        "client_map",
        json!({"idp_client_id": kit.s("/context/idp_client_id"), "as_client_id": client_id}),
    );

    // 5. Key rotation: the IdP signs with a new key and drops the old one; your AS must
    // refetch the JWKS for the unknown kid (here within its 1 s refetch interval).
    let kid = kit.admin(
        &http,
        "rotate_keys",
        json!({"alg": "ES256", "drop_old": true}),
    )["kid"]
        .as_str()
        .unwrap()
        .to_string();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = id_jag_for(&kit, &http, &my_as.issuer);
        let fresh = r.json()["access_token"].as_str().unwrap().to_string();
        assert_eq!(jwt_part(&fresh, 0)["kid"], json!(kid));
        let r = present(&my_as, &http, &client_id, &fresh);
        if r.status == 200 {
            break;
        }
        assert_eq!(my_as.last_reason().as_deref(), Some("unknown_key"));
        assert!(
            Instant::now() < deadline,
            "the AS never picked up the rotated key"
        );
        std::thread::sleep(Duration::from_millis(300));
    }

    // Wrong client authentication at your AS is its own 401, before any verification.
    let r = http.post_form(
        &my_as.token_endpoint(),
        &[("grant_type", JWT_BEARER), ("assertion", &id_jag)],
        Some((&client_id, "wrong")),
    );
    assert_eq!((r.status, r.error().as_str()), (401, "invalid_client"));
}
