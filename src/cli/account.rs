//! `herald account add | set-password | list | remove`.

use std::io::{BufRead, IsTerminal, Read};
use std::path::{Path, PathBuf};

use clap::{ArgGroup, Args, Subcommand, ValueEnum};
use herald_core::account::{
    Account, AccountError, AccountList, DeletionPolicy, HostPort, Pop3Security, Pop3Server,
    Profile, SmtpSecurity, SmtpServer,
};
use herald_core::credentials::{
    CredentialError, Password, PasswordLocation, PasswordState, PasswordStore, StoreStatus,
};
use serde::Serialize;

use super::{CliError, CliResult};

/// The longest password line read from stdin; far above any real password,
/// it only bounds memory if something huge is piped in by mistake.
const MAX_PASSWORD_BYTES: u64 = 64 * 1024;

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Add an account; its password goes to the OS keyring, never to a file.
    Add(Box<AddArgs>),
    /// Replace the stored password of an account.
    SetPassword(SetPasswordArgs),
    /// List configured accounts and where their passwords are.
    List {
        /// Print a JSON array instead of a table (stable field names).
        #[arg(long)]
        json: bool,
    },
    /// Remove an account and its stored password.
    Remove {
        /// The account's name.
        name: String,
    },
    /// Connect to both servers and log in: reports the TLS version, the
    /// certificate, the capabilities and any problem.
    Test {
        /// The account's name.
        name: String,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
#[command(group(
    ArgGroup::new("password_source")
        .required(true)
        .args(["password_stdin", "password_command"])
))]
#[command(group(
    ArgGroup::new("deletion")
        .args(["leave_on_server", "delete_after_download", "delete_after_days", "delete_when_deleted_locally"])
))]
pub struct AddArgs {
    /// A unique name for the account (1-64 characters).
    #[arg(long)]
    name: String,
    /// The email address mail is sent from.
    #[arg(long, value_name = "ADDR")]
    email: String,
    /// SMTP server; the port defaults to 465 (implicit-tls) or 587 (starttls).
    #[arg(long, value_name = "HOST[:PORT]")]
    smtp: HostPort,
    /// POP3 server; the port defaults to 995 (implicit-tls) or 110 (stls).
    #[arg(long, value_name = "HOST[:PORT]")]
    pop3: HostPort,
    /// Login name, if it is not the email address.
    #[arg(long)]
    username: Option<String>,
    /// Name shown next to the address in sent mail.
    #[arg(long)]
    display_name: Option<String>,
    /// How the SMTP connection is protected.
    #[arg(long, value_enum, default_value_t = SmtpSecurityArg::ImplicitTls)]
    smtp_security: SmtpSecurityArg,
    /// How the POP3 connection is protected.
    #[arg(long, value_enum, default_value_t = Pop3SecurityArg::ImplicitTls)]
    pop3_security: Pop3SecurityArg,
    /// A PEM file with an extra CA certificate to trust (self-hosted servers).
    #[arg(long, value_name = "PEM")]
    ca_file: Option<PathBuf>,
    /// Never delete mail from the server (the default).
    #[arg(long)]
    leave_on_server: bool,
    /// Delete mail from the server once it is safely downloaded.
    #[arg(long)]
    delete_after_download: bool,
    /// Delete mail from the server N days after downloading it.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    delete_after_days: Option<u32>,
    /// Delete mail from the server when it is deleted in Herald.
    #[arg(long)]
    delete_when_deleted_locally: bool,
    /// Messages larger than this many bytes are not downloaded by `fetch`:
    /// only their headers are kept, and `server-list` shows them.
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1..))]
    max_message_size: Option<u64>,
    /// Read the password from the first line of stdin and store it in the OS
    /// keyring.
    #[arg(long)]
    password_stdin: bool,
    /// A shell command that prints the password (e.g. "pass show mail/work");
    /// nothing is stored in the keyring.
    #[arg(long, value_name = "CMD")]
    password_command: Option<String>,
}

#[derive(Debug, Args)]
pub struct SetPasswordArgs {
    /// The account's name.
    name: String,
    /// Read the password from the first line of stdin.
    #[arg(long, required = true)]
    password_stdin: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum SmtpSecurityArg {
    /// TLS from the start (port 465).
    ImplicitTls,
    /// STARTTLS upgrade, required (port 587).
    #[value(name = "starttls")]
    StartTls,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Pop3SecurityArg {
    /// TLS from the start (port 995).
    ImplicitTls,
    /// STLS upgrade, required (port 110).
    Stls,
}

/// Runs one `herald account` subcommand in the profile given by `--profile`
/// (or `HERALD_HOME`, or the XDG folders).
pub fn run(profile: Option<PathBuf>, cmd: AccountCommand) -> CliResult {
    let explicit = profile.as_deref();
    let resolved = Profile::resolve(explicit)?;
    match cmd {
        AccountCommand::Add(args) => add(&resolved, explicit, *args),
        AccountCommand::SetPassword(args) => set_password(&resolved, explicit, &args.name),
        AccountCommand::List { json } => list(&resolved, json),
        AccountCommand::Remove { name } => remove(&resolved, &name),
        AccountCommand::Test { name, json } => super::mail::test_account(profile, &name, json),
    }
}

fn add(profile: &Profile, explicit: Option<&Path>, args: AddArgs) -> CliResult {
    let smtp_security = match args.smtp_security {
        SmtpSecurityArg::ImplicitTls => SmtpSecurity::ImplicitTls,
        SmtpSecurityArg::StartTls => SmtpSecurity::StartTls,
    };
    let pop3_security = match args.pop3_security {
        Pop3SecurityArg::ImplicitTls => Pop3Security::ImplicitTls,
        Pop3SecurityArg::Stls => Pop3Security::Stls,
    };
    let deletion_policy = if let Some(days) = args.delete_after_days {
        DeletionPolicy::DeleteAfterDays { days }
    } else if args.delete_after_download {
        DeletionPolicy::DeleteAfterDownload
    } else if args.delete_when_deleted_locally {
        DeletionPolicy::DeleteWhenDeletedLocally
    } else {
        DeletionPolicy::LeaveOnServer
    };
    let account = Account {
        name: args.name,
        email_addr: args.email,
        display_name: args.display_name,
        username: args.username,
        smtp: SmtpServer::new(args.smtp, smtp_security),
        pop3: Pop3Server::new(args.pop3, pop3_security),
        // Stored absolute, so it still works from another working folder.
        extra_ca_file: args
            .ca_file
            .map(|path| std::path::absolute(&path).unwrap_or(path)),
        deletion_policy,
        max_message_size_bytes: args.max_message_size,
        password_command: args.password_command,
        trusted_certificates: Vec::new(),
        signature: None,
        check_interval_minutes: None,
    };
    let name = account.name.clone();

    // Check everything before reading a password or touching the keyring.
    let mut accounts = AccountList::load(profile)?;
    account.validate()?;
    account.check_ca_file()?;
    if accounts.get(&name).is_some() {
        return Err(AccountError::Duplicate(name).into());
    }

    if !args.password_stdin {
        accounts.add(account)?;
        accounts.save(profile)?;
        println!("added account {name:?}");
        return Ok(());
    }

    let password = read_password_stdin(&name)?;
    let store = PasswordStore::open(profile);
    let location = store.set(&name, &password)?;
    drop(password);
    accounts.add(account)?;
    if let Err(err) = accounts.save(profile) {
        if location == PasswordLocation::OsStore {
            // Don't leave a password behind for an account that doesn't exist.
            let _ = store.delete(&name);
        }
        return Err(err.into());
    }
    match location {
        PasswordLocation::OsStore => {
            println!("added account {name:?}; its password is in the OS keyring");
        }
        PasswordLocation::SessionOnly => {
            let reason = unavailable_reason(&store);
            eprintln!(
                "herald: warning: account {name:?} was added, but its password was NOT saved: \
                 the OS keyring is unavailable ({reason})"
            );
            eprintln!(
                "herald: to fix this, either
  \
                 - unlock (or start) the keyring, then run: \
                 {} account set-password {} --password-stdin
  \
                 - or remove the account and add it again with --password-command CMD \
                 (a command that prints the password)",
                herald_invocation(explicit),
                shell_quote(&name),
            );
        }
    }
    Ok(())
}

fn set_password(profile: &Profile, explicit: Option<&Path>, name: &str) -> CliResult {
    let accounts = AccountList::load(profile)?;
    let account = accounts
        .get(name)
        .ok_or_else(|| AccountError::NotFound(name.to_string()))?;
    let password = read_password_stdin(name)?;
    let store = PasswordStore::open(profile);
    match store.set(name, &password)? {
        PasswordLocation::OsStore => {
            println!("the password of account {name:?} is in the OS keyring");
            if account.password_command.is_some() {
                eprintln!(
                    "herald: warning: account {name:?} has a password command, which is used \
                     instead of the stored password"
                );
            }
            Ok(())
        }
        PasswordLocation::SessionOnly => Err(CliError(format!(
            "the password of account {name:?} was NOT saved: the OS keyring is unavailable ({}); \
             unlock (or start) it and run `{} account set-password {} --password-stdin` again",
            unavailable_reason(&store),
            herald_invocation(explicit),
            shell_quote(name),
        ))),
    }
}

fn list(profile: &Profile, json: bool) -> CliResult {
    let accounts = AccountList::load(profile)?;
    // Probe the keyring only if some answer depends on it.
    let store = accounts
        .iter()
        .any(|account| account.password_command.is_none())
        .then(|| PasswordStore::open(profile));
    let rows: Vec<(&Account, PasswordState)> = accounts
        .iter()
        .map(|account| {
            let state = match &store {
                Some(store) => store.state(account),
                None => PasswordState::Command,
            };
            (account, state)
        })
        .collect();

    if json {
        let items: Vec<JsonAccount<'_>> = rows
            .iter()
            .map(|(account, state)| JsonAccount::new(account, *state))
            .collect();
        let text = serde_json::to_string_pretty(&items)?;
        println!("{text}");
        return Ok(());
    }

    if rows.is_empty() {
        println!("no accounts; add one with `herald account add`");
        return Ok(());
    }
    let mut table = vec![[
        "NAME".to_string(),
        "EMAIL".to_string(),
        "SMTP".to_string(),
        "POP3".to_string(),
        "PASSWORD".to_string(),
    ]];
    for (account, state) in &rows {
        table.push([
            account.name.clone(),
            account.email_addr.clone(),
            format!(
                "{} {}",
                host_port(&account.smtp.host, account.smtp.port),
                account.smtp.security.as_str()
            ),
            format!(
                "{} {}",
                host_port(&account.pop3.host, account.pop3.port),
                account.pop3.security.as_str()
            ),
            match state {
                PasswordState::Command => "command",
                PasswordState::OsStore => "keyring",
                PasswordState::SessionOnly => "this session only",
                PasswordState::Missing => "MISSING",
                PasswordState::StoreUnavailable => "unknown (keyring unavailable)",
            }
            .to_string(),
        ]);
    }
    print_table(&table);
    if let Some(store) = &store
        && let StoreStatus::Unavailable { reason } = store.status()
    {
        eprintln!("herald: note: the OS keyring is unavailable ({reason})");
    }
    Ok(())
}

fn remove(profile: &Profile, name: &str) -> CliResult {
    let mut accounts = AccountList::load(profile)?;
    let account = accounts.remove(name)?;
    accounts.save(profile)?;
    let store = PasswordStore::open(profile);
    match store.delete(name) {
        Ok(()) => {}
        // Nothing of ours should be in the keyring for such an account.
        Err(CredentialError::StoreUnavailable { .. }) if account.password_command.is_some() => {}
        Err(err) => {
            let err = CliError::from(err);
            eprintln!(
                "herald: warning: a password of account {name:?} may remain in the OS keyring: {err}"
            );
            if cfg!(target_os = "linux") {
                eprintln!(
                    "herald: once the keyring is available, remove it with\n  \
                     secret-tool clear service {} username {}",
                    shell_quote(store.service()),
                    shell_quote(name),
                );
            }
        }
    }
    println!("removed account {name:?}");
    Ok(())
}

/// Reads one line from stdin as the password: the trailing newline (LF or
/// CRLF) is dropped, an empty line is refused.
fn read_password_stdin(account: &str) -> Result<Password, CliError> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprintln!("herald: password for account {account:?} (shown as typed; end with Enter):");
    }
    let mut line = String::new();
    stdin
        .lock()
        .take(MAX_PASSWORD_BYTES)
        .read_line(&mut line)
        .map_err(|err| CliError(format!("could not read the password from stdin: {err}")))?;
    if line.ends_with('\n') {
        line.pop();
        if line.ends_with('\r') {
            line.pop();
        }
    }
    let password = Password::new(line);
    if password.is_empty() {
        return Err(CredentialError::EmptyPassword {
            account: account.to_string(),
        }
        .into());
    }
    Ok(password)
}

fn unavailable_reason(store: &PasswordStore) -> String {
    match store.status() {
        StoreStatus::Unavailable { reason } => reason,
        StoreStatus::Available => "it refused the password".to_string(),
    }
}

/// `herald`, or `herald --profile DIR` when the profile was given explicitly,
/// for commands suggested to the user.
fn herald_invocation(explicit: Option<&Path>) -> String {
    match explicit {
        Some(dir) => format!(
            "herald --profile {}",
            shell_quote(&dir.display().to_string())
        ),
        None => "herald".to_string(),
    }
}

/// Quotes `text` for a POSIX shell when it has anything but safe characters.
fn shell_quote(text: &str) -> String {
    let safe = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.,:/@+=%".contains(c));
    if safe {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

fn print_table(rows: &[[String; 5]]) {
    let mut widths = [0usize; 5];
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for row in rows {
        let mut line = String::new();
        for (index, (cell, width)) in row.iter().zip(widths).enumerate() {
            if index + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&" ".repeat(width - cell.chars().count() + 2));
            }
        }
        println!("{line}");
    }
}

/// One element of `herald account list --json`. Field names are stable:
/// scripts and tests rely on them.
#[derive(Serialize)]
struct JsonAccount<'a> {
    name: &'a str,
    email: &'a str,
    display_name: Option<&'a str>,
    /// The login name actually used (the email address unless set).
    username: &'a str,
    smtp: JsonServer<'a>,
    pop3: JsonServer<'a>,
    ca_file: Option<String>,
    /// `{"policy": "leave-on-server"}` or `{"policy": "delete-after-days", "days": N}`…
    deletion_policy: DeletionPolicy,
    /// Messages larger than this many bytes are recorded from their headers
    /// only; null: no limit.
    max_message_size: Option<u64>,
    /// "os_store", "command", "missing", "store_unavailable" (or
    /// "session_only", which a fresh process never reports).
    password: PasswordState,
}

#[derive(Serialize)]
struct JsonServer<'a> {
    host: &'a str,
    port: u16,
    security: &'static str,
}

impl<'a> JsonAccount<'a> {
    fn new(account: &'a Account, password: PasswordState) -> JsonAccount<'a> {
        JsonAccount {
            name: &account.name,
            email: &account.email_addr,
            display_name: account.display_name.as_deref(),
            username: account.login_name(),
            smtp: JsonServer {
                host: &account.smtp.host,
                port: account.smtp.port,
                security: account.smtp.security.as_str(),
            },
            pop3: JsonServer {
                host: &account.pop3.host,
                port: account.pop3.port,
                security: account.pop3.security.as_str(),
            },
            ca_file: account
                .extra_ca_file
                .as_ref()
                .map(|path| path.display().to_string()),
            deletion_policy: account.deletion_policy,
            max_message_size: account.max_message_size_bytes,
            password,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn shell_quote_leaves_simple_words_alone() {
        assert_eq!(shell_quote("work"), "work");
        assert_eq!(shell_quote("herald:/tmp/p"), "herald:/tmp/p");
        assert_eq!(shell_quote("my work"), "'my work'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn ipv6_hosts_are_bracketed() {
        assert_eq!(host_port("::1", 995), "[::1]:995");
        assert_eq!(host_port("pop.example.com", 995), "pop.example.com:995");
    }
}
