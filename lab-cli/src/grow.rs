//! `vxguard-lab check` with check 8 (issue 17, "Proof on real packets"):
//! the platform half of adding a device to the running lab and removing
//! it, as an operator would (vxguard's API: `POST /api/v1/routers`,
//! `DELETE /api/v1/hypervisors/{name}`...), with what only the store
//! gives: a new router's API key (generated under the compile lock, as
//! `lab up` reads it), a new hypervisor's keys (its revision, as `lab up`
//! builds it) and the mesh change's steps as the worker takes them
//! (`vxguard_store::mesh`: staged, switched, released), each timed.
//! The check itself (traffic, sessions, judgement) is the lab crate's
//! (`vxguard_lab::check::grow`).

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use serde_json::json;
use vxguard::db;
use vxguard_compiler::ids::CertSha256;
use vxguard_compiler::mesh::Step;
use vxguard_lab::check::api::Api;
use vxguard_lab::check::grow::{Change, DeviceKind, Grower};
use vxguard_lab::check::CheckArgs;
use vxguard_lab::grow as lab_grow;
use vxguard_lab::inventory::{Inventory, Process};
use vxguard_lab::underlay::Site;
use vxguard_lab::UpArgs;
use vxguard_store::intent as store_intent;
use vxguard_store::{applies, jobs};

use crate::lab_up;

/// Runs `vxguard-lab check`, check 8 included unless skipped or `--no-api`.
pub async fn check(a: CheckArgs) -> Result<bool> {
    let skip = |k: &str| a.skip.iter().any(|s| s == k);
    let needs = !a.no_api && !skip("grow") && !(skip("grow-hypervisor") && skip("grow-router"));
    let grower = if needs {
        let pool = db::connect(&a.database_url, 2).await?;
        let master_key = vxguard::master_key::MasterKeyArgs::from_env();
        vxguard::master_key::open(&pool, &master_key, vxguard::master_key::Start::Command).await?;
        let inv = Inventory::load(&a.state)?;
        let mut api = Api::new(&inv.api)?;
        api.login(&a.email, &a.password)?;
        Some(LabGrower {
            rt: tokio::runtime::Handle::current(),
            pool,
            api,
            state: a.state.clone(),
            database_url: a.database_url.clone(),
            minute_secs: a.minute_secs,
            wait: Duration::from_secs(a.apply_wait_secs.max(60)),
        })
    } else {
        None
    };
    tokio::task::spawn_blocking(move || {
        vxguard_lab::check::run(&a, grower.as_ref().map(|g| g as &dyn Grower))
    })
    .await
    .context("lab check panicked")??;
    Ok(true)
}

/// The lab binary's [`Grower`]: vxguard's API for the changes, its store
/// for keys and the mesh steps, the lab for the devices.
pub struct LabGrower {
    rt: tokio::runtime::Handle,
    pool: sqlx::PgPool,
    api: Api,
    state: PathBuf,
    database_url: String,
    minute_secs: f64,
    /// How long one change may take to be released and applied.
    wait: Duration,
}

impl Grower for LabGrower {
    fn add(&self, kind: DeviceKind) -> Result<Change, String> {
        let r = match kind {
            DeviceKind::Router => self.rt.block_on(self.add_router()),
            DeviceKind::Hypervisor => self.rt.block_on(self.add_hypervisor()),
        };
        r.map_err(|e| format!("adding a {}: {e:#}", kind.as_str()))
    }

    fn remove(&self, kind: DeviceKind, name: &str) -> Result<Change, String> {
        self.rt
            .block_on(self.remove_device(kind, name))
            .map_err(|e| format!("removing {} {name}: {e:#}", kind.as_str()))
    }
}

fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A name the platform does not use: `<stem>-<site>-grow`, then with a
/// number.
fn free_name(intent: &vxguard_compiler::intent::Intent, stem: &str, site: &str) -> String {
    let taken = |n: &str| {
        intent.platform.routers.iter().any(|r| r.name.as_str() == n)
            || intent
                .platform
                .hypervisors
                .iter()
                .any(|h| h.name.as_str() == n)
    };
    (0..)
        .map(|i| match i {
            0 => format!("{stem}-{site}-grow"),
            i => format!("{stem}-{site}-grow{i}"),
        })
        .find(|n| !taken(n))
        .expect("names never run out")
}

/// Every underlay address the platform uses.
fn used_addresses(intent: &vxguard_compiler::intent::Intent) -> Vec<Ipv4Addr> {
    intent
        .platform
        .routers
        .iter()
        .map(|r| r.underlay_address)
        .chain(
            intent
                .platform
                .hypervisors
                .iter()
                .map(|h| h.underlay_address),
        )
        .filter_map(|a| match a {
            std::net::IpAddr::V4(a) => Some(a),
            std::net::IpAddr::V6(_) => None,
        })
        .collect()
}

fn site<'a>(sites: &'a [Site], name: &str) -> Result<&'a Site> {
    sites
        .iter()
        .find(|s| s.name == name)
        .with_context(|| format!("site {name} is not in the platform"))
}

/// A port on 127.0.0.1 above every lab router's that nothing listens on.
fn free_port(inv: &Inventory) -> Result<u16> {
    let highest = inv
        .routers
        .iter()
        .filter_map(|r| r.api_url.rsplit(':').next()?.parse::<u16>().ok())
        .max()
        .unwrap_or(18440);
    (highest.saturating_add(1)..u16::MAX)
        .find(|p| std::net::TcpListener::bind(("127.0.0.1", *p)).is_ok())
        .context("no free port for the new lab router")
}

impl LabGrower {
    async fn intent(&self) -> Result<vxguard_compiler::intent::Intent> {
        let mut conn = self.pool.acquire().await?;
        Ok(store_intent::load(&mut conn).await?.intent)
    }

    fn up_args(&self, inv: &Inventory) -> UpArgs {
        UpArgs {
            topology: PathBuf::new(),
            state: self.state.clone(),
            prefix: inv.prefix.clone(),
            api: inv.api.clone(),
            base_port: 0,
            minute_secs: self.minute_secs,
            wait_secs: self.wait.as_secs(),
            database_url: self.database_url.clone(),
        }
    }

    /// A router `vyos-<site>-grow` in the first lab router's site: its
    /// namespace on the underlay and its certificate first, then the
    /// platform change (`POST /api/v1/routers`, pinned to that
    /// certificate), its API key from the store, its lab router started;
    /// then the mesh change followed to the end. Undone when a step fails.
    async fn add_router(&self) -> Result<Change> {
        let mut inv = Inventory::load(&self.state)?;
        let intent = self.intent().await?;
        let first = inv.routers.first().context("the lab has no router")?;
        let site_name = first.site.clone();
        let sites = lab_up::sites(&intent);
        let addr = lab_grow::free_address(site(&sites, &site_name)?, &used_addresses(&intent))
            .with_context(|| format!("site {site_name} has no free underlay address"))?;
        let name = free_name(&intent, "vyos", &site_name);
        let url = format!("https://127.0.0.1:{}", free_port(&inv)?);
        let id = lab_grow::free_id(&inv, "", inv.routers.len());
        let started = Instant::now();
        let t0 = unix_ms();
        let identity = vxguard_lab::tls::ensure_identity(&self.state.join(&name))?;
        let node = lab_grow::router_host(
            &mut inv,
            &self.state,
            &sites,
            &name,
            &site_name,
            "1.5",
            &url,
            "eth0",
            addr,
            &id,
        )?;
        inv.routers.push(node.clone());
        inv.save(&self.state)?;
        let spec = json!({
            "name": name,
            "site": site_name,
            "version": "1.5",
            "underlay_address": addr.to_string(),
            "api_endpoint": url,
            "api_certificate_sha256": CertSha256::from_bytes(identity.fingerprint()).to_string(),
        });
        let registered = self.api.call("POST", "/api/v1/routers", Some(&spec));
        let run = async {
            registered?;
            let intent = self.intent().await?;
            let key = lab_up::router_keys(&self.pool, &intent)
                .await?
                .into_iter()
                .find(|(n, _)| *n == name)
                .map(|(_, k)| k)
                .with_context(|| format!("router {name}: no API key generated"))?;
            let pid = lab_up::start_router(&node, &key, self.minute_secs)?;
            inv.processes.push(Process {
                pid,
                what: format!("lab router {name}"),
            });
            inv.save(&self.state)?;
            lab_up::wait_api(&node).await?;
            Ok::<Change, anyhow::Error>(self.follow(&name, started, t0).await?)
        };
        match run.await {
            Ok(c) => Ok(c),
            Err(e) => {
                self.abandon(DeviceKind::Router, &name).await;
                Err(e)
            }
        }
    }

    /// A hypervisor `hv-<site>-grow` (no VMs) in the first lab
    /// hypervisor's site: the platform change (`POST
    /// /api/v1/hypervisors`, its switch's socket as `lab up` registers
    /// it), then built as `lab up` builds one (host namespace, OVS,
    /// WireGuard from its revision, its agent); then the mesh change
    /// followed to the end. Undone when a step fails.
    async fn add_hypervisor(&self) -> Result<Change> {
        let mut inv = Inventory::load(&self.state)?;
        let intent = self.intent().await?;
        let first = inv
            .hypervisors
            .first()
            .context("the lab has no hypervisor")?;
        let site_name = first.site.clone();
        let sites = lab_up::sites(&intent);
        let addr = lab_grow::free_address(site(&sites, &site_name)?, &used_addresses(&intent))
            .with_context(|| format!("site {site_name} has no free underlay address"))?;
        let name = free_name(&intent, "hv", &site_name);
        let id = lab_grow::free_id(&inv, "h", inv.hypervisors.len());
        let bridge = "br-int";
        let target = format!(
            "unix:{}",
            lab_up::hypervisor_run_dir(&self.state, &name)
                .join(format!("{bridge}.mgmt"))
                .display()
        );
        let started = Instant::now();
        let t0 = unix_ms();
        let spec = json!({
            "name": name,
            "site": site_name,
            "underlay_address": addr.to_string(),
            "bridge": bridge,
            "openflow_endpoint": target,
        });
        let run = async {
            self.api.call("POST", "/api/v1/hypervisors", Some(&spec))?;
            let intent = self.intent().await?;
            let h = intent
                .platform
                .hypervisors
                .iter()
                .find(|h| h.name.as_str() == name)
                .with_context(|| {
                    format!("hypervisor {name} is not in the platform after its POST")
                })?
                .clone();
            let a = self.up_args(&inv);
            lab_up::build_hypervisor(&self.pool, &a, &intent, &sites, &mut inv, id, &h).await?;
            Ok::<Change, anyhow::Error>(self.follow(&name, started, t0).await?)
        };
        match run.await {
            Ok(c) => Ok(c),
            Err(e) => {
                self.abandon(DeviceKind::Hypervisor, &name).await;
                Err(e)
            }
        }
    }

    /// The platform change (`DELETE`), followed to the end; then the
    /// device leaves the lab (it carried traffic until the mesh no longer
    /// named it).
    async fn remove_device(&self, kind: DeviceKind, name: &str) -> Result<Change> {
        let started = Instant::now();
        let t0 = unix_ms();
        self.api.call(
            "DELETE",
            &format!("/api/v1/{}s/{name}", kind.as_str()),
            None,
        )?;
        let mut c = self.follow(name, started, t0).await?;
        let mut inv = Inventory::load(&self.state)?;
        let state = self.state.clone();
        let n = name.to_string();
        tokio::task::spawn_blocking(move || match kind {
            DeviceKind::Router => lab_grow::remove_router(&mut inv, &state, &n),
            DeviceKind::Hypervisor => lab_grow::remove_hypervisor(&mut inv, &state, &n),
        })
        .await
        .context("removing the device panicked")??;
        c.steps
            .push(("left the lab".into(), started.elapsed().as_secs_f64()));
        c.secs = started.elapsed().as_secs_f64();
        Ok(c)
    }

    /// After a failed add: the platform forgets the device (a dead VTEP
    /// would hold every later mesh change) and the lab removes it.
    async fn abandon(&self, kind: DeviceKind, name: &str) {
        let path = format!("/api/v1/{}s/{name}", kind.as_str());
        if self.api.call("GET", &path, None).is_ok() {
            if let Err(e) = self.api.call("DELETE", &path, None) {
                eprintln!("lab check: {name} could not be removed from vxguard: {e}");
            }
        }
        let Ok(mut inv) = Inventory::load(&self.state) else {
            return;
        };
        let state = self.state.clone();
        let n = name.to_string();
        let done = tokio::task::spawn_blocking(move || {
            let r = match kind {
                DeviceKind::Router => lab_grow::remove_router(&mut inv, &state, &n),
                DeviceKind::Hypervisor => lab_grow::remove_hypervisor(&mut inv, &state, &n),
            };
            if let Err(lab_grow::GrowError::Unknown(_)) = r {
                // Only its host namespace was made.
                let ns = format!("{}-{n}", inv.prefix);
                let _ = vxguard_lab::underlay::delete_ns(&ns);
                inv.namespaces.retain(|x| *x != ns);
                let _ = inv.save(&state);
                return Ok(());
            }
            r
        })
        .await;
        match done {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                eprintln!("lab check: {name} left in the lab ({e}); `vxguard-lab down` removes it")
            }
            Err(e) => eprintln!("lab check: removing {name} from the lab panicked: {e}"),
        }
    }

    /// Follows the mesh change a platform change started until it is
    /// released and every device holds its latest revision with no job
    /// left: the seconds (from `started`) at which each step was first
    /// seen, and each other device's last apply (from `t0`, Unix ms).
    async fn follow(&self, changed: &str, started: Instant, t0: i64) -> Result<Change> {
        let mut steps: Vec<(String, f64)> = Vec::new();
        let seen = |what: &str, steps: &mut Vec<(String, f64)>| {
            if !steps.iter().any(|(s, _)| s == what) {
                steps.push((what.into(), started.elapsed().as_secs_f64()));
            }
        };
        loop {
            let mesh = vxguard_store::mesh::state(&self.pool).await?;
            match mesh.step() {
                Step::Staged => seen("staged", &mut steps),
                Step::Switched => seen("switched", &mut steps),
                Step::Steady => {
                    if steps.iter().any(|(s, _)| s == "staged" || s == "switched") {
                        seen("released", &mut steps);
                    }
                }
            }
            let devices = applies::devices(&self.pool).await?;
            let applied = devices
                .iter()
                .all(|d| d.latest.is_some() && d.latest == d.applied);
            let waiting = jobs::unfinished(&self.pool).await?;
            let released = steps.iter().any(|(s, _)| s == "released");
            // A change that never stages (it should) still ends, once the
            // platform is at rest long after it.
            let at_rest = mesh.step() == Step::Steady && applied && waiting == 0;
            if at_rest && (released || started.elapsed() > Duration::from_secs(30)) {
                seen("applied", &mut steps);
                let devices = devices
                    .iter()
                    .filter(|d| d.name != changed)
                    .filter_map(|d| {
                        let at = d.last_apply_at?.timestamp_millis();
                        (at > t0).then(|| (d.name.clone(), (at - t0) as f64 / 1000.0))
                    })
                    .collect();
                return Ok(Change {
                    device: changed.to_string(),
                    steps,
                    devices,
                    secs: started.elapsed().as_secs_f64(),
                });
            }
            if started.elapsed() > self.wait {
                let pending: Vec<String> = devices
                    .iter()
                    .filter(|d| d.latest != d.applied)
                    .map(|d| d.name.clone())
                    .collect();
                bail!(
                    "the mesh change was not done after {} s (steps seen: {steps:?}; mesh {:?}; \
                     not applied: {pending:?}; {waiting} job(s) not done)",
                    self.wait.as_secs(),
                    mesh.step()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
