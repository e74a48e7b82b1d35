//! Time and memory to load both VyOS releases' definitions, built in or
//! from vyos-1x's XML (one process per measurement: RSS only grows):
//! `cargo run --release -p vyos-defs --example load_cost -- builtin`
//! `cargo run --release -p vyos-defs --example load_cost -- xml ../shared/vyos-1x`
use std::time::Instant;
use vyos_defs::builtin::BUILTIN;
use vyos_defs::Definitions;

fn rss_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let before = rss_kib();
    let t = Instant::now();
    let loaded: Vec<Definitions> = match args.first().map(String::as_str) {
        Some("builtin") => BUILTIN
            .iter()
            .map(|b| vyos_defs::builtin::parse(b).expect("built-in schema"))
            .collect(),
        Some("xml") => {
            let dir = std::path::PathBuf::from(args.get(1).expect("xml DIR (a vyos-1x folder)"));
            BUILTIN
                .iter()
                .map(|b| Definitions::load(&dir.join(b.branch)).expect("vyos-1x XML"))
                .collect()
        }
        _ => panic!("usage: load_cost builtin | load_cost xml VYOS_1X_DIR"),
    };
    let ms = t.elapsed().as_secs_f64() * 1e3;
    let grown = rss_kib().saturating_sub(before);
    // First checks compile the regexes they use: what one value costs then.
    let t = Instant::now();
    let ok = loaded[1]
        .validate_words(&["interfaces", "wireguard", "wg0", "address", "10.0.0.1/31"])
        .is_ok();
    let first = t.elapsed().as_secs_f64() * 1e3;
    println!(
        "{}: both releases in {ms:.1} ms, RSS +{:.1} MiB; first check {first:.2} ms ({ok})",
        args[0],
        grown as f64 / 1024.0
    );
}
