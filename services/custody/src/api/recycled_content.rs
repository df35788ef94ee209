//! The custody service answering the passport service's recycled-content claims in process,
//! with the answers its HTTP routes would give: a refusal is passed on as the problem the route
//! would answer.

use reetrace_core::api::errors::refusal_of;
use reetrace_core::api::problem::Problem;
use reetrace_core::domain::recycled_content::RecycledClaim;
use reetrace_core::domain::{Principal, Role};
use reetrace_core::service::recycled_content::{ClaimError, RecycledClaims};
use uuid::Uuid;

use crate::domain::CustodyError;
use crate::domain::balance::ElementAmount;
use crate::domain::claim::{ClaimRequest, ClaimSource};
use crate::service::CustodyService;

/// The custody service answering claims in process.
pub struct InProcessClaims(pub CustodyService);

/// The passport service, as the caller of an in-process claim for `org_id`.
fn passport_service(org_id: Uuid) -> Principal {
    Principal {
        org_id,
        org_name: String::new(),
        role: Role::Service,
        key_id: Uuid::nil(),
    }
}

fn refused(err: CustodyError) -> ClaimError {
    ClaimError::Refused(refusal_of(Problem::from(err)))
}

#[async_trait::async_trait]
impl RecycledClaims for InProcessClaims {
    async fn claim(&self, claim: &RecycledClaim) -> Result<(), ClaimError> {
        let request = ClaimRequest {
            claim_id: claim.claim_id,
            passport_id: claim.passport_id,
            org_id: Some(claim.org_id),
            sources: claim
                .sources
                .iter()
                .map(|(lot, elements)| ClaimSource {
                    lot: *lot,
                    elements: elements
                        .iter()
                        .map(|(element, mass_g)| ElementAmount {
                            element: *element,
                            mass_g: *mass_g,
                        })
                        .collect(),
                })
                .collect(),
        };
        self.0
            .claim(&passport_service(claim.org_id), &request)
            .await
            .map(|_| ())
            .map_err(refused)
    }

    async fn release(&self, claim_id: Uuid) -> Result<(), ClaimError> {
        self.0
            .release_claim(&passport_service(Uuid::nil()), claim_id)
            .await
            .map_err(refused)
    }

    async fn lot_with_identity(
        &self,
        gtin: &reetrace_core::domain::Gtin,
        lot: &reetrace_core::domain::LotNumber,
    ) -> Result<Option<Uuid>, ClaimError> {
        self.0.lot_by_identity(gtin, lot).await.map_err(refused)
    }
}
