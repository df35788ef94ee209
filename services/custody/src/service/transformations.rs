//! Transformations: dismantling (products in, magnet lots out) and recycling (lots in, oxide,
//! metal or alloy lots out), checked element by element against what went in, exactly, and
//! written with every input compared-and-set.

use chrono::Utc;
use reetrace_core::domain::gs1_prefix::require_held;
use reetrace_core::domain::idempotency::{Answer, Idempotency};
use reetrace_core::domain::{Principal, Role};
use reetrace_core::service::retry::Attempt;
use serde_json::json;
use uuid::Uuid;

use super::{CustodyService, finalize, keep, leaf_of, org_uri, settle, stored_text};
use crate::domain::balance::{self, Bag, grams};
use crate::domain::event::NewEvent;
use crate::domain::lot::{LotChange, LotRow, Origin, blend, lot_state};
use crate::domain::product::ProductRow;
use crate::domain::state::{self, Custody, Process, State};
use crate::domain::step::{NextSteps, check_step_fields};
use crate::domain::transformation::{
    InputRecord, InputSpec, OutputRecord, TransformationRecorded, TransformationRequest,
    TransformationRow, check_transformation,
};
use crate::domain::{Contention, CustodyError};
use crate::epcis::{self, LotQuantity, Transformation, TransformationStep};
use crate::store::{Respond, Write, WriteError};

/// An input as the store holds it.
enum Loaded {
    Product(ProductRow),
    Lot(LotRow, i64),
}

impl CustodyService {
    /// Records a dismantling or recycling.
    pub async fn transform(
        &self,
        caller: &Principal,
        request: &TransformationRequest,
        idem: &Idempotency,
    ) -> Result<Answer<TransformationRecorded>, CustodyError> {
        caller.require(&[Role::Recycler])?;
        if let Some(stored) = self.stored(caller.org_id, idem).await? {
            return Ok(Answer::Replay(stored));
        }
        let now = Utc::now();
        for errors in [
            check_transformation(request, now),
            check_step_fields(
                request.at,
                request.location.as_ref(),
                request.note.as_deref(),
                now,
            ),
        ] {
            if !errors.is_empty() {
                return Err(CustodyError::Invalid(errors));
            }
        }
        let actor = &self.org(caller.org_id).await?;
        self.require_lot_gtins_held(caller, request).await?;
        settle(Contention::Inputs, move || async move {
            let mut loaded = Vec::with_capacity(request.inputs.len());
            for (i, input) in request.inputs.iter().enumerate() {
                loaded.push(self.load_input(caller, request.process, i, input).await?);
            }
            let plan = self.plan(caller, request, &loaded, actor)?;
            let recorded = plan.answer.clone();
            let kept = keep(
                caller.org_id,
                idem,
                201,
                recorded.clone(),
                |a: &mut TransformationRecorded, w| a.leaf_index = leaf_of(w),
            );
            Ok(match self.store.write(plan.write(kept)).await {
                Ok(written) => {
                    let mut recorded = recorded;
                    recorded.leaf_index = leaf_of(&written);
                    Attempt::Done(Answer::Fresh(recorded))
                }
                Err(WriteError::Stale) => Attempt::Again,
                Err(WriteError::DuplicateEvent(id)) => {
                    Attempt::Failed(CustodyError::DuplicateEvent(id))
                }
                // A concurrent request with the same key won: answer what it stored.
                Err(WriteError::DuplicateKey) => {
                    Attempt::Done(self.replay_after_race(caller.org_id, idem).await?)
                }
                Err(WriteError::Store(e)) => Attempt::Failed(e.into()),
            })
        })
        .await
    }

    /// Refuses output lots named with GTINs outside the GS1 prefixes (or GTINs) the recycler
    /// holds: a lot's LGTIN is the recycler's own product identity; and output lots named with
    /// the GTIN and lot number of a batch passport (as custody's copy of the passports knows
    /// them: one registered a moment ago may not be seen yet).
    async fn require_lot_gtins_held(
        &self,
        caller: &Principal,
        request: &TransformationRequest,
    ) -> Result<(), CustodyError> {
        if request.outputs.iter().all(|o| o.gtin.is_none()) {
            return Ok(());
        }
        let held = self.accounts.gs1_prefixes(caller.org_id).await?;
        for (i, output) in request.outputs.iter().enumerate() {
            if let Some(gtin) = &output.gtin {
                require_held(&held, gtin, &format!("/outputs/{i}/gtin"))?;
            }
        }
        // One Digital Link, one thing: a lot may not take a batch passport's identity.
        for (i, output) in request.outputs.iter().enumerate() {
            if let (Some(gtin), Some(lot)) = (&output.gtin, &output.lot_number)
                && let Some(passport_id) = self
                    .store
                    .batch_with_identity(gtin.as_str(), lot.as_str())
                    .await?
            {
                return Err(CustodyError::BatchIdentity {
                    passport_id,
                    output: i,
                });
            }
        }
        Ok(())
    }

    async fn load_input(
        &self,
        caller: &Principal,
        process: Process,
        i: usize,
        input: &InputSpec,
    ) -> Result<Loaded, CustodyError> {
        let at = format!("/inputs/{i}");
        if let Some(passport) = input.passport {
            // Whatever keeps the product from being read, it is an input that cannot be used.
            let product = self.product(passport).await.map_err(|_| {
                CustodyError::invalid(
                    format!("{at}/passport"),
                    format!("no product with passport {passport}"),
                )
            })?;
            state::transform(product.custody, process, caller.org_id).map_err(|refusal| {
                let (actions, processes) = state::allowed(product.custody, caller.org_id);
                CustodyError::StepNotAllowed {
                    refusal,
                    allowed: NextSteps { actions, processes },
                    input: Some(at.clone()),
                }
            })?;
            return Ok(Loaded::Product(product));
        }
        let lot_id = input
            .lot
            .ok_or_else(|| CustodyError::invalid(at.clone(), "no input named"))?;
        let lot = self.store.lot(lot_id).await?.ok_or_else(|| {
            CustodyError::invalid(format!("{at}/lot"), format!("no lot {lot_id}"))
        })?;
        if process == Process::Dismantling {
            return Err(CustodyError::invalid(
                format!("{at}/lot"),
                "dismantling takes products; recycle lots",
            ));
        }
        let c = lot.custody;
        if c.state.is_terminal() {
            return Err(CustodyError::LotUsedUp {
                lot_id,
                state: lot_state(c),
            });
        }
        if c.pending_to.is_some() {
            return Err(CustodyError::LotHandoverPending(lot_id));
        }
        if c.holder != Some(caller.org_id) {
            return Err(CustodyError::NotLotHolder(lot_id));
        }
        let take = input.mass_g.map_or(lot.remaining_ug, |m| m.micrograms());
        if take > lot.remaining_ug {
            return Err(CustodyError::invalid(
                format!("{at}/mass_g"),
                format!("lot {lot_id} has only {} left", grams(lot.remaining_ug)),
            ));
        }
        Ok(Loaded::Lot(lot, take))
    }

    fn plan(
        &self,
        caller: &Principal,
        request: &TransformationRequest,
        loaded: &[Loaded],
        actor: &reetrace_core::domain::account::Org,
    ) -> Result<Plan, CustodyError> {
        let now = reetrace_core::domain::account::now();
        let transformation_id = Uuid::now_v7();
        let mut inputs_bag = Bag::new();
        let mut input_mass: i64 = 0;
        let mut inputs = Vec::new();
        let mut products = Vec::new();
        let mut lot_changes = Vec::new();
        let mut origins = Vec::new();
        let mut subjects = Vec::new();
        let mut epcs = Vec::new();
        let mut input_products = Vec::new();
        let mut input_lots = Vec::new();
        let mut feed_inputs = Vec::new();
        for input in loaded {
            match input {
                Loaded::Product(p) => {
                    let bag = p.elements.times(p.units);
                    let mass = p
                        .net_mass_ug
                        .saturating_mul(i64::try_from(p.units).unwrap_or(i64::MAX));
                    inputs_bag.extend(&bag);
                    input_mass = input_mass.saturating_add(mass);
                    let origin = vec![Origin {
                        category: p.category.as_str().to_owned(),
                        country: p.country.code().to_owned(),
                        share_ppm: 1_000_000,
                    }];
                    origins.push((origin.clone(), bag.rare_earth_total()));
                    let next = Custody {
                        state: request.process.product_outcome(),
                        holder: p.custody.holder,
                        pending_to: None,
                    };
                    products.push((p.passport_id, p.custody, next));
                    subjects.push(p.passport_id);
                    epcs.push((p.epc.clone(), "input"));
                    input_products.push(self.product_epc(p)?);
                    feed_inputs.push(
                        json!({"passport_id": p.passport_id, "elements": bag, "origin": origin}),
                    );
                    inputs.push(InputRecord {
                        passport_id: Some(p.passport_id),
                        lot_id: None,
                        mass_g: grams(mass),
                        elements: bag.amounts(),
                    });
                }
                Loaded::Lot(lot, take) => {
                    let share = balance::take_share(lot.remaining_ug, &lot.remaining, *take);
                    let remaining = lot
                        .remaining
                        .minus(&share)
                        .map_err(|_| CustodyError::internal("lot share", "more than is left"))?;
                    let remaining_ug = lot.remaining_ug - take;
                    inputs_bag.extend(&share);
                    input_mass = input_mass.saturating_add(*take);
                    let origin: Vec<Origin> = lot.origin.clone();
                    origins.push((origin.clone(), share.rare_earth_total()));
                    let custody = Custody {
                        state: if remaining_ug == 0 {
                            State::Recycled
                        } else {
                            lot.custody.state
                        },
                        ..lot.custody
                    };
                    lot_changes.push(LotChange {
                        custody,
                        remaining_ug,
                        remaining,
                        ..LotChange::of(lot)
                    });
                    subjects.push(lot.lot_id);
                    epcs.push((lot.epc.clone(), "input_class"));
                    input_lots.push(LotQuantity {
                        lot: self.lot_epc(lot)?,
                        mass: grams(*take),
                    });
                    feed_inputs.push(json!({"lot_id": lot.lot_id, "mass_ug": take, "elements": share, "origin": origin}));
                    inputs.push(InputRecord {
                        passport_id: None,
                        lot_id: Some(lot.lot_id),
                        mass_g: grams(*take),
                        elements: share.amounts(),
                    });
                }
            }
        }
        let mut outputs_bag = Bag::new();
        let mut output_mass: i64 = 0;
        for output in &request.outputs {
            outputs_bag.extend(&Bag::from_amounts(&output.elements));
            output_mass = output_mass.saturating_add(output.mass_g.micrograms());
        }
        let losses = balance::balance(&inputs_bag, &outputs_bag)
            .map_err(CustodyError::OutputsExceedInputs)?;
        if output_mass > input_mass {
            return Err(CustodyError::OutputsHeavierThanInputs {
                outputs: grams(output_mass),
                inputs: grams(input_mass),
            });
        }
        let origin = blend(&origins);
        let mut new_lots = Vec::new();
        let mut lots = Vec::new();
        let mut output_lots = Vec::new();
        let mut feed_outputs = Vec::new();
        for output in &request.outputs {
            let lot_id = Uuid::now_v7();
            let epc = match (&output.gtin, &output.lot_number) {
                (Some(gtin), Some(lot)) => {
                    reetrace_core::domain::Lgtin::new(*gtin, lot.clone()).to_uri()
                }
                _ => format!("{}/lots/{lot_id}", self.config.base_url),
            };
            let elements = Bag::from_amounts(&output.elements);
            let row = LotRow {
                lot_id,
                epc: epc.clone(),
                gtin: output.gtin,
                lot_number: output.lot_number.clone(),
                kind: output.kind,
                material: output.material.trim().to_owned(),
                mass_ug: output.mass_g.micrograms(),
                remaining_ug: output.mass_g.micrograms(),
                elements: elements.clone(),
                remaining: elements.clone(),
                claimed: Bag::new(),
                origin: origin.clone(),
                custody: Custody {
                    state: State::Received,
                    holder: Some(caller.org_id),
                    pending_to: None,
                },
                transformation_id,
                created_at: now,
                updated_at: now,
            };
            output_lots.push(LotQuantity {
                lot: self.lot_epc(&row)?,
                mass: output.mass_g,
            });
            subjects.push(lot_id);
            epcs.push((epc.clone(), "output_class"));
            feed_outputs.push(
                json!({"lot_id": lot_id, "kind": output.kind.as_str(), "material": row.material,
                "mass_ug": row.mass_ug, "elements": elements, "origin": origin}),
            );
            lots.push(OutputRecord {
                lot_id,
                epc,
                kind: output.kind,
                material: row.material.clone(),
                mass_g: output.mass_g,
                elements: elements.amounts(),
            });
            new_lots.push(row);
        }
        let location = request.location.as_ref().and_then(|l| l.id.clone());
        let built = epcis::transformation_event(&Transformation {
            step: match request.process {
                Process::Dismantling => TransformationStep::Dismantle,
                Process::Recycling => TransformationStep::Recycle,
            },
            event_time: request.at,
            transformation_id: Some(format!("urn:uuid:{transformation_id}")),
            input_products,
            input_lots,
            output_products: Vec::new(),
            output_lots,
            read_point: location.clone(),
            biz_location: location.clone(),
            holder: org_uri(actor),
        })
        .map_err(|e| CustodyError::invalid("", e.to_string()))?;
        let (document, hash) = finalize(built, request.note.as_deref())?;
        let data = json!({
            "action": request.process.as_str(),
            "subject": transformation_id,
            "subject_kind": "transformation",
            "transformation_id": transformation_id,
            "process": request.process.as_str(),
            "inputs": feed_inputs,
            "outputs": feed_outputs,
            "losses": losses,
        });
        let answer = TransformationRecorded {
            transformation_id,
            process: request.process,
            event_id: hash.clone(),
            leaf_index: -1,
            inputs,
            lots,
            losses: losses.amounts(),
        };
        let event = NewEvent {
            event_id: hash.clone(),
            event_hash: hash.clone(),
            event_type: "TransformationEvent".into(),
            action: request.process.as_str().into(),
            biz_step: document["bizStep"].as_str().map(str::to_owned),
            biz_location: location.as_deref().map(epcis::query::location_key),
            event_time: request.at.with_timezone(&Utc),
            org_id: caller.org_id,
            document: stored_text(&document)?,
            data: data.to_string(),
            subjects,
            epcs,
        };
        let transformation = TransformationRow {
            id: transformation_id,
            process: request.process,
            org_id: caller.org_id,
            at: request.at.with_timezone(&Utc),
            inputs: answer.inputs.clone(),
            outputs: answer.lots.clone(),
            losses: answer.losses.clone(),
            event_id: hash,
        };
        Ok(Plan {
            answer,
            products,
            lot_changes,
            new_lots,
            transformation,
            event,
        })
    }
}

/// A transformation, decided and ready to write.
struct Plan {
    answer: TransformationRecorded,
    products: Vec<(Uuid, Custody, Custody)>,
    lot_changes: Vec<LotChange>,
    new_lots: Vec<LotRow>,
    transformation: TransformationRow,
    event: NewEvent,
}

impl Plan {
    fn write(self, idempotent: Option<(Uuid, String, Respond)>) -> Write {
        Write {
            products: self.products,
            new_lots: self.new_lots,
            lots: self.lot_changes,
            claims: Vec::new(),
            reservation_cap: None,
            transformation: Some(self.transformation),
            events: vec![self.event],
            idempotent,
        }
    }
}
