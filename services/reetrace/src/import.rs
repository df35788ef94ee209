//! `reetrace import FILE --org ID`: bulk registration from NDJSON or CSV, straight into the
//! database through the passport service's bulk path (the one `POST /api/v1/passports/bulk`
//! takes), one transaction per batch.
//!
//! The file is streamed by a reader thread, and two batches are in the bulk path at a time (one
//! signing while the other is stored), with one more read ahead: memory does not grow with the
//! file. Batches are counted in file order. Invalid lines are reported with their
//! line number and never stop valid ones. Exit codes: 0 when every registration was created, 1
//! when some failed, 2 on a usage or I/O error (nothing more is read after one, and the batches
//! already sent are finished and counted).

mod csv;

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use reetrace_core::api::extract::parse_json;
use reetrace_core::api::problem::Problem;
use reetrace_core::domain::idempotency::{Answer, Idempotency};
use reetrace_core::domain::{Principal, Role};
use reetrace_passport::api::passports::{BulkOutcome, register_bulk};
use reetrace_passport::domain::registration::Registration;
use serde::Serialize;
use uuid::Uuid;

use crate::app::{self, Services};
use crate::config::Config;

/// The longest line (or CSV record) read, in bytes; a longer one is reported and skipped.
pub const MAX_LINE_BYTES: usize = 1 << 20;
/// The most line errors the summary lists; the rest are counted.
pub const MAX_REPORTED_ERRORS: usize = 1000;
/// How often a batch is sent again after a transient write conflict (about 6 s in all).
const RETRIES: u32 = 6;
/// Batches in the bulk path at once: one signing while the other is stored.
const IN_FLIGHT: usize = 2;

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The file: NDJSON (one registration request per line; .ndjson, .jsonl) or CSV (.csv;
    /// columns as in the README).
    pub file: PathBuf,
    /// The manufacturer whose active key signs the passports.
    #[arg(long, value_name = "ID")]
    pub org: Uuid,
    /// The file's format, when its extension does not say.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Registrations per transaction.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub batch: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Ndjson,
    Csv,
}

impl Format {
    fn of(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "ndjson" | "jsonl" => Some(Format::Ndjson),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }
}

/// One failed line.
#[derive(Debug, Serialize)]
pub struct LineError {
    /// 1-based line of the file (for CSV, the line the record starts on).
    pub line: u64,
    pub problem: Problem,
}

/// What the import printed at the end.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub created: u64,
    pub failed: u64,
    /// The first failed lines, in file order.
    pub errors: Vec<LineError>,
    /// Failed lines beyond those listed.
    #[serde(skip_serializing_if = "is_zero")]
    pub errors_not_listed: u64,
    /// Why the import stopped early (an I/O or database error); lines after it were not read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aborted: Option<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Summary {
    /// Counts a batch's outcome; `lines` maps its 1-based positions to file lines.
    fn count(&mut self, lines: Vec<u64>, outcome: BulkOutcome) {
        for result in outcome.results {
            if result.status == 201 {
                self.created += 1;
                continue;
            }
            let line = lines.get(result.line - 1).copied().unwrap_or(0);
            self.fail(line, result.problem.unwrap_or_else(Problem::internal));
        }
    }

    fn fail(&mut self, line: u64, problem: Problem) {
        self.failed += 1;
        if self.errors.len() < MAX_REPORTED_ERRORS {
            self.errors.push(LineError { line, problem });
        } else {
            self.errors_not_listed += 1;
        }
    }
}

/// A usage or I/O error: exit code 2.
#[derive(Debug)]
struct Fatal(String);

impl<E: std::fmt::Display> From<E> for Fatal {
    fn from(e: E) -> Self {
        Fatal(e.to_string())
    }
}

/// Runs the import; prints the summary on standard output and returns the exit code.
pub async fn run(config: &Config, args: ImportArgs) -> ExitCode {
    let mut summary = Summary::default();
    let result = import(config, &args, &mut summary).await;
    let code = match result {
        Ok(()) if summary.failed == 0 => ExitCode::SUCCESS,
        Ok(()) => ExitCode::from(1),
        Err(Fatal(message)) => {
            let _ = writeln!(std::io::stderr(), "error: {message}");
            summary.aborted = Some(message);
            ExitCode::from(2)
        }
    };
    let text = serde_json::to_string_pretty(&summary).unwrap_or_default();
    if crate::cli::print_out(&text).is_err() {
        return ExitCode::from(2);
    }
    code
}

/// A line of the file, read but not yet registered.
struct Pending {
    line: u64,
    registration: Result<Registration, Problem>,
}

async fn import(config: &Config, args: &ImportArgs, summary: &mut Summary) -> Result<(), Fatal> {
    let format = match args.format.or_else(|| Format::of(&args.file)) {
        Some(format) => format,
        None => {
            return Err(Fatal(format!(
                "cannot tell the format of {} from its extension (.ndjson, .jsonl or .csv): pass --format ndjson|csv",
                args.file.display()
            )));
        }
    };
    let file =
        File::open(&args.file).map_err(|e| Fatal(format!("open {}: {e}", args.file.display())))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let reader = Reader::new(BufReader::with_capacity(1 << 20, file), format)?;

    let db = app::open_database(config).await?;
    let services = Services::open(&db, config).await?;
    let caller = manufacturer(&services, args.org).await?;

    let bar = ProgressBar::with_draw_target(Some(size), ProgressDrawTarget::stderr()).with_style(
        ProgressStyle::with_template(
            "[{bar:40}] {bytes}/{total_bytes} {msg} ({elapsed}, {eta} left)",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let mut batches = read_batches(reader, args.batch as usize);
    let mut in_flight = futures::stream::FuturesOrdered::new();
    let (mut input_done, mut fatal) = (false, None);
    loop {
        tokio::select! {
            next = batches.recv(), if !input_done && fatal.is_none() && in_flight.len() < IN_FLIGHT => {
                match next {
                    Some(Ok(batch)) => in_flight.push_back(register(&services, &caller, batch)),
                    Some(Err(e)) => fatal = Some(e),
                    None => input_done = true,
                }
            }
            Some(done) = futures::StreamExt::next(&mut in_flight), if !in_flight.is_empty() => {
                match done {
                    Ok(done) => {
                        summary.count(done.lines, done.outcome);
                        bar.set_position(done.consumed);
                        bar.set_message(format!(
                            "{} created, {} failed",
                            summary.created, summary.failed
                        ));
                    }
                    // Later batches still in flight are finished and counted first.
                    Err(e) => {
                        fatal.get_or_insert(e);
                    }
                }
            }
            else => break,
        }
    }
    bar.finish_and_clear();
    db.close().await;
    fatal.map_or(Ok(()), Err)
}

/// A batch of lines, and how far into the file it ends.
struct Batch {
    lines: Vec<Pending>,
    consumed: u64,
}

/// Reads the file on a thread of its own, in batches of `size` lines; one batch waits at most.
fn read_batches<R: BufRead + Send + 'static>(
    mut reader: Reader<R>,
    size: usize,
) -> tokio::sync::mpsc::Receiver<Result<Batch, Fatal>> {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tokio::task::spawn_blocking(move || {
        let mut lines = Vec::with_capacity(size);
        loop {
            let next = match reader.next() {
                Ok(next) => next,
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    return;
                }
            };
            let done = next.is_none();
            lines.extend(next);
            if lines.len() == size || (done && !lines.is_empty()) {
                let batch = Batch {
                    lines: std::mem::replace(&mut lines, Vec::with_capacity(size)),
                    consumed: reader.consumed,
                };
                // The importer stopped (a fatal error): read no further.
                if tx.blocking_send(Ok(batch)).is_err() {
                    return;
                }
            }
            if done {
                return;
            }
        }
    });
    rx
}

/// The principal the import acts as: the manufacturer itself.
async fn manufacturer(services: &Services, org: Uuid) -> Result<Principal, Fatal> {
    let org = services
        .accounts
        .org(org)
        .await
        .map_err(|e| Fatal(e.to_string()))?;
    if org.role != Role::Manufacturer {
        return Err(Fatal(format!(
            "organisation {} is a {}; only manufacturers register passports",
            org.id, org.role
        )));
    }
    Ok(Principal {
        org_id: org.id,
        org_name: org.name,
        role: org.role,
        // No API key is involved: the import runs with direct access to the database.
        key_id: Uuid::nil(),
    })
}

/// A batch through the bulk path: its lines' numbers and outcomes.
struct Registered {
    lines: Vec<u64>,
    outcome: BulkOutcome,
    consumed: u64,
}

/// Registers one batch through the bulk path.
async fn register(
    services: &Services,
    caller: &Principal,
    batch: Batch,
) -> Result<Registered, Fatal> {
    let (lines, registrations): (Vec<u64>, Vec<_>) = batch
        .lines
        .into_iter()
        .map(|p| (p.line, p.registration))
        .unzip();
    let idem = Idempotency {
        key: None,
        fingerprint: [0; 32],
    };
    let mut attempt = 0;
    let answer = loop {
        // A failed batch stored nothing, so it may be sent again as it was.
        let result = register_bulk(
            &services.passport,
            caller,
            registrations.clone(),
            false,
            &idem,
        )
        .await;
        match result {
            Ok(answer) => break answer,
            // Another process wrote at the same time (SQLite busy, PostgreSQL serialisation).
            Err(p) if p.status == 503 && attempt < RETRIES => {
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
            }
            Err(p) => {
                return Err(Fatal(format!(
                    "the batch from line {} was refused: {}",
                    lines.first().copied().unwrap_or(0),
                    p.detail.unwrap_or(p.title)
                )));
            }
        }
    };
    let Answer::Fresh((_, outcome)) = answer else {
        return Err(Fatal("an idempotent replay without a key".into()));
    };
    Ok(Registered {
        lines,
        outcome,
        consumed: batch.consumed,
    })
}

/// Reads registrations one by one from NDJSON or CSV.
struct Reader<R> {
    input: R,
    csv: Option<csv::Layout>,
    buf: Vec<u8>,
    /// The next physical line's number.
    line: u64,
    /// Bytes read so far (for the progress bar).
    consumed: u64,
}

impl<R: BufRead> Reader<R> {
    fn new(mut input: R, format: Format) -> Result<Self, Fatal> {
        let mut buf = Vec::new();
        let (mut line, mut consumed, mut layout) = (1, 0, None);
        if format == Format::Csv {
            let Some(header) = csv::read_record(&mut input, &mut buf, MAX_LINE_BYTES)? else {
                return Err(Fatal("the CSV file is empty: it needs a header row".into()));
            };
            line += header.lines;
            consumed += header.bytes;
            let fields = header
                .fields
                .map_err(|p| Fatal(format!("the CSV header: {}", p.detail.unwrap_or(p.title))))?;
            layout = Some(csv::Layout::from_header(&fields).map_err(Fatal)?);
        }
        Ok(Reader {
            input,
            csv: layout,
            buf,
            line,
            consumed,
        })
    }

    /// The next registration, `None` at the end of the file.
    fn next(&mut self) -> Result<Option<Pending>, Fatal> {
        match &self.csv {
            Some(layout) => {
                let Some(record) =
                    csv::read_record(&mut self.input, &mut self.buf, MAX_LINE_BYTES)?
                else {
                    return Ok(None);
                };
                let line = self.line;
                self.line += record.lines;
                self.consumed += record.bytes;
                let registration = record
                    .fields
                    .and_then(|fields| layout.registration(&fields));
                Ok(Some(Pending { line, registration }))
            }
            None => loop {
                let Some(read) = read_line(&mut self.input, &mut self.buf, MAX_LINE_BYTES)? else {
                    return Ok(None);
                };
                let line = self.line;
                self.line += 1;
                self.consumed += read.bytes;
                if read.too_long {
                    return Ok(Some(Pending {
                        line,
                        registration: Err(too_long()),
                    }));
                }
                let text = self.buf.strip_suffix(b"\r").unwrap_or(&self.buf);
                if text.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                return Ok(Some(Pending {
                    line,
                    registration: parse_json(text),
                }));
            },
        }
    }
}

pub(crate) fn too_long() -> Problem {
    Problem::bad_request(
        crate::codes::LINE_TOO_LONG,
        format!("The line is longer than {MAX_LINE_BYTES} bytes."),
    )
}

/// What one [`read_line`] consumed.
struct LineRead {
    bytes: u64,
    too_long: bool,
}

/// Reads one line without its newline into `buf`; a line over `max` bytes is skipped to its
/// end and reported as too long, so one huge line never fills memory.
fn read_line(
    input: &mut impl BufRead,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Option<LineRead>> {
    buf.clear();
    let n = std::io::Read::take(&mut *input, max as u64 + 1).read_until(b'\n', buf)?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
        return Ok(Some(LineRead {
            bytes: n as u64,
            too_long: false,
        }));
    }
    if buf.len() <= max {
        // The last line, without a newline.
        return Ok(Some(LineRead {
            bytes: n as u64,
            too_long: false,
        }));
    }
    let skipped = input.skip_until(b'\n')?;
    buf.clear();
    Ok(Some(LineRead {
        bytes: (n + skipped) as u64,
        too_long: true,
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_read_without_their_end_and_long_ones_skipped() {
        let text = b"ab\r\n\nabcdefgh\nxyz";
        let mut input = &text[..];
        let mut buf = Vec::new();
        let mut got = Vec::new();
        while let Some(read) = read_line(&mut input, &mut buf, 4).unwrap() {
            got.push((String::from_utf8(buf.clone()).unwrap(), read.too_long));
        }
        assert_eq!(
            got,
            vec![
                ("ab\r".to_owned(), false),
                (String::new(), false),
                (String::new(), true),
                ("xyz".to_owned(), false),
            ]
        );
    }

    #[test]
    fn the_format_comes_from_the_extension() {
        assert_eq!(Format::of(Path::new("a.NDJSON")), Some(Format::Ndjson));
        assert_eq!(Format::of(Path::new("a.jsonl")), Some(Format::Ndjson));
        assert_eq!(Format::of(Path::new("dir/a.csv")), Some(Format::Csv));
        assert_eq!(Format::of(Path::new("a.json")), None);
        assert_eq!(Format::of(Path::new("a")), None);
    }
}
