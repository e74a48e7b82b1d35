//! The WireGuard mesh's slot state (`vxguard_compiler::mesh`): kept in the
//! platform allocation row (`doc->'mesh'`), read by the worker's mesh
//! rollout, and moved one step at a time, each step with the job that
//! compiles and rolls it out and its audit entry, in one transaction.

use crate::audit::{self, Actor};
use crate::error::Result;
use crate::{jobs, locks};
use sqlx::PgPool;
use vxguard_compiler::mesh::MeshState;

/// The mesh state the devices were last compiled with.
pub async fn state(db: &PgPool) -> Result<MeshState> {
    let doc: Option<Option<serde_json::Value>> =
        sqlx::query_scalar("SELECT doc->'mesh' FROM allocation WHERE id = 1")
            .fetch_optional(db)
            .await?;
    Ok(doc
        .flatten()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default())
}

/// A step of a mesh change: what [`step`] records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MeshStep {
    /// Traffic moves to the slot holding the new mesh.
    Switched,
    /// The old slot takes the new mesh too.
    Released,
}

impl MeshStep {
    pub fn as_str(self) -> &'static str {
        match self {
            MeshStep::Switched => "switched",
            MeshStep::Released => "released",
        }
    }
}

/// Moves the mesh from `from` to `to` and queues the platform job that
/// compiles and rolls it out. `Ok(None)` when the state is no longer
/// `from` (a compile or another worker moved it meanwhile: nothing done).
pub async fn step(
    db: &PgPool,
    from: &MeshState,
    to: &MeshState,
    what: MeshStep,
    who: &impl Actor,
) -> Result<Option<i64>> {
    let mut tx = db.begin().await?;
    locks::xact_lock(&mut tx, locks::WRITE).await?;
    let now: Option<Option<serde_json::Value>> =
        sqlx::query_scalar("SELECT doc->'mesh' FROM allocation WHERE id = 1 FOR UPDATE")
            .fetch_optional(&mut *tx)
            .await?;
    let now: MeshState = now
        .flatten()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default();
    if now != *from {
        return Ok(None);
    }
    // A rotation's grace runs from the switch.
    let mut to = to.clone();
    if let (MeshStep::Switched, Some(r)) = (what, to.rotation.as_mut()) {
        r.switched_at = Some(crate::api_keys::unix_now());
    }
    let to = &to;
    sqlx::query(
        "UPDATE allocation SET doc = jsonb_set(doc, '{mesh}', $1), updated_at = now() WHERE id = 1",
    )
    .bind(serde_json::to_value(to)?)
    .execute(&mut *tx)
    .await?;
    crate::platform_rev::bump(&mut tx).await?;
    let job = jobs::enqueue(
        &mut tx,
        None,
        &format!("mesh {}", what.as_str()),
        who.subject(),
    )
    .await?;
    let after = serde_json::json!({
        "step": what.as_str(),
        "active": to.active.ifname(),
    });
    let mut e = audit::Entry::by(
        who,
        None,
        "mesh.changed",
        "platform/mesh",
        None,
        Some(after),
    );
    e.job = Some(job);
    audit::append(&mut tx, e).await?;
    if what == MeshStep::Released {
        // The old slot takes the new keys: the old ones are done with.
        crate::mesh_keys::retire(&mut tx, who, job).await?;
    }
    tx.commit().await?;
    Ok(Some(job))
}
