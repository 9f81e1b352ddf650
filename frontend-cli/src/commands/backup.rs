//! `shopbot backup --out DIR`: a consistent copy of the store, itself a store directory.
//!
//! `DIR` must be new or empty, and outside every store directory ([`out_path::directory`]): a
//! backup never mixes with, or lands in, a store. There is no `--force`: nothing a backup
//! could replace is a plain file.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use crate::context::Ctx;
use crate::error::CliResult;
use crate::out_path;
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
  shopbot --store json:/srv/shop backup --out ./shop-copy

--out must be a new or empty directory outside every store directory (not inside the store,
nor inside another one).")]
pub struct BackupArgs {
    /// A new (or empty) directory, outside any store, to write the copy into
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
    let target = out_path::directory(&args.out, &ctx.settings().store)?;
    let backend = ctx.existing_backend().await?;
    backend.backup(&target).await?;
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
