//! The worker's health check after a router commit: the API still answers
//! and no BGP session that was Established before the apply is down after
//! it. Sessions that were not up before (to routers not configured yet, in
//! a first rollout) are not required, so a canary is never failed by peers
//! that do not exist yet; nor are sessions the commit removed (a neighbor
//! the summary no longer lists: a router leaving the platform, whose
//! staged mesh change removes it from every router's BGP first; found by
//! `vxguard-lab check`'s check 8, where each router rolled that back).
//!
//! Sessions come from op-mode `show bgp summary` over `/show`: on VyOS
//! FRR's table, where an Established session shows its prefix count in
//! the `State/PfxRcd` column; on the lab router a `Neighbor State` table
//! (`Unrealised` without FRR). [`established`] reads both.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use vyos_api::{Client, Show};

use crate::vyos::{ApiReachable, HealthCheck};

/// The neighbors an op-mode `show bgp summary` text reports Established
/// (every address family's table; a neighbor Established in any), as the
/// health collector reads the same text ([`vxguard_health::parse`]).
pub fn established(text: &str) -> BTreeSet<String> {
    vxguard_health::parse::bgp_summary(text)
        .into_iter()
        .filter(|p| p.established())
        .map(|p| p.neighbor)
        .collect()
}

/// Every neighbor an op-mode `show bgp summary` text lists, in any state:
/// the neighbors configured.
pub fn listed(text: &str) -> BTreeSet<String> {
    vxguard_health::parse::bgp_summary(text)
        .into_iter()
        .map(|p| p.neighbor)
        .collect()
}

/// The sessions an apply lost: Established before, listed now (still
/// configured) and not Established. A neighbor no longer listed was
/// removed by the commit, which is what vxguard asked for; but a summary
/// that lists no neighbor at all (bgpd down, or an answer that is no
/// summary) proves nothing was removed, and every session is lost.
pub fn lost<'a>(before: &'a BTreeSet<String>, summary: &str) -> Vec<&'a str> {
    let (up, configured) = (established(summary), listed(summary));
    before
        .iter()
        .filter(|n| (configured.is_empty() || configured.contains(*n)) && !up.contains(*n))
        .map(String::as_str)
        .collect()
}

/// Reads the router's `show bgp summary` text; `Err` when it does not
/// answer.
pub async fn summary(client: &Client) -> Result<String, String> {
    let s = Show {
        path: vec!["bgp".into(), "summary".into()],
    };
    match client.show(&s).await {
        Ok(a) if a.ok() => Ok(a.envelope.data.as_str().unwrap_or("").to_string()),
        Ok(a) => Err(format!(
            "show bgp summary answered {}: {}",
            a.status,
            a.error().unwrap_or("")
        )),
        Err(e) => Err(e.to_string()),
    }
}

/// Reads the router's Established sessions; `Err` when it does not answer.
pub async fn sessions(client: &Client) -> Result<BTreeSet<String>, String> {
    let s = Show {
        path: vec!["bgp".into(), "summary".into()],
    };
    match client.show(&s).await {
        Ok(a) if a.ok() => Ok(established(a.envelope.data.as_str().unwrap_or(""))),
        Ok(a) => Err(format!(
            "show bgp summary answered {}: {}",
            a.status,
            a.error().unwrap_or("")
        )),
        Err(e) => Err(e.to_string()),
    }
}

/// The check: built from a snapshot taken just before the apply.
#[derive(Clone, Debug)]
pub struct BgpKept {
    /// Established before the apply.
    pub before: BTreeSet<String>,
    /// How long to wait before the first look when sessions were up: a
    /// change that breaks a session (a WireGuard peer gone, an address
    /// moved) takes it down only when BFD or the hold timer notices, so a
    /// look right after the commit would still see it Established.
    pub settle: Duration,
    /// How long sessions may take to come back after the commit.
    pub wait: Duration,
    pub poll: Duration,
}

impl BgpKept {
    /// Snapshots the sessions now. A router that cannot say (unreachable,
    /// op-mode refused) has no session to keep: the apply itself will
    /// report why it cannot reach it.
    pub async fn snapshot(
        client: &Client,
        settle: Duration,
        wait: Duration,
        poll: Duration,
    ) -> BgpKept {
        BgpKept {
            before: sessions(client).await.unwrap_or_default(),
            settle,
            wait,
            poll,
        }
    }

    async fn run(&self, client: &Client) -> Result<(), String> {
        if !self.before.is_empty() {
            tokio::time::sleep(self.settle).await;
        }
        let deadline = Instant::now() + self.wait;
        loop {
            let why = match ApiReachable.check(client).await {
                Err(e) => format!("the API does not answer: {e}"),
                Ok(()) if self.before.is_empty() => return Ok(()),
                Ok(()) => match summary(client).await {
                    Ok(now) => {
                        let lost = lost(&self.before, &now);
                        if lost.is_empty() {
                            return Ok(());
                        }
                        format!(
                            "BGP sessions Established before the apply are down: {}",
                            lost.join(", ")
                        )
                    }
                    Err(e) => e,
                },
            };
            if Instant::now() >= deadline {
                return Err(format!("{why} (after {:?})", self.wait));
            }
            tokio::time::sleep(self.poll).await;
        }
    }
}

impl HealthCheck for BgpKept {
    fn check<'a>(
        &'a self,
        client: &'a Client,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(self.run(client))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frr_summary_prefix_counts_mean_established() {
        let t = "\
IPv4 Unicast Summary (VRF default):
BGP router identifier 172.27.0.1, local AS number 65000 vrf-id 0
BGP table version 3
RIB entries 5, using 960 bytes of memory
Peers 3, using 2169 KiB of memory

Neighbor        V         AS   MsgRcvd   MsgSent   TblVer  InQ OutQ  Up/Down State/PfxRcd   PfxSnt Desc
172.27.0.2      4      65000        12        14        0    0    0 00:03:10            2        3 N/A
172.27.0.3      4      65000         0         0        0    0    0    never       Active        0 N/A
172.27.0.4      4      65000         0         0        0    0    0    never      Connect        0 N/A

Total number of neighbors 3

L2VPN EVPN Summary (VRF default):
Neighbor        V         AS   MsgRcvd   MsgSent   TblVer  InQ OutQ  Up/Down State/PfxRcd   PfxSnt Desc
172.27.0.5      4      65000        12        14        0    0    0 00:03:10            0        3 N/A
";
        let e: Vec<String> = established(t).into_iter().collect();
        assert_eq!(e, ["172.27.0.2", "172.27.0.5"]);
    }

    #[test]
    fn lab_table_states_by_name() {
        let t = "Neighbor        State\n172.27.0.2      Established\n172.27.0.3      Unrealised\n172.27.0.4      Active\n";
        let e: Vec<String> = established(t).into_iter().collect();
        assert_eq!(e, ["172.27.0.2"]);
        assert!(established("").is_empty());
    }

    /// A session down after the apply is lost; one the commit removed
    /// (its neighbor no longer listed: a router leaving the platform) is
    /// not.
    #[test]
    fn a_removed_neighbor_is_not_a_lost_session() {
        let before: BTreeSet<String> = ["172.27.0.2", "172.27.0.3", "172.27.0.7"]
            .into_iter()
            .map(String::from)
            .collect();
        let after = "Neighbor        State
172.27.0.2      Established
172.27.0.3      Active
";
        assert_eq!(lost(&before, after), ["172.27.0.3"]);
        let all_up = "Neighbor        State
172.27.0.2      Established
172.27.0.3      Established
";
        assert!(lost(&before, all_up).is_empty());
        // No neighbor listed: bgpd is down, not every neighbor removed.
        assert_eq!(
            lost(&before, "% BGP instance not found\n"),
            ["172.27.0.2", "172.27.0.3", "172.27.0.7"]
        );
    }
}
