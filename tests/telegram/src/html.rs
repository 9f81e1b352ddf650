//! Telegram's HTML parse mode, as strictly as the real server reads it: the tags it knows,
//! balanced and properly nested, and the four named entities plus numeric ones. What it gives
//! back is the text a person sees, so lengths are counted the way Telegram counts them.

/// Tags the Bot API accepts in HTML parse mode.
const TAGS: &[&str] = &[
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "span",
    "tg-spoiler",
    "a",
    "tg-emoji",
    "code",
    "pre",
    "blockquote",
];

/// The visible text of `markup`, or the error Telegram would answer (without the
/// `Bad Request: can't parse entities: ` prefix).
pub fn parse(markup: &str) -> Result<String, String> {
    let mut text = String::with_capacity(markup.len());
    let mut open: Vec<String> = Vec::new();
    let mut rest = markup;
    while let Some(c) = rest.chars().next() {
        let offset = markup.len() - rest.len();
        match c {
            '<' => {
                let Some(end) = rest.find('>') else {
                    return Err(format!("Unclosed start tag at byte offset {offset}"));
                };
                let inner = rest.get(1..end).unwrap_or_default();
                rest = rest.get(end + 1..).unwrap_or_default();
                let (closing, inner) = match inner.strip_prefix('/') {
                    Some(name) => (true, name),
                    None => (false, inner),
                };
                let name = inner
                    .split(|c: char| c.is_whitespace())
                    .next()
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                if !TAGS.contains(&name.as_str()) {
                    return Err(format!(
                        "Unsupported start tag \"{name}\" at byte offset {offset}"
                    ));
                }
                if closing {
                    match open.pop() {
                        Some(expected) if expected == name => {}
                        Some(expected) => {
                            return Err(format!(
                                "Unmatched end tag at byte offset {offset}, expected \"</{expected}>\", found \"</{name}>\""
                            ));
                        }
                        None => {
                            return Err(format!("Unexpected end tag at byte offset {offset}"));
                        }
                    }
                } else {
                    open.push(name);
                }
            }
            '&' => {
                let entity = rest
                    .find(';')
                    .filter(|end| (2..=10).contains(end))
                    .and_then(|end| rest.get(1..end).map(|name| (end, name)))
                    .and_then(|(end, name)| decode(name).map(|decoded| (end, decoded)));
                match entity {
                    Some((end, decoded)) => {
                        text.push(decoded);
                        rest = rest.get(end + 1..).unwrap_or_default();
                    }
                    // A lone ampersand, or an entity Telegram does not know, stays as it is.
                    None => {
                        text.push('&');
                        rest = rest.get(1..).unwrap_or_default();
                    }
                }
            }
            c => {
                text.push(c);
                rest = rest.get(c.len_utf8()..).unwrap_or_default();
            }
        }
    }
    match open.pop() {
        Some(name) => Err(format!(
            "Can't find end tag corresponding to start tag \"{name}\""
        )),
        None => Ok(text),
    }
}

fn decode(name: &str) -> Option<char> {
    match name {
        "lt" => Some('<'),
        "gt" => Some('>'),
        "amp" => Some('&'),
        "quot" => Some('"'),
        _ => {
            let number = name.strip_prefix('#')?;
            let code = match number.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => number.parse().ok()?,
            };
            char::from_u32(code)
        }
    }
}

/// The length of `text` as Telegram counts it: UTF-16 code units.
pub fn utf16_len(text: &str) -> usize {
    text.chars().map(char::len_utf16).sum()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // Tests fail by panicking.
    use super::*;

    #[test]
    fn known_tags_and_entities_give_the_visible_text() {
        let text = parse("<b>Key</b> &lt;A&amp;B&gt; &#33; <code>x&quot;</code> & more").unwrap();
        assert_eq!(text, "Key <A&B> ! x\" & more");
    }

    #[test]
    fn unknown_unbalanced_or_misnested_tags_are_refused() {
        assert!(
            parse("<blink>x</blink>")
                .unwrap_err()
                .contains("Unsupported start tag")
        );
        assert!(parse("<b>x").unwrap_err().contains("Can't find end tag"));
        assert!(
            parse("<b><i>x</b></i>")
                .unwrap_err()
                .contains("Unmatched end tag")
        );
        assert!(parse("x</b>").unwrap_err().contains("Unexpected end tag"));
        assert!(parse("a < b").is_err());
    }

    #[test]
    fn length_counts_utf16_units() {
        assert_eq!(utf16_len("a€😀"), 4);
    }
}
