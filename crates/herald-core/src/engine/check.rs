//! `herald account test` and the window's "Test connection": connect to
//! both servers, log in, and report what was found in the engine's words.

use crate::account::{Account, Pop3Security, SmtpSecurity};
use crate::credentials::{CredentialError, Password};
use crate::net::tls::{CertificateDetails, TlsConfig, TlsVersion};
use crate::net::{CancelToken, Limits};
use crate::pop3::Pop3Client;
use crate::smtp::SmtpClient;

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

fn check_pop3(
    account: &Account,
    tls: &Result<TlsConfig, Failure>,
    password: &Result<Password, Failure>,
    limits: &Limits,
    cancel: &CancelToken,
) -> ServerCheck {
    let mut check = ServerCheck {
        host: account.pop3.host.clone(),
        port: account.pop3.port,
        security: match account.pop3.security {
            Pop3Security::ImplicitTls => "implicit-tls",
            Pop3Security::Stls => "stls",
        },
        tls_version: None,
        certificate: None,
        capabilities: Vec::new(),
        logged_in: false,
        failure: None,
    };
    let tls = match tls {
        Ok(tls) => tls,
        Err(failure) => {
            check.failure = Some(failure.clone());
            return check;
        }
    };
    let client = match Pop3Client::connect(&account.pop3, tls, limits, cancel) {
        Ok(client) => client,
        Err(error) => {
            check.failure = Some(Failure::from_error(&error));
            return check;
        }
    };
    check.certificate = client.tls_certificate();
    check.capabilities = client.capabilities().raw.clone();
    check.tls_version = Some(
        if Pop3Client::connect(
            &account.pop3,
            &tls.clone().requiring_tls13(),
            limits,
            cancel,
        )
        .is_ok()
        {
            TlsVersion::Tls13
        } else {
            TlsVersion::Tls12
        },
    );
    match password {
        Ok(password) => match client.login(account.login_name(), password) {
            Ok(session) => {
                check.logged_in = true;
                let _ = session.quit();
            }
            Err(error) => check.failure = Some(Failure::from_error(&error)),
        },
        Err(failure) => check.failure = Some(failure.clone()),
    }
    check
}

fn check_smtp(
    account: &Account,
    tls: &Result<TlsConfig, Failure>,
    password: &Result<Password, Failure>,
    limits: &Limits,
    cancel: &CancelToken,
) -> ServerCheck {
    let mut check = ServerCheck {
        host: account.smtp.host.clone(),
        port: account.smtp.port,
        security: match account.smtp.security {
            SmtpSecurity::ImplicitTls => "implicit-tls",
            SmtpSecurity::StartTls => "starttls",
        },
        tls_version: None,
        certificate: None,
        capabilities: Vec::new(),
        logged_in: false,
        failure: None,
    };
    let tls = match tls {
        Ok(tls) => tls,
        Err(failure) => {
            check.failure = Some(failure.clone());
            return check;
        }
    };
    let mut client = match SmtpClient::connect(&account.smtp, tls, limits, cancel) {
        Ok(client) => client,
        Err(error) => {
            check.failure = Some(Failure::from_error(&error));
            return check;
        }
    };
    check.certificate = client.tls_certificate();
    check.capabilities = client.capabilities().raw.clone();
    check.tls_version = Some(
        if SmtpClient::connect(
            &account.smtp,
            &tls.clone().requiring_tls13(),
            limits,
            cancel,
        )
        .is_ok()
        {
            TlsVersion::Tls13
        } else {
            TlsVersion::Tls12
        },
    );
    match password {
        Ok(password) => match client.login(account.login_name(), password) {
            Ok(()) => {
                check.logged_in = true;
                client.quit();
            }
            Err(error) => check.failure = Some(Failure::from_error(&error)),
        },
        Err(failure) => check.failure = Some(failure.clone()),
    }
    check
}
