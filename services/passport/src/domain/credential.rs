//! The Verifiable Credential envelope around a passport subject (its status entries and the
//! VC vocabulary every issuer shares are core's `domain::issuing`).

use chrono::{DateTime, Utc};
use reetrace_core::domain::issuing::status_list::status_entries;
use reetrace_core::domain::issuing::{StatusRef, VC_CONTEXT, credential_urn, timestamp};
use serde_json::{Value, json};
use uuid::Uuid;

use super::subject::CredentialSubject;

/// The path (under the public base URL) of our JSON-LD context for the `ree:` terms.
pub const REE_CONTEXT_PATH: &str = "/contexts/reetrace/v1";
/// The credential type of a passport, beside `VerifiableCredential`.
pub const PASSPORT_TYPE: &str = "DigitalProductPassport";

/// What the envelope of a passport credential needs.
#[derive(Debug, Clone)]
pub struct Envelope<'a> {
    pub base_url: &'a str,
    pub issuer: &'a str,
    pub credential_id: Uuid,
    pub valid_from: DateTime<Utc>,
    pub status: &'a [StatusRef],
}

/// The unsigned passport credential.
pub fn unsigned(subject: &CredentialSubject, envelope: &Envelope<'_>) -> Value {
    json!({
        "@context": [VC_CONTEXT, format!("{}{REE_CONTEXT_PATH}", envelope.base_url)],
        "id": credential_urn(envelope.credential_id),
        "type": ["VerifiableCredential", PASSPORT_TYPE],
        "issuer": envelope.issuer,
        "validFrom": timestamp(envelope.valid_from),
        "credentialSubject": subject,
        "credentialStatus": status_entries(envelope.base_url, envelope.status),
    })
}
