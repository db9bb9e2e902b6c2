//! Account settings and the profile folders they live in.
//!
//! A [`Profile`] says where configuration and data live, so that a test or a
//! second identity (`--profile DIR`, `HERALD_HOME`) never touches the user's
//! real settings. An [`AccountList`] is the content of `accounts.toml` in the
//! profile's configuration folder. [`providers`] is an offline table of
//! common providers' servers, to fill in a new account.
//! [`LearntSmtpLimits`] remembers what each account's SMTP server advertised
//! (its SIZE limit), beside the mail in the data folder.
//!
//! Passwords are never part of an [`Account`]: they live in the OS credential
//! store, come from a password command, or stay in memory for one session
//! (see [`crate::credentials`]). The settings file can therefore be backed up,
//! synced or shown to a helper without leaking a secret.

mod host_port;
mod learnt;
mod list;
mod profile;
pub mod providers;
pub(crate) mod settings;

use std::path::PathBuf;

pub use host_port::HostPort;
pub use learnt::LearntSmtpLimits;
pub use list::AccountList;
pub use profile::Profile;
pub use settings::{
    Account, DeletionPolicy, MAX_NAME_CHARS, Pop3Security, Pop3Server, SmtpSecurity, SmtpServer,
};

use crate::error::{Classify, ErrorKind};

/// Why an account or profile operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccountError {
    /// Neither `--profile`, `HERALD_HOME` nor a home folder is known, so there
    /// is nowhere to keep settings.
    #[error("cannot find a folder for settings: set HERALD_HOME or use --profile")]
    NoHomeDir,

    /// Reading the settings file failed (other than it being absent).
    #[error("could not read account settings: {}", path.display())]
    Read {
        /// The settings file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },

    /// Writing the settings file (or creating its folder) failed.
    #[error("could not save account settings: {}", path.display())]
    Write {
        /// The settings file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },

    /// The settings file is not valid TOML, or has an unknown or missing key.
    #[error("invalid account settings on line {line} ({message}): {}", path.display())]
    Parse {
        /// The settings file.
        path: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// What is wrong there, as the TOML parser put it.
        message: String,
    },

    /// The settings file parsed, but an account in it is invalid.
    #[error("invalid account settings: {}", path.display())]
    InvalidFile {
        /// The settings file.
        path: PathBuf,
        /// The first problem found.
        #[source]
        source: Box<AccountError>,
    },

    /// One setting of an account is invalid.
    #[error("invalid {field} for account {account:?}: {problem}")]
    Invalid {
        /// The account's name (possibly the invalid name itself).
        account: String,
        /// The setting, as named in `accounts.toml`.
        field: &'static str,
        /// What is wrong with it.
        problem: String,
    },

    /// Account names are the key for passwords and folders, so they must be
    /// unique within a profile.
    #[error("an account named {0:?} already exists")]
    Duplicate(String),

    /// No account has this name.
    #[error("no account named {0:?}")]
    NotFound(String),

    /// A `HOST[:PORT]` value could not be parsed.
    #[error("invalid server {input:?}: {problem}")]
    HostPort {
        /// What was given.
        input: String,
        /// What is wrong with it.
        problem: &'static str,
    },

    /// The extra CA file could not be read.
    #[error("could not read the CA certificate file of account {account:?}: {}", path.display())]
    CaFileRead {
        /// The account's name.
        account: String,
        /// The CA file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },

    /// The extra CA file holds no PEM certificate (perhaps a key, or DER).
    #[error(
        "the CA certificate file of account {account:?} contains no PEM certificate: {}",
        path.display()
    )]
    CaFileNotPem {
        /// The account's name.
        account: String,
        /// The CA file.
        path: PathBuf,
    },
}

impl Classify for AccountError {
    fn kind(&self) -> ErrorKind {
        match self {
            AccountError::NoHomeDir | AccountError::Parse { .. } => ErrorKind::Config,
            AccountError::InvalidFile { .. } => ErrorKind::Config,
            AccountError::Read { .. } | AccountError::Write { .. } => ErrorKind::Storage,
            AccountError::Invalid { .. }
            | AccountError::Duplicate(_)
            | AccountError::NotFound(_)
            | AccountError::HostPort { .. }
            | AccountError::CaFileRead { .. }
            | AccountError::CaFileNotPem { .. } => ErrorKind::Input,
        }
    }
}
