//! The deposits feed's producer: `org.reetrace.deposit.recorded`, `.versioned` and `.withdrawn`
//! events, in commit order, as CloudEvents for the stock service (read in process through
//! [`DepositFeed`], or over HTTP through core's feed routes).
//!
//! A recorded or versioned event carries what the stock service adds up, all of it public
//! (deposits are open data): type, status, country, NUTS region, whether the record is an
//! illustration, the tonnage and, per element, the content in kg with its standard uncertainty,
//! computed by the same rules as the deposit's own answer. A withdrawal names the deposit.

use std::sync::Arc;

use async_trait::async_trait;
use reetrace_core::domain::feed::{CloudEvent, SPEC_VERSION};
use reetrace_core::service::feed::{FeedError, FeedSource};
use serde_json::{Value, json};

use crate::domain::deposit::{Deposit, DepositInput};
use crate::service::views::content_views;
use crate::store::{DepositEventKind, DepositFeedRow, DepositStore};

/// The stream name.
pub const STREAM: &str = "deposits";
/// The `source` of our events.
pub const SOURCE: &str = "/reetrace/deposits";

/// Reads the deposits feed from the store.
pub struct DepositFeed {
    store: Arc<dyn DepositStore>,
}

impl DepositFeed {
    pub fn new(store: Arc<dyn DepositStore>) -> Self {
        Self { store }
    }
}

/// What an event says of the version it names.
fn figures(row: &DepositFeedRow) -> Result<Value, FeedError> {
    let malformed = |why: String| {
        FeedError::Malformed(format!(
            "deposit {} version {}: {why}",
            row.deposit_id, row.version
        ))
    };
    let (Some(record), Some(recorded_at)) = (&row.record, row.recorded_at) else {
        return Err(malformed("no stored record".into()));
    };
    let input: DepositInput = serde_json::from_str(record).map_err(|e| malformed(e.to_string()))?;
    let deposit = Deposit::stored(&input, recorded_at.date_naive())
        .map_err(|e| malformed(format!("{e:?}")))?;
    let content: Vec<Value> = content_views(&deposit)
        .into_iter()
        .map(|c| {
            json!({
                "element": c.element,
                "kg": c.content_kg,
                "uncertainty_kg": c.content_uncertainty_kg,
                "exact": c.exact,
            })
        })
        .collect();
    Ok(json!({
        "type": deposit.deposit_type.as_str(),
        "status": deposit.status.as_str(),
        "country": deposit.country.code(),
        "nuts": deposit.nuts,
        "illustrative": deposit.illustrative,
        "tonnes": deposit.tonnage.value.to_f64(),
        "content": content,
    }))
}

/// The event a stored feed row stands for.
pub fn to_event(row: DepositFeedRow) -> Result<CloudEvent, FeedError> {
    let mut data = json!({
        "deposit_id": row.deposit_id,
        "version": row.version,
        "org_id": row.org_id,
    });
    if row.kind != DepositEventKind::Withdrawn {
        data["deposit"] = figures(&row)?;
    }
    Ok(CloudEvent {
        specversion: SPEC_VERSION.to_owned(),
        id: row.event_id.to_string(),
        source: SOURCE.to_owned(),
        kind: format!("org.reetrace.{}", row.kind.as_str()),
        subject: Some(row.deposit_id.to_string()),
        time: row.occurred_at,
        datacontenttype: "application/json".to_owned(),
        sequence: row.seq.to_string(),
        data,
    })
}

#[async_trait]
impl FeedSource for DepositFeed {
    fn stream(&self) -> &str {
        STREAM
    }

    async fn read(&self, after: i64, limit: u32) -> Result<Vec<CloudEvent>, FeedError> {
        let rows = self.store.feed_after(after, limit).await?;
        rows.into_iter().map(to_event).collect()
    }
}
