//! The placement declaration: the market country, NUTS region, placement date and units of one
//! passport version, signed apart from the public credential by the same issuer with the same
//! key (`docs/credential.md`, section 7). The owner, the authorities and the services read it;
//! the stock service takes its placement figures from it.

use chrono::NaiveDate;
use reetrace_core::domain::issuing::status_list::{StatusEntry, status_entries};
use reetrace_core::domain::issuing::{VC_CONTEXT, credential_urn, timestamp};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::credential::Envelope;
use super::registration::{Granularity, Registration};
use super::untp::{Issuer, REE_CONTEXT_V2_PATH};

/// The credential type of a placement declaration (ours).
pub const PLACEMENT_TYPE: &str = "PlacementDeclaration";

/// The placement facts of one passport version: what leaves the public credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Placement {
    /// The product URI (the passport credential's subject id).
    pub id: String,
    /// The passport credential this declaration goes with (`urn:uuid:...`).
    #[serde(rename = "ree:passportCredential")]
    pub passport_credential: String,
    #[serde(rename = "ree:passportId")]
    pub passport_id: Uuid,
    #[serde(rename = "ree:version")]
    pub version: u32,
    /// ISO 3166-1 alpha-2.
    #[serde(rename = "ree:marketCountry")]
    pub market_country: String,
    #[serde(
        rename = "ree:nutsRegion",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub nuts_region: Option<String>,
    #[serde(rename = "ree:placementDate")]
    pub placement_date: NaiveDate,
    /// Units placed: a batch's unit count, 1 for an item or a model.
    #[serde(rename = "ree:units")]
    pub units: u64,
}

impl Placement {
    /// The placement facts of a registration, for the passport credential `credential_id`.
    pub fn of(
        registration: &Registration,
        subject_id: &str,
        passport_id: Uuid,
        version: u32,
        credential_id: Uuid,
    ) -> Placement {
        let market = &registration.product.placed_on_market;
        Placement {
            id: subject_id.to_owned(),
            passport_credential: credential_urn(credential_id),
            passport_id,
            version,
            market_country: market.country.code().to_owned(),
            nuts_region: market.nuts.clone(),
            placement_date: market.date,
            units: match registration.granularity {
                Granularity::Batch => registration.product.units.unwrap_or(1),
                Granularity::Item | Granularity::Model => 1,
            },
        }
    }
}

/// The contexts of a placement declaration: VC 2.0 and ours under `base_url`.
pub fn contexts(base_url: &str) -> [String; 2] {
    [
        VC_CONTEXT.to_owned(),
        format!("{base_url}{REE_CONTEXT_V2_PATH}"),
    ]
}

/// The unsigned placement declaration, typed: issuing canonicalizes it without a `Value`.
#[derive(Debug, Clone, Serialize)]
pub struct UnsignedDeclaration<'a> {
    #[serde(rename = "@context")]
    pub context: [&'a str; 2],
    pub id: String,
    #[serde(rename = "type")]
    pub kind: [&'static str; 2],
    pub issuer: IssuerName<'a>,
    #[serde(rename = "validFrom")]
    pub valid_from: String,
    #[serde(rename = "credentialSubject")]
    pub subject: &'a Placement,
    #[serde(rename = "credentialStatus")]
    pub status: Vec<StatusEntry>,
}

/// The issuer as a placement declaration names it.
#[derive(Debug, Clone, Serialize)]
pub struct IssuerName<'a> {
    pub id: &'a str,
    pub name: &'a str,
}

/// The unsigned placement declaration: same issuer, same status entries as its passport
/// version (revoking or superseding the passport does the same to it). `contexts` are
/// [`contexts`] of the envelope's base URL.
pub fn document<'a>(
    placement: &'a Placement,
    issuer: &'a Issuer,
    declaration_id: Uuid,
    envelope: &Envelope<'_>,
    contexts: &'a [String; 2],
) -> UnsignedDeclaration<'a> {
    UnsignedDeclaration {
        context: [&contexts[0], &contexts[1]],
        id: credential_urn(declaration_id),
        kind: ["VerifiableCredential", PLACEMENT_TYPE],
        issuer: IssuerName {
            id: &issuer.id,
            name: &issuer.name,
        },
        valid_from: timestamp(envelope.valid_from),
        subject: placement,
        status: status_entries(envelope.base_url, envelope.status),
    }
}

/// The unsigned placement declaration as a JSON value.
pub fn unsigned(
    placement: &Placement,
    issuer: &Issuer,
    declaration_id: Uuid,
    envelope: &Envelope<'_>,
) -> Value {
    let contexts = contexts(envelope.base_url);
    serde_json::to_value(document(
        placement,
        issuer,
        declaration_id,
        envelope,
        &contexts,
    ))
    .unwrap_or(Value::Null)
}
