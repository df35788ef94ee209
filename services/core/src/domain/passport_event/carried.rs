//! What the passport feed carries of a v2 credential subject: the members [`super::facts`]
//! reads, each as it was signed, and nothing else. A magnet product's subject holds kilobytes
//! of composition, coatings and removal steps that no consumer of the feed reads; building
//! and dropping all of it for every event, once per consumer, was most of the feed's cost.
//! The credential itself stays with the passport service, which serves it whole.
//!
//! Every member is optional here: a subject the consumers cannot read is refused by
//! [`super::facts`], as before, and not already by the producer.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The members of a v2 credential subject that the feed's consumers read.
#[derive(Debug, Deserialize, Serialize)]
pub struct V2SubjectFacts {
    #[serde(
        rename = "granularityLevel",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    granularity: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    product: Option<ProductFacts>,
    #[serde(
        rename = "materialsProvenance",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    materials: Option<Vec<MaterialFacts>>,
    #[serde(
        rename = "circularityScorecard",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    circularity: Option<CircularityFacts>,
}

#[derive(Debug, Deserialize, Serialize)]
struct ProductFacts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<Value>,
    #[serde(
        rename = "registeredId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    registered_id: Option<Value>,
    #[serde(rename = "idScheme", default, skip_serializing_if = "Option::is_none")]
    id_scheme: Option<SchemeFacts>,
    #[serde(
        rename = "serialNumber",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    serial: Option<Value>,
    #[serde(
        rename = "batchNumber",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    lot: Option<Value>,
    #[serde(
        rename = "productCategory",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    categories: Option<Vec<CodeFacts>>,
    #[serde(
        rename = "ree:netMassGrams",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    net_mass: Option<Value>,
}

#[derive(Debug, Deserialize, Serialize)]
struct SchemeFacts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<Value>,
}

#[derive(Debug, Deserialize, Serialize)]
struct CodeFacts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    code: Option<Value>,
}

#[derive(Debug, Deserialize, Serialize)]
struct MaterialFacts {
    #[serde(
        rename = "materialType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    material_type: Option<CodeFacts>,
    #[serde(
        rename = "ree:massGrams",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    mass: Option<Value>,
    #[serde(
        rename = "ree:recycledMassGrams",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    recycled: Option<Value>,
}

#[derive(Debug, Deserialize, Serialize)]
struct CircularityFacts {
    #[serde(
        rename = "ree:useType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    use_type: Option<Value>,
    #[serde(
        rename = "ree:declaredRecycledContent",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    declared: Option<Vec<DeclaredFacts>>,
}

#[derive(Debug, Deserialize, Serialize)]
struct DeclaredFacts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    element: Option<Value>,
    #[serde(rename = "massGrams", default, skip_serializing_if = "Option::is_none")]
    mass: Option<Value>,
}
