//! Reply, reply all and forward: recipients, subject, thread ids, quoting.

use herald_core::message::{Address, Headers, Message};

use crate::app::text::address_list;

/// How a composer answers an existing message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyMode {
    /// To the sender (its Reply-To when it has one).
    Reply,
    /// To the sender and every other recipient, except us.
    ReplyAll,
    /// To someone new, with the original's text and attachments.
    Forward,
}

/// The line that starts a forwarded message's summary.
pub const FORWARD_MARKER: &str = "---------- Forwarded message ----------";

/// At most this many ids in `References` (the first and the latest are kept).
pub const MAX_REFERENCES: usize = 20;

/// Recipients (To, Cc) of an answer. `own` are our addresses (any account),
/// never answered to; duplicates are removed (case-insensitive).
pub fn recipients(
    headers: &Headers,
    mode: ReplyMode,
    own: &[String],
) -> (Vec<Address>, Vec<Address>) {
    let is_own = |address: &Address| {
        own.iter()
            .any(|mine| mine.eq_ignore_ascii_case(&address.email))
    };
    let from_us = headers.from.iter().any(is_own);
    let primary: Vec<Address> = if !headers.reply_to.is_empty() {
        headers.reply_to.clone()
    } else if from_us {
        // Answering our own sent message: to its recipients again.
        headers.to.clone()
    } else {
        headers.from.clone()
    };
    let mut seen: Vec<String> = Vec::new();
    let mut take = |list: &[Address], skip_own: bool| -> Vec<Address> {
        let mut out = Vec::new();
        for address in list {
            let key = address.email.trim().to_lowercase();
            if key.is_empty() || seen.contains(&key) || (skip_own && is_own(address)) {
                continue;
            }
            seen.push(key);
            out.push(address.clone());
        }
        out
    };
    match mode {
        ReplyMode::Forward => (Vec::new(), Vec::new()),
        ReplyMode::Reply => (take(&primary, false), Vec::new()),
        ReplyMode::ReplyAll => {
            let mut to = take(&primary, from_us);
            to.extend(take(&headers.to, true));
            let cc = take(&headers.cc, true);
            if to.is_empty() && cc.is_empty() {
                // Everyone was us: answer ourselves rather than nobody.
                (take(&primary, false), Vec::new())
            } else {
                (to, cc)
            }
        }
    }
}

/// `Re: subject` / `Fwd: subject`, without doubling an existing prefix.
pub fn subject(original: Option<&str>, mode: ReplyMode) -> String {
    let original = original.unwrap_or("").trim();
    let (prefix, existing): (&str, &[&str]) = match mode {
        ReplyMode::Reply | ReplyMode::ReplyAll => ("Re: ", &["re:", "re :", "aw:", "sv:", "antw:"]),
        ReplyMode::Forward => ("Fwd: ", &["fwd:", "fw:", "tr:", "wg:"]),
    };
    let lower = original.to_lowercase();
    if existing.iter().any(|p| lower.starts_with(p)) {
        original.to_owned()
    } else {
        format!("{prefix}{original}")
    }
}

/// `References` of an answer: the original's, then its Message-ID; capped
/// at [`MAX_REFERENCES`] keeping the thread's first id and the latest ones.
pub fn references(headers: &Headers) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for id in headers.references.iter().chain(headers.message_id.as_ref()) {
        if !id.is_empty() && !ids.contains(id) {
            ids.push(id.clone());
        }
    }
    if ids.len() > MAX_REFERENCES {
        let first = ids[0].clone();
        let keep_from = ids.len() - (MAX_REFERENCES - 1);
        ids = std::iter::once(first)
            .chain(ids.drain(keep_from..))
            .collect();
    }
    ids
}

/// `On 2024-03-01 10:00 +01:00, Ann Smith wrote:`
pub fn attribution(headers: &Headers) -> String {
    let who = headers
        .from
        .first()
        .map(|a| {
            a.name
                .clone()
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| a.email.clone())
        })
        .unwrap_or_else(|| "someone".to_owned());
    match headers.date_rfc3339.as_deref() {
        Some(date) => format!("On {}, {who} wrote:", readable_date(date)),
        None => format!("{who} wrote:"),
    }
}

/// `2024-03-01T10:00:00+01:00` → `2024-03-01 10:00 +01:00`.
fn readable_date(rfc3339: &str) -> String {
    match (rfc3339.get(..10), rfc3339.get(11..16), rfc3339.get(19..)) {
        (Some(day), Some(time), Some(zone)) => {
            let zone = if zone == "Z" { "UTC" } else { zone };
            format!("{day} {time} {zone}")
        }
        _ => rfc3339.to_owned(),
    }
}

/// Every line prefixed with `> ` (`>` alone for an empty line).
pub fn quote_lines(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + text.len() / 8);
    for line in text.trim_end().lines() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            quoted.push_str(">\n");
        } else {
            quoted.push_str("> ");
            quoted.push_str(line);
            quoted.push('\n');
        }
    }
    quoted
}

/// The quoted original under an answer (plain text and Markdown alike: in
/// Markdown `> ` lines become a blockquote).
pub fn quoted_original(message: &Message) -> String {
    format!(
        "{}\n{}",
        attribution(&message.headers),
        quote_lines(&message.text)
    )
}

/// The summary above a forwarded message's text.
pub fn forward_summary(headers: &Headers, markdown: bool) -> String {
    let mut lines = vec![FORWARD_MARKER.to_owned()];
    lines.push(format!("From: {}", address_list(&headers.from)));
    if let Some(date) = &headers.date_rfc3339 {
        lines.push(format!("Date: {}", readable_date(date)));
    }
    lines.push(format!(
        "Subject: {}",
        headers.subject.as_deref().unwrap_or("")
    ));
    lines.push(format!("To: {}", address_list(&headers.to)));
    if !headers.cc.is_empty() {
        lines.push(format!("Cc: {}", address_list(&headers.cc)));
    }
    let mut summary = lines.join("\n");
    if markdown {
        // Addresses in `<…>` would read as Markdown autolinks or raw HTML.
        summary = escape_markdown(&summary);
    }
    summary
}

/// Backslash-escapes the characters Markdown would read as markup.
pub fn escape_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '!' | '|'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(name: Option<&str>, email: &str) -> Address {
        Address {
            name: name.map(str::to_owned),
            email: email.to_owned(),
        }
    }

    fn headers() -> Headers {
        Headers {
            subject: Some("Plans".into()),
            from: vec![addr(Some("Ann"), "ann@example.org")],
            to: vec![
                addr(None, "me@example.com"),
                addr(Some("Bob"), "bob@example.org"),
            ],
            cc: vec![
                addr(None, "carol@example.org"),
                addr(None, "ME@example.com"),
                addr(None, "bob@example.org"),
            ],
            message_id: Some("m3@example.org".into()),
            references: vec!["m1@example.org".into(), "m2@example.org".into()],
            date_rfc3339: Some("2024-03-01T10:00:00+01:00".into()),
            ..Headers::default()
        }
    }

    fn emails(list: &[Address]) -> Vec<&str> {
        list.iter().map(|a| a.email.as_str()).collect()
    }

    #[test]
    fn reply_goes_to_reply_to_over_from() {
        let own = vec!["me@example.com".to_owned()];
        let mut h = headers();
        assert_eq!(
            emails(&recipients(&h, ReplyMode::Reply, &own).0),
            ["ann@example.org"]
        );
        h.reply_to = vec![addr(None, "list@example.org")];
        let (to, cc) = recipients(&h, ReplyMode::Reply, &own);
        assert_eq!(emails(&to), ["list@example.org"]);
        assert!(cc.is_empty());
    }

    #[test]
    fn reply_all_drops_us_and_duplicates() {
        let own = vec!["me@example.com".to_owned()];
        let (to, cc) = recipients(&headers(), ReplyMode::ReplyAll, &own);
        assert_eq!(emails(&to), ["ann@example.org", "bob@example.org"]);
        assert_eq!(emails(&cc), ["carol@example.org"]);
    }

    #[test]
    fn forward_has_no_recipients() {
        let (to, cc) = recipients(&headers(), ReplyMode::Forward, &[]);
        assert!(to.is_empty() && cc.is_empty());
    }

    #[test]
    fn subject_prefix_is_not_doubled() {
        assert_eq!(subject(Some("Plans"), ReplyMode::Reply), "Re: Plans");
        assert_eq!(subject(Some("RE: Plans"), ReplyMode::ReplyAll), "RE: Plans");
        assert_eq!(
            subject(Some("Re: Plans"), ReplyMode::Forward),
            "Fwd: Re: Plans"
        );
        assert_eq!(
            subject(Some("Fwd: Plans"), ReplyMode::Forward),
            "Fwd: Plans"
        );
        assert_eq!(subject(Some("FW: Plans"), ReplyMode::Forward), "FW: Plans");
        assert_eq!(subject(None, ReplyMode::Reply), "Re: ");
    }

    #[test]
    fn references_append_the_message_id_and_are_capped() {
        assert_eq!(
            references(&headers()),
            ["m1@example.org", "m2@example.org", "m3@example.org"]
        );
        let mut h = headers();
        h.references = (0..30).map(|n| format!("r{n}@x")).collect();
        let refs = references(&h);
        assert_eq!(refs.len(), MAX_REFERENCES);
        assert_eq!(refs[0], "r0@x");
        assert_eq!(refs[1], "r12@x");
        assert_eq!(refs.last().map(String::as_str), Some("m3@example.org"));
    }

    #[test]
    fn quoting_and_attribution() {
        assert_eq!(
            attribution(&headers()),
            "On 2024-03-01 10:00 +01:00, Ann wrote:"
        );
        assert_eq!(quote_lines("a\n\nb\n"), "> a\n>\n> b\n");
    }
}
