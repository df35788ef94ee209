//! Status list credentials: each list signed by its organisation, re-signed only after its bits
//! changed, and cached.

use reetrace_core::api::problem::Problem;
use reetrace_core::crypto::{ProofOptions, StatusList, data_integrity};
use serde_json::json;

use crate::domain::credential::{VC_CONTEXT, status_list_url, timestamp};
use crate::service::PassportService;

impl PassportService {
    /// The signed `BitstringStatusListCredential` of a list, exactly as served.
    pub async fn status_list_credential(&self, list_id: &str) -> Result<String, Problem> {
        let row = self
            .store
            .status_list(list_id)
            .await?
            .ok_or_else(|| Problem::not_found(format!("No status list {list_id:?}.")))?;
        if let Some(signed) = row.credential {
            return Ok(signed);
        }
        let internal = |e: &dyn std::fmt::Display| {
            tracing::error!(error = %e, list = %list_id, "cannot sign status list");
            Problem::internal()
        };
        let encoded = StatusList::from_bytes(row.bits.clone())
            .and_then(|l| l.encode())
            .map_err(|e| internal(&e))?;
        let url = status_list_url(&self.config.base_url, &row.id);
        let issuer = self.org_did(row.org_id);
        let unsigned = json!({
            "@context": [VC_CONTEXT],
            "id": url,
            "type": ["VerifiableCredential", "BitstringStatusListCredential"],
            "issuer": issuer,
            "validFrom": timestamp(row.updated_at),
            "credentialSubject": {
                "id": format!("{url}#list"),
                "type": "BitstringStatusList",
                "statusPurpose": row.purpose.as_str(),
                "encodedList": encoded,
            },
        });
        let key = self.keys.active(row.org_id).await?;
        let method = format!("{issuer}#{}", key.key_id);
        let now = reetrace_core::domain::account::now();
        let signed = data_integrity::sign(
            unsigned,
            &ProofOptions::assertion(&method, now),
            &key.signing,
        )
        .map_err(|e| internal(&e))?;
        let text = serde_json::to_string(&signed).map_err(|e| internal(&e))?;
        self.store
            .cache_signed(&row.id, row.updated_at, &text)
            .await?;
        Ok(text)
    }
}
