//! Phase 2 of EPCIS capture: what the store holds decides each event of a prepared document
//! (see [`crate::domain::capture`]), and the whole document is written at once: one
//! transaction, one compare-and-set of every product and lot it moves, one append to the log.

mod decide;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use chrono::Utc;
use reetrace_core::domain::idempotency::StoredResponse;
use reetrace_core::domain::{Principal, Role};
use reetrace_core::service::retry::Attempt;
use serde_json::Value;

use super::{CustodyService, settle};
use crate::domain::capture::{
    CaptureOutcome, ErrorBehaviour, EventKind, EventOutcome, EventStatus, Prepared, StoreKey,
    SubjectKey, declaration_id, prepare,
};
use crate::domain::event::EventRow;
use crate::domain::step::Tracked;
use crate::domain::{Contention, CustodyError};
use crate::store::{Respond, Write, WriteError, Written};

/// Who may capture EPCIS documents.
pub const CAPTURERS: &[Role] = &[Role::Recycler];

/// What the store holds of what a document names.
pub(super) struct Known {
    pub(super) tracked: Vec<Tracked>,
    pub(super) products: HashMap<StoreKey, usize>,
    pub(super) lots: HashMap<StoreKey, usize>,
    pub(super) stored: HashMap<String, EventRow>,
}

impl Known {
    pub(super) fn subject(&self, key: &SubjectKey) -> Option<usize> {
        match key {
            SubjectKey::Product(k) => self.products.get(k).copied(),
            SubjectKey::Lot(k) => self.lots.get(k).copied(),
        }
    }
}

/// Where a captured event's leaf index comes from once written.
#[derive(Clone)]
pub(super) enum Pending {
    /// The n-th event of the write.
    Written(usize),
    /// The same as an earlier result (a duplicate within the document).
    SameAs(usize),
}

/// A document decided: the write and the answer waiting for its leaf indexes.
pub(super) struct Plan {
    pub(super) write: Write,
    pub(super) results: Vec<EventOutcome>,
    pub(super) pending: Vec<(usize, Pending)>,
}

/// How a capture job keeps its answer with the write that captures its document: under `key`
/// for the job's organisation, as `render` writes it (see [`crate::domain::capture_job`]).
#[derive(Clone)]
pub struct KeepAnswer {
    pub key: String,
    pub render: Arc<dyn Fn(&CaptureOutcome) -> String + Send + Sync>,
}

/// The answer, with the leaf indexes the write gave.
fn report(
    mut results: Vec<EventOutcome>,
    pending: Vec<(usize, Pending)>,
    written: Option<&Written>,
) -> CaptureOutcome {
    for (result, pending) in pending {
        let leaf = match pending {
            Pending::Written(n) => written.and_then(|w| w.leaves.get(n)).map(|(_, leaf)| *leaf),
            Pending::SameAs(earlier) => results[earlier].leaf_index,
        };
        results[result].leaf_index = leaf;
    }
    CaptureOutcome::of(results)
}

impl CustodyService {
    /// Captures an EPCIS 2.0 document: every event checked and applied as `behaviour` says,
    /// in one write.
    pub async fn capture(
        &self,
        caller: &Principal,
        document: Value,
        behaviour: ErrorBehaviour,
    ) -> Result<CaptureOutcome, CustodyError> {
        self.capture_keeping(caller, document, behaviour, None)
            .await
    }

    /// As [`CustodyService::capture`]; with `keep`, the answer is kept with the write, so that
    /// the capture happens once however often it is tried: a write finding the key taken means
    /// another attempt captured it ([`CustodyError::ConcurrentRequest`]; read the kept answer).
    pub async fn capture_keeping(
        &self,
        caller: &Principal,
        document: Value,
        behaviour: ErrorBehaviour,
        keep: Option<KeepAnswer>,
    ) -> Result<CaptureOutcome, CustodyError> {
        caller.require(CAPTURERS)?;
        let prepared = &prepare(document, &self.config.bases(), Utc::now())?;
        let keep = &keep;
        // Kept across attempts: the next holders resolved so far, and whether the passport
        // feed was read up to now already.
        let recipients = &Mutex::new(HashMap::new());
        let caught_up = &AtomicBool::new(false);
        settle(Contention::Document, move || async move {
            let known = self.known(prepared, caught_up).await?;
            let plan = self
                .decide_document(caller, prepared, &known, recipients)
                .await?;
            let failed = plan
                .results
                .iter()
                .filter(|r| r.status == EventStatus::Refused)
                .count();
            let total = plan.results.len();
            if failed > 0 && (behaviour == ErrorBehaviour::Rollback || failed == total) {
                return Err(CustodyError::CaptureRefused {
                    failed,
                    total,
                    errors: plan.results.into_iter().flat_map(|r| r.errors).collect(),
                });
            }
            let Plan {
                mut write,
                results,
                pending,
            } = plan;
            if write.events.is_empty() {
                return Ok(Attempt::Done(report(results, pending, None)));
            }
            if let Some(keep) = keep {
                let (kept, waiting, render) =
                    (results.clone(), pending.clone(), keep.render.clone());
                let respond: Respond = Box::new(move |written: &Written| StoredResponse {
                    fingerprint: [0; 32],
                    status: 200,
                    content_type: "application/json".to_owned(),
                    body: render(&report(kept, waiting, Some(written))),
                });
                write.idempotent = Some((caller.org_id, keep.key.clone(), respond));
            }
            Ok(match self.store.write(write).await {
                Ok(written) => Attempt::Done(report(results, pending, Some(&written))),
                // Someone moved a product or stored one of these ids meanwhile: decide again.
                Err(WriteError::Stale | WriteError::DuplicateEvent(_)) => Attempt::Again,
                Err(WriteError::DuplicateKey) if keep.is_some() => {
                    Attempt::Failed(CustodyError::ConcurrentRequest)
                }
                Err(WriteError::DuplicateKey) => Attempt::Failed(CustodyError::internal(
                    "a capture kept an idempotent answer",
                    "duplicate key",
                )),
                Err(WriteError::Store(e)) => Attempt::Failed(e.into()),
            })
        })
        .await
    }

    /// Loads the products, lots and stored events a document names, in a few round trips.
    async fn known(
        &self,
        prepared: &Prepared,
        caught_up: &AtomicBool,
    ) -> Result<Known, CustodyError> {
        let valid = || prepared.events.iter().filter(|e| e.errors.is_empty());
        let mut product_keys = Vec::new();
        let mut lot_keys = Vec::new();
        let mut ids = Vec::new();
        for event in valid() {
            // An event stored before hash version 2 without an eventID has its old hash as id.
            for id in std::iter::once(event.id.as_str()).chain(event.legacy_id()) {
                ids.push(id.to_owned());
                if event.kind == EventKind::Declaration {
                    ids.push(declaration_id(id));
                }
            }
            for name in &event.names {
                match &name.key {
                    Some(SubjectKey::Product(k)) => product_keys.push(k.clone()),
                    Some(SubjectKey::Lot(k)) => lot_keys.push(k.clone()),
                    None => {}
                }
            }
        }
        let split = |keys: &mut Vec<StoreKey>| {
            keys.sort_unstable();
            keys.dedup();
            let mut epcs = Vec::new();
            let mut uuids = Vec::new();
            for k in keys.iter() {
                match k {
                    StoreKey::Epc(e) => epcs.push(e.clone()),
                    StoreKey::Id(id) => uuids.push(*id),
                }
            }
            (epcs, uuids)
        };
        let (product_epcs, product_ids) = split(&mut product_keys);
        let (lot_epcs, lot_ids) = split(&mut lot_keys);
        let mut products = self
            .store
            .products_named(&product_epcs, &product_ids)
            .await?;
        if products.len() < product_keys.len()
            && self.passports.is_some()
            && !caught_up.swap(true, Ordering::Relaxed)
        {
            // A product registered a moment ago may not have reached custody yet.
            self.catch_up_passports().await;
            products = self
                .store
                .products_named(&product_epcs, &product_ids)
                .await?;
        }
        let lots = self.store.lots_named(&lot_epcs, &lot_ids).await?;
        let stored = self
            .store
            .events_by_id(&ids)
            .await?
            .into_iter()
            .map(|row| (row.event_id.clone(), row))
            .collect();
        let mut known = Known {
            tracked: Vec::with_capacity(products.len() + lots.len()),
            products: HashMap::new(),
            lots: HashMap::new(),
            stored,
        };
        for p in products {
            let at = known.tracked.len();
            known.products.insert(StoreKey::Epc(p.epc.clone()), at);
            known.products.insert(StoreKey::Id(p.passport_id), at);
            known.tracked.push(Tracked::Product(p));
        }
        for l in lots {
            let at = known.tracked.len();
            known.lots.insert(StoreKey::Epc(l.epc.clone()), at);
            known.lots.insert(StoreKey::Id(l.lot_id), at);
            known.tracked.push(Tracked::Lot(l));
        }
        Ok(known)
    }
}
