//! The scenario routes, under `/api/v1/stock/scenarios`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use reetrace_core::api::auth::Auth;
use reetrace_core::api::codes::{
    AUTHENTICATED, BAD_REQUEST, CONFLICT, FORBIDDEN, INVALID_ID, INVALID_QUERY, JSON_BODY,
    NOT_FOUND, UNREADABLE_BODY, listed,
};
use reetrace_core::api::extract::{ApiJson, ApiQuery, parse_uuid};
use reetrace_core::api::problem::{FieldError, Problem};
use serde::Deserialize;
use std::fmt::Write as _;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::StockState;
use crate::domain::levers::ScenarioDefinition;
use crate::service::scenario_bodies::{
    ScenarioAnswer, ScenarioComparison, ScenarioList, ScenarioView,
};
use crate::service::scenarios::MAX_COMPARED;

/// The scenario routes.
pub fn router() -> OpenApiRouter<StockState> {
    OpenApiRouter::new()
        .routes(routes!(list_scenarios, create_scenario))
        .routes(routes!(compare_scenarios))
        .routes(routes!(compare_scenarios_csv))
        .routes(routes!(get_scenario, put_scenario))
        .routes(routes!(scenario_results))
}

/// `?version=`: one version of a scenario (the newest when absent).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct VersionQuery {
    /// A version number (1, 2, ...); the newest when absent.
    #[param(minimum = 1)]
    version: Option<i64>,
}

/// `?ids=`: the scenarios to set beside the baseline.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CompareQuery {
    /// One to four scenario ids, separated by commas.
    #[param(pattern = "^[0-9A-Fa-f-]{36}(,[0-9A-Fa-f-]{36}){0,3}$")]
    ids: String,
}

fn scenario_id(id: &str) -> Result<Uuid, Problem> {
    parse_uuid("id", id)
}

/// The scenarios the caller may read, newest version of each.
///
/// Regulators and admins: their organisation's scenarios and those other authorities shared
/// (admins: every one).
#[utoipa::path(
    get, path = "/api/v1/stock/scenarios", tag = "stock", operation_id = "listStockScenarios",
    responses((status = 200, description = "The scenarios", body = ScenarioList)),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, &[FORBIDDEN]])))),
)]
async fn list_scenarios(
    State(state): State<StockState>,
    Auth(caller): Auth,
) -> Result<Json<ScenarioList>, Problem> {
    Ok(Json(state.service.list_scenarios(&caller).await?))
}

/// Creates a scenario (version 1), owned by the caller's organisation.
///
/// Regulators and admins. A name, whether other authorities may read it (`shared`), and
/// levers on the observed baseline, each from a year on, per product category (and element
/// where it applies): `lifetime` (a new distribution, or a `factor` stretching the lifetime of
/// the cohorts entering from `from` on), `collection_rate` and `recovery_yield` (a `target`
/// reached in `by`, in equal steps from the baseline), `thrifting` (content per new product
/// times `factor`), `substitution` (a `share` of new products without rare earths), `demand`
/// (inflow `growth` per year after the observed years, instead of the flat forecast). A lever
/// year outside the model's years, a share outside [0, 1], a factor making content negative or
/// an unknown category or element is a 422 naming the JSON pointer.
#[utoipa::path(
    post, path = "/api/v1/stock/scenarios", tag = "stock", operation_id = "createStockScenario",
    request_body = ScenarioDefinition,
    responses((status = 201, description = "The scenario, version 1", body = ScenarioView)),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, JSON_BODY, &[UNREADABLE_BODY, FORBIDDEN]])))),
)]
async fn create_scenario(
    State(state): State<StockState>,
    Auth(caller): Auth,
    ApiJson(definition): ApiJson<ScenarioDefinition>,
) -> Result<(StatusCode, Json<ScenarioView>), Problem> {
    let created = state.service.create_scenario(&caller, definition).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// One version of a scenario (the newest by default).
///
/// Its owner, the other authorities when it is shared, admins; 404 for anyone else.
#[utoipa::path(
    get, path = "/api/v1/stock/scenarios/{id}", tag = "stock", operation_id = "getStockScenario",
    params(("id" = String, Path, format = Uuid, description = "The scenario's id"), VersionQuery),
    responses(
        (status = 200, description = "The scenario", body = ScenarioView),
        (status = 404, description = "No scenario with this id (or version) that the caller may read", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, &[BAD_REQUEST, INVALID_ID, INVALID_QUERY, FORBIDDEN, NOT_FOUND]])))),
)]
async fn get_scenario(
    State(state): State<StockState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<VersionQuery>,
) -> Result<Json<ScenarioView>, Problem> {
    let id = scenario_id(&id)?;
    Ok(Json(
        state
            .service
            .get_scenario(&caller, id, query.version)
            .await?,
    ))
}

/// Changes a scenario: the body is stored as its next version.
///
/// The owner's organisation (or an admin) only; shared scenarios are read-only to the others
/// (403). A new version rather than a new scenario, so that the id other authorities follow
/// and compare stays the same while every earlier version stays readable (`?version=`).
#[utoipa::path(
    put, path = "/api/v1/stock/scenarios/{id}", tag = "stock", operation_id = "putStockScenario",
    params(("id" = String, Path, format = Uuid, description = "The scenario's id")),
    request_body = ScenarioDefinition,
    responses(
        (status = 200, description = "The new version", body = ScenarioView),
        (status = 404, description = "No scenario with this id (or version) that the caller may read", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, JSON_BODY, &[UNREADABLE_BODY, BAD_REQUEST, INVALID_ID, FORBIDDEN, NOT_FOUND, CONFLICT]])))),
)]
async fn put_scenario(
    State(state): State<StockState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    ApiJson(definition): ApiJson<ScenarioDefinition>,
) -> Result<Json<ScenarioView>, Problem> {
    let id = scenario_id(&id)?;
    Ok(Json(
        state
            .service
            .update_scenario(&caller, id, definition)
            .await?,
    ))
}

/// A scenario's results, computed now against the current observed data.
///
/// Per year and element, in kg: placed on the market, stock in use, end-of-life flow,
/// collected, recovered (secondary supply) and secondary supply / placed on the market, with
/// an indicative comparison to the CRMA 25 % benchmark for Nd, Pr, Dy and Tb (see
/// `benchmark.caveat`: the benchmark is about EU recycling capacity against EU consumption).
/// Exact figures; names the data revision and parameter version used and the baseline rates.
#[utoipa::path(
    get, path = "/api/v1/stock/scenarios/{id}/results", tag = "stock", operation_id = "getStockScenarioResults",
    params(("id" = String, Path, format = Uuid, description = "The scenario's id"), VersionQuery),
    responses(
        (status = 200, description = "The results", body = ScenarioAnswer),
        (status = 404, description = "No scenario with this id (or version) that the caller may read", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, &[BAD_REQUEST, INVALID_ID, INVALID_QUERY, FORBIDDEN, NOT_FOUND]])))),
)]
async fn scenario_results(
    State(state): State<StockState>,
    Auth(caller): Auth,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<VersionQuery>,
) -> Result<Json<ScenarioAnswer>, Problem> {
    let id = scenario_id(&id)?;
    Ok(Json(
        state
            .service
            .scenario_results(&caller, id, query.version)
            .await?,
    ))
}

/// The baseline and one to four scenarios side by side.
///
/// `scenarios[0]` is the baseline (the observed data with the flat forecast and the baseline
/// rates), then each scenario of `ids` in its newest version, all computed against the same
/// data revision.
#[utoipa::path(
    get, path = "/api/v1/stock/scenarios/compare", tag = "stock", operation_id = "compareStockScenarios",
    params(CompareQuery),
    responses(
        (status = 200, description = "The baseline, then each scenario", body = ScenarioComparison),
        (status = 404, description = "One of the ids is no scenario the caller may read", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, &[INVALID_QUERY, FORBIDDEN, NOT_FOUND]])))),
)]
async fn compare_scenarios(
    State(state): State<StockState>,
    Auth(caller): Auth,
    ApiQuery(query): ApiQuery<CompareQuery>,
) -> Result<Json<ScenarioComparison>, Problem> {
    let ids = compared_ids(&query)?;
    Ok(Json(state.service.compare_scenarios(&caller, &ids).await?))
}

/// The baseline and one to four scenarios side by side, as one tidy CSV table.
///
/// The rows of `GET /scenarios/compare` (same access, same `ids`), one line per scenario, year
/// and element: `scenario` (`baseline` or the scenario's name), `id`, `version`, `year`,
/// `element`, the flows in kg, `secondary_supply_ratio` (empty when nothing was placed on the
/// market), `reaches_benchmark` (the indicative CRMA 25 % comparison, for Nd, Pr, Dy and Tb
/// only), and the `data_revision` and `parameters_version` the figures were computed with.
#[utoipa::path(
    get, path = "/api/v1/stock/scenarios/compare.csv", tag = "stock", operation_id = "exportStockScenarioComparison",
    params(CompareQuery),
    responses(
        (status = 200, description = "The baseline, then each scenario, as CSV",
         content((String = "text/csv", example = "scenario,id,version,year,element,placed_on_market,stock_in_use,eol_generated,collected,recovered,secondary_supply_ratio,reaches_benchmark,data_revision,parameters_version\nbaseline,,,2030,Dy,12.5,80.1,3.2,1.9,1.7,0.136,false,42,1\n"))),
        (status = 404, description = "One of the ids is no scenario the caller may read", body = Problem, content_type = "application/problem+json"),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, &[INVALID_QUERY, FORBIDDEN, NOT_FOUND]])))),
)]
async fn compare_scenarios_csv(
    State(state): State<StockState>,
    Auth(caller): Auth,
    ApiQuery(query): ApiQuery<CompareQuery>,
) -> Result<Response, Problem> {
    let ids = compared_ids(&query)?;
    let comparison = state.service.compare_scenarios(&caller, &ids).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"reetrace-scenarios.csv\"",
            ),
        ],
        comparison_csv(&comparison),
    )
        .into_response())
}

/// The comparison as CSV (see [`compare_scenarios_csv`]).
fn comparison_csv(comparison: &ScenarioComparison) -> String {
    let mut out = String::from(
        "scenario,id,version,year,element,placed_on_market,stock_in_use,eol_generated,\
         collected,recovered,secondary_supply_ratio,reaches_benchmark,data_revision,\
         parameters_version\n",
    );
    let basis = &comparison.basis;
    for scenario in &comparison.scenarios {
        let name = if scenario.id.is_none() {
            "baseline".to_owned()
        } else {
            reetrace_core::csv::text(&scenario.name)
        };
        let id = scenario.id.map(|i| i.to_string()).unwrap_or_default();
        let version = scenario.version.map(|v| v.to_string()).unwrap_or_default();
        for r in &scenario.rows {
            let _ = writeln!(
                out,
                "{name},{id},{version},{},{},{},{},{},{},{},{},{},{},{}",
                r.year,
                r.element,
                r.placed_on_market,
                r.stock_in_use,
                r.eol_generated,
                r.collected,
                r.recovered,
                r.secondary_supply_ratio
                    .map(|v| v.to_string())
                    .unwrap_or_default(),
                r.reaches_benchmark
                    .map(|v| v.to_string())
                    .unwrap_or_default(),
                basis.data_revision,
                basis.parameters_version
            );
        }
    }
    out
}

/// The ids of `?ids=`: one to four UUIDs.
fn compared_ids(query: &CompareQuery) -> Result<Vec<Uuid>, Problem> {
    let invalid = |detail: String| {
        Problem::bad_request(INVALID_QUERY, format!("Query parameter ids: {detail}"))
            .with_errors(vec![FieldError::new("ids", detail)])
    };
    let parts: Vec<&str> = query.ids.split(',').map(str::trim).collect();
    if parts.is_empty() || parts.len() > MAX_COMPARED || parts.iter().any(|p| p.is_empty()) {
        return Err(invalid(format!(
            "one to {MAX_COMPARED} scenario ids separated by commas"
        )));
    }
    let mut ids = Vec::with_capacity(parts.len());
    for part in parts {
        ids.push(
            part.parse::<Uuid>()
                .map_err(|_| invalid(format!("{part:?} is not a UUID")))?,
        );
    }
    Ok(ids)
}
