//! How domain values are written into columns and read back: element masses as JSON objects,
//! custody as three columns, words as their stored spelling. A stored value that does not read
//! back is corrupt data, never a silent default.

use reetrace_core::db::StoreError;
use uuid::Uuid;

use crate::domain::balance::Bag;
use crate::domain::state::{Custody, State};

/// Rows per `IN` list or multi-row statement of wide rows.
pub(super) const CHUNK: usize = 500;

/// Element masses from their column (JSON `{"Nd": micrograms}`).
pub(super) fn bag(text: &str) -> Result<Bag, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("element masses: {e}")))
}

/// Element masses as their column holds them.
pub(super) fn bag_text(bag: &Bag) -> String {
    serde_json::to_string(bag).unwrap_or_else(|_| "{}".to_owned())
}

/// Custody from its three columns.
pub(super) fn custody(
    state: &str,
    holder: Option<Uuid>,
    pending_to: Option<Uuid>,
) -> Result<Custody, StoreError> {
    Ok(Custody {
        state: State::parse(state)
            .ok_or_else(|| StoreError::Corrupt(format!("custody state {state:?}")))?,
        holder,
        pending_to,
    })
}

/// A stored word read back through `parse`, or corrupt data naming the column.
pub(super) fn word<T>(
    column: &str,
    text: &str,
    parse: fn(&str) -> Option<T>,
) -> Result<T, StoreError> {
    parse(text).ok_or_else(|| StoreError::Corrupt(format!("{column} {text:?}")))
}

/// A stored identifier read back through its parser, or corrupt data naming the column.
pub(super) fn parsed<T, E: std::fmt::Display>(
    column: &str,
    text: &str,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<T, StoreError> {
    parse(text).map_err(|e| StoreError::Corrupt(format!("{column} {text:?}: {e}")))
}

/// An optional stored identifier read back through its parser.
pub(super) fn parsed_opt<T, E: std::fmt::Display>(
    column: &str,
    text: Option<&str>,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<Option<T>, StoreError> {
    text.map(|t| parsed(column, t, parse)).transpose()
}

/// A count or size that does not fit its domain type is corrupt data.
pub(super) fn fits<T: TryFrom<i64>>(column: &str, value: i64) -> Result<T, StoreError> {
    T::try_from(value).map_err(|_| StoreError::Corrupt(format!("{column} {value}")))
}

/// A value kept as JSON text (what an answer said, stored with the record it answered).
pub(super) fn json_text<T: serde::Serialize>(what: &str, value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(format!("{what} as JSON: {e}")))
}
