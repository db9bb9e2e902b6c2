//! Small formatting helpers shared by the views: sizes, local dates and
//! address lists.

use chrono::{DateTime, Datelike, Local, TimeZone};
use herald_core::message::Address;

/// A byte count for people: `512 B`, `12 KB`, `3.4 MB`.
pub fn format_size(bytes: u64) -> String {
    const KB: f64 = 1024.0;
    let value = bytes as f64;
    if value < KB {
        format!("{bytes} B")
    } else if value < KB * KB {
        format!("{:.0} KB", (value / KB).max(1.0))
    } else if value < KB * KB * KB {
        format!("{:.1} MB", value / (KB * KB))
    } else {
        format!("{:.1} GB", value / (KB * KB * KB))
    }
}

/// A count with thousands separated: `1,234,567`.
pub fn format_count(count: u64) -> String {
    let digits = count.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (n, digit) in digits.chars().enumerate() {
        if n > 0 && (digits.len() - n).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

fn local(unix_seconds: i64) -> Option<DateTime<Local>> {
    Local.timestamp_opt(unix_seconds, 0).single()
}

/// A date for the message list, in local time: the time for today, the day
/// and month this year, the full date otherwise.
pub fn local_date_short(unix_seconds: i64) -> String {
    local_date_short_at(unix_seconds, Local::now())
}

fn local_date_short_at(unix_seconds: i64, now: DateTime<Local>) -> String {
    let Some(date) = local(unix_seconds) else {
        return String::new();
    };
    if date.date_naive() == now.date_naive() {
        date.format("%H:%M").to_string()
    } else if date.year() == now.year() {
        date.format("%d %b %H:%M").to_string()
    } else {
        date.format("%d %b %Y").to_string()
    }
}

/// A full date in local time for the reader: `Sat 21 Nov 2026, 09:30`.
pub fn local_date_long(unix_seconds: i64) -> String {
    local(unix_seconds)
        .map(|date| date.format("%a %d %b %Y, %H:%M").to_string())
        .unwrap_or_default()
}

/// `Ann Lee <ann@example.org>, bob@example.org`: the real address is
/// always shown next to the name.
pub fn address_list(addresses: &[Address]) -> String {
    addresses
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_have_thousands_separators() {
        assert_eq!(format_count(0), "0");
        assert_eq!(format_count(999), "999");
        assert_eq!(format_count(1_000), "1,000");
        assert_eq!(format_count(100_000), "100,000");
        assert_eq!(format_count(1_234_567), "1,234,567");
    }

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(format_size(0), "0 B");
        assert_eq!(format_size(1023), "1023 B");
        assert_eq!(format_size(1024), "1 KB");
        assert_eq!(format_size(12 * 1024 + 100), "12 KB");
        assert_eq!(format_size(3_565_158), "3.4 MB");
    }

    #[test]
    fn list_dates_shorten_for_today_and_this_year() {
        let now = local(1_700_000_000).expect("valid");
        let today = local_date_short_at(1_700_000_000 - 60, now);
        assert_eq!(today.len(), 5, "{today}");
        let this_year = local_date_short_at(1_700_000_000 - 40 * 86_400, now);
        assert!(!this_year.contains("2023"), "{this_year}");
        let older = local_date_short_at(1_600_000_000, now);
        assert!(older.contains("2020"), "{older}");
    }

    #[test]
    fn long_dates_name_the_day_and_year() {
        let date = local_date_long(1_795_000_000);
        assert!(date.contains("2026"), "{date}");
        assert!(date.contains(", "), "{date}");
    }

    #[test]
    fn address_lists_show_names_and_real_addresses() {
        let address = |name: Option<&str>, email: &str| Address {
            name: name.map(str::to_owned),
            email: email.to_owned(),
        };
        assert_eq!(
            address_list(&[
                address(Some("Ann Lee"), "ann@example.org"),
                address(None, "bob@example.org")
            ]),
            "Ann Lee <ann@example.org>, bob@example.org"
        );
        assert_eq!(address_list(&[]), "");
    }
}
