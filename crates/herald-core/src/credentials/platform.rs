//! Opening and probing the OS credential store of this platform.
//!
//! Linux: the Secret Service (gnome-keyring, KeePassXC, KWallet's bridge) over
//! the D-Bus session bus. macOS: the login keychain. Windows: the Credential
//! Manager. Anything else: none, so passwords stay in memory for the session.

use std::sync::Arc;

use keyring_core::CredentialStore;

/// An opened, usable OS store.
pub(crate) struct Backend {
    pub(crate) store: Arc<CredentialStore>,
    /// The Secret Service store accepts a `label` modifier (what keyring
    /// managers such as Seahorse show); the others reject unknown modifiers.
    pub(crate) label_modifier: bool,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend")
            .field("store", &self.store.vendor())
            .finish()
    }
}

#[cfg(target_os = "linux")]
const NO_BUS: &str = "no session bus";
#[cfg(target_os = "linux")]
const NO_SERVICE: &str = "no Secret Service is running";
#[cfg(target_os = "linux")]
const NO_DEFAULT_KEYRING: &str = "the Secret Service has no default keyring";
#[cfg(target_os = "linux")]
const LOCKED: &str = "the keyring is locked";

/// Opens the platform store and checks it can be used now, or says why not
/// in words a person understands. May block on D-Bus: call it with a timeout.
#[cfg(target_os = "linux")]
pub(crate) fn open() -> Result<Backend, String> {
    use secret_service::EncryptionType;
    use secret_service::blocking::SecretService;

    // The keyring store gives no way to ask whether the default collection
    // exists or is locked without trying to write, so ask the Secret Service
    // directly first. A plain (unencrypted) session is enough: no secret
    // crosses this connection.
    {
        let service =
            SecretService::connect(EncryptionType::Plain).map_err(|err| describe(&err))?;
        let collection = service
            .get_default_collection()
            .map_err(|err| describe(&err))?;
        if collection.is_locked().map_err(|err| describe(&err))? {
            return Err(LOCKED.to_string());
        }
    }
    let store = zbus_secret_service_keyring_store::Store::new()
        .map_err(|err| describe_store_error(&err))?;
    Ok(Backend {
        store,
        label_modifier: true,
    })
}

#[cfg(target_os = "macos")]
pub(crate) fn open() -> Result<Backend, String> {
    let store = apple_native_keyring_store::keychain::Store::new()
        .map_err(|err| format!("the macOS keychain failed ({err})"))?;
    let store: Arc<CredentialStore> = store;
    check_by_reading(&store)?;
    Ok(Backend {
        store,
        label_modifier: false,
    })
}

#[cfg(target_os = "windows")]
pub(crate) fn open() -> Result<Backend, String> {
    let store = windows_native_keyring_store::Store::new()
        .map_err(|err| format!("the Windows Credential Manager failed ({err})"))?;
    let store: Arc<CredentialStore> = store;
    check_by_reading(&store)?;
    Ok(Backend {
        store,
        label_modifier: false,
    })
}

#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
pub(crate) fn open() -> Result<Backend, String> {
    Err("Herald supports no credential store on this system".to_string())
}

/// Reads an entry that should not exist: "not found" proves the store
/// answers without creating anything in it.
#[cfg(any(target_os = "macos", target_os = "windows"))]
fn check_by_reading(store: &Arc<CredentialStore>) -> Result<(), String> {
    let entry = store
        .build("herald-probe", "herald-probe", None)
        .map_err(|err| describe_store_error(&err))?;
    match entry.get_password() {
        Ok(_) | Err(keyring_core::Error::NoEntry) => Ok(()),
        Err(err) => Err(describe_store_error(&err)),
    }
}

/// Words for a failure of the store, used as the reason when it becomes
/// unusable mid-session. Never includes secret bytes.
pub(crate) fn describe_store_error(err: &keyring_core::Error) -> String {
    use keyring_core::Error;
    #[cfg(target_os = "linux")]
    {
        if let Error::PlatformFailure(inner) | Error::NoStorageAccess(inner) = err
            && let Some(ss) = inner.downcast_ref::<secret_service::Error>()
        {
            return describe(ss);
        }
    }
    match err {
        Error::NoStorageAccess(inner) => format!("the credential store refused access ({inner})"),
        Error::PlatformFailure(inner) => format!("the credential store failed ({inner})"),
        Error::BadEncoding(_) => "the stored password is not valid UTF-8".to_string(),
        Error::BadDataFormat(_, inner) => format!("the stored secret is malformed ({inner})"),
        Error::Ambiguous(entries) => format!("{} stored entries match this account", entries.len()),
        Error::NoEntry => "no entry".to_string(),
        Error::TooLong(name, limit) => {
            format!("the {name} is longer than the credential store allows ({limit} characters)")
        }
        Error::Invalid(name, problem) => {
            format!("the credential store does not accept the {name} ({problem})")
        }
        other => format!("the credential store failed ({other})"),
    }
}

#[cfg(target_os = "linux")]
fn describe(err: &secret_service::Error) -> String {
    use secret_service::Error;
    match err {
        Error::Unavailable => NO_BUS.to_string(),
        Error::Zbus(inner) => describe_zbus(inner),
        Error::ZbusFdo(inner) => describe_dbus_error(inner),
        Error::Locked | Error::Prompt | Error::PromptDisconnected => LOCKED.to_string(),
        Error::NoResult => NO_DEFAULT_KEYRING.to_string(),
        other => format!("the Secret Service failed ({other})"),
    }
}

#[cfg(target_os = "linux")]
fn describe_zbus(err: &zbus::Error) -> String {
    match err {
        zbus::Error::InputOutput(_)
        | zbus::Error::Address(_)
        | zbus::Error::Connection(..)
        | zbus::Error::Handshake(_) => NO_BUS.to_string(),
        zbus::Error::FDO(inner) => describe_dbus_error(inner.as_ref()),
        zbus::Error::MethodError(name, _, _) => describe_by_name(name.as_str(), err),
        other => format!("the Secret Service failed ({other})"),
    }
}

/// Maps a D-Bus error by its name (a protocol identifier, not prose).
#[cfg(target_os = "linux")]
fn describe_dbus_error(err: &zbus::fdo::Error) -> String {
    use zbus::DBusError;
    describe_by_name(err.name().as_str(), err)
}

#[cfg(target_os = "linux")]
fn describe_by_name(name: &str, err: &dyn std::fmt::Display) -> String {
    if name == "org.freedesktop.DBus.Error.ServiceUnknown"
        || name == "org.freedesktop.DBus.Error.NameHasNoOwner"
        || name.starts_with("org.freedesktop.DBus.Error.Spawn.")
    {
        NO_SERVICE.to_string()
    } else if name == "org.freedesktop.Secret.Error.IsLocked" {
        LOCKED.to_string()
    } else {
        format!("the Secret Service failed ({err})")
    }
}
