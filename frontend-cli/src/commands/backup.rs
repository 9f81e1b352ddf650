//! `shopbot backup --out DIR`: a consistent copy of the store, itself a store directory.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use serde::Serialize;

use crate::context::Ctx;
use crate::error::{CliError, CliResult};
use crate::output;
use crate::store::StoreUrl;

/// `shopbot backup`
#[derive(Debug, Args)]
#[command(after_help = "\
The copy is consistent (every committed command or none of it). A JSON store's copy is a store
of its own: open it with --store json:DIR, or copy it back in place of a damaged store. A JSON
store is locked by the process that uses it, so stop the bot first or run the backup from the
bot. A PostgreSQL store is copied with pg_dump (directory format) while the bot runs; restore
it into an empty database with pg_restore --dbname URL DIR.

Examples:
  shopbot backup --out /var/backups/shopbot-2026-11-23
  shopbot --store json:/srv/shop backup --out ./shop-copy")]
pub struct BackupArgs {
    /// A new (or empty) directory to write the copy into
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// What `backup --json` prints.
#[derive(Debug, Serialize)]
struct BackupView {
    store: String,
    backup: String,
    /// How to use the copy.
    restore: String,
}

/// Runs `backup`.
pub async fn run(args: &BackupArgs, ctx: &Ctx, out: &mut impl Write) -> CliResult<()> {
    check_target(&args.out)?;
    let backend = ctx.existing_backend().await?;
    backend.backup(&args.out).await?;
    let backup = args.out.display().to_string();
    let restore = match &ctx.settings().store {
        StoreUrl::Json(_) => format!("open the copy with --store json:{backup}"),
        StoreUrl::Postgres(_) => format!("restore with pg_restore --dbname URL {backup}"),
    };
    let view = BackupView {
        store: ctx.settings().store.to_string(),
        backup,
        restore,
    };
    if ctx.json() {
        return output::json(out, &view);
    }
    writeln!(
        out,
        "Backed up {} to {}; {}.",
        view.store, view.backup, view.restore
    )?;
    Ok(())
}

/// The target must be new or an empty directory: a backup never mixes with other files.
fn check_target(dir: &Path) -> CliResult<()> {
    let shown = dir.display();
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(CliError::invalid(format!(
                    "--out: {shown} is not empty; give a new or empty directory for the copy"
                )));
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) if dir.exists() && !dir.is_dir() => Err(CliError::invalid(format!(
            "--out: {shown} is a file ({e}); give a new or empty directory for the copy"
        ))),
        Err(e) => Err(CliError::invalid(format!(
            "--out: cannot use {shown}: {e}; give a new or empty directory for the copy"
        ))),
    }
}
