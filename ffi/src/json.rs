//! The JSON documents handed to C that are not simply the core's `Serialize` view of a value.
//!
//! Errors, tokens, verified grants, the results of the two legs, inspections and notices are
//! the core's own serializations (`Error::to_json`, `Serialize for Token`, `VerifiedGrant`,
//! `IdJag`, `AccessToken`, `Inspection`, `Notice`), written by [`JsonBox::of`]. This module
//! adds what C needs on top:
//!
//! - [`WithSecret`]: a leg's result WITH its secret (the core's views skip it), for the
//!   caller of `idjag_client_*` who asked for it;
//! - [`Typed`]: the `"type"` member that tells the two kinds of session callback documents
//!   apart (`"http"` events, `"notice"`s);
//!
//! Discoveries and HTTP events are the core's serializations too (`Serialize for Discovery`,
//! `Serialize for HttpEvent`). Nothing here ever serializes a secret except [`WithSecret`].
//!
//! [`JsonBox::of`]: crate::json_handle::JsonBox::of

#[cfg(test)]
use idjag::HttpEvent;
use serde::{Serialize, Serializer};
#[cfg(test)]
use serde_json::json;

/// `view`'s members plus one secret member `key` (first): the result of a leg for the caller
/// who asked for the secret. Written only into zeroizing documents.
#[derive(Serialize)]
pub(crate) struct WithSecret<'a, T: Serialize> {
    #[serde(flatten)]
    secret: SecretMember<'a>,
    #[serde(flatten)]
    view: &'a T,
}

impl<'a, T: Serialize> WithSecret<'a, T> {
    pub(crate) fn new(key: &'static str, secret: &'a str, view: &'a T) -> Self {
        WithSecret {
            secret: SecretMember { key, secret },
            view,
        }
    }
}

/// One `"key": "secret"` member.
pub(crate) struct SecretMember<'a> {
    key: &'static str,
    secret: &'a str,
}

impl Serialize for SecretMember<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry(self.key, self.secret)?;
        m.end()
    }
}

/// `body`'s members after a `"type"` member: a session callback document.
#[derive(Serialize)]
pub(crate) struct Typed<'a, T: Serialize> {
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    #[serde(flatten)]
    pub(crate) body: &'a T,
}

#[cfg(test)]
mod tests {
    use super::*;
    use idjag::http::Method;
    use idjag::Step;
    use std::time::Duration;

    #[test]
    fn with_secret_puts_the_secret_first_and_keeps_the_view() {
        #[derive(Serialize)]
        struct View {
            token_type: &'static str,
            expires_in: u64,
        }
        let v = View {
            token_type: "Bearer",
            expires_in: 60,
        };
        let text =
            serde_json::to_string(&WithSecret::new("access_token", "at\"1", &v)).expect("json");
        assert_eq!(
            text,
            r#"{"access_token":"at\"1","token_type":"Bearer","expires_in":60}"#
        );
    }

    #[test]
    fn events_are_typed_and_have_every_member() {
        let ev = HttpEvent {
            step: Step::AsGrant,
            method: Method::Post,
            url: "https://as.example/token".into(),
            status: Some(200),
            duration: Duration::from_micros(12_345),
            bytes: 512,
            error: None,
            note: Some("auth_method_not_advertised"),
        };
        let v = serde_json::to_value(Typed {
            kind: "http",
            body: &ev,
        })
        .expect("json");
        assert_eq!(
            v,
            json!({"type": "http", "step": "as_grant", "method": "POST",
                   "url": "https://as.example/token", "status": 200, "duration_ms": 12.345,
                   "bytes": 512, "error": null, "note": "auth_method_not_advertised"})
        );
    }
}
