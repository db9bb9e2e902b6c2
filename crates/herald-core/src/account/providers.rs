//! A built-in, offline table of common mail providers: their POP3 and SMTP
//! servers and what a user must do before a mail program can log in.
//!
//! Used to fill in the servers when an account is added ("you@gmail.com" →
//! `pop.gmail.com:995`, `smtp.gmail.com:465`) without asking the network
//! (no autoconfig or DNS lookups, which would tell a third party which
//! provider the user has). The hosts and ports are the ones each provider
//! documents; implicit TLS (995, 465) is preferred where offered, otherwise
//! STARTTLS on 587.

use super::{Pop3Security, Pop3Server, SmtpSecurity, SmtpServer};

/// One provider's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    /// The name shown in a picker.
    pub name: &'static str,
    /// Lowercase address domains that belong to it; empty for a hosted
    /// service whose customers use their own domains.
    pub domains: &'static [&'static str],
    /// The POP3 server: host, port, protection. `None` if the provider
    /// offers no POP3 (see [`Provider::no_pop3_reason`]).
    pub pop3: Option<(&'static str, u16, Pop3Security)>,
    /// The SMTP submission server: host, port, protection.
    pub smtp: (&'static str, u16, SmtpSecurity),
    /// What the user must do first (app password, enabling POP…), in
    /// words for the user.
    pub hint: Option<&'static str>,
    /// Why there is no POP3 server, in words for the user.
    pub no_pop3_reason: Option<&'static str>,
}

impl Provider {
    /// The POP3 server as account settings, if the provider has one.
    pub fn pop3_server(&self) -> Option<Pop3Server> {
        self.pop3.map(|(host, port, security)| Pop3Server {
            host: host.to_string(),
            port,
            security,
        })
    }

    /// The SMTP server as account settings.
    pub fn smtp_server(&self) -> SmtpServer {
        let (host, port, security) = self.smtp;
        SmtpServer {
            host: host.to_string(),
            port,
            security,
        }
    }
}

const IMPLICIT_POP3: Pop3Security = Pop3Security::ImplicitTls;
const IMPLICIT_SMTP: SmtpSecurity = SmtpSecurity::ImplicitTls;
const STARTTLS: SmtpSecurity = SmtpSecurity::StartTls;

const NETEASE_HINT: &str = "Turn on POP3/SMTP in the web mail's settings (设置 → POP3/SMTP/IMAP) \
     and log in with the client authorization code (客户端授权密码) it gives you, \
     not your web password.";

static PROVIDERS: &[Provider] = &[
    Provider {
        name: "Gmail",
        domains: &["gmail.com", "googlemail.com"],
        pop3: Some(("pop.gmail.com", 995, IMPLICIT_POP3)),
        smtp: ("smtp.gmail.com", 465, IMPLICIT_SMTP),
        hint: Some(
            "Turn on POP in Gmail's settings (Forwarding and POP/IMAP), and log in with \
             an app password: it needs 2-Step Verification on your Google account.",
        ),
        no_pop3_reason: None,
    },
    Provider {
        name: "Outlook.com / Hotmail",
        domains: &["outlook.com", "hotmail.com", "live.com", "msn.com"],
        pop3: Some(("outlook.office365.com", 995, IMPLICIT_POP3)),
        smtp: ("smtp-mail.outlook.com", 587, STARTTLS),
        hint: Some(
            "Turn on POP in Outlook.com's settings (Mail → Forwarding and IMAP). Microsoft \
             is phasing out passwords for mail programs: if your password is refused, \
             try an app password (needs two-step verification).",
        ),
        no_pop3_reason: None,
    },
    Provider {
        name: "Yahoo Mail",
        domains: &[
            "yahoo.com",
            "ymail.com",
            "rocketmail.com",
            "yahoo.co.uk",
            "yahoo.fr",
            "yahoo.de",
        ],
        pop3: Some(("pop.mail.yahoo.com", 995, IMPLICIT_POP3)),
        smtp: ("smtp.mail.yahoo.com", 465, IMPLICIT_SMTP),
        hint: Some("Log in with an app password: Account security → Generate app password."),
        no_pop3_reason: None,
    },
    Provider {
        name: "iCloud Mail",
        domains: &["icloud.com", "me.com", "mac.com"],
        pop3: None,
        smtp: ("smtp.mail.me.com", 587, STARTTLS),
        hint: Some("Log in with an app-specific password from your Apple Account settings."),
        no_pop3_reason: Some(
            "iCloud Mail offers IMAP only, no POP3, so Herald cannot download from it.",
        ),
    },
    Provider {
        name: "QQ Mail",
        domains: &["qq.com", "foxmail.com"],
        pop3: Some(("pop.qq.com", 995, IMPLICIT_POP3)),
        smtp: ("smtp.qq.com", 465, IMPLICIT_SMTP),
        hint: Some(
            "Turn on the POP3/SMTP service in QQ Mail's settings (设置 → 账户) and log in \
             with the authorization code (授权码) it gives you, not your QQ password.",
        ),
        no_pop3_reason: None,
    },
    Provider {
        name: "Tencent Exmail (企业邮箱)",
        domains: &[],
        pop3: Some(("pop.exmail.qq.com", 995, IMPLICIT_POP3)),
        smtp: ("smtp.exmail.qq.com", 465, IMPLICIT_SMTP),
        hint: Some(
            "Your company's own domain: pick this if your administrator uses Tencent \
             Exmail. POP/SMTP may need to be turned on under 设置 → 客户端设置, and a \
             client-specific password is needed when secure login is on.",
        ),
        no_pop3_reason: None,
    },
    Provider {
        name: "NetEase 163",
        domains: &["163.com"],
        pop3: Some(("pop.163.com", 995, IMPLICIT_POP3)),
        smtp: ("smtp.163.com", 465, IMPLICIT_SMTP),
        hint: Some(NETEASE_HINT),
        no_pop3_reason: None,
    },
    Provider {
        name: "NetEase 126",
        domains: &["126.com"],
        pop3: Some(("pop.126.com", 995, IMPLICIT_POP3)),
        smtp: ("smtp.126.com", 465, IMPLICIT_SMTP),
        hint: Some(NETEASE_HINT),
        no_pop3_reason: None,
    },
    Provider {
        name: "NetEase Yeah",
        domains: &["yeah.net"],
        pop3: Some(("pop.yeah.net", 995, IMPLICIT_POP3)),
        smtp: ("smtp.yeah.net", 465, IMPLICIT_SMTP),
        hint: Some(NETEASE_HINT),
        no_pop3_reason: None,
    },
    Provider {
        name: "Sina Mail",
        domains: &["sina.com"],
        pop3: Some(("pop.sina.com", 995, IMPLICIT_POP3)),
        smtp: ("smtp.sina.com", 465, IMPLICIT_SMTP),
        hint: Some(
            "Turn on POP3/SMTP in Sina Mail's settings (设置 → 客户端pop/imap/smtp); \
             it may give you an authorization code to log in with.",
        ),
        no_pop3_reason: None,
    },
    Provider {
        name: "Sina Mail (sina.cn)",
        domains: &["sina.cn"],
        pop3: Some(("pop.sina.cn", 995, IMPLICIT_POP3)),
        smtp: ("smtp.sina.cn", 465, IMPLICIT_SMTP),
        hint: Some(
            "Turn on POP3/SMTP in Sina Mail's settings (设置 → 客户端pop/imap/smtp); \
             it may give you an authorization code to log in with.",
        ),
        no_pop3_reason: None,
    },
    Provider {
        name: "Aliyun Mail",
        domains: &["aliyun.com"],
        pop3: Some(("pop.aliyun.com", 995, IMPLICIT_POP3)),
        smtp: ("smtp.aliyun.com", 465, IMPLICIT_SMTP),
        hint: Some("Turn on POP3 in Aliyun Mail's settings (设置 → 账户 → POP3/SMTP)."),
        no_pop3_reason: None,
    },
    Provider {
        name: "Yandex Mail",
        domains: &["yandex.ru", "yandex.com", "ya.ru", "yandex.by", "yandex.kz"],
        pop3: Some(("pop.yandex.com", 995, IMPLICIT_POP3)),
        smtp: ("smtp.yandex.com", 465, IMPLICIT_SMTP),
        hint: Some(
            "Allow mail programs in Yandex Mail's settings (Mail clients → POP3) and log \
             in with an app password (Yandex ID → Security → App passwords).",
        ),
        no_pop3_reason: None,
    },
    Provider {
        name: "Mail.ru",
        domains: &["mail.ru", "inbox.ru", "list.ru", "bk.ru", "internet.ru"],
        pop3: Some(("pop.mail.ru", 995, IMPLICIT_POP3)),
        smtp: ("smtp.mail.ru", 465, IMPLICIT_SMTP),
        hint: Some(
            "Log in with a password for external applications (Settings → Security → \
             Passwords for external applications), not your usual password.",
        ),
        no_pop3_reason: None,
    },
    Provider {
        name: "GMX",
        domains: &["gmx.net", "gmx.de", "gmx.at", "gmx.ch"],
        pop3: Some(("pop.gmx.net", 995, IMPLICIT_POP3)),
        smtp: ("mail.gmx.net", 465, IMPLICIT_SMTP),
        hint: Some("Turn on POP3/IMAP access in GMX's settings (E-Mail → POP3 & IMAP)."),
        no_pop3_reason: None,
    },
    Provider {
        name: "GMX.com",
        domains: &["gmx.com", "gmx.us", "gmx.co.uk"],
        pop3: Some(("pop.gmx.com", 995, IMPLICIT_POP3)),
        smtp: ("mail.gmx.com", 465, IMPLICIT_SMTP),
        hint: Some("Turn on POP3/IMAP access in GMX's settings (E-mail → POP3 & IMAP)."),
        no_pop3_reason: None,
    },
    Provider {
        name: "WEB.DE",
        domains: &["web.de"],
        pop3: Some(("pop3.web.de", 995, IMPLICIT_POP3)),
        smtp: ("smtp.web.de", 587, STARTTLS),
        hint: Some("Turn on POP3/IMAP access in WEB.DE's settings (E-Mail → POP3/IMAP Abruf)."),
        no_pop3_reason: None,
    },
    Provider {
        name: "Fastmail",
        domains: &["fastmail.com", "fastmail.fm"],
        pop3: Some(("pop.fastmail.com", 995, IMPLICIT_POP3)),
        smtp: ("smtp.fastmail.com", 465, IMPLICIT_SMTP),
        hint: Some(
            "Log in with an app password (Settings → Privacy & Security → App passwords) \
             that allows POP and SMTP.",
        ),
        no_pop3_reason: None,
    },
    Provider {
        name: "Zoho Mail",
        domains: &["zoho.com", "zohomail.com"],
        pop3: Some(("pop.zoho.com", 995, IMPLICIT_POP3)),
        smtp: ("smtp.zoho.com", 465, IMPLICIT_SMTP),
        hint: Some(
            "Turn on POP access in Zoho Mail's settings (Mail Accounts → POP Access); \
             with two-factor authentication, log in with an application-specific password.",
        ),
        no_pop3_reason: None,
    },
];

/// Every known provider, in a sensible order for a picker.
pub fn all() -> &'static [Provider] {
    PROVIDERS
}

/// The provider of `email_addr`, by its domain (the part after the last
/// `@`, case-insensitive). `None` for an unknown domain or a string with no
/// domain. Hosted services such as Tencent Exmail have no domains and are
/// found only through [`all`].
pub fn lookup(email_addr: &str) -> Option<&'static Provider> {
    let (_, domain) = email_addr.trim().rsplit_once('@')?;
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    if domain.is_empty() {
        return None;
    }
    PROVIDERS
        .iter()
        .find(|provider| provider.domains.contains(&domain.as_str()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn each_listed_domain_resolves_to_its_provider() {
        for (addr, name) in [
            ("a@gmail.com", "Gmail"),
            ("a@googlemail.com", "Gmail"),
            ("a@outlook.com", "Outlook.com / Hotmail"),
            ("a@hotmail.com", "Outlook.com / Hotmail"),
            ("a@live.com", "Outlook.com / Hotmail"),
            ("a@msn.com", "Outlook.com / Hotmail"),
            ("a@yahoo.com", "Yahoo Mail"),
            ("a@icloud.com", "iCloud Mail"),
            ("a@qq.com", "QQ Mail"),
            ("a@foxmail.com", "QQ Mail"),
            ("a@163.com", "NetEase 163"),
            ("a@126.com", "NetEase 126"),
            ("a@yeah.net", "NetEase Yeah"),
            ("a@sina.com", "Sina Mail"),
            ("a@sina.cn", "Sina Mail (sina.cn)"),
            ("a@aliyun.com", "Aliyun Mail"),
            ("a@yandex.ru", "Yandex Mail"),
            ("a@yandex.com", "Yandex Mail"),
            ("a@ya.ru", "Yandex Mail"),
            ("a@mail.ru", "Mail.ru"),
            ("a@inbox.ru", "Mail.ru"),
            ("a@list.ru", "Mail.ru"),
            ("a@bk.ru", "Mail.ru"),
            ("a@gmx.net", "GMX"),
            ("a@gmx.de", "GMX"),
            ("a@gmx.com", "GMX.com"),
            ("a@web.de", "WEB.DE"),
            ("a@fastmail.com", "Fastmail"),
            ("a@zoho.com", "Zoho Mail"),
        ] {
            assert_eq!(lookup(addr).map(|p| p.name), Some(name), "{addr}");
        }
        let gmail = lookup("someone@gmail.com").unwrap();
        assert_eq!(
            gmail.pop3,
            Some(("pop.gmail.com", 995, Pop3Security::ImplicitTls))
        );
        assert_eq!(gmail.smtp_server().port, 465);
        let outlook = lookup("someone@outlook.com").unwrap();
        assert_eq!(
            outlook.smtp,
            ("smtp-mail.outlook.com", 587, SmtpSecurity::StartTls)
        );
        assert!(lookup("x@qq.com").unwrap().hint.unwrap().contains("授权码"));
    }

    #[test]
    fn lookup_ignores_case_and_a_trailing_dot() {
        assert_eq!(lookup("Someone@GMail.COM").unwrap().name, "Gmail");
        assert_eq!(lookup(" someone@QQ.com. ").unwrap().name, "QQ Mail");
    }

    #[test]
    fn unknown_or_missing_domains_are_none() {
        assert!(lookup("someone@example.com").is_none());
        assert!(lookup("no-at-sign").is_none());
        assert!(lookup("someone@").is_none());
        assert!(lookup("someone@gmail.com.example").is_none());
    }

    #[test]
    fn icloud_has_no_pop3_and_says_why() {
        let icloud = lookup("me@icloud.com").unwrap();
        assert!(icloud.pop3.is_none() && icloud.pop3_server().is_none());
        assert!(icloud.no_pop3_reason.unwrap().contains("POP3"));
    }

    #[test]
    fn table_is_consistent() {
        let mut seen = std::collections::HashSet::new();
        for provider in all() {
            assert_eq!(
                provider.pop3.is_none(),
                provider.no_pop3_reason.is_some(),
                "{}",
                provider.name
            );
            for domain in provider.domains {
                assert_eq!(*domain, domain.to_ascii_lowercase());
                assert!(seen.insert(*domain), "{domain} listed twice");
            }
        }
        assert!(
            all()
                .iter()
                .any(|p| p.name.starts_with("Tencent Exmail") && p.domains.is_empty())
        );
    }
}
