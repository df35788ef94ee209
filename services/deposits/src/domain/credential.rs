//! A deposit record as a W3C Verifiable Credential (VC Data Model 2.0), before it is secured.
//!
//! One credential per version of a record, issued by the recording organisation's DID. Its
//! subject states the record as received (normalised: trimmed texts, polygons by the
//! right-hand rule, assays' elements in atomic-number order) and the content per element the
//! assays give, so that a verifier needs nothing else to check the figures. Terms beyond the
//! VC context are defined by our context, served at [`CONTEXT_PATH`]
//! (`schemas/contexts/deposits-v1.jsonld`), and camelCase as in the passport credentials.

use chrono::{DateTime, Utc};
use reetrace_core::domain::issuing::status_list::StatusEntry;
use reetrace_core::domain::issuing::{VC_CONTEXT, credential_urn, timestamp};
use serde_json::{Value, json};
use uuid::Uuid;

use super::assay::Assay;
use super::deposit::{Deposit, ElementContent};
use super::exact::{Exact, ExactError};

/// The credential's type beside `VerifiableCredential`.
pub const CREDENTIAL_TYPE: &str = "ResidueDepositCredential";

/// The path (under the public base URL) of the JSON-LD context of the credential's terms.
pub const CONTEXT_PATH: &str = "/contexts/deposits/v1";

/// What a version's credential names besides the record.
#[derive(Debug, Clone)]
pub struct Issue<'a> {
    pub credential_id: Uuid,
    pub deposit_id: Uuid,
    pub version: i64,
    /// The public base URL: the subject's id is `<base>/deposits/<id>`.
    pub base_url: &'a str,
    pub issuer: &'a str,
    pub at: DateTime<Utc>,
    pub status: Vec<StatusEntry>,
}

/// The subject's id: the deposit's page on this instance.
pub fn deposit_url(base_url: &str, deposit_id: Uuid) -> String {
    format!("{base_url}/deposits/{deposit_id}")
}

fn number(x: Exact) -> Value {
    json!(x.to_f64())
}

fn assay(a: &Assay) -> Value {
    let concentrations: Vec<Value> = a
        .concentrations
        .iter()
        .map(|c| {
            json!({
                "element": c.element.symbol(),
                "ppm": number(c.ppm),
                "uncertaintyPpm": c.uncertainty_ppm,
            })
        })
        .collect();
    json!({
        "sampledOn": a.sampled_on.to_string(),
        "method": a.method,
        "laboratory": a.laboratory,
        "sampleCount": a.sample_count,
        "concentrations": concentrations,
    })
}

/// One element's line of the content: mean concentration (ppm) and content (kg), each with
/// its standard uncertainty.
pub fn content_line(symbol: &str, c: &ElementContent) -> Result<Value, ExactError> {
    let kg = c.content.value.checked_div_int(1000)?;
    Ok(json!({
        "element": symbol,
        "samples": c.samples,
        "concentrationPpm": number(c.concentration.value),
        "concentrationUncertaintyPpm": c.concentration.uncertainty,
        "contentKg": number(kg),
        "contentUncertaintyKg": c.content.uncertainty / 1000.0,
    }))
}

/// The unsigned credential of one version of `deposit`.
pub fn unsigned(deposit: &Deposit, issue: &Issue<'_>) -> Result<Value, ExactError> {
    let content = deposit
        .content()?
        .iter()
        .map(|(element, c)| content_line(element.symbol(), c))
        .collect::<Result<Vec<_>, _>>()?;
    let mut location = json!({
        "geometry": deposit.geometry.to_geojson(),
        "country": deposit.country.code(),
    });
    if let Some(nuts) = &deposit.nuts {
        location["nuts"] = json!(nuts);
    }
    let mut subject = json!({
        "id": deposit_url(issue.base_url, issue.deposit_id),
        "type": "ResidueDeposit",
        "version": issue.version,
        "name": deposit.name,
        "depositType": deposit.deposit_type,
        "status": deposit.status,
        "location": location,
        "tonnage": {
            "tonnes": number(deposit.tonnage.value),
            "uncertaintyTonnes": deposit.tonnage.uncertainty,
            "method": deposit.method,
        },
        "deposition": deposit.deposition,
        "assays": deposit.assays.iter().map(assay).collect::<Vec<_>>(),
        "content": content,
        "illustrative": deposit.illustrative,
    });
    if let Some((name, identifier)) = &deposit.operator {
        subject["operator"] = json!({"name": name, "identifier": identifier});
    }
    Ok(json!({
        "@context": [VC_CONTEXT, format!("{}{CONTEXT_PATH}", issue.base_url)],
        "id": credential_urn(issue.credential_id),
        "type": ["VerifiableCredential", CREDENTIAL_TYPE],
        "issuer": issue.issuer,
        "validFrom": timestamp(issue.at),
        "credentialSubject": subject,
        "credentialStatus": issue.status,
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::domain::deposit::DepositInput;

    #[test]
    fn the_subject_states_the_record_and_its_content() {
        let input: DepositInput = serde_json::from_value(json!({
            "name": "Ash lagoon 2",
            "type": "fly_ash",
            "status": "active",
            "location": {"geometry": {"type": "Point", "coordinates": [23.1, 42.2]}, "country": "BG"},
            "tonnage": {"tonnes": 1_200_000.5, "uncertainty_tonnes": 100_000, "method": "operator_records"},
            "deposition": {"from": 1985},
            "assays": [{"sampled_on": "2024-09-01", "method": "ICP-MS", "laboratory": "Lab",
                        "sample_count": 4,
                        "concentrations": [{"element": "Ce", "ppm": 80, "uncertainty_ppm": 5}]}],
            "illustrative": true
        }))
        .unwrap();
        let deposit =
            Deposit::parse(&input, NaiveDate::from_ymd_opt(2026, 12, 7).unwrap()).unwrap();
        let id = Uuid::from_u128(7);
        let issue = Issue {
            credential_id: Uuid::from_u128(8),
            deposit_id: id,
            version: 1,
            base_url: "https://reetrace.example",
            issuer: "did:web:reetrace.example:orgs:x",
            at: DateTime::parse_from_rfc3339("2026-12-07T10:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
            status: Vec::new(),
        };
        let vc = unsigned(&deposit, &issue).unwrap();
        assert_eq!(vc["type"][1], CREDENTIAL_TYPE);
        assert_eq!(
            vc["@context"][1],
            "https://reetrace.example/contexts/deposits/v1"
        );
        assert_eq!(vc["validFrom"], "2026-12-07T10:00:00Z");
        let s = &vc["credentialSubject"];
        assert_eq!(s["id"], format!("https://reetrace.example/deposits/{id}"));
        assert_eq!(s["depositType"], "fly_ash");
        assert_eq!(s["tonnage"]["tonnes"], 1_200_000.5);
        assert_eq!(s["illustrative"], true);
        assert!(s.get("operator").is_none());
        // 1,200,000.5 t × 80 g/t = 96,000,040 g = 96,000.04 kg.
        assert_eq!(s["content"][0]["element"], "Ce");
        assert_eq!(s["content"][0]["contentKg"], 96_000.04);
        assert_eq!(s["assays"][0]["concentrations"][0]["uncertaintyPpm"], 5.0);
    }
}
