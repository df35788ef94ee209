//! What the verifier resolved lately: DID keys and verified status lists, kept a few seconds so
//! that a busy verifier does not look them up (nor check a list's signature) on every request.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{DidKeys, VerifiedList};

/// How long an answer is reused. A revocation done through this instance shows at once (see
/// [`VerifyCache::forget_status_lists`]); one done elsewhere, or a key rotation, within this.
pub const DEFAULT_TTL: Duration = Duration::from_secs(5);
/// A cached DID document missing a key is looked up again, but not more often than this.
const REFRESH_AFTER: Duration = Duration::from_secs(1);
/// Entries per map; past it, expired entries go, and if none had, everything does (a flood of
/// distinct issuers must not grow memory without bound).
const MAX_ENTRIES: usize = 4096;

type Answer<T> = Result<Arc<T>, String>;

struct Entry<T> {
    answer: Answer<T>,
    at: Instant,
}

/// The verifier's short-lived memory.
pub struct VerifyCache {
    ttl: Duration,
    dids: Mutex<HashMap<String, Entry<DidKeys>>>,
    lists: Mutex<HashMap<String, Entry<VerifiedList>>>,
    /// Bumped when status lists change here, so that a lookup started before the change does
    /// not store its stale answer after it.
    generation: AtomicU64,
}

impl std::fmt::Debug for VerifyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyCache")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl Default for VerifyCache {
    fn default() -> Self {
        Self::new(DEFAULT_TTL)
    }
}

impl VerifyCache {
    /// A cache keeping answers for `ttl` (zero: keep nothing).
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            dids: Mutex::new(HashMap::new()),
            lists: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
        }
    }

    pub(super) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The cached keys of `did`; with `refresh`, only an answer younger than a second.
    pub(super) fn did(&self, did: &str, refresh: bool) -> Option<Answer<DidKeys>> {
        let max_age = if refresh {
            REFRESH_AFTER.min(self.ttl)
        } else {
            self.ttl
        };
        let dids = self.dids.lock().ok()?;
        let entry = dids.get(did)?;
        (entry.at.elapsed() < max_age).then(|| entry.answer.clone())
    }

    pub(super) fn keep_did(&self, did: &str, answer: Answer<DidKeys>, generation: u64) {
        self.keep(&self.dids, did, answer, generation);
    }

    pub(super) fn list(&self, url: &str) -> Option<Answer<VerifiedList>> {
        let lists = self.lists.lock().ok()?;
        let entry = lists.get(url)?;
        (entry.at.elapsed() < self.ttl).then(|| entry.answer.clone())
    }

    pub(super) fn keep_list(&self, url: &str, answer: Answer<VerifiedList>, generation: u64) {
        self.keep(&self.lists, url, answer, generation);
    }

    /// Drops every cached status list: a status bit changed here.
    pub fn forget_status_lists(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        if let Ok(mut lists) = self.lists.lock() {
            lists.clear();
        }
    }

    fn keep<T>(
        &self,
        map: &Mutex<HashMap<String, Entry<T>>>,
        key: &str,
        answer: Answer<T>,
        generation: u64,
    ) {
        if self.ttl.is_zero() {
            return;
        }
        let Ok(mut map) = map.lock() else { return };
        if self.generation() != generation {
            return;
        }
        if map.len() >= MAX_ENTRIES && !map.contains_key(key) {
            let ttl = self.ttl;
            map.retain(|_, e| e.at.elapsed() < ttl);
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
        }
        map.insert(
            key.to_owned(),
            Entry {
                answer,
                at: Instant::now(),
            },
        );
    }
}
