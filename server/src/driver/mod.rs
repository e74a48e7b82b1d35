//! Device drivers from the command line: `vxguard apply` and `vxguard
//! apply-hypervisor` run one apply by hand, `vxguard router-certificate`
//! shows a router's certificate.
//!
//! The drivers themselves (VyOS over its HTTP API, Open vSwitch with
//! `ovs-ofctl`) are the `vxguard-drivers` crate, which has no database;
//! the record of each apply, the rollout and drift checks are
//! [`crate::rollout`]. The modules here re-export both under their old
//! `vxguard::driver::...` paths.

pub mod ovs;
pub mod vyos;
pub use crate::rollout::waves as rollout;
pub use crate::rollout::{drift, reconcile, status};
pub use vxguard_drivers::{health, plan};

use anyhow::{Context, Result};

/// `vxguard apply`: apply one router revision now.
#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    /// The router's name (as in revisions).
    #[arg(long)]
    pub router: String,
    /// Its API, `https://HOST[:PORT]` (or `http://` for a router on this
    /// machine's loopback).
    #[arg(long)]
    pub url: String,
    /// The SHA-256 fingerprint of the certificate the router must show
    /// (`AB:CD:...`); default: one a public root vouches for.
    #[arg(long, value_parser = parse_pin)]
    pub pin: Option<vxguard_compiler::ids::CertSha256>,
    /// Its API key.
    #[arg(long, env = "VXGUARD_ROUTER_KEY")]
    pub key: String,
    /// Its VyOS release: 1.4 or 1.5.
    #[arg(long)]
    pub version: String,
    /// The revision id; default: the router's latest.
    #[arg(long)]
    pub revision: Option<i64>,
    /// 1.5: commit-confirm minutes (0 = plain commit).
    #[arg(long, default_value_t = 2)]
    pub confirm_minutes: u32,
    /// vyos-1x definitions of that release; default: the built-in ones.
    #[arg(long = "vyos-defs")]
    pub vyos_defs: Option<std::path::PathBuf>,
    #[arg(long, env = "DATABASE_URL", default_value = crate::db::DEFAULT_URL)]
    pub database_url: String,
}

fn parse_pin(s: &str) -> Result<vxguard_compiler::ids::CertSha256, String> {
    vxguard_compiler::ids::CertSha256::parse(s)
}

/// Runs `vxguard apply`; true when the router ends on the revision.
pub async fn run(a: ApplyArgs) -> Result<bool> {
    let version = vyos_api::ApiVersion::parse(&a.version)
        .with_context(|| format!("--version {:?}: expected 1.4 or 1.5", a.version))?;
    let release = vxguard_compiler::intent::VyosVersion::parse(version.as_str())
        .expect("the API's releases are the compiler's");
    let defs = crate::definitions::one(release, a.vyos_defs.as_deref())?;
    let db = crate::db::connect(&a.database_url, 2).await?;
    let revision = match a.revision {
        Some(r) => r,
        None => vxguard_store::revisions::latest_id(&db, "router", &a.router)
            .await?
            .with_context(|| format!("router {:?} has no revision", a.router))?,
    };
    let mut client = vyos_api::Client::new(&a.url, &a.key, version)?;
    if let Some(pin) = a.pin {
        client = client.trusting(vyos_api::Trust::Pinned(pin.bytes()))?;
    }
    let policy = vyos::Policy {
        confirm_minutes: a.confirm_minutes,
        ..Default::default()
    };
    let target = vyos::Target {
        name: &a.router,
        client: &client,
        defs: &defs,
    };
    let started = std::time::Instant::now();
    let r = vyos::apply(&db, &target, revision, &policy, &vyos::ApiReachable).await?;
    println!(
        "router {} revision {}: {} ({} commands, {} requests, {:.1?}, record {})",
        a.router,
        revision,
        r.outcome.as_str(),
        r.commands.len(),
        r.attempts,
        started.elapsed(),
        r.id
    );
    if let Some(e) = r.outcome.error() {
        println!("  {e}");
    }
    Ok(r.outcome.ok())
}

/// `vxguard router-certificate`: the certificate a router's API shows.
#[derive(Debug, clap::Args)]
pub struct CertificateArgs {
    /// The router's API, `https://HOST[:PORT]`.
    #[arg(long)]
    pub url: String,
}

/// Runs `vxguard router-certificate`: prints the SHA-256 of the
/// certificate the router shows, for the operator to compare with the
/// router's own before pinning it (`api_certificate_sha256`).
pub async fn run_certificate(a: CertificateArgs) -> Result<bool> {
    let client = vyos_api::Client::new(&a.url, "", vyos_api::ApiVersion::V1_5)?;
    let sha256 = client.server_certificate().await?;
    println!(
        "{}: certificate SHA-256 {}",
        a.url,
        vyos_api::tls::fingerprint_text(&sha256)
    );
    println!(
        "Not verified: compare it with the router's own certificate (on the router: \
         openssl x509 -noout -fingerprint -sha256 -in <its certificate>) before setting \
         the router's api_certificate_sha256 to it."
    );
    Ok(true)
}

/// `vxguard apply-hypervisor`: apply one hypervisor revision now.
#[derive(Debug, clap::Args)]
pub struct ApplyHypervisorArgs {
    /// The hypervisor's name (as in revisions).
    #[arg(long)]
    pub hypervisor: String,
    /// `ovs-ofctl` target of its integration bridge; default: the
    /// hypervisor's `openflow_endpoint`, else
    /// `unix:/var/run/openvswitch/<bridge>.mgmt`.
    #[arg(long)]
    pub openflow: Option<String>,
    /// The revision id; default: the hypervisor's latest.
    #[arg(long)]
    pub revision: Option<i64>,
    /// Only print how the switch differs from the revision; change nothing.
    #[arg(long)]
    pub drift: bool,
    #[arg(long, env = "DATABASE_URL", default_value = crate::db::DEFAULT_URL)]
    pub database_url: String,
}

/// Runs `vxguard apply-hypervisor`; true when the switch ends on the
/// revision (with `--drift`: when it already holds it).
pub async fn run_hypervisor(a: ApplyHypervisorArgs) -> Result<bool> {
    let db = crate::db::connect(&a.database_url, 2).await?;
    let openflow = match a.openflow {
        Some(o) => o,
        None => {
            let spec = vxguard_store::objects::platform_spec(
                &db,
                vxguard_store::kind::Kind::Hypervisor,
                &a.hypervisor,
            )
            .await?
            .with_context(|| format!("hypervisor {:?} is not declared", a.hypervisor))?;
            let h: vxguard_compiler::intent::Hypervisor = serde_json::from_value(spec)
                .with_context(|| format!("the stored spec of hypervisor {:?}", a.hypervisor))?;
            h.openflow_target()
        }
    };
    let revision: Option<i64> = match a.revision {
        Some(r) => Some(r),
        None => vxguard_store::revisions::latest_id(&db, "hypervisor", &a.hypervisor).await?,
    };
    let found = match revision {
        Some(r) => {
            let mut conn = db.acquire().await?;
            vxguard_store::revisions::config_by_id(&mut conn, r, "hypervisor", &a.hypervisor)
                .await?
                .map(|(_, text)| (r, text))
        }
        None => None,
    };
    let (revision, text) =
        found.with_context(|| format!("hypervisor {:?} has no such revision", a.hypervisor))?;
    let target = ovs::OvsTarget {
        name: a.hypervisor.clone(),
        openflow,
    };
    if a.drift {
        let lines = ovs::drift(&target, &text).await?;
        for l in &lines {
            println!("{l}");
        }
        println!(
            "hypervisor {} revision {revision} at {}: {}",
            a.hypervisor,
            target.openflow,
            if lines.is_empty() { "in sync" } else { "drift" }
        );
        return Ok(lines.is_empty());
    }
    let started = std::time::Instant::now();
    let r = ovs::apply(&db, &target, revision).await?;
    println!(
        "hypervisor {} revision {revision} at {}: {} ({} changes, {} ovs-ofctl calls, {:.1?}, record {})",
        a.hypervisor,
        target.openflow,
        r.outcome.as_str(),
        r.changes.len(),
        r.attempts,
        started.elapsed(),
        r.id
    );
    if let Some(e) = r.outcome.error() {
        println!("  {e}");
    }
    Ok(r.outcome.ok())
}
