//! One module per subcommand. Each has its clap arguments and an
//! `async fn run(args, ctx, out: &mut impl Write)` that parses every value first, then calls
//! the core's services as the local owner, then writes a table or one JSON document to `out`.
//! Business rules stay in the core; a command only translates.

pub mod audit;
pub mod backup;
pub mod category;
pub mod chat;
pub mod completions;
pub mod config;
pub mod demo;
pub mod export;
pub mod init;
pub mod invoice;
pub mod job;
pub mod maintenance;
pub mod migrate;
pub mod order;
pub mod product;
pub mod serve;
pub mod stock;
pub mod stock_units;
pub mod store_check;
pub mod telegram;
pub mod user;

use std::io::Write;

use crate::cli::Command;
use crate::context::Ctx;
use crate::error::CliResult;

/// Runs `command`, writing its output to `out`.
pub async fn run(command: &Command, ctx: &Ctx, out: &mut impl Write) -> CliResult<()> {
    match command {
        Command::Init(args) => init::run(args, ctx, out).await,
        Command::Demo(args) => demo::run(args, ctx, out).await,
        Command::Category(command) => category::run(command, ctx, out).await,
        Command::Product(command) => product::run(command, ctx, out).await,
        Command::Stock(command) => stock::run(command, ctx, out).await,
        Command::User(command) => user::run(command, ctx, out).await,
        Command::Order(command) => order::run(command, ctx, out).await,
        Command::Invoice(command) => invoice::run(command, ctx, out).await,
        Command::Export(args) => export::run(args, ctx, out).await,
        Command::Job(command) => job::run(command, ctx, out).await,
        Command::Maintenance(command) => maintenance::run(command, ctx, out).await,
        Command::Audit(command) => audit::run(command, ctx, out).await,
        Command::Backup(args) => backup::run(args, ctx, out).await,
        Command::Migrate(args) => migrate::run(args, ctx, out).await,
        Command::Store(command) => store_check::run(command, ctx, out).await,
        Command::Chat(args) => chat::run(args, ctx, out).await,
        Command::Config(command) => config::run(command, ctx, out),
        Command::Serve(args) => serve::run(args, ctx, out).await,
        Command::Telegram(args) => telegram::run(args, ctx, out).await,
        Command::Completions(args) => completions::run(args, out),
    }
}
