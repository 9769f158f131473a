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
