//! The two legs of enterprise-managed authorization, as plain calls on [`Client`]:
//!
//! - leg 1 [`Client::request_id_jag`]: RFC 8693 token exchange at the IdP (SPEC §1 step 3,
//!   §2.C, §2.D);
//! - leg 2 [`Client::redeem_id_jag`]: RFC 7523 jwt-bearer grant at the MCP authorization
//!   server (SPEC §1 step 4, §2.F);
//! - and the OIDC `refresh_token` grant that renews the user's ID token
//!   ([`Client::refresh_id_token`], SPEC §2.J item 4).

use crate::client::{parse_json_body, status_error, Client};
use crate::client_auth::{AuthMethod, AuthTarget, ClientCredentials};
use crate::error::{Error, ErrorKind, Result, Step};
use crate::http::check_url;
use crate::secret::SecretString;
use crate::urn;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The type of the subject token presented at the IdP.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectTokenType {
    /// An OIDC ID token (`urn:ietf:params:oauth:token-type:id_token`).
    #[default]
    IdToken,
    /// A SAML 2.0 assertion, base64url-encoded (`…:saml2`, RFC 8693 §3).
    Saml2,
    /// An IdP refresh token (`…:refresh_token`).
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

/// Leg 1 input: exchange a subject token at the IdP for an ID-JAG.
#[derive(Clone, Debug)]
pub struct IdJagRequest {
    /// IdP token endpoint.
    pub token_endpoint: String,
    /// IdP issuer, when known (the `aud` of `private_key_jwt` assertions).
    pub idp_issuer: Option<String>,
    /// The MCP authorization server's issuer (exact string from its validated metadata).
    pub audience: String,
    /// The MCP server's resource identifier (PRM `resource`). Always send it (SPEC §5 Q1).
    pub resource: Option<String>,
    /// Space-separated scopes at the MCP server.
    pub scope: Option<String>,
    /// The ID token, SAML assertion or IdP refresh token.
    pub subject_token: SecretString,
    /// Its type.
    pub subject_token_type: SubjectTokenType,
    /// Credentials at the IdP.
    pub client: ClientCredentials,
    /// The IdP's `token_endpoint_auth_methods_supported`, if known.
    pub auth_methods_supported: Option<Vec<String>>,
}

impl IdJagRequest {
    /// A request with the required inputs; add `resource`, `scope` with the setters.
    pub fn new(
        token_endpoint: impl Into<String>,
        audience: impl Into<String>,
        subject_token: impl Into<SecretString>,
        subject_token_type: SubjectTokenType,
        client: ClientCredentials,
    ) -> Self {
        IdJagRequest {
            token_endpoint: token_endpoint.into(),
            idp_issuer: None,
            audience: audience.into(),
            resource: None,
            scope: None,
            subject_token: subject_token.into(),
            subject_token_type,
            client,
            auth_methods_supported: None,
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

    /// Sets the IdP issuer.
    pub fn idp_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.idp_issuer = Some(issuer.into());
        self
    }

    /// Sets the IdP's supported authentication methods.
    pub fn auth_methods_supported(mut self, methods: Vec<String>) -> Self {
        self.auth_methods_supported = Some(methods);
        self
    }
}

/// Leg 1 output: the ID-JAG and what the IdP said about it.
#[derive(Clone, Debug)]
pub struct IdJag {
    /// The ID-JAG (a JWT, possibly encrypted; treat as opaque).
    pub assertion: SecretString,
    /// `issued_token_type` (always the id-jag URN after validation).
    pub issued_token_type: String,
    /// `token_type` as sent (`N_A`), if any.
    pub token_type: Option<String>,
    /// `expires_in` seconds, if sent.
    pub expires_in: Option<u64>,
    /// Expiry (Unix seconds): from `expires_in` at receipt, else the JWT `exp` claim.
    pub expires_at: Option<i64>,
    /// Granted scope (`scope` member, else the requested one).
    pub scope: Option<String>,
    /// Granted resources (ED-05 `resource` member), if the IdP sent one.
    pub resource: Option<Vec<String>>,
}

/// Leg 2 input: redeem an ID-JAG at the MCP authorization server.
#[derive(Clone, Debug)]
pub struct RedeemRequest {
    /// The AS token endpoint (from its validated metadata).
    pub token_endpoint: String,
    /// The AS issuer (the ID-JAG's `aud`; the `aud` of `private_key_jwt` assertions).
    pub issuer: Option<String>,
    /// The ID-JAG.
    pub assertion: SecretString,
    /// Scope to request.
    pub scope: Option<String>,
    /// Resource to request (RFC 8707).
    pub resource: Option<String>,
    /// Credentials at the AS (the identity named by the ID-JAG `client_id`).
    pub client: ClientCredentials,
    /// The AS's `token_endpoint_auth_methods_supported`, if known.
    pub auth_methods_supported: Option<Vec<String>>,
}

impl RedeemRequest {
    /// A request with the required inputs.
    pub fn new(
        token_endpoint: impl Into<String>,
        assertion: impl Into<SecretString>,
        client: ClientCredentials,
    ) -> Self {
        RedeemRequest {
            token_endpoint: token_endpoint.into(),
            issuer: None,
            assertion: assertion.into(),
            scope: None,
            resource: None,
            client,
            auth_methods_supported: None,
        }
    }

    /// Sets the AS issuer.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
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

    /// Sets the AS's supported authentication methods.
    pub fn auth_methods_supported(mut self, methods: Vec<String>) -> Self {
        self.auth_methods_supported = Some(methods);
        self
    }
}

/// An access token for an MCP server.
#[derive(Clone)]
pub struct AccessToken {
    /// The token.
    pub access_token: SecretString,
    /// `Bearer`.
    pub token_type: String,
    /// `expires_in` seconds, if sent.
    pub expires_in: Option<u64>,
    /// Expiry (Unix seconds), from `expires_in` at receipt.
    pub expires_at: Option<i64>,
    /// Granted scope (the `scope` member, else what was requested).
    pub scope: Option<String>,
    /// Granted resources, if the AS sent a `resource` member.
    pub resource: Option<Vec<String>>,
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("access_token", &self.access_token)
            .field("token_type", &self.token_type)
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .field("resource", &self.resource)
            .finish()
    }
}

/// The result of an OIDC `refresh_token` grant at the IdP.
#[derive(Clone, Debug)]
pub struct IdTokenRefresh {
    /// The new ID token.
    pub id_token: SecretString,
    /// The rotated refresh token, when the IdP rotated it (keep it; the old one may be dead).
    pub refresh_token: Option<SecretString>,
    /// `expires_in` of the accompanying access token, if any.
    pub expires_in: Option<u64>,
}

/// `expires_in` as a number (integer or float) or a numeric string (seen in the wild).
#[derive(Deserialize)]
#[serde(untagged)]
enum Lenient {
    Int(u64),
    Float(f64),
    Str(String),
}

fn lenient_expires_in(v: Option<Lenient>, step: Step) -> Result<Option<u64>> {
    let bad = || {
        Error::new(
            ErrorKind::ResponseInvalid,
            step,
            "token response has an invalid `expires_in`",
        )
    };
    const TEN_YEARS: u64 = 10 * 365 * 24 * 3600;
    let n = match v {
        None => return Ok(None),
        Some(Lenient::Int(n)) => n,
        Some(Lenient::Float(f)) if f.is_finite() && f >= 0.0 => f as u64,
        Some(Lenient::Float(_)) => return Err(bad()),
        Some(Lenient::Str(s)) => s.trim().parse::<u64>().map_err(|_| bad())?,
    };
    if n > TEN_YEARS {
        return Err(bad());
    }
    Ok(Some(n))
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

#[derive(Deserialize)]
struct RawTokenResponse {
    #[serde(default)]
    access_token: Option<SecretString>,
    #[serde(default)]
    issued_token_type: Option<String>,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<Lenient>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    resource: Option<OneOrMany>,
    #[serde(default)]
    id_token: Option<SecretString>,
    #[serde(default)]
    refresh_token: Option<SecretString>,
}

/// Validates a returned `resource` member (ED-05 §4.3.4 / §4.4.2, SPEC §2.D item 8, §2.F
/// item 9): non-empty, no duplicates, each one we asked for.
fn check_returned_resource(
    returned: Option<OneOrMany>,
    requested: Option<&str>,
    step: Step,
) -> Result<Option<Vec<String>>> {
    let Some(r) = returned else { return Ok(None) };
    let values = r.into_vec();
    let mut seen = std::collections::HashSet::new();
    let ok = !values.is_empty()
        && values.iter().all(|v| seen.insert(v.as_str()))
        && values.iter().all(|v| match requested {
            Some(req) => crate::discovery::resource_matches(v, req, Default::default()),
            None => true,
        });
    if !ok {
        return Err(Error::new(
            ErrorKind::ResourceMismatch,
            step,
            "the server returned a `resource` that was not requested; the token is discarded",
        ));
    }
    Ok(Some(values))
}

/// Where and how a token request is sent.
struct TokenPost<'a> {
    step: Step,
    token_endpoint: &'a str,
    issuer: Option<&'a str>,
    client: &'a ClientCredentials,
    auth_methods_supported: Option<&'a [String]>,
    /// Secret values in the request, scrubbed from any error text.
    secrets: &'a [&'a str],
}

fn serialize_form(form: &[(&'static str, String)], step: Step) -> Result<String> {
    serde_urlencoded::to_string(form)
        .map_err(|_| Error::internal(step, "could not encode the request form"))
}

impl Client {
    fn token_post(
        &self,
        post: TokenPost<'_>,
        mut form: Vec<(&'static str, String)>,
    ) -> Result<RawTokenResponse> {
        let TokenPost {
            step,
            token_endpoint,
            issuer,
            client,
            auth_methods_supported,
            secrets,
        } = post;
        check_url(token_endpoint, step)?;
        let method: AuthMethod = client.choose_method(auth_methods_supported, step)?;
        let mut headers = Vec::new();
        client.apply(
            method,
            &AuthTarget {
                issuer,
                token_endpoint,
                clock: self.inner.clock.as_ref(),
                step,
            },
            &mut form,
            &mut headers,
        )?;
        let body = zeroize::Zeroizing::new(serialize_form(&form, step)?);
        for (_, v) in form.iter_mut() {
            zeroize::Zeroize::zeroize(v);
        }
        let mut all_secrets: Vec<&str> = secrets.to_vec();
        all_secrets.extend(client.secret_values());
        let resp = self
            .post_form(step, token_endpoint, body.to_string(), headers)
            .map_err(|e| e.scrub(&all_secrets))?;
        if !(200..300).contains(&resp.status) {
            return Err(status_error(step, &resp, token_endpoint).scrub(&all_secrets));
        }
        parse_json_body::<RawTokenResponse>(step, &resp, "token")
    }

    /// Leg 1: exchanges the subject token for an ID-JAG (RFC 8693; SPEC §2.C, §2.D).
    pub fn request_id_jag(&self, req: &IdJagRequest) -> Result<IdJag> {
        let step = Step::IdpExchange;
        if req.subject_token.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                step,
                "the subject token is empty",
            ));
        }
        if req.audience.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                step,
                "the audience is empty",
            ));
        }
        let mut form: Vec<(&'static str, String)> = vec![
            ("grant_type", urn::GRANT_TOKEN_EXCHANGE.to_string()),
            ("requested_token_type", urn::TOKEN_TYPE_ID_JAG.to_string()),
            ("audience", req.audience.clone()),
        ];
        if let Some(r) = &req.resource {
            form.push(("resource", r.clone()));
        }
        if let Some(s) = req.scope.as_ref().filter(|s| !s.trim().is_empty()) {
            form.push(("scope", s.clone()));
        }
        form.push((
            "subject_token",
            req.subject_token.expose_secret().to_string(),
        ));
        form.push((
            "subject_token_type",
            req.subject_token_type.urn().to_string(),
        ));
        let now = self.inner.clock.now_secs();
        let raw = self.token_post(
            TokenPost {
                step,
                token_endpoint: &req.token_endpoint,
                issuer: req.idp_issuer.as_deref(),
                client: &req.client,
                auth_methods_supported: req.auth_methods_supported.as_deref(),
                secrets: &[req.subject_token.expose_secret()],
            },
            form,
        )?;
        match raw.issued_token_type.as_deref() {
            Some(t) if t == urn::TOKEN_TYPE_ID_JAG => {}
            Some(_) => {
                return Err(Error::new(
                    ErrorKind::ResponseInvalid,
                    step,
                    "the IdP issued a token whose `issued_token_type` is not the id-jag URN",
                ))
            }
            None => {
                return Err(Error::new(
                    ErrorKind::ResponseInvalid,
                    step,
                    "token exchange response has no `issued_token_type` (RFC 8693 §2.2.1)",
                ))
            }
        }
        if let Some(tt) = &raw.token_type {
            if !tt.eq_ignore_ascii_case("N_A") {
                return Err(Error::new(
                    ErrorKind::ResponseInvalid,
                    step,
                    "token exchange response has a `token_type` other than `N_A`; an ID-JAG is not a bearer token",
                ));
            }
        }
        let assertion = raw.access_token.filter(|t| !t.is_empty()).ok_or_else(|| {
            Error::new(
                ErrorKind::ResponseInvalid,
                step,
                "token exchange response has no `access_token` (the ID-JAG)",
            )
        })?;
        let expires_in = lenient_expires_in(raw.expires_in, step)?;
        let expires_at = expires_in
            .map(|s| now + s as i64)
            .or_else(|| crate::jwt::unverified_exp(assertion.expose_secret()));
        let resource = check_returned_resource(raw.resource, req.resource.as_deref(), step)?;
        // A `refresh_token` here SHOULD NOT occur (SPEC §2.D item 7); it is ignored and dropped.
        Ok(IdJag {
            assertion,
            issued_token_type: urn::TOKEN_TYPE_ID_JAG.to_string(),
            token_type: raw.token_type,
            expires_in,
            expires_at,
            scope: raw.scope.or_else(|| req.scope.clone()),
            resource,
        })
    }

    /// Leg 2: redeems an ID-JAG for an access token (RFC 7523; SPEC §2.F). Redirects are
    /// never followed; a `refresh_token` in the response is dropped (the session re-exchanges
    /// instead, SPEC §2.F item 10).
    pub fn redeem_id_jag(&self, req: &RedeemRequest) -> Result<AccessToken> {
        let step = Step::AsGrant;
        if req.assertion.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidArgument,
                step,
                "the assertion is empty",
            ));
        }
        let mut form: Vec<(&'static str, String)> = vec![
            ("grant_type", urn::GRANT_JWT_BEARER.to_string()),
            ("assertion", req.assertion.expose_secret().to_string()),
        ];
        if let Some(s) = req.scope.as_ref().filter(|s| !s.trim().is_empty()) {
            form.push(("scope", s.clone()));
        }
        if let Some(r) = &req.resource {
            form.push(("resource", r.clone()));
        }
        let now = self.inner.clock.now_secs();
        let raw = self.token_post(
            TokenPost {
                step,
                token_endpoint: &req.token_endpoint,
                issuer: req.issuer.as_deref(),
                client: &req.client,
                auth_methods_supported: req.auth_methods_supported.as_deref(),
                secrets: &[req.assertion.expose_secret()],
            },
            form,
        )?;
        let access_token = raw.access_token.filter(|t| !t.is_empty()).ok_or_else(|| {
            Error::new(
                ErrorKind::ResponseInvalid,
                step,
                "token response has no `access_token`",
            )
        })?;
        let token_type = match raw.token_type {
            Some(t) if t.eq_ignore_ascii_case("bearer") => "Bearer".to_string(),
            Some(t) if t.eq_ignore_ascii_case("dpop") => {
                return Err(Error::new(
                    ErrorKind::NotSupported,
                    step,
                    "the authorization server issued a DPoP-bound token, which this client does not support",
                ))
            }
            Some(_) => {
                return Err(Error::new(
                    ErrorKind::ResponseInvalid,
                    step,
                    "token response has an unknown `token_type`",
                ))
            }
            None => {
                return Err(Error::new(
                    ErrorKind::ResponseInvalid,
                    step,
                    "token response has no `token_type` (RFC 6749 §5.1)",
                ))
            }
        };
        let expires_in = lenient_expires_in(raw.expires_in, step)?;
        let resource = check_returned_resource(raw.resource, req.resource.as_deref(), step)?;
        Ok(AccessToken {
            access_token,
            token_type,
            expires_in,
            expires_at: expires_in.map(|s| now + s as i64),
            scope: raw.scope.or_else(|| req.scope.clone()),
            resource,
        })
    }

    /// Renews the user's ID token with an IdP refresh token (OIDC Core §12; SPEC §2.J item 4).
    pub fn refresh_id_token(
        &self,
        token_endpoint: &str,
        idp_issuer: Option<&str>,
        refresh_token: &SecretString,
        client: &ClientCredentials,
        auth_methods_supported: Option<&[String]>,
    ) -> Result<IdTokenRefresh> {
        let step = Step::IdpRefresh;
        let form = vec![
            ("grant_type", "refresh_token".to_string()),
            ("refresh_token", refresh_token.expose_secret().to_string()),
        ];
        let raw = self.token_post(
            TokenPost {
                step,
                token_endpoint,
                issuer: idp_issuer,
                client,
                auth_methods_supported,
                secrets: &[refresh_token.expose_secret()],
            },
            form,
        )?;
        let id_token = raw.id_token.filter(|t| !t.is_empty()).ok_or_else(|| {
            Error::new(
                ErrorKind::ResponseInvalid,
                step,
                "refresh response has no `id_token` (was `openid` granted?)",
            )
        })?;
        Ok(IdTokenRefresh {
            id_token,
            refresh_token: raw.refresh_token.filter(|t| !t.is_empty()),
            expires_in: lenient_expires_in(raw.expires_in, step)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_in_is_lenient_but_bounded() {
        let p = |j: &str| {
            let v: Option<Lenient> = serde_json::from_str(j).expect("json");
            lenient_expires_in(v, Step::AsGrant)
        };
        assert_eq!(p("300").expect("n"), Some(300));
        assert_eq!(p("\"300\"").expect("s"), Some(300));
        assert_eq!(p("299.9").expect("f"), Some(299));
        assert_eq!(p("null").expect("null"), None);
        assert!(p("\"soon\"").is_err());
        assert!(p("-1").is_err());
        assert!(p("99999999999").is_err());
    }

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
    }

    #[test]
    fn access_token_debug_is_redacted() {
        let t = AccessToken {
            access_token: SecretString::new("planted-at"),
            token_type: "Bearer".into(),
            expires_in: Some(1),
            expires_at: Some(1),
            scope: None,
            resource: None,
        };
        assert!(!format!("{t:?}").contains("planted-at"));
        let j = IdJag {
            assertion: SecretString::new("planted-jag"),
            issued_token_type: String::new(),
            token_type: None,
            expires_in: None,
            expires_at: None,
            scope: None,
            resource: None,
        };
        assert!(!format!("{j:?}").contains("planted-jag"));
        let r = IdTokenRefresh {
            id_token: SecretString::new("planted-idt"),
            refresh_token: Some(SecretString::new("planted-rt")),
            expires_in: None,
        };
        let shown = format!("{r:?}");
        assert!(!shown.contains("planted-idt") && !shown.contains("planted-rt"));
        let req = IdJagRequest::new(
            "https://idp/token",
            "https://as",
            "planted-subject",
            SubjectTokenType::IdToken,
            ClientCredentials::new("c").with_secret("planted-secret"),
        );
        let shown = format!("{req:?}");
        assert!(!shown.contains("planted-subject") && !shown.contains("planted-secret"));
        let rr = RedeemRequest::new(
            "https://as/token",
            "planted-assertion",
            ClientCredentials::new("c"),
        );
        assert!(!format!("{rr:?}").contains("planted-assertion"));
    }
}
