//! Why a custody operation did not happen: the one error of the custody service's use cases and
//! rules. `api::error` turns each into its answer (status, stable code, detail).

use reetrace_core::db::StoreError;
use reetrace_core::domain::{Denied, FieldError, Mass};
use uuid::Uuid;

use super::balance::{ElementAmount, Excess};
use super::capture::EventRefusal;
use super::state::StepRefusal;
use super::step::NextSteps;

/// Why a custody operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum CustodyError {
    /// Fields of the request that are not valid, each named by its JSON pointer.
    #[error("the request is not valid")]
    Invalid(Vec<FieldError>),
    /// The caller's role may not do this.
    #[error(transparent)]
    Denied(#[from] Denied),
    /// The caller's organisation was deleted after its key was checked.
    #[error("the caller's organisation no longer exists")]
    CallerGone,
    /// Recycled content claimed for another organisation's passport.
    #[error("passport {0} is another organisation's: claims are its owner's to make")]
    NotOwnPassport(Uuid),
    /// A direct claim for a passport the custody service does not know (not issued, a model,
    /// or not yet seen in the passport feed).
    #[error("no passport {0} is known to custody: claims are made for issued passports")]
    UnknownPassport(Uuid),
    #[error("no product with passport {0} (model passports have no custody)")]
    NoProduct(Uuid),
    #[error("no lot {0}")]
    NoLot(Uuid),
    /// No stored event has this id.
    #[error("no event {0:?}")]
    NoEvent(String),
    /// No capture job of the caller's organisation has this id.
    #[error("no capture job {0}")]
    NoCaptureJob(Uuid),
    /// No leaf of the log is this event.
    #[error("no event {0:?} in the log")]
    NotInLog(String),
    /// The log has no leaf yet, so no checkpoint.
    #[error("the log is empty")]
    EmptyLog,
    /// The state machine or the holder rule refuses the step; `allowed` is what the caller may
    /// do instead, `input` the transformation input it concerns.
    #[error("{refusal}")]
    StepNotAllowed {
        refusal: StepRefusal,
        allowed: NextSteps,
        input: Option<String>,
    },
    /// An output lot named with the GTIN and lot number of a batch passport (`output` is its
    /// index in the request).
    #[error("batch passport {passport_id} has this GTIN and lot number")]
    BatchIdentity { passport_id: Uuid, output: usize },
    /// The same event is recorded already.
    #[error("event {0} is recorded already")]
    DuplicateEvent(String),
    /// Another request with the same idempotency key is still running.
    #[error("a concurrent request with this idempotency key is in progress")]
    ConcurrentRequest,
    /// A lot that is consumed, destroyed or exported.
    #[error("lot {lot_id} is {state}")]
    LotUsedUp { lot_id: Uuid, state: &'static str },
    #[error("lot {0} is being handed over")]
    LotHandoverPending(Uuid),
    #[error("only the holder of lot {0} may transform it")]
    NotLotHolder(Uuid),
    /// Outputs of a transformation that hold more of some elements than its inputs brought.
    #[error("the outputs hold more than the inputs brought in")]
    OutputsExceedInputs(Vec<Excess>),
    /// Outputs of a transformation that weigh more than its inputs.
    #[error("the outputs weigh {outputs} in all, more than the {inputs} that went in")]
    OutputsHeavierThanInputs { outputs: Mass, inputs: Mass },
    /// The claim id was used for another claim.
    #[error("the claim id was used for a different claim")]
    ClaimIdReused,
    /// Claims on a lot would exceed what was recovered into it.
    #[error("lot {lot_id} cannot give that much recycled content")]
    OverClaim {
        lot_id: Uuid,
        excess: Vec<Excess>,
        /// What may still be claimed from the lot.
        claimable: Vec<ElementAmount>,
    },
    /// One organisation's open reservations on a lot would hold more than the cap allows.
    #[error("reservations on lot {lot_id} would hold more than {percent} % of what it offers")]
    ReservationCap {
        lot_id: Uuid,
        percent: u8,
        excess: Vec<Excess>,
        /// What the organisation may still reserve on the lot.
        reservable: Vec<ElementAmount>,
    },
    /// A second reservation for a passport that never appeared.
    #[error("passport {0} never appeared; its reservation is not renewed")]
    ReservationNotRenewable(Uuid),
    /// Every attempt found what it read changed by concurrent writers.
    #[error("the {0} kept changing under concurrent writes")]
    Contended(Contention),
    /// A tree size below zero.
    #[error("sizes are positive")]
    NegativeSize,
    /// A consistency proof from a size outside the second tree.
    #[error("from must be between 1 and {max}")]
    ConsistencyFrom { max: i64 },
    #[error("no checkpoint of size {0} was published")]
    NoCheckpoint(i64),
    /// The event is beyond the tree of the checkpoint asked for.
    #[error("event {event_id} is leaf {leaf_index}, beyond the tree of {tree_size} leaves")]
    NotYetInCheckpoint {
        event_id: String,
        leaf_index: i64,
        tree_size: i64,
    },
    /// An EPCIS document with more events than one capture takes.
    #[error("a document carries at most {limit} events; this one has {events}")]
    TooManyEvents { events: usize, limit: usize },
    /// An EPCIS document refused as a whole: `errors` says why each failing event fails.
    #[error("{failed} of {total} events cannot be captured")]
    CaptureRefused {
        failed: usize,
        total: usize,
        errors: Vec<EventRefusal>,
    },
    /// A query cursor this server did not give.
    #[error("not a cursor this server gave")]
    InvalidPageToken,
    /// A query (`maxEventCount`) would return more than `max` events, or more than could be
    /// counted (`counted` false).
    #[error("the query would return more than {max} events")]
    QueryTooLarge { max: u32, counted: bool },
    /// A query ordered by an extension field matches more stored events than one request
    /// orders (`limit`).
    #[error("the query matches more than {limit} stored events to order")]
    TooManyToOrder { limit: usize },
    /// Something that should not fail did (logged, never shown).
    #[error("{what}: {cause}")]
    Internal { what: &'static str, cause: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl CustodyError {
    /// An internal failure of `what`, for the log.
    pub fn internal(what: &'static str, cause: impl std::fmt::Display) -> CustodyError {
        CustodyError::Internal {
            what,
            cause: cause.to_string(),
        }
    }

    /// One invalid field.
    pub fn invalid(pointer: impl Into<String>, detail: impl Into<String>) -> CustodyError {
        CustodyError::Invalid(vec![FieldError::new(pointer, detail)])
    }
}

/// What kept changing under concurrent writes, when a write gave up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contention {
    /// The product a step was recorded on.
    Product,
    /// The lot a step was recorded on.
    Lot,
    /// The inputs of a transformation.
    Inputs,
    /// The lots a claim draws on.
    ClaimedLots,
    /// The products and lots a captured document moves.
    Document,
}

impl std::fmt::Display for Contention {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Contention::Product => "product",
            Contention::Lot => "lot",
            Contention::Inputs => "inputs",
            Contention::ClaimedLots => "claimed lots",
            Contention::Document => "products of the document",
        })
    }
}
