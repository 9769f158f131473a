//! The metadata cache of a [`Client`](crate::Client): protected-resource and authorization-server
//! metadata documents keyed by URL, with a TTL that honours `Cache-Control: max-age` (RFC 9728
//! §7.10) and a capacity bound. Every lock is held for a map operation only: no I/O, no
//! callback, and evicted documents are dropped after the lock is released.

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

struct Entry {
    value: Arc<dyn Any + Send + Sync>,
    expires_at_ms: i64,
    inserted: u64,
}

/// A bounded TTL cache of metadata documents.
pub(crate) struct MetadataCache {
    map: Mutex<HashMap<String, Entry>>,
    capacity: usize,
    default_ttl: Duration,
    counter: std::sync::atomic::AtomicU64,
}

impl fmt::Debug for MetadataCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetadataCache")
            .field("capacity", &self.capacity)
            .finish()
    }
}

/// Upper bound on any cache lifetime, whatever `max-age` says.
const MAX_TTL: Duration = Duration::from_secs(24 * 3600);

impl MetadataCache {
    pub(crate) fn new(capacity: usize, default_ttl: Duration) -> Self {
        MetadataCache {
            map: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
            default_ttl,
            counter: std::sync::atomic::AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn get<T: Any + Send + Sync>(&self, key: &str, now_ms: i64) -> Option<Arc<T>> {
        let map = self.lock();
        let e = map.get(key)?;
        if e.expires_at_ms <= now_ms {
            return None;
        }
        e.value.clone().downcast::<T>().ok()
    }

    pub(crate) fn put<T: Any + Send + Sync>(
        &self,
        key: String,
        value: Arc<T>,
        max_age: Option<u64>,
        now_ms: i64,
    ) {
        let ttl = max_age
            .map(Duration::from_secs)
            .unwrap_or(self.default_ttl)
            .min(MAX_TTL);
        if ttl.is_zero() {
            return;
        }
        let inserted = self
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let entry = Entry {
            value,
            expires_at_ms: now_ms.saturating_add(ttl.as_millis() as i64),
            inserted,
        };
        // Whatever leaves the map is dropped after the lock is released.
        let mut evicted: Vec<Entry> = Vec::new();
        {
            let mut map = self.lock();
            let expired: Vec<String> = map
                .iter()
                .filter(|(_, e)| e.expires_at_ms <= now_ms)
                .map(|(k, _)| k.clone())
                .collect();
            evicted.extend(expired.iter().filter_map(|k| map.remove(k)));
            if map.len() >= self.capacity && !map.contains_key(&key) {
                if let Some(oldest) = map
                    .iter()
                    .min_by_key(|(_, e)| e.inserted)
                    .map(|(k, _)| k.clone())
                {
                    evicted.extend(map.remove(&oldest));
                }
            }
            evicted.extend(map.insert(key, entry));
        }
        drop(evicted);
    }

    pub(crate) fn remove(&self, key: &str) {
        let removed = self.lock().remove(key);
        drop(removed);
    }

    pub(crate) fn clear(&self) {
        let all = std::mem::take(&mut *self.lock());
        drop(all);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_honours_ttl_and_capacity() {
        let c = MetadataCache::new(2, Duration::from_secs(10));
        c.put("a".into(), Arc::new(1u32), None, 0);
        assert_eq!(c.get::<u32>("a", 9_999).as_deref(), Some(&1));
        assert!(c.get::<u32>("a", 10_000).is_none());
        c.put("b".into(), Arc::new(2u32), Some(0), 0);
        assert!(c.get::<u32>("b", 1).is_none(), "max-age=0 is not cached");
        c.put("x".into(), Arc::new(1u32), Some(100), 0);
        c.put("y".into(), Arc::new(2u32), Some(100), 0);
        c.put("z".into(), Arc::new(3u32), Some(100), 0);
        assert!(c.get::<u32>("x", 1).is_none(), "oldest evicted");
        assert!(c.get::<u32>("z", 1).is_some());
    }
}
