//! The tenants whose traffic is checked, as vxguard holds them now (from
//! its API, so a change made there is what the next check expects), or
//! from a topology file when the API is not wanted.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Value};
use vxguard_compiler::intent::Tenant;
use vxguard_compiler::policy::{self, CompiledPolicy};

use super::api::{Api, ApiError};

#[derive(Debug, thiserror::Error)]
pub enum TenantsError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("tenant {tenant} from the API does not parse as intent: {reason}")]
    Parse { tenant: String, reason: String },
    #[error("{path}: {reason}")]
    File { path: String, reason: String },
}

/// Tenants by slug.
pub type Tenants = BTreeMap<String, Tenant>;

/// Reads every tenant with its networks, services and rules.
pub fn from_api(api: &Api) -> Result<Tenants, TenantsError> {
    let mut out = Tenants::new();
    for t in api.list("/api/v1/tenants")? {
        let slug = t["slug"].as_str().unwrap_or_default().to_string();
        let specs = |kind: &str| -> Result<Vec<Value>, ApiError> {
            Ok(api
                .list(&format!("/api/v1/tenants/{slug}/{kind}"))?
                .into_iter()
                .map(|d| d["spec"].clone())
                .collect())
        };
        let mut rules = specs("rules")?;
        // The API lists rules by number already; sort anyway: order decides.
        rules.sort_by_key(|r| r["id"].as_u64().unwrap_or(u64::MAX));
        let doc = json!({
            "slug": slug,
            "name": t["name"],
            "networks": specs("networks")?,
            "services": specs("services")?,
            "policy": {"default_action": t["default_action"], "rules": rules},
        });
        let tenant: Tenant = serde_json::from_value(doc).map_err(|e| TenantsError::Parse {
            tenant: slug.clone(),
            reason: e.to_string(),
        })?;
        out.insert(slug, tenant);
    }
    Ok(out)
}

/// Reads the tenants of an intent file.
pub fn from_file(path: &Path) -> Result<Tenants, TenantsError> {
    let err = |reason: String| TenantsError::File {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let (intent, _) = vxguard_compiler::intent::yaml::parse_intent(&text).map_err(|diags| {
        err(diags
            .iter()
            .map(|(pos, d)| format!("{pos:?}: {d:?}"))
            .collect::<Vec<_>>()
            .join("; "))
    })?;
    Ok(intent
        .tenants
        .into_iter()
        .map(|t| (t.slug.as_str().to_string(), t))
        .collect())
}

/// The tenant's resolved policy. The client subnet only matters to
/// `external` matches; VMs are inside the tenant's networks either way.
pub fn compiled(t: &Tenant, client_subnet: Option<ipnet::Ipv4Net>) -> CompiledPolicy {
    policy::compile(t, client_subnet)
}

/// The preferred gateway (first listed) of `network` at `site`.
pub fn first_gateway(t: &Tenant, network: &str, site: &str) -> Option<String> {
    t.networks
        .iter()
        .find(|n| n.name.as_str() == network)?
        .sites
        .iter()
        .find(|s| s.site.as_str() == site)?
        .gateways
        .first()
        .map(|g| g.as_str().to_string())
}
