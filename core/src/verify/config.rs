//! [`VerifierConfig`]: the JSON (or Rust) description of what an authorization server accepts.

use crate::error::{sanitize_server_text, Error, Result, Step};
use crate::http::check_url;
use crate::scope::Scope;
use crate::secret::SecretString;
use serde::de::{self, Deserializer};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;

/// A JWS signature algorithm the verifier can be told to accept (RFC 7518 §3.1, RFC 8037).
///
/// `none` is not representable: it is never accepted. The HMAC algorithms (`HS*`) can only be
/// enabled per trusted IdP together with
/// [`TrustedIdpConfig::insecure_hmac_secret`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JwsAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512.
    PS512,
    /// ECDSA P-256 with SHA-256.
    ES256,
    /// ECDSA P-384 with SHA-384.
    ES384,
    /// Ed25519 (RFC 8037).
    EdDSA,
    /// HMAC with SHA-256 (shared secret; see [`TrustedIdpConfig::insecure_hmac_secret`]).
    HS256,
    /// HMAC with SHA-384 (shared secret).
    HS384,
    /// HMAC with SHA-512 (shared secret).
    HS512,
}

impl JwsAlgorithm {
    /// Every algorithm, in declaration order.
    pub const ALL: &'static [JwsAlgorithm] = &[
        JwsAlgorithm::RS256,
        JwsAlgorithm::RS384,
        JwsAlgorithm::RS512,
        JwsAlgorithm::PS256,
        JwsAlgorithm::PS384,
        JwsAlgorithm::PS512,
        JwsAlgorithm::ES256,
        JwsAlgorithm::ES384,
        JwsAlgorithm::EdDSA,
        JwsAlgorithm::HS256,
        JwsAlgorithm::HS384,
        JwsAlgorithm::HS512,
    ];

    /// The default allow-list: RS256, PS256, ES256, EdDSA.
    pub const DEFAULT: &'static [JwsAlgorithm] = &[
        JwsAlgorithm::RS256,
        JwsAlgorithm::PS256,
        JwsAlgorithm::ES256,
        JwsAlgorithm::EdDSA,
    ];

    /// The JOSE `alg` name.
    pub const fn name(self) -> &'static str {
        match self {
            JwsAlgorithm::RS256 => "RS256",
            JwsAlgorithm::RS384 => "RS384",
            JwsAlgorithm::RS512 => "RS512",
            JwsAlgorithm::PS256 => "PS256",
            JwsAlgorithm::PS384 => "PS384",
            JwsAlgorithm::PS512 => "PS512",
            JwsAlgorithm::ES256 => "ES256",
            JwsAlgorithm::ES384 => "ES384",
            JwsAlgorithm::EdDSA => "EdDSA",
            JwsAlgorithm::HS256 => "HS256",
            JwsAlgorithm::HS384 => "HS384",
            JwsAlgorithm::HS512 => "HS512",
        }
    }

    /// Parses a JOSE `alg` name (case-sensitive, as JOSE requires).
    pub fn from_name(name: &str) -> Option<JwsAlgorithm> {
        JwsAlgorithm::ALL.iter().copied().find(|a| a.name() == name)
    }

    /// Whether this is a shared-secret (HMAC) algorithm.
    pub const fn is_hmac(self) -> bool {
        matches!(
            self,
            JwsAlgorithm::HS256 | JwsAlgorithm::HS384 | JwsAlgorithm::HS512
        )
    }

    pub(crate) fn to_jwt(self) -> jsonwebtoken::Algorithm {
        use jsonwebtoken::Algorithm as A;
        match self {
            JwsAlgorithm::RS256 => A::RS256,
            JwsAlgorithm::RS384 => A::RS384,
            JwsAlgorithm::RS512 => A::RS512,
            JwsAlgorithm::PS256 => A::PS256,
            JwsAlgorithm::PS384 => A::PS384,
            JwsAlgorithm::PS512 => A::PS512,
            JwsAlgorithm::ES256 => A::ES256,
            JwsAlgorithm::ES384 => A::ES384,
            JwsAlgorithm::EdDSA => A::EdDSA,
            JwsAlgorithm::HS256 => A::HS256,
            JwsAlgorithm::HS384 => A::HS384,
            JwsAlgorithm::HS512 => A::HS512,
        }
    }
}

impl fmt::Display for JwsAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl<'de> Deserialize<'de> for JwsAlgorithm {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        if s.eq_ignore_ascii_case("none") {
            return Err(de::Error::custom("`none` is never accepted"));
        }
        JwsAlgorithm::from_name(&s).ok_or_else(|| {
            de::Error::custom(format!(
                "unsupported algorithm `{}` (expected one of RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA, HS256, HS384, HS512)",
                sanitize_server_text(&s)
            ))
        })
    }
}

/// What to do with an ID-JAG that carries no `resource` claim (the claim is
/// optional in ID-JAG, and some IdPs, e.g. Okta, omit it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MissingResourcePolicy {
    /// Reject it (`missing_claim`).
    Reject,
    /// Grant for [`VerifierConfig::default_resource`].
    UseDefault,
}

/// One trusted identity provider: its issuer identifier and where its verification keys come
/// from. Exactly one key source applies:
///
/// - `jwks_uri`: fetched over https (or http to loopback), cached, refetched on an unknown
///   `kid` (rate-limited);
/// - `jwks`: a static JWK Set (`{"keys": [...]}`) pinned in the configuration;
/// - `insecure_hmac_secret`: a shared HMAC key (see its warning);
/// - none of these: `jwks_uri` is discovered from the issuer's RFC 8414 / OIDC metadata.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct TrustedIdpConfig {
    /// The IdP issuer identifier, compared exactly with the ID-JAG `iss`.
    pub issuer: String,
    /// The IdP's JWK Set URL.
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// A static JWK Set (`{"keys": [...]}`).
    #[serde(default)]
    pub jwks: Option<serde_json::Value>,
    /// Algorithms accepted from this IdP; defaults to [`VerifierConfig::algorithms`].
    #[serde(default)]
    pub algorithms: Option<Vec<JwsAlgorithm>>,
    /// A shared HMAC secret (at least 32 bytes) for an IdP that signs ID-JAGs with `HS256`,
    /// `HS384` or `HS512`; [`TrustedIdpConfig::algorithms`] must then list exactly those HMAC
    /// algorithms.
    ///
    /// # Security Warning
    ///
    /// With a shared secret, anyone who holds it — including every other relying party the IdP
    /// shares it with — can mint ID-JAGs for this authorization server. Real ID-JAGs are
    /// asymmetrically signed; use this only for a closed test setup or a single-tenant IdP that
    /// offers nothing else.
    #[serde(default)]
    pub insecure_hmac_secret: Option<SecretString>,
}

impl TrustedIdpConfig {
    /// An IdP whose `jwks_uri` is discovered from its metadata.
    pub fn discovered(issuer: impl Into<String>) -> Self {
        TrustedIdpConfig {
            issuer: issuer.into(),
            jwks_uri: None,
            jwks: None,
            algorithms: None,
            insecure_hmac_secret: None,
        }
    }

    /// An IdP with a known JWK Set URL.
    pub fn with_jwks_uri(issuer: impl Into<String>, jwks_uri: impl Into<String>) -> Self {
        TrustedIdpConfig {
            jwks_uri: Some(jwks_uri.into()),
            ..TrustedIdpConfig::discovered(issuer)
        }
    }

    /// An IdP with a static JWK Set (`{"keys": [...]}`).
    pub fn with_jwks(issuer: impl Into<String>, jwks: serde_json::Value) -> Self {
        TrustedIdpConfig {
            jwks: Some(jwks),
            ..TrustedIdpConfig::discovered(issuer)
        }
    }
}

/// Whether an ID-JAG may be presented more than once ([`ReplayConfig::policy`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ReplayPolicy {
    /// Every (`iss`, `jti`) is accepted once; a second presentation is rejected as
    /// `replayed` (EMA §7.4.2). The default, and what an MCP
    /// authorization server must do.
    #[default]
    SingleUse,
    /// An ID-JAG is accepted again and again until it expires; each presentation is still
    /// recorded in the replay store, and [`VerifiedGrant::first_use`] tells the first one
    /// from the others. For deployments that must behave like authorization servers that do
    /// not enforce single use (Auth0 accepts an ID-JAG until `exp`).
    ///
    /// # Security Warning
    ///
    /// This is a **weaker** setting that departs from the MCP profile, which makes `jti`
    /// single use at the authorization server. Anyone who obtains an ID-JAG *and* the
    /// client's credentials can redeem it for further access tokens, as many times as they
    /// like, until it expires — the replay store no longer stops them, it only lets you see
    /// them (`first_use: false`). Keep ID-JAG lifetimes short (`max_lifetime_s`), log or
    /// alert on re-presentations, and prefer [`ReplayPolicy::SingleUse`] whenever the clients
    /// can fetch a fresh ID-JAG per redemption (idjag's clients always do).
    ///
    /// [`VerifiedGrant::first_use`]: super::VerifiedGrant::first_use
    UntilExp,
}

impl ReplayPolicy {
    /// The JSON name (`single_use`, `until_exp`).
    pub const fn code(self) -> &'static str {
        match self {
            ReplayPolicy::SingleUse => "single_use",
            ReplayPolicy::UntilExp => "until_exp",
        }
    }
}

impl fmt::Display for ReplayPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Replay handling: whether an ID-JAG is single use, and where used `jti` values are
/// recorded.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ReplayConfig {
    /// `single_use` (the default) or `until_exp` (weaker: see its security warning).
    #[serde(default)]
    pub policy: ReplayPolicy,
    /// A `redis://` URL: record `jti`s in Redis, shared by every replica of the authorization
    /// server (needs the `redis` cargo feature). Treated as a secret (it may hold a password).
    #[serde(default)]
    pub redis_url: Option<SecretString>,
    /// Prefix of the Redis keys (default `idjag:jti:`); Redis only.
    #[serde(default)]
    pub key_prefix: Option<String>,
    /// Connect/read/write timeout for Redis in milliseconds (default 2000); Redis only.
    #[serde(default)]
    pub redis_timeout_ms: Option<u64>,
    /// Capacity of the in-process store (default 100 000 live `jti`s); in-memory only.
    #[serde(default)]
    pub memory_capacity: Option<usize>,
}

/// One authentication requirement, in the terms of RFC 9470 (OAuth 2.0 Step Up
/// Authentication Challenge): which `acr` values are accepted and how long ago the user may
/// have authenticated. An ID-JAG that does not meet it is rejected as `acr_not_accepted` or
/// `auth_time_too_old`, answered `insufficient_user_authentication` with this requirement
/// as `acr_values` / `max_age` (see [`token_error_response`](super::token_error_response)).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AuthenticationRequirement {
    /// The accepted `acr` (Authentication Context Class Reference) values, in order of
    /// preference: the ID-JAG's `acr` claim must be one of them (compared exactly). Each is
    /// 1 to 255 visible ASCII characters without space, `"` or `\`.
    #[serde(default)]
    pub acr_values: Option<Vec<String>>,
    /// The longest time, in seconds, since the user last actively authenticated: the
    /// ID-JAG must carry `auth_time`, and `now - auth_time` may exceed this by at most
    /// `clock_skew_s`. At most 31 536 000 (a year); `0` means "just now" (within the skew).
    #[serde(default)]
    pub max_auth_age_s: Option<u64>,
}

impl AuthenticationRequirement {
    /// Whether this requirement asks for nothing.
    pub fn is_empty(&self) -> bool {
        self.acr_values.is_none() && self.max_auth_age_s.is_none()
    }
}

/// The user-authentication policy for sensitive servers ([`VerifierConfig::user_authentication`]):
/// a requirement for every resource, and per-resource requirements that replace it.
///
/// ```json
/// "user_authentication": {
///   "acr_values": ["phr", "mfa"],
///   "max_auth_age_s": 3600,
///   "resources": {
///     "https://mcp.example.com/admin": {"acr_values": ["phrh"], "max_auth_age_s": 300},
///     "https://mcp.example.com/status": {}
///   }
/// }
/// ```
///
/// A resource listed under `resources` gets exactly its own requirement (`{}` exempts it);
/// every other resource gets the top-level one. An ID-JAG granting several resources must
/// meet the requirement of each: its `acr` must be accepted by every one of them, and its
/// `auth_time` must be within the smallest `max_auth_age_s`. Default: no requirement.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct UserAuthenticationConfig {
    /// Accepted `acr` values for every resource without its own entry (see
    /// [`AuthenticationRequirement::acr_values`]).
    #[serde(default)]
    pub acr_values: Option<Vec<String>>,
    /// Longest authentication age for every resource without its own entry (see
    /// [`AuthenticationRequirement::max_auth_age_s`]).
    #[serde(default)]
    pub max_auth_age_s: Option<u64>,
    /// Per-resource requirements, keyed by a resource exactly as listed in
    /// [`VerifierConfig::resources`]; each replaces the top-level requirement for its
    /// resource.
    #[serde(default)]
    pub resources: BTreeMap<String, AuthenticationRequirement>,
}

impl UserAuthenticationConfig {
    /// The requirement for every resource without its own entry.
    pub fn default_requirement(&self) -> AuthenticationRequirement {
        AuthenticationRequirement {
            acr_values: self.acr_values.clone(),
            max_auth_age_s: self.max_auth_age_s,
        }
    }
}

/// The verifier's configuration. Build it from JSON with [`VerifierConfig::from_json`], or in
/// Rust with [`VerifierConfig::new`] and then set fields.
///
/// ```json
/// {
///   "issuer": "https://as.example.com",
///   "resources": ["https://mcp.example.com/mcp"],
///   "default_resource": "https://mcp.example.com/mcp",
///   "missing_resource": "use_default",
///   "default_scope": "mcp:read",
///   "client_scopes": {"agent-1": "mcp:read mcp:write"},
///   "trusted_idps": [
///     {"issuer": "https://idp.example.com", "jwks_uri": "https://idp.example.com/jwks"},
///     {"issuer": "https://login.example.org"}
///   ],
///   "algorithms": ["RS256", "PS256", "ES256", "EdDSA"],
///   "clock_skew_s": 60,
///   "max_age_s": 300,
///   "max_lifetime_s": 600,
///   "user_authentication": {"acr_values": ["phrh"], "max_auth_age_s": 900},
///   "replay": {"redis_url": "redis://127.0.0.1:6379/0"}
/// }
/// ```
///
/// Unknown keys, and keys that contradict each other, are [`ErrorKind::Configuration`]
/// errors naming the key.
///
/// [`ErrorKind::Configuration`]: crate::ErrorKind::Configuration
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct VerifierConfig {
    /// This authorization server's issuer identifier: the only accepted `aud`.
    pub issuer: String,
    /// The MCP resource identifiers this authorization server issues tokens for. A `resource`
    /// claim must name only these: compared exactly, or after URL syntax normalization
    /// (scheme and host case, default port, dot segments, percent-encoding case). Never by
    /// prefix.
    pub resources: Vec<String>,
    /// The resource assumed when an ID-JAG has no `resource` claim (one of
    /// [`VerifierConfig::resources`]). Setting it implies
    /// [`MissingResourcePolicy::UseDefault`].
    #[serde(default)]
    pub default_resource: Option<String>,
    /// Policy for an ID-JAG without a `resource` claim. Defaults to `use_default` when
    /// `default_resource` is set and to `reject` otherwise.
    #[serde(default)]
    pub missing_resource: Option<MissingResourcePolicy>,
    /// The scope an ID-JAG **without a `scope` claim** stands for (a space-delimited RFC 6749
    /// §3.3 scope). Default: none — such an ID-JAG grants no scope at all, and a request
    /// asking for one is rejected as `scope_not_granted` (`invalid_scope`): the requested
    /// scope is never taken as the grant. Ignored when the ID-JAG has a `scope` claim (even
    /// an empty one).
    #[serde(default)]
    pub default_scope: Option<Scope>,
    /// Per-client allowed scopes (`{"client_id": "scope …"}`): when set, every grant is
    /// capped by the authenticated client's entry, whether the scope comes from the ID-JAG or
    /// from `default_scope`, and a client without an entry is granted no scope. Default: no
    /// per-client cap.
    #[serde(default)]
    pub client_scopes: Option<BTreeMap<String, Scope>>,
    /// The identity providers whose ID-JAGs are accepted.
    pub trusted_idps: Vec<TrustedIdpConfig>,
    /// Accepted signature algorithms (default [`JwsAlgorithm::DEFAULT`]). HMAC algorithms are
    /// refused here; enable them per IdP.
    #[serde(default = "default_algorithms")]
    pub algorithms: Vec<JwsAlgorithm>,
    /// Tolerated clock difference in seconds for `exp`, `nbf` and `iat` (default 60, at most
    /// 300).
    #[serde(default = "default_skew")]
    pub clock_skew_s: u64,
    /// Oldest acceptable ID-JAG: `now - iat` in seconds (default 300).
    #[serde(default = "default_max_age")]
    pub max_age_s: u64,
    /// Longest acceptable lifetime `exp - iat` in seconds (default 600).
    #[serde(default = "default_max_lifetime")]
    pub max_lifetime_s: u64,
    /// Longest accepted assertion in bytes, checked before any decoding (default 16 KiB).
    #[serde(default = "default_max_assertion_bytes")]
    pub max_assertion_bytes: usize,
    /// JWKS cache lifetime in seconds when the IdP sends no `Cache-Control: max-age`
    /// (default 600). A `max-age` is honoured but clamped to
    /// [`jwks_refetch_interval_s`](VerifierConfig::jwks_refetch_interval_s)..=24 h.
    #[serde(default = "default_jwks_ttl")]
    pub jwks_cache_ttl_s: u64,
    /// Minimum time between two JWKS fetches for one IdP (default 30 s): an unknown `kid`
    /// triggers at most one refetch per interval, and a failed fetch is not retried sooner.
    #[serde(default = "default_refetch_interval")]
    pub jwks_refetch_interval_s: u64,
    /// Required authentication strength and recentness (`acr`, `auth_time`), globally and
    /// per resource, for sensitive servers (default: none). See
    /// [`UserAuthenticationConfig`].
    #[serde(default)]
    pub user_authentication: UserAuthenticationConfig,
    /// Replay policy and store (default: single use, in memory).
    #[serde(default)]
    pub replay: ReplayConfig,
}

fn default_algorithms() -> Vec<JwsAlgorithm> {
    JwsAlgorithm::DEFAULT.to_vec()
}
fn default_skew() -> u64 {
    60
}
fn default_max_age() -> u64 {
    300
}
fn default_max_lifetime() -> u64 {
    600
}
fn default_max_assertion_bytes() -> usize {
    16 * 1024
}
fn default_jwks_ttl() -> u64 {
    600
}
fn default_refetch_interval() -> u64 {
    30
}

/// Most entries accepted in `resources` and in a token's `resource` array.
pub(crate) const MAX_RESOURCES: usize = 64;
const MAX_SKEW_S: u64 = 300;
const MAX_WINDOW_S: u64 = 7 * 24 * 3600;
const MIN_HMAC_SECRET: usize = 32;
/// Most `acr_values` in one requirement, and the longest accepted value.
const MAX_ACR_VALUES: usize = 32;
const MAX_ACR_LEN: usize = 255;
/// Longest `max_auth_age_s`: a year.
const MAX_AUTH_AGE_S: u64 = 365 * 24 * 3600;

/// The missing-resource policy once resolved.
#[derive(Clone, Debug)]
pub(crate) enum ResolvedMissing {
    Reject,
    UseDefault(String),
}

impl VerifierConfig {
    /// A configuration with every default: add IdPs to
    /// [`trusted_idps`](VerifierConfig::trusted_idps).
    pub fn new(issuer: impl Into<String>, resources: Vec<String>) -> Self {
        VerifierConfig {
            issuer: issuer.into(),
            resources,
            default_resource: None,
            missing_resource: None,
            default_scope: None,
            client_scopes: None,
            trusted_idps: Vec::new(),
            algorithms: default_algorithms(),
            clock_skew_s: default_skew(),
            max_age_s: default_max_age(),
            max_lifetime_s: default_max_lifetime(),
            max_assertion_bytes: default_max_assertion_bytes(),
            jwks_cache_ttl_s: default_jwks_ttl(),
            jwks_refetch_interval_s: default_refetch_interval(),
            user_authentication: UserAuthenticationConfig::default(),
            replay: ReplayConfig::default(),
        }
    }

    /// Parses and validates a JSON configuration. Errors are [`ErrorKind::Configuration`]
    /// and name the offending key.
    ///
    /// [`ErrorKind::Configuration`]: crate::ErrorKind::Configuration
    pub fn from_json(json: &str) -> Result<Self> {
        let de = &mut serde_json::Deserializer::from_str(json);
        let config: VerifierConfig = serde_path_to_error::deserialize(de)
            .map_err(|e| crate::config::json_config_error(e, "verifier configuration"))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks the configuration for missing, invalid or contradictory settings.
    pub fn validate(&self) -> Result<()> {
        self.resolve().map(|_| ())
    }

    pub(crate) fn resolve(&self) -> Result<ResolvedMissing> {
        let bad = |key: &str, why: &str| {
            Error::configuration(format!("verifier configuration key `{key}`: {why}"))
        };
        check_issuer(&self.issuer).map_err(|why| bad("issuer", &why))?;
        if self.resources.is_empty() {
            return Err(bad(
                "resources",
                "at least one resource identifier is required",
            ));
        }
        if self.resources.len() > MAX_RESOURCES {
            return Err(bad("resources", "too many resource identifiers"));
        }
        for (i, r) in self.resources.iter().enumerate() {
            check_resource(r).map_err(|why| bad(&format!("resources[{i}]"), &why))?;
        }
        let missing = match (&self.default_resource, self.missing_resource) {
            (Some(d), None | Some(MissingResourcePolicy::UseDefault)) => {
                if !self.resources.iter().any(|r| r == d) {
                    return Err(bad("default_resource", "must be one of `resources`"));
                }
                ResolvedMissing::UseDefault(d.clone())
            }
            (None, Some(MissingResourcePolicy::UseDefault)) => {
                return Err(bad(
                    "missing_resource",
                    "`use_default` needs `default_resource`",
                ))
            }
            (Some(_), Some(MissingResourcePolicy::Reject)) => {
                return Err(bad(
                    "default_resource",
                    "contradicts `missing_resource: reject` (remove one of them)",
                ))
            }
            (None, None | Some(MissingResourcePolicy::Reject)) => ResolvedMissing::Reject,
        };
        if self.default_scope.as_ref().is_some_and(Scope::is_empty) {
            return Err(bad(
                "default_scope",
                "must name at least one scope (omit it to grant no scope to ID-JAGs without one)",
            ));
        }
        if let Some(clients) = &self.client_scopes {
            if clients.keys().any(String::is_empty) {
                return Err(bad("client_scopes", "a client_id is empty"));
            }
        }
        if self.trusted_idps.is_empty() {
            return Err(bad("trusted_idps", "at least one trusted IdP is required"));
        }
        check_algorithms(&self.algorithms).map_err(|why| bad("algorithms", &why))?;
        if self.clock_skew_s > MAX_SKEW_S {
            return Err(bad("clock_skew_s", "must be at most 300"));
        }
        if self.max_age_s == 0 || self.max_age_s > MAX_WINDOW_S {
            return Err(bad("max_age_s", "must be between 1 and 604800"));
        }
        if self.max_lifetime_s == 0 || self.max_lifetime_s > MAX_WINDOW_S {
            return Err(bad("max_lifetime_s", "must be between 1 and 604800"));
        }
        if !(1024..=256 * 1024).contains(&self.max_assertion_bytes) {
            return Err(bad(
                "max_assertion_bytes",
                "must be between 1024 and 262144",
            ));
        }
        if self.jwks_refetch_interval_s == 0 || self.jwks_refetch_interval_s > 3600 {
            return Err(bad("jwks_refetch_interval_s", "must be between 1 and 3600"));
        }
        if self.jwks_cache_ttl_s < self.jwks_refetch_interval_s || self.jwks_cache_ttl_s > 86_400 {
            return Err(bad(
                "jwks_cache_ttl_s",
                "must be between `jwks_refetch_interval_s` and 86400",
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, idp) in self.trusted_idps.iter().enumerate() {
            let key = |k: &str| format!("trusted_idps[{i}].{k}");
            check_issuer(&idp.issuer).map_err(|why| bad(&key("issuer"), &why))?;
            if !seen.insert(idp.issuer.as_str()) {
                return Err(bad(&key("issuer"), "the same issuer is listed twice"));
            }
            let sources = [
                idp.jwks_uri.is_some(),
                idp.jwks.is_some(),
                idp.insecure_hmac_secret.is_some(),
            ];
            if sources.iter().filter(|s| **s).count() > 1 {
                return Err(bad(
                    &key("jwks_uri"),
                    "set only one of `jwks_uri`, `jwks` and `insecure_hmac_secret`",
                ));
            }
            if let Some(u) = &idp.jwks_uri {
                check_url(u, Step::Config).map_err(|e| bad(&key("jwks_uri"), e.message()))?;
            }
            match (&idp.insecure_hmac_secret, &idp.algorithms) {
                (Some(secret), Some(algs)) => {
                    if algs.is_empty() || algs.iter().any(|a| !a.is_hmac()) {
                        return Err(bad(
                            &key("algorithms"),
                            "an IdP with `insecure_hmac_secret` must list only HS256/HS384/HS512",
                        ));
                    }
                    if secret.len() < MIN_HMAC_SECRET {
                        return Err(bad(
                            &key("insecure_hmac_secret"),
                            "must be at least 32 bytes",
                        ));
                    }
                }
                (Some(_), None) => return Err(bad(
                    &key("algorithms"),
                    "an IdP with `insecure_hmac_secret` must list its HMAC algorithms explicitly",
                )),
                (None, Some(algs)) => {
                    check_algorithms(algs).map_err(|why| bad(&key("algorithms"), &why))?
                }
                (None, None) => {}
            }
        }
        let ua = &self.user_authentication;
        check_requirement(&ua.default_requirement(), "user_authentication", &bad)?;
        for (resource, req) in &ua.resources {
            let key = format!("user_authentication.resources.{resource}");
            if !self.resources.iter().any(|r| r == resource) {
                return Err(bad(
                    &key,
                    "not one of `resources` (spell it exactly as listed there)",
                ));
            }
            check_requirement(req, &key, &bad)?;
        }
        let r = &self.replay;
        if r.redis_url.is_some() {
            if r.memory_capacity.is_some() {
                return Err(bad(
                    "replay.memory_capacity",
                    "contradicts `replay.redis_url` (the in-memory store is not used with Redis)",
                ));
            }
            if !cfg!(feature = "redis") {
                return Err(bad(
                    "replay.redis_url",
                    "idjag was built without the `redis` feature",
                ));
            }
        } else {
            if r.key_prefix.is_some() {
                return Err(bad(
                    "replay.key_prefix",
                    "only applies with `replay.redis_url`",
                ));
            }
            if r.redis_timeout_ms.is_some() {
                return Err(bad(
                    "replay.redis_timeout_ms",
                    "only applies with `replay.redis_url`",
                ));
            }
        }
        if r.memory_capacity == Some(0) {
            return Err(bad("replay.memory_capacity", "must be at least 1"));
        }
        if r.redis_timeout_ms == Some(0) {
            return Err(bad("replay.redis_timeout_ms", "must be at least 1"));
        }
        Ok(missing)
    }
}

fn check_requirement(
    req: &AuthenticationRequirement,
    key: &str,
    bad: &dyn Fn(&str, &str) -> Error,
) -> Result<()> {
    if let Some(values) = &req.acr_values {
        let key = format!("{key}.acr_values");
        if values.is_empty() {
            return Err(bad(
                &key,
                "must list at least one value (omit it to accept any `acr`)",
            ));
        }
        if values.len() > MAX_ACR_VALUES {
            return Err(bad(&key, "lists more than 32 values"));
        }
        for (i, v) in values.iter().enumerate() {
            let ok = !v.is_empty()
                && v.len() <= MAX_ACR_LEN
                && v.bytes()
                    .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\');
            if !ok {
                return Err(bad(
                    &format!("{key}[{i}]"),
                    "must be 1 to 255 visible ASCII characters without space, `\"` or `\\`",
                ));
            }
            if values[..i].contains(v) {
                return Err(bad(&format!("{key}[{i}]"), "is listed twice"));
            }
        }
    }
    if req.max_auth_age_s.is_some_and(|m| m > MAX_AUTH_AGE_S) {
        return Err(bad(
            &format!("{key}.max_auth_age_s"),
            "must be at most 31536000 (a year)",
        ));
    }
    Ok(())
}

fn check_issuer(issuer: &str) -> std::result::Result<(), String> {
    let u = check_url(issuer, Step::Config).map_err(|e| e.message().to_string())?;
    if u.query().is_some() || u.fragment().is_some() {
        return Err("an issuer identifier has no query or fragment".into());
    }
    Ok(())
}

fn check_resource(resource: &str) -> std::result::Result<(), String> {
    let u = url::Url::parse(resource).map_err(|_| "not an absolute URI".to_string())?;
    if u.fragment().is_some() {
        return Err("a resource identifier has no fragment (RFC 8707 §2)".into());
    }
    Ok(())
}

fn check_algorithms(algs: &[JwsAlgorithm]) -> std::result::Result<(), String> {
    if algs.is_empty() {
        return Err("at least one algorithm is required".into());
    }
    if algs.iter().any(|a| a.is_hmac()) {
        return Err(
            "HMAC algorithms may only be enabled per IdP, with `insecure_hmac_secret`".into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn base() -> serde_json::Value {
        serde_json::json!({
            "issuer": "https://as.example.com",
            "resources": ["https://mcp.example.com/mcp"],
            "trusted_idps": [{"issuer": "https://idp.example.com", "jwks_uri": "https://idp.example.com/jwks"}]
        })
    }

    fn err_of(v: serde_json::Value) -> Error {
        match VerifierConfig::from_json(&v.to_string()) {
            Ok(_) => panic!("accepted {v}"),
            Err(e) => e,
        }
    }

    #[test]
    fn defaults() {
        let c = VerifierConfig::from_json(&base().to_string()).expect("valid");
        assert_eq!(c.algorithms, JwsAlgorithm::DEFAULT);
        assert_eq!(c.clock_skew_s, 60);
        assert_eq!(c.max_age_s, 300);
        assert_eq!(c.max_assertion_bytes, 16384);
        assert!(matches!(c.resolve(), Ok(ResolvedMissing::Reject)));
    }

    #[test]
    fn unknown_keys_are_named() {
        let mut v = base();
        v["clock_skew"] = 5.into();
        let e = err_of(v);
        assert_eq!(e.kind(), ErrorKind::Configuration);
        assert!(e.message().contains("clock_skew"), "{e}");

        let mut v = base();
        v["trusted_idps"][0]["jwks_url"] = "https://x".into();
        let e = err_of(v);
        assert!(e.message().contains("trusted_idps[0]"), "{e}");
        assert!(e.message().contains("jwks_url"), "{e}");

        let mut v = base();
        v["replay"] = serde_json::json!({"redis": "x"});
        assert!(err_of(v).message().contains("redis"));
    }

    #[test]
    fn contradictions_are_named() {
        let cases: Vec<(serde_json::Value, &str)> = vec![
            (
                serde_json::json!({"default_resource": "https://other/"}),
                "default_resource",
            ),
            (
                serde_json::json!({"missing_resource": "use_default"}),
                "missing_resource",
            ),
            (
                serde_json::json!({"default_resource": "https://mcp.example.com/mcp", "missing_resource": "reject"}),
                "default_resource",
            ),
            (serde_json::json!({"algorithms": ["none"]}), "algorithms"),
            (serde_json::json!({"algorithms": ["HS256"]}), "algorithms"),
            (serde_json::json!({"algorithms": []}), "algorithms"),
            (serde_json::json!({"algorithms": ["RS1"]}), "algorithms"),
            (serde_json::json!({"clock_skew_s": 3600}), "clock_skew_s"),
            (serde_json::json!({"max_age_s": 0}), "max_age_s"),
            (serde_json::json!({"resources": []}), "resources"),
            (
                serde_json::json!({"resources": ["https://a/#frag"]}),
                "resources[0]",
            ),
            (
                serde_json::json!({"issuer": "http://as.example.com"}),
                "issuer",
            ),
            (serde_json::json!({"trusted_idps": []}), "trusted_idps"),
            (
                serde_json::json!({"replay": {"key_prefix": "x"}}),
                "replay.key_prefix",
            ),
            (
                serde_json::json!({"replay": {"memory_capacity": 0}}),
                "replay.memory_capacity",
            ),
            (
                serde_json::json!({"jwks_cache_ttl_s": 5}),
                "jwks_cache_ttl_s",
            ),
            (serde_json::json!({"default_scope": ""}), "default_scope"),
            (
                serde_json::json!({"default_scope": "a\tb"}),
                "default_scope",
            ),
            (serde_json::json!({"default_scope": ["a"]}), "default_scope"),
            (
                serde_json::json!({"client_scopes": {"": "a"}}),
                "client_scopes",
            ),
            (
                serde_json::json!({"client_scopes": {"c": "a \"b\""}}),
                "client_scopes.c",
            ),
        ];
        for (patch, key) in cases {
            let mut v = base();
            for (k, val) in patch.as_object().into_iter().flatten() {
                v[k] = val.clone();
            }
            let e = err_of(v.clone());
            assert_eq!(e.kind(), ErrorKind::Configuration, "{v}");
            assert!(e.message().contains(key), "{key}: {e}");
        }
    }

    #[test]
    fn idp_contradictions() {
        let idp = |extra: serde_json::Value| {
            let mut v = base();
            let mut i = serde_json::json!({"issuer": "https://idp2.example.com"});
            for (k, val) in extra.as_object().into_iter().flatten() {
                i[k] = val.clone();
            }
            if let Some(a) = v["trusted_idps"].as_array_mut() {
                a.push(i);
            }
            v
        };
        let e = err_of(idp(
            serde_json::json!({"jwks_uri": "https://x/j", "jwks": {"keys": []}}),
        ));
        assert!(e.message().contains("trusted_idps[1].jwks_uri"), "{e}");
        let e = err_of(idp(
            serde_json::json!({"jwks_uri": "http://idp2.example.com/j"}),
        ));
        assert!(e.message().contains("trusted_idps[1].jwks_uri"), "{e}");
        let secret = "0123456789abcdef0123456789abcdef";
        let e = err_of(idp(serde_json::json!({"insecure_hmac_secret": secret})));
        assert!(e.message().contains("trusted_idps[1].algorithms"), "{e}");
        let e = err_of(idp(
            serde_json::json!({"insecure_hmac_secret": "short", "algorithms": ["HS256"]}),
        ));
        assert!(e.message().contains("insecure_hmac_secret"), "{e}");
        assert!(!e.to_string().contains("short"));
        let e = err_of(idp(serde_json::json!({"algorithms": ["HS256"]})));
        assert!(e.message().contains("trusted_idps[1].algorithms"), "{e}");
        let ok = idp(serde_json::json!({"insecure_hmac_secret": secret, "algorithms": ["HS256"]}));
        let c = VerifierConfig::from_json(&ok.to_string()).expect("hmac idp");
        assert!(!format!("{c:?}").contains(secret));
        let mut dup = base();
        let first = dup["trusted_idps"][0].clone();
        if let Some(a) = dup["trusted_idps"].as_array_mut() {
            a.push(first);
        }
        assert!(err_of(dup).message().contains("trusted_idps[1].issuer"));
    }

    #[test]
    fn scope_policy_keys() {
        let c = VerifierConfig::from_json(&base().to_string()).expect("valid");
        assert!(c.default_scope.is_none() && c.client_scopes.is_none());
        let mut v = base();
        v["default_scope"] = "mcp:write  mcp:read".into();
        v["client_scopes"] = serde_json::json!({"c1": "mcp:read", "c2": ""});
        let c = VerifierConfig::from_json(&v.to_string()).expect("valid");
        assert_eq!(
            c.default_scope.as_ref().map(Scope::as_str),
            Some("mcp:read mcp:write")
        );
        let clients = c.client_scopes.expect("clients");
        assert_eq!(clients["c1"].as_str(), "mcp:read");
        assert!(clients["c2"].is_empty());
    }

    #[test]
    fn user_authentication_keys() {
        let c = VerifierConfig::from_json(&base().to_string()).expect("valid");
        assert_eq!(c.user_authentication, UserAuthenticationConfig::default());
        assert!(c.user_authentication.default_requirement().is_empty());
        let mut v = base();
        v["user_authentication"] = serde_json::json!({
            "acr_values": ["phrh", "urn:acme:mfa"], "max_auth_age_s": 0,
            "resources": {"https://mcp.example.com/mcp": {"max_auth_age_s": 300}}
        });
        let c = VerifierConfig::from_json(&v.to_string()).expect("valid");
        let ua = &c.user_authentication;
        assert_eq!(ua.max_auth_age_s, Some(0));
        assert_eq!(
            ua.resources["https://mcp.example.com/mcp"],
            AuthenticationRequirement {
                acr_values: None,
                max_auth_age_s: Some(300)
            }
        );
        let cases: Vec<(serde_json::Value, &str)> = vec![
            (
                serde_json::json!({"acr_values": []}),
                "user_authentication.acr_values",
            ),
            (
                serde_json::json!({"acr_values": ["a b"]}),
                "user_authentication.acr_values[0]",
            ),
            (
                serde_json::json!({"acr_values": ["ok", "q\"uote"]}),
                "user_authentication.acr_values[1]",
            ),
            (
                serde_json::json!({"acr_values": ["x", ""]}),
                "user_authentication.acr_values[1]",
            ),
            (
                serde_json::json!({"acr_values": ["x", "x"]}),
                "user_authentication.acr_values[1]",
            ),
            (
                serde_json::json!({"acr_values": ["é"]}),
                "user_authentication.acr_values[0]",
            ),
            (
                serde_json::json!({"max_auth_age_s": 31_536_001u64}),
                "user_authentication.max_auth_age_s",
            ),
            (
                serde_json::json!({"max_auth_age_s": -1}),
                "user_authentication.max_auth_age_s",
            ),
            (serde_json::json!({"max_age_s": 5}), "max_age_s"),
            (
                serde_json::json!({"resources": {"https://mcp.example.com/other": {}}}),
                "user_authentication.resources.https://mcp.example.com/other",
            ),
            (
                serde_json::json!({"resources": {"https://mcp.example.com/mcp": {"acr_values": []}}}),
                "user_authentication.resources.https://mcp.example.com/mcp.acr_values",
            ),
            (
                serde_json::json!({"resources": {"https://mcp.example.com/mcp": {"acr": ["x"]}}}),
                "acr",
            ),
        ];
        for (ua, key) in cases {
            let mut v = base();
            v["user_authentication"] = ua.clone();
            let e = err_of(v);
            assert_eq!(e.kind(), ErrorKind::Configuration, "{ua}");
            assert!(e.message().contains(key), "{key}: {e}");
        }
    }

    #[test]
    fn replay_policy_key() {
        let c = VerifierConfig::from_json(&base().to_string()).expect("valid");
        assert_eq!(c.replay.policy, ReplayPolicy::SingleUse);
        let mut v = base();
        v["replay"] = serde_json::json!({"policy": "until_exp", "memory_capacity": 10});
        let c = VerifierConfig::from_json(&v.to_string()).expect("valid");
        assert_eq!(c.replay.policy, ReplayPolicy::UntilExp);
        assert_eq!(c.replay.policy.to_string(), "until_exp");
        for bad in ["reuse", "UNTIL_EXP", ""] {
            let mut v = base();
            v["replay"] = serde_json::json!({"policy": bad});
            let e = err_of(v);
            assert!(e.message().contains("replay.policy"), "{e}");
        }
    }

    #[test]
    fn default_resource_policy() {
        let mut v = base();
        v["default_resource"] = "https://mcp.example.com/mcp".into();
        let c = VerifierConfig::from_json(&v.to_string()).expect("valid");
        assert!(matches!(c.resolve(), Ok(ResolvedMissing::UseDefault(_))));
    }

    #[test]
    fn redis_url_is_redacted() {
        let mut v = base();
        v["replay"] = serde_json::json!({"redis_url": "redis://:pw-planted@127.0.0.1:1/0"});
        if let Ok(c) = VerifierConfig::from_json(&v.to_string()) {
            assert!(!format!("{c:?}").contains("pw-planted"));
        }
    }
}
