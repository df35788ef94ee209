//! The custody service's operations: scan, record a step, transform (dismantle, recycle),
//! lots and their steps, recycled-content claims. Each write is decided from what the store
//! holds now and committed with compare-and-set; a lost race is decided again.

use std::sync::Arc;

use chrono::{DateTime, FixedOffset, Utc};
use reetrace_core::api::problem::{FieldError, Problem};
use reetrace_core::domain::{Country, Mass};
use reetrace_core::domain::{Principal, Role};
use reetrace_core::service::feed::Consumer;
use reetrace_core::store::accounts::AccountStore;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::balance::ElementAmount;
use crate::domain::event::EventRow;
use crate::domain::lot::LotRow;
use crate::domain::product::ProductRow;
use crate::domain::state::{self, Action, Custody, Process, Refusal, State};
use crate::epcis::{self, LotId, ProductId};
use crate::log::Log;
use crate::steps::Target;
use crate::store::{CustodyStore, Respond, Written};
use reetrace_core::domain::idempotency::{Answer, Idempotency, StoredResponse};

/// Settings of the custody service.
#[derive(Debug, Clone)]
pub struct CustodyConfig {
    /// The public base URL, without a trailing slash.
    pub base_url: String,
}

/// The custody service.
#[derive(Clone)]
pub struct CustodyService {
    pub(crate) store: Arc<dyn CustodyStore>,
    pub(crate) accounts: Arc<dyn AccountStore>,
    pub(crate) log: Arc<Log>,
    pub(crate) config: Arc<CustodyConfig>,
    /// Pulls the passport feed when a product is not known yet (read-your-writes after a
    /// registration in the same deployment).
    pub(crate) passports: Option<Arc<Consumer>>,
}

impl std::fmt::Debug for CustodyService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustodyService").finish_non_exhaustive()
    }
}

/// Where a step happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Location {
    /// A URI of the place: an SGLN (`urn:epc:id:sgln:...`), a GS1 Digital Link of a GLN, or
    /// any absolute URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<Country>,
}

/// One custody step on a product or lot.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"action": "collect", "at": "2026-09-02T09:30:00+02:00",
    "location": {"id": "urn:epc:id:sgln:4012345.00001.0", "name": "Lyon collection point", "country": "FR"},
    "measured_mass_g": 48100, "note": "picked up from a garage"}))]
pub struct StepRequest {
    pub action: Action,
    /// When it happened, with its time zone offset (RFC 3339): not before 1950, not in the
    /// future (10 minutes of clock difference are allowed).
    pub at: DateTime<FixedOffset>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// The next holder, for a handover.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_org: Option<Uuid>,
    /// The mass weighed at this step, in grams.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured_mass_g: Option<Mass>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What a step recorded.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StepRecorded {
    pub event_id: String,
    pub event_hash: String,
    /// The event's position in the transparency log.
    pub leaf_index: i64,
    pub custody: CustodyView,
    /// The stored EPCIS 2.0 event.
    #[schema(value_type = Object)]
    pub epcis: Value,
}

/// Custody as the API shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CustodyView {
    pub state: State,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder: Option<Uuid>,
    /// The organisation a pending handover names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_to: Option<Uuid>,
}

impl From<Custody> for CustodyView {
    fn from(c: Custody) -> Self {
        CustodyView {
            state: c.state,
            holder: c.holder,
            pending_to: c.pending_to,
        }
    }
}

/// One event in a chain, as scans list them.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventSummary {
    pub event_id: String,
    pub action: String,
    pub at: DateTime<Utc>,
    /// The recording organisation.
    pub org_id: Uuid,
    pub leaf_index: i64,
    /// Position in this subject's hash chain (1 = first).
    pub chain_seq: i64,
    /// The chain link, hex.
    pub chain_link: String,
}

/// What the caller may do next.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NextSteps {
    pub actions: Vec<Action>,
    pub processes: Vec<Process>,
}

/// A product as a scan shows it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProductSummary {
    pub passport_id: Uuid,
    /// The EPCIS identifier events name it by.
    pub epc: String,
    pub name: String,
    pub category: String,
    pub granularity: String,
    pub units: u64,
    /// The passport's status (active, suspended, revoked).
    pub passport_status: String,
    pub manufacturer: Uuid,
    /// REE per unit, from the passport.
    pub elements: Vec<ElementAmount>,
    /// The passport itself (in the caller's tier).
    pub passport_url: String,
}

/// The answer to a scan.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Scan {
    pub product: ProductSummary,
    pub custody: CustodyView,
    pub events: Vec<EventSummary>,
    pub next: NextSteps,
}

pub(crate) fn refusal_problem(refusal: Refusal, allowed: NextSteps) -> Problem {
    Problem::conflict(crate::api::error::STEP_NOT_ALLOWED, refusal.to_string())
        .with("allowed", allowed)
}

fn internal(what: &str, err: impl std::fmt::Display) -> Problem {
    tracing::error!(error = %err, "{what}");
    Problem::internal()
}

/// Adds our note to a built event and gives it its final hash-based id.
pub(crate) fn finalize(mut event: Value, note: Option<&str>) -> Result<(Value, String), Problem> {
    if let Some(object) = event.as_object_mut() {
        object.remove("eventID");
        if let Some(note) = note {
            object.insert("ree:note".into(), Value::String(note.to_owned()));
        }
    }
    let hash = epcis::event_hash(&event).map_err(|e| internal("event hash", e))?;
    if let Some(object) = event.as_object_mut() {
        object.insert("eventID".into(), Value::String(hash.clone()));
    }
    Ok((event, hash))
}

/// The URI naming an organisation in events.
pub(crate) fn org_uri(org: &reetrace_core::domain::account::Org) -> String {
    match &org.operator_id {
        Some(id) => format!("{}:{}", id.scheme(), id.value()),
        None => format!("urn:uuid:{}", org.id),
    }
}

/// How far ahead of our clock an event may be dated (the recorder's clock may run fast).
pub const CLOCK_SKEW: chrono::TimeDelta = chrono::TimeDelta::minutes(10);

/// When an event may have happened: not before 1950, and not in the future (beyond
/// [`CLOCK_SKEW`]): a step dated ahead would count in a year that has not come.
pub(crate) fn check_event_time(at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), String> {
    use chrono::Datelike;
    if at.year() < 1950 {
        return Err("must not be before 1950".to_owned());
    }
    if at > now + CLOCK_SKEW {
        return Err(format!(
            "must not be in the future (it is {} here; {} minutes of clock difference are allowed)",
            now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            CLOCK_SKEW.num_minutes()
        ));
    }
    Ok(())
}

fn check_text(errors: &mut Vec<FieldError>, pointer: &str, value: Option<&str>, max: usize) {
    if let Some(value) = value
        && (value.trim().is_empty()
            || value.chars().count() > max
            || value.chars().any(|c| c.is_control() && c != '\n'))
    {
        errors.push(FieldError::new(
            pointer,
            format!("must be 1 to {max} printable characters"),
        ));
    }
}

/// Checks the free parts of a step request.
pub(crate) fn check_step(request: &StepRequest) -> Result<(), Problem> {
    let mut errors = Vec::new();
    check_text(&mut errors, "/note", request.note.as_deref(), 1000);
    if let Some(location) = &request.location {
        check_text(&mut errors, "/location/name", location.name.as_deref(), 200);
        if let Some(id) = &location.id
            && (id.len() > 500
                || !id.contains(':')
                || id.chars().any(|c| c.is_whitespace() || c.is_control()))
        {
            errors.push(FieldError::new(
                "/location/id",
                "must be an absolute URI (e.g. urn:epc:id:sgln:...)",
            ));
        }
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
    pub fn new(
        store: Arc<dyn CustodyStore>,
        accounts: Arc<dyn AccountStore>,
        log: Arc<Log>,
        config: CustodyConfig,
        passports: Option<Arc<Consumer>>,
    ) -> Self {
        Self {
            store,
            accounts,
            log,
            config: Arc::new(config),
            passports,
        }
    }

    pub fn store(&self) -> &Arc<dyn CustodyStore> {
        &self.store
    }

    pub fn log(&self) -> &Arc<Log> {
        &self.log
    }

    /// A product, pulling the passport feed once if it is not known yet.
    pub async fn product(&self, passport_id: Uuid) -> Result<ProductRow, Problem> {
        if let Some(p) = self.store.product(passport_id).await? {
            return Ok(p);
        }
        if let Some(consumer) = &self.passports
            && let Err(err) = consumer.catch_up().await
        {
            tracing::warn!(error = %err, "passport feed catch-up failed");
        }
        self.store.product(passport_id).await?.ok_or_else(|| {
            Problem::not_found(format!(
                "No product with passport {passport_id} (model passports have no custody)."
            ))
        })
    }

    pub(crate) fn product_id(&self, product: &ProductRow) -> Result<ProductId, Problem> {
        if product.epc.starts_with("https://id.gs1.org/01/")
            && let Ok(sgtin) = reetrace_core::domain::Sgtin::parse(&product.epc)
        {
            return Ok(ProductId::sgtin(&sgtin));
        }
        ProductId::passport(&self.config.base_url, &product.passport_id.to_string())
            .map_err(|e| internal("product uri", e))
    }

    pub(crate) fn lot_id(&self, lot: &LotRow) -> Result<LotId, Problem> {
        if lot.epc.starts_with("https://id.gs1.org/01/")
            && let Ok(lgtin) = reetrace_core::domain::Lgtin::parse(&lot.epc)
        {
            return Ok(LotId::lgtin(&lgtin));
        }
        LotId::own(&self.config.base_url, &lot.lot_id.to_string())
            .map_err(|e| internal("lot uri", e))
    }

    pub(crate) async fn org(
        &self,
        id: Uuid,
    ) -> Result<reetrace_core::domain::account::Org, Problem> {
        self.accounts
            .org(id)
            .await?
            .ok_or_else(|| Problem::forbidden("The caller's organisation no longer exists."))
    }

    /// A recycler organisation named as the next holder, or 422.
    pub(crate) async fn recipient(
        &self,
        to: Uuid,
    ) -> Result<reetrace_core::domain::account::Org, Problem> {
        match self.accounts.org(to).await? {
            Some(org) if org.role == Role::Recycler => Ok(org),
            Some(org) => Err(Problem::validation(vec![FieldError::new(
                "/to_org",
                format!("organisation {to} is a {}, not a recycler", org.role),
            )])),
            None => Err(Problem::validation(vec![FieldError::new(
                "/to_org",
                format!("no organisation {to}"),
            )])),
        }
    }

    /// The events of a subject's chain.
    pub async fn chain(&self, subject: Uuid) -> Result<Vec<EventSummary>, Problem> {
        Ok(self
            .store
            .chain_of(subject)
            .await?
            .into_iter()
            .map(|(link, event)| EventSummary {
                event_id: event.event_id,
                action: event.action,
                at: event.event_time,
                org_id: event.org_id,
                leaf_index: event.leaf_index,
                chain_seq: link.seq,
                chain_link: hex::encode(link.link),
            })
            .collect())
    }

    /// What a recycler sees when it scans a product.
    pub async fn scan(&self, caller: &Principal, passport_id: Uuid) -> Result<Scan, Problem> {
        caller.require(&[Role::Recycler, Role::Regulator, Role::Admin])?;
        let product = self.product(passport_id).await?;
        let (actions, processes) = state::allowed(product.custody, caller.org_id);
        let events = self.chain(passport_id).await?;
        Ok(Scan {
            product: ProductSummary {
                passport_id: product.passport_id,
                epc: product.epc.clone(),
                name: product.name.clone(),
                category: product.category.as_str().to_owned(),
                granularity: product.granularity.as_str().to_owned(),
                units: product.units,
                passport_status: product.passport_status.as_str().to_owned(),
                manufacturer: product.org_id,
                elements: product.elements.amounts(),
                passport_url: format!(
                    "{}/api/v1/passports/{}",
                    self.config.base_url, product.passport_id
                ),
            },
            custody: product.custody.into(),
            events,
            next: NextSteps { actions, processes },
        })
    }

    /// Records one step on a product.
    pub async fn record_step(
        &self,
        caller: &Principal,
        passport_id: Uuid,
        request: &StepRequest,
        idem: &Idempotency,
    ) -> Result<Answer<StepRecorded>, Problem> {
        self.record(caller, Target::Product(passport_id), request, idem)
            .await
    }

    /// The stored answer of a retried request.
    pub(crate) async fn stored(
        &self,
        org_id: Uuid,
        idem: &Idempotency,
    ) -> Result<Option<StoredResponse>, Problem> {
        match &idem.key {
            Some(key) => Ok(self.store.stored_response(org_id, key.as_str()).await?),
            None => Ok(None),
        }
    }

    /// A concurrent request with the same key won: answer what it stored.
    pub(crate) async fn replay_after_race<T>(
        &self,
        org_id: Uuid,
        idem: &Idempotency,
    ) -> Result<Answer<T>, Problem> {
        match self.stored(org_id, idem).await? {
            Some(stored) => Ok(Answer::Replay(stored)),
            None => Err(Problem::conflict(
                crate::api::error::CONCURRENT_REQUEST,
                "A concurrent request with this Idempotency-Key is in progress; retry.",
            )),
        }
    }

    /// A stored event by id.
    pub async fn event(&self, event_id: &str) -> Result<EventRow, Problem> {
        self.store
            .event(event_id)
            .await?
            .ok_or_else(|| Problem::not_found(format!("No event {event_id:?}.")))
    }
}

/// The idempotent answer to keep with a write: `answer` completed from what was written.
pub(crate) fn keep<T: Serialize + Send + 'static>(
    org_id: Uuid,
    idem: &Idempotency,
    status: u16,
    answer: T,
    complete: impl FnOnce(&mut T, &Written) + Send + 'static,
) -> Option<(Uuid, String, Respond)> {
    let key = idem.key.as_ref()?.as_str().to_owned();
    let idem = idem.clone();
    let respond: Respond = Box::new(move |written: &Written| {
        let mut answer = answer;
        complete(&mut answer, written);
        idem.response(status, serde_json::to_string(&answer).unwrap_or_default())
    });
    Some((org_id, key, respond))
}

pub(crate) fn leaf_of(written: &Written) -> i64 {
    written.leaves.first().map(|(_, leaf)| *leaf).unwrap_or(-1)
}

/// A mass in grams from micrograms, for answers.
pub(crate) fn grams(micrograms: i64) -> Mass {
    Mass::from_micrograms(micrograms.max(0)).unwrap_or(Mass::MAX)
}
