//! EPCIS 2.0 capture (`POST /api/v1/epcis/capture`): what a document's events are and what
//! became of them.
//!
//! A captured `EPCISDocument` goes through two phases:
//!
//! 1. [`prepare`] (no I/O): the envelope and every event are checked against the GS1 schema,
//!    each event gets its event hash (computed with the document's `@context`) and its
//!    `eventID` (the hash when it has none), and is classified: one of our custody steps
//!    ([`EventKind::Step`]), an error declaration, or anything else, stored as it is. A
//!    transformation by one of our own processes (`ree:dismantling`, `ree:recycling`) is
//!    refused: it needs its output assays, which only `POST /api/v1/custody/transformations`
//!    takes. The stored form of each event is made here: the event with the document's
//!    `@context` and its `eventID`, without a client's `recordTime` (the repository sets it).
//! 2. `service::capture` (against the store): idempotency by `eventID` and hash, the
//!    products and lots the events name, the state machine and holder rule for our steps (the
//!    same [`decide`](crate::domain::step::decide) as the REST routes), and one write for the
//!    whole document: one transaction, one compare-and-set of every product and lot it moves,
//!    one append to the log.
//!
//! Only those involved write into a product's (or lot's) history: our steps keep the holder
//! rule of the state machine (any recycler collects a product in use; then only its holder, or
//! the organisation a pending handover names, records the next step), and any other event
//! naming a product or lot we follow is refused ([`EventFault::NotHolder`]) unless its
//! recorder holds it, as of the events before it in the same document.
//!
//! Why an event fails is an [`EventFault`]; the API gives each its stable code and status.
//!
//! Corrections never edit or delete: an event carrying `errorDeclaration` for a stored
//! `eventID` is stored as a new leaf (EPCIS 2.0 section 7.4.1.2: the prior event is not
//! modified, and queries return both). It keeps the `eventID` of the event it corrects inside
//! its document; its row is keyed `<eventID>#error-declaration-1`.

mod prepare;

use chrono::{DateTime, Utc};
use reetrace_core::domain::{FieldError, Role};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

pub use prepare::{declaration_id, prepare};

use crate::epcis::hash::HashVersion;

use super::state::{Action, StepRefusal};
use super::step::NextSteps;

/// The most events one document may carry (the `GS1-EPCIS-Capture-Limit` of the REST binding).
pub const CAPTURE_LIMIT: usize = 10_000;

/// What a failing event does to its document (`GS1-Capture-Error-Behaviour`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ErrorBehaviour {
    /// All or nothing (`rollback`, the default).
    #[default]
    Rollback,
    /// The valid events are stored, the others listed (`proceed`).
    Proceed,
}

impl ErrorBehaviour {
    /// The binding's spelling (`rollback`, `proceed`).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorBehaviour::Rollback => "rollback",
            ErrorBehaviour::Proceed => "proceed",
        }
    }

    /// Reads the binding's spelling, in any case.
    pub fn parse(text: &str) -> Option<ErrorBehaviour> {
        [ErrorBehaviour::Rollback, ErrorBehaviour::Proceed]
            .into_iter()
            .find(|b| b.as_str().eq_ignore_ascii_case(text.trim()))
    }
}

/// What became of one event of a captured document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventStatus {
    /// Stored now: a new leaf of the log.
    Captured,
    /// The same `eventID` with the same hash was stored before (or earlier in the document):
    /// the original's leaf, nothing new.
    Duplicate,
    /// Not stored; `errors` says why.
    Refused,
}

/// Why one event of a document cannot be captured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventFault {
    /// Not valid against the EPCIS 2.0 schema, or not readable as an event.
    Schema(String),
    /// A string, a nesting or the whole event beyond what an event may hold.
    TooLarge(String),
    /// An `eventTime` before 1950 or in the future.
    EventTime(String),
    /// A transformation by one of our own processes: `POST /api/v1/custody/transformations`
    /// records it, with its output assays.
    UseTransformations { step: String },
    /// Its `eventID` is stored (or earlier in the document) with other content.
    EventIdReused { id: String, declaration: bool },
    /// An error declaration that does not repeat the event it declares erroneous.
    DeclarationDiffers { id: String, original_hash: String },
    /// An error declaration of an event that is not stored.
    NoSuchEvent(String),
    /// An error declaration by another organisation than the one that recorded the event.
    NotRecorder(String),
    /// A departing event that names no next holder.
    NoNextHolder,
    /// A next holder named by something that is no organisation identifier.
    UnnamedHolder(String),
    /// A next holder that is no organisation of ours.
    NoOrganisation(String),
    /// A next holder that is not a recycler.
    NotARecycler { holder: String, role: Role },
    /// A step its product or lot may not take now; `allowed` is what it may take.
    StepNotAllowed {
        refusal: StepRefusal,
        allowed: NextSteps,
    },
    /// A step a lot can never take, at `errors`.
    InvalidStep(Vec<FieldError>),
    /// An event that is no custody step names a product (or lot) the recorder does not hold:
    /// only its holder writes other events into its history.
    NotHolder { subject: Uuid, lot: bool },
}

/// A failing event: which, where in the document, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRefusal {
    /// The event's position in `epcisBody.eventList`.
    pub index: usize,
    /// JSON pointer into the captured document.
    pub pointer: String,
    pub fault: EventFault,
}

/// The outcome of one event.
#[derive(Debug, Clone)]
pub struct EventOutcome {
    /// The event's position in `epcisBody.eventList`.
    pub index: usize,
    /// Its `eventID` (its event hash when it had none).
    pub event_id: Option<String>,
    /// Its EPCIS event hash.
    pub event_hash: Option<String>,
    /// Its leaf in the transparency log (the original's for a duplicate).
    pub leaf_index: Option<i64>,
    pub status: EventStatus,
    /// The custody step it applied, `error_declaration`, or the event type when it was stored
    /// as it is.
    pub action: Option<String>,
    /// The products and lots (passport and lot ids) whose chains it joined.
    pub subjects: Vec<Uuid>,
    /// An error declaration's own id, to read it back.
    pub declaration_id: Option<String>,
    pub errors: Vec<EventRefusal>,
}

/// What a capture did, event by event.
#[derive(Debug, Clone)]
pub struct CaptureOutcome {
    /// Events stored now.
    pub captured: usize,
    /// Events stored before (same `eventID`, same hash).
    pub duplicates: usize,
    /// Events not stored (only when the document proceeds past failing events).
    pub refused: usize,
    /// One outcome per event, in document order.
    pub events: Vec<EventOutcome>,
}

impl CaptureOutcome {
    pub fn of(events: Vec<EventOutcome>) -> CaptureOutcome {
        let count = |status| events.iter().filter(|r| r.status == status).count();
        CaptureOutcome {
            captured: count(EventStatus::Captured),
            duplicates: count(EventStatus::Duplicate),
            refused: count(EventStatus::Refused),
            events,
        }
    }
}

/// How an event is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// An `ObjectEvent` with the business step of one of our custody actions.
    Step(Action),
    /// An event carrying `errorDeclaration`.
    Declaration,
    /// Anything else: stored as it is, joining the chains of what it names.
    Plain,
}

/// An identifier an event names, as the event index and the product and lot lookups use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    /// The canonical form the event index keeps (what `MATCH_anyEPC` compares).
    pub indexed: String,
    /// `epc`, `parent`, `child`, `input`, `output`, `class`, `input_class` or `output_class`.
    pub role: &'static str,
    /// The product or lot it may be, as the store keys them.
    pub key: Option<SubjectKey>,
    /// Where it is in the document.
    pub pointer: String,
}

/// How the store finds a product (instance identifiers) or a lot (class identifiers).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SubjectKey {
    /// A product by its EPC (canonical SGTIN Digital Link) or its passport URI's id.
    Product(StoreKey),
    /// A lot by its EPC (canonical LGTIN Digital Link) or its lot URI's id.
    Lot(StoreKey),
}

/// How the store keys a product or a lot: its EPC, or the id in one of our own URIs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StoreKey {
    Epc(String),
    Id(Uuid),
}

/// One event of a document, checked and ready to apply.
#[derive(Debug)]
pub struct Incoming {
    pub index: usize,
    /// The event as given.
    pub event: Value,
    pub kind: EventKind,
    /// Its `eventID`, or its hash.
    pub id: String,
    pub hash: String,
    /// Its hash by the rules of [`HashVersion::V1`], where they give another one: an event
    /// stored before version 2 is recognised by it (stored events keep their hash and id).
    pub legacy_hash: Option<String>,
    /// Whether the event came without an `eventID` (its id is its hash).
    pub id_is_hash: bool,
    pub event_type: String,
    pub event_time: DateTime<Utc>,
    pub biz_step: Option<String>,
    pub biz_location: Option<String>,
    /// `bizLocation` (else `readPoint`) as given: the feed's location of a step.
    pub location: Option<String>,
    /// A handover's next holder as the event names it, with where.
    pub to_holder: Option<(String, String)>,
    pub names: Vec<Name>,
    /// The exact JSON stored.
    pub document: String,
    /// Why it cannot be captured (then nothing else above is meaningful).
    pub errors: Vec<EventRefusal>,
}

impl Incoming {
    /// The id a capture before hash version 2 gave this event: its version 1 hash, when it
    /// has no `eventID` and that hash is another.
    pub fn legacy_id(&self) -> Option<&str> {
        self.legacy_hash.as_deref().filter(|_| self.id_is_hash)
    }

    /// Whether `hash`, stored as hash version `version` ([`HashVersion::number`]), is this
    /// event's hash by the same rules. A version this build does not know matches nothing.
    pub fn has_hash(&self, hash: &str, version: i64) -> bool {
        match HashVersion::from_number(version) {
            Some(HashVersion::V1) => self.legacy_hash.as_deref().unwrap_or(&self.hash) == hash,
            Some(HashVersion::V2) => self.hash == hash,
            None => false,
        }
    }
}

/// A parsed, checked document.
#[derive(Debug)]
pub struct Prepared {
    pub events: Vec<Incoming>,
}

/// The JSON pointer of the `index`-th event of a document.
pub fn event_pointer(index: usize) -> String {
    format!("/epcisBody/eventList/{index}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
