//! `vxguard-lab hypervisor-agent`: the lab's model of a hypervisor host's
//! agent. vxguard compiles each hypervisor's WireGuard (its revision's
//! `## wireguard`: one `wg setconf` text per mesh slot, and the active
//! one) but does not provision hosts (a later round); this follows the
//! hypervisor's latest revision in the database, fills its keys in from
//! the sealed store (as `lab up` does for the first one) and applies the
//! section with `vxguard_lab::hypervisor::apply_wireguard`, so that the
//! lab's hypervisors follow staged, switched and released mesh changes and
//! their own keys' rotations. The switch of a mesh change waits for the
//! routers' standby handshakes with each hypervisor, which is what shows
//! vxguard that the host applied its section. It logs revision numbers and
//! slot names, never a key.

use anyhow::{Context, Result};
use std::time::Duration;
use vxguard::db;
use vxguard_compiler::hypervisor_config::HypervisorConfig;
use vxguard_lab::hypervisor;
use vxguard_lab::HypervisorAgentArgs;
use vxguard_store::intent as store_intent;
use vxguard_store::revisions;

/// Runs until killed (`lab down` stops it by its pid).
pub async fn run(a: HypervisorAgentArgs) -> Result<bool> {
    let pool = db::connect(&a.database_url, 2).await?;
    let master_key = vxguard::master_key::MasterKeyArgs::from_env();
    vxguard::master_key::open(&pool, &master_key, vxguard::master_key::Start::Command).await?;
    eprintln!("hypervisor agent {}: following its revisions", a.hypervisor);
    let mut applied = None;
    loop {
        if hypervisor::gone(&a.run_dir) {
            eprintln!(
                "hypervisor agent {}: its hypervisor is gone (no record or no host namespace); stopping",
                a.hypervisor
            );
            return Ok(true);
        }
        match follow(&pool, &a, applied).await {
            Ok(Some(seq)) => applied = Some(seq),
            Ok(None) => {}
            // Tried again at the next look (the store or the host may be
            // busy; nothing is half-applied: each slot is set whole).
            Err(e) => eprintln!("hypervisor agent {}: {e:#}", a.hypervisor),
        }
        tokio::time::sleep(Duration::from_millis(a.poll_ms)).await;
    }
}

/// Applies the latest revision if it is not `applied`; returns its number.
async fn follow(
    pool: &sqlx::PgPool,
    a: &HypervisorAgentArgs,
    applied: Option<i32>,
) -> Result<Option<i32>> {
    let mut conn = pool.acquire().await?;
    let Some((seq, text)) =
        revisions::latest_config(&mut conn, "hypervisor", &a.hypervisor).await?
    else {
        return Ok(None);
    };
    if applied == Some(seq) {
        return Ok(None);
    }
    let c =
        HypervisorConfig::parse_text(&text).map_err(|e| anyhow::anyhow!("revision {seq}: {e}"))?;
    let secrets = store_intent::secrets(&mut conn).await?;
    drop(conn);
    let keys = secrets
        .hypervisors
        .get(&a.hypervisor)
        .map(vxguard_compiler::sealed::Vault::hypervisor)
        .unwrap_or_default();
    let section = vxguard_compiler::sealed::fill_wireguard(&c.wireguard, &keys)
        .with_context(|| format!("revision {seq}"))?;
    let dir = a.run_dir.clone();
    let done = tokio::task::spawn_blocking(move || hypervisor::apply_wireguard(&dir, &section))
        .await
        .context("applying the WireGuard section panicked")?
        .with_context(|| format!("revision {seq}"))?;
    if !done.is_empty() {
        eprintln!(
            "hypervisor agent {}: revision {seq}: slots set {:?}, started {:?}, removed {:?}, \
             active {}",
            a.hypervisor,
            done.set,
            done.started,
            done.removed,
            done.switched
                .map_or("unchanged".to_string(), |(from, to)| format!(
                    "{from} -> {to}"
                )),
        );
    }
    Ok(Some(seq))
}
