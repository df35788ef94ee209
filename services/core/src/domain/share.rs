//! Exact shares between 0 and 1, such as recycled content or a mass fraction.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;
use utoipa::{PartialSchema, ToSchema};

use super::decimal::{self, DecimalError, FixedDecimal, MICROS_PER_UNIT};
use super::serde_schema;

/// A share of a whole, from 0 to 1 inclusive, stored as exact parts per million.
///
/// Used for recycled content (pre- and post-consumer) and mass fractions (UNTP
/// `massFraction`). In JSON it is a number (`0.25`, `1`); reading one follows the same exact
/// rules as [`Mass`](super::Mass): at most 6 decimal places, no rounding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Share(u32);

/// Why a share was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShareError {
    /// Not a decimal number.
    #[error("share must be a decimal number between 0 and 1 such as 0.25, got \"{0}\"")]
    Syntax(String),
    /// Below zero or above one.
    #[error("share must be between 0 and 1, got {0}")]
    OutOfRange(String),
    /// NaN or infinite.
    #[error("share must be a finite number between 0 and 1, got {0}")]
    NotFinite(String),
    /// Finer than one part per million.
    #[error("share has more precision than one part per million (more than 6 decimal places): {0}")]
    TooPrecise(String),
}

impl Share {
    /// Nothing.
    pub const ZERO: Share = Share(0);
    /// The whole.
    pub const ONE: Share = Share(1_000_000);

    /// A share of `ppm` parts per million; refused above 1,000,000.
    pub fn from_ppm(ppm: u32) -> Result<Share, ShareError> {
        if ppm > Share::ONE.0 {
            return Err(ShareError::OutOfRange(decimal::format_micros(u64::from(
                ppm,
            ))));
        }
        Ok(Share(ppm))
    }

    /// Parses an exact decimal (`"0.25"`, `"1"`, `"2.5e-1"`).
    pub fn from_decimal_str(s: &str) -> Result<Share, ShareError> {
        decimal::parse_micros(s, u64::from(Share::ONE.0))
            .map(Share::from_micros_checked)
            .map_err(|kind| Share::error(kind, s))
    }

    /// The exact share in parts per million.
    pub const fn ppm(self) -> u32 {
        self.0
    }

    /// The nearest `f64`, for reports and models.
    pub fn to_f64(self) -> f64 {
        decimal::micros_to_f64(u64::from(self.0))
    }

    /// What is left of the whole: `1 - self`.
    pub const fn complement(self) -> Share {
        Share(Share::ONE.0 - self.0)
    }
}

impl FixedDecimal for Share {
    const MAX_MICROS: u64 = MICROS_PER_UNIT;
    const EXPECTING: &'static str = "a number between 0 and 1";
    type Error = ShareError;

    fn from_micros_checked(micros: u64) -> Self {
        Share(u32::try_from(micros).expect("parts per million checked against Share::ONE"))
    }

    fn error(kind: DecimalError, input: &str) -> ShareError {
        let input = input.to_owned();
        match kind {
            DecimalError::Syntax => ShareError::Syntax(input),
            DecimalError::Negative | DecimalError::TooLarge => ShareError::OutOfRange(input),
            DecimalError::NotFinite => ShareError::NotFinite(input),
            // A share has at most 7 significant digits when valid, so too many digits for a
            // JSON number always means too many decimals.
            DecimalError::TooPrecise | DecimalError::TooManyDigits(_) => {
                ShareError::TooPrecise(input)
            }
        }
    }
}

impl fmt::Display for Share {
    /// The exact decimal: `0.25`, `1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&decimal::format_micros(u64::from(self.0)))
    }
}

impl Serialize for Share {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        decimal::serialize_micros(u64::from(self.0), serializer)
    }
}

impl<'de> Deserialize<'de> for Share {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        decimal::deserialize_micros(deserializer)
    }
}

impl PartialSchema for Share {
    fn schema() -> RefOr<Schema> {
        serde_schema::number_schema(
            "A share of a whole between 0 and 1, exact to one part per million (at most 6 \
             decimal places).",
            0.0,
            1.0,
            0.25,
        )
    }
}

impl ToSchema for Share {}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn from_json(json: &str) -> Result<Share, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn reads_and_writes_exact_shares() {
        assert_eq!(from_json("0.25").unwrap().ppm(), 250_000);
        assert_eq!(from_json("1").unwrap(), Share::ONE);
        assert_eq!(from_json("0").unwrap(), Share::ZERO);
        assert_eq!(from_json("0.000001").unwrap().ppm(), 1);
        assert_eq!(from_json("1.0").unwrap(), Share::ONE);
        assert_eq!(serde_json::to_string(&Share::ONE).unwrap(), "1");
        assert_eq!(
            serde_json::to_string(&Share::from_ppm(250_000).unwrap()).unwrap(),
            "0.25"
        );
        assert_eq!(serde_json::to_string(&Share::ZERO).unwrap(), "0");
        assert_eq!(
            Share::from_decimal_str("0.125").unwrap().to_string(),
            "0.125"
        );
        assert_eq!(
            Share::from_decimal_str("0.3").unwrap().complement().ppm(),
            700_000
        );
        assert_eq!(Share::from_ppm(123_456).unwrap().to_f64(), 0.123456);
    }

    #[test]
    fn refuses_out_of_range_and_overly_precise_values() {
        assert!(
            from_json("1.5")
                .unwrap_err()
                .starts_with("share must be between 0 and 1, got 1.5")
        );
        assert!(
            from_json("-0.1")
                .unwrap_err()
                .starts_with("share must be between 0 and 1, got -0.1")
        );
        assert!(
            from_json("2")
                .unwrap_err()
                .starts_with("share must be between 0 and 1, got 2")
        );
        assert!(
            from_json("0.1234567")
                .unwrap_err()
                .starts_with("share has more precision than one part per million")
        );
        assert!(
            from_json("0.30000000000000004")
                .unwrap_err()
                .starts_with("share has more precision")
        );
        assert!(Share::from_ppm(1_000_001).is_err());
        assert!(matches!(
            Share::from_decimal_str("25%"),
            Err(ShareError::Syntax(_))
        ));
    }
}
