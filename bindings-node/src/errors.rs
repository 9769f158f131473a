//! `IdjagError`: every throw and every rejection of this package (STYLE §4 items 17, 21, 22).
//!
//! The class is a real `Error` subclass (`class IdjagError extends Error`), created once per
//! JavaScript environment (main thread, each worker) when the addon loads, exported as
//! `IdjagError`, and kept in the environment's instance data so errors can be built from any
//! callback. Its instances carry the core error's fields as own properties: `code` (the shared
//! snake_case code), `step`, `action`, and when they apply `status`, `oauthError`,
//! `errorDescription`, `errorUri`, `reason`, and for a step-up rejection `acrValues` /
//! `maxAge`; the core error's source becomes `cause`. The
//! message is the core's `Display`, which never contains a secret.
//!
//! napi-rs cannot declare a class that extends a JavaScript built-in, so the class body is a
//! fixed snippet evaluated with `napi_run_script` (it takes no input); so is the redacted
//! `util.inspect` view of the secret-holding classes ([`REDACT_SOURCE`]).

use crate::convert;
use napi::bindgen_prelude::{FnArgs, Function, FunctionRef, JsObjectValue, Object, Unknown};
use napi::{Env, Result};
use serde_json::Value;

const CLASS_SOURCE: &str = r#"(() => {
  class IdjagError extends Error {
    constructor(message, fields) {
      const { cause, ...rest } = fields ?? {};
      super(message, cause === undefined ? undefined : { cause: new Error(cause) });
      Object.assign(this, rest);
    }
  }
  Object.defineProperty(IdjagError.prototype, 'name', {
    value: 'IdjagError', writable: true, configurable: true, enumerable: false,
  });
  return IdjagError;
})()"#;

/// Gives the classes that hold secrets (or hold objects that do) a `util.inspect` view built
/// from their `toJSON()` (the non-secret fields), so that no inspection option — not even
/// `{ showHidden: true, getters: true }`, which would call the token getters — shows a secret.
const REDACT_SOURCE: &str = r#"((classes) => {
  const custom = Symbol.for('nodejs.util.inspect.custom');
  for (const C of classes) {
    Object.defineProperty(C.prototype, custom, {
      value: function (depth, options, inspect) {
        const view = typeof this.toJSON === 'function' ? this.toJSON() : {};
        return `${C.name} ${inspect(view, options)}`;
      },
      writable: false, configurable: false, enumerable: false,
    });
  }
})"#;

/// The exported classes [`REDACT_SOURCE`] applies to.
const REDACTED: &[&str] = &[
    "Token",
    "IdJag",
    "AccessToken",
    "Session",
    "Client",
    "Verifier",
];

type Args = FnArgs<(String, Value)>;
type ErrorClass = FunctionRef<Args, Unknown<'static>>;

/// Per-environment data of the addon.
pub(crate) struct EnvData {
    error_class: ErrorClass,
}

/// Creates the class, exports it and remembers it for this environment.
pub(crate) fn init(env: &Env, exports: &mut Object) -> Result<()> {
    let class: Function<Args, Unknown<'static>> = env.run_script(CLASS_SOURCE)?;
    let error_class = class.create_ref()?;
    exports.set_named_property("IdjagError", class)?;
    let redact: Function<Vec<Unknown>, Unknown> = env.run_script(REDACT_SOURCE)?;
    let mut classes = Vec::with_capacity(REDACTED.len());
    for name in REDACTED {
        classes.push(exports.get_named_property::<Unknown>(name)?);
    }
    redact.call(classes)?;
    env.set_instance_data(EnvData { error_class }, (), |_ctx| {})
}

fn class<'e>(env: &'e Env) -> Result<Function<'e, Args, Unknown<'static>>> {
    match env.get_instance_data::<EnvData>()? {
        Some(d) => d.error_class.borrow_back(env),
        None => Err(napi::Error::from_reason(
            "idjag: the addon was not initialised",
        )),
    }
}

/// A new `IdjagError` for a core error: the fields of the core's JSON view of the error
/// (`convert::to_js`) that have a value, its `message`, and its source as `cause` (the core
/// guarantees neither holds a secret).
pub(crate) fn js_error<'e>(env: &'e Env, e: &idjag::Error) -> Result<Unknown<'e>> {
    let mut fields = match convert::to_js(e) {
        Value::Object(m) => m,
        _ => serde_json::Map::new(),
    };
    fields.retain(|_, v| !v.is_null());
    // The message is the core's `Display` (step prefix, message, server description, status,
    // cause), which is what JavaScript shows for an uncaught error.
    fields.remove("message");
    // A step-up rejection carries the requirement its wire answer has (RFC 9470 §3), so
    // `tokenErrorResponse(e)` can send it (the core decides; here it only travels).
    let wire = idjag::verify::token_error_response(e);
    if let Some(a) = wire.acr_values {
        fields.insert("acrValues".into(), a.into());
    }
    if let Some(m) = wire.max_age {
        fields.insert("maxAge".into(), m.into());
    }
    let message = e.to_string();
    if let Some(c) = std::error::Error::source(e) {
        fields.insert("cause".into(), c.to_string().into());
    }
    class(env)?.new_instance((message, Value::Object(fields)).into())
}

/// A core error as a `napi::Error` that napi throws or rejects with verbatim (the
/// `IdjagError` object); if even that fails, a plain error with the same message.
pub(crate) fn to_napi(env: &Env, e: &idjag::Error) -> napi::Error {
    match js_error(env, e) {
        Ok(obj) => napi::Error::from(obj),
        Err(_) => napi::Error::from_reason(e.to_string()),
    }
}

/// An error raised by the binding itself (argument checks): `invalid_argument` at `config`.
pub(crate) fn invalid_argument(env: &Env, message: &str) -> napi::Error {
    to_napi(env, &idjag::Error::invalid_argument(message))
}

/// An `internal` error for a Rust panic caught at the boundary.
pub(crate) fn panic_error(what: &str) -> idjag::Error {
    idjag::Error::internal(
        idjag::Step::Config,
        format!("idjag panicked in {what}; this is a bug, please report it"),
    )
}
