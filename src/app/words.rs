//! The one place the window turns a failure into words: a title, the
//! engine's own sentence, and what the person can do about it. The choice
//! is made from the error's kind, never from its text.

use herald_core::ErrorKind;
use herald_core::engine::Failure;

/// What the window says about a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advice {
    /// A short title ("Wrong password").
    pub title: &'static str,
    /// The engine's words: what failed and why.
    pub detail: String,
    /// What to do next, in words.
    pub action: &'static str,
}

/// Advice for a failure of `what` ("Getting mail", "Sending"…).
pub fn advise(failure: &Failure) -> Advice {
    let (title, action) = match failure.kind {
        ErrorKind::Network => (
            "Cannot reach the server",
            "Check your internet connection and the server name, then try again.",
        ),
        ErrorKind::Timeout => (
            "The server stopped answering",
            "Nothing was lost. Try again in a moment.",
        ),
        ErrorKind::Tls => (
            "Secure connection failed",
            "The server does not offer a secure connection Herald accepts (TLS 1.2 or newer). Check the port and security settings.",
        ),
        ErrorKind::Certificate => (
            "Server certificate not trusted",
            "If you know this server uses its own certificate, compare its fingerprint with the one your provider or administrator gives you before trusting it (account settings, Test connection).",
        ),
        ErrorKind::AuthRejected => (
            "Wrong user name or password",
            "Check the password in Settings. Some providers (Gmail, QQ, 163) need an app password or authorization code.",
        ),
        ErrorKind::ServerRejected { transient: true } => (
            "The server is busy",
            "Nothing was lost. Herald will try again; you can also retry now.",
        ),
        ErrorKind::ServerRejected { transient: false } => (
            "The server refused",
            "Read the server's reason below, correct the message or account, and try again.",
        ),
        ErrorKind::Protocol => (
            "The server answered in an unexpected way",
            "Try again; if it keeps happening, the server may not be a standard POP3/SMTP server.",
        ),
        ErrorKind::Storage => (
            "Cannot write to your mailbox on disk",
            "Free some disk space or check the folder's permissions. Nothing was deleted on the server.",
        ),
        ErrorKind::Credentials => (
            "Password not available",
            "Enter the password again in Settings; the system's credential store may be locked.",
        ),
        ErrorKind::Config => (
            "Account settings problem",
            "Open Settings and correct the account.",
        ),
        ErrorKind::Input => ("Cannot use this input", "Correct it and try again."),
        ErrorKind::Cancelled => ("Cancelled", "Nothing was lost."),
    };
    Advice {
        title,
        detail: failure.message.clone(),
        action,
    }
}

/// Draws advice: the title in the error colour, the details, the action.
pub fn advice_ui(ui: &mut egui::Ui, advice: &Advice) {
    ui.label(
        egui::RichText::new(advice.title)
            .strong()
            .color(ui.visuals().error_fg_color),
    );
    ui.label(&advice.detail);
    ui.label(egui::RichText::new(advice.action).weak());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(kind: ErrorKind) -> Failure {
        Failure {
            kind,
            message: "pop3.example.org said: -ERR [AUTH] nope".into(),
            certificate: None,
        }
    }

    #[test]
    fn each_kind_gets_its_own_title_and_keeps_the_engine_words() {
        let kinds = [
            ErrorKind::Network,
            ErrorKind::Timeout,
            ErrorKind::Tls,
            ErrorKind::Certificate,
            ErrorKind::AuthRejected,
            ErrorKind::ServerRejected { transient: true },
            ErrorKind::ServerRejected { transient: false },
            ErrorKind::Protocol,
            ErrorKind::Storage,
            ErrorKind::Credentials,
            ErrorKind::Config,
            ErrorKind::Input,
            ErrorKind::Cancelled,
        ];
        let titles: std::collections::HashSet<_> = kinds
            .iter()
            .map(|kind| advise(&failure(*kind)).title)
            .collect();
        assert_eq!(titles.len(), kinds.len());
        let advice = advise(&failure(ErrorKind::AuthRejected));
        assert_eq!(advice.title, "Wrong user name or password");
        assert!(advice.detail.contains("-ERR [AUTH] nope"));
    }
}
