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

/// The custody service's claims over HTTP (`POST /api/v1/custody/claims`), with a service key.
pub struct HttpClaims {
    client: reqwest::Client,
    base_url: String,
    key: String,
}

impl std::fmt::Debug for HttpClaims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClaims")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl HttpClaims {
    pub fn new(client: reqwest::Client, base_url: &str, key: &str) -> Self {
        Self {
            client,
            base_url: base_url.trim_end_matches('/').to_owned(),
            key: key.to_owned(),
        }
    }

    /// Sends a request; a problem answer comes back as that problem, a failure to reach the
    /// service as 503.
    async fn send(&self, request: reqwest::RequestBuilder) -> Result<(), Problem> {
        let response = request.bearer_auth(&self.key).send().await.map_err(|e| {
            tracing::warn!(error = %e, "custody service unreachable for a claim");
            Problem::service_unavailable(
                "The custody service, which checks recycled-content claims, is unreachable; retry.",
            )
        })?;
        if response.status().is_success() {
            return Ok(());
        }
        let status = response.status();
        match response.json::<Problem>().await {
            Ok(problem) if status.is_client_error() => Err(problem),
            _ => Err(Problem::service_unavailable(format!(
                "The custody service answered {status} to a recycled-content claim; retry."
            ))),
        }
    }
}

#[async_trait]
impl RecycledClaims for HttpClaims {
    async fn claim(&self, claim: &RecycledClaim) -> Result<(), Problem> {
        let sources: Vec<serde_json::Value> = claim
            .sources
            .iter()
            .map(|(lot, elements)| {
                serde_json::json!({
                    "lot": lot,
                    "elements": elements.iter().map(|(e, m)| serde_json::json!({"element": e, "mass_g": m})).collect::<Vec<_>>(),
                })
            })
            .collect();
        let body = serde_json::json!({
            "claim_id": claim.claim_id,
            "passport_id": claim.passport_id,
            "org_id": claim.org_id,
            "sources": sources,
        });
        self.send(
            self.client
                .post(format!("{}/api/v1/custody/claims", self.base_url))
                .json(&body),
        )
        .await
    }

    async fn release(&self, claim_id: Uuid) -> Result<(), Problem> {
        self.send(self.client.post(format!(
            "{}/api/v1/custody/claims/{claim_id}/release",
            self.base_url
        )))
        .await
    }
}
