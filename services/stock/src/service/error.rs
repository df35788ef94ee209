//! What the stock service's use cases fail with. `api::error` turns each into its answer.

use reetrace_core::db::StoreError;
use reetrace_core::domain::{Denied, FieldError};

use super::flows::BasisChoice;
use crate::domain::flow::Flow;

/// Why a use case of the stock service failed.
#[derive(Debug, thiserror::Error)]
pub enum StockError {
    /// The caller's role may not do this.
    #[error(transparent)]
    Denied(#[from] Denied),
    /// A flow asked for on a basis it has no figures on (collected flows are only observed).
    #[error("{flow} has no {} figures", basis.as_str())]
    NoFiguresOnBasis { flow: Flow, basis: BasisChoice },
    /// Parameters or a scenario that do not pass validation; each error names its JSON pointer.
    #[error("{} invalid field(s)", .0.len())]
    Invalid(Vec<FieldError>),
    /// No scenario with this id (or one the caller may not read).
    #[error("no scenario {0} that you may read")]
    ScenarioNotFound(uuid::Uuid),
    /// A computation run off the async threads panicked.
    #[error("{what} panicked")]
    Panicked {
        what: &'static str,
        #[source]
        source: tokio::task::JoinError,
    },
    /// No parameter version is stored, not even after seeding the defaults.
    #[error("no parameter version is stored after seeding the defaults")]
    NoParameters,
    /// No price series is stored, not even after seeding the built-in one.
    #[error("no price series is stored after seeding the built-in one")]
    NoPrices,
    #[error(transparent)]
    Store(#[from] StoreError),
}
