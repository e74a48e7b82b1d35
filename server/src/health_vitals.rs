//! The collector's further questions to each router (issue 18, item 1):
//! `show bfd peers`, `show interfaces counters` and `show system uptime`,
//! asked side by side, parsed by `vxguard-health` and added to the
//! round's items by [`vxguard_health::vitals`] (BFD under each BGP
//! session, counters and CPU load on the router). Kept apart from the
//! collector's round ([`crate::health`]) so the two change separately.

use vxguard_health::parse;
use vxguard_health::vitals::Vitals;
use vyos_api::{Client, Show};

/// One op-mode command's text, or why there is none.
async fn show(client: &Client, path: &[&str]) -> Result<String, String> {
    let s = Show {
        path: path.iter().map(|p| p.to_string()).collect(),
    };
    match client.show(&s).await {
        Ok(a) if a.ok() => Ok(a.envelope.data.as_str().unwrap_or("").to_string()),
        Ok(a) => Err(format!(
            "show {} answered {}: {}",
            path.join(" "),
            a.status,
            a.error().unwrap_or("").trim()
        )),
        Err(e) => Err(e.to_string()),
    }
}

/// Asks one router its BFD peers, interface counters and load.
pub async fn ask(client: &Client) -> Vitals {
    let (bfd, counters, uptime) = tokio::join!(
        show(client, &["bfd", "peers"]),
        show(client, &["interfaces", "counters"]),
        show(client, &["system", "uptime"]),
    );
    Vitals {
        bfd: bfd.map(|t| parse::bfd_peers(&t)),
        interfaces: counters.map(|t| parse::interface_counters(&t)),
        load: uptime
            .and_then(|t| parse::uptime(&t).ok_or_else(|| format!("not understood: {t:?}"))),
    }
}
