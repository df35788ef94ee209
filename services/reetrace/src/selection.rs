//! Which services a process runs: all of them (the embedded default), or the ones named by
//! `reetrace serve --services` (the others are reached over HTTP).

use std::sync::Arc;

use anyhow::Context;
use reetrace_core::client::feed::HttpFeed;
use reetrace_core::service::feed::FeedSource;
use reetrace_custody::feed::{self as custody_feed, CustodyFeed};
use reetrace_custody::store::CustodyStore;
use reetrace_deposits::feed::{self as deposit_feed, DepositFeed};
use reetrace_deposits::store::DepositStore;
use reetrace_passport::feed::{self as passport_feed, PassportFeed};
use reetrace_passport::store::PassportStores;

use crate::config::Config;

/// Which services this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selection {
    pub passport: bool,
    pub custody: bool,
    pub stock: bool,
    pub deposits: bool,
}

impl Selection {
    /// Every service (the embedded default).
    pub const ALL: Selection = Selection {
        passport: true,
        custody: true,
        stock: true,
        deposits: true,
    };

    /// Parses `passport,custody,stock,deposits` (any subset, at least one).
    pub fn parse(list: &[String]) -> anyhow::Result<Selection> {
        let mut s = Selection {
            passport: false,
            custody: false,
            stock: false,
            deposits: false,
        };
        for name in list {
            match name.trim() {
                "passport" => s.passport = true,
                "custody" => s.custody = true,
                "stock" => s.stock = true,
                "deposits" => s.deposits = true,
                other => anyhow::bail!(
                    "unknown service {other:?}: the services are passport, custody, stock and \
                     deposits"
                ),
            }
        }
        if !(s.passport || s.custody || s.stock || s.deposits) {
            anyhow::bail!("name at least one service: passport, custody, stock or deposits");
        }
        Ok(s)
    }
}

/// The base URL and service key to reach a service running elsewhere.
pub(crate) fn remote<'a>(
    config: &'a Config,
    url: &'a Option<String>,
    name: &str,
) -> anyhow::Result<(&'a str, &'a str)> {
    let url = url.as_deref().with_context(|| {
        format!(
            "the {name} service is not run here: set REETRACE_{}_URL to where it runs",
            name.to_uppercase()
        )
    })?;
    let key = config.service_key.as_ref().map(|k| k.expose()).context(
        "services in other processes are reached with a service key: set REETRACE_SERVICE_KEY",
    )?;
    Ok((url, key))
}

/// The feeds the consumers of this process read: in process where the producing service runs
/// here, over HTTP where it runs elsewhere and a consumer of it runs here.
pub(crate) struct Feeds {
    pub passport: Arc<dyn FeedSource>,
    pub custody: Arc<dyn FeedSource>,
    pub deposits: Arc<dyn FeedSource>,
}

impl Feeds {
    pub(crate) fn of(
        config: &Config,
        selection: Selection,
        http: &reqwest::Client,
        stores: (
            Arc<dyn PassportStores>,
            Arc<dyn CustodyStore>,
            Arc<dyn DepositStore>,
        ),
    ) -> anyhow::Result<Feeds> {
        let (passport_store, custody_store, deposit_store) = stores;
        let over_http = |url: &Option<String>, name: &str, stream: &str| {
            let (url, key) = remote(config, url, name)?;
            anyhow::Ok(
                Arc::new(HttpFeed::new(http.clone(), url, stream, key)) as Arc<dyn FeedSource>
            )
        };
        let passport: Arc<dyn FeedSource> =
            if selection.passport || !(selection.custody || selection.stock) {
                Arc::new(PassportFeed::new(passport_store))
            } else {
                over_http(&config.passport_url, "passport", passport_feed::STREAM)?
            };
        let custody: Arc<dyn FeedSource> = if selection.custody || !selection.stock {
            Arc::new(CustodyFeed::new(custody_store))
        } else {
            over_http(&config.custody_url, "custody", custody_feed::STREAM)?
        };
        let deposits: Arc<dyn FeedSource> = if selection.deposits || !selection.stock {
            Arc::new(DepositFeed::new(deposit_store))
        } else {
            over_http(&config.deposits_url, "deposits", deposit_feed::STREAM)?
        };
        Ok(Feeds {
            passport,
            custody,
            deposits,
        })
    }
}
