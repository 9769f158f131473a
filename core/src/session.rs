//! [`Session`]: give it an MCP server URL, get a valid access token — cached, renewed before
//! expiry, single-flight across threads, reacting to 401/403 challenges (DESIGN §5; SPEC §1
//! steps 5–6, §2.J, §4.1 items 8–10).
//!
//! - Hot path (valid token cached): no I/O, one short lock.
//! - Warm path (token near expiry, discovery cached): exactly two requests, leg 1 and leg 2,
//!   on the pooled keep-alive connections.
//! - Cold path: probe → PRM → AS metadata, with the IdP metadata fetched in parallel.
//! - Single-flight: callers asking for the same (resource, AS, scope, client) while a renewal
//!   is in flight wait for it and share its result or error. Different keys run in parallel.
//! - A fresh ID-JAG for every redemption (MCP authorization servers enforce single-use `jti`).

use crate::challenge::ResourceChallenge;
use crate::client::{Client, EventHook};
use crate::client_auth::ClientCredentials;
use crate::config::SessionConfig;
use crate::discovery::{AuthorizationServerMetadata, Discovery, DiscoveryOptions};
use crate::error::{Action, Error, ErrorKind, OAuthErrorResponse, Result, Step};
use crate::exchange::{IdJag, IdJagRequest, RedeemRequest, SubjectTokenType};
use crate::secret::SecretString;
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// An access token handed out by a [`Session`]. `Debug` never shows the token.
#[derive(Clone)]
pub struct Token {
    /// The access token.
    pub access_token: SecretString,
    /// Always `Bearer`.
    pub token_type: String,
    /// Expiry (Unix seconds).
    pub expires_at: i64,
    /// Granted scope, if known.
    pub scope: Option<String>,
    /// The MCP server's resource identifier.
    pub resource: String,
    /// The issuer of the authorization server that issued the token.
    pub authorization_server: String,
    /// The decoded (unverified) claims of the ID-JAG this token was redeemed from, for
    /// diagnostics. Contains personal data (subject, email), never a secret.
    pub id_jag_claims: Option<Arc<serde_json::Map<String, serde_json::Value>>>,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("access_token", &self.access_token)
            .field("token_type", &self.token_type)
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .field("resource", &self.resource)
            .field("authorization_server", &self.authorization_server)
            .finish()
    }
}

impl Token {
    /// The `Authorization` header value: `Bearer <token>`.
    pub fn authorization_header(&self) -> String {
        format!("Bearer {}", self.access_token.expose_secret())
    }
}

#[derive(Clone, PartialEq, Eq, Hash, Debug)]
struct TokenKey {
    resource: String,
    issuer: String,
    scope: String,
    client_id: String,
}

#[derive(Default)]
struct SlotState {
    token: Option<Token>,
    /// When the cached token was minted (ms), for challenge bookkeeping.
    minted_at_ms: i64,
    /// Unix seconds from which the cached token is renewed.
    renew_at: i64,
    /// Whether the cached token was minted in answer to a challenge.
    by_challenge: bool,
    in_flight: bool,
    flight: u64,
    last: Option<(u64, Error)>,
}

#[derive(Default)]
struct Slot {
    state: Mutex<SlotState>,
    cond: Condvar,
}

struct ServerState {
    discovery: Discovery,
    /// Our credentials at this server's authorization server (parsed once).
    creds: ClientCredentials,
    /// Scope after step-ups (`None`: use the configured/discovered default).
    scope: Option<String>,
    step_ups: u8,
    challenge_streak: u8,
    /// The token key and slot for the current scope (the hot path's shortcut); cleared when
    /// the scope changes.
    current: Option<(Arc<TokenKey>, Arc<Slot>)>,
}

#[derive(Default)]
struct ServerEntry {
    state: Mutex<Option<ServerState>>,
}

struct Subject {
    token: Option<SecretString>,
    token_type: SubjectTokenType,
    refresh_token: Option<SecretString>,
    generation: u64,
}

struct IdpEndpoint {
    token_endpoint: String,
    issuer: Option<String>,
    auth_methods: Option<Vec<String>>,
}

struct Inner {
    client: Client,
    config: SessionConfig,
    idp_credentials: ClientCredentials,
    /// The IdP token endpoint, resolved once (like the servers' discovery).
    idp_endpoint: Mutex<Option<Arc<IdpEndpoint>>>,
    subject: Mutex<Subject>,
    refresh_lock: Mutex<()>,
    servers: Mutex<HashMap<String, Arc<ServerEntry>>>,
    slots: Mutex<HashMap<TokenKey, Arc<Slot>>>,
    margin_s: i64,
    default_lifetime_s: i64,
    max_step_ups: u8,
}

/// The high-level MCP client. `Send + Sync`, cheap to clone (shared state), no global state,
/// no runtime: one `Session` per signed-in user, shared by every thread.
#[derive(Clone)]
pub struct Session {
    inner: Arc<Inner>,
}

const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Session>();
};

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("idp", &self.inner.config.idp.issuer)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// How many seconds before its `exp` an ID token is treated as expired.
const SUBJECT_EXPIRY_MARGIN_S: i64 = 10;
/// A token challenged within this many seconds of being minted counts towards the streak.
const CHALLENGE_WINDOW_MS: i64 = 30_000;
/// A token minted this recently is handed to concurrent challengers instead of re-minting.
const JUST_MINTED_MS: i64 = 2_000;
/// Most consecutive 401s on freshly minted tokens before giving up.
const MAX_CHALLENGE_STREAK: u8 = 2;

fn scope_set(s: &str) -> BTreeSet<&str> {
    s.split_ascii_whitespace().collect()
}

fn union_scopes(a: Option<&str>, b: &str) -> String {
    let mut set: BTreeSet<&str> = a.map(scope_set).unwrap_or_default();
    set.extend(scope_set(b));
    set.into_iter().collect::<Vec<_>>().join(" ")
}

fn normalize_scope(s: &str) -> String {
    scope_set(s).into_iter().collect::<Vec<_>>().join(" ")
}

/// Builds a [`Session`].
pub struct SessionBuilder {
    config: SessionConfig,
    client: Option<Client>,
    events: Vec<EventHook>,
    clock: Option<crate::clock::SharedClock>,
    http: Option<Arc<dyn crate::http::HttpClient>>,
}

impl fmt::Debug for SessionBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionBuilder").finish_non_exhaustive()
    }
}

impl SessionBuilder {
    /// Uses an existing [`Client`] (its HTTP stack, clock, events and cache).
    pub fn client(mut self, client: Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Adds an event subscriber (ignored when [`SessionBuilder::client`] is used).
    pub fn on_event(mut self, hook: EventHook) -> Self {
        self.events.push(hook);
        self
    }

    /// Injects a clock (ignored when [`SessionBuilder::client`] is used).
    pub fn clock(mut self, clock: crate::clock::SharedClock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Plugs a custom HTTP client (ignored when [`SessionBuilder::client`] is used).
    pub fn http_client(mut self, http: Arc<dyn crate::http::HttpClient>) -> Self {
        self.http = Some(http);
        self
    }

    /// Builds the session.
    pub fn build(self) -> Result<Session> {
        self.config.validate()?;
        let client = match self.client {
            Some(c) => c,
            None => {
                let mut b = Client::builder().http_config(self.config.http_config());
                for e in self.events {
                    b = b.on_event(e);
                }
                if let Some(c) = self.clock {
                    b = b.clock(c);
                }
                if let Some(h) = self.http {
                    b = b.http_client(h);
                }
                b.build()?
            }
        };
        let idp_credentials = self.config.idp_credentials()?;
        let cfg = self.config;
        Ok(Session {
            inner: Arc::new(Inner {
                subject: Mutex::new(Subject {
                    token: cfg.subject_token.clone(),
                    token_type: cfg.subject_token_type,
                    refresh_token: cfg.idp_refresh_token.clone(),
                    generation: 0,
                }),
                margin_s: cfg.renewal_margin_s.unwrap_or(60) as i64,
                default_lifetime_s: cfg.default_token_lifetime_s.unwrap_or(300) as i64,
                max_step_ups: cfg.max_step_ups.unwrap_or(3),
                client,
                idp_credentials,
                idp_endpoint: Mutex::new(None),
                config: cfg,
                refresh_lock: Mutex::new(()),
                servers: Mutex::new(HashMap::new()),
                slots: Mutex::new(HashMap::new()),
            }),
        })
    }
}

impl Session {
    /// A session from a configuration, with the default HTTP stack.
    pub fn new(config: SessionConfig) -> Result<Session> {
        Session::builder(config).build()
    }

    /// A session from the JSON configuration.
    pub fn from_json(json: &str) -> Result<Session> {
        Session::new(SessionConfig::from_json(json)?)
    }

    /// A builder.
    pub fn builder(config: SessionConfig) -> SessionBuilder {
        SessionBuilder {
            config,
            client: None,
            events: Vec::new(),
            clock: None,
            http: None,
        }
    }

    /// The underlying protocol client.
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    fn now_ms(&self) -> i64 {
        self.inner.client.clock().now_millis()
    }

    /// An access token for `server_url` (SPEC §1 steps 2–4). Cache hit: no I/O.
    pub fn access_token(&self, server_url: &str) -> Result<Token> {
        let (key, slot) = self.slot_for(server_url)?;
        self.token_from_slot(server_url, &key, &slot, false)
    }

    /// The token [`Session::access_token`] would return right now without any I/O, or `None`
    /// when a call would have to talk to a server (nothing cached yet, renewal due, or the
    /// server is being discovered at this moment). Never blocks on network work: async hosts
    /// use it to answer on the event loop and go to a worker thread only when needed.
    pub fn cached_token(&self, server_url: &str) -> Option<Token> {
        let entry = lock(&self.inner.servers).get(server_url).cloned()?;
        let (_, slot) = {
            // The server state is held during discovery (I/O): don't wait for it.
            let st = entry.state.try_lock().ok()?;
            st.as_ref()?.current.clone()?
        };
        let g = lock(&slot.state);
        let t = g.token.as_ref()?;
        (self.now_ms() / 1000 < g.renew_at).then(|| t.clone())
    }

    /// Discovery for `server_url` (cached per session).
    pub fn discover(&self, server_url: &str) -> Result<Discovery> {
        let entry = self.server_entry(server_url);
        let mut st = lock(&entry.state);
        self.ensure_discovered(server_url, &mut st, None)?;
        st.as_ref()
            .map(|s| s.discovery.clone())
            .ok_or_else(|| Error::internal(Step::Discovery, "discovery state missing"))
    }

    /// Drops the cached tokens and discovery of `server_url`.
    pub fn invalidate(&self, server_url: &str) {
        let entry = lock(&self.inner.servers).remove(server_url);
        if let Some(entry) = entry {
            if let Some(st) = lock(&entry.state).take() {
                let resource = st.discovery.resource().to_string();
                let issuer = st.discovery.audience().to_string();
                self.inner
                    .client
                    .forget_resource(server_url, &st.discovery.resource_metadata_url);
                lock(&self.inner.slots)
                    .retain(|k, _| !(k.resource == resource && k.issuer == issuer));
            }
        }
    }

    /// Replaces the user's identity assertion (after the host app signed the user in again).
    /// Cached access tokens stay valid until they expire; new exchanges use the new token.
    pub fn set_subject_token(
        &self,
        token: impl Into<SecretString>,
        token_type: SubjectTokenType,
        refresh_token: Option<SecretString>,
    ) -> Result<()> {
        let token = token.into();
        if token.is_empty() {
            return Err(Error::invalid_argument("the subject token is empty"));
        }
        let mut s = lock(&self.inner.subject);
        s.token = Some(token);
        s.token_type = token_type;
        if refresh_token.is_some() {
            s.refresh_token = refresh_token;
        }
        s.generation += 1;
        Ok(())
    }

    /// Reacts to a 401/403 from the MCP server (SPEC §1 step 5; MCP §Scope Challenge
    /// Handling) and returns the token to retry with:
    /// - 401 → drop the cached token and re-exchange (bounded: repeated 401s on freshly
    ///   minted tokens fail with a `configuration` error instead of looping);
    /// - 403 `insufficient_scope` → step up to the union of scopes (at most `max_step_ups`);
    /// - a changed `resource_metadata` URL → rediscovery.
    pub fn handle_challenge(
        &self,
        server_url: &str,
        status: u16,
        www_authenticate: &str,
    ) -> Result<Token> {
        let ch = ResourceChallenge::parse([www_authenticate]);
        let entry = self.server_entry(server_url);
        {
            let mut st = lock(&entry.state);
            let moved = match (st.as_ref(), ch.resource_metadata.as_deref()) {
                (Some(s), Some(url)) => s.discovery.resource_metadata_url != url,
                _ => false,
            };
            if moved {
                if let Some(old) = st.take() {
                    self.inner
                        .client
                        .forget_resource(server_url, &old.discovery.resource_metadata_url);
                }
            }
            self.ensure_discovered(server_url, &mut st, Some(&ch))?;
            let s = st
                .as_mut()
                .ok_or_else(|| Error::internal(Step::Resource, "no server state"))?;
            match status {
                401 => {}
                403 if ch.error.as_deref() == Some("insufficient_scope") => {
                    let Some(needed) = ch.scope.as_deref().filter(|s| !s.trim().is_empty()) else {
                        return Err(self.denied(
                            ch,
                            "the MCP server requires more scope but did not say which",
                        ));
                    };
                    let current = self.effective_scope(server_url, s);
                    let wanted = union_scopes(current.as_deref(), needed);
                    if current.as_deref().map(normalize_scope) == Some(wanted.clone()) {
                        return Err(self.denied(
                            ch,
                            "the MCP server still reports insufficient_scope although every challenged scope was granted",
                        ));
                    }
                    if s.step_ups >= self.inner.max_step_ups {
                        return Err(self.denied(ch, "too many scope step-ups for this MCP server"));
                    }
                    s.step_ups += 1;
                    s.scope = Some(wanted);
                    s.current = None;
                }
                403 => return Err(self.denied(ch, "the MCP server refused access (403)")),
                other => {
                    return Err(Error::invalid_argument(format!(
                        "handle_challenge expects a 401 or 403 status, got {other}"
                    )))
                }
            }
        }
        let (key, slot) = self.slot_for(server_url)?;
        if status == 401 {
            let mut g = lock(&slot.state);
            let now = self.now_ms();
            if g.token.is_some() {
                let fresh = now - g.minted_at_ms < CHALLENGE_WINDOW_MS;
                // Several requests that failed with the same old token: the first challenge
                // re-minted moments ago; hand that token to the others.
                let just_minted = g.by_challenge && now - g.minted_at_ms < JUST_MINTED_MS;
                drop(g);
                let mut st = lock(&entry.state);
                if let Some(s) = st.as_mut() {
                    if fresh {
                        s.challenge_streak += 1;
                    } else {
                        s.challenge_streak = 1;
                    }
                    if s.challenge_streak > MAX_CHALLENGE_STREAK {
                        s.challenge_streak = 0;
                        return Err(Error::new(
                            ErrorKind::Configuration,
                            Step::Resource,
                            "the MCP server keeps rejecting freshly issued access tokens; check that its authorization server and it agree on audience and scope",
                        )
                        .with_status(401));
                    }
                }
                g = lock(&slot.state);
                if just_minted {
                    if let Some(t) = &g.token {
                        return Ok(t.clone());
                    }
                }
                g.token = None;
            }
        }
        self.token_from_slot(server_url, &key, &slot, true)
    }

    fn denied(&self, ch: ResourceChallenge, msg: &str) -> Error {
        Error::new(ErrorKind::OauthError, Step::Resource, msg)
            .with_status(403)
            .with_action(Action::Denied)
            .with_oauth_body(OAuthErrorResponse {
                error: ch.error.unwrap_or_else(|| "access_denied".into()),
                error_description: ch
                    .error_description
                    .map(|d| crate::error::sanitize_server_text(&d)),
                error_uri: None,
            })
    }

    fn server_entry(&self, server_url: &str) -> Arc<ServerEntry> {
        lock(&self.inner.servers)
            .entry(server_url.to_string())
            .or_default()
            .clone()
    }

    fn effective_scope(&self, server_url: &str, s: &ServerState) -> Option<String> {
        s.scope
            .clone()
            .or_else(|| self.inner.config.scopes.get(server_url).cloned())
            .or_else(|| self.inner.config.scope.clone())
            .or_else(|| s.discovery.default_scope())
            .map(|s| normalize_scope(&s))
            .filter(|s| !s.is_empty())
    }

    /// Discovers `server_url` if not yet known, fetching the IdP metadata in parallel on the
    /// cold path.
    fn ensure_discovered(
        &self,
        server_url: &str,
        st: &mut Option<ServerState>,
        challenge: Option<&ResourceChallenge>,
    ) -> Result<()> {
        if st.is_some() {
            return Ok(());
        }
        let options = DiscoveryOptions {
            resource_metadata_url: challenge.and_then(|c| c.resource_metadata.clone()),
            challenged_scope: challenge.and_then(|c| c.scope.clone()),
            resource_match: self.inner.config.resource_match,
            ..Default::default()
        };
        let idp_issuer = self
            .inner
            .config
            .idp
            .issuer
            .clone()
            .filter(|_| self.inner.config.idp.token_endpoint.is_none())
            .filter(|_| lock(&self.inner.idp_endpoint).is_none());
        let discovery = std::thread::scope(|scope| {
            let idp = idp_issuer.map(|issuer| {
                let client = self.inner.client.clone();
                scope.spawn(move || client.authorization_server_metadata(&issuer))
            });
            let d = self.inner.client.discover(server_url, &options);
            if let Some(h) = idp {
                // The IdP metadata lands in the client cache; its errors resurface (with the
                // right step) when leg 1 needs it.
                let _ = h.join();
            }
            d
        })?;
        let creds = self.inner.config.as_credentials(discovery.audience())?;
        *st = Some(ServerState {
            discovery,
            creds,
            scope: None,
            step_ups: 0,
            challenge_streak: 0,
            current: None,
        });
        Ok(())
    }

    fn slot_for(&self, server_url: &str) -> Result<(Arc<TokenKey>, Arc<Slot>)> {
        let entry = self.server_entry(server_url);
        let mut st = lock(&entry.state);
        self.ensure_discovered(server_url, &mut st, None)?;
        let s = st
            .as_mut()
            .ok_or_else(|| Error::internal(Step::Discovery, "no server state"))?;
        if let Some((key, slot)) = &s.current {
            return Ok((key.clone(), slot.clone()));
        }
        let key = Arc::new(TokenKey {
            resource: s.discovery.resource().to_string(),
            issuer: s.discovery.audience().to_string(),
            scope: self.effective_scope(server_url, s).unwrap_or_default(),
            client_id: s.creds.client_id.clone(),
        });
        let slot = lock(&self.inner.slots)
            .entry((*key).clone())
            .or_default()
            .clone();
        s.current = Some((key.clone(), slot.clone()));
        Ok((key, slot))
    }

    /// When a token minted now and expiring at `expires_at` should be renewed: `margin`
    /// before expiry, but at most half its lifetime (short tokens renew at half-life).
    fn renew_at(&self, expires_at: i64) -> i64 {
        let now = self.now_ms() / 1000;
        let lifetime = (expires_at - now).max(0);
        expires_at - self.inner.margin_s.min(lifetime / 2)
    }

    fn token_from_slot(
        &self,
        server_url: &str,
        key: &TokenKey,
        slot: &Slot,
        force: bool,
    ) -> Result<Token> {
        let mut g = lock(&slot.state);
        let mut forced = force;
        loop {
            if !forced {
                if let Some(t) = &g.token {
                    if self.now_ms() / 1000 < g.renew_at {
                        return Ok(t.clone());
                    }
                }
            }
            if g.in_flight {
                let waiting_for = g.flight;
                while g.in_flight && g.flight == waiting_for {
                    g = slot.cond.wait(g).unwrap_or_else(|p| p.into_inner());
                }
                if let Some((f, e)) = &g.last {
                    if *f == waiting_for {
                        return Err(e.clone());
                    }
                }
                if let Some(t) = &g.token {
                    return Ok(t.clone());
                }
                forced = false;
                continue;
            }
            g.in_flight = true;
            g.flight += 1;
            let flight = g.flight;
            drop(g);
            let result = self.mint(server_url, key);
            g = lock(&slot.state);
            g.in_flight = false;
            let out = match result {
                Ok(t) => {
                    g.token = Some(t.clone());
                    g.minted_at_ms = self.now_ms();
                    g.renew_at = self.renew_at(t.expires_at);
                    g.by_challenge = force;
                    g.last = None;
                    Ok(t)
                }
                Err(e) => {
                    g.last = Some((flight, e.clone()));
                    Err(e)
                }
            };
            slot.cond.notify_all();
            return out;
        }
    }

    /// The IdP token endpoint: configured, or from the IdP's metadata — resolved once per
    /// session, so a warm renewal is exactly leg 1 and leg 2.
    fn idp_endpoint(&self) -> Result<Arc<IdpEndpoint>> {
        if let Some(e) = lock(&self.inner.idp_endpoint).as_ref() {
            return Ok(e.clone());
        }
        let idp = &self.inner.config.idp;
        let resolved = if let Some(te) = &idp.token_endpoint {
            IdpEndpoint {
                token_endpoint: te.clone(),
                issuer: idp.issuer.clone(),
                auth_methods: None,
            }
        } else {
            let issuer = idp.issuer.as_deref().ok_or_else(|| {
                Error::configuration("`idp.issuer` or `idp.token_endpoint` is required")
            })?;
            let meta: Arc<AuthorizationServerMetadata> = self
                .inner
                .client
                .authorization_server_metadata(issuer)
                .map_err(|e| e.with_step(Step::Discovery))?;
            IdpEndpoint {
                token_endpoint: meta.token_endpoint(Step::Discovery)?.to_string(),
                issuer: Some(meta.issuer.clone()),
                auth_methods: Some(meta.auth_methods()),
            }
        };
        let resolved = Arc::new(resolved);
        *lock(&self.inner.idp_endpoint) = Some(resolved.clone());
        Ok(resolved)
    }

    /// The current subject token, renewed through the IdP refresh token when the ID token
    /// has expired. Returns (token, type, generation).
    fn current_subject(&self, idp: &IdpEndpoint) -> Result<(SecretString, SubjectTokenType, u64)> {
        let (token, tt, refresh, generation) = {
            let s = lock(&self.inner.subject);
            (
                s.token.clone(),
                s.token_type,
                s.refresh_token.is_some(),
                s.generation,
            )
        };
        let expired = match (&token, tt) {
            (None, _) => true,
            (Some(t), SubjectTokenType::IdToken) => crate::jwt::unverified_exp(t.expose_secret())
                .is_some_and(|exp| exp - SUBJECT_EXPIRY_MARGIN_S <= self.now_ms() / 1000),
            _ => false,
        };
        match (token, expired) {
            (Some(t), false) => Ok((t, tt, generation)),
            (_, true) if refresh => {
                self.refresh_subject(idp, generation)?;
                let s = lock(&self.inner.subject);
                let t = s.token.clone().ok_or_else(|| {
                    Error::internal(Step::IdpRefresh, "refresh produced no subject token")
                })?;
                Ok((t, s.token_type, s.generation))
            }
            (None, _) => Err(Error::new(
                ErrorKind::ReauthenticationRequired,
                Step::IdpExchange,
                "no subject token: sign the user in and call set_subject_token",
            )),
            (Some(_), true) => Err(Error::new(
                ErrorKind::ReauthenticationRequired,
                Step::IdpExchange,
                "the user's ID token has expired and no IdP refresh token is configured: sign the user in again",
            )),
        }
    }

    /// Renews the ID token with the IdP refresh token (single-flight; rotation honoured).
    fn refresh_subject(&self, idp: &IdpEndpoint, seen_generation: u64) -> Result<()> {
        let _one_at_a_time = lock(&self.inner.refresh_lock);
        let rt = {
            let s = lock(&self.inner.subject);
            if s.generation != seen_generation {
                return Ok(()); // another thread refreshed meanwhile
            }
            s.refresh_token.clone()
        };
        let Some(rt) = rt else {
            return Err(Error::new(
                ErrorKind::ReauthenticationRequired,
                Step::IdpRefresh,
                "the user's identity assertion was rejected and no IdP refresh token is configured: sign the user in again",
            ));
        };
        let r = self
            .inner
            .client
            .refresh_id_token(
                &idp.token_endpoint,
                idp.issuer.as_deref(),
                &rt,
                &self.inner.idp_credentials,
                idp.auth_methods.as_deref(),
            )
            .map_err(|e| {
                if e.kind() == ErrorKind::OauthError
                    && e.oauth_error().is_some_and(|o| o.error == "invalid_grant")
                {
                    Error::new(
                        ErrorKind::ReauthenticationRequired,
                        Step::IdpRefresh,
                        "the IdP refresh token was rejected: sign the user in again",
                    )
                    .with_oauth_from(e)
                } else {
                    e
                }
            })?;
        let mut s = lock(&self.inner.subject);
        s.token = Some(r.id_token);
        s.token_type = SubjectTokenType::IdToken;
        if let Some(new_rt) = r.refresh_token {
            s.refresh_token = Some(new_rt);
        }
        s.generation += 1;
        Ok(())
    }

    /// Leg 1 + leg 2 for `key`, with one retry for a rejected subject token (after a refresh)
    /// and one for an `invalid_grant` at the AS (fresh ID-JAG).
    fn mint(&self, server_url: &str, key: &TokenKey) -> Result<Token> {
        let (as_meta, resource, as_creds) = {
            let entry = self.server_entry(server_url);
            let st = lock(&entry.state);
            let s = st
                .as_ref()
                .ok_or_else(|| Error::internal(Step::AsGrant, "no server state"))?;
            (
                s.discovery.authorization_server.clone(),
                s.discovery.resource().to_string(),
                s.creds.clone(),
            )
        };
        let idp = self.idp_endpoint()?;
        let token_endpoint = as_meta.token_endpoint(Step::AsGrant)?.to_string();
        let scope = (!key.scope.is_empty()).then_some(key.scope.as_str());
        let mut grant_retry = true;
        loop {
            let jag = self.leg1(&idp, &as_meta.issuer, &resource, scope)?;
            let claims = crate::jwt::inspect(jag.assertion.expose_secret(), 0)
                .ok()
                .map(|i| i.claims)
                .filter(|c| !c.is_empty());
            let mut redeem =
                RedeemRequest::new(token_endpoint.clone(), jag.assertion, as_creds.clone())
                    .issuer(as_meta.issuer.clone())
                    .resource(resource.clone());
            redeem.scope = scope.map(str::to_string);
            redeem.auth_methods_supported = Some(as_meta.auth_methods());
            match self.inner.client.redeem_id_jag(&redeem) {
                Ok(at) => {
                    let now = self.now_ms() / 1000;
                    return Ok(Token {
                        access_token: at.access_token,
                        token_type: at.token_type,
                        expires_at: at.expires_at.unwrap_or(now + self.inner.default_lifetime_s),
                        scope: at.scope,
                        resource,
                        authorization_server: as_meta.issuer.clone(),
                        id_jag_claims: claims.map(Arc::new),
                    });
                }
                // A rejected ID-JAG (expired, replayed…): one retry with a fresh one.
                Err(e)
                    if grant_retry
                        && e.oauth_error().is_some_and(|o| o.error == "invalid_grant") =>
                {
                    grant_retry = false;
                    continue;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Leg 1 with the subject-token lifecycle: an expired ID token is renewed with the IdP
    /// refresh token first; a subject token the IdP rejects is renewed once and retried;
    /// otherwise `reauthentication_required`.
    fn leg1(
        &self,
        idp: &IdpEndpoint,
        audience: &str,
        resource: &str,
        scope: Option<&str>,
    ) -> Result<IdJag> {
        let mut subject_retry = true;
        loop {
            let (subject, subject_type, generation) = self.current_subject(idp)?;
            let mut req = IdJagRequest::new(
                idp.token_endpoint.clone(),
                audience,
                subject,
                subject_type,
                self.inner.idp_credentials.clone(),
            )
            .resource(resource);
            req.idp_issuer = idp.issuer.clone();
            req.scope = scope.map(str::to_string);
            req.auth_methods_supported = idp.auth_methods.clone();
            match self.inner.client.request_id_jag(&req) {
                Ok(j) => return Ok(j),
                Err(e) if subject_rejected(&e) => {
                    let has_refresh = lock(&self.inner.subject).refresh_token.is_some();
                    if subject_retry && has_refresh {
                        subject_retry = false;
                        self.refresh_subject(idp, generation)?;
                        continue;
                    }
                    return Err(Error::new(
                        ErrorKind::ReauthenticationRequired,
                        Step::IdpExchange,
                        "the IdP rejected the user's identity assertion: sign the user in again",
                    )
                    .with_oauth_from(e));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Leg 1 alone, for hosts whose own code redeems the ID-JAG (e.g. an SDK's
    /// identity-assertion provider): exchanges the session's subject token at the IdP for an
    /// ID-JAG for `audience` (the authorization server's issuer) and `resource`, with the same
    /// IdP endpoint, credentials and subject-token lifecycle as [`Session::access_token`].
    /// Every call mints a fresh ID-JAG (authorization servers accept each only once).
    pub fn request_id_jag(
        &self,
        audience: &str,
        resource: &str,
        scope: Option<&str>,
    ) -> Result<IdJag> {
        let idp = self.idp_endpoint()?;
        self.leg1(&idp, audience, resource, scope)
    }
}

/// SPEC §5 Q3: at the IdP, `invalid_grant` and `invalid_request` both may mean "subject token
/// rejected"; `invalid_request` is only taken as such when its description mentions the
/// subject token, to avoid masking genuine request bugs.
fn subject_rejected(e: &Error) -> bool {
    let Some(o) = e.oauth_error() else {
        return false;
    };
    match o.error.as_str() {
        "invalid_grant" => true,
        "invalid_request" => o
            .error_description
            .as_deref()
            .is_some_and(|d| d.to_ascii_lowercase().contains("subject")),
        _ => false,
    }
}

impl Error {
    /// Copies the status and OAuth error body of `other` onto this error.
    pub(crate) fn with_oauth_from(mut self, other: Error) -> Error {
        if let Some(s) = other.status() {
            self = self.with_status(s);
        }
        if let Some(o) = other.oauth_error() {
            self = self.with_oauth_body(o.clone());
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_union_is_sorted_and_deduplicated() {
        assert_eq!(union_scopes(Some("b a"), "c a"), "a b c");
        assert_eq!(union_scopes(None, "x"), "x");
        assert_eq!(normalize_scope(" b  a b"), "a b");
    }

    #[test]
    fn token_debug_is_redacted() {
        let t = Token {
            access_token: SecretString::new("planted-token"),
            token_type: "Bearer".into(),
            expires_at: 0,
            scope: None,
            resource: "r".into(),
            authorization_server: "a".into(),
            id_jag_claims: None,
        };
        assert!(!format!("{t:?}").contains("planted-token"));
    }
}
