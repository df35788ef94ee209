//! Organisations' signing keys (`signing_keys`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::SqlIssuing;
use crate::crypto::Reseal;
use crate::db::{Sql, StoreError, reseal_rows};
use crate::domain::issuing::{Rotation, SigningKeyRow};

#[async_trait]
pub trait SigningKeyStore: Send + Sync {
    /// Adds a key, retiring or revoking the organisation's other keys in the same transaction.
    async fn insert_key(&self, key: &SigningKeyRow, rotation: Rotation) -> Result<(), StoreError>;
    /// All keys of an organisation, oldest first.
    async fn org_keys(&self, org_id: Uuid) -> Result<Vec<SigningKeyRow>, StoreError>;
    /// Every key's id and sealed secret (for a master key rotation).
    async fn sealed_keys(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError>;
    /// Rewrites sealed secrets in one transaction, each only if it still holds `from`;
    /// otherwise nothing is written and the answer is a conflict.
    async fn reseal_keys(&self, changes: &[Reseal]) -> Result<(), StoreError>;
}

struct KeyDb {
    id: String,
    org_id: Uuid,
    public_key: Vec<u8>,
    sealed_secret: Vec<u8>,
    created_at: DateTime<Utc>,
    retired_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

crate::record!(KeyDb {
    id,
    org_id,
    public_key,
    sealed_secret,
    created_at,
    retired_at,
    revoked_at,
});

impl From<KeyDb> for SigningKeyRow {
    fn from(r: KeyDb) -> Self {
        SigningKeyRow {
            id: r.id,
            org_id: r.org_id,
            public_key: r.public_key,
            sealed_secret: r.sealed_secret,
            created_at: r.created_at,
            retired_at: r.retired_at,
            revoked_at: r.revoked_at,
        }
    }
}

const RETIRE_OTHERS: &str =
    "UPDATE signing_keys SET retired_at = COALESCE(retired_at, $2) WHERE org_id = $1";
const REVOKE_OTHERS: &str = "UPDATE signing_keys SET retired_at = COALESCE(retired_at, $2), \
     revoked_at = COALESCE(revoked_at, $2) WHERE org_id = $1";
const INSERT_KEY: &str = "INSERT INTO signing_keys \
     (id, org_id, public_key, sealed_secret, created_at, retired_at, revoked_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";
const ORG_KEYS: &str = "SELECT id, org_id, public_key, sealed_secret, created_at, retired_at, \
     revoked_at FROM signing_keys WHERE org_id = $1 ORDER BY created_at, id";
const SEALED_KEYS: &str = "SELECT id, sealed_secret FROM signing_keys ORDER BY id";

#[async_trait]
impl SigningKeyStore for SqlIssuing {
    async fn insert_key(&self, key: &SigningKeyRow, rotation: Rotation) -> Result<(), StoreError> {
        let mut tx = self.db.begin().await?;
        let others = match rotation {
            Rotation::None => None,
            Rotation::Retire => Some(RETIRE_OTHERS),
            Rotation::Revoke => Some(REVOKE_OTHERS),
        };
        if let Some(text) = others {
            Sql::new(text)
                .bind(key.org_id)
                .bind(key.created_at)
                .execute(&mut tx)
                .await?;
        }
        Sql::new(INSERT_KEY)
            .bind(&key.id)
            .bind(key.org_id)
            .bind(&key.public_key)
            .bind(&key.sealed_secret)
            .bind(key.created_at)
            .bind(key.retired_at)
            .bind(key.revoked_at)
            .execute(&mut tx)
            .await?;
        tx.commit().await
    }

    async fn org_keys(&self, org_id: Uuid) -> Result<Vec<SigningKeyRow>, StoreError> {
        let rows: Vec<KeyDb> = Sql::new(ORG_KEYS)
            .bind(org_id)
            .fetch_all(self.db.reader())
            .await?;
        Ok(rows.into_iter().map(SigningKeyRow::from).collect())
    }

    async fn sealed_keys(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        // On the writer: a rotation plans from what is committed, not from a lagging reader.
        Sql::new(SEALED_KEYS).fetch_all(self.db.writer()).await
    }

    async fn reseal_keys(&self, changes: &[Reseal]) -> Result<(), StoreError> {
        reseal_rows(&self.db, "signing_keys", "id", changes).await
    }
}
