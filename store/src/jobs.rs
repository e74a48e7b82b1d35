//! Jobs: written in the same transaction as the change that causes them,
//! claimed by workers with `FOR UPDATE SKIP LOCKED` under a lease, so a
//! worker that dies mid-job leaves it to be claimed again once the lease
//! expires. A job finishes only while its claim is still the current one,
//! so a job is never finished twice.

use crate::error::Result;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::postgres::PgListener;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

pub const CHANNEL: &str = "vxguard_jobs";
/// Notified (payload: the job id) whenever a job is queued or changes
/// state; live pages follow it ([`follow_changes`]).
pub const CHANGES: &str = "vxguard_job_changes";

static LEASE_SECS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();

/// Sets [`lease_secs`] for this process (`--job-lease-secs`, at start).
pub fn set_lease_secs(secs: f64) {
    let _ = LEASE_SECS.set(secs);
}

/// How long a claim lasts before another worker may take the job over
/// (default 30 s; tests shorten it).
pub fn lease_secs() -> f64 {
    LEASE_SECS.get().copied().unwrap_or(30.0)
}
pub const MAX_ATTEMPTS: i32 = 5;

/// A job as stored (the API describes its own copy of this shape).
#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct Job {
    pub id: i64,
    pub tenant_id: Option<Uuid>,
    pub reason: String,
    /// `queued`, `running`, `done` or `failed`.
    pub status: String,
    pub attempts: i32,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The compiler's errors when the job failed.
    pub errors: Option<Value>,
    /// Devices whose configuration changed.
    pub result: Option<Value>,
}

const JOB_COLS: &str = "id, tenant_id, reason, status, attempts, created_by, created_at, started_at, finished_at, errors, result";

pub async fn enqueue(
    conn: &mut PgConnection,
    tenant: Option<Uuid>,
    reason: &str,
    by: &str,
) -> Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO jobs (tenant_id, reason, created_by) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(tenant)
    .bind(reason)
    .bind(by)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query("SELECT pg_notify($1, $3), pg_notify($2, $3)")
        .bind(CHANNEL)
        .bind(CHANGES)
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(id)
}

/// A claimed job: `claim` proves the lease when finishing.
#[derive(Clone, Debug)]
pub struct Claimed {
    pub id: i64,
    pub claim: Uuid,
    pub attempts: i32,
    /// The tenant whose change the job carries (`None`: the platform's).
    pub tenant_id: Option<Uuid>,
}

/// Claims a runnable job (queued and due, or running with an expired
/// lease: its worker died), taking tenants in turn: a job's turn is its
/// place among its tenant's pending (queued or running) jobs, and lower
/// turns go first, oldest first among equals.
/// So one tenant's backlog delays another tenant's job by at most one
/// job per tenant, however many it queued.
pub async fn claim(db: &PgPool, worker: &str) -> Result<Option<Claimed>> {
    let mut tx = db.begin().await?;
    let row: Option<(i64, i32, Option<Uuid>)> = sqlx::query_as(
        "WITH pending AS (
             SELECT id, status, run_after, locked_until,
                    row_number() OVER (PARTITION BY tenant_id ORDER BY id) AS turn
             FROM jobs WHERE status IN ('queued', 'running'))
         SELECT j.id, j.attempts, j.tenant_id FROM jobs j JOIN pending p ON p.id = j.id
         WHERE ((p.status = 'queued' AND p.run_after <= now())
             OR (p.status = 'running' AND p.locked_until < now()))
           -- Again on the row itself: when another worker claimed (and even
           -- finished) it since this statement's snapshot, the lock waits
           -- for that commit and PostgreSQL re-checks these against the
           -- row's latest version (the CTE's copy is not re-read).
           AND ((j.status = 'queued' AND j.run_after <= now())
             OR (j.status = 'running' AND j.locked_until < now()))
         ORDER BY p.turn, j.id FOR UPDATE OF j SKIP LOCKED LIMIT 1",
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some((id, attempts, tenant_id)) = row else {
        return Ok(None);
    };
    let claim = Uuid::new_v4();
    sqlx::query(
        "UPDATE jobs SET status = 'running', claim = $2, attempts = attempts + 1,
             locked_until = now() + make_interval(secs => $3), started_at = coalesce(started_at, now())
         WHERE id = $1",
    )
    .bind(id)
    .bind(claim)
    .bind(lease_secs())
    .execute(&mut *tx)
    .await?;
    event(&mut tx, id, worker, "claimed").await?;
    tx.commit().await?;
    Ok(Some(Claimed {
        id,
        claim,
        attempts: attempts + 1,
        tenant_id,
    }))
}

pub async fn event(conn: &mut PgConnection, job: i64, worker: &str, what: &str) -> Result<()> {
    sqlx::query(
        "WITH e AS (INSERT INTO job_events (job_id, worker, event) VALUES ($1, $2, $3))
         SELECT pg_notify($4, $1::text)",
    )
    .bind(job)
    .bind(worker)
    .bind(what)
    .bind(CHANGES)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Marks the job finished inside the transaction that stored its results;
/// false when the claim was lost (the caller must roll back).
pub async fn finish(
    conn: &mut PgConnection,
    c: &Claimed,
    worker: &str,
    status: &str,
    errors: Option<Value>,
    result: Option<Value>,
) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE jobs SET status = $3, errors = $4, result = $5, finished_at = clock_timestamp(), locked_until = NULL
         WHERE id = $1 AND claim = $2 AND status = 'running'",
    )
    .bind(c.id)
    .bind(c.claim)
    .bind(status)
    .bind(errors)
    .bind(result)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if n == 1 {
        event(conn, c.id, worker, status).await?;
    }
    Ok(n == 1)
}

/// Keeps what went wrong in the operators' words on a job (see
/// [`retry_later`]); never shown to tenants.
pub async fn set_operator_errors(conn: &mut PgConnection, id: i64, errors: &Value) -> Result<()> {
    sqlx::query("UPDATE jobs SET operator_errors = $2 WHERE id = $1")
        .bind(id)
        .bind(errors)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Keeps the compile's result on a job that stays running (its devices
/// are applied next); false when the claim was lost.
pub async fn keep_result(conn: &mut PgConnection, c: &Claimed, result: &Value) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE jobs SET result = $3 WHERE id = $1 AND claim = $2 AND status = 'running'",
    )
    .bind(c.id)
    .bind(c.claim)
    .bind(result)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Locks the tenants' queued jobs that a compile starting now will carry
/// out too (see [`take_carried`]): due, not the claimed job itself, and of
/// a tenant with no job running (its jobs stay in order). Called before
/// the compile reads the intent, so every change these jobs were queued
/// for is in what it reads (a job is queued in its change's transaction).
/// The locks are the transaction's: another worker's [`claim`] skips these
/// jobs until it ends, and nothing changes if it does not take them.
pub async fn lock_carried(conn: &mut PgConnection, claimed: i64, limit: i64) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT j.id FROM jobs j
         WHERE j.status = 'queued' AND j.run_after <= now() AND j.tenant_id IS NOT NULL
           AND j.id <> $1
           AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.tenant_id = j.tenant_id
                           AND r.status = 'running' AND r.id <> $1)
         ORDER BY j.id LIMIT $2 FOR UPDATE OF j SKIP LOCKED",
    )
    .bind(claimed)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?)
}

/// Claims the jobs [`lock_carried`] locked, for `by` (the job whose
/// compile carried them out): each is then finished as a claimed job is.
pub async fn take_carried(
    conn: &mut PgConnection,
    ids: &[i64],
    worker: &str,
    by: i64,
) -> Result<Vec<Claimed>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(i64, Uuid, i32, Option<Uuid>)> = sqlx::query_as(
        "UPDATE jobs SET status = 'running', claim = gen_random_uuid(), attempts = attempts + 1,
             locked_until = now() + make_interval(secs => $2), started_at = coalesce(started_at, now())
         WHERE id = ANY($1) AND status = 'queued'
         RETURNING id, claim, attempts, tenant_id",
    )
    .bind(ids)
    .bind(lease_secs())
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for (id, claim, attempts, tenant_id) in rows {
        event(conn, id, worker, &format!("claimed with job {by}")).await?;
        out.push(Claimed {
            id,
            claim,
            attempts,
            tenant_id,
        });
    }
    out.sort_by_key(|c| c.id);
    Ok(out)
}

/// Pushes the lease of a claimed job forward (a long apply phase); false
/// when the claim is no longer the current one.
pub async fn extend_lease(db: &PgPool, id: i64, claim: Uuid) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE jobs SET locked_until = now() + make_interval(secs => $3)
         WHERE id = $1 AND claim = $2 AND status = 'running'",
    )
    .bind(id)
    .bind(claim)
    .bind(lease_secs())
    .execute(db)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// After an unexpected error (database gone, a bug): retry with backoff, or
/// give up after `MAX_ATTEMPTS`.
///
/// `why` may hold device answers and other tenants' commands: it is kept
/// for operators (`operator_errors`), and a tenant's job shows only that
/// applying failed and where.
pub async fn retry_later(
    db: &PgPool,
    c: &Claimed,
    worker: &str,
    why: &str,
    tenant_safe: &str,
) -> Result<()> {
    let mut tx = db.begin().await?;
    let give_up = c.attempts >= MAX_ATTEMPTS;
    let backoff = 2f64.powi(c.attempts.min(8));
    let n = sqlx::query(
        "UPDATE jobs SET status = CASE WHEN $3 THEN 'failed' ELSE 'queued' END,
             run_after = now() + make_interval(secs => $4), locked_until = NULL,
             errors = jsonb_build_array(jsonb_build_object('message',
                 CASE WHEN tenant_id IS NULL THEN $5::text ELSE $6::text END)),
             operator_errors = jsonb_build_array(jsonb_build_object('message', $5::text)),
             finished_at = CASE WHEN $3 THEN clock_timestamp() END
         WHERE id = $1 AND claim = $2 AND status = 'running'",
    )
    .bind(c.id)
    .bind(c.claim)
    .bind(give_up)
    .bind(backoff)
    .bind(why)
    .bind(tenant_safe)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if n == 1 {
        event(
            &mut tx,
            c.id,
            worker,
            if give_up { "failed" } else { "retry" },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Jobs, newest first: one tenant's when `tenant` is given, those before
/// id `before` when given, at most `limit`.
pub async fn list(
    db: &PgPool,
    tenant: Option<Uuid>,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Job>> {
    let f = Filter {
        tenant,
        before,
        ..Filter::default()
    };
    filtered(db, &f, limit).await
}

/// What a list of jobs keeps: every field that is set must hold.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// One tenant's jobs.
    pub tenant: Option<Uuid>,
    /// Only the platform's own jobs (no tenant's).
    pub platform: bool,
    /// `queued`, `running`, `done` or `failed`.
    pub status: Option<String>,
    /// The kind of object the change is about (`network`, `rule`,
    /// `client`, ...): the reason's action starts with it.
    pub kind: Option<String>,
    /// Jobs whose reason or author contain this (any case).
    pub search: Option<String>,
    /// Queued at or after.
    pub since: Option<DateTime<Utc>>,
    /// Queued before.
    pub until: Option<DateTime<Utc>>,
    /// Jobs older than this one (the cursor).
    pub before: Option<i64>,
}

/// Jobs, newest first, as `f` filters them (in SQL), at most `limit`.
pub async fn filtered(db: &PgPool, f: &Filter, limit: i64) -> Result<Vec<Job>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {JOB_COLS} FROM jobs
         WHERE ($1::uuid IS NULL OR tenant_id = $1) AND ($2::bigint IS NULL OR id < $2)
           AND (NOT $3 OR tenant_id IS NULL)
           AND ($4::text IS NULL OR status = $4)
           AND ($5::text IS NULL OR reason LIKE $5 || '.%' OR reason LIKE $5 || ' %')
           AND ($6::text IS NULL OR reason ILIKE $6 OR created_by ILIKE $6)
           AND ($7::timestamptz IS NULL OR created_at >= $7)
           AND ($8::timestamptz IS NULL OR created_at < $8)
         ORDER BY id DESC LIMIT $9"
    ))
    .bind(f.tenant)
    .bind(f.before)
    .bind(f.platform)
    .bind(f.status.as_deref())
    .bind(f.kind.as_deref())
    .bind(f.search.as_deref().map(crate::audit::contains_pattern))
    .bind(f.since)
    .bind(f.until)
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// A tenant's objects whose latest change failed and has not been carried
/// out since: for each object a failed job names (its reason's second
/// word, `tenants/acme/networks/web`), the newest such job, when no job
/// of the tenant finished `done` after it (a done job compiled and applied
/// the tenant whole, this change included). Newest first, at most `limit`.
pub async fn failing_objects(db: &PgPool, tenant: Uuid, limit: i64) -> Result<Vec<(String, Job)>> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "WITH done AS (SELECT coalesce(max(id), 0) AS id FROM jobs
                       WHERE tenant_id = $1 AND status = 'done'),
              latest AS (
                  SELECT DISTINCT ON (object) split_part(reason, ' ', 2) AS object, id, status
                  FROM jobs WHERE tenant_id = $1 AND id > (SELECT id FROM done)
                  ORDER BY split_part(reason, ' ', 2), id DESC)
         SELECT object, id FROM latest WHERE status = 'failed' AND object <> ''
         ORDER BY id DESC LIMIT $2",
    )
    .bind(tenant)
    .bind(limit)
    .fetch_all(db)
    .await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.1).collect();
    let jobs: Vec<Job> = sqlx::query_as(&format!("SELECT {JOB_COLS} FROM jobs WHERE id = ANY($1)"))
        .bind(&ids)
        .fetch_all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(o, id)| jobs.iter().find(|j| j.id == id).map(|j| (o, j.clone())))
        .collect())
}

/// Why a job may not be retried, or `None` when it may: it failed, it is
/// its tenant's latest job (a later one carries its change as well), and
/// its errors do not name the tenant's own objects (that configuration
/// would fail again until corrected, and saving it queues a job anyway).
pub fn retry_refusal(job: &Job, newer: Option<i64>) -> Option<String> {
    if job.status != "failed" {
        return Some(format!("job #{} has not failed", job.id));
    }
    if let Some(n) = newer {
        return Some(format!(
            "job #{n} came after it and carries its change as well"
        ));
    }
    let own = job
        .errors
        .as_ref()
        .and_then(Value::as_array)
        .is_some_and(|e| e.iter().any(|e| e.get("object").is_some()));
    own.then(|| {
        "its errors name your configuration: correct what they name and save again".to_string()
    })
}

/// The newest job of `job`'s tenant (or of the platform's own) after it.
pub async fn newer(db: impl sqlx::PgExecutor<'_>, job: &Job) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT max(id) FROM jobs WHERE tenant_id IS NOT DISTINCT FROM $1 AND id > $2",
    )
    .bind(job.tenant_id)
    .bind(job.id)
    .fetch_one(db)
    .await?)
}

/// What [`retry`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Retried {
    /// The new job's id.
    Queued(i64),
    NotFound,
    /// Why it may not be retried ([`retry_refusal`]).
    Refused(String),
}

/// The reason of a retry of a job with `reason`: the same change (so its
/// kind and object read as before) and which job it retries.
pub fn retry_reason(reason: &str, id: i64) -> String {
    let base = match reason.find(" (retry of job #") {
        Some(i) if reason.ends_with(')') => &reason[..i],
        _ => reason,
    };
    format!("{base} (retry of job #{id})")
}

/// Queues job `id`'s change again, as a new job of the same tenant, when
/// [`retry_refusal`] allows it; audited (`job.retry`, naming both jobs) in
/// the same transaction, under the tenant's write lock (so two retries, or
/// a retry and a change, queue one after the other and the second sees the
/// first's job).
pub async fn retry(db: &PgPool, who: &impl crate::audit::Actor, id: i64) -> Result<Retried> {
    let mut tx = db.begin().await?;
    let tenant: Option<Option<Uuid>> =
        sqlx::query_scalar("SELECT tenant_id FROM jobs WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    let Some(tenant) = tenant else {
        return Ok(Retried::NotFound);
    };
    match tenant {
        Some(t) => {
            crate::locks::xact_lock_shared(&mut tx, crate::locks::WRITE).await?;
            crate::locks::xact_lock_named(&mut tx, crate::locks::TENANT_WRITE, &t.to_string())
                .await?;
        }
        None => crate::locks::xact_lock(&mut tx, crate::locks::WRITE).await?,
    }
    let job: Job = sqlx::query_as(&format!("SELECT {JOB_COLS} FROM jobs WHERE id = $1"))
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    let later = newer(&mut *tx, &job).await?;
    if let Some(why) = retry_refusal(&job, later) {
        return Ok(Retried::Refused(why));
    }
    let new = enqueue(
        &mut tx,
        tenant,
        &retry_reason(&job.reason, id),
        who.subject(),
    )
    .await?;
    crate::audit::append(
        &mut tx,
        crate::audit::Entry::by(
            who,
            tenant,
            "job.retry",
            &format!("jobs/{id}"),
            Some(serde_json::json!({"job": id, "status": job.status, "reason": job.reason})),
            Some(serde_json::json!({"job": new})),
        )
        .queued(new),
    )
    .await?;
    tx.commit().await?;
    Ok(Retried::Queued(new))
}

/// How many jobs are queued or running.
pub async fn unfinished(db: &PgPool) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM jobs WHERE status IN ('queued', 'running')")
            .fetch_one(db)
            .await?,
    )
}

/// One job by id.
pub async fn get(db: &PgPool, id: i64) -> Result<Option<Job>> {
    Ok(
        sqlx::query_as(&format!("SELECT {JOB_COLS} FROM jobs WHERE id = $1"))
            .bind(id)
            .fetch_optional(db)
            .await?,
    )
}

/// Listens on [`CHANGES`] and calls `changed` once on connecting (anything
/// may have changed while nobody listened) and once per notification.
/// Returns only when the connection fails; the caller reconnects.
pub async fn follow_changes(db: &PgPool, mut changed: impl FnMut()) -> Result<()> {
    let mut l = PgListener::connect_with(db).await?;
    l.listen(CHANGES).await?;
    changed();
    loop {
        l.recv().await?;
        changed();
    }
}

/// One device a job changed, as recorded: the revision the job's compile
/// stored for it and what became of that revision (or a later one, which
/// carries the change too) since.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct DeviceProgress {
    /// `router` or `hypervisor`.
    pub kind: String,
    pub name: String,
    /// The revision's `seq`; none when no revision of the job is found.
    pub seq: Option<i32>,
    /// When a revision at or after `seq` was first applied successfully.
    pub applied_at: Option<DateTime<Utc>>,
    /// The latest finished attempt at a revision at or after `seq`.
    pub outcome: Option<String>,
    pub error: Option<String>,
    pub attempted_at: Option<DateTime<Utc>>,
    /// An attempt at such a revision started after that one and is open.
    pub applying: bool,
}

/// Where the devices a job changed (`(kind, name)`, in that order) stand.
/// A job carried out by another job's compile (its event `claimed with job
/// N`) has its revisions stored under that job.
pub async fn devices(
    db: &PgPool,
    job: i64,
    devices: &[(String, String)],
) -> Result<Vec<DeviceProgress>> {
    let (kinds, names): (Vec<&str>, Vec<&str>) = devices
        .iter()
        .map(|(k, n)| (k.as_str(), n.as_str()))
        .unzip();
    Ok(sqlx::query_as(
        "WITH d AS (SELECT * FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS d(kind, name, ord)),
              compiled_by AS (
                  SELECT $1::bigint AS id
                  UNION SELECT substring(event FROM '^claimed with job ([0-9]+)$')::bigint
                        FROM job_events WHERE job_id = $1 AND event LIKE 'claimed with job %')
         SELECT d.kind, d.name, r.seq, ok.finished_at AS applied_at,
                la.outcome, la.error, la.finished_at AS attempted_at,
                EXISTS (SELECT 1 FROM device_applies a JOIN revisions ar ON ar.id = a.revision_id
                        WHERE a.device_kind = d.kind AND a.device = d.name AND a.finished_at IS NULL
                          AND ar.seq >= r.seq AND a.id > coalesce(la.id, 0)) AS applying
         FROM d
         LEFT JOIN LATERAL (SELECT seq FROM revisions
                            WHERE device_kind = d.kind AND device = d.name
                              AND job_id IN (SELECT id FROM compiled_by)
                            ORDER BY seq DESC LIMIT 1) r ON true
         LEFT JOIN LATERAL (SELECT a.finished_at FROM device_applies a JOIN revisions ar ON ar.id = a.revision_id
                            WHERE a.device_kind = d.kind AND a.device = d.name AND ar.seq >= r.seq
                              AND a.outcome IN ('applied', 'unchanged')
                            ORDER BY a.id LIMIT 1) ok ON true
         LEFT JOIN LATERAL (SELECT a.id, a.outcome, a.error, a.finished_at
                            FROM device_applies a JOIN revisions ar ON ar.id = a.revision_id
                            WHERE a.device_kind = d.kind AND a.device = d.name AND ar.seq >= r.seq
                              AND a.finished_at IS NOT NULL
                            ORDER BY a.id DESC LIMIT 1) la ON true
         ORDER BY d.ord",
    )
    .bind(job)
    .bind(kinds)
    .bind(names)
    .fetch_all(db)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(status: &str, errors: Option<Value>) -> Job {
        Job {
            id: 7,
            tenant_id: None,
            reason: "network.create tenants/acme/networks/web".into(),
            status: status.into(),
            attempts: 5,
            created_by: "user:a@example.com".into(),
            created_at: Utc::now(),
            started_at: None,
            finished_at: None,
            errors,
            result: None,
        }
    }

    #[test]
    fn only_a_failed_latest_job_not_failing_on_its_own_objects_is_retried() {
        let apply = serde_json::json!([{"message": "apply failed: router vyos-dc1-01"}]);
        assert_eq!(
            retry_refusal(&job("failed", Some(apply.clone())), None),
            None
        );
        assert_eq!(retry_refusal(&job("failed", None), None), None);
        let r = retry_refusal(&job("done", None), None).unwrap();
        assert!(r.contains("has not failed"), "{r}");
        let r = retry_refusal(&job("failed", Some(apply)), Some(9)).unwrap();
        assert!(r.contains("#9"), "{r}");
        let own = serde_json::json!([{"object": "networks/web", "message": "overlaps"}]);
        let r = retry_refusal(&job("failed", Some(own)), None).unwrap();
        assert!(r.contains("your configuration"), "{r}");
    }

    #[test]
    fn a_retry_keeps_the_change_and_names_the_job_once() {
        let r = retry_reason("network.create tenants/acme/networks/web", 7);
        assert_eq!(
            r,
            "network.create tenants/acme/networks/web (retry of job #7)"
        );
        assert_eq!(
            retry_reason(&r, 9),
            "network.create tenants/acme/networks/web (retry of job #9)"
        );
    }
}
