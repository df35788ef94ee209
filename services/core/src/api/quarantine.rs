//! `GET /api/v1/admin/quarantine` and `POST /api/v1/admin/quarantine/{consumer}/{seq}/replay`:
//! the feed events this process's consumers could not apply, and their replay after a fix.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRef, Path, State};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{Auth, Authenticator};
use super::codes;
use super::codes::{
    AUTHENTICATED, BAD_REQUEST, FORBIDDEN, INVALID_QUERY, NOT_FOUND, STILL_REFUSED, listed,
};
use super::extract::ApiQuery;
use super::problem::{FieldError, Problem};
use crate::domain::Role;
use crate::service::feed::{Consumer, ReplayOutcome};
use crate::store::quarantine::{QuarantineStore, QuarantinedEvent};

/// What the quarantine routes need: the store and the consumers run in this process.
#[derive(Clone)]
pub struct QuarantineState {
    pub store: Arc<dyn QuarantineStore>,
    pub consumers: Arc<HashMap<String, Arc<Consumer>>>,
    pub auth: Arc<Authenticator>,
}

impl FromRef<QuarantineState> for Arc<Authenticator> {
    fn from_ref(state: &QuarantineState) -> Self {
        state.auth.clone()
    }
}

pub fn router() -> OpenApiRouter<QuarantineState> {
    OpenApiRouter::new()
        .routes(routes!(list_quarantine))
        .routes(routes!(replay_quarantined))
}

/// A feed event kept aside.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct QuarantinedView {
    /// The consumer that could not apply it (`stock.passports`, `stock.custody`,
    /// `custody.passports`).
    pub consumer: String,
    pub stream: String,
    /// Its position in the stream.
    pub seq: i64,
    pub event_id: String,
    pub event_type: String,
    /// Later events of this subject wait with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Why the consumer could not apply it.
    pub reason: String,
    pub quarantined_at: DateTime<Utc>,
    /// The event (CloudEvents 1.0).
    #[schema(value_type = Object)]
    pub event: serde_json::Value,
}

impl From<QuarantinedEvent> for QuarantinedView {
    fn from(e: QuarantinedEvent) -> Self {
        QuarantinedView {
            event_id: e.event.id.clone(),
            event_type: e.event.kind.clone(),
            event: serde_json::to_value(&e.event).unwrap_or_default(),
            consumer: e.consumer,
            stream: e.stream,
            seq: e.seq,
            subject: e.subject,
            reason: e.reason,
            quarantined_at: e.quarantined_at,
        }
    }
}

/// A page of the quarantine.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct QuarantinePage {
    pub events: Vec<QuarantinedView>,
    /// How many events are in quarantine in all.
    pub total: i64,
    /// Pass as `after_consumer` and `after_seq` for the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<QuarantineCursor>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct QuarantineCursor {
    pub after_consumer: String,
    pub after_seq: i64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct QuarantineQuery {
    /// Only this consumer's events.
    consumer: Option<String>,
    /// Page after this consumer and sequence (both or neither).
    after_consumer: Option<String>,
    after_seq: Option<i64>,
    /// At most this many events, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// Lists the feed events consumers could not apply.
///
/// Admins. A consumer that cannot apply an event (a value it cannot parse or store) keeps it
/// here and moves on; later events of the same subject wait with it. Each names the consumer,
/// its position in the stream, why it was refused, and the event itself.
#[utoipa::path(
    get, path = "/api/v1/admin/quarantine", tag = "ops", operation_id = "listQuarantine",
    params(QuarantineQuery),
    responses(
        (status = 200, description = "A page of quarantined events", body = QuarantinePage),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, &[FORBIDDEN, INVALID_QUERY]])))),
)]
async fn list_quarantine(
    State(state): State<QuarantineState>,
    Auth(caller): Auth,
    ApiQuery(query): ApiQuery<QuarantineQuery>,
) -> Result<Json<QuarantinePage>, Problem> {
    caller.require(&[Role::Admin])?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(
            Problem::bad_request(codes::INVALID_QUERY, "limit must be between 1 and 1000")
                .with_errors(vec![FieldError::new("limit", "must be between 1 and 1000")]),
        );
    }
    let after = match (&query.after_consumer, query.after_seq) {
        (Some(consumer), Some(seq)) => Some((consumer.as_str(), seq)),
        (None, None) => None,
        _ => {
            return Err(Problem::bad_request(
                codes::INVALID_QUERY,
                "after_consumer and after_seq go together",
            )
            .with_errors(vec![FieldError::new(
                "after_seq",
                "give both after_consumer and after_seq, or neither",
            )]));
        }
    };
    let events = state
        .store
        .list(query.consumer.as_deref(), after, limit)
        .await?;
    let next = (events.len() == limit as usize)
        .then(|| events.last())
        .flatten()
        .map(|e| QuarantineCursor {
            after_consumer: e.consumer.clone(),
            after_seq: e.seq,
        });
    Ok(Json(QuarantinePage {
        events: events.into_iter().map(QuarantinedView::from).collect(),
        total: state.store.count().await?,
        next,
    }))
}

/// What a replay did.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReplayView {
    pub consumer: String,
    /// The sequence numbers applied and taken out of the quarantine, in feed order.
    pub replayed: Vec<i64>,
}

/// Replays a quarantined event, and the later events of its subject, in feed order.
///
/// Admins, after fixing what made the consumer refuse it. Applied events leave the quarantine;
/// when the consumer still refuses one, nothing leaves and the answer (409) says why. The
/// consumer must run in the process that answers (in a deployment of separate services, call
/// an instance of the service that owns it).
#[utoipa::path(
    post, path = "/api/v1/admin/quarantine/{consumer}/{seq}/replay", tag = "ops",
    operation_id = "replayQuarantined",
    params(
        ("consumer" = String, Path, description = "The consumer, e.g. `stock.passports`"),
        ("seq" = i64, Path, description = "The event's position in its stream"),
    ),
    responses(
        (status = 200, description = "Applied and out of the quarantine", body = ReplayView),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such consumer here, or nothing quarantined at that position", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The consumer still refuses it", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, &[FORBIDDEN, BAD_REQUEST, NOT_FOUND, STILL_REFUSED]])))),
)]
async fn replay_quarantined(
    State(state): State<QuarantineState>,
    Auth(caller): Auth,
    Path((consumer, seq)): Path<(String, i64)>,
) -> Result<Json<ReplayView>, Problem> {
    caller.require(&[Role::Admin])?;
    let runner = state.consumers.get(&consumer).ok_or_else(|| {
        Problem::not_found(format!("No consumer {consumer:?} runs in this process."))
    })?;
    match runner.replay(seq).await? {
        ReplayOutcome::Applied(replayed) => Ok(Json(ReplayView { consumer, replayed })),
        ReplayOutcome::StillRefused(why) => Err(Problem::conflict(
            codes::STILL_REFUSED,
            format!("The consumer still refuses the event: {why}"),
        )),
        ReplayOutcome::NotFound => Err(Problem::not_found(format!(
            "Nothing of {consumer} is in quarantine at position {seq}."
        ))),
    }
}
