//! What verifiers need of every issuing organisation, public: its DID document and its status
//! lists, whichever service issued with its key.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::codes::{BAD_REQUEST, INVALID_ID, INVALID_TEXT, NOT_FOUND, PUBLIC, listed};
use super::extract::parse_uuid;
use super::problem::Problem;
use crate::service::issuing::Issuing;

/// The issuers routes; their state is the process's [`Issuing`].
pub fn router() -> OpenApiRouter<Arc<Issuing>> {
    OpenApiRouter::new()
        .routes(routes!(did_document))
        .routes(routes!(status_list))
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
    State(issuing): State<Arc<Issuing>>,
    Path(org_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let org_id = parse_uuid("org_id", &org_id)?;
    // At a former host of the instance, the DID that host names (credentials issued there
    // name it); anywhere else, the current one.
    let base = issuing.base_url_for_host(host(&headers));
    let Some(document) = issuing.did_document(org_id, base).await? else {
        return Err(Problem::not_found(format!(
            "Organisation {org_id} has no signing keys."
        )));
    };
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
    State(issuing): State<Arc<Issuing>>,
    Path(list_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    if list_id.len() > 64 {
        return Err(Problem::not_found("No such status list."));
    }
    let base = issuing.base_url_for_host(host(&headers));
    let text = issuing.status_list_credential_at(&list_id, base).await?;
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
