//! The shared domain vocabulary: rare-earth and chemical elements, product categories, exact
//! masses and shares, GS1 identifiers (GTIN, serial and lot numbers, Digital Link, SGTIN/LGTIN),
//! countries and economic operator identifiers; and what issuing credentials as an organisation
//! shares ([`issuing`]: DIDs, signing keys, status lists).
//!
//! Every type here is valid by construction ("parse, don't validate"): the only ways to get
//! one are its parsing constructors, and `Deserialize` goes through the same constructors, so
//! a value read from JSON carries the same guarantees as one built in code and an invalid
//! input is refused with a message that names what is wrong.

pub mod account;
pub mod audit;
mod auth;
mod category;
mod chemical_element;
mod country;
mod decimal;
mod digital_link;
mod element;
mod epc;
pub mod feed;
mod field_error;
pub mod gs1_prefix;
mod gs1_text;
mod gtin;
pub mod idempotency;
pub mod instance;
pub mod issuing;
mod mass;
mod operator;
pub mod passport_event;
pub mod recycled_content;
mod serde_schema;
mod share;
pub mod significant;
mod tracked_element;

pub use auth::{Denied, KeyRecord, NewApiKey, Principal, Role, hash_key, key_prefix};
pub use category::{Category, UnknownCategory, UseType};
pub use chemical_element::{ChemicalElement, NotARareEarth, UnknownChemicalElement};
pub use country::{Country, CountryError};
pub use digital_link::{DigitalLink, DigitalLinkError, DigitalLinkPath};
pub use element::{Element, ReeGroup, UnknownElement};
pub use epc::{EpcError, Lgtin, Sgtin};
pub use field_error::FieldError;
pub use gs1_text::{Gs1TextError, LotNumber, SerialNumber, is_gs1_set_82};
pub use gtin::{Gtin, GtinError, gs1_check_digit};
pub use mass::{Mass, MassError};
pub use operator::{Eori, Lei, OperatorId, OperatorIdError};
pub use share::{Share, ShareError};
pub use tracked_element::{MAGNET_MATERIALS, TrackedElement, UnknownTrackedElement};

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    //! The OpenAPI schemas promise what the parsers accept: their examples parse, and their
    //! patterns match every value the types write.

    use super::*;
    use serde::Serialize;
    use serde::de::DeserializeOwned;
    use serde_json::Value;
    use utoipa::PartialSchema;

    fn schema_of<T: PartialSchema>() -> Value {
        serde_json::to_value(T::schema()).unwrap()
    }

    /// Checks that the schema's examples parse and that its pattern matches them and every
    /// value in `written`, serialized.
    fn check_string_schema<T>(written: &[T])
    where
        T: PartialSchema + Serialize + DeserializeOwned + std::fmt::Debug,
    {
        let schema = schema_of::<T>();
        assert_eq!(schema["type"], "string", "{schema}");
        let pattern = regex::Regex::new(schema["pattern"].as_str().unwrap()).unwrap();
        let examples = schema["examples"].as_array().unwrap();
        assert!(!examples.is_empty());
        for example in examples {
            serde_json::from_value::<T>(example.clone()).unwrap();
            assert!(
                pattern.is_match(example.as_str().unwrap()),
                "{example} vs {pattern}"
            );
        }
        for value in written {
            let text = serde_json::to_value(value).unwrap();
            let text = text.as_str().unwrap();
            assert!(pattern.is_match(text), "{text} vs {pattern}");
        }
    }

    #[test]
    fn string_schemas_match_what_the_types_write() {
        let gtin = Gtin::parse("96385074").unwrap();
        check_string_schema(&[gtin, Gtin::parse("09506000134352").unwrap()]);
        let symbols = "!\"%&'()*+,-./:;<=>?_";
        check_string_schema(&[
            SerialNumber::parse(symbols).unwrap(),
            SerialNumber::parse("a").unwrap(),
        ]);
        check_string_schema(&[LotNumber::parse("ABC/1?").unwrap()]);
        let serial = SerialNumber::parse("A/B?1").unwrap();
        let lot = LotNumber::parse("L%1").unwrap();
        check_string_schema(&[
            DigitalLink::canonical(DigitalLinkPath::new(gtin)),
            DigitalLink::new(
                "https://example.com/shop",
                DigitalLinkPath::new(gtin)
                    .with_lot(lot.clone())
                    .with_serial(serial.clone()),
            )
            .unwrap(),
        ]);
        check_string_schema(&[Sgtin::new(gtin, serial)]);
        check_string_schema(&[Lgtin::new(gtin, lot)]);
        check_string_schema(&[Eori::parse("XI123456789000").unwrap()]);
        check_string_schema(&[Lei::parse("HWUPKR0MPOU8FGXBT394").unwrap()]);
    }

    #[test]
    fn sgtin_and_lgtin_patterns_also_describe_the_urn_form() {
        for (schema, urn) in [
            (schema_of::<Sgtin>(), "urn:epc:id:sgtin:0614141.107346.2017"),
            (
                schema_of::<Lgtin>(),
                "urn:epc:class:lgtin:4012345.012345.998877",
            ),
        ] {
            let pattern = regex::Regex::new(schema["pattern"].as_str().unwrap()).unwrap();
            assert!(pattern.is_match(urn), "{urn}");
        }
    }

    #[test]
    fn enum_schemas_list_exactly_the_variants() {
        let values = |schema: Value| -> Vec<String> {
            let list = schema["enum"].as_array().unwrap().clone();
            list.into_iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect()
        };
        let elements: Vec<String> = Element::ALL.iter().map(Element::to_string).collect();
        assert_eq!(values(schema_of::<Element>()), elements);
        let chemical: Vec<String> = ChemicalElement::ALL.iter().map(|e| e.to_string()).collect();
        assert_eq!(values(schema_of::<ChemicalElement>()), chemical);
        let categories: Vec<String> = Category::ALL.iter().map(Category::to_string).collect();
        assert_eq!(values(schema_of::<Category>()), categories);
        let countries: Vec<String> = Country::all().map(|c| c.code().to_owned()).collect();
        assert_eq!(countries.len(), 249);
        assert_eq!(values(schema_of::<Country>()), countries);
        assert_eq!(
            values(schema_of::<UseType>()),
            ["concentrated", "dispersed"]
        );
        assert_eq!(
            values(schema_of::<ReeGroup>()),
            ["light", "heavy", "scandium"]
        );
    }

    #[test]
    fn number_schemas_bound_what_the_types_accept() {
        for (schema, max) in [
            (schema_of::<Mass>(), Mass::MAX.to_grams_f64()),
            (schema_of::<Share>(), 1.0),
        ] {
            assert_eq!(schema["type"], "number");
            assert_eq!(schema["minimum"].as_f64(), Some(0.0));
            assert_eq!(schema["maximum"].as_f64(), Some(max));
        }
        let example = schema_of::<Mass>()["examples"][0].clone();
        assert_eq!(
            serde_json::from_value::<Mass>(example)
                .unwrap()
                .micrograms(),
            337_500_000
        );
        let example = schema_of::<Share>()["examples"][0].clone();
        assert_eq!(
            serde_json::from_value::<Share>(example).unwrap().ppm(),
            250_000
        );
    }

    #[test]
    fn operator_id_schema_is_one_of_the_two_schemes() {
        let schema = schema_of::<OperatorId>();
        let variants = schema["oneOf"].as_array().unwrap();
        let schemes: Vec<&Value> = variants
            .iter()
            .map(|v| &v["properties"]["scheme"]["enum"][0])
            .collect();
        assert_eq!(schemes, ["eori", "lei"]);
        assert!(
            variants
                .iter()
                .all(|v| v["required"].as_array().unwrap().len() == 2)
        );
    }
}
