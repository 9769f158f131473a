//! ID-JAG verification at the testkit AS (SPEC §2.G items 3–16).
//!
//! **Placeholder.** Everything the testkit AS checks about a presented ID-JAG lives in
//! [`verify_id_jag`] and nowhere else, so that it can later be replaced wholesale by the
//! core's `idjag::verify::IdJagVerifier` (being built in `core/src/verify`). Keep the
//! surface small: a context in, a [`VerifiedIdJag`] or a short rejection reason out. The
//! reason is only logged (and exposed by `TestKit::last_as_rejection`); the wire error is
//! always a generic `invalid_grant`.
//!
//! Checks, in order: size and compact-JWS shape; `typ` = `oauth-id-jag+jwt`
//! (case-insensitive, optional `application/` prefix); no `crit`; `alg` on the allow-list
//! (ES256, RS256, EdDSA; never `none`/HMAC); key from the IdP JWKS by `kid` (or every key
//! of that `alg` when there is no `kid`; header `jku`/`jwk`/`x5u`/`x5c` are never used);
//! signature; `iss` = the IdP issuer; `aud` = the AS issuer exactly (string or one-element
//! array); `client_id` = the authenticated client; `exp` required, not past (skew);
//! `iat` required, not in the future (skew); `nbf` honoured; lifetime cap; `sub` non-empty;
//! `scope` a string if present; `resource` (string or non-empty array of unique strings)
//! each governed by this AS; finally `jti` required and single-use (recorded only once
//! everything else passed).

use crate::httpd::lock;
use crate::jwt;
use crate::keys::TestKey;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;

/// Inputs of a verification.
pub(crate) struct VerifyContext<'a> {
    /// The trusted IdP issuer.
    pub idp_issuer: &'a str,
    /// This AS's issuer (expected `aud`).
    pub as_issuer: &'a str,
    /// Resource identifiers governed by this AS.
    pub resources: &'a [String],
    /// The IdP's published keys (its JWKS).
    pub keys: &'a [TestKey],
    /// Allowed clock skew, seconds.
    pub skew: i64,
    /// Longest accepted `exp - iat`.
    pub max_lifetime: i64,
    /// Replay store: `iss jti` → `exp`.
    pub jti_store: &'a Mutex<HashMap<String, i64>>,
    /// Now, Unix seconds.
    pub now: i64,
}

/// What the AS needs from a verified ID-JAG.
#[derive(Debug, Clone)]
pub(crate) struct VerifiedIdJag {
    pub sub: String,
    pub scopes: Option<Vec<String>>,
    pub resources: Option<Vec<String>>,
}

/// Largest ID-JAG accepted, bytes.
const MAX_LEN: usize = 16 * 1024;

fn typ_ok(typ: Option<&str>) -> bool {
    let Some(t) = typ else { return false };
    let t = t.to_ascii_lowercase();
    let t = t.strip_prefix("application/").unwrap_or(&t);
    t == idjag::urn::JWT_TYP_ID_JAG
}

/// Verifies `assertion` for the client authenticated as `client_id`. `Err` holds a short
/// reason code such as `"typ"`, `"signature"`, `"aud"`, `"jti_replay"`.
pub(crate) fn verify_id_jag(
    ctx: &VerifyContext<'_>,
    assertion: &str,
    client_id: &str,
) -> Result<VerifiedIdJag, String> {
    if assertion.len() > MAX_LEN {
        return Err("too_large".into());
    }
    let p = jwt::parse(assertion).map_err(|e| format!("malformed: {e}"))?;
    if !typ_ok(p.header_str("typ")) {
        return Err("typ".into());
    }
    if p.header.contains_key("crit") {
        return Err("crit".into());
    }
    let alg = p.header_str("alg").unwrap_or("");
    if !matches!(alg, "ES256" | "RS256" | "EdDSA") {
        return Err("alg".into());
    }
    let candidates: Vec<&TestKey> = match p.header.get("kid") {
        Some(Value::String(kid)) => ctx.keys.iter().filter(|k| k.kid() == kid).collect(),
        Some(_) => return Err("kid".into()),
        None => ctx
            .keys
            .iter()
            .filter(|k| k.alg().as_str() == alg)
            .collect(),
    };
    if candidates.is_empty() {
        return Err("unknown_key".into());
    }
    let verified = candidates
        .iter()
        .any(|k| k.alg().as_str() == alg && k.verify_signature(&p.signing_input, &p.signature));
    if !verified {
        return Err("signature".into());
    }
    if p.claim_str("iss") != Some(ctx.idp_issuer) {
        return Err("iss".into());
    }
    let aud_ok = match p.claims.get("aud") {
        Some(Value::String(a)) => a == ctx.as_issuer,
        Some(Value::Array(a)) => a.len() == 1 && a[0].as_str() == Some(ctx.as_issuer),
        _ => false,
    };
    if !aud_ok {
        return Err("aud".into());
    }
    if p.claim_str("client_id") != Some(client_id) {
        return Err("client_id".into());
    }
    let exp = p.claim_time("exp").ok_or("exp_missing")?;
    if ctx.now > exp + ctx.skew {
        return Err("expired".into());
    }
    let iat = p.claim_time("iat").ok_or("iat_missing")?;
    if iat > ctx.now + ctx.skew {
        return Err("iat_future".into());
    }
    if exp - iat > ctx.max_lifetime {
        return Err("lifetime".into());
    }
    if let Some(v) = p.claims.get("nbf") {
        let nbf = v.as_i64().ok_or("nbf")?;
        if nbf > ctx.now + ctx.skew {
            return Err("nbf".into());
        }
    }
    let sub = p
        .claim_str("sub")
        .filter(|s| !s.is_empty())
        .ok_or("sub")?
        .to_string();
    let scopes = match p.claims.get("scope") {
        None => None,
        Some(Value::String(s)) => Some(crate::oauth::scopes(s)),
        Some(_) => return Err("scope".into()),
    };
    let resources = match p.claims.get("resource") {
        None => None,
        Some(Value::String(r)) => Some(vec![r.clone()]),
        Some(Value::Array(a)) if !a.is_empty() => {
            let mut out: Vec<String> = Vec::new();
            for v in a {
                let s = v.as_str().ok_or("resource")?;
                if out.iter().any(|o| o == s) {
                    return Err("resource".into());
                }
                out.push(s.to_string());
            }
            Some(out)
        }
        Some(_) => return Err("resource".into()),
    };
    if let Some(rs) = &resources {
        if !rs.iter().all(|r| ctx.resources.contains(r)) {
            return Err("resource".into());
        }
    }
    let jti = p
        .claim_str("jti")
        .filter(|s| !s.is_empty())
        .ok_or("jti_missing")?;
    let mut store = lock(ctx.jti_store);
    store.retain(|_, e| *e + ctx.skew >= ctx.now);
    let key = format!("{} {jti}", ctx.idp_issuer);
    if store.contains_key(&key) {
        return Err("jti_replay".into());
    }
    store.insert(key, exp);
    Ok(VerifiedIdJag {
        sub,
        scopes,
        resources,
    })
}
