//! The token endpoint's answer (RFC 6749 §5.2) for a failed verification, including the
//! step-up answer (RFC 9470 §3 members in the JSON body, as in the ID-JAG draft's "Step-Up
//! Authentication" section).

use super::reason::RejectReason;
use crate::error::{Error, ErrorKind, OAuthErrorResponse};
use serde::Serialize;
use std::fmt;

/// The `error_description` sent with every `invalid_grant` produced from a rejection.
pub const INVALID_GRANT_DESCRIPTION: &str = "the assertion is not valid";

/// The `error_description` sent with every `invalid_scope` produced from a rejection.
pub const INVALID_SCOPE_DESCRIPTION: &str = "the requested scope cannot be granted";

/// The `error_description` sent with every `insufficient_user_authentication` produced
/// from a rejection.
pub const INSUFFICIENT_USER_AUTHENTICATION_DESCRIPTION: &str =
    "the user's authentication does not meet this server's requirements";

/// What a new authentication must meet, attached (as the error's source) to an
/// `acr_not_accepted` / `auth_time_too_old` rejection. Configuration values only, never
/// anything from the assertion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StepUpChallenge {
    /// Accepted `acr` values, space-separated in order of preference (RFC 9470 §3).
    pub(crate) acr_values: Option<String>,
    /// Longest accepted authentication age in seconds (RFC 9470 §3).
    pub(crate) max_age: Option<u64>,
}

impl fmt::Display for StepUpChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the user must authenticate again at the IdP")?;
        match (&self.acr_values, self.max_age) {
            (Some(a), Some(m)) => write!(f, " (acr_values `{a}`, max_age {m} s)"),
            (Some(a), None) => write!(f, " (acr_values `{a}`)"),
            (None, Some(m)) => write!(f, " (max_age {m} s)"),
            (None, None) => Ok(()),
        }
    }
}

impl std::error::Error for StepUpChallenge {}

impl StepUpChallenge {
    fn of(err: &Error) -> Option<&StepUpChallenge> {
        std::error::Error::source(err).and_then(|s| s.downcast_ref::<StepUpChallenge>())
    }
}

/// The answer a token endpoint should send for a failed verification.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenErrorResponse {
    /// HTTP status (400 for rejections, 503 when keys or the replay store are unavailable,
    /// 500 otherwise).
    pub status: u16,
    /// The RFC 6749 §5.2 members of the JSON body.
    pub body: OAuthErrorResponse,
    /// For `insufficient_user_authentication`: the `acr` values a new authentication must
    /// satisfy (one of them), space-separated in order of preference — RFC 9470 §3
    /// `acr_values`, sent as a body member. `None` otherwise.
    pub acr_values: Option<String>,
    /// For `insufficient_user_authentication`: the longest accepted time in seconds since
    /// the user's last active authentication — RFC 9470 §3 `max_age`, sent as a body member
    /// (a JSON number). `None` otherwise.
    pub max_age: Option<u64>,
}

#[derive(Serialize)]
struct WireBody<'a> {
    #[serde(flatten)]
    body: &'a OAuthErrorResponse,
    #[serde(skip_serializing_if = "Option::is_none")]
    acr_values: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_age: Option<u64>,
}

impl TokenErrorResponse {
    /// The whole JSON body, RFC 9470 members included (send with `Content-Type:
    /// application/json` and `Cache-Control: no-store`).
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.wire_body())
            .unwrap_or_else(|_| r#"{"error":"server_error"}"#.to_string())
    }

    /// The whole JSON body as a [`serde_json::Value`] (what [`to_json`](Self::to_json)
    /// prints).
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self.wire_body())
            .unwrap_or_else(|_| serde_json::json!({"error": "server_error"}))
    }

    fn wire_body(&self) -> WireBody<'_> {
        WireBody {
            body: &self.body,
            acr_values: self.acr_values.as_deref(),
            max_age: self.max_age,
        }
    }
}

/// Maps a [`IdJagVerifier::verify`](super::IdJagVerifier::verify) error to the token
/// endpoint's answer. Generic on the wire, so an attacker learns nothing about which check
/// failed (log [`Error::reason`] and the message instead):
///
/// - [`RejectReason::ScopeNotGranted`] → `400 {"error":"invalid_scope","error_description":
///   "the requested scope cannot be granted"}` (RFC 6749 §5.2: the requested scope is
///   invalid or exceeds what was granted);
/// - [`RejectReason::AcrNotAccepted`] and [`RejectReason::AuthTimeTooOld`] →
///   `400 {"error":"insufficient_user_authentication","error_description":"the user's
///   authentication does not meet this server's requirements","acr_values":"…",
///   "max_age":…}`: the ID-JAG draft's step-up answer (§ Step-Up Authentication, after
///   RFC 9470 §3), with the configured requirement the new authentication must meet —
///   `acr_values` when `acr` values are required, `max_age` when an authentication age is
///   (both when both are, whichever failed, so one re-authentication satisfies them). They
///   describe this server's policy, nothing about the assertion;
/// - every other rejection → `400 {"error":"invalid_grant","error_description":"the
///   assertion is not valid"}`, whatever its reason;
/// - key-fetch and replay-store failures → `503 temporarily_unavailable`;
/// - anything else → `500 server_error`.
pub fn token_error_response(err: &Error) -> TokenErrorResponse {
    let mut challenge = None;
    let (status, error, description) = match err.kind() {
        ErrorKind::VerificationFailed => match RejectReason::of(err) {
            Some(RejectReason::ScopeNotGranted) => {
                (400, "invalid_scope", INVALID_SCOPE_DESCRIPTION)
            }
            Some(r) if r.is_step_up() => {
                challenge = StepUpChallenge::of(err);
                (
                    400,
                    "insufficient_user_authentication",
                    INSUFFICIENT_USER_AUTHENTICATION_DESCRIPTION,
                )
            }
            _ => (400, "invalid_grant", INVALID_GRANT_DESCRIPTION),
        },
        ErrorKind::Transport
        | ErrorKind::Timeout
        | ErrorKind::HttpStatus
        | ErrorKind::ResponseInvalid
        | ErrorKind::ResponseTooLarge
        | ErrorKind::RedirectRefused
        | ErrorKind::IssuerMismatch
        | ErrorKind::NotSupported
        | ErrorKind::InsecureUrl => (
            503,
            "temporarily_unavailable",
            "the assertion cannot be verified right now; try again later",
        ),
        _ => (500, "server_error", "internal error"),
    };
    TokenErrorResponse {
        status,
        body: OAuthErrorResponse {
            error: crate::error::OAuthErrorCode::from(error),
            error_description: Some(description.to_string()),
            error_uri: None,
        },
        acr_values: challenge.and_then(|c| c.acr_values.clone()),
        max_age: challenge.and_then(|c| c.max_age),
    }
}

/// [`token_error_response`] for an error that crossed a language boundary as its parts —
/// the error code, its [`RejectReason`], and for a step-up rejection the requirement the
/// original answer carried (`acr_values`, `max_age`) — as the bindings get it back from
/// their exception objects. The requirement is kept only for the step-up reasons
/// (`acr_not_accepted`, `auth_time_too_old`); an empty `acr_values` counts as none.
pub fn token_error_response_from_parts(
    kind: ErrorKind,
    reason: Option<RejectReason>,
    acr_values: Option<&str>,
    max_age: Option<u64>,
) -> TokenErrorResponse {
    let mut err = Error::new(kind, crate::error::Step::Verify, "");
    if let Some(r) = reason {
        err = err.with_reason(r.code());
    }
    let mut r = token_error_response(&err);
    if kind == ErrorKind::VerificationFailed && reason.is_some_and(RejectReason::is_step_up) {
        r.acr_values = acr_values.filter(|a| !a.is_empty()).map(str::to_string);
        r.max_age = max_age;
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_parts_is_the_same_answer_and_keeps_the_requirement_only_for_step_up() {
        let step_up = token_error_response_from_parts(
            ErrorKind::VerificationFailed,
            Some(RejectReason::AcrNotAccepted),
            Some("phrh mfa"),
            Some(300),
        );
        assert_eq!(step_up.status, 400);
        assert_eq!(
            step_up.to_value(),
            serde_json::json!({
                "error": "insufficient_user_authentication",
                "error_description": INSUFFICIENT_USER_AUTHENTICATION_DESCRIPTION,
                "acr_values": "phrh mfa",
                "max_age": 300,
            })
        );
        let replayed = token_error_response_from_parts(
            ErrorKind::VerificationFailed,
            Some(RejectReason::Replayed),
            Some("x"),
            Some(1),
        );
        assert_eq!(
            replayed.to_value(),
            serde_json::json!({"error": "invalid_grant", "error_description": INVALID_GRANT_DESCRIPTION})
        );
        let empty = token_error_response_from_parts(
            ErrorKind::VerificationFailed,
            Some(RejectReason::AuthTimeTooOld),
            Some(""),
            Some(0),
        );
        assert_eq!((empty.acr_values, empty.max_age), (None, Some(0)));
        assert_eq!(
            token_error_response_from_parts(ErrorKind::Transport, None, None, None).status,
            503
        );
    }
    use crate::error::Step;
    use crate::verify::reason::Rejection;

    #[test]
    fn wire_answers_are_generic() {
        let e =
            Rejection::new(RejectReason::AudienceMismatch, "aud was `https://evil`").into_error();
        let r = token_error_response(&e);
        assert_eq!(r.status, 400);
        assert_eq!(
            r.to_json(),
            r#"{"error":"invalid_grant","error_description":"the assertion is not valid"}"#
        );
        let t = Error::new(ErrorKind::Transport, Step::Verify, "connect refused");
        let r = token_error_response(&t);
        assert_eq!(
            (r.status, r.body.error.as_str()),
            (503, "temporarily_unavailable")
        );
        let i = Error::internal(Step::Verify, "x");
        assert_eq!(token_error_response(&i).status, 500);
    }

    #[test]
    fn scope_rejections_are_invalid_scope_and_generic() {
        let e = Rejection::new(
            RejectReason::ScopeNotGranted,
            "requested `mcp:admin`, grantable `mcp:read`",
        )
        .into_error();
        let r = token_error_response(&e);
        assert_eq!(r.status, 400);
        assert_eq!(
            r.to_json(),
            r#"{"error":"invalid_scope","error_description":"the requested scope cannot be granted"}"#
        );
        // Every other reason keeps its own mapping.
        for reason in RejectReason::ALL {
            let r = token_error_response(&Rejection::from(*reason).into_error());
            assert_eq!(r.body.error.as_str(), reason.oauth_error(), "{reason}");
            assert_eq!((&r.acr_values, r.max_age), (&None, None), "{reason}");
        }
    }

    #[test]
    fn step_up_answers_carry_the_requirement() {
        let e = Rejection::step_up(
            RejectReason::AcrNotAccepted,
            "acr `pwd` is not accepted",
            StepUpChallenge {
                acr_values: Some("phrh mfa".into()),
                max_age: Some(300),
            },
        )
        .into_error();
        assert_eq!(e.action(), crate::error::Action::Reauthenticate);
        assert!(e.to_string().contains("acr_values `phrh mfa`"), "{e}");
        let r = token_error_response(&e);
        assert_eq!(r.status, 400);
        assert_eq!(
            r.to_json(),
            r#"{"error":"insufficient_user_authentication","error_description":"the user's authentication does not meet this server's requirements","acr_values":"phrh mfa","max_age":300}"#
        );
        assert_eq!(r.to_value()["max_age"], 300);
        let e = Rejection::step_up(
            RejectReason::AuthTimeTooOld,
            "authenticated 900 s ago",
            StepUpChallenge {
                acr_values: None,
                max_age: Some(0),
            },
        )
        .into_error();
        let r = token_error_response(&e);
        assert_eq!(
            r.to_json(),
            r#"{"error":"insufficient_user_authentication","error_description":"the user's authentication does not meet this server's requirements","max_age":0}"#
        );
        // Without the challenge (e.g. an error rebuilt from its code by a binding) the
        // answer is still insufficient_user_authentication, without members.
        let bare = Error::new(ErrorKind::VerificationFailed, Step::Verify, "")
            .with_reason(RejectReason::AuthTimeTooOld.code());
        let r = token_error_response(&bare);
        assert_eq!(r.body.error.as_str(), "insufficient_user_authentication");
        assert_eq!((r.acr_values, r.max_age), (None, None));
    }
}
