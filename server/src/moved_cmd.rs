//! Subcommands that left the production binary for binaries of their own
//! (issue 16: `vxguard` links neither the lab nor the benchmarks). Each is
//! kept hidden in `vxguard`'s command line so that its old spelling says
//! where it went instead of "unrecognized subcommand".

use anyhow::{anyhow, Result};

/// `vxguard lab ...`: now `vxguard-lab ...`.
pub fn lab(args: &[String]) -> Result<bool> {
    Err(anyhow!(
        "the lab is the separate `vxguard-lab` binary (package vxguard-lab-cli): \
         run `vxguard-lab {}`",
        args.join(" ")
    ))
}

/// `vxguard bench ...` and `vxguard bench-api ...`: now `vxguard-bench
/// compile ...` and `vxguard-bench api ...`; `new` is the new subcommand.
pub fn bench(new: &str, args: &[String]) -> Result<bool> {
    let rest = if args.is_empty() {
        String::new()
    } else {
        format!(" {}", args.join(" "))
    };
    Err(anyhow!(
        "the benchmarks are the separate `vxguard-bench` binary (package vxguard-bench): \
         run `vxguard-bench {new}{rest}`"
    ))
}
