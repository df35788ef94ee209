//! The passport service's HTTP edge: extract, call the service, map the result.
//!
//! - [`passports`]: register (one or in bulk), read, versions, list, status changes;
//! - `conformity`: the CRMA art. 28/29 check of a passport and the organisation summary;
//! - [`free_access`]: the free-access page of CRMA art. 29(1) (JSON, CSV, HTML), no key;
//! - [`resolver`]: GS1 Digital Link resolution, content negotiation, the linkset;
//! - [`page`]: the passport page people see after scanning a QR code (HTML presentation,
//!   rendered for the resolver only); [`qr`]: the QR codes; [`labels`]: the CRMA art. 28(1)
//!   magnet labels (SVG, PDF, A4 sheets);
//! - `credentials` (VC-API verify and issue) and `issuers` (the JSON-LD contexts; the DID
//!   documents and status lists are served by core's `api::issuers`, composed beside these);
//! - [`error`]: the service's problem codes and the one conversion of its errors.

mod conformity;
mod credentials;
pub mod error;
pub mod free_access;
mod issuers;
pub mod labels;
pub mod page;
pub mod passports;
pub mod qr;
pub mod resolver;

use std::sync::Arc;

use axum::extract::FromRef;
use reetrace_core::api::auth::Authenticator;
use utoipa_axum::router::OpenApiRouter;

use crate::service::PassportService;

/// What the passport routes need.
#[derive(Clone)]
pub struct PassportState {
    pub service: PassportService,
    pub auth: Arc<Authenticator>,
    /// Largest body of a bulk registration, in bytes.
    pub bulk_body_limit: usize,
}

impl FromRef<PassportState> for Arc<Authenticator> {
    fn from_ref(state: &PassportState) -> Self {
        state.auth.clone()
    }
}

/// The passport routes; `bulk_body_limit` sizes the bulk route's body limit, `gate` bounds the
/// bulk requests in flight across the process.
pub fn router(
    bulk_body_limit: usize,
    gate: reetrace_core::api::bulk_gate::BulkGate,
) -> OpenApiRouter<PassportState> {
    passports::router(bulk_body_limit, gate)
        .merge(issuers::router())
        .merge(resolver::router())
        .merge(qr::router())
        .merge(labels::router())
        .merge(credentials::router())
        .merge(conformity::router())
        .merge(free_access::router())
}
