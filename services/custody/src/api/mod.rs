//! HTTP routes of the custody service.

mod epcis;
mod log;
mod records;

use std::sync::Arc;

use axum::extract::FromRef;
use axum::http::HeaderMap;
use reetrace_core::auth::Authenticator;
use reetrace_core::idempotency::{Answer, Idempotency, StoredResponse};
use reetrace_core::problem::Problem;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;

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
/// thousands of events).
pub fn router(bulk_body_limit: usize) -> OpenApiRouter<CustodyState> {
    records::router()
        .merge(log::router())
        .merge(epcis::router(bulk_body_limit))
}

/// The idempotency context of a JSON POST.
pub(crate) fn idempotency(
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Idempotency, Problem> {
    Idempotency::of("POST", path, headers, body)
}

/// A fresh answer with `status`, or the replay of a stored one.
pub(crate) fn respond<T: Serialize>(
    answer: Answer<T>,
    status: axum::http::StatusCode,
    idem: &Idempotency,
) -> Result<axum::response::Response, Problem> {
    use axum::response::IntoResponse;
    match answer {
        Answer::Fresh(value) => Ok((status, axum::Json(value)).into_response()),
        Answer::Replay(stored) => replay(stored, idem),
    }
}

fn replay(stored: StoredResponse, idem: &Idempotency) -> Result<axum::response::Response, Problem> {
    stored.replay(&idem.fingerprint)
}
