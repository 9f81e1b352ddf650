//! # shopbot-cli
//!
//! The `shopbot` binary: the composition root that opens a store from a URL
//! (`json:./shopbot-data` by default) and runs an admin command on it as the local owner
//! ([`context::LOCAL_OWNER`]). Every command goes through the core's services, so the
//! permission checks and the audit log are the same as on Telegram; this crate translates
//! command lines into service calls and results into tables or JSON, and decides no business
//! rule itself.
//!
//! Exit codes ([`error::ExitStatus`]): 0 success, 1 internal error, 2 usage error, 3 invalid
//! input, 4 not found, 5 refused by a business rule, 6 outcome unknown (a running shop went
//! away after a change was sent to it; see [`live`]). Errors are one line on stderr; output is
//! on stdout, one JSON document with `--json`.

#![warn(missing_docs)]

pub mod cli;
pub mod commands;
pub mod config;
pub mod context;
pub mod error;
pub mod live;
mod logging;
pub mod out_path;
pub mod output;
pub mod parse;
pub mod scheduled_backup;
pub mod store;
pub mod view;

use std::io::{BufWriter, Write};
use std::process::ExitCode;

use clap::Parser;

use crate::cli::Cli;
use crate::config::Settings;
use crate::context::Ctx;
use crate::error::{CliError, ExitStatus};

/// Parses the process's command line, runs the command and returns the exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e).into(),
    };
    match run(cli) {
        Ok(()) => ExitStatus::Success.into(),
        Err(e) => {
            if !e.is_quiet() {
                eprintln!("error: {e}");
            }
            e.status().into()
        }
    }
}

/// Reports what clap refused. `--help` and `--version` are not errors: they print to stdout
/// and exit 0, and a bare `shopbot` prints its help; anything else is one line on stderr.
fn usage_error(error: &clap::Error) -> ExitStatus {
    use clap::error::ErrorKind;
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = error.print();
            ExitStatus::Success
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = error.print();
            ExitStatus::Usage
        }
        _ => {
            eprintln!("{}", one_line_usage_error(&error.render().to_string()));
            ExitStatus::Usage
        }
    }
}

/// Clap's message without its usage block, on one line:
/// `error: invalid value 'car' for '--kind <KIND>' [possible values: key, …] (see --help)`.
pub fn one_line_usage_error(rendered: &str) -> String {
    let mut line = String::new();
    for part in rendered
        .lines()
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        if !line.is_empty() {
            line.push_str(if part.starts_with("tip:") { "; " } else { " " });
        }
        line.push_str(part);
    }
    line.push_str(" (see --help)");
    line
}

/// Runs a parsed command line, writing to stdout.
pub fn run(cli: Cli) -> Result<(), CliError> {
    let settings = Settings::resolve(&cli.global, &config::process_env())?;
    logging::init(settings.log_level, settings.log_format);
    tracing::debug!(store = %settings.store, "starting");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::internal(format!("cannot start the async runtime: {e}")))?;
    let ctx = Ctx::new(settings).with_request_key(cli.global.request_key.clone())?;
    let mut out = BufWriter::new(std::io::stdout().lock());
    let result = runtime.block_on(commands::run(&cli.command, &ctx, &mut out));
    // A change sent to a running shop that went away: whatever failed after it, the honest
    // answer is that its outcome is unknown.
    let result = match (result, ctx.in_doubt()) {
        (Err(_), Some(doubt)) => Err(CliError::outcome_unknown(doubt)),
        (result, _) => result,
    };
    // Flush what was written even when the command failed half-way (a report, then an error).
    let flushed = out.flush().map_err(CliError::from);
    result.and(flushed)
}
