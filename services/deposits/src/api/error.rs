//! The deposits service's problem codes (beside core's shared ones in
//! [`reetrace_core::api::codes::CORE`]), and the one place where a [`DepositError`] becomes
//! problem+json.

use reetrace_core::api::problem::{FieldError, Problem};
use reetrace_core::problem_codes;

use crate::service::DepositError;

const CONFLICTS: &str = "The request conflicts with the current state";

problem_codes! {
    /// Every code the deposits service answers besides core's.
    pub static CODES;
    /// The deposit was withdrawn: it takes no new version.
    DEPOSIT_WITHDRAWN = ("deposit_withdrawn", CONFLICT, CONFLICTS);
}

impl From<DepositError> for Problem {
    fn from(err: DepositError) -> Self {
        match err {
            DepositError::Invalid(errors) => Problem::validation(errors),
            DepositError::Figures(e) => Problem::validation(vec![FieldError::new(
                "/tonnage/tonnes",
                format!("tonnage × concentration {e}"),
            )]),
            DepositError::NotFound(id) => Problem::not_found(format!("No deposit {id}.")),
            DepositError::NotOwner(id) => Problem::forbidden(format!(
                "Deposit {id} is recorded by another organisation; only it records new versions \
                 or withdraws it."
            )),
            DepositError::Revoked(id) => Problem::conflict(
                DEPOSIT_WITHDRAWN,
                format!("Deposit {id} was withdrawn and takes no new version."),
            ),
            DepositError::Issuing(e) => {
                tracing::error!(error = %e, "issuing a deposit credential failed");
                Problem::internal()
            }
            DepositError::Secure(e) => {
                tracing::error!(error = %e, "securing a deposit credential failed");
                Problem::internal()
            }
            DepositError::Store(e) => e.into(),
        }
    }
}
