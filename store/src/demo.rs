//! Loading a whole checked intent into an empty store (`vxguard demo`,
//! `vxguard-bench api load`): rows go in bulk (`UNNEST`), a few statements
//! whatever the size, so that 5,000 tenants load as fast as the demo's
//! three.

use crate::error::Result;
use crate::kind::Kind;
use crate::objects::Bulk;
use crate::{audit, intent, jobs};
use sqlx::PgConnection;
use uuid::Uuid;
use vxguard_compiler::alloc::Allocation;
use vxguard_compiler::intent::Intent;

/// What [`load_intent`] writes besides the intent itself.
pub struct Load<'a> {
    pub intent: &'a Intent,
    /// The allocation, checked by the caller.
    pub alloc: &'a Allocation,
    pub password_hash: &'a str,
    /// Tenants (by index in the intent) given a `<slug>-admin@example.com`
    /// account (and a member with `members`); admin@example.com always.
    pub users: &'a dyn Fn(usize) -> bool,
    pub members: bool,
    /// The job's creator and reason, and the audit entry's action and object.
    pub actor: &'a str,
    pub reason: &'a str,
    pub action: &'a str,
    pub object: &'a str,
}

/// What [`load_intent`] wrote: the job that compiles it, and the accounts.
pub struct Loaded {
    pub job: i64,
    pub emails: Vec<String>,
}

/// Writes a checked intent into an empty store inside the caller's
/// transaction: the platform, tenants, their objects, accounts, the
/// allocation, device secrets, one job and one audit entry.
pub async fn load_intent(tx: &mut PgConnection, l: &Load<'_>) -> Result<Loaded> {
    let intent = l.intent;
    let p = &intent.platform;
    let settings = serde_json::json!({
        "asn": p.asn.get(), "pools": p.pools, "wireguard": p.wireguard, "underlay": p.underlay,
    });
    sqlx::query("INSERT INTO platform (id, spec) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET spec = EXCLUDED.spec")
        .bind(settings)
        .execute(&mut *tx)
        .await?;
    let mut objects = Bulk::default();
    for s in &p.sites {
        objects.push(
            Kind::Site,
            None,
            s.name.to_string(),
            serde_json::to_value(s)?,
        );
    }
    for r in &p.routers {
        objects.push(
            Kind::Router,
            None,
            r.name.to_string(),
            serde_json::to_value(r)?,
        );
    }
    for h in &p.hypervisors {
        objects.push(
            Kind::Hypervisor,
            None,
            h.name.to_string(),
            serde_json::to_value(h)?,
        );
    }
    sqlx::query("INSERT INTO users (id, email, password_hash, role) VALUES ($1, $2, $3, 'platform_admin') ON CONFLICT (email) WHERE signs_in DO NOTHING")
        .bind(Uuid::new_v4())
        .bind("admin@example.com")
        .bind(l.password_hash)
        .execute(&mut *tx)
        .await?;
    let mut emails = vec!["admin@example.com".to_string()];
    let (mut t_ids, mut t_slugs, mut t_names, mut t_actions) = (vec![], vec![], vec![], vec![]);
    let (mut u_ids, mut u_emails, mut u_roles, mut u_tenants) = (vec![], vec![], vec![], vec![]);
    for (i, t) in intent.tenants.iter().enumerate() {
        let id = Uuid::new_v4();
        t_ids.push(id);
        t_slugs.push(t.slug.to_string());
        t_names.push(t.name.clone());
        t_actions.push(t.policy.default_action.as_str().to_string());
        for n in &t.networks {
            objects.push(
                Kind::Network,
                Some(id),
                n.name.to_string(),
                serde_json::to_value(n)?,
            );
        }
        for s in &t.services {
            objects.push(
                Kind::Service,
                Some(id),
                s.id.to_string(),
                serde_json::to_value(s)?,
            );
        }
        for r in &t.policy.rules {
            objects.push(
                Kind::Rule,
                Some(id),
                r.id.to_string(),
                serde_json::to_value(r)?,
            );
        }
        for c in &t.clients {
            objects.push(
                Kind::Client,
                Some(id),
                c.name.to_string(),
                serde_json::to_value(c)?,
            );
        }
        if !(l.users)(i) {
            continue;
        }
        for (role, who) in [("tenant_admin", "admin"), ("tenant_member", "member")] {
            if who == "member" && !l.members {
                continue;
            }
            let email = format!("{}-{who}@example.com", t.slug);
            u_ids.push(Uuid::new_v4());
            u_emails.push(email.clone());
            u_roles.push(role.to_string());
            u_tenants.push(id);
            emails.push(email);
        }
    }
    sqlx::query(
        "INSERT INTO tenants (id, slug, name, default_action)
         SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[])",
    )
    .bind(&t_ids)
    .bind(&t_slugs)
    .bind(&t_names)
    .bind(&t_actions)
    .execute(&mut *tx)
    .await?;
    objects.insert(tx).await?;
    sqlx::query(
        "INSERT INTO users (id, email, password_hash, role, tenant_id)
         SELECT u.id, u.email, $3, u.role, u.tenant_id
         FROM UNNEST($1::uuid[], $2::text[], $4::text[], $5::uuid[]) AS u(id, email, role, tenant_id)",
    )
    .bind(&u_ids)
    .bind(&u_emails)
    .bind(l.password_hash)
    .bind(&u_roles)
    .bind(&u_tenants)
    .execute(&mut *tx)
    .await?;
    intent::store_allocation(tx, l.alloc).await?;
    intent::reconcile_secrets(tx, intent).await?;
    let job = jobs::enqueue(tx, None, l.reason, l.actor).await?;
    audit::append(
        tx,
        audit::Entry {
            actor: l.actor,
            tenant_id: None,
            action: l.action,
            object: l.object,
            source: "local",
            before: None,
            after: None,
            job: Some(job),
        },
    )
    .await?;
    Ok(Loaded { job, emails })
}
