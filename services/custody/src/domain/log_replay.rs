//! What the custody tables must say if the log tells the truth: `reetrace verify-log` replays
//! the verified events in leaf order and compares the custody of every product
//! (`custody_products.state`, `holder`, `pending_to`) and of every lot (the same, with
//! `mass_ug` and `remaining_ug`) with what the events leave it at.
//!
//! Each event's `data` (what the custody feed says of it, covered by its leaf) carries the
//! custody a step leaves its product or lot in; a transformation ends its product inputs
//! (dismantled or recycled, same holder), takes its mass from its lot inputs (recycled once
//! empty) and makes its output lots, held by its recorder (`org_id`, covered too). Error
//! declarations and other EPCIS events move no custody. What is kept is one entry per subject,
//! so a log of millions of events is replayed in memory linear in its products and lots.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::event::EventRow;
use super::state::{Custody, Process, State};

/// A product's or lot's custody as its row holds it (the state as stored text; a product's
/// masses are 0, the replay does not compare them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCustody {
    pub id: Uuid,
    pub state: String,
    pub holder: Option<Uuid>,
    pub pending_to: Option<Uuid>,
    pub mass_ug: i64,
    pub remaining_ug: i64,
}

/// What the events say of one product or lot, and the last event that said it.
#[derive(Debug, Clone)]
struct Replayed {
    lot: bool,
    custody: Custody,
    mass_ug: i64,
    remaining_ug: i64,
    /// (leaf index, event id) of the last event that moved it.
    last: (i64, String),
    /// Its row was compared.
    seen: bool,
}

/// The custody of every product and lot, replayed from the events in leaf order.
#[derive(Debug, Default)]
pub struct Replay {
    subjects: HashMap<Uuid, Replayed>,
}

#[derive(Deserialize)]
struct Input {
    passport_id: Option<Uuid>,
    lot_id: Option<Uuid>,
    #[serde(default)]
    mass_ug: i64,
}

#[derive(Deserialize)]
struct Output {
    lot_id: Uuid,
    mass_ug: i64,
}

/// A product not yet moved by any event: in use, held by no one.
const IN_USE: Custody = Custody {
    state: State::InUse,
    holder: None,
    pending_to: None,
};

fn text(value: Option<Uuid>) -> String {
    value.map_or_else(|| "NULL".to_owned(), |id| id.to_string())
}

impl Replay {
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies the next event (in leaf order); a `data` it cannot read is the problem returned.
    pub fn apply(&mut self, event: &EventRow) -> Result<(), String> {
        let unreadable = |why: &str| {
            format!(
                "event {} (leaf {}): custody_events.data {why}",
                event.event_id, event.leaf_index
            )
        };
        let data: Value =
            serde_json::from_str(&event.data).map_err(|_| unreadable("is not JSON"))?;
        self.apply_data(event, &data)
            .map_err(|why| unreadable(&why))
    }

    fn apply_data(&mut self, event: &EventRow, data: &Value) -> Result<(), String> {
        let last = (event.leaf_index, event.event_id.clone());
        match data["subject_kind"].as_str() {
            Some(kind @ ("product" | "lot")) => {
                let lot = kind == "lot";
                let id_field = if lot { "lot_id" } else { "passport_id" };
                let id = uuid_at(data, id_field)?;
                let custody = Custody::deserialize(data)
                    .map_err(|_| format!("names no custody (state, holder, pending_to) of {id}"))?;
                let entry = self.entry(id, lot);
                entry.custody = custody;
                entry.last = last;
            }
            Some("several") => {
                let items = data["items"]
                    .as_array()
                    .ok_or_else(|| "lists no items".to_owned())?;
                for item in items {
                    self.apply_data(event, item)?;
                }
            }
            Some("transformation") => {
                let process = Process::deserialize(&data["process"])
                    .map_err(|_| "names no process".to_owned())?;
                let inputs = Vec::<Input>::deserialize(&data["inputs"])
                    .map_err(|_| "lists no readable inputs".to_owned())?;
                let outputs = Vec::<Output>::deserialize(&data["outputs"])
                    .map_err(|_| "lists no readable outputs".to_owned())?;
                for input in inputs {
                    if let Some(id) = input.passport_id {
                        let entry = self.entry(id, false);
                        entry.custody = Custody {
                            state: process.product_outcome(),
                            pending_to: None,
                            ..entry.custody
                        };
                        entry.last = last.clone();
                    } else if let Some(id) = input.lot_id {
                        let entry = self.entry(id, true);
                        entry.remaining_ug -= input.mass_ug;
                        if entry.remaining_ug == 0 {
                            entry.custody.state = State::Recycled;
                        }
                        entry.last = last.clone();
                    }
                }
                for output in outputs {
                    let entry = self.entry(output.lot_id, true);
                    entry.custody = Custody {
                        state: State::Received,
                        holder: Some(event.org_id),
                        pending_to: None,
                    };
                    entry.mass_ug = output.mass_ug;
                    entry.remaining_ug = output.mass_ug;
                    entry.last = last.clone();
                }
            }
            // Error declarations and EPCIS events stored as they are move no custody.
            Some(_) => {}
            None => return Err("names no subject_kind".to_owned()),
        }
        Ok(())
    }

    fn entry(&mut self, id: Uuid, lot: bool) -> &mut Replayed {
        self.subjects.entry(id).or_insert_with(|| Replayed {
            lot,
            custody: IN_USE,
            mass_ug: 0,
            remaining_ug: 0,
            last: (-1, String::new()),
            seen: false,
        })
    }

    /// Compares a product's stored custody with the replayed one; each column that differs
    /// is a problem naming the product, the column and the last event that moved it.
    pub fn check_product(&mut self, stored: &StoredCustody) -> Vec<String> {
        let (replayed, last) = match self.subjects.get_mut(&stored.id) {
            Some(r) if !r.lot => {
                r.seen = true;
                (r.custody, Some(r.last.clone()))
            }
            _ => (IN_USE, None),
        };
        differences(
            "product",
            "custody_products",
            stored,
            replayed,
            last.as_ref(),
        )
    }

    /// Compares a lot's stored custody and masses with the replayed ones.
    pub fn check_lot(&mut self, stored: &StoredCustody) -> Vec<String> {
        let Some(r) = self.subjects.get_mut(&stored.id).filter(|r| r.lot) else {
            return vec![format!(
                "lot {}: no event of the log makes it, but custody_lots holds it",
                stored.id
            )];
        };
        r.seen = true;
        let last = r.last.clone();
        let mut problems = differences("lot", "custody_lots", stored, r.custody, Some(&last));
        for (column, stored_value, replayed) in [
            ("mass_ug", stored.mass_ug, r.mass_ug),
            ("remaining_ug", stored.remaining_ug, r.remaining_ug),
        ] {
            if stored_value != replayed {
                problems.push(mismatch(
                    "lot",
                    &format!("custody_lots.{column}"),
                    stored.id,
                    &stored_value.to_string(),
                    &replayed.to_string(),
                    Some(&last),
                ));
            }
        }
        problems
    }

    /// Products and lots the events move that no row was compared with (deleted rows).
    pub fn unseen(&self) -> Vec<String> {
        let mut missing: Vec<_> = self
            .subjects
            .iter()
            .filter(|(_, r)| !r.seen)
            .map(|(id, r)| {
                let (what, table) = if r.lot {
                    ("lot", "custody_lots")
                } else {
                    ("product", "custody_products")
                };
                format!(
                    "{what} {id}: the log's events move it (last: event {}, leaf {}), but {table} has no row of it",
                    r.last.1, r.last.0
                )
            })
            .collect();
        missing.sort();
        missing
    }
}

fn uuid_at(data: &Value, field: &str) -> Result<Uuid, String> {
    data[field]
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("names no {field}"))
}

fn differences(
    what: &str,
    table: &str,
    stored: &StoredCustody,
    replayed: Custody,
    last: Option<&(i64, String)>,
) -> Vec<String> {
    let mut problems = Vec::new();
    if stored.state != replayed.state.as_str() {
        problems.push(mismatch(
            what,
            &format!("{table}.state"),
            stored.id,
            &stored.state,
            replayed.state.as_str(),
            last,
        ));
    }
    for (column, s, r) in [
        ("holder", stored.holder, replayed.holder),
        ("pending_to", stored.pending_to, replayed.pending_to),
    ] {
        if s != r {
            problems.push(mismatch(
                what,
                &format!("{table}.{column}"),
                stored.id,
                &text(s),
                &text(r),
                last,
            ));
        }
    }
    problems
}

fn mismatch(
    what: &str,
    column: &str,
    id: Uuid,
    stored: &str,
    replayed: &str,
    last: Option<&(i64, String)>,
) -> String {
    let by = match last {
        Some((leaf, event)) => format!("its last event ({event}, leaf {leaf}) leaves"),
        None => "no event of the log moves it: it is".to_owned(),
    };
    format!("{what} {id}: {column} is {stored}, but {by} {replayed}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn event(leaf: i64, org: Uuid, data: Value) -> EventRow {
        EventRow {
            leaf_index: leaf,
            event_id: format!("e{leaf}"),
            event_hash: String::new(),
            event_type: String::new(),
            action: String::new(),
            biz_step: None,
            biz_location: None,
            org_id: org,
            event_time: chrono::DateTime::UNIX_EPOCH,
            document: String::new(),
            data: data.to_string(),
            leaf_hash: Vec::new(),
            recorded_at: chrono::DateTime::UNIX_EPOCH,
            salt: None,
            hash_version: 2,
        }
    }

    fn row(id: Uuid, state: &str, holder: Option<Uuid>, mass: i64, left: i64) -> StoredCustody {
        StoredCustody {
            id,
            state: state.to_owned(),
            holder,
            pending_to: None,
            mass_ug: mass,
            remaining_ug: left,
        }
    }

    #[test]
    fn replays_steps_and_transformations_and_names_each_column_that_differs() {
        let (product, lot, org) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        let mut replay = Replay::new();
        let events = [
            json!({"subject_kind": "product", "passport_id": product,
                "state": "received", "holder": org, "pending_to": null}),
            json!({"subject_kind": "transformation", "process": "dismantling",
                "inputs": [{"passport_id": product}],
                "outputs": [{"lot_id": lot, "mass_ug": 100}]}),
            json!({"subject_kind": "transformation", "process": "recycling",
                "inputs": [{"lot_id": lot, "mass_ug": 40}], "outputs": []}),
            json!({"subject_kind": "error_declaration"}),
        ];
        for (leaf, data) in events.into_iter().enumerate() {
            replay.apply(&event(leaf as i64, org, data)).unwrap();
        }
        let unreadable = replay.apply(&event(4, org, json!({"state": 1})));
        assert!(unreadable.unwrap_err().contains("event e4 (leaf 4)"));

        assert!(
            replay
                .check_product(&row(product, "dismantled", Some(org), 0, 0))
                .is_empty()
        );
        let other = Some(Uuid::from_u128(9));
        let problems = replay.check_product(&row(product, "dismantled", other, 0, 0));
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("custody_products.holder") && problems[0].contains("e1"),
            "{problems:?}"
        );
        assert!(
            replay
                .check_lot(&row(lot, "received", Some(org), 100, 60))
                .is_empty()
        );
        let problems = replay.check_lot(&row(lot, "received", Some(org), 100, 100));
        assert!(
            problems[0].contains("custody_lots.remaining_ug is 100"),
            "{problems:?}"
        );
        assert!(replay.unseen().is_empty());

        let never_moved = Uuid::from_u128(7);
        assert!(
            replay
                .check_product(&row(never_moved, "in_use", None, 0, 0))
                .is_empty()
        );
        let problems = replay.check_product(&row(never_moved, "bogus", Some(org), 0, 0));
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].contains("no event of the log moves it"),
            "{problems:?}"
        );
        let made_by_no_event = replay.check_lot(&row(never_moved, "received", Some(org), 1, 1));
        assert_eq!(made_by_no_event.len(), 1);

        let mut deleted = Replay::new();
        deleted
            .apply(&event(
                0,
                org,
                json!({"subject_kind": "product", "passport_id": product,
                "state": "collected", "holder": org, "pending_to": null}),
            ))
            .unwrap();
        let missing = deleted.unseen();
        assert!(
            missing[0].contains("custody_products has no row"),
            "{missing:?}"
        );
    }
}
