//! The `shopbot` binary. Everything lives in the `shopbot_cli` library, so tests can run the
//! commands in process too.

fn main() -> std::process::ExitCode {
    shopbot_cli::main()
}
