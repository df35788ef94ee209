//! The CRMA art. 28/29 check of one passport, in the caller's tier, and the summary of an
//! organisation's passports. The rules are the domain's (`domain::crma`); here the stored
//! version is read into what they need.

use chrono::{Datelike, NaiveDate};
use reetrace_core::domain::{Denied, Principal, Role};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::PassportService;
use super::error::{PassportError, Result};
use crate::domain::crma::{
    self, Conformity, ConformityStatus, ConformityTotals, Content, CoverageInput, CrmaRule,
};
use crate::domain::passport::{
    CredentialFormat, ListFilter, Passport, PassportStatus, PassportVersion,
};
use crate::domain::registration::{CrmaProductGroup, DetailsAccess};
use crate::domain::subject::ComponentDetails;
use crate::domain::untp::ProductPassport;
use crate::domain::view::Tier;

/// The rules that read the details document: withheld from a tier that may not read it.
const DETAIL_RULES: [CrmaRule; 2] = [CrmaRule::MagnetDetail, CrmaRule::RemovalSequence];

/// One passport's conformity, as the caller may see it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PassportConformity {
    pub passport_id: Uuid,
    /// The product's resolver URL.
    pub uri: String,
    pub version: u32,
    /// The tier the answer was cut for.
    pub tier: Tier,
    #[serde(flatten)]
    pub conformity: Conformity,
    /// Rules left out because they read content this tier may not see (the details
    /// document, restricted by its manufacturer).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub withheld: Vec<CrmaRule>,
}

/// One passport in the summary's list.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ConformityItem {
    pub passport_id: Uuid,
    pub uri: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_group: Option<CrmaProductGroup>,
    pub in_scope: bool,
    pub rules: Vec<RuleStatus>,
}

/// One rule's answer in the summary's list.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RuleStatus {
    pub rule: CrmaRule,
    pub status: ConformityStatus,
}

/// How many passports the summary reads per store query.
const SCAN_CHUNK: u32 = 1000;

fn undecodable(passport: Uuid, what: impl std::fmt::Display) -> PassportError {
    PassportError::internal(format_args!(
        "stored passport {passport} does not decode for the conformity check: {what}"
    ))
}

/// The art. 28/29 check of a stored version, as of `today`.
pub fn check_version(
    passport: &Passport,
    version: &PassportVersion,
    dates: &crma::CrmaDates,
    today: NaiveDate,
) -> Result<(Conformity, bool)> {
    let details: ComponentDetails = serde_json::from_str(&version.component_details)
        .map_err(|e| undecodable(passport.id, e))?;
    let declared = match version.format {
        CredentialFormat::V1 => None,
        CredentialFormat::V2 => {
            let credential: Value = serde_json::from_str(&version.credential)
                .map_err(|e| undecodable(passport.id, e))?;
            let subject: ProductPassport = serde_json::from_value(
                credential
                    .get("credentialSubject")
                    .cloned()
                    .unwrap_or(Value::Null),
            )
            .map_err(|e| undecodable(passport.id, e))?;
            subject.crma_scope
        }
    };
    let content = Content {
        category: passport.category,
        declared: declared.as_ref(),
        placed_on_market: passport.placed_on_market,
        components: &details.components,
        removal_steps: &details.removal_steps,
        responsible_person: details.responsible_person.as_ref(),
        publishes_shares: version.format == CredentialFormat::V2,
    };
    let public = details.details_access == Some(DetailsAccess::Public);
    Ok((crma::evaluate(&content, dates, today), public))
}

/// Units placed: the placement declaration's (v2) or the subject's (v1) for a batch; 1 else.
fn units(version: &PassportVersion) -> u64 {
    let from = |text: &str, pointer: &str| {
        serde_json::from_str::<Value>(text)
            .ok()
            .and_then(|v| v.pointer(pointer).and_then(Value::as_u64))
    };
    match &version.placement {
        Some(placement) => from(placement, "/credentialSubject/ree:units"),
        None => from(&version.credential, "/credentialSubject/product/units"),
    }
    .unwrap_or(1)
}

impl PassportService {
    fn today() -> NaiveDate {
        reetrace_core::domain::account::now().date_naive()
    }

    /// The conformity of a passport's current version: for whoever may read the passport;
    /// a tier that may not read the details document gets the rules on public content only.
    pub async fn conformity(
        &self,
        caller: Option<&Principal>,
        id: Uuid,
    ) -> Result<PassportConformity> {
        let (passport, version) = self.load(id).await?;
        self.conformity_of(caller, &passport, &version)
    }

    /// [`Self::conformity`] of a passport and version already read (the passport page's).
    pub fn conformity_of(
        &self,
        caller: Option<&Principal>,
        passport: &Passport,
        version: &PassportVersion,
    ) -> Result<PassportConformity> {
        let (mut conformity, public) =
            check_version(passport, version, &self.config.crma, Self::today())?;
        let tier = Tier::of(caller, passport.org_id);
        let mut withheld = Vec::new();
        if !tier.sees_components() && !public {
            conformity.rules.retain(|r| !DETAIL_RULES.contains(&r.rule));
            withheld = DETAIL_RULES.to_vec();
        }
        Ok(PassportConformity {
            passport_id: passport.id,
            uri: self.product_uri(passport),
            version: passport.version,
            tier,
            conformity,
            withheld,
        })
    }

    /// [`Self::conformity_of`] for the passport page, which shows everything else when the
    /// check fails (logged).
    pub fn page_conformity(
        &self,
        caller: Option<&Principal>,
        passport: &Passport,
        version: &PassportVersion,
    ) -> Option<PassportConformity> {
        self.conformity_of(caller, passport, version)
            .inspect_err(|error| {
                tracing::warn!(%error, passport = %passport.id, "the conformity check failed; the page leaves it out");
            })
            .ok()
    }

    /// The summary of `org`'s passports (every organisation's for an authority without one),
    /// revoked ones left out, with one page of them after `after`: for the organisation
    /// itself and the authorities (regulators, admins), who also get the coverage.
    pub async fn conformity_summary(
        &self,
        caller: &Principal,
        org: Option<Uuid>,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<(ConformityTotals, Vec<ConformityItem>)> {
        caller.require(&[Role::Manufacturer, Role::Regulator, Role::Admin])?;
        let authority = caller.role != Role::Manufacturer;
        let org_id = match (authority, org) {
            (true, org) => org,
            (false, None) => Some(caller.org_id),
            (false, Some(org)) if org == caller.org_id => Some(org),
            (false, Some(_)) => {
                return Err(Denied::Rule(
                    "A manufacturer reads the conformity of its own passports only.".into(),
                )
                .into());
            }
        };
        let filter = ListFilter {
            org_id,
            ..ListFilter::default()
        };
        let today = Self::today();
        let mut checked: Vec<(Passport, Conformity, u64)> = Vec::new();
        let mut cursor = None;
        loop {
            let chunk = self.store.list(&filter, cursor, SCAN_CHUNK).await?;
            let Some(last) = chunk.last() else {
                break;
            };
            cursor = Some(last.id);
            let full = chunk.len() == SCAN_CHUNK as usize;
            let live: Vec<Passport> = chunk
                .into_iter()
                .filter(|p| p.status != PassportStatus::Revoked)
                .collect();
            let mut versions = self.current_versions(&live).await?;
            for passport in live {
                let version = versions.remove(&passport.id).ok_or_else(|| {
                    PassportError::internal(format_args!(
                        "passport {} without a current version",
                        passport.id
                    ))
                })?;
                let (conformity, _) = check_version(&passport, &version, &self.config.crma, today)?;
                checked.push((passport, conformity, units(&version)));
            }
            if !full {
                break;
            }
        }
        let years: Vec<(String, i32)> = checked
            .iter()
            .map(|(p, _, _)| (p.country.code().to_owned(), p.placed_on_market.year()))
            .collect();
        let summary = crma::summarise(
            checked
                .iter()
                .zip(&years)
                .map(|((_, conformity, units), (country, year))| CoverageInput {
                    conformity,
                    country,
                    year: *year,
                    units: *units,
                }),
            authority,
        );
        let items = checked
            .iter()
            .filter(|(p, _, _)| after.is_none_or(|a| p.id > a))
            .take(limit as usize)
            .map(|(p, c, _)| ConformityItem {
                passport_id: p.id,
                uri: self.product_uri(p),
                product_group: c.scope.product_group,
                in_scope: c.scope.in_scope,
                rules: c
                    .rules
                    .iter()
                    .map(|r| RuleStatus {
                        rule: r.rule,
                        status: r.status,
                    })
                    .collect(),
            })
            .collect();
        Ok((summary, items))
    }
}
