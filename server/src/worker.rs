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
use vxguard_compiler::intent::Intent;
use vxguard_compiler::model::Secrets;
use vxguard_compiler::{router_diff, Output, Touched};
use vxguard_store::intent as store_intent;
use vxguard_store::intent::Loaded;
use vxguard_store::jobs::{self, Claimed};
use vxguard_store::revisions;
use vyos_tree::{NoSchema, Schema};

pub type Defs = crate::definitions::Defs;

#[derive(Clone)]
pub struct Worker {
    pub db: PgPool,
    pub name: String,
    pub defs: Defs,
    /// Apply revisions to devices (`--apply`); `None`: compile only.
    pub apply: Option<Arc<crate::driver::reconcile::Settings>>,
    /// The compile engine between jobs (`None` until the first job, and
    /// after any job that did not commit).
    engine: Arc<tokio::sync::Mutex<Option<EngineState>>>,
    /// How many devices' revisions a job stores per query
    /// ([`STORE_CHUNK`] unless a test asks for fewer).
    store_chunk: usize,
}

impl Worker {
    pub fn new(
        db: PgPool,
        name: impl Into<String>,
        defs: Defs,
        apply: Option<Arc<crate::driver::reconcile::Settings>>,
    ) -> Worker {
        Worker {
            db,
            name: name.into(),
            defs,
            apply,
            engine: Default::default(),
            store_chunk: STORE_CHUNK,
        }
    }

    /// The same worker storing at most `n` devices' revisions per query
    /// (at least one): tests use a few so that a small platform's jobs
    /// store in several chunks, as the benchmark platform's do.
    pub fn storing_per_query(mut self, n: usize) -> Worker {
        self.store_chunk = n.max(1);
        self
    }
}

impl Worker {
    /// Runs until the process ends: drains runnable jobs, then waits for a
    /// notification (or polls every second, for leases and backoff).
    pub async fn run(self) -> Result<()> {
        let mut listener = PgListener::connect_with(&self.db).await?;
        listener.listen(jobs::CHANNEL).await?;
        let mut last_drift = std::time::Instant::now();
        let mut last_keys = std::time::Instant::now();
        loop {
            if let Err(e) = self.drain().await {
                tracing::warn!(error = %e, "claiming a job failed");
            }
            // A rotation whose check failed (a router unreachable then) is
            // asked again, without waiting for another job.
            if let Some(a) = self
                .apply
                .as_ref()
                .filter(|_| last_keys.elapsed() >= Duration::from_secs(10))
            {
                last_keys = std::time::Instant::now();
                if let Some(every) = a.api_key_every {
                    if let Err(e) = crate::rollout::api_keys::schedule(&self.db, every).await {
                        tracing::warn!(
                            error = format!("{e:#}"),
                            "API key rotation: the schedule failed"
                        );
                    }
                }
                if let Err(e) = crate::rollout::api_keys::advance(&self.db).await {
                    tracing::warn!(error = format!("{e:#}"), "API key rotation: a step failed");
                }
                if let Err(e) = crate::rollout::mesh_keys::schedule(&self.db).await {
                    tracing::warn!(
                        error = format!("{e:#}"),
                        "mesh key rotation: the schedule failed"
                    );
                }
                if let Err(e) = crate::rollout::mesh_keys::release_clients(&self.db).await {
                    tracing::warn!(
                        error = format!("{e:#}"),
                        "client key rotation: the release failed"
                    );
                }
                // Clients past their expiry are removed (their deletes
                // queue jobs like any other change).
                if let Err(e) = self.expire_clients().await {
                    tracing::warn!(
                        error = format!("{e:#}"),
                        "client expiry: the removal failed"
                    );
                }
                // A step waiting for its grace period (or for handshakes)
                // is checked again without waiting for another job.
                if let Err(e) = crate::rollout::mesh::advance(&self.db, a.hypervisors).await {
                    tracing::warn!(error = format!("{e:#}"), "mesh change: a step failed");
                }
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

    /// Removes the tenants' clients whose expiry has passed, through the
    /// write path, audited `client.expired` by the worker; returns them.
    /// The applying worker runs it every 10 s.
    pub async fn expire_clients(&self) -> Result<Vec<vxguard_store::write::Expired>> {
        let store =
            vxguard_store::Store::judging_with(self.db.clone(), self.defs.clone(), Arc::default());
        let gone = store.expire_clients(&crate::rollout::WorkerActor).await?;
        for c in &gone {
            tracing::info!(tenant = %c.tenant, client = %c.name, job = c.job, "client expired: removed");
        }
        Ok(gone)
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
        // The lease is extended while the job runs: a cold compile at the
        // benchmark platform's size (or a slow rollout) outlasts it, and
        // another worker must not take a job that is still being worked.
        let leases: Arc<Leases> = Arc::new(std::sync::Mutex::new(vec![c.clone()]));
        let heartbeat = {
            let (db, leases) = (self.db.clone(), leases.clone());
            tokio::spawn(async move {
                let every = Duration::from_secs_f64((jobs::lease_secs() / 3.0).max(0.2));
                loop {
                    tokio::time::sleep(every).await;
                    let claims = leases.lock().expect("leases").clone();
                    for (i, k) in claims.iter().enumerate() {
                        match jobs::extend_lease(&db, k.id, k.claim).await {
                            Ok(true) => {}
                            Ok(false) if i == 0 => return,
                            Ok(false) => {}
                            Err(e) => {
                                tracing::warn!(job = k.id, error = %e, "extending the lease failed")
                            }
                        }
                    }
                }
            })
        };
        let r = match self.compile_job(&c, &leases).await {
            Ok(Some(compiled)) => self.apply_job(&c, compiled).await,
            Ok(None) => Ok(()),
            Err(e) => Err(e),
        };
        heartbeat.abort();
        if let Err(e) = r {
            let why = format!("{e:#}");
            // The jobs this one's compile carried share its fate.
            let claims = leases.lock().expect("leases").clone();
            for k in &claims {
                tracing::warn!(job = k.id, error = %why, "job failed; will retry");
                let tenant_safe = format!(
                    "the change could not be put on the devices yet (attempt {} of {}); the platform's operators can see why",
                    k.attempts,
                    jobs::MAX_ATTEMPTS
                );
                if let Err(e) = jobs::retry_later(&self.db, k, &self.name, &why, &tenant_safe).await
                {
                    tracing::warn!(job = k.id, error = %e, "could not reschedule job");
                }
            }
        }
    }

    /// Compiles and stores revisions. Without `apply` the job is finished
    /// here; with it, the compile's result is kept on the job and returned
    /// for the apply phase (`Some`). `None` also when the compile failed
    /// (the job is finished as failed).
    ///
    /// The engine is taken out for the job and put back only once the
    /// job's revisions are committed: any failure in between leaves none,
    /// and the next job starts from the database.
    async fn compile_job(&self, c: &Claimed, leases: &Leases) -> Result<Option<Compiled>> {
        let started = std::time::Instant::now();
        let mut tx = self.db.begin().await?;
        vxguard_store::locks::compile(&mut tx).await?;
        // Other tenants' queued jobs, carried out by this compile (it
        // reads their changes): a busy platform's jobs are compiled in
        // batches rather than one compile each.
        let carry = jobs::lock_carried(&mut tx, c.id, MAX_CARRIED).await?;
        let revs = store_intent::revs(&mut tx).await?;
        let kept = self.engine.lock().await.take();
        let locked = started.elapsed();
        let step = match kept {
            Some(st) if st.platform_rev == revs.platform => {
                self.compile_changed(&mut tx, st, &revs, c).await?
            }
            _ => match self.compile_all(&mut tx, &revs, c).await? {
                Some(step) => step,
                None => {
                    tx.commit().await?;
                    return Ok(None);
                }
            },
        };
        let Step {
            mut state,
            touched,
            held_back,
            recorded,
            allocation_changed,
        } = step;
        let compiled_at = started.elapsed();
        let out = state.engine.output();
        let view = state.view();
        // The digests of what this job stores (or finds stored), to put in
        // the engine's memo once the job is committed.
        let mut digests: Vec<(String, String)> = Vec::new();
        {
            let intent = state.engine.intent();
            let good: Vec<(Uuid, &vxguard_compiler::intent::Tenant)> = recorded
                .iter()
                .filter_map(|id| {
                    let i = view.index(*id)?;
                    Some((*id, &intent.tenants[i]))
                })
                .collect();
            store_intent::record_compiled(&mut tx, &good).await?;
        }
        match &allocation_changed {
            AllocWrite::All => store_intent::store_allocation(&mut tx, &out.allocation).await?,
            AllocWrite::Tenants(ids) => {
                let rows: Vec<(Uuid, &vxguard_compiler::alloc::TenantAlloc)> = ids
                    .iter()
                    .filter_map(|id| {
                        let slug = state.slug_of(*id)?;
                        Some((*id, out.allocation.tenants.get(slug)?))
                    })
                    .collect();
                store_intent::store_tenant_allocations(&mut tx, &rows).await?;
            }
        }
        let mut changed_routers = Vec::new();
        let mut refused_in_place = Vec::new();
        // Every touched router's digest, then (per chunk) their stored
        // heads in one query and their rows in one insert: a job touching
        // tens of devices makes a few round trips, not a few per device.
        let routers: Vec<(&String, &vxguard_compiler::RouterOutput, String)> = out
            .routers
            .iter()
            .filter(|(name, _)| touched.as_ref().is_none_or(|t| t.routers.contains(name)))
            .map(|(name, r)| (name, r, revisions::digest(&r.set)))
            .collect();
        // In chunks of [`STORE_CHUNK`] devices: a cold compile's revisions
        // (whole configurations of up to a megabyte, and their diffs) are
        // never all in memory and in one query at once; a tenant's job
        // (a few routers) still makes one pass.
        for chunk in routers.chunks(self.store_chunk) {
            let names: Vec<&str> = chunk.iter().map(|(n, _, _)| n.as_str()).collect();
            let mut heads = revisions::heads(&mut tx, "router", &names).await?;
            // Each changed router: (name, output, digest, seq, diff, the text
            // before, where it was spliced), stored together below.
            let mut pending = Vec::new();
            for (name, r, digest) in chunk {
                let key = memo_key("router", name);
                let before = touched
                    .as_ref()
                    .and_then(|t| t.before_routers.get(*name))
                    .map(|b| (b.as_str(), state.digests.get(&key).map(String::as_str)));
                let head = heads.remove(name.as_str());
                let last = last_if_changed(&mut tx, "router", name, digest, before, head).await?;
                let Some(last) = last else {
                    digests.push((key, digest.clone()));
                    continue;
                };
                // The splice's ranges hold only between the engine's text
                // before the job and now: when that is what is stored.
                let spliced = match &last {
                    Some(l) if l.is_before => touched.as_ref().and_then(|t| t.spliced.get(*name)),
                    _ => None,
                };
                let Some((seq, diff, refusals)) =
                    self.router_change(last.as_ref().map(|l| (l.seq, &*l.config)), r, spliced)
                else {
                    digests.push((key, digest.clone()));
                    continue;
                };
                for x in refusals {
                    refused_in_place
                        .push(format!("router {name}: VyOS would refuse the commit: {x}"));
                }
                digests.push((key, digest.clone()));
                changed_routers.push((*name).clone());
                pending.push((*name, *r, digest, seq, diff, last, spliced));
            }
            if !refused_in_place.is_empty() {
                break;
            }
            {
                // Where the stored text is the engine's before the job, the
                // splices say where it changed: only those pieces are diffed
                // for the edit script.
                let rows: Vec<revisions::NewRevision> = pending
                    .iter()
                    .map(
                        |(name, r, digest, seq, diff, last, spliced)| revisions::NewRevision {
                            device: name.as_str(),
                            seq: *seq,
                            config: &r.set,
                            digest,
                            previous: last.as_ref().map(|l| {
                                (
                                    &*l.config,
                                    spliced.map(|s| (s.before.as_slice(), s.after.as_slice())),
                                )
                            }),
                            diff,
                        },
                    )
                    .collect();
                revisions::insert_all(&mut tx, "router", c.id, &rows).await?;
            }
        }
        if !refused_in_place.is_empty() {
            // What a router cannot change in place fails the job whole:
            // nothing of this compile is stored (and the engine, which
            // holds it, is dropped).
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
        let hvs: Vec<(&String, &vxguard_compiler::ovs::OvsConfig)> = out
            .hypervisors
            .iter()
            .filter(|(name, _)| {
                touched
                    .as_ref()
                    .is_none_or(|t| t.hypervisors.contains(name))
            })
            .collect();
        for chunk in hvs.chunks(self.store_chunk) {
            // Rendered chunk by chunk, like the routers' rows.
            let chunk: Vec<(&String, String, String)> = chunk
                .iter()
                .map(|(name, h)| {
                    let text = ovs_text(h);
                    let digest = revisions::digest(&text);
                    (*name, text, digest)
                })
                .collect();
            let names: Vec<&str> = chunk.iter().map(|(n, _, _)| n.as_str()).collect();
            let mut heads = revisions::heads(&mut tx, "hypervisor", &names).await?;
            let mut pending = Vec::new();
            for (name, text, digest) in &chunk {
                let key = memo_key("hypervisor", name);
                // The text before the job, rebuilt from the lines the
                // compile replaced, and where the two differ.
                let (mut before_text, spliced) = match touched
                    .as_ref()
                    .and_then(|t| t.before_hypervisors.get(*name))
                    .map(|b| b.text(text))
                {
                    Some((t, s)) => (Some(t), s),
                    None => (None, None),
                };
                let before = before_text
                    .as_deref()
                    .map(|b| (b, state.digests.get(&key).map(String::as_str)));
                let head = heads.remove(name.as_str());
                let Some(last) =
                    last_if_changed(&mut tx, "hypervisor", name, digest, before, head).await?
                else {
                    digests.push((key, digest.clone()));
                    continue;
                };
                // Owned, for the rows stored together below: the text read
                // back, or the engine's text before the job rendered above.
                let last = match last {
                    None => None,
                    Some(l) => {
                        let (seq, is_before) = (l.seq, l.is_before);
                        let config = match l.config {
                            std::borrow::Cow::Owned(s) => s,
                            std::borrow::Cow::Borrowed(_) => {
                                before_text.take().expect("borrowed from it").into_owned()
                            }
                        };
                        Some((seq, config, is_before))
                    }
                };
                // The splice's ranges hold only between the engine's text
                // before the job and now: when that is what is stored.
                let spliced = match &last {
                    Some((_, _, true)) => spliced,
                    _ => None,
                };
                let (seq, diff) = match (&last, &spliced) {
                    (Some((seq, config, _)), Some(s)) => (
                        seq + 1,
                        crate::config_diff::render(&crate::config_diff::changes_spliced(
                            config, text, s,
                        )),
                    ),
                    (Some((seq, config, _)), None) => {
                        (seq + 1, crate::config_diff::line_diff(config, text))
                    }
                    (None, _) => (1, crate::config_diff::line_diff("", text)),
                };
                digests.push((key, digest.clone()));
                changed_hvs.push((*name).clone());
                pending.push((*name, text, digest, seq, diff, last, spliced));
            }
            let rows: Vec<revisions::NewRevision> = pending
                .iter()
                .map(
                    |(name, text, digest, seq, diff, last, spliced)| revisions::NewRevision {
                        device: name.as_str(),
                        seq: *seq,
                        config: text,
                        digest,
                        previous: last.as_ref().map(|(_, config, _)| {
                            (
                                config.as_str(),
                                spliced
                                    .as_ref()
                                    .map(|s| (s.before.as_slice(), s.after.as_slice())),
                            )
                        }),
                        diff,
                    },
                )
                .collect();
            revisions::insert_all(&mut tx, "hypervisor", c.id, &rows).await?;
        }
        // Each job's result: the devices this compile changed, and its own
        // tenant's warnings; a job whose tenant was held back is refused
        // with its tenant's own errors (the other tenants' changes went
        // ahead).
        let compiled_for = |tenant: Option<Uuid>| Compiled {
            result: json!({
                "routers": changed_routers,
                "hypervisors": changed_hvs,
                "warnings": scoped(&out.warnings, &view, tenant, Severity::Warning),
                "tenant_mtu": out.tenant_mtu,
            }),
            refused: tenant
                .and_then(|t| held_back.get(&t))
                .map(|e| Value::Array(e.clone())),
            carried: Vec::new(),
        };
        if !held_back.is_empty() {
            let all: Vec<&Value> = held_back.values().flatten().collect();
            jobs::set_operator_errors(&mut tx, c.id, &serde_json::to_value(&all)?).await?;
            tracing::warn!(
                job = c.id,
                tenants = held_back.len(),
                "tenants whose change does not compile kept their last good configuration"
            );
        }
        let stored_at = started.elapsed();
        let carried = jobs::take_carried(&mut tx, &carry, &self.name, c.id).await?;
        let mut compiled_job = compiled_for(c.tenant_id);
        compiled_job.carried = carried
            .into_iter()
            .map(|k| {
                let own = compiled_for(k.tenant_id);
                (k, own)
            })
            .collect();
        drop(view);
        let everyone = std::iter::once((c, &compiled_job))
            .chain(compiled_job.carried.iter().map(|(k, own)| (k, own)));
        for (job, own) in everyone {
            let claimed = match (&self.apply, &own.refused) {
                (Some(_), _) => jobs::keep_result(&mut tx, job, &own.result).await?,
                (None, refused) => {
                    let status = if refused.is_some() { "failed" } else { "done" };
                    jobs::finish(
                        &mut tx,
                        job,
                        &self.name,
                        status,
                        refused.clone(),
                        Some(own.result.clone()),
                    )
                    .await?
                }
            };
            if !claimed {
                anyhow::bail!("lost the claim on job {}", job.id);
            }
        }
        tx.commit().await?;
        leases
            .lock()
            .expect("leases")
            .extend(compiled_job.carried.iter().map(|(k, _)| k.clone()));
        state.digests.extend(digests);
        *self.engine.lock().await = Some(state);
        tracing::info!(
            job = c.id,
            carried = compiled_job.carried.len(),
            routers = changed_routers.len(),
            hypervisors = changed_hvs.len(),
            incremental = touched.is_some(),
            // Where the job's time went (ms): waiting for the compile lock
            // and reading revisions, the engine (loading the changed
            // tenants and recompiling them), storing revisions, and the
            // jobs' results with the commit.
            lock_ms = locked.as_millis() as u64,
            engine_ms = (compiled_at - locked).as_millis() as u64,
            store_ms = (stored_at - compiled_at).as_millis() as u64,
            finish_ms = (started.elapsed() - stored_at).as_millis() as u64,
            "job compiled"
        );
        Ok(self.apply.is_some().then_some(compiled_job))
    }

    /// The whole intent from the database, compiled in full (a cold start,
    /// a platform change). `None` when the job failed (and is finished).
    async fn compile_all(
        &self,
        tx: &mut PgConnection,
        revs: &store_intent::Revs,
        c: &Claimed,
    ) -> Result<Option<Step>> {
        let loaded = store_intent::load(tx).await?;
        let mut prev = store_intent::allocation_for_update(tx).await?;
        // Placeholders, not keys: revisions never hold a secret (issue 17,
        // item 8; `vxguard_compiler::sealed`), the drivers fill them in.
        let secrets = vxguard_compiler::sealed::placeholder_secrets(
            &store_intent::reconcile_secrets(tx, &loaded.intent).await?,
        );
        // A change of the mesh is staged: the slot carrying traffic is
        // held, the standby takes it (`rollout::mesh` takes the next steps).
        prev.mesh = vxguard_compiler::plan_mesh(&loaded.intent, &prev, &secrets);
        let first = self
            .compile_blocking(loaded.intent.clone(), prev.clone(), secrets.clone())
            .await?;
        let (compiled, out, held_back) = match first {
            Ok(out) => (loaded, out, BTreeMap::new()),
            Err(diags) => match self
                .compile_without_failing_tenants(tx, &loaded, &diags, prev, secrets.clone())
                .await?
            {
                Some(x) => x,
                None => {
                    // Not one tenant's doing (or its last good spec fails
                    // too): the job fails, telling its tenant only its own.
                    let view = View::of(&loaded.intent, &loaded.tenant_ids);
                    let errors = scoped(&diags, &view, c.tenant_id, Severity::Error);
                    let errors = match (c.tenant_id, errors.is_empty()) {
                        (Some(_), true) => {
                            json!([{"message": "the platform's configuration does not compile; its operators can see why"}])
                        }
                        _ => Value::Array(errors),
                    };
                    jobs::set_operator_errors(tx, c.id, &serde_json::to_value(&diags)?).await?;
                    if !jobs::finish(tx, c, &self.name, "failed", Some(errors), None).await? {
                        anyhow::bail!("lost the claim on job {}", c.id);
                    }
                    return Ok(None);
                }
            },
        };
        let recorded: Vec<Uuid> = compiled
            .tenant_ids
            .iter()
            .copied()
            .filter(|id| !held_back.contains_key(id))
            .collect();
        let ids = compiled
            .intent
            .tenants
            .iter()
            .zip(&compiled.tenant_ids)
            .map(|(t, id)| (t.slug.to_string(), *id))
            .collect();
        let state = EngineState {
            engine: vxguard_compiler::engine::Engine::from_compiled(compiled.intent, out)
                .keeping_trees_in(crate::definitions::platform_trees()),
            secrets,
            ids,
            revs: revs.tenants.iter().map(|(id, _, r)| (*id, *r)).collect(),
            platform_rev: revs.platform,
            held: held_back.clone(),
            digests: Default::default(),
        };
        Ok(Some(Step {
            state,
            touched: None,
            held_back,
            recorded,
            allocation_changed: AllocWrite::All,
        }))
    }

    /// Only the tenants whose intent changed since the engine last saw
    /// them: each is reloaded and recompiled where it is; one that does
    /// not compile keeps its last good configuration.
    async fn compile_changed(
        &self,
        tx: &mut PgConnection,
        mut st: EngineState,
        revs: &store_intent::Revs,
        c: &Claimed,
    ) -> Result<Step> {
        use vxguard_compiler::engine::Change;
        let now: BTreeMap<Uuid, (&str, i64)> = revs
            .tenants
            .iter()
            .map(|(id, slug, r)| (*id, (slug.as_str(), *r)))
            .collect();
        let gone: Vec<(String, Uuid)> = st
            .ids
            .iter()
            .filter(|(_, id)| !now.contains_key(id))
            .map(|(s, id)| (s.clone(), *id))
            .collect();
        let dirty: Vec<Uuid> = revs
            .tenants
            .iter()
            .filter(|(id, _, r)| st.revs.get(id) != Some(r))
            .map(|(id, _, _)| *id)
            .collect();
        let loading = std::time::Instant::now();
        let fresh = store_intent::load_tenants(tx, &dirty).await?;
        // The numbers the tenants' writes took (each allocated its own).
        let mut seeds = store_intent::tenant_allocations(tx, &dirty).await?;
        let mut touched = Touched::default();
        let mut recorded = Vec::new();
        let before: BTreeMap<Uuid, Option<vxguard_compiler::alloc::TenantAlloc>> = dirty
            .iter()
            .chain(gone.iter().map(|(_, id)| id))
            .map(|id| {
                let slug = st.slug_of(*id);
                let a = slug.and_then(|s| st.engine.output().allocation.tenants.get(s).cloned());
                (*id, a)
            })
            .collect();
        let mut changes: Vec<(Uuid, Change, Option<vxguard_compiler::alloc::TenantAlloc>)> =
            Vec::new();
        for (slug, id) in gone {
            changes.push((id, Change::Remove(slug), None));
        }
        for (id, t) in fresh {
            // A renamed tenant: out under its old slug, in under its new.
            if let Some(old) = st.slug_of(id).filter(|s| *s != t.slug.as_str()) {
                changes.push((id, Change::Remove(old.to_string()), None));
            }
            changes.push((id, Change::Upsert(t), seeds.remove(&id)));
        }
        let loaded = loading.elapsed();
        let defs = self.defs.clone();
        let secrets = st.secrets.clone();
        // The engine runs on a thread of its own (a change takes
        // milliseconds to tens of milliseconds at the benchmark platform's
        // size), below request serving ([`in_background`]).
        let (st_back, outcomes) = in_background(move || {
            let set = crate::definitions::set(&defs);
            let mut outcomes = Vec::with_capacity(changes.len());
            for (id, ch, seed) in changes {
                let slug = ch.slug().to_string();
                let upsert = matches!(ch, Change::Upsert(_));
                let r = st.engine.apply_allocated(ch, seed, &secrets, &set);
                if r.is_ok() {
                    if upsert {
                        st.ids.insert(slug.clone(), id);
                    } else if st.ids.get(&slug) == Some(&id) {
                        st.ids.remove(&slug);
                    }
                }
                outcomes.push((id, r));
            }
            (st, outcomes)
        })
        .await
        .context("compile engine")?;
        st = st_back;
        for (id, r) in outcomes {
            match r {
                Ok(t) => {
                    // A router several changes of the job touched is
                    // diffed from the pieces of all of them while each was
                    // spliced in, else whole.
                    touched.absorb(t);
                    if now.contains_key(&id) {
                        recorded.push(id);
                    }
                    st.held.remove(&id);
                }
                Err(rejected) => {
                    let errors = rejected_errors(&st, &rejected);
                    st.held.insert(id, errors);
                }
            }
        }
        for id in &dirty {
            st.revs.insert(*id, now[id].1);
        }
        st.revs.retain(|id, _| now.contains_key(id));
        st.held.retain(|id, _| now.contains_key(id));
        let held_back = st.held.clone();
        let allocation_changed = AllocWrite::Tenants(
            before
                .iter()
                .filter(|(id, a)| {
                    let slug = st.slug_of(**id);
                    slug.and_then(|s| st.engine.output().allocation.tenants.get(s)) != a.as_ref()
                })
                .map(|(id, _)| *id)
                .collect(),
        );
        touched.routers.sort();
        touched.routers.dedup();
        touched.hypervisors.sort();
        touched.hypervisors.dedup();
        tracing::debug!(
            job = c.id,
            tenants = dirty.len(),
            routers = touched.routers.len(),
            hypervisors = touched.hypervisors.len(),
            load_ms = loaded.as_millis() as u64,
            engine_ms = (loading.elapsed() - loaded).as_millis() as u64,
            "recompiled the changed tenants"
        );
        Ok(Step {
            state: st,
            touched: Some(touched),
            held_back,
            recorded,
            allocation_changed,
        })
    }

    /// The apply phase of a compiled job: roll out what is due, then finish
    /// the job (done, with what was applied) or fail it for a retry.
    async fn apply_job(&self, c: &Claimed, compiled: Compiled) -> Result<()> {
        let Compiled {
            mut result,
            refused,
            carried,
        } = compiled;
        let settings = self.apply.clone().expect("apply phase without settings");
        let started = std::time::Instant::now();
        let summary = crate::driver::reconcile::run(&self.db, &self.defs, &settings).await;
        let summary = summary?;
        // A router API key rotation's next step may hang on what was just
        // applied (the step queues its own job).
        if let Err(e) = crate::rollout::api_keys::advance(&self.db).await {
            tracing::warn!(error = format!("{e:#}"), "API key rotation: a step failed");
        }
        // So may a mesh change's (switched once the standby slot is up,
        // released once the switch is applied; each step queues its job).
        if let Err(e) = crate::rollout::mesh::advance(&self.db, settings.hypervisors).await {
            tracing::warn!(error = format!("{e:#}"), "mesh change: a step failed");
        }
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
        let (applied, pending) = (names(&summary.applied), names(&summary.waiting));
        result["applied"] = applied.clone();
        result["pending"] = pending.clone();
        let mut tx = self.db.begin().await?;
        let everyone = std::iter::once((c.clone(), result, refused)).chain(
            carried.into_iter().map(|(k, own)| {
                let mut r = own.result;
                r["applied"] = applied.clone();
                r["pending"] = pending.clone();
                (k, r, own.refused)
            }),
        );
        for (job, result, refused) in everyone {
            let status = if refused.is_some() { "failed" } else { "done" };
            if !jobs::finish(&mut tx, &job, &self.name, status, refused, Some(result)).await? {
                anyhow::bail!("lost the claim on job {}", job.id);
            }
            tracing::info!(job = job.id, status, "job finished (applied)");
        }
        tx.commit().await?;
        Ok(())
    }
}

/// The worker's compile engine and what it was built from: kept between
/// jobs so that a job recompiles only the tenants that changed.
pub(crate) struct EngineState {
    engine: vxguard_compiler::engine::Engine,
    secrets: Secrets,
    /// Tenant ids by slug, for the tenants in the engine.
    ids: BTreeMap<String, Uuid>,
    /// The intent revision each tenant was last compiled (or held back) at.
    revs: std::collections::HashMap<Uuid, i64>,
    platform_rev: i64,
    /// Tenants held back at their last good configuration, with the errors
    /// each may read: every job tells them (a tenant's own job fails with
    /// them) until the tenant compiles again.
    held: BTreeMap<Uuid, Vec<Value>>,
    /// The digest of each device's text in the engine's output, by
    /// [`memo_key`], where a job has stored or checked it: a large
    /// router's text is not hashed again to compare it with the database.
    digests: std::collections::HashMap<String, String>,
}

impl EngineState {
    fn slug_of(&self, id: Uuid) -> Option<&str> {
        self.ids
            .iter()
            .find(|(_, x)| **x == id)
            .map(|(s, _)| s.as_str())
    }

    fn view(&self) -> View<'_> {
        let intent = self.engine.intent();
        let ids = intent
            .tenants
            .iter()
            .map(|t| self.ids.get(t.slug.as_str()).copied().unwrap_or_default())
            .collect();
        View { intent, ids }
    }
}

/// An intent with its tenants' ids, index for index: what diagnostics are
/// scoped and described with.
struct View<'a> {
    intent: &'a Intent,
    ids: Vec<Uuid>,
}

impl<'a> View<'a> {
    fn of(intent: &'a Intent, ids: &[Uuid]) -> View<'a> {
        View {
            intent,
            ids: ids.to_vec(),
        }
    }

    fn index(&self, id: Uuid) -> Option<usize> {
        self.ids.iter().position(|x| *x == id)
    }
}

/// What a compile gives the rest of the job.
struct Step {
    state: EngineState,
    /// The devices the change re-rendered; `None`: all (a full compile).
    touched: Option<Touched>,
    /// Tenants held back at their last good configuration, with the errors
    /// each may read.
    held_back: BTreeMap<Uuid, Vec<Value>>,
    /// Tenants whose spec compiled now (recorded as their last good one).
    recorded: Vec<Uuid>,
    allocation_changed: AllocWrite,
}

/// Which allocation rows a job stores.
enum AllocWrite {
    /// Every row (a full compile).
    All,
    /// These tenants' rows, whose allocation the job changed.
    Tenants(Vec<Uuid>),
}

/// A held-back tenant's errors, named in its own objects' words.
fn rejected_errors(st: &EngineState, r: &vxguard_compiler::engine::Rejected) -> Vec<Value> {
    let Some(t) = &r.tenant else {
        return vec![];
    };
    let alone = Intent {
        platform: st.engine.intent().platform.clone(),
        tenants: vec![t.clone()],
    };
    let mine = format!("/tenants/{}", r.index);
    r.diagnostics
        .iter()
        .filter(|x| x.severity == Severity::Error)
        .filter_map(|x| {
            let rest = x.pointer.0.strip_prefix(&mine)?;
            (rest.is_empty() || rest.starts_with('/')).then(|| {
                let at = format!("/tenants/0{rest}");
                json!({
                    "object": vxguard_store::write::describe(&alone, &at),
                    "message": x.message,
                    "detail": vxguard_store::write::said(&alone, &at, &x.message),
                })
            })
        })
        .collect()
}

/// A compiled job on its way to the devices.
struct Compiled {
    /// What changed: devices, warnings (the job's tenant's own), MTU.
    result: Value,
    /// The job's tenant's errors when its change was held back (the job
    /// fails with them once the others' changes are applied).
    refused: Option<Value>,
    /// The other jobs this compile carried out, each with its own.
    carried: Vec<(Claimed, Compiled)>,
}

/// The most queued jobs one compile carries out.
const MAX_CARRIED: i64 = 500;

/// How many devices' revisions a job stores per query: bounds the memory a
/// cold compile's storing takes (each router's configuration at the
/// benchmark platform's size is about a megabyte, with a diff as long).
const STORE_CHUNK: usize = 16;

/// The claims whose leases the heartbeat extends: the job's, and those of
/// the jobs its compile carried.
type Leases = std::sync::Mutex<Vec<Claimed>>;

impl Worker {
    async fn compile_blocking(
        &self,
        intent: Intent,
        prev: Allocation,
        secrets: Secrets,
    ) -> Result<Result<Output, Vec<Diagnostic>>> {
        let defs = self.defs.clone();
        in_background(move || compile(&intent, &prev, &secrets, &crate::definitions::set(&defs)))
            .await
            .context("compiler")
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
            partial: false,
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
                let view = View::of(&loaded.intent, &loaded.tenant_ids);
                held_back.insert(*id, scoped(diags, &view, Some(*id), Severity::Error));
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
fn scoped(diags: &[Diagnostic], view: &View, tenant: Option<Uuid>, sev: Severity) -> Vec<Value> {
    let mine = tenant.map(|t| view.index(t));
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
                "object": vxguard_store::write::describe(view.intent, &x.pointer.0),
                "message": x.message,
                // For people: the object in words, then the reason.
                "detail": vxguard_store::write::said(view.intent, &x.pointer.0, &x.message),
            })
        })
        .collect()
}

/// One hypervisor's configuration as one revision text: flows, groups,
/// meters and WireGuard, each under a header line (the format is the
/// compiler's [`vxguard_compiler::hypervisor_config::HypervisorConfig`], which the OVS driver parses back).
pub fn ovs_text(h: &vxguard_compiler::ovs::OvsConfig) -> String {
    vxguard_compiler::hypervisor_config::text_of(h)
}

/// A device's latest stored revision, when the job must store another.
struct Last<'a> {
    seq: i32,
    config: std::borrow::Cow<'a, str>,
    /// `config` is the engine's text from before the job (not read back).
    is_before: bool,
}

/// `None` when the device's latest revision (`head`, read with the
/// others') already holds the text whose digest is `digest`; else `Some`
/// of the latest revision, if it has one.
/// `before` is what the engine held for the device, with its digest when
/// the engine's memo knows it: when that digest is the latest revision's,
/// it is that revision, and nothing is read back.
async fn last_if_changed<'a>(
    conn: &mut PgConnection,
    kind: &str,
    device: &str,
    digest: &str,
    before: Option<(&'a str, Option<&str>)>,
    head: Option<revisions::Head>,
) -> Result<Option<Option<Last<'a>>>> {
    let Some(head) = head else {
        return Ok(Some(None));
    };
    if head.digest == digest {
        return Ok(None);
    }
    if let Some((text, known)) = before {
        let matches = match known {
            Some(d) => d == head.digest,
            None => revisions::digest(text) == head.digest,
        };
        if matches {
            return Ok(Some(Some(Last {
                seq: head.seq,
                config: text.into(),
                is_before: true,
            })));
        }
    }
    let old = revisions::config_at(conn, kind, device, head.seq)
        .await?
        .with_context(|| format!("revision {} of {kind} {device}", head.seq))?;
    Ok(Some(Some(Last {
        seq: head.seq,
        config: old.into(),
        is_before: false,
    })))
}

/// Runs the worker's CPU work (a compile) on a thread of its own at a lower
/// scheduling priority than the server's request threads
/// ([`vxguard_store::background`]): on a small
/// machine, a burst of tenants' changes then lengthens the job queue
/// rather than every tenant's reads (issue 16: reads at 1,000 req/s while
/// ten tenants write). The compiler's own threads inherit the priority
/// (on Linux, `nice` is per thread and new threads take their creator's).
async fn in_background<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> Result<R> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("vxguard-compile".into())
        .spawn(move || {
            vxguard_store::background::lower_priority();
            let _ = tx.send(f());
        })
        .context("starting a compile thread")?;
    rx.await.context("the compile thread panicked")
}

/// Runs a worker until the process ends on a thread of its own, with its
/// own runtime and connection pool, below request serving: the worker's
/// work between compiles (hashing, diffing and storing revisions of
/// devices of megabytes) then never holds one of the threads that answer
/// requests, and a burst of changes slows the queue, not the reads.
/// `make` builds the worker on that thread's pool.
pub fn spawn_background(
    database_url: String,
    connections: u32,
    make: impl FnOnce(PgPool) -> Worker + Send + 'static,
) -> Result<()> {
    vxguard_store::background::spawn_runtime("vxguard-worker", move || async move {
        let run = async {
            let pool = vxguard_store::db::connect(&database_url, connections).await?;
            make(pool).run().await
        };
        if let Err(e) = run.await {
            tracing::error!(error = format!("{e:#}"), "worker stopped");
        }
    })
    .context("starting the worker thread")
}

/// The engine's memo of device digests is keyed by kind and name.
fn memo_key(kind: &str, name: &str) -> String {
    format!("{kind}/{name}")
}

impl Worker {
    /// The next revision number and the commands, when the router's
    /// configuration changed, with what VyOS would refuse to change in
    /// place (`vyos_defs::transition_check` against the last revision).
    /// `spliced`: where the text changed, when `last` is the engine's text
    /// the change was spliced into.
    fn router_change(
        &self,
        last: Option<(i32, &str)>,
        r: &vxguard_compiler::RouterOutput,
        spliced: Option<&vxguard_compiler::Spliced>,
    ) -> Option<(i32, String, Vec<vyos_defs::CommitError>)> {
        let schema: &dyn Schema = match self.defs.get(&r.version) {
            Some(d) => d,
            None => &NoSchema,
        };
        let (seq, old, spliced) = match last {
            Some((_, old)) if old == r.set => return None,
            Some((seq, old)) => (seq + 1, old, spliced),
            None => (1, "", None),
        };
        let (diff, refused) = router_diff::commands(old, &r.set, spliced, schema);
        Some((seq, diff, refused))
    }
}
