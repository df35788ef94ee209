//! Reading another process's feed over HTTP (`GET /api/v1/feeds/{stream}`), with a service key.

use async_trait::async_trait;

use crate::domain::feed::{CloudEvent, FeedPage};
use crate::service::feed::{FeedError, FeedSource};

/// A feed of a service running elsewhere.
pub struct HttpFeed {
    client: reqwest::Client,
    base_url: String,
    stream: String,
    key: String,
}

impl std::fmt::Debug for HttpFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpFeed")
            .field("base_url", &self.base_url)
            .field("stream", &self.stream)
            .finish_non_exhaustive()
    }
}

impl HttpFeed {
    /// The `stream` feed of the service at `base_url`, read with the service key `key`.
    pub fn new(client: reqwest::Client, base_url: &str, stream: &str, key: &str) -> Self {
        Self {
            client,
            base_url: base_url.trim_end_matches('/').to_owned(),
            stream: stream.to_owned(),
            key: key.to_owned(),
        }
    }
}

#[async_trait]
impl FeedSource for HttpFeed {
    fn stream(&self) -> &str {
        &self.stream
    }

    async fn read(&self, after: i64, limit: u32) -> Result<Vec<CloudEvent>, FeedError> {
        let url = format!(
            "{}/api/v1/feeds/{}?after={after}&limit={limit}",
            self.base_url, self.stream
        );
        let response = self
            .client
            .get(&url)
            .bearer_auth(&self.key)
            .send()
            .await
            .map_err(|e| FeedError::Unavailable(format!("{url}: {e}")))?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            return Err(FeedError::Unavailable(format!(
                "{url} answered {status}: {body}"
            )));
        }
        let page: FeedPage = response
            .json()
            .await
            .map_err(|e| FeedError::Malformed(format!("{url}: {e}")))?;
        Ok(page.events)
    }
}
