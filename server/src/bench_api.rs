//! `vxguard bench-api`: a load generator, run as its own process against a
//! running server (see `scripts/bench-api`). Two figures:
//! - reads: `GET` of a tenant's networks at a fixed rate, open loop (each
//!   latency counts from the request's scheduled time, so a stalled server
//!   cannot hide its queue), p50 and p99;
//! - changes: `POST` of a policy rule, then the time until its job is done
//!   (its revisions stored), p50 and p99 over sequential changes.
//!
//! A tiny HTTP/1.1 client over keep-alive connections keeps the generator
//! cheap and free of extra dependencies; figures are printed, never asserted.

use anyhow::{bail, Context, Result};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

#[derive(clap::Args)]
pub struct BenchApiArgs {
    /// Server address (host:port).
    #[arg(long, default_value = "127.0.0.1:3000")]
    addr: String,
    #[arg(long, default_value = "acme-admin@example.com")]
    email: String,
    #[arg(
        long,
        env = "VXGUARD_DEMO_PASSWORD",
        default_value = "vxguard-demo-password"
    )]
    password: String,
    #[arg(long, default_value = "acme")]
    tenant: String,
    /// Read requests per second.
    #[arg(long, default_value_t = 1000)]
    rate: u32,
    #[arg(long, default_value_t = 10)]
    seconds: u32,
    /// Connections the reads are spread over.
    #[arg(long, default_value_t = 16)]
    connections: u32,
    /// Sequential rule changes to time.
    #[arg(long, default_value_t = 200)]
    changes: u32,
    /// A second tenant's admin (e.g. `finance-admin@example.com`) that
    /// floods the API with previews and rule writes from `--noisy-tasks`
    /// connections: the figures are then taken twice in one run, idle and
    /// under that load, so that the two can be compared (issue 14).
    #[arg(long)]
    noisy_email: Option<String>,
    #[arg(long, default_value = "finance")]
    noisy_tenant: String,
    #[arg(long, default_value_t = 16)]
    noisy_tasks: u32,
    /// With `--noisy-email`: the platform admin that lifts the measured
    /// tenant's request budget, so that only the noisy tenant is held to
    /// its quota (the measured one would otherwise spend its own).
    #[arg(long, default_value = "admin@example.com")]
    admin_email: String,
}

struct Conn {
    r: BufReader<TcpStream>,
}

impl Conn {
    async fn open(addr: &str) -> Result<Conn> {
        let s = TcpStream::connect(addr)
            .await
            .with_context(|| format!("connecting to {addr}"))?;
        s.set_nodelay(true)?;
        Ok(Conn {
            r: BufReader::new(s),
        })
    }

    async fn send(
        &mut self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> Result<(u16, String, Option<i64>)> {
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: bench\r\n");
        if let Some(t) = token {
            req.push_str(&format!("Authorization: Bearer {t}\r\n"));
        }
        let body = body.unwrap_or("");
        if !body.is_empty() {
            req.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        req.push_str("\r\n");
        req.push_str(body);
        self.r.get_mut().write_all(req.as_bytes()).await?;
        let mut line = String::new();
        self.r.read_line(&mut line).await?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .context("bad status line")?;
        let mut len = 0usize;
        let mut job = None;
        loop {
            line.clear();
            self.r.read_line(&mut line).await?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse()?;
                } else if k.eq_ignore_ascii_case("x-job") {
                    job = v.trim().parse().ok();
                }
            }
        }
        let mut buf = vec![0u8; len];
        self.r.read_exact(&mut buf).await?;
        Ok((status, String::from_utf8_lossy(&buf).into_owned(), job))
    }
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

async fn login(c: &mut Conn, email: &str, password: &str) -> Result<String> {
    let login = serde_json::json!({"email": email, "password": password}).to_string();
    let (s, b, _) = c
        .send("POST", "/api/v1/auth/login", None, Some(&login))
        .await?;
    if s != 200 {
        bail!("login {email} failed: {s} {b}");
    }
    let v: serde_json::Value = serde_json::from_str(&b)?;
    Ok(v["access_token"].as_str().context("no token")?.to_string())
}

pub async fn run(a: BenchApiArgs) -> Result<bool> {
    let Some(noisy) = a.noisy_email.clone() else {
        return measure(&a, "").await;
    };
    let mut c = Conn::open(&a.addr).await?;
    let admin = login(&mut c, &a.admin_email, &a.password).await?;
    let lift = serde_json::json!({"requests_per_minute": 1_000_000}).to_string();
    let (s, b, _) = c
        .send(
            "PUT",
            &format!("/api/v1/tenants/{}/quotas", a.tenant),
            Some(&admin),
            Some(&lift),
        )
        .await?;
    if s != 200 {
        bail!("lifting {}'s request budget: {s} {b}", a.tenant);
    }
    measure(&a, "idle: ").await?;
    let token = login(&mut c, &noisy, &a.password).await?;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = Vec::new();
    for k in 0..a.noisy_tasks {
        let (addr, token, tenant, stop) = (
            a.addr.clone(),
            token.clone(),
            a.noisy_tenant.clone(),
            stop.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(&addr).await?;
            let mut seen: std::collections::BTreeMap<u16, usize> = Default::default();
            let mut i = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                i += 1;
                let id = 900_000 + k * 10_000 + i % 10_000;
                let rule = serde_json::json!({"id": id, "action": "accept", "protocol": "tcp", "destination_port": 1 + i % 60_000});
                let (path, body) = if i % 2 == 0 {
                    (format!("/api/v1/tenants/{tenant}/rules/preview"), serde_json::json!({"create": rule}))
                } else {
                    (format!("/api/v1/tenants/{tenant}/rules"), rule)
                };
                let (s, _, _) = conn.send("POST", &path, Some(&token), Some(&body.to_string())).await?;
                *seen.entry(s).or_default() += 1;
            }
            Ok::<_, anyhow::Error>(seen)
        }));
    }
    let r = measure(&a, "under load: ").await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut seen: std::collections::BTreeMap<u16, usize> = Default::default();
    for t in tasks {
        for (k, v) in t.await?? {
            *seen.entry(k).or_default() += v;
        }
    }
    println!(
        "load: {noisy} on {} connections, answers by status: {seen:?}",
        a.noisy_tasks
    );
    r
}

async fn measure(a: &BenchApiArgs, label: &str) -> Result<bool> {
    let mut c = Conn::open(&a.addr).await?;
    let token = login(&mut c, &a.email, &a.password).await?;
    let path = format!("/api/v1/tenants/{}/networks", a.tenant);

    // Reads at a fixed rate, spread over connections.
    let total = (a.rate * a.seconds) as usize;
    let interval = Duration::from_secs_f64(1.0 / a.rate as f64);
    let start = Instant::now() + Duration::from_millis(100);
    let mut tasks = Vec::new();
    for k in 0..a.connections as usize {
        let addr = a.addr.clone();
        let token = token.clone();
        let path = path.clone();
        let n = a.connections as usize;
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(&addr).await?;
            let mut lat = Vec::new();
            let mut errors = 0usize;
            for i in (k..total).step_by(n) {
                let due = start + interval * i as u32;
                tokio::time::sleep_until(due.into()).await;
                let (s, _, _) = conn.send("GET", &path, Some(&token), None).await?;
                if s != 200 {
                    errors += 1;
                }
                lat.push(due.elapsed());
            }
            Ok::<_, anyhow::Error>((lat, errors))
        }));
    }
    let mut lat = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await??;
        lat.extend(l);
        errors += e;
    }
    let wall = start.elapsed();
    lat.sort();
    println!(
        "{label}reads: GET {path} at {} req/s for {} s: {} requests in {:.2} s ({:.0} req/s achieved), {errors} errors; p50 {}, p90 {}, p99 {}, max {}",
        a.rate,
        a.seconds,
        lat.len(),
        wall.as_secs_f64(),
        lat.len() as f64 / wall.as_secs_f64(),
        ms(pct(&lat, 0.50)),
        ms(pct(&lat, 0.90)),
        ms(pct(&lat, 0.99)),
        ms(*lat.last().unwrap_or(&Duration::ZERO)),
    );

    // Changes: POST a rule, then wait for its job to be done.
    let mut ch = Vec::new();
    let base = 50_000
        + (std::process::id() % 1000) * 1000
        + if label.is_empty() || label.starts_with("idle") {
            0
        } else {
            500
        };
    for i in 0..a.changes {
        let rule = serde_json::json!({"id": base + i, "action": "accept", "protocol": "tcp", "destination_port": 10_000 + i % 50_000}).to_string();
        let t0 = Instant::now();
        let (s, b, job) = c
            .send(
                "POST",
                &format!("/api/v1/tenants/{}/rules", a.tenant),
                Some(&token),
                Some(&rule),
            )
            .await?;
        if s != 201 {
            bail!("POST rule: {s} {b}");
        }
        let job = job.context("no X-Job header")?;
        loop {
            let (_, jb, _) = c
                .send("GET", &format!("/api/v1/jobs/{job}"), Some(&token), None)
                .await?;
            let v: serde_json::Value = serde_json::from_str(&jb)?;
            match v["status"].as_str() {
                Some("done") => break,
                Some("failed") => bail!("job {job} failed: {}", v["errors"]),
                _ => tokio::time::sleep(Duration::from_millis(1)).await,
            }
        }
        ch.push(t0.elapsed());
    }
    ch.sort();
    println!(
        "{label}changes: POST rule → revision stored, {} sequential changes: p50 {}, p90 {}, p99 {}, max {}",
        ch.len(),
        ms(pct(&ch, 0.50)),
        ms(pct(&ch, 0.90)),
        ms(pct(&ch, 0.99)),
        ms(*ch.last().unwrap_or(&Duration::ZERO)),
    );
    Ok(true)
}
