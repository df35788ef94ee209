//! The stock service's problem codes (beside core's shared ones in
//! [`reetrace_core::api::codes::CORE`]): it answers only core's codes today.

use reetrace_core::api::codes::Code;

/// Every code the stock service answers besides core's.
pub static CODES: &[Code] = &[];
