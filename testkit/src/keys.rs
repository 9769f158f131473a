//! Signing keys (ES256, RS256, EdDSA) generated at startup with aws-lc-rs, their JWKs and
//! PEMs, and compact JWS signing with arbitrary headers (to forge tokens in tests).

use crate::jwt::b64;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{
    EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, ECDSA_P256_SHA256_FIXED_SIGNING,
};
use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use serde_json::{json, Map, Value};
use std::fmt;
use std::sync::OnceLock;

/// A JWS signing algorithm the testkit can generate keys for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Alg {
    /// ECDSA P-256 with SHA-256.
    ES256,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (2048-bit keys).
    RS256,
    /// Ed25519.
    EdDSA,
}

impl Alg {
    /// The JOSE `alg` name.
    pub fn as_str(self) -> &'static str {
        match self {
            Alg::ES256 => "ES256",
            Alg::RS256 => "RS256",
            Alg::EdDSA => "EdDSA",
        }
    }

    /// Parses a JOSE `alg` name (exact match).
    pub fn parse(s: &str) -> Option<Alg> {
        match s {
            "ES256" => Some(Alg::ES256),
            "RS256" => Some(Alg::RS256),
            "EdDSA" => Some(Alg::EdDSA),
            _ => None,
        }
    }

    pub(crate) fn jwt_alg(self) -> Algorithm {
        match self {
            Alg::ES256 => Algorithm::ES256,
            Alg::RS256 => Algorithm::RS256,
            Alg::EdDSA => Algorithm::EdDSA,
        }
    }
}

impl fmt::Display for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A private/public key pair with a `kid`, usable to sign JWTs and published as a JWK.
///
/// This is test material: [`TestKey::private_key_pem`] hands out the private key on purpose.
#[derive(Clone)]
pub struct TestKey {
    kid: String,
    alg: Alg,
    encoding: EncodingKey,
    decoding: DecodingKey,
    public_jwk: Value,
    private_pem: String,
    public_pem: String,
}

impl fmt::Debug for TestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// Encodes DER as PEM with the given label (64-column base64 lines).
pub(crate) fn pem(label: &str, der: &[u8]) -> String {
    let b = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Pre-generated RSA keys (PKCS#8 DER), shared by every kit in the process: RSA generation
/// is slow (~100 ms each) and tests start many kits.
fn cached_rsa(slot: usize) -> Option<Vec<u8>> {
    static CACHE: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    CACHE
        .get_or_init(|| (0..2).filter_map(|_| generate_rsa_pkcs8().ok()).collect())
        .get(slot)
        .cloned()
}

fn generate_rsa_pkcs8() -> Result<Vec<u8>, String> {
    let kp = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
        .map_err(|_| "rsa keygen failed".to_string())?;
    let der = kp
        .as_der()
        .map_err(|_| "rsa pkcs8 export failed".to_string())?;
    Ok(der.as_ref().to_vec())
}

impl TestKey {
    /// Generates a fresh key with a random `kid`.
    ///
    /// # Panics
    /// Only if the crypto library fails to generate a key (not expected).
    pub fn generate(alg: Alg) -> TestKey {
        Self::build(alg, None).expect("key generation")
    }

    /// Generates a key, reusing a process-wide pre-generated RSA key for `slot` (0 or 1).
    pub(crate) fn generate_cached(alg: Alg, slot: usize) -> TestKey {
        let der = if alg == Alg::RS256 {
            cached_rsa(slot)
        } else {
            None
        };
        Self::build(alg, der).expect("key generation")
    }

    fn build(alg: Alg, rsa_pkcs8: Option<Vec<u8>>) -> Result<TestKey, String> {
        let kid = format!(
            "{}-{}",
            alg.as_str().to_ascii_lowercase(),
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        let (pkcs8, spki, encoding, jwk): (Vec<u8>, Vec<u8>, EncodingKey, Value) = match alg {
            Alg::ES256 => {
                let kp = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                    .map_err(|_| "ec keygen failed")?;
                let pkcs8 = kp.to_pkcs8v1().map_err(|_| "ec export failed")?;
                let pkcs8 = pkcs8.as_ref().to_vec();
                let spki = kp
                    .public_key()
                    .as_der()
                    .map_err(|_| "ec spki failed")?
                    .as_ref()
                    .to_vec();
                let point = kp.public_key().as_ref().to_vec();
                if point.len() != 65 || point[0] != 4 {
                    return Err("unexpected EC point encoding".into());
                }
                let jwk = json!({
                    "kty": "EC",
                    "crv": "P-256",
                    "x": b64(&point[1..33]),
                    "y": b64(&point[33..65]),
                });
                let enc = EncodingKey::from_ec_der(&pkcs8);
                (pkcs8, spki, enc, jwk)
            }
            Alg::RS256 => {
                let pkcs8 = match rsa_pkcs8 {
                    Some(d) => d,
                    None => generate_rsa_pkcs8()?,
                };
                let kp = aws_lc_rs::rsa::KeyPair::from_pkcs8(&pkcs8)
                    .map_err(|_| "rsa reparse failed")?;
                let public = kp.public_key();
                let spki = public
                    .as_der()
                    .map_err(|_| "rsa spki failed")?
                    .as_ref()
                    .to_vec();
                let comps = aws_lc_rs::rsa::PublicKeyComponents::<Vec<u8>>::from(public);
                let jwk = json!({
                    "kty": "RSA",
                    "n": b64(&comps.n),
                    "e": b64(&comps.e),
                });
                // jsonwebtoken's `from_rsa_der` wants PKCS#1; `from_rsa_pem` accepts PKCS#8
                // and extracts the inner PKCS#1 key.
                let enc = EncodingKey::from_rsa_pem(pem("PRIVATE KEY", &pkcs8).as_bytes())
                    .map_err(|e| format!("rsa encoding key: {e}"))?;
                (pkcs8, spki, enc, jwk)
            }
            Alg::EdDSA => {
                let kp = Ed25519KeyPair::generate().map_err(|_| "ed25519 keygen failed")?;
                let pkcs8 = kp.to_pkcs8v1().map_err(|_| "ed25519 export failed")?;
                let pkcs8 = pkcs8.as_ref().to_vec();
                let spki = kp
                    .public_key()
                    .as_der()
                    .map_err(|_| "ed25519 spki failed")?
                    .as_ref()
                    .to_vec();
                let jwk = json!({
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "x": b64(kp.public_key().as_ref()),
                });
                let enc = EncodingKey::from_ed_der(&pkcs8);
                (pkcs8, spki, enc, jwk)
            }
        };
        let mut jwk = jwk;
        if let Some(o) = jwk.as_object_mut() {
            o.insert("kid".into(), Value::String(kid.clone()));
            o.insert("alg".into(), Value::String(alg.as_str().into()));
            o.insert("use".into(), Value::String("sig".into()));
        }
        let parsed: jsonwebtoken::jwk::Jwk =
            serde_json::from_value(jwk.clone()).map_err(|e| format!("jwk: {e}"))?;
        let decoding = DecodingKey::from_jwk(&parsed).map_err(|e| format!("decoding key: {e}"))?;
        Ok(TestKey {
            kid,
            alg,
            encoding,
            decoding,
            public_jwk: jwk,
            private_pem: pem("PRIVATE KEY", &pkcs8),
            public_pem: pem("PUBLIC KEY", &spki),
        })
    }

    /// The key id (`kid`).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm this key signs with.
    pub fn alg(&self) -> Alg {
        self.alg
    }

    /// The public JWK (`kty`, key parameters, `kid`, `alg`, `use: "sig"`).
    pub fn public_jwk(&self) -> &Value {
        &self.public_jwk
    }

    /// The private key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub fn private_key_pem(&self) -> &str {
        &self.private_pem
    }

    /// The public key as SPKI PEM (`-----BEGIN PUBLIC KEY-----`).
    pub fn public_key_pem(&self) -> &str {
        &self.public_pem
    }

    /// Signs `claims` as a compact JWS with the given JOSE header.
    ///
    /// The header is used as given, except that `alg` and `kid` are filled in from this key
    /// when absent. A header `alg` of `"none"` produces an unsigned token
    /// (`header.payload.`); any other `alg` value is written as given but the signature is
    /// always made with this key's own algorithm (so a mismatching `alg` yields a token that
    /// must fail verification).
    pub fn sign(&self, header: &Map<String, Value>, claims: &Value) -> String {
        let mut header = header.clone();
        header
            .entry("alg")
            .or_insert_with(|| Value::String(self.alg.as_str().into()));
        header
            .entry("kid")
            .or_insert_with(|| Value::String(self.kid.clone()));
        let h = b64(Value::Object(header.clone()).to_string().as_bytes());
        let p = b64(claims.to_string().as_bytes());
        let input = format!("{h}.{p}");
        if header.get("alg").and_then(Value::as_str) == Some("none") {
            return format!("{input}.");
        }
        let sig = jsonwebtoken::crypto::sign(input.as_bytes(), &self.encoding, self.alg.jwt_alg())
            .unwrap_or_default();
        format!("{input}.{sig}")
    }

    /// Signs `claims` with a minimal header (`alg`, `kid`, and `typ` when given).
    pub fn sign_with_typ(&self, typ: Option<&str>, claims: &Value) -> String {
        let mut header = Map::new();
        if let Some(t) = typ {
            header.insert("typ".into(), Value::String(t.into()));
        }
        self.sign(&header, claims)
    }

    /// Verifies a compact JWS made with this key (signature only; no claim checks).
    pub(crate) fn verify_signature(&self, signing_input: &str, signature_b64: &str) -> bool {
        jsonwebtoken::crypto::verify(
            signature_b64,
            signing_input.as_bytes(),
            &self.decoding,
            self.alg.jwt_alg(),
        )
        .unwrap_or(false)
    }
}

/// The IdP's key set: published keys (the JWKS) plus the active signing key per algorithm.
#[derive(Clone, Debug)]
pub(crate) struct KeySet {
    pub published: Vec<TestKey>,
    pub active: Vec<(Alg, String)>,
}

impl KeySet {
    pub fn new(keys: Vec<TestKey>) -> KeySet {
        let mut active: Vec<(Alg, String)> = Vec::new();
        for k in &keys {
            if !active.iter().any(|(a, _)| *a == k.alg) {
                active.push((k.alg, k.kid.clone()));
            }
        }
        KeySet {
            published: keys,
            active,
        }
    }

    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> = self
            .published
            .iter()
            .map(|k| k.public_jwk.clone())
            .collect();
        json!({ "keys": keys })
    }

    pub fn signing_key(&self, alg: Alg) -> Option<&TestKey> {
        let active = self.active.iter().find(|(a, _)| *a == alg).map(|(_, k)| k);
        match active.and_then(|kid| self.published.iter().find(|k| &k.kid == kid)) {
            Some(k) => Some(k),
            None => self.published.iter().rev().find(|k| k.alg == alg),
        }
    }

    pub fn by_kid(&self, kid: &str) -> Option<&TestKey> {
        self.published.iter().find(|k| k.kid == kid)
    }

    /// Adds `key`, makes it the active key for its algorithm, and optionally unpublishes the
    /// other keys of the same algorithm.
    pub fn rotate(&mut self, key: TestKey, drop_old: bool) {
        if drop_old {
            self.published.retain(|k| k.alg != key.alg);
        }
        self.active.retain(|(a, _)| *a != key.alg);
        self.active.push((key.alg, key.kid.clone()));
        self.published.push(key);
    }

    /// Removes a key from the JWKS (it can no longer verify).
    pub fn unpublish(&mut self, kid: &str) -> bool {
        let before = self.published.len();
        self.published.retain(|k| k.kid != kid);
        self.active.retain(|(_, k)| k != kid);
        before != self.published.len()
    }
}
