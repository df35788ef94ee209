//! Deciding each event of a captured document against what the store holds, in document order:
//! idempotency by `eventID` and hash, our custody steps through the state machine and the
//! holder rule, error declarations, and everything else stored as it is when its recorder
//! holds every product and lot it names.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Mutex, MutexGuard};

use reetrace_core::domain::OperatorId;
use reetrace_core::domain::{Principal, Role};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{Known, Pending, Plan};
use crate::domain::CustodyError;
use crate::domain::capture::{
    EventFault, EventKind, EventOutcome, EventRefusal, EventStatus, Incoming, Prepared,
    declaration_id, event_pointer,
};
use crate::domain::event::{EventRow, NewEvent};
use crate::domain::state::{Action, Custody};
use crate::domain::step::{Location, Tracked, decide};
use crate::service::CustodyService;
use crate::service::steps::set_custody;
use crate::store::Write;

/// A handover's next holder, resolved (or why not).
type Recipient = Result<Uuid, EventFault>;

/// The next holders resolved so far, by how the document names them.
pub(super) type Recipients = Mutex<HashMap<String, Recipient>>;

fn lock(recipients: &Recipients) -> MutexGuard<'_, HashMap<String, Recipient>> {
    recipients
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Why a step cannot be taken, as the fault of the event that asks for it.
fn step_fault(refused: CustodyError) -> Result<EventFault, CustodyError> {
    match refused {
        CustodyError::StepNotAllowed {
            refusal, allowed, ..
        } => Ok(EventFault::StepNotAllowed { refusal, allowed }),
        CustodyError::Invalid(errors) => Ok(EventFault::InvalidStep(errors)),
        other => Err(other),
    }
}

impl CustodyService {
    /// Decides every event of the document against what the store holds, in order: a step
    /// sees where earlier events of the document left its products.
    pub(super) async fn decide_document(
        &self,
        caller: &Principal,
        prepared: &Prepared,
        known: &Known,
        recipients: &Recipients,
    ) -> Result<Plan, CustodyError> {
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
            let mut result = EventOutcome {
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
                EventKind::Declaration => {
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
            let stored = stored_row(known, incoming, &row_id).map(|row| {
                let same = incoming.has_hash(&row.event_hash, row.hash_version)
                    && (incoming.kind != EventKind::Declaration
                        || same_stored_declaration(row, incoming));
                (row, same)
            });
            match (stored, earlier) {
                (Some((row, true)), _) => {
                    // The stored event keeps the id and hash it was captured with.
                    if incoming.kind == EventKind::Declaration {
                        result.declaration_id = Some(row.event_id.clone());
                    } else {
                        result.event_id = Some(row.event_id.clone());
                    }
                    result.event_hash = Some(row.event_hash.clone());
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
                EventKind::Declaration => self.declaration(caller, incoming, known, &seen, &plan),
                EventKind::Step(action) => {
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
                EventKind::Plain => held_by_caller(caller, incoming, known, &working)
                    .map(|()| plain(incoming, known)),
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
        recipients: &Recipients,
    ) -> Result<Decision, CustodyError> {
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
                return Ok(Err(vec![EventRefusal {
                    index,
                    pointer: at,
                    fault: EventFault::NoNextHolder,
                }]));
            }
            (Action::Handover, Some((holder, pointer))) => {
                let cached = lock(recipients).get(holder).cloned();
                let resolved = match cached {
                    Some(resolved) => resolved,
                    None => {
                        let resolved = self.resolve_recipient(holder).await?;
                        lock(recipients).insert(holder.clone(), resolved.clone());
                        resolved
                    }
                };
                match resolved {
                    Ok(org) => Some(org),
                    Err(fault) => {
                        return Ok(Err(vec![EventRefusal {
                            index,
                            pointer: pointer.clone(),
                            fault,
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
                Err(refused) => errors.push(EventRefusal {
                    index,
                    pointer: (*pointer).to_owned(),
                    fault: step_fault(refused)?,
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
    async fn resolve_recipient(&self, holder: &str) -> Result<Recipient, CustodyError> {
        let org = if let Some(id) = holder.strip_prefix("urn:uuid:") {
            match Uuid::from_str(id) {
                Ok(id) => self.accounts.org(id).await?,
                Err(_) => None,
            }
        } else {
            match OperatorId::from_str(holder) {
                Ok(operator) => self.accounts.org_by_operator(&operator).await?,
                Err(_) => return Ok(Err(EventFault::UnnamedHolder(holder.to_owned()))),
            }
        };
        Ok(match org {
            Some(org) if org.role == Role::Recycler => Ok(org.id),
            Some(org) => Err(EventFault::NotARecycler {
                holder: holder.to_owned(),
                role: org.role,
            }),
            None => Err(EventFault::NoOrganisation(holder.to_owned())),
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
        let fail = |fault: EventFault| {
            Err(vec![EventRefusal {
                index,
                pointer: pointer.clone(),
                fault,
            }])
        };
        let (original_hash, same) = match (
            stored_row(known, incoming, &incoming.id),
            seen.get(&incoming.id),
        ) {
            (Some(row), _) => {
                if row.org_id != caller.org_id {
                    return fail(EventFault::NotRecorder(incoming.id.clone()));
                }
                let same = incoming.has_hash(&row.event_hash, row.hash_version);
                (row.event_hash.clone(), same)
            }
            (None, Some(&r)) => {
                let hash = plan.results[r].event_hash.clone().unwrap_or_default();
                let same = hash == incoming.hash;
                (hash, same)
            }
            (None, None) => return fail(EventFault::NoSuchEvent(incoming.id.clone())),
        };
        if !same {
            return fail(EventFault::DeclarationDiffers {
                id: incoming.id.clone(),
                original_hash,
            });
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
type Decision = Result<(String, Vec<usize>, Value), Vec<EventRefusal>>;

/// Whether the caller holds every product and lot the event names, where earlier events of
/// the document left them: only the holder writes an event that is no step into a history.
/// One refusal per product or lot it does not hold, at the first place it is named.
fn held_by_caller(
    caller: &Principal,
    incoming: &Incoming,
    known: &Known,
    working: &[Custody],
) -> Result<(), Vec<EventRefusal>> {
    let mut refused: Vec<(usize, EventRefusal)> = Vec::new();
    for name in &incoming.names {
        let Some(t) = name.key.as_ref().and_then(|k| known.subject(k)) else {
            continue;
        };
        if working[t].holder == Some(caller.org_id) || refused.iter().any(|(s, _)| *s == t) {
            continue;
        }
        let tracked = &known.tracked[t];
        refused.push((
            t,
            EventRefusal {
                index: incoming.index,
                pointer: name.pointer.clone(),
                fault: EventFault::NotHolder {
                    subject: tracked.id(),
                    lot: matches!(tracked, Tracked::Lot(_)),
                },
            },
        ));
    }
    if refused.is_empty() {
        Ok(())
    } else {
        Err(refused.into_iter().map(|(_, r)| r).collect())
    }
}

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

fn refuse(result: &mut EventOutcome, error: EventRefusal) {
    result.status = EventStatus::Refused;
    result.errors = vec![error];
}

/// The same `eventID` with another hash: the event was changed, which EPCIS never allows.
fn reused(incoming: &Incoming) -> EventRefusal {
    let at = event_pointer(incoming.index);
    let pointer = match incoming.event.get("eventID") {
        Some(_) => format!("{at}/eventID"),
        None => at,
    };
    EventRefusal {
        index: incoming.index,
        pointer,
        fault: EventFault::EventIdReused {
            id: incoming.id.clone(),
            declaration: incoming.kind == EventKind::Declaration,
        },
    }
}

/// Two error declarations are the same when they declare the same thing.
fn same_declaration(a: &Value, b: &Value) -> bool {
    a.get("errorDeclaration") == b.get("errorDeclaration")
}

/// The stored row under `row_id` (an id made from `incoming`'s id), or else under the id the
/// same event got from a capture before hash version 2 (see [`Incoming::legacy_id`]).
fn stored_row<'k>(known: &'k Known, incoming: &Incoming, row_id: &str) -> Option<&'k EventRow> {
    known.stored.get(row_id).or_else(|| {
        let legacy = incoming.legacy_id()?;
        let legacy_row = if row_id == incoming.id {
            legacy.to_owned()
        } else {
            declaration_id(legacy)
        };
        known.stored.get(&legacy_row)
    })
}

fn same_stored_declaration(row: &EventRow, incoming: &Incoming) -> bool {
    serde_json::from_str::<Value>(&row.document)
        .is_ok_and(|stored| same_declaration(&stored, &incoming.event))
}
