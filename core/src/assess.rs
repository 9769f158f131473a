//! An assessment of an MCP server: does it support enterprise-managed authorization, which
//! checks pass, warn or fail, and with which error a client would fail.
//!
//! [`assess`] walks the discovery chain the way [`Client::discover`] does — unauthenticated
//! probe, protected-resource metadata (RFC 9728), authorization-server metadata
//! (RFC 8414 / OIDC, exact issuer), the SSRF guard on every server-supplied URL
//! (RFC 9728 §7.7) — but does not stop at the first problem: it records one [`Check`] per
//! requirement and lets [`Client::discover`] itself pick the authorization server, so the
//! verdict is the one a [`Session`](crate::Session) would reach. Optionally it also checks
//! the enterprise IdP.
//!
//! The [`Assessment`] is a plain document (`serde::Serialize`) so that every surface — the
//! `idjag discover` command, the C, Node and Python bindings — hands out the same judgement
//! with the same check identifiers. It holds no secret: the probe carries no credentials,
//! metadata documents are public, and errors are secret-free by contract.
//!
//! Strings in an assessment (metadata members, challenge parameters, error messages) come
//! from the servers: escape control characters before showing them on a terminal.
//!
//! ```no_run
//! let client = idjag::Client::new()?;
//! let a = idjag::assess::assess(&client, "https://mcp.example.com/mcp", &Default::default());
//! println!("{}", a.summary);
//! for c in &a.checks {
//!     println!("{:?} {} {}: {}", c.status, c.id, c.url, c.message);
//! }
//! if let Some(e) = a.error() {
//!     eprintln!("{} ({})", e, e.code());
//! }
//! # Ok::<(), idjag::Error>(())
//! ```

use crate::challenge::ResourceChallenge;
use crate::client::Client;
use crate::client_auth::AuthMethod;
use crate::discovery::{
    AuthorizationServerMetadata, DiscoveryOptions, ProtectedResourceMetadata, ResourceMatch,
};
use crate::error::{Error, ErrorKind, Step};
use crate::http::{check_server_supplied_url, check_url, HttpRequest, HttpResponse, Method};
use crate::urn;
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

/// Every check [`assess`] can record: `(id, what it verifies)`. Identifiers are stable (they
/// are API, like error codes); a check appears in an assessment only when it was run.
pub const CHECKS: &[(&str, &str)] = &[
    (
        "server_url",
        "the MCP server URL is https, or http to a loopback host",
    ),
    (
        "probe",
        "an unauthenticated request gets 401 with a WWW-Authenticate challenge naming \
         resource_metadata (RFC 9110 §11.6.1, RFC 9728 §5.1)",
    ),
    (
        "resource_metadata_url",
        "the challenge's resource_metadata URL may be followed: https, and not into an \
         internal network when the MCP server is public (RFC 9728 §7.7)",
    ),
    (
        "resource_metadata",
        "protected-resource metadata is served, names this resource and lists at least one \
         authorization server (RFC 9728 §3)",
    ),
    (
        "authorization_servers",
        "the PRM lists no more authorization servers than discovery considers (the first 4 \
         distinct ones; more are ignored)",
    ),
    (
        "authorization_server_url",
        "an authorization server issuer may be contacted (https; RFC 9728 §7.7)",
    ),
    (
        "authorization_server_metadata",
        "authorization-server metadata is served and its issuer is identical to the one \
         listed (RFC 8414 §3.3)",
    ),
    (
        "endpoint_urls",
        "token_endpoint and jwks_uri may be contacted (https; RFC 9728 §7.7)",
    ),
    (
        "token_endpoint",
        "the metadata has a token_endpoint (RFC 8414 §2)",
    ),
    (
        "id_jag_profile",
        "authorization_grant_profiles_supported lists the id-jag profile (ID-JAG §7.2)",
    ),
    (
        "jwt_bearer_grant",
        "grant_types_supported lists the jwt-bearer grant (RFC 7523, ID-JAG §7.2)",
    ),
    (
        "client_authentication",
        "the token endpoint accepts a client authentication method idjag implements \
         (RFC 8414 §2)",
    ),
    (
        "discovery",
        "Client::discover selects an authorization server",
    ),
    (
        "idp_metadata",
        "the IdP's metadata is served and its issuer is identical (RFC 8414 §3.3)",
    ),
    (
        "idp_token_endpoint",
        "the IdP metadata has a token_endpoint",
    ),
    (
        "idp_token_exchange",
        "the IdP advertises the token-exchange grant (RFC 8693)",
    ),
    (
        "idp_id_jag",
        "the IdP advertises issuing ID-JAGs in \
         identity_chaining_requested_token_types_supported (absence is not \
         proof of non-support)",
    ),
];

/// Options of [`assess`].
#[derive(Clone, Debug, Default)]
pub struct AssessOptions {
    /// Also assess this enterprise IdP (its issuer, as configured; not subject to the SSRF
    /// guard, which only applies to server-supplied URLs).
    pub idp_issuer: Option<String>,
    /// How strictly the PRM `resource` must match the server URL.
    pub resource_match: ResourceMatch,
}

/// The outcome of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CheckStatus {
    /// The requirement is met.
    Pass,
    /// Not fatal for idjag, but a deviation worth fixing (a SHOULD, an inconsistency, or
    /// something stricter clients refuse).
    Warn,
    /// The requirement is not met; [`Check::kind`] says how a client fails.
    Fail,
}

/// One verified requirement.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct Check {
    /// Stable identifier, one of [`CHECKS`].
    pub id: &'static str,
    /// Pass, warn or fail.
    pub status: CheckStatus,
    /// The URL (or issuer) the check is about.
    pub url: String,
    /// What was found, in words.
    pub message: String,
    /// For a failure (and a warning that maps to one), the error kind a client gets;
    /// serialized as its code (`issuer_mismatch`, …).
    #[serde(serialize_with = "kind_code")]
    pub kind: Option<ErrorKind>,
    #[serde(skip)]
    error: Option<Error>,
}

impl Check {
    /// The error behind a failed check, when there is one.
    pub fn error(&self) -> Option<&Error> {
        self.error.as_ref()
    }
}

fn kind_code<S: Serializer>(kind: &Option<ErrorKind>, s: S) -> Result<S::Ok, S::Error> {
    match kind {
        Some(k) => s.serialize_str(k.code()),
        None => s.serialize_none(),
    }
}

/// What the MCP server answered to the unauthenticated probe.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct ChallengeReport {
    /// The HTTP status.
    pub status: u16,
    /// Whether the response carried a `WWW-Authenticate` header.
    pub www_authenticate: bool,
    /// The challenge's `resource_metadata` URL.
    pub resource_metadata: Option<String>,
    /// The challenge's `scope`.
    pub scope: Option<String>,
    /// The challenge's `error`.
    pub error: Option<String>,
    /// The challenge's `error_description`.
    pub error_description: Option<String>,
}

/// One authorization server listed by the protected-resource metadata.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct AuthorizationServerReport {
    /// The issuer, as listed.
    pub issuer: String,
    /// Whether no check of this server failed.
    pub ok: bool,
    /// Whether [`Client::discover`] selected it.
    pub selected: bool,
    /// Its validated metadata, when it could be fetched.
    pub metadata: Option<AuthorizationServerMetadata>,
}

/// The enterprise IdP, when [`AssessOptions::idp_issuer`] is set.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct IdpReport {
    /// The issuer, as configured.
    pub issuer: String,
    /// Whether no check of the IdP failed.
    pub ok: bool,
    /// Its validated metadata, when it could be fetched.
    pub metadata: Option<AuthorizationServerMetadata>,
    /// `grant_types_supported` lists token exchange.
    pub token_exchange_advertised: bool,
    /// `identity_chaining_requested_token_types_supported` lists the ID-JAG token type.
    pub id_jag_advertised: bool,
}

/// The decisive failure of an assessment: the check, the URL it concerns, and the error a
/// client gets. Serialized as `{check, url, code, step, action, message, status, oauth,
/// reason}`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Failure {
    /// The [`Check::id`] that failed.
    pub check: &'static str,
    /// The URL (or issuer) concerned.
    pub url: String,
    /// The error.
    pub error: Error,
}

impl Serialize for Failure {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let e = &self.error;
        let mut st = s.serialize_struct("Failure", 9)?;
        st.serialize_field("check", self.check)?;
        st.serialize_field("url", &self.url)?;
        st.serialize_field("code", e.code())?;
        st.serialize_field("step", e.step().code())?;
        st.serialize_field("action", e.action().code())?;
        st.serialize_field("message", e.message())?;
        st.serialize_field("status", &e.status())?;
        st.serialize_field("oauth", &e.oauth_error())?;
        st.serialize_field("reason", &e.reason())?;
        st.end()
    }
}

/// The judgement of one MCP server. See the [module documentation](self).
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct Assessment {
    /// The MCP server URL assessed.
    pub server_url: String,
    /// No decisive failure: the server supports enterprise-managed authorization and, when
    /// asked, the IdP passed too.
    pub ok: bool,
    /// A client would find an authorization server that supports enterprise-managed
    /// authorization (the verdict of [`Client::discover`]).
    pub supported: bool,
    /// The verdict in one sentence.
    pub summary: String,
    /// The probe's answer (absent when it failed or was not sent).
    pub challenge: Option<ChallengeReport>,
    /// Where the protected-resource metadata was fetched from.
    pub resource_metadata_url: Option<String>,
    /// The protected-resource metadata.
    pub resource_metadata: Option<ProtectedResourceMetadata>,
    /// The listed authorization servers, in order.
    pub authorization_servers: Vec<AuthorizationServerReport>,
    /// The issuer [`Client::discover`] selected.
    pub selected_authorization_server: Option<String>,
    /// The IdP, when asked for.
    pub idp: Option<IdpReport>,
    /// Every check run, in order.
    pub checks: Vec<Check>,
    /// The decisive failure (absent when `ok`).
    pub error: Option<Failure>,
}

impl Assessment {
    /// The decisive error, if any (its kind is the one a client gets).
    pub fn error(&self) -> Option<&Error> {
        self.error.as_ref().map(|f| &f.error)
    }

    /// The checks with the given status.
    pub fn with_status(&self, status: CheckStatus) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(move |c| c.status == status)
    }

    fn new(server_url: &str) -> Self {
        Assessment {
            server_url: server_url.to_string(),
            ok: false,
            supported: false,
            summary: String::new(),
            challenge: None,
            resource_metadata_url: None,
            resource_metadata: None,
            authorization_servers: Vec::new(),
            selected_authorization_server: None,
            idp: None,
            checks: Vec::new(),
            error: None,
        }
    }

    fn pass(&mut self, id: &'static str, url: &str, message: impl Into<String>) {
        self.push(id, CheckStatus::Pass, url, message.into(), None, None);
    }

    fn warn(
        &mut self,
        id: &'static str,
        url: &str,
        message: impl Into<String>,
        kind: Option<ErrorKind>,
    ) {
        self.push(id, CheckStatus::Warn, url, message.into(), kind, None);
    }

    /// Records a failed check (not yet decisive).
    fn fail(&mut self, id: &'static str, url: &str, error: Error) {
        let message = error.message().to_string();
        self.push(
            id,
            CheckStatus::Fail,
            url,
            message,
            Some(error.kind()),
            Some(error),
        );
    }

    /// Records a failed check and makes it decisive (when nothing decided before).
    fn fail_decisive(&mut self, id: &'static str, url: &str, error: Error) {
        if self.error.is_none() {
            self.error = Some(Failure {
                check: id,
                url: url.to_string(),
                error: error.clone(),
            });
        }
        self.fail(id, url, error);
    }

    fn push(
        &mut self,
        id: &'static str,
        status: CheckStatus,
        url: &str,
        message: String,
        kind: Option<ErrorKind>,
        error: Option<Error>,
    ) {
        self.checks.push(Check {
            id,
            status,
            url: url.to_string(),
            message,
            kind,
            error,
        });
    }

    /// The first failed check from index `from` on, as the decisive failure.
    fn first_failure_since(&self, from: usize) -> Option<Failure> {
        self.checks[from..].iter().find_map(|c| {
            c.error.as_ref().map(|e| Failure {
                check: c.id,
                url: c.url.clone(),
                error: e.clone(),
            })
        })
    }

    fn finish(mut self) -> Self {
        self.ok = self.error.is_none();
        let warnings = self.with_status(CheckStatus::Warn).count();
        let warned = match warnings {
            0 => String::new(),
            1 => " (1 warning)".into(),
            n => format!(" ({n} warnings)"),
        };
        self.summary = match (&self.selected_authorization_server, &self.error) {
            (Some(issuer), None) => {
                let how = match self.authorization_servers.iter().find(|a| a.selected) {
                    Some(AuthorizationServerReport {
                        metadata: Some(m), ..
                    }) if !m.supports_id_jag_profile() => "jwt-bearer grant only",
                    _ => "id-jag grant profile",
                };
                format!("supports enterprise-managed authorization via {issuer} ({how}){warned}")
            }
            (Some(issuer), Some(f)) => format!(
                "supports enterprise-managed authorization via {issuer}, but check `{}` failed \
                 ({})",
                f.check,
                f.error.code()
            ),
            (None, Some(f)) if self.resource_metadata.is_some() => format!(
                "does not support enterprise-managed authorization: check `{}` failed ({})",
                f.check,
                f.error.code()
            ),
            (None, Some(f)) => format!(
                "could not be assessed: check `{}` failed ({})",
                f.check,
                f.error.code()
            ),
            (None, None) => "could not be assessed".into(),
        };
        self
    }
}

/// The unauthenticated request of [`Client::probe`], keeping the status and
/// whether a `WWW-Authenticate` header came back.
fn probe(client: &Client, server_url: &str) -> crate::Result<HttpResponse> {
    client.send(
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
            body: br#"{"jsonrpc":"2.0","id":0,"method":"ping"}"#.to_vec(),
            max_response_bytes: client.http_config().max_metadata_bytes,
            address_policy: crate::http::AddressPolicy::Any,
            timeout: None,
        },
    )
}

fn not_supported(message: String) -> Error {
    Error::new(ErrorKind::NotSupported, Step::Discovery, message)
}

fn contains(list: &Option<Vec<String>>, value: &str) -> bool {
    list.as_ref().is_some_and(|l| l.iter().any(|v| v == value))
}

/// Assesses the MCP server at `server_url` (and, with [`AssessOptions::idp_issuer`], the
/// IdP). Never fails: every problem is a [`Check`], the decisive one is
/// [`Assessment::error`]. Requests go through `client` (its policy, cache and event hooks).
pub fn assess(client: &Client, server_url: &str, options: &AssessOptions) -> Assessment {
    let mut a = Assessment::new(server_url);
    let server = match check_url(server_url, Step::Discovery) {
        Ok(u) => {
            a.pass(
                "server_url",
                server_url,
                "https, or http to a loopback host",
            );
            u
        }
        Err(e) => {
            a.fail_decisive("server_url", server_url, e);
            return a.finish();
        }
    };

    // 1. Probe (SPEC §3.1).
    let challenge = match probe(client, server_url) {
        Ok(resp) => {
            let headers: Vec<&str> = resp.header_all("www-authenticate").collect();
            let ch = ResourceChallenge::parse(headers.iter().copied());
            let status = resp.status;
            let report = ChallengeReport {
                status,
                www_authenticate: !headers.is_empty(),
                resource_metadata: ch.resource_metadata.clone(),
                scope: ch.scope.clone(),
                error: ch
                    .error
                    .as_ref()
                    .map(|e| crate::error::sanitize_server_text(e.as_str())),
                error_description: ch.error_description.clone(),
            };
            match status {
                401 | 403 if headers.is_empty() => a.warn(
                    "probe",
                    server_url,
                    format!(
                        "answered HTTP {status} without WWW-Authenticate{}; clients cannot learn \
                         the resource_metadata URL or the scope from it and fall back to the \
                         well-known URL",
                        if status == 401 {
                            " (RFC 9110 §11.6.1: a 401 MUST carry one)"
                        } else {
                            ""
                        }
                    ),
                    None,
                ),
                401 | 403 if ch.resource_metadata.is_none() => a.warn(
                    "probe",
                    server_url,
                    format!(
                        "answered HTTP {status} with a challenge that has no resource_metadata \
                         (SHOULD); clients fall back to the well-known URL"
                    ),
                    None,
                ),
                401 | 403 => a.pass(
                    "probe",
                    server_url,
                    format!("answered HTTP {status} with a challenge naming resource_metadata"),
                ),
                _ => a.warn(
                    "probe",
                    server_url,
                    format!(
                        "answered HTTP {status} to a request without a token; a server that \
                         requires authorization answers 401 with WWW-Authenticate"
                    ),
                    None,
                ),
            }
            a.challenge = Some(report);
            (status == 401 || status == 403).then_some(ch)
        }
        Err(e) => {
            a.fail_decisive("probe", server_url, e);
            return a.finish();
        }
    };
    let prm_hint = challenge.as_ref().and_then(|c| c.resource_metadata.clone());
    let challenged_scope = challenge.as_ref().and_then(|c| c.scope.clone());

    // 2. Protected-resource metadata (RFC 9728).
    if let Some(u) = &prm_hint {
        match check_server_supplied_url(&server, u, Step::Discovery) {
            Ok(_) => a.pass("resource_metadata_url", u, "may be followed"),
            Err(e) => {
                a.fail_decisive("resource_metadata_url", u, e);
                return a.finish();
            }
        }
    }
    let prm_subject = prm_hint.clone().unwrap_or_else(|| server_url.to_string());
    let prm = match client.protected_resource_metadata(
        server_url,
        prm_hint.as_deref(),
        options.resource_match,
    ) {
        Ok((url, prm)) => {
            a.pass(
                "resource_metadata",
                &url,
                format!(
                    "resource `{}`, {} authorization server(s)",
                    prm.resource,
                    prm.authorization_servers.len()
                ),
            );
            a.resource_metadata_url = Some(url);
            a.resource_metadata = Some((*prm).clone());
            prm
        }
        Err(e) => {
            a.fail_decisive("resource_metadata", &prm_subject, e);
            return a.finish();
        }
    };

    // 3. Each authorization server (RFC 8414), recording every problem.
    let as_checks_from = a.checks.len();
    let mut usable = 0usize;
    // The same candidates discovery considers (the first few distinct ones): a PRM listing
    // thousands of servers costs no more here than in a session.
    let candidates = prm.authorization_server_candidates();
    if candidates.len() < prm.authorization_servers.len() {
        a.warn(
            "authorization_servers",
            &prm_subject,
            format!(
                "the PRM lists {} authorization servers; only the first {} distinct ones are considered",
                prm.authorization_servers.len(),
                candidates.len()
            ),
            None,
        );
    }
    for issuer in candidates {
        let report = assess_authorization_server(client, &server, issuer, &mut a);
        usable += usize::from(report.ok);
        a.authorization_servers.push(report);
    }

    // 4. The core's own choice, so the verdict is the one a session reaches.
    if usable > 0 {
        let opts = DiscoveryOptions {
            resource_metadata_url: prm_hint.clone(),
            challenged_scope,
            resource_match: options.resource_match,
            authorization_server: None,
            skip_probe: true,
        };
        match client.discover(server_url, &opts) {
            Ok(d) => {
                let issuer = d.authorization_server.issuer.clone();
                a.pass("discovery", &issuer, format!("a client selects {issuer}"));
                for r in &mut a.authorization_servers {
                    r.selected = r.issuer == issuer;
                }
                a.selected_authorization_server = Some(issuer);
                a.supported = true;
            }
            Err(e) => a.fail_decisive("discovery", server_url, e),
        }
    } else {
        a.error = a.first_failure_since(as_checks_from).or_else(|| {
            Some(Failure {
                check: "discovery",
                url: server_url.to_string(),
                error: not_supported(format!(
                    "no authorization server of {server_url} supports enterprise-managed \
                     authorization"
                )),
            })
        });
    }

    // 5. The IdP, when asked for.
    if let Some(idp) = &options.idp_issuer {
        let from = a.checks.len();
        let report = assess_idp(client, idp, &mut a);
        if !report.ok && a.error.is_none() {
            a.error = a.first_failure_since(from);
        }
        a.idp = Some(report);
    }
    a.finish()
}

fn assess_authorization_server(
    client: &Client,
    server: &url::Url,
    issuer: &str,
    a: &mut Assessment,
) -> AuthorizationServerReport {
    let mut report = AuthorizationServerReport {
        issuer: issuer.to_string(),
        ok: false,
        selected: false,
        metadata: None,
    };
    if let Err(e) = check_server_supplied_url(server, issuer, Step::Discovery) {
        a.fail("authorization_server_url", issuer, e);
        return report;
    }
    a.pass("authorization_server_url", issuer, "may be contacted");
    let meta = match client.authorization_server_metadata(issuer) {
        Ok(m) => m,
        Err(e) => {
            a.fail("authorization_server_metadata", issuer, e);
            return report;
        }
    };
    a.pass(
        "authorization_server_metadata",
        issuer,
        "served, issuer identical",
    );
    report.metadata = Some((*meta).clone());
    let before = a.checks.len();

    let mut endpoints_ok = true;
    for u in [&meta.token_endpoint, &meta.jwks_uri].into_iter().flatten() {
        if let Err(e) = check_server_supplied_url(server, u, Step::Discovery) {
            a.fail("endpoint_urls", u, e);
            endpoints_ok = false;
        }
    }
    if endpoints_ok {
        a.pass(
            "endpoint_urls",
            issuer,
            "token_endpoint and jwks_uri may be contacted",
        );
    }
    match meta.token_endpoint(Step::Discovery) {
        Ok(te) => a.pass("token_endpoint", issuer, te.to_string()),
        Err(e) => a.fail("token_endpoint", issuer, e),
    }

    let profile = meta.supports_id_jag_profile();
    let jwt_bearer = meta.supports_jwt_bearer();
    match (profile, jwt_bearer) {
        (true, _) => a.pass(
            "id_jag_profile",
            issuer,
            "advertises the id-jag grant profile",
        ),
        (false, true) => a.warn(
            "id_jag_profile",
            issuer,
            "does not advertise the id-jag grant profile (ID-JAG §7.2: SHOULD); idjag uses \
             the jwt-bearer grant, which is not specific to ID-JAGs",
            None,
        ),
        (false, false) => a.fail(
            "id_jag_profile",
            issuer,
            not_supported(format!(
                "{issuer} does not advertise the id-jag grant profile \
                 (authorization_grant_profiles_supported)"
            )),
        ),
    }
    match (jwt_bearer, profile) {
        (true, _) => a.pass("jwt_bearer_grant", issuer, "lists the jwt-bearer grant"),
        (false, true) => a.warn(
            "jwt_bearer_grant",
            issuer,
            "advertises the id-jag profile but grant_types_supported lacks the jwt-bearer \
             grant (ID-JAG §7.2: MUST list it); idjag proceeds on the profile, stricter \
             clients refuse",
            Some(ErrorKind::NotSupported),
        ),
        (false, false) => a.fail(
            "jwt_bearer_grant",
            issuer,
            not_supported(format!(
                "{issuer} does not list the jwt-bearer grant in grant_types_supported{}",
                if meta.grant_types_supported.is_none() {
                    " (absent: RFC 8414 defaults to authorization_code and implicit)"
                } else {
                    ""
                }
            )),
        ),
    }

    let methods = meta.auth_methods();
    let confidential: Vec<&str> = methods
        .iter()
        .map(String::as_str)
        .filter(|m| AuthMethod::from_code(m).is_some_and(|m| m != AuthMethod::None))
        .collect();
    if !confidential.is_empty() {
        a.pass(
            "client_authentication",
            issuer,
            format!("accepts {}", confidential.join(", ")),
        );
    } else if methods.iter().any(|m| m == "none") {
        a.warn(
            "client_authentication",
            issuer,
            "accepts public clients only; the id-jag profile SHOULD only be offered to \
             confidential clients (ID-JAG §9)",
            None,
        );
    } else {
        a.warn(
            "client_authentication",
            issuer,
            format!(
                "accepts only {}, none of which idjag implements",
                methods.join(", ")
            ),
            Some(ErrorKind::NotSupported),
        );
    }
    report.ok = a.checks[before..]
        .iter()
        .all(|c| c.status != CheckStatus::Fail);
    report
}

fn assess_idp(client: &Client, issuer: &str, a: &mut Assessment) -> IdpReport {
    let mut report = IdpReport {
        issuer: issuer.to_string(),
        ok: false,
        metadata: None,
        token_exchange_advertised: false,
        id_jag_advertised: false,
    };
    let meta = match client.authorization_server_metadata(issuer) {
        Ok(m) => m,
        Err(e) => {
            a.fail("idp_metadata", issuer, e);
            return report;
        }
    };
    a.pass("idp_metadata", issuer, "served, issuer identical");
    report.ok = true;
    match meta.token_endpoint(Step::Discovery) {
        Ok(te) => a.pass("idp_token_endpoint", issuer, te.to_string()),
        Err(e) => {
            report.ok = false;
            a.fail("idp_token_endpoint", issuer, e);
        }
    }
    report.token_exchange_advertised = meta.supports_token_exchange();
    if report.token_exchange_advertised {
        a.pass(
            "idp_token_exchange",
            issuer,
            "lists the token-exchange grant",
        );
    } else {
        a.warn(
            "idp_token_exchange",
            issuer,
            "grant_types_supported does not list the token-exchange grant",
            None,
        );
    }
    report.id_jag_advertised = contains(
        &meta.identity_chaining_requested_token_types_supported,
        urn::TOKEN_TYPE_ID_JAG,
    );
    if report.id_jag_advertised {
        a.pass("idp_id_jag", issuer, "advertises issuing ID-JAGs");
    } else {
        a.warn(
            "idp_id_jag",
            issuer,
            "identity_chaining_requested_token_types_supported does not list the ID-JAG \
             token type (absence is not proof of non-support)",
            None,
        );
    }
    report.metadata = Some((*meta).clone());
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::HttpClient;
    use serde_json::{json, Value};
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    type Page = (u16, Vec<(String, String)>, Value);

    /// An in-memory web: URL → (status, headers, JSON body). Records every URL requested.
    #[derive(Default)]
    struct Web {
        pages: HashMap<String, Page>,
        seen: Mutex<Vec<String>>,
    }

    impl Web {
        fn page(mut self, url: &str, status: u16, body: Value) -> Self {
            self.pages.insert(url.into(), (status, Vec::new(), body));
            self
        }

        fn challenge(mut self, url: &str, www_authenticate: Option<&str>) -> Self {
            let headers = www_authenticate
                .map(|h| vec![("www-authenticate".to_string(), h.to_string())])
                .unwrap_or_default();
            self.pages
                .insert(url.into(), (401, headers, json!({"error": "unauthorized"})));
            self
        }
    }

    impl HttpClient for Web {
        fn execute(&self, r: &HttpRequest) -> crate::Result<HttpResponse> {
            self.seen
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(r.url.clone());
            let (status, mut headers, body) = self.pages.get(&r.url).cloned().unwrap_or((
                404,
                Vec::new(),
                json!({"error": "not_found"}),
            ));
            headers.push(("content-type".into(), "application/json".into()));
            Ok(HttpResponse {
                status,
                headers,
                body: body.to_string().into_bytes(),
            })
        }
    }

    const MCP: &str = "https://mcp.example.com/mcp";
    const PRM: &str = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp";
    const AS: &str = "https://as.example.com";
    const AS_META: &str = "https://as.example.com/.well-known/oauth-authorization-server";

    fn as_meta(patch: Value) -> Value {
        let mut m = json!({
            "issuer": AS,
            "token_endpoint": "https://as.example.com/token",
            "jwks_uri": "https://as.example.com/jwks",
            "grant_types_supported": [urn::GRANT_JWT_BEARER],
            "authorization_grant_profiles_supported": [urn::GRANT_PROFILE_ID_JAG],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        });
        for (k, v) in patch.as_object().into_iter().flatten() {
            if v.is_null() {
                m.as_object_mut().map(|o| o.remove(k));
            } else {
                m[k] = v.clone();
            }
        }
        m
    }

    fn healthy() -> Web {
        Web::default()
            .challenge(
                MCP,
                Some(&format!(
                    r#"Bearer resource_metadata="{PRM}", scope="mcp:read""#
                )),
            )
            .page(
                PRM,
                200,
                json!({"resource": MCP, "authorization_servers": [AS]}),
            )
            .page(AS_META, 200, as_meta(json!({})))
    }

    fn run(web: Web, idp: Option<&str>) -> (Assessment, Vec<String>) {
        let web = Arc::new(web);
        let client = Client::builder()
            .http_client(web.clone())
            .build()
            .expect("client");
        let a = assess(
            &client,
            MCP,
            &AssessOptions {
                idp_issuer: idp.map(str::to_string),
                ..Default::default()
            },
        );
        let seen = web.seen.lock().unwrap_or_else(|p| p.into_inner()).clone();
        (a, seen)
    }

    fn status_of(a: &Assessment, id: &str) -> CheckStatus {
        a.checks
            .iter()
            .find(|c| c.id == id)
            .unwrap_or_else(|| panic!("no check {id}: {:?}", a.checks))
            .status
    }

    #[test]
    fn a_healthy_server_passes_every_check() {
        let (a, _) = run(healthy(), None);
        assert!(a.ok && a.supported, "{a:?}");
        assert!(a.error().is_none());
        assert!(
            a.checks.iter().all(|c| c.status == CheckStatus::Pass),
            "{a:?}"
        );
        assert_eq!(a.selected_authorization_server.as_deref(), Some(AS));
        assert!(a.summary.contains("id-jag grant profile"), "{}", a.summary);
        for c in &a.checks {
            assert!(
                CHECKS.iter().any(|(id, _)| *id == c.id),
                "undocumented {}",
                c.id
            );
        }
        let v = serde_json::to_value(&a).expect("json");
        for k in [
            "server_url",
            "ok",
            "supported",
            "summary",
            "challenge",
            "resource_metadata_url",
            "resource_metadata",
            "authorization_servers",
            "selected_authorization_server",
            "idp",
            "checks",
            "error",
        ] {
            assert!(v.get(k).is_some(), "no {k}: {v}");
        }
        assert_eq!(v["challenge"]["status"], json!(401));
        assert_eq!(v["challenge"]["scope"], json!("mcp:read"));
        assert_eq!(v["checks"][0]["status"], json!("pass"));
        assert_eq!(v["checks"][0]["kind"], Value::Null);
        assert_eq!(v["authorization_servers"][0]["selected"], json!(true));
    }

    // RFC 9728 §7.7: a public MCP server cannot send the client into an internal network —
    // neither through the challenge, nor the authorization server list, nor the endpoints.
    #[test]
    fn ssrf_guard_on_the_challenge_resource_metadata() {
        let web = healthy().challenge(
            MCP,
            Some(r#"Bearer resource_metadata="https://169.254.169.254/latest/meta-data""#),
        );
        let (a, seen) = run(web, None);
        assert!(!a.ok && !a.supported);
        assert_eq!(status_of(&a, "resource_metadata_url"), CheckStatus::Fail);
        let e = a.error().expect("error");
        assert_eq!(e.kind(), ErrorKind::InsecureUrl);
        assert!(e.message().contains("RFC 9728 §7.7"), "{e}");
        assert!(seen.iter().all(|u| !u.contains("169.254")), "{seen:?}");
        assert_eq!(
            a.error.as_ref().map(|f| f.url.as_str()),
            Some("https://169.254.169.254/latest/meta-data")
        );
    }

    #[test]
    fn ssrf_guard_on_the_authorization_server() {
        let web = healthy().page(
            PRM,
            200,
            json!({"resource": MCP, "authorization_servers": ["https://10.0.0.5"]}),
        );
        let (a, seen) = run(web, None);
        assert!(!a.supported);
        assert_eq!(status_of(&a, "authorization_server_url"), CheckStatus::Fail);
        assert_eq!(a.error().map(Error::kind), Some(ErrorKind::InsecureUrl));
        assert_eq!(
            a.error.as_ref().map(|f| f.check),
            Some("authorization_server_url")
        );
        assert!(seen.iter().all(|u| !u.contains("10.0.0.5")), "{seen:?}");
    }

    #[test]
    fn ssrf_guard_on_the_endpoints() {
        let web = healthy().page(
            AS_META,
            200,
            as_meta(json!({"token_endpoint": "https://192.168.1.1/token"})),
        );
        let (a, _) = run(web, None);
        assert!(!a.supported);
        assert_eq!(status_of(&a, "endpoint_urls"), CheckStatus::Fail);
        assert_eq!(a.error().map(Error::kind), Some(ErrorKind::InsecureUrl));
        assert_eq!(
            a.error.as_ref().map(|f| f.url.as_str()),
            Some("https://192.168.1.1/token")
        );
    }

    #[test]
    fn a_401_without_www_authenticate_warns_and_falls_back() {
        let (a, seen) = run(healthy().challenge(MCP, None), None);
        assert!(a.ok && a.supported, "{a:?}");
        assert_eq!(status_of(&a, "probe"), CheckStatus::Warn);
        let c = a.challenge.as_ref().expect("challenge");
        assert_eq!((c.status, c.www_authenticate), (401, false));
        assert!(
            seen.iter().any(|u| u == PRM),
            "well-known URL used: {seen:?}"
        );
        assert!(a.summary.contains("1 warning"), "{}", a.summary);
    }

    #[test]
    fn issuer_mismatch_is_decisive_with_its_kind() {
        let web = healthy().page(
            AS_META,
            200,
            as_meta(json!({"issuer": "https://evil.example.com"})),
        );
        let (a, _) = run(web, None);
        assert!(!a.supported);
        assert_eq!(a.error().map(Error::kind), Some(ErrorKind::IssuerMismatch));
        assert_eq!(a.error.as_ref().map(|f| f.url.as_str()), Some(AS));
        let v = serde_json::to_value(&a).expect("json");
        assert_eq!(v["error"]["code"], json!("issuer_mismatch"));
        assert_eq!(v["error"]["check"], json!("authorization_server_metadata"));
        assert_eq!(v["error"]["step"], json!("discovery"));
        let check = v["checks"]
            .as_array()
            .and_then(|c| {
                c.iter()
                    .find(|c| c["id"] == json!("authorization_server_metadata"))
            })
            .expect("check");
        assert_eq!(check["status"], json!("fail"));
        assert_eq!(check["kind"], json!("issuer_mismatch"));
    }

    #[test]
    fn profile_without_jwt_bearer_is_supported_with_a_warning() {
        let web = healthy().page(
            AS_META,
            200,
            as_meta(json!({"grant_types_supported": ["authorization_code"]})),
        );
        let (a, _) = run(web, None);
        assert!(a.supported, "the core proceeds on the profile: {a:?}");
        assert_eq!(status_of(&a, "jwt_bearer_grant"), CheckStatus::Warn);
    }

    #[test]
    fn no_grant_at_all_is_not_supported() {
        let web = healthy().page(
            AS_META,
            200,
            as_meta(json!({"grant_types_supported": null,
                           "authorization_grant_profiles_supported": null})),
        );
        let (a, _) = run(web, None);
        assert!(!a.supported && !a.ok);
        assert_eq!(status_of(&a, "jwt_bearer_grant"), CheckStatus::Fail);
        assert_eq!(a.error().map(Error::kind), Some(ErrorKind::NotSupported));
        assert!(a.summary.starts_with("does not support"), "{}", a.summary);
    }

    #[test]
    fn a_second_usable_server_makes_the_first_failure_non_decisive() {
        let web = healthy().page(
            PRM,
            200,
            json!({"resource": MCP, "authorization_servers": ["http://as.bad.example", AS]}),
        );
        let (a, _) = run(web, None);
        assert!(a.ok && a.supported, "{a:?}");
        assert_eq!(status_of(&a, "authorization_server_url"), CheckStatus::Fail);
        assert!(!a.authorization_servers[0].ok && a.authorization_servers[1].selected);
    }

    /// SECURITY (review item 6): the doctor considers the same bounded candidates as
    /// discovery, however many servers a PRM lists.
    #[test]
    fn a_prm_listing_thousands_of_servers_is_bounded() {
        let many: Vec<String> = (0..5000)
            .map(|i| format!("https://as{i}.example"))
            .chain([AS.to_string()])
            .collect();
        let web = healthy().page(
            PRM,
            200,
            json!({"resource": MCP, "authorization_servers": many}),
        );
        let (a, requests) = run(web, None);
        assert_eq!(a.authorization_servers.len(), 4);
        assert_eq!(status_of(&a, "authorization_servers"), CheckStatus::Warn);
        assert!(requests.len() < 40, "{} requests", requests.len());
    }

    #[test]
    fn transport_failure_of_the_probe_is_decisive() {
        let client = Client::builder()
            .http_client(Arc::new(|_: &HttpRequest| -> crate::Result<HttpResponse> {
                Err(Error::new(
                    ErrorKind::Transport,
                    Step::Transport,
                    "connection refused",
                ))
            }))
            .build()
            .expect("client");
        let a = assess(&client, MCP, &AssessOptions::default());
        assert_eq!(a.error().map(Error::kind), Some(ErrorKind::Transport));
        assert_eq!(a.error().map(Error::step), Some(Step::Resource));
        assert!(
            a.summary.starts_with("could not be assessed"),
            "{}",
            a.summary
        );
        let a = assess(
            &client,
            "http://mcp.example.com/mcp",
            &AssessOptions::default(),
        );
        assert_eq!(a.error().map(Error::kind), Some(ErrorKind::InsecureUrl));
    }

    #[test]
    fn the_idp_is_checked_when_asked() {
        let idp = "https://idp.example.com";
        let web = healthy().page(
            "https://idp.example.com/.well-known/oauth-authorization-server",
            200,
            json!({"issuer": idp, "token_endpoint": "https://idp.example.com/token",
                   "grant_types_supported": [urn::GRANT_TOKEN_EXCHANGE]}),
        );
        let (a, _) = run(web, Some(idp));
        assert!(a.ok, "{a:?}");
        let r = a.idp.as_ref().expect("idp");
        assert!(r.ok && r.token_exchange_advertised && !r.id_jag_advertised);
        assert_eq!(status_of(&a, "idp_id_jag"), CheckStatus::Warn);

        let (a, _) = run(healthy(), Some("https://idp.missing.example.com"));
        assert!(a.supported && !a.ok);
        assert_eq!(a.error.as_ref().map(|f| f.check), Some("idp_metadata"));
        assert!(
            a.summary.contains("but check `idp_metadata` failed"),
            "{}",
            a.summary
        );
    }
}
