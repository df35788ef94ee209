//! Composition: the services on one database, their routes behind the shared middleware, and
//! the process lifecycle (serve until told to stop, then drain).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Method, header};
use axum::middleware;
use reetrace_core::accounts::api::AccountsState;
use reetrace_core::accounts::{self, Accounts};
use reetrace_core::auth::Authenticator;
use reetrace_core::db::{Db, MigrationSet, PoolOptions};
use reetrace_core::feed::api::FeedState;
use reetrace_core::feed::{self, FeedSource};
use reetrace_core::metrics::{self, Metrics};
use reetrace_core::problem;
use reetrace_passport as passport;
use reetrace_passport::api::PassportState;
use reetrace_passport::keys::{KeyOnOrgCreated, Keys};
use reetrace_passport::service::{PassportConfig, PassportService};
use reetrace_stock::api::StockState;
use reetrace_stock::consumers::{self as stock_consumers, StockConsumers};
use reetrace_stock::service::StockService;
use reetrace_stock::{self as stock};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_swagger_ui::SwaggerUi;

use crate::apidoc;
use crate::config::Config;
use crate::ops::{self, OpsState};

/// Every service's migrations, in the order they apply.
pub const MIGRATIONS: &[&MigrationSet] = &[
    &accounts::MIGRATIONS,
    &passport::store::MIGRATIONS,
    &reetrace_custody::store::MIGRATIONS,
    &stock::store::MIGRATIONS,
];

/// How long a request may take before it is answered 408.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// A built application: routes wired to a migrated database.
pub struct App {
    router: Router,
    db: Db,
    services: Services,
    /// The stock service's feed consumers, started by [`App::run`].
    stock_consumers: StockConsumers,
}

/// The services on one database.
#[derive(Clone)]
pub struct Services {
    pub accounts: Accounts,
    pub passport: PassportService,
    pub stock: StockService,
}

impl Services {
    /// The services on `db`, configured by `config`.
    pub fn open(db: &Db, config: &Config) -> anyhow::Result<Services> {
        let account_store = accounts::store(db);
        let auth = Arc::new(Authenticator::new(account_store.clone(), config.rate_limit));
        let mut accounts = Accounts::new(account_store.clone(), auth);
        let keys = Arc::new(Keys::new(passport::store::open(db), config.master_key()?));
        accounts.observe(Arc::new(KeyOnOrgCreated(keys.clone())));
        let passport = PassportService::new(
            passport::store::open(db),
            account_store,
            keys,
            PassportConfig {
                base_url: config.public_base_url(),
                did_web_allowlist: config.did_web_allowlist.clone(),
            },
        );
        let stock = StockService::new(stock::store::open(db), config.disclosure_k);
        Ok(Services {
            accounts,
            passport,
            stock,
        })
    }
}

/// Opens the configured database and applies every migration.
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
    Ok(db)
}

/// The OpenAPI document of every route, without a database (for `reetrace openapi`).
pub fn openapi() -> OpenApi {
    let mut doc = apidoc::base();
    for part in [
        ops::router().into_openapi(),
        accounts::api::router().into_openapi(),
        passport::api::router(0).into_openapi(),
        feed::api::router().into_openapi(),
        stock::api::router().into_openapi(),
    ] {
        doc.merge(part);
    }
    apidoc::finish(doc)
}

/// Builds the application on the configured database (migrating it).
pub async fn build(config: &Config) -> anyhow::Result<App> {
    let db = open_database(config).await?;
    let metrics = Metrics::new();
    let services = Services::open(&db, config)?;

    let routes = OpenApiRouter::with_openapi(apidoc::base())
        .merge(ops::router().with_state(OpsState {
            db: db.clone(),
            metrics: metrics.clone(),
        }))
        .merge(accounts::api::router().with_state(AccountsState {
            accounts: services.accounts.clone(),
        }))
        .merge(
            passport::api::router(config.bulk_body_limit_bytes).with_state(PassportState {
                service: services.passport.clone(),
                auth: services.accounts.authenticator().clone(),
                bulk_body_limit: config.bulk_body_limit_bytes,
            }),
        );
    let mut feeds: HashMap<String, Arc<dyn FeedSource>> = HashMap::new();
    feeds.insert(
        passport::feed::STREAM.to_owned(),
        Arc::new(passport::feed::PassportFeed::new(
            services.passport.store().clone(),
        )),
    );
    // The stock service reads both feeds in process.
    services
        .stock
        .init()
        .await
        .map_err(|p| anyhow::anyhow!("{p}"))?;
    let stock_consumers = StockConsumers::new(
        services.stock.store().clone(),
        feeds[passport::feed::STREAM].clone(),
        Arc::new(reetrace_custody::feed::CustodyFeed::new(
            reetrace_custody::store::open(&db),
        )),
    );
    let routes = routes.merge(stock::api::router().with_state(StockState {
        service: services.stock.clone(),
        auth: services.accounts.authenticator().clone(),
    }));
    let routes = routes.merge(feed::api::router().with_state(FeedState {
        sources: Arc::new(feeds),
        auth: services.accounts.authenticator().clone(),
    }));
    let (api, doc) = routes.split_for_parts();
    let doc = apidoc::finish(doc);

    let router = api
        .merge(SwaggerUi::new("/docs").url("/openapi.json", doc))
        .route_layer(middleware::from_fn(metrics::mark_route))
        .fallback(problem::not_found_fallback)
        .layer(DefaultBodyLimit::max(config.body_limit_bytes))
        .layer(cors())
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(middleware::from_fn(problem::problem_layer))
        .layer(CatchPanicLayer::custom(problem::panic_response))
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
        stock_consumers,
    })
}

/// Browsers may call the API from any origin: authentication is by bearer key, never cookies.
fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::any())
        .allow_methods([
            Method::GET,
            Method::HEAD,
            Method::POST,
            Method::PUT,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            HeaderName::from_static("idempotency-key"),
        ])
        .expose_headers([
            HeaderName::from_static("x-request-id"),
            header::LINK,
            header::RETRY_AFTER,
            header::LOCATION,
        ])
        .max_age(Duration::from_secs(3600))
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

    pub fn stock_consumers(&self) -> &StockConsumers {
        &self.stock_consumers
    }

    /// Serves on `listener` until `shutdown` is cancelled, then lets in-flight requests finish.
    pub async fn run(
        self,
        listener: TcpListener,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        self.stock_consumers
            .spawn(stock_consumers::POLL_INTERVAL, shutdown.child_token());
        let service = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(listener, service)
            .with_graceful_shutdown(shutdown.clone().cancelled_owned())
            .await
            .context("serve HTTP")?;
        self.db.close().await;
        Ok(())
    }
}

/// Cancels `token` on SIGINT or SIGTERM.
pub fn cancel_on_signal(token: CancellationToken) {
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => tracing::info!("SIGINT received, shutting down"),
            _ = term => tracing::info!("SIGTERM received, shutting down"),
        }
        token.cancel();
    });
}
