//! `HOST[:PORT]` as typed on the command line.

use std::str::FromStr;

use super::AccountError;

/// A server given as `host`, `host:port`, `[ipv6]` or `[ipv6]:port`.
///
/// The port is optional because its default depends on the security mode
/// (465 vs 587 for SMTP, 995 vs 110 for POP3), which may be given in another
/// option; see [`super::SmtpServer::new`] and [`super::Pop3Server::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPort {
    /// The host name or IP address, without brackets.
    pub host: String,
    /// The port, if one was given.
    pub port: Option<u16>,
}

impl FromStr for HostPort {
    type Err = AccountError;

    fn from_str(input: &str) -> Result<HostPort, AccountError> {
        let fail = |problem| AccountError::HostPort {
            input: input.to_string(),
            problem,
        };
        let (host, port) = if let Some(rest) = input.strip_prefix('[') {
            let (host, after) = rest
                .split_once(']')
                .ok_or_else(|| fail("missing ']' after the IPv6 address"))?;
            if host.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(fail("not an IPv6 address inside the brackets"));
            }
            let port = match after {
                "" => None,
                _ => Some(
                    after
                        .strip_prefix(':')
                        .ok_or_else(|| fail("expected ':PORT' after ']'"))?,
                ),
            };
            (host, port)
        } else {
            match input.matches(':').count() {
                0 => (input, None),
                1 => {
                    let (host, port) = input.split_once(':').unwrap_or((input, ""));
                    (host, Some(port))
                }
                _ => return Err(fail("put an IPv6 address in brackets, as in [::1]:995")),
            }
        };
        if host.is_empty() {
            return Err(fail("the host is empty"));
        }
        if host.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(fail("the host contains a space or control character"));
        }
        let port = match port {
            None => None,
            Some(text) => match text.parse::<u16>() {
                Ok(0) | Err(_) => return Err(fail("the port must be a number from 1 to 65535")),
                Ok(port) => Some(port),
            },
        };
        Ok(HostPort {
            host: host.to_string(),
            port,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(input: &str) -> Result<HostPort, AccountError> {
        input.parse()
    }

    #[test]
    fn host_with_port() {
        let parsed = parse("mail.example.com:465").unwrap();
        assert_eq!(parsed.host, "mail.example.com");
        assert_eq!(parsed.port, Some(465));
    }

    #[test]
    fn host_alone_leaves_port_to_security_default() {
        let parsed = parse("mail.example.com").unwrap();
        assert_eq!(parsed.host, "mail.example.com");
        assert_eq!(parsed.port, None);
    }

    #[test]
    fn bracketed_ipv6_with_and_without_port() {
        let parsed = parse("[::1]:995").unwrap();
        assert_eq!(parsed.host, "::1");
        assert_eq!(parsed.port, Some(995));
        let parsed = parse("[2001:db8::1]").unwrap();
        assert_eq!(parsed.host, "2001:db8::1");
        assert_eq!(parsed.port, None);
    }

    #[test]
    fn ipv4_with_port() {
        let parsed = parse("127.0.0.1:2525").unwrap();
        assert_eq!(parsed.host, "127.0.0.1");
        assert_eq!(parsed.port, Some(2525));
    }

    #[test]
    fn bad_inputs_are_rejected() {
        for input in [
            "",
            ":465",
            "host:",
            "host:0",
            "host:65536",
            "host:abc",
            "::1",
            "::1:995",
            "[::1",
            "[::1]995",
            "[notv6]:1",
            "mail example.com",
            "host\n:1",
        ] {
            assert!(
                matches!(parse(input), Err(AccountError::HostPort { .. })),
                "{input:?} should be rejected"
            );
        }
    }

    #[test]
    fn highest_port_is_accepted() {
        assert_eq!(parse("h:65535").unwrap().port, Some(65535));
    }
}
