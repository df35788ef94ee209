//! What the deposit routes answer: a version of a record with its content per element, and
//! the rows of the exports (GeoJSON features, assay CSV).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use uuid::Uuid;

use super::DepositVersion;
use crate::domain::assay::Assay;
use crate::domain::deposit::{Deposit, DepositStatus, DepositType, Deposition, TonnageMethod};
use crate::domain::exact::Exact;

/// One element of a deposit: the weighted mean of its assays and the mass it gives.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ContentView {
    #[schema(example = "Nd")]
    pub element: &'static str,
    /// Samples behind the concentration (the assays that reported the element).
    pub samples: u64,
    /// Sample-count-weighted mean, ppm (g/t).
    pub concentration_ppm: f64,
    /// Its standard uncertainty (1σ), ppm.
    pub concentration_uncertainty_ppm: f64,
    /// Tonnage × concentration, kg.
    pub content_kg: f64,
    /// Its standard uncertainty (1σ), kg.
    pub content_uncertainty_kg: f64,
    /// Whether `concentration_ppm` and `content_kg` are the exact values (false when a mean's
    /// decimals do not end within 15 significant digits, and the figure is rounded to them).
    pub exact: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TonnageView {
    pub tonnes: f64,
    pub uncertainty_tonnes: f64,
    pub method: TonnageMethod,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LocationView {
    /// GeoJSON geometry (RFC 7946, WGS84), polygons by the right-hand rule.
    #[schema(value_type = Object)]
    pub geometry: Value,
    #[schema(example = "HU")]
    pub country: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nuts: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OperatorView {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub identifier: Option<Value>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConcentrationView {
    pub element: &'static str,
    pub ppm: f64,
    pub uncertainty_ppm: f64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AssayView {
    #[schema(value_type = String, format = Date)]
    pub sampled_on: String,
    pub method: String,
    pub laboratory: String,
    pub sample_count: u32,
    pub concentrations: Vec<ConcentrationView>,
}

/// One version of a deposit record.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DepositView {
    pub id: Uuid,
    pub version: i64,
    /// The organisation that records it.
    pub org_id: Uuid,
    /// When this version was recorded.
    pub recorded_at: DateTime<Utc>,
    /// When the deposit was withdrawn (every version's credential revoked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub withdrawn_at: Option<DateTime<Utc>>,
    pub name: String,
    #[serde(rename = "type")]
    pub deposit_type: DepositType,
    pub status: DepositStatus,
    pub location: LocationView,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operator: Option<OperatorView>,
    pub tonnage: TonnageView,
    pub deposition: Deposition,
    pub assays: Vec<AssayView>,
    /// Per element any assay reported, in atomic-number order.
    pub content: Vec<ContentView>,
    /// An illustration (the demo's), not a survey's data.
    pub illustrative: bool,
    /// This version's signed credential.
    pub credential: String,
}

/// The deposits of a list page.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DepositPage {
    pub items: Vec<DepositView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

fn number(x: Exact) -> f64 {
    x.to_f64()
}

fn assay_view(a: &Assay) -> AssayView {
    AssayView {
        sampled_on: a.sampled_on.to_string(),
        method: a.method.clone(),
        laboratory: a.laboratory.clone(),
        sample_count: a.sample_count,
        concentrations: a
            .concentrations
            .iter()
            .map(|c| ConcentrationView {
                element: c.element.symbol(),
                ppm: number(c.ppm),
                uncertainty_ppm: c.uncertainty_ppm,
            })
            .collect(),
    }
}

/// The content lines of a deposit (empty when its figures cannot be computed exactly, which
/// its check at recording rules out).
pub fn content_views(deposit: &Deposit) -> Vec<ContentView> {
    let Ok(content) = deposit.content() else {
        return Vec::new();
    };
    content
        .into_iter()
        .filter_map(|(element, c)| {
            let kg = c.content.value.checked_div_int(1000).ok()?;
            Some(ContentView {
                element: element.symbol(),
                samples: c.samples,
                concentration_ppm: number(c.concentration.value),
                concentration_uncertainty_ppm: c.concentration.uncertainty,
                content_kg: number(kg),
                content_uncertainty_kg: c.content.uncertainty / 1000.0,
                exact: c.concentration.value.is_exact_in_json() && kg.is_exact_in_json(),
            })
        })
        .collect()
}

impl DepositView {
    pub fn of(v: &DepositVersion) -> DepositView {
        let d = &v.deposit;
        let id = v.stored.deposit_id;
        DepositView {
            id,
            version: v.stored.version,
            org_id: v.stored.org_id,
            recorded_at: v.stored.created_at,
            withdrawn_at: v.stored.revoked_at,
            name: d.name.clone(),
            deposit_type: d.deposit_type,
            status: d.status,
            location: LocationView {
                geometry: d.geometry.to_geojson(),
                country: d.country.code().to_owned(),
                nuts: d.nuts.clone(),
            },
            operator: d.operator.as_ref().map(|(name, identifier)| OperatorView {
                name: name.clone(),
                identifier: identifier.as_ref().map(|i| json!(i)),
            }),
            tonnage: TonnageView {
                tonnes: number(d.tonnage.value),
                uncertainty_tonnes: d.tonnage.uncertainty,
                method: d.method,
            },
            deposition: d.deposition,
            assays: d.assays.iter().map(assay_view).collect(),
            content: content_views(d),
            illustrative: d.illustrative,
            credential: format!(
                "/api/v1/deposits/{id}/credential?version={}",
                v.stored.version
            ),
        }
    }

    /// The deposit as a GeoJSON feature (RFC 7946 §3.2): its geometry, and as properties
    /// everything else but the assays (in the CSV).
    pub fn feature(&self) -> Value {
        let mut properties = json!(self);
        if let Some(map) = properties.as_object_mut() {
            let geometry = map
                .get_mut("location")
                .and_then(|l| l.as_object_mut())
                .and_then(|l| l.remove("geometry"));
            map.remove("assays");
            return json!({
                "type": "Feature",
                "id": self.id.to_string(),
                "geometry": geometry,
                "properties": map,
            });
        }
        Value::Null
    }
}
