//! The kernel's typed errors as problems: the one place where each becomes an HTTP status and a
//! stable code. A service's own `api::error` converts its error enum and delegates the kernel's
//! errors it wraps to these conversions.

use super::codes;
use super::problem::Problem;
use crate::db::StoreError;
use crate::domain::Denied;
use crate::service::accounts::AccountsError;
use crate::service::feed::FeedError;
use crate::service::issuing::IssuingError;
use crate::service::recycled_content::ClaimError;
use crate::service::retry::Contended;

impl From<StoreError> for Problem {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Conflict { constraint } => Problem::conflict(
                codes::CONFLICT,
                format!("The request conflicts with an existing record ({constraint})."),
            ),
            StoreError::MissingReference => Problem::new(codes::UNKNOWN_REFERENCE)
                .with_detail("A referenced record does not exist."),
            StoreError::InvalidText => Problem::new(codes::INVALID_TEXT)
                .with_detail("Text fields must not contain the NUL character (U+0000)."),
            StoreError::Unavailable(source) => {
                tracing::error!(error = %source, "database unavailable");
                Problem::service_unavailable("The database is unavailable; retry later.")
            }
            StoreError::Serialization(source) => {
                tracing::warn!(error = %source, "write conflict");
                Problem::service_unavailable("A concurrent write conflicted; retry the request.")
                    .with("retry_after", 1)
            }
            StoreError::Corrupt(what) => {
                tracing::error!(%what, "corrupt stored data");
                Problem::internal()
            }
            StoreError::Database(source) => {
                tracing::error!(error = ?source, "database error");
                Problem::internal()
            }
        }
    }
}

impl From<Denied> for Problem {
    fn from(denied: Denied) -> Self {
        match &denied {
            Denied::Role { required, .. } => {
                let wanted: Vec<&str> = required.iter().map(|r| r.as_str()).collect();
                Problem::forbidden(denied.to_string()).with("required_roles", wanted)
            }
            Denied::Rule(why) => Problem::forbidden(why.clone()),
            Denied::GtinNotYours {
                gtin,
                pointer,
                held,
            } => Problem::new(codes::GTIN_NOT_YOURS)
                .with_detail(denied.to_string())
                .with("gtin", gtin)
                .with("pointer", pointer)
                .with("held_prefixes", held),
        }
    }
}

impl From<AccountsError> for Problem {
    fn from(err: AccountsError) -> Self {
        match err {
            AccountsError::Invalid(errors) => Problem::validation(errors),
            AccountsError::NotFound(what) => Problem::not_found(what),
            AccountsError::Gs1PrefixTaken {
                prefix,
                held_by_other,
            } => Problem::conflict(
                codes::PREFIX_TAKEN,
                if held_by_other {
                    format!(
                        "Another organisation holds {prefix}, which overlaps this one: a GS1 \
                         prefix belongs to one organisation."
                    )
                } else {
                    format!("The organisation already holds {prefix}.")
                },
            )
            .with("conflicting_prefix", prefix),
            AccountsError::OperatorIdTaken => Problem::conflict(
                codes::OPERATOR_ID_TAKEN,
                "Another organisation already has this operator identifier.",
            ),
            AccountsError::NotAnApiKey => Problem::bad_request(
                codes::INVALID_KEY,
                "The service key is not an API key (rtk_...).",
            ),
            AccountsError::ServiceKeyClash => Problem::conflict(
                codes::SERVICE_KEY_CLASH,
                "Another key (or a revoked or non-service one) has the service key's prefix; \
                 generate a new service key.",
            ),
            AccountsError::Contended => {
                Problem::service_unavailable("Could not register the service key; retry.")
            }
            AccountsError::Observer(source) => match source.downcast::<StoreError>() {
                Ok(store) => (*store).into(),
                Err(other) => {
                    tracing::error!(error = %other, "an organisation observer failed");
                    Problem::internal()
                }
            },
            AccountsError::Store(e) => e.into(),
        }
    }
}

impl From<FeedError> for Problem {
    fn from(err: FeedError) -> Self {
        match err {
            FeedError::Store(e) => e.into(),
            other => {
                tracing::warn!(error = %other, "feed read failed");
                Problem::service_unavailable("A feed this answer depends on is unavailable; retry.")
            }
        }
    }
}

impl From<IssuingError> for Problem {
    fn from(err: IssuingError) -> Self {
        match err {
            IssuingError::NoStatusList(id) => Problem::not_found(format!("No status list {id:?}.")),
            IssuingError::Store(e) => e.into(),
            IssuingError::Internal(what) => {
                tracing::error!(%what, "issuing failure");
                Problem::internal()
            }
        }
    }
}

impl From<ClaimError> for Problem {
    fn from(err: ClaimError) -> Self {
        match err {
            // The custody service's own answer, passed on unchanged.
            ClaimError::Refused(refusal) => Problem {
                type_uri: format!("urn:reetrace:problem:{}", refusal.code),
                title: refusal.title,
                status: refusal.status,
                detail: refusal.detail,
                code: refusal.code,
                errors: refusal.errors,
                extensions: refusal.extensions,
            },
            ClaimError::Unavailable(why) => Problem::service_unavailable(why),
        }
    }
}

impl From<Contended> for Problem {
    fn from(_: Contended) -> Self {
        Problem::service_unavailable(
            "What this request changes kept changing under concurrent writes; retry.",
        )
        .with("retry_after", 1)
    }
}

/// A problem a service answered, as a refusal another service passes on (the in-process side of
/// [`ClaimError::Refused`]).
pub fn refusal_of(problem: Problem) -> crate::service::recycled_content::Refusal {
    crate::service::recycled_content::Refusal {
        code: problem.code,
        status: problem.status,
        title: problem.title,
        detail: problem.detail,
        errors: problem.errors,
        extensions: problem.extensions,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::domain::{Principal, Role};
    use uuid::Uuid;

    #[test]
    fn a_denied_role_names_the_roles() {
        let p = Principal {
            org_id: Uuid::nil(),
            org_name: "R".into(),
            role: Role::Recycler,
            key_id: Uuid::nil(),
        };
        assert!(p.require(&[Role::Recycler]).is_ok());
        let err = Problem::from(p.require(&[Role::Manufacturer, Role::Admin]).unwrap_err());
        assert_eq!(err.status, 403);
        assert!(err.detail.unwrap().contains("manufacturer or admin"));
        assert_eq!(err.extensions["required_roles"][1], "admin");
    }
}
