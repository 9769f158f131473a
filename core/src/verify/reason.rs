//! Why an ID-JAG was rejected: the public [`RejectReason`] codes, and the crate-internal
//! [`Rejection`] (a reason with its log detail) every check returns.

use super::wire::StepUpChallenge;
use crate::error::{sanitize_server_text, Action, Error, ErrorKind, Step};
use std::borrow::Cow;
use std::fmt;

/// Why an ID-JAG was rejected. The [`code`](RejectReason::code)s are public API, shared by
/// every language binding, and never renamed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectReason {
    /// The assertion is longer than `max_assertion_bytes`.
    TooLarge,
    /// Not a compact JWS, bad base64url, not a JSON object, duplicate member names, or a
    /// claim of the wrong JSON type.
    Malformed,
    /// A JWE (five segments): encrypted ID-JAGs are not supported.
    EncryptedUnsupported,
    /// The JOSE `typ` is missing or not `oauth-id-jag+jwt`.
    InvalidTyp,
    /// The `alg` is `none`, unknown, or not allowed (for this issuer).
    UnsupportedAlg,
    /// The header has a `crit` parameter.
    CritUnsupported,
    /// The header carries a key or key reference (`jku`, `jwk`, `x5u`, `x5c`).
    HeaderKeyInjection,
    /// The `iss` is not a trusted IdP.
    UntrustedIssuer,
    /// No usable key for the `kid` / `alg` in the issuer's JWK Set.
    UnknownKey,
    /// The signature does not verify.
    BadSignature,
    /// The `aud` is not exactly this authorization server's issuer.
    AudienceMismatch,
    /// The `client_id` claim is not the authenticated client.
    ClientMismatch,
    /// A `resource` is not one of this authorization server's resources.
    ResourceMismatch,
    /// `exp` is in the past (beyond the skew).
    Expired,
    /// `nbf` is in the future (beyond the skew).
    NotYetValid,
    /// `iat` is older than `max_age_s`.
    TooOld,
    /// `exp - iat` exceeds `max_lifetime_s`.
    LifetimeTooLong,
    /// `iat` is in the future (beyond the skew).
    IssuedInFuture,
    /// The (`iss`, `jti`) pair was already used.
    Replayed,
    /// A required claim (`iss`, `aud`, `client_id`, `exp`, `iat`, `sub`, `jti`, or
    /// `resource` under the `reject` policy) is missing.
    MissingClaim,
    /// The requested scope cannot be granted: it is not a valid RFC 6749 §3.3 scope, it has
    /// nothing in common with the grantable scope, or there is no grantable scope at all (the
    /// ID-JAG has no `scope` claim and no `default_scope` is configured). The only reason
    /// answered `invalid_scope` on the wire.
    ScopeNotGranted,
    /// The user's authentication context does not meet the configured
    /// [`user_authentication`](super::VerifierConfig::user_authentication) requirement: the
    /// ID-JAG has no `acr` claim, or one the resource does not accept. Answered
    /// `insufficient_user_authentication` with the accepted `acr_values` (RFC 9470 §3): the
    /// client must have the user authenticate again, more strongly, at the IdP.
    AcrNotAccepted,
    /// The user's authentication is not recent enough for the configured
    /// `max_auth_age_s`, or the ID-JAG has no `auth_time` claim to tell. Answered
    /// `insufficient_user_authentication` with `max_age` (RFC 9470 §3): the client must have
    /// the user authenticate again at the IdP.
    AuthTimeTooOld,
}

impl RejectReason {
    /// Every reason, in declaration order.
    pub const ALL: &'static [RejectReason] = &[
        RejectReason::TooLarge,
        RejectReason::Malformed,
        RejectReason::EncryptedUnsupported,
        RejectReason::InvalidTyp,
        RejectReason::UnsupportedAlg,
        RejectReason::CritUnsupported,
        RejectReason::HeaderKeyInjection,
        RejectReason::UntrustedIssuer,
        RejectReason::UnknownKey,
        RejectReason::BadSignature,
        RejectReason::AudienceMismatch,
        RejectReason::ClientMismatch,
        RejectReason::ResourceMismatch,
        RejectReason::Expired,
        RejectReason::NotYetValid,
        RejectReason::TooOld,
        RejectReason::LifetimeTooLong,
        RejectReason::IssuedInFuture,
        RejectReason::Replayed,
        RejectReason::MissingClaim,
        RejectReason::ScopeNotGranted,
        RejectReason::AcrNotAccepted,
        RejectReason::AuthTimeTooOld,
    ];

    /// The stable snake_case code (the value of [`Error::reason`]).
    pub const fn code(self) -> &'static str {
        match self {
            RejectReason::TooLarge => "too_large",
            RejectReason::Malformed => "malformed",
            RejectReason::EncryptedUnsupported => "encrypted_unsupported",
            RejectReason::InvalidTyp => "invalid_typ",
            RejectReason::UnsupportedAlg => "unsupported_alg",
            RejectReason::CritUnsupported => "crit_unsupported",
            RejectReason::HeaderKeyInjection => "header_key_injection",
            RejectReason::UntrustedIssuer => "untrusted_issuer",
            RejectReason::UnknownKey => "unknown_key",
            RejectReason::BadSignature => "bad_signature",
            RejectReason::AudienceMismatch => "audience_mismatch",
            RejectReason::ClientMismatch => "client_mismatch",
            RejectReason::ResourceMismatch => "resource_mismatch",
            RejectReason::Expired => "expired",
            RejectReason::NotYetValid => "not_yet_valid",
            RejectReason::TooOld => "too_old",
            RejectReason::LifetimeTooLong => "lifetime_too_long",
            RejectReason::IssuedInFuture => "issued_in_future",
            RejectReason::Replayed => "replayed",
            RejectReason::MissingClaim => "missing_claim",
            RejectReason::ScopeNotGranted => "scope_not_granted",
            RejectReason::AcrNotAccepted => "acr_not_accepted",
            RejectReason::AuthTimeTooOld => "auth_time_too_old",
        }
    }

    /// The `error` code a token endpoint answers for this reason: `invalid_scope` (RFC 6749
    /// §5.2) for [`RejectReason::ScopeNotGranted`], `insufficient_user_authentication`
    /// (RFC 9470 §3, as the ID-JAG draft's step-up section uses it at a token endpoint) for
    /// [`RejectReason::AcrNotAccepted`] and [`RejectReason::AuthTimeTooOld`], and
    /// `invalid_grant` for every other reason. See
    /// [`token_error_response`](super::token_error_response).
    pub const fn oauth_error(self) -> &'static str {
        match self {
            RejectReason::ScopeNotGranted => "invalid_scope",
            RejectReason::AcrNotAccepted | RejectReason::AuthTimeTooOld => {
                "insufficient_user_authentication"
            }
            _ => "invalid_grant",
        }
    }

    /// Whether the user can fix this by authenticating again (the step-up reasons).
    pub const fn is_step_up(self) -> bool {
        matches!(
            self,
            RejectReason::AcrNotAccepted | RejectReason::AuthTimeTooOld
        )
    }

    /// Parses a code produced by [`RejectReason::code`].
    pub fn from_code(code: &str) -> Option<RejectReason> {
        RejectReason::ALL.iter().copied().find(|r| r.code() == code)
    }

    /// The rejection reason of `err`, when it is a verifier rejection.
    pub fn of(err: &Error) -> Option<RejectReason> {
        if err.kind() != ErrorKind::VerificationFailed {
            return None;
        }
        err.reason().and_then(RejectReason::from_code)
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A rejection with its log detail, before it becomes an [`Error`].
pub(crate) struct Rejection {
    pub(crate) reason: RejectReason,
    detail: Cow<'static, str>,
    challenge: Option<StepUpChallenge>,
}

impl Rejection {
    pub(crate) fn new(reason: RejectReason, detail: impl Into<Cow<'static, str>>) -> Self {
        Rejection {
            reason,
            detail: detail.into(),
            challenge: None,
        }
    }

    /// A step-up rejection carrying what the user's new authentication must meet.
    pub(crate) fn step_up(
        reason: RejectReason,
        detail: impl Into<Cow<'static, str>>,
        challenge: StepUpChallenge,
    ) -> Self {
        Rejection {
            challenge: Some(challenge),
            ..Rejection::new(reason, detail)
        }
    }

    /// The error: action `denied`, or `reauthenticate` for the step-up reasons, whose
    /// [`StepUpChallenge`] travels as the error's source (read by
    /// [`token_error_response`](super::token_error_response)).
    pub(crate) fn into_error(self) -> Error {
        let action = if self.reason.is_step_up() {
            Action::Reauthenticate
        } else {
            Action::Denied
        };
        let e = Error::new(
            ErrorKind::VerificationFailed,
            Step::Verify,
            format!("ID-JAG rejected ({}): {}", self.reason.code(), self.detail),
        )
        .with_reason(self.reason.code())
        .with_action(action);
        match self.challenge {
            Some(c) => e.with_source(c),
            None => e,
        }
    }
}

impl From<RejectReason> for Rejection {
    fn from(reason: RejectReason) -> Self {
        let detail = match reason {
            RejectReason::Malformed => "not a well-formed compact JWS with JSON header and claims",
            RejectReason::EncryptedUnsupported => "encrypted (JWE) ID-JAGs are not supported",
            _ => "rejected",
        };
        Rejection::new(reason, detail)
    }
}

pub(crate) fn reject<T>(
    reason: RejectReason,
    detail: impl Into<Cow<'static, str>>,
) -> std::result::Result<T, Rejection> {
    Err(Rejection::new(reason, detail))
}

/// Short, single-line, bounded rendering of an attacker-controlled string for log messages.
pub(crate) fn shown(s: &str) -> String {
    const MAX: usize = 96;
    let clean = sanitize_server_text(s);
    if clean.len() <= MAX {
        return clean;
    }
    let mut end = MAX;
    while !clean.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &clean[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_codes_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for r in RejectReason::ALL {
            assert!(seen.insert(r.code()), "duplicate {}", r.code());
            assert_eq!(RejectReason::from_code(r.code()), Some(*r));
            assert!(r.code().chars().all(|c| c.is_ascii_lowercase() || c == '_'));
            let e = Rejection::from(*r).into_error();
            assert_eq!(e.kind(), ErrorKind::VerificationFailed);
            assert_eq!(e.step(), Step::Verify);
            assert_eq!(RejectReason::of(&e), Some(*r));
        }
        assert_eq!(RejectReason::from_code("nope"), None);
    }

    #[test]
    fn wire_codes_per_reason() {
        for r in RejectReason::ALL {
            let want = match r {
                RejectReason::ScopeNotGranted => "invalid_scope",
                RejectReason::AcrNotAccepted | RejectReason::AuthTimeTooOld => {
                    "insufficient_user_authentication"
                }
                _ => "invalid_grant",
            };
            assert_eq!(r.oauth_error(), want, "{r}");
            let action = Rejection::from(*r).into_error().action();
            let want = if r.is_step_up() {
                Action::Reauthenticate
            } else {
                Action::Denied
            };
            assert_eq!(action, want, "{r}");
        }
    }

    #[test]
    fn shown_is_bounded_and_single_line() {
        let s = shown(&format!("{}\n{}", "é".repeat(200), "x"));
        assert!(s.len() < 120);
        assert!(!s.contains('\n'));
    }
}
