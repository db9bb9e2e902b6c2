//! Passwords: the OS credential store, a password command, or session memory.
//!
//! A [`PasswordStore`] is created once at start-up. It probes the OS store
//! (Secret Service on Linux, the login keychain on macOS, the Credential
//! Manager on Windows) with a time limit, so a missing session bus or a hung
//! keyring daemon costs at most a few seconds and never blocks for ever. If the
//! store cannot be used, passwords set during the session are kept in this
//! process's memory only: never written anywhere, and the caller is told so
//! ([`PasswordLocation::SessionOnly`], [`StoreStatus::Unavailable`]).
//!
//! # Entries in the OS store
//!
//! One entry per account, with service [`SERVICE`] (`"herald"`) and user the
//! account name; with the Secret Service these are the item attributes
//! `service` and `username`, labelled `Herald: NAME`. An explicit profile
//! (`--profile DIR` or `HERALD_HOME`) uses the service `herald:DIR` instead
//! (see [`service_name`]), so that a test or second profile cannot touch the
//! user's real passwords. Renaming an account must move its entry
//! ([`PasswordStore::rename`]); removing it must delete the entry
//! ([`PasswordStore::delete`]).
//!
//! Secrets never reach logs, `Debug` output, error messages or files: they
//! travel as [`Password`], and errors from the store are reduced to text that
//! cannot contain the stored bytes.

mod command;
mod password;
mod platform;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, mpsc};
use std::time::Duration;

use keyring_core::{CredentialStore, Entry};

pub use password::Password;

use crate::account::{Account, Profile};
use crate::error::{Classify, ErrorKind};

/// The credential-store service of the default profile.
pub const SERVICE: &str = "herald";

/// How long the start-up probe may take. With no session bus it fails in
/// under a millisecond; a bus that does not answer must not freeze start-up.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// How long one store operation may take before the store is given up on
/// for the rest of the session.
pub const STORE_TIMEOUT: Duration = Duration::from_secs(15);

/// How long a password command may run (it may wait for a GPG agent).
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// The credential-store service name for `profile`: [`SERVICE`] for the
/// per-user default profile, `herald:<profile folder>` for an explicit one.
pub fn service_name(profile: &Profile) -> String {
    match profile.root() {
        None => SERVICE.to_string(),
        Some(root) => format!("{SERVICE}:{}", root.display()),
    }
}

/// Whether the OS store can be used in this session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreStatus {
    /// Passwords are saved in the OS store and outlive the process.
    Available,
    /// Passwords set now are kept in memory for this session only.
    Unavailable {
        /// Why, in words a person understands ("no session bus", "the
        /// keyring is locked"…).
        reason: String,
    },
}

/// Where [`PasswordStore::set`] put a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordLocation {
    /// In the OS store: other processes and later sessions will find it.
    OsStore,
    /// In this process's memory only: lost when it exits.
    SessionOnly,
}

/// Where an account's password would come from, as shown by
/// `herald account list`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PasswordState {
    /// The account has a `password_command` (not run to find this out).
    Command,
    /// The OS store has a password for it (it was read to find this out).
    OsStore,
    /// Only this session's memory has one.
    SessionOnly,
    /// The OS store answered and has none.
    Missing,
    /// The OS store cannot be asked, so it is not known.
    StoreUnavailable,
}

impl PasswordState {
    /// The `snake_case` name used in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            PasswordState::Command => "command",
            PasswordState::OsStore => "os_store",
            PasswordState::SessionOnly => "session_only",
            PasswordState::Missing => "missing",
            PasswordState::StoreUnavailable => "store_unavailable",
        }
    }
}

/// A store failure reduced to text. Errors of the store can carry the stored
/// bytes (`BadEncoding`); this keeps them out of `Debug` output and logs.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct StoreFailure(String);

/// Why a password could not be stored, found or removed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialError {
    /// Neither the command, the OS store nor session memory has a password.
    #[error("no password stored for account {account:?}")]
    NoPassword {
        /// The account's name.
        account: String,
    },

    /// An empty password was given; no server accepts one.
    #[error("the password for account {account:?} is empty")]
    EmptyPassword {
        /// The account's name.
        account: String,
    },

    /// The OS store answered with an error.
    #[error("could not {action} the password of account {account:?} in the OS credential store")]
    Store {
        /// The account's name.
        account: String,
        /// "save", "read" or "delete".
        action: &'static str,
        /// What the store said.
        #[source]
        source: StoreFailure,
    },

    /// The OS store did not answer in time; it is not used again this session.
    #[error("the OS credential store did not answer within {timeout_secs} s (account {account:?})")]
    StoreTimedOut {
        /// The account's name.
        account: String,
        /// The limit that passed.
        timeout_secs: u64,
    },

    /// The OS store cannot be used in this session, so the operation could
    /// not be done there (a password may remain in it from an earlier one).
    #[error("the OS credential store is unavailable (account {account:?})")]
    StoreUnavailable {
        /// The account's name.
        account: String,
        /// Why the store is unavailable.
        #[source]
        reason: StoreFailure,
    },

    /// The password command could not be started.
    #[error("could not run the password command of account {account:?}")]
    CommandSpawn {
        /// The account's name.
        account: String,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },

    /// The password command exited with an error.
    #[error(
        "password command of account {account:?} failed ({status}){}",
        stderr_line.as_ref().map(|line| format!(": {line}")).unwrap_or_default()
    )]
    CommandFailed {
        /// The account's name.
        account: String,
        /// "exit status 1", "killed by signal 9"…
        status: String,
        /// The first non-blank line of its stderr, shortened.
        stderr_line: Option<String>,
    },

    /// The password command ran longer than allowed and was killed.
    #[error("password command of account {account:?} did not finish within {timeout_secs} s")]
    CommandTimedOut {
        /// The account's name.
        account: String,
        /// The limit that passed.
        timeout_secs: u64,
    },

    /// The password command succeeded but printed no usable password.
    #[error("password command of account {account:?} {problem}")]
    CommandOutput {
        /// The account's name.
        account: String,
        /// "printed no password", "is not valid UTF-8"…
        problem: &'static str,
    },
}

impl Classify for CredentialError {
    fn kind(&self) -> ErrorKind {
        match self {
            CredentialError::EmptyPassword { .. } => ErrorKind::Input,
            CredentialError::StoreTimedOut { .. } | CredentialError::CommandTimedOut { .. } => {
                ErrorKind::Timeout
            }
            CredentialError::NoPassword { .. }
            | CredentialError::Store { .. }
            | CredentialError::StoreUnavailable { .. }
            | CredentialError::CommandSpawn { .. }
            | CredentialError::CommandFailed { .. }
            | CredentialError::CommandOutput { .. } => ErrorKind::Credentials,
        }
    }
}

/// The store did not answer within [`PasswordStore`]'s time limit.
struct Elapsed;

/// Gets, sets and deletes account passwords; see the [module docs](self).
///
/// Cheap to share behind an `Arc`: every method takes `&self`.
pub struct PasswordStore {
    service: String,
    backend: Option<platform::Backend>,
    status: Mutex<StoreStatus>,
    /// Made by [`PasswordStore::session_only`]: no OS store was ever wanted
    /// (the demo, a connection test), so its absence is no problem to report.
    session_only_by_choice: bool,
    session: Mutex<HashMap<String, Password>>,
    store_timeout: Duration,
    command_timeout: Duration,
}

impl std::fmt::Debug for PasswordStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordStore")
            .field("service", &self.service)
            .field("backend", &self.backend)
            .field("status", &self.status())
            .field("session_passwords", &lock(&self.session).len())
            .finish()
    }
}

impl PasswordStore {
    /// Probes this platform's OS store (at most [`PROBE_TIMEOUT`]) and uses
    /// it for `profile`'s entries if it works; otherwise passwords stay in
    /// memory for the session and [`PasswordStore::status`] says why.
    pub fn open(profile: &Profile) -> PasswordStore {
        let service = service_name(profile);
        let (tx, rx) = mpsc::sync_channel(1);
        let spawned = std::thread::Builder::new()
            .name("herald-keyring-probe".to_string())
            .spawn(move || {
                let _ = tx.send(platform::open());
            });
        let outcome = match spawned {
            Err(err) => Err(format!("could not start the probe ({err})")),
            // A probe that does not answer in time is left behind: it holds
            // nothing but its own D-Bus connection.
            Ok(_) => rx.recv_timeout(PROBE_TIMEOUT).unwrap_or_else(|_| {
                Err(format!(
                    "the credential store did not answer within {} s",
                    PROBE_TIMEOUT.as_secs()
                ))
            }),
        };
        match outcome {
            Ok(backend) => PasswordStore::new(service, Some(backend), StoreStatus::Available),
            Err(reason) => PasswordStore::unavailable(service, reason),
        }
    }

    /// The OS store was wanted but cannot be used (what [`PasswordStore::open`]
    /// returns when the probe fails): passwords are kept for the session
    /// only, and [`PasswordStore::os_store_problem`] says why.
    pub fn unavailable(service: impl Into<String>, reason: impl Into<String>) -> PasswordStore {
        let status = StoreStatus::Unavailable {
            reason: reason.into(),
        };
        PasswordStore::new(service.into(), None, status)
    }

    /// Uses `store` (for example `keyring_core::mock::Store`) for entries of
    /// `service`, without probing. Tests use this instead of the process-wide
    /// default store of `keyring_core`, so they can run in parallel.
    pub fn with_store(store: Arc<CredentialStore>, service: impl Into<String>) -> PasswordStore {
        let backend = platform::Backend {
            store,
            label_modifier: false,
        };
        PasswordStore::new(service.into(), Some(backend), StoreStatus::Available)
    }

    /// No OS store at all, by choice (the demo, a connection test): every
    /// password set is kept for the session only, and that is not a problem
    /// to report ([`PasswordStore::os_store_problem`] is `None`).
    pub fn session_only(service: impl Into<String>, reason: impl Into<String>) -> PasswordStore {
        let mut store = PasswordStore::unavailable(service, reason);
        store.session_only_by_choice = true;
        store
    }

    /// Changes the time limits for store operations and password commands.
    pub fn with_timeouts(mut self, store: Duration, command: Duration) -> PasswordStore {
        self.store_timeout = store;
        self.command_timeout = command;
        self
    }

    fn new(
        service: String,
        backend: Option<platform::Backend>,
        status: StoreStatus,
    ) -> PasswordStore {
        PasswordStore {
            service,
            backend,
            status: Mutex::new(status),
            session_only_by_choice: false,
            session: Mutex::new(HashMap::new()),
            store_timeout: STORE_TIMEOUT,
            command_timeout: COMMAND_TIMEOUT,
        }
    }

    /// The credential-store service this store's entries use.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// Whether the OS store is used. It can change from `Available` to
    /// `Unavailable` during a session (the keyring got locked, or stopped
    /// answering), never back.
    pub fn status(&self) -> StoreStatus {
        lock(&self.status).clone()
    }

    /// Why the OS store this store was meant to use cannot be used now (the
    /// probe failed at start-up, or the store failed or stopped answering
    /// since), so passwords set now last for this session only. `None` when
    /// the OS store works, or when this store never meant to use one
    /// ([`PasswordStore::session_only`]).
    pub fn os_store_problem(&self) -> Option<String> {
        match self.status() {
            StoreStatus::Unavailable { reason } if !self.session_only_by_choice => Some(reason),
            _ => None,
        }
    }

    /// Stores `password` for the account called `account_name`: in the OS
    /// store if possible, otherwise in session memory. The result says which.
    ///
    /// An OS store that fails here (locked, gone) is given up on for the
    /// session, with the reason recorded in [`PasswordStore::status`].
    pub fn set(
        &self,
        account_name: &str,
        password: &Password,
    ) -> Result<PasswordLocation, CredentialError> {
        if password.is_empty() {
            return Err(CredentialError::EmptyPassword {
                account: account_name.to_string(),
            });
        }
        let secret = password.clone();
        match self.with_entry(account_name, move |entry| {
            entry.set_password(secret.expose())
        }) {
            Some(Ok(Ok(()))) => {
                lock(&self.session).remove(account_name);
                return Ok(PasswordLocation::OsStore);
            }
            Some(Ok(Err(
                err @ (keyring_core::Error::Invalid(..) | keyring_core::Error::TooLong(..)),
            ))) => {
                // The store works but refuses this value: falling back to
                // memory would hide a real problem.
                return Err(store_error(account_name, "save", err));
            }
            Some(Ok(Err(err))) => self.give_up(platform::describe_store_error(&err)),
            // `with_entry` has already given up on the store.
            Some(Err(Elapsed)) | None => {}
        }
        lock(&self.session).insert(account_name.to_string(), password.clone());
        Ok(PasswordLocation::SessionOnly)
    }

    /// Keeps `password` for the account called `account_name` in session
    /// memory only, without asking the OS store: for a caller that chose to
    /// go on after the store refused it ([`PasswordStore::set`] failed), so
    /// the account works until the process exits. It is found before any
    /// older password of the account in the OS store.
    pub fn set_for_session(
        &self,
        account_name: &str,
        password: &Password,
    ) -> Result<(), CredentialError> {
        if password.is_empty() {
            return Err(CredentialError::EmptyPassword {
                account: account_name.to_string(),
            });
        }
        lock(&self.session).insert(account_name.to_string(), password.clone());
        Ok(())
    }

    /// The password of `account`, from the first source that has one:
    /// its `password_command`, session memory, the OS store.
    ///
    /// A missing password is [`CredentialError::NoPassword`], distinct from a
    /// store or command failure.
    pub fn get(&self, account: &Account) -> Result<Password, CredentialError> {
        match &account.password_command {
            Some(command) => command::run(&account.name, command, self.command_timeout),
            None => self.get_stored(&account.name),
        }
    }

    /// The password saved for `account_name` in session memory or, failing
    /// that, in the OS store. Session memory comes first: it only holds a
    /// password given in this session that the OS store did not take, which
    /// is newer than anything the store has.
    fn get_stored(&self, account_name: &str) -> Result<Password, CredentialError> {
        if let Some(password) = lock(&self.session).get(account_name) {
            return Ok(password.clone());
        }
        let mut store_failure = None;
        match self.with_entry(account_name, |entry| {
            entry.get_password().map(Password::new)
        }) {
            Some(Ok(Ok(password))) => return Ok(password),
            Some(Ok(Err(keyring_core::Error::NoEntry))) | None => {}
            Some(Ok(Err(err))) => store_failure = Some(store_error(account_name, "read", err)),
            Some(Err(Elapsed)) => store_failure = Some(self.timed_out(account_name)),
        }
        Err(
            store_failure.unwrap_or_else(|| CredentialError::NoPassword {
                account: account_name.to_string(),
            }),
        )
    }

    /// Where `account`'s password would come from. Reads the OS store (the
    /// secret is discarded at once) but never runs the password command,
    /// which might prompt.
    pub fn state(&self, account: &Account) -> PasswordState {
        if account.password_command.is_some() {
            return PasswordState::Command;
        }
        if lock(&self.session).contains_key(&account.name) {
            return PasswordState::SessionOnly;
        }
        let in_store = self.with_entry(&account.name, |entry| {
            entry.get_password().map(Password::new)
        });
        if let Some(Ok(Ok(_))) = in_store {
            return PasswordState::OsStore;
        }
        match in_store {
            Some(Ok(Err(keyring_core::Error::NoEntry))) => PasswordState::Missing,
            _ => PasswordState::StoreUnavailable,
        }
    }

    /// Removes the stored password of `account_name` from session memory and
    /// the OS store. A missing entry is not an error; an unusable OS store is
    /// ([`CredentialError::StoreUnavailable`]), since an entry from an earlier
    /// session may then remain.
    pub fn delete(&self, account_name: &str) -> Result<(), CredentialError> {
        lock(&self.session).remove(account_name);
        match self.with_entry(account_name, |entry| match entry.delete_credential() {
            Err(keyring_core::Error::NoEntry) => Ok(()),
            // Other programs may have made look-alike items: remove them all.
            Err(keyring_core::Error::Ambiguous(entries)) => entries
                .iter()
                .try_for_each(|entry| entry.delete_credential()),
            other => other,
        }) {
            Some(Ok(Ok(()))) => Ok(()),
            Some(Ok(Err(err))) => Err(store_error(account_name, "delete", err)),
            Some(Err(Elapsed)) => Err(self.timed_out(account_name)),
            None => Err(CredentialError::StoreUnavailable {
                account: account_name.to_string(),
                reason: StoreFailure(self.unavailable_reason()),
            }),
        }
    }

    /// Moves the stored password of an account that is being renamed. Returns
    /// where it went, or `None` if there was no stored password to move.
    pub fn rename(
        &self,
        old_name: &str,
        new_name: &str,
    ) -> Result<Option<PasswordLocation>, CredentialError> {
        if old_name == new_name {
            return Ok(None);
        }
        let password = match self.get_stored(old_name) {
            Ok(password) => password,
            Err(CredentialError::NoPassword { .. }) => return Ok(None),
            Err(err) => return Err(err),
        };
        let location = self.set(new_name, &password)?;
        match self.delete(old_name) {
            Ok(()) => {}
            // The old entry can't be reached either: nothing more to do.
            Err(CredentialError::StoreUnavailable { .. })
                if location == PasswordLocation::SessionOnly => {}
            Err(err) => return Err(err),
        }
        Ok(Some(location))
    }

    /// Runs `op` on the OS store entry of `account_name` on a helper thread,
    /// waiting at most the store timeout. `None` if the store is not in use.
    fn with_entry<T: Send + 'static>(
        &self,
        account_name: &str,
        op: impl FnOnce(&Entry) -> keyring_core::Result<T> + Send + 'static,
    ) -> Option<Result<keyring_core::Result<T>, Elapsed>> {
        let backend = self.backend.as_ref()?;
        if self.status() != StoreStatus::Available {
            return None;
        }
        let store = backend.store.clone();
        let service = self.service.clone();
        let user = account_name.to_string();
        let label = backend.label_modifier.then(|| match service.as_str() {
            SERVICE => format!("Herald: {user}"),
            _ => format!("Herald: {user} ({service})"),
        });
        let (tx, rx) = mpsc::sync_channel(1);
        let spawned = std::thread::Builder::new()
            .name("herald-keyring".to_string())
            .spawn(move || {
                let modifiers = label
                    .as_deref()
                    .map(|label| HashMap::from([("label", label)]));
                let result = store
                    .build(&service, &user, modifiers.as_ref())
                    .and_then(|entry| op(&entry));
                let _ = tx.send(result);
            });
        if let Err(err) = spawned {
            return Some(Ok(Err(keyring_core::Error::PlatformFailure(Box::new(err)))));
        }
        match rx.recv_timeout(self.store_timeout) {
            Ok(result) => Some(Ok(result)),
            Err(_) => {
                self.give_up(format!(
                    "the credential store did not answer within {} s",
                    self.store_timeout.as_secs()
                ));
                Some(Err(Elapsed))
            }
        }
    }

    fn give_up(&self, reason: String) {
        *lock(&self.status) = StoreStatus::Unavailable { reason };
    }

    fn unavailable_reason(&self) -> String {
        match self.status() {
            StoreStatus::Unavailable { reason } => reason,
            StoreStatus::Available => "the credential store is not in use".to_string(),
        }
    }

    fn timed_out(&self, account_name: &str) -> CredentialError {
        CredentialError::StoreTimedOut {
            account: account_name.to_string(),
            timeout_secs: self.store_timeout.as_secs(),
        }
    }
}

fn store_error(account: &str, action: &'static str, err: keyring_core::Error) -> CredentialError {
    let reason = platform::describe_store_error(&err);
    if let keyring_core::Error::BadEncoding(bytes) | keyring_core::Error::BadDataFormat(bytes, _) =
        err
    {
        password::wipe(bytes);
    }
    CredentialError::Store {
        account: account.to_string(),
        action,
        source: StoreFailure(reason),
    }
}

/// Locks a mutex, carrying on after a panic elsewhere: the data here (a
/// status, a map of passwords) stays consistent whatever was interrupted.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests;
