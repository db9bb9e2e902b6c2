//! `herald fetch | list | server-list | send | outbox flush` and
//! `herald account test`: the engine from a terminal.
//!
//! Each command runs through the same [`AccountWorker`] the window uses
//! (commands in, events out), so the CLI exercises exactly the window's code
//! paths; progress goes to stderr when it is a terminal.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc;

use clap::{Args, Subcommand};
use herald_core::account::{Account, AccountList, Profile};
use herald_core::compose::ComposedMessage;
use herald_core::credentials::PasswordStore;
use herald_core::engine::{
    AccountContext, AccountWorker, Command, ConnectionReport, EventKind, Failure, ServerCheck,
};
use herald_core::net::Limits;
use herald_core::store::{Folder, ListQuery, MailStore, SortColumn};
use herald_core::sync::{Progress, SyncReport};
use serde::Serialize;

use super::compose::DraftArgs;
use super::{CliError, CliResult};

#[derive(Debug, Args)]
pub struct FetchArgs {
    /// Only this account (default: every account).
    #[arg(long)]
    account: Option<String>,
    /// Print a JSON array, one summary per account.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this account (default: every account).
    #[arg(long)]
    account: Option<String>,
    /// inbox, sent, drafts, outbox or trash.
    #[arg(long, default_value = "inbox")]
    folder: String,
    /// Only messages with every word of this in the subject, the sender,
    /// To/Cc, or the message text and attachment names (the account's
    /// search index is brought up to date first).
    #[arg(long, value_name = "WORDS")]
    search: Option<String>,
    /// Print a JSON array.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct ServerListArgs {
    /// The account.
    #[arg(long)]
    account: String,
    /// Print a JSON array.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct SendArgs {
    /// The account to send from.
    #[arg(long)]
    account: String,
    /// Send this message file as it is (its Bcc header is removed from the
    /// bytes sent and used for the envelope).
    #[arg(value_name = "FILE.eml", conflicts_with_all = ["to", "subject"])]
    file: Option<PathBuf>,
    /// Or compose the message with these options (as `herald compose`;
    /// --from defaults to the account's address).
    #[command(flatten)]
    draft: SendDraftArgs,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct SendDraftArgs {
    #[arg(long, value_name = "ADDR")]
    from: Option<String>,
    #[arg(long, value_name = "ADDR")]
    to: Vec<String>,
    #[arg(long, value_name = "ADDR")]
    cc: Vec<String>,
    #[arg(long, value_name = "ADDR")]
    bcc: Vec<String>,
    #[arg(long)]
    subject: Option<String>,
    #[arg(long, value_name = "FILE")]
    text: Option<PathBuf>,
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    #[arg(long = "inline-image", value_name = "PATH[=CID]")]
    inline_images: Vec<String>,
    #[arg(long = "attach", value_name = "PATH")]
    attachments: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// The account.
    #[arg(long)]
    account: String,
    /// Ids from `herald list`; repeatable.
    #[arg(required = true)]
    ids: Vec<i64>,
}

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// Retry sending what waits in the Outbox.
    Flush {
        /// Only this account (default: every account).
        #[arg(long)]
        account: Option<String>,
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
    },
}

/// An account with what its worker needs.
struct Engine {
    profile: Profile,
    accounts: Vec<Account>,
    passwords: Arc<PasswordStore>,
}

impl Engine {
    fn load(profile: Option<PathBuf>) -> Result<Engine, CliError> {
        let profile = Profile::resolve(profile.as_deref())?;
        let accounts: Vec<Account> = AccountList::load(&profile)?.iter().cloned().collect();
        if accounts.is_empty() {
            return Err(CliError(
                "no account is configured: add one with `herald account add`".into(),
            ));
        }
        let passwords = Arc::new(PasswordStore::open(&profile));
        Ok(Engine {
            profile,
            accounts,
            passwords,
        })
    }

    fn select(&self, name: Option<&str>) -> Result<Vec<&Account>, CliError> {
        match name {
            None => Ok(self.accounts.iter().collect()),
            Some(name) => self
                .accounts
                .iter()
                .find(|account| account.name == name)
                .map(|account| vec![account])
                .ok_or_else(|| CliError(format!("there is no account named {name:?}"))),
        }
    }

    fn context(&self, account: &Account) -> AccountContext {
        AccountContext {
            account: account.clone(),
            mailbox_dir: self.profile.mailbox_dir(&account.name),
            passwords: Arc::clone(&self.passwords),
            limits: limits_from_env(),
        }
    }

    /// Runs one command on the account's worker and returns its outcome,
    /// printing progress on stderr when it is a terminal.
    fn run(&self, account: &Account, command: Command) -> EventKind {
        self.run_reporting(account, command).0
    }

    /// [`Engine::run`], with the report of a Get mail that failed midway.
    fn run_reporting(
        &self,
        account: &Account,
        command: Command,
    ) -> (EventKind, Option<SyncReport>) {
        let (sender, receiver) = mpsc::channel();
        let worker = AccountWorker::spawn(self.context(account), sender, Arc::new(|| {}));
        worker.submit(command);
        let show_progress = std::io::stderr().is_terminal();
        let mut outcome = None;
        let mut partial = None;
        for event in receiver.iter() {
            match event.kind {
                EventKind::Started(_) => {}
                EventKind::Progress(progress) => {
                    if show_progress {
                        print_progress(&account.name, &progress);
                    }
                }
                EventKind::Idle => break,
                // What the SMTP server advertised: for the window to keep.
                EventKind::SmtpLimits(_) => {}
                other => {
                    outcome = Some(other);
                    partial = event.partial_sync;
                }
            }
        }
        if show_progress {
            eprint!("\r\x1b[K");
        }
        drop(worker);
        (outcome.unwrap_or(EventKind::Idle), partial)
    }
}

/// Test hook and power-user knob: `HERALD_IO_TIMEOUT_SECS` shortens the
/// per-read timeout (the default is generous for slow links).
fn limits_from_env() -> Limits {
    let mut limits = Limits::default();
    if let Some(seconds) = std::env::var("HERALD_IO_TIMEOUT_SECS")
        .ok()
        .and_then(|value| value.parse::<u64>().ok())
    {
        limits.io_timeout = std::time::Duration::from_secs(seconds.max(1));
        limits.connect_timeout = limits.io_timeout;
    }
    limits
}

fn print_progress(account: &str, progress: &Progress) {
    match progress {
        Progress::Connecting => eprint!("\r\x1b[K{account}: connecting…"),
        Progress::Listing => eprint!("\r\x1b[K{account}: checking the server…"),
        Progress::Downloading {
            done,
            total,
            bytes,
            total_bytes,
        } => eprint!(
            "\r\x1b[K{account}: {done}/{total} messages, {:.1} of {:.1} MB",
            *bytes as f64 / 1e6,
            *total_bytes as f64 / 1e6
        ),
        Progress::Deleting { count } => {
            eprint!("\r\x1b[K{account}: deleting {count} on the server…")
        }
    }
}

#[derive(Serialize)]
struct FetchJson<'a> {
    account: &'a str,
    /// Also after a failure, when the sync got as far as the server's list.
    #[serde(flatten)]
    report: Option<SyncReport>,
    error: Option<Failure>,
}

pub fn fetch(profile: Option<PathBuf>, args: FetchArgs) -> CliResult {
    let engine = Engine::load(profile)?;
    let mut results = Vec::new();
    let mut failed = false;
    for account in engine.select(args.account.as_deref())? {
        let (result, partial) = match engine.run_reporting(account, Command::GetMail) {
            (EventKind::MailFetched(result), partial) => (result, partial),
            _ => (Err(stopped()), None),
        };
        // A sync that failed midway still reports what it stored.
        let (report, error) = match result {
            Ok(report) => (Some(report), None),
            Err(failure) => (partial, Some(failure)),
        };
        if !args.json {
            if let Some(report) = &report {
                println!(
                    "{}: {}{} downloaded, {} headers only, {} already here, {} deleted on the server, {:.1} MB in {:.2} s",
                    account.name,
                    if error.is_some() {
                        "stopped after "
                    } else {
                        ""
                    },
                    report.downloaded,
                    report.headers_only,
                    report.skipped,
                    report.deleted_on_server,
                    report.bytes as f64 / 1e6,
                    report.seconds
                );
                for warning in &report.warnings {
                    eprintln!("herald: {}: warning: {warning}", account.name);
                }
            }
            if let Some(failure) = &error {
                eprintln!("herald: {}: {failure}", account.name);
            }
        }
        failed |= error.is_some();
        results.push(FetchJson {
            account: &account.name,
            report,
            error,
        });
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&results)?);
    }
    if failed {
        Err(CliError("getting mail failed".into()))
    } else {
        Ok(())
    }
}

#[derive(Serialize)]
struct ListEntry {
    account: String,
    folder: &'static str,
    id: i64,
    uidl: Option<String>,
    from: Option<String>,
    from_name: Option<String>,
    subject: Option<String>,
    date: Option<i64>,
    size: u64,
    has_attachments: bool,
    seen: bool,
    downloaded: bool,
    path: Option<PathBuf>,
}

pub fn list(profile: Option<PathBuf>, args: ListArgs) -> CliResult {
    let profile = Profile::resolve(profile.as_deref())?;
    let accounts = AccountList::load(&profile)?;
    let folder = Folder::parse(&args.folder).ok_or_else(|| {
        CliError(format!(
            "unknown folder {:?}: use inbox, sent, drafts, outbox or trash",
            args.folder
        ))
    })?;
    let mut entries = Vec::new();
    let mut found = false;
    for account in accounts.iter() {
        if args
            .account
            .as_deref()
            .is_some_and(|name| name != account.name)
        {
            continue;
        }
        found = true;
        let dir = profile.mailbox_dir(&account.name);
        if !dir.exists() {
            continue;
        }
        let store = MailStore::open_read_only(&dir)?;
        let query = ListQuery {
            sort: SortColumn::Date,
            descending: true,
            offset: 0,
            limit: usize::MAX,
        };
        let words = herald_core::search::query_words(args.search.as_deref().unwrap_or(""));
        let text_hits = if words.is_empty() {
            None
        } else {
            herald_core::search::update_mailbox(&dir, &mut |_| true)?;
            Some(herald_core::search::find_in_mailbox(&dir, &words)?)
        };
        for message in store.list(folder, &query)? {
            if let Some(hits) = &text_hits {
                let haystack = herald_core::search::header_haystack(&message.summary);
                if !herald_core::search::matches(&words, &haystack, Some(hits), message.id) {
                    continue;
                }
            }
            entries.push(ListEntry {
                account: account.name.clone(),
                folder: folder.as_str(),
                id: message.id,
                uidl: message.uidl,
                from: message.summary.from_addr,
                from_name: message.summary.from_name,
                subject: message.summary.subject,
                date: message.summary.date,
                size: message.size,
                has_attachments: message.summary.has_attachments,
                seen: message.flags.seen,
                downloaded: message.downloaded,
                path: message.path,
            });
        }
    }
    if let Some(name) = &args.account
        && !found
    {
        return Err(CliError(format!("there is no account named {name:?}")));
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&entries)?);
        return Ok(());
    }
    for entry in &entries {
        println!(
            "{:>6}  {}  {:<30}  {:<50}  {:>9}{}",
            entry.id,
            entry
                .date
                .map(format_date)
                .unwrap_or_else(|| " ".repeat(16)),
            truncate(
                entry
                    .from_name
                    .as_deref()
                    .or(entry.from.as_deref())
                    .unwrap_or(""),
                30
            ),
            truncate(entry.subject.as_deref().unwrap_or("(no subject)"), 50),
            entry.size,
            if entry.downloaded {
                ""
            } else {
                "  (not downloaded)"
            }
        );
    }
    Ok(())
}

/// Moves messages to Trash (deletes them for good when already there).
/// With the "delete when deleted locally" policy, the next fetch deletes
/// them on the server too.
pub fn delete(profile: Option<PathBuf>, args: DeleteArgs) -> CliResult {
    let profile = Profile::resolve(profile.as_deref())?;
    let accounts = AccountList::load(&profile)?;
    if !accounts.iter().any(|account| account.name == args.account) {
        return Err(CliError(format!(
            "there is no account named {:?}",
            args.account
        )));
    }
    let store = MailStore::open(&profile.mailbox_dir(&args.account))?;
    for id in args.ids {
        if store.get(id)?.is_none() {
            return Err(CliError(format!(
                "there is no message {id} in {:?}",
                args.account
            )));
        }
        store.delete(id)?;
    }
    Ok(())
}

pub fn server_list(profile: Option<PathBuf>, args: ServerListArgs) -> CliResult {
    let engine = Engine::load(profile)?;
    let account = engine.select(Some(&args.account))?[0];
    let (messages, warnings) = match engine.run(account, Command::ListServer) {
        EventKind::ServerListed(result) => result.map_err(|failure| CliError(failure.message))?,
        _ => return Err(CliError(stopped().message)),
    };
    for warning in &warnings {
        eprintln!("herald: {}: warning: {warning}", account.name);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&messages)?);
        return Ok(());
    }
    for message in &messages {
        println!(
            "{:>5}  {}  {:<30}  {:<50}  {:>9}{}",
            message.number,
            message
                .date
                .map(format_date)
                .unwrap_or_else(|| " ".repeat(16)),
            truncate(message.from.as_deref().unwrap_or(""), 30),
            truncate(message.subject.as_deref().unwrap_or("(no subject)"), 50),
            message.size,
            if message.downloaded {
                "  downloaded"
            } else {
                ""
            }
        );
    }
    Ok(())
}

pub fn send(profile: Option<PathBuf>, args: SendArgs) -> CliResult {
    let engine = Engine::load(profile)?;
    let account = engine.select(Some(&args.account))?[0];
    let message = match &args.file {
        Some(path) => {
            let bytes = std::fs::read(path)
                .map_err(|error| CliError(format!("cannot read {}: {error}", path.display())))?;
            ComposedMessage::from_existing(bytes)?
        }
        None => super::compose::compose(&draft_args(&args.draft, account))?,
    };
    let message_id = message.message_id.clone();
    let result = match engine.run(account, Command::Send(Box::new(message))) {
        EventKind::Sent { result, .. } => result,
        _ => Err(stopped()),
    };
    match result {
        Ok(sent) => {
            if args.json {
                println!("{}", serde_json::to_string_pretty(&sent)?);
            } else {
                println!(
                    "sent <{message_id}> to {} recipient(s) in {:.2} s; a copy is in Sent",
                    sent.recipients, sent.seconds
                );
            }
            Ok(())
        }
        Err(failure) => Err(CliError(failure.message)),
    }
}

fn draft_args(args: &SendDraftArgs, account: &Account) -> DraftArgs {
    let from = args.from.clone().unwrap_or_else(|| account.sender());
    DraftArgs {
        from,
        to: args.to.clone(),
        cc: args.cc.clone(),
        bcc: args.bcc.clone(),
        subject: args.subject.clone().unwrap_or_default(),
        text: args.text.clone(),
        html: args.html.clone(),
        inline_images: args.inline_images.clone(),
        attachments: args.attachments.clone(),
        in_reply_to: None,
        references: Vec::new(),
    }
}

#[derive(Serialize)]
struct FlushJson {
    account: String,
    outbox_id: Option<i64>,
    sent: Option<herald_core::outgoing::Sent>,
    error: Option<Failure>,
    /// True for a message that failed permanently before (a refused
    /// recipient, too large): it waits for the user and was not retried.
    held: bool,
    /// For a held message: why it failed, as recorded then.
    last_error: Option<String>,
}

impl FlushJson {
    fn new(account: &Account, outbox_id: Option<i64>) -> FlushJson {
        FlushJson {
            account: account.name.clone(),
            outbox_id,
            sent: None,
            error: None,
            held: false,
            last_error: None,
        }
    }
}

/// The Outbox messages of `account` that wait for the user (their last
/// failure was permanent), which a flush does not retry.
fn held_entries(engine: &Engine, account: &Account) -> Vec<FlushJson> {
    let dir = engine.profile.mailbox_dir(&account.name);
    // A store that cannot be read was already reported by the flush itself.
    let Ok(store) = MailStore::open_read_only(&dir) else {
        return Vec::new();
    };
    let Ok(entries) = store.outbox_entries() else {
        return Vec::new();
    };
    entries
        .into_iter()
        .filter(|entry| entry.permanent)
        .map(|entry| FlushJson {
            held: true,
            last_error: entry.last_error,
            ..FlushJson::new(account, Some(entry.id))
        })
        .collect()
}

pub fn outbox(profile: Option<PathBuf>, command: OutboxCommand) -> CliResult {
    let OutboxCommand::Flush { account, json } = command;
    let engine = Engine::load(profile)?;
    let mut rows = Vec::new();
    for account in engine.select(account.as_deref())? {
        let tried_from = rows.len();
        match engine.run(account, Command::FlushOutbox) {
            EventKind::OutboxFlushed(Ok(entries)) => {
                for (outbox_id, result) in entries {
                    let mut row = FlushJson::new(account, Some(outbox_id));
                    match result {
                        Ok(sent) => row.sent = Some(sent),
                        Err(failure) => row.error = Some(failure),
                    }
                    rows.push(row);
                }
            }
            EventKind::OutboxFlushed(Err(failure)) => rows.push(FlushJson {
                error: Some(failure),
                ..FlushJson::new(account, None)
            }),
            _ => rows.push(FlushJson {
                error: Some(stopped()),
                ..FlushJson::new(account, None)
            }),
        }
        // Messages that failed permanently earlier are not retried; say
        // so, instead of reporting an empty Outbox.
        let tried: Vec<i64> = rows[tried_from..]
            .iter()
            .filter_map(|row| row.outbox_id)
            .collect();
        rows.extend(
            held_entries(&engine, account)
                .into_iter()
                .filter(|row| row.outbox_id.is_some_and(|id| !tried.contains(&id))),
        );
    }
    let failed = rows.iter().any(|row| row.error.is_some() || row.held);
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        if rows.is_empty() {
            println!("the Outbox is empty");
        }
        for row in &rows {
            match (&row.sent, &row.error) {
                (Some(sent), _) => println!("{}: sent <{}>", row.account, sent.message_id),
                (_, Some(failure)) => eprintln!("herald: {}: {failure}", row.account),
                _ if row.held => eprintln!(
                    "herald: {}: message {} waits in the Outbox for you to change it (not retried): {}",
                    row.account,
                    row.outbox_id.unwrap_or_default(),
                    row.last_error.as_deref().unwrap_or("it failed permanently")
                ),
                _ => {}
            }
        }
    }
    if failed {
        Err(CliError("some messages are still in the Outbox".into()))
    } else {
        Ok(())
    }
}

pub fn test_account(profile: Option<PathBuf>, name: &str, json: bool) -> CliResult {
    let engine = Engine::load(profile)?;
    let account = engine.select(Some(name))?[0];
    let report = match engine.run(account, Command::TestConnection) {
        EventKind::ConnectionTested(report) => *report,
        _ => return Err(CliError(stopped().message)),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_check("incoming (POP3)", &report.pop3);
        print_check("outgoing (SMTP)", &report.smtp);
    }
    if report.ok() {
        Ok(())
    } else {
        Err(CliError(failure_summary(&report)))
    }
}

fn failure_summary(report: &ConnectionReport) -> String {
    [("incoming", &report.pop3), ("outgoing", &report.smtp)]
        .iter()
        .filter_map(|(which, check)| {
            check
                .failure
                .as_ref()
                .map(|failure| format!("{which} server: {failure}"))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn print_check(title: &str, check: &ServerCheck) {
    println!(
        "{title}: {}:{} ({})",
        check.host, check.port, check.security
    );
    if let Some(version) = check.tls_version {
        println!("  encryption: {version}");
    }
    if let Some(certificate) = &check.certificate {
        println!("  certificate: {}", certificate.subject);
        println!("    issued by: {}", certificate.issuer);
        println!("    valid until: {}", certificate.not_after);
        println!("    SHA-256: {}", certificate.fingerprint_display());
    }
    if !check.capabilities.is_empty() {
        println!("  capabilities: {}", check.capabilities.join(", "));
    }
    if let Some(limits) = check.smtp_limits {
        match limits.max_message_size_bytes {
            Some(bytes) => println!("  largest message accepted: {bytes} bytes"),
            None => println!("  largest message accepted: no limit announced"),
        }
    }
    match &check.failure {
        None if check.logged_in => println!("  login: accepted"),
        None => {}
        Some(failure) => println!("  problem: {failure}"),
    }
}

fn stopped() -> Failure {
    Failure {
        kind: herald_core::ErrorKind::Cancelled,
        message: "the account's worker stopped before finishing".into(),
        certificate: None,
    }
}

fn format_date(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let seconds = unix.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}",
        seconds / 3600,
        seconds % 3600 / 60
    )
}

/// Days since 1970-01-01 to a UTC calendar date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else {
        let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}
