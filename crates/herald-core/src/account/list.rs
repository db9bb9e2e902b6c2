//! `accounts.toml`: loading, validating and saving it atomically.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use super::{Account, AccountError, Profile};

/// The first lines of every saved file, for a person who opens it.
const HEADER: &str = "# Herald accounts. Herald rewrites this file when accounts change.\n\
# Passwords are never stored here: they live in the OS keyring, come from\n\
# password_command, or are set with `herald account set-password NAME`.\n\n";

/// The on-disk shape: `[[account]]` tables.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountsFile {
    #[serde(default, rename = "account")]
    accounts: Vec<Account>,
}

/// All accounts of a profile, in the order they were added.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountList {
    accounts: Vec<Account>,
}

impl AccountList {
    /// Reads `accounts.toml` of `profile`. A missing file is an empty list
    /// (a fresh profile), not an error.
    ///
    /// Syntax errors and unknown keys are reported with the file and line;
    /// every account is validated and names must be unique.
    pub fn load(profile: &Profile) -> Result<AccountList, AccountError> {
        let path = profile.accounts_file();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Ok(AccountList::default());
            }
            Err(source) => return Err(AccountError::Read { path, source }),
        };
        let file: AccountsFile = toml::from_str(&text).map_err(|err| AccountError::Parse {
            line: err
                .span()
                .map(|span| line_of(&text, span.start))
                .unwrap_or(1),
            message: err.message().trim().to_string(),
            path: path.clone(),
        })?;
        let mut list = AccountList::default();
        for account in file.accounts {
            list.insert_validated(account)
                .map_err(|source| AccountError::InvalidFile {
                    path: path.clone(),
                    source: Box::new(source),
                })?;
        }
        Ok(list)
    }

    /// Writes the list to `accounts.toml` of `profile`, atomically: a
    /// temporary file in the same folder is written, flushed to disk and
    /// renamed over the old one, so a crash leaves either the old or the new
    /// file, never half of one. On Unix the file is readable by its owner only
    /// (mode 0600) and a newly created folder gets mode 0700.
    pub fn save(&self, profile: &Profile) -> Result<(), AccountError> {
        let path = profile.accounts_file();
        let file = AccountsFile {
            accounts: self.accounts.clone(),
        };
        let body = toml::to_string(&file).map_err(|err| AccountError::Write {
            path: path.clone(),
            source: std::io::Error::other(err),
        })?;
        let text = format!("{HEADER}{body}");
        write_atomically(&path, text.as_bytes())
            .map_err(|source| AccountError::Write { path, source })
    }

    /// Adds an account after checking it, including its CA file.
    pub fn add(&mut self, account: Account) -> Result<(), AccountError> {
        account.check_ca_file()?;
        self.insert_validated(account)
    }

    /// Removes and returns the account called `name`.
    pub fn remove(&mut self, name: &str) -> Result<Account, AccountError> {
        let index = self
            .accounts
            .iter()
            .position(|account| account.name == name)
            .ok_or_else(|| AccountError::NotFound(name.to_string()))?;
        Ok(self.accounts.remove(index))
    }

    /// Renames an account. Its stored password must be moved too: see
    /// [`crate::credentials::PasswordStore::rename`].
    pub fn rename(&mut self, old_name: &str, new_name: &str) -> Result<(), AccountError> {
        if old_name == new_name {
            return if self.get(old_name).is_some() {
                Ok(())
            } else {
                Err(AccountError::NotFound(old_name.to_string()))
            };
        }
        if self.get(new_name).is_some() {
            return Err(AccountError::Duplicate(new_name.to_string()));
        }
        let account = self
            .accounts
            .iter_mut()
            .find(|account| account.name == old_name)
            .ok_or_else(|| AccountError::NotFound(old_name.to_string()))?;
        let mut renamed = account.clone();
        renamed.name = new_name.to_string();
        renamed.validate()?;
        *account = renamed;
        Ok(())
    }

    /// The account called `name`.
    pub fn get(&self, name: &str) -> Option<&Account> {
        self.accounts.iter().find(|account| account.name == name)
    }

    /// All accounts, in the order they were added.
    pub fn iter(&self) -> std::slice::Iter<'_, Account> {
        self.accounts.iter()
    }

    /// How many accounts there are.
    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    /// True if there are no accounts.
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }

    fn insert_validated(&mut self, account: Account) -> Result<(), AccountError> {
        account.validate()?;
        if self.get(&account.name).is_some() {
            return Err(AccountError::Duplicate(account.name));
        }
        self.accounts.push(account);
        Ok(())
    }
}

impl<'a> IntoIterator for &'a AccountList {
    type Item = &'a Account;
    type IntoIter = std::slice::Iter<'a, Account>;

    fn into_iter(self) -> Self::IntoIter {
        self.accounts.iter()
    }
}

/// 1-based line number of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Write to a temporary sibling, fsync, rename over `path`, fsync the folder.
pub(super) fn write_atomically(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);

    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other("the settings file has no parent folder"))?;
    create_private_dir_all(dir)?;
    let file_name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(
        ".{file_name}.{}.{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));

    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let result = (|| {
        let mut file = options.open(&temp)?;
        file.write_all(contents)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&temp, path)?;
        sync_dir(dir)
    })();
    if result.is_err() {
        // Best effort: the temporary file is useless after a failure.
        let _ = std::fs::remove_file(&temp);
    }
    result
}

fn create_private_dir_all(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Makes the rename itself durable (Unix); Windows has no folder fsync.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::account::settings::tests::sample;
    use crate::account::{DeletionPolicy, Pop3Security, SmtpSecurity};

    fn profile() -> (tempfile::TempDir, Profile) {
        let dir = tempfile::tempdir().unwrap();
        let profile = Profile::at(dir.path());
        (dir, profile)
    }

    #[test]
    fn missing_file_is_an_empty_list() {
        let (_dir, profile) = profile();
        let list = AccountList::load(&profile).unwrap();
        assert!(list.is_empty());
    }

    #[test]
    fn toml_round_trip_keeps_every_setting() {
        let (dir, profile) = profile();
        let mut list = AccountList::default();
        list.add(sample("home")).unwrap();
        let mut work = sample("work");
        work.username = Some("w.login".to_string());
        work.smtp.security = SmtpSecurity::StartTls;
        work.smtp.port = 587;
        work.pop3.security = Pop3Security::Stls;
        work.pop3.host = "::1".to_string();
        work.pop3.port = 110;
        work.deletion_policy = DeletionPolicy::DeleteAfterDays { days: 14 };
        work.max_message_size_bytes = Some(10_000_000);
        work.password_command = Some("pass show mail/work".to_string());
        let ca = dir.path().join("ca.pem");
        std::fs::write(
            &ca,
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        work.extra_ca_file = Some(ca);
        list.add(work).unwrap();
        let mut other = sample("other");
        other.deletion_policy = DeletionPolicy::DeleteWhenDeletedLocally;
        list.add(other).unwrap();
        let mut last = sample("last");
        last.deletion_policy = DeletionPolicy::DeleteAfterDownload;
        list.add(last).unwrap();

        list.save(&profile).unwrap();
        let loaded = AccountList::load(&profile).unwrap();
        assert_eq!(loaded, list);
        let names: Vec<&str> = loaded.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["home", "work", "other", "last"]);

        let text = std::fs::read_to_string(profile.accounts_file()).unwrap();
        assert!(text.contains("security = \"starttls\""), "{text}");
        assert!(text.contains("policy = \"delete-after-days\""), "{text}");
        assert!(!text.to_lowercase().contains("password ="), "{text}");
    }

    #[cfg(unix)]
    #[test]
    fn saved_file_is_private_and_no_temp_file_is_left() {
        use std::os::unix::fs::PermissionsExt;
        let (_dir, profile) = profile();
        let mut list = AccountList::default();
        list.add(sample("work")).unwrap();
        list.save(&profile).unwrap();
        list.save(&profile).unwrap();
        let mode = std::fs::metadata(profile.accounts_file())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let entries: Vec<_> = std::fs::read_dir(profile.config_dir())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(entries, ["accounts.toml"]);
    }

    #[test]
    fn duplicate_name_is_rejected() {
        let mut list = AccountList::default();
        list.add(sample("work")).unwrap();
        assert!(matches!(
            list.add(sample("work")),
            Err(AccountError::Duplicate(name)) if name == "work"
        ));
    }

    #[test]
    fn remove_and_get() {
        let mut list = AccountList::default();
        list.add(sample("a")).unwrap();
        list.add(sample("b")).unwrap();
        assert_eq!(list.remove("a").unwrap().name, "a");
        assert!(list.get("a").is_none());
        assert!(list.get("b").is_some());
        assert!(matches!(list.remove("a"), Err(AccountError::NotFound(_))));
        assert_eq!(list.len(), 1);
    }

    #[test]
    fn rename_refuses_existing_name() {
        let mut list = AccountList::default();
        list.add(sample("a")).unwrap();
        list.add(sample("b")).unwrap();
        assert!(matches!(
            list.rename("a", "b"),
            Err(AccountError::Duplicate(_))
        ));
        list.rename("a", "c").unwrap();
        assert!(list.get("c").is_some() && list.get("a").is_none());
    }

    #[test]
    fn unknown_key_names_file_and_line() {
        let (_dir, profile) = profile();
        std::fs::create_dir_all(profile.config_dir()).unwrap();
        std::fs::write(
            profile.accounts_file(),
            "[[account]]\n\
             name = \"work\"\n\
             email_addr = \"me@example.com\"\n\
             password = \"hunter2\"\n\
             smtp = { host = \"s\", port = 465 }\n\
             pop3 = { host = \"p\", port = 995 }\n",
        )
        .unwrap();
        let err = AccountList::load(&profile).unwrap_err();
        let AccountError::Parse {
            line,
            ref message,
            ref path,
        } = err
        else {
            panic!("expected a parse error, got {err:?}");
        };
        assert_eq!(line, 4);
        assert!(message.contains("password"), "{message}");
        assert_eq!(path, &profile.accounts_file());
        let text = err.to_string();
        assert!(text.contains("line 4"), "{text}");
        assert!(text.ends_with("accounts.toml"), "{text}");
        // The value of the unknown key must not be echoed.
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[test]
    fn invalid_account_in_file_is_reported_with_the_file() {
        let (_dir, profile) = profile();
        std::fs::create_dir_all(profile.config_dir()).unwrap();
        std::fs::write(
            profile.accounts_file(),
            "[[account]]\n\
             name = \"work\"\n\
             email_addr = \"no-at-sign\"\n\
             smtp = { host = \"s\", port = 465 }\n\
             pop3 = { host = \"p\", port = 995 }\n",
        )
        .unwrap();
        let err = AccountList::load(&profile).unwrap_err();
        assert!(matches!(err, AccountError::InvalidFile { .. }), "{err:?}");
    }

    #[test]
    fn minimal_file_gets_defaults() {
        let (_dir, profile) = profile();
        std::fs::create_dir_all(profile.config_dir()).unwrap();
        std::fs::write(
            profile.accounts_file(),
            "[[account]]\n\
             name = \"work\"\n\
             email_addr = \"me@example.com\"\n\
             smtp = { host = \"s\", port = 465 }\n\
             pop3 = { host = \"p\", port = 995 }\n",
        )
        .unwrap();
        let list = AccountList::load(&profile).unwrap();
        let account = list.get("work").unwrap();
        assert_eq!(account.smtp.security, SmtpSecurity::ImplicitTls);
        assert_eq!(account.pop3.security, Pop3Security::ImplicitTls);
        assert_eq!(account.deletion_policy, DeletionPolicy::LeaveOnServer);
        assert_eq!(account.login_name(), "me@example.com");
    }

    #[test]
    fn port_out_of_range_is_a_parse_error() {
        let (_dir, profile) = profile();
        std::fs::create_dir_all(profile.config_dir()).unwrap();
        std::fs::write(
            profile.accounts_file(),
            "[[account]]\nname = \"w\"\nemail_addr = \"a@b\"\n\
             smtp = { host = \"s\", port = 70000 }\npop3 = { host = \"p\", port = 995 }\n",
        )
        .unwrap();
        assert!(matches!(
            AccountList::load(&profile),
            Err(AccountError::Parse { line: 4, .. })
        ));
    }
}
