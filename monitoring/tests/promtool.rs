//! The generated files against Prometheus's and Alertmanager's own
//! checkers (Debian's `prometheus` and `prometheus-alertmanager`, which
//! scripts/setup installs): `promtool check rules`, `promtool test rules`
//! (tests/alerts.test.yml, a test per alert), `promtool check config` and
//! `amtool check-config`. Skipped with a message where they are missing;
//! a failure under CI.

use std::path::{Path, PathBuf};
use std::process::Command;

use vxguard_monitoring::{
    alertmanager, rules, scrape_config, Receivers, Scrape, Thresholds, ALERTS,
};

fn missing() -> Option<&'static str> {
    let have = |c: &str| {
        Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let why = if !have("promtool") {
        Some("promtool is missing (Debian package prometheus; scripts/setup installs it)")
    } else if !have("amtool") {
        Some("amtool is missing (Debian package prometheus-alertmanager)")
    } else {
        None
    };
    if let (Some(w), Some(_)) = (why, std::env::var_os("CI")) {
        panic!("{w}");
    }
    why
}

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("vxguard-monitoring-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run(cmd: &str, args: &[&str], cwd: &Path) -> String {
    let o = Command::new(cmd)
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "{cmd} {args:?}:\n{text}");
    text
}

#[test]
fn rules_pass_promtool_and_every_alert_has_a_unit_test() {
    if let Some(why) = missing() {
        eprintln!("SKIPPED: {why}");
        return;
    }
    let d = dir("rules");
    std::fs::write(d.join("rules.yml"), rules(&Thresholds::default())).unwrap();
    let tests = include_str!("alerts.test.yml");
    std::fs::write(d.join("alerts.test.yml"), tests).unwrap();
    run("promtool", &["check", "rules", "rules.yml"], &d);
    run("promtool", &["test", "rules", "alerts.test.yml"], &d);
    for a in ALERTS {
        assert!(
            tests.contains(&format!("alertname: {a}\n")),
            "{a} has no test in alerts.test.yml"
        );
    }
    // The unit tests can fail: each threshold moved makes one.
    let d0 = Thresholds::default();
    let moved: [(&str, Thresholds); 7] = [
        (
            "api key age",
            Thresholds {
                api_key_max_age_secs: 900_000,
                ..d0.clone()
            },
        ),
        (
            "handshake",
            Thresholds {
                handshake_max_secs: 240,
                ..d0.clone()
            },
        ),
        (
            "memory warning",
            Thresholds {
                memory_warning: 0.79,
                ..d0.clone()
            },
        ),
        (
            "memory critical",
            Thresholds {
                memory_critical: 0.96,
                ..d0.clone()
            },
        ),
        (
            "interface warning",
            Thresholds {
                interface_warning: 0.81,
                ..d0.clone()
            },
        ),
        (
            "interface critical",
            Thresholds {
                interface_critical: 0.91,
                ..d0.clone()
            },
        ),
        (
            "health stale",
            Thresholds {
                health_stale_secs: 600,
                ..d0.clone()
            },
        ),
    ];
    for (what, t) in moved {
        std::fs::write(d.join("rules.yml"), rules(&t)).unwrap();
        let o = Command::new("promtool")
            .args(["test", "rules", "alerts.test.yml"])
            .current_dir(&d)
            .output()
            .unwrap();
        assert!(
            !o.status.success(),
            "the tests pass whatever the {what} threshold"
        );
    }
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn alertmanager_and_scrape_configurations_load() {
    if let Some(why) = missing() {
        eprintln!("SKIPPED: {why}");
        return;
    }
    let d = dir("configs");
    for f in [
        "pagerduty.key",
        "slack.url",
        "smtp.password",
        "metrics.token",
    ] {
        std::fs::write(d.join(f), "x\n").unwrap();
    }
    let p = |f: &str| d.join(f).to_string_lossy().into_owned();
    let r = Receivers {
        email_to: vec!["noc@example.com".into(), "oncall@example.com".into()],
        smtp_smarthost: Some("mail.example.com:587".into()),
        smtp_from: Some("vxguard@example.com".into()),
        smtp_auth_username: Some("vxguard".into()),
        smtp_auth_password_file: Some(p("smtp.password")),
        pagerduty_routing_key_file: Some(p("pagerduty.key")),
        slack_api_url_file: Some(p("slack.url")),
        slack_channel: Some("#noc".into()),
    };
    std::fs::write(d.join("alertmanager.yml"), alertmanager(&r).unwrap()).unwrap();
    run("amtool", &["check-config", "alertmanager.yml"], &d);
    // Email alone serves both severities.
    let email_only = Receivers {
        pagerduty_routing_key_file: None,
        slack_api_url_file: None,
        slack_channel: None,
        ..r
    };
    std::fs::write(d.join("email.yml"), alertmanager(&email_only).unwrap()).unwrap();
    run("amtool", &["check-config", "email.yml"], &d);

    std::fs::write(d.join("rules.yml"), rules(&Thresholds::default())).unwrap();
    let s = Scrape {
        targets: vec!["127.0.0.1:3000".into()],
        scheme: "http".into(),
        bearer_token_file: Some(p("metrics.token")),
        interval: "15s".into(),
        routers: vec![vxguard_monitoring::RouterTarget {
            name: "vyos-dc1-02".into(),
            site: "dc1".into(),
            address: "172.27.0.2".into(),
        }],
    };
    std::fs::write(
        d.join("prometheus.yml"),
        scrape_config(&s, &[p("rules.yml")]),
    )
    .unwrap();
    run("promtool", &["check", "config", "prometheus.yml"], &d);
    let _ = std::fs::remove_dir_all(&d);
}
