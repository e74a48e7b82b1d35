//! `vxguard demo`: loads an intent file (by default the plan's two
//! datacenters and three tenants, `examples/two-dc.yaml`, built into the
//! binary so that an installed vxguard has it too) into the database
//! through the same validation as the API, and creates demo accounts.

use crate::auth::password;
use crate::db;
use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use vxguard_compiler::alloc::Allocation;
use vxguard_compiler::diag::Diagnostics;
use vxguard_compiler::intent::{yaml, Intent};
use vxguard_store::demo::{load_intent, Load};
use vxguard_store::write;

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
    #[command(flatten)]
    pub master_key: crate::master_key::MasterKeyArgs,
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
    crate::master_key::open(&pool, &a.master_key, crate::master_key::Start::Command).await?;
    let mut tx = pool.begin().await?;
    let loaded = write::begin(&mut tx).await?;
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
