//! The worker's half of a router API key rotation (the steps and their
//! state: `vxguard_store::api_keys`): after a rollout, each router whose
//! rotation waits is asked, with the key in question, whether it takes it
//! (a harmless `exists` of `service https`). The next key accepted: the
//! switch; the retired key refused: its removal. Any other answer (the
//! router unreachable, a certificate that is not the pinned one) leaves
//! the rotation where it is, to be asked again.

use anyhow::Result;
use sqlx::PgPool;
use vxguard_store::api_keys::{self, Step};
use vxguard_store::kind::Kind;
use vxguard_store::objects;
use vyos_api::{Retrieve, RetrieveOp};

use super::reconcile::{self, Access};

use super::WorkerActor as Worker;

/// Whether the router takes `key`: `Ok(false)` only for VyOS's refusal
/// (401/403), `Err` when it could not tell.
async fn accepts(a: &Access, key: &str) -> Result<bool, String> {
    let probe = Access {
        key: Some(key.to_string()),
        ..a.clone()
    };
    let answer = probe
        .client()?
        .retrieve(&Retrieve {
            op: RetrieveOp::Exists,
            path: vec!["service".into(), "https".into()],
            config_format: None,
        })
        .await
        .map_err(|e| e.to_string())?;
    match answer.status {
        200 => Ok(true),
        401 | 403 => Ok(false),
        s => Err(format!(
            "HTTP {s}: {}",
            answer.error().unwrap_or("no VyOS answer")
        )),
    }
}

/// Starts the rotations the schedule calls for: keys at least `every` old,
/// one router per site and a tenth of the routers (at least one) at a
/// time (`vxguard_store::api_keys::due_by_schedule`).
pub async fn schedule(db: &PgPool, every: std::time::Duration) -> Result<Vec<String>> {
    let sites: std::collections::BTreeMap<String, String> =
        objects::platform_specs(db, Kind::Router)
            .await?
            .into_iter()
            .filter_map(|(name, spec)| Some((name, spec["site"].as_str()?.to_string())))
            .collect();
    let at_once = (sites.len() / 10).max(1);
    let begun = api_keys::begin_scheduled(db, &sites, every, at_once, &Worker).await?;
    for r in &begun {
        tracing::info!(router = %r, "API key rotation: begun on schedule");
    }
    Ok(begun)
}

/// Takes every rotation step whose check passes; returns the steps taken.
pub async fn advance(db: &PgPool) -> Result<Vec<(String, Step)>> {
    let pending = api_keys::pending(db).await?;
    if pending.is_empty() {
        return Ok(Vec::new());
    }
    let access = reconcile::routers(db).await?;
    let mut taken = Vec::new();
    for p in pending {
        let Some(a) = access.get(&p.router) else {
            continue;
        };
        let accepted = match accepts(a, &p.key).await {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(router = %p.router, step = p.waits_for.as_str(), error = %e,
                    "API key rotation: the router could not be asked");
                continue;
            }
        };
        let done = match (p.waits_for, accepted) {
            (Step::Switched, true) => api_keys::switch(db, &p.router, &p.key, &Worker)
                .await?
                .is_some(),
            (Step::Removed, false) => api_keys::removed(db, &p.router, &p.key, &Worker).await?,
            _ => false,
        };
        if done {
            tracing::info!(router = %p.router, step = p.waits_for.as_str(),
                key = %api_keys::fingerprint(&p.key), "API key rotation: step taken");
            taken.push((p.router, p.waits_for));
        }
    }
    Ok(taken)
}
