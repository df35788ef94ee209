//! Status changes: revoke, suspend, reinstate.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use reetrace_core::api::auth::Auth;
use reetrace_core::api::codes::{
    AUTHENTICATED, BAD_REQUEST, FORBIDDEN, INVALID_ID, JSON_BODY, NOT_FOUND, listed,
};
use reetrace_core::api::extract::{optional_json, parse_uuid};
use reetrace_core::api::problem::{FieldError, Problem};
use reetrace_core::domain::Principal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::super::PassportState;
use super::super::error::STATUS_TRANSITION;
use crate::domain::passport::PassportStatus;

/// Why a status changes.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "magnet supplier recalled the batch"}))]
pub struct StatusReason {
    /// Why: 1 to 500 characters, not all blank, no control characters but line breaks.
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"^[^\x00-\x09\x0B-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x09\x0B-\x1F\x7F-\x9F]*$"
    )]
    pub reason: Option<String>,
}

/// A passport's status after a change.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StatusAnswer {
    pub id: Uuid,
    pub status: PassportStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub updated_at: DateTime<Utc>,
}

async fn change(
    state: PassportState,
    caller: Principal,
    id: String,
    headers: HeaderMap,
    body: Bytes,
    to: PassportStatus,
) -> Result<Json<StatusAnswer>, Problem> {
    let id = parse_uuid("id", &id)?;
    let reason = optional_json::<StatusReason>(&headers, &body)?.and_then(|r| r.reason);
    if let Some(r) = &reason
        && (r.trim().is_empty()
            || r.chars().count() > 500
            || r.chars().any(|c| c.is_control() && c != '\n'))
    {
        return Err(Problem::validation(vec![FieldError::new(
            "/reason",
            "the reason must be 1 to 500 printable characters",
        )]));
    }
    let row = state.service.change_status(&caller, id, to, reason).await?;
    Ok(Json(StatusAnswer {
        id: row.id,
        status: row.status,
        reason: row.status_reason,
        updated_at: row.updated_at,
    }))
}

/// Revokes a passport for good.
///
/// Owner only. Sets the revocation bit of every version's status entry; verifiers then report
/// the credential revoked.
#[utoipa::path(
    post, path = "/api/v1/passports/{id}/revoke", tag = "passports", operation_id = "revokePassport",
    params(("id" = String, Path, format = Uuid, description = "The passport id")),
    request_body(content = Option<StatusReason>, description = "Why (optional)"),
    responses(
        (status = 200, description = "Revoked", body = StatusAnswer),
        (status = 404, description = "No such passport", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already revoked", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, JSON_BODY, &[BAD_REQUEST, INVALID_ID, FORBIDDEN, NOT_FOUND, STATUS_TRANSITION]])))),
)]
pub(super) async fn revoke(
    State(state): State<PassportState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<StatusAnswer>, Problem> {
    change(state, caller, id, headers, body, PassportStatus::Revoked).await
}

/// Suspends a passport (reversible with `reinstate`).
///
/// Owner only. Sets the suspension bit of every version's status entry.
#[utoipa::path(
    post, path = "/api/v1/passports/{id}/suspend", tag = "passports", operation_id = "suspendPassport",
    params(("id" = String, Path, format = Uuid, description = "The passport id")),
    request_body(content = Option<StatusReason>, description = "Why (optional)"),
    responses(
        (status = 200, description = "Suspended", body = StatusAnswer),
        (status = 404, description = "No such passport", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not active", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, JSON_BODY, &[BAD_REQUEST, INVALID_ID, FORBIDDEN, NOT_FOUND, STATUS_TRANSITION]])))),
)]
pub(super) async fn suspend(
    State(state): State<PassportState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<StatusAnswer>, Problem> {
    change(state, caller, id, headers, body, PassportStatus::Suspended).await
}

/// Lifts a suspension.
///
/// Owner only. Clears the suspension bits.
#[utoipa::path(
    post, path = "/api/v1/passports/{id}/reinstate", tag = "passports", operation_id = "reinstatePassport",
    params(("id" = String, Path, format = Uuid, description = "The passport id")),
    request_body(content = Option<StatusReason>, description = "Why (optional)"),
    responses(
        (status = 200, description = "Active again", body = StatusAnswer),
        (status = 404, description = "No such passport", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not suspended", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, JSON_BODY, &[BAD_REQUEST, INVALID_ID, FORBIDDEN, NOT_FOUND, STATUS_TRANSITION]])))),
)]
pub(super) async fn reinstate(
    State(state): State<PassportState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<StatusAnswer>, Problem> {
    change(state, caller, id, headers, body, PassportStatus::Active).await
}
