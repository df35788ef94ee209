//! GS1 Global Trade Item Numbers.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;
use utoipa::{PartialSchema, ToSchema};

use super::serde_schema;

/// A GTIN with a verified check digit, held in its 14-digit form.
///
/// GTIN-8, -12 (UPC-A) and -13 (EAN) are accepted and padded with leading zeros to 14 digits,
/// the form GS1 Digital Link requires (`/01/{14 digits}`); the check digit is the same in
/// every length because the GS1 weights run from the right.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Gtin([u8; 14]);

/// Why a GTIN was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GtinError {
    /// Something other than the digits 0-9.
    #[error("GTIN must contain only digits 0-9, got \"{0}\"")]
    NotDigits(String),
    /// Not 8, 12, 13 or 14 digits long.
    #[error("GTIN must have 8, 12, 13 or 14 digits, got {0}")]
    Length(usize),
    /// The last digit does not match the GS1 mod-10 check digit of the others.
    #[error(
        "GTIN {gtin} has an invalid check digit: check digit should be {expected}, got {found}"
    )]
    CheckDigit {
        /// The GTIN as given.
        gtin: String,
        /// The check digit computed from the other digits.
        expected: u8,
        /// The last digit given.
        found: u8,
    },
}

/// The GS1 mod-10 check digit of `digits` (values 0-9, without the check digit): weights 3
/// and 1 alternate from the rightmost digit, and the check digit brings the sum to a multiple
/// of ten.
pub fn gs1_check_digit(digits: &[u8]) -> u8 {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| u32::from(d) * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    // The result is below 10 by construction.
    ((10 - sum % 10) % 10) as u8
}

impl Gtin {
    /// The identifier scheme of GTINs as UNTP names it (`idScheme.id`): GS1's resolver for AI 01.
    pub const SCHEME: &'static str = "https://id.gs1.org/01/";

    /// Parses 8, 12, 13 or 14 digits and checks the check digit.
    pub fn parse(s: &str) -> Result<Gtin, GtinError> {
        if !s.bytes().all(|b| b.is_ascii_digit()) || s.is_empty() {
            return Err(GtinError::NotDigits(s.to_owned()));
        }
        if !matches!(s.len(), 8 | 12 | 13 | 14) {
            return Err(GtinError::Length(s.len()));
        }
        let mut digits = [0u8; 14];
        for (slot, b) in digits[14 - s.len()..].iter_mut().zip(s.bytes()) {
            *slot = b - b'0';
        }
        let expected = gs1_check_digit(&digits[..13]);
        if digits[13] != expected {
            return Err(GtinError::CheckDigit {
                gtin: s.to_owned(),
                expected,
                found: digits[13],
            });
        }
        Ok(Gtin(digits.map(|d| d + b'0')))
    }

    /// Builds a GTIN-14 from its first 13 digits (values 0-9), appending the check digit.
    /// Returns `None` if a value is not a single digit.
    pub fn from_digits_without_check(digits: [u8; 13]) -> Option<Gtin> {
        if digits.iter().any(|&d| d > 9) {
            return None;
        }
        let mut all = [0u8; 14];
        all[..13].copy_from_slice(&digits);
        all[13] = gs1_check_digit(&digits);
        Some(Gtin(all.map(|d| d + b'0')))
    }

    /// The 14-digit form, e.g. `"09506000134352"`.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("a GTIN holds ASCII digits only")
    }

    /// The digit values 0-9 of the 14-digit form.
    pub fn digits(&self) -> [u8; 14] {
        self.0.map(|b| b - b'0')
    }
}

impl fmt::Display for Gtin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Gtin {
    type Err = GtinError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Gtin::parse(s)
    }
}

impl Serialize for Gtin {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Gtin {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        serde_schema::deserialize_from_str(deserializer, "a GTIN of 8, 12, 13 or 14 digits")
    }
}

impl PartialSchema for Gtin {
    fn schema() -> RefOr<Schema> {
        serde_schema::string_schema(
            "A GS1 GTIN-8, -12, -13 or -14 with a valid check digit; always returned as 14 \
             digits.",
            Some(r"^(\d{8}|\d{12,14})$"),
            "09506000134352",
        )
    }
}

impl ToSchema for Gtin {}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn accepts_published_gtins_in_every_length() {
        // GS1 Digital Link standard example GTIN.
        assert_eq!(
            Gtin::parse("09506000134352").unwrap().as_str(),
            "09506000134352"
        );
        // GTIN-13 (EAN-13) printed on a Stabilo product, the usual textbook example.
        assert_eq!(
            Gtin::parse("4006381333931").unwrap().as_str(),
            "04006381333931"
        );
        // GTIN-12 (UPC-A) textbook example.
        assert_eq!(
            Gtin::parse("036000291452").unwrap().as_str(),
            "00036000291452"
        );
        // GTIN-8 (EAN-8) textbook example.
        assert_eq!(Gtin::parse("96385074").unwrap().as_str(), "00000096385074");
        // From the GS1 EPCIS 2.0 example documents (Digital Link form of an LGTIN).
        assert_eq!(Gtin::parse("00614141777778").unwrap().digits()[13], 8);
    }

    #[test]
    fn check_digit_errors_name_the_right_digit() {
        let err = Gtin::parse("09506000134353").unwrap_err();
        assert_eq!(
            err,
            GtinError::CheckDigit {
                gtin: "09506000134353".into(),
                expected: 2,
                found: 3
            }
        );
        assert!(err.to_string().contains("check digit should be 2"), "{err}");
        assert!(
            Gtin::parse("4006381333932")
                .unwrap_err()
                .to_string()
                .contains("should be 1")
        );
    }

    #[test]
    fn refuses_wrong_lengths_and_characters() {
        assert_eq!(
            Gtin::parse("0950600013435"),
            Err(GtinError::CheckDigit {
                gtin: "0950600013435".into(),
                expected: 9,
                found: 5
            })
        );
        assert_eq!(Gtin::parse("12345678901"), Err(GtinError::Length(11)));
        assert_eq!(Gtin::parse("095060001343520"), Err(GtinError::Length(15)));
        assert!(matches!(
            Gtin::parse("0950600013435X"),
            Err(GtinError::NotDigits(_))
        ));
        assert!(matches!(Gtin::parse(""), Err(GtinError::NotDigits(_))));
        assert!(matches!(
            Gtin::parse(" 96385074"),
            Err(GtinError::NotDigits(_))
        ));
    }

    #[test]
    fn every_single_digit_error_is_caught() {
        let good = Gtin::parse("09506000134352").unwrap().digits();
        for position in 0..14 {
            for delta in 1..10 {
                let mut bad = good;
                bad[position] = (bad[position] + delta) % 10;
                let text: String = bad.iter().map(|d| char::from(b'0' + d)).collect();
                assert!(Gtin::parse(&text).is_err(), "{text}");
            }
        }
    }

    #[test]
    fn json_is_the_14_digit_form() {
        let gtin: Gtin = serde_json::from_str("\"96385074\"").unwrap();
        assert_eq!(serde_json::to_string(&gtin).unwrap(), "\"00000096385074\"");
        let err = serde_json::from_str::<Gtin>("\"96385075\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("check digit should be 4"), "{err}");
        let built =
            Gtin::from_digits_without_check([0, 0, 6, 1, 4, 1, 4, 1, 7, 7, 7, 7, 7]).unwrap();
        assert_eq!(built.as_str(), "00614141777778");
    }
}
