//! The passport domain: registrations and their rules, the credential subject, the credential
//! envelope, passports and their versions, who sees what of them, signing keys and status
//! lists as kept, generic (VC-API) credentials. No I/O here.

pub mod credential;
pub mod did;
pub mod magnet_content;
pub mod passport;
pub mod placement;
pub mod reading;
pub mod registration;
pub mod signing_key;
pub mod status_list;
pub mod subject;
pub mod untp;
pub mod vc_api;
pub mod view;

#[cfg(test)]
pub(crate) mod tests;
