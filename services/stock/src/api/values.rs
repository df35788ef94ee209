//! The element price series and the flows valued at it.

use std::fmt::Write as _;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use reetrace_core::api::auth::{Auth, MaybeAuth};
use reetrace_core::api::codes::{
    AUTHENTICATED, CONFLICT, FORBIDDEN, INVALID_QUERY, JSON_BODY, UNREADABLE_BODY, listed,
};
use reetrace_core::api::extract::{ApiJson, ApiQuery};
use reetrace_core::api::problem::Problem;

use super::StockState;
use super::query::{ExportFormat, RankingQuery, ValuesQuery};
use crate::domain::prices::Prices;
use crate::service::bodies::FigureView;
use crate::service::{PricesView, RankingAnswer, ValuesAnswer};

/// The element price series: price points (an element or the PrNd mix, per kg of oxide or
/// metal, dated, in a currency, with its source) and exchange rates.
///
/// Open data, like the published statistics: no key needed. Version 1 is the built-in series
/// (USD per kg of oxide from the project's reference data, 2020 and 2024; the ECB's euro rates
/// of those years).
#[utoipa::path(
    get, path = "/api/v1/stock/prices", tag = "stock", operation_id = "getStockPrices",
    responses(
        (status = 200, description = "The current price series", body = PricesView),
    ),
    security((), ("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED])))),
)]
pub(super) async fn get_prices(
    State(state): State<StockState>,
    MaybeAuth(_caller): MaybeAuth,
) -> Result<Json<PricesView>, Problem> {
    Ok(Json(state.service.prices().await?.as_ref().clone()))
}

/// Sets a new price series (a new version; the previous ones stay on record).
///
/// Regulators and admins. The body is the whole series. Every price and rate is positive and
/// names its source; a mix (`PrNd`) names its shares of Nd and Pr, summing to 1.
#[utoipa::path(
    put, path = "/api/v1/stock/prices", tag = "stock", operation_id = "putStockPrices",
    request_body = Prices,
    responses(
        (status = 200, description = "The new version", body = PricesView),
    ),
    security(("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, JSON_BODY, &[UNREADABLE_BODY, FORBIDDEN, CONFLICT]])))),
)]
pub(super) async fn put_prices(
    State(state): State<StockState>,
    Auth(caller): Auth,
    ApiJson(prices): ApiJson<Prices>,
) -> Result<Json<PricesView>, Problem> {
    Ok(Json(
        state
            .service
            .set_prices(&caller, prices)
            .await?
            .as_ref()
            .clone(),
    ))
}

/// The flows valued at the element prices, by element.
///
/// Each row is a flows row (same filters, basis, years and `group_by`, always by element, and
/// by year unless `price_date` is given) with its mass, its value at the element's price of the
/// row's year (or of `price_date`; the nearest point of the series when it has none of that
/// year, flagged `nearest`), and its value at the least and the greatest price of the series, so
/// that volatility shows. Oxide prices count per kg of element by stoichiometry; a PrNd price
/// applies to Nd and Pr alike. Elements the series has no price for have no value
/// (`unpriced_elements`). Values are published exactly where the masses are (a withheld mass
/// has a withheld value); who sees what is as for the flows.
#[utoipa::path(
    get, path = "/api/v1/stock/values", tag = "stock", operation_id = "getStockValues",
    params(ValuesQuery),
    responses(
        (status = 200, description = "The valued flows", body = ValuesAnswer),
    ),
    security((), ("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, &[FORBIDDEN, INVALID_QUERY]])))),
)]
pub(super) async fn values(
    State(state): State<StockState>,
    MaybeAuth(caller): MaybeAuth,
    ApiQuery(query): ApiQuery<ValuesQuery>,
) -> Result<Json<ValuesAnswer>, Problem> {
    let scope = state.service.scope_of(caller.as_ref())?;
    let request = query.parse()?;
    Ok(Json(state.service.values(scope, &request).await?))
}

/// The product categories ranked by the value of their rare earths, in one year.
///
/// Per category: the value of the rare earths reaching end of life (modelled, every element at
/// its price, as `/values` prices it) per tonne of product reaching end of life (the products'
/// net mass placed on the market, from the passports, run through the same survival curves),
/// with the range over the price series; and the value recovered (the recycled flow, observed,
/// valued). Rows are ranked by value per tonne (`rank_per_tonne`), and carry their rank by value
/// recovered (`rank_recovered`). In the published statistics a value per tonne is given only
/// where both its masses are published (`rule`); authorities see every figure exactly, an
/// organisation its own. Units placed on the market before the stock service kept the net mass
/// have none: `mass_complete` says whether a category has any (`units_without_mass`, how many,
/// for authorities and the organisation's own figures). `format=csv` answers the rows as CSV.
#[utoipa::path(
    get, path = "/api/v1/stock/values/ranking", tag = "stock", operation_id = "getStockValueRanking",
    params(RankingQuery),
    responses(
        (status = 200, description = "The ranking (CSV with format=csv)",
         content(
            (RankingAnswer = "application/json"),
            (String = "text/csv", example = "rank_per_tonne,rank_recovered,category,eol_worth,eol_worth_min,eol_worth_max,eol_product_t,eol_worth_per_t,eol_worth_per_t_min,eol_worth_per_t_max,recovered_worth,recovered_worth_min,recovered_worth_max,withheld,mass_complete,units_without_mass,year,country,currency,prices_version\n1,,ev_traction_motor,61.2,42.1,61.2,0.0962,636.2,437.6,636.2,0,0,0,,true,,2026,,EUR,1\n"),
         )),
    ),
    security((), ("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, &[FORBIDDEN, INVALID_QUERY]])))),
)]
pub(super) async fn ranking(
    State(state): State<StockState>,
    MaybeAuth(caller): MaybeAuth,
    ApiQuery(query): ApiQuery<RankingQuery>,
) -> Result<Response, Problem> {
    let scope = state.service.scope_of(caller.as_ref())?;
    let (request, format) = query.parse()?;
    let answer = state.service.ranking(scope, &request).await?;
    Ok(match format {
        ExportFormat::Json => Json(answer).into_response(),
        ExportFormat::Csv => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"reetrace-ranking.csv\"",
                ),
            ],
            ranking_csv(&answer),
        )
            .into_response(),
    })
}

/// The ranking as CSV: a withheld or undefined figure is an empty cell, and `withheld` names
/// the withheld ones (space-separated).
fn ranking_csv(answer: &RankingAnswer) -> String {
    const FIGURES: [&str; 10] = [
        "eol_worth",
        "eol_worth_min",
        "eol_worth_max",
        "eol_product_t",
        "eol_worth_per_t",
        "eol_worth_per_t_min",
        "eol_worth_per_t_max",
        "recovered_worth",
        "recovered_worth_min",
        "recovered_worth_max",
    ];
    let mut out = format!(
        "rank_per_tonne,rank_recovered,category,{},withheld,mass_complete,units_without_mass,\
         year,country,currency,prices_version\n",
        FIGURES.join(",")
    );
    let text = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
    for r in &answer.rows {
        let figures = [
            r.eol_worth,
            r.eol_worth_min,
            r.eol_worth_max,
            r.eol_product_t,
            r.eol_worth_per_t,
            r.eol_worth_per_t_min,
            r.eol_worth_per_t_max,
            r.recovered_worth,
            r.recovered_worth_min,
            r.recovered_worth_max,
        ];
        let _ = write!(
            out,
            "{},{},{}",
            text(r.rank_per_tonne.map(u64::from)),
            text(r.rank_recovered.map(u64::from)),
            r.category.as_str()
        );
        for figure in figures {
            match figure {
                FigureView::Value(v) => {
                    let _ = write!(out, ",{v}");
                }
                _ => out.push(','),
            }
        }
        let withheld: Vec<&str> = FIGURES
            .iter()
            .zip(figures)
            .filter(|(_, f)| f.is_suppressed())
            .map(|(name, _)| *name)
            .collect();
        let _ = writeln!(
            out,
            ",{},{},{},{},{},{},{}",
            withheld.join(" "),
            r.mass_complete,
            text(r.units_without_mass),
            answer.year,
            answer.country.map(|c| c.to_string()).unwrap_or_default(),
            answer.currency,
            answer.prices_version
        );
    }
    out
}
