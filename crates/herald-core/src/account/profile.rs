//! Where settings and data live.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::AccountError;

/// The folders one Herald identity uses: configuration (`accounts.toml`) and
/// data (downloaded mail).
///
/// Chosen once at start-up, in this order:
/// 1. an explicit folder (`--profile DIR`): config in `DIR/config`, data in
///    `DIR/data`;
/// 2. the `HERALD_HOME` environment variable, laid out the same way;
/// 3. the XDG base directories: `$XDG_CONFIG_HOME/herald` (or
///    `~/.config/herald`) and `$XDG_DATA_HOME/herald` (or
///    `~/.local/share/herald`).
///
/// An explicit profile also gets its own namespace in the OS credential store
/// (see [`crate::credentials::service_name`]), so a test profile can never
/// read, overwrite or delete the passwords of the user's real accounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    config_dir: PathBuf,
    data_dir: PathBuf,
    root: Option<PathBuf>,
}

impl Profile {
    /// Picks the profile: `explicit` (from `--profile`) wins, then
    /// `HERALD_HOME`, then the XDG folders.
    ///
    /// Fails only when none is given and no home folder is known.
    pub fn resolve(explicit: Option<&Path>) -> Result<Profile, AccountError> {
        resolve_from(
            explicit,
            std::env::var_os("HERALD_HOME"),
            std::env::var_os("XDG_CONFIG_HOME"),
            std::env::var_os("XDG_DATA_HOME"),
            std::env::home_dir(),
        )
    }

    /// A self-contained profile under `dir`: config in `dir/config`, data in
    /// `dir/data`.
    ///
    /// A relative `dir` is made absolute against the current folder, so the
    /// same profile is found (and has the same credential namespace) from any
    /// later working folder.
    pub fn at(dir: impl AsRef<Path>) -> Profile {
        let dir = dir.as_ref();
        let root = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        Profile {
            config_dir: root.join("config"),
            data_dir: root.join("data"),
            root: Some(root),
        }
    }

    /// The folder holding `accounts.toml`.
    pub fn config_dir(&self) -> &Path {
        &self.config_dir
    }

    /// The folder holding downloaded mail and other local state.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The folder of one account's local mailbox (Maildir and index):
    /// `data_dir/mail/<safe name>-<hash>`. The name is sanitised for the file
    /// system and a short hash of the exact name keeps two accounts whose
    /// names sanitise alike apart.
    pub fn mailbox_dir(&self, account_name: &str) -> PathBuf {
        let hash = crate::digest::sha256_hex(account_name.as_bytes());
        let safe =
            crate::attachment::sanitize_filename(Some(account_name), "application/octet-stream");
        self.data_dir
            .join("mail")
            .join(format!("{safe}-{}", &hash[..8]))
    }

    /// `config_dir/accounts.toml`.
    pub fn accounts_file(&self) -> PathBuf {
        self.config_dir.join("accounts.toml")
    }

    /// The profile folder for an explicit profile (`--profile` or
    /// `HERALD_HOME`); `None` for the per-user default profile.
    pub fn root(&self) -> Option<&Path> {
        self.root.as_deref()
    }
}

/// [`Profile::resolve`] with its environment passed in, so it can be tested
/// without touching the process environment.
fn resolve_from(
    explicit: Option<&Path>,
    herald_home: Option<OsString>,
    xdg_config_home: Option<OsString>,
    xdg_data_home: Option<OsString>,
    home: Option<PathBuf>,
) -> Result<Profile, AccountError> {
    if let Some(dir) = explicit {
        return Ok(Profile::at(dir));
    }
    if let Some(dir) = herald_home.filter(|dir| !dir.is_empty()) {
        return Ok(Profile::at(PathBuf::from(dir)));
    }
    // The XDG spec says relative values are invalid and must be ignored.
    let absolute =
        |value: Option<OsString>| value.map(PathBuf::from).filter(|path| path.is_absolute());
    let home = home.filter(|home| !home.as_os_str().is_empty());
    let config_base = match absolute(xdg_config_home) {
        Some(base) => base,
        None => home
            .as_ref()
            .ok_or(AccountError::NoHomeDir)?
            .join(".config"),
    };
    let data_base = match absolute(xdg_data_home) {
        Some(base) => base,
        None => home
            .as_ref()
            .ok_or(AccountError::NoHomeDir)?
            .join(".local")
            .join("share"),
    };
    Ok(Profile {
        config_dir: config_base.join("herald"),
        data_dir: data_base.join("herald"),
        root: None,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn os(value: &str) -> Option<OsString> {
        Some(OsString::from(value))
    }

    #[test]
    fn explicit_profile_wins_over_herald_home_and_xdg() {
        let profile = resolve_from(
            Some(Path::new("/p")),
            os("/h"),
            os("/x/config"),
            os("/x/data"),
            Some(PathBuf::from("/home/u")),
        )
        .unwrap();
        assert_eq!(profile.config_dir(), Path::new("/p/config"));
        assert_eq!(profile.data_dir(), Path::new("/p/data"));
        assert_eq!(
            profile.accounts_file(),
            Path::new("/p/config/accounts.toml")
        );
        assert_eq!(profile.root(), Some(Path::new("/p")));
    }

    #[test]
    fn herald_home_wins_over_xdg() {
        let profile = resolve_from(None, os("/h"), os("/x/config"), None, None).unwrap();
        assert_eq!(profile.config_dir(), Path::new("/h/config"));
        assert_eq!(profile.data_dir(), Path::new("/h/data"));
    }

    #[test]
    fn empty_herald_home_is_ignored() {
        let profile =
            resolve_from(None, os(""), None, None, Some(PathBuf::from("/home/u"))).unwrap();
        assert_eq!(profile.config_dir(), Path::new("/home/u/.config/herald"));
        assert_eq!(profile.root(), None);
    }

    #[test]
    fn xdg_dirs_are_used_when_absolute() {
        let profile = resolve_from(
            None,
            None,
            os("/x/config"),
            os("/x/data"),
            Some(PathBuf::from("/home/u")),
        )
        .unwrap();
        assert_eq!(profile.config_dir(), Path::new("/x/config/herald"));
        assert_eq!(profile.data_dir(), Path::new("/x/data/herald"));
    }

    #[test]
    fn relative_xdg_dirs_fall_back_to_home() {
        let profile = resolve_from(
            None,
            None,
            os("rel/config"),
            os("rel/data"),
            Some(PathBuf::from("/home/u")),
        )
        .unwrap();
        assert_eq!(profile.config_dir(), Path::new("/home/u/.config/herald"));
        assert_eq!(profile.data_dir(), Path::new("/home/u/.local/share/herald"));
    }

    #[test]
    fn no_home_and_no_override_is_an_error() {
        let err = resolve_from(None, None, None, None, None).unwrap_err();
        assert!(matches!(err, AccountError::NoHomeDir));
    }

    #[test]
    fn relative_profile_is_made_absolute() {
        let profile = Profile::at("some/profile");
        assert!(profile.config_dir().is_absolute());
        assert!(profile.config_dir().ends_with("some/profile/config"));
    }
}
