//! Removal steps, the responsible person and the details document: the rows of the error table
//! of docs/credential.md section 5 about them, the details document against the signed subject,
//! and the vocabularies' codes.

use reetrace_core::domain::FieldError;
use serde_json::{Value, json};
use uuid::Uuid;

use super::magnets::{C0, errors, inner, magnet_motor, refused_with, step, verdict};
use crate::domain::registration::{
    AdditiveType, CoatingType, DetailsAccess, Drive, GlueType, MagnetSubtype, MagnetType,
    MagnetisedState, PartKind, RemovalAction, TemperatureClass, ToolKind,
};
use crate::domain::subject::{self, Manufacturer, SubjectContext};

#[test]
fn a_removal_step_needs_an_action() {
    let mut r = magnet_motor();
    step(&mut r, 3).as_object_mut().unwrap().remove("action");
    refused_with(
        &r,
        "/end_of_life/removal_steps/3/action",
        "missing field `action`",
    );
    let mut r = magnet_motor();
    step(&mut r, 3)["action"] = json!("melt");
    let found = errors(&r);
    assert_eq!(found[0].pointer, "/end_of_life/removal_steps/3/action");
    assert!(
        found[0]
            .detail
            .starts_with("unknown removal action \"melt\"; expected unscrew, unclip,"),
        "{found:?}"
    );
}

#[test]
fn a_screwdriver_needs_its_drive_and_only_a_screwdriver_has_one() {
    let mut r = magnet_motor();
    step(&mut r, 0)["tools"][0]
        .as_object_mut()
        .unwrap()
        .remove("drive");
    refused_with(
        &r,
        "/end_of_life/removal_steps/0/tools/0/drive",
        "a screwdriver needs its drive type",
    );
    let mut r = magnet_motor();
    step(&mut r, 2)["tools"][0]["drive"] = json!("hex");
    refused_with(
        &r,
        "/end_of_life/removal_steps/2/tools/0/drive",
        "only a screwdriver has a drive type, not a bearing_puller",
    );
    let mut r = magnet_motor();
    step(&mut r, 3)["tools"][0]["size"] = json!("XL");
    refused_with(
        &r,
        "/end_of_life/removal_steps/3/tools/0/size",
        "only a screwdriver, wrench or socket wrench has a size",
    );
}

#[test]
fn releases_name_magnets_of_the_registration() {
    let mut r = magnet_motor();
    step(&mut r, 4)["releases"][1] = json!("rotor");
    refused_with(
        &r,
        "/end_of_life/removal_steps/4/releases/1",
        "no magnet \"rotor\" in this registration",
    );
}

#[test]
fn the_responsible_person_gives_an_electronic_contact() {
    let mut r = magnet_motor();
    let person = r["responsible_person"].as_object_mut().unwrap();
    person.remove("email");
    person.remove("url");
    person.insert("phone".into(), json!("+49 6721 0000-0"));
    refused_with(
        &r,
        "/responsible_person",
        "give an email or a url as electronic contact",
    );
    let mut r = magnet_motor();
    r["responsible_person"]["email"] = json!("crma at emr.example");
    r["responsible_person"]["address"]["locality"] = json!(" ");
    assert_eq!(
        errors(&r),
        [
            FieldError::new("/responsible_person/address/locality", "must not be empty"),
            FieldError::new(
                "/responsible_person/email",
                "must be an email address such as crma@example.com (at most 254 characters)"
            ),
        ]
    );
    let mut r = magnet_motor();
    r["responsible_person"]["address"]["country"] = json!("EL");
    assert_eq!(errors(&r)[0].pointer, "/responsible_person/address/country");
    let mut r = magnet_motor();
    r["responsible_person"]["address"]
        .as_object_mut()
        .unwrap()
        .remove("street");
    refused_with(
        &r,
        "/responsible_person/address/street",
        "missing field `street`",
    );
}

#[test]
fn other_needs_a_description() {
    let mut r = magnet_motor();
    inner(&mut r)["glues"] = json!([{"type": "other"}]);
    refused_with(
        &r,
        &format!("{C0}/magnets/1/glues/0/description"),
        "describe the other glue",
    );
    let mut r = magnet_motor();
    step(&mut r, 1)["removes"][0] = json!({"part": "other"});
    step(&mut r, 1)["action"] = json!("other");
    step(&mut r, 1)["tools"][0] = json!({"tool": "other"});
    assert_eq!(
        errors(&r),
        [
            FieldError::new(
                "/end_of_life/removal_steps/1/detail",
                "describe the other action"
            ),
            FieldError::new(
                "/end_of_life/removal_steps/1/removes/0/description",
                "describe the other part"
            ),
            FieldError::new(
                "/end_of_life/removal_steps/1/tools/0/detail",
                "describe the other tool or drive"
            ),
        ]
    );
}

fn context() -> SubjectContext {
    SubjectContext {
        subject_id: "https://p.example/01/04012345000016/21/EVM-2026-000001".into(),
        passport_id: Uuid::nil(),
        version: 1,
        manufacturer: Manufacturer {
            id: "did:web:p.example:orgs:x".into(),
            org_id: Uuid::nil(),
            name: "Elektromotoren Rhein GmbH".into(),
            operator_id: None,
        },
        model_passport_uri: None,
        previous_version: None,
    }
}

#[test]
fn the_details_document_holds_the_magnets_and_removal_steps_and_the_subject_does_not() {
    let registration = verdict(&magnet_motor()).unwrap();
    let (subject, details, canonical) = subject::build(&registration, context());
    assert_eq!(
        subject.ree_content.components_digest,
        subject::sri_sha256(canonical.as_bytes())
    );
    assert_eq!(details.removal_steps.len(), 5);
    assert_eq!(details.details_access, Some(DetailsAccess::Restricted));
    assert_eq!(
        details
            .responsible_person
            .as_ref()
            .unwrap()
            .address
            .postal_code,
        "55411"
    );
    let document: Value = serde_json::from_str(&canonical).unwrap();
    let component = &document["components"][0];
    assert_eq!(component["magnets"][1]["ref"], "inner");
    assert_eq!(
        component["magnets"][0]["composition"][3]["method"],
        "measured"
    );
    assert_eq!(
        component["elements"][1],
        json!({"element": "Nd", "mass_g": 380.4, "method": "declared"})
    );
    assert_eq!(
        document["removal_steps"][4]["releases"],
        json!(["outer", "inner"])
    );
    assert_eq!(document["responsible_person"]["email"], "crma@emr.example");
    assert_eq!(document["details_access"], "restricted");

    // The signed subject keeps its v1 shape: the totals, not the magnets or the steps.
    let public = serde_json::to_value(&subject).unwrap();
    assert_eq!(public["ree_content"]["total_mass_g"], json!(534));
    assert_eq!(public["ree_content"]["component_count"], json!(1));
    let eol = public["end_of_life"].as_object().unwrap();
    assert!(!eol.contains_key("removal_steps"), "{eol:?}");
    assert_eq!(eol["use_type"], "concentrated");
    let text = public.to_string();
    for detail in ["press_out", "N42SH", "crma@emr.example", "Industriestraße"] {
        assert!(!text.contains(detail), "{detail} is in the signed subject");
    }
}

#[test]
fn removal_steps_alone_leave_no_end_of_life_in_the_subject() {
    let mut r = magnet_motor();
    let eol = r["end_of_life"].as_object_mut().unwrap();
    eol.remove("dismantling");
    eol.remove("use_type");
    let registration = verdict(&r).unwrap();
    let (subject, details, _) = subject::build(&registration, context());
    assert!(subject.end_of_life.is_none());
    assert_eq!(details.removal_steps.len(), 5);
}

/// Each code as JSON writes it, reads it back, and is what the OpenAPI enum lists.
fn check_vocabulary<T>(all: &[T], code: fn(T) -> &'static str)
where
    T: Copy + PartialEq + std::fmt::Debug + serde::Serialize + serde::de::DeserializeOwned,
    T: utoipa::PartialSchema,
{
    let schema = serde_json::to_value(T::schema()).unwrap();
    let listed: Vec<&str> = schema["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let codes: Vec<&str> = all.iter().map(|v| code(*v)).collect();
    assert_eq!(listed, codes);
    for value in all {
        let json = serde_json::to_value(value).unwrap();
        assert_eq!(json, code(*value));
        assert_eq!(serde_json::from_value::<T>(json).unwrap(), *value);
    }
}

#[test]
fn vocabularies_write_read_and_document_the_same_codes() {
    check_vocabulary(MagnetType::ALL, MagnetType::as_str);
    check_vocabulary(MagnetSubtype::ALL, MagnetSubtype::as_str);
    check_vocabulary(TemperatureClass::ALL, TemperatureClass::as_str);
    check_vocabulary(CoatingType::ALL, CoatingType::as_str);
    check_vocabulary(GlueType::ALL, GlueType::as_str);
    check_vocabulary(AdditiveType::ALL, AdditiveType::as_str);
    check_vocabulary(MagnetisedState::ALL, MagnetisedState::as_str);
    check_vocabulary(RemovalAction::ALL, RemovalAction::as_str);
    check_vocabulary(PartKind::ALL, PartKind::as_str);
    check_vocabulary(ToolKind::ALL, ToolKind::as_str);
    check_vocabulary(Drive::ALL, Drive::as_str);
    check_vocabulary(DetailsAccess::ALL, DetailsAccess::as_str);
    assert_eq!(MagnetisedState::default(), MagnetisedState::Unknown);
    let err = serde_json::from_value::<MagnetType>(json!(7)).unwrap_err();
    assert!(
        err.to_string()
            .contains("a magnet type (ndfeb, smco, alnico, ferrite)"),
        "{err}"
    );
}
