//! Helpers shared by the `verify_*` integration tests: key generation (aws-lc-rs), token
//! minting (jsonwebtoken, or hand-crafted segments), standard configuration, and a loopback
//! JWKS server (tiny_http) that counts requests.
#![allow(dead_code, clippy::unwrap_used)]

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    EcdsaKeyPair, Ed25519KeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING,
    ECDSA_P384_SHA384_FIXED_SIGNING,
};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use idjag::clock::ManualClock;
use idjag::verify::{IdJagVerifier, VerifierConfig};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// 2026-01-01T00:00:00Z: the fixed "now" of table-driven tests.
pub const NOW: i64 = 1_767_225_600;
pub const AS: &str = "https://as.example.com";
pub const IDP: &str = "https://idp.example.com";
pub const IDP2: &str = "https://idp2.example.com";
pub const RESOURCE: &str = "https://mcp.example.com/mcp";
pub const RESOURCE2: &str = "https://mcp.example.com/tools";
pub const CLIENT: &str = "client-1";

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A signing key with its public JWK.
#[derive(Clone)]
pub struct TestKey {
    pub alg: Algorithm,
    pub kid: String,
    pub enc: EncodingKey,
    pub jwk: Value,
    /// PKCS#8 DER of the private key (for handing keys to other processes).
    pub pkcs8: Vec<u8>,
}

fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in body.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

impl TestKey {
    pub fn es256(kid: &str) -> TestKey {
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .unwrap()
                .as_ref()
                .to_vec();
        TestKey::ec_from_pkcs8(kid, Algorithm::ES256, &pkcs8)
    }

    pub fn es384(kid: &str) -> TestKey {
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, &SystemRandom::new())
                .unwrap()
                .as_ref()
                .to_vec();
        TestKey::ec_from_pkcs8(kid, Algorithm::ES384, &pkcs8)
    }

    pub fn ec_from_pkcs8(kid: &str, alg: Algorithm, pkcs8: &[u8]) -> TestKey {
        let (signing, crv, n) = match alg {
            Algorithm::ES256 => (&ECDSA_P256_SHA256_FIXED_SIGNING, "P-256", 32),
            _ => (&ECDSA_P384_SHA384_FIXED_SIGNING, "P-384", 48),
        };
        let pair = EcdsaKeyPair::from_pkcs8(signing, pkcs8).unwrap();
        let point = pair.public_key().as_ref();
        let jwk = json!({"kty": "EC", "crv": crv, "kid": kid, "use": "sig",
            "x": b64(&point[1..1 + n]), "y": b64(&point[1 + n..])});
        TestKey {
            alg,
            kid: kid.into(),
            enc: EncodingKey::from_ec_der(pkcs8),
            jwk,
            pkcs8: pkcs8.to_vec(),
        }
    }

    /// A 2048-bit RSA key for RS256 or PS256.
    pub fn rsa(kid: &str, alg: Algorithm) -> TestKey {
        use aws_lc_rs::encoding::AsDer;
        let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let pkcs8 = pair.as_der().unwrap().as_ref().to_vec();
        TestKey::rsa_from_pkcs8(kid, alg, &pkcs8)
    }

    pub fn rsa_from_pkcs8(kid: &str, alg: Algorithm, pkcs8: &[u8]) -> TestKey {
        let pair = aws_lc_rs::rsa::KeyPair::from_pkcs8(pkcs8).unwrap();
        let components = aws_lc_rs::rsa::PublicKeyComponents::<Vec<u8>>::from(pair.public_key());
        let jwk = json!({"kty": "RSA", "kid": kid, "use": "sig",
            "n": b64(&components.n), "e": b64(&components.e)});
        let enc = EncodingKey::from_rsa_pem(pem("PRIVATE KEY", pkcs8).as_bytes()).unwrap();
        TestKey {
            alg,
            kid: kid.into(),
            enc,
            jwk,
            pkcs8: pkcs8.to_vec(),
        }
    }

    pub fn ed25519(kid: &str) -> TestKey {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
            .unwrap()
            .as_ref()
            .to_vec();
        TestKey::ed25519_from_pkcs8(kid, &pkcs8)
    }

    /// A deterministic Ed25519 key (Ed25519 signatures are deterministic too).
    pub fn ed25519_from_seed(kid: &str, seed: [u8; 32]) -> TestKey {
        let pair = Ed25519KeyPair::from_seed_unchecked(&seed).unwrap();
        let pkcs8 = pair.to_pkcs8().unwrap().as_ref().to_vec();
        TestKey::ed25519_from_pkcs8(kid, &pkcs8)
    }

    pub fn ed25519_from_pkcs8(kid: &str, pkcs8: &[u8]) -> TestKey {
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8).unwrap();
        let jwk = json!({"kty": "OKP", "crv": "Ed25519", "kid": kid, "use": "sig",
            "x": b64(pair.public_key().as_ref())});
        TestKey {
            alg: Algorithm::EdDSA,
            kid: kid.into(),
            enc: EncodingKey::from_ed_der(pkcs8),
            jwk,
            pkcs8: pkcs8.to_vec(),
        }
    }

    pub fn alg_name(&self) -> &'static str {
        match self.alg {
            Algorithm::ES256 => "ES256",
            Algorithm::ES384 => "ES384",
            Algorithm::RS256 => "RS256",
            Algorithm::PS256 => "PS256",
            Algorithm::EdDSA => "EdDSA",
            _ => "??",
        }
    }

    /// The standard ID-JAG header for this key.
    pub fn header(&self) -> Value {
        json!({"alg": self.alg_name(), "typ": "oauth-id-jag+jwt", "kid": self.kid})
    }

    /// A token minted by `jsonwebtoken::encode` with the standard header.
    pub fn token(&self, claims: &Value) -> String {
        let mut h = Header::new(self.alg);
        h.typ = Some("oauth-id-jag+jwt".into());
        h.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&h, claims, &self.enc).unwrap()
    }

    /// Signs arbitrary header and payload JSON text (for shapes jsonwebtoken won't produce),
    /// with this key's algorithm.
    pub fn sign_raw(&self, header_json: &str, payload_json: &str) -> String {
        self.sign_raw_as(self.alg, header_json, payload_json)
    }

    pub fn sign_raw_as(&self, alg: Algorithm, header_json: &str, payload_json: &str) -> String {
        let input = format!(
            "{}.{}",
            b64(header_json.as_bytes()),
            b64(payload_json.as_bytes())
        );
        let sig = jsonwebtoken::crypto::sign(input.as_bytes(), &self.enc, alg).unwrap();
        format!("{input}.{sig}")
    }

    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        self.sign_raw(&header.to_string(), &claims.to_string())
    }
}

/// Standard, valid ID-JAG claims issued by `IDP` at `now - 10`.
pub fn claims_at(now: i64, jti: &str) -> Value {
    json!({
        "iss": IDP,
        "sub": "user-1",
        "aud": AS,
        "client_id": CLIENT,
        "jti": jti,
        "iat": now - 10,
        "exp": now + 290,
        "resource": RESOURCE,
        "scope": "read write",
        "email": "user@example.com"
    })
}

pub fn claims(jti: &str) -> Value {
    claims_at(NOW, jti)
}

pub fn jwks(keys: &[&TestKey]) -> Value {
    json!({"keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()})
}

/// The standard configuration: `AS`, two resources, `IDP` and `IDP2` with static JWKS.
pub fn config_json(idp_keys: &[&TestKey], idp2_keys: &[&TestKey], extra: Value) -> Value {
    let mut v = json!({
        "issuer": AS,
        "resources": [RESOURCE, RESOURCE2],
        "trusted_idps": [
            {"issuer": IDP, "jwks": jwks(idp_keys)},
            {"issuer": IDP2, "jwks": jwks(idp2_keys)}
        ]
    });
    for (k, val) in extra.as_object().into_iter().flatten() {
        v[k] = val.clone();
    }
    v
}

/// Sets `clock` to `unix_ms` milliseconds.
pub fn set_millis(clock: &ManualClock, unix_ms: i64) {
    clock.set_secs(unix_ms.div_euclid(1000));
    clock.advance(Duration::from_millis(unix_ms.rem_euclid(1000) as u64));
}

pub fn verifier(config: &Value, clock: &ManualClock) -> IdJagVerifier {
    let cfg = VerifierConfig::from_json(&config.to_string()).unwrap();
    IdJagVerifier::builder(cfg)
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap()
}

/// Asserts that nothing from the assertion leaks into an error's Display or Debug.
pub fn assert_no_leak(err: &idjag::Error, token: &str) {
    let shown = format!("{err} {err:?}");
    assert!(
        !shown.contains(token) || token.len() < 16,
        "assertion leaked: {shown}"
    );
    for seg in token.split('.') {
        if seg.len() >= 16 {
            assert!(!shown.contains(seg), "segment leaked: {shown}");
        }
    }
}

// ------------------------------------------------------------------------------------------
// Loopback JWKS / metadata server

#[derive(Default)]
pub struct ServerState {
    pub jwks: Value,
    pub cache_control: Option<String>,
    pub jwks_status: u16,
    pub metadata: Option<Value>,
    pub delay: Option<Duration>,
}

/// A tiny_http server on 127.0.0.1 serving `/jwks` and
/// `/.well-known/oauth-authorization-server`, counting requests.
pub struct JwksServer {
    pub base: String,
    pub state: Arc<Mutex<ServerState>>,
    pub jwks_hits: Arc<AtomicUsize>,
    pub metadata_hits: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl JwksServer {
    pub fn start(jwks: Value) -> JwksServer {
        let server = tiny_http::Server::http("127.0.0.1:0").unwrap();
        let port = server.server_addr().to_ip().unwrap().port();
        let base = format!("http://127.0.0.1:{port}");
        let state = Arc::new(Mutex::new(ServerState {
            jwks,
            jwks_status: 200,
            ..ServerState::default()
        }));
        let jwks_hits = Arc::new(AtomicUsize::new(0));
        let metadata_hits = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (state, jwks_hits, metadata_hits, stop) = (
                state.clone(),
                jwks_hits.clone(),
                metadata_hits.clone(),
                stop.clone(),
            );
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let Ok(Some(req)) = server.recv_timeout(Duration::from_millis(50)) else {
                        continue;
                    };
                    let path = req.url().split('?').next().unwrap_or("").to_string();
                    let (status, body, cc, delay) = {
                        let st = state.lock().unwrap();
                        match path.as_str() {
                            "/jwks" => {
                                jwks_hits.fetch_add(1, Ordering::SeqCst);
                                (
                                    st.jwks_status,
                                    st.jwks.to_string(),
                                    st.cache_control.clone(),
                                    st.delay,
                                )
                            }
                            "/.well-known/oauth-authorization-server" => {
                                metadata_hits.fetch_add(1, Ordering::SeqCst);
                                match &st.metadata {
                                    Some(m) => (200, m.to_string(), None, None),
                                    None => (404, "{}".into(), None, None),
                                }
                            }
                            _ => (404, "{}".into(), None, None),
                        }
                    };
                    if let Some(d) = delay {
                        std::thread::sleep(d);
                    }
                    let mut resp = tiny_http::Response::from_string(body)
                        .with_status_code(status)
                        .with_header(
                            tiny_http::Header::from_bytes("Content-Type", "application/json")
                                .unwrap(),
                        );
                    if let Some(cc) = cc {
                        resp = resp.with_header(
                            tiny_http::Header::from_bytes("Cache-Control", cc.as_bytes()).unwrap(),
                        );
                    }
                    let _ = req.respond(resp);
                }
            })
        };
        JwksServer {
            base,
            state,
            jwks_hits,
            metadata_hits,
            stop,
            thread: Some(thread),
        }
    }

    pub fn jwks_uri(&self) -> String {
        format!("{}/jwks", self.base)
    }

    pub fn set_jwks(&self, jwks: Value) {
        self.state.lock().unwrap().jwks = jwks;
    }

    pub fn hits(&self) -> usize {
        self.jwks_hits.load(Ordering::SeqCst)
    }
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
