//! Feed events a consumer could not apply, kept aside (`feed_quarantine`, in the kernel's own
//! migrations) so that the consumer moves on; see [`crate::service::feed`].

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::db::{Db, Sql, StoreError};
use crate::domain::feed::CloudEvent;

/// One quarantined event.
#[derive(Debug, Clone, PartialEq)]
pub struct QuarantinedEvent {
    /// The consumer that could not apply it (e.g. `stock.passports`).
    pub consumer: String,
    pub stream: String,
    pub seq: i64,
    /// Events of the same subject wait with the first one quarantined.
    pub subject: Option<String>,
    pub event: CloudEvent,
    pub reason: String,
    pub quarantined_at: DateTime<Utc>,
}

#[async_trait]
pub trait QuarantineStore: Send + Sync {
    /// Keeps events aside (an event kept already stays as it was).
    async fn quarantine(&self, events: &[QuarantinedEvent]) -> Result<(), StoreError>;
    /// Which of `subjects` have events in quarantine for `consumer`.
    async fn held_subjects(
        &self,
        consumer: &str,
        subjects: &[&str],
    ) -> Result<HashSet<String>, StoreError>;
    /// Quarantined events, by consumer and sequence, after `after`, at most `limit`.
    async fn list(
        &self,
        consumer: Option<&str>,
        after: Option<(&str, i64)>,
        limit: u32,
    ) -> Result<Vec<QuarantinedEvent>, StoreError>;
    /// One quarantined event.
    async fn get(&self, consumer: &str, seq: i64) -> Result<Option<QuarantinedEvent>, StoreError>;
    /// The quarantined events of `consumer` that wait with the one at `seq` (same subject, or
    /// that one alone when it has none), in feed order.
    async fn waiting_with(
        &self,
        consumer: &str,
        seq: i64,
    ) -> Result<Vec<QuarantinedEvent>, StoreError>;
    /// Takes events out of quarantine (after they were applied).
    async fn release(&self, consumer: &str, seqs: &[i64]) -> Result<(), StoreError>;
    /// How many events are in quarantine.
    async fn count(&self) -> Result<i64, StoreError>;
}

/// The store for a database.
pub fn open(db: &Db) -> Arc<dyn QuarantineStore> {
    Arc::new(SqlQuarantine { db: db.clone() })
}

struct SqlQuarantine {
    db: Db,
}

const COLUMNS: &str = "consumer, seq, stream, event_id, subject, event, reason, quarantined_at";

struct Row {
    consumer: String,
    seq: i64,
    stream: String,
    subject: Option<String>,
    event: String,
    reason: String,
    quarantined_at: DateTime<Utc>,
}

crate::record!(Row {
    consumer,
    seq,
    stream,
    subject,
    event,
    reason,
    quarantined_at,
});

impl TryFrom<Row> for QuarantinedEvent {
    type Error = StoreError;

    fn try_from(row: Row) -> Result<Self, StoreError> {
        Ok(QuarantinedEvent {
            event: serde_json::from_str(&row.event)
                .map_err(|e| StoreError::Corrupt(format!("quarantined event: {e}")))?,
            consumer: row.consumer,
            stream: row.stream,
            seq: row.seq,
            subject: row.subject,
            reason: row.reason,
            quarantined_at: row.quarantined_at,
        })
    }
}

fn select(filter: &str) -> String {
    format!(
        "SELECT consumer, seq, stream, subject, event, reason, quarantined_at \
         FROM feed_quarantine {filter}"
    )
}

#[async_trait]
impl QuarantineStore for SqlQuarantine {
    async fn quarantine(&self, events: &[QuarantinedEvent]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let rows = events
            .iter()
            .map(|e| {
                serde_json::to_string(&e.event)
                    .map(|json| (e, json))
                    .map_err(|err| StoreError::Corrupt(err.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        for chunk in rows.chunks(200) {
            let mut sql = Sql::new(format!("INSERT INTO feed_quarantine ({COLUMNS}) "));
            sql.push_values(chunk, |row, (e, json)| {
                row.bind(e.consumer.as_str())
                    .bind(e.seq)
                    .bind(e.stream.as_str())
                    .bind(e.event.id.as_str())
                    .bind(e.subject.as_deref())
                    .bind(json.as_str())
                    .bind(e.reason.as_str())
                    .bind(e.quarantined_at);
            });
            sql.push(" ON CONFLICT (consumer, seq) DO NOTHING");
            sql.execute(self.db.writer()).await?;
        }
        Ok(())
    }

    async fn held_subjects(
        &self,
        consumer: &str,
        subjects: &[&str],
    ) -> Result<HashSet<String>, StoreError> {
        let mut held = HashSet::new();
        for chunk in subjects.chunks(500) {
            let mut sql =
                Sql::new("SELECT DISTINCT subject FROM feed_quarantine WHERE consumer = ");
            sql.push_bind(consumer);
            sql.push(" AND subject IN ");
            sql.push_list(chunk.iter().copied());
            let found: Vec<String> = sql.scalars(self.db.reader()).await?;
            held.extend(found);
        }
        Ok(held)
    }

    async fn list(
        &self,
        consumer: Option<&str>,
        after: Option<(&str, i64)>,
        limit: u32,
    ) -> Result<Vec<QuarantinedEvent>, StoreError> {
        let mut sql = Sql::new(select("WHERE 1 = 1"));
        if let Some(consumer) = consumer {
            sql.push(" AND consumer = ").push_bind(consumer);
        }
        if let Some((consumer, seq)) = after {
            sql.push(" AND (consumer > ")
                .push_bind(consumer)
                .push(" OR (consumer = ")
                .push_bind(consumer)
                .push(" AND seq > ")
                .push_bind(seq)
                .push("))");
        }
        sql.push(" ORDER BY consumer, seq LIMIT ")
            .push_bind(i64::from(limit));
        let rows: Vec<Row> = sql.fetch_all(self.db.reader()).await?;
        rows.into_iter().map(QuarantinedEvent::try_from).collect()
    }

    async fn get(&self, consumer: &str, seq: i64) -> Result<Option<QuarantinedEvent>, StoreError> {
        let row: Option<Row> = Sql::new(select("WHERE consumer = $1 AND seq = $2"))
            .bind(consumer)
            .bind(seq)
            .fetch_optional(self.db.reader())
            .await?;
        row.map(QuarantinedEvent::try_from).transpose()
    }

    async fn waiting_with(
        &self,
        consumer: &str,
        seq: i64,
    ) -> Result<Vec<QuarantinedEvent>, StoreError> {
        let Some(first) = self.get(consumer, seq).await? else {
            return Ok(Vec::new());
        };
        let Some(subject) = &first.subject else {
            return Ok(vec![first]);
        };
        let rows: Vec<Row> = Sql::new(select("WHERE consumer = $1 AND subject = $2 ORDER BY seq"))
            .bind(consumer)
            .bind(subject.as_str())
            .fetch_all(self.db.reader())
            .await?;
        rows.into_iter().map(QuarantinedEvent::try_from).collect()
    }

    async fn release(&self, consumer: &str, seqs: &[i64]) -> Result<(), StoreError> {
        for chunk in seqs.chunks(500) {
            let mut sql = Sql::new("DELETE FROM feed_quarantine WHERE consumer = ");
            sql.push_bind(consumer);
            sql.push(" AND seq IN ");
            sql.push_list(chunk.iter().copied());
            sql.execute(self.db.writer()).await?;
        }
        Ok(())
    }

    async fn count(&self) -> Result<i64, StoreError> {
        Sql::new("SELECT COUNT(*) FROM feed_quarantine")
            .scalar(self.db.reader())
            .await
    }
}
