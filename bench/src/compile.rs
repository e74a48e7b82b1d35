//! `vxguard-bench compile` (was `vxguard bench`): a generated platform
//! ([`crate::platform::generate`]: by default 200 routers and 20
//! hypervisors in 10 sites, 5,000 tenants with 2 networks on 2 sites, 10
//! rules and 5 clients each),
//! timed for a full compile with validation and for one-tenant changes.
//! Figures are printed, never asserted: timings here are noisy.

use crate::platform::generate;
use anyhow::Result;
use std::time::Instant;
use vxguard::definitions;
use vxguard_compiler::alloc::Allocation;
use vxguard_compiler::intent::PortSpec;
use vxguard_compiler::{compile, recompile_tenant_or_keep, validate_tenant, PlatformTrees};

#[derive(clap::Args)]
pub struct CompileArgs {
    #[arg(long, default_value_t = 10)]
    sites: usize,
    #[arg(long, default_value_t = 200)]
    routers: usize,
    /// Hypervisors, spread evenly over the sites (at least one a site).
    #[arg(long, default_value_t = 20)]
    hypervisors: usize,
    #[arg(long, default_value_t = 5000)]
    tenants: usize,
    /// One-tenant changes to time.
    #[arg(long, default_value_t = 50)]
    changes: usize,
    /// A vyos-1x tree to judge one VyOS release with instead of its
    /// built-in definitions (`VERSION=DIR`, repeatable).
    #[arg(long = "vyos-defs", value_name = "VERSION=DIR")]
    vyos_defs: Vec<String>,
}

/// This process's CPU time so far, user and system (from /proc, in clock
/// ticks of 10 ms): CPU per operation holds better than wall time on a
/// machine shared with other work.
fn cpu_secs() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // The fields after the command name (which may hold spaces).
            let rest = s.rsplit_once(')')?.1.split_whitespace().collect::<Vec<_>>();
            let ticks = rest.get(11)?.parse::<f64>().ok()? + rest.get(12)?.parse::<f64>().ok()?;
            Some(ticks / 100.0)
        })
        .unwrap_or(f64::NAN)
}

fn peak_rss_mib() -> f64 {
    rss_mib("VmHWM:")
}

/// A memory figure of this process from /proc (`VmRSS:` now, `VmHWM:` peak).
fn rss_mib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .map(|l| l.to_string())
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

pub fn run(a: CompileArgs) -> Result<bool> {
    let loaded = definitions::load(&a.vyos_defs)?;
    let defs = definitions::set(&loaded);
    println!("definitions loaded: RSS {:.0} MiB", rss_mib("VmRSS:"));
    let t0 = Instant::now();
    let (mut intent, secrets) = generate(a.sites, a.routers, a.hypervisors, a.tenants);
    let gen = t0.elapsed();
    let t1 = Instant::now();
    let out = compile(&intent, &Allocation::default(), &secrets, &defs).map_err(|e| {
        anyhow::anyhow!(
            "generated platform does not compile: {}",
            e.iter()
                .take(5)
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        )
    })?;
    let full = t1.elapsed();
    println!("after the full compile: RSS {:.0} MiB", rss_mib("VmRSS:"));
    let commands: usize = out.routers.values().map(|r| r.set.lines().count()).sum();
    let mib = |n: usize| n as f64 / (1024.0 * 1024.0);
    println!(
        "output text: set {:.0} MiB, flows {:.0} MiB",
        mib(out.routers.values().map(|r| r.set.len()).sum()),
        mib(out.hypervisors.values().map(|h| h.flows.len()).sum()),
    );
    let parts: usize = out
        .routers
        .values()
        .flat_map(|r| r.parts.values())
        .map(|p| p.paths.heap_bytes())
        .sum();
    let segments: usize = out.routers.values().map(|r| r.segments.len()).sum();
    println!(
        "kept for one-tenant changes: commands by owner {:.0} MiB, {segments} owner subtrees",
        mib(parts)
    );
    let flows: usize = out
        .hypervisors
        .values()
        .map(|h| h.flows.lines().count())
        .sum();
    println!("platform: {} routers, {} hypervisors, {} tenants; {commands} VyOS commands, {flows} flow lines", out.routers.len(), out.hypervisors.len(), intent.tenants.len());
    println!("generate: {:.1} ms", gen.as_secs_f64() * 1e3);
    println!(
        "full compile + validation: {:.1} ms",
        full.as_secs_f64() * 1e3
    );
    let mut times = Vec::new();
    let mut prev = out;
    let cpu = cpu_secs();
    // One set of platform trees, as serve's engine and write checks share.
    let trees = PlatformTrees::default();
    let mut touched_max = 0;
    let (mut in_place, mut devices) = (0, 0);
    for i in 0..a.changes {
        let ti = (i * 97) % intent.tenants.len();
        let t = &mut intent.tenants[ti];
        let slug = t.slug.to_string();
        t.policy.rules[0].destination_port = Some(PortSpec::Single(2000 + i as u16));
        let s = Instant::now();
        let (o, touched) = recompile_tenant_or_keep(&intent, &slug, prev, &secrets, &defs, &trees)
            .map_err(|e| anyhow::anyhow!("change {i}: {}", e.0[0]))?;
        times.push(s.elapsed().as_secs_f64() * 1e3);
        touched_max = touched_max.max(touched.routers.len() + touched.hypervisors.len());
        in_place += touched.in_place;
        devices += touched.routers.len() + touched.hypervisors.len();
        prev = o;
    }
    let cpu = (cpu_secs() - cpu) * 1e3 / a.changes.max(1) as f64;
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    if !times.is_empty() {
        let p = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
        println!("one-tenant change ({} runs, at most {touched_max} devices touched, {in_place} of {devices} updated in place): p50 {:.2} ms, p90 {:.2} ms, max {:.2} ms; CPU {cpu:.2} ms each", times.len(), p(0.5), p(0.9), p(1.0));
    }
    // A tenant's write is judged before its 201 as the devices would
    // judge it (`validate_tenant`): its cost is part of every write. First
    // with no platform sketch kept (each check renders and sketches its
    // routers' platform commands), then with the sketches kept (as a
    // server's writes find them, once each router has been checked).
    for pass in ["no platform sketch kept", "platform sketches kept"] {
        let fresh = pass.starts_with("no");
        let mut times = Vec::new();
        let cpu = cpu_secs();
        for i in 0..a.changes {
            let ti = (i * 97) % intent.tenants.len();
            let s = Instant::now();
            let none = PlatformTrees::default();
            let trees = if fresh { &none } else { &trees };
            let found = validate_tenant(&intent, ti, &prev.allocation, &secrets, &defs, trees);
            times.push(s.elapsed().as_secs_f64() * 1e3);
            if let Some(e) = found.iter().find(|d| d.is_error()) {
                anyhow::bail!("write check {i}: {e}");
            }
        }
        let cpu = (cpu_secs() - cpu) * 1e3 / a.changes.max(1) as f64;
        times.sort_by(|a, b| a.partial_cmp(b).unwrap());
        if let (Some(first), Some(last)) = (times.first(), times.last()) {
            let p50 = times[(times.len() - 1) / 2];
            println!(
                "a write's device check, {pass} ({} runs): min {first:.2} ms, p50 {p50:.2} ms, max {last:.2} ms; CPU {cpu:.2} ms each",
                times.len(),
            );
        }
    }
    println!(
        "RSS {:.0} MiB (with the routers' platform sketches kept)",
        rss_mib("VmRSS:")
    );
    println!("peak RSS: {:.0} MiB", peak_rss_mib());
    Ok(true)
}
