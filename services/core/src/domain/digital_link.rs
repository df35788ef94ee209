//! GS1 Digital Link URIs for trade items: `https://{host}/01/{gtin}[/10/{lot}][/21/{serial}]`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use url::{Position, Url};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;
use utoipa::{PartialSchema, ToSchema};

use super::gs1_text::Gs1TextError;
use super::gtin::{Gtin, GtinError};
use super::serde_schema;
use super::{LotNumber, SerialNumber};

/// Why a Digital Link was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigitalLinkError {
    /// Not an absolute URI.
    #[error("not an absolute URI ({reason}): \"{input}\"")]
    NotAUri {
        /// The input.
        input: String,
        /// What the URI parser said.
        reason: String,
    },
    /// A scheme other than http or https.
    #[error("a GS1 Digital Link must use http or https, got \"{0}:\"")]
    Scheme(String),
    /// A base URL with a query or fragment.
    #[error("a Digital Link base must be an http(s) URL without query or fragment, got \"{0}\"")]
    Base(String),
    /// No `/01/{gtin}` in the path.
    #[error("no /01/{{gtin}} in the path \"{0}\"")]
    NoGtin(String),
    /// An AI with nothing after it.
    #[error("AI {0} in the path has no value")]
    MissingValue(String),
    /// A path segment that is not `10` or `21` in the right order.
    #[error(
        "unexpected path segment \"{0}\": after /01/{{gtin}} only /10/{{lot}} and then \
         /21/{{serial}} may follow"
    )]
    Unexpected(String),
    /// A bad GTIN.
    #[error(transparent)]
    Gtin(#[from] GtinError),
    /// A bad lot or serial number.
    #[error(transparent)]
    Text(#[from] Gs1TextError),
}

/// The identifying path of a trade item's Digital Link: a GTIN, optionally qualified by a lot
/// and/or a serial number, in the order the standard fixes (`/01/ /10/ /21/`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DigitalLinkPath {
    gtin: Gtin,
    lot: Option<LotNumber>,
    serial: Option<SerialNumber>,
}

impl DigitalLinkPath {
    /// A path naming a trade item class: `/01/{gtin}`.
    pub fn new(gtin: Gtin) -> Self {
        DigitalLinkPath {
            gtin,
            lot: None,
            serial: None,
        }
    }

    /// Adds the lot qualifier (`/10/{lot}`).
    pub fn with_lot(mut self, lot: LotNumber) -> Self {
        self.lot = Some(lot);
        self
    }

    /// Adds the serial qualifier (`/21/{serial}`).
    pub fn with_serial(mut self, serial: SerialNumber) -> Self {
        self.serial = Some(serial);
        self
    }

    /// The GTIN.
    pub fn gtin(&self) -> &Gtin {
        &self.gtin
    }

    /// The lot, if any.
    pub fn lot(&self) -> Option<&LotNumber> {
        self.lot.as_ref()
    }

    /// The serial number, if any.
    pub fn serial(&self) -> Option<&SerialNumber> {
        self.serial.as_ref()
    }

    /// Parses a path that starts with `/01/`, as a resolver receives it. Values may be
    /// percent-encoded; a trailing `/` is tolerated. GTIN-8/12/13 are accepted and become
    /// 14 digits, as GS1 resolvers do.
    pub fn parse(path: &str) -> Result<Self, DigitalLinkError> {
        let rest = path
            .strip_prefix('/')
            .ok_or_else(|| DigitalLinkError::NoGtin(path.to_owned()))?;
        let segments: Vec<&str> = rest.split('/').collect();
        if segments.first() != Some(&"01") {
            return Err(DigitalLinkError::NoGtin(path.to_owned()));
        }
        Self::from_segments(&segments)
    }

    /// Parses still-encoded segments starting at `01`.
    fn from_segments(segments: &[&str]) -> Result<Self, DigitalLinkError> {
        // One trailing empty segment is a trailing slash.
        let segments = match segments.split_last() {
            Some((&"", init)) => init,
            _ => segments,
        };
        let mut pairs = segments.chunks(2);
        let gtin = match pairs.next() {
            Some(["01", gtin]) => Gtin::parse(gtin)?,
            Some([ai]) => return Err(DigitalLinkError::MissingValue((*ai).to_owned())),
            _ => return Err(DigitalLinkError::NoGtin(format!("/{}", segments.join("/")))),
        };
        let mut path = DigitalLinkPath::new(gtin);
        for pair in pairs {
            match pair {
                ["10", lot] if path.lot.is_none() && path.serial.is_none() => {
                    path.lot = Some(LotNumber::from_percent_encoded(lot)?);
                }
                ["21", serial] if path.serial.is_none() => {
                    path.serial = Some(SerialNumber::from_percent_encoded(serial)?);
                }
                [ai @ ("10" | "21")] => {
                    return Err(DigitalLinkError::MissingValue((*ai).to_owned()));
                }
                [other, ..] => return Err(DigitalLinkError::Unexpected((*other).to_owned())),
                [] => {}
            }
        }
        Ok(path)
    }
}

impl fmt::Display for DigitalLinkPath {
    /// `/01/{gtin14}[/10/{lot}][/21/{serial}]`, values percent-encoded.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/01/{}", self.gtin)?;
        if let Some(lot) = &self.lot {
            write!(f, "/10/{}", lot.percent_encoded())?;
        }
        if let Some(serial) = &self.serial {
            write!(f, "/21/{}", serial.percent_encoded())?;
        }
        Ok(())
    }
}

impl FromStr for DigitalLinkPath {
    type Err = DigitalLinkError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DigitalLinkPath::parse(s)
    }
}

/// A GS1 Digital Link URI for a trade item: a base (scheme, host and an optional path
/// prefix of the brand's own) followed by a [`DigitalLinkPath`].
///
/// Query parameters (data attributes such as `?17=261231`, or `linkType`) and fragments do
/// not identify the item, so parsing ignores them and they are never written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DigitalLink {
    base: String,
    path: DigitalLinkPath,
}

impl DigitalLink {
    /// GS1's global resolver, the base of canonical Digital Link URIs.
    pub const GS1_RESOLVER: &'static str = "https://id.gs1.org";

    /// A Digital Link under `base` (e.g. `https://passports.example.com`; a trailing `/`
    /// is dropped).
    pub fn new(base: &str, path: DigitalLinkPath) -> Result<Self, DigitalLinkError> {
        let url = Url::parse(base).map_err(|e| DigitalLinkError::NotAUri {
            input: base.to_owned(),
            reason: e.to_string(),
        })?;
        check_scheme(&url)?;
        if url.query().is_some() || url.fragment().is_some() {
            return Err(DigitalLinkError::Base(base.to_owned()));
        }
        let base = url.as_str().trim_end_matches('/').to_owned();
        Ok(DigitalLink { base, path })
    }

    /// The canonical form, under `https://id.gs1.org`.
    pub fn canonical(path: DigitalLinkPath) -> Self {
        DigitalLink {
            base: Self::GS1_RESOLVER.to_owned(),
            path,
        }
    }

    /// Parses a full Digital Link URI. The identifier starts at the first `/01/` segment
    /// after which the rest of the path is a valid GTIN path; anything before it is the base.
    pub fn parse(uri: &str) -> Result<Self, DigitalLinkError> {
        let url = Url::parse(uri).map_err(|e| DigitalLinkError::NotAUri {
            input: uri.to_owned(),
            reason: e.to_string(),
        })?;
        check_scheme(&url)?;
        let segments: Vec<&str> = url.path().trim_start_matches('/').split('/').collect();
        let mut last_error = DigitalLinkError::NoGtin(url.path().to_owned());
        for start in (0..segments.len()).filter(|&i| segments[i] == "01") {
            match DigitalLinkPath::from_segments(&segments[start..]) {
                Ok(path) => {
                    let prefix: String =
                        segments[..start].iter().map(|s| format!("/{s}")).collect();
                    let base = format!("{}{prefix}", &url[..Position::BeforePath]);
                    return Ok(DigitalLink { base, path });
                }
                Err(e) => last_error = e,
            }
        }
        Err(last_error)
    }

    /// The base: scheme, host and optional path prefix, without a trailing `/`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The identifying path.
    pub fn path(&self) -> &DigitalLinkPath {
        &self.path
    }

    /// Takes the identifying path out, e.g. to put it under another base.
    pub fn into_path(self) -> DigitalLinkPath {
        self.path
    }
}

fn check_scheme(url: &Url) -> Result<(), DigitalLinkError> {
    match url.scheme() {
        "http" | "https" if url.host().is_some() => Ok(()),
        "http" | "https" => Err(DigitalLinkError::NotAUri {
            input: url.to_string(),
            reason: "no host".to_owned(),
        }),
        other => Err(DigitalLinkError::Scheme(other.to_owned())),
    }
}

impl fmt::Display for DigitalLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.base, self.path)
    }
}

impl FromStr for DigitalLink {
    type Err = DigitalLinkError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DigitalLink::parse(s)
    }
}

impl Serialize for DigitalLink {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DigitalLink {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        serde_schema::deserialize_from_str(deserializer, "a GS1 Digital Link URI")
    }
}

impl PartialSchema for DigitalLink {
    fn schema() -> RefOr<Schema> {
        serde_schema::string_schema(
            "A GS1 Digital Link URI for a trade item: /01/{gtin} optionally followed by \
             /10/{lot} and /21/{serial}, values percent-encoded.",
            Some(r"^https?://[^/?#]+(/[^?#]*)?/01/\d{14}(/10/[^/?#]+)?(/21/[^/?#]+)?/?([?#].*)?$"),
            "https://id.gs1.org/01/09506000134352/21/12345XYZ",
        )
    }
}

impl ToSchema for DigitalLink {}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn gtin() -> Gtin {
        Gtin::parse("09506000134352").unwrap()
    }

    #[test]
    fn builds_the_three_forms() {
        let class = DigitalLink::canonical(DigitalLinkPath::new(gtin()));
        assert_eq!(class.to_string(), "https://id.gs1.org/01/09506000134352");
        let item =
            DigitalLinkPath::new(gtin()).with_serial(SerialNumber::parse("12345XYZ").unwrap());
        assert_eq!(
            DigitalLink::new("https://passports.example.com/", item)
                .unwrap()
                .to_string(),
            "https://passports.example.com/01/09506000134352/21/12345XYZ"
        );
        let batch = DigitalLinkPath::new(gtin()).with_lot(LotNumber::parse("ABC/1").unwrap());
        assert_eq!(batch.to_string(), "/01/09506000134352/10/ABC%2F1");
        assert!(DigitalLink::new("ftp://example.com", batch.clone()).is_err());
        assert!(DigitalLink::new("https://example.com/?x=1", batch).is_err());
    }

    #[test]
    fn parses_uris_with_prefixes_short_gtins_and_queries() {
        // Examples from the GS1 Digital Link standard and the EPCIS 2.0 example documents.
        let dl =
            DigitalLink::parse("https://id.gs1.org/01/09506000134352/10/ABC1/21/12345").unwrap();
        assert_eq!(dl.base(), "https://id.gs1.org");
        assert_eq!(dl.path().lot().unwrap().as_str(), "ABC1");
        assert_eq!(dl.path().serial().unwrap().as_str(), "12345");
        let dl = DigitalLink::parse("https://id.gs1.org/01/00614141777778/10/987").unwrap();
        assert_eq!(dl.path().gtin().as_str(), "00614141777778");

        let dl = DigitalLink::parse(
            "https://example.com/products/01/4006381333931/21/A%2FB?17=261231#x",
        )
        .unwrap();
        assert_eq!(dl.base(), "https://example.com/products");
        assert_eq!(dl.path().serial().unwrap().as_str(), "A/B");
        assert_eq!(
            dl.to_string(),
            "https://example.com/products/01/04006381333931/21/A%2FB"
        );

        // A prefix that itself contains "01" is skipped over.
        let dl = DigitalLink::parse("https://example.com/01/shop/01/09506000134352").unwrap();
        assert_eq!(dl.base(), "https://example.com/01/shop");
    }

    #[test]
    fn parses_resolver_paths() {
        let p = DigitalLinkPath::parse("/01/09506000134352/21/12345XYZ").unwrap();
        assert_eq!(p.serial().unwrap().as_str(), "12345XYZ");
        assert_eq!(p.to_string(), "/01/09506000134352/21/12345XYZ");
        assert!(
            DigitalLinkPath::parse("/01/09506000134352/")
                .unwrap()
                .serial()
                .is_none()
        );
        let round = DigitalLinkPath::new(gtin()).with_lot(LotNumber::parse("L%1?").unwrap());
        assert_eq!(DigitalLinkPath::parse(&round.to_string()).unwrap(), round);
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let err = |s: &str| DigitalLinkPath::parse(s).unwrap_err().to_string();
        assert!(err("/01/09506000134353").contains("check digit should be 2"));
        assert_eq!(
            err("/02/09506000134352"),
            "no /01/{gtin} in the path \"/02/09506000134352\""
        );
        assert_eq!(
            err("/01/09506000134352/21"),
            "AI 21 in the path has no value"
        );
        assert!(err("/01/09506000134352/21/1/10/A").starts_with("unexpected path segment \"10\""));
        assert!(err("/01/09506000134352/22/V1").starts_with("unexpected path segment \"22\""));
        assert!(err("/01/09506000134352/21/AB%20C").contains("' ' at position 3"));
        let err = DigitalLink::parse("urn:epc:id:sgtin:0614141.107346.2017").unwrap_err();
        assert_eq!(err, DigitalLinkError::Scheme("urn".into()));
        assert!(DigitalLink::parse("https://example.com/products").is_err());
    }

    #[test]
    fn json_is_the_uri_string() {
        let dl: DigitalLink =
            serde_json::from_str("\"https://id.gs1.org/01/09506000134352/21/1\"").unwrap();
        assert_eq!(
            serde_json::to_string(&dl).unwrap(),
            "\"https://id.gs1.org/01/09506000134352/21/1\""
        );
        let err = serde_json::from_str::<DigitalLink>("\"https://id.gs1.org/01/123\"").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("GTIN must have 8, 12, 13 or 14 digits, got 3"),
            "{err}"
        );
    }
}
