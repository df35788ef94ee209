//! The envelope of a v2 passport credential: its contexts, issuer object and status entries
//! around the UNTP subject, typed so that issuing canonicalizes it without a `Value`.

use reetrace_core::domain::issuing::status_list::{StatusEntry, status_entries};
use reetrace_core::domain::issuing::{VC_CONTEXT, credential_urn, timestamp};
use serde::Serialize;
use serde_json::Value;

use super::super::credential::Envelope;
use super::{Issuer, PASSPORT_TYPE, ProductPassport, REE_CONTEXT_V2_PATH, UNTP_CONTEXT};

/// The issuer object UNTP wants (closed: `type`, `id`, `name`).
#[derive(Debug, Clone, Serialize)]
pub struct IssuerObject<'a> {
    #[serde(rename = "type")]
    kind: [&'static str; 1],
    id: &'a str,
    name: &'a str,
}

impl<'a> IssuerObject<'a> {
    pub fn of(issuer: &'a Issuer) -> Self {
        IssuerObject {
            kind: ["CredentialIssuer"],
            id: &issuer.id,
            name: &issuer.name,
        }
    }
}

/// The contexts of a v2 passport credential: VC 2.0, UNTP's, ours under `base_url`.
pub fn contexts(base_url: &str) -> [String; 3] {
    [
        VC_CONTEXT.to_owned(),
        UNTP_CONTEXT.to_owned(),
        format!("{base_url}{REE_CONTEXT_V2_PATH}"),
    ]
}

/// The unsigned v2 passport credential, typed: issuing canonicalizes it without a `Value`.
#[derive(Debug, Clone, Serialize)]
pub struct UnsignedPassport<'a> {
    #[serde(rename = "@context")]
    pub context: [&'a str; 3],
    pub id: String,
    #[serde(rename = "type")]
    pub kind: [&'static str; 2],
    pub issuer: IssuerObject<'a>,
    #[serde(rename = "validFrom")]
    pub valid_from: String,
    #[serde(rename = "credentialSubject")]
    pub subject: &'a ProductPassport,
    #[serde(rename = "credentialStatus")]
    pub status: Vec<StatusEntry>,
}

/// The unsigned v2 passport credential; `contexts` are [`contexts`] of the envelope's base URL.
pub fn document<'a>(
    subject: &'a ProductPassport,
    issuer: &'a Issuer,
    envelope: &Envelope<'_>,
    contexts: &'a [String; 3],
) -> UnsignedPassport<'a> {
    UnsignedPassport {
        context: [&contexts[0], &contexts[1], &contexts[2]],
        id: credential_urn(envelope.credential_id),
        kind: ["VerifiableCredential", PASSPORT_TYPE],
        issuer: IssuerObject::of(issuer),
        valid_from: timestamp(envelope.valid_from),
        subject,
        status: status_entries(envelope.base_url, envelope.status),
    }
}

/// The unsigned v2 passport credential as a JSON value.
pub fn unsigned(subject: &ProductPassport, issuer: &Issuer, envelope: &Envelope<'_>) -> Value {
    let contexts = contexts(envelope.base_url);
    serde_json::to_value(document(subject, issuer, envelope, &contexts)).unwrap_or(Value::Null)
}
