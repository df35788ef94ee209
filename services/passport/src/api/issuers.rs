//! What verifiers of passports need, public: the JSON-LD contexts of the `ree:` terms (the
//! issuers' DID documents and status lists are core's `api::issuers`).

use axum::http::header;
use axum::response::{IntoResponse, Response};
use reetrace_core::api::codes::{PUBLIC, listed};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::PassportState;

pub fn router() -> OpenApiRouter<PassportState> {
    OpenApiRouter::new()
        .routes(routes!(context))
        .routes(routes!(context_v2))
}

/// The JSON-LD context of the `ree:` terms, served from the binary (never fetched elsewhere).
pub const REE_CONTEXT: &str = include_str!("../../../../schemas/contexts/reetrace-v1.jsonld");
/// The JSON-LD context of the `ree:` terms of v2 credentials and placement declarations.
pub const REE_CONTEXT_V2: &str = include_str!("../../../../schemas/contexts/reetrace-v2.jsonld");

/// The JSON-LD context of the `ree:` terms used in passport credentials.
///
/// Credentials name it in their `@context` as `<base>/contexts/reetrace/v1`.
#[utoipa::path(
    get, path = "/contexts/reetrace/v1", tag = "issuers", operation_id = "getReeContext",
    responses((status = 200, description = "The JSON-LD 1.1 context", body = Object, content_type = "application/ld+json")),
    security(()),
    extensions(("x-problem-codes" = json!(listed(&[PUBLIC])))),
)]
async fn context() -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/ld+json"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        REE_CONTEXT,
    )
        .into_response()
}

/// The JSON-LD context of the `ree:` terms used in v2 passport credentials (beside the UNTP
/// context) and in placement declarations.
///
/// Credentials name it in their `@context` as `<base>/contexts/reetrace/v2`.
#[utoipa::path(
    get, path = "/contexts/reetrace/v2", tag = "issuers", operation_id = "getReeContextV2",
    responses((status = 200, description = "The JSON-LD 1.1 context", body = Object, content_type = "application/ld+json")),
    security(()),
    extensions(("x-problem-codes" = json!(listed(&[PUBLIC])))),
)]
async fn context_v2() -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/ld+json"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        REE_CONTEXT_V2,
    )
        .into_response()
}
