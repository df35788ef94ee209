//! Reading the registrations of a bulk request off the async runtime: lines are handed over
//! as they arrive, in batches, to parsing tasks (one per core, up to four), so that a large
//! request's parsing neither holds an async worker nor runs on one core only. The answers come
//! back in request order, each line's problem kept on its own.

use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, PoisonError};

use reetrace_core::api::extract::parse_json;
use reetrace_core::api::problem::Problem;
use tokio::task::JoinHandle;

use crate::domain::registration::Registration;

/// A batch is handed over once it holds this many lines...
const BATCH_LINES: usize = 256;
/// ... or this many bytes.
const BATCH_BYTES: usize = 512 * 1024;

type Parsed = Vec<Result<Registration, Problem>>;
type Batch = (usize, Vec<Vec<u8>>);

/// Registrations parsed on tasks of their own as their lines are pushed.
pub(super) struct Parser {
    batches: Sender<Batch>,
    tasks: Vec<JoinHandle<Vec<(usize, Parsed)>>>,
    batch: Vec<Vec<u8>>,
    bytes: usize,
    sent: usize,
    lines: usize,
}

impl Parser {
    pub(super) fn start() -> Self {
        let (batches, receiver) = channel::<Batch>();
        let receiver = Arc::new(Mutex::new(receiver));
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(4);
        let tasks = (0..threads)
            .map(|_| {
                let receiver = receiver.clone();
                tokio::task::spawn_blocking(move || parse_batches(&receiver))
            })
            .collect();
        Self {
            batches,
            tasks,
            batch: Vec::new(),
            bytes: 0,
            sent: 0,
            lines: 0,
        }
    }

    /// How many lines were pushed.
    pub(super) fn lines(&self) -> usize {
        self.lines
    }

    /// Hands one registration's JSON over.
    pub(super) fn push(&mut self, line: &[u8]) {
        self.lines += 1;
        self.bytes += line.len();
        self.batch.push(line.to_vec());
        if self.batch.len() >= BATCH_LINES || self.bytes >= BATCH_BYTES {
            self.hand_over();
        }
    }

    fn hand_over(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.batch);
        self.bytes = 0;
        // The tasks stop only once this sender is gone, so a send does not fail; were it to,
        // `finish` finds the batch missing and says so.
        let _ = self.batches.send((self.sent, batch));
        self.sent += 1;
    }

    /// Every pushed line's registration or problem, in the order pushed.
    pub(super) async fn finish(mut self) -> Result<Parsed, Problem> {
        self.hand_over();
        let Self {
            batches,
            tasks,
            sent,
            lines,
            ..
        } = self;
        drop(batches);
        let mut parts = Vec::with_capacity(sent);
        for task in tasks {
            parts.extend(task.await.map_err(|e| {
                tracing::error!("a parsing task failed: {e}");
                Problem::internal()
            })?);
        }
        parts.sort_unstable_by_key(|(index, _)| *index);
        let out: Parsed = parts.into_iter().flat_map(|(_, parsed)| parsed).collect();
        if out.len() != lines {
            tracing::error!(
                "{} of {lines} registrations came back from parsing",
                out.len()
            );
            return Err(Problem::internal());
        }
        Ok(out)
    }
}

/// One parsing task: batches until the sender is gone.
fn parse_batches(receiver: &Mutex<Receiver<Batch>>) -> Vec<(usize, Parsed)> {
    let mut out = Vec::new();
    loop {
        let next = receiver
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .recv();
        let Ok((index, lines)) = next else {
            return out;
        };
        let parsed = lines
            .iter()
            .map(|line| parse_json::<Registration>(line))
            .collect();
        out.push((index, parsed));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn line(n: usize) -> String {
        // Long enough that some batches close on bytes, not lines.
        let name = "x".repeat(n % 7 * 1000);
        format!(
            r#"{{"granularity":"item","product":{{"gtin":"04012345000016","serial":"S-{n}","name":"M {name}","category":"hard_disk_drive","net_mass_g":600,"placed_on_market":{{"date":"2026-04-15","country":"FR"}}}},"ree_content":{{"components":[]}}}}"#
        )
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn lines_come_back_in_order_with_their_own_problems() {
        let mut parser = Parser::start();
        let broken = [3, 256, 257, 900, 1499];
        for n in 0..1500 {
            if broken.contains(&n) {
                parser.push(b"{\"granularity\": ");
            } else {
                parser.push(line(n).as_bytes());
            }
        }
        assert_eq!(parser.lines(), 1500);
        let parsed = parser.finish().await.unwrap();
        assert_eq!(parsed.len(), 1500);
        for (n, result) in parsed.iter().enumerate() {
            match result {
                Ok(registration) => {
                    assert!(!broken.contains(&n));
                    let serial = registration.product.serial.as_ref().unwrap();
                    assert_eq!(serial.as_str(), format!("S-{n}"));
                }
                Err(problem) => {
                    assert!(broken.contains(&n), "line {n}: {problem:?}");
                    assert_eq!(problem.status, 400);
                }
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn nothing_pushed_is_nothing_parsed() {
        assert!(Parser::start().finish().await.unwrap().is_empty());
    }
}
