//! The text of a screen: a small HTML subset (`<b>`, `<i>`, `<code>`, `<pre>`) that Telegram
//! renders with its HTML parse mode and a terminal shows through [`plain`].
//!
//! Everything a person typed (product names, descriptions, keys) enters a screen through
//! [`escape`] (or [`bold`] / [`code`], which escape), so no user text can open a tag. Messengers
//! cap a message's length; [`split`] cuts long markup into parts that each fit and each stay
//! well-formed, so a screen with a thousand keys arrives whole, over several messages.

/// The most UTF-16 code units of markup one message may hold (Telegram counts text that way).
pub const MAX_MESSAGE_LEN: usize = 4096;

/// The most UTF-16 code units of markup one photo caption may hold.
pub const MAX_CAPTION_LEN: usize = 1024;

/// `text` with the characters markup gives meaning to replaced by entities.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// `text`, escaped, in bold.
pub fn bold(text: &str) -> String {
    format!("<b>{}</b>", escape(text))
}

/// `text`, escaped, as code (a key a person copies with one tap).
pub fn code(text: &str) -> String {
    format!("<code>{}</code>", escape(text))
}

/// The text a person reads: tags dropped, entities decoded.
pub fn plain(markup: &str) -> String {
    let mut out = String::with_capacity(markup.len());
    for token in Tokens::new(markup) {
        match token {
            Token::Open { .. } | Token::Close { .. } => {}
            Token::Entity(entity) => out.push_str(decode_entity(entity)),
            Token::Char(c) => out.push_str(c),
        }
    }
    out
}

/// The length of `text` as a messenger counts it (UTF-16 code units).
pub fn len(text: &str) -> usize {
    text.chars().map(char::len_utf16).sum()
}

/// Cuts `markup` into parts of at most `max` UTF-16 code units each, at line breaks where it
/// can and inside a line only where it must (never inside a tag or an entity; tags open at the
/// cut are closed before it and reopened after). Whitespace-only pieces at a cut are dropped.
///
/// `max` below 64 is treated as 64, room enough for any tag this module writes.
pub fn split(markup: &str, max: usize) -> Vec<String> {
    let max = max.max(64);
    if len(markup) <= max {
        return vec![markup.to_owned()];
    }
    let mut parts = Vec::new();
    let mut current = String::new();
    for line in markup.split('\n') {
        let needed = len(line) + usize::from(!current.is_empty());
        if len(&current) + needed <= max {
            if !current.is_empty() {
                current.push('\n');
            }
            current.push_str(line);
            continue;
        }
        if !current.trim().is_empty() {
            parts.push(std::mem::take(&mut current));
        }
        current.clear();
        if len(line) <= max {
            current.push_str(line);
        } else {
            let mut pieces = split_line(line, max);
            current = pieces.pop().unwrap_or_default();
            parts.extend(pieces);
        }
    }
    if !current.trim().is_empty() {
        parts.push(current);
    }
    parts
}

/// Cuts one over-long line between tokens, closing and reopening the tags open at each cut.
fn split_line(line: &str, max: usize) -> Vec<String> {
    let mut parts = Vec::new();
    let mut open: Vec<(&str, &str)> = Vec::new(); // (name, whole opening tag)
    let mut current = String::new();
    for token in Tokens::new(line) {
        let text = token.text();
        let closing: usize = open.iter().map(|(name, _)| name.len() + 3).sum();
        if len(&current) + len(text) + closing > max && !current.is_empty() {
            for (name, _) in open.iter().rev() {
                current.push_str(&format!("</{name}>"));
            }
            parts.push(std::mem::take(&mut current));
            for (_, tag) in &open {
                current.push_str(tag);
            }
        }
        match token {
            Token::Open { name, whole } => open.push((name, whole)),
            Token::Close { name, .. } => {
                if let Some(at) = open.iter().rposition(|(open, _)| *open == name) {
                    open.truncate(at);
                }
            }
            Token::Entity(_) | Token::Char(_) => {}
        }
        current.push_str(text);
    }
    if !current.is_empty() {
        parts.push(current);
    }
    parts
}

fn decode_entity(entity: &str) -> &str {
    match entity {
        "&amp;" => "&",
        "&lt;" => "<",
        "&gt;" => ">",
        "&quot;" => "\"",
        "&#39;" => "'",
        other => other,
    }
}

/// A piece of markup that must not be cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token<'a> {
    Open { name: &'a str, whole: &'a str },
    Close { name: &'a str, whole: &'a str },
    Entity(&'a str),
    Char(&'a str),
}

impl<'a> Token<'a> {
    fn text(&self) -> &'a str {
        match *self {
            Token::Open { whole, .. }
            | Token::Close { whole, .. }
            | Token::Entity(whole)
            | Token::Char(whole) => whole,
        }
    }
}

/// Walks markup token by token. Anything that does not look like a tag or an entity (a lone
/// `<` or `&` in text that skipped [`escape`]) is an ordinary character.
struct Tokens<'a> {
    rest: &'a str,
}

impl<'a> Tokens<'a> {
    fn new(markup: &'a str) -> Self {
        Tokens { rest: markup }
    }
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        let first = self.rest.chars().next()?;
        let tag_or_entity = match first {
            '<' => self.rest.find('>').map(|end| end + 1),
            '&' => self
                .rest
                .find(';')
                .filter(|end| {
                    (2..=8).contains(end)
                        && self.rest.get(1..*end).is_some_and(|name| {
                            name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'#')
                        })
                })
                .map(|end| end + 1),
            _ => None,
        };
        match tag_or_entity.and_then(|end| self.rest.split_at_checked(end)) {
            Some((whole, rest)) if first == '<' => {
                self.rest = rest;
                let inner = whole.trim_start_matches('<').trim_end_matches('>');
                let closing = inner.starts_with('/');
                let name = inner
                    .trim_start_matches('/')
                    .split([' ', '='])
                    .next()
                    .unwrap_or_default();
                Some(if closing {
                    Token::Close { name, whole }
                } else {
                    Token::Open { name, whole }
                })
            }
            Some((whole, rest)) => {
                self.rest = rest;
                Some(Token::Entity(whole))
            }
            None => {
                let (c, rest) = self.rest.split_at_checked(first.len_utf8())?;
                self.rest = rest;
                Some(Token::Char(c))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Whether every tag in `markup` is closed in order and only known tags appear.
    fn well_formed(markup: &str) -> bool {
        let mut open = Vec::new();
        for token in Tokens::new(markup) {
            match token {
                Token::Open { name, .. } => open.push(name),
                Token::Close { name, .. } => {
                    if open.pop() != Some(name) {
                        return false;
                    }
                }
                Token::Entity(_) | Token::Char(_) => {}
            }
        }
        open.is_empty()
    }

    #[test]
    fn escaped_text_cannot_open_a_tag() {
        let name = "<b>Free</b> & \"cheap\"";
        let markup = bold(name);
        assert_eq!(
            markup,
            "<b>&lt;b&gt;Free&lt;/b&gt; &amp; &quot;cheap&quot;</b>"
        );
        assert_eq!(plain(&markup), name);
    }

    #[test]
    fn short_markup_is_one_part() {
        assert_eq!(split("<b>hi</b>\nthere", 100), vec!["<b>hi</b>\nthere"]);
    }

    #[test]
    fn a_thousand_keys_split_at_line_breaks_into_parts_that_fit() {
        let text: String = (0..1000)
            .map(|i| format!("Game: {}\n", code(&format!("KEY-{i:05}-ABCDE"))))
            .collect();
        let parts = split(&text, MAX_MESSAGE_LEN);
        assert!(parts.len() > 1);
        for part in &parts {
            assert!(len(part) <= MAX_MESSAGE_LEN);
            assert!(well_formed(part), "{part}");
            assert!(!part.starts_with('\n'));
        }
        let keys: usize = parts.iter().map(|p| p.matches("KEY-").count()).sum();
        assert_eq!(keys, 1000);
    }

    #[test]
    fn an_overlong_line_is_cut_between_entities_with_its_tags_reopened() {
        let key = "&".repeat(3000); // 15,000 units once escaped
        let markup = format!("Key: {}", code(&key));
        let parts = split(&markup, MAX_MESSAGE_LEN);
        assert!(parts.len() >= 4);
        for part in &parts {
            assert!(len(part) <= MAX_MESSAGE_LEN, "{}", len(part));
            assert!(well_formed(part));
        }
        let joined: String = parts.iter().map(|p| plain(p)).collect();
        assert!(joined == format!("Key: {key}"), "text was lost or garbled");
    }

    #[test]
    fn plain_leaves_lone_ampersands_and_brackets_alone() {
        assert_eq!(plain("a & b < c"), "a & b < c");
        assert_eq!(plain("x&y;z"), "x&y;z");
    }

    proptest! {
        #[test]
        fn split_parts_fit_stay_well_formed_and_lose_no_text(
            lines in proptest::collection::vec(("\\PC{0,300}", 0u8..3), 0..60),
            max in 64usize..600,
        ) {
            let markup: Vec<String> = lines
                .iter()
                .map(|(text, style)| match style {
                    0 => escape(text),
                    1 => bold(text),
                    _ => code(text),
                })
                .collect();
            let markup = markup.join("\n");
            let parts = split(&markup, max);
            for part in &parts {
                prop_assert!(len(part) <= max);
                prop_assert!(well_formed(part));
            }
            // Whitespace at a cut is dropped (messengers trim it anyway); no other text is.
            let strip = |s: String| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
            let joined: String = parts.iter().map(|p| plain(p)).collect();
            prop_assert_eq!(strip(joined), strip(plain(&markup)));
        }

        #[test]
        fn plain_inverts_escape(text in "\\PC{0,200}") {
            prop_assert_eq!(plain(&escape(&text)), text);
        }
    }
}
