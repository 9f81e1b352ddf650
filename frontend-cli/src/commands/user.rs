//! `shopbot user list|show|credit|ban|unban|role|notify`.

use std::io::Write;

use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use shopbot_core::Error;
use shopbot_core::error::Invalid;
use shopbot_core::ids::UserId;
use shopbot_core::notice::{NoticeKind, NoticeKinds};
use shopbot_core::ports::Page;
use shopbot_core::services::Shop;
use shopbot_core::text::{IdempotencyKey, Note};
use shopbot_core::user::{Role, User};
use shopbot_core::wallet::{Balance, WalletError};

use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::output::{self, Details, Table};
use crate::parse;
use crate::view::{MoneyView, UserView};

/// `shopbot user …`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// List users in id order, with their wallets
    #[command(after_help = "Examples:\n  shopbot user list\n  \
                            shopbot user list --offset 100 --limit 100\n  shopbot --json user list")]
    List(ListArgs),
    /// Show a user: role, ban, balance, held and available money
    #[command(after_help = "Examples:\n  shopbot user show 1001")]
    Show(UserArg),
    /// Credit (or, with a negative amount, debit) a wallet by hand; written to the audit log
    #[command(after_help = "\
Without --idempotency-key every run credits again; with one, repeating the command credits once.
A credit above max_manual_credit (1000000 in the shop currency unless configured) is refused
unless --yes confirms it; debits need no confirmation.

Examples:
  shopbot user credit 1001 --amount 10.00 --reason \"refund for ticket 77\"
  shopbot user credit 1001 --amount 5 --reason \"promo\" --idempotency-key promo-1001
  shopbot user credit 1001 --amount 2500000.00 --reason \"wholesale deposit\" --yes")]
    Credit(CreditArgs),
    /// Ban a user: they can do nothing at all until unbanned
    #[command(after_help = "Examples:\n  shopbot user ban 1001")]
    Ban(UserArg),
    /// Lift a ban
    #[command(after_help = "Examples:\n  shopbot user unban 1001")]
    Unban(UserArg),
    /// Change a user's role
    #[command(after_help = "Examples:\n  shopbot user role 1001 --role support")]
    Role(RoleArgs),
    /// Choose which notices a staff member gets in their Telegram chat
    #[command(after_help = "\
Kinds: order-paid (an order is paid), low-stock (a product falls to shop.low_stock_threshold
units or fewer), delivery-failed (a customer could not be sent their keys or invoice),
payment-received (an invoice is paid). Give a comma-separated list, all, or none; it replaces
what the user had. Only staff (support, admin, owner) get notices; written to the audit log.

Examples:
  shopbot user notify --user 1001 order-paid,low-stock
  shopbot user notify --user 1001 all
  shopbot user notify --user 1001 none")]
    Notify(NotifyArgs),
}

/// A user named by id: positional (`user show 1001`), or `--user 1001` as older scripts give
/// it; exactly one of the two.
#[derive(Debug, Args)]
#[group(id = "target_user", required = true, multiple = false)]
pub struct UserArg {
    /// The user's (Telegram) id
    #[arg(value_name = "ID")]
    id: Option<String>,
    /// The same id as a flag (older scripts)
    #[arg(long = "user", value_name = "ID")]
    flag: Option<String>,
}

impl UserArg {
    /// The id as given, in either form.
    pub fn text(&self) -> &str {
        self.id
            .as_deref()
            .or(self.flag.as_deref())
            .unwrap_or_default()
    }
}

/// `shopbot user list`
#[derive(Debug, Args)]
pub struct ListArgs {
    /// How many users to skip
    #[arg(long, default_value_t = 0)]
    pub offset: usize,
    /// How many users to show at most
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub limit: u16,
}

/// `shopbot user credit`
#[derive(Debug, Args)]
pub struct CreditArgs {
    /// The user
    #[command(flatten)]
    pub user: UserArg,
    /// The amount in the shop's currency, e.g. 10.00 (negative debits)
    #[arg(long, allow_hyphen_values = true)]
    pub amount: String,
    /// Why, for the ledger and the audit log (1–256 characters)
    #[arg(long)]
    pub reason: String,
    /// Makes the credit safe to repeat: the same key credits once
    #[arg(long)]
    pub idempotency_key: Option<String>,
    /// Confirms a credit above the shop's max_manual_credit
    #[arg(long)]
    pub yes: bool,
}

/// The roles `user role` may give.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    /// Everything but changing roles
    Admin,
    /// Look up users, orders and stock; ban and unban
    Support,
    /// No staff rights
    Customer,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Role {
        match role {
            RoleArg::Admin => Role::Admin,
            RoleArg::Support => Role::Support,
            RoleArg::Customer => Role::Customer,
        }
    }
}

/// `shopbot user role`
#[derive(Debug, Args)]
pub struct RoleArgs {
    /// The user
    #[command(flatten)]
    pub user: UserArg,
    /// The new role
    #[arg(long, value_enum)]
    pub role: RoleArg,
}

/// `shopbot user notify`
#[derive(Debug, Args)]
pub struct NotifyArgs {
    /// The staff member's id
    #[arg(long)]
    pub user: String,
    /// The kinds, comma-separated (order-paid,low-stock,delivery-failed,payment-received), or
    /// all, or none
    pub kinds: String,
}

/// Runs a `user` subcommand.
pub async fn run(command: &UserCommand, ctx: &Ctx, out: &mut impl Write) -> CliResult<()> {
    match command {
        UserCommand::List(args) => list(args, ctx, out).await,
        UserCommand::Show(args) => {
            let id = parse::id("--user", args.text())?;
            show(ctx, id, out).await
        }
        UserCommand::Credit(args) => credit(args, ctx, out).await,
        UserCommand::Ban(args) => set_banned(args, true, ctx, out).await,
        UserCommand::Unban(args) => set_banned(args, false, ctx, out).await,
        UserCommand::Role(args) => {
            let id = parse::id("--user", args.user.text())?;
            let shop = ctx.shop().await?;
            shop.admin()
                .set_role(ctx.actor(), id, args.role.into())
                .await?;
            if !ctx.json() {
                writeln!(out, "User {id} is now {}.", Role::from(args.role).as_str())?;
            }
            show(ctx, id, out).await
        }
        UserCommand::Notify(args) => {
            let id = parse::id("--user", &args.user)?;
            let kinds = notice_kinds(&args.kinds)?;
            let shop = ctx.shop().await?;
            let kinds = shop.notices().set_kinds(ctx.actor(), id, kinds).await?;
            if !ctx.json() {
                writeln!(out, "User {id} now gets notices: {kinds}.")?;
            }
            show(ctx, id, out).await
        }
    }
}

/// `all`, `none`, or comma-separated kind names.
fn notice_kinds(text: &str) -> CliResult<NoticeKinds> {
    match text.trim().to_ascii_lowercase().as_str() {
        "all" => return Ok(NoticeKinds::all()),
        "none" => return Ok(NoticeKinds::none()),
        _ => {}
    }
    text.split(',')
        .map(|name| name.parse::<NoticeKind>())
        .collect::<Result<NoticeKinds, _>>()
        .map_err(|e| CliError::usage(format!("KINDS: {e}, or all, or none")))
}

fn view(shop: &Shop, user: &User, wallet: &Balance) -> UserView {
    UserView::new(user, wallet, shop.config().owners.contains(&user.id))
}

async fn list(args: &ListArgs, ctx: &Ctx, out: &mut impl Write) -> CliResult<()> {
    let shop = ctx.shop().await?;
    let admin = shop.admin();
    let page = Page {
        offset: args.offset,
        limit: usize::from(args.limit),
    };
    let mut views = Vec::new();
    for user in admin.users(ctx.actor(), page).await? {
        let (user, wallet) = admin.user(ctx.actor(), user.id).await?;
        views.push(view(shop, &user, &wallet));
    }
    if ctx.json() {
        return output::json(out, &views);
    }
    let mut table = Table::new(&["ID", "NAME", "ROLE", "BANNED", "BALANCE", "HELD", "SINCE"]);
    for v in &views {
        table.row([
            v.id.to_string(),
            v.name.clone(),
            role_text(v),
            if v.banned { "yes" } else { "no" }.to_owned(),
            money_text(&v.balance),
            money_text(&v.held),
            v.created_at.replacen('T', " ", 1),
        ]);
    }
    table.write(out)?;
    Ok(())
}

fn role_text(v: &UserView) -> String {
    if v.configured_owner {
        "owner (configured)".to_owned()
    } else {
        v.role.to_owned()
    }
}

fn money_text(m: &MoneyView) -> String {
    format!("{} {}", m.amount, m.currency)
}

async fn show(ctx: &Ctx, id: UserId, out: &mut impl Write) -> CliResult<()> {
    let shop = ctx.shop().await?;
    let (user, wallet) = shop.admin().user(ctx.actor(), id).await?;
    let notices = shop.notices().kinds(ctx.actor(), id).await?;
    let v = view(shop, &user, &wallet);
    if ctx.json() {
        let shown = ShowView {
            user: v,
            notices: notices.iter().map(NoticeKind::name).collect(),
        };
        return output::json(out, &shown);
    }
    Details::new()
        .field("id", v.id.to_string())
        .field("name", &v.name)
        .field("role", role_text(&v))
        .field("banned", if v.banned { "yes" } else { "no" })
        .field("balance", money_text(&v.balance))
        .field("held", money_text(&v.held))
        .field("available", money_text(&v.available))
        .field("since", v.created_at.replacen('T', " ", 1))
        .field("notices", notices.to_string())
        .write(out)?;
    Ok(())
}

/// What `user show --json` prints: the user and the notices they get.
#[derive(Debug, Serialize)]
struct ShowView {
    #[serde(flatten)]
    user: UserView,
    notices: Vec<&'static str>,
}

/// What `user credit --json` prints.
#[derive(Debug, Serialize)]
struct CreditView {
    entry: i64,
    user: i64,
    amount: MoneyView,
    reason: Option<String>,
    idempotency_key: String,
    at: String,
    wallet: UserView,
}

async fn credit(args: &CreditArgs, ctx: &Ctx, out: &mut impl Write) -> CliResult<()> {
    let id: UserId = parse::id("--user", args.user.text())?;
    let reason = parse::text(
        "--reason",
        Note::parse(&args.reason),
        "one line of 1–256 characters",
    )?;
    let key = match &args.idempotency_key {
        Some(key) => parse::text(
            "--idempotency-key",
            IdempotencyKey::parse(key),
            "1–128 visible ASCII characters",
        )?,
        // From the run's request key: a run repeated with its --request-key (after an
        // unknown outcome) asks for the same credit, and every other run for a new one.
        None => IdempotencyKey::derived("cli-credit", ctx.request_key()),
    };
    // The amount is in the shop's currency, which only the store knows.
    let amount = parse::money("--amount", &args.amount, ctx.currency().await?)?;
    let shop = ctx.shop().await?;
    let admin = shop.admin();
    let entry = if args.yes {
        admin
            .adjust_wallet_confirmed(ctx.actor(), id, amount, reason, key)
            .await
    } else {
        admin
            .adjust_wallet(ctx.actor(), id, amount, reason, key)
            .await
    }
    .map_err(|e| match e {
        Error::Invalid(Invalid::Wallet(WalletError::Unconfirmed { .. })) => {
            CliError::invalid(format!("{e}; add --yes to credit it anyway"))
        }
        other => other.into(),
    })?;
    let (user, wallet) = admin.user(ctx.actor(), id).await?;
    let wallet = view(shop, &user, &wallet);
    if ctx.json() {
        let credited = CreditView {
            entry: entry.id.0,
            user: id.0,
            amount: entry.balance_delta.into(),
            reason: entry.note.map(|n| n.to_string()),
            idempotency_key: entry.key.to_string(),
            at: output::time_rfc3339(entry.at),
            wallet,
        };
        return output::json(out, &credited);
    }
    writeln!(
        out,
        "Credited {} to user {id} (ledger entry {}, key {}).",
        output::money(entry.balance_delta),
        entry.id,
        entry.key
    )?;
    writeln!(
        out,
        "Balance {}, available {}.",
        money_text(&wallet.balance),
        money_text(&wallet.available)
    )?;
    Ok(())
}

async fn set_banned(
    args: &UserArg,
    banned: bool,
    ctx: &Ctx,
    out: &mut impl Write,
) -> CliResult<()> {
    let id: UserId = parse::id("--user", args.text())?;
    let shop = ctx.shop().await?;
    shop.admin().set_banned(ctx.actor(), id, banned).await?;
    if !ctx.json() {
        let verb = if banned { "banned" } else { "unbanned" };
        writeln!(out, "User {id} is {verb}.")?;
    }
    show(ctx, id, out).await
}
