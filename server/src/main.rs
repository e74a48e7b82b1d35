//! `vxguard`: the control plane's command line.

mod bench;
mod compile_cmd;
mod keys;
mod vyos_cmd;

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "vxguard",
    version,
    about = "Multi-tenant WireGuard/EVPN overlay control plane"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Compile an intent file into router and hypervisor configuration.
    Compile {
        intent: PathBuf,
        #[arg(long)]
        out: PathBuf,
        /// VyOS definitions per version, e.g. `1.4=../vyos-1x/sagitta` (repeatable).
        #[arg(long = "vyos-defs", value_name = "VERSION=DIR")]
        vyos_defs: Vec<String>,
    },
    /// Work with VyOS configurations.
    Vyos {
        #[command(subcommand)]
        cmd: vyos_cmd::VyosCmd,
    },
    /// Print the JSON Schema of intent files.
    Schema,
    /// Measure a full compile and a one-tenant change on a generated platform.
    Bench(bench::BenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let r: Result<bool> = match cli.cmd {
        Cmd::Compile {
            intent,
            out,
            vyos_defs,
        } => compile_cmd::run(&intent, &out, &vyos_defs),
        Cmd::Vyos { cmd } => vyos_cmd::run(cmd),
        Cmd::Schema => {
            let schema = schemars::schema_for!(vxguard_compiler::intent::Intent);
            println!(
                "{}",
                serde_json::to_string_pretty(&schema).expect("schema serialises")
            );
            Ok(true)
        }
        Cmd::Bench(args) => bench::run(args),
    };
    match r {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("vxguard: {e:#}");
            ExitCode::from(2)
        }
    }
}
