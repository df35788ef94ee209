//! Economic operator identifiers: EORI numbers and Legal Entity Identifiers.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;
use utoipa::{PartialSchema, ToSchema};

use super::serde_schema;

/// Why an operator identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OperatorIdError {
    /// An EORI number of the wrong shape.
    #[error(
        "an EORI number is a 2-letter country code followed by 1 to 15 upper-case letters or \
         digits, got \"{0}\""
    )]
    Eori(String),
    /// An LEI of the wrong shape.
    #[error("an LEI is 18 upper-case letters or digits followed by 2 check digits, got \"{0}\"")]
    LeiFormat(String),
    /// An LEI whose check digits do not match (ISO 17442, ISO 7064 mod 97-10).
    #[error("LEI {lei} has invalid check digits: check digits should be {expected:02}")]
    LeiCheck {
        /// The LEI as given.
        lei: String,
        /// The check digits computed from the first 18 characters.
        expected: u32,
    },
    /// `scheme:value` text with an unknown scheme.
    #[error("unknown operator identifier scheme \"{0}\"; expected eori or lei")]
    Scheme(String),
}

/// An Economic Operators Registration and Identification number (EU customs): the issuing
/// country's two-letter code then up to 15 letters or digits, e.g. `DE1234567890123`.
///
/// The prefix is checked for shape only: EORI prefixes include codes that are not countries
/// in ISO 3166 (such as `XI`, Northern Ireland).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Eori(String);

impl Eori {
    /// Parses an upper-case EORI number.
    pub fn parse(s: &str) -> Result<Eori, OperatorIdError> {
        let b = s.as_bytes();
        let ok = (3..=17).contains(&b.len())
            && b[..2].iter().all(u8::is_ascii_uppercase)
            && b[2..]
                .iter()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if ok {
            Ok(Eori(s.to_owned()))
        } else {
            Err(OperatorIdError::Eori(s.to_owned()))
        }
    }

    /// The number as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A Legal Entity Identifier (ISO 17442): 18 letters or digits and two check digits that
/// make the whole, read as a base-36 number, equal 1 modulo 97 (ISO 7064 MOD 97-10).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Lei(String);

/// The remainder modulo 97 of an upper-case alphanumeric string read with A=10 ... Z=35.
fn mod97(s: &str) -> u32 {
    s.chars().fold(0, |acc, c| {
        let v = c.to_digit(36).unwrap_or(0);
        // Letters stand for two decimal digits, digits for one.
        let shift = if v >= 10 { 100 } else { 10 };
        (acc * shift + v) % 97
    })
}

impl Lei {
    /// Parses an upper-case LEI and verifies its check digits.
    pub fn parse(s: &str) -> Result<Lei, OperatorIdError> {
        let b = s.as_bytes();
        let shape = b.len() == 20
            && b[..18]
                .iter()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            && b[18..].iter().all(u8::is_ascii_digit);
        if !shape {
            return Err(OperatorIdError::LeiFormat(s.to_owned()));
        }
        if mod97(s) != 1 {
            let expected = 98 - mod97(&format!("{}00", &s[..18]));
            return Err(OperatorIdError::LeiCheck {
                lei: s.to_owned(),
                expected,
            });
        }
        Ok(Lei(s.to_owned()))
    }

    /// The LEI as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! string_id {
    ($name:ident, $expecting:literal, $description:literal, $pattern:literal, $example:literal) => {
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = OperatorIdError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::parse(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                serde_schema::deserialize_from_str(deserializer, $expecting)
            }
        }

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                serde_schema::string_schema($description, Some($pattern), $example)
            }
        }

        impl ToSchema for $name {}
    };
}

string_id!(
    Eori,
    "an EORI number",
    "An EORI number: a 2-letter country code then 1 to 15 upper-case letters or digits.",
    "^[A-Z]{2}[A-Z0-9]{1,15}$",
    "DE1234567890123"
);

string_id!(
    Lei,
    "a Legal Entity Identifier",
    "A Legal Entity Identifier (ISO 17442) with valid check digits.",
    "^[A-Z0-9]{18}[0-9]{2}$",
    "506700GE1G29325QX363"
);

/// How an economic operator (manufacturer, recycler, ...) is identified, written in JSON as
/// `{"scheme": "eori" | "lei", "value": "..."}` and in text as `scheme:value`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(tag = "scheme", content = "value", rename_all = "lowercase")]
pub enum OperatorId {
    /// An EU customs EORI number.
    Eori(Eori),
    /// An ISO 17442 Legal Entity Identifier.
    Lei(Lei),
}

impl OperatorId {
    /// The scheme name: `"eori"` or `"lei"`.
    pub fn scheme(&self) -> &'static str {
        match self {
            OperatorId::Eori(_) => "eori",
            OperatorId::Lei(_) => "lei",
        }
    }

    /// The identifier itself.
    pub fn value(&self) -> &str {
        match self {
            OperatorId::Eori(eori) => eori.as_str(),
            OperatorId::Lei(lei) => lei.as_str(),
        }
    }
}

impl fmt::Display for OperatorId {
    /// `eori:DE1234567890123`, `lei:506700GE1G29325QX363`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.scheme(), self.value())
    }
}

impl FromStr for OperatorId {
    type Err = OperatorIdError;

    /// Parses `scheme:value`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once(':') {
            Some(("eori", value)) => Eori::parse(value).map(OperatorId::Eori),
            Some(("lei", value)) => Lei::parse(value).map(OperatorId::Lei),
            Some((scheme, _)) => Err(OperatorIdError::Scheme(scheme.to_owned())),
            None => Err(OperatorIdError::Scheme(s.to_owned())),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn published_leis_pass_the_mod_97_check() {
        // GLEIF's own LEI, Apple Inc. and Deutsche Bank AG, from the GLEIF register.
        for lei in [
            "506700GE1G29325QX363",
            "HWUPKR0MPOU8FGXBT394",
            "7LTWFZYICNSX8D621K86",
        ] {
            assert_eq!(Lei::parse(lei).unwrap().as_str(), lei);
        }
    }

    #[test]
    fn lei_errors_give_the_right_check_digits() {
        let err = Lei::parse("506700GE1G29325QX364").unwrap_err();
        assert_eq!(
            err,
            OperatorIdError::LeiCheck {
                lei: "506700GE1G29325QX364".into(),
                expected: 63
            }
        );
        assert!(err.to_string().ends_with("check digits should be 63"));
        // Swapping two characters is caught.
        assert!(Lei::parse("HWUPKR0MPOU8FGXBT349").is_err());
        assert!(matches!(
            Lei::parse("506700ge1g29325qx363"),
            Err(OperatorIdError::LeiFormat(_))
        ));
        assert!(matches!(
            Lei::parse("506700GE1G29325QX36"),
            Err(OperatorIdError::LeiFormat(_))
        ));
        assert!(matches!(
            Lei::parse("506700GE1G29325QXA3"),
            Err(OperatorIdError::LeiFormat(_))
        ));
    }

    #[test]
    fn eori_shape() {
        for ok in [
            "DE1234567890123",
            "FR12345678901234",
            "XI123456789000",
            "GB123456789000",
            "NL1",
        ] {
            assert!(Eori::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "DE",
            "de123",
            "D1234",
            "DE1234567890123456",
            "DE-123",
            "12345",
        ] {
            let err = Eori::parse(bad).unwrap_err().to_string();
            assert!(
                err.starts_with("an EORI number is a 2-letter country code"),
                "{err}"
            );
        }
    }

    #[test]
    fn json_is_scheme_and_value() {
        let id = OperatorId::Lei(Lei::parse("506700GE1G29325QX363").unwrap());
        let json = serde_json::to_value(&id).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"scheme": "lei", "value": "506700GE1G29325QX363"})
        );
        assert_eq!(serde_json::from_value::<OperatorId>(json).unwrap(), id);
        let eori: OperatorId =
            serde_json::from_str(r#"{"scheme":"eori","value":"DE1234567890123"}"#).unwrap();
        assert_eq!((eori.scheme(), eori.value()), ("eori", "DE1234567890123"));
        let err = serde_json::from_str::<OperatorId>(
            r#"{"scheme":"lei","value":"506700GE1G29325QX364"}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("check digits should be 63"), "{err}");
        assert!(serde_json::from_str::<OperatorId>(r#"{"scheme":"duns","value":"1"}"#).is_err());
    }

    #[test]
    fn text_form_round_trips() {
        for text in ["eori:DE1234567890123", "lei:506700GE1G29325QX363"] {
            assert_eq!(text.parse::<OperatorId>().unwrap().to_string(), text);
        }
        assert_eq!(
            "duns:123".parse::<OperatorId>(),
            Err(OperatorIdError::Scheme("duns".into()))
        );
    }
}
