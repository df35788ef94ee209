//! The port through which the passport service has the custody service check and record
//! recycled-content claims before a passport is issued, in process or over HTTP. The call is
//! idempotent by claim id, so a retry after a timeout answers the first answer; a claim whose
//! passport is never issued is released (or lapses).

use async_trait::async_trait;
use uuid::Uuid;

use crate::domain::FieldError;
pub use crate::domain::recycled_content::RecycledClaim;

/// Why a claim was not recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimError {
    /// The custody service refused the claim (an over-claim, an unknown lot...): its answer,
    /// passed on to the manufacturer as it was given.
    #[error("the claim was refused: {}", .0.code)]
    Refused(Refusal),
    /// The custody service could not be asked; retry.
    #[error("{0}")]
    Unavailable(String),
}

/// A refusal as the custody service gave it (its problem's code, status, detail and fields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: String,
    pub status: u16,
    pub title: String,
    pub detail: Option<String>,
    pub errors: Vec<FieldError>,
    /// Further members of the refusal (JSON object), kept as given.
    pub extensions: serde_json::Map<String, serde_json::Value>,
}

/// The custody service's side of claims, in process or over HTTP; and its lots' GS1
/// identities, which batch passports may not take (and the resolver falls back to).
#[async_trait]
pub trait RecycledClaims: Send + Sync {
    /// Checks and records a claim.
    async fn claim(&self, claim: &RecycledClaim) -> Result<(), ClaimError>;
    /// Releases a claim whose passport was not issued.
    async fn release(&self, claim_id: Uuid) -> Result<(), ClaimError>;
    /// The lot that carries GTIN `gtin` with lot number `lot` (its LGTIN), if one does.
    async fn lot_with_identity(
        &self,
        gtin: &crate::domain::Gtin,
        lot: &crate::domain::LotNumber,
    ) -> Result<Option<Uuid>, ClaimError>;
}
