//! Organisations and their API keys: every caller is an organisation with one role; its keys
//! are shown once and stored hashed.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{FieldError, OperatorId, Role};

/// An organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Org {
    pub id: Uuid,
    pub name: String,
    pub role: Role,
    /// The operator's registered identifier (EORI or LEI), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator_id: Option<OperatorId>,
    pub created_at: DateTime<Utc>,
}

/// A GS1 identity an organisation holds, as the directory shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DirectoryGs1 {
    /// The canonical digits (as in `GET /api/v1/orgs/{org_id}/gs1-prefixes`).
    pub prefix: String,
    pub kind: super::gs1_prefix::Gs1PrefixKind,
}

/// An organisation as the directory shows it: who it is, never what it did.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "0190f1c2-7a4b-7c3d-9e5f-1a2b3c4d5e6f", "name": "Urban Mine Recycling",
    "role": "recycler", "gs1_prefixes": [{"prefix": "4098765", "kind": "company_prefix"}]}))]
pub struct DirectoryEntry {
    pub id: Uuid,
    pub name: String,
    pub role: Role,
    /// The operator's registered identifier (EORI or LEI), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator_id: Option<super::OperatorId>,
    /// The GS1 prefixes and GTINs it holds.
    pub gs1_prefixes: Vec<DirectoryGs1>,
}

/// An API key as listings show it: never the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ApiKeyInfo {
    pub id: Uuid,
    pub org_id: Uuid,
    /// The public part of the key (`rtk_<prefix>_...`).
    pub prefix: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<DateTime<Utc>>,
}

/// What creating an organisation needs.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Acme Motors", "role": "manufacturer", "operator_id": {"scheme": "eori", "value": "FR123456789000"}}))]
pub struct NewOrg {
    /// Display name: 1 to 200 characters, not all blank, no control characters.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$"
    )]
    pub name: String,
    pub role: Role,
    #[serde(default)]
    pub operator_id: Option<OperatorId>,
}

impl NewOrg {
    /// Checks what the types cannot.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        // The whole name counts (it is stored as sent), as the document's maxLength says.
        let name = self.name.as_str();
        if name.trim().is_empty()
            || name.chars().count() > 200
            || name.chars().any(char::is_control)
        {
            return Err(vec![FieldError::new(
                "/name",
                "the name must be 1 to 200 printable characters",
            )]);
        }
        Ok(())
    }
}

/// An organisation just created, with its first API key (shown this once).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreatedOrg {
    pub org_id: Uuid,
    pub name: String,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator_id: Option<OperatorId>,
    pub created_at: DateTime<Utc>,
    /// The API key; it is not shown again.
    pub api_key: String,
    pub key_id: Uuid,
    pub key_prefix: String,
}

/// A key just created (shown this once).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreatedKey {
    /// The API key; it is not shown again.
    pub api_key: String,
    pub key_id: Uuid,
    pub key_prefix: String,
    pub org_id: Uuid,
    pub created_at: DateTime<Utc>,
}

/// A key row about to be stored.
#[derive(Debug, Clone)]
pub struct KeyRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub prefix: String,
    pub hash: [u8; 32],
    pub label: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Now, truncated to microseconds so that what PostgreSQL stores equals what we answered.
pub fn now() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}
