//! The HTTP edge of the custody service: each route extracts its input, calls the service and
//! maps the result; [`error`] turns the service's errors into problems.

pub mod binding;
mod custody;
mod epcis;
pub mod error;
pub mod lot_page;
pub mod recycled_content;
mod transparency_log;

use std::sync::Arc;

use axum::extract::FromRef;
use axum::http::HeaderMap;
use reetrace_core::api::auth::Authenticator;
use reetrace_core::api::problem::Problem;
use reetrace_core::domain::idempotency::Idempotency;
use utoipa_axum::router::OpenApiRouter;

pub use epcis::{
    CaptureReport, ERROR_BEHAVIOUR_HEADER, EventError, EventResult, LEGACY_ERROR_BEHAVIOUR_HEADER,
    error_behaviour, error_behaviour_of, query_problem,
};

use crate::service::CustodyService;

/// What the custody routes need.
#[derive(Clone)]
pub struct CustodyState {
    pub service: CustodyService,
    pub auth: Arc<Authenticator>,
}

impl FromRef<CustodyState> for Arc<Authenticator> {
    fn from_ref(state: &CustodyState) -> Self {
        state.auth.clone()
    }
}

/// The custody routes; `bulk_body_limit` sizes the body limit of EPCIS capture (documents of
/// thousands of events); `gate` bounds the bulk requests in flight across the process.
pub fn router(
    bulk_body_limit: usize,
    gate: reetrace_core::api::bulk_gate::BulkGate,
) -> OpenApiRouter<CustodyState> {
    custody::router()
        .merge(lot_page::router())
        .merge(transparency_log::router())
        .merge(epcis::router(bulk_body_limit, gate.clone()))
        .merge(binding::router(bulk_body_limit, gate))
}

/// The idempotency context of a JSON POST.
pub(crate) fn idempotency(
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Idempotency, Problem> {
    reetrace_core::api::idempotency::of("POST", path, headers, body)
}

pub(crate) use reetrace_core::api::idempotency::respond;
