//! Custody and the feeds: it keeps its own copy of what it needs from passports (so it works
//! when the passport service is down), and it publishes its events as the `custody` feed.

use std::sync::Arc;

use async_trait::async_trait;
use reetrace_core::db::StoreError;
use reetrace_core::domain::feed::{CloudEvent, SPEC_VERSION};
use reetrace_core::domain::{TrackedElement, passport_event};
use reetrace_core::service::feed::{FeedError, FeedSource, Projection};
use serde_json::Value;
use uuid::Uuid;

use crate::domain::balance::{Bag, ElementAmount};
use crate::domain::product::{
    Granularity, PassportChange, PassportCopy, PassportStatus, product_epc,
};
use crate::store::CustodyStore;

/// The custody stream.
pub const STREAM: &str = "custody";
/// The `source` of custody events.
pub const SOURCE: &str = "/reetrace/custody";

fn change_of(event: &CloudEvent, base_url: &str) -> Result<PassportChange, FeedError> {
    let malformed =
        |what: &str| FeedError::Malformed(format!("passport event {}: {what}", event.id));
    let data = &event.data;
    let passport_id: Uuid = data["passport_id"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| malformed("no passport_id"))?;
    match event.kind.as_str() {
        "org.reetrace.passport.issued" | "org.reetrace.passport.versioned" => {
            let subject = passport_event::facts(data).map_err(|e| malformed(&e))?;
            if subject.granularity == "model" {
                // A model is not a physical thing: nothing to collect.
                return Ok(PassportChange::Ignore);
            }
            let granularity = Granularity::parse(&subject.granularity)
                .ok_or_else(|| malformed(&format!("granularity {:?}", subject.granularity)))?;
            let org_id = data["org_id"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| malformed("no org_id"))?;
            let version = data["version"]
                .as_u64()
                .and_then(|v| u32::try_from(v).ok())
                .ok_or_else(|| malformed("no version"))?;
            // The B, Co and Ni of its magnets, which a dismantling may recover beside the rare
            // earths.
            let magnet_materials = subject.magnet_materials.clone();
            let p = &subject;
            let own = format!("{base_url}/p/{passport_id}");
            let epc = product_epc(&own, p.gtin.as_ref(), p.serial.as_ref(), granularity);
            Ok(PassportChange::Upsert(Box::new(PassportCopy {
                passport_id,
                org_id,
                version,
                granularity,
                gtin: p.gtin,
                serial: p.serial.clone(),
                lot: p.lot.clone(),
                units: p.units.unwrap_or(1),
                name: p.name.clone(),
                category: p.category,
                country: p.market_country,
                placed_on_market: p.market_date,
                net_mass_ug: p.net_mass.micrograms(),
                epc,
                elements: Bag::from_amounts(
                    &subject
                        .elements
                        .iter()
                        .map(|(element, mass_g)| (TrackedElement::from(*element), *mass_g))
                        .chain(magnet_materials)
                        .map(|(element, mass_g)| ElementAmount { element, mass_g })
                        .collect::<Vec<_>>(),
                ),
            })))
        }
        "org.reetrace.passport.status_changed" => {
            let status = data["status"]
                .as_str()
                .ok_or_else(|| malformed("no status"))?;
            Ok(PassportChange::Status {
                passport_id,
                status: PassportStatus::parse(status)
                    .ok_or_else(|| malformed(&format!("status {status:?}")))?,
            })
        }
        _ => Ok(PassportChange::Ignore),
    }
}

/// Keeps custody's copy of the passports from the passport feed.
pub struct PassportProjection {
    store: Arc<dyn CustodyStore>,
    base_url: String,
}

impl PassportProjection {
    /// `base_url` is our public base URL: products without an SGTIN are named by
    /// `<base>/p/{passport id}` in events.
    pub fn new(store: Arc<dyn CustodyStore>, base_url: String) -> Self {
        Self { store, base_url }
    }
}

#[async_trait]
impl Projection for PassportProjection {
    fn name(&self) -> &str {
        "custody.passports"
    }

    async fn cursor(&self, stream: &str) -> Result<i64, StoreError> {
        self.store.cursor(stream).await
    }

    async fn apply(&self, stream: &str, events: &[CloudEvent]) -> Result<(), StoreError> {
        let mut changes = Vec::with_capacity(events.len());
        for event in events {
            let seq = event
                .seq()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let change =
                change_of(event, &self.base_url).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            changes.push((event.id.clone(), seq, change));
        }
        self.store.apply_passports(stream, &changes).await
    }

    async fn advance(&self, stream: &str, position: i64) -> Result<(), StoreError> {
        self.store.advance_cursor(stream, position).await
    }
}

/// Reads the custody feed: one event per log leaf, in leaf order.
pub struct CustodyFeed {
    store: Arc<dyn CustodyStore>,
}

impl CustodyFeed {
    pub fn new(store: Arc<dyn CustodyStore>) -> Self {
        Self { store }
    }
}

#[async_trait]
impl FeedSource for CustodyFeed {
    fn stream(&self) -> &str {
        STREAM
    }

    /// Sequence numbers are leaf index + 1 (feeds count from 1).
    async fn read(&self, after: i64, limit: u32) -> Result<Vec<CloudEvent>, FeedError> {
        let rows = self.store.events_from(after.max(0), limit).await?;
        rows.into_iter()
            .map(|row| {
                let mut data: Value = serde_json::from_str(&row.data)
                    .map_err(|e| FeedError::Malformed(e.to_string()))?;
                data["event_id"] = Value::String(row.event_id.clone());
                data["org_id"] = Value::String(row.org_id.to_string());
                Ok(CloudEvent {
                    specversion: SPEC_VERSION.to_owned(),
                    id: row.event_id,
                    source: SOURCE.to_owned(),
                    kind: format!("org.reetrace.custody.{}", row.action),
                    subject: data["subject"].as_str().map(str::to_owned),
                    time: row.event_time,
                    datacontenttype: "application/json".to_owned(),
                    sequence: (row.leaf_index + 1).to_string(),
                    data,
                })
            })
            .collect()
    }
}
