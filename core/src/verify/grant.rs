//! [`VerifiedGrant`]: what a verified ID-JAG lets the authorization server grant.

use crate::scope::Scope;
use serde::Serialize;
use serde_json::{Map, Value};
use std::fmt;

/// Where [`VerifiedGrant::scope`] came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ScopeSource {
    /// The ID-JAG's `scope` claim (the IdP's statement), narrowed by the request and the
    /// client's allowed scopes.
    IdJag,
    /// The ID-JAG has no `scope` claim; the configured
    /// [`default_scope`](super::VerifierConfig::default_scope) stood in for it (narrowed
    /// the same way).
    DefaultScope,
    /// The ID-JAG has no `scope` claim and no `default_scope` is configured: there is no
    /// scope statement, so nothing is granted ([`VerifiedGrant::scope`] is `None`, and a
    /// request that asks for a scope is rejected as `scope_not_granted`).
    NoStatement,
}

impl ScopeSource {
    /// The stable snake_case code (`id_jag`, `default_scope`, `no_statement`), as in the
    /// JSON view.
    pub const fn code(self) -> &'static str {
        match self {
            ScopeSource::IdJag => "id_jag",
            ScopeSource::DefaultScope => "default_scope",
            ScopeSource::NoStatement => "no_statement",
        }
    }
}

impl fmt::Display for ScopeSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A successfully verified ID-JAG: what the authorization server may grant.
///
/// It serializes (serde, [`VerifiedGrant::to_json`]) as the JSON document the language
/// bindings hand out. It holds no secret (the assertion itself is not kept), but `sub` and
/// `claims` may be personal data: keep it out of logs (its `Debug` shows claim names only).
///
/// ```json
/// {"iss": "https://idp.example.com", "sub": "user-1", "client_id": "client-1",
///  "resource": ["https://mcp.example.com/mcp"], "resource_defaulted": false,
///  "scope": "mcp:read", "scope_source": "id_jag",
///  "exp": 1767225890, "iat": 1767225590, "jti": "…", "first_use": true,
///  "tenant": "acme", "aud_tenant": null, "aud_sub": null,
///  "acr": "phrh", "auth_time": 1767225000,
///  "claims": {"iss": "…", "sub": "…", "email": "…", "…": "…"}}
/// ```
///
/// The typed optional claims (`tenant`, `aud_tenant`, `aud_sub`, `acr`, `auth_time`) are
/// `None` (`null`) when the ID-JAG does not carry them; when it does, they have been checked
/// to be non-empty strings (a NumericDate for `auth_time`, not in the future), or the ID-JAG
/// was rejected as `malformed`. They stay in [`claims`](VerifiedGrant::claims) too.
#[derive(Clone, Serialize)]
#[non_exhaustive]
pub struct VerifiedGrant {
    /// The IdP issuer.
    pub iss: String,
    /// The user, in the IdP's namespace (link accounts by (`iss`, `sub`), not by email).
    pub sub: String,
    /// The client the ID-JAG was issued to (equal to the authenticated client).
    pub client_id: String,
    /// The resource(s) to audience-restrict the access token to, spelled as configured in
    /// [`VerifierConfig::resources`](super::VerifierConfig::resources); never empty.
    pub resource: Vec<String>,
    /// Whether `resource` came from the configured default because the ID-JAG had none.
    pub resource_defaulted: bool,
    /// The scope to put in the access token, never empty: `None` grants no scope at all.
    /// Always a subset of the grantable scope — the ID-JAG's `scope` claim, or
    /// [`default_scope`](super::VerifierConfig::default_scope) when it has none (see
    /// [`scope_source`](VerifiedGrant::scope_source)) — intersected with the client's
    /// [`client_scopes`](super::VerifierConfig::client_scopes) entry when configured, and
    /// with the requested scope when the request has one. When it differs from
    /// the requested scope, the token response must say so (RFC 6749 §5.1 `scope`).
    pub scope: Option<Scope>,
    /// Where the grantable scope came from.
    pub scope_source: ScopeSource,
    /// `exp` (Unix seconds).
    pub exp: i64,
    /// `iat` (Unix seconds).
    pub iat: i64,
    /// `jti` (now recorded as used).
    pub jti: String,
    /// Whether this is the first accepted presentation of this ID-JAG. Always `true` under
    /// the default [`ReplayPolicy::SingleUse`](super::ReplayPolicy::SingleUse) (a second
    /// presentation is rejected); `false` for a re-presentation accepted under
    /// [`ReplayPolicy::UntilExp`](super::ReplayPolicy::UntilExp).
    pub first_use: bool,
    /// The IdP tenant (`tenant` claim, OpenID Connect Enterprise Extensions) of a
    /// multi-tenant IdP. With it, the user is (`iss`, `tenant`, `sub`), not (`iss`, `sub`):
    /// check it against the tenant this client's registration belongs to.
    pub tenant: Option<String>,
    /// This authorization server's tenant for the user (`aud_tenant` claim), when the IdP
    /// knows it: (`aud_tenant`, `aud_sub`) is unique at this server.
    pub aud_tenant: Option<String>,
    /// This authorization server's own identifier for the user (`aud_sub` claim), when the
    /// IdP knows it (link the account by it, within `aud_tenant`).
    pub aud_sub: Option<String>,
    /// The Authentication Context Class Reference the user's authentication satisfied
    /// (`acr` claim, OpenID Connect Core §2). Checked against
    /// [`user_authentication`](super::VerifierConfig::user_authentication) when configured.
    pub acr: Option<String>,
    /// When the user last actively authenticated (`auth_time` claim, Unix seconds). Checked
    /// against `max_auth_age_s` when configured; an access token outliving
    /// `auth_time + max_auth_age_s` outlives the requirement too, so cap its lifetime if that
    /// matters.
    pub auth_time: Option<i64>,
    /// Every claim of the ID-JAG (e.g. `tenant`, `email`, `cnf`, `authorization_details`).
    pub claims: Map<String, Value>,
}

impl VerifiedGrant {
    /// The first (usually only) resource.
    pub fn primary_resource(&self) -> &str {
        self.resource
            .first()
            .map(String::as_str)
            .unwrap_or_default()
    }

    /// The JSON view (see the type's documentation).
    pub fn to_json(&self) -> String {
        // Strings, integers, booleans and JSON values only: serialization cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl fmt::Debug for VerifiedGrant {
    /// Claim values may be personal data (`email`, `sub_id`): only their names are shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedGrant")
            .field("iss", &self.iss)
            .field("sub", &self.sub)
            .field("client_id", &self.client_id)
            .field("resource", &self.resource)
            .field("resource_defaulted", &self.resource_defaulted)
            .field("scope", &self.scope)
            .field("scope_source", &self.scope_source)
            .field("exp", &self.exp)
            .field("iat", &self.iat)
            .field("jti", &self.jti)
            .field("first_use", &self.first_use)
            .field("tenant", &self.tenant)
            .field("aud_tenant", &self.aud_tenant)
            .field("aud_sub", &self.aud_sub)
            .field("acr", &self.acr)
            .field("auth_time", &self.auth_time)
            .field("claims", &self.claims.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_view_shape() {
        let mut claims = Map::new();
        claims.insert("email".into(), json!("user@example.com"));
        let g = VerifiedGrant {
            iss: "https://idp".into(),
            sub: "u".into(),
            client_id: "c".into(),
            resource: vec!["https://mcp/".into()],
            resource_defaulted: false,
            scope: Some(Scope::parse("b a").expect("scope")),
            scope_source: ScopeSource::IdJag,
            exp: 20,
            iat: 10,
            jti: "j".into(),
            first_use: true,
            tenant: Some("acme".into()),
            aud_tenant: None,
            aud_sub: Some("u-42".into()),
            acr: Some("phrh".into()),
            auth_time: Some(5),
            claims,
        };
        let v: Value = serde_json::from_str(&g.to_json()).expect("json");
        assert_eq!(
            v,
            json!({"iss": "https://idp", "sub": "u", "client_id": "c",
                   "resource": ["https://mcp/"], "resource_defaulted": false,
                   "scope": "a b", "scope_source": "id_jag", "exp": 20, "iat": 10, "jti": "j",
                   "first_use": true, "tenant": "acme", "aud_tenant": null, "aud_sub": "u-42",
                   "acr": "phrh", "auth_time": 5,
                   "claims": {"email": "user@example.com"}})
        );
        let none = VerifiedGrant {
            scope: None,
            scope_source: ScopeSource::NoStatement,
            ..g.clone()
        };
        let v: Value = serde_json::to_value(&none).expect("json");
        assert_eq!(
            (&v["scope"], &v["scope_source"]),
            (&json!(null), &json!("no_statement"))
        );
        assert!(!format!("{g:?}").contains("user@example.com"));
        for s in [
            ScopeSource::IdJag,
            ScopeSource::DefaultScope,
            ScopeSource::NoStatement,
        ] {
            assert_eq!(serde_json::to_value(s).expect("json"), json!(s.code()));
        }
    }
}
