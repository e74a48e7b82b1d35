//! `vxguard-lab alerts`: the alerts vxguard generates, evaluated by a real
//! Prometheus scraping vxguard's `/metrics` while a lab router is cut off
//! (issue 18, item 6).
//!
//! Prometheus (Debian's package) is started on 127.0.0.1 on a free port,
//! with the scrape configuration `vxguard monitoring scrape-config` wrote
//! and a *test variant* of the rules `vxguard monitoring rules` wrote:
//! the same expressions, labels and summaries, every `for:` shortened to
//! `--for-secs` (the shipped rules wait minutes; they are not changed,
//! the variant is written next to Prometheus's data and says what it
//! is). It is stopped on every way out: a guard on return and on panic,
//! the kernel's parent-death signal if this process is killed.
//!
//! Then: a quiet start (every BGP session of the router collected
//! Established, no BGP or VRRP alert pending or firing); the router's
//! underlay link down (as check 7 does: its WireGuard, BGP with BFD and
//! VRRP adverts go with it, its gateway groups go FAULT through `track
//! interface` and their other gateways take over); the time from the cut
//! to each alert's `pending` and `firing` (`/api/v1/alerts`); the link
//! back; the time until the BGP and VRRP alerts are gone. Expected:
//! `VxguardBgpSessionDown` (its peers' sessions to it, and its own) and
//! `VxguardVrrpNoBackup` (its groups keep a master, the other gateway,
//! but have no backup left) fire; `VxguardVrrpNoMaster` and
//! `VxguardVrrpSplitBrain` stay quiet (every group keeps exactly one
//! master): each is a finding if not.

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

use crate::check::api::{percent_encode, Api, ApiError};
use crate::check::probe::{self, ChildGuard, OnDrop};
use crate::check::signal::{self, interrupted};
use crate::inventory::{Inventory, InventoryError, RouterNode};

/// The alerts that must fire on a router cut.
pub const MUST_FIRE: [&str; 2] = ["VxguardBgpSessionDown", "VxguardVrrpNoBackup"];
/// The alerts that must stay quiet (each group keeps one master).
pub const MUST_NOT_FIRE: [&str; 2] = ["VxguardVrrpNoMaster", "VxguardVrrpSplitBrain"];

/// `vxguard-lab alerts`
#[derive(Clone, Debug, clap::Args)]
pub struct AlertsArgs {
    /// The lab's state directory (its inventory.json).
    #[arg(long, default_value = crate::DEFAULT_STATE)]
    pub state: PathBuf,
    /// The rule file `vxguard monitoring rules` wrote (a test variant of it
    /// is what Prometheus loads).
    #[arg(long)]
    pub rules: PathBuf,
    /// The configuration `vxguard monitoring scrape-config` wrote, without
    /// `--rules-file` (the test variant's path is added).
    #[arg(long)]
    pub scrape_config: PathBuf,
    /// The test variant's `for:` of every rule, in seconds: longer than a
    /// collection round plus VRRP's takeover, or a round that lands in the
    /// takeover holds "no master" for a whole round and the alert fires.
    #[arg(long, default_value_t = 15)]
    pub for_secs: u64,
    /// The router cut off (default: the inventory's first).
    #[arg(long)]
    pub router: Option<String>,
    /// Prometheus's binary.
    #[arg(long, default_value = "prometheus")]
    pub prometheus: PathBuf,
    /// The longest each step may take (quiet start, firing, resolving).
    #[arg(long, default_value_t = 180)]
    pub within_secs: u64,
    /// Print the figures as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum AlertsError {
    #[error(transparent)]
    Inventory(#[from] InventoryError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no router {0:?} in the lab")]
    NoRouter(String),
    #[error("{0}")]
    Config(String),
    #[error("prometheus: {0}")]
    Prometheus(String),
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Probe(#[from] probe::ProbeError),
    #[error("interrupted")]
    Interrupted,
}

/// One alert's times, in seconds after the cut (or the return).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct AlertTimes {
    pub pending_after_cut: Option<f64>,
    pub firing_after_cut: Option<f64>,
    /// Gone from `/api/v1/alerts` (every series of it) after the return.
    pub resolved_after_return: Option<f64>,
    /// The label sets seen firing (`router -> peer`, `tenant/network@site`).
    pub firing: Vec<String>,
}

/// What the run measured.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct AlertsReport {
    pub router: String,
    pub for_secs: u64,
    pub scrape_interval: String,
    pub quiet_start_secs: f64,
    pub down_secs: f64,
    pub alerts: BTreeMap<String, AlertTimes>,
    pub failures: Vec<String>,
}

/// The rules with every `for:` set to `secs`, saying so at the top.
pub fn test_variant(rules: &str, secs: u64) -> String {
    let mut out = format!(
        "# TEST VARIANT written by `vxguard-lab alerts`: the rules of `vxguard monitoring rules`\n\
         # with every `for:` set to {secs}s, so a lab run sees them fire in seconds.\n\
         # Not for production: the shipped rules are unchanged.\n"
    );
    for line in rules.lines() {
        let t = line.trim_start();
        if t.starts_with("for: ") {
            let indent = &line[..line.len() - t.len()];
            out.push_str(&format!("{indent}for: {secs}s\n"));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The scrape configuration with `rules` as its rule file; an error when
/// it already names rule files (the test variant must be the only one).
pub fn with_rule_file(scrape: &str, rules: &Path) -> Result<String, String> {
    if scrape.lines().any(|l| l.starts_with("rule_files:")) {
        return Err(
            "the scrape configuration already names rule files: write it without --rules-file"
                .into(),
        );
    }
    let at = scrape
        .find("\nscrape_configs:")
        .ok_or("the scrape configuration has no scrape_configs")?;
    let path = serde_json::to_string(&rules.to_string_lossy()).unwrap_or_default();
    Ok(format!(
        "{}\nrule_files:\n  - {path}{}",
        &scrape[..at],
        &scrape[at..]
    ))
}

/// The global `scrape_interval` of a configuration.
fn scrape_interval(scrape: &str) -> String {
    scrape
        .lines()
        .find_map(|l| l.trim().strip_prefix("scrape_interval:"))
        .map(|v| v.trim().trim_matches('"').to_string())
        .unwrap_or_default()
}

/// An alert's identity for the report.
fn labels_of(a: &Value) -> String {
    let l = &a["labels"];
    let s = |k: &str| l[k].as_str().unwrap_or("").to_string();
    if l.get("peer").is_some() {
        format!("{} -> {}", s("router"), s("peer"))
    } else if l.get("network").is_some() {
        format!("{}/{}@{}", s("tenant"), s("network"), s("site"))
    } else {
        s("router")
    }
}

/// The active alerts: (name, state, labels).
fn active(api: &Api) -> Result<Vec<(String, String, String)>, AlertsError> {
    let v = api.call("GET", "/api/v1/alerts", None)?;
    Ok(v["data"]["alerts"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|a| {
            (
                a["labels"]["alertname"].as_str().unwrap_or("").to_string(),
                a["state"].as_str().unwrap_or("").to_string(),
                labels_of(a),
            )
        })
        .collect())
}

/// The samples of an instant query: (labels, value).
fn query(api: &Api, q: &str) -> Result<Vec<(Value, f64)>, AlertsError> {
    let v = api.call(
        "GET",
        &format!("/api/v1/query?query={}", percent_encode(q)),
        None,
    )?;
    Ok(v["data"]["result"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|r| {
            let val = r["value"][1]
                .as_str()
                .and_then(|x| x.parse().ok())
                .unwrap_or(f64::NAN);
            (r["metric"].clone(), val)
        })
        .collect())
}

/// A free TCP port on 127.0.0.1 (bound, then released for Prometheus).
fn free_port() -> Result<u16, AlertsError> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|source| AlertsError::Io {
        path: "127.0.0.1:0".into(),
        source,
    })?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|source| AlertsError::Io {
            path: "127.0.0.1:0".into(),
            source,
        })
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> AlertsError + '_ {
    move |source| AlertsError::Io {
        path: path.into(),
        source,
    }
}

/// Starts Prometheus in `dir` on 127.0.0.1:`port`; killed when the guard
/// drops, and by the kernel if this process dies first.
fn start_prometheus(bin: &Path, dir: &Path, port: u16) -> Result<ChildGuard, AlertsError> {
    let log = dir.join("prometheus.log");
    let out = std::fs::File::create(&log).map_err(io(&log))?;
    let err = out.try_clone().map_err(io(&log))?;
    let mut cmd = Command::new(bin);
    cmd.arg(format!(
        "--config.file={}",
        dir.join("prometheus.yml").display()
    ))
    .arg(format!(
        "--storage.tsdb.path={}",
        dir.join("data").display()
    ))
    .arg(format!("--web.listen-address=127.0.0.1:{port}"))
    .arg("--log.level=warn")
    .stdin(Stdio::null())
    .stdout(out)
    .stderr(err);
    // SAFETY: prctl only, between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    let child = cmd
        .spawn()
        .map_err(|e| AlertsError::Prometheus(format!("{}: {e}", bin.display())))?;
    Ok(ChildGuard {
        what: "prometheus".into(),
        child: Some(child),
    })
}

/// Waits until `f` says done (`Some`), polling every 250 ms for at most
/// `within`; `None` when time ran out.
fn wait<T>(
    within: Duration,
    mut f: impl FnMut() -> Result<Option<T>, AlertsError>,
) -> Result<Option<T>, AlertsError> {
    let t = Instant::now();
    loop {
        if interrupted() {
            return Err(AlertsError::Interrupted);
        }
        if let Some(x) = f()? {
            return Ok(Some(x));
        }
        if t.elapsed() > within {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// `vxguard-lab alerts`: prints the figures; an error or a failure is a
/// non-zero exit.
pub fn run(a: &AlertsArgs) -> Result<bool, AlertsError> {
    signal::catch();
    let r = measure(a)?;
    // The figures in words (on stderr beside the JSON).
    let say = |line: String| {
        if a.json {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r).unwrap_or_default());
    }
    {
        say(format!(
            "alerts: router {} cut for {:.1} s (rules' for: {} s, scrape every {})",
            r.router, r.down_secs, r.for_secs, r.scrape_interval
        ));
        for (name, t) in &r.alerts {
            say(format!(
                "  {name}: pending {:?} s, firing {:?} s after the cut, resolved {:?} s after the return ({})",
                t.pending_after_cut,
                t.firing_after_cut,
                t.resolved_after_return,
                t.firing.join(", ")
            ));
        }
    }
    for f in &r.failures {
        eprintln!("alerts: FAIL {f}");
    }
    Ok(r.failures.is_empty())
}

fn secs(t: Instant) -> f64 {
    (t.elapsed().as_secs_f64() * 10.0).round() / 10.0
}

/// Runs Prometheus, cuts the router, returns it; the figures.
pub fn measure(a: &AlertsArgs) -> Result<AlertsReport, AlertsError> {
    let inv = Inventory::load(&a.state)?;
    let router: RouterNode = match &a.router {
        Some(n) => inv
            .router(n)
            .cloned()
            .ok_or_else(|| AlertsError::NoRouter(n.clone()))?,
        None => inv
            .routers
            .first()
            .cloned()
            .ok_or_else(|| AlertsError::NoRouter("(any)".into()))?,
    };
    let within = Duration::from_secs(a.within_secs);
    let dir = a.state.join("prometheus");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let _rm = OnDrop({
        let dir = dir.clone();
        move || {
            let _ = std::fs::remove_dir_all(&dir);
        }
    });
    let rules = std::fs::read_to_string(&a.rules).map_err(io(&a.rules))?;
    let scrape = std::fs::read_to_string(&a.scrape_config).map_err(io(&a.scrape_config))?;
    let test_rules = dir.join("rules.test.yml");
    std::fs::write(&test_rules, test_variant(&rules, a.for_secs)).map_err(io(&test_rules))?;
    let config = with_rule_file(&scrape, &test_rules).map_err(AlertsError::Config)?;
    let config_path = dir.join("prometheus.yml");
    std::fs::write(&config_path, &config).map_err(io(&config_path))?;
    let mut report = AlertsReport {
        router: router.name.clone(),
        for_secs: a.for_secs,
        scrape_interval: scrape_interval(&scrape),
        ..AlertsReport::default()
    };

    let port = free_port()?;
    let mut prometheus = start_prometheus(&a.prometheus, &dir, port)?;
    let api = Api::new(&format!("http://127.0.0.1:{port}"))?;
    let ready = wait(Duration::from_secs(30), || {
        if let Some(c) = prometheus.child.as_mut() {
            if let Ok(Some(status)) = c.try_wait() {
                let log = std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default();
                return Err(AlertsError::Prometheus(format!("exited {status}: {log}")));
            }
        }
        Ok(api
            .raw("GET", "/-/ready", None)
            .ok()
            .filter(|r| r.status == 200)
            .map(|_| ()))
    })?;
    if ready.is_none() {
        return Err(AlertsError::Prometheus("not ready within 30 s".into()));
    }

    // A quiet start: vxguard scraped, every session of the router seen
    // Established from both ends, no alert of the cut active.
    let t = Instant::now();
    let watched: Vec<&str> = MUST_FIRE.iter().chain(&MUST_NOT_FIRE).copied().collect();
    let name = router.name.clone();
    let quiet = wait(within, || {
        let up = query(&api, "up{job=\"vxguard\"}")?;
        if !up.iter().any(|(_, v)| *v == 1.0) {
            return Ok(None);
        }
        let sessions = query(
            &api,
            &format!("vxguard_bgp_session_up{{router=\"{name}\"}} or vxguard_bgp_session_up{{peer=\"{name}\"}}"),
        )?;
        if sessions.is_empty() || sessions.iter().any(|(_, v)| *v != 1.0) {
            return Ok(None);
        }
        let busy = active(&api)?
            .into_iter()
            .any(|(n, _, _)| watched.contains(&n.as_str()));
        Ok((!busy).then_some(()))
    })?;
    if quiet.is_none() {
        let a = active(&api).unwrap_or_default();
        return Err(AlertsError::Prometheus(format!(
            "no quiet start within {within:?} (sessions of {name} not all Established and collected, or alerts active: {a:?})"
        )));
    }
    report.quiet_start_secs = secs(t);

    // The cut, undone on every way out.
    let ns = router.ns.clone();
    let ifname = router.underlay_if.clone();
    let routes = probe::run(&["ip", "-n", &ns, "route", "show", "default"])?;
    let restore = move || {
        let _ = probe::run(&["ip", "-n", &ns, "link", "set", &ifname, "up"]);
        for r in routes.lines().filter(|l| !l.trim().is_empty()) {
            let mut args = vec!["ip", "-n", &ns, "route", "replace"];
            args.extend(r.split_whitespace());
            let _ = probe::run(&args);
        }
    };
    probe::run(&[
        "ip",
        "-n",
        &router.ns,
        "link",
        "set",
        &router.underlay_if,
        "down",
    ])?;
    let mut link = Some(OnDrop(restore));
    let cut = Instant::now();
    let mut times: BTreeMap<String, AlertTimes> = BTreeMap::new();
    let note = |times: &mut BTreeMap<String, AlertTimes>, list: &[(String, String, String)]| {
        for (n, state, labels) in list {
            let e = times.entry(n.clone()).or_default();
            if e.pending_after_cut.is_none() {
                e.pending_after_cut = Some(secs(cut));
            }
            if state == "firing" {
                if e.firing_after_cut.is_none() {
                    e.firing_after_cut = Some(secs(cut));
                }
                if !e.firing.contains(labels) {
                    e.firing.push(labels.clone());
                }
            }
        }
    };
    let fired = wait(within, || {
        let list = active(&api)?;
        note(&mut times, &list);
        Ok(MUST_FIRE
            .iter()
            .all(|m| times.get(*m).is_some_and(|t| t.firing_after_cut.is_some()))
            .then_some(()))
    })?;
    // A few more seconds for the alerts that follow (every label set).
    if fired.is_some() {
        let more = Instant::now();
        while more.elapsed() < Duration::from_secs(5) && !interrupted() {
            let list = active(&api)?;
            note(&mut times, &list);
            std::thread::sleep(Duration::from_millis(250));
        }
    }
    report.down_secs = secs(cut);
    drop(link.take());
    let back = Instant::now();
    let resolved = wait(within, || {
        let list = active(&api)?;
        for m in MUST_FIRE {
            if !list.iter().any(|(n, _, _)| n == m) {
                let e = times.entry(m.to_string()).or_default();
                if e.resolved_after_return.is_none() {
                    e.resolved_after_return = Some(secs(back));
                }
            }
        }
        Ok(MUST_FIRE
            .iter()
            .all(|m| {
                times
                    .get(*m)
                    .is_some_and(|t| t.resolved_after_return.is_some())
            })
            .then_some(()))
    })?;
    prometheus.stop();

    for m in MUST_FIRE {
        let t = times.get(m).cloned().unwrap_or_default();
        if t.firing_after_cut.is_none() {
            report
                .failures
                .push(format!("{m} did not fire within {within:?} of the cut"));
        } else if t.resolved_after_return.is_none() || resolved.is_none() {
            report
                .failures
                .push(format!("{m} still active {within:?} after the return"));
        }
    }
    // Pending is allowed: a collection round inside VRRP's takeover (about
    // 3 s) sees no master, and the rule's `for:` exists to hold exactly
    // that back; firing would page an operator for a normal takeover.
    for m in MUST_NOT_FIRE {
        if let Some(t) = times.get(m).filter(|t| t.firing_after_cut.is_some()) {
            report.failures.push(format!(
                "{m} fired during the cut ({}): every group should keep one master",
                t.firing.join(", ")
            ));
        }
    }
    report.alerts = times;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: &str = "# Generated by `vxguard monitoring rules`.
groups:
  - name: vxguard
    rules:
      - alert: VxguardBgpSessionDown
        expr: \"vxguard_bgp_session_up == 0\"
        for: 2m
        labels:
          severity: critical
      - alert: VxguardVrrpNoMaster
        expr: \"vxguard_vrrp_masters == 0\"
        for: 1m
";

    #[test]
    fn the_test_variant_changes_only_the_waits() {
        let v = test_variant(RULES, 10);
        assert!(v.starts_with("# TEST VARIANT"), "{v}");
        assert_eq!(v.matches("        for: 10s\n").count(), 2, "{v}");
        assert!(!v.contains("for: 2m") && !v.contains("for: 1m"), "{v}");
        // Everything else as generated.
        let strip = |s: &str| -> Vec<String> {
            s.lines()
                .filter(|l| !l.starts_with('#') && !l.trim_start().starts_with("for:"))
                .map(str::to_string)
                .collect()
        };
        assert_eq!(strip(&v), strip(RULES));
    }

    #[test]
    fn the_rule_file_goes_before_the_scrape_jobs() {
        let scrape = "# Generated by `vxguard monitoring scrape-config`.\nglobal:\n  scrape_interval: \"2s\"\n  evaluation_interval: \"2s\"\nscrape_configs:\n  - job_name: vxguard\n";
        let c = with_rule_file(scrape, Path::new("/tmp/x/rules.test.yml")).unwrap();
        assert!(
            c.contains("  evaluation_interval: \"2s\"\nrule_files:\n  - \"/tmp/x/rules.test.yml\"\nscrape_configs:\n"),
            "{c}"
        );
        assert_eq!(scrape_interval(scrape), "2s");
        assert!(with_rule_file(&c, Path::new("/y")).is_err());
        assert!(with_rule_file("global: {}\n", Path::new("/y")).is_err());
        assert_eq!(
            percent_encode("up{job=\"vxguard\"}"),
            "up%7Bjob%3D%22vxguard%22%7D"
        );
    }
}
