//! The carrier of a link in another namespace, as a file keepalived
//! tracks (`track_file`, weight 0: `0` up, `1` down), written on the
//! link's own events.
//!
//! Why: VyOS's `track interface` is keepalived's `track_interface`
//! (`../shared/vyos-1x/{sagitta,current}/templates/high-availability/
//! keepalived.conf.j2`: `group_config.track.interface`), which follows the
//! kernel's link events in keepalived's own namespace: FAULT when the
//! carrier goes, and for nothing else. In the lab a VRF's keepalived runs
//! in the VRF's namespace and the tracked underlay (`eth0`) is in the
//! router's, out of its sight. The lab first tracked it with a
//! `vrrp_script` exec'ing `ip link show` every second (`fall 1`): on a
//! starved machine one exec over keepalived's script timeout put every
//! group of the namespace into FAULT at once with the link up (check 8,
//! docs/src/operator/mesh-changes.md). Here a watcher (`ip -o monitor
//! link` in the tracked namespace, read by a thread of the lab router)
//! writes the file on each change of that link only: a slow watcher
//! makes a FAULT late, never one of its own.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use super::run::{ApplyError, RunDir};

/// Stands for the router's run directory in a configuration's text (the
/// plan is pure); replaced when the file is written.
pub const RUN_DIR: &str = "@RUN_DIR@";

/// The watchers of this process, by the file each writes.
fn watchers() -> &'static Mutex<HashMap<PathBuf, Child>> {
    static W: OnceLock<Mutex<HashMap<PathBuf, Child>>> = OnceLock::new();
    W.get_or_init(Default::default)
}

/// The file name (in the run directory) of the carrier of `dev` in
/// `netns` as the keepalived of `keepalived_ns` tracks it.
pub fn file_name(keepalived_ns: &str, netns: &str, dev: &str) -> String {
    format!("keepalived-{keepalived_ns}.carrier-{netns}-{dev}")
}

/// Whether `line` of `ip -o monitor link` (or `ip -o link show`) is about
/// `dev`, and then whether it has carrier (a deleted link has none).
pub fn parse(line: &str, dev: &str) -> Option<bool> {
    let (deleted, rest) = match line.strip_prefix("Deleted ") {
        Some(r) => (true, r),
        None => (false, line),
    };
    let mut fields = rest.splitn(3, ": ");
    fields.next()?.trim().parse::<u32>().ok()?;
    let name = fields.next()?;
    if name.split('@').next() != Some(dev) {
        return None;
    }
    let flags = fields.next()?;
    let flags = flags.strip_prefix('<')?.split('>').next()?;
    Some(!deleted && flags.split(',').any(|f| f == "LOWER_UP"))
}

fn carrier_now(netns: &str, dev: &str) -> bool {
    Command::new("ip")
        .args(["-n", netns, "-o", "link", "show", "dev", dev])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .find_map(|l| parse(l, dev))
        })
        .unwrap_or(false)
}

/// Writes the state whole (renamed into place: keepalived never reads
/// half a file).
fn write(path: &Path, up: bool) -> Result<(), ApplyError> {
    let tmp = path.with_extension("tmp");
    let io = |source| ApplyError::Io {
        path: path.into(),
        source,
    };
    std::fs::write(&tmp, if up { "0\n" } else { "1\n" }).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

/// Makes sure a watcher writes the carrier of `dev` in `netns` to the
/// file `name` of `rd`; the file holds the current state when this
/// returns (before keepalived starts).
pub fn watch(rd: &RunDir, name: &str, netns: &str, dev: &str) -> Result<(), ApplyError> {
    let path = rd.0.join(name);
    let mut all = watchers().lock().unwrap();
    if let Some(c) = all.get_mut(&path) {
        if matches!(c.try_wait(), Ok(None)) {
            return Ok(());
        }
        all.remove(&path);
    }
    let mut child = Command::new("ip")
        .args(["-n", netns, "-o", "monitor", "link"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|source| ApplyError::Spawn {
            cmd: format!("ip -n {netns} -o monitor link"),
            source,
        })?;
    let out = child.stdout.take().expect("piped");
    write(&path, carrier_now(netns, dev))?;
    let (p, ns, dev) = (path.clone(), netns.to_string(), dev.to_string());
    std::thread::spawn(move || {
        // A change between the monitor's start and its subscription is
        // in neither: read once more when it surely listens. Its events
        // meanwhile wait in the pipe, in order, and end at the state now.
        std::thread::sleep(Duration::from_millis(300));
        let _ = write(&p, carrier_now(&ns, &dev));
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if let Some(up) = parse(&line, &dev) {
                if let Err(e) = write(&p, up) {
                    tracing::error!(error = %e, "writing a tracked carrier");
                }
            }
        }
    });
    all.insert(path, child);
    Ok(())
}

/// Stops the watchers of `rd` whose file starts with `prefix` and is not
/// in `keep`, and removes their files.
pub fn unwatch(rd: &RunDir, prefix: &str, keep: &[String]) {
    let mut all = watchers().lock().unwrap();
    let gone: Vec<PathBuf> = all
        .keys()
        .filter(|p| {
            p.parent() == Some(rd.0.as_path())
                && p.file_name().is_some_and(|n| {
                    let n = n.to_string_lossy();
                    n.starts_with(prefix) && !keep.iter().any(|k| *k == n)
                })
        })
        .cloned()
        .collect();
    for p in gone {
        if let Some(mut c) = all.remove(&p) {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_file(&p);
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn monitor_lines_give_the_carrier_of_their_link_only() {
        let up = "4: eth0@if5: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT group default \\    link/ether 2a:1b:3c:4d:5e:6f brd ff:ff:ff:ff:ff:ff link-netns lab1-u";
        let down = "4: eth0@if5: <NO-CARRIER,BROADCAST,MULTICAST,UP> mtu 1500 qdisc noqueue state LOWERLAYERDOWN mode DEFAULT group default \\    link/ether 2a:1b:3c:4d:5e:6f";
        let deleted = "Deleted 4: eth0@if5: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP";
        assert_eq!(parse(up, "eth0"), Some(true));
        assert_eq!(parse(down, "eth0"), Some(false));
        assert_eq!(parse(deleted, "eth0"), Some(false));
        assert_eq!(parse(up, "eth1"), None);
        assert_eq!(parse(&up.replace("eth0@", "eth00@"), "eth0"), None);
        assert_eq!(
            parse(
                "7: a1br10000: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1390",
                "a1br10000"
            ),
            Some(true)
        );
        assert_eq!(parse("garbage", "eth0"), None);
    }
}
