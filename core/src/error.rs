//! One error type for every operation, with stable codes shared by all languages.
//!
//! An [`Error`] carries:
//! - a [`ErrorKind`] whose [`code`](ErrorKind::code) (snake_case) and
//!   [`number`](ErrorKind::number) are public API, never renamed, renumbered or reused,
//! - the protocol [`Step`] that failed,
//! - the [`Action`] the caller should take,
//! - for OAuth error responses (RFC 6749 §5.2), the server's `error`, `error_description`,
//!   `error_uri` (the code as an [`OAuthErrorCode`]) and the HTTP status.
//!
//! `Display`, `Debug` and the JSON view (`Serialize`, [`Error::to_json`]) are safe to log:
//! messages are written by idjag and never contain a token, secret, assertion or a 2xx
//! response body. Server-supplied strings (an `error_description`, a non-2xx body snippet) are
//! scrubbed of every secret the failed request carried, in every encoding idjag searches for,
//! and only then bounded to 256 bytes, with control characters replaced.

use std::fmt;

/// Declares [`ErrorKind`] from one table: variant, stable number, stable code. The numbers
/// are public API (the C ABI and the CLI exit codes derive from them): new kinds are appended
/// with the next number; a number or code is never changed, reordered or reused (a retired
/// kind stays in the table as a comment).
macro_rules! error_kinds {
    ($( $(#[$doc:meta])* $variant:ident = $number:literal, $code:literal; )*) => {
        /// The category of an error. Stable across releases and languages via
        /// [`ErrorKind::code`] and [`ErrorKind::number`].
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorKind {
            $( $(#[$doc])* $variant, )*
        }

        impl ErrorKind {
            /// Every kind, in table order (ascending [`ErrorKind::number`]). Bindings compare
            /// their lists with this one.
            pub const ALL: &'static [ErrorKind] = &[$(ErrorKind::$variant),*];

            /// The stable snake_case code shared by Rust, C, Python, Node and the CLI.
            pub const fn code(self) -> &'static str {
                match self {
                    $(ErrorKind::$variant => $code,)*
                }
            }

            /// The stable number of this kind (1, 2, …): never changed or reused. The C ABI
            /// returns it; the CLI exits with `9 + number`.
            pub const fn number(self) -> u32 {
                match self {
                    $(ErrorKind::$variant => $number,)*
                }
            }
        }
    };
}

error_kinds! {
    /// A caller-supplied argument is malformed (bad URL, empty token, unknown enum value…).
    InvalidArgument = 1, "invalid_argument";
    /// The configuration is invalid or contradictory (unknown key, missing credential…).
    Configuration = 2, "configuration";
    /// The request could not be sent or the response not received (DNS, connect, TLS, I/O).
    Transport = 3, "transport";
    /// A connect, read or total timeout elapsed.
    Timeout = 4, "timeout";
    /// A non-2xx HTTP response without a parseable OAuth error body.
    HttpStatus = 5, "http_status";
    /// The server answered with an RFC 6749 §5.2 OAuth error (`invalid_grant`, …).
    OauthError = 6, "oauth_error";
    /// A response could not be used: wrong content type, malformed JSON, missing or
    /// invalid members, wrong `issued_token_type`, …
    ResponseInvalid = 7, "response_invalid";
    /// A response body exceeded the configured size cap.
    ResponseTooLarge = 8, "response_too_large";
    /// A URL is not `https` (and not a loopback address), or otherwise unsafe to contact.
    InsecureUrl = 9, "insecure_url";
    /// A redirect was refused (token endpoints never redirect; metadata redirects are
    /// limited to a few same-origin hops).
    RedirectRefused = 10, "redirect_refused";
    /// A metadata document's `issuer` is not exactly the issuer used to fetch it.
    IssuerMismatch = 11, "issuer_mismatch";
    /// A protected-resource metadata `resource` does not match the MCP server URL, or a
    /// returned `resource` is not one we asked for.
    ResourceMismatch = 12, "resource_mismatch";
    /// The server does not support enterprise-managed authorization (no ID-JAG profile,
    /// no jwt-bearer grant, no usable client authentication method).
    NotSupported = 13, "not_supported";
    /// The user's identity assertion is expired or rejected and cannot be renewed:
    /// the host application must sign the user in again.
    ReauthenticationRequired = 14, "reauthentication_required";
    /// An ID-JAG failed verification (see the verifier's reason code).
    VerificationFailed = 15, "verification_failed";
    /// A bug in idjag or an unexpected internal state. Please report it.
    Internal = 16, "internal";
}

impl ErrorKind {
    /// Parses a code produced by [`ErrorKind::code`].
    pub fn from_code(code: &str) -> Option<ErrorKind> {
        ErrorKind::ALL.iter().copied().find(|k| k.code() == code)
    }

    /// The kind with this [`ErrorKind::number`], if any.
    pub fn from_number(number: u32) -> Option<ErrorKind> {
        ErrorKind::ALL
            .iter()
            .copied()
            .find(|k| k.number() == number)
    }
}

impl serde::Serialize for ErrorKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
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

impl serde::Serialize for Step {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
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

impl serde::Serialize for Action {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Declares [`OAuthErrorCode`] from one table: variant, wire string, source.
macro_rules! oauth_error_codes {
    ($( $(#[$doc:meta])* $variant:ident => $wire:literal; )*) => {
        /// An OAuth `error` code (RFC 6749 §5.2 and its extensions), matched as a value instead
        /// of compared as a string. Serialized and deserialized as the wire string; a code
        /// idjag does not know is kept verbatim in [`OAuthErrorCode::Extension`].
        ///
        /// [`OAuthErrorCode::parse`] (and deserialization) never put a registered code into
        /// `Extension`; equality and hashing compare the wire strings, so a hand-built
        /// `Extension("invalid_grant")` still equals [`OAuthErrorCode::InvalidGrant`].
        #[derive(Clone, Debug)]
        #[non_exhaustive]
        pub enum OAuthErrorCode {
            $( $(#[$doc])* $variant, )*
            /// Any other code, as sent by the server (sanitised and bounded when it came from
            /// a server).
            Extension(String),
        }

        impl OAuthErrorCode {
            /// Every registered code idjag knows (everything but `Extension`).
            pub const KNOWN: &'static [OAuthErrorCode] = &[$(OAuthErrorCode::$variant),*];

            /// The wire string (`invalid_grant`, …).
            pub fn as_str(&self) -> &str {
                match self {
                    $(OAuthErrorCode::$variant => $wire,)*
                    OAuthErrorCode::Extension(s) => s,
                }
            }

            /// The code for a wire string: a registered variant, else `Extension`. Exact,
            /// case-sensitive match (RFC 6749 §5.2 codes are case-sensitive ASCII).
            pub fn parse(s: &str) -> OAuthErrorCode {
                match s {
                    $($wire => OAuthErrorCode::$variant,)*
                    other => OAuthErrorCode::Extension(other.to_string()),
                }
            }
        }
    };
}

oauth_error_codes! {
    /// `invalid_request`: malformed request, missing parameter (RFC 6749 §5.2). RFC 8693
    /// also uses it for an unacceptable subject token.
    InvalidRequest => "invalid_request";
    /// `invalid_client`: client authentication failed (RFC 6749 §5.2).
    InvalidClient => "invalid_client";
    /// `invalid_grant`: the grant (subject token, refresh token, ID-JAG) is invalid, expired,
    /// revoked or replayed (RFC 6749 §5.2, RFC 7523 §3.1).
    InvalidGrant => "invalid_grant";
    /// `unauthorized_client`: the client may not use this grant type (RFC 6749 §5.2).
    UnauthorizedClient => "unauthorized_client";
    /// `unsupported_grant_type` (RFC 6749 §5.2).
    UnsupportedGrantType => "unsupported_grant_type";
    /// `invalid_scope` (RFC 6749 §5.2).
    InvalidScope => "invalid_scope";
    /// `access_denied`: refused by policy (RFC 6749 §4.1.2.1; the ID-JAG `access_denied`
    /// profile at the IdP and the AS).
    AccessDenied => "access_denied";
    /// `server_error` (RFC 6749 §4.1.2.1).
    ServerError => "server_error";
    /// `temporarily_unavailable` (RFC 6749 §4.1.2.1).
    TemporarilyUnavailable => "temporarily_unavailable";
    /// `invalid_target`: the audience or resource is unknown or refused (RFC 8693 §2.2.2,
    /// RFC 8707 §2).
    InvalidTarget => "invalid_target";
    /// `invalid_token`: the access token is missing, invalid or expired (RFC 6750 §3.1).
    InvalidToken => "invalid_token";
    /// `insufficient_scope`: the access token lacks scope (RFC 6750 §3.1).
    InsufficientScope => "insufficient_scope";
    /// `insufficient_user_authentication`: the authentication is too weak or too old
    /// (RFC 9470 §3).
    InsufficientUserAuthentication => "insufficient_user_authentication";
    /// `use_dpop_nonce`: the server requires a DPoP nonce (RFC 9449 §8).
    UseDpopNonce => "use_dpop_nonce";
    /// `invalid_dpop_proof` (RFC 9449 §5, §7.1).
    InvalidDpopProof => "invalid_dpop_proof";
    /// `slow_down`: poll less often (RFC 8628 §3.5).
    SlowDown => "slow_down";
    /// `login_required`: the user must sign in again (OIDC Core §3.1.2.6).
    LoginRequired => "login_required";
    /// `interaction_required`: the user must interact with the IdP (OIDC Core §3.1.2.6).
    InteractionRequired => "interaction_required";
}

impl PartialEq for OAuthErrorCode {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for OAuthErrorCode {}

impl std::hash::Hash for OAuthErrorCode {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl fmt::Display for OAuthErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for OAuthErrorCode {
    fn from(s: &str) -> Self {
        OAuthErrorCode::parse(s)
    }
}

impl serde::Serialize for OAuthErrorCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for OAuthErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        Ok(OAuthErrorCode::parse(&s))
    }
}

/// An RFC 6749 §5.2 error response body. Unknown `error` values are kept verbatim as
/// [`OAuthErrorCode::Extension`].
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OAuthErrorResponse {
    /// The `error` code (`invalid_grant`, `invalid_client`, …, or any extension value).
    pub error: OAuthErrorCode,
    /// Optional human-readable description (secrets scrubbed, then bounded to 256 bytes).
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

    /// An OAuth error response (RFC 6749 §5.2). The action and the message are derived from
    /// the `error` code and the step (see `docs/GUIDE.md` §4, "OAuth errors").
    pub fn oauth(step: Step, status: u16, body: OAuthErrorResponse) -> Self {
        Error::oauth_answer(step, status, body, &RequestFacts::default())
    }

    /// [`Error::oauth`] for a response to a request idjag built: `facts` sharpen the message
    /// (an `invalid_scope` reads differently with and without a `scope` sent).
    pub(crate) fn oauth_answer(
        step: Step,
        status: u16,
        body: OAuthErrorResponse,
        facts: &RequestFacts<'_>,
    ) -> Self {
        let action = oauth_action(step, &body.error, status);
        let message = oauth_message(step, &body.error, facts);
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

    /// Removes every secret known to `scrubber` (in every encoding it searches for) from the
    /// text kept in this error, server-supplied or not (defence against servers that echo
    /// what they were sent).
    pub(crate) fn scrub(mut self, scrubber: &crate::scrub::Scrubber) -> Self {
        if scrubber.is_empty() {
            return self;
        }
        self.message = scrubber.clean(&self.message, usize::MAX);
        if let Some(o) = self.oauth.as_mut() {
            if let OAuthErrorCode::Extension(code) = &o.error {
                o.error = OAuthErrorCode::parse(&scrubber.clean(code, MAX_SERVER_TEXT));
            }
            for text in [o.error_description.as_mut(), o.error_uri.as_mut()]
                .into_iter()
                .flatten()
            {
                *text = scrubber.clean(text, MAX_SERVER_TEXT);
            }
        }
        self
    }
}

/// A JSON view of an [`Error`] (the shape every binding and the CLI print): `code`, `number`,
/// `step`, `action`, `message`, `status`, `oauth_error`, `error_description`, `error_uri`,
/// `reason`; absent values are `null`. Contains no secret (nor does the error).
impl serde::Serialize for Error {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let o = self.oauth.as_deref();
        let mut st = serializer.serialize_struct("Error", 10)?;
        st.serialize_field("code", self.kind.code())?;
        st.serialize_field("number", &self.kind.number())?;
        st.serialize_field("step", self.step.code())?;
        st.serialize_field("action", self.action.code())?;
        st.serialize_field("message", &self.message)?;
        st.serialize_field("status", &self.status)?;
        st.serialize_field("oauth_error", &o.map(|o| o.error.as_str()))?;
        st.serialize_field(
            "error_description",
            &o.and_then(|o| o.error_description.as_deref()),
        )?;
        st.serialize_field("error_uri", &o.and_then(|o| o.error_uri.as_deref()))?;
        st.serialize_field("reason", &self.reason)?;
        st.end()
    }
}

impl Error {
    /// [`Error`]'s JSON view as a string (see its `Serialize` impl).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| {
            format!(
                r#"{{"code":"{}","number":{}}}"#,
                self.code(),
                self.kind.number()
            )
        })
    }
}

/// Truncates server-supplied text to [`MAX_SERVER_TEXT`] bytes on a char boundary and removes
/// control characters (so it cannot forge log lines).
pub(crate) fn sanitize_server_text(text: &str) -> String {
    crate::scrub::Scrubber::default().clean(text, MAX_SERVER_TEXT)
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

/// What idjag knows about the request an OAuth error answered.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RequestFacts<'a> {
    /// Whether the request carried a `scope` (`None`: unknown).
    pub(crate) scope_sent: Option<bool>,
    /// The issuer of the server asked, when known.
    pub(crate) issuer: Option<&'a str>,
}

/// Maps an OAuth `error` code to the caller's action:
///
/// - `access_denied` (an administrator or a policy said no) → `denied`, at every step: never
///   retried, never a reason to try another grant;
/// - `invalid_target` (this client may not have this audience/resource) → `reconfigure`,
///   whatever the status;
/// - `insufficient_user_authentication`, `login_required`, `interaction_required`, and an
///   `invalid_grant` from the IdP (the subject or refresh token is rejected) → `reauthenticate`;
/// - `invalid_grant` from the authorization server (this ID-JAG is unusable) → `retry` with a
///   fresh ID-JAG (a `Session` does so once by itself);
/// - `temporarily_unavailable`, `server_error`, `slow_down`, any code with a 5xx → `retry`;
/// - everything else → `reconfigure`.
fn oauth_action(step: Step, error: &OAuthErrorCode, status: u16) -> Action {
    use OAuthErrorCode as C;
    let at_idp = matches!(step, Step::IdpExchange | Step::IdpRefresh);
    match error {
        C::AccessDenied => Action::Denied,
        C::InvalidTarget => Action::Reconfigure,
        C::TemporarilyUnavailable | C::ServerError | C::SlowDown => Action::Retry,
        C::InsufficientUserAuthentication | C::LoginRequired | C::InteractionRequired => {
            Action::Reauthenticate
        }
        // SPEC §5 Q3: at the IdP `invalid_grant` means "subject token rejected"
        // (`invalid_request` may too, but also a genuine request bug: reconfigure).
        C::InvalidGrant if at_idp => Action::Reauthenticate,
        C::InvalidRequest if at_idp => Action::Reconfigure,
        // At the AS an `invalid_grant` means this ID-JAG is unusable: a fresh one may succeed.
        C::InvalidGrant if step == Step::AsGrant => Action::Retry,
        _ if status >= 500 => Action::Retry,
        _ => Action::Reconfigure,
    }
}

/// idjag's message for an OAuth error: what the code means at this step and what to change.
/// Written by idjag only (the server's own text is in `error_description`).
fn oauth_message(step: Step, error: &OAuthErrorCode, facts: &RequestFacts<'_>) -> String {
    use OAuthErrorCode as C;
    let server = match step {
        Step::IdpExchange | Step::IdpRefresh => "the IdP",
        Step::AsGrant => "the authorization server",
        _ => "the server",
    };
    match (error, step) {
        (C::AccessDenied, _) => format!(
            "`access_denied`: {server}'s policy or an administrator refused this request; \
             retrying or another grant will not change that: ask an administrator"
        ),
        (C::InvalidTarget, Step::IdpExchange) => "`invalid_target`: the IdP does not allow \
             this client an ID-JAG for this audience (authorization server) or resource (MCP \
             server): an administrator must allow the pair, or the MCP server URL is wrong"
            .into(),
        (C::InvalidTarget, _) => format!(
            "`invalid_target`: {server} does not allow this client a token for this resource: \
             check the MCP server's resource identifier and the client's registration"
        ),
        (C::InsufficientUserAuthentication, _) => format!(
            "`insufficient_user_authentication`: {server} needs a stronger or more recent \
             sign-in: sign the user in again (step-up), then set the new subject token"
        ),
        (C::InvalidGrant, Step::IdpExchange) => "`invalid_grant`: the IdP rejected the \
             subject token (expired, revoked or not issued for this client): sign the user in \
             again"
            .into(),
        (C::InvalidGrant, Step::IdpRefresh) => "`invalid_grant`: the IdP rejected the refresh \
             token (expired or revoked): sign the user in again"
            .into(),
        (C::InvalidGrant, Step::AsGrant) => "`invalid_grant`: the authorization server \
             rejected the ID-JAG (expired, already used, or from an IdP it does not trust): a \
             fresh ID-JAG may succeed"
            .into(),
        (C::InvalidScope, Step::IdpExchange) if facts.scope_sent == Some(false) => {
            "`invalid_scope` at leg 1 (the token exchange at the IdP): the request carried no \
             `scope`, and some IdPs (Okta) require one: configure a scope, `scope` (every MCP \
             server) or `scopes` (per MCP server URL) in the session configuration, or pass \
             one to request_id_jag"
                .into()
        }
        (C::InvalidScope, Step::AsGrant) if facts.scope_sent == Some(true) => format!(
            "`invalid_scope` at leg 2 (the jwt-bearer grant at the authorization server): the \
             authorization server refused the requested scope; some (Okta custom authorization \
             servers) refuse any `scope` on a jwt-bearer request: set \
             `jwt_bearer_scope.{}` = \"omit\" in the session configuration",
            facts
                .issuer
                .map(sanitize_server_text)
                .unwrap_or_else(|| "<issuer>".into())
        ),
        (C::InvalidScope, _) => {
            format!("`invalid_scope`: {server} refused the scope of this request")
        }
        (C::InvalidClient, _) => {
            format!("`invalid_client`: {server} did not accept this client's credentials")
        }
        _ => format!("the server rejected the request with `{error}`"),
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
        // Issue "What real IdPs and authorization servers do" §5: a definite answer keeps
        // its action whatever the status; `access_denied` is `denied` at every step.
        assert_eq!(e(Step::AsGrant, "invalid_target", 500), Action::Reconfigure);
        assert_eq!(
            e(Step::IdpExchange, "invalid_target", 503),
            Action::Reconfigure
        );
        assert_eq!(e(Step::AsGrant, "access_denied", 403), Action::Denied);
        assert_eq!(e(Step::AsGrant, "access_denied", 500), Action::Denied);
        assert_eq!(e(Step::IdpRefresh, "access_denied", 400), Action::Denied);
        assert_eq!(
            e(Step::AsGrant, "insufficient_user_authentication", 401),
            Action::Reauthenticate
        );
        assert_eq!(
            e(Step::IdpRefresh, "invalid_grant", 400),
            Action::Reauthenticate
        );
        assert_eq!(e(Step::AsGrant, "invalid_scope", 400), Action::Reconfigure);
    }

    /// §5 and the Okta scope rules: the message says what the code means at this step, and
    /// an `invalid_scope` reads differently with and without a `scope` on the request.
    #[test]
    fn oauth_messages_follow_step_and_request() {
        let msg = |step, code: &str, scope_sent, issuer| {
            Error::oauth_answer(
                step,
                400,
                OAuthErrorResponse {
                    error: code.into(),
                    error_description: None,
                    error_uri: None,
                },
                &RequestFacts { scope_sent, issuer },
            )
            .message()
            .to_string()
        };
        let no_scope = msg(Step::IdpExchange, "invalid_scope", Some(false), None);
        assert!(
            no_scope.contains("leg 1") && no_scope.contains("`scopes`"),
            "{no_scope}"
        );
        for m in [
            msg(Step::IdpExchange, "invalid_scope", Some(true), None),
            msg(Step::IdpExchange, "invalid_scope", None, None),
        ] {
            assert_eq!(
                m,
                "`invalid_scope`: the IdP refused the scope of this request"
            );
        }
        let leg2 = msg(
            Step::AsGrant,
            "invalid_scope",
            Some(true),
            Some("https://as.example/"),
        );
        assert!(leg2.contains("leg 2"), "{leg2}");
        assert!(
            leg2.contains("`jwt_bearer_scope.https://as.example/` = \"omit\""),
            "{leg2}"
        );
        let unknown = msg(Step::AsGrant, "invalid_scope", Some(true), None);
        assert!(unknown.contains("`jwt_bearer_scope.<issuer>`"), "{unknown}");
        // A hostile issuer cannot forge lines in the message.
        let forged = msg(
            Step::AsGrant,
            "invalid_scope",
            Some(true),
            Some("https://a\nERROR x"),
        );
        assert!(!forged.contains('\n'), "{forged}");
        for m in [
            msg(Step::AsGrant, "invalid_scope", Some(false), None),
            msg(Step::AsGrant, "invalid_scope", None, None),
        ] {
            assert!(!m.contains("jwt_bearer_scope"), "{m}");
        }
        assert!(msg(Step::AsGrant, "access_denied", None, None).contains("will not change"));
        assert!(msg(Step::IdpExchange, "invalid_target", None, None).contains("audience"));
        assert_eq!(
            msg(Step::AsGrant, "vendor_thing", None, None),
            "the server rejected the request with `vendor_thing`"
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
        .scrub(&crate::scrub::Scrubber::new(["eyJsecretvalue"]));
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

    /// B7: the whole number table, pinned. A change here is a breaking change of the C ABI and
    /// the CLI exit codes: append new kinds with the next number, never renumber or reuse.
    #[test]
    fn error_numbers_never_change() {
        let table: Vec<(u32, &str)> = ErrorKind::ALL
            .iter()
            .map(|k| (k.number(), k.code()))
            .collect();
        assert_eq!(
            table,
            [
                (1, "invalid_argument"),
                (2, "configuration"),
                (3, "transport"),
                (4, "timeout"),
                (5, "http_status"),
                (6, "oauth_error"),
                (7, "response_invalid"),
                (8, "response_too_large"),
                (9, "insecure_url"),
                (10, "redirect_refused"),
                (11, "issuer_mismatch"),
                (12, "resource_mismatch"),
                (13, "not_supported"),
                (14, "reauthentication_required"),
                (15, "verification_failed"),
                (16, "internal"),
            ]
        );
        for k in ErrorKind::ALL {
            assert_eq!(ErrorKind::from_number(k.number()), Some(*k));
        }
        assert_eq!(ErrorKind::from_number(0), None);
        assert_eq!(ErrorKind::from_number(17), None);
    }

    /// A1: codes are values; unknown ones are kept; the wire form is the string.
    #[test]
    fn oauth_error_codes_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for c in OAuthErrorCode::KNOWN {
            assert!(seen.insert(c.as_str()), "duplicate {c}");
            assert_eq!(&OAuthErrorCode::parse(c.as_str()), c);
            assert!(!matches!(
                OAuthErrorCode::parse(c.as_str()),
                OAuthErrorCode::Extension(_)
            ));
            let json = serde_json::to_string(c).expect("json");
            assert_eq!(json, format!("\"{}\"", c.as_str()));
            let back: OAuthErrorCode = serde_json::from_str(&json).expect("back");
            assert_eq!(&back, c);
        }
        for wire in [
            "invalid_request",
            "invalid_client",
            "invalid_grant",
            "unauthorized_client",
            "unsupported_grant_type",
            "invalid_scope",
            "access_denied",
            "server_error",
            "temporarily_unavailable",
            "invalid_target",
            "invalid_token",
            "insufficient_scope",
            "insufficient_user_authentication",
            "use_dpop_nonce",
        ] {
            assert!(
                OAuthErrorCode::KNOWN.iter().any(|c| c.as_str() == wire),
                "{wire}"
            );
        }
        let x = OAuthErrorCode::parse("vendor_thing");
        assert_eq!(x, OAuthErrorCode::Extension("vendor_thing".into()));
        assert_eq!(
            OAuthErrorCode::parse("Invalid_Grant").as_str(),
            "Invalid_Grant"
        );
        assert_ne!(
            OAuthErrorCode::parse("Invalid_Grant"),
            OAuthErrorCode::InvalidGrant
        );
        // A hand-built extension holding a registered code still compares equal.
        assert_eq!(
            OAuthErrorCode::Extension("invalid_grant".into()),
            OAuthErrorCode::InvalidGrant
        );
        let body: OAuthErrorResponse =
            serde_json::from_str(r#"{"error":"invalid_target","error_description":"d"}"#)
                .expect("body");
        assert_eq!(body.error, OAuthErrorCode::InvalidTarget);
    }

    /// B6: the JSON view has every documented key, `null` when absent.
    #[test]
    fn error_json_view() {
        let e = Error::oauth(
            Step::AsGrant,
            400,
            OAuthErrorResponse {
                error: OAuthErrorCode::InvalidGrant,
                error_description: Some("replayed".into()),
                error_uri: None,
            },
        );
        assert_eq!(
            serde_json::to_value(&e).expect("json"),
            serde_json::json!({
                "code": "oauth_error", "number": 6, "step": "as_grant", "action": "retry",
                "message": "`invalid_grant`: the authorization server rejected the ID-JAG \
                    (expired, already used, or from an IdP it does not trust): a fresh ID-JAG \
                    may succeed",
                "status": 400, "oauth_error": "invalid_grant", "error_description": "replayed",
                "error_uri": null, "reason": null
            })
        );
        let v: serde_json::Value =
            serde_json::from_str(&Error::invalid_argument("bad").with_reason("why").to_json())
                .expect("json");
        assert_eq!(v["code"], "invalid_argument");
        assert_eq!(v["number"], 1);
        assert_eq!(v["step"], "config");
        assert_eq!(v["status"], serde_json::Value::Null);
        assert_eq!(v["reason"], "why");
        assert_eq!(v.as_object().expect("object").len(), 10);
    }
}
