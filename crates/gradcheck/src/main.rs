#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;

/// Exit status: 0 when every check passed, 1 when one failed, 2 when the check could not run.
fn main() -> ExitCode {
    match check() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {}", model::describe_error(e.as_ref()));
            ExitCode::from(2)
        }
    }
}

/// Runs what the arguments ask for; whether every comparison of the check passed (a trace
/// always passes).
fn check() -> anyhow::Result<bool> {
    use gradcheck::cli::{run, run_trace, run_train, Cli, Command};
    match Cli::parse().command() {
        Command::Check(args) => Ok(run(args)?.passed),
        Command::Trace(args) => {
            run_trace(&args)?;
            Ok(true)
        }
        Command::Train(args) => {
            run_train(&args)?;
            Ok(true)
        }
    }
}
