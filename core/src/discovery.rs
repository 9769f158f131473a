//! Discovery: the MCP server's protected-resource metadata (RFC 9728), its
//! authorization server's metadata (RFC 8414 / OIDC Discovery, in the MCP order, with the exact
//! issuer check), and the IdP's metadata. Results are cached per process with a TTL that
//! honours `Cache-Control: max-age`.

use crate::challenge::ResourceChallenge;
use crate::client::{shown_url, Client, Deadline};
use crate::error::{sanitize_server_text, Error, ErrorKind, Result, Step};
use crate::http::{check_url, AddressPolicy, HttpRequest, Method};
use crate::urn;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

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
    /// Advertises `urn:ietf:params:oauth:grant-profile:id-jag`.
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

    /// Whether this AS can take part in enterprise-managed authorization: it
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
                format!(
                    "metadata of `{}` has no token_endpoint",
                    sanitize_server_text(&self.issuer)
                ),
            )
        })
    }
}

/// How strictly a PRM `resource` must match the MCP server URL.
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

/// The well-known PRM URLs for `server_url`, path-inserted first, then root.
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

/// The metadata URLs for `issuer` in the MCP order: RFC 8414 path-insert, OIDC
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
///
/// Serializes (serde) to the JSON document of docs/GUIDE.md "Discovery (JSON)": the fields
/// below plus the derived `resource`, `audience` and `default_scope`. Metadata documents are
/// public; nothing in a `Discovery` is secret.
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
    /// Whether the MCP server is internal (loopback, private or otherwise not globally
    /// reachable, by its host or by every address its name resolves to). Only an internal
    /// server may point the client at internal addresses (RFC 9728 §7.7).
    pub internal: bool,
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

    /// The scope to request: the challenged scope, else the PRM
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

impl Serialize for Discovery {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("Discovery", 9)?;
        s.serialize_field("server_url", &self.server_url)?;
        s.serialize_field("resource", self.resource())?;
        s.serialize_field("audience", self.audience())?;
        s.serialize_field("resource_metadata_url", &self.resource_metadata_url)?;
        s.serialize_field("challenged_scope", &self.challenged_scope)?;
        s.serialize_field("default_scope", &self.default_scope())?;
        s.serialize_field("internal", &self.internal)?;
        s.serialize_field("resource_metadata", &*self.resource_metadata)?;
        s.serialize_field("authorization_server", &*self.authorization_server)?;
        s.end()
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
// Client methods

/// Most authorization servers of one PRM that discovery considers: the first four distinct
/// entries of `authorization_servers`, in the server's order. RFC 9728 lets a resource list
/// several, and MCP clients choose (RFC 9728 §7.6); deployments list one, sometimes two or
/// three (tenants, migrations). Each candidate costs up to three metadata GETs (the MCP
/// order) plus redirects, so four bound a discovery to 1 probe + 2 PRM + 12
/// metadata requests however long the list, where an unbounded list once made one
/// `discover()` send 10,001 requests. An explicitly chosen
/// [`DiscoveryOptions::authorization_server`] is looked up in the whole list.
pub const MAX_AUTHORIZATION_SERVERS: usize = 4;

impl ProtectedResourceMetadata {
    /// The authorization servers discovery considers: the first
    /// [`MAX_AUTHORIZATION_SERVERS`] distinct entries of `authorization_servers`.
    pub fn authorization_server_candidates(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for a in &self.authorization_servers {
            if out.len() == MAX_AUTHORIZATION_SERVERS {
                break;
            }
            if !out.contains(&a.as_str()) {
                out.push(a);
            }
        }
        out
    }
}

/// Checks the form of an issuer identifier (RFC 8414 §2): an https URL (or http
/// to loopback), no query, no fragment, no control characters, and written exactly as its
/// parsed form (so what is compared, fetched and sent as `audience` is one string).
/// `kind` is the error kind for a bad one: `invalid_argument` for the caller's, and
/// `response_invalid` for one a server listed.
pub(crate) fn check_issuer(issuer: &str, kind: ErrorKind, step: Step) -> Result<url::Url> {
    let shown = sanitize_server_text(issuer);
    if issuer.chars().any(char::is_control) {
        return Err(Error::new(
            kind,
            step,
            format!("issuer `{shown}` contains control characters (RFC 8414 §2)"),
        ));
    }
    let parsed = check_url(issuer, step).map_err(|e| {
        if e.kind() == ErrorKind::InvalidArgument {
            Error::new(kind, step, e.message().to_string())
        } else {
            e
        }
    })?;
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(Error::new(
            kind,
            step,
            format!("issuer `{shown}` has a query or fragment (RFC 8414 §2)"),
        ));
    }
    let canonical = parsed.as_str();
    let same = canonical == issuer
        || (parsed.path() == "/" && canonical.strip_suffix('/') == Some(issuer));
    if !same {
        return Err(Error::new(
            kind,
            step,
            format!(
                "issuer `{shown}` is not written as a plain URL (it parses as `{}`; RFC 8414 §2)",
                sanitize_server_text(canonical)
            ),
        ));
    }
    Ok(parsed)
}

impl Client {
    /// Sends an unauthenticated request to the MCP server and parses its challenge. Returns `Ok(None)` when the server answered without a 401/403.
    pub fn probe(&self, server_url: &str) -> Result<Option<ResourceChallenge>> {
        let deadline = Deadline::after(self.inner.config.discovery_deadline());
        self.probe_within(server_url, &deadline)
    }

    fn probe_within(
        &self,
        server_url: &str,
        deadline: &Deadline,
    ) -> Result<Option<ResourceChallenge>> {
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
                address_policy: AddressPolicy::Any,
                timeout: Some(deadline.remaining(Step::Discovery)?),
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

    /// Fetches and validates the protected-resource metadata for `server_url` (RFC 9728 §3).
    /// With `resource_metadata_url` (from a challenge) only that URL is tried; otherwise the
    /// path-inserted well-known URL, then the root one.
    pub fn protected_resource_metadata(
        &self,
        server_url: &str,
        resource_metadata_url: Option<&str>,
        mode: ResourceMatch,
    ) -> Result<(String, Arc<ProtectedResourceMetadata>)> {
        let deadline = Deadline::after(self.inner.config.discovery_deadline());
        self.prm_within(
            server_url,
            resource_metadata_url,
            mode,
            AddressPolicy::Any,
            &deadline,
        )
    }

    /// `supplied_policy` applies to a `resource_metadata_url` a server supplied; the
    /// well-known URLs are on the origin the user chose.
    fn prm_within(
        &self,
        server_url: &str,
        resource_metadata_url: Option<&str>,
        mode: ResourceMatch,
        supplied_policy: AddressPolicy,
        deadline: &Deadline,
    ) -> Result<(String, Arc<ProtectedResourceMetadata>)> {
        let server = check_url(server_url, Step::Discovery)?;
        let (candidates, policy) = match resource_metadata_url {
            Some(u) => {
                check_url(u, Step::Discovery)?;
                (vec![u.to_string()], supplied_policy)
            }
            None => (
                protected_resource_metadata_urls(&server),
                AddressPolicy::Any,
            ),
        };
        let now = self.inner.clock.now_millis();
        let mut last_err = None;
        for url in candidates {
            let key = format!("prm\u{0}{url}\u{0}{server_url}");
            if let Some(hit) = self.inner.cache.get::<ProtectedResourceMetadata>(&key, now) {
                return Ok((url, hit));
            }
            let resp = self.get_metadata_with(Step::Discovery, &url, policy, Some(deadline))?;
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
                        shown_url(&url),
                        sanitize_server_text(&prm.resource),
                        shown_url(server_url)
                    ),
                ));
            }
            if prm.authorization_servers.is_empty() {
                return Err(Error::new(
                    ErrorKind::NotSupported,
                    Step::Discovery,
                    format!(
                        "protected-resource metadata at {} lists no authorization_servers",
                        shown_url(&url)
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
    /// order, requiring the document's `issuer` to be exactly `issuer`.
    /// `issuer` must be a plain https URL without query or fragment (RFC 8414 §2).
    pub fn authorization_server_metadata(
        &self,
        issuer: &str,
    ) -> Result<Arc<AuthorizationServerMetadata>> {
        let deadline = Deadline::after(self.inner.config.discovery_deadline());
        let parsed = check_issuer(issuer, ErrorKind::InvalidArgument, Step::Discovery)?;
        self.as_metadata_within(issuer, &parsed, AddressPolicy::Any, &deadline)
    }

    fn as_metadata_within(
        &self,
        issuer: &str,
        parsed: &url::Url,
        policy: AddressPolicy,
        deadline: &Deadline,
    ) -> Result<Arc<AuthorizationServerMetadata>> {
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
        for url in authorization_server_metadata_urls(parsed) {
            let resp = self.get_metadata_with(Step::Discovery, &url, policy, Some(deadline))?;
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
                        shown_url(&url),
                        sanitize_server_text(&meta.issuer),
                        sanitize_server_text(issuer)
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
                format!(
                    "no metadata found for issuer `{}`",
                    sanitize_server_text(issuer)
                ),
            )
        }))
    }

    /// Discovers the authorization server of an MCP server: probe →
    /// PRM → AS metadata, then checks that the AS supports enterprise-managed authorization.
    ///
    /// Bounded: at most [`MAX_AUTHORIZATION_SERVERS`] candidates, and one deadline for the
    /// whole call ([`HttpConfig::discovery_deadline`](crate::http::HttpConfig::discovery_deadline)),
    /// after which it fails with `timeout`. SSRF guard (RFC 9728 §7.7): when the MCP server is
    /// public, the URLs it supplies may neither name nor resolve to an internal address, and
    /// the chosen token endpoint stays pinned to global addresses for leg 2.
    pub fn discover(&self, server_url: &str, options: &DiscoveryOptions) -> Result<Discovery> {
        let deadline = Deadline::after(self.inner.config.discovery_deadline());
        let server = check_url(server_url, Step::Discovery)?;
        let mut prm_url = options.resource_metadata_url.clone();
        let mut challenged_scope = options.challenged_scope.clone();
        if prm_url.is_none() && !options.skip_probe {
            if let Some(ch) = self.probe_within(server_url, &deadline)? {
                prm_url = ch.resource_metadata;
                if challenged_scope.is_none() {
                    challenged_scope = ch.scope;
                }
            }
        }
        // After the probe, so a name is classified by the answer its connection used.
        let internal = self.is_internal_server(&server);
        let supplied = if internal {
            AddressPolicy::Any
        } else {
            AddressPolicy::GlobalOnly
        };
        if let Some(u) = &prm_url {
            self.check_supplied(&server, internal, u)?;
        }
        let (resource_metadata_url, prm) = self.prm_within(
            server_url,
            prm_url.as_deref(),
            options.resource_match,
            supplied,
            &deadline,
        )?;
        let candidates: Vec<&str> = match &options.authorization_server {
            Some(wanted) => {
                if !prm.authorization_servers.iter().any(|a| a == wanted) {
                    return Err(Error::new(
                        ErrorKind::Configuration,
                        Step::Discovery,
                        format!(
                            "authorization server `{}` is not listed by the resource's metadata",
                            sanitize_server_text(wanted)
                        ),
                    ));
                }
                vec![wanted.as_str()]
            }
            None => prm.authorization_server_candidates(),
        };
        let mut fallback: Option<Arc<AuthorizationServerMetadata>> = None;
        let mut first_err = None;
        for issuer in candidates {
            let parsed = match check_issuer(issuer, ErrorKind::ResponseInvalid, Step::Discovery)
                .and_then(|p| self.check_supplied(&server, internal, issuer).map(|_| p))
            {
                Ok(p) => p,
                Err(e) => {
                    first_err.get_or_insert(e);
                    continue;
                }
            };
            let meta = match self.as_metadata_within(issuer, &parsed, supplied, &deadline) {
                Ok(meta) => meta,
                Err(e)
                    if e.kind() == ErrorKind::Timeout
                        && deadline.remaining(Step::Discovery).is_err() =>
                {
                    return Err(e)
                }
                Err(e) => {
                    first_err.get_or_insert(e);
                    continue;
                }
            };
            if let Err(e) = self.endpoints_reachable(&server, internal, &meta) {
                first_err.get_or_insert(e);
                continue;
            }
            if meta.supports_id_jag_profile() {
                return Ok(self.chosen(
                    server_url,
                    internal,
                    resource_metadata_url,
                    prm,
                    meta,
                    challenged_scope,
                ));
            }
            if fallback.is_none() && meta.supports_jwt_bearer() {
                fallback = Some(meta);
            }
        }
        if let Some(meta) = fallback {
            return Ok(self.chosen(
                server_url,
                internal,
                resource_metadata_url,
                prm,
                meta,
                challenged_scope,
            ));
        }
        Err(first_err.unwrap_or_else(|| {
            Error::new(
                ErrorKind::NotSupported,
                Step::Discovery,
                format!(
                    "no authorization server of {} supports enterprise-managed authorization \
                     (neither the id-jag grant profile nor the jwt-bearer grant is advertised)",
                    shown_url(server_url)
                ),
            )
        }))
    }

    /// The result of a discovery; pins the token endpoint of an AS a public server chose.
    fn chosen(
        &self,
        server_url: &str,
        internal: bool,
        resource_metadata_url: String,
        prm: Arc<ProtectedResourceMetadata>,
        meta: Arc<AuthorizationServerMetadata>,
        challenged_scope: Option<String>,
    ) -> Discovery {
        if !internal {
            if let Some(te) = &meta.token_endpoint {
                self.pin_global(te);
            }
        }
        Discovery {
            server_url: server_url.to_string(),
            resource_metadata_url,
            resource_metadata: prm,
            authorization_server: meta,
            challenged_scope,
            internal,
        }
    }

    /// The SSRF guard on one URL a server supplied: by the form of its host, and for a public
    /// server also by the addresses its name resolves to.
    fn check_supplied(&self, server: &url::Url, internal: bool, target: &str) -> Result<()> {
        let t = crate::http::policy::check_supplied_url(server, internal, target, Step::Discovery)?;
        if !internal {
            if let Some(url::Host::Domain(name)) = t.host() {
                let port = t.port_or_known_default().unwrap_or(443);
                let name = name.strip_suffix('.').unwrap_or(name);
                if let Some(ip) = self
                    .inner
                    .http
                    .resolve(name, port)
                    .and_then(|a| a.into_iter().find(|ip| !crate::http::is_global_ip(*ip)))
                {
                    return Err(crate::http::policy::refused(
                        &format!(
                            "{} (resolving to {ip})",
                            crate::http::policy::display_url(&t)
                        ),
                        server,
                        Step::Discovery,
                    ));
                }
            }
        }
        Ok(())
    }

    /// SSRF guard on the endpoints of a discovered authorization server.
    fn endpoints_reachable(
        &self,
        server: &url::Url,
        internal: bool,
        meta: &AuthorizationServerMetadata,
    ) -> Result<()> {
        for u in [&meta.token_endpoint, &meta.jwks_uri].into_iter().flatten() {
            self.check_supplied(server, internal, u)?;
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
    fn discovery_json_shape() {
        let prm: ProtectedResourceMetadata = serde_json::from_value(serde_json::json!({
            "resource": "https://mcp.example/mcp",
            "authorization_servers": ["https://as.example"],
            "scopes_supported": ["mcp:read", "mcp:write"],
            "x-vendor": 1
        }))
        .expect("prm");
        let asm: AuthorizationServerMetadata = serde_json::from_value(serde_json::json!({
            "issuer": "https://as.example",
            "token_endpoint": "https://as.example/token",
            "grant_types_supported": [urn::GRANT_JWT_BEARER]
        }))
        .expect("as");
        let d = Discovery {
            server_url: "https://mcp.example/mcp".into(),
            resource_metadata_url: "https://mcp.example/.well-known/oauth-protected-resource/mcp"
                .into(),
            resource_metadata: Arc::new(prm),
            authorization_server: Arc::new(asm),
            challenged_scope: None,
            internal: false,
        };
        let v = serde_json::to_value(&d).expect("json");
        assert_eq!(
            v,
            serde_json::json!({
                "server_url": "https://mcp.example/mcp",
                "resource": "https://mcp.example/mcp",
                "audience": "https://as.example",
                "resource_metadata_url": "https://mcp.example/.well-known/oauth-protected-resource/mcp",
                "challenged_scope": null,
                "default_scope": "mcp:read mcp:write",
                "internal": false,
                "resource_metadata": {
                    "resource": "https://mcp.example/mcp",
                    "authorization_servers": ["https://as.example"],
                    "scopes_supported": ["mcp:read", "mcp:write"],
                    "x-vendor": 1
                },
                "authorization_server": {
                    "issuer": "https://as.example",
                    "token_endpoint": "https://as.example/token",
                    "grant_types_supported": [urn::GRANT_JWT_BEARER]
                }
            })
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
}
