//! The free-access page of CRMA art. 29(1): per manufacturer, without a key, its products to
//! which art. 29 applies (the conformity domain's rule: in the scope of art. 28(1), more than
//! 0.2 kg of NdFeB, SmCo and AlNiCo magnets), by model, each with the share of Nd, Dy, Pr, Tb,
//! B, Sm, Ni and Co recovered from post-consumer waste as its public credential states it.
//! Only public content: no placement fact (market country, date, units).

use std::collections::HashMap;

use reetrace_core::domain::Role;
use reetrace_core::domain::account::Org;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::PassportService;
use super::conformity::{PassportConformity, check_version};
use super::error::{PassportError, Result};
use crate::domain::crma::CrmaProductGroup;
use crate::domain::magnet_content::{ARTICLE_29, ElementRecycled};
use crate::domain::passport::{
    CredentialFormat, ListFilter, Passport, PassportStatus, PassportVersion,
};
use crate::domain::registration::Granularity;

/// How many passports the page reads per store query.
const SCAN_CHUNK: u32 = 500;

/// Where the shares sit in a v2 credential.
const SHARES_POINTER: &str = "/credentialSubject/circularityScorecard/ree:magnetRecycledContent";

/// How a share stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ShareStatus {
    /// Computed from the recycled-content claims on custody lots (0 when nothing is claimed).
    Computed,
    /// The magnets hold none of the element.
    NotApplicable,
    /// The credential states no share: a v1 credential, or magnets named by a component's
    /// material without magnet records (see the passport's conformity, rule 29(1)).
    NotPublished,
}

impl ShareStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ShareStatus::Computed => "computed",
            ShareStatus::NotApplicable => "not_applicable",
            ShareStatus::NotPublished => "not_published",
        }
    }
}

/// One art. 29 element's share in a product's magnets, with where a verifier checks it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PublishedShare {
    /// The element's symbol.
    pub element: String,
    pub status: ShareStatus,
    /// Recovered from post-consumer waste over the element's mass in the magnets (0 to 1);
    /// only when `computed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share: Option<f64>,
    /// The signed credential that states the share.
    pub credential: String,
    /// JSON pointer to the share in that credential; absent when it states none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
}

/// A product on the page: a model, a batch, or an item without a listed model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PublishedProduct {
    pub passport_id: Uuid,
    /// The product's resolver URL.
    pub uri: String,
    /// The passport page (public).
    pub page: String,
    /// The signed credential (public).
    pub credential: String,
    pub granularity: Granularity,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gtin: Option<String>,
    /// The batch's lot number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lot: Option<String>,
    /// The item's serial number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    pub product_group: CrmaProductGroup,
    /// `active` or `suspended` (a suspended passport stays listed; revoked ones are not).
    pub status: PassportStatus,
    pub version: u32,
    /// The eight elements of art. 29(1), in its order: Nd, Dy, Pr, Tb, B, Sm, Ni, Co.
    pub shares: Vec<PublishedShare>,
}

/// What the page reads of one passport: listed or not, and its entry.
type Listed = Option<(Passport, PassportVersion, CrmaProductGroup)>;

impl PassportService {
    /// The manufacturer `org_id`; 404 for an unknown organisation or one of another role.
    pub async fn manufacturer(&self, org_id: Uuid) -> Result<Org> {
        match self.accounts.org(org_id).await? {
            Some(org) if org.role == Role::Manufacturer => Ok(org),
            _ => Err(PassportError::NotFound(format!(
                "No manufacturer {org_id}."
            ))),
        }
    }

    /// One page of the manufacturer's products to which art. 29 applies, after `after` (by
    /// passport id), up to `limit`: models and batches, and items whose model is not listed.
    pub async fn recycled_content_page(
        &self,
        org: &Org,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<PublishedProduct>> {
        let filter = ListFilter {
            org_id: Some(org.id),
            ..ListFilter::default()
        };
        let mut models: HashMap<Uuid, bool> = HashMap::new();
        let mut out = Vec::new();
        let mut cursor = after;
        'scan: loop {
            let chunk = self.store.list(&filter, cursor, SCAN_CHUNK).await?;
            let Some(last) = chunk.last() else {
                break;
            };
            cursor = Some(last.id);
            let full = chunk.len() == SCAN_CHUNK as usize;
            let mut versions = self.current_versions(&chunk).await?;
            for passport in chunk {
                if out.len() >= limit as usize {
                    break 'scan;
                }
                if let Some(model) = passport.model_passport
                    && passport.granularity == Granularity::Item
                    && self.model_listed(org.id, model, &mut models).await?
                {
                    continue;
                }
                let version = versions.remove(&passport.id);
                if let Some((passport, version, group)) = self.listed(passport, version).await? {
                    out.push(self.published(&passport, &version, group)?);
                }
            }
            if !full {
                break;
            }
        }
        Ok(out)
    }

    /// The free-access page a passport's product is listed on, if it is (its passport page
    /// links to it), from the passport's conformity (whose art. 29 scope does not depend on
    /// the tier it was cut for). An item whose model is listed links to the same page.
    pub fn free_access_link(
        &self,
        passport: &Passport,
        conformity: Option<&PassportConformity>,
    ) -> Option<String> {
        let applies = conformity.is_some_and(|c| c.conformity.art29_applies());
        (passport.status != PassportStatus::Revoked && applies)
            .then(|| format!("{}/crma/{}", self.config.base_url, passport.org_id))
    }

    /// Whether a passport is on the page: not revoked, and art. 29 applies to it (`version`:
    /// its current version when already read).
    async fn listed(&self, passport: Passport, version: Option<PassportVersion>) -> Result<Listed> {
        if passport.status == PassportStatus::Revoked {
            return Ok(None);
        }
        let version = match version {
            Some(version) => version,
            None => self.current_version(&passport).await?,
        };
        let today = reetrace_core::domain::account::now().date_naive();
        let (conformity, _) = check_version(&passport, &version, &self.config.crma, today)?;
        Ok(match conformity.scope.product_group {
            Some(group) if conformity.art29_applies() => Some((passport, version, group)),
            _ => None,
        })
    }

    /// Whether the model passport `id` is listed on `org`'s page (then its items are not).
    async fn model_listed(
        &self,
        org: Uuid,
        id: Uuid,
        known: &mut HashMap<Uuid, bool>,
    ) -> Result<bool> {
        if let Some(listed) = known.get(&id) {
            return Ok(*listed);
        }
        let listed = match self.store.passport(id).await? {
            Some(model) if model.org_id == org && model.granularity == Granularity::Model => {
                self.listed(model, None).await?.is_some()
            }
            _ => false,
        };
        known.insert(id, listed);
        Ok(listed)
    }

    /// A listed passport's entry, from its public view and its signed credential.
    fn published(
        &self,
        passport: &Passport,
        version: &PassportVersion,
        group: CrmaProductGroup,
    ) -> Result<PublishedProduct> {
        let view = self.view(None, passport, version)?;
        let credential = format!(
            "{}/api/v1/passports/{}/credential",
            self.config.base_url, passport.id
        );
        let stated = match version.format {
            CredentialFormat::V1 => Vec::new(),
            CredentialFormat::V2 => stated_shares(passport.id, &version.credential)?,
        };
        let shares = ARTICLE_29
            .iter()
            .map(|element| {
                let found = stated
                    .iter()
                    .enumerate()
                    .find(|(_, s)| s.element == element.symbol());
                match found {
                    Some((i, s)) => {
                        let status = if s.status == "not_applicable" {
                            ShareStatus::NotApplicable
                        } else {
                            ShareStatus::Computed
                        };
                        PublishedShare {
                            element: element.symbol().to_owned(),
                            status,
                            share: s.share.filter(|_| status == ShareStatus::Computed),
                            credential: credential.clone(),
                            pointer: Some(format!("{SHARES_POINTER}/{i}")),
                        }
                    }
                    None => PublishedShare {
                        element: element.symbol().to_owned(),
                        status: ShareStatus::NotPublished,
                        share: None,
                        credential: credential.clone(),
                        pointer: None,
                    },
                }
            })
            .collect();
        Ok(PublishedProduct {
            passport_id: passport.id,
            uri: self.product_uri(passport),
            page: format!("{}/p/{}", self.config.base_url, passport.id),
            credential,
            granularity: passport.granularity,
            name: view.subject.product.name.clone(),
            model: view.subject.product.model.clone(),
            gtin: passport.gtin.map(|g| g.as_str().to_owned()),
            lot: passport.lot.as_ref().map(|l| l.as_str().to_owned()),
            serial: passport.serial.as_ref().map(|s| s.as_str().to_owned()),
            product_group: group,
            status: passport.status,
            version: passport.version,
            shares,
        })
    }
}

/// The shares a v2 credential states, in its order.
fn stated_shares(passport: Uuid, credential: &str) -> Result<Vec<ElementRecycled>> {
    let credential: Value = serde_json::from_str(credential).map_err(|e| {
        PassportError::internal(format_args!(
            "stored passport {passport} does not decode for the free-access page: {e}"
        ))
    })?;
    match credential.pointer(SHARES_POINTER) {
        None => Ok(Vec::new()),
        Some(shares) => serde_json::from_value(shares.clone()).map_err(|e| {
            PassportError::internal(format_args!(
                "stored passport {passport}'s recycled shares do not decode: {e}"
            ))
        }),
    }
}
