//! The `passbridge` binary: parse the command line and hand over to the library.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use passbridge::cli::Cli;

/// How long the runtime waits for leftover tasks once the command is done.
const RUNTIME_SHUTDOWN: Duration = Duration::from_millis(250);

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(passbridge::cmd::run(cli));
    // Dropping the runtime would wait for every blocking task: a hash that
    // outlived its request (already answered `timeout`) must not hold the exit.
    runtime.shutdown_timeout(RUNTIME_SHUTDOWN);
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
