//! The passport service's use cases: issue (one or many), new versions, status changes, reads
//! in the caller's tier, the resolver's lookups, status list and generic credentials, and
//! verification. The HTTP edge calls these; these call the domain and the stores.
//!
//! - [`issue`]: one registration, a new version, a status change;
//! - [`bulk`]: many registrations at once, line by line or all or nothing;
//! - [`signing`]: status indexes and credentials signed in parallel;
//! - [`claims`]: recycled content claimed from the custody service's lots;
//! - [`read`]: passports, versions, lists and the resolver's lookups;
//! - [`signing_keys`]: the organisations' keys; [`status_lists`], [`vc_api`],
//!   [`verification`]: what issuers and verifiers need;
//! - [`credential_cache`]: the resolver's credentials kept in memory.

pub mod bulk;
pub mod claims;
pub mod credential_cache;
pub mod error;
pub mod issue;
pub mod read;
pub mod signing;
pub mod signing_keys;
pub mod status_lists;
pub mod vc_api;
pub mod verification;

use std::sync::{Arc, OnceLock};

use reetrace_core::domain::account::Org;
use reetrace_core::domain::idempotency::{IdempotencyKey, StoredResponse};
use reetrace_core::domain::{Denied, Principal, Role};
use reetrace_core::service::recycled_content::RecycledClaims;
use reetrace_core::store::accounts::AccountStore;
use uuid::Uuid;

use crate::domain::did;
use crate::domain::passport::{Passport, product_uri};
use crate::domain::registration::Registration;
use crate::store::{IdempotentWrite, PassportStores};
use credential_cache::CredentialCache;
pub use error::PassportError;
use error::Result;
use signing_keys::SigningKeys;
use verification::VerifyContext;

/// Settings of the passport service.
#[derive(Debug, Clone)]
pub struct PassportConfig {
    /// The public base URL, without a trailing slash.
    pub base_url: String,
    /// Base URLs the instance was moved away from (`reetrace admin instance move`): what was
    /// issued under them is still ours, so their DIDs and status lists are answered from the
    /// store, never fetched over HTTP, and their hosts get their DID documents.
    pub aliases: Vec<String>,
    /// did:web hosts (besides our own) whose DID documents the verifier may fetch.
    pub did_web_allowlist: Vec<String>,
    /// How long the resolver may serve a product's credential from memory (zero: never).
    pub resolver_cache: std::time::Duration,
}

/// How an idempotent request's answer is kept for replay: made from what the use case
/// produced, stored in the transaction of the write.
pub type Keep<T> = Box<dyn FnOnce(&T) -> StoredResponse + Send>;

/// The passport service.
#[derive(Clone)]
pub struct PassportService {
    pub(crate) store: Arc<dyn PassportStores>,
    pub(crate) accounts: Arc<dyn AccountStore>,
    pub(crate) keys: Arc<SigningKeys>,
    pub(crate) config: Arc<PassportConfig>,
    /// The custody service's claim checking, set once the services are composed.
    pub(crate) claims: Arc<OnceLock<Arc<dyn RecycledClaims>>>,
    pub(crate) verify: Arc<VerifyContext>,
    /// The resolver's credentials in memory (see [`credential_cache`]).
    pub(crate) credentials: Arc<CredentialCache>,
}

impl std::fmt::Debug for PassportService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PassportService").finish_non_exhaustive()
    }
}

impl PassportService {
    pub fn new(
        store: Arc<dyn PassportStores>,
        accounts: Arc<dyn AccountStore>,
        keys: Arc<SigningKeys>,
        config: PassportConfig,
    ) -> Self {
        let verify = Arc::new(VerifyContext::new(
            &config.base_url,
            &config.aliases,
            &config.did_web_allowlist,
        ));
        let credentials = Arc::new(CredentialCache::new(config.resolver_cache));
        Self {
            store,
            accounts,
            keys,
            credentials,
            config: Arc::new(config),
            claims: Arc::new(OnceLock::new()),
            verify,
        }
    }

    pub fn base_url(&self) -> &str {
        &self.config.base_url
    }

    /// The organisations' signing keys.
    pub fn keys(&self) -> &Arc<SigningKeys> {
        &self.keys
    }

    /// The stores (for the feed and the benchmarks; use cases go through the methods).
    pub fn store(&self) -> &Arc<dyn PassportStores> {
        &self.store
    }

    /// The resolver's credentials kept in memory.
    pub fn credentials(&self) -> &CredentialCache {
        &self.credentials
    }

    /// The DID of an organisation.
    pub fn org_did(&self, org_id: Uuid) -> String {
        did::org_did(&self.config.base_url, org_id)
    }

    /// The base URL a request for `host` (its `Host` header) is about: the alias with that
    /// host when it is one of our former base URLs, else the current one. A DID document or a
    /// status list asked for at a former host names that host, as what was issued there does.
    pub fn base_url_for_host(&self, host: Option<&str>) -> &str {
        let host = host.map(str::to_ascii_lowercase);
        let current = self.config.base_url.as_str();
        let Some(host) = host else {
            return current;
        };
        if reetrace_core::domain::instance::authority_of(current).as_deref() == Some(&host) {
            return current;
        }
        self.config
            .aliases
            .iter()
            .find(|alias| {
                reetrace_core::domain::instance::authority_of(alias).as_deref() == Some(&host)
            })
            .map_or(current, String::as_str)
    }

    /// The organisation's DID that `issuer` is, if it is one of its DIDs under the current or
    /// a former base URL.
    pub fn own_did_of(&self, org_id: Uuid, issuer: &str) -> Option<String> {
        std::iter::once(&self.config.base_url)
            .chain(&self.config.aliases)
            .map(|base| did::org_did(base, org_id))
            .find(|did| did == issuer)
    }

    /// The resolver URL of a stored passport.
    pub fn product_uri(&self, passport: &Passport) -> String {
        product_uri(&self.config.base_url, passport.id, passport.product_ids())
    }

    /// The resolver URL product `id` gets from its registration.
    pub fn registration_uri(&self, id: Uuid, registration: &Registration) -> String {
        product_uri(&self.config.base_url, id, registration.product_ids())
    }

    /// The issuing organisation of `caller`, checked to be a manufacturer.
    pub(crate) async fn issuer_org(&self, caller: &Principal) -> Result<Org> {
        caller.require(&[Role::Manufacturer])?;
        self.accounts.org(caller.org_id).await?.ok_or_else(|| {
            Denied::Rule("The caller's organisation no longer exists.".into()).into()
        })
    }

    /// The answer stored under an idempotency key, for replay.
    pub(crate) async fn stored(
        &self,
        org_id: Uuid,
        key: Option<&IdempotencyKey>,
    ) -> Result<Option<StoredResponse>> {
        match key {
            Some(key) => Ok(self.store.stored_response(org_id, key.as_str()).await?),
            None => Ok(None),
        }
    }

    /// The idempotent write for a request, if it carries a key.
    pub(crate) fn idempotent_write(
        org_id: Uuid,
        key: Option<&IdempotencyKey>,
        respond: impl FnOnce(&[bool]) -> Option<StoredResponse> + Send + 'static,
    ) -> Option<IdempotentWrite> {
        key.map(|k| IdempotentWrite {
            org_id,
            key: k.as_str().to_owned(),
            respond: Box::new(respond),
        })
    }
}
