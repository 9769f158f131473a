//! Discovery (SPEC §3): the MCP server's protected-resource metadata (RFC 9728), its
//! authorization server's metadata (RFC 8414 / OIDC Discovery, in the MCP order, with the exact
//! issuer check), and the IdP's metadata. Results are cached per process with a TTL that
//! honours `Cache-Control: max-age`.

use crate::challenge::ResourceChallenge;
use crate::client::{loggable_url, Client};
use crate::error::{sanitize_server_text, Error, ErrorKind, Result, Step};
use crate::http::{check_url, HttpRequest, Method};
use crate::urn;
use serde::{Deserialize, Serialize};
use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// RFC 9728 protected-resource metadata. Unknown members are kept in `extra`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProtectedResourceMetadata {
    /// The resource identifier (the MCP server's canonical URI).
    pub resource: String,
    /// Issuers of the authorization servers for this resource (MCP: at least one).
    #[serde(default)]
    pub authorization_servers: Vec<String>,
    /// Scopes the resource understands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes_supported: Option<Vec<String>>,
    /// How bearer tokens may be presented.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_methods_supported: Option<Vec<String>>,
    /// Human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_name: Option<String>,
    /// Every other member.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// RFC 8414 / OIDC Discovery authorization-server (or IdP) metadata. Unknown members are kept.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuthorizationServerMetadata {
    /// The issuer identifier (validated to equal the issuer used for discovery).
    pub issuer: String,
    /// Token endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    /// JWKS URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// Grant types (RFC 8414 default when absent: `authorization_code`, `implicit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_types_supported: Option<Vec<String>>,
    /// Grant profiles (ID-JAG -03+): `urn:ietf:params:oauth:grant-profile:id-jag`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_grant_profiles_supported: Option<Vec<String>>,
    /// Client authentication methods (RFC 8414 default when absent: `client_secret_basic`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// JWS algorithms for `private_key_jwt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_signing_alg_values_supported: Option<Vec<String>>,
    /// Scopes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes_supported: Option<Vec<String>>,
    /// Identity chaining: token types the IdP can issue (SHOULD include id-jag).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_chaining_requested_token_types_supported: Option<Vec<String>>,
    /// Every other member.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

fn contains(list: &Option<Vec<String>>, value: &str) -> bool {
    list.as_ref().is_some_and(|l| l.iter().any(|v| v == value))
}

impl AuthorizationServerMetadata {
    /// Advertises `urn:ietf:params:oauth:grant-profile:id-jag` (SPEC §2.K item 2).
    pub fn supports_id_jag_profile(&self) -> bool {
        contains(
            &self.authorization_grant_profiles_supported,
            urn::GRANT_PROFILE_ID_JAG,
        )
    }

    /// Lists the jwt-bearer grant type.
    pub fn supports_jwt_bearer(&self) -> bool {
        contains(&self.grant_types_supported, urn::GRANT_JWT_BEARER)
    }

    /// Lists the token-exchange grant type.
    pub fn supports_token_exchange(&self) -> bool {
        contains(&self.grant_types_supported, urn::GRANT_TOKEN_EXCHANGE)
    }

    /// Whether this AS can take part in enterprise-managed authorization (SPEC §3.6): it
    /// advertises the ID-JAG profile, or (pre -03 servers) the jwt-bearer grant.
    pub fn supports_enterprise_managed_authorization(&self) -> bool {
        self.supports_id_jag_profile() || self.supports_jwt_bearer()
    }

    /// `token_endpoint_auth_methods_supported`, or its RFC 8414 §2 default
    /// (`client_secret_basic`) when the metadata omits it.
    pub fn auth_methods(&self) -> Vec<String> {
        self.token_endpoint_auth_methods_supported
            .clone()
            .unwrap_or_else(|| vec!["client_secret_basic".to_string()])
    }

    /// The token endpoint, or a `response_invalid` error.
    pub fn token_endpoint(&self, step: Step) -> Result<&str> {
        self.token_endpoint.as_deref().ok_or_else(|| {
            Error::new(
                ErrorKind::ResponseInvalid,
                step,
                format!("metadata of `{}` has no token_endpoint", self.issuer),
            )
        })
    }
}

/// How strictly a PRM `resource` must match the MCP server URL (SPEC §3.3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceMatch {
    /// RFC 9728 §3.3: identical (after RFC 3986 syntax normalisation of scheme, host, port).
    #[default]
    Exact,
    /// What MCP SDKs accept: same origin, and the resource path is a prefix of the server
    /// path on a segment boundary (`https://h/` for `https://h/mcp`). Never another origin.
    SameOriginPrefix,
}

/// Whether a PRM `resource` is acceptable for `server_url`.
pub fn resource_matches(resource: &str, server_url: &str, mode: ResourceMatch) -> bool {
    let (Ok(r), Ok(s)) = (url::Url::parse(resource), url::Url::parse(server_url)) else {
        return false;
    };
    if r.fragment().is_some() {
        return false;
    }
    match mode {
        ResourceMatch::Exact => r == s,
        ResourceMatch::SameOriginPrefix => {
            if r.origin() != s.origin() {
                return false;
            }
            if r == s {
                return true;
            }
            let rp = r.path().trim_end_matches('/');
            let sp = s.path();
            sp == rp || sp.starts_with(&format!("{rp}/"))
        }
    }
}

/// The well-known PRM URLs for `server_url`, path-inserted first, then root (SPEC §3.1).
pub fn protected_resource_metadata_urls(server_url: &url::Url) -> Vec<String> {
    let origin = server_url.origin().ascii_serialization();
    let path = server_url.path().trim_end_matches('/');
    let mut out = Vec::new();
    if !path.is_empty() {
        out.push(format!(
            "{origin}/.well-known/oauth-protected-resource{path}"
        ));
    }
    out.push(format!("{origin}/.well-known/oauth-protected-resource"));
    out
}

/// The metadata URLs for `issuer` in the MCP order (SPEC §3.4): RFC 8414 path-insert, OIDC
/// path-insert, OIDC path-append (or the two root documents for a path-less issuer).
pub fn authorization_server_metadata_urls(issuer: &url::Url) -> Vec<String> {
    let origin = issuer.origin().ascii_serialization();
    let path = issuer.path().trim_end_matches('/');
    if path.is_empty() {
        vec![
            format!("{origin}/.well-known/oauth-authorization-server"),
            format!("{origin}/.well-known/openid-configuration"),
        ]
    } else {
        vec![
            format!("{origin}/.well-known/oauth-authorization-server{path}"),
            format!("{origin}/.well-known/openid-configuration{path}"),
            format!("{origin}{path}/.well-known/openid-configuration"),
        ]
    }
}

/// The outcome of discovering an MCP server.
#[derive(Clone, Debug)]
pub struct Discovery {
    /// The MCP server URL that was discovered.
    pub server_url: String,
    /// The URL the PRM was fetched from.
    pub resource_metadata_url: String,
    /// The protected-resource metadata.
    pub resource_metadata: Arc<ProtectedResourceMetadata>,
    /// The chosen authorization server's validated metadata.
    pub authorization_server: Arc<AuthorizationServerMetadata>,
    /// The `scope` of the server's challenge, if it sent one.
    pub challenged_scope: Option<String>,
}

impl Discovery {
    /// The `resource` to request (the PRM `resource`).
    pub fn resource(&self) -> &str {
        &self.resource_metadata.resource
    }

    /// The `audience` to request (the AS issuer).
    pub fn audience(&self) -> &str {
        &self.authorization_server.issuer
    }

    /// The scope to request (SPEC §2.L item 1): the challenged scope, else the PRM
    /// `scopes_supported`, else none.
    pub fn default_scope(&self) -> Option<String> {
        if let Some(s) = &self.challenged_scope {
            if !s.trim().is_empty() {
                return Some(s.clone());
            }
        }
        self.resource_metadata
            .scopes_supported
            .as_ref()
            .filter(|s| !s.is_empty())
            .map(|s| s.join(" "))
    }
}

/// Options of [`Client::discover`].
#[derive(Clone, Debug, Default)]
pub struct DiscoveryOptions {
    /// A `resource_metadata` URL already known (from a challenge); skips the probe.
    pub resource_metadata_url: Option<String>,
    /// The challenged scope already known.
    pub challenged_scope: Option<String>,
    /// PRM `resource` matching mode.
    pub resource_match: ResourceMatch,
    /// Use only this AS issuer (it must be listed by the PRM).
    pub authorization_server: Option<String>,
    /// Skip the unauthenticated probe of the MCP server and go straight to the well-known
    /// URLs.
    pub skip_probe: bool,
}

// ---------------------------------------------------------------------------------------
// Cache

struct Entry {
    value: Arc<dyn Any + Send + Sync>,
    expires_at_ms: i64,
    inserted: u64,
}

/// A bounded TTL cache of metadata documents.
pub(crate) struct MetadataCache {
    map: Mutex<HashMap<String, Entry>>,
    capacity: usize,
    default_ttl: Duration,
    counter: std::sync::atomic::AtomicU64,
}

impl fmt::Debug for MetadataCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetadataCache")
            .field("capacity", &self.capacity)
            .finish()
    }
}

/// Upper bound on any cache lifetime, whatever `max-age` says.
const MAX_TTL: Duration = Duration::from_secs(24 * 3600);

impl MetadataCache {
    pub(crate) fn new(capacity: usize, default_ttl: Duration) -> Self {
        MetadataCache {
            map: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
            default_ttl,
            counter: std::sync::atomic::AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn get<T: Any + Send + Sync>(&self, key: &str, now_ms: i64) -> Option<Arc<T>> {
        let map = self.lock();
        let e = map.get(key)?;
        if e.expires_at_ms <= now_ms {
            return None;
        }
        e.value.clone().downcast::<T>().ok()
    }

    pub(crate) fn put<T: Any + Send + Sync>(
        &self,
        key: String,
        value: Arc<T>,
        max_age: Option<u64>,
        now_ms: i64,
    ) {
        let ttl = max_age
            .map(Duration::from_secs)
            .unwrap_or(self.default_ttl)
            .min(MAX_TTL);
        if ttl.is_zero() {
            return;
        }
        let mut map = self.lock();
        map.retain(|_, e| e.expires_at_ms > now_ms);
        if map.len() >= self.capacity && !map.contains_key(&key) {
            if let Some(oldest) = map
                .iter()
                .min_by_key(|(_, e)| e.inserted)
                .map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
        }
        let inserted = self
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        map.insert(
            key,
            Entry {
                value,
                expires_at_ms: now_ms + ttl.as_millis() as i64,
                inserted,
            },
        );
    }

    pub(crate) fn remove(&self, key: &str) {
        self.lock().remove(key);
    }

    pub(crate) fn clear(&self) {
        self.lock().clear();
    }
}

// ---------------------------------------------------------------------------------------
// Client methods

impl Client {
    /// Sends an unauthenticated request to the MCP server and parses its challenge
    /// (SPEC §3.1). Returns `Ok(None)` when the server answered without a 401/403.
    pub fn probe(&self, server_url: &str) -> Result<Option<ResourceChallenge>> {
        let body = br#"{"jsonrpc":"2.0","id":0,"method":"ping"}"#.to_vec();
        let resp = self.send(
            Step::Resource,
            HttpRequest {
                method: Method::Post,
                url: server_url.to_string(),
                headers: vec![
                    ("content-type".into(), "application/json".into()),
                    (
                        "accept".into(),
                        "application/json, text/event-stream".into(),
                    ),
                ],
                body,
                max_response_bytes: self.inner.config.max_metadata_bytes,
            },
        )?;
        if resp.status == 401 || resp.status == 403 {
            Ok(Some(ResourceChallenge::parse(
                resp.header_all("www-authenticate"),
            )))
        } else {
            Ok(None)
        }
    }

    /// Fetches and validates the protected-resource metadata for `server_url` (SPEC §3.1–3.3).
    /// With `resource_metadata_url` (from a challenge) only that URL is tried; otherwise the
    /// path-inserted well-known URL, then the root one.
    pub fn protected_resource_metadata(
        &self,
        server_url: &str,
        resource_metadata_url: Option<&str>,
        mode: ResourceMatch,
    ) -> Result<(String, Arc<ProtectedResourceMetadata>)> {
        let server = check_url(server_url, Step::Discovery)?;
        let candidates = match resource_metadata_url {
            Some(u) => {
                check_url(u, Step::Discovery)?;
                vec![u.to_string()]
            }
            None => protected_resource_metadata_urls(&server),
        };
        let now = self.inner.clock.now_millis();
        let mut last_err = None;
        for url in candidates {
            let key = format!("prm\u{0}{url}\u{0}{server_url}");
            if let Some(hit) = self.inner.cache.get::<ProtectedResourceMetadata>(&key, now) {
                return Ok((url, hit));
            }
            let resp = self.get_metadata(Step::Discovery, &url)?;
            if resp.status != 200 {
                last_err = Some(crate::client::status_error(Step::Discovery, &resp, &url));
                if (400..500).contains(&resp.status) {
                    continue;
                }
                break;
            }
            let prm: ProtectedResourceMetadata = crate::client::parse_json_body(
                Step::Discovery,
                &resp,
                "protected-resource metadata",
            )?;
            if !resource_matches(&prm.resource, server_url, mode) {
                return Err(Error::new(
                    ErrorKind::ResourceMismatch,
                    Step::Discovery,
                    format!(
                        "protected-resource metadata at {} names resource `{}`, not `{}` (RFC 9728 §3.3)",
                        loggable_url(&url),
                        sanitize_server_text(&prm.resource),
                        loggable_url(server_url)
                    ),
                ));
            }
            if prm.authorization_servers.is_empty() {
                return Err(Error::new(
                    ErrorKind::NotSupported,
                    Step::Discovery,
                    format!(
                        "protected-resource metadata at {} lists no authorization_servers",
                        loggable_url(&url)
                    ),
                ));
            }
            let prm = Arc::new(prm);
            self.inner.cache.put(
                key,
                prm.clone(),
                crate::client::cache_max_age_of(&resp),
                now,
            );
            return Ok((url, prm));
        }
        Err(last_err.unwrap_or_else(|| {
            Error::new(
                ErrorKind::NotSupported,
                Step::Discovery,
                "no protected-resource metadata found",
            )
        }))
    }

    /// Fetches and validates authorization-server (or IdP) metadata for `issuer` in the MCP
    /// order, requiring the document's `issuer` to be exactly `issuer` (SPEC §3.4, §4.1 item 2).
    pub fn authorization_server_metadata(
        &self,
        issuer: &str,
    ) -> Result<Arc<AuthorizationServerMetadata>> {
        let parsed = check_url(issuer, Step::Discovery)?;
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                Step::Discovery,
                format!("issuer `{}` has a query or fragment", loggable_url(issuer)),
            ));
        }
        let key = format!("as\u{0}{issuer}");
        let now = self.inner.clock.now_millis();
        if let Some(hit) = self
            .inner
            .cache
            .get::<AuthorizationServerMetadata>(&key, now)
        {
            return Ok(hit);
        }
        let mut last_err = None;
        for url in authorization_server_metadata_urls(&parsed) {
            let resp = self.get_metadata(Step::Discovery, &url)?;
            if resp.status != 200 {
                last_err = Some(crate::client::status_error(Step::Discovery, &resp, &url));
                if (400..500).contains(&resp.status) {
                    continue;
                }
                break;
            }
            let meta: AuthorizationServerMetadata = crate::client::parse_json_body(
                Step::Discovery,
                &resp,
                "authorization server metadata",
            )?;
            if meta.issuer != issuer {
                return Err(Error::new(
                    ErrorKind::IssuerMismatch,
                    Step::Discovery,
                    format!(
                        "metadata at {} claims issuer `{}` but was fetched for `{}`; refusing it (RFC 8414 §3.3)",
                        loggable_url(&url),
                        sanitize_server_text(&meta.issuer),
                        issuer
                    ),
                ));
            }
            if let Some(te) = &meta.token_endpoint {
                check_url(te, Step::Discovery)?;
            }
            if let Some(j) = &meta.jwks_uri {
                check_url(j, Step::Discovery)?;
            }
            let meta = Arc::new(meta);
            self.inner.cache.put(
                key,
                meta.clone(),
                crate::client::cache_max_age_of(&resp),
                now,
            );
            return Ok(meta);
        }
        Err(last_err.unwrap_or_else(|| {
            Error::new(
                ErrorKind::NotSupported,
                Step::Discovery,
                format!("no metadata found for issuer `{issuer}`"),
            )
        }))
    }

    /// Discovers the authorization server of an MCP server (SPEC §1 step 2, §3): probe →
    /// PRM → AS metadata, then checks that the AS supports enterprise-managed authorization.
    pub fn discover(&self, server_url: &str, options: &DiscoveryOptions) -> Result<Discovery> {
        let server = check_url(server_url, Step::Discovery)?;
        let mut prm_url = options.resource_metadata_url.clone();
        let mut challenged_scope = options.challenged_scope.clone();
        if prm_url.is_none() && !options.skip_probe {
            if let Some(ch) = self.probe(server_url)? {
                prm_url = ch.resource_metadata;
                if challenged_scope.is_none() {
                    challenged_scope = ch.scope;
                }
            }
        }
        if let Some(u) = &prm_url {
            crate::http::check_server_supplied_url(&server, u, Step::Discovery)?;
        }
        let (resource_metadata_url, prm) = self.protected_resource_metadata(
            server_url,
            prm_url.as_deref(),
            options.resource_match,
        )?;
        let candidates: Vec<&String> = match &options.authorization_server {
            Some(wanted) => {
                let found: Vec<&String> = prm
                    .authorization_servers
                    .iter()
                    .filter(|a| *a == wanted)
                    .collect();
                if found.is_empty() {
                    return Err(Error::new(
                        ErrorKind::Configuration,
                        Step::Discovery,
                        format!(
                            "authorization server `{wanted}` is not listed by the resource's metadata"
                        ),
                    ));
                }
                found
            }
            None => prm.authorization_servers.iter().collect(),
        };
        let mut fallback: Option<Arc<AuthorizationServerMetadata>> = None;
        let mut first_err = None;
        for issuer in candidates {
            if let Err(e) = crate::http::check_server_supplied_url(&server, issuer, Step::Discovery)
            {
                first_err.get_or_insert(e);
                continue;
            }
            match self.authorization_server_metadata(issuer) {
                Ok(meta) if self.endpoints_reachable(&server, &meta).is_err() => {
                    if first_err.is_none() {
                        first_err = self.endpoints_reachable(&server, &meta).err();
                    }
                }
                Ok(meta) if meta.supports_id_jag_profile() => {
                    return Ok(Discovery {
                        server_url: server_url.to_string(),
                        resource_metadata_url,
                        resource_metadata: prm,
                        authorization_server: meta,
                        challenged_scope,
                    })
                }
                Ok(meta) => {
                    if fallback.is_none() && meta.supports_jwt_bearer() {
                        fallback = Some(meta);
                    }
                }
                Err(e) => {
                    if first_err.is_none() {
                        first_err = Some(e);
                    }
                }
            }
        }
        if let Some(meta) = fallback {
            return Ok(Discovery {
                server_url: server_url.to_string(),
                resource_metadata_url,
                resource_metadata: prm,
                authorization_server: meta,
                challenged_scope,
            });
        }
        Err(first_err.unwrap_or_else(|| {
            Error::new(
                ErrorKind::NotSupported,
                Step::Discovery,
                format!(
                    "no authorization server of {} supports enterprise-managed authorization \
                     (neither the id-jag grant profile nor the jwt-bearer grant is advertised)",
                    loggable_url(server_url)
                ),
            )
        }))
    }

    /// SSRF guard on the endpoints of a discovered authorization server.
    fn endpoints_reachable(
        &self,
        server: &url::Url,
        meta: &AuthorizationServerMetadata,
    ) -> Result<()> {
        for u in [&meta.token_endpoint, &meta.jwks_uri].into_iter().flatten() {
            crate::http::check_server_supplied_url(server, u, Step::Discovery)?;
        }
        Ok(())
    }

    /// Forgets cached metadata for an MCP server (its PRM) so the next discovery refetches it.
    pub fn forget_resource(&self, server_url: &str, resource_metadata_url: &str) {
        self.inner
            .cache
            .remove(&format!("prm\u{0}{resource_metadata_url}\u{0}{server_url}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_metadata_url_order() {
        let u = url::Url::parse("https://as.example/tenant/1/").expect("url");
        assert_eq!(
            authorization_server_metadata_urls(&u),
            vec![
                "https://as.example/.well-known/oauth-authorization-server/tenant/1",
                "https://as.example/.well-known/openid-configuration/tenant/1",
                "https://as.example/tenant/1/.well-known/openid-configuration",
            ]
        );
        let u = url::Url::parse("https://as.example/").expect("url");
        assert_eq!(
            authorization_server_metadata_urls(&u),
            vec![
                "https://as.example/.well-known/oauth-authorization-server",
                "https://as.example/.well-known/openid-configuration",
            ]
        );
    }

    #[test]
    fn prm_url_order() {
        let u = url::Url::parse("https://mcp.example:8443/v1/mcp").expect("url");
        assert_eq!(
            protected_resource_metadata_urls(&u),
            vec![
                "https://mcp.example:8443/.well-known/oauth-protected-resource/v1/mcp",
                "https://mcp.example:8443/.well-known/oauth-protected-resource",
            ]
        );
    }

    #[test]
    fn resource_matching() {
        use ResourceMatch::*;
        assert!(resource_matches("https://h/mcp", "https://h/mcp", Exact));
        assert!(resource_matches(
            "HTTPS://H:443/mcp",
            "https://h/mcp",
            Exact
        ));
        assert!(!resource_matches("https://h/", "https://h/mcp", Exact));
        assert!(resource_matches(
            "https://h/",
            "https://h/mcp",
            SameOriginPrefix
        ));
        assert!(resource_matches(
            "https://h",
            "https://h/mcp",
            SameOriginPrefix
        ));
        assert!(!resource_matches(
            "https://h/mc",
            "https://h/mcp",
            SameOriginPrefix
        ));
        assert!(!resource_matches(
            "https://evil/",
            "https://h/mcp",
            SameOriginPrefix
        ));
        assert!(!resource_matches("https://h/mcp#x", "https://h/mcp", Exact));
    }

    #[test]
    fn cache_honours_ttl_and_capacity() {
        let c = MetadataCache::new(2, Duration::from_secs(10));
        c.put("a".into(), Arc::new(1u32), None, 0);
        assert_eq!(c.get::<u32>("a", 9_999).as_deref(), Some(&1));
        assert!(c.get::<u32>("a", 10_000).is_none());
        c.put("b".into(), Arc::new(2u32), Some(0), 0);
        assert!(c.get::<u32>("b", 1).is_none(), "max-age=0 is not cached");
        c.put("x".into(), Arc::new(1u32), Some(100), 0);
        c.put("y".into(), Arc::new(2u32), Some(100), 0);
        c.put("z".into(), Arc::new(3u32), Some(100), 0);
        assert!(c.get::<u32>("x", 1).is_none(), "oldest evicted");
        assert!(c.get::<u32>("z", 1).is_some());
    }
}
