//! `shopbot chat --user ID`: the shop as that customer, in the terminal, through the same
//! conversation flow as the Telegram bot. Screens print as text with numbered buttons; type a
//! number to press one, `/start`, `/cancel` and the other commands work, any other text is
//! answered like a message. Where a screen asks for text (a price, a user id), a number is
//! text and `/N` presses button N; where it asks for stock keys, the lines up to an empty one
//! (or `/end`) go as one message. Reads lines until end of input, so scripts can pipe a
//! session in; a line that is not UTF-8 is reported and skipped.

use std::io::{BufRead, Write};

use clap::Args;

use shopbot_core::flow::{Action, Flow, FlowConfig, Incoming, RateLimit, Reply, TextInput, markup};
use shopbot_core::ids::{ChatId, UserId};
use shopbot_core::services::Shop;
use shopbot_core::text::PersonName;
use shopbot_core::user::UserProfile;

use crate::commands::serve;
use crate::commands::user::UserArg;
use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::parse;
use crate::store::Backend;

/// `shopbot chat`
#[derive(Debug, Args)]
#[command(after_help = "\
Type a button's number to press it, or a command: /start, /catalog, /cart, /orders, /wallet,
/help, /cancel. /quit (or the end of input) leaves. Where a screen asks for text, a number
is text (a price, a user id) and /N presses button N; where it asks for stock keys, paste
them one per line and end with an empty line or /end.

Examples:
  shopbot chat 1001
  printf '1\\n1\\n' | shopbot chat --user 1001 --name Ann")]
pub struct ChatArgs {
    /// The customer's user id (as Telegram would give it): `chat 1001` or `chat --user 1001`
    #[command(flatten)]
    pub user: UserArg,
    /// The customer's display name [default: the stored name, or customer ID for a new user]
    #[arg(long)]
    pub name: Option<String>,
}

/// Runs `chat` on standard input. On a JSON store it opens, chat holds the shop's socket
/// meanwhile, so other commands work on the store ([`crate::live`]); on a store a running
/// shop holds, chat goes through that shop like any other command.
pub async fn run(args: &ChatArgs, ctx: &Ctx, out: &mut impl Write) -> CliResult<()> {
    // A malformed --user is refused before the store is touched.
    parse::id::<UserId>("--user", args.user.text())?;
    let backend = ctx.existing_backend().await?;
    let holder = match backend {
        Backend::Json(_) => serve::hold(backend, ctx.settings())?,
        Backend::Postgres(_) | Backend::Remote(_) => None,
    };
    let stdin = std::io::stdin();
    let result = session(args, ctx, stdin.lock(), out).await;
    if let Some(holder) = holder {
        holder.stop().await;
    }
    result
}

/// Runs a chat session reading lines from `input`.
pub async fn session(
    args: &ChatArgs,
    ctx: &Ctx,
    mut input: impl BufRead,
    out: &mut impl Write,
) -> CliResult<()> {
    let user: UserId = parse::id("--user", args.user.text())?;
    let shop = ctx.shop().await?.clone();
    let profile = UserProfile {
        id: user,
        name: name(args.name.as_deref(), user, &shop).await?,
    };
    // One person at a keyboard (or a script) needs no flood protection.
    let config = FlowConfig {
        updates: RateLimit::unlimited(),
        expensive: RateLimit::unlimited(),
        support: ctx.settings().shop.support_contact.clone(),
    };
    let flow = Flow::with_config(shop, config);
    let chat = ChatId(user.0);
    let start = Incoming::Command("start".into());
    let reply = flow.handle(chat, profile.clone(), start).await;
    let mut awaited = flow.awaited_text(chat, user).await?;
    let mut buttons = show(out, &reply, awaited, Vec::new())?;
    while let Some(line) = next_line(&mut input, out)? {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if line == "/quit" || line == "/exit" {
            break;
        }
        writeln!(out, "> {line}")?;
        let incoming = match typed(line, awaited) {
            Typed::Press(n) => match n.checked_sub(1).and_then(|i| buttons.get(i)) {
                Some(action) => Incoming::Button(*action),
                None => {
                    writeln!(
                        out,
                        "There is no button {n}: choose 1 to {}.\n",
                        buttons.len()
                    )?;
                    continue;
                }
            },
            Typed::Message(incoming) => incoming,
            Typed::FirstOfLines => Incoming::Text(block(line, &mut input, out)?),
        };
        let reply = flow.handle(chat, profile.clone(), incoming).await;
        awaited = flow.awaited_text(chat, user).await?;
        buttons = show(out, &reply, awaited, buttons)?;
    }
    Ok(())
}

/// The name the customer chats under: `--name` if given, else the name the shop knows them
/// by, so a chat never renames a stored user unasked; a new user gets `customer ID`.
async fn name(given: Option<&str>, user: UserId, shop: &Shop) -> CliResult<PersonName> {
    if let Some(given) = given {
        return Ok(PersonName::lenient(given));
    }
    Ok(match shop.storage().user(user).await? {
        Some(known) => known.name,
        None => PersonName::lenient(&format!("customer {user}")),
    })
}

/// What a typed line means on the current screen.
#[derive(Debug, PartialEq, Eq)]
enum Typed {
    /// A press of the button with this number (counted from 1).
    Press(usize),
    /// A command or text to send as it is.
    Message(Incoming),
    /// The first of several lines to send as one message.
    FirstOfLines,
}

/// Reads `line` on a screen that waits for `awaited` text: `/N` (or `#N`) always presses
/// button N; a bare number presses one only where the screen asks for no text, since there
/// it is a price, an amount or a user id.
fn typed(line: &str, awaited: Option<TextInput>) -> Typed {
    let forced = line.strip_prefix('/').or_else(|| line.strip_prefix('#'));
    if let Some(n) = forced.and_then(button_number) {
        return Typed::Press(n);
    }
    match awaited {
        None => match button_number(line) {
            Some(n) => Typed::Press(n),
            None => Typed::Message(Incoming::from_text(line)),
        },
        Some(TextInput::Lines) if !line.starts_with('/') => Typed::FirstOfLines,
        Some(_) => Typed::Message(Incoming::from_text(line)),
    }
}

/// A button number: digits only (no sign, no spaces).
fn button_number(text: &str) -> Option<usize> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// `first` and the lines after it up to an empty line, `/end` or the end of input, joined
/// into one message (a pasted block of stock keys).
fn block(first: &str, input: &mut impl BufRead, out: &mut impl Write) -> CliResult<String> {
    let mut lines = vec![first.to_owned()];
    while let Some(line) = next_line(input, out)? {
        let line = line.trim();
        if line.is_empty() || line == "/end" {
            break;
        }
        writeln!(out, "> {line}")?;
        lines.push(line.to_owned());
    }
    Ok(lines.join("\n"))
}

/// The next line of input without its line break, or `None` at the end. A line that is not
/// UTF-8 is reported on `out` and skipped: a stray byte must not end the session.
fn next_line(input: &mut impl BufRead, out: &mut impl Write) -> CliResult<Option<String>> {
    let mut bytes = Vec::new();
    loop {
        bytes.clear();
        let read = input
            .read_until(b'\n', &mut bytes)
            .map_err(|e| CliError::internal(format!("cannot read input: {e}")))?;
        if read == 0 {
            return Ok(None);
        }
        match String::from_utf8(std::mem::take(&mut bytes)) {
            Ok(mut line) => {
                let end = line.trim_end_matches(['\n', '\r']).len();
                line.truncate(end);
                return Ok(Some(line));
            }
            Err(_) => writeln!(out, "That line is not valid text (UTF-8), ignored.\n")?,
        }
    }
}

/// Prints a reply with numbered buttons, and how to answer where the screen waits for text;
/// returns the buttons' actions in number order (the ones still on screen when the reply
/// shows none).
fn show(
    out: &mut impl Write,
    reply: &Reply,
    awaited: Option<TextInput>,
    on_screen: Vec<Action>,
) -> CliResult<Vec<Action>> {
    if let Some(notice) = &reply.notice {
        writeln!(out, "» {notice}")?;
    }
    let Some(screen) = &reply.screen else {
        writeln!(out)?;
        return Ok(on_screen);
    };
    if let Some(image) = &screen.image {
        writeln!(out, "[picture: {image}]")?;
    }
    writeln!(out, "{}", markup::plain(&screen.text))?;
    let mut actions = Vec::new();
    for row in &screen.buttons {
        let labels: Vec<String> = row
            .iter()
            .map(|button| {
                actions.push(button.action);
                format!("[{}] {}", actions.len(), button.label)
            })
            .collect();
        writeln!(out, "{}", labels.join("   "))?;
    }
    match awaited {
        Some(TextInput::Lines) => writeln!(
            out,
            "(Paste the lines, then an empty line or /end; /1 presses button 1.)"
        )?,
        Some(_) => writeln!(
            out,
            "(Type your answer; a number is text here, /1 presses button 1.)"
        )?,
        None => {}
    }
    writeln!(out)?;
    Ok(actions)
}

#[cfg(test)]
mod tests {
    use super::*;

    use proptest::prelude::*;

    #[test]
    fn a_number_presses_a_button_only_where_no_text_is_asked_for() {
        assert_eq!(typed("5", None), Typed::Press(5));
        assert_eq!(
            typed("5", Some(TextInput::Line)),
            Typed::Message(Incoming::Text("5".into()))
        );
        assert_eq!(typed("/1", Some(TextInput::Line)), Typed::Press(1));
        assert_eq!(typed("#2", Some(TextInput::Lines)), Typed::Press(2));
        assert_eq!(typed("#2", None), Typed::Press(2));
    }

    #[test]
    fn keys_start_a_block_and_commands_stay_commands() {
        assert_eq!(typed("KEY-1", Some(TextInput::Lines)), Typed::FirstOfLines);
        assert_eq!(typed("12345", Some(TextInput::Lines)), Typed::FirstOfLines);
        assert_eq!(
            typed("/cancel", Some(TextInput::Lines)),
            Typed::Message(Incoming::Command("cancel".into()))
        );
        assert_eq!(
            typed("-5", None),
            Typed::Message(Incoming::Text("-5".into()))
        );
    }

    #[test]
    fn a_block_ends_at_an_empty_line_or_end_and_skips_bad_bytes() {
        let mut input: &[u8] = b"K-2\n\xff\xfe\nK-3\r\n/end\nafter\n";
        let mut out = Vec::new();
        let text = block("K-1", &mut input, &mut out).unwrap();
        assert_eq!(text, "K-1\nK-2\nK-3");
        assert!(String::from_utf8_lossy(&out).contains("not valid text"));
        assert_eq!(
            next_line(&mut input, &mut out).unwrap().as_deref(),
            Some("after")
        );
    }

    proptest! {
        #[test]
        fn any_line_on_any_screen_reads_without_panicking(
            line in "\\PC{0,40}",
            awaited in prop_oneof![Just(None), Just(Some(TextInput::Line)), Just(Some(TextInput::Lines))],
        ) {
            let _ = typed(&line, awaited);
        }

        #[test]
        fn any_bytes_read_as_lines_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut input: &[u8] = &bytes;
            let mut out = Vec::new();
            while let Some(line) = next_line(&mut input, &mut out).unwrap() {
                prop_assert!(!line.contains('\n'));
            }
        }
    }
}
