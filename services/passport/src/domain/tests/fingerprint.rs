//! A registration's fingerprint: the same for the same content however the JSON was written,
//! different as soon as anything the version would state changes.

use serde_json::{Value, json};

use super::magnets::magnet_motor;
use super::motor;
use crate::domain::registration::Registration;
use crate::domain::subject::ComponentDetails;

/// JSON text of `value` with every object's keys in reverse order and generous whitespace:
/// the same document as another client might send it.
fn reordered(value: &Value) -> String {
    match value {
        Value::Object(fields) => {
            let members: Vec<String> = fields
                .iter()
                .rev()
                .map(|(k, v)| format!("\n  {} :  {}", Value::from(k.as_str()), reordered(v)))
                .collect();
            format!("{{ {} \n}}", members.join(" ,"))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(reordered).collect();
            format!("[ {} ]", items.join(" , "))
        }
        other => other.to_string(),
    }
}

/// The fingerprint of a body as the API reads it: parsed, then normalised.
fn fingerprint_of(text: &str) -> [u8; 32] {
    let mut registration: Registration = serde_json::from_str(text).unwrap();
    registration.derive_from_magnets();
    registration.fingerprint().unwrap()
}

#[test]
fn whitespace_key_order_and_number_spelling_do_not_change_it() {
    let body = motor();
    let compact = body.to_string();
    let reordered = reordered(&body);
    assert_ne!(compact, reordered);
    assert_eq!(fingerprint_of(&compact), fingerprint_of(&reordered));
    let respelled = compact.replace("\"net_mass_g\":48000", "\"net_mass_g\":4.8e4");
    assert_ne!(compact, respelled);
    assert_eq!(fingerprint_of(&compact), fingerprint_of(&respelled));
}

#[test]
fn a_changed_field_changes_it() {
    let body = motor();
    let mut heavier = body.clone();
    heavier["product"]["net_mass_g"] = json!(47500);
    assert_ne!(
        fingerprint_of(&body.to_string()),
        fingerprint_of(&heavier.to_string())
    );
    let mut confidential = body.clone();
    confidential["confidential"] = json!({"supplier": "Magnets GmbH"});
    assert_ne!(
        fingerprint_of(&body.to_string()),
        fingerprint_of(&confidential.to_string()),
        "the confidential fields are stored with the version: changing them is a change"
    );
}

#[test]
fn masses_derived_from_magnets_are_part_of_it_and_derive_the_same_each_time() {
    let body = magnet_motor();
    let text = body.to_string();
    assert_eq!(fingerprint_of(&text), fingerprint_of(&reordered(&body)));
    let mut registration: Registration = serde_json::from_str(&text).unwrap();
    let before = registration.fingerprint().unwrap();
    registration.derive_from_magnets();
    assert_ne!(
        before,
        registration.fingerprint().unwrap(),
        "the derived element masses are what the version states"
    );
    let mut lighter = body.clone();
    lighter["ree_content"]["components"][0]["magnets"][0]["unit_mass_g"] = json!(110);
    assert_ne!(fingerprint_of(&text), fingerprint_of(&lighter.to_string()));
}

/// The details document signing stores, cut from the registration's canonical bytes, against
/// the one written from the registration with the same salt.
fn assert_details_cut_as_written(body: &Value) {
    let mut registration: Registration = serde_json::from_str(&body.to_string()).unwrap();
    registration.derive_from_magnets();
    let canonical = registration.canonical_bytes().unwrap();
    assert_eq!(
        Registration::fingerprint_of(&canonical),
        registration.fingerprint().unwrap()
    );
    let cut = ComponentDetails::canonical_bytes_from(&registration, &canonical).unwrap();
    let text = String::from_utf8(cut).unwrap();
    let parsed: Value = serde_json::from_str(&text).unwrap();
    let mut written = ComponentDetails::of(&registration);
    written.salt = parsed["salt"].as_str().unwrap().to_owned();
    assert_eq!(written.salt.len(), 32);
    assert_eq!(
        text,
        String::from_utf8(written.canonical_bytes()).unwrap(),
        "{body}"
    );
}

#[test]
fn the_details_document_cut_from_the_canonical_registration_is_the_one_written() {
    let magnets = magnet_motor();
    assert_details_cut_as_written(&magnets);
    assert_details_cut_as_written(&motor());
    let mut public = magnets.clone();
    public["details_access"] = json!("public");
    assert_details_cut_as_written(&public);
    let mut no_steps = magnets.clone();
    no_steps["end_of_life"]
        .as_object_mut()
        .unwrap()
        .remove("removal_steps");
    no_steps
        .as_object_mut()
        .unwrap()
        .remove("responsible_person");
    assert_details_cut_as_written(&no_steps);
    let mut no_end_of_life = magnets.clone();
    no_end_of_life
        .as_object_mut()
        .unwrap()
        .remove("end_of_life");
    assert_details_cut_as_written(&no_end_of_life);
    // Keys and strings that look like JSON structure, in the parts around the cut ones.
    let mut tricky = magnets;
    tricky["confidential"] =
        json!({"}]\",\"components\":": "\"{[\\", "ree_content": {"components": []}});
    tricky["ree_content"]["components"][0]["name"] = json!("rotor \"set\" {1} [a]");
    assert_details_cut_as_written(&tricky);
}
