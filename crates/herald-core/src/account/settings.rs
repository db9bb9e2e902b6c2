//! One account's settings, as stored in `accounts.toml`.
//!
//! Keys are `snake_case`; enum values are `kebab-case`, the same words the
//! command line uses (`implicit-tls`, `starttls`, `stls`,
//! `delete-after-days`). Unknown keys are rejected so that a typo such as
//! `delete_polcy` is reported instead of silently ignored.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{AccountError, HostPort};

/// Longest account name, in characters: it is shown in lists and used as the
/// credential-store user name, both of which want something short.
pub const MAX_NAME_CHARS: usize = 64;

/// The largest CA file we read, so a wrong path (say, a disk image) cannot
/// exhaust memory.
const MAX_CA_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// One mail account: who it is and how to reach its servers.
///
/// There is deliberately no password field: see [`crate::credentials`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// Unique within a profile; 1–64 characters, no control characters.
    /// Also the user name of the account's credential-store entry.
    pub name: String,
    /// The address mail is sent from (`From:`).
    pub email_addr: String,
    /// The name shown next to the address in `From:`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The login name for SMTP and POP3, when it differs from
    /// [`Account::email_addr`]; see [`Account::login_name`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The outgoing server.
    pub smtp: SmtpServer,
    /// The incoming server.
    pub pop3: Pop3Server,
    /// A PEM file with one more CA to trust, for self-hosted servers whose
    /// certificate is not signed by a public CA. Certificate checks are never
    /// switched off; this is the supported way to trust such a server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_ca_file: Option<PathBuf>,
    /// When downloaded messages are deleted from the POP3 server.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
    /// Messages larger than this are not downloaded automatically.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_message_size_bytes: Option<u64>,
    /// A shell command that prints the password (for example
    /// `pass show mail/work`). When set, it is used instead of the credential
    /// store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_command: Option<String>,
    /// Server certificates the user chose to trust for this account although
    /// they did not verify (self-signed, private CA), each pinned by its
    /// SHA-256 fingerprint in lowercase hex. Only exactly these certificates
    /// are accepted; everything else is still verified normally.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trusted_certificates: Vec<String>,
    /// Text added below new messages, after a `-- ` line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// How often the window gets mail on its own, in minutes; `None` means
    /// only when asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_interval_minutes: Option<u32>,
}

/// The SMTP server of an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpServer {
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    /// TCP port, 1–65535.
    pub port: u16,
    /// How the connection is protected.
    #[serde(default)]
    pub security: SmtpSecurity,
}

/// How an SMTP connection is protected. Plain-text SMTP is not offered: it
/// would send the password in the clear.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SmtpSecurity {
    /// TLS from the first byte (RFC 8314), usually port 465.
    #[default]
    ImplicitTls,
    /// Plain connection upgraded with STARTTLS (RFC 3207), usually port 587;
    /// refused if the server does not offer it.
    #[serde(rename = "starttls")]
    StartTls,
}

impl SmtpSecurity {
    /// The usual port for this mode.
    pub fn default_port(self) -> u16 {
        match self {
            SmtpSecurity::ImplicitTls => 465,
            SmtpSecurity::StartTls => 587,
        }
    }

    /// The name used in `accounts.toml`, JSON output and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            SmtpSecurity::ImplicitTls => "implicit-tls",
            SmtpSecurity::StartTls => "starttls",
        }
    }
}

impl SmtpServer {
    /// A server from a parsed `HOST[:PORT]`, filling in the mode's usual port.
    pub fn new(host_port: HostPort, security: SmtpSecurity) -> SmtpServer {
        SmtpServer {
            port: host_port.port.unwrap_or(security.default_port()),
            host: host_port.host,
            security,
        }
    }
}

/// The POP3 server of an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pop3Server {
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    /// TCP port, 1–65535.
    pub port: u16,
    /// How the connection is protected.
    #[serde(default)]
    pub security: Pop3Security,
}

/// How a POP3 connection is protected. Plain-text POP3 is not offered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pop3Security {
    /// TLS from the first byte (RFC 8314), usually port 995.
    #[default]
    ImplicitTls,
    /// Plain connection upgraded with STLS (RFC 2595 §4), usually port 110;
    /// refused if the server does not offer it.
    Stls,
}

impl Pop3Security {
    /// The usual port for this mode.
    pub fn default_port(self) -> u16 {
        match self {
            Pop3Security::ImplicitTls => 995,
            Pop3Security::Stls => 110,
        }
    }

    /// The name used in `accounts.toml`, JSON output and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Pop3Security::ImplicitTls => "implicit-tls",
            Pop3Security::Stls => "stls",
        }
    }
}

impl Pop3Server {
    /// A server from a parsed `HOST[:PORT]`, filling in the mode's usual port.
    pub fn new(host_port: HostPort, security: Pop3Security) -> Pop3Server {
        Pop3Server {
            port: host_port.port.unwrap_or(security.default_port()),
            host: host_port.host,
            security,
        }
    }
}

/// When messages are deleted from the POP3 server.
///
/// Stored as a table tagged by `policy`, for example
/// `deletion_policy = { policy = "delete-after-days", days = 30 }`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "policy", rename_all = "kebab-case", deny_unknown_fields)]
pub enum DeletionPolicy {
    /// Never delete: the safe default, and what other clients sharing the
    /// mailbox expect.
    #[default]
    LeaveOnServer,
    /// Delete a downloaded message once this many days have passed since
    /// Herald first saw it on the server (for new mail, the day it was
    /// downloaded; a message is never deleted before its copy is stored).
    DeleteAfterDays {
        /// At least 1 (0 would be [`DeletionPolicy::DeleteAfterDownload`]).
        days: u32,
    },
    /// Delete from the server when the user deletes the local copy.
    DeleteWhenDeletedLocally,
    /// Delete as soon as the local copy is safely on disk.
    DeleteAfterDownload,
}

impl DeletionPolicy {
    /// The `policy` tag, as used in `accounts.toml` and JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            DeletionPolicy::LeaveOnServer => "leave-on-server",
            DeletionPolicy::DeleteAfterDays { .. } => "delete-after-days",
            DeletionPolicy::DeleteWhenDeletedLocally => "delete-when-deleted-locally",
            DeletionPolicy::DeleteAfterDownload => "delete-after-download",
        }
    }
}

impl Account {
    /// The name used to log in to SMTP and POP3: [`Account::username`] if set,
    /// otherwise the email address (what most providers expect).
    pub fn login_name(&self) -> &str {
        self.username.as_deref().unwrap_or(&self.email_addr)
    }

    /// The `From` mailbox of mail sent from this account:
    /// `Display Name <address>`, or the bare address.
    pub fn sender(&self) -> String {
        match &self.display_name {
            Some(name) => format!("{name} <{}>", self.email_addr),
            None => self.email_addr.clone(),
        }
    }

    /// Checks every setting that can be checked without touching the disk or
    /// the network. Run on load and before saving.
    pub fn validate(&self) -> Result<(), AccountError> {
        validate_name(&self.name)?;
        let invalid = |field: &'static str, problem: &str| AccountError::Invalid {
            account: self.name.clone(),
            field,
            problem: problem.to_string(),
        };
        validate_email_addr(&self.email_addr).map_err(|problem| invalid("email_addr", problem))?;
        if let Some(display_name) = &self.display_name
            && display_name.chars().any(char::is_control)
        {
            return Err(invalid("display_name", "contains a control character"));
        }
        if let Some(username) = &self.username {
            if username.is_empty() {
                return Err(invalid("username", "is empty"));
            }
            if username.chars().any(char::is_control) {
                return Err(invalid("username", "contains a control character"));
            }
        }
        validate_host(&self.smtp.host).map_err(|problem| invalid("smtp.host", problem))?;
        if self.smtp.port == 0 {
            return Err(invalid("smtp.port", "must be from 1 to 65535"));
        }
        validate_host(&self.pop3.host).map_err(|problem| invalid("pop3.host", problem))?;
        if self.pop3.port == 0 {
            return Err(invalid("pop3.port", "must be from 1 to 65535"));
        }
        if let Some(path) = &self.extra_ca_file
            && !path.is_absolute()
        {
            return Err(invalid("extra_ca_file", "must be an absolute path"));
        }
        if let DeletionPolicy::DeleteAfterDays { days: 0 } = self.deletion_policy {
            return Err(invalid(
                "deletion_policy.days",
                "must be at least 1 (use delete-after-download to delete at once)",
            ));
        }
        if self.max_message_size_bytes == Some(0) {
            return Err(invalid("max_message_size_bytes", "must be at least 1"));
        }
        if let Some(command) = &self.password_command
            && command.trim().is_empty()
        {
            return Err(invalid("password_command", "is empty"));
        }
        for fingerprint in &self.trusted_certificates {
            if fingerprint.len() != 64
                || !fingerprint
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            {
                return Err(invalid(
                    "trusted_certificates",
                    "must be SHA-256 fingerprints in lowercase hex",
                ));
            }
        }
        Ok(())
    }

    /// The contents of [`Account::extra_ca_file`], if one is set.
    pub fn read_extra_ca(&self) -> Result<Option<Vec<u8>>, AccountError> {
        let Some(path) = &self.extra_ca_file else {
            return Ok(None);
        };
        let contents = read_bounded(path).map_err(|source| AccountError::CaFileRead {
            account: self.name.clone(),
            path: path.clone(),
            source,
        })?;
        if contains_pem_certificate(&contents) {
            Ok(Some(contents))
        } else {
            Err(AccountError::CaFileNotPem {
                account: self.name.clone(),
                path: path.clone(),
            })
        }
    }

    /// Checks that [`Account::extra_ca_file`], if set, exists and holds a PEM
    /// certificate. Done when an account is added, so a wrong path is
    /// reported then rather than at the first connection.
    pub fn check_ca_file(&self) -> Result<(), AccountError> {
        self.read_extra_ca().map(drop)
    }
}

fn validate_name(name: &str) -> Result<(), AccountError> {
    let invalid = |problem: &str| AccountError::Invalid {
        account: name.to_string(),
        field: "name",
        problem: problem.to_string(),
    };
    let chars = name.chars().count();
    if chars == 0 {
        return Err(invalid("is empty"));
    }
    if chars > MAX_NAME_CHARS {
        return Err(invalid("is longer than 64 characters"));
    }
    if name.chars().any(char::is_control) {
        return Err(invalid("contains a control character"));
    }
    if name.trim() != name {
        return Err(invalid("starts or ends with a space"));
    }
    Ok(())
}

fn validate_email_addr(email_addr: &str) -> Result<(), &'static str> {
    if email_addr.matches('@').count() != 1 {
        return Err("must contain exactly one '@'");
    }
    let (local, domain) = email_addr.split_once('@').unwrap_or_default();
    if local.is_empty() || domain.is_empty() {
        return Err("needs text before and after the '@'");
    }
    if email_addr
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err("contains a space or control character");
    }
    Ok(())
}

fn validate_host(host: &str) -> Result<(), &'static str> {
    if host.is_empty() {
        return Err("is empty");
    }
    if host.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("contains a space or control character");
    }
    if host.starts_with('[') || host.ends_with(']') {
        return Err("must be written without brackets");
    }
    Ok(())
}

fn read_bounded(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut contents = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_CA_FILE_BYTES)
        .read_to_end(&mut contents)?;
    Ok(contents)
}

/// True if `contents` has a `BEGIN CERTIFICATE` block that is closed.
fn contains_pem_certificate(contents: &[u8]) -> bool {
    const BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";
    const END: &[u8] = b"-----END CERTIFICATE-----";
    let Some(start) = find(contents, BEGIN) else {
        return false;
    };
    find(&contents[start + BEGIN.len()..], END).is_some()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use super::*;

    /// A valid account, for tests to modify.
    pub(crate) fn sample(name: &str) -> Account {
        Account {
            name: name.to_string(),
            email_addr: format!("{name}@example.com"),
            display_name: Some("Sample Person".to_string()),
            username: None,
            smtp: SmtpServer {
                host: "smtp.example.com".to_string(),
                port: 465,
                security: SmtpSecurity::ImplicitTls,
            },
            pop3: Pop3Server {
                host: "pop.example.com".to_string(),
                port: 995,
                security: Pop3Security::ImplicitTls,
            },
            extra_ca_file: None,
            deletion_policy: DeletionPolicy::LeaveOnServer,
            max_message_size_bytes: None,
            password_command: None,
            trusted_certificates: Vec::new(),
            signature: None,
            check_interval_minutes: None,
        }
    }

    fn field_of(err: AccountError) -> &'static str {
        match err {
            AccountError::Invalid { field, .. } => field,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn sample_is_valid() {
        sample("work").validate().unwrap();
    }

    #[test]
    fn login_name_defaults_to_email_addr() {
        let mut account = sample("work");
        assert_eq!(account.login_name(), "work@example.com");
        account.username = Some("w123".to_string());
        assert_eq!(account.login_name(), "w123");
    }

    #[test]
    fn name_rules() {
        for bad in ["", " lead", "trail ", "tab\there", "new\nline"] {
            assert_eq!(
                field_of(sample(bad).validate().unwrap_err()),
                "name",
                "{bad:?}"
            );
        }
        let long = "é".repeat(MAX_NAME_CHARS);
        sample(&long).validate().unwrap();
        let too_long = "é".repeat(MAX_NAME_CHARS + 1);
        assert_eq!(field_of(sample(&too_long).validate().unwrap_err()), "name");
    }

    #[test]
    fn email_needs_exactly_one_at() {
        for bad in ["nobody", "a@b@c", "@example.com", "me@", "me @example.com"] {
            let mut account = sample("work");
            account.email_addr = bad.to_string();
            assert_eq!(
                field_of(account.validate().unwrap_err()),
                "email_addr",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn hosts_and_ports_are_checked() {
        let mut account = sample("work");
        account.smtp.host = String::new();
        assert_eq!(field_of(account.validate().unwrap_err()), "smtp.host");
        let mut account = sample("work");
        account.pop3.host = "pop example.com".to_string();
        assert_eq!(field_of(account.validate().unwrap_err()), "pop3.host");
        let mut account = sample("work");
        account.smtp.port = 0;
        assert_eq!(field_of(account.validate().unwrap_err()), "smtp.port");
        let mut account = sample("work");
        account.pop3.port = 0;
        assert_eq!(field_of(account.validate().unwrap_err()), "pop3.port");
    }

    #[test]
    fn zero_days_and_empty_command_are_rejected() {
        let mut account = sample("work");
        account.deletion_policy = DeletionPolicy::DeleteAfterDays { days: 0 };
        assert_eq!(
            field_of(account.validate().unwrap_err()),
            "deletion_policy.days"
        );
        let mut account = sample("work");
        account.password_command = Some("  ".to_string());
        assert_eq!(
            field_of(account.validate().unwrap_err()),
            "password_command"
        );
    }

    #[test]
    fn ca_file_must_exist_and_hold_a_pem_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let mut account = sample("work");

        account.extra_ca_file = Some(dir.path().join("missing.pem"));
        assert!(matches!(
            account.check_ca_file(),
            Err(AccountError::CaFileRead { .. })
        ));

        let key = dir.path().join("key.pem");
        std::fs::write(
            &key,
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        )
        .unwrap();
        account.extra_ca_file = Some(key);
        assert!(matches!(
            account.check_ca_file(),
            Err(AccountError::CaFileNotPem { .. })
        ));

        let cert = dir.path().join("ca.pem");
        std::fs::write(
            &cert,
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        account.extra_ca_file = Some(cert);
        account.check_ca_file().unwrap();
    }

    #[test]
    fn relative_ca_path_is_rejected() {
        let mut account = sample("work");
        account.extra_ca_file = Some(PathBuf::from("ca.pem"));
        assert_eq!(field_of(account.validate().unwrap_err()), "extra_ca_file");
    }

    #[test]
    fn server_new_fills_default_ports() {
        let host = |port| HostPort {
            host: "h".to_string(),
            port,
        };
        assert_eq!(
            SmtpServer::new(host(None), SmtpSecurity::ImplicitTls).port,
            465
        );
        assert_eq!(
            SmtpServer::new(host(None), SmtpSecurity::StartTls).port,
            587
        );
        assert_eq!(
            SmtpServer::new(host(Some(25)), SmtpSecurity::StartTls).port,
            25
        );
        assert_eq!(
            Pop3Server::new(host(None), Pop3Security::ImplicitTls).port,
            995
        );
        assert_eq!(Pop3Server::new(host(None), Pop3Security::Stls).port, 110);
    }
}
