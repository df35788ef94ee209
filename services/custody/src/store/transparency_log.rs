//! The transparency log's own tables: its head (the number of leaves), the hashes of its
//! perfect subtrees, its signed checkpoints and its signing key (sealed under the master key).
//! Leaves and nodes are appended by [`WriteStore::write`](super::WriteStore::write).

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reetrace_core::crypto::Reseal;
use reetrace_core::db::{On, Sql, StoreError, reseal_rows};
use reetrace_core::merkle::{Hash, NodeId};

use super::SqlCustody;
use super::codec::{CHUNK, fits};
use crate::domain::transparency_log::StoredCheckpoint;

/// Reads the log's tree, checkpoints and key; publishes checkpoints.
#[async_trait]
pub trait TransparencyLogStore: Send + Sync {
    /// The number of leaves in the log.
    async fn log_size(&self) -> Result<i64, StoreError>;
    /// Stored node hashes among `ids`.
    async fn nodes(&self, ids: &[NodeId]) -> Result<HashMap<NodeId, Hash>, StoreError>;
    /// The newest checkpoint.
    async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError>;
    /// The checkpoint of exactly `size` leaves.
    async fn checkpoint_at(&self, size: i64) -> Result<Option<StoredCheckpoint>, StoreError>;
    /// The size and root of every checkpoint, smallest first (log verification checks each).
    async fn checkpoint_roots(&self) -> Result<Vec<(i64, Vec<u8>)>, StoreError>;
    async fn insert_checkpoint(
        &self,
        size: i64,
        root: &[u8],
        note: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// The log's signing key by name: (public key, sealed secret).
    async fn log_key(&self, name: &str) -> Result<Option<(Vec<u8>, Vec<u8>)>, StoreError>;
    /// Every log key's name and public key, oldest first (log verification opens the
    /// checkpoint with the one that fits).
    async fn log_public_keys(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError>;
    /// Every log key's name and sealed secret (for a master key rotation).
    async fn sealed_log_keys(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError>;
    /// Rewrites sealed log keys in one transaction, each only if it still holds `from`;
    /// otherwise nothing is written and the answer is a conflict.
    async fn reseal_log_keys(&self, changes: &[Reseal]) -> Result<(), StoreError>;
    /// Stores the log's key unless one exists; returns the one stored.
    async fn insert_log_key(
        &self,
        name: &str,
        public_key: &[u8],
        sealed: &[u8],
        at: DateTime<Utc>,
    ) -> Result<(Vec<u8>, Vec<u8>), StoreError>;
}

/// A node hash as its column holds it, read back.
pub(super) fn to_hash(bytes: &[u8]) -> Result<Hash, StoreError> {
    bytes
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("a log hash of {} bytes", bytes.len())))
}

pub(super) fn node_level(id: &NodeId) -> i64 {
    i64::from(id.level)
}

pub(super) fn node_index(id: &NodeId) -> Result<i64, StoreError> {
    i64::try_from(id.index).map_err(|_| StoreError::Corrupt("node index out of range".into()))
}

/// The stored hashes among `ids`, in one statement (on a pool or in a write transaction).
pub(super) async fn load_nodes(
    on: impl Into<On<'_>>,
    ids: &[NodeId],
) -> Result<HashMap<NodeId, Hash>, StoreError> {
    let mut out = HashMap::with_capacity(ids.len());
    if ids.is_empty() {
        return Ok(out);
    }
    let mut sql =
        Sql::new("SELECT level, idx, hash FROM custody_log_nodes WHERE (level, idx) IN (");
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.push("(");
        sql.push_bind(node_level(id));
        sql.push(", ");
        sql.push_bind(node_index(id)?);
        sql.push(")");
    }
    sql.push(")");
    let rows: Vec<(i64, i64, Vec<u8>)> = sql.fetch_all(on).await?;
    for (level, idx, hash) in rows {
        out.insert(
            NodeId::new(fits("node level", level)?, fits("node index", idx)?),
            to_hash(&hash)?,
        );
    }
    Ok(out)
}

struct CheckpointDb {
    size: i64,
    root: Vec<u8>,
    note: String,
}

reetrace_core::record!(CheckpointDb { size, root, note });

impl From<CheckpointDb> for StoredCheckpoint {
    fn from(r: CheckpointDb) -> Self {
        StoredCheckpoint {
            size: r.size,
            root: r.root,
            note: r.note,
        }
    }
}

const SELECT_LOG_KEY: &str =
    "SELECT public_key, sealed_secret FROM custody_log_keys WHERE name = $1";

#[async_trait]
impl TransparencyLogStore for SqlCustody {
    async fn log_size(&self) -> Result<i64, StoreError> {
        Sql::new("SELECT size FROM custody_log_head WHERE id = 1")
            .scalar(self.db.reader())
            .await
    }

    async fn nodes(&self, ids: &[NodeId]) -> Result<HashMap<NodeId, Hash>, StoreError> {
        let mut out = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(CHUNK) {
            out.extend(load_nodes(self.db.reader(), chunk).await?);
        }
        Ok(out)
    }

    async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
        let row: Option<CheckpointDb> =
            Sql::new("SELECT size, root, note FROM custody_checkpoints ORDER BY size DESC LIMIT 1")
                .fetch_optional(self.db.reader())
                .await?;
        Ok(row.map(StoredCheckpoint::from))
    }

    async fn checkpoint_at(&self, size: i64) -> Result<Option<StoredCheckpoint>, StoreError> {
        let row: Option<CheckpointDb> =
            Sql::new("SELECT size, root, note FROM custody_checkpoints WHERE size = $1")
                .bind(size)
                .fetch_optional(self.db.reader())
                .await?;
        Ok(row.map(StoredCheckpoint::from))
    }

    async fn checkpoint_roots(&self) -> Result<Vec<(i64, Vec<u8>)>, StoreError> {
        Sql::new("SELECT size, root FROM custody_checkpoints ORDER BY size")
            .fetch_all(self.db.reader())
            .await
    }

    async fn insert_checkpoint(
        &self,
        size: i64,
        root: &[u8],
        note: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        Sql::new(
            "INSERT INTO custody_checkpoints (size, root, note, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (size) DO NOTHING",
        )
        .bind(size)
        .bind(root)
        .bind(note)
        .bind(at)
        .execute(self.db.writer())
        .await?;
        Ok(())
    }

    async fn log_key(&self, name: &str) -> Result<Option<(Vec<u8>, Vec<u8>)>, StoreError> {
        Sql::new(SELECT_LOG_KEY)
            .bind(name)
            .fetch_optional(self.db.reader())
            .await
    }

    async fn log_public_keys(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        Sql::new("SELECT name, public_key FROM custody_log_keys ORDER BY created_at, name")
            .fetch_all(self.db.reader())
            .await
    }

    async fn sealed_log_keys(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        Sql::new("SELECT name, sealed_secret FROM custody_log_keys ORDER BY name")
            .fetch_all(self.db.writer())
            .await
    }

    async fn reseal_log_keys(&self, changes: &[Reseal]) -> Result<(), StoreError> {
        reseal_rows(&self.db, "custody_log_keys", "name", changes).await
    }

    async fn insert_log_key(
        &self,
        name: &str,
        public_key: &[u8],
        sealed: &[u8],
        at: DateTime<Utc>,
    ) -> Result<(Vec<u8>, Vec<u8>), StoreError> {
        Sql::new(
            "INSERT INTO custody_log_keys (name, public_key, sealed_secret, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(public_key)
        .bind(sealed)
        .bind(at)
        .execute(self.db.writer())
        .await?;
        Sql::new(SELECT_LOG_KEY)
            .bind(name)
            .fetch_one(self.db.writer())
            .await
    }
}
