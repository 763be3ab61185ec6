//! `infer`: parse the arguments, run, print the output as text or JSON.
//!
//! Exit status: 0 on success, 1 on an error (said on standard error, once), 2 for a usage
//! error (clap).

#![forbid(unsafe_code)]

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = infer::cli::Args::parse();
    let text = infer::cli::run(&args).and_then(|output| {
        let text = if args.json {
            output.to_json()?
        } else {
            output.to_string()
        };
        Ok((text, output.failures()))
    });
    match text {
        Ok((text, failures)) => {
            // A reader that stops early (`infer | head`) is not an error.
            let _ = writeln!(std::io::stdout(), "{text}");
            if failures > 0 {
                eprintln!("error: {failures} of the images could not be read (see above)");
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {:#}", anyhow::Error::from(e));
            ExitCode::FAILURE
        }
    }
}
