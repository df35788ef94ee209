//! The Verifiable Credential envelope around a passport subject, and its status entries.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

use super::subject::CredentialSubject;

/// The W3C VC 2.0 base context.
pub const VC_CONTEXT: &str = "https://www.w3.org/ns/credentials/v2";
/// The path (under the public base URL) of our JSON-LD context for the `ree:` terms.
pub const REE_CONTEXT_PATH: &str = "/contexts/reetrace/v1";
/// The credential type of a passport, beside `VerifiableCredential`.
pub const PASSPORT_TYPE: &str = "DigitalProductPassport";

/// What a status list bit means (W3C Bitstring Status List `statusPurpose`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatusPurpose {
    /// Set: the credential is revoked for good.
    Revocation,
    /// Set: the credential is suspended (may be reinstated).
    Suspension,
    /// `message` purpose with one bit: set when a newer version superseded this one.
    Message,
}

impl StatusPurpose {
    pub const ALL: [StatusPurpose; 3] = [
        StatusPurpose::Revocation,
        StatusPurpose::Suspension,
        StatusPurpose::Message,
    ];

    /// The `statusPurpose` value.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusPurpose::Revocation => "revocation",
            StatusPurpose::Suspension => "suspension",
            StatusPurpose::Message => "message",
        }
    }

    pub fn parse(s: &str) -> Option<StatusPurpose> {
        StatusPurpose::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// A credential's place in one status list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusRef {
    pub purpose: StatusPurpose,
    pub list_id: String,
    pub index: u32,
}

/// The URL of a status list credential.
pub fn status_list_url(base_url: &str, list_id: &str) -> String {
    format!("{base_url}/status-lists/{list_id}")
}

/// One `BitstringStatusListEntry`, as a credential states it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusEntry {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(rename = "statusPurpose")]
    pub purpose: &'static str,
    /// A string, as the specification says.
    #[serde(rename = "statusListIndex")]
    pub index: String,
    #[serde(rename = "statusListCredential")]
    pub list: String,
    /// The `message` purpose's one bit and what its values mean.
    #[serde(rename = "statusSize", skip_serializing_if = "Option::is_none")]
    pub size: Option<u8>,
    #[serde(rename = "statusMessage", skip_serializing_if = "Option::is_none")]
    pub messages: Option<[StatusMessage; 2]>,
}

/// What one value of a `message` status means.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusMessage {
    pub status: &'static str,
    pub message: &'static str,
}

/// One `BitstringStatusListEntry`.
pub fn status_entry(base_url: &str, status: &StatusRef) -> StatusEntry {
    let list = status_list_url(base_url, &status.list_id);
    let message = status.purpose == StatusPurpose::Message;
    StatusEntry {
        id: format!("{list}#{}", status.index),
        kind: "BitstringStatusListEntry",
        purpose: status.purpose.as_str(),
        index: status.index.to_string(),
        list,
        size: message.then_some(1),
        messages: message.then_some([
            StatusMessage {
                status: "0x0",
                message: "current",
            },
            StatusMessage {
                status: "0x1",
                message: "superseded",
            },
        ]),
    }
}

/// The status entries of a credential, one per list it is in.
pub fn status_entries(base_url: &str, status: &[StatusRef]) -> Vec<StatusEntry> {
    status.iter().map(|s| status_entry(base_url, s)).collect()
}

/// What the envelope of a passport credential needs.
#[derive(Debug, Clone)]
pub struct Envelope<'a> {
    pub base_url: &'a str,
    pub issuer: &'a str,
    pub credential_id: Uuid,
    pub valid_from: DateTime<Utc>,
    pub status: &'a [StatusRef],
}

/// The URN of a credential id.
pub fn credential_urn(id: Uuid) -> String {
    format!("urn:uuid:{id}")
}

/// XML Schema dateTimeStamp, seconds precision, `Z`.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn status_entries_follow_the_bitstring_status_list_shape() {
        let entry = serde_json::to_value(status_entry(
            "https://p.example",
            &StatusRef {
                purpose: StatusPurpose::Revocation,
                list_id: "L1".into(),
                index: 94567,
            },
        ))
        .unwrap();
        assert_eq!(
            entry["statusListIndex"], "94567",
            "a string, as the spec says"
        );
        assert_eq!(
            entry["statusListCredential"],
            "https://p.example/status-lists/L1"
        );
        assert_eq!(entry["id"], "https://p.example/status-lists/L1#94567");
        let message = serde_json::to_value(status_entry(
            "https://p.example",
            &StatusRef {
                purpose: StatusPurpose::Message,
                list_id: "L2".into(),
                index: 3,
            },
        ))
        .unwrap();
        assert_eq!(message["statusSize"], 1);
        assert_eq!(message["statusMessage"][1]["message"], "superseded");
    }

    #[test]
    fn timestamps_are_date_time_stamps() {
        let at = DateTime::parse_from_rfc3339("2026-04-15T10:00:00.123456Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(timestamp(at), "2026-04-15T10:00:00Z");
    }
}
