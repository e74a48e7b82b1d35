//! Check 6: a policy change made through the API reaches real traffic.
//! A rule dropping TCP 443 to the tenant's web servers is put first; the
//! time from the API call to the first connection that fails is measured;
//! then it is removed and 443 must work again. Repeated, p50 and max.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::api::Api;
use super::probe;
use super::report::{p50_max, Figure};
use super::tenants::Tenants;
use crate::inventory::{Inventory, Vm};

pub const TENANT: &str = "finance";
pub const SERVICE: &str = "web-servers";
const PORT: u16 = 443;
pub const DESCRIPTION: &str = "lab check: block 443 (temporary)";

#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("no {what} in the lab: {why}")]
    Missing { what: String, why: String },
    #[error("{0}")]
    Api(#[from] super::api::ApiError),
    #[error("before any change, {from} -> {to}:{PORT} does not connect: {outcome}")]
    Baseline {
        from: String,
        to: String,
        outcome: String,
    },
}

/// The probe pair: a web server and another VM of the tenant, preferably
/// in another site and the same network.
pub fn pair<'a>(inv: &'a Inventory, tenants: &Tenants) -> Result<(&'a Vm, &'a Vm), ChangeError> {
    let t = tenants.get(TENANT).ok_or_else(|| ChangeError::Missing {
        what: format!("tenant {TENANT}"),
        why: "not in vxguard".into(),
    })?;
    let web = t
        .services
        .iter()
        .find(|s| s.id.as_str() == SERVICE)
        .ok_or_else(|| ChangeError::Missing {
            what: format!("service {SERVICE}"),
            why: format!("tenant {TENANT} has none"),
        })?;
    let target = inv
        .vms
        .iter()
        .find(|v| v.tenant == TENANT && web.addresses.iter().any(|a| a.contains(&v.address)))
        .ok_or_else(|| ChangeError::Missing {
            what: "web server VM".into(),
            why: format!("no VM of {TENANT} is in {SERVICE}"),
        })?;
    let mut others: Vec<&Vm> = inv
        .vms
        .iter()
        .filter(|v| v.tenant == TENANT && v.port != target.port)
        .collect();
    // Another site first; there, the web server's own network first: the
    // lab found that routed traffic between networks whose gateways sit on
    // different routers is dropped by the routers' stateful filters (the
    // return path takes another router), see README "What the lab found".
    others.sort_by_key(|v| (v.site == target.site, v.network != target.network));
    let source = others.first().ok_or_else(|| ChangeError::Missing {
        what: "source VM".into(),
        why: format!("{TENANT} has one VM only"),
    })?;
    Ok((source, target))
}

/// The rule's number to create: 0 when free (rules run in number order, so
/// it is first without a reorder); otherwise one past the last, reordered.
pub fn placement(rule_ids: &[u64]) -> (u64, bool) {
    if rule_ids.contains(&0) {
        (rule_ids.iter().max().copied().unwrap_or(0) + 1, true)
    } else {
        (0, false)
    }
}

fn rule_ids(api: &Api) -> Result<Vec<(u64, Value)>, ChangeError> {
    Ok(api
        .list(&format!("/api/v1/tenants/{TENANT}/rules"))?
        .into_iter()
        .map(|d| (d["spec"]["id"].as_u64().unwrap_or(u64::MAX), d))
        .collect())
}

/// Adds the blocking rule first; returns its number.
pub fn add_rule(api: &Api) -> Result<u64, ChangeError> {
    let existing = rule_ids(api)?;
    let ids: Vec<u64> = existing.iter().map(|(i, _)| *i).collect();
    let (id, reorder) = placement(&ids);
    api.call(
        "POST",
        &format!("/api/v1/tenants/{TENANT}/rules"),
        Some(&json!({
            "id": id, "description": DESCRIPTION, "action": "drop", "protocol": "tcp",
            "destination_port": PORT, "source": {"type": "any"},
            "destination": {"type": "service", "service": SERVICE},
        })),
    )?;
    if !reorder {
        return Ok(id);
    }
    let mut order = vec![json!({"id": id})];
    order.extend(ids.iter().map(|i| json!({"id": i})));
    api.call(
        "POST",
        &format!("/api/v1/tenants/{TENANT}/policy/order"),
        Some(&json!({ "order": order })),
    )?;
    // Reordering renumbers: find it again by its description.
    Ok(rule_ids(api)?
        .into_iter()
        .find(|(_, d)| d["spec"]["description"] == DESCRIPTION)
        .map(|(i, _)| i)
        .unwrap_or(id))
}

/// Leftovers of an interrupted run, removed before starting.
pub fn remove_leftovers(api: &Api) -> Result<(), ChangeError> {
    for (id, d) in rule_ids(api)? {
        if d["spec"]["description"] == DESCRIPTION {
            api.call(
                "DELETE",
                &format!("/api/v1/tenants/{TENANT}/rules/{id}"),
                None,
            )?;
        }
    }
    Ok(())
}

/// Polls `src -> dst:443` every 50 ms until `connected` matches `want`;
/// the seconds from `t0` to the start of the first matching attempt.
fn wait_for(
    src: &Vm,
    dst: &Vm,
    marker: &str,
    want: bool,
    t0: Instant,
    wait: Duration,
) -> Option<f64> {
    let addr = SocketAddr::from((dst.address, PORT));
    while t0.elapsed() < wait && !super::signal::interrupted() {
        let start = t0.elapsed().as_secs_f64();
        let o = probe::connect(
            &src.ns,
            addr,
            &format!("{marker} change"),
            Duration::from_millis(500),
        );
        if o.connected() == want {
            return Some(start);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// Runs check 6 `n` times.
pub fn check(
    inv: &Inventory,
    api: &Api,
    tenants: &Tenants,
    marker: &str,
    n: usize,
    wait: Duration,
) -> Result<Vec<Figure>, ChangeError> {
    let (src, dst) = pair(inv, tenants)?;
    remove_leftovers(api)?;
    let o = probe::connect(
        &src.ns,
        SocketAddr::from((dst.address, PORT)),
        &format!("{marker} baseline"),
        Duration::from_secs(2),
    );
    if !o.connected() {
        return Err(ChangeError::Baseline {
            from: src.port.clone(),
            to: dst.port.clone(),
            outcome: o.short(),
        });
    }
    let mut block = Vec::new();
    let mut unblock = Vec::new();
    let mut failed = Vec::new();
    for i in 0..n {
        if super::signal::interrupted() {
            failed.push("interrupted".into());
            break;
        }
        let t0 = Instant::now();
        let id = add_rule(api)?;
        // Whatever happens next, the rule goes.
        let guard = probe::OnDrop(|| {
            let _ = api.raw(
                "DELETE",
                &format!("/api/v1/tenants/{TENANT}/rules/{id}"),
                None,
            );
        });
        match wait_for(src, dst, marker, false, t0, wait) {
            Some(s) => block.push(s),
            None => failed.push(format!(
                "change {}: 443 still connects after {wait:?}",
                i + 1
            )),
        }
        let t1 = Instant::now();
        api.call(
            "DELETE",
            &format!("/api/v1/tenants/{TENANT}/rules/{id}"),
            None,
        )?;
        std::mem::forget(guard);
        match wait_for(src, dst, marker, true, t1, wait) {
            Some(s) => unblock.push(s),
            None => {
                failed.push(format!(
                    "change {}: 443 still blocked {wait:?} after removal",
                    i + 1
                ));
                break;
            }
        }
    }
    let pair = format!("{} -> {}:{PORT}", src.port, dst.port);
    let fig = |name: &str, v: &[f64], ok: bool| {
        let pm = p50_max(v);
        vec![
            Figure {
                name: format!("6 {name} p50"),
                value: pm.map(|x| x.0),
                unit: "s".into(),
                detail: format!("{pair}, {} of {n} changes", v.len()),
                ok,
            },
            Figure {
                name: format!("6 {name} max"),
                value: pm.map(|x| x.1),
                unit: "s".into(),
                detail: if failed.is_empty() {
                    pair.clone()
                } else {
                    failed.join("; ")
                },
                ok,
            },
        ]
    };
    let ok = failed.is_empty() && block.len() == n;
    let mut out = fig("API rule -> first blocked connection", &block, ok);
    out.extend(fig("rule removed -> 443 works again", &unblock, ok));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_takes_number_0_when_free_and_is_reordered_otherwise() {
        assert_eq!(placement(&[1, 2, 3]), (0, false));
        assert_eq!(placement(&[]), (0, false));
        assert_eq!(placement(&[0, 5, 2]), (6, true));
    }
}
