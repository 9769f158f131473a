//! Start-up options.

use crate::keys::{Alg, TestKey};

/// Which AS metadata documents are served (all by default). Requests to a disabled variant
/// get `404` but are still counted under [`crate::Endpoint::AsMetadata`] and logged, so
/// discovery fallbacks can be asserted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AsMetadataVariants {
    /// RFC 8414 `/.well-known/oauth-authorization-server{path}`.
    pub rfc8414: bool,
    /// OIDC with path insertion `/.well-known/openid-configuration{path}` (for an issuer
    /// without a path this is the plain OIDC document).
    pub oidc_insert: bool,
    /// OIDC Discovery path append `{path}/.well-known/openid-configuration` (only differs
    /// from `oidc_insert` when the issuer has a path).
    pub oidc_append: bool,
}

impl Default for AsMetadataVariants {
    fn default() -> Self {
        AsMetadataVariants {
            rfc8414: true,
            oidc_insert: true,
            oidc_append: true,
        }
    }
}

impl AsMetadataVariants {
    /// Only the OIDC documents (exercises the RFC 8414 → OIDC fallback).
    pub fn oidc_only() -> Self {
        AsMetadataVariants {
            rfc8414: false,
            oidc_insert: true,
            oidc_append: true,
        }
    }

    /// Only the OIDC path-append document (exercises the last fallback).
    pub fn oidc_append_only() -> Self {
        AsMetadataVariants {
            rfc8414: false,
            oidc_insert: false,
            oidc_append: true,
        }
    }
}

/// Kit configuration. Start from `Options::default()` and override fields:
///
/// ```
/// let kit = idjag_testkit::TestKit::start_with(idjag_testkit::Options {
///     as_path: Some("/as".into()),
///     ..Default::default()
/// });
/// assert!(kit.as_issuer().ends_with("/as"));
/// ```
#[derive(Clone, Debug)]
pub struct Options {
    /// Serve all three roles over HTTPS with a freshly generated CA ([`crate::TestKit::ca_pem`]).
    pub tls: bool,
    /// Put the AS issuer under a path, e.g. `Some("/as")` → issuer `http://127.0.0.1:P/as`,
    /// metadata at `/.well-known/oauth-authorization-server/as` (RFC 8414 path insertion).
    pub as_path: Option<String>,
    /// Which AS metadata documents are served.
    pub as_metadata: AsMetadataVariants,
    /// Client authentication methods the AS accepts and advertises (default:
    /// `client_secret_basic`, `client_secret_post`, `private_key_jwt`).
    pub as_auth_methods: Vec<String>,
    /// Override of the IdP metadata's `token_endpoint_auth_methods_supported` (default `None`:
    /// all four methods the IdP accepts). Only what is advertised changes: the IdP still
    /// accepts every method for the clients registered with it, like IdPs that take public
    /// clients without listing `none`.
    pub idp_advertised_auth_methods: Option<Vec<String>>,
    /// Lifetime of AS access tokens (default 300 s).
    pub as_token_ttl_secs: u64,
    /// Clock skew the AS allows on ID-JAG `exp`/`iat`/`nbf` (default 60 s).
    pub as_clock_skew_secs: i64,
    /// Longest ID-JAG lifetime (`exp - iat`) the AS accepts (default 3600 s).
    pub as_max_id_jag_lifetime_secs: i64,
    /// Include the granted `resource` in AS token responses (default false, like the EMA
    /// example).
    pub as_return_resource: bool,
    /// Refuse a `scope` parameter on the jwt-bearer request with `invalid_scope`, as Okta's
    /// custom authorization servers do (default false).
    pub as_reject_jwt_bearer_scope: bool,
    /// Publish the AS issuer with a trailing slash (`http://127.0.0.1:PORT/`), as Auth0 does;
    /// ID-JAGs must then carry exactly that `aud` (default false).
    pub as_issuer_trailing_slash: bool,
    /// The AS verifier's replay policy (default `single_use`). `until_exp` imitates
    /// authorization servers that accept the same ID-JAG until it expires (Auth0).
    pub as_replay_policy: idjag::verify::ReplayPolicy,
    /// The AS verifier's user-authentication policy (default: none). With `acr_values` /
    /// `max_auth_age_s`, ID-JAGs that do not meet it get `insufficient_user_authentication`
    /// with the requirement in the body (RFC 9470 §3), like a sensitive server.
    pub as_user_authentication: idjag::verify::UserAuthenticationConfig,
    /// Also accept workload JWTs on the jwt-bearer grant (SEP-1933 workload identity
    /// federation): signed by an IdP key, `aud` the AS token endpoint or issuer, a `sub`, not
    /// typed as an ID-JAG; the client only names itself (`client_id`, no registration).
    /// Default false.
    pub as_workload_identity: bool,
    /// Algorithm of the ID-JAGs the IdP issues (default ES256).
    pub id_jag_alg: Alg,
    /// ID-JAG lifetime (default 300 s).
    pub id_jag_ttl_secs: u64,
    /// Algorithm of the ID tokens the IdP issues (default RS256).
    pub id_token_alg: Alg,
    /// ID token lifetime (default 3600 s).
    pub id_token_ttl_secs: u64,
    /// Also publish an Ed25519 key in the IdP JWKS (default false).
    pub ed25519_key: bool,
    /// Scopes the IdP refuses with `invalid_scope` (default `["mcp:denied"]`).
    pub idp_denied_scopes: Vec<String>,
    /// If set, the IdP narrows requested scopes to this set (and returns `scope`).
    pub idp_granted_scopes: Option<Vec<String>>,
    /// Scopes of the MCP server (PRM and AS `scopes_supported`; default
    /// `mcp:read mcp:write mcp:admin`).
    pub scopes_supported: Vec<String>,
    /// Scopes put in the MCP server's 401 challenge (default `mcp:read mcp:write`).
    pub challenge_scopes: Vec<String>,
    /// Resources governed by the AS besides the MCP URL (the IdP accepts them as `resource`,
    /// the AS accepts them in the ID-JAG; the MCP server only accepts tokens for itself).
    pub extra_resources: Vec<String>,
    /// More MCP servers on the MCP origin besides `/mcp` (e.g. `/mcp2`), each with its own
    /// protected-resource metadata, resource identifier and token audience, behind the same
    /// AS — for clients that talk to several MCP servers at once.
    pub extra_mcp_paths: Vec<String>,
    /// More authorization servers (issuers) the IdP issues ID-JAGs for besides the kit's AS,
    /// e.g. a real Keycloak realm in interop tests. The ID-JAG `aud` is the requested one.
    pub extra_audiences: Vec<String>,
    /// The authorization server the MCP server's protected-resource metadata names instead
    /// of the kit's own (e.g. a real Keycloak realm), so clients discover it through RFC 9728
    /// as they would in production. The IdP issues ID-JAGs for it too. The MCP server then
    /// also accepts that server's JWT access tokens: signature by the JWKS its metadata names,
    /// exact `iss`, `aud` containing the MCP server's URL, `exp` by the kit's clock (the user
    /// is `preferred_username` or `sub`, the client `client_id` or `azp`).
    pub mcp_authorization_server: Option<String>,
    /// User for `/authorize` without `login_hint` and for the context's ID token (default
    /// `alice`).
    pub default_user: String,
    /// Domain of the `email` claim (`user@domain`; default `example.com`).
    pub email_domain: String,
    /// Worker threads per server (default 4).
    pub workers: usize,
    /// Also accept HTTP Basic client credentials that were *not* form-urlencoded (many
    /// client libraries skip the RFC 6749 §2.3.1 encoding). Default false: strict.
    pub lenient_basic: bool,
    /// Use client secrets made of letters and digits only, instead of secrets that need
    /// form-urlencoding (`:`, `+`, `/`, `%`, `&`, `=`, space). Default false.
    pub plain_secrets: bool,
    /// `Cache-Control` header on metadata, JWKS and PRM responses (default: none).
    pub metadata_cache_control: Option<String>,
    /// Fixed IdP signing keys ([`TestKey::from_pkcs8_pem`], [`TestKey::from_seed`]): each
    /// replaces the generated key of its algorithm (an EdDSA key is published even without
    /// [`Options::ed25519_key`]), so the JWKS and `kid`s stay the same across restarts. At
    /// most one per algorithm. Default: none (fresh keys).
    pub idp_signing_keys: Vec<TestKey>,
    /// Loopback port of the IdP (default: an ephemeral one). With a fixed port and fixed
    /// keys, the IdP issuer and JWKS are the same in every run, so an authorization server
    /// under test can trust them once.
    pub idp_port: Option<u16>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            tls: false,
            as_path: None,
            as_metadata: AsMetadataVariants::default(),
            as_auth_methods: vec![
                "client_secret_basic".into(),
                "client_secret_post".into(),
                "private_key_jwt".into(),
            ],
            idp_advertised_auth_methods: None,
            as_token_ttl_secs: 300,
            as_clock_skew_secs: 60,
            as_max_id_jag_lifetime_secs: 3600,
            as_return_resource: false,
            as_reject_jwt_bearer_scope: false,
            as_issuer_trailing_slash: false,
            as_replay_policy: idjag::verify::ReplayPolicy::SingleUse,
            as_user_authentication: idjag::verify::UserAuthenticationConfig::default(),
            as_workload_identity: false,
            id_jag_alg: Alg::ES256,
            id_jag_ttl_secs: 300,
            id_token_alg: Alg::RS256,
            id_token_ttl_secs: 3600,
            ed25519_key: false,
            idp_denied_scopes: vec!["mcp:denied".into()],
            idp_granted_scopes: None,
            scopes_supported: vec!["mcp:read".into(), "mcp:write".into(), "mcp:admin".into()],
            challenge_scopes: vec!["mcp:read".into(), "mcp:write".into()],
            extra_resources: Vec::new(),
            extra_mcp_paths: Vec::new(),
            extra_audiences: Vec::new(),
            mcp_authorization_server: None,
            default_user: "alice".into(),
            email_domain: "example.com".into(),
            workers: 4,
            lenient_basic: false,
            plain_secrets: false,
            metadata_cache_control: None,
            idp_signing_keys: Vec::new(),
            idp_port: None,
        }
    }
}
