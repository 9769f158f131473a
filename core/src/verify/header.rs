//! Steps 1–3 of the verification: size cap, compact-JWS structure, and the JOSE header
//! (`typ`, `alg`, `crit`, embedded keys). Also decodes the (still unverified) claims.

use super::config::JwsAlgorithm;
use super::jose;
use super::reason::{reject, shown, RejectReason, Rejection};
use crate::urn::JWT_TYP_ID_JAG;
use serde_json::{Map, Value};

/// The decoded, still unverified token.
pub(super) struct Decoded<'a> {
    pub(super) signing_input: &'a str,
    pub(super) signature: &'a str,
    pub(super) alg: JwsAlgorithm,
    pub(super) kid: Option<String>,
    pub(super) claims: Map<String, Value>,
}

/// Header parameters that carry a key or a key reference: keys come only from the trusted
/// issuer's JWK Set.
const KEY_INJECTION_PARAMS: [&str; 4] = ["jku", "jwk", "x5u", "x5c"];

/// Steps 1–3. `any_alg` is the union of the algorithms any trusted IdP may use (the issuer is
/// not known yet).
pub(super) fn decode<'a>(
    assertion: &'a str,
    max_bytes: usize,
    any_alg: &[JwsAlgorithm],
) -> Result<Decoded<'a>, Rejection> {
    if assertion.len() > max_bytes {
        return reject(
            RejectReason::TooLarge,
            format!(
                "assertion of {} bytes exceeds {max_bytes} bytes",
                assertion.len()
            ),
        );
    }
    if assertion.is_empty() {
        return reject(RejectReason::Malformed, "empty assertion");
    }
    let parts = jose::split(assertion)?;
    let header = jose::decode_object(parts.header).map_err(|r| {
        Rejection::new(
            r,
            "the JOSE header is not a base64url JSON object without duplicate members",
        )
    })?;
    match header.get("typ") {
        Some(Value::String(t)) if jose::typ_is(t, JWT_TYP_ID_JAG) => {}
        Some(Value::String(t)) => {
            return reject(
                RejectReason::InvalidTyp,
                format!("typ `{}` is not `{JWT_TYP_ID_JAG}`", shown(t)),
            )
        }
        Some(_) => return reject(RejectReason::InvalidTyp, "typ is not a string"),
        None => return reject(RejectReason::InvalidTyp, "no typ header"),
    }
    let alg = match header.get("alg") {
        Some(Value::String(a)) => match JwsAlgorithm::from_name(a) {
            Some(alg) if any_alg.contains(&alg) => alg,
            _ => {
                return reject(
                    RejectReason::UnsupportedAlg,
                    format!("alg `{}` is not allowed", shown(a)),
                )
            }
        },
        Some(_) => return reject(RejectReason::Malformed, "alg is not a string"),
        None => return reject(RejectReason::UnsupportedAlg, "no alg header"),
    };
    if header.contains_key("crit") {
        return reject(
            RejectReason::CritUnsupported,
            "the header has `crit`; no extension is understood",
        );
    }
    for p in KEY_INJECTION_PARAMS {
        if header.contains_key(p) {
            return reject(
                RejectReason::HeaderKeyInjection,
                format!("the header carries `{p}`; keys come only from the trusted issuer's JWKS"),
            );
        }
    }
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(k)) => Some(k.clone()),
        Some(_) => return reject(RejectReason::Malformed, "kid is not a string"),
    };
    let claims = jose::decode_object(parts.payload).map_err(|r| {
        Rejection::new(
            r,
            "the claims are not a base64url JSON object without duplicate members",
        )
    })?;
    Ok(Decoded {
        signing_input: parts.signing_input,
        signature: parts.signature,
        alg,
        kid,
        claims,
    })
}
