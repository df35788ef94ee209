//! Capture-path cost per event: schema validation (standalone and inside a document) and the
//! event hash, on events as our builders make them. Target: 3,000 events/s on 2 cores.
//!
//! Run with `cargo bench -p reetrace-custody --bench epcis`.
#![allow(clippy::print_stdout, reason = "a bench binary reports on stdout")]

use std::hint::black_box;
use std::time::Instant;

use chrono::{FixedOffset, TimeZone};
use reetrace_core::domain::{Mass, Sgtin};
use reetrace_custody::epcis::build::{
    LotEpc, LotQuantity, Observation, ProductEpc, Transformation, observation_event,
    transformation_event,
};
use reetrace_custody::epcis::hash::event_hash;
use reetrace_custody::epcis::schema::{validate_document, validate_event, warm_up};
use reetrace_custody::epcis::vocab::{self, ObservationStep, TransformationStep};
use serde_json::{Value, json};

const EVENTS: usize = 2_000;
const ROUNDS: usize = 5;

fn events() -> Vec<Value> {
    let tz = FixedOffset::east_opt(3600).expect("a valid offset");
    (0..EVENTS)
        .map(|i| {
            let time = tz
                .with_ymd_and_hms(2026, 11, 26, 10, (i / 60 % 60) as u32, (i % 60) as u32)
                .single()
                .expect("a valid time");
            let serial = format!("https://id.gs1.org/01/09506000134352/21/M{i}");
            let product = ProductEpc::sgtin(&Sgtin::parse(&serial).expect("a valid SGTIN"));
            let built = if i % 4 == 3 {
                let lot = |name: &str| LotEpc::own("https://reetrace.example", name);
                transformation_event(&Transformation {
                    step: TransformationStep::Dismantle,
                    event_time: time,
                    transformation_id: None,
                    input_products: vec![product],
                    input_lots: Vec::new(),
                    output_products: Vec::new(),
                    output_lots: vec![LotQuantity {
                        lot: lot(&format!("magnets-{i}")).expect("a valid lot"),
                        mass: Mass::from_grams(1875).expect("a valid mass"),
                    }],
                    read_point: None,
                    biz_location: Some("https://reetrace.example/sites/3".into()),
                    holder: "eori:DE1234567890123".into(),
                })
            } else {
                observation_event(&Observation {
                    step: [
                        ObservationStep::Collect,
                        ObservationStep::Receive,
                        ObservationStep::Sort,
                    ][i % 3],
                    event_time: time,
                    products: vec![product],
                    lots: Vec::new(),
                    read_point: Some("https://id.gs1.org/414/9506000134369".into()),
                    biz_location: Some("https://reetrace.example/sites/1".into()),
                    holder: "eori:DE1234567890123".into(),
                    to_holder: None,
                    from_holder: None,
                    measured_mass: Some(Mass::from_grams(12_500).expect("a valid mass")),
                })
            };
            built.expect("the bench events build")
        })
        .collect()
}

fn per_event(label: &str, rounds: usize, mut run: impl FnMut()) {
    let mut best = f64::INFINITY;
    for _ in 0..rounds {
        let start = Instant::now();
        run();
        best = best.min(start.elapsed().as_secs_f64());
    }
    let micros = best / EVENTS as f64 * 1e6;
    println!(
        "{label:<40} {micros:8.1} µs/event  {:9.0} events/s (one core)",
        1e6 / micros
    );
}

fn main() {
    let start = Instant::now();
    warm_up();
    println!(
        "schema compiled once in {:.1} ms",
        start.elapsed().as_secs_f64() * 1e3
    );
    let events = events();
    per_event("validate_event (standalone)", ROUNDS, || {
        for e in &events {
            assert!(validate_event(black_box(e)).is_ok());
        }
    });
    let document = json!({
        "@context": vocab::context(),
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-11-26T10:00:00.000Z",
        "epcisBody": { "eventList": events },
    });
    per_event("validate_document (2,000 events)", ROUNDS, || {
        assert!(validate_document(black_box(&document)).is_ok());
    });
    per_event("event_hash", ROUNDS, || {
        for e in &events {
            black_box(event_hash(black_box(e)).expect("hashable"));
        }
    });
}
