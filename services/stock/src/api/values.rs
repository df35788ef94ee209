//! The element price series and the flows valued at it.

use axum::Json;
use axum::extract::State;
use reetrace_core::api::auth::{Auth, MaybeAuth};
use reetrace_core::api::codes::{
    AUTHENTICATED, CONFLICT, FORBIDDEN, INVALID_QUERY, JSON_BODY, UNREADABLE_BODY, listed,
};
use reetrace_core::api::extract::{ApiJson, ApiQuery};
use reetrace_core::api::problem::Problem;

use super::StockState;
use super::query::ValuesQuery;
use crate::domain::prices::Prices;
use crate::service::{PricesView, ValuesAnswer};

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
