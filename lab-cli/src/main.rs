//! `vxguard-lab`: the lab's command line, its own binary (issue 16).
//!
//! The production binary `vxguard` does not link the lab; this one offers
//! what `vxguard lab <sub>` used to, as `vxguard-lab <sub>` with the same
//! flags, environment variables, outputs and exit codes (0 done, 1 `up`
//! ended with a device not applied, 2 an error). `router`, `down` and
//! `check` are the lab crate's ([`vxguard_lab::run`]); `up` registers
//! devices in vxguard, so it is here ([`lab_up`]), on the server library.

mod grow;
mod hv_agent;
mod lab_up;

use clap::Parser;
use std::process::ExitCode;
use vxguard_lab::LabCmd;

#[derive(Parser)]
#[command(
    name = "vxguard-lab",
    version,
    about = "vxguard's lab: stand-in devices on this machine"
)]
struct Cli {
    #[command(subcommand)]
    cmd: LabCmd,
}

/// Parses the command line; a bad value taken from the environment is
/// reported with the variable's name (clap names only the flag), as
/// `vxguard` does.
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
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("vxguard-lab: {e:#}");
            return ExitCode::from(2);
        }
    };
    let r: anyhow::Result<bool> = match cli.cmd {
        LabCmd::Up(a) => rt.block_on(lab_up::up(a)),
        LabCmd::HypervisorAgent(a) => rt.block_on(hv_agent::run(a)),
        LabCmd::Check(a) => rt.block_on(grow::check(a)),
        cmd => rt
            .block_on(vxguard_lab::run(cmd))
            .map(|_| true)
            .map_err(Into::into),
    };
    match r {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("vxguard-lab: {e:#}");
            ExitCode::from(2)
        }
    }
}
