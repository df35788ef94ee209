//! The JSON-LD context of the deposit credentials' terms, public, served from the binary.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use reetrace_core::api::codes::{PUBLIC, listed};

/// The context document (`schemas/contexts/deposits-v1.jsonld`), never fetched elsewhere.
pub const DEPOSITS_CONTEXT: &str = include_str!("../../../../schemas/contexts/deposits-v1.jsonld");

/// The JSON-LD context of the terms of residue deposit credentials.
///
/// Every `ResidueDepositCredential` names it in its `@context` after the VC 2.0 context, as
/// `<base>/contexts/deposits/v1`: it maps the subject's terms (type, status, location,
/// tonnage, assays, content) to IRIs of the reetrace vocabulary, with their datatypes.
#[utoipa::path(
    get, path = "/contexts/deposits/v1", tag = "deposits", operation_id = "getDepositsContext",
    responses((status = 200, description = "The JSON-LD 1.1 context", body = Object, content_type = "application/ld+json")),
    security(()),
    extensions(("x-problem-codes" = json!(listed(&[PUBLIC])))),
)]
// The path is `domain::credential::CONTEXT_PATH`; the API tests fetch it from there.
pub(super) async fn context() -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/ld+json"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        DEPOSITS_CONTEXT,
    )
        .into_response()
}
