//! Client authentication at token endpoints: `none`,
//! `client_secret_basic` (RFC 6749 §2.3.1, form-urlencoded before base64),
//! `client_secret_post`, and `private_key_jwt` (RFC 7523 §2.2; RS256, PS256, ES256, EdDSA).

use crate::error::{sanitize_server_text, Error, ErrorKind, Result, Step};
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

/// Which `aud` a `private_key_jwt` assertion carries.
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
    ///
    /// Credentials without a secret or key (a public client) always use `none`, whether or not
    /// the server lists it: the client has nothing else to offer, and the server decides (many
    /// IdPs accept public clients without advertising `none`). [`advertises`] tells whether
    /// the server listed the chosen method; the token request's event then says so.
    pub fn choose_method(&self, supported: Option<&[String]>, step: Step) -> Result<AuthMethod> {
        if let Some(m) = self.auth_method {
            self.check_material(m, step)?;
            return Ok(m);
        }
        if self.private_key.is_none() && self.client_secret.is_none() {
            return Ok(AuthMethod::None);
        }
        let Some(supported) = supported else {
            return Ok(if self.private_key.is_some() {
                AuthMethod::PrivateKeyJwt
            } else {
                AuthMethod::ClientSecretBasic
            });
        };
        let mut order = Vec::new();
        if self.private_key.is_some() {
            order.push(AuthMethod::PrivateKeyJwt);
        }
        if self.client_secret.is_some() {
            order.push(AuthMethod::ClientSecretBasic);
            order.push(AuthMethod::ClientSecretPost);
        }
        order
            .into_iter()
            .find(|m| advertises(Some(supported), *m))
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::NotSupported,
                    step,
                    format!(
                        "no client authentication method in common for client `{}`: the server supports {}",
                        sanitize_server_text(&self.client_id),
                        describe_methods(supported)
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

    /// The authentication of `method` for one request: form fields and/or an `Authorization`
    /// header, all held as secrets. No I/O; a `private_key_jwt` assertion is signed with
    /// `target.now` and `target.jti`.
    pub(crate) fn authenticate(
        &self,
        method: AuthMethod,
        target: &AuthTarget<'_>,
    ) -> Result<ClientAuth> {
        let AuthTarget {
            issuer,
            token_endpoint,
            now,
            jti,
            step,
        } = *target;
        self.check_material(method, step)?;
        let secret = || {
            self.client_secret
                .as_ref()
                .map(|s| s.expose_secret())
                .unwrap_or("")
        };
        let id = || SecretString::new(self.client_id.as_str());
        let mut out = ClientAuth::default();
        match method {
            AuthMethod::None => out.form.push(("client_id", id())),
            AuthMethod::ClientSecretBasic => {
                out.authorization = Some(SecretString::new(basic_auth_header(
                    &self.client_id,
                    secret(),
                )));
            }
            AuthMethod::ClientSecretPost => {
                out.form.push(("client_id", id()));
                out.form
                    .push(("client_secret", SecretString::new(secret())));
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
                    &ClientAssertionClaims {
                        iss: &self.client_id,
                        sub: &self.client_id,
                        aud,
                        jti,
                        iat: now,
                        exp: now.saturating_add(CLIENT_ASSERTION_LIFETIME_SECS),
                    },
                    key,
                    self.assertion_typ.as_deref(),
                    step,
                )?;
                out.form.push(("client_id", id()));
                out.form.push((
                    "client_assertion_type",
                    SecretString::new(urn::CLIENT_ASSERTION_JWT_BEARER),
                ));
                out.form.push(("client_assertion", SecretString::new(jwt)));
            }
        }
        Ok(out)
    }

    /// The secret values these credentials may put on the wire (for scrubbing errors).
    pub(crate) fn secret_values(&self) -> Vec<&str> {
        self.client_secret
            .iter()
            .map(|s| s.expose_secret())
            .collect()
    }
}

/// Whether the server's `token_endpoint_auth_methods_supported` lists `method` (`None`: no
/// metadata, nothing is known to be unsupported).
pub fn advertises(supported: Option<&[String]>, method: AuthMethod) -> bool {
    supported.is_none_or(|s| s.iter().any(|m| m == method.code()))
}

/// Most server-listed methods named in an error message.
const MAX_LISTED_METHODS: usize = 6;

/// The server's method list for a message: at most [`MAX_LISTED_METHODS`] entries, each
/// sanitised (no control characters) and cut to 32 bytes, the list cut to 200 bytes, then the
/// number of entries left out. At most about 250 bytes whatever the server sent.
fn describe_methods(supported: &[String]) -> String {
    fn cut(s: &str, max: usize) -> String {
        let s = sanitize_server_text(s);
        if s.len() <= max {
            return s;
        }
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &s[..end])
    }
    let shown: Vec<String> = supported
        .iter()
        .take(MAX_LISTED_METHODS)
        .map(|m| cut(m, 32))
        .collect();
    let mut out = format!("[{}]", cut(&shown.join(", "), 200));
    if supported.len() > shown.len() {
        out.push_str(&format!(" and {} more", supported.len() - shown.len()));
    }
    out
}

/// Client authentication for one request.
#[derive(Default)]
pub(crate) struct ClientAuth {
    /// Form fields, in order.
    pub(crate) form: Vec<(&'static str, SecretString)>,
    /// The `Authorization` header value, for `client_secret_basic`.
    pub(crate) authorization: Option<SecretString>,
}

/// Where and when a client authenticates: the server's issuer and token endpoint, the time
/// and the `jti` of a `private_key_jwt` assertion.
#[derive(Clone, Copy)]
pub(crate) struct AuthTarget<'a> {
    pub(crate) issuer: Option<&'a str>,
    pub(crate) token_endpoint: &'a str,
    pub(crate) now: i64,
    pub(crate) jti: &'a str,
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

/// The claims of a `private_key_jwt` assertion (RFC 7523 §3), serialized in this order.
#[derive(Serialize)]
struct ClientAssertionClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    jti: &'a str,
    iat: i64,
    exp: i64,
}

fn client_assertion(
    claims: &ClientAssertionClaims<'_>,
    key: &PrivateKey,
    typ: Option<&str>,
    step: Step,
) -> Result<String> {
    let mut header = jsonwebtoken::Header::new(key.alg.jwt_alg());
    header.kid = key.kid.clone();
    if let Some(t) = typ {
        header.typ = Some(t.to_string());
    }
    jsonwebtoken::encode(&header, claims, &key.key).map_err(|_| {
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

    /// §6: credentials without a secret or key always use `none` (the server decides), even
    /// when the metadata lists only other methods; `advertises` tells whether it was listed.
    #[test]
    fn a_public_client_always_sends_its_client_id() {
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let public = ClientCredentials::new("p");
        for listed in [
            s(&["client_secret_basic"]),
            s(&["private_key_jwt"]),
            Vec::new(),
        ] {
            assert_eq!(
                public
                    .choose_method(Some(&listed), Step::IdpExchange)
                    .expect("none"),
                AuthMethod::None
            );
            assert!(!advertises(Some(&listed), AuthMethod::None));
        }
        assert!(advertises(None, AuthMethod::None));
        assert!(advertises(Some(&s(&["none"])), AuthMethod::None));
        // Confidential clients still need a method in common.
        let e = ClientCredentials::new("c")
            .with_secret("x")
            .choose_method(Some(&s(&["private_key_jwt"])), Step::IdpExchange)
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotSupported);
    }

    /// SECURITY D10: the server's list is sanitised and bounded in the message.
    #[test]
    fn the_method_list_in_messages_is_bounded() {
        let hostile: Vec<String> = (0..300)
            .map(|i| format!("m{i}\r\nFORGED LINE {}\u{1b}[31m", "y".repeat(40)))
            .collect();
        let e = ClientCredentials::new("c\nforged")
            .with_secret("x")
            .choose_method(Some(&hostile), Step::AsGrant)
            .unwrap_err();
        let m = e.to_string();
        assert!(m.len() < 400, "{} bytes", m.len());
        assert!(!m.chars().any(|c| c.is_control()), "{m:?}");
        assert!(m.ends_with("and 294 more"), "{m}");
        let short = describe_methods(&["client_secret_basic".to_string()]);
        assert_eq!(short, "[client_secret_basic]");
    }

    /// A3: a `private_key_jwt` assertion is a pure function of the time and the `jti`.
    #[test]
    fn assertions_are_reproducible_from_time_and_jti() {
        let pem = SecretString::new(TEST_ED25519_PEM);
        let creds = ClientCredentials::new("client-1")
            .with_private_key(PrivateKey::from_pem(&pem, SigningAlg::EdDSA).expect("key"));
        let target = AuthTarget {
            issuer: Some("https://as.example"),
            token_endpoint: "https://as.example/token",
            now: 1_790_000_000,
            jti: "jti-1",
            step: Step::AsGrant,
        };
        let a = creds
            .authenticate(AuthMethod::PrivateKeyJwt, &target)
            .expect("a");
        let b = creds
            .authenticate(AuthMethod::PrivateKeyJwt, &target)
            .expect("b");
        let jwt = |c: &ClientAuth| {
            c.form
                .iter()
                .find(|(k, _)| *k == "client_assertion")
                .map(|(_, v)| v.expose_secret().to_string())
                .expect("assertion")
        };
        assert_eq!(jwt(&a), jwt(&b));
        let claims = crate::jwt::inspect(&jwt(&a), 0).expect("jwt").claims;
        assert_eq!(
            serde_json::Value::Object(claims),
            serde_json::json!({"iss": "client-1", "sub": "client-1", "aud": "https://as.example",
                "jti": "jti-1", "iat": 1_790_000_000, "exp": 1_790_000_060})
        );
    }

    /// An Ed25519 test key (PKCS#8), also used by `tests/vectors/client.json`.
    const TEST_ED25519_PEM: &str = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIGv0FwOeil+EIvCW0gfsZDPlsN0LPr3+v1V9ZbhnhFYs\n-----END PRIVATE KEY-----\n";
}
