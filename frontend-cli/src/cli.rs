//! The command line: global flags and the subcommand tree, as clap parses them.
//!
//! Each subcommand's own flags live with its code in [`crate::commands`]; this module only
//! assembles them. Values that the shop validates (prices, ids, stock lines) are taken as text
//! here and parsed by the core's domain types in the command, so a refused value exits with
//! code 3 and a message saying what is accepted; clap itself only refuses malformed command
//! lines (exit 2).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::commands::{
    audit, backup, category, chat, config, demo, export, init, invoice, job, maintenance, order,
    product, serve, stock, store_check, telegram, user,
};

const ABOUT: &str = "Run a shop that lives inside a messenger: admin commands on its store.";

const LONG_ABOUT: &str = "\
Run a shop that lives inside a messenger: admin commands on its store.

shopbot acts as the shop's local owner (user id 0, named \"local owner\"): every command goes \
through the same services, permission checks and audit log as the Telegram bot.";

const AFTER_HELP: &str = "\
Exit codes:
  0  success
  1  internal error (disk, damaged or locked store; a PostgreSQL server that cannot be
     reached or refuses the login)
  2  usage error (command line, configuration, store URL; a PostgreSQL URL must name its
     database)
  3  invalid input (nothing was changed)
  4  not found (including no shop at --store: create one with `shopbot init`, and a
     PostgreSQL database that does not exist)
  5  refused by a business rule (out of stock, insufficient funds, forbidden, conflict),
     `store check` found problems, or the PostgreSQL database belongs to another application
  6  outcome unknown: the running shop went away after a change was sent to it; check, or
     repeat the command with the --request-key the message names (it is applied once)

Configuration: flags, then environment (SHOPBOT_<SECTION>_<KEY>, e.g. SHOPBOT_TELEGRAM_TOKEN;
older names such as SHOPBOT_ADMINS and TELEGRAM_BOT_TOKEN stay accepted), then ./shopbot.toml (or
--config PATH) with [shop], [telegram], [postgres], [jobs] and [http] sections, then defaults.
Every key is listed in docs/configuration.md; `shopbot config check` shows what is in effect.

Every command but `init` and `demo` needs an existing shop: create one with `shopbot init`.
While `shopbot serve` runs on a JSON store, the other commands work through its socket.

Examples:
  shopbot init --currency EUR
  shopbot demo
  shopbot product list
  shopbot --store json:/var/lib/shopbot stock add --product 3 --file keys.txt
  shopbot --json order list --since 2026-01-01
  TELEGRAM_BOT_TOKEN=123:ABC shopbot --store json:/var/lib/shopbot --log-level info serve";

/// `shopbot`: the shop's command line.
#[derive(Debug, Parser)]
#[command(
    name = "shopbot",
    version,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = AFTER_HELP,
    propagate_version = true,
    args_override_self = true,
    subcommand_required = true,
    arg_required_else_help = true
)]
pub struct Cli {
    /// Flags every subcommand accepts.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every subcommand accepts.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Where the shop's data lives: json:PATH or postgres://USER@HOST/DB
    /// [default: json:./shopbot-data]
    #[arg(long, global = true, value_name = "URL")]
    pub store: Option<String>,

    /// Configuration file [default: ./shopbot.toml, if it exists]
    #[arg(
        long,
        global = true,
        env = "SHOPBOT_CONFIG",
        hide_env_values = true,
        value_name = "PATH"
    )]
    pub config: Option<PathBuf>,

    /// How much to log on stderr [default: warn]
    #[arg(long, global = true, value_enum)]
    pub log_level: Option<LogLevel>,

    /// How to write log lines [default: text]
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<LogFormat>,

    /// Print exactly one JSON document on stdout instead of tables
    #[arg(long, global = true)]
    pub json: bool,

    /// Mark this command's changes with KEY: repeating a command whose outcome was unknown
    /// (exit 6) with the same key applies it once [default: a random key per run]
    #[arg(long, global = true, value_name = "KEY")]
    pub request_key: Option<String>,
}

/// How much to log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum LogLevel {
    /// Nothing.
    Off,
    /// Errors only.
    Error,
    /// Errors and warnings.
    Warn,
    /// And what the store does.
    Info,
    /// And details.
    Debug,
    /// Everything.
    Trace,
}

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// For people.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new, empty shop with its currency, and print what to run next
    Init(init::InitArgs),
    /// Seed a demo catalog into an empty store and print what to try next
    Demo(demo::DemoArgs),
    /// Categories: add, list, rename, delete
    #[command(subcommand)]
    Category(category::CategoryCommand),
    /// Products: add, list, show, edit, delete
    #[command(subcommand)]
    Product(product::ProductCommand),
    /// Stock units (keys, codes, files): add, count, list, remove
    #[command(subcommand)]
    Stock(stock::StockCommand),
    /// Users and their wallets: list, show, credit, ban, unban, role
    #[command(subcommand)]
    User(user::UserCommand),
    /// Orders: list, show, refund
    #[command(subcommand)]
    Order(order::OrderCommand),
    /// Invoices: create, list, show, void, mark-paid
    #[command(subcommand)]
    Invoice(invoice::InvoiceCommand),
    /// Background jobs: list (what each did last, and when it runs next), run (one now)
    #[command(subcommand)]
    Job(job::JobCommand),
    /// Maintenance mode: on (customers are turned away), off, status
    #[command(subcommand)]
    Maintenance(maintenance::MaintenanceCommand),
    /// The audit log: list (who changed what, newest first)
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Export orders, invoices, users or stock levels as CSV, streamed
    Export(export::ExportArgs),
    /// Write a consistent copy of the store into a new directory
    Backup(backup::BackupArgs),
    /// Copy the whole store into another (JSON and PostgreSQL, either way), verified
    Migrate(crate::commands::migrate::MigrateArgs),
    /// The store itself: check (read-only), repair
    #[command(subcommand)]
    Store(store_check::StoreCommand),
    /// Use the shop as a customer from the terminal, through the bot's conversation
    Chat(chat::ChatArgs),
    /// The configuration: check (what is in effect, and where each value came from)
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// Run the shop: the Telegram bot (when a token is set) and the background jobs, until
    /// SIGINT or SIGTERM
    Serve(serve::ServeArgs),
    /// Run the Telegram bot (and the background jobs) on the store until SIGINT or SIGTERM
    Telegram(telegram::TelegramArgs),
    /// Print a shell completion script: bash, zsh, fish, elvish or powershell
    Completions(crate::commands::completions::CompletionsArgs),
    // Still to come from its own work: `tui` (the admin console), one variant here and one
    // arm in `commands::run`.
}
