//! Authentication at the API: bearer keys checked against the accounts store (with a short
//! cache that a revocation anywhere empties within a second), rate limits per organisation and
//! per client address (the client named by `X-Forwarded-For` only behind a trusted proxy), and
//! the `Auth`/`MaybeAuth` extractors.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::problem::Problem;
use crate::domain::{KeyRecord, Principal, hash_key, key_prefix};
use crate::service::accounts::KeyCache;
use crate::store::accounts::KeyLookup;

/// A rate limit: sustained requests per second and a burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimit {
    /// Sustained requests per second; 0 disables this limit.
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

impl RateLimit {
    fn limiter<K: std::hash::Hash + Eq + Clone>(self) -> Option<DefaultKeyedRateLimiter<K>> {
        NonZeroU32::new(self.per_second).map(|per_second| {
            let burst = NonZeroU32::new(self.burst.max(self.per_second)).unwrap_or(per_second);
            RateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst))
        })
    }
}

/// Every rate limit of the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimits {
    /// Per organisation: all its keys together (so minting more keys buys nothing).
    pub organisation: RateLimit,
    /// Per client address, for requests without an API key (resolver, verification, pages).
    pub address: RateLimit,
    /// Per client address, for requests whose API key is refused (guessing keys).
    pub failed_auth: RateLimit,
    /// Proxies whose `X-Forwarded-For` names the client (addresses or CIDR blocks); from any
    /// other peer the header is ignored.
    pub trusted_proxies: Vec<String>,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            organisation: RateLimit::default(),
            address: RateLimit {
                per_second: 500,
                burst: 1000,
            },
            failed_auth: RateLimit {
                per_second: 5,
                burst: 20,
            },
            trusted_proxies: Vec::new(),
        }
    }
}

/// An address or CIDR block of trusted proxies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyBlock {
    network: IpAddr,
    prefix: u8,
}

impl std::str::FromStr for ProxyBlock {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = address
            .trim()
            .parse()
            .map_err(|_| format!("{text:?} is not an IP address or CIDR block"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{text:?}: the prefix length must be 0 to {max}"))?,
            None => max,
        };
        Ok(ProxyBlock { network, prefix })
    }
}

impl ProxyBlock {
    pub fn contains(&self, address: IpAddr) -> bool {
        fn masked(bits: u128, prefix: u8, width: u8) -> u128 {
            if prefix == 0 {
                0
            } else {
                bits >> (width - prefix)
            }
        }
        match (self.network, address) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                masked(u32::from(n).into(), self.prefix, 32)
                    == masked(u32::from(a).into(), self.prefix, 32)
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                masked(u128::from(n), self.prefix, 128) == masked(u128::from(a), self.prefix, 128)
            }
            (IpAddr::V4(_), IpAddr::V6(a)) => a
                .to_ipv4_mapped()
                .is_some_and(|a| self.contains(IpAddr::V4(a))),
            (IpAddr::V6(_), IpAddr::V4(_)) => false,
        }
    }
}

/// How long a looked-up key is trusted before it is looked up again; a revocation anywhere
/// empties every instance's cache within [`EPOCH_CHECK`] (see the revocation epoch).
const CACHE_TTL: Duration = Duration::from_secs(10);

/// How often an instance reads the revocation epoch (one small read per second).
const EPOCH_CHECK: Duration = Duration::from_secs(1);

/// Sheds the limiters' state for keys not seen lately every this many checks.
const SHED_EVERY: u64 = 65_536;

/// Checks bearer keys (with a short cache), applies the rate limits, and names the client.
pub struct Authenticator {
    lookup: Arc<dyn KeyLookup>,
    cache: Mutex<HashMap<String, (KeyRecord, Instant)>>,
    /// When the revocation epoch was last read, and its value.
    epoch: tokio::sync::Mutex<(Option<Instant>, i64)>,
    organisations: Option<DefaultKeyedRateLimiter<Uuid>>,
    addresses: Option<DefaultKeyedRateLimiter<IpAddr>>,
    failures: Option<DefaultKeyedRateLimiter<IpAddr>>,
    proxies: Vec<ProxyBlock>,
    checks: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator").finish_non_exhaustive()
    }
}

/// Paths no address limit applies to: health checks and metrics scrapes.
fn is_operational(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics")
}

impl Authenticator {
    /// An authenticator; a trusted proxy that does not parse is an error naming it.
    pub fn new(lookup: Arc<dyn KeyLookup>, limits: &RateLimits) -> Result<Self, String> {
        let proxies = limits
            .trusted_proxies
            .iter()
            .map(|p| p.parse())
            .collect::<Result<Vec<ProxyBlock>, String>>()?;
        Ok(Self {
            lookup,
            cache: Mutex::new(HashMap::new()),
            epoch: tokio::sync::Mutex::new((None, 0)),
            organisations: limits.organisation.limiter(),
            addresses: limits.address.limiter(),
            failures: limits.failed_auth.limiter(),
            proxies,
            checks: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// The client of a request: its peer, or, when the peer is a trusted proxy, the nearest
    /// address in `X-Forwarded-For` that is not itself a trusted proxy.
    pub fn client_of(&self, parts: &Parts) -> Option<IpAddr> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip())?;
        if !self.proxies.iter().any(|p| p.contains(peer)) {
            return Some(peer);
        }
        let forwarded: Vec<IpAddr> = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|a| a.trim().parse().ok())
            .collect();
        Some(
            forwarded
                .into_iter()
                .rev()
                .find(|a| !self.proxies.iter().any(|p| p.contains(*a)))
                .unwrap_or(peer),
        )
    }

    /// Authenticates a presented key from `client`.
    pub async fn authenticate(
        &self,
        key: &str,
        client: Option<IpAddr>,
    ) -> Result<Principal, Problem> {
        self.follow_revocations().await;
        let refuse = |detail: &str| -> Problem {
            match self.check(&self.failures, client) {
                Err(limited) => limited,
                Ok(()) => Problem::unauthorized(detail.to_owned()),
            }
        };
        let Some(prefix) = key_prefix(key) else {
            return Err(refuse("The API key is not valid."));
        };
        let record = match self.cached(prefix) {
            Some(record) => record,
            None => {
                let Some(record) = self
                    .lookup
                    .key_by_prefix(prefix)
                    .await
                    .map_err(Problem::from)?
                else {
                    return Err(refuse("The API key is not valid."));
                };
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
            return Err(refuse("The API key is not valid."));
        }
        if record.revoked {
            return Err(refuse("The API key has been revoked."));
        }
        self.check(&self.organisations, Some(record.org_id))?;
        Ok(Principal {
            org_id: record.org_id,
            org_name: record.org_name,
            role: record.role,
            key_id: record.key_id,
        })
    }

    /// The address limit of a request without an API key.
    pub fn check_anonymous(&self, path: &str, client: Option<IpAddr>) -> Result<(), Problem> {
        if is_operational(path) {
            return Ok(());
        }
        self.check(&self.addresses, client)
    }

    /// Empties the key cache when a key was revoked anywhere since the last look.
    async fn follow_revocations(&self) {
        let mut epoch = self.epoch.lock().await;
        if epoch.0.is_some_and(|at| at.elapsed() < EPOCH_CHECK) {
            return;
        }
        match self.lookup.revocation_epoch().await {
            Ok(now) => {
                if epoch.0.is_some()
                    && now != epoch.1
                    && let Ok(mut cache) = self.cache.lock()
                {
                    cache.clear();
                }
                *epoch = (Some(Instant::now()), now);
            }
            Err(err) => {
                // Keep serving from the cache (its lifetime still bounds staleness).
                tracing::warn!(error = %err, "could not read the key revocation epoch");
                epoch.0 = Some(Instant::now());
            }
        }
    }

    fn cached(&self, prefix: &str) -> Option<KeyRecord> {
        let cache = self.cache.lock().ok()?;
        let (record, at) = cache.get(prefix)?;
        (at.elapsed() < CACHE_TTL).then(|| record.clone())
    }

    fn check<K>(
        &self,
        limiter: &Option<DefaultKeyedRateLimiter<K>>,
        key: Option<K>,
    ) -> Result<(), Problem>
    where
        K: std::hash::Hash + Eq + Clone,
    {
        let (Some(limiter), Some(key)) = (limiter, key) else {
            return Ok(());
        };
        let checks = self
            .checks
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if checks % SHED_EVERY == SHED_EVERY - 1 {
            limiter.retain_recent();
        }
        limiter.check_key(&key).map_err(|not_until| {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ));
            Problem::too_many_requests(wait.as_secs().max(1))
        })
    }
}

/// Middleware: requests without an API key are limited per client address.
pub async fn limit_anonymous(
    axum::extract::State(auth): axum::extract::State<Arc<Authenticator>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if !request.headers().contains_key(header::AUTHORIZATION) {
        let (parts, body) = request.into_parts();
        if let Err(limited) = auth.check_anonymous(parts.uri.path(), auth.client_of(&parts)) {
            return limited.into_response();
        }
        return next
            .run(axum::extract::Request::from_parts(parts, body))
            .await;
    }
    next.run(request).await
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

/// A key that authentication refused, kept in a request's extensions by [`Authenticator::resolve`]
/// so that the route's extractor answers the same refusal without checking the key again.
#[derive(Debug, Clone)]
struct Refused(Problem);

impl Authenticator {
    /// Authenticates the request's API key once, for the middleware that needs the caller before
    /// the route runs: the principal (or the refusal) is kept in the request's extensions, where
    /// [`Auth`] finds it, so a request is checked and rate-limited once. `None` without a key,
    /// with a malformed Authorization header (the route's extractor answers that) or with a
    /// refused key.
    pub async fn resolve(&self, parts: &mut Parts) -> Option<Principal> {
        if let Some(principal) = parts.extensions.get::<Principal>() {
            return Some(principal.clone());
        }
        let token = bearer(parts).ok()??;
        match self.authenticate(token, self.client_of(parts)).await {
            Ok(principal) => {
                parts.extensions.insert(principal.clone());
                Some(principal)
            }
            Err(refused) => {
                parts.extensions.insert(Refused(refused));
                None
            }
        }
    }
}

/// The prefix of the well-formed API key a request carries, if any.
pub fn presented_key_prefix(parts: &Parts) -> Option<&str> {
    bearer(parts).ok().flatten().and_then(key_prefix)
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
        if let Some(Refused(refused)) = parts.extensions.get::<Refused>() {
            return Err(refused.clone());
        }
        let token = bearer(parts)?.ok_or_else(|| {
            Problem::unauthorized(
                "This operation needs an API key: send `Authorization: Bearer <key>`.",
            )
        })?;
        let auth = Arc::<Authenticator>::from_ref(state);
        let client = auth.client_of(parts);
        let principal = auth.authenticate(token, client).await?;
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
    use std::sync::atomic::{AtomicI64, Ordering};

    use async_trait::async_trait;

    use super::*;
    use crate::db::StoreError;
    use crate::domain::{NewApiKey, Role};

    struct OneKey {
        record: Mutex<KeyRecord>,
        epoch: AtomicI64,
    }

    impl OneKey {
        fn new(record: KeyRecord) -> Arc<Self> {
            Arc::new(Self {
                record: Mutex::new(record),
                epoch: AtomicI64::new(0),
            })
        }
    }

    #[async_trait]
    impl KeyLookup for OneKey {
        async fn key_by_prefix(&self, _prefix: &str) -> Result<Option<KeyRecord>, StoreError> {
            Ok(Some(self.record.lock().unwrap().clone()))
        }

        async fn revocation_epoch(&self) -> Result<i64, StoreError> {
            Ok(self.epoch.load(Ordering::SeqCst))
        }
    }

    fn record(key: &NewApiKey, org: Uuid, revoked: bool) -> KeyRecord {
        KeyRecord {
            key_id: Uuid::now_v7(),
            org_id: org,
            org_name: "Acme".into(),
            role: Role::Manufacturer,
            hash: key.hash,
            revoked,
        }
    }

    fn limits(organisation: RateLimit, failed_auth: RateLimit) -> RateLimits {
        RateLimits {
            organisation,
            failed_auth,
            ..RateLimits::default()
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
        let org = Uuid::now_v7();
        let auth = Authenticator::new(
            OneKey::new(record(&key, org, false)),
            &RateLimits::default(),
        )
        .unwrap();
        assert_eq!(
            auth.authenticate(&key.secret, None).await.unwrap().org_name,
            "Acme"
        );
        let forged = format!("rtk_{}_AAAA", key.prefix);
        assert_eq!(
            auth.authenticate(&forged, None).await.unwrap_err().status,
            401
        );

        let revoked =
            Authenticator::new(OneKey::new(record(&key, org, true)), &RateLimits::default())
                .unwrap();
        let err = revoked.authenticate(&key.secret, None).await.unwrap_err();
        assert!(err.detail.unwrap().contains("revoked"));
    }

    #[tokio::test]
    async fn the_rate_limit_is_per_organisation_and_answers_429() {
        let org = Uuid::now_v7();
        let (one, two) = (NewApiKey::generate(), NewApiKey::generate());
        let limit = RateLimit {
            per_second: 1,
            burst: 2,
        };
        // Two keys of one organisation share its limit.
        let lookup = OneKey::new(record(&one, org, false));
        let auth =
            Authenticator::new(lookup.clone(), &limits(limit, RateLimit::default())).unwrap();
        auth.authenticate(&one.secret, None).await.unwrap();
        *lookup.record.lock().unwrap() = record(&two, org, false);
        auth.cache.lock().unwrap().clear();
        auth.authenticate(&two.secret, None).await.unwrap();
        let err = auth.authenticate(&two.secret, None).await.unwrap_err();
        assert_eq!(err.status, 429);
        assert!(err.extensions.contains_key("retry_after"));
    }

    #[tokio::test]
    async fn failed_authentication_is_limited_per_address() {
        let key = NewApiKey::generate();
        let auth = Authenticator::new(
            OneKey::new(record(&key, Uuid::now_v7(), false)),
            &limits(
                RateLimit::default(),
                RateLimit {
                    per_second: 1,
                    burst: 3,
                },
            ),
        )
        .unwrap();
        let guesser: IpAddr = "192.0.2.7".parse().unwrap();
        let forged = format!("rtk_{}_AAAA", key.prefix);
        for _ in 0..3 {
            let err = auth.authenticate(&forged, Some(guesser)).await.unwrap_err();
            assert_eq!(err.status, 401);
        }
        let err = auth.authenticate(&forged, Some(guesser)).await.unwrap_err();
        assert_eq!(err.status, 429);
        // Another address is not affected; a good key from the guesser's address still works.
        let other: IpAddr = "192.0.2.8".parse().unwrap();
        assert_eq!(
            auth.authenticate(&forged, Some(other))
                .await
                .unwrap_err()
                .status,
            401
        );
        assert!(auth.authenticate(&key.secret, Some(guesser)).await.is_ok());
    }

    #[tokio::test]
    async fn a_revocation_elsewhere_empties_the_cache_within_a_second() {
        let key = NewApiKey::generate();
        let lookup = OneKey::new(record(&key, Uuid::now_v7(), false));
        let auth = Authenticator::new(lookup.clone(), &RateLimits::default()).unwrap();
        auth.authenticate(&key.secret, None).await.unwrap();
        // Another instance revokes the key: the store says so and moves the epoch.
        lookup.record.lock().unwrap().revoked = true;
        lookup.epoch.store(1, Ordering::SeqCst);
        tokio::time::sleep(EPOCH_CHECK + Duration::from_millis(50)).await;
        let err = auth.authenticate(&key.secret, None).await.unwrap_err();
        assert_eq!(err.status, 401);
    }

    #[test]
    fn trusted_proxies_parse_and_match() {
        let block: ProxyBlock = "10.0.0.0/8".parse().unwrap();
        assert!(block.contains("10.1.2.3".parse().unwrap()));
        assert!(!block.contains("11.1.2.3".parse().unwrap()));
        assert!(block.contains("::ffff:10.0.0.1".parse().unwrap()));
        let one: ProxyBlock = "127.0.0.1".parse().unwrap();
        assert!(one.contains("127.0.0.1".parse().unwrap()));
        assert!(!one.contains("127.0.0.2".parse().unwrap()));
        let v6: ProxyBlock = "fd00::/8".parse().unwrap();
        assert!(v6.contains("fd12::1".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<ProxyBlock>().is_err());
        assert!("proxy".parse::<ProxyBlock>().is_err());
    }

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy() {
        let key = NewApiKey::generate();
        let auth = Authenticator::new(
            OneKey::new(record(&key, Uuid::now_v7(), false)),
            &RateLimits {
                trusted_proxies: vec!["127.0.0.1".into()],
                ..RateLimits::default()
            },
        )
        .unwrap();
        let parts = |peer: &str, forwarded: &str| {
            let mut request = axum::http::Request::builder()
                .header("x-forwarded-for", forwarded)
                .body(())
                .unwrap();
            request
                .extensions_mut()
                .insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
            request.into_parts().0
        };
        // Behind the gateway: the client it names.
        assert_eq!(
            auth.client_of(&parts("127.0.0.1:5000", "198.51.100.1, 198.51.100.9")),
            Some("198.51.100.9".parse().unwrap())
        );
        // A client that sets the header itself is not believed.
        assert_eq!(
            auth.client_of(&parts("203.0.113.5:5000", "198.51.100.1")),
            Some("203.0.113.5".parse().unwrap())
        );
    }
}
