//! The one write path for declared state. A change is checked against the
//! whole intent (names, references, overlaps, pools, ports), allocated, and
//! then written together with the new allocation, a job for the worker and
//! an audit entry, in one transaction: either all of it lands or none.
//! Writes are serialised by advisory locks ([`crate::locks`]), since
//! validity and allocation span objects.
//!
//! Refusals are [`WriteError`]s in the domain's words (which field, a
//! conflict or an invalid value); the callers say what they mean to their
//! users (the API turns them into problems).

use crate::audit::{self, Actor};
use crate::error::{FieldError, Refusal, WriteError};
use crate::intent::{self as store_intent, Loaded};
use crate::kind::Kind;
use crate::objects::{self, Declared};
use crate::{jobs, locks, quotas};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;
use vxguard_compiler::alloc::{self, Allocation};
use vxguard_compiler::checks;
use vxguard_compiler::diag::{Diagnostics, Pointer};
use vxguard_compiler::intent::Intent;
use vxguard_compiler::DefinitionSet;

pub type Result<T, E = WriteError> = std::result::Result<T, E>;

/// Who makes a change: their name on the job and in the audit log
/// ([`Actor`]), and the tenant they belong to (`None`: the platform's
/// operators), which decides what a refusal may say about other tenants'
/// objects.
pub trait Writer: Actor {
    fn tenant(&self) -> Option<Uuid>;
    /// The user recorded as the creator of what they create (the user, or
    /// the maker of their API token).
    fn user(&self) -> Option<Uuid> {
        None
    }
    /// Whether they may replace or delete only objects they created
    /// ([`Writer::user`]): a tenant member, who may add clients when the
    /// tenant allows it and change only their own.
    fn own_objects_only(&self) -> bool {
        false
    }
}

pub enum Op {
    Create(Value),
    Replace(Value),
    Delete,
}

/// The tenant a change happens in.
#[derive(Clone, Debug)]
pub struct TenantRef {
    pub id: Uuid,
    pub slug: String,
}

/// A client [`Store::expire_clients`] removed, and the job doing it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expired {
    pub tenant: String,
    pub name: String,
    pub job: i64,
}

/// The platform itself (the worker) as a writer: no tenant of its own.
struct System<'a, A: Actor>(&'a A);

impl<A: Actor> Actor for System<'_, A> {
    fn subject(&self) -> &str {
        self.0.subject()
    }
    fn source(&self) -> &str {
        self.0.source()
    }
}

impl<A: Actor> Writer for System<'_, A> {
    fn tenant(&self) -> Option<Uuid> {
        None
    }
}

pub struct Outcome {
    pub object: Option<Declared>,
    pub job: i64,
    pub allocation: Allocation,
    /// The intent as it now stands.
    pub intent: Intent,
}

/// Starts a platform-wide write: waits for every write in progress, keeps
/// all others out, and loads the whole intent.
pub async fn begin(conn: &mut PgConnection) -> Result<Loaded> {
    locks::xact_lock(conn, locks::WRITE).await?;
    Ok(store_intent::load(conn).await?)
}

/// Starts one tenant's write: it waits only for that tenant's other
/// writes (and platform-wide ones), and loads the platform and that
/// tenant alone, so tenants' writes run side by side whatever their
/// number. What spans tenants is checked against the database: ports by
/// `port_claims`, shared numbers under [`locks::ALLOC`].
pub async fn begin_tenant(conn: &mut PgConnection, tenant: Uuid) -> Result<Loaded> {
    locks::xact_lock_shared(conn, locks::WRITE).await?;
    locks::xact_lock_named(conn, locks::TENANT_WRITE, &tenant.to_string()).await?;
    Ok(store_intent::load_scope(conn, tenant).await?)
}

/// What a tenant's write is judged with ([`crate::Store::judge`]): the
/// VyOS definitions the worker compiles with, and each router's platform
/// tree kept between writes (`vxguard_compiler::write_check`).
pub struct Judge<'a> {
    pub defs: DefinitionSet<'a>,
    pub trees: &'a vxguard_compiler::PlatformTrees,
}

/// Checks the edited intent and allocates; errors name the body field when
/// they lie in the object being written (`own`), else the other object.
/// A change under a tenant's object is that tenant's change.
pub async fn check_and_allocate(
    conn: &mut PgConnection,
    loaded: &Loaded,
    own: Option<&Pointer>,
    viewer: &impl Writer,
    judge: &Judge<'_>,
) -> Result<Allocation> {
    let tenant = own.and_then(|p| tenant_of(&p.0));
    check_and_allocate_in(conn, loaded, own, tenant, viewer, judge).await
}

/// [`check_and_allocate`] for a change of tenant `tenant` (its index in
/// the intent) that has no object of its own (a deletion, the tenant's
/// settings): it is judged on that tenant and the platform, and the
/// tenant's commands are checked as the devices would check them (with
/// `judge`: the definitions the worker compiles with).
pub async fn check_and_allocate_in(
    conn: &mut PgConnection,
    loaded: &Loaded,
    own: Option<&Pointer>,
    tenant: Option<usize>,
    viewer: &impl Writer,
    judge: &Judge<'_>,
) -> Result<Allocation> {
    let intent = &loaded.intent;
    let mut d = Diagnostics::default();
    crate::background::below_requests(|| checks::check_intent(intent, &mut d));
    if loaded.partial {
        if let Some(&id) = loaded.tenant_ids.first() {
            other_tenants_ports(conn, id, intent, &mut d).await?;
        }
    }
    let d = concerning(d, tenant);
    if d.has_errors() {
        return Err(WriteError::Invalid {
            refusal: refusal_of(&d, own),
            detail: "the change is not valid".into(),
            errors: field_errors(loaded, &d, own, viewer.tenant()),
        });
    }
    let mut d = d;
    let a = if loaded.partial {
        allocate_scope(conn, loaded, &mut d).await?
    } else {
        let prev = store_intent::allocation_for_update(conn).await?;
        alloc::allocate(intent, &prev, &mut d)
    };
    checks::check_allocation(&a, &mut d);
    let d = concerning(d, tenant);
    if d.has_errors() {
        return Err(WriteError::Invalid {
            refusal: Refusal::Conflict,
            detail: "the change cannot be allocated".into(),
            errors: field_errors(loaded, &d, own, viewer.tenant()),
        });
    }
    // What the devices would make of the tenant's part, judged now rather
    // than by the worker (where it would stop every tenant's changes).
    if let Some(ti) = tenant {
        let secrets = store_intent::secrets(conn).await?;
        let found = crate::background::below_requests(|| {
            vxguard_compiler::validate_tenant(intent, ti, &a, &secrets, &judge.defs, judge.trees)
        });
        let d = Diagnostics(found);
        if d.has_errors() {
            return Err(WriteError::Invalid {
                refusal: refusal_of(&d, own),
                detail: "the devices would refuse the change".into(),
                errors: field_errors(loaded, &d, own, viewer.tenant()),
            });
        }
    }
    Ok(a)
}

/// The diagnostics a change is judged by. A tenant's change is refused for
/// what is wrong in that tenant or the platform, never for what is wrong
/// in another tenant (stored before a check existed, say): that tenant's
/// own state is the worker's to hold back, and no tenant can stop
/// another's writes. (A clash between two tenants is reported on both
/// sides, so the writer's side remains.) Other changes see everything.
fn concerning(d: Diagnostics, tenant: Option<usize>) -> Diagnostics {
    let Some(mine) = tenant else {
        return d;
    };
    Diagnostics(
        d.0.into_iter()
            .filter(|x| tenant_of(&x.pointer.0).is_none_or(|t| t == mine))
            .collect(),
    )
}

/// A conflict when every error about the caller's object is one (a name or
/// port another object holds), else invalid.
fn refusal_of(d: &Diagnostics, own: Option<&Pointer>) -> Refusal {
    let mine = |p: &str| own.is_none_or(|o| p == o.0 || p.starts_with(&format!("{}/", o.0)));
    let errors: Vec<_> =
        d.0.iter()
            .filter(|x| x.is_error() && mine(&x.pointer.0))
            .collect();
    if !errors.is_empty() && errors.iter().all(|x| x.conflict) {
        Refusal::Conflict
    } else {
        Refusal::Invalid
    }
}

/// Ports of this tenant's networks that another tenant's network holds
/// (`port_claims`, kept by a trigger): reported as the compiler reports a
/// clash between two networks, naming no tenant. A write racing for the
/// same port is stopped by the claims' key at its insert.
async fn other_tenants_ports(
    conn: &mut PgConnection,
    tenant: Uuid,
    intent: &Intent,
    d: &mut Diagnostics,
) -> Result<()> {
    let Some(t) = intent.tenants.first() else {
        return Ok(());
    };
    let (mut hvs, mut names) = (Vec::new(), Vec::new());
    for n in &t.networks {
        for p in &n.ports {
            hvs.push(p.hypervisor.to_string());
            names.push(p.name.to_string());
        }
    }
    if hvs.is_empty() {
        return Ok(());
    }
    let held: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.hypervisor, c.port FROM port_claims c
         JOIN UNNEST($1::text[], $2::text[]) AS w(hypervisor, port)
           ON w.hypervisor = c.hypervisor AND w.port = c.port
         WHERE c.tenant_id <> $3",
    )
    .bind(&hvs)
    .bind(&names)
    .bind(tenant)
    .fetch_all(&mut *conn)
    .await?;
    let held: std::collections::HashSet<(String, String)> = held.into_iter().collect();
    for (ni, n) in t.networks.iter().enumerate() {
        for (pi, p) in n.ports.iter().enumerate() {
            if held.contains(&(p.hypervisor.to_string(), p.name.to_string())) {
                d.conflict(
                    Pointer::root()
                        .join("tenants")
                        .join(0)
                        .join("networks")
                        .join(ni)
                        .join("ports")
                        .join(pi)
                        .join("name"),
                    format!(
                        "port “{}” on hypervisor “{}” is already attached to another network; choose another port",
                        p.name, p.hypervisor
                    ),
                );
            }
        }
    }
    Ok(())
}

/// One tenant's allocation, from its own row and the platform's: its
/// numbers kept (the common case, no lock); a new tenant or network takes
/// the lowest numbers no other tenant holds, under the allocation lock.
async fn allocate_scope(
    conn: &mut PgConnection,
    loaded: &Loaded,
    d: &mut Diagnostics,
) -> Result<Allocation> {
    let intent = &loaded.intent;
    let (Some(&id), Some(t)) = (loaded.tenant_ids.first(), intent.tenants.first()) else {
        return Ok(store_intent::platform_allocation(conn).await?);
    };
    let slug = t.slug.to_string();
    let mut prev = store_intent::platform_allocation(conn).await?;
    if let Some(e) = store_intent::tenant_allocation(conn, id).await? {
        prev.tenants.insert(slug.clone(), e);
    }
    Ok(match alloc::reallocate_tenant(intent, 0, prev, d) {
        Ok(a) => a,
        Err(mut prev) => {
            locks::xact_lock(conn, locks::ALLOC).await?;
            let taken = store_intent::taken_numbers(conn, id).await?;
            let entry = prev.tenants.remove(&slug);
            if let Some(ta) = alloc::allocate_tenant(intent, 0, entry.as_ref(), &taken, d) {
                prev.tenants.insert(slug, ta);
            }
            prev
        }
    })
}

/// [`finish`] for a write begun with [`begin_tenant`]: only the tenant's
/// allocation row is written, and device keys are the platform's business.
#[allow(clippy::too_many_arguments)]
pub async fn finish_tenant(
    conn: &mut PgConnection,
    loaded: &Loaded,
    a: &Allocation,
    who: &impl Actor,
    action: &str,
    object: &str,
    before: Option<Value>,
    after: Option<Value>,
) -> Result<i64> {
    let (Some(&id), Some(t)) = (loaded.tenant_ids.first(), loaded.intent.tenants.first()) else {
        return Err(WriteError::NotFound);
    };
    if let Some(ta) = a.tenants.get(t.slug.as_str()) {
        store_intent::store_tenant_allocations(conn, &[(id, ta)]).await?;
    }
    let job = jobs::enqueue(conn, Some(id), &format!("{action} {object}"), who.subject()).await?;
    audit::append(
        conn,
        audit::Entry::by(who, Some(id), action, object, before, after).queued(job),
    )
    .await?;
    Ok(job)
}

/// Writes what every accepted change writes besides its own rows.
#[allow(clippy::too_many_arguments)]
pub async fn finish(
    conn: &mut PgConnection,
    intent: &Intent,
    a: &Allocation,
    who: &impl Actor,
    tenant: Option<Uuid>,
    action: &str,
    object: &str,
    before: Option<Value>,
    after: Option<Value>,
) -> Result<i64> {
    store_intent::store_allocation(conn, a).await?;
    store_intent::reconcile_secrets(conn, intent).await?;
    let job = jobs::enqueue(conn, tenant, &format!("{action} {object}"), who.subject()).await?;
    audit::append(
        conn,
        audit::Entry::by(who, tenant, action, object, before, after).queued(job),
    )
    .await?;
    Ok(job)
}

impl crate::Store {
    /// Creates, replaces or deletes one declared object: checked, allocated
    /// and written with its job and audit entry in one transaction.
    /// `if_match` is the version the caller read (a newer one: `Stale`).
    #[allow(clippy::too_many_arguments)]
    pub async fn change(
        &self,
        who: &impl Writer,
        kind: Kind,
        tenant: Option<&TenantRef>,
        name: Option<&str>,
        op: Op,
        if_match: Option<i64>,
    ) -> Result<Outcome> {
        let (spec, spec_name) = match &op {
            Op::Create(b) | Op::Replace(b) => match (kind.parse(b), tenant) {
                (Ok((s, n)), _) => (Some(s), Some(n)),
                // A tenant's object: what else is wrong with it is said
                // with the field's error (issue 19: all errors at once).
                (Err(e @ WriteError::Field { .. }), Some(t)) => {
                    return Err(self.all_errors(who, kind, t, b, e).await)
                }
                (Err(e), _) => return Err(e),
            },
            Op::Delete => (None, None),
        };
        if let (Some(path), Some(body)) = (name, spec_name.as_deref()) {
            if path != body {
                return Err(WriteError::Field {
                    refusal: Refusal::Invalid,
                    pointer: format!("/{}", kind.name_field()),
                    detail: format!("the name is “{body}” but the URL names “{path}”; names cannot change, so create a new object instead"),
                });
            }
        }
        let name = name
            .or(spec_name.as_deref())
            .unwrap_or_default()
            .to_string();
        let mut tx = self.pool().begin().await?;
        let out = self
            .change_in(&mut tx, who, kind, tenant, &name, op, spec, if_match)
            .await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Removes every tenant's clients whose `expires_at` has passed, each
    /// through the write path as its delete (checked, allocation freed,
    /// a job that takes its peer off the routers) in a transaction of its
    /// own, audited as `client.expired` by `who`. The compiler never reads
    /// the clock: the expiry is this intent change, made by the applying
    /// worker's periodic step. Returns what was removed.
    pub async fn expire_clients(&self, who: &impl Actor) -> Result<Vec<Expired>> {
        let due = objects::expired_clients(self.pool()).await?;
        let mut out = Vec::new();
        for (tenant, slug, name) in due {
            let t = TenantRef { id: tenant, slug };
            let by = System(who);
            let mut tx = self.pool().begin().await?;
            let r = self
                .change_audited_as(
                    &mut tx,
                    &by,
                    Kind::Client,
                    Some(&t),
                    &name,
                    Op::Delete,
                    None,
                    None,
                    Some("expired"),
                )
                .await;
            match r {
                Ok(o) => {
                    tx.commit().await?;
                    out.push(Expired {
                        tenant: t.slug,
                        name,
                        job: o.job,
                    });
                }
                // Removed (or replaced) by someone else since the query.
                Err(WriteError::NotFound) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// A tenant's object whose body does not parse (`first`, the parse's
    /// first error): every field error of the body, and what the checks
    /// across objects (overlapping subnets, pools, unknown routers or
    /// networks, names taken) say about the fields that did parse, each at
    /// its field. The body is parsed again with each broken field set
    /// aside ([`salvage`]); the object so made is checked against the
    /// tenant's stored intent, read in a transaction that is rolled back.
    /// `first` alone when nothing else is found.
    pub async fn all_errors(
        &self,
        who: &impl Writer,
        kind: Kind,
        tenant: &TenantRef,
        body: &Value,
        first: WriteError,
    ) -> WriteError {
        match self.errors_of(who, kind, tenant, body).await {
            Ok(errors) if errors.len() > 1 => WriteError::Invalid {
                refusal: Refusal::Invalid,
                detail: format!("the {} is not valid", kind.as_str()),
                errors,
            },
            Ok(_) => first,
            // The body's first error stands on its own.
            Err(_) => first,
        }
    }

    /// [`Store::all_errors`]'s list (empty when the body parses).
    pub async fn errors_of(
        &self,
        who: &impl Writer,
        kind: Kind,
        tenant: &TenantRef,
        body: &Value,
    ) -> Result<Vec<FieldError>> {
        let Salvaged {
            spec,
            mut errors,
            broken,
        } = salvage(kind, body);
        let Some(spec) = spec else {
            return Ok(errors);
        };
        // Read, not locked: nothing is written.
        let mut tx = self.pool().begin().await?;
        let mut loaded = store_intent::load_scope(&mut tx, tenant.id).await?;
        let ti = loaded.tenant_index(tenant.id).ok_or(WriteError::NotFound)?;
        let own = kind.put(&mut loaded.intent, Some(ti), &spec)?;
        let mut d = Diagnostics::default();
        crate::background::below_requests(|| checks::check_intent(&loaded.intent, &mut d));
        let d = concerning(d, Some(ti));
        tx.rollback().await?;
        let placeholder = spec[kind.name_field()].to_string();
        for e in field_errors(&loaded, &d, Some(&own), who.tenant()) {
            let field = e
                .pointer
                .as_deref()
                .and_then(|p| p.split('/').nth(1))
                .map(str::to_string);
            // Nothing about a field set aside, or naming its stand-in.
            let stand_in = broken.iter().any(|b| field.as_deref() == Some(b.as_str()))
                || (broken.contains(kind.name_field())
                    && e.detail.contains(placeholder.trim_matches('"')));
            if !stand_in && !errors.contains(&e) {
                errors.push(e);
            }
        }
        Ok(errors)
    }

    /// What a change to a platform object (site, router, hypervisor)
    /// would do on every device, before it is saved: the change is made
    /// exactly as [`Store::change`] makes it (checked, allocated, keys for
    /// a new device) in a transaction that is then rolled back, and the
    /// intent is compiled as it is and as it would be. Refused as saving
    /// would be; nothing is kept.
    pub async fn preview_platform(
        &self,
        who: &impl Writer,
        kind: Kind,
        name: Option<&str>,
        op: Op,
        if_match: Option<i64>,
    ) -> Result<vxguard_compiler::preview::Preview> {
        let (spec, spec_name) = match &op {
            Op::Create(b) | Op::Replace(b) => {
                let (s, n) = kind.parse(b)?;
                (Some(s), Some(n))
            }
            Op::Delete => (None, None),
        };
        let name = name
            .or(spec_name.as_deref())
            .unwrap_or_default()
            .to_string();
        let mut tx = self.pool().begin().await?;
        let loaded = begin(&mut tx).await?;
        let prev = store_intent::allocation_for_update(&mut tx).await?;
        let secrets_before = store_intent::secrets(&mut tx).await?;
        let out = self
            .change_in(&mut tx, who, kind, None, &name, op, spec, if_match)
            .await?;
        let secrets_after = store_intent::secrets(&mut tx).await?;
        tx.rollback().await?;
        let current = loaded.intent.clone();
        let compiled = tokio::task::spawn_blocking(move || {
            use vxguard_compiler::compile;
            let none = DefinitionSet::default();
            let before = compile(&current, &prev, &secrets_before, &none)?;
            let after = compile(&out.intent, &out.allocation, &secrets_after, &none)?;
            let known: Vec<&str> = before.warnings.iter().map(|w| w.message.as_str()).collect();
            let warnings = after
                .warnings
                .iter()
                .filter(|w| !known.contains(&w.message.as_str()))
                .cloned()
                .collect();
            Ok(vxguard_compiler::preview::Preview {
                devices: vxguard_compiler::preview::all_device_diffs(&before, &after),
                warnings,
            })
        })
        .await
        .map_err(|e| crate::error::StoreError::Panicked {
            what: "platform preview compile",
            why: e.to_string(),
        })?;
        compiled.map_err(|diags| WriteError::Invalid {
            refusal: Refusal::Invalid,
            detail: "the change does not compile".into(),
            errors: field_errors(&loaded, &Diagnostics(diags), None, who.tenant()),
        })
    }

    /// [`Store::change`]'s work inside the caller's transaction, for a
    /// change that writes more beside it (`certificates::trust`); `spec`
    /// is `op`'s body parsed, `name` the object's.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn change_in(
        &self,
        tx: &mut PgConnection,
        who: &impl Writer,
        kind: Kind,
        tenant: Option<&TenantRef>,
        name: &str,
        op: Op,
        spec: Option<Value>,
        if_match: Option<i64>,
    ) -> Result<Outcome> {
        self.change_audited_as(tx, who, kind, tenant, name, op, spec, if_match, None)
            .await
    }

    /// [`Store::change_in`], audited as `kind.<action_as>` instead of the
    /// operation's own (`client.expired` for a client the worker removes).
    #[allow(clippy::too_many_arguments)]
    async fn change_audited_as(
        &self,
        tx: &mut PgConnection,
        who: &impl Writer,
        kind: Kind,
        tenant: Option<&TenantRef>,
        name: &str,
        op: Op,
        spec: Option<Value>,
        if_match: Option<i64>,
        action_as: Option<&str>,
    ) -> Result<Outcome> {
        let tenant_id = tenant.map(|t| t.id);
        let name = name.to_string();
        let mut loaded = match tenant_id {
            Some(t) => begin_tenant(&mut *tx, t).await?,
            None => begin(&mut *tx).await?,
        };
        let existing = objects::get(&mut *tx, kind, tenant_id, &name).await?;
        match (&op, &existing) {
            (Op::Create(_), Some(_)) => {
                return Err(WriteError::Exists(format!(
                    "{} {name:?} already exists",
                    kind.as_str()
                )))
            }
            (Op::Replace(_) | Op::Delete, None) => return Err(WriteError::NotFound),
            _ => {}
        }
        // Checked under the tenant's write lock: what is read here is what
        // the change replaces.
        if let Some(e) = &existing {
            if who.own_objects_only() && (e.created_by.is_none() || e.created_by != who.user()) {
                return Err(WriteError::Forbidden(format!(
                    "{} {name:?} was added by someone else: members may change only what they added",
                    kind.as_str()
                )));
            }
        }
        if let (Some(want), Some(have)) = (if_match, &existing) {
            if want != have.version {
                return Err(WriteError::Stale);
            }
        }
        let ti = match tenant {
            Some(t) => Some(loaded.tenant_index(t.id).ok_or(WriteError::NotFound)?),
            None => None,
        };
        let before = ti.map(|i| loaded.intent.tenants[i].clone());
        let own = match &spec {
            Some(s) => Some(kind.put(&mut loaded.intent, ti, s)?),
            None => {
                kind.remove(&mut loaded.intent, ti, &name);
                None
            }
        };
        if let (Some(t), Some(i)) = (tenant, ti) {
            let q = quotas::of(&mut *tx, t.id).await?;
            quotas::check_growth(&q, before.as_ref(), &loaded.intent.tenants[i])?;
        }
        drop(before);
        let a =
            check_and_allocate_in(&mut *tx, &loaded, own.as_ref(), ti, who, &self.judge()).await?;
        let object = match &spec {
            Some(s) => Some(
                objects::upsert(&mut *tx, kind, tenant_id, &name, s, who.user())
                    .await
                    .map_err(port_taken)?,
            ),
            None => {
                objects::delete(&mut *tx, kind, tenant_id, &name).await?;
                None
            }
        };
        // A new rule takes the place `Kind::put` gave it (the positions
        // after it move down one); a replaced one keeps its place, and a
        // deleted one leaves a gap that sorts the same.
        if let (Kind::Rule, Op::Create(_), Some(t), Some(i)) = (kind, &op, tenant_id, ti) {
            let ids: Vec<u32> = loaded.intent.tenants[i]
                .policy
                .rules
                .iter()
                .map(|r| r.id)
                .collect();
            objects::place_rules(&mut *tx, t, &ids).await?;
        }
        let path = object_path(kind, tenant.map(|t| t.slug.as_str()), &name);
        let action = match op {
            Op::Create(_) => "create",
            Op::Replace(_) => "update",
            Op::Delete => "delete",
        };
        let action = format!("{}.{}", kind.as_str(), action_as.unwrap_or(action));
        let before = existing.map(|o| o.spec);
        let job = if loaded.partial {
            finish_tenant(&mut *tx, &loaded, &a, who, &action, &path, before, spec).await?
        } else {
            finish(
                &mut *tx,
                &loaded.intent,
                &a,
                who,
                tenant_id,
                &action,
                &path,
                before,
                spec,
            )
            .await?
        };
        Ok(Outcome {
            object,
            job,
            allocation: a,
            intent: loaded.intent,
        })
    }
}

/// A port of this network taken by another write since the check: a
/// conflict, as the check would have said.
fn port_taken(e: sqlx::Error) -> WriteError {
    match &e {
        sqlx::Error::Database(db) if db.constraint() == Some("port_claims_pkey") => {
            WriteError::PortTaken
        }
        _ => e.into(),
    }
}

/// A body parsed with its broken fields set aside: the spec (`None` when
/// it cannot be made), every field's error, and the top-level fields set
/// aside.
struct Salvaged {
    spec: Option<Value>,
    errors: Vec<FieldError>,
    broken: std::collections::BTreeSet<String>,
}

/// Parses `body` as `kind`, and after each error sets the top-level field
/// it is in aside: the name (or id) and a network's `cidr` get stand-ins
/// that clash with nothing (their own errors are not reported), a list
/// becomes empty, anything else is left out. Stops when the body itself is
/// wrong (a missing field, not an object) or a field fails twice.
fn salvage(kind: Kind, body: &Value) -> Salvaged {
    let mut out = Salvaged {
        spec: None,
        errors: Vec::new(),
        broken: Default::default(),
    };
    let mut body = body.clone();
    for _ in 0..16 {
        let (pointer, detail) = match kind.parse(&body) {
            Ok((spec, _)) => {
                out.spec = Some(spec);
                return out;
            }
            Err(WriteError::Field {
                pointer, detail, ..
            }) => (pointer, detail),
            Err(_) => return out,
        };
        out.errors.push(FieldError {
            pointer: Some(pointer.clone()),
            object: None,
            detail,
        });
        let Some(field) = pointer.split('/').nth(1).map(str::to_string) else {
            return out;
        };
        let Some(obj) = body.as_object_mut() else {
            return out;
        };
        if !out.broken.insert(field.clone()) {
            return out;
        }
        let stand_in = if field == kind.name_field() {
            match kind {
                Kind::Rule => Some(Value::from(u32::MAX)),
                _ => Some(Value::from(format!(
                    "set-aside-{}",
                    &Uuid::new_v4().simple().to_string()[..8]
                ))),
            }
        } else if kind == Kind::Network && field == "cidr" {
            // Outside every pool: overlaps no tenant's network.
            Some(Value::from("0.0.0.0/32"))
        } else if obj.get(&field).is_some_and(Value::is_array) {
            Some(Value::Array(vec![]))
        } else {
            None
        };
        match stand_in {
            Some(v) => {
                obj.insert(field, v);
            }
            None => {
                obj.remove(&field);
            }
        }
    }
    out
}

pub fn object_path(kind: Kind, tenant: Option<&str>, name: &str) -> String {
    match tenant {
        Some(t) => format!("tenants/{t}/{}/{name}", kind.plural()),
        None => format!("{}/{name}", kind.plural()),
    }
}

/// Turns the compiler's diagnostics into field errors. A tenant's user
/// (`viewer` is their tenant) never learns about another tenant's objects.
pub fn field_errors(
    loaded: &Loaded,
    d: &Diagnostics,
    own: Option<&Pointer>,
    viewer: Option<Uuid>,
) -> Vec<FieldError> {
    let viewer_ti = viewer.and_then(|t| loaded.tenant_index(t));
    let mut out = Vec::new();
    for x in d.0.iter().filter(|x| x.is_error()) {
        let p = &x.pointer.0;
        if let Some(own) = own {
            if p == &own.0 || p.starts_with(&format!("{}/", own.0)) {
                out.push(FieldError {
                    pointer: Some(p[own.0.len()..].to_string()),
                    object: None,
                    detail: sentence(&x.message),
                });
                continue;
            }
        }
        let foreign = viewer.is_some() && p.starts_with("/tenants/") && tenant_of(p) != viewer_ti;
        out.push(if foreign {
            FieldError {
                pointer: None,
                object: None,
                detail: "conflicts with platform state you cannot see; ask a platform admin".into(),
            }
        } else {
            FieldError {
                pointer: None,
                object: Some(describe(&loaded.intent, p)),
                detail: said(&loaded.intent, p, &x.message),
            }
        });
    }
    out.dedup();
    out
}

/// A reason as a sentence for people and API clients alike: a capital
/// first letter and a full stop (the compiler's reasons are written to
/// follow a field's or an object's name).
pub fn sentence(s: &str) -> String {
    let s = s.trim();
    let mut c = s.chars();
    let mut out: String = c
        .next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default();
    if !out.is_empty() && !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

/// The object a pointer lies in, in words: `/tenants/0/policy/rules/2/…` is
/// "Rule 40", `/tenants/0/networks/1/cidr` "Network “web”". Said before
/// the reason of an error found in another object than the one written
/// (a rule still naming the network being deleted): the `object` field
/// keeps the path for API clients. `None` for the tenant or platform as a
/// whole.
pub fn in_words(intent: &Intent, pointer: &str) -> Option<String> {
    let segs: Vec<&str> = pointer.split('/').skip(1).collect();
    let idx = |i: usize| segs.get(i).and_then(|s| s.parse::<usize>().ok());
    match segs.as_slice() {
        ["tenants", _, kind, ..] => {
            let t = intent.tenants.get(idx(1)?)?;
            match *kind {
                "networks" => t
                    .networks
                    .get(idx(3)?)
                    .map(|x| format!("Network “{}”", x.name)),
                "services" => t
                    .services
                    .get(idx(3)?)
                    .map(|x| format!("Service “{}”", x.id)),
                "clients" => t
                    .clients
                    .get(idx(3)?)
                    .map(|x| format!("Client “{}”", x.name)),
                "policy" if segs.get(3) == Some(&"rules") => t
                    .policy
                    .rules
                    .get(idx(4)?)
                    .map(|x| format!("Rule {}", x.id)),
                _ => None,
            }
        }
        ["platform", kind, _, ..] => {
            let p = &intent.platform;
            match *kind {
                "sites" => p.sites.get(idx(2)?).map(|x| format!("Site “{}”", x.name)),
                "routers" => p
                    .routers
                    .get(idx(2)?)
                    .map(|x| format!("Router “{}”", x.name)),
                "hypervisors" => p
                    .hypervisors
                    .get(idx(2)?)
                    .map(|x| format!("Hypervisor “{}”", x.name)),
                _ => None,
            }
        }
        _ => None,
    }
}

/// An error found at `pointer` as a sentence that names its object first
/// ([`in_words`]): "Rule 7: network “app” does not exist; …".
pub fn said(intent: &Intent, pointer: &str, message: &str) -> String {
    match in_words(intent, pointer) {
        Some(w) => sentence(&format!("{w}: {message}")),
        None => sentence(message),
    }
}

fn tenant_of(p: &str) -> Option<usize> {
    p.strip_prefix("/tenants/")?.split('/').next()?.parse().ok()
}

/// `/tenants/2/networks/0/cidr` → `tenants/acme/networks/web/cidr`.
pub fn describe(intent: &Intent, pointer: &str) -> String {
    let segs: Vec<&str> = pointer.split('/').skip(1).collect();
    let mut out: Vec<String> = Vec::new();
    let idx = |i: usize| segs.get(i).and_then(|s| s.parse::<usize>().ok());
    let mut i = 0;
    while i < segs.len() {
        let s = segs[i];
        out.push(s.to_string());
        let name: Option<String> = match (out.len(), s) {
            (1, "tenants") => idx(i + 1)
                .and_then(|n| intent.tenants.get(n))
                .map(|t| t.slug.to_string()),
            _ => {
                let t = (out.first().map(String::as_str) == Some("tenants"))
                    .then(|| idx(1).and_then(|n| intent.tenants.get(n)))
                    .flatten();
                let p = &intent.platform;
                match s {
                    "networks" => t
                        .and_then(|t| idx(i + 1).and_then(|n| t.networks.get(n)))
                        .map(|x| x.name.to_string()),
                    "services" => t
                        .and_then(|t| idx(i + 1).and_then(|n| t.services.get(n)))
                        .map(|x| x.id.to_string()),
                    "clients" => t
                        .and_then(|t| idx(i + 1).and_then(|n| t.clients.get(n)))
                        .map(|x| x.name.to_string()),
                    "rules" => t
                        .and_then(|t| idx(i + 1).and_then(|n| t.policy.rules.get(n)))
                        .map(|x| x.id.to_string()),
                    "sites" if t.is_none() => idx(i + 1)
                        .and_then(|n| p.sites.get(n))
                        .map(|x| x.name.to_string()),
                    "routers" => idx(i + 1)
                        .and_then(|n| p.routers.get(n))
                        .map(|x| x.name.to_string()),
                    "hypervisors" => idx(i + 1)
                        .and_then(|n| p.hypervisors.get(n))
                        .map(|x| x.name.to_string()),
                    _ => None,
                }
            }
        };
        if let Some(n) = name {
            out.push(n);
            i += 1;
        }
        i += 1;
    }
    out.join("/")
}
