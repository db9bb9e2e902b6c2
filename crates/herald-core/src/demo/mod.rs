//! A mail sandbox in the process, so a newcomer can try Herald with no
//! account ("Try the demo mailbox").
//!
//! [`DemoSandbox::start`] makes a throwaway CA and a server certificate for
//! `127.0.0.1` and `localhost` (rcgen, at run time: nothing to install),
//! starts a POP3 server and an SMTP submission server on `127.0.0.1` with
//! ephemeral ports, both over implicit TLS, and writes a complete profile
//! (one account, "Demo") that points at them. The account trusts the demo CA
//! through its own `extra_ca_file`, the same setting a user of a self-hosted
//! server has; nothing else trusts it, and certificate checks stay on. Its
//! password comes from a `password_command` (`echo demo-password`), so a
//! second process (`herald --profile DIR fetch`) can use the profile too.
//!
//! The POP3 server serves a Maildir-like folder inside the sandbox folder
//! (`DIR/demo-server/Maildir`), seeded with realistic messages (HTML with
//! inline images, attachments with non-ASCII names, Chinese, Russian and
//! Japanese in their traditional charsets, a long thread, a newsletter with
//! remote images and a tracking pixel, a Reply-To that differs from From).
//! The account's own mailbox is separate: Herald downloads from the server as
//! from any other.
//!
//! Mail sent through the SMTP server to [`DEMO_EMAIL_ADDR`] is added to that
//! folder, so the next "Get mail" downloads it. Mail to any other recipient
//! is accepted and discarded: nothing ever leaves the computer.
//!
//! The servers stop when the [`DemoSandbox`] is dropped. They exist for the
//! demo only: one user, one password, no persistence guarantees beyond the
//! files in the folder.

mod maildrop;
mod pki;
mod png;
mod pop3_server;
mod seed;
mod server;
mod smtp_server;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::account::{
    Account, AccountError, AccountList, DeletionPolicy, Pop3Security, Pop3Server, Profile,
    SmtpSecurity, SmtpServer,
};
use crate::credentials::Password;
use crate::error::{Classify, ErrorKind};

use maildrop::Maildrop;
use server::Server;

/// The demo account's address: mail sent here arrives in the demo inbox.
pub const DEMO_EMAIL_ADDR: &str = "you@demo.herald.invalid";

/// The demo account's name in the profile.
pub const DEMO_ACCOUNT_NAME: &str = "Demo";

/// The demo account's password, known to both demo servers. Not a secret:
/// the servers listen on loopback only and hold nothing but demo mail.
pub const DEMO_PASSWORD: &str = "demo-password";

/// The host name the demo servers call themselves.
const SERVER_NAME: &str = "demo.herald.invalid";

/// Why the sandbox could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DemoError {
    /// Making the throwaway CA or server certificate failed.
    #[error("could not create the demo certificates")]
    Certificate(#[source] rcgen::Error),

    /// The TLS library refused the generated identity.
    #[error("could not set up TLS for the demo servers")]
    Tls(#[source] native_tls::Error),

    /// A demo server could not listen on loopback.
    #[error("could not start the demo {server} server on 127.0.0.1")]
    Listen {
        /// `POP3` or `SMTP`.
        server: &'static str,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },

    /// Writing the sandbox's files failed.
    #[error("could not write the demo {what}: {}", path.display())]
    Write {
        /// What was being written.
        what: &'static str,
        /// Where.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },

    /// The demo account or profile could not be saved.
    #[error("could not save the demo profile")]
    Account(#[source] AccountError),
}

impl Classify for DemoError {
    fn kind(&self) -> ErrorKind {
        match self {
            DemoError::Certificate(_) | DemoError::Tls(_) => ErrorKind::Tls,
            DemoError::Listen { .. } => ErrorKind::Network,
            DemoError::Write { .. } => ErrorKind::Storage,
            DemoError::Account(error) => error.kind(),
        }
    }
}

/// A running demo: POP3 and SMTP servers on loopback and a profile that uses
/// them. Dropping it stops the servers (the files stay in the folder).
#[derive(Debug)]
pub struct DemoSandbox {
    dir: PathBuf,
    profile: Profile,
    account: Account,
    ca_pem: String,
    maildrop: Arc<Maildrop>,
    pop3: Server,
    smtp: Server,
}

impl DemoSandbox {
    /// Starts the servers and writes the demo profile under `dir` (config in
    /// `dir/config`, data in `dir/data`, the demo server's mail in
    /// `dir/demo-server`, the CA in `dir/demo-ca.pem`).
    ///
    /// The server's folder is seeded only if it does not exist yet, so a
    /// sandbox restarted on the same folder keeps its mail (and the
    /// account's UIDLs stay meaningful). The account settings are rewritten
    /// each time, since the ports change.
    pub fn start(dir: &Path) -> Result<DemoSandbox, DemoError> {
        let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
        let write_error = |what: &'static str, path: &Path| {
            let path = path.to_path_buf();
            move |source| DemoError::Write { what, path, source }
        };
        std::fs::create_dir_all(&dir).map_err(write_error("folder", &dir))?;

        let pki = pki::DemoPki::generate()?;
        let ca_path = dir.join("demo-ca.pem");
        std::fs::write(&ca_path, &pki.ca_pem).map_err(write_error("CA certificate", &ca_path))?;

        let server_dir = dir.join("demo-server");
        let maildrop = Arc::new(
            Maildrop::open(&server_dir.join("Maildir"))
                .map_err(write_error("server mailbox", &server_dir))?,
        );
        if maildrop.is_new() {
            let now = crate::store::unix_now();
            for (index, message) in seed::messages(now).into_iter().enumerate() {
                maildrop
                    .seed(index, message.date_unix, &message.bytes)
                    .map_err(write_error("server mailbox", &server_dir))?;
            }
        }

        let acceptor = Arc::new(pki.acceptor()?);
        let credentials = Arc::new(server::Credentials {
            login: DEMO_EMAIL_ADDR.to_string(),
            password: DEMO_PASSWORD.to_string(),
        });
        let pop3 = {
            let maildrop = Arc::clone(&maildrop);
            let credentials = Arc::clone(&credentials);
            Server::start("POP3", Arc::clone(&acceptor), move |stream| {
                pop3_server::serve(stream, &maildrop, &credentials)
            })?
        };
        let smtp = {
            let maildrop = Arc::clone(&maildrop);
            let credentials = Arc::clone(&credentials);
            Server::start("SMTP", acceptor, move |stream| {
                smtp_server::serve(stream, &maildrop, &credentials)
            })?
        };

        let account = demo_account(pop3.port(), smtp.port(), ca_path);
        let profile = Profile::at(&dir);
        let mut accounts = AccountList::default();
        accounts.add(account.clone()).map_err(DemoError::Account)?;
        accounts.save(&profile).map_err(DemoError::Account)?;

        Ok(DemoSandbox {
            dir,
            profile,
            account,
            ca_pem: pki.ca_pem,
            maildrop,
            pop3,
            smtp,
        })
    }

    /// The sandbox folder (absolute).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The demo profile (config and data under [`DemoSandbox::dir`]).
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// The demo account, as saved in the profile.
    pub fn account(&self) -> &Account {
        &self.account
    }

    /// The demo account's password (also what its password command prints).
    pub fn password(&self) -> Password {
        Password::new(DEMO_PASSWORD.to_string())
    }

    /// The throwaway CA certificate (PEM) that signed the servers'
    /// certificate; the account trusts it through `extra_ca_file`.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The POP3 server's port on 127.0.0.1 (implicit TLS).
    pub fn pop3_port(&self) -> u16 {
        self.pop3.port()
    }

    /// The SMTP submission server's port on 127.0.0.1 (implicit TLS).
    pub fn smtp_port(&self) -> u16 {
        self.smtp.port()
    }

    /// How many messages wait on the demo POP3 server.
    pub fn inbox_count(&self) -> usize {
        self.maildrop
            .list()
            .map(|entries| entries.len())
            .unwrap_or(0)
    }
}

/// The account a sandbox writes: loopback servers over implicit TLS, the
/// demo CA trusted for this account only, the password from a command.
fn demo_account(pop3_port: u16, smtp_port: u16, ca_file: PathBuf) -> Account {
    Account {
        name: DEMO_ACCOUNT_NAME.to_string(),
        email_addr: DEMO_EMAIL_ADDR.to_string(),
        display_name: Some("Demo User".to_string()),
        username: None,
        smtp: SmtpServer {
            host: "127.0.0.1".to_string(),
            port: smtp_port,
            security: SmtpSecurity::ImplicitTls,
        },
        pop3: Pop3Server {
            host: "127.0.0.1".to_string(),
            port: pop3_port,
            security: Pop3Security::ImplicitTls,
        },
        extra_ca_file: Some(ca_file),
        deletion_policy: DeletionPolicy::LeaveOnServer,
        max_message_size_bytes: None,
        // `echo` exists in both `sh -c` and `cmd /C`; the trailing newline
        // (CRLF on Windows) is removed by the password-command runner.
        password_command: Some(format!("echo {DEMO_PASSWORD}")),
        trusted_certificates: Vec::new(),
        signature: Some("Sent from the Herald demo".to_string()),
        check_interval_minutes: None,
    }
}

#[cfg(test)]
mod tests;
