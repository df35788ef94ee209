//! A policy scenario as a regulator defines it: a name and levers on the observed baseline, each
//! from a year on, per product category (and element where it applies). Checked against the
//! model's span and resolved into the [`Change`]s that [`super::whatif`] applies.
//!
//! The levers:
//! - `lifetime`: the cohorts entering use from `from` on get a new distribution (`lifetime`), or
//!   the category's lifetime stretched by `factor` (mean and standard deviation, or the Weibull
//!   scale, times the factor: flodym's `lt_factor_by_cohort`); cohorts already in use keep theirs;
//! - `collection_rate`, `recovery_yield`: the rate moves in equal steps from its baseline, the
//!   year before `from`, to `target` in `by` (default `from`), and stays there;
//! - `thrifting`: the element content per new product times `factor` from `from` on;
//! - `substitution`: a `share` of the new products from `from` on has no rare earths;
//! - `demand`: after the last observed year (and from `from` on) the inflow grows by `growth` a
//!   year instead of being held flat.

use chrono::{DateTime, Utc};
use reetrace_core::domain::{Category, Element, FieldError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::lifetime::Lifetime;

/// The most levers one scenario may hold.
pub const MAX_LEVERS: usize = 200;
/// The longest scenario name.
pub const MAX_NAME: usize = 200;
/// The longest description.
pub const MAX_DESCRIPTION: usize = 4000;

/// What a lever changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LeverKind {
    Lifetime,
    CollectionRate,
    RecoveryYield,
    Thrifting,
    Substitution,
    Demand,
}

impl LeverKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LeverKind::Lifetime => "lifetime",
            LeverKind::CollectionRate => "collection_rate",
            LeverKind::RecoveryYield => "recovery_yield",
            LeverKind::Thrifting => "thrifting",
            LeverKind::Substitution => "substitution",
            LeverKind::Demand => "demand",
        }
    }

    /// The value fields this kind takes (the others must be absent).
    fn fields(self) -> &'static [&'static str] {
        match self {
            LeverKind::Lifetime => &["factor", "lifetime"],
            LeverKind::CollectionRate | LeverKind::RecoveryYield => &["target", "by"],
            LeverKind::Thrifting => &["factor"],
            LeverKind::Substitution => &["share"],
            LeverKind::Demand => &["growth"],
        }
    }

    /// Whether the lever may name an element (the others act on whole products).
    fn per_element(self) -> bool {
        !matches!(self, LeverKind::Lifetime | LeverKind::Substitution)
    }
}

/// One lever; which value fields it takes depends on `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "thrifting", "category": "ev_traction_motor", "element": "Dy",
    "from": 2030, "factor": 0.5}))]
pub struct Lever {
    pub kind: LeverKind,
    pub category: Category,
    /// For `collection_rate`, `recovery_yield`, `thrifting` and `demand`: one element (all
    /// elements of the category when absent). Not for `lifetime` and `substitution`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub element: Option<Element>,
    /// The first year the lever acts (within the model's years).
    pub from: i32,
    /// `collection_rate`, `recovery_yield`: the year the target is reached (default `from`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<i32>,
    /// `collection_rate`, `recovery_yield`: the rate reached, a share in [0, 1].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<f64>,
    /// `thrifting`: the content per new product times this (>= 0); `lifetime`: the lifetime
    /// stretched by this (> 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor: Option<f64>,
    /// `substitution`: the share of new products without rare earths, in [0, 1].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share: Option<f64>,
    /// `demand`: the inflow's growth per year after the observed years, -1 to 1 (0.03 = 3 %).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub growth: Option<f64>,
    /// `lifetime`: the new cohorts' distribution (instead of `factor`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub lifetime: Option<Lifetime>,
}

/// A scenario as written: a name, whether other authorities may read it, and its levers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "Dy halved, EV motor collection 60 %, REE-free motors 10 %",
    "description": "Dy halved in NdFeB from 2030, 60 % of end-of-life EV motors collected by 2035, 10 % of new EV motors without rare earths from 2027",
    "shared": true,
    "levers": [
        {"kind": "thrifting", "category": "ev_traction_motor", "element": "Dy", "from": 2030, "factor": 0.5},
        {"kind": "collection_rate", "category": "ev_traction_motor", "from": 2026, "by": 2035, "target": 0.6},
        {"kind": "substitution", "category": "ev_traction_motor", "from": 2027, "share": 0.1}
    ]
}))]
pub struct ScenarioDefinition {
    /// 1 to 200 characters.
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Readable (not writable) by the other authorities' organisations.
    #[serde(default)]
    pub shared: bool,
    /// At most 200.
    pub levers: Vec<Lever>,
}

/// One stored version of a scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioVersion {
    pub id: Uuid,
    pub version: i64,
    /// The organisation that owns it.
    pub org_id: Uuid,
    pub definition: ScenarioDefinition,
    pub created_at: DateTime<Utc>,
}

/// A lever resolved against the model's years: `from` and `by` are year indices.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Change<C, E> {
    pub category: C,
    /// `None`: every element of the category.
    pub element: Option<E>,
    /// The first model year index the change acts in.
    pub from: usize,
    pub effect: Effect,
}

/// What a resolved lever does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Effect {
    LifetimeFactor(f64),
    NewLifetime(Lifetime),
    CollectionRate { target: f64, by: usize },
    RecoveryYield { target: f64, by: usize },
    Content(f64),
    Substitution(f64),
    Demand(f64),
}

fn error(pointer: impl Into<String>, detail: impl Into<String>) -> FieldError {
    FieldError::new(pointer, detail)
}

impl Lever {
    fn present(&self) -> [(&'static str, bool); 6] {
        [
            ("by", self.by.is_some()),
            ("target", self.target.is_some()),
            ("factor", self.factor.is_some()),
            ("share", self.share.is_some()),
            ("growth", self.growth.is_some()),
            ("lifetime", self.lifetime.is_some()),
        ]
    }
}

impl ScenarioDefinition {
    /// Checks the definition against the model's years (`span`, both included) and resolves
    /// its levers; every error names its JSON pointer.
    pub fn resolve(
        &self,
        span: (i32, i32),
    ) -> Result<Vec<Change<Category, Element>>, Vec<FieldError>> {
        let mut errors = Vec::new();
        let name = self.name.trim();
        if name.is_empty() || self.name.chars().count() > MAX_NAME {
            errors.push(error(
                "/name",
                format!("a name has 1 to {MAX_NAME} characters"),
            ));
        }
        if self.description.chars().count() > MAX_DESCRIPTION {
            errors.push(error(
                "/description",
                format!("at most {MAX_DESCRIPTION} characters"),
            ));
        }
        if self.levers.len() > MAX_LEVERS {
            errors.push(error(
                "/levers",
                format!("at most {MAX_LEVERS} levers, got {}", self.levers.len()),
            ));
            return Err(errors);
        }
        let mut changes = Vec::with_capacity(self.levers.len());
        for (i, lever) in self.levers.iter().enumerate() {
            match resolve_lever(lever, span, &format!("/levers/{i}")) {
                Ok(change) => {
                    if let Some(j) = self.levers[..i]
                        .iter()
                        .position(|other| clashes(other, lever))
                    {
                        errors.push(error(
                            format!("/levers/{i}"),
                            format!(
                                "a second {} lever for {} {}: /levers/{j} sets it already",
                                lever.kind.as_str(),
                                lever.category,
                                lever
                                    .element
                                    .map_or("(all elements)".to_owned(), |e| e.to_string())
                            ),
                        ));
                    }
                    changes.push(change);
                }
                Err(mut e) => errors.append(&mut e),
            }
        }
        if errors.is_empty() {
            Ok(changes)
        } else {
            Err(errors)
        }
    }
}

/// Two levers setting the same thing: a lifetime or a rate of the same category and element
/// (factors compose, so several thrifting, substitution or demand levers are fine).
fn clashes(a: &Lever, b: &Lever) -> bool {
    a.kind == b.kind
        && a.category == b.category
        && a.element == b.element
        && matches!(
            a.kind,
            LeverKind::Lifetime | LeverKind::CollectionRate | LeverKind::RecoveryYield
        )
}

fn resolve_lever(
    lever: &Lever,
    (first, last): (i32, i32),
    at: &str,
) -> Result<Change<Category, Element>, Vec<FieldError>> {
    let mut errors = Vec::new();
    let kind = lever.kind.as_str();
    let index = |year: i32| usize::try_from(year - first).unwrap_or(0);
    if !(first..=last).contains(&lever.from) {
        errors.push(error(
            format!("{at}/from"),
            format!(
                "must be within the model's years, {first} to {last}, got {}",
                lever.from
            ),
        ));
    }
    if lever.element.is_some() && !lever.kind.per_element() {
        errors.push(error(
            format!("{at}/element"),
            format!("a {kind} lever acts on whole products: it takes no element"),
        ));
    }
    for (field, present) in lever.present() {
        if present && !lever.kind.fields().contains(&field) {
            errors.push(error(
                format!("{at}/{field}"),
                format!("a {kind} lever takes no {field}"),
            ));
        }
    }
    let share = |v: f64| (0.0..=1.0).contains(&v);
    let effect = match lever.kind {
        LeverKind::Lifetime => match (lever.factor, lever.lifetime) {
            (Some(_), Some(_)) | (None, None) => {
                errors.push(error(
                    format!("{at}/factor"),
                    "a lifetime lever takes either factor or lifetime",
                ));
                Effect::LifetimeFactor(1.0)
            }
            (Some(_), None) => Effect::LifetimeFactor(needs(
                &mut errors,
                at,
                kind,
                "factor",
                lever.factor,
                &|v| v > 0.0 && v <= 100.0,
                "a lifetime factor is greater than 0 and at most 100",
            )),
            (None, Some(lifetime)) => Effect::NewLifetime(lifetime),
        },
        LeverKind::CollectionRate | LeverKind::RecoveryYield => {
            let target = needs(
                &mut errors,
                at,
                kind,
                "target",
                lever.target,
                &share,
                "a rate is a share in [0, 1]",
            );
            let by = lever.by.unwrap_or(lever.from);
            if by < lever.from || by > last {
                errors.push(error(
                    format!("{at}/by"),
                    format!("must be from `from` ({}) to {last}, got {by}", lever.from),
                ));
            }
            if lever.kind == LeverKind::CollectionRate {
                Effect::CollectionRate {
                    target,
                    by: index(by),
                }
            } else {
                Effect::RecoveryYield {
                    target,
                    by: index(by),
                }
            }
        }
        LeverKind::Thrifting => Effect::Content(needs(
            &mut errors,
            at,
            kind,
            "factor",
            lever.factor,
            &|v| (0.0..=1e6).contains(&v),
            "a content factor may not make the content negative: 0 or more (at most 10^6)",
        )),
        LeverKind::Substitution => Effect::Substitution(needs(
            &mut errors,
            at,
            kind,
            "share",
            lever.share,
            &share,
            "a share of products is in [0, 1]",
        )),
        LeverKind::Demand => Effect::Demand(needs(
            &mut errors,
            at,
            kind,
            "growth",
            lever.growth,
            &|v| (-1.0..=1.0).contains(&v),
            "growth per year is from -1 (-100 %) to 1 (+100 %)",
        )),
    };
    if errors.is_empty() {
        Ok(Change {
            category: lever.category,
            element: lever.element,
            from: index(lever.from),
            effect,
        })
    } else {
        Err(errors)
    }
}

/// The value of a required field, checked by `ok` (an error naming it otherwise).
#[allow(clippy::too_many_arguments)]
fn needs(
    errors: &mut Vec<FieldError>,
    at: &str,
    kind: &str,
    field: &str,
    value: Option<f64>,
    ok: &dyn Fn(f64) -> bool,
    what: &str,
) -> f64 {
    match value {
        None => {
            errors.push(error(
                format!("{at}/{field}"),
                format!("a {kind} lever needs {field}"),
            ));
            0.0
        }
        Some(v) if !v.is_finite() || !ok(v) => {
            errors.push(error(format!("{at}/{field}"), format!("{what}, got {v}")));
            0.0
        }
        Some(v) => v,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn definition(levers: serde_json::Value) -> ScenarioDefinition {
        serde_json::from_value(json!({"name": "test", "levers": levers})).unwrap()
    }

    fn pointers(levers: serde_json::Value) -> Vec<String> {
        definition(levers)
            .resolve((2020, 2050))
            .unwrap_err()
            .into_iter()
            .map(|e| e.pointer)
            .collect()
    }

    #[test]
    fn the_done_when_scenario_resolves() {
        let changes = definition(json!([
            {"kind": "thrifting", "category": "ev_traction_motor", "element": "Dy", "from": 2030, "factor": 0.5},
            {"kind": "collection_rate", "category": "ev_traction_motor", "from": 2026, "by": 2035, "target": 0.6},
            {"kind": "substitution", "category": "ev_traction_motor", "from": 2027, "share": 0.1},
        ]))
        .resolve((2020, 2050))
        .unwrap();
        assert_eq!(changes[0].from, 10);
        assert_eq!(changes[0].effect, Effect::Content(0.5));
        assert_eq!(
            changes[1].effect,
            Effect::CollectionRate {
                target: 0.6,
                by: 15
            }
        );
        assert_eq!(changes[2].effect, Effect::Substitution(0.1));
    }

    #[test]
    fn bad_levers_name_their_pointer() {
        assert_eq!(
            pointers(
                json!([{"kind": "substitution", "category": "laptop", "from": 2019, "share": 1.5}])
            ),
            ["/levers/0/from", "/levers/0/share"]
        );
        assert_eq!(
            pointers(
                json!([{"kind": "thrifting", "category": "laptop", "element": "Nd", "from": 2030, "factor": -0.5}])
            ),
            ["/levers/0/factor"]
        );
        assert_eq!(
            pointers(
                json!([{"kind": "collection_rate", "category": "laptop", "from": 2030, "by": 2060, "target": 0.5}])
            ),
            ["/levers/0/by"]
        );
        assert_eq!(
            pointers(
                json!([{"kind": "substitution", "category": "laptop", "element": "Nd", "from": 2030, "share": 0.5, "growth": 1}])
            ),
            ["/levers/0/element", "/levers/0/growth"]
        );
        assert_eq!(
            pointers(json!([{"kind": "lifetime", "category": "laptop", "from": 2030}])),
            ["/levers/0/factor"]
        );
        assert_eq!(
            pointers(json!([
                {"kind": "recovery_yield", "category": "laptop", "from": 2030, "target": 0.5},
                {"kind": "recovery_yield", "category": "laptop", "from": 2035, "target": 0.7}
            ])),
            ["/levers/1"]
        );
        let unknown = serde_json::from_value::<ScenarioDefinition>(
            json!({"name": "x", "levers": [{"kind": "thrifting", "category": "toaster", "from": 2030, "factor": 1}]}),
        );
        assert!(unknown.is_err());
        let mut blank = definition(json!([]));
        blank.name = " ".into();
        let errors = blank.resolve((2020, 2050)).unwrap_err();
        assert_eq!(errors[0].pointer, "/name");
    }
}
