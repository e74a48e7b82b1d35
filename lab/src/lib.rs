//! vxguard's lab: stand-ins for the devices vxguard drives, on one machine.
//!
//! This round: [`router`], a VyOS router as seen through its HTTP API
//! (`vxguard-lab router`), with the running configuration in memory as a
//! `vyos_tree::ConfigTree`, saved to a state directory on every commit.
//!
//! [`tls`]: the router's HTTPS: a self-signed certificate kept in its state
//! directory (the driver pins it), served as VyOS's nginx serves the API.
//!
//! [`netns`]: a realiser that builds the committed configuration in
//! network namespaces (`vxguard-lab router --netns NS --id ID`): WireGuard
//! (wireguard-go), VXLAN, bridges and VRF namespaces so far.
//!
//! [`hypervisor`]: a hypervisor (Open vSwitch userspace datapath, VMs,
//! wireguard-go) built in namespaces from its compiled configuration.
//!
//! The hook: [`realise::Realiser`]. The router calls
//! it under the commit lock after a commit validated, with the old and new
//! trees, and fails the commit if it fails; a realiser that builds the
//! router's namespaces and drives wireguard-go, iproute2, FRR, keepalived
//! and nftables plugs in there without touching the API side, and reports
//! BGP sessions for `/show ["bgp", ...]` through
//! [`realise::Realiser::bgp_sessions`].

pub mod alerts;
pub mod check;
pub mod down;
pub mod grow;
pub mod hypervisor;
pub mod inventory;
pub mod netns;
pub mod opmode;
pub mod realise;
pub mod router;
pub mod state;
pub mod tls;
pub mod underlay;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use vyos_api::ApiVersion;

/// `vxguard-lab ...`
#[derive(Debug, clap::Subcommand)]
pub enum LabCmd {
    /// Run a stand-in VyOS router: the VyOS HTTP API subset vxguard's driver
    /// uses, over HTTPS (a self-signed certificate kept in its state
    /// directory), configuration validated against vyos-1x.
    Router(RouterArgs),
    /// Build the platform of a topology (an intent file) in network
    /// namespaces, register its routers and hypervisors in vxguard, and
    /// leave it running (needs root and vxguard's database).
    Up(UpArgs),
    /// Remove everything `lab up` made, from the inventory on disk (also
    /// after a crash).
    Down(DownArgs),
    /// Run real traffic through a lab `lab up` built and print a matrix
    /// of what reached what against vxguard's intent; fails on any
    /// difference.
    Check(check::CheckArgs),
    /// Start a real Prometheus (on 127.0.0.1) with vxguard's generated
    /// scrape configuration and a test variant of its rules (short `for:`),
    /// cut a lab router off, and time the alerts from the cut to `firing`
    /// and from its return to resolved; fails when they do not.
    Alerts(alerts::AlertsArgs),
    /// The lab's model of a hypervisor host's agent (`lab up` starts one
    /// per hypervisor): follows the hypervisor's latest revision and
    /// applies its `## wireguard` section (`hypervisor::apply_wireguard`),
    /// so that the hypervisor follows mesh changes and key rotations.
    HypervisorAgent(HypervisorAgentArgs),
}

#[derive(Debug, clap::Args)]
pub struct HypervisorAgentArgs {
    /// The hypervisor's name in vxguard.
    #[arg(long)]
    pub hypervisor: String,
    /// Its run directory (the record `hypervisor::build` wrote).
    #[arg(long)]
    pub run_dir: PathBuf,
    /// Milliseconds between two looks at its latest revision.
    #[arg(long, default_value_t = 300)]
    pub poll_ms: u64,
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/vxguard"
    )]
    pub database_url: String,
}

/// Where a lab keeps its inventory, routers' state and daemons' files.
pub const DEFAULT_STATE: &str = "/run/vxguard-lab";

#[derive(Debug, clap::Args)]
pub struct UpArgs {
    /// The intent whose platform is built (its routers, hypervisors, sites
    /// and tenant ports); loaded into vxguard when its database is empty.
    #[arg(long, default_value = "examples/two-dc.yaml")]
    pub topology: PathBuf,
    #[arg(long, default_value = DEFAULT_STATE)]
    pub state: PathBuf,
    /// Prefix of every namespace the lab makes.
    #[arg(long, default_value = "vxl")]
    pub prefix: String,
    /// vxguard's API, recorded for `lab check`.
    #[arg(long, env = "VXGUARD_API", default_value = "http://127.0.0.1:3000")]
    pub api: String,
    /// The first lab router's API port on 127.0.0.1 (the next ones follow).
    #[arg(long, default_value_t = 18441)]
    pub base_port: u16,
    /// Seconds one commit-confirm minute lasts on the lab's 1.5 routers.
    #[arg(long, default_value_t = 60.0)]
    pub minute_secs: f64,
    /// Seconds to wait for vxguard to apply every device.
    #[arg(long, default_value_t = 300)]
    pub wait_secs: u64,
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/vxguard"
    )]
    pub database_url: String,
}

#[derive(Debug, clap::Args)]
pub struct DownArgs {
    /// The lab's state directory (its inventory); default
    /// /run/vxguard-lab, unless only `--prefix` is given.
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// Also remove, without an inventory, every namespace named
    /// `PREFIX-*`, the processes in it and the lab routers serving it:
    /// a lab whose state directory is lost.
    #[arg(long)]
    pub prefix: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct RouterArgs {
    /// Address to listen on (HTTPS, with the self-signed certificate kept
    /// in the state directory, made on first start).
    #[arg(long, default_value = "127.0.0.1:8443")]
    pub listen: SocketAddr,
    /// The API key accepted until the configuration has
    /// `service https api keys`.
    #[arg(long, env = "VXGUARD_LAB_KEY")]
    pub key: String,
    /// VyOS release to behave as: 1.4 or 1.5.
    #[arg(long, value_parser = parse_version, default_value = "1.5")]
    pub version: ApiVersion,
    /// Directory for the running configuration (created if missing).
    #[arg(long)]
    pub state: PathBuf,
    /// vyos-1x definitions for that release (a checkout or its
    /// `interface-definitions/`); default: the release's built-in ones.
    #[arg(long = "vyos-defs")]
    pub vyos_defs: Option<PathBuf>,
    /// Seconds one `confirm_time` minute lasts (tests shorten it).
    #[arg(long, env = "VXGUARD_LAB_MINUTE_SECS", default_value_t = 60.0)]
    pub minute_secs: f64,
    /// Milliseconds each commit holds the commit lock beyond its work.
    #[arg(long, default_value_t = 0)]
    pub commit_delay_ms: u64,
    /// Realise committed configuration in network namespaces: the
    /// router's namespace (made by the lab). Without it, nothing is
    /// realised (configuration is only stored).
    #[arg(long, requires = "id")]
    pub netns: Option<String>,
    /// The router's host-unique id (1-3 lowercase letters or digits),
    /// prefixed to its interface names; with `--netns`.
    #[arg(long, requires = "netns")]
    pub id: Option<String>,
}

fn parse_version(s: &str) -> Result<ApiVersion, String> {
    ApiVersion::parse(s).ok_or_else(|| format!("{s:?}: expected 1.4 or 1.5"))
}

/// Why a lab command failed.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error("loading VyOS definitions from {dir}: {source}")]
    Defs {
        dir: PathBuf,
        source: vyos_defs::LoadError,
    },
    #[error("--minute-secs must be a positive number of seconds")]
    Minute,
    #[error(transparent)]
    Router(#[from] router::RouterError),
    #[error(transparent)]
    Netns(#[from] netns::NetnsError),
    #[error("lab down: {0}")]
    Down(down::DownError),
    #[error("`lab up` and `lab hypervisor-agent` read vxguard's store: run them as `vxguard-lab`")]
    NeedsServer,
    #[error(transparent)]
    Check(#[from] check::CheckError),
    #[error("lab alerts: {0}")]
    Alerts(#[from] alerts::AlertsError),
    #[error("lab alerts: the alerts did not fire and resolve as expected")]
    AlertsFailed,
    #[error("serving: {0}")]
    Serve(std::io::Error),
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
}

/// The built-in definitions of a release (a copy: callers own theirs).
pub fn builtin_defs(version: ApiVersion) -> vyos_defs::Definitions {
    vyos_defs::builtin::definitions(version.as_str())
        .unwrap_or_else(|| panic!("VyOS {} has no built-in definitions", version.as_str()))
        .clone()
}

/// Runs a lab command to its end.
pub async fn run(cmd: LabCmd) -> Result<(), LabError> {
    match cmd {
        LabCmd::Router(a) => run_router(a).await,
        LabCmd::Down(a) => down::run(&a).map_err(LabError::Down),
        LabCmd::Up(_) | LabCmd::HypervisorAgent(_) => Err(LabError::NeedsServer),
        LabCmd::Check(a) => tokio::task::spawn_blocking(move || check::run(&a, None))
            .await
            .expect("lab check panicked")
            .map_err(LabError::from),
        LabCmd::Alerts(a) => {
            match tokio::task::spawn_blocking(move || alerts::run(&a))
                .await
                .expect("lab alerts panicked")?
            {
                true => Ok(()),
                false => Err(LabError::AlertsFailed),
            }
        }
    }
}

async fn run_router(a: RouterArgs) -> Result<(), LabError> {
    if !(a.minute_secs.is_finite() && a.minute_secs > 0.0) {
        return Err(LabError::Minute);
    }
    let defs = match &a.vyos_defs {
        Some(dir) => vyos_defs::Definitions::load(dir).map_err(|source| LabError::Defs {
            dir: dir.clone(),
            source,
        })?,
        None => builtin_defs(a.version),
    };
    let identity = tls::ensure_identity(&a.state)?;
    let tls = identity.server_config()?;
    let realiser: Arc<dyn realise::Realiser> = match (&a.netns, &a.id) {
        (Some(ns), Some(id)) => Arc::new(netns::NetnsRealiser::new(ns, id, &a.state.join("run"))?),
        _ => Arc::new(realise::Unrealised),
    };
    let r = router::Router::open(
        router::Options {
            key: a.key,
            version: a.version,
            state_dir: a.state,
            minute: Duration::from_secs_f64(a.minute_secs),
            commit_delay: Duration::from_millis(a.commit_delay_ms),
        },
        Arc::new(defs),
        realiser,
    )?;
    let listener = tokio::net::TcpListener::bind(a.listen)
        .await
        .map_err(|source| router::RouterError::Listen {
            addr: a.listen,
            source,
        })?;
    eprintln!(
        "lab router (VyOS {}) on https://{} (certificate SHA-256 {})",
        a.version.as_str(),
        listener.local_addr().map_err(LabError::Serve)?,
        vyos_api::tls::fingerprint_text(&identity.fingerprint()),
    );
    tokio::spawn(r.clone().maintain_forever());
    r.serve_following(listener, a.listen, tls)
        .await
        .map_err(LabError::Serve)
}
