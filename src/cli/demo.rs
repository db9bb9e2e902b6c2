//! `herald demo`: try Herald on a demo mailbox, no account needed.
//!
//! Starts the core's [`DemoSandbox`] (a POP3 and an SMTP server on
//! 127.0.0.1 with a throwaway CA, and a profile whose one account uses
//! them) and opens the window on that profile. With `--serve` it opens no
//! window: it prints the profile folder and ports as one line of JSON and
//! serves until stdin is closed, so scripts and tests can run
//! `herald --profile DIR fetch` and friends against it.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use herald_core::demo::{DEMO_ACCOUNT_NAME, DEMO_EMAIL_ADDR, DemoSandbox};
use serde::Serialize;

use super::CliError;

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Open no window: print the profile folder and ports as one line of
    /// JSON on stdout, then serve until stdin is closed.
    #[arg(long)]
    serve: bool,
}

/// The line `--serve` prints.
#[derive(Serialize)]
struct ServeJson<'a> {
    profile: &'a std::path::Path,
    account: &'a str,
    email_addr: &'a str,
    pop3_port: u16,
    smtp_port: u16,
    ca_file: Option<&'a std::path::Path>,
}

/// Runs the demo. With `--profile DIR` the demo lives in DIR and is kept
/// afterwards; otherwise in a temporary folder removed at exit.
pub fn run(profile: Option<PathBuf>, args: DemoArgs) -> Result<ExitCode, CliError> {
    let temp = match &profile {
        Some(_) => None,
        None => Some(
            tempfile::Builder::new()
                .prefix("herald-demo-")
                .tempdir()
                .map_err(|err| {
                    CliError(format!("could not create a folder for the demo: {err}"))
                })?,
        ),
    };
    let dir = match (&profile, &temp) {
        (Some(dir), _) => dir.clone(),
        (None, Some(temp)) => temp.path().to_path_buf(),
        (None, None) => return Err(CliError("no folder for the demo".into())),
    };
    let sandbox = DemoSandbox::start(&dir)?;

    if args.serve {
        let line = serde_json::to_string(&ServeJson {
            profile: sandbox.dir(),
            account: DEMO_ACCOUNT_NAME,
            email_addr: DEMO_EMAIL_ADDR,
            pop3_port: sandbox.pop3_port(),
            smtp_port: sandbox.smtp_port(),
            ca_file: sandbox.account().extra_ca_file.as_deref(),
        })?;
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{line}")?;
        stdout.flush()?;
        drop(stdout);
        // Serve until whoever started us closes our stdin (or exits).
        std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink())?;
        drop(sandbox);
        return Ok(ExitCode::SUCCESS);
    }

    eprintln!(
        "herald: demo mailbox in {} (POP3 127.0.0.1:{}, SMTP 127.0.0.1:{}); \
         mail to {DEMO_EMAIL_ADDR} arrives in it, other mail is discarded",
        sandbox.dir().display(),
        sandbox.pop3_port(),
        sandbox.smtp_port()
    );
    // The demo keeps its password in memory: no keyring prompt for a
    // throwaway account, and the window gets mail as soon as it opens.
    let passwords = herald_core::credentials::PasswordStore::session_only(
        herald_core::credentials::service_name(sandbox.profile()),
        "the demo keeps its password in memory",
    );
    passwords.set(&sandbox.account().name, &sandbox.password())?;
    let mut setup = crate::app::AppSetup::new(sandbox.profile().clone());
    setup.passwords = Some(std::sync::Arc::new(passwords));
    setup.get_mail_on_start = true;
    let code = crate::app::run_with(setup);
    drop(sandbox);
    Ok(code)
}
