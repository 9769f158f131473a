//! Where our client credentials may go (MCP: registration state is
//! per AS issuer, never reuse one AS's credentials at another).
//!
//! An MCP server names its authorization server; a hostile server can name one it controls.
//! The IdP's audience policy (it issues ID-JAGs only for audiences it knows) is one gate, but
//! a shared client secret sent to a server that is not the one it was registered at is lost
//! for good. So the default `client` of a [`SessionConfig`] goes only where the configuration
//! says it may:
//!
//! - `clients.<issuer>`: exactly that authorization server (by exact issuer);
//! - the default `client` with a shared secret (`client_secret_basic` / `_post`, or a secret
//!   and no explicit method): only the issuers listed in `client_issuers`, unless
//!   `client_issuers` is `"any"`;
//! - the default `client` with `private_key_jwt` or `none`: any authorization server the IdP
//!   issues an ID-JAG for, unless `client_issuers` lists issuers (then only those) — a client
//!   assertion is bound to one audience and a public client id is not a secret.
//!
//! A refusal is a `configuration` error raised before anything is sent for that server.

use crate::client_auth::AuthMethod;
use crate::config::{ClientConfig, SessionConfig};
use crate::error::{sanitize_server_text, Error, ErrorKind, Result, Step};
use serde::{Deserialize, Serialize};

/// Where the default `client` credentials may be sent (`client_issuers` in the JSON).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ClientIssuers {
    /// `"any"`: any authorization server the IdP issues an ID-JAG for.
    Any(AnyIssuer),
    /// Only these exact AS issuers.
    Listed(Vec<String>),
}

/// The literal `"any"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnyIssuer {
    /// Any issuer.
    Any,
}

/// Which credentials a configuration would send to one authorization server, and whether it
/// may. A secret-free JSON document (`idjag discover` prints it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CredentialRoute {
    /// The authorization server's issuer.
    pub issuer: String,
    /// Where the credentials come from: `clients` (the per-issuer entry), `client` (the
    /// default) or `none` (nothing configured).
    pub source: &'static str,
    /// The client id that would be sent.
    pub client_id: Option<String>,
    /// The configured method, or `None` when it is chosen from the server's metadata.
    pub auth_method: Option<&'static str>,
    /// Whether the credentials include a shared secret.
    pub shared_secret: bool,
    /// Whether the configuration allows sending them to this issuer.
    pub allowed: bool,
    /// Why (or why not), for people.
    pub reason: String,
}

fn uses_shared_secret(c: &ClientConfig) -> bool {
    match c.auth_method {
        Some(AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost) => true,
        Some(AuthMethod::PrivateKeyJwt | AuthMethod::None) => false,
        None => c.client_secret.is_some(),
    }
}

impl SessionConfig {
    /// Which credentials this configuration sends to the authorization server `issuer`, and
    /// whether it may (see the [module documentation](crate::routing)).
    pub fn credential_route(&self, issuer: &str) -> CredentialRoute {
        let shown = sanitize_server_text(issuer);
        if let Some(c) = self.clients.get(issuer) {
            return CredentialRoute {
                issuer: shown,
                source: "clients",
                client_id: Some(c.client_id.clone()),
                auth_method: c.auth_method.map(AuthMethod::code),
                shared_secret: uses_shared_secret(c),
                allowed: true,
                reason: "configured for this issuer in `clients`".into(),
            };
        }
        let Some(c) = &self.client else {
            return CredentialRoute {
                issuer: shown,
                source: "none",
                client_id: None,
                auth_method: None,
                shared_secret: false,
                allowed: false,
                reason: "no `clients` entry for this issuer and no default `client`".into(),
            };
        };
        let shared = uses_shared_secret(c);
        let (allowed, reason) = match &self.client_issuers {
            Some(ClientIssuers::Any(_)) => (
                true,
                "`client_issuers` is \"any\": the default `client` goes to any authorization server the IdP issues an ID-JAG for".to_string(),
            ),
            Some(ClientIssuers::Listed(list)) if list.iter().any(|i| i == issuer) => {
                (true, "listed in `client_issuers`".to_string())
            }
            Some(ClientIssuers::Listed(_)) => (
                false,
                "not listed in `client_issuers`: add it there, or add a `clients` entry for it".to_string(),
            ),
            None if shared => (
                false,
                "the default `client` authenticates with a shared secret, which goes only to authorization servers listed in `client_issuers`: list this issuer there, add a `clients` entry for it, or set `client_issuers` to \"any\"".to_string(),
            ),
            None => (
                true,
                "the default `client` has no shared secret (private_key_jwt or none): it goes to any authorization server the IdP issues an ID-JAG for".to_string(),
            ),
        };
        CredentialRoute {
            issuer: shown,
            source: "client",
            client_id: Some(c.client_id.clone()),
            auth_method: c.auth_method.map(AuthMethod::code),
            shared_secret: shared,
            allowed,
            reason,
        }
    }

    /// The route to `issuer` as a result: `Ok` when allowed, else the `configuration` error
    /// that [`crate::Session`] raises before sending anything for that server.
    pub(crate) fn check_route(&self, issuer: &str) -> Result<CredentialRoute> {
        let route = self.credential_route(issuer);
        if route.allowed {
            return Ok(route);
        }
        Err(Error::new(
            ErrorKind::Configuration,
            Step::Config,
            format!(
                "no credentials may be sent to the authorization server `{}`: {}",
                route.issuer, route.reason
            ),
        ))
    }

    pub(crate) fn validate_client_issuers(&self) -> Result<()> {
        if let Some(ClientIssuers::Listed(list)) = &self.client_issuers {
            for (i, issuer) in list.iter().enumerate() {
                crate::http::check_url(issuer, Step::Config).map_err(|e| {
                    Error::configuration(format!(
                        "configuration key `client_issuers[{i}]`: {}",
                        e.message()
                    ))
                })?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(extra: serde_json::Value, client: serde_json::Value) -> SessionConfig {
        let mut v = serde_json::json!({
            "idp": {"issuer": "https://idp.example.com", "client_id": "app"},
            "client": client,
        });
        for (k, x) in extra.as_object().expect("object") {
            v[k] = x.clone();
        }
        SessionConfig::from_json(&v.to_string()).expect("config")
    }

    #[test]
    fn shared_secret_goes_only_to_listed_issuers() {
        let secret = serde_json::json!({"client_id": "c", "client_secret": "planted-secret"});
        let c = cfg(serde_json::json!({}), secret.clone());
        let r = c.credential_route("https://as.attacker.example");
        assert!(!r.allowed && r.shared_secret && r.source == "client");
        let e = c
            .check_route("https://as.attacker.example")
            .expect_err("refused");
        assert_eq!(e.kind(), ErrorKind::Configuration);
        assert!(e.message().contains("client_issuers"));
        assert!(!e.message().contains("planted-secret"));

        let c = cfg(
            serde_json::json!({"client_issuers": ["https://as.example.com"]}),
            secret.clone(),
        );
        assert!(c.credential_route("https://as.example.com").allowed);
        assert!(
            !c.credential_route("https://as.example.com/").allowed,
            "exact"
        );
        assert!(!c.credential_route("https://as.attacker.example").allowed);

        let c = cfg(serde_json::json!({"client_issuers": "any"}), secret);
        assert!(c.credential_route("https://as.attacker.example").allowed);
    }

    #[test]
    fn bound_or_public_clients_go_anywhere_unless_listed() {
        let public = serde_json::json!({"client_id": "c", "auth_method": "none"});
        let c = cfg(serde_json::json!({}), public.clone());
        assert!(c.credential_route("https://as.any.example").allowed);
        let c = cfg(
            serde_json::json!({"client_issuers": ["https://as.example.com"]}),
            public,
        );
        assert!(!c.credential_route("https://as.any.example").allowed);
    }

    #[test]
    fn per_issuer_entries_and_bad_values() {
        let v = serde_json::json!({
            "idp": {"issuer": "https://idp.example.com", "client_id": "app"},
            "clients": {"https://as.example.com": {"client_id": "x", "client_secret": "s"}},
        });
        let c = SessionConfig::from_json(&v.to_string()).expect("config");
        let r = c.credential_route("https://as.example.com");
        assert!(r.allowed && r.source == "clients");
        let r = c.credential_route("https://as.other.example\u{1b}[31m");
        assert!(!r.allowed && r.source == "none");
        assert!(!r.issuer.contains('\u{1b}'));
        for bad in [r#""some""#, "[1]", r#"["http://as.example.com"]"#] {
            let j = format!(
                r#"{{"idp": {{"issuer": "https://idp.example.com", "client_id": "a"}}, "client_issuers": {bad}}}"#
            );
            let e = SessionConfig::from_json(&j).expect_err(bad);
            assert_eq!(e.kind(), ErrorKind::Configuration, "{bad}");
            assert!(
                e.message().contains("client_issuers"),
                "{bad}: {}",
                e.message()
            );
        }
    }
}
