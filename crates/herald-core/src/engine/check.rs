//! `herald account test` and the window's "Test connection": connect to
//! both servers, log in, and report what was found in the engine's words.

use crate::account::{Account, Pop3Security, SmtpSecurity};
use crate::credentials::{CredentialError, Password};
use crate::net::tls::{CertificateDetails, TlsConfig, TlsVersion};
use crate::net::{CancelToken, Limits};
use crate::pop3::Pop3Client;
use crate::smtp::{SmtpClient, SmtpLimits};

use super::Failure;

/// The result of testing both servers of an account.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ConnectionReport {
    /// The incoming (POP3) server.
    pub pop3: ServerCheck,
    /// The outgoing (SMTP) server.
    pub smtp: ServerCheck,
}

impl ConnectionReport {
    /// True if both servers accepted the login.
    pub fn ok(&self) -> bool {
        self.pop3.failure.is_none() && self.smtp.failure.is_none()
    }
}

/// What was found on one server.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ServerCheck {
    /// Host name as configured.
    pub host: String,
    /// Port.
    pub port: u16,
    /// `implicit-tls`, `starttls` or `stls`.
    pub security: &'static str,
    /// The TLS version in use, once connected.
    pub tls_version: Option<TlsVersion>,
    /// The server's certificate, once connected.
    pub certificate: Option<CertificateDetails>,
    /// The capabilities the server announced (CAPA / EHLO), after TLS.
    pub capabilities: Vec<String>,
    /// SMTP only: what the server said about message size (RFC 1870 SIZE),
    /// once its EHLO was read after TLS. `None` for POP3 or when the check
    /// stopped before that.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_limits: Option<SmtpLimits>,
    /// True once the server accepted the user name and password.
    pub logged_in: bool,
    /// What went wrong, if anything.
    pub failure: Option<Failure>,
}

/// Tests both servers of `account`. Never fails: every problem is in the
/// report.
pub fn test_connection(
    account: &Account,
    password: Result<Password, CredentialError>,
    limits: &Limits,
    cancel: &CancelToken,
) -> ConnectionReport {
    let tls = TlsConfig::for_account(account).map_err(|error| Failure::from_error(&error));
    let password = password.map_err(|error| Failure::from_error(&error));
    ConnectionReport {
        pop3: check_pop3(account, &tls, &password, limits, cancel),
        smtp: check_smtp(account, &tls, &password, limits, cancel),
    }
}

/// What [`check`] needs from a protocol client.
trait Checkable: Sized {
    fn certificate(&self) -> Option<CertificateDetails>;
    fn capability_lines(&self) -> Vec<String>;
    fn smtp_limits(&self) -> Option<SmtpLimits>;
    /// Logs in, then says goodbye.
    fn log_in(self, user: &str, password: &Password) -> Result<(), Failure>;
    /// Ends a session without logging in.
    fn close(self);
}

impl Checkable for Pop3Client {
    fn certificate(&self) -> Option<CertificateDetails> {
        self.tls_certificate()
    }

    fn capability_lines(&self) -> Vec<String> {
        self.capabilities().raw.clone()
    }

    fn smtp_limits(&self) -> Option<SmtpLimits> {
        None
    }

    fn log_in(self, user: &str, password: &Password) -> Result<(), Failure> {
        let session = self
            .login(user, password)
            .map_err(|error| Failure::from_error(&error))?;
        let _ = session.quit();
        Ok(())
    }

    fn close(self) {
        // Before login POP3 has nothing to end: closing is enough.
    }
}

impl Checkable for SmtpClient {
    fn certificate(&self) -> Option<CertificateDetails> {
        self.tls_certificate()
    }

    fn capability_lines(&self) -> Vec<String> {
        self.capabilities().raw.clone()
    }

    fn smtp_limits(&self) -> Option<SmtpLimits> {
        Some(self.capabilities().limits())
    }

    fn log_in(mut self, user: &str, password: &Password) -> Result<(), Failure> {
        // Dropping the client says QUIT, also after a refused login.
        self.login(user, password)
            .map_err(|error| Failure::from_error(&error))
    }

    fn close(self) {
        self.quit();
    }
}

fn check_pop3(
    account: &Account,
    tls: &Result<TlsConfig, Failure>,
    password: &Result<Password, Failure>,
    limits: &Limits,
    cancel: &CancelToken,
) -> ServerCheck {
    let server = &account.pop3;
    let security = match server.security {
        Pop3Security::ImplicitTls => "implicit-tls",
        Pop3Security::Stls => "stls",
    };
    let check = ServerCheck::new(&server.host, server.port, security);
    run_check(check, account, tls, password, |tls| {
        Pop3Client::connect(server, tls, limits, cancel)
            .map_err(|error| Failure::from_error(&error))
    })
}

fn check_smtp(
    account: &Account,
    tls: &Result<TlsConfig, Failure>,
    password: &Result<Password, Failure>,
    limits: &Limits,
    cancel: &CancelToken,
) -> ServerCheck {
    let server = &account.smtp;
    let security = match server.security {
        SmtpSecurity::ImplicitTls => "implicit-tls",
        SmtpSecurity::StartTls => "starttls",
    };
    let check = ServerCheck::new(&server.host, server.port, security);
    run_check(check, account, tls, password, |tls| {
        SmtpClient::connect(server, tls, limits, cancel)
            .map_err(|error| Failure::from_error(&error))
    })
}

impl ServerCheck {
    fn new(host: &str, port: u16, security: &'static str) -> ServerCheck {
        ServerCheck {
            host: host.to_string(),
            port,
            security,
            tls_version: None,
            certificate: None,
            capabilities: Vec::new(),
            smtp_limits: None,
            logged_in: false,
            failure: None,
        }
    }
}

/// Connects, records what the server shows, finds the TLS version (a second
/// connection that requires TLS 1.3: native-tls does not report the version
/// it negotiated, and every backend prefers the highest both sides speak),
/// then logs in.
fn run_check<C: Checkable>(
    mut check: ServerCheck,
    account: &Account,
    tls: &Result<TlsConfig, Failure>,
    password: &Result<Password, Failure>,
    connect: impl Fn(&TlsConfig) -> Result<C, Failure>,
) -> ServerCheck {
    let result = tls.clone().and_then(|tls| {
        let client = connect(&tls)?;
        check.certificate = client.certificate();
        check.capabilities = client.capability_lines();
        check.smtp_limits = client.smtp_limits();
        let tls13 = connect(&tls.clone().requiring_tls13()).map(C::close);
        check.tls_version = Some(if tls13.is_ok() {
            TlsVersion::Tls13
        } else {
            TlsVersion::Tls12
        });
        let password = match password {
            Ok(password) => password,
            Err(failure) => {
                client.close();
                return Err(failure.clone());
            }
        };
        client.log_in(account.login_name(), password)?;
        check.logged_in = true;
        Ok(())
    });
    check.failure = result.err();
    check
}
