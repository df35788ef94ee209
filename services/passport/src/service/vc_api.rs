//! Issuing generic credentials (VC-API `POST /credentials/issue`): any W3C VC 2.0 credential a
//! manufacturer wants signed by its organisation, checked by [`crate::domain::vc_api`], signed
//! with the organisation's active key and handed back, not stored.

use reetrace_core::crypto::{
    ProofError, ProofOptions, data_integrity, did_key, did_key_verification_method,
};
use reetrace_core::domain::{FieldError, Principal};
use serde_json::Value;

use super::PassportService;
use super::error::{PassportError, Result};
use crate::domain::vc_api::{IssuerForm, prepare};

impl PassportService {
    /// Signs a generic credential for the caller's organisation (manufacturers only), its
    /// issuer named in `form`.
    pub async fn issue_credential(
        &self,
        caller: &Principal,
        credential: Value,
        form: IssuerForm,
    ) -> Result<Value> {
        let org = self.issuer_org(caller).await?;
        let key = self.issuing.active_key(org.id).await?;
        let public = key.signing.verifying_key();
        let org_did = self.org_did(org.id);
        let key_did = did_key(&public);
        let (issuer, method) = match form {
            IssuerForm::DidWeb => {
                let method = format!("{org_did}#{}", key.key_id);
                (org_did.clone(), method)
            }
            IssuerForm::DidKey => (key_did.clone(), did_key_verification_method(&public)),
        };
        let now = reetrace_core::domain::account::now();
        let credential = prepare(credential, &issuer, &[&org_did, &key_did], now)
            .map_err(PassportError::Invalid)?;
        data_integrity::sign(
            credential,
            &ProofOptions::assertion(&method, now),
            &key.signing,
        )
        .map_err(|e| match e {
            ProofError::Canonicalization(why) => PassportError::Invalid(vec![FieldError::new(
                "/credential",
                format!("cannot be canonicalized (RFC 8785): {why}"),
            )]),
            other => PassportError::internal(format_args!(
                "signing a generic credential failed: {other}"
            )),
        })
    }
}
