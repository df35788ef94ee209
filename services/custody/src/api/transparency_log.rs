//! The transparency log, public: the latest signed checkpoint, inclusion and consistency proofs,
//! and (for callers with a key) the entries themselves, so that anyone can recompute the log.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use reetrace_core::api::auth::Auth;
use reetrace_core::api::codes::{AUTHENTICATED, INVALID_QUERY, NOT_FOUND, PUBLIC, listed};
use reetrace_core::api::extract::ApiQuery;
use reetrace_core::api::problem::{FieldError, Problem};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::CustodyState;
use super::error::{INVALID_SIZE, NO_CHECKPOINT, NOT_YET_IN_CHECKPOINT};
use crate::domain::transparency_log::{CheckpointView, ConsistencyProof, InclusionProof, LogEntry};

pub fn router() -> OpenApiRouter<CustodyState> {
    OpenApiRouter::new()
        .routes(routes!(checkpoint))
        .routes(routes!(inclusion))
        .routes(routes!(consistency))
        .routes(routes!(entries))
}

/// The latest checkpoint of the custody log (C2SP signed note).
///
/// Published within about a second of new events. `Accept: text/plain` gives the signed note
/// itself; the JSON form also gives the verifier key to open it with.
#[utoipa::path(
    get, path = "/api/v1/log/checkpoint", tag = "log", operation_id = "getCheckpoint",
    responses(
        (status = 200, description = "The latest checkpoint: JSON, or the signed note itself for `Accept: text/plain`",
            content(
                (CheckpointView = "application/json"),
                (String = "text/plain"),
            )),
        (status = 404, description = "Nothing recorded yet", body = Problem, content_type = "application/problem+json"),
    ),
    security(()),
    extensions(("x-problem-codes" = json!(listed(&[PUBLIC, &[NOT_FOUND]])))),
)]
async fn checkpoint(
    State(state): State<CustodyState>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let view = state.service.log().latest().await?;
    let wants_text = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/plain"));
    if wants_text {
        return Ok((
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            view.note,
        )
            .into_response());
    }
    Ok(Json(view).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct InclusionQuery {
    /// The event's id (its `eventID`, e.g. `ni:///sha-256;...?ver=CBV2.0`), 1 to 500 characters.
    #[param(min_length = 1, max_length = 500)]
    event_id: String,
    /// The size of a published checkpoint's tree (default: the latest).
    #[param(minimum = 1)]
    tree_size: Option<i64>,
}

/// Proves that an event is in the log (RFC 9162 inclusion proof).
///
/// Check it against the checkpoint it comes with: recompute the root from `leaf_hash`,
/// `leaf_index`, `tree_size` and `hashes`, and open the checkpoint's note with the log's key.
#[utoipa::path(
    get, path = "/api/v1/log/proofs/inclusion", tag = "log", operation_id = "getInclusionProof",
    params(InclusionQuery),
    responses(
        (status = 200, description = "The proof and its checkpoint", body = InclusionProof),
        (status = 404, description = "No such event, or no checkpoint of that size", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The event is newer than that checkpoint", body = Problem, content_type = "application/problem+json"),
    ),
    security(()),
    extensions(("x-problem-codes" = json!(listed(&[PUBLIC, &[INVALID_QUERY, NOT_FOUND, NO_CHECKPOINT, NOT_YET_IN_CHECKPOINT]])))),
)]
async fn inclusion(
    State(state): State<CustodyState>,
    ApiQuery(query): ApiQuery<InclusionQuery>,
) -> Result<Json<InclusionProof>, Problem> {
    if query.event_id.is_empty() || query.event_id.len() > 500 {
        return Err(Problem::bad_request(
            reetrace_core::api::codes::INVALID_QUERY,
            "event_id must be 1 to 500 characters",
        )
        .with_errors(vec![FieldError::new("event_id", "1 to 500 characters")]));
    }
    Ok(Json(
        state
            .service
            .log()
            .inclusion(&query.event_id, query.tree_size)
            .await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ConsistencyQuery {
    /// The smaller tree size (a published checkpoint's).
    #[param(minimum = 1)]
    from: i64,
    /// The larger tree size (a published checkpoint's; default: the latest).
    #[param(minimum = 1)]
    to: Option<i64>,
}

/// Proves that the log only grew between two checkpoints (RFC 9162 consistency proof).
///
/// Public. Both sizes must be those of published checkpoints (`to` defaults to the latest).
/// Check it by recomputing both checkpoints' roots from `hashes` (RFC 9162 section 2.1.4.2)
/// and opening both notes with the log's key.
#[utoipa::path(
    get, path = "/api/v1/log/proofs/consistency", tag = "log", operation_id = "getConsistencyProof",
    params(ConsistencyQuery),
    responses(
        (status = 200, description = "The proof and both checkpoints", body = ConsistencyProof),
        (status = 404, description = "No checkpoint of such a size", body = Problem, content_type = "application/problem+json"),
    ),
    security(()),
    extensions(("x-problem-codes" = json!(listed(&[PUBLIC, &[INVALID_QUERY, INVALID_SIZE, NOT_FOUND, NO_CHECKPOINT]])))),
)]
async fn consistency(
    State(state): State<CustodyState>,
    ApiQuery(query): ApiQuery<ConsistencyQuery>,
) -> Result<Json<ConsistencyProof>, Problem> {
    Ok(Json(
        state
            .service
            .log()
            .consistency(query.from, query.to)
            .await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct EntriesQuery {
    /// The first leaf index (default 0).
    #[param(minimum = 0)]
    from: Option<i64>,
    /// At most this many entries, 1 to 1000 (default 1000).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// The log's entries, in leaf order (for `reetrace verify-log --url`).
///
/// Any caller with a key: every leaf. The events the caller is involved in (it recorded them,
/// or they are in the chain of a product it made or of a product or lot it holds or held), and
/// every event for regulators and admins, come with their stored document and chain links,
/// enough to recompute their chain links and leaves; any other event is redacted to its leaf
/// index, leaf hash and time, so the root of any checkpoint still verifies.
#[utoipa::path(
    get, path = "/api/v1/log/entries", tag = "log", operation_id = "listLogEntries",
    params(EntriesQuery),
    responses((status = 200, description = "Entries in leaf order", body = Vec<LogEntry>)),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, &[INVALID_QUERY]])))),
)]
async fn entries(
    State(state): State<CustodyState>,
    Auth(caller): Auth,
    ApiQuery(query): ApiQuery<EntriesQuery>,
) -> Result<Json<Vec<LogEntry>>, Problem> {
    let from = query.from.unwrap_or(0);
    let limit = query.limit.unwrap_or(1000);
    if from < 0 || !(1..=1000).contains(&limit) {
        return Err(Problem::bad_request(
            reetrace_core::api::codes::INVALID_QUERY,
            "from must be 0 or more and limit 1 to 1000",
        ));
    }
    Ok(Json(
        state.service.log().entries(&caller, from, limit).await?,
    ))
}
