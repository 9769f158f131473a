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

/// The body of the PEM block labelled `label`, decoded.
fn pem_decode(text: &str, label: &str) -> Result<Vec<u8>, String> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text
        .find(&begin)
        .ok_or_else(|| format!("no `{begin}` block (an unencrypted PKCS#8 key is needed)"))?;
    let rest = &text[start + begin.len()..];
    let stop = rest.find(&end).ok_or_else(|| format!("no `{end}` line"))?;
    let b64: String = rest[..stop]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| "the PEM body is not valid base64".to_string())
}

/// RFC 7638 JWK thumbprint (SHA-256, base64url) of a public JWK without `kid`/`alg`/`use`:
/// the required members in lexicographic order, no whitespace.
fn thumbprint(jwk: &Value) -> Result<String, String> {
    let m = |k: &str| {
        jwk.get(k)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("jwk without {k}"))
    };
    let canonical = match m("kty")? {
        "EC" => format!(
            r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
            m("crv")?,
            m("x")?,
            m("y")?
        ),
        "RSA" => format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, m("e")?, m("n")?),
        "OKP" => format!(r#"{{"crv":"{}","kty":"OKP","x":"{}"}}"#, m("crv")?, m("x")?),
        other => return Err(format!("no thumbprint for kty {other}")),
    };
    Ok(b64(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        canonical.as_bytes(),
    )
    .as_ref()))
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
        Self::build(alg, None, false).expect("key generation")
    }

    /// Generates a key, reusing a process-wide pre-generated RSA key for `slot` (0 or 1).
    pub(crate) fn generate_cached(alg: Alg, slot: usize) -> TestKey {
        let der = if alg == Alg::RS256 {
            cached_rsa(slot)
        } else {
            None
        };
        Self::build(alg, der, false).expect("key generation")
    }

    /// Loads a fixed key from an unencrypted PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`, as
    /// `openssl genpkey` writes): a P-256 key signs ES256, an RSA key (≥ 2048 bits) RS256, an
    /// Ed25519 key EdDSA. The `kid` is the key's RFC 7638 JWK thumbprint, so the same file
    /// gives the same JWK across restarts. Errors never contain key material.
    pub fn from_pkcs8_pem(pem_text: &str) -> Result<TestKey, String> {
        let der = pem_decode(pem_text, "PRIVATE KEY")?;
        let alg = if EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der).is_ok() {
            Alg::ES256
        } else if aws_lc_rs::rsa::KeyPair::from_pkcs8(&der).is_ok() {
            Alg::RS256
        } else if Ed25519KeyPair::from_pkcs8(&der).is_ok() {
            Alg::EdDSA
        } else {
            return Err(
                "not a P-256, RSA (2048 bits or more) or Ed25519 PKCS#8 private key".into(),
            );
        };
        Self::build(alg, Some(der), true)
    }

    /// Derives a fixed ES256 or EdDSA key from `seed` (any non-empty string): the same seed
    /// gives the same key and `kid` (its RFC 7638 thumbprint) in every run and on every
    /// machine. Test material only: anyone who knows the seed can sign as the IdP. RSA keys
    /// cannot be derived from a seed (use [`TestKey::from_pkcs8_pem`]).
    pub fn from_seed(alg: Alg, seed: &str) -> Result<TestKey, String> {
        if seed.is_empty() {
            return Err("the key seed is empty".into());
        }
        let derive = |counter: u8| {
            let mut input = format!("idjag-testkit {} key seed\0", alg.as_str()).into_bytes();
            input.extend_from_slice(seed.as_bytes());
            input.push(counter);
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &input)
        };
        let pkcs8 = match alg {
            Alg::ES256 => {
                // A SHA-256 output is a valid P-256 scalar unless it is 0 or ≥ n (chance
                // ~2^-32): the next counter value is tried then.
                let mut found = None;
                for counter in 0..8u8 {
                    let d = derive(counter);
                    let mut sec1 = vec![
                        0x30, 0x31, 0x02, 0x01, 0x01, 0x04, 0x20, // ECPrivateKey v1, 32 bytes
                    ];
                    sec1.extend_from_slice(d.as_ref());
                    // [0] namedCurve prime256v1 (RFC 5915; the public key is computed)
                    sec1.extend_from_slice(&[
                        0xa0, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
                    ]);
                    if let Ok(kp) =
                        EcdsaKeyPair::from_private_key_der(&ECDSA_P256_SHA256_FIXED_SIGNING, &sec1)
                    {
                        found = Some(kp);
                        break;
                    }
                }
                let kp = found.ok_or("could not derive a P-256 key from the seed")?;
                kp.to_pkcs8v1()
                    .map_err(|_| "ec export failed")?
                    .as_ref()
                    .to_vec()
            }
            Alg::EdDSA => {
                let kp = Ed25519KeyPair::from_seed_unchecked(derive(0).as_ref())
                    .map_err(|_| "could not derive an Ed25519 key from the seed")?;
                kp.to_pkcs8v1()
                    .map_err(|_| "ed25519 export failed")?
                    .as_ref()
                    .to_vec()
            }
            Alg::RS256 => return Err("RSA keys cannot be derived from a seed".into()),
        };
        Self::build(alg, Some(pkcs8), true)
    }

    /// Builds a key from `pkcs8` (generated when `None`); `stable_kid` makes the `kid` the
    /// RFC 7638 thumbprint instead of a random one.
    fn build(alg: Alg, pkcs8: Option<Vec<u8>>, stable_kid: bool) -> Result<TestKey, String> {
        let kid = format!(
            "{}-{}",
            alg.as_str().to_ascii_lowercase(),
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        let (pkcs8, spki, encoding, jwk): (Vec<u8>, Vec<u8>, EncodingKey, Value) = match alg {
            Alg::ES256 => {
                let kp = match &pkcs8 {
                    Some(der) => EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                        .map_err(|_| "not a P-256 PKCS#8 key")?,
                    None => EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                        .map_err(|_| "ec keygen failed")?,
                };
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
                let pkcs8 = match pkcs8 {
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
                let kp = match &pkcs8 {
                    Some(der) => {
                        Ed25519KeyPair::from_pkcs8(der).map_err(|_| "not an Ed25519 PKCS#8 key")?
                    }
                    None => Ed25519KeyPair::generate().map_err(|_| "ed25519 keygen failed")?,
                };
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
        let kid = if stable_kid { thumbprint(&jwk)? } else { kid };
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// RFC 7638 §3.1: the example RSA key's thumbprint.
    #[test]
    fn thumbprint_matches_rfc7638_example() {
        let jwk = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29",
        });
        assert_eq!(
            thumbprint(&jwk).unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    /// A PEM of every algorithm loads back as the same public key, with the thumbprint as
    /// `kid`, and signs tokens its JWK verifies.
    #[test]
    fn pkcs8_pem_round_trip_for_every_alg() {
        for alg in [Alg::ES256, Alg::RS256, Alg::EdDSA] {
            let original = TestKey::generate(alg);
            let a = TestKey::from_pkcs8_pem(original.private_key_pem()).unwrap();
            let b = TestKey::from_pkcs8_pem(original.private_key_pem()).unwrap();
            assert_eq!(a.alg(), alg);
            assert_eq!(a.kid(), b.kid(), "{alg}: stable kid");
            assert_eq!(a.kid(), thumbprint(original.public_jwk()).unwrap());
            for m in ["kty", "crv", "x", "y", "n", "e"] {
                assert_eq!(a.public_jwk()[m], original.public_jwk()[m], "{alg} {m}");
            }
            let token = a.sign_with_typ(Some("JWT"), &json!({"sub": "x"}));
            let (input, sig) = token.rsplit_once('.').unwrap();
            assert!(b.verify_signature(input, sig), "{alg}");
            assert!(
                !TestKey::generate(alg).verify_signature(input, sig),
                "{alg}"
            );
        }
    }

    #[test]
    fn seeds_are_deterministic_and_distinct() {
        for alg in [Alg::ES256, Alg::EdDSA] {
            let a = TestKey::from_seed(alg, "seed-1").unwrap();
            let b = TestKey::from_seed(alg, "seed-1").unwrap();
            let c = TestKey::from_seed(alg, "seed-2").unwrap();
            assert_eq!(a.public_jwk(), b.public_jwk(), "{alg}");
            assert_eq!(a.private_key_pem(), b.private_key_pem(), "{alg}");
            assert_ne!(a.public_jwk()["x"], c.public_jwk()["x"], "{alg}");
            assert_eq!(a.kid(), thumbprint(a.public_jwk()).unwrap());
        }
        // Per-algorithm domain separation: the same seed, unrelated keys.
        let es = TestKey::from_seed(Alg::ES256, "seed-1").unwrap();
        let ed = TestKey::from_seed(Alg::EdDSA, "seed-1").unwrap();
        assert_ne!(es.public_jwk()["x"], ed.public_jwk()["x"]);
        assert!(TestKey::from_seed(Alg::RS256, "seed-1").is_err());
        assert!(TestKey::from_seed(Alg::ES256, "").is_err());
    }

    #[test]
    fn bad_pems_are_refused_without_echoing_them() {
        let es = TestKey::generate(Alg::ES256);
        let body: String = es
            .private_key_pem()
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        let truncated = es.private_key_pem().replace(&body[12..32], "");
        assert_ne!(truncated, es.private_key_pem());
        for bad in [
            "",
            "not a pem",
            es.public_key_pem(),
            "-----BEGIN PRIVATE KEY-----\n!!!\n-----END PRIVATE KEY-----\n",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            truncated.as_str(),
        ] {
            let e = TestKey::from_pkcs8_pem(bad).unwrap_err();
            assert!(!e.contains(&body[..20]) && !e.contains("AAAA"), "{e}");
        }
    }
}
