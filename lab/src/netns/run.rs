//! Running commands in namespaces and the realiser's run directory: the
//! helpers every part of the realiser (and the lab's hypervisors and
//! underlay) uses. A leaf module, so that [`super::apply`] and the
//! renderers ([`super::frr`], [`super::vrrp`], [`super::firewall`]) share
//! them without importing each other (`scripts/check-cycles`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A command that failed.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("`{cmd}` failed: {stderr}")]
    Command { cmd: String, stderr: String },
    #[error("`{cmd}` could not run: {source}")]
    Spawn { cmd: String, source: std::io::Error },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("wireguard-go for {dev} did not open its control socket within 5 s (log: {log})")]
    WgStart { dev: String, log: PathBuf },
}

/// Where the realiser keeps wireguard-go's pid files, logs and the
/// short-lived `wg` configuration files (root-only).
#[derive(Clone, Debug)]
pub struct RunDir(pub PathBuf);

impl RunDir {
    pub fn create(path: &Path) -> Result<RunDir, ApplyError> {
        std::fs::create_dir_all(path).map_err(|source| ApplyError::Io {
            path: path.into(),
            source,
        })?;
        set_mode(path, 0o700)?;
        Ok(RunDir(path.into()))
    }

    pub(crate) fn file(&self, dev: &str, ext: &str) -> PathBuf {
        self.0.join(format!("{dev}.{ext}"))
    }
}

fn set_mode(path: &Path, mode: u32) -> Result<(), ApplyError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|source| {
        ApplyError::Io {
            path: path.into(),
            source,
        }
    })
}

/// Runs a command; its stderr is the error.
pub(crate) fn run(args: &[&str]) -> Result<String, ApplyError> {
    run_env(args, &[])
}

/// [`run`] with extra environment variables (OVS's `OVS_RUNDIR` and such).
pub(crate) fn run_env(args: &[&str], env: &[(&str, &str)]) -> Result<String, ApplyError> {
    let cmd = args.join(" ");
    let out = Command::new(args[0])
        .args(&args[1..])
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .map_err(|source| ApplyError::Spawn {
            cmd: cmd.clone(),
            source,
        })?;
    if !out.status.success() {
        return Err(ApplyError::Command {
            cmd,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

pub(crate) fn ip(ns: &str, args: &[&str]) -> Result<String, ApplyError> {
    let mut a = vec!["ip", "-n", ns];
    a.extend_from_slice(args);
    run(&a)
}

pub(crate) fn in_ns(ns: &str, args: &[&str]) -> Result<String, ApplyError> {
    let mut a = vec!["ip", "netns", "exec", ns];
    a.extend_from_slice(args);
    run(&a)
}

pub fn netns_exists(ns: &str) -> bool {
    Path::new("/var/run/netns").join(ns).exists()
}

pub(crate) fn link_exists(ns: &str, dev: &str) -> bool {
    netns_exists(ns) && ip(ns, &["link", "show", "dev", dev]).is_ok()
}

/// Deletes a link if it exists (deleting one end of a veth deletes both).
pub(crate) fn del_link(ns: &str, dev: &str) -> Result<(), ApplyError> {
    if link_exists(ns, dev) {
        ip(ns, &["link", "del", "dev", dev])?;
    }
    Ok(())
}

/// Whether process `pid` still runs (a zombie waiting for its parent
/// counts as gone).
pub fn alive(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| !rest.starts_with('Z')))
        .unwrap_or(false)
}

/// Writes `text` to `path`, readable and writable by its owner alone.
pub fn write_private(path: &Path, text: &str) -> Result<(), ApplyError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let io = |source| ApplyError::Io {
        path: path.into(),
        source,
    };
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(io)?;
    f.write_all(text.as_bytes()).map_err(io)
}
