//! Minimal compact-JWS helpers: base64url, parsing without trusting, signature checks.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::{Map, Value};

/// base64url without padding.
pub(crate) fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url without padding (strict).
pub(crate) fn b64_decode(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s).ok()
}

/// A compact JWS split into its parts; header and claims are JSON objects.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
    pub signing_input: String,
    pub signature: String,
}

impl Parsed {
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header.get(name).and_then(Value::as_str)
    }

    pub fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// A NumericDate claim (integer or float seconds).
    pub fn claim_time(&self, name: &str) -> Option<i64> {
        let v = self.claims.get(name)?;
        v.as_i64().or_else(|| v.as_f64().map(|f| f as i64))
    }
}

/// Parses a compact JWS (three base64url parts, JSON-object header and payload). Does not
/// verify anything.
pub(crate) fn parse(token: &str) -> Result<Parsed, &'static str> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("not a compact JWS");
    };
    let header = b64_decode(h).ok_or("header is not base64url")?;
    let claims = b64_decode(p).ok_or("payload is not base64url")?;
    let header: Value = serde_json::from_slice(&header).map_err(|_| "header is not JSON")?;
    let claims: Value = serde_json::from_slice(&claims).map_err(|_| "payload is not JSON")?;
    let (Value::Object(header), Value::Object(claims)) = (header, claims) else {
        return Err("header or payload is not a JSON object");
    };
    Ok(Parsed {
        header,
        claims,
        signing_input: format!("{h}.{p}"),
        signature: s.to_string(),
    })
}

/// Whether `aud` (string or array) contains `expected`.
pub(crate) fn aud_contains(aud: Option<&Value>, expected: &[&str]) -> bool {
    match aud {
        Some(Value::String(s)) => expected.contains(&s.as_str()),
        Some(Value::Array(a)) => a
            .iter()
            .any(|v| v.as_str().is_some_and(|s| expected.contains(&s))),
        _ => false,
    }
}
