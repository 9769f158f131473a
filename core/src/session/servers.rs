//! MCP servers as the session knows them: each server URL resolves once (discovery,
//! single-flight, no lock held during I/O) into an immutable [`Target`] — its discovery, our
//! credentials at its authorization server, the scope to ask for, the token key and the token
//! slot — which is then passed down the mint path. Nothing on that path looks the server up
//! by URL again, and a rediscovery builds a new `Target`, so an old key can never be paired
//! with new state.

use super::flight::{lock, Cell};
use super::token::Slot;
use super::{events, Inner};
use crate::challenge::ResourceChallenge;
use crate::client_auth::ClientCredentials;
use crate::discovery::{Discovery, DiscoveryOptions};
use crate::error::{Error, ErrorKind, Result, Step};
use crate::scope::Scope;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// What identifies one cached access token.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub(crate) struct TokenKey {
    pub(crate) resource: String,
    pub(crate) issuer: String,
    pub(crate) scope: String,
    pub(crate) client_id: String,
}

/// One resolved MCP server. Immutable: changes (a step-up, a rediscovery) replace it.
pub(crate) struct Target {
    pub(crate) discovery: Discovery,
    /// Our credentials at this server's authorization server (parsed once).
    pub(crate) creds: ClientCredentials,
    /// The normalised scope to request (`None`: none).
    pub(crate) scope: Option<String>,
    pub(crate) key: TokenKey,
    pub(crate) slot: Arc<Slot>,
}

/// The 401/403 bookkeeping of one server, kept in one place.
#[derive(Default)]
pub(crate) struct ChallengeState {
    /// Scope after step-ups (`None`: the configured/discovered default).
    pub(crate) scope: Option<String>,
    pub(crate) step_ups: u8,
    /// Consecutive rejections of tokens right after their minting (a loop, not revocations).
    pub(crate) streak: u8,
}

/// Everything the session keeps about one server URL.
#[derive(Default)]
pub(crate) struct ServerEntry {
    pub(crate) target: Cell<Arc<Target>>,
    pub(crate) challenge: Mutex<ChallengeState>,
}

/// Server URL → entry, and token key → slot (servers that share resource, AS, scope and
/// client share the token).
#[derive(Default)]
pub(crate) struct Servers {
    by_url: std::sync::RwLock<HashMap<String, Arc<ServerEntry>>>,
    slots: Mutex<HashMap<TokenKey, Arc<Slot>>>,
}

/// A scope string in the crate's one normal form ([`Scope`]: RFC 6749 §3.3 tokens, sorted,
/// de-duplicated; tokens with characters §3.3 forbids are dropped), `None` when empty.
pub(crate) fn normalize_scope(s: &str) -> Option<String> {
    let (scope, _dropped) = Scope::parse_lossy(s);
    (!scope.is_empty()).then(|| scope.as_str().to_string())
}

impl Servers {
    /// The entry of `server_url`, if the session has seen it (no allocation).
    pub(crate) fn get(&self, server_url: &str) -> Option<Arc<ServerEntry>> {
        self.by_url
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(server_url)
            .cloned()
    }

    pub(crate) fn entry(&self, server_url: &str) -> Arc<ServerEntry> {
        if let Some(e) = self.get(server_url) {
            return e;
        }
        self.by_url
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .entry(server_url.to_string())
            .or_default()
            .clone()
    }

    pub(crate) fn remove(&self, server_url: &str) -> Option<Arc<ServerEntry>> {
        self.by_url
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(server_url)
    }

    /// The scope of a resolved target for `resource`, if the session knows one.
    pub(crate) fn scope_of_resource(&self, resource: &str) -> Option<Option<String>> {
        let entries: Vec<Arc<ServerEntry>> = self
            .by_url
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        entries
            .iter()
            .filter_map(|e| e.target.peek())
            .find(|t| t.discovery.resource() == resource)
            .map(|t| t.scope.clone())
    }

    pub(crate) fn slot(&self, key: &TokenKey) -> Arc<Slot> {
        lock(&self.slots).entry(key.clone()).or_default().clone()
    }

    pub(crate) fn forget_slots(&self, resource: &str, issuer: &str) {
        lock(&self.slots).retain(|k, _| !(k.resource == resource && k.issuer == issuer));
    }
}

impl Inner {
    /// The resolved target of `server_url`: cached, or discovered now (one discovery per
    /// server at a time; concurrent callers share it).
    pub(crate) fn target(
        &self,
        server_url: &str,
        entry: &ServerEntry,
        challenge: Option<&ResourceChallenge>,
    ) -> Result<Arc<Target>> {
        entry.target.get_or_fetch(
            |_| true,
            || self.resolve(server_url, entry, challenge),
            |current| {
                current.cloned().ok_or_else(|| {
                    Error::new(
                        ErrorKind::InvalidArgument,
                        Step::Discovery,
                        "called from an event callback while this thread is discovering the same MCP server",
                    )
                })
            },
        )
    }

    /// Discovers `server_url` (the IdP metadata is fetched in parallel on the cold path) and
    /// builds its target. Runs with no session lock held.
    fn resolve(
        &self,
        server_url: &str,
        entry: &ServerEntry,
        challenge: Option<&ResourceChallenge>,
    ) -> Result<Arc<Target>> {
        let options = DiscoveryOptions {
            resource_metadata_url: challenge.and_then(|c| c.resource_metadata.clone()),
            challenged_scope: challenge.and_then(|c| c.scope.clone()),
            resource_match: self.config.resource_match,
            ..Default::default()
        };
        let idp_issuer = self
            .config
            .idp
            .issuer
            .clone()
            .filter(|_| self.config.idp.token_endpoint.is_none())
            .filter(|_| self.idp.peek().is_none());
        let discovery = std::thread::scope(|scope| {
            let idp = idp_issuer.map(|issuer| {
                let client = self.client.clone();
                scope.spawn(move || {
                    // Events of this helper thread go back to the calling thread.
                    let deferred = events::Deferred::begin();
                    let _ = client.authorization_server_metadata(&issuer);
                    deferred.take()
                })
            });
            let d = self.client.discover(server_url, &options);
            if let Some(h) = idp {
                // The IdP metadata lands in the client cache; its errors resurface (with the
                // right step) when leg 1 needs it.
                if let Ok(events) = h.join() {
                    events::adopt(events);
                }
            }
            d
        })?;
        let scope = lock(&entry.challenge).scope.clone();
        self.build_target(server_url, discovery, scope)
    }

    /// A target for `discovery` asking for `scope_override` (else the configured or
    /// discovered default scope).
    pub(crate) fn build_target(
        &self,
        server_url: &str,
        discovery: Discovery,
        scope_override: Option<String>,
    ) -> Result<Arc<Target>> {
        let creds = self.config.as_credentials(discovery.audience())?;
        let scope = scope_override
            .or_else(|| self.config.scopes.get(server_url).cloned())
            .or_else(|| self.config.scope.clone())
            .or_else(|| discovery.default_scope())
            .and_then(|s| normalize_scope(&s));
        let key = TokenKey {
            resource: discovery.resource().to_string(),
            issuer: discovery.audience().to_string(),
            scope: scope.clone().unwrap_or_default(),
            client_id: creds.client_id.clone(),
        };
        let slot = self.servers.slot(&key);
        Ok(Arc::new(Target {
            discovery,
            creds,
            scope,
            key,
            slot,
        }))
    }
}
