//! Client authentication at token endpoints (SPEC §2.C item 6–7, §2.F item 2): `none`,
//! `client_secret_basic` (RFC 6749 §2.3.1, form-urlencoded before base64),
//! `client_secret_post`, and `private_key_jwt` (RFC 7523 §2.2; RS256, PS256, ES256, EdDSA).

use crate::clock::Clock;
use crate::error::{Error, ErrorKind, Result, Step};
use crate::secret::SecretString;
use crate::urn;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// A token-endpoint client authentication method (RFC 8414 / RFC 7591 names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// Public client: only `client_id` in the form.
    None,
    /// HTTP Basic with form-urlencoded id and secret (RFC 6749 §2.3.1).
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
    /// A JWT signed with the client's private key (RFC 7523 §2.2).
    PrivateKeyJwt,
}

impl AuthMethod {
    /// Every method.
    pub const ALL: &'static [AuthMethod] = &[
        AuthMethod::None,
        AuthMethod::ClientSecretBasic,
        AuthMethod::ClientSecretPost,
        AuthMethod::PrivateKeyJwt,
    ];

    /// The registered name (`client_secret_basic`, …).
    pub const fn code(self) -> &'static str {
        match self {
            AuthMethod::None => "none",
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
        }
    }

    /// Parses a registered name.
    pub fn from_code(s: &str) -> Option<AuthMethod> {
        AuthMethod::ALL.iter().copied().find(|m| m.code() == s)
    }
}

/// A JWS algorithm for `private_key_jwt`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SigningAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// ECDSA P-256 with SHA-256.
    ES256,
    /// Ed25519.
    EdDSA,
}

impl SigningAlg {
    /// The JOSE name.
    pub fn code(self) -> &'static str {
        match self {
            SigningAlg::RS256 => "RS256",
            SigningAlg::PS256 => "PS256",
            SigningAlg::ES256 => "ES256",
            SigningAlg::EdDSA => "EdDSA",
        }
    }

    /// Parses a JOSE name.
    pub fn from_code(s: &str) -> Option<SigningAlg> {
        [
            SigningAlg::RS256,
            SigningAlg::PS256,
            SigningAlg::ES256,
            SigningAlg::EdDSA,
        ]
        .into_iter()
        .find(|a| a.code() == s)
    }

    fn jwt_alg(self) -> jsonwebtoken::Algorithm {
        match self {
            SigningAlg::RS256 => jsonwebtoken::Algorithm::RS256,
            SigningAlg::PS256 => jsonwebtoken::Algorithm::PS256,
            SigningAlg::ES256 => jsonwebtoken::Algorithm::ES256,
            SigningAlg::EdDSA => jsonwebtoken::Algorithm::EdDSA,
        }
    }
}

/// A private signing key for `private_key_jwt`. `Debug` never shows key material.
pub struct PrivateKey {
    alg: SigningAlg,
    key: jsonwebtoken::EncodingKey,
    kid: Option<String>,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .field("key", &"[redacted]")
            .finish()
    }
}

impl PrivateKey {
    /// Loads a PEM private key (PKCS#8, or PKCS#1 for RSA, or SEC1 for EC) for `alg`.
    pub fn from_pem(pem: &SecretString, alg: SigningAlg) -> Result<PrivateKey> {
        let bytes = pem.expose_secret().as_bytes();
        let key = match alg {
            SigningAlg::RS256 | SigningAlg::PS256 => jsonwebtoken::EncodingKey::from_rsa_pem(bytes),
            SigningAlg::ES256 => jsonwebtoken::EncodingKey::from_ec_pem(bytes),
            SigningAlg::EdDSA => jsonwebtoken::EncodingKey::from_ed_pem(bytes),
        }
        .map_err(|_| {
            Error::configuration(format!(
                "`private_key_pem` is not a valid PEM private key for {}",
                alg.code()
            ))
        })?;
        Ok(PrivateKey {
            alg,
            key,
            kid: None,
        })
    }

    /// Sets the `kid` header of assertions signed with this key.
    pub fn with_kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// The algorithm.
    pub fn alg(&self) -> SigningAlg {
        self.alg
    }
}

/// Which `aud` a `private_key_jwt` assertion carries (SPEC §2.C item 7).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssertionAudience {
    /// The authorization server's issuer identifier (draft-ietf-oauth-rfc7523bis). Falls
    /// back to the token endpoint when the issuer is unknown.
    #[default]
    Issuer,
    /// The token endpoint URL (what older servers expect).
    TokenEndpoint,
}

/// A client's credentials at one token endpoint (the IdP, or an MCP authorization server).
#[derive(Clone)]
pub struct ClientCredentials {
    /// The client identifier at that server.
    pub client_id: String,
    /// Client secret, for `client_secret_basic` / `client_secret_post`.
    pub client_secret: Option<SecretString>,
    /// Private key, for `private_key_jwt`.
    pub private_key: Option<Arc<PrivateKey>>,
    /// An explicit method; `None` chooses from the server metadata.
    pub auth_method: Option<AuthMethod>,
    /// `aud` of `private_key_jwt` assertions.
    pub assertion_audience: AssertionAudience,
    /// `typ` header of `private_key_jwt` assertions (e.g. `client-authentication+jwt`);
    /// `None` sends `JWT`.
    pub assertion_typ: Option<String>,
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("private_key", &self.private_key)
            .field("auth_method", &self.auth_method)
            .finish()
    }
}

impl ClientCredentials {
    /// Credentials with only a client id (a public client unless a secret or key is added).
    pub fn new(client_id: impl Into<String>) -> Self {
        ClientCredentials {
            client_id: client_id.into(),
            client_secret: None,
            private_key: None,
            auth_method: None,
            assertion_audience: AssertionAudience::Issuer,
            assertion_typ: None,
        }
    }

    /// Adds a client secret.
    pub fn with_secret(mut self, secret: impl Into<SecretString>) -> Self {
        self.client_secret = Some(secret.into());
        self
    }

    /// Adds a private key.
    pub fn with_private_key(mut self, key: PrivateKey) -> Self {
        self.private_key = Some(Arc::new(key));
        self
    }

    /// Forces an authentication method.
    pub fn with_method(mut self, method: AuthMethod) -> Self {
        self.auth_method = Some(method);
        self
    }

    /// Chooses the authentication method: the explicit one (checked against the material we
    /// hold), else the strongest one both sides support. `supported` is the server's
    /// `token_endpoint_auth_methods_supported` from its metadata (use
    /// [`AuthorizationServerMetadata::auth_methods`](crate::AuthorizationServerMetadata::auth_methods)
    /// for the RFC 8414 §2 default); `None` means no metadata is known, and the strongest method
    /// our credentials allow is used (`private_key_jwt` > `client_secret_basic` > `none`).
    pub fn choose_method(&self, supported: Option<&[String]>, step: Step) -> Result<AuthMethod> {
        if let Some(m) = self.auth_method {
            self.check_material(m, step)?;
            return Ok(m);
        }
        let Some(supported) = supported else {
            return Ok(if self.private_key.is_some() {
                AuthMethod::PrivateKeyJwt
            } else if self.client_secret.is_some() {
                AuthMethod::ClientSecretBasic
            } else {
                AuthMethod::None
            });
        };
        let offers = |m: AuthMethod| supported.iter().any(|s| s == m.code());
        let mut order = Vec::new();
        if self.private_key.is_some() {
            order.push(AuthMethod::PrivateKeyJwt);
        }
        if self.client_secret.is_some() {
            order.push(AuthMethod::ClientSecretBasic);
            order.push(AuthMethod::ClientSecretPost);
        }
        if self.private_key.is_none() && self.client_secret.is_none() {
            order.push(AuthMethod::None);
        }
        order.into_iter().find(|m| offers(*m)).ok_or_else(|| {
            Error::new(
                ErrorKind::NotSupported,
                step,
                format!(
                    "no client authentication method in common for client `{}`: the server supports [{}]",
                    self.client_id,
                    supported.join(", ")
                ),
            )
        })
    }

    fn check_material(&self, m: AuthMethod, step: Step) -> Result<()> {
        let ok = match m {
            AuthMethod::None => true,
            AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost => {
                self.client_secret.is_some()
            }
            AuthMethod::PrivateKeyJwt => self.private_key.is_some(),
        };
        if ok {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::Configuration,
                step,
                format!(
                    "client `{}` is set to `{}` but has no {}",
                    self.client_id,
                    m.code(),
                    if m == AuthMethod::PrivateKeyJwt {
                        "private_key_pem"
                    } else {
                        "client_secret"
                    }
                ),
            ))
        }
    }

    /// Adds the authentication of `method` to a request: form fields and/or an
    /// `Authorization` header. `issuer` is the server's issuer (for the assertion `aud`).
    pub(crate) fn apply(
        &self,
        method: AuthMethod,
        target: &AuthTarget<'_>,
        form: &mut Vec<(&'static str, String)>,
        headers: &mut Vec<(String, String)>,
    ) -> Result<()> {
        let AuthTarget {
            issuer,
            token_endpoint,
            clock,
            step,
        } = *target;
        self.check_material(method, step)?;
        match method {
            AuthMethod::None => form.push(("client_id", self.client_id.clone())),
            AuthMethod::ClientSecretBasic => {
                let secret = self
                    .client_secret
                    .as_ref()
                    .map(|s| s.expose_secret())
                    .unwrap_or("");
                headers.push((
                    "authorization".into(),
                    basic_auth_header(&self.client_id, secret),
                ));
            }
            AuthMethod::ClientSecretPost => {
                form.push(("client_id", self.client_id.clone()));
                let secret = self
                    .client_secret
                    .as_ref()
                    .map(|s| s.expose_secret())
                    .unwrap_or("");
                form.push(("client_secret", secret.to_string()));
            }
            AuthMethod::PrivateKeyJwt => {
                let key = self
                    .private_key
                    .as_ref()
                    .ok_or_else(|| Error::internal(step, "private key disappeared"))?;
                let aud = match (self.assertion_audience, issuer) {
                    (AssertionAudience::Issuer, Some(i)) => i,
                    _ => token_endpoint,
                };
                let jwt = client_assertion(
                    &self.client_id,
                    aud,
                    key,
                    self.assertion_typ.as_deref(),
                    clock,
                    step,
                )?;
                form.push(("client_id", self.client_id.clone()));
                form.push((
                    "client_assertion_type",
                    urn::CLIENT_ASSERTION_JWT_BEARER.to_string(),
                ));
                form.push(("client_assertion", jwt));
            }
        }
        Ok(())
    }

    /// The secret values these credentials may put on the wire (for scrubbing errors).
    pub(crate) fn secret_values(&self) -> Vec<&str> {
        self.client_secret
            .iter()
            .map(|s| s.expose_secret())
            .collect()
    }
}

/// Where a client authenticates: the server's issuer and token endpoint.
#[derive(Clone, Copy)]
pub(crate) struct AuthTarget<'a> {
    pub(crate) issuer: Option<&'a str>,
    pub(crate) token_endpoint: &'a str,
    pub(crate) clock: &'a dyn Clock,
    pub(crate) step: Step,
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1).
pub fn basic_auth_header(client_id: &str, secret: &str) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let raw = zeroize::Zeroizing::new(format!("{}:{}", enc(client_id), enc(secret)));
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw.as_bytes())
    )
}

/// Lifetime of a `private_key_jwt` assertion.
pub const CLIENT_ASSERTION_LIFETIME_SECS: i64 = 60;

fn client_assertion(
    client_id: &str,
    aud: &str,
    key: &PrivateKey,
    typ: Option<&str>,
    clock: &dyn Clock,
    step: Step,
) -> Result<String> {
    let now = clock.now_secs();
    let mut header = jsonwebtoken::Header::new(key.alg.jwt_alg());
    header.kid = key.kid.clone();
    if let Some(t) = typ {
        header.typ = Some(t.to_string());
    }
    let claims = serde_json::json!({
        "iss": client_id,
        "sub": client_id,
        "aud": aud,
        "jti": uuid::Uuid::new_v4().to_string(),
        "iat": now,
        "exp": now + CLIENT_ASSERTION_LIFETIME_SECS,
    });
    jsonwebtoken::encode(&header, &claims, &key.key).map_err(|_| {
        Error::new(
            ErrorKind::Configuration,
            step,
            format!(
                "could not sign the client assertion with the {} key",
                key.alg.code()
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_is_form_urlencoded_first() {
        // RFC 6749 §2.3.1: "s3cr:t+/%" → "s3cr%3At%2B%2F%25"
        let h = basic_auth_header("my client", "s3cr:t+/%");
        let b64 = h.strip_prefix("Basic ").expect("prefix");
        let raw = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .expect("b64");
        assert_eq!(
            String::from_utf8(raw).expect("utf8"),
            "my+client:s3cr%3At%2B%2F%25"
        );
    }

    #[test]
    fn method_choice() {
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let c = ClientCredentials::new("c").with_secret("x");
        assert_eq!(
            c.choose_method(Some(&s(&["client_secret_basic"])), Step::AsGrant)
                .expect("m"),
            AuthMethod::ClientSecretBasic
        );
        assert_eq!(
            c.choose_method(None, Step::AsGrant).expect("m"),
            AuthMethod::ClientSecretBasic
        );
        assert_eq!(
            ClientCredentials::new("p")
                .choose_method(None, Step::AsGrant)
                .expect("m"),
            AuthMethod::None
        );
        assert_eq!(
            c.choose_method(Some(&s(&["client_secret_post"])), Step::AsGrant)
                .expect("m"),
            AuthMethod::ClientSecretPost
        );
        let e = c
            .choose_method(Some(&s(&["private_key_jwt"])), Step::AsGrant)
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotSupported);
        let public = ClientCredentials::new("p");
        assert_eq!(
            public
                .choose_method(Some(&s(&["none", "client_secret_basic"])), Step::AsGrant)
                .expect("m"),
            AuthMethod::None
        );
        let forced = ClientCredentials::new("c").with_method(AuthMethod::PrivateKeyJwt);
        assert_eq!(
            forced
                .choose_method(None, Step::AsGrant)
                .unwrap_err()
                .kind(),
            ErrorKind::Configuration
        );
    }

    #[test]
    fn credentials_debug_is_redacted() {
        let c = ClientCredentials::new("c").with_secret("planted-client-secret");
        assert!(!format!("{c:?}").contains("planted-client-secret"));
    }
}
