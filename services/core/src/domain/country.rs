//! ISO 3166-1 alpha-2 country codes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;
use utoipa::{PartialSchema, ToSchema};

use super::serde_schema;

/// A country by its officially assigned ISO 3166-1 alpha-2 code, upper case (`"FR"`).
///
/// Only the 249 officially assigned codes are accepted: not the exceptionally reserved ones
/// (`EU`, `UK`, ...), not user-assigned ones (`XK`, ...), and not lower case: the code is an
/// identifier, and accepting `fr` would give two spellings of one country in stored data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Country([u8; 2]);

/// Why a country code was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct CountryError(pub String);

impl CountryError {
    fn describe(&self) -> String {
        let input = &self.0;
        let rule = "a country must be an officially assigned ISO 3166-1 alpha-2 code in upper case";
        let upper = input.to_ascii_uppercase();
        let hint = match upper.as_str() {
            "EU" => " (EU is reserved for the European Union, which is not a country; name the \
                     member state)"
                .to_owned(),
            "UK" => " (use GB for the United Kingdom)".to_owned(),
            "EL" => " (use GR for Greece; EL is the EU's own abbreviation)".to_owned(),
            _ if upper != *input && Country::lookup(&upper).is_some() => {
                format!(" (did you mean {upper}?)")
            }
            _ => String::new(),
        };
        format!("{rule}, got \"{input}\"{hint}")
    }
}

impl Country {
    /// Parses an upper-case, officially assigned alpha-2 code.
    pub fn parse(code: &str) -> Result<Country, CountryError> {
        Country::lookup(code)
            .map(|i| {
                Country(
                    COUNTRIES[i]
                        .0
                        .as_bytes()
                        .try_into()
                        .expect("table codes are 2 bytes"),
                )
            })
            .ok_or_else(|| CountryError(code.to_owned()))
    }

    fn lookup(code: &str) -> Option<usize> {
        COUNTRIES.binary_search_by(|(c, _)| (*c).cmp(code)).ok()
    }

    /// Every assigned country, in code order.
    pub fn all() -> impl Iterator<Item = Country> {
        COUNTRIES
            .iter()
            .map(|(code, _)| Country(code.as_bytes().try_into().expect("table codes are 2 bytes")))
    }

    /// The two-letter code, e.g. `"FR"`.
    pub fn code(&self) -> &str {
        std::str::from_utf8(&self.0).expect("country codes are ASCII")
    }

    /// The English short name from ISO 3166-1 (without the trailing article "(the)"), e.g.
    /// `"Netherlands (Kingdom of the)"` for `NL`.
    pub fn name(&self) -> &'static str {
        let i = Country::lookup(self.code()).expect("a Country is always in the table");
        COUNTRIES[i].1
    }

    /// Whether the country is one of the 27 member states of the European Union.
    pub fn is_eu_member(&self) -> bool {
        EU_MEMBERS.contains(&self.code())
    }
}

/// The 27 EU member states (since 1 February 2020), by ISO code (Greece is `GR` here).
const EU_MEMBERS: [&str; 27] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT",
    "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
];

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Country {
    type Err = CountryError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Country::parse(s)
    }
}

impl Serialize for Country {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Country {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        serde_schema::deserialize_from_str(deserializer, "an ISO 3166-1 alpha-2 country code")
    }
}

impl PartialSchema for Country {
    fn schema() -> RefOr<Schema> {
        // The closed list, so that generated clients and fuzzers send only codes we accept.
        serde_schema::enum_schema(
            "An officially assigned ISO 3166-1 alpha-2 country code, upper case.",
            COUNTRIES.iter().map(|(code, _)| *code),
            "FR",
        )
    }
}

impl ToSchema for Country {}

/// ISO 3166-1 officially assigned alpha-2 codes with their English short names, sorted by
/// code (binary search relies on it).
const COUNTRIES: [(&str, &str); 249] = [
    ("AD", "Andorra"),
    ("AE", "United Arab Emirates"),
    ("AF", "Afghanistan"),
    ("AG", "Antigua and Barbuda"),
    ("AI", "Anguilla"),
    ("AL", "Albania"),
    ("AM", "Armenia"),
    ("AO", "Angola"),
    ("AQ", "Antarctica"),
    ("AR", "Argentina"),
    ("AS", "American Samoa"),
    ("AT", "Austria"),
    ("AU", "Australia"),
    ("AW", "Aruba"),
    ("AX", "Åland Islands"),
    ("AZ", "Azerbaijan"),
    ("BA", "Bosnia and Herzegovina"),
    ("BB", "Barbados"),
    ("BD", "Bangladesh"),
    ("BE", "Belgium"),
    ("BF", "Burkina Faso"),
    ("BG", "Bulgaria"),
    ("BH", "Bahrain"),
    ("BI", "Burundi"),
    ("BJ", "Benin"),
    ("BL", "Saint Barthélemy"),
    ("BM", "Bermuda"),
    ("BN", "Brunei Darussalam"),
    ("BO", "Bolivia (Plurinational State of)"),
    ("BQ", "Bonaire, Sint Eustatius and Saba"),
    ("BR", "Brazil"),
    ("BS", "Bahamas"),
    ("BT", "Bhutan"),
    ("BV", "Bouvet Island"),
    ("BW", "Botswana"),
    ("BY", "Belarus"),
    ("BZ", "Belize"),
    ("CA", "Canada"),
    ("CC", "Cocos (Keeling) Islands"),
    ("CD", "Congo (Democratic Republic of the)"),
    ("CF", "Central African Republic"),
    ("CG", "Congo"),
    ("CH", "Switzerland"),
    ("CI", "Côte d'Ivoire"),
    ("CK", "Cook Islands"),
    ("CL", "Chile"),
    ("CM", "Cameroon"),
    ("CN", "China"),
    ("CO", "Colombia"),
    ("CR", "Costa Rica"),
    ("CU", "Cuba"),
    ("CV", "Cabo Verde"),
    ("CW", "Curaçao"),
    ("CX", "Christmas Island"),
    ("CY", "Cyprus"),
    ("CZ", "Czechia"),
    ("DE", "Germany"),
    ("DJ", "Djibouti"),
    ("DK", "Denmark"),
    ("DM", "Dominica"),
    ("DO", "Dominican Republic"),
    ("DZ", "Algeria"),
    ("EC", "Ecuador"),
    ("EE", "Estonia"),
    ("EG", "Egypt"),
    ("EH", "Western Sahara"),
    ("ER", "Eritrea"),
    ("ES", "Spain"),
    ("ET", "Ethiopia"),
    ("FI", "Finland"),
    ("FJ", "Fiji"),
    ("FK", "Falkland Islands (Malvinas)"),
    ("FM", "Micronesia (Federated States of)"),
    ("FO", "Faroe Islands"),
    ("FR", "France"),
    ("GA", "Gabon"),
    ("GB", "United Kingdom of Great Britain and Northern Ireland"),
    ("GD", "Grenada"),
    ("GE", "Georgia"),
    ("GF", "French Guiana"),
    ("GG", "Guernsey"),
    ("GH", "Ghana"),
    ("GI", "Gibraltar"),
    ("GL", "Greenland"),
    ("GM", "Gambia"),
    ("GN", "Guinea"),
    ("GP", "Guadeloupe"),
    ("GQ", "Equatorial Guinea"),
    ("GR", "Greece"),
    ("GS", "South Georgia and the South Sandwich Islands"),
    ("GT", "Guatemala"),
    ("GU", "Guam"),
    ("GW", "Guinea-Bissau"),
    ("GY", "Guyana"),
    ("HK", "Hong Kong"),
    ("HM", "Heard Island and McDonald Islands"),
    ("HN", "Honduras"),
    ("HR", "Croatia"),
    ("HT", "Haiti"),
    ("HU", "Hungary"),
    ("ID", "Indonesia"),
    ("IE", "Ireland"),
    ("IL", "Israel"),
    ("IM", "Isle of Man"),
    ("IN", "India"),
    ("IO", "British Indian Ocean Territory"),
    ("IQ", "Iraq"),
    ("IR", "Iran (Islamic Republic of)"),
    ("IS", "Iceland"),
    ("IT", "Italy"),
    ("JE", "Jersey"),
    ("JM", "Jamaica"),
    ("JO", "Jordan"),
    ("JP", "Japan"),
    ("KE", "Kenya"),
    ("KG", "Kyrgyzstan"),
    ("KH", "Cambodia"),
    ("KI", "Kiribati"),
    ("KM", "Comoros"),
    ("KN", "Saint Kitts and Nevis"),
    ("KP", "Korea (Democratic People's Republic of)"),
    ("KR", "Korea (Republic of)"),
    ("KW", "Kuwait"),
    ("KY", "Cayman Islands"),
    ("KZ", "Kazakhstan"),
    ("LA", "Lao People's Democratic Republic"),
    ("LB", "Lebanon"),
    ("LC", "Saint Lucia"),
    ("LI", "Liechtenstein"),
    ("LK", "Sri Lanka"),
    ("LR", "Liberia"),
    ("LS", "Lesotho"),
    ("LT", "Lithuania"),
    ("LU", "Luxembourg"),
    ("LV", "Latvia"),
    ("LY", "Libya"),
    ("MA", "Morocco"),
    ("MC", "Monaco"),
    ("MD", "Moldova (Republic of)"),
    ("ME", "Montenegro"),
    ("MF", "Saint Martin (French part)"),
    ("MG", "Madagascar"),
    ("MH", "Marshall Islands"),
    ("MK", "North Macedonia"),
    ("ML", "Mali"),
    ("MM", "Myanmar"),
    ("MN", "Mongolia"),
    ("MO", "Macao"),
    ("MP", "Northern Mariana Islands"),
    ("MQ", "Martinique"),
    ("MR", "Mauritania"),
    ("MS", "Montserrat"),
    ("MT", "Malta"),
    ("MU", "Mauritius"),
    ("MV", "Maldives"),
    ("MW", "Malawi"),
    ("MX", "Mexico"),
    ("MY", "Malaysia"),
    ("MZ", "Mozambique"),
    ("NA", "Namibia"),
    ("NC", "New Caledonia"),
    ("NE", "Niger"),
    ("NF", "Norfolk Island"),
    ("NG", "Nigeria"),
    ("NI", "Nicaragua"),
    ("NL", "Netherlands (Kingdom of the)"),
    ("NO", "Norway"),
    ("NP", "Nepal"),
    ("NR", "Nauru"),
    ("NU", "Niue"),
    ("NZ", "New Zealand"),
    ("OM", "Oman"),
    ("PA", "Panama"),
    ("PE", "Peru"),
    ("PF", "French Polynesia"),
    ("PG", "Papua New Guinea"),
    ("PH", "Philippines"),
    ("PK", "Pakistan"),
    ("PL", "Poland"),
    ("PM", "Saint Pierre and Miquelon"),
    ("PN", "Pitcairn"),
    ("PR", "Puerto Rico"),
    ("PS", "Palestine, State of"),
    ("PT", "Portugal"),
    ("PW", "Palau"),
    ("PY", "Paraguay"),
    ("QA", "Qatar"),
    ("RE", "Réunion"),
    ("RO", "Romania"),
    ("RS", "Serbia"),
    ("RU", "Russian Federation"),
    ("RW", "Rwanda"),
    ("SA", "Saudi Arabia"),
    ("SB", "Solomon Islands"),
    ("SC", "Seychelles"),
    ("SD", "Sudan"),
    ("SE", "Sweden"),
    ("SG", "Singapore"),
    ("SH", "Saint Helena, Ascension and Tristan da Cunha"),
    ("SI", "Slovenia"),
    ("SJ", "Svalbard and Jan Mayen"),
    ("SK", "Slovakia"),
    ("SL", "Sierra Leone"),
    ("SM", "San Marino"),
    ("SN", "Senegal"),
    ("SO", "Somalia"),
    ("SR", "Suriname"),
    ("SS", "South Sudan"),
    ("ST", "Sao Tome and Principe"),
    ("SV", "El Salvador"),
    ("SX", "Sint Maarten (Dutch part)"),
    ("SY", "Syrian Arab Republic"),
    ("SZ", "Eswatini"),
    ("TC", "Turks and Caicos Islands"),
    ("TD", "Chad"),
    ("TF", "French Southern Territories"),
    ("TG", "Togo"),
    ("TH", "Thailand"),
    ("TJ", "Tajikistan"),
    ("TK", "Tokelau"),
    ("TL", "Timor-Leste"),
    ("TM", "Turkmenistan"),
    ("TN", "Tunisia"),
    ("TO", "Tonga"),
    ("TR", "Türkiye"),
    ("TT", "Trinidad and Tobago"),
    ("TV", "Tuvalu"),
    ("TW", "Taiwan, Province of China"),
    ("TZ", "Tanzania, United Republic of"),
    ("UA", "Ukraine"),
    ("UG", "Uganda"),
    ("UM", "United States Minor Outlying Islands"),
    ("US", "United States of America"),
    ("UY", "Uruguay"),
    ("UZ", "Uzbekistan"),
    ("VA", "Holy See"),
    ("VC", "Saint Vincent and the Grenadines"),
    ("VE", "Venezuela (Bolivarian Republic of)"),
    ("VG", "Virgin Islands (British)"),
    ("VI", "Virgin Islands (U.S.)"),
    ("VN", "Viet Nam"),
    ("VU", "Vanuatu"),
    ("WF", "Wallis and Futuna"),
    ("WS", "Samoa"),
    ("YE", "Yemen"),
    ("YT", "Mayotte"),
    ("ZA", "South Africa"),
    ("ZM", "Zambia"),
    ("ZW", "Zimbabwe"),
];

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_complete_and_well_formed() {
        assert!(COUNTRIES.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(COUNTRIES.iter().all(|(c, n)| c.len() == 2
            && c.bytes().all(|b| b.is_ascii_uppercase())
            && !n.is_empty()));
        assert_eq!(Country::all().count(), 249);
    }

    #[test]
    fn parses_assigned_codes_with_names() {
        let fr = Country::parse("FR").unwrap();
        assert_eq!((fr.code(), fr.name()), ("FR", "France"));
        assert_eq!(Country::parse("DE").unwrap().name(), "Germany");
        assert_eq!(Country::parse("CN").unwrap().name(), "China");
        assert_eq!(Country::parse("AX").unwrap().name(), "Åland Islands");
        // The most recent assignments (2010-2011).
        for code in ["BQ", "CW", "SX", "SS"] {
            assert!(Country::parse(code).is_ok(), "{code}");
        }
        let json = serde_json::to_string(&fr).unwrap();
        assert_eq!(json, "\"FR\"");
        assert_eq!(serde_json::from_str::<Country>(&json).unwrap(), fr);
    }

    #[test]
    fn refuses_reserved_unassigned_and_lower_case_codes() {
        let err = Country::parse("EU").unwrap_err().to_string();
        assert!(err.starts_with("a country must be an officially assigned ISO 3166-1 alpha-2 code in upper case, got \"EU\""), "{err}");
        assert!(
            err.contains("European Union, which is not a country"),
            "{err}"
        );
        assert!(
            Country::parse("UK")
                .unwrap_err()
                .to_string()
                .contains("use GB")
        );
        assert!(
            Country::parse("EL")
                .unwrap_err()
                .to_string()
                .contains("use GR")
        );
        assert!(
            Country::parse("fr")
                .unwrap_err()
                .to_string()
                .contains("did you mean FR?")
        );
        for bad in ["XK", "ZZ", "AN", "F", "FRA", "", "F1"] {
            assert!(Country::parse(bad).is_err(), "{bad}");
        }
        let err = serde_json::from_str::<Country>("\"de\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("in upper case"), "{err}");
    }

    #[test]
    fn eu_membership_is_the_27_member_states() {
        let members: Vec<String> = Country::all()
            .filter(Country::is_eu_member)
            .map(|c| c.to_string())
            .collect();
        assert_eq!(members.len(), 27);
        assert!(EU_MEMBERS.iter().all(|c| Country::parse(c).is_ok()));
        for (code, member) in [
            ("FR", true),
            ("GR", true),
            ("HR", true),
            ("GB", false),
            ("NO", false),
            ("CH", false),
            ("IS", false),
        ] {
            assert_eq!(
                Country::parse(code).unwrap().is_eu_member(),
                member,
                "{code}"
            );
        }
    }
}
