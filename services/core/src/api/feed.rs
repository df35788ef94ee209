//! `GET /api/v1/feeds/{stream}`: a service's feed over HTTP, for services in other processes.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRef, Path, State};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{Auth, Authenticator};
use super::codes;
use super::codes::{AUTHENTICATED, BAD_REQUEST, FORBIDDEN, INVALID_QUERY, NOT_FOUND, listed};
use crate::api::extract::ApiQuery;
use crate::api::problem::{FieldError, Problem};
use crate::domain::Role;
use crate::domain::feed::FeedPage;
use crate::service::feed::FeedSource;

/// The feeds this process produces, by stream name.
#[derive(Clone)]
pub struct FeedState {
    pub sources: Arc<HashMap<String, Arc<dyn FeedSource>>>,
    pub auth: Arc<Authenticator>,
}

impl FromRef<FeedState> for Arc<Authenticator> {
    fn from_ref(state: &FeedState) -> Self {
        state.auth.clone()
    }
}

pub fn router() -> OpenApiRouter<FeedState> {
    OpenApiRouter::new().routes(routes!(read_feed))
}

/// The largest page of a feed.
pub const MAX_LIMIT: u32 = 1000;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct FeedQuery {
    /// Read events after this sequence number (0: from the start).
    #[param(minimum = 0)]
    after: Option<i64>,
    /// At most this many events, 1 to 1000 (default 500).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// Reads a feed (CloudEvents) after a cursor.
///
/// For other reetrace services (role `service`) and admins. Events come in sequence order with
/// no gap: an event that commits late is never skipped, because sequence numbers are handed out
/// in commit order. Streams: `passport`, `custody`, `deposits`.
#[utoipa::path(
    get, path = "/api/v1/feeds/{stream}", tag = "feeds", operation_id = "readFeed",
    params(("stream" = String, Path, example = "passport", description = "The stream: `passport`, `custody` or `deposits` (others answer 404)"), FeedQuery),
    responses(
        (status = 200, description = "A page of events", body = FeedPage),
        (status = 404, description = "No such stream here", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, &[FORBIDDEN, BAD_REQUEST, NOT_FOUND, INVALID_QUERY]])))),
)]
async fn read_feed(
    State(state): State<FeedState>,
    Auth(caller): Auth,
    Path(stream): Path<String>,
    ApiQuery(query): ApiQuery<FeedQuery>,
) -> Result<Json<FeedPage>, Problem> {
    caller.require(&[Role::Service, Role::Admin])?;
    let source = state
        .sources
        .get(&stream)
        .ok_or_else(|| Problem::not_found(format!("No feed {stream:?} in this process.")))?;
    let after = query.after.unwrap_or(0);
    if after < 0 {
        return Err(
            Problem::bad_request(codes::INVALID_QUERY, "after must be 0 or more")
                .with_errors(vec![FieldError::new("after", "must be 0 or more")]),
        );
    }
    let limit = query.limit.unwrap_or(500);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(
            Problem::bad_request(codes::INVALID_QUERY, "limit must be between 1 and 1000")
                .with_errors(vec![FieldError::new("limit", "must be between 1 and 1000")]),
        );
    }
    let events = source.read(after, limit).await?;
    let next_after = match events.last() {
        Some(last) => last.seq().map_err(|why| {
            tracing::error!(%why, "feed event with a malformed sequence");
            Problem::internal()
        })?,
        None => after,
    };
    Ok(Json(FeedPage { events, next_after }))
}
