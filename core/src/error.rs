//! One error type for every operation, with stable codes shared by all languages.
//!
//! An [`Error`] carries:
//! - a [`ErrorKind`] whose [`code`](ErrorKind::code) is public API (snake_case, never renamed),
//! - the protocol [`Step`] that failed,
//! - the [`Action`] the caller should take,
//! - for OAuth error responses (RFC 6749 §5.2), the server's `error`, `error_description`,
//!   `error_uri` and the HTTP status.
//!
//! `Display` and `Debug` are safe to log: messages are written by idjag and never contain a
//! token, secret, assertion or a 2xx response body. Server-supplied strings (an
//! `error_description`, a non-2xx body snippet) are truncated to 256 bytes and scrubbed of
//! every secret the failed request carried.

use std::fmt;

/// The category of an error. Stable across releases and languages via [`ErrorKind::code`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A caller-supplied argument is malformed (bad URL, empty token, unknown enum value…).
    InvalidArgument,
    /// The configuration is invalid or contradictory (unknown key, missing credential…).
    Configuration,
    /// The request could not be sent or the response not received (DNS, connect, TLS, I/O).
    Transport,
    /// A connect, read or total timeout elapsed.
    Timeout,
    /// A non-2xx HTTP response without a parseable OAuth error body.
    HttpStatus,
    /// The server answered with an RFC 6749 §5.2 OAuth error (`invalid_grant`, …).
    OauthError,
    /// A response could not be used: wrong content type, malformed JSON, missing or
    /// invalid members, wrong `issued_token_type`, …
    ResponseInvalid,
    /// A response body exceeded the configured size cap.
    ResponseTooLarge,
    /// A URL is not `https` (and not a loopback address), or otherwise unsafe to contact.
    InsecureUrl,
    /// A redirect was refused (token endpoints never redirect; metadata redirects are
    /// limited to a few same-origin hops).
    RedirectRefused,
    /// A metadata document's `issuer` is not exactly the issuer used to fetch it.
    IssuerMismatch,
    /// A protected-resource metadata `resource` does not match the MCP server URL, or a
    /// returned `resource` is not one we asked for.
    ResourceMismatch,
    /// The server does not support enterprise-managed authorization (no ID-JAG profile,
    /// no jwt-bearer grant, no usable client authentication method).
    NotSupported,
    /// The user's identity assertion is expired or rejected and cannot be renewed:
    /// the host application must sign the user in again.
    ReauthenticationRequired,
    /// An ID-JAG failed verification (see the verifier's reason code).
    VerificationFailed,
    /// A bug in idjag or an unexpected internal state. Please report it.
    Internal,
}

impl ErrorKind {
    /// Every kind, in declaration order. Bindings compare their lists with this one.
    pub const ALL: &'static [ErrorKind] = &[
        ErrorKind::InvalidArgument,
        ErrorKind::Configuration,
        ErrorKind::Transport,
        ErrorKind::Timeout,
        ErrorKind::HttpStatus,
        ErrorKind::OauthError,
        ErrorKind::ResponseInvalid,
        ErrorKind::ResponseTooLarge,
        ErrorKind::InsecureUrl,
        ErrorKind::RedirectRefused,
        ErrorKind::IssuerMismatch,
        ErrorKind::ResourceMismatch,
        ErrorKind::NotSupported,
        ErrorKind::ReauthenticationRequired,
        ErrorKind::VerificationFailed,
        ErrorKind::Internal,
    ];

    /// The stable snake_case code shared by Rust, C, Python, Node and the CLI.
    pub const fn code(self) -> &'static str {
        match self {
            ErrorKind::InvalidArgument => "invalid_argument",
            ErrorKind::Configuration => "configuration",
            ErrorKind::Transport => "transport",
            ErrorKind::Timeout => "timeout",
            ErrorKind::HttpStatus => "http_status",
            ErrorKind::OauthError => "oauth_error",
            ErrorKind::ResponseInvalid => "response_invalid",
            ErrorKind::ResponseTooLarge => "response_too_large",
            ErrorKind::InsecureUrl => "insecure_url",
            ErrorKind::RedirectRefused => "redirect_refused",
            ErrorKind::IssuerMismatch => "issuer_mismatch",
            ErrorKind::ResourceMismatch => "resource_mismatch",
            ErrorKind::NotSupported => "not_supported",
            ErrorKind::ReauthenticationRequired => "reauthentication_required",
            ErrorKind::VerificationFailed => "verification_failed",
            ErrorKind::Internal => "internal",
        }
    }

    /// Parses a code produced by [`ErrorKind::code`].
    pub fn from_code(code: &str) -> Option<ErrorKind> {
        ErrorKind::ALL.iter().copied().find(|k| k.code() == code)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The protocol step that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Step {
    /// Reading or validating the configuration or arguments, before any I/O.
    Config,
    /// Protected-resource, authorization-server or IdP metadata discovery (RFC 9728 / 8414 / OIDC).
    Discovery,
    /// Leg 1: the RFC 8693 token exchange at the IdP (subject token → ID-JAG).
    IdpExchange,
    /// Renewing the ID token with the IdP refresh token (OIDC `refresh_token` grant).
    IdpRefresh,
    /// Leg 2: the RFC 7523 jwt-bearer grant at the MCP authorization server.
    AsGrant,
    /// A call to the MCP server (resource) itself, e.g. the unauthenticated probe.
    Resource,
    /// Verifying a presented ID-JAG (authorization-server side).
    Verify,
    /// Raw HTTP transport, outside any protocol step.
    Transport,
}

impl Step {
    /// Every step, in declaration order.
    pub const ALL: &'static [Step] = &[
        Step::Config,
        Step::Discovery,
        Step::IdpExchange,
        Step::IdpRefresh,
        Step::AsGrant,
        Step::Resource,
        Step::Verify,
        Step::Transport,
    ];

    /// Stable snake_case name.
    pub const fn code(self) -> &'static str {
        match self {
            Step::Config => "config",
            Step::Discovery => "discovery",
            Step::IdpExchange => "idp_exchange",
            Step::IdpRefresh => "idp_refresh",
            Step::AsGrant => "as_grant",
            Step::Resource => "resource",
            Step::Verify => "verify",
            Step::Transport => "transport",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// What the caller should do about an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Action {
    /// Sign the user in again at the IdP (the identity assertion is unusable).
    Reauthenticate,
    /// Fix the configuration or registration (credentials, URLs, trust, policy setup).
    Reconfigure,
    /// A transient condition: retry later (with backoff).
    Retry,
    /// Denied by policy: surface to the user or an administrator; retrying will not help.
    Denied,
}

impl Action {
    /// Every action, in declaration order.
    pub const ALL: &'static [Action] = &[
        Action::Reauthenticate,
        Action::Reconfigure,
        Action::Retry,
        Action::Denied,
    ];

    /// Stable snake_case name.
    pub const fn code(self) -> &'static str {
        match self {
            Action::Reauthenticate => "reauthenticate",
            Action::Reconfigure => "reconfigure",
            Action::Retry => "retry",
            Action::Denied => "denied",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An RFC 6749 §5.2 error response body. Unknown `error` values are kept verbatim.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OAuthErrorResponse {
    /// The `error` code (`invalid_grant`, `invalid_client`, …, or any extension value).
    pub error: String,
    /// Optional human-readable description (truncated to 256 bytes, secrets scrubbed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
    /// Optional URI of a page describing the error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_uri: Option<String>,
}

/// Maximum length of any server-supplied text kept in an error.
pub const MAX_SERVER_TEXT: usize = 256;

type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The error type of every fallible idjag operation.
pub struct Error {
    kind: ErrorKind,
    step: Step,
    action: Action,
    message: String,
    status: Option<u16>,
    oauth: Option<Box<OAuthErrorResponse>>,
    reason: Option<&'static str>,
    source: Option<Source>,
}

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error. `message` must not contain secrets (it is written by idjag, never copied
    /// from a request).
    pub fn new(kind: ErrorKind, step: Step, message: impl Into<String>) -> Self {
        Error {
            kind,
            step,
            action: default_action(kind),
            message: message.into(),
            status: None,
            oauth: None,
            reason: None,
            source: None,
        }
    }

    /// An [`ErrorKind::InvalidArgument`] error at [`Step::Config`].
    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidArgument, Step::Config, message)
    }

    /// An [`ErrorKind::Configuration`] error at [`Step::Config`].
    pub fn configuration(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Configuration, Step::Config, message)
    }

    /// An [`ErrorKind::Internal`] error.
    pub fn internal(step: Step, message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Internal, step, message)
    }

    /// An OAuth error response (RFC 6749 §5.2). The action is derived from the `error` code
    /// and the step.
    pub fn oauth(step: Step, status: u16, body: OAuthErrorResponse) -> Self {
        let action = oauth_action(step, &body.error, status);
        let message = format!("the server rejected the request with `{}`", body.error);
        let mut e = Error::new(ErrorKind::OauthError, step, message);
        e.action = action;
        e.status = Some(status);
        e.oauth = Some(Box::new(body));
        e
    }

    /// Overrides the suggested action.
    pub fn with_action(mut self, action: Action) -> Self {
        self.action = action;
        self
    }

    /// Overrides the step.
    pub fn with_step(mut self, step: Step) -> Self {
        self.step = step;
        self
    }

    /// Attaches the HTTP status of the response that caused the error.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// Attaches an OAuth error body without changing the kind.
    pub fn with_oauth_body(mut self, body: OAuthErrorResponse) -> Self {
        self.oauth = Some(Box::new(body));
        self
    }

    /// Attaches a stable machine-readable reason (e.g. a verifier rejection reason).
    pub fn with_reason(mut self, reason: &'static str) -> Self {
        self.reason = Some(reason);
        self
    }

    /// Attaches an underlying cause. The cause's `Display` must be free of secrets.
    pub fn with_source(mut self, source: impl Into<Source>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// The error category.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The stable code of [`Error::kind`].
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    /// The protocol step that failed.
    pub fn step(&self) -> Step {
        self.step
    }

    /// What the caller should do.
    pub fn action(&self) -> Action {
        self.action
    }

    /// idjag's own description, without the step prefix.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The HTTP status of the response that caused the error, if any.
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    /// The parsed OAuth error body, for [`ErrorKind::OauthError`].
    pub fn oauth_error(&self) -> Option<&OAuthErrorResponse> {
        self.oauth.as_deref()
    }

    /// A finer machine-readable reason, when one exists (verifier rejections use it).
    pub fn reason(&self) -> Option<&'static str> {
        self.reason
    }

    /// Removes every occurrence of the given secret values from server-supplied text kept in
    /// this error (defence against servers that echo what they were sent).
    pub(crate) fn scrub(mut self, secrets: &[&str]) -> Self {
        let clean = |s: &mut String| {
            for secret in secrets {
                if secret.len() >= 4 && s.contains(secret) {
                    *s = s.replace(secret, "[redacted]");
                }
            }
        };
        clean(&mut self.message);
        if let Some(o) = self.oauth.as_mut() {
            clean(&mut o.error);
            if let Some(d) = o.error_description.as_mut() {
                clean(d);
            }
            if let Some(u) = o.error_uri.as_mut() {
                clean(u);
            }
        }
        self
    }
}

/// Truncates server-supplied text to [`MAX_SERVER_TEXT`] bytes on a char boundary and removes
/// control characters (so it cannot forge log lines).
pub(crate) fn sanitize_server_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_SERVER_TEXT + 3));
    for c in text.chars() {
        if out.len() + c.len_utf8() > MAX_SERVER_TEXT {
            out.push('…');
            break;
        }
        out.push(if c.is_control() { ' ' } else { c });
    }
    out
}

fn default_action(kind: ErrorKind) -> Action {
    match kind {
        ErrorKind::Transport | ErrorKind::Timeout | ErrorKind::Internal => Action::Retry,
        ErrorKind::ReauthenticationRequired => Action::Reauthenticate,
        ErrorKind::InvalidArgument
        | ErrorKind::Configuration
        | ErrorKind::HttpStatus
        | ErrorKind::OauthError
        | ErrorKind::ResponseInvalid
        | ErrorKind::ResponseTooLarge
        | ErrorKind::InsecureUrl
        | ErrorKind::RedirectRefused
        | ErrorKind::IssuerMismatch
        | ErrorKind::ResourceMismatch
        | ErrorKind::NotSupported
        | ErrorKind::VerificationFailed => Action::Reconfigure,
    }
}

/// Maps an OAuth `error` code to the caller's action (SPEC §2.D item 9, §2.F item 11, §2.I).
fn oauth_action(step: Step, error: &str, status: u16) -> Action {
    match error {
        "temporarily_unavailable" | "server_error" | "slow_down" => Action::Retry,
        "access_denied" => Action::Denied,
        "insufficient_user_authentication" | "login_required" | "interaction_required" => {
            Action::Reauthenticate
        }
        // SPEC §5 Q3: at the IdP both codes mean "subject token rejected".
        "invalid_grant" | "invalid_request"
            if matches!(step, Step::IdpExchange | Step::IdpRefresh) =>
        {
            if error == "invalid_grant" {
                Action::Reauthenticate
            } else {
                Action::Reconfigure
            }
        }
        // At the AS an `invalid_grant` means this ID-JAG is unusable: a fresh one may succeed.
        "invalid_grant" if step == Step::AsGrant => Action::Retry,
        _ if status >= 500 => Action::Retry,
        _ => Action::Reconfigure,
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.step, self.message)?;
        if let Some(o) = &self.oauth {
            if let Some(d) = &o.error_description {
                write!(f, " ({d})")?;
            }
        }
        if let Some(s) = self.status {
            write!(f, " [HTTP {s}]")?;
        }
        if let Some(src) = &self.source {
            write!(f, ": {src}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind.code())
            .field("step", &self.step.code())
            .field("action", &self.action.code())
            .field("message", &self.message);
        if let Some(s) = self.status {
            d.field("status", &s);
        }
        if let Some(o) = &self.oauth {
            d.field("oauth", o);
        }
        if let Some(r) = self.reason {
            d.field("reason", &r);
        }
        if let Some(s) = &self.source {
            d.field("source", &s.to_string());
        }
        d.finish()
    }
}

/// A cause reduced to its message, used when an error is cloned (e.g. shared by the waiters of
/// a single-flight exchange).
#[derive(Debug)]
struct SourceText(String);

impl fmt::Display for SourceText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SourceText {}

impl Clone for Error {
    fn clone(&self) -> Self {
        Error {
            kind: self.kind,
            step: self.step,
            action: self.action,
            message: self.message.clone(),
            status: self.status,
            oauth: self.oauth.clone(),
            reason: self.reason,
            source: self
                .source
                .as_ref()
                .map(|s| Box::new(SourceText(s.to_string())) as Source),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for k in ErrorKind::ALL {
            assert!(seen.insert(k.code()), "duplicate code {}", k.code());
            assert_eq!(ErrorKind::from_code(k.code()), Some(*k));
            assert!(k.code().chars().all(|c| c.is_ascii_lowercase() || c == '_'));
        }
        assert_eq!(ErrorKind::from_code("nope"), None);
    }

    #[test]
    fn oauth_actions_follow_the_spec() {
        let e = |step, code: &str, status| {
            Error::oauth(
                step,
                status,
                OAuthErrorResponse {
                    error: code.into(),
                    error_description: None,
                    error_uri: None,
                },
            )
            .action()
        };
        assert_eq!(
            e(Step::IdpExchange, "invalid_grant", 400),
            Action::Reauthenticate
        );
        assert_eq!(
            e(Step::IdpExchange, "invalid_target", 400),
            Action::Reconfigure
        );
        assert_eq!(e(Step::IdpExchange, "access_denied", 400), Action::Denied);
        assert_eq!(e(Step::AsGrant, "invalid_grant", 400), Action::Retry);
        assert_eq!(e(Step::AsGrant, "invalid_client", 401), Action::Reconfigure);
        assert_eq!(e(Step::AsGrant, "vendor_specific", 503), Action::Retry);
        assert_eq!(
            e(Step::IdpExchange, "insufficient_user_authentication", 400),
            Action::Reauthenticate
        );
    }

    #[test]
    fn scrub_removes_echoed_secrets() {
        let err = Error::oauth(
            Step::IdpExchange,
            400,
            OAuthErrorResponse {
                error: "invalid_grant".into(),
                error_description: Some("token eyJsecretvalue is bad".into()),
                error_uri: None,
            },
        )
        .scrub(&["eyJsecretvalue"]);
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("eyJsecretvalue"));
        assert!(shown.contains("[redacted]"));
    }

    #[test]
    fn server_text_is_bounded_and_has_no_control_chars() {
        let long = "é\n".repeat(400);
        let s = sanitize_server_text(&long);
        assert!(s.len() <= MAX_SERVER_TEXT + '…'.len_utf8());
        assert!(!s.contains('\n'));
    }
}
