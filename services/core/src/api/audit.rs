//! The audit trail at the HTTP edge: the middleware that writes every request made with an
//! authority's key before its answer leaves, and `GET /api/v1/audit`, where admins read it.
//!
//! The middleware runs on every route of the process (the binary lays it over the assembled
//! router, beside the route metrics), so no route can forget it. It authenticates the request's
//! key itself ([`Authenticator::resolve`]; the route's extractor reuses the outcome), lets the
//! route answer, and writes the entry: organisation, key id and prefix, method, the declared
//! route and the concrete path, the query string, the status, the time. When the entry cannot
//! be written the answer is dropped and the caller gets 503: no authority read is served
//! unrecorded.

use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRef, MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::auth::{Auth, Authenticator, presented_key_prefix};
use super::codes::{AUTHENTICATED, FORBIDDEN, INVALID_CURSOR, INVALID_QUERY, listed};
use crate::api::extract::ApiQuery;
use crate::api::pagination::{Page, PageQuery};
use crate::api::problem::{FieldError, Problem};
use crate::domain::Role;
use crate::domain::audit::{AUDITED_ROLES, AuditEntry, AuditFilter};
use crate::service::audit::AuditTrail;

/// What the audit middleware and route need.
#[derive(Clone)]
pub struct AuditState {
    pub trail: AuditTrail,
    pub auth: Arc<Authenticator>,
}

impl FromRef<AuditState> for Arc<Authenticator> {
    fn from_ref(state: &AuditState) -> Self {
        state.auth.clone()
    }
}

/// Middleware (as a route layer, so that the declared route is known): writes every request
/// made with an authority's key to the audit trail before answering it.
pub async fn record(State(state): State<AuditState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let caller = state.auth.resolve(&mut parts).await;
    let Some(caller) = caller.filter(|c| AUDITED_ROLES.contains(&c.role)) else {
        return next.run(Request::from_parts(parts, body)).await;
    };
    let mut entry = AuditEntry {
        id: Uuid::now_v7(),
        at: Utc::now(),
        org_id: caller.org_id,
        org_name: caller.org_name,
        key_id: caller.key_id,
        key_prefix: presented_key_prefix(&parts).unwrap_or_default().to_owned(),
        method: parts.method.as_str().to_owned(),
        route: parts
            .extensions
            .get::<MatchedPath>()
            .map_or_else(|| parts.uri.path(), MatchedPath::as_str)
            .to_owned(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        status: 0,
    };
    let response = next.run(Request::from_parts(parts, body)).await;
    entry.status = response.status().as_u16();
    match state.trail.record(&entry).await {
        Ok(()) => response,
        Err(err) => {
            tracing::error!(error = %err, route = %entry.route, org_id = %entry.org_id,
                "an authority request could not be written to the audit trail; not answered");
            Problem::service_unavailable(
                "The request could not be written to the audit trail, so it is not answered; \
                 retry later.",
            )
            .with("retry_after", 1)
            .into_response()
        }
    }
}

/// The audit trail's route.
pub fn router() -> OpenApiRouter<AuditState> {
    OpenApiRouter::new().routes(routes!(list_audit))
}

/// Filters of the audit trail.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    /// Only requests of this organisation.
    #[param(value_type = Option<Uuid>)]
    org_id: Option<String>,
    /// Only requests made with this API key (its id).
    #[param(value_type = Option<Uuid>)]
    key_id: Option<String>,
    /// Only requests made with the API key of this prefix (`rtk_<prefix>_...`).
    key_prefix: Option<String>,
    /// Only requests to this declared route, exactly as listed (`/api/v1/passports/{id}`).
    route: Option<String>,
    /// Only requests made at or after this time (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    since: Option<String>,
    /// Only requests made before this time (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    until: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Items per page, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

fn invalid(name: &str, detail: impl Into<String>) -> Problem {
    let detail = detail.into();
    Problem::bad_request(INVALID_QUERY, format!("Query parameter {name}: {detail}"))
        .with_errors(vec![FieldError::new(name, detail)])
}

fn uuid(name: &str, value: &Option<String>) -> Result<Option<Uuid>, Problem> {
    value
        .as_deref()
        .map(|v| {
            v.parse()
                .map_err(|_| invalid(name, format!("must be a UUID, got {v:?}")))
        })
        .transpose()
}

fn time(name: &str, value: &Option<String>) -> Result<Option<DateTime<Utc>>, Problem> {
    value
        .as_deref()
        .map(|v| {
            DateTime::parse_from_rfc3339(v)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| {
                    invalid(
                        name,
                        format!("must be an RFC 3339 time such as 2026-01-31T00:00:00Z, got {v:?}"),
                    )
                })
        })
        .transpose()
}

impl AuditQuery {
    fn filter(&self) -> Result<AuditFilter, Problem> {
        let filter = AuditFilter {
            org_id: uuid("org_id", &self.org_id)?,
            key_id: uuid("key_id", &self.key_id)?,
            key_prefix: self.key_prefix.clone(),
            route: self.route.clone(),
            since: time("since", &self.since)?,
            until: time("until", &self.until)?,
        };
        if let (Some(since), Some(until)) = (filter.since, filter.until)
            && until < since
        {
            return Err(invalid("until", "must not be before since"));
        }
        Ok(filter)
    }
}

/// Lists the audit trail of authority reads.
///
/// Admin only. Every request made with an authority's (regulator's) key, newest first, with
/// cursor pagination: the organisation and key (id and prefix, never the secret), the method,
/// the declared route and the path, the query string, the status answered, and when. Filters
/// combine; `since` is inclusive and `until` exclusive. Entries older than the retention (two
/// years by default) are pruned.
#[utoipa::path(
    get, path = "/api/v1/audit", tag = "audit", operation_id = "listAudit",
    params(AuditQuery),
    responses((status = 200, description = "One page of the audit trail, newest first", body = Page<AuditEntry>)),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[
        AUTHENTICATED, &[FORBIDDEN, INVALID_QUERY, INVALID_CURSOR],
    ])))),
)]
async fn list_audit(
    State(state): State<AuditState>,
    Auth(caller): Auth,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<Page<AuditEntry>>, Problem> {
    caller.require(&[Role::Admin])?;
    let filter = query.filter()?;
    let page = PageQuery {
        cursor: query.cursor,
        limit: query.limit,
    };
    let limit = page.limit()?;
    let before = page.cursor::<Uuid>()?;
    let entries = state.trail.list(&filter, before, limit + 1).await?;
    Ok(Json(Page::from_overfetch(entries, limit, |e| {
        e.id.to_string()
    })))
}
