//! API keys, the authenticated caller, and per-key rate limiting.
//!
//! A key looks like `rtk_<prefix>_<secret>`: the prefix identifies it (it is what listings show
//! and what `admin key revoke --key-prefix` takes), the secret is 256 random bits. Only the
//! SHA-256 of the whole key is stored; a slow password hash would add nothing for a secret of
//! that entropy and would cost every request.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use base64::Engine;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::StoreError;
use crate::problem::Problem;

/// What an organisation is, and so what its keys may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Registers products and issues their passports.
    Manufacturer,
    /// Collects, sorts, dismantles and recycles products.
    Recycler,
    /// Reads urban-mine aggregates.
    Regulator,
    /// Manages organisations and keys.
    Admin,
    /// Another reetrace service reading feeds.
    Service,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Manufacturer,
        Role::Recycler,
        Role::Regulator,
        Role::Admin,
        Role::Service,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Manufacturer => "manufacturer",
            Role::Recycler => "recycler",
            Role::Regulator => "regulator",
            Role::Admin => "admin",
            Role::Service => "service",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                format!("unknown role {s:?}: expected one of manufacturer, recycler, regulator, admin, service")
            })
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub org_id: Uuid,
    pub org_name: String,
    pub role: Role,
    pub key_id: Uuid,
}

impl Principal {
    /// Refuses the request (403) unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), Problem> {
        if roles.contains(&self.role) {
            return Ok(());
        }
        let wanted: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        Err(Problem::forbidden(format!(
            "This operation needs the role {}; the caller's organisation is a {}.",
            wanted.join(" or "),
            self.role
        ))
        .with("required_roles", wanted))
    }
}

const KEY_TAG: &str = "rtk";
const PREFIX_LEN: usize = 10;
const PREFIX_ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyz23456789";

/// A freshly made API key: shown once, then only its hash is kept.
#[derive(Clone)]
pub struct NewApiKey {
    pub prefix: String,
    pub secret: String,
    pub hash: [u8; 32],
}

impl std::fmt::Debug for NewApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewApiKey")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl NewApiKey {
    pub fn generate() -> Self {
        let mut rng = rand::rng();
        let prefix: String = (0..PREFIX_LEN)
            .map(|_| PREFIX_ALPHABET[rng.random_range(0..PREFIX_ALPHABET.len())] as char)
            .collect();
        let mut secret_bytes = [0u8; 32];
        rng.fill_bytes(&mut secret_bytes);
        let secret = format!(
            "{KEY_TAG}_{prefix}_{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret_bytes)
        );
        let hash = hash_key(&secret);
        Self {
            prefix,
            secret,
            hash,
        }
    }
}

/// SHA-256 of a presented key.
pub fn hash_key(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// The prefix of a well-formed key, or `None`.
pub fn key_prefix(key: &str) -> Option<&str> {
    let rest = key.strip_prefix(KEY_TAG)?.strip_prefix('_')?;
    let (prefix, secret) = rest.split_once('_')?;
    (prefix.len() == PREFIX_LEN && !secret.is_empty()).then_some(prefix)
}

/// What the key store knows about a key.
#[derive(Debug, Clone)]
pub struct KeyRecord {
    pub key_id: Uuid,
    pub org_id: Uuid,
    pub org_name: String,
    pub role: Role,
    pub hash: [u8; 32],
    pub revoked: bool,
}

/// Looks keys up by prefix (implemented by the accounts store).
#[async_trait]
pub trait KeyLookup: Send + Sync {
    async fn key_by_prefix(&self, prefix: &str) -> Result<Option<KeyRecord>, StoreError>;
}

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

    /// Forgets a cached key (after revoking it here).
    pub fn forget(&self, prefix: &str) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.remove(prefix);
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

    #[test]
    fn require_names_the_roles() {
        let p = Principal {
            org_id: Uuid::nil(),
            org_name: "R".into(),
            role: Role::Recycler,
            key_id: Uuid::nil(),
        };
        assert!(p.require(&[Role::Recycler]).is_ok());
        let err = p.require(&[Role::Manufacturer, Role::Admin]).unwrap_err();
        assert_eq!(err.status, 403);
        assert!(err.detail.unwrap().contains("manufacturer or admin"));
    }
}
