//! # idjag-testkit
//!
//! A real enterprise IdP, an MCP authorization server (AS) and an MCP server, each on its own
//! loopback port (distinct origins), for testing MCP Enterprise-Managed Authorization
//! (SEP-990 / ID-JAG) clients and verifiers over real HTTP.
//!
//! ```
//! let kit = idjag_testkit::TestKit::start();
//! let id_token = kit.mint_id_token("alice");
//! assert!(kit.mcp_url().ends_with("/mcp"));
//! assert_eq!(id_token.split('.').count(), 3);
//! ```
//!
//! - **IdP** (`idp_issuer()`): OIDC/RFC 8414 metadata, `/jwks` (ES256 + RS256 keys, rotatable),
//!   an auto-approving `/authorize`, and `/token` with token exchange (ID token / SAML
//!   assertion / IdP refresh token → ID-JAG, or → IdP refresh token), refresh-token rotation
//!   and authorization codes. Client authentication: `client_secret_basic` (RFC 6749 §2.3.1
//!   form-urlencoding enforced), `client_secret_post`, `private_key_jwt`, `none`.
//! - **AS** (`as_issuer()`, optionally under a path): metadata advertising the ID-JAG grant
//!   profile, and `/token` for the JWT-bearer grant. ID-JAGs are verified by the core's
//!   `idjag::IdJagVerifier` (dogfooding), which fetches the IdP's JWKS over loopback HTTP.
//! - **MCP server** (`mcp_url()`): protected-resource metadata, 401/403 challenges, and a
//!   minimal streamable-HTTP JSON-RPC endpoint with the tools `whoami`, `echo`, `admin_reset`.
//! - Per-endpoint request/connection [`Counters`], [`Fault`] injection, a request log, a
//!   shiftable clock, and an admin HTTP API on the IdP (`admin_url()`, see the `admin`
//!   module docs) so tests in other languages can drive everything.
//! - Optional HTTPS with a throw-away CA ([`Options::tls`], [`TestKit::ca_pem`]).
//!
//! Everything here is test material: private keys and secrets are handed out in clear.
//!
//! ## Registered clients
//!
//! | Accessor | `client_id` | Authentication |
//! | --- | --- | --- |
//! | [`TestKit::idp_client`] | `idp-client` | `client_secret_basic` / `client_secret_post` |
//! | [`TestKit::idp_jwt_client`] | `idp-jwt-client` | `private_key_jwt` (ES256) |
//! | [`TestKit::idp_public_client`] | `idp-public-client` | `none` |
//! | [`TestKit::as_client`] | `mcp-client` | `client_secret_basic` / `client_secret_post` |
//! | [`TestKit::as_jwt_client`] | `mcp-jwt-client` | `private_key_jwt` (RS256) |
//! | [`TestKit::as_post_client`] | `mcp-post-client` | `client_secret_post` only |
//!
//! Secrets contain `: + / % & =` and a space, so HTTP Basic only works with the RFC 6749
//! §2.3.1 form-urlencoding (see [`Options::lenient_basic`] and [`Options::plain_secrets`]).
//! The IdP maps its clients to AS clients for the ID-JAG `client_id`: `idp-client` and
//! `idp-public-client` → `mcp-client`, `idp-jwt-client` → `mcp-jwt-client`
//! (change with [`TestKit::map_client`]).
//!
//! ## Other languages
//!
//! `idjag-testkit serve --json` prints one JSON line ([`TestKit::info_json`]: URLs, every
//! client's credentials, `context` shaped like the MCP conformance suite's
//! `MCP_CONFORMANCE_CONTEXT`) and serves until stdin is closed. The admin API under
//! `{idp}/__testkit/` ([`TestKit::admin_url`]):
//!
//! | Method + path | Body / result |
//! | --- | --- |
//! | `GET /__testkit` or `/__testkit/context` | the `serve --json` object |
//! | `GET /__testkit/counters` | [`Counters`] as JSON |
//! | `POST /__testkit/reset` | clears counters, faults and the request log |
//! | `GET /__testkit/faults` | current faults per endpoint |
//! | `POST /__testkit/faults` | `{"endpoint": "as_token", "fault": {"type": "status", "status": 503, "body": "…"}, "times": 1}`; `{"endpoint": "as_token", "clear": true}`; `{"clear": true}` (fault JSON: see [`Fault`]) |
//! | `GET /__testkit/requests` | the request log ([`RequestRecord`]s) |
//! | `POST /__testkit/revoke_access_tokens` | `{}` → `{"revoked": n}`: the MCP server answers every access token issued so far with 401 |
//! | `GET /__testkit/last_rejection` | `{"reason": "audience_mismatch"}` (`null` after a success): why the AS last rejected an ID-JAG |
//! | `POST /__testkit/id_token` | `{"user", "aud"?, "iss"?, "iat"?, "exp"?, "ttl_secs"?, "nonce"?, "alg"?, "extra"?}` → `{"id_token"}` |
//! | `POST /__testkit/saml_assertion` | `{"user", "issuer"?, "audience"?, "not_on_or_after"?}` → `{"assertion"}` |
//! | `POST /__testkit/refresh_token` | `{"user", "client_id"?, "scope"?}` → `{"refresh_token"}` |
//! | `POST /__testkit/id_jag` | `{"user"?, "claims"?: {…; null removes}, "header"?: {…}}` → `{"id_jag", "claims", "header"}` |
//! | `POST /__testkit/access_token` | `{"user"?, "client_id"?, "scope"?, "ttl_secs"?, "resource"?}` → `{"access_token"}` |
//! | `POST /__testkit/rotate_keys` | `{"alg": "ES256", "drop_old": false}` → `{"kid"}` |
//! | `POST /__testkit/unpublish_key` | `{"kid"}` → `{"removed": bool}` |
//! | `POST /__testkit/clock` | `{"offset_secs": 3600}` shifts the servers' clock |
//! | `POST /__testkit/client_map` | `{"idp_client_id", "as_client_id"}` |
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod admin;
mod as_verify;
mod authz;
mod clients;
mod dispatch;
mod external_as;
mod faults;
mod httpd;
mod idp;
mod jwt;
mod keys;
mod matrix;
mod mcp;
mod oauth;
mod options;
mod saml;
mod state;
mod sync;
mod tls;

pub use clients::Client;
pub use faults::{Count, Counters, Endpoint, Fault, FaultRule, RequestRecord, Role};
pub use idp::IdTokenSpec;
pub use keys::{Alg, TestKey};
pub use matrix::record_matrix;
pub use mcp::{ADMIN_SCOPE, PROTOCOL_VERSIONS};
pub use options::{AsMetadataVariants, Options};
pub use saml::SamlSpec;

use clients::Registered;
use httpd::{lock, HttpServer};
use keys::KeySet;
use serde_json::{Map, Value};
use state::{Shared, Urls};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// Secret of the IdP confidential client: needs form-urlencoding inside HTTP Basic.
const IDP_CLIENT_SECRET: &str = "idp:s3cr+t/%&= x";
/// Secret of the AS confidential clients: needs form-urlencoding inside HTTP Basic.
const AS_CLIENT_SECRET: &str = "as:s3cr+t/%&= y";
/// Secrets used with [`Options::plain_secrets`].
const IDP_PLAIN_SECRET: &str = "idpPlainSecret0123456789";
const AS_PLAIN_SECRET: &str = "asPlainSecret0123456789";

/// A running kit: three servers on loopback. Dropping it stops them (workers are joined).
pub struct TestKit {
    shared: Arc<Shared>,
    servers: Vec<HttpServer>,
}

impl fmt::Debug for TestKit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestKit")
            .field("idp_issuer", &self.shared.urls.idp_issuer)
            .field("as_issuer", &self.shared.urls.as_issuer)
            .field("mcp_url", &self.shared.urls.mcp_url)
            .finish_non_exhaustive()
    }
}

fn normalize_path(p: Option<&str>) -> String {
    let p = p.unwrap_or("").trim().trim_end_matches('/');
    if p.is_empty() {
        String::new()
    } else if p.starts_with('/') {
        p.to_string()
    } else {
        format!("/{p}")
    }
}

impl TestKit {
    /// Starts a kit with [`Options::default`].
    ///
    /// # Panics
    /// If the servers cannot be started (no loopback, out of ports).
    pub fn start() -> TestKit {
        TestKit::start_with(Options::default())
    }

    /// Starts a kit with the given options.
    ///
    /// # Panics
    /// If the servers cannot be started (see [`TestKit::try_start_with`]).
    pub fn start_with(opts: Options) -> TestKit {
        match TestKit::try_start_with(opts) {
            Ok(k) => k,
            Err(e) => panic!("idjag-testkit failed to start: {e}"),
        }
    }

    /// Starts a kit, returning an error message instead of panicking.
    pub fn try_start_with(opts: Options) -> Result<TestKit, String> {
        let pki = if opts.tls {
            Some(tls::generate()?)
        } else {
            None
        };
        let cfg = pki.as_ref().map(|p| Arc::clone(&p.server_config));
        let bind = |port: u16| {
            HttpServer::bind(cfg.clone(), port).map_err(|e| format!("bind 127.0.0.1:{port}: {e}"))
        };
        let mut servers = vec![bind(opts.idp_port.unwrap_or(0))?, bind(0)?, bind(0)?];
        let scheme = if pki.is_some() { "https" } else { "http" };
        let origin = |s: &HttpServer| format!("{scheme}://127.0.0.1:{}", s.public_addr.port());
        let (idp_origin, as_origin, mcp_origin) = (
            origin(&servers[0]),
            origin(&servers[1]),
            origin(&servers[2]),
        );
        let as_path = normalize_path(opts.as_path.as_deref());
        let urls = Urls {
            idp_issuer: idp_origin.clone(),
            as_issuer: format!(
                "{as_origin}{as_path}{}",
                if opts.as_issuer_trailing_slash {
                    "/"
                } else {
                    ""
                }
            ),
            as_path,
            mcp_url: format!("{mcp_origin}/mcp"),
            prm_url: format!("{mcp_origin}/.well-known/oauth-protected-resource/mcp"),
            idp_origin,
            as_origin,
            mcp_origin,
        };

        let fixed = |alg: Alg| opts.idp_signing_keys.iter().find(|k| k.alg() == alg);
        for (i, k) in opts.idp_signing_keys.iter().enumerate() {
            if opts.idp_signing_keys[..i]
                .iter()
                .any(|o| o.alg() == k.alg())
            {
                return Err(format!("two fixed IdP signing keys for {}", k.alg()));
            }
        }
        let mut idp_keys = vec![
            fixed(Alg::ES256)
                .cloned()
                .unwrap_or_else(|| TestKey::generate_cached(Alg::ES256, 0)),
            fixed(Alg::RS256)
                .cloned()
                .unwrap_or_else(|| TestKey::generate_cached(Alg::RS256, 0)),
        ];
        if let Some(k) = fixed(Alg::EdDSA) {
            idp_keys.push(k.clone());
        } else if opts.ed25519_key {
            idp_keys.push(TestKey::generate(Alg::EdDSA));
        }
        let (idp_secret, as_secret) = if opts.plain_secrets {
            (IDP_PLAIN_SECRET, AS_PLAIN_SECRET)
        } else {
            (IDP_CLIENT_SECRET, AS_CLIENT_SECRET)
        };
        let idp_clients = vec![
            Registered::secret(
                "idp-client",
                idp_secret,
                &["client_secret_basic", "client_secret_post"],
            ),
            Registered::jwt("idp-jwt-client", TestKey::generate(Alg::ES256)),
            Registered::public("idp-public-client"),
        ];
        let as_clients = vec![
            Registered::secret(
                "mcp-client",
                as_secret,
                &["client_secret_basic", "client_secret_post"],
            ),
            Registered::jwt("mcp-jwt-client", TestKey::generate_cached(Alg::RS256, 1)),
            Registered::secret("mcp-post-client", as_secret, &["client_secret_post"]),
        ];
        let client_map: HashMap<String, String> = [
            ("idp-client", "mcp-client"),
            ("idp-jwt-client", "mcp-jwt-client"),
            ("idp-public-client", "mcp-client"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();

        let shared = Arc::new(Shared {
            urls,
            ca_pem: pki.map(|p| p.ca_pem),
            clock_offset: AtomicI64::new(0),
            stop: AtomicBool::new(false),
            idp_keys: RwLock::new(KeySet::new(idp_keys)),
            idp_clients,
            as_clients,
            client_map: Mutex::new(client_map),
            refresh_tokens: Mutex::new(HashMap::new()),
            auth_codes: Mutex::new(HashMap::new()),
            idp_assertion_jtis: Mutex::new(HashMap::new()),
            as_assertion_jtis: Mutex::new(HashMap::new()),
            verifier: std::sync::OnceLock::new(),
            access_tokens: Mutex::new(HashMap::new()),
            sessions: Mutex::new(HashSet::new()),
            faults: Mutex::new(Default::default()),
            counters: Mutex::new(Default::default()),
            log: Mutex::new(Vec::new()),
            last_as_rejection: Mutex::new(None),
            external_jwks: Mutex::new(None),
            opts,
        });
        let verifier = as_verify::build_verifier(&shared, shared.ca_pem.clone())?;
        let _ = shared.verifier.set(verifier);
        for (server, role) in servers.iter_mut().zip(Role::ALL) {
            let sh = Arc::clone(&shared);
            server.start(
                shared.opts.workers,
                Arc::new(move |req| dispatch::handle(&sh, role, req)),
            );
        }
        Ok(TestKit { shared, servers })
    }

    /// The options the kit was started with.
    pub fn options(&self) -> &Options {
        &self.shared.opts
    }

    // ---- URLs -------------------------------------------------------------------------

    /// The IdP issuer, `http://127.0.0.1:PORT` (https with [`Options::tls`]).
    pub fn idp_issuer(&self) -> &str {
        &self.shared.urls.idp_issuer
    }

    /// The IdP token endpoint.
    pub fn idp_token_endpoint(&self) -> String {
        self.shared.urls.idp_token_endpoint()
    }

    /// The IdP JWKS URL.
    pub fn idp_jwks_uri(&self) -> String {
        self.shared.urls.idp_jwks_uri()
    }

    /// The IdP authorization endpoint (auto-approves; `login_hint` picks the user).
    pub fn idp_authorization_endpoint(&self) -> String {
        self.shared.urls.idp_authorization_endpoint()
    }

    /// The IdP OIDC discovery URL.
    pub fn idp_metadata_url(&self) -> String {
        format!(
            "{}/.well-known/openid-configuration",
            self.shared.urls.idp_issuer
        )
    }

    /// The AS issuer (`http://127.0.0.1:PORT` or `http://127.0.0.1:PORT/as` with
    /// [`Options::as_path`]).
    pub fn as_issuer(&self) -> &str {
        &self.shared.urls.as_issuer
    }

    /// The AS token endpoint (`{as_issuer}/token`).
    pub fn as_token_endpoint(&self) -> String {
        self.shared.urls.as_token_endpoint()
    }

    /// The AS RFC 8414 metadata URL (path-inserted when the issuer has a path).
    pub fn as_metadata_url(&self) -> String {
        self.shared.urls.as_metadata_url()
    }

    /// The MCP endpoint, `http://127.0.0.1:PORT/mcp` (also the PRM `resource`).
    pub fn mcp_url(&self) -> &str {
        &self.shared.urls.mcp_url
    }

    /// The path-inserted PRM URL (`/.well-known/oauth-protected-resource/mcp`), the one
    /// advertised in `WWW-Authenticate`.
    pub fn prm_url(&self) -> &str {
        &self.shared.urls.prm_url
    }

    /// The root PRM URL (`/.well-known/oauth-protected-resource`).
    pub fn prm_root_url(&self) -> String {
        self.shared.urls.prm_root_url()
    }

    /// The admin API base URL (`{idp}/__testkit`).
    pub fn admin_url(&self) -> String {
        self.shared.urls.admin_url()
    }

    /// The CA certificate (PEM) when started with [`Options::tls`].
    pub fn ca_pem(&self) -> Option<&str> {
        self.shared.ca_pem.as_deref()
    }

    // ---- Clients ----------------------------------------------------------------------

    /// IdP confidential client (`client_secret_basic` or `client_secret_post`).
    pub fn idp_client(&self) -> Client {
        self.shared.idp_clients[0].info.clone()
    }

    /// IdP `private_key_jwt` client (ES256 key).
    pub fn idp_jwt_client(&self) -> Client {
        self.shared.idp_clients[1].info.clone()
    }

    /// IdP public client (`none`).
    pub fn idp_public_client(&self) -> Client {
        self.shared.idp_clients[2].info.clone()
    }

    /// AS confidential client (`client_secret_basic` or `client_secret_post`); the ID-JAG
    /// `client_id` for [`TestKit::idp_client`] and [`TestKit::idp_public_client`].
    pub fn as_client(&self) -> Client {
        self.shared.as_clients[0].info.clone()
    }

    /// AS `private_key_jwt` client (RS256 key); the ID-JAG `client_id` for
    /// [`TestKit::idp_jwt_client`].
    pub fn as_jwt_client(&self) -> Client {
        self.shared.as_clients[1].info.clone()
    }

    /// AS client restricted to `client_secret_post` (map an IdP client to it with
    /// [`TestKit::map_client`] to use it in a full flow).
    pub fn as_post_client(&self) -> Client {
        self.shared.as_clients[2].info.clone()
    }

    /// Sets which AS `client_id` the IdP puts in ID-JAGs issued to `idp_client_id`.
    pub fn map_client(&self, idp_client_id: &str, as_client_id: &str) {
        lock(&self.shared.client_map).insert(idp_client_id.into(), as_client_id.into());
    }

    /// A fresh `private_key_jwt` client assertion for `client` (which must have a key) with
    /// the given `aud` (an issuer or token endpoint).
    ///
    /// # Panics
    /// If `client` has no private key.
    pub fn client_assertion(&self, client: &Client, audience: &str) -> String {
        let key = self
            .shared
            .idp_clients
            .iter()
            .chain(self.shared.as_clients.iter())
            .find(|c| c.info.client_id == client.client_id)
            .and_then(|c| c.key.as_ref())
            .expect("client_assertion needs a private_key_jwt client");
        clients::make_assertion(key, &client.client_id, audience, self.shared.now())
    }

    // ---- Tokens -----------------------------------------------------------------------

    /// An ID token for `user`, `aud` = the IdP confidential client, valid for the
    /// configured lifetime.
    pub fn mint_id_token(&self, user: &str) -> String {
        idp::mint_id_token(&self.shared, &IdTokenSpec::new(user))
    }

    /// An ID token with chosen claims (aud, exp, iss, alg, extra claims, …).
    pub fn mint_id_token_with(&self, spec: &IdTokenSpec) -> String {
        idp::mint_id_token(&self.shared, spec)
    }

    /// A base64url SAML assertion for `user` (audience = the IdP confidential client).
    /// Unsigned; see the `saml` module notes.
    pub fn mint_saml_assertion(&self, user: &str) -> String {
        idp::mint_saml(&self.shared, &SamlSpec::new(user))
    }

    /// A SAML assertion with chosen issuer, audience, expiry.
    pub fn mint_saml_assertion_with(&self, spec: &SamlSpec) -> String {
        idp::mint_saml(&self.shared, spec)
    }

    /// An IdP refresh token for `user`, issued to the IdP confidential client.
    pub fn issue_refresh_token(&self, user: &str) -> String {
        let cid = idp::default_idp_client(&self.shared);
        idp::issue_refresh_token(&self.shared, user, &cid, "openid offline_access")
    }

    /// An IdP refresh token for `user` issued to `client_id`.
    pub fn issue_refresh_token_for(&self, user: &str, client_id: &str) -> String {
        idp::issue_refresh_token(&self.shared, user, client_id, "openid offline_access")
    }

    /// The claims of a valid ID-JAG for `user`: `iss`, `sub`, `aud` (AS issuer),
    /// `client_id` (AS client), `jti` (fresh), `iat`, `exp`, `resource` (MCP URL), `email`.
    /// Edit them and sign with [`TestKit::sign_id_jag`] or [`TestKit::sign_jwt`].
    pub fn id_jag_claims(&self, user: &str) -> Value {
        let as_client = self
            .shared
            .as_client_for(&idp::default_idp_client(&self.shared));
        idp::id_jag_claims(
            &self.shared,
            user,
            &as_client,
            Some(Value::String(self.shared.urls.mcp_url.clone())),
            None,
        )
    }

    /// Signs `claims` as an ID-JAG: header `typ: oauth-id-jag+jwt`, `alg` = the configured
    /// ID-JAG algorithm, `kid` of the active IdP key.
    pub fn sign_id_jag(&self, claims: &Value) -> String {
        idp::sign_id_jag(&self.shared, claims)
    }

    /// A valid ID-JAG for `user` (`sign_id_jag(id_jag_claims(user))`).
    pub fn mint_id_jag(&self, user: &str) -> String {
        self.sign_id_jag(&self.id_jag_claims(user))
    }

    /// Signs `claims` with an IdP key, using `header` verbatim (any `typ`, extra members such
    /// as `jku`/`crit`, `alg: "none"` for an unsigned token). The key is the published key
    /// whose `kid` equals `header.kid`, else the active key for `header.alg` (default: the
    /// ID-JAG algorithm); `alg`/`kid` are filled in when absent. To sign with a key the IdP
    /// does not publish, use [`TestKey::generate`] and [`TestKey::sign`].
    pub fn sign_jwt(&self, header: &Map<String, Value>, claims: &Value) -> String {
        idp::sign_jwt(&self.shared, header, claims)
    }

    /// A workload JWT (SEP-1933: a Kubernetes service-account token, a SPIFFE JWT-SVID, …)
    /// for `sub`, signed by the IdP's ES256 key, `aud` the AS token endpoint, valid for
    /// `ttl_secs` (negative: already expired). Accepted by the AS with
    /// [`Options::as_workload_identity`].
    pub fn mint_workload_jwt(&self, sub: &str, ttl_secs: i64) -> String {
        let now = self.now();
        let mut header = Map::new();
        header.insert("typ".into(), Value::String("JWT".into()));
        self.sign_jwt(
            &header,
            &serde_json::json!({
                "iss": format!("{}/workloads", self.idp_issuer()),
                "sub": sub,
                "aud": self.as_token_endpoint(),
                "iat": now,
                "exp": now + ttl_secs,
                "jti": uuid::Uuid::new_v4().to_string(),
            }),
        )
    }

    /// The active IdP signing key for `alg`, if any.
    pub fn idp_signing_key(&self, alg: Alg) -> Option<TestKey> {
        self.shared.keys().signing_key(alg).cloned()
    }

    /// Every key in the IdP JWKS.
    pub fn idp_keys(&self) -> Vec<TestKey> {
        self.shared.keys().published.clone()
    }

    /// The IdP JWKS document.
    pub fn idp_jwks(&self) -> Value {
        self.shared.keys().jwks()
    }

    /// Key rotation: generates a new `alg` key, publishes it and makes it the active
    /// signing key for `alg`; with `drop_old`, removes the other `alg` keys from the JWKS.
    pub fn rotate_idp_key(&self, alg: Alg, drop_old: bool) -> TestKey {
        let key = TestKey::generate(alg);
        self.shared.keys_mut().rotate(key.clone(), drop_old);
        key
    }

    /// Removes a key from the IdP JWKS. Returns whether it was there.
    pub fn unpublish_idp_key(&self, kid: &str) -> bool {
        self.shared.keys_mut().unpublish(kid)
    }

    /// An AS access token issued directly (no grant), for MCP-side tests. `scope` is
    /// space-separated; the token is for the MCP resource, client [`TestKit::as_client`].
    pub fn issue_access_token(&self, user: &str, scope: &str, ttl_secs: i64) -> String {
        authz::issue_access_token(
            &self.shared,
            user,
            &self.shared.as_clients[0].info.client_id,
            &oauth::scopes(scope),
            &self.shared.urls.mcp_url,
            ttl_secs,
        )
    }

    // ---- Control ----------------------------------------------------------------------

    /// A snapshot of the request/connection counters.
    pub fn counters(&self) -> Counters {
        lock(&self.shared.counters).snapshot()
    }

    /// Revokes every access token the AS has issued so far: the MCP server answers them with
    /// 401 `invalid_token` (a key rotation or security event at the resource). Returns how
    /// many were revoked.
    pub fn revoke_access_tokens(&self) -> usize {
        let mut t = lock(&self.shared.access_tokens);
        let n = t.len();
        t.clear();
        n
    }

    /// Zeroes the counters.
    pub fn reset_counters(&self) {
        lock(&self.shared.counters).reset();
    }

    /// Injects `fault` on `endpoint` until cleared (replaces a fault of the same kind).
    pub fn set_fault(&self, endpoint: Endpoint, fault: Fault) {
        lock(&self.shared.faults).set(endpoint, fault, None);
    }

    /// Injects `fault` on `endpoint` for the next `times` requests.
    pub fn set_fault_times(&self, endpoint: Endpoint, fault: Fault, times: u32) {
        lock(&self.shared.faults).set(endpoint, fault, Some(times));
    }

    /// Removes the faults of one endpoint.
    pub fn clear_fault(&self, endpoint: Endpoint) {
        lock(&self.shared.faults).clear(endpoint);
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear_all();
    }

    /// The active faults.
    pub fn faults(&self) -> BTreeMap<Endpoint, Vec<FaultRule>> {
        lock(&self.shared.faults).snapshot()
    }

    /// The request log (oldest first; at most 10 000 entries).
    pub fn requests(&self) -> Vec<RequestRecord> {
        lock(&self.shared.log).clone()
    }

    /// Clears the request log.
    pub fn clear_requests(&self) {
        lock(&self.shared.log).clear();
    }

    /// Why the AS last rejected an ID-JAG: the verifier's reason code (`"audience_mismatch"`,
    /// `"replayed"`, `"bad_signature"`, …);
    /// `None` after a success.
    pub fn last_as_rejection(&self) -> Option<String> {
        lock(&self.shared.last_as_rejection).clone()
    }

    /// Shifts the servers' clock by `secs` (e.g. 3600 to make every issued token expire).
    pub fn set_clock_offset(&self, secs: i64) {
        self.shared.clock_offset.store(secs, Ordering::SeqCst);
    }

    /// The servers' current time (Unix seconds, including the offset).
    pub fn now(&self) -> i64 {
        self.shared.now()
    }

    /// The `MCP_CONFORMANCE_CONTEXT`-shaped object: `client_id`, `client_secret` (AS
    /// client), `idp_client_id`, `idp_client_secret`, `idp_id_token` (fresh, for the
    /// default user), `idp_issuer`, `idp_token_endpoint`.
    pub fn context_json(&self) -> Value {
        admin::context(&self.shared)
    }

    /// Everything about the kit as JSON (the `idjag-testkit serve --json` line).
    pub fn info_json(&self) -> Value {
        admin::info(&self.shared)
    }
}

impl Drop for TestKit {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        for s in &mut self.servers {
            s.shutdown();
        }
    }
}
