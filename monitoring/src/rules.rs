//! The alert rules: one group, each alert with a `severity` label
//! (`critical` or `warning`, which Alertmanager routes) and a summary.
//!
//! On vxguard's own metrics (`server/src/metrics.rs`): a device whose last
//! apply failed, drift, a router API key older than its interval plus
//! grace, jobs waiting, server errors, vxguard not scraped. On the device
//! state vxguard collects (the same `/metrics`): a router that does not
//! answer, memory, BGP sessions, WireGuard handshakes, VRRP groups without
//! a master, with two, or with a master and no backup ready, a collector
//! that stopped. On VyOS 1.5's own
//! node-exporter (job [`crate::scrape::NODE_JOB`]): interface utilisation
//! (VyOS 1.4 routers export no interface counters, so nothing fires for
//! them).

use std::fmt::Write;

use crate::yaml::quoted;

/// What the alerts fire on.
#[derive(Clone, Debug, PartialEq)]
pub struct Thresholds {
    /// A router API key older than this (rotation interval plus grace).
    pub api_key_max_age_secs: u64,
    /// The oldest runnable job waiting longer than this.
    pub job_wait_secs: u64,
    /// Share of HTTP requests answered 5xx.
    pub http_error_ratio: f64,
    /// A mesh peer's latest handshake older than this (WireGuard renews
    /// every 120 s on a live link).
    pub handshake_max_secs: u64,
    /// Share of a router's memory used: warning, critical.
    pub memory_warning: f64,
    pub memory_critical: f64,
    /// Share of an interface's speed used over 5 minutes: warning, critical.
    pub interface_warning: f64,
    pub interface_critical: f64,
    /// No health round for this long: the collector stopped.
    pub health_stale_secs: u64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            // 7 days and 48 hours.
            api_key_max_age_secs: 9 * 86_400,
            job_wait_secs: 300,
            http_error_ratio: 0.05,
            handshake_max_secs: 180,
            memory_warning: 0.8,
            memory_critical: 0.9,
            interface_warning: 0.7,
            interface_critical: 0.85,
            health_stale_secs: 300,
        }
    }
}

/// One alert rule.
struct Alert {
    name: &'static str,
    expr: String,
    for_: &'static str,
    severity: &'static str,
    summary: &'static str,
}

/// The names of the alerts [`rules`] writes, for the tests that must cover
/// each.
pub const ALERTS: [&str; 17] = [
    "VxguardDown",
    "VxguardApplyFailed",
    "VxguardDrift",
    "VxguardApiKeyTooOld",
    "VxguardJobsWaiting",
    "VxguardServerErrors",
    "VxguardHealthStale",
    "VxguardRouterDown",
    "VxguardRouterMemoryHigh",
    "VxguardRouterMemoryCritical",
    "VxguardBgpSessionDown",
    "VxguardWireguardHandshakeStale",
    "VxguardVrrpNoMaster",
    "VxguardVrrpSplitBrain",
    "VxguardVrrpNoBackup",
    "VxguardInterfaceUtilisationHigh",
    "VxguardInterfaceUtilisationCritical",
];

/// An interface's utilisation over 5 minutes, the busier direction, from
/// node-exporter (interfaces whose speed is known only: VyOS reports none
/// for WireGuard, VXLAN or bridges).
fn utilisation(job: &str) -> String {
    format!(
        "max without (direction) (\
         label_replace(rate(node_network_receive_bytes_total{{job=\"{job}\"}}[5m]), \"direction\", \"rx\", \"\", \"\") \
         or label_replace(rate(node_network_transmit_bytes_total{{job=\"{job}\"}}[5m]), \"direction\", \"tx\", \"\", \"\")) \
         / (node_network_speed_bytes{{job=\"{job}\"}} > 0)"
    )
}

fn alerts(t: &Thresholds) -> Vec<Alert> {
    vec![
        Alert {
            name: "VxguardDown",
            expr: r#"up{job="vxguard"} == 0"#.into(),
            for_: "2m",
            severity: "critical",
            summary: "vxguard at {{ $labels.instance }} does not answer scrapes",
        },
        Alert {
            name: "VxguardApplyFailed",
            expr: r#"vxguard_device_state{state="failed"} == 1"#.into(),
            for_: "5m",
            severity: "critical",
            summary: "{{ $labels.kind }} {{ $labels.device }}: the last apply failed; it runs its previous revision",
        },
        Alert {
            name: "VxguardDrift",
            expr: r#"vxguard_device_state{state="drifted"} == 1"#.into(),
            for_: "10m",
            severity: "warning",
            summary: "{{ $labels.kind }} {{ $labels.device }}: its running configuration differs from its applied revision",
        },
        Alert {
            name: "VxguardApiKeyTooOld",
            expr: format!("vxguard_router_api_key_age_seconds > {}", t.api_key_max_age_secs),
            for_: "15m",
            severity: "warning",
            summary: "router {{ $labels.router }}: its API key is older than its rotation interval and grace",
        },
        Alert {
            name: "VxguardJobsWaiting",
            expr: format!("vxguard_job_queue_oldest_seconds > {}", t.job_wait_secs),
            for_: "5m",
            severity: "warning",
            summary: "a job has waited for a worker for over {{ $value | humanizeDuration }}",
        },
        Alert {
            name: "VxguardServerErrors",
            expr: format!(
                "sum by (instance) (rate(vxguard_http_requests_total{{status=~\"5..\"}}[5m])) \
                 / sum by (instance) (rate(vxguard_http_requests_total[5m])) > {}",
                t.http_error_ratio
            ),
            for_: "10m",
            severity: "warning",
            summary: "vxguard at {{ $labels.instance }} answers {{ $value | humanizePercentage }} of requests with a server error",
        },
        Alert {
            name: "VxguardHealthStale",
            expr: format!("time() - vxguard_health_round_timestamp_seconds > {}", t.health_stale_secs),
            for_: "5m",
            severity: "warning",
            summary: "vxguard's health collector has not finished a round for {{ $value | humanizeDuration }}: device alerts are blind",
        },
        Alert {
            name: "VxguardRouterDown",
            expr: "vxguard_router_up == 0".into(),
            for_: "2m",
            severity: "critical",
            summary: "router {{ $labels.router }} ({{ $labels.site }}) does not answer vxguard",
        },
        Alert {
            name: "VxguardRouterMemoryHigh",
            expr: format!("vxguard_router_memory_used_ratio > {}", t.memory_warning),
            for_: "5m",
            severity: "warning",
            summary: "router {{ $labels.router }} ({{ $labels.site }}): {{ $value | humanizePercentage }} of memory used",
        },
        Alert {
            name: "VxguardRouterMemoryCritical",
            expr: format!("vxguard_router_memory_used_ratio > {}", t.memory_critical),
            for_: "5m",
            severity: "critical",
            summary: "router {{ $labels.router }} ({{ $labels.site }}): {{ $value | humanizePercentage }} of memory used",
        },
        Alert {
            name: "VxguardBgpSessionDown",
            expr: "vxguard_bgp_session_up == 0".into(),
            for_: "2m",
            severity: "critical",
            summary: "router {{ $labels.router }} ({{ $labels.site }}): its BGP session to {{ $labels.peer }} is not Established",
        },
        Alert {
            name: "VxguardWireguardHandshakeStale",
            // Not while the collector is stale: its last timestamps age
            // with the clock, and VxguardHealthStale says so once.
            expr: format!(
                "time() - vxguard_wireguard_latest_handshake_timestamp_seconds > {0} \
                 unless on () (time() - vxguard_health_round_timestamp_seconds > {0})",
                t.handshake_max_secs
            ),
            for_: "1m",
            severity: "critical",
            summary: "router {{ $labels.router }} ({{ $labels.site }}): no WireGuard handshake with {{ $labels.peer }} for {{ $value | humanizeDuration }}",
        },
        Alert {
            name: "VxguardVrrpNoMaster",
            expr: "vxguard_vrrp_masters == 0".into(),
            for_: "1m",
            severity: "critical",
            summary: "tenant {{ $labels.tenant }}: network {{ $labels.network }} has no gateway master at {{ $labels.site }}",
        },
        Alert {
            name: "VxguardVrrpSplitBrain",
            expr: "vxguard_vrrp_masters > 1".into(),
            for_: "1m",
            severity: "critical",
            summary: "tenant {{ $labels.tenant }}: network {{ $labels.network }} has {{ $value }} gateway masters at {{ $labels.site }} (split brain)",
        },
        Alert {
            // A gateway of a pair down, cut off or not running VRRP: the
            // group still has its master (so neither alert above fires),
            // but no failover is left. The value: gateways not ready.
            name: "VxguardVrrpNoBackup",
            expr: "(vxguard_vrrp_gateways - vxguard_vrrp_masters - vxguard_vrrp_backups > 0) \
                   and on (tenant, network, site) (vxguard_vrrp_masters == 1)"
                .into(),
            for_: "1m",
            severity: "warning",
            summary: "tenant {{ $labels.tenant }}: network {{ $labels.network }} at {{ $labels.site }} has a master but {{ $value }} gateway(s) not backing it up (no failover left)",
        },
        Alert {
            name: "VxguardInterfaceUtilisationHigh",
            expr: format!("{} > {}", utilisation(crate::scrape::NODE_JOB), t.interface_warning),
            for_: "5m",
            severity: "warning",
            summary: "router {{ $labels.router }} ({{ $labels.site }}): {{ $labels.device }} at {{ $value | humanizePercentage }} of its speed",
        },
        Alert {
            name: "VxguardInterfaceUtilisationCritical",
            expr: format!("{} > {}", utilisation(crate::scrape::NODE_JOB), t.interface_critical),
            for_: "5m",
            severity: "critical",
            summary: "router {{ $labels.router }} ({{ $labels.site }}): {{ $labels.device }} at {{ $value | humanizePercentage }} of its speed",
        },
    ]
}

/// The rule file (`rule_files:` of Prometheus).
pub fn rules(t: &Thresholds) -> String {
    let mut s = String::from(
        "# Generated by `vxguard monitoring rules`.\ngroups:\n  - name: vxguard\n    rules:\n",
    );
    for a in alerts(t) {
        let _ = write!(
            s,
            "      - alert: {}\n        expr: {}\n        for: {}\n        labels:\n          severity: {}\n        annotations:\n          summary: {}\n",
            a.name,
            quoted(&a.expr),
            a.for_,
            a.severity,
            quoted(a.summary)
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_alert_is_named_once_and_carries_a_severity() {
        let r = rules(&Thresholds::default());
        for name in ALERTS {
            assert_eq!(r.matches(&format!("alert: {name}\n")).count(), 1, "{name}");
        }
        assert_eq!(r.matches("severity: ").count(), ALERTS.len());
        assert!(
            r.contains("vxguard_router_api_key_age_seconds > 777600"),
            "{r}"
        );
    }
}
