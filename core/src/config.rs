//! [`SessionConfig`]: the one JSON description of an MCP client, shared by Rust, C, Python,
//! Node and the `idjag` command line (DESIGN §4).
//!
//! ```json
//! {
//!   "idp": {"issuer": "https://idp.example.com", "client_id": "mcp-app",
//!           "client_secret": "…", "auth_method": "client_secret_basic"},
//!   "subject_token": "<the user's ID token>",
//!   "subject_token_type": "id_token",
//!   "idp_refresh_token": "<optional IdP refresh token>",
//!   "client": {"client_id": "mcp-app-at-as", "client_secret": "…"},
//!   "clients": {"https://as.other.example": {"client_id": "…", "private_key_pem": "…", "signing_alg": "ES256"}},
//!   "scope": "mcp:read",
//!   "scopes": {"https://mcp.example.com/mcp": "mcp:read mcp:write"},
//!   "timeout_ms": 10000,
//!   "ca_bundle_pem": "-----BEGIN CERTIFICATE-----…",
//!   "renewal_margin_s": 60
//! }
//! ```
//!
//! Unknown keys and contradictory settings are [`ErrorKind::Configuration`] errors whose
//! message names the key. Error messages never contain a configured value.

use crate::client_auth::{
    AssertionAudience, AuthMethod, ClientCredentials, PrivateKey, SigningAlg,
};
use crate::discovery::ResourceMatch;
use crate::error::{Error, ErrorKind, Result};
use crate::exchange::SubjectTokenType;
use crate::http::HttpConfig;
use crate::secret::SecretString;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// Client credentials at one server (the IdP, or an MCP authorization server).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    /// The client identifier at that server.
    pub client_id: String,
    /// Client secret (`client_secret_basic` / `client_secret_post`).
    #[serde(default)]
    pub client_secret: Option<SecretString>,
    /// Explicit method; default: chosen from the server's metadata.
    #[serde(default)]
    pub auth_method: Option<AuthMethod>,
    /// PEM private key for `private_key_jwt`.
    #[serde(default)]
    pub private_key_pem: Option<SecretString>,
    /// Algorithm of `private_key_pem` (`RS256`, `PS256`, `ES256`, `EdDSA`); default: inferred
    /// from the key (RSA → RS256, EC → ES256, Ed25519 → EdDSA).
    #[serde(default)]
    pub signing_alg: Option<SigningAlg>,
    /// `kid` header of client assertions.
    #[serde(default)]
    pub key_id: Option<String>,
    /// `aud` of client assertions: `issuer` (default) or `token_endpoint`.
    #[serde(default)]
    pub assertion_audience: Option<AssertionAudience>,
    /// `typ` header of client assertions (e.g. `client-authentication+jwt`).
    #[serde(default)]
    pub assertion_typ: Option<String>,
}

impl ClientConfig {
    /// The credentials this object describes (private key parsed, algorithm inferred when
    /// not given, contradictions refused). `key` names the object in error messages.
    pub fn to_credentials(&self, key: &str) -> Result<ClientCredentials> {
        client_credentials(self, key)
    }

    /// Parses one credentials object of the shared JSON shape (`client_id`, `client_secret`,
    /// `auth_method`, `private_key_pem`, `signing_alg`, `key_id`, `assertion_audience`,
    /// `assertion_typ`) into credentials. Errors name keys, never values.
    pub fn credentials_from_json(json: &str, key: &str) -> Result<ClientCredentials> {
        let de = &mut serde_json::Deserializer::from_str(json);
        let c: ClientConfig = serde_path_to_error::deserialize(de)
            .map_err(|e| json_config_error(e, &format!("credentials `{key}`")))?;
        c.to_credentials(key)
    }
}

/// The IdP: where the user's identity assertion is exchanged for ID-JAGs.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdpConfig {
    /// IdP issuer; its metadata gives the token endpoint and auth methods.
    #[serde(default)]
    pub issuer: Option<String>,
    /// IdP token endpoint, when discovery is not wanted.
    #[serde(default)]
    pub token_endpoint: Option<String>,
    /// Client id at the IdP.
    pub client_id: String,
    /// Client secret at the IdP.
    #[serde(default)]
    pub client_secret: Option<SecretString>,
    /// Explicit client authentication method at the IdP.
    #[serde(default)]
    pub auth_method: Option<AuthMethod>,
    /// PEM private key for `private_key_jwt` at the IdP.
    #[serde(default)]
    pub private_key_pem: Option<SecretString>,
    /// Algorithm of `private_key_pem`.
    #[serde(default)]
    pub signing_alg: Option<SigningAlg>,
    /// `kid` header of client assertions.
    #[serde(default)]
    pub key_id: Option<String>,
    /// `aud` of client assertions.
    #[serde(default)]
    pub assertion_audience: Option<AssertionAudience>,
    /// `typ` header of client assertions.
    #[serde(default)]
    pub assertion_typ: Option<String>,
}

/// The complete client configuration.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionConfig {
    /// The enterprise IdP.
    pub idp: IdpConfig,
    /// The user's identity assertion (ID token, base64url SAML assertion, or IdP refresh
    /// token). May be supplied later with `Session::set_subject_token`.
    #[serde(default)]
    pub subject_token: Option<SecretString>,
    /// Type of `subject_token`: `id_token` (default), `saml2`, `refresh_token`.
    #[serde(default)]
    pub subject_token_type: SubjectTokenType,
    /// IdP refresh token, to renew an expired or rejected ID token silently.
    #[serde(default)]
    pub idp_refresh_token: Option<SecretString>,
    /// Default credentials at MCP authorization servers.
    #[serde(default)]
    pub client: Option<ClientConfig>,
    /// Per-AS-issuer credentials (exact issuer string → credentials).
    #[serde(default)]
    pub clients: BTreeMap<String, ClientConfig>,
    /// Default scope for every MCP server (else: the challenged scope, else the PRM's).
    #[serde(default)]
    pub scope: Option<String>,
    /// Per-MCP-server scope (server URL → scope).
    #[serde(default)]
    pub scopes: BTreeMap<String, String>,
    /// Total timeout of one HTTP request in milliseconds (default 30000).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// Connect timeout in milliseconds (default 5000).
    #[serde(default)]
    pub connect_timeout_ms: Option<u64>,
    /// Extra trusted CA roots (PEM).
    #[serde(default)]
    pub ca_bundle_pem: Option<String>,
    /// Proxy URL.
    #[serde(default)]
    pub proxy: Option<String>,
    /// Renew access tokens this many seconds before they expire (default 60).
    #[serde(default)]
    pub renewal_margin_s: Option<u64>,
    /// Lifetime assumed for an access token that came without `expires_in` (default 300).
    #[serde(default)]
    pub default_token_lifetime_s: Option<u64>,
    /// PRM `resource` matching: `exact` (default) or `same_origin_prefix`.
    #[serde(default)]
    pub resource_match: ResourceMatch,
    /// Most scope step-ups per MCP server (default 3).
    #[serde(default)]
    pub max_step_ups: Option<u8>,
}

/// Turns a JSON configuration parse error into a [`ErrorKind::Configuration`] error that names
/// the key and never quotes a configured value (it may be a secret): messages about keys keep
/// the key names, messages about values keep only the path and the accepted values.
pub(crate) fn json_config_error(
    e: serde_path_to_error::Error<serde_json::Error>,
    what: &str,
) -> Error {
    let path = e.path().to_string();
    let inner = e.into_inner();
    let text = inner.to_string();
    let text = text.split(" at line ").next().unwrap_or(&text).to_string();
    let detail = if text.starts_with("unknown field")
        || text.starts_with("missing field")
        || text.starts_with("duplicate field")
    {
        Some(text.clone())
    } else if text.starts_with("unknown variant") {
        // "unknown variant `<value>`, expected one of …": drop the value.
        Some(match text.find(", expected") {
            Some(i) => format!("unsupported value{}", &text[i..]),
            None => "unsupported value".to_string(),
        })
    } else {
        None
    };
    let msg = match (inner.classify(), detail) {
        (serde_json::error::Category::Syntax | serde_json::error::Category::Eof, _) => format!(
            "{what} is not valid JSON (line {}, column {})",
            inner.line(),
            inner.column()
        ),
        (_, Some(d)) if path == "." => format!("{what}: {d}"),
        (_, Some(d)) => format!("{what} key `{path}`: {d}"),
        (_, None) => format!("{what} key `{path}` has an invalid type or value"),
    };
    Error::configuration(msg)
}

fn config_error(e: serde_path_to_error::Error<serde_json::Error>) -> Error {
    json_config_error(e, "configuration")
}

impl SessionConfig {
    /// Parses the JSON configuration.
    pub fn from_json(json: &str) -> Result<SessionConfig> {
        let de = &mut serde_json::Deserializer::from_str(json);
        let cfg: SessionConfig = serde_path_to_error::deserialize(de).map_err(config_error)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks for contradictory or missing settings.
    pub fn validate(&self) -> Result<()> {
        if self.idp.issuer.is_none() && self.idp.token_endpoint.is_none() {
            return Err(Error::configuration(
                "configuration key `idp`: set `idp.issuer` or `idp.token_endpoint`",
            ));
        }
        if let Some(i) = &self.idp.issuer {
            crate::http::check_url(i, crate::Step::Config).map_err(|e| {
                Error::configuration(format!("configuration key `idp.issuer`: {}", e.message()))
            })?;
        }
        if let Some(t) = &self.idp.token_endpoint {
            crate::http::check_url(t, crate::Step::Config).map_err(|e| {
                Error::configuration(format!(
                    "configuration key `idp.token_endpoint`: {}",
                    e.message()
                ))
            })?;
        }
        if self.idp.client_id.is_empty() {
            return Err(Error::configuration(
                "configuration key `idp.client_id` is empty",
            ));
        }
        if self.subject_token.as_ref().is_some_and(|t| t.is_empty()) {
            return Err(Error::configuration(
                "configuration key `subject_token` is empty",
            ));
        }
        self.idp_credentials()?;
        if let Some(c) = &self.client {
            client_credentials(c, "client")?;
        }
        for (issuer, c) in &self.clients {
            crate::http::check_url(issuer, crate::Step::Config).map_err(|e| {
                Error::configuration(format!(
                    "configuration key `clients.{issuer}`: {}",
                    e.message()
                ))
            })?;
            client_credentials(c, &format!("clients.{issuer}"))?;
        }
        // `client`/`clients` may be absent when only leg 1 is used (`Session::request_id_jag`);
        // `access_token` then fails with a `configuration` error naming `clients`.
        if self.timeout_ms == Some(0) || self.connect_timeout_ms == Some(0) {
            return Err(Error::configuration(
                "configuration keys `timeout_ms`/`connect_timeout_ms` must be positive",
            ));
        }
        if self.max_step_ups.is_some_and(|n| n > 10) {
            return Err(Error::configuration(
                "configuration key `max_step_ups` must be at most 10",
            ));
        }
        Ok(())
    }

    /// Credentials at the IdP.
    pub fn idp_credentials(&self) -> Result<ClientCredentials> {
        let c = ClientConfig {
            client_id: self.idp.client_id.clone(),
            client_secret: self.idp.client_secret.clone(),
            auth_method: self.idp.auth_method,
            private_key_pem: self.idp.private_key_pem.clone(),
            signing_alg: self.idp.signing_alg,
            key_id: self.idp.key_id.clone(),
            assertion_audience: self.idp.assertion_audience,
            assertion_typ: self.idp.assertion_typ.clone(),
        };
        client_credentials(&c, "idp")
    }

    /// Credentials at the authorization server `issuer` (per-issuer override, else default).
    pub fn as_credentials(&self, issuer: &str) -> Result<ClientCredentials> {
        if let Some(c) = self.clients.get(issuer) {
            return client_credentials(c, &format!("clients.{issuer}"));
        }
        match &self.client {
            Some(c) => client_credentials(c, "client"),
            None => Err(Error::new(
                ErrorKind::Configuration,
                crate::Step::Config,
                format!("configuration key `clients`: no credentials for authorization server `{issuer}` and no default `client`"),
            )),
        }
    }

    /// HTTP settings derived from this configuration.
    pub fn http_config(&self) -> HttpConfig {
        let mut h = HttpConfig::default();
        if let Some(ms) = self.timeout_ms {
            h.total_timeout = Duration::from_millis(ms);
            h.read_timeout = h.read_timeout.min(h.total_timeout);
        }
        if let Some(ms) = self.connect_timeout_ms {
            h.connect_timeout = Duration::from_millis(ms);
        }
        h.connect_timeout = h.connect_timeout.min(h.total_timeout);
        h.ca_bundle_pem = self.ca_bundle_pem.clone();
        h.proxy = self.proxy.clone();
        h
    }
}

fn infer_alg(pem: &str) -> Option<SigningAlg> {
    // Try each key type; PKCS#8 PEMs share one label, so parsing is the reliable test.
    let secret = SecretString::new(pem);
    [SigningAlg::ES256, SigningAlg::EdDSA, SigningAlg::RS256]
        .into_iter()
        .find(|alg| PrivateKey::from_pem(&secret, *alg).is_ok())
}

fn client_credentials(c: &ClientConfig, key: &str) -> Result<ClientCredentials> {
    if c.client_id.is_empty() {
        return Err(Error::configuration(format!(
            "configuration key `{key}.client_id` is empty"
        )));
    }
    let mut creds = ClientCredentials::new(c.client_id.clone());
    creds.client_secret = c.client_secret.clone();
    creds.auth_method = c.auth_method;
    creds.assertion_audience = c.assertion_audience.unwrap_or_default();
    creds.assertion_typ = c.assertion_typ.clone();
    if let Some(pem) = &c.private_key_pem {
        let alg = match c.signing_alg {
            Some(a) => a,
            None => infer_alg(pem.expose_secret()).ok_or_else(|| {
                Error::configuration(format!(
                    "configuration key `{key}.private_key_pem` is not a PEM private key (RSA, EC P-256 or Ed25519)"
                ))
            })?,
        };
        let mut pk = PrivateKey::from_pem(pem, alg).map_err(|_| {
            Error::configuration(format!(
                "configuration key `{key}.private_key_pem` is not a valid {} private key",
                alg.code()
            ))
        })?;
        if let Some(kid) = &c.key_id {
            pk = pk.with_kid(kid.clone());
        }
        creds = creds.with_private_key(pk);
    } else if c.signing_alg.is_some() {
        return Err(Error::configuration(format!(
            "configuration key `{key}.signing_alg` is set but `{key}.private_key_pem` is not"
        )));
    }
    match c.auth_method {
        Some(AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost)
            if c.client_secret.is_none() =>
        {
            Err(Error::configuration(format!(
                "configuration key `{key}.auth_method` needs `{key}.client_secret`"
            )))
        }
        Some(AuthMethod::PrivateKeyJwt) if c.private_key_pem.is_none() => {
            Err(Error::configuration(format!(
                "configuration key `{key}.auth_method` needs `{key}.private_key_pem`"
            )))
        }
        Some(AuthMethod::None) if c.client_secret.is_some() || c.private_key_pem.is_some() => {
            Err(Error::configuration(format!(
                "configuration key `{key}.auth_method` is `none` but credentials are configured"
            )))
        }
        _ => Ok(creds),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = r#"{"idp":{"issuer":"https://idp.example","client_id":"a","client_secret":"s"},
        "subject_token":"t","client":{"client_id":"c","client_secret":"planted-cs"}}"#;

    #[test]
    fn parses_the_shared_shape() {
        let c = SessionConfig::from_json(OK).expect("ok");
        assert_eq!(c.subject_token_type, SubjectTokenType::IdToken);
        assert!(!format!("{c:?}").contains("planted-cs"));
    }

    #[test]
    fn unknown_keys_are_named() {
        let e = SessionConfig::from_json(
            r#"{"idp":{"issuer":"https://i","client_id":"a","colour":1},"client":{"client_id":"c"}}"#,
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Configuration);
        assert!(e.to_string().contains("colour"), "{e}");
    }

    #[test]
    fn invalid_values_are_not_echoed() {
        let e = SessionConfig::from_json(
            r#"{"idp":{"issuer":"https://i","client_id":"a"},"client":{"client_id":"c"},"timeout_ms":"planted-secret"}"#,
        )
        .unwrap_err();
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains("planted-secret"), "{shown}");
        assert!(shown.contains("timeout_ms"), "{shown}");
    }

    #[test]
    fn unknown_enum_values_are_not_echoed() {
        let e = SessionConfig::from_json(
            r#"{"idp":{"issuer":"https://i","client_id":"a","auth_method":"planted-secret"},"client":{"client_id":"c"}}"#,
        )
        .unwrap_err();
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains("planted-secret"), "{shown}");
        assert!(
            shown.contains("idp.auth_method") && shown.contains("client_secret_basic"),
            "{shown}"
        );
    }

    #[test]
    fn contradictions_are_configuration_errors() {
        for (json, key) in [
            (
                r#"{"idp":{"client_id":"a"},"client":{"client_id":"c"}}"#,
                "idp",
            ),
            (
                r#"{"idp":{"issuer":"http://idp.example","client_id":"a"},"client":{"client_id":"c"}}"#,
                "idp.issuer",
            ),
            (
                r#"{"idp":{"issuer":"https://i","client_id":"a"},"client":{"client_id":"c","auth_method":"client_secret_basic"}}"#,
                "client.auth_method",
            ),
            (
                r#"{"idp":{"issuer":"https://i","client_id":"a","auth_method":"private_key_jwt"},"client":{"client_id":"c"}}"#,
                "idp.auth_method",
            ),
            (
                r#"{"idp":{"issuer":"https://i","client_id":"a"},"client":{"client_id":"c","private_key_pem":"nope"}}"#,
                "client.private_key_pem",
            ),
            (
                r#"{"idp":{"issuer":"https://i","client_id":"a"},"client":{"client_id":"c","signing_alg":"ES256"}}"#,
                "client.signing_alg",
            ),
            (
                r#"{"idp":{"issuer":"https://i","client_id":"a"},"client":{"client_id":"c"},"subject_token_type":"jwt"}"#,
                "subject_token_type",
            ),
            (
                r#"{"idp":{"issuer":"https://i","client_id":"a"},"client":{"client_id":"c"},"timeout_ms":0}"#,
                "timeout_ms",
            ),
            (
                r#"{"idp":{"issuer":"https://i","client_id":"a"},"client":{"client_id":"c"},"clients":{"not a url":{"client_id":"x"}}}"#,
                "clients.",
            ),
            (
                r#"{"idp":{"issuer":"https://i","client_id":"a"},"client":{"client_id":"c"}"#,
                "JSON",
            ),
        ] {
            let e = SessionConfig::from_json(json).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Configuration, "{json}");
            assert!(e.to_string().contains(key), "{json}: {e}");
        }
    }

    #[test]
    fn per_issuer_credentials_override_the_default() {
        let c = SessionConfig::from_json(
            r#"{"idp":{"issuer":"https://i","client_id":"a"},"client":{"client_id":"default"},
                "clients":{"https://as.two":{"client_id":"two"}}}"#,
        )
        .expect("ok");
        assert_eq!(
            c.as_credentials("https://as.two").expect("c").client_id,
            "two"
        );
        assert_eq!(
            c.as_credentials("https://as.one").expect("c").client_id,
            "default"
        );
    }
}
