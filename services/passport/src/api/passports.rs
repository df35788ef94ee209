//! Passports: register (one here, many in `bulk`), read in the caller's tier, the credential
//! and its versions, new versions, the list (`list`) and status changes (`status`).

mod bulk;
mod list;
mod parse;
mod status;

use axum::Json;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use reetrace_core::api::auth::{Auth, MaybeAuth};
use reetrace_core::api::codes::{
    AUTHENTICATED, BAD_REQUEST, FORBIDDEN, GTIN_NOT_YOURS, IDEMPOTENT, INVALID_ID, INVALID_QUERY,
    JSON_BODY, NOT_ACCEPTABLE, NOT_FOUND, OVER_CLAIM, PUBLIC, RESERVATION_CAP, UNKNOWN_REFERENCE,
    listed,
};
use reetrace_core::api::extract::{ApiQuery, parse_json, parse_uuid, require_json_content_type};
use reetrace_core::api::idempotency::{Idempotency, respond};
use reetrace_core::api::problem::Problem;
use reetrace_core::crypto::jose;
use reetrace_core::domain::issuing::credential_urn;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::PassportState;
use super::error::{CONCURRENT_REQUEST, PASSPORT_EXISTS, PASSPORT_NOT_ACTIVE, VERSION_CONFLICT};
use crate::domain::passport::{Issued, PassportVersion};
use crate::domain::registration::Registration;
use crate::domain::view::PassportView;
use crate::service::Keep;
pub use bulk::{BulkLine, BulkOutcome, MAX_BULK_LINES, register_bulk};
use reetrace_core::api::bulk_gate::{BulkGate, admit};

/// The passport routes; bulk registration takes `bulk_body_limit` bytes and is admitted by
/// the server-wide `gate`.
pub fn router(bulk_body_limit: usize, gate: BulkGate) -> OpenApiRouter<PassportState> {
    let (schemas, paths, bulk) = routes!(bulk::bulk_create);
    OpenApiRouter::new()
        .routes(routes!(create, list::list))
        .routes((
            schemas,
            paths,
            bulk.layer(DefaultBodyLimit::max(bulk_body_limit))
                .layer(axum::middleware::from_fn_with_state(gate, admit)),
        ))
        .routes(routes!(get_passport, update))
        .routes(routes!(get_credential))
        .routes(routes!(get_placement))
        .routes(routes!(list_versions))
        .routes(routes!(status::revoke))
        .routes(routes!(status::suspend))
        .routes(routes!(status::reinstate))
}

fn idempotency(
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Idempotency, Problem> {
    reetrace_core::api::idempotency::of(method.as_str(), path, headers, body)
}

/// Keeps a fresh JSON answer with `status` for the replay of a retried request.
fn keep_json<T: Serialize>(idem: &Idempotency, status: StatusCode) -> Keep<T> {
    let idem = idem.clone();
    Box::new(move |value: &T| {
        idem.response(
            status.as_u16(),
            serde_json::to_string(value).unwrap_or_default(),
        )
    })
}

/// Registers a product and issues its signed passport.
///
/// Manufacturer only. The answer holds the passport id, its resolver URL (GS1 Digital Link for
/// GS1 products, `/p/{id}` otherwise), its version and the signed W3C Verifiable Credential.
/// Send `Idempotency-Key` to make retries safe. A batch passport whose GTIN and lot number a
/// recycled lot carries already is refused (409 `identity_taken`, naming the `lot_id`).
#[utoipa::path(
    post, path = "/api/v1/passports", tag = "passports", operation_id = "createPassport",
    request_body = Registration,
    params(("Idempotency-Key" = Option<String>, Header, nullable = false, pattern = "^[!-~]{1,255}$", description = "Makes a retried request answer the first answer (1 to 255 visible ASCII characters)")),
    responses(
        (status = 201, description = "The passport was issued", body = Issued),
        (status = 409, description = "A passport for this product identity exists, or a lot carries this batch identity", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, JSON_BODY, IDEMPOTENT, &[BAD_REQUEST, FORBIDDEN, GTIN_NOT_YOURS, PASSPORT_EXISTS, reetrace_core::api::codes::IDENTITY_TAKEN, CONCURRENT_REQUEST, OVER_CLAIM, RESERVATION_CAP]])))),
)]
async fn create(
    State(state): State<PassportState>,
    Auth(caller): Auth,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    require_json_content_type(&headers)?;
    let idem = idempotency(&method, "/api/v1/passports", &headers, &body)?;
    let registration: Registration = parse_json(&body)?;
    let answer = state
        .service
        .issue_one(
            &caller,
            registration,
            &idem,
            keep_json(&idem, StatusCode::CREATED),
        )
        .await?;
    respond(answer, StatusCode::CREATED, &idem)
}

/// Reads a passport in the caller's tier.
///
/// Without a key: the public view (identity, category, REE totals per element, dismantling
/// information). Recyclers and regulators also get the component detail (whose digest is in
/// the signed subject); the manufacturer gets everything, confidential fields included.
#[utoipa::path(
    get, path = "/api/v1/passports/{id}", tag = "passports", operation_id = "getPassport",
    params(("id" = String, Path, format = Uuid, description = "The passport id")),
    responses(
        (status = 200, description = "The passport", body = PassportView),
        (status = 404, description = "No such passport", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, &[BAD_REQUEST, INVALID_ID, NOT_FOUND]])))),
)]
async fn get_passport(
    State(state): State<PassportState>,
    MaybeAuth(caller): MaybeAuth,
    Path(id): Path<String>,
) -> Result<Json<PassportView>, Problem> {
    let id = parse_uuid("id", &id)?;
    let (passport, version) = state.service.load(id).await?;
    Ok(Json(state.service.view(
        caller.as_ref(),
        &passport,
        &version,
    )?))
}

/// Issues a new version of a passport.
///
/// Owner only. The body is a full registration; the product identity (granularity, GTIN,
/// serial, lot) cannot change. The new credential names the previous one, which stays
/// readable and verifiable with its status bit set to `superseded`. A body with the content
/// the current version was made from (whatever its whitespace, key order or number spelling)
/// changes nothing: the answer is the current version, and no credential, event or claim is
/// made.
#[utoipa::path(
    put, path = "/api/v1/passports/{id}", tag = "passports", operation_id = "updatePassport",
    params(("id" = String, Path, format = Uuid, description = "The passport id"),
           ("Idempotency-Key" = Option<String>, Header, nullable = false, pattern = "^[!-~]{1,255}$", description = "Makes a retried request answer the first answer (1 to 255 visible ASCII characters)")),
    request_body = Registration,
    responses(
        (status = 200, description = "The new version; the current version when the registration is the one it was made from", body = Issued),
        (status = 404, description = "No such passport", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The passport is not active or moved on meanwhile", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, JSON_BODY, IDEMPOTENT, &[
        BAD_REQUEST, INVALID_ID, FORBIDDEN, GTIN_NOT_YOURS, NOT_FOUND, PASSPORT_NOT_ACTIVE, VERSION_CONFLICT,
        CONCURRENT_REQUEST, OVER_CLAIM, RESERVATION_CAP, UNKNOWN_REFERENCE,
    ]])))),
)]
async fn update(
    State(state): State<PassportState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    let id = parse_uuid("id", &id)?;
    require_json_content_type(&headers)?;
    let idem = idempotency(&method, &format!("/api/v1/passports/{id}"), &headers, &body)?;
    let registration: Registration = parse_json(&body)?;
    let answer = state
        .service
        .issue_version(
            &caller,
            id,
            registration,
            &idem,
            keep_json(&idem, StatusCode::OK),
        )
        .await?;
    respond(answer, StatusCode::OK, &idem)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct VersionQuery {
    /// A version number; the current version when absent.
    #[param(minimum = 1)]
    version: Option<u32>,
    /// `jwt`: the credential as a compact JWS (`application/vc+jwt`), whatever `Accept` says.
    #[param(inline)]
    format: Option<CredentialForm>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct PlacementQuery {
    /// A version number; the current version when absent.
    #[param(minimum = 1)]
    version: Option<u32>,
}

/// How a credential is asked for by query.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
enum CredentialForm {
    /// The compact JWS (VC-JOSE-COSE).
    Jwt,
}

/// The signed credential, byte for byte as issued.
///
/// Public: anyone can verify it offline. `?version=N` gives an earlier version. A v2 credential
/// is also served as a compact JWS (`application/vc+jwt`, VC-JOSE-COSE) on `Accept:
/// application/vc+jwt` or `?format=jwt`; a v1 credential has no JOSE form (406).
#[utoipa::path(
    get, path = "/api/v1/passports/{id}/credential", tag = "passports", operation_id = "getPassportCredential",
    params(("id" = String, Path, format = Uuid, description = "The passport id"), VersionQuery),
    responses(
        (status = 200, description = "The W3C Verifiable Credential, typed as `Accept` asks (`application/json` by default)",
            content(
                (Object = "application/json"),
                (Object = "application/vc"),
                (Object = "application/ld+json"),
                (Object = "application/vc+ld+json"),
                (String = "application/vc+jwt"),
            )),
        (status = 404, description = "No such passport or version", body = Problem, content_type = "application/problem+json"),
        (status = 406, description = "A JOSE form was asked for a v1 credential, which has none", body = Problem, content_type = "application/problem+json"),
    ),
    security(()),
    extensions(("x-problem-codes" = json!(listed(&[PUBLIC, &[BAD_REQUEST, INVALID_ID, INVALID_QUERY, NOT_FOUND, NOT_ACCEPTABLE]])))),
)]
async fn get_credential(
    State(state): State<PassportState>,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<VersionQuery>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let id = parse_uuid("id", &id)?;
    let version = state.service.version(id, query.version).await?;
    if query.format.is_some() || accepts_jwt(&headers) {
        return jwt_response(&version);
    }
    Ok(credential_response(&headers, version.credential))
}

/// The placement declaration of a v2 passport version: market country, NUTS region, placement
/// date and units, signed by the issuer apart from the public credential.
///
/// The passport's owner and the authorities (regulators, admins, services) only; it verifies at
/// `/credentials/verify` like the credential. A v1 version has none (its credential holds
/// those facts): 404. `?version=N` gives an earlier version's.
#[utoipa::path(
    get, path = "/api/v1/passports/{id}/placement", tag = "passports", operation_id = "getPassportPlacement",
    params(("id" = String, Path, format = Uuid, description = "The passport id"), PlacementQuery),
    responses(
        (status = 200, description = "The signed placement declaration (a W3C Verifiable Credential)", body = Object),
        (status = 401, description = "No API key", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not the owner nor an authority", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such passport or version, or a v1 version", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, &[BAD_REQUEST, FORBIDDEN, INVALID_ID, INVALID_QUERY, NOT_FOUND]])))),
)]
async fn get_placement(
    State(state): State<PassportState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<PlacementQuery>,
) -> Result<Response, Problem> {
    let id = parse_uuid("id", &id)?;
    let declaration = state.service.placement(&caller, id, query.version).await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], declaration).into_response())
}

/// Whether `Accept` names the JOSE form.
pub fn accepts_jwt(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains(jose::MEDIA_TYPE))
}

/// The compact JWS of a v2 version; 406 for a v1 version, which has none.
pub fn jwt_response(version: &PassportVersion) -> Result<Response, Problem> {
    match version.compact_jws() {
        Some(Ok(token)) => Ok(([(header::CONTENT_TYPE, jose::MEDIA_TYPE)], token).into_response()),
        Some(Err(why)) => {
            tracing::error!(passport = %version.passport_id, version = version.version, %why,
                "the stored credential and its detached JWS do not make a token");
            Err(Problem::internal())
        }
        None => Err(Problem::new(NOT_ACCEPTABLE).with_detail(format!(
            "Version {} of this passport is a v1 credential, secured only by its eddsa-jcs-2022 \
             proof: it has no JOSE form. Ask for application/json.",
            version.version
        ))),
    }
}

/// The exact credential bytes, typed as the caller asked (`application/vc`,
/// `application/vc+ld+json` of VC 1.1 clients, `application/ld+json`, or `application/json` by
/// default).
pub fn credential_response(headers: &HeaderMap, credential: String) -> Response {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let content_type = if accept.contains("application/vc+ld+json") {
        "application/vc+ld+json"
    } else if accept.contains("application/vc") {
        "application/vc"
    } else if accept.contains("application/ld+json") {
        "application/ld+json"
    } else {
        "application/json"
    };
    ([(header::CONTENT_TYPE, content_type)], credential).into_response()
}

/// One version of a passport.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VersionInfo {
    pub version: u32,
    /// The credential's id (`urn:uuid:...`).
    pub credential_id: String,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub superseded_at: Option<DateTime<Utc>>,
    /// `current` or `superseded`.
    pub state: String,
    /// Where to get this version's credential.
    pub credential: String,
}

/// Lists the versions of a passport; each stays verifiable.
///
/// Public. Oldest first; each names its credential id, when it was superseded, and where to
/// fetch its signed credential (`credential`).
#[utoipa::path(
    get, path = "/api/v1/passports/{id}/versions", tag = "passports", operation_id = "listPassportVersions",
    params(("id" = String, Path, format = Uuid, description = "The passport id")),
    responses(
        (status = 200, description = "Every version, oldest first", body = Vec<VersionInfo>),
        (status = 404, description = "No such passport", body = Problem, content_type = "application/problem+json"),
    ),
    security(()),
    extensions(("x-problem-codes" = json!(listed(&[PUBLIC, &[BAD_REQUEST, INVALID_ID, NOT_FOUND]])))),
)]
async fn list_versions(
    State(state): State<PassportState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<VersionInfo>>, Problem> {
    let id = parse_uuid("id", &id)?;
    let versions = state.service.versions(id).await?;
    let base = state.service.base_url();
    Ok(Json(
        versions
            .into_iter()
            .map(|v| VersionInfo {
                version: v.version,
                credential_id: credential_urn(v.credential_id),
                created_at: v.created_at,
                superseded_at: v.superseded_at,
                state: if v.superseded_at.is_some() {
                    "superseded"
                } else {
                    "current"
                }
                .to_owned(),
                credential: format!(
                    "{base}/api/v1/passports/{id}/credential?version={}",
                    v.version
                ),
            })
            .collect(),
    ))
}
