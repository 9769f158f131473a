//! `Session`: the high-level MCP client (one per signed-in user), and `Token`.

use crate::args;
use crate::convert;
use crate::errors;
use crate::events::Events;
use crate::task::{self, Owner};
use idjag::{SessionConfig, SubjectTokenType};
use napi::bindgen_prelude::{Function, JsObjectValue, Object, This, Unknown};
use napi::{Env, JsValue, Result};
use napi_derive::napi;
use std::sync::Arc;

/// An access token for one MCP server. Immutable. `util.inspect`, `console.log`,
/// `JSON.stringify` and `String()` never show the token: read it through `accessToken` (or
/// `authorization`, the whole header value).
#[napi]
pub struct Token {
    pub(crate) t: Arc<idjag::Token>,
}

impl Token {
    pub(crate) fn from_core(t: idjag::Token) -> Token {
        Token { t: Arc::new(t) }
    }
}

#[napi]
impl Token {
    /// The access token itself (a secret: do not log it).
    #[napi(getter)]
    pub fn access_token(&self) -> String {
        self.t.bare_token().to_string()
    }

    /// The `Authorization` header value, `Bearer <token>` (a secret: do not log it).
    #[napi(getter)]
    pub fn authorization(&self) -> String {
        self.t.authorization_header()
    }

    /// Always `Bearer`.
    #[napi(getter)]
    pub fn token_type(&self) -> String {
        self.t.token_type.clone()
    }

    /// Expiry, Unix seconds.
    #[napi(getter)]
    pub fn expires_at(&self) -> i64 {
        self.t.expires_at
    }

    /// The granted scope, if known.
    #[napi(getter)]
    pub fn scope(&self) -> Option<String> {
        self.t.scope.clone()
    }

    /// The MCP server's resource identifier.
    #[napi(getter)]
    pub fn resource(&self) -> String {
        self.t.resource.clone()
    }

    /// The issuer of the authorization server that issued the token.
    #[napi(getter)]
    pub fn authorization_server(&self) -> String {
        self.t.authorization_server.clone()
    }

    /// The decoded, unverified claims of the ID-JAG this token was redeemed from (personal
    /// data such as `sub` or `email`, never a secret), or `null`.
    #[napi(getter, ts_return_type = "Record<string, unknown> | null")]
    pub fn id_jag_claims(&self) -> Option<serde_json::Value> {
        self.t
            .id_jag_claims
            .as_ref()
            .map(|c| serde_json::Value::Object((**c).clone()))
    }

    /// Whether `presented` (the bare token or a whole `Bearer …` value) is this token
    /// (constant-time).
    #[napi(ts_args_type = "presented: string")]
    pub fn matches(&self, env: Env, presented: Unknown) -> Result<bool> {
        Ok(self.t.matches(&args::string(&env, presented, "presented")?))
    }

    /// The non-secret fields (what `JSON.stringify` shows).
    #[napi(js_name = "toJSON", ts_return_type = "TokenInfo")]
    pub fn to_json(&self) -> serde_json::Value {
        convert::to_js(&*self.t)
    }

    /// `Token(resource=…, expiresAt=…, accessToken=<redacted>)`.
    #[napi(js_name = "toString")]
    pub fn to_display(&self) -> String {
        format!(
            "Token(resource={}, authorizationServer={}, scope={}, expiresAt={}, accessToken=<redacted>)",
            self.t.resource,
            self.t.authorization_server,
            self.t.scope.as_deref().unwrap_or("null"),
            self.t.expires_at
        )
    }
}

/// JSON text from a string (as is) or an object that is not an array (`JSON.stringify`).
pub(crate) fn json_text(env: &Env, v: Unknown<'_>, what: &str) -> Result<String> {
    match v.get_type()? {
        napi::ValueType::String => v.coerce_to_string()?.into_utf8()?.into_owned(),
        napi::ValueType::Object if !v.is_array()? => {
            let json: Object = env.get_global()?.get_named_property("JSON")?;
            let stringify: Function<Unknown, Option<String>> =
                json.get_named_property("stringify")?;
            stringify.apply(json, v)?.ok_or_else(|| {
                errors::invalid_argument(env, &format!("{what} must be a JSON object"))
            })
        }
        _ => Err(errors::invalid_argument(
            env,
            &format!("{what} must be an object or a JSON string"),
        )),
    }
}

/// `id_token`, `saml2`, `refresh_token` or the URN.
pub(crate) fn subject_type(env: &Env, s: Option<&str>) -> Result<SubjectTokenType> {
    match s {
        None => Ok(SubjectTokenType::IdToken),
        Some(s) => SubjectTokenType::parse(s).ok_or_else(|| {
            errors::invalid_argument(
                env,
                "subjectTokenType must be `id_token`, `saml2` or `refresh_token` (or the URN)",
            )
        }),
    }
}

/// Runs a synchronous core call, turning its error into a thrown `IdjagError` and a panic
/// into an `internal` one.
pub(crate) fn sync<T>(env: &Env, what: &str, f: impl FnOnce() -> idjag::Result<T>) -> Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(errors::to_napi(env, &e)),
        Err(_) => Err(errors::to_napi(env, &errors::panic_error(what))),
    }
}

/// The high-level MCP client: discovers, exchanges, redeems, caches and renews access tokens
/// for MCP servers, and reacts to 401/403 challenges. One per signed-in user; share it.
///
/// Network work runs on the libuv thread pool (4 threads by default, shared with `fs`,
/// `dns.lookup` and `crypto`; raise `UV_THREADPOOL_SIZE` for many concurrent renewals).
/// A cached token is answered on the event loop without any thread hop.
#[napi]
pub struct Session {
    inner: idjag::Session,
    events: Events,
}

#[napi]
impl Session {
    /// `config`: the shared configuration shape (docs/GUIDE.md), as an object or a JSON
    /// string. `options.onEvent(event)` receives every HTTP exchange (`type: "http"`) and
    /// every session notice (`type: "notice"`), never a secret, in order, just before the
    /// call that raised them settles.
    #[napi(
        constructor,
        ts_args_type = "config: SessionConfig | string, options?: { onEvent?: (event: SessionEvent) => void }"
    )]
    pub fn new(
        env: Env,
        mut this: This,
        config: Unknown,
        options: Option<Unknown>,
    ) -> Result<Self> {
        let json = json_text(&env, config, "config")?;
        let options = args::opt_object(&env, options, "options")?;
        args::known_keys(&env, options.as_ref(), &["onEvent"])?;
        let events = Events::install(&env, &mut this.object, options.as_ref())?;
        let (hook, notice_hook) = (events.hook(), events.notice_hook());
        let inner = sync(&env, "Session()", move || {
            let cfg = SessionConfig::from_json(&json)?;
            let mut b = idjag::Session::builder(cfg);
            if let Some(h) = hook {
                b = b.on_event(h);
            }
            if let Some(h) = notice_hook {
                b = b.on_notice(h);
            }
            b.build()
        })?;
        Ok(Session { inner, events })
    }

    /// An access token for the MCP server at `serverUrl`: from the cache (no I/O, no thread
    /// hop), or discovered, exchanged and redeemed on the libuv pool.
    #[napi(
        ts_args_type = "serverUrl: string | URL, options?: CallOptions",
        ts_return_type = "Promise<Token>"
    )]
    pub fn access_token<'e>(
        &self,
        env: &'e Env,
        this: This,
        server_url: Unknown,
        options: Option<Unknown<'e>>,
    ) -> Result<Unknown<'e>> {
        let server_url = args::url(env, server_url, "serverUrl")?;
        let options = args::opt_object(env, options, "options")?;
        let signal = task::signal(env, options.as_ref())?;
        if signal.as_ref().is_none_or(|s| !task::aborted(s)) {
            if let Some(t) = self.inner.cached_token(&server_url) {
                return task::resolved(env, Token::from_core(t));
            }
        }
        let s = self.inner.clone();
        task::spawn(
            env,
            "Session.accessToken",
            Owner::of(&this.object, &self.events)?,
            signal,
            move || s.access_token(&server_url),
            Token::from_core,
        )
    }

    /// The token `accessToken(serverUrl)` would return right now without any I/O, or `null`
    /// when a call would have to talk to a server (nothing cached, renewal due).
    #[napi(ts_args_type = "serverUrl: string | URL")]
    pub fn cached_token(&self, env: Env, server_url: Unknown) -> Result<Option<Token>> {
        let server_url = args::url(&env, server_url, "serverUrl")?;
        Ok(self.inner.cached_token(&server_url).map(Token::from_core))
    }

    /// Reacts to a 401/403 of the MCP server and returns the token to retry with (401: a new
    /// token unless `rejectedToken` is already stale; 403 `insufficient_scope`: a token with the
    /// union of scopes; other 403: rejects with action `denied`). Bounded: repeated
    /// challenges reject instead of looping. Pass the token the server rejected
    /// (`rejectedToken`, bare or `Bearer …`) so revocations are told apart from loops.
    #[napi(
        ts_args_type = "serverUrl: string | URL, status: number, wwwAuthenticate?: string | null, rejectedToken?: string | null, options?: CallOptions",
        ts_return_type = "Promise<Token>"
    )]
    #[allow(clippy::too_many_arguments)]
    pub fn handle_challenge<'e>(
        &self,
        env: &'e Env,
        this: This,
        server_url: Unknown,
        status: Unknown,
        www_authenticate: Option<Unknown>,
        rejected_token: Option<Unknown>,
        options: Option<Unknown<'e>>,
    ) -> Result<Unknown<'e>> {
        let server_url = args::url(env, server_url, "serverUrl")?;
        let status = args::status(env, status)?;
        let header =
            args::opt_string(env, www_authenticate, "wwwAuthenticate")?.unwrap_or_default();
        let rejected_token = args::opt_string(env, rejected_token, "rejectedToken")?;
        let options = args::opt_object(env, options, "options")?;
        let signal = task::signal(env, options.as_ref())?;
        let s = self.inner.clone();
        task::spawn(
            env,
            "Session.handleChallenge",
            Owner::of(&this.object, &self.events)?,
            signal,
            move || s.handle_challenge(&server_url, status, &header, rejected_token.as_deref()),
            Token::from_core,
        )
    }

    /// Discovery for `serverUrl` (cached per session): the protected-resource metadata, the
    /// authorization server and its metadata.
    #[napi(
        ts_args_type = "serverUrl: string | URL, options?: CallOptions",
        ts_return_type = "Promise<Discovery>"
    )]
    pub fn discover<'e>(
        &self,
        env: &'e Env,
        this: This,
        server_url: Unknown,
        options: Option<Unknown<'e>>,
    ) -> Result<Unknown<'e>> {
        let server_url = args::url(env, server_url, "serverUrl")?;
        let options = args::opt_object(env, options, "options")?;
        let signal = task::signal(env, options.as_ref())?;
        let s = self.inner.clone();
        task::spawn(
            env,
            "Session.discover",
            Owner::of(&this.object, &self.events)?,
            signal,
            move || s.discover(&server_url),
            |d| convert::to_js(&d),
        )
    }

    /// Leg 1 alone: an ID-JAG for `audience` (the authorization server's issuer) and
    /// `resource`, from the session's IdP with its subject-token lifecycle (renewal of an
    /// expired ID token with `idp_refresh_token` included). For SDK providers that redeem the
    /// ID-JAG themselves (`CrossAppAccessProvider`). Every call mints a fresh ID-JAG.
    #[napi(
        ts_args_type = "audience: string, resource: string, scope?: string | null, options?: CallOptions",
        ts_return_type = "Promise<IdJag>"
    )]
    pub fn request_id_jag<'e>(
        &self,
        env: &'e Env,
        this: This,
        audience: Unknown,
        resource: Unknown,
        scope: Option<Unknown>,
        options: Option<Unknown<'e>>,
    ) -> Result<Unknown<'e>> {
        let audience = args::string(env, audience, "audience")?;
        let resource = args::string(env, resource, "resource")?;
        let scope = args::opt_string(env, scope, "scope")?;
        let options = args::opt_object(env, options, "options")?;
        let signal = task::signal(env, options.as_ref())?;
        let s = self.inner.clone();
        task::spawn(
            env,
            "Session.requestIdJag",
            Owner::of(&this.object, &self.events)?,
            signal,
            move || s.request_id_jag(&audience, &resource, scope.as_deref()),
            crate::client::IdJag::from_core,
        )
    }

    /// Replaces the user's identity assertion (after the host app signed the user in again).
    /// Cached access tokens stay valid until they expire; a "work identity expired" state
    /// ends here.
    #[napi(
        ts_args_type = "token: string, tokenType?: SubjectTokenType, refreshToken?: string | null"
    )]
    pub fn set_subject_token(
        &self,
        env: Env,
        token: Unknown,
        token_type: Option<Unknown>,
        refresh_token: Option<Unknown>,
    ) -> Result<()> {
        let token = args::string(&env, token, "token")?;
        let token_type = args::opt_string(&env, token_type, "tokenType")?;
        let refresh_token = args::opt_string(&env, refresh_token, "refreshToken")?;
        let tt = subject_type(&env, token_type.as_deref())?;
        let token = idjag::SecretString::new(token);
        let refresh = refresh_token.map(idjag::SecretString::new);
        sync(&env, "Session.setSubjectToken", || {
            self.inner.set_subject_token(token, tt, refresh)
        })
    }

    /// Drops the cached tokens and discovery of `serverUrl`.
    #[napi(ts_args_type = "serverUrl: string | URL")]
    pub fn invalidate(&self, env: Env, server_url: Unknown) -> Result<()> {
        self.inner
            .invalidate(&args::url(&env, server_url, "serverUrl")?);
        Ok(())
    }

    /// `Session(…)`, without any secret.
    #[napi(js_name = "toString")]
    pub fn to_display(&self) -> String {
        "Session(…)".to_string()
    }
}
