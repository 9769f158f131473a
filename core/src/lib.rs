//! # idjag
//!
//! MCP Enterprise-Managed Authorization (SEP-990, "Cross-App Access") for both sides:
//!
//! - **client**: discover an MCP server's authorization server (RFC 9728 / RFC 8414 / OIDC),
//!   exchange the user's identity assertion at the enterprise IdP for an ID-JAG (RFC 8693),
//!   redeem it at the authorization server for an access token (RFC 7523);
//! - **authorization server**: verify presented ID-JAGs.
//!
//! The core is synchronous, owns no runtime and no global state, and is shared by the C,
//! Python and Node bindings and the `idjag` command line.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod challenge;
pub mod client;
pub mod client_auth;
pub mod clock;
pub mod config;
pub mod discovery;
pub mod error;
pub mod exchange;
pub mod http;
pub mod jwt;
pub mod secret;
pub mod session;
pub mod verify;

pub use client::{Client, ClientBuilder, EventHook, HttpEvent};
pub use client_auth::{AuthMethod, ClientCredentials, PrivateKey, SigningAlg};
pub use config::{ClientConfig, IdpConfig, SessionConfig};
pub use discovery::{
    AuthorizationServerMetadata, Discovery, DiscoveryOptions, ProtectedResourceMetadata,
    ResourceMatch,
};
pub use error::{Action, Error, ErrorKind, OAuthErrorResponse, Result, Step};
pub use exchange::{
    AccessToken, IdJag, IdJagRequest, IdTokenRefresh, RedeemRequest, SubjectTokenType,
};
pub use secret::SecretString;
pub use session::{Session, SessionBuilder, Token};
pub use verify::{IdJagVerifier, RejectReason, VerifiedGrant, VerifierConfig};

/// Token type and grant URNs (SPEC §0.3).
pub mod urn {
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
}
