//! Query parameters of the stock routes: read as text, then parsed one by one so that a bad
//! value is a 400 problem naming the parameter.

use std::str::FromStr;

use reetrace_core::api::problem::{FieldError, Problem};
use reetrace_core::domain::{Category, Country, TrackedElement};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::domain::flow::Flow;
use crate::domain::table::{Key, Materials};
use crate::service::{
    BasisChoice, ExportRequest, FlowRequest, IndicatorRequest, PriceChoice, RankingRequest,
    SankeyRequest, ValuesRequest, grain_of,
};

/// The years a query may name.
pub const YEARS: std::ops::RangeInclusive<i32> = 1900..=2200;

pub(super) fn invalid(name: &str, detail: impl Into<String>) -> Problem {
    let detail = detail.into();
    Problem::bad_request(
        reetrace_core::api::codes::INVALID_QUERY,
        format!("Query parameter {name}: {detail}"),
    )
    .with_errors(vec![FieldError::new(name, detail)])
}

pub(super) fn parse<T: FromStr>(name: &str, value: &Option<String>) -> Result<Option<T>, Problem>
where
    T::Err: std::fmt::Display,
{
    value
        .as_deref()
        .map(|v| v.parse::<T>().map_err(|e| invalid(name, e.to_string())))
        .transpose()
}

pub(super) fn country(value: &Option<String>) -> Result<Option<Country>, Problem> {
    value
        .as_deref()
        .map(|v| Country::parse(v).map_err(|e| invalid("country", e.to_string())))
        .transpose()
}

pub(super) fn year(name: &str, value: &Option<String>) -> Result<Option<i32>, Problem> {
    let Some(text) = value.as_deref() else {
        return Ok(None);
    };
    let year: i32 = text
        .parse()
        .map_err(|_| invalid(name, format!("must be a year such as 2024, got {text:?}")))?;
    if !YEARS.contains(&year) {
        return Err(invalid(
            name,
            format!("must be between 1900 and 2200, got {year}"),
        ));
    }
    Ok(Some(year))
}

fn years(
    from: &Option<String>,
    to: &Option<String>,
) -> Result<(Option<i32>, Option<i32>), Problem> {
    let (from, to) = (year("year_from", from)?, year("year_to", to)?);
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(invalid(
            "year_to",
            format!("must not be before year_from ({f}), got {t}"),
        ));
    }
    Ok((from, to))
}

fn basis(value: &Option<String>, default: BasisChoice) -> Result<BasisChoice, Problem> {
    match value.as_deref() {
        None => Ok(default),
        Some("observed") => Ok(BasisChoice::Observed),
        Some("modelled") => Ok(BasisChoice::Modelled),
        Some("both") => Ok(BasisChoice::Both),
        Some(other) => Err(invalid(
            "basis",
            format!("must be observed, modelled or both, got {other:?}"),
        )),
    }
}

/// `(year, country, category, element)` flags of a `group_by` list.
fn group_by(value: &Option<String>, default: &str) -> Result<[bool; 4], Problem> {
    let text = value.as_deref().unwrap_or(default);
    let mut on = [false; 4];
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let i = match part {
            "year" => 0,
            "country" => 1,
            "category" => 2,
            "element" => 3,
            other => {
                return Err(invalid(
                    "group_by",
                    format!("{other:?} is not one of year, country, category, element"),
                ));
            }
        };
        if on[i] {
            return Err(invalid("group_by", format!("{part} is named twice")));
        }
        on[i] = true;
    }
    Ok(on)
}

/// The single-value filters; `materials` (`ree`, the default, or `magnet`) chooses which
/// elements "all elements" means, and must agree with `element` when both are given.
fn filter(
    q_country: &Option<String>,
    q_category: &Option<String>,
    q_element: &Option<String>,
    q_materials: &Option<String>,
) -> Result<Key, Problem> {
    let element = parse::<TrackedElement>("element", q_element)?;
    let materials = match q_materials.as_deref() {
        None => None,
        Some(text) => Some(Materials::parse(text).ok_or_else(|| {
            invalid(
                "materials",
                format!("must be ree (the rare earths) or magnet (B, Co, Ni), got {text:?}"),
            )
        })?),
    };
    if let (Some(e), Some(m)) = (element, materials)
        && Materials::of(e) != m
    {
        return Err(invalid(
            "materials",
            format!("{e} is not one of the {} materials", m.as_str()),
        ));
    }
    Ok(Key::filter(
        country(q_country)?,
        parse::<Category>("category", q_category)?,
        element,
        materials.unwrap_or_default(),
    ))
}

/// Query parameters of `GET /api/v1/stock/flows`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FlowsQuery {
    /// One element (`Nd`, `Dy`..., or a magnet material `B`, `Co`, `Ni`); all rare earths when
    /// absent.
    #[param(value_type = Option<TrackedElement>)]
    element: Option<String>,
    /// `ree` (default): the rare earths, whose total is "all REE" when `element` is absent
    /// (never with B, Co or Ni); `magnet`: the magnet materials besides them (B, Co, Ni), each
    /// on its own and their own total. Naming a magnet material in `element` implies `magnet`.
    #[param(value_type = Option<String>, pattern = "^(ree|magnet)$")]
    materials: Option<String>,
    /// One product category (`ev_traction_motor`...); all when absent.
    #[param(value_type = Option<Category>)]
    category: Option<String>,
    /// One market country (ISO 3166-1 alpha-2); all when absent.
    #[param(value_type = Option<Country>)]
    country: Option<String>,
    /// One flow (`placed_on_market`, `collected`, `stock_in_use`...); all when absent.
    #[param(value_type = Option<Flow>)]
    flow: Option<String>,
    /// First year (1900-2200); default: the first year with figures.
    #[param(value_type = Option<i32>, minimum = 1900, maximum = 2200)]
    year_from: Option<String>,
    /// Last year (1900-2200); default: the last observed year, or the horizon with modelled
    /// figures.
    #[param(value_type = Option<i32>, minimum = 1900, maximum = 2200)]
    year_to: Option<String>,
    /// Comma-separated dimensions rows are broken down by: any of `year,country,category,element`
    /// (default `year`; empty for totals only).
    #[param(value_type = Option<String>, pattern = "^((year|country|category|element)(,(year|country|category|element))*)?$")]
    group_by: Option<String>,
    /// `observed` (default), `modelled` or `both`.
    #[param(value_type = Option<String>, pattern = "^(observed|modelled|both)$")]
    basis: Option<String>,
}

impl FlowsQuery {
    pub fn parse(&self) -> Result<FlowRequest, Problem> {
        let [by_year, c, k, e] = group_by(&self.group_by, "year")?;
        let (year_from, year_to) = years(&self.year_from, &self.year_to)?;
        Ok(FlowRequest {
            filter: filter(
                &self.country,
                &self.category,
                &self.element,
                &self.materials,
            )?,
            flow: parse::<Flow>("flow", &self.flow)?,
            year_from,
            year_to,
            group: grain_of(c, k, e),
            by_year,
            basis: basis(&self.basis, BasisChoice::Observed)?,
        })
    }
}

/// Query parameters of `GET /api/v1/stock/indicators`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct IndicatorsQuery {
    /// One element (a rare earth, or `B`, `Co`, `Ni`); all REEs together when absent.
    #[param(value_type = Option<TrackedElement>)]
    element: Option<String>,
    /// `ree` (default): the rare earths, whose total is "all REE" when `element` is absent
    /// (never with B, Co or Ni); `magnet`: the magnet materials besides them (B, Co, Ni), each
    /// on its own and their own total. Naming a magnet material in `element` implies `magnet`.
    #[param(value_type = Option<String>, pattern = "^(ree|magnet)$")]
    materials: Option<String>,
    /// One product category; all when absent.
    #[param(value_type = Option<Category>)]
    category: Option<String>,
    /// One market country; all when absent.
    #[param(value_type = Option<Country>)]
    country: Option<String>,
    /// First year (1900-2200); default: the first observed year.
    #[param(value_type = Option<i32>, minimum = 1900, maximum = 2200)]
    year_from: Option<String>,
    /// Last year (1900-2200), up to the horizon for the modelled stock; default: the last
    /// observed year.
    #[param(value_type = Option<i32>, minimum = 1900, maximum = 2200)]
    year_to: Option<String>,
    /// Comma-separated dimensions besides the year: any of `country,category,element`.
    #[param(value_type = Option<String>, pattern = "^((year|country|category|element)(,(year|country|category|element))*)?$")]
    group_by: Option<String>,
}

impl IndicatorsQuery {
    pub fn parse(&self) -> Result<IndicatorRequest, Problem> {
        let [_, c, k, e] = group_by(&self.group_by, "")?;
        let (year_from, year_to) = years(&self.year_from, &self.year_to)?;
        Ok(IndicatorRequest {
            filter: filter(
                &self.country,
                &self.category,
                &self.element,
                &self.materials,
            )?,
            year_from,
            year_to,
            group: grain_of(c, k, e),
        })
    }
}

/// Query parameters of `GET /api/v1/stock/sankey`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SankeyQuery {
    /// The year (required, 1900-2200).
    #[param(value_type = i32, required = true, minimum = 1900, maximum = 2200)]
    year: Option<String>,
    /// One element (a rare earth, or `B`, `Co`, `Ni`); all REEs together when absent.
    #[param(value_type = Option<TrackedElement>)]
    element: Option<String>,
    /// `ree` (default): the rare earths, whose total is "all REE" when `element` is absent
    /// (never with B, Co or Ni); `magnet`: the magnet materials besides them (B, Co, Ni), each
    /// on its own and their own total. Naming a magnet material in `element` implies `magnet`.
    #[param(value_type = Option<String>, pattern = "^(ree|magnet)$")]
    materials: Option<String>,
    /// One product category; all when absent.
    #[param(value_type = Option<Category>)]
    category: Option<String>,
    /// One market country; all when absent.
    #[param(value_type = Option<Country>)]
    country: Option<String>,
}

impl SankeyQuery {
    pub fn parse(&self) -> Result<SankeyRequest, Problem> {
        let year = year("year", &self.year)?.ok_or_else(|| invalid("year", "is required"))?;
        Ok(SankeyRequest {
            year,
            filter: filter(
                &self.country,
                &self.category,
                &self.element,
                &self.materials,
            )?,
        })
    }
}

/// Query parameters of `GET /api/v1/stock/export.csv`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// One element (a rare earth, or `B`, `Co`, `Ni`); all rare earths when absent.
    #[param(value_type = Option<TrackedElement>)]
    element: Option<String>,
    /// `ree` (default): the rare earths, whose total is "all REE" when `element` is absent
    /// (never with B, Co or Ni); `magnet`: the magnet materials besides them (B, Co, Ni), each
    /// on its own and their own total. Naming a magnet material in `element` implies `magnet`.
    #[param(value_type = Option<String>, pattern = "^(ree|magnet)$")]
    materials: Option<String>,
    /// One product category; all when absent.
    #[param(value_type = Option<Category>)]
    category: Option<String>,
    /// One market country; all when absent.
    #[param(value_type = Option<Country>)]
    country: Option<String>,
    /// One flow; all when absent.
    #[param(value_type = Option<Flow>)]
    flow: Option<String>,
    /// First year (1900-2200).
    #[param(value_type = Option<i32>, minimum = 1900, maximum = 2200)]
    year_from: Option<String>,
    /// Last year (1900-2200).
    #[param(value_type = Option<i32>, minimum = 1900, maximum = 2200)]
    year_to: Option<String>,
    /// Comma-separated dimensions to keep: any of `year,country,category,element` (default all
    /// four; the others are summed, as `/flows` sums them). A coarser table withholds fewer
    /// rows; a withheld row names in `coarser_group_by` the next coarser grain that publishes
    /// the row holding it.
    #[param(value_type = Option<String>, pattern = "^((year|country|category|element)(,(year|country|category|element))*)?$")]
    group_by: Option<String>,
    /// `observed`, `modelled` or `both` (default).
    #[param(value_type = Option<String>, pattern = "^(observed|modelled|both)$")]
    basis: Option<String>,
    /// `csv` (default) or `json` (the same rows).
    #[param(value_type = Option<String>, pattern = "^(csv|json)$")]
    format: Option<String>,
    /// Adds the rows' values in this ISO 4217 currency (as `GET /values`: at the element's
    /// price of the row's year, or of `price_date`, with the range over the series); needs
    /// `element` in `group_by`.
    #[param(value_type = Option<String>, pattern = "^[A-Z]{3}$")]
    currency: Option<String>,
    /// With values: price every row at this date instead of at its year (needed when `year`
    /// is not in `group_by`).
    #[param(value_type = Option<String>, format = Date)]
    price_date: Option<String>,
}

/// The export's media type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Json,
}

/// `format=json|csv`, `default` when absent.
pub(super) fn format(
    value: &Option<String>,
    default: ExportFormat,
) -> Result<ExportFormat, Problem> {
    match value.as_deref() {
        None => Ok(default),
        Some("csv") => Ok(ExportFormat::Csv),
        Some("json") => Ok(ExportFormat::Json),
        Some(other) => Err(invalid(
            "format",
            format!("must be json or csv, got {other:?}"),
        )),
    }
}

impl ExportQuery {
    pub fn parse(&self) -> Result<(ExportRequest, ExportFormat), Problem> {
        let format = format(&self.format, ExportFormat::Csv)?;
        let (year_from, year_to) = years(&self.year_from, &self.year_to)?;
        let [by_year, c, k, e] = group_by(&self.group_by, "year,country,category,element")?;
        let price = if self.currency.is_some() || self.price_date.is_some() {
            let (currency, date) = pricing(&self.currency, &self.price_date)?;
            if !e {
                return Err(invalid(
                    "currency",
                    "values are by element (prices differ by element): add element to group_by",
                ));
            }
            if !by_year && date.is_none() {
                return Err(invalid(
                    "price_date",
                    "without year in group_by, values need a price_date to price at",
                ));
            }
            Some(PriceChoice { currency, date })
        } else {
            None
        };
        Ok((
            ExportRequest {
                filter: filter(
                    &self.country,
                    &self.category,
                    &self.element,
                    &self.materials,
                )?,
                flow: parse::<Flow>("flow", &self.flow)?,
                year_from,
                year_to,
                group: grain_of(c, k, e),
                by_year,
                basis: basis(&self.basis, BasisChoice::Both)?,
                price,
            },
            format,
        ))
    }
}

/// `currency` (default `USD`) and `price_date`, checked.
fn pricing(
    currency: &Option<String>,
    price_date: &Option<String>,
) -> Result<(String, Option<chrono::NaiveDate>), Problem> {
    let currency = currency.clone().unwrap_or_else(|| "USD".to_owned());
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(invalid(
            "currency",
            format!("must be an ISO 4217 code of three capitals (USD, EUR), got {currency:?}"),
        ));
    }
    let price_date = price_date
        .as_deref()
        .map(|text| {
            chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
                invalid(
                    "price_date",
                    format!("must be a date such as 2024-06-30, got {text:?}"),
                )
            })
        })
        .transpose()?;
    Ok((currency, price_date))
}

/// Query parameters of `GET /api/v1/stock/values`: those of the flows, and how to price.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ValuesQuery {
    /// One element (a rare earth, or `B`, `Co`, `Ni`); all rare earths when absent.
    #[param(value_type = Option<TrackedElement>)]
    element: Option<String>,
    /// `ree` (default): the rare earths, whose total is "all REE" when `element` is absent
    /// (never with B, Co or Ni); `magnet`: the magnet materials besides them (B, Co, Ni), each
    /// on its own and their own total. Naming a magnet material in `element` implies `magnet`.
    #[param(value_type = Option<String>, pattern = "^(ree|magnet)$")]
    materials: Option<String>,
    /// One product category; all when absent.
    #[param(value_type = Option<Category>)]
    category: Option<String>,
    /// One market country (ISO 3166-1 alpha-2); all when absent.
    #[param(value_type = Option<Country>)]
    country: Option<String>,
    /// One flow; all when absent.
    #[param(value_type = Option<Flow>)]
    flow: Option<String>,
    /// First year (1900-2200); default as the flows.
    #[param(value_type = Option<i32>, minimum = 1900, maximum = 2200)]
    year_from: Option<String>,
    /// Last year (1900-2200); default as the flows.
    #[param(value_type = Option<i32>, minimum = 1900, maximum = 2200)]
    year_to: Option<String>,
    /// Comma-separated dimensions as the flows' `group_by`; `element` is always added, and
    /// `year` unless `price_date` is given.
    #[param(value_type = Option<String>, pattern = "^((year|country|category|element)(,(year|country|category|element))*)?$")]
    group_by: Option<String>,
    /// `observed` (default), `modelled` or `both`.
    #[param(value_type = Option<String>, pattern = "^(observed|modelled|both)$")]
    basis: Option<String>,
    /// ISO 4217 code the values are in (default `USD`, the built-in series' currency); points in
    /// another currency are converted at the series' exchange rates.
    #[param(value_type = Option<String>, pattern = "^[A-Z]{3}$")]
    currency: Option<String>,
    /// Price every row at this date (`2024-06-30`) instead of at its own year's price.
    #[param(value_type = Option<String>, format = Date)]
    price_date: Option<String>,
}

impl ValuesQuery {
    pub fn parse(&self) -> Result<ValuesRequest, Problem> {
        let (currency, price_date) = pricing(&self.currency, &self.price_date)?;
        let flows = FlowsQuery {
            element: self.element.clone(),
            materials: self.materials.clone(),
            category: self.category.clone(),
            country: self.country.clone(),
            flow: self.flow.clone(),
            year_from: self.year_from.clone(),
            year_to: self.year_to.clone(),
            group_by: self.group_by.clone(),
            basis: self.basis.clone(),
        };
        Ok(ValuesRequest {
            flows: flows.parse()?,
            currency,
            price_date,
        })
    }
}

/// Query parameters of `GET /api/v1/stock/values/ranking`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RankingQuery {
    /// The year (1900-2200); default: the last observed year.
    #[param(value_type = Option<i32>, minimum = 1900, maximum = 2200)]
    year: Option<String>,
    /// One market country (ISO 3166-1 alpha-2); all when absent.
    #[param(value_type = Option<Country>)]
    country: Option<String>,
    /// ISO 4217 code the values are in (default `USD`).
    #[param(value_type = Option<String>, pattern = "^[A-Z]{3}$")]
    currency: Option<String>,
    /// Price at this date (`2024-06-30`) instead of at the year's price.
    #[param(value_type = Option<String>, format = Date)]
    price_date: Option<String>,
    /// `json` (default) or `csv`.
    #[param(value_type = Option<String>, pattern = "^(json|csv)$")]
    format: Option<String>,
}

impl RankingQuery {
    pub fn parse(&self) -> Result<(RankingRequest, ExportFormat), Problem> {
        let format = format(&self.format, ExportFormat::Json)?;
        let (currency, price_date) = pricing(&self.currency, &self.price_date)?;
        Ok((
            RankingRequest {
                year: year("year", &self.year)?,
                country: country(&self.country)?,
                currency,
                price_date,
            },
            format,
        ))
    }
}
