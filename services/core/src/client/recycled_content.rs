//! The custody service's recycled-content claims over HTTP (`POST /api/v1/custody/claims`).

use async_trait::async_trait;
use uuid::Uuid;

use crate::api::problem::Problem;
use crate::service::recycled_content::{ClaimError, RecycledClaim, RecycledClaims, Refusal};

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
    async fn send(&self, request: reqwest::RequestBuilder) -> Result<(), ClaimError> {
        let response = request.bearer_auth(&self.key).send().await.map_err(|e| {
            tracing::warn!(error = %e, "custody service unreachable for a claim");
            ClaimError::Unavailable(
                "The custody service, which checks recycled-content claims, is unreachable; retry."
                    .into(),
            )
        })?;
        if response.status().is_success() {
            return Ok(());
        }
        let status = response.status();
        match response.json::<Problem>().await {
            Ok(problem) if status.is_client_error() => Err(ClaimError::Refused(Refusal {
                code: problem.code,
                status: problem.status,
                title: problem.title,
                detail: problem.detail,
                errors: problem.errors,
                extensions: problem.extensions,
            })),
            _ => Err(ClaimError::Unavailable(format!(
                "The custody service answered {status} to a recycled-content claim; retry."
            ))),
        }
    }
}

#[async_trait]
impl RecycledClaims for HttpClaims {
    async fn claim(&self, claim: &RecycledClaim) -> Result<(), ClaimError> {
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

    async fn release(&self, claim_id: Uuid) -> Result<(), ClaimError> {
        self.send(self.client.post(format!(
            "{}/api/v1/custody/claims/{claim_id}/release",
            self.base_url
        )))
        .await
    }

    async fn lot_with_identity(
        &self,
        gtin: &crate::domain::Gtin,
        lot: &crate::domain::LotNumber,
    ) -> Result<Option<Uuid>, ClaimError> {
        let unavailable = |what: String| {
            tracing::warn!(error = %what, "custody service unreachable for a lot identity");
            ClaimError::Unavailable(
                "The custody service, which knows the lots' GS1 identities, is unreachable; retry."
                    .into(),
            )
        };
        let url = url::Url::parse_with_params(
            &format!("{}/api/v1/lots", self.base_url),
            &[("gtin", gtin.as_str()), ("lot_number", lot.as_str())],
        )
        .map_err(|e| unavailable(e.to_string()))?;
        let response = self
            .client
            .get(url)
            .bearer_auth(&self.key)
            .send()
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        match response.status().as_u16() {
            404 => Ok(None),
            200 => {
                let lot: serde_json::Value = response
                    .json()
                    .await
                    .map_err(|e| unavailable(e.to_string()))?;
                lot["lot_id"]
                    .as_str()
                    .and_then(|id| id.parse().ok())
                    .map(Some)
                    .ok_or_else(|| unavailable("a lot without a lot_id".into()))
            }
            status => Err(unavailable(format!("answered {status}"))),
        }
    }
}
