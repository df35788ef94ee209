//! HTTP routes of the stock service, under `/api/v1/stock`.

pub mod error;
mod query;
mod scenarios;
mod secondary;
mod values;

use std::fmt::Write as _;
use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRef, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use reetrace_core::api::auth::{Auth, Authenticator, MaybeAuth};
use reetrace_core::api::codes::{
    AUTHENTICATED, CONFLICT, FORBIDDEN, INVALID_QUERY, JSON_BODY, UNREADABLE_BODY, listed,
};
use reetrace_core::api::extract::{ApiJson, ApiQuery};
use reetrace_core::api::problem::Problem;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::parameters::Parameters;
use crate::domain::scenario::{Scenario, ScenarioResult};
use crate::service::StockService;
use crate::service::bodies::{
    ExportAnswer, FlowsAnswer, IndicatorsAnswer, ParametersView, SankeyAnswer,
};
use query::{ExportFormat, ExportQuery, FlowsQuery, IndicatorsQuery, SankeyQuery};

/// What the stock routes need.
#[derive(Clone)]
pub struct StockState {
    pub service: StockService,
    pub auth: Arc<Authenticator>,
}

impl FromRef<StockState> for Arc<Authenticator> {
    fn from_ref(state: &StockState) -> Self {
        state.auth.clone()
    }
}

/// The stock routes.
pub fn router() -> OpenApiRouter<StockState> {
    OpenApiRouter::new()
        .routes(routes!(flows))
        .routes(routes!(indicators))
        .routes(routes!(sankey))
        .routes(routes!(export))
        .routes(routes!(run_model))
        .routes(routes!(get_parameters, put_parameters))
        .routes(routes!(values::get_prices, values::put_prices))
        .routes(routes!(values::values))
        .routes(routes!(values::ranking))
        .routes(routes!(secondary::secondary_resources))
        .merge(scenarios::router())
}

/// Urban-mine flows by year, country, category and element.
///
/// Observed flows come from passports (placed on market, recycled content, by market year)
/// and custody events (collected, sorted, dismantled, recycling input, recycled, destroyed,
/// exported, losses, by event year), attributed to the product's category and market country;
/// modelled flows (placed on market with its extrapolation, stock in use, end-of-life outflow)
/// come from the dynamic stock model and name their `parameters_version`. Values in kg.
///
/// Without a key, the published statistics (open data) with disclosure control: a figure built
/// from fewer than k organisations, and enough others to protect it, say `"suppressed": true`
/// without a value. Regulators and admins see every figure exactly (an authority's reads are
/// audited). Manufacturers see their own products' figures, recyclers their own throughput.
#[utoipa::path(
    get, path = "/api/v1/stock/flows", tag = "stock", operation_id = "getStockFlows",
    params(FlowsQuery),
    responses(
        (status = 200, description = "The flows", body = FlowsAnswer),
    ),
    security((), ("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, &[FORBIDDEN, INVALID_QUERY]])))),
)]
async fn flows(
    State(state): State<StockState>,
    MaybeAuth(caller): MaybeAuth,
    ApiQuery(query): ApiQuery<FlowsQuery>,
) -> Result<Json<FlowsAnswer>, Problem> {
    let scope = state.service.scope_of(caller.as_ref())?;
    let request = query.parse()?;
    Ok(Json(state.service.flows(scope, &request).await?))
}

/// Urban-mine indicators per year (UNEP 2011 definitions).
///
/// Stock in use and end-of-life generated (modelled), collection rate, recovery yield,
/// end-of-life recycling rate, recycled content, and the split between concentrated and
/// dispersed uses. `definitions` in the answer states each formula. A rate is withheld when a
/// figure it is made of is, and null when its denominator is zero.
#[utoipa::path(
    get, path = "/api/v1/stock/indicators", tag = "stock", operation_id = "getStockIndicators",
    params(IndicatorsQuery),
    responses(
        (status = 200, description = "The indicators", body = IndicatorsAnswer),
    ),
    security((), ("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, &[FORBIDDEN, INVALID_QUERY]])))),
)]
async fn indicators(
    State(state): State<StockState>,
    MaybeAuth(caller): MaybeAuth,
    ApiQuery(query): ApiQuery<IndicatorsQuery>,
) -> Result<Json<IndicatorsAnswer>, Problem> {
    let scope = state.service.scope_of(caller.as_ref())?;
    let request = query.parse()?;
    Ok(Json(state.service.indicators(scope, &request).await?))
}

/// The flows of one year as a Sankey diagram, with the mass balance of each node.
///
/// From placing on the market through use, end of life, collection, sorting, dismantling and
/// recycling to secondary material, with losses, destruction and export. `balance` states, for
/// each node, what went in, what came out and what the difference stands for.
#[utoipa::path(
    get, path = "/api/v1/stock/sankey", tag = "stock", operation_id = "getStockSankey",
    params(SankeyQuery),
    responses(
        (status = 200, description = "Nodes, links and the mass balance", body = SankeyAnswer),
    ),
    security((), ("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, &[FORBIDDEN, INVALID_QUERY]])))),
)]
async fn sankey(
    State(state): State<StockState>,
    MaybeAuth(caller): MaybeAuth,
    ApiQuery(query): ApiQuery<SankeyQuery>,
) -> Result<Json<SankeyAnswer>, Problem> {
    let scope = state.service.scope_of(caller.as_ref())?;
    let request = query.parse()?;
    Ok(Json(state.service.sankey(scope, &request).await?))
}

/// The tidy long table for material-flow models.
///
/// Columns: the dimensions kept by `group_by` (default `year,country,category,element`), then
/// `flow,basis,value,unit,parameters_version,coarser_group_by`; one row per cell, ready for
/// flodym/ODYM-style models and Sankey tools (the README shows a flodym run on it). A withheld
/// cell has an empty `value`, and `coarser_group_by` names the next coarser grain whose row
/// holding it is published; when rows are withheld, a `Link: <...>; rel="alternate"` header
/// (and `coarser` in JSON) offers the export at the grain most of them fall back to.
/// Coarser rows are the same protected subtotals every answer reads. `format=json` answers
/// the same rows as JSON.
#[utoipa::path(
    get, path = "/api/v1/stock/export.csv", tag = "stock", operation_id = "exportStock",
    params(ExportQuery),
    responses(
        (status = 200, description = "The rows as CSV (or JSON with format=json)",
         headers(("Link" = String, description = "When rows are withheld: the export at the coarser grain most of them fall back to, rel=\"alternate\"")),
         content(
            (String = "text/csv", example = "year,country,category,element,flow,basis,value,unit,parameters_version,coarser_group_by\n2024,FR,ev_traction_motor,Nd,placed_on_market,observed,0.3375,kg,,\n2024,IT,ev_traction_motor,Nd,placed_on_market,observed,,kg,,\"year,category,element\"\n"),
            (ExportAnswer = "application/json"),
         )),
    ),
    security((), ("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, &[FORBIDDEN, INVALID_QUERY]])))),
)]
async fn export(
    State(state): State<StockState>,
    MaybeAuth(caller): MaybeAuth,
    ApiQuery(query): ApiQuery<ExportQuery>,
) -> Result<Response, Problem> {
    let scope = state.service.scope_of(caller.as_ref())?;
    let (request, format) = query.parse()?;
    let answer = state
        .service
        .export(scope, &request, format == ExportFormat::Json)
        .await?;
    let link = answer.coarser.as_ref().map(|c| {
        format!(
            "<{}>; rel=\"alternate\"; title=\"group_by={}\"",
            c.href, c.group_by
        )
    });
    let mut response = match format {
        ExportFormat::Json => Json(answer).into_response(),
        ExportFormat::Csv => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"reetrace-stock.csv\"",
                ),
            ],
            csv(&answer),
        )
            .into_response(),
    };
    if let Some(value) = link.and_then(|l| header::HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(header::LINK, value);
    }
    Ok(response)
}

/// The rows as CSV. Codes and numbers need no quoting; a `coarser_group_by` with more than one
/// dimension holds commas and is quoted.
fn csv(answer: &ExportAnswer) -> String {
    let mut out = String::with_capacity(72 * (answer.rows.len() + 1));
    for dim in &answer.group_by {
        out.push_str(dim);
        out.push(',');
    }
    out.push_str("flow,basis,value,unit,parameters_version,coarser_group_by");
    let valued = answer.currency.as_deref();
    if valued.is_some() {
        out.push_str(",worth,worth_min,worth_max,currency,price_per_kg,price_date,prices_version");
    }
    out.push('\n');
    for r in &answer.rows {
        let dims = [
            r.year.map(|y| y.to_string()),
            r.country.map(|c| c.to_string()),
            r.category.map(|c| c.to_string()),
            r.element.map(|e| e.to_string()),
        ];
        for d in dims.into_iter().flatten() {
            out.push_str(&d);
            out.push(',');
        }
        let value = r.value.map(|v| v.to_string()).unwrap_or_default();
        let version = r
            .parameters_version
            .map(|v| v.to_string())
            .unwrap_or_default();
        let coarser = match r.coarser_group_by.as_deref() {
            Some(g) if g.contains(',') => format!("\"{g}\""),
            Some(g) => g.to_owned(),
            None => String::new(),
        };
        let _ = write!(
            out,
            "{},{},{},{},{},{}",
            r.flow,
            r.basis.as_str(),
            value,
            r.unit,
            version,
            coarser
        );
        if let Some(currency) = valued {
            let text = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
            let _ = write!(
                out,
                ",{},{},{},{currency},{},{},{}",
                text(r.worth),
                text(r.worth_min),
                text(r.worth_max),
                text(r.price_per_kg),
                r.price_date.map(|d| d.to_string()).unwrap_or_default(),
                answer.prices_version.unwrap_or_default()
            );
        }
        out.push('\n');
    }
    out
}

/// Runs the dynamic stock model on a scenario (a pure calculation).
///
/// Regulators and admins. Explicit years, a lifetime per category (any names: fixed, normal,
/// weibull, or lognormal given by the mean and standard deviation of the lifetime itself),
/// inflow series per category and element, and when in the year inflow enters (`middle` by
/// default, as flodym). Answers stock and end-of-life outflow per year for each series, in the
/// inflow's unit. At most 200 years and 20,000 series; a bad value is a 422 naming its JSON
/// pointer.
#[utoipa::path(
    post, path = "/api/v1/stock/model", tag = "stock", operation_id = "runStockModel",
    request_body = Scenario,
    responses(
        (status = 200, description = "Stock and outflow per series and year", body = ScenarioResult),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, JSON_BODY, &[UNREADABLE_BODY, FORBIDDEN]])))),
)]
async fn run_model(
    State(state): State<StockState>,
    Auth(caller): Auth,
    ApiJson(scenario): ApiJson<Scenario>,
) -> Result<Json<ScenarioResult>, Problem> {
    Ok(Json(state.service.run_scenario(&caller, scenario).await?))
}

/// The current model parameters and their version.
///
/// Lifetimes per category, inflow timing, horizon and extrapolation rule; `defaults` says where
/// each built-in lifetime comes from. Every modelled figure names the version it was made with.
#[utoipa::path(
    get, path = "/api/v1/stock/parameters", tag = "stock", operation_id = "getStockParameters",
    responses(
        (status = 200, description = "The current parameters", body = ParametersView),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, &[FORBIDDEN]])))),
)]
async fn get_parameters(
    State(state): State<StockState>,
    Auth(caller): Auth,
) -> Result<Json<ParametersView>, Problem> {
    state.service.scope_of(Some(&caller))?;
    Ok(Json(state.service.parameters().await?.view.clone()))
}

/// Sets new model parameters (a new version).
///
/// Regulators and admins. The body is the whole parameter set: every category needs a
/// lifetime. The previous versions stay on record; modelled figures from now on name the new
/// version.
#[utoipa::path(
    put, path = "/api/v1/stock/parameters", tag = "stock", operation_id = "putStockParameters",
    request_body = Parameters,
    responses(
        (status = 200, description = "The new version", body = ParametersView),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, JSON_BODY, &[UNREADABLE_BODY, FORBIDDEN, CONFLICT]])))),
)]
async fn put_parameters(
    State(state): State<StockState>,
    Auth(caller): Auth,
    ApiJson(parameters): ApiJson<Parameters>,
) -> Result<Json<ParametersView>, Problem> {
    Ok(Json(
        state
            .service
            .set_parameters(&caller, parameters)
            .await?
            .view
            .clone(),
    ))
}
