//! EPCIS identifiers for trade items: SGTIN (one item) and LGTIN (a batch), written as
//! canonical GS1 Digital Link URIs and read from those or from EPC URNs.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;
use utoipa::{PartialSchema, ToSchema};

use super::digital_link::{DigitalLink, DigitalLinkError, DigitalLinkPath};
use super::gs1_text::{Gs1TextError, LotNumber, SerialNumber};
use super::gtin::Gtin;
use super::serde_schema;

/// Why an SGTIN or LGTIN was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EpcError {
    /// A malformed Digital Link.
    #[error(transparent)]
    DigitalLink(#[from] DigitalLinkError),
    /// A bad serial or lot number.
    #[error(transparent)]
    Text(#[from] Gs1TextError),
    /// A Digital Link that names something else (a class, a lot instead of an item, ...).
    #[error("\"{input}\" is not {expected}")]
    Kind {
        /// The input.
        input: String,
        /// What was expected, in words.
        expected: &'static str,
    },
    /// A malformed EPC URN.
    #[error("malformed EPC URN \"{input}\": {reason}")]
    Urn {
        /// The input.
        input: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A GS1 company prefix length outside 6..=12.
    #[error("a GS1 company prefix has 6 to 12 digits, got {0}")]
    CompanyPrefixLength(usize),
}

/// Splits `{company prefix}.{indicator + item reference}.{rest}` of an EPC URN into the GTIN
/// and the still-escaped rest. The GTIN is the indicator digit, the company prefix, the item
/// reference and a computed check digit (EPC Tag Data Standard, SGTIN/LGTIN).
fn split_urn<'a>(input: &str, body: &'a str) -> Result<(Gtin, &'a str), EpcError> {
    let bad = |reason| EpcError::Urn {
        input: input.to_owned(),
        reason,
    };
    let mut parts = body.splitn(3, '.');
    let (Some(prefix), Some(item), Some(rest)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad(
            "expected {company prefix}.{indicator and item reference}.{value}",
        ));
    };
    let digits_only = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits_only(prefix) || !digits_only(item) {
        return Err(bad("the company prefix and item reference must be digits"));
    }
    if !(6..=12).contains(&prefix.len()) || prefix.len() + item.len() != 13 {
        return Err(bad(
            "company prefix (6-12 digits) and item reference must total 13 digits",
        ));
    }
    let mut digits = [0u8; 13];
    let ordered = item[..1]
        .bytes()
        .chain(prefix.bytes())
        .chain(item[1..].bytes());
    for (slot, b) in digits.iter_mut().zip(ordered) {
        *slot = b - b'0';
    }
    let gtin = Gtin::from_digits_without_check(digits).ok_or_else(|| bad("not digits"))?;
    if rest.is_empty() {
        return Err(bad("the serial or lot part is empty"));
    }
    Ok((gtin, rest))
}

/// Writes `{company prefix}.{indicator + item reference}` for a GTIN.
fn urn_body(gtin: &Gtin, company_prefix_len: usize) -> Result<String, EpcError> {
    if !(6..=12).contains(&company_prefix_len) {
        return Err(EpcError::CompanyPrefixLength(company_prefix_len));
    }
    let g = gtin.as_str();
    let prefix = &g[1..=company_prefix_len];
    Ok(format!(
        "{prefix}.{}{}",
        &g[..1],
        &g[company_prefix_len + 1..13]
    ))
}

/// Escapes a set-82 value for an EPC URN: `"`, `%`, `&`, `/`, `<`, `>` and `?` become `%XX`
/// (EPC Tag Data Standard); the rest of set 82 is written as it is.
fn urn_escape(value: &str) -> String {
    value
        .chars()
        .map(|c| match c {
            '"' | '%' | '&' | '/' | '<' | '>' | '?' => format!("%{:02X}", c as u32),
            c => c.to_string(),
        })
        .collect()
}

macro_rules! epc_type {
    (
        $(#[$doc:meta])* $name:ident, $field:ident: $field_ty:ty, $ai:literal,
        urn: $urn:literal, expected: $expected:literal, example: $example:literal
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name {
            gtin: Gtin,
            $field: $field_ty,
        }

        impl $name {
            /// The EPC URN prefix of this identifier.
            pub const URN_PREFIX: &'static str = $urn;

            /// The identifier of `gtin` qualified by this value.
            pub fn new(gtin: Gtin, $field: $field_ty) -> Self {
                $name { gtin, $field }
            }

            /// The GTIN.
            pub fn gtin(&self) -> &Gtin {
                &self.gtin
            }

            /// The qualifying value.
            pub fn $field(&self) -> &$field_ty {
                &self.$field
            }

            /// The canonical Digital Link URI, under `https://id.gs1.org`.
            pub fn to_uri(&self) -> String {
                self.to_string()
            }

            /// The EPC URN form. It needs the length of the GS1 company prefix, which a GTIN
            /// does not carry.
            pub fn to_epc_urn(&self, company_prefix_len: usize) -> Result<String, EpcError> {
                let body = urn_body(&self.gtin, company_prefix_len)?;
                Ok(format!("{}{body}.{}", Self::URN_PREFIX, urn_escape(self.$field.as_str())))
            }

            /// Parses the EPC URN form.
            pub fn from_epc_urn(urn: &str) -> Result<Self, EpcError> {
                let body = urn.strip_prefix(Self::URN_PREFIX).ok_or(EpcError::Urn {
                    input: urn.to_owned(),
                    reason: concat!("expected the prefix ", $urn),
                })?;
                let (gtin, escaped) = split_urn(urn, body)?;
                Ok($name::new(gtin, <$field_ty>::from_percent_encoded(escaped)?))
            }

            /// Parses a Digital Link URI (any host) or the EPC URN form.
            pub fn parse(s: &str) -> Result<Self, EpcError> {
                if s.starts_with("urn:") {
                    Self::from_epc_urn(s)
                } else {
                    Self::from_digital_link(&DigitalLink::parse(s)?, s)
                }
            }
        }

        impl fmt::Display for $name {
            /// The canonical Digital Link URI.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(
                    f,
                    "{}/01/{}/{}/{}",
                    DigitalLink::GS1_RESOLVER,
                    self.gtin,
                    $ai,
                    self.$field.percent_encoded()
                )
            }
        }

        impl FromStr for $name {
            type Err = EpcError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                serde_schema::deserialize_from_str(deserializer, $expected)
            }
        }

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                serde_schema::string_schema(
                    concat!(
                        "An EPCIS identifier: ", $expected,
                        ". Written as the canonical Digital Link URI; the ", $urn,
                        " URN form and Digital Links under other hosts are accepted."
                    ),
                    Some(concat!(
                        r"^(https?://.+/01/\d{8,14}/", $ai, r"/[^/?#]+|", $urn, r"\d{6,12}\.\d{1,7}\..+)$"
                    )),
                    $example,
                )
            }
        }

        impl ToSchema for $name {}
    };
}

epc_type!(
    /// One serialised trade item (SGTIN pure identity): GTIN + serial number.
    Sgtin, serial: SerialNumber, "21",
    urn: "urn:epc:id:sgtin:",
    expected: "a GTIN with a serial number (https://id.gs1.org/01/{gtin}/21/{serial})",
    example: "https://id.gs1.org/01/09506000134352/21/12345XYZ"
);

epc_type!(
    /// One batch of a trade item (LGTIN, the EPCIS class identifier): GTIN + lot number.
    Lgtin, lot: LotNumber, "10",
    urn: "urn:epc:class:lgtin:",
    expected: "a GTIN with a lot number (https://id.gs1.org/01/{gtin}/10/{lot})",
    example: "https://id.gs1.org/01/09506000134352/10/ABC123"
);

impl Sgtin {
    /// The SGTIN of a Digital Link with a serial number. A lot in the link is dropped: the
    /// serial is unique within the GTIN, so the pure identity is GTIN + serial.
    fn from_digital_link(dl: &DigitalLink, input: &str) -> Result<Self, EpcError> {
        let path = dl.path();
        let serial = path.serial().ok_or(EpcError::Kind {
            input: input.to_owned(),
            expected: "an item: a GTIN with a serial number (/01/{gtin}/21/{serial})",
        })?;
        Ok(Sgtin::new(*path.gtin(), serial.clone()))
    }

    /// The canonical Digital Link of the item.
    pub fn to_digital_link(&self) -> DigitalLink {
        DigitalLink::canonical(DigitalLinkPath::new(self.gtin).with_serial(self.serial.clone()))
    }
}

impl Lgtin {
    /// The LGTIN of a Digital Link with a lot and no serial number.
    fn from_digital_link(dl: &DigitalLink, input: &str) -> Result<Self, EpcError> {
        let path = dl.path();
        let expected = "a batch: a GTIN with a lot number and no serial (/01/{gtin}/10/{lot})";
        match (path.lot(), path.serial()) {
            (Some(lot), None) => Ok(Lgtin::new(*path.gtin(), lot.clone())),
            _ => Err(EpcError::Kind {
                input: input.to_owned(),
                expected,
            }),
        }
    }

    /// The canonical Digital Link of the batch.
    pub fn to_digital_link(&self) -> DigitalLink {
        DigitalLink::canonical(DigitalLinkPath::new(self.gtin).with_lot(self.lot.clone()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn lgtin_urn_and_digital_link_from_the_epcis_examples_agree() {
        // GS1 EPCIS 2.0 Example 9.6.4, in its URN and its Digital Link variant.
        let from_urn = Lgtin::parse("urn:epc:class:lgtin:0614141.077777.987").unwrap();
        let from_dl = Lgtin::parse("https://id.gs1.org/01/00614141777778/10/987").unwrap();
        assert_eq!(from_urn, from_dl);
        assert_eq!(
            from_urn.to_uri(),
            "https://id.gs1.org/01/00614141777778/10/987"
        );
        assert_eq!(
            from_urn.to_epc_urn(7).unwrap(),
            "urn:epc:class:lgtin:0614141.077777.987"
        );
    }

    #[test]
    fn sgtin_urns_from_the_epcis_examples_convert_both_ways() {
        for (urn, uri) in [
            (
                "urn:epc:id:sgtin:0614141.107346.2017",
                "https://id.gs1.org/01/10614141073464/21/2017",
            ),
            (
                "urn:epc:id:sgtin:4012345.011111.987",
                "https://id.gs1.org/01/04012345111118/21/987",
            ),
            (
                "urn:epc:id:sgtin:4012345.033333.AGHFG",
                "https://id.gs1.org/01/04012345333336/21/AGHFG",
            ),
        ] {
            let sgtin = Sgtin::parse(urn).unwrap();
            assert_eq!(sgtin.to_uri(), uri);
            assert_eq!(Sgtin::parse(uri).unwrap(), sgtin);
            assert_eq!(sgtin.to_epc_urn(7).unwrap(), urn);
        }
    }

    #[test]
    fn escaping_differs_between_urn_and_uri() {
        let sgtin = Sgtin::new(
            Gtin::parse("09506000134352").unwrap(),
            SerialNumber::parse("A/B(1)").unwrap(),
        );
        assert_eq!(
            sgtin.to_uri(),
            "https://id.gs1.org/01/09506000134352/21/A%2FB%281%29"
        );
        let urn = sgtin.to_epc_urn(7).unwrap();
        assert_eq!(urn, "urn:epc:id:sgtin:9506000.013435.A%2FB(1)");
        assert_eq!(Sgtin::parse(&urn).unwrap(), sgtin);
        assert_eq!(
            serde_json::to_value(&sgtin).unwrap(),
            sgtin.to_uri().as_str()
        );
    }

    #[test]
    fn refuses_the_wrong_kind_of_identifier() {
        let class = "https://id.gs1.org/01/04012345666663";
        assert!(
            Sgtin::parse(class)
                .unwrap_err()
                .to_string()
                .contains("is not an item")
        );
        assert!(
            Lgtin::parse(class)
                .unwrap_err()
                .to_string()
                .contains("is not a batch")
        );
        let item = "https://id.gs1.org/01/09506000134352/10/ABC1/21/12345";
        assert!(Lgtin::parse(item).is_err());
        assert_eq!(Sgtin::parse(item).unwrap().serial().as_str(), "12345");
        assert!(Sgtin::parse("urn:epc:class:lgtin:0614141.077777.987").is_err());
        assert!(
            Sgtin::parse("urn:epc:id:sgtin:0614141.10734.2017")
                .unwrap_err()
                .to_string()
                .contains("total 13 digits")
        );
        assert!(Sgtin::parse("urn:epc:id:sgtin:0614141.107346").is_err());
        assert!(Sgtin::parse("urn:epc:id:sgtin:0614141.107346.").is_err());
        assert!(Sgtin::parse("urn:epc:id:sgtin:0614141.107346.A B").is_err());
        assert_eq!(
            Sgtin::parse(item).unwrap().to_epc_urn(5).unwrap_err(),
            EpcError::CompanyPrefixLength(5)
        );
    }
}
