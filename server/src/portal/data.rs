//! What the portal's pages show, read from the store (the same reads as the
//! API's list endpoints, scoped by a resolved `TenantScope`).

use crate::jobs::Job;
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;
use crate::tenancy::TenantScope;
use app::{
    ClientRow, Dashboard, JobRow, NetworkForm, NetworkRow, NetworkSiteRow, RouterChoice, ServiceRow,
};
use serde_json::Value;
use std::collections::BTreeSet;
use vxguard_compiler::alloc::Allocation;
use vxguard_store::kind::Kind;
use vxguard_store::objects;

/// Everything of one kind in a tenant (the portal shows up to this many).
const MAX: i64 = 500;
pub const LATEST_JOBS: i64 = 10;

pub(super) fn when(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

pub(super) fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|x| match x {
                    Value::String(s) => s.clone(),
                    o => o.to_string(),
                })
                .collect()
        })
        .unwrap_or_default()
}

pub(super) async fn allocation(st: &AppState) -> ApiResult<Allocation> {
    let doc = vxguard_store::allocation::document(st.store.pool()).await?;
    Ok(match doc {
        Some(d) => serde_json::from_value(d).map_err(|e| anyhow::anyhow!("allocation: {e}"))?,
        None => Allocation::default(),
    })
}

/// Every router, as a gateway choice in the network form.
pub async fn routers(st: &AppState) -> ApiResult<Vec<RouterChoice>> {
    let mut v: Vec<RouterChoice> = objects::list(&st.db, Kind::Router, None, None, MAX)
        .await?
        .into_iter()
        .map(|r| RouterChoice {
            site: r.spec["site"].as_str().unwrap_or_default().to_string(),
            name: r.name,
        })
        .collect();
    v.sort_by(|a, b| (&a.site, &a.name).cmp(&(&b.site, &b.name)));
    Ok(v)
}

/// A subnet the tenant's next network could take (the form's hint): free
/// of its networks and its clients' subnet. Other tenants' networks do not
/// matter (each tenant has its own VRF) and are not read.
async fn suggest_network(
    st: &AppState,
    networks: &[NetworkRow],
    alloc: Option<&vxguard_compiler::alloc::TenantAlloc>,
) -> ApiResult<Option<String>> {
    let pools = vxguard_store::intent::pools(st.store.pool()).await?;
    let taken: Vec<ipnet::Ipv4Net> = networks
        .iter()
        .filter_map(|n| n.cidr.parse().ok())
        .chain(alloc.and_then(|a| a.client_subnet))
        .collect();
    Ok(pools.suggest_network(&taken).map(|n| n.to_string()))
}

pub async fn dashboard(
    st: &AppState,
    scope: &TenantScope,
    mut form: NetworkForm,
    notice: Option<String>,
) -> ApiResult<Dashboard> {
    let id = scope.id();
    let (name, default_action) = vxguard_store::tenants::name_and_default(st.store.pool(), id)
        .await?
        .ok_or_else(Problem::not_found)?;
    let alloc = allocation(st).await?;
    let ta = alloc.tenants.get(&scope.tenant.slug);
    let mut sites = BTreeSet::new();
    let networks = objects::list(&st.db, Kind::Network, Some(id), None, MAX)
        .await?
        .into_iter()
        .map(|n| {
            let na = ta.and_then(|t| t.networks.get(&n.name));
            let site_rows = n.spec["sites"]
                .as_array()
                .map(|a| a.as_slice())
                .unwrap_or_default()
                .iter()
                .map(|s| {
                    let site = s["site"].as_str().unwrap_or_default().to_string();
                    sites.insert(site.clone());
                    NetworkSiteRow {
                        virtual_address: na
                            .and_then(|a| a.sites.get(&site))
                            .map(|g| g.virtual_address.to_string()),
                        gateways: strings(&s["gateways"]),
                        site,
                    }
                })
                .collect();
            NetworkRow {
                failed: None,
                cidr: n.spec["cidr"].as_str().unwrap_or_default().to_string(),
                vni: na.map(|a| a.vni.get()),
                ports: n.spec["ports"].as_array().map_or(0, |p| p.len()),
                sites: site_rows,
                name: n.name,
            }
        })
        .collect();
    let services = objects::list(&st.db, Kind::Service, Some(id), None, MAX)
        .await?
        .into_iter()
        .map(|s| ServiceRow {
            addresses: strings(&s.spec["addresses"]),
            id: s.name,
        })
        .collect();
    let rules = vxguard_store::objects::count(st.store.pool(), Kind::Rule.as_str(), id).await?;
    let clients = objects::list(&st.db, Kind::Client, Some(id), None, MAX)
        .await?
        .into_iter()
        .map(|c| ClientRow {
            address: ta
                .and_then(|t| t.clients.get(&c.name))
                .map(|a| a.to_string()),
            networks: strings(&c.spec["allowed_networks"]),
            name: c.name,
        })
        .collect();
    let jobs = latest_jobs(st, scope).await?;
    form.routers = routers(st).await?;
    // A failed change shows on its object's row (a network's), or in the
    // list of failed changes when no row shows the object.
    let mut networks: Vec<NetworkRow> = networks;
    form.suggested = suggest_network(st, &networks, ta).await?;
    let mut failed = Vec::new();
    for f in failed_changes(st, scope).await? {
        let row = networks.iter_mut().find(|n| {
            f.object
                == vxguard_store::write::object_path(
                    Kind::Network,
                    Some(&scope.tenant.slug),
                    &n.name,
                )
        });
        match row {
            Some(n) => n.failed = Some(f),
            None => failed.push(f),
        }
    }
    Ok(Dashboard {
        failed,
        slug: scope.tenant.slug.clone(),
        name,
        can_write: scope.who.can_write_tenant(),
        default_action,
        networks,
        services,
        rules: rules as usize,
        clients,
        jobs,
        sites: sites.into_iter().collect(),
        form,
        notice,
        // Filled by the page (`health::tenant`).
        health: Default::default(),
    })
}

/// The tenant's objects whose latest change failed and has not been
/// carried out since (`store::jobs::failing_objects`), with the job and
/// the first of its errors (the tenant's own words).
pub async fn failed_changes(
    st: &AppState,
    scope: &TenantScope,
) -> ApiResult<Vec<app::data::dashboard::FailedChange>> {
    let rows = vxguard_store::jobs::failing_objects(st.store.pool(), scope.id(), 50).await?;
    Ok(rows
        .into_iter()
        .map(|(object, j)| {
            let row = job_row(Job::from(j));
            app::data::dashboard::FailedChange {
                object,
                job: row.id,
                why: row
                    .why
                    .into_iter()
                    .next()
                    .unwrap_or_else(|| "failed".into()),
            }
        })
        .collect())
}

/// The tenant's latest jobs, newest first (the dashboard's list, and what
/// its live refresh fetches).
pub async fn latest_jobs(st: &AppState, scope: &TenantScope) -> ApiResult<Vec<JobRow>> {
    let jobs =
        vxguard_store::jobs::list(st.store.pool(), Some(scope.id()), None, LATEST_JOBS).await?;
    Ok(jobs.into_iter().map(Job::from).map(job_row).collect())
}

pub fn job_row(j: Job) -> JobRow {
    // A job's `errors` are already its tenant's own (see `worker::scoped`).
    let why = match (&j.status[..], &j.errors) {
        ("failed", Some(serde_json::Value::Array(errors))) => errors
            .iter()
            .map(|e| {
                // The worker's sentence (the object in words); jobs
                // failed before it wrote one: the path and the message.
                if let Some(d) = e["detail"].as_str() {
                    return d.to_string();
                }
                let msg = e["message"].as_str().unwrap_or("failed");
                match e["object"].as_str() {
                    Some(o) => format!("{o}: {msg}"),
                    None => msg.to_string(),
                }
            })
            .collect(),
        _ => Vec::new(),
    };
    JobRow {
        id: j.id,
        reason: j.reason,
        status: j.status,
        created_by: j.created_by,
        created_at: when(j.created_at),
        why,
    }
}

/// One network for its edit page: the stored object (404 when the tenant
/// has no such network) and the form filled from it.
pub async fn network_edit(
    st: &AppState,
    scope: &TenantScope,
    name: &str,
    confirm_delete: bool,
) -> ApiResult<(objects::Declared, app::NetworkEdit)> {
    let n = objects::get(&st.db, Kind::Network, Some(scope.id()), name)
        .await?
        .ok_or_else(Problem::not_found)?;
    let alloc = allocation(st).await?;
    let vni = alloc
        .tenants
        .get(&scope.tenant.slug)
        .and_then(|t| t.networks.get(name))
        .map(|a| a.vni.get());
    let gateways = n.spec["sites"]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .flat_map(|s| {
            let site = s["site"].as_str().unwrap_or_default().to_string();
            strings(&s["gateways"])
                .into_iter()
                .map(move |g| format!("{site}/{g}"))
        })
        .collect();
    let form = NetworkForm {
        name: n.name.clone(),
        cidr: n.spec["cidr"].as_str().unwrap_or_default().to_string(),
        gateways,
        routers: routers(st).await?,
        errors: Default::default(),
        suggested: None,
    };
    let e = app::NetworkEdit {
        slug: scope.tenant.slug.clone(),
        name: n.name.clone(),
        version: n.version,
        cidr: form.cidr.clone(),
        vni,
        form,
        confirm_delete,
    };
    Ok((n, e))
}
