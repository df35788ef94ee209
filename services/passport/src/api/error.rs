//! The passport service's problem codes (beside core's shared ones in
//! [`reetrace_core::api::codes::CORE`]).

use reetrace_core::problem_codes;

const MALFORMED: &str = "The request is malformed";
const CONFLICTS: &str = "The request conflicts with the current state";

problem_codes! {
    /// Every code the passport service answers besides core's.
    pub static CODES;
    /// An atomic bulk registration that stored nothing: 422 when a line is invalid, 409 when
    /// lines conflict; `results` gives every line's outcome.
    BULK_REFUSED = ("bulk_refused", UNPROCESSABLE_ENTITY, "Atomic bulk registration refused");
    /// Another request with the same idempotency key is still running.
    CONCURRENT_REQUEST = ("concurrent_request", CONFLICT, CONFLICTS);
    /// Two lines of one bulk request name the same product.
    DUPLICATE_IN_REQUEST = ("duplicate_in_request", CONFLICT, CONFLICTS);
    /// A bulk request without lines.
    EMPTY_BULK = ("empty_bulk", BAD_REQUEST, MALFORMED);
    /// A GS1 identifier in a path that is not valid.
    INVALID_IDENTIFIER = ("invalid_identifier", BAD_REQUEST, MALFORMED);
    /// A valid line not stored because another line of an atomic request failed.
    NOT_COMMITTED = ("not_committed", FAILED_DEPENDENCY, "Not stored: another line failed in an atomic request");
    /// A passport with this identity exists already.
    PASSPORT_EXISTS = ("passport_exists", CONFLICT, CONFLICTS);
    /// The passport is suspended or revoked.
    PASSPORT_NOT_ACTIVE = ("passport_not_active", CONFLICT, CONFLICTS);
    /// A status change the passport's status does not allow.
    STATUS_TRANSITION = ("status_transition", CONFLICT, CONFLICTS);
    /// A bulk request with more lines than allowed.
    TOO_MANY_LINES = ("too_many_lines", PAYLOAD_TOO_LARGE, "Too many registrations");
    /// The passport is at another version than the request names.
    VERSION_CONFLICT = ("version_conflict", CONFLICT, CONFLICTS);
}
