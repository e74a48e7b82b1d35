//! Check 5: a remote-access client as a tenant would run it. A key pair
//! made here (`wg genkey | wg pubkey`), the client created in vxguard with
//! the public key, its configuration downloaded from the API and completed
//! with the private key, run by wireguard-go in a namespace behind the
//! outside host (masqueraded there, as behind a home router). It must reach
//! what its tenant's policy and its allowed networks let it, nothing else,
//! and nothing at all once revoked.

use std::io::Write;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ipnet::Ipv4Net;
use serde_json::{json, Value};

use super::api::Api;
use super::expect::{evaluate, Probe};
use super::probe::{self, ChildGuard, Listeners};
use super::reach::{self, Job, Node};
use super::report::{Figure, Row};
use super::tenants::{self, Tenants};
use crate::inventory::Inventory;

/// The tenant whose client is checked (the plan's Finance).
pub const TENANT: &str = "finance";
/// Link between the client and the outside host (TEST-NET-1).
const OUTSIDE_SIDE: &str = "192.0.2.1/30";
const CLIENT_SIDE: &str = "192.0.2.2/30";
const LINK_NET: &str = "192.0.2.0/30";

#[derive(Default)]
pub struct ClientOutcome {
    pub rows: Vec<Row>,
    pub figures: Vec<Figure>,
    pub errors: Vec<String>,
    pub notes: Vec<String>,
    /// The client's tenant address (for check 4's list of tenant addresses).
    pub address: Option<Ipv4Addr>,
}

/// Everything the client check made, undone on drop in reverse order.
struct ClientLab {
    ns: String,
    dev: String,
    outside_ns: String,
    outside_if: String,
    forward_before: Option<String>,
    nft_table: Option<String>,
    wg: Option<ChildGuard>,
    wg_pid: Option<u32>,
    dir: PathBuf,
    /// The client in vxguard, deleted on drop unless revoked already.
    api_client: Option<(Api, String)>,
    /// The lab's state directory: the namespace and wireguard-go are
    /// recorded in its inventory while they exist, so `lab down` removes
    /// them after a crash of this check.
    state: Option<PathBuf>,
}

/// Adds (or removes) the client's namespace and process in the lab's
/// inventory on disk.
fn record(state: &std::path::Path, ns: &str, pid: Option<u32>, add: bool) {
    let Ok(mut inv) = Inventory::load(state) else {
        return;
    };
    inv.namespaces.retain(|n| n != ns);
    inv.processes.retain(|p| Some(p.pid) != pid);
    if add {
        inv.namespaces.push(ns.to_string());
        if let Some(pid) = pid {
            inv.processes.push(crate::inventory::Process {
                pid,
                what: format!("lab check client wireguard-go in {ns}"),
            });
        }
    }
    let _ = inv.save(state);
}

impl Drop for ClientLab {
    fn drop(&mut self) {
        if let Some((api, name)) = self.api_client.take() {
            let _ = api.raw(
                "DELETE",
                &format!("/api/v1/tenants/{TENANT}/clients/{name}"),
                None,
            );
        }
        if let Some(mut g) = self.wg.take() {
            g.stop();
        }
        let _ = std::fs::remove_file(format!("/var/run/wireguard/{}.sock", self.dev));
        if let Some(t) = self.nft_table.take() {
            let _ = probe::run_in(&self.outside_ns, &["nft", "delete", "table", "ip", &t]);
        }
        if let Some(v) = self.forward_before.take() {
            let _ = probe::run_in(
                &self.outside_ns,
                &[
                    "sysctl",
                    "-qw",
                    &format!("net.ipv4.ip_forward={}", v.trim()),
                ],
            );
        }
        let _ = probe::run(&[
            "ip",
            "-n",
            &self.outside_ns,
            "link",
            "del",
            &self.outside_if,
        ]);
        let _ = probe::run(&["ip", "netns", "del", &self.ns]);
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Some(state) = &self.state {
            let pid = self.wg_pid;
            record(state, &self.ns, pid, false);
        }
    }
}

fn err(what: &str, e: impl std::fmt::Display) -> String {
    format!("check 5: {what}: {e}")
}

/// `wg genkey` and `wg pubkey`: (private, public).
pub fn keypair() -> Result<(String, String), String> {
    let private = probe::run(&["wg", "genkey"]).map_err(|e| e.to_string())?;
    let mut c = Command::new("wg")
        .arg("pubkey")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("wg pubkey: {e}"))?;
    c.stdin
        .take()
        .expect("piped")
        .write_all(private.as_bytes())
        .map_err(|e| format!("wg pubkey: {e}"))?;
    let out = c
        .wait_with_output()
        .map_err(|e| format!("wg pubkey: {e}"))?;
    Ok((
        private.trim().to_string(),
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
    ))
}

/// The `wg setconf` file for a downloaded configuration (`wg-quick`'s
/// Address and DNS lines are not `wg`'s; the address is set with `ip`).
pub fn setconf_text(config: &Value, private_key: &str) -> Result<String, String> {
    let mut s = format!("[Interface]\nPrivateKey = {private_key}\n");
    let peers = config["peers"]
        .as_array()
        .filter(|p| !p.is_empty())
        .ok_or("configuration has no peers")?;
    for p in peers {
        let ips: Vec<&str> = p["allowed_ips"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        s.push_str(&format!(
            "\n[Peer]\nPublicKey = {}\nEndpoint = {}\nAllowedIPs = {}\n",
            p["public_key"].as_str().ok_or("peer without public_key")?,
            p["endpoint"].as_str().ok_or("peer without endpoint")?,
            ips.join(", ")
        ));
        if let Some(k) = p["persistent_keepalive"].as_u64() {
            s.push_str(&format!("PersistentKeepalive = {k}\n"));
        }
    }
    Ok(s)
}

/// The client's address and allowed networks from its configuration.
pub fn address_and_routes(config: &Value) -> Result<(Ipv4Addr, Vec<Ipv4Net>), String> {
    let a = config["address"]
        .as_str()
        .ok_or("configuration has no address")?;
    let addr: Ipv4Addr = a
        .split('/')
        .next()
        .unwrap_or(a)
        .parse()
        .map_err(|_| format!("address {a:?} is not IPv4"))?;
    let mut nets = Vec::new();
    for p in config["peers"].as_array().into_iter().flatten() {
        for n in p["allowed_ips"].as_array().into_iter().flatten() {
            let t = n.as_str().unwrap_or_default();
            nets.push(
                t.parse()
                    .map_err(|_| format!("allowed_ips {t:?} is not an IPv4 prefix"))?,
            );
        }
    }
    Ok((addr, nets))
}

/// Runs check 5.
#[allow(clippy::too_many_arguments)]
pub fn check(
    inv: &Inventory,
    api: &Api,
    tenants: &Tenants,
    listeners: &Listeners,
    marker: &str,
    timeout: Duration,
    apply_wait: Duration,
    state: Option<&std::path::Path>,
) -> ClientOutcome {
    let mut out = ClientOutcome::default();
    if let Err(e) = run(
        inv, api, tenants, listeners, marker, timeout, apply_wait, state, &mut out,
    ) {
        out.errors.push(e);
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn run(
    inv: &Inventory,
    api: &Api,
    tenants: &Tenants,
    listeners: &Listeners,
    marker: &str,
    timeout: Duration,
    apply_wait: Duration,
    state: Option<&std::path::Path>,
    out: &mut ClientOutcome,
) -> Result<(), String> {
    let tenant = tenants
        .get(TENANT)
        .ok_or_else(|| err("tenant", format!("{TENANT} is not in vxguard")))?;
    if inv.outside.ns.is_empty() {
        return Err(err("inventory", "no outside host"));
    }
    let name = format!("labcheck-{}", probe::random_hex(3));
    let mut lab = ClientLab {
        ns: format!("{}-wgc", inv.prefix),
        dev: format!("{}wgc{}", inv.prefix, std::process::id() % 10000),
        outside_ns: inv.outside.ns.clone(),
        outside_if: format!("{}c", inv.prefix),
        forward_before: None,
        nft_table: None,
        wg: None,
        wg_pid: None,
        state: state.map(|p| p.to_path_buf()),
        dir: std::env::temp_dir().join(format!("vxg-check-client-{}", std::process::id())),
        api_client: None,
    };
    std::fs::create_dir_all(&lab.dir).map_err(|e| err("temp dir", e))?;

    // The client in vxguard, with a key made here.
    let (private, public) = keypair().map_err(|e| err("key pair", e))?;
    api.call(
        "POST",
        &format!("/api/v1/tenants/{TENANT}/clients"),
        Some(&json!({"name": name, "public_key": public})),
    )
    .map_err(|e| err("creating the client", e))?;
    lab.api_client = Some((api.clone(), name.clone()));
    let config = api
        .call(
            "GET",
            &format!("/api/v1/tenants/{TENANT}/clients/{name}/config"),
            None,
        )
        .map_err(|e| err("downloading its configuration", e))?;
    let conf = setconf_text(&config, &private).map_err(|e| err("configuration", e))?;
    let (addr, routes) = address_and_routes(&config).map_err(|e| err("configuration", e))?;
    out.address = Some(addr);
    if let Some(p) = config["peers"][0]["endpoint"].as_str() {
        out.notes
            .push(format!("check 5: client {name} {addr} connects to {p}"));
    }

    // Its namespace behind the outside host.
    let sh = |args: &[&str]| probe::run(args).map_err(|e| err("building the client", e));
    let _ = probe::run(&["ip", "netns", "del", &lab.ns]); // a leftover of a crash
    if let Some(s) = state {
        record(s, &lab.ns, None, true);
    }
    sh(&["ip", "netns", "add", &lab.ns])?;
    sh(&["ip", "-n", &lab.ns, "link", "set", "lo", "up"])?;
    sh(&[
        "ip",
        "-n",
        &lab.outside_ns,
        "link",
        "add",
        &lab.outside_if,
        "type",
        "veth",
        "peer",
        "name",
        "eth0",
        "netns",
        &lab.ns,
    ])?;
    sh(&[
        "ip",
        "-n",
        &lab.outside_ns,
        "addr",
        "add",
        OUTSIDE_SIDE,
        "dev",
        &lab.outside_if,
    ])?;
    sh(&[
        "ip",
        "-n",
        &lab.outside_ns,
        "link",
        "set",
        &lab.outside_if,
        "up",
    ])?;
    sh(&[
        "ip",
        "-n",
        &lab.ns,
        "addr",
        "add",
        CLIENT_SIDE,
        "dev",
        "eth0",
    ])?;
    sh(&["ip", "-n", &lab.ns, "link", "set", "eth0", "up"])?;
    sh(&[
        "ip",
        "-n",
        &lab.ns,
        "route",
        "add",
        "default",
        "via",
        "192.0.2.1",
    ])?;
    lab.forward_before = Some(
        probe::run_in(&lab.outside_ns, &["sysctl", "-n", "net.ipv4.ip_forward"])
            .map_err(|e| err("outside host", e))?,
    );
    probe::run_in(&lab.outside_ns, &["sysctl", "-qw", "net.ipv4.ip_forward=1"])
        .map_err(|e| err("outside host", e))?;
    let table = format!("{}_check_nat", inv.prefix.replace('-', "_"));
    let ruleset = format!(
        "table ip {table} {{\n chain post {{\n  type nat hook postrouting priority srcnat; policy accept;\n  ip saddr {LINK_NET} oifname != \"{}\" masquerade\n }}\n}}\n",
        lab.outside_if
    );
    let nft_file = lab.dir.join("nat.nft");
    std::fs::write(&nft_file, ruleset).map_err(|e| err("nat rules", e))?;
    lab.nft_table = Some(table);
    probe::run_in(
        &lab.outside_ns,
        &["nft", "-f", &nft_file.display().to_string()],
    )
    .map_err(|e| err("nat rules", e))?;

    // wireguard-go with the downloaded configuration.
    let child = Command::new("ip")
        .args(["netns", "exec", &lab.ns, "wireguard-go", "-f", &lab.dev])
        .env("WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| err("wireguard-go", e))?;
    lab.wg_pid = Some(child.id());
    if let Some(s) = state {
        record(s, &lab.ns, lab.wg_pid, true);
    }
    lab.wg = Some(ChildGuard {
        what: format!("wireguard-go {}", lab.dev),
        child: Some(child),
    });
    let sock = PathBuf::from(format!("/var/run/wireguard/{}.sock", lab.dev));
    let until = Instant::now() + Duration::from_secs(10);
    while !sock.exists() {
        if Instant::now() > until {
            return Err(err(
                "wireguard-go",
                format!("{} did not appear", sock.display()),
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let conf_file = lab.dir.join("client.conf");
    crate::netns::apply::write_private(&conf_file, &conf).map_err(|e| err("client.conf", e))?;
    probe::run_in(
        &lab.ns,
        &["wg", "setconf", &lab.dev, &conf_file.display().to_string()],
    )
    .map_err(|e| err("wg setconf", e))?;
    sh(&[
        "ip",
        "-n",
        &lab.ns,
        "addr",
        "add",
        &format!("{addr}/32"),
        "dev",
        &lab.dev,
    ])?;
    sh(&["ip", "-n", &lab.ns, "link", "set", &lab.dev, "up"])?;
    for n in &routes {
        sh(&[
            "ip",
            "-n",
            &lab.ns,
            "route",
            "add",
            &n.to_string(),
            "dev",
            &lab.dev,
        ])?;
    }

    // Expectations: allowed networks and the tenant's policy, with the
    // client's address inside the tenant (not `external`).
    let pol = tenants::compiled(tenant, Some(Ipv4Net::new(addr, 32).expect("a /32")));
    let me = Node {
        name: format!("client {name}"),
        tenant: Some(TENANT.into()),
        site: "internet".into(),
        network: String::new(),
        hypervisor: String::new(),
        ns: lab.ns.clone(),
        address: addr,
    };
    let mut jobs = Vec::new();
    for v in &inv.vms {
        let to = Node::vm(v);
        for p in [
            Probe::Icmp,
            Probe::Tcp(22),
            Probe::Tcp(443),
            Probe::Tcp(5432),
            Probe::Tcp(8080),
        ] {
            let (reach, why) = if v.tenant != TENANT {
                (false, "other tenant".to_string())
            } else if !routes.iter().any(|n| n.contains(&v.address)) {
                (false, "not in the client's allowed networks".to_string())
            } else {
                let e = evaluate(&pol, addr, v.address, p);
                (e.allowed(), e.why())
            };
            jobs.push(Job {
                check: "5 client".into(),
                from: me.clone(),
                to: to.clone(),
                probe: p,
                expect_reach: reach,
                why,
            });
        }
    }
    // Wait until the client works (vxguard applies it to the router).
    let first = jobs
        .iter()
        .find(|j| j.expect_reach && matches!(j.probe, Probe::Tcp(_)))
        .cloned()
        .ok_or_else(|| err("expectations", "the client is expected to reach nothing"))?;
    let t0 = Instant::now();
    let mut ready = false;
    while t0.elapsed() < apply_wait && !super::signal::interrupted() {
        if reach::run_one(&first, 0, listeners, marker, timeout).reached {
            ready = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    out.figures.push(Figure {
        name: "5 client usable after creation".into(),
        value: ready.then(|| t0.elapsed().as_secs_f64()),
        unit: "s".into(),
        detail: format!("{} -> {} {}", first.from.name, first.to.name, first.probe),
        ok: ready,
    });
    out.rows
        .extend(reach::run(&jobs, listeners, marker, timeout, 8));

    // Revoked: nothing at all.
    let (api2, cname) = lab.api_client.take().expect("client made above");
    let t0 = Instant::now();
    api2.call(
        "DELETE",
        &format!("/api/v1/tenants/{TENANT}/clients/{cname}"),
        None,
    )
    .map_err(|e| err("revoking the client", e))?;
    let mut gone = false;
    while t0.elapsed() < apply_wait && !super::signal::interrupted() {
        if !reach::run_one(&first, 0, listeners, marker, timeout).reached {
            gone = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    out.figures.push(Figure {
        name: "5 client cut off after revocation".into(),
        value: gone.then(|| t0.elapsed().as_secs_f64()),
        unit: "s".into(),
        detail: format!("{} -> {} {}", first.from.name, first.to.name, first.probe),
        ok: gone,
    });
    let revoked: Vec<Job> = jobs
        .into_iter()
        .map(|mut j| {
            j.check = "5 client revoked".into();
            j.expect_reach = false;
            j.why = "revoked".into();
            j
        })
        .collect();
    out.rows
        .extend(reach::run(&revoked, listeners, marker, timeout, 8));
    drop(lab);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_downloaded_configuration_becomes_a_setconf_file() {
        let c = json!({
            "tenant": "finance", "client": "x", "address": "100.64.2.2/32",
            "peers": [{"public_key": "PUB=", "endpoint": "5.254.54.10:51821",
                        "allowed_ips": ["100.64.1.0/28", "100.64.1.16/28"],
                        "persistent_keepalive": 25}]
        });
        assert_eq!(
            setconf_text(&c, "PRIV=").unwrap(),
            "[Interface]\nPrivateKey = PRIV=\n\n[Peer]\nPublicKey = PUB=\nEndpoint = 5.254.54.10:51821\nAllowedIPs = 100.64.1.0/28, 100.64.1.16/28\nPersistentKeepalive = 25\n"
        );
        let (a, r) = address_and_routes(&c).unwrap();
        assert_eq!(a, Ipv4Addr::new(100, 64, 2, 2));
        assert_eq!(r.len(), 2);
        assert!(setconf_text(&json!({"peers": []}), "k").is_err());
        assert!(address_and_routes(&json!({"address": "nope"})).is_err());
    }
}
