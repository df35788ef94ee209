//! The custody service's problem codes (beside core's shared ones in
//! [`reetrace_core::api::codes::CORE`]), and the one place where a [`CustodyError`] becomes an
//! answer: its HTTP status, its stable code and its detail. The errors of single events of an
//! EPCIS capture become their [`EventError`]s here too.

use axum::http::StatusCode;
use reetrace_core::api::codes::{self, Code};
use reetrace_core::api::problem::{FieldError, Problem};
use reetrace_core::problem_codes;

use crate::domain::capture::{EventFault, EventRefusal};
use crate::domain::{Contention, CustodyError};

use super::epcis::EventError;

const MALFORMED: &str = "The request is malformed";
const CONFLICTS: &str = "The request conflicts with the current state";
const NOT_CAPTURED: &str = "The event was not captured";

problem_codes! {
    /// Every code the custody service answers besides core's. The last six ([`PER_EVENT`])
    /// appear only in a capture's per-event errors (`event_errors` of `capture_refused`, and
    /// `errors` of each event of a capture report), never as a problem of their own.
    pub static CODES;
    /// An EPCIS document with more events than one capture takes.
    CAPTURE_LIMIT = ("capture_limit", PAYLOAD_TOO_LARGE, "Too many events in one document");
    /// An EPCIS document refused as a whole: 409 when every event conflicts, 422 otherwise;
    /// `errors` has one entry per refused event.
    CAPTURE_REFUSED = ("capture_refused", UNPROCESSABLE_ENTITY, "The document was not captured");
    /// The claim id was used for another claim.
    CLAIM_ID_REUSED = ("claim_id_reused", CONFLICT, CONFLICTS);
    /// Another request with the same idempotency key is still running.
    CONCURRENT_REQUEST = ("concurrent_request", CONFLICT, CONFLICTS);
    /// The same event is recorded already.
    DUPLICATE_EVENT = ("duplicate_event", CONFLICT, CONFLICTS);
    /// The product or lot is being handed over; the recipient must accept first.
    HANDOVER_PENDING = ("handover_pending", CONFLICT, CONFLICTS);
    /// A request header that is not valid (its name is in the detail).
    INVALID_HEADER = ("invalid_header", BAD_REQUEST, MALFORMED);
    /// An EPCIS query parameter that is not valid or not supported.
    INVALID_QUERY_PARAMETER = ("invalid_query_parameter", BAD_REQUEST, MALFORMED);
    /// An EPCIS query that would return more events than its `maxEventCount`.
    QUERY_TOO_LARGE = ("query_too_large", PAYLOAD_TOO_LARGE, "The query would return too many events");
    /// A tree size that is not valid for a proof.
    INVALID_SIZE = ("invalid_size", BAD_REQUEST, MALFORMED);
    /// Recycled content claimed for another organisation's passport.
    NOT_YOUR_PASSPORT = ("not_your_passport", FORBIDDEN, "The passport is not the caller's");
    /// A direct claim for a passport custody does not know (not issued, a model passport, or
    /// not yet seen in the passport feed).
    UNKNOWN_PASSPORT = ("unknown_passport", CONFLICT, CONFLICTS);
    /// A second reservation for a passport custody has never seen (the first lapsed or was
    /// released): a reservation is not renewed for a passport that never appeared.
    RESERVATION_NOT_RENEWABLE = ("reservation_not_renewable", CONFLICT, CONFLICTS);
    /// A lot with nothing left to take.
    LOT_USED_UP = ("lot_used_up", CONFLICT, CONFLICTS);
    /// A transformation whose outputs exceed its inputs for an element.
    MASS_BALANCE = ("mass_balance", UNPROCESSABLE_ENTITY, "Outputs exceed inputs");
    /// No checkpoint of the asked size.
    NO_CHECKPOINT = ("no_checkpoint", NOT_FOUND, "No checkpoint of this size");
    /// The caller does not hold the product or lot (a transformation's input, or what a
    /// captured event that is no custody step names).
    NOT_HOLDER = ("not_holder", CONFLICT, CONFLICTS);
    /// The event is not yet covered by a published checkpoint.
    NOT_YET_IN_CHECKPOINT = ("not_yet_in_checkpoint", CONFLICT, CONFLICTS);
    /// The step is not allowed in the product's state; `allowed` lists those that are.
    STEP_NOT_ALLOWED = ("step_not_allowed", CONFLICT, CONFLICTS);
    /// A captured event that is not valid against the EPCIS 2.0 schema (per-event only).
    SCHEMA = ("schema", UNPROCESSABLE_ENTITY, NOT_CAPTURED);
    /// A captured event with a string, a nesting or a count of values beyond its caps
    /// (per-event only).
    EVENT_TOO_LARGE = ("event_too_large", UNPROCESSABLE_ENTITY, NOT_CAPTURED);
    /// A captured event dated before 1950 or in the future (per-event only).
    INVALID_EVENT_TIME = ("invalid_event_time", UNPROCESSABLE_ENTITY, NOT_CAPTURED);
    /// A captured dismantling or recycling, which `POST /api/v1/custody/transformations`
    /// records with its assays (per-event only).
    USE_TRANSFORMATIONS = ("use_transformations", UNPROCESSABLE_ENTITY, NOT_CAPTURED);
    /// A captured `eventID` stored with other content (per-event only).
    EVENT_ID_REUSED = ("event_id_reused", CONFLICT, NOT_CAPTURED);
    /// A captured error declaration of an event that is not stored (per-event only).
    NO_SUCH_EVENT = ("no_such_event", UNPROCESSABLE_ENTITY, NOT_CAPTURED);
}

/// The codes that appear only in a capture's per-event errors, never as a problem's own `code`
/// (so no operation lists them in its `x-problem-codes`).
pub static PER_EVENT: &[Code] = &[
    SCHEMA,
    EVENT_TOO_LARGE,
    INVALID_EVENT_TIME,
    USE_TRANSFORMATIONS,
    EVENT_ID_REUSED,
    NO_SUCH_EVENT,
];

impl From<CustodyError> for Problem {
    fn from(err: CustodyError) -> Self {
        match err {
            CustodyError::Invalid(errors) => Problem::validation(errors),
            CustodyError::Denied(denied) => denied.into(),
            CustodyError::CallerGone => {
                Problem::forbidden("The caller's organisation no longer exists.")
            }
            CustodyError::NotOwnPassport(passport_id) => Problem::new(NOT_YOUR_PASSPORT)
                .with_detail(format!(
                    "Passport {passport_id} is another organisation's: only its owner claims \
                     recycled content for it."
                ))
                .with("passport", passport_id),
            CustodyError::UnknownPassport(passport_id) => Problem::new(UNKNOWN_PASSPORT)
                .with_detail(format!(
                    "No passport {passport_id} is known to custody: claims are made for issued \
                     product passports (a passport just issued may take a moment to appear; \
                     retry)."
                ))
                .with("passport", passport_id),
            CustodyError::NoProduct(passport_id) => Problem::not_found(format!(
                "No product with passport {passport_id} (model passports have no custody)."
            )),
            CustodyError::NoLot(lot_id) => Problem::not_found(format!("No lot {lot_id}.")),
            CustodyError::BatchIdentity {
                passport_id,
                output,
            } => Problem::conflict(
                reetrace_core::api::codes::IDENTITY_TAKEN,
                format!(
                    "Batch passport {passport_id} has this GTIN and lot number: the output lot \
                     needs another lot number."
                ),
            )
            .with("passport_id", passport_id)
            .with_errors(vec![FieldError::new(
                format!("/outputs/{output}/lot_number"),
                "a batch passport has this GTIN and lot number",
            )]),
            CustodyError::NoCaptureJob(id) => {
                Problem::not_found(format!("No capture job {id} of your organisation."))
            }
            CustodyError::NoEvent(event_id) => {
                Problem::not_found(format!("No event {event_id:?}."))
            }
            CustodyError::NotInLog(event_id) => {
                Problem::not_found(format!("No event {event_id:?} in the log."))
            }
            CustodyError::EmptyLog => {
                Problem::not_found("The log is empty: no event has been recorded yet.")
            }
            CustodyError::StepNotAllowed {
                refusal,
                allowed,
                input,
            } => {
                let problem = Problem::conflict(STEP_NOT_ALLOWED, refusal.to_string())
                    .with("allowed", allowed);
                match input {
                    Some(input) => problem.with("input", input),
                    None => problem,
                }
            }
            CustodyError::DuplicateEvent(id) => Problem::conflict(
                DUPLICATE_EVENT,
                format!("The same event is recorded already ({id})."),
            ),
            CustodyError::ConcurrentRequest => Problem::conflict(
                CONCURRENT_REQUEST,
                "A concurrent request with this Idempotency-Key is in progress; retry.",
            ),
            CustodyError::LotUsedUp { lot_id, state } => {
                Problem::conflict(LOT_USED_UP, format!("Lot {lot_id} is {state}."))
            }
            CustodyError::LotHandoverPending(lot_id) => Problem::conflict(
                HANDOVER_PENDING,
                format!("Lot {lot_id} is being handed over."),
            ),
            CustodyError::NotLotHolder(lot_id) => Problem::conflict(
                NOT_HOLDER,
                format!("Only the holder of lot {lot_id} may transform it."),
            ),
            CustodyError::OutputsExceedInputs(excess) => {
                let detail = listed(&excess);
                Problem::new(MASS_BALANCE)
                    .with_detail(format!(
                        "The outputs hold more than the inputs brought in: {detail}."
                    ))
                    .with_errors(vec![FieldError::new("/outputs", detail)])
            }
            CustodyError::OutputsHeavierThanInputs { outputs, inputs } => {
                Problem::new(MASS_BALANCE)
                    .with_detail(format!(
                        "The outputs weigh {outputs} in all, more than the {inputs} that went in."
                    ))
                    .with_errors(vec![FieldError::new("/outputs", "heavier than the inputs")])
            }
            CustodyError::ClaimIdReused => Problem::conflict(
                CLAIM_ID_REUSED,
                "This claim id was used for a different claim; use a new id.",
            ),
            CustodyError::OverClaim {
                lot_id,
                excess,
                claimable,
            } => Problem::conflict(
                codes::OVER_CLAIM,
                format!(
                    "Lot {lot_id} cannot give that much recycled content (what passports claim \
                     may not exceed what was recovered into it): {}.",
                    listed(&excess)
                ),
            )
            .with("lot", lot_id)
            .with("claimable", claimable),
            CustodyError::ReservationCap {
                lot_id,
                percent,
                excess,
                reservable,
            } => Problem::conflict(
                codes::RESERVATION_CAP,
                format!(
                    "One organisation's open reservations on lot {lot_id} may hold at most \
                     {percent} % of what the lot still offers it, so that others are not locked \
                     out; a reservation counts as open until its passport appears: {}.",
                    listed(&excess)
                ),
            )
            .with("lot", lot_id)
            .with("reservable", reservable),
            CustodyError::ReservationNotRenewable(passport_id) => {
                Problem::new(RESERVATION_NOT_RENEWABLE)
                    .with_detail(format!(
                        "Passport {passport_id} was reserved for before and never appeared; a \
                         reservation is not renewed for it. Register the passport (a new \
                         registration reserves under its own id)."
                    ))
                    .with("passport", passport_id)
            }
            CustodyError::Contended(on) => Problem::service_unavailable(match on {
                Contention::Product => "The product kept changing under concurrent writes; retry.",
                Contention::Lot => "The lot kept changing under concurrent writes; retry.",
                Contention::Inputs => "The inputs kept changing under concurrent writes; retry.",
                Contention::ClaimedLots => "The lots kept changing under concurrent claims; retry.",
                Contention::Document => {
                    "The products of this document kept changing under concurrent writes; retry."
                }
            })
            .with("retry_after", 1),
            CustodyError::NegativeSize => Problem::bad_request(INVALID_SIZE, "sizes are positive"),
            CustodyError::ConsistencyFrom { max } => Problem::bad_request(
                INVALID_SIZE,
                format!("from must be between 1 and {max} (the second tree's size)"),
            ),
            CustodyError::NoCheckpoint(size) => Problem::new(NO_CHECKPOINT).with_detail(format!(
                "No checkpoint of size {size} was published; ask for the size of a published \
                 checkpoint (see /api/v1/log/checkpoint)."
            )),
            CustodyError::NotYetInCheckpoint {
                event_id,
                leaf_index,
                tree_size,
            } => Problem::conflict(
                NOT_YET_IN_CHECKPOINT,
                format!(
                    "Event {event_id} is leaf {leaf_index}, beyond the tree of {tree_size} \
                     leaves; ask for a later checkpoint."
                ),
            ),
            CustodyError::TooManyEvents { events, limit } => Problem::new(CAPTURE_LIMIT)
                .with_detail(format!(
                    "A document carries at most {limit} events; this one has {events}."
                ))
                .with("capture_limit", limit),
            CustodyError::CaptureRefused {
                failed,
                total,
                errors,
            } => capture_refused(failed, total, &errors),
            CustodyError::InvalidPageToken => Problem::bad_request(
                INVALID_QUERY_PARAMETER,
                "nextPageToken is not a cursor this server gave.",
            )
            .with_errors(vec![FieldError::new(
                "nextPageToken",
                "not a cursor this server gave",
            )]),
            CustodyError::QueryTooLarge { max, counted } => Problem::new(QUERY_TOO_LARGE)
                .with_detail(if counted {
                    format!("The query would return more than maxEventCount={max} events.")
                } else {
                    format!(
                        "The query matches too many events to check maxEventCount={max}; \
                         narrow it."
                    )
                })
                .with("max_event_count", max),
            CustodyError::TooManyToOrder { limit } => Problem::new(QUERY_TOO_LARGE)
                .with_detail(format!(
                    "Ordering by an extension field reads at most {limit} stored events; this \
                     query matches more. Narrow it, or order by eventTime or recordTime."
                ))
                .with("scan_limit", limit),
            CustodyError::Internal { what, cause } => {
                tracing::error!(error = %cause, "{what}");
                Problem::internal()
            }
            CustodyError::Store(e) => e.into(),
        }
    }
}

/// Elements asked beyond what there is, as details list them.
fn listed(excess: &[crate::domain::balance::Excess]) -> String {
    let each: Vec<String> = excess.iter().map(ToString::to_string).collect();
    each.join("; ")
}

/// A document refused as a whole: 409 when every failing event conflicts, 422 otherwise; one
/// field error and one event error per failure.
fn capture_refused(failed: usize, total: usize, refusals: &[EventRefusal]) -> Problem {
    let errors: Vec<EventError> = refusals.iter().map(event_error).collect();
    let status = if errors.iter().all(|e| e.status == 409) {
        StatusCode::CONFLICT
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Problem::new(CAPTURE_REFUSED)
        .with_status(status)
        .with_detail(format!(
            "{failed} of {total} events cannot be captured; nothing was stored."
        ))
        .with_errors(
            errors
                .iter()
                .map(|e| FieldError::new(e.pointer.clone(), e.detail.clone()))
                .collect(),
        )
        .with("event_errors", errors)
}

/// Why one event of a capture failed, as its answer says it.
pub fn event_error(refusal: &EventRefusal) -> EventError {
    let (code, detail): (Code, String) = match &refusal.fault {
        EventFault::Schema(message) => (SCHEMA, message.clone()),
        EventFault::TooLarge(why) => (EVENT_TOO_LARGE, why.clone()),
        EventFault::EventTime(why) => (INVALID_EVENT_TIME, why.clone()),
        EventFault::UseTransformations { step } => (
            USE_TRANSFORMATIONS,
            format!(
                "a {step} transformation is recorded with POST /api/v1/custody/transformations, \
                 which takes the assays of its outputs and checks the mass balance"
            ),
        ),
        EventFault::EventIdReused { id, declaration } => {
            let what = if *declaration {
                "an error declaration of it with other content"
            } else {
                "another event"
            };
            (
                EVENT_ID_REUSED,
                format!(
                    "eventID {id} is already {what}; a recorded event is never changed: declare \
                     it erroneous (errorDeclaration) and capture a corrective event with a new \
                     eventID"
                ),
            )
        }
        EventFault::DeclarationDiffers { id, original_hash } => (
            EVENT_ID_REUSED,
            format!(
                "an error declaration repeats the event it declares erroneous; this one \
                 differs from event {id} (hash {original_hash})"
            ),
        ),
        EventFault::NoSuchEvent(id) => (
            NO_SUCH_EVENT,
            format!("no event {id} is stored to declare erroneous"),
        ),
        EventFault::NotRecorder(id) => (
            codes::FORBIDDEN,
            format!("only the organisation that recorded event {id} may declare it erroneous"),
        ),
        EventFault::NoNextHolder => (
            codes::VALIDATION_FAILED,
            "a departing event names the next holder in ree:toHolder or as a possessing_party \
             destination (urn:uuid:<organisation id>, or its eori: or lei: operator identifier)"
                .to_owned(),
        ),
        EventFault::UnnamedHolder(holder) => (
            codes::VALIDATION_FAILED,
            format!(
                "{holder:?} names no organisation: use urn:uuid:<organisation id> or an eori: \
                 or lei: operator identifier"
            ),
        ),
        EventFault::NoOrganisation(holder) => (
            codes::VALIDATION_FAILED,
            format!("no organisation {holder}"),
        ),
        EventFault::NotARecycler { holder, role } => (
            codes::VALIDATION_FAILED,
            format!("{holder} is a {role}, not a recycler"),
        ),
        EventFault::StepNotAllowed {
            refusal: why,
            allowed,
        } => {
            let problem = Problem::from(CustodyError::StepNotAllowed {
                refusal: why.clone(),
                allowed: allowed.clone(),
                input: None,
            });
            return step_error(problem, refusal);
        }
        EventFault::InvalidStep(errors) => {
            return step_error(
                Problem::from(CustodyError::Invalid(errors.clone())),
                refusal,
            );
        }
        EventFault::NotHolder { subject, lot } => {
            let what = if *lot { "lot" } else { "product" };
            (
                NOT_HOLDER,
                format!(
                    "only the holder of {what} {subject} records events naming it that are no \
                     custody step; the caller does not hold it (steps keep their own rule: any \
                     recycler collects a product in use, then only the holder, or the \
                     organisation a pending handover names, records the next one)"
                ),
            )
        }
    };
    EventError {
        index: refusal.index,
        pointer: refusal.pointer.clone(),
        detail,
        code: code.code.to_owned(),
        status: code.status.as_u16(),
    }
}

/// A step refused on one event: what the REST route would answer, as the event's error (its
/// detail with the steps allowed instead, when it says them).
fn step_error(problem: Problem, refusal: &EventRefusal) -> EventError {
    let detail = problem
        .detail
        .clone()
        .unwrap_or_else(|| problem.title.clone());
    let detail = match problem.extensions.get("allowed") {
        Some(allowed) => format!("{detail} (allowed now: {allowed})"),
        None => detail,
    };
    EventError {
        index: refusal.index,
        pointer: refusal.pointer.clone(),
        detail,
        code: problem.code,
        status: problem.status,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn custody_codes_are_unique_beside_cores() {
        let mut seen = std::collections::HashSet::new();
        for code in codes::CORE.iter().chain(CODES) {
            assert!(seen.insert(code.code), "{} twice", code.code);
        }
        for code in CODES {
            assert!(
                code.status.is_client_error() || code.status.is_server_error(),
                "{}",
                code.code
            );
        }
    }

    #[test]
    fn per_event_codes_keep_their_statuses() {
        let error = |fault| {
            event_error(&EventRefusal {
                index: 3,
                pointer: "/epcisBody/eventList/3".into(),
                fault,
            })
        };
        for (fault, code, status) in [
            (EventFault::Schema("x".into()), "schema", 422),
            (EventFault::TooLarge("x".into()), "event_too_large", 422),
            (EventFault::EventTime("x".into()), "invalid_event_time", 422),
            (
                EventFault::UseTransformations {
                    step: "ree:recycling".into(),
                },
                "use_transformations",
                422,
            ),
            (
                EventFault::EventIdReused {
                    id: "e".into(),
                    declaration: false,
                },
                "event_id_reused",
                409,
            ),
            (EventFault::NoSuchEvent("e".into()), "no_such_event", 422),
            (EventFault::NotRecorder("e".into()), "forbidden", 403),
            (EventFault::NoNextHolder, "validation_failed", 422),
            (
                EventFault::NotHolder {
                    subject: uuid::Uuid::nil(),
                    lot: false,
                },
                "not_holder",
                409,
            ),
        ] {
            let wire = error(fault);
            assert_eq!((wire.code.as_str(), wire.status), (code, status));
            assert_eq!(
                (wire.index, wire.pointer.as_str()),
                (3, "/epcisBody/eventList/3")
            );
        }
    }
}
