//! [`Session`]: give it an MCP server URL, get a valid access token — cached, renewed before
//! expiry, single-flight across threads, reacting to 401/403 challenges.
//!
//! - Hot path (valid token cached): no I/O, a few short locks, no allocation beyond the
//!   returned token.
//! - Warm path (token near expiry, discovery cached): exactly two requests, leg 1 and leg 2,
//!   on the pooled keep-alive connections.
//! - Cold path: probe → PRM → AS metadata, with the IdP metadata fetched in parallel.
//! - Single-flight: callers asking for the same (resource, AS, scope, client) while a renewal
//!   is in flight wait for it and share its result or error. Different keys run in parallel.
//! - A fresh ID-JAG for every redemption (MCP authorization servers enforce single-use `jti`).
//!
//! # Locks, threads and callbacks
//! No lock of the session is held while it does network I/O, spawns a thread or calls user
//! code: waiters wait on a flight (a condition variable), not on a mutex held across I/O.
//! Event hooks ([`SessionBuilder::on_event`]) are called on the thread that made the session
//! call, after the call's work is done and every lock is released, just before it returns.
//! They may call anything, including this session for the same server; a panic inside a
//! hook is caught, ignored and counted ([`Session::event_hook_panics`]). Hooks of a
//! [`Client`] passed with [`SessionBuilder::client`] run during the request itself (still with
//! no lock held); a call from such a hook back into the session for the very token or server
//! its thread is fetching answers with the current token if one is still valid, else with an
//! `invalid_argument` error — it never waits for itself.
//!
//! Modules: `servers` (resolution of a server URL into an immutable target), `token`
//! (the cached token and its slot), `flight` (single-flight cells), `mint` (the two legs),
//! `subject` (the identity assertion's lifecycle), `challenge` (401/403), `events`
//! (deferred event delivery).

mod challenge;
mod events;
mod flight;
mod mint;
mod servers;
mod subject;
mod token;

pub use events::{Notice, NoticeHook, NoticeKind};
pub use token::Token;

use crate::client::{Client, EventHook};
use crate::client_auth::ClientCredentials;
use crate::clock::Clock;
use crate::config::SessionConfig;
use crate::discovery::{AuthorizationServerMetadata, Discovery};
use crate::error::{Error, Result, Step};
use crate::exchange::{IdJag, SubjectTokenType, TokenEndpoint};
use crate::secret::SecretString;
use flight::Cell;
use std::fmt;
use std::sync::Arc;

/// Where a workload session's JWT comes from (SEP-1933).
pub(crate) enum WorkloadSource {
    Value(SecretString),
    File(std::path::PathBuf),
    Callback(WorkloadAssertion),
}

/// Supplies the workload JWT for each token request (SEP-1933): read it from wherever the
/// platform rotates it. Called with no session lock held; errors surface from
/// `access_token` as they are.
pub type WorkloadAssertion = Arc<dyn Fn() -> Result<SecretString> + Send + Sync>;

pub(crate) struct Inner {
    client: Client,
    /// A workload identity instead of a user: no IdP, no leg 1.
    workload: Option<WorkloadSource>,
    config: SessionConfig,
    idp_credentials: ClientCredentials,
    /// The IdP token endpoint, resolved once (like the servers' discovery).
    idp: Cell<Arc<TokenEndpoint>>,
    subject: subject::Subject,
    servers: servers::Servers,
    hooks: Arc<events::Hooks>,
    /// AS issuers our credentials were used at (for [`NoticeKind::CredentialsFirstUse`]).
    credentials_used: std::sync::Mutex<std::collections::HashSet<String>>,
    margin_s: i64,
    default_lifetime_s: i64,
    max_step_ups: u8,
}

/// The high-level MCP client. `Send + Sync`, cheap to clone (shared state), no global state,
/// no runtime: one `Session` per signed-in user, shared by every thread. See the
/// [module documentation](self) for the lock and callback contract.
///
/// ```no_run
/// use idjag::{Session, SessionConfig};
/// let config = SessionConfig::from_json(r#"{
///     "idp": {"issuer": "https://idp.example.com", "client_id": "mcp-app", "client_secret": "s3cret"},
///     "subject_token": "<the user's ID token>",
///     "client": {"client_id": "mcp-app-at-as", "private_key_pem": "-----BEGIN PRIVATE KEY-----…"}
/// }"#)?;
/// let session = Session::new(config)?;
/// let token = session.access_token("https://mcp.example.com/mcp")?;
/// // send `Authorization: {token.authorization_header()}`; on a 401/403:
/// // let token = session.handle_challenge(url, status, www_authenticate, Some(token.bare_token()))?;
/// # Ok::<(), idjag::Error>(())
/// ```
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

/// Builds a [`Session`].
pub struct SessionBuilder {
    config: SessionConfig,
    client: Option<Client>,
    events: Vec<EventHook>,
    notices: Vec<NoticeHook>,
    workload: Option<WorkloadAssertion>,
    clock: Option<crate::clock::SharedClock>,
    http: Option<Arc<dyn crate::http::HttpClient>>,
}

impl fmt::Debug for SessionBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionBuilder").finish_non_exhaustive()
    }
}

impl SessionBuilder {
    /// Uses an existing [`Client`] (its HTTP stack, clock, events and cache). Its event hooks
    /// run during the requests themselves; see the [module documentation](self).
    pub fn client(mut self, client: Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Adds an event subscriber (ignored when [`SessionBuilder::client`] is used).
    ///
    /// It is called on the thread that made the session call, once that call's work is
    /// done and no lock is held, with each [`HttpEvent`](crate::HttpEvent) of the call in
    /// order. It may call any method of the session, for any server, including the one it
    /// reports on. A panic inside it is caught and ignored, and counted by
    /// [`Session::event_hook_panics`].
    pub fn on_event(mut self, hook: EventHook) -> Self {
        self.events.push(hook);
        self
    }

    /// Adds a [`Notice`] subscriber: trust decisions and state changes (first use of
    /// credentials at an authorization server, the work identity expiring). Same delivery
    /// contract as [`SessionBuilder::on_event`]; used with [`SessionBuilder::client`] too.
    pub fn on_notice(mut self, hook: NoticeHook) -> Self {
        self.notices.push(hook);
        self
    }

    /// A workload identity whose JWT this callback supplies for every token request
    /// (SEP-1933; instead of `workload.assertion` / `workload.assertion_file` in the
    /// configuration, which then needs neither `idp` nor a subject token).
    pub fn workload_assertion(mut self, source: WorkloadAssertion) -> Self {
        self.workload = Some(source);
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
    pub fn build(mut self) -> Result<Session> {
        if self.workload.is_some() && self.config.workload.is_none() {
            self.config.workload = Some(Default::default());
        }
        self.config.validate()?;
        let workload = match (self.workload, &self.config.workload) {
            (Some(cb), _) => Some(WorkloadSource::Callback(cb)),
            (None, Some(w)) => match (&w.assertion, &w.assertion_file) {
                (Some(a), _) => Some(WorkloadSource::Value(a.clone())),
                (None, Some(f)) => Some(WorkloadSource::File(f.into())),
                (None, None) => {
                    return Err(Error::configuration(
                        "configuration key `workload`: set `workload.assertion` or `workload.assertion_file` (or use SessionBuilder::workload_assertion)",
                    ))
                }
            },
            (None, None) => None,
        };
        let hooks = events::Hooks::new(self.events, self.notices);
        let client = match self.client {
            Some(c) => c,
            None => {
                let mut b = Client::builder().http_config(self.config.http_config());
                if !hooks.is_empty() {
                    b = b.on_event(hooks.client_hook());
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
        let idp_credentials = if workload.is_some() {
            ClientCredentials::new("")
        } else {
            self.config.idp_credentials()?
        };
        let cfg = self.config;
        Ok(Session {
            inner: Arc::new(Inner {
                subject: subject::Subject::new(
                    cfg.subject_token.clone(),
                    cfg.subject_token_type,
                    cfg.idp_refresh_token.clone(),
                ),
                margin_s: cfg.renewal_margin_s.unwrap_or(60).min(i64::MAX as u64) as i64,
                default_lifetime_s: cfg
                    .default_token_lifetime_s
                    .unwrap_or(300)
                    .min(i64::MAX as u64) as i64,
                max_step_ups: cfg.max_step_ups.unwrap_or(3),
                client,
                workload,
                idp_credentials,
                idp: Cell::default(),
                config: cfg,
                servers: Default::default(),
                hooks,
                credentials_used: Default::default(),
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
            notices: Vec::new(),
            workload: None,
            clock: None,
            http: None,
        }
    }

    /// The underlying protocol client.
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// How many times an event hook panicked (each panic was caught and ignored).
    pub fn event_hook_panics(&self) -> u64 {
        self.inner.hooks.panics()
    }

    /// An access token for `server_url`. Cache hit: no I/O.
    pub fn access_token(&self, server_url: &str) -> Result<Token> {
        if let Some(t) = self.cached_token(server_url) {
            return Ok(t);
        }
        self.deferring(|inner| {
            let entry = inner.servers.entry(server_url);
            let target = inner.target(server_url, &entry, None)?;
            inner.token_for(&target, false)
        })
    }

    /// The token [`Session::access_token`] would return right now without any I/O, or `None`
    /// when a call would have to talk to a server (nothing cached yet, renewal due, or the
    /// server is being discovered at this moment). Never blocks on network work: async hosts
    /// use it to answer on the event loop and go to a worker thread only when needed.
    pub fn cached_token(&self, server_url: &str) -> Option<Token> {
        let entry = self.inner.servers.get(server_url)?;
        let target = entry.target.peek()?;
        let minted = target.slot.peek()?;
        (self.inner.clock().now_secs() < minted.renew_at).then(|| minted.serve())
    }

    /// Discovery for `server_url` (cached per session).
    pub fn discover(&self, server_url: &str) -> Result<Discovery> {
        self.deferring(|inner| {
            let entry = inner.servers.entry(server_url);
            Ok(inner.target(server_url, &entry, None)?.discovery.clone())
        })
    }

    /// Drops the cached tokens and discovery of `server_url`.
    pub fn invalidate(&self, server_url: &str) {
        let Some(entry) = self.inner.servers.remove(server_url) else {
            return;
        };
        if let Some(t) = entry.target.update(|t| t.take()) {
            self.inner
                .client
                .forget_resource(server_url, &t.discovery.resource_metadata_url);
            self.inner
                .servers
                .forget_slots(&t.key.resource, &t.key.issuer);
        }
    }

    /// Replaces the user's identity assertion (after the host app signed the user in again).
    /// Cached access tokens stay valid until they expire; new exchanges use the new token,
    /// and a "work identity expired" state (every call failing with
    /// `reauthentication_required`) ends here.
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
        self.inner.subject.set(token, token_type, refresh_token);
        Ok(())
    }

    /// Reacts to a 401/403 from the MCP server (MCP §Scope Challenge
    /// Handling) and returns the token to retry with.
    ///
    /// Pass the token the server rejected (`rejected_token`: the bare token or the whole
    /// `Bearer …` value) so the session can tell revocations apart from loops:
    /// - 401 against an older token → the current token, at once;
    /// - 401 against the current token → a new one (concurrent challengers share one
    ///   exchange); only a token rejected right after its own minting, several times in a
    ///   row, fails with a `configuration` error instead of looping;
    /// - 403 `insufficient_scope` → step up to the union of scopes (at most `max_step_ups`);
    ///   any other 403 → an error with action `denied`;
    /// - a changed `resource_metadata` URL → rediscovery.
    ///
    /// Without `rejected_token`, a token minted by a challenge in the last 2 s is handed to
    /// further 401s (callers that cannot say which token failed).
    pub fn handle_challenge(
        &self,
        server_url: &str,
        status: u16,
        www_authenticate: &str,
        rejected_token: Option<&str>,
    ) -> Result<Token> {
        self.deferring(|inner| {
            inner.handle_challenge(server_url, status, www_authenticate, rejected_token)
        })
    }

    /// Leg 1 alone, for hosts whose own code redeems the ID-JAG (e.g. an SDK's
    /// identity-assertion provider): exchanges the session's subject token at the IdP for an
    /// ID-JAG for `audience` (the authorization server's issuer) and `resource`, with the same
    /// IdP endpoint, credentials and subject-token lifecycle as [`Session::access_token`].
    /// Every call mints a fresh ID-JAG (authorization servers accept each only once).
    ///
    /// Without `scope` the session chooses it as for `access_token`: `scopes[resource]`, else
    /// `scope`, else the scope of a server it already resolved for this `resource` (its
    /// challenge or PRM), else the `scopes_supported` of the resource's PRM (fetched once and
    /// cached; a failure to fetch it means no scope), else none.
    pub fn request_id_jag(
        &self,
        audience: &str,
        resource: &str,
        scope: Option<&str>,
    ) -> Result<IdJag> {
        self.deferring(|inner| {
            if inner.workload.is_some() {
                return Err(Error::configuration(
                    "this session has a workload identity (`workload`): there is no IdP and no ID-JAG",
                ));
            }
            let idp = inner.idp_endpoint()?;
            let chosen;
            let scope = match scope {
                Some(s) => Some(s),
                None => {
                    chosen = inner.leg1_scope_for(resource);
                    chosen.as_deref()
                }
            };
            inner.leg1(&idp, audience, resource, scope)
        })
    }

    /// Runs `f` with this thread's events held back, then delivers them (no lock held).
    fn deferring<T>(&self, f: impl FnOnce(&Inner) -> Result<T>) -> Result<T> {
        let deferred = events::Deferred::begin();
        let r = f(&self.inner);
        deferred.deliver();
        r
    }
}

impl Inner {
    /// The leg-1 scope for `resource` when the caller gave none (see
    /// [`Session::request_id_jag`]).
    fn leg1_scope_for(&self, resource: &str) -> Option<String> {
        let configured = self
            .config
            .scopes
            .get(resource)
            .or(self.config.scope.as_ref())
            .and_then(|s| servers::normalize_scope(s));
        if configured.is_some() {
            return configured;
        }
        if let Some(known) = self.servers.scope_of_resource(resource) {
            return known;
        }
        let (_, prm) = self
            .client
            .protected_resource_metadata(resource, None, self.config.resource_match)
            .ok()?;
        prm.scopes_supported
            .as_ref()
            .and_then(|s| servers::normalize_scope(&s.join(" ")))
    }

    fn clock(&self) -> &dyn Clock {
        &**self.client.clock()
    }

    /// The IdP token endpoint: configured, or from the IdP's metadata — resolved once per
    /// session (single-flight), so a warm renewal is exactly leg 1 and leg 2.
    fn idp_endpoint(&self) -> Result<Arc<TokenEndpoint>> {
        self.idp.get_or_fetch(
            |_| true,
            || {
                let idp = &self.config.idp;
                let creds = self.idp_credentials.clone();
                if let Some(te) = &idp.token_endpoint {
                    let mut e = TokenEndpoint::new(te.clone(), creds);
                    e.issuer = idp.issuer.clone();
                    return Ok(Arc::new(e));
                }
                let issuer = idp.issuer.as_deref().ok_or_else(|| {
                    Error::configuration("`idp.issuer` or `idp.token_endpoint` is required")
                })?;
                let meta: Arc<AuthorizationServerMetadata> = self
                    .client
                    .authorization_server_metadata(issuer)
                    .map_err(|e| e.with_step(Step::Discovery))?;
                Ok(Arc::new(TokenEndpoint::from_metadata(
                    &meta,
                    creds,
                    Step::Discovery,
                )?))
            },
            |_| {
                Err(Error::new(
                    crate::ErrorKind::InvalidArgument,
                    Step::Discovery,
                    "called from an event callback while this thread is resolving the IdP",
                ))
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(secret: &str) -> Token {
        Token {
            access_token: SecretString::new(secret),
            token_type: "Bearer".into(),
            expires_at: 0,
            scope: None,
            resource: "r".into(),
            authorization_server: "a".into(),
            id_jag_claims: None,
        }
    }

    #[test]
    fn scope_is_normalised() {
        assert_eq!(servers::normalize_scope(" b  a b").as_deref(), Some("a b"));
        assert_eq!(servers::normalize_scope("  "), None);
    }

    #[test]
    fn token_debug_and_json_are_redacted() {
        let t = token("planted-token");
        assert!(!format!("{t:?}").contains("planted-token"));
        let j = serde_json::to_string(&t).expect("json");
        assert!(!j.contains("planted-token"), "{j}");
        assert!(j.contains("\"resource\":\"r\""), "{j}");
    }

    #[test]
    fn token_matches_bare_or_header_value() {
        let t = token("abc.def");
        assert!(t.matches("abc.def"));
        assert!(t.matches("Bearer abc.def"));
        assert!(t.matches("bearer  abc.def "));
        assert!(!t.matches("abc.de"));
        assert!(!t.matches("Bearer abc.defg"));
        assert_eq!(t.bare_token(), "abc.def");
        assert_eq!(t.authorization_header(), "Bearer abc.def");
    }
}
