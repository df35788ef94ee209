//! HTTP routes of the deposits service, under `/api/v1/deposits`, and the JSON-LD context of
//! its credentials (`/contexts/deposits/v1`).
//!
//! Deposit records, their assays and contents are open data, as the CRMA's databases of
//! extractive waste facilities are: every read needs no key, and no disclosure control applies.
//! Surveyors record, version and withdraw their organisation's deposits.

pub mod context;
pub mod error;
mod export;

use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRef, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use reetrace_core::api::auth::{Auth, Authenticator};
use reetrace_core::api::codes::{
    AUTHENTICATED, FORBIDDEN, IDEMPOTENT, INVALID_CURSOR, INVALID_ID, INVALID_QUERY, JSON_BODY,
    NOT_FOUND, PUBLIC, UNREADABLE_BODY, listed,
};
use reetrace_core::api::extract::{ApiJson, ApiQuery, parse_uuid};
use reetrace_core::api::idempotency::{self, Answer};
use reetrace_core::api::problem::{FieldError, Problem};
use reetrace_core::domain::{Country, Role};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::domain::deposit::{DepositInput, DepositStatus, DepositType};
use crate::service::views::{DepositPage, DepositView};
use crate::service::{DepositService, DepositVersion};
use crate::store::DepositFilter;
use error::DEPOSIT_WITHDRAWN;

/// What the deposit routes need.
#[derive(Clone)]
pub struct DepositsState {
    pub service: DepositService,
    pub auth: Arc<Authenticator>,
}

impl FromRef<DepositsState> for Arc<Authenticator> {
    fn from_ref(state: &DepositsState) -> Self {
        state.auth.clone()
    }
}

/// The deposit routes.
pub fn router() -> OpenApiRouter<DepositsState> {
    OpenApiRouter::new()
        .routes(routes!(list_deposits, create_deposit))
        .routes(routes!(export::geojson))
        .routes(routes!(export::assays_csv))
        .routes(routes!(get_deposit, put_deposit))
        .routes(routes!(deposit_versions))
        .routes(routes!(deposit_credential))
        .routes(routes!(revoke_deposit))
        .routes(routes!(context::context))
}

/// The deposit routes with what they need.
pub fn served(service: &DepositService, auth: &Arc<Authenticator>) -> OpenApiRouter {
    router().with_state(DepositsState {
        service: service.clone(),
        auth: auth.clone(),
    })
}

/// Which deposits a list or an export holds.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DepositListQuery {
    /// ISO 3166-1 alpha-2 country code.
    #[param(value_type = Option<Country>, example = "HU")]
    country: Option<Country>,
    /// Deposit type.
    #[serde(rename = "type")]
    #[param(rename = "type", value_type = Option<DepositType>)]
    deposit_type: Option<DepositType>,
    #[param(value_type = Option<DepositStatus>)]
    status: Option<DepositStatus>,
    /// The recording organisation.
    org_id: Option<Uuid>,
    /// Withdrawn deposits too (default false).
    withdrawn: Option<bool>,
    /// The `next_cursor` of the previous page.
    #[param(value_type = Option<String>, format = Uuid)]
    cursor: Option<String>,
    /// Deposits per page, 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

/// Which deposits an export holds: every one matching the filters, in one answer.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DepositExportQuery {
    /// ISO 3166-1 alpha-2 country code.
    #[param(value_type = Option<Country>, example = "HU")]
    country: Option<Country>,
    /// Deposit type.
    #[serde(rename = "type")]
    #[param(rename = "type", value_type = Option<DepositType>)]
    deposit_type: Option<DepositType>,
    #[param(value_type = Option<DepositStatus>)]
    status: Option<DepositStatus>,
    /// The recording organisation.
    org_id: Option<Uuid>,
    /// Withdrawn deposits too (default false).
    withdrawn: Option<bool>,
}

impl DepositExportQuery {
    fn filter(&self) -> DepositFilter {
        filter_of(
            self.country,
            self.deposit_type,
            self.status,
            self.org_id,
            self.withdrawn,
        )
    }
}

fn filter_of(
    country: Option<Country>,
    deposit_type: Option<DepositType>,
    status: Option<DepositStatus>,
    org_id: Option<Uuid>,
    withdrawn: Option<bool>,
) -> DepositFilter {
    DepositFilter {
        country: country.map(|c| c.code().to_owned()),
        deposit_type: deposit_type.map(|t| t.as_str().to_owned()),
        status: status.map(|s| s.as_str().to_owned()),
        org_id,
        revoked: withdrawn.unwrap_or(false),
    }
}

impl DepositListQuery {
    fn filter(&self) -> DepositFilter {
        filter_of(
            self.country,
            self.deposit_type,
            self.status,
            self.org_id,
            self.withdrawn,
        )
    }

    fn page(&self) -> Result<(Option<Uuid>, u32), Problem> {
        let limit = match self.limit {
            None => 100,
            Some(n) if (1..=crate::service::MAX_PAGE).contains(&n) => n,
            Some(_) => {
                return Err(
                    Problem::bad_request(INVALID_QUERY, "limit must be 1 to 500.")
                        .with_errors(vec![FieldError::new("limit", "1 to 500")]),
                );
            }
        };
        let after = match &self.cursor {
            None => None,
            Some(c) => Some(c.parse().map_err(|_| {
                Problem::bad_request(INVALID_CURSOR, "The cursor is not one this list gave out.")
                    .with_errors(vec![FieldError::new("cursor", "not a valid cursor")])
            })?),
        };
        Ok((after, limit))
    }
}

/// `?version=`: one version (the newest when absent).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DepositVersionQuery {
    #[param(minimum = 1)]
    version: Option<i64>,
}

fn deposit_id(id: &str) -> Result<Uuid, Problem> {
    parse_uuid("id", id)
}

fn created(view: DepositView) -> Response {
    let location = format!("/api/v1/deposits/{}", view.id);
    (
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(view),
    )
        .into_response()
}

/// The deposits, newest version of each, in id order (open data).
///
/// Filters: `country`, `type`, `status`, `org_id`; withdrawn deposits only with
/// `withdrawn=true`. Each deposit with its content per element (the sample-count-weighted
/// mean concentration of its assays, and tonnage × concentration, with standard
/// uncertainties).
#[utoipa::path(
    get, path = "/api/v1/deposits", tag = "deposits", operation_id = "listDeposits",
    params(DepositListQuery),
    responses((status = 200, description = "A page of deposits", body = DepositPage)),
    security(()),
    extensions(("x-problem-codes" = json!(listed(&[PUBLIC, &[INVALID_QUERY, INVALID_CURSOR]])))),
)]
async fn list_deposits(
    State(state): State<DepositsState>,
    ApiQuery(query): ApiQuery<DepositListQuery>,
) -> Result<Json<DepositPage>, Problem> {
    let (after, limit) = query.page()?;
    let mut found = state
        .service
        .list(&query.filter(), after, limit + 1)
        .await?;
    let more = found.len() > limit as usize;
    found.truncate(limit as usize);
    let next_cursor = more
        .then(|| found.last().map(|v| v.stored.deposit_id.to_string()))
        .flatten();
    Ok(Json(DepositPage {
        items: found.iter().map(DepositView::of).collect(),
        next_cursor,
    }))
}

/// Records a deposit (version 1), signed as a credential by the caller's organisation.
///
/// Surveyors. Retry safely with the same `Idempotency-Key`: the first answer is replayed
/// (`Idempotent-Replayed: true`), and the key with another record is a 422. Name, type, status, location (a GeoJSON point or polygon in WGS84, the country,
/// optionally the NUTS region), operator, tonnage with its estimate method and standard
/// uncertainty, years of deposition, assays (date, method, laboratory, sample count, per
/// element the concentration in ppm with its standard uncertainty). Coordinates out of range,
/// a ring that does not close or crosses itself, a concentration outside 0 to 10^6 ppm or one
/// assay's summing above it, a tonnage without a method, an element outside the periodic
/// table: 422 naming the JSON pointer.
#[utoipa::path(
    post, path = "/api/v1/deposits", tag = "deposits", operation_id = "createDeposit",
    params(("Idempotency-Key" = Option<String>, Header, nullable = false, pattern = "^[!-~]{1,255}$", description = "Makes a retried request answer the first answer (1 to 255 visible ASCII characters)")),
    request_body = DepositInput,
    responses((status = 201, description = "The deposit, version 1", body = DepositView)),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, JSON_BODY, IDEMPOTENT, &[UNREADABLE_BODY, FORBIDDEN]])))),
)]
async fn create_deposit(
    State(state): State<DepositsState>,
    Auth(caller): Auth,
    headers: HeaderMap,
    ApiJson(input): ApiJson<DepositInput>,
) -> Result<Response, Problem> {
    caller.require(&[Role::Surveyor])?;
    // The fingerprint is the record's own serialisation: the same record retried with the same
    // key replays, whatever its whitespace or key order.
    let body = serde_json::to_vec(&input).unwrap_or_default();
    let idem = idempotency::of("POST", "/api/v1/deposits", &headers, &body)?;
    let now = reetrace_core::domain::account::now();
    match state
        .service
        .create(caller.org_id, &input, now, &idem)
        .await?
    {
        Answer::Fresh(made) => Ok(created(DepositView::of(&made))),
        Answer::Replay(stored) => {
            let location = serde_json::from_str::<serde_json::Value>(&stored.body)
                .ok()
                .and_then(|v| v["id"].as_str().map(|id| format!("/api/v1/deposits/{id}")));
            let mut response = idempotency::replay(stored, &idem.fingerprint)?;
            if let Some(value) = location.and_then(|l| header::HeaderValue::from_str(&l).ok()) {
                response.headers_mut().insert(header::LOCATION, value);
            }
            Ok(response)
        }
    }
}

/// One version of a deposit (the newest by default; open data).
///
/// The record as its surveyor stated it (polygons by the right-hand rule), its content per
/// element with standard uncertainties, and the link to this version's signed credential;
/// `withdrawn_at` once the deposit was withdrawn. `?version=` reads an earlier version.
#[utoipa::path(
    get, path = "/api/v1/deposits/{id}", tag = "deposits", operation_id = "getDeposit",
    params(("id" = String, Path, format = Uuid, description = "The deposit's id"), DepositVersionQuery),
    responses(
        (status = 200, description = "The deposit", body = DepositView),
        (status = 404, description = "No deposit (or version) with this id", body = Problem, content_type = "application/problem+json"),
    ),
    security(()),
    extensions(("x-problem-codes" = json!(listed(&[PUBLIC, &[INVALID_ID, INVALID_QUERY, NOT_FOUND]])))),
)]
async fn get_deposit(
    State(state): State<DepositsState>,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<DepositVersionQuery>,
) -> Result<Json<DepositView>, Problem> {
    let read = read_version(&state, &id, query.version).await?;
    Ok(Json(DepositView::of(&read)))
}

async fn read_version(
    state: &DepositsState,
    id: &str,
    version: Option<i64>,
) -> Result<DepositVersion, Problem> {
    let id = deposit_id(id)?;
    Ok(state.service.read(id, version).await?)
}

/// Records the next version of a deposit: the body replaces the record, signed anew.
///
/// The organisation that records it (surveyors), until it is withdrawn (409
/// `deposit_withdrawn`). Earlier versions and their credentials stay readable. The same record
/// again (a retry) changes nothing and answers the current version.
#[utoipa::path(
    put, path = "/api/v1/deposits/{id}", tag = "deposits", operation_id = "putDeposit",
    params(("id" = String, Path, format = Uuid, description = "The deposit's id")),
    request_body = DepositInput,
    responses(
        (status = 200, description = "The new version", body = DepositView),
        (status = 404, description = "No deposit with this id", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The deposit was withdrawn (`deposit_withdrawn`), or another version was recorded at the same moment (`conflict`: retry)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, JSON_BODY, &[UNREADABLE_BODY, INVALID_ID, FORBIDDEN, NOT_FOUND, DEPOSIT_WITHDRAWN, reetrace_core::api::codes::CONFLICT]])))),
)]
async fn put_deposit(
    State(state): State<DepositsState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<DepositInput>,
) -> Result<Json<DepositView>, Problem> {
    caller.require(&[Role::Surveyor])?;
    let id = deposit_id(&id)?;
    let next = state
        .service
        .update(
            caller.org_id,
            id,
            &input,
            reetrace_core::domain::account::now(),
        )
        .await?;
    Ok(Json(DepositView::of(&next)))
}

/// Every version of a deposit, oldest first (open data).
///
/// Each version stays readable with its own credential after newer ones were recorded, and
/// after the deposit was withdrawn.
#[utoipa::path(
    get, path = "/api/v1/deposits/{id}/versions", tag = "deposits", operation_id = "listDepositVersions",
    params(("id" = String, Path, format = Uuid, description = "The deposit's id")),
    responses(
        (status = 200, description = "The versions", body = Vec<DepositView>),
        (status = 404, description = "No deposit with this id", body = Problem, content_type = "application/problem+json"),
    ),
    security(()),
    extensions(("x-problem-codes" = json!(listed(&[PUBLIC, &[INVALID_ID, NOT_FOUND]])))),
)]
async fn deposit_versions(
    State(state): State<DepositsState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<DepositView>>, Problem> {
    let id = deposit_id(&id)?;
    let versions = state.service.history(id).await?;
    Ok(Json(versions.iter().map(DepositView::of).collect()))
}

/// A version's signed credential (the newest by default): a W3C Verifiable Credential 2.0
/// with a Data Integrity proof (`eddsa-jcs-2022`) by the recording organisation's DID, and a
/// revocation entry in its status list.
///
/// `application/vc` (or `application/vc+ld+json`, `application/ld+json`, `application/json`
/// as `Accept` asks).
#[utoipa::path(
    get, path = "/api/v1/deposits/{id}/credential", tag = "deposits", operation_id = "getDepositCredential",
    params(("id" = String, Path, format = Uuid, description = "The deposit's id"), DepositVersionQuery),
    responses(
        (status = 200, description = "The credential", content(
            (Object = "application/vc"),
            (Object = "application/vc+ld+json"),
            (Object = "application/ld+json"),
            (Object = "application/json"),
        )),
        (status = 404, description = "No deposit (or version) with this id", body = Problem, content_type = "application/problem+json"),
    ),
    security(()),
    extensions(("x-problem-codes" = json!(listed(&[PUBLIC, &[INVALID_ID, INVALID_QUERY, NOT_FOUND]])))),
)]
async fn deposit_credential(
    State(state): State<DepositsState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<DepositVersionQuery>,
) -> Result<Response, Problem> {
    let read = read_version(&state, &id, query.version).await?;
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let content_type = [
        "application/vc+ld+json",
        "application/ld+json",
        "application/json",
    ]
    .into_iter()
    .find(|t| accept.contains(t))
    .unwrap_or("application/vc");
    Ok((
        [(header::CONTENT_TYPE, content_type)],
        read.stored.credential,
    )
        .into_response())
}

/// Withdraws a deposit: every version's credential is revoked in its status list, and the
/// deposit leaves the lists (`withdrawn=true` shows it). Withdrawing again changes nothing.
///
/// The organisation that records it (surveyors).
#[utoipa::path(
    post, path = "/api/v1/deposits/{id}/revoke", tag = "deposits", operation_id = "revokeDeposit",
    params(("id" = String, Path, format = Uuid, description = "The deposit's id")),
    responses(
        (status = 200, description = "The deposit, withdrawn", body = DepositView),
        (status = 404, description = "No deposit with this id", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, &[INVALID_ID, FORBIDDEN, NOT_FOUND]])))),
)]
async fn revoke_deposit(
    State(state): State<DepositsState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Json<DepositView>, Problem> {
    caller.require(&[Role::Surveyor])?;
    let id = deposit_id(&id)?;
    let withdrawn = state
        .service
        .revoke(caller.org_id, id, reetrace_core::domain::account::now())
        .await?;
    Ok(Json(DepositView::of(&withdrawn)))
}
