//! The conformity of many passports summed: how many are in scope, each rule's answers, and
//! for the authorities the coverage by product group, market country and year of placement
//! (the share of in-scope products placed on the market whose passports meet each rule).

use std::collections::BTreeMap;

use reetrace_core::domain::significant;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::super::registration::CrmaProductGroup;
use super::rules::{Conformity, ConformityStatus, CrmaRule};

/// One passport's answer with its placement facts.
#[derive(Debug, Clone, Copy)]
pub struct CoverageInput<'a> {
    pub conformity: &'a Conformity,
    /// ISO 3166-1 alpha-2 of the market country.
    pub country: &'a str,
    pub year: i32,
    /// Units placed: a batch's unit count, 1 otherwise.
    pub units: u64,
}

/// How many passports got each answer for one rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RuleCount {
    pub rule: CrmaRule,
    pub met: u64,
    pub missing: u64,
    pub not_applicable: u64,
    pub not_yet_applicable: u64,
}

/// One rule in one coverage cell, counted in units placed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RuleCoverage {
    pub rule: CrmaRule,
    /// Units to which the rule applies today (`met` or `missing`).
    pub applicable: u64,
    pub met: u64,
    /// `met` / `applicable`; absent when the rule applies to none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share: Option<f64>,
}

/// In-scope products of one group placed in one country in one year.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CoverageCell {
    pub product_group: CrmaProductGroup,
    pub country: String,
    pub year: i32,
    /// In-scope units placed (a batch counts its units).
    pub units: u64,
    pub rules: Vec<RuleCoverage>,
}

/// The conformity of an organisation's passports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ConformityTotals {
    pub passports: u64,
    /// In a product group of art. 28(1), not exempt.
    pub in_scope: u64,
    /// In a product group, with a declared exemption.
    pub exempt: u64,
    /// In no product group, or a motor below 0.12 kW.
    pub out_of_scope: u64,
    pub rules: Vec<RuleCount>,
    /// For the authorities: by group, country and year.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coverage: Option<Vec<CoverageCell>>,
}

/// Sums the answers; the coverage cells only when `with_coverage`.
pub fn summarise<'a>(
    inputs: impl IntoIterator<Item = CoverageInput<'a>>,
    with_coverage: bool,
) -> ConformityTotals {
    let mut summary = ConformityTotals {
        passports: 0,
        in_scope: 0,
        exempt: 0,
        out_of_scope: 0,
        rules: CrmaRule::ALL
            .iter()
            .map(|rule| RuleCount {
                rule: *rule,
                met: 0,
                missing: 0,
                not_applicable: 0,
                not_yet_applicable: 0,
            })
            .collect(),
        coverage: None,
    };
    // (group, country, year) -> (units, per rule (applicable, met))
    type Cell = (u64, BTreeMap<CrmaRule, (u64, u64)>);
    let mut cells: BTreeMap<(CrmaProductGroup, String, i32), Cell> = BTreeMap::new();
    for input in inputs {
        let c = input.conformity;
        summary.passports += 1;
        match (c.scope.in_scope, c.scope.product_group) {
            (true, _) => summary.in_scope += 1,
            (false, Some(_)) if !c.scope.exemptions.is_empty() => summary.exempt += 1,
            _ => summary.out_of_scope += 1,
        }
        for result in &c.rules {
            if let Some(count) = summary.rules.iter_mut().find(|r| r.rule == result.rule) {
                match result.status {
                    ConformityStatus::Met => count.met += 1,
                    ConformityStatus::Missing => count.missing += 1,
                    ConformityStatus::NotApplicable => count.not_applicable += 1,
                    ConformityStatus::NotYetApplicable => count.not_yet_applicable += 1,
                }
            }
        }
        let (true, Some(group)) = (c.scope.in_scope, c.scope.product_group) else {
            continue;
        };
        let cell = cells
            .entry((group, input.country.to_owned(), input.year))
            .or_default();
        cell.0 += input.units;
        for result in &c.rules {
            let entry = cell.1.entry(result.rule).or_insert((0, 0));
            match result.status {
                ConformityStatus::Met => {
                    entry.0 += input.units;
                    entry.1 += input.units;
                }
                ConformityStatus::Missing => entry.0 += input.units,
                ConformityStatus::NotApplicable | ConformityStatus::NotYetApplicable => {}
            }
        }
    }
    if with_coverage {
        summary.coverage = Some(
            cells
                .into_iter()
                .map(|((group, country, year), (units, rules))| CoverageCell {
                    product_group: group,
                    country,
                    year,
                    units,
                    rules: CrmaRule::ALL
                        .iter()
                        .map(|rule| {
                            let (applicable, met) = rules.get(rule).copied().unwrap_or((0, 0));
                            RuleCoverage {
                                rule: *rule,
                                applicable,
                                met,
                                share: significant::ratio(i128::from(met), i128::from(applicable)),
                            }
                        })
                        .collect(),
                })
                .collect(),
        );
    }
    summary
}
