//! [`Token`], and the slot that caches one token key's token with its single flight.

use super::flight::Cell;
use crate::secret::SecretString;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// An access token handed out by a [`Session`](super::Session). `Debug` and the serialized
/// view never show the token; read it through [`Token::access_token`] /
/// [`Token::authorization_header`].
#[derive(Clone, serde::Serialize)]
pub struct Token {
    /// The access token. Not serialized.
    #[serde(skip)]
    pub access_token: SecretString,
    /// Always `Bearer`.
    pub token_type: String,
    /// Expiry (Unix seconds).
    pub expires_at: i64,
    /// Granted scope, if known.
    pub scope: Option<String>,
    /// The MCP server's resource identifier.
    pub resource: String,
    /// The issuer of the authorization server that issued the token.
    pub authorization_server: String,
    /// The decoded (unverified) claims of the ID-JAG this token was redeemed from, for
    /// diagnostics. Contains personal data (subject, email), never a secret.
    #[serde(serialize_with = "claims_view")]
    pub id_jag_claims: Option<Arc<serde_json::Map<String, serde_json::Value>>>,
}

type Claims = serde_json::Map<String, serde_json::Value>;

fn claims_view<S: serde::Serializer>(c: &Option<Arc<Claims>>, s: S) -> Result<S::Ok, S::Error> {
    serde::Serialize::serialize(&c.as_deref(), s)
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("access_token", &self.access_token)
            .field("token_type", &self.token_type)
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .field("resource", &self.resource)
            .field("authorization_server", &self.authorization_server)
            .finish()
    }
}

impl Token {
    /// The complete `Authorization` header value, scheme included: `Bearer <token>`. For
    /// SDKs that add the scheme themselves (rmcp, …) use [`Token::bare_token`].
    pub fn authorization_header(&self) -> String {
        format!("Bearer {}", self.access_token.expose_secret())
    }

    /// The bare access token, without any scheme (what `Authorization: Bearer` carries).
    pub fn bare_token(&self) -> &str {
        self.access_token.expose_secret()
    }

    /// Whether `presented` is this token: the bare token or a whole `Bearer …` header value.
    /// Constant-time in the token's bytes.
    pub fn matches(&self, presented: &str) -> bool {
        let p = presented.trim();
        let p = match p.split_once(' ') {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
            _ => p,
        };
        aws_lc_rs::constant_time::verify_slices_are_equal(
            p.as_bytes(),
            self.access_token.expose_secret().as_bytes(),
        )
        .is_ok()
    }
}

/// A token as cached in a slot, with its bookkeeping.
pub(crate) struct Minted {
    pub(crate) token: Token,
    /// When it was minted (ms).
    pub(crate) minted_at_ms: i64,
    /// Unix seconds from which it is renewed.
    pub(crate) renew_at: i64,
    /// Whether it was minted in answer to a challenge.
    pub(crate) by_challenge: bool,
    /// Whether `access_token`/`cached_token` handed it out since (it was in service).
    served: AtomicBool,
}

impl Minted {
    pub(crate) fn new(token: Token, minted_at_ms: i64, renew_at: i64, by_challenge: bool) -> Self {
        Minted {
            token,
            minted_at_ms,
            renew_at,
            by_challenge,
            served: AtomicBool::new(false),
        }
    }

    /// Hands the token out through the ordinary path (marks it as in service).
    pub(crate) fn serve(&self) -> Token {
        if !self.served.load(Ordering::Relaxed) {
            self.served.store(true, Ordering::Relaxed);
        }
        self.token.clone()
    }

    pub(crate) fn was_served(&self) -> bool {
        self.served.load(Ordering::Relaxed)
    }
}

/// The cache cell of one token key.
pub(crate) type Slot = Cell<Arc<Minted>>;
