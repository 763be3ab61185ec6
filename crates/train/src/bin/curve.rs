//! `curve`: parse the arguments, print each training's result as it comes, print where the
//! curve was written. Exit status: 0 when written, 1 when it failed, 2 for a usage error.

#![forbid(unsafe_code)]

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use train::curve::{run, CurveArgs};

fn main() -> ExitCode {
    let args = CurveArgs::parse();
    let quiet = args.quiet;
    let mut progress = |point: &train::curve::CurvePoint| {
        if !quiet {
            // A closed pipe loses nothing: the table is written after each training regardless.
            let _ = writeln!(std::io::stdout(), "{point}");
        }
    };
    match run(&args, &mut progress) {
        Ok(curve) => {
            if !quiet {
                let _ = writeln!(std::io::stdout(), "{curve}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {:#}", anyhow::Error::from(e));
            ExitCode::FAILURE
        }
    }
}
