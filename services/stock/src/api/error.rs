//! The stock service's problem codes (beside core's shared ones in
//! [`reetrace_core::api::codes::CORE`]): it answers only core's codes today. And the one place
//! where a [`StockError`] becomes problem+json.

use reetrace_core::api::codes::{self, Code};
use reetrace_core::api::problem::{FieldError, Problem};

use crate::service::StockError;

/// Every code the stock service answers besides core's.
pub static CODES: &[Code] = &[];

impl From<StockError> for Problem {
    fn from(err: StockError) -> Self {
        match err {
            StockError::Denied(denied) => denied.into(),
            StockError::NoFiguresOnBasis { .. } => {
                // A query parameter that does not fit the others: `flow` names a flow the
                // chosen `basis` has no figures of.
                let detail = err.to_string();
                Problem::bad_request(codes::INVALID_QUERY, format!("flow: {detail}"))
                    .with_errors(vec![FieldError::new("flow", detail)])
            }
            StockError::Invalid(errors) => Problem::validation(errors),
            StockError::ScenarioNotFound(_) => Problem::not_found(err.to_string()),
            StockError::Panicked { what, source } => {
                tracing::error!(error = %source, "{what} panicked");
                Problem::internal()
            }
            StockError::NoPrices => {
                tracing::error!("no price series is stored after seeding the built-in one");
                Problem::internal()
            }
            StockError::NoParameters => {
                tracing::error!("no parameter version is stored after seeding the defaults");
                Problem::internal()
            }
            StockError::Store(e) => e.into(),
        }
    }
}
