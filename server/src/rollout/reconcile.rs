//! The worker's apply phase: brings every device whose latest revision is
//! not its last successfully applied one to that revision, in the order
//! [`super::waves`] decides, with the VyOS driver for routers and the OVS
//! driver for hypervisors, each call recorded by [`super::record`].
//!
//! What is due is read from the database each time (latest revision vs the
//! last `applied`/`unchanged` row of `device_applies`), not from what the
//! job compiled: a retried job whose compile changed nothing still applies
//! what an earlier attempt left undone. One rollout at a time across all
//! workers (a transaction-scoped advisory lock, released if the worker
//! dies), so two jobs cannot apply an older revision over a newer one.
//!
//! Each router's endpoint is its intent's `api_endpoint`, its key the one
//! the compiler puts in its configuration (`service https api keys id
//! vxguard key ...`, from the stored device secrets), its definitions
//! those of its VyOS version.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result};
use sqlx::PgPool;
use vxguard_compiler::ids::CertSha256;
use vxguard_compiler::intent::VyosVersion;
use vyos_api::{ApiVersion, Client, Trust};

use vxguard_drivers::health::BgpKept;
use vxguard_drivers::ovs::OvsTarget;
use vxguard_drivers::vyos::{Policy, Target};
use vxguard_drivers::Outcome;

use super::record::{self, ApplyError};
use super::waves::{self, DeviceKind, DeviceResult, Due, Rollout, Summary};
use crate::definitions::Defs;
use vxguard_store::kind::Kind;
use vxguard_store::{applies, intent, locks, objects};

/// The advisory lock class of rollouts (one key: the whole platform).
pub const ROLLOUT_LOCK: i64 = vxguard_store::locks::ROLLOUT;

/// How the worker applies (`--apply`, `--apply-batch`, `--drift-secs`).
#[derive(Clone, Debug)]
pub struct Settings {
    /// Routers applied at once after the canary.
    pub batch: usize,
    pub policy: Policy,
    /// How long after a commit to look at BGP sessions first (when some
    /// were up before it).
    pub health_settle: Duration,
    /// How long BGP sessions may take to come back after a commit.
    pub health_wait: Duration,
    pub health_poll: Duration,
    /// Whether hypervisors are applied (the OVS driver); when not, they
    /// are reported pending.
    pub hypervisors: bool,
    /// Drift check period; `None` = off.
    pub drift_every: Option<Duration>,
    /// Age at which a router's API key is rotated (`rollout::api_keys`);
    /// `None` = only on demand.
    pub api_key_every: Option<Duration>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            batch: 2,
            policy: Policy::default(),
            health_settle: Duration::from_secs(3),
            health_wait: Duration::from_secs(30),
            health_poll: Duration::from_secs(1),
            hypervisors: true,
            drift_every: Some(Duration::from_secs(60)),
            api_key_every: Some(Duration::from_secs(7 * 86_400)),
        }
    }
}

/// How to reach one router (`Debug` leaves the key out).
#[derive(Clone)]
pub struct Access {
    pub endpoint: String,
    /// The certificate the endpoint must show (`api_certificate_sha256`);
    /// `None`: one a public root vouches for.
    pub pin: Option<CertSha256>,
    pub version: VyosVersion,
    /// `None` when the secrets hold no key for it (not compiled yet).
    pub key: Option<String>,
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access")
            .field("endpoint", &self.endpoint)
            .field("pin", &self.pin)
            .field("version", &self.version)
            .field("key", &self.key.as_ref().map(|_| "<secret>"))
            .finish()
    }
}

fn api_version(v: VyosVersion) -> ApiVersion {
    match v {
        VyosVersion::V1_4 => ApiVersion::V1_4,
        VyosVersion::V1_5 => ApiVersion::V1_5,
    }
}

impl Access {
    /// A client for the router, or why there is none.
    pub fn client(&self) -> Result<Client, String> {
        let key = self.key.as_deref().ok_or_else(|| {
            "no API key in the device secrets (the router was never compiled)".to_string()
        })?;
        let client = Client::new(&self.endpoint, key, api_version(self.version))
            .map_err(|e| format!("api_endpoint: {e}"))?;
        match self.pin {
            Some(pin) => client
                .trusting(Trust::Pinned(pin.bytes()))
                .map_err(|e| format!("api_certificate_sha256: {e}")),
            None => Ok(client),
        }
    }
}

/// Every router of the intent with its endpoint, version and key.
pub async fn routers(db: &PgPool) -> Result<BTreeMap<String, Access>> {
    let rows = objects::platform_specs(db, Kind::Router).await?;
    let secrets = intent::secrets_doc(db).await?;
    let mut out = BTreeMap::new();
    for (name, spec) in rows {
        let endpoint = spec["api_endpoint"].as_str().unwrap_or("").to_string();
        let pin = match spec["api_certificate_sha256"].as_str() {
            Some(p) => Some(
                CertSha256::parse(p)
                    .map_err(|e| anyhow::anyhow!("router {name}: api_certificate_sha256: {e}"))?,
            ),
            None => None,
        };
        let version = spec["version"]
            .as_str()
            .and_then(VyosVersion::parse)
            .with_context(|| format!("router {name}: stored spec has no valid version"))?;
        let key = secrets
            .as_ref()
            .and_then(|s| s["routers"][&name]["api_key"].as_str())
            .map(String::from);
        out.insert(
            name,
            Access {
                endpoint,
                pin,
                version,
                key,
            },
        );
    }
    Ok(out)
}

/// Devices of the intent whose latest revision is not their last
/// successfully applied one.
pub async fn due(db: &PgPool) -> Result<Vec<Due>> {
    Ok(applies::due(db)
        .await?
        .into_iter()
        .filter_map(|r| {
            Some(Due {
                kind: DeviceKind::parse(&r.kind)?,
                name: r.name,
                revision_id: r.revision_id,
                seq: r.seq,
            })
        })
        .collect())
}

/// Records an apply that could not start (no usable endpoint, no key, no
/// definitions), so the device shows as failed with the reason.
async fn record_refusal(db: &PgPool, d: &Due, error: &str) -> vxguard_store::Result<()> {
    applies::record_refusal(db, d.kind.as_str(), &d.name, d.revision_id, error).await
}

/// Applies one router; `Err` is why it is not on the revision.
async fn apply_router(
    db: &PgPool,
    defs: &Defs,
    access: Option<&Access>,
    settings: &Settings,
    d: &Due,
) -> DeviceResult {
    let prepared = (|| {
        let a = access.ok_or_else(|| "not in the intent any more".to_string())?;
        let client = a.client()?;
        let defs = defs.get(&a.version).ok_or_else(|| {
            format!(
                "no VyOS {} definitions loaded (--vyos-defs)",
                a.version.as_str()
            )
        })?;
        Ok::<_, String>((client, defs))
    })();
    let (client, version_defs) = match prepared {
        Ok(x) => x,
        Err(e) => {
            if let Err(db_err) = record_refusal(db, d, &e).await {
                tracing::warn!(router = %d.name, error = %db_err, "recording a refused apply failed");
            }
            return Err(e);
        }
    };
    let health = BgpKept::snapshot(
        &client,
        settings.health_settle,
        settings.health_wait,
        settings.health_poll,
    )
    .await;
    let target = Target {
        name: &d.name,
        client: &client,
        defs: version_defs,
    };
    let report = match record::apply_router(db, &target, d.revision_id, &settings.policy, &health)
        .await
    {
        Ok(r) => r,
        Err(e) => {
            let why = e.to_string();
            // The driver records nothing before it has a valid revision.
            if matches!(
                e,
                ApplyError::NoRevision(..) | ApplyError::BadRevision { .. }
            ) {
                if let Err(db_err) = record_refusal(db, d, &why).await {
                    tracing::warn!(router = %d.name, error = %db_err, "recording a refused apply failed");
                }
            }
            return Err(why);
        }
    };
    match report.outcome {
        Outcome::Applied | Outcome::Unchanged => {
            // A successful apply ends any drift recorded against the old state.
            let _ = applies::clear_drift(db, &d.name).await;
            Ok(())
        }
        other => Err(other.error().unwrap_or_else(|| other.as_str().into())),
    }
}

/// Applies one hypervisor's flows over its OpenFlow endpoint (the stored
/// spec's `openflow_endpoint`, or OVS's default socket for its bridge).
async fn apply_hypervisor(db: &PgPool, d: &Due) -> DeviceResult {
    let spec = objects::platform_spec(db, Kind::Hypervisor, &d.name)
        .await
        .map_err(|e| e.to_string())?;
    let target = match spec.map(serde_json::from_value::<vxguard_compiler::intent::Hypervisor>) {
        Some(Ok(h)) => OvsTarget {
            name: d.name.clone(),
            openflow: h.openflow_target(),
        },
        Some(Err(e)) => return Err(format!("its stored spec does not parse: {e}")),
        None => return Err("not in the intent any more".into()),
    };
    let record = record::apply_hypervisor(db, &target, d.revision_id)
        .await
        .map_err(|e| format!("{e:#}"))?;
    match record.outcome.error() {
        None => Ok(()),
        Some(e) => Err(e),
    }
}

/// One rollout of everything due. Devices' failures are in the summary;
/// `Err` only when the database failed.
pub async fn run(db: &PgPool, defs: &Defs, settings: &Settings) -> Result<Summary> {
    let mut lock = db.begin().await?;
    locks::xact_lock(&mut lock, ROLLOUT_LOCK).await?;
    let (due, skipped): (Vec<Due>, Vec<Due>) = due(db)
        .await?
        .into_iter()
        .partition(|d| settings.hypervisors || d.kind != DeviceKind::Hypervisor);
    let access = routers(db).await?;
    let mut plan = waves::plan(due, settings.batch);
    plan.waiting.extend(skipped);
    let mut r = Rollout::new(plan);
    while let Some(wave) = r.next_wave() {
        let results = futures::future::join_all(wave.iter().map(|d| async {
            let started = std::time::Instant::now();
            let res = match d.kind {
                DeviceKind::Router => {
                    apply_router(db, defs, access.get(&d.name), settings, d).await
                }
                DeviceKind::Hypervisor => apply_hypervisor(db, d).await,
            };
            tracing::info!(
                device = %d.name,
                seq = d.seq,
                ok = res.is_ok(),
                ms = started.elapsed().as_millis() as u64,
                "rollout: device done"
            );
            res
        }))
        .await;
        for (d, res) in wave.into_iter().zip(results) {
            r.record(d, res);
        }
    }
    lock.commit().await?;
    Ok(r.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(endpoint: &str, pin: Option<CertSha256>) -> Access {
        Access {
            endpoint: endpoint.into(),
            pin,
            version: VyosVersion::V1_5,
            key: Some("k".into()),
        }
    }

    #[test]
    fn clients_follow_the_endpoint_and_its_pin() {
        let pin = CertSha256::parse(&"ab".repeat(32)).unwrap();
        let c = access("https://5.254.54.10", Some(pin)).client().unwrap();
        assert_eq!(c.url(), "https://5.254.54.10");
        assert!(access("http://127.0.0.1:8443/", None).client().is_ok());
        let e = access("http://127.0.0.1:8443", Some(pin))
            .client()
            .unwrap_err();
        assert!(e.starts_with("api_certificate_sha256: "), "{e}");
        let e = access("ftp://x", None).client().unwrap_err();
        assert!(e.starts_with("api_endpoint: bad router URL"), "{e}");
        let mut no_key = access("https://r1", None);
        no_key.key = None;
        assert!(no_key.client().unwrap_err().contains("no API key"));
    }
}
