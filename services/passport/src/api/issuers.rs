//! What verifiers need, public: issuers' DID documents and status lists.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use reetrace_core::api::codes::{BAD_REQUEST, INVALID_ID, INVALID_TEXT, NOT_FOUND, PUBLIC, listed};
use reetrace_core::api::extract::parse_uuid;
use reetrace_core::api::problem::Problem;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::PassportState;
use crate::domain::did;

pub fn router() -> OpenApiRouter<PassportState> {
    OpenApiRouter::new()
        .routes(routes!(did_document))
        .routes(routes!(status_list))
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

/// An issuer's DID document (did:web).
///
/// Every key the organisation ever signed with, as a Multikey verification method; those that
/// still assert under `assertionMethod`. A did:web resolver fetches this for
/// `did:web:<host>:orgs:<org_id>`.
#[utoipa::path(
    get, path = "/orgs/{org_id}/did.json", tag = "issuers", operation_id = "getDidDocument",
    params(("org_id" = String, Path, format = Uuid, description = "The organisation's id")),
    responses(
        (status = 200, description = "The DID document", body = Object, content_type = "application/did+json"),
        (status = 404, description = "No such issuer", body = Problem, content_type = "application/problem+json"),
    ),
    security(()),
    extensions(("x-problem-codes" = json!(listed(&[PUBLIC, &[BAD_REQUEST, INVALID_ID, NOT_FOUND]])))),
)]
async fn did_document(
    State(state): State<PassportState>,
    Path(org_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let org_id = parse_uuid("org_id", &org_id)?;
    let keys = state.service.keys().method_keys(org_id).await?;
    if keys.is_empty() {
        return Err(Problem::not_found(format!(
            "Organisation {org_id} has no signing keys."
        )));
    }
    // At a former host of the instance, the DID that host names (credentials issued there
    // name it); anywhere else, the current one.
    let base = state.service.base_url_for_host(host(&headers));
    let document = did::document(&did::org_did(base, org_id), &keys);
    Ok((
        [(header::CONTENT_TYPE, "application/did+json")],
        document.to_string(),
    )
        .into_response())
}

/// A status list credential (W3C Bitstring Status List).
///
/// Signed by the issuing organisation; at least 131,072 entries, indexes handed out at random,
/// GZIP-compressed and base64url-encoded in `encodedList`.
#[utoipa::path(
    get, path = "/status-lists/{list_id}", tag = "issuers", operation_id = "getStatusList",
    params(("list_id" = String, Path, format = Uuid, description = "The list's id (a UUID; anything else is not found)")),
    responses(
        (status = 200, description = "The signed BitstringStatusListCredential", body = Object),
        (status = 404, description = "No such list", body = Problem, content_type = "application/problem+json"),
    ),
    security(()),
    extensions(("x-problem-codes" = json!(listed(&[PUBLIC, &[BAD_REQUEST, NOT_FOUND, INVALID_TEXT]])))),
)]
async fn status_list(
    State(state): State<PassportState>,
    Path(list_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    if list_id.len() > 64 {
        return Err(Problem::not_found("No such status list."));
    }
    let base = state.service.base_url_for_host(host(&headers)).to_owned();
    let text = state
        .service
        .status_list_credential_at(&list_id, &base)
        .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "public, max-age=60"),
        ],
        text,
    )
        .into_response())
}

/// The request's `Host` header, if it is text.
fn host(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::HOST).and_then(|v| v.to_str().ok())
}
