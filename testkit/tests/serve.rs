//! The `idjag-testkit serve` binary.
#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn wait_exit(child: &mut std::process::Child) -> std::process::ExitStatus {
    let t = Instant::now();
    loop {
        if let Some(s) = child.try_wait().expect("try_wait") {
            return s;
        }
        if t.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            panic!("serve did not exit after stdin closed");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn serve_json_prints_one_line_and_exits_on_stdin_eof() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_idjag-testkit"))
        .args(["serve", "--json", "--as-path", "/as"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("line");
    let v: serde_json::Value = serde_json::from_str(&line).expect("one JSON line");
    for k in [
        "mcp_url",
        "prm_url",
        "as_issuer",
        "as_token_endpoint",
        "idp_issuer",
        "idp_token_endpoint",
        "idp_jwks_uri",
        "admin_url",
    ] {
        assert!(
            v[k].as_str()
                .is_some_and(|s| s.starts_with("http://127.0.0.1:")),
            "{k}"
        );
    }
    assert!(v["as_issuer"].as_str().unwrap().ends_with("/as"));
    for k in [
        "client_id",
        "client_secret",
        "idp_client_id",
        "idp_id_token",
        "idp_issuer",
        "idp_token_endpoint",
    ] {
        assert!(v["context"][k].is_string(), "context.{k}");
    }
    assert!(v["clients"]["idp_jwt"]["private_key_pem"]
        .as_str()
        .unwrap()
        .contains("PRIVATE KEY"));
    assert!(v["clients"]["as_jwt"]["private_key_pem"]
        .as_str()
        .unwrap()
        .contains("PRIVATE KEY"));

    // The servers are live, and the context ID token works.
    let http = Http::new();
    assert_eq!(
        http.get(v["prm_url"].as_str().unwrap()).json()["resource"],
        v["mcp_url"]
    );
    let ctx = &v["context"];
    let r = http.post_form(
        ctx["idp_token_endpoint"].as_str().unwrap(),
        &[
            ("grant_type", TE),
            ("requested_token_type", ID_JAG),
            ("subject_token", ctx["idp_id_token"].as_str().unwrap()),
            ("subject_token_type", ID_TOKEN),
            ("audience", v["as_issuer"].as_str().unwrap()),
            ("resource", v["mcp_url"].as_str().unwrap()),
        ],
        Some((
            ctx["idp_client_id"].as_str().unwrap(),
            ctx["idp_client_secret"].as_str().unwrap(),
        )),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = http.post_form(
        v["as_token_endpoint"].as_str().unwrap(),
        &[
            ("grant_type", JWT_BEARER),
            ("assertion", r.json()["access_token"].as_str().unwrap()),
        ],
        Some((
            ctx["client_id"].as_str().unwrap(),
            ctx["client_secret"].as_str().unwrap(),
        )),
    );
    assert_eq!(r.status, 200, "{}", r.body);

    drop(child.stdin.take());
    assert!(wait_exit(&mut child).success());
}

#[test]
fn serve_human_and_bad_args() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_idjag-testkit"))
        .args(["serve"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("line");
    assert!(line.contains("idjag-testkit is running"), "{line}");
    drop(child.stdin.take());
    assert!(wait_exit(&mut child).success());

    let out = Command::new(env!("CARGO_BIN_EXE_idjag-testkit"))
        .args(["serve", "--bogus"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
}

// ---------------------------------------------------------------------------------------
// Flags for testing your own authorization server and for watching renewal (issue "The
// experience of authorization-server developers, operators and client developers").

/// `idjag-testkit serve --json ARGS…` as a child; dropped → stdin closed → it exits.
struct Served {
    child: std::process::Child,
    info: serde_json::Value,
}

impl Served {
    fn start(args: &[&str]) -> Served {
        let mut child = Command::new(env!("CARGO_BIN_EXE_idjag-testkit"))
            .args(["serve", "--json"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("line");
        let info = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("serve {args:?} printed no JSON line ({e}): {line:?}"));
        Served { child, info }
    }

    fn s(&self, pointer: &str) -> String {
        self.info
            .pointer(pointer)
            .and_then(|v| v.as_str())
            .unwrap_or_else(|| panic!("{pointer} missing"))
            .to_string()
    }

    /// RFC 8693 exchange of the context ID token at the IdP.
    fn exchange(&self, http: &Http, audience: &str, resource: &str) -> Res {
        let id_token = self.s("/context/idp_id_token");
        http.post_form(
            &self.s("/idp_token_endpoint"),
            &[
                ("grant_type", TE),
                ("requested_token_type", ID_JAG),
                ("subject_token", &id_token),
                ("subject_token_type", ID_TOKEN),
                ("audience", audience),
                ("resource", resource),
            ],
            Some((
                &self.s("/context/idp_client_id"),
                &self.s("/context/idp_client_secret"),
            )),
        )
    }

    fn stop(mut self) {
        drop(self.child.stdin.take());
        assert!(wait_exit(&mut self.child).success());
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// Exit code and stderr of `serve ARGS…` that is expected to refuse its arguments.
fn refused(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_idjag-testkit"))
        .arg("serve")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let d = std::env::temp_dir().join(format!(
            "idjag-testkit-{tag}-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&d).expect("mkdir");
        TempDir(d)
    }

    fn write(&self, name: &str, text: &str) -> String {
        let p = self.0.join(name);
        std::fs::write(&p, text).expect("write");
        p.to_string_lossy().into_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// `--extra-audience` / `--extra-resource`: the IdP issues ID-JAGs for another authorization
/// server (yours) and its MCP server; other audiences stay refused.
#[test]
fn serve_extra_audience_and_resource() {
    const MY_AS: &str = "https://as.example.test";
    const MY_MCP: &str = "https://mcp.example.test/mcp";
    let kit = Served::start(&["--extra-audience", MY_AS, "--extra-resource", MY_MCP]);
    let http = Http::new();
    let r = kit.exchange(&http, MY_AS, MY_MCP);
    assert_eq!(r.status, 200, "{}", r.body);
    let claims = jwt_part(r.json()["access_token"].as_str().unwrap(), 1);
    assert_eq!(claims["aud"], MY_AS);
    assert_eq!(claims["resource"], MY_MCP);
    assert_eq!(claims["iss"], kit.info["idp_issuer"]);
    assert_eq!(claims["client_id"], kit.info["clients"]["as"]["client_id"]);

    // Neither flag opens anything else.
    let r = kit.exchange(&http, "https://other-as.example.test", MY_MCP);
    assert_eq!((r.status, r.error().as_str()), (400, "invalid_target"));
    let r = kit.exchange(&http, MY_AS, "https://other-mcp.example.test/mcp");
    assert_eq!((r.status, r.error().as_str()), (400, "invalid_target"));
    // The kit's own AS still works.
    let r = kit.exchange(&http, &kit.s("/as_issuer"), &kit.s("/mcp_url"));
    assert_eq!(r.status, 200, "{}", r.body);
    kit.stop();
}

/// `--id-token-ttl`, `--id-jag-ttl`, `--as-token-ttl`: the lifetimes of what the kit issues.
#[test]
fn serve_token_lifetimes() {
    let kit = Served::start(&[
        "--id-token-ttl",
        "120",
        "--id-jag-ttl",
        "45",
        "--as-token-ttl",
        "7",
    ]);
    let http = Http::new();
    let id_token = jwt_part(&kit.s("/context/idp_id_token"), 1);
    assert_eq!(
        id_token["exp"].as_i64().unwrap() - id_token["iat"].as_i64().unwrap(),
        120
    );
    let r = http.request(
        "POST",
        &format!("{}/id_token", kit.s("/admin_url")),
        &[("Content-Type", "application/json")],
        Some(br#"{"user": "bob"}"#.to_vec()),
    );
    let minted = jwt_part(r.json()["id_token"].as_str().unwrap(), 1);
    assert_eq!(
        minted["exp"].as_i64().unwrap() - minted["iat"].as_i64().unwrap(),
        120
    );

    let r = kit.exchange(&http, &kit.s("/as_issuer"), &kit.s("/mcp_url"));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["expires_in"], 45);
    let jag = r.json()["access_token"].as_str().unwrap().to_string();
    let claims = jwt_part(&jag, 1);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        45
    );

    let r = http.post_form(
        &kit.s("/as_token_endpoint"),
        &[("grant_type", JWT_BEARER), ("assertion", &jag)],
        Some((
            &kit.s("/context/client_id"),
            &kit.s("/context/client_secret"),
        )),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["expires_in"], 7);
    kit.stop();

    for bad in [
        &["--as-token-ttl", "0"][..],
        &["--id-jag-ttl", "-5"],
        &["--id-token-ttl", "soon"],
        &["--as-token-ttl", "99999999999"],
        &["--id-jag-ttl"],
    ] {
        let (code, stderr) = refused(bad);
        assert_eq!(code, Some(2), "{bad:?}: {stderr}");
        assert!(stderr.contains(bad[0]), "{bad:?}: {stderr}");
    }
}

/// `--as-token-ttl 4` makes a `Session`'s renewal observable from outside in seconds: the
/// second `access_token` after the renewal point is a new token from exactly one new
/// exchange at each token endpoint (leg 1 and leg 2).
#[test]
fn serve_short_as_token_ttl_makes_renewal_observable() {
    let kit = Served::start(&["--as-token-ttl", "4"]);
    let config = idjag::SessionConfig::from_json(
        &serde_json::json!({
            "idp": {"issuer": kit.info["idp_issuer"], "client_id": kit.info["context"]["idp_client_id"],
                    "client_secret": kit.info["context"]["idp_client_secret"]},
            "subject_token": kit.info["context"]["idp_id_token"],
            "client": {"client_id": kit.info["context"]["client_id"],
                       "client_secret": kit.info["context"]["client_secret"]},
            "client_issuers": [kit.info["as_issuer"]],
        })
        .to_string(),
    )
    .unwrap();
    let session = idjag::Session::new(config).unwrap();
    let mcp = kit.s("/mcp_url");
    let http = Http::new();
    let counters = || {
        http.get(&format!("{}/counters", kit.s("/admin_url")))
            .json()
    };
    let token_requests = |c: &serde_json::Value| {
        (
            c["endpoints"]["idp_token"]["requests"].as_u64().unwrap(),
            c["endpoints"]["as_token"]["requests"].as_u64().unwrap(),
        )
    };
    let first = session.access_token(&mcp).unwrap();
    assert!(first.expires_at - idjag_now() <= 4);
    let before = token_requests(&counters());
    assert_eq!(
        session.access_token(&mcp).unwrap().bare_token(),
        first.bare_token()
    );
    // Renewed at most half a lifetime before expiry: 2 s after issue here.
    let deadline = Instant::now() + Duration::from_secs(10);
    let renewed = loop {
        std::thread::sleep(Duration::from_millis(250));
        let t = session.access_token(&mcp).unwrap();
        if t.bare_token() != first.bare_token() {
            break t;
        }
        assert!(Instant::now() < deadline, "no renewal within 10 s");
    };
    assert!(renewed.expires_at > first.expires_at);
    let after = token_requests(&counters());
    assert_eq!((after.0 - before.0, after.1 - before.1), (1, 1));
    kit.stop();
}

fn idjag_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

const MY_AS: &str = "https://as.example.test";
const MY_MCP: &str = "https://mcp.example.test/mcp";

/// A verifier for `MY_AS` that pins the IdP's issuer and JWKS from one run, as an external
/// authorization server's configuration would.
fn pinned_verifier(info: &serde_json::Value) -> idjag::IdJagVerifier {
    let cfg = serde_json::json!({
        "issuer": MY_AS,
        "resources": [MY_MCP],
        "trusted_idps": [{"issuer": info["idp_issuer"], "jwks": info["idp_jwks"]}],
    });
    idjag::IdJagVerifier::from_config(idjag::VerifierConfig::from_json(&cfg.to_string()).unwrap())
        .unwrap()
}

/// An ID-JAG for `MY_AS` / `MY_MCP` from `POST /__testkit/id_jag`: (token, header).
fn admin_id_jag(http: &Http, kit: &Served) -> (String, serde_json::Value) {
    let r = http.request(
        "POST",
        &format!("{}/id_jag", kit.s("/admin_url")),
        &[("Content-Type", "application/json")],
        Some(
            serde_json::json!({"claims": {"aud": MY_AS, "resource": MY_MCP}})
                .to_string()
                .into_bytes(),
        ),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    (
        v["id_jag"].as_str().unwrap().to_string(),
        v["header"].clone(),
    )
}

/// `--idp-key FILE… --idp-port P`: the same issuer, JWKS and `kid`s after a restart, so an
/// authorization server configured once with the pinned JWKS keeps accepting.
#[test]
fn serve_fixed_key_files_and_port_survive_a_restart() {
    let dir = TempDir::new("fixed-key");
    let es = idjag_testkit::TestKey::generate(idjag_testkit::Alg::ES256);
    let rs = idjag_testkit::TestKey::generate(idjag_testkit::Alg::RS256);
    let es_file = dir.write("es256.pem", es.private_key_pem());
    let rs_file = dir.write("rs256.pem", rs.private_key_pem());
    let port = free_port().to_string();
    let args = [
        "--idp-key",
        es_file.as_str(),
        "--idp-key",
        rs_file.as_str(),
        "--idp-port",
        port.as_str(),
    ];
    let http = Http::new();
    let first = Served::start(&args);
    assert_eq!(first.s("/idp_issuer"), format!("http://127.0.0.1:{port}"));
    let jwks = first.info["idp_jwks"].clone();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2, "{jwks}");
    for (k, key) in keys.iter().zip([&es, &rs]) {
        for member in ["kty", "crv", "x", "y", "n", "e"] {
            assert_eq!(k[member], key.public_jwk()[member], "{member}");
        }
    }
    // The JWKS served is the one printed.
    assert_eq!(http.get(&first.s("/idp_jwks_uri")).json(), jwks);
    let verifier = pinned_verifier(&first.info);
    let (jag, header) = admin_id_jag(&http, &first);
    assert_eq!(header["alg"], "ES256");
    let client_id = first.s("/clients/as/client_id");
    verifier.verify(&jag, &client_id, None).unwrap();
    first.stop();

    let second = Served::start(&args);
    assert_eq!(second.s("/idp_issuer"), format!("http://127.0.0.1:{port}"));
    assert_eq!(
        second.info["idp_jwks"], jwks,
        "the same JWKS after a restart"
    );
    let (jag2, _) = admin_id_jag(&http, &second);
    let kid = |jwt: &str| jwt_part(jwt, 0)["kid"].as_str().unwrap().to_string();
    assert_eq!(kid(&jag2), kid(&jag));
    assert_eq!(serde_json::json!(kid(&jag)), jwks["keys"][0]["kid"]);
    verifier.verify(&jag2, &client_id, None).unwrap();
    second.stop();

    // Without the flags the keys are fresh: the pinned verifier refuses.
    let fresh = Served::start(&[]);
    let (jag3, _) = admin_id_jag(&http, &fresh);
    let e = verifier.verify(&jag3, &client_id, None).unwrap_err();
    assert_eq!(e.reason(), Some("untrusted_issuer"));
    fresh.stop();
}

/// `--key-seed SEED` derives the ES256 key (and with `--ed25519` the EdDSA key): the same
/// seed gives the same JWK in every run, another seed another key; `--idp-key` wins over
/// the seed for its algorithm.
#[test]
fn serve_key_seed_is_deterministic() {
    let jwk_of = |info: &serde_json::Value, kty: &str| {
        info["idp_jwks"]["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kty"] == kty)
            .cloned()
            .unwrap_or_else(|| panic!("no {kty} key in {}", info["idp_jwks"]))
    };
    let a = Served::start(&["--key-seed", "my-ci-seed", "--ed25519"]);
    let b = Served::start(&[
        "--key-seed",
        "my-ci-seed",
        "--ed25519",
        "--id-jag-alg",
        "EdDSA",
    ]);
    let c = Served::start(&["--key-seed", "another-seed"]);
    for kty in ["EC", "OKP"] {
        assert_eq!(jwk_of(&a.info, kty), jwk_of(&b.info, kty), "{kty}");
    }
    assert_ne!(jwk_of(&a.info, "EC"), jwk_of(&c.info, "EC"));
    // RSA keys are not derived.
    assert_ne!(jwk_of(&a.info, "RSA"), jwk_of(&b.info, "RSA"));

    // An EdDSA ID-JAG from run b verifies with the JWKS pinned from run a.
    let http = Http::new();
    let mut info = a.info.clone();
    info["idp_issuer"] = b.info["idp_issuer"].clone();
    let (jag, header) = admin_id_jag(&http, &b);
    assert_eq!(header["alg"], "EdDSA");
    pinned_verifier(&info)
        .verify(&jag, &b.s("/clients/as/client_id"), None)
        .unwrap();

    let dir = TempDir::new("seed-and-file");
    let es = idjag_testkit::TestKey::generate(idjag_testkit::Alg::ES256);
    let file = dir.write("es.pem", es.private_key_pem());
    let d = Served::start(&["--key-seed", "my-ci-seed", "--idp-key", &file]);
    assert_eq!(jwk_of(&d.info, "EC")["x"], es.public_jwk()["x"]);
    for k in [a, b, c, d] {
        k.stop();
    }
}

/// Bad key and port arguments are usage errors (exit 2) that name the flag and never print
/// key material.
#[test]
fn serve_refuses_bad_keys_and_ports() {
    let dir = TempDir::new("bad-keys");
    let es = idjag_testkit::TestKey::generate(idjag_testkit::Alg::ES256);
    let es2 = idjag_testkit::TestKey::generate(idjag_testkit::Alg::ES256);
    let garbage = dir.write(
        "garbage.pem",
        "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWJ5dGVz\n-----END PRIVATE KEY-----\n",
    );
    let public = dir.write("public.pem", es.public_key_pem());
    let one = dir.write("one.pem", es.private_key_pem());
    let two = dir.write("two.pem", es2.private_key_pem());
    let missing = dir.0.join("missing.pem").to_string_lossy().into_owned();
    let body = |pem: &str| {
        pem.lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<String>()
    };
    for (args, needle) in [
        (vec!["--idp-key", garbage.as_str()], "--idp-key"),
        (vec!["--idp-key", public.as_str()], "PRIVATE KEY"),
        (vec!["--idp-key", missing.as_str()], "--idp-key"),
        (
            vec!["--idp-key", one.as_str(), "--idp-key", two.as_str()],
            "second ES256",
        ),
        (vec!["--key-seed", ""], "--key-seed"),
        (vec!["--idp-port", "0"], "--idp-port"),
        (vec!["--idp-port", "70000"], "--idp-port"),
    ] {
        let (code, stderr) = refused(&args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(!stderr.contains("c2VjcmV0"), "{stderr}");
        assert!(
            !stderr.contains(&body(es.private_key_pem())[..40]),
            "{stderr}"
        );
    }

    // A taken port is a start-up failure (exit 1) naming it.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let (code, stderr) = refused(&["--idp-port", &port]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains(&port), "{stderr}");
}
