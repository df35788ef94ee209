//! The figures an answer is read from: the tables of the flows and years it needs (built from
//! the store's rows and protected, cached per flow and year until their revision moves) and the
//! modelled stock (cached per parameter version and placed-on-market revisions). Answers never
//! wait for a rebuild: a table whose revision moved is answered as cached while a background
//! refresh rebuilds it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use chrono::{Datelike, Utc};

use super::parameters::ParameterSet;
use super::{Scope, StockError, StockService};
use crate::domain::disclosure::DisclosureRule;
use crate::domain::disclosure::protect_with;
use crate::domain::flow::Flow;
use crate::domain::linked::{DisclosureAudit, audit_published, group_of, protect_group};
use crate::domain::modelled::{ModelShape, Modelled};
use crate::domain::pattern::{self, Pattern};
use crate::domain::products::ProductTables;
use crate::domain::table::{Contribution, Dim, Grain, Table};

/// The figures an answer is read from.
pub(super) struct Source {
    pub tables: BTreeMap<(Flow, i32), Arc<Table>>,
    pub model: Option<(Arc<Modelled>, Arc<ParameterSet>)>,
    /// The sum of the revisions of the tables read (with the placed-on-market tables behind
    /// the model): it grows with every change to them. Zero for an organisation's own figures.
    pub data_revision: i64,
}

impl Source {
    /// The years the tables cover.
    pub fn observed_years(&self) -> Option<(i32, i32)> {
        let years = self.tables.keys().map(|(_, y)| *y);
        Some((years.clone().min()?, years.max()?))
    }
}

type ModelKey = (i64, Vec<(i32, i64)>);

/// A built table: its flow and year, its revision and the table.
type Built = ((Flow, i32), (i64, Arc<Table>));

/// The cached tables (with the revision each was built at) and model.
#[derive(Default)]
pub(super) struct Cache {
    tables: HashMap<(Flow, i32), (i64, Arc<Table>)>,
    model: Option<(ModelKey, Arc<Modelled>)>,
    /// The published product-mass model, by a fingerprint of what it was made of.
    products: Option<(u64, Arc<ProductModel>)>,
    /// The stored disclosure patterns (read on the first build), updated as tables are
    /// protected.
    patterns: Option<HashMap<(Flow, i32), Pattern>>,
}

/// The products' net mass: the tables (units of unknown mass with them) and the model run
/// through the rare earths' model years.
pub(super) struct ProductModel {
    pub tables: ProductTables,
    pub model: Modelled,
}

impl StockService {
    /// The tables of `flows` (all years, or those in `years`) and, if asked, the model.
    pub(super) async fn source(
        &self,
        scope: Scope,
        flows: &[Flow],
        years: Option<(i32, i32)>,
        with_model: bool,
    ) -> Result<Source, StockError> {
        let in_range = |year: i32| years.is_none_or(|(from, to)| (from..=to).contains(&year));
        match scope {
            Scope::Published | Scope::All => self.all_source(flows, &in_range, with_model).await,
            Scope::Own(org) => {
                let rows = self.inner.store.org_rows(org).await?;
                let mut grouped: BTreeMap<(Flow, i32), Vec<Contribution>> = BTreeMap::new();
                for (flow, year, row) in rows {
                    let wanted = flows.contains(&flow) && in_range(year);
                    if wanted || (with_model && flow == Flow::PlacedOnMarket) {
                        grouped.entry((flow, year)).or_default().push(row);
                    }
                }
                let build = move || -> BTreeMap<(Flow, i32), Arc<Table>> {
                    grouped
                        .into_iter()
                        .map(|(k, rows)| (k, Arc::new(Table::build(rows))))
                        .collect()
                };
                let all = blocking(build).await?;
                let model = if with_model {
                    let params = self.parameters().await?;
                    let pom = pom_tables(&all);
                    let p = params.parameters.clone();
                    let model = blocking(move || Modelled::run(&refs(&pom), &p, false)).await?;
                    Some((Arc::new(model), params))
                } else {
                    None
                };
                let tables = all
                    .into_iter()
                    .filter(|((f, y), _)| flows.contains(f) && in_range(*y))
                    .collect();
                Ok(Source {
                    tables,
                    model,
                    data_revision: 0,
                })
            }
        }
    }

    async fn all_source(
        &self,
        flows: &[Flow],
        in_range: &(dyn Fn(i32) -> bool + Sync),
        with_model: bool,
    ) -> Result<Source, StockError> {
        let revisions = self.inner.store.revisions().await?;
        let wanted: Vec<(Flow, i32, i64)> = revisions
            .iter()
            .copied()
            .filter(|(flow, year, _)| {
                (flows.contains(flow) && in_range(*year))
                    || (with_model && *flow == Flow::PlacedOnMarket)
            })
            .collect();
        // Tables already built are used as they are, even when their revision moved: the
        // refresh runs in the background, so an answer never waits for a rebuild. Only a
        // table never built before is built now.
        let mut tables = BTreeMap::new();
        let mut missing = Vec::new();
        let mut stale = false;
        {
            let cache = self.lock();
            for (flow, year, revision) in &wanted {
                match cache.tables.get(&(*flow, *year)) {
                    Some((r, table)) => {
                        stale |= r != revision;
                        tables.insert((*flow, *year), (*r, table.clone()));
                    }
                    None => missing.push((*flow, *year, *revision)),
                }
            }
        }
        if stale {
            self.refresh_in_background();
        }
        let revision_of: HashMap<(Flow, i32), i64> =
            revisions.iter().map(|(f, y, r)| ((*f, *y), *r)).collect();
        for (flow, year, _) in missing {
            if tables.contains_key(&(flow, year)) {
                continue; // built with its group
            }
            let built = self.build_group(flow, year, &revision_of).await?;
            let mut cache = self.lock();
            for (at, entry) in built {
                put_table(&mut cache, at, entry.clone());
                if wanted.iter().any(|(f, y, _)| (*f, *y) == at) {
                    tables.insert(at, entry);
                }
            }
        }
        let model = if with_model {
            let params = self.parameters().await?;
            let pom: BTreeMap<i32, (i64, Arc<Table>)> = tables
                .iter()
                .filter(|((f, _), _)| *f == Flow::PlacedOnMarket)
                .map(|((_, y), t)| (*y, t.clone()))
                .collect();
            Some((self.model_for(&params, &pom).await?, params))
        } else {
            None
        };
        let data_revision = tables.values().map(|(r, _)| *r).sum();
        let tables = tables
            .into_iter()
            .filter(|((f, y), _)| flows.contains(f) && in_range(*y))
            .map(|(k, (_, t))| (k, t))
            .collect();
        Ok(Source {
            tables,
            model,
            data_revision,
        })
    }

    /// Reads and protects the tables of `flow`'s group in `year` (the flows protected together,
    /// [`group_of`]; the flow alone when it has none), each with its revision in
    /// `revision_of` (read before the rows); a flow of the group without rows is left out.
    /// The group's stored patterns are reused when they were computed for exactly these
    /// revisions under this rule and method ([`crate::domain::pattern`]); otherwise the group
    /// is protected and its patterns stored.
    async fn build_group(
        &self,
        flow: Flow,
        year: i32,
        revision_of: &HashMap<(Flow, i32), i64>,
    ) -> Result<Vec<Built>, StockError> {
        let group: Vec<Flow> = group_of(flow).map_or_else(|| vec![flow], <[Flow]>::to_vec);
        let revisions: Vec<(Flow, Option<i64>)> = group
            .iter()
            .map(|member| (*member, revision_of.get(&(*member, year)).copied()))
            .collect();
        let rule = DisclosureRule::new(self.inner.k);
        let stored = self.stored_patterns(&group, year).await?;
        let mut rows = Vec::with_capacity(group.len());
        for member in &group {
            rows.push(self.inner.store.table_rows(*member, year).await?);
        }
        let (tables, basis, reused) = blocking({
            let group = group.clone();
            let revisions = revisions.clone();
            move || {
                let mut tables: Vec<Table> = rows.into_iter().map(Table::build).collect();
                let basis = {
                    let members: Vec<(Flow, Option<i64>, &Table)> = revisions
                        .iter()
                        .zip(&tables)
                        .map(|((flow, revision), table)| (*flow, *revision, table))
                        .collect();
                    pattern::basis(rule, year, &members)
                };
                let reused = tables.iter_mut().zip(&stored).all(|(table, stored)| {
                    match stored.as_ref().filter(|p| p.basis == basis) {
                        Some(p) => pattern::restore(table, rule, p),
                        None => table.is_empty(),
                    }
                });
                if !reused {
                    protect_group(&mut tables, &group, rule);
                }
                (tables, basis, reused)
            }
        })
        .await?;
        let counter = if reused {
            &self.inner.groups_reused
        } else {
            &self.inner.groups_protected
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if !reused {
            let patterns: Vec<Pattern> = revisions
                .iter()
                .zip(&tables)
                .filter(|((_, revision), _)| revision.is_some())
                .map(|((member, _), table)| Pattern::of(*member, year, basis.clone(), table))
                .collect();
            // A pattern not stored is computed again at the next start: nothing is lost.
            if let Err(error) = self.inner.store.put_patterns(&patterns).await {
                tracing::warn!(%error, "storing the disclosure patterns failed");
            }
            let mut cache = self.lock();
            if let Some(kept) = cache.patterns.as_mut() {
                for p in patterns {
                    kept.insert((p.flow, p.year), p);
                }
            }
        }
        Ok(group
            .into_iter()
            .zip(tables)
            .filter_map(|(member, table)| {
                let revision = *revision_of.get(&(member, year))?;
                Some(((member, year), (revision, Arc::new(table))))
            })
            .collect())
    }

    /// The stored pattern of each table of `group` in `year` (read from the store once, then
    /// kept); `None` for a table without one.
    async fn stored_patterns(
        &self,
        group: &[Flow],
        year: i32,
    ) -> Result<Vec<Option<Pattern>>, StockError> {
        if self.lock().patterns.is_none() {
            let all = self.inner.store.patterns().await?;
            let mut cache = self.lock();
            if cache.patterns.is_none() {
                cache.patterns = Some(all.into_iter().map(|p| ((p.flow, p.year), p)).collect());
            }
        }
        let cache = self.lock();
        let kept = cache.patterns.as_ref();
        Ok(group
            .iter()
            .map(|member| kept.and_then(|k| k.get(&(*member, year))).cloned())
            .collect())
    }

    /// How many groups of tables were protected, and how many took their stored patterns,
    /// since the service started.
    pub fn groups_protected_and_reused(&self) -> (u64, u64) {
        (
            self.inner.groups_protected.load(Ordering::Relaxed),
            self.inner.groups_reused.load(Ordering::Relaxed),
        )
    }

    /// The model of these placed-on-market tables (cached by parameter version and table
    /// revisions).
    async fn model_for(
        &self,
        params: &Arc<ParameterSet>,
        pom: &BTreeMap<i32, (i64, Arc<Table>)>,
    ) -> Result<Arc<Modelled>, StockError> {
        let key: ModelKey = (
            params.version,
            pom.iter().map(|(y, (r, _))| (*y, *r)).collect(),
        );
        let cached = self
            .lock()
            .model
            .as_ref()
            .filter(|(k, _)| *k == key)
            .map(|(_, m)| m.clone());
        if let Some(model) = cached {
            return Ok(model);
        }
        let tables: BTreeMap<i32, Arc<Table>> =
            pom.iter().map(|(y, (_, t))| (*y, t.clone())).collect();
        let p = params.parameters.clone();
        let model = Arc::new(blocking(move || Modelled::run(&refs(&tables), &p, true)).await?);
        self.lock().model = Some((key, model.clone()));
        Ok(model)
    }

    /// The product-mass model of `scope` over the years of the rare earths' `model`: for the
    /// published statistics (and authorities, who read it exactly) protected like the rare-earth
    /// tables and cached by what it is made of; an organisation's own, unprotected. Rebuilt
    /// from the stored passports on each call but the protection and the run, which are cached.
    pub(super) async fn product_model(
        &self,
        scope: Scope,
        model: &Modelled,
        params: &ParameterSet,
    ) -> Result<Arc<ProductModel>, StockError> {
        let own = match scope {
            Scope::Own(org) => Some(org),
            Scope::Published | Scope::All => None,
        };
        let counts = self.inner.store.product_counts(own).await?;
        let shape = ModelShape {
            finest: Grain::of(&[Dim::Country, Dim::Category]),
            span: (!model.is_empty()).then_some((model.start, model.last_observed)),
        };
        let fingerprint = {
            use std::hash::{Hash, Hasher};
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            (&counts, params.version, shape.span, self.inner.k).hash(&mut hasher);
            hasher.finish()
        };
        if own.is_none() {
            let cached = self
                .lock()
                .products
                .as_ref()
                .filter(|(f, _)| *f == fingerprint)
                .map(|(_, m)| m.clone());
            if let Some(products) = cached {
                return Ok(products);
            }
        }
        let rule = DisclosureRule::new(self.inner.k);
        let p = params.parameters.clone();
        let products = blocking(move || {
            let mut tables = ProductTables::build(&counts);
            if own.is_none() {
                for table in tables.tables.values_mut() {
                    protect_with(table, rule);
                }
            }
            let refs = tables.tables.iter().map(|(y, t)| (*y, t)).collect();
            let model = Modelled::run_over(&refs, &p, own.is_none(), shape);
            ProductModel { tables, model }
        })
        .await?;
        let products = Arc::new(products);
        if own.is_none() {
            self.lock().products = Some((fingerprint, products.clone()));
        }
        Ok(products)
    }

    /// Whether a background refresh is running.
    pub fn refreshing(&self) -> bool {
        self.inner.refreshing.load(Ordering::Acquire)
    }

    /// Starts a refresh unless one is running.
    fn refresh_in_background(&self) {
        if self
            .inner
            .refreshing
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return;
        }
        let service = self.clone();
        tokio::spawn(async move {
            if let Err(error) = service.refresh(false).await {
                tracing::warn!(%error, "refreshing the stock tables failed; the next answer retries");
            }
            service.inner.refreshing.store(false, Ordering::Release);
        });
    }

    /// Rebuilds the cached tables whose revision moved (`all`: every table there is), then the
    /// model of the new placed-on-market tables, and swaps them in together.
    pub async fn refresh(&self, all: bool) -> Result<(), StockError> {
        let revisions = self.inner.store.revisions().await?;
        let todo: Vec<(Flow, i32, i64)> = {
            let cache = self.lock();
            revisions
                .iter()
                .copied()
                .filter(|(f, y, r)| match cache.tables.get(&(*f, *y)) {
                    Some((cached, _)) => cached != r,
                    None => all,
                })
                .collect()
        };
        let revision_of: Arc<HashMap<(Flow, i32), i64>> =
            Arc::new(revisions.iter().map(|(f, y, r)| ((*f, *y), *r)).collect());
        // One build per group of linked flows, as many at once as there are cores (protection
        // is CPU work, and each group is protected on its own).
        let mut groups: Vec<(Flow, i32)> = Vec::new();
        for (flow, year, _) in todo {
            let first = group_of(flow).map_or(flow, |group| group[0]);
            if !groups.contains(&(first, year)) {
                groups.push((first, year));
            }
        }
        let width = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let mut running = tokio::task::JoinSet::new();
        let mut fresh: Vec<Built> = Vec::with_capacity(groups.len());
        for (flow, year) in groups {
            while running.len() >= width {
                fresh.extend(joined(running.join_next().await)?);
            }
            let service = self.clone();
            let revision_of = revision_of.clone();
            running.spawn(async move { service.build_group(flow, year, &revision_of).await });
        }
        while !running.is_empty() {
            fresh.extend(joined(running.join_next().await)?);
        }
        let pom: BTreeMap<i32, (i64, Arc<Table>)> = {
            let cache = self.lock();
            let mut pom: BTreeMap<i32, (i64, Arc<Table>)> = cache
                .tables
                .iter()
                .filter(|((f, _), _)| *f == Flow::PlacedOnMarket)
                .map(|((_, y), t)| (*y, t.clone()))
                .collect();
            for ((f, y), t) in &fresh {
                if *f == Flow::PlacedOnMarket {
                    pom.insert(*y, t.clone());
                }
            }
            pom
        };
        let params = self.parameters().await?;
        let key: ModelKey = (
            params.version,
            pom.iter().map(|(y, (r, _))| (*y, *r)).collect(),
        );
        let tables: BTreeMap<i32, Arc<Table>> =
            pom.iter().map(|(y, (_, t))| (*y, t.clone())).collect();
        let p = params.parameters.clone();
        let model = Arc::new(blocking(move || Modelled::run(&refs(&tables), &p, true)).await?);
        let mut cache = self.lock();
        for (at, entry) in fresh {
            put_table(&mut cache, at, entry);
        }
        cache.model = Some((key, model));
        Ok(())
    }

    /// Builds every table and the model in the background (at start, so that the first answers
    /// do not wait).
    pub fn warm_in_background(&self) {
        if self
            .inner
            .refreshing
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return;
        }
        let service = self.clone();
        tokio::spawn(async move {
            if let Err(error) = service.refresh(true).await {
                tracing::warn!(%error, "warming the stock tables failed");
            }
            service.inner.refreshing.store(false, Ordering::Release);
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        // A panic while holding the cache leaves it usable: it only ever holds whole entries.
        self.inner
            .cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Caches a table unless a newer revision of it is cached already.
fn put_table(cache: &mut Cache, at: (Flow, i32), entry: (i64, Arc<Table>)) {
    match cache.tables.get(&at) {
        Some((cached, _)) if *cached > entry.0 => {}
        _ => {
            cache.tables.insert(at, entry);
        }
    }
}

/// The placed-on-market tables by year.
fn pom_tables(tables: &BTreeMap<(Flow, i32), Arc<Table>>) -> BTreeMap<i32, Arc<Table>> {
    tables
        .iter()
        .filter(|((f, _), _)| *f == Flow::PlacedOnMarket)
        .map(|((_, y), t)| (*y, t.clone()))
        .collect()
}

fn refs(tables: &BTreeMap<i32, Arc<Table>>) -> BTreeMap<i32, &Table> {
    tables.iter().map(|(y, t)| (*y, t.as_ref())).collect()
}

/// What a finished build gave (nothing when none was running).
fn joined(
    next: Option<Result<Result<Vec<Built>, StockError>, tokio::task::JoinError>>,
) -> Result<Vec<Built>, StockError> {
    match next {
        None => Ok(Vec::new()),
        Some(Ok(built)) => built,
        Some(Err(source)) => Err(StockError::Panicked {
            what: "building a group of stock tables",
            source,
        }),
    }
}

/// Runs a computation off the async threads.
async fn blocking<T: Send + 'static>(
    job: impl FnOnce() -> T + Send + 'static,
) -> Result<T, StockError> {
    tokio::task::spawn_blocking(job)
        .await
        .map_err(|source| StockError::Panicked {
            what: "a stock computation",
            source,
        })
}

/// The current calendar year (the default when nothing is observed yet).
pub(super) fn this_year() -> i32 {
    Utc::now().year()
}

impl StockService {
    /// Rebuilds and protects every table as published, then audits them as an intruder reading
    /// every published cell would ([`audit_published`]): what `tests` and operators check the
    /// published statistics with.
    pub async fn audit_disclosure(&self) -> Result<DisclosureAudit, StockError> {
        self.refresh(true).await?;
        let tables: BTreeMap<(Flow, i32), Arc<Table>> = self
            .lock()
            .tables
            .iter()
            .map(|(at, (_, table))| (*at, table.clone()))
            .collect();
        let rule = DisclosureRule::new(self.inner.k);
        blocking(move || audit_published(&tables, rule)).await
    }
}
