//! The audit trail of authority reads: market surveillance may read exact figures and individual
//! records, and every request it makes is kept, with who made it (organisation and key), what it
//! asked for (method, route, path, query), what it was answered (status) and when.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::Role;

/// The roles whose every request is written to the audit trail: the authorities.
pub const AUDITED_ROLES: &[Role] = &[Role::Regulator];

/// One request made with an authority's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    /// The entry's id: a UUIDv7 taken when the request arrived, so ids order entries by time.
    pub id: Uuid,
    /// When the request arrived.
    pub at: DateTime<Utc>,
    /// The caller's organisation.
    pub org_id: Uuid,
    /// The organisation's name when it made the request.
    pub org_name: String,
    /// The id of the API key the request was made with.
    pub key_id: Uuid,
    /// The key's public prefix (`rtk_<prefix>_...`); never its secret.
    pub key_prefix: String,
    /// The HTTP method (`GET`, `HEAD`, `POST`...).
    pub method: String,
    /// The route that answered, as declared (`/api/v1/passports/{id}`).
    pub route: String,
    /// The path as requested.
    pub path: String,
    /// The query string as sent (without `?`), when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// The HTTP status the request was answered with.
    pub status: u16,
}

/// Which entries a listing returns; every filter that is set must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub org_id: Option<Uuid>,
    pub key_id: Option<Uuid>,
    pub key_prefix: Option<String>,
    /// The declared route, exactly.
    pub route: Option<String>,
    /// Entries at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Entries before this time.
    pub until: Option<DateTime<Utc>>,
}
