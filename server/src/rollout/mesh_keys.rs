//! The worker's half of the mesh keys' schedule (the steps and their
//! state: `vxguard_store::mesh_keys`): every few seconds it starts the
//! rotation the schedule calls for, when no mesh change is under way; the
//! mesh rollout (`super::mesh`) then switches and releases it as any mesh
//! change, the release waiting for the grace period. The routers' client
//! interfaces, rotated with their mesh keys, are released here once their
//! own grace period is over ([`release_clients`]).

use std::collections::BTreeMap;

use anyhow::Result;
use sqlx::PgPool;
use vxguard_store::kind::Kind;
use vxguard_store::mesh_keys::{self, Device};
use vxguard_store::objects;

use super::WorkerActor as Worker;

/// Every router and hypervisor with its site (a hypervisor's host applies
/// its revision's `## wireguard` section, as the lab's hypervisor agent
/// does: `vxguard_lab::hypervisor::apply_wireguard`).
async fn sites(db: &PgPool) -> Result<BTreeMap<Device, String>> {
    let mut out = BTreeMap::new();
    for kind in [Kind::Router, Kind::Hypervisor] {
        for (name, spec) in objects::platform_specs(db, kind).await? {
            if let Some(site) = spec["site"].as_str() {
                out.insert(Device { kind, name }, site.to_string());
            }
        }
    }
    Ok(out)
}

/// Starts the rotation the schedule calls for, if any; returns the
/// devices begun.
pub async fn schedule(db: &PgPool) -> Result<Vec<Device>> {
    let plan = mesh_keys::schedule(db).await?;
    if plan.interval_secs == 0 {
        return Ok(Vec::new());
    }
    let begun = mesh_keys::begin_scheduled(db, &sites(db).await?, &plan, &Worker).await?;
    for d in &begun {
        tracing::info!(kind = d.kind.as_str(), device = %d.name, "mesh key rotation: begun on schedule");
    }
    Ok(begun)
}

/// Releases the routers' client rotations whose grace period is over
/// (`vxguard_store::client_keys`): their old client interfaces go.
pub async fn release_clients(db: &PgPool) -> Result<Option<i64>> {
    let Some((routers, job)) = vxguard_store::client_keys::release_due(db, &Worker).await? else {
        return Ok(None);
    };
    for r in &routers {
        tracing::info!(router = %r, job, "client key rotation: released");
    }
    Ok(Some(job))
}
