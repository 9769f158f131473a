//! Token type and grant URNs.

/// RFC 8693 token-exchange grant type.
pub const GRANT_TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// RFC 7523 JWT-bearer grant type.
pub const GRANT_JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// The ID-JAG token type.
pub const TOKEN_TYPE_ID_JAG: &str = "urn:ietf:params:oauth:token-type:id-jag";
/// OIDC ID token subject type.
pub const TOKEN_TYPE_ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";
/// SAML 2.0 assertion subject type (base64url-encoded assertion).
pub const TOKEN_TYPE_SAML2: &str = "urn:ietf:params:oauth:token-type:saml2";
/// IdP refresh token subject type.
pub const TOKEN_TYPE_REFRESH_TOKEN: &str = "urn:ietf:params:oauth:token-type:refresh_token";
/// JWT client assertion type (private_key_jwt).
pub const CLIENT_ASSERTION_JWT_BEARER: &str =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Grant profile advertised in AS metadata `authorization_grant_profiles_supported`.
pub const GRANT_PROFILE_ID_JAG: &str = "urn:ietf:params:oauth:grant-profile:id-jag";
/// JOSE `typ` of an ID-JAG.
pub const JWT_TYP_ID_JAG: &str = "oauth-id-jag+jwt";
/// MCP extension identifier.
pub const MCP_EXTENSION: &str = "io.modelcontextprotocol/enterprise-managed-authorization";
