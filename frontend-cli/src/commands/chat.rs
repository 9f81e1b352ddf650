//! `shopbot chat --user ID`: the shop as that customer, in the terminal, through the same
//! conversation flow as the Telegram bot. Screens print as text with numbered buttons; type a
//! number to press one, `/start`, `/cancel` and the other commands work, any other text is
//! answered like a message. Reads lines until end of input, so scripts can pipe a session in.

use std::io::{BufRead, Write};

use clap::Args;

use shopbot_core::flow::{Action, Flow, FlowConfig, Incoming, RateLimit, Reply, markup};
use shopbot_core::ids::{ChatId, UserId};
use shopbot_core::text::PersonName;
use shopbot_core::user::UserProfile;

use crate::commands::serve;
use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::parse;
use crate::store::Backend;

/// `shopbot chat`
#[derive(Debug, Args)]
#[command(after_help = "\
Type a button's number to press it, or a command: /start, /catalog, /cart, /orders, /wallet,
/help, /cancel. /quit (or the end of input) leaves.

Examples:
  shopbot chat --user 1001
  printf '1\\n1\\n' | shopbot chat --user 1001 --name Ann")]
pub struct ChatArgs {
    /// The customer's user id (as Telegram would give it)
    #[arg(long, value_name = "ID")]
    pub user: String,
    /// The customer's display name [default: customer ID]
    #[arg(long)]
    pub name: Option<String>,
}

/// Runs `chat` on standard input. On a JSON store it opens, chat holds the shop's socket
/// meanwhile, so other commands work on the store ([`crate::live`]); on a store a running
/// shop holds, chat goes through that shop like any other command.
pub async fn run(args: &ChatArgs, ctx: &Ctx, out: &mut impl Write) -> CliResult<()> {
    // A malformed --user is refused before the store is touched.
    parse::id::<UserId>("--user", &args.user)?;
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
    input: impl BufRead,
    out: &mut impl Write,
) -> CliResult<()> {
    let user: UserId = parse::id("--user", &args.user)?;
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| format!("customer {user}"));
    let profile = UserProfile {
        id: user,
        name: PersonName::lenient(&name),
    };
    // One person at a keyboard (or a script) needs no flood protection.
    let config = FlowConfig {
        updates: RateLimit::unlimited(),
        expensive: RateLimit::unlimited(),
        support: ctx.settings().shop.support_contact.clone(),
    };
    let flow = Flow::with_config(ctx.shop().await?.clone(), config);
    let chat = ChatId(user.0);
    let start = Incoming::Command("start".into());
    let mut buttons = show(
        out,
        &flow.handle(chat, profile.clone(), start).await,
        Vec::new(),
    )?;
    for line in input.lines() {
        let line = line.map_err(|e| CliError::internal(format!("cannot read input: {e}")))?;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if line == "/quit" || line == "/exit" {
            break;
        }
        writeln!(out, "> {line}")?;
        let incoming = match line.parse::<usize>() {
            Ok(n) => match n.checked_sub(1).and_then(|i| buttons.get(i)) {
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
            Err(_) => Incoming::from_text(line),
        };
        let reply = flow.handle(chat, profile.clone(), incoming).await;
        buttons = show(out, &reply, buttons)?;
    }
    Ok(())
}

/// Prints a reply with numbered buttons; returns the buttons' actions in number order (the
/// ones still on screen when the reply shows none).
fn show(out: &mut impl Write, reply: &Reply, on_screen: Vec<Action>) -> CliResult<Vec<Action>> {
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
    writeln!(out)?;
    Ok(actions)
}
