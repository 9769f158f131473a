//! Access tokens of an external authorization server (`Options::mcp_authorization_server`,
//! e.g. Keycloak): the MCP server accepts that server's JWT access tokens (the RFC 9068 shape
//! Keycloak issues) after checking the signature against the JWKS its metadata names, `iss`
//! (exact), `aud` (must contain the MCP server's URL) and `exp` (by the kit's clock).
//!
//! The JWKS is fetched on first use and again, once per request, for an unknown `kid`; no
//! lock is held while fetching.

use crate::httpd::lock;
use crate::state::{AccessTokenRecord, Shared};
use idjag::http::{AddressPolicy, HttpClient, HttpConfig, HttpRequest, Method, UreqHttpClient};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

/// Checks `token` as an access token of `issuer` for `resource`.
pub(crate) fn verify(
    shared: &Shared,
    issuer: &str,
    token: &str,
    resource: &str,
) -> Result<AccessTokenRecord, String> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| "not a JWT".to_string())?;
    if !matches!(
        header.alg,
        Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512
            | Algorithm::ES256
            | Algorithm::ES384
            | Algorithm::EdDSA
    ) {
        return Err(format!("algorithm {:?} not accepted", header.alg));
    }
    let kid = header.kid.ok_or("no kid")?;
    let key = key(shared, issuer, &kid)?;
    let mut v = Validation::new(header.alg);
    v.set_issuer(&[issuer]);
    v.set_audience(&[resource]);
    // `exp` is checked below against the kit's clock (which tests may move).
    v.validate_exp = false;
    v.set_required_spec_claims(&["iss", "aud", "exp"]);
    let claims = jsonwebtoken::decode::<Value>(token, &key, &v)
        .map_err(|e| format!("rejected: {e}"))?
        .claims;
    let exp = claims["exp"].as_i64().ok_or("exp is not a number")?;
    if exp <= shared.now() {
        return Err("expired".into());
    }
    let text = |name: &str| claims[name].as_str().map(str::to_string);
    Ok(AccessTokenRecord {
        user: text("preferred_username")
            .or_else(|| text("sub"))
            .unwrap_or_default(),
        client_id: text("client_id")
            .or_else(|| text("azp"))
            .unwrap_or_default(),
        scopes: text("scope")
            .map(|s| s.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default(),
        resource: resource.to_string(),
        exp,
    })
}

/// The decoding key for `kid`: from the cached key set, else from a fresh fetch.
fn key(shared: &Shared, issuer: &str, kid: &str) -> Result<DecodingKey, String> {
    let cached = lock(&shared.external_jwks)
        .as_ref()
        .and_then(|set| set.find(kid).cloned());
    let jwk = match cached {
        Some(jwk) => jwk,
        None => {
            let set = fetch_jwks(issuer)?;
            let found = set.find(kid).cloned();
            *lock(&shared.external_jwks) = Some(set);
            found.ok_or_else(|| format!("no key {kid:?} in the JWKS of {issuer}"))?
        }
    };
    DecodingKey::from_jwk(&jwk).map_err(|e| format!("unusable key {kid:?}: {e}"))
}

fn fetch_jwks(issuer: &str) -> Result<JwkSet, String> {
    let client = idjag::Client::builder()
        .build()
        .map_err(|e| e.to_string())?;
    let meta = client
        .authorization_server_metadata(issuer)
        .map_err(|e| format!("metadata of {issuer}: {e}"))?;
    let jwks_uri = meta
        .jwks_uri
        .clone()
        .ok_or_else(|| format!("the metadata of {issuer} names no jwks_uri"))?;
    let http = UreqHttpClient::new(&HttpConfig::default()).map_err(|e| e.to_string())?;
    let r = http
        .execute(&HttpRequest {
            method: Method::Get,
            url: jwks_uri.clone(),
            headers: vec![("accept".into(), "application/json".into())],
            body: Vec::new(),
            max_response_bytes: 1 << 20,
            address_policy: AddressPolicy::Any,
            timeout: None,
        })
        .map_err(|e| format!("{jwks_uri}: {e}"))?;
    if r.status != 200 {
        return Err(format!("{jwks_uri}: status {}", r.status));
    }
    serde_json::from_slice(&r.body).map_err(|e| format!("{jwks_uri}: {e}"))
}
