//! The VyOS definitions this process judges configuration with. The write
//! path refuses what the devices would refuse, and the worker compiles:
//! both must judge with the same definitions, or a value could pass the
//! API and then fail every tenant's compile. Installed once at start
//! (`serve`, `worker`, the test harness). Each release's built-in schema
//! unless `--vyos-defs VERSION=DIR` points at a vyos-1x tree.

use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use vxguard_compiler::intent::VyosVersion;
use vxguard_compiler::DefinitionSet;
use vyos_defs::Definitions;

pub type Defs = Arc<BTreeMap<VyosVersion, Definitions>>;

static INSTALLED: OnceLock<Defs> = OnceLock::new();

/// Makes `defs` the process's definitions; the first installed wins (one
/// process, one set), and that one is returned.
pub fn install(defs: Defs) -> Defs {
    INSTALLED.get_or_init(|| defs).clone()
}

/// The installed definitions (empty when none were).
pub fn installed() -> Defs {
    INSTALLED.get().cloned().unwrap_or_default()
}

/// The routers' platform trees kept between one-tenant checks
/// (`vxguard_compiler::PlatformTrees`): one set per process, shared by the
/// write path's checks and the worker's engine, which judge the same
/// routers with the same definitions.
pub fn platform_trees() -> Arc<vxguard_compiler::PlatformTrees> {
    static TREES: OnceLock<Arc<vxguard_compiler::PlatformTrees>> = OnceLock::new();
    TREES.get_or_init(Arc::default).clone()
}

/// The compiler's view of loaded definitions.
pub fn set(defs: &BTreeMap<VyosVersion, Definitions>) -> DefinitionSet<'_> {
    DefinitionSet {
        by_version: defs.iter().map(|(k, v)| (*k, v)).collect(),
    }
}

/// Every release vxguard compiles for, with its definitions: the built-in
/// schema, replaced by the vyos-1x tree of a `VERSION=DIR` in `specs`
/// (the `--vyos-defs` flags and `VXGUARD_VYOS_DEFS`).
pub fn load(specs: &[String]) -> Result<BTreeMap<VyosVersion, Definitions>> {
    let mut dirs = BTreeMap::new();
    for s in specs {
        let Some((v, dir)) = s.split_once('=') else {
            bail!("--vyos-defs {s}: expected VERSION=DIR, e.g. 1.4=../vyos-1x/sagitta");
        };
        let Some(version) = VyosVersion::parse(v) else {
            bail!(
                "--vyos-defs {s}: unknown VyOS version `{v}` (expected one of {})",
                versions_text()
            );
        };
        if dirs.insert(version, dir).is_some() {
            bail!("--vyos-defs {s}: VyOS {v} is given twice");
        }
    }
    let mut out = BTreeMap::new();
    for version in VyosVersion::ALL {
        out.insert(version, one(version, dirs.get(&version).map(Path::new))?);
    }
    Ok(out)
}

/// The definitions of one release: the vyos-1x tree at `dir` when given,
/// else the built-in schema (commands that judge one router's release
/// read only that one).
pub fn one(version: VyosVersion, dir: Option<&Path>) -> Result<Definitions> {
    match dir {
        Some(dir) => Definitions::load(dir)
            .with_context(|| format!("--vyos-defs {}={}", version.as_str(), dir.display())),
        None => builtin(version),
    }
}

/// The built-in definitions of `version`.
pub fn builtin(version: VyosVersion) -> Result<Definitions> {
    let Some(b) = vyos_defs::builtin::BUILTIN
        .iter()
        .find(|b| b.version == version.as_str())
    else {
        bail!(
            "no built-in VyOS {} definitions in this build: give --vyos-defs {}=DIR",
            version.as_str(),
            version.as_str()
        );
    };
    vyos_defs::builtin::parse(b).with_context(|| format!("built-in VyOS {} definitions", b.version))
}

/// `1.4, 1.5`: the releases a router may name, for messages.
pub fn versions_text() -> String {
    VyosVersion::ALL
        .iter()
        .map(|v| v.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
