//! The EPCIS 2.0 REST binding at its own base, [`BASE`]: asynchronous capture with capture
//! jobs, and queries with the simple event query's parameters. The routes under `/api/v1/epcis` stay as they were (synchronous capture).

mod capture;
mod listing;
mod query;

use axum::extract::DefaultBodyLimit;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use capture::{CaptureJobError, EpcisCaptureJob, JOB_RENDERING};

use super::CustodyState;

/// Where the binding is served.
pub const BASE: &str = "/epcis/2.0";

/// The binding's routes; capture takes `bulk_body_limit` bytes and is admitted by `gate`, as
/// `POST /api/v1/epcis/capture` is.
pub fn router(
    bulk_body_limit: usize,
    gate: reetrace_core::api::bulk_gate::BulkGate,
) -> OpenApiRouter<CustodyState> {
    let (schemas, paths, capture_route) = routes!(capture::capture);
    OpenApiRouter::new()
        .routes((
            schemas,
            paths,
            capture_route
                .layer(DefaultBodyLimit::max(bulk_body_limit))
                .layer(axum::middleware::from_fn_with_state(
                    gate,
                    reetrace_core::api::bulk_gate::admit,
                )),
        ))
        .routes(routes!(capture::capture_jobs))
        .routes(routes!(capture::capture_job))
        .routes(routes!(query::events))
        .routes(routes!(query::event_types))
        .routes(routes!(query::events_of_type))
        .routes(routes!(query::events_of_epc))
        .routes(routes!(query::events_of_biz_step))
        .routes(routes!(query::events_of_disposition))
        .routes(routes!(query::events_of_read_point))
        .routes(routes!(query::events_of_biz_location))
        .routes(routes!(listing::biz_steps))
        .routes(routes!(listing::dispositions))
        .routes(routes!(listing::read_points))
        .routes(routes!(listing::biz_locations))
        .routes(routes!(listing::epcs))
}
