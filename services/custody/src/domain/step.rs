//! One custody step on one product or lot: what a request may say, and the decision.
//!
//! The REST routes (`POST /api/v1/custody/{id}/events`, `POST /api/v1/lots/{id}/events`) and
//! EPCIS capture apply the same rules through [`decide`]: the state machine and the holder
//! rule, what a lot may do, and what the custody feed says of the step.

use chrono::{DateTime, FixedOffset, Utc};
use reetrace_core::domain::{Country, FieldError, Mass};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

use super::error::CustodyError;
use super::lot::LotRow;
use super::product::ProductRow;
use super::state::{self, Action, Custody, Process, State};
use crate::epcis::ObservationStep;

/// Where a step happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Location {
    /// A URI of the place: an SGLN (`urn:epc:id:sgln:...`), a GS1 Digital Link of a GLN, or
    /// any absolute URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<Country>,
}

/// One custody step on a product or lot.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"action": "collect", "at": "2026-09-02T09:30:00+02:00",
    "location": {"id": "urn:epc:id:sgln:4012345.00001.0", "name": "Lyon collection point", "country": "FR"},
    "measured_mass_g": 48100, "note": "picked up from a garage"}))]
pub struct StepRequest {
    pub action: Action,
    /// When it happened, with its time zone offset (RFC 3339): not before 1950, not in the
    /// future (10 minutes of clock difference are allowed).
    pub at: DateTime<FixedOffset>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// The next holder, for a handover.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_org: Option<Uuid>,
    /// The mass weighed at this step, in grams.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured_mass_g: Option<Mass>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What a step recorded.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StepRecorded {
    pub event_id: String,
    pub event_hash: String,
    /// The event's position in the transparency log.
    pub leaf_index: i64,
    pub custody: CustodyView,
    /// The stored EPCIS 2.0 event.
    #[schema(value_type = Object)]
    pub epcis: Value,
}

/// Custody as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CustodyView {
    pub state: State,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder: Option<Uuid>,
    /// The organisation a pending handover names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_to: Option<Uuid>,
}

impl From<Custody> for CustodyView {
    fn from(c: Custody) -> Self {
        CustodyView {
            state: c.state,
            holder: c.holder,
            pending_to: c.pending_to,
        }
    }
}

/// What the caller may do next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NextSteps {
    pub actions: Vec<Action>,
    pub processes: Vec<Process>,
}

/// The steps a lot can take (it is never collected, received or sorted: it is made held).
pub const LOT_ACTIONS: [Action; 4] = [
    Action::Handover,
    Action::Accept,
    Action::Destroy,
    Action::Export,
];

/// How far ahead of our clock an event may be dated (the recorder's clock may run fast).
pub const CLOCK_SKEW: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

/// When an event may have happened: not before 1950, and not in the future (beyond
/// [`CLOCK_SKEW`]): a step dated ahead would count in a year that has not come.
pub fn check_event_time(at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), String> {
    use chrono::Datelike;
    if at.year() < 1950 {
        return Err("must not be before 1950".to_owned());
    }
    if at > now + CLOCK_SKEW {
        return Err(format!(
            "must not be in the future (it is {} here; {} minutes of clock difference are allowed)",
            now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            CLOCK_SKEW.num_minutes()
        ));
    }
    Ok(())
}

fn check_text(errors: &mut Vec<FieldError>, pointer: &str, value: Option<&str>, max: usize) {
    if let Some(value) = value
        && (value.trim().is_empty()
            || value.chars().count() > max
            || value.chars().any(|c| c.is_control() && c != '\n'))
    {
        errors.push(FieldError::new(
            pointer,
            format!("must be 1 to {max} printable characters"),
        ));
    }
}

/// Checks the free parts of a step (or of a transformation): its note, its location and its
/// time, as of `now`.
pub fn check_step_fields(
    at: DateTime<FixedOffset>,
    location: Option<&Location>,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    check_text(&mut errors, "/note", note, 1000);
    if let Some(location) = location {
        check_text(&mut errors, "/location/name", location.name.as_deref(), 200);
        if let Some(id) = &location.id
            && (id.len() > 500
                || !id.contains(':')
                || id.chars().any(|c| c.is_whitespace() || c.is_control()))
        {
            errors.push(FieldError::new(
                "/location/id",
                "must be an absolute URI (e.g. urn:epc:id:sgln:...)",
            ));
        }
    }
    if let Err(why) = check_event_time(at.with_timezone(&Utc), now) {
        errors.push(FieldError::new("/at", why));
    }
    errors
}

/// Checks who a step names as the next holder: a handover names one, no other step does.
pub fn check_recipient(action: Action, to_org: Option<Uuid>) -> Result<(), FieldError> {
    match (action, to_org) {
        (Action::Handover, None) => Err(FieldError::new(
            "/to_org",
            "a handover names the next holder (a recycler organisation)",
        )),
        (Action::Handover, Some(_)) | (_, None) => Ok(()),
        (_, Some(_)) => Err(FieldError::new(
            "/to_org",
            "only a handover names a next holder",
        )),
    }
}

/// The EPCIS business step of a custody action.
pub fn observation_step(action: Action) -> ObservationStep {
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

/// Something custody follows, as the store holds it now.
#[derive(Debug, Clone)]
pub enum Tracked {
    Product(ProductRow),
    Lot(LotRow),
}

impl Tracked {
    /// The passport id or lot id: the subject of its hash chain.
    pub fn id(&self) -> Uuid {
        match self {
            Tracked::Product(p) => p.passport_id,
            Tracked::Lot(l) => l.lot_id,
        }
    }

    /// Its custody as stored.
    pub fn custody(&self) -> Custody {
        match self {
            Tracked::Product(p) => p.custody,
            Tracked::Lot(l) => l.custody,
        }
    }

    /// Its identifier as the event index keeps it: an instance (`epc`) or a class (`class`).
    pub fn indexed_epc(&self) -> (String, &'static str) {
        match self {
            Tracked::Product(p) => (p.epc.clone(), "epc"),
            Tracked::Lot(l) => (l.epc.clone(), "class"),
        }
    }
}

/// A step decided on one product or lot.
#[derive(Debug, Clone)]
pub struct Decided {
    /// The custody after the step.
    pub next: Custody,
    /// What the custody feed says of the step.
    pub data: Value,
}

/// Decides `action` by `actor` on `tracked`, whose custody is `current` (its stored custody,
/// or where earlier events of the same capture left it): the state machine, the holder rule
/// and what a lot may do. A refusal says what is allowed instead; an action a lot cannot take
/// is an invalid `/action`.
pub fn decide(
    tracked: &Tracked,
    current: Custody,
    action: Action,
    actor: Uuid,
    to_org: Option<Uuid>,
    location: Option<&Location>,
) -> Result<Decided, CustodyError> {
    let is_lot = matches!(tracked, Tracked::Lot(_));
    if is_lot && !LOT_ACTIONS.contains(&action) {
        return Err(CustodyError::invalid(
            "/action",
            "a lot can be handed over, accepted, destroyed or exported",
        ));
    }
    let next = state::step(current, action, actor, to_org).map_err(|refusal| {
        let (mut actions, mut processes) = state::allowed(current, actor);
        if is_lot {
            actions.retain(|a| LOT_ACTIONS.contains(a));
            processes.clear();
        }
        CustodyError::StepNotAllowed {
            refusal,
            allowed: NextSteps { actions, processes },
            input: None,
        }
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
