//! `vxguard-bench`: the benchmarks' command line, its own binary (issue
//! 16: the production `vxguard` does not link them). `compile` is what
//! `vxguard bench` was and `api` what `vxguard bench-api` was, with the
//! same flags, environment variables, outputs and exit codes (0 done, 1
//! `api load`'s generated platform refused by the checks, 2 an error).

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::process::ExitCode;
use vxguard_bench::{api, compile};

#[derive(Parser)]
#[command(
    name = "vxguard-bench",
    version,
    about = "vxguard's benchmarks: figures, never assertions"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Measure a full compile and a one-tenant change on a generated platform.
    Compile(compile::CompileArgs),
    /// Load-test a running server: reads at a fixed rate, and change-to-revision latency.
    Api(api::ApiArgs),
}

fn main() -> ExitCode {
    let r: Result<bool> = match Cli::parse().cmd {
        Cmd::Compile(a) => compile::run(a),
        Cmd::Api(a) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(anyhow::Error::from)
            .and_then(|rt| rt.block_on(api::run(a))),
    };
    match r {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("vxguard-bench: {e:#}");
            ExitCode::from(2)
        }
    }
}
