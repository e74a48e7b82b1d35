//! `vxguard demo`: loads an intent file (by default the plan's two
//! datacenters and three tenants, `examples/two-dc.yaml`, built into the
//! binary so that an installed vxguard has it too) into the database
//! through the same validation as the API, and creates demo accounts.

use crate::auth::password;
use crate::store::{change, intent as store_intent, kind::Kind};
use crate::{audit, db, jobs};
use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use uuid::Uuid;
use vxguard_compiler::alloc::Allocation;
use vxguard_compiler::diag::Diagnostics;
use vxguard_compiler::intent::yaml;

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
    let mut d = Diagnostics::default();
    vxguard_compiler::checks::check_intent(&intent, &mut d);
    let alloc = vxguard_compiler::alloc::allocate(&intent, &prev, &mut d);
    vxguard_compiler::checks::check_allocation(&alloc, &mut d);
    if d.has_errors() {
        for x in d.0.iter().filter(|x| x.is_error()) {
            eprintln!("{name}: {x}");
        }
        return Ok(false);
    }
    let p = &intent.platform;
    let settings = serde_json::json!({
        "asn": p.asn.get(), "pools": p.pools, "wireguard": p.wireguard, "underlay": p.underlay,
    });
    sqlx::query("INSERT INTO platform (id, spec) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET spec = EXCLUDED.spec")
        .bind(settings)
        .execute(&mut *tx)
        .await?;
    let insert = |kind: Kind, tenant: Option<Uuid>, name: String, spec: serde_json::Value| {
        sqlx::query(
            "INSERT INTO objects (id, kind, tenant_id, name, spec) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(Uuid::new_v4())
        .bind(kind.as_str())
        .bind(tenant)
        .bind(name)
        .bind(spec)
    };
    for s in &p.sites {
        insert(
            Kind::Site,
            None,
            s.name.to_string(),
            serde_json::to_value(s)?,
        )
        .execute(&mut *tx)
        .await?;
    }
    for r in &p.routers {
        insert(
            Kind::Router,
            None,
            r.name.to_string(),
            serde_json::to_value(r)?,
        )
        .execute(&mut *tx)
        .await?;
    }
    for h in &p.hypervisors {
        insert(
            Kind::Hypervisor,
            None,
            h.name.to_string(),
            serde_json::to_value(h)?,
        )
        .execute(&mut *tx)
        .await?;
    }
    let hash = password::hash(&a.password)?;
    let admin = "admin@example.com";
    sqlx::query("INSERT INTO users (id, email, password_hash, role) VALUES ($1, $2, $3, 'platform_admin') ON CONFLICT (email) WHERE signs_in DO NOTHING")
        .bind(Uuid::new_v4())
        .bind(admin)
        .bind(&hash)
        .execute(&mut *tx)
        .await?;
    let mut accounts = vec![admin.to_string()];
    for t in &intent.tenants {
        let id = Uuid::new_v4();
        sqlx::query("INSERT INTO tenants (id, slug, name, default_action) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(t.slug.as_str())
            .bind(&t.name)
            .bind(t.policy.default_action.as_str())
            .execute(&mut *tx)
            .await?;
        for n in &t.networks {
            insert(
                Kind::Network,
                Some(id),
                n.name.to_string(),
                serde_json::to_value(n)?,
            )
            .execute(&mut *tx)
            .await?;
        }
        for s in &t.services {
            insert(
                Kind::Service,
                Some(id),
                s.id.to_string(),
                serde_json::to_value(s)?,
            )
            .execute(&mut *tx)
            .await?;
        }
        for r in &t.policy.rules {
            insert(
                Kind::Rule,
                Some(id),
                r.id.to_string(),
                serde_json::to_value(r)?,
            )
            .execute(&mut *tx)
            .await?;
        }
        for c in &t.clients {
            insert(
                Kind::Client,
                Some(id),
                c.name.to_string(),
                serde_json::to_value(c)?,
            )
            .execute(&mut *tx)
            .await?;
        }
        for (role, who) in [("tenant_admin", "admin"), ("tenant_member", "member")] {
            let email = format!("{}-{who}@example.com", t.slug);
            sqlx::query("INSERT INTO users (id, email, password_hash, role, tenant_id) VALUES ($1, $2, $3, $4, $5)")
                .bind(Uuid::new_v4())
                .bind(&email)
                .bind(&hash)
                .bind(role)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            accounts.push(email);
        }
    }
    store_intent::store_allocation(&mut tx, &alloc).await?;
    store_intent::reconcile_secrets(&mut tx, &intent).await?;
    let job = jobs::enqueue(&mut tx, None, "demo load", "system:demo").await?;
    audit::append(
        &mut tx,
        audit::Entry {
            actor: "system:demo",
            tenant_id: None,
            action: "demo.load",
            object: &name,
            source: "local",
            before: None,
            after: None,
        },
    )
    .await?;
    tx.commit().await?;
    println!(
        "demo: loaded {} sites, {} routers, {} hypervisors, {} tenants; job {job} compiles them",
        p.sites.len(),
        p.routers.len(),
        p.hypervisors.len(),
        intent.tenants.len()
    );
    println!(
        "demo accounts (password from --password / VXGUARD_DEMO_PASSWORD): {}",
        accounts.join(", ")
    );
    Ok(true)
}
