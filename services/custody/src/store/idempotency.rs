//! The answers to idempotent requests, kept with the writes they made (by
//! [`WriteStore::write`](super::WriteStore::write)).

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reetrace_core::db::{Db, Sql, StoreError};
use reetrace_core::domain::idempotency::{StoredResponse, fingerprint_from_bytes};
use reetrace_core::service::idempotency_retention::IdempotentAnswers;
use uuid::Uuid;

use super::SqlCustody;
use super::codec::fits;

/// Reads stored answers.
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// The answer stored for `key` of `org_id`, if any.
    async fn stored_response(
        &self,
        org_id: Uuid,
        key: &str,
    ) -> Result<Option<StoredResponse>, StoreError>;
}

#[async_trait]
impl IdempotencyStore for SqlCustody {
    async fn stored_response(
        &self,
        org_id: Uuid,
        key: &str,
    ) -> Result<Option<StoredResponse>, StoreError> {
        let row: Option<(Vec<u8>, i64, String, String)> = Sql::new(
            "SELECT fingerprint, status, content_type, body FROM custody_idempotency WHERE org_id = $1 AND key = $2",
        )
        .bind(org_id)
        .bind(key)
        .fetch_optional(self.db.reader())
        .await?;
        row.map(|(fingerprint, status, content_type, body)| {
            Ok(StoredResponse {
                fingerprint: fingerprint_from_bytes(&fingerprint),
                status: fits("idempotent status", status)?,
                content_type,
                body,
            })
        })
        .transpose()
    }
}

/// The custody answers, pruned past their retention.
pub fn idempotent_answers(db: &Db) -> Arc<dyn IdempotentAnswers> {
    Arc::new(SqlCustody { db: db.clone() })
}

#[async_trait]
impl IdempotentAnswers for SqlCustody {
    async fn prune_answers(&self, cutoff: DateTime<Utc>) -> Result<u64, StoreError> {
        Sql::new("DELETE FROM custody_idempotency WHERE created_at < $1")
            .bind(cutoff)
            .execute(self.db.writer())
            .await
    }
}
