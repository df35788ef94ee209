//! The registry of organisations' Ed25519 signing keys: created with the organisation, rotated
//! on demand, sealed at rest under the master key, unsealed once and cached for signing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reetrace_core::crypto::{
    MasterKey, SigningKey, VerifyingKey, generate_signing_key, public_key_multibase,
};
use reetrace_core::domain::Role;
use reetrace_core::domain::account::Org;
use reetrace_core::service::accounts::{ObserverError, OrgObserver};
use uuid::Uuid;

use super::error::{PassportError, Result};
use crate::domain::did::MethodKey;
use crate::domain::signing_key::{Rotation, SigningKeyRow};
use crate::store::PassportStores;

/// How long an unsealed active key is used before the store is asked again (a rotation on
/// another instance is picked up within this time; the old key keeps verifying meanwhile).
const CACHE_TTL: Duration = Duration::from_secs(30);

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

/// The signing keys of every organisation.
pub struct SigningKeys {
    store: Arc<dyn PassportStores>,
    master: MasterKey,
    cache: Mutex<HashMap<Uuid, (Arc<ActiveKey>, Instant)>>,
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeys").finish_non_exhaustive()
    }
}

fn unavailable(err: impl std::fmt::Display) -> PassportError {
    PassportError::internal(format_args!("signing key unavailable: {err}"))
}

impl SigningKeys {
    pub fn new(store: Arc<dyn PassportStores>, master: MasterKey) -> Self {
        Self {
            store,
            master,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The key `org_id` signs with now; made on first use if the organisation has none.
    pub async fn active(&self, org_id: Uuid) -> Result<Arc<ActiveKey>> {
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
            None => return self.create(org_id, Rotation::None).await,
        };
        self.remember(org_id, key.clone());
        Ok(key)
    }

    /// Makes a new key for `org_id`; the others are retired or revoked as `rotation` says.
    pub async fn create(&self, org_id: Uuid, rotation: Rotation) -> Result<Arc<ActiveKey>> {
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
            created_at: reetrace_core::domain::account::now(),
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
pub struct KeyOnOrgCreated(pub Arc<SigningKeys>);

#[async_trait::async_trait]
impl OrgObserver for KeyOnOrgCreated {
    async fn org_created(&self, org: &Org) -> std::result::Result<(), ObserverError> {
        if org.role == Role::Manufacturer {
            self.0
                .create(org.id, Rotation::None)
                .await
                .map_err(|err| match err {
                    // As is, so that the accounts service answers it as the store error it is.
                    PassportError::Store(store) => Box::new(store) as ObserverError,
                    other => Box::new(other),
                })?;
        }
        Ok(())
    }
}
