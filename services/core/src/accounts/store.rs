//! The account stores for SQLite and PostgreSQL.
//!
//! The accounts SQL is plain enough to be the same text on both backends (both take `$n`
//! placeholders and `RETURNING`), so one macro writes both native implementations; the column
//! types differ (BLOB/TEXT on SQLite, uuid/timestamptz on PostgreSQL) and sqlx encodes each.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgPool;
use uuid::Uuid;

use super::{AccountStore, ApiKeyInfo, KeyRow, Org, key_record, operator_id};
use crate::auth::{KeyLookup, KeyRecord, Role};
use crate::db::{SqliteDb, StoreError};
use crate::domain::OperatorId;

/// Accounts on SQLite.
#[derive(Debug, Clone)]
pub struct SqliteAccounts {
    db: SqliteDb,
}

impl SqliteAccounts {
    pub fn new(db: SqliteDb) -> Self {
        Self { db }
    }
}

/// Accounts on PostgreSQL.
#[derive(Debug, Clone)]
pub struct PgAccounts {
    pool: PgPool,
}

impl PgAccounts {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

#[derive(sqlx::FromRow)]
struct OrgRow {
    id: Uuid,
    name: String,
    role: String,
    operator_scheme: Option<String>,
    operator_id: Option<String>,
    created_at: DateTime<Utc>,
}

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

#[derive(sqlx::FromRow)]
struct KeyInfoRow {
    id: Uuid,
    org_id: Uuid,
    prefix: String,
    label: Option<String>,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
}

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

#[derive(sqlx::FromRow)]
struct KeyLookupRow {
    key_id: Uuid,
    org_id: Uuid,
    org_name: String,
    role: String,
    hash: Vec<u8>,
    revoked: bool,
}

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

macro_rules! account_store {
    ($store:ty, $write:ident, $read:ident) => {
        #[async_trait]
        impl KeyLookup for $store {
            async fn key_by_prefix(&self, prefix: &str) -> Result<Option<KeyRecord>, StoreError> {
                let row: Option<KeyLookupRow> = sqlx::query_as(KEY_BY_PREFIX)
                    .bind(prefix)
                    .fetch_optional(self.$read())
                    .await?;
                row.map(|r| key_record(r.key_id, r.org_id, r.org_name, &r.role, &r.hash, r.revoked))
                    .transpose()
            }
        }

        #[async_trait]
        impl AccountStore for $store {
            async fn insert_org(&self, org: &Org, key: &KeyRow) -> Result<(), StoreError> {
                let mut tx = self.$write().begin().await?;
                let (scheme, value) = match &org.operator_id {
                    Some(id) => (Some(id.scheme().to_string()), Some(id.value().to_owned())),
                    None => (None, None),
                };
                sqlx::query(INSERT_ORG)
                    .bind(org.id)
                    .bind(&org.name)
                    .bind(org.role.as_str())
                    .bind(scheme)
                    .bind(value)
                    .bind(org.created_at)
                    .execute(&mut *tx)
                    .await?;
                bind_key(sqlx::query(INSERT_KEY), key)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn org(&self, id: Uuid) -> Result<Option<Org>, StoreError> {
                let row: Option<OrgRow> = sqlx::query_as(SELECT_ORG)
                    .bind(id)
                    .fetch_optional(self.$read())
                    .await?;
                row.map(Org::try_from).transpose()
            }

            async fn org_by_operator(
                &self,
                operator: &OperatorId,
            ) -> Result<Option<Org>, StoreError> {
                let row: Option<OrgRow> = sqlx::query_as(SELECT_ORG_BY_OPERATOR)
                    .bind(operator.scheme())
                    .bind(operator.value())
                    .fetch_optional(self.$read())
                    .await?;
                row.map(Org::try_from).transpose()
            }

            async fn list_orgs(
                &self,
                role: Option<Role>,
                after: Option<Uuid>,
                limit: u32,
            ) -> Result<Vec<Org>, StoreError> {
                let rows: Vec<OrgRow> = sqlx::query_as(LIST_ORGS)
                    .bind(role.map(Role::as_str))
                    .bind(after)
                    .bind(i64::from(limit))
                    .fetch_all(self.$read())
                    .await?;
                rows.into_iter().map(Org::try_from).collect()
            }

            async fn insert_key(&self, key: &KeyRow) -> Result<(), StoreError> {
                bind_key(sqlx::query(INSERT_KEY), key)
                    .execute(self.$write())
                    .await?;
                Ok(())
            }

            async fn list_keys(&self, org_id: Uuid) -> Result<Vec<ApiKeyInfo>, StoreError> {
                let rows: Vec<KeyInfoRow> = sqlx::query_as(LIST_KEYS)
                    .bind(org_id)
                    .fetch_all(self.$read())
                    .await?;
                Ok(rows.into_iter().map(ApiKeyInfo::from).collect())
            }

            async fn revoke_key(
                &self,
                org_id: Uuid,
                key_id: Uuid,
                at: DateTime<Utc>,
            ) -> Result<Option<ApiKeyInfo>, StoreError> {
                let row: Option<KeyInfoRow> = sqlx::query_as(REVOKE_KEY)
                    .bind(org_id)
                    .bind(key_id)
                    .bind(at)
                    .fetch_optional(self.$write())
                    .await?;
                Ok(row.map(ApiKeyInfo::from))
            }

            async fn revoke_key_by_prefix(
                &self,
                prefix: &str,
                at: DateTime<Utc>,
            ) -> Result<Option<ApiKeyInfo>, StoreError> {
                let row: Option<KeyInfoRow> = sqlx::query_as(REVOKE_KEY_BY_PREFIX)
                    .bind(prefix)
                    .bind(at)
                    .fetch_optional(self.$write())
                    .await?;
                Ok(row.map(ApiKeyInfo::from))
            }
        }
    };
}

fn bind_key<'q, DB>(
    query: sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments>,
    key: &KeyRow,
) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments>
where
    DB: sqlx::Database,
    Uuid: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Vec<u8>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    DateTime<Utc>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    query
        .bind(key.id)
        .bind(key.org_id)
        .bind(key.prefix.clone())
        .bind(key.hash.to_vec())
        .bind(key.label.clone())
        .bind(key.created_at)
}

impl SqliteAccounts {
    fn write(&self) -> &sqlx::SqlitePool {
        &self.db.write
    }
    fn read(&self) -> &sqlx::SqlitePool {
        &self.db.read
    }
}

impl PgAccounts {
    fn write(&self) -> &PgPool {
        &self.pool
    }
    fn read(&self) -> &PgPool {
        &self.pool
    }
}

account_store!(SqliteAccounts, write, read);
account_store!(PgAccounts, write, read);
