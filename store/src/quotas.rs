//! Per-tenant limits: how much one tenant may declare and how fast it may
//! call, so that no tenant can take the platform's capacity from the
//! others. Each limit has a default; a platform admin may set any of them
//! per tenant (`tenant_quotas`, NULL meaning the default). Limits are
//! checked where objects are written, and only against growth: lowering a
//! quota below what a tenant has never blocks its edits or deletions.

use crate::error::Result;
use crate::error::{FieldError, Refusal, WriteError};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;
use vxguard_compiler::intent::Tenant;

/// A tenant's limits, as they apply (defaults filled in).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quotas {
    pub networks: u32,
    /// VM ports over all of the tenant's networks.
    pub ports: u32,
    pub rules: u32,
    pub services: u32,
    pub clients: u32,
    pub api_tokens: u32,
    pub members: u32,
    /// API and portal requests per minute, for the whole tenant (each API
    /// token also gets at most half of it).
    pub requests_per_minute: u32,
}

impl Default for Quotas {
    fn default() -> Self {
        Self {
            networks: 50,
            ports: 1_000,
            rules: 2_000,
            services: 200,
            clients: 500,
            api_tokens: 25,
            members: 100,
            requests_per_minute: 1_200,
        }
    }
}

/// What a platform admin sets: a value per limit, or `null` for the default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaOverrides {
    pub networks: Option<u32>,
    pub ports: Option<u32>,
    pub rules: Option<u32>,
    pub services: Option<u32>,
    pub clients: Option<u32>,
    pub api_tokens: Option<u32>,
    pub members: Option<u32>,
    pub requests_per_minute: Option<u32>,
}

/// Largest value a limit may be set to (a column is an `int`).
const MAX_LIMIT: u32 = 1_000_000;

impl QuotaOverrides {
    /// The limits these overrides give.
    pub fn apply(&self) -> Quotas {
        let d = Quotas::default();
        Quotas {
            networks: self.networks.unwrap_or(d.networks),
            ports: self.ports.unwrap_or(d.ports),
            rules: self.rules.unwrap_or(d.rules),
            services: self.services.unwrap_or(d.services),
            clients: self.clients.unwrap_or(d.clients),
            api_tokens: self.api_tokens.unwrap_or(d.api_tokens),
            members: self.members.unwrap_or(d.members),
            requests_per_minute: self.requests_per_minute.unwrap_or(d.requests_per_minute),
        }
    }

    fn values(&self) -> [(&'static str, Option<u32>); 8] {
        [
            ("networks", self.networks),
            ("ports", self.ports),
            ("rules", self.rules),
            ("services", self.services),
            ("clients", self.clients),
            ("api_tokens", self.api_tokens),
            ("members", self.members),
            ("requests_per_minute", self.requests_per_minute),
        ]
    }

    /// Refuses values the store cannot hold, naming each field.
    pub fn validate(&self) -> Result<(), WriteError> {
        let mut errors = Vec::new();
        for (k, v) in self.values() {
            match v {
                Some(n) if n > MAX_LIMIT => errors.push(FieldError {
                    pointer: Some(format!("/{k}")),
                    object: None,
                    detail: format!("{n} is above the largest limit, {MAX_LIMIT}"),
                }),
                Some(0) if k == "requests_per_minute" => errors.push(FieldError {
                    pointer: Some(format!("/{k}")),
                    object: None,
                    detail: "must be at least 1 (a tenant that may not call at all cannot see its own state)".into(),
                }),
                _ => {}
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(WriteError::Invalid {
                refusal: Refusal::Invalid,
                detail: "the quotas are not valid".into(),
                errors,
            })
        }
    }
}

/// A tenant's overrides (all `None` when it has none).
pub async fn overrides(conn: &mut PgConnection, tenant: Uuid) -> Result<QuotaOverrides> {
    type Row = (
        Option<i32>,
        Option<i32>,
        Option<i32>,
        Option<i32>,
        Option<i32>,
        Option<i32>,
        Option<i32>,
        Option<i32>,
    );
    let row: Option<Row> = sqlx::query_as(
        "SELECT networks, ports, rules, services, clients, api_tokens, members, requests_per_minute
         FROM tenant_quotas WHERE tenant_id = $1",
    )
    .bind(tenant)
    .fetch_optional(&mut *conn)
    .await?;
    let u = |v: Option<i32>| v.map(|n| n.max(0) as u32);
    Ok(match row {
        None => QuotaOverrides::default(),
        Some((a, b, c, d, e, f, g, h)) => QuotaOverrides {
            networks: u(a),
            ports: u(b),
            rules: u(c),
            services: u(d),
            clients: u(e),
            api_tokens: u(f),
            members: u(g),
            requests_per_minute: u(h),
        },
    })
}

/// The limits that apply to a tenant.
pub async fn of(conn: &mut PgConnection, tenant: Uuid) -> Result<Quotas> {
    Ok(overrides(conn, tenant).await?.apply())
}

/// Replaces a tenant's overrides.
pub async fn set(
    conn: &mut PgConnection,
    tenant: Uuid,
    o: &QuotaOverrides,
) -> Result<(), WriteError> {
    o.validate()?;
    let i = |v: Option<u32>| v.map(|n| n as i32);
    sqlx::query(
        "INSERT INTO tenant_quotas (tenant_id, networks, ports, rules, services, clients, api_tokens, members, requests_per_minute)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (tenant_id) DO UPDATE SET networks = $2, ports = $3, rules = $4, services = $5,
             clients = $6, api_tokens = $7, members = $8, requests_per_minute = $9, updated_at = now()",
    )
    .bind(tenant)
    .bind(i(o.networks))
    .bind(i(o.ports))
    .bind(i(o.rules))
    .bind(i(o.services))
    .bind(i(o.clients))
    .bind(i(o.api_tokens))
    .bind(i(o.members))
    .bind(i(o.requests_per_minute))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// How much of each countable limit a tenant's intent uses.
fn usage(t: &Tenant) -> [(&'static str, usize); 5] {
    [
        ("networks", t.networks.len()),
        ("ports", t.networks.iter().map(|n| n.ports.len()).sum()),
        ("rules", t.policy.rules.len()),
        ("services", t.services.len()),
        ("clients", t.clients.len()),
    ]
}

fn limit(q: &Quotas, k: &str) -> u32 {
    match k {
        "networks" => q.networks,
        "ports" => q.ports,
        "rules" => q.rules,
        "services" => q.services,
        "clients" => q.clients,
        "api_tokens" => q.api_tokens,
        "members" => q.members,
        _ => q.requests_per_minute,
    }
}

/// Refuses a change that takes the tenant over a limit it grows past
/// (422, naming the limit); shrinking or staying put always passes.
pub fn check_growth(q: &Quotas, before: Option<&Tenant>, after: &Tenant) -> Result<(), WriteError> {
    let was = before.map(usage);
    let mut errors = Vec::new();
    for (i, (k, n)) in usage(after).into_iter().enumerate() {
        let old = was.map_or(0, |w| w[i].1);
        let max = limit(q, k) as usize;
        if n > max && n > old {
            errors.push(over(k, n, max));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(WriteError::OverQuota(errors))
    }
}

/// Refuses one more of a counted thing (API tokens, members) past its limit.
pub fn check_one_more(q: &Quotas, what: &'static str, have: usize) -> Result<(), WriteError> {
    let max = limit(q, what) as usize;
    if have < max {
        Ok(())
    } else {
        Err(WriteError::OverQuota(vec![over(what, have + 1, max)]))
    }
}

/// [`check_one_more`] with the tenant's quotas as stored (read inside the
/// caller's transaction, under the lock its count was taken under).
pub async fn room_for_one_more(
    conn: &mut PgConnection,
    tenant: Uuid,
    what: &'static str,
    have: usize,
) -> Result<(), WriteError> {
    check_one_more(&of(conn, tenant).await?, what, have)
}

fn over(what: &str, n: usize, max: usize) -> FieldError {
    FieldError {
        pointer: None,
        object: Some(format!("quotas/{what}")),
        detail: format!(
            "the tenant's quota “{what}” allows at most {max} and this would make {n}; remove some first, or ask a platform admin to raise the limit"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(rules: usize) -> Tenant {
        let rules: Vec<_> = (1..=rules)
            .map(|i| serde_json::json!({"id": i, "action": "accept"}))
            .collect();
        serde_json::from_value(serde_json::json!({
            "slug": "t", "name": "T", "policy": {"rules": rules}
        }))
        .unwrap()
    }

    #[test]
    fn growth_past_a_limit_is_refused_and_named() {
        let q = Quotas {
            rules: 2,
            ..Quotas::default()
        };
        assert!(check_growth(&q, Some(&tenant(1)), &tenant(2)).is_ok());
        let WriteError::OverQuota(errors) =
            check_growth(&q, Some(&tenant(2)), &tenant(3)).unwrap_err()
        else {
            panic!("not over quota")
        };
        assert!(errors[0].detail.contains("quota “rules”"), "{errors:?}");
        // Already over (the quota was lowered): shrinking and editing pass.
        assert!(check_growth(&q, Some(&tenant(5)), &tenant(4)).is_ok());
        assert!(check_growth(&q, Some(&tenant(5)), &tenant(5)).is_ok());
        assert!(check_growth(&q, Some(&tenant(5)), &tenant(6)).is_err());
    }

    #[test]
    fn overrides_fill_in_defaults_and_refuse_bad_values() {
        let o = QuotaOverrides {
            rules: Some(7),
            ..Default::default()
        };
        assert_eq!(o.apply().rules, 7);
        assert_eq!(o.apply().networks, Quotas::default().networks);
        let bad = QuotaOverrides {
            requests_per_minute: Some(0),
            networks: Some(MAX_LIMIT + 1),
            ..Default::default()
        };
        let WriteError::Invalid { errors, .. } = bad.validate().unwrap_err() else {
            panic!("not invalid")
        };
        let ptrs: Vec<_> = errors.iter().filter_map(|x| x.pointer.clone()).collect();
        assert_eq!(ptrs, vec!["/networks", "/requests_per_minute"]);
    }
}
