//! Drift: a router whose running configuration is no longer the revision
//! it last applied (someone changed it by hand, or it reverted by itself).
//! The worker checks every applied router periodically (`--drift-secs`)
//! and keeps the difference in `device_drift`; a matching check deletes
//! the row, as does a later successful apply. Drift is reported, never
//! repaired here: repairing is the next rollout's job, and the operator's
//! change may be one to keep.
//!
//! A check takes the rollout lock without waiting: while a rollout runs,
//! routers are between revisions by design, so that round is skipped.

use anyhow::Result;
use sqlx::PgPool;
use vxguard_store::{applies, locks};
use vyos_tree::{ConfigTree, Schema};

use super::reconcile::{self, ROLLOUT_LOCK};
use crate::definitions::Defs;

/// The difference as lines: `-` what the revision has and the router
/// lacks, `+` what the router runs beyond it; keys redacted. Empty when
/// they match.
pub fn drift_lines(revision: &ConfigTree, running: &ConfigTree, schema: &dyn Schema) -> String {
    if revision == running {
        return String::new();
    }
    crate::redact::redact(&crate::config_diff::line_diff(
        &revision.render_set(schema),
        &running.render_set(schema),
    ))
}

/// The router's running configuration (the VyOS driver reads it), keys
/// replaced by their placeholders.
pub use vxguard_drivers::vyos::read_running;

/// What one round found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Round {
    /// False when a rollout held the lock (nothing checked).
    pub ran: bool,
    pub checked: usize,
    pub drifted: Vec<String>,
    /// Routers that could not be read, with why.
    pub errors: Vec<(String, String)>,
}

/// Checks every router whose last apply succeeded against that revision.
pub async fn round(db: &PgPool, defs: &Defs) -> Result<Round> {
    let mut lock = db.begin().await?;
    if !locks::try_xact_lock(&mut lock, ROLLOUT_LOCK).await? {
        return Ok(Round::default());
    }
    let rows = applies::applied_routers(db).await?;
    let access = reconcile::routers(db).await?;
    let mut out = Round {
        ran: true,
        ..Round::default()
    };
    for (name, revision_id, config) in rows {
        let found = async {
            let a = access.get(&name).ok_or("not in the intent any more")?;
            let schema = defs
                .get(&a.version)
                .ok_or_else(|| format!("no VyOS {} definitions loaded", a.version.as_str()))?;
            let client = a.client()?;
            let mut want = ConfigTree::parse_set(&config, schema)
                .map_err(|e| format!("revision {revision_id} does not parse: {e}"))?;
            // Both sides name keys by placeholder (the running one is read
            // so): a revision stored with a real key compares the same.
            vxguard_compiler::sealed::seal_tree(&mut want, schema, &mut Default::default());
            let running = read_running(&client, schema).await?;
            Ok::<_, String>(drift_lines(&want, &running, schema))
        }
        .await;
        out.checked += 1;
        match found {
            Ok(d) if d.is_empty() => applies::clear_drift(db, &name).await?,
            Ok(d) => {
                applies::store_drift(db, &name, revision_id, &d, None).await?;
                out.drifted.push(name);
            }
            Err(e) => {
                applies::store_drift(db, &name, revision_id, "", Some(&e)).await?;
                out.errors.push((name, e));
            }
        }
    }
    lock.commit().await?;
    if !out.drifted.is_empty() {
        tracing::warn!(routers = ?out.drifted, "drift: routers no longer run their applied revision");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vyos_tree::NoSchema;

    #[test]
    fn drift_lines_name_both_sides_and_hide_keys() {
        let want = ConfigTree::parse_set(
            "set system host-name 'r1'\nset service https api keys id vxguard key 'k1'\n",
            &NoSchema,
        )
        .unwrap();
        assert_eq!(drift_lines(&want, &want.clone(), &NoSchema), "");
        let mut running = want.clone();
        running.delete(&["system".to_string(), "host-name".to_string()]);
        running.set_words(&["system", "host-name", "evil"], &NoSchema);
        let d = drift_lines(&want, &running, &NoSchema);
        let lines: Vec<&str> = d.lines().collect();
        assert_eq!(lines.len(), 2, "{d}");
        assert!(
            lines[0].starts_with("-set system host-name") && lines[0].contains("r1"),
            "{d}"
        );
        assert!(
            lines[1].starts_with("+set system host-name") && lines[1].contains("evil"),
            "{d}"
        );
        assert!(!d.contains("k1"), "{d}");
    }
}
