//! `reetrace verify-log`: recomputes every chain link, every leaf and the tree of the custody
//! log from the stored events, and checks the latest signed checkpoint against it — either on
//! the database (`--database-url`) or from the outside through the API (`--url`), which is what
//! an auditor who trusts nothing but the log's key does.
//!
//! Each leaf covers the event's document and its other stored columns (`data`, `org_id`,
//! action, time...; leaves written before that cover the document only, and are counted as
//! `uncovered`). On the database it also replays the events and compares the custody every
//! product and lot row holds (`holder`, `state`, `pending_to`, a lot's masses) with what the
//! events leave it at ([`Replay`]).
//!
//! With `--state FILE` it also monitors the log between runs ([`crate::log_monitor`]): a
//! rollback or a fork of what it verified last time fails it.
//!
//! Events are read page by page in leaf order, so millions of them never sit in memory at once.
//! Exit status: 0 when everything holds, 1 when something broke (the report names it), 2 when
//! the log could not be read at all.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use base64::Engine as _;
use clap::Args;
use reetrace_core::checkpoint;
use reetrace_core::crypto::VerifyingKey;
use reetrace_core::db::{Db, PoolOptions};
use reetrace_core::merkle::NodeId;
use reetrace_custody::domain::event::{ChainLink, EventRow};
use reetrace_custody::domain::log_replay::Replay;
use reetrace_custody::domain::log_verifier::{LogVerifier, Records, VerificationReport};
use reetrace_custody::store;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::cli::print_out;
use crate::log_monitor::{self, MonitorReport, Proofs};

/// Arguments of `reetrace verify-log` (the database is the global `--database-url`).
#[derive(Debug, Clone, Args)]
pub struct VerifyLogArgs {
    /// Verify through the API of this instance (its public base URL) instead of the database.
    #[arg(long, value_name = "BASE_URL")]
    pub url: Option<String>,
    /// An API key of the instance (any role) for `--url`: the log's entries are not public.
    #[arg(long, value_name = "KEY")]
    pub api_key: Option<String>,
    /// The log's verifier key (`<name>+<key id>+<base64 key>`) to trust. Without it, the key
    /// the instance names (API) or stores (database) is used — and printed, to pin next time.
    #[arg(long, value_name = "VKEY")]
    pub verifier_key: Option<String>,
    /// Events read per page (the API serves at most 1000).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub page_size: u32,
    /// Monitor mode: keep the last verified checkpoint in this file, and fail when the log
    /// later shows a smaller tree, another origin or key, or a tree not consistent with it
    /// (RFC 9162 consistency proof). Written atomically, only when everything verified.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
}

/// What `verify-log` prints.
#[derive(Debug, Clone, Serialize)]
pub struct LogReport {
    /// `database` or the base URL verified through.
    pub source: String,
    /// The key the checkpoint was opened with: pin it with `--verifier-key`.
    pub verifier_key: Option<String>,
    #[serde(flatten)]
    pub report: VerificationReport,
    /// With `--state`: how the latest checkpoint relates to the one kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monitor: Option<MonitorReport>,
    /// The latest signed checkpoint note read, if any.
    #[serde(skip)]
    pub note: Option<String>,
}

/// Runs `reetrace verify-log` against `database_url` or, with `--url`, the API.
pub async fn run(args: VerifyLogArgs, database_url: Option<&str>) -> ExitCode {
    let state = args.state.as_deref();
    let result = match (&args.url, database_url) {
        (Some(url), _) => {
            monitor_remote(
                verify_remote(
                    url,
                    args.api_key.as_deref(),
                    args.verifier_key.as_deref(),
                    args.page_size,
                )
                .await,
                state,
            )
            .await
        }
        (None, Some(url)) => {
            verify_url(url, args.verifier_key.as_deref(), args.page_size, state).await
        }
        (None, None) => Err(anyhow::anyhow!("give --database-url URL or --url BASE_URL")),
    };
    let report = match result {
        Ok(report) => report,
        Err(err) => {
            let _ = writeln!(std::io::stderr(), "error: {err:#}");
            return ExitCode::from(2);
        }
    };
    let printed = serde_json::to_string_pretty(&report)
        .map_err(anyhow::Error::from)
        .and_then(|text| print_out(&text));
    if let Err(err) = printed {
        let _ = writeln!(std::io::stderr(), "error: {err:#}");
        return ExitCode::from(2);
    }
    if report.report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// With `--state`, compares what `verified` found with the kept checkpoint through the API.
async fn monitor_remote(
    verified: anyhow::Result<LogReport>,
    state: Option<&Path>,
) -> anyhow::Result<LogReport> {
    let mut report = verified?;
    if let Some(state) = state {
        let base = report.source.clone();
        log_monitor::watch(state, &mut report, Proofs::Api(&base)).await?;
    }
    Ok(report)
}

/// Connects to `url` without migrating (an audit changes nothing) and verifies; with `--state`,
/// compares the result with the kept checkpoint.
async fn verify_url(
    url: &str,
    pinned: Option<&str>,
    page: u32,
    state: Option<&Path>,
) -> anyhow::Result<LogReport> {
    if let Some(path) = url.strip_prefix("sqlite://")
        && !std::path::Path::new(path.split('?').next().unwrap_or(path)).exists()
    {
        bail!("no database at {url}");
    }
    let options = PoolOptions {
        max_connections: 2,
        ..PoolOptions::default()
    };
    let db = Db::connect(url, &options)
        .await
        .with_context(|| format!("open {}", reetrace_core::db::redact_url(url)))?;
    let mut report = verify_database(&db, pinned, page).await;
    if let (Ok(verified), Some(state)) = (&mut report, state)
        && let Err(err) = log_monitor::watch(state, verified, Proofs::Database(&db)).await
    {
        report = Err(err);
    }
    db.close().await;
    report
}

/// The verifier key to open `note` with: the pinned one, else the stored key that opens it.
fn choose_key(
    pinned: Option<&str>,
    keys: &[(String, Vec<u8>)],
    note: Option<&str>,
) -> anyhow::Result<Option<String>> {
    if let Some(pinned) = pinned {
        return Ok(Some(pinned.to_owned()));
    }
    let mut candidates = Vec::new();
    for (name, public) in keys {
        let bytes: [u8; 32] = public
            .as_slice()
            .try_into()
            .with_context(|| format!("the stored log key {name:?} is not 32 bytes"))?;
        let key = VerifyingKey::from_bytes(&bytes)
            .with_context(|| format!("the stored log key {name:?} is not an Ed25519 key"))?;
        candidates.push(checkpoint::verifier_key(name, &key)?);
    }
    let opens = |vkey: &&String| note.is_some_and(|n| checkpoint::open(n, vkey).is_ok());
    Ok(candidates
        .iter()
        .find(opens)
        .or(candidates.first())
        .cloned())
}

/// Verifies the custody log stored in `db`: chains, leaves, stored tree nodes, the log head,
/// the roots of every stored checkpoint and the signature of the latest.
pub async fn verify_database(
    db: &Db,
    pinned: Option<&str>,
    page: u32,
) -> anyhow::Result<LogReport> {
    let store = store::open(db);
    // What the log claims is read first: events appended meanwhile are checked as chains and
    // leaves, and the checkpoint covers a prefix of them.
    let latest = store.latest_checkpoint().await?;
    let checkpoints = store.checkpoint_roots().await?;
    let keys = store.log_public_keys().await?;
    let head = store.log_size().await?;
    let note = latest.as_ref().map(|cp| cp.note.as_str());
    let verifier_key = choose_key(pinned, &keys, note)?;

    let mut verifier = LogVerifier::new(checkpoints.iter().map(|(size, _)| *size)).keeping_nodes();
    let mut replay = Replay::new();
    let mut from = 0;
    loop {
        let events = store.events_from(from, page).await?;
        let (Some(first), Some(last)) = (events.first(), events.last()) else {
            break;
        };
        let links = store
            .links_between(first.leaf_index, last.leaf_index + 1)
            .await?;
        verifier.check_page(&events, &links);
        for event in &events {
            if let Err(problem) = replay.apply(event) {
                verifier.problem(problem);
            }
        }
        let recomputed = verifier.take_nodes();
        let ids: Vec<NodeId> = recomputed.iter().map(|(id, _)| *id).collect();
        let stored = store.nodes(&ids).await?;
        verifier.check_nodes(&recomputed, &stored);
        from = last.leaf_index + 1;
    }
    let head_after = store.log_size().await?;
    let verified = verifier.next_leaf();
    if verified < head {
        verifier.problem(format!(
            "the log head says {head} leaves, but events stop at leaf {}",
            verified - 1
        ));
    }
    if verified > head_after {
        verifier.problem(format!(
            "events are stored up to leaf {}, beyond the log head's {head_after} leaves",
            verified - 1
        ));
    }
    for (size, root) in &checkpoints {
        verifier.check_root(*size, root);
    }
    check_custody(store.as_ref(), &mut replay, &mut verifier, page).await?;
    let report = match (&verifier_key, note) {
        (Some(key), note) => verifier.finish(note, key),
        (None, None) => verifier.finish(None, ""),
        (None, Some(_)) => {
            verifier.problem("checkpoints are stored but no log key to open them".to_owned());
            verifier.finish(None, "")
        }
    };
    Ok(LogReport {
        source: "database".to_owned(),
        verifier_key,
        report,
        monitor: None,
        note: note.map(str::to_owned),
    })
}

/// Compares the custody every product and lot row holds with what replaying the events
/// yields (`custody_products`, `custody_lots`), page by page in id order.
async fn check_custody(
    store: &dyn store::CustodyStore,
    replay: &mut Replay,
    verifier: &mut LogVerifier,
    page: u32,
) -> anyhow::Result<()> {
    let mut after = None;
    loop {
        let rows = store.product_custody_after(after, page).await?;
        for row in &rows {
            for problem in replay.check_product(row) {
                verifier.problem(problem);
            }
        }
        match rows.last() {
            Some(last) => after = Some(last.id),
            None => break,
        }
    }
    let mut after = None;
    loop {
        let rows = store.lot_custody_after(after, page).await?;
        for row in &rows {
            for problem in replay.check_lot(row) {
                verifier.problem(problem);
            }
        }
        match rows.last() {
            Some(last) => after = Some(last.id),
            None => break,
        }
    }
    for problem in replay.unseen() {
        verifier.problem(problem);
    }
    Ok(())
}

/// A checkpoint as `GET /api/v1/log/checkpoint` answers it.
#[derive(Debug, Deserialize)]
struct CheckpointWire {
    note: String,
    verifier_key: String,
}

/// One entry of `GET /api/v1/log/entries`.
#[derive(Debug, Deserialize)]
struct EntryWire {
    leaf_index: i64,
    /// Absent, with `document`, when the entry is redacted for this key.
    #[serde(default)]
    event_id: Option<String>,
    #[serde(default)]
    document: Option<String>,
    #[serde(default)]
    links: Vec<LinkWire>,
    #[serde(default)]
    record: Option<String>,
    leaf_hash: String,
    #[serde(default)]
    redacted: bool,
}

#[derive(Debug, Deserialize)]
struct LinkWire {
    subject: String,
    seq: i64,
    link: String,
}

/// Turns an API entry into what the verifier reads (the event, its record digest, its links);
/// malformed parts become problems.
fn entry_rows(
    mut entry: EntryWire,
    problems: &mut Vec<String>,
) -> (EventRow, Option<[u8; 32]>, Vec<ChainLink>) {
    let event_id = entry.event_id.take().unwrap_or_else(|| {
        problems.push(format!(
            "leaf {}: an entry that is not redacted has no event id",
            entry.leaf_index
        ));
        String::new()
    });
    let document = entry.document.take().unwrap_or_default();
    let record = entry.record.as_deref().and_then(|text| {
        let digest = hex::decode(text)
            .ok()
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok());
        if digest.is_none() {
            problems.push(format!(
                "leaf {} ({}): the record digest is not 32 bytes of hex",
                entry.leaf_index, event_id
            ));
        }
        digest
    });
    let leaf_hash = base64::engine::general_purpose::STANDARD
        .decode(&entry.leaf_hash)
        .unwrap_or_else(|_| {
            problems.push(format!(
                "leaf {} ({}): the leaf hash is not base64",
                entry.leaf_index, event_id
            ));
            Vec::new()
        });
    let mut links = Vec::with_capacity(entry.links.len());
    for link in entry.links {
        match (Uuid::parse_str(&link.subject), hex::decode(&link.link)) {
            (Ok(subject_id), Ok(bytes)) => links.push(ChainLink {
                subject_id,
                seq: link.seq,
                leaf_index: entry.leaf_index,
                link: bytes,
            }),
            _ => problems.push(format!(
                "leaf {} ({}): a chain link of {:?} is malformed",
                entry.leaf_index, event_id, link.subject
            )),
        }
    }
    let event = EventRow {
        leaf_index: entry.leaf_index,
        event_id,
        event_hash: String::new(),
        event_type: String::new(),
        action: String::new(),
        biz_step: None,
        biz_location: None,
        org_id: Uuid::nil(),
        event_time: chrono::DateTime::UNIX_EPOCH,
        document,
        data: String::new(),
        leaf_hash,
        recorded_at: chrono::DateTime::UNIX_EPOCH,
        salt: None,
        // Like the hash above, not part of what the export proves (the record digest is).
        hash_version: 0,
    };
    (event, record, links)
}

/// Verifies the log of the instance at `base` through its API: the latest checkpoint (opened
/// with the pinned key, or the one the instance names) and every entry, page by page.
pub async fn verify_remote(
    base: &str,
    api_key: Option<&str>,
    pinned: Option<&str>,
    page: u32,
) -> anyhow::Result<LogReport> {
    let base = base.trim_end_matches('/');
    let parsed = url::Url::parse(base).with_context(|| format!("--url {base:?}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        bail!("--url takes an http(s) base URL, not {base:?}");
    }
    let client = http_client()?;

    let response = client
        .get(format!("{base}/api/v1/log/checkpoint"))
        .send()
        .await
        .with_context(|| format!("fetch {base}/api/v1/log/checkpoint"))?;
    let checkpoint: Option<CheckpointWire> = match response.status().as_u16() {
        200 => Some(response.json().await.context("read the checkpoint")?),
        404 => None,
        status => bail!("{base}/api/v1/log/checkpoint answered {status}"),
    };
    let mut problems = Vec::new();
    let verifier_key = match (pinned, &checkpoint) {
        (Some(pinned), Some(cp)) => {
            if cp.verifier_key != pinned {
                problems.push(format!(
                    "the instance names the log key {:?}, not the pinned one",
                    cp.verifier_key
                ));
            }
            Some(pinned.to_owned())
        }
        (Some(pinned), None) => Some(pinned.to_owned()),
        (None, cp) => cp.as_ref().map(|cp| cp.verifier_key.clone()),
    };
    let size = match (&checkpoint, &verifier_key) {
        (Some(cp), Some(key)) => checkpoint::open(&cp.note, key)
            .ok()
            .and_then(|c| i64::try_from(c.size).ok()),
        _ => None,
    };

    let mut verifier = LogVerifier::new(size);
    let mut from = 0i64;
    loop {
        let mut request = client.get(format!(
            "{base}/api/v1/log/entries?from={from}&limit={page}"
        ));
        if let Some(key) = api_key {
            request = request.bearer_auth(key);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("fetch the log entries from leaf {from}"))?;
        match response.status().as_u16() {
            200 => {}
            401 | 403 => bail!(
                "{base} refused the log entries ({}): give an API key of the instance with --api-key",
                response.status()
            ),
            status => bail!("{base}/api/v1/log/entries answered {status}"),
        }
        let entries: Vec<EntryWire> = response.json().await.context("read the log entries")?;
        let Some(last) = entries.last().map(|e| e.leaf_index) else {
            break;
        };
        if last < from {
            bail!("{base} answered entries before leaf {from} when asked from it");
        }
        // Runs of entries served in full are checked together; a redacted entry (an event this
        // key is not involved in) goes into the tree as its served leaf hash.
        let mut events = Vec::with_capacity(entries.len());
        let mut records = Vec::with_capacity(entries.len());
        let mut links = Vec::new();
        for entry in entries {
            if entry.redacted {
                verifier.check_events(&events, &links, Records::Served(&records));
                events.clear();
                records.clear();
                links.clear();
                let leaf = base64::engine::general_purpose::STANDARD
                    .decode(&entry.leaf_hash)
                    .unwrap_or_default();
                verifier.pass_redacted(entry.leaf_index, &leaf);
                continue;
            }
            let (event, record, own) = entry_rows(entry, &mut problems);
            events.push(event);
            records.push(record);
            links.extend(own);
        }
        verifier.check_events(&events, &links, Records::Served(&records));
        from = last + 1;
    }
    for problem in problems {
        verifier.problem(problem);
    }
    let note = checkpoint.as_ref().map(|cp| cp.note.as_str());
    let report = verifier.finish(note, verifier_key.as_deref().unwrap_or_default());
    Ok(LogReport {
        source: base.to_owned(),
        verifier_key,
        report,
        monitor: None,
        note: checkpoint.map(|cp| cp.note),
    })
}

/// The HTTP client `verify-log --url` reads the instance with.
pub(crate) fn http_client() -> anyhow::Result<reqwest::Client> {
    reetrace_passport::client::install_crypto_provider();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .user_agent(concat!("reetrace-verify-log/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("build the HTTP client")
}
