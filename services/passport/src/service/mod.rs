//! The passport service's use cases: issue (one or many), new versions, status changes, reads
//! in the caller's tier, the resolver's lookups, status list and generic credentials, and
//! verification. The HTTP edge calls these; these call the domain and the stores.
//!
//! - [`issue`]: one registration, a new version, a status change;
//! - [`bulk`]: many registrations at once, line by line or all or nothing;
//! - [`signing`]: status indexes and credentials signed in parallel;
//! - [`claims`]: recycled content claimed from the custody service's lots;
//! - [`labels`]: what a passport's magnet label (CRMA art. 28(1)) says;
//! - [`conformity`]: the CRMA art. 28/29 check of a passport, and its summary;
//! - [`free_access`]: the free-access page of CRMA art. 29(1), per manufacturer;
//! - [`read`]: passports, versions, lists and the resolver's lookups;
//! - [`vc_api`], [`verification`]: generic credentials and what verifiers need (the
//!   organisations' keys, DIDs and status lists are core's `service::issuing`);
//! - [`credential_cache`]: the resolver's credentials kept in memory.

pub mod bulk;
pub mod claims;
pub mod conformity;
pub mod credential_cache;
pub mod error;
pub mod free_access;
pub mod issue;
pub mod labels;
pub mod read;
pub mod signing;
pub mod vc_api;
pub mod verification;

use std::sync::{Arc, OnceLock};

use reetrace_core::domain::account::Org;
use reetrace_core::domain::idempotency::{IdempotencyKey, StoredResponse};
use reetrace_core::domain::{Denied, Principal, Role};
use reetrace_core::service::issuing::Issuing;
use reetrace_core::service::recycled_content::RecycledClaims;
use reetrace_core::store::accounts::AccountStore;
use uuid::Uuid;

use crate::domain::passport::{Passport, product_uri};
use crate::domain::registration::Registration;
use crate::store::{IdempotentWrite, PassportStores};
use credential_cache::CredentialCache;
pub use error::PassportError;
use error::Result;
use verification::VerifyContext;

/// Settings of the passport service.
#[derive(Debug, Clone)]
pub struct PassportConfig {
    /// The public base URL, without a trailing slash (the same as the service's `Issuing`).
    pub base_url: String,
    /// Base URLs the instance was moved away from (`reetrace admin instance move`): what was
    /// issued under them is still ours, so the verifier answers their DIDs and status lists
    /// from the store, never over HTTP (core's issuers routes serve them by `Host`).
    pub aliases: Vec<String>,
    /// did:web hosts (besides our own) whose DID documents the verifier may fetch.
    pub did_web_allowlist: Vec<String>,
    /// How long the resolver may serve a product's credential from memory (zero: never).
    pub resolver_cache: std::time::Duration,
    /// When CRMA art. 28 and 29 apply.
    pub crma: crate::domain::crma::CrmaDates,
}

/// How an idempotent request's answer is kept for replay: made from what the use case
/// produced, stored in the transaction of the write. A use case may make it more than once
/// (a new version that lost a race to an identical one answers that one instead).
pub type Keep<T> = Box<dyn Fn(&T) -> StoredResponse + Send + Sync>;

/// The passport service.
#[derive(Clone)]
pub struct PassportService {
    pub(crate) store: Arc<dyn PassportStores>,
    pub(crate) accounts: Arc<dyn AccountStore>,
    /// Keys, DIDs and status lists of the issuing organisations (core's, shared by the process).
    pub(crate) issuing: Arc<Issuing>,
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
        issuing: Arc<Issuing>,
        config: PassportConfig,
    ) -> Self {
        // One base URL: the DIDs `issuing` names are the ones the credentials' URLs sit under.
        debug_assert_eq!(issuing.base_url(), config.base_url);
        let verify = Arc::new(VerifyContext::new(
            &config.base_url,
            &config.aliases,
            &config.did_web_allowlist,
        ));
        let credentials = Arc::new(CredentialCache::new(config.resolver_cache));
        Self {
            store,
            accounts,
            issuing,
            credentials,
            config: Arc::new(config),
            claims: Arc::new(OnceLock::new()),
            verify,
        }
    }

    pub fn base_url(&self) -> &str {
        &self.config.base_url
    }

    /// Issuing as the organisations: their keys, DIDs and status lists.
    pub fn issuing(&self) -> &Arc<Issuing> {
        &self.issuing
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
        self.issuing.org_did(org_id)
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
