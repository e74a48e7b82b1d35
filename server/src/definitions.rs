//! The VyOS definitions this process judges configuration with. The write
//! path refuses what the devices would refuse, and the worker compiles:
//! both must judge with the same definitions, or a value could pass the
//! API and then fail every tenant's compile. Installed once at start
//! (`serve`, `worker`, the test harness); without them, neither validates
//! VyOS commands (the compiler says so in its output).

use std::collections::BTreeMap;
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

/// The compiler's view of loaded definitions.
pub fn set(defs: &BTreeMap<VyosVersion, Definitions>) -> DefinitionSet<'_> {
    DefinitionSet {
        by_version: defs.iter().map(|(k, v)| (*k, v)).collect(),
    }
}
