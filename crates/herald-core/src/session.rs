//! What it takes to talk to an account's servers: the account, its
//! password, the certificates to trust, the limits, and a way to cancel.

use crate::account::Account;
use crate::credentials::Password;
use crate::net::tls::TlsConfig;
use crate::net::{CancelToken, Limits};
use crate::pop3::{Pop3Client, Pop3Error, Pop3Session};
use crate::smtp::{SmtpClient, SmtpError};

/// Everything a POP3 or SMTP session of one account needs.
#[derive(Debug, Clone)]
pub struct Session<'a> {
    /// The account.
    pub account: &'a Account,
    /// Its password.
    pub password: &'a Password,
    /// Certificates to trust.
    pub tls: &'a TlsConfig,
    /// Timeouts and the minimum throughput.
    pub limits: &'a Limits,
    /// Cancels the session.
    pub cancel: &'a CancelToken,
}

impl Session<'_> {
    /// Connects to the POP3 server and logs in.
    pub fn open_pop3(&self) -> Result<Pop3Session, Pop3Error> {
        Pop3Client::connect(&self.account.pop3, self.tls, self.limits, self.cancel)?
            .login(self.account.login_name(), self.password)
    }

    /// Connects to the SMTP server and logs in.
    pub fn open_smtp(&self) -> Result<SmtpClient, SmtpError> {
        let mut client =
            SmtpClient::connect(&self.account.smtp, self.tls, self.limits, self.cancel)?;
        client.login(self.account.login_name(), self.password)?;
        Ok(client)
    }
}
