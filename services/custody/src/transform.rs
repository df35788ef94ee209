//! Transformations: dismantling (products in, magnet lots out) and recycling (lots in, oxide,
//! metal or alloy lots out), checked element by element against what went in, exactly.

use chrono::{DateTime, FixedOffset, Utc};
use reetrace_core::api::problem::{FieldError, Problem};
use reetrace_core::domain::{Gtin, LotNumber, Mass};
use reetrace_core::domain::{Principal, Role};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::balance::{self, Bag, ElementAmount};
use crate::domain::event::NewEvent;
use crate::domain::lot::LotChange;
use crate::domain::lot::{LotRow, Origin, OutputKind, blend, lot_state};
use crate::domain::product::ProductRow;
use crate::domain::state::{self, Custody, Process, State};
use crate::epcis::{self, LotQuantity, Transformation, TransformationStep};
use crate::service::{
    CustodyService, Location, NextSteps, check_event_time, finalize, grams, keep, leaf_of, org_uri,
    refusal_problem,
};
use crate::store::{Respond, TransformationRow, Write, WriteError};
use reetrace_core::domain::idempotency::{Answer, Idempotency};

/// One input of a transformation: a product (whole) or part of a lot.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    /// A product, by passport id (all its units).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passport: Option<Uuid>,
    /// A lot, by lot id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lot: Option<Uuid>,
    /// How much of the lot, in grams (default: all that is left).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mass_g: Option<Mass>,
}

/// One output lot, with its assay.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    pub kind: OutputKind,
    /// E.g. `NdFeB-sintered`, `NdPr oxide`, `Dy metal`.
    pub material: String,
    pub mass_g: Mass,
    /// Element masses (assay), each element at most once.
    pub elements: Vec<ElementAmount>,
    /// With `lot_number`: the lot is the GS1 LGTIN of this GTIN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gtin: Option<Gtin>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lot_number: Option<LotNumber>,
}

/// A dismantling or recycling.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"process": "dismantling", "at": "2026-10-02T10:00:00Z",
    "inputs": [{"passport": "01963e1a-0000-7000-8000-000000000000"}],
    "outputs": [{"kind": "lot", "material": "NdFeB-sintered", "mass_g": 1480,
        "elements": [{"element": "Nd", "mass_g": 330}, {"element": "Pr", "mass_g": 100},
                     {"element": "Dy", "mass_g": 58}, {"element": "Tb", "mass_g": 7}]}]}))]
pub struct TransformationRequest {
    pub process: Process,
    /// When it happened (RFC 3339): not before 1950, not in the future (10 minutes of clock
    /// difference are allowed).
    pub at: DateTime<FixedOffset>,
    pub inputs: Vec<InputSpec>,
    pub outputs: Vec<OutputSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One input as recorded: what it brought in.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct InputRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passport_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lot_id: Option<Uuid>,
    pub mass_g: Mass,
    pub elements: Vec<ElementAmount>,
}

/// A lot made by a transformation.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OutputRecord {
    pub lot_id: Uuid,
    /// The lot's EPCIS identifier (LGTIN class or our lot URI).
    pub epc: String,
    pub kind: OutputKind,
    pub material: String,
    pub mass_g: Mass,
    pub elements: Vec<ElementAmount>,
}

/// The answer to a transformation.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TransformationRecorded {
    pub transformation_id: Uuid,
    pub process: Process,
    pub event_id: String,
    pub leaf_index: i64,
    pub inputs: Vec<InputRecord>,
    pub lots: Vec<OutputRecord>,
    /// What went in and did not come out, per element.
    pub losses: Vec<ElementAmount>,
}

/// An input as the store holds it.
enum Loaded {
    Product(ProductRow),
    Lot(LotRow, i64),
}

fn check_request(request: &TransformationRequest) -> Result<(), Problem> {
    let mut errors = Vec::new();
    if request.inputs.is_empty() || request.inputs.len() > 1000 {
        errors.push(FieldError::new("/inputs", "list 1 to 1000 inputs"));
    }
    if request.outputs.is_empty() || request.outputs.len() > 100 {
        errors.push(FieldError::new("/outputs", "list 1 to 100 outputs"));
    }
    for (i, input) in request.inputs.iter().enumerate() {
        match (input.passport, input.lot) {
            (Some(_), None) if input.mass_g.is_some() => errors.push(FieldError::new(
                format!("/inputs/{i}/mass_g"),
                "a product goes in whole; mass_g is for lots",
            )),
            (Some(_), None) | (None, Some(_)) => {}
            _ => errors.push(FieldError::new(
                format!("/inputs/{i}"),
                "name exactly one of passport or lot",
            )),
        }
        if input.mass_g == Some(Mass::ZERO) {
            errors.push(FieldError::new(
                format!("/inputs/{i}/mass_g"),
                "must be more than 0",
            ));
        }
    }
    for (i, output) in request.outputs.iter().enumerate() {
        let at = format!("/outputs/{i}");
        if output.material.trim().is_empty() || output.material.chars().count() > 100 {
            errors.push(FieldError::new(
                format!("{at}/material"),
                "must be 1 to 100 characters",
            ));
        }
        if output.mass_g == Mass::ZERO {
            errors.push(FieldError::new(
                format!("{at}/mass_g"),
                "must be more than 0",
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        let mut sum = 0i64;
        for (j, e) in output.elements.iter().enumerate() {
            if !seen.insert(e.element) {
                errors.push(FieldError::new(
                    format!("{at}/elements/{j}/element"),
                    "listed twice",
                ));
            }
            sum = sum.saturating_add(e.mass_g.micrograms());
        }
        if sum > output.mass_g.micrograms() {
            errors.push(FieldError::new(
                format!("{at}/elements"),
                format!(
                    "the elements weigh {} in all, more than the lot's {}",
                    grams(sum),
                    output.mass_g
                ),
            ));
        }
        if output.gtin.is_some() != output.lot_number.is_some() {
            errors.push(FieldError::new(
                format!("{at}/lot_number"),
                "give gtin and lot_number together (an LGTIN)",
            ));
        }
    }
    let unique: std::collections::BTreeSet<_> =
        request.inputs.iter().map(|i| (i.passport, i.lot)).collect();
    if unique.len() != request.inputs.len() {
        errors.push(FieldError::new("/inputs", "an input is listed twice"));
    }
    if let Err(why) = check_event_time(request.at.with_timezone(&Utc), Utc::now()) {
        errors.push(FieldError::new("/at", why));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Problem::validation(errors))
    }
}

impl CustodyService {
    /// Records a dismantling or recycling.
    pub async fn transform(
        &self,
        caller: &Principal,
        request: &TransformationRequest,
        idem: &Idempotency,
    ) -> Result<Answer<TransformationRecorded>, Problem> {
        caller.require(&[Role::Recycler])?;
        if let Some(stored) = self.stored(caller.org_id, idem).await? {
            return Ok(Answer::Replay(stored));
        }
        check_request(request)?;
        crate::service::check_step(&crate::service::StepRequest {
            action: state::Action::Sort,
            at: request.at,
            location: request.location.clone(),
            to_org: None,
            measured_mass_g: None,
            note: request.note.clone(),
        })?;
        let actor = self.org(caller.org_id).await?;
        for _ in 0..8 {
            let mut loaded = Vec::with_capacity(request.inputs.len());
            for (i, input) in request.inputs.iter().enumerate() {
                loaded.push(self.load_input(caller, request.process, i, input).await?);
            }
            let plan = self.plan(caller, request, &loaded, &actor)?;
            let recorded = plan.answer.clone();
            let kept = keep(
                caller.org_id,
                idem,
                201,
                recorded.clone(),
                |a: &mut TransformationRecorded, w| a.leaf_index = leaf_of(w),
            );
            match self.store.write(plan.write(kept)).await {
                Ok(written) => {
                    let mut recorded = recorded;
                    recorded.leaf_index = leaf_of(&written);
                    return Ok(Answer::Fresh(recorded));
                }
                Err(WriteError::Stale) => continue,
                Err(WriteError::DuplicateEvent(id)) => {
                    return Err(Problem::conflict(
                        crate::api::error::DUPLICATE_EVENT,
                        format!("The same event is recorded already ({id})."),
                    ));
                }
                Err(WriteError::DuplicateKey) => {
                    return self.replay_after_race(caller.org_id, idem).await;
                }
                Err(WriteError::Store(e)) => return Err(e.into()),
            }
        }
        Err(Problem::service_unavailable(
            "The inputs kept changing under concurrent writes; retry.",
        )
        .with("retry_after", 1))
    }

    async fn load_input(
        &self,
        caller: &Principal,
        process: Process,
        i: usize,
        input: &InputSpec,
    ) -> Result<Loaded, Problem> {
        let at = format!("/inputs/{i}");
        if let Some(passport) = input.passport {
            let product = self.product(passport).await.map_err(|_| {
                Problem::validation(vec![FieldError::new(
                    format!("{at}/passport"),
                    format!("no product with passport {passport}"),
                )])
            })?;
            state::transform(product.custody, process, caller.org_id).map_err(|refusal| {
                let (actions, processes) = state::allowed(product.custody, caller.org_id);
                refusal_problem(refusal, NextSteps { actions, processes }).with("input", at.clone())
            })?;
            return Ok(Loaded::Product(product));
        }
        let lot_id = input.lot.ok_or_else(|| {
            Problem::validation(vec![FieldError::new(at.clone(), "no input named")])
        })?;
        let lot = self.store.lot(lot_id).await?.ok_or_else(|| {
            Problem::validation(vec![FieldError::new(
                format!("{at}/lot"),
                format!("no lot {lot_id}"),
            )])
        })?;
        if process == Process::Dismantling {
            return Err(Problem::validation(vec![FieldError::new(
                format!("{at}/lot"),
                "dismantling takes products; recycle lots",
            )]));
        }
        let c = lot.custody;
        if c.state.is_terminal() {
            return Err(Problem::conflict(
                crate::api::error::LOT_USED_UP,
                format!("Lot {lot_id} is {}.", lot_state(c)),
            ));
        }
        if c.pending_to.is_some() {
            return Err(Problem::conflict(
                crate::api::error::HANDOVER_PENDING,
                format!("Lot {lot_id} is being handed over."),
            ));
        }
        if c.holder != Some(caller.org_id) {
            return Err(Problem::conflict(
                crate::api::error::NOT_HOLDER,
                format!("Only the holder of lot {lot_id} may transform it."),
            ));
        }
        let take = input.mass_g.map_or(lot.remaining_ug, |m| m.micrograms());
        if take > lot.remaining_ug {
            return Err(Problem::validation(vec![FieldError::new(
                format!("{at}/mass_g"),
                format!("lot {lot_id} has only {} left", grams(lot.remaining_ug)),
            )]));
        }
        Ok(Loaded::Lot(lot, take))
    }

    fn plan(
        &self,
        caller: &Principal,
        request: &TransformationRequest,
        loaded: &[Loaded],
        actor: &reetrace_core::domain::account::Org,
    ) -> Result<Plan, Problem> {
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
                    origins.push((origin.clone(), bag.total()));
                    let next = Custody {
                        state: request.process.product_outcome(),
                        holder: p.custody.holder,
                        pending_to: None,
                    };
                    products.push((p.passport_id, p.custody, next));
                    subjects.push(p.passport_id);
                    epcs.push((p.epc.clone(), "input"));
                    input_products.push(self.product_id(p)?);
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
                        .map_err(|_| Problem::internal())?;
                    let remaining_ug = lot.remaining_ug - take;
                    inputs_bag.extend(&share);
                    input_mass = input_mass.saturating_add(*take);
                    let origin: Vec<Origin> = lot.origin.clone();
                    origins.push((origin.clone(), share.total()));
                    let custody = Custody {
                        state: if remaining_ug == 0 {
                            State::Recycled
                        } else {
                            lot.custody.state
                        },
                        ..lot.custody
                    };
                    lot_changes.push(LotChange {
                        lot_id: lot.lot_id,
                        expect: lot.custody,
                        expect_remaining_ug: lot.remaining_ug,
                        expect_claimed: lot.claimed.clone(),
                        custody,
                        remaining_ug,
                        remaining,
                        claimed: lot.claimed.clone(),
                    });
                    subjects.push(lot.lot_id);
                    epcs.push((lot.epc.clone(), "input_class"));
                    input_lots.push(LotQuantity {
                        lot: self.lot_id(lot)?,
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
        let losses = balance::balance(&inputs_bag, &outputs_bag).map_err(|excess| {
            let detail: Vec<String> = excess.iter().map(ToString::to_string).collect();
            Problem::new(crate::api::error::MASS_BALANCE)
                .with_detail(format!(
                    "The outputs hold more than the inputs brought in: {}.",
                    detail.join("; ")
                ))
                .with_errors(vec![FieldError::new("/outputs", detail.join("; "))])
        })?;
        if output_mass > input_mass {
            return Err(Problem::new(crate::api::error::MASS_BALANCE)
                .with_detail(format!(
                    "The outputs weigh {} in all, more than the {} that went in.",
                    grams(output_mass),
                    grams(input_mass)
                ))
                .with_errors(vec![FieldError::new("/outputs", "heavier than the inputs")]));
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
                lot: self.lot_id(&row)?,
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
        .map_err(|e| Problem::validation(vec![FieldError::new("", e.to_string())]))?;
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
            document: serde_json::to_string(&document).map_err(|_| Problem::internal())?,
            data: data.to_string(),
            subjects,
            epcs,
        };
        let transformation = TransformationRow {
            id: transformation_id,
            process: request.process.as_str().into(),
            org_id: caller.org_id,
            at: request.at.with_timezone(&Utc),
            inputs: serde_json::to_string(&answer.inputs).map_err(|_| Problem::internal())?,
            outputs: serde_json::to_string(&answer.lots).map_err(|_| Problem::internal())?,
            losses: serde_json::to_string(&answer.losses).map_err(|_| Problem::internal())?,
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
            transformation: Some(self.transformation),
            events: vec![self.event],
            idempotent,
        }
    }
}
