//! The stock service's side of the feeds: its consumers of the passport feed, of the custody
//! feed and (where the deposits service runs) of the deposits feed. Each is a [`Projection`] that reads CloudEvents into changes (what a passport
//! or a custody step adds to the figures) and hands the batch to `service::projection`, which
//! applies it (inbox, cells, cursor) in one transaction. [`StockConsumers`] runs them.
//!
//! An event the stock service cannot read (an unknown category, a missing field) is logged and
//! skipped, and the cursor moves past it: one bad event must not stop the urban-mine figures.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Datelike;
use reetrace_core::db::StoreError;
use reetrace_core::domain::feed::CloudEvent;
use reetrace_core::domain::{Mass, TrackedElement, passport_event};
use reetrace_core::service::feed::{Consumer, FeedError, FeedSource, Projection, Quarantines};
use reetrace_core::store::lease::Leases;
use serde::Deserialize;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::domain::custody::{
    self, CustodyChange, OriginShare, ProductStep, TransformInput, TransformOutput,
};
use crate::domain::deposits::{DepositChange, DepositElement, DepositFacts};
use crate::domain::flow::{Deltas, ElementMasses, Flow};
use crate::domain::passport::{Granularity, PassportChange, PassportFacts, PassportStatus};
use crate::service::projection;
use crate::store::{ProjectionStore, StockStore};

/// The passport feed's event types.
pub const PASSPORT_ISSUED: &str = "org.reetrace.passport.issued";
pub const PASSPORT_VERSIONED: &str = "org.reetrace.passport.versioned";
pub const PASSPORT_STATUS_CHANGED: &str = "org.reetrace.passport.status_changed";
/// The deposits feed's event types.
pub const DEPOSIT_RECORDED: &str = "org.reetrace.deposit.recorded";
pub const DEPOSIT_VERSIONED: &str = "org.reetrace.deposit.versioned";
pub const DEPOSIT_WITHDRAWN: &str = "org.reetrace.deposit.withdrawn";
/// The prefix of the custody feed's event types.
pub const CUSTODY_PREFIX: &str = "org.reetrace.custody.";

/// Micrograms per element of one unit: the rare earths and the magnet materials (B, Co, Ni).
fn per_unit<E: Copy + Into<TrackedElement>>(
    rare_earths: &[(E, Mass)],
    magnet_materials: &[(TrackedElement, Mass)],
) -> ElementMasses {
    let mut masses = ElementMasses::new();
    let all = rare_earths
        .iter()
        .map(|(e, m)| ((*e).into(), *m))
        .chain(magnet_materials.iter().copied());
    for (element, mass) in all {
        *masses.entry(element).or_insert(0) += i128::from(mass.micrograms());
    }
    masses
}

fn uuid_at(data: &Value, field: &str) -> Result<Uuid, String> {
    data[field]
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no {field}"))
}

/// What a passport feed event changes.
pub fn passport_change(event: &CloudEvent) -> Result<PassportChange, String> {
    let data = &event.data;
    match event.kind.as_str() {
        PASSPORT_ISSUED | PASSPORT_VERSIONED => {
            let subject = passport_event::facts(data)?;
            let granularity = Granularity::parse(&subject.granularity)
                .ok_or_else(|| format!("granularity {:?}", subject.granularity))?;
            let version = data["version"]
                .as_u64()
                .and_then(|v| u32::try_from(v).ok())
                .ok_or("no version")?;
            Ok(PassportChange::Upsert(Box::new(PassportFacts {
                passport_id: uuid_at(data, "passport_id")?,
                org_id: uuid_at(data, "org_id")?,
                version,
                granularity,
                category: subject.category,
                country: subject.market_country,
                market_year: subject.market_date.year(),
                units: match granularity {
                    Granularity::Batch => subject.units.unwrap_or(1),
                    _ => 1,
                },
                use_type: subject.use_type,
                content: per_unit(&subject.elements, &subject.magnet_materials),
                recycled: per_unit(&subject.recycled, &subject.magnet_materials_recycled),
                net_mass_ug: Some(subject.net_mass.micrograms()),
            })))
        }
        PASSPORT_STATUS_CHANGED => {
            let status = data["status"].as_str().unwrap_or_default();
            Ok(PassportChange::Status {
                passport_id: uuid_at(data, "passport_id")?,
                status: PassportStatus::parse(status)
                    .ok_or_else(|| format!("status {status:?}"))?,
            })
        }
        _ => Ok(PassportChange::Ignore),
    }
}

fn element_map(value: &Value) -> Result<BTreeMap<TrackedElement, i64>, String> {
    if value.is_null() {
        return Ok(BTreeMap::new());
    }
    BTreeMap::deserialize(value).map_err(|e| format!("elements: {e}"))
}

fn origin(value: &Value) -> Result<Vec<OriginShare>, String> {
    if value.is_null() {
        return Ok(Vec::new());
    }
    Vec::deserialize(value).map_err(|e| format!("origin: {e}"))
}

/// What a custody feed event changes.
pub fn custody_change(event: &CloudEvent) -> Result<CustodyChange, String> {
    let data = &event.data;
    let action = data["action"]
        .as_str()
        .or_else(|| event.kind.strip_prefix(CUSTODY_PREFIX))
        .unwrap_or_default();
    let year = event.time.year();
    // The organisation that recorded the event (the feed adds it); the holder otherwise.
    let recorder = uuid_at(data, "org_id").or_else(|_| uuid_at(data, "holder"));
    match data["subject_kind"].as_str().unwrap_or_default() {
        "product" => {
            let flow = match action {
                "collect" => Flow::Collected,
                "sort" => Flow::Sorted,
                "destroy" => Flow::Destroyed,
                "export" => Flow::Exported,
                _ => return Ok(CustodyChange::Ignore),
            };
            Ok(CustodyChange::Product(ProductStep {
                passport_id: uuid_at(data, "passport_id")?,
                flow,
                year,
                recorder: recorder?,
                elements: custody::masses(&element_map(&data["elements"])?),
            }))
        }
        "lot" => {
            let flow = match action {
                "destroy" => Flow::Destroyed,
                "export" => Flow::Exported,
                _ => return Ok(CustodyChange::Ignore),
            };
            let mut deltas = Deltas::new();
            let lost = custody::attribute_by_origin(
                flow,
                year,
                recorder?,
                &custody::masses(&element_map(&data["elements"])?),
                &origin(&data["origin"])?,
                &mut deltas,
            );
            warn_unattributed(event, lost.0);
            Ok(CustodyChange::Cells(deltas))
        }
        "transformation" => {
            let process = match action {
                "dismantling" | "recycling" => action,
                _ => data["process"].as_str().unwrap_or_default(),
            };
            if !matches!(process, "dismantling" | "recycling") {
                return Ok(CustodyChange::Ignore);
            }
            let inputs = Vec::<TransformInput>::deserialize(&data["inputs"])
                .map_err(|e| format!("inputs: {e}"))?;
            let outputs = if data["outputs"].is_null() {
                Vec::new()
            } else {
                Vec::<TransformOutput>::deserialize(&data["outputs"])
                    .map_err(|e| format!("outputs: {e}"))?
            };
            let losses = custody::masses(&element_map(&data["losses"])?);
            let (deltas, lost) =
                custody::transformation(process, year, recorder?, &inputs, &outputs, &losses);
            warn_unattributed(event, lost.0);
            Ok(CustodyChange::Cells(deltas))
        }
        "several" => {
            let Some(items) = data["items"].as_array() else {
                return Err("several subjects without items".to_owned());
            };
            let parts = items
                .iter()
                .map(|item| {
                    let mut item = item.clone();
                    if item["org_id"].is_null() {
                        item["org_id"] = data["org_id"].clone();
                    }
                    custody_change(&CloudEvent {
                        data: item,
                        ..event.clone()
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(CustodyChange::Several(parts))
        }
        _ => Ok(CustodyChange::Ignore),
    }
}

/// What a deposits feed event changes.
pub fn deposit_change(event: &CloudEvent) -> Result<DepositChange, String> {
    let data = &event.data;
    match event.kind.as_str() {
        DEPOSIT_RECORDED | DEPOSIT_VERSIONED => {
            let d = &data["deposit"];
            let text = |field: &str| {
                d[field]
                    .as_str()
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned)
                    .ok_or_else(|| format!("no deposit.{field}"))
            };
            let amount = |value: &Value, what: &str| {
                value
                    .as_f64()
                    .filter(|x| x.is_finite() && *x >= 0.0)
                    .ok_or_else(|| format!("{what}: not a finite amount of 0 or more"))
            };
            let content = d["content"]
                .as_array()
                .ok_or("no deposit.content")?
                .iter()
                .map(|c| {
                    Ok(DepositElement {
                        element: c["element"]
                            .as_str()
                            .ok_or("a content line without element")?
                            .to_owned(),
                        kg: amount(&c["kg"], "kg")?,
                        uncertainty_kg: amount(&c["uncertainty_kg"], "uncertainty_kg")?,
                    })
                })
                .collect::<Result<Vec<_>, String>>()?;
            Ok(DepositChange::Upsert(Box::new(DepositFacts {
                deposit_id: uuid_at(data, "deposit_id")?,
                version: data["version"].as_i64().ok_or("no version")?,
                org_id: uuid_at(data, "org_id")?,
                deposit_type: text("type")?,
                status: text("status")?,
                country: text("country")?
                    .parse()
                    .map_err(|e| format!("country: {e}"))?,
                nuts: d["nuts"].as_str().map(str::to_owned),
                illustrative: d["illustrative"]
                    .as_bool()
                    .ok_or("no deposit.illustrative")?,
                tonnes: amount(&d["tonnes"], "tonnes")?,
                content,
            })))
        }
        DEPOSIT_WITHDRAWN => Ok(DepositChange::Withdrawn {
            deposit_id: uuid_at(data, "deposit_id")?,
        }),
        _ => Ok(DepositChange::Ignore),
    }
}

fn warn_unattributed(event: &CloudEvent, micrograms: i128) {
    if micrograms != 0 {
        tracing::warn!(
            event_id = %event.id,
            micrograms = %micrograms,
            "custody event without origin shares: part of it is not counted"
        );
    }
}

fn changes<T>(
    events: &[CloudEvent],
    read: impl Fn(&CloudEvent) -> Result<T, String>,
    stream: &str,
) -> Result<Vec<(String, i64, T)>, StoreError> {
    events
        .iter()
        .map(|event| {
            let seq = event
                .seq()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            // An event of a kind we know but cannot read is the consumer's to quarantine, never
            // a silent skip (it would be missing from every figure).
            let change = read(event).map_err(|why| {
                StoreError::Corrupt(format!(
                    "{stream} event {} ({}): {why}",
                    event.id, event.kind
                ))
            })?;
            Ok((event.id.clone(), seq, change))
        })
        .collect()
}

/// Keeps the stock service's passports and placed-on-market cells from the passport feed.
pub struct PassportProjection {
    store: Arc<dyn ProjectionStore>,
}

impl PassportProjection {
    pub fn new(store: Arc<dyn ProjectionStore>) -> Self {
        Self { store }
    }
}

#[async_trait]
impl Projection for PassportProjection {
    fn name(&self) -> &str {
        "stock.passports"
    }

    async fn cursor(&self, stream: &str) -> Result<i64, StoreError> {
        self.store.cursor(stream).await
    }

    async fn apply(&self, stream: &str, events: &[CloudEvent]) -> Result<(), StoreError> {
        let changes = changes(events, passport_change, stream)?;
        projection::apply_passports(self.store.as_ref(), stream, &changes).await
    }

    async fn advance(&self, stream: &str, position: i64) -> Result<(), StoreError> {
        let mut tx = self.store.begin_projection().await?;
        self.store.move_cursor(&mut tx, stream, position).await?;
        tx.commit().await
    }
}

/// Keeps the custody flow cells from the custody feed.
pub struct CustodyProjection {
    store: Arc<dyn ProjectionStore>,
}

impl CustodyProjection {
    pub fn new(store: Arc<dyn ProjectionStore>) -> Self {
        Self { store }
    }
}

#[async_trait]
impl Projection for CustodyProjection {
    fn name(&self) -> &str {
        "stock.custody"
    }

    async fn cursor(&self, stream: &str) -> Result<i64, StoreError> {
        self.store.cursor(stream).await
    }

    async fn apply(&self, stream: &str, events: &[CloudEvent]) -> Result<(), StoreError> {
        let changes = changes(events, custody_change, stream)?;
        projection::apply_custody(self.store.as_ref(), stream, &changes).await
    }

    async fn advance(&self, stream: &str, position: i64) -> Result<(), StoreError> {
        let mut tx = self.store.begin_projection().await?;
        self.store.move_cursor(&mut tx, stream, position).await?;
        tx.commit().await
    }
}

/// Keeps the stock service's copy of the residue deposits from the deposits feed.
pub struct DepositProjection {
    store: Arc<dyn StockStore>,
}

impl DepositProjection {
    pub fn new(store: Arc<dyn StockStore>) -> Self {
        Self { store }
    }
}

#[async_trait]
impl Projection for DepositProjection {
    fn name(&self) -> &str {
        "stock.deposits"
    }

    async fn cursor(&self, stream: &str) -> Result<i64, StoreError> {
        self.store.cursor(stream).await
    }

    async fn apply(&self, stream: &str, events: &[CloudEvent]) -> Result<(), StoreError> {
        let changes = changes(events, deposit_change, stream)?;
        projection::apply_deposits(self.store.as_ref(), stream, &changes).await
    }

    async fn advance(&self, stream: &str, position: i64) -> Result<(), StoreError> {
        let mut tx = self.store.begin_projection().await?;
        self.store.move_cursor(&mut tx, stream, position).await?;
        tx.commit().await
    }
}

/// How often the consumers look for new events when nothing wakes them.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// The passport, custody and deposits consumers of the stock projections.
#[derive(Debug, Clone)]
pub struct StockConsumers {
    consumers: Vec<Arc<Consumer>>,
}

/// A consumer under its lease and with its quarantine, where there are.
fn kept(
    consumer: Consumer,
    name: &str,
    leases: Option<&Arc<Leases>>,
    quarantines: Option<&Quarantines>,
) -> Arc<Consumer> {
    let consumer = match leases {
        Some(leases) => consumer.with_lease(leases.clone(), name),
        None => consumer,
    };
    Arc::new(match quarantines {
        Some(q) => consumer.with_quarantine(q.of(name)),
        None => consumer,
    })
}

impl StockConsumers {
    /// Consumers of `passport`, `custody` and, when given, `deposits` into `store`'s
    /// projections.
    pub fn new(
        store: Arc<dyn StockStore>,
        passport: Arc<dyn FeedSource>,
        custody: Arc<dyn FeedSource>,
        deposits: Option<Arc<dyn FeedSource>>,
        leases: Option<Arc<Leases>>,
        quarantines: Option<Quarantines>,
    ) -> Self {
        let (leases, quarantines) = (leases.as_ref(), quarantines.as_ref());
        let projection: Arc<dyn ProjectionStore> = store.clone();
        let mut consumers = vec![
            kept(
                Consumer::new(
                    passport,
                    Arc::new(PassportProjection::new(projection.clone())),
                ),
                "stock.passports",
                leases,
                quarantines,
            ),
            kept(
                Consumer::new(custody, Arc::new(CustodyProjection::new(projection))),
                "stock.custody",
                leases,
                quarantines,
            ),
        ];
        if let Some(deposits) = deposits {
            consumers.push(kept(
                Consumer::new(deposits, Arc::new(DepositProjection::new(store))),
                "stock.deposits",
                leases,
                quarantines,
            ));
        }
        Self { consumers }
    }

    /// The consumers (for the quarantine's replays).
    pub fn consumers(&self) -> &[Arc<Consumer>] {
        &self.consumers
    }

    /// Runs every consumer until `cancel` is cancelled.
    pub fn spawn(
        &self,
        interval: Duration,
        cancel: CancellationToken,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        self.consumers
            .iter()
            .map(|consumer| tokio::spawn(consumer.clone().run(None, interval, cancel.clone())))
            .collect()
    }

    /// Catches every consumer up once; returns how many events were applied.
    pub async fn catch_up(&self) -> Result<usize, FeedError> {
        let mut applied = 0;
        for consumer in &self.consumers {
            applied += consumer.catch_up().await?;
        }
        Ok(applied)
    }
}
