//! Every JSON input shape of idjag, shared by Rust, C, Python, Node and the `idjag` command
//! line:
//!
//! - [`SessionConfig`]: the one JSON description of an MCP client;
//! - its parts [`IdpConfig`], [`ClientConfig`] and [`HttpSettings`] (also the JSON form of
//!   [`HttpConfig`]);
//! - the low-level requests [`TokenEndpoint`], [`IdJagRequest`], [`RedeemRequest`] and
//!   [`IdTokenRefreshRequest`] (`from_json`, or `serde::Deserialize`).
//!
//! ```json
//! {
//!   "idp": {"issuer": "https://idp.example.com", "client_id": "mcp-app",
//!           "client_secret": "…", "auth_method": "client_secret_basic"},
//!   "subject_token": "<the user's ID token>",
//!   "subject_token_type": "id_token",
//!   "idp_refresh_token": "<optional IdP refresh token>",
//!   "client": {"client_id": "mcp-app-at-as", "client_secret": "…"},
//!   "clients": {"https://as.other.example": {"client_id": "…", "private_key_pem": "…", "signing_alg": "ES256"}},
//!   "scope": "mcp:read",
//!   "scopes": {"https://mcp.example.com/mcp": "mcp:read mcp:write"},
//!   "timeout_ms": 10000,
//!   "ca_bundle_pem": "-----BEGIN CERTIFICATE-----…",
//!   "renewal_margin_s": 60
//! }
//! ```
//!
//! Unknown keys and contradictory settings are [`ErrorKind::Configuration`] errors (for the
//! request shapes: [`ErrorKind::InvalidArgument`]) whose message names the key. Error messages
//! never contain a configured value.
//!
//! Objects that embed another one's keys (the IdP object holds the [`ClientConfig`] keys, the
//! session the [`HttpSettings`] keys, each request the [`TokenEndpoint`] keys) are read key by
//! key from one JSON object (`serde(flatten)` cannot be combined with `deny_unknown_fields`):
//! unknown keys are still refused by name, error paths point at the key, and secret values go
//! straight into [`SecretString`]s without an intermediate JSON tree.

use crate::client_auth::{
    AssertionAudience, AuthMethod, ClientCredentials, PrivateKey, SigningAlg,
};
use crate::discovery::ResourceMatch;
use crate::error::{Error, ErrorKind, Result, Step};
use crate::exchange::{
    IdJagRequest, IdTokenRefreshRequest, RedeemRequest, SubjectTokenType, TokenEndpoint,
};
use crate::http::HttpConfig;
use crate::secret::SecretString;
use serde::de::{self, Deserialize, Deserializer, MapAccess};
use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

/// A struct read from a JSON object key by key, possibly embedding the keys of other such
/// structs.
trait Fields: Default {
    /// Every key, the embedded parts' included.
    fn fields() -> &'static [&'static str];
    /// The keys that must be present.
    fn required() -> &'static [&'static str];
    /// Reads the value of `key`; `Ok(false)` when `key` is not one of [`Fields::fields`].
    fn read<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<bool, A::Error>;
}

/// Implements [`Fields`] and `Deserialize` for a struct: its own keys (one per field, same
/// name), the required ones, and the embedded parts (fields whose keys appear at this level).
macro_rules! json_fields {
    (
        $ty:ident { $($field:ident),* $(,)? }
        required [$($req:ident),* $(,)?]
        embed [$($part:ident : $pty:ty),* $(,)?]
    ) => {
        impl Fields for $ty {
            fn fields() -> &'static [&'static str] {
                static ALL: std::sync::LazyLock<Vec<&'static str>> = std::sync::LazyLock::new(|| {
                    #[allow(unused_mut)]
                    let mut all: Vec<&'static str> = vec![$(stringify!($field)),*];
                    $(all.extend_from_slice(<$pty as Fields>::fields());)*
                    all
                });
                &ALL
            }

            fn required() -> &'static [&'static str] {
                static REQ: std::sync::LazyLock<Vec<&'static str>> = std::sync::LazyLock::new(|| {
                    #[allow(unused_mut)]
                    let mut req: Vec<&'static str> = vec![$(stringify!($req)),*];
                    $(req.extend_from_slice(<$pty as Fields>::required());)*
                    req
                });
                &REQ
            }

            fn read<'de, A: MapAccess<'de>>(
                &mut self,
                key: &str,
                map: &mut A,
            ) -> Result<bool, A::Error> {
                match key {
                    $(stringify!($field) => {
                        self.$field = map.next_value()?;
                        Ok(true)
                    })*
                    _ => {
                        $(if self.$part.read(key, map)? {
                            return Ok(true);
                        })*
                        Ok(false)
                    }
                }
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_map(FieldsVisitor::<$ty>(PhantomData))
            }
        }
    };
}

struct FieldsVisitor<T>(PhantomData<T>);

impl<'de, T: Fields> de::Visitor<'de> for FieldsVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a JSON object with the keys {}", T::fields().join(", "))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        let mut out = T::default();
        let mut seen: Vec<&'static str> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let Some(&name) = T::fields().iter().find(|f| **f == key) else {
                return Err(de::Error::unknown_field(&key, T::fields()));
            };
            if seen.contains(&name) {
                return Err(de::Error::duplicate_field(name));
            }
            seen.push(name);
            if !out.read(name, &mut map)? {
                return Err(de::Error::custom("internal: key list mismatch"));
            }
        }
        if let Some(missing) = T::required().iter().find(|r| !seen.contains(r)) {
            return Err(de::Error::missing_field(missing));
        }
        Ok(out)
    }
}

/// Client credentials at one server (the IdP, or an MCP authorization server).
#[derive(Clone, Debug, Default)]
pub struct ClientConfig {
    /// The client identifier at that server.
    pub client_id: String,
    /// Client secret (`client_secret_basic` / `client_secret_post`).
    pub client_secret: Option<SecretString>,
    /// Explicit method; default: chosen from the server's metadata.
    pub auth_method: Option<AuthMethod>,
    /// PEM private key for `private_key_jwt`.
    pub private_key_pem: Option<SecretString>,
    /// Algorithm of `private_key_pem` (`RS256`, `PS256`, `ES256`, `EdDSA`); default: inferred
    /// from the key (RSA → RS256, EC → ES256, Ed25519 → EdDSA).
    pub signing_alg: Option<SigningAlg>,
    /// `kid` header of client assertions.
    pub key_id: Option<String>,
    /// `aud` of client assertions: `issuer` (default) or `token_endpoint`.
    pub assertion_audience: Option<AssertionAudience>,
    /// `typ` header of client assertions (e.g. `client-authentication+jwt`).
    pub assertion_typ: Option<String>,
}

json_fields! {
    ClientConfig {
        client_id, client_secret, auth_method, private_key_pem, signing_alg, key_id,
        assertion_audience, assertion_typ,
    }
    required [client_id]
    embed []
}

impl ClientConfig {
    /// The credentials this object describes (private key parsed, algorithm inferred when
    /// not given, contradictions refused). `key` names the object in error messages.
    pub fn to_credentials(&self, key: &str) -> Result<ClientCredentials> {
        client_credentials(self, key)
    }

    /// Parses one credentials object of the shared JSON shape (`client_id`, `client_secret`,
    /// `auth_method`, `private_key_pem`, `signing_alg`, `key_id`, `assertion_audience`,
    /// `assertion_typ`) into credentials. Errors name keys, never values.
    pub fn credentials_from_json(json: &str, key: &str) -> Result<ClientCredentials> {
        let de = &mut serde_json::Deserializer::from_str(json);
        let c: ClientConfig = serde_path_to_error::deserialize(de)
            .map_err(|e| json_config_error(e, &format!("credentials `{key}`")))?;
        c.to_credentials(key)
    }
}

/// The IdP: where the user's identity assertion is exchanged for ID-JAGs. In JSON one object
/// with `issuer`, `token_endpoint` and the [`ClientConfig`] keys.
#[derive(Clone, Debug, Default)]
pub struct IdpConfig {
    /// IdP issuer; its metadata gives the token endpoint and auth methods.
    pub issuer: Option<String>,
    /// IdP token endpoint, when discovery is not wanted.
    pub token_endpoint: Option<String>,
    /// Our client at the IdP (its keys sit next to `issuer` in the JSON object).
    pub client: ClientConfig,
}

json_fields! {
    IdpConfig { issuer, token_endpoint }
    required []
    embed [client: ClientConfig]
}

/// HTTP settings in JSON: the keys of the same name in [`SessionConfig`], and the JSON form of
/// [`HttpConfig`] (`HttpConfig::from_json`, or `HttpConfig`'s `Deserialize`). Unset keys keep
/// the [`HttpConfig`] defaults.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct HttpSettings {
    /// Total timeout of one HTTP request in milliseconds (default 30000, at most 3600000).
    pub timeout_ms: Option<u64>,
    /// Connect timeout in milliseconds (default 5000; at most `timeout_ms`).
    pub connect_timeout_ms: Option<u64>,
    /// Most time to wait for the response head, and to read the body, in milliseconds
    /// (default 10000; at most `timeout_ms`).
    pub read_timeout_ms: Option<u64>,
    /// Extra trusted CA roots (PEM).
    pub ca_bundle_pem: Option<String>,
    /// Proxy URL (`http://`, `https://`, `socks4://`, `socks4a://`, `socks5://`; userinfo
    /// allowed, never shown).
    pub proxy: Option<String>,
    /// Cap on metadata/JWKS response bodies in bytes (default 1 MiB; 1 KiB to 64 MiB).
    pub max_metadata_bytes: Option<usize>,
    /// Cap on token-endpoint response bodies in bytes (default 64 KiB; 1 KiB to 64 MiB).
    pub max_token_bytes: Option<usize>,
}

json_fields! {
    HttpSettings {
        timeout_ms, connect_timeout_ms, read_timeout_ms, ca_bundle_pem, proxy,
        max_metadata_bytes, max_token_bytes,
    }
    required []
    embed []
}

/// A URL with any userinfo (`user:password@`) replaced, whether or not it parses as a URL.
pub(crate) fn redact_userinfo(url: &str) -> String {
    let (scheme, rest) = match url.find("://") {
        Some(i) => url.split_at(i + 3),
        None => ("", url),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}[redacted]@{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

impl fmt::Debug for HttpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpSettings")
            .field("timeout_ms", &self.timeout_ms)
            .field("connect_timeout_ms", &self.connect_timeout_ms)
            .field("read_timeout_ms", &self.read_timeout_ms)
            .field(
                "ca_bundle_pem",
                &self.ca_bundle_pem.as_ref().map(|_| "[pem]"),
            )
            .field("proxy", &self.proxy.as_deref().map(redact_userinfo))
            .field("max_metadata_bytes", &self.max_metadata_bytes)
            .field("max_token_bytes", &self.max_token_bytes)
            .finish()
    }
}

/// Longest accepted timeout.
const MAX_TIMEOUT_MS: u64 = 3_600_000;
/// Accepted response-size caps.
const BODY_CAP_RANGE: std::ops::RangeInclusive<usize> = 1024..=64 * 1024 * 1024;

impl HttpSettings {
    /// Checks ranges and the proxy URL.
    pub fn validate(&self) -> Result<()> {
        for (key, v) in [
            ("timeout_ms", self.timeout_ms),
            ("connect_timeout_ms", self.connect_timeout_ms),
            ("read_timeout_ms", self.read_timeout_ms),
        ] {
            if v.is_some_and(|ms| ms == 0 || ms > MAX_TIMEOUT_MS) {
                return Err(Error::configuration(format!(
                    "configuration key `{key}` must be between 1 and {MAX_TIMEOUT_MS} milliseconds"
                )));
            }
        }
        for (key, v) in [
            ("max_metadata_bytes", self.max_metadata_bytes),
            ("max_token_bytes", self.max_token_bytes),
        ] {
            if v.is_some_and(|n| !BODY_CAP_RANGE.contains(&n)) {
                return Err(Error::configuration(format!(
                    "configuration key `{key}` must be between {} and {} bytes",
                    BODY_CAP_RANGE.start(),
                    BODY_CAP_RANGE.end()
                )));
            }
        }
        if let Some(p) = &self.proxy {
            let ok = url::Url::parse(p).is_ok_and(|u| {
                matches!(
                    u.scheme(),
                    "http" | "https" | "socks4" | "socks4a" | "socks5"
                ) && u.host().is_some()
            });
            if !ok {
                return Err(Error::configuration(
                    "configuration key `proxy` is not a proxy URL (http://, https://, socks4://, socks4a:// or socks5:// with a host)",
                ));
            }
        }
        Ok(())
    }

    /// The [`HttpConfig`] these settings describe (defaults for unset keys; connect and read
    /// timeouts never longer than the total). Call [`HttpSettings::validate`] first.
    pub fn to_http_config(&self) -> HttpConfig {
        let mut h = HttpConfig::default();
        if let Some(ms) = self.timeout_ms {
            h.total_timeout = Duration::from_millis(ms);
        }
        if let Some(ms) = self.read_timeout_ms {
            h.read_timeout = Duration::from_millis(ms);
        }
        if let Some(ms) = self.connect_timeout_ms {
            h.connect_timeout = Duration::from_millis(ms);
        }
        h.read_timeout = h.read_timeout.min(h.total_timeout);
        h.connect_timeout = h.connect_timeout.min(h.total_timeout);
        h.ca_bundle_pem = self.ca_bundle_pem.clone();
        h.proxy = self.proxy.clone();
        if let Some(n) = self.max_metadata_bytes {
            h.max_metadata_bytes = n;
        }
        if let Some(n) = self.max_token_bytes {
            h.max_token_bytes = n;
        }
        h
    }
}

/// `HttpConfig` from the [`HttpSettings`] JSON keys, validated.
impl<'de> Deserialize<'de> for HttpConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = HttpSettings::deserialize(deserializer)?;
        s.validate()
            .map_err(|e| de::Error::custom(e.message().to_string()))?;
        Ok(s.to_http_config())
    }
}

impl HttpConfig {
    /// Parses the [`HttpSettings`] JSON keys (`{"timeout_ms": 10000, "proxy": "…"}`); unset
    /// keys keep their defaults. Errors name the key, never a value.
    pub fn from_json(json: &str) -> Result<HttpConfig> {
        let de = &mut serde_json::Deserializer::from_str(json);
        let s: HttpSettings = serde_path_to_error::deserialize(de)
            .map_err(|e| json_config_error(e, "HTTP configuration"))?;
        s.validate()?;
        Ok(s.to_http_config())
    }
}

/// The complete client configuration.
#[derive(Clone, Debug, Default)]
pub struct SessionConfig {
    /// The enterprise IdP.
    pub idp: IdpConfig,
    /// The user's identity assertion (ID token, base64url SAML assertion, or IdP refresh
    /// token). May be supplied later with `Session::set_subject_token`.
    pub subject_token: Option<SecretString>,
    /// Type of `subject_token`: `id_token` (default), `saml2`, `refresh_token` (or the URN).
    pub subject_token_type: SubjectTokenType,
    /// IdP refresh token, to renew an expired or rejected ID token silently.
    pub idp_refresh_token: Option<SecretString>,
    /// Default credentials at MCP authorization servers.
    pub client: Option<ClientConfig>,
    /// Per-AS-issuer credentials (exact issuer string → credentials).
    pub clients: BTreeMap<String, ClientConfig>,
    /// Default scope for every MCP server (else: the challenged scope, else the PRM's).
    pub scope: Option<String>,
    /// Per-MCP-server scope (server URL → scope).
    pub scopes: BTreeMap<String, String>,
    /// Renew access tokens this many seconds before they expire (default 60).
    pub renewal_margin_s: Option<u64>,
    /// Lifetime assumed for an access token that came without `expires_in` (default 300).
    pub default_token_lifetime_s: Option<u64>,
    /// PRM `resource` matching: `exact` (default) or `same_origin_prefix`.
    pub resource_match: ResourceMatch,
    /// Most scope step-ups per MCP server (default 3).
    pub max_step_ups: Option<u8>,
    /// Where the default `client` may be sent: a list of AS issuers, or `"any"` (see
    /// [`crate::routing`] for the default).
    pub client_issuers: Option<crate::routing::ClientIssuers>,
    /// Per-AS-issuer `scope` policy of the jwt-bearer request (leg 2); default
    /// [`JwtBearerScope::Inherit`].
    pub jwt_bearer_scope: BTreeMap<String, JwtBearerScope>,
    /// A workload identity instead of a user (SEP-1933): the session presents the workload
    /// JWT directly to the authorization server; there is no `idp` and no leg 1.
    pub workload: Option<WorkloadConfig>,
    /// HTTP settings (`timeout_ms`, `connect_timeout_ms`, `read_timeout_ms`, `ca_bundle_pem`,
    /// `proxy`, `max_metadata_bytes`, `max_token_bytes`: keys of this object itself).
    pub http: HttpSettings,
}

json_fields! {
    SessionConfig {
        idp, subject_token, subject_token_type, idp_refresh_token, client, clients, scope,
        scopes, renewal_margin_s, default_token_lifetime_s, resource_match, max_step_ups,
        client_issuers, jwt_bearer_scope, workload,
    }
    required []
    embed [http: HttpSettings]
}

/// A workload identity (SEP-1933 workload identity federation): an agent without a user
/// presents a workload JWT — a Kubernetes service-account token, a SPIFFE JWT-SVID, a CI
/// platform's OIDC token — directly to the MCP server's authorization server with the
/// jwt-bearer grant (RFC 7523 §2.1). Its `aud` must be what that AS expects (usually its token
/// endpoint). Exactly one source: `assertion` (a value) or `assertion_file` (re-read for every
/// token, so a rotated file is picked up); in Rust also
/// [`SessionBuilder::workload_assertion`](crate::SessionBuilder::workload_assertion).
#[derive(Clone, Debug, Default)]
pub struct WorkloadConfig {
    /// The workload JWT.
    pub assertion: Option<SecretString>,
    /// A file holding the workload JWT (surrounding whitespace ignored).
    pub assertion_file: Option<String>,
}

json_fields! {
    WorkloadConfig { assertion, assertion_file }
    required []
    embed []
}

/// What the jwt-bearer request (leg 2) sends as `scope` to one authorization server
/// (`jwt_bearer_scope` in the JSON, keyed by the exact AS issuer). Servers disagree: Keycloak
/// needs a scope there, Okta's custom authorization servers refuse one with `invalid_scope`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JwtBearerScope {
    /// The scope of leg 1 (the default).
    #[default]
    Inherit,
    /// No `scope` parameter (the AS takes the grant from the ID-JAG).
    Omit,
    /// This scope, whatever leg 1 asked for: `{"value": "mcp:read"}`.
    Value(String),
}

impl JwtBearerScope {
    /// The scope to send when leg 1 asked for `inherited`.
    pub fn resolve<'a>(&'a self, inherited: Option<&'a str>) -> Option<&'a str> {
        match self {
            JwtBearerScope::Inherit => inherited,
            JwtBearerScope::Omit => None,
            JwtBearerScope::Value(v) => Some(v.as_str()),
        }
    }
}

/// Turns a JSON configuration parse error into a [`ErrorKind::Configuration`] error that names
/// the key and never quotes a configured value (it may be a secret): messages about keys keep
/// the key names, messages about values keep only the path and the accepted values. Messages
/// idjag wrote itself (`configuration key …`, `request key …`) are kept.
pub(crate) fn json_config_error(
    e: serde_path_to_error::Error<serde_json::Error>,
    what: &str,
) -> Error {
    let path = e.path().to_string();
    let inner = e.into_inner();
    let text = inner.to_string();
    let text = text.split(" at line ").next().unwrap_or(&text).to_string();
    if text.starts_with("configuration key `") || text.starts_with("request key `") {
        return Error::configuration(text);
    }
    let detail = if text.starts_with("unknown field")
        || text.starts_with("missing field")
        || text.starts_with("duplicate field")
    {
        Some(text.clone())
    } else if text.starts_with("unknown variant") {
        // "unknown variant `<value>`, expected one of …": drop the value.
        Some(match text.find(", expected") {
            Some(i) => format!("unsupported value{}", &text[i..]),
            None => "unsupported value".to_string(),
        })
    } else {
        None
    };
    let msg = match (inner.classify(), detail) {
        (serde_json::error::Category::Syntax | serde_json::error::Category::Eof, _)
            if path == "." =>
        {
            format!(
                "{what} is not valid JSON (line {}, column {})",
                inner.line(),
                inner.column()
            )
        }
        // serde_json reports some type errors (an integer where an enum is expected) as
        // syntax errors: still name the key.
        (serde_json::error::Category::Syntax | serde_json::error::Category::Eof, _) => format!(
            "{what} key `{path}` has an invalid type or value, or is not valid JSON (line {}, column {})",
            inner.line(),
            inner.column()
        ),
        (_, Some(d)) if path == "." => format!("{what}: {d}"),
        (_, Some(d)) => format!("{what} key `{path}`: {d}"),
        (_, None) => format!("{what} key `{path}` has an invalid type or value"),
    };
    Error::configuration(msg)
}

fn config_error(e: serde_path_to_error::Error<serde_json::Error>) -> Error {
    json_config_error(e, "configuration")
}

impl SessionConfig {
    /// Parses the JSON configuration.
    pub fn from_json(json: &str) -> Result<SessionConfig> {
        let de = &mut serde_json::Deserializer::from_str(json);
        let cfg: SessionConfig = serde_path_to_error::deserialize(de).map_err(config_error)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks for contradictory or missing settings.
    pub fn validate(&self) -> Result<()> {
        let idp_given = self.idp.issuer.is_some()
            || self.idp.token_endpoint.is_some()
            || !self.idp.client.client_id.is_empty();
        if let Some(w) = &self.workload {
            if idp_given || self.subject_token.is_some() || self.idp_refresh_token.is_some() {
                return Err(Error::configuration(
                    "configuration key `workload`: a workload identity has no `idp`, `subject_token` or `idp_refresh_token`",
                ));
            }
            match (&w.assertion, &w.assertion_file) {
                (Some(a), None) if !a.is_empty() => {}
                (None, Some(f)) if !f.is_empty() => {}
                (None, None) => {}
                _ => {
                    return Err(Error::configuration(
                        "configuration key `workload`: set exactly one of `workload.assertion` and `workload.assertion_file` (non-empty)",
                    ))
                }
            }
            return self.validate_common();
        }
        if !idp_given {
            return Err(Error::configuration(
                "configuration: missing field `idp` (or `workload` for a workload identity)",
            ));
        }
        if self.idp.issuer.is_none() && self.idp.token_endpoint.is_none() {
            return Err(Error::configuration(
                "configuration key `idp`: set `idp.issuer` or `idp.token_endpoint`",
            ));
        }
        if let Some(i) = &self.idp.issuer {
            crate::http::check_url(i, crate::Step::Config).map_err(|e| {
                Error::configuration(format!("configuration key `idp.issuer`: {}", e.message()))
            })?;
        }
        if let Some(t) = &self.idp.token_endpoint {
            crate::http::check_url(t, crate::Step::Config).map_err(|e| {
                Error::configuration(format!(
                    "configuration key `idp.token_endpoint`: {}",
                    e.message()
                ))
            })?;
        }
        if self.idp.client.client_id.is_empty() {
            return Err(Error::configuration(
                "configuration key `idp.client_id` is empty",
            ));
        }
        if self.subject_token.as_ref().is_some_and(|t| t.is_empty()) {
            return Err(Error::configuration(
                "configuration key `subject_token` is empty",
            ));
        }
        self.idp_credentials()?;
        self.validate_common()
    }

    /// The checks shared by user and workload configurations.
    fn validate_common(&self) -> Result<()> {
        if let Some(c) = &self.client {
            client_credentials(c, "client")?;
        }
        for (issuer, c) in &self.clients {
            crate::http::check_url(issuer, crate::Step::Config).map_err(|e| {
                Error::configuration(format!(
                    "configuration key `clients.{issuer}`: {}",
                    e.message()
                ))
            })?;
            client_credentials(c, &format!("clients.{issuer}"))?;
        }
        // `client`/`clients` may be absent when only leg 1 is used (`Session::request_id_jag`);
        // `access_token` then fails with a `configuration` error naming `clients`.
        self.http.validate()?;
        self.validate_client_issuers()?;
        if self.max_step_ups.is_some_and(|n| n > 10) {
            return Err(Error::configuration(
                "configuration key `max_step_ups` must be at most 10",
            ));
        }
        Ok(())
    }

    /// Credentials at the IdP.
    pub fn idp_credentials(&self) -> Result<ClientCredentials> {
        self.idp.client.to_credentials("idp")
    }

    /// Credentials at the authorization server `issuer` (per-issuer override, else default).
    pub fn as_credentials(&self, issuer: &str) -> Result<ClientCredentials> {
        if let Some(c) = self.clients.get(issuer) {
            return client_credentials(c, &format!("clients.{issuer}"));
        }
        match &self.client {
            Some(c) => {
                self.check_route(issuer)?;
                client_credentials(c, "client")
            }
            None => Err(Error::new(
                ErrorKind::Configuration,
                crate::Step::Config,
                format!("configuration key `clients`: no credentials for authorization server `{issuer}` and no default `client`"),
            )),
        }
    }

    /// HTTP settings derived from this configuration.
    pub fn http_config(&self) -> HttpConfig {
        self.http.to_http_config()
    }
}

/// The [`TokenEndpoint`] keys in JSON, before the credentials are parsed.
#[derive(Default)]
struct TokenEndpointJson {
    token_endpoint: String,
    issuer: Option<String>,
    auth_methods_supported: Option<Vec<String>>,
    client: ClientConfig,
}

json_fields! {
    TokenEndpointJson { token_endpoint, issuer, auth_methods_supported, client }
    required [token_endpoint, client]
    embed []
}

impl TokenEndpointJson {
    fn resolve(&self, step: Step) -> Result<TokenEndpoint> {
        crate::http::check_url(&self.token_endpoint, step).map_err(|e| {
            Error::new(
                ErrorKind::InvalidArgument,
                step,
                format!("request key `token_endpoint`: {}", e.message()),
            )
        })?;
        let client = self
            .client
            .to_credentials("client")
            .map_err(|e| Error::new(ErrorKind::InvalidArgument, step, e.message()))?;
        Ok(TokenEndpoint {
            url: self.token_endpoint.clone(),
            issuer: self.issuer.clone(),
            client,
            auth_methods_supported: self.auth_methods_supported.clone(),
        })
    }
}

#[derive(Default)]
struct IdJagRequestJson {
    audience: String,
    resource: Option<String>,
    scope: Option<String>,
    subject_token: SecretString,
    subject_token_type: SubjectTokenType,
    endpoint: TokenEndpointJson,
}

json_fields! {
    IdJagRequestJson { audience, resource, scope, subject_token, subject_token_type }
    required [audience, subject_token]
    embed [endpoint: TokenEndpointJson]
}

#[derive(Default)]
struct RedeemRequestJson {
    assertion: SecretString,
    scope: Option<String>,
    resource: Option<String>,
    endpoint: TokenEndpointJson,
}

json_fields! {
    RedeemRequestJson { assertion, scope, resource }
    required [assertion]
    embed [endpoint: TokenEndpointJson]
}

#[derive(Default)]
struct IdTokenRefreshRequestJson {
    refresh_token: SecretString,
    endpoint: TokenEndpointJson,
}

json_fields! {
    IdTokenRefreshRequestJson { refresh_token }
    required [refresh_token]
    embed [endpoint: TokenEndpointJson]
}

/// Parses a request shape; errors are [`ErrorKind::InvalidArgument`] naming the key.
fn request_from_json<T: serde::de::DeserializeOwned>(json: &str, step: Step) -> Result<T> {
    let de = &mut serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let c = json_config_error(e, "request");
        Error::new(ErrorKind::InvalidArgument, step, c.message())
    })
}

/// A `Deserialize` for a public request type through its JSON twin.
macro_rules! deserialize_via {
    ($ty:ty, $json:ty, $step:expr, |$j:ident| $convert:expr) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let $j = <$json>::deserialize(deserializer)?;
                let convert = || -> Result<$ty> { $convert };
                convert().map_err(|e| de::Error::custom(e.message().to_string()))
            }
        }

        impl $ty {
            /// Parses the JSON shape (see `docs/GUIDE.md`, "JSON shapes"). Errors are
            /// `invalid_argument` and name the key, never a value.
            pub fn from_json(json: &str) -> Result<$ty> {
                let $j: $json = request_from_json(json, $step)?;
                let convert = || -> Result<$ty> { $convert };
                convert()
            }
        }
    };
}

deserialize_via!(TokenEndpoint, TokenEndpointJson, Step::Config, |j| j
    .resolve(Step::Config));

deserialize_via!(IdJagRequest, IdJagRequestJson, Step::IdpExchange, |j| {
    let mut r = IdJagRequest::new(
        j.endpoint.resolve(Step::IdpExchange)?,
        j.audience,
        j.subject_token,
        j.subject_token_type,
    );
    r.resource = j.resource;
    r.scope = j.scope;
    Ok(r)
});

deserialize_via!(RedeemRequest, RedeemRequestJson, Step::AsGrant, |j| {
    let mut r = RedeemRequest::new(j.endpoint.resolve(Step::AsGrant)?, j.assertion);
    r.resource = j.resource;
    r.scope = j.scope;
    Ok(r)
});

deserialize_via!(
    IdTokenRefreshRequest,
    IdTokenRefreshRequestJson,
    Step::IdpRefresh,
    |j| Ok(IdTokenRefreshRequest::new(
        j.endpoint.resolve(Step::IdpRefresh)?,
        j.refresh_token
    ))
);

fn infer_alg(pem: &str) -> Option<SigningAlg> {
    // Try each key type; PKCS#8 PEMs share one label, so parsing is the reliable test.
    let secret = SecretString::new(pem);
    [SigningAlg::ES256, SigningAlg::EdDSA, SigningAlg::RS256]
        .into_iter()
        .find(|alg| PrivateKey::from_pem(&secret, *alg).is_ok())
}

fn client_credentials(c: &ClientConfig, key: &str) -> Result<ClientCredentials> {
    if c.client_id.is_empty() {
        return Err(Error::configuration(format!(
            "configuration key `{key}.client_id` is empty"
        )));
    }
    let mut creds = ClientCredentials::new(c.client_id.clone());
    creds.client_secret = c.client_secret.clone();
    creds.auth_method = c.auth_method;
    creds.assertion_audience = c.assertion_audience.unwrap_or_default();
    creds.assertion_typ = c.assertion_typ.clone();
    if let Some(pem) = &c.private_key_pem {
        let alg = match c.signing_alg {
            Some(a) => a,
            None => infer_alg(pem.expose_secret()).ok_or_else(|| {
                Error::configuration(format!(
                    "configuration key `{key}.private_key_pem` is not a PEM private key (RSA, EC P-256 or Ed25519)"
                ))
            })?,
        };
        let mut pk = PrivateKey::from_pem(pem, alg).map_err(|_| {
            Error::configuration(format!(
                "configuration key `{key}.private_key_pem` is not a valid {} private key",
                alg.code()
            ))
        })?;
        if let Some(kid) = &c.key_id {
            pk = pk.with_kid(kid.clone());
        }
        creds = creds.with_private_key(pk);
    } else if c.signing_alg.is_some() {
        return Err(Error::configuration(format!(
            "configuration key `{key}.signing_alg` is set but `{key}.private_key_pem` is not"
        )));
    }
    match c.auth_method {
        Some(AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost)
            if c.client_secret.is_none() =>
        {
            Err(Error::configuration(format!(
                "configuration key `{key}.auth_method` needs `{key}.client_secret`"
            )))
        }
        Some(AuthMethod::PrivateKeyJwt) if c.private_key_pem.is_none() => {
            Err(Error::configuration(format!(
                "configuration key `{key}.auth_method` needs `{key}.private_key_pem`"
            )))
        }
        Some(AuthMethod::None) if c.client_secret.is_some() || c.private_key_pem.is_some() => {
            Err(Error::configuration(format!(
                "configuration key `{key}.auth_method` is `none` but credentials are configured"
            )))
        }
        _ => Ok(creds),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = r#"{"idp":{"issuer":"https://idp.example","client_id":"a","client_secret":"s"},
        "subject_token":"t","client":{"client_id":"c","client_secret":"planted-cs"}}"#;

    #[test]
    fn parses_the_shared_shape() {
        let c = SessionConfig::from_json(OK).expect("ok");
        assert_eq!(c.subject_token_type, SubjectTokenType::IdToken);
        assert!(!format!("{c:?}").contains("planted-cs"));
    }

    #[test]
    fn unknown_keys_are_named() {
        let e = SessionConfig::from_json(
            r#"{"idp":{"issuer":"https://i","client_id":"a","colour":1},"client":{"client_id":"c"}}"#,
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Configuration);
        assert!(e.to_string().contains("colour"), "{e}");
    }

    #[test]
    fn invalid_values_are_not_echoed() {
        let e = SessionConfig::from_json(
            r#"{"idp":{"issuer":"https://i","client_id":"a"},"client":{"client_id":"c"},"timeout_ms":"planted-secret"}"#,
        )
        .unwrap_err();
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains("planted-secret"), "{shown}");
        assert!(shown.contains("timeout_ms"), "{shown}");
    }

    #[test]
    fn unknown_enum_values_are_not_echoed() {
        let e = SessionConfig::from_json(
            r#"{"idp":{"issuer":"https://i","client_id":"a","auth_method":"planted-secret"},"client":{"client_id":"c"}}"#,
        )
        .unwrap_err();
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains("planted-secret"), "{shown}");
        assert!(
            shown.contains("idp.auth_method") && shown.contains("client_secret_basic"),
            "{shown}"
        );
    }

    #[test]
    fn contradictions_are_configuration_errors() {
        for (json, key) in [
            (
                r#"{"idp":{"client_id":"a"},"client":{"client_id":"c"}}"#,
                "idp",
            ),
            (
                r#"{"idp":{"issuer":"http://idp.example","client_id":"a"},"client":{"client_id":"c"}}"#,
                "idp.issuer",
            ),
            (
                r#"{"idp":{"issuer":"https://i","client_id":"a"},"client":{"client_id":"c","auth_method":"client_secret_basic"}}"#,
                "client.auth_method",
            ),
            (
                r#"{"idp":{"issuer":"https://i","client_id":"a","auth_method":"private_key_jwt"},"client":{"client_id":"c"}}"#,
                "idp.auth_method",
            ),
            (
                r#"{"idp":{"issuer":"https://i","client_id":"a"},"client":{"client_id":"c","private_key_pem":"nope"}}"#,
                "client.private_key_pem",
            ),
            (
                r#"{"idp":{"issuer":"https://i","client_id":"a"},"client":{"client_id":"c","signing_alg":"ES256"}}"#,
                "client.signing_alg",
            ),
            (
                r#"{"idp":{"issuer":"https://i","client_id":"a"},"client":{"client_id":"c"},"subject_token_type":"jwt"}"#,
                "subject_token_type",
            ),
            (
                r#"{"idp":{"issuer":"https://i","client_id":"a"},"client":{"client_id":"c"},"timeout_ms":0}"#,
                "timeout_ms",
            ),
            (
                r#"{"idp":{"issuer":"https://i","client_id":"a"},"client":{"client_id":"c"},"clients":{"not a url":{"client_id":"x"}}}"#,
                "clients.",
            ),
            (
                r#"{"idp":{"issuer":"https://i","client_id":"a"},"client":{"client_id":"c"}"#,
                "JSON",
            ),
        ] {
            let e = SessionConfig::from_json(json).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Configuration, "{json}");
            assert!(e.to_string().contains(key), "{json}: {e}");
        }
    }

    #[test]
    fn per_issuer_credentials_override_the_default() {
        let c = SessionConfig::from_json(
            r#"{"idp":{"issuer":"https://i","client_id":"a"},"client":{"client_id":"default"},
                "clients":{"https://as.two":{"client_id":"two"}}}"#,
        )
        .expect("ok");
        assert_eq!(
            c.as_credentials("https://as.two").expect("c").client_id,
            "two"
        );
        assert_eq!(
            c.as_credentials("https://as.one").expect("c").client_id,
            "default"
        );
    }

    fn names(what: &'static [&'static str]) -> std::collections::BTreeSet<&'static str> {
        let set: std::collections::BTreeSet<_> = what.iter().copied().collect();
        assert_eq!(set.len(), what.len(), "duplicate keys in {what:?}");
        set
    }

    /// A4: the IdP object is the client object plus `issuer`/`token_endpoint`, with
    /// unknown, duplicate and missing keys still named.
    #[test]
    fn the_idp_object_embeds_the_client_keys() {
        let idp = names(IdpConfig::fields());
        let client = names(ClientConfig::fields());
        assert!(client.is_subset(&idp));
        assert_eq!(
            idp.difference(&client).copied().collect::<Vec<_>>(),
            ["issuer", "token_endpoint"]
        );
        let c = SessionConfig::from_json(
            r#"{"idp":{"issuer":"https://i","client_id":"a","client_secret":"s",
                "auth_method":"client_secret_post","key_id":"k","assertion_audience":"token_endpoint",
                "assertion_typ":"client-authentication+jwt"}}"#,
        )
        .expect("ok");
        assert_eq!(c.idp.client.client_id, "a");
        assert_eq!(c.idp.client.auth_method, Some(AuthMethod::ClientSecretPost));
        assert_eq!(c.idp.client.key_id.as_deref(), Some("k"));
        let creds = c.idp_credentials().expect("creds");
        assert_eq!(creds.assertion_audience, AssertionAudience::TokenEndpoint);
        for (json, needle) in [
            (
                r#"{"idp":{"issuer":"https://i","client_id":"a","client_id":"b"}}"#,
                "duplicate field `client_id`",
            ),
            (
                r#"{"idp":{"issuer":"https://i"}}"#,
                "missing field `client_id`",
            ),
            (
                r#"{"idp":{"issuer":"https://i","client_id":"a","client_secret":5}}"#,
                "`idp.client_secret`",
            ),
            (
                r#"{"idp":{"issuer":"https://i","client_id":"a","colour":1}}"#,
                "unknown field `colour`",
            ),
            (r#"{"client":{"client_id":"c"}}"#, "missing field `idp`"),
        ] {
            let e = SessionConfig::from_json(json).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Configuration, "{json}");
            assert!(e.to_string().contains(needle), "{json}: {e}");
        }
    }

    /// B5: `HttpConfig` reads the same keys as the session, with the same checks.
    #[test]
    fn http_settings_are_the_session_keys() {
        let session = names(SessionConfig::fields());
        let http = names(HttpSettings::fields());
        assert!(http.is_subset(&session));
        let keys = r#""timeout_ms":4000,"connect_timeout_ms":9000,"read_timeout_ms":3000,
            "ca_bundle_pem":"-----BEGIN CERTIFICATE-----","proxy":"http://proxy.local:3128",
            "max_metadata_bytes":2048,"max_token_bytes":4096"#;
        let h = HttpConfig::from_json(&format!("{{{keys}}}")).expect("http");
        let s = SessionConfig::from_json(&format!(
            r#"{{"idp":{{"issuer":"https://i","client_id":"a"}},{keys}}}"#
        ))
        .expect("session");
        let via_serde: HttpConfig = serde_json::from_str(&format!("{{{keys}}}")).expect("serde");
        for c in [&h, &s.http_config(), &via_serde] {
            assert_eq!(c.total_timeout, Duration::from_millis(4000));
            assert_eq!(
                c.connect_timeout,
                Duration::from_millis(4000),
                "clamped to the total"
            );
            assert_eq!(c.read_timeout, Duration::from_millis(3000));
            assert_eq!(c.max_metadata_bytes, 2048);
            assert_eq!(c.max_token_bytes, 4096);
            assert_eq!(c.proxy.as_deref(), Some("http://proxy.local:3128"));
            assert!(c.ca_bundle_pem.is_some());
        }
        let d = HttpConfig::from_json("{}").expect("defaults");
        assert_eq!(d.total_timeout, HttpConfig::default().total_timeout);
        for (json, key) in [
            (r#"{"timeout_ms":0}"#, "timeout_ms"),
            (r#"{"read_timeout_ms":3600001}"#, "read_timeout_ms"),
            (r#"{"max_token_bytes":10}"#, "max_token_bytes"),
            (
                r#"{"max_metadata_bytes":1000000000000}"#,
                "max_metadata_bytes",
            ),
            (r#"{"proxy":"planted-user:planted-pw@proxy:3128"}"#, "proxy"),
            (r#"{"timeout_ms":"planted-value"}"#, "timeout_ms"),
            (r#"{"user_agent":"x"}"#, "user_agent"),
        ] {
            let e = HttpConfig::from_json(json).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Configuration, "{json}");
            let shown = format!("{e} {e:?}");
            assert!(shown.contains(key), "{json}: {shown}");
            assert!(!shown.contains("planted"), "{json}: {shown}");
            let s = SessionConfig::from_json(&format!(
                r#"{{"idp":{{"issuer":"https://i","client_id":"a"}},{}}}"#,
                &json[1..json.len() - 1]
            ))
            .unwrap_err();
            assert!(s.to_string().contains(key), "{json}: {s}");
            assert!(serde_json::from_str::<HttpConfig>(json).is_err(), "{json}");
        }
    }

    /// SECURITY D11: no config type's `Debug` shows a secret, a proxy password included.
    #[test]
    fn debug_never_shows_secrets() {
        let client = ClientConfig {
            client_id: "c".into(),
            client_secret: Some("planted-client-secret".into()),
            private_key_pem: Some("planted-private-key".into()),
            ..Default::default()
        };
        let http = |proxy: &str| HttpSettings {
            proxy: Some(proxy.into()),
            ca_bundle_pem: Some("pem".into()),
            ..Default::default()
        };
        for proxy in [
            "http://user:planted-proxy-pw@proxy.local:3128",
            "socks5://planted-proxy-pw@proxy.local:1080/x",
            "user:planted-proxy-pw@proxy.local:3128",
            "http://us%40er:planted-proxy-pw@proxy.local",
        ] {
            let session = SessionConfig {
                idp: IdpConfig {
                    issuer: Some("https://idp".into()),
                    token_endpoint: None,
                    client: client.clone(),
                },
                subject_token: Some("planted-subject".into()),
                idp_refresh_token: Some("planted-refresh".into()),
                client: Some(client.clone()),
                clients: [("https://as".to_string(), client.clone())].into(),
                http: http(proxy),
                ..Default::default()
            };
            let shown = format!(
                "{session:?} {:?} {:?} {:?} {:?} {:?}",
                session.idp,
                client,
                session.http,
                session.http_config(),
                HttpConfig {
                    proxy: Some(proxy.into()),
                    ..HttpConfig::default()
                }
            );
            for planted in [
                "planted-client-secret",
                "planted-private-key",
                "planted-proxy-pw",
                "planted-subject",
                "planted-refresh",
            ] {
                assert!(!shown.contains(planted), "{planted} in {shown}");
            }
            assert!(shown.contains("proxy.local"), "{shown}");
        }
    }

    /// B5: the low-level request shapes, with `client` in the `ClientConfig` shape.
    #[test]
    fn request_shapes_parse_and_name_bad_keys() {
        let r = IdJagRequest::from_json(
            r#"{"token_endpoint":"https://idp/token","issuer":"https://idp",
                "auth_methods_supported":["client_secret_post"],
                "client":{"client_id":"c","client_secret":"s"},
                "audience":"https://as","resource":"https://mcp/mcp","scope":"a b",
                "subject_token":"t","subject_token_type":"urn:ietf:params:oauth:token-type:saml2"}"#,
        )
        .expect("leg 1");
        assert_eq!(r.endpoint.url, "https://idp/token");
        assert_eq!(r.endpoint.issuer.as_deref(), Some("https://idp"));
        assert_eq!(r.endpoint.client.client_id, "c");
        assert_eq!(r.subject_token_type, SubjectTokenType::Saml2);
        assert_eq!(r.scope.as_deref(), Some("a b"));
        let via_serde: IdJagRequest = serde_json::from_str(
            r#"{"token_endpoint":"https://idp/token","client":{"client_id":"c"},"audience":"a","subject_token":"t"}"#,
        )
        .expect("serde");
        assert_eq!(via_serde.subject_token_type, SubjectTokenType::IdToken);
        let rr = RedeemRequest::from_json(
            r#"{"token_endpoint":"https://as/token","client":{"client_id":"c"},"assertion":"j","resource":"r"}"#,
        )
        .expect("leg 2");
        assert_eq!(rr.assertion.expose_secret(), "j");
        let rf = IdTokenRefreshRequest::from_json(
            r#"{"token_endpoint":"https://idp/token","client":{"client_id":"c"},"refresh_token":"rt"}"#,
        )
        .expect("refresh");
        assert_eq!(rf.refresh_token.expose_secret(), "rt");
        let te = TokenEndpoint::from_json(
            r#"{"token_endpoint":"https://as/token","client":{"client_id":"c"}}"#,
        )
        .expect("endpoint");
        assert_eq!(te.auth_methods_supported, None);
        let base =
            r#""token_endpoint":"https://idp/token","client":{"client_id":"c"},"audience":"a""#;
        for (json, needle) in [
            (format!(r#"{{{base},"subject_token":"t","colour":1}}"#), "unknown field `colour`"),
            (format!(r#"{{{base}}}"#), "missing field `subject_token`"),
            (format!(r#"{{{base},"subject_token":"t","subject_token_type":"planted-x"}}"#), "subject_token_type"),
            (format!(r#"{{{base},"subject_token":"t","scope":["planted-x"]}}"#), "`scope`"),
            (
                r#"{"token_endpoint":"http://idp.example/token","client":{"client_id":"c"},"audience":"a","subject_token":"planted-x"}"#.to_string(),
                "token_endpoint",
            ),
            (
                r#"{"token_endpoint":"https://idp/token","client":{"client_id":"c","client_secret":"planted-x","auth_method":"private_key_jwt"},"audience":"a","subject_token":"t"}"#.to_string(),
                "client.auth_method",
            ),
            (
                r#"{"token_endpoint":"https://idp/token","client":{"client_secret":"planted-x"},"audience":"a","subject_token":"t"}"#.to_string(),
                "missing field `client_id`",
            ),
        ] {
            let e = IdJagRequest::from_json(&json).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{json}");
            let shown = format!("{e} {e:?}");
            assert!(shown.contains(needle), "{json}: {shown}");
            assert!(!shown.contains("planted"), "{json}: {shown}");
        }
        let e = RedeemRequest::from_json(
            r#"{"token_endpoint":"https://as/token","client":{"client_id":"c"}}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("missing field `assertion`"), "{e}");
    }
}
