//! Verification keys: JWK parsing, and the per-issuer key cache.
//!
//! Keys come only from the issuer's own JWK Set (or pinned configuration). A fetched set
//! replaces the previous one entirely, so a key rotated out is gone after the next fetch (no
//! rollback). Fetches are coalesced (concurrent misses wait for the one in flight) and rate
//! limited (at most one per `jwks_refetch_interval_s`, successful or not), so a flood of
//! unknown `kid`s cannot become a flood of fetches. A lookup that finds its key in a fresh
//! cached set never waits: only misses wait for a fetch in flight. The cache lock is never
//! held during a fetch (nor while waiting for one).

use super::config::JwsAlgorithm;
use super::reason::{RejectReason, Rejection};
use crate::client::Client;
use crate::clock::SharedClock;
use crate::error::{sanitize_server_text, Action, Error, ErrorKind, Step};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::DecodingKey;
use serde_json::Value;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// Most keys kept from one JWK Set; later entries are ignored.
const MAX_KEYS: usize = 64;
/// Upper bound on any JWKS cache lifetime.
const MAX_TTL_MS: i64 = 24 * 3600 * 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyKind {
    Rsa,
    EcP256,
    EcP384,
    Ed25519,
    Hmac,
}

/// One usable verification key.
pub(crate) struct VerifyKey {
    pub(crate) kid: Option<String>,
    kind: KeyKind,
    alg: Option<JwsAlgorithm>,
    pub(crate) key: DecodingKey,
}

impl VerifyKey {
    /// Whether this key may verify a token signed with `alg`: the key type must fit the
    /// algorithm, and a JWK `alg`, when present, must equal it.
    fn fits(&self, alg: JwsAlgorithm) -> bool {
        if let Some(a) = self.alg {
            if a != alg {
                return false;
            }
        }
        use JwsAlgorithm as A;
        match self.kind {
            KeyKind::Rsa => matches!(
                alg,
                A::RS256 | A::RS384 | A::RS512 | A::PS256 | A::PS384 | A::PS512
            ),
            KeyKind::EcP256 => alg == A::ES256,
            KeyKind::EcP384 => alg == A::ES384,
            KeyKind::Ed25519 => alg == A::EdDSA,
            KeyKind::Hmac => alg.is_hmac(),
        }
    }
}

/// A parsed key set.
#[derive(Default)]
pub(crate) struct KeySet {
    keys: Vec<Arc<VerifyKey>>,
}

pub(crate) enum Lookup {
    Found(Arc<VerifyKey>),
    /// No key with this `kid` (or, without a `kid`, no key fitting the algorithm).
    NotFound,
    /// The `kid` exists but none of its keys fits the algorithm, or several kid-less
    /// candidates exist.
    Unusable,
}

impl KeySet {
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    pub(crate) fn hmac(secret: &[u8]) -> KeySet {
        KeySet {
            keys: vec![Arc::new(VerifyKey {
                kid: None,
                kind: KeyKind::Hmac,
                alg: None,
                key: DecodingKey::from_secret(secret),
            })],
        }
    }

    pub(crate) fn lookup(&self, kid: Option<&str>, alg: JwsAlgorithm) -> Lookup {
        if alg.is_hmac() {
            // A configured shared secret is the IdP's only key: `kid` is irrelevant.
            return match self
                .keys
                .iter()
                .find(|k| k.kind == KeyKind::Hmac && k.fits(alg))
            {
                Some(k) => Lookup::Found(k.clone()),
                None => Lookup::NotFound,
            };
        }
        match kid {
            Some(kid) => {
                let mut any = false;
                for k in self.keys.iter().filter(|k| k.kid.as_deref() == Some(kid)) {
                    any = true;
                    if k.fits(alg) {
                        return Lookup::Found(k.clone());
                    }
                }
                if any {
                    Lookup::Unusable
                } else {
                    Lookup::NotFound
                }
            }
            None => {
                let mut fitting = self.keys.iter().filter(|k| k.fits(alg));
                match (fitting.next(), fitting.next()) {
                    (Some(k), None) => Lookup::Found(k.clone()),
                    (None, _) => Lookup::NotFound,
                    (Some(_), Some(_)) => Lookup::Unusable,
                }
            }
        }
    }
}

fn b64(v: Option<&Value>) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(v?.as_str()?).ok()
}

/// Parses one JWK into a verification key; `None` for entries that are unusable here
/// (unknown `kty`/`crv`, encryption keys, symmetric keys, malformed members). RFC 7517 §5
/// asks implementations to ignore such entries rather than reject the whole set.
fn parse_jwk(v: &Value) -> Option<VerifyKey> {
    let o = v.as_object()?;
    let s = |k: &str| o.get(k).and_then(Value::as_str);
    if let Some(u) = o.get("use") {
        if u.as_str()? != "sig" {
            return None;
        }
    }
    if let Some(ops) = o.get("key_ops") {
        if !ops
            .as_array()?
            .iter()
            .any(|op| op.as_str() == Some("verify"))
        {
            return None;
        }
    }
    let alg = match o.get("alg") {
        None => None,
        Some(a) => Some(JwsAlgorithm::from_name(a.as_str()?)?),
    };
    let kid = match o.get("kid") {
        None => None,
        Some(k) => Some(k.as_str()?.to_string()),
    };
    let (kind, key) = match s("kty")? {
        "RSA" => {
            let n = b64(o.get("n"))?;
            let e = b64(o.get("e"))?;
            let n_trimmed = n.iter().skip_while(|b| **b == 0).count();
            if !(256..=1024).contains(&n_trimmed) || e.is_empty() || e.len() > 8 {
                return None; // 2048..=8192-bit moduli only
            }
            (KeyKind::Rsa, DecodingKey::from_rsa_raw_components(&n, &e))
        }
        "EC" => {
            let (kind, len) = match s("crv")? {
                "P-256" => (KeyKind::EcP256, 32),
                "P-384" => (KeyKind::EcP384, 48),
                _ => return None,
            };
            let x = b64(o.get("x"))?;
            let y = b64(o.get("y"))?;
            if x.len() != len || y.len() != len {
                return None;
            }
            let mut point = Vec::with_capacity(1 + 2 * len);
            point.push(0x04);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            (kind, DecodingKey::from_ec_der(&point))
        }
        "OKP" => {
            if s("crv")? != "Ed25519" {
                return None;
            }
            let x = b64(o.get("x"))?;
            if x.len() != 32 {
                return None;
            }
            (KeyKind::Ed25519, DecodingKey::from_ed_der(&x))
        }
        // "oct" (a symmetric key published in a JWK Set is public) and anything else.
        _ => return None,
    };
    let key = VerifyKey {
        kid,
        kind,
        alg,
        key,
    };
    // A JWK whose own `alg` contradicts its key type is unusable.
    if let Some(a) = alg {
        if !key.fits(a) {
            return None;
        }
    }
    Some(key)
}

/// Parses a JWK Set document. Errors describe the document's shape, never its content.
pub(crate) fn parse_jwks(doc: &Value) -> Result<KeySet, &'static str> {
    let keys = doc
        .get("keys")
        .and_then(Value::as_array)
        .ok_or("JWK Set has no `keys` array")?;
    let keys: Vec<Arc<VerifyKey>> = keys
        .iter()
        .filter_map(parse_jwk)
        .take(MAX_KEYS)
        .map(Arc::new)
        .collect();
    if keys.is_empty() {
        return Err("JWK Set contains no usable signature verification key");
    }
    Ok(KeySet { keys })
}

/// Where an IdP's keys come from.
pub(crate) enum KeySource {
    Static(Arc<KeySet>),
    JwksUri(String),
    Discover,
}

/// How a failed fetch is remembered (so callers within the rate-limit window get the same
/// answer without another request).
#[derive(Clone)]
struct FetchFailure {
    kind: ErrorKind,
    action: Action,
    message: String,
    status: Option<u16>,
}

impl FetchFailure {
    fn of(e: &Error) -> Self {
        FetchFailure {
            kind: e.kind(),
            action: e.action(),
            message: e.message().to_string(),
            status: e.status(),
        }
    }

    fn to_error(&self) -> Error {
        let mut e =
            Error::new(self.kind, Step::Verify, self.message.clone()).with_action(self.action);
        if let Some(s) = self.status {
            e = e.with_status(s);
        }
        e
    }
}

#[derive(Default)]
struct FetchState {
    keys: Option<Arc<KeySet>>,
    fresh_until_ms: i64,
    last_attempt_ms: Option<i64>,
    last_error: Option<FetchFailure>,
    in_flight: bool,
    generation: u64,
}

/// The settings the cache needs from the verifier.
pub(crate) struct JwksPolicy {
    pub(crate) client: Client,
    pub(crate) clock: SharedClock,
    pub(crate) default_ttl_ms: i64,
    pub(crate) min_interval_ms: i64,
}

/// One trusted IdP and its keys.
pub(crate) struct IdpKeys {
    pub(crate) issuer: String,
    pub(crate) algorithms: Vec<JwsAlgorithm>,
    source: KeySource,
    state: Mutex<FetchState>,
    fetched: Condvar,
}

pub(crate) enum KeyError {
    Reject(Rejection),
    Fetch(Error),
}

/// Resets `in_flight` if the fetching thread unwinds, so waiters are not stuck.
struct InFlight<'a> {
    idp: &'a IdpKeys,
    armed: bool,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if self.armed {
            let mut st = self.idp.lock();
            st.in_flight = false;
            st.generation = st.generation.wrapping_add(1);
            st.last_error = Some(FetchFailure {
                kind: ErrorKind::Internal,
                action: Action::Retry,
                message: "JWKS fetch aborted".into(),
                status: None,
            });
            self.idp.fetched.notify_all();
        }
    }
}

impl IdpKeys {
    pub(crate) fn new(issuer: String, algorithms: Vec<JwsAlgorithm>, source: KeySource) -> Self {
        IdpKeys {
            issuer,
            algorithms,
            source,
            state: Mutex::new(FetchState::default()),
            fetched: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, FetchState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn unknown_key(&self, kid: Option<&str>, alg: JwsAlgorithm, why: &str) -> KeyError {
        let kid = kid.map(sanitize_server_text);
        KeyError::Reject(Rejection::new(
            RejectReason::UnknownKey,
            format!(
                "no {alg} key{} in the JWKS of `{}` ({why})",
                kid.map(|k| format!(" with kid `{k}`")).unwrap_or_default(),
                self.issuer
            ),
        ))
    }

    /// Finds the key for (`kid`, `alg`), fetching or refetching the JWK Set when allowed.
    pub(crate) fn find_key(
        &self,
        policy: &JwksPolicy,
        kid: Option<&str>,
        alg: JwsAlgorithm,
    ) -> Result<Arc<VerifyKey>, KeyError> {
        if let KeySource::Static(set) = &self.source {
            return match set.lookup(kid, alg) {
                Lookup::Found(k) => Ok(k),
                Lookup::NotFound => Err(self.unknown_key(kid, alg, "pinned key set")),
                Lookup::Unusable => Err(self.unknown_key(kid, alg, "no fitting key")),
            };
        }
        let wait_bound = policy.client.http_config().total_timeout + Duration::from_secs(5);
        let mut waited = false;
        let mut st = self.lock();
        loop {
            let now = policy.clock.now_millis();
            let fresh = st.keys.is_some() && now < st.fresh_until_ms;
            // A fresh cached key answers at once, even while a refetch (for some other,
            // unknown `kid`) is in flight: only a miss waits for the fetch.
            if fresh {
                if let Some(set) = &st.keys {
                    match set.lookup(kid, alg) {
                        Lookup::Found(k) => return Ok(k),
                        Lookup::Unusable => {
                            return Err(self.unknown_key(kid, alg, "no fitting key"))
                        }
                        Lookup::NotFound => {} // a refetch may find it
                    }
                }
            }
            if st.in_flight {
                // Coalesce: wait for the fetch in flight, then decide with its result. The
                // lock is released while waiting.
                let generation = st.generation;
                let (guard, timeout) = self
                    .fetched
                    .wait_timeout_while(st, wait_bound, |s| {
                        s.in_flight && s.generation == generation
                    })
                    .unwrap_or_else(|p| p.into_inner());
                st = guard;
                if timeout.timed_out() && st.in_flight {
                    return Err(KeyError::Fetch(Error::new(
                        ErrorKind::Timeout,
                        Step::Verify,
                        format!("timed out waiting for the JWKS of `{}`", self.issuer),
                    )));
                }
                waited = true;
                continue;
            }
            let recently = st
                .last_attempt_ms
                .is_some_and(|t| now.saturating_sub(t) < policy.min_interval_ms);
            if waited || recently {
                // The refetch that could have found the key failed: that is a transport
                // problem, not evidence against the token.
                if let Some(f) = &st.last_error {
                    return Err(KeyError::Fetch(f.to_error()));
                }
                if fresh {
                    return Err(self.unknown_key(kid, alg, "refetch rate-limited"));
                }
                // No error but not fresh either (the clock moved backwards): use what we have.
                return match st.keys.as_ref().map(|s| s.lookup(kid, alg)) {
                    Some(Lookup::Found(k)) => Ok(k),
                    _ => Err(self.unknown_key(kid, alg, "refetch rate-limited")),
                };
            }
            // This thread fetches.
            st.in_flight = true;
            st.last_attempt_ms = Some(now);
            drop(st);
            let mut flight = InFlight {
                idp: self,
                armed: true,
            };
            let result = self.fetch(policy);
            st = self.lock();
            flight.armed = false;
            drop(flight);
            let done = policy.clock.now_millis();
            match result {
                Ok((set, max_age)) => {
                    let ttl = max_age
                        .map(|s| (s as i64).saturating_mul(1000))
                        .unwrap_or(policy.default_ttl_ms)
                        .clamp(policy.min_interval_ms, MAX_TTL_MS);
                    st.keys = Some(Arc::new(set));
                    st.fresh_until_ms = done.saturating_add(ttl);
                    st.last_error = None;
                }
                Err(e) => {
                    log::debug!("idjag verify: JWKS fetch for {} failed: {}", self.issuer, e);
                    st.last_error = Some(FetchFailure::of(&e));
                }
            }
            st.in_flight = false;
            st.generation = st.generation.wrapping_add(1);
            self.fetched.notify_all();
            waited = true;
        }
    }

    /// Fetches the keys now unless the set is fresh (used to warm the cache).
    pub(crate) fn prefetch(&self, policy: &JwksPolicy) -> Result<(), Error> {
        if matches!(self.source, KeySource::Static(_)) {
            return Ok(());
        }
        {
            let st = self.lock();
            if st.keys.is_some() && policy.clock.now_millis() < st.fresh_until_ms {
                return Ok(());
            }
        }
        // Nothing fresh is cached: a lookup that can never match fetches (or reports the
        // failure of a fetch attempted within the rate-limit window).
        match self.find_key(policy, Some("\u{0}idjag-prefetch"), JwsAlgorithm::ES256) {
            Err(KeyError::Fetch(e)) => Err(e),
            _ => Ok(()),
        }
    }

    fn fetch(&self, policy: &JwksPolicy) -> Result<(KeySet, Option<u64>), Error> {
        let uri = match &self.source {
            KeySource::JwksUri(u) => u.clone(),
            KeySource::Discover => {
                let meta = policy
                    .client
                    .authorization_server_metadata(&self.issuer)
                    .map_err(|e| e.with_step(Step::Verify))?;
                meta.jwks_uri.clone().ok_or_else(|| {
                    Error::new(
                        ErrorKind::NotSupported,
                        Step::Verify,
                        format!("the metadata of `{}` has no `jwks_uri`", self.issuer),
                    )
                })?
            }
            KeySource::Static(_) => {
                return Err(Error::internal(
                    Step::Verify,
                    "static key sets are not fetched",
                ))
            }
        };
        let fetched = policy.client.get_json::<Value>(Step::Verify, &uri)?;
        let set = parse_jwks(&fetched.value).map_err(|why| {
            Error::new(
                ErrorKind::ResponseInvalid,
                Step::Verify,
                format!("{why} (JWKS of `{}`)", self.issuer),
            )
        })?;
        log::debug!(
            "idjag verify: fetched {} keys for {}",
            set.len(),
            self.issuer
        );
        Ok((set, fetched.max_age))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ec_key(kid: &str) -> Value {
        json!({"kty":"EC","crv":"P-256","kid":kid,
               "x": URL_SAFE_NO_PAD.encode([1u8; 32]), "y": URL_SAFE_NO_PAD.encode([2u8; 32])})
    }

    #[test]
    fn unusable_entries_are_skipped() {
        let doc = json!({"keys": [
            {"kty":"oct","k":"c2VjcmV0"},
            {"kty":"EC","crv":"P-521","x":"AA","y":"AA"},
            {"kty":"RSA","n":"AQAB","e":"AQAB"},
            {"kty":"OKP","crv":"X25519","x": URL_SAFE_NO_PAD.encode([0u8;32])},
            {"kty":"EC","crv":"P-256","use":"enc","x": URL_SAFE_NO_PAD.encode([1u8;32]),"y": URL_SAFE_NO_PAD.encode([2u8;32])},
            {"kty":"EC","crv":"P-256","alg":"RS256","x": URL_SAFE_NO_PAD.encode([1u8;32]),"y": URL_SAFE_NO_PAD.encode([2u8;32])},
            {"kty":"EC","crv":"P-256","kid":7,"x": URL_SAFE_NO_PAD.encode([1u8;32]),"y": URL_SAFE_NO_PAD.encode([2u8;32])},
            "junk",
            ec_key("good")
        ]});
        let set = parse_jwks(&doc).expect("one usable key");
        assert_eq!(set.len(), 1);
        assert!(matches!(
            set.lookup(Some("good"), JwsAlgorithm::ES256),
            Lookup::Found(_)
        ));
        assert!(matches!(
            set.lookup(Some("good"), JwsAlgorithm::RS256),
            Lookup::Unusable
        ));
        assert!(matches!(
            set.lookup(Some("other"), JwsAlgorithm::ES256),
            Lookup::NotFound
        ));
        assert!(matches!(
            set.lookup(None, JwsAlgorithm::ES256),
            Lookup::Found(_)
        ));
        assert!(matches!(
            set.lookup(None, JwsAlgorithm::HS256),
            Lookup::NotFound
        ));
        assert!(parse_jwks(&json!({"keys": []})).is_err());
        assert!(parse_jwks(&json!({"nokeys": []})).is_err());
    }

    #[test]
    fn kidless_tokens_need_a_single_candidate() {
        let set = parse_jwks(&json!({"keys": [ec_key("a"), ec_key("b")]})).expect("set");
        assert!(matches!(
            set.lookup(None, JwsAlgorithm::ES256),
            Lookup::Unusable
        ));
        assert!(matches!(
            set.lookup(Some("b"), JwsAlgorithm::ES256),
            Lookup::Found(_)
        ));
    }
}
