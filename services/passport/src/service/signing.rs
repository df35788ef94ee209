//! Building and signing passport credentials: status list indexes for each, then subject,
//! envelope, JCS, SHA-256 and Ed25519, in parallel off the async runtime.

use chrono::{DateTime, Utc};
use reetrace_core::domain::account::Org;
use reetrace_core::domain::issuing::StatusRef;
use reetrace_core::service::issuing::IssuerKey;
use serde_json::Value;
use uuid::Uuid;

use super::PassportService;
use super::error::{PassportError, Result};
use crate::domain::credential::Envelope;
use crate::domain::passport::{CredentialFormat, NewPassport};
use crate::domain::placement::{self, Placement};
use crate::domain::registration::Registration;
use crate::domain::subject::{self, ComponentDetails};
use crate::domain::untp::{self, Issuer, PassportContext};
use crate::store::{SignedChunk, SignedRows};

/// A registration ready to sign: validated, with its identity fixed.
pub(crate) struct Prepared {
    pub registration: Registration,
    pub id: Uuid,
    pub version: u32,
    pub subject_id: String,
    pub model_uri: Option<String>,
    pub previous_version: Option<String>,
}

/// A signed passport version, and the stored row it becomes.
pub(crate) struct Signed {
    pub row: NewPassport,
    pub credential: Value,
}

impl PassportService {
    /// Allocates one index in each status list purpose (revocation, suspension, message) for
    /// each of `count` credentials.
    pub async fn allocate_status(&self, org_id: Uuid, count: usize) -> Result<Vec<[StatusRef; 3]>> {
        Ok(self.issuing.allocate_each_purpose(org_id, count).await?)
    }

    /// Builds and signs new passports of `org` exactly as the bulk path does before its
    /// transaction (subject, envelope, JCS, SHA-256, Ed25519, in parallel off the async
    /// runtime), with status indexes from [`Self::allocate_status`], without storing them.
    /// Model passport links are not resolved (the subject names none). The benchmark
    /// measures the signing stage with it, apart from the database.
    pub async fn sign_new(
        &self,
        org: &Org,
        registrations: Vec<Registration>,
        status: Vec<[StatusRef; 3]>,
    ) -> Result<Vec<NewPassport>> {
        let prepared = registrations
            .into_iter()
            .map(|registration| {
                let id = Uuid::now_v7();
                Prepared {
                    subject_id: self.registration_uri(id, &registration),
                    model_uri: None,
                    registration,
                    id,
                    version: 1,
                    previous_version: None,
                }
            })
            .collect();
        let key = self.issuing.issuer_key(org.id).await?;
        self.sign_rows(org, key, prepared, status).await
    }

    /// Builds and signs credentials for `prepared`, in parallel off the async runtime.
    pub(crate) async fn sign_all(
        &self,
        org: &Org,
        key: IssuerKey,
        prepared: Vec<Prepared>,
        status: Vec<[StatusRef; 3]>,
    ) -> Result<Vec<Signed>> {
        let rows = self.sign_rows(org, key, prepared, status).await?;
        rows.into_iter()
            .map(|row| {
                let credential = serde_json::from_str(&row.credential).map_err(undecodable)?;
                Ok(Signed { row, credential })
            })
            .collect()
    }

    /// Builds and signs credentials for `prepared`: the rows to store, in order.
    pub(crate) async fn sign_rows(
        &self,
        org: &Org,
        key: IssuerKey,
        prepared: Vec<Prepared>,
        status: Vec<[StatusRef; 3]>,
    ) -> Result<Vec<NewPassport>> {
        let (mut chunks, signing) = self.sign_stream(org, key, prepared, status);
        let mut rows = Vec::new();
        while let Some(chunk) = chunks.recv().await {
            if let SignedChunk::Rows(chunk) = chunk {
                rows.extend(chunk);
            }
        }
        signing
            .await
            .map_err(|e| PassportError::internal(format_args!("signing task failed: {e}")))??;
        Ok(rows)
    }

    /// Builds and signs credentials for `prepared` on every core, off the async runtime, and
    /// hands them over in request order, [`SIGN_CHUNK`] at a time, then [`SignedChunk::Done`]:
    /// a bulk registration stores each chunk while the next ones are signed. The task ends
    /// with the first signing error (no `Done` is sent), or quietly when the receiver is gone.
    pub(crate) fn sign_stream(
        &self,
        org: &Org,
        key: IssuerKey,
        prepared: Vec<Prepared>,
        status: Vec<[StatusRef; 3]>,
    ) -> (SignedRows, tokio::task::JoinHandle<Result<()>>) {
        let (out, rows) = tokio::sync::mpsc::channel(4);
        let base_url = self.config.base_url.clone();
        let issuer = Issuer {
            id: key.issuer().to_owned(),
            org_id: org.id,
            name: org.name.clone(),
            operator_id: org.operator_id.clone(),
        };
        let now = reetrace_core::domain::account::now();
        let job = move || {
            let threads = std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .min(8);
            // Chunk `i` goes to thread `i % threads`, so reading the threads in turn gives the
            // chunks in order. Each thread owns its chunks and drops each registration once it
            // is signed, and the store frees each chunk once stored: a bulk request never holds
            // all its registrations and all its rows at once.
            let mut parts: Vec<Vec<Chunk>> = (0..threads).map(|_| Vec::new()).collect();
            let mut pairs = prepared.into_iter().zip(status).peekable();
            let mut count = 0;
            while pairs.peek().is_some() {
                parts[count % threads].push(pairs.by_ref().take(SIGN_CHUNK).collect());
                count += 1;
            }
            let signer = Signer {
                base_url: &base_url,
                contexts: untp::contexts(&base_url),
                placement_contexts: placement::contexts(&base_url),
                issuer: &issuer,
                key: &key,
                now,
            };
            std::thread::scope(|scope| {
                let signer = &signer;
                let signed: Vec<_> = parts
                    .into_iter()
                    .map(|part| {
                        let (done, signed) = std::sync::mpsc::sync_channel(1);
                        scope.spawn(move || {
                            for chunk in part {
                                let rows = chunk
                                    .into_iter()
                                    .map(|(p, s)| signer.sign(&p, &s))
                                    .collect::<Result<Vec<_>>>();
                                let failed = rows.is_err();
                                // A closed channel: the reader stopped; so do we.
                                if done.send(rows).is_err() || failed {
                                    return;
                                }
                            }
                        });
                        signed
                    })
                    .collect();
                for i in 0..count {
                    let rows = signed[i % threads]
                        .recv()
                        .map_err(|_| PassportError::internal("a signing thread panicked"))??;
                    if out.blocking_send(SignedChunk::Rows(rows)).is_err() {
                        return Ok(());
                    }
                }
                // The store may already have given up; its error is the one to report.
                let _ = out.blocking_send(SignedChunk::Done);
                Ok(())
            })
        };
        (rows, tokio::task::spawn_blocking(job))
    }
}

/// How many credentials a signing thread hands over at a time.
const SIGN_CHUNK: usize = 500;

/// Registrations to sign together, each with its status entries.
type Chunk = Vec<(Prepared, [StatusRef; 3])>;

fn undecodable(err: serde_json::Error) -> PassportError {
    PassportError::internal(format_args!("a credential does not serialise: {err}"))
}

/// Builds and signs one credential.
struct Signer<'a> {
    base_url: &'a str,
    /// The `@context` of every credential and declaration this signer writes.
    contexts: [String; 3],
    placement_contexts: [String; 2],
    issuer: &'a Issuer,
    key: &'a IssuerKey,
    now: DateTime<Utc>,
}

/// What signing one version produced, before it becomes a row.
struct Secured {
    credential_id: Uuid,
    credential: String,
    credential_jws: String,
    placement: String,
    details_text: String,
}

impl Signer<'_> {
    fn sign(&self, p: &Prepared, status: &[StatusRef; 3]) -> Result<NewPassport> {
        let r = &p.registration;
        // One JCS pass over the registration gives its fingerprint (the unchanged-PUT check)
        // and the members of its details document.
        let canonical = r.canonical_bytes().map_err(|e| {
            PassportError::internal(format_args!("a registration does not canonicalize: {e}"))
        })?;
        let registration_fingerprint = Registration::fingerprint_of(&canonical);
        let details = ComponentDetails::canonical_bytes_from(r, &canonical).ok_or_else(|| {
            PassportError::internal("the details document could not be cut from the registration")
        })?;
        drop(canonical);
        let secured = self.secure(p, status, details)?;
        let confidential = r
            .confidential
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(undecodable)?;
        Ok(NewPassport {
            id: p.id,
            org_id: self.issuer.org_id,
            version: p.version,
            granularity: r.granularity,
            gtin: r.product.gtin,
            serial: r.product.serial.clone(),
            lot: r.product.lot.clone(),
            category: r.product.category,
            country: r.product.placed_on_market.country,
            placed_on_market: r.product.placed_on_market.date,
            model_passport: r.product.model_passport,
            credential_id: secured.credential_id,
            format: CredentialFormat::V2,
            credential: secured.credential,
            credential_jws: Some(secured.credential_jws),
            placement: Some(secured.placement),
            component_details: secured.details_text,
            confidential,
            key_id: self.key.key().key_id.clone(),
            status: status.clone(),
            created_at: self.now,
            registration_fingerprint,
        })
    }

    /// The credential (v2, UNTP), secured twice over one JCS pass (Data Integrity and a detached
    /// JWS), and its placement declaration. Both documents are typed and canonicalized straight
    /// into bytes; the stored text is those bytes with the proof added (no `Value` is built).
    /// v1 credentials are no longer issued, only read.
    fn secure(
        &self,
        p: &Prepared,
        status: &[StatusRef; 3],
        canonical_details: Vec<u8>,
    ) -> Result<Secured> {
        let subject = untp::subject(
            &p.registration,
            PassportContext {
                base_url: self.base_url,
                subject_id: p.subject_id.clone(),
                passport_id: p.id,
                version: p.version,
                issuer: self.issuer,
                model_passport_uri: p.model_uri.clone(),
                previous_version: p.previous_version.clone(),
                component_count: u32::try_from(p.registration.ree_content.components.len())
                    .unwrap_or(u32::MAX),
                details_digest: subject::sri_sha256(&canonical_details),
            },
        );
        let credential_id = Uuid::now_v7();
        let envelope = Envelope {
            base_url: self.base_url,
            issuer: &self.issuer.id,
            credential_id,
            valid_from: self.now,
            status,
        };
        let document = untp::document(&subject, self.issuer, &envelope, &self.contexts);
        let secured = self
            .key
            .secure(&document, self.now)
            .map_err(PassportError::internal)?;
        let facts = Placement::of(
            &p.registration,
            &p.subject_id,
            p.id,
            p.version,
            credential_id,
        );
        let declaration = placement::document(
            &facts,
            self.issuer,
            Uuid::now_v7(),
            &envelope,
            &self.placement_contexts,
        );
        let declaration = self
            .key
            .sign_text(&declaration, self.now)
            .map_err(PassportError::internal)?;
        Ok(Secured {
            credential_id,
            credential: secured.credential,
            credential_jws: secured.detached_jws,
            placement: declaration,
            details_text: utf8(canonical_details)?,
        })
    }
}

/// JCS output is UTF-8 by construction.
fn utf8(bytes: Vec<u8>) -> Result<String> {
    String::from_utf8(bytes)
        .map_err(|e| PassportError::internal(format_args!("canonical JSON is not UTF-8: {e}")))
}
