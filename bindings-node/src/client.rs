//! `Client`: the two legs as plain calls (leg 1 `requestIdJag`, leg 2 `redeemIdJag`), for
//! callers that manage discovery and caching themselves; and their results `IdJag` and
//! `AccessToken`.

use crate::args;
use crate::convert;
use crate::events::Events;
use crate::session::{json_text, sync};
use crate::task::{self, Owner};
use idjag::http::HttpConfig;
use idjag::{IdJagRequest, RedeemRequest};
use napi::bindgen_prelude::{JsObjectValue, This, Unknown};
use napi::{Env, Result};
use napi_derive::napi;

/// Leg 1 result: an ID-JAG. Immutable; `util.inspect`, `JSON.stringify` and `String()` never
/// show the assertion: read it through `assertion`.
#[napi]
pub struct IdJag {
    j: idjag::IdJag,
}

impl IdJag {
    pub(crate) fn from_core(j: idjag::IdJag) -> IdJag {
        IdJag { j }
    }
}

#[napi]
impl IdJag {
    /// The ID-JAG (a secret: do not log it).
    #[napi(getter)]
    pub fn assertion(&self) -> String {
        self.j.assertion.expose_secret().to_string()
    }

    /// `issued_token_type` (always the id-jag URN).
    #[napi(getter)]
    pub fn issued_token_type(&self) -> String {
        self.j.issued_token_type.clone()
    }

    /// `token_type` as sent (`N_A`), if any.
    #[napi(getter)]
    pub fn token_type(&self) -> Option<String> {
        self.j.token_type.clone()
    }

    /// `expires_in` seconds, if sent.
    #[napi(getter)]
    pub fn expires_in(&self) -> Option<i64> {
        self.j.expires_in.map(|v| v.min(i64::MAX as u64) as i64)
    }

    /// Expiry (Unix seconds): from `expires_in` at receipt, else the JWT `exp` claim.
    #[napi(getter)]
    pub fn expires_at(&self) -> Option<i64> {
        self.j.expires_at
    }

    /// The granted scope (the `scope` member, else the requested one).
    #[napi(getter)]
    pub fn scope(&self) -> Option<String> {
        self.j.scope.clone()
    }

    /// The granted resources, if the IdP returned them.
    #[napi(getter)]
    pub fn resource(&self) -> Option<Vec<String>> {
        self.j.resource.clone()
    }

    /// The non-secret fields (what `JSON.stringify` shows).
    #[napi(js_name = "toJSON", ts_return_type = "IdJagInfo")]
    pub fn to_json(&self) -> serde_json::Value {
        convert::to_js(&self.j)
    }

    /// `IdJag(expiresAt=…, scope=…, assertion=<redacted>)`.
    #[napi(js_name = "toString")]
    pub fn to_display(&self) -> String {
        format!(
            "IdJag(expiresAt={}, scope={}, assertion=<redacted>)",
            opt(self.j.expires_at),
            self.j.scope.as_deref().unwrap_or("null")
        )
    }
}

/// Leg 2 result: an access token. Immutable; `util.inspect`, `JSON.stringify` and `String()`
/// never show the token: read it through `accessToken`.
#[napi]
pub struct AccessToken {
    t: idjag::AccessToken,
}

#[napi]
impl AccessToken {
    /// The access token (a secret: do not log it).
    #[napi(getter)]
    pub fn access_token(&self) -> String {
        self.t.access_token.expose_secret().to_string()
    }

    /// `Bearer`.
    #[napi(getter)]
    pub fn token_type(&self) -> String {
        self.t.token_type.clone()
    }

    /// `expires_in` seconds, if sent.
    #[napi(getter)]
    pub fn expires_in(&self) -> Option<i64> {
        self.t.expires_in.map(|v| v.min(i64::MAX as u64) as i64)
    }

    /// Expiry (Unix seconds), when `expires_in` was sent.
    #[napi(getter)]
    pub fn expires_at(&self) -> Option<i64> {
        self.t.expires_at
    }

    /// The granted scope (the `scope` member, else the requested one).
    #[napi(getter)]
    pub fn scope(&self) -> Option<String> {
        self.t.scope.clone()
    }

    /// The granted resources, if the server returned them.
    #[napi(getter)]
    pub fn resource(&self) -> Option<Vec<String>> {
        self.t.resource.clone()
    }

    /// The non-secret fields (what `JSON.stringify` shows).
    #[napi(js_name = "toJSON", ts_return_type = "AccessTokenInfo")]
    pub fn to_json(&self) -> serde_json::Value {
        convert::to_js(&self.t)
    }

    /// `AccessToken(expiresAt=…, scope=…, accessToken=<redacted>)`.
    #[napi(js_name = "toString")]
    pub fn to_display(&self) -> String {
        format!(
            "AccessToken(expiresAt={}, scope={}, accessToken=<redacted>)",
            opt(self.t.expires_at),
            self.t.scope.as_deref().unwrap_or("null")
        )
    }
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "null".to_string(), |n| n.to_string())
}

/// The protocol client: leg 1 and leg 2 as plain calls, one pooled HTTP agent. Share it.
#[napi]
pub struct Client {
    inner: idjag::Client,
    events: Events,
}

#[napi]
impl Client {
    /// A client with its own HTTP agent. `options.http`: the HTTP keys of the shared
    /// configuration (`timeout_ms`, `connect_timeout_ms`, `read_timeout_ms`, `ca_bundle_pem`,
    /// `proxy`, `max_metadata_bytes`, `max_token_bytes`), as an object or a JSON string,
    /// parsed and checked by the core (`HttpConfig::from_json`).
    #[napi(constructor, ts_args_type = "options?: ClientOptions")]
    pub fn new(env: Env, mut this: This, options: Option<Unknown>) -> Result<Self> {
        let options = args::opt_object(&env, options, "options")?;
        let o = options.as_ref();
        args::known_keys(&env, o, &["http", "onEvent", "insecureFixedClock"])?;
        let fixed = args::opt_int(&env, o, "insecureFixedClock", 0, i64::from(u32::MAX) * 100)?;
        let http = match o {
            Some(o) => match o.get_named_property::<Unknown>("http")? {
                h if args::is_absent(&h)? => None,
                h => Some(json_text(&env, h, "options.http")?),
            },
            None => None,
        };
        let events = Events::install(&env, &mut this.object, o)?;
        let hook = events.hook();
        let inner = sync(&env, "Client()", move || {
            let http = match http {
                Some(json) => HttpConfig::from_json(&json)?,
                None => HttpConfig::default(),
            };
            let mut b = idjag::Client::builder().http_config(http);
            if let Some(h) = hook {
                b = b.on_event(h);
            }
            if let Some(t) = fixed {
                b = b.clock(std::sync::Arc::new(idjag::clock::ManualClock::new(t)));
            }
            b.build()
        })?;
        Ok(Client { inner, events })
    }

    /// Leg 1: exchanges the user's identity assertion at the IdP token endpoint for an
    /// ID-JAG (RFC 8693). `request`: the shared JSON shape of a leg-1 request (the IdP's
    /// `token_endpoint`, `issuer`, `auth_methods_supported` and `client`, plus `audience`,
    /// `resource`, `scope`, `subject_token`, `subject_token_type`), as an object or a JSON
    /// string, parsed by the core (`IdJagRequest::from_json`).
    #[napi(
        ts_args_type = "request: IdJagRequest | string, options?: CallOptions",
        ts_return_type = "Promise<IdJag>"
    )]
    pub fn request_id_jag<'e>(
        &self,
        env: &'e Env,
        this: This,
        request: Unknown,
        options: Option<Unknown<'e>>,
    ) -> Result<Unknown<'e>> {
        let json = json_text(env, request, "request")?;
        let options = args::opt_object(env, options, "options")?;
        let signal = task::signal(env, options.as_ref())?;
        let client = self.inner.clone();
        task::spawn(
            env,
            "Client.requestIdJag",
            Owner::of(&this.object, &self.events)?,
            signal,
            move || client.request_id_jag(&IdJagRequest::from_json(&json)?),
            IdJag::from_core,
        )
    }

    /// Leg 2: redeems an ID-JAG at the MCP authorization server's token endpoint for an
    /// access token (RFC 7523 jwt-bearer). `request`: the shared JSON shape of a leg-2
    /// request (the AS's `token_endpoint`, `issuer`, `auth_methods_supported` and `client`,
    /// plus `assertion`, `scope`, `resource`), parsed by the core (`RedeemRequest::from_json`).
    #[napi(
        ts_args_type = "request: RedeemRequest | string, options?: CallOptions",
        ts_return_type = "Promise<AccessToken>"
    )]
    pub fn redeem_id_jag<'e>(
        &self,
        env: &'e Env,
        this: This,
        request: Unknown,
        options: Option<Unknown<'e>>,
    ) -> Result<Unknown<'e>> {
        let json = json_text(env, request, "request")?;
        let options = args::opt_object(env, options, "options")?;
        let signal = task::signal(env, options.as_ref())?;
        let client = self.inner.clone();
        task::spawn(
            env,
            "Client.redeemIdJag",
            Owner::of(&this.object, &self.events)?,
            signal,
            move || client.redeem_id_jag(&RedeemRequest::from_json(&json)?),
            |t| AccessToken { t },
        )
    }

    /// Authorization-server (or IdP) metadata for `issuer` (RFC 8414 / OIDC Discovery in the
    /// MCP order, exact issuer check), cached per client.
    #[napi(
        ts_args_type = "issuer: string, options?: CallOptions",
        ts_return_type = "Promise<Record<string, unknown>>"
    )]
    pub fn authorization_server_metadata<'e>(
        &self,
        env: &'e Env,
        this: This,
        issuer: Unknown,
        options: Option<Unknown<'e>>,
    ) -> Result<Unknown<'e>> {
        let issuer = args::string(env, issuer, "issuer")?;
        let options = args::opt_object(env, options, "options")?;
        let signal = task::signal(env, options.as_ref())?;
        let client = self.inner.clone();
        task::spawn(
            env,
            "Client.authorizationServerMetadata",
            Owner::of(&this.object, &self.events)?,
            signal,
            move || client.authorization_server_metadata(&issuer),
            |m| serde_json::to_value(&*m).unwrap_or(serde_json::Value::Null),
        )
    }
}
