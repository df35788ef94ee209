//! W3C Bitstring Status Lists as issuers keep them: what a bit means, a credential's place in a
//! list and its `credentialStatus` entry, a list as stored, and the list's own credential.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{VC_CONTEXT, timestamp};

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

/// One `BitstringStatusListEntry`, as a credential states it (typed, so issuing canonicalizes
/// it without a `Value`).
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

/// A status list as stored: its bits, and the signed credential of those bits while they have
/// not changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusListRow {
    pub id: String,
    pub org_id: Uuid,
    pub purpose: StatusPurpose,
    pub size: u32,
    pub allocated: u32,
    pub bits: Vec<u8>,
    /// The signed list credential; `None` when the bits changed since it was signed.
    pub credential: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// The unsigned `BitstringStatusListCredential` of `row` as named under `base_url`, issued by
/// `issuer`, its bits already encoded (`encoded_list`: GZIP, base64url).
pub fn list_credential(
    row: &StatusListRow,
    base_url: &str,
    issuer: &str,
    encoded_list: &str,
) -> Value {
    let url = status_list_url(base_url, &row.id);
    json!({
        "@context": [VC_CONTEXT],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer,
        "validFrom": timestamp(row.updated_at),
        "credentialSubject": {
            "id": format!("{url}#list"),
            "type": "BitstringStatusList",
            "statusPurpose": row.purpose.as_str(),
            "encodedList": encoded_list,
        },
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
    fn purposes_read_back_what_they_write() {
        for purpose in StatusPurpose::ALL {
            assert_eq!(StatusPurpose::parse(purpose.as_str()), Some(purpose));
        }
        assert_eq!(StatusPurpose::parse("refresh"), None);
    }
}
