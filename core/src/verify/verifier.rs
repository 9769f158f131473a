//! [`IdJagVerifier`]: the verification pipeline, in order (see the [module
//! documentation](super)). Construction lives in [`super::builder`].

use super::claims::{replay_keep_until, str_claim, ClaimRules};
use super::config::{JwsAlgorithm, ReplayPolicy};
use super::grant::VerifiedGrant;
use super::header::{decode, Decoded};
use super::jwks::{IdpKeys, JwksPolicy, KeyError};
use super::reason::{shown, RejectReason, Rejection};
use super::replay::{replay_key, ReplayStore};
use crate::error::Result;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

pub(super) struct Inner {
    pub(super) rules: ClaimRules,
    /// Union of every algorithm any IdP may use (checked before the issuer is known).
    pub(super) any_alg: Vec<JwsAlgorithm>,
    pub(super) idps: HashMap<String, IdpKeys>,
    pub(super) max_bytes: usize,
    pub(super) replay: Arc<dyn ReplayStore>,
    pub(super) replay_policy: ReplayPolicy,
    pub(super) policy: JwksPolicy,
}

/// Verifies ID-JAGs for one authorization server.
///
/// `IdJagVerifier` is `Send + Sync` and cheap to clone (an `Arc` inside): build one at
/// startup and share it across every request thread. Clones share the key cache and the
/// replay store.
#[derive(Clone)]
pub struct IdJagVerifier {
    pub(super) inner: Arc<Inner>,
}

const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<IdJagVerifier>();
    assert_send_sync::<VerifiedGrant>();
};

impl fmt::Debug for IdJagVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut idps: Vec<&str> = self.inner.idps.keys().map(String::as_str).collect();
        idps.sort_unstable();
        f.debug_struct("IdJagVerifier")
            .field("issuer", &self.inner.rules.issuer)
            .field("trusted_idps", &idps)
            .finish_non_exhaustive()
    }
}

impl IdJagVerifier {
    /// This authorization server's issuer (the expected `aud`).
    pub fn issuer(&self) -> &str {
        &self.inner.rules.issuer
    }

    /// Fetches the JWK Set of every IdP that has no fresh one cached (startup warm-up and
    /// health check). Errors are the fetch errors of the first IdP that failed.
    pub fn prefetch_keys(&self) -> Result<()> {
        let mut first_err = None;
        for idp in self.inner.idps.values() {
            if let Err(e) = idp.prefetch(&self.inner.policy) {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    /// Verifies `assertion` (the jwt-bearer grant's `assertion` parameter), presented by the
    /// already authenticated client `authenticated_client_id`, with the grant request's
    /// `scope` parameter if any.
    ///
    /// On success the `jti` is recorded as used: the same assertion is rejected as
    /// `replayed` afterwards, by this verifier and by every verifier sharing its replay store
    /// — unless the replay policy is the weaker
    /// [`ReplayPolicy::UntilExp`](super::ReplayPolicy::UntilExp), under which it is accepted
    /// again with [`VerifiedGrant::first_use`] `false`. The grant's
    /// [`scope`](VerifiedGrant::scope) never exceeds what the ID-JAG (or the configured
    /// policy, when it has no `scope` claim) states; see
    /// [`VerifierConfig::default_scope`](super::VerifierConfig::default_scope).
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::VerificationFailed`](crate::ErrorKind::VerificationFailed) with a
    ///   [`RejectReason`] code in [`Error::reason`](crate::Error::reason): the assertion is
    ///   not acceptable (answer [`token_error_response`](super::token_error_response):
    ///   `invalid_grant`, `invalid_scope` for `scope_not_granted`, or
    ///   `insufficient_user_authentication` with the requirement for `acr_not_accepted` and
    ///   `auth_time_too_old`).
    /// - Transport-class errors (see the [module documentation](super)): keys or replay
    ///   store unavailable (answer `temporarily_unavailable`; the client may retry).
    pub fn verify(
        &self,
        assertion: &str,
        authenticated_client_id: &str,
        requested_scope: Option<&str>,
    ) -> Result<VerifiedGrant> {
        let result = self.verify_inner(assertion, authenticated_client_id, requested_scope);
        match &result {
            Ok(g) => log::debug!(
                "idjag verify: accepted iss={} client_id={} jti={}",
                g.iss,
                g.client_id,
                shown(&g.jti)
            ),
            Err(e) => log::debug!("idjag verify: {e}"),
        }
        result
    }

    fn verify_inner(
        &self,
        assertion: &str,
        client_id: &str,
        requested_scope: Option<&str>,
    ) -> Result<VerifiedGrant> {
        let inner = &*self.inner;
        // Steps 1–3: size, structure, header.
        let decoded =
            decode(assertion, inner.max_bytes, &inner.any_alg).map_err(Rejection::into_error)?;
        // Steps 4–5: trusted issuer, its algorithms and keys, the signature.
        self.check_signature(&decoded).map_err(|e| match e {
            KeyError::Reject(r) => r.into_error(),
            KeyError::Fetch(e) => e,
        })?;
        // Step 6: claims and scope.
        let now = inner.policy.clock.now_secs();
        let mut grant = inner
            .rules
            .check(decoded.claims, client_id, requested_scope, now)
            .map_err(Rejection::into_error)?;
        // Step 7: the presentation is recorded last, under either replay policy.
        let key = replay_key(&grant.iss, &grant.jti);
        let keep_until = replay_keep_until(grant.exp, inner.rules.skew());
        grant.first_use = inner.replay.check_and_insert(&key, keep_until)?;
        if !grant.first_use {
            match inner.replay_policy {
                ReplayPolicy::UntilExp => log::debug!(
                    "idjag verify: jti `{}` of `{}` presented again, accepted (replay policy until_exp)",
                    shown(&grant.jti),
                    grant.iss
                ),
                ReplayPolicy::SingleUse => {
                    return Err(Rejection::new(
                        RejectReason::Replayed,
                        format!(
                            "jti `{}` of `{}` was already used",
                            shown(&grant.jti),
                            grant.iss
                        ),
                    )
                    .into_error())
                }
            }
        }
        Ok(grant)
    }

    /// Steps 4–5: `iss` is trusted and allows `alg`, the key comes from that issuer's JWK
    /// Set, and the signature verifies with it.
    fn check_signature(&self, decoded: &Decoded<'_>) -> std::result::Result<(), KeyError> {
        let inner = &*self.inner;
        let iss = str_claim(&decoded.claims, "iss").map_err(KeyError::Reject)?;
        let Some(idp) = inner.idps.get(iss) else {
            return Err(KeyError::Reject(Rejection::new(
                RejectReason::UntrustedIssuer,
                format!("issuer `{}` is not trusted", shown(iss)),
            )));
        };
        if !idp.algorithms.contains(&decoded.alg) {
            return Err(KeyError::Reject(Rejection::new(
                RejectReason::UnsupportedAlg,
                format!(
                    "`{}` is not allowed for issuer `{}`",
                    decoded.alg, idp.issuer
                ),
            )));
        }
        let key = idp.find_key(&inner.policy, decoded.kid.as_deref(), decoded.alg)?;
        match jsonwebtoken::crypto::verify(
            decoded.signature,
            decoded.signing_input.as_bytes(),
            &key.key,
            decoded.alg.to_jwt(),
        ) {
            Ok(true) => Ok(()),
            Ok(false) => Err(KeyError::Reject(Rejection::new(
                RejectReason::BadSignature,
                format!(
                    "signature does not verify with {} key{} of `{}`",
                    decoded.alg,
                    key.kid
                        .as_deref()
                        .map(|k| format!(" `{}`", shown(k)))
                        .unwrap_or_default(),
                    idp.issuer
                ),
            ))),
            Err(e) => {
                let reason = match e.kind() {
                    jsonwebtoken::errors::ErrorKind::Base64(_) => RejectReason::Malformed,
                    _ => RejectReason::BadSignature,
                };
                Err(KeyError::Reject(Rejection::new(
                    reason,
                    "the signature could not be checked",
                )))
            }
        }
    }
}
