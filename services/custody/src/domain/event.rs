//! Events as custody keeps them: each a leaf of the transparency log, joining the hash chains of
//! the products and lots it names.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::log_leaf::EventRecord;

/// An event to append.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub event_id: String,
    pub event_hash: String,
    pub event_type: String,
    /// Our custody step (`collect`, `dismantling`...), `error_declaration`, or the EPCIS event
    /// type of an event stored as it is.
    pub action: String,
    pub biz_step: Option<String>,
    pub biz_location: Option<String>,
    pub event_time: DateTime<Utc>,
    pub org_id: Uuid,
    /// The exact EPCIS event JSON.
    pub document: String,
    /// The custody feed's payload (JSON).
    pub data: String,
    /// Products and lots whose chains the event joins, in order.
    pub subjects: Vec<Uuid>,
    /// Identifiers the event names, with their role (epc, class, input, output...).
    pub epcs: Vec<(String, &'static str)>,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    pub leaf_index: i64,
    pub event_id: String,
    pub event_hash: String,
    pub event_type: String,
    pub action: String,
    pub biz_step: Option<String>,
    pub biz_location: Option<String>,
    pub org_id: Uuid,
    pub event_time: DateTime<Utc>,
    pub document: String,
    pub data: String,
    pub leaf_hash: Vec<u8>,
    pub recorded_at: DateTime<Utc>,
    /// The random salt its leaf commits to (none before leaves were salted).
    pub salt: Option<Vec<u8>>,
    /// The event hash version `event_hash` was computed with
    /// ([`HashVersion::number`](crate::epcis::hash::HashVersion::number)); not covered by the
    /// leaf, which predates it for old events.
    pub hash_version: i64,
}

impl EventRow {
    /// The stored columns a covering leaf commits to.
    pub fn record(&self) -> EventRecord<'_> {
        EventRecord {
            event_hash: &self.event_hash,
            event_type: &self.event_type,
            action: &self.action,
            biz_step: self.biz_step.as_deref(),
            biz_location: self.biz_location.as_deref(),
            event_time: self.event_time,
            recorder: self.org_id,
            data: &self.data,
            recorded_at: self.recorded_at,
            salt: self.salt.as_deref(),
        }
    }
}

/// One link of a subject's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainLink {
    pub subject_id: Uuid,
    pub seq: i64,
    pub leaf_index: i64,
    pub link: Vec<u8>,
}

/// Filters of an EPCIS query, already translated to what the event index holds.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub biz_steps: Vec<String>,
    pub actions: Vec<String>,
    pub biz_locations: Vec<String>,
    pub any_epc: Vec<String>,
    pub epc_class: Vec<String>,
    pub time_from: Option<DateTime<Utc>>,
    pub time_before: Option<DateTime<Utc>>,
    /// Only events this organisation is involved in (a caller who is no authority).
    pub involving: Option<Uuid>,
}

/// A kind of value the events name, as the EPCIS 2.0 REST binding lists them
/// (`/bizSteps`, `/dispositions`, `/readPoints`, `/bizLocations`, `/epcs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventValue {
    /// Business steps, in the form the event index keeps them (a CBV word, a `ree:` term or an
    /// IRI).
    BizStep,
    /// Dispositions, as the events write them.
    Disposition,
    /// Read point ids, as the events write them.
    ReadPoint,
    /// Business location ids, in their canonical form.
    BizLocation,
    /// EPCs of `epcList`, `childEPCs`, `parentID`, `inputEPCList` and `outputEPCList`, as the
    /// event index keeps them.
    Epc,
}

impl EventValue {
    /// A short stable name (page tokens carry it).
    pub fn name(self) -> &'static str {
        match self {
            EventValue::BizStep => "bizSteps",
            EventValue::Disposition => "dispositions",
            EventValue::ReadPoint => "readPoints",
            EventValue::BizLocation => "bizLocations",
            EventValue::Epc => "epcs",
        }
    }
}

/// What a query's events are ordered by; ties are broken by the log position, in the same
/// direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanKey {
    /// The log position alone.
    Log,
    /// `event_time`.
    EventTime,
    /// `recorded_at`.
    RecordTime,
}

/// The order of a query's scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanOrder {
    pub key: ScanKey,
    pub descending: bool,
}

impl ScanOrder {
    /// The log order, earliest first.
    pub const LOG: ScanOrder = ScanOrder {
        key: ScanKey::Log,
        descending: false,
    };

    /// Where `row` stands in this order.
    pub fn position(&self, row: &EventRow) -> ScanPosition {
        ScanPosition {
            at: match self.key {
                ScanKey::Log => None,
                ScanKey::EventTime => Some(row.event_time),
                ScanKey::RecordTime => Some(row.recorded_at),
            },
            leaf: row.leaf_index,
        }
    }
}

/// A place in a scan: the events strictly after it (in the scan's order) come next. `at` is
/// the time of the key (none for the log order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanPosition {
    pub at: Option<DateTime<Utc>>,
    pub leaf: i64,
}

/// One event in a chain, as scans list them.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventSummary {
    pub event_id: String,
    pub action: String,
    pub at: DateTime<Utc>,
    /// The recording organisation.
    pub org_id: Uuid,
    pub leaf_index: i64,
    /// Position in this subject's hash chain (1 = first).
    pub chain_seq: i64,
    /// The chain link, hex.
    pub chain_link: String,
}

impl EventSummary {
    /// The summary of a stored event at `link` of a chain.
    pub fn of(link: &ChainLink, event: EventRow) -> EventSummary {
        EventSummary {
            event_id: event.event_id,
            action: event.action,
            at: event.event_time,
            org_id: event.org_id,
            leaf_index: event.leaf_index,
            chain_seq: link.seq,
            chain_link: hex::encode(&link.link),
        }
    }
}
