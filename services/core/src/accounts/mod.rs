//! Organisations and their API keys.
//!
//! Every caller is an organisation with one role; its keys are shown once and stored hashed.
//! The tables live beside the services' own (migrations under `migrations/accounts/`), since
//! every service authenticates against them.

pub mod api;
mod store;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::{Authenticator, KeyLookup, KeyRecord, NewApiKey, Role};
use crate::db::{Db, MigrationSet, StoreError};
use crate::domain::OperatorId;
use crate::problem::{FieldError, Problem};

pub use self::store::SqlAccounts;

/// The accounts migrations, one folder per backend.
pub static MIGRATIONS: MigrationSet = MigrationSet {
    name: "accounts",
    sqlite: || sqlx::migrate!("../../migrations/accounts/sqlite"),
    postgres: || sqlx::migrate!("../../migrations/accounts/postgres"),
};

/// An organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Org {
    pub id: Uuid,
    pub name: String,
    pub role: Role,
    /// The operator's registered identifier (EORI or LEI), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator_id: Option<OperatorId>,
    pub created_at: DateTime<Utc>,
}

/// An API key as listings show it: never the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ApiKeyInfo {
    pub id: Uuid,
    pub org_id: Uuid,
    /// The public part of the key (`rtk_<prefix>_...`).
    pub prefix: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
}

/// What creating an organisation needs.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Acme Motors", "role": "manufacturer", "operator_id": {"scheme": "eori", "value": "FR123456789000"}}))]
pub struct NewOrg {
    /// Display name: 1 to 200 characters, not all blank, no control characters.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$"
    )]
    pub name: String,
    pub role: Role,
    #[serde(default)]
    pub operator_id: Option<OperatorId>,
}

impl NewOrg {
    /// Checks what the types cannot.
    pub fn validate(&self) -> Result<(), Problem> {
        // The whole name counts (it is stored as sent), as the document's maxLength says.
        let name = self.name.as_str();
        if name.trim().is_empty()
            || name.chars().count() > 200
            || name.chars().any(char::is_control)
        {
            return Err(Problem::validation(vec![FieldError::new(
                "/name",
                "the name must be 1 to 200 printable characters",
            )]));
        }
        Ok(())
    }
}

/// An organisation just created, with its first API key (shown this once).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreatedOrg {
    pub org_id: Uuid,
    pub name: String,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator_id: Option<OperatorId>,
    pub created_at: DateTime<Utc>,
    /// The API key; it is not shown again.
    pub api_key: String,
    pub key_id: Uuid,
    pub key_prefix: String,
}

/// A key just created (shown this once).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreatedKey {
    /// The API key; it is not shown again.
    pub api_key: String,
    pub key_id: Uuid,
    pub key_prefix: String,
    pub org_id: Uuid,
    pub created_at: DateTime<Utc>,
}

/// A key row about to be stored.
#[derive(Debug, Clone)]
pub struct KeyRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub prefix: String,
    pub hash: [u8; 32],
    pub label: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Storage of organisations and keys.
#[async_trait]
pub trait AccountStore: KeyLookup {
    /// Stores an organisation and its first key in one transaction.
    async fn insert_org(&self, org: &Org, key: &KeyRow) -> Result<(), StoreError>;
    async fn org(&self, id: Uuid) -> Result<Option<Org>, StoreError>;
    /// The organisation registered under an operator identifier (EORI or LEI), if any: EPCIS
    /// events name parties by these.
    async fn org_by_operator(&self, operator: &OperatorId) -> Result<Option<Org>, StoreError>;
    /// Organisations ordered by id, after `after`, at most `limit`.
    async fn list_orgs(
        &self,
        role: Option<Role>,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<Org>, StoreError>;
    async fn insert_key(&self, key: &KeyRow) -> Result<(), StoreError>;
    async fn list_keys(&self, org_id: Uuid) -> Result<Vec<ApiKeyInfo>, StoreError>;
    /// Revokes a key of `org_id`; `None` when there is no such key.
    async fn revoke_key(
        &self,
        org_id: Uuid,
        key_id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<Option<ApiKeyInfo>, StoreError>;
    /// Revokes a key by its prefix; `None` when there is no such key.
    async fn revoke_key_by_prefix(
        &self,
        prefix: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<ApiKeyInfo>, StoreError>;
}

/// The store for a database.
pub fn store(db: &Db) -> Arc<dyn AccountStore> {
    Arc::new(SqlAccounts::new(db.clone()))
}

/// Something to do when an organisation is created (e.g. the passport service gives a
/// manufacturer its signing key).
#[async_trait]
pub trait OrgObserver: Send + Sync {
    async fn org_created(&self, org: &Org) -> Result<(), Problem>;
}

/// The accounts service: rules over the store.
#[derive(Clone)]
pub struct Accounts {
    store: Arc<dyn AccountStore>,
    auth: Arc<Authenticator>,
    observers: Vec<Arc<dyn OrgObserver>>,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts").finish_non_exhaustive()
    }
}

impl Accounts {
    pub fn new(store: Arc<dyn AccountStore>, auth: Arc<Authenticator>) -> Self {
        Self {
            store,
            auth,
            observers: Vec::new(),
        }
    }

    /// Runs `observer` after every organisation created from now on.
    pub fn observe(&mut self, observer: Arc<dyn OrgObserver>) {
        self.observers.push(observer);
    }

    pub fn authenticator(&self) -> &Arc<Authenticator> {
        &self.auth
    }

    pub async fn create_org(&self, new: NewOrg) -> Result<CreatedOrg, Problem> {
        new.validate()?;
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
                StoreError::Conflict { .. } => Problem::conflict(
                    "operator_id_taken",
                    "Another organisation already has this operator identifier.",
                ),
                other => other.into(),
            })?;
        for observer in &self.observers {
            observer.org_created(&org).await?;
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

    pub async fn org(&self, id: Uuid) -> Result<Org, Problem> {
        self.store
            .org(id)
            .await?
            .ok_or_else(|| Problem::not_found(format!("No organisation {id}.")))
    }

    pub async fn list_orgs(
        &self,
        role: Option<Role>,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<Org>, Problem> {
        Ok(self.store.list_orgs(role, after, limit).await?)
    }

    pub async fn create_key(
        &self,
        org_id: Uuid,
        label: Option<String>,
    ) -> Result<CreatedKey, Problem> {
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

    pub async fn list_keys(&self, org_id: Uuid) -> Result<Vec<ApiKeyInfo>, Problem> {
        self.org(org_id).await?;
        Ok(self.store.list_keys(org_id).await?)
    }

    pub async fn revoke_key(&self, org_id: Uuid, key_id: Uuid) -> Result<ApiKeyInfo, Problem> {
        let info = self
            .store
            .revoke_key(org_id, key_id, now())
            .await?
            .ok_or_else(|| {
                Problem::not_found(format!("Organisation {org_id} has no key {key_id}."))
            })?;
        self.auth.forget(&info.prefix);
        Ok(info)
    }

    /// Makes sure `secret` is the key of the `reetrace services` organisation (role `service`),
    /// the key the services of a deployment read each other's feeds with. Idempotent; several
    /// instances may call it at once.
    pub async fn register_service_key(&self, secret: &str) -> Result<(), Problem> {
        const NAME: &str = "reetrace services";
        let prefix = crate::auth::key_prefix(secret).ok_or_else(|| {
            Problem::bad_request(
                "invalid_key",
                "The service key is not an API key (rtk_...).",
            )
        })?;
        let hash = crate::auth::hash_key(secret);
        for _ in 0..3 {
            if let Some(found) = self.store.key_by_prefix(prefix).await? {
                return if found.hash == hash && found.role == Role::Service && !found.revoked {
                    Ok(())
                } else {
                    Err(Problem::conflict(
                        "service_key_clash",
                        "Another key (or a revoked or non-service one) has the service key's prefix; generate a new service key.",
                    ))
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
        Err(Problem::service_unavailable(
            "Could not register the service key; retry.",
        ))
    }

    pub async fn revoke_key_by_prefix(&self, prefix: &str) -> Result<ApiKeyInfo, Problem> {
        let info = self
            .store
            .revoke_key_by_prefix(prefix, now())
            .await?
            .ok_or_else(|| Problem::not_found(format!("No key with prefix {prefix:?}.")))?;
        self.auth.forget(&info.prefix);
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

/// Now, truncated to microseconds so that what PostgreSQL stores equals what we answered.
pub fn now() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

/// Decodes a stored key row into what authentication needs.
fn key_record(
    key_id: Uuid,
    org_id: Uuid,
    org_name: String,
    role: &str,
    hash: &[u8],
    revoked: bool,
) -> Result<KeyRecord, StoreError> {
    Ok(KeyRecord {
        key_id,
        org_id,
        org_name,
        role: role.parse().map_err(StoreError::Corrupt)?,
        hash: hash.try_into().map_err(|_| {
            StoreError::Corrupt(format!("key {key_id} has a hash of {} bytes", hash.len()))
        })?,
        revoked,
    })
}

/// Decodes a stored operator identifier.
fn operator_id(
    scheme: Option<String>,
    value: Option<String>,
) -> Result<Option<OperatorId>, StoreError> {
    match (scheme, value) {
        (Some(scheme), Some(value)) => format!("{scheme}:{value}")
            .parse::<OperatorId>()
            .map(Some)
            .map_err(|e| StoreError::Corrupt(e.to_string())),
        _ => Ok(None),
    }
}
