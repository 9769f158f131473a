//! Compact-JWS plumbing: splitting, strict base64url, and a JSON parser that refuses duplicate
//! member names (RFC 7519 §4 lets a parser either reject them or take the last one; taking one
//! silently is how two components end up disagreeing about a claim, so we reject).

use super::reason::RejectReason;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::fmt;

/// The three segments of a compact JWS, still encoded.
pub(crate) struct Compact<'a> {
    pub(crate) header: &'a str,
    pub(crate) payload: &'a str,
    /// `header.payload`: the JWS signing input.
    pub(crate) signing_input: &'a str,
    pub(crate) signature: &'a str,
}

/// Splits a compact serialization. Five segments is a JWE (RFC 7516 §7.1).
pub(crate) fn split(token: &str) -> Result<Compact<'_>, RejectReason> {
    let dots = token.bytes().filter(|b| *b == b'.').count();
    match dots {
        2 => {}
        4 => return Err(RejectReason::EncryptedUnsupported),
        _ => return Err(RejectReason::Malformed),
    }
    let first = token.find('.').ok_or(RejectReason::Malformed)?;
    let last = token.rfind('.').ok_or(RejectReason::Malformed)?;
    let header = &token[..first];
    let payload = &token[first + 1..last];
    if header.is_empty() || payload.is_empty() {
        return Err(RejectReason::Malformed);
    }
    Ok(Compact {
        header,
        payload,
        signing_input: &token[..last],
        signature: &token[last + 1..],
    })
}

/// Strict base64url without padding (RFC 7515 §2); non-canonical trailing bits are refused.
pub(crate) fn b64_decode(segment: &str) -> Result<Vec<u8>, RejectReason> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| RejectReason::Malformed)
}

/// Decodes a base64url segment holding a JSON object, refusing duplicate member names at any
/// depth.
pub(crate) fn decode_object(segment: &str) -> Result<Map<String, Value>, RejectReason> {
    let bytes = b64_decode(segment)?;
    parse_object(&bytes)
}

/// Parses a JSON object, refusing duplicate member names at any depth.
pub(crate) fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, RejectReason> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = StrictValue::deserialize(&mut de).map_err(|_| RejectReason::Malformed)?;
    de.end().map_err(|_| RejectReason::Malformed)?;
    match value.0 {
        Value::Object(map) => Ok(map),
        _ => Err(RejectReason::Malformed),
    }
}

/// RFC 7515 §4.1.9 comparison of a `typ` value: case-insensitive, and a value without `/`
/// stands for `application/<value>`.
pub(crate) fn typ_is(typ: &str, expected_subtype: &str) -> bool {
    let t = typ.trim();
    let subtype = match t.split_once('/') {
        Some((top, sub)) if top.eq_ignore_ascii_case("application") => sub,
        Some(_) => return false,
        None => t,
    };
    subtype.eq_ignore_ascii_case(expected_subtype)
}

/// A `serde_json::Value` whose deserialization fails on duplicate object keys.
struct StrictValue(Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("non-finite number"))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        StrictValue::deserialize(d).map(|v| v.0)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(StrictValue(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if map.contains_key(&key) {
                return Err(de::Error::custom("duplicate member name"));
            }
            let StrictValue(v) = access.next_value_seed(StrictSeed)?;
            map.insert(key, v);
        }
        Ok(Value::Object(map))
    }
}

struct StrictSeed;

impl<'de> DeserializeSeed<'de> for StrictSeed {
    type Value = StrictValue;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<StrictValue, D::Error> {
        StrictValue::deserialize(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_are_refused_at_any_depth() {
        assert!(parse_object(br#"{"a":1,"b":{"c":[1,{"d":2}]}}"#).is_ok());
        assert_eq!(
            parse_object(br#"{"a":1,"a":2}"#).expect_err("must fail"),
            RejectReason::Malformed
        );
        assert_eq!(
            parse_object(br#"{"a":{"x":1,"x":1}}"#).expect_err("must fail"),
            RejectReason::Malformed
        );
        assert_eq!(
            parse_object(br#"{"a":[{"x":1,"x":1}]}"#).expect_err("must fail"),
            RejectReason::Malformed
        );
        // Escaped spelling of the same name is the same name.
        assert_eq!(
            parse_object(br#"{"sub":"a","s\u0075b":"b"}"#).expect_err("must fail"),
            RejectReason::Malformed
        );
    }

    #[test]
    fn only_objects_and_no_trailing_garbage() {
        assert!(parse_object(b"[1]").is_err());
        assert!(parse_object(b"\"x\"").is_err());
        assert!(parse_object(br#"{"a":1} x"#).is_err());
        assert!(parse_object(b"").is_err());
        assert!(parse_object(&[0xff, 0xfe]).is_err());
        let deep = "[".repeat(10_000);
        assert!(parse_object(format!("{{\"a\":{deep}").as_bytes()).is_err());
    }

    #[test]
    fn typ_comparison_follows_rfc7515() {
        for ok in [
            "oauth-id-jag+jwt",
            "OAUTH-ID-JAG+JWT",
            "application/oauth-id-jag+jwt",
            "Application/OAuth-ID-JAG+JWT",
        ] {
            assert!(typ_is(ok, "oauth-id-jag+jwt"), "{ok}");
        }
        for bad in [
            "JWT",
            "at+jwt",
            "text/oauth-id-jag+jwt",
            "oauth-id-jag+jwt; x=1",
            "application/oauth-id-jag+jwt/x",
            "",
        ] {
            assert!(!typ_is(bad, "oauth-id-jag+jwt"), "{bad}");
        }
    }

    #[test]
    fn split_counts_segments() {
        assert!(split("a.b.c").is_ok());
        assert!(split("a.b.").is_ok());
        assert_eq!(
            split("a.b.c.d.e").err(),
            Some(RejectReason::EncryptedUnsupported)
        );
        assert_eq!(split("a.b").err(), Some(RejectReason::Malformed));
        assert_eq!(split("a.b.c.d").err(), Some(RejectReason::Malformed));
        assert_eq!(split(".b.c").err(), Some(RejectReason::Malformed));
        assert_eq!(split("a..c").err(), Some(RejectReason::Malformed));
        let c = split("h.p.s").ok().map(|c| (c.signing_input, c.signature));
        assert_eq!(c, Some(("h.p", "s")));
    }

    #[test]
    fn base64_is_strict() {
        assert!(b64_decode("eyJhIjoxfQ").is_ok());
        assert!(b64_decode("eyJhIjoxfQ==").is_err());
        assert!(b64_decode("eyJhIjoxfQ+").is_err());
        assert!(b64_decode("eyJhIjoxfR").is_err()); // non-canonical trailing bits
    }
}
