//! Test support: CloudEvents of exactly the shape the passport and custody feeds publish, and an
//! in-memory feed source, for projection tests and benchmarks.

use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use reetrace_core::domain::feed::{CloudEvent, SPEC_VERSION};
use reetrace_core::service::feed::{FeedError, FeedSource};
use serde_json::{Value, json};
use uuid::Uuid;

/// Numbers the events of one stream, 1, 2, 3...
#[derive(Debug, Default)]
pub struct Stream {
    name: String,
    source: String,
    next: i64,
}

impl Stream {
    pub fn passport() -> Stream {
        Stream {
            name: "passport".into(),
            source: "/reetrace/passport".into(),
            next: 1,
        }
    }

    pub fn custody() -> Stream {
        Stream {
            name: "custody".into(),
            source: "/reetrace/custody".into(),
            next: 1,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The next event of the stream.
    pub fn event(
        &mut self,
        kind: &str,
        subject: &str,
        time: DateTime<Utc>,
        data: Value,
    ) -> CloudEvent {
        let seq = self.next;
        self.next += 1;
        CloudEvent {
            specversion: SPEC_VERSION.to_owned(),
            id: Uuid::new_v4().to_string(),
            source: self.source.clone(),
            kind: kind.to_owned(),
            subject: Some(subject.to_owned()),
            time,
            datacontenttype: "application/json".to_owned(),
            sequence: seq.to_string(),
            data,
        }
    }
}

/// Noon on 1 July of `year`.
pub fn mid_year(year: i32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(year, 7, 1, 12, 0, 0)
        .single()
        .expect("a valid date")
}

/// A passport as a test describes it.
#[derive(Debug, Clone)]
pub struct TestPassport {
    pub id: Uuid,
    pub org: Uuid,
    pub version: u32,
    pub granularity: &'static str,
    pub units: Option<u64>,
    pub category: &'static str,
    pub country: &'static str,
    pub year: i32,
    /// (element, grams per unit as a JSON number)
    pub elements: Vec<(&'static str, f64)>,
    pub recycled: Vec<(&'static str, f64)>,
}

impl TestPassport {
    pub fn item(org: Uuid, category: &'static str, country: &'static str, year: i32) -> Self {
        TestPassport {
            id: Uuid::new_v4(),
            org,
            version: 1,
            granularity: "item",
            units: None,
            category,
            country,
            year,
            elements: vec![("Nd", 337.5), ("Pr", 105.0), ("Dy", 60.0)],
            recycled: vec![("Nd", 16.875)],
        }
    }

    /// The credential subject, shaped as the passport service signs it.
    pub fn subject(&self) -> Value {
        let amounts = |list: &[(&str, f64)]| -> Value {
            list.iter()
                .map(|(e, g)| json!({"element": e, "mass_g": g}))
                .collect()
        };
        let total: f64 = self.elements.iter().map(|(_, g)| g).sum();
        let mut product = json!({
            "name": "Test product", "category": self.category, "net_mass_g": 48000,
            "placed_on_market": {"date": format!("{}-04-15", self.year), "country": self.country},
        });
        if let Some(units) = self.units {
            product["units"] = json!(units);
        }
        json!({
            "id": format!("https://example.test/p/{}", self.id),
            "passport_id": self.id, "version": self.version, "granularity": self.granularity,
            "product": product,
            "manufacturer": {"id": format!("did:web:example.test:orgs:{}", self.org), "org_id": self.org, "name": "Maker"},
            "ree_content": {"elements": amounts(&self.elements), "total_mass_g": total,
                "recycled": amounts(&self.recycled), "use_type": "concentrated",
                "component_count": 1, "components_digest": "sha256-AAAA"},
        })
    }

    /// `org.reetrace.passport.issued` (version 1) or `.versioned`.
    pub fn event(&self, stream: &mut Stream) -> CloudEvent {
        let kind = if self.version == 1 {
            "org.reetrace.passport.issued"
        } else {
            "org.reetrace.passport.versioned"
        };
        let data = json!({
            "passport_id": self.id, "version": self.version, "org_id": self.org, "status": "active",
            "credential_id": format!("urn:uuid:{}", Uuid::new_v4()), "subject": self.subject(),
        });
        stream.event(kind, &self.id.to_string(), mid_year(self.year), data)
    }

    /// `org.reetrace.passport.issued` or `.versioned` with a v2 (UNTP) subject: the rare earths
    /// and `magnet_materials` (element, grams per unit, recycled grams per unit) in
    /// `materialsProvenance`, as the passport service lists the magnets' B, Co and Ni.
    pub fn event_v2(
        &self,
        stream: &mut Stream,
        magnet_materials: &[(&str, f64, f64)],
    ) -> CloudEvent {
        let kind = if self.version == 1 {
            "org.reetrace.passport.issued"
        } else {
            "org.reetrace.passport.versioned"
        };
        let recycled = |element: &str| -> f64 {
            self.recycled
                .iter()
                .filter(|(e, _)| *e == element)
                .map(|(_, g)| g)
                .sum()
        };
        let materials: Vec<Value> = self
            .elements
            .iter()
            .map(|(e, g)| (*e, *g, recycled(e)))
            .chain(magnet_materials.iter().copied())
            .map(|(e, g, r)| {
                json!({"materialType": {"id": format!("urn:element:{e}"), "code": e, "name": e},
                    "ree:massGrams": g, "ree:recycledMassGrams": r})
            })
            .collect();
        let subject = json!({
            "granularityLevel": self.granularity,
            "product": {"name": "Test product", "productCategory": [{"code": self.category}],
                "ree:netMassGrams": 48000},
            "materialsProvenance": materials,
            "circularityScorecard": {"ree:useType": "concentrated"},
        });
        let placement = json!({"ree:marketCountry": self.country,
            "ree:placementDate": format!("{}-04-15", self.year),
            "ree:units": self.units.unwrap_or(1)});
        let data = json!({
            "passport_id": self.id, "version": self.version, "org_id": self.org, "status": "active",
            "credential_id": format!("urn:uuid:{}", Uuid::new_v4()), "format": 2,
            "subject": subject, "placement": placement,
        });
        stream.event(kind, &self.id.to_string(), mid_year(self.year), data)
    }

    /// `org.reetrace.passport.status_changed`.
    pub fn status_event(&self, stream: &mut Stream, status: &str) -> CloudEvent {
        let data = json!({"passport_id": self.id, "version": self.version, "org_id": self.org,
            "status": status, "reason": "test"});
        stream.event(
            "org.reetrace.passport.status_changed",
            &self.id.to_string(),
            mid_year(self.year),
            data,
        )
    }
}

/// A custody step on a product: `elements` are the whole product's micrograms.
pub fn product_step(
    stream: &mut Stream,
    action: &str,
    passport_id: Uuid,
    recorder: Uuid,
    year: i32,
    elements: &[(&str, i64)],
) -> CloudEvent {
    let data = json!({
        "action": action, "subject": passport_id, "subject_kind": "product", "passport_id": passport_id,
        "state": "collected", "holder": recorder, "units": 1, "elements": masses(elements),
        "event_id": Uuid::new_v4().to_string(), "org_id": recorder,
    });
    stream.event(
        &format!("org.reetrace.custody.{action}"),
        &passport_id.to_string(),
        mid_year(year),
        data,
    )
}

/// A custody step on a lot, with its origin shares (category, country, ppm).
pub fn lot_step(
    stream: &mut Stream,
    action: &str,
    recorder: Uuid,
    year: i32,
    elements: &[(&str, i64)],
    origin: &[(&str, &str, u64)],
) -> CloudEvent {
    let lot = Uuid::new_v4();
    let data = json!({
        "action": action, "subject": lot, "subject_kind": "lot", "lot_id": lot, "state": "exported",
        "holder": recorder, "elements": masses(elements), "origin": origins(origin), "org_id": recorder,
    });
    stream.event(
        &format!("org.reetrace.custody.{action}"),
        &lot.to_string(),
        mid_year(year),
        data,
    )
}

/// One input of a transformation: a product (its passport) or a lot.
pub struct Input<'a> {
    pub passport_id: Option<Uuid>,
    pub elements: &'a [(&'a str, i64)],
    pub origin: &'a [(&'a str, &'a str, u64)],
}

/// A `dismantling` or `recycling` transformation; outputs are (elements, origin).
#[allow(clippy::type_complexity)]
pub fn transformation(
    stream: &mut Stream,
    process: &str,
    recorder: Uuid,
    year: i32,
    inputs: &[Input<'_>],
    outputs: &[(&[(&str, i64)], &[(&str, &str, u64)])],
    losses: &[(&str, i64)],
) -> CloudEvent {
    let id = Uuid::new_v4();
    let inputs: Vec<Value> = inputs
        .iter()
        .map(|i| match i.passport_id {
            Some(p) => {
                json!({"passport_id": p, "elements": masses(i.elements), "origin": origins(i.origin)})
            }
            None => {
                json!({"lot_id": Uuid::new_v4(), "elements": masses(i.elements), "origin": origins(i.origin)})
            }
        })
        .collect();
    let outputs: Vec<Value> = outputs
        .iter()
        .map(|(elements, origin)| {
            let mass: i64 = elements.iter().map(|(_, m)| m).sum();
            json!({"lot_id": Uuid::new_v4(), "kind": "oxide", "material": "NdPr oxide", "mass_ug": mass * 2,
                "elements": masses(elements), "origin": origins(origin)})
        })
        .collect();
    let data = json!({
        "action": process, "subject": id, "subject_kind": "transformation", "transformation_id": id,
        "process": process, "inputs": inputs, "outputs": outputs, "losses": masses(losses), "org_id": recorder,
    });
    stream.event(
        &format!("org.reetrace.custody.{process}"),
        &id.to_string(),
        mid_year(year),
        data,
    )
}

fn masses(elements: &[(&str, i64)]) -> Value {
    Value::Object(
        elements
            .iter()
            .map(|(e, m)| ((*e).to_owned(), json!(m)))
            .collect(),
    )
}

fn origins(origin: &[(&str, &str, u64)]) -> Value {
    origin
        .iter()
        .map(|(category, country, ppm)| json!({"category": category, "country": country, "share_ppm": ppm}))
        .collect()
}

/// A feed held in memory; `visible` limits how much of it readers see (a stream still being
/// written).
pub struct MemoryFeed {
    stream: String,
    events: Vec<CloudEvent>,
    visible: Mutex<usize>,
}

impl MemoryFeed {
    pub fn new(stream: &str, events: Vec<CloudEvent>) -> Self {
        let visible = Mutex::new(events.len());
        Self {
            stream: stream.to_owned(),
            events,
            visible,
        }
    }

    /// Shows only the first `n` events.
    pub fn show(&self, n: usize) {
        *self.visible.lock().expect("not poisoned") = n.min(self.events.len());
    }
}

#[async_trait]
impl FeedSource for MemoryFeed {
    fn stream(&self) -> &str {
        &self.stream
    }

    async fn read(&self, after: i64, limit: u32) -> Result<Vec<CloudEvent>, FeedError> {
        let visible = *self.visible.lock().expect("not poisoned");
        let from = usize::try_from(after).unwrap_or(0).min(visible);
        let to = (from + limit as usize).min(visible);
        Ok(self.events[from..to].to_vec())
    }
}
