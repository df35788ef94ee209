//! Events between services: CloudEvents 1.0 in the JSON format, with the `sequence` extension.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// The CloudEvents spec version we speak.
pub const SPEC_VERSION: &str = "1.0";

/// One event of a feed (CloudEvents 1.0, JSON format, with the `sequence` extension).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CloudEvent {
    pub specversion: String,
    /// Unique per event (a UUID).
    pub id: String,
    /// The producing service, e.g. `/reetrace/passport`.
    pub source: String,
    /// e.g. `org.reetrace.passport.issued`.
    #[serde(rename = "type")]
    pub kind: String,
    /// What the event is about (a passport or lot id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub time: DateTime<Utc>,
    pub datacontenttype: String,
    /// Position in the stream (CloudEvents `sequence` extension), as a decimal string.
    pub sequence: String,
    #[schema(value_type = Object)]
    pub data: Value,
}

impl CloudEvent {
    /// The position of the event in its stream.
    pub fn seq(&self) -> Result<i64, String> {
        self.sequence
            .parse()
            .map_err(|_| format!("sequence {:?} is not a number", self.sequence))
    }
}

/// A page of a feed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FeedPage {
    pub events: Vec<CloudEvent>,
    /// The cursor to read after next (the last event's sequence, or the one given).
    pub next_after: i64,
}
