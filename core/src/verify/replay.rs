//! Single-use `jti` enforcement (EMA §7.4.2).
//!
//! The verifier calls [`ReplayStore::check_and_insert`] once, after every other check has
//! passed, with a key derived from (`iss`, `jti`) and the Unix second from which the key may
//! be forgotten. That second is strictly after the last one at which the ID-JAG can be
//! accepted (`exp + clock_skew_s`), with a further `clock_skew_s` of margin for replicas
//! whose clocks differ — so a used ID-JAG is rejected as `replayed` at every instant it
//! would otherwise be accepted. The operation is atomic insert-if-absent. A store that
//! cannot answer fails closed: the verification fails with a non-rejection error (the
//! assertion is neither accepted nor reported as forged).
//!
//! The store does the same under both replay policies ([`ReplayPolicy`]): it only records
//! and answers "first time or not". Under `single_use` the verifier rejects a pair already
//! recorded; under the weaker `until_exp` it accepts it and reports
//! [`VerifiedGrant::first_use`] `false` — so every replica sharing the store agrees on which
//! presentation was the first, and a store outage still fails closed.
//!
//! [`ReplayPolicy`]: super::ReplayPolicy
//! [`VerifiedGrant::first_use`]: super::VerifiedGrant::first_use

use crate::clock::{SharedClock, SystemClock};
use crate::error::{Action, Error, ErrorKind, Result, Step};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

/// Records single-use identifiers.
///
/// Implementations must be atomic across every verifier that shares the store (all replicas
/// of an authorization server must share one), and must fail closed: return `Err` when they
/// cannot tell, never `Ok(true)`.
pub trait ReplayStore: Send + Sync {
    /// Inserts `key` unless it is present. Returns `Ok(true)` when the key was absent (and
    /// is now recorded) and `Ok(false)` when it was already recorded (a replay).
    ///
    /// `expires_at_unix` (Unix seconds) is **exclusive**: the key must be reported present
    /// at every instant before the start of that second (`now < expires_at_unix`), and may
    /// be forgotten from then on. A store keyed on a relative TTL must not round it down.
    fn check_and_insert(&self, key: &str, expires_at_unix: i64) -> Result<bool>;
}

/// The replay key of (`iss`, `jti`): lowercase hex SHA-256 of `iss ‖ 0x00 ‖ jti`. Fixed-size
/// whatever the token carries, and free of characters that need escaping in any store.
pub fn replay_key(iss: &str, jti: &str) -> String {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    ctx.update(iss.as_bytes());
    ctx.update(&[0]);
    ctx.update(jti.as_bytes());
    let digest = ctx.finish();
    let mut out = String::with_capacity(64);
    for b in digest.as_ref() {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

#[derive(Default)]
struct Shard {
    live: HashMap<String, i64>,
    by_expiry: BinaryHeap<Reverse<(i64, String)>>,
}

impl Shard {
    fn purge(&mut self, now: i64) {
        while let Some(Reverse((exp, _))) = self.by_expiry.peek() {
            if *exp > now {
                break;
            }
            if let Some(Reverse((exp, key))) = self.by_expiry.pop() {
                // The key may have been re-recorded with a later expiry.
                if self.live.get(&key).is_some_and(|e| *e <= exp) {
                    self.live.remove(&key);
                }
            }
        }
    }
}

/// An in-process [`ReplayStore`]: bounded, expiring, thread-safe (sharded locks).
///
/// Use it for a single-process authorization server; several replicas need a shared store
/// such as `RedisReplayStore` (cargo feature `redis`). When the store is full of unexpired
/// entries it fails closed with an [`ErrorKind::Internal`] error (action `retry`) instead of
/// forgetting a `jti`; size `capacity` for the peak number of ID-JAGs accepted per
/// `max_lifetime_s + 2 × clock_skew_s` (how long the verifier keeps each `jti`). Stores of 8192 keys or more are split into up to 16
/// shards of `capacity / shards` keys each, so "full" may come slightly before `capacity`.
pub struct InMemoryReplayStore {
    shards: Vec<Mutex<Shard>>,
    per_shard: usize,
    capacity: usize,
    clock: SharedClock,
}

impl fmt::Debug for InMemoryReplayStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InMemoryReplayStore")
            .field("capacity", &self.capacity)
            .field("shards", &self.shards.len())
            .finish()
    }
}

impl InMemoryReplayStore {
    /// Default capacity of the verifier's in-memory store.
    pub const DEFAULT_CAPACITY: usize = 100_000;

    /// A store holding at most `capacity` live keys, expiring them by the system clock.
    pub fn new(capacity: usize) -> Self {
        InMemoryReplayStore::with_clock(capacity, Arc::new(SystemClock))
    }

    /// A store expiring keys by `clock` (share the verifier's clock).
    pub fn with_clock(capacity: usize, clock: SharedClock) -> Self {
        let capacity = capacity.max(1);
        // Small stores keep one shard so that "full" means exactly `capacity`.
        let shards = (capacity / 4096).clamp(1, 16);
        InMemoryReplayStore {
            shards: (0..shards).map(|_| Mutex::new(Shard::default())).collect(),
            per_shard: capacity.div_ceil(shards),
            capacity,
            clock,
        }
    }

    /// The configured capacity.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Number of recorded keys (including expired ones not yet purged).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).live.len()).sum()
    }

    /// Whether no key is recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn shard(&self, key: &str) -> &Mutex<Shard> {
        // FNV-1a: keys are already uniformly distributed digests in the verifier's use.
        let h = key.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        let i = (h % self.shards.len() as u64) as usize;
        &self.shards[i]
    }
}

fn lock(m: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl ReplayStore for InMemoryReplayStore {
    fn check_and_insert(&self, key: &str, expires_at_unix: i64) -> Result<bool> {
        // A key is present while `now < expires_at` (exclusive, see the trait).
        let now = self.clock.now_secs();
        let mut shard = lock(self.shard(key));
        if shard.live.get(key).is_some_and(|exp| now < *exp) {
            return Ok(false);
        }
        shard.purge(now);
        if expires_at_unix <= now {
            // Nothing to remember: it may be forgotten already (the verifier never asks
            // this for a token it accepts).
            return Ok(true);
        }
        if shard.live.len() >= self.per_shard && !shard.live.contains_key(key) {
            return Err(Error::new(
                ErrorKind::Internal,
                Step::Verify,
                format!(
                    "the in-memory replay store is full ({} unexpired jti); refusing rather than forgetting one — raise `replay.memory_capacity` or use Redis",
                    self.capacity
                ),
            )
            .with_action(Action::Retry));
        }
        shard.live.insert(key.to_string(), expires_at_unix);
        shard
            .by_expiry
            .push(Reverse((expires_at_unix, key.to_string())));
        Ok(true)
    }
}

impl<T: ReplayStore + ?Sized> ReplayStore for Arc<T> {
    fn check_and_insert(&self, key: &str, expires_at_unix: i64) -> Result<bool> {
        (**self).check_and_insert(key, expires_at_unix)
    }
}

#[cfg(feature = "redis")]
pub use redis_store::RedisReplayStore;

#[cfg(feature = "redis")]
mod redis_store {
    use super::*;
    use crate::secret::SecretString;
    use std::time::Duration;

    /// Most idle connections kept for reuse.
    const MAX_IDLE: usize = 16;

    /// A [`ReplayStore`] in Redis, shared by every replica of an authorization server
    /// (cargo feature `redis`).
    ///
    /// Each check is one `SET <prefix><key> 1 NX PX <ttl>`: atomic insert-if-absent with
    /// expiry. The TTL is the time left until `expires_at_unix` by the store's clock, in
    /// milliseconds, never rounded down (at least one second): Redis forgets the key no
    /// earlier than the verifier stops accepting the ID-JAG. Connection, timeout and protocol errors are [`ErrorKind::Transport`] /
    /// [`ErrorKind::Timeout`] errors (action `retry`): the verification fails closed.
    /// `rediss://` (TLS) URLs are not supported by this build.
    pub struct RedisReplayStore {
        client: redis::Client,
        prefix: String,
        timeout: Duration,
        idle: Mutex<Vec<redis::Connection>>,
        clock: SharedClock,
    }

    impl fmt::Debug for RedisReplayStore {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            let info = self.client.get_connection_info();
            f.debug_struct("RedisReplayStore")
                .field("addr", &info.addr().to_string())
                .field("prefix", &self.prefix)
                .field("timeout", &self.timeout)
                .finish_non_exhaustive()
        }
    }

    impl RedisReplayStore {
        /// Default key prefix.
        pub const DEFAULT_PREFIX: &'static str = "idjag:jti:";

        /// A store at `url` (`redis://[:password@]host:port[/db]`), with the default prefix and
        /// a 2-second timeout. Connects lazily; call [`RedisReplayStore::ping`] to check the
        /// server at startup.
        pub fn new(url: &SecretString) -> Result<Self> {
            RedisReplayStore::with_options(
                url,
                RedisReplayStore::DEFAULT_PREFIX,
                Duration::from_secs(2),
                Arc::new(SystemClock),
            )
        }

        /// A store with an explicit key prefix, timeout (connect, read and write) and clock.
        pub fn with_options(
            url: &SecretString,
            prefix: impl Into<String>,
            timeout: Duration,
            clock: SharedClock,
        ) -> Result<Self> {
            let client = redis::Client::open(url.expose_secret()).map_err(|_| {
                Error::configuration(
                    "verifier configuration key `replay.redis_url`: not a valid redis:// URL",
                )
            })?;
            if timeout.is_zero() {
                return Err(Error::configuration(
                    "verifier configuration key `replay.redis_timeout_ms`: must be positive",
                ));
            }
            Ok(RedisReplayStore {
                client,
                prefix: prefix.into(),
                timeout,
                idle: Mutex::new(Vec::new()),
                clock,
            })
        }

        /// Sends `PING` (startup health check).
        pub fn ping(&self) -> Result<()> {
            self.with_connection(|c| redis::cmd("PING").query::<String>(c).map(|_| ()))
        }

        fn connect(&self) -> redis::RedisResult<redis::Connection> {
            let c = self.client.get_connection_with_timeout(self.timeout)?;
            c.set_read_timeout(Some(self.timeout))?;
            c.set_write_timeout(Some(self.timeout))?;
            Ok(c)
        }

        fn with_connection<T>(
            &self,
            op: impl FnOnce(&mut redis::Connection) -> redis::RedisResult<T>,
        ) -> Result<T> {
            let pooled = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let mut conn = match pooled {
                Some(c) => c,
                None => self.connect().map_err(map_err)?,
            };
            match op(&mut conn) {
                Ok(v) => {
                    let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
                    if idle.len() < MAX_IDLE {
                        idle.push(conn);
                    }
                    Ok(v)
                }
                // The connection may be in an unknown state: drop it.
                Err(e) => Err(map_err(e)),
            }
        }
    }

    fn map_err(e: redis::RedisError) -> Error {
        let kind = if e.is_timeout() {
            ErrorKind::Timeout
        } else {
            ErrorKind::Transport
        };
        // The redis error text never holds the URL or password; keep only its category.
        let what = if e.is_timeout() {
            "timed out"
        } else if e.is_connection_refusal() {
            "connection refused"
        } else if e.is_io_error() || e.is_connection_dropped() {
            "I/O error"
        } else {
            "command failed"
        };
        Error::new(
            kind,
            Step::Verify,
            format!("replay store (Redis) unavailable: {what}"),
        )
        .with_action(Action::Retry)
    }

    impl ReplayStore for RedisReplayStore {
        fn check_and_insert(&self, key: &str, expires_at_unix: i64) -> Result<bool> {
            let now_ms = self.clock.now_millis();
            let ttl_ms = expires_at_unix
                .saturating_mul(1000)
                .saturating_sub(now_ms)
                .max(1000);
            let full_key = format!("{}{}", self.prefix, key);
            let reply: Option<String> = self.with_connection(|c| {
                redis::cmd("SET")
                    .arg(&full_key)
                    .arg("1")
                    .arg("NX")
                    .arg("PX")
                    .arg(ttl_ms)
                    .query(c)
            })?;
            Ok(reply.is_some())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use std::time::Duration;

    #[test]
    fn keys_are_fixed_size_digests() {
        let k = replay_key("https://idp", "abc");
        assert_eq!(k.len(), 64);
        assert!(k.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(k, replay_key("https://idp", "abd"));
        // (iss, jti) boundaries cannot be shifted.
        assert_ne!(replay_key("a", "bc"), replay_key("ab", "c"));
    }

    #[test]
    fn insert_if_absent_with_expiry() {
        let clock = ManualClock::new(1_000);
        let s = InMemoryReplayStore::with_clock(10, Arc::new(clock.clone()));
        assert!(s.check_and_insert("k", 1_100).expect("ok"));
        assert!(!s.check_and_insert("k", 1_100).expect("ok"));
        clock.advance(Duration::from_secs(100));
        assert!(
            s.check_and_insert("k", 1_300).expect("ok"),
            "expired keys are fresh again"
        );
        assert!(!s.check_and_insert("k", 1_300).expect("ok"));
        assert!(s.check_and_insert("past", 900).expect("ok"));
        assert!(
            s.check_and_insert("past", 900).expect("ok"),
            "already-expired keys are not kept"
        );
    }

    #[test]
    fn full_store_fails_closed_then_recovers() {
        let clock = ManualClock::new(1_000);
        let s = InMemoryReplayStore::with_clock(3, Arc::new(clock.clone()));
        for k in ["a", "b", "c"] {
            assert!(s.check_and_insert(k, 1_050).expect("ok"));
        }
        let e = s.check_and_insert("d", 1_050).expect_err("full");
        assert_eq!(e.kind(), ErrorKind::Internal);
        assert_eq!(e.action(), Action::Retry);
        assert!(!s
            .check_and_insert("a", 1_050)
            .expect("still answers for known keys"));
        clock.advance(Duration::from_secs(60));
        assert!(s.check_and_insert("d", 1_200).expect("room after expiry"));
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn concurrent_inserts_accept_once() {
        let s = Arc::new(InMemoryReplayStore::new(100_000));
        let far = i64::MAX / 2;
        let wins: usize = std::thread::scope(|scope| {
            let hs: Vec<_> = (0..8)
                .map(|_| {
                    let s = s.clone();
                    scope.spawn(move || {
                        (0..1000)
                            .filter(|i| s.check_and_insert(&format!("k{i}"), far).unwrap_or(false))
                            .count()
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap_or(0)).sum()
        });
        assert_eq!(wins, 1000);
    }
}
