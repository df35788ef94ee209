#![allow(clippy::unwrap_used)]

use chrono::NaiveDate;
use serde_json::{Value, json};

use super::*;
use crate::domain::registration::{MagnetType, Registration};

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// The motor of the schema examples: 1.44 kg of NdFeB in two sets, every detail registered.
fn motor() -> Value {
    serde_json::from_str(include_str!(
        "../../../../../schemas/examples/valid/item-ev-traction-motor-with-magnets.json"
    ))
    .unwrap()
}

fn check(registration: Value, dates: &CrmaDates, today: &str) -> Conformity {
    let mut r: Registration = serde_json::from_value(registration).unwrap();
    r.derive_from_magnets();
    r.check().unwrap();
    let declared = CrmaScope::of(&r.product);
    let steps = r
        .end_of_life
        .as_ref()
        .map(|e| e.removal_steps.clone())
        .unwrap_or_default();
    let content = Content {
        category: r.product.category,
        declared: declared.as_ref(),
        placed_on_market: r.product.placed_on_market.date,
        components: &r.ree_content.components,
        removal_steps: &steps,
        responsible_person: r.responsible_person.as_ref(),
        publishes_shares: true,
    };
    evaluate(&content, dates, day(today))
}

fn statuses(c: &Conformity) -> Vec<(&'static str, ConformityStatus)> {
    c.rules.iter().map(|r| (r.rule.code(), r.status)).collect()
}

/// Every date already passed and the product placed after them.
fn in_force() -> CrmaDates {
    CrmaDates {
        art28_from: Some(day("2026-01-01")),
        ..CrmaDates::default()
    }
}

#[test]
fn the_mapping_is_only_where_unambiguous() {
    assert_eq!(
        mapped_group(Category::WindTurbineGenerator),
        Some(CrmaProductGroup::WindEnergyGenerator)
    );
    assert_eq!(
        mapped_group(Category::EvTractionMotor),
        Some(CrmaProductGroup::ElectricMotor)
    );
    for c in [
        Category::HardDiskDrive,
        Category::Smartphone,
        Category::Laptop,
        Category::NdfebMagnet,
        Category::Other,
    ] {
        assert_eq!(mapped_group(c), None, "{c:?}");
    }
    assert_eq!(
        product_group(Some(CrmaProductGroup::HeatPump), Category::Other),
        Some((CrmaProductGroup::HeatPump, GroupSource::Declared))
    );
}

#[test]
fn the_legal_defaults_leave_art_28_open_except_for_vehicles() {
    let dates = CrmaDates::default();
    assert_eq!(dates.art28(CrmaProductGroup::HeatPump, false), None);
    for (group, l_category) in [
        (CrmaProductGroup::MotorVehicle, false),
        (CrmaProductGroup::MriDevice, false),
        (CrmaProductGroup::LightMeansOfTransport, true),
    ] {
        assert_eq!(
            dates.art28(group, l_category),
            Some(day("2029-05-24")),
            "{group}"
        );
    }
    // A light means of transport outside category L takes the general date.
    assert_eq!(
        dates.art28(CrmaProductGroup::LightMeansOfTransport, false),
        None
    );
    assert_eq!(dates.art29_from, day("2027-05-24"));
    let mut motor = motor();
    motor["product"]["placed_on_market"]["date"] = json!("2030-01-10");
    let c = check(motor, &dates, "2026-12-06");
    assert_eq!(c.rules[0].status, ConformityStatus::NotYetApplicable);
    assert_eq!(c.rules[0].applies_from, None);
    assert_eq!(
        c.rules[4].status,
        ConformityStatus::Met,
        "art. 29 applies from 2027"
    );
    // Placed before a date already passed: never applies.
    let c = check(super::tests::motor(), &in_force(), "2026-12-06");
    let placed_2026 = CrmaDates {
        art28_from: Some(day("2026-06-01")),
        ..CrmaDates::default()
    };
    assert_eq!(c.rules[0].status, ConformityStatus::Met);
    let c = check(super::tests::motor(), &placed_2026, "2026-12-06");
    assert_eq!(c.rules[0].status, ConformityStatus::NotApplicable);
    assert!(
        c.rules[0].reason.contains("before"),
        "{}",
        c.rules[0].reason
    );
}

#[test]
fn a_fully_registered_motor_meets_every_rule() {
    let mut motor = motor();
    motor["product"]["placed_on_market"]["date"] = json!("2027-06-01");
    let c = check(motor, &in_force(), "2027-07-01");
    assert_eq!(c.scope.product_group, Some(CrmaProductGroup::ElectricMotor));
    assert_eq!(c.scope.group_source, Some(GroupSource::CategoryMapping));
    assert_eq!(c.magnets.art29_mass_g, 1680.0);
    assert!(
        c.rules.iter().all(|r| r.status == ConformityStatus::Met),
        "{:#?}",
        c.rules
    );
}

#[test]
fn gaps_are_named_by_their_pointers() {
    let mut motor = motor();
    motor["product"]["placed_on_market"]["date"] = json!("2027-06-01");
    let obj = motor.as_object_mut().unwrap();
    obj.remove("responsible_person");
    motor["ree_content"]["components"][0]["magnets"][1]
        .as_object_mut()
        .unwrap()
        .remove("glues");
    motor["end_of_life"]["removal_steps"][4]["releases"] = json!(["outer"]);
    let c = check(motor, &in_force(), "2027-07-01");
    let gaps = |i: usize| -> Vec<String> {
        c.rules[i]
            .missing
            .iter()
            .map(|g| format!("{} {}", g.pointer, g.detail))
            .collect()
    };
    assert_eq!(c.rules[1].status, ConformityStatus::Missing);
    assert!(gaps(1)[0].starts_with("/responsible_person "));
    assert_eq!(c.rules[2].status, ConformityStatus::Missing);
    assert!(gaps(2)[0].starts_with("/ree_content/components/0/magnets/1/glues "));
    assert_eq!(
        gaps(3),
        ["/end_of_life/removal_steps no step releases magnet `inner`"]
    );
}

#[test]
fn unregistered_magnets_leave_the_label_open() {
    // The motor of the first passport issue: NdFeB named by its material, no magnets.
    let mut r = crate::domain::tests::motor();
    r["product"]["placed_on_market"]["date"] = json!("2027-06-01");
    let c = check(r, &in_force(), "2027-07-01");
    assert_eq!(c.magnets.types, [MagnetType::Ndfeb]);
    assert_eq!(c.magnets.art29_mass_g, 1500.0);
    for i in [0, 2, 4] {
        assert_eq!(
            c.rules[i].status,
            ConformityStatus::Missing,
            "{:?}",
            c.rules[i]
        );
        assert_eq!(
            c.rules[i].missing[0].pointer,
            "/ree_content/components/0/magnets"
        );
    }
}

#[test]
fn exemptions_and_small_motors_are_out_of_scope() {
    let mut defence = motor();
    defence["product"]["crma_exemptions"] = json!(["defence"]);
    let c = check(defence, &in_force(), "2027-07-01");
    assert!(!c.scope.in_scope);
    assert!(
        c.rules
            .iter()
            .all(|r| r.status == ConformityStatus::NotApplicable && r.reason.contains("28(9)"))
    );
    let mut small = motor();
    small["product"]["rated_output_kw"] = json!(0.09);
    let c = check(small, &in_force(), "2027-07-01");
    assert!(!c.scope.in_scope);
    assert!(c.scope.reason.contains("0.12 kW"), "{}", c.scope.reason);
    let mut phone = motor();
    phone["product"]["category"] = json!("smartphone");
    let c = check(phone, &in_force(), "2027-07-01");
    assert_eq!(c.scope.product_group, None);
    assert_eq!(
        statuses(&c)
            .iter()
            .filter(|(_, s)| *s == ConformityStatus::NotApplicable)
            .count(),
        5
    );
}

#[test]
fn bad_declarations_are_refused_with_their_pointer() {
    let mut r = motor();
    r["product"]["rated_output_kw"] = json!(-1);
    r["product"]["crma_exemptions"] = json!(["space", "type_approved_vehicle", "space"]);
    let r: Registration = serde_json::from_value(r).unwrap();
    let pointers: Vec<String> = r
        .check()
        .unwrap_err()
        .into_iter()
        .map(|e| e.pointer)
        .collect();
    assert_eq!(
        pointers,
        [
            "/product/rated_output_kw",
            "/product/crma_exemptions/1",
            "/product/crma_exemptions/2"
        ]
    );
    let mut r = motor();
    r["product"]["crma_exemptions"] = json!(vec!["space"; 100_000]);
    let r: Registration = serde_json::from_value(r).unwrap();
    let errors = r.check().unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].pointer, "/product/crma_exemptions");
    let mut r = motor();
    r["product"]["crma_product_group"] = json!("toaster");
    let err = serde_json::from_value::<Registration>(r)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("unknown CRMA product group \"toaster\""),
        "{err}"
    );
}

#[test]
fn coverage_counts_units_per_group_country_and_year() {
    let mut a = motor();
    a["product"]["placed_on_market"]["date"] = json!("2027-06-01");
    let met = check(a.clone(), &in_force(), "2027-07-01");
    a.as_object_mut().unwrap().remove("responsible_person");
    let gap = check(a, &in_force(), "2027-07-01");
    let summary = summarise(
        [
            CoverageInput {
                conformity: &met,
                country: "FR",
                year: 2027,
                units: 3,
            },
            CoverageInput {
                conformity: &gap,
                country: "FR",
                year: 2027,
                units: 1,
            },
        ],
        true,
    );
    assert_eq!((summary.passports, summary.in_scope), (2, 2));
    assert_eq!(summary.rules[1].met, 1);
    assert_eq!(summary.rules[1].missing, 1);
    let cells = summary.coverage.unwrap();
    assert_eq!(cells.len(), 1);
    assert_eq!(cells[0].units, 4);
    assert_eq!(cells[0].rules[1].share, Some(0.75));
    assert_eq!(cells[0].rules[0].share, Some(1.0));
}

#[test]
fn type_approved_vehicles_are_exempt_and_the_declaration_is_signed_as_given() {
    let mut vehicle = motor();
    vehicle["product"]["crma_product_group"] = json!("light_means_of_transport");
    vehicle["product"]["crma_exemptions"] = json!(["type_approved_vehicle"]);
    let registration: Registration = serde_json::from_value(vehicle.clone()).unwrap();
    assert_eq!(
        serde_json::to_value(CrmaScope::of(&registration.product)).unwrap(),
        json!({"productGroup": "light_means_of_transport", "exemptions": ["type_approved_vehicle"]})
    );
    let c = check(vehicle, &in_force(), "2027-07-01");
    assert!(!c.scope.in_scope);
    assert!(c.scope.reason.contains("28(11)"), "{}", c.scope.reason);
    // Nothing declared: nothing signed, and the category's group is used.
    let plain: Registration = serde_json::from_value(motor()).unwrap();
    assert_eq!(CrmaScope::of(&plain.product), None);
}

/// Art. 28's date of 24 May 2029 is for MRI devices, motor vehicles and L-category vehicles
/// (Regulation (EU) No 168/2013); an e-bike outside category L or an e-scooter, also a light
/// means of transport, takes the general date.
#[test]
fn among_light_means_of_transport_only_l_category_vehicles_wait_for_2029() {
    let general = CrmaDates {
        art28_from: Some(day("2028-01-01")),
        ..CrmaDates::default()
    };
    let mut scooter = motor();
    scooter["product"]["crma_product_group"] = json!("light_means_of_transport");
    scooter["product"]["placed_on_market"]["date"] = json!("2028-06-01");
    let mut moped = scooter.clone();
    moped["product"]["l_category_vehicle"] = json!(true);
    let registration: Registration = serde_json::from_value(moped.clone()).unwrap();
    assert_eq!(
        serde_json::to_value(CrmaScope::of(&registration.product)).unwrap(),
        json!({"productGroup": "light_means_of_transport", "lCategoryVehicle": true})
    );
    let art28 = |c: &Conformity| -> Vec<(ConformityStatus, Option<NaiveDate>)> {
        c.rules[..4]
            .iter()
            .map(|r| (r.status, r.applies_from))
            .collect()
    };

    let c = check(moped.clone(), &general, "2028-07-01");
    assert!(c.scope.in_scope && c.scope.l_category_vehicle);
    assert!(c.scope.reason.contains("L-category"), "{}", c.scope.reason);
    assert_eq!(
        art28(&c),
        vec![(ConformityStatus::NotYetApplicable, Some(day("2029-05-24"))); 4]
    );
    assert!(
        c.rules[0].reason.contains("2029-05-24"),
        "{}",
        c.rules[0].reason
    );
    let c = check(scooter.clone(), &general, "2028-07-01");
    assert!(!c.scope.l_category_vehicle);
    assert!(
        c.scope.reason.contains("general date"),
        "{}",
        c.scope.reason
    );
    assert_eq!(
        art28(&c),
        vec![(ConformityStatus::Met, Some(day("2028-01-01"))); 4]
    );
    // Placed on the day the vehicles' date is reached, the L-category vehicle must conform.
    moped["product"]["placed_on_market"]["date"] = json!("2029-05-24");
    let c = check(moped, &general, "2029-05-24");
    assert_eq!(
        art28(&c),
        vec![(ConformityStatus::Met, Some(day("2029-05-24"))); 4]
    );
    // With the legal defaults (no implementing act), the scooter has no date at all.
    let c = check(scooter, &CrmaDates::default(), "2028-07-01");
    assert_eq!(
        art28(&c),
        vec![(ConformityStatus::NotYetApplicable, None); 4]
    );
}

#[test]
fn the_l_category_is_refused_outside_light_means_of_transport() {
    for group in [None, Some("motor_vehicle"), Some("electric_motor")] {
        let mut r = motor();
        if let Some(group) = group {
            r["product"]["crma_product_group"] = json!(group);
        }
        r["product"]["l_category_vehicle"] = json!(true);
        let r: Registration = serde_json::from_value(r).unwrap();
        let errors = r.check().unwrap_err();
        let pointers: Vec<&str> = errors.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(pointers, ["/product/l_category_vehicle"], "{group:?}");
        assert!(
            errors[0].detail.contains("light_means_of_transport"),
            "{}",
            errors[0].detail
        );
    }
    // Declared false, it is no declaration at all.
    let mut r = motor();
    r["product"]["l_category_vehicle"] = json!(false);
    let r: Registration = serde_json::from_value(r).unwrap();
    assert!(r.check().is_ok());
    assert_eq!(CrmaScope::of(&r.product), None);
}

#[test]
fn art_29_applies_by_substance_whatever_the_dates() {
    // The motor, in scope with 1.44 kg of NdFeB: art. 29 applies by substance before its date.
    let early = check(motor(), &CrmaDates::default(), "2026-07-01");
    assert!(early.art29_applies());
    assert_eq!(early.rules[4].status, ConformityStatus::NotYetApplicable);
    // Exempt: out of scope.
    let mut defence = motor();
    defence["product"]["crma_exemptions"] = json!(["defence"]);
    assert!(!check(defence, &in_force(), "2027-07-01").art29_applies());
    // 0.2 kg or less of NdFeB, SmCo and AlNiCo: art. 29 does not apply.
    let mut light = motor();
    for magnet in light["ree_content"]["components"][0]["magnets"]
        .as_array_mut()
        .unwrap()
    {
        magnet["count"] = json!(1);
    }
    let light = check(light, &in_force(), "2027-07-01");
    assert!(
        light.magnets.art29_mass_g <= ART29_THRESHOLD_G,
        "{:?}",
        light.magnets
    );
    assert!(light.scope.in_scope);
    assert!(!light.art29_applies());
}
