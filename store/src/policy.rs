//! A tenant's policy as a whole: reordering its rules, and previewing a
//! change to them before it is saved.
//!
//! Rules are evaluated by their position (`objects.position`), not by their
//! number: a rule keeps its number wherever it moves, so the audit's
//! `rules/4`, the API's URL and the routers' descriptions ("policy rule 4")
//! always name the same rule. Reordering writes every moved rule's position
//! and no rule's spec or version: one transaction, one job, one audit
//! entry, through the same check and allocation as every other change
//! ([`crate::write`]).
//!
//! A preview applies the same edits to the intent in memory, checks it and
//! compiles the tenant as it is and as it would be (`compiler::preview`);
//! it reads in a read-only transaction and writes nothing.

use crate::error::StoreError;
use crate::error::{Refusal, WriteError};
use crate::intent as store_intent;
use crate::kind::Kind;
use crate::objects::{self, Declared};
use crate::write::{self, Result, TenantRef, Writer};
use serde_json::Value;
use std::collections::HashSet;
use vxguard_compiler::alloc::Allocation;
use vxguard_compiler::checks;
use vxguard_compiler::diag::{Diagnostics, Pointer};
use vxguard_compiler::intent::{Action, Rule};
use vxguard_compiler::model::Secrets;
use vxguard_compiler::preview::Preview;
use vxguard_compiler::DefinitionSet;

/// More rules than any policy holds; lists below read them all.
const ALL: i64 = 100_000;

/// One place in a new order: the rule now numbered `id`, and optionally
/// the version it was read at (a newer one refuses the change: `Stale`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placed {
    pub id: u32,
    pub version: Option<i64>,
}

/// The policy with its rules in `order` (every current rule number, once):
/// the same rules, numbers and all, in that order. Errors name the entry
/// of `order` (`/order/2`).
pub fn reordered(rules: &[Rule], order: &[u32]) -> Result<Vec<Rule>> {
    let unprocessable = |pointer: String, detail: String| {
        Err(WriteError::Field {
            refusal: Refusal::Invalid,
            pointer,
            detail,
        })
    };
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
    if rules.iter().map(|r| r.id).eq(order.iter().copied()) {
        return unprocessable(
            "/order".into(),
            "is the current order: nothing to change".into(),
        );
    }
    let out: Vec<Rule> = order
        .iter()
        .map(|id| rules.iter().find(|r| r.id == *id).expect("checked").clone())
        .collect();
    Ok(out)
}

pub struct Reordered {
    pub job: i64,
    /// The tenant's rules after the change, in order.
    pub rules: Vec<Declared>,
}

impl crate::Store {
    /// Puts the tenant's rules in `order` (see [`reordered`]) in one change.
    pub async fn reorder_rules(
        &self,
        who: &impl Writer,
        tenant: &TenantRef,
        order: &[Placed],
    ) -> Result<Reordered> {
        let mut tx = self.pool().begin().await?;
        let mut loaded = write::begin_tenant(&mut tx, tenant.id).await?;
        let ti = loaded.tenant_index(tenant.id).ok_or(WriteError::NotFound)?;
        let stored = objects::list(&mut *tx, Kind::Rule, Some(tenant.id), None, ALL).await?;
        for p in order {
            if let Some(want) = p.version {
                let have = stored.iter().find(|o| o.name == p.id.to_string());
                if have.is_some_and(|o| o.version != want) {
                    return Err(WriteError::Stale);
                }
            }
        }
        let before = loaded.intent.tenants[ti].policy.rules.clone();
        let ids: Vec<u32> = order.iter().map(|p| p.id).collect();
        let after = reordered(&before, &ids)?;
        loaded.intent.tenants[ti].policy.rules = after.clone();
        let own = Pointer::root().join("tenants").join(ti).join("policy");
        let a = write::check_and_allocate(&mut tx, &loaded, Some(&own), who, &self.judge()).await?;
        objects::place_rules(&mut tx, tenant.id, &ids).await?;
        let object = format!("tenants/{}/policy", tenant.slug);
        let numbers = |rules: &[Rule]| serde_json::json!({"order": rules.iter().map(|r| r.id).collect::<Vec<_>>()});
        let job = write::finish_tenant(
            &mut tx,
            &loaded,
            &a,
            who,
            "policy.reorder",
            &object,
            Some(numbers(&before)),
            Some(numbers(&after)),
        )
        .await?;
        let rules = objects::rules_in_order(&mut *tx, tenant.id).await?;
        tx.commit().await?;
        Ok(Reordered { job, rules })
    }

    /// What `edit` would change on the tenant's devices. Nothing is
    /// written: the intent, allocation and key material are read in a
    /// read-only transaction, and the edit is applied and compiled in
    /// memory. Invalid edits are refused naming the field, as saving them
    /// would be.
    pub async fn preview_rules(
        &self,
        who: &impl Writer,
        tenant: &TenantRef,
        edit: Edit,
    ) -> Result<Preview> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("SET TRANSACTION READ ONLY")
            .execute(&mut *tx)
            .await?;
        // The platform and this tenant alone: a preview's diff is the
        // tenant's lines, the same whatever other tenants the devices carry.
        let loaded = store_intent::load_scope(&mut tx, tenant.id).await?;
        let allocation = store_intent::scope_allocation(&mut tx, &loaded).await?;
        let secrets = store_intent::secrets(&mut tx).await?;
        tx.rollback().await?;
        preview(loaded, allocation, secrets, who, tenant, edit).await
    }
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
    /// The action for traffic no rule matches (the portal previews it
    /// before it is saved: it can open or close everything at once).
    DefaultAction(Action),
}

/// [`crate::Store::preview_rules`] once the tenant's state is read.
async fn preview(
    mut loaded: store_intent::Loaded,
    allocation: Allocation,
    secrets: Secrets,
    who: &impl Writer,
    tenant: &TenantRef,
    edit: Edit,
) -> Result<Preview> {
    let ti = loaded.tenant_index(tenant.id).ok_or(WriteError::NotFound)?;
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
                    return Err(WriteError::Field {
                        refusal: Refusal::Conflict,
                        pointer: "/id".into(),
                        detail: format!("rule {name} already exists; choose another number"),
                    })
                }
                Edit::Replace(path, _) if !has(path.as_str()) => return Err(WriteError::NotFound),
                Edit::Replace(path, _) if *path != name => {
                    return Err(WriteError::Field {
                        refusal: Refusal::Invalid,
                        pointer: "/id".into(),
                        detail: format!("the rule number is {name} but the change is to rule {path}; rule numbers cannot change, so move the rule instead"),
                    })
                }
                _ => {}
            }
            Some(Kind::Rule.put(&mut loaded.intent, Some(ti), &spec)?)
        }
        Edit::Delete(name) => {
            if !Kind::Rule.remove(&mut loaded.intent, Some(ti), name) {
                return Err(WriteError::NotFound);
            }
            None
        }
        Edit::Reorder(order) => {
            let rules = &mut loaded.intent.tenants[ti].policy.rules;
            *rules = reordered(rules, order)?;
            Some(Pointer::root().join("tenants").join(ti).join("policy"))
        }
        Edit::DefaultAction(action) => {
            loaded.intent.tenants[ti].policy.default_action = *action;
            Some(Pointer::root().join("tenants").join(ti).join("policy"))
        }
    };
    let mut d = Diagnostics::default();
    checks::check_intent(&loaded.intent, &mut d);
    if d.has_errors() {
        return Err(WriteError::Invalid {
            refusal: Refusal::Invalid,
            detail: "the change is not valid".into(),
            errors: write::field_errors(&loaded, &d, own.as_ref(), who.tenant()),
        });
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
    .map_err(|e| StoreError::Panicked {
        what: "preview compile",
        why: e.to_string(),
    })?;
    out.map_err(|diags| WriteError::Invalid {
        refusal: Refusal::Invalid,
        detail: "the change does not compile".into(),
        errors: write::field_errors(&loaded, &Diagnostics(diags), own.as_ref(), who.tenant()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(id: u32, action: Action) -> Rule {
        serde_json::from_value(serde_json::json!({"id": id, "action": action.as_str()})).unwrap()
    }

    #[test]
    fn reordering_moves_rules_with_their_numbers() {
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
                (20, Action::Drop),
                (10, Action::Accept),
                (30, Action::Reject)
            ]
        );
        // From an order that is not by number, too.
        let back = reordered(&out, &[10, 30, 20]).unwrap();
        let got: Vec<u32> = back.iter().map(|r| r.id).collect();
        assert_eq!(got, vec![10, 30, 20]);
        let (_, _, detail) = field(reordered(&out, &[20, 10, 30]).unwrap_err());
        assert!(detail.contains("current order"), "{detail}");
    }

    /// The refusal, pointer and detail of a field error.
    fn field(e: WriteError) -> (Refusal, String, String) {
        match e {
            WriteError::Field {
                refusal,
                pointer,
                detail,
            } => (refusal, pointer, detail),
            e => panic!("not a field error: {e:?}"),
        }
    }

    #[test]
    fn reordering_names_the_bad_entry() {
        let rules = vec![rule(1, Action::Accept), rule(2, Action::Drop)];
        let (_, pointer, _) = field(reordered(&rules, &[2, 7]).unwrap_err());
        assert_eq!(pointer, "/order/1");
        let (_, _, detail) = field(reordered(&rules, &[2, 2]).unwrap_err());
        assert!(detail.contains("twice"), "{detail}");
        let (_, _, detail) = field(reordered(&rules, &[2]).unwrap_err());
        assert!(detail.contains("missing: 1"), "{detail}");
        let (refusal, _, detail) = field(reordered(&rules, &[1, 2]).unwrap_err());
        assert_eq!(refusal, Refusal::Invalid);
        assert!(detail.contains("current order"));
    }
}
