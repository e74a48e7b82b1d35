//! What a proposed change to one tenant would do on the devices, before it
//! is saved: the intent is compiled as it is and as it would be, and the
//! two outputs are compared device by device (VyOS `set` commands on
//! routers; OpenFlow flows, groups and meters on hypervisors), as removed
//! and added lines. Pure: the caller loads the intent and applies the edit
//! in memory.

use crate::alloc::Allocation;
use crate::diag::Diagnostic;
use crate::intent::Intent;
use crate::model::Secrets;
use crate::{compile, recompile_tenant, DefinitionSet, Output, Touched};
use std::collections::HashSet;

pub use crate::device::DeviceKind;

/// One device's change: lines that go and lines that come.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceDiff {
    pub kind: DeviceKind,
    pub device: String,
    pub removed: Vec<String>,
    pub added: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Preview {
    /// Devices whose configuration would change, routers first, by name.
    pub devices: Vec<DeviceDiff>,
    /// Warnings of the changed intent (e.g. shadowed rules).
    pub warnings: Vec<Diagnostic>,
}

/// Lines of `old` that `new` lacks (removed) and lines of `new` that `old`
/// lacks (added), each in its own text's order. Both kinds of text are
/// sets of lines (VyOS commands name their whole path; a flow table has
/// no order), so a line that only moved is no change. Comments (`#`) and
/// blank lines are not configuration.
pub fn line_changes(old: &str, new: &str) -> (Vec<String>, Vec<String>) {
    let config = |t: &str| -> Vec<String> {
        t.lines()
            .map(str::trim_end)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(String::from)
            .collect()
    };
    let (o, n) = (config(old), config(new));
    let os: HashSet<&str> = o.iter().map(String::as_str).collect();
    let ns: HashSet<&str> = n.iter().map(String::as_str).collect();
    let removed = o.iter().filter(|l| !ns.contains(l.as_str())).cloned();
    let added = n.iter().filter(|l| !os.contains(l.as_str())).cloned();
    (removed.collect(), added.collect())
}

fn ovs_lines(c: &crate::ovs::OvsConfig) -> String {
    format!("{}{}{}", c.flows, c.groups, c.meters)
}

/// The changes on the devices `touched` names (those a one-tenant change
/// re-rendered), leaving out devices whose lines are the same.
pub fn device_diffs(before: &Output, after: &Output, touched: &Touched) -> Vec<DeviceDiff> {
    let mut out = Vec::new();
    let mut push = |kind, device: &str, old: &str, new: &str| {
        let (removed, added) = line_changes(old, new);
        if !removed.is_empty() || !added.is_empty() {
            out.push(DeviceDiff {
                kind,
                device: device.to_string(),
                removed,
                added,
            });
        }
    };
    let mut routers = touched.routers.clone();
    routers.sort();
    for r in &routers {
        let old = before.routers.get(r).map_or("", |x| x.set.as_str());
        let new = after.routers.get(r).map_or("", |x| x.set.as_str());
        push(DeviceKind::Router, r, old, new);
    }
    let mut hvs = touched.hypervisors.clone();
    hvs.sort();
    for h in &hvs {
        let old = before.hypervisors.get(h).map(ovs_lines).unwrap_or_default();
        let new = after.hypervisors.get(h).map(ovs_lines).unwrap_or_default();
        push(DeviceKind::Hypervisor, h, &old, &new);
    }
    out
}

/// The changes on every device of either output (a platform change can
/// add, remove or rewrite any device): one that appears has all its lines
/// added, one that goes all removed.
pub fn all_device_diffs(before: &Output, after: &Output) -> Vec<DeviceDiff> {
    let names = |a: Vec<&String>, b: Vec<&String>| {
        let mut v: Vec<String> = a.into_iter().chain(b).cloned().collect();
        v.sort();
        v.dedup();
        v
    };
    let touched = Touched {
        routers: names(
            before.routers.keys().collect(),
            after.routers.keys().collect(),
        ),
        hypervisors: names(
            before.hypervisors.keys().collect(),
            after.hypervisors.keys().collect(),
        ),
        ..Touched::default()
    };
    device_diffs(before, after, &touched)
}

/// Compiles `current` and then `proposed`, which differs from it in tenant
/// `slug` only, and returns what would change on that tenant's devices.
/// `Err` holds the errors of the proposed intent (or of the current one,
/// when it does not compile either).
pub fn preview(
    current: &Intent,
    proposed: &Intent,
    slug: &str,
    allocation: &Allocation,
    secrets: &Secrets,
    defs: &DefinitionSet,
) -> Result<Preview, Vec<Diagnostic>> {
    let before = compile(current, allocation, secrets, defs)?;
    let (after, touched) = recompile_tenant(proposed, slug, before.clone(), secrets, defs)?;
    let ti = proposed
        .tenants
        .iter()
        .position(|t| t.slug.as_str() == slug);
    let mine = ti.map(|i| format!("/tenants/{i}"));
    let warnings = after
        .warnings
        .iter()
        .filter(|w| {
            mine.as_deref()
                .is_some_and(|m| w.pointer.0 == m || w.pointer.0.starts_with(&format!("{m}/")))
        })
        .cloned()
        .collect();
    Ok(Preview {
        devices: device_diffs(&before, &after, &touched),
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_that_go_and_come_in_their_order() {
        let old = "# header\nset a 1\nset b 2\nset c 3\n";
        let new = "# other header\nset c 3\nset a 1\nset d 4\nset b 5\n";
        let (removed, added) = line_changes(old, new);
        assert_eq!(removed, vec!["set b 2"]);
        assert_eq!(added, vec!["set d 4", "set b 5"]);
        assert_eq!(line_changes(new, new), (vec![], vec![]));
        let (r, a) = line_changes("", "x\n\n");
        assert!(r.is_empty());
        assert_eq!(a, vec!["x"]);
    }
}
