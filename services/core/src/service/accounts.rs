//! The accounts use cases: create organisations and their keys, list, revoke, register the
//! deployment's service key.

use std::sync::Arc;

use async_trait::async_trait;
use uuid::Uuid;

use crate::db::StoreError;
use crate::domain::account::{
    ApiKeyInfo, CreatedKey, CreatedOrg, DirectoryEntry, DirectoryGs1, KeyRow, NewOrg, Org, now,
};
use crate::domain::gs1_prefix::{Gs1PrefixEntry, Gs1PrefixKind, NewGs1Prefix};
use crate::domain::{FieldError, NewApiKey, Role, hash_key, key_prefix};
use crate::store::accounts::AccountStore;

/// Why an accounts operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountsError {
    #[error("the request is not valid")]
    Invalid(Vec<FieldError>),
    #[error("{0}")]
    NotFound(String),
    #[error("another organisation already has this operator identifier")]
    OperatorIdTaken,
    /// The GS1 prefix overlaps `prefix`, held by another organisation (or the same one).
    #[error("the GS1 prefix overlaps {prefix}")]
    Gs1PrefixTaken { prefix: String, held_by_other: bool },
    #[error("the service key is not an API key (rtk_...)")]
    NotAnApiKey,
    #[error("another key (or a revoked or non-service one) has the service key's prefix")]
    ServiceKeyClash,
    #[error("could not register the service key; retry")]
    Contended,
    /// What an [`OrgObserver`] failed with.
    #[error("an organisation observer failed: {0}")]
    Observer(#[source] ObserverError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an [`OrgObserver`] may fail with.
pub type ObserverError = Box<dyn std::error::Error + Send + Sync>;

/// Something to do when an organisation is created (e.g. the passport service gives a
/// manufacturer its signing key).
#[async_trait]
pub trait OrgObserver: Send + Sync {
    async fn org_created(&self, org: &Org) -> Result<(), ObserverError>;
}

/// Where authenticated keys are remembered; told when a key is revoked here, so that it stops
/// working at once on this instance.
pub trait KeyCache: Send + Sync {
    fn forget(&self, prefix: &str);
}

/// The accounts service: rules over the store.
#[derive(Clone)]
pub struct Accounts {
    store: Arc<dyn AccountStore>,
    keys: Arc<dyn KeyCache>,
    observers: Vec<Arc<dyn OrgObserver>>,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts").finish_non_exhaustive()
    }
}

impl Accounts {
    pub fn new(store: Arc<dyn AccountStore>, keys: Arc<dyn KeyCache>) -> Self {
        Self {
            store,
            keys,
            observers: Vec::new(),
        }
    }

    /// Runs `observer` after every organisation created from now on.
    pub fn observe(&mut self, observer: Arc<dyn OrgObserver>) {
        self.observers.push(observer);
    }

    pub async fn create_org(&self, new: NewOrg) -> Result<CreatedOrg, AccountsError> {
        new.validate().map_err(AccountsError::Invalid)?;
        let org = Org {
            id: Uuid::now_v7(),
            name: new.name.trim().to_owned(),
            role: new.role,
            operator_id: new.operator_id,
            created_at: now(),
        };
        let key = NewApiKey::generate();
        let row = key_row(org.id, &key, Some("initial".into()));
        self.store
            .insert_org(&org, &row)
            .await
            .map_err(|e| match e {
                StoreError::Conflict { .. } => AccountsError::OperatorIdTaken,
                other => other.into(),
            })?;
        for observer in &self.observers {
            observer
                .org_created(&org)
                .await
                .map_err(AccountsError::Observer)?;
        }
        Ok(CreatedOrg {
            org_id: org.id,
            name: org.name,
            role: org.role,
            operator_id: org.operator_id,
            created_at: org.created_at,
            api_key: key.secret,
            key_id: row.id,
            key_prefix: row.prefix,
        })
    }

    pub async fn org(&self, id: Uuid) -> Result<Org, AccountsError> {
        self.store
            .org(id)
            .await?
            .ok_or_else(|| AccountsError::NotFound(format!("No organisation {id}.")))
    }

    pub async fn list_orgs(
        &self,
        role: Option<Role>,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<Org>, AccountsError> {
        Ok(self.store.list_orgs(role, after, limit).await?)
    }

    /// Up to `limit` organisations of `roles` created after `after`, with the GS1 identities
    /// each holds, in creation order (the directory).
    pub async fn directory(
        &self,
        roles: &[Role],
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<DirectoryEntry>, AccountsError> {
        if roles.is_empty() {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        let mut cursor = after;
        // Read in pages of every role and keep the listed ones, until `limit` are found.
        loop {
            let batch = self.store.list_orgs(None, cursor, limit.max(50)).await?;
            let done = batch.len() < limit.max(50) as usize;
            cursor = batch.last().map(|o| o.id).or(cursor);
            for org in batch {
                if !roles.contains(&org.role) {
                    continue;
                }
                let held = self.store.gs1_prefixes(org.id).await?;
                out.push(DirectoryEntry {
                    id: org.id,
                    name: org.name,
                    role: org.role,
                    operator_id: org.operator_id,
                    gs1_prefixes: held
                        .into_iter()
                        .map(|e| DirectoryGs1 {
                            prefix: e.prefix,
                            kind: e.kind,
                        })
                        .collect(),
                });
                if out.len() >= limit as usize {
                    return Ok(out);
                }
            }
            if done {
                return Ok(out);
            }
        }
    }

    pub async fn create_key(
        &self,
        org_id: Uuid,
        label: Option<String>,
    ) -> Result<CreatedKey, AccountsError> {
        self.org(org_id).await?;
        let key = NewApiKey::generate();
        let row = key_row(org_id, &key, label);
        self.store.insert_key(&row).await?;
        Ok(CreatedKey {
            api_key: key.secret,
            key_id: row.id,
            key_prefix: row.prefix,
            org_id,
            created_at: row.created_at,
        })
    }

    pub async fn list_keys(&self, org_id: Uuid) -> Result<Vec<ApiKeyInfo>, AccountsError> {
        self.org(org_id).await?;
        Ok(self.store.list_keys(org_id).await?)
    }

    pub async fn revoke_key(
        &self,
        org_id: Uuid,
        key_id: Uuid,
    ) -> Result<ApiKeyInfo, AccountsError> {
        let info = self
            .store
            .revoke_key(org_id, key_id, now())
            .await?
            .ok_or_else(|| {
                AccountsError::NotFound(format!("Organisation {org_id} has no key {key_id}."))
            })?;
        self.keys.forget(&info.prefix);
        Ok(info)
    }

    /// Makes sure `secret` is the key of the `reetrace services` organisation (role `service`),
    /// the key the services of a deployment read each other's feeds with. Idempotent; several
    /// instances may call it at once.
    pub async fn register_service_key(&self, secret: &str) -> Result<(), AccountsError> {
        const NAME: &str = "reetrace services";
        let prefix = key_prefix(secret).ok_or(AccountsError::NotAnApiKey)?;
        let hash = hash_key(secret);
        for _ in 0..3 {
            if let Some(found) = self.store.key_by_prefix(prefix).await? {
                return if found.hash == hash && found.role == Role::Service && !found.revoked {
                    Ok(())
                } else {
                    Err(AccountsError::ServiceKeyClash)
                };
            }
            let existing = self
                .store
                .list_orgs(Some(Role::Service), None, 1000)
                .await?
                .into_iter()
                .find(|o| o.name == NAME);
            let row = |org_id| KeyRow {
                id: Uuid::now_v7(),
                org_id,
                prefix: prefix.to_owned(),
                hash,
                label: Some("service key".into()),
                created_at: now(),
            };
            let stored = match existing {
                Some(org) => self.store.insert_key(&row(org.id)).await,
                None => {
                    let org = Org {
                        id: Uuid::now_v7(),
                        name: NAME.into(),
                        role: Role::Service,
                        operator_id: None,
                        created_at: now(),
                    };
                    self.store.insert_org(&org, &row(org.id)).await
                }
            };
            match stored {
                Ok(()) => return Ok(()),
                // Another instance registered it meanwhile: look again.
                Err(StoreError::Conflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(AccountsError::Contended)
    }

    /// Gives an organisation (a manufacturer or a recycler) a GS1 prefix or GTIN.
    pub async fn add_gs1_prefix(
        &self,
        org_id: Uuid,
        new: &NewGs1Prefix,
    ) -> Result<Gs1PrefixEntry, AccountsError> {
        let org = self.org(org_id).await?;
        let (digits, kind) = new.parse().map_err(|e| AccountsError::Invalid(vec![e]))?;
        if !matches!(org.role, Role::Manufacturer | Role::Recycler) {
            return Err(AccountsError::Invalid(vec![FieldError::new(
                "",
                format!(
                    "only manufacturers and recyclers hold GS1 prefixes; this organisation is a {}",
                    org.role
                ),
            )]));
        }
        let entry = Gs1PrefixEntry {
            org_id,
            gtin: match kind {
                Gs1PrefixKind::Gtin => digits.as_gtin(),
                _ => None,
            },
            prefix: digits.as_str().to_owned(),
            kind,
            grandfathered: false,
            created_at: now(),
        };
        match self.store.insert_gs1_prefix(&entry).await? {
            None => Ok(entry),
            Some(clash) => Err(AccountsError::Gs1PrefixTaken {
                held_by_other: clash.org_id != org_id,
                prefix: clash.prefix,
            }),
        }
    }

    /// The GS1 prefixes and GTINs an organisation holds.
    pub async fn gs1_prefixes(&self, org_id: Uuid) -> Result<Vec<Gs1PrefixEntry>, AccountsError> {
        self.org(org_id).await?;
        Ok(self.store.gs1_prefixes(org_id).await?)
    }

    /// Takes a GS1 prefix or GTIN from an organisation. Its passports and lots stay; it only
    /// registers no new ones under it.
    pub async fn remove_gs1_prefix(
        &self,
        org_id: Uuid,
        prefix: &str,
    ) -> Result<Gs1PrefixEntry, AccountsError> {
        self.org(org_id).await?;
        self.store
            .delete_gs1_prefix(org_id, prefix)
            .await?
            .ok_or_else(|| {
                AccountsError::NotFound(format!(
                    "Organisation {org_id} holds no GS1 prefix {prefix:?}."
                ))
            })
    }

    pub async fn revoke_key_by_prefix(&self, prefix: &str) -> Result<ApiKeyInfo, AccountsError> {
        let info = self
            .store
            .revoke_key_by_prefix(prefix, now())
            .await?
            .ok_or_else(|| AccountsError::NotFound(format!("No key with prefix {prefix:?}.")))?;
        self.keys.forget(&info.prefix);
        Ok(info)
    }
}

fn key_row(org_id: Uuid, key: &NewApiKey, label: Option<String>) -> KeyRow {
    KeyRow {
        id: Uuid::now_v7(),
        org_id,
        prefix: key.prefix.clone(),
        hash: key.hash,
        label,
        created_at: now(),
    }
}
