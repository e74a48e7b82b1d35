//! A tenant's policy as a whole: reordering its rules, and previewing a
//! change to them before it is saved.
//!
//! Rules are evaluated by number. Reordering keeps the numbers the policy
//! uses and moves the rules' contents between them (the first number takes
//! the first rule of the new order, and so on), so it rewrites several
//! rules at once: one transaction, one job, one audit entry, through the
//! same check and allocation as every other change (`change`).
//!
//! A preview applies the same edits to the intent in memory, checks it and
//! compiles the tenant as it is and as it would be (`compiler::preview`);
//! it reads in a read-only transaction and writes nothing.

use super::change::{self, TenantRef};
use super::intent as store_intent;
use super::kind::Kind;
use super::objects::{self, Declared};
use crate::auth::Principal;
use crate::problem::{ApiResult, Problem};
use axum::http::StatusCode;
use serde_json::Value;
use std::collections::HashSet;
use vxguard_compiler::checks;
use vxguard_compiler::diag::{Diagnostics, Pointer};
use vxguard_compiler::intent::Rule;
use vxguard_compiler::preview::Preview;
use vxguard_compiler::DefinitionSet;

/// More rules than any policy holds; lists below read them all.
const ALL: i64 = 100_000;

/// One place in a new order: the rule now numbered `id`, and optionally
/// the version it was read at (a newer one refuses the change: 412).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placed {
    pub id: u32,
    pub version: Option<i64>,
}

/// The policy with its rules in `order` (every current rule number, once):
/// the numbers stay where they were, sorted, and take the rules' contents
/// in the new order. Errors name the entry of `order` (`/order/2`).
pub fn reordered(rules: &[Rule], order: &[u32]) -> Result<Vec<Rule>, Problem> {
    let unprocessable =
        |ptr: String, msg: String| Err(Problem::field(StatusCode::UNPROCESSABLE_ENTITY, &ptr, msg));
    let mut seen = HashSet::new();
    for (i, id) in order.iter().enumerate() {
        if !rules.iter().any(|r| r.id == *id) {
            return unprocessable(format!("/order/{i}"), format!("there is no rule {id}"));
        }
        if !seen.insert(*id) {
            return unprocessable(format!("/order/{i}"), format!("rule {id} is listed twice"));
        }
    }
    if order.len() != rules.len() {
        let missing: Vec<String> = rules
            .iter()
            .filter(|r| !seen.contains(&r.id))
            .map(|r| r.id.to_string())
            .collect();
        return unprocessable(
            "/order".into(),
            format!("must list every rule once; missing: {}", missing.join(", ")),
        );
    }
    let mut numbers: Vec<u32> = rules.iter().map(|r| r.id).collect();
    numbers.sort_unstable();
    let out: Vec<Rule> = numbers
        .iter()
        .zip(order)
        .map(|(n, id)| {
            let mut r = rules.iter().find(|r| r.id == *id).expect("checked").clone();
            r.id = *n;
            r
        })
        .collect();
    let mut current = rules.to_vec();
    current.sort_by_key(|r| r.id);
    if out == current {
        return unprocessable(
            "/order".into(),
            "is the current order: nothing to change".into(),
        );
    }
    Ok(out)
}

pub struct Reordered {
    pub job: i64,
    /// The tenant's rules after the change, in order.
    pub rules: Vec<Declared>,
}

/// Puts the tenant's rules in `order` (see [`reordered`]) in one change.
pub async fn reorder(
    db: &sqlx::PgPool,
    who: &Principal,
    tenant: &TenantRef,
    order: &[Placed],
) -> ApiResult<Reordered> {
    let mut tx = db.begin().await?;
    let mut loaded = change::begin_tenant(&mut tx, tenant.id).await?;
    let ti = loaded
        .tenant_index(tenant.id)
        .ok_or_else(Problem::not_found)?;
    let stored = objects::list(&mut *tx, Kind::Rule, Some(tenant.id), None, ALL).await?;
    for p in order {
        if let Some(want) = p.version {
            let have = stored.iter().find(|o| o.name == p.id.to_string());
            if have.is_some_and(|o| o.version != want) {
                return Err(Problem::stale());
            }
        }
    }
    let before = loaded.intent.tenants[ti].policy.rules.clone();
    let ids: Vec<u32> = order.iter().map(|p| p.id).collect();
    let after = reordered(&before, &ids)?;
    loaded.intent.tenants[ti].policy.rules = after.clone();
    let own = Pointer::root().join("tenants").join(ti).join("policy");
    let a = change::check_and_allocate(&mut tx, &loaded, Some(&own), who).await?;
    for (old, new) in before.iter().zip(&after) {
        if old == new {
            continue;
        }
        sqlx::query(
            "UPDATE objects SET spec = $1, version = version + 1, updated_at = now()
             WHERE kind = $2 AND tenant_id = $3 AND name = $4",
        )
        .bind(serde_json::to_value(new).map_err(|e| anyhow::anyhow!(e))?)
        .bind(Kind::Rule.as_str())
        .bind(tenant.id)
        .bind(new.id.to_string())
        .execute(&mut *tx)
        .await?;
    }
    let object = format!("tenants/{}/policy", tenant.slug);
    let job = change::finish_tenant(
        &mut tx,
        &loaded,
        &a,
        who,
        "policy.reorder",
        &object,
        Some(serde_json::to_value(&before).map_err(|e| anyhow::anyhow!(e))?),
        Some(serde_json::to_value(&after).map_err(|e| anyhow::anyhow!(e))?),
    )
    .await?;
    let rules = objects::list(&mut *tx, Kind::Rule, Some(tenant.id), None, ALL).await?;
    tx.commit().await?;
    Ok(Reordered { job, rules })
}

/// A change to a tenant's rules, as the API and the portal's forms make it.
#[derive(Clone, Debug)]
pub enum Edit {
    /// A new rule (the body as the API takes it).
    Create(Value),
    /// Rule `.0` replaced by the body.
    Replace(String, Value),
    Delete(String),
    /// Every rule number, in the new order.
    Reorder(Vec<u32>),
}

/// What `edit` would change on the tenant's devices. Nothing is written:
/// the intent, allocation and key material are read in a read-only
/// transaction, and the edit is applied and compiled in memory. Invalid
/// edits are 422 problems naming the field, as saving them would be.
pub async fn preview(
    db: &sqlx::PgPool,
    who: &Principal,
    tenant: &TenantRef,
    edit: Edit,
) -> ApiResult<Preview> {
    let mut tx = db.begin().await?;
    sqlx::query("SET TRANSACTION READ ONLY")
        .execute(&mut *tx)
        .await?;
    // The platform and this tenant alone: a preview's diff is the tenant's
    // lines, the same whatever other tenants the devices carry.
    let mut loaded = store_intent::load_scope(&mut tx, tenant.id).await?;
    let allocation = store_intent::scope_allocation(&mut tx, &loaded).await?;
    let secrets = store_intent::secrets(&mut tx).await?;
    tx.rollback().await?;
    let ti = loaded
        .tenant_index(tenant.id)
        .ok_or_else(Problem::not_found)?;
    let current = loaded.intent.clone();
    let has = |name: &str| {
        current.tenants[ti]
            .policy
            .rules
            .iter()
            .any(|r| r.id.to_string() == name)
    };
    let own = match &edit {
        Edit::Create(body) | Edit::Replace(_, body) => {
            let (spec, name) = Kind::Rule.parse(body)?;
            match &edit {
                Edit::Create(_) if has(&name) => {
                    return Err(Problem::field(
                        StatusCode::CONFLICT,
                        "/id",
                        format!("rule {name} already exists"),
                    ))
                }
                Edit::Replace(path, _) if !has(path.as_str()) => return Err(Problem::not_found()),
                Edit::Replace(path, _) if *path != name => {
                    return Err(Problem::field(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "/id",
                        format!("is {name:?} but the change is to rule {path:?}; rule numbers cannot change (reorder the rules instead)"),
                    ))
                }
                _ => {}
            }
            Some(Kind::Rule.put(&mut loaded.intent, Some(ti), &spec)?)
        }
        Edit::Delete(name) => {
            if !Kind::Rule.remove(&mut loaded.intent, Some(ti), name) {
                return Err(Problem::not_found());
            }
            None
        }
        Edit::Reorder(order) => {
            let rules = &mut loaded.intent.tenants[ti].policy.rules;
            *rules = reordered(rules, order)?;
            Some(Pointer::root().join("tenants").join(ti).join("policy"))
        }
    };
    let mut d = Diagnostics::default();
    checks::check_intent(&loaded.intent, &mut d);
    if d.has_errors() {
        return Err(Problem::invalid(
            "the change is not valid",
            change::field_errors(&loaded, &d, own.as_ref(), who),
        ));
    }
    let slug = tenant.slug.clone();
    let proposed = loaded.intent.clone();
    // Compiling is CPU work: off the async threads. Without VyOS
    // definitions: the preview shows commands, the worker validates them.
    let out = tokio::task::spawn_blocking(move || {
        vxguard_compiler::preview::preview(
            &current,
            &proposed,
            &slug,
            &allocation,
            &secrets,
            &DefinitionSet::default(),
        )
    })
    .await
    .map_err(|e| anyhow::anyhow!("preview compile panicked: {e}"))?;
    out.map_err(|diags| {
        Problem::invalid(
            "the change does not compile",
            change::field_errors(&loaded, &Diagnostics(diags), own.as_ref(), who),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use vxguard_compiler::intent::Action;

    fn rule(id: u32, action: Action) -> Rule {
        serde_json::from_value(serde_json::json!({"id": id, "action": action.as_str()})).unwrap()
    }

    #[test]
    fn reordering_keeps_numbers_and_moves_contents() {
        let rules = vec![
            rule(10, Action::Accept),
            rule(20, Action::Drop),
            rule(30, Action::Reject),
        ];
        let out = reordered(&rules, &[20, 10, 30]).unwrap();
        let got: Vec<(u32, Action)> = out.iter().map(|r| (r.id, r.action)).collect();
        assert_eq!(
            got,
            vec![
                (10, Action::Drop),
                (20, Action::Accept),
                (30, Action::Reject)
            ]
        );
    }

    #[test]
    fn reordering_names_the_bad_entry() {
        let rules = vec![rule(1, Action::Accept), rule(2, Action::Drop)];
        let e = reordered(&rules, &[2, 7]).unwrap_err();
        assert_eq!(e.errors[0].pointer.as_deref(), Some("/order/1"));
        let e = reordered(&rules, &[2, 2]).unwrap_err();
        assert!(e.detail.contains("twice"), "{}", e.detail);
        let e = reordered(&rules, &[2]).unwrap_err();
        assert!(e.detail.contains("missing: 1"), "{}", e.detail);
        let e = reordered(&rules, &[1, 2]).unwrap_err();
        assert_eq!(e.status, 422);
        assert!(e.detail.contains("current order"));
    }
}
