//! GS1 serial numbers (AI 21) and lot/batch numbers (AI 10), and their percent-encoding in
//! GS1 Digital Link URIs.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;
use utoipa::{PartialSchema, ToSchema};

use super::serde_schema;

/// The symbols of the GS1 AI encodable character set 82 (GS1 General Specifications,
/// figure 7.11-1); the rest of the set is the digits and the letters A-Z, a-z.
const SET_82_SYMBOLS: &[u8] = b"!\"%&'()*+,-./:;<=>?_";
/// Longest value of AI 10 and AI 21.
const MAX_LEN: usize = 20;
/// The set 82 as a regular expression character class, for the OpenAPI schema.
const SET_82_PATTERN: &str = r#"^[!"%-?A-Z_a-z]{1,20}$"#;

/// Whether `b` is in the GS1 AI encodable character set 82.
pub fn is_gs1_set_82(b: u8) -> bool {
    b.is_ascii_alphanumeric() || SET_82_SYMBOLS.contains(&b)
}

/// Why a serial or lot number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Gs1TextError {
    /// Zero characters.
    #[error("{what} must not be empty")]
    Empty {
        /// Which identifier.
        what: &'static str,
    },
    /// More than 20 characters.
    #[error("{what} must be at most 20 characters, got {len}")]
    TooLong {
        /// Which identifier.
        what: &'static str,
        /// Its length in characters.
        len: usize,
    },
    /// A character outside set 82.
    #[error(
        "{what} contains {found:?} at position {position}, which is not in the GS1 character \
         set 82 (digits, letters A-Z a-z and !\"%&'()*+,-./:;<=>?_)"
    )]
    InvalidChar {
        /// Which identifier.
        what: &'static str,
        /// The offending character.
        found: char,
        /// Its position, counting characters from 1.
        position: usize,
    },
    /// A `%` not followed by two hexadecimal digits in a URI.
    #[error("{what} has a malformed percent-encoding in \"{input}\"")]
    BadPercentEncoding {
        /// Which identifier.
        what: &'static str,
        /// The encoded text.
        input: String,
    },
}

fn validate(what: &'static str, s: &str) -> Result<(), Gs1TextError> {
    if s.is_empty() {
        return Err(Gs1TextError::Empty { what });
    }
    if let Some((i, found)) = s
        .chars()
        .enumerate()
        .find(|&(_, c)| !u8::try_from(c).is_ok_and(is_gs1_set_82))
    {
        return Err(Gs1TextError::InvalidChar {
            what,
            found,
            position: i + 1,
        });
    }
    // All characters are ASCII by now, so bytes are characters.
    if s.len() > MAX_LEN {
        return Err(Gs1TextError::TooLong { what, len: s.len() });
    }
    Ok(())
}

/// Percent-encodes a set-82 value for a URI path segment: everything but letters, digits and
/// `-._` (RFC 3986 unreserved characters) becomes `%XX`, as GS1 Digital Link requires.
pub(crate) fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes; any other character stays as it is. A `%` that does not start a
/// valid escape is an error, so that `%` can only mean one thing.
pub(crate) fn percent_decode(what: &'static str, s: &str) -> Result<String, Gs1TextError> {
    let bad = || Gs1TextError::BadPercentEncoding {
        what,
        input: s.to_owned(),
    };
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or_else(bad)?;
            let hex = std::str::from_utf8(hex).map_err(|_| bad())?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    // Bytes that are not UTF-8 are not set 82 either: they show up as U+FFFD in the error.
    Ok(String::from_utf8_lossy(&out).into_owned())
}

macro_rules! gs1_text_type {
    ($(#[$doc:meta])* $name:ident, $what:literal, $ai:literal, $example:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// What error messages call this identifier.
            pub const WHAT: &'static str = $what;
            /// Its GS1 Application Identifier.
            pub const AI: &'static str = $ai;

            /// Parses 1 to 20 characters of the GS1 character set 82.
            pub fn parse(s: &str) -> Result<Self, Gs1TextError> {
                validate(Self::WHAT, s).map(|()| Self(s.to_owned()))
            }

            /// Parses a value as written in a URI path segment, decoding `%XX` first.
            pub fn from_percent_encoded(s: &str) -> Result<Self, Gs1TextError> {
                Self::parse(&percent_decode(Self::WHAT, s)?)
            }

            /// The value itself, unencoded.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The value encoded for a URI path segment (`A/B` becomes `A%2FB`).
            pub fn percent_encoded(&self) -> String {
                percent_encode(&self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = Gs1TextError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                serde_schema::deserialize_from_str(
                    deserializer,
                    concat!("a ", $what, ": 1 to 20 characters of GS1 character set 82"),
                )
            }
        }

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                serde_schema::string_schema(
                    concat!(
                        "A GS1 ", $what,
                        ": 1 to 20 characters from the GS1 AI encodable character set 82 \
                         (digits, letters and !\"%&'()*+,-./:;<=>?_), unencoded."
                    ),
                    Some(SET_82_PATTERN),
                    $example,
                )
            }
        }

        impl ToSchema for $name {}
    };
}

gs1_text_type!(
    /// A GS1 serial number (AI 21): with a GTIN it identifies one item (an SGTIN).
    SerialNumber,
    "serial number (AI 21)",
    "21",
    "12345XYZ"
);

gs1_text_type!(
    /// A GS1 batch or lot number (AI 10): with a GTIN it identifies a batch (an LGTIN).
    LotNumber,
    "lot number (AI 10)",
    "10",
    "ABC123"
);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn set_82_has_82_characters() {
        assert_eq!((0u8..=127).filter(|&b| is_gs1_set_82(b)).count(), 82);
        for excluded in [
            b' ', b'#', b'$', b'@', b'[', b'\\', b']', b'^', b'`', b'{', b'|', b'}', b'~',
        ] {
            assert!(!is_gs1_set_82(excluded), "{}", char::from(excluded));
        }
    }

    #[test]
    fn accepts_set_82_up_to_20_characters() {
        assert_eq!(
            SerialNumber::parse("12345XYZ").unwrap().as_str(),
            "12345XYZ"
        );
        assert!(LotNumber::parse("ABC/1-2.3_(x)").is_ok());
        assert!(SerialNumber::parse("!\"%&'()*+,-./:;<=>?_").is_ok()); // all 20 symbols
        assert!(SerialNumber::parse(&"9".repeat(20)).is_ok());
    }

    #[test]
    fn errors_name_the_rule_broken() {
        assert_eq!(
            SerialNumber::parse("").unwrap_err().to_string(),
            "serial number (AI 21) must not be empty"
        );
        assert_eq!(
            LotNumber::parse(&"A".repeat(21)).unwrap_err().to_string(),
            "lot number (AI 10) must be at most 20 characters, got 21"
        );
        let err = SerialNumber::parse("AB C").unwrap_err();
        assert_eq!(
            err,
            Gs1TextError::InvalidChar {
                what: SerialNumber::WHAT,
                found: ' ',
                position: 3
            }
        );
        assert!(err.to_string().contains("not in the GS1 character set 82"));
        assert!(SerialNumber::parse("Ä1").is_err());
        let err = serde_json::from_str::<LotNumber>("\"A#1\"")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("lot number (AI 10) contains '#' at position 2"),
            "{err}"
        );
    }

    #[test]
    fn percent_encoding_round_trips_every_symbol() {
        let serial = SerialNumber::parse("A/B%C?D&E\"F").unwrap();
        assert_eq!(serial.percent_encoded(), "A%2FB%25C%3FD%26E%22F");
        let lot = LotNumber::parse("(1)+2,3;4=5!*'").unwrap();
        assert_eq!(lot.percent_encoded(), "%281%29%2B2%2C3%3B4%3D5%21%2A%27");
        assert_eq!(
            LotNumber::parse("a-b.c_D9").unwrap().percent_encoded(),
            "a-b.c_D9"
        );
        let all = SerialNumber::parse("!\"%&'()*+,-./:;<=>?_").unwrap();
        assert_eq!(
            SerialNumber::from_percent_encoded(&all.percent_encoded()).unwrap(),
            all
        );
        // Decoding accepts lower-case hex and unencoded symbols that are unambiguous.
        assert_eq!(
            SerialNumber::from_percent_encoded("A%2fB(1)")
                .unwrap()
                .as_str(),
            "A/B(1)"
        );
        assert!(matches!(
            SerialNumber::from_percent_encoded("50%"),
            Err(Gs1TextError::BadPercentEncoding { .. })
        ));
        assert!(SerialNumber::from_percent_encoded("%G1").is_err());
        assert!(SerialNumber::from_percent_encoded("%20").is_err()); // decodes to a space
    }
}
