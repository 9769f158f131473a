//! `Verifier`: the authorization-server side (verify presented ID-JAGs).

use crate::args;
use crate::convert;
use crate::errors;
use crate::events::Events;
use crate::session::{json_text, sync};
use crate::task::{self, Owner};
use idjag::clock::{ManualClock, SharedClock};
use idjag::{ErrorKind, IdJagVerifier, RejectReason, VerifierConfig};
use napi::bindgen_prelude::{JsObjectValue, This, Unknown};
use napi::{Env, JsValue, Result};
use napi_derive::napi;
use std::sync::Arc;

/// Verifies ID-JAGs for one authorization server (signature through the IdP's JWKS, `typ`,
/// `iss`, `aud`, `client_id`, `resource`, lifetime, single-use `jti`). Build one at start-up
/// and share it.
#[napi]
pub struct Verifier {
    inner: IdJagVerifier,
    events: Events,
}

#[napi]
impl Verifier {
    /// `config`: the verifier configuration (docs/GUIDE.md), as an object or a JSON string.
    /// `options.insecureFixedClock` (Unix seconds) freezes the clock, for replaying recorded
    /// vectors only — a frozen clock accepts expired ID-JAGs forever; never set it in
    /// production.
    #[napi(
        constructor,
        ts_args_type = "config: VerifierConfig | string, options?: { onEvent?: (event: HttpEvent) => void; insecureFixedClock?: number }"
    )]
    pub fn new(
        env: Env,
        mut this: This,
        config: Unknown,
        options: Option<Unknown>,
    ) -> Result<Self> {
        let json = json_text(&env, config, "config")?;
        let options = args::opt_object(&env, options, "options")?;
        args::known_keys(&env, options.as_ref(), &["onEvent", "insecureFixedClock"])?;
        let fixed = args::opt_int(
            &env,
            options.as_ref(),
            "insecureFixedClock",
            0,
            i64::from(u32::MAX) * 100,
        )?;
        let events = Events::install(&env, &mut this.object, options.as_ref())?;
        let hook = events.hook();
        let inner = sync(&env, "Verifier()", move || {
            let cfg = VerifierConfig::from_json(&json)?;
            let mut client = idjag::Client::builder();
            if let Some(h) = hook {
                client = client.on_event(h);
            }
            let mut builder = IdJagVerifier::builder(cfg);
            if let Some(t) = fixed {
                let clock: SharedClock = Arc::new(ManualClock::new(t));
                client = client.clock(Arc::clone(&clock));
                builder = builder.clock(clock);
            }
            builder.client(client.build()?).build()
        })?;
        Ok(Verifier { inner, events })
    }

    /// This authorization server's issuer (the only accepted `aud`).
    #[napi(getter)]
    pub fn issuer(&self) -> String {
        self.inner.issuer().to_string()
    }

    /// Verifies `assertion` (the jwt-bearer grant's `assertion`) presented by the already
    /// authenticated client `clientId`, with the grant request's `scope` if any. On success
    /// the `jti` is recorded as used. A rejection is an `IdjagError` with code
    /// `verification_failed` and a `reason` from `rejectReasons()`; unavailable keys or replay
    /// store reject with the transport-class codes (answer 503: see `tokenErrorResponse`).
    #[napi(
        ts_args_type = "assertion: string, clientId: string, scope?: string | null, options?: CallOptions",
        ts_return_type = "Promise<VerifiedGrant>"
    )]
    pub fn verify<'e>(
        &self,
        env: &'e Env,
        this: This,
        assertion: Unknown,
        client_id: Unknown,
        scope: Option<Unknown>,
        options: Option<Unknown<'e>>,
    ) -> Result<Unknown<'e>> {
        let assertion = args::string(env, assertion, "assertion")?;
        let client_id = args::string(env, client_id, "clientId")?;
        let scope = args::opt_string(env, scope, "scope")?;
        let options = args::opt_object(env, options, "options")?;
        let signal = task::signal(env, options.as_ref())?;
        let v = self.inner.clone();
        task::spawn(
            env,
            "Verifier.verify",
            Owner::of(&this.object, &self.events)?,
            signal,
            move || v.verify(&assertion, &client_id, scope.as_deref()),
            |g| convert::to_js(&g),
        )
    }

    /// Fetches the JWK Set of every trusted IdP that has none cached (start-up warm-up and
    /// health check).
    #[napi(
        ts_args_type = "options?: CallOptions",
        ts_return_type = "Promise<void>"
    )]
    pub fn prefetch_keys<'e>(
        &self,
        env: &'e Env,
        this: This,
        options: Option<Unknown<'e>>,
    ) -> Result<Unknown<'e>> {
        let options = args::opt_object(env, options, "options")?;
        let signal = task::signal(env, options.as_ref())?;
        let v = self.inner.clone();
        task::spawn(
            env,
            "Verifier.prefetchKeys",
            Owner::of(&this.object, &self.events)?,
            signal,
            move || v.prefetch_keys(),
            |()| (),
        )
    }
}

/// Every verifier rejection reason (`IdjagError.reason`), in declaration order.
#[napi(ts_return_type = "RejectReason[]")]
pub fn reject_reasons() -> Vec<&'static str> {
    RejectReason::ALL.iter().map(|r| r.code()).collect()
}

/// The token endpoint's answer for an error from `verifier.verify` (its `code`, `reason`, and
/// for a step-up rejection `acrValues` / `maxAge`), or for an error code alone: generic on
/// the wire — a `scope_not_granted` rejection is `400 invalid_scope`, `acr_not_accepted` /
/// `auth_time_too_old` are `400 insufficient_user_authentication` with the requirement
/// (`acr_values`, `max_age`; RFC 9470 §3), every other rejection `400 invalid_grant`, each
/// with one fixed description whatever the detail; key or replay-store trouble is
/// `503 temporarily_unavailable`.
#[napi(
    js_name = "tokenErrorResponse",
    ts_args_type = "error: Pick<IdjagError, 'code' | 'reason' | 'acrValues' | 'maxAge'> | ErrorCode",
    ts_return_type = "TokenErrorResponse"
)]
pub fn token_error_response_for(env: Env, error: Unknown) -> Result<serde_json::Value> {
    type Parts = (String, Option<String>, Option<String>, Option<u64>);
    let (code, reason, acr_values, max_age): Parts = match error.get_type()? {
        napi::ValueType::String => (
            error.coerce_to_string()?.into_utf8()?.into_owned()?,
            None,
            None,
            None,
        ),
        napi::ValueType::Object => {
            let o = error.coerce_to_object()?;
            let text = |key: &str| -> Result<Option<String>> {
                let v: Unknown = o.get_named_property(key)?;
                match v.get_type()? {
                    napi::ValueType::String => {
                        Ok(Some(v.coerce_to_string()?.into_utf8()?.into_owned()?))
                    }
                    _ => Ok(None),
                }
            };
            let m: Unknown = o.get_named_property("maxAge")?;
            let max_age = match m.get_type()? {
                napi::ValueType::Number => {
                    let n = m.coerce_to_number()?.get_double()?;
                    // A whole number of seconds in range; anything else is no requirement.
                    (n.is_finite() && n >= 0.0 && n.fract() == 0.0 && n < u64::MAX as f64)
                        .then_some(n as u64)
                }
                _ => None,
            };
            (
                text("code")?.unwrap_or_default(),
                text("reason")?,
                text("acrValues")?,
                max_age,
            )
        }
        _ => {
            return Err(errors::invalid_argument(
                &env,
                "expected an IdjagError or an error code",
            ))
        }
    };
    let kind = ErrorKind::from_code(&code).unwrap_or(ErrorKind::Internal);
    let reason = reason.as_deref().and_then(RejectReason::from_code);
    let r = idjag::verify::token_error_response_from_parts(
        kind,
        reason,
        acr_values.as_deref(),
        max_age,
    );
    Ok(serde_json::json!({ "status": r.status, "body": r.to_value() }))
}
