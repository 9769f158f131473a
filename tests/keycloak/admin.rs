//! Keycloak's admin REST API for the Rust Keycloak tests (`core/tests/keycloak.rs`,
//! `integrations/rmcp/tests/keycloak.rs`), included by both with `#[path]`: one copy of the
//! Rust admin calls. Plain ureq (not idjag, which only does GET/POST and refuses non-JSON).
#![allow(dead_code)] // each including test uses a part

use serde_json::Value;
use std::time::Duration;

/// The realm template shared by the Rust, Python and Node Keycloak tests, with its
/// placeholders filled in.
pub fn realm_json(realm: &str, idp_issuer: &str, idp_jwks_uri: &str, mcp_audience: &str) -> Value {
    let text = include_str!("realm.json")
        .replace("{{REALM}}", realm)
        .replace("{{IDP_ISSUER}}", idp_issuer)
        .replace("{{IDP_JWKS_URL}}", idp_jwks_uri)
        .replace("{{MCP_AUDIENCE}}", mcp_audience);
    serde_json::from_str(&text).expect("tests/keycloak/realm.json")
}

/// A fresh realm name (`<prefix>-<8 hex>`).
pub fn realm_name(prefix: &str) -> String {
    format!("{prefix}-{:08x}", rand_u32())
}

fn rand_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish() as u32
}

pub fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string())
}

pub fn keycloak_url() -> String {
    match std::env::var("IDJAG_KEYCLOAK_URL") {
        Ok(u) if !u.is_empty() => u.trim_end_matches('/').to_string(),
        _ => panic!(
            "IDJAG_KEYCLOAK_URL is not set. This test needs a running Keycloak: \
             `scripts/keycloak.sh start`, then \
             `IDJAG_KEYCLOAK_URL=http://127.0.0.1:18080 cargo test -p idjag --test keycloak -- --ignored` \
             (scripts/test.sh does both)"
        ),
    }
}

pub struct Admin {
    pub base: String,
    /// No redirects, statuses as values, 60 s per call (also for the test's own requests).
    pub agent: ureq::Agent,
}

impl Admin {
    pub fn new(base: &str) -> Admin {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .new_agent();
        Admin {
            base: base.to_string(),
            agent,
        }
    }

    /// A fresh admin token each time: the master realm's tokens live 60 s.
    pub fn token(&self) -> String {
        let form = [
            ("grant_type", "password".to_string()),
            ("client_id", "admin-cli".to_string()),
            ("username", env_or("IDJAG_KEYCLOAK_ADMIN", "admin")),
            ("password", env_or("IDJAG_KEYCLOAK_ADMIN_PASSWORD", "admin")),
        ];
        let mut resp = self
            .agent
            .post(&format!(
                "{}/realms/master/protocol/openid-connect/token",
                self.base
            ))
            .send_form(form)
            .expect("admin token request");
        let status = resp.status().as_u16();
        let body = resp.body_mut().read_to_string().unwrap_or_default();
        assert_eq!(status, 200, "admin token: {body}");
        let v: Value = serde_json::from_str(&body).expect("admin token JSON");
        v["access_token"]
            .as_str()
            .expect("admin access_token")
            .to_string()
    }

    pub fn call(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, String) {
        let url = format!("{}{}", self.base, path);
        let auth = format!("Bearer {}", self.token());
        let resp = match (method, body) {
            ("GET", _) => self.agent.get(&url).header("authorization", &auth).call(),
            ("DELETE", _) => self
                .agent
                .delete(&url)
                .header("authorization", &auth)
                .call(),
            ("POST", Some(b)) => self
                .agent
                .post(&url)
                .header("authorization", &auth)
                .header("content-type", "application/json")
                .send(b.to_string().as_bytes()),
            ("PUT", Some(b)) => self
                .agent
                .put(&url)
                .header("authorization", &auth)
                .header("content-type", "application/json")
                .send(b.to_string().as_bytes()),
            _ => panic!("unsupported admin call {method} {path}"),
        };
        let mut resp = resp.unwrap_or_else(|e| panic!("admin {method} {path}: {e}"));
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        (status, text)
    }

    pub fn get_json(&self, path: &str) -> Value {
        let (status, text) = self.call("GET", path, None);
        assert_eq!(status, 200, "GET {path}: {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("GET {path}: {e}: {text}"))
    }
}

/// Deletes the per-run realm when the test ends, passed or not.
pub struct RealmGuard<'a> {
    pub admin: &'a Admin,
    pub realm: String,
}

impl Drop for RealmGuard<'_> {
    fn drop(&mut self) {
        if std::env::var_os("IDJAG_KEYCLOAK_KEEP_REALM").is_some() {
            println!("keeping realm {} (IDJAG_KEYCLOAK_KEEP_REALM)", self.realm);
            return;
        }
        let (status, text) =
            self.admin
                .call("DELETE", &format!("/admin/realms/{}", self.realm), None);
        if status != 204 {
            eprintln!("could not delete realm {}: {status} {text}", self.realm);
        }
    }
}
