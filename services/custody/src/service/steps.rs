//! Scanning a product, and recording one custody step on a product or a lot through the REST
//! routes: the step is decided ([`decide`]), built as an EPCIS `ObjectEvent` and written alone,
//! compared-and-set against the custody it was decided on.

use chrono::Utc;
use reetrace_core::domain::idempotency::{Answer, Idempotency};
use reetrace_core::domain::{Principal, Role};
use reetrace_core::service::retry::Attempt;
use uuid::Uuid;

use super::{CustodyService, finalize, keep, leaf_of, org_uri, settle, stored_text};
use crate::domain::balance::grams;
use crate::domain::event::NewEvent;
use crate::domain::lot::LotChange;
use crate::domain::product::{ProductSummary, Scan};
use crate::domain::state::{self, Action, Custody};
use crate::domain::step::{
    CustodyView, NextSteps, StepRecorded, StepRequest, Tracked, check_recipient, check_step_fields,
    decide, observation_step,
};
use crate::domain::{Contention, CustodyError};
use crate::epcis::{self, LotQuantity, Observation};
use crate::store::{Write, WriteError};

/// Where a REST step is recorded.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Target {
    Product(Uuid),
    Lot(Uuid),
}

/// Adds to `write` the compare-and-set that takes `tracked` from its stored custody to
/// `custody`.
pub(crate) fn set_custody(write: &mut Write, tracked: &Tracked, custody: Custody) {
    match tracked {
        Tracked::Product(p) => write.products.push((p.passport_id, p.custody, custody)),
        Tracked::Lot(l) => write.lots.push(LotChange {
            // A lot is always held by someone.
            custody: Custody {
                holder: custody.holder.or(l.custody.holder),
                ..custody
            },
            ..LotChange::of(l)
        }),
    }
}

impl CustodyService {
    /// What a recycler sees when it scans a product.
    pub async fn scan(&self, caller: &Principal, passport_id: Uuid) -> Result<Scan, CustodyError> {
        caller.require(&[Role::Recycler, Role::Regulator, Role::Admin])?;
        let product = self.product(passport_id).await?;
        let (actions, processes) = state::allowed(product.custody, caller.org_id);
        let mut events = self.chain(passport_id).await?;
        // Who holds it and what happened to it is for those involved (its holders, now and
        // before, and the organisation a handover names) and authorities; any other recycler
        // sees its state and what it may do (collect a product in use).
        let mut custody: CustodyView = product.custody.into();
        let involved = matches!(caller.role, Role::Regulator | Role::Admin)
            || custody.holder == Some(caller.org_id)
            || custody.pending_to == Some(caller.org_id)
            || events.iter().any(|e| e.org_id == caller.org_id);
        if !involved {
            events.clear();
            custody.holder = None;
            custody.pending_to = None;
        }
        let named = custody
            .holder
            .into_iter()
            .chain(custody.pending_to)
            .chain(events.iter().map(|e| e.org_id))
            .chain(std::iter::once(product.org_id));
        let names = self.org_names(named).await?;
        Ok(Scan {
            names,
            product: ProductSummary {
                passport_id: product.passport_id,
                epc: product.epc.clone(),
                name: product.name.clone(),
                category: product.category.as_str().to_owned(),
                granularity: product.granularity.as_str().to_owned(),
                units: product.units,
                passport_status: product.passport_status.as_str().to_owned(),
                manufacturer: product.org_id,
                elements: product.elements.amounts(),
                passport_url: format!(
                    "{}/api/v1/passports/{}",
                    self.config.base_url, product.passport_id
                ),
            },
            custody,
            events,
            next: NextSteps { actions, processes },
        })
    }

    /// Records one step on a product.
    pub async fn record_step(
        &self,
        caller: &Principal,
        passport_id: Uuid,
        request: &StepRequest,
        idem: &Idempotency,
    ) -> Result<Answer<StepRecorded>, CustodyError> {
        self.record(caller, Target::Product(passport_id), request, idem)
            .await
    }

    /// Hands a lot over, accepts it, destroys or exports it.
    pub async fn record_lot_step(
        &self,
        caller: &Principal,
        lot_id: Uuid,
        request: &StepRequest,
        idem: &Idempotency,
    ) -> Result<Answer<StepRecorded>, CustodyError> {
        self.record(caller, Target::Lot(lot_id), request, idem)
            .await
    }

    async fn load(&self, target: Target) -> Result<Tracked, CustodyError> {
        Ok(match target {
            Target::Product(id) => Tracked::Product(self.product(id).await?),
            Target::Lot(id) => Tracked::Lot(self.load_lot(id).await?),
        })
    }

    /// Records one step on a product or a lot, as the REST routes ask.
    async fn record(
        &self,
        caller: &Principal,
        target: Target,
        request: &StepRequest,
        idem: &Idempotency,
    ) -> Result<Answer<StepRecorded>, CustodyError> {
        caller.require(&[Role::Recycler])?;
        if let Some(stored) = self.stored(caller.org_id, idem).await? {
            return Ok(Answer::Replay(stored));
        }
        let errors = check_step_fields(
            request.at,
            request.location.as_ref(),
            request.note.as_deref(),
            Utc::now(),
        );
        if !errors.is_empty() {
            return Err(CustodyError::Invalid(errors));
        }
        let actor = self.org(caller.org_id).await?;
        check_recipient(request.action, request.to_org)
            .map_err(|e| CustodyError::Invalid(vec![e]))?;
        let recipient = match (request.action, request.to_org) {
            (Action::Handover, Some(to)) => Some(self.recipient(to).await?),
            _ => None,
        };
        let location = request.location.as_ref().and_then(|l| l.id.clone());
        let step = observation_step(request.action);
        let contention = match target {
            Target::Product(_) => Contention::Product,
            Target::Lot(_) => Contention::Lot,
        };
        let (location, actor, recipient) = (&location, &actor, &recipient);
        settle(contention, move || async move {
            let tracked = self.load(target).await?;
            let current = tracked.custody();
            let decided = decide(
                &tracked,
                current,
                request.action,
                caller.org_id,
                request.to_org,
                request.location.as_ref(),
            )?;
            let from_holder = match (request.action, current.holder) {
                (Action::Accept, Some(h)) => Some(self.org_uri_of(h).await),
                _ => None,
            };
            let (products, lots) = match &tracked {
                Tracked::Product(p) => (vec![self.product_epc(p)?], Vec::new()),
                Tracked::Lot(l) => (
                    Vec::new(),
                    vec![LotQuantity {
                        lot: self.lot_epc(l)?,
                        mass: grams(l.remaining_ug),
                    }],
                ),
            };
            let built = epcis::observation_event(&Observation {
                step,
                event_time: request.at,
                products,
                lots,
                read_point: location.clone(),
                biz_location: location.clone(),
                holder: org_uri(actor),
                to_holder: recipient.as_ref().map(org_uri),
                from_holder,
                measured_mass: request.measured_mass_g,
            })
            .map_err(|e| CustodyError::invalid("", e.to_string()))?;
            let (document, hash) = finalize(built, request.note.as_deref())?;
            let event = NewEvent {
                event_id: hash.clone(),
                event_hash: hash.clone(),
                event_type: "ObjectEvent".into(),
                action: request.action.as_str().into(),
                biz_step: Some(step.biz_step().into()),
                biz_location: location.as_deref().map(epcis::query::location_key),
                event_time: request.at.with_timezone(&Utc),
                org_id: caller.org_id,
                document: stored_text(&document)?,
                data: decided.data.to_string(),
                subjects: vec![tracked.id()],
                epcs: vec![tracked.indexed_epc()],
            };
            let answer = StepRecorded {
                event_id: hash.clone(),
                event_hash: hash,
                leaf_index: -1,
                custody: decided.next.into(),
                epcis: document,
            };
            let mut write = Write {
                events: vec![event],
                idempotent: keep(
                    caller.org_id,
                    idem,
                    201,
                    answer.clone(),
                    |a: &mut StepRecorded, w| a.leaf_index = leaf_of(w),
                ),
                ..Write::default()
            };
            set_custody(&mut write, &tracked, decided.next);
            Ok(match self.store.write(write).await {
                Ok(written) => {
                    let mut answer = answer;
                    answer.leaf_index = leaf_of(&written);
                    Attempt::Done(Answer::Fresh(answer))
                }
                Err(WriteError::Stale) => Attempt::Again,
                Err(WriteError::DuplicateEvent(id)) => {
                    Attempt::Failed(CustodyError::DuplicateEvent(id))
                }
                // A concurrent request with the same key won: answer what it stored.
                Err(WriteError::DuplicateKey) => {
                    Attempt::Done(self.replay_after_race(caller.org_id, idem).await?)
                }
                Err(WriteError::Store(e)) => Attempt::Failed(e.into()),
            })
        })
        .await
    }
}
