//! `vxguard`: the control plane's command line.

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use vxguard::*;

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
        /// A vyos-1x tree to judge one VyOS release with instead of its
        /// built-in definitions, e.g. `1.4=../vyos-1x/sagitta` (repeatable).
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
    /// Load-test a running server: reads at a fixed rate, and change-to-revision latency.
    BenchApi(bench_api::BenchApiArgs),
    /// Run the API (and, unless --no-worker, a worker).
    #[command(
        after_help = "Environment only (a flag would show it in the process list):\n  \
        VXGUARD_JWT_SECRET  the secret API tokens are signed with, at least 32 characters; \
        default: one generated once and kept in the database\n\n\
        Every setting is also read from the environment variable shown with it; \
        a bad value stops the start, naming the variable and the reason."
    )]
    Serve(serve::ServeArgs),
    /// Run a worker alone: claims jobs and compiles them.
    Worker(serve::WorkerArgs),
    /// Load the example platform and tenants into the database.
    Demo(demo::DemoArgs),
    /// The master key the stored secrets are sealed under: rotate it.
    Keys {
        #[command(subcommand)]
        cmd: keys_cmd::KeysCmd,
    },
    /// What Prometheus and Alertmanager need: alert rules, the Alertmanager
    /// configuration, a scrape configuration.
    Monitoring {
        #[command(subcommand)]
        cmd: monitoring_cmd::MonitoringCmd,
    },
    /// Audit log tools.
    Audit {
        #[command(subcommand)]
        cmd: AuditCmd,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Apply a router's revision to the router now (the VyOS driver).
    Apply(driver::ApplyArgs),
    /// Apply a hypervisor's revision to its OVS bridge now (the OVS driver).
    ApplyHypervisor(driver::ApplyHypervisorArgs),
    /// Print the SHA-256 of the certificate a router's API shows, to pin it.
    RouterCertificate(driver::CertificateArgs),
    /// Not here: the lab is the separate `vxguard-lab` binary (issue 16:
    /// the production binary does not link the lab). Kept, hidden, so that
    /// `vxguard lab ...` says where it went instead of "unrecognized".
    #[command(hide = true, disable_help_flag = true)]
    Lab {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

#[derive(Subcommand)]
enum AuditCmd {
    /// Check the audit log's hash chain; exit 1 at the first broken row.
    Verify {
        #[arg(long, env = "DATABASE_URL", default_value = db::DEFAULT_URL)]
        database_url: String,
    },
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

async fn audit_verify(url: &str) -> Result<bool> {
    let pool = db::connect(url, 2).await?;
    match audit::verify(&pool).await? {
        Ok(n) => {
            println!("audit log intact: {n} entries");
            Ok(true)
        }
        Err(b) => {
            println!("audit log BROKEN at entry {}: {}", b.id, b.reason);
            Ok(false)
        }
    }
}

/// Parses the command line; a bad value taken from the environment is
/// reported with the variable's name (clap names only the flag).
fn parse() -> Cli {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    use clap::CommandFactory;
    let e = match Cli::try_parse() {
        Ok(cli) => return cli,
        Err(e) => e,
    };
    if !matches!(
        e.kind(),
        ErrorKind::InvalidValue | ErrorKind::ValueValidation
    ) {
        e.exit();
    }
    let Some(ContextValue::String(arg)) = e.get(ContextKind::InvalidArg) else {
        e.exit();
    };
    let long = arg
        .split_whitespace()
        .next()
        .unwrap_or("")
        .trim_start_matches("--")
        .to_string();
    let on_line =
        std::env::args().any(|a| a == format!("--{long}") || a.starts_with(&format!("--{long}=")));
    let mut from_env = None;
    let mut todo = vec![Cli::command()];
    while let Some(c) = todo.pop() {
        for a in c.get_arguments() {
            if let (Some(l), Some(var)) = (a.get_long(), a.get_env()) {
                if l == long && std::env::var_os(var).is_some() {
                    from_env = Some(var.to_string_lossy().into_owned());
                }
            }
        }
        todo.extend(c.get_subcommands().cloned());
    }
    match from_env {
        Some(var) if !on_line => {
            let text = e.render().to_string();
            let text = text.trim_start_matches("error: ");
            eprintln!("error: environment variable {var}: {}", text.trim_end());
            std::process::exit(2);
        }
        _ => e.exit(),
    }
}

fn main() -> ExitCode {
    let cli = parse();
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
        Cmd::BenchApi(a) => runtime().and_then(|rt| rt.block_on(bench_api::run(a))),
        Cmd::Serve(a) => runtime()
            .and_then(|rt| rt.block_on(serve::serve(a)))
            .map(|_| true),
        Cmd::Worker(a) => runtime()
            .and_then(|rt| rt.block_on(serve::worker(a)))
            .map(|_| true),
        Cmd::Demo(a) => runtime().and_then(|rt| rt.block_on(demo::run(a))),
        Cmd::Keys { cmd } => runtime().and_then(|rt| rt.block_on(keys_cmd::run(cmd))),
        Cmd::Monitoring { cmd } => monitoring_cmd::run(cmd),
        Cmd::Audit {
            cmd: AuditCmd::Verify { database_url },
        } => runtime().and_then(|rt| rt.block_on(audit_verify(&database_url))),
        Cmd::Apply(a) => runtime().and_then(|rt| rt.block_on(driver::run(a))),
        Cmd::ApplyHypervisor(a) => runtime().and_then(|rt| rt.block_on(driver::run_hypervisor(a))),
        Cmd::RouterCertificate(a) => {
            runtime().and_then(|rt| rt.block_on(driver::run_certificate(a)))
        }
        Cmd::Lab { args } => Err(anyhow::anyhow!(
            "the lab is the separate `vxguard-lab` binary (package vxguard-lab-cli): \
             run `vxguard-lab {}`",
            args.join(" ")
        )),
        Cmd::Openapi => {
            println!(
                "{}",
                serde_json::to_string_pretty(&openapi::document()).expect("serialises")
            );
            Ok(true)
        }
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
