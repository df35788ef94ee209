//! The audit trail of authority reads: appended to on every request made with an authority's
//! key, listed newest first for admins, pruned past its retention. The table is the kernel's
//! (`migrations/core/`) and travels in backups.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::{Db, Sql, StoreError};
use crate::domain::audit::{AuditEntry, AuditFilter};

/// Storage of the audit trail.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends one entry.
    async fn append(&self, entry: &AuditEntry) -> Result<(), StoreError>;
    /// The entries that match `filter`, newest first (by id), before the entry `before`, at
    /// most `limit`.
    async fn list(
        &self,
        filter: &AuditFilter,
        before: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError>;
    /// Removes the entries older than `cutoff`; returns how many.
    async fn prune(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// The store for a database.
pub fn open(db: &Db) -> Arc<dyn AuditStore> {
    Arc::new(SqlAuditTrail { db: db.clone() })
}

/// The audit trail on SQLite or PostgreSQL.
#[derive(Debug, Clone)]
pub struct SqlAuditTrail {
    db: Db,
}

struct EntryRow {
    id: Uuid,
    at: DateTime<Utc>,
    org_id: Uuid,
    org_name: String,
    key_id: Uuid,
    key_prefix: String,
    method: String,
    route: String,
    path: String,
    query: Option<String>,
    status: i32,
}

crate::record!(EntryRow {
    id,
    at,
    org_id,
    org_name,
    key_id,
    key_prefix,
    method,
    route,
    path,
    query,
    status,
});

impl TryFrom<EntryRow> for AuditEntry {
    type Error = StoreError;

    fn try_from(row: EntryRow) -> Result<Self, StoreError> {
        Ok(AuditEntry {
            id: row.id,
            at: row.at,
            org_id: row.org_id,
            org_name: row.org_name,
            key_id: row.key_id,
            key_prefix: row.key_prefix,
            method: row.method,
            route: row.route,
            path: row.path,
            query: row.query,
            status: u16::try_from(row.status).map_err(|_| {
                StoreError::Corrupt(format!("audit entry {} has status {}", row.id, row.status))
            })?,
        })
    }
}

const COLUMNS: &str =
    "id, at, org_id, org_name, key_id, key_prefix, method, route, path, query, status";

#[async_trait]
impl AuditStore for SqlAuditTrail {
    async fn append(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        Sql::new(format!(
            "INSERT INTO audit_trail ({COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ))
        .bind(entry.id)
        .bind(entry.at)
        .bind(entry.org_id)
        .bind(entry.org_name.as_str())
        .bind(entry.key_id)
        .bind(entry.key_prefix.as_str())
        .bind(entry.method.as_str())
        .bind(entry.route.as_str())
        .bind(entry.path.as_str())
        .bind(entry.query.as_deref())
        .bind(i32::from(entry.status))
        .execute(self.db.writer())
        .await?;
        Ok(())
    }

    async fn list(
        &self,
        filter: &AuditFilter,
        before: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let mut sql = Sql::new(format!("SELECT {COLUMNS} FROM audit_trail WHERE 1 = 1"));
        if let Some(org_id) = filter.org_id {
            sql.push(" AND org_id = ").push_bind(org_id);
        }
        if let Some(key_id) = filter.key_id {
            sql.push(" AND key_id = ").push_bind(key_id);
        }
        if let Some(prefix) = &filter.key_prefix {
            sql.push(" AND key_prefix = ").push_bind(prefix.as_str());
        }
        if let Some(route) = &filter.route {
            sql.push(" AND route = ").push_bind(route.as_str());
        }
        if let Some(since) = filter.since {
            sql.push(" AND at >= ").push_bind(since);
        }
        if let Some(until) = filter.until {
            sql.push(" AND at < ").push_bind(until);
        }
        if let Some(before) = before {
            sql.push(" AND id < ").push_bind(before);
        }
        sql.push(" ORDER BY id DESC LIMIT ")
            .push_bind(i64::from(limit));
        let rows: Vec<EntryRow> = sql.fetch_all(self.db.reader()).await?;
        rows.into_iter().map(AuditEntry::try_from).collect()
    }

    async fn prune(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        Sql::new("DELETE FROM audit_trail WHERE at < $1")
            .bind(cutoff)
            .execute(self.db.writer())
            .await
    }
}
