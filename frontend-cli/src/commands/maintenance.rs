//! `shopbot maintenance on|off|status`.

use std::io::Write;

use clap::Subcommand;
use serde::Serialize;
use shopbot_core::ports::Settings;

use crate::context::Ctx;
use crate::error::CliResult;
use crate::output;

/// `shopbot maintenance …`
#[derive(Debug, Subcommand)]
pub enum MaintenanceCommand {
    /// Close the shop to customers; staff keep working
    #[command(after_help = "Examples:\n  shopbot maintenance on\n  shopbot --json maintenance on")]
    On,
    /// Open the shop to customers again
    #[command(after_help = "Examples:\n  shopbot maintenance off")]
    Off,
    /// Say whether the shop is in maintenance mode
    #[command(after_help = "Examples:\n  shopbot maintenance status\n  \
                            shopbot --json maintenance status")]
    Status,
}

/// What `--json` prints.
#[derive(Debug, Serialize)]
struct MaintenanceView {
    /// Whether customers are turned away.
    maintenance: bool,
}

/// Runs a `maintenance` subcommand.
pub async fn run(command: &MaintenanceCommand, ctx: &Ctx, out: &mut impl Write) -> CliResult<()> {
    let shop = ctx.shop().await?;
    let admin = shop.admin();
    let settings = match command {
        MaintenanceCommand::On => admin.set_maintenance(ctx.actor(), true).await?,
        MaintenanceCommand::Off => admin.set_maintenance(ctx.actor(), false).await?,
        MaintenanceCommand::Status => admin.settings(ctx.actor()).await?,
    };
    print(ctx, settings, out)
}

fn print(ctx: &Ctx, settings: Settings, out: &mut impl Write) -> CliResult<()> {
    if ctx.json() {
        let view = MaintenanceView {
            maintenance: settings.maintenance,
        };
        return output::json(out, &view);
    }
    if settings.maintenance {
        writeln!(
            out,
            "Maintenance mode is on: customers are turned away, staff keep working."
        )?;
    } else {
        writeln!(out, "Maintenance mode is off: the shop is open.")?;
    }
    Ok(())
}
