//! The events of our custody steps validate against the EPCIS schema and say what they mean.
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, FixedOffset, TimeZone};
use reetrace_core::domain::{Lgtin, Mass, Sgtin};
use reetrace_custody::epcis::build::{
    BuildError, ErrorDeclaration, ErrorReason, LotEpc, LotQuantity, Observation, ProductEpc,
    Transformation, error_declaration_event, observation_event, transformation_event,
};
use reetrace_custody::epcis::hash::event_hash;
use reetrace_custody::epcis::schema::{validate_document, validate_event};
use reetrace_custody::epcis::vocab::{self, ObservationStep, TransformationStep};
use serde_json::{Value, json};

const BASE: &str = "https://reetrace.example";

fn at(hour: u32) -> DateTime<FixedOffset> {
    FixedOffset::east_opt(3600)
        .unwrap()
        .with_ymd_and_hms(2026, 11, 26, hour, 15, 30)
        .unwrap()
}

fn gs1_product() -> ProductEpc {
    ProductEpc::sgtin(&Sgtin::parse("https://id.gs1.org/01/09506000134352/21/MOTOR-17").unwrap())
}

fn own_product() -> ProductEpc {
    ProductEpc::passport(BASE, "0190f3a6-5c1e-7d2a-9b3f-4e5d6c7b8a90").unwrap()
}

fn grams(g: &str) -> Mass {
    Mass::from_grams_str(g).unwrap()
}

fn observation(step: ObservationStep) -> Observation {
    Observation {
        step,
        event_time: at(10),
        products: vec![gs1_product(), own_product()],
        lots: Vec::new(),
        read_point: Some("https://id.gs1.org/414/9506000134369".into()),
        biz_location: Some(format!("{BASE}/sites/berlin-1")),
        holder: "eori:DE1234567890123".into(),
        to_holder: None,
        from_holder: None,
        measured_mass: None,
    }
}

/// Asserts the event is valid standalone and inside a document.
fn assert_valid(event: &Value) {
    assert_eq!(validate_event(event), Ok(()), "{event:#}");
    let document = json!({
        "@context": vocab::context(),
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-11-26T10:00:00.000Z",
        "epcisBody": { "eventList": [event] }
    });
    assert_eq!(validate_document(&document), Ok(()));
}

#[test]
fn every_observation_step_builds_a_valid_object_event() {
    let steps = [
        (ObservationStep::Collect, "collecting", "in_progress"),
        (ObservationStep::Receive, "receiving", "in_progress"),
        (ObservationStep::Sort, "ree:sorting", "in_progress"),
        (ObservationStep::Handover, "departing", "in_transit"),
        (ObservationStep::Accept, "accepting", "in_progress"),
        (ObservationStep::Destroy, "destroying", "destroyed"),
        (ObservationStep::Export, "ree:exporting", "in_transit"),
    ];
    for (step, biz_step, disposition) in steps {
        let mut o = observation(step);
        if step == ObservationStep::Handover {
            o.to_holder = Some("eori:FR987654321".into());
        }
        let event = observation_event(&o).unwrap();
        assert_valid(&event);
        assert_eq!(event["type"], "ObjectEvent");
        assert_eq!(event["action"], "OBSERVE");
        assert_eq!(event["bizStep"], biz_step, "{step:?}");
        assert_eq!(event["disposition"], disposition, "{step:?}");
    }
}

#[test]
fn an_observation_carries_time_places_identifiers_and_our_fields() {
    let mut o = observation(ObservationStep::Collect);
    o.measured_mass = Some(grams("1250.5"));
    let event = observation_event(&o).unwrap();
    assert_eq!(
        event["@context"],
        json!([vocab::EPCIS_CONTEXT, {"ree": "https://w3id.org/reetrace/vocab#"}])
    );
    assert_eq!(event["eventTime"], "2026-11-26T10:15:30.000+01:00");
    assert_eq!(event["eventTimeZoneOffset"], "+01:00");
    assert_eq!(
        event["epcList"],
        json!([
            "https://id.gs1.org/01/09506000134352/21/MOTOR-17",
            "https://reetrace.example/p/0190f3a6-5c1e-7d2a-9b3f-4e5d6c7b8a90"
        ])
    );
    assert_eq!(
        event["readPoint"],
        json!({"id": "https://id.gs1.org/414/9506000134369"})
    );
    assert_eq!(
        event["bizLocation"],
        json!({"id": "https://reetrace.example/sites/berlin-1"})
    );
    assert_eq!(event["ree:holder"], "eori:DE1234567890123");
    assert_eq!(event["ree:measuredMass"], json!(1.2505));
    // The event id is the event's own hash.
    assert_eq!(event["eventID"], json!(event_hash(&event).unwrap()));
    assert!(
        event["eventID"]
            .as_str()
            .unwrap()
            .starts_with("ni:///sha-256;")
    );
}

#[test]
fn a_handover_and_its_acceptance_name_both_holders() {
    let mut handover = observation(ObservationStep::Handover);
    handover.to_holder = Some("eori:FR987654321".into());
    let event = observation_event(&handover).unwrap();
    assert_eq!(event["ree:toHolder"], "eori:FR987654321");
    assert_eq!(
        event["sourceList"],
        json!([{"type": "possessing_party", "source": "eori:DE1234567890123"}])
    );
    assert_eq!(
        event["destinationList"],
        json!([{"type": "possessing_party", "destination": "eori:FR987654321"}])
    );
    let mut accept = observation(ObservationStep::Accept);
    accept.holder = "eori:FR987654321".into();
    accept.from_holder = Some("eori:DE1234567890123".into());
    let event = observation_event(&accept).unwrap();
    assert_valid(&event);
    assert_eq!(event["ree:fromHolder"], "eori:DE1234567890123");
    assert_eq!(
        event["destinationList"][0]["destination"],
        "eori:FR987654321"
    );
}

#[test]
fn lots_are_observed_in_kilograms() {
    let mut o = observation(ObservationStep::Receive);
    o.products.clear();
    o.lots = vec![LotQuantity {
        lot: LotEpc::own(BASE, "magnets-2026-0042").unwrap(),
        mass: grams("84000"),
    }];
    let event = observation_event(&o).unwrap();
    assert_valid(&event);
    assert!(event.get("epcList").is_none());
    assert_eq!(
        event["quantityList"],
        json!([{"epcClass": "https://reetrace.example/lots/magnets-2026-0042", "quantity": 84.0, "uom": "KGM"}])
    );
}

#[test]
fn dismantling_turns_products_into_parts_and_lots() {
    let magnets = Lgtin::parse("https://id.gs1.org/01/09506000134369/10/NDFEB-0042").unwrap();
    let t = Transformation {
        step: TransformationStep::Dismantle,
        event_time: at(14),
        transformation_id: None,
        input_products: vec![gs1_product()],
        input_lots: Vec::new(),
        output_products: vec![ProductEpc::passport(BASE, "rotor-7").unwrap()],
        output_lots: vec![
            LotQuantity {
                lot: LotEpc::lgtin(&magnets),
                mass: grams("1875"),
            },
            LotQuantity {
                lot: LotEpc::own(BASE, "steel-0042").unwrap(),
                mass: grams("12400.25"),
            },
        ],
        read_point: None,
        biz_location: Some(format!("{BASE}/sites/dismantler-3")),
        holder: "eori:DE1234567890123".into(),
    };
    let event = transformation_event(&t).unwrap();
    assert_valid(&event);
    assert_eq!(event["type"], "TransformationEvent");
    assert_eq!(event["bizStep"], "ree:dismantling");
    assert!(event.get("action").is_none());
    assert_eq!(
        event["inputEPCList"],
        json!(["https://id.gs1.org/01/09506000134352/21/MOTOR-17"])
    );
    assert_eq!(
        event["outputEPCList"],
        json!(["https://reetrace.example/p/rotor-7"])
    );
    assert_eq!(
        event["outputQuantityList"],
        json!([
            {"epcClass": "https://id.gs1.org/01/09506000134369/10/NDFEB-0042", "quantity": 1.875, "uom": "KGM"},
            {"epcClass": "https://reetrace.example/lots/steel-0042", "quantity": 12.40025, "uom": "KGM"}
        ])
    );
}

#[test]
fn recycling_turns_lots_into_lots() {
    let t = Transformation {
        step: TransformationStep::Recycle,
        event_time: at(16),
        transformation_id: Some(format!("{BASE}/transformations/77")),
        input_products: Vec::new(),
        input_lots: vec![LotQuantity {
            lot: LotEpc::own(BASE, "magnets-2026-0042").unwrap(),
            mass: grams("84000"),
        }],
        output_products: Vec::new(),
        output_lots: vec![LotQuantity {
            lot: LotEpc::own(BASE, "ndpr-oxide-9").unwrap(),
            mass: grams("21350"),
        }],
        read_point: Some(format!("{BASE}/sites/recycler-1/line-2")),
        biz_location: None,
        holder: "lei:506700GE1G29325QX363".into(),
    };
    let event = transformation_event(&t).unwrap();
    assert_valid(&event);
    assert_eq!(event["bizStep"], "ree:recycling");
    assert_eq!(
        event["transformationID"],
        "https://reetrace.example/transformations/77"
    );
    assert_eq!(event["inputQuantityList"][0]["quantity"], json!(84.0));
    assert_eq!(event["outputQuantityList"][0]["quantity"], json!(21.35));
}

#[test]
fn an_error_declaration_keeps_the_event_and_its_identity() {
    let original = observation_event(&observation(ObservationStep::Sort)).unwrap();
    let corrective = observation_event(&observation(ObservationStep::Receive)).unwrap();
    let declaration = ErrorDeclaration {
        declaration_time: at(18),
        reason: ErrorReason::IncorrectData,
        corrective_event_ids: vec![corrective["eventID"].as_str().unwrap().to_owned()],
    };
    let mut recorded = original.clone();
    recorded["recordTime"] = json!("2026-11-26T09:16:00.000Z");
    let declared = error_declaration_event(&recorded, &declaration).unwrap();
    assert_valid(&declared);
    assert_eq!(declared["eventID"], original["eventID"]);
    assert!(declared.get("recordTime").is_none());
    assert_eq!(
        declared["errorDeclaration"],
        json!({
            "declarationTime": "2026-11-26T18:15:30.000+01:00",
            "reason": "incorrect_data",
            "correctiveEventIDs": [corrective["eventID"]]
        })
    );
    // The declaration does not change what the event says, so neither does its hash.
    assert_eq!(
        event_hash(&declared).unwrap(),
        event_hash(&original).unwrap()
    );
    let mut without_id = original.clone();
    without_id.as_object_mut().unwrap().remove("eventID");
    let did_not = ErrorDeclaration {
        reason: ErrorReason::DidNotOccur,
        corrective_event_ids: vec![],
        ..declaration
    };
    let declared = error_declaration_event(&without_id, &did_not).unwrap();
    assert_valid(&declared);
    assert_eq!(declared["eventID"], original["eventID"]);
    assert_eq!(
        error_declaration_event(&json!([1]), &did_not),
        Err(BuildError::NotAnEvent)
    );
}

#[test]
fn inconsistent_inputs_are_refused() {
    let mut o = observation(ObservationStep::Handover);
    assert_eq!(
        observation_event(&o),
        Err(BuildError::Missing {
            step: "departing",
            field: "to_holder"
        })
    );
    o.step = ObservationStep::Collect;
    o.to_holder = Some("eori:FR1".into());
    assert_eq!(
        observation_event(&o),
        Err(BuildError::NotApplicable {
            step: "collecting",
            field: "to_holder"
        })
    );
    let mut o = observation(ObservationStep::Sort);
    o.from_holder = Some("eori:FR1".into());
    assert!(matches!(
        observation_event(&o),
        Err(BuildError::NotApplicable {
            field: "from_holder",
            ..
        })
    ));
    let mut o = observation(ObservationStep::Collect);
    o.products.clear();
    assert_eq!(observation_event(&o), Err(BuildError::NothingObserved));
    let mut o = observation(ObservationStep::Collect);
    o.holder = "Collector Ltd".into();
    assert!(matches!(
        observation_event(&o),
        Err(BuildError::NotAUri {
            field: "holder",
            ..
        })
    ));
    let mut o = observation(ObservationStep::Collect);
    o.event_time = FixedOffset::east_opt(15 * 3600)
        .unwrap()
        .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .unwrap();
    assert_eq!(
        observation_event(&o),
        Err(BuildError::TimeZoneOffset(54000))
    );
    let t = Transformation {
        step: TransformationStep::Recycle,
        event_time: at(16),
        transformation_id: None,
        input_products: Vec::new(),
        input_lots: vec![LotQuantity {
            lot: LotEpc::own(BASE, "x").unwrap(),
            mass: grams("1"),
        }],
        output_products: Vec::new(),
        output_lots: Vec::new(),
        read_point: None,
        biz_location: None,
        holder: "eori:DE1".into(),
    };
    assert_eq!(
        transformation_event(&t),
        Err(BuildError::EmptyTransformation)
    );
    // With a transformation id, one side of a multi-event transformation is enough.
    let linked = Transformation {
        transformation_id: Some(format!("{BASE}/transformations/1")),
        ..t
    };
    assert_valid(&transformation_event(&linked).unwrap());
}
