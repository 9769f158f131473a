//! `examples/client.rs` as its header says to run it: against the testkit's `serve --json`
//! line (written here from an in-process kit, which is the same JSON), calling a tool,
//! stepping up on a 403, renewing across calls, over HTTP and HTTPS — never printing a
//! token or a secret.
#![allow(clippy::unwrap_used)]

use idjag_testkit::{Options, TestKit};
use std::path::PathBuf;
use std::process::Command;

/// Builds the example (a no-op when it is fresh) and returns its path.
fn example() -> PathBuf {
    let mut build = Command::new(env!("CARGO"));
    build.args(["build", "-q", "-p", "idjag", "--example", "client"]);
    if !cfg!(debug_assertions) {
        build.arg("--release");
    }
    // The variables cargo sets for this test process would make build scripts that watch
    // them (ring's watches CARGO_MANIFEST_DIR) rebuild for the nested build, and again after.
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy();
        if [
            "CARGO_PKG_",
            "CARGO_MANIFEST_",
            "CARGO_CRATE_",
            "CARGO_BIN_",
            "CARGO_PRIMARY_",
        ]
        .iter()
        .any(|p| k.starts_with(p))
            || k == "CARGO_TARGET_TMPDIR"
        {
            build.env_remove(k.as_ref());
        }
    }
    let status = build.status().unwrap();
    assert!(status.success(), "cargo build --example client");
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap(); // target/<profile>/deps/.. → target/<profile>
    dir.join("examples")
        .join(format!("client{}", std::env::consts::EXE_SUFFIX))
}

/// Runs the example with `--testkit <kit's serve --json line>` and `args`.
fn run(kit: &TestKit, args: &[&str]) -> (bool, String, String) {
    let dir = std::env::temp_dir().join(format!(
        "idjag-example-client-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("kit.json");
    std::fs::write(&file, format!("{}\n", kit.info_json())).unwrap();
    let out = Command::new(example())
        .arg("--testkit")
        .arg(&file)
        .args(args)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn assert_no_secrets(kit: &TestKit, text: &str) {
    for secret in [
        kit.idp_client().client_secret.unwrap(),
        kit.as_client().client_secret.unwrap(),
    ] {
        assert!(!text.contains(&secret), "a client secret was printed");
    }
    assert!(
        !text.contains("eyJ"),
        "a JWT (ID token / ID-JAG) was printed"
    );
}

#[test]
fn example_client_calls_a_tool_and_steps_up() {
    let kit = TestKit::start();
    let (ok, stdout, stderr) = run(&kit, &["--tool", "whoami"]);
    assert!(ok, "{stdout}\n{stderr}");
    assert!(stdout.contains("connected to idjag-testkit"), "{stdout}");
    assert!(stdout.contains(r#""sub":"alice""#), "{stdout}");
    assert!(stderr.contains("as_grant"), "events on stderr: {stderr}");
    assert_no_secrets(&kit, &format!("{stdout}{stderr}"));

    // admin_reset needs mcp:admin: a 403 insufficient_scope, a step-up, one retry.
    let (ok, stdout, stderr) = run(&kit, &["--tool", "admin_reset"]);
    assert!(ok, "{stdout}\n{stderr}");
    assert!(stderr.contains("403"), "{stderr}");
    assert!(stdout.contains("reset done"), "{stdout}");
    assert!(stdout.contains("mcp:admin"), "{stdout}");
}

#[test]
fn example_client_renews_between_calls() {
    let kit = TestKit::start_with(Options {
        as_token_ttl_secs: 2,
        ..Default::default()
    });
    let (ok, stdout, stderr) = run(&kit, &["--calls", "3", "--interval-ms", "1200"]);
    assert!(ok, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("tools: whoami, echo, admin_reset"),
        "{stdout}"
    );
    let calls: Vec<&str> = stdout.lines().filter(|l| l.starts_with("call ")).collect();
    assert_eq!(calls.len(), 3, "{stdout}");
    assert!(
        calls[1].contains("new token") || calls[2].contains("new token"),
        "{stdout}"
    );
    // One ID-JAG and one redemption per token: the initial one plus the renewals.
    let c = kit.counters();
    let (idp, asr) = (
        c.requests(idjag_testkit::Endpoint::IdpToken),
        c.requests(idjag_testkit::Endpoint::AsToken),
    );
    assert_eq!(idp, asr);
    assert!(asr >= 2, "{asr} redemptions");
}

#[test]
fn example_client_over_tls() {
    let kit = TestKit::start_with(Options {
        tls: true,
        ..Default::default()
    });
    let (ok, stdout, stderr) = run(&kit, &["--tool", "whoami"]);
    assert!(ok, "{stdout}\n{stderr}");
    assert!(stderr.contains("https://127.0.0.1:"), "{stderr}");
    assert!(stdout.contains(r#""sub":"alice""#), "{stdout}");
}
