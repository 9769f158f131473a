//! Authorization-server side: verify a presented ID-JAG (SPEC §2.G, §4.2).
//!
//! [`IdJagVerifier::verify`] runs the checks in a fixed order chosen so that no check can be
//! used to bypass an earlier one and no untrusted input reaches an expensive or dangerous step:
//!
//! 1. length cap (`max_assertion_bytes`), before any decoding → `too_large`;
//! 2. structure: three segments (five → `encrypted_unsupported`), strict base64url, JSON
//!    objects without duplicate member names, in header and payload → `malformed`;
//! 3. header: `typ` is `oauth-id-jag+jwt` per RFC 7515 §4.1.9 (case-insensitive,
//!    `application/` optional) → `invalid_typ`; `alg` on the allow-list, never `none` →
//!    `unsupported_alg`; no `crit` → `crit_unsupported`; no `jku`/`jwk`/`x5u`/`x5c` →
//!    `header_key_injection`;
//! 4. `iss` (read from the still unverified payload) is a trusted IdP → `untrusted_issuer`,
//!    and `alg` is allowed for that IdP → `unsupported_alg` — before any key lookup;
//! 5. key lookup in that issuer's JWK Set only (`kid`, key type and JWK `alg` must fit) →
//!    `unknown_key`; signature (jsonwebtoken on aws-lc-rs) → `bad_signature`;
//! 6. claims: `aud` exactly this AS's issuer (a string, or a one-element array) →
//!    `audience_mismatch`; `client_id` equals the authenticated client → `client_mismatch`;
//!    `exp`/`nbf`/`iat` with skew, age and lifetime caps → `expired`, `not_yet_valid`,
//!    `issued_in_future`, `lifetime_too_long`, `too_old`; `sub` and `jti` present →
//!    `missing_claim`; `resource` all ours (or the missing-resource policy) →
//!    `resource_mismatch`; granted scope not empty → `scope_not_granted`;
//! 7. only then the (`iss`, `jti`) pair is recorded, atomically, until `exp` + skew →
//!    `replayed`.
//!
//! A rejection is an [`Error`] of kind [`ErrorKind::VerificationFailed`] at [`Step::Verify`]
//! whose [`Error::reason`] is a [`RejectReason`] code. The message is detailed for the logs;
//! the wire answer is generic ([`token_error_response`]). Nothing derived from the assertion's
//! bytes other than short, sanitized claim values ever appears in an error or log line.
//!
//! **Infrastructure failures are not rejections.** When the IdP's JWK Set cannot be fetched
//! (or parsed), or the replay store cannot answer, `verify` returns that error
//! ([`ErrorKind::Transport`], [`ErrorKind::Timeout`], [`ErrorKind::HttpStatus`],
//! [`ErrorKind::ResponseInvalid`], …, or [`ErrorKind::Internal`] for a full in-memory replay
//! store) with [`Error::reason`] `None`: the assertion may be perfectly valid, so the token
//! endpoint should answer `503 temporarily_unavailable`, not `invalid_grant`, and must not
//! count it as a forgery attempt.

mod config;
mod jose;
mod jwks;
mod replay;

pub use config::{
    JwsAlgorithm, MissingResourcePolicy, ReplayConfig, TrustedIdpConfig, VerifierConfig,
};
#[cfg(feature = "redis")]
pub use replay::RedisReplayStore;
pub use replay::{replay_key, InMemoryReplayStore, ReplayStore};

use crate::client::Client;
use crate::clock::{SharedClock, SystemClock};
use crate::error::{
    sanitize_server_text, Action, Error, ErrorKind, OAuthErrorResponse, Result, Step,
};
use crate::urn::JWT_TYP_ID_JAG;
use config::ResolvedMissing;
use jwks::{IdpKeys, JwksPolicy, KeyError, KeySet, KeySource};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// Why an ID-JAG was rejected. The [`code`](RejectReason::code)s are public API, shared by
/// every language binding, and never renamed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectReason {
    /// The assertion is longer than `max_assertion_bytes`.
    TooLarge,
    /// Not a compact JWS, bad base64url, not a JSON object, duplicate member names, or a
    /// claim of the wrong JSON type.
    Malformed,
    /// A JWE (five segments): encrypted ID-JAGs are not supported.
    EncryptedUnsupported,
    /// The JOSE `typ` is missing or not `oauth-id-jag+jwt`.
    InvalidTyp,
    /// The `alg` is `none`, unknown, or not allowed (for this issuer).
    UnsupportedAlg,
    /// The header has a `crit` parameter.
    CritUnsupported,
    /// The header carries a key or key reference (`jku`, `jwk`, `x5u`, `x5c`).
    HeaderKeyInjection,
    /// The `iss` is not a trusted IdP.
    UntrustedIssuer,
    /// No usable key for the `kid` / `alg` in the issuer's JWK Set.
    UnknownKey,
    /// The signature does not verify.
    BadSignature,
    /// The `aud` is not exactly this authorization server's issuer.
    AudienceMismatch,
    /// The `client_id` claim is not the authenticated client.
    ClientMismatch,
    /// A `resource` is not one of this authorization server's resources.
    ResourceMismatch,
    /// `exp` is in the past (beyond the skew).
    Expired,
    /// `nbf` is in the future (beyond the skew).
    NotYetValid,
    /// `iat` is older than `max_age_s`.
    TooOld,
    /// `exp - iat` exceeds `max_lifetime_s`.
    LifetimeTooLong,
    /// `iat` is in the future (beyond the skew).
    IssuedInFuture,
    /// The (`iss`, `jti`) pair was already used.
    Replayed,
    /// A required claim (`iss`, `aud`, `client_id`, `exp`, `iat`, `sub`, `jti`, or
    /// `resource` under the `reject` policy) is missing.
    MissingClaim,
    /// The requested and asserted scopes have nothing in common.
    ScopeNotGranted,
}

impl RejectReason {
    /// Every reason, in declaration order.
    pub const ALL: &'static [RejectReason] = &[
        RejectReason::TooLarge,
        RejectReason::Malformed,
        RejectReason::EncryptedUnsupported,
        RejectReason::InvalidTyp,
        RejectReason::UnsupportedAlg,
        RejectReason::CritUnsupported,
        RejectReason::HeaderKeyInjection,
        RejectReason::UntrustedIssuer,
        RejectReason::UnknownKey,
        RejectReason::BadSignature,
        RejectReason::AudienceMismatch,
        RejectReason::ClientMismatch,
        RejectReason::ResourceMismatch,
        RejectReason::Expired,
        RejectReason::NotYetValid,
        RejectReason::TooOld,
        RejectReason::LifetimeTooLong,
        RejectReason::IssuedInFuture,
        RejectReason::Replayed,
        RejectReason::MissingClaim,
        RejectReason::ScopeNotGranted,
    ];

    /// The stable snake_case code (the value of [`Error::reason`]).
    pub const fn code(self) -> &'static str {
        match self {
            RejectReason::TooLarge => "too_large",
            RejectReason::Malformed => "malformed",
            RejectReason::EncryptedUnsupported => "encrypted_unsupported",
            RejectReason::InvalidTyp => "invalid_typ",
            RejectReason::UnsupportedAlg => "unsupported_alg",
            RejectReason::CritUnsupported => "crit_unsupported",
            RejectReason::HeaderKeyInjection => "header_key_injection",
            RejectReason::UntrustedIssuer => "untrusted_issuer",
            RejectReason::UnknownKey => "unknown_key",
            RejectReason::BadSignature => "bad_signature",
            RejectReason::AudienceMismatch => "audience_mismatch",
            RejectReason::ClientMismatch => "client_mismatch",
            RejectReason::ResourceMismatch => "resource_mismatch",
            RejectReason::Expired => "expired",
            RejectReason::NotYetValid => "not_yet_valid",
            RejectReason::TooOld => "too_old",
            RejectReason::LifetimeTooLong => "lifetime_too_long",
            RejectReason::IssuedInFuture => "issued_in_future",
            RejectReason::Replayed => "replayed",
            RejectReason::MissingClaim => "missing_claim",
            RejectReason::ScopeNotGranted => "scope_not_granted",
        }
    }

    /// Parses a code produced by [`RejectReason::code`].
    pub fn from_code(code: &str) -> Option<RejectReason> {
        RejectReason::ALL.iter().copied().find(|r| r.code() == code)
    }

    /// The rejection reason of `err`, when it is a verifier rejection.
    pub fn of(err: &Error) -> Option<RejectReason> {
        if err.kind() != ErrorKind::VerificationFailed {
            return None;
        }
        err.reason().and_then(RejectReason::from_code)
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A rejection with its log detail, before it becomes an [`Error`].
pub(crate) struct Rejection {
    reason: RejectReason,
    detail: Cow<'static, str>,
}

impl Rejection {
    pub(crate) fn new(reason: RejectReason, detail: impl Into<Cow<'static, str>>) -> Self {
        Rejection {
            reason,
            detail: detail.into(),
        }
    }

    fn into_error(self) -> Error {
        Error::new(
            ErrorKind::VerificationFailed,
            Step::Verify,
            format!("ID-JAG rejected ({}): {}", self.reason.code(), self.detail),
        )
        .with_reason(self.reason.code())
        .with_action(Action::Denied)
    }
}

impl From<RejectReason> for Rejection {
    fn from(reason: RejectReason) -> Self {
        let detail = match reason {
            RejectReason::Malformed => "not a well-formed compact JWS with JSON header and claims",
            RejectReason::EncryptedUnsupported => "encrypted (JWE) ID-JAGs are not supported",
            _ => "rejected",
        };
        Rejection::new(reason, detail)
    }
}

fn reject<T>(
    reason: RejectReason,
    detail: impl Into<Cow<'static, str>>,
) -> std::result::Result<T, Rejection> {
    Err(Rejection::new(reason, detail))
}

/// Short, single-line, bounded rendering of an attacker-controlled string for log messages.
fn shown(s: &str) -> String {
    const MAX: usize = 96;
    let clean = sanitize_server_text(s);
    if clean.len() <= MAX {
        return clean;
    }
    let mut end = MAX;
    while !clean.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &clean[..end])
}

/// A successfully verified ID-JAG: what the authorization server may grant.
#[derive(Clone)]
#[non_exhaustive]
pub struct VerifiedGrant {
    /// The IdP issuer.
    pub iss: String,
    /// The user, in the IdP's namespace (link accounts by (`iss`, `sub`), not by email).
    pub sub: String,
    /// The client the ID-JAG was issued to (equal to the authenticated client).
    pub client_id: String,
    /// The resource(s) to audience-restrict the access token to, spelled as configured in
    /// [`VerifierConfig::resources`]; never empty.
    pub resource: Vec<String>,
    /// Whether `resource` came from the configured default because the ID-JAG had none.
    pub resource_defaulted: bool,
    /// The granted scope: the intersection of the requested and asserted scopes when both
    /// exist, otherwise whichever exists (SPEC §5 Q6). Apply your own policy on top.
    pub scope: Option<String>,
    /// `exp` (Unix seconds).
    pub exp: i64,
    /// `iat` (Unix seconds).
    pub iat: i64,
    /// `jti` (now recorded as used).
    pub jti: String,
    /// Every claim of the ID-JAG (e.g. `tenant`, `email`, `cnf`, `authorization_details`).
    pub claims: Map<String, Value>,
}

impl VerifiedGrant {
    /// The first (usually only) resource.
    pub fn primary_resource(&self) -> &str {
        self.resource
            .first()
            .map(String::as_str)
            .unwrap_or_default()
    }
}

impl fmt::Debug for VerifiedGrant {
    /// Claim values may be personal data (`email`, `sub_id`): only their names are shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedGrant")
            .field("iss", &self.iss)
            .field("sub", &self.sub)
            .field("client_id", &self.client_id)
            .field("resource", &self.resource)
            .field("resource_defaulted", &self.resource_defaulted)
            .field("scope", &self.scope)
            .field("exp", &self.exp)
            .field("iat", &self.iat)
            .field("jti", &self.jti)
            .field("claims", &self.claims.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// The `error_description` sent with every `invalid_grant` produced from a rejection.
pub const INVALID_GRANT_DESCRIPTION: &str = "the assertion is not valid";

/// The RFC 6749 §5.2 answer a token endpoint should send for a failed verification.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenErrorResponse {
    /// HTTP status (400 for rejections, 503 when keys or the replay store are unavailable,
    /// 500 otherwise).
    pub status: u16,
    /// The JSON body.
    pub body: OAuthErrorResponse,
}

impl TokenErrorResponse {
    /// The body as JSON text (send with `Content-Type: application/json` and
    /// `Cache-Control: no-store`).
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.body)
            .unwrap_or_else(|_| r#"{"error":"server_error"}"#.to_string())
    }
}

/// Maps a [`IdJagVerifier::verify`] error to the token endpoint's answer. Generic on the wire
/// — every rejection is `400 {"error":"invalid_grant","error_description":"the assertion is
/// not valid"}`, whatever its reason — so an attacker learns nothing about which check
/// failed; log [`Error::reason`] and the message instead. Key-fetch and replay-store
/// failures become `503 temporarily_unavailable`; anything else `500 server_error`.
pub fn token_error_response(err: &Error) -> TokenErrorResponse {
    let (status, error, description) = match err.kind() {
        ErrorKind::VerificationFailed => (400, "invalid_grant", INVALID_GRANT_DESCRIPTION),
        ErrorKind::Transport
        | ErrorKind::Timeout
        | ErrorKind::HttpStatus
        | ErrorKind::ResponseInvalid
        | ErrorKind::ResponseTooLarge
        | ErrorKind::RedirectRefused
        | ErrorKind::IssuerMismatch
        | ErrorKind::NotSupported
        | ErrorKind::InsecureUrl => (
            503,
            "temporarily_unavailable",
            "the assertion cannot be verified right now; try again later",
        ),
        _ => (500, "server_error", "internal error"),
    };
    TokenErrorResponse {
        status,
        body: OAuthErrorResponse {
            error: error.to_string(),
            error_description: Some(description.to_string()),
            error_uri: None,
        },
    }
}

struct ResourceEntry {
    configured: String,
    normalized: Option<String>,
}

fn normalize_resource(r: &str) -> Option<String> {
    let u = url::Url::parse(r).ok()?;
    if u.fragment().is_some() {
        return None;
    }
    Some(u.to_string())
}

struct Inner {
    issuer: String,
    resources: Vec<ResourceEntry>,
    missing: ResolvedMissing,
    /// Union of every algorithm any IdP may use (checked before the issuer is known).
    any_alg: Vec<JwsAlgorithm>,
    idps: HashMap<String, IdpKeys>,
    skew: i64,
    max_age: i64,
    max_lifetime: i64,
    max_bytes: usize,
    replay: Arc<dyn ReplayStore>,
    policy: JwksPolicy,
}

/// Verifies ID-JAGs for one authorization server.
///
/// `IdJagVerifier` is `Send + Sync` and cheap to clone (an `Arc` inside): build one at
/// startup and share it across every request thread. Clones share the key cache and the
/// replay store.
#[derive(Clone)]
pub struct IdJagVerifier {
    inner: Arc<Inner>,
}

const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<IdJagVerifier>();
    assert_send_sync::<VerifiedGrant>();
};

impl fmt::Debug for IdJagVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut idps: Vec<&str> = self.inner.idps.keys().map(String::as_str).collect();
        idps.sort_unstable();
        f.debug_struct("IdJagVerifier")
            .field("issuer", &self.inner.issuer)
            .field("trusted_idps", &idps)
            .finish_non_exhaustive()
    }
}

/// Builds an [`IdJagVerifier`] with a custom client, clock or replay store.
pub struct VerifierBuilder {
    config: VerifierConfig,
    client: Option<Client>,
    clock: Option<SharedClock>,
    replay: Option<Arc<dyn ReplayStore>>,
}

impl fmt::Debug for VerifierBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifierBuilder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl VerifierBuilder {
    /// The [`Client`] used to fetch JWK Sets and IdP metadata (default: a new client with
    /// default settings and the builder's clock).
    pub fn client(mut self, client: Client) -> Self {
        self.client = Some(client);
        self
    }

    /// The clock used for every time check, the JWKS cache and the default replay store
    /// (default: the client's clock, else the system clock).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// A replay store, replacing the one described by [`VerifierConfig::replay`]. Share one
    /// store between every verifier of a deployment.
    pub fn replay_store(mut self, store: Arc<dyn ReplayStore>) -> Self {
        self.replay = Some(store);
        self
    }

    /// Validates the configuration and builds the verifier. No network I/O happens here; see
    /// [`IdJagVerifier::prefetch_keys`].
    pub fn build(self) -> Result<IdJagVerifier> {
        let config = self.config;
        let missing = config.resolve()?;
        let clock: SharedClock = match (&self.clock, &self.client) {
            (Some(c), _) => c.clone(),
            (None, Some(client)) => client.clock().clone(),
            (None, None) => Arc::new(SystemClock),
        };
        let client = match self.client {
            Some(c) => c,
            None => default_client(&clock)?,
        };
        let replay: Arc<dyn ReplayStore> = match self.replay {
            Some(r) => r,
            None => build_replay_store(&config, clock.clone())?,
        };
        let mut idps = HashMap::new();
        let mut any_alg: Vec<JwsAlgorithm> = config.algorithms.clone();
        for (i, idp) in config.trusted_idps.iter().enumerate() {
            let algorithms = idp
                .algorithms
                .clone()
                .unwrap_or_else(|| config.algorithms.clone());
            for a in &algorithms {
                if !any_alg.contains(a) {
                    any_alg.push(*a);
                }
            }
            let source = if let Some(secret) = &idp.insecure_hmac_secret {
                KeySource::Static(Arc::new(KeySet::hmac(secret.expose_secret().as_bytes())))
            } else if let Some(doc) = &idp.jwks {
                let set = jwks::parse_jwks(doc).map_err(|why| {
                    Error::configuration(format!(
                        "verifier configuration key `trusted_idps[{i}].jwks`: {why}"
                    ))
                })?;
                KeySource::Static(Arc::new(set))
            } else if let Some(uri) = &idp.jwks_uri {
                KeySource::JwksUri(uri.clone())
            } else {
                KeySource::Discover
            };
            idps.insert(
                idp.issuer.clone(),
                IdpKeys::new(idp.issuer.clone(), algorithms, source),
            );
        }
        let resources = config
            .resources
            .iter()
            .map(|r| ResourceEntry {
                configured: r.clone(),
                normalized: normalize_resource(r),
            })
            .collect();
        let secs = |s: u64| i64::try_from(s).unwrap_or(i64::MAX);
        Ok(IdJagVerifier {
            inner: Arc::new(Inner {
                issuer: config.issuer.clone(),
                resources,
                missing,
                any_alg,
                idps,
                skew: secs(config.clock_skew_s),
                max_age: secs(config.max_age_s),
                max_lifetime: secs(config.max_lifetime_s),
                max_bytes: config.max_assertion_bytes,
                replay,
                policy: JwksPolicy {
                    client,
                    clock,
                    default_ttl_ms: secs(config.jwks_cache_ttl_s).saturating_mul(1000),
                    min_interval_ms: secs(config.jwks_refetch_interval_s).saturating_mul(1000),
                },
            }),
        })
    }
}

/// The default client; without the `ureq` feature, one whose every request fails (enough for
/// configurations whose keys are all pinned).
fn default_client(clock: &SharedClock) -> Result<Client> {
    if cfg!(feature = "ureq") {
        return Client::builder().clock(clock.clone()).build();
    }
    let no_http = |_: &crate::http::HttpRequest| -> Result<crate::http::HttpResponse> {
        Err(Error::configuration(
            "idjag was built without the `ureq` feature: pass a Client to fetch JWK Sets",
        ))
    };
    Client::builder()
        .clock(clock.clone())
        .http_client(Arc::new(no_http))
        .build()
}

fn build_replay_store(config: &VerifierConfig, clock: SharedClock) -> Result<Arc<dyn ReplayStore>> {
    #[cfg(feature = "redis")]
    if let Some(url) = &config.replay.redis_url {
        let prefix = config
            .replay
            .key_prefix
            .clone()
            .unwrap_or_else(|| RedisReplayStore::DEFAULT_PREFIX.to_string());
        let timeout =
            std::time::Duration::from_millis(config.replay.redis_timeout_ms.unwrap_or(2000));
        return Ok(Arc::new(RedisReplayStore::with_options(
            url, prefix, timeout, clock,
        )?));
    }
    #[cfg(not(feature = "redis"))]
    if config.replay.redis_url.is_some() {
        return Err(Error::configuration(
            "verifier configuration key `replay.redis_url`: idjag was built without the `redis` feature",
        ));
    }
    let capacity = config
        .replay
        .memory_capacity
        .unwrap_or(InMemoryReplayStore::DEFAULT_CAPACITY);
    Ok(Arc::new(InMemoryReplayStore::with_clock(capacity, clock)))
}

/// The decoded, still unverified token.
struct Decoded<'a> {
    signing_input: &'a str,
    signature: &'a str,
    alg: JwsAlgorithm,
    kid: Option<String>,
    claims: Map<String, Value>,
}

fn str_claim<'a>(
    claims: &'a Map<String, Value>,
    name: &'static str,
) -> std::result::Result<&'a str, Rejection> {
    match claims.get(name) {
        None | Some(Value::Null) => {
            reject(RejectReason::MissingClaim, format!("no `{name}` claim"))
        }
        Some(Value::String(s)) if s.is_empty() => {
            reject(RejectReason::MissingClaim, format!("empty `{name}` claim"))
        }
        Some(Value::String(s)) => Ok(s),
        Some(_) => reject(RejectReason::Malformed, format!("`{name}` is not a string")),
    }
}

/// A NumericDate (RFC 7519 §2): integer or fractional seconds, floored.
fn date_claim(
    claims: &Map<String, Value>,
    name: &'static str,
) -> std::result::Result<Option<i64>, Rejection> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                return Ok(Some(i));
            }
            match n.as_f64() {
                Some(f) if f.is_finite() && f.abs() < 1e17 => Ok(Some(f.floor() as i64)),
                _ => reject(RejectReason::Malformed, format!("`{name}` is out of range")),
            }
        }
        Some(_) => reject(
            RejectReason::Malformed,
            format!("`{name}` is not a NumericDate"),
        ),
    }
}

fn split_scope(s: &str) -> impl Iterator<Item = &str> {
    s.split(' ').filter(|t| !t.is_empty())
}

impl IdJagVerifier {
    /// A verifier with a default [`Client`] (system clock, default HTTP settings).
    pub fn from_config(config: VerifierConfig) -> Result<IdJagVerifier> {
        IdJagVerifier::builder(config).build()
    }

    /// A verifier fetching keys through `client`, and using the client's clock.
    pub fn new(config: VerifierConfig, client: Client) -> Result<IdJagVerifier> {
        IdJagVerifier::builder(config).client(client).build()
    }

    /// A builder, for a custom clock or replay store.
    pub fn builder(config: VerifierConfig) -> VerifierBuilder {
        VerifierBuilder {
            config,
            client: None,
            clock: None,
            replay: None,
        }
    }

    /// This authorization server's issuer (the expected `aud`).
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// Fetches the JWK Set of every IdP that has no fresh one cached (startup warm-up and
    /// health check). Errors are the fetch errors of the first IdP that failed.
    pub fn prefetch_keys(&self) -> Result<()> {
        let mut first_err = None;
        for idp in self.inner.idps.values() {
            if let Err(e) = idp.prefetch(&self.inner.policy) {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// Verifies `assertion` (the jwt-bearer grant's `assertion` parameter), presented by the
    /// already authenticated client `authenticated_client_id`, with the grant request's
    /// `scope` parameter if any.
    ///
    /// On success the `jti` is recorded as used: the same assertion is rejected as
    /// `replayed` afterwards, by this verifier and by every verifier sharing its replay store.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::VerificationFailed`] with a [`RejectReason`] code in [`Error::reason`]:
    ///   the assertion is not acceptable (answer `invalid_grant`).
    /// - Transport-class errors (see the [module documentation](self)): keys or replay store
    ///   unavailable (answer `temporarily_unavailable`; the client may retry).
    pub fn verify(
        &self,
        assertion: &str,
        authenticated_client_id: &str,
        requested_scope: Option<&str>,
    ) -> Result<VerifiedGrant> {
        let result = self.verify_inner(assertion, authenticated_client_id, requested_scope);
        match &result {
            Ok(g) => log::debug!(
                "idjag verify: accepted iss={} client_id={} jti={}",
                g.iss,
                g.client_id,
                shown(&g.jti)
            ),
            Err(e) => log::debug!("idjag verify: {e}"),
        }
        result
    }

    fn verify_inner(
        &self,
        assertion: &str,
        client_id: &str,
        requested_scope: Option<&str>,
    ) -> Result<VerifiedGrant> {
        let inner = &*self.inner;
        let decoded = self.decode(assertion).map_err(Rejection::into_error)?;
        let iss = str_claim(&decoded.claims, "iss").map_err(Rejection::into_error)?;
        let Some(idp) = inner.idps.get(iss) else {
            return Err(Rejection::new(
                RejectReason::UntrustedIssuer,
                format!("issuer `{}` is not trusted", shown(iss)),
            )
            .into_error());
        };
        if !idp.algorithms.contains(&decoded.alg) {
            return Err(Rejection::new(
                RejectReason::UnsupportedAlg,
                format!(
                    "`{}` is not allowed for issuer `{}`",
                    decoded.alg, idp.issuer
                ),
            )
            .into_error());
        }
        let key = match idp.find_key(&inner.policy, decoded.kid.as_deref(), decoded.alg) {
            Ok(k) => k,
            Err(KeyError::Reject(r)) => return Err(r.into_error()),
            Err(KeyError::Fetch(e)) => return Err(e),
        };
        match jsonwebtoken::crypto::verify(
            decoded.signature,
            decoded.signing_input.as_bytes(),
            &key.key,
            decoded.alg.to_jwt(),
        ) {
            Ok(true) => {}
            Ok(false) => {
                return Err(Rejection::new(
                    RejectReason::BadSignature,
                    format!(
                        "signature does not verify with {} key{} of `{}`",
                        decoded.alg,
                        key.kid
                            .as_deref()
                            .map(|k| format!(" `{}`", shown(k)))
                            .unwrap_or_default(),
                        idp.issuer
                    ),
                )
                .into_error())
            }
            Err(e) => {
                let reason = match e.kind() {
                    jsonwebtoken::errors::ErrorKind::Base64(_) => RejectReason::Malformed,
                    _ => RejectReason::BadSignature,
                };
                return Err(
                    Rejection::new(reason, "the signature could not be checked").into_error()
                );
            }
        }
        let grant = self
            .check_claims(decoded.claims, client_id, requested_scope)
            .map_err(Rejection::into_error)?;
        let key = replay_key(&grant.iss, &grant.jti);
        let keep_until = grant.exp.saturating_add(inner.skew);
        if !inner.replay.check_and_insert(&key, keep_until)? {
            return Err(Rejection::new(
                RejectReason::Replayed,
                format!(
                    "jti `{}` of `{}` was already used",
                    shown(&grant.jti),
                    grant.iss
                ),
            )
            .into_error());
        }
        Ok(grant)
    }

    /// Steps 1–3: size, structure, header. Also decodes the claims (duplicate-checked).
    fn decode<'a>(&self, assertion: &'a str) -> std::result::Result<Decoded<'a>, Rejection> {
        let inner = &*self.inner;
        if assertion.len() > inner.max_bytes {
            return reject(
                RejectReason::TooLarge,
                format!(
                    "assertion of {} bytes exceeds {} bytes",
                    assertion.len(),
                    inner.max_bytes
                ),
            );
        }
        if assertion.is_empty() {
            return reject(RejectReason::Malformed, "empty assertion");
        }
        let parts = jose::split(assertion)?;
        let header = jose::decode_object(parts.header).map_err(|r| {
            Rejection::new(
                r,
                "the JOSE header is not a base64url JSON object without duplicate members",
            )
        })?;
        match header.get("typ") {
            Some(Value::String(t)) if jose::typ_is(t, JWT_TYP_ID_JAG) => {}
            Some(Value::String(t)) => {
                return reject(
                    RejectReason::InvalidTyp,
                    format!("typ `{}` is not `{JWT_TYP_ID_JAG}`", shown(t)),
                )
            }
            Some(_) => return reject(RejectReason::InvalidTyp, "typ is not a string"),
            None => return reject(RejectReason::InvalidTyp, "no typ header"),
        }
        let alg = match header.get("alg") {
            Some(Value::String(a)) => match JwsAlgorithm::from_name(a) {
                Some(alg) if inner.any_alg.contains(&alg) => alg,
                _ => {
                    return reject(
                        RejectReason::UnsupportedAlg,
                        format!("alg `{}` is not allowed", shown(a)),
                    )
                }
            },
            Some(_) => return reject(RejectReason::Malformed, "alg is not a string"),
            None => return reject(RejectReason::UnsupportedAlg, "no alg header"),
        };
        if header.contains_key("crit") {
            return reject(
                RejectReason::CritUnsupported,
                "the header has `crit`; no extension is understood",
            );
        }
        for p in ["jku", "jwk", "x5u", "x5c"] {
            if header.contains_key(p) {
                return reject(
                    RejectReason::HeaderKeyInjection,
                    format!(
                        "the header carries `{p}`; keys come only from the trusted issuer's JWKS"
                    ),
                );
            }
        }
        let kid = match header.get("kid") {
            None => None,
            Some(Value::String(k)) => Some(k.clone()),
            Some(_) => return reject(RejectReason::Malformed, "kid is not a string"),
        };
        let claims = jose::decode_object(parts.payload).map_err(|r| {
            Rejection::new(
                r,
                "the claims are not a base64url JSON object without duplicate members",
            )
        })?;
        Ok(Decoded {
            signing_input: parts.signing_input,
            signature: parts.signature,
            alg,
            kid,
            claims,
        })
    }

    /// Step 6: every claim check after the signature.
    fn check_claims(
        &self,
        claims: Map<String, Value>,
        client_id: &str,
        requested_scope: Option<&str>,
    ) -> std::result::Result<VerifiedGrant, Rejection> {
        let inner = &*self.inner;
        // aud: exactly our issuer, as a string or the only element of an array.
        let aud_ok = match claims.get("aud") {
            None | Some(Value::Null) => {
                return reject(RejectReason::MissingClaim, "no `aud` claim")
            }
            Some(Value::String(a)) => a == &inner.issuer,
            Some(Value::Array(items)) => {
                if items.iter().any(|v| !v.is_string()) {
                    return reject(
                        RejectReason::Malformed,
                        "`aud` array has a non-string element",
                    );
                }
                items.len() == 1 && items[0].as_str() == Some(inner.issuer.as_str())
            }
            Some(_) => {
                return reject(
                    RejectReason::Malformed,
                    "`aud` is neither a string nor an array",
                )
            }
        };
        if !aud_ok {
            let shown_aud = match claims.get("aud") {
                Some(Value::String(a)) => format!("`{}`", shown(a)),
                Some(Value::Array(items)) => format!("an array of {} values", items.len()),
                _ => "it".into(),
            };
            return reject(
                RejectReason::AudienceMismatch,
                format!("aud is {shown_aud}, expected exactly `{}`", inner.issuer),
            );
        }
        let cid = str_claim(&claims, "client_id")?;
        if cid != client_id {
            return reject(
                RejectReason::ClientMismatch,
                format!(
                    "client_id `{}` is not the authenticated client `{}`",
                    shown(cid),
                    shown(client_id)
                ),
            );
        }
        // Time.
        let now = inner.policy.clock.now_secs();
        let skew = inner.skew;
        let exp = date_claim(&claims, "exp")?
            .ok_or_else(|| Rejection::new(RejectReason::MissingClaim, "no `exp` claim"))?;
        let iat = date_claim(&claims, "iat")?
            .ok_or_else(|| Rejection::new(RejectReason::MissingClaim, "no `iat` claim"))?;
        let nbf = date_claim(&claims, "nbf")?;
        if now > exp.saturating_add(skew) {
            return reject(
                RejectReason::Expired,
                format!("expired {} s ago", now.saturating_sub(exp)),
            );
        }
        if let Some(nbf) = nbf {
            if nbf > now.saturating_add(skew) {
                return reject(
                    RejectReason::NotYetValid,
                    format!("not valid for another {} s", nbf.saturating_sub(now)),
                );
            }
        }
        if iat > now.saturating_add(skew) {
            return reject(
                RejectReason::IssuedInFuture,
                format!("issued {} s in the future", iat.saturating_sub(now)),
            );
        }
        if exp < iat {
            return reject(RejectReason::Malformed, "`exp` is before `iat`");
        }
        if exp.saturating_sub(iat) > inner.max_lifetime {
            return reject(
                RejectReason::LifetimeTooLong,
                format!(
                    "lifetime {} s exceeds {} s",
                    exp.saturating_sub(iat),
                    inner.max_lifetime
                ),
            );
        }
        if now.saturating_sub(iat) > inner.max_age.saturating_add(skew) {
            return reject(
                RejectReason::TooOld,
                format!(
                    "issued {} s ago; at most {} s accepted",
                    now.saturating_sub(iat),
                    inner.max_age
                ),
            );
        }
        let sub = str_claim(&claims, "sub")?.to_string();
        let jti = str_claim(&claims, "jti")?.to_string();
        let iss = str_claim(&claims, "iss")?.to_string();
        let client_id = cid.to_string();
        let (resource, resource_defaulted) = self.check_resource(claims.get("resource"))?;
        let scope = grant_scope(claims.get("scope"), requested_scope)?;
        Ok(VerifiedGrant {
            iss,
            sub,
            client_id,
            resource,
            resource_defaulted,
            scope,
            exp,
            iat,
            jti,
            claims,
        })
    }

    fn match_resource(&self, r: &str) -> Option<&str> {
        let inner = &*self.inner;
        if let Some(e) = inner.resources.iter().find(|e| e.configured == r) {
            return Some(&e.configured);
        }
        let n = normalize_resource(r)?;
        inner
            .resources
            .iter()
            .find(|e| e.normalized.as_deref() == Some(n.as_str()))
            .map(|e| e.configured.as_str())
    }

    fn check_resource(
        &self,
        claim: Option<&Value>,
    ) -> std::result::Result<(Vec<String>, bool), Rejection> {
        let listed: Vec<&str> = match claim {
            None | Some(Value::Null) => {
                return match &self.inner.missing {
                    ResolvedMissing::UseDefault(d) => Ok((vec![d.clone()], true)),
                    ResolvedMissing::Reject => reject(
                        RejectReason::MissingClaim,
                        "no `resource` claim and the policy requires one",
                    ),
                };
            }
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Array(items)) => {
                if items.is_empty() || items.len() > config::MAX_RESOURCES {
                    return reject(
                        RejectReason::Malformed,
                        "`resource` array is empty or too long",
                    );
                }
                let mut v = Vec::with_capacity(items.len());
                for item in items {
                    match item.as_str() {
                        Some(s) => v.push(s),
                        None => {
                            return reject(
                                RejectReason::Malformed,
                                "`resource` array has a non-string element",
                            )
                        }
                    }
                }
                v
            }
            Some(_) => {
                return reject(
                    RejectReason::Malformed,
                    "`resource` is neither a string nor an array",
                )
            }
        };
        let mut out: Vec<String> = Vec::with_capacity(listed.len());
        for r in listed {
            match self.match_resource(r) {
                Some(ours) => {
                    // ED-05 §3.1: a non-empty array of *unique* strings.
                    if out.iter().any(|o| o == ours) {
                        return reject(
                            RejectReason::Malformed,
                            "`resource` lists the same resource twice",
                        );
                    }
                    out.push(ours.to_string());
                }
                None => {
                    return reject(
                        RejectReason::ResourceMismatch,
                        format!(
                            "resource `{}` is not served by this authorization server",
                            shown(r)
                        ),
                    )
                }
            }
        }
        Ok((out, false))
    }
}

/// SPEC §5 Q6: intersection of the requested and asserted scopes when both exist, otherwise
/// whichever exists. An empty intersection is `scope_not_granted`.
fn grant_scope(
    asserted: Option<&Value>,
    requested: Option<&str>,
) -> std::result::Result<Option<String>, Rejection> {
    let asserted = match asserted {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => return reject(RejectReason::Malformed, "`scope` is not a string"),
    };
    let requested = requested.filter(|r| split_scope(r).next().is_some());
    match (asserted, requested) {
        (None, None) => Ok(None),
        (Some(a), None) => {
            let tokens: Vec<&str> = split_scope(a).collect();
            Ok((!tokens.is_empty()).then(|| dedup_join(tokens)))
        }
        (None, Some(r)) => Ok(Some(dedup_join(split_scope(r).collect()))),
        (Some(a), Some(r)) => {
            let asserted: Vec<&str> = split_scope(a).collect();
            let granted: Vec<&str> = split_scope(r).filter(|t| asserted.contains(t)).collect();
            if granted.is_empty() {
                return reject(
                    RejectReason::ScopeNotGranted,
                    "none of the requested scopes is in the ID-JAG's `scope`",
                );
            }
            Ok(Some(dedup_join(granted)))
        }
    }
}

fn dedup_join(tokens: Vec<&str>) -> String {
    let mut out: Vec<&str> = Vec::with_capacity(tokens.len());
    for t in tokens {
        if !out.contains(&t) {
            out.push(t);
        }
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_codes_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for r in RejectReason::ALL {
            assert!(seen.insert(r.code()), "duplicate {}", r.code());
            assert_eq!(RejectReason::from_code(r.code()), Some(*r));
            assert!(r.code().chars().all(|c| c.is_ascii_lowercase() || c == '_'));
            let e = Rejection::from(*r).into_error();
            assert_eq!(e.kind(), ErrorKind::VerificationFailed);
            assert_eq!(e.step(), Step::Verify);
            assert_eq!(RejectReason::of(&e), Some(*r));
        }
        assert_eq!(RejectReason::from_code("nope"), None);
    }

    #[test]
    fn wire_answers_are_generic() {
        let e =
            Rejection::new(RejectReason::AudienceMismatch, "aud was `https://evil`").into_error();
        let r = token_error_response(&e);
        assert_eq!(r.status, 400);
        assert_eq!(
            r.to_json(),
            r#"{"error":"invalid_grant","error_description":"the assertion is not valid"}"#
        );
        let t = Error::new(ErrorKind::Transport, Step::Verify, "connect refused");
        let r = token_error_response(&t);
        assert_eq!(
            (r.status, r.body.error.as_str()),
            (503, "temporarily_unavailable")
        );
        let i = Error::internal(Step::Verify, "x");
        assert_eq!(token_error_response(&i).status, 500);
    }

    #[test]
    fn scope_rules() {
        let s = |a: Option<&str>, r: Option<&str>| {
            grant_scope(a.map(|a| Value::String(a.into())).as_ref(), r).map_err(|e| e.reason)
        };
        assert_eq!(s(Some("a b c"), Some("b c d")), Ok(Some("b c".into())));
        assert_eq!(s(Some("a b"), None), Ok(Some("a b".into())));
        assert_eq!(s(None, Some("x  y x")), Ok(Some("x y".into())));
        assert_eq!(s(None, None), Ok(None));
        assert_eq!(s(Some("a"), Some("b")), Err(RejectReason::ScopeNotGranted));
        assert_eq!(s(Some(""), Some("b")), Err(RejectReason::ScopeNotGranted));
        assert_eq!(s(Some(""), None), Ok(None));
        assert_eq!(s(Some("a"), Some("  ")), Ok(Some("a".into())));
        assert_eq!(
            grant_scope(Some(&Value::Bool(true)), None).map_err(|e| e.reason),
            Err(RejectReason::Malformed)
        );
    }

    #[test]
    fn shown_is_bounded_and_single_line() {
        let s = shown(&format!("{}\n{}", "é".repeat(200), "x"));
        assert!(s.len() < 120);
        assert!(!s.contains('\n'));
    }
}
