//! The passport service's problem codes (beside core's shared ones in
//! [`reetrace_core::api::codes::CORE`]), and the one place where a [`PassportError`] becomes a
//! problem: its HTTP status and its stable code.

use reetrace_core::api::problem::Problem;
use reetrace_core::problem_codes;

use crate::service::PassportError;

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
    /// Two lines of one bulk request name the same product (only in a bulk answer's
    /// `results`, see [`PER_LINE`]).
    DUPLICATE_IN_REQUEST = ("duplicate_in_request", CONFLICT, CONFLICTS);
    /// A bulk request without lines.
    EMPTY_BULK = ("empty_bulk", BAD_REQUEST, MALFORMED);
    /// A GS1 identifier in a path that is not valid.
    INVALID_IDENTIFIER = ("invalid_identifier", BAD_REQUEST, MALFORMED);
    /// A valid line not stored because another line of an atomic request failed (only in a
    /// bulk answer's `results`, see [`PER_LINE`]).
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

/// The codes that appear only in the problem of one line of a bulk registration (its
/// `results`), never as a problem's own `code` (so no operation lists them in its
/// `x-problem-codes`).
pub static PER_LINE: &[reetrace_core::api::codes::Code] = &[DUPLICATE_IN_REQUEST, NOT_COMMITTED];

impl From<PassportError> for Problem {
    fn from(err: PassportError) -> Self {
        match err {
            PassportError::Invalid(errors) => Problem::validation(errors),
            PassportError::NotFound(what) => Problem::not_found(what),
            PassportError::Denied(denied) => denied.into(),
            PassportError::Exists => Problem::conflict(
                PASSPORT_EXISTS,
                "A passport for this product identity (GTIN with serial, lot or model) already exists.",
            ),
            PassportError::LotIdentity { lot_id } => Problem::conflict(
                reetrace_core::api::codes::IDENTITY_TAKEN,
                format!(
                    "Lot {lot_id} carries this GTIN and lot number already: a batch passport \
                     needs another lot number."
                ),
            )
            .with("lot_id", lot_id),
            PassportError::DuplicateInRequest { first_line } => Problem::conflict(
                DUPLICATE_IN_REQUEST,
                format!("Line {first_line} registers the same product identity."),
            ),
            PassportError::ConcurrentRequest => Problem::conflict(
                CONCURRENT_REQUEST,
                "A concurrent request with this Idempotency-Key is in progress; retry.",
            ),
            PassportError::NotActive(status) => Problem::conflict(
                PASSPORT_NOT_ACTIVE,
                format!(
                    "The passport is {}; only an active passport gets new versions.",
                    status.as_str()
                ),
            ),
            PassportError::VersionConflict { current } => Problem::conflict(
                VERSION_CONFLICT,
                format!("The passport moved to version {current} meanwhile; read it and retry."),
            ),
            PassportError::StatusTransition { from, to } => Problem::conflict(
                STATUS_TRANSITION,
                format!(
                    "A passport that is {} cannot become {}: revocation is final, suspension can be lifted.",
                    from.as_str(),
                    to.as_str()
                ),
            )
            .with("current_status", from),
            PassportError::ClaimsUnreachable => Problem::service_unavailable(
                "Recycled content from lots is checked by the custody service, which is not reachable.",
            ),
            PassportError::Claim(err) => err.into(),
            PassportError::Store(err) => err.into(),
            PassportError::Internal(what) => {
                tracing::error!(%what, "passport service failure");
                Problem::internal()
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use reetrace_core::domain::FieldError;

    use reetrace_core::api::codes;

    use super::*;
    use crate::domain::passport::PassportStatus;

    #[test]
    fn each_error_has_its_status_and_a_registered_code() {
        let cases = [
            (
                PassportError::Invalid(vec![FieldError::new("/x", "bad")]),
                422,
            ),
            (PassportError::NotFound("No passport.".into()), 404),
            (PassportError::Exists, 409),
            (PassportError::DuplicateInRequest { first_line: 2 }, 409),
            (PassportError::ConcurrentRequest, 409),
            (PassportError::NotActive(PassportStatus::Revoked), 409),
            (PassportError::VersionConflict { current: 3 }, 409),
            (
                PassportError::StatusTransition {
                    from: PassportStatus::Revoked,
                    to: PassportStatus::Active,
                },
                409,
            ),
            (PassportError::ClaimsUnreachable, 503),
            (PassportError::internal("boom"), 500),
        ];
        for (err, status) in cases {
            let problem = Problem::from(err);
            assert_eq!(problem.status, status, "{problem}");
            let code = codes::find(&[codes::CORE, CODES], &problem.code).unwrap();
            assert_eq!(code.status.as_u16(), status, "{}", problem.code);
        }
        let transition = Problem::from(PassportError::StatusTransition {
            from: PassportStatus::Suspended,
            to: PassportStatus::Suspended,
        });
        assert_eq!(transition.extensions["current_status"], "suspended");
        assert_eq!(
            Problem::from(PassportError::DuplicateInRequest { first_line: 2 }).detail,
            Some("Line 2 registers the same product identity.".into())
        );
    }
}
