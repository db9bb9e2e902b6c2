//! The demo inbox: realistic messages written as RFC 5322 text, dated
//! relative to now, that show what Herald can display. Every address uses
//! an `example.*` or `.invalid` domain.
//!
//! They are hand-written rather than built with [`crate::compose`] on
//! purpose: real mail arrives in charsets and shapes Herald never writes
//! (GB18030, KOI8-R, ISO-2022-JP, Latin-1 quoted-printable, RFC 2231 file
//! names next to encoded-word ones), and the demo should show those.

use base64::Engine as _;
use encoding_rs::Encoding;

/// One seeded message.
pub(super) struct SeedMessage {
    /// Its Date, as Unix time (orders the mailbox).
    pub date_unix: i64,
    /// The message.
    pub bytes: Vec<u8>,
}

/// The subject of the Chinese message, for tests.
#[cfg(test)]
pub(super) const CHINESE_SUBJECT: &str = "周末一起去爬山吗？";

const DAY: i64 = 86_400;
const HOUR: i64 = 3_600;

/// (year, month 1–12, day 1–31) of a Unix time, in UTC (H. Hinnant's
/// `civil_from_days`).
pub(super) fn civil_date(unix: i64) -> (i64, u32, u32) {
    let days = unix.div_euclid(DAY);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// An RFC 5322 §3.3 date, in the zone `offset_minutes` east of UTC.
pub(super) fn rfc5322_date(unix: i64, offset_minutes: i32) -> String {
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let local = unix + i64::from(offset_minutes) * 60;
    let (year, month, day) = civil_date(local);
    let weekday = WEEKDAYS[local.div_euclid(DAY).rem_euclid(7) as usize];
    let seconds = local.rem_euclid(DAY);
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let offset = offset_minutes.unsigned_abs();
    format!(
        "{weekday}, {day} {} {year} {:02}:{:02}:{:02} {sign}{:02}{:02}",
        MONTHS[(month - 1) as usize],
        seconds / HOUR,
        seconds % HOUR / 60,
        seconds % 60,
        offset / 60,
        offset % 60
    )
}

/// Base64 in lines of 76 characters, each ending in CRLF.
fn base64_lines(bytes: &[u8]) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut out = String::with_capacity(encoded.len() + encoded.len() / 38 + 2);
    for line in encoded.as_bytes().chunks(76) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push_str("\r\n");
    }
    out
}

/// RFC 2047 encoded words (base64) for `text` in `charset`, a few
/// characters each so that every word stays within 75 characters and no
/// character (or ISO-2022-JP escape state) is split between words.
fn encoded_words(charset: &str, encoding: &'static Encoding, text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    chars
        .chunks(10)
        .map(|chunk| {
            let piece: String = chunk.iter().collect();
            let (bytes, _, _) = encoding.encode(&piece);
            format!(
                "=?{charset}?B?{}?=",
                base64::engine::general_purpose::STANDARD.encode(&bytes)
            )
        })
        .collect::<Vec<_>>()
        .join("\r\n ")
}

/// Quoted-printable (RFC 2045 §6.7) of `bytes`, lines of at most 76.
fn quoted_printable(bytes: &[u8]) -> String {
    let mut out = String::new();
    for line in bytes.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let mut width = 0;
        for (index, &byte) in line.iter().enumerate() {
            let last = index + 1 == line.len();
            let token = if byte == b'='
                || byte >= 0x7f
                || (byte < 0x20 && byte != b'\t')
                || (last && (byte == b' ' || byte == b'\t'))
            {
                format!("={byte:02X}")
            } else {
                char::from(byte).to_string()
            };
            if width + token.len() > 75 {
                out.push_str("=\r\n");
                width = 0;
            }
            width += token.len();
            out.push_str(&token);
        }
        out.push_str("\r\n");
    }
    out
}

/// RFC 2231 `filename*=UTF-8''…` value.
fn percent_encoded(text: &str) -> String {
    text.bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                char::from(byte).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

/// Text with CRLF line endings, as it goes into a base64 or QP body.
fn crlf_text(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\n', "\r\n")
}

/// The header fields every seeded message has.
/// A plain-text message whose `body` is in `encoding`'s charset, sent as
/// is (`transfer`: `7bit` or `8bit`), with CRLF line ends.
fn unencoded_text(
    head: &Head<'_>,
    encoding: &'static Encoding,
    transfer: &str,
    body: &str,
) -> SeedMessage {
    let body = crlf_text(body);
    let (bytes, _, _) = encoding.encode(&body);
    let mut message = head
        .render(&format!(
            "Content-Type: text/plain; charset={}\r\n\
             Content-Transfer-Encoding: {transfer}\r\n\r\n",
            encoding.name()
        ))
        .into_bytes();
    message.extend_from_slice(&bytes);
    SeedMessage {
        date_unix: head.date_unix,
        bytes: message,
    }
}

struct Head<'a> {
    from: &'a str,
    to: &'a str,
    subject: String,
    date_unix: i64,
    offset_minutes: i32,
    message_id: &'a str,
}

impl Head<'_> {
    fn render(&self, extra: &str) -> String {
        format!(
            "Return-Path: <bounce@demo.herald.invalid>\r\n\
             Delivered-To: {demo}\r\n\
             From: {}\r\n\
             To: {}\r\n\
             Subject: {}\r\n\
             Date: {}\r\n\
             Message-ID: <{}>\r\n\
             MIME-Version: 1.0\r\n{extra}",
            self.from,
            self.to,
            self.subject,
            rfc5322_date(self.date_unix, self.offset_minutes),
            self.message_id,
            demo = super::DEMO_EMAIL_ADDR,
        )
    }
}

const YOU: &str = "Demo User <you@demo.herald.invalid>";

/// Every seeded message, oldest first, dated relative to `now`.
pub(super) fn messages(now: i64) -> Vec<SeedMessage> {
    let mut out = Vec::new();
    thread(now - 20 * DAY, &mut out);
    out.push(russian(now - 14 * DAY + 3 * HOUR));
    out.push(japanese(now - 12 * DAY + 5 * HOUR));
    out.push(chinese(now - 10 * DAY + 2 * HOUR));
    out.push(german(now - 9 * DAY));
    out.push(attachments(now - 7 * DAY + 4 * HOUR));
    out.push(arabic(now - 6 * DAY + 3 * HOUR));
    out.push(newsletter(now - 5 * DAY + HOUR));
    out.push(reply_to(now - 3 * DAY + 6 * HOUR));
    out.push(tips(now - 2 * DAY));
    out.push(birthday(now - DAY + 2 * HOUR));
    out.push(welcome(now - 600));
    out
}

/// A plain-text UTF-8 message in quoted-printable.
fn plain(head: &Head<'_>, extra: &str, body: &str) -> SeedMessage {
    let headers = head.render(&format!(
        "{extra}Content-Type: text/plain; charset=UTF-8\r\n\
         Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    ));
    SeedMessage {
        date_unix: head.date_unix,
        bytes: format!("{headers}{}", quoted_printable(crlf_text(body).as_bytes())).into_bytes(),
    }
}

/// Eight messages about a picnic, replying to each other with quotes.
fn thread(start: i64, out: &mut Vec<SeedMessage>) {
    let alice = "Alice Moreau <alice@example.org>";
    let bob = "Bob Okafor <bob@example.org>";
    let chen = "Chen Wei <chen.wei@example.org>";
    let everyone = "Alice Moreau <alice@example.org>, Bob Okafor <bob@example.org>, \
                    Chen Wei <chen.wei@example.org>, Demo User <you@demo.herald.invalid>";
    let posts: [(&str, i64, &str); 8] = [
        (
            alice,
            0,
            "Hi all,\n\nThe weather looks good for Saturday. Shall we have the team picnic\n\
             in Riverside Park? I can bring a blanket and lemonade.\n\nAlice",
        ),
        (
            bob,
            2 * HOUR,
            "Count me in! I'll bring the frisbee and some sandwiches.\n\nBob",
        ),
        (
            chen,
            5 * HOUR,
            "Sounds great. I can make dumplings (vegetarian ones too).\n\
             What time were you thinking? Noon?\n\nChen",
        ),
        (
            alice,
            DAY,
            "Noon works for me. Let's meet at the big oak tree near the east gate.\n\n\
             Demo User, are you coming?\n\nAlice",
        ),
        (
            YOU,
            DAY + 3 * HOUR,
            "Wouldn't miss it! I'll bring fruit and a speaker for some music.\n\n\
             (By the way: this whole thread is demo mail. Try replying to it -- the\n\
             reply goes to the demo server and you will find it in Sent.)",
        ),
        (
            bob,
            DAY + 6 * HOUR,
            "Small change: the forecast says rain until 11, so maybe 12:30?",
        ),
        (
            chen,
            2 * DAY,
            "12:30 is fine. I checked the park website: the oak tree area has\n\
             tables, so we don't even need the blanket.",
        ),
        (
            alice,
            2 * DAY + 4 * HOUR,
            "Perfect, 12:30 at the oak tree then. See you all on Saturday!\n\n\
             Alice",
        ),
    ];
    let ids: Vec<String> = (1..=posts.len())
        .map(|n| format!("picnic-{n}.demo@example.org"))
        .collect();
    let mut quoted = String::new();
    for (index, (from, offset, text)) in posts.iter().enumerate() {
        let subject = if index == 0 {
            "Team picnic on Saturday?".to_string()
        } else {
            "Re: Team picnic on Saturday?".to_string()
        };
        let extra = if index == 0 {
            String::new()
        } else {
            format!(
                "In-Reply-To: <{}>\r\nReferences: {}\r\n",
                ids[index - 1],
                ids[..index]
                    .iter()
                    .map(|id| format!("<{id}>"))
                    .collect::<Vec<_>>()
                    .join("\r\n ")
            )
        };
        let mut body = text.to_string();
        if index > 0 {
            let (previous_from, _, _) = posts[index - 1];
            let name = previous_from.split(" <").next().unwrap_or(previous_from);
            body.push_str(&format!("\n\n{name} wrote:\n{quoted}"));
        }
        let head = Head {
            from,
            to: everyone,
            subject,
            date_unix: start + offset,
            offset_minutes: 60,
            message_id: &ids[index],
        };
        out.push(plain(&head, &extra, &body));
        quoted = body
            .lines()
            .map(|line| {
                if line.starts_with('>') {
                    format!(">{line}")
                } else {
                    format!("> {line}")
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
    }
}

/// Russian in KOI8-R, 8-bit, with a QP-style encoded-word subject.
fn russian(date_unix: i64) -> SeedMessage {
    let koi8 = encoding_rs::KOI8_R;
    let head = Head {
        from: &format!(
            "{} <anna.petrova@example.net>",
            encoded_words("KOI8-R", koi8, "Анна Петрова")
        ),
        to: YOU,
        subject: encoded_words("KOI8-R", koi8, "Привет из Санкт-Петербурга"),
        date_unix,
        offset_minutes: 180,
        message_id: "spb-2024.demo@example.net",
    };
    let body = "Привет!\n\n\
                Пишу тебе из Санкт-Петербурга. Белые ночи — это что-то невероятное:\n\
                в полночь светло, как днём, а по Неве ходят катера.\n\n\
                Это письмо в кодировке KOI8-R, как пишут многие старые почтовые\n\
                программы. Herald показывает его правильно.\n\n\
                Обнимаю,\nАнна";
    unencoded_text(&head, koi8, "8bit", body)
}

/// Japanese in ISO-2022-JP (7-bit), as Japanese mail programs send it.
fn japanese(date_unix: i64) -> SeedMessage {
    let jis = encoding_rs::ISO_2022_JP;
    let head = Head {
        from: &format!(
            "{} <hanako.tanaka@example.jp>",
            encoded_words("ISO-2022-JP", jis, "田中 花子")
        ),
        to: YOU,
        subject: encoded_words("ISO-2022-JP", jis, "来週の打ち合わせについて"),
        date_unix,
        offset_minutes: 540,
        message_id: "meeting-next-week.demo@example.jp",
    };
    let body = "デモユーザー様\n\n\
                いつもお世話になっております。田中です。\n\n\
                来週の打ち合わせですが、水曜日の午後二時からでいかがでしょうか。\n\
                場所は本社三階の会議室を予約しておきます。\n\n\
                このメールは ISO-2022-JP で書かれています。\n\n\
                よろしくお願いいたします。\n田中 花子";
    unencoded_text(&head, jis, "7bit", body)
}

/// Simplified Chinese in GB18030, base64 body and subject.
fn chinese(date_unix: i64) -> SeedMessage {
    let gb = encoding_rs::GB18030;
    let head = Head {
        from: &format!(
            "{} <li.na@example.cn>",
            encoded_words("GB18030", gb, "李娜")
        ),
        to: YOU,
        subject: encoded_words("GB18030", gb, "周末一起去爬山吗？"),
        date_unix,
        offset_minutes: 480,
        message_id: "hiking.demo@example.cn",
    };
    let body = "你好！\n\n\
                这个周末天气很好，我们打算星期六早上八点去香山爬山。\n\
                山上的红叶正是最美的时候，一起去吧？\n\n\
                记得带水和一点零食。我们在地铁站门口集合。\n\n\
                （这封邮件使用 GB18030 编码，Herald 可以正确显示中文。）\n\n\
                李娜";
    let body = crlf_text(body);
    let (bytes, _, _) = gb.encode(&body);
    let headers = head.render(
        "Content-Type: text/plain; charset=GB18030\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n",
    );
    SeedMessage {
        date_unix,
        bytes: format!("{headers}{}", base64_lines(&bytes)).into_bytes(),
    }
}

/// Arabic (with a line of Hebrew), right to left with English and numbers
/// mixed in: UTF-8, base64 subject and sender, a plain-text and an HTML
/// alternative in quoted-printable.
fn arabic(date_unix: i64) -> SeedMessage {
    let utf8 = encoding_rs::UTF_8;
    let boundary = "=_herald-arabic_=";
    let head = Head {
        from: &format!(
            "{} <layla.haddad@example.com>",
            encoded_words("UTF-8", utf8, "ليلى حداد")
        ),
        to: YOU,
        subject: encoded_words("UTF-8", utf8, "موعد الاجتماع: الأحد 10:00"),
        date_unix,
        offset_minutes: 180,
        message_id: "cairo-meeting.demo@example.com",
    };
    let text = "مرحباً يا صديقي،\n\n\
                نلتقي غداً الأحد في الساعة 10:00 صباحاً في مكتب القاهرة (الطابق الثالث). \
                سنناقش خطة Herald 2.0 والميزانية لعام 2026، ثم نتناول الغداء معاً في \
                المطعم المجاور إذا سمح الوقت بذلك.\n\n\
                أرسلت لك أيضاً الملف agenda.pdf مع جدول الأعمال.\n\n\
                ובעברית: נתראה מחר בשעה 10:00.\n\n\
                مع التحية،\n\
                ليلى";
    let html = "<div dir=\"rtl\">\n<p>مرحباً يا صديقي،</p>\n\
                <p>نلتقي <b>غداً الأحد</b> في الساعة 10:00 صباحاً في مكتب القاهرة \
                (الطابق الثالث). سنناقش خطة Herald 2.0 والميزانية لعام 2026.</p>\n\
                <p>جدول الأعمال على <a href=\"https://example.com/agenda\">موقعنا</a>.</p>\n\
                <p>مع التحية،<br>ليلى</p>\n</div>\n";
    let headers = head.render(&format!(
        "Content-Type: multipart/alternative; boundary=\"{boundary}\"\r\n\r\n"
    ));
    let body = format!(
        "--{boundary}\r\n\
         Content-Type: text/plain; charset=UTF-8\r\n\
         Content-Transfer-Encoding: quoted-printable\r\n\r\n\
         {}\r\n\
         --{boundary}\r\n\
         Content-Type: text/html; charset=UTF-8\r\n\
         Content-Transfer-Encoding: quoted-printable\r\n\r\n\
         {}\r\n\
         --{boundary}--\r\n",
        quoted_printable(crlf_text(text).as_bytes()),
        quoted_printable(crlf_text(html).as_bytes()),
    );
    SeedMessage {
        date_unix,
        bytes: format!("{headers}{body}").into_bytes(),
    }
}

/// German in ISO-8859-1, quoted-printable.
fn german(date_unix: i64) -> SeedMessage {
    let latin1 = encoding_rs::WINDOWS_1252;
    let head = Head {
        from: "=?ISO-8859-1?Q?J=FCrgen_M=FCller?= <juergen@example.de>",
        to: YOU,
        subject: "=?ISO-8859-1?Q?Gr=FC=DFe_aus_M=FCnchen?=".to_string(),
        date_unix,
        offset_minutes: 120,
        message_id: "muenchen.demo@example.de",
    };
    let body = "Hallo!\n\n\
                Viele Grüße aus München. Der Biergarten am Chinesischen Turm ist\n\
                wieder geöffnet, und die Brezn sind so groß wie ein Teller.\n\n\
                Diese Nachricht ist in ISO-8859-1 mit Quoted-Printable kodiert.\n\n\
                Schöne Grüße\nJürgen";
    let (bytes, _, _) = latin1.encode(body);
    let headers = head.render(
        "Content-Type: text/plain; charset=ISO-8859-1\r\n\
         Content-Transfer-Encoding: quoted-printable\r\n\r\n",
    );
    SeedMessage {
        date_unix,
        bytes: format!("{headers}{}", quoted_printable(&bytes)).into_bytes(),
    }
}

/// A one-page PDF with a few lines of text (PDF 1.4, Helvetica).
fn pdf(lines: &[&str]) -> Vec<u8> {
    let mut content = String::from("BT\n/F1 22 Tf\n72 760 Td\n");
    for (index, line) in lines.iter().enumerate() {
        if index == 1 {
            content.push_str("/F1 12 Tf\n");
        }
        let escaped = line
            .replace('\\', "\\\\")
            .replace('(', "\\(")
            .replace(')', "\\)");
        content.push_str(&format!("({escaped}) Tj\n0 -28 Td\n"));
    }
    content.push_str("ET\n");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R \
         /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_string(),
        format!(
            "<< /Length {} >>\nstream\n{content}endstream",
            content.len()
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (index, object) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", index + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// An attachment part with both RFC 2231 and encoded-word names.
fn attachment_part(boundary: &str, content_type: &str, name: &str, bytes: &[u8]) -> String {
    let word = encoded_words("UTF-8", encoding_rs::UTF_8, name);
    format!(
        "--{boundary}\r\n\
         Content-Type: {content_type}; name=\"{word}\"\r\n\
         Content-Disposition: attachment;\r\n filename*=UTF-8''{}\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}",
        percent_encoded(name),
        base64_lines(bytes)
    )
}

/// The file name of the PDF attachment, for tests.
pub(super) const PDF_NAME: &str = "年度报告 2024.pdf";
/// The file name of the CSV attachment, for tests.
pub(super) const CSV_NAME: &str = "销售数据 Übersicht.csv";

/// A PDF and a CSV with non-ASCII names.
fn attachments(date_unix: i64) -> SeedMessage {
    let boundary = "=_herald-demo-attachments_=";
    let head = Head {
        from: "Maria Santos <maria.santos@example.com>",
        to: YOU,
        subject: "Annual report 2024 and the sales figures".to_string(),
        date_unix,
        offset_minutes: 0,
        message_id: "annual-report.demo@example.com",
    };
    let text = "Hi,\n\n\
                Attached are the annual report (PDF) and the sales figures (CSV).\n\
                Their names are not plain ASCII on purpose: Herald saves them with\n\
                their real names, safely, in the folder you choose.\n\n\
                Best regards,\nMaria";
    let pdf_bytes = pdf(&[
        "Annual report 2024",
        "Herald demo mailbox - an attachment to try saving and opening.",
        "Revenue grew in every quarter. Thank you all!",
    ]);
    let csv = "\u{feff}月份,Umsatz (€),Kunden\r\n一月,12 400,310\r\n二月,13 150,327\r\n\
               三月,15 020,355\r\nQ1 Σ,40 570,992\r\n";
    let headers = head.render(&format!(
        "Content-Type: multipart/mixed; boundary=\"{boundary}\"\r\n\r\n"
    ));
    let body = format!(
        "This is a multi-part message in MIME format.\r\n\r\n\
         --{boundary}\r\n\
         Content-Type: text/plain; charset=UTF-8\r\n\
         Content-Transfer-Encoding: quoted-printable\r\n\r\n{}{}{}--{boundary}--\r\n",
        quoted_printable(crlf_text(text).as_bytes()),
        attachment_part(boundary, "application/pdf", PDF_NAME, &pdf_bytes),
        attachment_part(
            boundary,
            "text/csv; charset=UTF-8",
            CSV_NAME,
            csv.as_bytes()
        ),
    );
    SeedMessage {
        date_unix,
        bytes: format!("{headers}{body}").into_bytes(),
    }
}

/// An HTML newsletter: remote images, a tracking pixel, and links whose
/// text is not where they go.
fn newsletter(date_unix: i64) -> SeedMessage {
    let boundary = "=_weekly-byte-42_=";
    let head = Head {
        from: "The Weekly Byte <news@newsletter.example.com>",
        to: YOU,
        subject: "The Weekly Byte #42: five tips for a calmer inbox".to_string(),
        date_unix,
        offset_minutes: -300,
        message_id: "weekly-byte-42.demo@newsletter.example.com",
    };
    let text = "THE WEEKLY BYTE #42\n\n\
                Five tips for a calmer inbox\n\n\
                1. Turn off notifications for newsletters.\n\
                2. Check mail at set times.\n\
                3. Archive, don't hoard.\n\
                4. Be wary of links that don't go where they say.\n\
                5. Block remote images: they tell senders when you read.\n\n\
                Read online: https://newsletter.example.com/issues/42\n\
                Unsubscribe: https://newsletter.example.com/unsubscribe";
    let html = r#"<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>The Weekly Byte #42</title></head>
<body style="font-family: sans-serif; background: #f4f4f7; margin: 0; padding: 20px">
<table width="600" align="center" style="background: #ffffff; padding: 24px">
<tr><td>
<img src="https://images.newsletter.example.com/header-42.png" width="552" height="120" alt="The Weekly Byte">
<h1 style="color: #2f4f9f">Five tips for a calmer inbox</h1>
<p>Herald blocked the pictures in this message: they are on a remote server, and
loading them would tell the sender that you opened it, and when.</p>
<img src="https://images.newsletter.example.com/tips-illustration.jpg" width="552" height="300" alt="A tidy desk">
<ol>
<li>Turn off notifications for newsletters.</li>
<li>Check mail at set times.</li>
<li>Archive, don't hoard.</li>
<li>Be wary of links that don't go where they say. Hover over this one:
 <a href="https://login.example.net/account-verify?user=demo">https://www.example.com/account</a></li>
<li>Block remote images: they tell senders when you read.</li>
</ol>
<p><a href="https://track.newsletter.example.com/click?id=42&amp;to=offer">Claim your free gift</a>
&middot; <a href="https://newsletter.example.com/issues/42">Read online</a>
&middot; <a href="https://newsletter.example.com/unsubscribe">Unsubscribe</a></p>
</td></tr>
</table>
<img src="https://track.newsletter.example.com/open.gif?id=42&amp;u=you" width="1" height="1" alt="" style="display:block">
</body></html>
"#;
    let headers = head.render(&format!(
        "List-Unsubscribe: <https://newsletter.example.com/unsubscribe>\r\n\
         Content-Type: multipart/alternative; boundary=\"{boundary}\"\r\n\r\n"
    ));
    let body = format!(
        "--{boundary}\r\n\
         Content-Type: text/plain; charset=UTF-8\r\n\
         Content-Transfer-Encoding: quoted-printable\r\n\r\n{}\
         --{boundary}\r\n\
         Content-Type: text/html; charset=UTF-8\r\n\
         Content-Transfer-Encoding: quoted-printable\r\n\r\n{}\
         --{boundary}--\r\n",
        quoted_printable(crlf_text(text).as_bytes()),
        quoted_printable(crlf_text(html).as_bytes()),
    );
    SeedMessage {
        date_unix,
        bytes: format!("{headers}{body}").into_bytes(),
    }
}

/// From a no-reply address, with replies going elsewhere.
fn reply_to(date_unix: i64) -> SeedMessage {
    let head = Head {
        from: "Parcel Service <no-reply@shipping.example.com>",
        to: YOU,
        subject: "Your parcel is on its way".to_string(),
        date_unix,
        offset_minutes: 60,
        message_id: "parcel-4711.demo@shipping.example.com",
    };
    plain(
        &head,
        "Reply-To: Customer Care <care@support.example.net>\r\n",
        "Hello,\n\n\
         Your parcel 4711-DEMO left our depot this morning and should arrive\n\
         within two working days.\n\n\
         This message comes from a no-reply address but has a Reply-To field:\n\
         when you press Reply, Herald shows that your answer will go to\n\
         care@support.example.net instead. Always check where a reply goes.\n\n\
         Parcel Service",
    )
}

/// How the demo works and what to try.
fn tips(date_unix: i64) -> SeedMessage {
    let head = Head {
        from: "Herald Tips <tips@herald.example>",
        to: YOU,
        subject: "Things to try in the demo mailbox".to_string(),
        date_unix,
        offset_minutes: 0,
        message_id: "tips.demo@herald.example",
    };
    plain(
        &head,
        "",
        "A few things to try while you are here:\n\n\
         * Open \"The Weekly Byte\": its remote pictures are blocked until you\n\
           allow them, and a link shows where it really goes.\n\
         * Open the Chinese, Russian and Japanese messages: they use the old\n\
           charsets (GB18030, KOI8-R, ISO-2022-JP) that real mail still uses.\n\
         * Save the attachments of \"Annual report 2024\".\n\
         * Write to you@demo.herald.invalid and press Get mail: your message\n\
           arrives in this inbox. Mail to any other address is accepted by the\n\
           demo server and thrown away -- nothing leaves your computer.\n\n\
         The demo server keeps its mail in the demo folder; Herald downloads\n\
         it over POP3 with TLS, exactly as from a real provider.\n",
    )
}

/// UTF-8 with an emoji in the subject.
fn birthday(date_unix: i64) -> SeedMessage {
    let head = Head {
        from: "Bob Okafor <bob@example.org>",
        to: YOU,
        subject: encoded_words("UTF-8", encoding_rs::UTF_8, "🎂 Cake for Chen on Friday"),
        date_unix,
        offset_minutes: 60,
        message_id: "cake.demo@example.org",
    };
    plain(
        &head,
        "",
        "Hi!\n\nIt's Chen's birthday on Friday 🎉. I'm collecting for a cake —\n\
         chocolate or cheesecake? Reply by Thursday. 🍰\n\nBob",
    )
}

/// The welcome message: HTML with two inline pictures (multipart/related)
/// and a plain-text alternative.
fn welcome(date_unix: i64) -> SeedMessage {
    let outer = "=_herald-welcome-alt_=";
    let related = "=_herald-welcome-rel_=";
    let head = Head {
        from: "Herald <welcome@herald.example>",
        to: YOU,
        subject: "Welcome to Herald!".to_string(),
        date_unix,
        offset_minutes: 0,
        message_id: "welcome.demo@herald.example",
    };
    let text = "Welcome to Herald!\n\n\
                This is a demo mailbox on your own computer: a small POP3 and SMTP\n\
                server that Herald started just for you. Look around:\n\n\
                - messages in Chinese, Russian, Japanese, German and Arabic,\n\
                - attachments with non-ASCII names,\n\
                - a newsletter whose remote pictures and trackers are blocked,\n\
                - a long thread, and a message whose replies go elsewhere.\n\n\
                Send a message to you@demo.herald.invalid and press Get mail to see\n\
                it arrive. Mail to other addresses is thrown away.\n\n\
                When you are ready, add your real account.";
    let html = r#"<!DOCTYPE html>
<html><head><meta charset="utf-8"></head>
<body style="font-family: sans-serif">
<p><img src="cid:logo@demo.herald.invalid" width="64" height="64" alt="Herald logo"></p>
<h1>Welcome to Herald!</h1>
<p>This is a <b>demo mailbox</b> on your own computer: a small POP3 and SMTP
server that Herald started just for you. Nothing you do here leaves your computer.</p>
<p>Look around:</p>
<ul>
<li>messages in Chinese, Russian, Japanese, German and Arabic,</li>
<li>attachments with non-ASCII names,</li>
<li>a newsletter whose remote pictures and trackers are blocked,</li>
<li>a long thread, and a message whose replies go elsewhere.</li>
</ul>
<p><img src="cid:check@demo.herald.invalid" width="32" height="32" alt="Check mark">
Send a message to <a href="mailto:you@demo.herald.invalid">you@demo.herald.invalid</a>
and press <i>Get mail</i> to see it arrive. Mail to other addresses is thrown away.</p>
<p>The two pictures in this message are part of it (inline images), so they show
at once; pictures on remote servers wait for your permission.</p>
<p>When you are ready, add your real account.</p>
</body></html>
"#;
    let image = |cid: &str, name: &str, png: &[u8]| {
        format!(
            "--{related}\r\n\
             Content-Type: image/png; name=\"{name}\"\r\n\
             Content-Transfer-Encoding: base64\r\n\
             Content-ID: <{cid}>\r\n\
             Content-Disposition: inline; filename=\"{name}\"\r\n\r\n{}",
            base64_lines(png)
        )
    };
    let headers = head.render(&format!(
        "Content-Type: multipart/alternative; boundary=\"{outer}\"\r\n\r\n"
    ));
    let body = format!(
        "--{outer}\r\n\
         Content-Type: text/plain; charset=UTF-8\r\n\
         Content-Transfer-Encoding: quoted-printable\r\n\r\n{}\
         --{outer}\r\n\
         Content-Type: multipart/related; boundary=\"{related}\"; type=\"text/html\"\r\n\r\n\
         --{related}\r\n\
         Content-Type: text/html; charset=UTF-8\r\n\
         Content-Transfer-Encoding: quoted-printable\r\n\r\n{}{}{}\
         --{related}--\r\n\
         --{outer}--\r\n",
        quoted_printable(crlf_text(text).as_bytes()),
        quoted_printable(crlf_text(html).as_bytes()),
        image(
            "logo@demo.herald.invalid",
            "herald-logo.png",
            &super::png::envelope_logo()
        ),
        image(
            "check@demo.herald.invalid",
            "check.png",
            &super::png::check_mark()
        ),
    );
    SeedMessage {
        date_unix,
        bytes: format!("{headers}{body}").into_bytes(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn dates_are_rfc5322() {
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(civil_date(951_782_400), (2000, 2, 29));
        assert_eq!(rfc5322_date(0, 0), "Thu, 1 Jan 1970 00:00:00 +0000");
        assert_eq!(
            rfc5322_date(1_700_000_000, -300),
            "Tue, 14 Nov 2023 17:13:20 -0500"
        );
    }

    #[test]
    fn quoted_printable_wraps_and_escapes() {
        let encoded = quoted_printable("a=b é \n".repeat(20).as_bytes());
        assert!(encoded.lines().all(|line| line.len() <= 76));
        assert!(encoded.starts_with("a=3Db =C3=A9=20\r\n"));
    }
}
