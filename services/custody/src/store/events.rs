//! Stored events and the chain links they made (appended by
//! [`WriteStore::write`](super::WriteStore::write)): by id, by subject, by EPCIS query, and in
//! leaf order for the custody feed and log verification.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reetrace_core::db::{Sql, StoreError};
use uuid::Uuid;

use super::SqlCustody;
use super::codec::CHUNK;
use crate::domain::event::{
    ChainLink, EventFilter, EventRow, EventValue, ScanKey, ScanOrder, ScanPosition,
};

pub(super) const EVENT_COLUMNS: &str = "leaf_index, event_id, event_hash, event_type, action, biz_step, biz_location, org_id, \
     event_time, document, data, leaf_hash, recorded_at, salt, hash_version";

/// Reads events and chain links.
#[async_trait]
pub trait EventStore: Send + Sync {
    async fn event(&self, event_id: &str) -> Result<Option<EventRow>, StoreError>;
    /// The stored events among `event_ids` (idempotent capture checks a document at once).
    async fn events_by_id(&self, event_ids: &[String]) -> Result<Vec<EventRow>, StoreError>;
    /// The events in a subject's chain, in chain order, with their links.
    async fn chain_of(&self, subject_id: Uuid) -> Result<Vec<(ChainLink, EventRow)>, StoreError>;
    /// The leaves in `[from, to)` whose events `org` is involved in (see [`push_involving`]).
    async fn involved_leaves(
        &self,
        from: i64,
        to: i64,
        org: Uuid,
    ) -> Result<std::collections::HashSet<i64>, StoreError>;
    /// Whether `org` is involved in the event at `leaf_index` (see [`push_involving`]).
    async fn involves(&self, leaf_index: i64, org: Uuid) -> Result<bool, StoreError>;
    /// Events matching `filter` in `order`, strictly after `after` (from the start when none),
    /// at most `limit`.
    async fn query(
        &self,
        filter: &EventFilter,
        order: ScanOrder,
        after: Option<ScanPosition>,
        limit: u32,
    ) -> Result<Vec<EventRow>, StoreError>;
    /// The distinct values of `kind` in the events `involving` is involved in (every event when
    /// none), in the backend's text order, strictly after `after`, at most `limit`.
    async fn values(
        &self,
        kind: EventValue,
        involving: Option<Uuid>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<String>, StoreError>;
    /// Events with leaf index >= `from`, at most `limit` (the feed and log verification).
    async fn events_from(&self, from: i64, limit: u32) -> Result<Vec<EventRow>, StoreError>;
    /// Chain links of the events with leaf index in `[from, to)`.
    async fn links_between(&self, from: i64, to: i64) -> Result<Vec<ChainLink>, StoreError>;
}

struct EventDb {
    leaf_index: i64,
    event_id: String,
    event_hash: String,
    event_type: String,
    action: String,
    biz_step: Option<String>,
    biz_location: Option<String>,
    org_id: Uuid,
    event_time: DateTime<Utc>,
    document: String,
    data: String,
    leaf_hash: Vec<u8>,
    recorded_at: DateTime<Utc>,
    salt: Option<Vec<u8>>,
    hash_version: Option<i64>,
}

reetrace_core::record!(EventDb {
    leaf_index,
    event_id,
    event_hash,
    event_type,
    action,
    biz_step,
    biz_location,
    org_id,
    event_time,
    document,
    data,
    leaf_hash,
    recorded_at,
    salt,
    hash_version,
});

impl From<EventDb> for EventRow {
    fn from(r: EventDb) -> Self {
        EventRow {
            leaf_index: r.leaf_index,
            event_id: r.event_id,
            event_hash: r.event_hash,
            event_type: r.event_type,
            action: r.action,
            biz_step: r.biz_step,
            biz_location: r.biz_location,
            org_id: r.org_id,
            event_time: r.event_time,
            document: r.document,
            data: r.data,
            leaf_hash: r.leaf_hash,
            recorded_at: r.recorded_at,
            salt: r.salt,
            // None: restored from an archive made before versions were recorded.
            hash_version: r.hash_version.unwrap_or(1),
        }
    }
}

struct LinkDb {
    subject_id: Uuid,
    seq: i64,
    leaf_index: i64,
    link: Vec<u8>,
}

reetrace_core::record!(LinkDb {
    subject_id,
    seq,
    leaf_index,
    link,
});

impl From<LinkDb> for ChainLink {
    fn from(r: LinkDb) -> Self {
        ChainLink {
            subject_id: r.subject_id,
            seq: r.seq,
            leaf_index: r.leaf_index,
            link: r.link,
        }
    }
}

fn events(rows: Vec<EventDb>) -> Vec<EventRow> {
    rows.into_iter().map(EventRow::from).collect()
}

/// `AND {column} IN (...)` when there are values to match.
fn any_of<'q>(sql: &mut Sql<'q>, column: &str, values: &'q [String]) {
    if values.is_empty() {
        return;
    }
    sql.push(&format!(" AND {column} IN "));
    sql.push_list(values.iter().map(String::as_str));
}

#[async_trait]
impl EventStore for SqlCustody {
    async fn event(&self, event_id: &str) -> Result<Option<EventRow>, StoreError> {
        let row: Option<EventDb> = Sql::new(format!(
            "SELECT {EVENT_COLUMNS} FROM custody_events WHERE event_id = $1"
        ))
        .bind(event_id)
        .fetch_optional(self.db.reader())
        .await?;
        Ok(row.map(EventRow::from))
    }

    async fn events_by_id(&self, event_ids: &[String]) -> Result<Vec<EventRow>, StoreError> {
        let mut out = Vec::new();
        for chunk in event_ids.chunks(CHUNK) {
            let mut sql = Sql::new(format!(
                "SELECT {EVENT_COLUMNS} FROM custody_events WHERE event_id IN "
            ));
            sql.push_list(chunk.iter().map(String::as_str));
            let rows: Vec<EventDb> = sql.fetch_all(self.db.reader()).await?;
            out.extend(events(rows));
        }
        Ok(out)
    }

    async fn chain_of(&self, subject_id: Uuid) -> Result<Vec<(ChainLink, EventRow)>, StoreError> {
        let links: Vec<LinkDb> = Sql::new(
            "SELECT subject_id, seq, leaf_index, link FROM custody_chain WHERE subject_id = $1 ORDER BY seq",
        )
        .bind(subject_id)
        .fetch_all(self.db.reader())
        .await?;
        let rows: Vec<EventDb> = Sql::new(format!(
            "SELECT {EVENT_COLUMNS} FROM custody_events WHERE leaf_index IN \
             (SELECT leaf_index FROM custody_chain WHERE subject_id = $1)"
        ))
        .bind(subject_id)
        .fetch_all(self.db.reader())
        .await?;
        let mut by_leaf: HashMap<i64, EventRow> = rows
            .into_iter()
            .map(|e| (e.leaf_index, EventRow::from(e)))
            .collect();
        links
            .into_iter()
            .map(|l| {
                let event = by_leaf.remove(&l.leaf_index).ok_or_else(|| {
                    StoreError::Corrupt(format!("chain link to missing leaf {}", l.leaf_index))
                })?;
                Ok((ChainLink::from(l), event))
            })
            .collect()
    }

    async fn query(
        &self,
        filter: &EventFilter,
        order: ScanOrder,
        after: Option<ScanPosition>,
        limit: u32,
    ) -> Result<Vec<EventRow>, StoreError> {
        let column = match order.key {
            ScanKey::Log => None,
            ScanKey::EventTime => Some("event_time"),
            ScanKey::RecordTime => Some("recorded_at"),
        };
        let (beyond, direction) = if order.descending {
            ("<", "DESC")
        } else {
            (">", "ASC")
        };
        let mut sql = Sql::new(format!(
            "SELECT {EVENT_COLUMNS} FROM custody_events WHERE 1 = 1"
        ));
        // Keyset: strictly beyond the last position, ties broken by the leaf index.
        if let Some(after) = after {
            match (column, after.at) {
                (Some(column), Some(at)) => {
                    sql.push(&format!(" AND ({column} {beyond} "))
                        .push_bind(at)
                        .push(&format!(" OR ({column} = "))
                        .push_bind(at)
                        .push(&format!(" AND leaf_index {beyond} "))
                        .push_bind(after.leaf)
                        .push("))");
                }
                _ => {
                    sql.push(&format!(" AND leaf_index {beyond} "))
                        .push_bind(after.leaf);
                }
            }
        }
        any_of(&mut sql, "biz_step", &filter.biz_steps);
        any_of(&mut sql, "biz_location", &filter.biz_locations);
        any_of(&mut sql, "action", &filter.actions);
        for (values, roles) in [
            (
                &filter.any_epc,
                "('epc', 'parent', 'child', 'input', 'output')",
            ),
            (
                &filter.epc_class,
                "('class', 'input_class', 'output_class')",
            ),
        ] {
            if values.is_empty() {
                continue;
            }
            sql.push(&format!(
                " AND leaf_index IN (SELECT leaf_index FROM custody_event_epcs WHERE role IN {roles} AND epc IN "
            ));
            sql.push_list(values.iter().map(String::as_str));
            sql.push(")");
        }
        if let Some(org) = filter.involving {
            push_involving(&mut sql, org);
        }
        if let Some(from) = filter.time_from {
            sql.push(" AND event_time >= ").push_bind(from);
        }
        if let Some(before) = filter.time_before {
            sql.push(" AND event_time < ").push_bind(before);
        }
        match column {
            Some(column) => sql.push(&format!(
                " ORDER BY {column} {direction}, leaf_index {direction} LIMIT "
            )),
            None => sql.push(&format!(" ORDER BY leaf_index {direction} LIMIT ")),
        };
        sql.push_bind(i64::from(limit));
        let rows: Vec<EventDb> = sql.fetch_all(self.db.reader()).await?;
        Ok(events(rows))
    }

    async fn involved_leaves(
        &self,
        from: i64,
        to: i64,
        org: Uuid,
    ) -> Result<std::collections::HashSet<i64>, StoreError> {
        let mut sql = Sql::new("SELECT leaf_index FROM custody_events WHERE leaf_index >= ");
        sql.push_bind(from).push(" AND leaf_index < ").push_bind(to);
        push_involving(&mut sql, org);
        let leaves: Vec<i64> = sql.scalars(self.db.reader()).await?;
        Ok(leaves.into_iter().collect())
    }

    async fn involves(&self, leaf_index: i64, org: Uuid) -> Result<bool, StoreError> {
        let mut sql = Sql::new("SELECT leaf_index FROM custody_events WHERE leaf_index = ");
        sql.push_bind(leaf_index);
        push_involving(&mut sql, org);
        let found: Option<i64> = sql.scalar_optional(self.db.reader()).await?;
        Ok(found.is_some())
    }

    async fn values(
        &self,
        kind: EventValue,
        involving: Option<Uuid>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<String>, StoreError> {
        let dialect = self.db.dialect();
        let (value, from) = match kind {
            EventValue::BizStep => ("biz_step".to_owned(), "custody_events"),
            EventValue::BizLocation => ("biz_location".to_owned(), "custody_events"),
            EventValue::Disposition => (
                dialect.json_text("document", &["disposition"]),
                "custody_events",
            ),
            EventValue::ReadPoint => (
                dialect.json_text("document", &["readPoint", "id"]),
                "custody_events",
            ),
            EventValue::Epc => (
                "x.epc".to_owned(),
                "custody_event_epcs x JOIN custody_events \
                 ON custody_events.leaf_index = x.leaf_index",
            ),
        };
        let mut sql = Sql::new(format!(
            "SELECT DISTINCT {value} AS v FROM {from} WHERE {value} IS NOT NULL"
        ));
        if kind == EventValue::Epc {
            sql.push(" AND x.role IN ('epc', 'parent', 'child', 'input', 'output')");
        }
        if let Some(after) = after {
            sql.push(&format!(" AND {value} > ")).push_bind(after);
        }
        if let Some(org) = involving {
            push_involving(&mut sql, org);
        }
        sql.push(" ORDER BY v LIMIT ").push_bind(i64::from(limit));
        sql.scalars(self.db.reader()).await
    }

    async fn events_from(&self, from: i64, limit: u32) -> Result<Vec<EventRow>, StoreError> {
        let rows: Vec<EventDb> = Sql::new(format!(
            "SELECT {EVENT_COLUMNS} FROM custody_events WHERE leaf_index >= $1 ORDER BY leaf_index LIMIT $2"
        ))
        .bind(from)
        .bind(i64::from(limit))
        .fetch_all(self.db.reader())
        .await?;
        Ok(events(rows))
    }

    async fn links_between(&self, from: i64, to: i64) -> Result<Vec<ChainLink>, StoreError> {
        let rows: Vec<LinkDb> = Sql::new(
            "SELECT subject_id, seq, leaf_index, link FROM custody_chain \
             WHERE leaf_index >= $1 AND leaf_index < $2 ORDER BY leaf_index, subject_id",
        )
        .bind(from)
        .bind(to)
        .fetch_all(self.db.reader())
        .await?;
        Ok(rows.into_iter().map(ChainLink::from).collect())
    }
}

/// Keeps the events `org` is involved in: those it recorded, and those in the chain of a
/// product or lot it owns (a product's manufacturer), holds, or held (recorded an event in its
/// chain, as every holder's steps are). Checked per candidate row through the chain's leaf and
/// subject indexes, so a query's cost follows the rows it scans, not the organisation's size.
fn push_involving(sql: &mut Sql<'_>, org: Uuid) {
    sql.push(" AND (org_id = ").push_bind(org);
    sql.push(
        " OR EXISTS (SELECT 1 FROM custody_chain c WHERE c.leaf_index = custody_events.leaf_index \
         AND (EXISTS (SELECT 1 FROM custody_products p WHERE p.passport_id = c.subject_id \
         AND (p.org_id = ",
    )
    .push_bind(org)
    .push(" OR p.holder = ")
    .push_bind(org)
    .push(
        ")) OR EXISTS (SELECT 1 FROM custody_lots l WHERE l.lot_id = c.subject_id AND l.holder = ",
    )
    .push_bind(org)
    .push(
        ") OR EXISTS (SELECT 1 FROM custody_chain h JOIN custody_events e \
         ON e.leaf_index = h.leaf_index WHERE h.subject_id = c.subject_id AND e.org_id = ",
    )
    .push_bind(org)
    .push("))))");
}
