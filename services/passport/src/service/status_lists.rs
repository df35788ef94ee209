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
        let base = self.config.base_url.clone();
        self.status_list_credential_at(list_id, &base).await
    }

    /// The list as named under `base`, the current base URL or a former one: credentials
    /// issued before a move name the list by its old URL and their issuer by its old DID, and a
    /// verifier wants both on the list (the kept signed copy is the current base URL's; a
    /// former one's is signed when asked).
    pub async fn status_list_credential_at(&self, list_id: &str, base: &str) -> Result<String> {
        let row = self
            .store
            .status_list(list_id)
            .await?
            .ok_or_else(|| PassportError::NotFound(format!("No status list {list_id:?}.")))?;
        let current = base == self.config.base_url;
        if current && let Some(signed) = row.credential {
            return Ok(signed);
        }
        let failed = |e: &dyn std::fmt::Display| {
            PassportError::internal(format_args!("cannot sign status list {list_id}: {e}"))
        };
        let encoded = StatusList::from_bytes(row.bits.clone())
            .and_then(|l| l.encode())
            .map_err(|e| failed(&e))?;
        let url = status_list_url(base, &row.id);
        let issuer = crate::domain::did::org_did(base, row.org_id);
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
        if !current {
            return Ok(text);
        }
        self.store
            .cache_signed(&row.id, row.updated_at, &text)
            .await?;
        Ok(text)
    }
}
