//! Herald's UI-free mail core.
//!
//! Everything the window, the CLI and the tests need goes through this crate:
//! the mail model and MIME parsing ([`message`]), saving attachments safely
//! ([`attachment`]), composing ([`compose`]), account settings and profile
//! folders ([`account`]) and passwords ([`credentials`]), searching mail
//! ([`search`]), and a demo mail
//! sandbox for trying Herald without an account ([`demo`]).
//!
//! This crate must never depend on egui, eframe, winit or rfd: `.ci/run`
//! checks its dependency tree. Views see only the types defined here, never
//! `mail_parser` or `lettre` types.

pub mod account;
pub mod attachment;
pub mod compose;
pub mod credentials;
pub mod demo;
pub mod digest;
pub mod engine;
pub mod error;
pub mod message;
pub mod net;
pub mod outgoing;
pub mod pop3;
pub mod search;
pub mod session;
pub mod smtp;
pub mod store;
pub mod sync;
pub mod text;

pub use error::{Classify, ErrorKind};
