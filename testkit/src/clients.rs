//! Registered clients and token-endpoint client authentication (RFC 6749 §2.3.1
//! `client_secret_basic` / `client_secret_post`, RFC 7523 §2.2 `private_key_jwt`, `none`).

use crate::httpd::{lock, Req, Resp};
use crate::jwt;
use crate::keys::TestKey;
use crate::oauth::Form;
use base64::Engine as _;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Mutex;

/// Credentials of a registered client. This is test material: secrets and private keys are
/// handed out in clear on purpose.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Client {
    /// The client id.
    pub client_id: String,
    /// The client secret (`client_secret_basic` / `client_secret_post` clients). Contains
    /// characters that must be form-urlencoded inside HTTP Basic (RFC 6749 §2.3.1).
    pub client_secret: Option<String>,
    /// The token-endpoint authentication methods this client may use.
    pub auth_methods: Vec<String>,
    /// PKCS#8 PEM private key (`private_key_jwt` clients).
    pub private_key_pem: Option<String>,
    /// The matching public JWK.
    pub public_jwk: Option<Value>,
    /// The key id to put in client assertions.
    pub key_id: Option<String>,
    /// The client assertion signing algorithm (`ES256`, `RS256`).
    pub key_alg: Option<String>,
}

impl Client {
    /// The first (preferred) authentication method.
    pub fn auth_method(&self) -> &str {
        self.auth_methods
            .first()
            .map(String::as_str)
            .unwrap_or("none")
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Registered {
    pub info: Client,
    pub key: Option<TestKey>,
}

impl Registered {
    pub fn secret(id: &str, secret: &str, methods: &[&str]) -> Registered {
        Registered {
            info: Client {
                client_id: id.into(),
                client_secret: Some(secret.into()),
                auth_methods: methods.iter().map(|s| s.to_string()).collect(),
                private_key_pem: None,
                public_jwk: None,
                key_id: None,
                key_alg: None,
            },
            key: None,
        }
    }

    pub fn jwt(id: &str, key: TestKey) -> Registered {
        Registered {
            info: Client {
                client_id: id.into(),
                client_secret: None,
                auth_methods: vec!["private_key_jwt".into()],
                private_key_pem: Some(key.private_key_pem().to_string()),
                public_jwk: Some(key.public_jwk().clone()),
                key_id: Some(key.kid().to_string()),
                key_alg: Some(key.alg().as_str().to_string()),
            },
            key: Some(key),
        }
    }

    pub fn public(id: &str) -> Registered {
        Registered {
            info: Client {
                client_id: id.into(),
                client_secret: None,
                auth_methods: vec!["none".into()],
                private_key_pem: None,
                public_jwk: None,
                key_id: None,
                key_alg: None,
            },
            key: None,
        }
    }

    fn allows(&self, method: &str) -> bool {
        self.info.auth_methods.iter().any(|m| m == method)
    }
}

/// Signs a `private_key_jwt` client assertion for `client` (RFC 7523 §3).
pub(crate) fn make_assertion(key: &TestKey, client_id: &str, audience: &str, now: i64) -> String {
    key.sign_with_typ(
        Some("JWT"),
        &json!({
            "iss": client_id,
            "sub": client_id,
            "aud": audience,
            "jti": uuid::Uuid::new_v4().to_string(),
            "iat": now,
            "exp": now + 120,
        }),
    )
}

/// Where client authentication happens.
pub(crate) struct AuthContext<'a> {
    pub issuer: &'a str,
    pub token_endpoint: &'a str,
    pub clients: &'a [Registered],
    /// Methods the server accepts at all.
    pub server_methods: &'a [String],
    /// Also accept Basic credentials that were not form-urlencoded.
    pub lenient_basic: bool,
    /// `private_key_jwt` replay store: `client_id jti` → exp.
    pub jti_store: &'a Mutex<HashMap<String, i64>>,
    pub now: i64,
}

/// Decodes one `application/x-www-form-urlencoded` component (`+` is a space, `%XX` a
/// byte); `None` on a malformed escape or invalid UTF-8.
pub(crate) fn form_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = b.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

fn invalid_client(basic: bool, detail: &str) -> Resp {
    let r = Resp::oauth_error(401, "invalid_client", "client authentication failed").detail(detail);
    if basic {
        r.header("WWW-Authenticate", "Basic realm=\"idjag-testkit\"")
    } else {
        r
    }
}

/// Authenticates the client of a token request. Exactly one method must be used.
pub(crate) fn authenticate<'a>(
    ctx: &AuthContext<'a>,
    req: &Req,
    form: &Form,
) -> Result<&'a Registered, Resp> {
    let basic = req.header("authorization").and_then(|h| {
        let (scheme, rest) = h.trim().split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("basic")
            .then(|| rest.trim().to_string())
    });
    let other_auth_header = req.header("authorization").is_some() && basic.is_none();
    let post_secret = form.single("client_secret")?;
    let assertion = form.single("client_assertion")?;
    let assertion_type = form.single("client_assertion_type")?;
    let form_client_id = form.single("client_id")?;

    let used = [
        basic.is_some(),
        post_secret.is_some(),
        assertion.is_some() || assertion_type.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if used > 1 {
        return Err(Resp::oauth_error(
            400,
            "invalid_request",
            "more than one client authentication method",
        )
        .detail("multiple client auth methods"));
    }
    if other_auth_header {
        return Err(invalid_client(false, "unsupported Authorization scheme"));
    }
    let allowed_by_server = |m: &str| ctx.server_methods.iter().any(|s| s == m);
    let find = |id: &str| ctx.clients.iter().find(|c| c.info.client_id == id);

    if let Some(cred) = basic {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(cred.as_bytes())
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(cred.as_bytes()))
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        let Some(decoded) = decoded else {
            return Err(invalid_client(true, "Basic credentials not base64"));
        };
        let Some((raw_id, raw_secret)) = decoded.split_once(':') else {
            return Err(invalid_client(true, "Basic credentials without ':'"));
        };
        let secret_ok = |c: &Registered, s: &str| {
            c.info
                .client_secret
                .as_deref()
                .is_some_and(|x| idjag::SecretString::new(x).ct_eq(s))
        };
        let (id, secret) = match (form_decode(raw_id), form_decode(raw_secret)) {
            (Some(i), Some(s)) if find(&i).is_some_and(|c| secret_ok(c, &s)) => (i, s),
            // Lenient mode: the client sent the id and secret without form-urlencoding.
            _ if ctx.lenient_basic => (raw_id.to_string(), raw_secret.to_string()),
            (Some(i), Some(s)) => (i, s),
            _ => {
                return Err(invalid_client(
                    true,
                    "Basic credentials not form-urlencoded",
                ))
            }
        };
        if let Some(fid) = &form_client_id {
            if fid != &id {
                return Err(invalid_client(
                    true,
                    "client_id parameter differs from Basic",
                ));
            }
        }
        let Some(c) = find(&id) else {
            return Err(invalid_client(true, "unknown client"));
        };
        if !allowed_by_server("client_secret_basic") || !c.allows("client_secret_basic") {
            return Err(invalid_client(true, "client_secret_basic not allowed"));
        }
        if !secret_ok(c, &secret) {
            return Err(invalid_client(true, "wrong client secret"));
        }
        return Ok(c);
    }

    if let Some(secret) = post_secret {
        let Some(id) = form_client_id else {
            return Err(invalid_client(false, "client_secret without client_id"));
        };
        let Some(c) = find(&id) else {
            return Err(invalid_client(false, "unknown client"));
        };
        if !allowed_by_server("client_secret_post") || !c.allows("client_secret_post") {
            return Err(invalid_client(false, "client_secret_post not allowed"));
        }
        let ok = c
            .info
            .client_secret
            .as_deref()
            .is_some_and(|s| idjag::SecretString::new(s).ct_eq(&secret));
        if !ok {
            return Err(invalid_client(false, "wrong client secret"));
        }
        return Ok(c);
    }

    if assertion.is_some() || assertion_type.is_some() {
        if assertion_type.as_deref() != Some(idjag::urn::CLIENT_ASSERTION_JWT_BEARER) {
            return Err(invalid_client(false, "wrong client_assertion_type"));
        }
        let Some(assertion) = assertion else {
            return Err(invalid_client(false, "client_assertion missing"));
        };
        return verify_client_assertion(ctx, &assertion, form_client_id.as_deref())
            .map_err(|d| invalid_client(false, &d));
    }

    // No credentials: a public client.
    let Some(id) = form_client_id else {
        return Err(invalid_client(false, "no client authentication"));
    };
    let Some(c) = find(&id) else {
        return Err(invalid_client(false, "unknown client"));
    };
    if !c.allows("none") {
        return Err(invalid_client(false, "client is not a public client"));
    }
    Ok(c)
}

fn verify_client_assertion<'a>(
    ctx: &AuthContext<'a>,
    assertion: &str,
    form_client_id: Option<&str>,
) -> Result<&'a Registered, String> {
    if assertion.len() > 16 * 1024 {
        return Err("client assertion too large".into());
    }
    let p = jwt::parse(assertion).map_err(|e| format!("client assertion: {e}"))?;
    let iss = p.claim_str("iss").ok_or("client assertion without iss")?;
    let sub = p.claim_str("sub").ok_or("client assertion without sub")?;
    if iss != sub {
        return Err("client assertion iss != sub".into());
    }
    if let Some(fid) = form_client_id {
        if fid != iss {
            return Err("client_id parameter differs from assertion iss".into());
        }
    }
    let c = ctx
        .clients
        .iter()
        .find(|c| c.info.client_id == iss)
        .ok_or("unknown client")?;
    if !ctx.server_methods.iter().any(|m| m == "private_key_jwt") || !c.allows("private_key_jwt") {
        return Err("private_key_jwt not allowed".into());
    }
    let key = c.key.as_ref().ok_or("client has no registered key")?;
    if p.header_str("alg") != Some(key.alg().as_str()) {
        return Err("client assertion alg does not match the registered key".into());
    }
    if !key.verify_signature(&p.signing_input, &p.signature) {
        return Err("client assertion signature invalid".into());
    }
    if !jwt::aud_contains(p.claims.get("aud"), &[ctx.issuer, ctx.token_endpoint]) {
        return Err("client assertion aud is not the issuer or token endpoint".into());
    }
    let exp = p.claim_time("exp").ok_or("client assertion without exp")?;
    if exp <= ctx.now {
        return Err("client assertion expired".into());
    }
    let jti = p.claim_str("jti").ok_or("client assertion without jti")?;
    let mut store = lock(ctx.jti_store);
    store.retain(|_, e| *e > ctx.now - 300);
    let key = format!("{iss} {jti}");
    if store.contains_key(&key) {
        return Err("client assertion jti replayed".into());
    }
    store.insert(key, exp);
    Ok(c)
}
