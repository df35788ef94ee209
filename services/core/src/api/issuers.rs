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
/// GZIP-compressed and base64url-encoded in `encodedList`. Served as `application/vc`, the
/// media type of a VC 2.0 credential; a client whose `Accept` prefers `application/json`,
/// `application/ld+json` or `application/vc+ld+json` (VC 1.1) gets the same bytes typed so.
#[utoipa::path(
    get, path = "/status-lists/{list_id}", tag = "issuers", operation_id = "getStatusList",
    params(("list_id" = String, Path, format = Uuid, description = "The list's id (a UUID; anything else is not found)")),
    responses(
        (status = 200, description = "The signed BitstringStatusListCredential, typed as `Accept` prefers (`application/vc` by default)",
            content(
                (Object = "application/vc"),
                (Object = "application/json"),
                (Object = "application/ld+json"),
                (Object = "application/vc+ld+json"),
            )),
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
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    Ok((
        [
            (header::CONTENT_TYPE, list_media_type(accept)),
            (header::CACHE_CONTROL, "public, max-age=60"),
        ],
        text,
    )
        .into_response())
}

/// The types a status list is served as, the default first.
const LIST_TYPES: [&str; 4] = [
    "application/vc",
    "application/json",
    "application/ld+json",
    "application/vc+ld+json",
];

/// The type of [`LIST_TYPES`] that `accept` weighs highest (RFC 9110 section 12.5.1: each type
/// takes the weight of the most specific range naming it; a named type beats a wildcard of the
/// same weight, then the default order decides). When `accept` allows none of them, the
/// default: a server may disregard `Accept` rather than answer 406, and a verifier fetching a
/// list is better served by the list.
fn list_media_type(accept: Option<&str>) -> &'static str {
    let ranges: Vec<(String, u16)> = accept
        .unwrap_or("*/*")
        .split(',')
        .filter_map(|element| {
            let mut parts = element.split(';');
            let range = parts.next()?.trim().to_ascii_lowercase();
            let q = match parts.find_map(|p| p.trim().strip_prefix("q=").map(str::trim)) {
                None => 1000,
                Some(q) => (q.parse::<f32>().ok()?.clamp(0.0, 1.0) * 1000.0).round() as u16,
            };
            Some((range, q))
        })
        .collect();
    let weigh = |offer: &str| {
        let kind = offer.split('/').next().unwrap_or(offer);
        ranges
            .iter()
            .filter_map(|(range, q)| {
                let specificity = if range == offer {
                    2
                } else if range.strip_suffix("/*") == Some(kind) {
                    1
                } else if range == "*/*" {
                    0
                } else {
                    return None;
                };
                Some((specificity, *q))
            })
            .max_by_key(|&(specificity, _)| specificity)
    };
    LIST_TYPES
        .iter()
        .enumerate()
        .filter_map(|(rank, offer)| {
            let (specificity, q) = weigh(offer)?;
            (q > 0).then_some((q, specificity == 2, std::cmp::Reverse(rank), *offer))
        })
        .max()
        .map_or(LIST_TYPES[0], |(.., offer)| offer)
}

/// The request's `Host` header, if it is text.
fn host(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::HOST).and_then(|v| v.to_str().ok())
}

#[cfg(test)]
mod tests {
    use super::list_media_type;

    #[test]
    fn status_lists_are_vcs_unless_accept_prefers_an_older_type() {
        for (accept, served) in [
            (None, "application/vc"),
            (Some("*/*"), "application/vc"),
            (Some("application/*"), "application/vc"),
            (Some("application/vc"), "application/vc"),
            (Some("application/json"), "application/json"),
            (Some("application/ld+json"), "application/ld+json"),
            (Some("application/vc+ld+json"), "application/vc+ld+json"),
            (
                Some("application/json;q=0.5, application/vc"),
                "application/vc",
            ),
            (
                Some("application/vc;q=0.2, application/json"),
                "application/json",
            ),
            (Some("*/*, application/json"), "application/json"),
            (Some("application/vc;q=0, */*"), "application/json"),
            (Some("text/html"), "application/vc"),
            (Some("application/json;q=abc"), "application/vc"),
        ] {
            assert_eq!(list_media_type(accept), served, "{accept:?}");
        }
    }
}
