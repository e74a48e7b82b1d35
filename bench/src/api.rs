//! `vxguard-bench api` (was `vxguard bench-api`): a load generator, run
//! as its own process against a running server (see `scripts/bench-api`).
//! Figures, printed and never asserted (timings here are noisy):
//! - reads: `GET` of a tenant's networks at a fixed rate, open loop (each
//!   latency counts from the request's scheduled time, so a stalled server
//!   cannot hide its queue), p50 and p99;
//! - changes: `POST` of a policy rule, then the time until its job is done
//!   (its revisions stored), p50 and p99 over sequential changes; with
//!   `DATABASE_URL`, the database's growth per change around them;
//! - writers: `--writers` tenants' admins posting rule changes at once for
//!   `--write-seconds`, with the reads running meanwhile: changes accepted
//!   and compiled per second, and how every accepted change's job ended.
//!
//! `vxguard-bench api load` writes a generated platform
//! ([`crate::platform::generate`], the compile benchmark's) into the
//! database, so that all of this can be measured at the platform's real
//! size and not only on the demo.
//!
//! A tiny HTTP/1.1 client over keep-alive connections keeps the generator
//! cheap and free of extra dependencies.

use anyhow::{bail, Context, Result};
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ApiArgs {
    #[command(subcommand)]
    cmd: Option<ApiCmd>,
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
    /// Tenants writing at once after the sequential changes: the first
    /// ones the platform admin lists, each as `<slug>-admin@example.com`
    /// (0: skip). The reads run again meanwhile.
    #[arg(long, default_value_t = 10)]
    writers: u32,
    /// Seconds the writers post changes for.
    #[arg(long, default_value_t = 10)]
    write_seconds: u32,
    /// Changes a writer may have waiting for their job before it posts
    /// another. 1 (a closed loop, as a person works) keeps the queue at
    /// most `--writers` deep: a job compiles the whole platform today, so
    /// an open loop would mostly measure how long the backlog takes.
    #[arg(long, default_value_t = 1)]
    writer_inflight: u32,
    /// Seconds to wait for the writers' jobs once they stop posting.
    #[arg(long, default_value_t = 900)]
    drain_seconds: u32,
    /// The database the server uses: with it, its growth per change is
    /// measured around the sequential changes.
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
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
    /// The platform admin that lifts the measured tenants' request
    /// budgets, so that the load generator measures the server and not
    /// the quota (with `--noisy-email`, the noisy tenant keeps its own).
    #[arg(long, default_value = "admin@example.com")]
    admin_email: String,
}

#[derive(clap::Subcommand)]
enum ApiCmd {
    /// Load a generated platform into an empty database (as `vxguard
    /// demo` loads the demo): tenant admins `<slug>-admin@example.com`
    /// for the first `--users` tenants by slug, and one job compiling it.
    Load(LoadArgs),
}

#[derive(clap::Args)]
pub struct LoadArgs {
    #[arg(long, env = "DATABASE_URL", default_value = vxguard::db::DEFAULT_URL)]
    database_url: String,
    #[arg(long, default_value_t = 10)]
    sites: usize,
    #[arg(long, default_value_t = 200)]
    routers: usize,
    #[arg(long, default_value_t = 20)]
    hypervisors: usize,
    #[arg(long, default_value_t = 5000)]
    tenants: usize,
    /// Tenants given an admin account (the first ones by slug, which the
    /// API lists first: the bench's writers take them).
    #[arg(long, default_value_t = 20)]
    users: usize,
    /// Password of admin@example.com and the tenant admins.
    #[arg(
        long,
        env = "VXGUARD_DEMO_PASSWORD",
        default_value = "vxguard-demo-password"
    )]
    password: String,
    #[command(flatten)]
    master_key: vxguard::master_key::MasterKeyArgs,
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

/// Writes a generated platform through the demo's loader, in one
/// transaction.
async fn load(a: LoadArgs) -> Result<bool> {
    let t0 = Instant::now();
    let (intent, _) = crate::platform::generate(a.sites, a.routers, a.hypervisors, a.tenants);
    let gen = t0.elapsed();
    let t1 = Instant::now();
    let alloc = match vxguard::demo::check_and_allocate(
        &intent,
        &vxguard_compiler::alloc::Allocation::default(),
    ) {
        Ok(x) => x,
        Err(errors) => {
            for e in errors.iter().take(20) {
                eprintln!("generated platform: {e}");
            }
            return Ok(false);
        }
    };
    let checked = t1.elapsed();
    let hash = vxguard::auth::password::hash(&a.password)?;
    let mut by_slug: Vec<(String, usize)> = intent
        .tenants
        .iter()
        .enumerate()
        .map(|(i, t)| (t.slug.to_string(), i))
        .collect();
    by_slug.sort();
    let mut with_users = vec![false; intent.tenants.len()];
    for (_, i) in by_slug.iter().take(a.users) {
        with_users[*i] = true;
    }
    let t2 = Instant::now();
    let pool = vxguard::db::connect(&a.database_url, 2).await?;
    vxguard::master_key::open(&pool, &a.master_key, vxguard::master_key::Start::Command).await?;
    let mut tx = pool.begin().await?;
    let existing = vxguard_store::objects::total(&mut tx).await?;
    if existing > 0 {
        bail!("the database already holds a platform ({existing} objects); load into an empty one");
    }
    let object = format!(
        "generated: {} sites, {} routers, {} hypervisors, {} tenants",
        a.sites, a.routers, a.hypervisors, a.tenants
    );
    let loaded = vxguard_store::demo::load_intent(
        &mut tx,
        &vxguard_store::demo::Load {
            intent: &intent,
            alloc: &alloc,
            password_hash: &hash,
            users: &|i| with_users[i],
            members: false,
            actor: "system:bench",
            reason: "bench load",
            action: "bench.load",
            object: &object,
        },
    )
    .await?;
    tx.commit().await?;
    let written = t2.elapsed();
    let objects: usize = intent
        .tenants
        .iter()
        .map(|t| t.networks.len() + t.services.len() + t.policy.rules.len() + t.clients.len())
        .sum();
    let p = &intent.platform;
    println!(
        "bench-api load: {} sites, {} routers, {} hypervisors, {} tenants with {objects} objects; job {} compiles them",
        p.sites.len(),
        p.routers.len(),
        p.hypervisors.len(),
        intent.tenants.len(),
        loaded.job
    );
    println!(
        "bench-api load: generate {:.2} s, check and allocate {:.2} s, write (one transaction) {:.2} s",
        gen.as_secs_f64(),
        checked.as_secs_f64(),
        written.as_secs_f64()
    );
    let shown: Vec<&String> = loaded.emails.iter().take(4).collect();
    println!(
        "bench-api load: {} accounts ({:?}, ...), password from --password / VXGUARD_DEMO_PASSWORD",
        loaded.emails.len(),
        shown
    );
    Ok(true)
}

/// Figures for the summary block printed at the end.
#[derive(Default)]
struct Summary(Vec<String>);

impl Summary {
    fn add(&mut self, line: String) {
        println!("{line}");
        self.0.push(line);
    }
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

pub async fn run(a: ApiArgs) -> Result<bool> {
    if let Some(ApiCmd::Load(l)) = a.cmd {
        return load(l).await;
    }
    let mut sum = Summary::default();
    sum.add(format!(
        "load average (1, 5, 15 min) at start: {}",
        loadavg()
    ));
    let mut c = Conn::open(&a.addr).await?;
    let admin = login(&mut c, &a.admin_email, &a.password).await?;
    lift_budget(&mut c, &admin, &a.tenant).await?;
    let db = match &a.database_url {
        Some(u) => Some(
            sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .connect(u)
                .await
                .context("connecting to DATABASE_URL")?,
        ),
        None => None,
    };
    let Some(noisy) = a.noisy_email.clone() else {
        measure(&a, "", db.as_ref(), &mut sum).await?;
        writers(&a, &mut c, &mut sum).await?;
        sum.add(format!("load average (1, 5, 15 min) at end: {}", loadavg()));
        print_summary(&sum);
        return Ok(true);
    };
    measure(&a, "idle: ", db.as_ref(), &mut sum).await?;
    let token = login(&mut c, &noisy, &a.password).await?;
    let stop = Arc::new(AtomicBool::new(false));
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
            let mut seen: BTreeMap<u16, usize> = Default::default();
            let mut i = 0u32;
            while !stop.load(Ordering::Relaxed) {
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
    let r = measure(&a, "under load: ", None, &mut sum).await;
    stop.store(true, Ordering::Relaxed);
    let mut seen: BTreeMap<u16, usize> = Default::default();
    for t in tasks {
        for (k, v) in t.await?? {
            *seen.entry(k).or_default() += v;
        }
    }
    sum.add(format!(
        "load: {noisy} on {} connections, answers by status: {seen:?}",
        a.noisy_tasks
    ));
    r?;
    writers(&a, &mut c, &mut sum).await?;
    sum.add(format!("load average (1, 5, 15 min) at end: {}", loadavg()));
    print_summary(&sum);
    Ok(true)
}

fn print_summary(sum: &Summary) {
    println!("--- bench-api summary ---");
    for l in &sum.0 {
        println!("{l}");
    }
}

/// Lifts a tenant's request budget (its quota would otherwise refuse
/// most of a 1,000 req/s read load).
async fn lift_budget(c: &mut Conn, admin: &str, tenant: &str) -> Result<()> {
    let lift = serde_json::json!({"requests_per_minute": 1_000_000}).to_string();
    let (s, b, _) = c
        .send(
            "PUT",
            &format!("/api/v1/tenants/{tenant}/quotas"),
            Some(admin),
            Some(&lift),
        )
        .await?;
    if s != 200 {
        bail!("lifting {tenant}'s request budget: {s} {b}");
    }
    Ok(())
}

/// The open-loop reads: `a.rate` per second for `seconds`, spread over
/// `a.connections` connections.
async fn reads(a: &ApiArgs, token: &str, seconds: u32, label: &str) -> Result<String> {
    let path = format!("/api/v1/tenants/{}/networks", a.tenant);
    let total = (a.rate * seconds) as usize;
    let interval = Duration::from_secs_f64(1.0 / a.rate as f64);
    let start = Instant::now() + Duration::from_millis(100);
    let mut tasks = Vec::new();
    for k in 0..a.connections as usize {
        let addr = a.addr.clone();
        let token = token.to_string();
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
    Ok(format!(
        "{label}reads: GET {path} at {} req/s for {} s: {} requests in {:.2} s ({:.0} req/s achieved), {errors} errors; p50 {}, p90 {}, p99 {}, max {}",
        a.rate,
        seconds,
        lat.len(),
        wall.as_secs_f64(),
        lat.len() as f64 / wall.as_secs_f64(),
        ms(pct(&lat, 0.50)),
        ms(pct(&lat, 0.90)),
        ms(pct(&lat, 0.99)),
        ms(*lat.last().unwrap_or(&Duration::ZERO)),
    ))
}

/// The database's size now: the whole database, each table (with its
/// indexes and TOAST), and the revisions' rows and text. A plain
/// `VACUUM` first, so that space freed by updated rows is reused rather
/// than counted as growth.
async fn db_sizes(db: &sqlx::PgPool) -> Result<(i64, BTreeMap<String, i64>, i64, i64)> {
    let s = vxguard_store::db::sizes(db)
        .await
        .context("database sizes")?;
    Ok((s.total, s.tables, s.revisions, s.revision_bytes))
}

fn kib(b: i64) -> String {
    format!("{:.1} KiB", b as f64 / 1024.0)
}

async fn measure(
    a: &ApiArgs,
    label: &str,
    db: Option<&sqlx::PgPool>,
    sum: &mut Summary,
) -> Result<bool> {
    let mut c = Conn::open(&a.addr).await?;
    let token = login(&mut c, &a.email, &a.password).await?;
    sum.add(reads(a, &token, a.seconds, label).await?);

    // Changes: POST a rule, then wait for its job to be done.
    let before = match db {
        Some(db) => Some(db_sizes(db).await?),
        None => None,
    };
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
                _ => tokio::time::sleep(poll_gap(t0.elapsed())).await,
            }
        }
        ch.push(t0.elapsed());
    }
    ch.sort();
    sum.add(format!(
        "{label}changes: POST rule → revision stored, {} sequential changes: p50 {}, p90 {}, p99 {}, max {}",
        ch.len(),
        ms(pct(&ch, 0.50)),
        ms(pct(&ch, 0.90)),
        ms(pct(&ch, 0.99)),
        ms(*ch.last().unwrap_or(&Duration::ZERO)),
    ));
    if let (Some(db), Some((t0, tables0, r0, x0))) = (db, before) {
        let (t1, tables1, r1, x1) = db_sizes(db).await?;
        let k = a.changes.max(1) as i64;
        let mut grown: Vec<(i64, &String)> = tables1
            .iter()
            .map(|(n, s)| (s - tables0.get(n).copied().unwrap_or(0), n))
            .filter(|(d, _)| *d != 0)
            .collect();
        grown.sort_by(|x, y| y.cmp(x));
        let by_table: Vec<String> = grown
            .iter()
            .take(6)
            .map(|(d, n)| format!("{n} {}", kib(d / k)))
            .collect();
        sum.add(format!(
            "{label}database growth per one-rule change (after VACUUM, over {k} changes): {} (database {} → {}); {:.1} revisions per change carrying {} of text; by table: {}",
            kib((t1 - t0) / k),
            mib(t0),
            mib(t1),
            (r1 - r0) as f64 / k as f64,
            kib((x1 - x0) / k),
            by_table.join(", "),
        ));
    }
    Ok(true)
}

/// How long to wait before asking about a job again, `waited` after its
/// change was posted: 1 ms at first, then a 50th of the wait (at most
/// 20 ms), so that a job of seconds is not timed by hundreds of polls a
/// second competing with the worker for the machine, and the figure is
/// off by at most 2%.
fn poll_gap(waited: Duration) -> Duration {
    (waited / 50).clamp(Duration::from_millis(1), Duration::from_millis(20))
}

fn mib(b: i64) -> String {
    format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0))
}

/// How one writer's change ended.
#[derive(Default)]
struct Tally {
    accepted: usize,
    refused: BTreeMap<u16, usize>,
    /// Done, with revisions stored by the job itself.
    done: usize,
    /// Done, with no revision of its own: an earlier job (claimed after
    /// this change was written) compiled it already.
    done_carried: usize,
    failed: usize,
    /// Not finished within `--drain-seconds`.
    unfinished: usize,
    post: Vec<Duration>,
    job: Vec<Duration>,
    last_done: Option<Instant>,
}

/// `--writers` tenants posting rule changes at once for
/// `--write-seconds`, with the reads at `--rate` meanwhile.
async fn writers(a: &ApiArgs, c: &mut Conn, sum: &mut Summary) -> Result<()> {
    if a.writers == 0 {
        return Ok(());
    }
    // A fresh token: on a large platform the run so far may have outlived
    // the first one (15 minutes).
    let admin = &login(c, &a.admin_email, &a.password).await?;
    let (s, b, _) = c
        .send(
            "GET",
            &format!("/api/v1/tenants?limit={}", a.writers.min(500)),
            Some(admin),
            None,
        )
        .await?;
    if s != 200 {
        bail!("listing tenants: {s} {b}");
    }
    let v: serde_json::Value = serde_json::from_str(&b)?;
    let slugs: Vec<String> = v["items"]
        .as_array()
        .context("no items")?
        .iter()
        .filter_map(|t| t["slug"].as_str().map(String::from))
        .collect();
    let mut tokens = Vec::new();
    for slug in &slugs {
        lift_budget(c, admin, slug).await?;
        let t = login(c, &format!("{slug}-admin@example.com"), &a.password).await?;
        tokens.push((slug.clone(), t));
    }
    let reader = login(c, &a.email, &a.password).await?;
    let window = Duration::from_secs(a.write_seconds as u64);
    let drain = Duration::from_secs(a.drain_seconds as u64);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (k, (slug, token)) in tokens.into_iter().enumerate() {
        let addr = a.addr.clone();
        let inflight = a.writer_inflight.max(1) as usize;
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(&addr).await?;
            let mut t = Tally::default();
            let mut waiting: VecDeque<(i64, Instant)> = VecDeque::new();
            let base = 200_000 + (std::process::id() % 1000) * 1000 + k as u32 * 100_000;
            let mut i = 0u32;
            loop {
                let posting = start.elapsed() < window;
                if posting && waiting.len() < inflight {
                    let rule = serde_json::json!({"id": base + i % 1000, "action": "accept", "protocol": "tcp", "destination_port": 20_000 + i % 40_000}).to_string();
                    i += 1;
                    let t0 = Instant::now();
                    let (s, _, job) = conn
                        .send("POST", &format!("/api/v1/tenants/{slug}/rules"), Some(&token), Some(&rule))
                        .await?;
                    t.post.push(t0.elapsed());
                    match (s, job) {
                        (201, Some(job)) => {
                            t.accepted += 1;
                            waiting.push_back((job, t0));
                        }
                        _ => *t.refused.entry(s).or_default() += 1,
                    }
                    continue;
                }
                let Some(&(job, t0)) = waiting.front() else {
                    if posting {
                        continue;
                    }
                    break;
                };
                if start.elapsed() > window + drain {
                    t.unfinished += waiting.len();
                    break;
                }
                let (_, jb, _) = conn
                    .send("GET", &format!("/api/v1/jobs/{job}"), Some(&token), None)
                    .await?;
                let v: serde_json::Value = serde_json::from_str(&jb)?;
                let own = |k: &str| v["result"][k].as_array().is_some_and(|x| !x.is_empty());
                match v["status"].as_str() {
                    Some("done") => {
                        if own("routers") || own("hypervisors") {
                            t.done += 1;
                        } else {
                            t.done_carried += 1;
                        }
                    }
                    Some("failed") => t.failed += 1,
                    _ => {
                        tokio::time::sleep(poll_gap(t0.elapsed())).await;
                        continue;
                    }
                }
                t.job.push(t0.elapsed());
                t.last_done = Some(Instant::now());
                waiting.pop_front();
            }
            Ok::<_, anyhow::Error>(t)
        }));
    }
    let read_line = reads(a, &reader, a.write_seconds, "during writes: ").await?;
    let mut all = Tally::default();
    for task in tasks {
        let t = task.await??;
        all.accepted += t.accepted;
        for (k, v) in t.refused {
            *all.refused.entry(k).or_default() += v;
        }
        all.done += t.done;
        all.done_carried += t.done_carried;
        all.failed += t.failed;
        all.unfinished += t.unfinished;
        all.post.extend(t.post);
        all.job.extend(t.job);
        all.last_done = all.last_done.max(t.last_done);
    }
    all.post.sort();
    all.job.sort();
    let compiled_in = all
        .last_done
        .map(|l| l.duration_since(start))
        .unwrap_or(window)
        .as_secs_f64();
    let n = slugs.len();
    sum.add(format!(
        "writers: {n} tenants ({}) posting rule changes for {} s, at most {} waiting each: {} accepted ({:.2}/s), refused by status {:?}; POST p50 {}, p99 {}",
        slugs.join(", "),
        a.write_seconds,
        a.writer_inflight.max(1),
        all.accepted,
        all.accepted as f64 / a.write_seconds as f64,
        all.refused,
        ms(pct(&all.post, 0.50)),
        ms(pct(&all.post, 0.99)),
    ));
    sum.add(format!(
        "writers: {} changes compiled in {:.1} s ({:.2}/s); their jobs: {} done with their own revisions, {} done already compiled by an earlier job, {} failed, {} unfinished after {} s; POST → job done p50 {}, p99 {}",
        all.done + all.done_carried,
        compiled_in,
        (all.done + all.done_carried) as f64 / compiled_in,
        all.done,
        all.done_carried,
        all.failed,
        all.unfinished,
        a.drain_seconds,
        ms(pct(&all.job, 0.50)),
        ms(pct(&all.job, 0.99)),
    ));
    sum.add(read_line);
    Ok(())
}
