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
        "client_issuers": [info["as_issuer"]],
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
    idjag_testkit::record_matrix(
        "cli",
        "testkit",
        "cli/tests/cli.rs::token_against_the_serve_process",
    );
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

// ---------------------------------------------------------------------------------------
// Hardening and operator experience (issues "Security findings" item 11 and "The experience
// of … operators").

/// Runs `idjag args…` with `stdin` (closed when `None`): (exit code, stdout, stderr).
fn run(args: &[&str], stdin: Option<&[u8]>) -> (Option<i32>, Vec<u8>, Vec<u8>) {
    let mut child = idjag()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(bytes) = stdin {
        // The child may exit before reading everything (e.g. on a usage error).
        if let Err(e) = input.write_all(bytes) {
            assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "write stdin: {e}");
        }
    }
    drop(input);
    let out = child.wait_with_output().expect("wait");
    (out.status.code(), out.stdout, out.stderr)
}

/// No byte or character that a terminal interprets: C0 controls except newline, DEL, C1
/// controls (U+0080–U+009F, e.g. the one-byte CSI U+009B), bidirectional overrides.
fn assert_terminal_safe(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    for c in text.chars() {
        let bad = (c.is_control() && c != '\n')
            || matches!(
                c,
                '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{2028}' | '\u{2029}'
            )
            || ('\u{202a}'..='\u{202e}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c);
        assert!(!bad, "{what} carries U+{:04X}: {text:?}", c as u32);
    }
}

fn no_panic(what: &str, code: Option<i32>, stderr: &[u8]) {
    let e = String::from_utf8_lossy(stderr);
    assert_ne!(code, Some(101), "{what} panicked: {e}");
    assert!(!e.contains("panicked"), "{what} panicked: {e}");
}

fn jwt(header: Value, claims: Value) -> String {
    let enc = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!("{}.{}.c2ln", enc(header), enc(claims))
}

fn json_doc(what: &str, stdout: &[u8]) -> Value {
    serde_json::from_slice(stdout).unwrap_or_else(|e| {
        panic!(
            "{what}: stdout is not one JSON document ({e}): {}",
            String::from_utf8_lossy(stdout)
        )
    })
}

/// Every `--json` failure document has the same members, and `exit_code` is the process's.
fn assert_error_doc(what: &str, doc: &Value, code: Option<i32>) {
    assert_eq!(doc["ok"], json!(false), "{what}: {doc}");
    for k in [
        "code",
        "number",
        "exit_code",
        "step",
        "action",
        "hint",
        "message",
    ] {
        assert!(
            doc.get(k).is_some_and(|v| !v.is_null()),
            "{what}: no `{k}`: {doc}"
        );
    }
    for k in ["url", "status", "oauth", "reason"] {
        assert!(doc.get(k).is_some(), "{what}: no `{k}` member: {doc}");
    }
    assert_eq!(doc["exit_code"].as_i64(), code.map(i64::from), "{what}");
}

#[test]
fn inspect_survives_out_of_range_times() {
    // Year 10000, i64 extremes, beyond i64, floats, far before the epoch.
    let times = [
        json!(253_402_300_800i64),
        json!(i64::MAX),
        json!(i64::MIN),
        json!(u64::MAX),
        json!(1e300),
        json!(-1e300),
        json!(-62_135_596_801i64),
    ];
    for t in times {
        let token = jwt(
            json!({"alg": "ES256", "typ": "oauth-id-jag+jwt"}),
            json!({"iss": "https://idp", "sub": "u", "aud": "a", "client_id": "c", "jti": "j",
                   "exp": t, "iat": t, "nbf": t, "auth_time": t}),
        );
        for json_flag in [false, true] {
            let mut args = vec!["inspect"];
            if json_flag {
                args.push("--json");
            }
            args.push(&token);
            let (code, stdout, stderr) = run(&args, None);
            no_panic(&format!("inspect exp={t} json={json_flag}"), code, &stderr);
            assert_eq!(
                code,
                Some(0),
                "exp={t}: {}",
                String::from_utf8_lossy(&stderr)
            );
            if json_flag {
                json_doc("inspect --json", &stdout);
            }
        }
    }
    let token = jwt(
        json!({"alg": "ES256"}),
        json!({"exp": 253_402_300_800i64, "iat": -62_167_219_201i64, "nbf": -1}),
    );
    let (_, stdout, _) = run(&["inspect", &token], None);
    let text = String::from_utf8_lossy(&stdout);
    assert!(text.contains("+10000-01-01T00:00:00Z"), "{text}");
    assert!(text.contains("-0001-12-31T23:59:59Z"), "{text}");
    assert!(
        text.contains("1969-12-31T23:59:59Z"),
        "not clamped to the epoch: {text}"
    );
}

#[test]
fn inspect_escapes_control_characters_from_the_token() {
    let token = jwt(
        json!({"alg": "ES256", "typ": "JWT\u{1b}[2J", "k\u{1b}]0;owned\u{7}": "v\u{9b}31m"}),
        json!({"iss": "https://idp", "sub": "\u{1b}[31mroot", "\u{1b}]8;;https://evil\u{7}x": 1,
               "note": "\u{202e}gnp.exe", "del": "a\u{7f}b", "exp": 4_102_444_800i64}),
    );
    for args in [vec!["inspect", &token], vec!["inspect", "--json", &token]] {
        let (code, stdout, stderr) = run(&args, None);
        assert_eq!(code, Some(0), "{}", String::from_utf8_lossy(&stderr));
        assert_terminal_safe("inspect stdout", &stdout);
        assert_terminal_safe("inspect stderr", &stderr);
    }
    let (_, stdout, _) = run(&["inspect", &token], None);
    let text = String::from_utf8_lossy(&stdout);
    assert!(
        text.contains("\\u001b[31mroot"),
        "escaped, still legible: {text}"
    );
    assert!(
        text.contains("k\\u{1b}]0;owned\\u{7}"),
        "escaped, still legible: {text}"
    );
    let (_, stdout, _) = run(&["inspect", "--json", &token], None);
    let v = json_doc("inspect --json", &stdout);
    assert_eq!(
        v["claims"]["note"],
        json!("\u{202e}gnp.exe"),
        "JSON escapes keep the value intact"
    );
}

#[test]
fn server_strings_are_escaped_in_discover_and_errors() {
    let kit = idjag_testkit::TestKit::start();
    let mcp = kit.mcp_url().to_string();
    kit.set_fault(
        idjag_testkit::Endpoint::Prm,
        idjag_testkit::Fault::Patch {
            set: json!({"resource_name": "\u{1b}]0;owned\u{7}", "scopes_supported": ["\u{1b}[2J", "\u{9b}1m", "\u{202e}x"]})
                .as_object()
                .expect("object")
                .clone(),
        },
    );
    for args in [vec!["discover", &mcp], vec!["discover", "--json", &mcp]] {
        let (code, stdout, stderr) = run(&args, None);
        assert_eq!(code, Some(0), "{}", String::from_utf8_lossy(&stderr));
        assert_terminal_safe("discover stdout", &stdout);
        assert_terminal_safe("discover stderr", &stderr);
    }
    kit.clear_faults();
    // A server-chosen issuer in an error message (bidi override and escapes).
    kit.set_fault(
        idjag_testkit::Endpoint::AsMetadata,
        idjag_testkit::Fault::WrongIssuer {
            issuer: "https://evil.example/\u{202e}\u{1b}[2J\u{9b}".into(),
        },
    );
    for args in [vec!["discover", &mcp], vec!["discover", "--json", &mcp]] {
        let (code, stdout, stderr) = run(&args, None);
        assert_eq!(code, Some(20), "{}", String::from_utf8_lossy(&stderr));
        assert_terminal_safe("discover stdout", &stdout);
        assert_terminal_safe("discover stderr", &stderr);
    }
}

#[test]
fn verify_escapes_claims_of_an_accepted_id_jag() {
    let kit = idjag_testkit::TestKit::start();
    let dir = tempdir::Dir::new("verify-esc");
    let cfg = dir.write(
        "verifier.json",
        &json!({
            "issuer": kit.as_issuer(),
            "resources": [kit.mcp_url()],
            "trusted_idps": [{"issuer": kit.idp_issuer(), "jwks_uri": kit.idp_jwks_uri()}],
        })
        .to_string(),
    );
    let mut claims = kit.id_jag_claims("alice");
    claims["sub"] = json!("alice\u{1b}]0;owned\u{7}\u{202e}");
    claims["jti"] = json!("j\u{9b}2J");
    let jag = kit.sign_id_jag(&claims);
    let client_id = kit.as_client().client_id;
    let cfg = cfg.to_string_lossy().to_string();
    let (code, stdout, stderr) = run(
        &["verify", "--config", &cfg, "--client-id", &client_id, "-"],
        Some(jag.as_bytes()),
    );
    assert_eq!(code, Some(0), "{}", String::from_utf8_lossy(&stderr));
    assert!(String::from_utf8_lossy(&stdout).contains("accepted"));
    assert_terminal_safe("verify stdout", &stdout);
}

#[test]
fn tokens_are_read_from_stdin_and_help_says_so() {
    let token = jwt(
        json!({"alg": "ES256", "typ": "JWT"}),
        json!({"iss": "https://idp", "sub": "stdin-user", "exp": 4_102_444_800i64}),
    );
    // No argument, stdin is a pipe: the token is read from stdin.
    let (code, stdout, stderr) = run(&["inspect"], Some(format!("{token}\n").as_bytes()));
    assert_eq!(code, Some(0), "{}", String::from_utf8_lossy(&stderr));
    assert!(String::from_utf8_lossy(&stdout).contains("stdin-user"));
    let (code, _, _) = run(&["inspect", "-"], Some(token.as_bytes()));
    assert_eq!(code, Some(0));
    // Empty stdin is an argument error, not a panic or a hang.
    let (code, _, stderr) = run(&["inspect"], Some(b""));
    assert_eq!(code, Some(10), "{}", String::from_utf8_lossy(&stderr));

    // verify: the assertion from stdin.
    let kit = idjag_testkit::TestKit::start();
    let dir = tempdir::Dir::new("stdin");
    let cfg = dir.write(
        "verifier.json",
        &json!({
            "issuer": kit.as_issuer(),
            "resources": [kit.mcp_url()],
            "trusted_idps": [{"issuer": kit.idp_issuer(), "jwks_uri": kit.idp_jwks_uri()}],
        })
        .to_string(),
    );
    let cfg = cfg.to_string_lossy().to_string();
    let client_id = kit.as_client().client_id;
    let jag = kit.mint_id_jag("alice");
    let (code, stdout, stderr) = run(
        &["verify", "--config", &cfg, "--client-id", &client_id],
        Some(jag.as_bytes()),
    );
    assert_eq!(code, Some(0), "{}", String::from_utf8_lossy(&stderr));
    assert!(String::from_utf8_lossy(&stdout).starts_with("accepted"));
    // stdin cannot carry both the configuration and the assertion.
    let (code, _, stderr) = run(
        &["verify", "--config", "-", "--client-id", &client_id],
        Some(jag.as_bytes()),
    );
    assert_eq!(code, Some(10), "{}", String::from_utf8_lossy(&stderr));
    assert!(String::from_utf8_lossy(&stderr).contains("stdin"));

    // token: the session configuration (which holds the subject token) from stdin.
    let idp = kit.idp_client();
    let client = kit.as_client();
    let session = json!({
        "idp": {"issuer": kit.idp_issuer(), "client_id": idp.client_id, "client_secret": idp.client_secret},
        "subject_token": kit.mint_id_token("alice"),
        "client": {"client_id": client.client_id, "client_secret": client.client_secret},
        "client_issuers": [kit.as_issuer()],
    });
    let (code, stdout, stderr) = run(
        &["token", "--server", kit.mcp_url()],
        Some(session.to_string().as_bytes()),
    );
    assert_eq!(code, Some(0), "{}", String::from_utf8_lossy(&stderr));
    let token = String::from_utf8(stdout).expect("utf8");
    assert_eq!(mcp_status(kit.mcp_url(), token.trim()), 200);

    for (cmd, word) in [
        ("inspect", "stdin"),
        ("verify", "stdin"),
        ("token", "stdin"),
    ] {
        let (code, stdout, _) = run(&[cmd, "--help"], None);
        assert_eq!(code, Some(0));
        let help = String::from_utf8_lossy(&stdout);
        assert!(help.contains(word), "`{cmd} --help` names {word}: {help}");
        assert!(help.contains("`ps`"), "`{cmd} --help` says why: {help}");
    }
}

#[test]
fn help_lists_the_exit_codes() {
    let (code, stdout, _) = run(&["--help"], None);
    assert_eq!(code, Some(0));
    let help = String::from_utf8_lossy(&stdout);
    // The documented table (docs/GUIDE.md §4): 10 + kind index; 2 usage.
    let pinned = [
        (2, "usage"),
        (10, "invalid_argument"),
        (11, "configuration"),
        (12, "transport"),
        (13, "timeout"),
        (14, "http_status"),
        (15, "oauth_error"),
        (16, "response_invalid"),
        (17, "response_too_large"),
        (18, "insecure_url"),
        (19, "redirect_refused"),
        (20, "issuer_mismatch"),
        (21, "resource_mismatch"),
        (22, "not_supported"),
        (23, "reauthentication_required"),
        (24, "verification_failed"),
        (25, "internal"),
    ];
    for (n, name) in pinned {
        let line = format!("{n:>4}  {name}");
        assert!(help.contains(&line), "help lacks `{line}`: {help}");
    }
}

#[test]
fn json_errors_and_fitting_hints_on_every_subcommand() {
    let dir = tempdir::Dir::new("json-errors");
    // token: a typo in the configuration.
    let typo = dir.write(
        "typo.json",
        r#"{"idp":{"issuer":"https://i","client_id":"a","colour":"x"},"client":{"client_id":"c"}}"#,
    );
    let typo = typo.to_string_lossy().to_string();
    let (code, stdout, stderr) = run(
        &[
            "token",
            "--json",
            "--server",
            "https://mcp.example/mcp",
            "--config",
            &typo,
        ],
        None,
    );
    assert_eq!(code, Some(11));
    let doc = json_doc("token typo", &stdout);
    assert_error_doc("token typo", &doc, code);
    assert_eq!(doc["code"], json!("configuration"));
    assert_eq!(doc["number"], json!(2));
    assert_eq!(doc["step"], json!("config"));
    let hint = doc["hint"].as_str().expect("hint");
    assert!(!hint.contains("registration"), "{hint}");
    assert!(hint.contains("configuration"), "{hint}");
    assert!(String::from_utf8_lossy(&stderr).contains("colour"));

    // token: a missing configuration file.
    let (code, stdout, stderr) = run(
        &[
            "token",
            "--json",
            "--server",
            "https://mcp.example/mcp",
            "--config",
            "/nonexistent/c.json",
        ],
        None,
    );
    assert_eq!(code, Some(11));
    let doc = json_doc("token missing file", &stdout);
    assert_error_doc("token missing file", &doc, code);
    let hint = doc["hint"].as_str().expect("hint");
    assert!(hint.contains("--config"), "{hint}");
    assert!(!hint.contains("registration"), "{hint}");
    assert!(!String::from_utf8_lossy(&stderr).contains("registration"));

    // token: an unreachable server names the URL it could not reach.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let kit = idjag_testkit::TestKit::start();
    let idp = kit.idp_client();
    let session = dir.write(
        "session.json",
        &json!({
            "idp": {"issuer": kit.idp_issuer(), "client_id": idp.client_id, "client_secret": idp.client_secret},
            "subject_token": kit.mint_id_token("alice"),
            "client": {"client_id": "c", "client_secret": "s3cret-planted"},
        })
        .to_string(),
    );
    let dead = format!("http://127.0.0.1:{port}/mcp");
    let session = session.to_string_lossy().to_string();
    let (code, stdout, stderr) = run(
        &["token", "--json", "--server", &dead, "--config", &session],
        None,
    );
    assert_eq!(code, Some(12), "{}", String::from_utf8_lossy(&stderr));
    let doc = json_doc("token unreachable", &stdout);
    assert_error_doc("token unreachable", &doc, code);
    assert_eq!(doc["url"], json!(dead));
    assert!(String::from_utf8_lossy(&stderr).contains(&dead));
    assert!(!String::from_utf8_lossy(&stdout).contains("s3cret-planted"));

    // inspect: garbage is an input error, not a configuration one.
    let (code, stdout, stderr) = run(&["inspect", "--json", "garbage"], None);
    assert_eq!(code, Some(10));
    let doc = json_doc("inspect garbage", &stdout);
    assert_error_doc("inspect garbage", &doc, code);
    assert_eq!(doc["code"], json!("invalid_argument"));
    assert_ne!(doc["step"], json!("config"));
    let line = String::from_utf8_lossy(&stderr);
    assert!(!line.contains("during config"), "{line}");
    let (_, _, stderr) = run(&["inspect", "garbage"], None);
    let line = String::from_utf8_lossy(&stderr);
    assert!(!line.contains("during config"), "{line}");
    assert!(!line.contains("registration"), "{line}");

    // verify: a malformed assertion is not a policy denial.
    let cfg = dir.write(
        "verifier.json",
        &json!({
            "issuer": kit.as_issuer(),
            "resources": [kit.mcp_url()],
            "trusted_idps": [{"issuer": kit.idp_issuer(), "jwks_uri": kit.idp_jwks_uri()}],
        })
        .to_string(),
    );
    let cfg = cfg.to_string_lossy().to_string();
    for json_flag in [true, false] {
        let mut args = vec!["verify", "--config", &cfg, "--client-id", "c"];
        if json_flag {
            args.push("--json");
        }
        let (code, stdout, stderr) = run(&args, Some(b"not.a.jwt"));
        assert_eq!(code, Some(24));
        let line = String::from_utf8_lossy(&stderr);
        assert!(!line.contains("denied by policy"), "{line}");
        if json_flag {
            let doc = json_doc("verify malformed", &stdout);
            assert_error_doc("verify malformed", &doc, code);
            assert_eq!(doc["reason"], json!("malformed"));
            assert!(!doc["hint"].as_str().expect("hint").contains("policy"));
            assert_eq!(doc["wire"]["body"]["error"], json!("invalid_grant"));
        }
    }

    // discover: an argument error is a JSON document too.
    let (code, stdout, _) = run(&["discover", "--json", "not a url"], None);
    assert_eq!(code, Some(10));
    assert_error_doc(
        "discover bad url",
        &json_doc("discover bad url", &stdout),
        code,
    );
}

/// Runs `discover --json` against `url`: (exit code, document, human stderr of a second,
/// plain run, human stdout of that run).
fn discover(url: &str) -> (Option<i32>, Value, String, String) {
    let (code, stdout, stderr) = run(&["discover", "--json", url], None);
    no_panic("discover --json", code, &stderr);
    let doc = json_doc(&format!("discover --json {url}"), &stdout);
    let (code2, out2, err2) = run(&["discover", url], None);
    assert_eq!(code, code2, "same exit code with and without --json");
    (
        code,
        doc,
        String::from_utf8_lossy(&err2).into_owned(),
        String::from_utf8_lossy(&out2).into_owned(),
    )
}

fn check<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["id"] == json!(id)))
        .unwrap_or_else(|| panic!("no check `{id}`: {doc}"))
}

#[test]
fn discover_diagnoses_five_misconfigured_servers() {
    use idjag_testkit::{Endpoint, Fault};
    let kit = idjag_testkit::TestKit::start();
    let mcp = kit.mcp_url().to_string();
    let patch = |v: Value| Fault::Patch {
        set: v.as_object().expect("object").clone(),
    };

    // 0. The healthy server: supported, every check passes.
    let (code, doc, _, human) = discover(&mcp);
    assert_eq!(code, Some(0), "{doc}");
    assert_eq!(doc["ok"], json!(true));
    assert_eq!(doc["supported"], json!(true));
    assert_eq!(doc["challenge"]["status"], json!(401));
    assert_eq!(doc["selected_authorization_server"], json!(kit.as_issuer()));
    assert!(
        doc["checks"]
            .as_array()
            .expect("checks")
            .iter()
            .all(|c| c["status"] == json!("pass")),
        "{doc}"
    );
    assert!(
        human.contains("HTTP 401") && !human.contains("401/403"),
        "{human}"
    );

    // 1. Issuer mismatch (RFC 8414 §3.3) → 20, naming the metadata URL.
    kit.set_fault(
        Endpoint::AsMetadata,
        Fault::WrongIssuer {
            issuer: "https://evil.example".into(),
        },
    );
    let (code, doc, stderr, _) = discover(&mcp);
    assert_eq!(code, Some(20), "{doc}");
    assert_error_doc("issuer mismatch", &doc, code);
    assert_eq!(doc["code"], json!("issuer_mismatch"));
    assert_eq!(doc["supported"], json!(false));
    let c = check(&doc, "authorization_server_metadata");
    assert_eq!(c["status"], json!("fail"));
    assert_eq!(c["kind"], json!("issuer_mismatch"));
    assert_eq!(doc["url"], json!(kit.as_issuer()));
    assert!(stderr.contains(&kit.as_metadata_url()), "{stderr}");
    kit.clear_faults();

    // 2. An authorization server on plain http → 18, naming it.
    kit.set_fault(
        Endpoint::Prm,
        patch(json!({"authorization_servers": ["http://as.example.com"]})),
    );
    let (code, doc, stderr, _) = discover(&mcp);
    assert_eq!(code, Some(18), "{doc}");
    assert_error_doc("insecure url", &doc, code);
    assert_eq!(doc["code"], json!("insecure_url"));
    let c = check(&doc, "authorization_server_url");
    assert_eq!(
        (&c["status"], &c["kind"]),
        (&json!("fail"), &json!("insecure_url"))
    );
    assert_eq!(doc["url"], json!("http://as.example.com"));
    assert!(stderr.contains("http://as.example.com"), "{stderr}");
    kit.clear_faults();

    // 3. No jwt-bearer grant (nor the id-jag profile) → 22.
    kit.set_fault(
        Endpoint::AsMetadata,
        patch(json!({"grant_types_supported": ["authorization_code"],
                     "authorization_grant_profiles_supported": null})),
    );
    let (code, doc, stderr, human) = discover(&mcp);
    assert_eq!(code, Some(22), "{doc}");
    assert_error_doc("missing grant", &doc, code);
    assert_eq!(doc["code"], json!("not_supported"));
    let c = check(&doc, "jwt_bearer_grant");
    assert_eq!(
        (&c["status"], &c["kind"]),
        (&json!("fail"), &json!("not_supported"))
    );
    assert_eq!(check(&doc, "id_jag_profile")["status"], json!("fail"));
    assert_eq!(doc["url"], json!(kit.as_issuer()));
    assert!(stderr.contains(kit.as_issuer()), "{stderr}");
    assert!(human.contains("✗"), "{human}");
    kit.clear_faults();

    // 4. A 401 without WWW-Authenticate: discovery still works via the well-known URL, with a
    //    warning and the real status.
    kit.set_fault(
        Endpoint::Mcp,
        Fault::Status {
            status: 401,
            body: String::new(),
            content_type: None,
            headers: Vec::new(),
        },
    );
    let (code, doc, _, human) = discover(&mcp);
    assert_eq!(code, Some(0), "{doc}");
    assert_eq!(doc["ok"], json!(true));
    assert_eq!(doc["supported"], json!(true));
    assert_eq!(doc["challenge"]["status"], json!(401));
    assert_eq!(doc["challenge"]["www_authenticate"], json!(false));
    let c = check(&doc, "probe");
    assert_eq!(c["status"], json!("warn"), "{doc}");
    assert!(c["message"]
        .as_str()
        .expect("m")
        .contains("WWW-Authenticate"));
    assert!(human.contains("WWW-Authenticate"), "{human}");
    assert!(
        human.contains("HTTP 401") && !human.contains("401/403"),
        "{human}"
    );
    kit.clear_faults();

    // 5. Unreachable → 12, naming the URL.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let dead = format!("http://127.0.0.1:{port}/mcp");
    let (code, doc, stderr, _) = discover(&dead);
    assert_eq!(code, Some(12), "{doc}");
    assert_error_doc("unreachable", &doc, code);
    assert_eq!(doc["code"], json!("transport"));
    assert_eq!(doc["url"], json!(dead));
    assert_eq!(check(&doc, "probe")["status"], json!("fail"));
    assert!(stderr.contains(&dead), "{stderr}");
}

#[test]
fn token_refuses_to_print_an_access_token_with_control_characters() {
    let kit = idjag_testkit::TestKit::start();
    kit.set_fault(
        idjag_testkit::Endpoint::AsToken,
        idjag_testkit::Fault::Patch {
            set: json!({"access_token": "ok\u{1b}]0;owned\u{7}\u{9b}2J"})
                .as_object()
                .expect("object")
                .clone(),
        },
    );
    let idp = kit.idp_client();
    let client = kit.as_client();
    let session = json!({
        "idp": {"issuer": kit.idp_issuer(), "client_id": idp.client_id, "client_secret": idp.client_secret},
        "subject_token": kit.mint_id_token("alice"),
        "client": {"client_id": client.client_id, "client_secret": client.client_secret},
        "client_issuers": [kit.as_issuer()],
    })
    .to_string();
    for json_flag in [false, true] {
        let mut args = vec!["token", "--server", kit.mcp_url()];
        if json_flag {
            args.push("--json");
        }
        let (code, stdout, stderr) = run(&args, Some(session.as_bytes()));
        assert_eq!(code, Some(16), "{}", String::from_utf8_lossy(&stderr));
        assert_terminal_safe("token stdout", &stdout);
        assert_terminal_safe("token stderr", &stderr);
        if json_flag {
            let doc = json_doc("token bad token", &stdout);
            assert_error_doc("token bad token", &doc, code);
            assert!(doc.get("access_token").is_none(), "{doc}");
        } else {
            assert!(stdout.is_empty());
        }
    }
}

/// SECURITY (credential routing): `idjag discover --config` shows which credentials the
/// configuration would send to the server's authorization server, and whether it may.
#[test]
fn discover_shows_where_credentials_would_go() {
    let served = serve();
    let dir = tempdir::Dir::new("routes");
    let listed = config_for(&served.info, &dir, None);
    let mcp = served.info["mcp_url"]
        .as_str()
        .expect("mcp_url")
        .to_string();
    let as_issuer = served.info["as_issuer"].as_str().expect("as").to_string();
    let out = idjag()
        .args(["discover", &mcp, "--json", "--config"])
        .arg(&listed)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("json");
    let routes = doc["credentials"].as_array().expect("credentials");
    assert_eq!(routes[0]["issuer"], json!(as_issuer));
    assert_eq!(routes[0]["allowed"], json!(true));
    assert_eq!(routes[0]["shared_secret"], json!(true));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("client_secret\""));
    // The same client without `client_issuers`: shown as refused, with the reason.
    let mut cfg: Value =
        serde_json::from_str(&std::fs::read_to_string(&listed).expect("read")).expect("cfg");
    cfg.as_object_mut().expect("obj").remove("client_issuers");
    let unlisted = dir.write("unlisted.json", &cfg.to_string());
    let out = idjag()
        .args(["discover", &mcp, "--config"])
        .arg(&unlisted)
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("credentials     ✗"), "{text}");
    assert!(text.contains("client_issuers"), "{text}");
    let secret = served.info["context"]["client_secret"]
        .as_str()
        .unwrap_or("-");
    assert!(!text.contains(secret), "no secret printed");
}
