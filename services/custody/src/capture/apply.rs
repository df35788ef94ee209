//! Phase 2 of capture: what the store already holds decides each event, and the whole
//! document is written at once.

use std::collections::HashMap;
use std::str::FromStr;

use reetrace_core::api::problem::Problem;
use reetrace_core::domain::OperatorId;
use reetrace_core::domain::{Principal, Role};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{
    CaptureReport, ErrorBehaviour, EventError, EventResult, EventStatus, Incoming, Key, Kind,
    Prepared, StoreKey, event_pointer, prepare, refused,
};
use crate::domain::event::{EventRow, NewEvent};
use crate::domain::state::{Action, Custody};
use crate::service::{CustodyService, Location};
use crate::steps::{RETRIES, Tracked, decide, set_custody};
use crate::store::{Write, WriteError, Written};

/// The row id of the error declaration of event `id` (the event id column is unique; the
/// declaration's document keeps `id` as its `eventID`).
pub fn declaration_id(id: &str) -> String {
    format!("{id}#error-declaration-1")
}

/// What the store holds of what a document names.
struct Known {
    tracked: Vec<Tracked>,
    products: HashMap<StoreKey, usize>,
    lots: HashMap<StoreKey, usize>,
    stored: HashMap<String, EventRow>,
}

impl Known {
    fn subject(&self, key: &Key) -> Option<usize> {
        match key {
            Key::Product(k) => self.products.get(k).copied(),
            Key::Lot(k) => self.lots.get(k).copied(),
        }
    }
}

/// Where a captured event's leaf index comes from once written.
enum Pending {
    /// The n-th event of the write.
    Written(usize),
    /// The same as an earlier result (a duplicate within the document).
    SameAs(usize),
}

/// A document decided: the write and the answer waiting for its leaf indexes.
struct Plan {
    write: Write,
    results: Vec<EventResult>,
    pending: Vec<(usize, Pending)>,
}

/// The answer, with the leaf indexes the write gave.
fn report(
    mut results: Vec<EventResult>,
    pending: Vec<(usize, Pending)>,
    written: Option<&Written>,
) -> CaptureReport {
    for (result, pending) in pending {
        let leaf = match pending {
            Pending::Written(n) => written.and_then(|w| w.leaves.get(n)).map(|(_, leaf)| *leaf),
            Pending::SameAs(earlier) => results[earlier].leaf_index,
        };
        results[result].leaf_index = leaf;
    }
    let count = |status| results.iter().filter(|r| r.status == status).count();
    CaptureReport {
        captured: count(EventStatus::Captured),
        duplicates: count(EventStatus::Duplicate),
        refused: count(EventStatus::Refused),
        events: results,
    }
}

/// A handover's next holder, resolved (or why not).
type Recipient = Result<Uuid, (String, &'static str, u16)>;

impl CustodyService {
    /// Captures an EPCIS 2.0 document: every event checked and applied as `behaviour` says,
    /// in one write.
    pub async fn capture(
        &self,
        caller: &Principal,
        body: &[u8],
        behaviour: ErrorBehaviour,
    ) -> Result<CaptureReport, Problem> {
        caller.require(&[Role::Recycler])?;
        let prepared = prepare(body, &self.config.base_url)?;
        let mut recipients: HashMap<String, Recipient> = HashMap::new();
        let mut caught_up = false;
        for _ in 0..RETRIES {
            let known = self.known(&prepared, &mut caught_up).await?;
            let plan = self
                .decide_document(caller, &prepared, &known, &mut recipients)
                .await?;
            let errors: Vec<EventError> = plan
                .results
                .iter()
                .flat_map(|r| r.errors.iter().cloned())
                .collect();
            let failed = plan
                .results
                .iter()
                .filter(|r| r.status == EventStatus::Refused)
                .count();
            let total = plan.results.len();
            if failed > 0 && (behaviour == ErrorBehaviour::Rollback || failed == total) {
                return Err(refused(
                    format!("{failed} of {total} events cannot be captured; nothing was stored."),
                    errors,
                ));
            }
            let Plan {
                write,
                results,
                pending,
            } = plan;
            if write.events.is_empty() {
                return Ok(report(results, pending, None));
            }
            match self.store.write(write).await {
                Ok(written) => return Ok(report(results, pending, Some(&written))),
                // Someone moved a product or stored one of these ids meanwhile: decide again.
                Err(WriteError::Stale | WriteError::DuplicateEvent(_)) => continue,
                Err(WriteError::DuplicateKey) => return Err(Problem::internal()),
                Err(WriteError::Store(e)) => return Err(e.into()),
            }
        }
        Err(Problem::service_unavailable(
            "The products of this document kept changing under concurrent writes; retry.",
        )
        .with("retry_after", 1))
    }

    /// Loads the products, lots and stored events a document names, in a few round trips.
    async fn known(&self, prepared: &Prepared, caught_up: &mut bool) -> Result<Known, Problem> {
        let valid = || prepared.events.iter().filter(|e| e.errors.is_empty());
        let mut product_keys = Vec::new();
        let mut lot_keys = Vec::new();
        let mut ids = Vec::new();
        for event in valid() {
            ids.push(event.id.clone());
            if event.kind == Kind::Declaration {
                ids.push(declaration_id(&event.id));
            }
            for name in &event.names {
                match &name.key {
                    Some(Key::Product(k)) => product_keys.push(k.clone()),
                    Some(Key::Lot(k)) => lot_keys.push(k.clone()),
                    None => {}
                }
            }
        }
        let split = |keys: &mut Vec<StoreKey>| {
            keys.sort_unstable();
            keys.dedup();
            let mut epcs = Vec::new();
            let mut uuids = Vec::new();
            for k in keys.iter() {
                match k {
                    StoreKey::Epc(e) => epcs.push(e.clone()),
                    StoreKey::Id(id) => uuids.push(*id),
                }
            }
            (epcs, uuids)
        };
        let (product_epcs, product_ids) = split(&mut product_keys);
        let (lot_epcs, lot_ids) = split(&mut lot_keys);
        let mut products = self
            .store
            .products_named(&product_epcs, &product_ids)
            .await?;
        if products.len() < product_keys.len()
            && !*caught_up
            && let Some(consumer) = &self.passports
        {
            // A product registered a moment ago may not have reached custody yet.
            *caught_up = true;
            if let Err(err) = consumer.catch_up().await {
                tracing::warn!(error = %err, "passport feed catch-up failed");
            }
            products = self
                .store
                .products_named(&product_epcs, &product_ids)
                .await?;
        }
        let lots = self.store.lots_named(&lot_epcs, &lot_ids).await?;
        let stored = self
            .store
            .events_by_id(&ids)
            .await?
            .into_iter()
            .map(|row| (row.event_id.clone(), row))
            .collect();
        let mut known = Known {
            tracked: Vec::with_capacity(products.len() + lots.len()),
            products: HashMap::new(),
            lots: HashMap::new(),
            stored,
        };
        for p in products {
            let at = known.tracked.len();
            known.products.insert(StoreKey::Epc(p.epc.clone()), at);
            known.products.insert(StoreKey::Id(p.passport_id), at);
            known.tracked.push(Tracked::Product(p));
        }
        for l in lots {
            let at = known.tracked.len();
            known.lots.insert(StoreKey::Epc(l.epc.clone()), at);
            known.lots.insert(StoreKey::Id(l.lot_id), at);
            known.tracked.push(Tracked::Lot(l));
        }
        Ok(known)
    }

    /// Decides every event of the document against what the store holds, in order: a step
    /// sees where earlier events of the document left its products.
    async fn decide_document(
        &self,
        caller: &Principal,
        prepared: &Prepared,
        known: &Known,
        recipients: &mut HashMap<String, Recipient>,
    ) -> Result<Plan, Problem> {
        let mut working: Vec<Custody> = known.tracked.iter().map(Tracked::custody).collect();
        let mut touched = vec![false; known.tracked.len()];
        let mut plan = Plan {
            write: Write::default(),
            results: Vec::with_capacity(prepared.events.len()),
            pending: Vec::new(),
        };
        // Row id -> the result of the event of this document stored under it.
        let mut seen: HashMap<String, usize> = HashMap::new();
        for incoming in &prepared.events {
            let at = plan.results.len();
            let mut result = EventResult {
                index: incoming.index,
                event_id: (!incoming.id.is_empty()).then(|| incoming.id.clone()),
                event_hash: (!incoming.hash.is_empty()).then(|| incoming.hash.clone()),
                leaf_index: None,
                status: EventStatus::Captured,
                action: None,
                subjects: Vec::new(),
                declaration_id: None,
                errors: incoming.errors.clone(),
            };
            if !result.errors.is_empty() {
                result.status = EventStatus::Refused;
                plan.results.push(result);
                continue;
            }
            let row_id = match incoming.kind {
                Kind::Declaration => {
                    let id = declaration_id(&incoming.id);
                    result.declaration_id = Some(id.clone());
                    id
                }
                _ => incoming.id.clone(),
            };
            // Idempotency: the same id and hash answer the original; another hash is 409.
            let earlier = seen.get(&row_id).map(|&r| {
                let same = plan.results[r].event_hash == result.event_hash
                    && same_declaration(&prepared.events[r].event, &incoming.event);
                (r, same)
            });
            let stored = known.stored.get(&row_id).map(|row| {
                let same = row.event_hash == incoming.hash
                    && (incoming.kind != Kind::Declaration
                        || same_stored_declaration(row, incoming));
                (row, same)
            });
            match (stored, earlier) {
                (Some((row, true)), _) => {
                    result.status = EventStatus::Duplicate;
                    result.leaf_index = Some(row.leaf_index);
                    result.action = Some(row.action.clone());
                    plan.results.push(result);
                    continue;
                }
                (None, Some((r, true))) => {
                    result.status = EventStatus::Duplicate;
                    result.action = plan.results[r].action.clone();
                    result.subjects = plan.results[r].subjects.clone();
                    plan.pending.push((at, Pending::SameAs(r)));
                    plan.results.push(result);
                    continue;
                }
                (Some((_, false)), _) | (None, Some((_, false))) => {
                    refuse(&mut result, reused(incoming));
                    plan.results.push(result);
                    continue;
                }
                (None, None) => {}
            }
            let decided = match incoming.kind {
                Kind::Declaration => self.declaration(caller, incoming, known, &seen, &plan),
                Kind::Step(action) => {
                    self.step(
                        caller,
                        incoming,
                        action,
                        known,
                        &mut working,
                        &mut touched,
                        recipients,
                    )
                    .await?
                }
                Kind::Plain => Ok(plain(incoming, known)),
            };
            let (action, subjects, data) = match decided {
                Ok(d) => d,
                Err(errors) => {
                    result.status = EventStatus::Refused;
                    result.errors = errors;
                    plan.results.push(result);
                    continue;
                }
            };
            let mut epcs: Vec<(String, &'static str)> = incoming
                .names
                .iter()
                .map(|n| (n.indexed.clone(), n.role))
                .collect();
            // Our own identifier of what the event names too, where it is written otherwise.
            for name in &incoming.names {
                if let Some(t) = name.key.as_ref().and_then(|k| known.subject(k)) {
                    let (epc, _) = known.tracked[t].indexed_epc();
                    if epc != name.indexed {
                        epcs.push((epc, name.role));
                    }
                }
            }
            result.action = Some(action.clone());
            result.subjects = subjects.iter().map(|&t| known.tracked[t].id()).collect();
            plan.pending
                .push((at, Pending::Written(plan.write.events.len())));
            plan.write.events.push(NewEvent {
                event_id: row_id.clone(),
                event_hash: incoming.hash.clone(),
                event_type: incoming.event_type.clone(),
                action,
                biz_step: incoming.biz_step.clone(),
                biz_location: incoming.biz_location.clone(),
                event_time: incoming.event_time,
                org_id: caller.org_id,
                document: incoming.document.clone(),
                data: data.to_string(),
                subjects: result.subjects.clone(),
                epcs,
            });
            seen.insert(row_id, at);
            plan.results.push(result);
        }
        for (t, moved) in touched.iter().enumerate() {
            if *moved {
                set_custody(&mut plan.write, &known.tracked[t], working[t]);
            }
        }
        Ok(plan)
    }

    /// One of our custody steps on every known product and lot the event names; all of them
    /// may take it, or the event is refused.
    #[allow(clippy::too_many_arguments)]
    async fn step(
        &self,
        caller: &Principal,
        incoming: &Incoming,
        action: Action,
        known: &Known,
        working: &mut [Custody],
        touched: &mut [bool],
        recipients: &mut HashMap<String, Recipient>,
    ) -> Result<Decision, Problem> {
        let mut subjects: Vec<(usize, &str)> = Vec::new();
        for name in &incoming.names {
            if let Some(t) = name.key.as_ref().and_then(|k| known.subject(k))
                && !subjects.iter().any(|(s, _)| *s == t)
            {
                subjects.push((t, name.pointer.as_str()));
            }
        }
        if subjects.is_empty() {
            // Nothing we follow: an EPCIS event like any other.
            return Ok(Ok(plain(incoming, known)));
        }
        let index = incoming.index;
        let at = event_pointer(index);
        let to_org = match (action, &incoming.to_holder) {
            (Action::Handover, None) => {
                return Ok(Err(vec![EventError {
                    index,
                    pointer: at,
                    detail: "a departing event names the next holder in ree:toHolder or as a \
                             possessing_party destination (urn:uuid:<organisation id>, or its \
                             eori: or lei: operator identifier)"
                        .into(),
                    code: "validation_failed".into(),
                    status: 422,
                }]));
            }
            (Action::Handover, Some((holder, pointer))) => {
                if !recipients.contains_key(holder) {
                    let resolved = self.resolve_recipient(holder).await?;
                    recipients.insert(holder.clone(), resolved);
                }
                match &recipients[holder] {
                    Ok(org) => Some(*org),
                    Err((detail, code, status)) => {
                        return Ok(Err(vec![EventError {
                            index,
                            pointer: pointer.clone(),
                            detail: detail.clone(),
                            code: (*code).to_owned(),
                            status: *status,
                        }]));
                    }
                }
            }
            _ => None,
        };
        let location = incoming.location.as_ref().map(|id| Location {
            id: Some(id.clone()),
            name: None,
            country: None,
        });
        let mut errors = Vec::new();
        let mut decided = Vec::with_capacity(subjects.len());
        for (t, pointer) in &subjects {
            match decide(
                &known.tracked[*t],
                working[*t],
                action,
                caller.org_id,
                to_org,
                location.as_ref(),
            ) {
                Ok(d) => decided.push((*t, d)),
                Err(problem) => errors.push(EventError {
                    index,
                    pointer: (*pointer).to_owned(),
                    detail: problem_detail(&problem),
                    code: problem.code.clone(),
                    status: problem.status,
                }),
            }
        }
        if !errors.is_empty() {
            return Ok(Err(errors));
        }
        let mut items = Vec::with_capacity(decided.len());
        let mut ids = Vec::with_capacity(decided.len());
        for (t, d) in decided {
            working[t] = d.next;
            touched[t] = true;
            ids.push(t);
            items.push(d.data);
        }
        let data = if items.len() == 1 {
            items.pop().unwrap_or_default()
        } else {
            // The feed's consumers read one subject per event; several ride together here.
            json!({"action": action.as_str(), "subject_kind": "several", "items": items})
        };
        Ok(Ok((action.as_str().to_owned(), ids, data)))
    }

    /// The next holder a handover names: one of our recycler organisations, by id or
    /// operator identifier.
    async fn resolve_recipient(&self, holder: &str) -> Result<Recipient, Problem> {
        let org = if let Some(id) = holder.strip_prefix("urn:uuid:") {
            match Uuid::from_str(id) {
                Ok(id) => self.accounts.org(id).await?,
                Err(_) => None,
            }
        } else {
            match OperatorId::from_str(holder) {
                Ok(operator) => self.accounts.org_by_operator(&operator).await?,
                Err(_) => {
                    return Ok(Err((
                        format!(
                            "{holder:?} names no organisation: use urn:uuid:<organisation id> or \
                             an eori: or lei: operator identifier"
                        ),
                        "validation_failed",
                        422,
                    )));
                }
            }
        };
        Ok(match org {
            Some(org) if org.role == Role::Recycler => Ok(org.id),
            Some(org) => Err((
                format!("{holder} is a {}, not a recycler", org.role),
                "validation_failed",
                422,
            )),
            None => Err((
                format!("no organisation {holder}"),
                "validation_failed",
                422,
            )),
        })
    }

    /// An error declaration of a stored event (or of one earlier in the document): by the
    /// organisation that recorded it, repeating it exactly.
    fn declaration(
        &self,
        caller: &Principal,
        incoming: &Incoming,
        known: &Known,
        seen: &HashMap<String, usize>,
        plan: &Plan,
    ) -> Decision {
        let index = incoming.index;
        let pointer = match incoming.event.get("eventID") {
            Some(_) => format!("{}/eventID", event_pointer(index)),
            None => event_pointer(index),
        };
        let fail = |code: &str, status: u16, detail: String| {
            Err(vec![EventError {
                index,
                pointer: pointer.clone(),
                detail,
                code: code.to_owned(),
                status,
            }])
        };
        let original_hash = match (known.stored.get(&incoming.id), seen.get(&incoming.id)) {
            (Some(row), _) => {
                if row.org_id != caller.org_id {
                    return fail(
                        "forbidden",
                        403,
                        format!(
                            "only the organisation that recorded event {} may declare it erroneous",
                            incoming.id
                        ),
                    );
                }
                row.event_hash.clone()
            }
            (None, Some(&r)) => plan.results[r].event_hash.clone().unwrap_or_default(),
            (None, None) => {
                return fail(
                    "no_such_event",
                    422,
                    format!("no event {} is stored to declare erroneous", incoming.id),
                );
            }
        };
        if original_hash != incoming.hash {
            return fail(
                "event_id_reused",
                409,
                format!(
                    "an error declaration repeats the event it declares erroneous; this one \
                     differs from event {} (hash {original_hash})",
                    incoming.id
                ),
            );
        }
        let subjects = known_subjects(incoming, known);
        let declaration = &incoming.event["errorDeclaration"];
        let data = json!({
            "action": "error_declaration",
            "subject_kind": "error_declaration",
            "declared_event_id": incoming.id,
            "reason": declaration.get("reason"),
            "corrective_event_ids": declaration.get("correctiveEventIDs"),
            "subjects": subjects.iter().map(|&t| known.tracked[t].id()).collect::<Vec<_>>(),
        });
        Ok(("error_declaration".to_owned(), subjects, data))
    }
}

/// An event decided: (action, the known subjects it joins, the feed's data), or why not.
type Decision = Result<(String, Vec<usize>, Value), Vec<EventError>>;

/// An event stored as it is, joining the chains of the products and lots it names.
fn plain(incoming: &Incoming, known: &Known) -> (String, Vec<usize>, Value) {
    let subjects = known_subjects(incoming, known);
    let data = json!({
        "action": incoming.event_type,
        "subject_kind": "epcis_event",
        "event_type": incoming.event_type,
        "subjects": subjects.iter().map(|&t| known.tracked[t].id()).collect::<Vec<_>>(),
    });
    (incoming.event_type.clone(), subjects, data)
}

fn known_subjects(incoming: &Incoming, known: &Known) -> Vec<usize> {
    let mut subjects: Vec<usize> = incoming
        .names
        .iter()
        .filter_map(|n| n.key.as_ref().and_then(|k| known.subject(k)))
        .collect();
    subjects.sort_unstable();
    subjects.dedup();
    subjects
}

fn refuse(result: &mut EventResult, error: EventError) {
    result.status = EventStatus::Refused;
    result.errors = vec![error];
}

/// The same `eventID` with another hash: the event was changed, which EPCIS never allows.
fn reused(incoming: &Incoming) -> EventError {
    let at = event_pointer(incoming.index);
    let pointer = match incoming.event.get("eventID") {
        Some(_) => format!("{at}/eventID"),
        None => at,
    };
    let what = if incoming.kind == Kind::Declaration {
        "an error declaration of it with other content"
    } else {
        "another event"
    };
    EventError {
        index: incoming.index,
        pointer,
        detail: format!(
            "eventID {} is already {what}; a recorded event is never changed: declare it \
             erroneous (errorDeclaration) and capture a corrective event with a new eventID",
            incoming.id
        ),
        code: "event_id_reused".into(),
        status: 409,
    }
}

/// Two error declarations are the same when they declare the same thing.
fn same_declaration(a: &Value, b: &Value) -> bool {
    a.get("errorDeclaration") == b.get("errorDeclaration")
}

fn same_stored_declaration(row: &EventRow, incoming: &Incoming) -> bool {
    serde_json::from_str::<Value>(&row.document)
        .is_ok_and(|stored| same_declaration(&stored, &incoming.event))
}

/// A refusal's detail, with the steps allowed instead when it says them.
fn problem_detail(problem: &Problem) -> String {
    let detail = problem
        .detail
        .clone()
        .unwrap_or_else(|| problem.title.clone());
    match problem.extensions.get("allowed") {
        Some(allowed) => format!("{detail} (allowed now: {allowed})"),
        None => detail,
    }
}
