//! Composition: the services on one database, their routes behind the shared middleware, and
//! the process lifecycle (serve until told to stop, then drain).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use reetrace_core::api::accounts::AccountsState;
use reetrace_core::api::audit;
use reetrace_core::api::auth::Authenticator;
use reetrace_core::api::bulk_gate::BulkGate;
use reetrace_core::api::feed::FeedState;
use reetrace_core::api::problem;
use reetrace_core::client::recycled_content::HttpClaims;
use reetrace_core::db::{Db, MigrationSet, PoolOptions};
use reetrace_core::metrics::{self, Metrics};
use reetrace_core::service::accounts::Accounts;
use reetrace_core::service::audit::AuditTrail;
use reetrace_core::service::feed::{Consumer, FeedSource, Quarantines};
use reetrace_core::service::idempotency_retention::IdempotencyRetention;
use reetrace_core::service::issuing::{Issuing, IssuingConfig, KeyOnOrgCreated};
use reetrace_core::service::lease::run_leased;
use reetrace_core::store::lease::Leases;
use reetrace_custody as custody;
use reetrace_custody::api::CustodyState;
use reetrace_custody::domain::reservation::ReservationCap;
use reetrace_custody::service::{CustodyConfig, CustodyService};
use reetrace_deposits::{self as deposits, service::DepositService};
use reetrace_passport as passport;
use reetrace_passport::api::PassportState;
use reetrace_passport::service::{PassportConfig, PassportService};
use reetrace_stock::api::StockState;
use reetrace_stock::feed::{self as stock_feed, StockConsumers};
use reetrace_stock::{self as stock, service::StockService};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use crate::apidoc;
use crate::config::Config;
use crate::ops::{self, OpsState};
use crate::selection::Selection;

/// Every service's migrations, in the order they apply. Issuing's comes after passport's, whose
/// first migration created the issuing tables before they were the kernel's (issuing's creates
/// them only where they are missing; passport's would refuse them if they existed).
pub const MIGRATIONS: &[&MigrationSet] = &[
    &reetrace_core::store::lease::MIGRATIONS,
    &reetrace_core::store::accounts::MIGRATIONS,
    &passport::store::MIGRATIONS,
    &reetrace_core::store::issuing::MIGRATIONS,
    &custody::store::MIGRATIONS,
    &stock::store::MIGRATIONS,
    &deposits::store::MIGRATIONS,
];

/// How often background consumers look at their feeds when nothing woke them.
const FEED_POLL: Duration = Duration::from_millis(500);
/// How often the custody log publishes a checkpoint when it grew.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// How long a request may take before it is answered 408.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// A built application: routes wired to a migrated database.
pub struct App {
    router: Router,
    db: Db,
    services: Services,
    limits: crate::serve::ConnectionLimits,
    db_connections: u32,
    /// HTTPS when a certificate and key are configured.
    tls: Option<tokio_rustls::TlsAcceptor>,
}

/// The services on one database. Every service object exists (they are cheap); the selection
/// decides which serve routes and run background work here, and whether a service reaches
/// another in process or over HTTP.
#[derive(Clone)]
pub struct Services {
    /// The instance's recorded identity (its base URL, former ones, its log's origin).
    pub identity: reetrace_core::domain::instance::InstanceIdentity,
    pub selection: Selection,
    pub accounts: Accounts,
    /// Checks API keys for every route of this process.
    pub auth: Arc<Authenticator>,
    /// The audit trail of authority reads, written by every route of this process.
    pub audit: AuditTrail,
    /// How long the passport and custody answers to `Idempotency-Key`s are kept.
    pub idempotency: IdempotencyRetention,
    /// Issuing as the organisations (keys, DIDs, status lists), for every service that issues.
    pub issuing: Arc<Issuing>,
    pub passport: PassportService,
    pub custody: CustodyService,
    /// Custody's copy of the passports, fed from the passport feed.
    pub custody_passports: Arc<Consumer>,
    /// Leases for the background work of this process.
    pub leases: Arc<Leases>,
    pub stock: StockService,
    /// The stock service's consumers of the passport, custody and deposits feeds.
    pub stock_consumers: StockConsumers,
    /// Where the consumers keep the events they cannot apply.
    pub quarantines: Quarantines,
    pub deposits: DepositService,
}

impl Services {
    /// The services on `db`, configured by `config`, all run here.
    pub async fn open(db: &Db, config: &Config) -> anyhow::Result<Services> {
        Self::open_selected(db, config, Selection::ALL).await
    }

    /// The services on `db`; those not in `selection` are reached over HTTP.
    pub async fn open_selected(
        db: &Db,
        config: &Config,
        selection: Selection,
    ) -> anyhow::Result<Services> {
        // Refuses a start on another instance's database or with the wrong master key.
        let crate::instance::Opened { master, identity } =
            crate::instance::open(db, config).await?;
        let base_url = identity.public_base_url.clone();
        passport::client::install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .context("build the HTTP client")?;
        let account_store = reetrace_core::store::accounts::open(db);
        let auth = Arc::new(
            Authenticator::new(account_store.clone(), &config.rate_limits())
                .map_err(|why| anyhow::anyhow!("trusted_proxies: {why}"))?,
        );
        let mut accounts = Accounts::new(account_store.clone(), auth.clone());
        let audit = AuditTrail::new(
            reetrace_core::store::audit::open(db),
            config.audit_retention_days,
        );
        let issuing = Arc::new(Issuing::new(
            reetrace_core::store::issuing::open(db),
            master.clone(),
            IssuingConfig {
                base_url: base_url.clone(),
                aliases: identity.aliases.clone(),
            },
        ));
        accounts.observe(Arc::new(KeyOnOrgCreated(issuing.clone())));
        let deposits = DepositService::new(deposits::store::open(db), issuing.clone());
        let passport_store = passport::store::open(db);
        let passport = PassportService::new(
            passport_store.clone(),
            account_store.clone(),
            issuing.clone(),
            PassportConfig {
                base_url: base_url.clone(),
                aliases: identity.aliases.clone(),
                did_web_allowlist: config.did_web_allowlist.clone(),
                resolver_cache: std::time::Duration::from_millis(config.resolver_cache_ms),
                crma: config.crma.clone(),
            },
        );

        let custody_store = custody::store::open(db);
        let log = custody::service::TransparencyLog::open(
            custody_store.clone(),
            &identity.log_origin,
            &master,
        )
        .await
        .map_err(crate::instance::log_refused)?;
        let feeds = crate::selection::Feeds::of(
            config,
            selection,
            &http,
            (
                passport_store.clone(),
                custody_store.clone(),
                deposits.store().clone(),
            ),
        )?;
        let quarantines = Quarantines::new(reetrace_core::store::quarantine::open(db));
        let custody_passports = Arc::new(
            Consumer::new(
                feeds.passport.clone(),
                Arc::new(custody::feed::PassportProjection::new(
                    custody_store.clone(),
                    base_url.clone(),
                )),
            )
            .with_lease(
                Arc::new(Leases::new(db.clone(), instance_name())),
                "custody.passports",
            )
            .with_quarantine(quarantines.of("custody.passports")),
        );
        let leases = Arc::new(Leases::new(db.clone(), instance_name()));
        let stock = StockService::new(stock::store::open(db), config.disclosure_k);
        let stock_consumers = StockConsumers::new(
            stock.store().clone(),
            feeds.passport,
            feeds.custody,
            Some(feeds.deposits),
            Some(leases.clone()),
            Some(quarantines.clone()),
        );
        let custody = CustodyService::new(
            custody_store,
            account_store,
            Arc::new(log),
            CustodyConfig {
                base_url,
                aliases: identity.aliases.clone(),
                reservation_cap: ReservationCap::new(config.reservation_cap_percent)
                    .unwrap_or_default(),
            },
            Some(custody_passports.clone()),
        );
        if selection.custody {
            passport.set_claims(Arc::new(custody::api::recycled_content::InProcessClaims(
                custody.clone(),
            )));
        } else if selection.passport
            && let (Some(url), Some(key)) = (&config.custody_url, &config.service_key)
        {
            passport.set_claims(Arc::new(HttpClaims::new(http.clone(), url, key.expose())));
        }
        Ok(Services {
            identity,
            selection,
            accounts,
            auth,
            audit,
            idempotency: IdempotencyRetention::new(
                config.idempotency_retention_hours,
                vec![
                    ("passport", passport::store::idempotent_answers(db)),
                    ("custody", custody::store::idempotent_answers(db)),
                    ("deposits", deposits::store::idempotent_answers(db)),
                ],
            ),
            issuing,
            passport,
            custody,
            custody_passports,
            leases,
            stock,
            stock_consumers,
            quarantines,
            deposits,
        })
    }

    /// Starts the background work of the services run here: feed consumers, the checkpoint
    /// publisher, the pruning of the audit trail and of idempotent answers; each under a lease.
    pub fn start_workers(&self, cancel: &CancellationToken) -> Vec<tokio::task::JoinHandle<()>> {
        let mut workers = vec![
            (self.audit).spawn_pruning(self.leases.clone(), cancel.clone()),
            (self.idempotency).spawn_pruning(self.leases.clone(), cancel.clone()),
        ];
        if self.selection.stock {
            workers.extend(
                self.stock_consumers
                    .spawn(stock_feed::POLL_INTERVAL, cancel.clone()),
            );
        }
        if self.selection.custody {
            workers.push(tokio::spawn(self.custody_passports.clone().run(
                None,
                FEED_POLL,
                cancel.clone(),
            )));
            // Capture jobs of the EPCIS REST binding: every instance takes queued jobs.
            workers.push(tokio::spawn(self.custody.clone().run_capture_jobs(
                instance_name(),
                custody::api::binding::JOB_RENDERING,
                cancel.clone(),
            )));
            let log = self.custody.log().clone();
            let leases = self.leases.clone();
            let cancel = cancel.clone();
            workers.push(tokio::spawn(async move {
                let publisher = log.clone();
                run_leased(leases, "custody.checkpoints".into(), CHECKPOINT_EVERY, None, cancel, move || {
                    let log = publisher.clone();
                    async move {
                        if let Err(err) = log.publish().await {
                            tracing::warn!(error = %err, "checkpoint publishing failed; will retry");
                        }
                    }
                })
                .await;
                // A last checkpoint, so that what was recorded before a shutdown is covered.
                if let Err(err) = log.publish().await {
                    tracing::warn!(error = %err, "final checkpoint failed");
                }
            }));
        }
        workers
    }
}

/// This process's name in lease tables: host name and a random suffix.
fn instance_name() -> String {
    static NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NAME.get_or_init(|| {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "reetrace".into());
        format!("{host}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
    })
    .clone()
}

/// Opens the configured database, applies every migration and grandfathers the GTINs
/// registered before GS1 prefixes ([`crate::grandfather`]).
pub async fn open_database(config: &Config) -> anyhow::Result<Db> {
    let options = PoolOptions {
        max_connections: config.db_max_connections,
        ..PoolOptions::default()
    };
    let url = config.database_url.expose();
    let db = Db::connect(url, &options)
        .await
        .with_context(|| format!("open {}", reetrace_core::db::redact_url(url)))?;
    for set in MIGRATIONS {
        db.migrate(set)
            .await
            .with_context(|| format!("migrate the {} tables", set.name))?;
    }
    // Once, across the services' tables: GTINs registered before GS1 prefixes existed.
    crate::grandfather::run(&db)
        .await
        .context("grandfather the GTINs registered before GS1 prefixes")?;
    Ok(db)
}

/// The OpenAPI document of every route, without a database (for `reetrace openapi`).
pub fn openapi() -> OpenApi {
    let mut doc = apidoc::base();
    for part in [
        ops::router().into_openapi(),
        reetrace_core::api::accounts::router().into_openapi(),
        audit::router().into_openapi(),
        passport::api::router(0, BulkGate::new(1, 0, 0)).into_openapi(),
        reetrace_core::api::issuers::router().into_openapi(),
        custody::api::router(0, BulkGate::new(1, 0, 0)).into_openapi(),
        reetrace_core::api::feed::router().into_openapi(),
        reetrace_core::api::quarantine::router().into_openapi(),
        stock::api::router().into_openapi(),
        deposits::api::router().into_openapi(),
        crate::scan::router().into_openapi(),
    ] {
        doc.merge(part);
    }
    apidoc::finish(doc)
}

/// Builds the application on the configured database (migrating it).
pub async fn build(config: &Config) -> anyhow::Result<App> {
    // A certificate that does not load stops the start before the database is touched.
    let tls = crate::tls::configured(config)?;
    let db = open_database(config).await?;
    let metrics = Metrics::new();
    let selection = Selection::parse(&config.services)?;
    let services = Services::open_selected(&db, config, selection).await?;
    metrics.register(
        "feed_quarantined",
        "Feed events a consumer could not apply and kept in quarantine",
        services.quarantines.counters.clone(),
    );
    if let Some(key) = &config.service_key {
        services
            .accounts
            .register_service_key(key.expose())
            .await
            .map_err(|p| anyhow::anyhow!("register the service key: {p}"))?;
    }
    let auth = services.auth.clone();
    let trail = audit::AuditState {
        trail: services.audit.clone(),
        auth: auth.clone(),
    };

    // Every process answers health and metrics, and authenticates against the shared accounts.
    let scan = crate::scan::served(&services, &auth, config.scan_rate_limit);
    let mut routes = OpenApiRouter::with_openapi(apidoc::base())
        .merge(ops::router().with_state(OpsState {
            db: db.clone(),
            metrics: metrics.clone(),
        }))
        .merge(
            reetrace_core::api::accounts::router().with_state(AccountsState {
                accounts: services.accounts.clone(),
                auth: auth.clone(),
            }),
        )
        .merge(audit::router().with_state(trail.clone()))
        .merge(scan);
    let mut feeds: HashMap<String, Arc<dyn FeedSource>> = HashMap::new();
    let bulk_gate = BulkGate::new(
        config.bulk_in_flight,
        config.bulk_body_limit_bytes,
        config.body_limit_bytes,
    );
    bulk_gate.register_metrics(&metrics);
    if selection.passport {
        routes = routes.merge(
            passport::api::router(config.bulk_body_limit_bytes, bulk_gate.clone()).with_state(
                PassportState {
                    service: services.passport.clone(),
                    auth: auth.clone(),
                    bulk_body_limit: config.bulk_body_limit_bytes,
                },
            ),
        );
        // The DID documents and status lists of the organisations, where the service that
        // issues with their keys runs.
        routes = routes
            .merge(reetrace_core::api::issuers::router().with_state(services.issuing.clone()));
        feeds.insert(
            passport::feed::STREAM.to_owned(),
            Arc::new(passport::feed::PassportFeed::new(
                services.passport.store().clone(),
            )),
        );
    }
    if selection.custody {
        routes = routes.merge(
            custody::api::router(config.bulk_body_limit_bytes, bulk_gate.clone()).with_state(
                CustodyState {
                    service: services.custody.clone(),
                    auth: auth.clone(),
                },
            ),
        );
        feeds.insert(
            custody::feed::STREAM.to_owned(),
            Arc::new(custody::feed::CustodyFeed::new(
                services.custody.store().clone(),
            )),
        );
    }
    if selection.stock {
        // Warm the stock tables in the background before answering.
        services
            .stock
            .init()
            .await
            .map_err(|p| anyhow::anyhow!("{p}"))?;
        routes = routes.merge(stock::api::router().with_state(StockState {
            service: services.stock.clone(),
            auth: auth.clone(),
        }));
    }
    if selection.deposits {
        routes = routes.merge(deposits::api::served(&services.deposits, &auth));
        let store = services.deposits.store().clone();
        feeds.insert(
            deposits::feed::STREAM.to_owned(),
            Arc::new(deposits::feed::DepositFeed::new(store)),
        );
    }
    let mut consumers: HashMap<String, Arc<Consumer>> = HashMap::new();
    if selection.custody {
        consumers.insert(
            services.custody_passports.name().to_owned(),
            services.custody_passports.clone(),
        );
    }
    if selection.stock {
        for consumer in services.stock_consumers.consumers() {
            consumers.insert(consumer.name().to_owned(), consumer.clone());
        }
    }
    let routes = routes.merge(reetrace_core::api::quarantine::router().with_state(
        reetrace_core::api::quarantine::QuarantineState {
            store: services.quarantines.store.clone(),
            consumers: Arc::new(consumers),
            auth: auth.clone(),
        },
    ));
    let routes = routes.merge(reetrace_core::api::feed::router().with_state(FeedState {
        sources: Arc::new(feeds),
        auth,
    }));
    let (api, _) = routes.split_for_parts();
    // The whole API's document, whichever services run here (the gateway serves one API).
    let doc = openapi();

    let router = api
        .merge(SwaggerUi::new("/docs").url("/openapi.json", doc))
        // The pages people look at (dashboard, page scripts): HTML and assets, not API operations.
        .merge(crate::pages::router())
        // Every request made with an authority's key is in the audit trail before it is answered.
        .route_layer(middleware::from_fn_with_state(trail, audit::record))
        .route_layer(middleware::from_fn(metrics::mark_route))
        .fallback(problem::not_found_fallback)
        .layer(DefaultBodyLimit::max(config.body_limit_bytes))
        .layer(crate::serve::cors())
        // Outside the CORS layer, which would answer every OPTIONS itself (without `Allow`).
        .layer(middleware::from_fn(passport::api::resolver::answer_options))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(middleware::from_fn(problem::problem_layer))
        .layer(middleware::from_fn_with_state(
            services.auth.clone(),
            reetrace_core::api::auth::limit_anonymous,
        ))
        .layer(middleware::from_fn_with_state(
            config.connections,
            crate::serve::limits_layer,
        ))
        .layer(CatchPanicLayer::custom(problem::panic_response));
    let router = crate::problem_check::layer(router)
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(middleware::from_fn_with_state(metrics, metrics::track))
        .layer(TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
            let id = request
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            tracing::info_span!("request", method = %request.method(), uri = %request.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid));

    Ok(App {
        router,
        db,
        services,
        limits: config.connections,
        db_connections: config.db_max_connections,
        tls,
    })
}

impl App {
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn accounts(&self) -> &Accounts {
        &self.services.accounts
    }

    pub fn services(&self) -> &Services {
        &self.services
    }

    /// Serves on `listener` until `shutdown` is cancelled, then lets in-flight requests finish
    /// and the background work (feed consumers, the checkpoint publisher) stop.
    pub async fn run(
        self,
        listener: TcpListener,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        let workers = self.services.start_workers(&shutdown);
        let descriptors = crate::serve::raise_descriptor_limit();
        let cap = crate::serve::connection_cap(&self.limits, descriptors, self.db_connections);
        tracing::info!(
            descriptors,
            max_connections = cap,
            "serving with a file-descriptor budget"
        );
        let served = crate::serve::serve(
            listener,
            self.tls,
            self.router,
            self.limits,
            cap,
            shutdown.clone(),
        )
        .await
        .context("serve HTTP");
        // Whatever ended the serving, the background work stops too, cleanly.
        shutdown.cancel();
        for worker in workers {
            let _ = worker.await;
        }
        self.db.close().await;
        served
    }
}
