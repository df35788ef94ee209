//! Compare-and-set writes, retried: a use case reads, decides, and writes only if what it read
//! is still there; when another writer got there first, it reads and decides again.
//!
//! Which store errors mean "someone got there first" is the caller's to say, because writes
//! differ in what a duplicate means. Today's callers are the custody service's four
//! compare-and-set writes (its `settle` also names what kept changing when the attempts run
//! out). A stale read is a compare-and-set that matched nothing, a unique row taken meanwhile
//! (a chain link, a new lot), or a serialization failure of the backend.
//!
//! | write | retried on | other outcomes |
//! |---|---|---|
//! | a custody step (product or lot), a transformation | a stale read | a duplicate event id is a conflict (`duplicate_event`); a duplicate idempotency key replays the answer the other request stored (`concurrent_request` while it has stored none) |
//! | a recycled-content claim | a stale read, a duplicate claim id (the claim is re-read and answered as stored) | a duplicate event cannot happen (a claim appends no event; it would be an internal error) |
//! | an EPCIS capture | a stale read, a duplicate event id (idempotent capture decides again and reports the event as captured before) | a duplicate idempotency key cannot happen (captures keep no key; it would be an internal error) |

use std::future::Future;

/// How many times a use case decides again before it gives up (the API answers 503 with
/// `Retry-After`).
pub const ATTEMPTS: usize = 8;

/// What one attempt came to.
#[derive(Debug)]
pub enum Attempt<T, E> {
    /// Written (or decided without a write).
    Done(T),
    /// Another writer changed what this attempt read: read and decide again.
    Again,
    /// Failed for good.
    Failed(E),
}

/// Every attempt found its reads changed under it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("what this write read kept changing under concurrent writes ({attempts} attempts)")]
pub struct Contended {
    pub attempts: usize,
}

/// Runs `attempt` until it is done or failed, at most `attempts` times.
pub async fn until_settled<T, E, F, Fut>(attempts: usize, mut attempt: F) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Attempt<T, E>>,
    E: From<Contended>,
{
    for _ in 0..attempts {
        match attempt().await {
            Attempt::Done(value) => return Ok(value),
            Attempt::Failed(err) => return Err(err),
            Attempt::Again => {}
        }
    }
    Err(Contended { attempts }.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    enum Err {
        Busy(usize),
        Bad,
    }

    impl From<Contended> for Err {
        fn from(c: Contended) -> Self {
            Err::Busy(c.attempts)
        }
    }

    #[tokio::test]
    async fn retries_until_done() {
        let mut tries = 0;
        let got: Result<u32, Err> = until_settled(5, || {
            tries += 1;
            let t = tries;
            async move {
                if t < 3 {
                    Attempt::Again
                } else {
                    Attempt::Done(7)
                }
            }
        })
        .await;
        assert_eq!(got, Ok(7));
        assert_eq!(tries, 3);
    }

    #[tokio::test]
    async fn gives_up_after_the_last_attempt_and_stops_on_failure() {
        let got: Result<u32, Err> = until_settled(4, || async { Attempt::Again }).await;
        assert_eq!(got, Err(Err::Busy(4)));
        let got: Result<u32, Err> = until_settled(4, || async { Attempt::Failed(Err::Bad) }).await;
        assert_eq!(got, Err(Err::Bad));
    }
}
