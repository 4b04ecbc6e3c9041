//! `passbridge completions SHELL` and `passbridge man`: shell completion
//! scripts and man pages generated from the clap definitions, so they cannot
//! drift from the real flags.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

/// Writes the completion script for `shell` to `out`.
///
/// # Errors
/// Writing to `out` failed.
pub fn completions(shell: clap_complete::Shell, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let mut cmd = crate::cli::command();
    // clap_complete panics when its writer fails; a buffer cannot fail, and
    // the real write then reports a closed pipe as an error like any other.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "passbridge", &mut script);
    out.write_all(&script)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Writes `passbridge.1` to `out`, or with `dir` every page
/// (`passbridge.1`, `passbridge-serve.1`, …) into that directory.
///
/// # Errors
/// The directory or a page could not be written.
pub fn man(dir: Option<&Path>, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let cmd = crate::cli::command();
    match dir {
        None => {
            clap_mangen::Man::new(cmd)
                .date(crate::build_info::BUILD_DATE)
                .render(out)?;
            out.flush()?;
        }
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            clap_mangen::generate_to(cmd, dir)
                .with_context(|| format!("writing man pages into {}", dir.display()))?;
            writeln!(
                out,
                "Wrote passbridge.1 and one page per subcommand into {}",
                dir.display()
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
