//! Organisations and API keys. The tables live beside the services' own (migrations under
//! `migrations/accounts/`), since every service authenticates against them.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::{Db, MigrationSet, Sql, StoreError};
use crate::domain::account::{ApiKeyInfo, KeyRow, Org};
use crate::domain::gs1_prefix::{Gs1Prefix, Gs1PrefixEntry};
use crate::domain::{KeyRecord, OperatorId, Role};

/// The accounts migrations, one folder per backend.
pub static MIGRATIONS: MigrationSet = crate::db::migrations::ACCOUNTS;

/// Looks keys up by prefix (implemented by the accounts store).
#[async_trait]
pub trait KeyLookup: Send + Sync {
    async fn key_by_prefix(&self, prefix: &str) -> Result<Option<KeyRecord>, StoreError>;
    /// A counter every key revocation moves (instances forget cached keys when it changed).
    async fn revocation_epoch(&self) -> Result<i64, StoreError>;
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
    /// The GS1 prefixes and GTINs an organisation holds, by canonical digits.
    async fn gs1_prefixes(&self, org_id: Uuid) -> Result<Vec<Gs1PrefixEntry>, StoreError>;
    /// Stores `entry` unless a stored entry overlaps it (one's digits starting the other's)
    /// and belongs to another organisation, or has the same digits: then nothing is stored
    /// and that entry is returned. Overlaps with the same organisation's entries are kept (a
    /// real prefix over GTINs it was grandfathered).
    async fn insert_gs1_prefix(
        &self,
        entry: &Gs1PrefixEntry,
    ) -> Result<Option<Gs1PrefixEntry>, StoreError>;
    /// Deletes an entry of `org_id`; `None` when there is no such entry.
    async fn delete_gs1_prefix(
        &self,
        org_id: Uuid,
        prefix: &str,
    ) -> Result<Option<Gs1PrefixEntry>, StoreError>;
}

/// The store for a database.
pub fn open(db: &Db) -> Arc<dyn AccountStore> {
    Arc::new(SqlAccounts::new(db.clone()))
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

/// Organisations and API keys.
#[derive(Debug, Clone)]
pub struct SqlAccounts {
    db: Db,
}

impl SqlAccounts {
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

struct OrgRow {
    id: Uuid,
    name: String,
    role: String,
    operator_scheme: Option<String>,
    operator_id: Option<String>,
    created_at: DateTime<Utc>,
}

crate::record!(OrgRow {
    id,
    name,
    role,
    operator_scheme,
    operator_id,
    created_at,
});

impl TryFrom<OrgRow> for Org {
    type Error = StoreError;

    fn try_from(row: OrgRow) -> Result<Self, StoreError> {
        Ok(Org {
            id: row.id,
            name: row.name,
            role: row.role.parse().map_err(StoreError::Corrupt)?,
            operator_id: operator_id(row.operator_scheme, row.operator_id)?,
            created_at: row.created_at,
        })
    }
}

struct KeyInfoRow {
    id: Uuid,
    org_id: Uuid,
    prefix: String,
    label: Option<String>,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
}

crate::record!(KeyInfoRow {
    id,
    org_id,
    prefix,
    label,
    created_at,
    revoked_at,
});

impl From<KeyInfoRow> for ApiKeyInfo {
    fn from(row: KeyInfoRow) -> Self {
        ApiKeyInfo {
            id: row.id,
            org_id: row.org_id,
            prefix: row.prefix,
            label: row.label,
            created_at: row.created_at,
            revoked_at: row.revoked_at,
        }
    }
}

struct KeyLookupRow {
    key_id: Uuid,
    org_id: Uuid,
    org_name: String,
    role: String,
    hash: Vec<u8>,
    revoked: bool,
}

crate::record!(KeyLookupRow {
    key_id,
    org_id,
    org_name,
    role,
    hash,
    revoked,
});

struct Gs1Row {
    org_id: Uuid,
    prefix: String,
    kind: String,
    grandfathered: bool,
    created_at: DateTime<Utc>,
}

crate::record!(Gs1Row {
    org_id,
    prefix,
    kind,
    grandfathered,
    created_at,
});

impl TryFrom<Gs1Row> for Gs1PrefixEntry {
    type Error = StoreError;

    fn try_from(row: Gs1Row) -> Result<Self, StoreError> {
        let digits = Gs1Prefix::stored(&row.prefix).map_err(StoreError::Corrupt)?;
        let kind: crate::domain::gs1_prefix::Gs1PrefixKind =
            row.kind.parse().map_err(StoreError::Corrupt)?;
        Ok(Gs1PrefixEntry {
            org_id: row.org_id,
            gtin: match kind {
                crate::domain::gs1_prefix::Gs1PrefixKind::Gtin => digits.as_gtin(),
                _ => None,
            },
            prefix: row.prefix,
            kind,
            grandfathered: row.grandfathered,
            created_at: row.created_at,
        })
    }
}

const GS1_COLUMNS: &str = "org_id, prefix, kind, grandfathered, created_at";

const INSERT_ORG: &str = "INSERT INTO orgs (id, name, role, operator_scheme, operator_id, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6)";
const INSERT_KEY: &str = "INSERT INTO api_keys (id, org_id, prefix, hash, label, created_at) VALUES ($1, $2, $3, $4, $5, $6)";
const SELECT_ORG: &str =
    "SELECT id, name, role, operator_scheme, operator_id, created_at FROM orgs WHERE id = $1";
const SELECT_ORG_BY_OPERATOR: &str = "SELECT id, name, role, operator_scheme, operator_id, created_at FROM orgs \
     WHERE operator_scheme = $1 AND operator_id = $2";
const LIST_ORGS: &str = "SELECT id, name, role, operator_scheme, operator_id, created_at FROM orgs \
     WHERE ($1 IS NULL OR role = $1) AND ($2 IS NULL OR id > $2) ORDER BY id LIMIT $3";
const LIST_KEYS: &str = "SELECT id, org_id, prefix, label, created_at, revoked_at FROM api_keys \
     WHERE org_id = $1 ORDER BY id";
const REVOKE_KEY: &str = "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $3) \
     WHERE org_id = $1 AND id = $2 RETURNING id, org_id, prefix, label, created_at, revoked_at";
const REVOKE_KEY_BY_PREFIX: &str = "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) \
     WHERE prefix = $1 RETURNING id, org_id, prefix, label, created_at, revoked_at";
const KEY_BY_PREFIX: &str = "SELECT k.id AS key_id, k.org_id, o.name AS org_name, o.role, k.hash, \
     (k.revoked_at IS NOT NULL) AS revoked \
     FROM api_keys k JOIN orgs o ON o.id = k.org_id WHERE k.prefix = $1";

#[async_trait]
impl KeyLookup for SqlAccounts {
    async fn key_by_prefix(&self, prefix: &str) -> Result<Option<KeyRecord>, StoreError> {
        let row: Option<KeyLookupRow> = Sql::new(KEY_BY_PREFIX)
            .bind(prefix)
            .fetch_optional(self.db.reader())
            .await?;
        row.map(|r| key_record(r.key_id, r.org_id, r.org_name, &r.role, &r.hash, r.revoked))
            .transpose()
    }

    async fn revocation_epoch(&self) -> Result<i64, StoreError> {
        Sql::new("SELECT epoch FROM key_revocation_epoch WHERE id = 1")
            .scalar(self.db.reader())
            .await
    }
}

/// Moves the revocation epoch inside a revoking transaction.
const BUMP_EPOCH: &str = "UPDATE key_revocation_epoch SET epoch = epoch + 1 WHERE id = 1";

fn insert_key(key: &KeyRow) -> Sql<'_> {
    Sql::new(INSERT_KEY)
        .bind(key.id)
        .bind(key.org_id)
        .bind(&key.prefix)
        .bind(&key.hash)
        .bind(key.label.as_deref())
        .bind(key.created_at)
}

#[async_trait]
impl AccountStore for SqlAccounts {
    async fn insert_org(&self, org: &Org, key: &KeyRow) -> Result<(), StoreError> {
        let mut tx = self.db.begin().await?;
        let (scheme, value) = match &org.operator_id {
            Some(id) => (Some(id.scheme()), Some(id.value())),
            None => (None, None),
        };
        Sql::new(INSERT_ORG)
            .bind(org.id)
            .bind(&org.name)
            .bind(org.role.as_str())
            .bind(scheme)
            .bind(value)
            .bind(org.created_at)
            .execute(&mut tx)
            .await?;
        insert_key(key).execute(&mut tx).await?;
        tx.commit().await
    }

    async fn org(&self, id: Uuid) -> Result<Option<Org>, StoreError> {
        let row: Option<OrgRow> = Sql::new(SELECT_ORG)
            .bind(id)
            .fetch_optional(self.db.reader())
            .await?;
        row.map(Org::try_from).transpose()
    }

    async fn org_by_operator(&self, operator: &OperatorId) -> Result<Option<Org>, StoreError> {
        let row: Option<OrgRow> = Sql::new(SELECT_ORG_BY_OPERATOR)
            .bind(operator.scheme())
            .bind(operator.value())
            .fetch_optional(self.db.reader())
            .await?;
        row.map(Org::try_from).transpose()
    }

    async fn list_orgs(
        &self,
        role: Option<Role>,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<Org>, StoreError> {
        let rows: Vec<OrgRow> = Sql::new(LIST_ORGS)
            .bind(role.map(Role::as_str))
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(self.db.reader())
            .await?;
        rows.into_iter().map(Org::try_from).collect()
    }

    async fn insert_key(&self, key: &KeyRow) -> Result<(), StoreError> {
        insert_key(key).execute(self.db.writer()).await?;
        Ok(())
    }

    async fn list_keys(&self, org_id: Uuid) -> Result<Vec<ApiKeyInfo>, StoreError> {
        let rows: Vec<KeyInfoRow> = Sql::new(LIST_KEYS)
            .bind(org_id)
            .fetch_all(self.db.reader())
            .await?;
        Ok(rows.into_iter().map(ApiKeyInfo::from).collect())
    }

    async fn revoke_key(
        &self,
        org_id: Uuid,
        key_id: Uuid,
        at: DateTime<Utc>,
    ) -> Result<Option<ApiKeyInfo>, StoreError> {
        let mut tx = self.db.begin().await?;
        let row: Option<KeyInfoRow> = Sql::new(REVOKE_KEY)
            .bind(org_id)
            .bind(key_id)
            .bind(at)
            .fetch_optional(&mut tx)
            .await?;
        Sql::new(BUMP_EPOCH).execute(&mut tx).await?;
        tx.commit().await?;
        Ok(row.map(ApiKeyInfo::from))
    }

    async fn revoke_key_by_prefix(
        &self,
        prefix: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<ApiKeyInfo>, StoreError> {
        let mut tx = self.db.begin().await?;
        let row: Option<KeyInfoRow> = Sql::new(REVOKE_KEY_BY_PREFIX)
            .bind(prefix)
            .bind(at)
            .fetch_optional(&mut tx)
            .await?;
        Sql::new(BUMP_EPOCH).execute(&mut tx).await?;
        tx.commit().await?;
        Ok(row.map(ApiKeyInfo::from))
    }

    async fn gs1_prefixes(&self, org_id: Uuid) -> Result<Vec<Gs1PrefixEntry>, StoreError> {
        let rows: Vec<Gs1Row> = Sql::new(format!(
            "SELECT {GS1_COLUMNS} FROM gs1_prefixes WHERE org_id = $1 ORDER BY prefix"
        ))
        .bind(org_id)
        .fetch_all(self.db.reader())
        .await?;
        rows.into_iter().map(Gs1PrefixEntry::try_from).collect()
    }

    async fn insert_gs1_prefix(
        &self,
        entry: &Gs1PrefixEntry,
    ) -> Result<Option<Gs1PrefixEntry>, StoreError> {
        let mut tx = self.db.begin().await?;
        // Overlap is no uniqueness constraint: concurrent additions are serialised (SQLite has
        // one writer already).
        if let Some(lock) = self.db.dialect().lock_table("gs1_prefixes") {
            Sql::new(lock).execute(&mut tx).await?;
        }
        let clash: Option<Gs1Row> = Sql::new(format!(
            "SELECT {GS1_COLUMNS} FROM gs1_prefixes \
             WHERE (substr(prefix, 1, length($1)) = $1 OR substr($1, 1, length(prefix)) = prefix) \
             AND (org_id <> $2 OR prefix = $1) ORDER BY prefix LIMIT 1"
        ))
        .bind(entry.prefix.as_str())
        .bind(entry.org_id)
        .fetch_optional(&mut tx)
        .await?;
        if let Some(clash) = clash {
            tx.rollback().await?;
            return Ok(Some(clash.try_into()?));
        }
        Sql::new(format!(
            "INSERT INTO gs1_prefixes ({GS1_COLUMNS}) VALUES ($1, $2, $3, $4, $5)"
        ))
        .bind(entry.org_id)
        .bind(entry.prefix.as_str())
        .bind(entry.kind.as_str())
        .bind(entry.grandfathered)
        .bind(entry.created_at)
        .execute(&mut tx)
        .await?;
        tx.commit().await?;
        Ok(None)
    }

    async fn delete_gs1_prefix(
        &self,
        org_id: Uuid,
        prefix: &str,
    ) -> Result<Option<Gs1PrefixEntry>, StoreError> {
        let row: Option<Gs1Row> = Sql::new(format!(
            "DELETE FROM gs1_prefixes WHERE org_id = $1 AND prefix = $2 RETURNING {GS1_COLUMNS}"
        ))
        .bind(org_id)
        .bind(prefix)
        .fetch_optional(self.db.writer())
        .await?;
        row.map(Gs1PrefixEntry::try_from).transpose()
    }
}
