//! `vxguard-lab up`: builds the platform vxguard knows in network
//! namespaces on this machine and registers it, so the normal worker
//! applies to it.
//!
//! It lives in the lab binary, not in the server (issue 16): it needs the
//! server library (demo), the store (changes, the compile lock) and the
//! lab, and the production binary must not link the lab.
//!
//! The database is the truth: when it is empty, the topology file is loaded
//! first (as `vxguard demo` does); then every router and hypervisor of the
//! stored intent is built. Registration is an ordinary change through
//! `Store::change` (audited, one job per device): each router's
//! `api_endpoint` becomes its lab router's `https://127.0.0.1:PORT` and its
//! `api_certificate_sha256` the lab router's self-signed certificate (made
//! here, in the router's state directory, before the router starts), each
//! hypervisor's `openflow_endpoint` its switch's management socket. The lab
//! routers are started with the API key vxguard generated for them (read
//! from the device secrets under the compile lock, so the worker and the
//! lab never generate two different keys), passed in the environment, never
//! on a command line.
//!
//! The management network of the lab is the host's loopback: routers'
//! APIs listen on 127.0.0.1, switches on unix sockets; everything on the
//! wires between machines is in the lab's namespaces.

use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use vxguard::auth::principal::{Principal, Role};
use vxguard::{db, demo};
use vxguard_compiler::hypervisor_config::HypervisorConfig;
use vxguard_compiler::ids::CertSha256;
use vxguard_compiler::intent::Intent;
use vxguard_lab::hypervisor::{self, HypervisorSpec, VmSpec};
use vxguard_lab::inventory::{HypervisorNode, Inventory, Process, RouterNode, Vm, FILE};
use vxguard_lab::underlay::{self, Site};
use vxguard_lab::UpArgs;
use vxguard_store::intent as store_intent;
use vxguard_store::kind::Kind;
use vxguard_store::write::Op;
use vxguard_store::{applies, jobs, locks, objects, revisions, Store};

/// Runs `vxguard-lab up`; true when every device ended applied.
pub async fn up(a: UpArgs) -> Result<bool> {
    let started = Instant::now();
    preflight(&a)?;
    let pool = db::connect(&a.database_url, 4).await?;
    // The device keys are sealed: the same master key file as the server's
    // (VXGUARD_MASTER_KEY_FILE, or the default).
    let master_key = vxguard::master_key::MasterKeyArgs::from_env();
    vxguard::master_key::open(&pool, &master_key, vxguard::master_key::Start::Command).await?;
    let empty = objects::total(&mut *pool.acquire().await?).await? == 0;
    if empty {
        let loaded = demo::run(demo::DemoArgs {
            database_url: a.database_url.clone(),
            file: Some(a.topology.clone()),
            password: std::env::var("VXGUARD_DEMO_PASSWORD")
                .unwrap_or_else(|_| "vxguard-demo-password".into()),
            master_key,
        })
        .await?;
        if !loaded {
            bail!("{}: the topology does not load", a.topology.display());
        }
    }
    let intent = register(&pool, &a).await?;
    let keys = router_keys(&pool, &intent).await?;

    let mut inv = Inventory {
        prefix: a.prefix.clone(),
        api: a.api.clone(),
        wg_port: intent.platform.wireguard.port,
        ..Default::default()
    };
    std::fs::create_dir_all(&a.state).with_context(|| format!("creating {}", a.state.display()))?;
    inv.save(&a.state)?;
    let sites = sites(&intent);
    underlay::build_wan(&mut inv, &a.state, &sites)?;
    for (i, r) in intent.platform.routers.iter().enumerate() {
        let std::net::IpAddr::V4(addr) = r.underlay_address else {
            bail!("router {}: the lab builds an IPv4 underlay only", r.name);
        };
        let id = vxguard_lab::grow::node_id(&a.prefix, "", i);
        let node = vxguard_lab::grow::router_host(
            &mut inv,
            &a.state,
            &sites,
            r.name.as_str(),
            r.site.as_str(),
            r.version.as_str(),
            &r.api_endpoint,
            &r.underlay_interface,
            addr,
            &id,
        )?;
        let key = keys
            .iter()
            .find(|(n, _)| n == r.name.as_str())
            .map(|(_, k)| k.clone())
            .with_context(|| format!("router {}: no API key generated", r.name))?;
        let pid = start_router(&node, &key, a.minute_secs)?;
        inv.processes.push(Process {
            pid,
            what: format!("lab router {}", node.name),
        });
        inv.routers.push(node);
        inv.save(&a.state)?;
    }
    for r in &inv.routers {
        wait_api(r).await?;
    }
    eprintln!(
        "lab up: {} routers answering after {:.1?}",
        inv.routers.len(),
        started.elapsed()
    );
    for (i, h) in intent.platform.hypervisors.iter().enumerate() {
        let id = vxguard_lab::grow::node_id(&a.prefix, "h", i);
        build_hypervisor(&pool, &a, &intent, &sites, &mut inv, id, h).await?;
        eprintln!(
            "lab up: hypervisor {} built after {:.1?}",
            h.name,
            started.elapsed()
        );
    }
    let ok = wait_applied(&pool, &intent, Duration::from_secs(a.wait_secs)).await?;
    eprintln!(
        "lab up: {} in {:.1?} (inventory {})",
        if ok {
            "every device applied"
        } else {
            "NOT every device applied"
        },
        started.elapsed(),
        a.state.join(FILE).display()
    );
    Ok(ok)
}

fn preflight(a: &UpArgs) -> Result<()> {
    if !vxguard_lab::inventory::valid_prefix(&a.prefix) {
        bail!("--prefix {:?}: 1-4 lowercase letters or digits", a.prefix);
    }
    if a.state.join(FILE).exists() {
        bail!(
            "a lab is up (inventory {}); run `vxguard-lab down` first",
            a.state.join(FILE).display()
        );
    }
    let taken = vxguard_lab::down::namespaces_of(&a.prefix);
    if !taken.is_empty() {
        bail!(
            "--prefix {}: {} namespaces named {}-* exist already ({}): another lab with this \
             prefix, or one whose state is lost; `vxguard-lab down --prefix {}` removes them",
            a.prefix,
            taken.len(),
            a.prefix,
            taken.iter().take(4).cloned().collect::<Vec<_>>().join(", ")
                + if taken.len() > 4 { ", ..." } else { "" },
            a.prefix
        );
    }
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .context("running id")?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        bail!("lab up makes network namespaces: run it as root");
    }
    for p in [
        "ip",
        "wg",
        "wireguard-go",
        "keepalived",
        "nft",
        "ovs-vswitchd",
    ] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {p}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            bail!("{p} is missing: run scripts/setup (it installs the lab's packages)");
        }
    }
    if !Path::new("/usr/lib/frr/bgpd").exists() {
        bail!("FRR is missing: run scripts/setup (it installs the lab's packages)");
    }
    Ok(())
}

/// The platform operator who registers lab devices, for the audit log.
pub(crate) fn lab_operator() -> Principal {
    Principal {
        subject: "lab:up".into(),
        user_id: None,
        owner: None,
        role: Role::PlatformAdmin,
        tenant_id: None,
        source: "vxguard-lab up".into(),
    }
}

/// Points every router of the stored intent at its lab router (ports from
/// `base_port` in name order); returns the intent as registered.
async fn register(pool: &sqlx::PgPool, a: &UpArgs) -> Result<Intent> {
    let store = Store::new(pool.clone());
    let mut conn = pool.acquire().await?;
    let intent = store_intent::load(&mut conn).await?.intent;
    drop(conn);
    for (i, r) in intent.platform.routers.iter().enumerate() {
        let port = a
            .base_port
            .checked_add(i as u16)
            .context("--base-port: too high for this many routers")?;
        let url = format!("https://127.0.0.1:{port}");
        // The router's certificate, made now (the lab router serves the
        // one in its state directory) so that it is pinned from the start.
        let identity = vxguard_lab::tls::ensure_identity(&a.state.join(r.name.as_str()))?;
        let pin = CertSha256::from_bytes(identity.fingerprint());
        if r.api_endpoint == url && r.api_certificate_sha256 == Some(pin) {
            continue;
        }
        let mut spec = serde_json::to_value(r)?;
        spec["api_endpoint"] = url.into();
        spec["api_certificate_sha256"] = pin.to_string().into();
        store
            .change(
                &lab_operator(),
                Kind::Router,
                None,
                Some(r.name.as_str()),
                Op::Replace(spec),
                None,
            )
            .await
            .map_err(|e| refused(&format!("registering router {}", r.name), e))?;
    }
    for h in &intent.platform.hypervisors {
        let target = format!(
            "unix:{}",
            hypervisor_run_dir(&a.state, h.name.as_str())
                .join(format!("{}.mgmt", h.bridge))
                .display()
        );
        if h.openflow_endpoint.as_deref() == Some(target.as_str()) {
            continue;
        }
        let mut spec = serde_json::to_value(h)?;
        spec["openflow_endpoint"] = target.into();
        store
            .change(
                &lab_operator(),
                Kind::Hypervisor,
                None,
                Some(h.name.as_str()),
                Op::Replace(spec),
                None,
            )
            .await
            .map_err(|e| refused(&format!("registering hypervisor {}", h.name), e))?;
    }
    let mut conn = pool.acquire().await?;
    Ok(store_intent::load(&mut conn).await?.intent)
}

/// A refused registration, with the reasons as the API would give them.
pub(crate) fn refused(what: &str, e: vxguard_store::WriteError) -> anyhow::Error {
    let p = vxguard::problem::Problem::from(e);
    anyhow::anyhow!(
        "{what}: {} {}",
        p.detail,
        serde_json::to_string(&p.errors).unwrap_or_default()
    )
}

/// Where a lab hypervisor keeps its daemons' files and OVS's sockets.
pub(crate) fn hypervisor_run_dir(state: &Path, name: &str) -> std::path::PathBuf {
    state.join(name)
}

/// Each router's generated API key (generated now when missing, under the
/// worker's compile lock).
pub(crate) async fn router_keys(
    pool: &sqlx::PgPool,
    intent: &Intent,
) -> Result<Vec<(String, String)>> {
    let mut tx = pool.begin().await?;
    locks::compile(&mut tx).await?;
    let s = store_intent::reconcile_secrets(&mut tx, intent).await?;
    tx.commit().await?;
    Ok(s.routers
        .iter()
        .map(|(n, r)| (n.clone(), r.api_key.clone()))
        .collect())
}

pub(crate) fn sites(intent: &Intent) -> Vec<Site> {
    intent
        .platform
        .sites
        .iter()
        .map(|s| Site {
            name: s.name.to_string(),
            blocks: s.public_blocks.clone(),
        })
        .collect()
}

/// Builds hypervisor `h` (the `i`-th): its host namespace on the underlay,
/// then OVS, WireGuard and its VMs from its latest revision (waiting for
/// the worker to compile one). Its flows are the OVS driver's job.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn build_hypervisor(
    pool: &sqlx::PgPool,
    a: &UpArgs,
    intent: &Intent,
    sites: &[Site],
    inv: &mut Inventory,
    id: String,
    h: &vxguard_compiler::intent::Hypervisor,
) -> Result<()> {
    let std::net::IpAddr::V4(addr) = h.underlay_address else {
        bail!(
            "hypervisor {}: the lab builds an IPv4 underlay only",
            h.name
        );
    };
    let ns = vxguard_lab::grow::hypervisor_host(
        inv,
        &a.state,
        sites,
        h.name.as_str(),
        h.site.as_str(),
        addr,
        &id,
    )?;
    let config = wait_hypervisor_revision(pool, h.name.as_str(), a.wait_secs).await?;
    let alloc = {
        let mut tx = pool.begin().await?;
        let alloc = store_intent::allocation_for_update(&mut tx).await?;
        tx.commit().await?;
        alloc
    };
    let mut vms = Vec::new();
    for t in &intent.tenants {
        for n in &t.networks {
            for p in n.ports.iter().filter(|p| p.hypervisor == h.name) {
                let Some(address) = p.address else {
                    eprintln!("lab up: port {} has no address; no VM made for it", p.name);
                    continue;
                };
                let gateway = alloc
                    .tenants
                    .get(t.slug.as_str())
                    .and_then(|ta| ta.networks.get(n.name.as_str()))
                    .and_then(|na| na.sites.get(h.site.as_str()))
                    .map(|g| g.virtual_address)
                    .with_context(|| {
                        format!(
                            "tenant {} network {}: no gateway at site {} for port {}",
                            t.slug, n.name, h.site, p.name
                        )
                    })?;
                vms.push(Vm {
                    tenant: t.slug.to_string(),
                    network: n.name.to_string(),
                    port: p.name.clone(),
                    hypervisor: h.name.to_string(),
                    site: h.site.to_string(),
                    ns: format!("{}-{}", a.prefix, p.name),
                    address,
                    prefix_len: n.cidr.prefix_len(),
                    gateway,
                });
            }
        }
    }
    let run_dir = hypervisor_run_dir(&a.state, h.name.as_str());
    let node = HypervisorNode {
        name: h.name.to_string(),
        site: h.site.to_string(),
        ns: ns.clone(),
        ovs_ns: format!("{ns}-ovs"),
        id: id.clone(),
        openflow: format!(
            "unix:{}",
            run_dir.join(format!("{}.mgmt", h.bridge)).display()
        ),
        run_dir: run_dir.clone(),
        underlay_address: addr,
        vtep: config.vtep,
    };
    // Recorded before it is built: `lab down` tears down from its run dir.
    inv.hypervisors.push(node.clone());
    inv.save(&a.state)?;
    let spec = HypervisorSpec {
        name: h.name.to_string(),
        id,
        ns,
        ovs_ns: node.ovs_ns.clone(),
        run_dir,
        bridge: h.bridge.clone(),
        config,
        mtu: vxguard_compiler::mtu::mtu_budget(intent).1,
        vms: vms
            .iter()
            .map(|v| {
                Ok(VmSpec {
                    port: v.port.clone(),
                    ns: v.ns.clone(),
                    address: ipnet::Ipv4Net::new(v.address, v.prefix_len)?,
                    gateway: v.gateway,
                })
            })
            .collect::<Result<_>>()?,
    };
    let built = tokio::task::spawn_blocking(move || hypervisor::build(&spec))
        .await
        .context("building a hypervisor panicked")?
        .with_context(|| format!("building hypervisor {}", h.name))?;
    if built.openflow != node.openflow {
        bail!(
            "hypervisor {}: its switch listens on {}, but {} was registered",
            h.name,
            built.openflow,
            node.openflow
        );
    }
    // Its host's agent: later revisions' WireGuard sections.
    let pid = start_agent(&node, &a.database_url)?;
    inv.processes.push(Process {
        pid,
        what: format!("lab hypervisor agent {}", node.name),
    });
    inv.save(&a.state)?;
    inv.vms.extend(vms);
    inv.save(&a.state)?;
    Ok(())
}

/// The hypervisor's latest revision, once the worker has compiled one,
/// with its real WireGuard key.
async fn wait_hypervisor_revision(
    pool: &sqlx::PgPool,
    name: &str,
    wait_secs: u64,
) -> Result<HypervisorConfig> {
    let t = Instant::now();
    loop {
        let text: Option<String> = {
            let mut conn = pool.acquire().await?;
            revisions::latest_config(&mut conn, "hypervisor", name)
                .await?
                .map(|(_, c)| c)
        };
        if let Some(text) = text {
            let mut c = HypervisorConfig::parse_text(&text)
                .map_err(|e| anyhow::anyhow!("hypervisor {name}'s revision: {e}"))?;
            // The revision names the key by placeholder: the host gets the
            // real one, from the sealed store.
            let secrets = store_intent::secrets(&mut *pool.acquire().await?).await?;
            let keys = secrets
                .hypervisors
                .get(name)
                .map(vxguard_compiler::sealed::Vault::hypervisor)
                .unwrap_or_default();
            c.wireguard = vxguard_compiler::sealed::fill_wireguard(&c.wireguard, &keys)
                .with_context(|| format!("hypervisor {name}'s revision"))?;
            return Ok(c);
        }
        if t.elapsed() > Duration::from_secs(wait_secs) {
            bail!("hypervisor {name}: no revision after {wait_secs} s (is a worker running?)");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `HOST:PORT` of a lab router's `https://HOST:PORT`.
fn listen_addr(r: &RouterNode) -> &str {
    r.api_url.trim_start_matches("https://")
}

/// Starts `vxguard-lab router` for `r` in its own process group (it
/// outlives `lab up`), logging to `<state dir>.log`. The router is this
/// very binary (`router` is its subcommand), so the two never disagree.
pub(crate) fn start_router(r: &RouterNode, key: &str, minute_secs: f64) -> Result<u32> {
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe().context("finding the vxguard-lab binary")?;
    let listen = listen_addr(r);
    let log_path = r.state_dir.with_extension("log");
    let log = std::fs::File::create(&log_path)
        .with_context(|| format!("creating {}", log_path.display()))?;
    let child = Command::new(exe)
        .args(["router", "--listen", listen, "--version", &r.version])
        .arg("--state")
        .arg(&r.state_dir)
        .args(["--netns", &r.ns, "--id", &r.id])
        .args(["--minute-secs", &minute_secs.to_string()])
        .env("VXGUARD_LAB_KEY", key)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0)
        .spawn()
        .with_context(|| format!("starting lab router {}", r.name))?;
    Ok(child.id())
}

/// Starts `vxguard-lab hypervisor-agent` for `h` in its own process group
/// (it outlives `lab up`), logging to `<run dir>.agent.log`; the database
/// URL goes in the environment (it may hold a password), and the master
/// key file is this process's (`VXGUARD_MASTER_KEY_FILE`, inherited).
fn start_agent(h: &HypervisorNode, database_url: &str) -> Result<u32> {
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe().context("finding the vxguard-lab binary")?;
    let log_path = h.run_dir.with_extension("agent.log");
    let log = std::fs::File::create(&log_path)
        .with_context(|| format!("creating {}", log_path.display()))?;
    let child = Command::new(exe)
        .args(["hypervisor-agent", "--hypervisor", &h.name])
        .arg("--run-dir")
        .arg(&h.run_dir)
        .env("DATABASE_URL", database_url)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0)
        .spawn()
        .with_context(|| format!("starting the agent of hypervisor {}", h.name))?;
    Ok(child.id())
}

/// Waits until the router's API accepts connections (it loads the VyOS
/// definitions first).
pub(crate) async fn wait_api(r: &RouterNode) -> Result<()> {
    let addr = listen_addr(r);
    let t = Instant::now();
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        if t.elapsed() > Duration::from_secs(30) {
            bail!(
                "lab router {} did not answer on {addr} within 30 s (log {})",
                r.name,
                r.state_dir.with_extension("log").display()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// Waits until no job is queued or running and every router's and
/// hypervisor's latest revision is the last one applied to it; false at
/// the deadline. (Without the jobs, a change still waiting for its compile
/// would land during the checks that follow.)
async fn wait_applied(pool: &sqlx::PgPool, intent: &Intent, limit: Duration) -> Result<bool> {
    let t = Instant::now();
    loop {
        let mut pending = Vec::new();
        let devices = intent
            .platform
            .routers
            .iter()
            .map(|r| ("router", r.name.as_str()))
            .chain(
                intent
                    .platform
                    .hypervisors
                    .iter()
                    .map(|h| ("hypervisor", h.name.as_str())),
            );
        for (kind, name) in devices {
            let latest = revisions::latest_id(pool, kind, name).await?;
            let applied = applies::last_applied(pool, kind, name).await?;
            if latest.is_none() || latest != applied {
                pending.push(name.to_string());
            }
        }
        // A change whose job is not compiled yet has no revision yet: the
        // latest revisions being applied means nothing until no job waits.
        let waiting = jobs::unfinished(pool).await?;
        if waiting > 0 {
            pending.push(format!("{waiting} job(s) not done"));
        }
        if pending.is_empty() {
            return Ok(true);
        }
        if t.elapsed() > limit {
            eprintln!("lab up: still not applied: {}", pending.join(", "));
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
