//! `vxguard compile`: intent file → configuration files, lock file updated.

use crate::keys;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use vxguard_compiler::alloc::Allocation;
use vxguard_compiler::compile;
use vxguard_compiler::intent::yaml;

// The subcommand's arguments (its help text is the `Compile` variant's
// doc comment in main.rs).
#[derive(clap::Args)]
pub struct CompileArgs {
    pub intent: PathBuf,
    #[arg(long)]
    pub out: PathBuf,
    /// A vyos-1x tree to judge one VyOS release with instead of its
    /// built-in definitions, e.g. `1.4=../vyos-1x/sagitta` (repeatable).
    #[arg(long = "vyos-defs", value_name = "VERSION=DIR")]
    pub vyos_defs: Vec<String>,
}

/// Paths of the lock and secrets files that sit next to an intent file.
pub fn side_files(intent: &Path) -> (PathBuf, PathBuf) {
    let stem = intent
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("intent");
    let dir = intent.parent().unwrap_or(Path::new("."));
    (
        dir.join(format!("{stem}.lock.json")),
        dir.join(format!("{stem}.secrets.json")),
    )
}

pub fn run(intent_path: &Path, out: &Path, defs: &[String]) -> Result<bool> {
    let text = std::fs::read_to_string(intent_path)
        .with_context(|| format!("reading {}", intent_path.display()))?;
    let file = intent_path.display();
    let (intent, map) = match yaml::parse_intent(&text) {
        Ok(x) => x,
        Err(errs) => {
            for (pos, d) in errs {
                eprintln!("{file}:{}:{}: {}", pos.line, pos.column, d.message);
            }
            return Ok(false);
        }
    };
    let loaded = crate::definitions::load(defs)?;
    let set = crate::definitions::set(&loaded);
    let (lock_path, secrets_path) = side_files(intent_path);
    let prev: Allocation = match std::fs::read_to_string(&lock_path) {
        Ok(t) => serde_json::from_str(&t)
            .with_context(|| format!("{}: not a vxguard lock file", lock_path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Allocation::default(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", lock_path.display())),
    };
    let secrets = keys::load_or_create(&secrets_path, &intent)?;
    let output = match compile(&intent, &prev, &secrets, &set) {
        Ok(o) => o,
        Err(diags) => {
            for d in &diags {
                let pos = map.locate(&d.pointer.0);
                let sev = if d.is_error() { "error" } else { "warning" };
                eprintln!("{file}:{}:{}: {sev}: {}", pos.line, pos.column, d.message);
            }
            let n = diags.iter().filter(|d| d.is_error()).count();
            eprintln!("{n} error(s); nothing written");
            return Ok(false);
        }
    };
    for d in &output.warnings {
        let pos = map.locate(&d.pointer.0);
        eprintln!("{file}:{}:{}: warning: {}", pos.line, pos.column, d.message);
    }
    for v in &output.unvalidated {
        eprintln!(
            "warning: VyOS {} commands were not validated: pass --vyos-defs {}=DIR",
            v.as_str(),
            v.as_str()
        );
    }
    std::fs::create_dir_all(out.join("routers"))?;
    std::fs::create_dir_all(out.join("hypervisors"))?;
    // Router configurations hold private keys: owner-only files.
    for (name, r) in &output.routers {
        keys::write_private(&out.join("routers").join(format!("{name}.set")), &r.set)?;
        keys::write_private(
            &out.join("routers").join(format!("{name}.boot")),
            &r.boot(&set),
        )?;
    }
    for (name, h) in &output.hypervisors {
        let base = out.join("hypervisors");
        std::fs::write(base.join(format!("{name}.flows")), &h.flows)?;
        std::fs::write(base.join(format!("{name}.groups")), &h.groups)?;
        std::fs::write(base.join(format!("{name}.meters")), &h.meters)?;
        // `wg setconf` text: holds the hypervisor's private key.
        keys::write_private(&base.join(format!("{name}.wg")), &h.wireguard)?;
    }
    let alloc_json = serde_json::to_string_pretty(&output.allocation)? + "\n";
    std::fs::write(out.join("allocation.json"), &alloc_json)?;
    if prev != output.allocation {
        std::fs::write(&lock_path, &alloc_json)
            .with_context(|| format!("writing {}", lock_path.display()))?;
    }
    eprintln!(
        "compiled {} routers and {} hypervisors into {} (tenant MTU {})",
        output.routers.len(),
        output.hypervisors.len(),
        out.display(),
        output.tenant_mtu
    );
    Ok(true)
}
