//! Building an [`IdJagVerifier`] from a [`VerifierConfig`]: validation, key sources, the
//! default client and the replay store. No network I/O happens here.

use super::claims::ClaimRules;
use super::config::{JwsAlgorithm, VerifierConfig};
use super::jwks::{self, IdpKeys, JwksPolicy, KeySet, KeySource};
#[cfg(feature = "redis")]
use super::replay::RedisReplayStore;
use super::replay::{InMemoryReplayStore, ReplayStore};
use super::scope_policy::ScopePolicy;
use super::user_auth::UserAuthPolicy;
use super::verifier::{IdJagVerifier, Inner};
use crate::client::Client;
use crate::clock::{SharedClock, SystemClock};
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

impl IdJagVerifier {
    /// A verifier with a default [`Client`] (system clock, default HTTP settings).
    pub fn from_config(config: VerifierConfig) -> Result<IdJagVerifier> {
        IdJagVerifier::builder(config).build()
    }

    /// A verifier fetching keys through `client`, and using the client's clock.
    pub fn new(config: VerifierConfig, client: Client) -> Result<IdJagVerifier> {
        IdJagVerifier::builder(config).client(client).build()
    }

    /// A builder, for a custom clock or replay store.
    pub fn builder(config: VerifierConfig) -> VerifierBuilder {
        VerifierBuilder {
            config,
            client: None,
            clock: None,
            replay: None,
        }
    }
}

/// Builds an [`IdJagVerifier`] with a custom client, clock or replay store.
pub struct VerifierBuilder {
    config: VerifierConfig,
    client: Option<Client>,
    clock: Option<SharedClock>,
    replay: Option<Arc<dyn ReplayStore>>,
}

impl fmt::Debug for VerifierBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifierBuilder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl VerifierBuilder {
    /// The [`Client`] used to fetch JWK Sets and IdP metadata (default: a new client with
    /// default settings and the builder's clock).
    pub fn client(mut self, client: Client) -> Self {
        self.client = Some(client);
        self
    }

    /// The clock used for every time check, the JWKS cache and the default replay store
    /// (default: the client's clock, else the system clock).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// A replay store, replacing the one described by [`VerifierConfig::replay`]. Share one
    /// store between every verifier of a deployment.
    pub fn replay_store(mut self, store: Arc<dyn ReplayStore>) -> Self {
        self.replay = Some(store);
        self
    }

    /// Validates the configuration and builds the verifier. No network I/O happens here; see
    /// [`IdJagVerifier::prefetch_keys`].
    pub fn build(self) -> Result<IdJagVerifier> {
        let config = self.config;
        let missing = config.resolve()?;
        let clock: SharedClock = match (&self.clock, &self.client) {
            (Some(c), _) => c.clone(),
            (None, Some(client)) => client.clock().clone(),
            (None, None) => Arc::new(SystemClock),
        };
        let client = match self.client {
            Some(c) => c,
            None => default_client(&clock)?,
        };
        let replay: Arc<dyn ReplayStore> = match self.replay {
            Some(r) => r,
            None => build_replay_store(&config, clock.clone())?,
        };
        let mut idps = HashMap::new();
        let mut any_alg: Vec<JwsAlgorithm> = config.algorithms.clone();
        for (i, idp) in config.trusted_idps.iter().enumerate() {
            let algorithms = idp
                .algorithms
                .clone()
                .unwrap_or_else(|| config.algorithms.clone());
            for a in &algorithms {
                if !any_alg.contains(a) {
                    any_alg.push(*a);
                }
            }
            let source = if let Some(secret) = &idp.insecure_hmac_secret {
                KeySource::Static(Arc::new(KeySet::hmac(secret.expose_secret().as_bytes())))
            } else if let Some(doc) = &idp.jwks {
                let set = jwks::parse_jwks(doc).map_err(|why| {
                    Error::configuration(format!(
                        "verifier configuration key `trusted_idps[{i}].jwks`: {why}"
                    ))
                })?;
                KeySource::Static(Arc::new(set))
            } else if let Some(uri) = &idp.jwks_uri {
                KeySource::JwksUri(uri.clone())
            } else {
                KeySource::Discover
            };
            idps.insert(
                idp.issuer.clone(),
                IdpKeys::new(idp.issuer.clone(), algorithms, source),
            );
        }
        let secs = |s: u64| i64::try_from(s).unwrap_or(i64::MAX);
        let rules = ClaimRules::new(
            config.issuer.clone(),
            &config.resources,
            missing,
            (
                secs(config.clock_skew_s),
                secs(config.max_age_s),
                secs(config.max_lifetime_s),
            ),
            (
                ScopePolicy {
                    default_scope: config.default_scope.clone(),
                    client_scopes: config.client_scopes.clone(),
                },
                UserAuthPolicy::new(&config.user_authentication),
            ),
        );
        Ok(IdJagVerifier {
            inner: Arc::new(Inner {
                rules,
                any_alg,
                idps,
                max_bytes: config.max_assertion_bytes,
                replay,
                replay_policy: config.replay.policy,
                policy: JwksPolicy {
                    client,
                    clock,
                    default_ttl_ms: secs(config.jwks_cache_ttl_s).saturating_mul(1000),
                    min_interval_ms: secs(config.jwks_refetch_interval_s).saturating_mul(1000),
                },
            }),
        })
    }
}

/// The default client; without the `ureq` feature, one whose every request fails (enough for
/// configurations whose keys are all pinned).
fn default_client(clock: &SharedClock) -> Result<Client> {
    if cfg!(feature = "ureq") {
        return Client::builder().clock(clock.clone()).build();
    }
    let no_http = |_: &crate::http::HttpRequest| -> Result<crate::http::HttpResponse> {
        Err(Error::configuration(
            "idjag was built without the `ureq` feature: pass a Client to fetch JWK Sets",
        ))
    };
    Client::builder()
        .clock(clock.clone())
        .http_client(Arc::new(no_http))
        .build()
}

fn build_replay_store(config: &VerifierConfig, clock: SharedClock) -> Result<Arc<dyn ReplayStore>> {
    #[cfg(feature = "redis")]
    if let Some(url) = &config.replay.redis_url {
        let prefix = config
            .replay
            .key_prefix
            .clone()
            .unwrap_or_else(|| RedisReplayStore::DEFAULT_PREFIX.to_string());
        let timeout =
            std::time::Duration::from_millis(config.replay.redis_timeout_ms.unwrap_or(2000));
        return Ok(Arc::new(RedisReplayStore::with_options(
            url, prefix, timeout, clock,
        )?));
    }
    #[cfg(not(feature = "redis"))]
    if config.replay.redis_url.is_some() {
        return Err(Error::configuration(
            "verifier configuration key `replay.redis_url`: idjag was built without the `redis` feature",
        ));
    }
    let capacity = config
        .replay
        .memory_capacity
        .unwrap_or(InMemoryReplayStore::DEFAULT_CAPACITY);
    Ok(Arc::new(InMemoryReplayStore::with_clock(capacity, clock)))
}
