//! One custody step on one product or lot, decided and recorded.
//!
//! The REST routes (`POST /api/v1/custody/{id}/events`, `POST /api/v1/lots/{id}/events`) and
//! EPCIS capture apply the same rules through `decide`: the state machine and the holder
//! rule, what a lot may do, and what the custody feed says of the step. REST builds the EPCIS
//! event from the request and writes it alone (`CustodyService::record`); capture writes the
//! event it was given, with every other event of its document, in one write.

use chrono::Utc;
use reetrace_core::api::problem::{FieldError, Problem};
use reetrace_core::domain::idempotency::{Answer, Idempotency};
use reetrace_core::domain::{Principal, Role};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::domain::event::NewEvent;
use crate::domain::lot::{LotChange, LotRow};
use crate::domain::product::ProductRow;
use crate::domain::state::{self, Action, Custody};
use crate::epcis::{self, LotQuantity, Observation, ObservationStep};
use crate::service::{
    CustodyService, Location, NextSteps, StepRecorded, StepRequest, check_step, finalize, grams,
    keep, leaf_of, org_uri, refusal_problem,
};
use crate::store::{Write, WriteError};

/// How many times a write lost to a concurrent one is decided again.
pub(crate) const RETRIES: usize = 8;

/// The steps a lot can take (it is never collected, received or sorted: it is made held).
pub const LOT_ACTIONS: [Action; 4] = [
    Action::Handover,
    Action::Accept,
    Action::Destroy,
    Action::Export,
];

/// Something custody follows, as the store holds it now.
#[derive(Debug, Clone)]
pub(crate) enum Tracked {
    Product(ProductRow),
    Lot(LotRow),
}

/// Where a REST step is recorded.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Target {
    Product(Uuid),
    Lot(Uuid),
}

impl Target {
    fn noun(self) -> &'static str {
        match self {
            Target::Product(_) => "product",
            Target::Lot(_) => "lot",
        }
    }
}

impl Tracked {
    /// The passport id or lot id: the subject of its hash chain.
    pub(crate) fn id(&self) -> Uuid {
        match self {
            Tracked::Product(p) => p.passport_id,
            Tracked::Lot(l) => l.lot_id,
        }
    }

    /// Its custody as stored.
    pub(crate) fn custody(&self) -> Custody {
        match self {
            Tracked::Product(p) => p.custody,
            Tracked::Lot(l) => l.custody,
        }
    }

    /// Its identifier as the event index keeps it: an instance (`epc`) or a class (`class`).
    pub(crate) fn indexed_epc(&self) -> (String, &'static str) {
        match self {
            Tracked::Product(p) => (p.epc.clone(), "epc"),
            Tracked::Lot(l) => (l.epc.clone(), "class"),
        }
    }
}

/// A step decided on one product or lot.
#[derive(Debug, Clone)]
pub(crate) struct Decided {
    /// The custody after the step.
    pub next: Custody,
    /// What the custody feed says of the step.
    pub data: Value,
}

/// The EPCIS business step of a custody action.
pub(crate) fn observation_step(action: Action) -> ObservationStep {
    match action {
        Action::Collect => ObservationStep::Collect,
        Action::Receive => ObservationStep::Receive,
        Action::Sort => ObservationStep::Sort,
        Action::Handover => ObservationStep::Handover,
        Action::Accept => ObservationStep::Accept,
        Action::Destroy => ObservationStep::Destroy,
        Action::Export => ObservationStep::Export,
    }
}

/// Decides `action` by `actor` on `tracked`, whose custody is `current` (its stored custody,
/// or where earlier events of the same capture left it): the state machine, the holder rule
/// and what a lot may do. A refusal is 409 with what is allowed instead; an action a lot cannot
/// take is 422.
pub(crate) fn decide(
    tracked: &Tracked,
    current: Custody,
    action: Action,
    actor: Uuid,
    to_org: Option<Uuid>,
    location: Option<&Location>,
) -> Result<Decided, Problem> {
    let is_lot = matches!(tracked, Tracked::Lot(_));
    if is_lot && !LOT_ACTIONS.contains(&action) {
        return Err(Problem::validation(vec![FieldError::new(
            "/action",
            "a lot can be handed over, accepted, destroyed or exported",
        )]));
    }
    let next = state::step(current, action, actor, to_org).map_err(|refusal| {
        let (mut actions, mut processes) = state::allowed(current, actor);
        if is_lot {
            actions.retain(|a| LOT_ACTIONS.contains(a));
            processes.clear();
        }
        refusal_problem(refusal, NextSteps { actions, processes })
    })?;
    let data = match tracked {
        Tracked::Product(p) => json!({
            "action": action.as_str(),
            "subject": p.passport_id,
            "subject_kind": "product",
            "passport_id": p.passport_id,
            "state": next.state.as_str(),
            "holder": next.holder,
            "pending_to": next.pending_to,
            "units": p.units,
            "elements": p.elements.times(p.units),
            "location": location,
        }),
        Tracked::Lot(l) => json!({
            "action": action.as_str(),
            "subject": l.lot_id,
            "subject_kind": "lot",
            "lot_id": l.lot_id,
            "state": next.state.as_str(),
            "holder": next.holder,
            "pending_to": next.pending_to,
            "elements": l.remaining,
            "origin": l.origin,
        }),
    };
    Ok(Decided { next, data })
}

/// Adds to `write` the compare-and-set that takes `tracked` from its stored custody to
/// `custody`.
pub(crate) fn set_custody(write: &mut Write, tracked: &Tracked, custody: Custody) {
    match tracked {
        Tracked::Product(p) => write.products.push((p.passport_id, p.custody, custody)),
        Tracked::Lot(l) => write.lots.push(LotChange {
            lot_id: l.lot_id,
            expect: l.custody,
            expect_remaining_ug: l.remaining_ug,
            expect_claimed: l.claimed.clone(),
            // A lot is always held by someone.
            custody: Custody {
                holder: custody.holder.or(l.custody.holder),
                ..custody
            },
            remaining_ug: l.remaining_ug,
            remaining: l.remaining.clone(),
            claimed: l.claimed.clone(),
        }),
    }
}

impl CustodyService {
    async fn load(&self, target: Target) -> Result<Tracked, Problem> {
        Ok(match target {
            Target::Product(id) => Tracked::Product(self.product(id).await?),
            Target::Lot(id) => Tracked::Lot(self.load_lot(id).await?),
        })
    }

    /// How events name an organisation, by id (its id URI if it is gone).
    pub(crate) async fn org_uri_of(&self, id: Uuid) -> String {
        self.org(id)
            .await
            .map(|o| org_uri(&o))
            .unwrap_or_else(|_| format!("urn:uuid:{id}"))
    }

    /// Records one step on a product or a lot, as the REST routes ask.
    pub(crate) async fn record(
        &self,
        caller: &Principal,
        target: Target,
        request: &StepRequest,
        idem: &Idempotency,
    ) -> Result<Answer<StepRecorded>, Problem> {
        caller.require(&[Role::Recycler])?;
        if let Some(stored) = self.stored(caller.org_id, idem).await? {
            return Ok(Answer::Replay(stored));
        }
        check_step(request)?;
        let actor = self.org(caller.org_id).await?;
        let recipient = match (request.action, request.to_org) {
            (Action::Handover, Some(to)) => Some(self.recipient(to).await?),
            (Action::Handover, None) => {
                return Err(Problem::validation(vec![FieldError::new(
                    "/to_org",
                    "a handover names the next holder (a recycler organisation)",
                )]));
            }
            (_, Some(_)) => {
                return Err(Problem::validation(vec![FieldError::new(
                    "/to_org",
                    "only a handover names a next holder",
                )]));
            }
            _ => None,
        };
        let location = request.location.as_ref().and_then(|l| l.id.clone());
        let step = observation_step(request.action);
        for _ in 0..RETRIES {
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
                Tracked::Product(p) => (vec![self.product_id(p)?], Vec::new()),
                Tracked::Lot(l) => (
                    Vec::new(),
                    vec![LotQuantity {
                        lot: self.lot_id(l)?,
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
                holder: org_uri(&actor),
                to_holder: recipient.as_ref().map(org_uri),
                from_holder,
                measured_mass: request.measured_mass_g,
            })
            .map_err(|e| Problem::validation(vec![FieldError::new("", e.to_string())]))?;
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
                document: serde_json::to_string(&document).map_err(|_| Problem::internal())?,
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
            match self.store.write(write).await {
                Ok(written) => {
                    let mut answer = answer;
                    answer.leaf_index = leaf_of(&written);
                    return Ok(Answer::Fresh(answer));
                }
                Err(WriteError::Stale) => continue,
                Err(WriteError::DuplicateEvent(id)) => {
                    return Err(Problem::conflict(
                        crate::api::error::DUPLICATE_EVENT,
                        format!("The same event is recorded already ({id})."),
                    ));
                }
                Err(WriteError::DuplicateKey) => {
                    return self.replay_after_race(caller.org_id, idem).await;
                }
                Err(WriteError::Store(e)) => return Err(e.into()),
            }
        }
        Err(Problem::service_unavailable(format!(
            "The {} kept changing under concurrent writes; retry.",
            target.noun()
        ))
        .with("retry_after", 1))
    }
}
