//! The custody service's problem codes (beside core's shared ones in
//! [`reetrace_core::api::codes::CORE`]).

use reetrace_core::problem_codes;

const MALFORMED: &str = "The request is malformed";
const CONFLICTS: &str = "The request conflicts with the current state";

problem_codes! {
    /// Every code the custody service answers besides core's.
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
    /// A tree size that is not valid for a proof.
    INVALID_SIZE = ("invalid_size", BAD_REQUEST, MALFORMED);
    /// A lot with nothing left to take.
    LOT_USED_UP = ("lot_used_up", CONFLICT, CONFLICTS);
    /// A transformation whose outputs exceed its inputs for an element.
    MASS_BALANCE = ("mass_balance", UNPROCESSABLE_ENTITY, "Outputs exceed inputs");
    /// No checkpoint of the asked size.
    NO_CHECKPOINT = ("no_checkpoint", NOT_FOUND, "No checkpoint of this size");
    /// The caller does not hold the product or lot.
    NOT_HOLDER = ("not_holder", CONFLICT, CONFLICTS);
    /// The event is not yet covered by a published checkpoint.
    NOT_YET_IN_CHECKPOINT = ("not_yet_in_checkpoint", CONFLICT, CONFLICTS);
    /// Claims would exceed what the lot recovered.
    OVER_CLAIM = ("over_claim", CONFLICT, CONFLICTS);
    /// The step is not allowed in the product's state; `allowed` lists those that are.
    STEP_NOT_ALLOWED = ("step_not_allowed", CONFLICT, CONFLICTS);
}
