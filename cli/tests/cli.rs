//! Runs the `idjag` binary: `demo --json` shape, `token` against the `idjag-testkit serve`
//! process, `discover`, `inspect`, and the stable exit codes of errors.

use base64::Engine as _;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

fn idjag() -> Command {
    Command::new(env!("CARGO_BIN_EXE_idjag"))
}

fn testkit_bin() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_BIN_EXE_idjag"))
        .parent()
        .expect("dir")
        .to_path_buf();
    let bin = dir.join("idjag-testkit");
    if !bin.exists() {
        let status = Command::new(env!("CARGO"))
            .args([
                "build",
                "-q",
                "-p",
                "idjag-testkit",
                "--bin",
                "idjag-testkit",
            ])
            .status()
            .expect("cargo build");
        assert!(status.success());
    }
    bin
}

/// `idjag-testkit serve --json` as a child; dropped → stdin closed → it exits.
struct Served {
    child: Child,
    info: Value,
}

impl Drop for Served {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

fn serve() -> Served {
    let mut child = Command::new(testkit_bin())
        .args(["serve", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn testkit");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("line");
    let info: Value = serde_json::from_str(&line).expect("one JSON line");
    Served { child, info }
}

fn config_for(info: &Value, dir: &tempdir::Dir, client_secret: Option<&str>) -> PathBuf {
    let ctx = &info["context"];
    let cfg = json!({
        "idp": {"issuer": ctx["idp_issuer"], "client_id": ctx["idp_client_id"], "client_secret": ctx["idp_client_secret"]},
        "subject_token": ctx["idp_id_token"],
        "client": {"client_id": ctx["client_id"], "client_secret": client_secret.map(Value::from).unwrap_or(ctx["client_secret"].clone())},
    });
    dir.write("session.json", &cfg.to_string())
}

mod tempdir {
    use std::path::PathBuf;
    pub struct Dir(pub PathBuf);
    impl Dir {
        pub fn new(tag: &str) -> Dir {
            let p = std::env::temp_dir().join(format!("idjag-cli-{tag}-{}", std::process::id()));
            std::fs::create_dir_all(&p).expect("mkdir");
            Dir(p)
        }
        pub fn write(&self, name: &str, text: &str) -> PathBuf {
            let p = self.0.join(name);
            std::fs::write(&p, text).expect("write");
            p
        }
    }
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn mcp_status(url: &str, token: &str) -> u16 {
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    agent
        .post(url)
        .header("authorization", &format!("Bearer {token}"))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .send(br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#.as_slice())
        .expect("mcp")
        .status()
        .as_u16()
}

#[test]
fn demo_json_has_the_documented_shape() {
    let out = idjag().args(["demo", "--json"]).output().expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["ok"], json!(true));
    let steps = v["steps"].as_array().expect("steps");
    for s in steps {
        for k in ["step", "method", "url", "status", "ms"] {
            assert!(s.get(k).is_some(), "step lacks {k}: {s}");
        }
    }
    let names: Vec<&str> = steps.iter().filter_map(|s| s["step"].as_str()).collect();
    for want in ["resource", "discovery", "idp_exchange", "as_grant"] {
        assert!(names.contains(&want), "{names:?}");
    }
    assert!(steps[0]["status"].as_u64().is_some());
    assert!(
        steps
            .iter()
            .any(|s| s["step"] == "resource" && s["status"] == 401),
        "probe → 401"
    );
    let claims = &v["id_jag_claims"];
    for c in ["iss", "sub", "aud", "client_id", "jti", "exp", "iat"] {
        assert!(claims.get(c).is_some(), "claim {c}");
    }
    assert!(v["tools"]
        .as_array()
        .expect("tools")
        .contains(&json!("whoami")));
    assert_eq!(v["cached"]["requests"], json!(0));
    assert_eq!(v["cached"]["same_token"], json!(true));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.contains("access_token\":\"ey"),
        "no token in the output"
    );
}

#[test]
fn demo_human_output() {
    let out = idjag().arg("demo").output().expect("run");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("served from the cache, 0 requests"), "{text}");
    assert!(text.contains("whoami"), "{text}");
}

#[test]
fn token_against_the_serve_process() {
    let served = serve();
    let dir = tempdir::Dir::new("token");
    let cfg = config_for(&served.info, &dir, None);
    let mcp = served.info["mcp_url"].as_str().expect("mcp_url");
    let out = idjag()
        .args(["token", "--server", mcp, "--config"])
        .arg(&cfg)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).expect("utf8");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "the token alone on stdout");
    assert_eq!(
        mcp_status(mcp, lines[0]),
        200,
        "the token opens the MCP server"
    );

    let out = idjag()
        .args(["token", "--json", "--verbose", "--server", mcp, "--config"])
        .arg(&cfg)
        .output()
        .expect("run");
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["token_type"], json!("Bearer"));
    assert!(v["expires_in"].as_i64().expect("expires_in") > 0);
    assert!(v["steps"].as_array().expect("steps").len() >= 5);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("idp_exchange"),
        "verbose trace on stderr: {stderr}"
    );
    assert!(!stderr.contains(v["access_token"].as_str().expect("t")));

    // Wrong client secret: one line naming the step and the OAuth error, exit 15, no secret.
    let bad = config_for(&served.info, &dir, Some("planted-wrong-secret"));
    let out = idjag()
        .args(["token", "--server", mcp, "--config"])
        .arg(&bad)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(15));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("as_grant") && stderr.contains("invalid_client"),
        "{stderr}"
    );
    assert!(!stderr.contains("planted-wrong-secret"));
    assert!(out.stdout.is_empty());
}

#[test]
fn discover_reports_the_chain_and_a_verdict() {
    let served = serve();
    let mcp = served.info["mcp_url"].as_str().expect("mcp_url");
    let idp = served.info["idp_issuer"].as_str().expect("idp");
    let out = idjag()
        .args(["discover", mcp, "--json", "--idp", idp])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["supported"], json!(true));
    assert_eq!(v["resource_metadata"]["resource"], json!(mcp));
    assert_eq!(v["authorization_servers"][0]["ok"], json!(true));
    assert_eq!(v["idp"]["id_jag_advertised"], json!(true));
    let out = idjag().args(["discover", mcp]).output().expect("run");
    assert!(String::from_utf8_lossy(&out.stdout).contains("✓ supports"));
}

#[test]
fn inspect_decodes_and_warns() {
    let enc = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let jwt = format!(
        "{}.{}.c2ln",
        enc(json!({"alg": "ES256", "typ": "JWT"})),
        enc(
            json!({"iss": "https://idp", "sub": "u", "aud": ["a", "b"], "client_id": "c", "iat": 1000, "exp": 1300})
        )
    );
    let out = idjag().args(["inspect", &jwt]).output().expect("run");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("expired"), "{text}");
    assert!(
        text.contains("oauth-id-jag+jwt"),
        "wrong typ warning: {text}"
    );
    assert!(text.contains("jti"), "missing jti warning: {text}");
    assert!(text.contains("`aud` has 2"), "{text}");
    let out = idjag()
        .args(["inspect", "--json", &jwt])
        .output()
        .expect("run");
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["expired"], json!(true));
    assert_eq!(v["claims"]["sub"], json!("u"));
}

#[test]
fn errors_have_stable_exit_codes() {
    let dir = tempdir::Dir::new("errors");
    let unknown = dir.write(
        "bad.json",
        r#"{"idp":{"issuer":"https://i","client_id":"a","colour":"x"},"client":{"client_id":"c"}}"#,
    );
    let out = idjag()
        .args(["token", "--server", "https://mcp.example/mcp", "--config"])
        .arg(&unknown)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(11));
    assert!(String::from_utf8_lossy(&out.stderr).contains("colour"));

    let out = idjag()
        .args([
            "token",
            "--server",
            "https://x/mcp",
            "--config",
            "/nonexistent/cfg.json",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(11));

    let out = idjag()
        .args(["inspect", "not-a-jwt"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(10));

    let out = idjag()
        .args(["discover", "http://mcp.example.com/mcp"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(18), "insecure_url");

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let out = idjag()
        .args(["discover", &format!("http://127.0.0.1:{port}/mcp")])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(12), "transport");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("idjag: error [transport] during resource"),
        "{stderr}"
    );

    let out = idjag().arg("bogus").output().expect("run");
    assert_eq!(out.status.code(), Some(2), "usage error");
    let mut child = idjag()
        .args(["inspect", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"garbage")
        .expect("write");
    assert_eq!(child.wait().expect("wait").code(), Some(10));
}

#[test]
fn verify_accepts_and_rejects_with_reasons() {
    let kit = idjag_testkit::TestKit::start();
    let dir = tempdir::Dir::new("verify");
    let cfg = dir.write(
        "verifier.json",
        &json!({
            "issuer": kit.as_issuer(),
            "resources": [kit.mcp_url()],
            "trusted_idps": [{"issuer": kit.idp_issuer(), "jwks_uri": kit.idp_jwks_uri()}],
        })
        .to_string(),
    );
    let jag = kit.mint_id_jag("alice");
    let client_id = kit.as_client().client_id;
    let out = idjag()
        .args(["verify", "--client-id", &client_id, "--config"])
        .arg(&cfg)
        .arg(&jag)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("accepted") && text.contains("alice"),
        "{text}"
    );

    let out = idjag()
        .args([
            "verify",
            "--json",
            "--client-id",
            "someone-else",
            "--config",
        ])
        .arg(&cfg)
        .arg(&jag)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(24), "verification_failed");
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["ok"], json!(false));
    assert_eq!(v["reason"], json!("client_mismatch"));
    assert_eq!(v["wire"]["body"]["error"], json!("invalid_grant"));
    assert!(
        !v["wire"]["body"].to_string().contains("client"),
        "generic on the wire: {v}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("verification_failed") && stderr.contains("client_mismatch"),
        "{stderr}"
    );
    assert!(!stderr.contains(&jag) && !String::from_utf8_lossy(&out.stdout).contains(&jag));

    let bad = dir.write(
        "bad.json",
        r#"{"issuer":"https://as","resources":[],"trusted_idps":[],"colour":1}"#,
    );
    let out = idjag()
        .args(["verify", "--client-id", "c", "--config"])
        .arg(&bad)
        .arg(&jag)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(11));
}
