//! The resolver's commonest answer: the credential, asked for by `Accept` without a link type.
//!
//! The embedded-proof forms (`application/json`, `application/vc`, `application/ld+json`) are
//! the stored bytes: they come with the passport in one read and are kept in memory for the
//! next read of the same path. The JOSE form (`application/vc+jwt`) is rebuilt from the
//! version (its stored detached signature around the credential's JCS bytes), so it is read
//! with the version, as `GET /api/v1/passports/{id}/credential` reads it, and never served from
//! memory: a path whose JSON credential is cached still answers the token, or the 406 of a v1
//! passport.

use axum::body::Bytes;
use axum::http::{HeaderMap, Uri, header};
use axum::response::{IntoResponse, Response};
use reetrace_core::api::extract;
use reetrace_core::api::problem::Problem;
use reetrace_core::domain::Principal;

use super::{Representation, accept, common_headers, link_type, negotiate, ree_namespace, set};
use crate::api::passports::jwt_response;
use crate::domain::passport::Lookup;
use crate::service::PassportService;
use crate::service::credential_cache::CachedCredential;

/// The credential representation a request asks for, when it asks for one (no link type).
pub(super) fn wanted(uri: &Uri, headers: &HeaderMap, namespace: &str) -> Option<Representation> {
    if link_type(uri, namespace).is_some() {
        return None;
    }
    negotiate(accept(headers), &Representation::ALL)
        .filter(|r| Representation::CREDENTIAL.contains(r))
}

/// The `Link` and `Cache-Control` headers of a credential answer about `product`.
fn product_headers(response: &mut Response, product: &str, private: bool) {
    let linkset = format!("{product}?linkType=linkset");
    common_headers(response, &linkset, product, private);
}

/// The stored credential bytes as the answer, with the product's links.
fn stored_response(
    representation: Representation,
    cached: CachedCredential,
    private: bool,
) -> Response {
    let mut response = cached.credential.into_response();
    set(
        response.headers_mut(),
        header::CONTENT_TYPE,
        representation.media_type(),
    );
    product_headers(&mut response, &cached.product, private);
    response
}

/// The answer from memory, when the request asks for the stored credential of a path read
/// lately.
pub(super) fn from_cache(
    service: &PassportService,
    caller: Option<&Principal>,
    uri: &Uri,
    headers: &HeaderMap,
) -> Option<Response> {
    if extract::control_character_in(uri.query().unwrap_or("")).is_some() {
        return None;
    }
    let representation =
        wanted(uri, headers, &ree_namespace(service.base_url())).filter(|r| r.is_stored_bytes())?;
    let cached = service.credentials().get(uri.path())?;
    Some(stored_response(representation, cached, caller.is_some()))
}

/// The stored credential of the passport `lookup` names, in one read, kept in memory for the
/// next read of the same path.
pub(super) async fn stored(
    service: &PassportService,
    private: bool,
    uri: &Uri,
    representation: Representation,
    lookup: Lookup<'_>,
    missing: impl FnOnce() -> Problem,
) -> Result<Response, Problem> {
    let (row, credential) = service
        .resolve_credential(lookup)
        .await?
        .ok_or_else(missing)?;
    let cached = CachedCredential {
        product: service.product_uri(&row),
        credential: Bytes::from(credential),
    };
    service.credentials().put(uri.path(), cached.clone());
    Ok(stored_response(representation, cached, private))
}

/// The compact JWS of the current version of the passport `lookup` names; 406 for a v1
/// passport, which has no JOSE form.
pub(super) async fn jose(
    service: &PassportService,
    private: bool,
    lookup: Lookup<'_>,
    missing: impl FnOnce() -> Problem,
) -> Result<Response, Problem> {
    let row = service.resolve(lookup).await?.ok_or_else(missing)?;
    let version = service.current_version(&row).await?;
    let mut response = jwt_response(&version)?;
    product_headers(&mut response, &service.product_uri(&row), private);
    Ok(response)
}
