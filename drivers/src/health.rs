//! The worker's health check after a router commit: the API still answers
//! and no BGP session that was Established before the apply is down after
//! it. Sessions that were not up before (to routers not configured yet, in
//! a first rollout) are not required, so a canary is never failed by peers
//! that do not exist yet.
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
                Ok(()) => match sessions(client).await {
                    Ok(now) => {
                        let lost: Vec<&str> = self
                            .before
                            .iter()
                            .filter(|n| !now.contains(*n))
                            .map(String::as_str)
                            .collect();
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
}
