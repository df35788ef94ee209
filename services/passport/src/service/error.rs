//! What the passport service's use cases fail with. The HTTP edge turns each variant into a
//! status and a stable code (`api::error`), nowhere else.

use reetrace_core::db::StoreError;
use reetrace_core::domain::{Denied, FieldError};
use reetrace_core::service::issuing::IssuingError;
use reetrace_core::service::recycled_content::ClaimError;
use uuid::Uuid;

use crate::domain::passport::PassportStatus;

/// Why a passport operation failed.
#[derive(Debug, thiserror::Error)]
pub enum PassportError {
    /// The request breaks a rule; each error names the offending field.
    #[error("the request is not valid ({} fields)", .0.len())]
    Invalid(Vec<FieldError>),
    /// No such record (or none the caller may see); the text says which.
    #[error("{0}")]
    NotFound(String),
    /// The caller's role or organisation may not do this.
    #[error(transparent)]
    Denied(#[from] Denied),
    /// A passport with this product identity exists already.
    #[error("a passport for this product identity exists already")]
    Exists,
    /// A lot carries this batch identity already (GTIN with lot number).
    #[error("lot {lot_id} carries this GTIN and lot number already")]
    LotIdentity { lot_id: Uuid },
    /// Two lines of one bulk request name the same product (`first_line` is 1-based).
    #[error("line {first_line} registers the same product identity")]
    DuplicateInRequest { first_line: usize },
    /// Another request with the same idempotency key is still running.
    #[error("a concurrent request with this idempotency key is in progress")]
    ConcurrentRequest,
    /// Only an active passport gets new versions.
    #[error("the passport is {}", .0.as_str())]
    NotActive(PassportStatus),
    /// The passport moved to another version meanwhile.
    #[error("the passport moved to version {current} meanwhile")]
    VersionConflict { current: u32 },
    /// A status change the passport's status does not allow.
    #[error("a {} passport cannot become {}", .from.as_str(), .to.as_str())]
    StatusTransition {
        from: PassportStatus,
        to: PassportStatus,
    },
    /// Recycled content from lots needs the custody service, which is not connected.
    #[error("the custody service, which checks recycled content from lots, is not reachable")]
    ClaimsUnreachable,
    /// The custody service refused or could not check a recycled-content claim.
    #[error(transparent)]
    Claim(#[from] ClaimError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The server failed (a signing key that does not open, stored data that does not
    /// decode...); the text is logged, never answered.
    #[error("internal error: {0}")]
    Internal(String),
}

impl PassportError {
    /// A failure of the server itself, described for the log.
    pub fn internal(what: impl std::fmt::Display) -> Self {
        PassportError::Internal(what.to_string())
    }
}

impl From<IssuingError> for PassportError {
    fn from(err: IssuingError) -> Self {
        match err {
            missing @ IssuingError::NoStatusList(_) => PassportError::NotFound(missing.to_string()),
            IssuingError::Store(e) => PassportError::Store(e),
            IssuingError::Internal(what) => PassportError::Internal(what),
        }
    }
}

/// A use case's result.
pub type Result<T, E = PassportError> = std::result::Result<T, E>;
