//! Token-endpoint responses: the results of leg 1 ([`IdJag`]), leg 2 ([`AccessToken`]) and the
//! ID-token refresh ([`IdTokenRefresh`]), and the pure parsing that turns an
//! [`HttpResponse`] into one of them or into a typed [`Error`].
//!
//! Order (STYLE §4 item 12): redirect → status (non-2xx: RFC 6749 §5.2 body, else
//! `http_status`) → content type (JSON, or `text/plain`) → one UTF-8 BOM skipped → non-empty
//! body → shape (field paths, never values) → per-leg checks: the token's characters (an
//! access token is an RFC 6750 `b64token`, an ID-JAG a compact JWS/JWE, so neither can break
//! the header or form it goes into), `token_type`, `expires_in` (clamped to
//! [`MAX_TOKEN_LIFETIME_SECS`]), `resource`. Text from an error response is scrubbed of every secret the request carried
//! before it is bounded (see [`PreparedRequest`](crate::exchange::PreparedRequest)).
//!
//! The result types serialize (`serde::Serialize`) to non-secret JSON views: the token itself
//! is only reachable through its [`SecretString`] field.

use crate::client::loggable_url;
use crate::error::{Action, RequestFacts, MAX_SERVER_TEXT};
use crate::error::{Error, ErrorKind, OAuthErrorCode, OAuthErrorResponse, Result, Step};
use crate::http::HttpResponse;
use crate::scrub::Scrubber;
use crate::secret::SecretString;
use crate::urn;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Leg 1 output: the ID-JAG and what the IdP said about it.
///
/// Serializes to `{"issued_token_type", "token_type", "expires_in", "expires_at", "scope",
/// "resource"}` — never the assertion (read it with `assertion.expose_secret()`).
#[derive(Clone, Debug, Serialize)]
pub struct IdJag {
    /// The ID-JAG: a compact JWS or JWE (checked: base64url parts only, so it cannot break the
    /// request it goes into); otherwise treat it as opaque.
    #[serde(skip)]
    pub assertion: SecretString,
    /// `issued_token_type` (always the id-jag URN after validation).
    pub issued_token_type: String,
    /// `token_type` as sent (`N_A`), if any.
    pub token_type: Option<String>,
    /// `expires_in` seconds, if sent, at most [`MAX_TOKEN_LIFETIME_SECS`].
    pub expires_in: Option<u64>,
    /// Expiry (Unix seconds): from `expires_in` at receipt, else the JWT `exp` claim; at most
    /// [`MAX_TOKEN_LIFETIME_SECS`] after receipt.
    pub expires_at: Option<i64>,
    /// Granted scope (`scope` member, else the requested one).
    pub scope: Option<String>,
    /// Granted resources (ED-05 `resource` member), if the IdP sent one.
    pub resource: Option<Vec<String>>,
}

/// An access token for an MCP server.
///
/// Serializes to `{"token_type", "expires_in", "expires_at", "scope", "resource"}` — never
/// the token (read it with `access_token.expose_secret()`).
#[derive(Clone, Serialize)]
pub struct AccessToken {
    /// The token: an RFC 6750 §2.1 `b64token` (checked), safe after `Bearer ` in an
    /// `Authorization` header.
    #[serde(skip)]
    pub access_token: SecretString,
    /// `Bearer`.
    pub token_type: String,
    /// `expires_in` seconds, if sent, at most [`MAX_TOKEN_LIFETIME_SECS`].
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
///
/// Serializes to `{"expires_in", "refresh_token_rotated"}` — never a token.
#[derive(Clone, Debug)]
pub struct IdTokenRefresh {
    /// The new ID token.
    pub id_token: SecretString,
    /// The rotated refresh token, when the IdP rotated it (keep it; the old one may be dead).
    pub refresh_token: Option<SecretString>,
    /// `expires_in` of the accompanying access token, if any.
    pub expires_in: Option<u64>,
}

impl IdTokenRefresh {
    /// Whether the IdP sent a new refresh token.
    pub fn refresh_token_rotated(&self) -> bool {
        self.refresh_token.is_some()
    }
}

impl Serialize for IdTokenRefresh {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut st = serializer.serialize_struct("IdTokenRefresh", 2)?;
        st.serialize_field("expires_in", &self.expires_in)?;
        st.serialize_field("refresh_token_rotated", &self.refresh_token_rotated())?;
        st.end()
    }
}

/// The longest lifetime idjag keeps a token or an ID-JAG for, whatever the server says: one
/// day. A larger `expires_in` (or ID-JAG `exp`) is accepted and clamped to it, so the token is
/// renewed at the cap (the server may still revoke it earlier).
pub const MAX_TOKEN_LIFETIME_SECS: u64 = 24 * 3600;

/// `expires_in` as a number (integer or float) or a numeric string (seen in the wild).
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum Lenient {
    Int(u64),
    Float(f64),
    Str(String),
}

/// `expires_in`, clamped to [`MAX_TOKEN_LIFETIME_SECS`]. Negative, non-numeric or non-finite
/// values are refused; an absurdly large one (10^12, 1e300, 40 digits) is clamped.
pub(crate) fn lenient_expires_in(v: Option<Lenient>, step: Step) -> Result<Option<u64>> {
    let bad = || {
        Error::new(
            ErrorKind::ResponseInvalid,
            step,
            "token response has an invalid `expires_in` (not a non-negative number)",
        )
    };
    let seconds = |f: f64| (f.is_finite() && f >= 0.0).then_some(f as u64);
    let n = match v {
        None => return Ok(None),
        Some(Lenient::Int(n)) => n,
        Some(Lenient::Float(f)) => seconds(f).ok_or_else(bad)?,
        Some(Lenient::Str(s)) => {
            let s = s.trim();
            if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
                s.parse::<u64>().unwrap_or(u64::MAX)
            } else {
                s.parse::<f64>().ok().and_then(seconds).ok_or_else(bad)?
            }
        }
    };
    Ok(Some(n.min(MAX_TOKEN_LIFETIME_SECS)))
}

/// `now` + `seconds`, at most [`MAX_TOKEN_LIFETIME_SECS`] from `now`.
fn expiry(now: i64, seconds: u64) -> i64 {
    now.saturating_add(seconds.min(MAX_TOKEN_LIFETIME_SECS) as i64)
}

#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum OneOrMany {
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
pub(crate) struct RawTokenResponse {
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

/// Validates a returned `resource` member (draft-ietf-oauth-identity-assertion-authz-grant
/// §4.3.4 / §4.4.2): non-empty, no duplicates, each one we asked for.
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

/// The body without one leading UTF-8 byte order mark. RFC 8259 §8.1: senders MUST NOT add
/// one, parsers MAY ignore it; both peer SDKs' JSON parsers (the Fetch API's `json()`,
/// Python's `json.loads` on bytes) skip it, so idjag does too.
fn without_bom(body: &[u8]) -> &[u8] {
    body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body)
}

/// Whether a 2xx token response may be read as JSON by its content type: `application/json`,
/// `application/*+json`, or `text/plain` (some servers label their JSON so, and both peer
/// SDKs read it); parameters (`charset`) are ignored, the body must be UTF-8 JSON anyway.
/// Anything else (`text/html` login pages, form encoding, no content type) is refused.
fn token_content_type_ok(ct: Option<&str>) -> bool {
    let Some(ct) = ct else { return false };
    let essence = ct.split(';').next().unwrap_or("").trim();
    let is = |t: &str| essence.eq_ignore_ascii_case(t);
    let lower = essence.to_ascii_lowercase();
    is("application/json")
        || is("text/plain")
        || (lower.starts_with("application/") && lower.ends_with("+json"))
}

/// A 2xx token response body as `T` (STYLE §4 item 12: content type, non-empty body, then
/// the shape with field paths, never values).
fn token_json<T: serde::de::DeserializeOwned>(step: Step, resp: &HttpResponse) -> Result<T> {
    let ct = resp.header("content-type");
    if !token_content_type_ok(ct) {
        return Err(Error::new(
            ErrorKind::ResponseInvalid,
            step,
            format!(
                "token response is not JSON (content type `{}`)",
                sanitize(ct.unwrap_or("none"))
            ),
        )
        .with_status(resp.status));
    }
    let body = without_bom(&resp.body);
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(Error::new(
            ErrorKind::ResponseInvalid,
            step,
            "token response body is empty",
        )
        .with_status(resp.status));
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let what_failed = match e.into_inner().classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                format!(
                    "is not valid JSON (content type `{}`)",
                    sanitize(ct.unwrap_or("none"))
                )
            }
            _ if path == "." => "has the wrong shape or misses a required member".to_string(),
            _ => format!("has an invalid or missing member `{path}`"),
        };
        Error::new(
            ErrorKind::ResponseInvalid,
            step,
            format!("token response {what_failed}"),
        )
        .with_status(resp.status)
    })
}

fn sanitize(text: &str) -> String {
    crate::error::sanitize_server_text(text)
}

/// What a token value may contain (checked before it is kept; the message names the field
/// and the kind of offending character, never the value).
#[derive(Clone, Copy)]
enum Charset {
    /// What may follow `Bearer ` in an `Authorization` header: see [`header_safe_token`].
    B64Token,
    /// A compact JWS (RFC 7515 §7.1: three base64url parts) or JWE (RFC 7516 §7.1: five), no
    /// padding, non-empty header.
    CompactJose,
}

/// Whether `token` can be sent after `Bearer ` in an `Authorization` header without changing
/// the header's meaning: RFC 6750 §2.1 `b64token` (`ALPHA / DIGIT / - . _ ~ + /`, trailing
/// `=`), widened to the other visible ASCII characters real authorization servers put in
/// tokens (Salesforce's contain `!`), but never whitespace, a control character, non-ASCII,
/// or `"`, `\` and `,` (which quote or split header values). Every language refuses other
/// tokens through this one rule.
pub fn header_safe_token(token: &str) -> bool {
    token_problem(token).is_none()
}

fn token_problem(value: &str) -> Option<String> {
    let body = value.trim_end_matches('=');
    if body.is_empty() {
        return Some("it is empty or only padding".into());
    }
    value
        .chars()
        .find(|&c| !c.is_ascii_graphic() || matches!(c, '"' | '\\' | ','))
        .map(|c| format!("it contains {}", char_class(c)))
}

/// The kind of character at fault, for the message.
fn char_class(c: char) -> &'static str {
    match c {
        '\r' | '\n' => "a line break",
        '\0' => "a NUL character",
        ' ' | '\t' => "whitespace",
        c if c.is_control() => "a control character",
        c if !c.is_ascii() => "a non-ASCII character",
        _ => "a character outside the allowed set",
    }
}

/// `Ok` when `value` fits `charset`; else why not (the kind of character, never the value).
fn charset_problem(value: &str, charset: Charset) -> Option<String> {
    match charset {
        Charset::B64Token => token_problem(value),
        Charset::CompactJose => {
            if let Some(c) = value
                .chars()
                .find(|&c| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
            {
                return Some(format!("it contains {}", char_class(c)));
            }
            let parts = value.split('.').count();
            if parts != 3 && parts != 5 {
                return Some(format!(
                    "it has {parts} dot-separated parts, not 3 (JWS) or 5 (JWE)"
                ));
            }
            value
                .starts_with('.')
                .then(|| "its protected header is empty".into())
        }
    }
}

/// Refuses a token whose characters could break the header or request it goes into
/// (SECURITY: header injection): `response_invalid`, naming the field, never the value.
fn check_charset(value: &SecretString, field: &str, charset: Charset, step: Step) -> Result<()> {
    let Some(problem) = charset_problem(value.expose_secret(), charset) else {
        return Ok(());
    };
    let rule = match charset {
        Charset::B64Token => "a header-safe token (RFC 6750 §2.1 `b64token` or visible ASCII without quotes, backslashes or commas)",
        Charset::CompactJose => "a compact JWS or JWE (RFC 7515 §7.1, RFC 7516 §7.1)",
    };
    Err(Error::new(
        ErrorKind::ResponseInvalid,
        step,
        format!("token response `{field}` is not {rule}: {problem}; the token is discarded"),
    ))
}

/// An RFC 6749 §5.2 body with its strings as sent (unbounded, not yet scrubbed).
fn raw_oauth_error(body: &[u8]) -> Option<(String, Option<String>, Option<String>)> {
    #[derive(Deserialize)]
    struct Raw {
        error: serde_json::Value,
        #[serde(default)]
        error_description: Option<serde_json::Value>,
        #[serde(default)]
        error_uri: Option<serde_json::Value>,
    }
    let raw: Raw = serde_json::from_slice(without_bom(body)).ok()?;
    let error = raw.error.as_str()?.to_string();
    if error.is_empty() {
        return None;
    }
    let text = |v: Option<serde_json::Value>| v.and_then(|v| v.as_str().map(str::to_string));
    Some((error, text(raw.error_description), text(raw.error_uri)))
}

/// The error for a non-2xx token-endpoint response: [`ErrorKind::OauthError`] for an RFC 6749
/// §5.2 body, else [`ErrorKind::HttpStatus`] with a snippet of the body. Every server string
/// is scrubbed of the request's secrets first, then bounded.
fn token_error(
    step: Step,
    resp: &HttpResponse,
    url: &str,
    scrubber: &Scrubber,
    facts: &RequestFacts<'_>,
) -> Error {
    if let Some((error, description, uri)) = raw_oauth_error(&resp.body) {
        let mut error = error;
        let body = OAuthErrorResponse {
            error: OAuthErrorCode::parse(&scrubber.clean(&error, MAX_SERVER_TEXT)),
            error_description: description.map(|d| {
                let mut d = d;
                let clean = scrubber.clean(&d, MAX_SERVER_TEXT);
                zeroize::Zeroize::zeroize(&mut d);
                clean
            }),
            error_uri: uri.map(|u| scrubber.clean(&u, MAX_SERVER_TEXT)),
        };
        zeroize::Zeroize::zeroize(&mut error);
        return Error::oauth_answer(step, resp.status, body, facts);
    }
    let mut text = String::from_utf8_lossy(&resp.body).into_owned();
    let snippet = scrubber.clean(text.trim(), MAX_SERVER_TEXT);
    zeroize::Zeroize::zeroize(&mut text);
    let mut msg = format!("{} answered HTTP {}", loggable_url(url), resp.status);
    if !snippet.is_empty() {
        msg.push_str(": ");
        msg.push_str(&snippet);
    }
    let mut e = Error::new(ErrorKind::HttpStatus, step, msg).with_status(resp.status);
    if resp.status >= 500 || resp.status == 429 {
        e = e.with_action(Action::Retry);
    }
    e
}

/// Status, redirect and content checks common to every token response. `facts` describe
/// the request (for the message of an OAuth error).
pub(crate) fn token_response(
    step: Step,
    resp: &HttpResponse,
    url: &str,
    scrubber: impl FnOnce() -> Scrubber,
    facts: &RequestFacts<'_>,
) -> Result<RawTokenResponse> {
    if (300..400).contains(&resp.status) {
        return Err(Error::new(
            ErrorKind::RedirectRefused,
            step,
            format!(
                "token endpoint {} answered with a redirect; token requests never follow redirects",
                loggable_url(url)
            ),
        )
        .with_status(resp.status));
    }
    if !(200..300).contains(&resp.status) {
        return Err(token_error(step, resp, url, &scrubber(), facts));
    }
    token_json::<RawTokenResponse>(step, resp)
}

/// Leg 1 checks. `now` is the time the request was prepared.
pub(crate) fn id_jag(
    raw: RawTokenResponse,
    requested_resource: Option<&str>,
    requested_scope: Option<&str>,
    now: i64,
) -> Result<IdJag> {
    let step = Step::IdpExchange;
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
    check_charset(&assertion, "access_token", Charset::CompactJose, step)?;
    let expires_in = lenient_expires_in(raw.expires_in, step)?;
    let expires_at = expires_in.map(|s| expiry(now, s)).or_else(|| {
        crate::jwt::unverified_exp(assertion.expose_secret())
            .map(|exp| exp.min(expiry(now, MAX_TOKEN_LIFETIME_SECS)))
    });
    let resource = check_returned_resource(raw.resource, requested_resource, step)?;
    // A `refresh_token` here SHOULD NOT occur (SPEC §2.D item 7); it is ignored and dropped.
    Ok(IdJag {
        assertion,
        issued_token_type: urn::TOKEN_TYPE_ID_JAG.to_string(),
        token_type: raw.token_type,
        expires_in,
        expires_at,
        scope: raw.scope.or_else(|| requested_scope.map(str::to_string)),
        resource,
    })
}

/// Leg 2 checks. A `refresh_token` in the response is dropped (the session
/// re-exchanges instead).
pub(crate) fn access_token(
    raw: RawTokenResponse,
    requested_resource: Option<&str>,
    requested_scope: Option<&str>,
    now: i64,
) -> Result<AccessToken> {
    let step = Step::AsGrant;
    let access_token = raw.access_token.filter(|t| !t.is_empty()).ok_or_else(|| {
        Error::new(
            ErrorKind::ResponseInvalid,
            step,
            "token response has no `access_token`",
        )
    })?;
    check_charset(&access_token, "access_token", Charset::B64Token, step)?;
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
    let resource = check_returned_resource(raw.resource, requested_resource, step)?;
    Ok(AccessToken {
        access_token,
        token_type,
        expires_in,
        expires_at: expires_in.map(|s| expiry(now, s)),
        scope: raw.scope.or_else(|| requested_scope.map(str::to_string)),
        resource,
    })
}

/// ID-token refresh checks (OIDC Core §12.2).
pub(crate) fn id_token_refresh(raw: RawTokenResponse) -> Result<IdTokenRefresh> {
    let step = Step::IdpRefresh;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue "What real IdPs and authorization servers do" §11: an absurd `expires_in` is
    /// clamped to the cap, not refused; nonsense is still refused.
    #[test]
    fn expires_in_is_lenient_and_clamped() {
        let p = |j: &str| {
            let v: Option<Lenient> = serde_json::from_str(j).expect("json");
            lenient_expires_in(v, Step::AsGrant)
        };
        let cap = Some(MAX_TOKEN_LIFETIME_SECS);
        assert_eq!(p("300").expect("n"), Some(300));
        assert_eq!(p("\"300\"").expect("s"), Some(300));
        assert_eq!(p("299.9").expect("f"), Some(299));
        assert_eq!(p("0").expect("zero"), Some(0));
        assert_eq!(p("null").expect("null"), None);
        assert_eq!(p("86400").expect("at the cap"), cap);
        assert_eq!(p("86401").expect("over the cap"), cap);
        for absurd in [
            "1000000000000",
            "99999999999",
            "18446744073709551615",
            "1000000000000000000000000000000000000000",
            "1e300",
            "\"1000000000000\"",
            "\"99999999999999999999999999999999\"",
            "\"1e12\"",
        ] {
            assert_eq!(p(absurd).expect(absurd), cap, "{absurd}");
        }
        for nonsense in [
            "\"soon\"", "-1", "-0.5", "\"-5\"", "\"\"", "\"inf\"", "\"NaN\"",
        ] {
            let e = p(nonsense).expect_err(nonsense);
            assert_eq!(e.kind(), ErrorKind::ResponseInvalid, "{nonsense}");
        }
        assert_eq!(expiry(i64::MAX - 5, u64::MAX), i64::MAX);
        assert_eq!(expiry(100, u64::MAX), 100 + 86_400);
    }

    /// §10: what goes into an `Authorization` header (leg 2) is a `b64token`; what goes to the
    /// AS as an assertion (leg 1) is a compact JWS/JWE. The message names the kind of
    /// character, never the value.
    #[test]
    fn token_charsets() {
        let b = |v: &str| charset_problem(v, Charset::B64Token);
        let j = |v: &str| charset_problem(v, Charset::CompactJose);
        for ok in [
            "a",
            "abc-._~+/",
            "eyJ.eyJ.sig",
            "YWJj==",
            "2YotnFZFEjr1zCsicMWpAA",
            // Visible ASCII real servers use (Salesforce's tokens contain `!`).
            "00D5g000004dJ3B!AQ8AQHgl.S7lp_xz",
            "a=b",
        ] {
            assert_eq!(b(ok), None, "{ok}");
        }
        for (bad, why) in [
            ("abc\r\nX-Injected: 1", "a line break"),
            ("abc\n", "a line break"),
            ("ab c", "whitespace"),
            ("ab\tc", "whitespace"),
            ("ab\0c", "a NUL character"),
            ("ab\u{7f}c", "a control character"),
            ("ab\u{85}c", "a control character"),
            ("abé", "a non-ASCII character"),
            ("a,b", "a character outside the allowed set"),
            ("a\"b", "a character outside the allowed set"),
            ("a\\b", "a character outside the allowed set"),
            ("==", "it is empty or only padding"),
        ] {
            let p = b(bad).unwrap_or_else(|| panic!("{bad:?} accepted"));
            assert!(p.contains(why), "{bad:?}: {p}");
        }
        for ok in [
            "eyJ.eyJ.sig",
            "eyJ.eyJ.",
            "eyJ..k.iv.tag",
            "eyJ.a.b.c.d",
            "a_b-c.d.e",
        ] {
            assert_eq!(j(ok), None, "{ok}");
        }
        for (bad, why) in [
            ("j", "1 dot-separated parts"),
            ("a.b", "2 dot-separated"),
            ("a.b.c.d", "4 dot-separated"),
            ("a.b.c.d.e.f", "6 dot-separated"),
            (".b.c", "protected header is empty"),
            ("eyJ.eyJ.sig\r\n", "a line break"),
            ("eyJ.ey J.sig", "whitespace"),
            ("eyJ.eyJ.sig=", "outside the allowed set"),
            ("eyJ.e+J.s/g", "outside the allowed set"),
            ("eyJ.eyJ.s\0g", "a NUL character"),
        ] {
            let p = j(bad).unwrap_or_else(|| panic!("{bad:?} accepted"));
            assert!(p.contains(why), "{bad:?}: {p}");
        }
        let e = check_charset(
            &SecretString::new("planted\r\nX-Evil: 1"),
            "access_token",
            Charset::B64Token,
            Step::AsGrant,
        )
        .expect_err("refused");
        assert_eq!(e.kind(), ErrorKind::ResponseInvalid);
        let shown = format!("{e} {e:?} {}", e.to_json());
        assert!(shown.contains("`access_token`"), "{shown}");
        assert!(
            !shown.contains("planted") && !shown.contains("X-Evil"),
            "{shown}"
        );
    }

    /// §13 (RFC 8259 §8.1): JSON labelled `text/plain` and a leading UTF-8 BOM are read;
    /// HTML, form encoding, no content type and UTF-16 are not.
    #[test]
    fn token_content_types_and_bom() {
        let resp = |ct: Option<&str>, body: &[u8]| HttpResponse {
            status: 200,
            headers: ct
                .map(|c| vec![("content-type".to_string(), c.to_string())])
                .unwrap_or_default(),
            body: body.to_vec(),
        };
        let json = br#"{"access_token":"a","token_type":"Bearer"}"#;
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(json);
        for (ct, body) in [
            (Some("application/json"), &json[..]),
            (Some("Application/JSON; charset=utf-8"), &json[..]),
            (Some("application/token+json"), &json[..]),
            (Some("text/plain"), &json[..]),
            (Some("TEXT/PLAIN;charset=UTF-8"), &json[..]),
            (Some("application/json"), &bom[..]),
            (Some("text/plain"), &bom[..]),
        ] {
            let r: RawTokenResponse = token_json(Step::AsGrant, &resp(ct, body))
                .unwrap_or_else(|e| panic!("{ct:?}: {e}"));
            assert_eq!(r.token_type.as_deref(), Some("Bearer"));
        }
        let mut utf16 = vec![0xFF, 0xFE];
        utf16.extend(json.iter().flat_map(|&b| [b, 0]));
        for (ct, body, says) in [
            (
                Some("text/html"),
                &json[..],
                "is not JSON (content type `text/html`)",
            ),
            (
                Some("application/x-www-form-urlencoded"),
                b"access_token=a&token_type=Bearer",
                "is not JSON",
            ),
            (None, &json[..], "is not JSON (content type `none`)"),
            (
                Some("text/plain"),
                b"access_token=a&token_type=Bearer",
                "is not valid JSON (content type `text/plain`)",
            ),
            (Some("text/plain"), b"\xEF\xBB\xBF", "body is empty"),
            (Some("application/json"), &utf16[..], "is not valid JSON"),
            (
                Some("application/json"),
                b"\xEF\xBB\xBF\xEF\xBB\xBF{}",
                "is not valid JSON",
            ),
        ] {
            let e = token_json::<RawTokenResponse>(Step::AsGrant, &resp(ct, body))
                .map(|_| ())
                .expect_err("refused");
            assert_eq!(e.kind(), ErrorKind::ResponseInvalid, "{ct:?}");
            assert!(e.message().contains(says), "{ct:?}: {e}");
        }
        // An error body with a BOM is still an RFC 6749 §5.2 body.
        let mut err = b"\xEF\xBB\xBF".to_vec();
        err.extend_from_slice(br#"{"error":"invalid_grant"}"#);
        assert_eq!(
            raw_oauth_error(&err).map(|e| e.0).as_deref(),
            Some("invalid_grant")
        );
    }

    #[test]
    fn results_debug_and_json_never_show_the_tokens() {
        let t = AccessToken {
            access_token: SecretString::new("planted-at"),
            token_type: "Bearer".into(),
            expires_in: Some(1),
            expires_at: Some(1),
            scope: None,
            resource: None,
        };
        let j = IdJag {
            assertion: SecretString::new("planted-jag"),
            issued_token_type: urn::TOKEN_TYPE_ID_JAG.into(),
            token_type: None,
            expires_in: None,
            expires_at: None,
            scope: Some("s".into()),
            resource: None,
        };
        let r = IdTokenRefresh {
            id_token: SecretString::new("planted-idt"),
            refresh_token: Some(SecretString::new("planted-rt")),
            expires_in: None,
        };
        let shown = format!(
            "{t:?} {j:?} {r:?} {} {} {}",
            serde_json::to_string(&t).expect("json"),
            serde_json::to_string(&j).expect("json"),
            serde_json::to_string(&r).expect("json")
        );
        for planted in ["planted-at", "planted-jag", "planted-idt", "planted-rt"] {
            assert!(!shown.contains(planted), "{planted}: {shown}");
        }
        assert_eq!(
            serde_json::to_value(&t).expect("json"),
            serde_json::json!({"token_type": "Bearer", "expires_in": 1, "expires_at": 1,
                "scope": null, "resource": null})
        );
        assert_eq!(
            serde_json::to_value(&j).expect("json"),
            serde_json::json!({"issued_token_type": urn::TOKEN_TYPE_ID_JAG, "token_type": null,
                "expires_in": null, "expires_at": null, "scope": "s", "resource": null})
        );
        assert_eq!(
            serde_json::to_value(&r).expect("json"),
            serde_json::json!({"expires_in": null, "refresh_token_rotated": true})
        );
    }
}
