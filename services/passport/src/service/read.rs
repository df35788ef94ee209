//! Reads: a passport in the caller's tier, its versions, the list, and the resolver's lookups.

use reetrace_core::domain::{Denied, Principal, Role};
use uuid::Uuid;

use super::PassportService;
use super::error::{PassportError, Result};
use crate::domain::passport::{ListFilter, Lookup, Passport, PassportVersion};
use crate::domain::view::{PassportView, Tier};

fn no_passport(id: Uuid) -> PassportError {
    PassportError::NotFound(format!("No passport {id}."))
}

impl PassportService {
    /// A passport, or not found.
    pub async fn passport(&self, id: Uuid) -> Result<Passport> {
        self.store
            .passport(id)
            .await?
            .ok_or_else(|| no_passport(id))
    }

    /// A passport and its current version, or not found.
    pub async fn load(&self, id: Uuid) -> Result<(Passport, PassportVersion)> {
        let passport = self.passport(id).await?;
        let version = self
            .store
            .version(id, None)
            .await?
            .ok_or_else(|| no_passport(id))?;
        Ok((passport, version))
    }

    /// The view of a passport for `caller`.
    pub fn view(
        &self,
        caller: Option<&Principal>,
        passport: &Passport,
        version: &PassportVersion,
    ) -> Result<PassportView> {
        PassportView::cut(&self.config.base_url, caller, passport, version).map_err(|e| {
            PassportError::internal(format_args!(
                "stored passport {} does not decode: {e}",
                passport.id
            ))
        })
    }

    /// A version of a passport (the current one when `version` is `None`), or not found.
    pub async fn version(&self, id: Uuid, version: Option<u32>) -> Result<PassportVersion> {
        self.store.version(id, version).await?.ok_or_else(|| {
            PassportError::NotFound(format!("No passport {id} (or no such version)."))
        })
    }

    /// The signed placement declaration of a v2 passport version (the current one when
    /// `version` is `None`): for the owner and the authorities (regulators, admins, services).
    /// Not found for a v1 version, whose placement facts are in its credential.
    pub async fn placement(
        &self,
        caller: &Principal,
        id: Uuid,
        version: Option<u32>,
    ) -> Result<String> {
        let passport = self.passport(id).await?;
        if !Tier::of(Some(caller), passport.org_id).sees_placement() {
            return Err(Denied::Rule(
                "The placement declaration is for the passport's owner and the authorities \
                 (regulators, admins, services)."
                    .into(),
            )
            .into());
        }
        let version = self.version(id, version).await?;
        version.placement.ok_or_else(|| {
            PassportError::NotFound(format!(
                "Version {} of passport {id} is a v1 credential: its placement facts are in the \
                 credential itself, and it has no placement declaration.",
                version.version
            ))
        })
    }

    /// Every version of a passport, oldest first, or not found.
    pub async fn versions(&self, id: Uuid) -> Result<Vec<PassportVersion>> {
        let versions = self.store.versions(id).await?;
        if versions.is_empty() {
            return Err(no_passport(id));
        }
        Ok(versions)
    }

    /// Who may list passports: manufacturers (their own), regulators and admins (all).
    pub fn may_list(caller: &Principal) -> Result<()> {
        Ok(caller.require(&[Role::Manufacturer, Role::Regulator, Role::Admin])?)
    }

    /// Passports matching `filter` that `caller` may list, by id after `after`, at most
    /// `limit`; a manufacturer's list is its own, whatever `filter.org_id` says.
    pub async fn list(
        &self,
        caller: &Principal,
        filter: ListFilter,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<Passport>> {
        Self::may_list(caller)?;
        let filter = ListFilter {
            org_id: (caller.role == Role::Manufacturer).then_some(caller.org_id),
            ..filter
        };
        Ok(self.store.list(&filter, after, limit).await?)
    }

    /// The passport `lookup` names with its current credential, in one read.
    pub async fn resolve_credential(
        &self,
        lookup: Lookup<'_>,
    ) -> Result<Option<(Passport, String)>> {
        Ok(self.store.current_credential(lookup).await?)
    }

    /// The passport `lookup` names.
    pub async fn resolve(&self, lookup: Lookup<'_>) -> Result<Option<Passport>> {
        Ok(match lookup {
            Lookup::Id(id) => self.store.passport(id).await?,
            Lookup::Identity(identity) => self.store.find(identity).await?,
        })
    }

    /// The current version of a passport the resolver found.
    /// The current versions of `passports`, by passport id, in a few reads.
    pub async fn current_versions(
        &self,
        passports: &[Passport],
    ) -> Result<std::collections::HashMap<Uuid, PassportVersion>> {
        let ids: Vec<Uuid> = passports.iter().map(|p| p.id).collect();
        let versions = self.store.current_versions(&ids).await?;
        Ok(versions.into_iter().map(|v| (v.passport_id, v)).collect())
    }

    pub async fn current_version(&self, passport: &Passport) -> Result<PassportVersion> {
        self.store.version(passport.id, None).await?.ok_or_else(|| {
            PassportError::internal(format_args!(
                "passport {} without a current version",
                passport.id
            ))
        })
    }
}
