//! A custom front end: the shop's conversation over a line protocol on standard input and
//! output, driving the same [`Flow`] as the Telegram bot. A messenger adapter does four
//! things, and so does this program:
//!
//! 1. **Turn what the person did into an [`Incoming`].** A typed line is a command or text
//!    ([`Incoming::from_text`]). A button press brings back the data the button was sent with;
//!    [`Incoming::from_button`] decodes it, and data that does not decode (forged, or from an
//!    older version) becomes a stale button that the flow answers politely.
//! 2. **Hand it to the flow with the update's id** ([`Flow::handle_update`]), so that an update
//!    the messenger delivers twice is answered once.
//! 3. **Render the [`Reply`]**: a short notice, and a screen of text with rows of buttons.
//! 4. **Deliver the outbox**: messages a state change queued for someone (the keys of a paid
//!    order), claimed from the store, rendered by [`Flow::outbox_message`], and marked sent.
//!
//! The protocol: each input line is one update from the sample customer. A number presses
//! that button of the last screen, `/word` is a command (`/start`, `/catalog`, `/cart`,
//! `/wallet`, `/cancel`, …), anything else is text. Screens print as plain text with their
//! buttons as `[1] Label`; a notice starts with `»`, a message from the outbox with `✉`.
//!
//! Run: `cargo run -p shopbot-examples --bin line_chat`, or pipe a session in:
//! `printf '/catalog\n1\n' | cargo run -p shopbot-examples --bin line_chat`

use std::io::{BufRead, Write};
use std::sync::Arc;
use std::time::Duration;

use shopbot_core::flow::{Flow, FlowConfig, Incoming, RateLimit, Reply, markup};
use shopbot_core::ids::{ChatId, UpdateId};
use shopbot_core::outbox::{DeliveryOutcome, OutboxClaim};
use shopbot_core::ports::OutgoingMessage;
use shopbot_core::text::PersonName;
use shopbot_core::user::UserProfile;
use shopbot_core::{Error, Result};
use shopbot_examples::sample::{CUSTOMER, CUSTOMER_NAME, stocked_shop};
use shopbot_storage_json::JsonStore;

/// How long a claimed outbox message stays hidden from other deliverers.
const LEASE: Duration = Duration::from_secs(60);

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let shop = stocked_shop(Arc::new(JsonStore::in_memory())).await?.shop;
    // One person at a keyboard, or a script, needs no flood protection.
    let config = FlowConfig {
        updates: RateLimit::unlimited(),
        expensive: RateLimit::unlimited(),
        support: None,
    };
    let flow = Flow::with_config(shop, config);
    let profile = UserProfile {
        id: CUSTOMER,
        name: PersonName::lenient(CUSTOMER_NAME),
    };
    // A private chat: its id is the person's.
    let chat = ChatId(CUSTOMER.0);

    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    // What the buttons on screen carry, by number: their encoded data, as a messenger keeps it.
    let mut buttons: Vec<String> = Vec::new();
    for (number, line) in std::io::stdin().lock().lines().enumerate() {
        let line = line.map_err(|e| Error::internal_msg(format!("cannot read input: {e}")))?;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        writeln!(out, "> {line}").map_err(Error::internal)?;
        let incoming = match line.parse::<usize>() {
            Ok(n) => match n.checked_sub(1).and_then(|i| buttons.get(i)) {
                Some(data) => Incoming::from_button(data.as_bytes()),
                None => {
                    writeln!(out, "» There is no button {n}.\n").map_err(Error::internal)?;
                    continue;
                }
            },
            Err(_) => Incoming::from_text(line),
        };
        // Messengers number their updates; here the line number stands in for that id.
        let update = UpdateId(i64::try_from(number).map_err(Error::internal)?);
        let reply = flow
            .handle_update(update, chat, profile.clone(), incoming)
            .await?;
        if let Some(shown) = render(&mut out, &reply)? {
            buttons = shown;
        }
        deliver_outbox(&flow, &mut out).await?;
    }
    Ok(())
}

/// Prints a reply; returns the data of the buttons it shows, when it shows a screen (with no
/// screen, the one before stays and so do its buttons).
fn render(out: &mut impl Write, reply: &Reply) -> Result<Option<Vec<String>>> {
    if let Some(notice) = &reply.notice {
        writeln!(out, "» {notice}").map_err(Error::internal)?;
    }
    let shown = match &reply.screen {
        Some(screen) => Some(render_screen(out, screen)?),
        None => None,
    };
    writeln!(out).map_err(Error::internal)?;
    Ok(shown)
}

/// Prints a screen as plain text with numbered buttons; returns the buttons' data in number
/// order.
fn render_screen(out: &mut impl Write, screen: &OutgoingMessage) -> Result<Vec<String>> {
    // The flow writes a small HTML subset; a plain-text channel strips it.
    writeln!(out, "{}", markup::plain(&screen.text)).map_err(Error::internal)?;
    let mut data = Vec::new();
    for row in &screen.buttons {
        let labels: Vec<String> = row
            .iter()
            .map(|button| {
                data.push(button.action.encode());
                format!("[{}] {}", data.len(), button.label)
            })
            .collect();
        writeln!(out, "{}", labels.join("   ")).map_err(Error::internal)?;
    }
    Ok(data)
}

/// Delivers every outbox message that is due. A real front end runs this on a timer apart from
/// the updates, and retries a message it could not send (`DeliveryOutcome::RetryAt`).
async fn deliver_outbox(flow: &Flow, out: &mut impl Write) -> Result<()> {
    let storage = flow.shop().storage();
    let now = flow.shop().clock().now();
    let claim = OutboxClaim {
        now,
        lease_until: now.plus(LEASE),
        limit: 10,
    };
    for message in storage.claim_outbox(claim).await? {
        let screen = flow.outbox_message(&message).await?;
        writeln!(out, "✉ to user {}:", message.user).map_err(Error::internal)?;
        render_screen(out, &screen)?;
        writeln!(out).map_err(Error::internal)?;
        storage
            .complete_outbox(message.id, DeliveryOutcome::Sent)
            .await?;
    }
    Ok(())
}
