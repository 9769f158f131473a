//! The two legs of enterprise-managed authorization, as plain calls on [`Client`]:
//!
//! - leg 1 [`Client::request_id_jag`]: RFC 8693 token exchange at the IdP;
//! - leg 2 [`Client::redeem_id_jag`]: RFC 7523 jwt-bearer grant at the MCP authorization
//!   server;
//! - and the OIDC `refresh_token` grant that renews the user's ID token
//!   ([`Client::refresh_id_token`]).
//!
//! Each call is *prepare + send + parse*, and the two ends are pure: [`IdJagRequest::prepare`],
//! [`RedeemRequest::prepare`] and [`IdTokenRefreshRequest::prepare`] build the exact request
//! (URL, headers, form body, client authentication including a signed `private_key_jwt`
//! assertion) from a [`PrepareContext`] (time and `jti`) without any I/O, and
//! [`PreparedRequest::parse_id_jag`] (and its two siblings) turn the [`HttpResponse`] into the
//! result or a typed error. [`Client::send_prepared`] is the only step that talks to the
//! network. Hosts with their own HTTP stack can use the two pure ends alone.
//!
//! Where a request goes is one [`TokenEndpoint`]: URL, expected issuer, credentials, the
//! server's supported authentication methods.

use crate::client::{loggable_url, Client};
use crate::client_auth::{advertises, AuthMethod, AuthTarget, ClientCredentials};
use crate::discovery::AuthorizationServerMetadata;
use crate::error::{Error, ErrorKind, RequestFacts, Result, Step};
use crate::http::{check_url, HttpRequest, HttpResponse, Method};
use crate::response;
pub use crate::response::{AccessToken, IdJag, IdTokenRefresh};
use crate::scrub::Scrubber;
use crate::secret::SecretString;
use crate::urn;
use serde::{Deserialize, Serialize};
use std::fmt;
use zeroize::{Zeroize as _, Zeroizing};

/// The type of the subject token presented at the IdP. In JSON: the short name or the URN.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectTokenType {
    /// An OIDC ID token (`urn:ietf:params:oauth:token-type:id_token`).
    #[default]
    #[serde(alias = "urn:ietf:params:oauth:token-type:id_token")]
    IdToken,
    /// A SAML 2.0 assertion, base64url-encoded (`…:saml2`, RFC 8693 §3).
    #[serde(alias = "urn:ietf:params:oauth:token-type:saml2")]
    Saml2,
    /// An IdP refresh token (`…:refresh_token`).
    #[serde(alias = "urn:ietf:params:oauth:token-type:refresh_token")]
    RefreshToken,
}

impl SubjectTokenType {
    /// The token type URN.
    pub fn urn(self) -> &'static str {
        match self {
            SubjectTokenType::IdToken => urn::TOKEN_TYPE_ID_TOKEN,
            SubjectTokenType::Saml2 => urn::TOKEN_TYPE_SAML2,
            SubjectTokenType::RefreshToken => urn::TOKEN_TYPE_REFRESH_TOKEN,
        }
    }

    /// Short name: `id_token`, `saml2`, `refresh_token`.
    pub fn code(self) -> &'static str {
        match self {
            SubjectTokenType::IdToken => "id_token",
            SubjectTokenType::Saml2 => "saml2",
            SubjectTokenType::RefreshToken => "refresh_token",
        }
    }

    /// Parses a short name or a URN.
    pub fn parse(s: &str) -> Option<SubjectTokenType> {
        [
            SubjectTokenType::IdToken,
            SubjectTokenType::Saml2,
            SubjectTokenType::RefreshToken,
        ]
        .into_iter()
        .find(|t| t.code() == s || t.urn() == s)
    }
}

/// A token endpoint and how this client authenticates there: the one description of "where a
/// token request goes", shared by leg 1 (the IdP), leg 2 (an MCP authorization server) and the
/// ID-token refresh (the IdP).
///
/// JSON (see `docs/GUIDE.md`, "JSON shapes"): `{"token_endpoint", "issuer",
/// "auth_methods_supported", "client": {…credentials…}}`.
#[derive(Clone, Debug)]
pub struct TokenEndpoint {
    /// The token endpoint URL (`https`, or `http` to a loopback host).
    pub url: String,
    /// The server's issuer identifier, when known: the `aud` of `private_key_jwt` assertions
    /// (rfc7523bis). `None` uses the token endpoint URL.
    pub issuer: Option<String>,
    /// This client's credentials at that server.
    pub client: ClientCredentials,
    /// The server's `token_endpoint_auth_methods_supported`, when known. `None`: the
    /// strongest method the credentials allow ([`ClientCredentials::choose_method`]).
    pub auth_methods_supported: Option<Vec<String>>,
}

impl TokenEndpoint {
    /// An endpoint known only by its URL.
    pub fn new(url: impl Into<String>, client: ClientCredentials) -> Self {
        TokenEndpoint {
            url: url.into(),
            issuer: None,
            client,
            auth_methods_supported: None,
        }
    }

    /// The token endpoint of a server from its validated metadata: URL, issuer and supported
    /// authentication methods (with the RFC 8414 §2 default).
    pub fn from_metadata(
        metadata: &AuthorizationServerMetadata,
        client: ClientCredentials,
        step: Step,
    ) -> Result<Self> {
        Ok(TokenEndpoint {
            url: metadata.token_endpoint(step)?.to_string(),
            issuer: Some(metadata.issuer.clone()),
            client,
            auth_methods_supported: Some(metadata.auth_methods()),
        })
    }

    /// Sets the issuer.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Sets the server's supported authentication methods.
    pub fn auth_methods_supported(mut self, methods: Vec<String>) -> Self {
        self.auth_methods_supported = Some(methods);
        self
    }
}

/// The inputs of a pure `prepare`: the time (Unix seconds; expiry bookkeeping and the
/// `private_key_jwt` assertion's `iat`/`exp`), the assertion's `jti`, and the response size
/// cap the parser enforces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrepareContext {
    /// Unix seconds.
    pub now: i64,
    /// The `jti` of a `private_key_jwt` assertion; `None`: a fresh random UUID (v4).
    pub jti: Option<String>,
    /// The largest response body accepted (default 64 KiB, [`HttpConfig::max_token_bytes`](crate::http::HttpConfig::max_token_bytes)).
    pub max_response_bytes: usize,
}

impl PrepareContext {
    /// A context at `now` with a random `jti` and the default size cap.
    pub fn at(now: i64) -> Self {
        PrepareContext {
            now,
            jti: None,
            max_response_bytes: crate::http::HttpConfig::default().max_token_bytes,
        }
    }

    /// Fixes the `jti` (reproducible requests: tests, vectors).
    pub fn jti(mut self, jti: impl Into<String>) -> Self {
        self.jti = Some(jti.into());
        self
    }
}

/// What a prepared request's response is checked against.
#[derive(Clone, Debug)]
enum Expect {
    IdJag {
        resource: Option<String>,
        scope: Option<String>,
    },
    AccessToken {
        resource: Option<String>,
        scope: Option<String>,
    },
    IdTokenRefresh,
}

/// A token request ready to send, built without I/O by a `prepare` method. It also knows how
/// to check the response (`parse_*`) and every secret it carries, to scrub them from errors.
///
/// The headers and body hold secrets (subject token, ID-JAG, refresh token, client secret or
/// assertion): they are reachable only through [`PreparedRequest::expose_headers`] and
/// [`PreparedRequest::expose_body`], redacted in `Debug`, and zeroized on drop.
pub struct PreparedRequest {
    step: Step,
    url: String,
    headers: Vec<(String, String)>,
    body: Zeroizing<String>,
    auth_method: AuthMethod,
    auth_method_advertised: bool,
    now: i64,
    max_response_bytes: usize,
    expect: Expect,
    /// The server's issuer, when known (named in error messages).
    issuer: Option<String>,
    /// Every secret value the request carries; the [`Scrubber`] is built from them only when
    /// an error needs scrubbing (the success path pays nothing for it).
    secrets: Vec<SecretString>,
}

impl Drop for PreparedRequest {
    fn drop(&mut self) {
        for (_, v) in self.headers.iter_mut() {
            v.zeroize();
        }
    }
}

impl fmt::Debug for PreparedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("PreparedRequest")
            .field("step", &self.step)
            .field("url", &loggable_url(&self.url))
            .field("auth_method", &self.auth_method)
            .field("headers", &names)
            .field(
                "body",
                &format_args!("[{} bytes redacted]", self.body.len()),
            )
            .finish_non_exhaustive()
    }
}

/// The event note of a request whose client authentication method the server's metadata does
/// not list (a public client sending only its `client_id`, or an explicitly configured method).
pub const NOTE_AUTH_METHOD_NOT_ADVERTISED: &str = "auth_method_not_advertised";

impl PreparedRequest {
    /// Builds the request: client authentication for `endpoint`, then the form body.
    fn build(
        step: Step,
        endpoint: &TokenEndpoint,
        ctx: &PrepareContext,
        params: &[(&'static str, &str)],
        secrets: &[&str],
        expect: Expect,
    ) -> Result<PreparedRequest> {
        check_url(&endpoint.url, step)?;
        let supported = endpoint.auth_methods_supported.as_deref();
        let method = endpoint.client.choose_method(supported, step)?;
        let jti = match &ctx.jti {
            Some(j) => j.clone(),
            None => uuid::Uuid::new_v4().to_string(),
        };
        let auth = endpoint.client.authenticate(
            method,
            &AuthTarget {
                issuer: endpoint.issuer.as_deref(),
                token_endpoint: &endpoint.url,
                now: ctx.now,
                jti: &jti,
                step,
            },
        )?;
        let mut form: Vec<(&str, &str)> = params.to_vec();
        form.extend(auth.form.iter().map(|(k, v)| (*k, v.expose_secret())));
        let body = Zeroizing::new(
            serde_urlencoded::to_string(&form)
                .map_err(|_| Error::internal(step, "could not encode the request form"))?,
        );
        let mut kept: Vec<SecretString> = secrets.iter().map(|s| SecretString::new(*s)).collect();
        kept.extend(
            endpoint
                .client
                .secret_values()
                .into_iter()
                .map(SecretString::new),
        );
        for (k, v) in &auth.form {
            if *k == "client_assertion" {
                kept.push(v.clone());
            }
        }
        let mut headers = Vec::with_capacity(3);
        if let Some(a) = &auth.authorization {
            kept.push(a.clone());
            if let Some(b64) = a.expose_secret().strip_prefix("Basic ") {
                kept.push(SecretString::new(b64));
            }
            headers.push(("authorization".to_string(), a.expose_secret().to_string()));
        }
        headers.push((
            "content-type".to_string(),
            "application/x-www-form-urlencoded".to_string(),
        ));
        headers.push(("accept".to_string(), "application/json".to_string()));
        Ok(PreparedRequest {
            step,
            url: endpoint.url.clone(),
            headers,
            body,
            auth_method: method,
            auth_method_advertised: advertises(supported, method),
            now: ctx.now,
            max_response_bytes: ctx.max_response_bytes,
            expect,
            issuer: endpoint.issuer.clone(),
            secrets: kept,
        })
    }

    /// The protocol step (`idp_exchange`, `as_grant` or `idp_refresh`).
    pub fn step(&self) -> Step {
        self.step
    }

    /// Always `POST`.
    pub fn method(&self) -> Method {
        Method::Post
    }

    /// The token endpoint URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The client authentication method used.
    pub fn auth_method(&self) -> AuthMethod {
        self.auth_method
    }

    /// Whether the server's metadata lists [`PreparedRequest::auth_method`] (true when no
    /// metadata was given). When false, the request's [`HttpEvent`](crate::HttpEvent) carries
    /// the note [`NOTE_AUTH_METHOD_NOT_ADVERTISED`].
    pub fn auth_method_advertised(&self) -> bool {
        self.auth_method_advertised
    }

    /// The [`PrepareContext::now`] the request was built with (expiry is counted from it).
    pub fn prepared_at(&self) -> i64 {
        self.now
    }

    /// The headers, in order (`authorization` for `client_secret_basic`, `content-type`,
    /// `accept`). **May hold a secret.**
    pub fn expose_headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The `application/x-www-form-urlencoded` body. **Holds secrets.**
    pub fn expose_body(&self) -> &str {
        &self.body
    }

    /// The request as an [`HttpRequest`] for an [`HttpClient`](crate::http::HttpClient)
    /// (with [`PrepareContext::max_response_bytes`]).
    pub fn to_http_request(&self) -> HttpRequest {
        HttpRequest {
            method: Method::Post,
            url: self.url.clone(),
            headers: self.headers.clone(),
            body: self.body.as_bytes().to_vec(),
            max_response_bytes: self.max_response_bytes,
            // The client narrows this to public addresses for a leg-2 endpoint that a public
            // MCP server led to (see `Client::send`).
            address_policy: crate::http::AddressPolicy::Any,
            timeout: None,
        }
    }

    fn wrong(&self, wanted: &str) -> Error {
        Error::invalid_argument(format!(
            "this request was prepared for step `{}`, not for {wanted}",
            self.step
        ))
        .with_step(self.step)
    }

    fn raw(&self, resp: &HttpResponse) -> Result<response::RawTokenResponse> {
        if resp.body.len() > self.max_response_bytes {
            return Err(Error::new(
                ErrorKind::ResponseTooLarge,
                self.step,
                format!(
                    "response body exceeds the {}-byte limit",
                    self.max_response_bytes
                ),
            )
            .with_status(resp.status));
        }
        response::token_response(
            self.step,
            resp,
            &self.url,
            || self.scrubber(),
            &self.facts(),
        )
    }

    /// What an OAuth error message may say about this request.
    fn facts(&self) -> RequestFacts<'_> {
        let scope_sent = match &self.expect {
            Expect::IdJag { scope, .. } | Expect::AccessToken { scope, .. } => {
                Some(non_empty_scope(scope).is_some())
            }
            Expect::IdTokenRefresh => None,
        };
        RequestFacts {
            scope_sent,
            issuer: self.issuer.as_deref(),
        }
    }

    /// The scrubber for every secret this request carries.
    fn scrubber(&self) -> Scrubber {
        Scrubber::new(self.secrets.iter().map(|s| s.expose_secret()))
    }

    /// Leg 1 response → the ID-JAG. Pure.
    pub fn parse_id_jag(&self, resp: &HttpResponse) -> Result<IdJag> {
        let Expect::IdJag { resource, scope } = &self.expect else {
            return Err(self.wrong("an ID-JAG"));
        };
        response::id_jag(
            self.raw(resp)?,
            resource.as_deref(),
            scope.as_deref(),
            self.now,
        )
    }

    /// Leg 2 response → the access token. Pure.
    pub fn parse_access_token(&self, resp: &HttpResponse) -> Result<AccessToken> {
        let Expect::AccessToken { resource, scope } = &self.expect else {
            return Err(self.wrong("an access token"));
        };
        response::access_token(
            self.raw(resp)?,
            resource.as_deref(),
            scope.as_deref(),
            self.now,
        )
    }

    /// ID-token refresh response → the new ID token (OIDC Core §12.2). Pure.
    pub fn parse_id_token_refresh(&self, resp: &HttpResponse) -> Result<IdTokenRefresh> {
        let Expect::IdTokenRefresh = &self.expect else {
            return Err(self.wrong("an ID-token refresh"));
        };
        response::id_token_refresh(self.raw(resp)?)
    }
}

fn non_empty_scope(scope: &Option<String>) -> Option<&str> {
    scope.as_deref().filter(|s| !s.trim().is_empty())
}

/// Leg 1 input: exchange a subject token at the IdP for an ID-JAG.
///
/// JSON: the [`TokenEndpoint`] keys of the IdP plus `audience`, `resource`, `scope`,
/// `subject_token`, `subject_token_type` (see `docs/GUIDE.md`, "JSON shapes").
#[derive(Clone, Debug)]
pub struct IdJagRequest {
    /// The IdP token endpoint and our credentials there.
    pub endpoint: TokenEndpoint,
    /// The MCP authorization server's issuer (exact string from its validated metadata).
    pub audience: String,
    /// The MCP server's resource identifier (PRM `resource`). Always send it.
    pub resource: Option<String>,
    /// Space-separated scopes at the MCP server.
    pub scope: Option<String>,
    /// The ID token, SAML assertion or IdP refresh token.
    pub subject_token: SecretString,
    /// Its type.
    pub subject_token_type: SubjectTokenType,
}

impl IdJagRequest {
    /// A request with the required inputs; add `resource`, `scope` with the setters.
    pub fn new(
        endpoint: TokenEndpoint,
        audience: impl Into<String>,
        subject_token: impl Into<SecretString>,
        subject_token_type: SubjectTokenType,
    ) -> Self {
        IdJagRequest {
            endpoint,
            audience: audience.into(),
            resource: None,
            scope: None,
            subject_token: subject_token.into(),
            subject_token_type,
        }
    }

    /// Sets the resource.
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resource = Some(resource.into());
        self
    }

    /// Sets the scope.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// The exact request, without I/O.
    pub fn prepare(&self, ctx: &PrepareContext) -> Result<PreparedRequest> {
        let step = Step::IdpExchange;
        if self.subject_token.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                step,
                "the subject token is empty",
            ));
        }
        if self.audience.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                step,
                "the audience is empty",
            ));
        }
        let mut params: Vec<(&'static str, &str)> = vec![
            ("grant_type", urn::GRANT_TOKEN_EXCHANGE),
            ("requested_token_type", urn::TOKEN_TYPE_ID_JAG),
            ("audience", &self.audience),
        ];
        if let Some(r) = &self.resource {
            params.push(("resource", r));
        }
        if let Some(s) = non_empty_scope(&self.scope) {
            params.push(("scope", s));
        }
        params.push(("subject_token", self.subject_token.expose_secret()));
        params.push(("subject_token_type", self.subject_token_type.urn()));
        PreparedRequest::build(
            step,
            &self.endpoint,
            ctx,
            &params,
            &[self.subject_token.expose_secret()],
            Expect::IdJag {
                resource: self.resource.clone(),
                scope: self.scope.clone(),
            },
        )
    }
}

/// Leg 2 input: redeem an ID-JAG at the MCP authorization server.
///
/// JSON: the [`TokenEndpoint`] keys of the authorization server plus `assertion`, `scope`,
/// `resource` (see `docs/GUIDE.md`, "JSON shapes").
#[derive(Clone, Debug)]
pub struct RedeemRequest {
    /// The AS token endpoint (from its validated metadata; its issuer is the ID-JAG's `aud`)
    /// and our credentials there (the identity named by the ID-JAG `client_id`).
    pub endpoint: TokenEndpoint,
    /// The ID-JAG.
    pub assertion: SecretString,
    /// Scope to request.
    pub scope: Option<String>,
    /// Resource to request (RFC 8707).
    pub resource: Option<String>,
}

impl RedeemRequest {
    /// A request with the required inputs.
    pub fn new(endpoint: TokenEndpoint, assertion: impl Into<SecretString>) -> Self {
        RedeemRequest {
            endpoint,
            assertion: assertion.into(),
            scope: None,
            resource: None,
        }
    }

    /// Sets the scope.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// Sets the resource.
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resource = Some(resource.into());
        self
    }

    /// The exact request, without I/O.
    pub fn prepare(&self, ctx: &PrepareContext) -> Result<PreparedRequest> {
        let step = Step::AsGrant;
        if self.assertion.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                step,
                "the assertion is empty",
            ));
        }
        let mut params: Vec<(&'static str, &str)> = vec![
            ("grant_type", urn::GRANT_JWT_BEARER),
            ("assertion", self.assertion.expose_secret()),
        ];
        if let Some(s) = non_empty_scope(&self.scope) {
            params.push(("scope", s));
        }
        if let Some(r) = &self.resource {
            params.push(("resource", r));
        }
        PreparedRequest::build(
            step,
            &self.endpoint,
            ctx,
            &params,
            &[self.assertion.expose_secret()],
            Expect::AccessToken {
                resource: self.resource.clone(),
                scope: self.scope.clone(),
            },
        )
    }
}

/// Renewing the user's ID token with an IdP refresh token (OIDC Core §12).
#[derive(Clone, Debug)]
pub struct IdTokenRefreshRequest {
    /// The IdP token endpoint and our credentials there.
    pub endpoint: TokenEndpoint,
    /// The IdP refresh token.
    pub refresh_token: SecretString,
}

impl IdTokenRefreshRequest {
    /// A request.
    pub fn new(endpoint: TokenEndpoint, refresh_token: impl Into<SecretString>) -> Self {
        IdTokenRefreshRequest {
            endpoint,
            refresh_token: refresh_token.into(),
        }
    }

    /// The exact request, without I/O.
    pub fn prepare(&self, ctx: &PrepareContext) -> Result<PreparedRequest> {
        let step = Step::IdpRefresh;
        if self.refresh_token.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                step,
                "the refresh token is empty",
            ));
        }
        PreparedRequest::build(
            step,
            &self.endpoint,
            ctx,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", self.refresh_token.expose_secret()),
            ],
            &[self.refresh_token.expose_secret()],
            Expect::IdTokenRefresh,
        )
    }
}

impl Client {
    /// A [`PrepareContext`] at this client's clock, with a random `jti` and this client's
    /// token-response size cap.
    pub fn prepare_context(&self) -> PrepareContext {
        PrepareContext {
            max_response_bytes: self.inner.config.max_token_bytes,
            ..PrepareContext::at(self.inner.clock.now_secs())
        }
    }

    /// Sends a prepared token request under idjag's HTTP policy (URL check, size cap, no
    /// redirects followed, one [`HttpEvent`](crate::HttpEvent) with the request's note) and
    /// returns the response, whatever its status. Errors are scrubbed of the request's secrets.
    pub fn send_prepared(&self, prepared: &PreparedRequest) -> Result<HttpResponse> {
        let note = (!prepared.auth_method_advertised).then_some(NOTE_AUTH_METHOD_NOT_ADVERTISED);
        self.send_noted(prepared.step, prepared.to_http_request(), note)
            .map_err(|e| e.scrub(&prepared.scrubber()))
    }

    /// Leg 1: exchanges the subject token for an ID-JAG (RFC 8693).
    pub fn request_id_jag(&self, req: &IdJagRequest) -> Result<IdJag> {
        let prepared = req.prepare(&self.prepare_context())?;
        prepared.parse_id_jag(&self.send_prepared(&prepared)?)
    }

    /// Leg 2: redeems an ID-JAG for an access token (RFC 7523). Redirects are
    /// never followed; a `refresh_token` in the response is dropped (the session re-exchanges
    /// instead).
    pub fn redeem_id_jag(&self, req: &RedeemRequest) -> Result<AccessToken> {
        let prepared = req.prepare(&self.prepare_context())?;
        prepared.parse_access_token(&self.send_prepared(&prepared)?)
    }

    /// Renews the user's ID token with an IdP refresh token (OIDC Core §12).
    pub fn refresh_id_token(&self, req: &IdTokenRefreshRequest) -> Result<IdTokenRefresh> {
        let prepared = req.prepare(&self.prepare_context())?;
        prepared.parse_id_token_refresh(&self.send_prepared(&prepared)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_token_types() {
        assert_eq!(
            SubjectTokenType::parse("saml2"),
            Some(SubjectTokenType::Saml2)
        );
        assert_eq!(
            SubjectTokenType::parse(urn::TOKEN_TYPE_REFRESH_TOKEN),
            Some(SubjectTokenType::RefreshToken)
        );
        assert_eq!(SubjectTokenType::parse("jwt"), None);
        let t: SubjectTokenType =
            serde_json::from_str(&format!("\"{}\"", urn::TOKEN_TYPE_SAML2)).expect("urn");
        assert_eq!(t, SubjectTokenType::Saml2);
    }

    #[test]
    fn requests_debug_is_redacted() {
        let idp = TokenEndpoint::new(
            "https://idp/token",
            ClientCredentials::new("c").with_secret("planted-secret"),
        );
        let req = IdJagRequest::new(
            idp.clone(),
            "https://as",
            "planted-subject",
            SubjectTokenType::IdToken,
        );
        let rr = RedeemRequest::new(idp.clone(), "planted-assertion");
        let rf = IdTokenRefreshRequest::new(idp.clone(), "planted-refresh");
        let prepared = req.prepare(&PrepareContext::at(0)).expect("prepare");
        let shown = format!("{idp:?} {req:?} {rr:?} {rf:?} {prepared:?}");
        for planted in [
            "planted-secret",
            "planted-subject",
            "planted-assertion",
            "planted-refresh",
        ] {
            assert!(!shown.contains(planted), "{planted}: {shown}");
        }
        assert!(prepared.expose_body().contains("planted-subject"));
    }

    #[test]
    fn a_prepared_request_parses_only_its_own_response() {
        let idp = TokenEndpoint::new("https://idp/token", ClientCredentials::new("c"));
        let p = IdTokenRefreshRequest::new(idp, "rt-1")
            .prepare(&PrepareContext::at(0))
            .expect("prepare");
        let resp = HttpResponse {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: br#"{"access_token":"a","token_type":"Bearer"}"#.to_vec(),
        };
        assert_eq!(
            p.parse_access_token(&resp).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
        assert_eq!(
            p.parse_id_jag(&resp).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
        assert_eq!(
            p.parse_id_token_refresh(&resp).unwrap_err().kind(),
            ErrorKind::ResponseInvalid
        );
    }
}
