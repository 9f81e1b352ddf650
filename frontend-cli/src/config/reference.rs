//! The configuration reference, `docs/configuration.md`, written from [`KEYS`].
//!
//! A test compares the file with [`render`]; `SHOPBOT_BLESS=1 cargo test -p shopbot-cli
//! reference` writes it anew after a key changed.

use std::fmt::Write;

use super::keys::{KEYS, Key, SECTIONS};

const INTRO: &str = "\
# Configuration reference

<!-- Generated from frontend-cli/src/config/keys.rs: do not edit by hand. After changing a key,
run `SHOPBOT_BLESS=1 cargo test -p shopbot-cli reference` to write this file anew. -->

shopbot reads each key from, in this order (the first that sets it wins):

1. a command-line flag (only `store`, `log_level` and `log_format` have one);
2. the environment: `SHOPBOT_<SECTION>_<KEY>` (`SHOPBOT_<KEY>` for the top-level keys), or the
   older name listed below;
3. the configuration file: `--config PATH` (or `SHOPBOT_CONFIG`), else `./shopbot.toml` if it
   exists, with the keys under their `[section]`;
4. the default.

A blank value counts as unset. An unknown key in the file, an unknown `SHOPBOT_<SECTION>_*`
variable, or a value a key does not accept stops shopbot with exit code 2 and a message naming
the key, the value and what is accepted. A secret's value is never shown, not in errors and not
by `shopbot config check`, which prints every key's effective value and where it came from.

Older names stay accepted: the top-level file keys `currency`, `admins` and `max_manual_credit`
are `shop.currency`, `shop.admins` and `shop.max_manual_credit`; the variables
`SHOPBOT_CURRENCY`, `SHOPBOT_ADMINS`, `SHOPBOT_MAX_MANUAL_CREDIT`, `TELEGRAM_BOT_TOKEN` and
`TELEGRAM_API_URL` are the keys listed with them. Setting a key under both its names in the same
place (two variables, or a section key and its top-level name) is refused as ambiguous: unset
one of them.

Durations are a whole number and a unit: `500ms`, `30s`, `15m`, `2h`, `1d`. Rates are
`COUNT/DURATION`: `30/1s` allows 30 at once, then one every 1/30 s (rounded up to the
millisecond). Amounts are text such as `\"5000.00\"`; floats are refused.
";

/// The reference as Markdown.
pub fn render() -> String {
    let mut text = INTRO.to_owned();
    let top: Vec<&Key> = KEYS.iter().filter(|key| key.section.is_empty()).collect();
    section(&mut text, "Top-level keys", &top);
    for name in SECTIONS {
        let keys: Vec<&Key> = KEYS.iter().filter(|key| key.section == name).collect();
        section(&mut text, &format!("`[{name}]`"), &keys);
    }
    text
}

fn section(text: &mut String, title: &str, keys: &[&Key]) {
    let _ = write!(text, "\n## {title}\n");
    for key in keys {
        let _ = write!(text, "\n### `{}`\n\n{}\n\n", key.path(), key.help);
        let mut env = format!("`{}`", key.env());
        if let Some(old) = key.legacy_env {
            let _ = write!(env, " (or `{old}`)");
        }
        let _ = writeln!(text, "- Environment: {env}");
        if let Some(flag) = key.flag {
            let _ = writeln!(text, "- Flag: `{flag}`");
        }
        if let Some(old) = key.legacy_file {
            let _ = writeln!(text, "- Older top-level file key: `{old}`");
        }
        let default = key
            .default
            .map_or_else(|| "unset".to_owned(), |d| format!("`{d}`"));
        let _ = writeln!(text, "- Default: {default}");
        let _ = writeln!(text, "- Accepts: {}", key.accepted);
        if key.secret {
            let _ = writeln!(text, "- Secret: never shown");
        }
    }
}
