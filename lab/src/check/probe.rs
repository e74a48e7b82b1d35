//! Real traffic inside namespaces: TCP listeners and connectors on threads
//! that `setns` into a namespace (a socket keeps the namespace it was made
//! in), `ping` and `iperf3` through `ip netns exec`, and `tcpdump`
//! captures. Everything started here stops when its guard drops.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Why a probe could not even be attempted (not: why traffic failed).
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("namespace {ns}: {source}")]
    Netns { ns: String, source: std::io::Error },
    #[error("listening on {addr} in {ns}: {source}")]
    Listen {
        ns: String,
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("`{cmd}`: {reason}")]
    Command { cmd: String, reason: String },
}

/// Moves the calling thread into namespace `ns` (only this thread).
pub fn enter(ns: &str) -> Result<(), ProbeError> {
    let err = |source| ProbeError::Netns {
        ns: ns.to_string(),
        source,
    };
    let f = std::fs::File::open(Path::new("/var/run/netns").join(ns)).map_err(err)?;
    // SAFETY: setns on an fd we own; it changes only this thread's netns.
    let rc = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
    if rc != 0 {
        return Err(err(std::io::Error::last_os_error()));
    }
    Ok(())
}

/// Runs `f` on a fresh thread inside `ns` and returns its result.
pub fn in_ns<T: Send + 'static>(
    ns: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ProbeError> {
    let ns = ns.to_string();
    std::thread::spawn(move || enter(&ns).map(|()| f()))
        .join()
        .expect("probe thread panicked")
}

/// How a TCP connect ended.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TcpOutcome {
    /// Connected and the listener answered with its name.
    Answered(String),
    Refused,
    Timeout,
    /// Any other error (no route, reset mid-way...).
    Error(String),
}

impl TcpOutcome {
    pub fn connected(&self) -> bool {
        matches!(self, TcpOutcome::Answered(_))
    }
    pub fn short(&self) -> String {
        match self {
            TcpOutcome::Answered(who) => format!("answered by {who}"),
            TcpOutcome::Refused => "refused".into(),
            TcpOutcome::Timeout => "timed out".into(),
            TcpOutcome::Error(e) => e.clone(),
        }
    }
}

/// Connects from the calling thread's namespace, sends `payload` + "\n",
/// and reads the listener's one-line answer.
pub fn connect_here(dst: SocketAddr, payload: &str, timeout: Duration) -> TcpOutcome {
    let mut s = match TcpStream::connect_timeout(&dst, timeout) {
        Ok(s) => s,
        Err(e) => {
            return match e.kind() {
                std::io::ErrorKind::ConnectionRefused => TcpOutcome::Refused,
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
                    TcpOutcome::Timeout
                }
                _ => TcpOutcome::Error(e.to_string()),
            }
        }
    };
    let _ = s.set_read_timeout(Some(timeout));
    let _ = s.set_write_timeout(Some(timeout));
    if let Err(e) = s.write_all(format!("{payload}\n").as_bytes()) {
        return TcpOutcome::Error(format!("send: {e}"));
    }
    let mut buf = Vec::new();
    let mut chunk = [0u8; 256];
    loop {
        match s.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                buf.extend_from_slice(&chunk[..n]);
                if buf.contains(&b'\n') {
                    break;
                }
            }
            Err(e) if buf.is_empty() => {
                return match e.kind() {
                    std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
                        TcpOutcome::Timeout
                    }
                    _ => TcpOutcome::Error(format!("receive: {e}")),
                }
            }
            Err(_) => break,
        }
    }
    let text = String::from_utf8_lossy(&buf);
    match text.trim().strip_prefix("vxg-lab ") {
        Some(who) => TcpOutcome::Answered(who.to_string()),
        None => TcpOutcome::Error(format!("unexpected answer {:?}", text.trim())),
    }
}

/// [`connect_here`] from namespace `ns`.
pub fn connect(ns: &str, dst: SocketAddr, payload: &str, timeout: Duration) -> TcpOutcome {
    let payload = payload.to_string();
    in_ns(ns, move || connect_here(dst, &payload, timeout))
        .unwrap_or_else(|e| TcpOutcome::Error(e.to_string()))
}

/// Listeners of one run: per (namespace, port) a thread that answers every
/// connection with `vxg-lab <name>` and records the first line it got.
pub struct Listeners {
    stop: Arc<AtomicBool>,
    threads: Vec<(Arc<TcpListener>, JoinHandle<()>)>,
    /// Lines received, by listener name.
    received: Arc<Mutex<HashMap<String, Vec<String>>>>,
}

impl Listeners {
    pub fn new() -> Listeners {
        Listeners {
            stop: Arc::new(AtomicBool::new(false)),
            threads: Vec::new(),
            received: Arc::default(),
        }
    }

    /// Listens on `addr` in `ns`, answering as `name`.
    pub fn add(&mut self, ns: &str, name: &str, addr: SocketAddr) -> Result<(), ProbeError> {
        let ns_owned = ns.to_string();
        let l =
            in_ns(ns, move || TcpListener::bind(addr))?.map_err(|source| ProbeError::Listen {
                ns: ns_owned,
                addr,
                source,
            })?;
        let l = Arc::new(l);
        let stop = self.stop.clone();
        let received = self.received.clone();
        let who = name.to_string();
        let l2 = l.clone();
        let t = std::thread::spawn(move || serve(&l2, &who, &stop, &received));
        self.threads.push((l, t));
        Ok(())
    }

    /// Whether listener `name` received a line containing `token`.
    pub fn got(&self, name: &str, token: &str) -> bool {
        self.received
            .lock()
            .expect("listener log")
            .get(name)
            .is_some_and(|v| v.iter().any(|l| l.contains(token)))
    }

    /// Every listener that received `token` (to find who a probe reached).
    pub fn who_got(&self, token: &str) -> Vec<String> {
        let log = self.received.lock().expect("listener log");
        let mut v: Vec<String> = log
            .iter()
            .filter(|(_, lines)| lines.iter().any(|l| l.contains(token)))
            .map(|(k, _)| k.clone())
            .collect();
        v.sort();
        v
    }
}

impl Default for Listeners {
    fn default() -> Self {
        Self::new()
    }
}

/// Accepts until stopped (the listener is shut down to wake `accept`);
/// each connection is answered on its own thread.
fn serve(
    l: &TcpListener,
    who: &str,
    stop: &AtomicBool,
    received: &Arc<Mutex<HashMap<String, Vec<String>>>>,
) {
    while !stop.load(Ordering::Relaxed) {
        match l.accept() {
            Ok((s, _)) => {
                let who = who.to_string();
                let received = received.clone();
                std::thread::spawn(move || answer(s, &who, &received));
            }
            Err(_) if stop.load(Ordering::Relaxed) => return,
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

fn answer(mut s: TcpStream, who: &str, received: &Mutex<HashMap<String, Vec<String>>>) {
    let _ = s.set_read_timeout(Some(Duration::from_millis(1000)));
    let mut buf = [0u8; 512];
    let mut line = Vec::new();
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
        line.extend_from_slice(&buf[..n]);
        if line.contains(&b'\n') || line.len() > 4096 {
            break;
        }
    }
    let text = String::from_utf8_lossy(&line).trim().to_string();
    received
        .lock()
        .expect("listener log")
        .entry(who.to_string())
        .or_default()
        .push(text);
    let _ = s.write_all(format!("vxg-lab {who}\n").as_bytes());
    let _ = s.shutdown(Shutdown::Both);
}

impl Drop for Listeners {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for (l, _) in &self.threads {
            // SAFETY: shutting down a socket we own wakes its blocked accept.
            unsafe {
                libc::shutdown(l.as_raw_fd(), libc::SHUT_RDWR);
            }
        }
        for (_, t) in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Runs a command to its end and returns its stdout (error: its stderr).
pub fn run(args: &[&str]) -> Result<String, ProbeError> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| ProbeError::Command {
            cmd: args.join(" "),
            reason: e.to_string(),
        })?;
    if !out.status.success() {
        return Err(ProbeError::Command {
            cmd: args.join(" "),
            reason: format!(
                "{}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `ip netns exec ns args...`
pub fn run_in(ns: &str, args: &[&str]) -> Result<String, ProbeError> {
    let mut v = vec!["ip", "netns", "exec", ns];
    v.extend_from_slice(args);
    run(&v)
}

/// Pings `dst` from `ns`: whether any of `count` echoes came back.
pub fn ping(ns: &str, dst: Ipv4Addr, count: u32) -> bool {
    run_in(
        ns,
        &[
            "ping",
            "-n",
            "-q",
            "-c",
            &count.to_string(),
            "-i",
            "0.2",
            "-W",
            "1",
            &dst.to_string(),
        ],
    )
    .is_ok()
}

/// A child process killed (and reaped) on drop.
pub struct ChildGuard {
    pub what: String,
    pub child: Option<Child>,
}

impl ChildGuard {
    /// Stops it with SIGTERM (tcpdump flushes its file), then waits.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SAFETY: signalling our own child by its pid.
            unsafe {
                libc::kill(c.id() as i32, libc::SIGTERM);
            }
            let until = Instant::now() + Duration::from_secs(3);
            loop {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                if Instant::now() > until {
                    let _ = c.kill();
                    let _ = c.wait();
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A `tcpdump -w` on one interface of one namespace.
pub struct CaptureProc {
    pub label: String,
    pub file: PathBuf,
    pub guard: ChildGuard,
}

/// Starts tcpdump on `ifname` in `ns` writing `file`, and waits until it
/// is listening (its "listening on" line), so nothing sent after is lost.
pub fn start_capture(
    ns: &str,
    ifname: &str,
    file: &Path,
    label: &str,
) -> Result<CaptureProc, ProbeError> {
    let cmd = format!(
        "ip netns exec {ns} tcpdump -Z root -i {ifname} -U --immediate-mode -s 0 -w {}",
        file.display()
    );
    let mut child = Command::new("ip")
        .args([
            "netns",
            "exec",
            ns,
            "tcpdump",
            "-Z",
            "root",
            "-i",
            ifname,
            "-U",
            "--immediate-mode",
            "-s",
            "0",
            "-w",
        ])
        .arg(file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| ProbeError::Command {
            cmd: cmd.clone(),
            reason: e.to_string(),
        })?;
    let mut stderr = child.stderr.take().expect("piped stderr");
    let mut guard = ChildGuard {
        what: cmd.clone(),
        child: Some(child),
    };
    // Read stderr until "listening on" (or the process ends).
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut all = Vec::new();
        let mut b = [0u8; 256];
        let mut sent = false;
        while let Ok(n) = stderr.read(&mut b) {
            if n == 0 {
                break;
            }
            all.extend_from_slice(&b[..n]);
            if !sent && String::from_utf8_lossy(&all).contains("listening on") {
                let _ = tx.send(Ok(()));
                sent = true;
            }
        }
        if !sent {
            let _ = tx.send(Err(String::from_utf8_lossy(&all).trim().to_string()));
        }
    });
    match rx.recv_timeout(Duration::from_secs(10)) {
        Ok(Ok(())) => Ok(CaptureProc {
            label: label.to_string(),
            file: file.to_path_buf(),
            guard,
        }),
        Ok(Err(reason)) => {
            guard.stop();
            Err(ProbeError::Command { cmd, reason })
        }
        Err(_) => {
            guard.stop();
            Err(ProbeError::Command {
                cmd,
                reason: "did not start listening in 10 s".into(),
            })
        }
    }
}

/// Runs `f` when dropped: cleanup that must happen even on failure.
pub struct OnDrop<F: FnMut()>(pub F);

impl<F: FnMut()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        (self.0)()
    }
}

/// Random hex from the kernel (markers, client names).
pub fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        let _ = f.read_exact(&mut b);
    }
    if b.iter().all(|x| *x == 0) {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        b = t.to_le_bytes()[..bytes.min(16)].to_vec();
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}
