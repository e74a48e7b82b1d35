//! The result of `lab check`: rows of probes (expected vs observed),
//! capture verdicts and measured figures, rendered as a text matrix or as
//! JSON. Pure.

use serde::Serialize;

use super::pcap::Verdict;

/// One probe: who tried what, what the policy expects, what happened.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    /// Which check (`1-3 tenant`, `2 cross-tenant`, `5 client`...).
    pub check: String,
    pub from: String,
    pub to: String,
    /// `icmp` or `tcp/443`.
    pub probe: String,
    pub expect_reach: bool,
    /// Why that is expected (`rule 1 accept`, `other tenant`...).
    pub why: String,
    pub reached: bool,
    /// What was seen (`answered by fin-web2`, `timed out`...).
    pub detail: String,
}

impl Row {
    pub fn ok(&self) -> bool {
        self.expect_reach == self.reached
    }
}

/// One underlay capture's verdict (check 4).
#[derive(Clone, Debug, Serialize)]
pub struct CaptureRow {
    pub link: String,
    pub file: String,
    pub verdict: Option<Verdict>,
    /// Why the capture could not be judged.
    pub error: Option<String>,
}

impl CaptureRow {
    pub fn ok(&self) -> bool {
        self.error.is_none() && self.verdict.as_ref().is_some_and(Verdict::ok)
    }
}

/// A measured figure (never a pass/fail by itself unless `ok` is false).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Figure {
    pub name: String,
    pub value: Option<f64>,
    pub unit: String,
    pub detail: String,
    pub ok: bool,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Report {
    /// The run's marker string, sent in every tenant TCP payload.
    pub marker: String,
    pub rows: Vec<Row>,
    pub captures: Vec<CaptureRow>,
    pub figures: Vec<Figure>,
    /// Steps that could not run at all (each is a failure).
    pub errors: Vec<String>,
    /// Notes: assumptions the run made.
    pub notes: Vec<String>,
}

impl Report {
    /// How many things failed: rows, captures, figures, errors.
    pub fn failures(&self) -> usize {
        self.rows.iter().filter(|r| !r.ok()).count()
            + self.captures.iter().filter(|c| !c.ok()).count()
            + self.figures.iter().filter(|f| !f.ok).count()
            + self.errors.len()
    }

    pub fn to_json(&self) -> String {
        let mut v = serde_json::to_value(self).expect("report serialises");
        v["failures"] = self.failures().into();
        serde_json::to_string_pretty(&v).expect("report serialises")
    }

    /// The text matrix: per check, one line per (from, to) and one column
    /// per probe; `ok` reached, `--` did not, `!` not as expected.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let mut checks: Vec<&str> = Vec::new();
        for r in &self.rows {
            if !checks.contains(&r.check.as_str()) {
                checks.push(&r.check);
            }
        }
        for c in checks {
            let rows: Vec<&Row> = self.rows.iter().filter(|r| r.check == c).collect();
            let mut probes: Vec<&str> = Vec::new();
            let mut pairs: Vec<(&str, &str)> = Vec::new();
            for r in &rows {
                if !probes.contains(&r.probe.as_str()) {
                    probes.push(&r.probe);
                }
                if !pairs.contains(&(r.from.as_str(), r.to.as_str())) {
                    pairs.push((&r.from, &r.to));
                }
            }
            probes.sort_by_key(|p| probe_order(p));
            let failed = rows.iter().filter(|r| !r.ok()).count();
            out.push_str(&format!(
                "== {c}: {} probes, {}\n",
                rows.len(),
                if failed == 0 {
                    "all as expected".to_string()
                } else {
                    format!("{failed} NOT as expected")
                }
            ));
            let w = pairs
                .iter()
                .map(|(f, t)| f.len() + t.len() + 4)
                .max()
                .unwrap_or(0)
                .max(9);
            out.push_str(&format!("{:w$}", "from -> to"));
            for p in &probes {
                out.push_str(&format!(" {p:>9}"));
            }
            out.push('\n');
            for (f, t) in &pairs {
                out.push_str(&format!("{:w$}", format!("{f} -> {t}")));
                for p in &probes {
                    let cell = rows
                        .iter()
                        .find(|r| r.from == *f && r.to == *t && r.probe == *p)
                        .map(|r| {
                            format!(
                                "{}{}",
                                if r.reached { "ok" } else { "--" },
                                if r.ok() { "" } else { "!" }
                            )
                        })
                        .unwrap_or_else(|| ".".into());
                    out.push_str(&format!(" {cell:>9}"));
                }
                out.push('\n');
            }
            for r in rows.iter().filter(|r| !r.ok()) {
                out.push_str(&format!(
                    "  FAIL {} -> {} {}: expected {} ({}), {}\n",
                    r.from,
                    r.to,
                    r.probe,
                    if r.expect_reach { "reach" } else { "no reach" },
                    r.why,
                    r.detail
                ));
            }
            out.push('\n');
        }
        if !self.captures.is_empty() {
            out.push_str("== 4 underlay captures (marker ");
            out.push_str(&self.marker);
            out.push_str(")\n");
            for c in &self.captures {
                match (&c.verdict, &c.error) {
                    (_, Some(e)) => out.push_str(&format!("  FAIL {}: {e}\n", c.link)),
                    (Some(v), None) => {
                        out.push_str(&format!(
                            "  {} {}: {} frames, {} WireGuard, {} ARP, {} IPv6 link-local, UDP ports {:?}, marker found {} times, {} other\n",
                            if v.ok() { "ok  " } else { "FAIL" },
                            c.link,
                            v.frames,
                            v.wireguard,
                            v.arp,
                            v.ipv6_link_local,
                            v.udp_ports,
                            v.marker_hits,
                            v.violation_count
                        ));
                        for x in &v.violations {
                            out.push_str(&format!("       {x}\n"));
                        }
                    }
                    (None, None) => out.push_str(&format!("  FAIL {}: not judged\n", c.link)),
                }
            }
            out.push('\n');
        }
        if !self.figures.is_empty() {
            out.push_str("== figures\n");
            for f in &self.figures {
                let v = f
                    .value
                    .map(|v| format!("{v:.3} {}", f.unit))
                    .unwrap_or_else(|| "-".into());
                out.push_str(&format!(
                    "  {} {}: {v}  ({})\n",
                    if f.ok { "ok  " } else { "FAIL" },
                    f.name,
                    f.detail
                ));
            }
            out.push('\n');
        }
        for n in &self.notes {
            out.push_str(&format!("note: {n}\n"));
        }
        for e in &self.errors {
            out.push_str(&format!("ERROR: {e}\n"));
        }
        out.push_str(&format!(
            "{}\n",
            match self.failures() {
                0 => "lab check: all green".to_string(),
                n => format!("lab check: {n} failure(s)"),
            }
        ));
        out
    }
}

/// Columns in a stable order: ICMP first, then TCP by port.
fn probe_order(p: &str) -> (u8, u32, String) {
    match p.strip_prefix("tcp/").and_then(|n| n.parse().ok()) {
        Some(port) => (1, port, String::new()),
        None if p == "icmp" => (0, 0, String::new()),
        None => (2, 0, p.to_string()),
    }
}

/// The median (upper middle for an even count) and maximum, or `None`.
pub fn p50_max(values: &[f64]) -> Option<(f64, f64)> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    Some((v[v.len() / 2], v[v.len() - 1]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(from: &str, to: &str, probe: &str, expect: bool, reached: bool) -> Row {
        Row {
            check: "1-3 tenant".into(),
            from: from.into(),
            to: to.into(),
            probe: probe.into(),
            expect_reach: expect,
            why: "rule 1 accept".into(),
            reached,
            detail: "timed out".into(),
        }
    }

    #[test]
    fn the_matrix_pivots_probes_into_columns_and_lists_failures() {
        let r = Report {
            marker: "M".into(),
            rows: vec![
                row("a", "b", "tcp/443", true, true),
                row("a", "b", "icmp", false, false),
                row("b", "a", "tcp/443", true, false),
            ],
            ..Default::default()
        };
        let t = r.to_text();
        assert!(
            t.contains("== 1-3 tenant: 3 probes, 1 NOT as expected"),
            "{t}"
        );
        assert!(t.contains("from -> to      icmp   tcp/443"), "{t}");
        assert!(t.contains("a -> b           --        ok\n"), "{t}");
        assert!(t.contains("b -> a            .       --!\n"), "{t}");
        assert!(t.contains("FAIL b -> a tcp/443: expected reach (rule 1 accept), timed out"));
        assert!(t.ends_with("lab check: 1 failure(s)\n"));
        let j: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(j["failures"], 1);
        assert_eq!(j["rows"][2]["reached"], false);
    }

    #[test]
    fn an_empty_report_is_green_and_errors_count() {
        let mut r = Report::default();
        assert!(r.to_text().ends_with("all green\n"));
        r.errors.push("x".into());
        r.figures.push(Figure {
            name: "f".into(),
            value: None,
            unit: "s".into(),
            detail: String::new(),
            ok: false,
        });
        assert_eq!(r.failures(), 2);
    }

    #[test]
    fn p50_is_the_middle_and_max_the_largest() {
        assert_eq!(p50_max(&[]), None);
        assert_eq!(p50_max(&[3.0, 1.0, 2.0]), Some((2.0, 3.0)));
        assert_eq!(p50_max(&[4.0, 1.0, 3.0, 2.0]), Some((3.0, 4.0)));
    }
}
