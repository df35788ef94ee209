//! Status list credentials: each list signed by its organisation, re-signed only after its bits
//! changed, and kept until they change again.

use reetrace_core::crypto::{ProofOptions, StatusList, data_integrity};
use serde_json::json;

use super::PassportService;
use super::error::{PassportError, Result};
use crate::domain::credential::{VC_CONTEXT, status_list_url, timestamp};

impl PassportService {
    /// The signed `BitstringStatusListCredential` of a list, exactly as served.
    pub async fn status_list_credential(&self, list_id: &str) -> Result<String> {
        let row = self
            .store
            .status_list(list_id)
            .await?
            .ok_or_else(|| PassportError::NotFound(format!("No status list {list_id:?}.")))?;
        if let Some(signed) = row.credential {
            return Ok(signed);
        }
        let failed = |e: &dyn std::fmt::Display| {
            PassportError::internal(format_args!("cannot sign status list {list_id}: {e}"))
        };
        let encoded = StatusList::from_bytes(row.bits.clone())
            .and_then(|l| l.encode())
            .map_err(|e| failed(&e))?;
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
        .map_err(|e| failed(&e))?;
        let text = serde_json::to_string(&signed).map_err(|e| failed(&e))?;
        self.store
            .cache_signed(&row.id, row.updated_at, &text)
            .await?;
        Ok(text)
    }
}
