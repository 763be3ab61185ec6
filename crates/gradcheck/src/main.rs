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

/// Runs the check the arguments ask for; whether every comparison passed.
fn check() -> anyhow::Result<bool> {
    let report = gradcheck::cli::run(gradcheck::cli::Args::parse())?;
    Ok(report.passed)
}
