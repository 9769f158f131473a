//! Unverified decoding of JWTs (ID-JAGs, ID tokens) for diagnostics and expiry bookkeeping.
//!
//! Nothing here checks a signature: never make a trust decision from an [`Inspection`]. The
//! verifier (`verify` module) is the only place that trusts a token.

use crate::error::{Error, ErrorKind, Result, Step};
use base64::Engine as _;
use serde::Serialize;

/// What a token looks like.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    /// A JWS with `typ` `oauth-id-jag+jwt`.
    IdJag,
    /// A JWS that looks like an OIDC ID token (`iss`, `sub`, `aud`, `exp`, `iat`; no ID-JAG `typ`).
    IdToken,
    /// Any other JWS.
    Jwt,
    /// A JWE (five parts): the payload is encrypted and cannot be shown.
    Encrypted,
}

/// The decoded parts of a token, with warnings. Contains claims (personal data) but never
/// the signature or the raw token.
#[derive(Clone, Debug, Serialize)]
pub struct Inspection {
    /// What kind of token this is.
    pub kind: TokenKind,
    /// JOSE header.
    pub header: serde_json::Map<String, serde_json::Value>,
    /// Claims (empty for an encrypted token).
    pub claims: serde_json::Map<String, serde_json::Value>,
    /// `exp` (Unix seconds).
    pub expires_at: Option<i64>,
    /// `iat` (Unix seconds).
    pub issued_at: Option<i64>,
    /// `nbf` (Unix seconds).
    pub not_before: Option<i64>,
    /// Whether `exp` is in the past at inspection time.
    pub expired: bool,
    /// Problems worth showing an operator (expired, wrong `typ`, missing `jti`, …).
    pub warnings: Vec<String>,
}

fn b64(part: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .ok()
}

fn bad(msg: &str) -> Error {
    Error::new(ErrorKind::InvalidArgument, Step::Config, msg)
}

fn json_object(bytes: &[u8], what: &str) -> Result<serde_json::Map<String, serde_json::Value>> {
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(serde_json::Value::Object(m)) => Ok(m),
        _ => Err(bad(&format!("the token's {what} is not a JSON object"))),
    }
}

/// The `exp` claim of a JWS, decoded without verification (used for cache bookkeeping only).
pub fn unverified_exp(token: &str) -> Option<i64> {
    let mut parts = token.split('.');
    let (_, payload, _) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let claims: serde_json::Value = serde_json::from_slice(&b64(payload)?).ok()?;
    numeric(claims.get("exp"))
}

/// The largest time claim idjag uses (9999-12-31T23:59:59Z); anything beyond it — and its
/// negative — is treated as absent, so no later arithmetic on it can overflow.
pub const MAX_TIME: i64 = 253_402_300_799;

/// A NumericDate claim (RFC 7519 §2) as whole seconds, if it is a finite number within
/// ±[`MAX_TIME`].
fn numeric(v: Option<&serde_json::Value>) -> Option<i64> {
    let v = v?;
    let t = match v.as_i64() {
        Some(i) => i,
        None => {
            let f = v.as_f64().filter(|f| f.is_finite())?;
            if f.abs() > MAX_TIME as f64 {
                return None;
            }
            f as i64
        }
    };
    (-MAX_TIME..=MAX_TIME).contains(&t).then_some(t)
}

/// Whether a `typ` value denotes an ID-JAG (RFC 7515 §4.1.9: case-insensitive, optional
/// `application/` prefix).
pub fn typ_is_id_jag(typ: &str) -> bool {
    let t = typ.to_ascii_lowercase();
    let t = t.strip_prefix("application/").unwrap_or(&t);
    t == crate::urn::JWT_TYP_ID_JAG
}

/// Decodes `token` without verifying it. `now` (Unix seconds) decides `expired`.
pub fn inspect(token: &str, now: i64) -> Result<Inspection> {
    let token = token.trim();
    if token.len() > 64 * 1024 {
        return Err(bad("the token is larger than 64 KiB"));
    }
    let parts: Vec<&str> = token.split('.').collect();
    let header_part = parts.first().copied().unwrap_or("");
    let header = json_object(
        &b64(header_part).ok_or_else(|| bad("the token header is not base64url"))?,
        "header",
    )?;
    match parts.len() {
        5 => {
            return Ok(Inspection {
                kind: TokenKind::Encrypted,
                header,
                claims: Default::default(),
                expires_at: None,
                issued_at: None,
                not_before: None,
                expired: false,
                warnings: vec!["the token is encrypted (JWE); only its header can be shown".into()],
            })
        }
        3 => {}
        _ => {
            return Err(bad(
                "a JWT has three dot-separated parts (five when encrypted)",
            ))
        }
    }
    let claims = json_object(
        &b64(parts[1]).ok_or_else(|| bad("the token payload is not base64url"))?,
        "payload",
    )?;
    let typ = header.get("typ").and_then(|v| v.as_str());
    let is_id_jag = typ.is_some_and(typ_is_id_jag);
    // A JWT with a `client_id` claim that is not an RFC 9068 access token is most likely a
    // (mis-typed) ID-JAG: check it as one.
    let is_access_token = typ.is_some_and(|t| {
        let t = t.to_ascii_lowercase();
        t == "at+jwt" || t == "application/at+jwt"
    });
    let looks_id_jag = is_id_jag || (claims.contains_key("client_id") && !is_access_token);
    let kind = if is_id_jag {
        TokenKind::IdJag
    } else if ["iss", "sub", "aud", "exp", "iat"]
        .iter()
        .all(|c| claims.contains_key(*c))
        && !claims.contains_key("client_id")
    {
        TokenKind::IdToken
    } else {
        TokenKind::Jwt
    };
    let expires_at = numeric(claims.get("exp"));
    let issued_at = numeric(claims.get("iat"));
    let not_before = numeric(claims.get("nbf"));
    let expired = expires_at.is_some_and(|e| e <= now);
    let mut warnings = Vec::new();
    for (name, parsed) in [("exp", expires_at), ("iat", issued_at), ("nbf", not_before)] {
        if claims.get(name).is_some() && parsed.is_none() {
            warnings.push(format!(
                "`{name}` is not a usable time (a number of seconds within year 9999)"
            ));
        }
    }
    if let Some(e) = expires_at.filter(|_| expired) {
        warnings.push(format!("expired {} s ago", now.saturating_sub(e)));
    }
    if !claims.contains_key("exp") {
        warnings.push("no `exp` claim".into());
    }
    if let Some(nbf) = not_before {
        if nbf > now {
            warnings.push(format!(
                "not valid for another {} s (`nbf`)",
                nbf.saturating_sub(now)
            ));
        }
    }
    if let Some(iat) = issued_at {
        if iat > now.saturating_add(60) {
            warnings.push("`iat` is in the future".into());
        }
    }
    match header.get("alg").and_then(|v| v.as_str()) {
        None => warnings.push("no `alg` header".into()),
        Some(a) if a.eq_ignore_ascii_case("none") => {
            warnings.push("`alg` is `none`: the token is unsigned".into())
        }
        Some(a) if a.starts_with("HS") => warnings.push(format!(
            "`alg` is {a} (shared-secret HMAC); ID-JAGs are signed asymmetrically"
        )),
        Some(_) => {}
    }
    if looks_id_jag {
        if !is_id_jag {
            warnings.push(format!(
                "`typ` is {} but an ID-JAG must have `oauth-id-jag+jwt`",
                typ.map(|t| format!("`{t}`"))
                    .unwrap_or_else(|| "missing".into())
            ));
        }
        for c in ["iss", "sub", "aud", "client_id", "jti", "iat", "exp"] {
            if !claims.contains_key(c) {
                warnings.push(format!("missing required ID-JAG claim `{c}`"));
            }
        }
        if let (Some(i), Some(e)) = (issued_at, expires_at) {
            let lifetime = e.saturating_sub(i);
            if lifetime > 600 {
                warnings.push(format!(
                    "lifetime is {lifetime} s; ID-JAGs should be short-lived (about 300 s)"
                ));
            }
        }
        if let Some(s) = claims.get("scope") {
            if !s.is_string() {
                warnings.push("`scope` is not a space-separated string".into());
            }
        }
    }
    if let Some(serde_json::Value::Array(a)) = claims.get("aud") {
        if a.len() != 1 {
            warnings.push(format!(
                "`aud` has {} values; an ID-JAG audience is exactly one issuer",
                a.len()
            ));
        }
    }
    for h in ["jku", "jwk", "x5u", "x5c"] {
        if header.contains_key(h) {
            warnings.push(format!(
                "header carries `{h}`; verifiers must ignore embedded keys"
            ));
        }
    }
    if header.contains_key("crit") {
        warnings.push("header has `crit` extensions".into());
    }
    Ok(Inspection {
        kind,
        header,
        claims,
        expires_at,
        issued_at,
        not_before,
        expired,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(v: serde_json::Value) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    }

    #[test]
    fn inspects_an_id_jag() {
        let t = format!(
            "{}.{}.sig",
            enc(serde_json::json!({"alg":"ES256","typ":"oauth-id-jag+jwt","kid":"k"})),
            enc(
                serde_json::json!({"iss":"https://idp","sub":"u","aud":["a","b"],"client_id":"c","jti":"j","iat":1000,"exp":1300})
            )
        );
        let i = inspect(&t, 2000).expect("inspect");
        assert_eq!(i.kind, TokenKind::IdJag);
        assert!(i.expired);
        assert!(i.warnings.iter().any(|w| w.contains("expired")));
        assert!(i.warnings.iter().any(|w| w.contains("`aud` has 2")));
        assert_eq!(unverified_exp(&t), Some(1300));
    }

    #[test]
    fn warns_about_wrong_typ_and_missing_jti() {
        let t = format!(
            "{}.{}.",
            enc(serde_json::json!({"alg":"none","typ":"JWT"})),
            enc(
                serde_json::json!({"iss":"i","sub":"u","aud":"a","client_id":"c","iat":1,"exp":9999999999i64})
            )
        );
        let i = inspect(&t, 2).expect("inspect");
        assert!(
            i.warnings.iter().any(|w| w.contains("oauth-id-jag+jwt")) || i.kind == TokenKind::Jwt
        );
        assert!(i.warnings.iter().any(|w| w.contains("unsigned")));
    }

    #[test]
    fn typ_comparison() {
        assert!(typ_is_id_jag("oauth-id-jag+jwt"));
        assert!(typ_is_id_jag("application/OAUTH-ID-JAG+JWT"));
        assert!(!typ_is_id_jag("jwt"));
        assert!(!typ_is_id_jag("application/oauth-id-jag+jwt+x"));
    }

    /// SECURITY D12: extreme time claims (and an extreme `now`) never overflow.
    #[test]
    fn extreme_times_do_not_overflow() {
        let tok = |claims: serde_json::Value| {
            format!(
                "{}.{}.sig",
                enc(serde_json::json!({"alg":"ES256","typ":"oauth-id-jag+jwt"})),
                enc(claims)
            )
        };
        let min = i64::MIN;
        let max = i64::MAX;
        for claims in [
            serde_json::json!({"exp": min, "iat": max, "nbf": max, "client_id": "c"}),
            serde_json::json!({"exp": max, "iat": min, "nbf": min, "client_id": "c"}),
            serde_json::json!({"exp": 1e300, "iat": -1e300, "nbf": 1.0e19}),
            serde_json::json!({"exp": -9.3e18, "iat": 9.3e18}),
            serde_json::json!({"exp": u64::MAX, "iat": u64::MAX}),
            serde_json::json!({"exp": MAX_TIME, "iat": -MAX_TIME, "nbf": MAX_TIME, "client_id": "c"}),
        ] {
            for now in [0, min, max, -1, 1_790_000_000] {
                let i = inspect(&tok(claims.clone()), now).expect("inspect");
                for t in [i.expires_at, i.issued_at, i.not_before]
                    .into_iter()
                    .flatten()
                {
                    assert!((-MAX_TIME..=MAX_TIME).contains(&t), "{claims} {t}");
                }
            }
            let _ = unverified_exp(&tok(claims.clone()));
        }
        let i = inspect(&tok(serde_json::json!({"exp": min})), 0).expect("inspect");
        assert_eq!(i.expires_at, None);
        assert!(!i.expired);
        assert!(i
            .warnings
            .iter()
            .any(|w| w.contains("`exp` is not a usable time")));
        assert_eq!(unverified_exp(&tok(serde_json::json!({"exp": min}))), None);
        let i = inspect(&tok(serde_json::json!({"exp": -MAX_TIME})), max).expect("inspect");
        assert!(i.expired);
    }

    #[test]
    fn garbage_is_a_typed_error() {
        for t in ["", "a", "a.b", "!!.!!.!!", "e30.e30.e30.e30", "W10.W10.x"] {
            let e = inspect(t, 0).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{t}");
        }
        let jwe = format!(
            "{}.a.b.c.d",
            enc(serde_json::json!({"alg":"RSA-OAEP","enc":"A256GCM"}))
        );
        assert_eq!(inspect(&jwe, 0).expect("jwe").kind, TokenKind::Encrypted);
    }
}
