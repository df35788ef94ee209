//! The passport domain: registrations and their rules, the credential subject, the credential
//! envelope, passports and their versions, who sees what of them, generic (VC-API) credentials.
//! No I/O here. Signing keys, DIDs and status lists are core's (`domain::issuing`).

pub mod credential;
pub mod crma;
mod jcs_members;
pub mod magnet_content;
pub mod passport;
pub mod placement;
pub mod reading;
pub mod registration;
pub mod subject;
pub mod untp;
pub mod vc_api;
pub mod view;

#[cfg(test)]
pub(crate) mod tests;
