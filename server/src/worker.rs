//! The worker: claims jobs, compiles the whole intent from the database with
//! the stored allocation, and stores one revision per device whose
//! configuration changed (with the diff from the previous revision).
//! Compiles are serialised by an advisory lock so revision numbers never
//! fork; any number of workers may run against one database.
//!
//! One tenant's failure stays that tenant's: when a compile fails only in
//! some tenants, they are compiled as they last compiled and the others'
//! changes go ahead (`compile_without_failing_tenants`); a job shows its
//! own tenant's errors and warnings alone (`scoped`), and what only
//! operators may read goes to `operator_errors`.
//!
//! With `apply` set (`--apply`), a job is done only once its revisions are
//! on the devices: after the compile transaction commits, the apply phase
//! (`driver::reconcile`) rolls out whatever is due, and a failed device
//! sends the job back to the queue (`jobs::retry_later`) naming it. The
//! claim's lease is extended while devices are applied. The same workers
//! check applied routers for drift every `drift_every`.

use crate::jobs::{self, Claimed};
use crate::store::intent as store_intent;
use crate::store::intent::Loaded;
use anyhow::{Context, Result};
use serde_json::json;
use serde_json::Value;
use sqlx::postgres::PgListener;
use sqlx::{PgConnection, PgPool};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;
use vxguard_compiler::alloc::Allocation;
use vxguard_compiler::compile;
use vxguard_compiler::diag::{Diagnostic, Severity};
use vxguard_compiler::hypervisor_config::HypervisorConfig;
use vxguard_compiler::intent::Intent;
use vxguard_compiler::model::Secrets;
use vxguard_compiler::Output;
use vyos_tree::{ConfigTree, NoSchema, Schema};

pub const COMPILE_LOCK: i64 = 0x7867_636f_6d70_696c; // "xgcompil"

pub type Defs = crate::definitions::Defs;

#[derive(Clone)]
pub struct Worker {
    pub db: PgPool,
    pub name: String,
    pub defs: Defs,
    /// Apply revisions to devices (`--apply`); `None`: compile only.
    pub apply: Option<Arc<crate::driver::reconcile::Settings>>,
}

impl Worker {
    /// Runs until the process ends: drains runnable jobs, then waits for a
    /// notification (or polls every second, for leases and backoff).
    pub async fn run(self) -> Result<()> {
        let mut listener = PgListener::connect_with(&self.db).await?;
        listener.listen(jobs::CHANNEL).await?;
        let mut last_drift = std::time::Instant::now();
        loop {
            if let Err(e) = self.drain().await {
                tracing::warn!(error = %e, "claiming a job failed");
            }
            if let Some(every) = self.apply.as_ref().and_then(|a| a.drift_every) {
                if last_drift.elapsed() >= every {
                    last_drift = std::time::Instant::now();
                    if let Err(e) = crate::driver::drift::round(&self.db, &self.defs).await {
                        tracing::warn!(error = format!("{e:#}"), "drift check failed");
                    }
                }
            }
            let _ = tokio::time::timeout(Duration::from_secs(1), listener.recv()).await;
        }
    }

    /// Processes jobs until none is runnable; returns how many it took.
    pub async fn drain(&self) -> Result<usize> {
        let mut n = 0;
        while let Some(c) = jobs::claim(&self.db, &self.name).await? {
            self.process(c).await;
            n += 1;
        }
        Ok(n)
    }

    async fn process(&self, c: Claimed) {
        tracing::info!(job = c.id, attempt = c.attempts, worker = %self.name, "job claimed");
        let r = match self.compile_job(&c).await {
            Ok(Some(compiled)) => self.apply_job(&c, compiled).await,
            Ok(None) => Ok(()),
            Err(e) => Err(e),
        };
        if let Err(e) = r {
            let why = format!("{e:#}");
            tracing::warn!(job = c.id, error = %why, "job failed; will retry");
            let tenant_safe = format!(
                "the change could not be put on the devices yet (attempt {} of {}); the platform's operators can see why",
                c.attempts,
                jobs::MAX_ATTEMPTS
            );
            if let Err(e) = jobs::retry_later(&self.db, &c, &self.name, &why, &tenant_safe).await {
                tracing::warn!(job = c.id, error = %e, "could not reschedule job");
            }
        }
    }

    /// Compiles and stores revisions. Without `apply` the job is finished
    /// here; with it, the compile's result is kept on the job and returned
    /// for the apply phase (`Some`). `None` also when the compile failed
    /// (the job is finished as failed).
    async fn compile_job(&self, c: &Claimed) -> Result<Option<Compiled>> {
        let mut tx = self.db.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(COMPILE_LOCK)
            .execute(&mut *tx)
            .await?;
        let loaded = store_intent::load(&mut tx).await?;
        let prev = store_intent::allocation_for_update(&mut tx).await?;
        let secrets = store_intent::reconcile_secrets(&mut tx, &loaded.intent).await?;
        let first = self
            .compile_blocking(loaded.intent.clone(), prev.clone(), secrets.clone())
            .await?;
        let (compiled, out, held_back) = match first {
            Ok(out) => (loaded, out, BTreeMap::new()),
            Err(diags) => match self
                .compile_without_failing_tenants(&mut tx, &loaded, &diags, prev, secrets)
                .await?
            {
                Some(x) => x,
                None => {
                    // Not one tenant's doing (or its last good spec fails
                    // too): the job fails, telling its tenant only its own.
                    let errors = scoped(&diags, &loaded, c.tenant_id, Severity::Error);
                    let errors = match (c.tenant_id, errors.is_empty()) {
                        (Some(_), true) => {
                            json!([{"message": "the platform's configuration does not compile; its operators can see why"}])
                        }
                        _ => Value::Array(errors),
                    };
                    jobs::set_operator_errors(&mut tx, c.id, &serde_json::to_value(&diags)?)
                        .await?;
                    if !jobs::finish(&mut tx, c, &self.name, "failed", Some(errors), None).await? {
                        anyhow::bail!("lost the claim on job {}", c.id);
                    }
                    tx.commit().await?;
                    return Ok(None);
                }
            },
        };
        let good: Vec<(uuid::Uuid, &vxguard_compiler::intent::Tenant)> = compiled
            .tenant_ids
            .iter()
            .copied()
            .zip(&compiled.intent.tenants)
            .filter(|(id, _)| !held_back.contains_key(id))
            .collect();
        store_intent::record_compiled(&mut tx, &good).await?;
        drop(good);
        store_intent::store_allocation(&mut tx, &out.allocation).await?;
        let mut changed_routers = Vec::new();
        let mut refused_in_place = Vec::new();
        for (name, r) in &out.routers {
            let last = latest(&mut tx, "router", name).await?;
            let Some((seq, diff, refusals)) = self.router_change(last, r) else {
                continue;
            };
            for x in refusals {
                refused_in_place.push(format!("router {name}: VyOS would refuse the commit: {x}"));
            }
            insert_revision(&mut tx, "router", name, seq, &r.set, &diff, c.id).await?;
            changed_routers.push(name.clone());
        }
        if !refused_in_place.is_empty() {
            // What a router cannot change in place fails the job whole:
            // nothing of this compile is stored.
            drop(tx);
            let mut tx = self.db.begin().await?;
            let errors = json!([{"message": "a router cannot make this change in place; the platform's operators can see why"}]);
            let operator = json!(refused_in_place
                .iter()
                .map(|m| json!({"message": m}))
                .collect::<Vec<_>>());
            let shown = if c.tenant_id.is_some() {
                errors
            } else {
                operator.clone()
            };
            jobs::set_operator_errors(&mut tx, c.id, &operator).await?;
            if !jobs::finish(&mut tx, c, &self.name, "failed", Some(shown), None).await? {
                anyhow::bail!("lost the claim on job {}", c.id);
            }
            tx.commit().await?;
            return Ok(None);
        }
        let mut changed_hvs = Vec::new();
        for (name, h) in &out.hypervisors {
            let text = ovs_text(h);
            let (seq, diff) = match latest(&mut tx, "hypervisor", name).await? {
                Some((_, old)) if old == text => continue,
                Some((seq, old)) => (seq + 1, crate::config_diff::line_diff(&old, &text)),
                None => (1, crate::config_diff::line_diff("", &text)),
            };
            insert_revision(&mut tx, "hypervisor", name, seq, &text, &diff, c.id).await?;
            changed_hvs.push(name.clone());
        }
        let result = json!({
            "routers": changed_routers,
            "hypervisors": changed_hvs,
            "warnings": scoped(&out.warnings, &compiled, c.tenant_id, Severity::Warning),
            "tenant_mtu": out.tenant_mtu,
        });
        // The job's own tenant held back: its change is refused with its
        // own errors; the other tenants' changes went ahead.
        let refused = c
            .tenant_id
            .and_then(|t| held_back.get(&t))
            .map(|e| Value::Array(e.clone()));
        if !held_back.is_empty() {
            let all: Vec<&Value> = held_back.values().flatten().collect();
            jobs::set_operator_errors(&mut tx, c.id, &serde_json::to_value(&all)?).await?;
            tracing::warn!(
                job = c.id,
                tenants = held_back.len(),
                "tenants whose change does not compile kept their last good configuration"
            );
        }
        let compiled_job = Compiled { result, refused };
        if self.apply.is_some() {
            if !jobs::keep_result(&mut tx, c, &compiled_job.result).await? {
                anyhow::bail!("lost the claim on job {}", c.id);
            }
            tx.commit().await?;
            tracing::info!(
                job = c.id,
                routers = changed_routers.len(),
                hypervisors = changed_hvs.len(),
                "job compiled; applying"
            );
            return Ok(Some(compiled_job));
        }
        let (status, errors) = match compiled_job.refused {
            Some(e) => ("failed", Some(e)),
            None => ("done", None),
        };
        if !jobs::finish(
            &mut tx,
            c,
            &self.name,
            status,
            errors,
            Some(compiled_job.result),
        )
        .await?
        {
            anyhow::bail!("lost the claim on job {}", c.id);
        }
        tx.commit().await?;
        tracing::info!(
            job = c.id,
            routers = changed_routers.len(),
            hypervisors = changed_hvs.len(),
            "job done"
        );
        Ok(None)
    }

    /// The apply phase of a compiled job: roll out what is due, then finish
    /// the job (done, with what was applied) or fail it for a retry.
    async fn apply_job(&self, c: &Claimed, compiled: Compiled) -> Result<()> {
        let Compiled {
            mut result,
            refused,
        } = compiled;
        let settings = self.apply.clone().expect("apply phase without settings");
        let heartbeat = {
            let (db, id, claim) = (self.db.clone(), c.id, c.claim);
            tokio::spawn(async move {
                let every = Duration::from_secs_f64((jobs::lease_secs() / 3.0).max(0.2));
                loop {
                    tokio::time::sleep(every).await;
                    match jobs::extend_lease(&db, id, claim).await {
                        Ok(true) => {}
                        Ok(false) => break,
                        Err(e) => {
                            tracing::warn!(job = id, error = %e, "extending the lease failed")
                        }
                    }
                }
            })
        };
        let started = std::time::Instant::now();
        let summary = crate::driver::reconcile::run(&self.db, &self.defs, &settings).await;
        heartbeat.abort();
        let summary = summary?;
        {
            let mut conn = self.db.acquire().await?;
            for d in &summary.applied {
                jobs::event(
                    &mut conn,
                    c.id,
                    &self.name,
                    &format!("applied {} {} #{}", d.kind.as_str(), d.name, d.seq),
                )
                .await?;
            }
            for (d, _) in &summary.failed {
                jobs::event(
                    &mut conn,
                    c.id,
                    &self.name,
                    &format!("apply failed {} {} #{}", d.kind.as_str(), d.name, d.seq),
                )
                .await?;
            }
        }
        tracing::info!(
            job = c.id,
            applied = summary.applied.len(),
            failed = summary.failed.len(),
            untouched = summary.untouched.len(),
            ms = started.elapsed().as_millis() as u64,
            "rollout finished"
        );
        if let Some(why) = summary.error() {
            anyhow::bail!("apply failed: {why}");
        }
        let names = |v: &[crate::driver::rollout::Due]| -> serde_json::Value {
            v.iter()
                .map(|d| json!({"kind": d.kind.as_str(), "name": d.name, "seq": d.seq}))
                .collect()
        };
        result["applied"] = names(&summary.applied);
        result["pending"] = names(&summary.waiting);
        let mut tx = self.db.begin().await?;
        let status = if refused.is_some() { "failed" } else { "done" };
        if !jobs::finish(&mut tx, c, &self.name, status, refused, Some(result)).await? {
            anyhow::bail!("lost the claim on job {}", c.id);
        }
        tx.commit().await?;
        tracing::info!(job = c.id, status, "job finished (applied)");
        Ok(())
    }
}

/// A compiled job on its way to the devices.
struct Compiled {
    /// What changed: devices, warnings (the job's tenant's own), MTU.
    result: Value,
    /// The job's tenant's errors when its change was held back (the job
    /// fails with them once the others' changes are applied).
    refused: Option<Value>,
}

impl Worker {
    async fn compile_blocking(
        &self,
        intent: Intent,
        prev: Allocation,
        secrets: Secrets,
    ) -> Result<Result<Output, Vec<Diagnostic>>> {
        let defs = self.defs.clone();
        tokio::task::spawn_blocking(move || {
            compile(&intent, &prev, &secrets, &crate::definitions::set(&defs))
        })
        .await
        .context("compiler panicked")
    }

    /// When every error of a compile lies in some tenants, compiles again
    /// with each of those tenants as it last compiled (or without it, if
    /// it never did): the devices keep its last good configuration and
    /// the other tenants' changes go ahead. Gives the intent compiled, its
    /// output, and each held-back tenant's errors as that tenant may read
    /// them; `None` when some error is the platform's or the second
    /// compile fails too.
    async fn compile_without_failing_tenants(
        &self,
        conn: &mut PgConnection,
        loaded: &Loaded,
        diags: &[Diagnostic],
        prev: Allocation,
        secrets: Secrets,
    ) -> Result<Option<(Loaded, Output, BTreeMap<Uuid, Vec<Value>>)>> {
        let mut failing = BTreeSet::new();
        for x in diags.iter().filter(|x| x.is_error()) {
            match tenant_index(&x.pointer.0).filter(|i| *i < loaded.tenant_ids.len()) {
                Some(i) => failing.insert(i),
                None => return Ok(None),
            };
        }
        if failing.is_empty() {
            return Ok(None);
        }
        let ids: Vec<Uuid> = failing.iter().map(|&i| loaded.tenant_ids[i]).collect();
        let good = store_intent::last_compiled(conn, &ids).await?;
        let mut next = Loaded {
            intent: Intent {
                platform: loaded.intent.platform.clone(),
                tenants: Vec::with_capacity(loaded.intent.tenants.len()),
            },
            tenant_ids: Vec::with_capacity(loaded.tenant_ids.len()),
        };
        let mut held_back = BTreeMap::new();
        for (i, (t, id)) in loaded
            .intent
            .tenants
            .iter()
            .zip(&loaded.tenant_ids)
            .enumerate()
        {
            if failing.contains(&i) {
                held_back.insert(*id, scoped(diags, loaded, Some(*id), Severity::Error));
                match good.get(id) {
                    Some(g) => next.intent.tenants.push(g.clone()),
                    // Never compiled here: nothing of it to keep, unless it
                    // is on the devices from before last good specs were
                    // kept (then leaving it out would remove it: give up).
                    None => {
                        let chain = vxguard_compiler::vyos::chain_name(t.slug.as_str());
                        if store_intent::on_routers(conn, &format!(" {chain} ")).await? {
                            return Ok(None);
                        }
                        continue;
                    }
                }
            } else {
                next.intent.tenants.push(t.clone());
            }
            next.tenant_ids.push(*id);
        }
        match self
            .compile_blocking(next.intent.clone(), prev, secrets)
            .await?
        {
            Ok(out) => Ok(Some((next, out, held_back))),
            Err(_) => Ok(None),
        }
    }
}

/// `/tenants/3/...` → 3.
fn tenant_index(pointer: &str) -> Option<usize> {
    pointer
        .strip_prefix("/tenants/")?
        .split('/')
        .next()?
        .parse()
        .ok()
}

/// The diagnostics of one severity a job's viewers may read: for a
/// tenant's job, that tenant's alone; for a platform job, all. Each names
/// its object by path (`tenants/acme/policy/rules/60/description`), not
/// by an index that changes as tenants come and go.
fn scoped(
    diags: &[Diagnostic],
    loaded: &Loaded,
    tenant: Option<Uuid>,
    sev: Severity,
) -> Vec<Value> {
    let mine = tenant.map(|t| loaded.tenant_index(t));
    diags
        .iter()
        .filter(|x| x.severity == sev)
        .filter(|x| match mine {
            None => true,
            Some(None) => false,
            Some(Some(i)) => tenant_index(&x.pointer.0) == Some(i),
        })
        .map(|x| {
            json!({
                "object": crate::store::change::describe(&loaded.intent, &x.pointer.0),
                "message": x.message,
            })
        })
        .collect()
}

/// One hypervisor's configuration as one revision text: flows, groups,
/// meters and WireGuard, each under a header line (the format is the
/// compiler's [`HypervisorConfig`], which the OVS driver parses back).
pub fn ovs_text(h: &vxguard_compiler::ovs::OvsConfig) -> String {
    HypervisorConfig::from(h).render_text()
}

/// The latest revision of a device: its number and configuration.
async fn latest(
    conn: &mut PgConnection,
    kind: &str,
    device: &str,
) -> Result<Option<(i32, String)>> {
    Ok(sqlx::query_as(
        "SELECT seq, config FROM revisions WHERE device_kind = $1 AND device = $2 ORDER BY seq DESC LIMIT 1",
    )
    .bind(kind)
    .bind(device)
    .fetch_optional(&mut *conn)
    .await?)
}

async fn insert_revision(
    conn: &mut PgConnection,
    kind: &str,
    device: &str,
    seq: i32,
    config: &str,
    diff: &str,
    job: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO revisions (device_kind, device, seq, job_id, config, diff) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(kind)
    .bind(device)
    .bind(seq)
    .bind(job)
    .bind(config)
    .bind(diff)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl Worker {
    /// The next revision number and the diff, when the router's
    /// configuration changed, with what VyOS would refuse to change in
    /// place (`vyos_defs::transition_check` against the last revision).
    fn router_change(
        &self,
        last: Option<(i32, String)>,
        r: &vxguard_compiler::RouterOutput,
    ) -> Option<(i32, String, Vec<vyos_defs::CommitError>)> {
        let schema: &dyn Schema = match self.defs.get(&r.version) {
            Some(d) => d,
            None => &NoSchema,
        };
        match last {
            Some((_, old)) if old == r.set => None,
            Some((seq, old)) => {
                let (diff, refused) = router_diff(&old, &r.set, schema);
                Some((seq + 1, diff, refused))
            }
            None => {
                let (diff, refused) = router_diff("", &r.set, schema);
                Some((1, diff, refused))
            }
        }
    }
}

/// The VyOS commands that turn the previous configuration into the new
/// one, and what of it VyOS would refuse to do in place.
fn router_diff(
    old_set: &str,
    new_set: &str,
    schema: &dyn Schema,
) -> (String, Vec<vyos_defs::CommitError>) {
    let old = ConfigTree::parse_set(old_set, schema).unwrap_or_default();
    let new = ConfigTree::parse_set(new_set, schema).unwrap_or_default();
    let mut s = String::new();
    for c in vyos_tree::diff(&old, &new, schema) {
        s.push_str(&c.to_cli(schema));
        s.push('\n');
    }
    (s, vyos_defs::transition_check(&old, &new))
}
