//! The sensor-data and extension-field parameters of the binding's simple event query, on
//! real events: GS1's `SensorDataExample8` and the reference event-hash generator's
//! `ObjectEvent_all_possible_fields` (both in `tests/fixtures/epcis`).
#![allow(clippy::unwrap_used)]

use reetrace_custody::epcis::query::{EventQuery, QueryError};
use serde_json::{Value, json};

fn fixture(path: &str) -> Value {
    let text = std::fs::read_to_string(
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/epcis")
            .join(path),
    )
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Event `i` of a document as the repository stores it: with the document's `@context`.
fn stored(doc: &Value, i: usize) -> Value {
    let mut event = doc["epcisBody"]["eventList"][i].clone();
    event["@context"] = doc["@context"].clone();
    event
}

/// GS1's SensorDataExample8: three sensor elements (`example:` is
/// `http://ns.example.com/epcis/`).
fn sensor_example() -> Value {
    stored(&fixture("examples/SensorDataExample8.jsonld"), 0)
}

/// The reference generator's ObjectEvent with every field, extensions `ext1:` to `ext3:`
/// nested in the event, its ILMD, error declaration and sensor data.
fn all_fields() -> Value {
    stored(&fixture("hash/ObjectEvent_all_possible_fields.json"), 0)
}

fn q(query: &str) -> EventQuery {
    EventQuery::from_binding_query_string(query).unwrap_or_else(|e| panic!("{query}: {e}"))
}

fn refused(query: &str) -> (String, String) {
    match EventQuery::from_binding_query_string(query).unwrap_err() {
        QueryError::Malformed { param, reason, .. } => (param, reason.to_owned()),
        QueryError::Invalid { param, reason, .. } => (param.to_owned(), reason.to_owned()),
        QueryError::Unknown(name) => (name, "unknown".to_owned()),
        QueryError::Unsupported(name) => (name, "unsupported".to_owned()),
        QueryError::Repeated(name) => (name.to_owned(), "repeated".to_owned()),
    }
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[test]
fn sensor_parameters_select_gs1s_sensor_example() {
    let event = sensor_example();
    let holds = [
        "EXISTS_sensorElementList",
        "EXISTS_sensorElement",
        "EQ_type=Temperature",
        "EQ_type=gs1:AbsoluteHumidity",
        "EQ_type=https%3A%2F%2Fgs1.org%2Fvoc%2FTemperature",
        "EQ_type=example:someSensorProperty",
        "EQ_deviceID=urn:epc:id:giai:4000001.111",
        "EQ_dataProcessingMethod=https://example.com/253/4012345000054987",
        "EQ_bizRules=https://example.org/253/4012345000054987",
        "EQ_microorganism=https://www.ncbi.nlm.nih.gov/taxonomy/1126011",
        "EQ_chemicalSubstance=https://identifiers.org/inchikey:CZMRCDWAGMRECN-UGDNZRGBSA-N",
        "EQ_stringValue=someSensorOutput",
        // One report: a temperature whose mean is 13.2 °C (286.35 K, 55.76 °F).
        "EQ_type=Temperature&GE_meanValue_CEL=13.2&LE_meanValue_CEL=13.2",
        "EQ_type=Temperature&GT_meanValue_KEL=286&LT_meanValue_KEL=287",
        "EQ_type=Temperature&GE_meanValue_FAH=55.76&LE_meanValue_FAH=55.76",
        "GE_minValue_CEL=12.4&LE_maxValue_CEL=13.8&GT_sDev_CEL=0.4&LT_sDev_KEL=0.42",
        "GE_percRank=50&LE_percRank=50&EQ_type=Temperature&GT_percValue_CEL=12.6",
        "EQ_value_A93=12.1",
        "EQ_type=AmountOfSubstancePerUnitVolume&GT_value_C35=0.1",
        // The time of the first element's metadata and of the third's report.
        "GE_time=2019-07-19T13:00:00Z&LT_time=2019-07-19T13:00:01Z",
        "GE_startTime=2019-04-01T14:00:00Z&LT_endTime=2019-04-02T14:00:00Z",
        // Metadata of the element, attribute of its report: together.
        "EQ_deviceID=urn:epc:id:giai:4000001.111&EQ_type=AbsoluteHumidity",
        "EQ_SENSORMETADATA_example:someFurtherMetaData=someText&EQ_type=Temperature",
        "EXISTS_SENSORMETADATA_example:someFurtherMetaData",
        "EQ_SENSORREPORT_example:cv=123&EQ_type=Temperature",
        "GE_SENSORREPORT_example:cv=122.5",
        "EXISTS_SENSORELEMENT_example:furtherSensorData",
        "EQ_INNER_SENSORELEMENT_example:measure1=123.5",
        "GT_INNER_SENSORELEMENT_example:measure2=0.9",
    ];
    for query in holds {
        assert!(q(query).matches(&event), "{query} should hold");
    }
    let fails = [
        "EQ_type=Illuminance",
        "EQ_booleanValue=true",
        "EQ_hexBinaryValue=F0F0",
        "EQ_uriValue=https://id.gs1.org/8004/4000001111",
        "EQ_deviceID=urn:epc:id:giai:4000001.112",
        // Each holds on some report, not both on the same one.
        "EQ_type=AbsoluteHumidity&EQ_value_C35=0.18",
        "EQ_microorganism=https://www.ncbi.nlm.nih.gov/taxonomy/1126011&EQ_value_C35=0.18",
        "EQ_SENSORMETADATA_example:someFurtherMetaData=someText&EQ_type=AbsoluteHumidity",
        // 13.2 °C is 286.35 K: not above 287, nor in another kind of unit.
        "GT_meanValue_KEL=287",
        "GE_meanValue_KGM=0",
        "EQ_value_CEL=12.1",
        "GT_percRank=50",
        "GE_time=2019-07-19T13:00:01Z&LT_time=2019-07-19T14:00:00Z",
        "GE_startTime=2019-04-01T14:00:01Z",
        // A top-level field is no sensor field, and the reverse.
        "EXISTS_example:furtherSensorData",
        "EQ_SENSORELEMENT_example:measure1=123.5",
        "EQ_SENSORREPORT_example:cv=124",
    ];
    for query in fails {
        assert!(!q(query).matches(&event), "{query} should not hold");
    }
    // An event without sensor data meets no sensor condition.
    let mut plain = event.clone();
    plain.as_object_mut().unwrap().remove("sensorElementList");
    assert!(!q("EXISTS_sensorElementList").matches(&plain));
    assert!(q("EQ_action=ADD").matches(&plain));
}

#[test]
fn sensor_values_of_every_kind_in_the_reference_event() {
    let event = all_fields();
    for query in [
        "EQ_booleanValue=true",
        "EQ_hexBinaryValue=F0F0F0",
        "EQ_hexBinaryValue=f0f0f0",
        "EQ_uriValue=https://id.gs1.org/8004/4000001111",
        "EQ_stringValue=SomeString|OtherString",
        "EQ_value_CEL=26&GE_sDev_CEL=0.1&LE_sDev_CEL=0.1",
        "EQ_value_KEL=299.15",
        "EQ_SENSORREPORT_ext1:someFurtherReportData=someText",
        "GE_time=2019-07-19T13:00:00Z&EQ_microorganism=https://www.ncbi.nlm.nih.gov/taxonomy/1126011",
    ] {
        assert!(q(query).matches(&event), "{query} should hold");
    }
    for query in [
        "EQ_booleanValue=false",
        "EQ_value_CEL=26.1",
        "EQ_value_KEL=299.16",
    ] {
        assert!(!q(query).matches(&event), "{query} should not hold");
    }
}

#[test]
fn extension_fields_at_the_top_nested_and_in_the_ilmd() {
    let event = all_fields();
    let holds = [
        "EQ_ext1:string=string",
        "EQ_ext1:string=nope|string",
        "EQ_ext1:int=10",
        "EQ_ext1:float=20.0",
        "GT_ext1:int=9&LE_ext1:int=10",
        "GE_ext1:float=20",
        "GE_ext1:time=2013-06-08T14:58:56Z&LT_ext1:time=2013-06-08T14:58:57Z",
        "EXISTS_ext1:object",
        "EXISTS_ext1:boolean",
        // An array field matches by any of its members.
        "EQ_ext1:array=stringInArray",
        // INNER: nested at any depth inside a top-level extension field.
        "EQ_INNER_ext2:string=stringInObject",
        "EQ_INNER_ext3:string=stringInObjectInObjectInArray",
        "EQ_INNER_ext2:int=13&GT_INNER_ext2:int=12",
        "EXISTS_INNER_ext2:object",
        // The same IRI spelled with the XML form, and as a full IRI.
        "EQ_http%3A%2F%2Fexample.com%2Fext1%2F%23string=string",
        "EQ_http%3A%2F%2Fexample.com%2Fext1%2Fstring=string",
        // ILMD.
        "EQ_ILMD_ext1:string=string",
        "EXISTS_ILMD_ext1:object",
        "EQ_INNER_ILMD_ext2:string=stringInObject",
        "EQ_ILMD_cbvmda:countryOfExport=KR",
        "GT_ILMD_cbvmda:grossWeight=3",
    ];
    for query in holds {
        assert!(q(query).matches(&event), "{query} should hold");
    }
    let fails = [
        "EQ_ext1:string=String",
        "GT_ext1:int=10",
        "LT_ext1:time=2013-06-08T14:58:56Z",
        // A string is no number: no comparison holds.
        "GT_ext1:string=0",
        "EXISTS_ext9:anything",
        // Nested fields are not top-level ones, nor the reverse.
        "EQ_ext2:string=stringInObject",
        "EQ_INNER_ext1:string=string",
        "EQ_ILMD_ext2:string=stringInObject",
    ];
    for query in fails {
        assert!(!q(query).matches(&event), "{query} should not hold");
    }
}

#[test]
fn a_field_matches_whichever_prefix_it_was_captured_with() {
    let mut event = json!({
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
                     {"rec": "https://ns.recycler.example/epcis/"}],
        "type": "ObjectEvent", "action": "OBSERVE", "eventTime": "2026-09-01T10:00:00Z",
        "eventTimeZoneOffset": "+00:00", "epcList": [],
        "rec:grade": "A",
        "readPoint": {"id": "urn:epc:id:sgln:0614141.07346.1234", "rec:bay": "7"},
        "bizLocation": {"id": "urn:epc:id:sgln:0614141.00888.0", "rec:site": {"rec:hall": "B"}},
        "errorDeclaration": {"declarationTime": "2026-09-02T10:00:00Z", "rec:ticket": "T-1"}
    });
    let iri = enc("https://ns.recycler.example/epcis/grade");
    for query in [
        "EQ_rec:grade=A".to_owned(),
        format!("EQ_{iri}=A"),
        "EQ_readPoint_rec:bay=7".to_owned(),
        "EQ_INNER_bizLocation_rec:hall=B".to_owned(),
        "EQ_ERROR_DECLARATION_rec:ticket=T-1".to_owned(),
        "EXISTS_ERROR_DECLARATION_rec:ticket".to_owned(),
    ] {
        assert!(q(&query).matches(&event), "{query} should hold");
    }
    // Captured under another prefix for the same namespace: the IRI still finds it, and
    // so does the other prefix, which that event declares.
    event["@context"][1] = json!({"r2": "https://ns.recycler.example/epcis/"});
    let grade = event.as_object_mut().unwrap().remove("rec:grade").unwrap();
    event["r2:grade"] = grade;
    assert!(q(&format!("EQ_{iri}=A")).matches(&event));
    assert!(q("EQ_r2:grade=A").matches(&event));
    assert!(!q("EQ_rec:grade=A").matches(&event));
    assert!(!q("EQ_bizLocation_rec:hall=B").matches(&event));
}

#[test]
fn malformed_sensor_and_field_parameters_are_named() {
    for (query, param) in [
        ("GE_value_CEL=warm", "GE_value_CEL"),
        ("GE_value_cel=1", "GE_value_cel"),
        ("EQ_booleanValue=yes", "EQ_booleanValue"),
        ("EQ_hexBinaryValue=F0F", "EQ_hexBinaryValue"),
        ("GE_time=yesterday", "GE_time"),
        ("GE_ext1:int=ten", "GE_ext1:int"),
        ("EXISTS_ext1:int=1", "EXISTS_ext1:int"),
        ("EQ_ILMD_grade=A", "EQ_ILMD_grade"),
        ("GE_quantity_KGM=heavy", "GE_quantity_KGM"),
        ("EQ_type=", "EQ_type"),
        // Names the standard does not have.
        ("GE_value=3", "GE_value"),
        ("EQ_minValue_CEL=3", "EQ_minValue_CEL"),
        ("GE_percRank_P1=3", "GE_percRank_P1"),
        ("GT_readPoint_ext1:bay=3", "GT_readPoint_ext1:bay"),
        (
            "EXISTS_INNER_SENSORREPORT_ext1:x",
            "EXISTS_INNER_SENSORREPORT_ext1:x",
        ),
        // Master data stays refused.
        (
            "WD_readPoint=urn:epc:id:sgln:0614141.07346.1234",
            "WD_readPoint",
        ),
        ("EQATTR_readPoint_name=x", "EQATTR_readPoint_name"),
        ("HASATTR_bizLocation=x", "HASATTR_bizLocation"),
    ] {
        assert_eq!(refused(query).0, param, "{query}");
    }
    assert_eq!(refused("WD_bizLocation=x").1, "unsupported");
    assert_eq!(refused("EQ_somethingElse=1").1, "unknown");
}

#[test]
fn the_query_schemas_spelling_of_the_declaration_time_is_taken() {
    let mut event = all_fields();
    event["errorDeclaration"]["declarationTime"] = json!("2026-09-05T08:00:00Z");
    let both = "GE_errorDeclaration_Time=2026-09-05T00:00:00Z&LT_errorDeclaration_Time=2026-09-06T00:00:00Z";
    assert!(q(both).matches(&event));
    assert!(!q("GE_errorDeclaration_Time=2026-09-06T00:00:00Z").matches(&event));
    assert_eq!(
        refused("GE_errorDeclaration_Time=soon").0,
        "GE_errorDeclaration_Time"
    );
    assert_eq!(
        refused("LT_errorDeclarationTime=soon").0,
        "LT_errorDeclarationTime"
    );
}

#[test]
fn quantities_in_a_unit_convert_within_its_kind() {
    let event = json!({
        "type": "ObjectEvent", "action": "ADD", "eventTime": "2026-09-01T10:00:00Z",
        "eventTimeZoneOffset": "+00:00", "epcList": [],
        "quantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.012345.1", "quantity": 200, "uom": "KGM"},
                         {"epcClass": "urn:epc:class:lgtin:4012345.012345.2", "quantity": 3}]
    });
    for query in [
        "EQ_quantity_KGM=200",
        "GE_quantity_TNE=0.2&LE_quantity_GRM=200000",
        "EQ_quantity=3",
    ] {
        assert!(q(query).matches(&event), "{query} should hold");
    }
    for query in [
        "GT_quantity_TNE=0.2",
        "EQ_quantity_LTR=200",
        "EQ_quantity_C62=3",
    ] {
        assert!(!q(query).matches(&event), "{query} should not hold");
    }
}
