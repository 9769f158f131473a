//! Authorization-server side: verify a presented ID-JAG.
//!
//! [`IdJagVerifier::verify`] runs the checks in a fixed order chosen so that no check can be
//! used to bypass an earlier one and no untrusted input reaches an expensive or dangerous step:
//!
//! 1. length cap (`max_assertion_bytes`), before any decoding → `too_large`;
//! 2. structure: three segments (five → `encrypted_unsupported`), strict base64url, JSON
//!    objects without duplicate member names, in header and payload → `malformed`;
//! 3. header: `typ` is `oauth-id-jag+jwt` per RFC 7515 §4.1.9 (case-insensitive,
//!    `application/` optional) → `invalid_typ`; `alg` on the allow-list, never `none` →
//!    `unsupported_alg`; no `crit` → `crit_unsupported`; no `jku`/`jwk`/`x5u`/`x5c` →
//!    `header_key_injection`;
//! 4. `iss` (read from the still unverified payload) is a trusted IdP → `untrusted_issuer`,
//!    and `alg` is allowed for that IdP → `unsupported_alg` — before any key lookup;
//! 5. key lookup in that issuer's JWK Set only (`kid`, key type and JWK `alg` must fit) →
//!    `unknown_key`; signature (jsonwebtoken on aws-lc-rs) → `bad_signature`;
//! 6. claims: `aud` exactly this AS's issuer (a string, or a one-element array) →
//!    `audience_mismatch`; `client_id` equals the authenticated client → `client_mismatch`;
//!    `exp`/`nbf`/`iat` with skew, age and lifetime caps → `expired`, `not_yet_valid`,
//!    `issued_in_future`, `lifetime_too_long`, `too_old`; `sub` and `jti` present →
//!    `missing_claim`; `tenant`, `aud_tenant`, `aud_sub`, `acr` non-empty strings and
//!    `auth_time` a NumericDate not in the future, when present → `malformed`; `resource`
//!    all ours (or the missing-resource policy) → `resource_mismatch`; scope: the request
//!    must be satisfiable from the ID-JAG's `scope` claim or, without one, from the
//!    configured `default_scope` (never from the request itself), capped by
//!    `client_scopes` → `scope_not_granted`; the optional `user_authentication` policy of
//!    the granted resources: `acr` accepted → `acr_not_accepted`, `auth_time` recent
//!    enough → `auth_time_too_old`;
//! 7. only then the (`iss`, `jti`) pair is recorded, atomically, until strictly after the
//!    last second the ID-JAG could be accepted (`exp + clock_skew_s`), plus `clock_skew_s`
//!    again for replicas with slightly different clocks. Under the default replay policy
//!    (`single_use`) a pair already recorded is `replayed`; under the weaker `until_exp`
//!    it is accepted with [`VerifiedGrant::first_use`] `false`.
//!
//! A rejection is an [`Error`](crate::Error) of kind
//! [`ErrorKind::VerificationFailed`](crate::ErrorKind::VerificationFailed) at
//! [`Step::Verify`](crate::Step::Verify) whose [`Error::reason`](crate::Error::reason) is a
//! [`RejectReason`] code (action `denied`; `reauthenticate` for the two step-up reasons).
//! The message is detailed for the logs; the wire answer is generic
//! ([`token_error_response`]: `invalid_scope` for `scope_not_granted`,
//! `insufficient_user_authentication` with the configured `acr_values` / `max_age` for the
//! step-up reasons, `invalid_grant` for everything else). Nothing derived from the
//! assertion's bytes other than short, sanitized claim values ever appears in an error or
//! log line.
//!
//! **Infrastructure failures are not rejections.** When the IdP's JWK Set cannot be fetched
//! (or parsed), or the replay store cannot answer, `verify` returns that error
//! (`transport`, `timeout`, `http_status`, `response_invalid`, …, or `internal` for a full
//! in-memory replay store) with no reason: the assertion may be perfectly valid, so the
//! token endpoint should answer `503 temporarily_unavailable`, not `invalid_grant`, and must
//! not count it as a forgery attempt.
//!
//! **Locks.** No lock is held across network I/O: a JWKS fetch runs with the issuer's cache
//! unlocked (concurrent misses wait on a condition variable for its result, bounded by the
//! client's total timeout), a lookup that hits a fresh cached key never waits for a fetch in
//! flight, and the Redis store holds its connection-pool lock only to take or return a
//! connection.
//!
//! **Where each behaviour lives**: steps 1–3 in `header.rs` (on the compact-JWS plumbing
//! of `jose.rs`); keys and the JWKS cache in `jwks.rs`; step 6 in `claims.rs`, its scope
//! part in `scope_policy.rs` and its user-authentication part in `user_auth.rs`; the result
//! in `grant.rs`; step 7 in `replay.rs`; rejection
//! reasons in `reason.rs`; the wire answer in `wire.rs`; the pipeline in `verifier.rs`;
//! construction in `builder.rs`; the configuration in `config.rs`.

mod builder;
mod claims;
mod config;
mod grant;
mod header;
mod jose;
mod jwks;
mod reason;
mod replay;
mod scope_policy;
mod user_auth;
mod verifier;
mod wire;

pub use builder::VerifierBuilder;
pub use config::{
    AuthenticationRequirement, JwsAlgorithm, MissingResourcePolicy, ReplayConfig, ReplayPolicy,
    TrustedIdpConfig, UserAuthenticationConfig, VerifierConfig,
};
pub use grant::{ScopeSource, VerifiedGrant};
pub use reason::RejectReason;
#[cfg(feature = "redis")]
pub use replay::RedisReplayStore;
pub use replay::{replay_key, InMemoryReplayStore, ReplayStore};
pub use verifier::IdJagVerifier;
pub use wire::{
    token_error_response, token_error_response_from_parts, TokenErrorResponse,
    INSUFFICIENT_USER_AUTHENTICATION_DESCRIPTION, INVALID_GRANT_DESCRIPTION,
    INVALID_SCOPE_DESCRIPTION,
};
