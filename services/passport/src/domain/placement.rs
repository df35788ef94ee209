//! The placement declaration: the market country, NUTS region, placement date and units of one
//! passport version, signed apart from the public credential by the same issuer with the same
//! key (`docs/credential.md`, section 7). The owner, the authorities and the services read it;
//! the stock service takes its placement figures from it.

use chrono::NaiveDate;
use reetrace_core::domain::issuing::status_list::status_entry;
use reetrace_core::domain::issuing::{VC_CONTEXT, credential_urn, timestamp};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
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

/// The unsigned placement declaration: same issuer, same status entries as its passport
/// version (revoking or superseding the passport does the same to it).
pub fn unsigned(
    placement: &Placement,
    issuer: &Issuer,
    declaration_id: Uuid,
    envelope: &Envelope<'_>,
) -> Value {
    json!({
        "@context": [VC_CONTEXT, format!("{}{REE_CONTEXT_V2_PATH}", envelope.base_url)],
        "id": credential_urn(declaration_id),
        "type": ["VerifiableCredential", PLACEMENT_TYPE],
        "issuer": {"id": issuer.id, "name": issuer.name},
        "validFrom": timestamp(envelope.valid_from),
        "credentialSubject": placement,
        "credentialStatus": envelope
            .status
            .iter()
            .map(|s| status_entry(envelope.base_url, s))
            .collect::<Vec<_>>(),
    })
}
