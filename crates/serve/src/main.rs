//! `serve`: parse the arguments, load the run, say where the page is, serve until Ctrl-C.
//!
//! Exit status: 0 after Ctrl-C, 1 on an error (said on standard error, once), 2 for a usage
//! error (clap).

#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let args = serve::cli::Args::parse();
    let served = async {
        let server = serve::cli::start(&args).await?;
        println!("{server}");
        server
            .run(async {
                // Without a signal handler the server runs until killed, which is no worse.
                if tokio::signal::ctrl_c().await.is_err() {
                    std::future::pending::<()>().await;
                }
            })
            .await
    };
    match served.await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {:#}", anyhow::Error::from(e));
            ExitCode::FAILURE
        }
    }
}
