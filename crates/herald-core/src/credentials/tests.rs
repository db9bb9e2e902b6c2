//! Unit tests with `keyring_core::mock::Store`, passed in rather than set as
//! the process-wide default store, so tests can run in parallel.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use keyring_core::api::CredentialStoreApi;
use keyring_core::{Entry, Error, mock};

use super::*;
use crate::account::settings::tests::sample;

fn mock_store() -> (Arc<mock::Store>, PasswordStore) {
    let mock = mock::Store::new().unwrap();
    let store = PasswordStore::with_store(mock.clone(), SERVICE);
    (mock, store)
}

fn pw(text: &str) -> Password {
    Password::new(text.to_string())
}

/// The mock credential behind `(service, user)`, to inject errors.
fn inject(mock: &mock::Store, user: &str, err: Error) {
    let entry = mock.build(SERVICE, user, None).unwrap();
    let cred: &mock::Cred = entry.as_any().downcast_ref().unwrap();
    cred.set_error(err);
}

fn locked() -> Error {
    Error::NoStorageAccess(Box::new(std::io::Error::other("collection is locked")))
}

#[test]
fn set_get_delete_in_os_store() {
    let (_mock, store) = mock_store();
    let account = sample("work");
    assert_eq!(
        store.set("work", &pw("s3cret")).unwrap(),
        PasswordLocation::OsStore
    );
    assert_eq!(store.get(&account).unwrap().expose(), "s3cret");
    assert_eq!(store.state(&account), PasswordState::OsStore);
    store.delete("work").unwrap();
    assert!(matches!(
        store.get(&account),
        Err(CredentialError::NoPassword { account }) if account == "work"
    ));
    assert_eq!(store.state(&account), PasswordState::Missing);
}

#[test]
fn entry_is_service_herald_and_user_account_name() {
    let (mock, store) = mock_store();
    store.set("work", &pw("s3cret")).unwrap();
    let entry = mock.build("herald", "work", None).unwrap();
    assert_eq!(entry.get_password().unwrap(), "s3cret");
}

#[test]
fn set_replaces_existing_password() {
    let (_mock, store) = mock_store();
    store.set("work", &pw("old")).unwrap();
    store.set("work", &pw("new")).unwrap();
    assert_eq!(store.get(&sample("work")).unwrap().expose(), "new");
}

#[test]
fn deleting_a_missing_entry_is_not_an_error() {
    let (_mock, store) = mock_store();
    store.delete("never-set").unwrap();
}

#[test]
fn empty_password_is_refused() {
    let (_mock, store) = mock_store();
    let err = store.set("work", &pw("")).unwrap_err();
    assert!(matches!(err, CredentialError::EmptyPassword { .. }));
    assert_eq!(err.kind(), ErrorKind::Input);
}

#[test]
fn session_only_store_keeps_password_in_memory() {
    let store = PasswordStore::session_only(SERVICE, "no session bus");
    let account = sample("work");
    assert_eq!(
        store.status(),
        StoreStatus::Unavailable {
            reason: "no session bus".to_string()
        }
    );
    assert_eq!(store.state(&account), PasswordState::StoreUnavailable);
    assert_eq!(
        store.set("work", &pw("s3cret")).unwrap(),
        PasswordLocation::SessionOnly
    );
    assert_eq!(store.get(&account).unwrap().expose(), "s3cret");
    assert_eq!(store.state(&account), PasswordState::SessionOnly);
    // The password is gone from memory, but an entry of an earlier session
    // could not be checked: say so.
    let err = store.delete("work").unwrap_err();
    assert!(
        matches!(err, CredentialError::StoreUnavailable { .. }),
        "{err:?}"
    );
    assert!(format!("{}", std::error::Error::source(&err).unwrap()).contains("no session bus"));
    assert!(matches!(
        store.get(&account),
        Err(CredentialError::NoPassword { .. })
    ));
}

#[test]
fn locked_store_falls_back_to_session_and_says_why() {
    let (mock, store) = mock_store();
    inject(&mock, "work", locked());
    assert_eq!(
        store.set("work", &pw("s3cret")).unwrap(),
        PasswordLocation::SessionOnly
    );
    let StoreStatus::Unavailable { reason } = store.status() else {
        panic!("store should be given up on");
    };
    assert!(reason.contains("refused access"), "{reason}");
    // Nothing reached the OS store.
    let entry = mock.build(SERVICE, "work", None).unwrap();
    assert!(matches!(entry.get_password(), Err(Error::NoEntry)));
    // The session copy is found.
    assert_eq!(store.get(&sample("work")).unwrap().expose(), "s3cret");
}

#[test]
fn only_a_wanted_os_store_that_fails_is_a_problem_to_report() {
    // Working OS store: nothing to report.
    let (mock, store) = mock_store();
    assert_eq!(store.os_store_problem(), None);
    // It fails on a save: reported from then on, with the reason.
    inject(&mock, "work", locked());
    assert_eq!(
        store.set("work", &pw("s3cret")).unwrap(),
        PasswordLocation::SessionOnly
    );
    let problem = store.os_store_problem().expect("a problem to report");
    assert!(problem.contains("collection is locked"), "{problem}");
    // The probe failed at start-up: reported.
    let store = PasswordStore::unavailable(SERVICE, "no session bus");
    assert_eq!(store.os_store_problem().as_deref(), Some("no session bus"));
    assert_eq!(
        store.set("work", &pw("s3cret")).unwrap(),
        PasswordLocation::SessionOnly
    );
    // Session-only by choice (the demo): not a problem.
    let store = PasswordStore::session_only(SERVICE, "the demo keeps it in memory");
    assert_eq!(store.os_store_problem(), None);
    assert!(matches!(store.status(), StoreStatus::Unavailable { .. }));
}

#[test]
fn store_read_error_is_not_reported_as_missing() {
    let (mock, store) = mock_store();
    store.set("work", &pw("s3cret")).unwrap();
    inject(&mock, "work", locked());
    let err = store.get(&sample("work")).unwrap_err();
    assert!(
        matches!(err, CredentialError::Store { action: "read", .. }),
        "{err:?}"
    );
    assert_eq!(err.kind(), ErrorKind::Credentials);
}

#[test]
fn invalid_value_is_an_error_not_a_fallback() {
    let (mock, store) = mock_store();
    inject(&mock, "work", Error::TooLong("password".to_string(), 10));
    let err = store.set("work", &pw("s3cret")).unwrap_err();
    assert!(
        matches!(err, CredentialError::Store { action: "save", .. }),
        "{err:?}"
    );
    assert_eq!(store.status(), StoreStatus::Available);
}

#[test]
fn a_refused_password_kept_for_the_session_wins_over_an_older_one_in_the_store() {
    let (mock, store) = mock_store();
    let account = sample("work");
    store.set("work", &pw("old")).unwrap();
    inject(&mock, "work", Error::TooLong("password".to_string(), 10));
    store.set("work", &pw("new")).unwrap_err();
    store.set_for_session("work", &pw("new")).unwrap();
    assert_eq!(store.get(&account).unwrap().expose(), "new");
    assert_eq!(store.state(&account), PasswordState::SessionOnly);
    // The store still works and still has the old one; a later save there
    // replaces the session copy.
    assert_eq!(store.status(), StoreStatus::Available);
    store.set("work", &pw("newer")).unwrap();
    assert_eq!(store.get(&account).unwrap().expose(), "newer");
    assert_eq!(store.state(&account), PasswordState::OsStore);
    assert!(matches!(
        store.set_for_session("work", &pw("")),
        Err(CredentialError::EmptyPassword { .. })
    ));
}

#[test]
fn stored_bytes_never_reach_errors() {
    let (mock, store) = mock_store();
    let entry = mock.build(SERVICE, "work", None).unwrap();
    entry.set_secret(b"hunter2\xff").unwrap();
    let err = store.get(&sample("work")).unwrap_err();
    let shown = format!("{err} {err:?} {:?}", std::error::Error::source(&err));
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(!shown.contains("104, 117, 110"), "{shown}"); // b"hun" as a Debug list
    assert!(shown.contains("not valid UTF-8"), "{shown}");
}

#[test]
fn debug_of_store_hides_session_passwords() {
    let store = PasswordStore::session_only(SERVICE, "no session bus");
    store.set("work", &pw("s3cret")).unwrap();
    let shown = format!("{store:?}");
    assert!(!shown.contains("s3cret"), "{shown}");
    assert!(shown.contains("session_passwords: 1"), "{shown}");
}

#[cfg(unix)]
#[test]
fn password_command_wins_over_store() {
    let (_mock, store) = mock_store();
    store.set("work", &pw("from-store")).unwrap();
    let mut account = sample("work");
    account.password_command = Some("printf 'from-command\\n'".to_string());
    assert_eq!(store.get(&account).unwrap().expose(), "from-command");
    assert_eq!(store.state(&account), PasswordState::Command);
}

#[cfg(unix)]
#[test]
fn password_command_failure_is_classified() {
    let (_mock, store) = mock_store();
    let mut account = sample("work");
    account.password_command =
        Some("echo 'pass: mail/work is not in the store' >&2; exit 1".into());
    let err = store.get(&account).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Credentials);
    assert!(
        err.to_string()
            .ends_with("failed (exit status 1): pass: mail/work is not in the store"),
        "{err}"
    );
}

#[cfg(unix)]
#[test]
fn password_command_timeout() {
    let mock = mock::Store::new().unwrap();
    let store = PasswordStore::with_store(mock, SERVICE)
        .with_timeouts(STORE_TIMEOUT, Duration::from_millis(200));
    let mut account = sample("work");
    account.password_command = Some("sleep 20".to_string());
    let started = Instant::now();
    let err = store.get(&account).unwrap_err();
    assert!(
        matches!(err, CredentialError::CommandTimedOut { .. }),
        "{err:?}"
    );
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn rename_moves_the_entry() {
    let (mock, store) = mock_store();
    store.set("old", &pw("s3cret")).unwrap();
    assert_eq!(
        store.rename("old", "new").unwrap(),
        Some(PasswordLocation::OsStore)
    );
    assert_eq!(store.get(&sample("new")).unwrap().expose(), "s3cret");
    let old = mock.build(SERVICE, "old", None).unwrap();
    assert!(matches!(old.get_password(), Err(Error::NoEntry)));
    assert_eq!(store.rename("absent", "other").unwrap(), None);
}

#[test]
fn rename_in_session_memory() {
    let store = PasswordStore::session_only(SERVICE, "no session bus");
    store.set("old", &pw("s3cret")).unwrap();
    assert_eq!(
        store.rename("old", "new").unwrap(),
        Some(PasswordLocation::SessionOnly)
    );
    assert_eq!(store.get(&sample("new")).unwrap().expose(), "s3cret");
    assert!(matches!(
        store.get(&sample("old")),
        Err(CredentialError::NoPassword { .. })
    ));
}

#[test]
fn profiles_use_separate_services() {
    let default_profile = crate::account::Profile::resolve(None);
    if let Ok(profile) = default_profile
        && profile.root().is_none()
    {
        assert_eq!(service_name(&profile), "herald");
    }
    let a = service_name(&Profile::at("/tmp/profile-a"));
    let b = service_name(&Profile::at("/tmp/profile-b"));
    assert_eq!(a, "herald:/tmp/profile-a");
    assert_ne!(a, b);

    // Same account name, two profiles, one OS store: no crosstalk.
    let mock = mock::Store::new().unwrap();
    let store_a = PasswordStore::with_store(mock.clone(), a);
    let store_b = PasswordStore::with_store(mock, b);
    store_a.set("work", &pw("for-a")).unwrap();
    assert!(matches!(
        store_b.get(&sample("work")),
        Err(CredentialError::NoPassword { .. })
    ));
    store_b.delete("work").unwrap();
    assert_eq!(store_a.get(&sample("work")).unwrap().expose(), "for-a");
}

/// A store whose every call hangs, like a keyring daemon that stopped
/// answering.
#[derive(Debug)]
struct HangingStore;

impl CredentialStoreApi for HangingStore {
    fn vendor(&self) -> String {
        "hanging".to_string()
    }

    fn id(&self) -> String {
        "hanging".to_string()
    }

    fn build(
        &self,
        _: &str,
        _: &str,
        _: Option<&HashMap<&str, &str>>,
    ) -> keyring_core::Result<Entry> {
        std::thread::sleep(Duration::from_secs(3));
        Err(Error::NoEntry)
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

#[test]
fn hung_store_times_out_once_then_is_bypassed() {
    let store = PasswordStore::with_store(Arc::new(HangingStore), SERVICE)
        .with_timeouts(Duration::from_millis(100), COMMAND_TIMEOUT);
    let started = Instant::now();
    let err = store.get(&sample("work")).unwrap_err();
    assert!(
        matches!(err, CredentialError::StoreTimedOut { .. }),
        "{err:?}"
    );
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert!(matches!(store.status(), StoreStatus::Unavailable { .. }));
    // Later calls go straight to session memory.
    assert_eq!(
        store.set("work", &pw("s3cret")).unwrap(),
        PasswordLocation::SessionOnly
    );
    assert_eq!(store.get(&sample("work")).unwrap().expose(), "s3cret");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn open_never_takes_longer_than_the_probe_limit() {
    // Whatever this machine has (no bus, a bus, a keyring), opening is bounded.
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let store = PasswordStore::open(&Profile::at(dir.path()));
    assert!(started.elapsed() < PROBE_TIMEOUT + Duration::from_secs(1));
    if let StoreStatus::Unavailable { reason } = store.status() {
        assert!(!reason.is_empty());
    }
}
