//! The custody service's use cases: scan, record a step, transform (dismantle, recycle), lots
//! and recycled-content claims, EPCIS capture and query, the transparency log. Each write is
//! decided from what the store holds now and committed with compare-and-set; a lost race is
//! decided again ([`settle`]).

mod capture;
mod capture_jobs;
mod claims;
mod epcis_query;
mod lots;
mod steps;
mod transformations;
pub mod transparency_log;

use std::future::Future;
use std::sync::Arc;

use reetrace_core::domain::Role;
use reetrace_core::domain::account::Org;
use reetrace_core::domain::idempotency::{Answer, Idempotency, StoredResponse};
use reetrace_core::service::feed::Consumer;
use reetrace_core::service::retry::{ATTEMPTS, Attempt, Contended, until_settled};
use reetrace_core::store::accounts::AccountStore;
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

pub use capture::{CAPTURERS, KeepAnswer};
pub use capture_jobs::{JOB_LEASE, JobRendering, MAX_LISTED_JOBS};
pub use claims::RELEASERS;
pub use epcis_query::{EventsPage, SCAN_LIMIT};
pub use transparency_log::TransparencyLog;

use crate::domain::event::EventSummary;
use crate::domain::lot::LotRow;
use crate::domain::product::ProductRow;
use crate::domain::reservation::ReservationCap;
use crate::domain::{Contention, CustodyError};
use crate::epcis::{self, LotEpc, ProductEpc};
use crate::store::{CustodyStore, Respond, Written};

/// Settings of the custody service.
#[derive(Debug, Clone)]
pub struct CustodyConfig {
    /// The public base URL, without a trailing slash.
    pub base_url: String,
    /// Base URLs the instance was served under before (`reetrace admin instance move`):
    /// `<alias>/p/{id}` and `<alias>/lots/{id}` in a captured event still name our products and
    /// lots.
    pub aliases: Vec<String>,
    /// The share of a lot's unclaimed content one organisation's open reservations may hold.
    pub reservation_cap: ReservationCap,
}

impl CustodyConfig {
    /// The current base URL, then the aliases.
    pub fn bases(&self) -> Vec<String> {
        std::iter::once(&self.base_url)
            .chain(&self.aliases)
            .cloned()
            .collect()
    }
}

/// The custody service.
#[derive(Clone)]
pub struct CustodyService {
    store: Arc<dyn CustodyStore>,
    accounts: Arc<dyn AccountStore>,
    log: Arc<TransparencyLog>,
    config: Arc<CustodyConfig>,
    /// Pulls the passport feed when a product is not known yet (read-your-writes after a
    /// registration in the same deployment).
    passports: Option<Arc<Consumer>>,
    /// Wakes this instance's capture worker when a job is accepted here.
    capture_wake: Arc<tokio::sync::Notify>,
}

impl std::fmt::Debug for CustodyService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustodyService").finish_non_exhaustive()
    }
}

/// One attempt of a compare-and-set use case: `Err` fails the use case, as
/// [`Attempt::Failed`] does (so that `?` reads naturally inside an attempt).
pub(crate) type Tried<T> = Result<Attempt<T, CustodyError>, CustodyError>;

/// Runs a compare-and-set use case with core's retry helper: each attempt reads, decides and
/// writes; when every attempt found what it read changed, the answer says that `on` kept
/// changing.
pub(crate) async fn settle<T, F, Fut>(on: Contention, mut attempt: F) -> Result<T, CustodyError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Tried<T>>,
{
    /// What [`until_settled`] ends with: a failure of the use case, or the attempts ran out.
    enum Unsettled {
        Failed(CustodyError),
        Contended,
    }
    impl From<Contended> for Unsettled {
        fn from(_: Contended) -> Self {
            Unsettled::Contended
        }
    }
    until_settled(ATTEMPTS, || {
        let next = attempt();
        async move {
            match next.await {
                Ok(Attempt::Done(value)) => Attempt::Done(value),
                Ok(Attempt::Again) => Attempt::Again,
                Ok(Attempt::Failed(err)) | Err(err) => Attempt::Failed(Unsettled::Failed(err)),
            }
        }
    })
    .await
    .map_err(|unsettled| match unsettled {
        Unsettled::Failed(err) => err,
        Unsettled::Contended => CustodyError::Contended(on),
    })
}

impl CustodyService {
    pub fn new(
        store: Arc<dyn CustodyStore>,
        accounts: Arc<dyn AccountStore>,
        log: Arc<TransparencyLog>,
        config: CustodyConfig,
        passports: Option<Arc<Consumer>>,
    ) -> Self {
        Self {
            store,
            accounts,
            log,
            config: Arc::new(config),
            passports,
            capture_wake: Arc::new(tokio::sync::Notify::new()),
        }
    }

    /// The names of organisations `ids`, by id (each looked up once; an id of no organisation
    /// is left out). Answers show them beside the ids they already show, never others.
    pub async fn org_names(
        &self,
        ids: impl IntoIterator<Item = Uuid>,
    ) -> Result<std::collections::BTreeMap<Uuid, String>, CustodyError> {
        let mut ids: Vec<Uuid> = ids.into_iter().collect();
        ids.sort_unstable();
        ids.dedup();
        let mut names = std::collections::BTreeMap::new();
        for id in ids {
            if let Some(org) = self.accounts.org(id).await? {
                names.insert(id, org.name);
            }
        }
        Ok(names)
    }

    pub fn store(&self) -> &Arc<dyn CustodyStore> {
        &self.store
    }

    pub fn log(&self) -> &Arc<TransparencyLog> {
        &self.log
    }

    /// The public base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.config.base_url
    }

    /// A product, pulling the passport feed once if it is not known yet.
    pub async fn product(&self, passport_id: Uuid) -> Result<ProductRow, CustodyError> {
        if let Some(p) = self.store.product(passport_id).await? {
            return Ok(p);
        }
        self.catch_up_passports().await;
        self.store
            .product(passport_id)
            .await?
            .ok_or(CustodyError::NoProduct(passport_id))
    }

    /// Reads the passport feed up to now (a product registered a moment ago may not have
    /// reached custody yet); a failure leaves custody as it was.
    async fn catch_up_passports(&self) {
        if let Some(consumer) = &self.passports
            && let Err(err) = consumer.catch_up().await
        {
            tracing::warn!(error = %err, "passport feed catch-up failed");
        }
    }

    /// How events name a product.
    pub(crate) fn product_epc(&self, product: &ProductRow) -> Result<ProductEpc, CustodyError> {
        if product.epc.starts_with("https://id.gs1.org/01/")
            && let Ok(sgtin) = reetrace_core::domain::Sgtin::parse(&product.epc)
        {
            return Ok(ProductEpc::sgtin(&sgtin));
        }
        ProductEpc::passport(&self.config.base_url, &product.passport_id.to_string())
            .map_err(|e| CustodyError::internal("product uri", e))
    }

    /// How events name a lot.
    pub(crate) fn lot_epc(&self, lot: &LotRow) -> Result<LotEpc, CustodyError> {
        if lot.epc.starts_with("https://id.gs1.org/01/")
            && let Ok(lgtin) = reetrace_core::domain::Lgtin::parse(&lot.epc)
        {
            return Ok(LotEpc::lgtin(&lgtin));
        }
        LotEpc::own(&self.config.base_url, &lot.lot_id.to_string())
            .map_err(|e| CustodyError::internal("lot uri", e))
    }

    /// The caller's organisation.
    pub(crate) async fn org(&self, id: Uuid) -> Result<Org, CustodyError> {
        self.accounts.org(id).await?.ok_or(CustodyError::CallerGone)
    }

    /// How events name an organisation, by id (its id URI if it is gone).
    pub(crate) async fn org_uri_of(&self, id: Uuid) -> String {
        self.org(id)
            .await
            .map(|o| org_uri(&o))
            .unwrap_or_else(|_| format!("urn:uuid:{id}"))
    }

    /// A recycler organisation named as the next holder, or an invalid `/to_org`.
    pub(crate) async fn recipient(&self, to: Uuid) -> Result<Org, CustodyError> {
        match self.accounts.org(to).await? {
            Some(org) if org.role == Role::Recycler => Ok(org),
            Some(org) => Err(CustodyError::invalid(
                "/to_org",
                format!("organisation {to} is a {}, not a recycler", org.role),
            )),
            None => Err(CustodyError::invalid(
                "/to_org",
                format!("no organisation {to}"),
            )),
        }
    }

    /// The events of a subject's chain.
    pub async fn chain(&self, subject: Uuid) -> Result<Vec<EventSummary>, CustodyError> {
        Ok(self
            .store
            .chain_of(subject)
            .await?
            .into_iter()
            .map(|(link, event)| EventSummary::of(&link, event))
            .collect())
    }

    /// The stored answer of a retried request.
    pub(crate) async fn stored(
        &self,
        org_id: Uuid,
        idem: &Idempotency,
    ) -> Result<Option<StoredResponse>, CustodyError> {
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
    ) -> Result<Answer<T>, CustodyError> {
        match self.stored(org_id, idem).await? {
            Some(stored) => Ok(Answer::Replay(stored)),
            None => Err(CustodyError::ConcurrentRequest),
        }
    }
}

/// Adds our note to a built event and gives it its final hash-based id.
pub(crate) fn finalize(
    mut event: Value,
    note: Option<&str>,
) -> Result<(Value, String), CustodyError> {
    if let Some(object) = event.as_object_mut() {
        object.remove("eventID");
        if let Some(note) = note {
            object.insert("ree:note".into(), Value::String(note.to_owned()));
        }
    }
    let hash = epcis::event_hash(&event).map_err(|e| CustodyError::internal("event hash", e))?;
    if let Some(object) = event.as_object_mut() {
        object.insert("eventID".into(), Value::String(hash.clone()));
    }
    Ok((event, hash))
}

/// The exact JSON an event is stored as.
pub(crate) fn stored_text(document: &Value) -> Result<String, CustodyError> {
    serde_json::to_string(document).map_err(|e| CustodyError::internal("event document", e))
}

/// The URI naming an organisation in events.
pub(crate) fn org_uri(org: &Org) -> String {
    match &org.operator_id {
        Some(id) => format!("{}:{}", id.scheme(), id.value()),
        None => format!("urn:uuid:{}", org.id),
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

/// The leaf of the one event a write appended.
pub(crate) fn leaf_of(written: &Written) -> i64 {
    written.leaves.first().map(|(_, leaf)| *leaf).unwrap_or(-1)
}
