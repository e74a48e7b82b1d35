//! One device more, then less, in a running lab (`vxguard_lab::grow`,
//! what check 8 of `lab check` does to the lab): a wan with a site, a
//! router that stays, then a router added beside it (its namespace on the
//! underlay, its realiser's daemons: wireguard-go, FRR, a VRF; a process
//! recorded as its lab router) and a hypervisor (OVS, wireguard-go, from
//! the compiler's output for `examples/two-dc.yaml`), each removed again:
//! nothing of it left (namespaces, daemons, the wan end of its link,
//! wireguard-go sockets, its state, its inventory entries), and the router
//! that stayed still reaches its site's gateway. Only addresses inside the
//! namespaces this test makes; `lab down` of its state removes everything
//! on the way out, also when an assertion fails.
//!
//! Needs root, wireguard-go, FRR, keepalived, nft and Open vSwitch;
//! skipped with a message otherwise (a failure under CI).

mod common;

use common::*;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use vxguard_compiler::hypervisor_config::HypervisorConfig;
use vxguard_compiler::intent::yaml;
use vxguard_compiler::model::{HypervisorSecrets, RouterSecrets, Secrets};
use vxguard_compiler::DefinitionSet;
use vxguard_lab::grow;
use vxguard_lab::hypervisor::{self, HypervisorSpec};
use vxguard_lab::inventory::{HypervisorNode, Inventory, Process};
use vxguard_lab::netns::NetnsRealiser;
use vxguard_lab::realise::Realiser;
use vxguard_lab::underlay::{self, Site};
use vyos_tree::ConfigTree;

/// `lab down` of the test's state on drop: everything its inventory names.
struct Down(PathBuf);
impl Drop for Down {
    fn drop(&mut self) {
        if let Err(e) = vxguard_lab::down::down(&self.0) {
            eprintln!("lab down: {e}");
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn ns_exists(ns: &str) -> bool {
    Path::new("/var/run/netns").join(ns).exists()
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}

fn sockets_of(id: &str) -> Vec<String> {
    std::fs::read_dir("/var/run/wireguard")
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(&format!("{id}wg")))
                .collect()
        })
        .unwrap_or_default()
}

/// A process standing for a device's lab router or agent (a child of a
/// reaper thread, so a stopped one does not linger as a zombie).
fn stand_in() -> u32 {
    let mut c = Command::new("sleep")
        .arg("600")
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let pid = c.id();
    std::thread::spawn(move || {
        let _ = c.wait();
    });
    pid
}

fn realise(ns: &str, id: &str, run: &Path, cfg: &ConfigTree) {
    let re = NetnsRealiser::new(ns, id, run).unwrap();
    re.realise(&ConfigTree::new(), cfg)
        .unwrap_or_else(|e| panic!("realising {ns}: {e}"));
}

#[test]
fn a_router_and_a_hypervisor_join_a_running_lab_and_leave_nothing_behind() {
    if let Some(why) = skip_reason() {
        eprintln!(
            "SKIPPED a_router_and_a_hypervisor_join_a_running_lab_and_leave_nothing_behind: {why}"
        );
        return;
    }
    let ovs = sh(&[
        "sh",
        "-c",
        "command -v ovs-vswitchd && command -v ovsdb-server",
    ])
    .is_ok();
    if !ovs && std::env::var_os("CI").is_some() {
        panic!("the grow test cannot run under CI: Open vSwitch is missing");
    }
    // A prefix of this run's own (`g` and three digits), its state apart.
    let prefix = format!("g{:03}", std::process::id() % 1000);
    let state = std::env::temp_dir().join(format!("vxguard-grow-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&state);
    let _down = Down(state.clone());
    let mut inv = Inventory {
        prefix: prefix.clone(),
        ..Default::default()
    };
    inv.save(&state).unwrap();
    // Site s1 for the routers (the EVPN test configuration's underlay,
    // 10.99.0.2 and .3 behind the gateway .1), dc1 for the hypervisor
    // (its address in examples/two-dc.yaml): inside this test's wan only.
    let sites = [
        Site {
            name: "s1".into(),
            blocks: vec!["10.99.0.0/24".parse().unwrap()],
        },
        Site {
            name: "dc1".into(),
            blocks: vec!["5.254.54.0/26".parse().unwrap()],
        },
    ];
    underlay::build_wan(&mut inv, &state, &sites).unwrap();
    let wan = underlay::wan_ns(&prefix);

    // The router that stays.
    let (k2, p2) = keypair();
    let (k3, p3) = keypair();
    let stay_id = grow::free_id(&inv, "", 0);
    let stay = grow::router_host(
        &mut inv,
        &state,
        &sites,
        "r-stay",
        "s1",
        "1.5",
        "https://127.0.0.1:1",
        "eth0",
        Ipv4Addr::new(10, 99, 0, 2),
        &stay_id,
    )
    .unwrap();
    inv.routers.push(stay.clone());
    inv.save(&state).unwrap();
    realise(
        &stay.ns,
        &stay.id,
        &stay.state_dir.join("run"),
        &evpn_config(2, 3, &k2, &p3),
    );

    // The router added: the lowest free address and a fresh id.
    let used = [Ipv4Addr::new(10, 99, 0, 2)];
    let addr = grow::free_address(&sites[0], &used).unwrap();
    assert_eq!(
        addr,
        Ipv4Addr::new(10, 99, 0, 3),
        "after the gateway and r-stay"
    );
    let id = grow::free_id(&inv, "", inv.routers.len());
    assert_ne!(id, stay.id);
    let node = grow::router_host(
        &mut inv,
        &state,
        &sites,
        "r-grow",
        "s1",
        "1.5",
        "https://127.0.0.1:2",
        "eth0",
        addr,
        &id,
    )
    .unwrap();
    assert!(matches!(
        grow::router_host(
            &mut inv,
            &state,
            &sites,
            "r-grow",
            "s1",
            "1.5",
            "https://127.0.0.1:2",
            "eth0",
            addr,
            &id
        ),
        Err(grow::GrowError::Exists(_))
    ));
    inv.routers.push(node.clone());
    let router_pid = stand_in();
    inv.processes.push(Process {
        pid: router_pid,
        what: "lab router r-grow".into(),
    });
    inv.save(&state).unwrap();
    realise(
        &node.ns,
        &node.id,
        &node.state_dir.join("run"),
        &evpn_config(3, 2, &k3, &p2),
    );
    // The two routers reach each other over their WireGuard mesh, across
    // the wan's site bridge.
    assert!(
        first_reply(&stay.ns, "172.27.0.3", Duration::from_secs(15)).is_some(),
        "r-stay does not reach r-grow over WireGuard"
    );
    assert!(
        !sockets_of(&node.id).is_empty(),
        "no wireguard-go of r-grow"
    );
    let vrf_ns = format!("{}-acme", node.ns);
    assert!(ns_exists(&vrf_ns), "r-grow's VRF namespace");

    grow::remove_router(&mut inv, &state, "r-grow").unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !ns_exists(&node.ns) && !ns_exists(&vrf_ns),
        "r-grow's namespaces left"
    );
    assert!(!alive(router_pid), "r-grow's lab router still runs");
    assert!(
        sockets_of(&node.id).is_empty(),
        "r-grow's wireguard-go sockets left"
    );
    assert!(
        sh(&["ip", "-n", &wan, "link", "show", &format!("u-{id}")]).is_err(),
        "the wan end of r-grow's link is left"
    );
    assert!(!node.state_dir.exists(), "r-grow's state directory is left");
    assert!(inv.router("r-grow").is_none());
    assert!(!inv.namespaces.contains(&node.ns));
    assert!(!inv
        .underlay_links
        .iter()
        .any(|l| l.label.ends_with("r-grow")));
    assert!(!inv.processes.iter().any(|p| p.what.contains("r-grow")));
    assert_eq!(
        Inventory::load(&state).unwrap(),
        inv,
        "the inventory on disk"
    );
    // The router that stayed is untouched.
    assert!(ns_exists(&stay.ns) && inv.router("r-stay").is_some());
    assert!(
        !sockets_of(&stay.id).is_empty(),
        "r-stay's wireguard-go went"
    );
    assert!(
        first_reply(&stay.ns, "10.99.0.1", Duration::from_secs(5)).is_some(),
        "r-stay lost its site's gateway"
    );
    assert!(matches!(
        grow::remove_router(&mut inv, &state, "r-grow"),
        Err(grow::GrowError::Unknown(_))
    ));

    if !ovs {
        eprintln!(
            "the hypervisor half SKIPPED: Open vSwitch is missing (scripts/setup installs it)"
        );
        return;
    }
    // A hypervisor added: hv-dc1-01 of the example, compiled with fresh
    // keys, built without VMs as `lab up` builds one.
    let text = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/two-dc.yaml"),
    )
    .unwrap();
    let (intent, _) = yaml::parse_intent(&text).unwrap();
    let mut secrets = Secrets::default();
    for x in &intent.platform.routers {
        let (private, public) = keypair();
        secrets.routers.insert(
            x.name.to_string(),
            RouterSecrets {
                wireguard_private_key: private,
                wireguard_public_key: public,
                api_key: "lab".into(),
                api_key_next: None,
                api_key_retired: None,
                api_key_since: None,
                wireguard_previous: None,
                wireguard_since: None,
                client_key: None,
                client_epochs: Default::default(),
                client_rotation: None,
            },
        );
    }
    for x in &intent.platform.hypervisors {
        let (private, public) = keypair();
        secrets.hypervisors.insert(
            x.name.to_string(),
            HypervisorSecrets {
                wireguard_private_key: private,
                wireguard_public_key: public,
                wireguard_previous: None,
                wireguard_since: None,
            },
        );
    }
    let out = vxguard_compiler::compile(
        &intent,
        &Default::default(),
        &secrets,
        &DefinitionSet::default(),
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    let hv = "hv-dc1-01";
    let hid = grow::free_id(&inv, "h", inv.hypervisors.len());
    let hns = grow::hypervisor_host(
        &mut inv,
        &state,
        &sites,
        hv,
        "dc1",
        Ipv4Addr::new(5, 254, 54, 20),
        &hid,
    )
    .unwrap();
    let config = HypervisorConfig::from(&out.hypervisors[hv]);
    let run_dir = state.join(hv);
    let node = HypervisorNode {
        name: hv.into(),
        site: "dc1".into(),
        ns: hns.clone(),
        ovs_ns: format!("{hns}-ovs"),
        id: hid.clone(),
        openflow: String::new(),
        run_dir: run_dir.clone(),
        underlay_address: Ipv4Addr::new(5, 254, 54, 20),
        vtep: config.vtep,
    };
    inv.hypervisors.push(node.clone());
    inv.save(&state).unwrap();
    let built = hypervisor::build(&HypervisorSpec {
        name: hv.into(),
        id: hid.clone(),
        ns: hns.clone(),
        ovs_ns: node.ovs_ns.clone(),
        run_dir: run_dir.clone(),
        bridge: config.bridge.clone(),
        config,
        mtu: out.tenant_mtu,
        vms: Vec::new(),
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let agent_pid = stand_in();
    inv.processes.push(Process {
        pid: agent_pid,
        what: format!("lab hypervisor agent {hv}"),
    });
    inv.save(&state).unwrap();
    assert!(!built.pids.is_empty() && built.pids.iter().all(|p| alive(*p)));
    assert!(
        first_reply(&hns, "5.254.54.1", Duration::from_secs(5)).is_some(),
        "the hypervisor does not reach its site's gateway"
    );

    grow::remove_hypervisor(&mut inv, &state, hv).unwrap_or_else(|e| panic!("{e}"));
    for p in &built.pids {
        assert!(!alive(*p), "a daemon of {hv} (pid {p}) still runs");
    }
    assert!(!alive(agent_pid), "{hv}'s agent still runs");
    assert!(
        !ns_exists(&hns) && !ns_exists(&node.ovs_ns),
        "{hv}'s namespaces left"
    );
    assert!(
        sockets_of(&hid).is_empty(),
        "{hv}'s wireguard-go sockets left"
    );
    assert!(!run_dir.exists(), "{hv}'s run directory is left");
    assert!(inv.hypervisors.is_empty());
    assert!(!inv.underlay_links.iter().any(|l| l.label.ends_with(hv)));
    assert_eq!(Inventory::load(&state).unwrap(), inv);
    assert!(
        first_reply(&stay.ns, "10.99.0.1", Duration::from_secs(5)).is_some(),
        "r-stay lost its site's gateway"
    );
}
