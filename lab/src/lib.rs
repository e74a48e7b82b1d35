//! vxguard's lab: stand-ins for the devices vxguard drives, on one machine.
//!
//! This round: [`router`], a VyOS router as seen through its HTTP API
//! (`vxguard lab router`), with the running configuration in memory as a
//! `vyos_tree::ConfigTree`, saved to a state directory on every commit.
//!
//! [`netns`]: a realiser that builds the committed configuration in
//! network namespaces (`vxguard lab router --netns NS --id ID`): WireGuard
//! (wireguard-go), VXLAN, bridges and VRF namespaces so far.
//!
//! The hook: [`realise::Realiser`]. The router calls
//! it under the commit lock after a commit validated, with the old and new
//! trees, and fails the commit if it fails; a realiser that builds the
//! router's namespaces and drives wireguard-go, iproute2, FRR, keepalived
//! and nftables plugs in there without touching the API side, and reports
//! BGP sessions for `/show ["bgp", ...]` through
//! [`realise::Realiser::bgp_sessions`].

pub mod inventory;
pub mod netns;
pub mod realise;
pub mod router;
pub mod state;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use vyos_api::ApiVersion;

/// `vxguard lab ...`
#[derive(Debug, clap::Subcommand)]
pub enum LabCmd {
    /// Run a stand-in VyOS router: the VyOS HTTP API subset vxguard's driver
    /// uses, over plain HTTP, configuration validated against vyos-1x.
    Router(RouterArgs),
}

#[derive(Debug, clap::Args)]
pub struct RouterArgs {
    /// Address to listen on (plain HTTP; see the crate docs for why).
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
    /// `interface-definitions/`); default: the shared `sagitta`/`current`.
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
    #[error("serving: {0}")]
    Serve(std::io::Error),
}

/// The vyos-1x definitions directory for a release.
pub fn default_defs_dir(version: ApiVersion) -> PathBuf {
    vyos_defs::shared_dir().join(match version {
        ApiVersion::V1_4 => "sagitta",
        ApiVersion::V1_5 => "current",
    })
}

/// Runs a lab command to its end.
pub async fn run(cmd: LabCmd) -> Result<(), LabError> {
    match cmd {
        LabCmd::Router(a) => run_router(a).await,
    }
}

async fn run_router(a: RouterArgs) -> Result<(), LabError> {
    if !(a.minute_secs.is_finite() && a.minute_secs > 0.0) {
        return Err(LabError::Minute);
    }
    let dir = a.vyos_defs.unwrap_or_else(|| default_defs_dir(a.version));
    let defs = vyos_defs::Definitions::load(&dir).map_err(|source| LabError::Defs {
        dir: dir.clone(),
        source,
    })?;
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
        "lab router (VyOS {}) on http://{}",
        a.version.as_str(),
        listener.local_addr().map_err(LabError::Serve)?
    );
    r.serve_following(listener, a.listen)
        .await
        .map_err(LabError::Serve)
}
