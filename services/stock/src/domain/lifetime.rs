//! Product lifetime distributions and their survival functions.
//!
//! A [`Lifetime`] is the probability distribution of how long one unit of a product category stays
//! in use. The dynamic stock model only needs its survival function `S_L(a) = P(L > a)`, evaluated
//! at ages `a >= 0`; the parametrisations follow flodym 1.1.0 (`flodym/lifetime_models.py`), see
//! [`crate::domain::dsm`] for how the ages are chosen.

use serde::{Deserialize, Serialize};
use std::f64::consts::SQRT_2;
use utoipa::ToSchema;

/// A lifetime distribution with its parameters, as sent by API clients.
///
/// Deserialising validates the parameters, so a lifetime read from JSON is always usable; one
/// built in code is validated when a survival curve is made from it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(
    tag = "distribution",
    rename_all = "lowercase",
    try_from = "RawLifetime"
)]
pub enum Lifetime {
    /// Every unit leaves when it reaches age `mean` (years, `>= 0`); flodym's `FixedLifetime`.
    Fixed {
        /// The lifetime in years.
        mean: f64,
    },
    /// Normally distributed lifetime (years). No truncation at age zero: the probability mass
    /// below zero leaves in the inflow year, as in flodym's `NormalLifetime`.
    Normal {
        /// Mean lifetime in years, `> 0`.
        mean: f64,
        /// Standard deviation in years, `> 0`.
        sd: f64,
    },
    /// Weibull lifetime with the usual shape `k` and scale `lambda` (years):
    /// `S(a) = exp(-(a / lambda)^k)`.
    Weibull {
        /// Shape parameter `k`, `> 0`.
        shape: f64,
        /// Scale parameter `lambda` in years, `> 0`.
        scale: f64,
    },
    /// Log-normal lifetime given by the mean and standard deviation of the lifetime itself (not of
    /// its logarithm), as flodym's `LogNormalLifetime` and Excel's `LOGNORM.DIST`.
    #[serde(rename = "lognormal")]
    LogNormal {
        /// Mean lifetime in years, `> 0`.
        mean: f64,
        /// Standard deviation of the lifetime in years, `> 0`.
        sd: f64,
    },
}

/// A lifetime parameter that cannot describe a distribution.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum LifetimeError {
    /// The parameter is NaN or infinite.
    #[error("lifetime {distribution}.{field} must be a finite number, got {value}")]
    NotFinite {
        /// The distribution being parametrised (`"weibull"`, ...).
        distribution: &'static str,
        /// The offending field, as named in the JSON request.
        field: &'static str,
        /// The rejected value.
        value: f64,
    },
    /// The parameter must be strictly positive.
    #[error("lifetime {distribution}.{field} must be greater than zero, got {value}")]
    NotPositive {
        /// The distribution being parametrised.
        distribution: &'static str,
        /// The offending field.
        field: &'static str,
        /// The rejected value.
        value: f64,
    },
    /// The parameter must not be negative.
    #[error("lifetime {distribution}.{field} must not be negative, got {value}")]
    Negative {
        /// The distribution being parametrised.
        distribution: &'static str,
        /// The offending field.
        field: &'static str,
        /// The rejected value.
        value: f64,
    },
    /// Parameters each valid alone whose survival curve is not a share at some age (their
    /// ratio or scale overflows: e.g. a lognormal mean of 1e-300 with a deviation of 1e300).
    #[error(
        "lifetime {distribution} with these parameters has no finite survival share at age \
         {age} years (its parameters are out of any usable scale)"
    )]
    Degenerate {
        /// The distribution being parametrised.
        distribution: &'static str,
        /// The first age (years after inflow) where the survival share is not in [0, 1].
        age: f64,
    },
}

/// The ages (years after inflow) a survival curve is checked at: every half year up to the
/// longest span a model may cover.
pub const CHECKED_AGES: std::ops::RangeInclusive<u32> = 0..=2 * MAX_CHECKED_AGE;
/// The longest span, in years, a survival curve is checked over (the model's horizon is at most
/// 2200 and its first year 1900).
pub const MAX_CHECKED_AGE: u32 = 400;

/// The wire shape of [`Lifetime`], unvalidated; deserialisation goes through it so that invalid
/// parameters are rejected with a [`LifetimeError`] instead of producing NaN survival curves.
#[derive(Deserialize)]
#[serde(tag = "distribution", rename_all = "lowercase", deny_unknown_fields)]
enum RawLifetime {
    Fixed {
        mean: f64,
    },
    Normal {
        mean: f64,
        sd: f64,
    },
    Weibull {
        shape: f64,
        scale: f64,
    },
    #[serde(rename = "lognormal")]
    LogNormal {
        mean: f64,
        sd: f64,
    },
}

impl TryFrom<RawLifetime> for Lifetime {
    type Error = LifetimeError;

    fn try_from(raw: RawLifetime) -> Result<Self, Self::Error> {
        let lifetime = match raw {
            RawLifetime::Fixed { mean } => Lifetime::Fixed { mean },
            RawLifetime::Normal { mean, sd } => Lifetime::Normal { mean, sd },
            RawLifetime::Weibull { shape, scale } => Lifetime::Weibull { shape, scale },
            RawLifetime::LogNormal { mean, sd } => Lifetime::LogNormal { mean, sd },
        };
        lifetime.validate()?;
        Ok(lifetime)
    }
}

fn finite(
    distribution: &'static str,
    field: &'static str,
    value: f64,
) -> Result<f64, LifetimeError> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(LifetimeError::NotFinite {
            distribution,
            field,
            value,
        })
    }
}

fn positive(
    distribution: &'static str,
    field: &'static str,
    value: f64,
) -> Result<(), LifetimeError> {
    if finite(distribution, field, value)? > 0.0 {
        Ok(())
    } else {
        Err(LifetimeError::NotPositive {
            distribution,
            field,
            value,
        })
    }
}

fn non_negative(
    distribution: &'static str,
    field: &'static str,
    value: f64,
) -> Result<(), LifetimeError> {
    if finite(distribution, field, value)? >= 0.0 {
        Ok(())
    } else {
        Err(LifetimeError::Negative {
            distribution,
            field,
            value,
        })
    }
}

impl Lifetime {
    /// The distribution's name as used in the `distribution` JSON tag.
    pub fn name(&self) -> &'static str {
        match self {
            Lifetime::Fixed { .. } => "fixed",
            Lifetime::Normal { .. } => "normal",
            Lifetime::Weibull { .. } => "weibull",
            Lifetime::LogNormal { .. } => "lognormal",
        }
    }

    /// Checks that every parameter is finite and in range, naming the first bad field.
    ///
    /// A fixed lifetime of zero is allowed (everything leaves in its inflow year, as in flodym);
    /// all other parameters must be strictly positive.
    ///
    /// Then the survival curve itself is checked: at every half year up to
    /// [`MAX_CHECKED_AGE`], the share still in use must be a finite number in [0, 1], so that no
    /// accepted parameter set makes a modelled figure NaN or infinite.
    pub fn validate(&self) -> Result<(), LifetimeError> {
        self.check_ranges()?;
        let curve = Survival::of_valid(self);
        for half_years in CHECKED_AGES {
            let age = f64::from(half_years) / 2.0;
            let share = curve.at(age);
            if !(share.is_finite() && (0.0..=1.0).contains(&share)) {
                return Err(LifetimeError::Degenerate {
                    distribution: self.name(),
                    age,
                });
            }
        }
        Ok(())
    }

    /// Each parameter finite and in its range.
    fn check_ranges(&self) -> Result<(), LifetimeError> {
        let name = self.name();
        match *self {
            Lifetime::Fixed { mean } => non_negative(name, "mean", mean),
            Lifetime::Normal { mean, sd } | Lifetime::LogNormal { mean, sd } => {
                positive(name, "mean", mean)?;
                positive(name, "sd", sd)
            }
            Lifetime::Weibull { shape, scale } => {
                positive(name, "shape", shape)?;
                positive(name, "scale", scale)
            }
        }
    }

    /// The survival function `S_L(age) = P(L > age)`: the share of a cohort still in use at `age`
    /// years after its inflow.
    ///
    /// Validates the parameters first; to evaluate many ages, tabulate a
    /// [`SurvivalCurve`](crate::domain::dsm::SurvivalCurve) instead.
    pub fn survival(&self, age: f64) -> Result<f64, LifetimeError> {
        Ok(Survival::new(self)?.at(age))
    }
}

/// A validated lifetime prepared for repeated evaluation of its survival function.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Survival {
    Fixed {
        mean: f64,
    },
    Normal {
        mean: f64,
        sd: f64,
    },
    Weibull {
        shape: f64,
        scale: f64,
    },
    /// `mu` and `sigma` of the underlying normal distribution of `ln L`.
    LogNormal {
        mu: f64,
        sigma: f64,
    },
}

impl Survival {
    pub(crate) fn new(lifetime: &Lifetime) -> Result<Self, LifetimeError> {
        lifetime.check_ranges()?;
        Ok(Self::of_valid(lifetime))
    }

    /// The curve of parameters whose ranges are checked.
    fn of_valid(lifetime: &Lifetime) -> Self {
        match *lifetime {
            Lifetime::Fixed { mean } => Survival::Fixed { mean },
            Lifetime::Normal { mean, sd } => Survival::Normal { mean, sd },
            Lifetime::Weibull { shape, scale } => Survival::Weibull { shape, scale },
            Lifetime::LogNormal { mean, sd } => {
                // Moments of a log-normal: E[L] = exp(mu + sigma^2/2),
                // Var[L] = (exp(sigma^2) - 1) E[L]^2; solved for mu and sigma.
                let sigma2 = (1.0 + (sd / mean) * (sd / mean)).ln();
                Survival::LogNormal {
                    mu: mean.ln() - sigma2 / 2.0,
                    sigma: sigma2.sqrt(),
                }
            }
        }
    }

    pub(crate) fn at(&self, age: f64) -> f64 {
        match *self {
            // Strict `<`, as flodym: a unit with lifetime exactly `mean` is gone at age `mean`.
            Survival::Fixed { mean } => {
                if age < mean {
                    1.0
                } else {
                    0.0
                }
            }
            Survival::Normal { mean, sd } => upper_normal_tail((age - mean) / sd),
            Survival::Weibull { shape, scale } => {
                if age <= 0.0 {
                    1.0
                } else {
                    (-(age / scale).powf(shape)).exp()
                }
            }
            Survival::LogNormal { mu, sigma } => {
                if age <= 0.0 {
                    1.0
                } else {
                    upper_normal_tail((age.ln() - mu) / sigma)
                }
            }
        }
    }
}

/// `P(Z > z)` for a standard normal `Z`; `erfc` keeps full relative precision far in the tail,
/// where `1 - Phi(z)` would cancel to zero.
fn upper_normal_tail(z: f64) -> f64 {
    0.5 * libm::erfc(z / SQRT_2)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Standard normal upper tail values `1 - Phi(z)` from printed tables (Abramowitz & Stegun
    /// 26.2), to full double precision.
    const TAIL_1: f64 = 0.158_655_253_931_457_05;
    const TAIL_2: f64 = 0.022_750_131_948_179_21;
    const TAIL_3: f64 = 0.001_349_898_031_630_094_6;

    fn close(got: f64, want: f64, rel: f64) {
        assert!(
            (got - want).abs() <= rel * want.abs().max(f64::MIN_POSITIVE),
            "got {got:e}, want {want:e}"
        );
    }

    fn sf(lifetime: Lifetime, age: f64) -> f64 {
        lifetime.survival(age).unwrap()
    }

    /// `int_0^inf g(a) S(a) da` by composite Simpson's rule on `[0, upper]`.
    fn integrate(lifetime: Lifetime, upper: f64, g: impl Fn(f64) -> f64) -> f64 {
        let n = 200_000;
        let h = upper / n as f64;
        let f = |a: f64| g(a) * sf(lifetime, a);
        let inner: f64 = (1..n)
            .map(|i| f(i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 })
            .sum();
        (f(0.0) + inner + f(upper)) * h / 3.0
    }

    #[test]
    fn weibull_survival_is_exp_of_minus_scaled_age_to_the_shape() {
        let lifetime = Lifetime::Weibull {
            shape: 2.0,
            scale: 7.0,
        };
        close(sf(lifetime, 7.0), (-1.0f64).exp(), 1e-15);
        close(sf(lifetime, 3.5), (-0.25f64).exp(), 1e-15);
        close(sf(lifetime, 14.0), (-4.0f64).exp(), 1e-15);
        assert_eq!(sf(lifetime, 0.0), 1.0);
        // E[L] = int S = scale * Gamma(1 + 1/shape) = 7 * sqrt(pi) / 2.
        let mean = integrate(lifetime, 80.0, |_| 1.0);
        close(mean, 3.5 * std::f64::consts::PI.sqrt(), 1e-10);
    }

    #[test]
    fn normal_survival_matches_standard_normal_tails() {
        let lifetime = Lifetime::Normal {
            mean: 25.0,
            sd: 5.0,
        };
        assert_eq!(sf(lifetime, 25.0), 0.5);
        close(sf(lifetime, 30.0), TAIL_1, 1e-14);
        close(sf(lifetime, 35.0), TAIL_2, 1e-14);
        close(sf(lifetime, 40.0), TAIL_3, 1e-14);
        close(sf(lifetime, 20.0), 1.0 - TAIL_1, 1e-15);
        close(sf(lifetime, 10.0), 1.0 - TAIL_3, 1e-15);
    }

    #[test]
    fn parameters_whose_curve_is_no_share_are_refused() {
        // Each finite and positive, together out of scale: the curve would be NaN.
        let degenerate = Lifetime::LogNormal {
            mean: 1e-300,
            sd: 1e300,
        };
        assert!(matches!(
            degenerate.validate(),
            Err(LifetimeError::Degenerate { .. })
        ));
        let parsed: Result<Lifetime, _> =
            serde_json::from_str(r#"{"distribution": "lognormal", "mean": 1e-300, "sd": 1e300}"#);
        assert!(parsed.is_err());
        for ok in [
            Lifetime::LogNormal { mean: 7.0, sd: 2.5 },
            Lifetime::Weibull {
                shape: 0.05,
                scale: 1e-6,
            },
            Lifetime::Normal {
                mean: 1e-9,
                sd: 1e-12,
            },
            Lifetime::Fixed { mean: 0.0 },
        ] {
            assert!(ok.validate().is_ok(), "{ok:?}");
        }
    }

    #[test]
    fn lognormal_is_parametrised_by_the_lifetime_mean_and_sd() {
        let (mean, sd) = (7.0f64, 2.5f64);
        let lifetime = Lifetime::LogNormal { mean, sd };
        let sigma = (1.0 + (sd / mean).powi(2)).ln().sqrt();
        let median = mean / (1.0 + (sd / mean).powi(2)).sqrt();
        close(sf(lifetime, median), 0.5, 1e-15);
        close(sf(lifetime, median * sigma.exp()), TAIL_1, 1e-13);
        close(sf(lifetime, median * (2.0 * sigma).exp()), TAIL_2, 1e-13);
        // Cross-check against Python's statistics.NormalDist on ln(age).
        close(sf(lifetime, 10.0), 0.114_552_879_846_718_8, 1e-12);
        close(sf(lifetime, 5.0), 0.787_529_226_068_921_1, 1e-12);
        assert_eq!(sf(lifetime, 0.0), 1.0);
        // The moments of the lifetime itself: E[L] = int S, E[L^2] = int 2a S.
        let first = integrate(lifetime, 120.0, |_| 1.0);
        let second = integrate(lifetime, 120.0, |a| 2.0 * a);
        close(first, mean, 1e-9);
        close((second - first * first).sqrt(), sd, 1e-8);
    }

    #[test]
    fn fixed_lifetime_survives_strictly_below_its_mean() {
        let lifetime = Lifetime::Fixed { mean: 3.0 };
        assert_eq!(sf(lifetime, 0.0), 1.0);
        assert_eq!(sf(lifetime, 2.999), 1.0);
        assert_eq!(sf(lifetime, 3.0), 0.0);
        assert_eq!(sf(lifetime, 3.5), 0.0);
        assert_eq!(sf(Lifetime::Fixed { mean: 0.0 }, 0.0), 0.0);
    }

    #[test]
    fn invalid_parameters_name_the_field() {
        let cases = [
            (
                Lifetime::Weibull {
                    shape: 0.0,
                    scale: 17.0,
                },
                "shape",
            ),
            (
                Lifetime::Weibull {
                    shape: 3.0,
                    scale: f64::NAN,
                },
                "scale",
            ),
            (
                Lifetime::Normal {
                    mean: 25.0,
                    sd: -1.0,
                },
                "sd",
            ),
            (
                Lifetime::Normal {
                    mean: f64::INFINITY,
                    sd: 1.0,
                },
                "mean",
            ),
            (Lifetime::LogNormal { mean: 0.0, sd: 1.0 }, "mean"),
            (Lifetime::LogNormal { mean: 7.0, sd: 0.0 }, "sd"),
            (Lifetime::Fixed { mean: -1.0 }, "mean"),
        ];
        for (lifetime, field) in cases {
            let err = lifetime.validate().unwrap_err();
            let named = match err {
                LifetimeError::NotFinite { field, .. }
                | LifetimeError::NotPositive { field, .. }
                | LifetimeError::Negative { field, .. } => field,
                LifetimeError::Degenerate { .. } => "(the curve)",
            };
            assert_eq!(named, field, "{lifetime:?}");
            assert!(
                err.to_string()
                    .contains(&format!("{}.{field}", lifetime.name()))
            );
        }
        assert!(Lifetime::Fixed { mean: 0.0 }.validate().is_ok());
    }

    #[test]
    fn json_shapes_of_the_scenario_request() {
        let parse = |json: &str| serde_json::from_str::<Lifetime>(json).unwrap();
        assert_eq!(
            parse(r#"{"distribution": "weibull", "shape": 3.0, "scale": 17.0}"#),
            Lifetime::Weibull {
                shape: 3.0,
                scale: 17.0
            }
        );
        assert_eq!(
            parse(r#"{"distribution": "lognormal", "mean": 7.0, "sd": 2.5}"#),
            Lifetime::LogNormal { mean: 7.0, sd: 2.5 }
        );
        assert_eq!(
            parse(r#"{"distribution": "normal", "mean": 25.0, "sd": 5.0}"#),
            Lifetime::Normal {
                mean: 25.0,
                sd: 5.0
            }
        );
        assert_eq!(
            parse(r#"{"distribution": "fixed", "mean": 3}"#),
            Lifetime::Fixed { mean: 3.0 }
        );
        for lifetime in [
            Lifetime::Fixed { mean: 3.0 },
            Lifetime::LogNormal { mean: 7.0, sd: 2.5 },
        ] {
            let json = serde_json::to_value(lifetime).unwrap();
            assert_eq!(json["distribution"], lifetime.name());
            assert_eq!(serde_json::from_value::<Lifetime>(json).unwrap(), lifetime);
        }
    }

    #[test]
    fn json_with_bad_parameters_is_rejected() {
        let err = |json: &str| {
            serde_json::from_str::<Lifetime>(json)
                .unwrap_err()
                .to_string()
        };
        assert!(
            err(r#"{"distribution": "weibull", "shape": -3.0, "scale": 17.0}"#)
                .contains("weibull.shape")
        );
        assert!(
            err(r#"{"distribution": "lognormal", "mean": 7.0, "sd": 0}"#).contains("lognormal.sd")
        );
        assert!(err(r#"{"distribution": "gamma", "mean": 7.0}"#).contains("gamma"));
        assert!(err(r#"{"distribution": "weibull", "shape": 3.0}"#).contains("scale"));
        assert!(
            err(r#"{"distribution": "weibull", "shape": 3.0, "scale": 17.0, "sd": 1.0}"#)
                .contains("sd")
        );
    }
}
