//! Assembling the compiler's `Intent` from the database: the platform row,
//! platform objects, and every tenant with its objects. The order is the
//! one the compiler sees (names, rules by position), so compiles are
//! deterministic whatever order rows were written in.

use crate::error::{Result, StoreError};
use crate::kind::Kind;
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use std::collections::HashMap;
use uuid::Uuid;
use vxguard_compiler::alloc::Allocation;
use vxguard_compiler::ids::Name;
use vxguard_compiler::intent::{Action, Intent, Platform, Policy, Pools, Tenant};
use vxguard_compiler::model::Secrets;

/// Tenant ids by their index in `Intent::tenants`.
pub struct Loaded {
    pub intent: Intent,
    pub tenant_ids: Vec<Uuid>,
    /// Only the platform and one tenant ([`load_scope`]): checks that span
    /// tenants are the database's, and allocation is that tenant's.
    pub partial: bool,
}

impl Loaded {
    pub fn tenant_index(&self, id: Uuid) -> Option<usize> {
        self.tenant_ids.iter().position(|t| *t == id)
    }
}

pub async fn load(conn: &mut PgConnection) -> Result<Loaded> {
    load_filtered(conn, true).await
}

async fn load_filtered(conn: &mut PgConnection, policy: bool) -> Result<Loaded> {
    let settings: Option<Value> = sqlx::query_scalar("SELECT spec FROM platform WHERE id = 1")
        .fetch_optional(&mut *conn)
        .await?;
    let mut platform_doc = settings.unwrap_or_else(|| serde_json::json!({}));
    for k in [Kind::Site, Kind::Router, Kind::Hypervisor] {
        platform_doc[k.plural()] = Value::Array(vec![]);
    }
    let rows: Vec<(String, Option<Uuid>, Value)> = sqlx::query_as(
        "SELECT kind, tenant_id, spec FROM objects
         WHERE $1 OR kind NOT IN ('rule', 'service')
         ORDER BY kind, CASE WHEN kind = 'rule' THEN position END,
                  CASE WHEN kind = 'rule' THEN (spec->>'id')::bigint END, name",
    )
    .bind(policy)
    .fetch_all(&mut *conn)
    .await?;
    let tenants: Vec<TenantRow> = sqlx::query_as(
        "SELECT id, slug, name, default_action FROM tenants ORDER BY slug COLLATE \"C\"",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut tenant_rows = Vec::with_capacity(rows.len());
    for (kind, tenant, spec) in rows {
        match (kind.as_str(), tenant) {
            ("site" | "router" | "hypervisor", None) => {
                let k = format!("{kind}s");
                platform_doc[k].as_array_mut().expect("array").push(spec);
            }
            (_, Some(t)) => tenant_rows.push((kind, t, spec)),
            (k, _) => return Err(unknown_kind(k)),
        }
    }
    let platform: Platform =
        serde_json::from_value(platform_doc).map_err(corrupt("stored platform does not parse"))?;
    let out = assemble(&tenants, tenant_rows)?;
    Ok(Loaded {
        intent: Intent {
            platform,
            tenants: out,
        },
        tenant_ids: tenants.iter().map(|t| t.0).collect(),
        partial: false,
    })
}

/// A tenant row: id, slug, name, default action.
type TenantRow = (Uuid, String, String, String);

/// Tenants as the compiler sees them, from their rows and their objects'
/// rows (kind, tenant, spec) in the order [`load`] reads them.
fn assemble(tenants: &[TenantRow], rows: Vec<(String, Uuid, Value)>) -> Result<Vec<Tenant>> {
    let mut tenant_docs: Vec<Value> = tenants
        .iter()
        .map(|(_, slug, name, _)| serde_json::json!({"slug": slug, "name": name}))
        .collect();
    let index: HashMap<Uuid, usize> = tenants.iter().enumerate().map(|(i, t)| (t.0, i)).collect();
    let mut rules: Vec<Vec<Value>> = vec![Vec::new(); tenants.len()];
    for (kind, t, spec) in rows {
        let Some(&i) = index.get(&t) else { continue };
        match kind.as_str() {
            "rule" => rules[i].push(spec),
            k @ ("network" | "service" | "client") => {
                let doc = &mut tenant_docs[i];
                let key = format!("{k}s");
                if doc.get(&key).is_none() {
                    doc[&key] = Value::Array(vec![]);
                }
                doc[key].as_array_mut().expect("array").push(spec);
            }
            k => return Err(unknown_kind(k)),
        }
    }
    let mut out = Vec::with_capacity(tenants.len());
    for ((doc, (_, slug, _, action)), rules) in tenant_docs.into_iter().zip(tenants).zip(rules) {
        let mut t: Tenant = serde_json::from_value(doc)
            .map_err(corrupt(&format!("stored tenant {slug} does not parse")))?;
        t.policy = Policy {
            default_action: parse_action(action),
            rules: rules
                .into_iter()
                .map(serde_json::from_value)
                .collect::<Result<_, _>>()
                .map_err(corrupt(&format!("stored rules of {slug} do not parse")))?,
        };
        out.push(t);
    }
    Ok(out)
}

/// The platform and one tenant (index 0), as [`load`] gives them: what a
/// tenant's write or read needs, without every other tenant's objects.
/// `tenant_ids` is empty when the tenant does not exist.
pub async fn load_scope(conn: &mut PgConnection, tenant: Uuid) -> Result<Loaded> {
    let settings: Option<Value> = sqlx::query_scalar("SELECT spec FROM platform WHERE id = 1")
        .fetch_optional(&mut *conn)
        .await?;
    let mut platform_doc = settings.unwrap_or_else(|| serde_json::json!({}));
    for k in [Kind::Site, Kind::Router, Kind::Hypervisor] {
        platform_doc[k.plural()] = Value::Array(vec![]);
    }
    let rows: Vec<(String, Value)> = sqlx::query_as(
        "SELECT kind, spec FROM objects WHERE tenant_id IS NULL ORDER BY kind, name",
    )
    .fetch_all(&mut *conn)
    .await?;
    for (kind, spec) in rows {
        match kind.as_str() {
            "site" | "router" | "hypervisor" => {
                let k = format!("{kind}s");
                platform_doc[k].as_array_mut().expect("array").push(spec);
            }
            k => return Err(unknown_kind(k)),
        }
    }
    let platform: Platform =
        serde_json::from_value(platform_doc).map_err(corrupt("stored platform does not parse"))?;
    let (tenant_ids, tenants) = load_tenants(conn, &[tenant]).await?.into_iter().unzip();
    Ok(Loaded {
        intent: Intent { platform, tenants },
        tenant_ids,
        partial: true,
    })
}

/// The platform's address pools alone (the defaults when none are set):
/// what the portal's network form needs to suggest a free subnet.
pub async fn pools(db: &PgPool) -> Result<Pools> {
    let pools: Option<Value> =
        sqlx::query_scalar("SELECT spec->'pools' FROM platform WHERE id = 1")
            .fetch_optional(db)
            .await?
            .flatten();
    match pools {
        Some(v) if !v.is_null() => {
            serde_json::from_value(v).map_err(corrupt("stored platform pools do not parse"))
        }
        _ => Ok(Pools::default()),
    }
}

/// Where each tenant's intent and the platform's stand: the numbers the
/// writes' triggers hand out (migration 0008). Read before the intent it
/// describes, so a write in between is seen again, never missed.
pub struct Revs {
    pub platform: i64,
    /// Id, slug and number of every tenant, in slug (byte) order.
    pub tenants: Vec<(Uuid, String, i64)>,
}

pub async fn revs(conn: &mut PgConnection) -> Result<Revs> {
    let platform: i64 = sqlx::query_scalar("SELECT intent_rev FROM platform_intent WHERE id = 1")
        .fetch_one(&mut *conn)
        .await?;
    let tenants =
        sqlx::query_as("SELECT id, slug, intent_rev FROM tenants ORDER BY slug COLLATE \"C\"")
            .fetch_all(&mut *conn)
            .await?;
    Ok(Revs { platform, tenants })
}

/// Some tenants, assembled as [`load`] does (absent ids are left out).
pub async fn load_tenants(conn: &mut PgConnection, ids: &[Uuid]) -> Result<Vec<(Uuid, Tenant)>> {
    load_tenants_filtered(conn, ids, true).await
}

/// Some tenants' networks and clients, without their services and rules
/// (each policy left empty): what the device-health collector expects
/// from, at a fraction of the rows (at 5,000 tenants, rules are most of
/// the intent).
pub async fn load_tenants_topology(
    conn: &mut PgConnection,
    ids: &[Uuid],
) -> Result<Vec<(Uuid, Tenant)>> {
    load_tenants_filtered(conn, ids, false).await
}

async fn load_tenants_filtered(
    conn: &mut PgConnection,
    ids: &[Uuid],
    policy: bool,
) -> Result<Vec<(Uuid, Tenant)>> {
    let tenants: Vec<TenantRow> = sqlx::query_as(
        "SELECT id, slug, name, default_action FROM tenants WHERE id = ANY($1)
         ORDER BY slug COLLATE \"C\"",
    )
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?;
    let rows: Vec<(String, Uuid, Value)> = sqlx::query_as(
        "SELECT kind, tenant_id, spec FROM objects
         WHERE tenant_id = ANY($1) AND ($2 OR kind NOT IN ('rule', 'service'))
         ORDER BY kind, CASE WHEN kind = 'rule' THEN position END,
                  CASE WHEN kind = 'rule' THEN (spec->>'id')::bigint END, name",
    )
    .bind(ids)
    .bind(policy)
    .fetch_all(&mut *conn)
    .await?;
    let out = assemble(&tenants, rows)?;
    Ok(tenants.iter().map(|t| t.0).zip(out).collect())
}

pub fn parse_action(s: &str) -> Action {
    match s {
        "accept" => Action::Accept,
        "reject" => Action::Reject,
        _ => Action::Drop,
    }
}

/// A tenant as the compiler sees it, before its objects are added.
pub fn empty_tenant(slug: &Name, name: &str, action: Action) -> Tenant {
    Tenant {
        slug: slug.clone(),
        name: name.into(),
        networks: vec![],
        services: vec![],
        policy: Policy {
            default_action: action,
            rules: vec![],
        },
        clients: vec![],
        client_router: None,
    }
}

/// The allocation, locked for update until the transaction ends: the
/// platform's row (routers, hypervisors) and every tenant's.
pub async fn allocation_for_update(conn: &mut PgConnection) -> Result<Allocation> {
    let doc: Option<Value> =
        sqlx::query_scalar("SELECT doc FROM allocation WHERE id = 1 FOR UPDATE")
            .fetch_optional(&mut *conn)
            .await?;
    let mut a = platform_doc(doc)?;
    let rows: Vec<(String, Value)> = sqlx::query_as(
        "SELECT t.slug, a.doc FROM tenant_allocations a JOIN tenants t ON t.id = a.tenant_id",
    )
    .fetch_all(&mut *conn)
    .await?;
    for (slug, doc) in rows {
        let ta = serde_json::from_value(doc).map_err(corrupt(&format!(
            "stored allocation of tenant {slug} does not parse"
        )))?;
        a.tenants.insert(slug, ta);
    }
    Ok(a)
}

/// The platform's part of the allocation (routers, hypervisors), no tenant.
pub async fn platform_allocation(conn: &mut PgConnection) -> Result<Allocation> {
    let doc: Option<Value> = sqlx::query_scalar("SELECT doc FROM allocation WHERE id = 1")
        .fetch_optional(&mut *conn)
        .await?;
    platform_doc(doc)
}

fn platform_doc(doc: Option<Value>) -> Result<Allocation> {
    Ok(match doc {
        Some(mut d) => {
            d["tenants"] = serde_json::json!({});
            serde_json::from_value(d).map_err(corrupt("stored allocation does not parse"))?
        }
        None => Allocation::default(),
    })
}

/// The allocation of a [`load_scope`] intent: the platform's and that
/// tenant's.
pub async fn scope_allocation(conn: &mut PgConnection, loaded: &Loaded) -> Result<Allocation> {
    let mut a = platform_allocation(conn).await?;
    if let (Some(&id), Some(t)) = (loaded.tenant_ids.first(), loaded.intent.tenants.first()) {
        if let Some(e) = tenant_allocation(conn, id).await? {
            a.tenants.insert(t.slug.to_string(), e);
        }
    }
    Ok(a)
}

/// One tenant's allocation, if it has one.
pub async fn tenant_allocation(
    conn: &mut PgConnection,
    tenant: Uuid,
) -> Result<Option<vxguard_compiler::alloc::TenantAlloc>> {
    let doc: Option<Value> =
        sqlx::query_scalar("SELECT doc FROM tenant_allocations WHERE tenant_id = $1")
            .bind(tenant)
            .fetch_optional(&mut *conn)
            .await?;
    doc.map(|d| {
        serde_json::from_value(d).map_err(corrupt("stored tenant allocation does not parse"))
    })
    .transpose()
}

/// Some tenants' stored allocations, by tenant id.
pub async fn tenant_allocations(
    conn: &mut PgConnection,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, vxguard_compiler::alloc::TenantAlloc>> {
    let rows: Vec<(Uuid, Value)> =
        sqlx::query_as("SELECT tenant_id, doc FROM tenant_allocations WHERE tenant_id = ANY($1)")
            .bind(ids)
            .fetch_all(&mut *conn)
            .await?;
    rows.into_iter()
        .map(|(id, d)| {
            let a = serde_json::from_value(d)
                .map_err(corrupt("stored tenant allocation does not parse"))?;
            Ok((id, a))
        })
        .collect()
}

/// The numbers every tenant but `except` holds: what a new tenant or
/// network may not take. Read on the rare write that needs a new number,
/// under [`crate::locks::ALLOC`].
pub async fn taken_numbers(
    conn: &mut PgConnection,
    except: Uuid,
) -> Result<vxguard_compiler::alloc::Taken> {
    let ids: Vec<i32> = sqlx::query_scalar(
        "SELECT number FROM tenant_allocations WHERE tenant_id <> $1 AND number IS NOT NULL",
    )
    .bind(except)
    .fetch_all(&mut *conn)
    .await?;
    let vnis: Vec<i64> = sqlx::query_scalar(
        "SELECT (n.value->>'vni')::bigint FROM tenant_allocations a, jsonb_each(a.doc->'networks') n
         WHERE a.tenant_id <> $1",
    )
    .bind(except)
    .fetch_all(&mut *conn)
    .await?;
    Ok(vxguard_compiler::alloc::Taken {
        ids: ids.into_iter().map(|i| i as u32).collect(),
        vnis: vnis.into_iter().map(|v| v as u32).collect(),
    })
}

/// Stores the whole allocation: the platform's row, and each tenant's row
/// where it changed.
pub async fn store_allocation(conn: &mut PgConnection, a: &Allocation) -> Result<()> {
    let mut platform = serde_json::to_value(Allocation {
        routers: a.routers.clone(),
        hypervisors: a.hypervisors.clone(),
        tenants: Default::default(),
        mesh: a.mesh.clone(),
    })?;
    platform["tenants"] = serde_json::json!({});
    sqlx::query(
        "INSERT INTO allocation (id, doc) VALUES (1, $1)
         ON CONFLICT (id) DO UPDATE SET doc = EXCLUDED.doc, updated_at = now()
         WHERE allocation.doc IS DISTINCT FROM EXCLUDED.doc",
    )
    .bind(platform)
    .execute(&mut *conn)
    .await?;
    let slugs: Vec<&str> = a.tenants.keys().map(String::as_str).collect();
    let ids: Vec<(Uuid, String)> =
        sqlx::query_as("SELECT id, slug FROM tenants WHERE slug = ANY($1)")
            .bind(&slugs)
            .fetch_all(&mut *conn)
            .await?;
    let rows: Vec<(Uuid, &vxguard_compiler::alloc::TenantAlloc)> = ids
        .iter()
        .map(|(id, slug)| (*id, &a.tenants[slug]))
        .collect();
    store_tenant_allocations(conn, &rows).await
}

/// Stores some tenants' allocations (only rows that changed are written).
pub async fn store_tenant_allocations(
    conn: &mut PgConnection,
    rows: &[(Uuid, &vxguard_compiler::alloc::TenantAlloc)],
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = rows.iter().map(|(id, _)| *id).collect();
    let docs: Vec<Value> = rows
        .iter()
        .map(|(_, ta)| serde_json::to_value(ta))
        .collect::<Result<_, _>>()?;
    sqlx::query(
        "INSERT INTO tenant_allocations (tenant_id, doc)
         SELECT * FROM UNNEST($1::uuid[], $2::jsonb[])
         ON CONFLICT (tenant_id) DO UPDATE SET doc = EXCLUDED.doc, updated_at = now()
         WHERE tenant_allocations.doc IS DISTINCT FROM EXCLUDED.doc",
    )
    .bind(&ids)
    .bind(&docs)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Every device's key material (sealed at rest: [`crate::sealed`]).
pub async fn secrets(conn: &mut PgConnection) -> Result<Secrets> {
    crate::sealed::devices(conn).await
}

/// The device secrets as a JSON document (`{"routers": {NAME: {...}},
/// "hypervisors": ...}`: the rollout reads the routers' API keys from it),
/// `None` when no device has keys yet.
pub async fn secrets_doc(db: &PgPool) -> Result<Option<Value>> {
    let s = secrets(&mut *db.acquire().await?).await?;
    if s == Secrets::default() {
        return Ok(None);
    }
    Ok(Some(serde_json::to_value(&s)?))
}

/// Generates key material for new devices and drops that of removed ones
/// (inside the caller's transaction).
pub async fn reconcile_secrets(conn: &mut PgConnection, intent: &Intent) -> Result<Secrets> {
    let mut s = secrets(conn).await?;
    let before = s.clone();
    crate::device_keys::reconcile(&mut s, intent)?;
    crate::sealed::store_devices(conn, &before, &s).await?;
    Ok(s)
}

/// The specs tenants last compiled with, for those of `ids` that have one.
pub async fn last_compiled(
    conn: &mut PgConnection,
    ids: &[Uuid],
) -> Result<std::collections::HashMap<Uuid, vxguard_compiler::intent::Tenant>> {
    let rows: Vec<(Uuid, Value)> =
        sqlx::query_as("SELECT tenant_id, spec FROM tenant_compiled WHERE tenant_id = ANY($1)")
            .bind(ids)
            .fetch_all(&mut *conn)
            .await?;
    rows.into_iter()
        .map(|(id, spec)| {
            let t =
                serde_json::from_value(spec).map_err(corrupt("a tenant's last compiled spec"))?;
            Ok((id, t))
        })
        .collect()
}

/// Records the tenants' specs as compiled; only those that changed since
/// their last record are written (a digest tells).
pub async fn record_compiled(
    conn: &mut PgConnection,
    tenants: &[(Uuid, &vxguard_compiler::intent::Tenant)],
) -> Result<usize> {
    use sha2::Digest;
    let asked: Vec<Uuid> = tenants.iter().map(|(id, _)| *id).collect();
    let have: std::collections::HashMap<Uuid, String> = sqlx::query_as::<_, (Uuid, String)>(
        "SELECT tenant_id, digest FROM tenant_compiled WHERE tenant_id = ANY($1)",
    )
    .bind(&asked)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .collect();
    let (mut ids, mut digests, mut specs) = (Vec::new(), Vec::new(), Vec::new());
    for (id, t) in tenants {
        let spec = serde_json::to_value(t)?;
        let digest = hex::encode(sha2::Sha256::digest(spec.to_string().as_bytes()));
        if have.get(id) != Some(&digest) {
            ids.push(*id);
            digests.push(digest);
            specs.push(spec);
        }
    }
    if !ids.is_empty() {
        // A tenant deleted since the compile read it is left out: the
        // next compile removes it (its rows went with it), and an insert
        // for it would fail the whole job on the foreign key.
        sqlx::query(
            "INSERT INTO tenant_compiled (tenant_id, digest, spec)
             SELECT x.id, x.digest, x.spec
               FROM UNNEST($1::uuid[], $2::text[], $3::jsonb[]) AS x(id, digest, spec)
              WHERE EXISTS (SELECT 1 FROM tenants t WHERE t.id = x.id)
             ON CONFLICT (tenant_id) DO UPDATE
               SET digest = EXCLUDED.digest, spec = EXCLUDED.spec, updated_at = now()",
        )
        .bind(&ids)
        .bind(&digests)
        .bind(&specs)
        .execute(&mut *conn)
        .await?;
    }
    Ok(ids.len())
}

/// Whether a router's latest configuration holds `needle` (a tenant's
/// chain name, say): the worker asks before leaving a tenant out of a
/// compile, so that a tenant already on the devices is never removed from
/// them for want of a recorded last good spec. A scan of the latest
/// revisions, on that rare path only.
pub async fn on_routers(conn: &mut PgConnection, needle: &str) -> Result<bool> {
    let routers: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT device FROM revisions WHERE device_kind = 'router' ORDER BY device",
    )
    .fetch_all(&mut *conn)
    .await?;
    for r in routers {
        let latest = crate::revisions::latest_config(conn, "router", &r).await?;
        if latest.is_some_and(|(_, c)| c.contains(needle)) {
            return Ok(true);
        }
    }
    Ok(false)
}

fn unknown_kind(k: &str) -> StoreError {
    StoreError::Corrupt {
        what: format!("stored object of unknown kind {k}"),
    }
}

/// A stored document that does not parse, named by `what`.
fn corrupt(what: &str) -> impl FnOnce(serde_json::Error) -> StoreError + '_ {
    move |e| StoreError::Corrupt {
        what: format!("{what}: {e}"),
    }
}
