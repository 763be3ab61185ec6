//! `infer`: parse the arguments, run, print the output as text or JSON.

use std::io::Write;

use clap::Parser;

fn main() -> anyhow::Result<()> {
    let args = infer::cli::Args::parse();
    let output = infer::cli::run(&args)?;
    let text = if args.json {
        output.to_json()?
    } else {
        output.to_string()
    };
    // A reader that stops early (`infer | head`) is not an error.
    let _ = writeln!(std::io::stdout(), "{text}");
    Ok(())
}
