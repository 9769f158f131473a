//! ID-JAG verification at the testkit AS: the core's [`idjag::IdJagVerifier`] (dogfooding,
//! SPEC §2.G items 3–16).
//!
//! The verifier is built once per kit, after the servers are bound: it trusts the kit's IdP
//! and fetches its JWKS over real loopback HTTP (through the kit's CA in TLS mode), follows
//! the kit's clock (including [`TestKit::set_clock_offset`](crate::TestKit::set_clock_offset)),
//! and keeps single-use `jti`s in its in-memory replay store. A rejection's stable reason
//! code (`invalid_typ`, `audience_mismatch`, `replayed`, …) is exposed by
//! `TestKit::last_as_rejection`; the wire answer is the verifier's
//! [`token_error_response`] (`invalid_scope` for `scope_not_granted`,
//! `insufficient_user_authentication` with `acr_values` / `max_age` for the step-up reasons,
//! `invalid_grant` otherwise). [`Options::as_replay_policy`](crate::Options::as_replay_policy)
//! and [`Options::as_user_authentication`](crate::Options::as_user_authentication) set the
//! verifier's replay and user-authentication policies.
//!
//! Scope is decided by the verifier (with the request's `scope`): an ID-JAG without a
//! `scope` claim grants no scope (no `default_scope` is configured), so asking for one is
//! `invalid_scope`.

use crate::state::Shared;
use idjag::clock::Clock;
use idjag::http::HttpConfig;
use idjag::verify::{
    token_error_response, MissingResourcePolicy, TokenErrorResponse, TrustedIdpConfig,
};
use idjag::{Client, IdJagVerifier, Scope, Step, VerifierConfig};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// What the AS needs from a verified ID-JAG.
#[derive(Debug, Clone)]
pub(crate) struct VerifiedIdJag {
    pub sub: String,
    /// The scope the verifier grants (`None`: no scope).
    pub scope: Option<Scope>,
    pub resources: Option<Vec<String>>,
}

/// Why the AS refused the assertion.
#[derive(Debug, Clone)]
pub(crate) struct AsRejection {
    /// The verifier's reason code (or the error code for infrastructure failures).
    pub reason: String,
    /// The token endpoint's answer.
    pub wire: Box<TokenErrorResponse>,
}

/// The kit's clock (real time plus the configured offset), for the verifier.
struct KitClock(Weak<Shared>);

impl Clock for KitClock {
    fn now_millis(&self) -> i64 {
        match self.0.upgrade() {
            Some(s) => s.now() * 1000,
            None => idjag::clock::SystemClock.now_millis(),
        }
    }
}

/// Builds the AS's verifier for `shared` (call once the URLs are known).
pub(crate) fn build_verifier(
    shared: &Arc<Shared>,
    ca_pem: Option<String>,
) -> Result<IdJagVerifier, String> {
    let mut cfg = VerifierConfig::new(shared.urls.as_issuer.clone(), shared.governed_resources());
    cfg.trusted_idps = vec![TrustedIdpConfig::with_jwks_uri(
        shared.urls.idp_issuer.clone(),
        shared.urls.idp_jwks_uri(),
    )];
    // Real IdPs omit `resource`; this AS then assumes its MCP server.
    cfg.default_resource = Some(shared.urls.mcp_url.clone());
    cfg.missing_resource = Some(MissingResourcePolicy::UseDefault);
    cfg.clock_skew_s = shared.opts.as_clock_skew_secs.clamp(0, 300) as u64;
    let window = shared.opts.as_max_id_jag_lifetime_secs.max(1) as u64;
    cfg.max_lifetime_s = window;
    cfg.max_age_s = window;
    // Tests rotate keys at will: allow a refetch for an unknown `kid` every second.
    cfg.jwks_refetch_interval_s = 1;
    cfg.jwks_cache_ttl_s = 600;
    cfg.replay.policy = shared.opts.as_replay_policy;
    cfg.user_authentication = shared.opts.as_user_authentication.clone();
    let client = Client::builder()
        .http_config(HttpConfig {
            ca_bundle_pem: ca_pem,
            total_timeout: Duration::from_secs(5),
            ..HttpConfig::default()
        })
        .clock(Arc::new(KitClock(Arc::downgrade(shared))))
        .build()
        .map_err(|e| e.to_string())?;
    IdJagVerifier::builder(cfg)
        .client(client)
        .clock(Arc::new(KitClock(Arc::downgrade(shared))))
        .build()
        .map_err(|e| e.to_string())
}

/// Verifies `assertion` for the client authenticated as `client_id`, with the grant
/// request's `scope` if any.
pub(crate) fn verify_id_jag(
    shared: &Shared,
    assertion: &str,
    client_id: &str,
    requested_scope: Option<&str>,
) -> Result<VerifiedIdJag, AsRejection> {
    let Some(verifier) = shared.verifier.get() else {
        return Err(AsRejection {
            reason: "verifier_unavailable".into(),
            wire: Box::new(token_error_response(&idjag::Error::internal(
                Step::Verify,
                "no verifier",
            ))),
        });
    };
    let grant = verifier
        .verify(assertion, client_id, requested_scope)
        .map_err(|e| AsRejection {
            reason: e.reason().unwrap_or(e.code()).to_string(),
            wire: Box::new(token_error_response(&e)),
        })?;
    Ok(VerifiedIdJag {
        sub: grant.sub,
        scope: grant.scope,
        resources: (!grant.resource_defaulted).then_some(grant.resource),
    })
}
