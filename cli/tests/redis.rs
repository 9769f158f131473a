//! The `idjag` binary ships the Redis replay store (`replay: {"redis_url": …}`): separate
//! `idjag verify` processes sharing one real `redis-server` (started here on a random
//! loopback port, killed at the end) accept an ID-JAG exactly once, and fail closed
//! (exit 12, wire 503) when Redis is unreachable.
//!
//! These tests FAIL when `redis-server` is not installed (run `scripts/ensure-redis.sh`),
//! unless `IDJAG_ALLOW_NO_REDIS=1` is set explicitly — as `core/tests/verify_redis.rs`.
#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct RedisServer {
    child: Child,
    url: String,
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// `PING` over RESP.
fn pong(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
    if s.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 7];
    s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
}

/// Starts redis-server, or returns `None` only when skipping was explicitly allowed.
fn redis() -> Option<RedisServer> {
    let bin = std::env::var("IDJAG_REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
    if Command::new(&bin)
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_err()
    {
        if std::env::var("IDJAG_ALLOW_NO_REDIS").as_deref() == Ok("1") {
            eprintln!("SKIPPED: redis-server not found and IDJAG_ALLOW_NO_REDIS=1");
            return None;
        }
        panic!("redis-server not found: run scripts/ensure-redis.sh (or set IDJAG_ALLOW_NO_REDIS=1 to skip the Redis tests)");
    }
    for _attempt in 0..5 {
        let port = free_port();
        let mut child = Command::new(&bin)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                break; // exited (port taken?): try another port
            }
            if pong(port) {
                return Some(RedisServer {
                    child,
                    url: format!("redis://127.0.0.1:{port}/0"),
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("redis-server did not start");
}

fn write_config(tag: &str, config: &Value) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "idjag-cli-redis-{tag}-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("verifier.json");
    std::fs::write(&path, config.to_string()).unwrap();
    path
}

fn verifier_config(kit: &idjag_testkit::TestKit, replay: Option<Value>) -> Value {
    let mut cfg = json!({
        "issuer": kit.as_issuer(),
        "resources": [kit.mcp_url()],
        "trusted_idps": [{"issuer": kit.idp_issuer(), "jwks": kit.idp_jwks()}],
    });
    if let Some(r) = replay {
        cfg["replay"] = r;
    }
    cfg
}

/// Starts `idjag verify --json` with the ID-JAG on stdin.
fn spawn_verify(config: &PathBuf, client_id: &str, id_jag: &str) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_idjag"))
        .args(["verify", "--json", "--client-id", client_id, "--config"])
        .arg(config)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(id_jag.as_bytes()).unwrap();
    drop(stdin);
    child
}

/// (exit code, the JSON document on stdout).
fn finish(child: Child) -> (Option<i32>, Value) {
    let out = child.wait_with_output().unwrap();
    let doc = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON document ({e}): {} / {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), doc)
}

/// Two `idjag verify` processes, started together on the same ID-JAG with one Redis: one
/// accepts, the other refuses it as replayed — for several ID-JAGs in a row.
#[test]
fn two_verify_processes_sharing_redis_accept_an_id_jag_once() {
    let Some(server) = redis() else { return };
    let kit = idjag_testkit::TestKit::start();
    let config = write_config(
        "shared",
        &verifier_config(
            &kit,
            Some(json!({"redis_url": server.url, "key_prefix": "cli-test:jti:"})),
        ),
    );
    let client_id = kit.as_client().client_id;
    for round in 0..4 {
        let id_jag = kit.mint_id_jag("alice");
        let a = spawn_verify(&config, &client_id, &id_jag);
        let b = spawn_verify(&config, &client_id, &id_jag);
        let mut results = [finish(a), finish(b)];
        results.sort_by_key(|(code, _)| *code);
        let [(ok_code, ok_doc), (replay_code, replay_doc)] = results;
        assert_eq!(ok_code, Some(0), "round {round}: {ok_doc}");
        assert_eq!(ok_doc["ok"], json!(true));
        assert_eq!(ok_doc["grant"]["sub"], json!("alice"));
        assert_eq!(replay_code, Some(24), "round {round}: {replay_doc}");
        assert_eq!(replay_doc["code"], json!("verification_failed"));
        assert_eq!(replay_doc["reason"], json!("replayed"));
        assert_eq!(replay_doc["wire"]["status"], json!(400));
        assert_eq!(replay_doc["wire"]["body"]["error"], json!("invalid_grant"));
        // A third process later: still replayed.
        let (code, doc) = finish(spawn_verify(&config, &client_id, &id_jag));
        assert_eq!((code, doc["reason"].clone()), (Some(24), json!("replayed")));
    }
}

/// The contrast that makes Redis necessary: with the default in-memory store each process
/// has its own memory, so both accept the same ID-JAG.
#[test]
fn without_redis_each_process_accepts_the_same_id_jag() {
    let kit = idjag_testkit::TestKit::start();
    let config = write_config("memory", &verifier_config(&kit, None));
    let client_id = kit.as_client().client_id;
    let id_jag = kit.mint_id_jag("alice");
    for _ in 0..2 {
        let (code, doc) = finish(spawn_verify(&config, &client_id, &id_jag));
        assert_eq!(code, Some(0), "{doc}");
    }
}

/// Redis unreachable: not a rejection but an outage — exit 12 (`transport`), wire
/// `503 temporarily_unavailable`, and the URL's password never printed.
#[test]
fn unreachable_redis_fails_closed() {
    let kit = idjag_testkit::TestKit::start();
    let port = free_port();
    let url = format!("redis://:pw-planted-9f2@127.0.0.1:{port}/0");
    let config = write_config(
        "down",
        &verifier_config(
            &kit,
            Some(json!({"redis_url": url, "redis_timeout_ms": 500})),
        ),
    );
    let child = spawn_verify(
        &config,
        &kit.as_client().client_id,
        &kit.mint_id_jag("alice"),
    );
    let out = child.wait_with_output().unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(12), "{doc}");
    assert_eq!(doc["code"], json!("transport"));
    assert_eq!(doc["wire"]["status"], json!(503));
    assert_eq!(
        doc["wire"]["body"]["error"],
        json!("temporarily_unavailable")
    );
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains("pw-planted"), "{all}");
}
