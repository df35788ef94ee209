//! Exact masses: integer micrograms inside, grams in the API.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;
use utoipa::{PartialSchema, ToSchema};

use super::decimal::{self, DecimalError, FixedDecimal, MICROS_PER_UNIT};
use super::serde_schema;

/// A non-negative mass, stored as an exact count of micrograms.
///
/// Masses are summed and compared exactly (never as floats), so a passport's element masses
/// add up to the same total on every machine. In JSON a mass is a number of grams: `1500`,
/// `337.5`, `0.000001`; reading one is exact (see [`Mass::from_grams_str`] and the JSON rules
/// on `Deserialize`). Capped at 10^12 g (one million tonnes), far above any product or lot,
/// so that sums of many masses still fit in an `i64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Mass(i64);

/// Why a mass was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MassError {
    /// Not a decimal number of grams.
    #[error("mass must be a decimal number of grams such as 337.5, got \"{0}\"")]
    Syntax(String),
    /// Below zero.
    #[error("mass must not be negative, got {0} g")]
    Negative(String),
    /// NaN or infinite.
    #[error("mass must be a finite number of grams, got {0}")]
    NotFinite(String),
    /// Finer than a microgram.
    #[error(
        "mass has more precision than 1 microgram (more than 6 decimal places of a gram): {0} g"
    )]
    TooPrecise(String),
    /// Above [`Mass::MAX`].
    #[error("mass {0} g is above the maximum of 1000000000000 g")]
    TooLarge(String),
    /// A JSON number with more digits than a double carries exactly.
    #[error(
        "mass {value} g has {digits} significant digits but a JSON number carries at most 15 \
         exactly; send at most 15 significant digits and 6 decimal places"
    )]
    TooManyDigits {
        /// The number as it was read.
        value: String,
        /// How many significant digits it has.
        digits: usize,
    },
}

impl Mass {
    /// No mass at all.
    pub const ZERO: Mass = Mass(0);
    /// The largest mass accepted: 10^12 g.
    pub const MAX: Mass = Mass(1_000_000_000_000 * MICROS_PER_UNIT as i64);

    /// A mass of `micrograms`; refused when negative or above [`Mass::MAX`].
    pub fn from_micrograms(micrograms: i64) -> Result<Mass, MassError> {
        if micrograms < 0 {
            return Err(MassError::Negative(decimal_of_negative(micrograms)));
        }
        if micrograms > Mass::MAX.0 {
            return Err(MassError::TooLarge(decimal::format_micros(
                micrograms.unsigned_abs(),
            )));
        }
        Ok(Mass(micrograms))
    }

    /// A whole number of grams.
    pub fn from_grams(grams: u64) -> Result<Mass, MassError> {
        grams
            .checked_mul(MICROS_PER_UNIT)
            .and_then(|micros| i64::try_from(micros).ok())
            .filter(|&micros| micros <= Mass::MAX.0)
            .map(Mass)
            .ok_or_else(|| MassError::TooLarge(grams.to_string()))
    }

    /// Parses an exact decimal number of grams (`"337.5"`, `"1500"`, `"1.5e3"`), as found in
    /// CSV imports. No rounding: a seventh decimal place is an error.
    pub fn from_grams_str(grams: &str) -> Result<Mass, MassError> {
        decimal::parse_micros(grams, Mass::MAX.0.unsigned_abs())
            .map(Mass::from_micros_checked)
            .map_err(|kind| Mass::error(kind, grams))
    }

    /// The exact mass in micrograms.
    pub const fn micrograms(self) -> i64 {
        self.0
    }

    /// The nearest `f64` number of grams, for reports and models only: never add these up
    /// and store the result as a mass.
    pub fn to_grams_f64(self) -> f64 {
        decimal::micros_to_f64(self.0.unsigned_abs())
    }

    /// The exact number of grams as the shortest decimal: `"1500"`, `"337.5"`.
    pub fn to_grams_string(self) -> String {
        decimal::format_micros(self.0.unsigned_abs())
    }

    /// `self + other`, or `None` above [`Mass::MAX`].
    pub fn checked_add(self, other: Mass) -> Option<Mass> {
        self.0
            .checked_add(other.0)
            .filter(|&sum| sum <= Mass::MAX.0)
            .map(Mass)
    }

    /// `self - other`, or `None` if `other` is larger (a mass cannot go negative).
    pub fn checked_sub(self, other: Mass) -> Option<Mass> {
        self.0.checked_sub(other.0).filter(|&d| d >= 0).map(Mass)
    }

    /// The sum of all masses, or `None` if it goes above [`Mass::MAX`].
    pub fn checked_sum<I: IntoIterator<Item = Mass>>(masses: I) -> Option<Mass> {
        masses
            .into_iter()
            .try_fold(Mass::ZERO, |acc, m| acc.checked_add(m))
    }
}

fn decimal_of_negative(micrograms: i64) -> String {
    format!("-{}", decimal::format_micros(micrograms.unsigned_abs()))
}

impl FixedDecimal for Mass {
    const MAX_MICROS: u64 = Mass::MAX.0.unsigned_abs();
    const EXPECTING: &'static str = "a non-negative number of grams";
    type Error = MassError;

    fn from_micros_checked(micros: u64) -> Self {
        // MAX_MICROS is below i64::MAX, so the conversion cannot fail for checked input.
        Mass(i64::try_from(micros).expect("micrograms checked against Mass::MAX"))
    }

    fn error(kind: DecimalError, input: &str) -> MassError {
        let input = input.to_owned();
        match kind {
            DecimalError::Syntax => MassError::Syntax(input),
            DecimalError::Negative => MassError::Negative(input),
            DecimalError::NotFinite => MassError::NotFinite(input),
            DecimalError::TooPrecise => MassError::TooPrecise(input),
            DecimalError::TooLarge => MassError::TooLarge(input),
            DecimalError::TooManyDigits(digits) => MassError::TooManyDigits {
                value: input,
                digits,
            },
        }
    }
}

impl fmt::Display for Mass {
    /// Writes the exact mass with its unit: `337.5 g`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} g", self.to_grams_string())
    }
}

impl Serialize for Mass {
    /// A JSON number of grams: `1500` for whole grams, otherwise the exact decimal (`337.5`).
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        decimal::serialize_micros(self.0.unsigned_abs(), serializer)
    }
}

impl<'de> Deserialize<'de> for Mass {
    /// Reads a JSON number of grams exactly: integers as they are; other numbers through the
    /// shortest decimal of their f64. Refuses negatives, NaN/infinity, more than 6 decimal
    /// places, more than 15 significant digits and anything above [`Mass::MAX`]. A decimal
    /// string (from a query string or CSV) is read as [`Mass::from_grams_str`] does.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        decimal::deserialize_micros(deserializer)
    }
}

impl PartialSchema for Mass {
    fn schema() -> RefOr<Schema> {
        serde_schema::number_schema(
            "A mass in grams, exact to 1 microgram: at most 6 decimal places and 15 \
             significant digits, between 0 and 1e12.",
            0.0,
            1e12,
            337.5,
        )
    }
}

impl ToSchema for Mass {}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn grams(s: &str) -> Mass {
        Mass::from_grams_str(s).unwrap()
    }

    fn from_json(json: &str) -> Result<Mass, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn json_numbers_are_read_exactly() {
        assert_eq!(from_json("1500").unwrap().micrograms(), 1_500_000_000);
        assert_eq!(from_json("337.5").unwrap().micrograms(), 337_500_000);
        assert_eq!(from_json("0.000001").unwrap().micrograms(), 1);
        assert_eq!(from_json("1.5e3").unwrap(), grams("1500"));
        assert_eq!(from_json("0.1").unwrap().micrograms(), 100_000);
        assert_eq!(from_json("1000000000000").unwrap(), Mass::MAX);
        assert_eq!(
            from_json("123456789.123456").unwrap().micrograms(),
            123_456_789_123_456
        );
        assert_eq!(from_json("-0").unwrap(), Mass::ZERO);
    }

    #[test]
    fn json_errors_say_what_is_wrong() {
        let err = from_json("1.0000001").unwrap_err();
        assert!(
            err.starts_with("mass has more precision than 1 microgram"),
            "{err}"
        );
        assert!(
            from_json("-3")
                .unwrap_err()
                .starts_with("mass must not be negative, got -3 g")
        );
        assert!(
            from_json("-0.5")
                .unwrap_err()
                .starts_with("mass must not be negative, got -0.5 g")
        );
        let err = from_json("1e13").unwrap_err();
        assert!(
            err.starts_with("mass 10000000000000 g is above the maximum"),
            "{err}"
        );
        assert!(
            from_json("10000000000000")
                .unwrap_err()
                .contains("above the maximum")
        );
        let err = from_json("1234567.1234567891").unwrap_err();
        assert!(
            err.contains("significant digits but a JSON number carries at most 15"),
            "{err}"
        );
        assert!(
            from_json("true")
                .unwrap_err()
                .contains("a non-negative number of grams")
        );
        // Decimal strings (query strings, CSV) are read exactly too.
        assert_eq!(from_json("\"12.5\"").unwrap().micrograms(), 12_500_000);
        assert!(
            from_json("\"0.0000001\"")
                .unwrap_err()
                .starts_with("mass has more precision")
        );
        assert!(from_json("null").is_err());
    }

    #[test]
    fn serializes_integers_as_integers_and_decimals_exactly() {
        assert_eq!(serde_json::to_string(&grams("1500")).unwrap(), "1500");
        assert_eq!(serde_json::to_string(&grams("337.5")).unwrap(), "337.5");
        assert_eq!(serde_json::to_string(&grams("0.25")).unwrap(), "0.25");
        assert_eq!(serde_json::to_string(&Mass::ZERO).unwrap(), "0");
        assert_eq!(serde_json::to_string(&Mass::MAX).unwrap(), "1000000000000");
        for s in ["0.000001", "12.345678", "999999999.999999", "31.1", "0.3"] {
            let m = grams(s);
            let json = serde_json::to_string(&m).unwrap();
            assert_eq!(from_json(&json).unwrap(), m, "{s} -> {json}");
        }
    }

    #[test]
    fn grams_strings_are_exact_and_strict() {
        assert_eq!(grams("0.1").micrograms() * 3, grams("0.3").micrograms());
        assert_eq!(grams("2.000000").to_string(), "2 g");
        assert_eq!(grams("0.0000010").to_grams_string(), "0.000001");
        assert!(matches!(
            Mass::from_grams_str("0.0000001"),
            Err(MassError::TooPrecise(_))
        ));
        assert!(matches!(
            Mass::from_grams_str("-1"),
            Err(MassError::Negative(_))
        ));
        assert!(matches!(
            Mass::from_grams_str("1 g"),
            Err(MassError::Syntax(_))
        ));
        assert!(matches!(
            Mass::from_grams_str("1000000000000.5"),
            Err(MassError::TooLarge(_))
        ));
        assert_eq!(grams("337.5").to_grams_f64(), 337.5);
    }

    #[test]
    fn constructors_enforce_the_range() {
        assert_eq!(Mass::from_micrograms(5).unwrap().micrograms(), 5);
        let err = Mass::from_micrograms(-1_500_000).unwrap_err();
        assert_eq!(err.to_string(), "mass must not be negative, got -1.5 g");
        assert!(Mass::from_micrograms(Mass::MAX.micrograms() + 1).is_err());
        assert_eq!(Mass::from_grams(2).unwrap(), grams("2"));
        assert!(Mass::from_grams(u64::MAX).is_err());
    }

    #[test]
    fn arithmetic_is_checked() {
        let a = grams("0.1");
        let b = grams("0.2");
        assert_eq!(a.checked_add(b), Some(grams("0.3")));
        assert_eq!(b.checked_sub(a), Some(a));
        assert_eq!(a.checked_sub(b), None);
        assert_eq!(
            Mass::MAX.checked_add(Mass::from_micrograms(1).unwrap()),
            None
        );
        assert_eq!(Mass::checked_sum([a, b, a]), Some(grams("0.4")));
        assert_eq!(Mass::checked_sum([Mass::MAX, a]), None);
        assert_eq!(Mass::checked_sum([]), Some(Mass::ZERO));
        assert!(a < b);
    }
}
