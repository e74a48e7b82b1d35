//! What was applied where: one `device_applies` row per apply attempt
//! (opened before the driver runs, finished with its outcome), the drift
//! found on applied routers (`device_drift`), and the reads the rollout and
//! the devices' status are decided from. Which revision is due and what a
//! state means are the server's rollout's; the rows are here.

use crate::error::Result;
use crate::locks;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgConnection, PgPool};

/// A device whose latest revision is not its last successfully applied
/// one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DueRow {
    /// `router` or `hypervisor`.
    pub kind: String,
    pub name: String,
    pub revision_id: i64,
    pub seq: i32,
}

/// Devices of the intent whose latest revision is not their last
/// successfully applied one.
pub async fn due(db: &PgPool) -> Result<Vec<DueRow>> {
    let rows: Vec<(String, String, i64, i32)> = sqlx::query_as(
        "SELECT o.kind, o.name, lr.id, lr.seq FROM objects o
         JOIN LATERAL (SELECT id, seq FROM revisions
                       WHERE device_kind = o.kind AND device = o.name ORDER BY seq DESC LIMIT 1) lr ON true
         WHERE o.kind IN ('router', 'hypervisor') AND o.tenant_id IS NULL
           AND lr.id IS DISTINCT FROM (
               SELECT revision_id FROM device_applies a
               WHERE a.device_kind = o.kind AND a.device = o.name AND a.outcome IN ('applied', 'unchanged')
               ORDER BY a.id DESC LIMIT 1)",
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(kind, name, revision_id, seq)| DueRow {
            kind,
            name,
            revision_id,
            seq,
        })
        .collect())
}

/// The revision last applied successfully (`applied` or `unchanged`) to a
/// device.
pub async fn last_applied(db: &PgPool, kind: &str, device: &str) -> Result<Option<i64>> {
    let id: Option<Option<i64>> = sqlx::query_scalar(
        "SELECT revision_id FROM device_applies WHERE device_kind = $1 AND device = $2
         AND outcome IN ('applied', 'unchanged') ORDER BY id DESC LIMIT 1",
    )
    .bind(kind)
    .bind(device)
    .fetch_optional(db)
    .await?;
    Ok(id.flatten())
}

/// Records an apply that could not start (no usable endpoint, no key, no
/// definitions, no valid revision): a finished, `failed` row with why.
pub async fn record_refusal(
    db: &PgPool,
    kind: &str,
    device: &str,
    revision_id: i64,
    error: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO device_applies (device_kind, device, revision_id, finished_at, outcome, error)
         VALUES ($1, $2, $3, now(), 'failed', $4)",
    )
    .bind(kind)
    .bind(device)
    .bind(revision_id)
    .bind(error)
    .execute(db)
    .await?;
    Ok(())
}

/// Takes the device's apply lock (one apply per device across all
/// workers: [`locks::APPLY_VYOS`] for routers, [`locks::APPLY_OVS`] for
/// hypervisors, with the device's name) until the transaction on `conn`
/// ends.
pub async fn lock_device(conn: &mut PgConnection, kind: &str, device: &str) -> Result<()> {
    let class = match kind {
        "hypervisor" => locks::APPLY_OVS,
        _ => locks::APPLY_VYOS,
    };
    Ok(locks::xact_lock_named(conn, class, device).await?)
}

/// Opens the record of an apply about to run; its id.
pub async fn start(db: &PgPool, kind: &str, device: &str, revision_id: i64) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO device_applies (device_kind, device, revision_id) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(kind)
    .bind(device)
    .bind(revision_id)
    .fetch_one(db)
    .await?)
}

/// How an apply ended, as recorded.
pub struct Finished<'a> {
    /// `applied`, `unchanged`, `failed`, …
    pub outcome: &'a str,
    /// The driver's lines, secrets already redacted.
    pub commands: &'a str,
    pub attempts: i32,
    pub answers: Value,
    pub error: Option<String>,
}

/// Finishes the record [`start`] opened.
pub async fn finish(db: &PgPool, id: i64, f: Finished<'_>) -> Result<()> {
    sqlx::query(
        "UPDATE device_applies SET finished_at = now(), outcome = $2, commands = $3, attempts = $4, answers = $5, error = $6 WHERE id = $1",
    )
    .bind(id)
    .bind(f.outcome)
    .bind(f.commands)
    .bind(f.attempts)
    .bind(f.answers)
    .bind(f.error)
    .execute(db)
    .await?;
    Ok(())
}

/// Every router whose last finished apply succeeded, with that revision's
/// id and configuration, by name: what a drift check compares.
pub async fn applied_routers(db: &PgPool) -> Result<Vec<(String, i64, String)>> {
    Ok(sqlx::query_as(
        "SELECT o.name, la.revision_id, r.config FROM objects o
         JOIN LATERAL (SELECT revision_id, outcome FROM device_applies
                       WHERE device_kind = 'router' AND device = o.name AND finished_at IS NOT NULL
                       ORDER BY id DESC LIMIT 1) la ON la.outcome IN ('applied', 'unchanged')
         JOIN revisions r ON r.id = la.revision_id
         WHERE o.kind = 'router' AND o.tenant_id IS NULL ORDER BY o.name",
    )
    .fetch_all(db)
    .await?)
}

/// Forgets a router's drift (it matches its revision again, or a later
/// apply succeeded).
pub async fn clear_drift(db: &PgPool, router: &str) -> Result<()> {
    sqlx::query("DELETE FROM device_drift WHERE device_kind = 'router' AND device = $1")
        .bind(router)
        .execute(db)
        .await?;
    Ok(())
}

/// Records what a drift check of a router found: the difference from
/// `revision_id` (lines), or why it could not be read.
pub async fn store_drift(
    db: &PgPool,
    router: &str,
    revision_id: i64,
    drift: &str,
    error: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO device_drift (device_kind, device, revision_id, checked_at, drift, error)
         VALUES ('router', $1, $2, now(), $3, $4)
         ON CONFLICT (device_kind, device) DO UPDATE
           SET revision_id = EXCLUDED.revision_id, checked_at = EXCLUDED.checked_at,
               drift = EXCLUDED.drift, error = EXCLUDED.error",
    )
    .bind(router)
    .bind(revision_id)
    .bind(drift)
    .bind(error)
    .execute(db)
    .await?;
    Ok(())
}

/// Where one device stands, as recorded.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct DeviceRow {
    /// `router` or `hypervisor`.
    pub kind: String,
    pub name: String,
    /// The latest revision (id, seq); none before the first compile.
    pub latest: Option<i64>,
    pub latest_seq: Option<i32>,
    /// The revision last applied successfully (id, seq).
    pub applied: Option<i64>,
    pub applied_seq: Option<i32>,
    /// The last finished apply: outcome, error, when.
    pub outcome: Option<String>,
    pub apply_error: Option<String>,
    pub last_apply_at: Option<DateTime<Utc>>,
    /// The last drift check's difference, only when it was checked against
    /// the revision last applied; its error and when it ran.
    pub drift: Option<String>,
    pub drift_error: Option<String>,
    pub drift_checked_at: Option<DateTime<Utc>>,
}

/// Every router and hypervisor of the intent, routers first, by name.
pub async fn devices(db: &PgPool) -> Result<Vec<DeviceRow>> {
    Ok(sqlx::query_as(
        "SELECT o.kind, o.name, lr.id AS latest, lr.seq AS latest_seq,
                ok.revision_id AS applied, ar.seq AS applied_seq,
                la.outcome, la.error AS apply_error, la.finished_at AS last_apply_at,
                CASE WHEN d.revision_id = ok.revision_id THEN d.drift END AS drift,
                d.error AS drift_error, d.checked_at AS drift_checked_at
         FROM objects o
         LEFT JOIN LATERAL (SELECT id, seq FROM revisions
                            WHERE device_kind = o.kind AND device = o.name ORDER BY seq DESC LIMIT 1) lr ON true
         LEFT JOIN LATERAL (SELECT revision_id FROM device_applies
                            WHERE device_kind = o.kind AND device = o.name AND outcome IN ('applied', 'unchanged')
                            ORDER BY id DESC LIMIT 1) ok ON true
         LEFT JOIN revisions ar ON ar.id = ok.revision_id
         LEFT JOIN LATERAL (SELECT outcome, error, finished_at FROM device_applies
                            WHERE device_kind = o.kind AND device = o.name AND finished_at IS NOT NULL
                            ORDER BY id DESC LIMIT 1) la ON true
         LEFT JOIN device_drift d ON d.device_kind = o.kind AND d.device = o.name
         WHERE o.kind IN ('router', 'hypervisor') AND o.tenant_id IS NULL
         ORDER BY o.kind = 'hypervisor', o.name",
    )
    .fetch_all(db)
    .await?)
}

/// What the console's device list keeps: every field that is set must hold.
#[derive(Clone, Debug, Default)]
pub struct DeviceFilter {
    /// `router` or `hypervisor`.
    pub kind: Option<String>,
    pub site: Option<String>,
    /// Names containing this (any case).
    pub search: Option<String>,
    /// `applied`, `pending`, `failed` or `drifted` (the rule of the
    /// server's `rollout::status::state`, here in SQL).
    pub state: Option<String>,
    /// After this device (`kind/name`, the list's order).
    pub after: Option<String>,
}

/// One device as the console lists it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ListedDevice {
    pub kind: String,
    pub name: String,
    pub site: Option<String>,
    pub latest_seq: Option<i32>,
    /// The job whose compile stored the latest revision.
    pub latest_job: Option<i64>,
    pub applied_seq: Option<i32>,
    pub state: String,
    /// The last failed apply's error, or why drift could not be checked.
    pub error: Option<String>,
    pub drift_lines: i64,
}

/// Every router and hypervisor, by kind then name, as `f` filters it (in
/// SQL: the state is worked out per row as [`devices`]' callers do), at
/// most `limit`.
pub async fn listed(db: &PgPool, f: &DeviceFilter, limit: i64) -> Result<Vec<ListedDevice>> {
    Ok(sqlx::query_as(
        "WITH d AS (
           SELECT o.kind, o.name, o.spec->>'site' AS site, lr.seq AS latest_seq, lr.job_id AS latest_job,
                  ar.seq AS applied_seq,
                  CASE WHEN la.outcome IS NOT NULL AND la.outcome NOT IN ('applied', 'unchanged') THEN 'failed'
                       WHEN lr.id IS NOT NULL AND lr.id = ok.revision_id THEN
                            CASE WHEN d.revision_id = ok.revision_id AND coalesce(d.drift, '') <> '' THEN 'drifted'
                                 ELSE 'applied' END
                       ELSE 'pending' END AS state,
                  CASE WHEN la.outcome IS NOT NULL AND la.outcome NOT IN ('applied', 'unchanged') THEN la.error
                       ELSE d.error END AS error,
                  CASE WHEN d.revision_id = ok.revision_id AND coalesce(d.drift, '') <> ''
                       THEN array_length(string_to_array(d.drift, E'\\n'), 1) ELSE 0 END::bigint AS drift_lines
           FROM objects o
           LEFT JOIN LATERAL (SELECT id, seq, job_id FROM revisions
                              WHERE device_kind = o.kind AND device = o.name ORDER BY seq DESC LIMIT 1) lr ON true
           LEFT JOIN LATERAL (SELECT revision_id FROM device_applies
                              WHERE device_kind = o.kind AND device = o.name AND outcome IN ('applied', 'unchanged')
                              ORDER BY id DESC LIMIT 1) ok ON true
           LEFT JOIN revisions ar ON ar.id = ok.revision_id
           LEFT JOIN LATERAL (SELECT outcome, error FROM device_applies
                              WHERE device_kind = o.kind AND device = o.name AND finished_at IS NOT NULL
                              ORDER BY id DESC LIMIT 1) la ON true
           LEFT JOIN device_drift d ON d.device_kind = o.kind AND d.device = o.name
           WHERE o.kind IN ('router', 'hypervisor') AND o.tenant_id IS NULL
             AND ($1::text IS NULL OR o.kind = $1)
             AND ($2::text IS NULL OR o.spec->>'site' = $2)
             AND ($3::text IS NULL OR o.name ILIKE $3)
             AND ($5::text IS NULL OR o.kind || '/' || o.name > $5))
         SELECT * FROM d WHERE ($4::text IS NULL OR state = $4)
         ORDER BY kind || '/' || name LIMIT $6",
    )
    .bind(f.kind.as_deref())
    .bind(f.site.as_deref())
    .bind(f.search.as_deref().map(crate::audit::contains_pattern))
    .bind(f.state.as_deref())
    .bind(f.after.as_deref())
    .bind(limit)
    .fetch_all(db)
    .await?)
}
