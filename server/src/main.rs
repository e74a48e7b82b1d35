//! `vxguard`: the control plane's command line. A thin dispatcher: each
//! subcommand's arguments and handler are in a file of their own (the
//! library's `*_cmd.rs`, `serve.rs` for `serve` and `worker`, `demo.rs`,
//! `driver/` for the `apply`s and `router-certificate`).

use anyhow::Result;
use clap::{Parser, Subcommand};
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
    Compile(compile_cmd::CompileArgs),
    /// Work with VyOS configurations.
    Vyos {
        #[command(subcommand)]
        cmd: vyos_cmd::VyosCmd,
    },
    /// Print the JSON Schema of intent files.
    Schema,
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
        cmd: audit_cmd::AuditCmd,
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
    /// Not here: the benchmarks are the separate `vxguard-bench` binary
    /// (`vxguard-bench compile`); hidden, as `lab` is.
    #[command(hide = true, disable_help_flag = true)]
    Bench {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Not here: `vxguard-bench api`; hidden, as `lab` is.
    #[command(hide = true, disable_help_flag = true)]
    BenchApi {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
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
        Cmd::Compile(a) => compile_cmd::run(&a.intent, &a.out, &a.vyos_defs),
        Cmd::Vyos { cmd } => vyos_cmd::run(cmd),
        Cmd::Schema => schema_cmd::run(),
        Cmd::Serve(a) => runtime()
            .and_then(|rt| rt.block_on(serve::serve(a)))
            .map(|_| true),
        Cmd::Worker(a) => runtime()
            .and_then(|rt| rt.block_on(serve::worker(a)))
            .map(|_| true),
        Cmd::Demo(a) => runtime().and_then(|rt| rt.block_on(demo::run(a))),
        Cmd::Keys { cmd } => runtime().and_then(|rt| rt.block_on(keys_cmd::run(cmd))),
        Cmd::Monitoring { cmd } => monitoring_cmd::run(cmd),
        Cmd::Audit { cmd } => runtime().and_then(|rt| rt.block_on(audit_cmd::run(cmd))),
        Cmd::Apply(a) => runtime().and_then(|rt| rt.block_on(driver::run(a))),
        Cmd::ApplyHypervisor(a) => runtime().and_then(|rt| rt.block_on(driver::run_hypervisor(a))),
        Cmd::RouterCertificate(a) => {
            runtime().and_then(|rt| rt.block_on(driver::run_certificate(a)))
        }
        Cmd::Openapi => openapi_cmd::run(),
        Cmd::Lab { args } => moved_cmd::lab(&args),
        Cmd::Bench { args } => moved_cmd::bench("compile", &args),
        Cmd::BenchApi { args } => moved_cmd::bench("api", &args),
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
