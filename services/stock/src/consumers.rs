//! The stock service's feed consumers, ready to run in the composing process.

use std::sync::Arc;
use std::time::Duration;

use reetrace_core::service::feed::{Consumer, FeedError, FeedSource};
use reetrace_core::store::lease::Leases;
use tokio_util::sync::CancellationToken;

use crate::feed::{CustodyProjection, PassportProjection};
use crate::store::StockStore;

/// How often the consumers look for new events when nothing wakes them.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// The passport and custody consumers of the stock projections.
#[derive(Debug, Clone)]
pub struct StockConsumers {
    consumers: Vec<Arc<Consumer>>,
}

impl StockConsumers {
    /// Consumers of `passport` and `custody` into `store`'s projections.
    pub fn new(
        store: Arc<dyn StockStore>,
        passport: Arc<dyn FeedSource>,
        custody: Arc<dyn FeedSource>,
        leases: Option<Arc<Leases>>,
    ) -> Self {
        let lease = |consumer: Consumer, name: &str| match &leases {
            Some(leases) => consumer.with_lease(leases.clone(), name),
            None => consumer,
        };
        let consumers = vec![
            Arc::new(lease(
                Consumer::new(passport, Arc::new(PassportProjection::new(store.clone()))),
                "stock.passports",
            )),
            Arc::new(lease(
                Consumer::new(custody, Arc::new(CustodyProjection::new(store))),
                "stock.custody",
            )),
        ];
        Self { consumers }
    }

    /// Runs every consumer until `cancel` is cancelled.
    pub fn spawn(
        &self,
        interval: Duration,
        cancel: CancellationToken,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        self.consumers
            .iter()
            .map(|consumer| tokio::spawn(consumer.clone().run(None, interval, cancel.clone())))
            .collect()
    }

    /// Catches every consumer up once; returns how many events were applied.
    pub async fn catch_up(&self) -> Result<usize, FeedError> {
        let mut applied = 0;
        for consumer in &self.consumers {
            applied += consumer.catch_up().await?;
        }
        Ok(applied)
    }
}
