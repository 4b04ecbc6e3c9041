//! The `passbridge` binary: parse the command line and hand over to the library.

use std::process::ExitCode;
use std::time::Duration;

/// How long the runtime waits for leftover tasks once the command is done.
const RUNTIME_SHUTDOWN: Duration = Duration::from_millis(250);

fn main() -> ExitCode {
    let cli = passbridge::cli::parse();
    quiet_broken_pipe_panics();
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
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        runtime.block_on(passbridge::cmd::run(cli))
    }));
    // Dropping the runtime would wait for every blocking task: a hash that
    // outlived its request (already answered `timeout`) must not hold the exit.
    runtime.shutdown_timeout(RUNTIME_SHUTDOWN);
    match outcome {
        Ok(Ok(code)) => code,
        // The reader closed the pipe (`| head`): it has what it wanted.
        Ok(Err(e)) if passbridge::cmd::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            eprintln!("error: {}", passbridge::cmd::error_line(&e));
            ExitCode::from(2)
        }
        Err(payload) if is_broken_pipe_panic(panic_text(&*payload)) => ExitCode::SUCCESS,
        Err(payload) => std::panic::resume_unwind(payload),
    }
}

/// Commands write through `writeln!` and return the error (see
/// `cmd::is_broken_pipe`); this is the backstop for a `println!` that still
/// meets a closed stdout, which panics: that panic is not reported and the
/// process exits 0 instead of 101.
fn quiet_broken_pipe_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !is_broken_pipe_panic(panic_text(info.payload())) {
            default(info);
        }
    }));
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("")
}

/// std's message for `println!` on a closed pipe.
fn is_broken_pipe_panic(text: &str) -> bool {
    text.starts_with("failed printing to stdout") && text.contains("Broken pipe")
}
