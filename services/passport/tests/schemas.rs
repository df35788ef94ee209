//! The published JSON Schemas and JSON-LD context under `schemas/` say what the service does.
//!
//! Registrations: every valid example passes both the schema and the Rust rules; every invalid
//! example is refused by each side that can tell (the schema cannot check a GTIN check digit or
//! compare masses across fields; those examples are listed as service-only, and the schema is
//! shown to let them through). Subjects, component details and signed credentials built by the
//! domain code from the valid examples match their schemas, and the JSON-LD context defines
//! every property name they use.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use chrono::{DateTime, NaiveDate, Utc};
use jsonschema::{Registry, Validator};
use reetrace_core::crypto::{self, ProofOptions};
use reetrace_core::domain::issuing::{StatusPurpose, StatusRef};
use reetrace_core::domain::{
    Category, ChemicalElement, Country, DigitalLink, DigitalLinkPath, Element, Eori, Gtin, Lei,
    OperatorId, SerialNumber, UseType, gs1_check_digit,
};
use reetrace_passport::domain::credential::{self, Envelope};
use reetrace_passport::domain::registration::{
    AdditiveType, CoatingType, CrmaExemption, CrmaProductGroup, DetailsAccess, Drive, GlueType,
    Granularity, MagnetSubtype, MagnetType, MagnetisedState, Method, PartKind, Registration,
    RemovalAction, TemperatureClass, ToolKind,
};
use reetrace_passport::domain::subject::{self, Manufacturer, SubjectContext};
use serde_json::{Value, json};
use uuid::Uuid;

const REGISTRATION: &str = "https://schemas.reetrace.org/passport-registration/v1";
const SUBJECT: &str = "https://schemas.reetrace.org/passport-subject/v1";
const CREDENTIAL: &str = "https://schemas.reetrace.org/passport-credential/v1";
const DETAILS: &str = "https://schemas.reetrace.org/component-details/v1";
const SCHEMA_FILES: [&str; 4] = [
    "passport-registration.schema.json",
    "passport-subject.schema.json",
    "passport-credential.schema.json",
    "component-details.schema.json",
];

fn schemas_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas")
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The examples in `schemas/examples/<kind>/`, by file stem, in name order.
fn examples(kind: &str) -> BTreeMap<String, Value> {
    let dir = schemas_dir().join("examples").join(kind);
    std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .map(|path| {
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            (stem, read_json(&path))
        })
        .collect()
}

/// The four schemas, by `$id`.
static SCHEMAS: LazyLock<BTreeMap<String, Value>> = LazyLock::new(|| {
    SCHEMA_FILES
        .iter()
        .map(|file| {
            let schema = read_json(&schemas_dir().join(file));
            (schema["$id"].as_str().unwrap().to_owned(), schema)
        })
        .collect()
});

/// Every schema, so that references between them resolve without any network.
static REGISTRY: LazyLock<Registry<'static>> = LazyLock::new(|| {
    Registry::new()
        .extend(SCHEMAS.iter().map(|(id, schema)| (id.as_str(), schema)))
        .unwrap()
        .prepare()
        .unwrap()
});

/// A validator for the schema (or part of one) at `uri`, resolved in [`REGISTRY`].
fn validator(uri: &str) -> Validator {
    jsonschema::draft202012::options()
        .with_registry(&REGISTRY)
        .build(&json!({ "$ref": uri }))
        .unwrap()
}

/// The schema's complaints, each as `<instance path> <message>` (empty when valid).
fn schema_errors(validator: &Validator, instance: &Value) -> Vec<String> {
    validator
        .iter_errors(instance)
        .map(|e| format!("{} {e}", e.instance_path()))
        .collect()
}

/// What the Rust side says: `Ok`, or the parse error, or the pointers of the rules broken (as
/// the service checks: once the magnets' rare earths are derived).
fn rust_verdict(registration: &Value) -> Result<(), RustError> {
    let mut parsed: Registration = serde_json::from_value(registration.clone())
        .map_err(|e| RustError::Parse(e.to_string()))?;
    parsed.derive_from_magnets();
    parsed
        .check()
        .map_err(|errors| RustError::Check(errors.into_iter().map(|e| e.pointer).collect()))
}

#[derive(Debug)]
enum RustError {
    Parse(String),
    Check(Vec<String>),
}

#[test]
fn every_schema_is_valid_draft_2020_12_and_resolves_offline() {
    assert_eq!(SCHEMAS.len(), SCHEMA_FILES.len(), "one $id per schema");
    for (id, schema) in SCHEMAS.iter() {
        assert_eq!(
            schema["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        assert!(id.starts_with("https://schemas.reetrace.org/") && id.ends_with("/v1"));
        jsonschema::draft202012::meta::validate(schema)
            .unwrap_or_else(|e| panic!("{id} is not a valid 2020-12 schema: {e}"));
        // Every reference is local or to one of our schemas: nothing needs the network.
        let mut refs = Vec::new();
        collect_refs(schema, &mut refs);
        for r in refs {
            assert!(
                r.starts_with('#') || SCHEMAS.keys().any(|known| r.starts_with(known.as_str())),
                "{id} refers to {r}"
            );
        }
        validator(id);
    }
}

fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

#[test]
fn valid_examples_pass_the_schema_and_the_service() {
    let schema = validator(REGISTRATION);
    let valid = examples("valid");
    for (name, example) in &valid {
        let errors = schema_errors(&schema, example);
        assert!(errors.is_empty(), "{name}: {errors:#?}");
        rust_verdict(example).unwrap_or_else(|e| panic!("{name}: {e:?}"));
    }
    // The examples cover every granularity, a model link and recycled sources.
    let has = |what: &dyn Fn(&Value) -> bool| valid.values().any(what);
    assert!(has(&|r| r["granularity"] == "batch"
        && r["product"]["lot"].is_string()
        && r["product"]["units"].is_u64()));
    assert!(has(&|r| r["granularity"] == "model"));
    assert!(has(&|r| {
        r["granularity"] == "item"
            && r["product"]["model_passport"].is_string()
            && r["ree_content"]["components"][0]["recycled_content"]["sources"].is_array()
    }));
    let motor = &valid["item-ev-traction-motor"];
    assert_eq!(motor["product"]["gtin"], "04012345000016");
    // And magnets with removal steps and a responsible person (docs/credential.md section 5).
    assert!(has(&|r| {
        r["ree_content"]["components"][0]["magnets"].is_array()
            && r["end_of_life"]["removal_steps"].is_array()
            && r["responsible_person"].is_object()
    }));
}

/// Every file in `schemas/examples/invalid/`, who refuses it and how. Second column: where the
/// schema complains, or `-` when JSON Schema cannot express the rule (a check digit, decimal
/// precision, sums and comparisons across fields), in which case the schema must let the
/// example through. Third: the service's verdict, `check <pointer>` for `Registration::check`
/// or `parse <text of the error>` for deserialization.
const INVALID: &str = r#"
batch-with-serial                   /product/serial                    check /product/serial
batch-without-lot                   /product                           check /product/lot
batch-without-units                 /product                           check /product/units
blank-name                          /product/name                      check /product/name
component-without-elements          /ree_content/components/0/elements check /ree_content/components/0/elements
control-character-in-name           /product/name                      check /product/name
country-not-iso-3166                /product/placed_on_market/country  parse use GB for the United Kingdom
date-before-1900                    /product/placed_on_market/date     check /product/placed_on_market/date
document-url-not-http               /documents/0/url                   check /documents/0/url
element-listed-twice                /ree_content/components/0/elements check /ree_content/components/0/elements/2/element
element-symbol-in-upper-case        /ree_content/components/0/elements/0/element parse did you mean "Nd"
gtin-eleven-digits                  /product/gtin                      parse must have 8, 12, 13 or 14 digits
impossible-date                     /product/placed_on_market/date     parse input is out of range
item-gtin-without-serial            /product                           check /product/serial
item-with-units                     /product/units                     check /product/units
lifetime-zero                       /product/expected_lifetime_years   check /product/expected_lifetime_years
model-linking-a-model               /product/model_passport            check /product/model_passport
model-passport-not-a-uuid           /product/model_passport            parse UUID parsing failed
model-with-serial                   /product/serial                    check /product/serial
model-without-gtin                  /product                           check /product/gtin
name-too-long                       /product/name                      check /product/name
negative-mass                       /ree_content/components/0/elements/2/mass_g parse mass must not be negative
no-components                       /ree_content/components            check /ree_content/components
nuts-in-lower-case                  /product/placed_on_market/nuts     check /product/placed_on_market/nuts
recycled-source-without-elements    /ree_content/components/0/recycled_content/sources/1/elements check /ree_content/components/0/recycled_content/sources/1/elements
serial-too-long                     /product/serial                    parse must be at most 20 characters
serial-with-space                   /product/serial                    parse not in the GS1 character set 82
share-above-one                     /ree_content/components/0/recycled_content/post_consumer parse share must be between 0 and 1
unknown-category                    /product/category                  parse unknown product category
unknown-element                     /ree_content/components/0/elements/3/element parse unknown rare-earth element "Nb"
unknown-field                       /product                           parse unknown field `colour`
unknown-method                      /ree_content/components/0/elements/0/method parse unknown variant `estimated`
zero-net-mass                       /product/net_mass_g                check /product/net_mass_g
gtin-bad-check-digit                -                                  parse check digit should be 6, got 7
mass-more-precise-than-a-microgram  -                                  parse more precision than 1 microgram
element-mass-above-component        -                                  check /ree_content/components/0/elements/1/mass_g
elements-above-component            -                                  check /ree_content/components/0/elements
components-above-net-mass           -                                  check /ree_content/components
recycled-shares-above-one           -                                  check /ree_content/components/0/recycled_content
recycled-source-element-not-in-component -                             check /ree_content/components/0/recycled_content/sources/1/elements/0/element
recycled-source-above-element-mass  -                                  check /ree_content/components/0/recycled_content/sources/1/elements/0/mass_g
manufactured-after-placed-on-market -                                  check /product/manufactured_on
nuts-of-another-country             -                                  check /product/placed_on_market/nuts
magnet-type-unknown                 /ree_content/components/0/magnets/1/type parse unknown magnet type "neodymium"; expected ndfeb, smco, alnico, ferrite
magnet-subtype-of-another-type      /ree_content/components/0/magnets/1/subtype check /ree_content/components/0/magnets/1/subtype
coating-unknown                     /ree_content/components/0/magnets/0/coatings/0/type parse unknown coating "chrome"
coating-none-with-another           /ree_content/components/0/magnets/0/coatings check /ree_content/components/0/magnets/0/coatings
composition-without-boron           /ree_content/components/0/magnets/0/composition check /ree_content/components/0/magnets/0/composition
composition-share-instead-of-mass   /ree_content/components/0/magnets/0/composition/0 parse takes masses (`mass_g`, grams in one magnet), not shares
composition-mass-as-percentage      /ree_content/components/0/magnets/0/composition/0/mass_g parse mass must be a decimal number of grams such as 337.5, got "22%"
composition-element-in-upper-case   /ree_content/components/0/magnets/0/composition/9/element parse did you mean "Fe"
magnets-with-elements               /ree_content/components/0/elements check /ree_content/components/0/elements
removal-step-without-action         /end_of_life/removal_steps/3       parse missing field `action`
removal-tool-unknown                /end_of_life/removal_steps/1/tools/0/tool parse unknown tool "hammer"
screwdriver-without-drive           /end_of_life/removal_steps/0/tools/0 check /end_of_life/removal_steps/0/tools/0/drive
responsible-person-without-electronic-contact /responsible_person      check /responsible_person
composition-above-magnet            -                                  check /ree_content/components/0/magnets/0/composition
composition-element-listed-twice    -                                  check /ree_content/components/0/magnets/0/composition/3/element
magnets-above-component             -                                  check /ree_content/components/0/magnets
magnet-recycled-claim-above-set     -                                  check /ree_content/components/0/magnets/0/recycled_sources/0/elements/0/mass_g
magnet-ref-used-twice               -                                  check /ree_content/components/0/magnets/1/ref
temperature-class-against-grade     -                                  check /ree_content/components/0/magnets/0/temperature_class
release-of-unknown-magnet           -                                  check /end_of_life/removal_steps/4/releases/1
crma-product-group-unknown          /product/crma_product_group        parse unknown CRMA product group "toaster"
rated-output-negative               /product/rated_output_kw           check /product/rated_output_kw
vehicle-exemption-for-a-dishwasher  -                                  check /product/crma_exemptions/0
l-category-vehicle-dishwasher       /product/crma_product_group        check /product/l_category_vehicle
"#;

/// One row of [`INVALID`].
struct Invalid {
    name: &'static str,
    /// Where the schema complains; `None` when it cannot tell.
    schema_at: Option<&'static str>,
    /// `check` or `parse`.
    how: &'static str,
    /// The pointer `check` names, or text of the parse error.
    what: &'static str,
}

/// The first word of `s` and the rest.
fn split_word(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    s.split_once(' ').unwrap_or((s, ""))
}

fn invalid_table() -> Vec<Invalid> {
    INVALID
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let (name, rest) = split_word(line);
            let (at, rest) = split_word(rest);
            let (how, what) = split_word(rest);
            Invalid {
                name,
                schema_at: (at != "-").then_some(at),
                how,
                what: what.trim(),
            }
        })
        .collect()
}

#[test]
fn invalid_examples_are_refused_by_each_side_that_can_tell() {
    let schema = validator(REGISTRATION);
    let table = invalid_table();
    let files = examples("invalid");
    let listed: BTreeSet<&str> = table.iter().map(|row| row.name).collect();
    let present: BTreeSet<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(
        listed, present,
        "the table lists exactly the invalid examples"
    );
    assert_eq!(listed.len(), table.len(), "no example listed twice");
    assert!(table.iter().filter(|row| row.schema_at.is_some()).count() >= 8);

    for Invalid {
        name,
        schema_at,
        how,
        what,
    } in table
    {
        let example = &files[name];
        let errors = schema_errors(&schema, example);
        match schema_at {
            Some(at) => assert!(
                errors.iter().any(|e| e.starts_with(&format!("{at} "))),
                "{name}: the schema should complain at {at}, said {errors:#?}"
            ),
            None => assert!(
                errors.is_empty(),
                "{name}: listed as beyond JSON Schema, but the schema refuses it: {errors:#?}"
            ),
        }
        match (how, rust_verdict(example)) {
            ("parse", Err(RustError::Parse(message))) => {
                assert!(message.contains(what), "{name}: {message}");
            }
            ("check", Err(RustError::Check(pointers))) => {
                assert!(
                    pointers.iter().any(|p| p == what),
                    "{name}: expected {what}, got {pointers:?}"
                );
            }
            (_, verdict) => panic!("{name}: expected {how} {what}, the service said {verdict:?}"),
        }
    }
}

/// The codes of a Rust vocabulary, in its order.
fn codes<T: Copy>(all: &[T], code: fn(T) -> &'static str) -> Vec<&'static str> {
    all.iter().map(|v| code(*v)).collect()
}

/// The `enum` of a registration `$defs` entry, as strings.
fn schema_enum(def: &str) -> Vec<String> {
    SCHEMAS[REGISTRATION]["$defs"][def]["enum"]
        .as_array()
        .unwrap_or_else(|| panic!("{def} has an enum"))
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn vocabularies_are_exactly_the_rust_ones() {
    let countries: Vec<String> = Country::all().map(|c| c.code().to_owned()).collect();
    assert_eq!(schema_enum("country"), countries);
    let elements: Vec<String> = Element::ALL.iter().map(|e| e.symbol().to_owned()).collect();
    assert_eq!(schema_enum("element"), elements);
    let chemical: Vec<String> = ChemicalElement::ALL
        .iter()
        .map(|e| e.symbol().to_owned())
        .collect();
    assert_eq!(schema_enum("chemicalElement"), chemical);
    let vocabularies: [(&str, Vec<&str>); 13] = [
        ("magnetType", codes(MagnetType::ALL, MagnetType::as_str)),
        (
            "crmaProductGroup",
            codes(CrmaProductGroup::ALL, CrmaProductGroup::as_str),
        ),
        (
            "crmaExemption",
            codes(CrmaExemption::ALL, CrmaExemption::as_str),
        ),
        (
            "temperatureClass",
            codes(TemperatureClass::ALL, TemperatureClass::as_str),
        ),
        ("coatingType", codes(CoatingType::ALL, CoatingType::as_str)),
        ("glueType", codes(GlueType::ALL, GlueType::as_str)),
        (
            "additiveType",
            codes(AdditiveType::ALL, AdditiveType::as_str),
        ),
        (
            "magnetisedState",
            codes(MagnetisedState::ALL, MagnetisedState::as_str),
        ),
        (
            "detailsAccess",
            codes(DetailsAccess::ALL, DetailsAccess::as_str),
        ),
        (
            "removalAction",
            codes(RemovalAction::ALL, RemovalAction::as_str),
        ),
        ("partKind", codes(PartKind::ALL, PartKind::as_str)),
        ("toolKind", codes(ToolKind::ALL, ToolKind::as_str)),
        ("drive", codes(Drive::ALL, Drive::as_str)),
    ];
    for (def, rust) in vocabularies {
        assert_eq!(schema_enum(def), rust, "{def}");
    }
    let subtypes: Vec<&str> =
        SCHEMAS[REGISTRATION]["$defs"]["magnet"]["properties"]["subtype"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
    assert_eq!(subtypes, codes(MagnetSubtype::ALL, MagnetSubtype::as_str));
    let categories: Vec<String> = Category::ALL
        .iter()
        .map(|c| c.as_str().to_owned())
        .collect();
    assert_eq!(schema_enum("category"), categories);
    type Parses = fn(&str) -> bool;
    let enums: [(&str, Parses); 3] = [
        ("granularity", parses::<Granularity>),
        ("method", parses::<Method>),
        ("useType", parses::<UseType>),
    ];
    for (def, rust_accepts) in enums {
        let values = schema_enum(def);
        assert!(values.iter().all(|v| rust_accepts(v)), "{def}");
        for near_miss in ["", "Item", "BATCH", "declared ", "dispersed_use"] {
            assert!(!rust_accepts(near_miss), "{def}: {near_miss:?}");
            assert!(
                !values.iter().any(|v| v == near_miss),
                "{def}: {near_miss:?}"
            );
        }
    }
}

/// Whether `text`, as a JSON string, deserializes as a `T`.
fn parses<T: serde::de::DeserializeOwned>(text: &str) -> bool {
    serde_json::from_value::<T>(json!(text)).is_ok()
}

#[test]
fn identifier_patterns_accept_what_the_parsers_accept() {
    let serial = validator(&format!("{REGISTRATION}#/$defs/serialNumber"));
    let lot = validator(&format!("{REGISTRATION}#/$defs/lotNumber"));
    let mut chars: Vec<char> = (0u8..=127).map(char::from).collect();
    chars.extend(['é', 'ß', '€', '\u{a0}', '\u{ff0f}']);
    for c in chars {
        for text in [c.to_string(), format!("AB{c}12")] {
            let rust = SerialNumber::parse(&text).is_ok();
            assert_eq!(serial.is_valid(&json!(text)), rust, "{text:?}");
            assert_eq!(lot.is_valid(&json!(text)), rust, "{text:?}");
        }
    }
    for len in 0..=22 {
        let text = "7".repeat(len);
        let rust = SerialNumber::parse(&text).is_ok();
        assert_eq!(serial.is_valid(&json!(text)), rust, "{len} characters");
    }

    // With a right check digit, the GTIN pattern and the parser agree on every length.
    let gtin = validator(&format!("{REGISTRATION}#/$defs/gtin"));
    for len in 1..=16 {
        let body: Vec<u8> = (0..len - 1).map(|i| (i * 7 % 10) as u8).collect();
        let mut digits: String = body.iter().map(|d| char::from(b'0' + d)).collect();
        digits.push(char::from(b'0' + gs1_check_digit(&body)));
        assert_eq!(
            gtin.is_valid(&json!(digits)),
            Gtin::parse(&digits).is_ok(),
            "{digits}"
        );
    }
    for not_digits in ["0401234500001X", "04012345 00016", "٠٤٠١٢٣٤٥٠٠٠٠١٦"] {
        assert!(!gtin.is_valid(&json!(not_digits)) && Gtin::parse(not_digits).is_err());
    }
}

#[test]
fn the_date_pattern_is_the_calendar_from_1900_to_2100() {
    let date = validator(&format!("{REGISTRATION}#/$defs/date"));
    let first = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap();
    let last = NaiveDate::from_ymd_opt(2100, 12, 31).unwrap();
    for year in (1896..=1904).chain(1996..=2004).chain(2096..=2104) {
        for month in 0..=13 {
            for day in 0..=32 {
                let text = format!("{year:04}-{month:02}-{day:02}");
                let real = NaiveDate::from_ymd_opt(year, month, day)
                    .is_some_and(|d| (first..=last).contains(&d));
                assert_eq!(date.is_valid(&json!(text)), real, "{text}");
            }
        }
    }
    // Every day of the range, leap days included, as chrono writes it.
    let mut day = first;
    while day <= last {
        assert!(date.is_valid(&json!(day.to_string())), "{day}");
        day = day.succ_opt().unwrap();
    }
}

#[test]
fn text_rules_match_the_service() {
    let schema = validator(REGISTRATION);
    let motor = &examples("valid")["item-ev-traction-motor"];
    let mut texts = vec![
        "Motor".to_owned(),
        " Motor ".to_owned(),
        "Motor\tPMSM\nrotor".to_owned(),
        "ÉÖ€ motor".to_owned(),
        "é".repeat(200),
        "é".repeat(201),
        "x".repeat(200),
        format!("{} ", "x".repeat(200)),
        "\u{feff}".to_owned(),
        "\u{200b}".to_owned(),
        String::new(),
    ];
    // Every Unicode White_Space character alone (blank) and inside text (fine), and every
    // control character inside text (refused unless tab or line feed).
    for c in (0..=0x3000u32).filter_map(char::from_u32) {
        if c.is_whitespace() {
            texts.push(format!("{c}{c}"));
            texts.push(format!("a{c}b"));
        }
        if c.is_control() {
            texts.push(format!("a{c}b"));
        }
    }
    for text in texts {
        let mut registration = motor.clone();
        registration["product"]["name"] = json!(text);
        let by_schema = schema_errors(&schema, &registration).is_empty();
        let by_service = rust_verdict(&registration).is_ok();
        assert_eq!(by_schema, by_service, "{text:?}");
    }
}

const SERVICE: &str = "https://passports.example";
const ISSUER: &str = "did:web:passports.example:orgs:0192f0c1-0000-7000-8000-000000000001";

/// What the service would issue for a registration: the subject, the component details and
/// the signed credential. The examples vary the optional parts (operator id, previous version).
struct Issued {
    subject: Value,
    details: Value,
    credential: Value,
}

fn issue(index: usize, registration: &Value) -> Issued {
    let mut registration: Registration = serde_json::from_value(registration.clone()).unwrap();
    registration.derive_from_magnets();
    let passport_id = Uuid::now_v7();
    let p = &registration.product;
    let subject_id = match (&p.gtin, &p.lot, &p.serial) {
        (Some(gtin), lot, serial) => {
            let mut path = DigitalLinkPath::new(*gtin);
            if let Some(lot) = lot {
                path = path.with_lot(lot.clone());
            }
            if let Some(serial) = serial {
                path = path.with_serial(serial.clone());
            }
            DigitalLink::new(SERVICE, path).unwrap().to_string()
        }
        (None, _, _) => format!("{SERVICE}/p/{passport_id}"),
    };
    let model_passport_uri = p.model_passport.map(|id| match p.gtin {
        Some(gtin) => DigitalLink::new(SERVICE, DigitalLinkPath::new(gtin))
            .unwrap()
            .to_string(),
        None => format!("{SERVICE}/p/{id}"),
    });
    let operator_id = match index % 3 {
        0 => Some(OperatorId::Eori(Eori::parse("FR123456789000").unwrap())),
        1 => Some(OperatorId::Lei(Lei::parse("506700GE1G29325QX363").unwrap())),
        _ => None,
    };
    let ctx = SubjectContext {
        subject_id,
        passport_id,
        version: 1 + (index % 2) as u32,
        manufacturer: Manufacturer {
            id: ISSUER.to_owned(),
            org_id: Uuid::now_v7(),
            name: "Acme Motors SAS".to_owned(),
            operator_id,
        },
        model_passport_uri,
        previous_version: (index % 2 == 1)
            .then(|| reetrace_core::domain::issuing::credential_urn(Uuid::now_v7())),
    };
    let (subject, details, _) = subject::build(&registration, ctx);
    let status: Vec<StatusRef> = StatusPurpose::ALL
        .into_iter()
        .enumerate()
        .map(|(i, purpose)| StatusRef {
            purpose,
            list_id: format!("0192f0c1-aaaa-7000-8000-00000000000{i}"),
            index: 94_567 + i as u32,
        })
        .collect();
    let valid_from: DateTime<Utc> = "2026-04-15T10:00:00Z".parse().unwrap();
    let unsigned = credential::unsigned(
        &subject,
        &Envelope {
            base_url: SERVICE,
            issuer: ISSUER,
            credential_id: Uuid::now_v7(),
            valid_from,
            status: &status,
        },
    );
    let key = crypto::generate_signing_key().unwrap();
    let method = format!("{ISSUER}#key-1");
    let credential = crypto::sign(
        unsigned,
        &ProofOptions::assertion(&method, valid_from),
        &key,
    )
    .unwrap();
    Issued {
        subject: serde_json::to_value(&subject).unwrap(),
        details: serde_json::to_value(&details).unwrap(),
        credential,
    }
}

fn issued() -> Vec<(String, Issued)> {
    examples("valid")
        .into_iter()
        .enumerate()
        .map(|(i, (name, registration))| {
            let issued = issue(i, &registration);
            (name, issued)
        })
        .collect()
}

#[test]
fn what_the_service_issues_matches_the_subject_details_and_credential_schemas() {
    let subject = validator(SUBJECT);
    let details = validator(DETAILS);
    let credential = validator(CREDENTIAL);
    for (name, issued) in issued() {
        let errors = schema_errors(&subject, &issued.subject);
        assert!(errors.is_empty(), "{name} subject: {errors:#?}");
        let errors = schema_errors(&details, &issued.details);
        assert!(errors.is_empty(), "{name} details: {errors:#?}");
        let errors = schema_errors(&credential, &issued.credential);
        assert!(errors.is_empty(), "{name} credential: {errors:#?}");
    }
}

/// Changes to an issued credential that the service never makes, each a JSON pointer and the
/// new value (`null`: the member is removed). Every one must be refused by the schema.
const NEVER_ISSUED: &[(&str, &str)] = &[
    ("/proof", "null"),
    ("/type", r#"["VerifiableCredential"]"#),
    ("/@context/0", r#""https://www.w3.org/2018/credentials/v1""#),
    ("/@context/2", r#""https://example.org/another-context""#),
    ("/id", r#""https://passports.example/c/1""#),
    ("/issuer", r#""https://passports.example""#),
    ("/validFrom", r#""2026-04-15T10:00:00""#),
    ("/proof/cryptosuite", r#""eddsa-rdfc-2022""#),
    ("/proof/proofValue", r#""uAAAA""#),
    (
        "/proof/verificationMethod",
        r#""did:web:passports.example""#,
    ),
    ("/credentialStatus/0/statusListIndex", "94567"),
    ("/credentialStatus/0/statusSize", "1"),
    ("/credentialStatus/2/statusMessage", "null"),
    ("/credentialSubject/price_eur", "1200"),
    ("/credentialSubject/version", "0"),
    ("/credentialSubject/product/gtin", r#""4012345000030""#),
    ("/credentialSubject/product/serial", r#""S1""#),
    (
        "/credentialSubject/ree_content/elements/1/element",
        r#""Pr""#,
    ),
    (
        "/credentialSubject/ree_content/components_digest",
        r#""sha256-abc""#,
    ),
    (
        "/credentialSubject/manufacturer/operator_id/value",
        r#""FR1234567890-00""#,
    ),
];

/// Sets (or with `null`, removes) the member at `pointer`.
fn set_at(document: &mut Value, pointer: &str, value: Value) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    match document.pointer_mut(parent).unwrap() {
        Value::Object(map) if value.is_null() => {
            assert!(map.remove(key).is_some(), "{pointer} is there to remove");
        }
        Value::Object(map) => drop(map.insert(key.to_owned(), value)),
        Value::Array(items) => {
            let index: usize = key.parse().unwrap();
            match items.get_mut(index) {
                Some(slot) => *slot = value,
                None => items.push(value),
            }
        }
        other => panic!("{parent} is {other}"),
    }
}

#[test]
fn the_credential_schema_refuses_what_the_service_never_issues() {
    let schema = validator(CREDENTIAL);
    // The batch example: it has an operator id and Pr as its first element.
    let (name, issued) = issued().into_iter().next().unwrap();
    assert_eq!(name, "batch-ndfeb-magnets");
    let good = issued.credential;
    assert!(schema_errors(&schema, &good).is_empty());
    assert_eq!(
        good["credentialSubject"]["ree_content"]["elements"][0]["element"],
        "Pr"
    );
    for (pointer, value) in NEVER_ISSUED {
        let mut credential = good.clone();
        set_at(
            &mut credential,
            pointer,
            serde_json::from_str(value).unwrap(),
        );
        assert!(!schema.is_valid(&credential), "{pointer} = {value}");
    }
}

/// The term names of the W3C VC 2.0 context (https://www.w3.org/ns/credentials/v2), top level
/// and type-scoped, which ours must leave alone.
const VC2_TERMS: &str = "id type description digestMultibase digestSRI mediaType name \
    VerifiableCredential EnvelopedVerifiableCredential VerifiablePresentation \
    EnvelopedVerifiablePresentation JsonSchemaCredential JsonSchema BitstringStatusListCredential \
    BitstringStatusList BitstringStatusListEntry DataIntegrityProof confidenceMethod \
    credentialSchema credentialStatus credentialSubject evidence issuer proof refreshService \
    relatedResource renderMethod termsOfUse validFrom validUntil holder verifiableCredential \
    jsonSchema encodedList statusPurpose ttl statusListCredential statusListIndex statusMessage \
    statusReference statusSize message status challenge created cryptosuite domain expires nonce \
    previousProof proofPurpose proofValue verificationMethod ... _sd _sd_alg aud cnf exp iat iss \
    jku kid nbf sub x5u";
/// The VC 2.0 terms a passport subject uses, with their VC meaning.
const VC2_TERMS_IN_SUBJECTS: [&str; 3] = ["id", "type", "name"];
const VOCAB: &str = "https://w3id.org/reetrace/vocab#";

fn reetrace_context() -> Value {
    read_json(&schemas_dir().join("contexts/reetrace-v1.jsonld"))
}

/// Checks one context object; returns its term definitions by name.
fn check_context(context: &Value, at: &str) -> BTreeMap<String, Value> {
    let map = context
        .as_object()
        .unwrap_or_else(|| panic!("{at}: an object"));
    assert_eq!(map.get("@protected"), Some(&json!(true)), "{at}: protected");
    let mut terms = BTreeMap::new();
    for (term, definition) in map {
        if term.starts_with('@') || term == "ree" || term == "xsd" {
            continue;
        }
        assert!(
            !VC2_TERMS.split_whitespace().any(|t| t == term),
            "{at}: redefines the VC 2.0 term {term}"
        );
        let iri = match definition {
            Value::String(iri) => iri.as_str(),
            Value::Object(d) => d["@id"].as_str().unwrap_or_else(|| panic!("{term}: @id")),
            other => panic!("{term}: {other}"),
        };
        assert!(
            iri.starts_with("ree:"),
            "{term} maps to {iri}, outside ree:"
        );
        if let Some(coercion) = definition.get("@type") {
            let coercion = coercion.as_str().unwrap();
            assert!(
                [
                    "@id",
                    "xsd:date",
                    "https://www.w3.org/2018/credentials#sriString"
                ]
                .contains(&coercion),
                "{term}: @type {coercion}"
            );
        }
        if let Some(scoped) = definition.get("@context") {
            check_context(scoped, &format!("{at}/{term}"));
        }
        terms.insert(term.clone(), definition.clone());
    }
    terms
}

/// Walks a subject, checking that every property name is defined where it occurs (our terms,
/// including those of enclosing property-scoped contexts, or the VC 2.0 ones), and that values
/// coerced to IRIs or dates are such. Records the terms used.
fn walk(value: &Value, active: &BTreeMap<String, Value>, path: &str, used: &mut BTreeSet<String>) {
    match value {
        Value::Array(items) => items.iter().for_each(|v| walk(v, active, path, used)),
        Value::Object(map) => {
            for (key, v) in map {
                let at = format!("{path}/{key}");
                if VC2_TERMS_IN_SUBJECTS.contains(&key.as_str()) {
                    walk(v, active, &at, used);
                    continue;
                }
                let definition = active
                    .get(key)
                    .unwrap_or_else(|| panic!("{at}: {key} is not defined by the context"));
                used.insert(key.clone());
                match definition.get("@type").and_then(Value::as_str) {
                    Some("@id") => {
                        let iri = v.as_str().unwrap();
                        assert!(url::Url::parse(iri).is_ok(), "{at}: {iri} is not an IRI");
                    }
                    Some("xsd:date") => {
                        let date = v.as_str().unwrap();
                        assert!(NaiveDate::parse_from_str(date, "%Y-%m-%d").is_ok(), "{at}");
                    }
                    _ => {}
                }
                let mut inner = active.clone();
                if let Some(scoped) = definition.get("@context") {
                    inner.extend(check_context(scoped, &at));
                }
                walk(v, &inner, &at, used);
            }
        }
        _ => {}
    }
}

#[test]
fn the_json_ld_context_defines_every_subject_term() {
    let document = reetrace_context();
    let context = &document["@context"];
    assert_eq!(context["@version"], json!(1.1));
    assert_eq!(context["ree"], VOCAB);
    assert_eq!(context["xsd"], "http://www.w3.org/2001/XMLSchema#");
    let top = check_context(context, "@context");
    assert_eq!(top["DigitalProductPassport"], "ree:DigitalProductPassport");

    let mut used = BTreeSet::new();
    for (name, issued) in issued() {
        let credential = &issued.credential;
        assert_eq!(
            credential["@context"][1],
            format!("{SERVICE}{}", credential::REE_CONTEXT_PATH)
        );
        for t in credential["type"].as_array().unwrap() {
            let t = t.as_str().unwrap();
            assert!(
                t == "VerifiableCredential" || top.contains_key(t),
                "{name}: type {t}"
            );
        }
        walk(&issued.subject, &top, &name, &mut used);
    }
    // No dead terms: everything the context defines, the examples use.
    let mut defined: BTreeSet<String> = BTreeSet::new();
    collect_terms(context, &mut defined);
    defined.remove("DigitalProductPassport");
    let unused: Vec<&String> = defined.difference(&used).collect();
    assert!(unused.is_empty(), "defined but never used: {unused:?}");
}

fn collect_terms(context: &Value, out: &mut BTreeSet<String>) {
    for (term, definition) in context.as_object().unwrap() {
        if term.starts_with('@') || term == "ree" || term == "xsd" {
            continue;
        }
        out.insert(term.clone());
        if let Some(scoped) = definition.get("@context") {
            collect_terms(scoped, out);
        }
    }
}
