//! Status lists: indexes handed out at random in an organisation's lists, bits set and cleared,
//! and each list's credential, signed by its organisation, re-signed only after its bits
//! changed, and kept until they change again.

use uuid::Uuid;

use super::{Issuing, IssuingError, Result};
use crate::crypto::{ProofOptions, StatusList, data_integrity};
use crate::domain::issuing::did::org_did;
use crate::domain::issuing::status_list::list_credential;
use crate::domain::issuing::{StatusPurpose, StatusRef};
use crate::store::issuing::{BitChanges, IssuingStores};

impl Issuing {
    /// Hands out `count` unused indexes of `org_id`'s lists for `purpose`, at random, opening
    /// new lists as they fill.
    pub async fn allocate(
        &self,
        org_id: Uuid,
        purpose: StatusPurpose,
        count: usize,
    ) -> Result<Vec<StatusRef>> {
        let now = crate::domain::account::now();
        Ok(self.store.allocate(org_id, purpose, count, now).await?)
    }

    /// One index in each purpose's list ([`StatusPurpose::ALL`]: revocation, suspension,
    /// message) for each of `count` credentials.
    pub async fn allocate_each_purpose(
        &self,
        org_id: Uuid,
        count: usize,
    ) -> Result<Vec<[StatusRef; 3]>> {
        allocate_triples(self.store.as_ref(), org_id, count).await
    }

    /// Sets (`true`) or clears the status bits behind `statuses` in one transaction; their
    /// lists' credentials are signed again when next asked for. A service whose status change
    /// must commit with rows of its own uses `store::issuing::flip_bits` in its transaction.
    pub async fn set_status(&self, statuses: &[StatusRef], value: bool) -> Result<()> {
        let mut changes = BitChanges::new();
        for status in statuses {
            changes
                .entry(status.list_id.clone())
                .or_insert_with(|| (Vec::new(), value))
                .0
                .push(status.index);
        }
        let now = crate::domain::account::now();
        Ok(self.store.set_bits(changes, now).await?)
    }

    /// The signed `BitstringStatusListCredential` of a list under the current base URL, exactly
    /// as served.
    pub async fn status_list_credential(&self, list_id: &str) -> Result<String> {
        self.status_list_credential_at(list_id, &self.config.base_url)
            .await
    }

    /// The list as named under `base`, the current base URL or a former one: credentials
    /// issued before a move name the list by its old URL and their issuer by its old DID, and a
    /// verifier wants both on the list (the kept signed copy is the current base URL's; a
    /// former one's is signed when asked).
    pub async fn status_list_credential_at(&self, list_id: &str, base: &str) -> Result<String> {
        let row = self
            .store
            .status_list(list_id)
            .await?
            .ok_or_else(|| IssuingError::NoStatusList(list_id.to_owned()))?;
        let current = base == self.config.base_url;
        if current && let Some(signed) = row.credential {
            return Ok(signed);
        }
        let failed = |e: &dyn std::fmt::Display| {
            IssuingError::internal(format_args!("cannot sign status list {list_id}: {e}"))
        };
        let encoded = StatusList::from_bytes(row.bits.clone())
            .and_then(|l| l.encode())
            .map_err(|e| failed(&e))?;
        let issuer = org_did(base, row.org_id);
        let unsigned = list_credential(&row, base, &issuer, &encoded);
        let key = self.active_key(row.org_id).await?;
        let method = format!("{issuer}#{}", key.key_id);
        let now = crate::domain::account::now();
        let signed = data_integrity::sign(
            unsigned,
            &ProofOptions::assertion(&method, now),
            &key.signing,
        )
        .map_err(|e| failed(&e))?;
        let text = serde_json::to_string(&signed).map_err(|e| failed(&e))?;
        if !current {
            return Ok(text);
        }
        self.store
            .cache_signed(&row.id, row.updated_at, &text)
            .await?;
        Ok(text)
    }
}

/// One index in each purpose's list for each of `count` credentials, taken in the database.
pub(super) async fn allocate_triples(
    store: &dyn IssuingStores,
    org_id: Uuid,
    count: usize,
) -> Result<Vec<[StatusRef; 3]>> {
    let now = crate::domain::account::now();
    let mut per_purpose = Vec::with_capacity(3);
    for purpose in StatusPurpose::ALL {
        per_purpose.push(store.allocate(org_id, purpose, count, now).await?);
    }
    let mut message = per_purpose.pop().unwrap_or_default().into_iter();
    let mut suspension = per_purpose.pop().unwrap_or_default().into_iter();
    let mut revocation = per_purpose.pop().unwrap_or_default().into_iter();
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        match (revocation.next(), suspension.next(), message.next()) {
            (Some(r), Some(s), Some(m)) => out.push([r, s, m]),
            _ => {
                return Err(IssuingError::internal(
                    "status list allocation returned too few indexes",
                ));
            }
        }
    }
    Ok(out)
}
