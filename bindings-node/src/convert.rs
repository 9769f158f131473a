//! Every conversion of a core value into JSON for JavaScript, in one place.
//!
//! The core's own `serde::Serialize` impls are the JSON views (the same documents the other
//! bindings and the CLI print; docs/GUIDE.md "JSON shapes"); [`to_js`] serializes one and
//! renames its top-level keys to camelCase, the JavaScript convention of this package
//! (`expires_at` → `expiresAt`). Embedded protocol documents (claims, JOSE header, metadata)
//! keep their wire names. Those views never contain a secret: tokens, assertions and client
//! secrets are reached only through the explicit getters of the secret-holding classes.

use idjag::{HttpEvent, Notice};
use serde::Serialize;
#[cfg(test)]
use serde_json::json;
use serde_json::Value;

/// The core's JSON view of `x` with camelCase top-level keys: the one place where this
/// package renames keys. Nested values are left as they are.
pub(crate) fn to_js<T: Serialize + ?Sized>(x: &T) -> Value {
    // The core's views hold strings, numbers, booleans and JSON values only: serializing
    // them cannot fail (`null` if it ever did).
    match serde_json::to_value(x).unwrap_or(Value::Null) {
        Value::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (camel(&k), v)).collect()),
        other => other,
    }
}

/// `snake_case` → `camelCase`.
fn camel(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for c in key.chars() {
        if c == '_' {
            upper = !out.is_empty();
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// `to_js(x)` with a `type` member naming what it is.
fn typed<T: Serialize>(kind: &str, x: &T) -> Value {
    let mut v = to_js(x);
    if let Value::Object(m) = &mut v {
        m.insert("type".into(), kind.into());
    }
    v
}

/// An [`HttpEvent`] for `onEvent`: the core's view plus `type: "http"`.
pub(crate) fn http_event(e: &HttpEvent) -> Value {
    typed("http", e)
}

/// A session [`Notice`] for `onEvent`: the core's view plus `type: "notice"`.
pub(crate) fn notice(n: &Notice) -> Value {
    typed("notice", n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_case_keys() {
        assert_eq!(camel("expires_at"), "expiresAt");
        assert_eq!(
            camel("supports_enterprise_managed_authorization"),
            "supportsEnterpriseManagedAuthorization"
        );
        assert_eq!(camel("iss"), "iss");
        assert_eq!(camel("_x"), "x");
        let v = to_js(&json!({"a_b": {"c_d": 1}}));
        assert_eq!(
            v,
            json!({"aB": {"c_d": 1}}),
            "nested documents keep their names"
        );
    }

    #[test]
    fn error_view_is_the_cores() {
        let e = idjag::Error::oauth(
            idjag::Step::AsGrant,
            400,
            idjag::OAuthErrorResponse {
                error: "invalid_grant".into(),
                error_description: Some("nope".into()),
                error_uri: None,
            },
        );
        let v = to_js(&e);
        assert_eq!(v["code"], "oauth_error");
        assert_eq!(v["number"], idjag::ErrorKind::OauthError.number());
        assert_eq!(v["step"], "as_grant");
        assert_eq!(v["oauthError"], "invalid_grant");
        assert_eq!(v["errorDescription"], "nope");
        assert_eq!(v["status"], 400);
        assert_eq!(v["errorUri"], Value::Null);
    }

    #[test]
    fn events_carry_their_type() {
        let e = HttpEvent {
            step: idjag::Step::Discovery,
            method: idjag::http::Method::Get,
            url: "https://mcp.example/.well-known/x".into(),
            status: Some(200),
            duration: std::time::Duration::from_micros(1500),
            bytes: 10,
            error: None,
            note: None,
        };
        let v = http_event(&e);
        assert_eq!(v["type"], "http");
        assert_eq!(v["durationMs"], 1.5);
        assert_eq!(v["note"], Value::Null);
    }
}
