//! `vxguard demo`: loads an intent file (by default the plan's two
//! datacenters and three tenants, `examples/two-dc.yaml`, built into the
//! binary so that an installed vxguard has it too) into the database
//! through the same validation as the API, and creates demo accounts.

use crate::auth::password;
use crate::store::{change, intent as store_intent, kind::Kind};
use crate::{audit, db, jobs};
use anyhow::{bail, Context, Result};
use sqlx::PgConnection;
use std::path::PathBuf;
use uuid::Uuid;
use vxguard_compiler::alloc::Allocation;
use vxguard_compiler::diag::Diagnostics;
use vxguard_compiler::intent::{yaml, Intent};

#[derive(clap::Args)]
pub struct DemoArgs {
    #[arg(long, env = "DATABASE_URL", default_value = db::DEFAULT_URL)]
    pub database_url: String,
    /// An intent file to load (its `NAME.lock.json` beside it keeps its
    /// numbers); default: the built-in `examples/two-dc.yaml`.
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// Password of the demo accounts (admin@example.com and <tenant>-admin@example.com).
    #[arg(
        long,
        env = "VXGUARD_DEMO_PASSWORD",
        default_value = "vxguard-demo-password"
    )]
    pub password: String,
}

/// The plan's example and its committed lock file (which keeps the demo's
/// numbers equal to the CLI's).
const EXAMPLE: &str = include_str!("../../examples/two-dc.yaml");
const EXAMPLE_LOCK: &str = include_str!("../../examples/two-dc.lock.json");

pub async fn run(a: DemoArgs) -> Result<bool> {
    let (name, text, lock) = match &a.file {
        Some(f) => {
            let text =
                std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
            let (lock, _) = crate::compile_cmd::side_files(f);
            (
                f.display().to_string(),
                text,
                std::fs::read_to_string(&lock).ok().map(|t| (lock, t)),
            )
        }
        None => (
            "examples/two-dc.yaml (built in)".to_string(),
            EXAMPLE.to_string(),
            Some((
                "examples/two-dc.lock.json (built in)".into(),
                EXAMPLE_LOCK.to_string(),
            )),
        ),
    };
    let (intent, _) = match yaml::parse_intent(&text) {
        Ok(x) => x,
        Err(errs) => {
            for (pos, d) in errs {
                eprintln!("{name}:{}:{}: {}", pos.line, pos.column, d.message);
            }
            return Ok(false);
        }
    };
    if password::check_strength(&a.password).is_err() {
        bail!("--password must be at least 12 characters");
    }
    let pool = db::connect(&a.database_url, 2).await?;
    let mut tx = pool.begin().await?;
    let loaded = change::begin(&mut tx)
        .await
        .map_err(|p| anyhow::anyhow!("{}", p.detail))?;
    if !loaded.intent.tenants.is_empty() || !loaded.intent.platform.routers.is_empty() {
        println!("demo: the database already holds a platform; nothing loaded");
        let mut accounts = vec!["admin@example.com".to_string()];
        for t in &intent.tenants {
            accounts.push(format!("{}-admin@example.com", t.slug));
            accounts.push(format!("{}-member@example.com", t.slug));
        }
        println!(
            "demo accounts, if an earlier `vxguard demo` loaded it (the password it was given then): {}",
            accounts.join(", ")
        );
        return Ok(true);
    }
    // The lock file keeps the demo's numbers equal to the CLI's.
    let prev: Allocation = match lock {
        Some((path, t)) => serde_json::from_str(&t)
            .with_context(|| format!("{}: not a lock file", path.display()))?,
        None => Allocation::default(),
    };
    let alloc = match check_and_allocate(&intent, &prev) {
        Ok(a) => a,
        Err(errors) => {
            for x in errors {
                eprintln!("{name}: {x}");
            }
            return Ok(false);
        }
    };
    let hash = password::hash(&a.password)?;
    let accounts = load_intent(
        &mut tx,
        &Load {
            intent: &intent,
            alloc: &alloc,
            password_hash: &hash,
            users: &|_| true,
            members: true,
            actor: "system:demo",
            reason: "demo load",
            action: "demo.load",
            object: &name,
        },
    )
    .await?;
    tx.commit().await?;
    let p = &intent.platform;
    println!(
        "demo: loaded {} sites, {} routers, {} hypervisors, {} tenants; job {} compiles them",
        p.sites.len(),
        p.routers.len(),
        p.hypervisors.len(),
        intent.tenants.len(),
        accounts.job
    );
    println!(
        "demo accounts (password from --password / VXGUARD_DEMO_PASSWORD): {}",
        accounts.emails.join(", ")
    );
    Ok(true)
}

/// The intent checked as the API checks a change, and its numbers
/// allocated (keeping `prev`'s); the errors otherwise.
pub fn check_and_allocate(
    intent: &Intent,
    prev: &Allocation,
) -> std::result::Result<Allocation, Vec<String>> {
    let mut d = Diagnostics::default();
    vxguard_compiler::checks::check_intent(intent, &mut d);
    let alloc = vxguard_compiler::alloc::allocate(intent, prev, &mut d);
    vxguard_compiler::checks::check_allocation(&alloc, &mut d);
    if d.has_errors() {
        return Err(d
            .0
            .iter()
            .filter(|x| x.is_error())
            .map(|x| x.to_string())
            .collect());
    }
    Ok(alloc)
}

/// What [`load_intent`] writes besides the intent itself.
pub struct Load<'a> {
    pub intent: &'a Intent,
    /// The allocation, checked (see `run`).
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
/// allocation, device secrets, one job and one audit entry. Rows go in
/// bulk (`UNNEST`), a few statements whatever the size, so that
/// `vxguard bench-api load` writes 5,000 tenants as fast as the demo's
/// three.
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
    let mut objects = Objects::default();
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
    store_intent::store_allocation(tx, l.alloc).await?;
    store_intent::reconcile_secrets(tx, intent).await?;
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
        },
    )
    .await?;
    Ok(Loaded { job, emails })
}

/// Object rows gathered column by column, for one `UNNEST` insert.
#[derive(Default)]
struct Objects {
    ids: Vec<Uuid>,
    kinds: Vec<String>,
    tenants: Vec<Option<Uuid>>,
    names: Vec<String>,
    specs: Vec<serde_json::Value>,
}

impl Objects {
    fn push(&mut self, kind: Kind, tenant: Option<Uuid>, name: String, spec: serde_json::Value) {
        self.ids.push(Uuid::new_v4());
        self.kinds.push(kind.as_str().to_string());
        self.tenants.push(tenant);
        self.names.push(name);
        self.specs.push(spec);
    }

    /// In chunks, so that no one statement carries hundreds of megabytes.
    async fn insert(&self, tx: &mut PgConnection) -> Result<()> {
        const CHUNK: usize = 10_000;
        for start in (0..self.ids.len()).step_by(CHUNK) {
            let end = (start + CHUNK).min(self.ids.len());
            sqlx::query(
                "INSERT INTO objects (id, kind, tenant_id, name, spec)
                 SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::jsonb[])",
            )
            .bind(&self.ids[start..end])
            .bind(&self.kinds[start..end])
            .bind(&self.tenants[start..end])
            .bind(&self.names[start..end])
            .bind(&self.specs[start..end])
            .execute(&mut *tx)
            .await?;
        }
        Ok(())
    }
}
