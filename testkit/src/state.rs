//! State shared by the three servers and the Rust API.

use crate::clients::Registered;
use crate::faults::{CounterTable, FaultTable, RequestRecord};
use crate::keys::{KeySet, TestKey};
use crate::options::Options;
use crate::sync::lock;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// All URLs of the kit.
#[derive(Clone, Debug)]
pub(crate) struct Urls {
    pub idp_origin: String,
    pub as_origin: String,
    pub mcp_origin: String,
    pub idp_issuer: String,
    pub as_issuer: String,
    /// The AS path (`""` or `/as`).
    pub as_path: String,
    pub mcp_url: String,
    pub prm_url: String,
}

impl Urls {
    pub fn idp_token_endpoint(&self) -> String {
        format!("{}/token", self.idp_issuer)
    }
    pub fn idp_jwks_uri(&self) -> String {
        format!("{}/jwks", self.idp_issuer)
    }
    pub fn idp_authorization_endpoint(&self) -> String {
        format!("{}/authorize", self.idp_issuer)
    }
    pub fn as_token_endpoint(&self) -> String {
        format!("{}/token", self.as_issuer.trim_end_matches('/'))
    }
    pub fn as_metadata_url(&self) -> String {
        format!(
            "{}/.well-known/oauth-authorization-server{}",
            self.as_origin, self.as_path
        )
    }
    pub fn prm_root_url(&self) -> String {
        format!("{}/.well-known/oauth-protected-resource", self.mcp_origin)
    }
    pub fn admin_url(&self) -> String {
        format!("{}/__testkit", self.idp_origin)
    }
}

/// An IdP refresh token.
#[derive(Clone, Debug)]
pub(crate) struct RefreshRecord {
    pub user: String,
    pub client_id: String,
    pub scope: String,
    pub exp: i64,
}

/// An IdP authorization code.
#[derive(Clone, Debug)]
pub(crate) struct CodeRecord {
    pub user: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: Option<(String, String)>,
    pub nonce: Option<String>,
    pub scope: String,
    pub exp: i64,
}

/// An access token issued by the AS.
#[derive(Clone, Debug)]
pub(crate) struct AccessTokenRecord {
    pub user: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub resource: String,
    pub exp: i64,
}

pub(crate) struct Shared {
    pub opts: Options,
    pub urls: Urls,
    pub ca_pem: Option<String>,
    pub clock_offset: AtomicI64,
    pub stop: AtomicBool,
    pub idp_keys: RwLock<KeySet>,
    pub idp_clients: Vec<Registered>,
    pub as_clients: Vec<Registered>,
    /// IdP client id → client id at the AS (the ID-JAG `client_id`).
    pub client_map: Mutex<HashMap<String, String>>,
    pub refresh_tokens: Mutex<HashMap<String, RefreshRecord>>,
    pub auth_codes: Mutex<HashMap<String, CodeRecord>>,
    pub idp_assertion_jtis: Mutex<HashMap<String, i64>>,
    pub as_assertion_jtis: Mutex<HashMap<String, i64>>,
    /// The AS's ID-JAG verifier (the core's `IdJagVerifier`), set once at start.
    pub verifier: std::sync::OnceLock<idjag::IdJagVerifier>,
    pub access_tokens: Mutex<HashMap<String, AccessTokenRecord>>,
    pub sessions: Mutex<HashSet<String>>,
    pub faults: Mutex<FaultTable>,
    pub counters: Mutex<CounterTable>,
    pub log: Mutex<Vec<RequestRecord>>,
    pub last_as_rejection: Mutex<Option<String>>,
    /// The key set of `opts.mcp_authorization_server`, once fetched (`external_as`).
    pub external_jwks: Mutex<Option<jsonwebtoken::jwk::JwkSet>>,
}

/// Most request records kept.
const MAX_LOG: usize = 10_000;

impl Shared {
    /// Unix seconds, shifted by the test clock offset.
    pub fn now(&self) -> i64 {
        let real = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        real + self.clock_offset.load(Ordering::SeqCst)
    }

    /// Sleeps, waking early when the kit shuts down.
    /// Sleeps `ms` in short naps (so a stopping kit is not held up), against one deadline: on
    /// a loaded machine each nap oversleeps, and summing naps would stretch the delay.
    pub fn sleep_ms(&self, ms: u64) {
        let deadline = std::time::Instant::now() + Duration::from_millis(ms);
        while !self.stop.load(Ordering::SeqCst) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                break;
            }
            std::thread::sleep(left.min(Duration::from_millis(10)));
        }
    }

    pub fn keys(&self) -> RwLockReadGuard<'_, KeySet> {
        self.idp_keys.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn keys_mut(&self) -> RwLockWriteGuard<'_, KeySet> {
        self.idp_keys.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The active IdP key for `alg`, or any published key as a fallback.
    pub fn signing_key(&self, alg: crate::keys::Alg) -> Option<TestKey> {
        let ks = self.keys();
        ks.signing_key(alg)
            .or_else(|| ks.published.first())
            .cloned()
    }

    pub fn record(&self, rec: RequestRecord) {
        let mut log = lock(&self.log);
        if log.len() >= MAX_LOG {
            log.remove(0);
        }
        log.push(rec);
    }

    /// The resources governed by the AS: the MCP URL plus the configured extras.
    pub fn governed_resources(&self) -> Vec<String> {
        let mut v = vec![self.urls.mcp_url.clone()];
        v.extend(
            self.opts
                .extra_mcp_paths
                .iter()
                .map(|p| format!("{}{p}", self.urls.mcp_origin)),
        );
        v.extend(self.opts.extra_resources.iter().cloned());
        v
    }

    pub fn email(&self, user: &str) -> String {
        if user.contains('@') {
            user.to_string()
        } else {
            format!("{user}@{}", self.opts.email_domain)
        }
    }

    /// The AS client id the IdP puts in ID-JAGs for an IdP client.
    pub fn as_client_for(&self, idp_client_id: &str) -> String {
        lock(&self.client_map)
            .get(idp_client_id)
            .cloned()
            .unwrap_or_else(|| {
                self.as_clients
                    .first()
                    .map(|c| c.info.client_id.clone())
                    .unwrap_or_default()
            })
    }

    pub fn random_token(&self) -> String {
        let mut b = [0u8; 32];
        let _ = aws_lc_rs::rand::fill(&mut b);
        crate::jwt::b64(&b)
    }
}
