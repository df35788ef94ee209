//! What a passport's magnet label says (CRMA art. 28(1)), read from its current version as the
//! public sees it: the magnet types, the resolver URL, the identifier, the manufacturer and the
//! responsible person's address.

use reetrace_core::domain::Country;
use uuid::Uuid;

use super::PassportService;
use super::error::{PassportError, Result};
use crate::domain::passport::Passport;
use crate::domain::registration::Granularity;
use crate::domain::subject::ComponentDetails;
use crate::label::{LabelContent, distinct_types, human_readable, material_type};

impl PassportService {
    /// The label of passport `id` with the passport (for its owner), or `None` when there is no
    /// such passport. A revoked or suspended passport keeps its label, as it keeps its QR code.
    pub async fn label(&self, id: Uuid) -> Result<Option<(Passport, LabelContent)>> {
        let Some(passport) = self.store.passport(id).await? else {
            return Ok(None);
        };
        let version = self.current_version(&passport).await?;
        let view = self.view(None, &passport, &version)?;
        // The details document (which the view checked against the digest the credential
        // signs) holds every component: the magnets registered in each, and the material of a
        // component registered without magnet records (before they existed, or a v1 credential).
        let details: ComponentDetails =
            serde_json::from_str(&version.component_details).map_err(|e| {
                PassportError::internal(format_args!(
                    "stored details of passport {id} do not decode: {e}"
                ))
            })?;
        let kinds = distinct_types(details.components.iter().flat_map(|c| {
            let declared: Vec<_> = c.magnets.iter().map(|m| m.magnet_type).collect();
            if declared.is_empty() {
                material_type(&c.material).into_iter().collect()
            } else {
                declared
            }
        }));
        let identifier = match passport.gtin {
            Some(gtin) => human_readable(
                gtin.as_str(),
                passport
                    .serial
                    .as_ref()
                    .filter(|_| passport.granularity == Granularity::Item)
                    .map(|s| s.as_str()),
                passport
                    .lot
                    .as_ref()
                    .filter(|_| passport.granularity == Granularity::Batch)
                    .map(|l| l.as_str()),
            ),
            None => format!("Passport {id}"),
        };
        let responsible = view
            .passport
            .as_ref()
            .and_then(|signed| signed.responsible_person.as_ref())
            .map(|person| {
                let a = &person.address;
                let country = a
                    .address_country
                    .parse::<Country>()
                    .map_or_else(|_| a.address_country.clone(), |c| c.name().to_owned());
                let mut place = format!("{} {}", a.postal_code, a.address_locality);
                if let Some(region) = &a.address_region {
                    place.push_str(&format!(", {region}"));
                }
                place.push_str(&format!(", {country}"));
                (person.name.clone(), vec![a.street_address.clone(), place])
            });
        let content = LabelContent {
            magnet_types: kinds,
            uri: view.uri.clone(),
            identifier,
            manufacturer: view.subject.manufacturer.name.clone(),
            responsible,
        };
        Ok(Some((passport, content)))
    }
}
