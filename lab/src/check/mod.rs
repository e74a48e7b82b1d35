//! `vxguard-lab check`: real traffic through a lab that `lab up` built,
//! judged against what vxguard holds (its API) — the checks 1-7
//! and the throughput ratio — printed as a matrix (or JSON), failing on
//! any difference.
//!
//! Each check is a function over the [`Inventory`] and the probes; the
//! pure parts (pcap reading, policy expectations, the report) are apart
//! and unit-tested. Everything started here (listeners, captures,
//! wireguard-go, a client namespace, a rule, a link taken down) is undone
//! by a guard, also when a step fails.

pub mod api;
pub mod capture;
pub mod change;
pub mod client;
pub mod expect;
pub mod failover;
pub mod grow;
pub mod pcap;
pub mod probe;
pub mod reach;
pub mod report;
pub mod signal;

use signal::interrupted;
pub mod tenants;
pub mod throughput;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::inventory::{Inventory, InventoryError};
use report::Report;

/// `vxguard-lab check`
#[derive(Clone, Debug, clap::Args)]
pub struct CheckArgs {
    /// The lab's state directory (holding `inventory.json`).
    #[arg(long, default_value = "/run/vxguard-lab")]
    pub state: PathBuf,
    /// Print the report as JSON instead of the text matrix.
    #[arg(long)]
    pub json: bool,
    /// The intent file used for expectations when the API is not
    /// (`--no-api`); the API is preferred, since a check must see changes.
    #[arg(long, default_value = "examples/two-dc.yaml")]
    pub topology: PathBuf,
    /// Read expectations from `--topology`, and skip the checks that need
    /// the API (5 client, 6 change).
    #[arg(long)]
    pub no_api: bool,
    #[arg(long, default_value = "admin@example.com")]
    pub email: String,
    #[arg(
        long,
        env = "VXGUARD_DEMO_PASSWORD",
        default_value = "vxguard-demo-password"
    )]
    pub password: String,
    /// How many API changes check 6 makes (p50 and max reported).
    #[arg(long, default_value_t = 20)]
    pub changes: usize,
    /// Checks to leave out: any of client, change, grow (check 8: both
    /// kinds), grow-hypervisor, grow-router, failover, throughput,
    /// dashboard (check 7 without watching the tenant's dashboard).
    #[arg(long, value_delimiter = ',')]
    pub skip: Vec<String>,
    /// TCP connect timeout of one probe, in milliseconds.
    #[arg(long, default_value_t = 1500)]
    pub timeout_ms: u64,
    /// Probes run at once.
    #[arg(long, default_value_t = 16)]
    pub parallel: usize,
    /// The lab routes the internet into tenant networks (vxguard's intent
    /// has no such path, so by default the outside host must reach nothing).
    #[arg(long)]
    pub outside_routed: bool,
    /// Seconds a change made through the API (a client, its revocation,
    /// a rule) may take to reach the devices before a check gives up.
    #[arg(long, default_value_t = 120)]
    pub apply_wait_secs: u64,
    /// vxguard's database: check 8 reads the mesh change's steps and a new
    /// router's API key there (as `lab up` does).
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/vxguard"
    )]
    pub database_url: String,
    /// Seconds one commit-confirm minute lasts on the router check 8 adds
    /// (as `lab up --minute-secs`).
    #[arg(long, default_value_t = 60.0)]
    pub minute_secs: f64,
    /// Seconds each iperf3 run lasts.
    #[arg(long, default_value_t = 5)]
    pub iperf_secs: u32,
}

/// Why `lab check` failed.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(transparent)]
    Inventory(#[from] InventoryError),
    #[error("lab check: {0} failure(s)")]
    Failed(usize),
}

/// Runs every check and prints the report; `Err(Failed)` on any failure.
/// Check 8 needs a [`grow::Grower`] (the lab binary's); without one it is
/// left out with a note.
pub fn run(a: &CheckArgs, grower: Option<&dyn grow::Grower>) -> Result<(), CheckError> {
    let inv = Inventory::load(&a.state)?;
    signal::catch();
    let report = check(&inv, a, grower);
    if a.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.to_text());
    }
    match report.failures() {
        0 => Ok(()),
        n => Err(CheckError::Failed(n)),
    }
}

/// An interrupted run: captures stopped and their files removed.
fn stopped(mut r: Report, caps: Vec<probe::CaptureProc>, dir: &std::path::Path) -> Report {
    drop(caps);
    let _ = std::fs::remove_dir_all(dir);
    r.errors.push("interrupted".into());
    r
}

fn skipped(a: &CheckArgs, what: &str) -> bool {
    a.skip.iter().any(|s| s == what)
}

/// Runs the checks against a running lab and returns the report.
pub fn check(inv: &Inventory, a: &CheckArgs, grower: Option<&dyn grow::Grower>) -> Report {
    let mut r = Report {
        marker: format!("VXGMARK-{}", probe::random_hex(12)),
        ..Default::default()
    };
    let timeout = Duration::from_millis(a.timeout_ms);

    // The intent, preferably as vxguard holds it now.
    let mut api = None;
    let tenants = if a.no_api {
        r.notes.push(format!(
            "expectations from {} (--no-api)",
            a.topology.display()
        ));
        tenants::from_file(&a.topology)
    } else {
        match api::Api::new(&inv.api).and_then(|mut c| c.login(&a.email, &a.password).map(|()| c)) {
            Ok(c) => {
                let t = tenants::from_api(&c);
                api = Some(c);
                t
            }
            Err(e) => Err(e.into()),
        }
    };
    let tenants = match tenants {
        Ok(t) => t,
        Err(e) => {
            r.errors.push(format!("reading the tenants: {e}"));
            return r;
        }
    };
    let policies: BTreeMap<_, _> = tenants
        .iter()
        .map(|(k, t)| (k.clone(), tenants::compiled(t, None)))
        .collect();

    let mut listeners = probe::Listeners::new();
    if let Err(e) = reach::listen_all(&inv.vms, &mut listeners) {
        r.errors.push(format!("starting listeners: {e}"));
        return r;
    }

    // Check 4 runs during every other check.
    let dir = a.state.join(format!("check-{}", std::process::id()));
    let caps = capture::start(inv, &dir);
    let mut caps = match caps {
        Ok(c) => c,
        Err(e) => {
            r.errors.push(format!("starting captures: {e}"));
            return r;
        }
    };

    // Checks 1-3.
    let vms: Vec<reach::Node> = inv.vms.iter().map(reach::Node::vm).collect();
    let outside = (!inv.outside.ns.is_empty()).then(|| reach::Node {
        name: "outside".into(),
        tenant: None,
        site: "internet".into(),
        network: String::new(),
        hypervisor: String::new(),
        ns: inv.outside.ns.clone(),
        address: inv.outside.address,
    });
    let jobs = reach::jobs(&vms, outside.as_ref(), &policies, a.outside_routed);
    // Bring-up: the first packet between two hosts starts their WireGuard
    // handshake and ARP, and a handshake initiation that arrives before
    // the peer is configured is retried only after WireGuard's 5 s rekey
    // timeout. Checks 1-3 judge the network at rest: first, every pair
    // that should answer a ping is pinged until it has answered once (at
    // most 20 s; not judged). The time it took is a note.
    let mut warm: Vec<reach::Job> = jobs
        .iter()
        .filter(|j| j.expect_reach && matches!(j.probe, expect::Probe::Icmp))
        .cloned()
        .collect();
    let started = std::time::Instant::now();
    while !warm.is_empty() && started.elapsed() < Duration::from_secs(20) && !interrupted() {
        let rows = reach::run(&warm, &listeners, &r.marker, timeout, a.parallel);
        let answered: std::collections::HashSet<(String, String)> = rows
            .into_iter()
            .filter(|x| x.reached)
            .map(|x| (x.from, x.to))
            .collect();
        warm.retain(|j| !answered.contains(&(j.from.name.clone(), j.to.name.clone())));
    }
    r.notes.push(format!(
        "bring-up: every pair that should answer a ping had answered once after {:.1} s{}",
        started.elapsed().as_secs_f64(),
        if warm.is_empty() {
            String::new()
        } else {
            format!(" ({} pairs had not: checks 1-3 judge them)", warm.len())
        }
    ));
    eprintln!("lab check: checks 1-3, {} probes", jobs.len());
    r.rows.extend(reach::run(
        &jobs, &listeners, &r.marker, timeout, a.parallel,
    ));

    let mut client_addrs = Vec::new();
    if interrupted() {
        return stopped(r, caps, &dir);
    }
    match (&api, skipped(a, "client")) {
        (_, true) => r.notes.push("check 5 (client) skipped".into()),
        (None, false) => r.notes.push("check 5 (client) needs the API".into()),
        (Some(c), false) => {
            eprintln!("lab check: check 5, a WireGuard client");
            let out = client::check(
                inv,
                c,
                &tenants,
                &listeners,
                &r.marker,
                timeout,
                Duration::from_secs(a.apply_wait_secs),
                Some(&a.state),
            );
            client_addrs.extend(out.address);
            r.rows.extend(out.rows);
            r.figures.extend(out.figures);
            r.errors.extend(out.errors);
            r.notes.extend(out.notes);
        }
    }
    match (&api, skipped(a, "change")) {
        (_, true) => r.notes.push("check 6 (change) skipped".into()),
        (None, false) => r.notes.push("check 6 (change) needs the API".into()),
        (Some(c), false) => {
            eprintln!("lab check: check 6, {} API changes", a.changes);
            let wait = Duration::from_secs(a.apply_wait_secs);
            match change::check(inv, c, &tenants, &r.marker, a.changes, wait) {
                Ok(f) => r.figures.extend(f),
                Err(e) => r.errors.push(format!("check 6: {e}")),
            }
        }
    }
    if interrupted() {
        return stopped(r, caps, &dir);
    }
    // Check 8 before check 7: a router cut off there takes its gateways
    // back after the preempt delay, a VRRP transition check 8 would count.
    let kinds: Vec<grow::DeviceKind> = [grow::DeviceKind::Hypervisor, grow::DeviceKind::Router]
        .into_iter()
        .filter(|k| !skipped(a, "grow") && !skipped(a, &format!("grow-{}", k.as_str())))
        .collect();
    match (grower, kinds.is_empty()) {
        (_, true) => r.notes.push("check 8 (mesh changes) skipped".into()),
        (None, false) => r.notes.push(
            "check 8 (mesh changes) needs vxguard's store: run it as `vxguard-lab check`".into(),
        ),
        (Some(g), false) => {
            let pings = a.state.join(format!("grow-{}", std::process::id()));
            let (figures, error) = grow::check(inv, g, &kinds, &pings);
            r.figures.extend(figures);
            r.errors.extend(error.map(|e| format!("check 8: {e}")));
        }
    }
    if interrupted() {
        return stopped(r, caps, &dir);
    }
    if skipped(a, "failover") {
        r.notes.push("check 7 (failover) skipped".into());
    } else {
        eprintln!("lab check: check 7, gateway failover");
        // The tenant's dashboard, as a signed-in admin's browser gets it.
        let portal = match (&api, skipped(a, "dashboard")) {
            (_, true) => {
                r.notes
                    .push("check 7 without the dashboard (skipped)".into());
                None
            }
            (None, false) => {
                r.notes
                    .push("check 7 without the dashboard (it needs the API)".into());
                None
            }
            (Some(_), false) => match api::Portal::login(&inv.api, &a.email, &a.password) {
                Ok(p) => Some(p),
                Err(e) => {
                    r.errors
                        .push(format!("check 7: logging in to the portal: {e}"));
                    None
                }
            },
        };
        match failover::check(inv, &tenants, &r.marker, portal.as_ref()) {
            Ok(f) => r.figures.extend(f),
            Err(e) => r.errors.push(format!("check 7: {e}")),
        }
    }

    // Check 4: stop the captures and judge them.
    let policy = capture::policy(inv, &tenants, &client_addrs, &r.marker);
    r.notes.push(format!(
        "check 4 allows UDP on ports {}-{} (the mesh's two slots and any tenant client port: tenant ids are not known here)",
        inv.wg_port.saturating_sub(1),
        inv.wg_port.saturating_add(1024)
    ));
    r.captures = capture::finish(&mut caps, &policy);
    // "Only WireGuard" must not pass because nothing was on the links.
    let wireguard: usize = r
        .captures
        .iter()
        .filter_map(|c| c.verdict.as_ref())
        .map(|v| v.wireguard)
        .sum();
    let crossed = r
        .rows
        .iter()
        .any(|x| x.reached && x.check.contains("across sites"));
    if crossed && wireguard == 0 && !r.captures.is_empty() {
        r.errors.push(
            "check 4: tenant traffic crossed sites but no capture saw WireGuard: are the captures on the links it takes?"
                .into(),
        );
    }

    if interrupted() {
        return stopped(r, caps, &dir);
    }
    if skipped(a, "throughput") {
        r.notes.push("throughput skipped".into());
    } else {
        eprintln!("lab check: throughput");
        match throughput::check(inv, &policies, a.iperf_secs) {
            Ok(f) => r.figures.extend(f),
            Err(e) => r.errors.push(format!("throughput: {e}")),
        }
    }
    drop(listeners);
    r
}
