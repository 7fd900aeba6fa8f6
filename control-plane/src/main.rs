//! `mediaplane`: see the control-plane crate documentation.

use std::process::ExitCode;

use clap::Parser;
use control_plane::{
    app::{self, App},
    config::{Cli, Config},
    logging,
};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(&cli) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mediaplane: {e}");
            return ExitCode::from(2);
        }
    };
    if cli.check_config {
        println!("{config:#?}");
        return ExitCode::SUCCESS;
    }
    logging::init(&config.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("signalling")
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the runtime");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let app = match App::start(&config).await {
            Ok(app) => app,
            Err(e) => {
                tracing::error!(error = %e, "cannot start");
                return ExitCode::FAILURE;
            }
        };
        app::stop_signal().await;
        app.shutdown().await;
        ExitCode::SUCCESS
    })
}
