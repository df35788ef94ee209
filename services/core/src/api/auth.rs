//! Authentication at the API: bearer keys checked against the accounts store (with a short
//! cache), per-key rate limiting, and the `Auth`/`MaybeAuth` extractors.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{FromRef, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::problem::Problem;
use crate::domain::{KeyRecord, Principal, hash_key, key_prefix};
use crate::service::accounts::KeyCache;
use crate::store::accounts::KeyLookup;

/// Rate limit for each API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimit {
    /// Sustained requests per second per key; 0 disables limiting.
    pub per_second: u32,
    /// Requests allowed in a burst.
    pub burst: u32,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self {
            per_second: 200,
            burst: 400,
        }
    }
}

/// How long a looked-up key is trusted before it is looked up again. A key revoked on another
/// instance stops working within this time; one revoked here stops at once.
const CACHE_TTL: Duration = Duration::from_secs(10);

/// Checks bearer keys (with a short cache) and applies the per-key rate limit.
pub struct Authenticator {
    lookup: Arc<dyn KeyLookup>,
    cache: Mutex<HashMap<String, (KeyRecord, Instant)>>,
    limiter: Option<DefaultKeyedRateLimiter<Uuid>>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator").finish_non_exhaustive()
    }
}

impl Authenticator {
    pub fn new(lookup: Arc<dyn KeyLookup>, rate_limit: RateLimit) -> Self {
        let limiter = NonZeroU32::new(rate_limit.per_second).map(|per_second| {
            let burst =
                NonZeroU32::new(rate_limit.burst.max(rate_limit.per_second)).unwrap_or(per_second);
            RateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst))
        });
        Self {
            lookup,
            cache: Mutex::new(HashMap::new()),
            limiter,
        }
    }

    /// Authenticates a presented key.
    pub async fn authenticate(&self, key: &str) -> Result<Principal, Problem> {
        let invalid = || Problem::unauthorized("The API key is not valid.");
        let prefix = key_prefix(key).ok_or_else(invalid)?;
        let record = match self.cached(prefix) {
            Some(record) => record,
            None => {
                let record = self
                    .lookup
                    .key_by_prefix(prefix)
                    .await
                    .map_err(Problem::from)?
                    .ok_or_else(invalid)?;
                if let Ok(mut cache) = self.cache.lock() {
                    if cache.len() > 100_000 {
                        cache.clear();
                    }
                    cache.insert(prefix.to_owned(), (record.clone(), Instant::now()));
                }
                record
            }
        };
        if !constant_time_eq(&record.hash, &hash_key(key)) {
            return Err(invalid());
        }
        if record.revoked {
            return Err(Problem::unauthorized("The API key has been revoked."));
        }
        self.check_rate(record.key_id)?;
        Ok(Principal {
            org_id: record.org_id,
            org_name: record.org_name,
            role: record.role,
            key_id: record.key_id,
        })
    }

    fn cached(&self, prefix: &str) -> Option<KeyRecord> {
        let cache = self.cache.lock().ok()?;
        let (record, at) = cache.get(prefix)?;
        (at.elapsed() < CACHE_TTL).then(|| record.clone())
    }

    fn check_rate(&self, key_id: Uuid) -> Result<(), Problem> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        limiter.check_key(&key_id).map_err(|not_until| {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ));
            Problem::too_many_requests(wait.as_secs().max(1))
        })
    }
}

impl KeyCache for Authenticator {
    /// Forgets a cached key (after revoking it here).
    fn forget(&self, prefix: &str) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.remove(prefix);
        }
    }
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The bearer token of a request, if any; a malformed Authorization header is an error.
fn bearer(parts: &Parts) -> Result<Option<&str>, Problem> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| Problem::unauthorized("The Authorization header is not valid text."))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim()))
        }
        _ => Err(Problem::unauthorized(
            "The Authorization header must be `Bearer <API key>`.",
        )),
    }
}

/// Extractor: the request must carry a valid API key.
#[derive(Debug, Clone)]
pub struct Auth(pub Principal);

impl<S> FromRequestParts<S> for Auth
where
    S: Send + Sync,
    Arc<Authenticator>: FromRef<S>,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(principal) = parts.extensions.get::<Principal>() {
            return Ok(Auth(principal.clone()));
        }
        let token = bearer(parts)?.ok_or_else(|| {
            Problem::unauthorized(
                "This operation needs an API key: send `Authorization: Bearer <key>`.",
            )
        })?;
        let principal = Arc::<Authenticator>::from_ref(state)
            .authenticate(token)
            .await?;
        parts.extensions.insert(principal.clone());
        Ok(Auth(principal))
    }
}

/// Extractor: an API key is optional (public routes that show more to known callers); a key
/// that is present but invalid is still refused rather than silently ignored.
#[derive(Debug, Clone)]
pub struct MaybeAuth(pub Option<Principal>);

impl<S> FromRequestParts<S> for MaybeAuth
where
    S: Send + Sync,
    Arc<Authenticator>: FromRef<S>,
{
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if bearer(parts)?.is_none() {
            return Ok(MaybeAuth(None));
        }
        Auth::from_request_parts(parts, state)
            .await
            .map(|Auth(p)| MaybeAuth(Some(p)))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::db::StoreError;
    use crate::domain::{NewApiKey, Role};
    use async_trait::async_trait;

    struct OneKey(KeyRecord);

    #[async_trait]
    impl KeyLookup for OneKey {
        async fn key_by_prefix(&self, _prefix: &str) -> Result<Option<KeyRecord>, StoreError> {
            Ok(Some(self.0.clone()))
        }
    }

    fn record(key: &NewApiKey, revoked: bool) -> KeyRecord {
        KeyRecord {
            key_id: Uuid::now_v7(),
            org_id: Uuid::now_v7(),
            org_name: "Acme".into(),
            role: Role::Manufacturer,
            hash: key.hash,
            revoked,
        }
    }

    #[test]
    fn generated_keys_parse_and_hash() {
        let key = NewApiKey::generate();
        assert_eq!(key_prefix(&key.secret), Some(key.prefix.as_str()));
        assert_eq!(hash_key(&key.secret), key.hash);
        assert!(key_prefix("rtk_short_x").is_none());
        assert!(key_prefix("Bearer abc").is_none());
        assert!(!format!("{key:?}").contains(&key.secret));
    }

    #[tokio::test]
    async fn wrong_secret_and_revoked_keys_are_refused() {
        let key = NewApiKey::generate();
        let auth = Authenticator::new(Arc::new(OneKey(record(&key, false))), RateLimit::default());
        assert_eq!(
            auth.authenticate(&key.secret).await.unwrap().org_name,
            "Acme"
        );
        let forged = format!("rtk_{}_AAAA", key.prefix);
        assert_eq!(auth.authenticate(&forged).await.unwrap_err().status, 401);

        let revoked =
            Authenticator::new(Arc::new(OneKey(record(&key, true))), RateLimit::default());
        let err = revoked.authenticate(&key.secret).await.unwrap_err();
        assert!(err.detail.unwrap().contains("revoked"));
    }

    #[tokio::test]
    async fn rate_limit_answers_429() {
        let key = NewApiKey::generate();
        let limit = RateLimit {
            per_second: 1,
            burst: 2,
        };
        let auth = Authenticator::new(Arc::new(OneKey(record(&key, false))), limit);
        auth.authenticate(&key.secret).await.unwrap();
        auth.authenticate(&key.secret).await.unwrap();
        let err = auth.authenticate(&key.secret).await.unwrap_err();
        assert_eq!(err.status, 429);
    }
}
