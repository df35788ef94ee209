//! Who may see how much of a passport, and the passport cut to a caller's tier.

use chrono::{DateTime, Utc};
use reetrace_core::crypto::jcs;
use reetrace_core::domain::issuing::did;
use reetrace_core::domain::{Principal, Role};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::passport::{CredentialFormat, Passport, PassportStatus, PassportVersion, product_uri};
use super::placement::Placement;
use super::reading;
use super::registration::{DetailsAccess, Granularity};
use super::subject::{ComponentDetails, CredentialSubject, sri_sha256};
use super::untp::ProductPassport;

/// Who may see how much of a passport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// Anyone: identity, category, REE totals, dismantling information.
    Public,
    /// Recyclers: plus full component detail.
    Professional,
    /// Regulators: plus full component detail.
    Authority,
    /// The manufacturer: everything, confidential fields included.
    Owner,
}

impl Tier {
    pub fn of(caller: Option<&Principal>, owner: Uuid) -> Tier {
        match caller {
            None => Tier::Public,
            Some(p) if p.org_id == owner => Tier::Owner,
            Some(p) => match p.role {
                Role::Recycler => Tier::Professional,
                Role::Regulator | Role::Admin => Tier::Authority,
                // Another manufacturer sees what anyone sees; a service reads the feeds (which
                // carry the placement facts), nothing else; a surveyor records deposits, not
                // products.
                Role::Manufacturer | Role::Service | Role::Surveyor => Tier::Public,
            },
        }
    }

    pub fn sees_components(self) -> bool {
        self >= Tier::Professional
    }

    /// The placement declaration (market country, region, date, units) is for the owner and
    /// the authorities (regulators, admins) only; services read it in the passport feed.
    pub fn sees_placement(self) -> bool {
        self >= Tier::Authority
    }
}

/// A passport as a caller of some tier sees it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PassportView {
    pub id: Uuid,
    /// The product's resolver URL (GS1 Digital Link, or `/p/{id}`).
    pub uri: String,
    pub version: u32,
    pub status: PassportStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    pub granularity: Granularity,
    /// The tier this view was cut for.
    pub tier: Tier,
    /// The issuing organisation.
    pub org_id: Uuid,
    /// The issuer's DID.
    pub issuer: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The form of the current version's credential.
    pub format: CredentialFormat,
    /// The content of the current version in the v1 subject's shape: the signed subject of a v1
    /// credential; for v2, a reading of the signed `passport` whose market facts
    /// (`product.placed_on_market`, `product.units`) appear only for the tiers that see the
    /// placement declaration.
    pub subject: CredentialSubject,
    /// v2: the signed subject (UNTP `ProductPassport`) of the current version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passport: Option<ProductPassport>,
    /// v2: the placement declaration's facts (owner and authorities only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<Placement>,
    /// Component detail (professional tiers and the owner, or anyone when it was registered
    /// with `details_access: public`); its digest is `subject.ree_content.components_digest`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component_details: Option<ComponentDetails>,
    /// The owner's confidential fields (owner only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub confidential: Option<serde_json::Map<String, Value>>,
    pub links: PassportLinks,
}

/// The stored component details must be the document the signed subject commits to (its
/// `components_digest`, the SRI SHA-256 of their JCS form): an edited row is not served.
fn check_details(subject: &CredentialSubject, stored: &str) -> Result<(), serde_json::Error> {
    let details: Value = serde_json::from_str(stored)?;
    let canonical = jcs::canonicalize(&details)
        .map_err(|e| <serde_json::Error as serde::de::Error>::custom(e.to_string()))?;
    if sri_sha256(&canonical) != subject.ree_content.components_digest {
        return Err(<serde_json::Error as serde::de::Error>::custom(
            "its component details do not match the digest its credential signs",
        ));
    }
    Ok(())
}

/// Where to get more.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PassportLinks {
    pub credential: String,
    pub versions: String,
    pub qr_svg: String,
    pub did_document: String,
}

impl PassportView {
    /// `passport` at `version` as `caller` may see it, on the instance at `base_url`; an error
    /// when what is stored does not decode.
    pub fn cut(
        base_url: &str,
        caller: Option<&Principal>,
        passport: &Passport,
        version: &PassportVersion,
    ) -> Result<PassportView, serde_json::Error> {
        let tier = Tier::of(caller, passport.org_id);
        let credential: Value = serde_json::from_str(&version.credential)?;
        let signed = credential
            .get("credentialSubject")
            .cloned()
            .unwrap_or(Value::Null);
        let (subject, passport_subject, placement) = match version.format {
            CredentialFormat::V1 => (serde_json::from_value(signed)?, None, None),
            CredentialFormat::V2 => {
                let passport_subject: ProductPassport = serde_json::from_value(signed)?;
                let placement = match (&version.placement, tier.sees_placement()) {
                    (Some(text), true) => {
                        let declaration: Value = serde_json::from_str(text)?;
                        Some(serde_json::from_value::<Placement>(
                            declaration
                                .get("credentialSubject")
                                .cloned()
                                .unwrap_or(Value::Null),
                        )?)
                    }
                    _ => None,
                };
                let subject =
                    reading::v1_shape(&passport_subject, placement.as_ref(), passport.org_id)
                        .ok_or_else(|| {
                            <serde_json::Error as serde::de::Error>::custom(
                                "the v2 subject does not read back",
                            )
                        })?;
                (subject, Some(passport_subject), placement)
            }
        };
        check_details(&subject, &version.component_details)?;
        let component_details = if tier.sees_components() {
            Some(serde_json::from_str(&version.component_details)?)
        } else {
            public_details(&version.component_details)?
        };
        let confidential = match (&version.confidential, tier) {
            (Some(text), Tier::Owner) => Some(serde_json::from_str(text)?),
            _ => None,
        };
        let id = passport.id;
        Ok(PassportView {
            id,
            uri: product_uri(base_url, id, passport.product_ids()),
            version: passport.version,
            status: passport.status,
            status_reason: passport.status_reason.clone(),
            granularity: passport.granularity,
            tier,
            org_id: passport.org_id,
            issuer: did::org_did(base_url, passport.org_id),
            created_at: passport.created_at,
            updated_at: passport.updated_at,
            format: version.format,
            subject,
            passport: passport_subject,
            placement,
            component_details,
            confidential,
            links: PassportLinks {
                credential: format!("{base_url}/api/v1/passports/{id}/credential"),
                versions: format!("{base_url}/api/v1/passports/{id}/versions"),
                qr_svg: format!("{base_url}/api/v1/passports/{id}/qr.svg"),
                did_document: format!("{base_url}/orgs/{}/did.json", passport.org_id),
            },
        })
    }
}

/// The details document, if its manufacturer made it public (`details_access: public`).
fn public_details(stored: &str) -> Result<Option<ComponentDetails>, serde_json::Error> {
    // The stored text is JCS: a public document holds exactly this member, and text inside a
    // string cannot (its quotes are escaped). Most documents are not public: skip parsing them.
    if !stored.contains(r#""details_access":"public""#) {
        return Ok(None);
    }
    let details: ComponentDetails = serde_json::from_str(stored)?;
    Ok((details.details_access == Some(DetailsAccess::Public)).then_some(details))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::registration::Registration;
    use crate::domain::subject::ComponentDetails;

    fn stored(access: Option<&str>) -> String {
        let mut registration = crate::domain::tests::motor();
        if let Some(access) = access {
            registration["details_access"] = json!(access);
        }
        // A component text that spells the member does not make a document public.
        registration["ree_content"]["components"][0]["location"] =
            json!(r#"rotor, "details_access":"public""#);
        let registration: Registration = serde_json::from_value(registration).unwrap();
        String::from_utf8(ComponentDetails::of(&registration).canonical_bytes()).unwrap()
    }

    #[test]
    fn only_public_details_are_cut_for_the_public() {
        let public = public_details(&stored(Some("public"))).unwrap().unwrap();
        assert_eq!(public.details_access, Some(DetailsAccess::Public));
        assert!(
            public_details(&stored(Some("restricted")))
                .unwrap()
                .is_none()
        );
        assert!(public_details(&stored(None)).unwrap().is_none());
    }
}
