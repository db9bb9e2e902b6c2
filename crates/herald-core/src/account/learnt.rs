//! What Herald learnt from each account's SMTP server, kept between runs in
//! `smtp-limits.toml` in the profile's data folder.
//!
//! These are facts a server told us (its EHLO SIZE), not settings a person
//! chose, so they stay out of `accounts.toml`: that file is the user's,
//! rewritten only when they change an account, and learning must never race
//! with an edit there. Each entry records the host and port it came from, so
//! a value is forgotten as soon as the account points at another server. The
//! file is a cache: losing it only means the window warns with the common
//! 25 MB limit until the server is reached again.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{Account, AccountError, Profile};
use crate::smtp::SmtpLimits;

const HEADER: &str = "# What Herald learnt from each account's SMTP server (its EHLO reply).\n\
# Not settings: Herald rewrites this file as it learns, and it may be deleted.\n\n";

/// One account's entry: the server it was learnt from and what it said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    host: String,
    port: u16,
    /// Absent: the server set no size limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_message_size_bytes: Option<u64>,
}

/// The on-disk shape: `[account."NAME"]` tables. Unknown keys are ignored
/// (this is a cache a later version may extend).
#[derive(Default, Serialize, Deserialize)]
struct LearntFile {
    #[serde(default)]
    account: BTreeMap<String, Entry>,
}

/// The SMTP limits learnt for the accounts of a profile, by account name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LearntSmtpLimits {
    entries: BTreeMap<String, Entry>,
}

impl LearntSmtpLimits {
    /// `smtp-limits.toml` in the profile's data folder.
    pub fn path(profile: &Profile) -> PathBuf {
        profile.data_dir().join("smtp-limits.toml")
    }

    /// Reads what was learnt. A missing file is nothing learnt yet.
    pub fn load(profile: &Profile) -> Result<LearntSmtpLimits, AccountError> {
        let path = LearntSmtpLimits::path(profile);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Ok(LearntSmtpLimits::default());
            }
            Err(source) => return Err(AccountError::Read { path, source }),
        };
        let file: LearntFile = toml::from_str(&text).map_err(|err| AccountError::Parse {
            line: err
                .span()
                .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1)
                .unwrap_or(1),
            message: err.message().trim().to_string(),
            path: path.clone(),
        })?;
        Ok(LearntSmtpLimits {
            entries: file.account,
        })
    }

    /// Writes the file atomically (see [`super::AccountList::save`]).
    pub fn save(&self, profile: &Profile) -> Result<(), AccountError> {
        let path = LearntSmtpLimits::path(profile);
        let file = LearntFile {
            account: self.entries.clone(),
        };
        let body = toml::to_string(&file).map_err(|err| AccountError::Write {
            path: path.clone(),
            source: std::io::Error::other(err),
        })?;
        super::list::write_atomically(&path, format!("{HEADER}{body}").as_bytes())
            .map_err(|source| AccountError::Write { path, source })
    }

    /// What `account`'s SMTP server said, if it was learnt from the server
    /// the account uses now.
    pub fn get(&self, account: &Account) -> Option<SmtpLimits> {
        self.entries
            .get(&account.name)
            .filter(|entry| entry.host == account.smtp.host && entry.port == account.smtp.port)
            .map(|entry| SmtpLimits {
                max_message_size_bytes: entry.max_message_size_bytes,
            })
    }

    /// Remembers what `account`'s SMTP server said; true if that changed
    /// anything (so the file needs saving).
    pub fn record(&mut self, account: &Account, limits: SmtpLimits) -> bool {
        let entry = Entry {
            host: account.smtp.host.clone(),
            port: account.smtp.port,
            max_message_size_bytes: limits.max_message_size_bytes,
        };
        if self.entries.get(&account.name) == Some(&entry) {
            return false;
        }
        self.entries.insert(account.name.clone(), entry);
        true
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::account::settings::tests::sample;

    fn limit(bytes: Option<u64>) -> SmtpLimits {
        SmtpLimits {
            max_message_size_bytes: bytes,
        }
    }

    #[test]
    fn learnt_limits_survive_a_restart_and_a_missing_file_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let profile = Profile::at(dir.path());
        assert_eq!(
            LearntSmtpLimits::load(&profile).unwrap(),
            LearntSmtpLimits::default()
        );
        let work = sample("work");
        let home = sample("家");
        let mut learnt = LearntSmtpLimits::default();
        assert!(learnt.record(&work, limit(Some(10_240_000))));
        assert!(!learnt.record(&work, limit(Some(10_240_000))), "unchanged");
        assert!(learnt.record(&home, limit(None)));
        learnt.save(&profile).unwrap();

        let again = LearntSmtpLimits::load(&profile).unwrap();
        assert_eq!(again.get(&work), Some(limit(Some(10_240_000))));
        assert_eq!(
            again.get(&home),
            Some(limit(None)),
            "no limit is a fact too"
        );
        assert_eq!(again.get(&sample("other")), None);
        let text = std::fs::read_to_string(LearntSmtpLimits::path(&profile)).unwrap();
        assert!(text.starts_with("# What Herald learnt"), "{text}");
    }

    #[test]
    fn a_limit_is_forgotten_when_the_account_moves_to_another_server() {
        let mut account = sample("work");
        let mut learnt = LearntSmtpLimits::default();
        learnt.record(&account, limit(Some(5_000_000)));
        account.smtp.port = 587;
        assert_eq!(learnt.get(&account), None);
        account.smtp.port = 465;
        account.smtp.host = "mail.example.net".into();
        assert_eq!(learnt.get(&account), None);
    }

    #[test]
    fn a_damaged_file_is_an_error_with_its_path_and_unknown_keys_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let profile = Profile::at(dir.path());
        let path = LearntSmtpLimits::path(&profile);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "[account.work]\nhost = 3\n").unwrap();
        let error = LearntSmtpLimits::load(&profile).unwrap_err();
        assert!(crate::error::describe(&error).contains("smtp-limits.toml"));
        std::fs::write(
            &path,
            "future = 1\n[account.work]\nhost = \"smtp.example.com\"\nport = 465\nseen = 2\n",
        )
        .unwrap();
        let learnt = LearntSmtpLimits::load(&profile).unwrap();
        assert_eq!(learnt.get(&sample("work")), Some(limit(None)));
    }
}
