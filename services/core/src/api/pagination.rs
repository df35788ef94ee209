//! Cursor pagination shared by every list endpoint.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::codes;
use crate::api::problem::{FieldError, Problem};

/// The largest page any list endpoint returns.
pub const MAX_LIMIT: u32 = 1000;
/// The page size when the caller names none.
pub const DEFAULT_LIMIT: u32 = 100;

/// One page of a list, and the cursor of the next page when there is one.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` fetched items: the extra one only says that more
    /// follow, and the cursor is taken from the last item kept.
    pub fn from_overfetch(mut items: Vec<T>, limit: u32, cursor_of: impl Fn(&T) -> String) -> Self {
        let more = items.len() > limit as usize;
        items.truncate(limit as usize);
        let next_cursor = if more {
            items.last().map(cursor_of)
        } else {
            None
        };
        Self { items, next_cursor }
    }
}

/// `cursor` and `limit` query parameters.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Items per page, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

impl PageQuery {
    /// The page size, checked.
    pub fn limit(&self) -> Result<u32, Problem> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            Some(n) => Err(Problem::bad_request(
                codes::INVALID_QUERY,
                format!("limit must be between 1 and {MAX_LIMIT}, got {n}"),
            )
            .with_errors(vec![FieldError::new("limit", "must be between 1 and 1000")])),
        }
    }

    /// The cursor parsed as `T`, or a 400 naming it.
    pub fn cursor<T: std::str::FromStr>(&self) -> Result<Option<T>, Problem> {
        self.cursor
            .as_deref()
            .map(|c| {
                c.parse().map_err(|_| {
                    Problem::bad_request(
                        codes::INVALID_CURSOR,
                        "The cursor is not one this list gave out.",
                    )
                    .with_errors(vec![FieldError::new("cursor", "not a valid cursor")])
                })
            })
            .transpose()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn overfetch_sets_the_cursor_only_when_more_follow() {
        let page = Page::from_overfetch(vec![1, 2, 3], 2, |n| n.to_string());
        assert_eq!(page.items, vec![1, 2]);
        assert_eq!(page.next_cursor.as_deref(), Some("2"));
        let last = Page::from_overfetch(vec![1, 2], 2, |n| n.to_string());
        assert!(last.next_cursor.is_none());
    }

    #[test]
    fn limits_are_checked() {
        assert_eq!(PageQuery::default().limit().unwrap(), DEFAULT_LIMIT);
        let q = PageQuery {
            cursor: None,
            limit: Some(0),
        };
        assert_eq!(q.limit().unwrap_err().status, 400);
        let q = PageQuery {
            cursor: Some("x".into()),
            limit: Some(5),
        };
        assert!(q.cursor::<uuid::Uuid>().is_err());
    }
}
