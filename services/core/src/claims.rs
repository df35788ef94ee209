//! Recycled-content claims between the passport and custody services.
//!
//! A passport that declares recycled content sourced from a recycled lot asks the custody
//! service to check and record the claim before the passport is issued: what all passports claim
//! from a lot never exceeds what was recovered into it. The call is idempotent by claim id, so a
//! retry after a timeout answers the first answer; a claim whose passport is never issued is
//! released (or lapses).

use async_trait::async_trait;
use uuid::Uuid;

use crate::domain::{Element, Mass};
use crate::problem::Problem;

/// A claim of recycled content on recycled lots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecycledClaim {
    pub claim_id: Uuid,
    pub passport_id: Uuid,
    /// The manufacturer issuing the passport.
    pub org_id: Uuid,
    /// Per lot, the element masses claimed from it.
    pub sources: Vec<(Uuid, Vec<(Element, Mass)>)>,
}

/// The custody service's side of claims, in process or over HTTP.
#[async_trait]
pub trait RecycledClaims: Send + Sync {
    /// Checks and records a claim; a problem (409 over-claim, 422 unknown lot) refuses it.
    async fn claim(&self, claim: &RecycledClaim) -> Result<(), Problem>;
    /// Releases a claim whose passport was not issued.
    async fn release(&self, claim_id: Uuid) -> Result<(), Problem>;
}
