//! Warnings about who a message is really from. (Addresses and dates are
//! written by `app::text`, like everywhere else.)

use herald_core::message::{Address, Headers};

fn domain(email: &str) -> &str {
    email.rsplit_once('@').map_or("", |(_, domain)| domain)
}

/// Sentences warning that the sender may not be who they seem.
pub fn sender_warnings(headers: &Headers) -> Vec<String> {
    let mut warnings = Vec::new();
    if headers.from_header_count > 1 {
        warnings.push(format!(
            "This message has {} From lines: the sender shown may be forged.",
            headers.from_header_count
        ));
    } else if headers.from.len() > 1 {
        warnings.push("This message names several senders.".to_owned());
    }
    let Some(sender) = headers.from.first() else {
        if !headers.reply_to.is_empty() {
            warnings.push(format!(
                "Replies go to {}; the message names no sender.",
                emails(&headers.reply_to)
            ));
        }
        return warnings;
    };
    let others: Vec<&Address> = headers
        .reply_to
        .iter()
        .filter(|reply| !reply.email.eq_ignore_ascii_case(&sender.email))
        .collect();
    if !others.is_empty() {
        let other_domain = others
            .iter()
            .any(|reply| !domain(&reply.email).eq_ignore_ascii_case(domain(&sender.email)));
        let list = others
            .iter()
            .map(|a| a.email.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        warnings.push(if other_domain {
            format!(
                "Replies go to {list}, not to the sender ({}), and to a different domain.",
                sender.email
            )
        } else {
            format!(
                "Replies go to {list}, not to the sender ({}).",
                sender.email
            )
        });
    }
    warnings
}

fn emails(addresses: &[Address]) -> String {
    addresses
        .iter()
        .map(|a| a.email.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(name: Option<&str>, email: &str) -> Address {
        Address {
            name: name.map(str::to_owned),
            email: email.to_owned(),
        }
    }

    #[test]
    fn reader_warns_when_replies_go_elsewhere_or_from_is_repeated() {
        let mut headers = Headers {
            from: vec![address(Some("Ann Lee"), "ann@example.org")],
            from_header_count: 1,
            reply_to: vec![address(None, "ANN@example.org")],
            ..Headers::default()
        };
        assert!(sender_warnings(&headers).is_empty());
        headers.reply_to = vec![address(None, "billing@evil.example")];
        let warnings = sender_warnings(&headers);
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].starts_with("Replies go to billing@evil.example, not to the sender"));
        assert!(warnings[0].contains("different domain"));
        headers.reply_to.clear();
        headers.from_header_count = 2;
        assert!(sender_warnings(&headers)[0].contains("2 From lines"));
    }
}
