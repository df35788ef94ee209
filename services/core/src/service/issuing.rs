//! Issuing credentials as an organisation, for any service: the organisations' Ed25519 signing
//! keys (created with the organisation or on its first issue, rotated on demand, sealed at rest
//! under the master key, unsealed once and cached for signing), their DIDs and DID documents,
//! status list indexes and bits ([`status`]; bulk issuing takes its indexes from a reserve,
//! [`reserve`]), and credentials secured with their key ([`secure`]).
//!
//! A service holds an `Arc<Issuing>` shared by the whole process (one key cache), issues with
//! [`Issuing::issuer_key`], and has its status lists and DID documents served by the kernel's
//! `api::issuers` routes.

pub mod reserve;
pub mod secure;
pub mod status;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use uuid::Uuid;

use crate::crypto::{
    MasterKey, SigningKey, VerifyingKey, generate_signing_key, public_key_multibase,
};
use crate::db::StoreError;
use crate::domain::Role;
use crate::domain::account::Org;
use crate::domain::instance::authority_of;
use crate::domain::issuing::did;
use crate::domain::issuing::{MethodKey, Rotation, SigningKeyRow};
use crate::service::accounts::{ObserverError, OrgObserver};
use crate::store::issuing::IssuingStores;

pub use secure::{IssuerKey, SecureError, SecuredCredential};

/// How long an unsealed active key is used before the store is asked again (a rotation on
/// another instance is picked up within this time; the old key keeps verifying meanwhile).
const CACHE_TTL: Duration = Duration::from_secs(30);

/// Why issuing failed.
#[derive(Debug, thiserror::Error)]
pub enum IssuingError {
    /// No status list with this id.
    #[error("no status list {0:?}")]
    NoStatusList(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The server failed (a signing key that does not open, a list that cannot be signed...);
    /// the text is logged, never answered.
    #[error("internal error: {0}")]
    Internal(String),
}

impl IssuingError {
    /// A failure of the server itself, described for the log.
    pub fn internal(what: impl std::fmt::Display) -> Self {
        IssuingError::Internal(what.to_string())
    }
}

/// An issuing use case's result.
type Result<T, E = IssuingError> = std::result::Result<T, E>;

/// Where the instance issues from.
#[derive(Debug, Clone)]
pub struct IssuingConfig {
    /// The public base URL, without a trailing slash: the host and path of the organisations'
    /// `did:web` DIDs and of the status lists' URLs.
    pub base_url: String,
    /// Base URLs the instance was moved away from: what was issued under them names their DIDs
    /// and lists, which are still answered (by `Host`) as named there.
    pub aliases: Vec<String>,
}

/// A key ready to sign.
pub struct ActiveKey {
    /// The key's id: its `publicKeyMultibase`, the fragment of its DID URL.
    pub key_id: String,
    pub signing: SigningKey,
}

impl std::fmt::Debug for ActiveKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActiveKey")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// Issuing as every organisation of the instance.
pub struct Issuing {
    store: Arc<dyn IssuingStores>,
    master: MasterKey,
    config: IssuingConfig,
    cache: Mutex<HashMap<Uuid, (Arc<ActiveKey>, Instant)>>,
    /// Status list indexes reserved ahead for bulk issuing.
    reserves: reserve::Reserves,
}

impl std::fmt::Debug for Issuing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issuing")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn unavailable(err: impl std::fmt::Display) -> IssuingError {
    IssuingError::internal(format_args!("signing key unavailable: {err}"))
}

impl Issuing {
    pub fn new(store: Arc<dyn IssuingStores>, master: MasterKey, config: IssuingConfig) -> Self {
        Self {
            store,
            master,
            config,
            cache: Mutex::new(HashMap::new()),
            reserves: reserve::Reserves::default(),
        }
    }

    /// The public base URL issued under now.
    pub fn base_url(&self) -> &str {
        &self.config.base_url
    }

    /// The DID of an organisation under the current base URL.
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
        if authority_of(current).as_deref() == Some(&host) {
            return current;
        }
        self.config
            .aliases
            .iter()
            .find(|alias| authority_of(alias).as_deref() == Some(&host))
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

    /// The key `org_id` signs with now; made on first use if the organisation has none.
    pub async fn active_key(&self, org_id: Uuid) -> Result<Arc<ActiveKey>> {
        if let Ok(cache) = self.cache.lock()
            && let Some((key, at)) = cache.get(&org_id)
            && at.elapsed() < CACHE_TTL
        {
            return Ok(key.clone());
        }
        let rows = self.store.org_keys(org_id).await?;
        let newest = rows
            .iter()
            .rev()
            .find(|k| k.retired_at.is_none() && k.revoked_at.is_none());
        let key = match newest {
            Some(row) => Arc::new(ActiveKey {
                key_id: row.id.clone(),
                signing: self
                    .master
                    .unseal_signing_key(&row.sealed_secret, &row.id)
                    .map_err(unavailable)?,
            }),
            None => return self.create_key(org_id, Rotation::None).await,
        };
        self.remember(org_id, key.clone());
        Ok(key)
    }

    /// The active key of `org_id` with the DID it signs as under the current base URL: what a
    /// credential is secured with.
    pub async fn issuer_key(&self, org_id: Uuid) -> Result<IssuerKey> {
        let key = self.active_key(org_id).await?;
        Ok(IssuerKey::new(self.org_did(org_id), key))
    }

    /// Makes a new key for `org_id`; the others are retired or revoked as `rotation` says.
    pub async fn create_key(&self, org_id: Uuid, rotation: Rotation) -> Result<Arc<ActiveKey>> {
        let signing = generate_signing_key().map_err(unavailable)?;
        let key_id = public_key_multibase(&signing.verifying_key());
        let row = SigningKeyRow {
            id: key_id.clone(),
            org_id,
            public_key: signing.verifying_key().to_bytes().to_vec(),
            sealed_secret: self
                .master
                .seal_signing_key(&signing, &key_id)
                .map_err(unavailable)?,
            created_at: crate::domain::account::now(),
            retired_at: None,
            revoked_at: None,
        };
        self.store.insert_key(&row, rotation).await?;
        let key = Arc::new(ActiveKey { key_id, signing });
        self.remember(org_id, key.clone());
        Ok(key)
    }

    fn remember(&self, org_id: Uuid, key: Arc<ActiveKey>) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(org_id, (key, Instant::now()));
        }
    }

    /// Every key of an organisation as stored, oldest first (public keys and states; the
    /// secrets stay sealed).
    pub async fn org_keys(&self, org_id: Uuid) -> Result<Vec<SigningKeyRow>> {
        Ok(self.store.org_keys(org_id).await?)
    }

    /// The keys of an organisation's DID document.
    pub async fn method_keys(&self, org_id: Uuid) -> Result<Vec<MethodKey>> {
        Ok(self
            .store
            .org_keys(org_id)
            .await?
            .into_iter()
            .map(|k| MethodKey {
                public_key_multibase: k.id.clone(),
                key_id: k.id,
                asserts: k.revoked_at.is_none(),
            })
            .collect())
    }

    /// The DID document of `org_id` as named under `base_url` (the current base URL or a
    /// former one); `None` when the organisation has no key.
    pub async fn did_document(&self, org_id: Uuid, base_url: &str) -> Result<Option<Value>> {
        let keys = self.method_keys(org_id).await?;
        Ok((!keys.is_empty()).then(|| did::document(&did::org_did(base_url, org_id), &keys)))
    }

    /// The public key `key_id` of `org_id`, if it may still assert.
    pub async fn asserting_key(&self, org_id: Uuid, key_id: &str) -> Result<Option<VerifyingKey>> {
        let rows = self.store.org_keys(org_id).await?;
        let Some(row) = rows
            .into_iter()
            .find(|k| k.id == key_id && k.revoked_at.is_none())
        else {
            return Ok(None);
        };
        let bytes: [u8; 32] = row
            .public_key
            .as_slice()
            .try_into()
            .map_err(|_| unavailable(format!("stored key {key_id} is not 32 bytes")))?;
        Ok(VerifyingKey::from_bytes(&bytes).ok())
    }
}

/// Gives every new manufacturer organisation its signing key.
pub struct KeyOnOrgCreated(pub Arc<Issuing>);

#[async_trait::async_trait]
impl OrgObserver for KeyOnOrgCreated {
    async fn org_created(&self, org: &Org) -> std::result::Result<(), ObserverError> {
        if org.role == Role::Manufacturer {
            self.0
                .create_key(org.id, Rotation::None)
                .await
                .map_err(|err| match err {
                    // As is, so that the accounts service answers it as the store error it is.
                    IssuingError::Store(store) => Box::new(store) as ObserverError,
                    other => Box::new(other),
                })?;
        }
        Ok(())
    }
}
