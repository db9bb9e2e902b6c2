//! What of a message is indexed, and how text and query words are cut into
//! the index's tokens.

use crate::message::Message;

use super::MAX_TEXT_BYTES;

/// The searchable text of a raw message: the text a reader shows (derived
/// from the HTML when there is no plain part) and the attachments' file
/// names, at most [`MAX_TEXT_BYTES`]. An unreadable message has none.
pub fn searchable_text(raw: Vec<u8>) -> String {
    let parsed = std::panic::catch_unwind(move || Message::parse(raw));
    let Ok(Ok(message)) = parsed else {
        return String::new();
    };
    let mut text = message.text;
    for attachment in &message.attachments {
        text.push('\n');
        text.push_str(
            attachment
                .raw_filename
                .as_deref()
                .unwrap_or(&attachment.filename),
        );
    }
    if text.len() > MAX_TEXT_BYTES {
        let mut end = MAX_TEXT_BYTES;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// True for characters of scripts written without spaces between words
/// (Han, Hiragana, Katakana, Hangul syllables): each is a token of its own.
fn is_unspaced_script(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{30FF}'     // Hiragana, Katakana
        | '\u{31F0}'..='\u{31FF}'   // Katakana phonetic extensions
        | '\u{3400}'..='\u{4DBF}'   // CJK extension A
        | '\u{4E00}'..='\u{9FFF}'   // CJK unified ideographs
        | '\u{AC00}'..='\u{D7AF}'   // Hangul syllables
        | '\u{F900}'..='\u{FAFF}'   // CJK compatibility ideographs
        | '\u{FF66}'..='\u{FF9F}'   // half-width Katakana
        | '\u{20000}'..='\u{3134F}' // CJK extensions B–G
    )
}

/// Text as the index stores it: every character of an unspaced script set
/// apart by spaces, so the tokenizer makes it a token of its own.
pub fn to_index_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 2);
    for c in text.chars() {
        if is_unspaced_script(c) {
            out.push(' ');
            out.push(c);
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    out
}

/// The FTS5 expression for one query word: its tokens as one phrase, the
/// last token matched as a prefix (`"e mai" *`). `None` when the word has
/// no letter or digit (it can only match the list columns).
pub(crate) fn match_expression(word: &str) -> Option<String> {
    if !word.chars().any(char::is_alphanumeric) {
        return None;
    }
    // Inside an FTS5 string a double quote is written twice; the tokenizer
    // treats it as a separator anyway.
    let phrase = to_index_text(word).replace('"', "\"\"");
    Some(format!("\"{}\" *", phrase.trim()))
}
