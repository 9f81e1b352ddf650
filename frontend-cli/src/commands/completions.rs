//! `shopbot completions SHELL`: the shell completion script for the whole command tree,
//! generated from the same clap definitions that parse the command line. Opens no store.

use std::io::Write;

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use crate::cli::Cli;
use crate::error::CliResult;

/// `shopbot completions`
#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  shopbot completions bash > ~/.local/share/bash-completion/completions/shopbot
  shopbot completions zsh > ~/.zfunc/_shopbot
  shopbot completions fish > ~/.config/fish/completions/shopbot.fish")]
pub struct CompletionsArgs {
    /// The shell to complete in
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Writes the completion script for `args.shell` to `out`.
pub fn run(args: &CompletionsArgs, out: &mut impl Write) -> CliResult<()> {
    // Generated into memory first: clap_complete panics on a failed write (a closed pipe),
    // where `out` reports it.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "shopbot", &mut script);
    out.write_all(&script)?;
    Ok(())
}
