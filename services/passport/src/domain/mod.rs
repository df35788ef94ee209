//! The passport domain: registrations and their rules, the credential subject, the credential
//! envelope. No I/O here.

pub mod credential;
pub mod did;
pub mod registration;
pub mod subject;

#[cfg(test)]
pub(crate) mod tests;
