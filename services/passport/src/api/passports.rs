//! Passports: register (one or in bulk), read in the caller's tier, new versions, status.

use axum::Json;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use reetrace_core::api::auth::{Auth, MaybeAuth};
use reetrace_core::api::extract::{
    ApiQuery, optional_json, parse_json, parse_uuid, require_json_content_type,
    unsupported_media_type,
};
use reetrace_core::api::idempotency::{replay, respond};
use reetrace_core::api::pagination::{Page, PageQuery};
use reetrace_core::api::problem::{FieldError, Problem};
use reetrace_core::domain::Role;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::PassportState;
use crate::domain::credential::credential_urn;
use crate::domain::registration::Registration;
use crate::issue::{Answer, BulkOutcome, Idempotency};
use crate::service::{Issued, PassportView};
use crate::store::{ListFilter, PassportStatus};

/// The most registrations one bulk request may carry.
pub const MAX_BULK_LINES: usize = 100_000;

pub fn router(bulk_body_limit: usize) -> OpenApiRouter<PassportState> {
    let (schemas, paths, bulk) = routes!(bulk_create);
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes((
            schemas,
            paths,
            bulk.layer(DefaultBodyLimit::max(bulk_body_limit)),
        ))
        .routes(routes!(get_passport, update))
        .routes(routes!(get_credential))
        .routes(routes!(list_versions))
        .routes(routes!(revoke))
        .routes(routes!(suspend))
        .routes(routes!(reinstate))
}

fn idempotency(
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Idempotency, Problem> {
    reetrace_core::api::idempotency::of(method.as_str(), path, headers, body)
}

/// Registers a product and issues its signed passport.
///
/// Manufacturer only. The answer holds the passport id, its resolver URL (GS1 Digital Link for
/// GS1 products, `/p/{id}` otherwise), its version and the signed W3C Verifiable Credential.
/// Send `Idempotency-Key` to make retries safe.
#[utoipa::path(
    post, path = "/api/v1/passports", tag = "passports", operation_id = "createPassport",
    request_body = Registration,
    params(("Idempotency-Key" = Option<String>, Header, nullable = false, pattern = "^[!-~]{1,255}$", description = "Makes a retried request answer the first answer (1 to 255 visible ASCII characters)")),
    responses(
        (status = 201, description = "The passport was issued", body = Issued),
        (status = 409, description = "A passport for this product identity exists", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
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
        .issue_one(&caller, registration, &idem)
        .await?;
    respond(answer, StatusCode::CREATED, &idem)
}

/// Options of a bulk registration.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct BulkQuery {
    /// All or nothing: if any line fails, nothing is stored.
    #[serde(default)]
    atomic: bool,
}

/// Registers many products at once (a JSON array or NDJSON).
///
/// Manufacturer only. Up to 100,000 registrations per call, as a JSON array
/// (`application/json`) or one per line (`application/x-ndjson`). Each line succeeds or fails on
/// its own (`results` gives one entry per line: 201 with the id, or the problem), unless
/// `atomic=true`, which stores all or nothing. Answers NDJSON (one result per line) when the
/// request was NDJSON or `Accept: application/x-ndjson`.
#[utoipa::path(
    post, path = "/api/v1/passports/bulk", tag = "passports", operation_id = "bulkCreatePassports",
    params(BulkQuery, ("Idempotency-Key" = Option<String>, Header, nullable = false, pattern = "^[!-~]{1,255}$", description = "Makes a retried request answer the first answer (1 to 255 visible ASCII characters)")),
    request_body(content(
        (BulkRegistrations = "application/json", example = json!([
            {"granularity": "item",
             "product": {"gtin": "04012345000016", "serial": "EVM-2026-000002", "name": "Traction motor PMSM 150 kW",
               "category": "ev_traction_motor", "net_mass_g": 48000,
               "placed_on_market": {"date": "2026-04-15", "country": "FR"}},
             "ree_content": {"components": [{"name": "rotor magnet set", "material": "NdFeB-sintered", "mass_g": 1500,
               "elements": [{"element": "Nd", "mass_g": 337.5}, {"element": "Pr", "mass_g": 105}]}]}},
            {"granularity": "item",
             "product": {"gtin": "04012345000016", "serial": "EVM-2026-000003", "name": "Traction motor PMSM 150 kW",
               "category": "ev_traction_motor", "net_mass_g": 48000,
               "placed_on_market": {"date": "2026-04-15", "country": "FR"}},
             "ree_content": {"components": [{"name": "rotor magnet set", "material": "NdFeB-sintered", "mass_g": 1500,
               "elements": [{"element": "Nd", "mass_g": 337.5}, {"element": "Pr", "mass_g": 105}]}]}}
        ])),
        (String = "application/x-ndjson"),
    )),
    responses(
        (status = 200, description = "Every line was processed; see each result", body = BulkOutcome),
        (status = 409, description = "Atomic request refused, nothing stored: a line conflicts with an existing passport (`results` gives each line)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Atomic request refused, nothing stored: some lines are invalid (`results` gives each line)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
async fn bulk_create(
    State(state): State<PassportState>,
    Auth(caller): Auth,
    ApiQuery(query): ApiQuery<BulkQuery>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let ndjson = matches!(
        content_type.as_str(),
        "application/x-ndjson" | "application/jsonl" | "application/ndjson"
    );
    let lines = if ndjson {
        parse_ndjson(&body)?
    } else if content_type == "application/json" {
        parse_array(&body)?
    } else {
        return Err(unsupported_media_type(
            &content_type,
            "application/json or application/x-ndjson",
        ));
    };
    let path = format!("/api/v1/passports/bulk?atomic={}", query.atomic);
    let idem = idempotency(&method, &path, &headers, &body)?;
    let wants_ndjson = ndjson
        || headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("application/x-ndjson"));
    match state
        .service
        .issue_bulk(&caller, lines, query.atomic, &idem)
        .await?
    {
        Answer::Replay(stored) => replay(stored, &idem.fingerprint),
        Answer::Fresh((status, outcome)) if status.is_client_error() => {
            Err(refused(status, outcome))
        }
        Answer::Fresh((status, outcome)) if wants_ndjson => Ok((
            status,
            [(header::CONTENT_TYPE, "application/x-ndjson")],
            outcome.to_ndjson(),
        )
            .into_response()),
        Answer::Fresh((status, outcome)) => Ok((status, Json(outcome)).into_response()),
    }
}

/// The JSON form of a bulk request, for the document only (the body is parsed line by line).
struct BulkRegistrations;

impl utoipa::PartialSchema for BulkRegistrations {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ArrayBuilder::new()
            .items(utoipa::openapi::Ref::from_schema_name("Registration"))
            .min_items(Some(1))
            .max_items(Some(MAX_BULK_LINES))
            .description(Some("1 to 100,000 registrations."))
            .into()
    }
}

impl ToSchema for BulkRegistrations {}

/// An atomic request that stored nothing, as a problem listing every line's outcome.
fn refused(status: StatusCode, outcome: BulkOutcome) -> Problem {
    Problem::new(crate::api::error::BULK_REFUSED)
        .with_status(status)
        .with_detail(format!(
            "{} of {} lines failed, so nothing was stored; `results` gives each line.",
            outcome.failed,
            outcome.results.len()
        ))
        .with("created", 0)
        .with("failed", outcome.failed)
        .with("results", outcome.results)
}

fn too_many() -> Problem {
    Problem::new(crate::api::error::TOO_MANY_LINES).with_detail(format!(
        "A bulk request carries at most {MAX_BULK_LINES} registrations."
    ))
}

/// Parses NDJSON: one registration per non-empty line, each line's problem kept on its own.
fn parse_ndjson(body: &[u8]) -> Result<Vec<Result<Registration, Problem>>, Problem> {
    let mut out = Vec::new();
    for line in body.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if out.len() == MAX_BULK_LINES {
            return Err(too_many());
        }
        out.push(parse_json::<Registration>(line));
    }
    if out.is_empty() {
        return Err(Problem::bad_request(
            crate::api::error::EMPTY_BULK,
            "The request holds no registrations.",
        ));
    }
    Ok(out)
}

/// Parses a JSON array of registrations, each element's problem kept on its own.
fn parse_array(body: &[u8]) -> Result<Vec<Result<Registration, Problem>>, Problem> {
    let items: Vec<&serde_json::value::RawValue> = serde_json::from_slice(body).map_err(|e| {
        Problem::bad_request(
            reetrace_core::api::codes::MALFORMED_JSON,
            format!("The body must be a JSON array of registrations: {e}"),
        )
    })?;
    if items.len() > MAX_BULK_LINES {
        return Err(too_many());
    }
    if items.is_empty() {
        return Err(Problem::bad_request(
            crate::api::error::EMPTY_BULK,
            "The request holds no registrations.",
        ));
    }
    Ok(items
        .into_iter()
        .map(|raw| parse_json::<Registration>(raw.get().as_bytes()))
        .collect())
}

/// Filters of the passport list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Only this product category.
    #[param(value_type = Option<reetrace_core::domain::Category>)]
    category: Option<String>,
    /// Only this GTIN (8, 12, 13 or 14 digits with a valid check digit).
    #[param(pattern = r"^(\d{8}|\d{12,14})$", example = "04012345000016")]
    gtin: Option<String>,
    /// Only products placed on the market in this country (ISO 3166-1 alpha-2).
    #[param(value_type = Option<reetrace_core::domain::Country>)]
    country: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Items per page, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// A passport in a list.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PassportSummary {
    pub id: Uuid,
    pub uri: String,
    pub version: u32,
    pub status: PassportStatus,
    pub granularity: crate::domain::registration::Granularity,
    pub category: String,
    pub country: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gtin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lot: Option<String>,
    pub org_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Lists passports.
///
/// A manufacturer sees its own passports; regulators and admins see all. Ordered by id (the
/// order of creation), with cursor pagination.
#[utoipa::path(
    get, path = "/api/v1/passports", tag = "passports", operation_id = "listPassports",
    params(ListQuery),
    responses((status = 200, description = "One page of passports", body = Page<PassportSummary>)),
    security(("api_key" = []))
)]
async fn list(
    State(state): State<PassportState>,
    Auth(caller): Auth,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Page<PassportSummary>>, Problem> {
    caller.require(&[Role::Manufacturer, Role::Regulator, Role::Admin])?;
    let page = PageQuery {
        cursor: query.cursor.clone(),
        limit: query.limit,
    };
    let limit = page.limit()?;
    let after = page.cursor::<Uuid>()?;
    let mut errors = Vec::new();
    if let Some(c) = &query.category
        && c.parse::<reetrace_core::domain::Category>().is_err()
    {
        errors.push(FieldError::new("category", "not a product category"));
    }
    let gtin = match &query.gtin {
        Some(g) => match reetrace_core::domain::Gtin::parse(g) {
            Ok(g) => Some(g.as_str().to_owned()),
            Err(e) => {
                errors.push(FieldError::new("gtin", e.to_string()));
                None
            }
        },
        None => None,
    };
    if let Some(c) = &query.country
        && reetrace_core::domain::Country::parse(c).is_err()
    {
        errors.push(FieldError::new("country", "not an ISO 3166-1 alpha-2 code"));
    }
    if !errors.is_empty() {
        return Err(Problem::bad_request(
            reetrace_core::api::codes::INVALID_QUERY,
            "Some filters are not valid.",
        )
        .with_errors(errors));
    }
    let filter = ListFilter {
        org_id: (caller.role == Role::Manufacturer).then_some(caller.org_id),
        category: query.category,
        gtin,
        country: query.country,
    };
    let rows = state
        .service
        .store()
        .list(&filter, after, limit + 1)
        .await?;
    let items: Vec<PassportSummary> = rows
        .into_iter()
        .map(|r| PassportSummary {
            uri: state.service.row_uri(&r),
            id: r.id,
            version: r.version,
            status: r.status,
            granularity: r.granularity,
            category: r.category,
            country: r.country,
            gtin: r.gtin,
            serial: r.serial,
            lot: r.lot,
            org_id: r.org_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
        .collect();
    Ok(Json(Page::from_overfetch(items, limit, |p| {
        p.id.to_string()
    })))
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
    security((), ("api_key" = []))
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
/// readable and verifiable with its status bit set to `superseded`.
#[utoipa::path(
    put, path = "/api/v1/passports/{id}", tag = "passports", operation_id = "updatePassport",
    params(("id" = String, Path, format = Uuid, description = "The passport id"),
           ("Idempotency-Key" = Option<String>, Header, nullable = false, pattern = "^[!-~]{1,255}$", description = "Makes a retried request answer the first answer (1 to 255 visible ASCII characters)")),
    request_body = Registration,
    responses(
        (status = 200, description = "The new version", body = Issued),
        (status = 404, description = "No such passport", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The passport is not active or moved on meanwhile", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
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
        .issue_version(&caller, id, registration, &idem)
        .await?;
    respond(answer, StatusCode::OK, &idem)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct VersionQuery {
    /// A version number; the current version when absent.
    #[param(minimum = 1)]
    version: Option<u32>,
}

/// The signed credential, byte for byte as issued.
///
/// Public: anyone can verify it offline. `?version=N` gives an earlier version.
#[utoipa::path(
    get, path = "/api/v1/passports/{id}/credential", tag = "passports", operation_id = "getPassportCredential",
    params(("id" = String, Path, format = Uuid, description = "The passport id"), VersionQuery),
    responses(
        (status = 200, description = "The W3C Verifiable Credential, typed as `Accept` asks (`application/json` by default)",
            content(
                (Object = "application/json"),
                (Object = "application/vc"),
                (Object = "application/ld+json"),
            )),
        (status = 404, description = "No such passport or version", body = Problem, content_type = "application/problem+json"),
    ),
    security(())
)]
async fn get_credential(
    State(state): State<PassportState>,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<VersionQuery>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let id = parse_uuid("id", &id)?;
    let version = state
        .service
        .store()
        .version(id, query.version)
        .await?
        .ok_or_else(|| Problem::not_found(format!("No passport {id} (or no such version).")))?;
    Ok(credential_response(&headers, version.credential))
}

/// The exact credential bytes, typed as the caller asked (`application/vc`,
/// `application/ld+json`, or `application/json` by default).
pub fn credential_response(headers: &HeaderMap, credential: String) -> Response {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let content_type = if accept.contains("application/vc") {
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
    security(())
)]
async fn list_versions(
    State(state): State<PassportState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<VersionInfo>>, Problem> {
    let id = parse_uuid("id", &id)?;
    let versions = state.service.store().versions(id).await?;
    if versions.is_empty() {
        return Err(Problem::not_found(format!("No passport {id}.")));
    }
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

/// Why a status changes.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "magnet supplier recalled the batch"}))]
pub struct StatusReason {
    /// Why: 1 to 500 characters, not all blank, no control characters but line breaks.
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = r"^[^\x00-\x09\x0B-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x09\x0B-\x1F\x7F-\x9F]*$"
    )]
    pub reason: Option<String>,
}

/// A passport's status after a change.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StatusAnswer {
    pub id: Uuid,
    pub status: PassportStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub updated_at: DateTime<Utc>,
}

async fn change(
    state: PassportState,
    caller: reetrace_core::domain::Principal,
    id: String,
    headers: HeaderMap,
    body: Bytes,
    to: PassportStatus,
) -> Result<Json<StatusAnswer>, Problem> {
    let id = parse_uuid("id", &id)?;
    let reason = optional_json::<StatusReason>(&headers, &body)?.and_then(|r| r.reason);
    if let Some(r) = &reason
        && (r.trim().is_empty()
            || r.chars().count() > 500
            || r.chars().any(|c| c.is_control() && c != '\n'))
    {
        return Err(Problem::validation(vec![FieldError::new(
            "/reason",
            "the reason must be 1 to 500 printable characters",
        )]));
    }
    let row = state.service.change_status(&caller, id, to, reason).await?;
    Ok(Json(StatusAnswer {
        id: row.id,
        status: row.status,
        reason: row.status_reason,
        updated_at: row.updated_at,
    }))
}

/// Revokes a passport for good.
///
/// Owner only. Sets the revocation bit of every version's status entry; verifiers then report
/// the credential revoked.
#[utoipa::path(
    post, path = "/api/v1/passports/{id}/revoke", tag = "passports", operation_id = "revokePassport",
    params(("id" = String, Path, format = Uuid, description = "The passport id")),
    request_body(content = Option<StatusReason>, description = "Why (optional)"),
    responses(
        (status = 200, description = "Revoked", body = StatusAnswer),
        (status = 404, description = "No such passport", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already revoked", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
async fn revoke(
    State(state): State<PassportState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<StatusAnswer>, Problem> {
    change(state, caller, id, headers, body, PassportStatus::Revoked).await
}

/// Suspends a passport (reversible with `reinstate`).
///
/// Owner only. Sets the suspension bit of every version's status entry.
#[utoipa::path(
    post, path = "/api/v1/passports/{id}/suspend", tag = "passports", operation_id = "suspendPassport",
    params(("id" = String, Path, format = Uuid, description = "The passport id")),
    request_body(content = Option<StatusReason>, description = "Why (optional)"),
    responses(
        (status = 200, description = "Suspended", body = StatusAnswer),
        (status = 404, description = "No such passport", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not active", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
async fn suspend(
    State(state): State<PassportState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<StatusAnswer>, Problem> {
    change(state, caller, id, headers, body, PassportStatus::Suspended).await
}

/// Lifts a suspension.
///
/// Owner only. Clears the suspension bits.
#[utoipa::path(
    post, path = "/api/v1/passports/{id}/reinstate", tag = "passports", operation_id = "reinstatePassport",
    params(("id" = String, Path, format = Uuid, description = "The passport id")),
    request_body(content = Option<StatusReason>, description = "Why (optional)"),
    responses(
        (status = 200, description = "Active again", body = StatusAnswer),
        (status = 404, description = "No such passport", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not suspended", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = []))
)]
async fn reinstate(
    State(state): State<PassportState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<StatusAnswer>, Problem> {
    change(state, caller, id, headers, body, PassportStatus::Active).await
}
