//! A short-lived cache of what the resolver serves most: a product's current credential.
//!
//! A credential never changes once signed (a status change flips a bit of the status list, not
//! the credential), so the only way an entry goes stale is a new version. A new version made by
//! this process empties the cache at once; one made by another instance (several instances
//! behind a gateway) is served after at most the time to live (`resolver_cache_ms`, 60 s by
//! default; 0 turns the cache off); until then the previous version is served, which still
//! verifies and says it is superseded. Errors and unknown products are never cached.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;

/// The most entries kept (about 3 kB each: some 60 MB); past it the stale ones go, then all if
/// none was stale.
const CAPACITY: usize = 20_000;

/// What the resolver needs to answer a credential without reading the database.
#[derive(Debug, Clone)]
pub struct CachedCredential {
    /// The product's resolver URL (for the `Link` headers).
    pub product: String,
    /// The signed credential, byte for byte as stored.
    pub credential: Bytes,
}

#[derive(Debug)]
struct Entry {
    at: Instant,
    value: CachedCredential,
}

/// Resolver paths to their current credential, each for a limited time.
#[derive(Debug)]
pub struct CredentialCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, Entry>>,
}

impl CredentialCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // An entry is written whole under the lock: a panic elsewhere cannot leave half of one.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The credential cached for a resolver path, unless it is older than the time to live.
    pub fn get(&self, path: &str) -> Option<CachedCredential> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries();
        let entry = entries.get(path)?;
        (entry.at.elapsed() < self.ttl).then(|| entry.value.clone())
    }

    /// Remembers the credential a resolver path answered.
    pub fn put(&self, path: &str, value: CachedCredential) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries();
        if entries.len() >= CAPACITY && !entries.contains_key(path) {
            let ttl = self.ttl;
            entries.retain(|_, e| e.at.elapsed() < ttl);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(
            path.to_owned(),
            Entry {
                at: Instant::now(),
                value,
            },
        );
    }

    /// Forgets everything (a passport got a new version).
    pub fn clear(&self) {
        self.entries().clear();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn value(credential: &str) -> CachedCredential {
        CachedCredential {
            product: "https://reetrace.example/01/04012345000016/21/A1".into(),
            credential: Bytes::copy_from_slice(credential.as_bytes()),
        }
    }

    #[test]
    fn an_entry_is_served_until_its_time_to_live_and_not_after() {
        let cache = CredentialCache::new(Duration::from_millis(50));
        assert!(cache.get("/01/04012345000016/21/A1").is_none());
        cache.put("/01/04012345000016/21/A1", value("{\"v\":1}"));
        assert_eq!(
            &cache.get("/01/04012345000016/21/A1").unwrap().credential[..],
            b"{\"v\":1}"
        );
        assert!(cache.get("/01/04012345000016/21/A2").is_none());
        std::thread::sleep(Duration::from_millis(60));
        assert!(cache.get("/01/04012345000016/21/A1").is_none());
    }

    #[test]
    fn clearing_forgets_everything_and_a_zero_ttl_keeps_nothing() {
        let cache = CredentialCache::new(Duration::from_secs(60));
        cache.put("/p/1", value("a"));
        cache.clear();
        assert!(cache.get("/p/1").is_none());
        let off = CredentialCache::new(Duration::ZERO);
        off.put("/p/1", value("a"));
        assert!(off.get("/p/1").is_none());
    }
}
