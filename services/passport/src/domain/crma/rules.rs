//! Whether one passport meets CRMA art. 28(1), 28(4)(a), (b), (c) and 29(1): for each, `met`,
//! `missing` (with the JSON pointers, into the registration, of what is missing),
//! `not_applicable` or `not_yet_applicable` (with the date), and why.

use chrono::NaiveDate;
use reetrace_core::domain::Category;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::super::registration::{
    Component, CrmaExemption, CrmaProductGroup, MagnetType, RemovalStep, ResponsiblePerson,
};
use super::{ART29_THRESHOLD_G, CrmaDates, CrmaScope, GroupSource, MOTOR_THRESHOLD_KW};

/// A rule of the CRMA the passport is checked against.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
pub enum CrmaRule {
    /// The label: whether permanent magnets are present, and their types.
    #[serde(rename = "28(1)")]
    Label,
    /// The responsible person's name, postal address and electronic contact.
    #[serde(rename = "28(4)(a)")]
    ResponsiblePerson,
    /// Weight, location and composition of every magnet, with coatings, glues and additives.
    #[serde(rename = "28(4)(b)")]
    MagnetDetail,
    /// The sequence of removal steps, with tools or technologies.
    #[serde(rename = "28(4)(c)")]
    RemovalSequence,
    /// The recycled shares of Nd, Dy, Pr, Tb, B, Sm, Ni and Co, published.
    #[serde(rename = "29(1)")]
    RecycledContent,
}

impl CrmaRule {
    pub const ALL: [CrmaRule; 5] = [
        CrmaRule::Label,
        CrmaRule::ResponsiblePerson,
        CrmaRule::MagnetDetail,
        CrmaRule::RemovalSequence,
        CrmaRule::RecycledContent,
    ];

    pub fn code(self) -> &'static str {
        match self {
            CrmaRule::Label => "28(1)",
            CrmaRule::ResponsiblePerson => "28(4)(a)",
            CrmaRule::MagnetDetail => "28(4)(b)",
            CrmaRule::RemovalSequence => "28(4)(c)",
            CrmaRule::RecycledContent => "29(1)",
        }
    }
}

/// The answer for one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConformityStatus {
    Met,
    Missing,
    NotApplicable,
    /// The rule will apply to this product, from `applies_from` (absent: not known yet).
    NotYetApplicable,
}

/// Something a rule needs that the passport lacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConformityGap {
    /// JSON pointer into the registration (send it again with `PUT`); `` for the whole.
    pub pointer: String,
    pub detail: String,
}

/// One rule's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RuleResult {
    pub rule: CrmaRule,
    pub status: ConformityStatus,
    /// Why the rule applies or not, and how it is met.
    pub reason: String,
    /// From when the rule applies to products placed on the market.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applies_from: Option<NaiveDate>,
    /// What is missing: for `missing`, and for `not_yet_applicable` what will be.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<ConformityGap>,
}

/// The product's place in the CRMA.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CrmaApplicability {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_group: Option<CrmaProductGroup>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_source: Option<GroupSource>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exemptions: Vec<CrmaExemption>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rated_output_kw: Option<f64>,
    /// Declared an L-category vehicle (Regulation (EU) No 168/2013): art. 28 applies from the
    /// vehicles' date.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub l_category_vehicle: bool,
    /// Whether art. 28 and 29 can apply to the product at all.
    pub in_scope: bool,
    pub reason: String,
}

/// The magnets as the rules count them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MagnetFacts {
    /// The types present (the label's content), registered or named by a component's material.
    pub types: Vec<MagnetType>,
    /// NdFeB, SmCo and AlNiCo together in one unit, in grams (art. 29(1) threshold: 200).
    pub art29_mass_g: f64,
    /// Components whose material names a permanent magnet but that register no `magnets`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unregistered: Vec<String>,
}

/// A passport's conformity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Conformity {
    /// The day the dates were compared with.
    pub evaluated_on: NaiveDate,
    pub scope: CrmaApplicability,
    pub magnets: MagnetFacts,
    pub rules: Vec<RuleResult>,
}

/// What the rules read of a passport.
#[derive(Debug, Clone, Copy)]
pub struct Content<'a> {
    pub category: Category,
    /// What the manufacturer declared (`ree:crmaScope`).
    pub declared: Option<&'a CrmaScope>,
    pub placed_on_market: NaiveDate,
    pub components: &'a [Component],
    pub removal_steps: &'a [RemovalStep],
    pub responsible_person: Option<&'a ResponsiblePerson>,
    /// Whether the credential publishes the art. 29 shares (a v2 credential does).
    pub publishes_shares: bool,
}

/// The magnet type a component's material names (`NdFeB-sintered`, `SmCo`, `ferrite`...).
pub(super) fn named_type(material: &str) -> Option<MagnetType> {
    let plain: String = material
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    MagnetType::ALL
        .iter()
        .copied()
        .find(|t| plain.contains(t.as_str()))
}

fn counts_for_29(t: MagnetType) -> bool {
    t != MagnetType::Ferrite
}

/// Whether the NdFeB, SmCo and AlNiCo magnets weigh more than art. 29(1)'s 0.2 kg.
pub fn over_art29_threshold(magnets: &MagnetFacts) -> bool {
    magnets.art29_mass_g > ART29_THRESHOLD_G
}

impl Conformity {
    /// Whether art. 29(1) applies to the product by substance, whatever the dates: in the
    /// scope of art. 28(1) (not exempt) with more than 0.2 kg of NdFeB, SmCo and AlNiCo
    /// magnets. The free-access page lists these products.
    pub fn art29_applies(&self) -> bool {
        self.scope.in_scope && over_art29_threshold(&self.magnets)
    }
}

fn facts(components: &[Component]) -> MagnetFacts {
    let mut types: Vec<MagnetType> = Vec::new();
    let mut micrograms: i128 = 0;
    let mut unregistered = Vec::new();
    for (i, c) in components.iter().enumerate() {
        if c.magnets.is_empty() {
            if let Some(t) = named_type(&c.material) {
                types.push(t);
                unregistered.push(format!("/ree_content/components/{i}"));
                if counts_for_29(t) {
                    micrograms += i128::from(c.mass_g.micrograms());
                }
            }
            continue;
        }
        for m in &c.magnets {
            types.push(m.magnet_type);
            if counts_for_29(m.magnet_type) {
                micrograms += m.times_count(m.unit_mass_g);
            }
        }
    }
    types.sort();
    types.dedup();
    MagnetFacts {
        types,
        art29_mass_g: micrograms as f64 / 1_000_000.0,
        unregistered,
    }
}

/// Where the product stands before any rule: out of scope, exempt, or in.
fn scope(content: &Content<'_>) -> CrmaApplicability {
    let declared = content.declared;
    let group = super::product_group(declared.and_then(|d| d.product_group), content.category);
    let exemptions = declared.map(|d| d.exemptions.clone()).unwrap_or_default();
    let rated = declared.and_then(|d| d.rated_output_kw);
    let l_category_vehicle = declared.is_some_and(|d| d.l_category_vehicle);
    let (in_scope, reason) = match group {
        None => (
            false,
            format!(
                "the category {} is not a product group of art. 28(1) by itself, and no \
                 crma_product_group was declared",
                content.category.as_str()
            ),
        ),
        Some((group, _)) => match exemptions.first() {
            Some(CrmaExemption::Defence) => {
                (false, "exempt: a defence product (art. 28(9))".into())
            }
            Some(CrmaExemption::Space) => (false, "exempt: a space product (art. 28(9))".into()),
            Some(CrmaExemption::TypeApprovedVehicle) => (
                false,
                "exempt: a vehicle of the type-approval carve-outs (art. 28(11))".into(),
            ),
            None => match (group, rated) {
                (CrmaProductGroup::ElectricMotor, Some(kw)) if kw < MOTOR_THRESHOLD_KW => (
                    false,
                    format!(
                        "an electric motor of {kw} kW rated output: below the 0.12 kW of art. \
                         2(47)"
                    ),
                ),
                (CrmaProductGroup::ElectricMotor, None) => (
                    true,
                    "an electric motor (art. 28(1)); no rated output declared: taken as at least \
                     0.12 kW (art. 2(47))"
                        .into(),
                ),
                (CrmaProductGroup::LightMeansOfTransport, _) if l_category_vehicle => (
                    true,
                    "product group light_means_of_transport of art. 28(1), an L-category vehicle \
                     (Regulation (EU) No 168/2013): art. 28 applies from the vehicles' date"
                        .into(),
                ),
                (CrmaProductGroup::LightMeansOfTransport, _) => (
                    true,
                    "product group light_means_of_transport of art. 28(1), not declared an \
                     L-category vehicle: art. 28 applies from the general date"
                        .into(),
                ),
                (group, _) => (true, format!("product group {group} of art. 28(1)")),
            },
        },
    };
    CrmaApplicability {
        product_group: group.map(|(g, _)| g),
        group_source: group.map(|(_, s)| s),
        exemptions,
        rated_output_kw: rated,
        l_category_vehicle,
        in_scope,
        reason,
    }
}

/// When a rule applies to a product placed on the market on `placed`.
enum Timing {
    Applies,
    NotYet(Option<NaiveDate>),
    PlacedBefore(NaiveDate),
}

fn timing(from: Option<NaiveDate>, placed: NaiveDate, today: NaiveDate) -> Timing {
    match from {
        None => Timing::NotYet(None),
        Some(from) if placed >= from => Timing::Applies,
        Some(from) if from > today => Timing::NotYet(Some(from)),
        Some(from) => Timing::PlacedBefore(from),
    }
}

fn not_applicable(rule: CrmaRule, reason: impl Into<String>) -> RuleResult {
    RuleResult {
        rule,
        status: ConformityStatus::NotApplicable,
        reason: reason.into(),
        applies_from: None,
        missing: Vec::new(),
    }
}

/// A rule that applies by substance: its answer once its date is compared.
fn dated(
    rule: CrmaRule,
    from: Option<NaiveDate>,
    content: &Content<'_>,
    today: NaiveDate,
    met: &str,
    missing: Vec<ConformityGap>,
) -> RuleResult {
    let (status, reason) = match timing(from, content.placed_on_market, today) {
        Timing::PlacedBefore(from) => {
            return RuleResult {
                applies_from: Some(from),
                ..not_applicable(
                    rule,
                    format!(
                        "placed on the market on {}, before art. {} applied ({from})",
                        content.placed_on_market,
                        rule.code()
                    ),
                )
            };
        }
        Timing::NotYet(None) => (
            ConformityStatus::NotYetApplicable,
            format!(
                "art. {} applies two years after the implementing act on the label format, \
                 not adopted yet",
                rule.code()
            ),
        ),
        Timing::NotYet(Some(from)) => (
            ConformityStatus::NotYetApplicable,
            format!("art. {} applies from {from}", rule.code()),
        ),
        Timing::Applies if missing.is_empty() => (ConformityStatus::Met, met.to_owned()),
        Timing::Applies => (
            ConformityStatus::Missing,
            format!("art. {} applies", rule.code()),
        ),
    };
    RuleResult {
        rule,
        status,
        reason,
        applies_from: from,
        missing,
    }
}

fn gap(pointer: impl Into<String>, detail: impl Into<String>) -> ConformityGap {
    ConformityGap {
        pointer: pointer.into(),
        detail: detail.into(),
    }
}

/// Checks a passport against the CRMA as of `today`.
pub fn evaluate(content: &Content<'_>, dates: &CrmaDates, today: NaiveDate) -> Conformity {
    let scope = scope(content);
    let magnets = facts(content.components);
    let rules = match scope.product_group {
        Some(group) if scope.in_scope => CrmaRule::ALL
            .iter()
            .map(|rule| one(*rule, group, content, &magnets, dates, today))
            .collect(),
        _ => CrmaRule::ALL
            .iter()
            .map(|rule| not_applicable(*rule, scope.reason.clone()))
            .collect(),
    };
    Conformity {
        evaluated_on: today,
        scope,
        magnets,
        rules,
    }
}

fn one(
    rule: CrmaRule,
    group: CrmaProductGroup,
    content: &Content<'_>,
    magnets: &MagnetFacts,
    dates: &CrmaDates,
    today: NaiveDate,
) -> RuleResult {
    let l_category = content.declared.is_some_and(|d| d.l_category_vehicle);
    let art28 = dates.art28(group, l_category);
    let unregistered = || {
        magnets
            .unregistered
            .iter()
            .map(|c| {
                gap(
                    format!("{c}/magnets"),
                    "the material names a permanent magnet, but no magnets are registered",
                )
            })
            .collect::<Vec<_>>()
    };
    if rule != CrmaRule::Label && rule != CrmaRule::RecycledContent && magnets.types.is_empty() {
        return not_applicable(
            rule,
            "no permanent magnet: art. 28(3) asks a data carrier only of products that \
             incorporate one",
        );
    }
    match rule {
        CrmaRule::Label => {
            let met = if magnets.types.is_empty() {
                "the label states that the product holds no permanent magnet"
            } else {
                "the registered magnets give the label its types"
            };
            dated(rule, art28, content, today, met, unregistered())
        }
        CrmaRule::ResponsiblePerson => {
            let missing = match content.responsible_person {
                Some(_) => Vec::new(),
                None => vec![gap(
                    "/responsible_person",
                    "name, postal address and an electronic contact of the responsible person",
                )],
            };
            dated(
                rule,
                art28,
                content,
                today,
                "name, postal address and electronic contact are registered",
                missing,
            )
        }
        CrmaRule::MagnetDetail => {
            let (met, missing) = super::detail::magnet_detail(content, unregistered());
            dated(rule, art28, content, today, met, missing)
        }
        CrmaRule::RemovalSequence => {
            let (met, missing) = super::detail::removal(content);
            dated(rule, art28, content, today, met, missing)
        }
        CrmaRule::RecycledContent => {
            if !over_art29_threshold(magnets) {
                return not_applicable(
                    rule,
                    format!(
                        "NdFeB, SmCo and AlNiCo magnets weigh {} g in all, not more than 0.2 kg",
                        magnets.art29_mass_g
                    ),
                );
            }
            // Only NdFeB, SmCo and AlNiCo have art. 29 elements to publish.
            let mut missing: Vec<ConformityGap> = content
                .components
                .iter()
                .enumerate()
                .filter(|(_, c)| {
                    c.magnets.is_empty() && named_type(&c.material).is_some_and(counts_for_29)
                })
                .map(|(i, _)| {
                    gap(
                        format!("/ree_content/components/{i}/magnets"),
                        "the material names a permanent magnet, but no magnets are registered: \
                         no recycled share can be computed",
                    )
                })
                .collect();
            if !content.publishes_shares {
                missing.push(gap(
                    "",
                    "this version's credential (v1) publishes no recycled shares: issue a new \
                     version",
                ));
            }
            dated(
                rule,
                Some(dates.art29_from),
                content,
                today,
                "the credential publishes the recycled share of each art. 29 element, \
                 computed from claims on custody lots",
                missing,
            )
        }
    }
}
