//! Operations endpoints: liveness, readiness and Prometheus metrics.

use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRef, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use reetrace_core::api::codes::listed;
use reetrace_core::api::problem::Problem;
use reetrace_core::db::Db;
use reetrace_core::metrics::Metrics;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// What the ops routes need.
#[derive(Clone)]
pub struct OpsState {
    pub db: Db,
    pub metrics: Arc<Metrics>,
}

impl FromRef<OpsState> for Arc<Metrics> {
    fn from_ref(state: &OpsState) -> Self {
        state.metrics.clone()
    }
}

pub fn router() -> OpenApiRouter<OpsState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
}

/// A health answer.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok` when healthy.
    pub status: String,
}

/// Says the process is up.
///
/// Liveness probe: answers 200 whenever the process can serve HTTP.
#[utoipa::path(
    get, path = "/healthz", tag = "ops", operation_id = "healthz",
    responses((status = 200, description = "The process is up", body = Health)),
    security(()),
    extensions(("x-problem-codes" = json!(listed(&[])))),
)]
async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
    })
}

/// Says the process can serve requests: its database answers.
///
/// Readiness probe: 503 problem+json while the database is unreachable.
#[utoipa::path(
    get, path = "/readyz", tag = "ops", operation_id = "readyz",
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "The database is unreachable", body = Problem, content_type = "application/problem+json"),
    ),
    security(()),
    extensions(("x-problem-codes" = json!(listed(&[])))),
)]
async fn readyz(State(state): State<OpsState>) -> Result<Json<Health>, Problem> {
    match state.db.ping().await {
        Ok(()) => Ok(Json(Health {
            status: "ok".into(),
        })),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check failed");
            Err(Problem::service_unavailable(
                "The database does not answer.",
            ))
        }
    }
}

/// Prometheus metrics in the OpenMetrics text format.
///
/// Requests by method, route and status, and a latency histogram by route.
#[utoipa::path(
    get, path = "/metrics", tag = "ops", operation_id = "metrics",
    responses((status = 200, description = "OpenMetrics text", body = String, content_type = "application/openmetrics-text")),
    security(()),
    extensions(("x-problem-codes" = json!(listed(&[])))),
)]
async fn metrics(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics.encode(),
    )
}
