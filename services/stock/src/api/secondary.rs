//! `GET /api/v1/stock/secondary-resources`: the urban mine and the residue deposits side by
//! side, as JSON or as CSV.

use std::fmt::Write as _;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use reetrace_core::api::auth::MaybeAuth;
use reetrace_core::api::codes::{AUTHENTICATED, FORBIDDEN, INVALID_QUERY, listed};
use reetrace_core::api::extract::ApiQuery;
use reetrace_core::api::problem::Problem;
use reetrace_core::domain::{Country, TrackedElement};
use serde::Deserialize;
use utoipa::IntoParams;

use super::StockState;
use super::query::{ExportFormat, country, format, parse, year};
use crate::service::bodies::FigureView;
use crate::service::{SecondaryAnswer, SecondaryRequest};

/// Query parameters of `GET /api/v1/stock/secondary-resources`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SecondaryQuery {
    /// The year of the urban-mine figures (1900-2200); default: this year.
    #[param(value_type = Option<i32>, minimum = 1900, maximum = 2200)]
    year: Option<String>,
    /// One country (ISO 3166-1 alpha-2): the market country of products, the country of
    /// deposits; all when absent.
    #[param(value_type = Option<Country>)]
    country: Option<String>,
    /// One element (a rare earth, or `B`, `Co`, `Ni`); all of them when absent.
    #[param(value_type = Option<TrackedElement>)]
    element: Option<String>,
    /// `json` (default) or `csv`.
    #[param(value_type = Option<String>, pattern = "^(json|csv)$")]
    format: Option<String>,
}

impl SecondaryQuery {
    fn parse(&self) -> Result<(SecondaryRequest, ExportFormat), Problem> {
        let format = format(&self.format, ExportFormat::Json)?;
        Ok((
            SecondaryRequest {
                year: year("year", &self.year)?,
                country: country(&self.country)?,
                element: parse::<TrackedElement>("element", &self.element)?,
            },
            format,
        ))
    }
}

/// Both secondary resources of rare earths per country and element: the urban mine and the
/// residue deposits.
///
/// Per country and element (the rare earths and the magnet materials B, Co, Ni): the urban
/// mine's modelled stock in use and end-of-life outflow in `year` (as `/flows` answers them,
/// with the same disclosure control and scopes), beside the content of the residue deposits
/// recorded there (coal ash, bauxite residue, tailings...; open data, never withheld), in all
/// and by deposit type and status, with its standard uncertainty; `totals` per element over
/// every country. `rule` states how each figure is made. `format=csv` answers the country
/// rows as CSV, one line per resource (`stock_in_use`, `end_of_life`, and `in_deposits` per
/// deposit type and status); a withheld figure is an empty `value` with `suppressed` true.
#[utoipa::path(
    get, path = "/api/v1/stock/secondary-resources", tag = "stock", operation_id = "getStockSecondaryResources",
    params(SecondaryQuery),
    responses(
        (status = 200, description = "Both resources (CSV with format=csv)",
         content(
            (SecondaryAnswer = "application/json"),
            (String = "text/csv", example = "year,country,element,resource,deposit_type,status,value,uncertainty,suppressed,deposits,illustrative,unit\n2026,GR,Nd,stock_in_use,,,12.5,,false,,,kg\n2026,GR,Nd,in_deposits,bauxite_residue,active,910000,91000,false,1,0,kg\n"),
         )),
    ),
    security((), ("api_key" = [])),
    extensions(("x-problem-codes" = json!(listed(&[AUTHENTICATED, &[FORBIDDEN, INVALID_QUERY]])))),
)]
pub(super) async fn secondary_resources(
    State(state): State<StockState>,
    MaybeAuth(caller): MaybeAuth,
    ApiQuery(query): ApiQuery<SecondaryQuery>,
) -> Result<Response, Problem> {
    let scope = state.service.scope_of(caller.as_ref())?;
    let (request, format) = query.parse()?;
    let answer = state.service.secondary_resources(scope, &request).await?;
    Ok(match format {
        ExportFormat::Json => Json(answer).into_response(),
        ExportFormat::Csv => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"reetrace-secondary-resources.csv\"",
                ),
            ],
            csv(&answer),
        )
            .into_response(),
    })
}

/// The country rows as CSV, one line per resource. Codes and numbers need no quoting.
fn csv(answer: &SecondaryAnswer) -> String {
    let mut out = String::from(
        "year,country,element,resource,deposit_type,status,value,uncertainty,suppressed,\
         deposits,illustrative,unit\n",
    );
    let year = answer.year;
    for row in &answer.rows {
        let country = row.country.map(|c| c.to_string()).unwrap_or_default();
        let element = row.element;
        for (resource, figure) in [
            ("stock_in_use", row.stock_in_use),
            ("end_of_life", row.end_of_life),
        ] {
            let value = match figure {
                FigureView::Value(v) => v.to_string(),
                FigureView::Undefined | FigureView::Suppressed => String::new(),
            };
            let _ = writeln!(
                out,
                "{year},{country},{element},{resource},,,{value},,{},,,kg",
                figure.is_suppressed()
            );
        }
        for kind in &row.by_deposit {
            let _ = writeln!(
                out,
                "{year},{country},{element},in_deposits,{},{},{},{},false,{},{},kg",
                kind.deposit_type,
                kind.status,
                kind.sum.value,
                kind.sum.uncertainty,
                kind.sum.deposits,
                kind.sum.illustrative
            );
        }
    }
    out
}
